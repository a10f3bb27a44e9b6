//! The Twirp wire: methods and their paths, content types, error codes and error bodies.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::json::{self, JsonShape};

/// The API calls the simulator serves, named as in their Twirp paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Method {
    /// `livekit.RoomService/ListRooms`
    ListRooms,
    /// `livekit.RoomService/ListParticipants`
    ListParticipants,
    /// `livekit.RoomService/GetParticipant`
    GetParticipant,
    /// `livekit.RoomService/DeleteRoom`
    DeleteRoom,
    /// `livekit.RoomService/RemoveParticipant`
    RemoveParticipant,
    /// `livekit.RoomService/UpdateRoomMetadata`
    UpdateRoomMetadata,
    /// `livekit.Egress/ListEgress`
    ListEgress,
    /// `livekit.Egress/StopEgress`
    StopEgress,
    /// `livekit.Ingress/ListIngress`
    ListIngress,
    /// `livekit.Ingress/UpdateIngress`
    UpdateIngress,
    /// `livekit.Ingress/DeleteIngress`
    DeleteIngress,
    /// `livekit.RoomService/MutePublishedTrack`
    MutePublishedTrack,
}

impl Method {
    /// Every method, in a fixed order (the order of `/_sim/stats`).
    pub const ALL: [Method; 12] = [
        Method::ListRooms,
        Method::ListParticipants,
        Method::GetParticipant,
        Method::DeleteRoom,
        Method::RemoveParticipant,
        Method::UpdateRoomMetadata,
        Method::ListEgress,
        Method::StopEgress,
        Method::ListIngress,
        Method::UpdateIngress,
        Method::DeleteIngress,
        Method::MutePublishedTrack,
    ];

    /// The method's name as in its path, e.g. `ListRooms`.
    pub fn name(self) -> &'static str {
        match self {
            Method::ListRooms => "ListRooms",
            Method::ListParticipants => "ListParticipants",
            Method::GetParticipant => "GetParticipant",
            Method::DeleteRoom => "DeleteRoom",
            Method::RemoveParticipant => "RemoveParticipant",
            Method::UpdateRoomMetadata => "UpdateRoomMetadata",
            Method::ListEgress => "ListEgress",
            Method::StopEgress => "StopEgress",
            Method::ListIngress => "ListIngress",
            Method::UpdateIngress => "UpdateIngress",
            Method::DeleteIngress => "DeleteIngress",
            Method::MutePublishedTrack => "MutePublishedTrack",
        }
    }

    fn service(self) -> &'static str {
        match self {
            Method::ListEgress | Method::StopEgress => "livekit.Egress",
            Method::ListIngress | Method::UpdateIngress | Method::DeleteIngress => {
                "livekit.Ingress"
            }
            _ => "livekit.RoomService",
        }
    }

    /// The method a request path names, e.g. `/twirp/livekit.Egress/StopEgress`.
    pub fn from_path(path: &str) -> Option<Method> {
        let rest = path.strip_prefix("/twirp/")?;
        let (service, name) = rest.split_once('/')?;
        Method::ALL
            .into_iter()
            .find(|m| m.service() == service && m.name() == name)
    }

    /// The position of this method in [`Method::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Twirp error codes (twirp `errors.go`), spelled as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwirpCode {
    /// 408
    Canceled,
    /// 500
    Unknown,
    /// 400
    InvalidArgument,
    /// 400
    Malformed,
    /// 408
    DeadlineExceeded,
    /// 404
    NotFound,
    /// 404
    BadRoute,
    /// 409
    AlreadyExists,
    /// 403
    PermissionDenied,
    /// 401
    Unauthenticated,
    /// 429
    ResourceExhausted,
    /// 412
    FailedPrecondition,
    /// 409
    Aborted,
    /// 400
    OutOfRange,
    /// 501
    Unimplemented,
    /// 500
    Internal,
    /// 503
    Unavailable,
    /// 500
    DataLoss,
}

impl TwirpCode {
    /// The HTTP status Twirp sends with this code.
    pub fn http_status(self) -> u16 {
        match self {
            TwirpCode::InvalidArgument | TwirpCode::Malformed | TwirpCode::OutOfRange => 400,
            TwirpCode::Unauthenticated => 401,
            TwirpCode::PermissionDenied => 403,
            TwirpCode::NotFound | TwirpCode::BadRoute => 404,
            TwirpCode::Canceled | TwirpCode::DeadlineExceeded => 408,
            TwirpCode::AlreadyExists | TwirpCode::Aborted => 409,
            TwirpCode::FailedPrecondition => 412,
            TwirpCode::ResourceExhausted => 429,
            TwirpCode::Unknown | TwirpCode::Internal | TwirpCode::DataLoss => 500,
            TwirpCode::Unimplemented => 501,
            TwirpCode::Unavailable => 503,
        }
    }
}

/// A Twirp error reply: `{"code", "msg", "meta"}` with the code's HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwirpError {
    /// The error code.
    pub code: TwirpCode,
    /// The message.
    pub msg: String,
    /// HTTP status; the code's own unless a scenario fault says otherwise.
    pub status: u16,
    /// Extra context, e.g. `twirp_invalid_route`.
    pub meta: Vec<(&'static str, String)>,
}

impl TwirpError {
    /// An error with the code's own HTTP status.
    pub fn new(code: TwirpCode, msg: impl Into<String>) -> Self {
        TwirpError {
            code,
            msg: msg.into(),
            status: code.http_status(),
            meta: Vec::new(),
        }
    }

    /// `bad_route`, as Twirp reports a request it cannot route.
    pub fn bad_route(msg: impl Into<String>, verb: &str, path: &str) -> Self {
        let mut err = TwirpError::new(TwirpCode::BadRoute, msg);
        err.meta
            .push(("twirp_invalid_route", format!("{verb} {path}")));
        err
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        let mut doc = serde_json::json!({"code": self.code, "msg": self.msg});
        if !self.meta.is_empty() {
            let meta: serde_json::Map<String, serde_json::Value> = self
                .meta
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone().into()))
                .collect();
            doc["meta"] = meta.into();
        }
        doc.to_string().into_bytes()
    }
}

/// How a request body is encoded; the reply uses the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/protobuf`
    Protobuf,
    /// `application/json` (protobuf's JSON mapping)
    Json,
}

impl Encoding {
    /// Reads a `Content-Type` header value as Twirp does: case and `;params` ignored.
    pub fn from_content_type(value: &str) -> Option<Encoding> {
        let media = value.split(';').next().unwrap_or_default().trim();
        if media.eq_ignore_ascii_case("application/protobuf") {
            Some(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of a reply in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/protobuf",
            Encoding::Json => "application/json",
        }
    }

    /// Decodes a request message, or answers `malformed` as Twirp does.
    pub fn decode<M: prost::Message + Default + DeserializeOwned>(
        self,
        body: &[u8],
    ) -> Result<M, TwirpError> {
        let decoded = match self {
            Encoding::Protobuf => M::decode(body).ok(),
            Encoding::Json => serde_json::from_slice(body).ok(),
        };
        decoded.ok_or_else(|| {
            let kind = match self {
                Encoding::Protobuf => "protobuf",
                Encoding::Json => "json",
            };
            TwirpError::new(
                TwirpCode::Malformed,
                format!("the {kind} request could not be decoded"),
            )
        })
    }

    /// Encodes a reply message.
    pub fn encode<M: prost::Message + Serialize + JsonShape>(self, message: &M) -> Vec<u8> {
        match self {
            Encoding::Protobuf => message.encode_to_vec(),
            Encoding::Json => json::to_proto_json(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_methods_and_back() {
        for method in Method::ALL {
            let path = format!("/twirp/{}/{}", method.service(), method.name());
            assert_eq!(Method::from_path(&path), Some(method));
            assert_eq!(Method::ALL[method.index()], method);
        }
        assert_eq!(Method::from_path("/twirp/livekit.Egress/ListRooms"), None);
        assert_eq!(
            Method::from_path("/twirp/livekit.RoomService/CreateRoom"),
            None
        );
        assert_eq!(
            Method::from_path("/twirp/livekit.RoomService/ListRooms/x"),
            None
        );
    }

    #[test]
    fn content_types_ignore_case_and_params() {
        assert_eq!(
            Encoding::from_content_type("Application/JSON; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::from_content_type("application/protobuf"),
            Some(Encoding::Protobuf)
        );
        assert_eq!(Encoding::from_content_type("text/plain"), None);
        assert_eq!(Encoding::from_content_type("application/x-protobuf"), None);
    }

    #[test]
    fn error_body_carries_meta_only_when_set() {
        let plain = TwirpError::new(TwirpCode::NotFound, "gone");
        assert_eq!(plain.status, 404);
        assert_eq!(plain.body(), br#"{"code":"not_found","msg":"gone"}"#);
        let routed = TwirpError::bad_route("no handler", "GET", "/x");
        let doc: serde_json::Value = serde_json::from_slice(&routed.body()).unwrap();
        assert_eq!(doc["meta"]["twirp_invalid_route"], "GET /x");
        assert_eq!(TwirpCode::DataLoss.http_status(), 500);
        assert_eq!(
            serde_json::to_value(TwirpCode::DataLoss).unwrap(),
            "data_loss"
        );
    }
}
