//! `cargo bench --bench serve`: `serve` (webhooks, a full sweep every 5 minutes) against
//! cron (a full sweep every minute) on the 10,000-room simulated fleet: API calls per hour
//! and seconds from the last human leaving to the room's end (issue #17). It prints figures;
//! it asserts nothing.
//!
//! The simulator posts signed webhooks to `serve` (both release binaries, separate
//! processes). After the start-up sweep has cleaned the fleet, humans leave `--events` rooms
//! spread over a minute; the benchmark measures when each room ends, and the calls `serve`
//! made for them. Then `serve` stops and cron takes over: humans leave as many other rooms
//! the same way while a real sweep runs every minute from the first leave; the benchmark
//! measures when those rooms end, and the calls per sweep.
//!
//! Options (after `--`): `--rooms N` (10000), `--events N` (100), `--grace-s S` (10; short so
//! the run is), `--latency-ms MS` (20), `--concurrency N` (64).
//!
//! `serve` checks a room the grace after its last human left (so a rejoin is found); a cron
//! sweep judges a room older than the grace at its next tick, whenever its human left.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use lk_reaper::sim::{Kind, Scenario};

const REAPER: &str = env!("CARGO_BIN_EXE_lk-reaper");
const CREDENTIALS: [&str; 4] = ["--api-key", "devkey", "--api-secret", "secret"];

struct Options {
    rooms: u64,
    events: usize,
    grace_s: u64,
    latency_ms: u64,
    concurrency: u64,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut opts = Options {
            rooms: 10_000,
            events: 100,
            grace_s: 10,
            latency_ms: 20,
            concurrency: 64,
        };
        let args: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .collect();
        for pair in args.chunks(2) {
            let value = || -> anyhow::Result<u64> { Ok(pair.get(1).context("a value")?.parse()?) };
            match pair[0].as_str() {
                "--rooms" => opts.rooms = value()?,
                "--events" => opts.events = value()? as usize,
                "--grace-s" => opts.grace_s = value()?,
                "--latency-ms" => opts.latency_ms = value()?,
                "--concurrency" => opts.concurrency = value()?,
                other => bail!("unknown option {other}"),
            }
        }
        Ok(opts)
    }
}

/// A child process killed on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `lk-reaper ARGS` and returns it with the first line it printed.
fn start(args: &[&str]) -> anyhow::Result<(Process, String)> {
    let mut child = Command::new(REAPER)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("could not start lk-reaper")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
    Ok((Process(child), line.trim().to_owned()))
}

/// A plain HTTP/1.0 request on loopback; the body of the answer.
fn request(addr: &str, method: &str, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut tcp = TcpStream::connect(addr)?;
    write!(
        tcp,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut response = Vec::new();
    tcp.read_to_end(&mut response)?;
    let status = std::str::from_utf8(response.get(9..12).unwrap_or_default())?.parse()?;
    let start = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP body")?;
    Ok((status, response.split_off(start + 4)))
}

fn stats(sim: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    Ok(serde_json::from_slice(
        &request(sim, "GET", "/_sim/stats")?.1,
    )?)
}

fn state(sim: &str) -> anyhow::Result<Scenario> {
    Ok(serde_json::from_slice(
        &request(sim, "GET", "/_sim/state")?.1,
    )?)
}

fn total(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> u64 {
    after
        .iter()
        .map(|(m, n)| n - before.get(m).unwrap_or(&0))
        .sum()
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("not done within {limit:?}")
}

/// Rooms whose only humans are standard participants, and those humans.
fn rooms_to_leave(state: &Scenario, n: usize) -> Vec<(String, Vec<String>)> {
    state
        .rooms
        .iter()
        .filter_map(|room| {
            let humans: Vec<String> = room
                .participants
                .iter()
                .filter(|p| p.kind == Kind::Standard)
                .map(|p| p.identity.clone())
                .collect();
            let simple = room
                .participants
                .iter()
                .all(|p| matches!(p.kind, Kind::Standard | Kind::Agent | Kind::Egress));
            (simple && !humans.is_empty()).then(|| (room.name.clone(), humans))
        })
        .take(n)
        .collect()
}

/// Humans leave the chosen rooms, spread over a minute; returns, for each room that ended,
/// the seconds from the leave to its end, sorted.
fn leave_and_watch(
    sim: &str,
    chosen: &[(String, Vec<String>)],
    grace_s: u64,
) -> anyhow::Result<Vec<f64>> {
    let spacing = Duration::from_secs(60) / chosen.len().max(1) as u32;
    let mut to_leave = chosen.iter();
    let mut next_leave = Instant::now();
    let mut left_at: Vec<(String, Instant)> = Vec::new();
    let mut acted: Vec<f64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(grace_s + 180);
    // Leaves and the watch interleave, so a room's end is seen within a poll of it.
    loop {
        if Instant::now() >= next_leave
            && let Some((room, humans)) = to_leave.next()
        {
            for identity in humans {
                request(
                    sim,
                    "POST",
                    &format!("/_sim/leave?room={room}&identity={identity}"),
                )?;
            }
            left_at.push((room.clone(), Instant::now()));
            next_leave += spacing;
        }
        let alive: std::collections::HashSet<String> =
            state(sim)?.rooms.into_iter().map(|r| r.name).collect();
        left_at.retain(|(room, at)| {
            let gone = !alive.contains(room);
            if gone {
                acted.push(at.elapsed().as_secs_f64());
            }
            !gone
        });
        let all_left = to_leave.len() == 0;
        if (all_left && left_at.is_empty()) || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    acted.sort_by(f64::total_cmp);
    Ok(acted)
}

fn main() -> anyhow::Result<()> {
    let opts = Options::parse()?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let serve_addr = format!("127.0.0.1:{port}");
    let hook = format!("http://{serve_addr}/webhook");
    let rooms = opts.rooms.to_string();
    let latency = format!("{}ms", opts.latency_ms);
    let (_sim, sim_url) = start(&[
        "simulate",
        "--listen",
        "127.0.0.1:0",
        "--generate",
        &rooms,
        "--latency",
        &latency,
        "--webhook-url",
        &hook,
    ])?;
    let sim = sim_url
        .strip_prefix("http://")
        .context("simulator URL")?
        .to_owned();
    let grace = format!("{}s", opts.grace_s);
    let concurrency = opts.concurrency.to_string();
    let common = [
        "--url",
        sim_url.as_str(),
        CREDENTIALS[0],
        CREDENTIALS[1],
        CREDENTIALS[2],
        CREDENTIALS[3],
        "--concurrency",
        &concurrency,
        "-q",
    ];
    let launched = Instant::now();
    let serve_args: Vec<&str> = common
        .iter()
        .copied()
        .chain([
            "serve",
            "--listen",
            &serve_addr,
            "--sweep-every",
            "5m",
            "--humanless-grace",
            &grace,
            "--max-actions",
            "1000000",
            "--max-actions-per-minute",
            "1000000",
        ])
        .collect();
    let (serve, _) = start(&serve_args)?;
    let startup = wait_until(Duration::from_secs(300), || {
        request(&serve_addr, "GET", "/healthz").is_ok_and(|(s, _)| s == 200)
    })?;
    println!(
        "fleet: {} rooms; serve's start-up sweep (which also ended the fleet's offenders) took {:.1} s",
        opts.rooms,
        startup.as_secs_f64()
    );
    // Let the webhooks of the start-up sweep's deletions drain.
    std::thread::sleep(Duration::from_secs(3));

    let chosen = rooms_to_leave(&state(&sim)?, opts.events);
    let before = stats(&sim)?;
    let serve_acted = leave_and_watch(&sim, &chosen, opts.grace_s)?;
    let event_calls = total(&stats(&sim)?, &before);
    drop(serve);

    // Cron: the same leaves in other rooms, a real sweep every minute from the first leave.
    let chosen = rooms_to_leave(&state(&sim)?, opts.events);
    let before = stats(&sim)?;
    let stop = AtomicBool::new(false);
    let (cron_acted, sweeps) = std::thread::scope(|scope| {
        let ticks = scope.spawn(|| cron(&common, &grace, &stop));
        let acted = leave_and_watch(&sim, &chosen, opts.grace_s);
        stop.store(true, Ordering::Relaxed);
        let sweeps = ticks
            .join()
            .map_err(|_| anyhow::anyhow!("the cron thread panicked"));
        anyhow::Ok((acted?, sweeps??))
    })?;
    let cron_calls = total(&stats(&sim)?, &before);

    let measured = Measured {
        events: chosen.len(),
        serve_acted,
        event_calls,
        cron_acted,
        sweep_calls: cron_calls / sweeps.len().max(1) as u64,
        sweep_s: sweeps.iter().sum::<f64>() / sweeps.len().max(1) as f64,
    };
    measured.print(&opts, launched.elapsed());
    Ok(())
}

/// A real sweep every minute until `stop`; the seconds each took.
fn cron(common: &[&str], grace: &str, stop: &AtomicBool) -> anyhow::Result<Vec<f64>> {
    let mut took = Vec::new();
    let mut tick = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let status = Command::new(REAPER)
            .args(common)
            .args([
                "sweep",
                "--humanless-grace",
                grace,
                "--max-actions",
                "1000000",
            ])
            .args(["-o", "json"])
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(
            status.code().is_some_and(|c| c <= 4),
            "sweep failed: {status}"
        );
        took.push(started.elapsed().as_secs_f64());
        tick += Duration::from_secs(60);
        while Instant::now() < tick && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(took)
}

/// What the run measured.
struct Measured {
    events: usize,
    /// Seconds from the leave to each room's end under `serve`, sorted.
    serve_acted: Vec<f64>,
    /// API calls `serve` made for the events (checks and actions).
    event_calls: u64,
    /// Seconds from the leave to each room's end under cron, sorted.
    cron_acted: Vec<f64>,
    /// API calls per cron sweep (actions included) and its mean wall time.
    sweep_calls: u64,
    sweep_s: f64,
}

/// `mean, p50, p95, max` of sorted seconds.
fn summary(sorted: &[f64]) -> String {
    let pct = |p: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let mean = sorted.iter().sum::<f64>() / sorted.len().max(1) as f64;
    format!(
        "mean {mean:.2}, p50 {:.2}, p95 {:.2}, max {:.2} ({} rooms)",
        pct(0.5),
        pct(0.95),
        pct(1.0),
        sorted.len()
    )
}

impl Measured {
    fn print(&self, opts: &Options, since_launch: Duration) {
        let per_event = self.event_calls as f64 / self.events.max(1) as f64;
        let (sweep_calls, sweep_s) = (self.sweep_calls, self.sweep_s);
        println!(
            "each way, humans left {} rooms spread over 60 s; {:.0} s since launch",
            self.events,
            since_launch.as_secs_f64()
        );
        println!(
            "seconds from the last human leaving to the room's end (--humanless-grace {}s):",
            opts.grace_s
        );
        println!("  serve:             {}", summary(&self.serve_acted));
        println!("  cron every minute: {}", summary(&self.cron_acted));
        println!(
            "serve: {} API calls for those events ({per_event:.1} per event, actions included)",
            self.event_calls
        );
        println!(
            "cron: {sweep_calls} API calls per sweep, {sweep_s:.2} s wall (--latency {}ms, --concurrency {})",
            opts.latency_ms, opts.concurrency
        );
        let cron_hour = 60 * sweep_calls;
        let serve_sweeps = 12 * sweep_calls;
        println!("API calls per hour, E = events that schedule a check per hour:");
        println!("  cron every minute:       {cron_hour}");
        println!(
            "  serve, --sweep-every 5m: {serve_sweeps} + {per_event:.1} x E; e.g. E = 10,000: {:.0}",
            serve_sweeps as f64 + per_event * 10_000.0
        );
    }
}
