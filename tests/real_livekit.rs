//! Tests against the real LiveKit server (v1.13.5), run inside network namespaces of the
//! test's own: the harness, facts we rely on (LIVEKIT_API.md) checked on the server, and the
//! conformance table (tests/conformance/) that also judges the simulator, LiveKit's
//! official Python SDK run against both, and sweeps that end real recordings made by a
//! LiveKit Egress worker beside the server.
//!
//! The tests that need the real server (or the Python venv) carry `#[ignore]`, so a plain
//! `cargo test` lists them as ignored. `scripts/test` runs them (`--include-ignored`) after
//! `scripts/install-test-deps`; run that way, a missing server, worker, venv or root is a
//! failure.
//! Run alone: `cargo test --test real_livekit -- --include-ignored --nocapture` (the
//! measurements go to stderr). `LK_REAPER_BLESS=1` rewrites the golden files in
//! tests/conformance/ from the real server's answers; a missing golden file is a failure.

// A test crate: panicking is how a helper fails a test, product names (LiveKit, Redis,
// ListRooms) fill the docs, and must_use on every helper is noise.
#![allow(
    clippy::missing_panics_doc,
    clippy::doc_markdown,
    clippy::must_use_candidate
)]

/// Prints a line to the real stderr, past the test harness's output capture, so
/// golden-file writes, case counts and measurements show in every run (`eprintln!` shows only on failure).
macro_rules! visible {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[path = "real_livekit/active.rs"]
mod active;
#[path = "common/cache.rs"]
mod cache;
#[path = "real_livekit/cluster.rs"]
mod cluster;
#[path = "real_livekit/conformance.rs"]
mod conformance;
#[path = "real_livekit/facts.rs"]
mod facts;
#[path = "common/flag.rs"]
mod flag;
#[path = "real_livekit/harness.rs"]
pub mod harness;
#[path = "real_livekit/image.rs"]
mod image;
#[path = "real_livekit/ingress.rs"]
mod ingress;
#[path = "real_livekit/netns.rs"]
mod netns;
#[path = "real_livekit/official_client.rs"]
mod official_client;
#[path = "real_livekit/recording.rs"]
mod recording;
#[path = "real_livekit/serve.rs"]
mod serve;
#[path = "real_livekit/sweep.rs"]
mod sweep;
#[path = "real_livekit/token.rs"]
pub mod token;
#[path = "real_livekit/twirp.rs"]
pub mod twirp;
