//! LiveKit's official Python server SDK (`livekit-api`, from the project's .venv), a client
//! nobody here wrote, run by tests/conformance/official_client.py against `lk-reaper
//! simulate` and against the real server, both loaded with the conformance fixture: list,
//! stop, delete and auth must give the same results and the same errors (code, HTTP status,
//! message). The real server's output is kept in
//! tests/conformance/official-client-answers.json (`LK_REAPER_BLESS=1` rewrites it; a missing file is a failure),
//! so the simulator side runs wherever the venv is, real server or not.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::conformance::{self, BLESS, RealFixture, Server, Simulator};
use crate::flag::env_flag;
use crate::harness;
use crate::token::{API_KEY, API_SECRET};

fn venv_python() -> PathBuf {
    harness::repo_root().join(".venv/bin/python")
}

fn golden_path() -> PathBuf {
    harness::repo_root().join("tests/conformance/official-client-answers.json")
}

/// Fails `test` unless the venv with livekit-api is there (the test was asked for with
/// `--include-ignored`, so a missing venv is a failure, never a skip).
fn venv_available(test: &str) {
    assert!(
        venv_python().is_file(),
        "{test}: needs the Python venv ({}); run scripts/install-test-deps",
        venv_python().display()
    );
}

/// Runs official_client.py against `url` (part `redis` or `no_redis`) and returns its steps.
async fn run_client(url: &str, part: &str) -> Result<Vec<Value>> {
    let script = harness::repo_root().join("tests/conformance/official_client.py");
    let mut cmd = tokio::process::Command::new(venv_python());
    cmd.arg(script)
        .args(["--url", url, "--key", API_KEY, "--secret", API_SECRET])
        .args(["--part", part])
        .env("PYTHONWARNINGS", "ignore")
        .kill_on_drop(true);
    for var in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
    ] {
        cmd.env_remove(var);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .context("official_client.py did not finish within 120s")??;
    if !out.status.success() {
        bail!(
            "official_client.py --part {part} against {url} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "official_client.py printed no JSON:\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Both parts against the simulator, loaded as the conformance test loads it.
async fn simulator_steps() -> Result<Vec<Value>> {
    let table = conformance::load_table();
    let with_redis =
        Simulator::start(&conformance::scenario(&table.fixture, Server::Redis)).await?;
    let without = Simulator::start(&conformance::scenario(&table.fixture, Server::NoRedis)).await?;
    let mut steps = run_client(&with_redis.url, "redis").await?;
    steps.extend(run_client(&without.url, "no_redis").await?);
    Ok(steps)
}

/// Both parts against the real server.
async fn real_steps() -> Result<Vec<Value>> {
    let table = conformance::load_table();
    let with_redis = RealFixture::start(&table.fixture, Server::Redis).await?;
    let without = RealFixture::start(&table.fixture, Server::NoRedis).await?;
    let mut steps = run_client(&with_redis.lk.url, "redis").await?;
    steps.extend(run_client(&without.lk.url, "no_redis").await?);
    Ok(steps)
}

/// The steps where `got` differs from `want`, one line each.
fn differing(want: &[Value], got: &[Value]) -> Vec<String> {
    let name = |v: &Value| v["step"].as_str().unwrap_or("?").to_owned();
    let mut out: Vec<String> = want
        .iter()
        .zip(got)
        .filter(|(w, g)| w != g)
        .map(|(w, g)| format!("{}:\n  real      {w}\n  simulator {g}", name(w)))
        .collect();
    if want.len() != got.len() {
        out.push(format!("{} steps vs {}", want.len(), got.len()));
    }
    out
}

fn load_golden() -> Vec<Value> {
    let text = std::fs::read_to_string(golden_path()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record it from the real server with {BLESS}",
            golden_path().display()
        )
    });
    serde_json::from_str(&text).expect("official-client-answers.json parses")
}

#[track_caller]
fn assert_same(want: &[Value], got: &[Value], what: &str) {
    let diffs = differing(want, got);
    assert!(
        diffs.is_empty(),
        "livekit-api (Python) saw {what}:\n{}",
        diffs.join("\n")
    );
}

/// Runs wherever the venv is: the simulator must answer the official SDK as the real server
/// did (golden file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python venv with livekit-api (scripts/install-test-deps); scripts/test runs it"]
async fn official_python_client_gets_the_same_answers_from_the_simulator() {
    let test = "official_python_client_gets_the_same_answers_from_the_simulator";
    venv_available(test);
    let sim = simulator_steps()
        .await
        .expect("official client vs simulator");
    let golden = load_golden();
    assert_same(
        &golden,
        &sim,
        "different answers from the simulator than from the real server (golden file)",
    );
    let errors = sim.iter().filter(|s| s.get("error").is_some()).count();
    visible!(
        "official client: {} livekit-api calls gave the real server's answers from the simulator ({errors} of them errors)",
        sim.len()
    );
}

/// With the real server: the same client against it, live, and against the simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn official_python_client_gets_the_same_answers_from_the_real_server() {
    let test = "official_python_client_gets_the_same_answers_from_the_real_server";
    venv_available(test);
    harness::available(test);
    let bless = env_flag("LK_REAPER_BLESS");
    let real = real_steps().await.expect("official client vs real server");
    let sim = simulator_steps()
        .await
        .expect("official client vs simulator");
    if bless {
        let fresh = serde_json::to_string_pretty(&real).unwrap() + "\n";
        std::fs::write(golden_path(), fresh).unwrap();
        visible!("wrote {}", golden_path().display());
    } else {
        assert_same(
            &load_golden(),
            &real,
            &format!(
                "different answers from the real server than recorded ({BLESS} rewrites the golden file after a deliberate change)"
            ),
        );
    }
    assert_same(&real, &sim, "different answers from the two servers");
    visible!(
        "official client: {} livekit-api calls, same answers from the real server and the simulator",
        real.len()
    );
}
