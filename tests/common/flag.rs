//! Boolean environment variables of the test suites, read one way everywhere.

/// Whether `name` is set: `1` or `true` set it; unset, empty or `0` do not. Any other
/// value fails the test, so a typo never quietly means "off".
pub fn env_flag(name: &str) -> bool {
    let value = std::env::var_os(name).unwrap_or_default();
    match value.to_string_lossy().as_ref() {
        "1" | "true" => true,
        "" | "0" => false,
        other => panic!("{name}={other:?}: use 1 or true to set it, 0 or empty to unset it"),
    }
}
