//! `cargo bench --bench state`: the `--state` memory of 100,000 rooms saved and loaded
//! (issue #22 asks for under 1 s and under 64 MiB of extra memory). It prints the figures
//! and asserts no timing; it checks only that what was loaded is what was saved.
//!
//! Extra memory is the peak resident set (`VmHWM`, reset through /proc/self/clear_refs
//! before each step) above the resident set before it, so transient buffers count.
//!
//! Options (after `--`): `--rooms N` (100000).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use lk_reaper::memory::file::StateFile;
use lk_reaper::memory::{Memory, Seen};

/// A field of /proc/self/status in KiB, e.g. `VmRSS`.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `step`, returning what it made, its time, and the peak resident memory it added.
fn measure<T>(step: impl FnOnce() -> T) -> (T, Duration, f64) {
    // Writing 5 resets the peak (VmHWM) to the current resident set.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS");
    let started = Instant::now();
    let made = step();
    let took = started.elapsed();
    let extra = status_kib("VmHWM").saturating_sub(before);
    (made, took, extra as f64 / 1024.0)
}

fn memory_of(rooms: usize) -> Memory {
    let mut memory = Memory::default();
    let at = Utc.timestamp_opt(1_800_000_000, 123_456_789).unwrap();
    for i in 0..rooms {
        let seen = Seen {
            room: format!("room-{i:06}-standup-of-the-team"),
            humanless_since: (i % 2 == 0).then_some(at),
            silent_since: (i % 2 == 1).then_some(at),
        };
        memory.insert(format!("RM_{i:012}"), seen);
    }
    memory
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rooms = args
        .iter()
        .position(|a| a == "--rooms")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    let memory = memory_of(rooms);
    let wait = Duration::from_secs(5);
    let ((), save_took, save_mib) = measure(|| {
        let (file, _) = StateFile::open(&path, wait).expect("open");
        file.save(&memory).expect("save");
    });
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    drop(memory);
    let (loaded, load_took, load_mib) = measure(|| StateFile::open(&path, wait).expect("load").1);
    assert_eq!(loaded.len(), rooms, "every room comes back");
    assert_eq!(loaded, memory_of(rooms), "what was saved is what is loaded");
    println!(
        "| rooms | file MiB | save s | save extra MiB | load s | load extra MiB (incl. the memory) |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {rooms} | {:.1} | {:.3} | {save_mib:.1} | {:.3} | {load_mib:.1} |",
        size as f64 / (1024.0 * 1024.0),
        save_took.as_secs_f64(),
        load_took.as_secs_f64()
    );
}
