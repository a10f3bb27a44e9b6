//! Logs go to stderr only, so stdout stays a clean report for pipes.

use std::io::{self, Write};

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::{GlobalArgs, LogFormat};

/// Sets up the stderr logger: `RUST_LOG` if set, else from `-v` / `-q` (text: warnings by
/// default; JSON, or a `daemon` such as `serve`: also one event per action).
pub fn init(global: &GlobalArgs, color: bool, daemon: bool) {
    let level = match (global.verbose, global.quiet) {
        (_, 2..) => "off",
        (_, 1) => "error",
        // A log pipeline wants one event per action; a person has the report already.
        (0, 0) if daemon || global.log_format == LogFormat::Json => "lk_reaper=info,warn",
        (0, 0) => "warn",
        (1, 0) => "lk_reaper=info,warn",
        (2, 0) => "lk_reaper=debug,info",
        (_, 0) => "trace",
    };
    // `RUST_LOG` as `target=level,level`; one that does not parse is ignored, as before.
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok());
    let filter = from_env.unwrap_or_else(|| level.parse().expect("built-in log levels parse"));
    let builder = tracing_subscriber::fmt()
        // The builder's own INFO ceiling would hide -vv; `filter` alone decides.
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_writer(|| Stderr)
        .with_target(false);
    // A second init (tests calling `run` twice) keeps the first logger.
    let _ = match global.log_format {
        LogFormat::Json => (builder.json().flatten_event(true).finish())
            .with(filter)
            .try_init(),
        LogFormat::Text => (builder.with_ansi(color).without_time().finish())
            .with(filter)
            .try_init(),
    };
}

/// Stderr that drops what it cannot write: a log line lost to a closed pipe (`2>&1 | head`)
/// must not end the run (tracing-subscriber reports a failed write with `eprintln!`, which
/// panics on that same closed stderr), and the exit code must still say what happened.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}
