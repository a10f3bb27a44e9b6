//! `GET /metrics`: the textfile's gauges for the last full sweep, plus counters of webhooks,
//! checks and actions, and how long an action came after what triggered it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::webhook::Rejection;
use crate::execute::Outcome;
use crate::report::Report;
use crate::report::metrics::RunMetrics;
use crate::time::unix_seconds;

type Counters = Family<Vec<(String, String)>, Counter>;

/// The last full sweep, as the textfile shows it.
#[derive(Debug, Default)]
struct LastSweep {
    report: Option<Report>,
    duration: Duration,
    finished_at: Option<SystemTime>,
    last_success: Option<f64>,
}

/// Live counters; clones share them.
#[derive(Debug, Clone)]
pub struct Metrics {
    received: Counters,
    rejected: Counters,
    checks: Counters,
    actions: Counters,
    refused: Counter,
    to_action: Histogram,
    last_sweep: Arc<Mutex<LastSweep>>,
}

impl Default for Metrics {
    fn default() -> Self {
        // 1 s to about 4.5 h: from a check right at its deadline to a max_room_age of hours.
        let buckets = [
            1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 330.0, 360.0, 420.0, 600.0, 900.0,
            1800.0, 3600.0, 16_384.0,
        ];
        let metrics = Self {
            received: Counters::default(),
            rejected: Counters::default(),
            checks: Counters::default(),
            actions: Counters::default(),
            refused: Counter::default(),
            to_action: Histogram::new(buckets),
            last_sweep: Arc::default(),
        };
        // The closed label sets start at 0, so that Prometheus's increase() sees their
        // first rejection or failure (a series born at 1 has no increase to show).
        for reason in Rejection::ALL {
            drop(
                metrics
                    .rejected
                    .get_or_create(&label("reason", reason.as_str())),
            );
        }
        for outcome in Outcome::ALL.into_iter().filter(|o| *o != Outcome::Planned) {
            drop(
                metrics
                    .actions
                    .get_or_create(&label("result", outcome.as_str())),
            );
        }
        metrics
    }
}

fn label(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.to_owned(), value.to_owned())]
}

impl Metrics {
    /// A verified webhook, by event.
    pub fn received(&self, event: &str) {
        self.received.get_or_create(&label("event", event)).inc();
    }

    /// A refused webhook, by reason.
    pub fn rejected(&self, reason: &str) {
        self.rejected.get_or_create(&label("reason", reason)).inc();
    }

    /// A room check started, by what triggered it.
    pub fn check_run(&self, trigger: &str) {
        self.checks.get_or_create(&label("trigger", trigger)).inc();
    }

    /// Actions refused by `--max-actions-per-minute`.
    pub fn refused(&self, actions: usize) {
        self.refused.inc_by(actions as u64);
    }

    /// One action's result; for one done, how long after its trigger.
    pub fn action(&self, outcome: Outcome, after_trigger: Option<Duration>) {
        self.actions
            .get_or_create(&label("result", outcome.as_str()))
            .inc();
        if let Some(waited) = after_trigger {
            self.to_action.observe(waited.as_secs_f64());
        }
    }

    /// Records a full sweep: its report (`None`: it could not take the inventory).
    pub fn sweep_done(&self, report: Option<&Report>, duration: Duration) {
        let mut last = self
            .last_sweep
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = SystemTime::now();
        if report.is_some_and(|r| r.summary().failed == 0 && !r.refused) {
            last.last_success = Some(unix_seconds(now));
        }
        last.report = report.cloned();
        last.duration = duration;
        last.finished_at = Some(now);
        for (_, result) in report.map_or(&[][..], |r| &r.findings[..]) {
            if result.outcome != Outcome::Planned {
                self.action(result.outcome, None);
            }
        }
    }

    /// The Prometheus text exposition; `healthy` is what `/healthz` answers now.
    pub fn render(&self, healthy: bool) -> String {
        let mut registry = Registry::with_prefix("lk_reaper");
        let health = Gauge::<i64>::default();
        health.set(i64::from(healthy));
        registry.register(
            "healthy",
            "1 while /healthz answers 200: the last full sweep succeeded within 2x --sweep-every",
            health,
        );
        {
            let last = self
                .last_sweep
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(finished_at) = last.finished_at {
                let run = RunMetrics {
                    report: last.report.as_ref(),
                    duration: last.duration,
                    finished_at,
                };
                run.register(&mut registry, last.last_success);
            }
        }
        registry.register(
            "webhooks_received",
            "Verified webhooks, by event",
            self.received.clone(),
        );
        registry.register(
            "webhooks_rejected",
            "Webhooks refused or dropped, by reason",
            self.rejected.clone(),
        );
        registry.register("checks", "Room checks run, by trigger", self.checks.clone());
        registry.register(
            "actions_taken",
            "Actions of checks and sweeps since start-up, by result",
            self.actions.clone(),
        );
        registry.register(
            "actions_refused",
            "Actions refused by --max-actions-per-minute",
            self.refused.clone(),
        );
        registry.register(
            "trigger_to_action_seconds",
            "Seconds from a check's trigger (webhook event or age deadline) to an action done",
            self.to_action.clone(),
        );
        let mut text = String::new();
        // Encoding into a String cannot fail.
        let _ = encode(&mut text, &registry);
        text
    }
}
