//! `lk-reaper rooms`, `egress` and `ingress`: read-only, the same evaluation as a sweep.

use super::observe::Need;
use crate::config::Config;
use crate::exit_code::ExitCode;
use crate::report::{InventoryReport, ViewKind};

/// Shows the rooms or egress view.
pub async fn run(config: &Config, kind: ViewKind) -> anyhow::Result<ExitCode> {
    if let Some(path) = &config.summary_file {
        crate::files::check_folder("--summary-file", path)?;
    }
    let (need, title) = match kind {
        ViewKind::Rooms => (Need::Everything, "lk-reaper rooms"),
        ViewKind::Egress => (Need::Views, "lk-reaper egress"),
        ViewKind::Ingress => (Need::Views, "lk-reaper ingress"),
    };
    let seen = super::observe::observe(config, need)
        .await
        .inspect_err(|err| {
            super::sweep::append_summary(config, &crate::report::failure_summary(title, err));
        })?;
    let report = InventoryReport {
        kind,
        now: seen.inventory.taken_at,
        rooms_scanned: seen.inventory.rooms.len(),
        egresses_scanned: seen.inventory.egresses.len(),
        ingresses_scanned: seen.inventory.ingresses.len(),
        evaluation: seen.evaluation,
        warnings: seen.warnings,
    };
    let mut out = crate::report::stdout();
    report.render(config.run.output, config.run.color, &mut out)?;
    std::io::Write::flush(&mut out)?;
    super::sweep::append_summary(config, &report.markdown());
    Ok(if seen.nothing_judged {
        ExitCode::CouldNotRun
    } else if config.exit_code && report.offending() > 0 {
        ExitCode::OffendersFound
    } else {
        ExitCode::Success
    })
}
