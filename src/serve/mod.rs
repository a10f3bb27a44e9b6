//! `serve`: webhooks schedule room checks; full sweeps catch what webhooks missed.
//!
//! Stateless by design: the timers live in memory only, and what a restart loses the
//! start-up sweep finds again.

/// A room check: the sweep pipeline scoped to one room; the per-minute breaker.
pub mod check;
/// `/webhook`, `/healthz`, `/metrics`.
pub mod http;
/// Accepting connections: caps, the header timeout, the open-files limit.
pub mod listener;
/// Counters and the exposition.
pub mod metrics;
/// Per room one pending grace check (the newest event's) and one age deadline (the earliest).
pub mod scheduler;
/// When a rule could first fire, from an event or an inventory.
pub mod triggers;
/// Verifying webhooks; dropping duplicates and stale ones.
pub mod webhook;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::cli::ServeArgs;
use crate::commands::sweep::{self, SweepOptions, Swept};
use crate::config::Config;
use crate::inventory::Inventory;
use crate::memory::file::StateFile;
use crate::policy::Finding;

use check::{Breaker, Checked, Checker};
use http::{App, Health};
use scheduler::{Cause, Timers};

/// How long in-flight checks and a running sweep get to finish after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How long open HTTP requests get to finish after SIGTERM.
const HTTP_GRACE: Duration = Duration::from_secs(2);

/// A check due while the same room's check still runs waits this long.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// Options only `serve` has.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub webhook_path: String,
    pub sweep_every: Duration,
    pub max_actions_per_minute: usize,
}

impl From<&ServeArgs> for ServeOptions {
    fn from(args: &ServeArgs) -> Self {
        Self {
            listen: args.listen,
            webhook_path: args.webhook_path.clone(),
            sweep_every: args.sweep_every,
            max_actions_per_minute: args.max_actions_per_minute,
        }
    }
}

/// What a finished task reports to the loop.
enum Done {
    Sweep(anyhow::Result<Swept>, Duration),
    Check(String, Cause, Option<Checked>),
}

/// Serves until `stop` resolves, then stops accepting, lets in-flight work finish (at most
/// [`SHUTDOWN_GRACE`]) and returns. `ready` gets the bound address.
pub async fn serve(
    mut config: Config,
    sweep_options: SweepOptions,
    options: ServeOptions,
    ready: impl FnOnce(SocketAddr) -> anyhow::Result<()>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    config.run.progress = false;
    listener::raise_open_files_limit();
    let mut work = Work::new(config, sweep_options, &options)?;
    let tcp = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("could not listen on {}", options.listen))?;
    ready(tcp.local_addr()?)?;
    let (quit, mut quitting) = tokio::sync::watch::channel(false);
    let router = http::router(Arc::clone(&work.app), &options.webhook_path);
    let quitting = async move {
        let _ = quitting.wait_for(|q| *q).await;
    };
    let caps = listener::Caps::default();
    let http = tokio::spawn(listener::serve(tcp, router, caps, quitting, HTTP_GRACE));
    work.run(stop).await;
    quit.send_replace(true);
    // Saved again once in-flight work is done (below); now too, in case it never is.
    work.save_memory();
    tracing::info!("stopping: no new checks; waiting for in-flight actions");
    if tokio::time::timeout(SHUTDOWN_GRACE, work.drain())
        .await
        .is_err()
    {
        tracing::warn!(
            "in-flight work did not finish within {}s; the next start-up sweep catches up",
            SHUTDOWN_GRACE.as_secs()
        );
    }
    work.save_memory();
    let _ = tokio::time::timeout(HTTP_GRACE, http).await;
    Ok(())
}

/// The loop's state: what runs, what is due next.
struct Work {
    config: Arc<Config>,
    sweep_options: Arc<SweepOptions>,
    every: Duration,
    app: Arc<App>,
    checker: Arc<Checker>,
    // One task, no spawning: checks and sweeps interleave at their API calls, all bounded
    // by the one client's concurrency.
    tasks: FuturesUnordered<LocalBoxFuture<'static, Done>>,
    /// Rooms whose check is in flight.
    running: HashSet<String>,
    sweeping: bool,
    /// `--state`: the memory file, locked while serve runs.
    state: Option<StateFile>,
}

impl Work {
    fn new(
        config: Config,
        sweep_options: SweepOptions,
        options: &ServeOptions,
    ) -> anyhow::Result<Self> {
        let metrics = metrics::Metrics::default();
        let (state, loaded) = match &config.state {
            Some(path) => {
                let wait = config.run.timeout;
                let (file, memory) = tokio::task::block_in_place(|| StateFile::open(path, wait))?;
                (Some(file), memory)
            }
            None => (None, crate::memory::Memory::default()),
        };
        let memory = crate::memory::Shared::new(loaded);
        let app = Arc::new(App {
            inbox: Mutex::new(webhook::Inbox::new(&config.connection.credentials)),
            timers: Timers::default(),
            memory: memory.clone(),
            policy: config.policy.clone(),
            metrics: metrics.clone(),
            health: Health::new(options.sweep_every),
        });
        let checker = Arc::new(Checker {
            client: config.client()?,
            config: config.clone(),
            dry_run: sweep_options.dry_run,
            breaker: Mutex::new(Breaker::new(options.max_actions_per_minute)),
            memory,
            metrics,
        });
        Ok(Self {
            config: Arc::new(config),
            sweep_options: Arc::new(sweep_options),
            every: options.sweep_every,
            app,
            checker,
            tasks: FuturesUnordered::new(),
            running: HashSet::new(),
            sweeping: false,
            state,
        })
    }

    /// Saves the memory to `--state`, if given; a failure is a warning (the memory only
    /// delays actions).
    fn save_memory(&self) {
        if let Some(file) = &self.state
            && let Err(err) = file.save(&self.app.memory.snapshot())
        {
            tracing::warn!("{err:#}");
        }
    }

    async fn run(&mut self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut sweeps = tokio::time::interval(self.every);
        sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let timers = self.app.timers.clone();
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = sweeps.tick() => self.start_sweep(),
                due = timers.due() => {
                    for (room, cause) in due {
                        self.start_check(room, cause);
                    }
                }
                Some(done) = self.tasks.next(), if !self.tasks.is_empty() => self.finished(done),
            }
        }
    }

    async fn drain(&mut self) {
        while let Some(done) = self.tasks.next().await {
            self.finished(done);
        }
    }

    fn start_sweep(&mut self) {
        if self.sweeping {
            tracing::warn!("the previous full sweep is still running; this one is skipped");
            return;
        }
        self.sweeping = true;
        let (config, options) = (Arc::clone(&self.config), Arc::clone(&self.sweep_options));
        let checker = Arc::clone(&self.checker);
        let memory = self.app.memory.clone();
        let timers = self.app.timers.clone();
        // Silence is judged by the memory; only then does a sweep need it.
        let remembered = config.policy.uses_silent().then(|| memory.for_evaluation());
        self.tasks.push(Box::pin(async move {
            let started = Instant::now();
            let act_on = |finding: &Finding, inventory: &Inventory| {
                let now = SystemTime::now();
                let Some(until) = memory.holds(finding, inventory, &config.policy, now) else {
                    return true;
                };
                tracing::info!(
                    room = %crate::redact::line(&finding.room),
                    "full sweep: no human, but one left less than the grace ago; the room's check judges it then"
                );
                // After a restart with --state no check may be pending. Webhook times have
                // whole seconds: a second later never ends the grace early.
                let cause = scheduler::Cause {
                    trigger: "remembered_grace",
                    since: now,
                };
                timers.schedule_at(&finding.room, until + Duration::from_secs(1), cause);
                false
            };
            let result =
                sweep::sweep_with_inventory(&checker.client, &config, &options, act_on, remembered.as_ref())
                    .await;
            Done::Sweep(result, started.elapsed())
        }));
    }

    fn start_check(&mut self, room: String, cause: Cause) {
        if self.running.contains(&room) {
            self.app
                .timers
                .schedule(&room, Instant::now() + BUSY_RETRY, cause);
            return;
        }
        self.running.insert(room.clone());
        let checker = Arc::clone(&self.checker);
        self.tasks.push(Box::pin(async move {
            let seen = checker.check(&room, cause).await;
            Done::Check(room, cause, seen)
        }));
    }

    fn finished(&mut self, done: Done) {
        let now = SystemTime::now();
        match done {
            Done::Sweep(result, took) => {
                self.sweeping = false;
                self.sweep_finished(result, took, now);
            }
            Done::Check(room, cause, checked) => {
                self.running.remove(&room);
                let Some(checked) = checked else { return };
                if let Some(seen) = &checked.memory {
                    self.absorb_silence(seen, &checked.inventory);
                }
                if let Some(at) = checked.grace_ends {
                    self.app.timers.schedule_at(&room, at, cause);
                }
                // The room's next age deadline, whenever it is: the check's earlier one
                // replaced it in the timers.
                let far = crate::time::add(now, crate::time::FAR);
                self.schedule_deadlines(&checked.inventory, now, far);
            }
        }
    }

    fn sweep_finished(&mut self, result: anyhow::Result<Swept>, took: Duration, now: SystemTime) {
        let metrics = &self.checker.metrics;
        match result {
            Ok(Swept {
                report,
                inventory,
                memory,
            }) => {
                if let Some(seen) = memory {
                    self.absorb_silence(&seen, &inventory);
                }
                self.app.health.sweep_ok();
                metrics.sweep_done(Some(&report), took);
                sweep::write_metrics_file(&self.sweep_options, Some(&report), took);
                tracing::info!(
                    rooms = report.rooms_scanned,
                    egresses = report.egresses_scanned,
                    pending_checks = self.app.timers.len(),
                    "full sweep: {}",
                    report.headline()
                );
                self.schedule_deadlines(&inventory, now, crate::time::add(now, self.every));
                let live: HashSet<&str> = inventory.rooms.iter().map(|r| r.sid.as_str()).collect();
                self.app.memory.retain(|sid| live.contains(sid));
                self.save_memory();
                let (config, options) = (Arc::clone(&self.config), Arc::clone(&self.sweep_options));
                tokio::spawn(async move {
                    sweep::push_metrics(&config, &options, Some(&report), took).await;
                    sweep::notify_if_wanted(&config, &options, &report).await;
                });
            }
            Err(err) => {
                metrics.sweep_done(None, took);
                sweep::write_metrics_file(&self.sweep_options, None, took);
                let (config, options) = (Arc::clone(&self.config), Arc::clone(&self.sweep_options));
                tokio::spawn(async move {
                    sweep::push_metrics(&config, &options, None, took).await;
                });
                tracing::error!("full sweep failed: {err:#}");
            }
        }
    }

    /// Takes the silence a sweep or a check saw, and schedules a check of each room newly
    /// silent for when its silence reaches `--silent-after`.
    fn absorb_silence(&self, seen: &crate::memory::Memory, inventory: &Inventory) {
        let sids = inventory
            .rooms
            .iter()
            .map(|r| (r.sid.as_str(), r.name.as_str()));
        for (room, since) in self.app.memory.absorb_silence(seen, sids) {
            let policy = &self.config.policy;
            if let Some(after) = crate::memory::silent_after(policy, inventory, &room) {
                let cause = scheduler::Cause {
                    trigger: "silent",
                    since,
                };
                // Just past the limit: the rule acts on silence longer than it.
                let at = since + after + Duration::from_millis(100);
                self.app.timers.schedule_at(&room, at, cause);
            }
        }
    }

    fn schedule_deadlines(&self, inventory: &Inventory, now: SystemTime, until: SystemTime) {
        let policy = &self.config.policy;
        for (room, at, cause) in triggers::age_deadlines(policy, inventory, now, until) {
            self.app.timers.schedule_at(&room, at, cause);
        }
    }
}
