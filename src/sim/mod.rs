//! A LiveKit Room, Egress and Ingress API simulator (`simulate`, `demo`, tests, benchmarks).
//!
//! It speaks the server's wire protocol (Twirp with protobuf and JSON, JWT auth, the real
//! error codes and statuses) over a state loaded from a [`Scenario`].

/// API authentication: token middleware and per-call grants.
mod auth;
/// `/_sim/calls`: the latest calls' tokens and timeout headers, the in-flight peak.
mod calls;
/// Property tests of extreme times through the simulator and the pipeline.
#[cfg(test)]
mod extreme_times;
/// Scenario faults: which call gets which trouble.
mod faults;
/// `--generate`: a deterministic synthetic fleet.
mod generate;
/// One handler per API call.
mod handlers;
/// Ingress records: scenario entries and what the Ingress calls do to them.
mod ingress;
/// Protobuf JSON as the Go server writes it.
mod json;
/// Scenario files: types, loading and validation.
pub mod scenario;
/// Accept loop, request pipeline, `/_sim` endpoints.
mod server;
/// The live state and what each call does to it.
mod state;
/// Published tracks: the scenario forms and `TrackInfo`.
mod tracks;
/// Twirp methods, content types and errors.
pub mod twirp;
/// Signed webhooks, posted as LiveKit posts them.
pub mod webhooks;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cli::SimulateArgs;
use crate::error::usage;
use crate::exit_code::ExitCode;

pub use generate::generate;
pub use scenario::{
    EgressSpec, EgressStatus, EgressType, EventSpec, FaultSpec, IngressInput, IngressSpec,
    IngressStatus, JoinSpec, Kind, KindDetail, NodeState, ParticipantSpec, ParticipantState,
    RoomSpec, Scenario, TrackKind, TrackSource, TrackSpec, Trigger,
};
pub use server::NO_WORKER_DELAY;

/// How to serve a scenario.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Loopback address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Overrides the scenario's `latency_ms`.
    pub latency: Option<Duration>,
    /// Certificate chain and key (PEM) to serve TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where to post signed webhooks of every change (none: no webhooks).
    pub webhook_urls: Vec<String>,
}

/// A running simulator; it stops on [`Simulator::shutdown`] or when dropped.
pub struct Simulator {
    url: String,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Validates the scenario, binds the loopback address and starts serving.
    pub async fn start(mut scenario: Scenario, opts: SimOptions) -> anyhow::Result<Simulator> {
        scenario
            .validate()
            .map_err(|reason| usage(format!("scenario: {reason}")))?;
        if !opts.listen.ip().is_loopback() {
            return Err(usage(format!(
                "--listen {}: the simulator serves on loopback only (127.0.0.1, ::1)",
                opts.listen
            )));
        }
        if let Some(url) = opts.webhook_urls.iter().find(|u| !webhooks::is_loopback(u)) {
            return Err(usage(format!(
                "--webhook-url {url}: the simulator posts to loopback only (http://127.0.0.1:PORT/...)"
            )));
        }
        if let Some(latency) = opts.latency {
            scenario.latency_ms = latency.as_millis() as u64;
        }
        let tls = match &opts.tls {
            Some((cert, key)) => Some(server::tls_acceptor(cert, key)?),
            None => None,
        };
        let listener = TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("could not listen on {}", opts.listen))?;
        let address = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let poster = (!opts.webhook_urls.is_empty()).then(|| {
            let urls = opts.webhook_urls.clone();
            webhooks::Poster::start(urls, scenario.key.clone(), scenario.secret.clone())
        });
        let shared = Arc::new(server::Shared::new(&scenario, poster));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, tls, Arc::clone(&shared), stopped));
        Ok(Simulator {
            url: format!("{scheme}://{address}"),
            shared,
            stop,
            task,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:7880` (`https://` when serving TLS).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The current state in the scenario format (what `GET /_sim/state` returns).
    pub fn state(&self) -> Scenario {
        self.shared.state()
    }

    /// Calls received per method (what `GET /_sim/stats` returns).
    pub fn stats(&self) -> serde_json::Value {
        self.shared.stats()
    }

    /// Stops accepting, closes open connections and waits until it has.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        // The serve task does not panic; a JoinError here can only be a cancellation.
        let _ = (&mut self.task).await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// `lk-reaper simulate`: serve until SIGINT or SIGTERM.
pub async fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let scenario = match (&args.scenario, args.generate) {
        (Some(path), _) => Scenario::from_file(path)?,
        (None, Some(rooms)) => generate(rooms, args.seed),
        (None, None) => return Err(usage("simulate needs --scenario FILE or --generate N")),
    };
    if args.print_scenario {
        let mut stdout = crate::report::stdout();
        serde_json::to_writer_pretty(&mut stdout, &scenario)?;
        writeln!(stdout)?;
        stdout.flush()?;
        return Ok(ExitCode::Success);
    }
    let opts = SimOptions {
        listen: args.listen,
        latency: args.latency,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        webhook_urls: args.webhook_urls.clone(),
    };
    let simulator = Simulator::start(scenario, opts).await?;
    // Handlers first: a script may signal as soon as it has read the URL.
    let stop = crate::shutdown::stop_signal()?;
    // Scripts wait for this line: it must leave the buffer now, not at exit.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", simulator.url())?;
    stdout.flush()?;
    drop(stdout);
    stop.await;
    simulator.shutdown().await;
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code_of;

    fn options(listen: &str) -> SimOptions {
        SimOptions {
            listen: listen.parse().unwrap(),
            latency: Some(Duration::from_millis(5)),
            tls: None,
            webhook_urls: Vec::new(),
        }
    }

    #[tokio::test]
    async fn starts_in_process_and_stops_accepting_on_shutdown() {
        let sim = Simulator::start(generate(20, 1), options("127.0.0.1:0"))
            .await
            .unwrap();
        let address = sim
            .url()
            .strip_prefix("http://127.0.0.1:")
            .map(|port| format!("127.0.0.1:{port}"));
        let address = address.expect("an http loopback URL");
        let state = sim.state();
        assert_eq!(state.rooms.len(), 20);
        assert_eq!(state.latency_ms, 5, "--latency overrides the scenario");
        assert_eq!(sim.stats()["ListRooms"], 0);
        tokio::net::TcpStream::connect(&address).await.unwrap();
        sim.shutdown().await;
        assert!(tokio::net::TcpStream::connect(&address).await.is_err());
    }

    #[tokio::test]
    async fn bad_address_scenario_or_certificate_is_a_usage_error() {
        let not_loopback = Simulator::start(generate(1, 1), options("0.0.0.0:0")).await;
        let mut duplicate = generate(2, 1);
        let first = duplicate.rooms[0].clone();
        duplicate.rooms[1] = first;
        let invalid = Simulator::start(duplicate, options("127.0.0.1:0")).await;
        let mut tls = options("127.0.0.1:0");
        tls.tls = Some((
            "/nonexistent/cert.pem".into(),
            "/nonexistent/key.pem".into(),
        ));
        let no_cert = Simulator::start(generate(1, 1), tls).await;
        for result in [not_loopback, invalid, no_cert] {
            let err = result.err().expect("refused");
            assert_eq!(exit_code_of(&err), ExitCode::Usage, "{err:#}");
        }
    }
}
