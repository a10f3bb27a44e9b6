//! The fields of LiveKit's answers that lk-reaper reads, and no others. Decoding into these
//! skips the rest (codecs, TURN passwords, egress requests and results) without allocating
//! it: a full `livekit_protocol::Room` costs about 1 KB in memory, this one a tenth.
//!
//! Tags are those of LiveKit's protocol (livekit_models.proto, livekit_egress.proto,
//! livekit_ingress.proto).

/// A message whose content is skipped: only its presence is kept.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Skipped {}

/// `livekit.Room`, reduced.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Room {
    #[prost(string, tag = "1")]
    pub sid: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(uint32, tag = "3")]
    pub empty_timeout: u32,
    #[prost(uint32, tag = "14")]
    pub departure_timeout: u32,
    /// Unix seconds.
    #[prost(int64, tag = "5")]
    pub creation_time: i64,
    /// Unix milliseconds (newer servers).
    #[prost(int64, tag = "15")]
    pub creation_time_ms: i64,
    #[prost(string, tag = "8")]
    pub metadata: String,
    #[prost(uint32, tag = "9")]
    pub num_participants: u32,
}

/// `livekit.ListRoomsResponse`, reduced.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListRoomsResponse {
    #[prost(message, repeated, tag = "1")]
    pub rooms: Vec<Room>,
}

/// `livekit.EgressInfo`, reduced: which request started it is kept as presence only.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Egress {
    #[prost(string, tag = "1")]
    pub egress_id: String,
    #[prost(string, tag = "13")]
    pub room_name: String,
    #[prost(int32, tag = "3")]
    pub status: i32,
    /// Unix nanoseconds.
    #[prost(int64, tag = "10")]
    pub started_at: i64,
    /// Unix nanoseconds.
    #[prost(int64, tag = "18")]
    pub updated_at: i64,
    #[prost(message, optional, tag = "4")]
    pub room_composite: Option<Skipped>,
    #[prost(message, optional, tag = "14")]
    pub web: Option<Skipped>,
    #[prost(message, optional, tag = "19")]
    pub participant: Option<Skipped>,
    #[prost(message, optional, tag = "5")]
    pub track_composite: Option<Skipped>,
    #[prost(message, optional, tag = "6")]
    pub track: Option<Skipped>,
}

/// `livekit.ListEgressResponse`, reduced.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListEgressResponse {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<Egress>,
    #[prost(message, optional, tag = "2")]
    pub next_page_token: Option<super::proto::TokenPagination>,
}

/// `livekit.IngressInfo`, reduced: no stream key, URL or encoding options are kept.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Ingress {
    #[prost(string, tag = "1")]
    pub ingress_id: String,
    #[prost(int32, tag = "5")]
    pub input_type: i32,
    #[prost(string, tag = "8")]
    pub room_name: String,
    #[prost(string, tag = "9")]
    pub participant_identity: String,
    #[prost(bool, tag = "11")]
    pub reusable: bool,
    #[prost(message, optional, tag = "12")]
    pub state: Option<IngressState>,
    /// Absent means enabled (LiveKit's default).
    #[prost(bool, optional, tag = "16")]
    pub enabled: Option<bool>,
}

/// `livekit.IngressState`, reduced.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct IngressState {
    #[prost(int32, tag = "1")]
    pub status: i32,
    /// The room's sid while it publishes (or last published).
    #[prost(string, tag = "5")]
    pub room_id: String,
    /// Unix nanoseconds.
    #[prost(int64, tag = "7")]
    pub started_at: i64,
    /// Unix nanoseconds.
    #[prost(int64, tag = "10")]
    pub updated_at: i64,
}

/// `livekit.ListIngressResponse`, reduced.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListIngressResponse {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<Ingress>,
    #[prost(message, optional, tag = "2")]
    pub next_page_token: Option<super::proto::TokenPagination>,
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::livekit::proto;

    #[test]
    fn reads_the_same_fields_as_the_full_messages() {
        let full = proto::ListRoomsResponse {
            rooms: vec![proto::Room {
                sid: "RM_1".into(),
                name: "standup".into(),
                empty_timeout: 300,
                departure_timeout: 20,
                creation_time: 1_700_000_000,
                creation_time_ms: 1_700_000_000_123,
                turn_password: "never read".into(),
                enabled_codecs: vec![proto::Codec::default(); 5],
                metadata: "{}".into(),
                num_participants: 2,
                ..Default::default()
            }],
        };
        let slim = ListRoomsResponse::decode(full.encode_to_vec().as_slice()).unwrap();
        let room = &slim.rooms[0];
        assert_eq!(
            (
                room.sid.as_str(),
                room.name.as_str(),
                room.metadata.as_str()
            ),
            ("RM_1", "standup", "{}")
        );
        assert_eq!(
            (
                room.empty_timeout,
                room.departure_timeout,
                room.num_participants
            ),
            (300, 20, 2)
        );
        assert_eq!(
            (room.creation_time, room.creation_time_ms),
            (1_700_000_000, 1_700_000_000_123)
        );

        let egress = proto::EgressInfo {
            egress_id: "EG_1".into(),
            room_name: "standup".into(),
            status: proto::EgressStatus::EgressActive as i32,
            started_at: 5,
            updated_at: 6,
            request: Some(proto::egress_info::Request::Web(
                proto::WebEgressRequest::default(),
            )),
            ..Default::default()
        };
        let full = proto::ListEgressResponse {
            items: vec![egress],
            next_page_token: Some(proto::TokenPagination { token: "t".into() }),
        };
        let slim = ListEgressResponse::decode(full.encode_to_vec().as_slice()).unwrap();
        let e = &slim.items[0];
        assert_eq!(
            (e.egress_id.as_str(), e.room_name.as_str()),
            ("EG_1", "standup")
        );
        assert_eq!((e.status, e.started_at, e.updated_at), (1, 5, 6));
        assert!(e.web.is_some() && e.room_composite.is_none() && e.track.is_none());
        assert_eq!(slim.next_page_token.unwrap().token, "t");
    }

    #[test]
    fn reads_an_ingress_without_its_stream_key() {
        let full = proto::ListIngressResponse {
            items: vec![proto::IngressInfo {
                ingress_id: "IN_1".into(),
                stream_key: "secret-key".into(),
                input_type: proto::IngressInput::WhipInput as i32,
                room_name: "studio".into(),
                participant_identity: "obs".into(),
                reusable: true,
                enabled: Some(false),
                state: Some(proto::IngressState {
                    status: proto::ingress_state::Status::EndpointPublishing as i32,
                    room_id: "RM_1".into(),
                    started_at: 7,
                    updated_at: 8,
                    error: "none".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            next_page_token: None,
        };
        let slim = ListIngressResponse::decode(full.encode_to_vec().as_slice()).unwrap();
        let i = &slim.items[0];
        assert_eq!(
            (
                i.ingress_id.as_str(),
                i.room_name.as_str(),
                i.participant_identity.as_str()
            ),
            ("IN_1", "studio", "obs")
        );
        assert_eq!(
            (i.input_type, i.reusable, i.enabled),
            (1, true, Some(false))
        );
        let state = i.state.as_ref().unwrap();
        assert_eq!((state.status, state.room_id.as_str()), (2, "RM_1"));
        assert_eq!((state.started_at, state.updated_at), (7, 8));
    }
}
