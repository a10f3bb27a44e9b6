//! The simulator, driven through LiveKit's own Rust SDK (livekit-api) and plain HTTP.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use livekit_api::access_token::VideoGrants;
use livekit_api::services::egress::{EgressClient, EgressListFilter, EgressListOptions};
use livekit_api::services::room::RoomClient;
use livekit_api::services::{ServerError, ServiceError};
use livekit_protocol as proto;
use serde_json::{Value, json};

use crate::harness::{self, SimProcess};

const KEY: &str = "devkey";
const SECRET: &str = "secret";

fn basic() -> SimProcess {
    SimProcess::start(&harness::scenario("basic.json"))
}

fn rooms(sim: &SimProcess) -> RoomClient {
    lk_reaper::livekit::jwt::install();
    RoomClient::with_api_key(sim.url(), KEY, SECRET)
}

fn egress(sim: &SimProcess) -> EgressClient {
    lk_reaper::livekit::jwt::install();
    EgressClient::with_api_key(sim.url(), KEY, SECRET)
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

#[track_caller]
fn assert_near(got: i64, want: i64, slack: i64, what: &str) {
    assert!(
        (got - want).abs() <= slack,
        "{what}: got {got}, want {want} ± {slack}"
    );
}

/// The Twirp code and message of an SDK error, or a panic naming what it was instead.
#[track_caller]
fn twirp(err: ServiceError) -> (String, String) {
    match err {
        ServiceError::Twirp(ServerError::Twirp(code)) => (code.code, code.msg),
        other => panic!("expected a Twirp error, got {other:?}"),
    }
}

fn token(grants: VideoGrants) -> String {
    crate::reaper::token_for(SECRET, grants)
}

pub(crate) fn list_grant() -> VideoGrants {
    VideoGrants {
        room_list: true,
        ..Default::default()
    }
}

fn record_grant() -> VideoGrants {
    VideoGrants {
        room_record: true,
        ..Default::default()
    }
}

/// A token with hand-made claims, signed with `secret`.
pub(crate) fn raw_token(claims: &Value, secret: &str) -> String {
    lk_reaper::livekit::jwt::install();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

/// A reply as plain HTTP sees it.
pub(crate) struct Reply {
    pub(crate) status: u16,
    content_type: String,
    body: String,
}

impl Reply {
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    #[track_caller]
    pub(crate) fn assert_twirp(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.content_type, "application/json");
        let doc = self.json();
        assert_eq!(doc["code"], code, "body: {}", self.body);
        doc
    }
}

/// POSTs `body` to `path` with this content type and `Authorization` header.
async fn post(
    sim: &SimProcess,
    path: &str,
    content_type: &str,
    authorization: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut request = sim
        .client()
        .post(format!("{}{path}", sim.url()))
        .header("Content-Type", content_type)
        .body(body);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.expect("POST");
    Reply {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().expect("ASCII content type").to_owned())
            .unwrap_or_default(),
        body: response.text().await.expect("body"),
    }
}

/// A JSON call with a token carrying `grants`.
pub(crate) async fn call_json(
    sim: &SimProcess,
    method: &str,
    grants: VideoGrants,
    body: &Value,
) -> Reply {
    call_json_with(sim, method, &token(grants), body).await
}

/// A JSON call with this signed token.
pub(crate) async fn call_json_with(
    sim: &SimProcess,
    method: &str,
    token: &str,
    body: &Value,
) -> Reply {
    let service = if method.contains("Egress") {
        "livekit.Egress"
    } else {
        "livekit.RoomService"
    };
    let bearer = format!("Bearer {token}");
    let path = format!("/twirp/{service}/{method}");
    post(
        sim,
        &path,
        "application/json",
        Some(&bearer),
        body.to_string(),
    )
    .await
}

const LIST_ROOMS: &str = "/twirp/livekit.RoomService/ListRooms";

// ---- the SDK's view --------------------------------------------------------------------

#[tokio::test]
async fn sdk_lists_rooms_with_livekit_counts_and_time_units() {
    let sim = basic();
    let listed = rooms(&sim).list_rooms(vec![]).await.expect("list rooms");
    let names: Vec<&str> = listed.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "camera-feed",
            "just-created",
            "left-running",
            "phone-support",
            "standup",
        ],
        "by name, as the server lists them"
    );
    let standup = &listed[4];
    assert_eq!(standup.num_participants, 1, "agents do not count");
    assert_eq!(standup.num_publishers, 2, "agents publish");
    assert_near(
        standup.creation_time,
        now_s() - 1800,
        5,
        "creation_time (s)",
    );
    assert_near(
        standup.creation_time_ms / 1000,
        standup.creation_time,
        1,
        "creation_time_ms",
    );
    assert!(standup.sid.starts_with("RM_"));
    assert_eq!(listed[2].num_participants, 0, "agent + recorder only");
    assert!(listed[2].active_recording);
    assert_eq!(listed[2].metadata, r#"{"team": "sales"}"#);
    assert_eq!(listed[0].num_participants, 1, "a bridge keeps a room open");
    let some = rooms(&sim)
        .list_rooms(vec!["camera-feed".into(), "no-such-room".into()])
        .await
        .expect("list by name");
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].name, "camera-feed");
}

#[tokio::test]
async fn sdk_lists_participants_and_an_unknown_room_is_empty_not_an_error() {
    let sim = basic();
    let client = rooms(&sim);
    let people = client
        .list_participants("standup")
        .await
        .expect("participants");
    assert_eq!(people.len(), 2);
    let alice = &people[0];
    assert_eq!(alice.identity, "alice");
    assert_eq!(alice.kind, proto::participant_info::Kind::Standard as i32);
    assert_eq!(alice.state, proto::participant_info::State::Active as i32);
    assert_near(alice.joined_at, now_s() - 1700, 5, "joined_at (s)");
    assert_near(
        alice.joined_at_ms / 1000,
        alice.joined_at,
        1,
        "joined_at_ms",
    );
    assert_eq!(alice.tracks.len(), 2);
    assert!(alice.sid.starts_with("PA_"));
    assert_eq!(people[1].kind, proto::participant_info::Kind::Agent as i32);
    let recorder = &client.list_participants("left-running").await.unwrap()[1];
    assert_eq!(recorder.kind, proto::participant_info::Kind::Egress as i32);
    assert!(recorder.permission.as_ref().is_some_and(|p| p.hidden));
    let camera = &client.list_participants("camera-feed").await.unwrap()[0];
    assert_eq!(
        camera.kind_details,
        [proto::participant_info::KindDetail::BridgeRtsp as i32]
    );
    assert!(client.list_participants("nope").await.unwrap().is_empty());
}

#[tokio::test]
async fn sdk_get_remove_and_update_metadata() {
    let sim = basic();
    let client = rooms(&sim);
    let alice = client.get_participant("standup", "alice").await.unwrap();
    assert_eq!(alice.identity, "alice");
    let (code, msg) = twirp(client.get_participant("standup", "bob").await.unwrap_err());
    assert_eq!(code, "not_found");
    assert!(msg.ends_with("participant does not exist"), "{msg}");
    client.remove_participant("standup", "alice").await.unwrap();
    let left = client.list_participants("standup").await.unwrap();
    assert_eq!(left.len(), 1);
    let (code, _) = twirp(
        client
            .remove_participant("standup", "alice")
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "not_found");
    let room = client
        .update_room_metadata("standup", r#"{"reaper": {"exempt": true}}"#)
        .await
        .unwrap();
    assert_eq!(room.metadata, r#"{"reaper": {"exempt": true}}"#);
    assert_eq!(room.num_participants, 0, "alice left");
    let (code, _) = twirp(client.update_room_metadata("nope", "x").await.unwrap_err());
    assert_eq!(code, "not_found");
    assert_eq!(
        sim.state()["rooms"][4]["metadata"],
        r#"{"reaper": {"exempt": true}}"#
    );
}

#[tokio::test]
async fn sdk_delete_room_ends_its_egress_and_a_second_delete_is_not_found() {
    let sim = basic();
    rooms(&sim)
        .delete_room("left-running")
        .await
        .expect("delete");
    assert!(!sim.room_names().contains(&"left-running".to_owned()));
    assert_eq!(sim.egress("EG_rec1")["status"], "EGRESS_COMPLETE");
    assert_eq!(
        sim.egress("EG_web1")["status"],
        "EGRESS_ACTIVE",
        "web egress has no room"
    );
    assert_eq!(sim.egress("EG_standup")["status"], "EGRESS_ACTIVE");
    let (code, msg) = twirp(rooms(&sim).delete_room("left-running").await.unwrap_err());
    assert_eq!(code, "not_found");
    assert_eq!(msg, "twirp error unknown: requested room does not exist");
    let ended = egress(&sim)
        .list_egress(EgressListOptions {
            filter: EgressListFilter::Egress("EG_rec1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let ended_s = ended[0].ended_at / 1_000_000_000;
    assert_near(ended_s, now_s(), 5, "ended_at (ns)");
    assert_eq!(ended[0].updated_at, ended[0].ended_at);
    assert_eq!(sim.calls("DeleteRoom"), 2);
}

#[tokio::test]
async fn sdk_lists_egress_with_filters_in_nanoseconds() {
    let sim = basic();
    let client = egress(&sim);
    let all = client
        .list_egress(EgressListOptions::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    let ids: Vec<&str> = all.iter().map(|e| e.egress_id.as_str()).collect();
    assert_eq!(
        ids,
        ["EG_orphan", "EG_rec1", "EG_standup", "EG_web1"],
        "by id"
    );
    let rec = &all[1];
    assert_eq!(rec.status, proto::EgressStatus::EgressActive as i32);
    assert_near(
        rec.started_at / 1_000_000_000,
        now_s() - 29000,
        5,
        "started_at (ns)",
    );
    assert_eq!(rec.room_name, "left-running");
    assert!(matches!(
        rec.request,
        Some(proto::egress_info::Request::RoomComposite(_))
    ));
    let by_room = client
        .list_egress(EgressListOptions {
            filter: EgressListFilter::Room("standup".into()),
            active: true,
            page_token: None,
        })
        .await
        .unwrap();
    assert_eq!(by_room.len(), 1);
    assert_eq!(by_room[0].egress_id, "EG_standup");
    let (code, msg) = twirp(
        client
            .list_egress(EgressListOptions {
                filter: EgressListFilter::Egress("EG_nope".into()),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "not_found");
    assert!(msg.ends_with("egress does not exist"), "{msg}");
}

#[tokio::test]
async fn sdk_stop_egress_follows_livekit_transitions() {
    let mut scenario = harness::scenario("basic.json");
    scenario["egresses"]
        .as_array_mut()
        .unwrap()
        .push(json!({"egress_id": "EG_starting", "type": "web", "status": "EGRESS_STARTING"}));
    let sim = SimProcess::start(&scenario);
    let client = egress(&sim);
    let stopped = client.stop_egress("EG_orphan").await.expect("stop active");
    assert_eq!(stopped.status, proto::EgressStatus::EgressEnding as i32);
    assert_eq!(sim.egress("EG_orphan")["status"], "EGRESS_COMPLETE");
    let aborted = client
        .stop_egress("EG_starting")
        .await
        .expect("stop starting");
    assert_eq!(aborted.status, proto::EgressStatus::EgressAborted as i32);
    // No worker answers for an ended or unknown egress: both wait, so run them together.
    let started = Instant::now();
    let (again, unknown) =
        tokio::join!(client.stop_egress("EG_orphan"), client.stop_egress("EG_x"));
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    let (code, msg) = twirp(again.unwrap_err());
    assert_eq!(code, "failed_precondition");
    assert_eq!(msg, "egress with status EGRESS_COMPLETE cannot be stopped");
    assert_eq!(twirp(unknown.unwrap_err()).0, "not_found");
}

#[tokio::test]
async fn zombie_egress_times_out_and_keeps_its_status() {
    let scenario = json!({"egresses": [
        {"egress_id": "EG_z", "room_name": "gone", "type": "track", "started_s_ago": 600, "zombie": true}]});
    let sim = SimProcess::start(&scenario);
    let started = Instant::now();
    let reply = call_json(
        &sim,
        "StopEgress",
        record_grant(),
        &json!({"egress_id": "EG_z"}),
    )
    .await;
    let took = started.elapsed();
    let doc = reply.assert_twirp(408, "deadline_exceeded");
    assert_eq!(doc["msg"], "twirp error unknown: request timed out");
    assert!(
        took >= Duration::from_millis(2500),
        "answered after {took:?}"
    );
    assert_eq!(sim.egress("EG_z")["status"], "EGRESS_ACTIVE");
}

// ---- plain JSON --------------------------------------------------------------------------

#[tokio::test]
async fn json_replies_use_proto_names_defaults_int64_strings_and_enum_names() {
    let sim = basic();
    let reply = call_json(&sim, "ListRooms", list_grant(), &json!({})).await;
    assert_eq!(
        (reply.status, reply.content_type.as_str()),
        (200, "application/json")
    );
    let doc = reply.json();
    let standup = &doc["rooms"][4];
    assert_eq!(standup["name"], "standup");
    assert_eq!(
        standup["enabled_codecs"][2],
        json!({"mime": "audio/opus", "fmtp_line": ""})
    );
    assert!(
        standup["creation_time"].is_string(),
        "int64 as string: {standup}"
    );
    assert!(standup["creation_time_ms"].is_string());
    assert_eq!(standup["num_participants"], 1);
    assert_eq!(standup["metadata"], "", "defaults are emitted");
    assert_eq!(standup["active_recording"], false);
    assert_eq!(standup["max_participants"], 0);
    assert!(
        standup.get("creationTime").is_none(),
        "no camelCase: {standup}"
    );

    let reply = call_json(
        &sim,
        "ListEgress",
        record_grant(),
        &json!({"roomName": "left-running", "someFutureField": 1}),
    )
    .await;
    let doc = reply.json();
    let items = doc["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "camelCase request field honoured: {doc}");
    assert_eq!(items[0]["status"], "EGRESS_ACTIVE");
    assert!(
        items[0]["started_at"]
            .as_str()
            .is_some_and(|s| s.len() >= 19),
        "ns: {}",
        items[0]
    );
    assert_eq!(items[0]["ended_at"], "0");
    assert_eq!(items[0]["error"], "");
    assert_eq!(doc["next_page_token"], Value::Null);

    let admin = VideoGrants {
        room_admin: true,
        room: "standup".into(),
        ..Default::default()
    };
    let reply = call_json(&sim, "ListParticipants", admin, &json!({"room": "standup"})).await;
    let agent = &reply.json()["participants"][1];
    assert_eq!(agent["kind"], "AGENT");
    assert_eq!(agent["state"], "ACTIVE");
    assert_eq!(agent["kind_details"], json!([]));
    assert!(agent["joined_at_ms"].is_string());
}

#[tokio::test]
async fn content_type_is_matched_without_case_or_params_and_the_reply_follows_it() {
    let sim = basic();
    let bearer = format!("Bearer {}", token(list_grant()));
    let reply = post(
        &sim,
        LIST_ROOMS,
        "Application/JSON; charset=utf-8",
        Some(&bearer),
        "{}",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    let reply = sim
        .client()
        .post(format!("{}{LIST_ROOMS}", sim.url()))
        .header("Content-Type", "application/protobuf")
        .header("Authorization", &bearer)
        .body(prost::Message::encode_to_vec(&proto::ListRoomsRequest {
            names: vec!["standup".into()],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.headers()["content-type"], "application/protobuf");
    let decoded: proto::ListRoomsResponse =
        prost::Message::decode(reply.bytes().await.unwrap()).expect("protobuf reply");
    assert_eq!(decoded.rooms.len(), 1);
}

#[tokio::test]
async fn bad_routes_verbs_content_types_and_bodies() {
    let sim = basic();
    let bearer = format!("Bearer {}", token(list_grant()));
    let create = "/twirp/livekit.RoomService/CreateRoom";
    let reply = post(&sim, create, "application/json", Some(&bearer), "{}").await;
    let doc = reply.assert_twirp(404, "bad_route");
    assert_eq!(doc["meta"]["twirp_invalid_route"], format!("POST {create}"));
    let reply = post(&sim, "/nowhere", "application/json", None, "{}").await;
    reply.assert_twirp(404, "bad_route");
    let reply = post(&sim, LIST_ROOMS, "text/plain", Some(&bearer), "{}").await;
    let doc = reply.assert_twirp(404, "bad_route");
    assert_eq!(doc["msg"], r#"unexpected Content-Type: "text/plain""#);
    let get = sim
        .client()
        .get(format!("{}{LIST_ROOMS}", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 404);
    let doc: Value = get.json().await.unwrap();
    assert_eq!(doc["code"], "bad_route");
    assert!(doc["msg"].as_str().unwrap().contains("only POST"));
    let reply = post(
        &sim,
        LIST_ROOMS,
        "application/json",
        Some(&bearer),
        "{not json",
    )
    .await;
    reply.assert_twirp(400, "malformed");
    let huge = vec![b' '; 10 * 1024 * 1024 + 1];
    let reply = post(&sim, LIST_ROOMS, "application/json", Some(&bearer), huge).await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.content_type.starts_with("text/plain"),
        "{}",
        reply.content_type
    );
}

// ---- authentication ------------------------------------------------------------------------

#[tokio::test]
async fn auth_middleware_failures_are_plain_text_401s() {
    let sim = basic();
    let now = now_s();
    let claims = |iss: &str, exp: Option<i64>, nbf: i64| {
        let mut c = json!({"iss": iss, "nbf": nbf, "video": {"roomList": true}});
        if let Some(exp) = exp {
            c["exp"] = exp.into();
        }
        c
    };
    let bearer = |claims: &Value, secret: &str| format!("Bearer {}", raw_token(claims, secret));
    let cases = [
        (
            "Basic ZGV2a2V5OnNlY3JldA==".to_owned(),
            "invalid authorization header. Must start with Bearer ",
        ),
        ("Bearer not.a.jwt".to_owned(), "invalid authorization token"),
        (
            bearer(&claims(KEY, Some(now + 600), now), "not-the-secret"),
            "error: token signature is invalid: signature is invalid",
        ),
        (
            bearer(&claims(KEY, Some(now - 120), now - 600), SECRET),
            "error: token has invalid claims: token is expired",
        ),
        (
            bearer(&claims(KEY, Some(now + 600), now + 300), SECRET),
            "error: token has invalid claims: token is not valid yet",
        ),
        (
            bearer(&claims(KEY, None, now), SECRET),
            "error: token has invalid claims: token is missing required claim: exp",
        ),
        (
            bearer(&claims("APIother", Some(now + 600), now), SECRET),
            "invalid API key: APIother",
        ),
    ];
    for (header, message) in cases {
        let reply = post(&sim, LIST_ROOMS, "application/json", Some(&header), "{}").await;
        assert_eq!(reply.status, 401, "{header}: {}", reply.body);
        assert_eq!(reply.content_type, "text/plain; charset=utf-8", "{header}");
        let token = header.strip_prefix("Bearer ").unwrap_or_default();
        let expected = if message.starts_with("error: ") {
            format!("invalid token: {token}, {message}")
        } else {
            message.to_owned()
        };
        assert!(
            reply.body.starts_with(&expected),
            "{header}: {:?}",
            reply.body
        );
    }
    // Within the one-minute leeway a just-expired or not-quite-valid token passes.
    let lenient = raw_token(&claims(KEY, Some(now - 30), now + 30), SECRET);
    let reply = post(
        &sim,
        LIST_ROOMS,
        "application/json",
        Some(&format!("Bearer {lenient}")),
        "{}",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn missing_token_or_grant_is_json_unauthenticated() {
    let sim = basic();
    let reply = post(&sim, LIST_ROOMS, "application/json", None, "{}").await;
    let doc = reply.assert_twirp(401, "unauthenticated");
    assert_eq!(doc["msg"], "permissions denied");
    let reply = call_json(
        &sim,
        "DeleteRoom",
        list_grant(),
        &json!({"room": "standup"}),
    )
    .await;
    reply.assert_twirp(401, "unauthenticated");
    let other_room = VideoGrants {
        room_admin: true,
        room: "camera-feed".into(),
        ..Default::default()
    };
    let reply = call_json(
        &sim,
        "ListParticipants",
        other_room,
        &json!({"room": "standup"}),
    )
    .await;
    reply.assert_twirp(401, "unauthenticated");
    let reply = call_json(
        &sim,
        "StopEgress",
        list_grant(),
        &json!({"egress_id": "EG_rec1"}),
    )
    .await;
    reply.assert_twirp(401, "unauthenticated");
    assert!(sim.room_names().contains(&"standup".to_owned()));
    assert_eq!(sim.egress("EG_rec1")["status"], "EGRESS_ACTIVE");
}

#[tokio::test]
async fn sdk_with_a_wrong_secret_gets_a_non_twirp_error() {
    let sim = basic();
    lk_reaper::livekit::jwt::install();
    let client = RoomClient::with_api_key(sim.url(), KEY, "wrong-secret");
    let err = client.list_rooms(vec![]).await.unwrap_err();
    // The plain-text 401 is not Twirp JSON, so the SDK reports a decode failure.
    assert!(
        matches!(err, ServiceError::Twirp(ServerError::Request(_))),
        "{err:?}"
    );
}

// ---- scenario features -------------------------------------------------------------------

#[tokio::test]
async fn pagination_follows_next_page_token_and_the_sdk_sees_page_one() {
    let egresses: Vec<Value> = (0..5)
        .map(|i| json!({"egress_id": format!("EG_{i}"), "type": "web"}))
        .collect();
    let sim = SimProcess::start(&json!({"egress_page_size": 2, "egresses": egresses}));
    let mut seen = Vec::new();
    let mut body = json!({"active": true});
    for _ in 0..5 {
        let doc = call_json(&sim, "ListEgress", record_grant(), &body)
            .await
            .json();
        for item in doc["items"].as_array().unwrap() {
            seen.push(item["egress_id"].as_str().unwrap().to_owned());
        }
        match doc["next_page_token"]["token"].as_str() {
            Some(token) => body["page_token"] = json!({"token": token}),
            None => break,
        }
    }
    assert_eq!(seen, ["EG_0", "EG_1", "EG_2", "EG_3", "EG_4"]);
    let first = egress(&sim)
        .list_egress(EgressListOptions::default())
        .await
        .unwrap();
    assert_eq!(first.len(), 2, "livekit-api drops next_page_token");
}

#[tokio::test]
async fn faults_answer_errors_delays_and_garbage_then_clear() {
    let mut scenario = harness::scenario("basic.json");
    scenario["faults"] = json!([
        {"method": "ListParticipants", "status": 503, "code": "unavailable",
         "msg": "no response from servers", "times": 2},
        {"method": "DeleteRoom", "delay_ms": 400, "times": 1},
        {"method": "ListRooms", "garbage": true, "times": 1}
    ]);
    let sim = SimProcess::start(&scenario);
    let client = rooms(&sim);
    for _ in 0..2 {
        let (code, msg) = twirp(client.list_participants("standup").await.unwrap_err());
        assert_eq!(
            (code.as_str(), msg.as_str()),
            ("unavailable", "no response from servers")
        );
    }
    assert_eq!(client.list_participants("standup").await.unwrap().len(), 2);
    let started = Instant::now();
    client
        .delete_room("camera-feed")
        .await
        .expect("delayed, then done");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(
        sim.state()["faults"].as_array().unwrap().len(),
        1,
        "garbage still due"
    );
    let err = client.list_rooms(vec![]).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Twirp(ServerError::Prost(_))),
        "{err:?}"
    );
    assert_eq!(client.list_rooms(vec![]).await.unwrap().len(), 4);
    assert!(sim.state().get("faults").is_none(), "all faults used");
}

#[tokio::test]
async fn garbage_is_neither_json_nor_protobuf() {
    let sim = SimProcess::start(&json!({"faults": [{"method": "ListRooms", "garbage": true}]}));
    let reply = call_json(&sim, "ListRooms", list_grant(), &json!({})).await;
    assert_eq!(reply.status, 200);
    assert!(
        serde_json::from_str::<Value>(&reply.body).is_err(),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn latency_delays_calls_without_serializing_them() {
    let sim = SimProcess::start_with(
        &harness::scenario("basic.json"),
        &["--latency", "300ms"],
        None,
    );
    let started = Instant::now();
    let calls = (0..10).map(|_| async {
        let begun = Instant::now();
        let reply = call_json(&sim, "ListRooms", list_grant(), &json!({})).await;
        assert_eq!(reply.status, 200);
        begun.elapsed()
    });
    let each = futures::future::join_all(calls).await;
    let total = started.elapsed();
    assert!(
        each.iter().all(|d| *d >= Duration::from_millis(300)),
        "{each:?}"
    );
    assert!(
        total < Duration::from_millis(1500),
        "10 concurrent calls took {total:?}"
    );
    assert_eq!(sim.state()["latency_ms"], 300);
}

#[tokio::test]
async fn events_let_a_human_join_and_a_room_vanish_between_calls() {
    let mut scenario = harness::scenario("basic.json");
    scenario["events"] = json!([
        {"after": {"method": "ListParticipants", "calls": 1},
         "join": {"room": "left-running", "identity": "late-human", "kind": "STANDARD"}},
        {"after": {"method": "ListRooms", "calls": 1}, "delete_room": "standup"}
    ]);
    let sim = SimProcess::start(&scenario);
    let client = rooms(&sim);
    assert_eq!(
        client
            .list_participants("left-running")
            .await
            .unwrap()
            .len(),
        2
    );
    let now = client.list_participants("left-running").await.unwrap();
    assert_eq!(now.len(), 3);
    assert_eq!(now[2].identity, "late-human");
    assert_eq!(client.list_rooms(vec![]).await.unwrap().len(), 5);
    let after = client.list_rooms(vec![]).await.unwrap();
    assert!(after.iter().all(|r| r.name != "standup"), "standup closed");
    assert_eq!(sim.egress("EG_standup")["status"], "EGRESS_COMPLETE");
    assert!(sim.state().get("events").is_none(), "both fired");
}

#[test]
fn state_and_stats_show_what_changed() {
    let sim = basic();
    let state = sim.state();
    assert_eq!(state["key"], KEY);
    assert_eq!(state["rooms"].as_array().unwrap().len(), 5);
    assert!(state["rooms"][0]["age_s"].as_u64().unwrap() >= 1800);
    let counts = sim.stats();
    assert_eq!(
        counts.as_object().unwrap().len(),
        12,
        "one count per method"
    );
    assert!(
        counts.as_object().unwrap().values().all(|v| v == 0),
        "{counts}"
    );
    // The state replays: a simulator started from it serves the same rooms.
    let replay = SimProcess::start(&state);
    assert_eq!(replay.room_names(), sim.room_names());
}

// ---- the command line ----------------------------------------------------------------------

#[track_caller]
fn refused(scenario_text: &str, place: &str, reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, scenario_text).unwrap();
    let out = harness::run(&[
        "simulate",
        "--scenario",
        file.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "no URL printed");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    for part in [file.to_str().unwrap(), place, reason] {
        assert!(stderr.contains(part), "{part:?} missing from {stderr:?}");
    }
}

#[test]
fn bad_scenarios_are_refused_with_file_place_and_reason() {
    refused(
        r#"{"rooms": [{"name": "r", "participants": [{"identity": "x", "kind": "ROBOT"}]}]}"#,
        "rooms[0].participants[0].kind",
        "unknown variant `ROBOT`",
    );
    refused(
        "{\"rooms\": [\n  {\"name\": }\n]}",
        "line 2",
        "expected value",
    );
    refused(
        r#"{"rooms": [{"name": "r", "age_s": -1}]}"#,
        "rooms[0].age_s",
        ">= 0",
    );
    refused(
        r#"{"rooms": [{"name": "r"}, {"name": "r"}]}"#,
        "rooms[1].name",
        "duplicate room name",
    );
    refused(
        r#"{"egresses": [{"egress_id": "E", "type": "web", "status": "RUNNING"}]}"#,
        "egresses[0].status",
        "unknown variant",
    );
    let out = harness::run(&["simulate", "--scenario", "/nonexistent/x.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.json"));
}

#[test]
fn listen_must_be_loopback() {
    let out = harness::run(&["simulate", "--generate", "1", "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn print_scenario_prints_the_loaded_scenario_with_defaults() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/scenarios/basic.json"
    );
    let out = harness::run(&["simulate", "--scenario", path, "--print-scenario"]);
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let file = harness::scenario("basic.json");
    let names = |doc: &Value| -> Vec<Value> {
        doc["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].clone())
            .collect()
    };
    assert_eq!(names(&printed), names(&file));
    assert_eq!(printed["egresses"], file["egresses"]);
    assert_eq!(
        printed["rooms"][3]["empty_timeout"], 300,
        "defaults written out"
    );
}

#[test]
fn generate_is_deterministic_per_seed() {
    let print = |seed: &str| {
        harness::run(&[
            "simulate",
            "--generate",
            "300",
            "--seed",
            seed,
            "--print-scenario",
        ])
        .stdout
    };
    let one = print("3");
    assert_eq!(one, print("3"));
    assert_ne!(one, print("4"));
    let fleet: Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(fleet["rooms"].as_array().unwrap().len(), 300);
}

#[tokio::test]
async fn ten_thousand_rooms_serve_fast_in_little_memory() {
    let sim = SimProcess::generate(10_000, 1);
    let started = Instant::now();
    let listed = rooms(&sim).list_rooms(vec![]).await.unwrap();
    assert_eq!(listed.len(), 10_000);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let all = egress(&sim)
        .list_egress(EgressListOptions::default())
        .await
        .unwrap();
    assert!(all.len() > 1000, "{}", all.len());
    let status = std::fs::read_to_string(format!("/proc/{}/status", sim.pid())).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    assert!(rss_kib < 100 * 1024, "resident memory {rss_kib} KiB");
}

#[test]
fn sigterm_and_sigint_stop_it_cleanly() {
    for signal in ["TERM", "INT"] {
        let mut sim = basic();
        let status = sim.signal(signal);
        assert_eq!(
            status.code(),
            Some(0),
            "SIG{signal}; stderr: {}",
            sim.stderr()
        );
    }
}

#[tokio::test]
async fn serves_tls_with_a_private_ca() {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("leaf.pem"), dir.path().join("leaf.key"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    let args = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let sim = SimProcess::start_with(&harness::scenario("basic.json"), &args, Some(&ca.pem()));
    assert!(sim.url().starts_with("https://127.0.0.1:"), "{}", sim.url());
    let reply = call_json(&sim, "ListRooms", list_grant(), &json!({})).await;
    assert_eq!(reply.json()["rooms"].as_array().unwrap().len(), 5);
    assert_eq!(sim.state()["rooms"].as_array().unwrap().len(), 5);
    let untrusting = harness::client(None);
    let err = untrusting
        .get(format!("{}/_sim/stats", sim.url()))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
}
