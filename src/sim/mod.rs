//! A LiveKit Room and Egress API simulator (`simulate`, `demo`, tests, benchmarks).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::SimulateArgs;
use crate::exit_code::ExitCode;

/// How to serve a scenario.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Loopback address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Overrides the scenario's `latency_ms`.
    pub latency: Option<Duration>,
    /// Certificate chain and key (PEM) to serve TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// `lk-reaper simulate`.
#[allow(clippy::unused_async)] // placeholder until the simulator lands
pub async fn run(_args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the simulator is not built yet")
}
