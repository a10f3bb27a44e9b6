//! When a rule could first fire: from a webhook event, or from what a sweep or a check saw.
//! Pure: the caller passes the time.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::cli::HumanlessMode;
use crate::inventory::{Inventory, Participant, Participants};
use crate::livekit::proto;
use crate::policy::{InScope, Policy, Rules};
use crate::time::{self, from_millis as millis, from_nanos as nanos, from_secs as seconds};

use super::scheduler::Cause;

/// What an event asks of the timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Check `room` at `at`.
    Check {
        room: String,
        at: SystemTime,
        cause: Cause,
    },
    /// The room finished: drop its pending check.
    Cancel { room: String },
    /// Someone left `room`, or it started empty, at `at`: its grace runs from then.
    Emptied {
        room: String,
        sid: String,
        at: SystemTime,
    },
    /// A human joined `room`.
    Human { room: String },
}

/// The effects of one verified event received at `now`.
pub fn of_event(event: &proto::WebhookEvent, policy: &Policy, now: SystemTime) -> Vec<Effect> {
    let name = room_name(event);
    // A web egress has no room to check: full sweeps judge it.
    if name.is_empty() || policy.scope.classify(name) != InScope::Yes {
        return Vec::new();
    }
    let metadata = event.room.as_ref().map_or("", |r| r.metadata.as_str());
    let rules = policy.resolve(name, metadata).rules;
    let room = || name.to_owned();
    let trigger = match triggered(event, policy, &rules, now) {
        Triggered::Nothing => return Vec::new(),
        Triggered::Cancel => return vec![Effect::Cancel { room: room() }],
        Triggered::HumanJoined => return human_joined(event, name, &rules, now),
        Triggered::Check(_) if rules.exempt => return Vec::new(),
        Triggered::Check(trigger) => trigger,
    };
    // A clock running fast, or a forged date, must not postpone the room's checks.
    let since = seconds(event.created_at).map_or(now, |at| time::not_after(at, now));
    let emptied = match trigger {
        "participant_left" | "participant_connection_aborted" => Some(since),
        "room_started" => Some(created(event, now).unwrap_or(since)),
        _ => None,
    };
    let grace = (rules.humanless != HumanlessMode::Off).then(|| {
        (
            time::add(now, rules.humanless_grace),
            Cause { trigger, since },
        )
    });
    let checks = grace
        .into_iter()
        .chain(age_deadline(event, trigger, &rules, since, now))
        .map(|(at, cause)| Effect::Check {
            room: room(),
            at,
            cause,
        });
    emptied
        .map(|at| Effect::Emptied {
            room: room(),
            sid: event
                .room
                .as_ref()
                .map_or("", |r| r.sid.as_str())
                .to_owned(),
            at,
        })
        .into_iter()
        .chain(checks)
        .collect()
}

/// When the event's room was created, if it says; no later than `now`.
fn created(event: &proto::WebhookEvent, now: SystemTime) -> Option<SystemTime> {
    let room = event.room.as_ref()?;
    let at = millis(room.creation_time_ms).or_else(|| seconds(room.creation_time))?;
    Some(time::not_after(at, now))
}

/// The room an event is about: its room's, its egress's, or its ingress's.
fn room_name(event: &proto::WebhookEvent) -> &str {
    match (&event.room, &event.egress_info, &event.ingress_info) {
        (Some(room), _, _) => &room.name,
        (None, Some(egress), _) => &egress.room_name,
        (None, None, Some(ingress)) => &ingress.room_name,
        (None, None, None) => "",
    }
}

/// What an event asks for, before the room's rules are applied.
enum Triggered {
    Nothing,
    Cancel,
    HumanJoined,
    Check(&'static str),
}

fn triggered(
    event: &proto::WebhookEvent,
    policy: &Policy,
    rules: &Rules,
    now: SystemTime,
) -> Triggered {
    match event.event.as_str() {
        "room_finished" => Triggered::Cancel,
        // A human joining cannot make a room humanless.
        "participant_joined"
            if event
                .participant
                .as_ref()
                .is_some_and(|p| is_human(p, policy, rules, now)) =>
        {
            Triggered::HumanJoined
        }
        "participant_left" => Triggered::Check("participant_left"),
        "participant_connection_aborted" => Triggered::Check("participant_connection_aborted"),
        "participant_joined" => Triggered::Check("participant_joined"),
        "room_started" => Triggered::Check("room_started"),
        "egress_started" => Triggered::Check("egress_started"),
        // An encoder publishing into a room: forgotten_ingress once the grace has passed.
        "ingress_started" => Triggered::Check("ingress_started"),
        _ => Triggered::Nothing,
    }
}

/// The age deadline a `room_started` or `egress_started` event sets, if its rules have one.
fn age_deadline(
    event: &proto::WebhookEvent,
    trigger: &str,
    rules: &Rules,
    since: SystemTime,
    now: SystemTime,
) -> Option<(SystemTime, Cause)> {
    let (rule, at) = match trigger {
        "room_started" => {
            let created = created(event, now).unwrap_or(since);
            ("max_room_age", time::add(created, rules.max_room_age?))
        }
        "egress_started" => {
            let egress = event.egress_info.as_ref()?;
            let started = nanos(egress.started_at).map_or(since, |at| time::not_after(at, now));
            ("max_egress_age", time::add(started, rules.max_egress_age?))
        }
        _ => return None,
    };
    Some((at, deadline(rule, at)))
}

/// A human joined `room`: its grace stops, and the end of their session is a deadline.
fn human_joined(
    event: &proto::WebhookEvent,
    room: &str,
    rules: &Rules,
    now: SystemTime,
) -> Vec<Effect> {
    let session_end = session_deadline(event, rules, now).map(|(at, cause)| Effect::Check {
        room: room.to_owned(),
        at,
        cause,
    });
    std::iter::once(Effect::Human {
        room: room.to_owned(),
    })
    .chain(session_end)
    .collect()
}

/// When the human who just joined (`participant_joined`) will have been connected longer
/// than the room's `max_session`, if it has one.
fn session_deadline(
    event: &proto::WebhookEvent,
    rules: &Rules,
    now: SystemTime,
) -> Option<(SystemTime, Cause)> {
    let max = rules.max_session.filter(|_| !rules.exempt)?;
    let p = event.participant.as_ref()?;
    let joined = millis(p.joined_at_ms).or_else(|| seconds(p.joined_at));
    // A clock running fast, or a forged date, must not postpone the check.
    let joined = joined.map_or(now, |at| time::not_after(at, now));
    let at = session_end(joined, max);
    Some((at, deadline("max_session", at)))
}

/// Just past the limit: `max_session` acts on sessions longer than it.
fn session_end(joined: SystemTime, max: Duration) -> SystemTime {
    time::add(time::add(joined, max), SESSION_MARGIN)
}

const SESSION_MARGIN: Duration = Duration::from_millis(100);

/// The age deadlines (`max_room_age`, `max_egress_age`, and `max_session` of each listed
/// human) of every room and running egress in `inventory` that fall after `now` and no
/// later than `until`, one per room (the earliest). A full sweep schedules those before the
/// next sweep; a check, its room's next.
pub fn age_deadlines(
    policy: &Policy,
    inventory: &Inventory,
    now: SystemTime,
    until: SystemTime,
) -> Vec<(String, SystemTime, Cause)> {
    let mut candidates: Vec<(&str, SystemTime, &'static str)> = Vec::new();
    let mut metadata: HashMap<&str, &str> = HashMap::new();
    for room in &inventory.rooms {
        metadata.insert(&room.name, &room.metadata);
        let Some(rules) = rules_of(policy, &room.name, &room.metadata) else {
            continue;
        };
        if let Some(max) = rules.max_room_age
            && let Some(created) = millis(room.created_ms)
        {
            candidates.push((&room.name, time::add(created, max), "max_room_age"));
        }
        if let (Some(max), Participants::Listed(list)) = (rules.max_session, &room.participants) {
            let humans = policy
                .humans
                .at(rules.sip_ring_limit, time::unix_millis(now));
            let joined = (list.iter())
                .filter(|p| humans.is_human(p))
                .filter_map(|p| millis(p.joined_ms));
            candidates
                .extend(joined.map(|at| (room.name.as_str(), session_end(at, max), "max_session")));
        }
    }
    for egress in inventory.egresses.iter().filter(|e| e.is_running()) {
        let room = egress.room_name.as_str();
        let meta = metadata.get(room).copied().unwrap_or("");
        if !room.is_empty()
            && let Some(max) = rules_of(policy, room, meta).and_then(|r| r.max_egress_age)
            && let Some(started) = nanos(egress.started_ns)
        {
            candidates.push((room, time::add(started, max), "max_egress_age"));
        }
    }
    let mut earliest: HashMap<&str, (SystemTime, &'static str)> = HashMap::new();
    for (room, at, rule) in candidates {
        if at <= now || at > until {
            continue;
        }
        let slot = earliest.entry(room).or_insert((at, rule));
        if at < slot.0 {
            *slot = (at, rule);
        }
    }
    earliest
        .into_iter()
        .map(|(room, (at, rule))| (room.to_owned(), at, deadline(rule, at)))
        .collect()
}

fn rules_of(policy: &Policy, room: &str, metadata: &str) -> Option<Rules> {
    if policy.scope.classify(room) != InScope::Yes {
        return None;
    }
    Some(policy.resolve(room, metadata).rules).filter(|r| !r.exempt)
}

fn deadline(rule: &'static str, at: SystemTime) -> Cause {
    Cause {
        trigger: rule,
        since: at,
    }
}

fn is_human(p: &proto::ParticipantInfo, policy: &Policy, rules: &Rules, now: SystemTime) -> bool {
    policy
        .humans
        .at(rules.sip_ring_limit, time::unix_millis(now))
        .is_human(&Participant::from(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Egress, EgressKind, Participants, Room};
    use crate::policy::Rules;
    use std::time::Duration;

    const MIN: Duration = Duration::from_secs(60);

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    fn policy(max_room_age: Option<Duration>, max_egress_age: Option<Duration>) -> Policy {
        Policy {
            defaults: Rules {
                max_room_age,
                max_egress_age,
                ..Rules::default()
            },
            ..Policy::default()
        }
    }

    fn event(kind: &str, room: &str, created_at: i64) -> proto::WebhookEvent {
        proto::WebhookEvent {
            event: kind.into(),
            id: "EV_1".into(),
            created_at,
            room: Some(proto::Room {
                name: room.into(),
                sid: format!("RM_{room}"),
                creation_time: 1_000,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn check(room: &str, when: SystemTime, trigger: &'static str, since: SystemTime) -> Effect {
        Effect::Check {
            room: room.into(),
            at: when,
            cause: Cause { trigger, since },
        }
    }

    #[test]
    fn events_schedule_the_grace_and_the_age_deadlines() {
        let p = policy(Some(60 * MIN), Some(30 * MIN));
        let now = at(2_000);
        let emptied = |s: u64| Effect::Emptied {
            room: "r".into(),
            sid: "RM_r".into(),
            at: at(s),
        };
        assert_eq!(
            of_event(&event("participant_left", "r", 1_990), &p, now),
            vec![
                emptied(1_990),
                check("r", now + 5 * MIN, "participant_left", at(1_990))
            ]
        );
        assert_eq!(
            of_event(&event("room_started", "r", 1_990), &p, now),
            vec![
                emptied(1_000),
                check("r", now + 5 * MIN, "room_started", at(1_990)),
                check(
                    "r",
                    at(1_000) + 60 * MIN,
                    "max_room_age",
                    at(1_000) + 60 * MIN
                ),
            ]
        );
        let mut started = event("egress_started", "r", 1_990);
        started.room = None;
        started.egress_info = Some(proto::EgressInfo {
            room_name: "r".into(),
            started_at: 1_500 * 1_000_000_000,
            ..Default::default()
        });
        assert_eq!(
            of_event(&started, &p, now),
            vec![
                check("r", now + 5 * MIN, "egress_started", at(1_990)),
                check(
                    "r",
                    at(1_500) + 30 * MIN,
                    "max_egress_age",
                    at(1_500) + 30 * MIN
                ),
            ]
        );
        let mut ingress = event("ingress_started", "", 1_990);
        ingress.room = None;
        ingress.ingress_info = Some(proto::IngressInfo {
            room_name: "r".into(),
            ..Default::default()
        });
        assert_eq!(
            of_event(&ingress, &p, now),
            vec![check("r", now + 5 * MIN, "ingress_started", at(1_990))]
        );
        assert_eq!(
            of_event(&event("room_finished", "r", 1_990), &p, now),
            vec![Effect::Cancel { room: "r".into() }]
        );
        assert!(of_event(&event("track_published", "r", 1_990), &p, now).is_empty());
    }

    #[test]
    fn a_human_joining_an_exempt_room_or_one_out_of_scope_schedules_nothing() {
        let mut p = policy(None, None);
        let mut joined = event("participant_joined", "r", 1_990);
        joined.participant = Some(proto::ParticipantInfo {
            identity: "alice".into(),
            ..Default::default()
        });
        assert_eq!(
            of_event(&joined, &p, at(2_000)),
            vec![Effect::Human { room: "r".into() }],
            "a human: no check, and the room's grace stops"
        );
        joined.participant.as_mut().unwrap().kind = proto::participant_info::Kind::Agent as i32;
        assert_eq!(of_event(&joined, &p, at(2_000)).len(), 1, "an agent");
        let mut exclude = globset::GlobSetBuilder::new();
        exclude.add(globset::Glob::new("r").unwrap());
        p.scope.exclude = exclude.build().unwrap();
        assert!(of_event(&joined, &p, at(2_000)).is_empty(), "excluded");
    }

    #[test]
    fn a_human_joining_schedules_the_end_of_their_session_under_max_session() {
        let mut p = policy(None, None);
        p.defaults.max_session = Some(60 * MIN);
        let mut joined = event("participant_joined", "r", 1_990);
        joined.participant = Some(proto::ParticipantInfo {
            identity: "alice".into(),
            joined_at: 1_950,
            ..Default::default()
        });
        let human = Effect::Human { room: "r".into() };
        let end = at(1_950) + 60 * MIN + SESSION_MARGIN;
        assert_eq!(
            of_event(&joined, &p, at(2_000)),
            vec![human.clone(), check("r", end, "max_session", end)]
        );
        // A joining time ahead of the clock counts from now, never later.
        joined.participant.as_mut().unwrap().joined_at = 9_999;
        let end = at(2_000) + 60 * MIN + SESSION_MARGIN;
        assert_eq!(
            of_event(&joined, &p, at(2_000)),
            vec![human.clone(), check("r", end, "max_session", end)]
        );
        p.defaults.exempt = true;
        assert_eq!(of_event(&joined, &p, at(2_000)), vec![human], "exempt");
    }

    #[test]
    fn a_sweep_schedules_the_end_of_each_listed_humans_session() {
        use crate::cli::ParticipantKind;
        use crate::inventory::Kind;
        let mut p = policy(None, None);
        p.defaults.max_session = Some(10 * MIN);
        let joined = |identity: &str, kind, s: i64| crate::inventory::Participant {
            identity: identity.into(),
            sid: format!("PA_{identity}"),
            kind,
            kind_details: Vec::new(),
            state: proto::participant_info::State::Active as i32,
            hidden: false,
            joined_ms: s * 1000,
            tracks: Vec::new(),
            call_status: None,
        };
        let (standard, agent) = (
            Kind::Known(ParticipantKind::Standard),
            Kind::Known(ParticipantKind::Agent),
        );
        let mut call = room("call", 0);
        call.participants = Participants::Listed(vec![
            joined("agent", agent, 2_900),    // not a human: 3500
            joined("bob", standard, 3_100),   // 3700: the earliest human
            joined("alice", standard, 3_200), // 3800
        ]);
        let mut unlisted = room("unlisted", 0);
        unlisted.num_participants = 1;
        let inventory = Inventory {
            taken_at: chrono::Utc::now(),
            rooms: vec![call, unlisted],
            egresses: Vec::new(),
            egress_unchecked: None,
            ingresses: Vec::new(),
            ingress_unchecked: None,
            dead_nodes: HashMap::new(),
        };
        let end = at(3_100) + 10 * MIN + SESSION_MARGIN;
        assert_eq!(
            age_deadlines(&p, &inventory, at(3_550), at(3_550) + 5 * MIN),
            vec![("call".into(), end, deadline("max_session", end))]
        );
    }

    fn room(name: &str, created_s: i64) -> Room {
        Room {
            name: name.into(),
            sid: String::new(),
            created_ms: created_s * 1000,
            metadata: String::new(),
            num_participants: 0,
            live_ingresses: 0,
            empty_timeout: 0,
            departure_timeout: 0,
            participants: Participants::NotListed,
        }
    }

    fn egress(room: &str, started_s: i64) -> Egress {
        Egress {
            egress_id: format!("EG_{room}"),
            room_name: room.into(),
            kind: EgressKind::RoomComposite,
            status: proto::EgressStatus::EgressActive,
            started_ns: started_s * 1_000_000_000,
        }
    }

    #[test]
    fn a_sweep_schedules_the_age_deadlines_before_the_next_sweep_earliest_per_room() {
        let p = policy(Some(60 * MIN), Some(30 * MIN));
        let inventory = Inventory {
            taken_at: chrono::Utc::now(),
            rooms: vec![
                room("due-soon", 10),      // 3610: in the window
                room("past", -100),        // 3500: already due, the sweep acts on it
                room("later", 1_000),      // 4600: after the next sweep
                room("egress-first", 500), // 4100; its egress 3580
            ],
            egresses: vec![egress("egress-first", 1_780), egress("", 0)],
            egress_unchecked: None,
            ingresses: Vec::new(),
            ingress_unchecked: None,
            dead_nodes: HashMap::new(),
        };
        let mut got = age_deadlines(&p, &inventory, at(3_550), at(3_550) + 5 * MIN);
        got.sort_by_key(|(_, when, _)| *when);
        let max_egress = at(1_780) + 30 * MIN;
        assert_eq!(
            got,
            vec![
                (
                    "egress-first".into(),
                    max_egress,
                    deadline("max_egress_age", max_egress)
                ),
                (
                    "due-soon".into(),
                    at(3_610),
                    deadline("max_room_age", at(3_610))
                ),
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn any_event_times_schedule_nothing_before_now_and_never_panic(
            created_at in proptest::prelude::any::<i64>(),
            creation_time in proptest::prelude::any::<i64>(),
            creation_time_ms in proptest::prelude::any::<i64>(),
            started_at in proptest::prelude::any::<i64>(),
            limit in proptest::prelude::any::<u64>(),
        ) {
            let limit = Duration::from_secs(limit);
            let mut p = policy(Some(limit), Some(limit));
            p.defaults.humanless_grace = limit;
            let now = SystemTime::now();
            for kind in ["participant_left", "room_started", "egress_started"] {
                let mut e = event(kind, "r", created_at);
                if let Some(room) = e.room.as_mut() {
                    room.creation_time = creation_time;
                    room.creation_time_ms = creation_time_ms;
                }
                e.egress_info = Some(proto::EgressInfo {
                    room_name: "r".into(),
                    started_at,
                    ..Default::default()
                });
                for effect in of_event(&e, &p, now) {
                    match effect {
                        Effect::Emptied { at, .. } => proptest::prop_assert!(at <= now),
                        Effect::Check { cause, .. } if cause.trigger == kind => {
                            proptest::prop_assert!(cause.since <= now, "a date ahead counts as now");
                        }
                        _ => {}
                    }
                }
                let _at = super::super::scheduler::instant_of(crate::time::add(now, Duration::from_secs(u64::MAX)));
            }
        }
    }
}
