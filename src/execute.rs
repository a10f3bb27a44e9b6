//! Runs a plan: re-check, act, classify every outcome. One failure never stops the rest.

use futures::StreamExt;
use serde::Serialize;
use tokio::time::Instant;

use crate::inventory::Participant;
use crate::livekit::error::code;
use crate::livekit::{ApiError, LiveKit};
use crate::plan::{Job, Plan};
use crate::policy::{Finding, HumanSpec, Recheck};

/// What happened to one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Dry run, or refused by `--max-actions`.
    Planned,
    Done,
    /// The room or egress was gone or already ending: nothing left to do.
    AlreadyGone,
    /// The re-check right before acting showed the reason no longer holds.
    SkippedRecheck,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Done => "done",
            Self::AlreadyGone => "already_gone",
            Self::SkippedRecheck => "skipped_recheck",
            Self::Failed => "failed",
        }
    }
}

/// An outcome and, for failures and skips, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResult {
    pub outcome: Outcome,
    pub error: Option<String>,
}

impl ActionResult {
    fn of(outcome: Outcome) -> Self {
        Self {
            outcome,
            error: None,
        }
    }

    fn failed(error: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Failed,
            error: Some(error.into()),
        }
    }
}

/// Runs the jobs oldest first, `concurrency` at a time. Past `deadline` nothing new starts
/// and calls still in flight are abandoned; both are reported as failed, while what had
/// finished keeps its result. Returns one result per finding, in the findings' order.
pub async fn execute(
    lk: &impl LiveKit,
    plan: &Plan,
    findings: &[Finding],
    humans: &HumanSpec,
    concurrency: usize,
    deadline: Instant,
) -> Vec<ActionResult> {
    let mut results = vec![ActionResult::of(Outcome::Planned); findings.len()];
    let mut runs = futures::stream::iter(&plan.jobs)
        .map(|job| async move {
            if Instant::now() >= deadline {
                return failed_all(job, "not started: the run deadline (--timeout) had passed");
            }
            run_job(lk, job, findings, humans, deadline).await
        })
        .buffer_unordered(concurrency);
    while let Some(job_results) = runs.next().await {
        for (index, result) in job_results {
            results[index] = result;
        }
    }
    results
}

/// One call, given up when the run's deadline passes.
async fn until<T>(
    deadline: Instant,
    call: impl Future<Output = std::result::Result<T, ApiError>>,
) -> std::result::Result<T, ApiError> {
    tokio::time::timeout_at(deadline, call)
        .await
        .unwrap_or(Err(ApiError::RunDeadline))
}

fn failed_all(job: &Job, why: &str) -> Vec<(usize, ActionResult)> {
    job.stops
        .iter()
        .chain(&job.delete)
        .map(|&i| (i, ActionResult::failed(why)))
        .collect()
}

async fn run_job(
    lk: &impl LiveKit,
    job: &Job,
    findings: &[Finding],
    humans: &HumanSpec,
    deadline: Instant,
) -> Vec<(usize, ActionResult)> {
    let mut out = Vec::with_capacity(job.stops.len() + 1);
    // A failed or positive re-check blocks only the findings that depend on it.
    let blocked = match until(deadline, recheck(lk, job, humans)).await {
        Ok(None) => None,
        Ok(Some(why)) => Some(ActionResult {
            outcome: Outcome::SkippedRecheck,
            error: Some(why),
        }),
        Err(err) => Some(ActionResult::failed(format!(
            "re-check before acting failed, so nothing was done: {err}"
        ))),
    };
    let depends = |i: usize| findings[i].recheck != Recheck::None;

    let mut stops = Vec::new();
    for &i in &job.stops {
        match &blocked {
            Some(result) if depends(i) => out.push((i, result.clone())),
            _ => stops.push(i),
        }
    }
    let stopped = futures::future::join_all(stops.iter().map(|&i| {
        let egress_id = findings[i].egress_id.as_deref().unwrap_or_default();
        async move {
            let stopped = until(deadline, lk.stop_egress(egress_id)).await;
            (i, stop_result(egress_id, stopped))
        }
    }))
    .await;
    out.extend(stopped);

    if let Some(i) = job.delete {
        let result = match &blocked {
            Some(result) if depends(i) => result.clone(),
            // Deleting goes ahead even if a stop failed: LiveKit ends room-bound egress
            // when its room closes, and the failed stop is reported on its own row.
            _ => delete_result(until(deadline, lk.delete_room(&job.room)).await),
        };
        out.push((i, result));
    }
    out
}

/// Checks, right before acting, that the reason still holds. `Ok(Some(why))`: skip.
async fn recheck(
    lk: &impl LiveKit,
    job: &Job,
    humans: &HumanSpec,
) -> std::result::Result<Option<String>, ApiError> {
    match job.recheck {
        Recheck::None => Ok(None),
        Recheck::NoHuman { sip_ring_limit } => {
            let list = lk.list_participants(&job.room).await?;
            let test = humans.at(sip_ring_limit, chrono::Utc::now().timestamp_millis());
            let present: Vec<String> = list
                .iter()
                .map(Participant::from)
                .filter(|p| test.is_human(p))
                .map(|p| p.identity)
                .collect();
            Ok((!present.is_empty()).then(|| {
                format!(
                    "a human is present now: {}",
                    crate::report::sanitize::line(&present.join(", "))
                )
            }))
        }
        Recheck::RoomGone => {
            let rooms = lk.list_rooms(std::slice::from_ref(&job.room)).await?;
            // Match the name ourselves: a server that ignored the filter must not count.
            let back = rooms.iter().any(|r| r.name == job.room);
            Ok(back.then(|| "the room exists again (created after the inventory)".to_owned()))
        }
    }
}

fn stop_result<T>(egress_id: &str, result: std::result::Result<T, ApiError>) -> ActionResult {
    match result {
        Ok(_) => ActionResult::of(Outcome::Done),
        Err(err) => match err.code() {
            Some(code::NOT_FOUND | code::FAILED_PRECONDITION) => {
                ActionResult::of(Outcome::AlreadyGone)
            }
            Some(code::DEADLINE_EXCEEDED | code::UNAVAILABLE) => ActionResult::failed(format!(
                "egress worker did not answer: a stale record of {egress_id}? (egress workers restarted; LiveKit purges the record 24 h after it ends) — server said {err}"
            )),
            _ => ActionResult::failed(format!("could not stop egress {egress_id}: {err}")),
        },
    }
}

fn delete_result(result: std::result::Result<(), ApiError>) -> ActionResult {
    match result {
        Ok(()) => ActionResult::of(Outcome::Done),
        Err(err) => match err.code() {
            Some(code::NOT_FOUND) => ActionResult::of(Outcome::AlreadyGone),
            Some(code::UNKNOWN) => ActionResult::failed(format!(
                "server could not reach the room's node: a zombie room left in Redis after a node rotation? (livekit#3766) — server said {err}"
            )),
            _ => ActionResult::failed(format!("could not delete the room: {err}")),
        },
    }
}
