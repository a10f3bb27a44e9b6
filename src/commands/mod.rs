//! One function per command; each returns the exit code.

mod observe;
pub mod sweep;
pub mod views;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit_code::ExitCode;

/// A report whose reader went away (`| head`) is no failure of the run: what was done is
/// done, and the exit code, metrics and notification must still say so.
fn reader_gone_is_fine(rendered: std::io::Result<()>) -> std::io::Result<()> {
    match rendered {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `lk-reaper completions SHELL`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> ExitCode {
    clap_complete::generate(shell, &mut Cli::command(), "lk-reaper", out);
    ExitCode::Success
}
