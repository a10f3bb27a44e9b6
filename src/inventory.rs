//! What the server has right now: rooms, their participants, active egresses, ingresses.
//! Read-only.
//!
//! Server types are reduced to the few fields the rules and reports use, so a 10,000-room
//! inventory stays small.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;

use crate::cli::ParticipantKind;
use crate::cluster::DeadNode;
use crate::livekit::{ApiError, LiveKit, proto, wire};

/// A room as lk-reaper judges it.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub name: String,
    pub sid: String,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    pub metadata: String,
    /// The server's count of non-dependent participants (not agents, not egress).
    pub num_participants: u32,
    /// Ingresses BUFFERING or PUBLISHING into it: encoders that keep it alive.
    pub live_ingresses: u32,
    pub empty_timeout: u32,
    pub departure_timeout: u32,
    pub participants: Participants,
}

/// Whether a room's participants were listed.
#[derive(Debug, Clone, PartialEq)]
pub enum Participants {
    /// The verdict did not need the list.
    NotListed,
    Listed(Vec<Participant>),
    /// Listing failed; the humanless rule cannot judge this room.
    Failed(String),
}

/// A participant, as far as the human test and snapshots need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub identity: String,
    /// A rejoin gets a new sid (and a new `joined_at`).
    pub sid: String,
    pub kind: Kind,
    pub kind_details: Vec<i32>,
    pub state: i32,
    pub hidden: bool,
    pub joined_ms: i64,
    /// Published tracks: a human whose every track is muted is silent.
    pub tracks: Vec<Track>,
    /// The `sip.callStatus` attribute, the only attribute the rules read.
    pub call_status: Option<String>,
}

/// A published track, as far as the silent rule and snapshots need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    pub sid: String,
    /// `TrackType`.
    pub kind: i32,
    /// `TrackSource`.
    pub source: i32,
    pub muted: bool,
}

/// The attribute LiveKit's SIP service keeps a phone leg's state in.
pub const CALL_STATUS: &str = "sip.callStatus";

/// A participant's kind: one this version knows, or the number a newer server sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Known(ParticipantKind),
    Unknown(i32),
}

/// An egress as lk-reaper judges it.
#[derive(Debug, Clone, PartialEq)]
pub struct Egress {
    pub egress_id: String,
    /// Empty for web egress, which has no room.
    pub room_name: String,
    pub kind: EgressKind,
    pub status: proto::EgressStatus,
    /// `started_at`, or `updated_at` when the server left it 0; Unix nanoseconds.
    pub started_ns: i64,
}

/// What an egress records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgressKind {
    RoomComposite,
    Web,
    Participant,
    TrackComposite,
    Track,
    Other,
}

impl EgressKind {
    /// The name the `lk` CLI and scenario files use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoomComposite => "room_composite",
            Self::Web => "web",
            Self::Participant => "participant",
            Self::TrackComposite => "track_composite",
            Self::Track => "track",
            Self::Other => "other",
        }
    }

    /// Whether it records a room (room composite, participant, track, track composite),
    /// rather than a web page.
    pub fn is_room_bound(self) -> bool {
        matches!(
            self,
            Self::RoomComposite | Self::Participant | Self::Track | Self::TrackComposite
        )
    }
}

/// An ingress (an RTMP, WHIP or URL input publishing into a room) as lk-reaper judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingress {
    pub ingress_id: String,
    /// `RTMP_INPUT`, `WHIP_INPUT`, `URL_INPUT`, or the number a newer server sent.
    pub input: IngressInput,
    /// The room it publishes into; empty when the server sent none.
    pub room_name: String,
    pub participant_identity: String,
    /// RTMP and WHIP ingresses are; URL input is not, and LiveKit refuses to update it.
    pub reusable: bool,
    /// `enabled` absent counts as true, as on LiveKit.
    pub enabled: bool,
    pub status: IngressStatus,
    /// When its current state began: `started_at`, or `updated_at` when that is 0; Unix
    /// nanoseconds, 0 when the server sent neither.
    pub since_ns: i64,
}

/// An ingress's input type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngressInput {
    Known(proto::IngressInput),
    Unknown(i32),
}

/// An ingress's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngressStatus {
    Known(proto::ingress_state::Status),
    /// A status this version does not know: never acted on.
    Unknown(i32),
}

impl IngressInput {
    /// `RTMP`, `WHIP`, `URL`, or `input 7` for a newer type.
    pub fn label(self) -> String {
        match self {
            Self::Known(input) => input.as_str_name().trim_end_matches("_INPUT").to_owned(),
            Self::Unknown(n) => format!("input {n}"),
        }
    }
}

impl IngressStatus {
    /// `ENDPOINT_PUBLISHING`, ..., or `status 9` for a newer status.
    pub fn label(self) -> String {
        match self {
            Self::Known(status) => status.as_str_name().to_owned(),
            Self::Unknown(n) => format!("status {n}"),
        }
    }

    /// BUFFERING or PUBLISHING: an encoder is connected and its participant keeps the
    /// room alive.
    pub fn is_live(self) -> bool {
        use proto::ingress_state::Status;
        matches!(
            self,
            Self::Known(Status::EndpointBuffering | Status::EndpointPublishing)
        )
    }
}

impl Ingress {
    /// Time in its current state at `now`; `None` when the time is impossible or absent.
    pub fn since(&self, now: DateTime<Utc>) -> Option<Duration> {
        age_at(self.since_ns.div_euclid(1_000_000), now)
    }
}

impl From<wire::Ingress> for Ingress {
    fn from(i: wire::Ingress) -> Self {
        let state = i.state.unwrap_or_default();
        let status = proto::ingress_state::Status::try_from(state.status)
            .map_or(IngressStatus::Unknown(state.status), IngressStatus::Known);
        let input = proto::IngressInput::try_from(i.input_type)
            .map_or(IngressInput::Unknown(i.input_type), IngressInput::Known);
        Self {
            ingress_id: i.ingress_id,
            input,
            room_name: i.room_name,
            participant_identity: i.participant_identity,
            reusable: i.reusable,
            enabled: i.enabled.unwrap_or(true),
            status,
            since_ns: if state.started_at > 0 {
                state.started_at
            } else {
                state.updated_at
            },
        }
    }
}

/// Everything one run looked at.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    pub taken_at: DateTime<Utc>,
    pub rooms: Vec<Room>,
    pub egresses: Vec<Egress>,
    /// Why egress could not be checked (e.g. a server without Redis), if so.
    pub egress_unchecked: Option<String>,
    pub ingresses: Vec<Ingress>,
    /// Why ingress could not be checked (e.g. a server without Redis), if so.
    pub ingress_unchecked: Option<String>,
    /// Rooms whose node is gone, by room name, as LiveKit's Redis told (`--redis-url`).
    pub dead_nodes: HashMap<String, DeadNode>,
}

/// Reads the inventory. `wants_participants` says which rooms need a ListParticipants;
/// those calls run `concurrency` at a time.
pub async fn fetch(
    lk: &impl LiveKit,
    concurrency: usize,
    wants_participants: impl Fn(&Room) -> bool,
    progress: impl Fn(usize, usize),
) -> anyhow::Result<Inventory> {
    let taken_at = Utc::now();
    let (rooms, egresses, ingresses) = tokio::join!(
        lk.list_rooms(&[]),
        lk.list_active_egress(),
        lk.list_ingress("")
    );
    // A room or egress listed twice (zombie rooms left in Redis, overlapping pages) must
    // still get one action.
    let rooms = rooms.context("could not list rooms")?;
    let mut first = first_of_each(rooms.iter().map(|r| r.name.as_str())).into_iter();
    let mut rooms: Vec<Room> = rooms
        .into_iter()
        .filter(|_| first.next().unwrap_or(false))
        .map(Room::from)
        .collect();
    let (egresses, egress_unchecked) = match egresses {
        Ok(items) => {
            let mut first = first_of_each(items.iter().map(|e| e.egress_id.as_str())).into_iter();
            let unique = items.into_iter().filter(|_| first.next().unwrap_or(false));
            (unique.map(Egress::from).collect(), None)
        }
        // A server without an egress service (single node, no Redis) answers `internal`
        // "egress not connected"; rooms can still be swept. Any other failure, another
        // `internal` included, leaves the inventory incomplete: never an empty list.
        Err(err) if err.is_missing_service() => {
            (Vec::new(), Some(format!("egress was not checked: {err}")))
        }
        Err(err) => return Err(err).context("could not list egresses"),
    };
    let (ingresses, ingress_unchecked) = unique_ingresses(ingresses)?;
    count_live_ingresses(&mut rooms, &ingresses);

    list_participants(lk, &mut rooms, concurrency, wants_participants, progress).await?;
    Ok(Inventory {
        taken_at,
        rooms,
        egresses,
        egress_unchecked,
        ingresses,
        ingress_unchecked,
        dead_nodes: HashMap::new(),
    })
}

/// Lists the participants of the rooms `wants` picks, `concurrency` at a time.
async fn list_participants(
    lk: &impl LiveKit,
    rooms: &mut [Room],
    concurrency: usize,
    wants: impl Fn(&Room) -> bool,
    progress: impl Fn(usize, usize),
) -> anyhow::Result<()> {
    let wanted: Vec<usize> = (0..rooms.len()).filter(|&i| wants(&rooms[i])).collect();
    let total = wanted.len();
    // Each answer is reduced to `Participants` as it arrives: holding the server's
    // `ParticipantInfo`s (tracks, codecs, attributes) until the last list came back made
    // them most of a 10,000-room sweep's peak memory.
    let names: &[Room] = rooms;
    let mut lists = futures::stream::iter(wanted)
        .map(|i| {
            let name = &names[i].name;
            async move { (i, participants_of(name, lk.list_participants(name).await)) }
        })
        .buffer_unordered(concurrency);
    let mut done = 0;
    let mut listed = Vec::with_capacity(total);
    while let Some((i, result)) = lists.next().await {
        listed.push((i, result?));
        done += 1;
        progress(done, total);
    }
    drop(lists);
    for (i, participants) in listed {
        rooms[i].participants = participants;
    }
    Ok(())
}

/// Sets each room's `live_ingresses`, before the rules decide whose participants to list.
fn count_live_ingresses(rooms: &mut [Room], ingresses: &[Ingress]) {
    let mut live: HashMap<&str, u32> = HashMap::new();
    for ingress in ingresses.iter().filter(|i| i.status.is_live()) {
        *live.entry(ingress.room_name.as_str()).or_default() += 1;
    }
    for room in rooms {
        room.live_ingresses = live.get(room.name.as_str()).copied().unwrap_or(0);
    }
}

/// The ingresses, each once; a server without an ingress service (no Redis: `internal`
/// "ingress not connected"; a proxy that does not route it) is a reason they were not
/// checked, like a missing egress service, and the rooms are still swept.
fn unique_ingresses(
    listed: Result<Vec<wire::Ingress>, ApiError>,
) -> anyhow::Result<(Vec<Ingress>, Option<String>)> {
    match listed {
        Ok(items) => {
            let mut first = first_of_each(items.iter().map(|i| i.ingress_id.as_str())).into_iter();
            let unique = items.into_iter().filter(|_| first.next().unwrap_or(false));
            Ok((unique.map(Ingress::from).collect(), None))
        }
        Err(err) if err.is_missing_service() => {
            Ok((Vec::new(), Some(format!("ingress was not checked: {err}"))))
        }
        Err(err) => Err(err).context("could not list ingresses"),
    }
}

/// For each key, whether it is the first of its value: the set borrows the keys instead of
/// copying 100,000 room names.
fn first_of_each<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<bool> {
    let mut seen = HashSet::new();
    keys.map(|key| seen.insert(key)).collect()
}

/// A room's listing in compact form; a fatal error (auth, not LiveKit) ends the run.
fn participants_of(
    room: &str,
    result: Result<Vec<proto::ParticipantInfo>, ApiError>,
) -> anyhow::Result<Participants> {
    match result {
        Ok(list) => Ok(Participants::Listed(
            list.iter().map(Participant::from).collect(),
        )),
        Err(err) if err.is_fatal() => Err(err).context("could not list participants"),
        Err(err) => {
            // One warning for all of them comes with the evaluation.
            tracing::debug!(room = %crate::redact::line(room), error = %err, "could not list participants");
            Ok(Participants::Failed(err.to_string()))
        }
    }
}

impl Room {
    /// Age at `now`; `None` when the creation time is impossible (see [`age_at`]).
    pub fn age(&self, now: DateTime<Utc>) -> Option<Duration> {
        age_at(self.created_ms, now)
    }
}

impl Egress {
    /// Time since it started, at `now`; `None` when the start time is impossible.
    pub fn age(&self, now: DateTime<Utc>) -> Option<Duration> {
        age_at(self.started_ns.div_euclid(1_000_000), now)
    }

    /// STARTING or ACTIVE: running, and stoppable. (ENDING is already on its way out.)
    pub fn is_running(&self) -> bool {
        matches!(
            self.status,
            proto::EgressStatus::EgressStarting | proto::EgressStatus::EgressActive
        )
    }
}

/// Before this (2020-01-01, before LiveKit's first release) no room or egress was created.
const EARLIEST_MS: i64 = 1_577_836_800_000;
/// Clocks of LiveKit's nodes and ours may disagree by this much.
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// Time from `then_ms` (Unix ms) to `now`. A time a little ahead of ours (clock skew) is age
/// 0; one before LiveKit existed (0, negative) or far in the future is impossible: `None`,
/// so no age rule can act on a server's nonsense.
pub fn age_at(then_ms: i64, now: DateTime<Utc>) -> Option<Duration> {
    let now_ms = now.timestamp_millis();
    if then_ms < EARLIEST_MS || then_ms > now_ms.saturating_add(CLOCK_SKEW_MS) {
        return None;
    }
    Some(Duration::from_millis(
        u64::try_from(now_ms.saturating_sub(then_ms)).unwrap_or(0),
    ))
}

impl Inventory {
    /// Rooms whose participants were to be listed, and how many of those lists failed.
    pub fn participant_lists(&self) -> (usize, usize) {
        let (mut tried, mut failed) = (0, 0);
        for room in &self.rooms {
            match room.participants {
                Participants::NotListed => {}
                Participants::Listed(_) => tried += 1,
                Participants::Failed(_) => (tried, failed) = (tried + 1, failed + 1),
            }
        }
        (tried, failed)
    }

    /// Whether every participant list the run needed failed, so that no room could be
    /// judged by `humanless`.
    pub fn nothing_judged(&self) -> bool {
        let (tried, failed) = self.participant_lists();
        tried > 0 && failed == tried
    }
}

impl From<wire::Room> for Room {
    fn from(room: wire::Room) -> Self {
        let created_ms = if room.creation_time_ms > 0 {
            room.creation_time_ms
        } else {
            room.creation_time.saturating_mul(1000)
        };
        Self {
            name: room.name,
            sid: room.sid,
            created_ms,
            metadata: room.metadata,
            num_participants: room.num_participants,
            live_ingresses: 0,
            empty_timeout: room.empty_timeout,
            departure_timeout: room.departure_timeout,
            participants: Participants::NotListed,
        }
    }
}

impl From<&proto::ParticipantInfo> for Participant {
    fn from(p: &proto::ParticipantInfo) -> Self {
        let joined_ms = if p.joined_at_ms > 0 {
            p.joined_at_ms
        } else {
            p.joined_at.saturating_mul(1000)
        };
        Self {
            identity: p.identity.clone(),
            sid: p.sid.clone(),
            kind: Kind::from_proto(p.kind),
            kind_details: p.kind_details.clone(),
            state: p.state,
            hidden: p.permission.as_ref().is_some_and(|perm| perm.hidden),
            joined_ms,
            tracks: p
                .tracks
                .iter()
                .map(|t| Track {
                    sid: t.sid.clone(),
                    kind: t.r#type,
                    source: t.source,
                    muted: t.muted,
                })
                .collect(),
            call_status: p.attributes.get(CALL_STATUS).cloned(),
        }
    }
}

impl Participant {
    /// Publishes nothing, or only muted tracks (an unmuted screen share is activity).
    pub fn is_silent(&self) -> bool {
        self.tracks.iter().all(|t| t.muted)
    }
}

impl Kind {
    /// Maps the protocol's kind number to ours, keeping the number of a kind newer than
    /// this version, so the human test can fail safe and name it.
    pub fn from_proto(kind: i32) -> Self {
        use proto::participant_info::Kind as P;
        let Ok(known) = P::try_from(kind) else {
            return Self::Unknown(kind);
        };
        Self::Known(match known {
            P::Standard => ParticipantKind::Standard,
            P::Ingress => ParticipantKind::Ingress,
            P::Egress => ParticipantKind::Egress,
            P::Sip => ParticipantKind::Sip,
            P::Agent => ParticipantKind::Agent,
            P::Connector => ParticipantKind::Connector,
            P::Bridge => ParticipantKind::Bridge,
        })
    }
}

impl From<wire::Egress> for Egress {
    fn from(e: wire::Egress) -> Self {
        let kind = if e.room_composite.is_some() {
            EgressKind::RoomComposite
        } else if e.web.is_some() {
            EgressKind::Web
        } else if e.participant.is_some() {
            EgressKind::Participant
        } else if e.track_composite.is_some() {
            EgressKind::TrackComposite
        } else if e.track.is_some() {
            EgressKind::Track
        } else if e.room_name.is_empty() {
            EgressKind::Web
        } else {
            EgressKind::Other
        };
        Self {
            egress_id: e.egress_id,
            room_name: e.room_name,
            kind,
            status: proto::EgressStatus::try_from(e.status)
                .unwrap_or(proto::EgressStatus::EgressFailed),
            started_ns: if e.started_at > 0 {
                e.started_at
            } else {
                e.updated_at
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that lists the same room and the same egress twice.
    struct Repeating;

    impl LiveKit for Repeating {
        async fn list_rooms(&self, _: &[String]) -> Result<Vec<wire::Room>, ApiError> {
            let room = wire::Room {
                name: "r1".into(),
                sid: "RM_1".into(),
                ..Default::default()
            };
            Ok(vec![room.clone(), room])
        }
        async fn list_participants(
            &self,
            _: &str,
        ) -> Result<Vec<proto::ParticipantInfo>, ApiError> {
            Ok(vec![proto::ParticipantInfo {
                identity: "alice".into(),
                ..Default::default()
            }])
        }
        async fn list_active_egress(&self) -> Result<Vec<wire::Egress>, ApiError> {
            let egress = wire::Egress {
                egress_id: "EG_1".into(),
                room_name: "r1".into(),
                ..Default::default()
            };
            Ok(vec![egress.clone(), egress])
        }
        async fn stop_egress(&self, _: &str) -> Result<(), ApiError> {
            unreachable!("the inventory is read-only")
        }
        async fn delete_room(&self, _: &str) -> Result<(), ApiError> {
            unreachable!("the inventory is read-only")
        }
        async fn list_ingress(&self, _: &str) -> Result<Vec<wire::Ingress>, ApiError> {
            let ingress = wire::Ingress {
                ingress_id: "IN_1".into(),
                room_name: "r1".into(),
                ..Default::default()
            };
            Ok(vec![ingress.clone(), ingress])
        }
        async fn disable_ingress(&self, _: &str) -> Result<(), ApiError> {
            unreachable!("the inventory is read-only")
        }
        async fn delete_ingress(&self, _: &str) -> Result<(), ApiError> {
            unreachable!("the inventory is read-only")
        }
        async fn get_participant(
            &self,
            _: &str,
            _: &str,
        ) -> Result<proto::ParticipantInfo, ApiError> {
            unreachable!("the inventory lists, it does not get")
        }
        async fn remove_participant(&self, _: &str, _: &str) -> Result<(), ApiError> {
            unreachable!("the inventory is read-only")
        }
    }

    #[test]
    fn impossible_times_have_no_age() {
        let now = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
        let ms = now.timestamp_millis();
        assert_eq!(age_at(ms - 1500, now), Some(Duration::from_millis(1500)));
        assert_eq!(age_at(ms + 60_000, now), Some(Duration::ZERO), "clock skew");
        for impossible in [
            -5_000,
            0,
            1000,
            ms + 3_600_000,
            253_402_300_799_000,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(age_at(impossible, now), None, "{impossible}");
        }
    }

    #[tokio::test]
    async fn a_room_or_egress_listed_twice_is_kept_once() {
        let inventory = fetch(&Repeating, 4, |_| true, |_, _| {}).await.unwrap();
        assert_eq!(inventory.rooms.len(), 1);
        assert_eq!(inventory.egresses.len(), 1);
        assert_eq!(inventory.ingresses.len(), 1);
        assert!(
            matches!(&inventory.rooms[0].participants, Participants::Listed(p) if p.len() == 1)
        );
    }

    #[test]
    fn an_ingress_keeps_what_the_rule_needs_and_names_what_it_does_not_know() {
        use proto::ingress_state::Status;
        let ingress = Ingress::from(wire::Ingress {
            ingress_id: "IN_1".into(),
            input_type: 9,
            room_name: "studio".into(),
            reusable: true,
            state: Some(wire::IngressState {
                status: Status::EndpointBuffering as i32,
                updated_at: 42,
                ..Default::default()
            }),
            enabled: None,
            ..Default::default()
        });
        assert!(ingress.enabled, "absent means enabled");
        assert!(ingress.status.is_live());
        assert_eq!(ingress.since_ns, 42, "updated_at when started_at is 0");
        assert_eq!(ingress.input.label(), "input 9");
        let odd = Ingress::from(wire::Ingress {
            state: Some(wire::IngressState {
                status: 17,
                ..Default::default()
            }),
            input_type: proto::IngressInput::RtmpInput as i32,
            enabled: Some(false),
            ..Default::default()
        });
        assert_eq!(odd.status, IngressStatus::Unknown(17));
        assert!(!odd.status.is_live() && !odd.enabled);
        assert_eq!(
            (odd.status.label().as_str(), odd.input.label().as_str()),
            ("status 17", "RTMP")
        );
        let none = Ingress::from(wire::Ingress::default());
        assert_eq!(none.status, IngressStatus::Known(Status::EndpointInactive));
    }

    #[test]
    fn a_newer_kind_and_the_call_status_reach_the_policy() {
        let p = Participant::from(&proto::ParticipantInfo {
            identity: "+15550100".into(),
            kind: 42,
            attributes: [
                (CALL_STATUS.to_owned(), "hangup".to_owned()),
                ("sip.phoneNumber".to_owned(), "+15550100".to_owned()),
            ]
            .into(),
            ..Default::default()
        });
        assert_eq!(p.kind, Kind::Unknown(42));
        assert_eq!(p.call_status.as_deref(), Some("hangup"));
        let sip = Participant::from(&proto::ParticipantInfo {
            kind: proto::participant_info::Kind::Sip as i32,
            ..Default::default()
        });
        assert_eq!(sip.kind, Kind::Known(ParticipantKind::Sip));
        assert_eq!(sip.call_status, None, "no attribute: none kept");
    }
}
