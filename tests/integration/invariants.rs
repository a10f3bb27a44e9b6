//! The invariant that matters most, end to end: over random fleets, a real sweep (the
//! built binary against the simulator) never deletes a room with a human in it, nor stops
//! an egress of such a room, when no age limit asks for it; and it does end every humanless
//! room past its grace, so the property cannot hold by doing nothing.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::reaper::{Reaper, scenario, sim};

const KINDS: [&str; 7] = [
    "STANDARD",
    "INGRESS",
    "EGRESS",
    "SIP",
    "AGENT",
    "CONNECTOR",
    "BRIDGE",
];
const STATES: [&str; 4] = ["JOINING", "JOINED", "ACTIVE", "DISCONNECTED"];
/// `sip.callStatus` values ("" for none), known and not.
const CALL_STATUSES: [&str; 7] = [
    "",
    "active",
    "automation",
    "hangup",
    "dialing",
    "ringing",
    "on-hold",
];
/// How long ago a participant joined: well within or well past the default 5m ring limit.
const JOINED: [u64; 2] = [30, 900];

/// Whether the default policy counts this participant as human.
fn is_human(p: &Value) -> bool {
    let kind_is_human = matches!(p["kind"].as_str(), Some("STANDARD" | "SIP" | "CONNECTOR"));
    let simulated = p["kind_details"]
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d == "SIMULATION"));
    let call = p["attributes"]["sip.callStatus"].as_str();
    let long_ago = p["joined_s_ago"].as_u64().is_some_and(|s| s > 300);
    let dead_call = p["kind"] == "SIP"
        && (call == Some("hangup") || matches!(call, Some("dialing" | "ringing")) && long_ago);
    kind_is_human && !simulated && p["state"] != "DISCONNECTED" && !dead_call
}

fn participant() -> impl Strategy<Value = Value> {
    (
        0..KINDS.len(),
        0..STATES.len(),
        any::<bool>(),
        (0..CALL_STATUSES.len(), 0..JOINED.len()),
    )
        .prop_map(|(kind, state, simulated, (call, joined))| {
            let mut p = json!({"kind": KINDS[kind], "state": STATES[state],
                   "kind_details": if simulated { json!(["SIMULATION"]) } else { json!([]) },
                   "joined_s_ago": JOINED[joined]});
            if !CALL_STATUSES[call].is_empty() {
                p["attributes"] = json!({"sip.callStatus": CALL_STATUSES[call]});
            }
            p
        })
}

fn room() -> impl Strategy<Value = (Vec<Value>, u64, bool)> {
    (
        prop::collection::vec(participant(), 0..4),
        0..20_000u64,
        any::<bool>(),
    )
}

/// Numbers identities and names, and gives every other room an egress.
fn fleet(rooms: &[(Vec<Value>, u64, bool)]) -> Value {
    let mut egresses = Vec::new();
    let rooms: Vec<Value> = rooms
        .iter()
        .enumerate()
        .map(|(i, (people, age_s, has_egress))| {
            let participants: Vec<Value> = people
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    let mut p = p.clone();
                    p["identity"] = json!(format!("p{i}-{j}"));
                    p
                })
                .collect();
            if *has_egress {
                egresses.push(
                    json!({"egress_id": format!("EG_{i}"), "room_name": format!("r{i}"),
                                     "started_s_ago": age_s / 2}),
                );
            }
            json!({"name": format!("r{i}"), "age_s": age_s, "participants": participants})
        })
        .collect();
    scenario(json!(rooms), json!(egresses))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_sweep_never_touches_a_room_with_a_human(rooms in prop::collection::vec(room(), 1..7)) {
        let before = fleet(&rooms);
        let server = sim(before.clone());
        Reaper::on(&server).args(["sweep", "-o", "json"]).run().expect(0);
        let after = server.state();
        let exists = |name: &str| after["rooms"].as_array().unwrap().iter().any(|r| r["name"] == name);
        let status = |id: &str| after["egresses"].as_array().unwrap().iter()
            .find(|e| e["egress_id"] == id).map(|e| e["status"].clone());
        for room in before["rooms"].as_array().unwrap() {
            let name = room["name"].as_str().unwrap();
            if room["participants"].as_array().unwrap().iter().any(is_human) {
                prop_assert!(exists(name), "room {name} with a human was deleted: {room}");
                let egress = format!("EG_{}", &name[1..]);
                if let Some(status) = status(&egress) {
                    prop_assert_eq!(status, json!("EGRESS_ACTIVE"), "egress {} of {} was stopped", egress, name);
                }
            } else if room["age_s"].as_u64().unwrap() > 310 {
                prop_assert!(!exists(name), "humanless room {name} past its grace was kept: {room}");
            }
        }
    }
}
