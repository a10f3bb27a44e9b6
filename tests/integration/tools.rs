//! Where the integration tests find the external tools `scripts/install-test-deps` installs
//! (helm, actionlint, promtool, prometheus, the Pushgateway).

use std::path::PathBuf;

/// A Go tool from the cache folder, failing the test with the remedy when it is missing.
#[track_caller]
pub fn cached(name: &str) -> PathBuf {
    let path = crate::cache::bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-test-deps",
        path.display()
    );
    path
}

/// A command from Debian's packages on PATH, failing the test with the package to install.
#[track_caller]
pub fn debian(command: &str, package: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(command))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{command} is not installed (Debian package {package}): run scripts/install-test-deps")
        })
}
