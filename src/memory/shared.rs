//! `serve`'s handle on the memory: webhooks, checks and full sweeps update one [`Memory`].
//!
//! The server cannot say when a room's last human left, so a sweep judges a room older than
//! the grace at once. A check started by an earlier event can run a moment after a human
//! left, before that `participant_left` arrives: judged like a sweep, it would end the room
//! of a human who is only reconnecting. So a check acts on `humanless` alone only once the
//! room has been without a human for the whole grace since `serve` last knew one was there.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use super::{Memory, Seen, humanless_grace_passed};
use crate::inventory::Inventory;
use crate::policy::{Finding, Policy, Rule};

/// Whether only the humanless grace backs the finding: `humanless`, or `forgotten_ingress`
/// (judged by the same grace). Another rule acts whatever the grace.
pub fn humanless_only(finding: &Finding) -> bool {
    finding
        .rules
        .iter()
        .all(|&r| matches!(r, Rule::Humanless | Rule::ForgottenIngress))
}

/// `room`'s rules, as its metadata selects them.
fn rules_of(policy: &Policy, inventory: &Inventory, room: &str) -> crate::policy::Rules {
    let metadata = inventory
        .rooms
        .iter()
        .find(|r| r.name == room)
        .map_or("", |r| r.metadata.as_str());
    policy.resolve(room, metadata).rules
}

/// `room`'s `humanless_grace`, under the rules its metadata selects.
pub fn humanless_grace(policy: &Policy, inventory: &Inventory, room: &str) -> Duration {
    rules_of(policy, inventory, room).humanless_grace
}

/// `room`'s `silent_after`, under the rules its metadata selects (`None`: off).
pub fn silent_after(policy: &Policy, inventory: &Inventory, room: &str) -> Option<Duration> {
    rules_of(policy, inventory, room).silent_after
}

/// The memory, shared by serve's tasks.
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<Mutex<Memory>>);

impl Shared {
    /// A handle on `memory` (loaded from `--state`, or empty).
    pub fn new(memory: Memory) -> Self {
        Self(Arc::new(Mutex::new(memory)))
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the memory now (to save it).
    pub fn snapshot(&self) -> Memory {
        self.lock().clone()
    }

    /// A copy for an evaluation: it judges silence by the memory, and leaves the humanless
    /// grace to serve's own judgement (`holds`, the checks' grace).
    pub fn for_evaluation(&self) -> Memory {
        Memory {
            grace_apart: true,
            ..self.snapshot()
        }
    }

    /// Takes the silence an evaluation saw in the rooms `sids`, from its new memory `seen`
    /// (webhooks never change it). Returns the rooms newly found silent, and since when.
    pub fn absorb_silence<'s>(
        &self,
        seen: &Memory,
        sids: impl Iterator<Item = (&'s str, &'s str)>,
    ) -> Vec<(String, SystemTime)> {
        let mut memory = self.lock();
        let mut newly = Vec::new();
        for (sid, room) in sids {
            let now = seen.get(sid).and_then(|s| s.silent_since);
            let mut entry = memory.get(sid).cloned().unwrap_or_else(|| Seen {
                room: room.to_owned(),
                ..Seen::default()
            });
            if let (None, Some(since)) = (entry.silent_since, now) {
                newly.push((room.to_owned(), since.into()));
            }
            entry.silent_since = now;
            memory.insert(sid.to_owned(), entry);
        }
        newly
    }

    /// Someone left room `sid` (`room`), or it started empty, at `at`: its grace runs from
    /// then at the earliest (the latest such time wins, so whoever left last gets the
    /// whole grace).
    pub fn emptied(&self, sid: &str, room: &str, at: SystemTime) {
        let at = DateTime::<Utc>::from(at);
        let mut memory = self.lock();
        let mut seen = memory.get(sid).cloned().unwrap_or_else(|| Seen {
            room: room.to_owned(),
            ..Seen::default()
        });
        seen.humanless_since = Some(seen.humanless_since.map_or(at, |since| since.max(at)));
        memory.insert(sid.to_owned(), seen);
    }

    /// A human is in `room` (joined, or seen by a check).
    pub fn human(&self, room: &str) {
        for seen in self.lock().rooms.values_mut().filter(|s| s.room == room) {
            seen.humanless_since = None;
        }
    }

    /// A check found no human in room `sid` at `now`: the time the room's grace runs from.
    /// Unknown until now (a human may have left a moment ago), it runs from `now`.
    pub fn humanless(&self, sid: &str, room: &str, now: SystemTime) -> SystemTime {
        let mut memory = self.lock();
        let mut seen = memory.get(sid).cloned().unwrap_or_else(|| Seen {
            room: room.to_owned(),
            ..Seen::default()
        });
        let since = *seen.humanless_since.get_or_insert(now.into());
        memory.insert(sid.to_owned(), seen);
        since.into()
    }

    /// Until when `finding` must wait, if it must: it acts on `humanless` alone, and its
    /// room's grace is known to run past `now` (a check of the room ends it then). What
    /// serve does not know, a full sweep judges as `sweep` does.
    pub fn holds(
        &self,
        finding: &Finding,
        inventory: &Inventory,
        policy: &Policy,
        now: SystemTime,
    ) -> Option<SystemTime> {
        let sid = finding.room_sid.as_deref().unwrap_or_default();
        let since = self.lock().get(sid).and_then(|s| s.humanless_since)?;
        if !humanless_only(finding) {
            return None;
        }
        let humanless_for = DateTime::<Utc>::from(now) - since;
        let grace = humanless_grace(policy, inventory, &finding.room);
        let held = !humanless_grace_passed(finding.age, humanless_for.to_std().ok(), grace);
        held.then(|| crate::time::add(SystemTime::from(since), grace))
    }

    /// The room finished.
    pub fn forget(&self, room: &str) {
        self.lock().rooms.retain(|_, s| s.room != room);
    }

    /// Keeps only the rooms a full sweep saw (by sid): a `room_finished` may have been lost.
    pub fn retain(&self, live: impl Fn(&str) -> bool) {
        self.lock().rooms.retain(|sid, _| live(sid));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    #[test]
    fn the_grace_runs_from_the_latest_departure_and_a_human_stops_it() {
        let p = Shared::default();
        let humanless = |s| p.humanless("RM_r", "r", at(s));
        assert_eq!(humanless(100), at(100), "unknown: from now");
        assert_eq!(humanless(130), at(100), "a second look keeps it");
        p.emptied("RM_r", "r", at(90));
        assert_eq!(
            humanless(140),
            at(100),
            "an older departure changes nothing"
        );
        p.emptied("RM_r", "r", at(120));
        assert_eq!(humanless(140), at(120), "a later one restarts it");
        p.human("r");
        assert_eq!(humanless(150), at(150), "a human was back: from now");
        p.forget("r");
        p.emptied("RM_r", "r", at(10));
        assert_eq!(humanless(150), at(10), "the room started at 10");
        p.retain(|sid| sid != "RM_r");
        assert_eq!(humanless(160), at(160));
        assert_eq!(p.snapshot().len(), 1);
    }

    #[test]
    fn a_sweep_waits_only_for_a_known_grace_of_humanless_alone() {
        use crate::policy::{Action, Recheck, Target};
        let finding = |rules: Vec<Rule>| Finding {
            rules,
            target: Target::Room,
            room: "r".into(),
            room_sid: Some("RM_r".into()),
            egress_id: None,
            age: Duration::from_secs(3600),
            humans: Some(0),
            others: Some(1),
            reason: String::new(),
            action: Action::DeleteRoom,
            recheck: Recheck::None,
            dead_node: None,
            held: None,
            ingress: None,
            participant: None,
        };
        let (humanless, too_old) = (
            finding(vec![Rule::Humanless]),
            finding(vec![Rule::Humanless, Rule::MaxRoomAge]),
        );
        let inventory = Inventory {
            taken_at: chrono::Utc::now(),
            rooms: Vec::new(),
            egresses: Vec::new(),
            egress_unchecked: None,
            ingresses: Vec::new(),
            ingress_unchecked: None,
            dead_nodes: HashMap::new(),
        };
        let policy = Policy::default();
        let p = Shared::default();
        let holds = |f: &Finding, s: u64| p.holds(f, &inventory, &policy, at(s)).is_some();
        assert!(!holds(&humanless, 100), "unknown: judged as a sweep does");
        p.emptied("RM_r", "r", at(100));
        assert!(holds(&humanless, 399), "the default grace is 5m");
        assert_eq!(
            p.holds(&humanless, &inventory, &policy, at(399)),
            Some(at(400)),
            "until the grace ends"
        );
        assert!(!holds(&humanless, 401));
        assert!(!holds(&too_old, 200), "max_room_age does not wait");
        let encoder = finding(vec![Rule::ForgottenIngress]);
        assert!(
            holds(&encoder, 399),
            "forgotten_ingress waits for the same grace"
        );
        p.human("r");
        assert!(!holds(&humanless, 200));
    }
}
