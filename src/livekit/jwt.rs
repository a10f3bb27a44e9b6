//! The crypto behind every token: LiveKit signs API tokens and webhooks with HMAC-SHA256 and
//! nothing else. jsonwebtoken 10 wants a process-wide provider; its bundled RustCrypto one
//! also builds RSA, ECDSA and EdDSA, a tenth of a first build for algorithms never used
//! here. This one does HS256 only and refuses the rest as an invalid algorithm.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

type HmacSha256 = Hmac<Sha256>;

static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    jwk_utils: JwkUtils {
        extract_rsa_public_key_components: |_| Err(ErrorKind::InvalidAlgorithm.into()),
        extract_ec_public_key_coordinates: |_, _| Err(ErrorKind::InvalidAlgorithm.into()),
        compute_digest: digest,
    },
};

/// Makes HS256 the process's JWT crypto. Every signer and verifier calls it first, so no
/// entry point (CLI, simulator, tests) can reach jsonwebtoken without it; calls after the
/// first do nothing.
pub fn install() {
    // Err only means it is installed already, by an earlier call.
    let _ = HS256_ONLY.install_default();
}

// The two factories and `digest` have the shapes that CryptoProvider's fields fix.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    hs256(*algorithm, key.try_get_hmac_secret()?).map(|mac| Box::new(mac) as Box<dyn JwtSigner>)
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    hs256(*algorithm, key.try_get_hmac_secret()?).map(|mac| Box::new(mac) as Box<dyn JwtVerifier>)
}

fn hs256(algorithm: Algorithm, secret: &[u8]) -> Result<Hs256> {
    if algorithm != Algorithm::HS256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let mac = HmacSha256::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat)?;
    Ok(Hs256(mac))
}

#[allow(clippy::needless_pass_by_value)]
fn digest(data: &[u8], hash: ThumbprintHash) -> Vec<u8> {
    match hash {
        ThumbprintHash::SHA256 => Sha256::digest(data).to_vec(),
        ThumbprintHash::SHA384 => Sha384::digest(data).to_vec(),
        ThumbprintHash::SHA512 => Sha512::digest(data).to_vec(),
    }
}

/// HMAC-SHA256 keyed with the API secret.
struct Hs256(HmacSha256);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self
            .0
            .clone()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        // verify_slice compares in constant time.
        self.0
            .clone()
            .chain_update(message)
            .verify_slice(tag)
            .map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Header, Validation, decode, encode};
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    fn claims() -> Claims {
        Claims {
            sub: "ops".into(),
            exp: jsonwebtoken::get_current_timestamp() + 60,
        }
    }

    #[test]
    fn signs_what_it_verifies_and_matches_rfc_4231() {
        install();
        let token = encode(
            &Header::default(),
            &claims(),
            &EncodingKey::from_secret(b"s3cret"),
        )
        .expect("HS256 signs");
        let back = decode::<Claims>(
            &token,
            &DecodingKey::from_secret(b"s3cret"),
            &Validation::new(Algorithm::HS256),
        )
        .expect("HS256 verifies");
        assert_eq!(back.claims, claims());

        // RFC 4231, test case 2: a known answer, so a wrong MAC cannot verify itself.
        let mac = hs256(Algorithm::HS256, b"Jefe").unwrap();
        let tag = mac.try_sign(b"what do ya want for nothing?").unwrap();
        let expected = [
            0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
            0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
            0x64, 0xec, 0x38, 0x43,
        ];
        assert_eq!(tag, expected);
    }

    #[test]
    fn a_wrong_secret_or_a_tampered_token_is_refused() {
        install();
        let token = encode(
            &Header::default(),
            &claims(),
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        let validation = Validation::new(Algorithm::HS256);
        let wrong = decode::<Claims>(&token, &DecodingKey::from_secret(b"other"), &validation);
        assert_eq!(wrong.unwrap_err().kind(), &ErrorKind::InvalidSignature);

        let (head, tail) = token.rsplit_once('.').unwrap();
        let flipped = if tail.starts_with('A') { 'B' } else { 'A' };
        let tampered = format!("{head}.{flipped}{}", &tail[1..]);
        let bad = decode::<Claims>(&tampered, &DecodingKey::from_secret(b"s3cret"), &validation);
        assert!(bad.is_err(), "a tampered signature verified");
    }

    #[test]
    fn other_algorithms_are_refused_not_a_panic() {
        install();
        let header = Header::new(Algorithm::HS512);
        let err = encode(&header, &claims(), &EncodingKey::from_secret(b"s3cret")).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidAlgorithm);
        let rsa = signer(&Algorithm::RS256, &EncodingKey::from_secret(b"s3cret"));
        assert!(rsa.is_err());
    }
}
