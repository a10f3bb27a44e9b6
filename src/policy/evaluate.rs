//! The verdicts: a pure function of (policy, inventory, memory, now), which also returns
//! the new memory.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::human::{Doubt, Headcount};
use super::{InScope, Policy, Rules, human_duration};
use crate::cli::{HumanlessMode, SilentMode};
use crate::cluster::DeadNode;
use crate::inventory::{Egress, Ingress, Inventory, Participant, Participants, Room};
use crate::memory::{self, Look, Memory};
use crate::words::count;

/// A rule of SPEC.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Humanless,
    MaxRoomAge,
    MaxEgressAge,
    OrphanEgress,
    /// The room's node is gone (`--redis-url`): LiveKit cannot delete it.
    ZombieRoom,
    /// An ingress still publishes into a room with no human: its encoder brings the room
    /// back when it is deleted.
    ForgottenIngress,
    /// Every human in the room has been silent for `--silent-after`.
    Silent,
    /// A human has been connected longer than `--max-session`.
    MaxSession,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Humanless => "humanless",
            Self::MaxRoomAge => "max_room_age",
            Self::MaxEgressAge => "max_egress_age",
            Self::OrphanEgress => "orphan_egress",
            Self::ZombieRoom => "zombie_room",
            Self::ForgottenIngress => "forgotten_ingress",
            Self::Silent => "silent",
            Self::MaxSession => "max_session",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Room,
    Egress,
    Ingress,
    /// A participant of the room (`max_session`).
    Participant,
}

/// The one mutation a finding asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    DeleteRoom,
    StopEgress,
    /// Remove a zombie room's records from LiveKit's Redis (`--purge-zombies`).
    PurgeRoom,
    /// UpdateIngress `enabled: false`: its session ends, reconnects are refused.
    DisableIngress,
    /// DeleteIngress.
    DeleteIngress,
    /// RemoveParticipant (`max_session`).
    RemoveParticipant,
}

impl Action {
    /// Every action, for metrics that show each one, at 0 too.
    pub const ALL: [Self; 6] = [
        Self::DeleteRoom,
        Self::StopEgress,
        Self::PurgeRoom,
        Self::DisableIngress,
        Self::DeleteIngress,
        Self::RemoveParticipant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeleteRoom => "delete_room",
            Self::StopEgress => "stop_egress",
            Self::PurgeRoom => "purge_room",
            Self::DisableIngress => "disable_ingress",
            Self::DeleteIngress => "delete_ingress",
            Self::RemoveParticipant => "remove_participant",
        }
    }
}

/// What must still hold right before acting, or the action is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recheck {
    None,
    /// Only `humanless` asked for it: the room must still have no human, by the room's
    /// human test.
    NoHuman {
        sip_ring_limit: Duration,
    },
    /// Only `orphan_egress` asked for it: the room must still be gone.
    RoomGone,
    /// Only `silent` asked for it: no human may have an unmuted track now.
    StillSilent {
        sip_ring_limit: Duration,
    },
    /// `max_session`: GetParticipant shows the same sid, still connected longer than this.
    SessionOver {
        max_session: Duration,
    },
}

impl Recheck {
    /// Whether it lists the room's participants (a room's job does that once for all).
    pub fn lists_participants(self) -> bool {
        matches!(self, Self::NoHuman { .. } | Self::StillSilent { .. })
    }
}

/// One offending target and the action it gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Every rule it broke, in a fixed order.
    pub rules: Vec<Rule>,
    pub target: Target,
    /// The room's name (empty for web egress).
    pub room: String,
    pub room_sid: Option<String>,
    pub egress_id: Option<String>,
    pub age: Duration,
    /// Humans present in the room, when known.
    pub humans: Option<u32>,
    /// Non-human participants present, when known.
    pub others: Option<u32>,
    pub reason: String,
    pub action: Action,
    pub recheck: Recheck,
    /// For a `zombie_room`: its node as seen, which the purge re-checks.
    pub dead_node: Option<DeadNode>,
    /// Why nothing is done about it this run (its room's metadata override is invalid):
    /// reported `skipped`, never planned.
    pub held: Option<String>,
    /// For a `forgotten_ingress`: the ingress.
    pub ingress: Option<IngressTarget>,
    /// For `remove_participant`: the participant's identity and sid as seen.
    pub participant: Option<Session>,
}

/// The ingress a `forgotten_ingress` finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressTarget {
    pub ingress_id: String,
    /// Why nothing is done to it (`--ingress report`, an ingress LiveKit cannot disable),
    /// if so: it is reported with result `skipped` and takes no part in the plan.
    pub skip: Option<String>,
}

/// A participant's connection, as `max_session` judged it (a rejoin gets a new sid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub identity: String,
    pub sid: String,
}

impl Finding {
    /// Whether it comes from its room's verdict (`humanless`, `max_room_age`,
    /// `forgotten_ingress`): such work runs in the room's job, ingresses first, egress
    /// stops before the deletion.
    pub fn is_room_level(&self) -> bool {
        self.rules.iter().any(|r| {
            matches!(
                r,
                Rule::Humanless
                    | Rule::MaxRoomAge
                    | Rule::ForgottenIngress
                    | Rule::Silent
                    | Rule::MaxSession
            )
        })
    }

    /// Why it is only reported, when it is: its room's metadata override is invalid, or
    /// `--ingress report`, or an ingress LiveKit cannot disable.
    pub fn report_only(&self) -> Option<&str> {
        let ingress = self.ingress.as_ref().and_then(|i| i.skip.as_deref());
        self.held.as_deref().or(ingress)
    }
}

/// A room or egress verdict, for the read-only views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Healthy,
    /// Protected by `--exclude-room`.
    Excluded,
    /// Protected by policy or metadata.
    Exempt,
    /// Its participants could not be listed, its creation time is impossible or its name
    /// is empty: no rule acts on it.
    Unjudged,
    /// Broke these rules; `None` when there is nothing to act on (humanless with
    /// `stop-egress` and no egress).
    Offends(Vec<Rule>, Option<Action>),
}

/// One row of `lk-reaper rooms`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomView {
    pub name: String,
    pub sid: String,
    /// `None` when the server's creation time is impossible.
    pub age: Option<Duration>,
    pub humans: Option<u32>,
    /// Of the humans, those publishing nothing or only muted tracks, when listed and the
    /// room's `silent` rule is on.
    pub silent: Option<u32>,
    /// How long every human has been silent, by the memory, when known.
    pub silent_for: Option<Duration>,
    pub others: Option<u32>,
    pub egresses: usize,
    /// Ingresses BUFFERING or PUBLISHING into it: encoders that keep it alive.
    pub live_ingresses: u32,
    pub policy: String,
    pub verdict: Verdict,
    /// Why it offends, as a sweep would report it.
    pub reason: Option<String>,
}

/// One row of `lk-reaper egress`.
#[derive(Debug, Clone, PartialEq)]
pub struct EgressView {
    pub egress_id: String,
    pub room: String,
    pub kind: &'static str,
    pub status: &'static str,
    /// `None` when the server's start time is impossible.
    pub age: Option<Duration>,
    pub verdict: Verdict,
}

/// One row of `lk-reaper ingress`.
#[derive(Debug, Clone, PartialEq)]
pub struct IngressView {
    pub ingress_id: String,
    /// `RTMP`, `WHIP`, `URL`, or `input N` for a newer type.
    pub input: String,
    pub room: String,
    /// `ENDPOINT_PUBLISHING`, ..., or `status N` for a newer status.
    pub status: String,
    /// Time in its current state; `None` when unknown.
    pub since: Option<Duration>,
    pub enabled: bool,
    pub verdict: Verdict,
}

/// Everything evaluation produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub rooms: Vec<RoomView>,
    pub egresses: Vec<EgressView>,
    pub ingresses: Vec<IngressView>,
    /// Oldest first.
    pub findings: Vec<Finding>,
    /// What kept rooms or egresses from being judged, one line per cause.
    pub warnings: Vec<String>,
    /// Rooms in scope that no rule could judge.
    pub unjudged_rooms: usize,
    /// Participants counted as human only because this version could not tell: the first
    /// of each kind of doubt, so a fleet of them warns once.
    pub doubts: Vec<Doubtful>,
}

/// A participant counted as human because this version does not understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doubtful {
    pub room: String,
    pub identity: String,
    pub doubt: Doubt,
}

impl std::fmt::Display for Doubtful {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "participant '{}' in room '{}' {}, which this version does not know: counted as human",
            self.identity, self.room, self.doubt
        )
    }
}

/// A room's judgement, carried over to its egresses.
struct RoomJudgement {
    rules: Vec<Rule>,
    reason: String,
    humans: Option<u32>,
    others: Option<u32>,
}

/// Judges every room and egress in scope at `now`, with a view of each (`rooms`, `egress`).
pub fn evaluate(policy: &Policy, inventory: &Inventory, now: DateTime<Utc>) -> Evaluation {
    judge(policy, inventory, None, now, true).0
}

/// The same verdicts without the views, as a sweep needs them: at 100,000 rooms the views
/// alone would weigh about 25 MB.
pub fn findings(policy: &Policy, inventory: &Inventory, now: DateTime<Utc>) -> Evaluation {
    judge(policy, inventory, None, now, false).0
}

/// The verdicts by what lk-reaper remembers (`--state`, serve), and the memory after this
/// look: rooms the inventory no longer lists are dropped, a room whose participants were
/// not listed keeps its entry. `views` as [`evaluate`]; without them as [`findings`].
pub fn remembering(
    policy: &Policy,
    inventory: &Inventory,
    memory: &Memory,
    now: DateTime<Utc>,
    views: bool,
) -> (Evaluation, Memory) {
    let (evaluation, next) = judge(policy, inventory, Some(memory), now, views);
    (evaluation, next.unwrap_or_default())
}

fn judge(
    policy: &Policy,
    inventory: &Inventory,
    memory: Option<&Memory>,
    now: DateTime<Utc>,
    views: bool,
) -> (Evaluation, Option<Memory>) {
    let rooms_by_name: HashMap<&str, &Room> = inventory
        .rooms
        .iter()
        .map(|r| (r.name.as_str(), r))
        .collect();
    let mut out = Evaluation::default();
    let mut next = memory.map(|_| Memory::default());
    let judged = judge_rooms(policy, inventory, (memory, &mut next), now, views, &mut out);

    // Every listed egress is shown; only a running one (not already ENDING) is judged.
    for egress in &inventory.egresses {
        let scope = policy.scope.classify(&egress.room_name);
        if scope == InScope::No {
            continue;
        }
        let room = rooms_by_name.get(egress.room_name.as_str()).copied();
        let rules = policy
            .resolve(&egress.room_name, room.map_or("", |r| r.metadata.as_str()))
            .rules;
        let age = egress.age(now);
        let verdict = if scope == InScope::Excluded {
            Verdict::Excluded
        } else if !egress.is_running() {
            Verdict::Healthy
        } else if rules.exempt {
            Verdict::Exempt
        } else {
            let finding = judge_egress(
                egress,
                room,
                judged.get(egress.room_name.as_str()),
                &rules,
                age,
            );
            match finding {
                Some(f) => {
                    let verdict = Verdict::Offends(f.rules.clone(), Some(Action::StopEgress));
                    out.findings.push(f);
                    verdict
                }
                None => Verdict::Healthy,
            }
        };
        if !views {
            continue;
        }
        out.egresses.push(EgressView {
            egress_id: egress.egress_id.clone(),
            room: egress.room_name.clone(),
            kind: egress.kind.as_str(),
            status: egress.status.as_str_name(),
            age,
            verdict,
        });
    }
    sort_worst_first(&mut out.findings);
    out.warnings = warnings(policy, inventory, now);
    out.warnings
        .extend(super::ingress::warnings(policy, inventory));
    hold_invalid_overrides(policy, inventory, &mut out);
    if views {
        out.ingresses = super::ingress::views(policy, inventory, &out.findings, now);
    }
    (out, next)
}

/// Fail safe on a room whose metadata override is there but invalid: its owner meant
/// something, so no rule acts on it this run. Its findings are held (reported `skipped`,
/// the reason naming the override), and one warning names the room.
fn hold_invalid_overrides(policy: &Policy, inventory: &Inventory, out: &mut Evaluation) {
    if policy.metadata_key.is_none() {
        return;
    }
    let invalid: HashMap<&str, String> = inventory
        .rooms
        .iter()
        .filter(|r| policy.scope.classify(&r.name) == InScope::Yes)
        .filter_map(|r| {
            let why = policy.resolve(&r.name, &r.metadata).invalid_override?;
            Some((r.name.as_str(), why))
        })
        .collect();
    let held = |why: &String| format!("not acted on: invalid override in room metadata ({why})");
    for finding in &mut out.findings {
        if let Some(why) = invalid.get(finding.room.as_str()) {
            finding.reason = format!("{}; {}", finding.reason, held(why));
            finding.held = Some(held(why));
        }
    }
    for view in &mut out.rooms {
        if let Some(why) = invalid.get(view.name.as_str()) {
            let reason = view.reason.take().map(|r| format!("{r}; "));
            view.reason = Some(format!("{}{}", reason.unwrap_or_default(), held(why)));
        }
    }
    let mut rooms: Vec<(&&str, &String)> = invalid.iter().collect();
    rooms.sort();
    for (room, why) in rooms {
        out.warnings.push(format!(
            "room '{}': invalid lk-reaper override in its metadata ({why}): no rule acts on it this run",
            crate::redact::line(room)
        ));
    }
}

/// One line per cause that kept rooms or egresses in scope from being judged, with a few
/// examples: a broken server may send thousands of them.
fn warnings(policy: &Policy, inventory: &Inventory, now: DateTime<Utc>) -> Vec<String> {
    let in_scope = |name: &str| policy.scope.classify(name) == InScope::Yes;
    let rooms = inventory.rooms.iter().filter(|r| in_scope(&r.name));
    let mut unlisted = Vec::new();
    let mut timeless = Vec::new();
    let mut nameless = 0;
    for room in rooms {
        if room.name.is_empty() {
            nameless += 1;
        } else if room.age(now).is_none() {
            timeless.push(room.name.as_str());
        } else if let Participants::Failed(why) = &room.participants {
            unlisted.push((room.name.as_str(), why.as_str()));
        }
    }
    let egresses = inventory.egresses.iter().filter(|e| e.is_running());
    let startless: Vec<&str> = egresses
        .filter(|e| in_scope(&e.room_name) && e.age(now).is_none())
        .map(|e| e.egress_id.as_str())
        .collect();
    let mut out: Vec<String> = unlisted_warning(inventory, &unlisted).into_iter().collect();
    if !timeless.is_empty() {
        out.push(format!(
            "{} not judged: the server gave an impossible creation time (0, negative or in the future), e.g. {}",
            count(timeless.len(), "room"),
            examples(&timeless)
        ));
    }
    if nameless > 0 {
        out.push(format!(
            "{} with an empty name listed: never acted on",
            count(nameless, "room")
        ));
    }
    if !startless.is_empty() {
        out.push(format!(
            "{} with an impossible start time: max_egress_age and orphan_egress did not judge them, e.g. {}",
            count(startless.len(), "egress"),
            examples(&startless)
        ));
    }
    out
}

/// Rooms whose participants could not be listed, with the first as an example.
fn unlisted_warning(inventory: &Inventory, unlisted: &[(&str, &str)]) -> Option<String> {
    let (room, why) = unlisted.first()?;
    let (tried, _) = inventory.participant_lists();
    let head = if inventory.nothing_judged() {
        format!(
            "no room could be judged (exit 1): the participants of all {tried} rooms could not be listed"
        )
    } else {
        format!(
            "{} of {tried} rooms were not judged: their participants could not be listed",
            unlisted.len()
        )
    };
    Some(format!(
        "{head} (e.g. '{}': {})",
        crate::redact::short(room, 60),
        crate::redact::short(why, 200)
    ))
}

/// Up to three names, quoted, made safe and short.
fn examples(names: &[&str]) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(3)
        .map(|n| format!("'{}'", crate::redact::short(n, 60)))
        .collect();
    shown.join(", ")
}

/// The memory a run judges by, and the one it builds (both `None` without a memory).
type Memories<'m> = (Option<&'m Memory>, &'m mut Option<Memory>);

/// Judges every room in scope into `out` (its view, a deletion finding, doubts) and
/// `memories`' new memory; returns the judgements that the rooms' egresses inherit.
fn judge_rooms<'i>(
    policy: &Policy,
    inventory: &'i Inventory,
    mut memories: Memories<'_>,
    now: DateTime<Utc>,
    views: bool,
    out: &mut Evaluation,
) -> HashMap<&'i str, RoomJudgement> {
    let mut running_by_room: HashMap<&str, usize> = HashMap::new();
    for egress in inventory.egresses.iter().filter(|e| e.is_running()) {
        *running_by_room
            .entry(egress.room_name.as_str())
            .or_default() += 1;
    }
    let live = super::ingress::live_by_room(inventory);
    let mut judged = HashMap::new();
    for room in &inventory.rooms {
        let scope = policy.scope.classify(&room.name);
        if scope == InScope::No {
            // Another scope's run (a shard) may share the memory: its entry stays.
            remember(&mut memories, room, None, now);
            continue;
        }
        let resolved = policy.resolve(&room.name, &room.metadata);
        let dead = inventory.dead_nodes.get(&room.name);
        let purgeable = scope == InScope::Yes && !resolved.rules.exempt && !room.name.is_empty();
        if let Some(dead) = dead.filter(|_| purgeable) {
            let (view, finding) = zombie_room(room, dead, now);
            out.findings.push(finding);
            if views {
                out.rooms.push(RoomView {
                    policy: resolved.source,
                    ..view
                });
            }
            continue;
        }
        let running = running_by_room
            .get(room.name.as_str())
            .copied()
            .unwrap_or(0);
        let ingresses = live.get(room.name.as_str()).map_or(&[][..], Vec::as_slice);
        let facts = (scope, running, ingresses);
        let (view, judgement) = judge_live_room(
            policy,
            room,
            &resolved.rules,
            facts,
            &mut memories,
            now,
            out,
        );
        if let Some(j) = judgement {
            judged.insert(room.name.as_str(), j);
        }
        out.unjudged_rooms += usize::from(view.verdict == Verdict::Unjudged);
        if views {
            out.rooms.push(RoomView {
                policy: resolved.source,
                ..view
            });
        }
    }

    judged
}

/// Judges a room in view that is not a zombie, with its scope and running egresses: notes
/// what the memory must remember, puts its findings into `out`, and returns its view and
/// the judgement its egresses inherit.
fn judge_live_room(
    policy: &Policy,
    room: &Room,
    rules: &Rules,
    (scope, running_egresses, ingresses): (InScope, usize, &[&Ingress]),
    memories: &mut Memories<'_>,
    now: DateTime<Utc>,
    out: &mut Evaluation,
) -> (RoomView, Option<RoomJudgement>) {
    let headcount = headcount_of(policy, room, rules, now);
    if let Some(count) = &headcount {
        note_doubts(&mut out.doubts, room, count);
    }
    let look = headcount.as_ref().map(|c| Look {
        humans: c.humans,
        silent: c.humans > 0 && c.silent == c.humans,
    });
    remember(memories, room, look, now);
    let overstayed = overstayed(policy, room, rules, now);
    let facts = RoomFacts {
        scope,
        running_egresses,
        headcount: headcount.as_ref(),
        removed: overstayed.len() as u32,
        humanless_for: memory::humanless_for(memories.1.as_ref(), &room.sid, now),
        silent_for: memory::silent_for(memories.1.as_ref(), &room.sid, now),
    };
    let (mut view, judgement) = judge_room(room, &facts, rules, now);
    let forgotten = forgotten_ingresses(room, &facts, rules, ingresses, now);
    note_ingresses(&mut view, &forgotten, room.live_ingresses);
    out.findings.extend(forgotten);
    if let Verdict::Offends(broken, _) = &view.verdict
        && broken.contains(&Rule::MaxSession)
    {
        let counts = (view.humans, view.others);
        let removals = overstayed
            .iter()
            .map(|&(p, held)| session_finding(room, p, held, rules, counts));
        out.findings.extend(removals);
    }
    if let (Some(j), Verdict::Offends(_, Some(Action::DeleteRoom))) = (&judgement, &view.verdict) {
        let age = view.age.unwrap_or_default();
        out.findings.push(room_finding(room, j, rules, age));
    }
    (view, judgement)
}

/// Who is in `room` by its human test; `None` when its participants were not listed.
fn headcount_of<'r>(
    policy: &Policy,
    room: &'r Room,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Option<Headcount<'r>> {
    match &room.participants {
        Participants::Listed(list) => Some(
            policy
                .humans
                .at(rules.sip_ring_limit, now.timestamp_millis())
                .headcount(list),
        ),
        Participants::NotListed | Participants::Failed(_) => None,
    }
}

/// Notes in the new memory what a look at `room` showed (`None`: its participants were not
/// listed, so what was remembered stays). Only rooms with a time to remember are kept.
fn remember(memories: &mut Memories<'_>, room: &Room, look: Option<Look>, now: DateTime<Utc>) {
    if let (Some(memory), Some(next)) = (memories.0, memories.1.as_mut()) {
        let seen = memory.after_look(&room.sid, &room.name, look, now);
        if seen.humanless_since.is_some() || seen.silent_since.is_some() {
            next.insert(room.sid.clone(), seen);
        }
    }
}

/// Worst first, so a run cut short by its deadline has ended the longest-running waste. A
/// room's egress stops sit right before its deletion (the order they run in), the group
/// ranked by its oldest member.
fn sort_worst_first(findings: &mut [Finding]) {
    let mut group_age: HashMap<String, Duration> = HashMap::new();
    for f in findings.iter().filter(|f| f.is_room_level()) {
        let age = group_age.entry(f.room.clone()).or_default();
        *age = (*age).max(f.age);
    }
    findings.sort_by_cached_key(|f| {
        let group = if f.is_room_level() {
            group_age[&f.room]
        } else {
            f.age
        };
        (
            std::cmp::Reverse(group),
            f.room.clone(),
            f.target == Target::Room,
            std::cmp::Reverse(f.age),
        )
    });
}

/// Keeps the first participant of each doubt not seen yet.
fn note_doubts(seen: &mut Vec<Doubtful>, room: &Room, count: &Headcount<'_>) {
    for (p, doubt) in &count.doubts {
        if !seen.iter().any(|d| d.doubt == *doubt) {
            seen.push(Doubtful {
                room: room.name.clone(),
                identity: p.identity.clone(),
                doubt: doubt.clone(),
            });
        }
    }
}

/// What a room's verdict depends on besides its rules.
struct RoomFacts<'a> {
    scope: InScope,
    running_egresses: usize,
    /// `None` when its participants were not (or could not be) listed.
    headcount: Option<&'a Headcount<'a>>,
    /// How long it has been without a human by the memory; `None` without a memory.
    humanless_for: Option<Duration>,
    /// How long every human has been silent by the memory; `None` when not known.
    silent_for: Option<Duration>,
    /// Humans `max_session` removes.
    removed: u32,
}

fn judge_room(
    room: &Room,
    facts: &RoomFacts<'_>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> (RoomView, Option<RoomJudgement>) {
    let age = room.age(now);
    let humans = facts.headcount.map(|c| c.humans);
    let others = facts.headcount.map(|c| c.others);
    let mut view = RoomView {
        name: room.name.clone(),
        sid: room.sid.clone(),
        age,
        humans,
        silent: facts
            .headcount
            .filter(|_| rules.silent_after.is_some())
            .map(|c| c.silent),
        silent_for: facts.silent_for,
        others,
        egresses: facts.running_egresses,
        live_ingresses: 0,
        policy: String::new(),
        verdict: Verdict::Healthy,
        reason: None,
    };
    if facts.scope == InScope::Excluded {
        view.verdict = Verdict::Excluded;
        return (view, None);
    }
    if rules.exempt {
        view.verdict = Verdict::Exempt;
        return (view, None);
    }
    // No rule acts on what cannot be named or dated: the server's nonsense is not a reason.
    let Some(age) = age.filter(|_| !room.name.is_empty()) else {
        view.verdict = Verdict::Unjudged;
        return (view, None);
    };
    let humanless_on = rules.humanless != HumanlessMode::Off;
    let (broken, reason) = offences(rules, age, facts);
    if broken.is_empty() {
        if matches!(room.participants, Participants::Failed(_)) && humanless_on {
            view.verdict = Verdict::Unjudged;
        }
        return (view, None);
    }
    let (action, room_rules) = room_action(&broken, rules, facts.running_egresses);
    view.verdict = Verdict::Offends(broken, action);
    view.reason = Some(reason.clone());
    let judgement = RoomJudgement {
        rules: room_rules,
        reason,
        humans,
        others,
    };
    (view, Some(judgement).filter(|j| !j.rules.is_empty()))
}

/// What a room that broke `broken` gets, and the rules that act on the room itself (what
/// its egresses inherit): `max_session` acts on participants.
fn room_action(
    broken: &[Rule],
    rules: &Rules,
    running_egresses: usize,
) -> (Option<Action>, Vec<Rule>) {
    let deletes = broken.contains(&Rule::MaxRoomAge)
        || (broken.contains(&Rule::Humanless) && rules.humanless == HumanlessMode::DeleteRoom)
        || (broken.contains(&Rule::Silent) && rules.silent == SilentMode::DeleteRoom);
    let room_rules: Vec<Rule> = broken
        .iter()
        .copied()
        .filter(|&r| r != Rule::MaxSession)
        .collect();
    let action = if deletes {
        Some(Action::DeleteRoom)
    } else if room_rules.is_empty() {
        Some(Action::RemoveParticipant)
    } else {
        (running_egresses > 0).then_some(Action::StopEgress)
    };
    (action, room_rules)
}

/// Whether a room has had no human for longer than its humanless grace (by the memory when
/// there is one): the one judgement `humanless` and `forgotten_ingress` share.
fn humanless_past_grace(rules: &Rules, age: Duration, facts: &RoomFacts<'_>) -> bool {
    facts.headcount.is_some_and(|c| c.humans == 0)
        && memory::humanless_grace_passed(age, facts.humanless_for, rules.humanless_grace)
}

/// `forgotten_ingress` for a room in scope and not exempt, once its humanless grace is
/// over by the same judgement `humanless` makes (whatever `--humanless` says).
fn forgotten_ingresses(
    room: &Room,
    facts: &RoomFacts<'_>,
    rules: &Rules,
    ingresses: &[&Ingress],
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let Some(count) = facts.headcount.filter(|_| !ingresses.is_empty()) else {
        return Vec::new();
    };
    let Some(age) = room.age(now).filter(|_| !room.name.is_empty()) else {
        return Vec::new();
    };
    if facts.scope != InScope::Yes || rules.exempt || !humanless_past_grace(rules, age, facts) {
        return Vec::new();
    }
    super::ingress::forgotten(room, rules, age, count, ingresses, now)
}

/// `rooms` shows what keeps a room alive: its live ingresses, and `forgotten_ingress` beside
/// the room's own rules when it fires.
fn note_ingresses(view: &mut RoomView, forgotten: &[Finding], live: u32) {
    view.live_ingresses = live;
    if live == 0 {
        return;
    }
    let note = forgotten.first().map_or_else(
        || format!("kept alive by {live} live ingress (its encoder is connected)"),
        |f| f.reason.clone(),
    );
    view.reason = Some(match view.reason.take() {
        Some(reason) => format!("{reason}; {note}"),
        None => note,
    });
    let Some(first) = forgotten.first() else {
        return;
    };
    view.verdict = match std::mem::replace(&mut view.verdict, Verdict::Healthy) {
        Verdict::Offends(mut rules, action) => {
            rules.push(Rule::ForgottenIngress);
            Verdict::Offends(rules, action)
        }
        _ => Verdict::Offends(
            vec![Rule::ForgottenIngress],
            first.report_only().is_none().then_some(first.action),
        ),
    };
}

/// The room rules a room of this age and headcount breaks, and why.
fn offences(rules: &Rules, age: Duration, facts: &RoomFacts<'_>) -> (Vec<Rule>, String) {
    let mut broken = Vec::new();
    let mut reasons = Vec::new();
    let humanless_on = rules.humanless != HumanlessMode::Off;
    if let Some(why) = sessions(rules, facts) {
        broken.push(Rule::MaxSession);
        reasons.push(why);
        // The grace is for humans who may come back; these are removed on purpose.
        if humanless_on && facts.headcount.is_some_and(|c| c.humans == facts.removed) {
            broken.push(Rule::Humanless);
            reasons.push("no human left once they are removed: judged humanless at once".into());
        }
    } else if let Some(count) = facts.headcount
        && humanless_on
        && humanless_past_grace(rules, age, facts)
    {
        let who = if count.others_described.is_empty() {
            "empty"
        } else {
            count.others_described.as_str()
        };
        let grace = human_duration(rules.humanless_grace);
        broken.push(Rule::Humanless);
        reasons.push(match facts.humanless_for {
            None => format!("no human present ({who}); room older than {grace}"),
            Some(d) => format!(
                "no human present ({who}) for {}, by lk-reaper's memory; longer than {grace}",
                human_duration(d.min(age))
            ),
        });
    }
    if let Some(why) = silence(rules, facts) {
        broken.push(Rule::Silent);
        reasons.push(why);
    }
    if let Some(max) = rules.max_room_age.filter(|&max| age > max) {
        broken.push(Rule::MaxRoomAge);
        let (age, max) = super::exceeding(age, max);
        reasons.push(format!("room age {age} exceeds max {max}"));
    }
    (broken, reasons.join("; "))
}

/// Why the room offends `max_session`, if it does.
fn sessions(rules: &Rules, facts: &RoomFacts<'_>) -> Option<String> {
    let max = rules.max_session.filter(|_| facts.removed > 0)?;
    Some(format!(
        "{} human(s) connected longer than max_session {}",
        facts.removed,
        human_duration(max)
    ))
}

/// The humans of `room` connected longer than its `max_session`, and for how long.
fn overstayed<'r>(
    policy: &Policy,
    room: &'r Room,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Vec<(&'r Participant, Duration)> {
    let (Some(max), Participants::Listed(list)) = (rules.max_session, &room.participants) else {
        return Vec::new();
    };
    let test = policy
        .humans
        .at(rules.sip_ring_limit, now.timestamp_millis());
    list.iter()
        .filter(|p| test.is_human(p))
        .filter_map(|p| Some((p, crate::inventory::age_at(p.joined_ms, now)?)))
        .filter(|&(_, held)| held > max)
        .collect()
}

/// The `remove_participant` finding for `p`, connected for `held`.
fn session_finding(
    room: &Room,
    p: &Participant,
    held: Duration,
    rules: &Rules,
    (humans, others): (Option<u32>, Option<u32>),
) -> Finding {
    let max = rules.max_session.unwrap_or_default();
    Finding {
        rules: vec![Rule::MaxSession],
        target: Target::Participant,
        room: room.name.clone(),
        room_sid: Some(room.sid.clone()),
        egress_id: None,
        age: held,
        humans,
        others,
        reason: format!(
            "'{}' connected for {}, longer than max_session {}",
            p.identity,
            human_duration(held),
            human_duration(max)
        ),
        action: Action::RemoveParticipant,
        recheck: Recheck::SessionOver { max_session: max },
        dead_node: None,
        held: None,
        ingress: None,
        participant: Some(Session {
            identity: p.identity.clone(),
            sid: p.sid.clone(),
        }),
    }
}

/// Why the room offends `silent`, if it does: at least one human, every human silent, for
/// longer than `--silent-after` by the memory.
fn silence(rules: &Rules, facts: &RoomFacts<'_>) -> Option<String> {
    let after = rules.silent_after?;
    let count = facts
        .headcount
        .filter(|c| c.humans > 0 && c.silent == c.humans)?;
    let silent_for = facts.silent_for.filter(|&d| d > after)?;
    Some(format!(
        "every human silent ({} publishing nothing or only muted tracks) for {}, by lk-reaper's memory; longer than {}",
        count.humans,
        human_duration(silent_for),
        human_duration(after)
    ))
}

/// A room whose node is gone: one finding, whatever else it breaks. Its participants are
/// ghosts (never human), and its egresses are left to the orphan rule once it is purged.
fn zombie_room(room: &Room, dead: &DeadNode, now: DateTime<Utc>) -> (RoomView, Finding) {
    let age = room.age(now);
    let ghosts = match &room.participants {
        Participants::Listed(list) => Some(list.len() as u32),
        Participants::NotListed | Participants::Failed(_) => None,
    };
    let humans = ghosts.map(|_| 0);
    let ghost_note = match ghosts {
        Some(0) | None => String::new(),
        Some(1) => "; its 1 participant is a ghost".to_owned(),
        Some(n) => format!("; its {n} participants are ghosts"),
    };
    let finding = Finding {
        rules: vec![Rule::ZombieRoom],
        target: Target::Room,
        room: room.name.clone(),
        room_sid: Some(room.sid.clone()),
        egress_id: None,
        age: age.unwrap_or_default(),
        humans,
        others: ghosts,
        reason: format!(
            "zombie room: {} (livekit#3766){ghost_note}",
            dead.describe(now)
        ),
        action: Action::PurgeRoom,
        recheck: Recheck::None,
        dead_node: Some(dead.clone()),
        held: None,
        ingress: None,
        participant: None,
    };
    let view = RoomView {
        name: room.name.clone(),
        sid: room.sid.clone(),
        age,
        humans,
        silent: None,
        silent_for: None,
        others: ghosts,
        egresses: 0,
        live_ingresses: room.live_ingresses,
        policy: String::new(),
        verdict: Verdict::Offends(vec![Rule::ZombieRoom], Some(Action::PurgeRoom)),
        reason: Some(finding.reason.clone()),
    };
    (view, finding)
}

fn room_finding(room: &Room, j: &RoomJudgement, rules: &Rules, age: Duration) -> Finding {
    Finding {
        rules: j.rules.clone(),
        target: Target::Room,
        room: room.name.clone(),
        room_sid: Some(room.sid.clone()),
        egress_id: None,
        age,
        humans: j.humans,
        others: j.others,
        reason: j.reason.clone(),
        action: Action::DeleteRoom,
        recheck: room_recheck(&j.rules, rules),
        dead_node: None,
        held: None,
        ingress: None,
        participant: None,
    }
}

/// The re-check a room's own rules ask for: only when one rule alone backs the action and
/// a participant could undo it.
fn room_recheck(broken: &[Rule], rules: &Rules) -> Recheck {
    let sip_ring_limit = rules.sip_ring_limit;
    match broken {
        [Rule::Humanless] => Recheck::NoHuman { sip_ring_limit },
        [Rule::Silent] => Recheck::StillSilent { sip_ring_limit },
        _ => Recheck::None,
    }
}

fn judge_egress(
    egress: &Egress,
    room: Option<&Room>,
    room_judgement: Option<&RoomJudgement>,
    rules: &Rules,
    age: Option<Duration>,
) -> Option<Finding> {
    let mut own = Vec::new();
    let mut reasons = Vec::new();
    // An egress whose start time is impossible is judged only through its room.
    let (known, age) = (age.is_some(), age.unwrap_or_default());
    if let Some(max) = rules.max_egress_age.filter(|&max| known && age > max) {
        own.push(Rule::MaxEgressAge);
        let (age, max) = super::exceeding(age, max);
        reasons.push(format!("egress running {age} exceeds max {max}"));
    }
    let orphan = !egress.room_name.is_empty() && room.is_none();
    if orphan && rules.orphan_egress && known && age > rules.orphan_grace {
        own.push(Rule::OrphanEgress);
        reasons.push(format!("its room '{}' no longer exists", egress.room_name));
    }
    // A silent room stops only the egresses bound to it: a web egress records a page.
    let inherited: Vec<Rule> = room_judgement
        .map_or(&[][..], |j| j.rules.as_slice())
        .iter()
        .copied()
        .filter(|&r| r != Rule::Silent || egress.kind.is_room_bound())
        .collect();
    if let Some(j) = room_judgement.filter(|_| !inherited.is_empty()) {
        reasons.push(format!("its room offends: {}", j.reason));
    }
    if own.is_empty() && inherited.is_empty() {
        return None;
    }
    let recheck = match own.as_slice() {
        [] => room_recheck(&inherited, rules),
        [Rule::OrphanEgress] if inherited.is_empty() => Recheck::RoomGone,
        _ => Recheck::None,
    };
    let mut all: Vec<Rule> = inherited.iter().chain(&own).copied().collect();
    all.sort();
    all.dedup();
    Some(Finding {
        rules: all,
        target: Target::Egress,
        room: egress.room_name.clone(),
        room_sid: room.map(|r| r.sid.clone()),
        egress_id: Some(egress.egress_id.clone()),
        age,
        humans: room_judgement.and_then(|j| j.humans),
        others: room_judgement.and_then(|j| j.others),
        reason: reasons.join("; "),
        action: Action::StopEgress,
        recheck,
        dead_node: None,
        held: None,
        ingress: None,
        participant: None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::cli::ParticipantKind::{Agent, Bridge, Egress as EgressKindP, Sip, Standard};
    use crate::inventory::{EgressKind, Kind, Participant};
    use crate::livekit::proto::EgressStatus;
    use crate::policy::tests::{globs, participant as p};
    use crate::policy::{Limit, PolicyBlock, RulePatch};

    const NO_HUMAN: Recheck = Recheck::NoHuman {
        sip_ring_limit: Duration::from_secs(300),
    };

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap()
    }

    fn ago_ms(secs: i64) -> i64 {
        now().timestamp_millis() - secs * 1000
    }

    fn room(name: &str, age_s: i64, people: Vec<Participant>) -> Room {
        let counted = people
            .iter()
            .filter(|p| !matches!(p.kind, Kind::Known(Agent | EgressKindP)))
            .count();
        Room {
            name: name.into(),
            sid: format!("RM_{name}"),
            created_ms: ago_ms(age_s),
            metadata: String::new(),
            num_participants: counted as u32,
            live_ingresses: 0,
            empty_timeout: 300,
            departure_timeout: 20,
            participants: Participants::Listed(people),
        }
    }

    fn egress(id: &str, room: &str, started_s_ago: i64) -> Egress {
        Egress {
            egress_id: id.into(),
            room_name: room.into(),
            kind: if room.is_empty() {
                EgressKind::Web
            } else {
                EgressKind::RoomComposite
            },
            status: EgressStatus::EgressActive,
            // Nanoseconds, as LiveKit sends them.
            started_ns: (now().timestamp_millis() - started_s_ago * 1000) * 1_000_000,
        }
    }

    /// shared/scenarios/basic.json as an inventory.
    fn basic() -> Inventory {
        Inventory {
            taken_at: now(),
            rooms: vec![
                room(
                    "standup",
                    1800,
                    vec![p("alice", Standard), p("agent-AJ_1", Agent)],
                ),
                room(
                    "left-running",
                    30_000,
                    vec![p("agent-AJ_2", Agent), p("EG_rec1", EgressKindP)],
                ),
                room("phone-support", 900, vec![p("sip_+15550100", Sip)]),
                room("just-created", 60, vec![]),
                room("camera-feed", 86_400, vec![p("rtsp-lobby", Bridge)]),
            ],
            egresses: vec![
                egress("EG_rec1", "left-running", 29_000),
                egress("EG_web1", "", 90_000),
                egress("EG_orphan", "gone-yesterday", 50_000),
                egress("EG_standup", "standup", 1500),
            ],
            egress_unchecked: None,
            ingresses: Vec::new(),
            ingress_unchecked: None,
            dead_nodes: HashMap::new(),
        }
    }

    fn summary(e: &Evaluation) -> Vec<(String, Vec<Rule>, Action, Recheck)> {
        e.findings
            .iter()
            .map(|f| {
                let target = f
                    .egress_id
                    .clone()
                    .unwrap_or_else(|| format!("room {}", f.room));
                (target, f.rules.clone(), f.action, f.recheck)
            })
            .collect()
    }

    fn row(
        target: &str,
        rules: &[Rule],
        action: Action,
        recheck: Recheck,
    ) -> (String, Vec<Rule>, Action, Recheck) {
        (target.into(), rules.to_vec(), action, recheck)
    }

    #[test]
    fn basic_scenario_gets_its_documented_verdicts() {
        let e = evaluate(&Policy::default(), &basic(), now());
        assert_eq!(
            summary(&e),
            vec![
                row(
                    "room camera-feed",
                    &[Rule::Humanless],
                    Action::DeleteRoom,
                    NO_HUMAN
                ),
                row(
                    "EG_orphan",
                    &[Rule::OrphanEgress],
                    Action::StopEgress,
                    Recheck::RoomGone
                ),
                row("EG_rec1", &[Rule::Humanless], Action::StopEgress, NO_HUMAN),
                row(
                    "room left-running",
                    &[Rule::Humanless],
                    Action::DeleteRoom,
                    NO_HUMAN
                ),
            ]
        );
        let left = e
            .findings
            .iter()
            .find(|f| f.room == "left-running" && f.target == Target::Room)
            .unwrap();
        assert_eq!((left.humans, left.others), (Some(0), Some(2)));
        assert_eq!(
            left.reason,
            "no human present (1 agent, 1 egress); room older than 5m"
        );
        let healthy: Vec<&str> = e
            .rooms
            .iter()
            .filter(|r| r.verdict == Verdict::Healthy)
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(healthy, ["standup", "phone-support", "just-created"]);
    }

    /// The rooms of `basic()` a remembering evaluation deletes, and its new memory.
    fn deleted_remembering(memory: &Memory, at: DateTime<Utc>) -> (Vec<String>, Memory) {
        let inventory = Inventory {
            taken_at: at,
            ..basic()
        };
        let (e, next) = remembering(&Policy::default(), &inventory, memory, at, false);
        let deleted = e
            .findings
            .iter()
            .filter(|f| f.action == Action::DeleteRoom)
            .map(|f| f.room.clone())
            .collect();
        (deleted, next)
    }

    #[test]
    fn with_memory_the_grace_runs_from_the_first_look_without_a_human() {
        let later = |s: i64| now() + chrono::Duration::seconds(s);
        // An empty memory (missing, corrupt) delays: the first look starts the grace.
        let (deleted, first) = deleted_remembering(&Memory::default(), now());
        assert!(deleted.is_empty(), "{deleted:?}");
        assert_eq!(first.len(), 3, "the rooms without a human");
        let since = |m: &Memory, sid: &str| m.get(sid).and_then(|s| s.humanless_since);
        assert_eq!(since(&first, "RM_left-running"), Some(now()));
        assert_eq!(since(&first, "RM_standup"), None, "alice is there");
        // (seconds after the first look, rooms deleted)
        let cases = [
            (299, vec![]),
            // just-created was 60 s old and empty at the first look.
            (301, vec!["camera-feed", "left-running", "just-created"]),
        ];
        for (after, want) in cases {
            let (deleted, next) = deleted_remembering(&first, later(after));
            assert_eq!(deleted, want, "{after} s later");
            assert_eq!(since(&next, "RM_left-running"), Some(now()), "kept");
        }
        // A room no longer listed is dropped; a recreated room (new sid) starts fresh.
        let mut stale = first.clone();
        stale.insert(
            "RM_old".into(),
            crate::memory::Seen {
                room: "camera-feed".into(),
                humanless_since: Some(now() - chrono::Duration::hours(5)),
                silent_since: None,
            },
        );
        let (_, next) = deleted_remembering(&stale, later(1));
        assert!(next.get("RM_old").is_none());
        assert_eq!(next.len(), 3);
    }

    /// A human publishing `tracks`, `muted` of them muted.
    fn publishing(identity: &str, tracks: u32, muted: u32) -> Participant {
        Participant {
            tracks: (0..tracks)
                .map(|n| crate::inventory::Track {
                    muted: n < muted,
                    ..Default::default()
                })
                .collect(),
            ..p(identity, Standard)
        }
    }

    #[test]
    fn a_room_is_silent_when_every_human_publishes_nothing_or_only_muted_tracks() {
        let silent_after = |mode| Policy {
            defaults: Rules {
                silent_after: Some(Duration::from_secs(600)),
                silent: mode,
                // An agent alone is humanless, not silent: kept apart here.
                humanless: HumanlessMode::Off,
                ..Rules::default()
            },
            ..Policy::default()
        };
        // (participants, silent)
        let cases = [
            (vec![publishing("alice", 1, 1)], true),
            (vec![publishing("alice", 0, 0)], true),
            (vec![publishing("alice", 2, 2), p("agent", Agent)], true),
            (vec![publishing("alice", 2, 1)], false),
            (
                vec![publishing("alice", 1, 1), publishing("bob", 1, 0)],
                false,
            ),
            (vec![p("agent", Agent)], false),
        ];
        let later = now() + chrono::Duration::seconds(601);
        for (people, silent) in cases {
            let mut web = egress("EG_web", "", 900);
            web.kind = EgressKind::Web;
            let inventory = Inventory {
                rooms: vec![room("r", 60, people.clone())],
                egresses: vec![egress("EG_rec", "r", 900), web],
                ..basic()
            };
            let policy = silent_after(SilentMode::StopEgress);
            let (first, memory) = remembering(&policy, &inventory, &Memory::default(), now(), true);
            assert!(first.findings.is_empty(), "first look: {people:?}");
            assert_eq!(first.rooms[0].silent_for.is_some(), silent, "{people:?}");
            let (e, _) = remembering(&policy, &inventory, &memory, later, true);
            let want = if silent {
                let still = Recheck::StillSilent {
                    sip_ring_limit: Duration::from_secs(300),
                };
                vec![row("EG_rec", &[Rule::Silent], Action::StopEgress, still)]
            } else {
                vec![]
            };
            assert_eq!(summary(&e), want, "{people:?}");
            if silent {
                assert!(
                    e.findings[0].reason.contains("every human silent"),
                    "{}",
                    e.findings[0].reason
                );
                let policy = silent_after(SilentMode::DeleteRoom);
                let (e, _) = remembering(&policy, &inventory, &memory, later, false);
                let actions: Vec<Action> = e.findings.iter().map(|f| f.action).collect();
                assert_eq!(actions, [Action::StopEgress, Action::DeleteRoom]);
            }
        }
    }

    #[test]
    fn max_session_removes_long_sessions_of_humans_and_a_room_left_empty_goes_at_once() {
        let joined = |identity: &str, kind, hours: i64| Participant {
            joined_ms: ago_ms(hours * 3600),
            ..p(identity, kind)
        };
        let policy = |humanless| Policy {
            defaults: Rules {
                max_session: Some(Duration::from_secs(4 * 3600)),
                humanless,
                ..Rules::default()
            },
            ..Policy::default()
        };
        let over = Recheck::SessionOver {
            max_session: Duration::from_secs(4 * 3600),
        };
        let remove = |who: &str| row(who, &[Rule::MaxSession], Action::RemoveParticipant, over);
        // (participants, humanless mode, findings)
        let cases = [
            (
                vec![
                    joined("alice", Standard, 5),
                    joined("bob", Standard, 1),
                    joined("bot", Agent, 9),
                ],
                HumanlessMode::DeleteRoom,
                vec![remove("alice")],
            ),
            (
                vec![joined("alice", Standard, 5), joined("bot", Agent, 9)],
                HumanlessMode::DeleteRoom,
                vec![
                    remove("alice"),
                    row("EG_r", &[Rule::Humanless], Action::StopEgress, NO_HUMAN),
                    row("room r", &[Rule::Humanless], Action::DeleteRoom, NO_HUMAN),
                ],
            ),
            (
                vec![joined("alice", Standard, 5)],
                HumanlessMode::StopEgress,
                vec![
                    remove("alice"),
                    row("EG_r", &[Rule::Humanless], Action::StopEgress, NO_HUMAN),
                ],
            ),
            (
                vec![joined("alice", Standard, 5)],
                HumanlessMode::Off,
                vec![remove("alice")],
            ),
            (vec![joined("bot", Agent, 9)], HumanlessMode::Off, vec![]),
        ];
        for (people, mode, want) in cases {
            let inventory = Inventory {
                // A young room: the humanless grace has not passed.
                rooms: vec![room("r", 60, people.clone())],
                egresses: vec![egress("EG_r", "r", 50)],
                ..basic()
            };
            let e = evaluate(&policy(mode), &inventory, now());
            let got: Vec<_> = e
                .findings
                .iter()
                .map(|f| {
                    let who = f.participant.as_ref().map(|p| p.identity.clone());
                    let target = who
                        .or_else(|| f.egress_id.clone())
                        .unwrap_or_else(|| format!("room {}", f.room));
                    (target, f.rules.clone(), f.action, f.recheck)
                })
                .collect();
            assert_eq!(got, want, "{people:?} {mode:?}");
        }
    }

    #[test]
    fn egress_age_reads_nanoseconds() {
        let policy = Policy {
            defaults: Rules {
                max_egress_age: Some(Duration::from_secs(3 * 3600)),
                ..Rules::default()
            },
            ..Policy::default()
        };
        let e = evaluate(&policy, &basic(), now());
        let web = e
            .findings
            .iter()
            .find(|f| f.egress_id.as_deref() == Some("EG_web1"))
            .unwrap();
        assert_eq!(web.rules, [Rule::MaxEgressAge]);
        assert_eq!(web.age, Duration::from_secs(90_000));
        assert_eq!(web.recheck, Recheck::None);
        // 1500 s (25 min) is under 3 h: misreading ns as µs or ms would make it ancient or new.
        assert!(
            e.findings
                .iter()
                .all(|f| f.egress_id.as_deref() != Some("EG_standup"))
        );
        let rec = e
            .findings
            .iter()
            .find(|f| f.egress_id.as_deref() == Some("EG_rec1"))
            .unwrap();
        assert_eq!(rec.rules, [Rule::Humanless, Rule::MaxEgressAge]);
        assert_eq!(
            rec.recheck,
            Recheck::None,
            "its own age limit stands without the room"
        );
    }

    #[test]
    fn max_room_age_deletes_even_with_humans_and_carries_every_rule() {
        let policy = Policy {
            defaults: Rules {
                max_room_age: Some(Duration::from_secs(1000)),
                ..Rules::default()
            },
            ..Policy::default()
        };
        let e = evaluate(&policy, &basic(), now());
        let standup = e
            .findings
            .iter()
            .find(|f| f.room == "standup" && f.target == Target::Room)
            .unwrap();
        assert_eq!(standup.rules, [Rule::MaxRoomAge]);
        assert_eq!(standup.recheck, Recheck::None);
        assert_eq!(standup.humans, Some(1));
        let camera = e.findings.iter().find(|f| f.room == "camera-feed").unwrap();
        assert_eq!(camera.rules, [Rule::Humanless, Rule::MaxRoomAge]);
        assert_eq!(camera.recheck, Recheck::None);
    }

    #[test]
    fn stop_egress_mode_keeps_rooms() {
        let policy = Policy {
            defaults: Rules {
                humanless: HumanlessMode::StopEgress,
                ..Rules::default()
            },
            ..Policy::default()
        };
        let e = evaluate(&policy, &basic(), now());
        assert_eq!(
            summary(&e),
            vec![
                row(
                    "EG_orphan",
                    &[Rule::OrphanEgress],
                    Action::StopEgress,
                    Recheck::RoomGone
                ),
                row("EG_rec1", &[Rule::Humanless], Action::StopEgress, NO_HUMAN)
            ]
        );
        let camera = e.rooms.iter().find(|r| r.name == "camera-feed").unwrap();
        assert_eq!(
            camera.verdict,
            Verdict::Offends(vec![Rule::Humanless], None)
        );
    }

    #[test]
    fn scope_exclusion_exemption_and_grace_protect() {
        let mut inv = basic();
        inv.egresses.push(egress("EG_young_orphan", "gone-now", 30));
        inv.rooms[1].metadata = r#"{"reaper": {"exempt": true}}"#.into();
        let policy = Policy {
            scope: crate::policy::Scope {
                exclude: globs(&["camera-*"]),
                ..Default::default()
            },
            metadata_key: Some("reaper".into()),
            ..Policy::default()
        };
        let e = evaluate(&policy, &inv, now());
        assert_eq!(
            summary(&e),
            vec![row(
                "EG_orphan",
                &[Rule::OrphanEgress],
                Action::StopEgress,
                Recheck::RoomGone
            )]
        );
        let verdict = |name: &str| {
            e.rooms
                .iter()
                .find(|r| r.name == name)
                .unwrap()
                .verdict
                .clone()
        };
        assert_eq!(verdict("camera-feed"), Verdict::Excluded);
        assert_eq!(verdict("left-running"), Verdict::Exempt);
        let rec1 = e
            .egresses
            .iter()
            .find(|x| x.egress_id == "EG_rec1")
            .unwrap();
        assert_eq!(
            rec1.verdict,
            Verdict::Exempt,
            "an egress is judged with its room's policy"
        );

        let only_standup = Policy {
            scope: crate::policy::Scope {
                include: Some(globs(&["standup"])),
                ..Default::default()
            },
            ..Policy::default()
        };
        let e = evaluate(&only_standup, &basic(), now());
        assert_eq!(e.rooms.len(), 1);
        assert!(
            e.egresses.iter().all(|x| x.room == "standup"),
            "web and other rooms' egress are out of scope"
        );
    }

    #[test]
    fn a_room_on_a_dead_node_is_one_zombie_finding_with_ghosts_and_its_egress_left_alone() {
        let mut inv = basic();
        let dead = DeadNode {
            id: "ND_b".into(),
            record: None,
            last_seen: None,
        };
        // standup has two people (ghosts now) and an egress; camera-feed is excluded.
        inv.dead_nodes.insert("standup".into(), dead.clone());
        inv.dead_nodes.insert("camera-feed".into(), dead.clone());
        let policy = Policy {
            scope: crate::policy::Scope {
                exclude: globs(&["camera-*"]),
                ..Default::default()
            },
            ..Policy::default()
        };
        let e = evaluate(&policy, &inv, now());
        let standup: Vec<&Finding> = e.findings.iter().filter(|f| f.room == "standup").collect();
        assert_eq!(standup.len(), 1, "{standup:?}");
        let f = standup[0];
        assert_eq!(
            (f.rules.as_slice(), f.action, f.recheck),
            (&[Rule::ZombieRoom][..], Action::PurgeRoom, Recheck::None)
        );
        assert_eq!((f.humans, f.others), (Some(0), Some(2)));
        assert_eq!(f.dead_node.as_ref(), Some(&dead));
        assert_eq!(
            f.reason,
            "zombie room: node ND_b is absent from LiveKit's node list (livekit#3766); its 2 participants are ghosts"
        );
        assert!(
            !e.findings.iter().any(|f| f.room == "camera-feed"),
            "excluded stays excluded"
        );
        let view = e.rooms.iter().find(|r| r.name == "standup").unwrap();
        assert_eq!(
            view.verdict,
            Verdict::Offends(vec![Rule::ZombieRoom], Some(Action::PurgeRoom))
        );
    }

    #[test]
    fn policy_blocks_ending_egress_and_unknown_participants() {
        let mut inv = basic();
        inv.rooms[4].participants = Participants::Failed("timeout".into());
        inv.egresses[0].status = EgressStatus::EgressEnding;
        let policy = Policy {
            blocks: vec![PolicyBlock {
                label: "policy[1] phone-*".into(),
                rooms: globs(&["phone-*"]),
                patch: RulePatch {
                    max_room_age: Some(Limit(Some(Duration::from_secs(600)))),
                    ..Default::default()
                },
            }],
            ..Policy::default()
        };
        let e = evaluate(&policy, &inv, now());
        assert_eq!(
            summary(&e),
            vec![
                row(
                    "EG_orphan",
                    &[Rule::OrphanEgress],
                    Action::StopEgress,
                    Recheck::RoomGone
                ),
                row(
                    "room left-running",
                    &[Rule::Humanless],
                    Action::DeleteRoom,
                    NO_HUMAN
                ),
                row(
                    "room phone-support",
                    &[Rule::MaxRoomAge],
                    Action::DeleteRoom,
                    Recheck::None
                ),
            ],
            "an ENDING egress is not stopped again; a room that cannot be listed is not judged humanless"
        );
        let left = e
            .findings
            .iter()
            .find(|f| f.room == "left-running")
            .unwrap();
        assert_eq!((left.humans, left.others), (Some(0), Some(2)));
        let ending = e
            .egresses
            .iter()
            .find(|x| x.egress_id == "EG_rec1")
            .unwrap();
        assert_eq!(
            (ending.status, &ending.verdict),
            ("EGRESS_ENDING", &Verdict::Healthy),
            "shown, not judged"
        );
        assert_eq!(
            e.rooms
                .iter()
                .find(|r| r.name == "camera-feed")
                .unwrap()
                .verdict,
            Verdict::Unjudged
        );
    }

    /// A phone leg with `status`, joined `secs` ago.
    fn call(identity: &str, status: &str, secs: i64) -> Participant {
        Participant {
            call_status: Some(status.into()),
            joined_ms: ago_ms(secs),
            ..p(identity, Sip)
        }
    }

    #[test]
    fn a_phone_call_that_hung_up_or_never_connected_is_not_a_human() {
        let inv = Inventory {
            taken_at: now(),
            rooms: vec![
                room("hung-up", 900, vec![call("+1555", "hangup", 800)]),
                room("ringing", 900, vec![call("+1556", "ringing", 720)]),
                room("answered", 900, vec![call("+1557", "active", 720)]),
                room("menu", 900, vec![call("+1558", "automation", 720)]),
                room("old-sip", 900, vec![p("+1559", Sip)]),
                room("dialing", 900, vec![call("+1560", "dialing", 60)]),
            ],
            egresses: vec![egress("EG_call", "hung-up", 800)],
            egress_unchecked: None,
            ingresses: Vec::new(),
            ingress_unchecked: None,
            dead_nodes: HashMap::new(),
        };
        let e = evaluate(&Policy::default(), &inv, now());
        assert_eq!(
            summary(&e),
            vec![
                row("EG_call", &[Rule::Humanless], Action::StopEgress, NO_HUMAN),
                row(
                    "room hung-up",
                    &[Rule::Humanless],
                    Action::DeleteRoom,
                    NO_HUMAN
                ),
                row(
                    "room ringing",
                    &[Rule::Humanless],
                    Action::DeleteRoom,
                    NO_HUMAN
                ),
            ]
        );
        let reason = |room: &str| {
            e.findings
                .iter()
                .find(|f| f.room == room && f.target == Target::Room)
                .map(|f| (f.reason.as_str(), f.humans, f.others))
        };
        assert_eq!(
            reason("hung-up"),
            Some((
                "no human present (1 sip: call hangup); room older than 5m",
                Some(0),
                Some(1)
            ))
        );
        assert_eq!(
            reason("ringing").map(|r| r.0),
            Some("no human present (1 sip: ringing 12m); room older than 5m")
        );
        let view = e.rooms.iter().find(|r| r.name == "hung-up").unwrap();
        assert_eq!(
            view.reason.as_deref(),
            Some("no human present (1 sip: call hangup); room older than 5m"),
            "`rooms` shows why"
        );
        assert!(e.doubts.is_empty());
    }

    #[test]
    fn the_ring_limit_follows_the_rooms_policy_and_metadata() {
        let mut ringing = room("support-1", 900, vec![call("+1555", "ringing", 120)]);
        let mut patient = room("support-2", 900, vec![call("+1556", "ringing", 120)]);
        patient.metadata = r#"{"reaper": {"sip_ring_limit": "10m"}}"#.into();
        ringing.metadata = "not json".into();
        let inv = Inventory {
            taken_at: now(),
            rooms: vec![ringing, patient],
            egresses: vec![],
            egress_unchecked: None,
            ingresses: Vec::new(),
            ingress_unchecked: None,
            dead_nodes: HashMap::new(),
        };
        let policy = Policy {
            blocks: vec![PolicyBlock {
                label: "policy[1] support-*".into(),
                rooms: globs(&["support-*"]),
                patch: RulePatch {
                    sip_ring_limit: Some(Duration::from_secs(60)),
                    ..Default::default()
                },
            }],
            metadata_key: Some("reaper".into()),
            ..Policy::default()
        };
        let e = evaluate(&policy, &inv, now());
        let one_minute = Recheck::NoHuman {
            sip_ring_limit: Duration::from_secs(60),
        };
        assert_eq!(
            summary(&e),
            vec![row(
                "room support-1",
                &[Rule::Humanless],
                Action::DeleteRoom,
                one_minute
            )],
            "the block's 1m limit for support-1; its metadata gives support-2 10m"
        );
        assert_eq!(
            evaluate(&Policy::default(), &inv, now()).findings,
            [],
            "2 minutes is within the default 5m"
        );
    }

    #[test]
    fn what_this_version_does_not_know_is_human_and_noted_once() {
        let future = |identity: &str| Participant {
            kind: Kind::Unknown(42),
            ..p(identity, Standard)
        };
        let inv = Inventory {
            taken_at: now(),
            rooms: vec![
                room("a", 900, vec![future("x1"), call("+1", "on-hold", 900)]),
                room("b", 900, vec![future("x2"), call("+2", "on-hold", 900)]),
                room("c", 900, vec![call("+3", "transferring", 900)]),
            ],
            egresses: vec![egress("EG_a", "a", 800)],
            egress_unchecked: None,
            ingresses: Vec::new(),
            ingress_unchecked: None,
            dead_nodes: HashMap::new(),
        };
        let e = evaluate(&Policy::default(), &inv, now());
        assert_eq!(summary(&e), vec![], "fail safe: nothing to act on");
        assert!(e.rooms.iter().all(|r| r.verdict == Verdict::Healthy));
        let doubts: Vec<String> = e.doubts.iter().map(ToString::to_string).collect();
        assert_eq!(
            doubts,
            [
                "participant 'x1' in room 'a' is of kind 42, which this version does not know: counted as human",
                "participant '+1' in room 'a' has sip.callStatus 'on-hold', which this version does not know: counted as human",
                "participant '+3' in room 'c' has sip.callStatus 'transferring', which this version does not know: counted as human",
            ],
            "one note per unknown value, naming the first participant with it"
        );
    }

    #[test]
    fn impossible_times_and_empty_names_are_never_acted_on() {
        let policy = Policy {
            defaults: Rules {
                max_room_age: Some(Duration::from_secs(3600)),
                max_egress_age: Some(Duration::from_secs(3600)),
                ..Rules::default()
            },
            ..Policy::default()
        };
        let mut inv = basic();
        let future = now().timestamp_millis() + 10 * 365 * 86_400_000;
        for (room, created_ms) in inv.rooms.iter_mut().zip([-5_000, 0, future]) {
            room.created_ms = created_ms;
        }
        inv.rooms[3].name = String::new();
        inv.egresses[1].started_ns = -5;
        inv.egresses[2].started_ns = future * 1_000_000;
        let e = evaluate(&policy, &inv, now());
        let targets: Vec<_> = summary(&e).into_iter().map(|(t, ..)| t).collect();
        assert_eq!(
            targets,
            ["room camera-feed", "EG_rec1"],
            "only what has a real name and time"
        );
        let unjudged = e
            .rooms
            .iter()
            .filter(|r| r.verdict == Verdict::Unjudged)
            .count();
        assert_eq!(unjudged, 4);
        let alone = findings(&policy, &inv, now());
        assert_eq!(
            (alone.findings, alone.unjudged_rooms),
            (e.findings.clone(), 4)
        );
        assert!(alone.rooms.is_empty() && alone.egresses.is_empty());
        assert_eq!(e.rooms[0].age, None);
        assert_eq!(e.warnings.len(), 3, "{:#?}", e.warnings);
        assert!(
            e.warnings[0]
                .starts_with("3 rooms not judged: the server gave an impossible creation time")
        );
        assert!(e.warnings[0].contains("'standup', 'left-running', 'phone-support'"));
        assert!(e.warnings[1].starts_with("1 room with an empty name"));
        assert!(e.warnings[2].starts_with("2 egresses with an impossible start time"));
    }

    #[test]
    fn rooms_whose_participants_failed_are_named_in_a_warning() {
        let mut inv = basic();
        inv.rooms[4].participants = Participants::Failed("unavailable: x\u{202E}y".into());
        let e = evaluate(&Policy::default(), &inv, now());
        assert_eq!(
            e.warnings,
            [
                "1 of 5 rooms were not judged: their participants could not be listed (e.g. 'camera-feed': unavailable: x\u{FFFD}y)"
            ]
        );
        assert!(!inv.nothing_judged());
        for room in &mut inv.rooms {
            room.participants = Participants::Failed("timeout".into());
        }
        assert!(inv.nothing_judged());
        let e = evaluate(&Policy::default(), &inv, now());
        assert!(e.warnings[0].starts_with("no room could be judged (exit 1): the participants of all 5 rooms could not be listed"), "{:?}", e.warnings);
    }
}

#[cfg(test)]
mod properties {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    use super::*;
    use crate::cli::ParticipantKind;
    use crate::inventory::{EgressKind, Kind, Participant};
    use crate::livekit::proto::EgressStatus;
    use crate::policy::HumanSpec;

    fn now() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap()
    }

    /// `sip.callStatus` values, known and not.
    const CALL_STATUSES: [Option<&str>; 7] = [
        None,
        Some("active"),
        Some("automation"),
        Some("hangup"),
        Some("dialing"),
        Some("ringing"),
        Some("on-hold"),
    ];

    const KINDS: [ParticipantKind; 7] = [
        ParticipantKind::Standard,
        ParticipantKind::Ingress,
        ParticipantKind::Egress,
        ParticipantKind::Sip,
        ParticipantKind::Agent,
        ParticipantKind::Connector,
        ParticipantKind::Bridge,
    ];

    /// Kinds this version knows, and one it does not (42).
    fn participant() -> impl Strategy<Value = Participant> {
        (
            0..=KINDS.len(),
            0..4i32,
            any::<bool>(),
            any::<bool>(),
            "[a-z]{1,3}-?[0-9]?",
            (0..CALL_STATUSES.len(), 0..1000i64),
        )
            .prop_map(
                |(kind, state, simulated, hidden, identity, (status, joined_s_ago))| Participant {
                    sid: format!("PA_{identity}"),
                    identity,
                    kind: KINDS
                        .get(kind)
                        .map_or(Kind::Unknown(42), |&k| Kind::Known(k)),
                    kind_details: if simulated { vec![5] } else { vec![] },
                    state,
                    hidden,
                    joined_ms: now().timestamp_millis() - joined_s_ago * 1000,
                    tracks: vec![crate::inventory::Track::default()],
                    call_status: CALL_STATUSES[status].map(str::to_owned),
                },
            )
    }

    fn room() -> impl Strategy<Value = (String, i64, Vec<Participant>, bool, u8)> {
        (
            "[a-d]{1,2}",
            0..200_000i64,
            prop::collection::vec(participant(), 0..5),
            any::<bool>(),
            0..3u8,
        )
    }

    fn policy() -> impl Strategy<Value = Policy> {
        (
            0..3u8,
            prop::option::of(0..100_000u64),
            prop::option::of(0..100_000u64),
            prop::collection::vec(0..KINDS.len(), 1..4),
            (any::<bool>(), 0..900u64),
        )
            .prop_map(
                |(mode, max_room, max_egress, kinds, (not_human_a, ring_limit))| Policy {
                    defaults: Rules {
                        humanless: [
                            HumanlessMode::Off,
                            HumanlessMode::StopEgress,
                            HumanlessMode::DeleteRoom,
                        ][mode as usize],
                        max_room_age: max_room.map(Duration::from_secs),
                        max_egress_age: max_egress.map(Duration::from_secs),
                        sip_ring_limit: Duration::from_secs(ring_limit),
                        ..Rules::default()
                    },
                    humans: HumanSpec {
                        kinds: kinds.into_iter().map(|k| KINDS[k]).collect(),
                        not_human: if not_human_a {
                            crate::policy::tests::globs(&["a*"])
                        } else {
                            globset::GlobSet::empty()
                        },
                    },
                    ..Policy::default()
                },
            )
    }

    proptest! {
        /// The invariant that matters most: a room with a human present (by the policy's own
        /// definition) is never deleted, nor its egresses stopped, because of `humanless`.
        #[test]
        fn humanless_never_touches_a_room_with_a_human(policy in policy(), rooms in prop::collection::vec(room(), 0..8)) {
            let now = now();
            let mut inventory = Inventory { taken_at: now, rooms: vec![], egresses: vec![], egress_unchecked: None, ingresses: vec![], ingress_unchecked: None, dead_nodes: HashMap::new() };
            for (i, (name, age, people, has_egress, listed)) in rooms.into_iter().enumerate() {
                let name = format!("{name}{i}");
                let counted = people.iter().filter(|p| !matches!(p.kind, Kind::Known(ParticipantKind::Agent | ParticipantKind::Egress))).count() as u32;
                if has_egress {
                    inventory.egresses.push(Egress {
                        egress_id: format!("EG_{i}"),
                        room_name: name.clone(),
                        kind: EgressKind::RoomComposite,
                        status: EgressStatus::EgressActive,
                        started_ns: (now.timestamp_millis() - age) * 1_000_000,
                    });
                }
                inventory.rooms.push(Room {
                    name,
                    sid: format!("RM_{i}"),
                    created_ms: now.timestamp_millis() - age * 1000,
                    metadata: String::new(),
                    num_participants: counted,
                    live_ingresses: 0,
                    empty_timeout: 0,
                    departure_timeout: 0,
                    participants: match listed {
                        0 => Participants::Listed(people.clone()),
                        1 => Participants::NotListed,
                        _ => Participants::Failed("x".into()),
                    },
                });
                let human_test = policy.humans.at(policy.defaults.sip_ring_limit, now.timestamp_millis());
                let with_human = people.iter().any(|p| human_test.is_human(p));
                let room = inventory.rooms.last().unwrap().name.clone();
                let e = evaluate(&policy, &inventory, now);
                if with_human {
                    for f in e.findings.iter().filter(|f| f.room == room) {
                        prop_assert!(!f.rules.contains(&Rule::Humanless), "humanless hit {room} with a human: {f:?}");
                    }
                }
            }
        }
    }
}
