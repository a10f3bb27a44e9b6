//! Findings grouped into jobs: what runs together, in which order. Pure.

use std::collections::HashMap;

use crate::policy::{Action, Finding, Recheck};

/// The work of one room (its ingresses disabled or deleted, its egress stops, then its
/// deletion) or of one lone egress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The room to re-check or delete; empty for a web egress.
    pub room: String,
    /// Index of the room's `delete_room` finding.
    pub delete: Option<usize>,
    /// Indices of `stop_egress` findings, stopped before any deletion.
    pub stops: Vec<usize>,
    /// Indices of `disable_ingress` / `delete_ingress` findings: first of all, so that no
    /// encoder brings the room back once it is deleted.
    pub ingresses: Vec<usize>,
    /// Index of a zombie room's `purge_room` finding: alone in its job.
    pub purge: Option<usize>,
    /// Indices of `remove_participant` findings, removed before anything else.
    pub removes: Vec<usize>,
    pub recheck: Recheck,
}

/// All jobs, oldest offender first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub jobs: Vec<Job>,
}

impl Plan {
    /// Groups findings (already oldest first) so that a room's egresses are stopped before
    /// it is deleted, and a room is re-checked once for all of them. Zombie rooms get a job
    /// only with `purge_zombies`, and ingresses only when they are to be acted on: otherwise
    /// nothing will be done to them. Findings only reported get none.
    pub fn from_findings(findings: &[Finding], purge_zombies: bool) -> Self {
        let mut jobs: Vec<Job> = Vec::new();
        // Per room, the first job that room-level findings join (any but an orphan's
        // re-check), so grouping stays linear: a large fleet has thousands of findings.
        let mut joinable: HashMap<&str, usize> = HashMap::new();
        for (index, finding) in findings.iter().enumerate() {
            if finding.report_only().is_some() {
                continue;
            }
            if finding.action == Action::PurgeRoom {
                if purge_zombies {
                    jobs.push(Job {
                        purge: Some(index),
                        ..Job::of(&finding.room, Recheck::None)
                    });
                }
                continue;
            }
            let room_level = finding.is_room_level();
            let existing = room_level
                .then(|| joinable.get(finding.room.as_str()).copied())
                .flatten();
            let at = existing.unwrap_or_else(|| {
                let recheck = if room_level {
                    Recheck::None
                } else {
                    finding.recheck
                };
                jobs.push(Job::of(&finding.room, recheck));
                if recheck != Recheck::RoomGone {
                    joinable.entry(&finding.room).or_insert(jobs.len() - 1);
                }
                jobs.len() - 1
            });
            let job = &mut jobs[at];
            match finding.action {
                Action::DeleteRoom => job.delete = Some(index),
                Action::StopEgress => job.stops.push(index),
                Action::DisableIngress | Action::DeleteIngress => job.ingresses.push(index),
                Action::RemoveParticipant => job.removes.push(index),
                Action::PurgeRoom => unreachable!("zombie rooms were given their own job"),
            }
            if finding.recheck.lists_participants() {
                job.recheck = finding.recheck;
            }
        }
        Self { jobs }
    }

    /// How many mutations the plan holds.
    pub fn actions(&self) -> usize {
        self.jobs
            .iter()
            .map(|j| {
                j.ingresses.len()
                    + j.removes.len()
                    + j.stops.len()
                    + usize::from(j.delete.is_some())
                    + usize::from(j.purge.is_some())
            })
            .sum()
    }
}

impl Job {
    /// The same job with its deletion only, to ask again: what else it held is done.
    #[must_use]
    pub fn deletion_only(&self) -> Self {
        Self {
            delete: self.delete,
            ..Self::of(&self.room, self.recheck)
        }
    }

    /// A job for `room` with nothing in it yet.
    fn of(room: &str, recheck: Recheck) -> Self {
        Self {
            room: room.to_owned(),
            delete: None,
            stops: Vec::new(),
            ingresses: Vec::new(),
            purge: None,
            removes: Vec::new(),
            recheck,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::policy::{Rule, Target};

    const NO_HUMAN: Recheck = Recheck::NoHuman {
        sip_ring_limit: Duration::from_secs(300),
    };

    fn finding(
        room: &str,
        egress: Option<&str>,
        rules: &[Rule],
        recheck: Recheck,
        age: u64,
    ) -> Finding {
        Finding {
            rules: rules.to_vec(),
            target: if egress.is_some() {
                Target::Egress
            } else {
                Target::Room
            },
            room: room.into(),
            room_sid: None,
            egress_id: egress.map(Into::into),
            age: Duration::from_secs(age),
            humans: None,
            others: None,
            reason: String::new(),
            action: if egress.is_some() {
                Action::StopEgress
            } else {
                Action::DeleteRoom
            },
            recheck,
            dead_node: None,
            held: None,
            ingress: None,
            participant: None,
        }
    }

    #[test]
    fn groups_room_work_and_keeps_lone_egress_apart() {
        let findings = [
            finding(
                "",
                Some("EG_web"),
                &[Rule::MaxEgressAge],
                Recheck::None,
                900,
            ),
            finding("r1", Some("EG_1"), &[Rule::Humanless], NO_HUMAN, 800),
            finding(
                "gone",
                Some("EG_o"),
                &[Rule::OrphanEgress],
                Recheck::RoomGone,
                700,
            ),
            finding("r1", None, &[Rule::Humanless], NO_HUMAN, 600),
            finding(
                "r1",
                Some("EG_2"),
                &[Rule::Humanless, Rule::MaxEgressAge],
                Recheck::None,
                500,
            ),
            finding("r2", None, &[Rule::MaxRoomAge], Recheck::None, 400),
        ];
        let plan = Plan::from_findings(&findings, false);
        assert_eq!(plan.actions(), 6);
        assert_eq!(
            plan.jobs,
            vec![
                Job {
                    room: String::new(),
                    delete: None,
                    stops: vec![0],
                    ingresses: vec![],
                    purge: None,
                    removes: Vec::new(),
                    recheck: Recheck::None
                },
                Job {
                    room: "r1".into(),
                    delete: Some(3),
                    stops: vec![1, 4],
                    ingresses: vec![],
                    purge: None,
                    removes: Vec::new(),
                    recheck: NO_HUMAN
                },
                Job {
                    room: "gone".into(),
                    delete: None,
                    stops: vec![2],
                    ingresses: vec![],
                    purge: None,
                    removes: Vec::new(),
                    recheck: Recheck::RoomGone
                },
                Job {
                    room: "r2".into(),
                    delete: Some(5),
                    stops: vec![],
                    ingresses: vec![],
                    purge: None,
                    removes: Vec::new(),
                    recheck: Recheck::None
                },
            ]
        );
    }

    #[test]
    fn zombie_rooms_get_a_job_of_their_own_only_when_purging() {
        let mut zombie = finding("z", None, &[Rule::ZombieRoom], Recheck::None, 900);
        zombie.action = Action::PurgeRoom;
        let findings = [
            zombie,
            finding("r1", None, &[Rule::Humanless], NO_HUMAN, 600),
        ];
        let kept = Plan::from_findings(&findings, false);
        assert_eq!(kept.actions(), 1);
        assert_eq!(kept.jobs[0].room, "r1");
        let purging = Plan::from_findings(&findings, true);
        assert_eq!(purging.actions(), 2);
        assert_eq!(
            purging.jobs[0],
            Job {
                room: "z".into(),
                delete: None,
                stops: vec![],
                ingresses: vec![],
                purge: Some(0),
                removes: Vec::new(),
                recheck: Recheck::None
            }
        );
    }

    #[test]
    fn removals_join_their_rooms_job_and_count_as_actions() {
        let over = Recheck::SessionOver {
            max_session: Duration::from_secs(3600),
        };
        let mut removal = finding("r1", None, &[Rule::MaxSession], over, 7200);
        removal.action = Action::RemoveParticipant;
        removal.target = Target::Participant;
        let findings = [
            removal.clone(),
            finding("r1", Some("EG_1"), &[Rule::Humanless], NO_HUMAN, 600),
            finding("r1", None, &[Rule::Humanless], NO_HUMAN, 600),
            removal,
        ];
        let plan = Plan::from_findings(&findings, false);
        assert_eq!(plan.actions(), 4);
        assert_eq!(
            plan.jobs,
            vec![Job {
                room: "r1".into(),
                delete: Some(2),
                stops: vec![1],
                ingresses: Vec::new(),
                purge: None,
                removes: vec![0, 3],
                // The room's own re-check; each removal re-checks its participant.
                recheck: NO_HUMAN
            }]
        );
    }
}
