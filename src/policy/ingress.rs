//! Rule `forgotten_ingress`: an encoder left running (OBS, a camera) keeps its ingress
//! publishing, and deleting its room is futile: the encoder reconnects and the room is back
//! within seconds (2.6 s on LiveKit v1.13.5 with Ingress v1.5.0).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::evaluate::{
    Action, Finding, IngressTarget, IngressView, Recheck, Rule, Target, Verdict,
};
use super::human::Headcount;
use super::{InScope, Policy, Rules, human_duration};
use crate::cli::IngressMode;
use crate::inventory::{Ingress, IngressStatus, Inventory, Room};

/// The findings of one room whose humanless grace is over: one per live ingress into it,
/// unless `--ingress off`.
pub(super) fn forgotten(
    room: &Room,
    rules: &Rules,
    age: Duration,
    count: &Headcount<'_>,
    ingresses: &[&Ingress],
    now: DateTime<Utc>,
) -> Vec<Finding> {
    if rules.ingress == IngressMode::Off {
        return Vec::new();
    }
    ingresses
        .iter()
        .map(|ingress| {
            let (action, skip) = decide(rules.ingress, ingress);
            let who = if count.others_described.is_empty() {
                "empty"
            } else {
                count.others_described.as_str()
            };
            let hint = match (rules.ingress, action) {
                (IngressMode::Report, Action::DisableIngress) => "; --ingress disable stops it",
                (_, Action::DeleteIngress) if skip.is_some() => "; --ingress delete stops it",
                _ => "",
            };
            Finding {
                rules: vec![Rule::ForgottenIngress],
                target: Target::Ingress,
                room: room.name.clone(),
                room_sid: Some(room.sid.clone()),
                egress_id: None,
                age: ingress.since(now).unwrap_or(age),
                humans: Some(count.humans),
                others: Some(count.others),
                reason: format!(
                    "{} ingress {} is {} into a room with no human ({who}) older than {}: its encoder will bring the room back seconds after it is deleted{hint}",
                    ingress.input.label(),
                    ingress.ingress_id,
                    status_word(ingress.status),
                    human_duration(rules.humanless_grace),
                ),
                action,
                recheck: Recheck::NoHuman {
                    sip_ring_limit: rules.sip_ring_limit,
                },
                dead_node: None,
                held: None,
                participant: None,
                ingress: Some(IngressTarget {
                    ingress_id: ingress.ingress_id.clone(),
                    skip,
                }),
            }
        })
        .collect()
}

/// The action for an ingress, and why it is only reported, if it is.
fn decide(mode: IngressMode, ingress: &Ingress) -> (Action, Option<String>) {
    match mode {
        IngressMode::Delete => (Action::DeleteIngress, None),
        IngressMode::Disable if ingress.reusable => (Action::DisableIngress, None),
        IngressMode::Disable => (
            Action::DeleteIngress,
            Some(
                "not reusable (a URL input): LiveKit refuses to disable it; --ingress delete deletes it"
                    .to_owned(),
            ),
        ),
        IngressMode::Report | IngressMode::Off => {
            let action = if ingress.reusable {
                Action::DisableIngress
            } else {
                Action::DeleteIngress
            };
            (action, Some("reported only (--ingress report)".to_owned()))
        }
    }
}

fn status_word(status: IngressStatus) -> &'static str {
    if status
        == IngressStatus::Known(crate::livekit::proto::ingress_state::Status::EndpointBuffering)
    {
        "buffering"
    } else {
        "publishing"
    }
}

/// The live ingresses of each room, by room name.
pub(super) fn live_by_room(inventory: &Inventory) -> HashMap<&str, Vec<&Ingress>> {
    let mut by_room: HashMap<&str, Vec<&Ingress>> = HashMap::new();
    for ingress in inventory.ingresses.iter().filter(|i| i.status.is_live()) {
        by_room
            .entry(ingress.room_name.as_str())
            .or_default()
            .push(ingress);
    }
    by_room
}

/// Why an ingress cannot be judged: no action is ever taken on a guess.
fn unjudged_because(ingress: &Ingress, listed: &HashSet<&str>) -> Option<&'static str> {
    if let IngressStatus::Unknown(_) = ingress.status {
        Some("has a status this version does not know")
    } else if !ingress.status.is_live() {
        None
    } else if ingress.room_name.is_empty() {
        Some("is live but names no room")
    } else if !listed.contains(ingress.room_name.as_str()) {
        Some("is live in a room that ListRooms does not list")
    } else {
        None
    }
}

/// One warning per cause that kept ingresses in scope from being judged, with examples.
pub(super) fn warnings(policy: &Policy, inventory: &Inventory) -> Vec<String> {
    let listed: HashSet<&str> = inventory.rooms.iter().map(|r| r.name.as_str()).collect();
    let mut by_cause: Vec<(&str, Vec<String>)> = Vec::new();
    for ingress in &inventory.ingresses {
        if policy.scope.classify(&ingress.room_name) == InScope::No {
            continue;
        }
        let Some(cause) = unjudged_because(ingress, &listed) else {
            continue;
        };
        let example = format!(
            "'{}' ({}, room '{}')",
            crate::redact::short(&ingress.ingress_id, 60),
            ingress.status.label(),
            crate::redact::short(&ingress.room_name, 60)
        );
        match by_cause.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, examples)) => examples.push(example),
            None => by_cause.push((cause, vec![example])),
        }
    }
    by_cause
        .into_iter()
        .map(|(cause, examples)| {
            let shown: Vec<&str> = examples.iter().take(3).map(String::as_str).collect();
            format!(
                "{} ingresses were not judged: each {cause}, so nothing is done to it, e.g. {}",
                examples.len(),
                shown.join(", ")
            )
        })
        .collect()
}

/// The `lk-reaper ingress` rows: every ingress in scope and its verdict.
pub(super) fn views(
    policy: &Policy,
    inventory: &Inventory,
    findings: &[Finding],
    now: DateTime<Utc>,
) -> Vec<IngressView> {
    let listed: HashSet<&str> = inventory.rooms.iter().map(|r| r.name.as_str()).collect();
    let rooms: HashMap<&str, &Room> = inventory
        .rooms
        .iter()
        .map(|r| (r.name.as_str(), r))
        .collect();
    let found: HashMap<&str, &Finding> = findings
        .iter()
        .filter_map(|f| f.ingress.as_ref().map(|i| (i.ingress_id.as_str(), f)))
        .collect();
    let mut out = Vec::new();
    for ingress in &inventory.ingresses {
        let scope = policy.scope.classify(&ingress.room_name);
        if scope == InScope::No {
            continue;
        }
        let metadata = rooms
            .get(ingress.room_name.as_str())
            .map_or("", |r| r.metadata.as_str());
        let verdict = if scope == InScope::Excluded {
            Verdict::Excluded
        } else if policy.resolve(&ingress.room_name, metadata).rules.exempt {
            Verdict::Exempt
        } else if unjudged_because(ingress, &listed).is_some() {
            Verdict::Unjudged
        } else if let Some(f) = found.get(ingress.ingress_id.as_str()) {
            let acts = f.ingress.as_ref().is_some_and(|i| i.skip.is_none());
            Verdict::Offends(f.rules.clone(), acts.then_some(f.action))
        } else {
            Verdict::Healthy
        };
        out.push(IngressView {
            ingress_id: ingress.ingress_id.clone(),
            input: ingress.input.label(),
            room: ingress.room_name.clone(),
            status: ingress.status.label(),
            since: ingress.since(now),
            enabled: ingress.enabled,
            verdict,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{IngressInput, Participants};
    use crate::livekit::proto;

    fn ingress(id: &str, input: proto::IngressInput, reusable: bool) -> Ingress {
        Ingress {
            ingress_id: id.into(),
            input: IngressInput::Known(input),
            room_name: "studio".into(),
            participant_identity: "obs".into(),
            reusable,
            enabled: true,
            status: IngressStatus::Known(proto::ingress_state::Status::EndpointPublishing),
            since_ns: 0,
        }
    }

    #[test]
    fn each_mode_acts_or_reports_as_the_spec_says() {
        let rtmp = ingress("IN_rtmp", proto::IngressInput::RtmpInput, true);
        let url = ingress("IN_url", proto::IngressInput::UrlInput, false);
        let cases = [
            (IngressMode::Report, &rtmp, Action::DisableIngress, true),
            (IngressMode::Report, &url, Action::DeleteIngress, true),
            (IngressMode::Disable, &rtmp, Action::DisableIngress, false),
            (IngressMode::Disable, &url, Action::DeleteIngress, true),
            (IngressMode::Delete, &rtmp, Action::DeleteIngress, false),
            (IngressMode::Delete, &url, Action::DeleteIngress, false),
        ];
        for (mode, ingress, action, reported) in cases {
            let (got, skip) = decide(mode, ingress);
            assert_eq!(
                (got, skip.is_some()),
                (action, reported),
                "{mode:?} {}",
                ingress.ingress_id
            );
        }
    }

    #[test]
    fn a_finding_names_the_ingress_and_says_the_room_will_come_back() {
        let room = Room {
            name: "studio".into(),
            sid: "RM_1".into(),
            created_ms: 0,
            metadata: String::new(),
            num_participants: 1,
            live_ingresses: 1,
            empty_timeout: 300,
            departure_timeout: 20,
            participants: Participants::NotListed,
        };
        let count = Headcount {
            humans: 0,
            others: 1,
            others_described: "1 ingress".into(),
            doubts: Vec::new(),
            silent: 0,
        };
        let rtmp = ingress("IN_rtmp", proto::IngressInput::RtmpInput, true);
        let hour = Duration::from_secs(3600);
        let now = Utc::now();
        let rules = Rules::default();
        let found = forgotten(&room, &rules, hour, &count, &[&rtmp], now);
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(
            (f.target, f.action),
            (Target::Ingress, Action::DisableIngress)
        );
        assert_eq!(f.report_only(), Some("reported only (--ingress report)"));
        assert_eq!(f.age, hour, "no session start: the room's age");
        assert!(
            f.reason.contains("RTMP ingress IN_rtmp is publishing")
                && f.reason.contains("(1 ingress)")
                && f.reason.contains("will bring the room back")
                && f.reason.ends_with("--ingress disable stops it"),
            "{}",
            f.reason
        );
        let off = Rules {
            ingress: IngressMode::Off,
            ..Rules::default()
        };
        assert!(forgotten(&room, &off, hour, &count, &[&rtmp], now).is_empty());
    }
}
