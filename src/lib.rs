//! lk-reaper: a stateless janitor for LiveKit rooms and egresses.
//!
//! Data flows one way: CLI -> config -> inventory -> evaluation (pure) -> plan -> execution
//! -> report. Only the edges touch the clock, the network and stdout.

/// The command line as typed (clap).
pub mod cli;
/// Error kinds that decide the exit code.
pub mod error;
/// The process exit codes.
pub mod exit_code;
/// Rendering reports for people and pipes.
pub mod report;
/// The LiveKit API simulator.
pub mod sim;

use cli::{Cli, Command};
use exit_code::ExitCode;

/// Runs one command to completion and returns its exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Simulate(args) => sim::run(&args).await,
            _ => anyhow::bail!("not built yet"),
        }
    })
}
