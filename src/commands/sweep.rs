//! `lk-reaper sweep`: observe, plan, act (unless a dry run), report.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::cluster::purged_records;
use crate::config::Config;
use crate::error::usage;
use crate::execute::{self, ActionResult, Outcome};
use crate::exit_code::ExitCode;
use crate::inventory::Inventory;
use crate::livekit::Client;
use crate::memory::Memory;
use crate::notify;
use crate::plan::Plan;
use crate::policy::{Action, Finding};
use crate::report::metrics::{self, RunMetrics};
use crate::report::{Report, Subjects};
use crate::words::{count, some_names};

/// Options only a sweep has.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    pub dry_run: bool,
    /// Prometheus textfile to (re)write after the run.
    pub metrics_file: Option<PathBuf>,
    /// Where to POST a summary of actions taken.
    pub notify_url: Option<String>,
    /// Notify after a dry run too.
    pub notify_dry_run: bool,
    /// Prometheus Pushgateway to push the metrics to after the run.
    pub pushgateway: Option<String>,
    /// Purge zombie rooms' records from LiveKit's Redis.
    pub purge_zombies: bool,
}

impl From<&crate::cli::SweepArgs> for SweepOptions {
    fn from(args: &crate::cli::SweepArgs) -> Self {
        Self {
            dry_run: args.dry_run,
            metrics_file: args.metrics_file.clone(),
            notify_url: args.notify_url.clone(),
            notify_dry_run: args.notify_dry_run,
            pushgateway: args.pushgateway.clone(),
            purge_zombies: args.purge_zombies,
        }
    }
}

impl SweepOptions {
    /// Refuses, before any call, what could only fail after the sweep has acted: a
    /// notification URL that is not http(s) (never echoed: webhook URLs are secrets), a
    /// metrics file in a folder that does not exist.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.notify_url {
            let parsed = reqwest::Url::parse(url).ok();
            if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
                return Err(usage(
                    "--notify-url / LK_REAPER_NOTIFY_URL is not an http:// or https:// URL",
                ));
            }
        }
        if let Some(path) = &self.metrics_file {
            crate::files::check_folder("--metrics-file", path)?;
        }
        if let Some(url) = &self.pushgateway {
            crate::pushgateway::check_url(url)?;
        }
        Ok(())
    }
}

/// Runs one sweep and returns its report. With `--state` the memory file is locked for the
/// whole run, and saved after it (not after a dry run, which changes nothing).
pub async fn sweep(config: &Config, options: &SweepOptions) -> anyhow::Result<Report> {
    if config.state.is_none() && config.policy.uses_silent() {
        return Err(usage(
            "--silent-after needs a memory of since when rooms are silent: add --state PATH (or LK_REAPER_STATE, or state in the config file), or use serve",
        ));
    }
    let act_on_all = |_: &Finding, _: &Inventory| true;
    let state = super::observe::open_state(config).await?;
    let (file, memory) = state.unzip();
    let client = config.client()?;
    let swept = sweep_with_inventory(&client, config, options, act_on_all, memory.as_ref()).await?;
    if let (Some(file), Some(next)) = (file, &swept.memory)
        && !options.dry_run
        && let Err(err) = file.save(next)
    {
        tracing::warn!("{err:#}");
    }
    Ok(swept.report)
}

/// What one sweep produced.
pub struct Swept {
    pub report: Report,
    /// The inventory it judged.
    pub inventory: Inventory,
    /// The memory after it, when it judged by one.
    pub memory: Option<Memory>,
}

/// Runs one sweep through `client` (sharing its concurrency limit), judged by `memory`
/// when given. Findings `act_on` refuses are left out: `serve` holds back what it knows
/// must wait.
pub async fn sweep_with_inventory(
    client: &Client,
    config: &Config,
    options: &SweepOptions,
    act_on: impl Fn(&Finding, &Inventory) -> bool,
    memory: Option<&Memory>,
) -> anyhow::Result<Swept> {
    if options.purge_zombies && config.redis_url.is_none() {
        return Err(usage(
            "--purge-zombies needs --redis-url (or LK_REAPER_REDIS_URL, or redis_url in the config file): zombie rooms are found and purged in LiveKit's Redis",
        ));
    }
    let need = super::observe::Need::Findings;
    let seen = super::observe::observe_with(client, config, need, memory).await?;
    let rooms_unjudged = seen.evaluation.unjudged_rooms;
    let mut findings = seen.evaluation.findings;
    findings.retain(|f| act_on(f, &seen.inventory));
    let plan = Plan::from_findings(&findings, options.purge_zombies);
    let mut warnings = seen.warnings;
    let refused = plan.actions() > config.max_actions;
    if refused {
        let why = refusal(plan.actions(), config.max_actions, options.dry_run);
        tracing::warn!("{why}");
        warnings.push(why);
    }
    let mut results = if options.dry_run || refused {
        vec![ActionResult::of(Outcome::Planned); findings.len()]
    } else {
        execute::execute(
            &seen.client,
            seen.store.as_ref().filter(|_| options.purge_zombies),
            &plan,
            &findings,
            &config.policy.humans,
            config.run.concurrency,
            seen.deadline,
        )
        .await
    };
    mark_skipped(&findings, &mut results, options.purge_zombies);
    warnings.extend(zombie_warnings(&findings, &results));
    for (finding, result) in findings
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.outcome != Outcome::Planned)
    {
        log_action(finding, result);
    }
    let report = Report {
        dry_run: options.dry_run,
        now: seen.inventory.taken_at,
        rooms_scanned: seen.inventory.rooms.len(),
        egresses_scanned: seen.inventory.egresses.len(),
        findings: findings.into_iter().zip(results).collect(),
        warnings,
        refused,
        max_actions: config.max_actions,
        rooms_unjudged,
        nothing_judged: seen.nothing_judged,
        subjects: Subjects::in_scope(&config.policy.scope, &seen.inventory),
    };
    Ok(Swept {
        report,
        inventory: seen.inventory,
        memory: seen.memory,
    })
}

/// Why `--max-actions` refused the plan, and what that means for this run.
fn refusal(actions: usize, max: usize, dry_run: bool) -> String {
    let actions = count(actions, "action");
    if dry_run {
        format!(
            "the plan holds {actions}, more than --max-actions {max}: a real sweep would refuse it and do nothing"
        )
    } else {
        format!(
            "the plan holds {actions}, more than --max-actions {max}: nothing was done (raise the limit once the plan looks right)"
        )
    }
}

/// What was left alone on purpose is `skipped`, with why: held findings (an invalid metadata
/// override), ingresses only reported, and zombie rooms without `--purge-zombies`.
fn mark_skipped(findings: &[Finding], results: &mut [ActionResult], purge_zombies: bool) {
    for (finding, result) in findings.iter().zip(results) {
        if let Some(why) = finding.report_only() {
            *result = ActionResult::because(Outcome::Skipped, why);
        } else if finding.action == Action::PurgeRoom && !purge_zombies {
            *result = ActionResult::because(
                Outcome::Skipped,
                format!(
                    "--purge-zombies would remove its records from LiveKit's Redis ({}) after re-checking that its node is still gone",
                    purged_records(&crate::redact::line(&finding.room))
                ),
            );
        }
    }
}

/// The summary's word on zombie rooms: one line per kind, each counting them, logged once.
/// They are warnings, not failures: a zombie stays until its records leave Redis, and an
/// exit code 4 every minute until then would teach operators to ignore the alert.
fn zombie_warnings(findings: &[Finding], results: &[ActionResult]) -> Vec<String> {
    let rooms = |o: Outcome, action: Action| -> Vec<&str> {
        let zombies = findings.iter().zip(results);
        zombies
            .filter(|(f, r)| f.held.is_none() && f.action == action && r.outcome == o)
            .map(|(f, _)| f.room.as_str())
            .collect()
    };
    let mut out = Vec::new();
    let api = rooms(Outcome::Zombie, Action::DeleteRoom);
    if !api.is_empty() {
        out.push(format!(
            "{} could not be deleted ({}): their node is gone (livekit#3766); run with --redis-url URL --purge-zombies to remove them",
            count(api.len(), "zombie room"),
            some_names(api.iter().copied())
        ));
    }
    let found = rooms(Outcome::Skipped, Action::PurgeRoom);
    if !found.is_empty() {
        out.push(format!(
            "{} found in LiveKit's Redis ({}): their node is gone (livekit#3766); --purge-zombies removes them",
            count(found.len(), "zombie room"),
            some_names(found.iter().copied())
        ));
    }
    for line in &out {
        tracing::warn!("{line}");
    }
    out
}

/// `lk-reaper sweep`: prints the report, writes metrics, notifies; returns the exit code.
pub async fn run(config: &Config, options: &SweepOptions) -> anyhow::Result<ExitCode> {
    options.validate()?;
    if let Some(path) = &config.summary_file {
        crate::files::check_folder("--summary-file", path)?;
    }
    let started = Instant::now();
    let outcome = sweep(config, options).await;
    write_metrics_file(options, outcome.as_ref().ok(), started.elapsed());
    push_metrics(config, options, outcome.as_ref().ok(), started.elapsed()).await;
    let report = outcome.inspect_err(|err| {
        append_summary(
            config,
            &crate::report::failure_summary("lk-reaper sweep", err),
        );
    })?;
    let mut out = crate::report::stdout();
    report.render(config.run.output, config.run.color, &mut out)?;
    std::io::Write::flush(&mut out)?;
    append_summary(config, &report.markdown());
    notify_if_wanted(config, options, &report).await;
    Ok(report.exit_code(config.exit_code))
}

/// `--summary-file`: appends `markdown` to it. A write error is a warning: the report on
/// stdout and the exit code stand.
pub fn append_summary(config: &Config, markdown: &str) {
    if let Some(path) = &config.summary_file
        && let Err(err) = crate::report::append_summary(path, markdown)
    {
        tracing::warn!("{err:#}");
    }
}

/// `--pushgateway`: pushes the run's metrics, as `--metrics-file` writes them. A failure
/// is a warning.
pub async fn push_metrics(
    config: &Config,
    options: &SweepOptions,
    report: Option<&Report>,
    took: Duration,
) {
    let Some(url) = &options.pushgateway else {
        return;
    };
    let metrics = RunMetrics {
        report,
        duration: took,
        finished_at: SystemTime::now(),
    };
    if let Err(err) = crate::pushgateway::push(url, config.policy.scope.shard, &metrics).await {
        tracing::warn!("{err:#}");
    }
}

/// `--metrics-file`: (re)writes it for a finished sweep; `None` for one that could not
/// take the inventory. A write error is a warning.
pub fn write_metrics_file(options: &SweepOptions, report: Option<&Report>, took: Duration) {
    let Some(path) = &options.metrics_file else {
        return;
    };
    let metrics = RunMetrics {
        report,
        duration: took,
        finished_at: SystemTime::now(),
    };
    let text = metrics.render(metrics::previous_success(path));
    // 0644: node_exporter runs as another user.
    if let Err(err) = crate::files::write_atomically(path, &text, 0o644) {
        tracing::warn!("{err:#}");
    }
}

/// `--notify-url`: posts the summary when there is something to say. A failure is a warning.
pub async fn notify_if_wanted(config: &Config, options: &SweepOptions, report: &Report) {
    if let Some(url) = &options.notify_url
        && (!report.dry_run || options.notify_dry_run)
        && notify::worth_sending(report)
        && let Err(err) = notify::send(url, &config.connection.endpoint.to_string(), report).await
    {
        tracing::warn!("{err:#}");
    }
}

/// One structured log event per action taken, with the same fields whatever its result
/// (a failure at warn level), so a log query by `result` finds every one.
pub fn log_action(finding: &crate::policy::Finding, result: &ActionResult) {
    use crate::redact::line;
    let rules: Vec<&str> = finding.rules.iter().map(|r| r.as_str()).collect();
    macro_rules! event {
        ($level:ident, $msg:literal) => {
            tracing::$level!(
                action = finding.action.as_str(),
                room = %line(&finding.room),
                egress_id = %line(finding.egress_id.as_deref().unwrap_or("")),
                rules = rules.join(","),
                result = result.outcome.as_str(),
                error = %line(result.error.as_deref().unwrap_or("")),
                $msg
            )
        };
    }
    if result.outcome == Outcome::Failed {
        event!(warn, "action failed");
    } else {
        event!(info, "action");
    }
}
