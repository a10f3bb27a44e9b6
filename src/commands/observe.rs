//! The read-only half every command shares: connect, take the inventory, judge it.

use anyhow::anyhow;
use chrono::Utc;
use tokio::time::Instant;

use crate::cluster::{ClusterView, Store};
use crate::config::Config;
use crate::inventory::{self, Inventory};
use crate::livekit::Client;
use crate::memory::Memory;
use crate::memory::file::StateFile;
use crate::policy::{self, Evaluation, human_duration};

/// A client, the inventory and its evaluation, plus the run's deadline.
pub struct Observation {
    pub client: Client,
    /// LiveKit's Redis, with `--redis-url`.
    pub store: Option<Store>,
    pub inventory: Inventory,
    pub evaluation: Evaluation,
    pub deadline: Instant,
    pub warnings: Vec<String>,
    /// Every participant list the run needed failed: no room could be judged (exit 1).
    pub nothing_judged: bool,
    /// The memory after this look, when the run judged by one.
    pub memory: Option<Memory>,
}

/// What a command needs from the observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A sweep: the findings; participants only where a rule may act.
    Findings,
    /// `egress`: a view of each egress too.
    Views,
    /// `rooms`, `snapshot`: views, and every in-scope room's participants.
    Everything,
}

/// Connects and judges, by the `--state` memory when there is one (read, never written).
/// Fails (exit 1) when the inventory cannot be taken in time.
pub async fn observe(config: &Config, need: Need) -> anyhow::Result<Observation> {
    let state = open_state(config).await?;
    let memory = state.map(|(_, memory)| memory);
    observe_with(&config.client()?, config, need, memory.as_ref()).await
}

/// Locks and reads the `--state` file, if one is given; the lock lasts as long as the
/// returned file.
pub async fn open_state(config: &Config) -> anyhow::Result<Option<(StateFile, Memory)>> {
    let Some(path) = config.state.clone() else {
        return Ok(None);
    };
    let wait = config.run.timeout;
    let opened = tokio::task::spawn_blocking(move || StateFile::open(&path, wait)).await?;
    opened.map(Some)
}

/// [`observe`] through `shared`, whose concurrency limit this run then shares, judged by
/// `memory` when given.
pub async fn observe_with(
    shared: &Client,
    config: &Config,
    need: Need,
    memory: Option<&Memory>,
) -> anyhow::Result<Observation> {
    let deadline = Instant::now()
        .checked_add(config.run.timeout)
        .ok_or_else(|| crate::error::usage("--timeout is too large for this machine's clock"))?;
    let client = shared.until(deadline.into_std());
    let started = Utc::now();
    let policy = &config.policy;
    let wants = |room: &inventory::Room| {
        if need == Need::Everything {
            policy.scope.classify(&room.name) != policy::InScope::No
        } else {
            policy.needs_participants(room, started, memory.is_some())
        }
    };
    let progress = crate::progress::Progress::new("listing participants", config.run.progress);
    let fetch = inventory::fetch(&client, config.run.concurrency, wants, |done, total| {
        progress.update(done, total);
    });
    // Redis is read while the API lists: a room created after this read has no entry in
    // the copy of `room_node_map` and so is never judged a zombie.
    let (inventory, cluster) = tokio::time::timeout_at(deadline, async {
        tokio::join!(fetch, read_cluster(config))
    })
    .await
    .map_err(|_| {
        anyhow!(
            "the run deadline (--timeout {}) passed before the inventory of {} was complete",
            human_duration(config.run.timeout),
            config.connection.endpoint
        )
    })?;
    let mut inventory = inventory.map_err(|err| name_the_url_source(err, config))?;
    progress.finish();
    let mut warnings = Vec::new();
    // Like a missing egress service: Redis trouble must not stop the sweep of healthy
    // rooms. Without the read no room is a zombie and every ghost counts as human, which
    // only ever protects rooms; the warning says what was not done.
    let (store, view) = match cluster {
        Ok(found) => found.unzip(),
        Err(err) => {
            let why = format!("zombie rooms were not looked for: {err:#}");
            tracing::warn!("{why}");
            warnings.push(why);
            (None, None)
        }
    };
    if let Some(view) = view {
        inventory.dead_nodes = view.dead_nodes(Utc::now());
    }
    for why in [&inventory.egress_unchecked, &inventory.ingress_unchecked]
        .into_iter()
        .flatten()
    {
        tracing::warn!("{why}");
        warnings.push(why.clone());
    }
    let (mut evaluation, memory) = judge(policy, &inventory, memory, need != Need::Findings);
    for doubt in &evaluation.doubts {
        tracing::warn!("{}", crate::redact::line(&doubt.to_string()));
        warnings.push(doubt.to_string());
    }
    for why in std::mem::take(&mut evaluation.warnings) {
        tracing::warn!("{why}");
        warnings.push(why);
    }
    let nothing_judged = inventory.nothing_judged();
    Ok(Observation {
        client,
        store,
        inventory,
        evaluation,
        deadline,
        warnings,
        nothing_judged,
        memory,
    })
}

/// The evaluation (with `views` or without), by `memory` when given, and the new memory.
fn judge(
    policy: &policy::Policy,
    inventory: &Inventory,
    memory: Option<&Memory>,
    views: bool,
) -> (Evaluation, Option<Memory>) {
    match memory {
        Some(memory) => {
            let (evaluation, next) =
                policy::remembering(policy, inventory, memory, Utc::now(), views);
            (evaluation, Some(next))
        }
        None if views => (policy::evaluate(policy, inventory, Utc::now()), None),
        None => (policy::findings(policy, inventory, Utc::now()), None),
    }
}

/// Connects to LiveKit's Redis and reads its nodes, when `--redis-url` is given.
async fn read_cluster(config: &Config) -> anyhow::Result<Option<(Store, ClusterView)>> {
    let Some(url) = &config.redis_url else {
        return Ok(None);
    };
    let store = Store::connect(url, config.run.request_timeout).await?;
    let view = store.read().await?;
    Ok(Some((store, view)))
}

/// A server that cannot be reached at a URL from the config file: the error names the file,
/// which is where to fix it (the hint's --url and LIVEKIT_URL were not used).
fn name_the_url_source(err: anyhow::Error, config: &Config) -> anyhow::Error {
    use crate::livekit::ApiError;
    let Some(file) = &config.connection.url_from_file else {
        return err;
    };
    let unreachable = err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<ApiError>(),
            Some(ApiError::Transport(_) | ApiError::Misconfigured(_) | ApiError::NotLiveKit { .. })
        )
    });
    if !unreachable {
        return err;
    }
    err.context(format!(
        "the URL {} comes from the config file {}",
        config.connection.endpoint,
        file.display()
    ))
}
