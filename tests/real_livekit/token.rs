//! Access tokens as LiveKit reads them (HS256 JWT, grants in `video`), built from raw claims
//! so a test can make every variant: good, expired, wrong key, bad signature, no grant.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

/// The keys `server --dev` uses.
pub const API_KEY: &str = "devkey";
pub const API_SECRET: &str = "secret";

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Signs `claims` (iss, nbf and exp added unless present) with `key` / `secret`.
pub fn sign(mut claims: Value, key: &str, secret: &str) -> String {
    lk_reaper::livekit::jwt::install();
    let now = unix_now();
    let obj = claims.as_object_mut().expect("claims are a JSON object");
    obj.entry("iss").or_insert_with(|| json!(key));
    obj.entry("nbf").or_insert_with(|| json!(now - 5));
    obj.entry("exp").or_insert_with(|| json!(now + 600));
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing")
}

/// A server-API token with the `video` grant given (e.g. `{"roomList": true}`).
pub fn api(video: Value) -> String {
    let mut claims = serde_json::Map::new();
    claims.insert("video".into(), video);
    sign(Value::Object(claims), API_KEY, API_SECRET)
}

/// Who a joining participant is: identity, kind (lowercase claim: "", "agent", "egress",
/// "sip", "ingress"…), kind details ("simulation"…), extra `video` grant fields such
/// as `{"hidden": true}` or `{"recorder": true}`, and participant attributes (the
/// `attributes` claim, as LiveKit's SIP service sets `sip.callStatus`).
#[derive(Clone, Debug)]
pub struct Identity {
    pub identity: String,
    pub kind: String,
    pub kind_details: Vec<String>,
    pub extra_video: Value,
    pub attributes: Value,
}

impl Identity {
    /// A standard participant (a human, by default rules).
    pub fn standard(identity: &str) -> Self {
        Self {
            identity: identity.into(),
            kind: String::new(),
            kind_details: vec![],
            extra_video: json!({}),
            attributes: json!({}),
        }
    }

    /// A participant of kind `kind` (claim spelling, lowercase).
    pub fn of_kind(identity: &str, kind: &str) -> Self {
        Self {
            kind: kind.into(),
            ..Self::standard(identity)
        }
    }

    /// Adds a kind detail such as "simulation".
    #[must_use]
    pub fn with_detail(mut self, detail: &str) -> Self {
        self.kind_details.push(detail.into());
        self
    }

    /// Merges extra `video` grant fields, e.g. `{"hidden": true}`.
    #[must_use]
    pub fn with_video(mut self, extra: &Value) -> Self {
        if let (Some(dst), Some(src)) = (self.extra_video.as_object_mut(), extra.as_object()) {
            dst.extend(src.clone());
        }
        self
    }

    /// Sets participant attributes, e.g. `{"sip.callStatus": "hangup"}`.
    #[must_use]
    pub fn with_attributes(mut self, attributes: &Value) -> Self {
        self.attributes = attributes.clone();
        self
    }

    /// The join token for `room`.
    pub fn join_token(&self, room: &str) -> String {
        let mut video = json!({ "roomJoin": true, "room": room });
        if let (Some(dst), Some(src)) = (video.as_object_mut(), self.extra_video.as_object()) {
            dst.extend(src.clone());
        }
        let mut claims = json!({ "sub": self.identity, "video": video });
        if !self.kind.is_empty() {
            claims["kind"] = json!(self.kind);
        }
        if !self.kind_details.is_empty() {
            claims["kindDetails"] = json!(self.kind_details);
        }
        if self.attributes.as_object().is_some_and(|a| !a.is_empty()) {
            claims["attributes"] = self.attributes.clone();
        }
        sign(claims, API_KEY, API_SECRET)
    }
}
