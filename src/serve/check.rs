//! A room check: the sweep pipeline (inventory -> evaluate -> plan -> execute) scoped to
//! one room, with the same re-checks and results.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio::time::Instant;

use crate::config::Config;
use crate::execute::{self, ActionResult, Outcome};
use crate::inventory::{self, Inventory};
use crate::livekit::{ApiError, Client, LiveKit, proto, wire};
use crate::plan::Plan;
use crate::policy::{self, Finding, Rule};

use super::metrics::Metrics;
use super::scheduler::Cause;
use crate::memory::{Shared, humanless_grace, humanless_only};

/// The LiveKit API as one room sees it: ListRooms `names=[room]`, ListEgress
/// `room_name=room`, ListIngress `room_name=room`; actions go to the server unchanged.
struct OneRoom<'a> {
    client: &'a Client,
    room: &'a str,
}

impl LiveKit for OneRoom<'_> {
    async fn list_rooms(&self, names: &[String]) -> Result<Vec<wire::Room>, ApiError> {
        let wanted = if names.is_empty() {
            vec![self.room.to_owned()]
        } else {
            names.to_vec()
        };
        let mut rooms = self.client.list_rooms(&wanted).await?;
        // A server that ignored the filter must not widen the check.
        rooms.retain(|r| wanted.contains(&r.name));
        Ok(rooms)
    }

    async fn list_participants(&self, room: &str) -> Result<Vec<proto::ParticipantInfo>, ApiError> {
        self.client.list_participants(room).await
    }

    async fn list_active_egress(&self) -> Result<Vec<wire::Egress>, ApiError> {
        let mut items = self.client.list_active_egress_of(self.room).await?;
        items.retain(|e| e.room_name == self.room);
        Ok(items)
    }

    async fn stop_egress(&self, egress_id: &str) -> Result<(), ApiError> {
        self.client.stop_egress(egress_id).await
    }

    async fn delete_room(&self, room: &str) -> Result<(), ApiError> {
        self.client.delete_room(room).await
    }

    async fn list_ingress(&self, _: &str) -> Result<Vec<wire::Ingress>, ApiError> {
        let mut items = self.client.list_ingress(self.room).await?;
        items.retain(|i| i.room_name == self.room);
        Ok(items)
    }

    async fn disable_ingress(&self, ingress_id: &str) -> Result<(), ApiError> {
        self.client.disable_ingress(ingress_id).await
    }

    async fn delete_ingress(&self, ingress_id: &str) -> Result<(), ApiError> {
        self.client.delete_ingress(ingress_id).await
    }

    async fn get_participant(
        &self,
        room: &str,
        identity: &str,
    ) -> Result<proto::ParticipantInfo, ApiError> {
        self.client.get_participant(room, identity).await
    }

    async fn remove_participant(&self, room: &str, identity: &str) -> Result<(), ApiError> {
        self.client.remove_participant(room, identity).await
    }
}

/// `--max-actions-per-minute`: event-driven checks together act at most this often in any
/// 60 seconds; a check whose plan does not fit is refused whole.
#[derive(Debug)]
pub struct Breaker {
    limit: usize,
    taken: VecDeque<Instant>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl Breaker {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            taken: VecDeque::new(),
        }
    }

    /// Takes `n` actions from the last minute's budget, or none if they do not all fit.
    pub fn admit(&mut self, n: usize, now: Instant) -> bool {
        while self.taken.front().is_some_and(|&t| now - t >= WINDOW) {
            self.taken.pop_front();
        }
        if self.taken.len() + n > self.limit {
            return false;
        }
        self.taken.extend(std::iter::repeat_n(now, n));
        true
    }
}

/// What room checks share: one client (so they share its concurrency), the policy, the
/// breaker and the counters.
pub struct Checker {
    pub client: Client,
    pub config: Config,
    pub dry_run: bool,
    pub breaker: Mutex<Breaker>,
    pub memory: Shared,
    pub metrics: Metrics,
}

/// What a check saw, for the room's next checks.
pub struct Checked {
    /// The inventory it judged (for the room's next age deadlines).
    pub inventory: Inventory,
    /// The room has no human, but has not been without one for its whole grace as far as
    /// serve knows: check it again then.
    pub grace_ends: Option<SystemTime>,
    /// The memory after the check, when `silent` is on (it judges by the memory).
    pub memory: Option<crate::memory::Memory>,
}

impl Checker {
    /// Checks one room and acts on what it finds; `None` when it could not take the
    /// inventory.
    pub async fn check(&self, room: &str, cause: Cause) -> Option<Checked> {
        self.metrics.check_run(cause.trigger);
        let deadline = crate::time::add_instant(Instant::now(), self.config.run.timeout);
        match self.check_until(room, cause, deadline).await {
            Ok(checked) => Some(checked),
            Err(err) => {
                tracing::warn!(
                    room = %crate::redact::line(room),
                    trigger = cause.trigger,
                    "check failed: {err:#}"
                );
                None
            }
        }
    }

    async fn check_until(
        &self,
        room: &str,
        cause: Cause,
        deadline: Instant,
    ) -> anyhow::Result<Checked> {
        let policy = &self.config.policy;
        let started = chrono::Utc::now();
        let client = self.client.until(deadline.into_std());
        let scoped = OneRoom {
            client: &client,
            room,
        };
        let fetch = inventory::fetch(
            &scoped,
            1,
            |r: &inventory::Room| policy.needs_participants(r, started, false),
            |_: usize, _: usize| {},
        );
        let inventory = tokio::time::timeout_at(deadline, fetch)
            .await
            .ok()
            .context("the check's deadline (--timeout) passed before its inventory")??;
        let (evaluation, memory) = self.judge(&inventory);
        let mut findings = evaluation.findings;
        let grace_ends = self.grace_ends(room, &inventory, &evaluation.rooms, &findings);
        if let Some(at) = grace_ends {
            findings.retain(|f| !humanless_only(f));
            tracing::info!(
                room = %crate::redact::line(room),
                trigger = cause.trigger,
                in_s = at.duration_since(SystemTime::now()).unwrap_or_default().as_secs(),
                "no human, but one was here less than the grace ago: checked again when it ends"
            );
        }
        // Zombie rooms need LiveKit's Redis: full sweeps find and purge them.
        let plan = Plan::from_findings(&findings, false);
        if plan.actions() == 0 {
            return Ok(Checked {
                inventory,
                grace_ends,
                memory,
            });
        }
        let results = if self.dry_run {
            planned(&findings)
        } else if !self.admit(plan.actions()) {
            tracing::warn!(
                room = %crate::redact::line(room),
                actions = plan.actions(),
                trigger = cause.trigger,
                "refused by --max-actions-per-minute: nothing was done; the next full sweep judges this room again"
            );
            self.metrics.refused(plan.actions());
            planned(&findings)
        } else {
            let humans = &policy.humans;
            let concurrency = self.config.run.concurrency;
            let no_purge = None::<&crate::cluster::Store>;
            execute::execute(
                &client,
                no_purge,
                &plan,
                &findings,
                humans,
                concurrency,
                deadline,
            )
            .await
        };
        self.report(&findings, &results, cause);
        Ok(Checked {
            inventory,
            grace_ends,
            memory,
        })
    }

    /// The check's verdicts, by the memory when `silent` is on (it judges silence by it),
    /// and the memory after them.
    fn judge(&self, inventory: &Inventory) -> (policy::Evaluation, Option<crate::memory::Memory>) {
        let (policy, now) = (&self.config.policy, chrono::Utc::now());
        if !policy.uses_silent() {
            return (policy::evaluate(policy, inventory, now), None);
        }
        let remembered = self.memory.for_evaluation();
        let (evaluation, next) = policy::remembering(policy, inventory, &remembered, now, true);
        (evaluation, Some(next))
    }

    /// Tells the memory what the check saw. When `humanless` (or `forgotten_ingress`, judged
    /// by the same grace) fired but the room's grace,
    /// counted from when serve last knew a human was there, has not ended: when it ends.
    fn grace_ends(
        &self,
        room: &str,
        inventory: &Inventory,
        views: &[policy::RoomView],
        findings: &[Finding],
    ) -> Option<SystemTime> {
        let humans = views.iter().find(|v| v.name == room)?.humans?;
        let now = SystemTime::now();
        if humans > 0 {
            self.memory.human(room);
            return None;
        }
        let sid = inventory
            .rooms
            .iter()
            .find(|r| r.name == room)?
            .sid
            .as_str();
        let since = self.memory.humanless(sid, room, now);
        let graced = |r: &Rule| matches!(r, Rule::Humanless | Rule::ForgottenIngress);
        if !findings.iter().any(|f| f.rules.iter().any(graced)) {
            return None;
        }
        let ends = crate::time::add(since, humanless_grace(&self.config.policy, inventory, room));
        (ends > now).then_some(ends)
    }

    fn admit(&self, actions: usize) -> bool {
        let mut breaker = self
            .breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        breaker.admit(actions, Instant::now())
    }

    /// One log event per action, and the counters.
    fn report(&self, findings: &[Finding], results: &[ActionResult], cause: Cause) {
        let now = SystemTime::now();
        for (finding, result) in findings.iter().zip(results) {
            crate::commands::sweep::log_action(finding, result);
            let waited = now.duration_since(cause.since).unwrap_or_default();
            self.metrics.action(
                result.outcome,
                (result.outcome == Outcome::Done).then_some(waited),
            );
        }
    }
}

fn planned(findings: &[Finding]) -> Vec<ActionResult> {
    vec![ActionResult::of(Outcome::Planned); findings.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_breaker_refuses_a_burst_and_refills_after_a_minute() {
        let mut b = Breaker::new(5);
        let t0 = Instant::now();
        assert!(b.admit(3, t0));
        assert!(!b.admit(3, t0 + Duration::from_secs(10)), "3 + 3 > 5");
        assert!(b.admit(2, t0 + Duration::from_secs(20)));
        assert!(!b.admit(1, t0 + Duration::from_secs(59)));
        assert!(
            b.admit(3, t0 + Duration::from_secs(60)),
            "the first 3 left the window"
        );
    }
}
