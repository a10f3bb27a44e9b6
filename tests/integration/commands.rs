//! `demo`, `snapshot` and `completions` as a user runs them.

use std::process::Output;

use serde_json::Value;

use crate::harness::{SimProcess, run, scenario};

#[track_caller]
fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[track_caller]
fn against(sim: &SimProcess, secret: &str, args: &[&str]) -> Output {
    let mut all = vec![
        "--url",
        sim.url(),
        "--api-key",
        "devkey",
        "--api-secret",
        secret,
    ];
    all.extend_from_slice(args);
    run(&all)
}

/// The (rules, target, room, egress, action) of every finding of a dry run.
#[track_caller]
fn verdicts(sim: &SimProcess, secret: &str) -> Vec<Value> {
    let output = against(sim, secret, &["sweep", "--dry-run", "-o", "json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            serde_json::json!([
                f["rules"],
                f["target"],
                f["room"],
                f["egress_id"],
                f["action"]
            ])
        })
        .collect()
}

#[test]
fn demo_shows_a_dry_run_a_sweep_and_nothing_left() {
    let output = run(&["demo", "--color", "never"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let dry = stdout.find("dry run: 8 actions planned").expect(&stdout);
    let real = stdout
        .find("done 7, already gone 0, skipped 0, zombie 1, failed 0")
        .expect(&stdout);
    let again = stdout.find("dry run: 1 action planned").expect(&stdout);
    assert!(stdout.contains("zombie"), "{stdout}");
    assert!(dry < real && real < again, "{stdout}");
    for rule in [
        "humanless",
        "max_room_age",
        "max_egress_age",
        "orphan_egress",
    ] {
        assert!(stdout.contains(rule), "the demo shows {rule}:\n{stdout}");
    }
    for healthy in ["standup", "support-call", "fresh-room", "keep-24x7-studio"] {
        assert!(
            !stdout.contains(&format!(" {healthy} ")),
            "{healthy} must not be a finding:\n{stdout}"
        );
    }
}

#[test]
fn demo_json_is_three_parseable_reports() {
    let output = run(&["demo", "-o", "json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let reports: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("stdout holds only JSON documents");
    let dry_runs: Vec<bool> = reports
        .iter()
        .map(|r| r["dry_run"].as_bool().unwrap())
        .collect();
    assert_eq!(dry_runs, [true, false, true]);
    assert_eq!(reports[1]["summary"]["done"], 7);
    assert_eq!(reports[1]["summary"]["zombie"], 1);
    assert_eq!(reports[2]["findings"][0]["room"], "node-b-leftover");
    assert_eq!(reports[2]["findings"].as_array().map(Vec::len), Some(1));
    assert!(
        stderr.contains("lk-reaper demo"),
        "the narration goes to stderr: {stderr}"
    );
}

/// `lk-reaper snapshot` of `live` (secret `production-secret-123`): the file's text.
#[track_caller]
fn snapshot(live: &SimProcess) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let output = against(
        live,
        "production-secret-123",
        &["snapshot", "-f", file.to_str().unwrap()],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    std::fs::read_to_string(&file).unwrap()
}

#[test]
fn snapshot_replays_into_the_same_verdicts_and_changes_nothing() {
    let mut production = scenario("basic.json");
    production["secret"] = "production-secret-123".into();
    let live = SimProcess::start(&production);
    let snap = snapshot(&live);
    assert_eq!(
        live.calls("DeleteRoom") + live.calls("StopEgress"),
        0,
        "snapshot is read-only"
    );
    assert!(
        !snap.contains("production-secret-123"),
        "the snapshot must not carry the secret"
    );
    let replay_scenario: Value = serde_json::from_str(&snap).unwrap();
    assert_eq!(replay_scenario["rooms"].as_array().unwrap().len(), 5);
    let replay = SimProcess::start(&replay_scenario);
    let secret = replay_scenario["secret"].as_str().unwrap();
    assert_eq!(
        verdicts(&live, "production-secret-123"),
        verdicts(&replay, secret)
    );
}

#[test]
fn completions_print_a_script_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef lk-reaper"),
        ("fish", "complete -c lk-reaper"),
    ] {
        let output = run(&["completions", shell]);
        assert!(output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(marker),
            "{shell}"
        );
    }
}

#[test]
fn a_reader_that_stops_early_does_not_change_the_outcome() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // Output far larger than a pipe's buffer, so the writer really meets the closed end.
    let args = ["simulate", "--generate", "3000", "--print-scenario"];
    let mut child = Command::new(crate::harness::BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The pipe's read end is closed here, like `| head -1`.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

#[test]
fn a_participant_of_a_kind_unknown_to_this_version_survives_a_snapshot() {
    let production = serde_json::json!({
        "key": "devkey", "secret": "production-secret-123",
        "rooms": [
            {"name": "newer", "age_s": 3600, "participants": [
                {"identity": "from-the-future", "kind": 42, "joined_s_ago": 600},
                {"identity": "bot", "kind": "AGENT", "joined_s_ago": 600}]},
            {"name": "bots", "age_s": 3600, "participants": [
                {"identity": "bot", "kind": "AGENT", "joined_s_ago": 600}]}],
        "egresses": []});
    let live = SimProcess::start(&production);
    let snap: Value = serde_json::from_str(&snapshot(&live)).unwrap();
    let newer = snap["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "newer")
        .expect("the room in the snapshot");
    assert!(
        newer["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == 42),
        "{newer}"
    );
    let replay = SimProcess::start(&snap);
    let live_verdicts = verdicts(&live, "production-secret-123");
    assert_eq!(
        live_verdicts,
        verdicts(&replay, snap["secret"].as_str().unwrap())
    );
    let judged: Vec<&Value> = live_verdicts.iter().map(|v| &v[2]).collect();
    assert_eq!(judged, ["bots"], "kind 42 counts as human: newer stays");
}
