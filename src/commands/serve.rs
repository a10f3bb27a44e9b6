//! `lk-reaper serve`: serve webhooks until SIGTERM or SIGINT.

use std::io::Write;

use super::sweep::SweepOptions;
use crate::config::Config;
use crate::exit_code::ExitCode;
use crate::serve::ServeOptions;

/// Serves; prints `listening on http://ADDR` on stdout once webhooks are accepted.
pub async fn run(
    config: Config,
    sweep: SweepOptions,
    options: ServeOptions,
) -> anyhow::Result<ExitCode> {
    sweep.validate()?;
    let stop = crate::shutdown::stop_signal()?;
    let ready = |address| {
        // Scripts and tests wait for this line: it must leave the buffer now.
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{address}")?;
        stdout.flush()?;
        tracing::info!(%address, "serving webhooks");
        Ok(())
    };
    crate::serve::serve(config, sweep, options, ready, stop).await?;
    Ok(ExitCode::Success)
}
