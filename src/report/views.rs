//! The read-only views: `lk-reaper rooms`, `lk-reaper egress` and `lk-reaper ingress`.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::junit::{self, Case, Failure, Suite};
use super::markdown;
use super::table::{Paint, cell, presence, reason, render};
use super::timestamp;
use crate::cli::OutputFormat;
use crate::policy::{
    Action, EgressView, Evaluation, Finding, IngressView, RoomView, Rule, Verdict, human_duration,
};

/// Which view to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    Rooms,
    Egress,
    Ingress,
}

/// A read-only inventory report.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub kind: ViewKind,
    pub now: DateTime<Utc>,
    pub evaluation: Evaluation,
    pub rooms_scanned: usize,
    pub egresses_scanned: usize,
    pub ingresses_scanned: usize,
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
struct JsonVerdict<'a> {
    verdict: &'static str,
    rules: &'a [Rule],
    action: Option<Action>,
}

impl<'a> JsonVerdict<'a> {
    fn new(v: &'a Verdict) -> Self {
        let (verdict, rules, action) = match v {
            Verdict::Healthy => ("healthy", &[][..], None),
            Verdict::Excluded => ("excluded", &[][..], None),
            Verdict::Exempt => ("exempt", &[][..], None),
            Verdict::Unjudged => ("unjudged", &[][..], None),
            Verdict::Offends(rules, action) => ("offends", rules.as_slice(), *action),
        };
        Self {
            verdict,
            rules,
            action,
        }
    }
}

#[derive(Serialize)]
struct JsonRoom<'a> {
    name: &'a str,
    sid: &'a str,
    age_s: Option<u64>,
    humans: Option<u32>,
    /// With `silent` on: the humans publishing nothing or only muted tracks.
    silent_humans: Option<u32>,
    /// How long every human has been silent, by the memory.
    silent_s: Option<u64>,
    others: Option<u32>,
    active_egresses: usize,
    live_ingresses: u32,
    policy: &'a str,
    #[serde(flatten)]
    verdict: JsonVerdict<'a>,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonEgress<'a> {
    egress_id: &'a str,
    room: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'a str,
    status: &'a str,
    age_s: Option<u64>,
    #[serde(flatten)]
    verdict: JsonVerdict<'a>,
}

#[derive(Serialize)]
struct JsonIngress<'a> {
    ingress_id: &'a str,
    input_type: &'a str,
    room: Option<&'a str>,
    status: &'a str,
    since_s: Option<u64>,
    enabled: bool,
    #[serde(flatten)]
    verdict: JsonVerdict<'a>,
}

#[derive(Serialize)]
struct Header<'a> {
    version: u32,
    now: String,
    rooms_scanned: usize,
    egresses_scanned: usize,
    ingresses_scanned: usize,
    offending: usize,
    warnings: &'a [String],
}

impl Inventory {
    /// How many rows offend (for `--exit-code`).
    pub fn offending(&self) -> usize {
        let offends = |v: &Verdict| matches!(v, Verdict::Offends(..));
        match self.kind {
            ViewKind::Rooms => self
                .evaluation
                .rooms
                .iter()
                .filter(|r| offends(&r.verdict))
                .count(),
            ViewKind::Egress => self
                .evaluation
                .egresses
                .iter()
                .filter(|e| offends(&e.verdict))
                .count(),
            ViewKind::Ingress => self
                .evaluation
                .ingresses
                .iter()
                .filter(|i| offends(&i.verdict))
                .count(),
        }
    }

    /// Writes the view to `out` in `format`.
    pub fn render(
        &self,
        format: OutputFormat,
        color: bool,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        match format {
            OutputFormat::Table => self.table(&Paint(color), out),
            OutputFormat::Json => {
                let mut doc = serde_json::to_value(self.header())?;
                doc[self.items_key()] = self.items();
                serde_json::to_writer_pretty(&mut *out, &doc)?;
                writeln!(out)
            }
            OutputFormat::Ndjson => {
                if let serde_json::Value::Array(items) = self.items() {
                    for item in items {
                        writeln!(out, "{item}")?;
                    }
                }
                serde_json::to_writer(&mut *out, &self.header())?;
                writeln!(out)
            }
            OutputFormat::Junit => self.junit(out),
        }
    }

    /// The Markdown summary that `--summary-file` appends: the offending rows only.
    pub fn markdown(&self) -> String {
        let paint = Paint(false);
        let (header, rows, _) = self.columns(&paint, true);
        let title = match self.kind {
            ViewKind::Rooms => "lk-reaper rooms",
            ViewKind::Egress => "lk-reaper egress",
            ViewKind::Ingress => "lk-reaper ingress",
        };
        markdown::document(title, &self.summary_line(), header, &rows, &self.warnings)
    }

    /// `-o junit`: a case per row; an offending one fails with its reason.
    fn junit(&self, out: &mut impl Write) -> std::io::Result<()> {
        let failure = |verdict: &Verdict, reason: Option<&str>| match verdict {
            Verdict::Offends(rules, action) => {
                let (rules, action) = offence(rules, *action);
                Some(Failure {
                    message: reason.map_or_else(|| rules.clone(), str::to_owned),
                    kind: rules,
                    detail: format!("action: {action}"),
                })
            }
            _ => None,
        };
        let suite = match self.kind {
            ViewKind::Rooms => Suite {
                kind: "rooms",
                step: None,
                cases: (self.evaluation.rooms.iter())
                    .map(|r| Case {
                        name: &r.name,
                        failure: failure(&r.verdict, r.reason.as_deref()),
                    })
                    .collect(),
            },
            ViewKind::Egress => Suite {
                kind: "egresses",
                step: None,
                cases: (self.evaluation.egresses.iter())
                    .map(|e| Case {
                        name: &e.egress_id,
                        failure: failure(
                            &e.verdict,
                            self.reason_of(|f| {
                                f.egress_id.as_deref() == Some(e.egress_id.as_str())
                            }),
                        ),
                    })
                    .collect(),
            },
            ViewKind::Ingress => Suite {
                kind: "ingresses",
                step: None,
                cases: (self.evaluation.ingresses.iter())
                    .map(|i| Case {
                        name: &i.ingress_id,
                        failure: failure(
                            &i.verdict,
                            self.reason_of(|f| {
                                f.ingress
                                    .as_ref()
                                    .is_some_and(|t| t.ingress_id == i.ingress_id)
                            }),
                        ),
                    })
                    .collect(),
            },
        };
        junit::write(&[suite], self.now, &self.warnings, out)
    }

    /// The reason of the finding that `is` picks: an egress or ingress row has none itself.
    fn reason_of(&self, is: impl Fn(&Finding) -> bool) -> Option<&str> {
        let finding = self.evaluation.findings.iter().find(|f| is(f))?;
        Some(finding.reason.as_str())
    }

    fn header(&self) -> Header<'_> {
        Header {
            version: 1,
            now: timestamp(self.now),
            rooms_scanned: self.rooms_scanned,
            egresses_scanned: self.egresses_scanned,
            ingresses_scanned: self.ingresses_scanned,
            offending: self.offending(),
            warnings: &self.warnings,
        }
    }

    fn items_key(&self) -> &'static str {
        match self.kind {
            ViewKind::Rooms => "rooms",
            ViewKind::Egress => "egresses",
            ViewKind::Ingress => "ingresses",
        }
    }

    fn items(&self) -> serde_json::Value {
        let items: Vec<serde_json::Value> = match self.kind {
            ViewKind::Rooms => self.evaluation.rooms.iter().map(json_room).collect(),
            ViewKind::Egress => self.evaluation.egresses.iter().map(json_egress).collect(),
            ViewKind::Ingress => self.evaluation.ingresses.iter().map(json_ingress).collect(),
        };
        serde_json::Value::Array(items)
    }

    /// The table's header, its rows (only the offending ones with `offending_only`), and
    /// what they are.
    fn columns(
        &self,
        paint: &Paint,
        offending_only: bool,
    ) -> (&'static [&'static str], Vec<Vec<String>>, &'static str) {
        let keep = |v: &Verdict| !offending_only || matches!(v, Verdict::Offends(..));
        match self.kind {
            ViewKind::Rooms => (
                &[
                    "ROOM",
                    "AGE",
                    "HUMANS/OTHERS",
                    "EGRESS",
                    "POLICY",
                    "VERDICT",
                    "REASON",
                ],
                (self.evaluation.rooms.iter())
                    .filter(|r| keep(&r.verdict))
                    .map(|r| room_row(r, paint))
                    .collect(),
                "rooms",
            ),
            ViewKind::Egress => (
                &["EGRESS", "TYPE", "STATUS", "ROOM", "AGE", "VERDICT"],
                (self.evaluation.egresses.iter())
                    .filter(|e| keep(&e.verdict))
                    .map(|e| egress_row(e, paint))
                    .collect(),
                "active egresses",
            ),
            ViewKind::Ingress => (
                &[
                    "INGRESS", "INPUT", "ROOM", "STATUS", "SINCE", "ENABLED", "VERDICT",
                ],
                (self.evaluation.ingresses.iter())
                    .filter(|i| keep(&i.verdict))
                    .map(|i| ingress_row(i, paint))
                    .collect(),
                "ingresses",
            ),
        }
    }

    fn table(&self, paint: &Paint, out: &mut impl Write) -> std::io::Result<()> {
        let (header, rows, what) = self.columns(paint, false);
        if rows.is_empty() {
            return writeln!(
                out,
                "no {what} in scope ({} scanned)",
                super::table::scanned(self.rooms_scanned, self.egresses_scanned)
            );
        }
        render(header, rows, out)?;
        writeln!(out, "{}", self.summary_line())
    }

    /// `N of M rooms offend (R rooms, E egresses scanned)`.
    fn summary_line(&self) -> String {
        let (total, what) = match self.kind {
            ViewKind::Rooms => (self.evaluation.rooms.len(), "rooms"),
            ViewKind::Egress => (self.evaluation.egresses.len(), "active egresses"),
            ViewKind::Ingress => (self.evaluation.ingresses.len(), "ingresses"),
        };
        format!(
            "{} of {total} {what} offend ({} scanned)",
            self.offending(),
            super::table::scanned(self.rooms_scanned, self.egresses_scanned)
        )
    }
}

fn json_room(r: &RoomView) -> serde_json::Value {
    serde_json::to_value(JsonRoom {
        name: &r.name,
        sid: &r.sid,
        age_s: r.age.map(|a| a.as_secs()),
        humans: r.humans,
        silent_humans: r.silent,
        silent_s: r.silent_for.map(|d| d.as_secs()),
        others: r.others,
        active_egresses: r.egresses,
        live_ingresses: r.live_ingresses,
        policy: &r.policy,
        verdict: JsonVerdict::new(&r.verdict),
        reason: r.reason.as_deref(),
    })
    .unwrap_or_default()
}

fn json_egress(e: &EgressView) -> serde_json::Value {
    serde_json::to_value(JsonEgress {
        egress_id: &e.egress_id,
        room: (!e.room.is_empty()).then_some(e.room.as_str()),
        kind: e.kind,
        status: e.status,
        age_s: e.age.map(|a| a.as_secs()),
        verdict: JsonVerdict::new(&e.verdict),
    })
    .unwrap_or_default()
}

fn json_ingress(i: &IngressView) -> serde_json::Value {
    serde_json::to_value(JsonIngress {
        ingress_id: &i.ingress_id,
        input_type: &i.input,
        room: (!i.room.is_empty()).then_some(i.room.as_str()),
        status: &i.status,
        since_s: i.since.map(|a| a.as_secs()),
        enabled: i.enabled,
        verdict: JsonVerdict::new(&i.verdict),
    })
    .unwrap_or_default()
}

fn verdict_text(v: &Verdict, paint: &Paint) -> String {
    match v {
        Verdict::Healthy => paint.green("healthy"),
        Verdict::Excluded => paint.dim("excluded"),
        Verdict::Exempt => paint.dim("exempt"),
        Verdict::Unjudged => paint.yellow("not judged (see the warnings)"),
        Verdict::Offends(rules, action) => {
            let (rules, action) = offence(rules, *action);
            paint.red(&format!("{rules} -> {action}"))
        }
    }
}

/// An offending verdict's rules, comma-separated, and its action.
fn offence(rules: &[Rule], action: Option<Action>) -> (String, &'static str) {
    let idle = if rules.contains(&Rule::ForgottenIngress) {
        "report only"
    } else {
        "nothing to stop"
    };
    let names: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
    (names.join(","), action.map_or(idle, Action::as_str))
}

fn room_row(r: &RoomView, paint: &Paint) -> Vec<String> {
    vec![
        cell(&r.name),
        r.age.map_or_else(|| "?".to_owned(), human_duration),
        presence(r.humans, r.others) + &silence(r),
        r.egresses.to_string(),
        cell(&r.policy),
        verdict_text(&r.verdict, paint),
        r.reason.as_deref().map_or_else(String::new, reason),
    ]
}

/// ` (2 silent 6m)`: the silent humans, and for how long all have been, when known.
fn silence(r: &RoomView) -> String {
    match (r.silent.filter(|&n| n > 0), r.silent_for) {
        (Some(n), Some(d)) => format!(" ({n} silent {})", human_duration(d)),
        (Some(n), None) => format!(" ({n} silent)"),
        (None, _) => String::new(),
    }
}

fn egress_row(e: &EgressView, paint: &Paint) -> Vec<String> {
    vec![
        cell(&e.egress_id),
        e.kind.to_owned(),
        e.status.trim_start_matches("EGRESS_").to_owned(),
        if e.room.is_empty() {
            "-".to_owned()
        } else {
            cell(&e.room)
        },
        e.age.map_or_else(|| "?".to_owned(), human_duration),
        verdict_text(&e.verdict, paint),
    ]
}

fn ingress_row(i: &IngressView, paint: &Paint) -> Vec<String> {
    vec![
        cell(&i.ingress_id),
        i.input.clone(),
        if i.room.is_empty() {
            "-".to_owned()
        } else {
            cell(&i.room)
        },
        i.status.trim_start_matches("ENDPOINT_").to_owned(),
        i.since.map_or_else(|| "-".to_owned(), human_duration),
        if i.enabled { "yes" } else { "no" }.to_owned(),
        verdict_text(&i.verdict, paint),
    ]
}
