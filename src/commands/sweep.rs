//! `lk-reaper sweep`: observe, plan, act (unless a dry run), report.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::cluster::PURGED_RECORDS;
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
use crate::report::Report;
use crate::report::metrics::{self, RunMetrics};

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
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            if dir.is_some_and(|d| !d.is_dir()) {
                return Err(usage(format!(
                    "--metrics-file {}: its folder does not exist",
                    path.display()
                )));
            }
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
        let why = format!(
            "the plan holds {} actions, more than --max-actions {}: nothing was done (raise the limit once the plan looks right)",
            plan.actions(),
            config.max_actions
        );
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
    if !options.purge_zombies {
        for (finding, result) in findings.iter().zip(&mut results) {
            if finding.action == Action::PurgeRoom {
                *result = ActionResult::because(
                    Outcome::Skipped,
                    format!(
                        "--purge-zombies would remove its records from LiveKit's Redis ({PURGED_RECORDS}) after re-checking that its node is still gone"
                    ),
                );
            }
        }
    }
    warnings.extend(zombie_warnings(&results));
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
        rooms_unjudged,
        nothing_judged: seen.nothing_judged,
    };
    Ok(Swept {
        report,
        inventory: seen.inventory,
        memory: seen.memory,
    })
}

/// The summary's word on zombie rooms: one line per kind, each counting them, logged once.
/// They are warnings, not failures: a zombie stays until its records leave Redis, and an
/// exit code 4 every minute until then would teach operators to ignore the alert.
fn zombie_warnings(results: &[ActionResult]) -> Vec<String> {
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    let mut out = Vec::new();
    let api = count(Outcome::Zombie);
    if api > 0 {
        out.push(format!(
            "{api} zombie rooms could not be deleted: their node is gone (livekit#3766); run with --redis-url URL --purge-zombies to remove them"
        ));
    }
    let found = count(Outcome::Skipped);
    if found > 0 {
        out.push(format!(
            "{found} zombie rooms found in LiveKit's Redis (their node is gone, livekit#3766); --purge-zombies removes them"
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
    let started = Instant::now();
    let outcome = sweep(config, options).await;
    write_metrics_file(options, outcome.as_ref().ok(), started.elapsed());
    let report = outcome?;
    let mut out = crate::report::stdout();
    report.render(config.run.output, config.run.color, &mut out)?;
    std::io::Write::flush(&mut out)?;
    notify_if_wanted(config, options, &report).await;
    Ok(report.exit_code(config.exit_code))
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
