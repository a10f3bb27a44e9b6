//! "No *active* human" (issue #22) on the real server, with the real Egress worker: a
//! STANDARD participant that mutes its only track makes its room silent, and lk-reaper,
//! run twice with `--silent-after 5s --state`, stops that room's recording and keeps the
//! room; one that unmutes before the limit keeps its recording; a participant connected
//! longer than `--max-session` is removed (its SDK sees PARTICIPANT_REMOVED), and being the
//! only human, its room's recording stops and the room is deleted in the same sweep.

use std::time::Duration;

use livekit_protocol as proto;
use proto::EgressStatus;

use crate::harness::{EgressWorker, LiveKit, Options, decode_whole, eventually};
use crate::recording::{
    COMPLETE_TIMEOUT, Recording, Source, assert_still_recording, record, status_of,
};
use crate::sweep::{Run, assert_results, room_names, sweep};
use crate::token::Identity;

/// Waits until ListParticipants shows `room`'s published tracks all muted (`true`) or all
/// unmuted.
async fn wait_muted(lk: &LiveKit, room: &str, muted: bool) {
    eventually(
        &format!("{room}: tracks muted = {muted}"),
        Duration::from_secs(10),
        || async {
            let list = lk.list_participants(room).await?;
            let tracks: Vec<bool> = list
                .iter()
                .filter(|p| p.kind == proto::participant_info::Kind::Standard as i32)
                .flat_map(|p| p.tracks.iter().map(|t| t.muted))
                .collect();
            Ok((!tracks.is_empty() && tracks.iter().all(|&m| m == muted)).then_some(()))
        },
    )
    .await
    .unwrap();
}

/// Waits until `r` is COMPLETE and its file decodes.
async fn assert_complete(lk: &LiveKit, worker: &EgressWorker, r: &Recording) {
    let info = lk
        .wait_egress(&r.id, EgressStatus::EgressComplete, COMPLETE_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", worker.log()));
    let duration = decode_whole(&r.file)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", r.id));
    visible!(
        "recording {}: COMPLETE ({}), decodes, {:.1} s",
        r.id,
        info.details,
        duration.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server and the egress worker; scripts/test runs it"]
async fn silent_rooms_and_long_sessions_end_real_recordings() {
    let test = "silent_rooms_and_long_sessions_end_real_recordings";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let worker = EgressWorker::start(&lk)
        .await
        .unwrap_or_else(|e| panic!("{test}: {e:#}"));
    for room in ["muted", "unmuted", "overnight"] {
        lk.create_room(room, 0, 0, "").await.unwrap();
    }
    let mut alice = lk
        .publish_tone("muted", &Identity::standard("alice"))
        .await
        .unwrap();
    let mut bob = lk
        .publish_tone("unmuted", &Identity::standard("bob"))
        .await
        .unwrap();
    let (alice_rec, bob_rec) = tokio::join!(
        record(&lk, &worker, Source::Track, "muted", &alice, "alice.ogg"),
        record(&lk, &worker, Source::Track, "unmuted", &bob, "bob.ogg"),
    );
    alice.tell("mute", "MUTED").await.unwrap();
    bob.tell("mute", "MUTED").await.unwrap();
    wait_muted(&lk, "muted", true).await;
    wait_muted(&lk, "unmuted", true).await;

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();
    let args = [
        "--silent-after",
        "5s",
        "--state",
        state,
        "--room",
        "muted",
        "--room",
        "unmuted",
    ];
    let first = sweep(&lk, &args).await;
    assert_eq!(
        (first.code, first.findings().len()),
        (0, 0),
        "first look\n{first}"
    );
    bob.tell("unmute", "UNMUTED").await.unwrap();
    wait_muted(&lk, "unmuted", false).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let second: Run = sweep(&lk, &args).await;
    assert_eq!(second.code, 0, "{second}");
    assert_results(&second, &[(&alice_rec.id, "done")]);
    assert_eq!(
        second.finding(&alice_rec.id)["rules"],
        serde_json::json!(["silent"])
    );
    assert_complete(&lk, &worker, &alice_rec).await;
    assert_still_recording(&lk, &[&bob_rec], "bob unmuted before the limit").await;
    assert_eq!(
        room_names(&lk).await,
        ["muted", "overnight", "unmuted"],
        "rooms stay"
    );

    long_session_is_removed(&lk, &worker).await;
    drop((alice, bob));
}

/// max_session: carol, alone in `overnight`, has been connected for seconds; a sweep with
/// `--max-session 1s` removes her (her SDK sees PARTICIPANT_REMOVED), then stops her
/// recording and deletes the room.
async fn long_session_is_removed(lk: &LiveKit, worker: &EgressWorker) {
    let mut carol = lk
        .publish_tone("overnight", &Identity::standard("carol"))
        .await
        .unwrap();
    let carol_rec = record(lk, worker, Source::Track, "overnight", &carol, "carol.ogg").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run = sweep(lk, &["--max-session", "1s", "--room", "overnight"]).await;
    assert_eq!(run.code, 0, "{run}");
    let removal = run
        .findings()
        .iter()
        .find(|f| f["action"] == "remove_participant")
        .unwrap_or_else(|| panic!("no removal\n{run}"));
    assert_eq!(
        (removal["participant"].as_str(), removal["result"].as_str()),
        (Some("carol"), Some("done")),
        "{run}"
    );
    let reason = carol
        .wait_line("DISCONNECTED", Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(reason, "PARTICIPANT_REMOVED");
    let stop = run.finding(&carol_rec.id);
    assert!(
        matches!(stop["result"].as_str(), Some("done" | "already_gone")),
        "{run}"
    );
    assert_eq!(run.finding("room:overnight")["result"], "done", "{run}");
    assert!(!room_names(lk).await.contains(&"overnight".to_owned()));
    let status = status_of(&lk.egress(&carol_rec.id).await.unwrap());
    assert!(
        matches!(
            status,
            EgressStatus::EgressEnding | EgressStatus::EgressComplete
        ),
        "{status:?}"
    );
    assert_complete(lk, worker, &carol_rec).await;
}
