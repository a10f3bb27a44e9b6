//! The verdicts: a pure function of (policy, inventory, now).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{InScope, Policy, Rules, human_duration};
use crate::cli::HumanlessMode;
use crate::inventory::{Egress, Inventory, Participants, Room};

/// A rule of SPEC.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Humanless,
    MaxRoomAge,
    MaxEgressAge,
    OrphanEgress,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Humanless => "humanless",
            Self::MaxRoomAge => "max_room_age",
            Self::MaxEgressAge => "max_egress_age",
            Self::OrphanEgress => "orphan_egress",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Room,
    Egress,
}

/// The one mutation a finding asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    DeleteRoom,
    StopEgress,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeleteRoom => "delete_room",
            Self::StopEgress => "stop_egress",
        }
    }
}

/// What must still hold right before acting, or the action is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recheck {
    None,
    /// Only `humanless` asked for it: the room must still have no human.
    NoHuman,
    /// Only `orphan_egress` asked for it: the room must still be gone.
    RoomGone,
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
}

/// A room or egress verdict, for the read-only views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Healthy,
    /// Protected by `--exclude-room`.
    Excluded,
    /// Protected by policy or metadata.
    Exempt,
    /// Its participants could not be listed, so `humanless` could not judge it.
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
    pub age: Duration,
    pub humans: Option<u32>,
    pub others: Option<u32>,
    pub egresses: usize,
    pub policy: String,
    pub verdict: Verdict,
}

/// One row of `lk-reaper egress`.
#[derive(Debug, Clone, PartialEq)]
pub struct EgressView {
    pub egress_id: String,
    pub room: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub age: Duration,
    pub verdict: Verdict,
}

/// Everything evaluation produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub rooms: Vec<RoomView>,
    pub egresses: Vec<EgressView>,
    /// Oldest first.
    pub findings: Vec<Finding>,
}

/// A room's judgement, carried over to its egresses.
struct RoomJudgement {
    rules: Vec<Rule>,
    reason: String,
    humans: Option<u32>,
    others: Option<u32>,
}

/// Judges every room and egress in scope at `now`.
pub fn evaluate(policy: &Policy, inventory: &Inventory, now: DateTime<Utc>) -> Evaluation {
    let mut egresses_by_room: HashMap<&str, Vec<&Egress>> = HashMap::new();
    for egress in inventory.egresses.iter().filter(|e| e.is_running()) {
        egresses_by_room
            .entry(egress.room_name.as_str())
            .or_default()
            .push(egress);
    }
    let rooms_by_name: HashMap<&str, &Room> = inventory
        .rooms
        .iter()
        .map(|r| (r.name.as_str(), r))
        .collect();

    let mut out = Evaluation::default();
    let mut judged: HashMap<&str, RoomJudgement> = HashMap::new();
    for room in &inventory.rooms {
        let scope = policy.scope.classify(&room.name);
        if scope == InScope::No {
            continue;
        }
        let resolved = policy.resolve(&room.name, &room.metadata);
        let running = egresses_by_room.get(room.name.as_str()).map_or(0, Vec::len);
        let (view, judgement) = judge_room(policy, room, scope, &resolved.rules, running, now);
        if let Some(j) = judgement {
            if let Verdict::Offends(_, Some(Action::DeleteRoom)) = &view.verdict {
                out.findings.push(room_finding(room, &j, view.age));
            }
            judged.insert(room.name.as_str(), j);
        }
        out.rooms.push(RoomView {
            policy: resolved.source,
            ..view
        });
    }

    for egress in inventory.egresses.iter().filter(|e| e.is_running()) {
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
        out.egresses.push(EgressView {
            egress_id: egress.egress_id.clone(),
            room: egress.room_name.clone(),
            kind: egress.kind.as_str(),
            status: egress.status.as_str_name(),
            age,
            verdict,
        });
    }
    // Worst first: a run cut short by its deadline has ended the longest-running waste.
    out.findings.sort_by_key(|f| std::cmp::Reverse(f.age));
    out
}

fn judge_room(
    policy: &Policy,
    room: &Room,
    scope: InScope,
    rules: &Rules,
    running_egresses: usize,
    now: DateTime<Utc>,
) -> (RoomView, Option<RoomJudgement>) {
    let age = room.age(now);
    let (humans, others, who) = match &room.participants {
        Participants::Listed(list) => {
            let humans = list.iter().filter(|p| policy.humans.is_human(p)).count() as u32;
            let who = policy.humans.describe_others(list);
            (
                Some(humans),
                Some(list.len() as u32 - humans),
                if who.is_empty() { "empty".into() } else { who },
            )
        }
        Participants::NotListed
            if room.num_participants == 0 && policy.humans.kinds_all_counted() =>
        {
            (Some(0), None, "server counts 0 participants".into())
        }
        Participants::NotListed | Participants::Failed(_) => (None, None, String::new()),
    };
    let mut view = RoomView {
        name: room.name.clone(),
        sid: room.sid.clone(),
        age,
        humans,
        others,
        egresses: running_egresses,
        policy: String::new(),
        verdict: Verdict::Healthy,
    };
    if scope == InScope::Excluded {
        view.verdict = Verdict::Excluded;
        return (view, None);
    }
    if rules.exempt {
        view.verdict = Verdict::Exempt;
        return (view, None);
    }
    let mut broken = Vec::new();
    let mut reasons = Vec::new();
    let humanless_on = rules.humanless != HumanlessMode::Off;
    if humanless_on && humans == Some(0) && age > rules.humanless_grace {
        broken.push(Rule::Humanless);
        reasons.push(format!(
            "no human present ({who}); room older than {}",
            human_duration(rules.humanless_grace)
        ));
    }
    if let Some(max) = rules.max_room_age.filter(|&max| age > max) {
        broken.push(Rule::MaxRoomAge);
        reasons.push(format!(
            "room age {} exceeds max {}",
            human_duration(age),
            human_duration(max)
        ));
    }
    if broken.is_empty() {
        if matches!(room.participants, Participants::Failed(_)) && humanless_on {
            view.verdict = Verdict::Unjudged;
        }
        return (view, None);
    }
    let deletes =
        broken.contains(&Rule::MaxRoomAge) || rules.humanless == HumanlessMode::DeleteRoom;
    let action = if deletes {
        Some(Action::DeleteRoom)
    } else {
        (running_egresses > 0).then_some(Action::StopEgress)
    };
    view.verdict = Verdict::Offends(broken.clone(), action);
    let judgement = RoomJudgement {
        rules: broken,
        reason: reasons.join("; "),
        humans,
        others,
    };
    (view, Some(judgement))
}

fn room_finding(room: &Room, j: &RoomJudgement, age: Duration) -> Finding {
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
        recheck: if j.rules == [Rule::Humanless] {
            Recheck::NoHuman
        } else {
            Recheck::None
        },
    }
}

fn judge_egress(
    egress: &Egress,
    room: Option<&Room>,
    room_judgement: Option<&RoomJudgement>,
    rules: &Rules,
    age: Duration,
) -> Option<Finding> {
    let mut own = Vec::new();
    let mut reasons = Vec::new();
    if let Some(max) = rules.max_egress_age.filter(|&max| age > max) {
        own.push(Rule::MaxEgressAge);
        reasons.push(format!(
            "egress running {} exceeds max {}",
            human_duration(age),
            human_duration(max)
        ));
    }
    let orphan = !egress.room_name.is_empty() && room.is_none();
    if orphan && rules.orphan_egress && age > rules.orphan_grace {
        own.push(Rule::OrphanEgress);
        reasons.push(format!("its room '{}' no longer exists", egress.room_name));
    }
    let inherited = room_judgement.map_or(&[][..], |j| j.rules.as_slice());
    if let Some(j) = room_judgement {
        reasons.push(format!("its room offends: {}", j.reason));
    }
    if own.is_empty() && inherited.is_empty() {
        return None;
    }
    let recheck = match (own.as_slice(), inherited) {
        ([], [Rule::Humanless]) => Recheck::NoHuman,
        ([Rule::OrphanEgress], []) => Recheck::RoomGone,
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
    })
}
