//! Ingresses as LiveKit's Ingress service keeps them (server v1.13.5 `pkg/service/ingress.go`
//! with an Ingress v1.5.0 worker): the scenario entry and the record the calls change.

use livekit_protocol as proto;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::scenario::{is_false, is_true, yes};
use super::twirp::{TwirpCode, TwirpError};

const NS_PER_S: i64 = 1_000_000_000;

/// The server's `not_found` for an unknown ingress id.
pub const INGRESS_NOT_FOUND: &str = "twirp error unknown: ingress does not exist";
/// The server's answer on a server without Redis, where it has no ingress service.
pub const NOT_CONNECTED: &str = "twirp error unknown: ingress not connected (redis required)";
/// What LiveKit v1.13.5 without Redis answers UpdateIngress and DeleteIngress: the handler
/// panics (its ingress client is a typed nil), and Twirp reports the recovered panic.
pub const HANDLER_PANIC: &str = "Internal service panic";
/// The server's answer to UpdateIngress of a URL (pull) ingress.
pub const NOT_REUSABLE: &str = "ingress is not reusable and cannot be modified";

/// An ingress: an RTMP or WHIP endpoint an encoder pushes to, or a URL the worker pulls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSpec {
    /// Ingress id (unique), e.g. `IN_xxxx`.
    pub ingress_id: String,
    /// `RTMP_INPUT` (default), `WHIP_INPUT` or `URL_INPUT`.
    #[serde(default)]
    pub input_type: IngressInput,
    /// The room it publishes into.
    #[serde(default)]
    pub room_name: String,
    /// The identity of its participant (default: the ingress id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub participant_identity: String,
    /// Whether it can be updated and reconnected to (default: RTMP and WHIP yes, URL no,
    /// as LiveKit sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reusable: Option<bool>,
    /// `false`: connection attempts are refused.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// `ENDPOINT_INACTIVE` (default), `..._BUFFERING`, `..._PUBLISHING`, `..._ERROR`,
    /// `..._COMPLETE`, or a number for a status this version does not know.
    #[serde(default)]
    pub status: IngressStatus,
    /// Seconds since its current session started (`state.started_at`).
    #[serde(default)]
    pub started_s_ago: u64,
    /// Its encoder reconnects when its session drops, as OBS does: a live ingress whose
    /// room is deleted brings the room straight back, unless it was disabled or deleted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub encoder_retries: bool,
}

/// `IngressInput`, by its proto name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IngressInput {
    #[default]
    #[serde(rename = "RTMP_INPUT")]
    Rtmp,
    #[serde(rename = "WHIP_INPUT")]
    Whip,
    #[serde(rename = "URL_INPUT")]
    Url,
}

impl IngressInput {
    fn code(self) -> proto::IngressInput {
        match self {
            IngressInput::Rtmp => proto::IngressInput::RtmpInput,
            IngressInput::Whip => proto::IngressInput::WhipInput,
            IngressInput::Url => proto::IngressInput::UrlInput,
        }
    }
}

/// `IngressState.Status`: by proto name, or by number for one this version does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngressStatus(pub i32);

impl IngressStatus {
    const INACTIVE: IngressStatus = IngressStatus(0);
    const BUFFERING: IngressStatus = IngressStatus(1);
    const PUBLISHING: IngressStatus = IngressStatus(2);
    const ERROR: IngressStatus = IngressStatus(3);

    /// BUFFERING or PUBLISHING: an encoder is connected, its participant is in the room.
    pub fn is_live(self) -> bool {
        self == Self::BUFFERING || self == Self::PUBLISHING
    }

    fn known(self) -> Option<proto::ingress_state::Status> {
        proto::ingress_state::Status::try_from(self.0).ok()
    }
}

impl Serialize for IngressStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.known() {
            Some(status) => serializer.serialize_str(status.as_str_name()),
            None => serializer.serialize_i32(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for IngressStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Named {
            Name(String),
            Number(i32),
        }
        match Named::deserialize(deserializer)? {
            Named::Number(n) => Ok(IngressStatus(n)),
            Named::Name(name) => proto::ingress_state::Status::from_str_name(&name)
                .map(|s| IngressStatus(s as i32))
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown ingress status {name:?}: expected ENDPOINT_INACTIVE, ENDPOINT_BUFFERING, ENDPOINT_PUBLISHING, ENDPOINT_ERROR, ENDPOINT_COMPLETE or a number"
                    ))
                }),
        }
    }
}

/// One ingress record.
#[derive(Debug, Clone)]
pub struct Ingress {
    pub id: String,
    input: IngressInput,
    pub room_name: String,
    pub identity: String,
    reusable: bool,
    /// As stored: absent until someone sets it (CreateIngress without it), as on LiveKit.
    pub enabled: Option<bool>,
    pub status: IngressStatus,
    started_ns: i64,
    ended_ns: i64,
    updated_ns: i64,
    pub encoder_retries: bool,
}

impl Ingress {
    /// The record a scenario entry describes, its times relative to `now`.
    pub fn new(spec: &IngressSpec, now: i64) -> Ingress {
        let started_ns = if spec.status.is_live() {
            now.saturating_sub((spec.started_s_ago as i64).saturating_mul(NS_PER_S))
        } else {
            0
        };
        Ingress {
            id: spec.ingress_id.clone(),
            input: spec.input_type,
            room_name: spec.room_name.clone(),
            identity: if spec.participant_identity.is_empty() {
                spec.ingress_id.clone()
            } else {
                spec.participant_identity.clone()
            },
            reusable: spec
                .reusable
                .unwrap_or(spec.input_type != IngressInput::Url),
            enabled: (!spec.enabled).then_some(false),
            status: spec.status,
            started_ns,
            ended_ns: 0,
            updated_ns: started_ns,
            encoder_retries: spec.encoder_retries,
        }
    }

    /// Whether an encoder may connect: absent counts as enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled != Some(false)
    }

    /// UpdateIngress may change it: LiveKit refuses a non-reusable (URL) ingress.
    pub fn check_reusable(&self) -> Result<(), TwirpError> {
        if self.reusable {
            Ok(())
        } else {
            Err(TwirpError::new(TwirpCode::InvalidArgument, NOT_REUSABLE))
        }
    }

    /// An encoder (re)connected: a new session starts publishing.
    pub fn publish(&mut self, now: i64) {
        self.status = IngressStatus::PUBLISHING;
        self.started_ns = now;
        self.ended_ns = 0;
        self.updated_ns = now;
    }

    /// Its worker cut its session (it was disabled, or its room deleted under it): ERROR,
    /// as Ingress v1.5.0 reports both.
    pub fn end(&mut self, now: i64) {
        self.status = IngressStatus::ERROR;
        self.ended_ns = now;
        self.updated_ns = now;
    }

    /// UpdateIngress on an ERROR ingress first resets it to INACTIVE, as LiveKit does.
    pub fn reset_error(&mut self) {
        if self.status == IngressStatus::ERROR {
            self.status = IngressStatus::INACTIVE;
        }
    }

    /// The `IngressInfo` LiveKit lists.
    pub fn info(&self) -> proto::IngressInfo {
        let url = match self.input {
            IngressInput::Rtmp => "rtmp://127.0.0.1:1935/x".to_owned(),
            IngressInput::Whip => "http://127.0.0.1:8080/w".to_owned(),
            IngressInput::Url => format!("https://example.invalid/{}", self.id),
        };
        proto::IngressInfo {
            ingress_id: self.id.clone(),
            name: self.id.clone(),
            stream_key: if self.input == IngressInput::Url {
                String::new()
            } else {
                format!("sk_{}", self.id)
            },
            url,
            input_type: self.input.code() as i32,
            // What LiveKit stores: transcoding on, except for WHIP.
            enable_transcoding: Some(self.input != IngressInput::Whip),
            room_name: self.room_name.clone(),
            participant_identity: self.identity.clone(),
            reusable: self.reusable,
            state: Some(proto::IngressState {
                status: self.status.0,
                started_at: self.started_ns,
                ended_at: self.ended_ns,
                updated_at: self.updated_ns,
                ..Default::default()
            }),
            enabled: self.enabled,
            ..Default::default()
        }
    }

    /// The scenario entry of its current state.
    pub fn spec(&self, now: i64) -> IngressSpec {
        let since = if self.status.is_live() {
            u64::try_from((now - self.started_ns).div_euclid(NS_PER_S)).unwrap_or(0)
        } else {
            0
        };
        IngressSpec {
            ingress_id: self.id.clone(),
            input_type: self.input,
            room_name: self.room_name.clone(),
            participant_identity: self.identity.clone(),
            reusable: Some(self.reusable),
            enabled: self.is_enabled(),
            status: self.status,
            started_s_ago: since,
            encoder_retries: self.encoder_retries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_by_name_or_number_and_write_back_the_same() {
        let spec: IngressSpec = serde_json::from_str(
            r#"{"ingress_id": "IN_1", "status": "ENDPOINT_PUBLISHING", "input_type": "URL_INPUT"}"#,
        )
        .unwrap();
        assert!(spec.status.is_live() && spec.enabled);
        let record = Ingress::new(&spec, 100 * NS_PER_S);
        assert!(
            record.check_reusable().is_err(),
            "URL input is not reusable"
        );
        assert_eq!(record.identity, "IN_1");
        let odd: IngressSpec =
            serde_json::from_str(r#"{"ingress_id": "IN_2", "status": 9}"#).unwrap();
        assert_eq!(odd.status, IngressStatus(9));
        assert!(!odd.status.is_live());
        assert_eq!(serde_json::to_value(odd.status).unwrap(), 9);
        let err = serde_json::from_str::<IngressSpec>(r#"{"ingress_id": "x", "status": "ON"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown ingress status"), "{err}");
    }
}
