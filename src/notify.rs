//! `--notify-url`: one POST of what a sweep did, Slack incoming-webhook compatible.
//! One attempt with a short timeout: a chat outage must not slow the janitor down.

use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use crate::execute::Outcome;
use crate::redact;
use crate::report::{Report, Summary};

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Serialize)]
struct Payload<'a> {
    /// What Slack shows.
    text: String,
    dry_run: bool,
    server: &'a str,
    summary: Summary,
    actions: Vec<NotifiedAction<'a>>,
}

#[derive(Serialize)]
struct NotifiedAction<'a> {
    action: &'static str,
    room: &'a str,
    egress_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingress_id: Option<&'a str>,
    participant: Option<&'a str>,
    rules: Vec<&'static str>,
    result: &'static str,
    error: Option<&'a str>,
}

/// Whether there is anything to tell: an action taken or failed, a refused plan, or (a dry
/// run the operator asked to hear about) an action planned. Zombie rooms alone are not
/// news: they stay until purged, and a message every minute about them is a storm.
pub fn worth_sending(report: &Report) -> bool {
    report.refused
        || (report.dry_run && !report.findings.is_empty())
        || report.findings.iter().any(|(_, r)| {
            !matches!(
                r.outcome,
                Outcome::Planned | Outcome::Zombie | Outcome::Skipped
            )
        })
}

/// Posts the summary. Errors never name the URL: webhook URLs are secrets.
pub async fn send(url: &str, server: &str, report: &Report) -> anyhow::Result<()> {
    let payload = payload(server, report);
    let tls = crate::livekit::tls::client_config(url.starts_with("https://"))?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(TIMEOUT)
        .build()?;
    let response = client
        .post(url)
        .json(&payload)
        .send()
        .await
        .map_err(reqwest::Error::without_url)
        .context("notification not sent")?;
    let status = response.status();
    anyhow::ensure!(
        status.is_success(),
        "notification not sent: the receiver answered HTTP {status}"
    );
    Ok(())
}

fn payload<'a>(server: &'a str, report: &'a Report) -> Payload<'a> {
    let s = report.summary();
    let head = format!("lk-reaper on {server}: {}", report.headline());
    let mut lines = vec![head];
    let actions = report
        .findings
        .iter()
        .map(|(f, r)| {
            let ingress_id = f.ingress.as_ref().map(|i| i.ingress_id.as_str());
            let participant = f.participant.as_ref().map(|p| p.identity.as_str());
            let target = (ingress_id.or(f.egress_id.as_deref()).or(participant)).unwrap_or(&f.room);
            lines.push(format!(
                "• {} {} ({}): {}",
                f.action.as_str(),
                redact::line(target),
                redact::line(&f.reason),
                r.outcome.as_str()
            ));
            NotifiedAction {
                action: f.action.as_str(),
                room: &f.room,
                egress_id: f.egress_id.as_deref(),
                ingress_id,
                participant,
                rules: f.rules.iter().map(|r| r.as_str()).collect(),
                result: r.outcome.as_str(),
                error: r.error.as_deref(),
            }
        })
        .collect();
    Payload {
        text: lines.join("\n"),
        dry_run: report.dry_run,
        server,
        summary: s,
        actions,
    }
}
