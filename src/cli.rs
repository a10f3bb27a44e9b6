//! The command line as typed: clap definitions only. `config` turns this into what we use.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Parses a humantime duration such as `90s`, `5m` or `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 90s, 5m, 4h, '1h 30m')"))
}

/// `--timeout`: 1 s (less cannot take any inventory) to 24 h (a run is a minute's work).
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(24 * 3600));
/// `--request-timeout`: 100 ms (less fails every call on a healthy server) to 1 h.
pub const REQUEST_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(3600));

/// `--silent-after`, `--max-session` (and their config and metadata keys): 1 s to 30 days.
/// Less would end a recording between two breaths; more is a typo for a unit.
pub const ACTIVE_LIMIT_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(30 * 86_400));

/// A `--silent-after` or `--max-session` duration.
pub fn parse_active_limit(s: &str) -> Result<Duration, String> {
    parse_within(s, ACTIVE_LIMIT_RANGE)
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_within(s, TIMEOUT_RANGE)
}

fn parse_request_timeout(s: &str) -> Result<Duration, String> {
    parse_within(s, REQUEST_TIMEOUT_RANGE)
}

/// A duration within `[min, max]`.
fn parse_within(s: &str, (min, max): (Duration, Duration)) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < min || d > max {
        return Err(format!(
            "must be between {} and {}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

#[derive(Debug, Parser)]
#[command(
    name = "lk-reaper",
    version,
    about = "End LiveKit rooms with no human in them, over-age rooms and runaway egresses",
    long_about = "lk-reaper lists rooms, participants and active egresses through LiveKit's Room \
and Egress service APIs, applies policy rules (no human present, room older than a maximum, \
egress older than a limit, egress whose room is gone) and stops or deletes the offenders. \
It is stateless and safe to run every minute from cron, a systemd timer or CI.",
    after_help = "Start with `lk-reaper demo` (no server needed) or `lk-reaper sweep --dry-run`."
)]
pub struct Cli {
    #[command(flatten, next_help_heading = "Global options")]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the command name.
#[derive(Debug, Args, Default, Clone)]
pub struct GlobalArgs {
    /// LiveKit server URL (ws://, wss://, http:// or https://)
    #[arg(long, env = "LIVEKIT_URL", global = true, value_name = "URL")]
    pub url: Option<String>,

    /// API key
    #[arg(long, env = "LIVEKIT_API_KEY", global = true, value_name = "KEY")]
    pub api_key: Option<String>,

    /// API secret; prefer the environment or --api-secret-file: a flag is visible to other
    /// users in the process list
    #[arg(
        long,
        env = "LIVEKIT_API_SECRET",
        hide_env_values = true,
        global = true,
        value_name = "SECRET"
    )]
    pub api_secret: Option<String>,

    /// Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing
    /// newline is trimmed
    #[arg(
        long,
        env = "LIVEKIT_API_SECRET_FILE",
        global = true,
        value_name = "PATH"
    )]
    pub api_secret_file: Option<PathBuf>,

    /// Take url, key and secret from this project in the lk CLI's ~/.livekit/cli-config.yaml
    #[arg(long, env = "LIVEKIT_PROJECT", global = true, value_name = "NAME")]
    pub project: Option<String>,

    /// TOML policy file
    #[arg(long, env = "LK_REAPER_CONFIG", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Read LiveKit's own Redis (redis:// or rediss://) to find zombie rooms, whose node is
    /// gone; read-only unless --purge-zombies
    #[arg(
        long,
        env = "LK_REAPER_REDIS_URL",
        hide_env_values = true,
        global = true,
        value_name = "URL"
    )]
    pub redis_url: Option<String>,

    /// Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Deadline for one API call, 100ms to 1h [default: 10s]
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_request_timeout)]
    pub request_timeout: Option<Duration>,

    /// API calls in flight at most [default: 16]
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: Option<u16>,

    /// Report format on stdout
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says
    /// why in one line)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// Log format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// When to use colors and progress on stderr and in the table (NO_COLOR is honoured)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Global flags that reach the server: commands that serve or simulate one ignore them.
const CONNECTION: &[&str] = &[
    "url",
    "api_key",
    "api_secret",
    "api_secret_file",
    "project",
    "config",
    "redis_url",
];

/// Global flags that time or bound API calls.
const CALLS: &[&str] = &["timeout", "request_timeout", "concurrency"];

/// Refuses a flag typed on the command line that its command would ignore (`demo
/// --config`, `serve --exit-code`): an operator who typed it expects it to act. The same
/// setting from the environment is not refused (it is set for every command).
pub fn refuse_ignored(matches: &clap::ArgMatches) -> Result<(), String> {
    let Some((command, sub)) = matches.subcommand() else {
        return Ok(());
    };
    let ignored: Vec<&str> = match command {
        "demo" => CONNECTION.to_vec(),
        "simulate" | "completions" => [CONNECTION, CALLS, &["output"]].concat(),
        "serve" => vec!["exit_code"],
        _ => Vec::new(),
    };
    let typed = ignored
        .into_iter()
        .find(|id| sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine));
    match typed {
        Some(id) => Err(format!(
            "error: `{command}` does not use --{}; leave it out (see lk-reaper {command} --help)",
            id.replace('_', "-")
        )),
        None => Ok(()),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find offending rooms and egresses and act on them (--dry-run: only report)
    Sweep(SweepArgs),
    /// Act on LiveKit webhooks as they arrive, with a full sweep at start-up and on an interval
    Serve(ServeArgs),
    /// Read-only inventory: rooms, age, humans / others, active egress, verdict
    Rooms(InventoryArgs),
    /// Read-only inventory: active egresses, age, room, verdict
    Egress(InventoryArgs),
    /// Read-only inventory: ingresses, input type, room, status, enabled, verdict
    Ingress(InventoryArgs),
    /// Write the live inventory as a scenario file for `simulate` (read-only)
    Snapshot(SnapshotArgs),
    /// Serve a LiveKit API simulator from a scenario file on loopback
    Simulate(SimulateArgs),
    /// Run a dry-run sweep, then a real sweep, against a built-in simulated LiveKit
    Demo,
    /// Print a shell completion script
    Completions {
        /// Shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Only report what would be done; make no change
    #[arg(long, short = 'n')]
    pub dry_run: bool,

    /// Refuse to act when the plan holds more actions than this [default: 100]
    #[arg(long, value_name = "N")]
    pub max_actions: Option<usize>,

    /// Write Prometheus metrics (textfile collector format) to this file, atomically
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    /// POST a JSON summary (Slack incoming-webhook compatible) here after a real sweep
    #[arg(
        long,
        env = "LK_REAPER_NOTIFY_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub notify_url: Option<String>,

    /// Also notify after a dry run
    #[arg(long, requires = "notify_url")]
    pub notify_dry_run: bool,

    /// Push the run's metrics (those of --metrics-file) to this Prometheus Pushgateway, as job
    /// lk-reaper (grouped by shard when sharded); a failed push is a warning
    #[arg(
        long,
        env = "LK_REAPER_PUSHGATEWAY",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub pushgateway: Option<String>,

    /// Remove zombie rooms' records from LiveKit's Redis, as LiveKit's own DeleteRoom would
    /// (needs --redis-url; counts against --max-actions)
    #[arg(long)]
    pub purge_zombies: bool,

    #[command(flatten)]
    pub inventory: InventoryArgs,
}

/// `serve`: every option of `sweep`, plus where to listen and how often to sweep.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to serve webhooks, /healthz and /metrics on
    #[arg(
        long,
        env = "LK_REAPER_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8089"
    )]
    pub listen: SocketAddr,

    /// Path LiveKit posts webhooks to
    #[arg(long, value_name = "PATH", default_value = "/webhook", value_parser = parse_path)]
    pub webhook_path: String,

    /// Full sweep at start-up and then this often
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_interval)]
    pub sweep_every: Duration,

    /// Event-driven checks act at most this often per minute; a bigger burst is refused and logged
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_actions_per_minute: usize,

    #[command(flatten)]
    pub sweep: SweepArgs,
}

fn parse_path(s: &str) -> Result<String, String> {
    if s.starts_with('/') && !s.contains(['?', '#', ' ', '{', '}', '*']) {
        Ok(s.to_owned())
    } else {
        Err("expected an absolute path such as /webhook".into())
    }
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(1) {
        return Err("expected at least 1s".into());
    }
    Ok(d)
}

/// Policy and scope options shared by sweep, rooms and egress.
#[derive(Debug, Args, Default, Clone)]
pub struct InventoryArgs {
    /// What to do with a room that has no human
    #[arg(long, value_enum, value_name = "MODE")]
    pub humanless: Option<HumanlessMode>,

    /// How old a humanless room must be before it offends [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub humanless_grace: Option<Duration>,

    /// Delete rooms created longer ago than this [default: off]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_room_age: Option<Duration>,

    /// Stop egresses that started longer ago than this [default: off]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_egress_age: Option<Duration>,

    /// Stop active egresses whose room no longer exists [default: on]
    #[arg(long, value_enum, value_name = "ON|OFF")]
    pub orphan_egress: Option<Switch>,

    /// An egress younger than this is never an orphan [default: 2m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub orphan_grace: Option<Duration>,

    /// Stop the egresses of a room whose every human has been silent (publishing nothing,
    /// or everything muted) this long, by lk-reaper's memory (--state) [default: off]
    #[arg(long, value_name = "DURATION", value_parser = parse_active_limit)]
    pub silent_after: Option<Duration>,

    /// What to do with a room silent for --silent-after
    #[arg(long, value_enum, value_name = "MODE")]
    pub silent: Option<SilentMode>,

    /// Remove a human connected longer than this (RemoveParticipant) [default: off]
    #[arg(long, value_name = "DURATION", value_parser = parse_active_limit)]
    pub max_session: Option<Duration>,

    /// Remember between runs when each room was first seen without a human, or silent, in
    /// this JSON file (created if missing; locked while a run uses it)
    #[arg(long, env = "LK_REAPER_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub sip_ring_limit: Option<Duration>,

    /// What to do with an ingress still publishing into a room with no human, past the
    /// room's humanless grace (its encoder would bring a deleted room back) [default: report]
    #[arg(long, value_enum, value_name = "MODE")]
    pub ingress: Option<IngressMode>,

    /// Count this participant kind as human too (repeatable); the human kinds are standard,
    /// sip and connector unless the config file's human_kinds lists others
    #[arg(long = "human-kind", value_enum, value_name = "KIND")]
    pub human_kinds: Vec<ParticipantKind>,

    /// Do not count this participant kind as human (repeatable)
    #[arg(long = "not-human-kind", value_enum, value_name = "KIND")]
    pub not_human_kinds: Vec<ParticipantKind>,

    /// Identities matching this glob are never human (repeatable)
    #[arg(long = "not-human", value_name = "GLOB")]
    pub not_human: Vec<String>,

    /// Only rooms whose name matches this glob (repeatable)
    #[arg(long = "room", value_name = "GLOB")]
    pub rooms: Vec<String>,

    /// Never touch rooms matching this glob, nor their egresses (repeatable)
    #[arg(long = "exclude-room", value_name = "GLOB")]
    pub exclude_rooms: Vec<String>,

    /// Take only shard K of N (0-based), split by a stable hash of the room name
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Take shard JOB_COMPLETION_INDEX of N: the pod's index in a Kubernetes Indexed Job
    /// whose completions is N
    #[arg(long, value_name = "N", conflicts_with = "shard", value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,

    /// Exit with code 3 when offenders were found (for CI smoke checks)
    #[arg(long)]
    pub exit_code: bool,

    /// Append a Markdown summary and table of the run to this file (in GitHub Actions:
    /// $GITHUB_STEP_SUMMARY)
    #[arg(long, env = "LK_REAPER_SUMMARY_FILE", value_name = "PATH")]
    pub summary_file: Option<PathBuf>,
}

/// One of N disjoint slices of the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Shard `index` of `count`, refused unless 0 <= index < count.
    pub fn new(index: u32, count: u32) -> Option<Self> {
        (index < count).then_some(Self { index, count })
    }
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let hint = "expected K/N with 0 <= K < N, for example 0/3";
    let (k, n) = s.split_once('/').ok_or(hint)?;
    let index: u32 = k.trim().parse().map_err(|_| hint)?;
    let count: u32 = n.trim().parse().map_err(|_| hint)?;
    Shard::new(index, count).ok_or_else(|| hint.into())
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Write the scenario here instead of stdout
    #[arg(long, short = 'f', value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["scenario", "generate"])))]
pub struct SimulateArgs {
    /// Scenario file (JSON) to serve
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Generate a deterministic synthetic fleet of N rooms instead
    #[arg(long, value_name = "N")]
    pub generate: Option<usize>,

    /// Seed for --generate
    #[arg(long, value_name = "S", default_value_t = 1, requires = "generate")]
    pub seed: u64,

    /// Address to listen on (loopback only; port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7880")]
    pub listen: SocketAddr,

    /// Delay every API call by this much (overrides the scenario's latency_ms)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub latency: Option<Duration>,

    /// Print the scenario JSON and exit
    #[arg(long)]
    pub print_scenario: bool,

    /// Serve TLS with this certificate chain (PEM)
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key for --tls-cert (PEM)
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Post signed webhooks of every change here, as LiveKit does (repeatable)
    #[arg(long = "webhook-url", value_name = "URL")]
    pub webhook_urls: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Aligned table for people
    #[default]
    Table,
    /// One JSON document
    Json,
    /// One JSON finding per line, then the summary line
    Ndjson,
    /// JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines
    #[default]
    Text,
    /// One JSON object per event
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// Colors when stderr / stdout is a terminal and NO_COLOR is unset
    #[default]
    Auto,
    /// Always
    Always,
    /// Never
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HumanlessMode {
    /// Leave humanless rooms alone
    Off,
    /// Stop the room's active egresses, keep the room
    StopEgress,
    /// Stop the room's active egresses, then delete the room
    DeleteRoom,
}

/// What `forgotten_ingress` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IngressMode {
    /// Leave ingresses alone and say nothing
    Off,
    /// Report the ingress (result `skipped`); the room is handled as humanless
    Report,
    /// Disable a reusable (RTMP, WHIP) ingress with UpdateIngress, then handle the room
    Disable,
    /// Delete the ingress with DeleteIngress, then handle the room
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SilentMode {
    /// Stop the room's room-bound egresses, keep the room
    StopEgress,
    /// Stop the room's egresses, then delete the room
    DeleteRoom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Enabled
    On,
    /// Disabled
    Off,
}

/// LiveKit participant kinds (`ParticipantInfo.Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantKind {
    /// A regular client (also bots that join as one)
    Standard,
    /// An ingress stream
    Ingress,
    /// An egress recorder
    Egress,
    /// A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent
    Sip,
    /// An agent
    Agent,
    /// A connector (WhatsApp, Twilio)
    Connector,
    /// A bridge (RTSP camera)
    Bridge,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn timeouts_have_sensible_bounds() {
        assert_eq!(parse_timeout("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(
            parse_request_timeout("100ms"),
            Ok(Duration::from_millis(100))
        );
        for bad in ["0s", "1ns", "999ms", "25h", "18446744073709551615s"] {
            let err = parse_timeout(bad).unwrap_err();
            assert!(
                err.contains("between 1s and 1day") || err.contains("too large"),
                "{bad}: {err}"
            );
        }
        for bad in ["0s", "1ns", "99ms", "2h"] {
            assert!(parse_request_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shard_parses_and_rejects() {
        assert_eq!(parse_shard("1/3"), Ok(Shard { index: 1, count: 3 }));
        for bad in ["3/3", "0/0", "x/2", "1", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn shard_count_is_positive_and_excludes_shard() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.command);
        let Ok(Command::Sweep(sweep)) = parse(&["lk-reaper", "sweep", "--shard-count", "4"]) else {
            panic!("--shard-count 4 should parse")
        };
        assert_eq!(sweep.inventory.shard_count, Some(4));
        assert!(parse(&["lk-reaper", "sweep", "--shard-count", "0"]).is_err());
        assert!(
            parse(&["lk-reaper", "rooms", "--shard-count", "4", "--shard", "1/4"]).is_err(),
            "one way to name the shard"
        );
    }
}
