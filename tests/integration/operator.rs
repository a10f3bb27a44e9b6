//! Operator experience (issue #6): credentials from the `lk` CLI's config and from a secret
//! file, the Prometheus metrics file, the chat notification, structured logs, and a stdout
//! that stays a clean report whatever goes to stderr.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::{Value, json};

use crate::harness::SimProcess;
use crate::loopback::{Request, Server};
use crate::reaper::{KEY, Reaper, SECRET, basic, mutations};

const WORLD_READABLE: &str = "readable by group or others";

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

// ---- credentials -----------------------------------------------------------------------------

/// A HOME with `~/.livekit/cli-config.yaml` holding a `staging` project for `sim`.
fn lk_home(sim: &SimProcess, mode: u32) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let yaml = format!(
        "default_project: prod\nprojects:\n  - name: prod\n    project_id: p_1\n    url: wss://prod.example.invalid\n    api_key: APIprod\n    api_secret: not-this-one\n  - name: staging\n    project_id: p_2\n    url: {}\n    api_key: {KEY}\n    api_secret: {SECRET}\n",
        sim.url().replace("http://", "ws://")
    );
    write(&home.path().join(".livekit/cli-config.yaml"), &yaml, mode);
    home
}

#[test]
fn project_credentials_come_from_the_lk_cli_config() {
    let sim = basic();
    let home = lk_home(&sim, 0o600);
    let home_dir = home.path().to_str().unwrap();
    let run = Reaper::bare()
        .env("HOME", home_dir)
        .args(["--project", "staging", "rooms", "-o", "json"])
        .run()
        .ok();
    assert_eq!(run.json()["rooms_scanned"], 5);
    assert!(!run.stderr.contains(WORLD_READABLE), "{run}");
    // LIVEKIT_PROJECT does the same; a group-readable file works, with a warning.
    std::fs::set_permissions(
        home.path().join(".livekit/cli-config.yaml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    Reaper::bare()
        .env("HOME", home_dir)
        .env("LIVEKIT_PROJECT", "staging")
        .args(["sweep", "--dry-run"])
        .run()
        .ok()
        .stderr_has(WORLD_READABLE)
        .stderr_has("chmod 600");
    let run = Reaper::bare()
        .env("HOME", home_dir)
        .args(["--project", "dev", "rooms"])
        .run()
        .expect(2)
        .stderr_has("known: prod, staging");
    assert!(!run.stderr.contains("not-this-one"), "{run}");
    Reaper::bare()
        .env(
            "HOME",
            tempfile::tempdir().unwrap().path().to_str().unwrap(),
        )
        .args(["--project", "staging", "rooms"])
        .run()
        .expect(2)
        .stderr_has("cli-config.yaml");
}

#[test]
fn the_secret_file_is_trimmed_and_warned_about_when_others_can_read_it() {
    let sim = basic();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    write(&file, &format!("{SECRET}\n"), 0o600);
    let path = file.to_str().unwrap();
    let run = Reaper::on(&sim)
        .env_remove("LIVEKIT_API_SECRET")
        .args(["--api-secret-file", path, "rooms"])
        .run()
        .ok();
    assert!(!run.stderr.contains(WORLD_READABLE), "{run}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    Reaper::on(&sim)
        .env_remove("LIVEKIT_API_SECRET")
        .env("LIVEKIT_API_SECRET_FILE", path)
        .args(["rooms"])
        .run()
        .ok()
        .stderr_has(WORLD_READABLE);
}

#[test]
fn a_secret_flag_beats_a_secret_in_the_environment() {
    let sim = basic();
    let dir = tempfile::tempdir().unwrap();
    let right = dir.path().join("right");
    write(&right, SECRET, 0o600);
    let wrong = dir.path().join("wrong");
    write(&wrong, "wrong-secret", 0o600);
    Reaper::on(&sim)
        .env("LIVEKIT_API_SECRET", "wrong-secret")
        .args(["--api-secret-file", right.to_str().unwrap(), "rooms"])
        .run()
        .ok();
    Reaper::on(&sim)
        .env_remove("LIVEKIT_API_SECRET")
        .env("LIVEKIT_API_SECRET_FILE", wrong.to_str().unwrap())
        .args(["--api-secret", SECRET, "rooms"])
        .run()
        .ok();
}

// ---- metrics ---------------------------------------------------------------------------------

/// The samples of a metrics file: `name{label="value"}` -> value.
#[track_caller]
fn scrape(path: &Path) -> std::collections::BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).expect("metrics file");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = Scrape::parse(lines).expect("Prometheus text");
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let value = match s.value {
                Sample::Gauge(v) | Sample::Counter(v) | Sample::Untyped(v) => v,
                other => panic!("unexpected sample {other:?}"),
            };
            let labels: Vec<String> = s
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            let name = if labels.is_empty() {
                s.metric
            } else {
                format!("{}{{{}}}", s.metric, labels.join(","))
            };
            (name, value)
        })
        .collect()
}

#[test]
// Values are small integers or carried over verbatim: exact comparison is what is meant.
#[allow(clippy::float_cmp)]
fn the_metrics_file_counts_the_run_and_keeps_the_last_success() {
    let sim = basic();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lk_reaper.prom");
    let path = file.to_str().unwrap();
    Reaper::on(&sim)
        .args(["sweep", "--metrics-file", path])
        .run()
        .ok();
    let m = scrape(&file);
    let want = [
        ("lk_reaper_up", 1.0),
        ("lk_reaper_dry_run", 0.0),
        ("lk_reaper_rooms_scanned", 5.0),
        ("lk_reaper_egresses_scanned", 4.0),
        ("lk_reaper_findings{rule=\"humanless\"}", 3.0),
        ("lk_reaper_findings{rule=\"orphan_egress\"}", 1.0),
        ("lk_reaper_findings{rule=\"max_room_age\"}", 0.0),
        ("lk_reaper_actions{result=\"done\"}", 4.0),
        ("lk_reaper_actions{result=\"failed\"}", 0.0),
    ];
    for (name, value) in want {
        assert_eq!(m.get(name), Some(&value), "{name} in {m:?}");
    }
    let success = m["lk_reaper_last_success_timestamp_seconds"];
    assert!(success > 1.7e9, "{success}");
    assert!(m["lk_reaper_duration_seconds"] >= 0.0);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "readable by the collector");

    // A failed run: up 0, the last success carried over.
    Reaper::on(&sim)
        .env("LIVEKIT_API_SECRET", "wrong")
        .args(["sweep", "--metrics-file", path])
        .run()
        .expect(1);
    let m = scrape(&file);
    assert_eq!(m["lk_reaper_up"], 0.0);
    assert_eq!(m["lk_reaper_last_success_timestamp_seconds"], success);
    assert!(m["lk_reaper_last_run_timestamp_seconds"] >= success);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temp file left behind: {leftovers:?}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(".."), "help text ends once:\n{text}");
}

// ---- notifications ---------------------------------------------------------------------------

/// A receiver URL with a secret-looking path, which must never be printed.
fn hook(stub: &Server) -> String {
    format!("{}/services/T000/B000/hooksecret42", stub.url)
}

#[track_caller]
fn posted_json(request: &Request) -> Value {
    let head = &request.head;
    assert!(
        head.starts_with("POST /services/T000/B000/hooksecret42 "),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    serde_json::from_slice(&request.body).expect("a JSON body")
}

#[test]
fn a_notification_follows_a_real_sweep_that_acted_and_nothing_else() {
    let sim = basic();
    let stub = Server::answering(200, "text/plain", "ok");
    let url = hook(&stub);
    let notify = |args: &[&str]| {
        let run = Reaper::on(&sim)
            .args(["sweep", "-o", "json", "--notify-url", &url])
            .args(args)
            .run()
            .ok();
        assert!(
            !run.stdout.contains("hooksecret42") && !run.stderr.contains("hooksecret42"),
            "{run}"
        );
        run.json();
    };
    notify(&["--dry-run"]);
    assert_eq!(stub.requests().len(), 0, "no notification after a dry run");
    notify(&["--dry-run", "--notify-dry-run"]);
    assert_eq!(stub.requests().len(), 1, "asked for after a dry run");
    let dry = posted_json(&stub.requests()[0]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(mutations(&sim), (0, 0));

    notify(&[]);
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    let payload = posted_json(&requests[1]);
    let text = payload["text"].as_str().expect("Slack's text field");
    assert!(text.contains("done 4"), "{text}");
    assert!(
        text.contains("camera-feed") && text.contains("EG_orphan"),
        "{text}"
    );
    assert_eq!(payload["summary"]["done"], 4);
    assert_eq!(payload["actions"].as_array().unwrap().len(), 4);

    notify(&[]);
    assert_eq!(stub.requests().len(), 2, "nothing done, nothing sent");
}

#[test]
fn a_failing_receiver_changes_nothing_and_its_url_is_never_printed() {
    for receiver in [
        Server::answering(500, "text/plain", "hooksecret42 broke"),
        Server::black_hole(),
    ] {
        let sim = basic();
        let url = hook(&receiver);
        let run = Reaper::on(&sim)
            .args(["sweep", "-o", "json", "--notify-url", &url])
            .run()
            .ok()
            .stderr_has("notification not sent");
        assert!(
            !run.stderr.contains("hooksecret42") && !run.stdout.contains("hooksecret42"),
            "{run}"
        );
        assert_eq!(run.json()["summary"]["done"], 4);
        assert!(run.elapsed.as_secs() < 10, "{run}");
    }
}

#[test]
fn help_shows_neither_the_secret_nor_the_webhook_url_from_the_environment() {
    for args in [&["--help"][..], &["sweep", "--help"], &["sweep", "-h"]] {
        // Reaper::run checks for the API secret; the webhook URL is checked here.
        let run = Reaper::at("http://127.0.0.1:9")
            .env(
                "LK_REAPER_NOTIFY_URL",
                "https://hooks.example/services/hooksecret42",
            )
            .args(args)
            .run()
            .ok();
        assert!(!run.stdout.contains("hooksecret42"), "{run}");
    }
}

// ---- logs and stdout -------------------------------------------------------------------------

#[test]
fn json_logs_carry_one_event_per_action_and_stdout_stays_clean() {
    let mut scenario = crate::harness::scenario("basic.json");
    scenario["egresses"][0]["zombie"] = json!(true);
    let sim = crate::reaper::sim(scenario);
    let run = Reaper::on(&sim)
        .args(["--log-format", "json", "sweep", "-o", "json"])
        .run()
        .expect(4);
    let report = run.json();
    let events: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}{run}")))
        .collect();
    let actions: Vec<&Value> = events
        .iter()
        .filter(|e| e.get("action").is_some())
        .collect();
    assert_eq!(actions.len(), 4, "{run}");
    for finding in report["findings"].as_array().unwrap() {
        let target = finding["egress_id"].as_str().unwrap_or_default();
        let event = actions
            .iter()
            .find(|e| {
                e["egress_id"] == target
                    && e["room"] == finding["room"]
                    && e["action"] == finding["action"]
            })
            .unwrap_or_else(|| panic!("no event for {finding}{run}"));
        assert_eq!(event["result"], finding["result"], "{event}");
    }
    let failed = actions
        .iter()
        .find(|e| e["result"] == "failed")
        .expect("the zombie's event");
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["rules"], "humanless");
    assert!(failed["error"].as_str().unwrap().contains("stale record"));
}

#[test]
fn stdout_is_a_clean_report_at_every_verbosity() {
    let sim = basic();
    for flags in [&["-vv"][..], &["-v", "--log-format", "json"], &["-q"]] {
        for output in ["json", "ndjson"] {
            let run = Reaper::on(&sim)
                .args(flags)
                .args(["sweep", "--dry-run", "-o", output])
                .run()
                .ok();
            if output == "json" {
                assert_eq!(run.json()["summary"]["planned"], 4);
            } else {
                assert_eq!(run.ndjson().len(), 5);
            }
        }
    }
    let quiet = Reaper::on(&sim)
        .args(["-qq", "sweep", "-o", "json"])
        .run()
        .ok();
    assert!(quiet.stderr.is_empty(), "{quiet}");
    assert_eq!(quiet.json()["summary"]["done"], 4);
}

#[test]
fn a_reader_that_goes_away_does_not_fail_the_run() {
    let sim = basic();
    let stub = Server::answering(200, "text/plain", "ok");
    let run = Reaper::on(&sim)
        .args(["sweep", "--notify-url", &hook(&stub)])
        .run_into_closed_pipe()
        .ok();
    assert!(!run.stderr.contains("Broken pipe"), "{run}");
    assert_eq!(mutations(&sim), (2, 2));
    assert_eq!(stub.requests().len(), 1, "the notification still went out");
    Reaper::on(&sim).args(["rooms"]).run_into_closed_pipe().ok();
}
