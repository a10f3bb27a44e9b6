//! `--metrics-file`: Prometheus text for node_exporter's textfile collector, written
//! atomically (temp file + rename) so the collector never reads half a file.

use std::path::Path;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Report;
use crate::execute::Outcome;
use crate::policy::{Action, Rule};
use crate::time::unix_seconds;

pub const SUCCESS_METRIC: &str = "lk_reaper_last_success_timestamp_seconds";

/// How one sweep ended, for the metrics.
pub struct RunMetrics<'a> {
    /// `None` when the run could not take the inventory.
    pub report: Option<&'a Report>,
    pub duration: Duration,
    pub finished_at: SystemTime,
}

type Labelled = Family<Vec<(String, String)>, Gauge>;

impl RunMetrics<'_> {
    /// Renders the metrics; `previous_success` carries the last success over a failed run.
    pub fn render(&self, previous_success: Option<f64>) -> String {
        let mut registry = Registry::with_prefix("lk_reaper");
        self.register(&mut registry, previous_success);
        let mut text = String::new();
        // Encoding into a String cannot fail.
        let _ = encode(&mut text, &registry);
        text
    }

    /// Adds the gauges to `registry` (`serve` adds its counters beside them).
    pub fn register(&self, registry: &mut Registry, previous_success: Option<f64>) {
        let now = unix_seconds(self.finished_at);
        float(
            registry,
            "duration_seconds",
            "Wall time of the last run",
            self.duration.as_secs_f64(),
        );
        float(
            registry,
            "last_run_timestamp_seconds",
            "When the last run ended",
            now,
        );
        int(
            registry,
            "up",
            "1 if the last run could take the inventory and judge rooms",
            i64::from(self.report.is_some_and(|r| !r.nothing_judged)),
        );
        let success = self
            .report
            .is_some_and(|r| r.summary().failed == 0 && !r.refused && !r.nothing_judged);
        if let Some(at) = if success { Some(now) } else { previous_success } {
            float(
                registry,
                "last_success_timestamp_seconds",
                "When a run last ended with no failed action",
                at,
            );
        }
        if let Some(report) = self.report {
            register_report(registry, report);
        }
    }
}

/// The gauges only a run that took the inventory has.
fn register_report(registry: &mut Registry, report: &Report) {
    int(
        registry,
        "dry_run",
        "1 if the last run was a dry run",
        i64::from(report.dry_run),
    );
    int(
        registry,
        "refused",
        "1 if --max-actions refused the last run's plan: nothing was done",
        i64::from(report.refused),
    );
    int(
        registry,
        "rooms_scanned",
        "Rooms listed by the last run",
        report.rooms_scanned as i64,
    );
    int(
        registry,
        "egresses_scanned",
        "Active egresses listed by the last run",
        report.egresses_scanned as i64,
    );
    int(
        registry,
        "rooms_unjudged",
        "Rooms in scope that the last run could not judge (participants not listed, impossible creation time)",
        report.rooms_unjudged as i64,
    );
    registry.register(
        "findings",
        "Findings of the last run, by rule",
        by_rule(report),
    );
    registry.register(
        "actions",
        "Findings of the last run, by result",
        by_result(report),
    );
    registry.register(
        "findings_by_action",
        "Findings of the last run, by the action each gets",
        by_action(report),
    );
}

fn int(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge = Gauge::<i64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn float(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let gauge = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn by_rule(report: &Report) -> Labelled {
    let family = Labelled::default();
    for rule in [
        Rule::Humanless,
        Rule::MaxRoomAge,
        Rule::MaxEgressAge,
        Rule::OrphanEgress,
        Rule::ZombieRoom,
        Rule::ForgottenIngress,
        Rule::Silent,
        Rule::MaxSession,
    ] {
        let n = report
            .findings
            .iter()
            .filter(|(f, _)| f.rules.contains(&rule))
            .count();
        family
            .get_or_create(&vec![("rule".into(), rule.as_str().into())])
            .set(n as i64);
    }
    family
}

fn by_action(report: &Report) -> Labelled {
    let family = Labelled::default();
    for action in Action::ALL {
        let n = report
            .findings
            .iter()
            .filter(|(f, _)| f.action == action)
            .count();
        family
            .get_or_create(&vec![("action".into(), action.as_str().into())])
            .set(n as i64);
    }
    family
}

fn by_result(report: &Report) -> Labelled {
    let family = Labelled::default();
    for outcome in Outcome::ALL {
        let n = report
            .findings
            .iter()
            .filter(|(_, r)| r.outcome == outcome)
            .count();
        family
            .get_or_create(&vec![("result".into(), outcome.as_str().into())])
            .set(n as i64);
    }
    family
}

/// The last success time in an earlier metrics file, if any.
pub fn previous_success(path: &Path) -> Option<f64> {
    let text =
        crate::files::read_small(path, crate::files::MAX_CONFIG_FILE, "the metrics file").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(SUCCESS_METRIC)?.trim().parse().ok())
}
