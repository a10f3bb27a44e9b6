//! Receiving a webhook: verify its token (signature, expiry, issuer) before reading the
//! body, then the body's `sha256`, then drop one already seen or too old. Bodies are never
//! logged.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::livekit::Credentials;
use crate::livekit::proto::WebhookEvent;

/// The largest body read; LiveKit's events are a few kilobytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// A body must arrive within this once its headers are in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// An event created this long before it arrived is dropped. LiveKit drops its own queued
/// events after 30 s and signs each with a 5-minute token, so an older one is a replay.
pub const MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// Event ids remembered to drop duplicates (LiveKit retries a post that failed).
const RECENT_IDS: usize = 65_536;

/// Why a webhook was not acted on; the label of `lk_reaper_webhooks_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No Authorization header: 401.
    Unsigned,
    /// A token or body hash that does not verify: 401.
    BadSignature,
    /// Over [`MAX_BODY`]: 413.
    TooLarge,
    /// The client hung up before its whole body arrived: 400.
    Incomplete,
    /// The body did not arrive within [`BODY_TIMEOUT`]: 408.
    Slow,
    /// Signed, but not UTF-8 JSON or not a webhook event: 400.
    BadBody,
    /// An id seen before: 200, nothing done.
    Duplicate,
    /// Older than [`MAX_AGE`]: 200, nothing done.
    Stale,
}

impl Rejection {
    /// Every reason, so that /metrics shows each at 0 from the start.
    pub const ALL: [Rejection; 6] = [
        Self::Unsigned,
        Self::BadSignature,
        Self::TooLarge,
        Self::BadBody,
        Self::Duplicate,
        Self::Stale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::BadSignature => "bad_signature",
            Self::TooLarge => "too_large",
            Self::Incomplete => "incomplete",
            Self::Slow => "slow",
            Self::BadBody => "bad_body",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
        }
    }

    /// The HTTP status answered.
    pub fn status(self) -> u16 {
        match self {
            Self::Unsigned | Self::BadSignature => 401,
            Self::TooLarge => 413,
            Self::Slow => 408,
            Self::Incomplete | Self::BadBody => 400,
            // Answered as delivered, so LiveKit does not post it again.
            Self::Duplicate | Self::Stale => 200,
        }
    }
}

/// What a verified token vouches for: the SHA-256 of the body still to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    sha256: Vec<u8>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sha256: String,
}

/// Verifies webhooks and remembers recent event ids.
pub struct Inbox {
    secret: DecodingKey,
    validation: Validation,
    seen: HashSet<String>,
    order: VecDeque<String>,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("seen", &self.seen.len())
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// Verifies with the API key and secret LiveKit signs with (`webhook.api_key`).
    pub fn new(credentials: &Credentials) -> Self {
        crate::livekit::jwt::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_issuer(&[&credentials.api_key]);
        // A token without `iss` is refused like one with a wrong `iss`.
        validation.set_required_spec_claims(&["exp", "iss"]);
        Self {
            secret: DecodingKey::from_secret(credentials.api_secret.expose().as_bytes()),
            validation,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Verifies the Authorization header alone, before any of the body is read.
    pub fn token(&self, authorization: Option<&[u8]>) -> Result<Signed, Rejection> {
        let token = authorization
            .and_then(|h| std::str::from_utf8(h).ok())
            .map(str::trim)
            .map(|h| h.strip_prefix("Bearer ").unwrap_or(h))
            .filter(|h| !h.is_empty())
            .ok_or(Rejection::Unsigned)?;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.secret, &self.validation)
            .map_err(|_| Rejection::BadSignature)?
            .claims;
        let sha256 = base64::engine::general_purpose::STANDARD
            .decode(claims.sha256)
            .map_err(|_| Rejection::BadSignature)?;
        Ok(Signed { sha256 })
    }

    /// Checks a body against its verified token and returns its event, unless it is to be
    /// refused or dropped. An event dated after `now` counts as arriving now.
    pub fn accept(
        &mut self,
        signed: &Signed,
        body: &[u8],
        now: SystemTime,
    ) -> Result<WebhookEvent, Rejection> {
        if Sha256::digest(body).as_slice() != signed.sha256.as_slice() {
            return Err(Rejection::BadSignature);
        }
        let body = std::str::from_utf8(body).map_err(|_| Rejection::BadBody)?;
        let event: WebhookEvent = serde_json::from_str(body).map_err(|_| Rejection::BadBody)?;
        if crate::time::age(crate::time::from_secs(event.created_at), now) > MAX_AGE {
            return Err(Rejection::Stale);
        }
        if !event.id.is_empty() && !self.remember(&event.id) {
            return Err(Rejection::Duplicate);
        }
        Ok(event)
    }

    /// Remembers an id; false if it was already known. The oldest is forgotten first.
    fn remember(&mut self, id: &str) -> bool {
        if !self.seen.insert(id.to_owned()) {
            return false;
        }
        self.order.push_back(id.to_owned());
        if self.order.len() > RECENT_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::sim::webhooks::sign;

    fn inbox() -> Inbox {
        Inbox::new(&Credentials {
            api_key: "devkey".into(),
            api_secret: Secret::new("secret".into()),
        })
    }

    fn event(id: &str, created_at: i64) -> Vec<u8> {
        let event = WebhookEvent {
            event: "participant_left".into(),
            id: id.into(),
            created_at,
            ..Default::default()
        };
        serde_json::to_vec(&event).unwrap()
    }

    fn now_s() -> i64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// Verifies the token, then the body, as serve does.
    fn receive(
        inbox: &mut Inbox,
        token: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookEvent, Rejection> {
        let signed = inbox.token(token.map(str::as_bytes))?;
        inbox.accept(&signed, body, SystemTime::now())
    }

    /// A token signed with `secret`, with these claims.
    fn token_with(secret: &str, claims: &serde_json::Value) -> String {
        crate::livekit::jwt::install();
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).unwrap()
    }

    fn sha256(body: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    }

    #[test]
    fn a_signed_event_is_accepted_once() {
        let mut inbox = inbox();
        let body = event("EV_1", now_s());
        let token = sign("devkey", "secret", &body).unwrap();
        let got = receive(&mut inbox, Some(&token), &body).unwrap();
        assert_eq!(got.event, "participant_left");
        assert_eq!(
            receive(&mut inbox, Some(&token), &body),
            Err(Rejection::Duplicate)
        );
    }

    #[test]
    fn unsigned_forged_tampered_and_old_events_are_refused() {
        let mut inbox = inbox();
        let body = event("EV_2", now_s());
        assert_eq!(receive(&mut inbox, None, &body), Err(Rejection::Unsigned));
        let forged = sign("devkey", "not-the-secret", &body).unwrap();
        assert_eq!(
            receive(&mut inbox, Some(&forged), &body),
            Err(Rejection::BadSignature)
        );
        let other_key = sign("otherkey", "secret", &body).unwrap();
        assert_eq!(
            receive(&mut inbox, Some(&other_key), &body),
            Err(Rejection::BadSignature)
        );
        let token = sign("devkey", "secret", &body).unwrap();
        let tampered = event("EV_3", now_s());
        assert_eq!(
            receive(&mut inbox, Some(&token), &tampered),
            Err(Rejection::BadSignature),
            "the token signs another body"
        );
        let old = event("EV_4", now_s() - 3600);
        let token = sign("devkey", "secret", &old).unwrap();
        assert_eq!(
            receive(&mut inbox, Some(&token), &old),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn the_token_alone_is_judged_before_the_body() {
        let inbox = inbox();
        let exp = now_s() + 300;
        let hash = sha256(b"{}");
        for (claims, why) in [
            (serde_json::json!({"exp": exp, "sha256": hash}), "no iss"),
            (
                serde_json::json!({"iss": "otherkey", "exp": exp, "sha256": hash}),
                "another iss",
            ),
            (
                serde_json::json!({"iss": "devkey", "exp": now_s() - 3600, "sha256": hash}),
                "expired",
            ),
            (
                serde_json::json!({"iss": "devkey", "sha256": hash}),
                "no exp",
            ),
        ] {
            let token = token_with("secret", &claims);
            assert_eq!(
                inbox.token(Some(token.as_bytes())),
                Err(Rejection::BadSignature),
                "{why}"
            );
        }
        let good = token_with(
            "secret",
            &serde_json::json!({"iss": "devkey", "exp": exp, "sha256": hash}),
        );
        assert!(inbox.token(Some(good.as_bytes())).is_ok());
    }

    #[test]
    fn a_signed_body_that_is_not_an_event_is_a_bad_body() {
        let mut inbox = inbox();
        for body in [
            &b"{not json"[..],
            b"\xff\xfe not utf-8",
            b"[1, 2]",
            b"{\"createdAt\": {}}",
        ] {
            let token = sign("devkey", "secret", body).unwrap();
            assert_eq!(
                receive(&mut inbox, Some(&token), body),
                Err(Rejection::BadBody),
                "{body:?}"
            );
        }
    }

    #[test]
    fn an_event_dated_in_the_future_or_not_at_all_counts_as_arriving_now() {
        let mut inbox = inbox();
        let future = now_s() + 100 * 365 * 86_400;
        for (i, created_at) in [i64::MAX, i64::MAX / 1_000, future, 0, -1, i64::MIN]
            .into_iter()
            .enumerate()
        {
            let body = event(&format!("EV_f{i}"), created_at);
            let token = sign("devkey", "secret", &body).unwrap();
            assert!(
                receive(&mut inbox, Some(&token), &body).is_ok(),
                "{created_at}"
            );
        }
    }

    #[test]
    fn the_recent_ids_set_is_bounded() {
        let mut inbox = inbox();
        for i in 0..=RECENT_IDS {
            assert!(inbox.remember(&format!("EV_{i}")));
        }
        assert_eq!(inbox.seen.len(), RECENT_IDS);
        assert!(inbox.remember("EV_0"), "the oldest was forgotten");
        assert!(!inbox.remember(&format!("EV_{RECENT_IDS}")));
    }

    proptest::proptest! {
        #[test]
        fn any_signed_event_date_is_judged_without_panic(created_at in proptest::prelude::any::<i64>()) {
            let mut inbox = inbox();
            let body = event("EV_any", created_at);
            let token = sign("devkey", "secret", &body).unwrap();
            let got = receive(&mut inbox, Some(&token), &body);
            let oldest = now_s() - MAX_AGE.as_secs() as i64;
            // Around the boundary the clock moves on during the test.
            proptest::prop_assume!(!(oldest - 5..oldest + 5).contains(&created_at));
            let fresh = created_at <= 0 || created_at >= oldest;
            proptest::prop_assert_eq!(got.is_ok(), fresh, "{:?}", got);
        }
    }
}
