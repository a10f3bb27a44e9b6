//! SPEC.md's JSON schema: one document, or one finding per line then the summary line.

use std::io::Write;

use serde::Serialize;

use super::{Report, Summary, timestamp};
use crate::execute::{ActionResult, Outcome};
use crate::policy::{Action, Finding, Rule, Target};

/// Bumped only on an incompatible change.
const VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    dry_run: bool,
    now: String,
    rooms_scanned: usize,
    egresses_scanned: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<Vec<JsonFinding<'a>>>,
    summary: Summary,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rules: &'a [Rule],
    target: Target,
    room: Option<&'a str>,
    room_sid: Option<&'a str>,
    egress_id: Option<&'a str>,
    /// Only on `forgotten_ingress` findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    ingress_id: Option<&'a str>,
    /// The identity, for `remove_participant` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    participant: Option<&'a str>,
    age_s: u64,
    humans: Option<u32>,
    others: Option<u32>,
    reason: &'a str,
    action: Action,
    result: Outcome,
    error: Option<&'a str>,
}

impl<'a> JsonFinding<'a> {
    fn new(f: &'a Finding, r: &'a ActionResult) -> Self {
        Self {
            rules: &f.rules,
            target: f.target,
            room: (!f.room.is_empty()).then_some(f.room.as_str()),
            room_sid: f.room_sid.as_deref(),
            egress_id: f.egress_id.as_deref(),
            ingress_id: f.ingress.as_ref().map(|i| i.ingress_id.as_str()),
            participant: f.participant.as_ref().map(|p| p.identity.as_str()),
            age_s: f.age.as_secs(),
            humans: f.humans,
            others: f.others,
            reason: &f.reason,
            action: f.action,
            result: r.outcome,
            error: r.error.as_deref(),
        }
    }
}

fn build(report: &Report, with_findings: bool) -> Document<'_> {
    Document {
        version: VERSION,
        dry_run: report.dry_run,
        now: timestamp(report.now),
        rooms_scanned: report.rooms_scanned,
        egresses_scanned: report.egresses_scanned,
        findings: with_findings.then(|| {
            report
                .findings
                .iter()
                .map(|(f, r)| JsonFinding::new(f, r))
                .collect()
        }),
        summary: report.summary(),
        warnings: &report.warnings,
    }
}

/// `-o json`.
pub fn document(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &build(report, true))?;
    writeln!(out)
}

/// `-o ndjson`.
pub fn lines(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    for (f, r) in &report.findings {
        serde_json::to_writer(&mut *out, &JsonFinding::new(f, r))?;
        writeln!(out)?;
    }
    serde_json::to_writer(&mut *out, &build(report, false))?;
    writeln!(out)
}
