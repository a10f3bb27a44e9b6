//! Where `scripts/install-test-deps` puts the Go binaries the test suites run.

use std::path::PathBuf;

/// Folder of the Go binaries `scripts/install-test-deps` builds (`LK_REAPER_CACHE`).
pub fn bin_dir() -> PathBuf {
    std::env::var_os("LK_REAPER_CACHE").map_or_else(
        || {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/lk-reaper/bin")
        },
        PathBuf::from,
    )
}
