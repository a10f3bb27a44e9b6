//! `-o junit`: JUnit XML, as GitLab, Jenkins and GitHub's test reporters read it. One test
//! case per room and per egress in scope; an offender is a failure whose message is its
//! reason, everything else passes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use super::{Report, timestamp};
use crate::execute::ActionResult;
use crate::policy::{Finding, Target, human_duration};

/// One room or egress.
pub(super) struct Case<'a> {
    /// The room's name or the egress's id.
    pub name: &'a str,
    pub failure: Option<Failure>,
}

/// Why a case fails.
pub(super) struct Failure {
    /// The reason, as the table's REASON column gives it.
    pub message: String,
    /// The rules broken, comma-separated.
    pub kind: String,
    /// Further lines: action, result, error.
    pub detail: String,
}

/// A group of cases of one kind: `rooms`, `egresses` or `ingresses`.
pub(super) struct Suite<'a> {
    /// The kind, which is also the cases' class name.
    pub kind: &'static str,
    /// The step it belongs to, when one document holds several (`demo`).
    pub step: Option<&'a str>,
    pub cases: Vec<Case<'a>>,
}

impl Suite<'_> {
    fn name(&self) -> String {
        match self.step {
            Some(step) => format!("{step}: {}", self.kind),
            None => self.kind.to_owned(),
        }
    }
}

/// Writes the document. `warnings` go to the first suite's `<system-err>`.
pub(super) fn write(
    suites: &[Suite<'_>],
    at: chrono::DateTime<chrono::Utc>,
    warnings: &[String],
    out: &mut impl Write,
) -> std::io::Result<()> {
    let failed = |s: &Suite<'_>| s.cases.iter().filter(|c| c.failure.is_some()).count();
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(failed).sum();
    let at = timestamp(at);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="lk-reaper" tests="{tests}" failures="{failures}" errors="0" skipped="0" time="0">"#
    )?;
    for (i, suite) in suites.iter().enumerate() {
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="0" skipped="0" time="0" timestamp="{at}">"#,
            escape(&suite.name()),
            suite.cases.len(),
            failed(suite)
        )?;
        for case in &suite.cases {
            write_case(suite.kind, case, out)?;
        }
        if i == 0 && !warnings.is_empty() {
            writeln!(
                out,
                "    <system-err>{}</system-err>",
                escape(&warnings.join("\n"))
            )?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

fn write_case(suite: &str, case: &Case<'_>, out: &mut impl Write) -> std::io::Result<()> {
    let open = format!(
        r#"    <testcase classname="lk-reaper.{suite}" name="{}" time="0""#,
        escape(case.name)
    );
    match &case.failure {
        None => writeln!(out, "{open}/>"),
        Some(failure) => {
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                r#"      <failure message="{}" type="{}">{}</failure>"#,
                escape(&failure.message),
                escape(&failure.kind),
                escape(&failure.detail)
            )?;
            writeln!(out, "    </testcase>")
        }
    }
}

/// Text safe in an XML attribute or element: the five markup characters as entities, line
/// breaks and tabs as character references (an attribute would fold them into spaces), and
/// characters XML 1.0 cannot carry at all (other controls, U+FFFE, U+FFFF) as U+FFFD.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

type Pair = (Finding, ActionResult);

/// A sweep's cases: every room and egress in scope, the offenders failing.
pub(super) fn sweep(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    write(
        &sweep_suites(report, None),
        report.now,
        &report.warnings,
        out,
    )
}

/// Several sweeps in one document, each step's suites named after it (`demo -o junit`).
pub(super) fn steps(steps: &[(&str, &Report)], out: &mut impl Write) -> std::io::Result<()> {
    let Some((_, last)) = steps.last() else {
        return Ok(());
    };
    let suites: Vec<Suite<'_>> = (steps.iter())
        .flat_map(|(step, report)| sweep_suites(report, Some(step)))
        .collect();
    let mut warnings: Vec<String> = Vec::new();
    for warning in steps.iter().flat_map(|(_, r)| &r.warnings) {
        if !warnings.contains(warning) {
            warnings.push(warning.clone());
        }
    }
    write(&suites, last.now, &warnings, out)
}

fn sweep_suites<'a>(report: &'a Report, step: Option<&'a str>) -> [Suite<'a>; 2] {
    let mut rooms: HashMap<&str, &Pair> = HashMap::new();
    let mut egresses: HashMap<&str, &Pair> = HashMap::new();
    for pair in &report.findings {
        match (pair.0.target, pair.0.egress_id.as_deref()) {
            (Target::Egress, Some(id)) => egresses.insert(id, pair),
            _ => rooms.insert(pair.0.room.as_str(), pair),
        };
    }
    [
        sweep_suite("rooms", step, &report.subjects.rooms, rooms),
        sweep_suite("egresses", step, &report.subjects.egresses, egresses),
    ]
}

/// One case per name in scope, failing where `offenders` names it.
fn sweep_suite<'a>(
    kind: &'static str,
    step: Option<&'a str>,
    in_scope: &'a [String],
    mut offenders: HashMap<&'a str, &'a Pair>,
) -> Suite<'a> {
    let mut cases: Vec<Case<'a>> = in_scope
        .iter()
        .map(|n| Case {
            name: n,
            failure: offenders.remove(n.as_str()).map(sweep_failure),
        })
        .collect();
    // Never lose an offender, even one the scope list did not name.
    cases.extend(offenders.into_iter().map(|(name, pair)| Case {
        name,
        failure: Some(sweep_failure(pair)),
    }));
    Suite { kind, step, cases }
}

fn sweep_failure((finding, result): &Pair) -> Failure {
    let rules: Vec<&str> = finding.rules.iter().map(|r| r.as_str()).collect();
    let mut detail = format!(
        "action: {}\nresult: {}\nage: {}",
        finding.action.as_str(),
        result.outcome.as_str(),
        human_duration(finding.age)
    );
    if finding.target == Target::Egress && !finding.room.is_empty() {
        let _ = write!(detail, "\nroom: {}", finding.room);
    }
    if let Some(error) = &result.error {
        let _ = write!(detail, "\nerror: {error}");
    }
    Failure {
        message: finding.reason.clone(),
        kind: rules.join(","),
        detail,
    }
}
