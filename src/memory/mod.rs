//! What lk-reaper remembers between looks at a room: since when it has had no human, and
//! since when every human in it has been silent. One memory for `sweep` (the `--state`
//! file) and `serve` (in-process, optionally the same file).
//!
//! The server keeps neither time: LiveKit cannot say when a room's last human left, nor when
//! a track was muted. The memory is an input of the pure evaluation, which returns its new
//! value. Lost memory only delays an action: a room never seen before was first seen now.

/// The `--state` file: versioned JSON, locked, written atomically.
pub mod file;
/// `serve`'s handle on the memory, fed by webhooks and checks.
mod shared;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use shared::{Shared, humanless_grace, humanless_only, silent_after};

/// What lk-reaper saw of one room (keyed by the room's sid, so a recreated room starts
/// fresh).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// The room's name, for serve's webhooks and for people reading the file.
    pub room: String,
    /// When it was first seen without a human, since a human was last seen in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub humanless_since: Option<DateTime<Utc>>,
    /// When it was first seen with every human silent, since one was last heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silent_since: Option<DateTime<Utc>>,
}

/// What one look at a room's participants showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub humans: u32,
    /// At least one human, and every human silent.
    pub silent: bool,
}

/// Per room sid, what lk-reaper saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    rooms: HashMap<String, Seen>,
    /// `serve` judges the humanless grace itself (webhooks, checks): an evaluation by this
    /// memory then runs the grace from the room's creation, as without memory.
    grace_apart: bool,
}

impl Memory {
    /// The room with this sid, if remembered.
    pub fn get(&self, sid: &str) -> Option<&Seen> {
        self.rooms.get(sid)
    }

    /// Rooms remembered.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// Every room remembered, by sid.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Seen)> {
        self.rooms.iter()
    }

    /// Remembers `seen` for `sid`, replacing what was there.
    pub fn insert(&mut self, sid: String, seen: Seen) {
        self.rooms.insert(sid, seen);
    }

    /// The entry for room `sid` (`name`) after a look at `now`: `None` when its
    /// participants were not listed (what was remembered stays). A human ends the
    /// humanless time, a human heard ends the silence; otherwise the first time stays.
    pub fn after_look(
        &self,
        sid: &str,
        name: &str,
        look: Option<Look>,
        now: DateTime<Utc>,
    ) -> Seen {
        let old = self.rooms.get(sid);
        let Some(look) = look else {
            return old.cloned().unwrap_or_else(|| Seen {
                room: name.to_owned(),
                ..Seen::default()
            });
        };
        let keep = |field: fn(&Seen) -> Option<DateTime<Utc>>, holds: bool| {
            holds.then(|| old.and_then(field).unwrap_or(now))
        };
        Seen {
            room: name.to_owned(),
            humanless_since: keep(|s| s.humanless_since, look.humans == 0),
            silent_since: keep(|s| s.silent_since, look.silent),
        }
    }
}

/// How long the room has been without a human by `memory` at `now`: `None` without a
/// memory (the grace then runs from the room's creation); zero for a room not remembered
/// as humanless (first seen so now).
pub fn humanless_for(memory: Option<&Memory>, sid: &str, now: DateTime<Utc>) -> Option<Duration> {
    let since = memory
        .filter(|m| !m.grace_apart)?
        .get(sid)
        .and_then(|s| s.humanless_since);
    Some(since.map_or(Duration::ZERO, |since| elapsed(since, now)))
}

/// How long every human in the room has been silent by `memory` at `now`; `None` when not
/// known (no memory, or not silent).
pub fn silent_for(memory: Option<&Memory>, sid: &str, now: DateTime<Utc>) -> Option<Duration> {
    let since = memory?.get(sid)?.silent_since?;
    Some(elapsed(since, now))
}

/// The judgement every humanless rule shares: whether the humanless grace has passed for a
/// room of `age` that has been without a human for `humanless_for` (by the memory; `None`
/// without one). The time never starts before the room's creation.
pub fn humanless_grace_passed(
    age: Duration,
    humanless_for: Option<Duration>,
    grace: Duration,
) -> bool {
    humanless_for.map_or(age, |d| d.min(age)) > grace
}

/// Time from `since` to `now`; zero when `since` is later (clocks differ).
fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_grace_runs_from_creation_without_memory_and_from_the_first_look_with_it() {
        let grace = secs(300);
        // (age, humanless for by memory, passed)
        let cases = [
            (secs(301), None, true),
            (secs(300), None, false),
            (secs(3600), Some(secs(0)), false),
            (secs(3600), Some(secs(299)), false),
            (secs(3600), Some(secs(301)), true),
            // A memory older than the room (clock skew, a reused sid) never starts earlier.
            (secs(200), Some(secs(9000)), false),
        ];
        for (age, since, want) in cases {
            assert_eq!(
                humanless_grace_passed(age, since, grace),
                want,
                "{age:?} {since:?}"
            );
        }
    }

    #[test]
    fn a_look_keeps_the_first_time_until_a_human_or_a_voice_ends_it() {
        let mut m = Memory::default();
        let look = |humans, silent| Some(Look { humans, silent });
        // (look, humanless since, silent since) after each look, one look per 10 s.
        let steps = [
            (look(0, false), Some(0), None),
            (look(0, false), Some(0), None),
            (look(1, true), None, Some(20)),
            (None, None, Some(20)),
            (look(2, true), None, Some(20)),
            (look(2, false), None, None),
            (look(0, false), Some(60), None),
        ];
        for (i, (seen, humanless, silent)) in steps.into_iter().enumerate() {
            let now = at(i as i64 * 10);
            let entry = m.after_look("RM_1", "r", seen, now);
            assert_eq!(entry.humanless_since, humanless.map(at), "step {i}");
            assert_eq!(entry.silent_since, silent.map(at), "step {i}");
            m.insert("RM_1".into(), entry);
        }
        assert_eq!(humanless_for(Some(&m), "RM_1", at(90)), Some(secs(30)));
        assert_eq!(humanless_for(Some(&m), "RM_2", at(90)), Some(secs(0)));
        assert_eq!(humanless_for(None, "RM_1", at(90)), None);
        assert_eq!(silent_for(Some(&m), "RM_1", at(90)), None);
    }
}
