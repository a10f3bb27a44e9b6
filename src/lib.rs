//! lk-reaper: a stateless janitor for LiveKit rooms and egresses.
//!
//! Data flows one way: CLI -> config -> inventory -> evaluation (pure) -> plan -> execution
//! -> report. Only the edges touch the clock, the network and stdout.

/// The command line as typed (clap).
pub mod cli;
/// The second seam: LiveKit's own Redis (zombie rooms, purges).
pub mod cluster;
/// One function per command.
mod commands;
/// Flags, environment and files joined into what a run uses.
pub mod config;
/// Error kinds that decide the exit code.
pub mod error;
/// Acting on a plan: re-check, stop, delete, classify.
pub mod execute;
/// The process exit codes.
pub mod exit_code;
/// Atomic file writes.
mod files;
/// The server's rooms, participants and egresses, read once.
pub mod inventory;
/// The network seam: LiveKit's Room and Egress APIs.
pub mod livekit;
/// The stderr logger.
mod logging;
/// What lk-reaper remembers of rooms between looks (`--state`, serve).
pub mod memory;
/// Posting a summary to a chat webhook.
mod notify;
/// Findings grouped into jobs, oldest first.
pub mod plan;
/// Rules and verdicts: a pure function of policy, inventory and time.
pub mod policy;
/// The progress bar on stderr.
mod progress;
/// Pushing a run's metrics to a Prometheus Pushgateway.
mod pushgateway;
/// Keeping secrets and terminal controls out of what is printed.
pub mod redact;
/// Rendering reports for people and pipes.
pub mod report;
/// The API secret, never printed.
pub mod secret;
/// `serve`: webhooks, timers and room checks.
pub mod serve;
/// SIGINT/SIGTERM for the long-running commands.
mod shutdown;
/// The LiveKit API simulator.
pub mod sim;
/// The live inventory as a scenario file.
pub mod snapshot;
/// Time arithmetic on untrusted epoch counts that cannot panic.
pub mod time;
/// Counts and names in messages.
pub mod words;

use cli::{Cli, Command};
use config::Config;
use exit_code::ExitCode;
use report::ViewKind;

/// Runs one command to completion and returns its exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let stderr_color = config::use_color(
        cli.global.color,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let daemon = matches!(cli.command, Command::Serve(_));
    logging::init(&cli.global, stderr_color, daemon);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    match cli.command {
        Command::Sweep(args) => {
            let config = Config::from_cli(global, &args.inventory, args.max_actions)?;
            commands::sweep::run(&config, &(&args).into()).await
        }
        Command::Serve(args) => {
            let sweep = &args.sweep;
            let config = Config::from_cli(global, &sweep.inventory, sweep.max_actions)?;
            commands::serve::run(config, sweep.into(), serve::ServeOptions::from(&args)).await
        }
        Command::Rooms(args) => {
            commands::views::run(&Config::from_cli(global, &args, None)?, ViewKind::Rooms).await
        }
        Command::Egress(args) => {
            commands::views::run(&Config::from_cli(global, &args, None)?, ViewKind::Egress).await
        }
        Command::Ingress(args) => {
            commands::views::run(&Config::from_cli(global, &args, None)?, ViewKind::Ingress).await
        }
        Command::Simulate(args) => sim::run(&args).await,
        Command::Completions { shell } => commands::completions(shell, &mut report::stdout()),
        Command::Snapshot(args) => {
            let config = Config::from_cli(global, &cli::InventoryArgs::default(), None)?;
            commands::snapshot::run(&config, args.file.as_deref()).await
        }
        Command::Demo => commands::demo::run(global).await,
    }
}
