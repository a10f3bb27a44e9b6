//! The read-only half every command shares: connect, take the inventory, judge it.

use anyhow::anyhow;
use chrono::Utc;
use tokio::time::Instant;

use crate::config::Config;
use crate::inventory::{self, Inventory};
use crate::livekit::{CallLimits, Client};
use crate::policy::{self, Evaluation, human_duration};

/// A client, the inventory and its evaluation, plus the run's deadline.
pub struct Observation {
    pub client: Client,
    pub inventory: Inventory,
    pub evaluation: Evaluation,
    pub deadline: Instant,
    pub warnings: Vec<String>,
}

/// Connects and judges. Fails (exit 1) when the inventory cannot be taken in time.
pub async fn observe(config: &Config, full_detail: bool) -> anyhow::Result<Observation> {
    let deadline = Instant::now() + config.run.timeout;
    let client = Client::new(
        config.connection.endpoint.clone(),
        config.connection.credentials.clone(),
        CallLimits {
            request_timeout: config.run.request_timeout,
            concurrency: config.run.concurrency,
            attempts: 3,
            deadline: Some(deadline.into_std()),
        },
    )?;
    let started = Utc::now();
    let policy = &config.policy;
    let wants = |room: &inventory::Room| {
        if full_detail {
            policy.scope.classify(&room.name) != policy::InScope::No
        } else {
            policy.needs_participants(room, started)
        }
    };
    let progress = crate::progress::Progress::new("listing participants", config.run.progress);
    let fetch = inventory::fetch(&client, config.run.concurrency, wants, |done, total| {
        progress.update(done, total);
    });
    let inventory = tokio::time::timeout_at(deadline, fetch)
        .await
        .map_err(|_| {
            anyhow!(
                "the run deadline (--timeout {}) passed before the inventory of {} was complete",
                human_duration(config.run.timeout),
                config.connection.endpoint
            )
        })??;
    progress.finish();
    let mut warnings = Vec::new();
    if let Some(why) = &inventory.egress_unchecked {
        tracing::warn!("{why}");
        warnings.push(why.clone());
    }
    let evaluation = policy::evaluate(policy, &inventory, Utc::now());
    for doubt in &evaluation.doubts {
        tracing::warn!("{}", crate::report::sanitize::line(&doubt.to_string()));
        warnings.push(doubt.to_string());
    }
    Ok(Observation {
        client,
        inventory,
        evaluation,
        deadline,
        warnings,
    })
}
