//! Error kinds that decide the exit code; everything else is plain `anyhow` context.

use crate::exit_code::ExitCode;

/// Bad input from the operator: flags, config file, scenario file. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Builds a [`UsageError`] as an `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// The exit code for an error that ended the run before a report could be made.
pub fn exit_code_of(err: &anyhow::Error) -> ExitCode {
    if err
        .chain()
        .any(<dyn std::error::Error + 'static>::is::<UsageError>)
    {
        ExitCode::Usage
    } else {
        ExitCode::CouldNotRun
    }
}
