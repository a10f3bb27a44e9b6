//! `cargo bench --bench sweep`: a 10,000-room sweep against the simulator, with the figures
//! issue #5 asks for. It prints them, the repeated dry runs as min-max ranges; it asserts
//! no timing (timings vary by machine), only that each dry run listed the participants of
//! exactly the rooms it had to (counted from the simulator's state and per-method stats).
//!
//! The simulator and every reaper run are separate processes of the release build. Each
//! reaper run goes through a copy of this program in `--measure` mode, whose only child is
//! that reaper, so `getrusage(RUSAGE_CHILDREN)` there is the reaper's peak RSS and CPU time
//! alone, never the simulator's.
//!
//! Options (after `--`): `--rooms N` (10000), `--latency-ms MS` (20), `--concurrency N` (64),
//! `--seed S` (1), `--repeat N` (3 dry runs).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use lk_reaper::cli::Shard;
use lk_reaper::policy::in_shard;
use lk_reaper::sim::{RoomSpec, Scenario};
use nix::sys::resource::{UsageWho, getrusage};

const REAPER: &str = env!("CARGO_BIN_EXE_lk-reaper");
/// The default `--humanless-grace`: rooms older than this are judged by `humanless`.
const GRACE_S: u64 = 5 * 60;
const SHARD: Shard = Shard { index: 0, count: 4 };
const LIST: &str = "ListParticipants";

fn main() -> anyhow::Result<()> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--measure") {
        return measure(&args[1..]);
    }
    let opts = Options::parse(&args)?;
    print_machine(&opts);
    let sim = Sim::start(&opts)?;
    let work = tempfile::tempdir()?;

    let before = sim.state()?;
    println!(
        "rooms {}, egress records {}",
        before.rooms.len(),
        before.egresses.len()
    );
    print_needs(
        &opts,
        &Needs::of(&before, None),
        &Needs::of(&before, Some(SHARD)),
    );

    // Dry runs change nothing, so they repeat on the same fleet; the real sweep comes last.
    let mut runs = Vec::new();
    for n in 1..=opts.repeat {
        let label = format!("dry run {n}");
        runs.push(sim.sweep(&opts, work.path(), &label, None, &["--dry-run"])?);
    }
    let shard = ["--dry-run", "--shard", "0/4"];
    runs.push(sim.sweep(
        &opts,
        work.path(),
        "dry run, shard 0/4",
        Some(SHARD),
        &shard,
    )?);
    runs.push(sim.sweep(&opts, work.path(), "real sweep", None, &[])?);
    print_runs(&opts, &runs);
    print_ranges(&opts, &runs[..opts.repeat as usize]);
    for run in runs.iter().filter(|r| r.dry) {
        run.check_lists()?;
    }
    Ok(())
}

/// Benchmark knobs.
struct Options {
    rooms: u64,
    latency: Duration,
    concurrency: u64,
    seed: u64,
    /// How many times the dry run is measured.
    repeat: u64,
}

impl Options {
    fn parse(args: &[OsString]) -> anyhow::Result<Self> {
        let mut opts = Self {
            rooms: 10_000,
            latency: Duration::from_millis(20),
            concurrency: 64,
            seed: 1,
            repeat: 3,
        };
        let mut args = args.iter().filter_map(|a| a.to_str());
        while let Some(arg) = args.next() {
            let mut value = || -> anyhow::Result<u64> {
                Ok(args.next().context("a value is missing")?.parse()?)
            };
            match arg {
                "--rooms" => opts.rooms = value()?,
                "--latency-ms" => opts.latency = Duration::from_millis(value()?),
                "--concurrency" => opts.concurrency = value()?,
                "--seed" => opts.seed = value()?,
                "--repeat" => opts.repeat = value()?,
                // `cargo bench` passes `--bench`; a filter may follow.
                _ => {}
            }
        }
        if opts.repeat == 0 {
            bail!("--repeat must be 1 or more");
        }
        Ok(opts)
    }

    fn round_trips(&self, calls: u64) -> u64 {
        calls.div_ceil(self.concurrency)
    }

    fn ideal(&self, round_trips: u64) -> Duration {
        self.latency * u32::try_from(round_trips).unwrap_or(u32::MAX)
    }
}

fn print_machine(opts: &Options) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("unknown");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo.lines().next().unwrap_or("MemTotal: unknown");
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "machine: {cores} cores (nproc), CPU {model}, {}",
        memory
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "fleet: lk-reaper simulate --generate {} --seed {} --latency {}ms",
        opts.rooms,
        opts.seed,
        opts.latency.as_millis(),
    );
    println!(
        "runs:  lk-reaper --concurrency {} -o json -q sweep --max-actions 1000000 [ARGS] (release build)",
        opts.concurrency
    );
}

/// The simulator, a separate process, stopped when dropped.
struct Sim {
    child: Child,
    url: String,
    addr: String,
}

impl Sim {
    fn start(opts: &Options) -> anyhow::Result<Self> {
        let mut child = Command::new(REAPER)
            .args(["simulate", "--listen", "127.0.0.1:0", "--generate"])
            .arg(opts.rooms.to_string())
            .args(["--seed", &opts.seed.to_string()])
            .args(["--latency", &format!("{}ms", opts.latency.as_millis())])
            .stdout(Stdio::piped())
            .spawn()
            .context("could not start the simulator")?;
        let mut url = String::new();
        BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut url)?;
        let url = url.trim().to_owned();
        let addr = url
            .strip_prefix("http://")
            .context("no URL from the simulator")?
            .to_owned();
        Ok(Self { child, url, addr })
    }

    /// `GET path` on the simulator (its `/_sim` endpoints are not counted as API calls).
    fn get(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let mut tcp = TcpStream::connect(&self.addr)?;
        write!(tcp, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr)?;
        let mut response = Vec::new();
        tcp.read_to_end(&mut response)?;
        let start = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("no HTTP body")?;
        Ok(response.split_off(start + 4))
    }

    fn state(&self) -> anyhow::Result<Scenario> {
        Ok(serde_json::from_slice(&self.get("/_sim/state")?)?)
    }

    fn stats(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        Ok(serde_json::from_slice(&self.get("/_sim/stats")?)?)
    }

    /// Runs `lk-reaper sweep` (measured) and the API calls it made.
    fn sweep(
        &self,
        opts: &Options,
        dir: &Path,
        label: &str,
        shard: Option<Shard>,
        extra: &[&str],
    ) -> anyhow::Result<Run> {
        let needs = Needs::of(&self.state()?, shard);
        let before = self.stats()?;
        let report = dir.join("report.json");
        let output = Command::new(std::env::current_exe()?)
            .arg("--measure")
            .arg(&report)
            .arg(REAPER)
            .args([
                "--url",
                &self.url,
                "--api-key",
                "devkey",
                "--api-secret",
                "secret",
            ])
            .args([
                "--concurrency",
                &opts.concurrency.to_string(),
                "-o",
                "json",
                "-q",
            ])
            .arg("sweep")
            // A dry run past --max-actions exits 5; the limit is not what is measured.
            .args(["--max-actions", "1000000"])
            .args(extra)
            .stderr(Stdio::inherit())
            .output()?;
        let usage: Usage = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("{label}: no measurement"))?;
        if usage.status != 0 {
            bail!("{label}: lk-reaper sweep exited {}", usage.status);
        }
        let after = self.stats()?;
        let calls = after.iter().map(|(k, v)| {
            (
                k.clone(),
                v.saturating_sub(before.get(k).copied().unwrap_or(0)),
            )
        });
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
        Ok(Run {
            label: label.to_owned(),
            args: format!("sweep {}", extra.join(" ")).trim_end().to_owned(),
            dry: extra.contains(&"--dry-run"),
            calls: calls.filter(|(_, n)| *n > 0).collect(),
            findings: report["findings"].as_array().map_or(0, Vec::len),
            usage,
            needs,
        })
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One reaper process, as `--measure` saw it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Usage {
    status: i32,
    wall_s: f64,
    cpu_user_s: f64,
    cpu_sys_s: f64,
    max_rss_kib: i64,
}

/// `--measure REPORT PROGRAM ARGS...`: runs PROGRAM with stdout to REPORT, waits, and
/// prints its [`Usage`]. This process has no other child, so RUSAGE_CHILDREN is PROGRAM's.
fn measure(args: &[OsString]) -> anyhow::Result<()> {
    let [report, program, rest @ ..] = args else {
        bail!("usage: --measure REPORT PROGRAM ARGS...");
    };
    let started = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .stdout(std::fs::File::create(PathBuf::from(report))?)
        .status()?;
    let wall_s = started.elapsed().as_secs_f64();
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    let usage = Usage {
        status: status.code().unwrap_or(-1),
        wall_s,
        cpu_user_s: seconds(usage.user_time()),
        cpu_sys_s: seconds(usage.system_time()),
        // Linux reports ru_maxrss in KiB.
        max_rss_kib: usage.max_rss(),
    };
    println!("{}", serde_json::to_string(&usage)?);
    Ok(())
}

/// How many participant lists a sweep needs, counted from the simulator's state.
struct Needs {
    /// Rooms (in the shard) that `humanless` judges: older than the grace. The reaper lists
    /// every one of them, since a zero `num_participants` lags joins on a real server.
    judged: u64,
    /// The same one second later: the reaper takes its inventory a few milliseconds after
    /// the state was read, and a whole-second age may tick over in between.
    judged_a_second_later: u64,
    /// Of those, rooms whose count is not zero: what a reaper trusting the count would list.
    judged_nonzero: u64,
}

impl Needs {
    fn of(state: &Scenario, shard: Option<Shard>) -> Self {
        // The state's ages are whole seconds rounded down, and the reaper judges age > grace
        // in milliseconds: a room shown as GRACE_S old is judged.
        let judged = |r: &RoomSpec, later: u64| r.age_s + later >= GRACE_S;
        let rooms: Vec<&RoomSpec> = state
            .rooms
            .iter()
            .filter(|r| shard.is_none_or(|s| in_shard(&r.name, s)))
            .collect();
        let count = |later| rooms.iter().filter(|r| judged(r, later)).count() as u64;
        let nonzero = rooms
            .iter()
            .filter(|r| judged(r, 0) && r.participants.iter().any(|p| !p.kind.is_dependent()))
            .count() as u64;
        Self {
            judged: count(0),
            judged_a_second_later: count(1),
            judged_nonzero: nonzero,
        }
    }
}

/// A measured sweep.
struct Run {
    label: String,
    args: String,
    dry: bool,
    calls: BTreeMap<String, u64>,
    /// Findings in the report (planned in a dry run, acted on in a real sweep).
    findings: usize,
    usage: Usage,
    needs: Needs,
}

impl Run {
    fn calls(&self, method: &str) -> u64 {
        self.calls.get(method).copied().unwrap_or(0)
    }

    /// StopEgress and DeleteRoom calls made, from the simulator's per-method stats.
    fn action_calls(&self) -> u64 {
        self.calls("StopEgress") + self.calls("DeleteRoom")
    }

    /// Calls besides the inventory's ListRooms and ListEgress pages: participant lists,
    /// re-checks and actions, all from the per-method stats.
    fn calls_after_listing(&self) -> u64 {
        self.calls
            .iter()
            .filter(|(method, _)| !matches!(method.as_str(), "ListRooms" | "ListEgress"))
            .map(|(_, n)| n)
            .sum::<u64>()
            + self.calls("ListRooms").saturating_sub(1)
    }

    /// A dry run lists the participants of every room it must judge, and of no other.
    fn check_lists(&self) -> anyhow::Result<()> {
        let made = self.calls(LIST);
        let needed = [self.needs.judged, self.needs.judged_a_second_later];
        if !needed.contains(&made) {
            bail!(
                "{}: {made} {LIST} calls, but {} rooms needed a list ({} a second later)",
                self.label,
                needed[0],
                needed[1]
            );
        }
        Ok(())
    }

    /// The lists needed at the reaper's inventory: of the two counts, the one it matched (a
    /// real sweep's lists include its re-checks, so it matches neither: the first count).
    fn lists_needed(&self) -> u64 {
        if self.calls(LIST) == self.needs.judged_a_second_later {
            self.needs.judged_a_second_later
        } else {
            self.needs.judged
        }
    }
}

fn print_needs(opts: &Options, all: &Needs, shard: &Needs) {
    println!(
        "participant lists needed (rooms older than the {GRACE_S} s grace, zero counts listed too): {} (shard 0/4: {})",
        all.judged, shard.judged
    );
    println!(
        "  if zero-count rooms were skipped: {} (shard 0/4: {}), saving {} round trips of {} ms, but judging rooms whose count has not caught up with a join",
        all.judged_nonzero,
        shard.judged_nonzero,
        opts.round_trips(all.judged) - opts.round_trips(all.judged_nonzero),
        opts.latency.as_millis()
    );
}

/// The figures of one run.
struct Row {
    lists_needed: u64,
    lists_made: u64,
    pages: u64,
    findings: u64,
    action_calls: u64,
    wall_s: f64,
    ideal_s: f64,
    ms_per_round_trip: f64,
    ideal_skipping_zero_s: f64,
    rss_mib: f64,
    cpu_s: f64,
}

impl Row {
    /// The ideal: 20 ms per round trip, one for ListRooms plus one per ListEgress page, then
    /// every later call (lists, re-checks, actions) `concurrency` at a time.
    fn of(opts: &Options, run: &Run) -> Self {
        let pages = run.calls("ListEgress");
        let later = run.calls_after_listing();
        let round_trips = |later| 1 + pages + opts.round_trips(later);
        let zero_counts = run.lists_needed().saturating_sub(run.needs.judged_nonzero);
        let u = &run.usage;
        Row {
            lists_needed: run.lists_needed(),
            lists_made: run.calls(LIST),
            pages,
            findings: run.findings as u64,
            action_calls: run.action_calls(),
            wall_s: u.wall_s,
            ideal_s: opts.ideal(round_trips(later)).as_secs_f64(),
            ms_per_round_trip: u.wall_s * 1000.0 / round_trips(later) as f64,
            ideal_skipping_zero_s: opts
                .ideal(round_trips(later.saturating_sub(zero_counts)))
                .as_secs_f64(),
            rss_mib: u.max_rss_kib as f64 / 1024.0,
            cpu_s: u.cpu_user_s + u.cpu_sys_s,
        }
    }

    /// The figures in table order.
    fn all(&self) -> [f64; 12] {
        [
            self.lists_needed as f64,
            self.lists_made as f64,
            self.pages as f64,
            self.findings as f64,
            self.action_calls as f64,
            self.wall_s,
            self.ideal_s,
            self.ideal_s / self.wall_s,
            self.ms_per_round_trip,
            self.ideal_skipping_zero_s,
            self.rss_mib,
            self.cpu_s,
        ]
    }
}

const HEADER: &str = "| run | lists needed | lists made | egress pages | findings | action calls | wall s | ideal s | ideal/wall | ms per round trip | ideal s if zero counts were skipped | peak RSS MiB | CPU s |";
const DECIMALS: [usize; 12] = [0, 0, 0, 0, 0, 2, 2, 2, 1, 2, 1, 2];

fn print_runs(opts: &Options, runs: &[Run]) {
    println!();
    println!("{HEADER}");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        let row = Row::of(opts, run);
        let cells: Vec<String> = row
            .all()
            .iter()
            .zip(DECIMALS)
            .map(|(v, d)| format!("{v:.d$}"))
            .collect();
        println!("| {} | {} |", run.label, cells.join(" | "));
    }
    println!();
    for run in runs {
        println!("{}: `{}` made {:?}", run.label, run.args, run.calls);
    }
}

/// One row of min-max ranges over the repeated dry runs.
fn print_ranges(opts: &Options, dry_runs: &[Run]) {
    let rows: Vec<[f64; 12]> = dry_runs.iter().map(|r| Row::of(opts, r).all()).collect();
    let cells: Vec<String> = (0..12)
        .map(|i| {
            let (lo, hi) = rows.iter().fold((f64::MAX, f64::MIN), |(lo, hi), r| {
                (lo.min(r[i]), hi.max(r[i]))
            });
            let d = DECIMALS[i];
            let (lo, hi) = (format!("{lo:.d$}"), format!("{hi:.d$}"));
            if lo == hi { lo } else { format!("{lo}-{hi}") }
        })
        .collect();
    println!();
    println!("ranges (min-max) over the {} dry runs:", dry_runs.len());
    println!("{HEADER}");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| dry run ({} runs) | {} |",
        dry_runs.len(),
        cells.join(" | ")
    );
}
