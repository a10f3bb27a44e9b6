//! The policy: which rules apply to which room, and who counts as human. Pure data.

mod evaluate;
pub mod human;
mod ingress;
pub mod rules;

use std::time::Duration;

use globset::GlobSet;

pub use evaluate::{
    Action, EgressView, Evaluation, Finding, IngressTarget, IngressView, Recheck, RoomView, Rule,
    Target, Verdict, evaluate, findings, remembering,
};
pub use human::{Doubt, HumanSpec, HumanTest};
pub use rules::{Limit, Override, RulePatch, Rules};

use crate::cli::Shard;
use crate::inventory::Room;

/// Everything that decides a verdict.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Rules for rooms no `[[policy]]` block matches.
    pub defaults: Rules,
    /// `[[policy]]` blocks in file order; the first match wins.
    pub blocks: Vec<PolicyBlock>,
    pub humans: HumanSpec,
    pub scope: Scope,
    /// Room metadata key whose JSON object overrides the rules (`{"reaper": {...}}`).
    pub metadata_key: Option<String>,
}

/// One `[[policy]]` block.
#[derive(Debug, Clone)]
pub struct PolicyBlock {
    /// How reports name it, e.g. `policy[1] webinar-*`.
    pub label: String,
    pub rooms: GlobSet,
    pub patch: RulePatch,
}

/// Which rooms a run may look at and touch.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `--room`: only these (none given: all).
    pub include: Option<GlobSet>,
    /// `--exclude-room`: never touched.
    pub exclude: GlobSet,
    pub shard: Option<Shard>,
}

/// Whether a room name is in this run's view, and whether it may be touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InScope {
    /// Not this run's business (`--room`, `--shard`): not shown, not touched.
    No,
    /// Shown but protected (`--exclude-room`).
    Excluded,
    Yes,
}

impl Scope {
    /// Classifies a room name; an empty name is a roomless (web) egress.
    pub fn classify(&self, room: &str) -> InScope {
        let included = match &self.include {
            Some(globs) => !room.is_empty() && globs.is_match(room),
            None => true,
        };
        if !included || !self.shard.is_none_or(|shard| in_shard(room, shard)) {
            InScope::No
        } else if !room.is_empty() && self.exclude.is_match(room) {
            InScope::Excluded
        } else {
            InScope::Yes
        }
    }
}

/// A stable split of rooms: xxh3 of the name modulo N. Roomless egress goes to shard 0.
pub fn in_shard(room: &str, shard: Shard) -> bool {
    let index = if room.is_empty() {
        0
    } else {
        xxhash_rust::xxh3::xxh3_64(room.as_bytes()) % u64::from(shard.count)
    };
    index == u64::from(shard.index)
}

/// Where a room's rules came from, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub rules: Rules,
    pub source: String,
    /// An override in the room's metadata that is there but invalid: where and why. No
    /// rule acts on such a room (fail safe: its owner meant something).
    pub invalid_override: Option<String>,
}

impl Policy {
    /// The rules for one room: defaults, then the first matching block, then the room's
    /// metadata override. Metadata that is not JSON is ignored; an invalid override is
    /// named in `invalid_override`.
    pub fn resolve(&self, room: &str, metadata: &str) -> Resolved {
        let mut rules = self.defaults.clone();
        let mut source = String::from("default");
        if let Some(block) = self
            .blocks
            .iter()
            .find(|b| !room.is_empty() && b.rooms.is_match(room))
        {
            block.patch.apply(&mut rules);
            source.clone_from(&block.label);
        }
        let found = self.metadata_key.as_deref().map_or(Override::None, |key| {
            RulePatch::from_metadata(metadata, key)
        });
        let mut invalid_override = None;
        match found {
            Override::None => {}
            Override::Valid(patch) => {
                patch.apply(&mut rules);
                source.push_str(" + metadata");
            }
            Override::Invalid(why) => invalid_override = Some(why),
        }
        Resolved {
            rules,
            source,
            invalid_override,
        }
    }

    /// Whether judging `room` needs its participant list: when `humanless`,
    /// `forgotten_ingress` or `max_room_age` may act on it, when `silent` or `max_session`
    /// is on, and, for a run that `remembers` (`--state`, serve), whenever `humanless` may
    /// act, so the memory knows from the first look when the room had no human. LiveKit's
    /// `num_participants` is no proof of an empty room: it lags joins by up to ~9 s on a
    /// real server, so a count of 0 is not trusted.
    pub fn needs_participants(
        &self,
        room: &Room,
        now: chrono::DateTime<chrono::Utc>,
        remembers: bool,
    ) -> bool {
        if self.scope.classify(&room.name) != InScope::Yes {
            return false;
        }
        // A room that cannot be named or dated is never judged, so its list is not needed.
        let Some(age) = room.age(now).filter(|_| !room.name.is_empty()) else {
            return false;
        };
        let rules = self.resolve(&room.name, &room.metadata).rules;
        let humanless_may_act = rules.humanless != crate::cli::HumanlessMode::Off
            || (rules.ingress != crate::cli::IngressMode::Off && room.live_ingresses > 0);
        !rules.exempt
            && ((humanless_may_act && (remembers || age > rules.humanless_grace))
                || rules.max_room_age.is_some_and(|max| age > max)
                || rules.silent_after.is_some()
                || rules.max_session.is_some())
    }

    /// Whether `silent` is on anywhere the flags and the file can say (room metadata may
    /// switch it on too): it needs a memory.
    pub fn uses_silent(&self) -> bool {
        self.defaults.silent_after.is_some()
            || self
                .blocks
                .iter()
                .any(|b| matches!(b.patch.silent_after, Some(Limit(Some(_)))))
    }
}

/// An age over its limit, each formatted as precisely as it takes to tell them apart:
/// `1h 5s` over `1h`, where `human_duration` would say `1h` over `1h`.
pub fn exceeding(age: Duration, max: Duration) -> (String, String) {
    let (a, m) = (human_duration(age), human_duration(max));
    if a != m {
        return (a, m);
    }
    let to = |d: Duration, unit: fn(Duration) -> Duration| {
        humantime::format_duration(unit(d)).to_string()
    };
    let seconds = |d: Duration| Duration::from_secs(d.as_secs());
    let millis = |d: Duration| Duration::from_millis(d.as_millis() as u64);
    let (a, m) = (to(age, seconds), to(max, seconds));
    if a != m {
        return (a, m);
    }
    (to(age, millis), to(max, millis))
}

/// Formats a duration for people: `4h 10m`, `25s`; no sub-second noise.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, hours, mins, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => {
            if s == 0 {
                format!("{m}m")
            } else {
                format!("{m}m {s}s")
            }
        }
        (0, h, m) => {
            if m == 0 {
                format!("{h}h")
            } else {
                format!("{h}h {m}m")
            }
        }
        (d, h, _) => {
            if h == 0 {
                format!("{d}d")
            } else {
                format!("{d}d {h}h")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use globset::{Glob, GlobSetBuilder};

    /// An ACTIVE participant with a track, of `kind`.
    pub(crate) fn participant(
        identity: &str,
        kind: crate::cli::ParticipantKind,
    ) -> crate::inventory::Participant {
        crate::inventory::Participant {
            identity: identity.into(),
            sid: format!("PA_{identity}"),
            kind: crate::inventory::Kind::Known(kind),
            kind_details: vec![],
            state: crate::livekit::proto::participant_info::State::Active as i32,
            hidden: false,
            joined_ms: 0,
            tracks: vec![crate::inventory::Track::default()],
            call_status: None,
        }
    }

    pub(crate) fn globs(patterns: &[&str]) -> GlobSet {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            builder.add(Glob::new(p).unwrap());
        }
        builder.build().unwrap()
    }

    #[test]
    fn scope_include_exclude_and_web_egress() {
        let scope = Scope {
            include: Some(globs(&["team-*"])),
            exclude: globs(&["team-keep"]),
            shard: None,
        };
        assert_eq!(scope.classify("team-a"), InScope::Yes);
        assert_eq!(scope.classify("team-keep"), InScope::Excluded);
        assert_eq!(scope.classify("other"), InScope::No);
        assert_eq!(
            scope.classify(""),
            InScope::No,
            "web egress is out of a --room scope"
        );
        assert_eq!(Scope::default().classify(""), InScope::Yes);
    }

    #[test]
    fn shards_partition_rooms_and_web_egress_goes_to_zero() {
        let count = 4;
        for i in 0..200 {
            let name = format!("room-{i}");
            let owners = (0..count)
                .filter(|&k| in_shard(&name, Shard { index: k, count }))
                .count();
            assert_eq!(owners, 1, "{name} must be in exactly one shard");
        }
        assert!(in_shard("", Shard { index: 0, count: 3 }));
        assert!(!in_shard("", Shard { index: 1, count: 3 }));
    }

    #[test]
    fn first_block_wins_then_metadata_overrides() {
        let policy = Policy {
            blocks: vec![
                PolicyBlock {
                    label: "policy[1] webinar-*".into(),
                    rooms: globs(&["webinar-*"]),
                    patch: RulePatch {
                        max_room_age: Some(Limit(Some(Duration::from_secs(36_000)))),
                        ..Default::default()
                    },
                },
                PolicyBlock {
                    label: "policy[2] *".into(),
                    rooms: globs(&["*"]),
                    patch: RulePatch {
                        exempt: Some(true),
                        ..Default::default()
                    },
                },
            ],
            metadata_key: Some("reaper".into()),
            ..Default::default()
        };
        let r = policy.resolve("webinar-1", "");
        assert_eq!(r.rules.max_room_age, Some(Duration::from_secs(36_000)));
        assert!(!r.rules.exempt);
        assert_eq!(r.source, "policy[1] webinar-*");
        assert!(policy.resolve("x", "").rules.exempt);
        let r = policy.resolve("webinar-2", r#"{"reaper": {"exempt": true}}"#);
        assert!(r.rules.exempt);
        assert_eq!(r.source, "policy[1] webinar-* + metadata");
        let r = policy.resolve("webinar-3", "not json at all");
        assert!(!r.rules.exempt);
    }

    #[test]
    fn participants_are_listed_for_every_room_a_rule_may_act_on_and_no_other() {
        let now = chrono::Utc::now();
        let room = |name: &str, age_s: i64| Room {
            name: name.into(),
            sid: String::new(),
            created_ms: now.timestamp_millis() - age_s * 1000,
            metadata: String::new(),
            // A zero count is no proof of an empty room: it lags joins.
            num_participants: 0,
            live_ingresses: 0,
            empty_timeout: 300,
            departure_timeout: 20,
            participants: crate::inventory::Participants::NotListed,
        };
        let shard = Shard { index: 1, count: 4 };
        let names: Vec<String> = (0..100).map(|i| format!("room-{i}")).collect();
        let mut mine = names.iter().filter(|n| in_shard(n, shard));
        let (old, young) = (mine.next().unwrap(), mine.next().unwrap());
        let theirs = names.iter().find(|n| !in_shard(n, shard)).unwrap();
        let policy = Policy {
            scope: Scope {
                exclude: globs(&[old]),
                shard: Some(shard),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(
            !policy.needs_participants(&room(old, 600), now, false),
            "excluded"
        );
        assert!(
            !policy.needs_participants(&room(theirs, 600), now, false),
            "another shard's"
        );
        assert!(
            !policy.needs_participants(&room(young, 60), now, false),
            "within the grace"
        );
        assert!(policy.needs_participants(&room(young, 600), now, false));
        assert!(
            policy.needs_participants(&room(young, 60), now, true),
            "a memory notes the first look without a human"
        );

        let only_max_age = Policy {
            defaults: Rules {
                humanless: crate::cli::HumanlessMode::Off,
                max_room_age: Some(Duration::from_secs(3600)),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(!only_max_age.needs_participants(&room("a", 600), now, true));
        assert!(only_max_age.needs_participants(&room("a", 7200), now, false));
        let active = |rules: Rules| Policy {
            defaults: Rules {
                humanless: crate::cli::HumanlessMode::Off,
                ..rules
            },
            ..Default::default()
        };
        let silent = active(Rules {
            silent_after: Some(Duration::from_secs(600)),
            ..Default::default()
        });
        let sessions = active(Rules {
            max_session: Some(Duration::from_secs(600)),
            ..Default::default()
        });
        assert!(silent.needs_participants(&room("a", 60), now, true));
        assert!(sessions.needs_participants(&room("a", 60), now, false));
        let streamed = Room {
            live_ingresses: 1,
            ..room("a", 600)
        };
        assert!(
            only_max_age.needs_participants(&streamed, now, false),
            "forgotten_ingress judges a room with a live ingress past the grace"
        );
    }

    #[test]
    fn an_age_over_its_limit_reads_as_over_it() {
        let h = Duration::from_secs(3600);
        let cases = [
            (h + Duration::from_secs(5), h, ("1h 5s", "1h")),
            (h + Duration::from_millis(300), h, ("1h 300ms", "1h")),
            (2 * h, h, ("2h", "1h")),
        ];
        for (age, max, (want_age, want_max)) in cases {
            assert_eq!(
                exceeding(age, max),
                (want_age.to_owned(), want_max.to_owned())
            );
        }
    }

    #[test]
    fn durations_read_well() {
        let cases = [
            (5, "5s"),
            (60, "1m"),
            (70, "1m 10s"),
            (3600, "1h"),
            (4210, "1h 10m"),
            (90_000, "1d 1h"),
            (86_400, "1d"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::from_secs(secs)), want);
        }
    }
}
