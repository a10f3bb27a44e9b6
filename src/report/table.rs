//! Tables for people. Every string from the server is made safe and short before it gets
//! here: JSON keeps it whole, a table cuts it.

use std::io::Write;

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Padding, Style};

use super::Report;
use crate::execute::Outcome;
use crate::policy::{Finding, Target, human_duration};
use crate::redact::short;

/// ANSI styles, used only when color is on.
pub(super) struct Paint(pub bool);

impl Paint {
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

/// Widest name or id in a table, in characters; longer ones end in `…`.
const CELL: usize = 64;
/// Widest reason, and widest note under the table.
const REASON: usize = 160;

/// A name or id from the server, as a table cell: safe for the terminal, at most [`CELL`]
/// characters.
pub(super) fn cell(s: &str) -> String {
    short(s, CELL)
}

/// A reason, as a table cell: safe for the terminal, at most [`REASON`] characters.
pub(super) fn reason(s: &str) -> String {
    short(s, REASON)
}

/// Renders rows under a header, kubectl-style (no borders: easy to read and to `awk`).
pub(super) fn render(
    header: &[&str],
    rows: Vec<Vec<String>>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut builder = Builder::default();
    builder.push_record(header.iter().copied());
    for row in rows {
        builder.push_record(row);
    }
    let mut table = builder.build();
    table
        .with(Style::empty())
        .modify(Columns::new(..), Padding::new(0, 3, 0, 0));
    for line in table.to_string().lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `humans/others`, with `?` where one is unknown and `-` where there is no room to count.
pub(super) fn presence(humans: Option<u32>, others: Option<u32>) -> String {
    let show = |n: Option<u32>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    if humans.is_none() && others.is_none() {
        return "-".to_owned();
    }
    format!("{}/{}", show(humans), show(others))
}

/// The sweep table and its summary line.
pub fn sweep(report: &Report, color: bool, out: &mut impl Write) -> std::io::Result<()> {
    let paint = Paint(color);
    if report.findings.is_empty() {
        return writeln!(
            out,
            "{} nothing offends ({} scanned)",
            paint.green("ok:"),
            scanned(report.rooms_scanned, report.egresses_scanned)
        );
    }
    render(&SWEEP_HEADER, sweep_rows(report, &paint), out)?;
    for (f, r) in &report.findings {
        if let Some(error) = &r.error {
            writeln!(
                out,
                "{} {}: {}",
                paint.dim("note:"),
                target(f),
                short(error, 2 * REASON)
            )?;
        }
    }
    writeln!(out, "{}", summary_line(report))
}

/// The sweep table's columns.
pub(super) const SWEEP_HEADER: [&str; 8] = [
    "RULES",
    "TARGET",
    "ROOM",
    "AGE",
    "HUMANS/OTHERS",
    "ACTION",
    "RESULT",
    "REASON",
];

/// One row per finding, under [`SWEEP_HEADER`].
pub(super) fn sweep_rows(report: &Report, paint: &Paint) -> Vec<Vec<String>> {
    report
        .findings
        .iter()
        .map(|(f, r)| {
            let result = match r.outcome {
                Outcome::Done | Outcome::AlreadyGone => paint.green(r.outcome.as_str()),
                Outcome::Failed => paint.red(r.outcome.as_str()),
                Outcome::SkippedRecheck | Outcome::Skipped | Outcome::Zombie => {
                    paint.yellow(r.outcome.as_str())
                }
                Outcome::Planned => r.outcome.as_str().to_owned(),
            };
            vec![
                f.rules
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                target(f),
                if f.room.is_empty() {
                    paint.dim("-")
                } else {
                    cell(&f.room)
                },
                human_duration(f.age),
                presence(f.humans, f.others),
                f.action.as_str().to_owned(),
                result,
                reason(&f.reason),
            ]
        })
        .collect()
}

fn target(f: &Finding) -> String {
    match f.target {
        Target::Room => "room".to_owned(),
        Target::Egress => cell(f.egress_id.as_deref().unwrap_or("?")),
        Target::Ingress => cell(f.ingress.as_ref().map_or("?", |i| i.ingress_id.as_str())),
        Target::Participant => cell(f.participant.as_ref().map_or("?", |p| p.identity.as_str())),
    }
}

/// `3 rooms, 1 egress`.
pub fn scanned(rooms: usize, egresses: usize) -> String {
    use crate::words::count;
    format!("{}, {}", count(rooms, "room"), count(egresses, "egress"))
}

pub(super) fn summary_line(report: &Report) -> String {
    format!(
        "{} ({} scanned)",
        report.headline(),
        scanned(report.rooms_scanned, report.egresses_scanned)
    )
}
