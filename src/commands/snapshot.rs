//! `lk-reaper snapshot`: the live inventory as a scenario file (read-only).

use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::exit_code::ExitCode;
use crate::snapshot::scenario_of;

/// Takes a full inventory (every room's participants) and writes it as scenario JSON to
/// `file`, or stdout.
pub async fn run(config: &Config, file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let seen = super::observe::observe(config, super::observe::Need::Everything).await?;
    let scenario = scenario_of(&seen.inventory, seen.inventory.taken_at);
    let mut json = serde_json::to_string_pretty(&scenario)?;
    json.push('\n');
    let Some(path) = file else {
        use std::io::Write;
        let mut out = crate::report::stdout();
        out.write_all(json.as_bytes())?;
        out.flush()?;
        return Ok(ExitCode::Success);
    };
    // Room metadata may be private: owner-only, like the secrets it sits beside.
    crate::files::write_atomically(path, &json, 0o600)
        .with_context(|| format!("could not write the snapshot to {}", path.display()))?;
    tracing::info!(
        rooms = scenario.rooms.len(),
        egresses = scenario.egresses.len(),
        "snapshot written to {}; replay it with: lk-reaper simulate --scenario {}",
        path.display(),
        path.display()
    );
    Ok(ExitCode::Success)
}
