//! One function per command; each returns the exit code.

pub mod demo;
mod observe;
pub mod snapshot;
pub mod sweep;
pub mod views;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit_code::ExitCode;

/// `lk-reaper completions SHELL`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> ExitCode {
    clap_complete::generate(shell, &mut Cli::command(), "lk-reaper", out);
    ExitCode::Success
}
