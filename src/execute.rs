//! Runs a plan: re-check, act, classify every outcome. One failure never stops the rest.

use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use tokio::time::Instant;

use crate::cluster::{Purge, PurgeOutcome};
use crate::inventory::{Ingress, Participant};
use crate::livekit::error::code;
use crate::livekit::{ApiError, LiveKit};
use crate::plan::{Job, Plan};
use crate::policy::{Action, Finding, HumanSpec, Recheck};

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
    /// Not acted on by choice: a zombie room without `--purge-zombies`.
    Skipped,
    /// DeleteRoom said the room's node is gone (livekit#3766): LiveKit's API cannot
    /// delete it. Not a failure of this run; the summary warns about every one.
    Zombie,
    Failed,
}

impl Outcome {
    /// Every outcome, in the order reports count them.
    pub const ALL: [Outcome; 7] = [
        Outcome::Planned,
        Outcome::Done,
        Outcome::AlreadyGone,
        Outcome::SkippedRecheck,
        Outcome::Skipped,
        Outcome::Zombie,
        Outcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Done => "done",
            Self::AlreadyGone => "already_gone",
            Self::SkippedRecheck => "skipped_recheck",
            Self::Skipped => "skipped",
            Self::Zombie => "zombie",
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
    pub fn of(outcome: Outcome) -> Self {
        Self {
            outcome,
            error: None,
        }
    }

    /// An outcome with the reason the operator reads beside it.
    pub fn because(outcome: Outcome, why: impl Into<String>) -> Self {
        Self {
            outcome,
            error: Some(why.into()),
        }
    }

    fn failed(error: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Failed,
            error: Some(error.into()),
        }
    }
}

/// How long a DeleteRoom may take in the first pass before it is put behind all other work.
///
/// A zombie room (its node gone, livekit#3766) answers DeleteRoom only after LiveKit's own
/// 3 s wait for the dead node, and a healthy room in milliseconds. Waiting those 3 s in
/// worst-first order would let a few hundred zombies hold every slot while healthy rooms
/// behind them never start. So the first pass gives each DeleteRoom one second: a zombie
/// costs at most that, one slot, once, and healthy work behind it goes on. What did not
/// answer in time is asked again, with the full `--request-timeout`, after everything
/// else (the second pass), which is where a zombie gets its `zombie` result. A slow but
/// healthy room loses nothing but its place in the queue.
pub const FIRST_TRY: Duration = Duration::from_secs(1);

/// Runs the jobs oldest first, `concurrency` at a time, in two passes (see [`FIRST_TRY`]).
/// Past `deadline` nothing new starts and calls still in flight are abandoned; both are
/// reported as failed, while what had finished keeps its result. Returns one result per
/// finding, in the findings' order.
pub async fn execute(
    lk: &impl LiveKit,
    purger: Option<&impl Purge>,
    plan: &Plan,
    findings: &[Finding],
    humans: &HumanSpec,
    concurrency: usize,
    deadline: Instant,
) -> Vec<ActionResult> {
    let mut results = vec![ActionResult::of(Outcome::Planned); findings.len()];
    let ctx = Context {
        lk,
        purger,
        findings,
        humans,
        deadline,
    };
    let mut deferred = Vec::new();
    let first = plan.jobs.iter().map(|job| (job.clone(), Some(FIRST_TRY)));
    for (job_results, slow) in run_pass(&ctx, first, concurrency).await {
        for (index, result) in job_results {
            results[index] = result;
        }
        deferred.extend(slow);
    }
    // Worst first again (findings are in that order), whatever order the first pass ended
    // in. The egress stops of a deferred job are done: the second pass only deletes.
    deferred.sort_by_key(|job: &Job| job.delete);
    let second = deferred.into_iter().map(|job| (job, None));
    for (job_results, _) in run_pass(&ctx, second, concurrency).await {
        for (index, result) in job_results {
            results[index] = result;
        }
    }
    results
}

/// What every job of a run shares.
struct Context<'a, L, P> {
    lk: &'a L,
    purger: Option<&'a P>,
    findings: &'a [Finding],
    humans: &'a HumanSpec,
    deadline: Instant,
}

/// A job's results, and the job again (its deletion only) when DeleteRoom was too slow.
type JobOutput = (Vec<(usize, ActionResult)>, Option<Job>);

async fn run_pass<L: LiveKit, P: Purge>(
    ctx: &Context<'_, L, P>,
    jobs: impl Iterator<Item = (Job, Option<Duration>)>,
    concurrency: usize,
) -> Vec<JobOutput> {
    futures::stream::iter(jobs)
        .map(|(job, delete_within)| async move {
            if Instant::now() >= ctx.deadline {
                let why = "not started: the run deadline (--timeout) had passed";
                return (failed_all(&job, why), None);
            }
            run_job(ctx, &job, delete_within).await
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
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
    job.removes
        .iter()
        .chain(&job.ingresses)
        .chain(&job.stops)
        .chain(&job.delete)
        .chain(&job.purge)
        .map(|&i| (i, ActionResult::failed(why)))
        .collect()
}

/// Runs one job; `delete_within` bounds its DeleteRoom (first pass), and a deletion that
/// did not answer in time comes back as a job to run again.
async fn run_job<L: LiveKit, P: Purge>(
    ctx: &Context<'_, L, P>,
    job: &Job,
    delete_within: Option<Duration>,
) -> JobOutput {
    let (lk, findings, deadline) = (ctx.lk, ctx.findings, ctx.deadline);
    if let Some(i) = job.purge {
        return (vec![(i, purge(ctx, job, i).await)], None);
    }
    let mut out = Vec::with_capacity(job.removes.len() + job.stops.len() + 1);
    // Removals first: the room's own re-check then sees who is left.
    let removals = job
        .removes
        .iter()
        .map(|&i| async move { (i, remove(lk, &job.room, &findings[i], deadline).await) });
    out.extend(futures::future::join_all(removals).await);
    // A failed or positive re-check blocks only the findings that depend on it.
    let blocked = match until(deadline, recheck(lk, job, ctx.humans)).await {
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
    out.extend(act_on_ingresses(ctx, job, blocked.as_ref()).await);

    let mut stops = Vec::new();
    for &i in &job.stops {
        match &blocked {
            Some(result) if depends(i) => out.push((i, result.clone())),
            _ => stops.push(i),
        }
    }
    out.extend(stop_all(lk, findings, &stops, deadline).await);

    let mut again = None;
    if let Some(i) = job.delete {
        let result = match &blocked {
            Some(result) if depends(i) => result.clone(),
            // Deleting goes ahead even if a stop failed: LiveKit ends room-bound egress
            // when its room closes, and the failed stop is reported on its own row.
            _ => {
                let call = until(deadline, lk.delete_room(&job.room));
                let answer = match delete_within {
                    Some(limit) => tokio::time::timeout(limit, call).await.ok(),
                    None => Some(call.await),
                };
                if let Some(answer) = answer {
                    delete_result(answer)
                } else {
                    again = Some(job.deletion_only());
                    // Replaced by the second pass's result.
                    ActionResult::failed("DeleteRoom was slow; asked again later")
                }
            }
        };
        out.push((i, result));
    }
    (out, again)
}

/// Disables or deletes the job's ingresses, first of all, each only while it still publishes
/// into the room (ListIngress of that room, right before acting).
async fn act_on_ingresses<L: LiveKit, P>(
    ctx: &Context<'_, L, P>,
    job: &Job,
    blocked: Option<&ActionResult>,
) -> Vec<(usize, ActionResult)> {
    if job.ingresses.is_empty() {
        return Vec::new();
    }
    let all = |result: &ActionResult| job.ingresses.iter().map(|&i| (i, result.clone())).collect();
    if let Some(result) = blocked {
        return all(result);
    }
    let listed = match until(ctx.deadline, ctx.lk.list_ingress(&job.room)).await {
        Ok(listed) => listed,
        Err(err) => {
            return all(&ActionResult::failed(format!(
                "re-check before acting failed, so nothing was done: {err}"
            )));
        }
    };
    let mut out = Vec::with_capacity(job.ingresses.len());
    for &i in &job.ingresses {
        let finding = &ctx.findings[i];
        let id = finding
            .ingress
            .as_ref()
            .map_or("", |t| t.ingress_id.as_str());
        let live = listed.iter().any(|listed| {
            listed.ingress_id == id
                && listed.room_name == job.room
                && Ingress::from(listed.clone()).status.is_live()
        });
        let result = if !live {
            ActionResult::because(
                Outcome::SkippedRecheck,
                "the ingress no longer publishes into the room",
            )
        } else if finding.action == Action::DisableIngress {
            ingress_result(id, until(ctx.deadline, ctx.lk.disable_ingress(id)).await)
        } else {
            ingress_result(id, until(ctx.deadline, ctx.lk.delete_ingress(id)).await)
        };
        out.push((i, result));
    }
    out
}

fn ingress_result(ingress_id: &str, result: std::result::Result<(), ApiError>) -> ActionResult {
    match result {
        Ok(()) => ActionResult::of(Outcome::Done),
        Err(err) if err.code() == Some(code::NOT_FOUND) => ActionResult::of(Outcome::AlreadyGone),
        Err(err) => ActionResult::failed(format!("could not act on ingress {ingress_id}: {err}")),
    }
}

/// Stops the egresses of `stops` (indices of findings) together.
async fn stop_all(
    lk: &impl LiveKit,
    findings: &[Finding],
    stops: &[usize],
    deadline: Instant,
) -> Vec<(usize, ActionResult)> {
    futures::future::join_all(stops.iter().map(|&i| {
        let egress_id = findings[i].egress_id.as_deref().unwrap_or_default();
        async move {
            let stopped = until(deadline, lk.stop_egress(egress_id)).await;
            (i, stop_result(egress_id, stopped))
        }
    }))
    .await
}

/// Purges a zombie room's records from LiveKit's Redis, after the purger's own re-check.
async fn purge<L, P: Purge>(ctx: &Context<'_, L, P>, job: &Job, i: usize) -> ActionResult {
    let (Some(store), Some(node)) = (ctx.purger, ctx.findings[i].dead_node.as_ref()) else {
        return ActionResult::failed("no Redis connection to purge with (--redis-url)");
    };
    let answer = tokio::time::timeout_at(ctx.deadline, store.purge_room(&job.room, node)).await;
    match answer {
        Ok(Ok(PurgeOutcome::Purged)) => ActionResult::of(Outcome::Done),
        Ok(Ok(PurgeOutcome::Revived(why))) => ActionResult::because(Outcome::SkippedRecheck, why),
        Ok(Err(err)) => ActionResult::failed(format!("could not purge the room: {err:#}")),
        Err(_) => ActionResult::failed(ApiError::RunDeadline.to_string()),
    }
}

/// Removes a participant connected longer than `max_session`, after GetParticipant shows
/// the same session (sid), still over the limit: a rejoin is a new session.
async fn remove(
    lk: &impl LiveKit,
    room: &str,
    finding: &Finding,
    deadline: Instant,
) -> ActionResult {
    let (Some(seen), Recheck::SessionOver { max_session }) =
        (&finding.participant, finding.recheck)
    else {
        return ActionResult::failed("not a participant finding");
    };
    let now = match until(deadline, lk.get_participant(room, &seen.identity)).await {
        Err(err) if err.code() == Some(code::NOT_FOUND) => {
            return ActionResult::of(Outcome::AlreadyGone);
        }
        Err(err) => {
            return ActionResult::failed(format!(
                "re-check before acting failed, so nothing was done: {err}"
            ));
        }
        Ok(info) => Participant::from(&info),
    };
    if now.sid != seen.sid {
        return ActionResult::because(
            Outcome::SkippedRecheck,
            "it rejoined: a new session, whose time starts again",
        );
    }
    let held = crate::inventory::age_at(now.joined_ms, chrono::Utc::now());
    if held.is_none_or(|held| held <= max_session) {
        return ActionResult::because(Outcome::SkippedRecheck, "no longer over max_session");
    }
    match until(deadline, lk.remove_participant(room, &seen.identity)).await {
        Ok(()) => ActionResult::of(Outcome::Done),
        Err(err) if err.code() == Some(code::NOT_FOUND) => ActionResult::of(Outcome::AlreadyGone),
        Err(err) => ActionResult::failed(format!("could not remove the participant: {err}")),
    }
}

/// Checks, right before acting, that the reason still holds. `Ok(Some(why))`: skip.
async fn recheck(
    lk: &impl LiveKit,
    job: &Job,
    humans: &HumanSpec,
) -> std::result::Result<Option<String>, ApiError> {
    match job.recheck {
        // A removal re-checks its own participant (see `remove`).
        Recheck::None | Recheck::SessionOver { .. } => Ok(None),
        Recheck::NoHuman { sip_ring_limit } => {
            let present = humans_now(lk, job, humans, sip_ring_limit, |_| true).await?;
            Ok((!present.is_empty()).then(|| format!("a human is present now: {present}")))
        }
        Recheck::StillSilent { sip_ring_limit } => {
            let heard = |p: &Participant| !p.is_silent();
            let heard = humans_now(lk, job, humans, sip_ring_limit, heard).await?;
            Ok((!heard.is_empty()).then(|| format!("a human has an unmuted track now: {heard}")))
        }
        Recheck::RoomGone => {
            let rooms = lk.list_rooms(std::slice::from_ref(&job.room)).await?;
            // Match the name ourselves: a server that ignored the filter must not count.
            let back = rooms.iter().any(|r| r.name == job.room);
            Ok(back.then(|| "the room exists again (created after the inventory)".to_owned()))
        }
    }
}

/// The identities of the humans in the job's room now that also pass `and`, joined for a
/// reason; empty when there are none.
async fn humans_now(
    lk: &impl LiveKit,
    job: &Job,
    humans: &HumanSpec,
    sip_ring_limit: Duration,
    and: impl Fn(&Participant) -> bool,
) -> std::result::Result<String, ApiError> {
    let list = lk.list_participants(&job.room).await?;
    let test = humans.at(sip_ring_limit, chrono::Utc::now().timestamp_millis());
    let found: Vec<String> = list
        .iter()
        .map(Participant::from)
        .filter(|p| test.is_human(p) && and(p))
        .map(|p| p.identity)
        .collect();
    Ok(crate::redact::line(&found.join(", ")))
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
            _ if err.is_node_gone() => ActionResult::because(
                Outcome::Zombie,
                format!(
                    "the room's node is gone, so LiveKit cannot delete it (livekit#3766); it stays listed until its records leave LiveKit's Redis: run with --redis-url URL --purge-zombies — server said {err}"
                ),
            ),
            _ => ActionResult::failed(format!("could not delete the room: {err}")),
        },
    }
}
