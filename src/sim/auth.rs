//! API authentication as LiveKit does it: a middleware that verifies the token (failures
//! are plain-text 401s), then a grant check in each handler (failures are Twirp
//! `unauthenticated`).
//!
//! The plain-text messages are those of LiveKit v1.13.5, the release our real-server tests
//! run (later servers say "invalid authorization token: ..." and "invalid API key").

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use livekit_api::access_token::{Claims, VideoGrants};
use serde::Deserialize;

use super::twirp::{Method, TwirpCode, TwirpError};

const BEARER: &str = "Bearer ";

/// Checks tokens against the one key and secret of a scenario.
pub struct Verifier {
    key: String,
    secret: DecodingKey,
    validation: Validation,
}

#[derive(Deserialize)]
struct Issuer {
    #[serde(default)]
    iss: String,
}

impl Verifier {
    /// A verifier for `key` and its `secret`.
    pub fn new(key: &str, secret: &str) -> Verifier {
        crate::livekit::jwt::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 60;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        Verifier {
            key: key.to_owned(),
            secret: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// The middleware step: no `Authorization` header passes with no claims; anything
    /// wrong with the header or the token is the plain-text message of a 401.
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<Option<Claims>, String> {
        let Some(header) = header else {
            return Ok(None);
        };
        let token = std::str::from_utf8(header)
            .ok()
            .and_then(|h| h.strip_prefix(BEARER))
            .ok_or_else(|| format!("invalid authorization header. Must start with {BEARER}"))?;
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = || "invalid authorization token".to_owned();
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::HS256 {
            return Err(invalid());
        }
        let issuer = jsonwebtoken::dangerous::insecure_decode::<Issuer>(token)
            .map_err(|_| invalid())?
            .claims
            .iss;
        if issuer != self.key {
            return Err(format!("invalid API key: {issuer}"));
        }
        // The server echoes the refused token in full.
        jsonwebtoken::decode::<Claims>(token, &self.secret, &self.validation)
            .map(|data| Some(data.claims))
            .map_err(|e| format!("invalid token: {token}, error: {}", jwt_message(e.kind())))
    }
}

// The server's JWT library (golang-jwt v5) words these failures so.
fn jwt_message(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidSignature => "token signature is invalid: signature is invalid".into(),
        ErrorKind::ExpiredSignature => "token has invalid claims: token is expired".into(),
        ErrorKind::ImmatureSignature => "token has invalid claims: token is not valid yet".into(),
        ErrorKind::MissingRequiredClaim(claim) => {
            format!(
                "token has invalid claims: token is missing required claim: {claim} claim is required"
            )
        }
        other => format!("token is malformed: {other:?}"),
    }
}

/// The handler step: the grant the call needs. Room-scoped calls need `roomAdmin` for
/// exactly the request's `room`.
pub fn authorize(
    method: Method,
    grants: Option<&VideoGrants>,
    room: &str,
) -> Result<(), TwirpError> {
    let allowed = grants.is_some_and(|g| match method {
        Method::ListRooms => g.room_list,
        Method::DeleteRoom => g.room_create,
        Method::ListEgress | Method::StopEgress => g.room_record,
        Method::ListIngress | Method::UpdateIngress | Method::DeleteIngress => g.ingress_admin,
        Method::ListParticipants
        | Method::GetParticipant
        | Method::RemoveParticipant
        | Method::MutePublishedTrack
        | Method::UpdateRoomMetadata => g.room_admin && g.room == room,
    });
    if allowed {
        Ok(())
    } else {
        Err(TwirpError::new(
            TwirpCode::Unauthenticated,
            "permissions denied",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::AccessToken;

    fn token(key: &str, secret: &str, grants: VideoGrants) -> String {
        crate::livekit::jwt::install();
        AccessToken::with_api_key(key, secret)
            .with_grants(grants)
            .to_jwt()
            .unwrap()
    }

    fn bearer(token: &str) -> Vec<u8> {
        format!("Bearer {token}").into_bytes()
    }

    #[test]
    fn a_good_token_yields_its_grants() {
        let verifier = Verifier::new("devkey", "secret");
        let grants = VideoGrants {
            room_list: true,
            ..Default::default()
        };
        let header = bearer(&token("devkey", "secret", grants));
        let got = verifier.authenticate(Some(&header)).unwrap().unwrap().video;
        assert!(got.room_list && !got.room_create);
        assert_eq!(verifier.authenticate(None), Ok(None));
    }

    #[test]
    fn middleware_failures_are_the_servers_messages() {
        let verifier = Verifier::new("devkey", "secret");
        let grants = VideoGrants::default;
        let forged = token("devkey", "wrong", grants());
        let cases = [
            (
                b"Basic abc".to_vec(),
                "invalid authorization header. Must start with Bearer ".to_owned(),
            ),
            (
                bearer("not-a-jwt"),
                "invalid authorization token".to_owned(),
            ),
            (
                bearer(&token("otherkey", "secret", grants())),
                "invalid API key: otherkey".to_owned(),
            ),
            (
                bearer(&forged),
                format!(
                    "invalid token: {forged}, error: token signature is invalid: signature is invalid"
                ),
            ),
        ];
        for (header, message) in cases {
            assert_eq!(verifier.authenticate(Some(&header)), Err(message));
        }
    }

    #[test]
    fn grants_are_checked_per_call() {
        let admin = VideoGrants {
            room_admin: true,
            room: "r1".into(),
            ..Default::default()
        };
        assert!(authorize(Method::ListParticipants, Some(&admin), "r1").is_ok());
        let err = authorize(Method::ListParticipants, Some(&admin), "r2").unwrap_err();
        assert_eq!(
            (err.code, err.msg.as_str()),
            (TwirpCode::Unauthenticated, "permissions denied")
        );
        assert!(authorize(Method::DeleteRoom, Some(&admin), "r1").is_err());
        assert!(authorize(Method::ListRooms, None, "").is_err());
        let record = VideoGrants {
            room_record: true,
            ..Default::default()
        };
        assert!(authorize(Method::StopEgress, Some(&record), "").is_ok());
        assert!(authorize(Method::ListIngress, Some(&record), "").is_err());
        let ingress = VideoGrants {
            ingress_admin: true,
            ..Default::default()
        };
        for method in [
            Method::ListIngress,
            Method::UpdateIngress,
            Method::DeleteIngress,
        ] {
            assert!(authorize(method, Some(&ingress), "").is_ok());
        }
    }
}
