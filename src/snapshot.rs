//! The live inventory as a scenario file, to replay with `simulate` and rehearse a policy.

use chrono::{DateTime, Utc};

use crate::cli::ParticipantKind;
use crate::inventory::{
    self, CALL_STATUS, Egress, EgressKind, Ingress, Inventory, Participant, Participants, Room,
};
use crate::livekit::proto;
use crate::livekit::proto::participant_info::{KindDetail as ProtoDetail, State};
use crate::sim::{
    EgressSpec, EgressStatus, EgressType, IngressInput, IngressSpec, IngressStatus, Kind,
    KindDetail, NodeState, ParticipantSpec, ParticipantState, RoomSpec, Scenario, TrackKind,
    TrackSource, TrackSpec,
};

/// Builds a scenario of `inventory` with ages relative to `now`. The key and secret are the
/// simulator's development pair, never the production ones.
pub fn scenario_of(inventory: &Inventory, now: DateTime<Utc>) -> Scenario {
    Scenario {
        key: "devkey".into(),
        secret: "secret".into(),
        egress_page_size: 0,
        latency_ms: 0,
        egress_ending_ms: 0,
        rooms: inventory.rooms.iter().map(|r| room_spec(r, now)).collect(),
        egresses: inventory
            .egresses
            .iter()
            .map(|e| egress_spec(e, now))
            .collect(),
        ingresses: inventory
            .ingresses
            .iter()
            .map(|i| ingress_spec(i, now))
            .collect(),
        // A server that could not list its ingresses is replayed as one without the service.
        ingress_service: inventory.ingress_unchecked.is_none(),
        faults: Vec::new(),
        events: Vec::new(),
    }
}

fn seconds_ago(then_ms: i64, now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp_millis().saturating_sub(then_ms) / 1000).unwrap_or(0)
}

fn room_spec(room: &Room, now: DateTime<Utc>) -> RoomSpec {
    let participants = match &room.participants {
        Participants::Listed(list) => list.iter().map(|p| participant_spec(p, now)).collect(),
        Participants::NotListed | Participants::Failed(_) => Vec::new(),
    };
    RoomSpec {
        name: room.name.clone(),
        age_s: seconds_ago(room.created_ms, now),
        metadata: room.metadata.clone(),
        empty_timeout: room.empty_timeout,
        departure_timeout: room.departure_timeout,
        participants,
        node: NodeState::Live,
    }
}

/// A participant of a kind this version does not know keeps its number, so a replay judges
/// it as the sweep did (as human).
fn participant_spec(p: &Participant, now: DateTime<Utc>) -> ParticipantSpec {
    let kind = match p.kind {
        inventory::Kind::Known(kind) => sim_kind(kind),
        inventory::Kind::Unknown(n) => Kind::Other(n),
    };
    let state = match State::try_from(p.state) {
        Ok(State::Joining) => ParticipantState::Joining,
        Ok(State::Joined) => ParticipantState::Joined,
        Ok(State::Disconnected) => ParticipantState::Disconnected,
        Ok(State::Active) | Err(_) => ParticipantState::Active,
    };
    let (tracks, muted_tracks, track_list) = track_specs(&p.tracks);
    ParticipantSpec {
        identity: p.identity.clone(),
        kind,
        kind_details: p
            .kind_details
            .iter()
            .filter_map(|&d| sim_detail(d))
            .collect(),
        joined_s_ago: seconds_ago(p.joined_ms, now),
        state,
        hidden: p.hidden,
        tracks,
        muted_tracks,
        track_list,
        attributes: p
            .call_status
            .iter()
            .map(|status| (CALL_STATUS.to_owned(), status.clone()))
            .collect(),
    }
}

/// The count form when it says the same (sids aside), else the tracks one by one with
/// their sids, so a replay serves what the server listed.
fn track_specs(tracks: &[inventory::Track]) -> (u32, u32, Vec<TrackSpec>) {
    let list: Vec<TrackSpec> = tracks.iter().map(track_spec).collect();
    match TrackSpec::counts(&list) {
        Some((count, muted)) => (count, muted, Vec::new()),
        None => (0, 0, list),
    }
}

fn track_spec(track: &inventory::Track) -> TrackSpec {
    use proto::TrackSource as Source;
    let kind = if track.kind == proto::TrackType::Audio as i32 {
        TrackKind::Audio
    } else {
        TrackKind::Video
    };
    let source = match Source::try_from(track.source) {
        Ok(Source::Camera) => TrackSource::Camera,
        Ok(Source::Microphone) => TrackSource::Microphone,
        Ok(Source::ScreenShare) => TrackSource::ScreenShare,
        Ok(Source::ScreenShareAudio) => TrackSource::ScreenShareAudio,
        Ok(Source::Unknown) | Err(_) => TrackSource::Unknown,
    };
    TrackSpec {
        sid: track.sid.clone(),
        kind,
        source,
        muted: track.muted,
    }
}

fn sim_kind(kind: ParticipantKind) -> Kind {
    match kind {
        ParticipantKind::Standard => Kind::Standard,
        ParticipantKind::Ingress => Kind::Ingress,
        ParticipantKind::Egress => Kind::Egress,
        ParticipantKind::Sip => Kind::Sip,
        ParticipantKind::Agent => Kind::Agent,
        ParticipantKind::Connector => Kind::Connector,
        ParticipantKind::Bridge => Kind::Bridge,
    }
}

fn sim_detail(detail: i32) -> Option<KindDetail> {
    Some(match ProtoDetail::try_from(detail).ok()? {
        ProtoDetail::CloudAgent => KindDetail::CloudAgent,
        ProtoDetail::Forwarded => KindDetail::Forwarded,
        ProtoDetail::ConnectorWhatsapp => KindDetail::ConnectorWhatsapp,
        ProtoDetail::ConnectorTwilio => KindDetail::ConnectorTwilio,
        ProtoDetail::BridgeRtsp => KindDetail::BridgeRtsp,
        ProtoDetail::Simulation => KindDetail::Simulation,
    })
}

fn egress_spec(e: &Egress, now: DateTime<Utc>) -> EgressSpec {
    let egress_type = match e.kind {
        EgressKind::Web => EgressType::Web,
        EgressKind::Participant => EgressType::Participant,
        EgressKind::TrackComposite => EgressType::TrackComposite,
        EgressKind::Track => EgressType::Track,
        EgressKind::Other if e.room_name.is_empty() => EgressType::Web,
        EgressKind::RoomComposite | EgressKind::Other => EgressType::RoomComposite,
    };
    let status = match e.status {
        proto::EgressStatus::EgressStarting => EgressStatus::Starting,
        proto::EgressStatus::EgressActive => EgressStatus::Active,
        proto::EgressStatus::EgressEnding => EgressStatus::Ending,
        proto::EgressStatus::EgressComplete => EgressStatus::Complete,
        proto::EgressStatus::EgressFailed => EgressStatus::Failed,
        proto::EgressStatus::EgressAborted => EgressStatus::Aborted,
        proto::EgressStatus::EgressLimitReached => EgressStatus::LimitReached,
    };
    EgressSpec {
        egress_id: e.egress_id.clone(),
        room_name: e.room_name.clone(),
        egress_type,
        status,
        started_s_ago: seconds_ago(e.started_ns / 1_000_000, now),
        ended_s_ago: None,
        zombie: false,
        // What an egress records is not part of the inventory; the simulator fills defaults.
        url: String::new(),
        identity: String::new(),
        track_id: String::new(),
    }
}

/// An input type this version does not know is replayed as RTMP; its status keeps its
/// number, so a replay judges it as the sweep did (never acted on).
fn ingress_spec(i: &Ingress, now: DateTime<Utc>) -> IngressSpec {
    let input_type = match i.input {
        inventory::IngressInput::Known(proto::IngressInput::WhipInput) => IngressInput::Whip,
        inventory::IngressInput::Known(proto::IngressInput::UrlInput) => IngressInput::Url,
        inventory::IngressInput::Known(proto::IngressInput::RtmpInput)
        | inventory::IngressInput::Unknown(_) => IngressInput::Rtmp,
    };
    let status = match i.status {
        inventory::IngressStatus::Known(s) => s as i32,
        inventory::IngressStatus::Unknown(n) => n,
    };
    IngressSpec {
        ingress_id: i.ingress_id.clone(),
        input_type,
        room_name: i.room_name.clone(),
        participant_identity: i.participant_identity.clone(),
        reusable: Some(i.reusable),
        enabled: i.enabled,
        status: IngressStatus(status),
        started_s_ago: seconds_ago(i.since_ns / 1_000_000, now),
        encoder_retries: false,
    }
}
