//! The documented defaults and limits (README's flag and rule tables), each asserted where
//! a change would show: on the wire through `/_sim/calls` (token lifetime, grants per call,
//! the per-call timeout, calls in flight) and at the edges of the sweep's own limits
//! (`--max-actions`, the graces). Each assertion fails if its default changes.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::reaper::{Reaper, expected, results, scenario, sim};

/// `n` empty rooms an hour old: each one is a humanless deletion.
fn empty_rooms(n: usize) -> Value {
    (0..n)
        .map(|i| json!({"name": format!("idle-{i:03}"), "age_s": 3600}))
        .collect()
}

#[test]
fn every_call_carries_a_five_minute_token_with_only_its_grants_and_a_10s_timeout() {
    let sim = sim(scenario(
        json!([{"name": "idle", "age_s": 3600}]),
        json!([
            {"egress_id": "EG_idle", "room_name": "idle", "started_s_ago": 3000},
            {"egress_id": "EG_orphan", "room_name": "gone", "type": "track", "started_s_ago": 3600}
        ]),
    ));
    let report = Reaper::on(&sim)
        .args(["sweep", "-o", "json"])
        .run()
        .expect(0)
        .json();
    assert_eq!(
        results(&report),
        expected(&[("idle", "done"), ("EG_idle", "done"), ("EG_orphan", "done")])
    );
    let log = sim.call_log();
    let calls = log["calls"].as_array().expect("calls");
    let methods: BTreeSet<&str> = calls.iter().filter_map(|c| c["method"].as_str()).collect();
    assert_eq!(
        methods,
        BTreeSet::from([
            "DeleteRoom",
            "ListEgress",
            "ListIngress",
            "ListParticipants",
            "ListRooms",
            "StopEgress"
        ]),
        "{log}"
    );
    for call in calls {
        let grants = match call["method"].as_str().unwrap() {
            "ListRooms" => json!({"roomList": true}),
            "ListParticipants" => json!({"roomAdmin": true, "room": "idle"}),
            "ListEgress" | "StopEgress" => json!({"roomRecord": true}),
            "DeleteRoom" => json!({"roomCreate": true}),
            "ListIngress" => json!({"ingressAdmin": true}),
            other => panic!("unexpected call {other}"),
        };
        assert_eq!(call["grants"], grants, "grants of {call}");
        assert_eq!(call["token_lifetime_s"], 300, "token exp - nbf: {call}");
        assert_eq!(
            call["twirp_timeout_ms"], "10000",
            "--request-timeout 10s: {call}"
        );
    }
}

#[test]
fn max_actions_defaults_to_100() {
    let hundred = sim(scenario(empty_rooms(100), json!([])));
    let report = Reaper::on(&hundred)
        .args(["sweep", "-o", "json"])
        .run()
        .expect(0)
        .json();
    assert_eq!(report["summary"]["done"], 100, "{}", report["summary"]);

    let too_many = sim(scenario(empty_rooms(101), json!([])));
    Reaper::on(&too_many)
        .args(["sweep", "-o", "json"])
        .run()
        .expect(5);
    assert_eq!(
        too_many.calls("DeleteRoom"),
        0,
        "a refused plan does nothing"
    );
}

#[test]
fn concurrency_defaults_to_16_calls_in_flight() {
    let mut fleet = scenario(empty_rooms(64), json!([]));
    // Slow answers, so the 64 ListParticipants calls pile up to the limit.
    fleet["latency_ms"] = json!(100);
    let sim = sim(fleet);
    Reaper::on(&sim)
        .args(["sweep", "--dry-run", "-o", "json"])
        .run()
        .expect(0);
    assert_eq!(sim.calls("ListParticipants"), 64);
    assert_eq!(sim.call_log()["max_in_flight"], 16);
}

#[test]
fn graces_default_to_5m_for_humanless_rooms_and_2m_for_orphan_egress() {
    let sim = sim(scenario(
        json!([
            {"name": "fresh", "age_s": 290},
            {"name": "stale", "age_s": 310}
        ]),
        json!([
            {"egress_id": "EG_fresh", "room_name": "gone-a", "type": "track", "started_s_ago": 110},
            {"egress_id": "EG_stale", "room_name": "gone-b", "type": "track", "started_s_ago": 130}
        ]),
    ));
    let report = Reaper::on(&sim)
        .args(["sweep", "--dry-run", "-o", "json"])
        .run()
        .expect(0)
        .json();
    assert_eq!(
        results(&report),
        expected(&[("stale", "planned"), ("EG_stale", "planned")])
    );
}
