//! `sweep`, `rooms` and `egress` against the simulator: every rule, the outputs, dry run
//! versus real run, scope, re-checks, ordering, the circuit breaker and the policy file
//! (issue #3). `/_sim/state` and `/_sim/stats` prove what changed and which calls were made.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::harness::SimProcess;
use crate::reaper::{
    Reaper, assert_basic_swept, basic, expected, fingerprint, mutations, results, scenario, sim,
};

/// The fields of a finding, exactly as SPEC.md names them.
const FINDING_FIELDS: [&str; 12] = [
    "rules",
    "target",
    "room",
    "room_sid",
    "egress_id",
    "age_s",
    "humans",
    "others",
    "reason",
    "action",
    "result",
    "error",
];

/// `sweep -o json ARGS`, with the exit code checked.
#[track_caller]
pub(crate) fn sweep_json(sim: &SimProcess, args: &[&str], code: i32) -> Value {
    Reaper::on(sim)
        .args(["sweep", "-o", "json"])
        .args(args)
        .run()
        .expect(code)
        .json()
}

/// `sweep --dry-run -o json ARGS`, which must change nothing.
#[track_caller]
fn dry_run(sim: &SimProcess, args: &[&str]) -> Value {
    let before = (fingerprint(sim), mutations(sim));
    let report = sweep_json(sim, &[&["--dry-run"], args].concat(), 0);
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        (fingerprint(sim), mutations(sim)),
        before,
        "a dry run changed something"
    );
    report
}

/// The set of targets in a report.
#[track_caller]
fn targets(report: &Value) -> BTreeSet<String> {
    results(report).into_keys().collect()
}

/// Asserts the targets a dry run with `args` finds.
#[track_caller]
fn assert_finds(sim: &SimProcess, args: &[&str], want: &[&str]) {
    assert_eq!(targets(&dry_run(sim, args)), set(want), "args {args:?}");
}

#[track_caller]
fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[track_caller]
fn status(sim: &SimProcess, egress_id: &str) -> String {
    sim.egress(egress_id)["status"]
        .as_str()
        .expect("status")
        .to_owned()
}

fn room(name: &str, age_s: u64, participants: Value) -> Value {
    let mut room = json!({"name": name, "age_s": age_s});
    room["participants"] = participants;
    room
}

fn person(identity: &str, kind: &str) -> Value {
    json!({"identity": identity, "kind": kind, "joined_s_ago": 30, "state": "ACTIVE"})
}

fn egress(id: &str, room: &str, kind: &str, started_s_ago: u64) -> Value {
    json!({"egress_id": id, "room_name": room, "type": kind,
           "status": "EGRESS_ACTIVE", "started_s_ago": started_s_ago})
}

/// An agent left alone in a room, recorded by `EG_<name>`.
fn agent_room(name: &str, age_s: u64) -> (Value, Value) {
    (
        room(
            name,
            age_s,
            json!([person(&format!("agent-{name}"), "AGENT")]),
        ),
        egress(&format!("EG_{name}"), name, "room_composite", age_s - 10),
    )
}

// ---- basic.json, the README's verdicts ------------------------------------------------------

#[test]
fn dry_run_json_has_the_spec_schema_and_the_readme_verdicts() {
    let sim = basic();
    let report = dry_run(&sim, &[]);
    let keys: BTreeSet<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "version",
            "dry_run",
            "now",
            "rooms_scanned",
            "egresses_scanned",
            "findings",
            "summary",
            "warnings"
        ])
    );
    assert_eq!(report["version"], 1);
    let now = report["now"].as_str().unwrap();
    assert!(now.ends_with('Z'), "{now}");
    chrono::DateTime::parse_from_rfc3339(now).expect("RFC 3339 now");
    assert_eq!(report["rooms_scanned"], 5);
    assert_eq!(report["egresses_scanned"], 4);
    assert_eq!(report["warnings"], json!([]));
    assert_eq!(
        report["summary"],
        json!({"planned": 4, "done": 0, "already_gone": 0, "skipped": 0, "zombie": 0, "failed": 0})
    );
    assert_eq!(
        results(&report),
        expected(&[
            ("camera-feed", "planned"),
            ("left-running", "planned"),
            ("EG_rec1", "planned"),
            ("EG_orphan", "planned"),
        ])
    );
    let findings = report["findings"].as_array().unwrap();
    for f in findings {
        let fields: BTreeSet<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, BTreeSet::from(FINDING_FIELDS), "{f}");
        assert_eq!(f["error"], Value::Null);
    }
    let by = |target: &str| {
        findings
            .iter()
            .find(|f| f["egress_id"] == target || (f["egress_id"].is_null() && f["room"] == target))
            .unwrap()
            .clone()
    };
    let room = by("left-running");
    assert_eq!(room["rules"], json!(["humanless"]));
    assert_eq!(room["target"], "room");
    assert_eq!(room["action"], "delete_room");
    assert!(room["room_sid"].as_str().unwrap().starts_with("RM_"));
    assert_eq!(
        (room["humans"].clone(), room["others"].clone()),
        (json!(0), json!(2))
    );
    assert!(room["age_s"].as_u64().unwrap() >= 30_000);
    let rec = by("EG_rec1");
    assert_eq!(rec["target"], "egress");
    assert_eq!(rec["action"], "stop_egress");
    assert_eq!(rec["room"], "left-running");
    assert_eq!(rec["rules"], json!(["humanless"]));
    let orphan = by("EG_orphan");
    assert_eq!(orphan["rules"], json!(["orphan_egress"]));
    assert_eq!(orphan["room_sid"], Value::Null);
    assert!(
        orphan["reason"]
            .as_str()
            .unwrap()
            .contains("gone-yesterday")
    );
    let camera = by("camera-feed");
    assert!(
        camera["reason"].as_str().unwrap().contains("bridge"),
        "{camera}"
    );
    assert_worst_first(findings);
}

#[test]
fn ndjson_is_one_finding_per_line_then_the_summary_line() {
    let sim = basic();
    let lines = Reaper::on(&sim)
        .args(["sweep", "--dry-run", "-o", "ndjson"])
        .run()
        .ok()
        .ndjson();
    assert_eq!(lines.len(), 5);
    for finding in &lines[..4] {
        let fields: BTreeSet<&str> = finding
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, BTreeSet::from(FINDING_FIELDS));
        assert_eq!(finding["result"], "planned");
    }
    let summary = &lines[4];
    assert_eq!(summary["version"], 1);
    assert_eq!(summary["dry_run"], true);
    assert_eq!(summary["rooms_scanned"], 5);
    assert_eq!(summary["summary"]["planned"], 4);
    assert!(summary.get("findings").is_none(), "{summary}");
    assert_eq!(summary["warnings"], json!([]));
}

#[test]
fn table_shows_one_row_per_finding_human_ages_and_a_summary() {
    let sim = basic();
    let run = Reaper::on(&sim).args(["sweep", "--dry-run"]).run().ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{run}");
    for column in ["RULES", "TARGET", "ROOM", "AGE", "ACTION", "RESULT"] {
        assert!(lines[0].contains(column), "{column}{run}");
    }
    let row = |needle: &str| lines.iter().find(|l| l.contains(needle)).copied();
    let camera = row("camera-feed").expect("camera-feed row");
    assert!(camera.contains("1d") && camera.contains("delete_room") && camera.contains("planned"));
    assert!(row("EG_orphan").unwrap().contains("13h 53m"), "{run}");
    assert!(lines[5].starts_with("dry run: 4 actions planned"), "{run}");
    assert!(run.stderr.is_empty(), "a quiet dry run logs nothing{run}");
}

#[test]
fn real_sweep_ends_exactly_the_offenders_then_finds_nothing() {
    let sim = basic();
    let report = sweep_json(&sim, &[], 0);
    assert_eq!(report["dry_run"], false);
    // EG_rec1 `done` shows it was stopped before its room was deleted: the other way round
    // the room's close would have ended it, and the stop would be `already_gone`.
    assert_basic_swept(&report, &sim);
    assert_eq!(
        report["summary"],
        json!({"planned": 0, "done": 4, "already_gone": 0, "skipped": 0, "zombie": 0, "failed": 0})
    );
    assert_eq!(mutations(&sim), (2, 2), "one call per action");
    assert_eq!(status(&sim, "EG_standup"), "EGRESS_ACTIVE");
    assert_eq!(status(&sim, "EG_web1"), "EGRESS_ACTIVE");
    assert_eq!(status(&sim, "EG_rec1"), "EGRESS_COMPLETE");
    assert_eq!(status(&sim, "EG_orphan"), "EGRESS_COMPLETE");

    let again = Reaper::on(&sim).args(["sweep"]).run().ok();
    assert!(
        again.stdout.starts_with("ok: nothing offends") && again.stdout.lines().count() == 1,
        "{again}"
    );
    assert_eq!(mutations(&sim), (2, 2));
}

#[test]
fn healthy_rooms_are_never_touched() {
    let mut hidden = person("observer", "STANDARD");
    hidden["hidden"] = json!(true);
    let sim = sim(scenario(
        json!([
            room(
                "meeting",
                7200,
                json!([person("alice", "STANDARD"), person("agent-1", "AGENT")])
            ),
            room("call", 7200, json!([person("sip_+1555", "SIP")])),
            room("whatsapp", 7200, json!([person("wa-1", "CONNECTOR")])),
            room("fresh", 60, json!([])),
            room("fresh-agent", 100, json!([person("agent-2", "AGENT")])),
            room("watched", 7200, json!([hidden])),
            room("long-call", 20_000, json!([person("bob", "STANDARD")])),
        ]),
        json!([
            egress("EG_meeting", "meeting", "room_composite", 7000),
            egress("EG_long", "long-call", "room_composite", 19_000),
        ]),
    ));
    let report = sweep_json(&sim, &["--max-egress-age", "3h"], 0);
    assert_eq!(results(&report), expected(&[("EG_long", "done")]));
    let finding = &report["findings"][0];
    assert_eq!(finding["rules"], json!(["max_egress_age"]));
    assert_eq!(
        finding["humans"],
        Value::Null,
        "the room itself is not judged"
    );
    assert_eq!(sim.room_names().len(), 7, "no room deleted");
    assert_eq!(mutations(&sim), (1, 0));
    assert_eq!(status(&sim, "EG_meeting"), "EGRESS_ACTIVE");
}

// ---- one rule at a time ---------------------------------------------------------------------

#[test]
fn humanless_stop_egress_keeps_the_room_and_off_leaves_it_alone() {
    let (recorded, rec) = agent_room("recorded", 3600);
    let sim = sim(scenario(
        json!([
            recorded,
            room("bare", 3600, json!([person("agent-x", "AGENT")]))
        ]),
        json!([rec]),
    ));
    let off = dry_run(&sim, &["--humanless", "off"]);
    assert_eq!(off["findings"], json!([]));
    let report = sweep_json(&sim, &["--humanless", "stop-egress"], 0);
    assert_eq!(results(&report), expected(&[("EG_recorded", "done")]));
    assert_eq!(report["findings"][0]["rules"], json!(["humanless"]));
    assert_eq!(mutations(&sim), (1, 0));
    assert_eq!(sim.room_names(), ["bare", "recorded"]);
    assert_eq!(status(&sim, "EG_recorded"), "EGRESS_COMPLETE");
}

#[test]
fn humanless_grace_is_respected() {
    let (young, _) = agent_room("young", 200);
    let (old, _) = agent_room("old", 400);
    let sim = sim(scenario(json!([young, old]), json!([])));
    assert_finds(&sim, &[], &["old"]);
    assert_finds(&sim, &["--humanless-grace", "1m"], &["old", "young"]);
    assert_finds(&sim, &["--humanless-grace", "1h"], &[]);
}

#[test]
fn max_room_age_deletes_old_rooms_with_humans_too() {
    let sim = sim(scenario(
        json!([
            room("marathon", 5 * 3600, json!([person("alice", "STANDARD")])),
            room("recent", 3600, json!([person("bob", "STANDARD")])),
            room("old-and-empty", 6 * 3600, json!([])),
        ]),
        json!([egress(
            "EG_marathon",
            "marathon",
            "room_composite",
            5 * 3600 - 60
        )]),
    ));
    let report = sweep_json(&sim, &["--max-room-age", "4h"], 0);
    assert_eq!(
        results(&report),
        expected(&[
            ("marathon", "done"),
            ("EG_marathon", "done"),
            ("old-and-empty", "done"),
        ])
    );
    let rules = |target: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["room"] == target && f["target"] == "room")
            .unwrap()["rules"]
            .clone()
    };
    assert_eq!(rules("marathon"), json!(["max_room_age"]));
    assert_eq!(rules("old-and-empty"), json!(["humanless", "max_room_age"]));
    assert_eq!(sim.room_names(), ["recent"]);
    assert_eq!(mutations(&sim), (1, 2));
}

#[test]
fn max_egress_age_reads_nanosecond_start_times() {
    let sim = basic();
    let report = dry_run(
        &sim,
        &[
            "--max-egress-age",
            "3h",
            "--humanless",
            "off",
            "--orphan-egress",
            "off",
        ],
    );
    assert_eq!(targets(&report), set(&["EG_orphan", "EG_rec1", "EG_web1"]));
    let web = &report["findings"][0];
    assert_eq!(web["egress_id"], "EG_web1", "oldest first");
    assert_eq!(web["room"], Value::Null, "web egress has no room");
    let age = web["age_s"].as_u64().unwrap();
    assert!(
        (90_000..90_100).contains(&age),
        "age in seconds, not ns or ms: {age}"
    );
    let report = sweep_json(
        &sim,
        &[
            "--max-egress-age",
            "24h",
            "--humanless",
            "off",
            "--orphan-egress",
            "off",
        ],
        0,
    );
    assert_eq!(results(&report), expected(&[("EG_web1", "done")]));
    assert_eq!(status(&sim, "EG_web1"), "EGRESS_COMPLETE");
    assert_eq!(sim.room_names().len(), 5);
}

#[test]
fn orphan_egress_switch_and_grace() {
    let sim = sim(scenario(
        json!([]),
        json!([
            egress("EG_old", "gone", "track", 50_000),
            egress("EG_new", "also-gone", "participant", 60),
            egress("EG_web", "", "web", 50_000),
        ]),
    ));
    assert_finds(&sim, &[], &["EG_old"]);
    assert_finds(&sim, &["--orphan-grace", "30s"], &["EG_new", "EG_old"]);
    assert_finds(&sim, &["--orphan-egress", "off"], &[]);
    let report = sweep_json(&sim, &[], 0);
    assert_eq!(results(&report), expected(&[("EG_old", "done")]));
    assert_eq!(mutations(&sim), (1, 0));
    assert_eq!(status(&sim, "EG_web"), "EGRESS_ACTIVE");
}

#[test]
fn who_counts_as_human() {
    let mut simulated = person("sim-user", "STANDARD");
    simulated["kind_details"] = json!(["SIMULATION"]);
    let mut gone = person("left", "STANDARD");
    gone["state"] = "DISCONNECTED".into();
    let mut joining = person("arriving", "STANDARD");
    joining["state"] = "JOINING".into();
    let sim = sim(scenario(
        json!([
            room("bot", 3600, json!([person("bot-7", "STANDARD")])),
            room("simulated", 3600, json!([simulated])),
            room("disconnected", 3600, json!([gone])),
            room("joining", 3600, json!([joining])),
            room("phone", 3600, json!([person("sip_1", "SIP")])),
            room("agent", 3600, json!([person("agent-1", "AGENT")])),
            room("ingress", 3600, json!([person("obs", "INGRESS")])),
        ]),
        json!([]),
    ));
    assert_finds(
        &sim,
        &[],
        &["agent", "disconnected", "ingress", "simulated"],
    );
    assert_finds(
        &sim,
        &["--not-human", "bot-*"],
        &["agent", "bot", "disconnected", "ingress", "simulated"],
    );
    assert_eq!(
        targets(&dry_run(
            &sim,
            &["--human-kind", "agent", "--not-human-kind", "sip"]
        )),
        set(&["disconnected", "ingress", "phone", "simulated"])
    );
    assert_eq!(
        targets(&dry_run(&sim, &["--human-kind", "agent"])),
        set(&["disconnected", "ingress", "simulated"]),
        "--human-kind adds a kind: the phone call still counts"
    );
}

// ---- scope ---------------------------------------------------------------------------------

#[test]
fn room_globs_limit_the_sweep_and_leave_web_egress_out() {
    let sim = basic();
    let args = ["--max-egress-age", "3h"];
    let scoped = dry_run(&sim, &[&args[..], &["--room", "left-*"]].concat());
    assert_eq!(targets(&scoped), set(&["EG_rec1", "left-running"]));
    assert_eq!(scoped["rooms_scanned"], 5, "scanned is what was listed");
    let excluded = dry_run(
        &sim,
        &[
            &args[..],
            &[
                "--exclude-room",
                "left-running",
                "--exclude-room",
                "camera-*",
            ],
        ]
        .concat(),
    );
    assert_eq!(targets(&excluded), set(&["EG_orphan", "EG_web1"]));
    let report = sweep_json(&sim, &["--room", "camera-feed", "--room", "gone-*"], 0);
    assert_eq!(
        results(&report),
        expected(&[("camera-feed", "done"), ("EG_orphan", "done")])
    );
    assert_eq!(mutations(&sim), (1, 1));
}

#[test]
fn shards_are_disjoint_and_complete_and_web_egress_is_in_shard_zero() {
    let mut rooms = Vec::new();
    for i in 0..12 {
        rooms.push(room(&format!("idle-{i}"), 3600, json!([])));
    }
    let sim = sim(scenario(
        json!(rooms),
        json!([egress("EG_web", "", "web", 90_000)]),
    ));
    let mut seen = BTreeSet::new();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let found = targets(&dry_run(
            &sim,
            &["--shard", &shard, "--max-egress-age", "3h"],
        ));
        assert_eq!(found.contains("EG_web"), k == 0, "shard {shard}: {found:?}");
        assert!(
            seen.is_disjoint(&found),
            "shard {shard} overlaps: {found:?}"
        );
        seen.extend(found);
    }
    let all: BTreeSet<String> = (0..12)
        .map(|i| format!("idle-{i}"))
        .chain(["EG_web".to_owned()])
        .collect();
    assert_eq!(seen, all);
}

// ---- safety: re-check, idempotence, order, breaker --------------------------------------------

#[test]
fn a_human_joining_after_the_inventory_skips_the_room() {
    let (lonely, rec) = agent_room("lonely", 3600);
    let mut scenario = scenario(json!([lonely]), json!([rec]));
    scenario["events"] = json!([{"after": {"method": "ListParticipants", "calls": 1},
                                 "join": {"room": "lonely", "identity": "late-human"}}]);
    let sim = sim(scenario);
    let report = sweep_json(&sim, &[], 0);
    assert_eq!(
        results(&report),
        expected(&[
            ("lonely", "skipped_recheck"),
            ("EG_lonely", "skipped_recheck")
        ])
    );
    assert!(
        report["findings"][0]["error"]
            .as_str()
            .unwrap()
            .contains("late-human"),
        "{report}"
    );
    assert_eq!(report["summary"]["skipped"], 2);
    assert_eq!(
        sim.calls("ListParticipants"),
        2,
        "listed, then re-checked once"
    );
    assert_eq!(mutations(&sim), (0, 0));
    assert_eq!(sim.room_names(), ["lonely"]);
    assert_eq!(status(&sim, "EG_lonely"), "EGRESS_ACTIVE");
}

#[test]
fn an_orphan_whose_room_comes_back_after_the_inventory_is_not_stopped() {
    let mut scenario = scenario(
        json!([]),
        json!([egress("EG_orphan", "reborn", "track", 3600)]),
    );
    // The inventory's ListRooms does not see `reborn`; the re-check's ListRooms does.
    scenario["events"] = json!([{"after": {"method": "ListRooms", "calls": 1},
                                 "create_room": {"name": "reborn"}}]);
    let sim = sim(scenario);
    let report = sweep_json(&sim, &[], 0);
    assert_eq!(
        results(&report),
        expected(&[("EG_orphan", "skipped_recheck")]),
        "{report}"
    );
    assert_eq!(report["findings"][0]["rules"], json!(["orphan_egress"]));
    assert!(
        report["findings"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("the room exists again")),
        "{report}"
    );
    assert_eq!(sim.calls("ListRooms"), 2, "listed, then re-checked once");
    assert_eq!(mutations(&sim), (0, 0));
    assert_eq!(sim.room_names(), ["reborn"]);
    assert_eq!(status(&sim, "EG_orphan"), "EGRESS_ACTIVE");
}

#[test]
fn rooms_that_vanish_before_the_action_are_already_gone() {
    let mut scenario = crate::harness::scenario("basic.json");
    // After the inventory's fourth and last ListParticipants (standup, left-running,
    // phone-support, camera-feed; just-created is inside its grace), two rooms close.
    scenario["events"] = json!([
        {"after": {"method": "ListParticipants", "calls": 4}, "delete_room": "left-running"},
        {"after": {"method": "ListParticipants", "calls": 4}, "delete_room": "camera-feed"}
    ]);
    let sim = sim(scenario);
    let report = sweep_json(&sim, &[], 0);
    assert_eq!(
        results(&report),
        expected(&[
            ("camera-feed", "already_gone"),
            ("left-running", "already_gone"),
            ("EG_rec1", "already_gone"),
            ("EG_orphan", "done"),
        ])
    );
    assert_eq!(report["summary"]["already_gone"], 3);
}

#[test]
fn worst_first_the_oldest_offender_is_acted_on_first() {
    let (old, _) = agent_room("old", 9000);
    let (young, _) = agent_room("young", 900);
    let mut scenario = scenario(json!([young, old]), json!([]));
    // Right after the first deletion, `young` closes by itself: had `young` gone first, both
    // deletions would be `done`.
    scenario["events"] =
        json!([{"after": {"method": "DeleteRoom", "calls": 1}, "delete_room": "young"}]);
    let sim = sim(scenario);
    let report = sweep_json(&sim, &["--concurrency", "1"], 0);
    assert_eq!(
        results(&report),
        expected(&[("old", "done"), ("young", "already_gone")])
    );
}

#[test]
fn max_actions_refuses_the_whole_plan_and_prints_it() {
    let sim = basic();
    let before = fingerprint(&sim);
    let report = sweep_json(&sim, &["--max-actions", "3"], 5);
    assert_eq!(report["summary"]["planned"], 4);
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("--max-actions 3"),
        "{report}"
    );
    assert_eq!(mutations(&sim), (0, 0));
    assert_eq!(fingerprint(&sim), before);
    let table = Reaper::on(&sim)
        .args(["sweep", "--max-actions", "3"])
        .run()
        .expect(5)
        .stdout_has("EG_orphan")
        .stderr_has("max-actions");
    assert!(table.stdout.contains("refused"), "{table}");
    // At the limit it acts.
    sweep_json(&sim, &["--max-actions", "4"], 0);
    assert_eq!(mutations(&sim), (2, 2));
}

#[test]
fn exit_code_flag_reports_offenders_until_they_are_gone() {
    let sim = basic();
    Reaper::on(&sim)
        .args(["sweep", "--dry-run", "--exit-code"])
        .run()
        .expect(3);
    Reaper::on(&sim)
        .args(["rooms", "--exit-code"])
        .run()
        .expect(3);
    Reaper::on(&sim)
        .args(["egress", "--exit-code"])
        .run()
        .expect(3);
    Reaper::on(&sim).args(["sweep", "--dry-run"]).run().ok();
    assert_eq!(mutations(&sim), (0, 0));
    Reaper::on(&sim)
        .args(["sweep", "--exit-code"])
        .run()
        .expect(3);
    Reaper::on(&sim)
        .args(["sweep", "--dry-run", "--exit-code"])
        .run()
        .ok();
    Reaper::on(&sim).args(["rooms", "--exit-code"]).run().ok();
}

// ---- the read-only views -------------------------------------------------------------------

#[test]
fn rooms_and_egress_views_agree_with_the_dry_run() {
    let sim = basic();
    let plan = dry_run(&sim, &[]);
    let planned = |action: &str| -> BTreeSet<String> {
        plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["action"] == action)
            .map(|f| {
                f["egress_id"]
                    .as_str()
                    .or(f["room"].as_str())
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let rooms = Reaper::on(&sim)
        .args(["rooms", "-o", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(rooms["rooms_scanned"], 5);
    let listed = rooms["rooms"].as_array().unwrap();
    assert_eq!(listed.len(), 5);
    let offending: BTreeSet<String> = listed
        .iter()
        .filter(|r| r["verdict"] == "offends")
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(offending, planned("delete_room"));
    let standup = listed.iter().find(|r| r["name"] == "standup").unwrap();
    assert_eq!(
        (
            standup["verdict"].clone(),
            standup["humans"].clone(),
            standup["others"].clone()
        ),
        (json!("healthy"), json!(1), json!(1))
    );
    assert_eq!(standup["active_egresses"], 1);

    let egresses = Reaper::on(&sim)
        .args(["egress", "-o", "json"])
        .run()
        .ok()
        .json();
    let offending: BTreeSet<String> = egresses["egresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["verdict"] == "offends")
        .map(|e| e["egress_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(offending, planned("stop_egress"));
    assert_eq!(egresses["egresses"].as_array().unwrap().len(), 4);

    let table = Reaper::on(&sim).args(["rooms"]).run().ok();
    let left = table
        .stdout
        .lines()
        .find(|l| l.contains("left-running"))
        .unwrap();
    assert!(
        left.contains("humanless") && left.contains("0/2"),
        "{table}"
    );
    assert!(table.stdout.contains("2 of 5 rooms offend"), "{table}");
    let table = Reaper::on(&sim).args(["egress"]).run().ok();
    let web = table
        .stdout
        .lines()
        .find(|l| l.contains("EG_web1"))
        .unwrap();
    assert!(web.contains("web") && web.contains("healthy"), "{table}");
    assert_eq!(mutations(&sim), (0, 0));
}

// ---- the policy file -----------------------------------------------------------------------

/// Writes `text` as a policy file in a temp dir.
fn policy_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reaper.toml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn config_file_precedence_is_flag_then_env_then_file() {
    let sim = sim(scenario(
        json!([room("talk", 2 * 3600, json!([person("alice", "STANDARD")]))]),
        json!([]),
    ));
    let (_dir, path) = policy_file(
        "url = \"http://127.0.0.1:9\"\napi_key = \"file-key\"\nmax_room_age = \"1h\"\nhumanless = \"off\"\n",
    );
    // The environment beats the file's url and key; the file's rules apply.
    let report = Reaper::on(&sim)
        .env("LK_REAPER_CONFIG", &path)
        .args(["sweep", "--dry-run", "-o", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(targets(&report), set(&["talk"]));
    // A flag beats the file.
    assert_finds(&sim, &["--config", &path, "--max-room-age", "3h"], &[]);
    // A flag beats the environment.
    Reaper::on(&sim)
        .env("LIVEKIT_URL", "http://127.0.0.1:9")
        .args(["--url", sim.url(), "rooms"])
        .run()
        .ok();
    // With nothing else, the file's url is used (and is unreachable).
    Reaper::on(&sim)
        .env_remove("LIVEKIT_URL")
        .env_remove("LIVEKIT_API_KEY")
        .args(["--config", &path, "rooms", "--timeout", "5s"])
        .run()
        .one_line_error(1, "127.0.0.1:9");
}

#[test]
fn policy_blocks_first_match_wins_exempt_and_metadata_overrides() {
    let sim = sim(scenario(
        json!([
            room("webinar-short", 2 * 3600, json!([person("a", "STANDARD")])),
            room("webinar-long", 11 * 3600, json!([person("b", "STANDARD")])),
            room("lobby", 30 * 3600, json!([])),
            room("plain", 2 * 3600, json!([person("c", "STANDARD")])),
            {"name": "meta-exempt", "age_s": 7200, "metadata": "{\"reaper\": {\"exempt\": true}}"},
            {"name": "meta-long", "age_s": 7200, "metadata": "{\"reaper\": {\"max_room_age\": \"12h\"}}"},
            {"name": "meta-junk", "age_s": 7200, "metadata": "not json {"},
        ]),
        json!([egress("EG_lobby", "lobby", "room_composite", 3600)]),
    ));
    let (_dir, path) = policy_file(
        r#"
humanless = "off"
max_room_age = "1h"
metadata_key = "reaper"

[[policy]]
rooms = ["webinar-*"]
max_room_age = "10h"

[[policy]]
rooms = ["webinar-*", "lobby"]
exempt = true
"#,
    );
    assert_finds(
        &sim,
        &["--config", &path, "--max-egress-age", "1m"],
        &["meta-junk", "plain", "webinar-long"],
    );
    let rooms = Reaper::on(&sim)
        .args(["--config", &path, "rooms", "-o", "json"])
        .run()
        .ok()
        .json();
    let judged = |name: &str| {
        let r = rooms["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {rooms}"));
        (
            r["policy"].as_str().unwrap().to_owned(),
            r["verdict"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        judged("webinar-short"),
        ("policy[1] webinar-*".into(), "healthy".into())
    );
    assert_eq!(judged("lobby").1, "exempt");
    assert!(judged("lobby").0.starts_with("policy[2]"));
    assert_eq!(
        judged("meta-exempt"),
        ("default + metadata".into(), "exempt".into())
    );
    assert_eq!(judged("meta-long").1, "healthy");
    assert_eq!(judged("meta-junk"), ("default".into(), "offends".into()));
}

#[test]
fn bad_policy_files_name_the_file_line_and_key() {
    let cases = [
        (
            "humanless = \"off\"\nmax_rom_age = \"1h\"\n",
            ":2",
            "max_rom_age",
        ),
        (
            "\n\nhumanless_grace = \"5 fortnights\"\n",
            ":3",
            "humanless_grace",
        ),
        (
            "exclude_rooms = [\"ok-*\", \"bad[\"]\n",
            ":1",
            "exclude_rooms",
        ),
        (
            "[[policy]]\nrooms = [\"x\"]\nexempt = \"yes\"\n",
            ":3",
            "exempt",
        ),
        ("[[policy]]\nrooms = [\"a{b\"]\n", ":2", "rooms"),
    ];
    let sim = basic();
    for (text, line, key) in cases {
        let (_dir, path) = policy_file(text);
        let run = Reaper::on(&sim)
            .args(["--config", &path, "sweep", "--dry-run"])
            .run()
            .one_line_error(2, &format!("{path}{line}: {key}"));
        drop(run);
    }
    assert_eq!(sim.calls("ListRooms"), 0, "refused before any call");
}

#[test]
fn hostile_names_cannot_break_the_table_or_the_json() {
    let name = "evil\u{1b}[2J\u{202e}room\nrow";
    let mut bot = person("bot\u{1b}]0;pwned\u{7}", "AGENT");
    bot["joined_s_ago"] = json!(10);
    let sim = sim(scenario(json!([room(name, 3600, json!([bot]))]), json!([])));
    let table = Reaper::on(&sim).args(["sweep", "--dry-run"]).run().ok();
    assert!(
        !table.stdout.contains('\u{1b}') && !table.stdout.contains('\u{202e}'),
        "{table}"
    );
    assert_eq!(
        table.stdout.lines().count(),
        3,
        "header, one row, summary{table}"
    );
    let report = dry_run(&sim, &[]);
    assert_eq!(
        report["findings"][0]["room"], name,
        "JSON keeps the name exactly"
    );
    let rooms = Reaper::on(&sim).args(["rooms"]).run().ok();
    assert!(!rooms.stdout.contains('\u{1b}'), "{rooms}");
}

/// Worst first: oldest offender first, a room's egress stops right before its deletion and
/// ranked by the room's age (the order they run in).
#[track_caller]
fn assert_worst_first(findings: &[Value]) {
    let order: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| {
            let target = f["target"].as_str().unwrap();
            (
                target,
                f["egress_id"]
                    .as_str()
                    .unwrap_or(f["room"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("room", "camera-feed"),
            ("egress", "EG_orphan"),
            ("egress", "EG_rec1"),
            ("room", "left-running")
        ],
        "not oldest first"
    );
}
