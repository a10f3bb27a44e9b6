//! What the server has right now: rooms, their participants, active egresses. Read-only.
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
    pub tracks: u32,
    /// Of those, the muted ones: a human whose every track is muted is silent.
    pub muted_tracks: u32,
    /// The `sip.callStatus` attribute, the only attribute the rules read.
    pub call_status: Option<String>,
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

/// Everything one run looked at.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    pub taken_at: DateTime<Utc>,
    pub rooms: Vec<Room>,
    pub egresses: Vec<Egress>,
    /// Why egress could not be checked (e.g. a server without Redis), if so.
    pub egress_unchecked: Option<String>,
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
    let (rooms, egresses) = tokio::join!(lk.list_rooms(&[]), lk.list_active_egress());
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
        // A server without an egress service (single node, no Redis) answers `internal`;
        // rooms can still be swept. Any other failure leaves the inventory incomplete.
        Err(err) if err.code() == Some(crate::livekit::error::code::INTERNAL) => {
            (Vec::new(), Some(format!("egress was not checked: {err}")))
        }
        Err(err) => return Err(err).context("could not list egresses"),
    };

    let wanted: Vec<usize> = (0..rooms.len())
        .filter(|&i| wants_participants(&rooms[i]))
        .collect();
    let total = wanted.len();
    // Each answer is reduced to `Participants` as it arrives: holding the server's
    // `ParticipantInfo`s (tracks, codecs, attributes) until the last list came back made
    // them most of a 10,000-room sweep's peak memory.
    let mut lists = futures::stream::iter(wanted)
        .map(|i| {
            let name = &rooms[i].name;
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
    Ok(Inventory {
        taken_at,
        rooms,
        egresses,
        egress_unchecked,
        dead_nodes: HashMap::new(),
    })
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
            tracks: u32::try_from(p.tracks.len()).unwrap_or(u32::MAX),
            muted_tracks: u32::try_from(p.tracks.iter().filter(|t| t.muted).count())
                .unwrap_or(u32::MAX),
            call_status: p.attributes.get(CALL_STATUS).cloned(),
        }
    }
}

impl Participant {
    /// Publishes nothing, or only muted tracks (an unmuted screen share is activity).
    pub fn is_silent(&self) -> bool {
        self.muted_tracks >= self.tracks
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
        assert!(
            matches!(&inventory.rooms[0].participants, Participants::Listed(p) if p.len() == 1)
        );
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
