//! `lk-reaper demo`: a dry run, a real sweep and a re-check against a built-in simulated
//! LiveKit, so a newcomer sees every rule work without a server.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;

use super::sweep::{SweepOptions, sweep};
use crate::cli::{GlobalArgs, InventoryArgs, OutputFormat};
use crate::config::Config;
use crate::execute::Outcome;
use crate::exit_code::ExitCode;
use crate::report::Report;
use crate::sim::{Scenario, SimOptions, Simulator};

/// Rooms that show every rule, and healthy ones that must stay.
const SCENARIO: &str = include_str!("demo-scenario.json");

/// The demo's policy, as an operator would type it.
const POLICY_FLAGS: &str =
    "--not-human 'bot-*' --max-room-age 24h --max-egress-age 12h --exclude-room 'keep-*'";

fn demo_policy() -> InventoryArgs {
    InventoryArgs {
        not_human: vec!["bot-*".into()],
        max_room_age: Some(Duration::from_secs(24 * 3600)),
        max_egress_age: Some(Duration::from_secs(12 * 3600)),
        exclude_rooms: vec!["keep-*".into()],
        ..InventoryArgs::default()
    }
}

/// The demo's three sweeps: (narration, the command an operator would type, dry run).
const STEPS: [(&str, &str, bool); 3] = [
    (
        "1. What would a sweep do? Nothing is changed.",
        "sweep --dry-run",
        true,
    ),
    (
        "2. The real sweep: stop the egresses, then delete the rooms.",
        "sweep",
        false,
    ),
    (
        "3. Sweep again: nothing is left to do but node-b-leftover, a zombie room whose node is gone (livekit#3766): LiveKit's API cannot delete it; --redis-url with --purge-zombies can.",
        "sweep --dry-run",
        true,
    ),
];

/// Runs the demo; the output format of the user's `-o` applies to the three reports, and
/// the narration goes to stdout for a table, to stderr otherwise.
pub async fn run(user: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let scenario =
        Scenario::parse(SCENARIO).map_err(|e| anyhow::anyhow!("built-in demo scenario: {e}"))?;
    let (rooms, egresses) = (scenario.rooms.len(), scenario.egresses.len());
    let global = GlobalArgs {
        api_key: Some(scenario.key.clone()),
        api_secret: Some(scenario.secret.clone()),
        api_secret_file: None,
        project: None,
        config: None,
        ..user.clone()
    };
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let sim = Simulator::start(
        scenario,
        SimOptions {
            listen,
            latency: None,
            tls: None,
            webhook_urls: Vec::new(),
        },
    )
    .await
    .context("could not start the built-in simulator")?;
    let config = Config::from_cli(
        &GlobalArgs {
            url: Some(sim.url().to_owned()),
            ..global
        },
        &demo_policy(),
        None,
    )?;

    let mut narrate: Box<dyn Write> = if config.run.output == OutputFormat::Table {
        Box::new(crate::report::stdout())
    } else {
        Box::new(std::io::stderr())
    };
    writeln!(
        narrate,
        "lk-reaper demo: a simulated LiveKit at {} with {rooms} rooms and {egresses} active egresses.\n\
         Policy: the defaults (humanless rooms go after 5m, orphan egress is stopped) plus {POLICY_FLAGS}.\n",
        sim.url()
    )?;
    let reports = sweeps(&config, &mut narrate).await;
    sim.shutdown().await;
    let reports = reports?;
    writeln!(
        narrate,
        "Healthy rooms (people present, a SIP caller, a fresh room) and the excluded keep-* room were never touched.\n\
         Next: point it at your server with LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET, and run `lk-reaper sweep --dry-run`."
    )?;

    Ok(exit_code(&reports))
}

/// Runs the [`STEPS`], narrated, each report written as it comes; JUnit, being one
/// document, is written once after the last.
async fn sweeps(config: &Config, narrate: &mut impl Write) -> anyhow::Result<Vec<Report>> {
    let junit = config.run.output == OutputFormat::Junit;
    let mut reports: Vec<Report> = Vec::new();
    for (title, command, dry_run) in STEPS {
        writeln!(narrate, "{title}\n$ lk-reaper {command} {POLICY_FLAGS}")?;
        narrate.flush()?;
        let options = SweepOptions {
            dry_run,
            ..SweepOptions::default()
        };
        let report = sweep(config, &options).await?;
        if !junit {
            report.render(
                config.run.output,
                config.run.color,
                &mut crate::report::stdout(),
            )?;
        }
        writeln!(narrate)?;
        reports.push(report);
    }
    if junit {
        let labels: Vec<String> = (STEPS.iter().enumerate())
            .map(|(i, (_, command, _))| format!("{}. {command}", i + 1))
            .collect();
        let steps: Vec<(&str, &Report)> = labels.iter().map(String::as_str).zip(&reports).collect();
        crate::report::junit_steps(&steps, &mut crate::report::stdout())?;
    }
    Ok(reports)
}

/// Success when the real sweep acted with no failure and the last look found nothing left
/// but zombie rooms, which LiveKit's API cannot delete.
fn exit_code(reports: &[Report]) -> ExitCode {
    let acted_cleanly = reports[1].summary().failed == 0 && !reports[1].findings.is_empty();
    let was_zombie = |room: &str| {
        reports[1]
            .findings
            .iter()
            .any(|(f, r)| f.room == room && r.outcome == Outcome::Zombie)
    };
    let only_zombies_left = reports[2].findings.iter().all(|(f, _)| was_zombie(&f.room));
    if acted_cleanly && only_zombies_left {
        ExitCode::Success
    } else {
        ExitCode::ActionsFailed
    }
}
