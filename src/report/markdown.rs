//! `--summary-file`: a Markdown summary and table appended to a file, such as GitHub
//! Actions' `$GITHUB_STEP_SUMMARY`, which the run's page then shows.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context;

use super::Report;
use super::table::{Paint, SWEEP_HEADER, summary_line, sweep_rows};

/// Rows shown at most: GitHub refuses a step summary over 1 MiB, and nobody reads more.
const MAX_ROWS: usize = 100;

/// A sweep's summary: what it did, a table of its findings, its warnings.
pub(super) fn sweep(report: &Report) -> String {
    let title = if report.dry_run {
        "lk-reaper sweep --dry-run"
    } else {
        "lk-reaper sweep"
    };
    let headline = if report.findings.is_empty() {
        format!(
            "ok: nothing offends ({} rooms, {} egresses scanned)",
            report.rooms_scanned, report.egresses_scanned
        )
    } else {
        summary_line(report)
    };
    let rows = sweep_rows(report, &Paint(false));
    document(title, &headline, &SWEEP_HEADER, &rows, &report.warnings)
}

/// The summary of a run that could not report, so that a CI page says why.
pub fn failure(title: &str, err: &anyhow::Error) -> String {
    format!(
        "### {title}\n\n**could not run:** {}\n\n",
        escape(&format!("{err:#}"))
    )
}

/// A titled section: the headline in bold, the table (if any row), the warnings.
pub(super) fn document(
    title: &str,
    headline: &str,
    header: &[&str],
    rows: &[Vec<String>],
    warnings: &[String],
) -> String {
    let mut out = format!("### {title}\n\n**{}**\n\n", escape(headline));
    if !rows.is_empty() {
        out.push_str(&table(header, rows));
    }
    if !warnings.is_empty() {
        out.push_str("Warnings:\n\n");
        for warning in warnings {
            let _ = writeln!(out, "- {}", escape(warning));
        }
        out.push('\n');
    }
    out
}

/// A Markdown table of at most [`MAX_ROWS`] rows, then a line counting the rest.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let cells: Vec<String> = cells.collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut out = line(&mut header.iter().map(|h| escape(h)));
    out.push_str(&line(&mut header.iter().map(|_| "---".to_owned())));
    for row in rows.iter().take(MAX_ROWS) {
        out.push_str(&line(&mut row.iter().map(|c| escape(c))));
    }
    if rows.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n…and {} more rows (`-o json` lists every one).",
            rows.len() - MAX_ROWS
        );
    }
    out.push('\n');
    out
}

/// Text taken literally in a Markdown table cell: HTML as entities (GitHub renders tags),
/// Markdown's markup characters and the cell separator `|` backslash-escaped, controls
/// replaced (room names and reasons come from users).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::redact::line(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Appends `text` to the file at `path`, creating it if needed.
pub fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("could not open the summary file {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("could not write the summary file {}", path.display()))
}
