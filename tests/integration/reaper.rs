//! Running the built `lk-reaper` against a simulator: a builder for the child process and
//! the finished run, whose assertions print the arguments, status, stdout and stderr.
//!
//! Every run is checked for leaks: neither the API secret nor a JWT (`eyJ`) may appear in
//! any output stream, whether the run succeeded or failed.

use std::collections::BTreeMap;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use livekit_api::access_token::{AccessToken, VideoGrants};
use serde_json::{Value, json};

use crate::harness::{BIN, SimProcess};

/// The API secret every test simulator uses: distinctive, so a leak cannot hide.
pub const SECRET: &str = "s3cr3t-Pa55-q9Zx7";
/// The API key every test simulator uses.
pub const KEY: &str = "devkey";

/// No run may take longer than this; a hang fails the test instead of the CI job.
const HARD_LIMIT: Duration = Duration::from_secs(40);

/// A token of `grants`, signed with [`KEY`] and `secret`.
pub fn token_for(secret: &str, grants: VideoGrants) -> String {
    lk_reaper::livekit::jwt::install();
    AccessToken::with_api_key(KEY, secret)
        .with_grants(grants)
        .to_jwt()
        .expect("token")
}

/// A token of `grants`, signed with [`KEY`] and [`SECRET`].
pub fn token(grants: VideoGrants) -> String {
    token_for(SECRET, grants)
}

/// Starts a simulator for `scenario`, with [`KEY`] and [`SECRET`].
#[track_caller]
pub fn sim(mut scenario: Value) -> SimProcess {
    scenario["key"] = json!(KEY);
    scenario["secret"] = json!(SECRET);
    SimProcess::start(&scenario)
}

/// A scenario of these rooms and egresses, nothing else.
pub fn scenario(rooms: Value, egresses: Value) -> Value {
    let mut scenario = json!({});
    scenario["rooms"] = rooms;
    scenario["egresses"] = egresses;
    scenario
}

/// `tests/integration/scenarios/basic.json`, served.
#[track_caller]
pub fn basic() -> SimProcess {
    sim(crate::harness::scenario("basic.json"))
}

/// A command line being put together.
pub struct Reaper {
    args: Vec<String>,
    env: BTreeMap<String, Option<String>>,
}

impl Reaper {
    /// `lk-reaper` with no connection settings at all (a clean environment).
    pub fn bare() -> Self {
        let mut env = BTreeMap::new();
        for var in [
            "LIVEKIT_URL",
            "LIVEKIT_API_KEY",
            "LIVEKIT_API_SECRET",
            "LIVEKIT_API_SECRET_FILE",
            "LIVEKIT_PROJECT",
            "LK_REAPER_CONFIG",
            "LK_REAPER_NOTIFY_URL",
            "LK_REAPER_REDIS_URL",
            "LK_REAPER_PUSHGATEWAY",
            "LK_REAPER_SUMMARY_FILE",
            "LK_REAPER_STATE",
            "RUST_LOG",
            "RUST_BACKTRACE",
            "NO_COLOR",
        ] {
            env.insert(var.to_owned(), None);
        }
        Self {
            args: Vec::new(),
            env,
        }
    }

    /// `lk-reaper` pointed at `url` with the test key and secret in the environment.
    pub fn at(url: &str) -> Self {
        Self::bare()
            .env("LIVEKIT_URL", url)
            .env("LIVEKIT_API_KEY", KEY)
            .env("LIVEKIT_API_SECRET", SECRET)
    }

    /// `lk-reaper` pointed at a simulator.
    pub fn on(sim: &SimProcess) -> Self {
        Self::at(sim.url())
    }

    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.env
            .insert(key.to_owned(), Some(value.as_ref().to_owned()));
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.insert(key.to_owned(), None);
        self
    }

    /// Runs to completion (killed after [`HARD_LIMIT`]) and checks every stream for leaks.
    #[track_caller]
    pub fn run(self) -> Run {
        self.run_with(false, false)
    }

    /// Runs with stdout a pipe whose reader is already gone, as in `lk-reaper ... | head -0`.
    #[track_caller]
    pub fn run_into_closed_pipe(self) -> Run {
        self.run_with(true, false)
    }

    /// Runs with stdout and stderr closed pipes, as in `lk-reaper ... 2>&1 | head -0`
    /// (what they would have said is lost; the exit code is all there is).
    #[track_caller]
    pub fn run_into_closed_pipes(self) -> Run {
        self.run_with(true, true)
    }

    #[track_caller]
    fn run_with(self, closed_stdout: bool, closed_stderr: bool) -> Run {
        let out = tempfile::tempdir().expect("temp dir");
        let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
        let mut command = Command::new(BIN);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).expect("stdout file"))
            .stderr(fs::File::create(&stderr).expect("stderr file"));
        for (key, value) in &self.env {
            match value {
                Some(v) => command.env(key, v),
                None => command.env_remove(key),
            };
        }
        let started = Instant::now();
        if closed_stdout {
            command.stdout(Stdio::piped());
        }
        if closed_stderr {
            command.stderr(Stdio::piped());
        }
        let mut child = command.spawn().expect("spawn lk-reaper");
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if started.elapsed() > HARD_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "lk-reaper {:?} still running after {HARD_LIMIT:?}; stderr:\n{}",
                    self.args,
                    fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let run = Run {
            args: self.args,
            code: status.code(),
            elapsed: started.elapsed(),
            stdout: fs::read_to_string(&stdout).expect("stdout UTF-8"),
            stderr: fs::read_to_string(&stderr).expect("stderr UTF-8"),
        };
        run.assert_no_leak();
        run
    }
}

/// A finished run.
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub elapsed: Duration,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\n--- lk-reaper {:?}\n--- exit {:?} after {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.args, self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Asserts the exit code.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "unexpected exit code{self}");
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "a panic{self}"
        );
        self
    }

    /// Asserts exit 0.
    #[track_caller]
    pub fn ok(self) -> Self {
        self.expect(0)
    }

    /// stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}){self}"))
    }

    /// stdout as NDJSON lines.
    #[track_caller]
    pub fn ndjson(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}{self}"))
            })
            .collect()
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}{self}"
        );
        self
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}{self}"
        );
        self
    }

    /// Asserts a usage or connection failure: exit `code`, exactly one line on stderr,
    /// starting with `error:` and containing `needle`, nothing on stdout.
    #[track_caller]
    pub fn one_line_error(self, code: i32, needle: &str) -> Self {
        let run = self.expect(code);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("error: "),
            "want one line starting with 'error: '{run}"
        );
        assert!(lines[0].contains(needle), "error lacks {needle:?}{run}");
        assert!(run.stdout.is_empty(), "stdout must stay empty{run}");
        run
    }

    #[track_caller]
    fn assert_no_leak(&self) {
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            assert!(
                !text.contains(SECRET),
                "the API secret leaked on {name}{self}"
            );
            assert!(!text.contains("eyJ"), "a JWT leaked on {name}{self}");
        }
    }
}

/// The findings of a JSON report, keyed by target: the egress id, or the room name.
#[track_caller]
pub fn results(report: &Value) -> BTreeMap<String, String> {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {report}"))
        .iter()
        .map(|f| {
            let target = f["ingress_id"]
                .as_str()
                .or_else(|| f["egress_id"].as_str())
                .or_else(|| f["room"].as_str())
                .expect("a target")
                .to_owned();
            (target, f["result"].as_str().expect("a result").to_owned())
        })
        .collect()
}

/// `{target: result}` from pairs, to compare with [`results`].
pub fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(t, r)| ((*t).to_owned(), (*r).to_owned()))
        .collect()
}

/// What a clean real sweep of basic.json does, whatever the faults on the way.
#[track_caller]
pub fn assert_basic_swept(report: &Value, sim: &SimProcess) {
    assert_eq!(
        results(report),
        expected(&[
            ("camera-feed", "done"),
            ("left-running", "done"),
            ("EG_rec1", "done"),
            ("EG_orphan", "done"),
        ])
    );
    assert_eq!(
        sim.room_names(),
        ["just-created", "phone-support", "standup"]
    );
}

/// Calls of the mutating methods so far: (StopEgress, DeleteRoom).
#[track_caller]
pub fn mutations(sim: &SimProcess) -> (u64, u64) {
    (sim.calls("StopEgress"), sim.calls("DeleteRoom"))
}

/// Rooms and egresses without the ages, which move with the clock: what a dry run must
/// leave exactly as it was.
#[track_caller]
pub fn fingerprint(sim: &SimProcess) -> Value {
    let mut state = sim.state();
    for room in state["rooms"].as_array_mut().expect("rooms") {
        room.as_object_mut().expect("room").remove("age_s");
        for p in room["participants"].as_array_mut().expect("participants") {
            p.as_object_mut()
                .expect("participant")
                .remove("joined_s_ago");
        }
    }
    for egress in state["egresses"].as_array_mut().expect("egresses") {
        let egress = egress.as_object_mut().expect("egress");
        egress.remove("started_s_ago");
        egress.remove("ended_s_ago");
    }
    json!({"rooms": state["rooms"], "egresses": state["egresses"]})
}
