//! Stopping a long-running command (`simulate`, `serve`) on a signal.

use anyhow::Context;

/// Installs the SIGINT and SIGTERM handlers now; the future ends on the first of them.
pub fn stop_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("could not handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("could not handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
