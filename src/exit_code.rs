//! The process exit codes of SPEC.md, as one closed enum.

/// How a run ended, as the operator's scripts see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Ran; every planned action done (or a dry run).
    Success = 0,
    /// Could not run: unreachable server, authentication failure, deadline before the inventory.
    CouldNotRun = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// With `--exit-code`: offenders were found.
    OffendersFound = 3,
    /// Some actions failed (the rest were still attempted).
    ActionsFailed = 4,
    /// Refused by `--max-actions`; nothing was done.
    TooManyActions = 5,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
