//! Protobuf JSON as the Go server writes it (protojson with proto names and unpopulated fields).
//!
//! livekit-protocol's pbjson serializers write camelCase keys and omit default values; the
//! server's Twirp handlers write snake_case proto names and emit every unpopulated field.
//! We serialize with pbjson, rename the keys and fill in the defaults from the tables below,
//! one per message the simulator returns.
//!
//! Known difference that remains: messages we never populate (`DataTrackInfo`,
//! `SimulcastCodecInfo`, the egress outputs, ...) would keep pbjson's omission of defaults.

use serde::Serialize;
use serde_json::{Map, Value};

/// The default a field takes when protojson emits an unpopulated field.
#[derive(Debug, Clone, Copy)]
pub enum Unset {
    /// `""`
    Str,
    /// `0` (32-bit integers are JSON numbers)
    Int,
    /// `"0"` (64-bit integers are JSON strings)
    Int64,
    /// `false`
    Bool,
    /// `[]` (repeated scalars or messages we never populate)
    List,
    /// `{}`
    Map,
    /// The name of the enum's zero value.
    Enum(&'static str),
    /// A singular message: `null` when unset, filled in from its shape when set.
    Message(&'static [Field]),
    /// A repeated message: each element filled in from its shape.
    Repeated(&'static [Field]),
    /// A message in a oneof: filled in from its shape when set, left out when not.
    Oneof(&'static [Field]),
}

/// One field of a message: its proto name and default.
pub type Field = (&'static str, Unset);

/// A message whose JSON form can be completed with its defaults.
pub trait JsonShape {
    /// The message's fields, by proto name.
    const SHAPE: &'static [Field];
}

/// Serializes a message as protojson with proto names and defaults.
pub fn to_proto_json<M: Serialize + JsonShape>(message: &M) -> Vec<u8> {
    // pbjson serializers cannot fail on these messages: keys are strings, no floats are NaN.
    let mut value = serde_json::to_value(message).unwrap_or(Value::Null);
    snake_keys(&mut value);
    fill(&mut value, M::SHAPE);
    value.to_string().into_bytes()
}

/// Map fields whose keys are user data and must not be renamed.
const MAP_FIELDS: [&str; 1] = ["attributes"];

fn snake_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (key, mut inner) in old {
                if !MAP_FIELDS.contains(&key.as_str()) {
                    snake_keys(&mut inner);
                }
                map.insert(snake_case(&key), inner);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(snake_keys),
        _ => {}
    }
}

fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn fill(value: &mut Value, shape: &[Field]) {
    let Value::Object(map) = value else { return };
    for &(name, unset) in shape {
        match (map.get_mut(name), unset) {
            (Some(inner), Unset::Message(nested) | Unset::Oneof(nested)) => fill(inner, nested),
            (Some(Value::Array(items)), Unset::Repeated(nested)) => {
                for item in items {
                    fill(item, nested);
                }
            }
            // protojson leaves an unset oneof out.
            (Some(_), _) | (None, Unset::Oneof(_)) => {}
            (None, _) => {
                map.insert(name.to_owned(), default_value(unset));
            }
        }
    }
}

fn default_value(unset: Unset) -> Value {
    match unset {
        Unset::Str => Value::String(String::new()),
        Unset::Int => Value::from(0),
        Unset::Int64 => Value::String("0".to_owned()),
        Unset::Bool => Value::Bool(false),
        Unset::List | Unset::Repeated(_) => Value::Array(Vec::new()),
        Unset::Map => Value::Object(Map::new()),
        // `fill` never inserts an unset oneof.
        Unset::Message(_) | Unset::Oneof(_) => Value::Null,
        Unset::Enum(zero) => Value::String(zero.to_owned()),
    }
}

use Unset::{Bool, Enum, Int, Int64, List, Map as MapField, Message, Oneof, Repeated, Str};

const TIMED_VERSION: &[Field] = &[("unix_micro", Int64), ("ticks", Int)];

const CODEC: &[Field] = &[("mime", Str), ("fmtp_line", Str)];

const ROOM: &[Field] = &[
    ("sid", Str),
    ("name", Str),
    ("empty_timeout", Int),
    ("departure_timeout", Int),
    ("max_participants", Int),
    ("creation_time", Int64),
    ("creation_time_ms", Int64),
    ("turn_password", Str),
    ("enabled_codecs", Repeated(CODEC)),
    ("metadata", Str),
    ("num_participants", Int),
    ("num_publishers", Int),
    ("active_recording", Bool),
    ("version", Message(TIMED_VERSION)),
];

const PERMISSION: &[Field] = &[
    ("can_subscribe", Bool),
    ("can_publish", Bool),
    ("can_publish_data", Bool),
    ("can_publish_sources", List),
    ("hidden", Bool),
    ("recorder", Bool),
    ("can_update_metadata", Bool),
    ("agent", Bool),
    ("can_subscribe_metrics", Bool),
    ("can_manage_agent_session", Bool),
];

const SIMULCAST_CODEC: &[Field] = &[
    ("mime_type", Str),
    ("mid", Str),
    ("cid", Str),
    ("layers", List),
    ("video_layer_mode", Enum("MODE_UNUSED")),
    ("sdp_cid", Str),
];

const TRACK: &[Field] = &[
    ("sid", Str),
    ("type", Enum("AUDIO")),
    ("name", Str),
    ("muted", Bool),
    ("width", Int),
    ("height", Int),
    ("simulcast", Bool),
    ("disable_dtx", Bool),
    ("source", Enum("UNKNOWN")),
    ("layers", List),
    ("mime_type", Str),
    ("mid", Str),
    ("codecs", Repeated(SIMULCAST_CODEC)),
    ("stereo", Bool),
    ("disable_red", Bool),
    ("encryption", Enum("NONE")),
    ("stream", Str),
    ("version", Message(TIMED_VERSION)),
    ("audio_features", List),
    ("backup_codec_policy", Enum("PREFER_REGRESSION")),
    ("packet_trailer_features", List),
];

const PARTICIPANT: &[Field] = &[
    ("sid", Str),
    ("identity", Str),
    ("state", Enum("JOINING")),
    ("tracks", Repeated(TRACK)),
    ("metadata", Str),
    ("joined_at", Int64),
    ("joined_at_ms", Int64),
    ("name", Str),
    ("version", Int),
    ("permission", Message(PERMISSION)),
    ("region", Str),
    ("is_publisher", Bool),
    ("kind", Enum("STANDARD")),
    ("attributes", MapField),
    ("disconnect_reason", Enum("UNKNOWN_REASON")),
    ("kind_details", List),
    ("data_tracks", List),
    ("client_protocol", Int),
    ("capabilities", List),
];

const OUTPUTS: [Field; 5] = [
    ("file_outputs", List),
    ("stream_outputs", List),
    ("segment_outputs", List),
    ("image_outputs", List),
    ("webhooks", List),
];

const fn with_outputs<const N: usize, const M: usize>(fields: [Field; N]) -> [Field; M] {
    let mut all = [("", Str); M];
    let mut i = 0;
    while i < N {
        all[i] = fields[i];
        i += 1;
    }
    while i < M {
        all[i] = OUTPUTS[i - N];
        i += 1;
    }
    all
}

const ROOM_COMPOSITE_REQUEST: [Field; 11] = with_outputs([
    ("room_name", Str),
    ("layout", Str),
    ("audio_only", Bool),
    ("audio_mixing", Enum("DEFAULT_MIXING")),
    ("video_only", Bool),
    ("custom_base_url", Str),
]);

const WEB_REQUEST: [Field; 9] = with_outputs([
    ("url", Str),
    ("audio_only", Bool),
    ("video_only", Bool),
    ("await_start_signal", Bool),
]);

const PARTICIPANT_REQUEST: [Field; 8] = with_outputs([
    ("room_name", Str),
    ("identity", Str),
    ("screen_share", Bool),
]);

const TRACK_COMPOSITE_REQUEST: [Field; 8] = with_outputs([
    ("room_name", Str),
    ("audio_track_id", Str),
    ("video_track_id", Str),
]);

// Track egress has one output (a oneof) instead of the output lists.
const TRACK_REQUEST: &[Field] = &[("room_name", Str), ("track_id", Str), ("webhooks", List)];

// The deprecated `result` oneof is never set, so never emitted.
const EGRESS: &[Field] = &[
    ("room_composite", Oneof(&ROOM_COMPOSITE_REQUEST)),
    ("web", Oneof(&WEB_REQUEST)),
    ("participant", Oneof(&PARTICIPANT_REQUEST)),
    ("track_composite", Oneof(&TRACK_COMPOSITE_REQUEST)),
    ("track", Oneof(TRACK_REQUEST)),
    ("egress_id", Str),
    ("room_id", Str),
    ("room_name", Str),
    ("source_type", Enum("EGRESS_SOURCE_TYPE_WEB")),
    ("status", Enum("EGRESS_STARTING")),
    ("started_at", Int64),
    ("ended_at", Int64),
    ("updated_at", Int64),
    ("stream_results", List),
    ("file_results", List),
    ("segment_results", List),
    ("image_results", List),
    ("error", Str),
    ("error_code", Int),
    ("details", Str),
    ("manifest_location", Str),
    ("backup_storage_used", Bool),
    ("retry_count", Int),
];

const TOKEN_PAGINATION: &[Field] = &[("token", Str)];

// `video` and `audio` (input state) are unset until a worker measures the stream.
const INGRESS_STATE: &[Field] = &[
    ("status", Enum("ENDPOINT_INACTIVE")),
    ("error", Str),
    ("video", Message(&[])),
    ("audio", Message(&[])),
    ("room_id", Str),
    ("started_at", Int64),
    ("ended_at", Int64),
    ("updated_at", Int64),
    ("resource_id", Str),
    ("tracks", Repeated(TRACK)),
];

// `enable_transcoding` and `enabled` are proto3 `optional`: protojson leaves them out
// when unset, so they are not filled in.
const INGRESS: &[Field] = &[
    ("ingress_id", Str),
    ("name", Str),
    ("stream_key", Str),
    ("url", Str),
    ("input_type", Enum("RTMP_INPUT")),
    ("bypass_transcoding", Bool),
    ("audio", Message(&[])),
    ("video", Message(&[])),
    ("room_name", Str),
    ("participant_identity", Str),
    ("participant_name", Str),
    ("participant_metadata", Str),
    ("reusable", Bool),
    ("state", Message(INGRESS_STATE)),
];

impl JsonShape for livekit_protocol::IngressInfo {
    const SHAPE: &'static [Field] = INGRESS;
}

impl JsonShape for livekit_protocol::ListIngressResponse {
    const SHAPE: &'static [Field] = &[
        ("items", Repeated(INGRESS)),
        ("next_page_token", Message(TOKEN_PAGINATION)),
    ];
}

impl JsonShape for livekit_protocol::Room {
    const SHAPE: &'static [Field] = ROOM;
}

impl JsonShape for livekit_protocol::ParticipantInfo {
    const SHAPE: &'static [Field] = PARTICIPANT;
}

impl JsonShape for livekit_protocol::EgressInfo {
    const SHAPE: &'static [Field] = EGRESS;
}

impl JsonShape for livekit_protocol::ListRoomsResponse {
    const SHAPE: &'static [Field] = &[("rooms", Repeated(ROOM))];
}

impl JsonShape for livekit_protocol::ListParticipantsResponse {
    const SHAPE: &'static [Field] = &[("participants", Repeated(PARTICIPANT))];
}

impl JsonShape for livekit_protocol::ListEgressResponse {
    const SHAPE: &'static [Field] = &[
        ("items", Repeated(EGRESS)),
        ("next_page_token", Message(TOKEN_PAGINATION)),
    ];
}

impl JsonShape for livekit_protocol::DeleteRoomResponse {
    const SHAPE: &'static [Field] = &[];
}

impl JsonShape for livekit_protocol::MuteRoomTrackResponse {
    const SHAPE: &'static [Field] = &[("track", Message(TRACK))];
}

impl JsonShape for livekit_protocol::RemoveParticipantResponse {
    const SHAPE: &'static [Field] = &[];
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_protocol as proto;
    use serde_json::json;

    fn json_of<M: Serialize + JsonShape>(message: &M) -> Value {
        serde_json::from_slice(&to_proto_json(message)).unwrap()
    }

    #[test]
    fn room_gets_snake_case_keys_defaults_and_string_int64() {
        let room = proto::Room {
            name: "r1".into(),
            creation_time_ms: 1_700_000_000_123,
            num_participants: 2,
            ..Default::default()
        };
        let doc = json_of(&room);
        assert_eq!(doc["creation_time_ms"], "1700000000123");
        assert_eq!(doc["creation_time"], "0");
        assert_eq!(doc["num_participants"], 2);
        assert_eq!(doc["num_publishers"], 0);
        assert_eq!(doc["metadata"], "");
        assert_eq!(doc["active_recording"], false);
        assert_eq!(doc["version"], Value::Null);
        assert!(doc.get("creationTimeMs").is_none());
        assert_eq!(doc.as_object().unwrap().len(), ROOM.len());
    }

    #[test]
    fn nested_messages_and_enums_are_completed_but_attribute_keys_kept() {
        let participant = proto::ParticipantInfo {
            identity: "alice".into(),
            kind: proto::participant_info::Kind::Agent as i32,
            tracks: vec![proto::TrackInfo::default()],
            permission: Some(proto::ParticipantPermission::default()),
            attributes: [("someKey".to_owned(), "v".to_owned())].into(),
            ..Default::default()
        };
        let doc = json_of(&proto::ListParticipantsResponse {
            participants: vec![participant],
        });
        let p = &doc["participants"][0];
        assert_eq!(p["kind"], "AGENT");
        assert_eq!(p["state"], "JOINING");
        assert_eq!(p["tracks"][0]["type"], "AUDIO");
        assert_eq!(p["permission"]["can_publish"], false);
        assert_eq!(p["attributes"]["someKey"], "v");
        assert_eq!(p["kind_details"], Value::Array(vec![]));
    }

    #[test]
    fn egress_list_keeps_page_token_null_when_unset() {
        let doc = json_of(&proto::ListEgressResponse {
            items: vec![proto::EgressInfo {
                egress_id: "EG_1".into(),
                started_at: 5,
                ..Default::default()
            }],
            next_page_token: None,
        });
        assert_eq!(doc["next_page_token"], Value::Null);
        assert_eq!(doc["items"][0]["started_at"], "5");
        assert_eq!(doc["items"][0]["status"], "EGRESS_STARTING");
        assert_eq!(doc["items"][0]["ended_at"], "0");
        assert!(
            doc["items"][0].get("web").is_none(),
            "an unset oneof is left out"
        );
        let composite = json_of(&proto::EgressInfo {
            request: Some(proto::egress_info::Request::RoomComposite(
                proto::RoomCompositeEgressRequest::default(),
            )),
            ..Default::default()
        });
        assert_eq!(
            composite["room_composite"]["audio_mixing"],
            "DEFAULT_MIXING"
        );
        assert_eq!(composite["room_composite"]["webhooks"], json!([]));
        assert!(composite.get("track").is_none());
    }

    #[test]
    fn camel_case_becomes_snake_case() {
        assert_eq!(snake_case("joinedAtMs"), "joined_at_ms");
        assert_eq!(snake_case("sid"), "sid");
    }
}
