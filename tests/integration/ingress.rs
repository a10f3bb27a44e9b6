//! A forgotten encoder (#24): the simulator's Ingress service, `lk-reaper ingress`, and
//! rule `forgotten_ingress` in each `--ingress` mode, with its re-checks and bad input.

use livekit_api::access_token::VideoGrants;
use serde_json::{Value, json};

use crate::harness::SimProcess;
use crate::reaper::{Reaper, expected, results, sim, token};
use crate::sweep::sweep_json;

/// An hour-old room with nobody but an RTMP ingress publishing for 50 minutes, whose
/// encoder reconnects as OBS does; and `more` ingresses besides.
fn studio(more: &[Value]) -> SimProcess {
    let mut ingresses = vec![json!({
        "ingress_id": "IN_obs", "room_name": "studio", "participant_identity": "obs",
        "status": "ENDPOINT_PUBLISHING", "started_s_ago": 3000, "encoder_retries": true
    })];
    ingresses.extend_from_slice(more);
    sim(json!({
        "rooms": [{"name": "studio", "age_s": 3600}],
        "ingresses": ingresses,
    }))
}

/// The simulator's record of one ingress.
#[track_caller]
fn ingress_state(sim: &SimProcess, id: &str) -> Option<Value> {
    let state = sim.state();
    let all = state["ingresses"].as_array().cloned().unwrap_or_default();
    all.into_iter().find(|i| i["ingress_id"] == id)
}

/// The finding about `target` (an ingress id, an egress id or a room name).
#[track_caller]
fn finding<'a>(report: &'a Value, target: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ingress_id"] == target || (f["target"] == "room" && f["room"] == target))
        .unwrap_or_else(|| panic!("no finding of {target} in {report}"))
}

#[test]
fn report_is_a_finding_and_the_encoder_brings_the_deleted_room_back() {
    let sim = studio(&[]);
    let report = sweep_json(&sim, &[], 0);
    assert_eq!(
        results(&report),
        expected(&[("IN_obs", "skipped"), ("studio", "done")])
    );
    let found = finding(&report, "IN_obs");
    assert_eq!(found["rules"], json!(["forgotten_ingress"]));
    assert_eq!(
        (&found["target"], &found["action"]),
        (&json!("ingress"), &json!("disable_ingress"))
    );
    let reason = found["reason"].as_str().unwrap();
    assert!(
        reason.contains("will bring the room back") && reason.contains("--ingress disable"),
        "{reason}"
    );
    assert!(
        sim.room_names().contains(&"studio".to_owned()),
        "the encoder reconnected"
    );
    assert_eq!(
        ingress_state(&sim, "IN_obs").unwrap()["status"],
        "ENDPOINT_PUBLISHING"
    );
    assert_eq!(sim.calls("UpdateIngress") + sim.calls("DeleteIngress"), 0);
}

#[test]
fn disable_ends_the_session_first_so_the_room_stays_gone() {
    let sim = studio(&[]);
    let report = sweep_json(&sim, &["--ingress", "disable"], 0);
    assert_eq!(
        results(&report),
        expected(&[("IN_obs", "done"), ("studio", "done")])
    );
    assert!(sim.room_names().is_empty(), "{:?}", sim.room_names());
    let obs = ingress_state(&sim, "IN_obs").unwrap();
    assert_eq!(
        (&obs["enabled"], &obs["status"]),
        (&json!(false), &json!("ENDPOINT_ERROR"))
    );
    // A second run finds nothing to do: the room is gone and the ingress idle.
    let again = sweep_json(&sim, &["--ingress", "disable"], 0);
    assert_eq!(again["findings"], json!([]));
}

#[test]
fn a_url_ingress_cannot_be_disabled_so_it_is_reported_unless_the_mode_is_delete() {
    let url = json!({"ingress_id": "IN_url", "input_type": "URL_INPUT", "room_name": "studio",
                     "status": "ENDPOINT_BUFFERING", "started_s_ago": 60});
    let sim = studio(std::slice::from_ref(&url));
    let report = sweep_json(&sim, &["--ingress", "disable", "--dry-run"], 0);
    let skipped = finding(&report, "IN_url");
    assert_eq!(
        (&skipped["action"], &skipped["result"]),
        (&json!("delete_ingress"), &json!("skipped"))
    );
    assert!(
        skipped["error"].as_str().unwrap().contains("not reusable"),
        "{skipped}"
    );
    assert_eq!(finding(&report, "IN_obs")["result"], "planned");

    let sim = studio(&[url]);
    let report = sweep_json(&sim, &["--ingress", "delete"], 0);
    assert_eq!(
        results(&report),
        expected(&[("IN_obs", "done"), ("IN_url", "done"), ("studio", "done")])
    );
    assert!(ingress_state(&sim, "IN_obs").is_none() && ingress_state(&sim, "IN_url").is_none());
    assert!(sim.room_names().is_empty());
}

#[test]
fn off_and_metadata_overrides_decide_per_room() {
    let sim = studio(&[]);
    let report = sweep_json(&sim, &["--ingress", "off", "--dry-run"], 0);
    assert_eq!(results(&report), expected(&[("studio", "planned")]));

    let sim = crate::reaper::sim(json!({
        "rooms": [{"name": "studio", "age_s": 3600,
                   "metadata": r#"{"reaper": {"ingress": "disable"}}"#}],
        "ingresses": [{"ingress_id": "IN_obs", "room_name": "studio",
                       "status": "ENDPOINT_PUBLISHING"}],
    }));
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "metadata_key = \"reaper\"\n").unwrap();
    let report = sweep_json(
        &sim,
        &["--dry-run", "--config", config.path().to_str().unwrap()],
        0,
    );
    assert_eq!(finding(&report, "IN_obs")["result"], "planned");
}

#[test]
fn only_a_live_ingress_past_the_grace_of_a_room_without_a_human_offends() {
    let sim = sim(json!({
        "rooms": [{"name": "talk", "age_s": 3600, "participants": [{"identity": "alice"}]},
                  {"name": "young", "age_s": 30},
                  {"name": "studio", "age_s": 3600}],
        "ingresses": [
            {"ingress_id": "IN_talk", "room_name": "talk", "status": "ENDPOINT_PUBLISHING"},
            {"ingress_id": "IN_young", "room_name": "young", "status": "ENDPOINT_PUBLISHING"},
            {"ingress_id": "IN_idle", "room_name": "studio"},
            {"ingress_id": "IN_buf", "room_name": "studio", "status": "ENDPOINT_BUFFERING"}
        ],
    }));
    let view = Reaper::on(&sim)
        .args(["ingress", "-o", "json"])
        .run()
        .ok()
        .json();
    let verdicts: Vec<(String, String)> = view["ingresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let id = i["ingress_id"].as_str().unwrap().to_owned();
            (id, i["verdict"].as_str().unwrap().to_owned())
        })
        .collect();
    let want = [
        ("IN_buf", "offends"),
        ("IN_idle", "healthy"),
        ("IN_talk", "healthy"),
        ("IN_young", "healthy"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(verdicts, want, "{view}");
    let buf = &view["ingresses"][0];
    assert_eq!(
        (&buf["input_type"], &buf["status"], &buf["enabled"]),
        (&json!("RTMP"), &json!("ENDPOINT_BUFFERING"), &json!(true))
    );
    assert_eq!(view["ingresses_scanned"], 4);

    let rooms = Reaper::on(&sim).args(["rooms"]).run().ok();
    let talk = rooms
        .stdout
        .lines()
        .find(|l| l.starts_with("talk"))
        .unwrap();
    assert!(talk.contains("kept alive by 1 live ingress"), "{rooms}");
    let studio = rooms
        .stdout
        .lines()
        .find(|l| l.starts_with("studio"))
        .unwrap();
    assert!(studio.contains("forgotten_ingress"), "{rooms}");
    let ndjson = Reaper::on(&sim)
        .args(["ingress", "-o", "ndjson"])
        .run()
        .ok()
        .ndjson();
    assert_eq!(ndjson.len(), 5, "four ingresses, then the summary");
}

#[test]
fn the_metrics_file_and_the_notification_show_the_ingress() {
    let sim = studio(&[]);
    let stub = crate::loopback::Server::answering(200, "text/plain", "ok");
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("m.prom");
    let url = format!("{}/hook", stub.url);
    let args = [
        "--ingress",
        "disable",
        "--notify-url",
        &url,
        "--metrics-file",
    ];
    sweep_json(&sim, &[&args[..], &[metrics.to_str().unwrap()]].concat(), 0);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("lk_reaper_findings{rule=\"forgotten_ingress\"} 1"),
        "{text}"
    );
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let payload: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let line = payload["text"].as_str().unwrap();
    assert!(line.contains("disable_ingress IN_obs"), "{line}");
    let ingress = &payload["actions"][0];
    assert_eq!(
        (
            &ingress["action"],
            &ingress["ingress_id"],
            &ingress["result"]
        ),
        (&json!("disable_ingress"), &json!("IN_obs"), &json!("done"))
    );
}

#[test]
fn ingress_actions_count_against_max_actions() {
    let sim = studio(&[]);
    let report = sweep_json(&sim, &["--ingress", "disable", "--max-actions", "1"], 5);
    assert_eq!(
        results(&report),
        expected(&[("IN_obs", "planned"), ("studio", "planned")])
    );
    assert_eq!(sim.calls("UpdateIngress"), 0);
}

#[test]
fn a_human_who_joined_or_an_encoder_that_stopped_is_seen_before_acting() {
    let joined = sim(json!({
        "rooms": [{"name": "studio", "age_s": 3600}],
        "ingresses": [{"ingress_id": "IN_obs", "room_name": "studio",
                       "status": "ENDPOINT_PUBLISHING"}],
        "events": [{"after": {"method": "ListParticipants", "calls": 1},
                    "join": {"room": "studio", "identity": "alice"}}],
    }));
    let report = sweep_json(&joined, &["--ingress", "disable"], 0);
    assert_eq!(
        results(&report),
        expected(&[("IN_obs", "skipped_recheck"), ("studio", "skipped_recheck")])
    );
    assert_eq!(joined.calls("UpdateIngress"), 0);

    // The room closes (its encoder stopped) between the inventory and the action.
    let stopped = sim(json!({
        "rooms": [{"name": "studio", "age_s": 3600}],
        "ingresses": [{"ingress_id": "IN_obs", "room_name": "studio",
                       "status": "ENDPOINT_PUBLISHING"}],
        "events": [{"after": {"method": "ListParticipants", "calls": 1},
                    "delete_room": "studio"}],
    }));
    let report = sweep_json(&stopped, &["--ingress", "disable"], 0);
    let obs = finding(&report, "IN_obs");
    assert_eq!(obs["result"], "skipped_recheck", "{report}");
    assert!(
        obs["error"]
            .as_str()
            .unwrap()
            .contains("no longer publishes")
    );
    assert_eq!(stopped.calls("UpdateIngress"), 0);
}

#[test]
fn a_server_without_an_ingress_service_is_one_warning_and_rooms_are_still_swept() {
    let sim = sim(json!({"rooms": [{"name": "old", "age_s": 3600}], "ingress_service": false}));
    let run = Reaper::on(&sim).args(["sweep", "-o", "json"]).run().ok();
    let report = run.json();
    assert_eq!(results(&report), expected(&[("old", "done")]));
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{report}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("ingress was not checked: internal: twirp error unknown: ingress not connected (redis required)"),
        "{report}"
    );
}

#[test]
fn an_ingress_that_cannot_be_matched_is_warned_about_and_never_acted_on() {
    let sim = sim(json!({
        "rooms": [{"name": "studio", "age_s": 3600}],
        "ingresses": [
            {"ingress_id": "IN_roomless", "status": "ENDPOINT_PUBLISHING"},
            {"ingress_id": "IN_newer", "room_name": "studio", "status": 9},
            {"ingress_id": "IN_elsewhere", "room_name": "nowhere",
             "status": "ENDPOINT_PUBLISHING"}
        ],
    }));
    let report = sweep_json(&sim, &["--ingress", "delete"], 0);
    assert_eq!(results(&report), expected(&[("studio", "done")]));
    let warnings = report["warnings"].to_string();
    for needle in [
        "names no room",
        "'IN_roomless'",
        "a status this version does not know",
        "'IN_newer' (status 9",
        "ListRooms does not list",
        "'IN_elsewhere'",
    ] {
        assert!(warnings.contains(needle), "{needle}: {warnings}");
    }
    assert_eq!(sim.calls("DeleteIngress"), 0);
}

// ---- the simulator's Ingress service ------------------------------------------------------

/// `POST /twirp/livekit.Ingress/<method>` with a JSON body and a token of `grants`:
/// (HTTP status, the JSON reply).
async fn ingress_call(
    sim: &SimProcess,
    method: &str,
    grants: VideoGrants,
    body: Value,
) -> (u16, Value) {
    let token = token(grants);
    let response = sim
        .client()
        .post(format!("{}/twirp/livekit.Ingress/{method}", sim.url()))
        .header("Content-Type", "application/json")
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn admin() -> VideoGrants {
    VideoGrants {
        ingress_admin: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_ingress_service_answers_as_livekit_does() {
    let url = json!({"ingress_id": "IN_url", "input_type": "URL_INPUT", "room_name": "studio",
                     "status": "ENDPOINT_PUBLISHING"});
    let sim = studio(&[url]);
    let (status, list) =
        ingress_call(&sim, "ListIngress", admin(), json!({"room_name": "studio"})).await;
    assert_eq!(status, 200);
    let obs = &list["items"][0];
    // `enabled` is absent until someone sets it, as LiveKit stores it.
    assert_eq!(
        (
            &obs["ingress_id"],
            &obs["input_type"],
            &obs["reusable"],
            &obs["enabled"]
        ),
        (
            &json!("IN_obs"),
            &json!("RTMP_INPUT"),
            &json!(true),
            &Value::Null
        )
    );
    assert_eq!(obs["state"]["status"], "ENDPOINT_PUBLISHING");
    assert!(
        obs["state"]["started_at"].is_string(),
        "int64 as a string: {obs}"
    );

    let record = VideoGrants {
        room_record: true,
        ..Default::default()
    };
    let (status, denied) = ingress_call(&sim, "ListIngress", record, json!({})).await;
    assert_eq!((status, &denied["code"]), (401, &json!("unauthenticated")));

    let (status, refused) = ingress_call(
        &sim,
        "UpdateIngress",
        admin(),
        json!({"ingress_id": "IN_url", "enabled": false}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        (&refused["code"], &refused["msg"]),
        (
            &json!("invalid_argument"),
            &json!("ingress is not reusable and cannot be modified")
        )
    );

    let (status, updated) = ingress_call(
        &sim,
        "UpdateIngress",
        admin(),
        json!({"ingress_id": "IN_obs", "enabled": false}),
    )
    .await;
    assert_eq!((status, &updated["enabled"]), (200, &json!(false)));
    let participants = sim.state()["rooms"][0]["participants"].clone();
    assert!(
        participants
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["identity"] != "obs"),
        "the disabled ingress's participant left: {participants}"
    );
    assert_eq!(
        ingress_state(&sim, "IN_obs").unwrap()["status"],
        "ENDPOINT_ERROR"
    );

    let (status, deleted) = ingress_call(
        &sim,
        "DeleteIngress",
        admin(),
        json!({"ingress_id": "IN_url"}),
    )
    .await;
    assert_eq!(
        (status, &deleted["state"]["status"]),
        (200, &json!("ENDPOINT_INACTIVE"))
    );
    let (status, gone) = ingress_call(
        &sim,
        "DeleteIngress",
        admin(),
        json!({"ingress_id": "IN_url"}),
    )
    .await;
    assert_eq!((status, &gone["code"]), (404, &json!("not_found")));
    let (status, unknown) =
        ingress_call(&sim, "ListIngress", admin(), json!({"ingress_id": "IN_x"})).await;
    assert_eq!((status, &unknown["code"]), (404, &json!("not_found")));
}

/// As LiveKit v1.13.5 without Redis answers (tests/real_livekit/ingress.rs compares them):
/// ListIngress says why, the other two handlers panic.
#[tokio::test]
async fn a_server_without_redis_answers_every_ingress_call_internal() {
    let sim = sim(json!({"ingress_service": false}));
    let answers = [
        (
            "ListIngress",
            "twirp error unknown: ingress not connected (redis required)",
        ),
        ("UpdateIngress", "Internal service panic"),
        ("DeleteIngress", "Internal service panic"),
    ];
    for (method, msg) in answers {
        let (status, err) =
            ingress_call(&sim, method, admin(), json!({"ingress_id": "IN_1"})).await;
        assert_eq!(status, 500, "{method}");
        assert_eq!(
            (&err["code"], &err["msg"]),
            (&json!("internal"), &json!(msg)),
            "{method}"
        );
    }
}

#[test]
fn a_snapshot_keeps_the_ingresses_and_a_replay_judges_them_alike() {
    let live = studio(&[json!({"ingress_id": "IN_newer", "room_name": "studio", "status": 9})]);
    let snap: Value = serde_json::from_str(&Reaper::on(&live).args(["snapshot"]).run().ok().stdout)
        .expect("a scenario");
    let ids: Vec<&str> = snap["ingresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ingress_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["IN_newer", "IN_obs"]);
    assert_eq!(
        snap["ingresses"][0]["status"], 9,
        "an unknown status keeps its number"
    );
    let verdicts = |sim: &SimProcess| {
        let view = Reaper::on(sim)
            .args(["ingress", "-o", "json"])
            .run()
            .ok()
            .json();
        view["ingresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["ingress_id"].clone(), i["verdict"].clone()))
            .collect::<Vec<_>>()
    };
    let replay = sim(snap);
    assert_eq!(verdicts(&replay), verdicts(&live));
}
