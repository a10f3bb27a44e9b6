//! Tests against the real LiveKit server (v1.13.5), run inside network namespaces of the
//! test's own: the harness, facts we rely on (LIVEKIT_API.md) checked on the server, and the
//! conformance table (tests/conformance/) that also judges the simulator, and LiveKit's
//! official Python SDK run against both.
//!
//! Needs `scripts/install-test-deps` and root. Without them each test prints SKIPPED, unless
//! `LK_REAPER_REQUIRE_REAL_LIVEKIT=1`, which turns a missing server into a failure.
//! Run alone: `cargo test --test real_livekit -- --nocapture` (the measurements go to stderr).

// A test crate: panicking is how a helper fails a test, product names (LiveKit, Redis,
// ListRooms) fill the docs, and must_use on every helper is noise.
#![allow(
    clippy::missing_panics_doc,
    clippy::doc_markdown,
    clippy::must_use_candidate
)]

/// Prints a line to the real stderr, past the test harness's output capture, so skips,
/// case counts and measurements show in every run (`eprintln!` shows only on failure).
macro_rules! visible {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[path = "real_livekit/conformance.rs"]
mod conformance;
#[path = "real_livekit/facts.rs"]
mod facts;
#[path = "real_livekit/harness.rs"]
pub mod harness;
#[path = "real_livekit/image.rs"]
mod image;
#[path = "real_livekit/netns.rs"]
mod netns;
#[path = "real_livekit/official_client.rs"]
mod official_client;
#[path = "real_livekit/sweep.rs"]
mod sweep;
#[path = "real_livekit/token.rs"]
pub mod token;
#[path = "real_livekit/twirp.rs"]
pub mod twirp;
