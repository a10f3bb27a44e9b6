//! Phone legs (issue #15): a SIP participant is human only while its `sip.callStatus` says
//! the call is live. The simulator serves participant attributes as LiveKit does, in
//! protobuf and JSON, and `/_sim/state` and `snapshot` keep them.

use std::collections::BTreeMap;

use livekit_api::access_token::VideoGrants;
use livekit_api::services::room::RoomClient;
use serde_json::{Value, json};

use crate::harness::SimProcess;
use crate::loopback::{Server, ok_bytes};
use crate::reaper::{KEY, Reaper, SECRET, expected, results, scenario, sim, token};

/// A phone leg that joined `joined_s_ago` seconds ago, with this `sip.callStatus` (none:
/// a SIP service that predates the attribute).
fn call(identity: &str, status: Option<&str>, joined_s_ago: u64) -> Value {
    let mut p = json!({"identity": identity, "kind": "SIP", "joined_s_ago": joined_s_ago,
                       "state": "ACTIVE", "tracks": 1});
    if let Some(status) = status {
        p["attributes"] = json!({"sip.callStatus": status, "sip.phoneNumber": identity});
    }
    p
}

/// A 15-minute-old room with these participants.
fn room(name: &str, participants: &[Value]) -> Value {
    json!({"name": name, "age_s": 900, "participants": participants})
}

fn recording(id: &str, room: &str) -> Value {
    json!({"egress_id": id, "room_name": room, "type": "room_composite",
           "status": "EGRESS_ACTIVE", "started_s_ago": 800})
}

/// Every status SPEC.md names, one room each; the two dead calls are recorded.
fn phone_rooms() -> Value {
    scenario(
        json!([
            room("hung-up", &[call("+15550101", Some("hangup"), 800)]),
            room("ringing", &[call("+15550102", Some("ringing"), 720)]),
            room("dialing", &[call("+15550103", Some("dialing"), 60)]),
            room("answered", &[call("+15550104", Some("active"), 720)]),
            room("menu", &[call("+15550105", Some("automation"), 720)]),
            room("old-sip", &[call("+15550106", None, 720)]),
        ]),
        json!([
            recording("EG_hung_up", "hung-up"),
            recording("EG_answered", "answered")
        ]),
    )
}

fn reasons(report: &Value) -> BTreeMap<String, String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["target"] == "room")
        .map(|f| {
            let room = f["room"].as_str().expect("room").to_owned();
            (room, f["reason"].as_str().expect("reason").to_owned())
        })
        .collect()
}

#[test]
fn a_call_that_hung_up_or_rings_too_long_is_swept_and_a_live_one_is_not() {
    let sim = sim(phone_rooms());
    let report = Reaper::on(&sim)
        .args(["sweep", "-o", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(
        results(&report),
        expected(&[
            ("EG_hung_up", "done"),
            ("hung-up", "done"),
            ("ringing", "done")
        ])
    );
    assert_eq!(
        reasons(&report),
        BTreeMap::from([
            (
                "hung-up".to_owned(),
                "no human present (1 sip: call hangup); room older than 5m".to_owned()
            ),
            (
                "ringing".to_owned(),
                "no human present (1 sip: ringing 12m); room older than 5m".to_owned()
            ),
        ])
    );
    assert_eq!(
        sim.room_names(),
        ["answered", "dialing", "menu", "old-sip"],
        "live calls, a young dial and a call without the attribute stay"
    );
    assert_eq!(sim.egress("EG_hung_up")["status"], "EGRESS_COMPLETE");
    assert_eq!(sim.egress("EG_answered")["status"], "EGRESS_ACTIVE");
    assert_eq!(report["warnings"], json!([]));
}

#[test]
fn the_ring_limit_comes_from_the_flag_the_file_and_the_rooms_metadata() {
    let mut rooms = phone_rooms();
    rooms["rooms"][1]["metadata"] = json!(r#"{"reaper": {"sip_ring_limit": "1h"}}"#);
    let sim = sim(rooms);
    let dry = |args: &[&str]| {
        let report = Reaper::on(&sim)
            .args(["sweep", "--dry-run", "-o", "json"])
            .args(args)
            .run()
            .ok()
            .json();
        let mut rooms: Vec<String> = reasons(&report).into_keys().collect();
        rooms.sort();
        rooms
    };
    assert_eq!(dry(&[]), ["hung-up", "ringing"]);
    assert_eq!(dry(&["--sip-ring-limit", "30m"]), ["hung-up"]);
    assert_eq!(
        dry(&["--sip-ring-limit", "30s"]),
        ["dialing", "hung-up", "ringing"]
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("reaper.toml");
    std::fs::write(
        &config,
        "sip_ring_limit = \"30s\"\nmetadata_key = \"reaper\"\n\n[[policy]]\nrooms = [\"dial*\"]\nsip_ring_limit = \"2m\"\n",
    )
    .unwrap();
    assert_eq!(
        dry(&["--config", config.to_str().unwrap()]),
        ["hung-up"],
        "30s for all, 2m for dial*, and ringing's metadata gives it 1h"
    );
}

#[test]
fn rooms_shows_why_a_call_is_not_a_human() {
    let sim = sim(phone_rooms());
    let report = Reaper::on(&sim)
        .args(["rooms", "-o", "json"])
        .run()
        .ok()
        .json();
    let rooms = report["rooms"].as_array().expect("rooms");
    let hung_up = rooms.iter().find(|r| r["name"] == "hung-up").unwrap();
    assert_eq!(
        (&hung_up["humans"], &hung_up["others"], &hung_up["reason"]),
        (
            &json!(0),
            &json!(1),
            &json!("no human present (1 sip: call hangup); room older than 5m")
        )
    );
    let answered = rooms.iter().find(|r| r["name"] == "answered").unwrap();
    assert_eq!(
        (&answered["humans"], &answered["reason"]),
        (&json!(1), &Value::Null)
    );
    Reaper::on(&sim)
        .args(["rooms"])
        .run()
        .ok()
        .stdout_has("no human present (1 sip: call hangup)")
        .stdout_has("1 sip: ringing 12m");
}

#[test]
fn an_unknown_call_status_is_human_and_warned_about_once() {
    let sim = sim(scenario(
        json!([
            room("hold-1", &[call("+15550201", Some("on-hold"), 900)]),
            room("hold-2", &[call("+15550202", Some("on-hold"), 900)]),
            room("transfer", &[call("+15550203", Some("transferring"), 900)]),
        ]),
        json!([recording("EG_hold", "hold-1")]),
    ));
    let run = Reaper::on(&sim).args(["sweep", "-o", "json"]).run().ok();
    let report = run.json();
    assert_eq!(report["findings"], json!([]), "fail safe: no action{run}");
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        warnings,
        [
            "participant '+15550201' in room 'hold-1' has sip.callStatus 'on-hold', which this version does not know: counted as human",
            "participant '+15550203' in room 'transfer' has sip.callStatus 'transferring', which this version does not know: counted as human",
        ],
        "{run}"
    );
    assert_eq!(
        run.stderr.matches("on-hold").count(),
        1,
        "one log line per unknown value{run}"
    );
    assert_eq!(sim.room_names(), ["hold-1", "hold-2", "transfer"]);
}

#[test]
fn a_call_answered_between_the_inventory_and_the_action_saves_the_room() {
    let mut ringing = scenario(
        json!([room(
            "late-answer",
            &[call("+15550301", Some("ringing"), 900)]
        )]),
        json!([recording("EG_late", "late-answer")]),
    );
    ringing["events"] = json!([{
        "after": {"method": "ListParticipants", "calls": 1},
        "join": {"room": "late-answer", "identity": "+15550301", "kind": "SIP",
                 "attributes": {"sip.callStatus": "active"}}
    }]);
    let sim = sim(ringing);
    let report = Reaper::on(&sim)
        .args(["sweep", "-o", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(
        results(&report),
        expected(&[
            ("EG_late", "skipped_recheck"),
            ("late-answer", "skipped_recheck")
        ])
    );
    assert_eq!(sim.room_names(), ["late-answer"]);
    assert_eq!(sim.egress("EG_late")["status"], "EGRESS_ACTIVE");
}

#[tokio::test]
async fn the_simulator_serves_attributes_in_protobuf_and_json_and_keeps_them() {
    let sim = sim(phone_rooms());
    lk_reaper::livekit::jwt::install();
    let client = RoomClient::with_api_key(sim.url(), KEY, SECRET);
    let listed = client.list_participants("hung-up").await.expect("list");
    assert_eq!(
        listed[0].attributes,
        [
            ("sip.callStatus".to_owned(), "hangup".to_owned()),
            ("sip.phoneNumber".to_owned(), "+15550101".to_owned()),
        ]
        .into(),
        "protobuf"
    );
    let old = client.list_participants("old-sip").await.expect("list");
    assert!(old[0].attributes.is_empty());

    let token = token(VideoGrants {
        room_admin: true,
        room: "hung-up".into(),
        ..Default::default()
    });
    let reply = sim
        .client()
        .post(format!(
            "{}/twirp/livekit.RoomService/ListParticipants",
            sim.url()
        ))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {token}"))
        .body(json!({"room": "hung-up"}).to_string())
        .send()
        .await
        .expect("POST");
    let doc: Value = reply.json().await.expect("JSON");
    assert_eq!(
        doc["participants"][0]["attributes"],
        json!({"sip.callStatus": "hangup", "sip.phoneNumber": "+15550101"}),
        "JSON: map keys as they are, never camelCased"
    );

    let state = sim.state();
    let rooms = state["rooms"].as_array().unwrap();
    let hung_up = rooms.iter().find(|r| r["name"] == "hung-up").unwrap();
    assert_eq!(
        hung_up["participants"][0]["attributes"]["sip.callStatus"],
        "hangup"
    );
    let old_sip = rooms.iter().find(|r| r["name"] == "old-sip").unwrap();
    assert!(
        old_sip["participants"][0].get("attributes").is_none(),
        "no attributes, no key"
    );
}

#[test]
fn a_snapshot_keeps_the_call_status_and_replays_into_the_same_verdicts() {
    let live = sim(phone_rooms());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    Reaper::on(&live)
        .args(["snapshot", "-f", file.to_str().unwrap()])
        .run()
        .ok();
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let rooms = snap["rooms"].as_array().unwrap();
    let status_of = |name: &str| {
        let room = rooms.iter().find(|r| r["name"] == name).unwrap();
        room["participants"][0]["attributes"].clone()
    };
    assert_eq!(status_of("hung-up"), json!({"sip.callStatus": "hangup"}));
    assert_eq!(status_of("ringing"), json!({"sip.callStatus": "ringing"}));
    assert_eq!(status_of("old-sip"), Value::Null);
    let replay = sim(snap);
    let verdicts = |sim: &SimProcess| {
        let report = Reaper::on(sim)
            .args(["sweep", "--dry-run", "-o", "json"])
            .run()
            .ok()
            .json();
        reasons(&report)
    };
    assert_eq!(verdicts(&live), verdicts(&replay));
}

/// A loopback server that answers as a newer LiveKit might: one hour-old room, recorded,
/// whose only participant is of kind `kind` (42: a kind newer than this version). Every
/// call is recorded; mutations get an empty (default) protobuf answer.
fn newer_livekit(kind: i32) -> Server {
    use livekit_protocol as proto;
    use prost::Message;
    let now_s = chrono::Utc::now().timestamp();
    let rooms = proto::ListRoomsResponse {
        rooms: vec![proto::Room {
            name: "future".into(),
            sid: "RM_future".into(),
            creation_time: now_s - 3600,
            creation_time_ms: (now_s - 3600) * 1000,
            num_participants: 1,
            ..Default::default()
        }],
    };
    let people = proto::ListParticipantsResponse {
        participants: vec![proto::ParticipantInfo {
            identity: "newcomer".into(),
            sid: "PA_newcomer".into(),
            kind,
            state: proto::participant_info::State::Active as i32,
            joined_at: now_s - 3000,
            joined_at_ms: (now_s - 3000) * 1000,
            ..Default::default()
        }],
    };
    let egress = proto::ListEgressResponse {
        items: vec![proto::EgressInfo {
            egress_id: "EG_future".into(),
            room_name: "future".into(),
            status: proto::EgressStatus::EgressActive as i32,
            started_at: (now_s - 3000) * 1_000_000_000,
            ..Default::default()
        }],
        ..Default::default()
    };
    let answers = [
        ("ListRooms", rooms.encode_to_vec()),
        ("ListParticipants", people.encode_to_vec()),
        ("ListEgress", egress.encode_to_vec()),
    ];
    Server::start(move |request, stream| {
        let body = answers
            .iter()
            .find(|(method, _)| request.method == *method)
            .map_or_else(Vec::new, |(_, body)| body.clone());
        ok_bytes(stream, &body);
    })
}

/// The paths of the calls that changed something.
fn mutations(server: &Server) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DeleteRoom" || r.method == "StopEgress")
        .map(|r| r.path)
        .collect()
}

#[test]
fn a_participant_of_a_newer_kind_is_human_and_named_in_a_warning() {
    let newer = newer_livekit(42);
    let run = Reaper::at(&newer.url)
        .args(["sweep", "-o", "json"])
        .run()
        .ok();
    let report = run.json();
    assert_eq!(
        report["findings"],
        json!([]),
        "fail safe: nothing done{run}"
    );
    assert_eq!(
        report["warnings"],
        json!([
            "participant 'newcomer' in room 'future' is of kind 42, which this version does not know: counted as human"
        ]),
        "{run}"
    );
    assert_eq!(
        run.stderr.matches("kind 42").count(),
        1,
        "one warning line{run}"
    );
    assert_eq!(mutations(&newer), Vec::<String>::new());

    // The same room with an agent (kind 4) alone: humanless, so the same server sees the
    // recording stopped and the room deleted.
    let agent = newer_livekit(4);
    let report = Reaper::at(&agent.url)
        .args(["sweep", "-o", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(
        results(&report),
        expected(&[("EG_future", "done"), ("future", "done")])
    );
    assert_eq!(
        mutations(&agent),
        [
            "/twirp/livekit.Egress/StopEgress",
            "/twirp/livekit.RoomService/DeleteRoom"
        ]
    );
}
