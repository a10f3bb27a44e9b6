//! Published tracks one by one (`track_list`) and MutePublishedTrack (issue #22), against
//! the simulator.

use livekit_api::access_token::VideoGrants;
use livekit_protocol as proto;
use serde_json::{Value, json};

use crate::active::{recorded, state_in, sweep, twice_silent};
use crate::harness::SimProcess;
use crate::reaper::{Reaper, results, sim, token};
use crate::sim::{Reply, call_json_with, list_grant};

const MUTE: &str = "/twirp/livekit.RoomService/MutePublishedTrack";

/// alice in a room of her own, publishing `tracks` (the per-track form).
fn alice(tracks: &Value) -> Value {
    json!([{"identity": "alice", "kind": "STANDARD", "joined_s_ago": 300, "state": "ACTIVE",
            "track_list": tracks}])
}

/// A JSON call signed with the reaper tests' secret (the one `recorded` serves).
async fn call(sim: &SimProcess, method: &str, grants: VideoGrants, body: &Value) -> Reply {
    call_json_with(sim, method, &token(grants), body).await
}

fn admin(room: &str) -> VideoGrants {
    VideoGrants {
        room_admin: true,
        room: room.into(),
        ..Default::default()
    }
}

/// alice's tracks as ListParticipants (JSON) shows them.
async fn listed_tracks(sim: &SimProcess) -> Vec<Value> {
    let reply = call(sim, "ListParticipants", admin("r"), &json!({"room": "r"})).await;
    assert_eq!(reply.status, 200);
    reply.json()["participants"][0]["tracks"]
        .as_array()
        .unwrap()
        .clone()
}

fn mute_request(track_sid: &str) -> Value {
    json!({"room": "r", "identity": "alice", "track_sid": track_sid, "muted": true})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_screen_share_with_the_microphone_muted_is_served_and_not_silent() {
    let sim = recorded(
        &alice(&json!([
            {"type": "AUDIO", "source": "MICROPHONE", "muted": true},
            {"sid": "TR_screen", "type": "VIDEO", "source": "SCREEN_SHARE"}
        ])),
        &json!([]),
    );
    let tracks = listed_tracks(&sim).await;
    assert_eq!(tracks.len(), 2);
    let (mic, screen) = (&tracks[0], &tracks[1]);
    assert_eq!(
        (&mic["type"], &mic["source"], &mic["muted"]),
        (&json!("AUDIO"), &json!("MICROPHONE"), &json!(true))
    );
    assert!(mic["sid"].as_str().unwrap().starts_with("TR_"), "{mic}");
    assert_eq!(
        (&screen["sid"], &screen["type"], &screen["source"]),
        (&json!("TR_screen"), &json!("VIDEO"), &json!("SCREEN_SHARE"))
    );
    assert_eq!(screen["muted"], false, "protojson writes the default too");
    // `/_sim/state` (what `simulate` saves) keeps the list, sids and all.
    let kept = &sim.state()["rooms"][0]["participants"][0];
    assert_eq!(kept["track_list"][1]["sid"], "TR_screen", "{kept}");
    assert!(kept.get("tracks").is_none_or(|n| n == 0), "{kept}");
    let dir = tempfile::tempdir().unwrap();
    let report = tokio::task::block_in_place(|| twice_silent(&sim, &state_in(&dir), &[]));
    assert_eq!(report["findings"], json!([]), "a shared screen is activity");
}

#[tokio::test(flavor = "multi_thread")]
async fn mute_published_track_over_json_and_protobuf_makes_the_room_silent() {
    let sim = recorded(
        &alice(&json!([
            {"sid": "TR_mic", "type": "AUDIO", "source": "MICROPHONE"},
            {"sid": "TR_cam", "type": "VIDEO", "source": "CAMERA"}
        ])),
        &json!([]),
    );
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(&dir);
    let before = tokio::task::block_in_place(|| sweep(&sim, &state, &["--silent-after", "1s"], 0));
    assert_eq!(before["findings"], json!([]), "alice talks");

    let reply = call(
        &sim,
        "MutePublishedTrack",
        admin("r"),
        &mute_request("TR_mic"),
    )
    .await;
    assert_eq!(reply.status, 200);
    let track = &reply.json()["track"];
    assert_eq!(
        (&track["sid"], &track["source"], &track["muted"]),
        (&json!("TR_mic"), &json!("MICROPHONE"), &json!(true))
    );

    let request = proto::MuteRoomTrackRequest {
        room: "r".into(),
        identity: "alice".into(),
        track_sid: "TR_cam".into(),
        muted: true,
    };
    let reply = sim
        .client()
        .post(format!("{}{MUTE}", sim.url()))
        .header("Content-Type", "application/protobuf")
        .header("Authorization", format!("Bearer {}", token(admin("r"))))
        .body(prost::Message::encode_to_vec(&request))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let decoded: proto::MuteRoomTrackResponse =
        prost::Message::decode(reply.bytes().await.unwrap()).expect("protobuf reply");
    let track = decoded.track.expect("the track");
    assert_eq!((track.sid.as_str(), track.muted), ("TR_cam", true));
    assert_eq!(track.r#type, proto::TrackType::Video as i32);

    let tracks = listed_tracks(&sim).await;
    let muted: Vec<&Value> = tracks.iter().map(|t| &t["muted"]).collect();
    assert_eq!(muted, [true, true], "ListParticipants shows both muted");
    let report = tokio::task::block_in_place(|| twice_silent(&sim, &state, &[]));
    assert_eq!(
        results(&report),
        [("EG_rec".to_owned(), "done".to_owned())].into()
    );
    assert_eq!(report["findings"][0]["rules"], json!(["silent"]));
}

#[tokio::test]
async fn mute_published_track_needs_room_admin_and_mutes_only_what_exists() {
    let sim = recorded(
        &alice(&json!([{"sid": "TR_mic", "type": "AUDIO", "source": "MICROPHONE"}])),
        &json!([]),
    );
    for grant in [admin("elsewhere"), list_grant()] {
        let reply = call(&sim, "MutePublishedTrack", grant, &mute_request("TR_mic")).await;
        let doc = reply.assert_twirp(401, "unauthenticated");
        assert_eq!(doc["msg"], "permissions denied");
    }
    let reply = call(
        &sim,
        "MutePublishedTrack",
        admin("r"),
        &mute_request("TR_nope"),
    )
    .await;
    // LiveKit's room manager answers an unknown track with no track, not an error.
    assert_eq!(reply.status, 200);
    assert!(reply.json()["track"].is_null(), "{}", reply.json());
    // Remote unmute is off in LiveKit's default configuration.
    let mut unmute = mute_request("TR_mic");
    unmute["muted"] = json!(false);
    let reply = call(&sim, "MutePublishedTrack", admin("r"), &unmute).await;
    reply.assert_twirp(412, "failed_precondition");
    let mut unknown = mute_request("TR_mic");
    unknown["identity"] = json!("bob");
    let reply = call(&sim, "MutePublishedTrack", admin("r"), &unknown).await;
    reply.assert_twirp(404, "not_found");
    assert_eq!(
        listed_tracks(&sim).await[0]["muted"],
        false,
        "nothing muted"
    );
    assert_eq!(sim.calls("MutePublishedTrack"), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_keeps_the_tracks_one_by_one_and_a_replay_serves_them() {
    let live = recorded(
        &alice(&json!([
            {"type": "AUDIO", "source": "MICROPHONE", "muted": true},
            {"sid": "TR_screen", "type": "VIDEO", "source": "SCREEN_SHARE"}
        ])),
        &json!([]),
    );
    let snap =
        tokio::task::block_in_place(|| Reaper::on(&live).args(["snapshot"]).run().ok().stdout);
    let snap: Value = serde_json::from_str(&snap).expect("a scenario");
    let written = &snap["rooms"][0]["participants"][0];
    assert_eq!(written["track_list"][1]["sid"], "TR_screen", "{written}");
    assert_eq!(written["track_list"][1]["source"], "SCREEN_SHARE");
    assert_eq!(written["track_list"][0]["muted"], true);
    let replay = tokio::task::block_in_place(|| sim(snap.clone()));
    // The same tracks (the join time, and so the version stamp, is to the second).
    let facts = |tracks: Vec<Value>| -> Vec<Value> {
        tracks
            .iter()
            .map(|t| json!([t["sid"], t["type"], t["source"], t["muted"]]))
            .collect()
    };
    assert_eq!(
        facts(listed_tracks(&replay).await),
        facts(listed_tracks(&live).await)
    );
}
