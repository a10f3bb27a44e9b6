//! One function per command; each returns the exit code.

pub mod demo;
mod observe;
pub mod serve;
pub mod snapshot;
pub mod sweep;
pub mod views;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit_code::ExitCode;

/// `lk-reaper completions SHELL`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    // clap_complete panics on a write error, so render first, then write.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "lk-reaper", &mut script);
    out.write_all(&script)?;
    out.flush()?;
    Ok(ExitCode::Success)
}
