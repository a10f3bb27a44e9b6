//! Scenario files: what a simulator serves, and what `/_sim/state` and `snapshot` write.
//!
//! Times are relative ("seconds ago"), so a scenario stays valid whenever it is loaded.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

pub use super::ingress::{IngressInput, IngressSpec, IngressStatus};
pub use super::tracks::{TrackKind, TrackSource, TrackSpec};
use super::twirp::{Method, TwirpCode};

/// A whole simulated deployment: credentials, rooms, egresses and scripted trouble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The API key the simulator accepts (the only one).
    #[serde(default = "default_key")]
    pub key: String,
    /// The secret for `key`.
    #[serde(default = "default_secret")]
    pub secret: String,
    /// With N > 0, ListEgress returns pages of N items and a `next_page_token`, as LiveKit
    /// Cloud does; 0 returns everything, as the open-source server does.
    #[serde(default)]
    pub egress_page_size: u32,
    /// Delay before every API call is answered, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// How long an egress worker takes to finish a stopped recording, in milliseconds: the
    /// record stays `EGRESS_ENDING` that long, then is `EGRESS_COMPLETE`. A real LiveKit
    /// Egress v1.8.6 worker takes 4000-4500; 0 (the default) completes it at once.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub egress_ending_ms: u64,
    /// Rooms that exist at the start.
    #[serde(default)]
    pub rooms: Vec<RoomSpec>,
    /// Egress records at the start, of existing rooms or not.
    #[serde(default)]
    pub egresses: Vec<EgressSpec>,
    /// Ingresses at the start. A live one (BUFFERING, PUBLISHING) into a room of the
    /// scenario has its participant (kind INGRESS) in that room.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingresses: Vec<IngressSpec>,
    /// `false`: the server has no ingress service (no Redis), and every Ingress call
    /// answers `internal` "ingress not connected (redis required)".
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub ingress_service: bool,
    /// Errors, delays and garbage replies for the first calls of a method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Changes that happen after a number of calls of a method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventSpec>,
}

/// A room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSpec {
    /// Room name (unique).
    pub name: String,
    /// Seconds since the room was created.
    #[serde(default, deserialize_with = "seconds")]
    pub age_s: u64,
    /// Room metadata (often JSON).
    #[serde(default)]
    pub metadata: String,
    /// Seconds an empty room stays open (LiveKit's default: 300).
    #[serde(default = "default_empty_timeout")]
    pub empty_timeout: u32,
    /// Seconds a room stays open after the last participant left (LiveKit's default: 20).
    #[serde(default = "default_departure_timeout")]
    pub departure_timeout: u32,
    /// Participants present now, in join order.
    #[serde(default)]
    pub participants: Vec<ParticipantSpec>,
    /// The state of the node hosting the room (a sick cluster, livekit#3766).
    #[serde(default, skip_serializing_if = "NodeState::is_live")]
    pub node: NodeState,
}

/// The node hosting a room, as DeleteRoom finds it. Listing is unaffected: LiveKit serves
/// rooms and participants from Redis, so a dead node's rooms and ghosts stay listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    #[default]
    Live,
    /// Killed but still in Redis `nodes`: DeleteRoom answers 503 `unavailable` "no response
    /// from servers" after LiveKit's 3 s wait.
    Dead,
    /// Killed, then dropped from `nodes` by another node's restart: DeleteRoom answers 500
    /// `unknown` "could not find object" at once.
    Removed,
}

impl NodeState {
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
    fn is_live(&self) -> bool {
        *self == NodeState::Live
    }
}

/// A participant in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantSpec {
    /// Identity (unique in its room).
    pub identity: String,
    /// What kind of client this is.
    #[serde(default)]
    pub kind: Kind,
    /// Finer kind information.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kind_details: Vec<KindDetail>,
    /// Seconds since the participant joined.
    #[serde(default, deserialize_with = "seconds")]
    pub joined_s_ago: u64,
    /// Connection state.
    #[serde(default)]
    pub state: ParticipantState,
    /// Hidden from other participants (egress recorders, observers).
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidden: bool,
    /// Number of published tracks.
    #[serde(default)]
    pub tracks: u32,
    /// How many of them are muted (the first ones: microphone, then camera).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub muted_tracks: u32,
    /// The published tracks one by one (type, source, muted, sid), instead of `tracks`
    /// and `muted_tracks`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_list: Vec<TrackSpec>,
    /// Participant attributes, e.g. `{"sip.callStatus": "active"}` as LiveKit's SIP
    /// service sets them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// `ParticipantInfo.Kind`: by name in a scenario, or by number for a kind this version
/// does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Kind {
    /// A regular client, or a bot joined as one.
    #[default]
    Standard,
    /// An ingress stream.
    Ingress,
    /// An egress recorder.
    Egress,
    /// A phone call leg.
    Sip,
    /// An agent.
    Agent,
    /// A connector (WhatsApp, Twilio).
    Connector,
    /// A bridge (RTSP camera).
    Bridge,
    /// A kind a newer server may send (`"kind": 42`): what a snapshot of such a server
    /// holds, so a replay judges it as the reaper judged the real room.
    Other(i32),
}

/// Every named kind, its scenario name and its wire number.
const KINDS: [(Kind, &str, i32); 7] = [
    (Kind::Standard, "STANDARD", 0),
    (Kind::Ingress, "INGRESS", 1),
    (Kind::Egress, "EGRESS", 2),
    (Kind::Sip, "SIP", 3),
    (Kind::Agent, "AGENT", 4),
    (Kind::Connector, "CONNECTOR", 7),
    (Kind::Bridge, "BRIDGE", 8),
];

/// The names, for serde's "expected one of" (a `const`, as it wants them `'static`).
const KIND_NAMES: [&str; KINDS.len()] = {
    let mut names = [""; KINDS.len()];
    let mut i = 0;
    while i < KINDS.len() {
        names[i] = KINDS[i].1;
        i += 1;
    }
    names
};

impl Kind {
    /// The wire number.
    pub fn code(self) -> i32 {
        match self {
            Kind::Other(n) => n,
            named => KINDS.iter().find(|k| k.0 == named).map_or(0, |k| k.2),
        }
    }

    fn name(self) -> Option<&'static str> {
        KINDS.iter().find(|k| k.0 == self).map(|k| k.1)
    }

    /// Agents and egress recorders do not keep a room open; everyone else does.
    pub fn is_dependent(self) -> bool {
        matches!(self, Kind::Agent | Kind::Egress)
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(name) => serializer.serialize_str(name),
            None => serializer.serialize_i32(self.code()),
        }
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Kind;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a participant kind (\"STANDARD\", \"AGENT\", ...) or its number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Kind, E> {
                KINDS
                    .iter()
                    .find(|k| k.1 == v)
                    .map(|k| k.0)
                    .ok_or_else(|| E::unknown_variant(v, &KIND_NAMES))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Kind, E> {
                let n = i32::try_from(v).map_err(|_| E::custom(format!("{v} is not a kind")))?;
                Ok(Kind::Other(n))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Kind, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `ParticipantInfo.KindDetail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(i32)]
pub enum KindDetail {
    /// Agent hosted on LiveKit Cloud.
    CloudAgent = 0,
    /// Forwarded from another room.
    Forwarded = 1,
    /// WhatsApp connector.
    ConnectorWhatsapp = 2,
    /// Twilio connector.
    ConnectorTwilio = 3,
    /// RTSP bridge.
    BridgeRtsp = 4,
    /// A simulated participant (agent testing).
    Simulation = 5,
}

/// `ParticipantInfo.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(i32)]
pub enum ParticipantState {
    /// Signalling connected, no offer yet.
    Joining = 0,
    /// Offer received.
    Joined = 1,
    /// Media connected.
    #[default]
    Active = 2,
    /// Gone, not yet removed.
    Disconnected = 3,
}

/// An egress record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressSpec {
    /// Egress id (unique), e.g. `EG_xxxx`.
    pub egress_id: String,
    /// The room it records; empty for web egress. The room need not exist (an orphan).
    #[serde(default)]
    pub room_name: String,
    /// What it records.
    #[serde(rename = "type", default)]
    pub egress_type: EgressType,
    /// Current status.
    #[serde(default)]
    pub status: EgressStatus,
    /// Seconds since the egress was accepted (`started_at`).
    #[serde(default, deserialize_with = "seconds")]
    pub started_s_ago: u64,
    /// Seconds since it ended (ended statuses only; default: at the simulator's start).
    #[serde(
        default,
        deserialize_with = "optional_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended_s_ago: Option<u64>,
    /// A stale record with no egress worker behind it: StopEgress times out, and the record
    /// outlives its room.
    #[serde(default, skip_serializing_if = "is_false")]
    pub zombie: bool,
    /// The page a web egress records (default: `https://example.invalid/<egress_id>`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The participant a participant egress records.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity: String,
    /// The track a track egress records.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub track_id: String,
}

/// The egress request type, as `lk egress list` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EgressType {
    /// Records a whole room (web template).
    #[default]
    RoomComposite,
    /// Records any web page; has no room.
    Web,
    /// Records one participant.
    Participant,
    /// Records one track.
    Track,
    /// Records an audio and a video track together.
    TrackComposite,
}

/// `EgressStatus`, with its proto names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[repr(i32)]
pub enum EgressStatus {
    /// Accepted, not yet recording.
    #[serde(rename = "EGRESS_STARTING")]
    Starting = 0,
    /// Recording.
    #[default]
    #[serde(rename = "EGRESS_ACTIVE")]
    Active = 1,
    /// Stopping.
    #[serde(rename = "EGRESS_ENDING")]
    Ending = 2,
    /// Ended normally.
    #[serde(rename = "EGRESS_COMPLETE")]
    Complete = 3,
    /// Ended with an error.
    #[serde(rename = "EGRESS_FAILED")]
    Failed = 4,
    /// Stopped before it started.
    #[serde(rename = "EGRESS_ABORTED")]
    Aborted = 5,
    /// Ended by a session limit.
    #[serde(rename = "EGRESS_LIMIT_REACHED")]
    LimitReached = 6,
}

impl EgressStatus {
    /// STARTING, ACTIVE and ENDING: what `ListEgress` with `active=true` keeps.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            EgressStatus::Starting | EgressStatus::Active | EgressStatus::Ending
        )
    }

    /// The proto name, e.g. `EGRESS_COMPLETE`.
    pub fn proto_name(self) -> &'static str {
        match self {
            EgressStatus::Starting => "EGRESS_STARTING",
            EgressStatus::Active => "EGRESS_ACTIVE",
            EgressStatus::Ending => "EGRESS_ENDING",
            EgressStatus::Complete => "EGRESS_COMPLETE",
            EgressStatus::Failed => "EGRESS_FAILED",
            EgressStatus::Aborted => "EGRESS_ABORTED",
            EgressStatus::LimitReached => "EGRESS_LIMIT_REACHED",
        }
    }
}

/// Trouble for the first calls of a method. Faults of one method apply in turn: the first
/// takes that method's first `times` calls, the next the calls after those.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// The method it hits.
    pub method: Method,
    /// HTTP status of the error reply (default: the code's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Twirp error code to answer with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<TwirpCode>,
    /// Message of that error (default: "simulated <method> fault").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// Wait this long first, in milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
    /// Answer 200 with a body that is neither protobuf nor JSON.
    #[serde(default, skip_serializing_if = "is_false")]
    pub garbage: bool,
    /// How many calls it hits.
    #[serde(default = "one")]
    pub times: u32,
}

/// A change that happens right after the `calls`-th call of a method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// When it happens.
    pub after: Trigger,
    /// A participant joins a room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<JoinSpec>,
    /// A room closes (its room-bound egresses end), as if LiveKit closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_room: Option<String>,
    /// A room is created (by CreateRoom or a client joining), e.g. again after it closed;
    /// nothing changes if it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_room: Option<RoomSpec>,
    /// A participant mutes every track it publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<Who>,
    /// A participant unmutes every track it publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmute: Option<Who>,
}

/// One participant of one room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Who {
    /// The room (must be in the scenario).
    pub room: String,
    /// The participant's identity.
    pub identity: String,
}

/// "After the Nth call of this method".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The method counted.
    pub method: Method,
    /// The call after which the event happens (1 = right after the first call).
    pub calls: u64,
}

/// A participant joining a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinSpec {
    /// The room (must be in the scenario).
    pub room: String,
    /// The participant's identity.
    pub identity: String,
    /// Its kind.
    #[serde(default)]
    pub kind: Kind,
    /// Its attributes, e.g. a phone leg's `{"sip.callStatus": "active"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

fn default_key() -> String {
    "devkey".to_owned()
}

fn default_secret() -> String {
    "secret".to_owned()
}

fn default_empty_timeout() -> u32 {
    300
}

fn default_departure_timeout() -> u32 {
    20
}

fn one() -> u32 {
    1
}

pub(super) fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
pub(super) fn is_true(value: &bool) -> bool {
    *value
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
pub(super) fn is_false(value: &bool) -> bool {
    !*value
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = i64::deserialize(deserializer)?;
    u64::try_from(value).map_err(|_| {
        serde::de::Error::custom(format!("must be a number of seconds >= 0, not {value}"))
    })
}

fn optional_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    seconds(deserializer).map(Some)
}

/// A scenario file's size limit: 10,000 rooms with participants and egresses take about 6.5 MiB.
const MAX_SCENARIO_FILE: u64 = 64 << 20;

impl Scenario {
    /// Reads and checks a scenario file; any problem is a usage error (exit 2) naming the
    /// file, the place and the reason.
    pub fn from_file(path: &Path) -> anyhow::Result<Scenario> {
        let origin = path.display();
        let text = crate::files::read_small(path, MAX_SCENARIO_FILE, "the scenario file")?;
        Scenario::parse(&text)
            .map_err(|reason| crate::error::usage(format!("scenario {origin}: {reason}")))
    }

    /// Parses and checks scenario JSON; the error names the place and the reason.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let scenario: Scenario = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                e.into_inner().to_string()
            } else {
                format!("{path}: {}", e.into_inner())
            }
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks what the types cannot: unique names and ids, coherent faults and events.
    pub fn validate(&self) -> Result<(), String> {
        if self.key.is_empty() || self.secret.is_empty() {
            return Err("key, secret: must not be empty".to_owned());
        }
        self.validate_rooms()?;
        self.validate_egresses()?;
        self.validate_ingresses()?;
        self.faults
            .iter()
            .enumerate()
            .try_for_each(|(i, fault)| fault.validate().map_err(|e| format!("faults[{i}].{e}")))?;
        self.validate_events()
    }

    fn validate_rooms(&self) -> Result<(), String> {
        let mut first_at: HashMap<&str, usize> = HashMap::new();
        for (i, room) in self.rooms.iter().enumerate() {
            room.validate().map_err(|e| format!("rooms[{i}].{e}"))?;
            if let Some(first) = first_at.insert(&room.name, i) {
                return Err(format!(
                    "rooms[{i}].name: duplicate room name {:?} (also rooms[{first}])",
                    room.name
                ));
            }
        }
        Ok(())
    }

    fn validate_ingresses(&self) -> Result<(), String> {
        let mut ids = HashSet::new();
        for (i, ingress) in self.ingresses.iter().enumerate() {
            if ingress.ingress_id.is_empty() || !ids.insert(&ingress.ingress_id) {
                return Err(format!(
                    "ingresses[{i}].ingress_id: empty or duplicate ingress id {:?}",
                    ingress.ingress_id
                ));
            }
        }
        Ok(())
    }

    fn validate_egresses(&self) -> Result<(), String> {
        let mut ids = HashSet::new();
        for (i, egress) in self.egresses.iter().enumerate() {
            if egress.egress_id.is_empty() || !ids.insert(&egress.egress_id) {
                return Err(format!(
                    "egresses[{i}].egress_id: empty or duplicate egress id {:?}",
                    egress.egress_id
                ));
            }
            let is_web = egress.egress_type == EgressType::Web;
            if is_web != egress.room_name.is_empty() {
                return Err(format!(
                    "egresses[{i}].room_name: web egress has no room, every other type has one"
                ));
            }
            if let Some(field) = egress.misplaced_detail() {
                return Err(format!(
                    "egresses[{i}].{field}: not a field of a {} egress",
                    serde_json::to_value(egress.egress_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ));
            }
            if egress.ended_s_ago.is_some() && egress.status.is_active() {
                return Err(format!(
                    "egresses[{i}].ended_s_ago: only for an ended status, not {}",
                    egress.status.proto_name()
                ));
            }
        }
        Ok(())
    }

    fn validate_events(&self) -> Result<(), String> {
        // A room an event creates may be joined or deleted by another event.
        let rooms: HashSet<&str> = self
            .rooms
            .iter()
            .chain(self.events.iter().filter_map(|e| e.create_room.as_ref()))
            .map(|r| r.name.as_str())
            .collect();
        for (i, event) in self.events.iter().enumerate() {
            if event.after.calls == 0 {
                return Err(format!("events[{i}].after.calls: must be 1 or more"));
            }
            let rooms_named = [
                event.join.as_ref().map(|j| &j.room),
                event.delete_room.as_ref(),
                event.mute.as_ref().map(|w| &w.room),
                event.unmute.as_ref().map(|w| &w.room),
            ];
            let named: Vec<&String> = rooms_named.into_iter().flatten().collect();
            let room = match (named.as_slice(), &event.create_room) {
                ([room], None) => *room,
                ([], Some(spec)) => {
                    spec.validate()
                        .map_err(|e| format!("events[{i}].create_room.{e}"))?;
                    continue;
                }
                _ => {
                    return Err(format!(
                        "events[{i}]: needs exactly one of join, delete_room, create_room, mute, unmute"
                    ));
                }
            };
            if !rooms.contains(room.as_str()) {
                return Err(format!("events[{i}]: room {room:?} is not in the scenario"));
            }
        }
        Ok(())
    }
}

impl RoomSpec {
    /// A name, and unique non-empty identities; the error starts with the field.
    fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err("name: must not be empty".to_owned());
        }
        let mut identities = HashSet::new();
        for (j, participant) in self.participants.iter().enumerate() {
            if participant.identity.is_empty() || !identities.insert(&participant.identity) {
                return Err(format!(
                    "participants[{j}].identity: empty or duplicate identity {:?}",
                    participant.identity
                ));
            }
            if let Kind::Other(n) = participant.kind
                && let Some((_, name, _)) = KINDS.iter().find(|k| k.2 == n)
            {
                return Err(format!(
                    "participants[{j}].kind: {n} is \"{name}\"; give it by name"
                ));
            }
            super::tracks::validate(
                &participant.track_list,
                participant.tracks,
                participant.muted_tracks,
            )
            .map_err(|e| format!("participants[{j}].{e}"))?;
        }
        Ok(())
    }
}

impl EgressSpec {
    /// The request detail set on an egress type that has no such field, if any.
    fn misplaced_detail(&self) -> Option<&'static str> {
        let t = self.egress_type;
        [
            ("url", &self.url, EgressType::Web),
            ("identity", &self.identity, EgressType::Participant),
            ("track_id", &self.track_id, EgressType::Track),
        ]
        .into_iter()
        .find(|(_, value, owner)| !value.is_empty() && *owner != t)
        .map(|(field, _, _)| field)
    }
}

impl FaultSpec {
    fn validate(&self) -> Result<(), String> {
        if self.times == 0 {
            return Err("times: must be 1 or more".to_owned());
        }
        if self.garbage && self.code.is_some() {
            return Err("garbage: a fault answers garbage or an error, not both".to_owned());
        }
        if (self.status.is_some() || self.msg.is_some()) && self.code.is_none() {
            return Err("code: status and msg need a code (e.g. \"unavailable\")".to_owned());
        }
        if self.status.is_some_and(|s| !(400..=599).contains(&s)) {
            return Err("status: must be an HTTP error status (400-599)".to_owned());
        }
        if self.code.is_none() && !self.garbage && self.delay_ms == 0 {
            return Err(
                "method: the fault does nothing; give a code, delay_ms or garbage".to_owned(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../tests/integration/scenarios/basic.json");

    #[test]
    fn sample_loads_with_defaults() {
        let scenario = Scenario::parse(SAMPLE).unwrap();
        assert_eq!(scenario.rooms.len(), 5);
        let standup = &scenario.rooms[0];
        assert_eq!(standup.participants[1].kind, Kind::Agent);
        let camera = &scenario.rooms[4];
        assert_eq!(camera.empty_timeout, 300);
        assert_eq!(
            camera.participants[0].kind_details,
            [KindDetail::BridgeRtsp]
        );
        assert_eq!(scenario.egresses[1].egress_type, EgressType::Web);
    }

    #[test]
    fn serialization_round_trips() {
        let scenario = Scenario::parse(SAMPLE).unwrap();
        let text = serde_json::to_string(&scenario).unwrap();
        assert_eq!(Scenario::parse(&text).unwrap(), scenario);
    }

    fn error_of(text: &str) -> String {
        Scenario::parse(text).unwrap_err()
    }

    #[test]
    fn type_errors_name_the_json_path_and_position() {
        let err = error_of(
            r#"{"rooms": [{"name": "a", "participants": [{"identity": "x", "kind": "ROBOT"}]}]}"#,
        );
        assert!(
            err.starts_with("rooms[0].participants[0].kind: unknown variant `ROBOT`"),
            "{err}"
        );
        assert!(err.contains("line 1 column"), "{err}");
        let err = error_of(r#"{"rooms": [{"name": "a", "age_s": -5}]}"#);
        assert!(
            err.starts_with("rooms[0].age_s: must be a number of seconds >= 0, not -5"),
            "{err}"
        );
        let err = error_of(r#"{"rooms": [], "colour": 1}"#);
        assert!(err.contains("unknown field `colour`"), "{err}");
        let err = error_of("{\"rooms\": [\n");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_kind_is_a_name_or_an_unknown_number() {
        let room = |kind: &str| {
            format!(
                r#"{{"rooms": [{{"name": "a", "participants": [{{"identity": "p", "kind": {kind}}}]}}]}}"#
            )
        };
        let parsed = Scenario::parse(&room("42")).unwrap();
        assert_eq!(parsed.rooms[0].participants[0].kind, Kind::Other(42));
        assert_eq!(Kind::Other(42).code(), 42);
        assert_eq!(
            error_of(&room("3")),
            r#"rooms[0].participants[0].kind: 3 is "SIP"; give it by name"#
        );
        let parsed = Scenario::parse(&room(r#""SIP""#)).unwrap();
        assert_eq!(parsed.rooms[0].participants[0].kind.code(), 3);
    }

    #[test]
    fn semantic_errors_name_the_place() {
        let err = error_of(r#"{"rooms": [{"name": "a"}, {"name": "a"}]}"#);
        assert_eq!(
            err,
            r#"rooms[1].name: duplicate room name "a" (also rooms[0])"#
        );
        let err =
            error_of(r#"{"egresses": [{"egress_id": "E"}, {"egress_id": "E", "type": "web"}]}"#);
        assert!(err.starts_with("egresses[0].room_name"), "{err}");
        let err = error_of(
            r#"{"egresses": [{"egress_id": "E", "type": "web"}, {"egress_id": "E", "type": "web"}]}"#,
        );
        assert!(
            err.starts_with("egresses[1].egress_id: empty or duplicate"),
            "{err}"
        );
        let err =
            error_of(r#"{"egresses": [{"egress_id": "E", "room_name": "r", "url": "http://x"}]}"#);
        assert_eq!(
            err,
            "egresses[0].url: not a field of a room_composite egress"
        );
        let err = error_of(r#"{"faults": [{"method": "ListRooms", "status": 503}]}"#);
        assert!(
            err.starts_with("faults[0].code: status and msg need a code"),
            "{err}"
        );
        let err = error_of(r#"{"faults": [{"method": "CreateRoom", "code": "internal"}]}"#);
        assert!(
            err.starts_with("faults[0].method: unknown variant `CreateRoom`"),
            "{err}"
        );
        let err = error_of(
            r#"{"events": [{"after": {"method": "ListRooms", "calls": 1}, "delete_room": "nope"}]}"#,
        );
        assert_eq!(err, r#"events[0]: room "nope" is not in the scenario"#);
        let err = error_of(
            r#"{"events": [{"after": {"method": "ListRooms", "calls": 1}, "create_room": {"name": ""}}]}"#,
        );
        assert_eq!(err, "events[0].create_room.name: must not be empty");
        let err = error_of(
            r#"{"events": [{"after": {"method": "ListRooms", "calls": 1}, "create_room": {"name": "r"}, "delete_room": "r"}]}"#,
        );
        assert_eq!(
            err,
            "events[0]: needs exactly one of join, delete_room, create_room, mute, unmute"
        );
        // A room an event creates can be joined by a later event.
        Scenario::parse(
            r#"{"events": [{"after": {"method": "ListRooms", "calls": 1}, "create_room": {"name": "r"}},
                           {"after": {"method": "ListRooms", "calls": 2}, "join": {"room": "r", "identity": "a"}}]}"#,
        )
        .unwrap();
    }
}
