//! The read-only views: `lk-reaper rooms` and `lk-reaper egress`.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::table::{Paint, cell, presence, reason, render};
use super::timestamp;
use crate::cli::OutputFormat;
use crate::policy::{Action, EgressView, Evaluation, RoomView, Rule, Verdict, human_duration};

/// Which view to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    Rooms,
    Egress,
}

/// A read-only inventory report.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub kind: ViewKind,
    pub now: DateTime<Utc>,
    pub evaluation: Evaluation,
    pub rooms_scanned: usize,
    pub egresses_scanned: usize,
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
struct Header<'a> {
    version: u32,
    now: String,
    rooms_scanned: usize,
    egresses_scanned: usize,
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
        }
    }

    fn header(&self) -> Header<'_> {
        Header {
            version: 1,
            now: timestamp(self.now),
            rooms_scanned: self.rooms_scanned,
            egresses_scanned: self.egresses_scanned,
            offending: self.offending(),
            warnings: &self.warnings,
        }
    }

    fn items_key(&self) -> &'static str {
        match self.kind {
            ViewKind::Rooms => "rooms",
            ViewKind::Egress => "egresses",
        }
    }

    fn items(&self) -> serde_json::Value {
        let items: Vec<serde_json::Value> = match self.kind {
            ViewKind::Rooms => self.evaluation.rooms.iter().map(json_room).collect(),
            ViewKind::Egress => self.evaluation.egresses.iter().map(json_egress).collect(),
        };
        serde_json::Value::Array(items)
    }

    fn table(&self, paint: &Paint, out: &mut impl Write) -> std::io::Result<()> {
        let (header, rows, what): (&[&str], Vec<Vec<String>>, &str) = match self.kind {
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
                self.evaluation
                    .rooms
                    .iter()
                    .map(|r| room_row(r, paint))
                    .collect(),
                "rooms",
            ),
            ViewKind::Egress => (
                &["EGRESS", "TYPE", "STATUS", "ROOM", "AGE", "VERDICT"],
                self.evaluation
                    .egresses
                    .iter()
                    .map(|e| egress_row(e, paint))
                    .collect(),
                "active egresses",
            ),
        };
        if rows.is_empty() {
            return writeln!(
                out,
                "no {what} in scope ({} rooms, {} egresses scanned)",
                self.rooms_scanned, self.egresses_scanned
            );
        }
        render(header, rows, out)?;
        writeln!(
            out,
            "{} of {} {what} offend ({} rooms, {} egresses scanned)",
            self.offending(),
            match self.kind {
                ViewKind::Rooms => self.evaluation.rooms.len(),
                ViewKind::Egress => self.evaluation.egresses.len(),
            },
            self.rooms_scanned,
            self.egresses_scanned
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

fn verdict_text(v: &Verdict, paint: &Paint) -> String {
    match v {
        Verdict::Healthy => paint.green("healthy"),
        Verdict::Excluded => paint.dim("excluded"),
        Verdict::Exempt => paint.dim("exempt"),
        Verdict::Unjudged => paint.yellow("not judged (see the warnings)"),
        Verdict::Offends(rules, action) => {
            let rules: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
            let action = action.map_or("nothing to stop", Action::as_str);
            paint.red(&format!("{} -> {action}", rules.join(",")))
        }
    }
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
