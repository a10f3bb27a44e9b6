//! A sick cluster (issue #12): rooms whose node is gone answer DeleteRoom with 503
//! "no response from servers" after 3 s, or 500 "could not find object" at once. They are
//! reported as `zombie`, never retried in the run, never hold up healthy work, and do not
//! make the run fail.

use std::time::Duration;

use serde_json::{Value, json};

use crate::reaper::{Reaper, expected, mutations, results, scenario, sim};

/// A humanless room (one agent, ten hours old) on a node in `node` state.
fn agent_room(name: &str, age_s: u64, node: &str) -> Value {
    json!({"name": name, "age_s": age_s, "node": node,
           "participants": [{"identity": format!("agent-{name}"), "kind": "AGENT"}]})
}

/// `n` zombie rooms on a dead node, all older than one healthy humanless room, and a room
/// with a human on the dead node (a ghost: without Redis nobody can tell).
fn sick_fleet(n: usize, node: &str) -> Value {
    let mut rooms: Vec<Value> = (0..n)
        .map(|i| agent_room(&format!("zombie-{i:02}"), 36_000 + i as u64, node))
        .collect();
    rooms.push(agent_room("healthy", 3600, "live"));
    rooms.push(json!({"name": "ghost-human", "age_s": 40_000, "node": node,
                      "participants": [{"identity": "alice"}]}));
    scenario(json!(rooms), json!([]))
}

#[test]
fn zombies_ahead_in_worst_first_order_never_hold_up_a_healthy_room() {
    let sim = sim(sick_fleet(40, "dead"));
    // 40 zombies at 3 s each, in 16 slots, is 9 s of waiting if they are simply awaited in
    // order (the healthy room would start at 6 s); the first pass gives each one second, so
    // the healthy room is reached at ~2 s.
    let run = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--timeout", "5s"])
        .run();
    let report = run.json();
    assert_eq!(results(&report)["healthy"], "done", "{run}");
    assert!(sim.room_names().contains(&"ghost-human".to_owned()));
    assert!(!sim.room_names().contains(&"healthy".to_owned()));
    assert!(run.elapsed < Duration::from_secs(9), "{run}");
}

#[test]
fn dead_node_rooms_are_zombies_asked_once_per_pass_and_the_run_succeeds() {
    let sim = sim(sick_fleet(40, "dead"));
    let run = Reaper::on(&sim).args(["sweep", "-o", "json"]).run().ok();
    let report = run.json();
    let zombies: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["result"] == "zombie")
        .collect();
    assert_eq!(zombies.len(), 40, "{run}");
    let error = zombies[0]["error"].as_str().unwrap();
    assert!(
        error.contains("livekit#3766") && error.contains("--purge-zombies"),
        "{error}"
    );
    assert!(error.contains("no response from servers"), "{error}");
    assert_eq!(results(&report)["healthy"], "done");
    assert_eq!(report["summary"]["zombie"], 40);
    assert_eq!(report["summary"]["failed"], 0);
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{report}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.starts_with("40 zombie rooms could not be deleted ('")
            && warning.contains("' and 37 more): their node is gone (livekit#3766); run with --redis-url URL --purge-zombies to remove them"),
        "the zombies are named: {warning}"
    );
    // Each zombie: one first try cut at 1 s, one full try; never a retry.
    assert_eq!(mutations(&sim), (0, 81));
    // 3 s per zombie in 16 slots, once.
    assert!(run.elapsed < Duration::from_secs(20), "{run}");
}

#[test]
fn after_a_restart_the_could_not_find_object_answer_is_a_zombie_at_once() {
    let sim = sim(sick_fleet(3, "removed"));
    Reaper::on(&sim).args(["sweep"]).run().ok();
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("lk.prom");
    let run = Reaper::on(&sim)
        .args(["sweep", "--metrics-file", metrics.to_str().unwrap()])
        .run()
        .ok()
        .stdout_has("zombie")
        .stdout_has("zombie 3, failed 0")
        .stderr_has("3 zombie rooms could not be deleted");
    assert!(run.elapsed < Duration::from_secs(3), "{run}");
    // The first run deleted `healthy`; each run asked each zombie exactly once.
    assert_eq!(mutations(&sim), (0, 3 + 1 + 3));
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("lk_reaper_actions{result=\"zombie\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("lk_reaper_last_success_timestamp_seconds"),
        "{text}"
    );
}

#[test]
fn zombies_alone_exit_0_but_3_with_exit_code() {
    let sim = sim(scenario(
        json!([agent_room("z", 36_000, "removed")]),
        json!([]),
    ));
    let run = Reaper::on(&sim)
        .args(["sweep", "-o", "ndjson", "--log-format", "json"])
        .run()
        .ok();
    // One log event for the room, and the warning that counts the zombies.
    let events: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["result"] == "zombie" && e["room"] == "z"),
        "{run}"
    );
    assert!(
        events.iter().any(|e| e["level"] == "WARN"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("1 zombie room could not be deleted ('z')")),
        "{run}"
    );
    let ndjson = run.ndjson();
    assert_eq!(ndjson[0]["result"], "zombie");
    assert_eq!(ndjson[1]["summary"]["zombie"], 1);
    Reaper::on(&sim)
        .args(["sweep", "--exit-code"])
        .run()
        .expect(3);
    assert_eq!(
        results(&json!({"findings": [ndjson[0].clone()]})),
        expected(&[("z", "zombie")])
    );
}
