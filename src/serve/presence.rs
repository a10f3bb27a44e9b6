//! Since when each room has had no human, as far as `serve` knows.
//!
//! The server cannot say when a room's last human left, so a sweep judges a room older than
//! the grace at once. A check started by an earlier event can run a moment after a human
//! left, before that `participant_left` arrives: judged like a sweep, it would end the room
//! of a human who is only reconnecting. So a check acts on `humanless` alone only once the
//! room has been without a human for the whole grace since `serve` last knew one was there.
//! In memory only: a restart forgets it, and the room is judged as a sweep judges it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

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

/// `room`'s `humanless_grace`, under the rules its metadata selects.
pub fn humanless_grace(policy: &Policy, inventory: &Inventory, room: &str) -> Duration {
    let metadata = inventory
        .rooms
        .iter()
        .find(|r| r.name == room)
        .map_or("", |r| r.metadata.as_str());
    policy.resolve(room, metadata).rules.humanless_grace
}

/// Per room, the time its grace runs from; no entry while a human is known to be there.
#[derive(Debug, Clone, Default)]
pub struct Presence(Arc<Mutex<HashMap<String, SystemTime>>>);

impl Presence {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, SystemTime>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Someone left the room, or it started empty, at `at`: its grace runs from then at the
    /// earliest (the latest such time wins, so whoever left last gets the whole grace).
    pub fn emptied(&self, room: &str, at: SystemTime) {
        let mut rooms = self.lock();
        let since = rooms.entry(room.to_owned()).or_insert(at);
        *since = (*since).max(at);
    }

    /// A human is in the room (joined, or seen by a check).
    pub fn human(&self, room: &str) {
        self.lock().remove(room);
    }

    /// A check found no human at `now`: the time the room's grace runs from. Unknown until
    /// now (a human may have left a moment ago), it runs from `now`.
    pub fn humanless(&self, room: &str, now: SystemTime) -> SystemTime {
        *self.lock().entry(room.to_owned()).or_insert(now)
    }

    /// Whether `finding` must wait: it acts on `humanless` alone, and its room's grace is
    /// known to run past `now` (its pending check ends the room then). What serve does not
    /// know, a full sweep judges as `sweep` does.
    pub fn holds(
        &self,
        finding: &Finding,
        inventory: &Inventory,
        policy: &Policy,
        now: SystemTime,
    ) -> bool {
        let Some(since) = self.lock().get(&finding.room).copied() else {
            return false;
        };
        if !humanless_only(finding) {
            return false;
        }
        crate::time::add(since, humanless_grace(policy, inventory, &finding.room)) > now
    }

    /// The room finished.
    pub fn forget(&self, room: &str) {
        self.lock().remove(room);
    }

    /// Keeps only the rooms a full sweep saw: a `room_finished` may have been lost.
    pub fn retain(&self, live: impl Fn(&str) -> bool) {
        self.lock().retain(|room, _| live(room));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn the_grace_runs_from_the_latest_departure_and_a_human_stops_it() {
        let p = Presence::default();
        assert_eq!(p.humanless("r", at(100)), at(100), "unknown: from now");
        assert_eq!(p.humanless("r", at(130)), at(100), "a second look keeps it");
        p.emptied("r", at(90));
        assert_eq!(
            p.humanless("r", at(140)),
            at(100),
            "an older departure changes nothing"
        );
        p.emptied("r", at(120));
        assert_eq!(
            p.humanless("r", at(140)),
            at(120),
            "a later one restarts it"
        );
        p.human("r");
        assert_eq!(
            p.humanless("r", at(150)),
            at(150),
            "a human was back: from now"
        );
        p.forget("r");
        p.emptied("r", at(10));
        assert_eq!(p.humanless("r", at(150)), at(10), "the room started at 10");
        p.retain(|room| room != "r");
        assert_eq!(p.humanless("r", at(160)), at(160));
    }

    #[test]
    fn a_sweep_waits_only_for_a_known_grace_of_humanless_alone() {
        use crate::policy::{Action, Recheck, Target};
        let finding = |rules: Vec<Rule>| Finding {
            rules,
            target: Target::Room,
            room: "r".into(),
            room_sid: None,
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
        let p = Presence::default();
        let holds = |f: &Finding, s: u64| p.holds(f, &inventory, &policy, at(s));
        assert!(!holds(&humanless, 100), "unknown: judged as a sweep does");
        p.emptied("r", at(100));
        assert!(holds(&humanless, 399), "the default grace is 5m");
        assert!(!holds(&humanless, 400));
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
