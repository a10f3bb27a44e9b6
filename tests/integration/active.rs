//! "No *active* human" (issue #22) against the simulator: the `--state` memory, the
//! `silent` rule and `max_session`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::SimProcess;
use crate::reaper::{Reaper, mutations, results, scenario, sim};

/// An old room with only an agent in it, recorded by `EG_<name>`.
fn agent_room(name: &str) -> (Value, Value) {
    (
        json!({"name": name, "age_s": 7200, "participants": [
            {"identity": "agent-1", "kind": "AGENT", "joined_s_ago": 7000, "state": "ACTIVE", "tracks": 1}
        ]}),
        json!({"egress_id": format!("EG_{name}"), "room_name": name, "type": "room_composite",
               "status": "EGRESS_ACTIVE", "started_s_ago": 7000}),
    )
}

fn agent_rooms(names: &[&str]) -> SimProcess {
    let (rooms, egresses): (Vec<Value>, Vec<Value>) = names.iter().map(|n| agent_room(n)).unzip();
    sim(scenario(json!(rooms), json!(egresses)))
}

/// `sweep -o json --state STATE ARGS`, exit `code`.
#[track_caller]
pub(crate) fn sweep(sim: &SimProcess, state: &Path, args: &[&str], code: i32) -> Value {
    Reaper::on(sim)
        .args(["sweep", "-o", "json", "--state"])
        .args([state.to_str().unwrap()])
        .args(args)
        .run()
        .expect(code)
        .json()
}

pub(crate) fn state_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("state.json")
}

#[test]
fn with_state_a_humanless_room_ends_one_grace_after_the_first_look() {
    let sim = agent_rooms(&["lonely"]);
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(&dir);
    let first = sweep(&sim, &state, &["--humanless-grace", "2s"], 0);
    assert_eq!(
        first["findings"],
        json!([]),
        "the room is 2 h old, but lk-reaper never saw it before"
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
    let rooms = saved["rooms"].as_object().unwrap();
    assert_eq!(rooms.len(), 1);
    let (_, seen) = rooms.iter().next().unwrap();
    assert_eq!(seen["room"], "lonely");
    assert!(seen["humanless_since"].is_string(), "{saved}");
    std::thread::sleep(Duration::from_millis(2100));
    let second = sweep(&sim, &state, &["--humanless-grace", "2s"], 0);
    assert_eq!(
        results(&second),
        [("EG_lonely", "done"), ("lonely", "done")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into()
    );
    assert!(
        second["findings"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("by lk-reaper's memory")
    );
    sweep(&sim, &state, &[], 0);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        saved["rooms"],
        json!({}),
        "a room no longer listed is dropped"
    );
}

#[test]
fn without_state_the_grace_runs_from_creation_and_the_env_names_the_file() {
    let sim = agent_rooms(&["lonely"]);
    let report = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--dry-run"])
        .run()
        .ok()
        .json();
    assert_eq!(report["findings"].as_array().unwrap().len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(&dir);
    let report = Reaper::on(&sim)
        .env("LK_REAPER_STATE", state.to_str().unwrap())
        .args(["sweep", "-o", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(report["findings"], json!([]));
    assert!(state.exists(), "LK_REAPER_STATE names the memory");
    assert_eq!(mutations(&sim), (0, 0));
}

#[test]
fn a_dry_run_reads_the_memory_but_never_writes_it() {
    let sim = agent_rooms(&["lonely"]);
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(&dir);
    sweep(&sim, &state, &["--dry-run"], 0);
    assert!(!state.exists());
}

#[test]
fn a_corrupt_memory_is_one_warning_and_delays_the_action() {
    let sim = agent_rooms(&["lonely"]);
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(&dir);
    std::fs::write(&state, "{\"version\": 1, \"rooms\": [garbage").unwrap();
    let run = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--state", state.to_str().unwrap()])
        .run()
        .ok()
        .stderr_has("is not a state file");
    assert_eq!(
        run.json()["findings"],
        json!([]),
        "lost memory never causes an action"
    );
    assert_eq!(mutations(&sim), (0, 0));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["rooms"].as_object().unwrap().len(), 1, "rebuilt");
}

#[test]
fn unsafe_state_paths_and_newer_versions_are_usage_errors() {
    let sim = agent_rooms(&["lonely"]);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, r#"{"version": 99, "rooms": {}}"#).unwrap();
    let cases = [
        (dir.path().to_owned(), "is a directory"),
        (fifo, "not a regular file"),
        (PathBuf::from("/dev/zero"), "not a regular file"),
        (newer, "newer lk-reaper"),
        (
            dir.path().join("missing/state.json"),
            "folder does not exist",
        ),
    ];
    for (path, want) in cases {
        Reaper::on(&sim)
            .args(["sweep", "--state", path.to_str().unwrap()])
            .run()
            .one_line_error(2, want);
    }
    assert_eq!(sim.calls("ListRooms"), 0, "refused before any call");
}

#[test]
fn runs_of_other_scopes_keep_each_others_entries() {
    let sim = agent_rooms(&["a", "b"]);
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(&dir);
    sweep(&sim, &state, &["--room", "a"], 0);
    sweep(&sim, &state, &["--room", "b"], 0);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let mut names: Vec<&str> = saved["rooms"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["room"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b"], "{saved}");
}

#[test]
fn two_runs_sharing_one_file_act_once_and_keep_every_entry() {
    let sim = agent_rooms(&["a", "b", "c"]);
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(&dir);
    let args = ["--humanless-grace", "1s"];
    sweep(&sim, &state, &args, 0);
    std::thread::sleep(Duration::from_millis(1100));
    let spawn = || {
        let (sim_url, state) = (sim.url().to_owned(), state.clone());
        std::thread::spawn(move || {
            Reaper::at(&sim_url)
                .args(["sweep", "-o", "json", "--humanless-grace", "1s", "--state"])
                .args([state.to_str().unwrap()])
                .run()
                .ok()
                .json()
        })
    };
    let (one, two) = (spawn(), spawn());
    let reports = [one.join().unwrap(), two.join().unwrap()];
    let done: usize = reports
        .iter()
        .map(|r| r["summary"]["done"].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(done, 6, "3 rooms and 3 egresses, each once: {reports:?}");
    assert_eq!(sim.calls("DeleteRoom"), 3, "no room deleted twice");
    assert_eq!(sim.calls("StopEgress"), 3);
}

/// A room of `people` recorded by `EG_rec` (room composite), beside a web egress `EG_web`.
pub(crate) fn recorded(people: &Value, events: &Value) -> SimProcess {
    let mut scenario = scenario(
        json!([{"name": "r", "age_s": 600, "participants": people}]),
        json!([
            {"egress_id": "EG_rec", "room_name": "r", "type": "room_composite",
             "status": "EGRESS_ACTIVE", "started_s_ago": 500},
            {"egress_id": "EG_web", "room_name": "", "type": "web",
             "status": "EGRESS_ACTIVE", "started_s_ago": 500}
        ]),
    );
    scenario["events"] = events.clone();
    sim(scenario)
}

fn human(identity: &str, tracks: u32, muted: u32) -> Value {
    json!({"identity": identity, "kind": "STANDARD", "joined_s_ago": 300, "state": "ACTIVE",
           "tracks": tracks, "muted_tracks": muted})
}

/// Two sweeps with `--silent-after 1s` a little over a second apart; the second's report.
pub(crate) fn twice_silent(sim: &SimProcess, state: &Path, args: &[&str]) -> Value {
    let args: Vec<&str> = [&["--silent-after", "1s"], args].concat();
    let first = sweep(sim, state, &args, 0);
    assert_eq!(
        first["findings"],
        json!([]),
        "the first look starts the clock"
    );
    std::thread::sleep(Duration::from_millis(1100));
    sweep(sim, state, &args, 0)
}

fn status(sim: &SimProcess, egress_id: &str) -> String {
    sim.egress(egress_id)["status"].as_str().unwrap().to_owned()
}

#[test]
fn a_silent_room_has_its_room_bound_egress_stopped_and_stays() {
    let sim = recorded(
        &json!([human("alice", 2, 2), human("bob", 0, 0)]),
        &json!([]),
    );
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("lk.prom");
    let metrics_file = ["--metrics-file", metrics.to_str().unwrap()];
    let report = twice_silent(&sim, &state_in(&dir), &metrics_file);
    assert_eq!(
        results(&report),
        [("EG_rec".to_owned(), "done".to_owned())].into()
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("lk_reaper_findings{rule=\"silent\"} 1"),
        "{text}"
    );
    let finding = &report["findings"][0];
    assert_eq!(finding["rules"], json!(["silent"]));
    assert!(
        finding["reason"]
            .as_str()
            .unwrap()
            .contains("every human silent (2"),
        "{finding}"
    );
    assert_ne!(status(&sim, "EG_rec"), "EGRESS_ACTIVE");
    assert_eq!(
        status(&sim, "EG_web"),
        "EGRESS_ACTIVE",
        "a web egress records a page"
    );
    assert_eq!(sim.room_names(), ["r"], "the room stays");
}

#[test]
fn silent_delete_room_also_deletes_it() {
    let sim = recorded(&json!([human("alice", 1, 1)]), &json!([]));
    let dir = tempfile::tempdir().unwrap();
    let report = twice_silent(&sim, &state_in(&dir), &["--silent", "delete-room"]);
    assert_eq!(
        results(&report),
        [("EG_rec", "done"), ("r", "done")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into()
    );
    assert!(sim.room_names().is_empty());
}

#[test]
fn a_voice_or_a_screen_share_keeps_the_room_and_resets_the_clock() {
    // bob shares his screen (camera muted): activity.
    let sim = recorded(
        &json!([human("alice", 1, 1), human("bob", 2, 1)]),
        &json!([]),
    );
    let dir = tempfile::tempdir().unwrap();
    let report = twice_silent(&sim, &state_in(&dir), &[]);
    assert_eq!(report["findings"], json!([]));
    let saved = std::fs::read_to_string(state_in(&dir)).unwrap();
    assert!(!saved.contains("silent_since"), "{saved}");
}

#[test]
fn an_unmute_before_acting_is_skipped_recheck() {
    // ListParticipants: 1 = first sweep, 2 = second sweep's inventory, 3 = its re-check.
    let unmute = json!([{"after": {"method": "ListParticipants", "calls": 2},
                         "unmute": {"room": "r", "identity": "alice"}}]);
    let sim = recorded(&json!([human("alice", 1, 1)]), &unmute);
    let dir = tempfile::tempdir().unwrap();
    let report = twice_silent(&sim, &state_in(&dir), &[]);
    assert_eq!(
        results(&report),
        [("EG_rec".to_owned(), "skipped_recheck".to_owned())].into()
    );
    assert!(
        report["findings"][0]["error"]
            .as_str()
            .unwrap()
            .contains("a human has an unmuted track now: alice")
    );
    assert_eq!(status(&sim, "EG_rec"), "EGRESS_ACTIVE");
}

#[test]
fn rooms_shows_silent_humans_and_for_how_long() {
    let sim = recorded(&json!([human("alice", 1, 1)]), &json!([]));
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(&dir);
    sweep(&sim, &state, &["--silent-after", "1h"], 0);
    let rooms = Reaper::on(&sim)
        .args([
            "rooms",
            "--silent-after",
            "1h",
            "--state",
            state.to_str().unwrap(),
        ])
        .run()
        .ok()
        .stdout_has("1/0 (1 silent 0s)");
    let json = Reaper::on(&sim)
        .args(["rooms", "-o", "json", "--silent-after", "1h", "--state"])
        .args([state.to_str().unwrap()])
        .run()
        .ok()
        .json();
    drop(rooms);
    assert_eq!(json["rooms"][0]["silent_humans"], 1, "{json}");
    assert!(json["rooms"][0]["silent_s"].is_u64(), "{json}");
}

#[test]
fn silent_after_needs_a_memory_and_a_sane_duration() {
    let sim = recorded(&json!([human("alice", 1, 1)]), &json!([]));
    Reaper::on(&sim)
        .args(["sweep", "--silent-after", "10m"])
        .run()
        .one_line_error(2, "add --state PATH");
    for bad in ["0s", "-5m", "400days", "soon"] {
        let run = Reaper::on(&sim)
            .args([
                "sweep",
                "--state",
                "/tmp/x.json",
                &format!("--silent-after={bad}"),
            ])
            .run()
            .expect(2);
        assert!(run.stderr.contains("--silent-after"), "{bad}{run}");
        Reaper::on(&sim)
            .args(["sweep", &format!("--max-session={bad}")])
            .run()
            .expect(2);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lk-reaper.toml");
    std::fs::write(&file, "silent_after = \"0s\"\n").unwrap();
    Reaper::on(&sim)
        .args(["sweep", "--config", file.to_str().unwrap()])
        .run()
        .one_line_error(2, "silent_after");
    assert_eq!(sim.calls("ListRooms"), 0);
}

fn joined(identity: &str, kind: &str, seconds_ago: u64) -> Value {
    json!({"identity": identity, "kind": kind, "joined_s_ago": seconds_ago, "state": "ACTIVE",
           "tracks": 1})
}

/// Room `r` (young: no humanless grace has passed) with `people`, recorded by `EG_rec`.
fn sessions(people: &Value, events: &Value) -> SimProcess {
    let mut scenario = scenario(
        json!([{"name": "r", "age_s": 60, "participants": people}]),
        json!([{"egress_id": "EG_rec", "room_name": "r", "type": "room_composite",
                "status": "EGRESS_ACTIVE", "started_s_ago": 50}]),
    );
    scenario["events"] = events.clone();
    sim(scenario)
}

#[test]
fn max_session_removes_a_long_session_and_keeps_the_room_of_others() {
    let people = json!([
        joined("alice", "STANDARD", 5 * 3600),
        joined("bob", "STANDARD", 600),
        joined("agent-1", "AGENT", 9 * 3600)
    ]);
    let sim = sessions(&people, &json!([]));
    let planned = Reaper::on(&sim)
        .args(["sweep", "--dry-run", "-o", "ndjson", "--max-session", "4h"])
        .run()
        .ok()
        .ndjson();
    assert_eq!(planned[0]["action"], "remove_participant");
    assert_eq!(planned[0]["participant"], "alice");
    assert_eq!(planned[0]["target"], "participant");
    assert_eq!(planned[0]["result"], "planned");
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("lk.prom");
    let report = Reaper::on(&sim)
        .args([
            "sweep",
            "-o",
            "json",
            "--max-session",
            "4h",
            "--metrics-file",
        ])
        .args([metrics.to_str().unwrap()])
        .run()
        .ok()
        .json();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["rules"], json!(["max_session"]));
    assert_eq!(findings[0]["result"], "done");
    assert_eq!(sim.identities(), ["agent-1", "bob"]);
    assert_eq!(sim.room_names(), ["r"]);
    assert_eq!(sim.egress("EG_rec")["status"], "EGRESS_ACTIVE");
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("lk_reaper_findings{rule=\"max_session\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("lk_reaper_findings_by_action{action=\"remove_participant\"} 1"),
        "{text}"
    );
}

#[test]
fn the_last_human_removed_ends_the_room_in_the_same_sweep_after_the_removal() {
    let people = json!([
        joined("alice", "STANDARD", 5 * 3600),
        joined("agent-1", "AGENT", 9 * 3600)
    ]);
    let sim = sessions(&people, &json!([]));
    let report = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--max-session", "4h"])
        .run()
        .ok()
        .json();
    // Removed first: a deletion first would have made the removal already_gone.
    let done = results(&report);
    assert_eq!(
        (done["EG_rec"].as_str(), done["r"].as_str()),
        ("done", "done"),
        "{report}"
    );
    let alice = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["participant"] == "alice")
        .unwrap();
    assert_eq!(alice["result"], "done");
    let room = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"] == "room")
        .unwrap();
    assert!(
        room["reason"]
            .as_str()
            .unwrap()
            .contains("judged humanless at once"),
        "{room}"
    );
    assert!(sim.room_names().is_empty());
    assert_eq!(sim.calls("RemoveParticipant"), 1);
}

#[test]
fn a_rejoin_before_acting_is_a_new_session_and_keeps_the_room() {
    // ListParticipants 1 is the inventory: alice rejoins right after it.
    let rejoin = json!([{"after": {"method": "ListParticipants", "calls": 1},
                         "join": {"room": "r", "identity": "alice", "kind": "STANDARD"}}]);
    let sim = sessions(&json!([joined("alice", "STANDARD", 5 * 3600)]), &rejoin);
    let report = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--max-session", "4h"])
        .run()
        .ok()
        .json();
    let outcomes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["result"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["skipped_recheck"; 3], "{report}");
    assert!(report["findings"].to_string().contains("rejoined"));
    assert_eq!(sim.calls("RemoveParticipant"), 0);
    assert_eq!(sim.room_names(), ["r"]);
}

#[test]
fn removals_count_against_max_actions() {
    let people = json!([
        joined("a", "STANDARD", 5 * 3600),
        joined("b", "STANDARD", 5 * 3600),
        joined("c", "STANDARD", 600)
    ]);
    let sim = sessions(&people, &json!([]));
    Reaper::on(&sim)
        .args(["sweep", "--max-session", "4h", "--max-actions", "1"])
        .run()
        .expect(5);
    assert_eq!(sim.calls("RemoveParticipant"), 0);
}
