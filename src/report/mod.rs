//! Turning outcomes into what the operator reads: table, JSON, NDJSON, JUnit XML, and a
//! Markdown summary for CI pages.

mod json;
mod junit;
mod markdown;
pub mod metrics;
mod stdout;
mod table;
mod views;

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use markdown::{append as append_summary, failure as failure_summary};
pub use stdout::stdout;
pub use views::{Inventory as InventoryReport, ViewKind};

use crate::cli::OutputFormat;
use crate::execute::{ActionResult, Outcome};
use crate::exit_code::ExitCode;
use crate::policy::Finding;

/// What a sweep found and did.
#[derive(Debug, Clone)]
pub struct Report {
    pub dry_run: bool,
    pub now: DateTime<Utc>,
    pub rooms_scanned: usize,
    pub egresses_scanned: usize,
    /// Findings, oldest first, each with what happened to it.
    pub findings: Vec<(Finding, ActionResult)>,
    pub warnings: Vec<String>,
    /// Set when `--max-actions` refused the plan.
    pub refused: bool,
    /// `--max-actions`, for the refusal's words.
    pub max_actions: usize,
    /// Rooms in scope that no rule could judge (participants not listed, impossible times).
    pub rooms_unjudged: usize,
    /// Every participant list the run needed failed.
    pub nothing_judged: bool,
    /// The rooms and egresses in scope, for reports that list every one (`-o junit`).
    pub subjects: Subjects,
}

/// The names of the rooms and the ids of the egresses a run had in scope.
#[derive(Debug, Clone, Default)]
pub struct Subjects {
    pub rooms: Vec<String>,
    pub egresses: Vec<String>,
}

impl Subjects {
    /// What `scope` takes of `inventory` (`--exclude-room`'s rooms included: they were seen).
    pub fn in_scope(scope: &crate::policy::Scope, inventory: &crate::inventory::Inventory) -> Self {
        let seen = |room: &str| scope.classify(room) != crate::policy::InScope::No;
        Self {
            rooms: inventory
                .rooms
                .iter()
                .filter(|r| seen(&r.name))
                .map(|r| r.name.clone())
                .collect(),
            egresses: inventory
                .egresses
                .iter()
                .filter(|e| seen(&e.room_name))
                .map(|e| e.egress_id.clone())
                .collect(),
        }
    }
}

/// Counts of results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub planned: usize,
    pub done: usize,
    pub already_gone: usize,
    /// `skipped_recheck` and `skipped` (zombie rooms left alone without `--purge-zombies`).
    pub skipped: usize,
    /// Rooms whose DeleteRoom said their node is gone.
    pub zombie: usize,
    pub failed: usize,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for (_, result) in &self.findings {
            match result.outcome {
                Outcome::Planned => s.planned += 1,
                Outcome::Done => s.done += 1,
                Outcome::AlreadyGone => s.already_gone += 1,
                Outcome::SkippedRecheck | Outcome::Skipped => s.skipped += 1,
                Outcome::Zombie => s.zombie += 1,
                Outcome::Failed => s.failed += 1,
            }
        }
        s
    }

    /// One line on what the run did, e.g. `done 3, already gone 1, skipped 0, failed 0`.
    pub fn headline(&self) -> String {
        let s = self.summary();
        if self.refused {
            // Zombie rooms left alone are not part of the plan.
            let (planned, max) = (s.planned, self.max_actions);
            if self.dry_run {
                let planned = crate::words::count(planned, "action");
                format!("would refuse: {planned} exceed --max-actions {max}")
            } else {
                let planned = crate::words::count(planned, "action");
                format!("refused: {planned} exceed --max-actions {max}; nothing was done")
            }
        } else if self.dry_run {
            let planned = crate::words::count(s.planned, "action");
            format!("dry run: {planned} planned, nothing changed")
        } else {
            let zombie = if s.zombie > 0 {
                format!(", zombie {}", s.zombie)
            } else {
                String::new()
            };
            format!(
                "done {}, already gone {}, skipped {}{zombie}, failed {}",
                s.done, s.already_gone, s.skipped, s.failed
            )
        }
    }

    /// SPEC.md's exit code: refusal (5) over a run that could judge no room (1) over
    /// failures (4) over `--exit-code` offenders (3). Zombie rooms are not failures (the
    /// warnings count them): see `zombie_warnings`.
    pub fn exit_code(&self, offenders_are_an_error: bool) -> ExitCode {
        if self.refused {
            ExitCode::TooManyActions
        } else if self.nothing_judged {
            ExitCode::CouldNotRun
        } else if self.summary().failed > 0 {
            ExitCode::ActionsFailed
        } else if offenders_are_an_error && !self.findings.is_empty() {
            ExitCode::OffendersFound
        } else {
            ExitCode::Success
        }
    }

    /// The Markdown summary that `--summary-file` appends.
    pub fn markdown(&self) -> String {
        markdown::sweep(self)
    }

    /// Writes the report to `out` in `format`.
    pub fn render(
        &self,
        format: OutputFormat,
        color: bool,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        match format {
            OutputFormat::Table => table::sweep(self, color, out),
            OutputFormat::Json => json::document(self, out),
            OutputFormat::Ndjson => json::lines(self, out),
            OutputFormat::Junit => junit::sweep(self, out),
        }
    }
}

/// Several sweeps as one JUnit document, each step's suites named after it (`demo -o
/// junit`: one stream must hold one XML document).
pub fn junit_steps(steps: &[(&str, &Report)], out: &mut impl Write) -> std::io::Result<()> {
    junit::steps(steps, out)
}

/// RFC 3339 with seconds and `Z`, as the JSON schema shows.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
