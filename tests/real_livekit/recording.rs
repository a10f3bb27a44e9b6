//! Real recordings: a LiveKit Egress worker (v1.8.6) beside the real server records tones
//! that real participants publish, and `lk-reaper sweep` ends them. Each case follows the
//! recording's status over time (ACTIVE, then ENDING or COMPLETE) and decodes the finished
//! file from start to end. Track egress writes Ogg/Opus, participant egress MP4/Opus.
//!
//! Each test shares one server and worker across its cases (a start-up costs seconds and
//! every recording is a GStreamer pipeline on a 2-core machine). Prints the time from the
//! start of a sweep to the recording's COMPLETE: the reaper's time-to-stop.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use livekit_protocol as proto;
use proto::EgressStatus;
use serde_json::json;

use crate::harness::{EgressWorker, LiveKit, Options, Participant, decode_whole, eventually};
use crate::sweep::{
    GRACE, GRACE_PLUS, IN_THE_WINDOW, Run, assert_results, assert_verdict, holding_room,
    room_names, sweep, wait_counts,
};
use crate::token::Identity;
use Source::{Track, Whole};

/// How long a started egress may take to be ACTIVE with data on disk (2-4 s, FINDINGS.md).
const RECORDING_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped egress may take to be COMPLETE (4-4.5 s on v1.8.6, FINDINGS.md).
pub(crate) const COMPLETE_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of the time between a recording's first bytes on disk and its `ended_at` its
/// file may lack: the worker stops taking media up to ~4.5 s before it sets `ended_at`.
const ENDING_SLACK: Duration = Duration::from_secs(5);

/// How long a file may go without growing while its recording goes on (the muxers write
/// in chunks).
const GROWTH_TIMEOUT: Duration = Duration::from_secs(15);

const REASON: &str = "needs the real LiveKit server and the egress worker; scripts/test runs it";

/// A recording in progress: its egress, the file it writes, and when that file first held
/// data.
pub(crate) struct Recording {
    pub(crate) id: String,
    pub(crate) file: PathBuf,
    since: SystemTime,
}

/// What an egress records of its publisher.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    /// Its tone's track (track egress), as Ogg/Opus.
    Track,
    /// The whole participant (participant egress), as MP4/Opus.
    Whole,
}

/// Starts an egress of `publisher`'s `source` in `room` into the file `name` and waits
/// until it records.
pub(crate) async fn record(
    lk: &LiveKit,
    worker: &EgressWorker,
    source: Source,
    room: &str,
    publisher: &Participant,
    name: &str,
) -> Recording {
    let file = worker.file(name);
    let (method, started) = match source {
        Source::Track => (
            "StartTrackEgress",
            lk.start_track_egress(room, &publisher.track_sid, &file)
                .await,
        ),
        Source::Whole => (
            "StartParticipantEgress",
            lk.start_participant_egress(room, &publisher.identity, &file)
                .await,
        ),
    };
    let info = started.unwrap_or_else(|e| panic!("{method} in {room}: {e:#}\n{}", worker.log()));
    lk.wait_recording(&info.egress_id, &file, RECORDING_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", worker.log()));
    Recording {
        id: info.egress_id,
        file,
        since: SystemTime::now(),
    }
}

/// The record's status (a number this protocol version does not know reads as FAILED).
pub(crate) fn status_of(info: &proto::EgressInfo) -> EgressStatus {
    EgressStatus::try_from(info.status).unwrap_or(EgressStatus::EgressFailed)
}

/// Asserts that each recording is still ACTIVE and its file still grows.
pub(crate) async fn assert_still_recording(lk: &LiveKit, recordings: &[&Recording], why: &str) {
    for r in recordings {
        let before = size(&r.file);
        let info = lk.egress(&r.id).await.unwrap();
        assert_eq!(
            status_of(&info),
            EgressStatus::EgressActive,
            "{}: {why}: {info:?}",
            r.id
        );
        let what = format!(
            "{} ({}) to grow past {before} bytes: {why}",
            r.id,
            r.file.display()
        );
        eventually(&what, GROWTH_TIMEOUT, || async {
            Ok((size(&r.file) > before).then_some(()))
        })
        .await
        .unwrap();
    }
}

fn size(file: &Path) -> u64 {
    std::fs::metadata(file).map_or(0, |m| m.len())
}

/// Waits until `r` is COMPLETE, checks it ended the way `reason` says (a substring of the
/// worker's `details`) and decodes whole; returns the record.
async fn assert_finished(
    lk: &LiveKit,
    worker: &EgressWorker,
    r: &Recording,
    reason: &str,
) -> proto::EgressInfo {
    let info = lk
        .wait_egress(&r.id, EgressStatus::EgressComplete, COMPLETE_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", worker.log()));
    assert!(
        info.details.contains(reason),
        "{}: ended with details {:?}, want {reason:?}",
        r.id,
        info.details
    );
    assert!(info.error.is_empty(), "{}: error {:?}", r.id, info.error);
    let duration = decode_whole(&r.file)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", r.id));
    // It holds everything from its first bytes until it ended, give or take the ending.
    let ended = UNIX_EPOCH + Duration::from_nanos(u64::try_from(info.ended_at).unwrap_or(0));
    let recorded = ended.duration_since(r.since).unwrap_or_default();
    assert!(
        duration + ENDING_SLACK >= recorded && duration >= Duration::from_secs(1),
        "{}: the file lasts {duration:?}, but it recorded for {recorded:?}",
        r.id
    );
    visible!(
        "recording {}: COMPLETE ({}), {} decodes whole, {:.1} s",
        r.id,
        info.details,
        r.file.file_name().unwrap_or_default().to_string_lossy(),
        duration.as_secs_f64()
    );
    info
}

/// Runs a sweep and waits until `recording` is COMPLETE; prints and returns the seconds from
/// the sweep's start to then.
async fn sweep_until_complete(
    lk: &LiveKit,
    worker: &EgressWorker,
    args: &[&str],
    recording: &Recording,
) -> (Run, f64) {
    let started = Instant::now();
    let run = sweep(lk, args).await;
    // Right after the sweep the worker is finishing the file (ENDING) or has (COMPLETE).
    let right_after = status_of(&lk.egress(&recording.id).await.unwrap());
    assert!(
        matches!(
            right_after,
            EgressStatus::EgressEnding | EgressStatus::EgressComplete
        ),
        "{} right after the sweep: {right_after:?}\n{run}",
        recording.id
    );
    lk.wait_egress(
        &recording.id,
        EgressStatus::EgressComplete,
        COMPLETE_TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", worker.log()));
    let secs = started.elapsed().as_secs_f64();
    visible!(
        "time-to-stop: {secs:.1} s from the start of `lk-reaper sweep {}` to {} COMPLETE (sweep took {:.2} s)",
        args.join(" "),
        recording.id,
        run.took.as_secs_f64()
    );
    (run, secs)
}

/// One server and worker, two rooms: `agent-only` (an agent publishes, its track is
/// recorded) and `with-human` (alice publishes; her track and her whole participant are
/// recorded). In turn: a dry run changes nothing; `--humanless stop-egress` finishes the
/// agent's recording and keeps the room; the default policy stops a new recording of the
/// agent, then deletes the room; the human's recordings go on through all of it, until
/// `--max-egress-age` ends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server and the egress worker; scripts/test runs it"]
async fn the_reaper_ends_real_recordings_by_policy() {
    let test = "the_reaper_ends_real_recordings_by_policy";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let worker = EgressWorker::start(&lk)
        .await
        .unwrap_or_else(|e| panic!("{test}: {REASON}: {e:#}"));
    let created = Instant::now();
    for room in ["agent-only", "with-human"] {
        lk.create_room(room, 0, 0, "").await.unwrap();
    }
    let agent = lk
        .publish_tone("agent-only", &Identity::of_kind("bot", "agent"))
        .await
        .unwrap();
    let alice = lk
        .publish_tone("with-human", &Identity::standard("alice"))
        .await
        .unwrap();
    let (agent_rec, alice_track, alice_whole) = tokio::join!(
        record(&lk, &worker, Track, "agent-only", &agent, "agent-1.ogg"),
        record(&lk, &worker, Track, "with-human", &alice, "alice-track.ogg"),
        record(&lk, &worker, Whole, "with-human", &alice, "alice.mp4"),
    );
    wait_counts(&lk, &[("agent-only", 0), ("with-human", 1)]).await;
    tokio::time::sleep(GRACE_PLUS.saturating_sub(created.elapsed())).await;
    let humans = [&alice_track, &alice_whole];

    // A dry run plans the agent room's stop and deletion, and changes nothing.
    let run = sweep(&lk, &["--dry-run", "--humanless-grace", GRACE]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.targets(),
        [agent_rec.id.clone(), "room:agent-only".into()],
        "{run}"
    );
    assert_verdict(&run, &agent_rec.id, &["humanless"], "stop_egress");
    assert_verdict(&run, "room:agent-only", &["humanless"], "delete_room");
    assert_results(
        &run,
        &[(&agent_rec.id, "planned"), ("room:agent-only", "planned")],
    );
    assert_still_recording(
        &lk,
        &[&agent_rec, &alice_track, &alice_whole],
        "after a dry run",
    )
    .await;
    assert_eq!(room_names(&lk).await, ["agent-only", "with-human"]);

    // --humanless stop-egress: the agent's recording is finished, its room kept.
    let args = ["--humanless", "stop-egress", "--humanless-grace", GRACE];
    let (run, _) = sweep_until_complete(&lk, &worker, &args, &agent_rec).await;
    assert_eq!(run.code, 0, "{run}");
    assert_verdict(&run, &agent_rec.id, &["humanless"], "stop_egress");
    assert_eq!(run.finding(&agent_rec.id)["result"], "done", "{run}");
    assert!(
        run.findings().iter().all(|f| f["action"] != "delete_room"),
        "stop-egress deletes no room\n{run}"
    );
    assert_finished(&lk, &worker, &agent_rec, "StopEgress API").await;
    assert_eq!(room_names(&lk).await, ["agent-only", "with-human"]);
    assert_still_recording(&lk, &humans, "a room with a human is not humanless").await;

    // The default policy: the agent room's new recording is stopped first, then the room is
    // deleted (the worker's end reason says which came first: a room closing under a
    // recording ends it as "source closed").
    let agent_rec = record(&lk, &worker, Track, "agent-only", &agent, "agent-2.ogg").await;
    let (run, secs) =
        sweep_until_complete(&lk, &worker, &["--humanless-grace", GRACE], &agent_rec).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.targets(),
        [agent_rec.id.clone(), "room:agent-only".into()],
        "{run}"
    );
    assert_results(
        &run,
        &[(&agent_rec.id, "done"), ("room:agent-only", "done")],
    );
    assert_finished(&lk, &worker, &agent_rec, "StopEgress API").await;
    assert_eq!(room_names(&lk).await, ["with-human"]);
    assert_still_recording(&lk, &humans, "a room with a human is untouched").await;
    visible!("time-to-stop (humanless, delete-room): {secs:.1} s");

    // --max-egress-age ends the human's live recordings; her room stays.
    let args = ["--max-egress-age", "5s", "--humanless-grace", GRACE];
    let (run, _) = sweep_until_complete(&lk, &worker, &args, &alice_track).await;
    assert_eq!(run.code, 0, "{run}");
    for r in humans {
        assert_verdict(&run, &r.id, &["max_egress_age"], "stop_egress");
        assert_eq!(run.finding(&r.id)["result"], "done", "{run}");
    }
    assert_eq!(run.findings().len(), 2, "only the two recordings\n{run}");
    assert_finished(&lk, &worker, &alice_track, "StopEgress API").await;
    assert_finished(&lk, &worker, &alice_whole, "StopEgress API").await;
    assert_eq!(room_names(&lk).await, ["with-human"]);
    assert_eq!(lk.list_participants("with-human").await.unwrap().len(), 1);
    drop((agent, alice));
}

/// One server and worker; a sweep held for 3 s by a zombie record (`holding_room`) while,
/// in that window, one recording's publisher leaves (the worker ends that recording on its
/// own) and another recording's room is deleted by someone else (the worker ends it as its
/// source closes). The reaper's later StopEgress calls find them ending or ended: idempotent,
/// `already_gone`, not `failed`; the room deleted first is `already_gone` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server and the egress worker; scripts/test runs it"]
async fn a_recording_that_ends_before_the_reaper_stops_it_is_already_gone() {
    let test = "a_recording_that_ends_before_the_reaper_stops_it_is_already_gone";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let worker = EgressWorker::start(&lk)
        .await
        .unwrap_or_else(|e| panic!("{test}: {REASON}: {e:#}"));
    let created = Instant::now();
    holding_room(&lk, 1).await;
    for room in ["leaving", "closing"] {
        lk.create_room(room, 0, 0, "").await.unwrap();
    }
    let leaver = lk
        .publish_tone("leaving", &Identity::of_kind("bot-1", "agent"))
        .await
        .unwrap();
    let stayer = lk
        .publish_tone("closing", &Identity::of_kind("bot-2", "agent"))
        .await
        .unwrap();
    let (leaving, closing) = tokio::join!(
        record(&lk, &worker, Track, "leaving", &leaver, "leaving.ogg"),
        record(&lk, &worker, Track, "closing", &stayer, "closing.ogg"),
    );
    tokio::time::sleep(GRACE_PLUS.saturating_sub(created.elapsed())).await;

    let args = ["--concurrency", "1", "--humanless-grace", GRACE];
    let (run, ()) = tokio::join!(sweep(&lk, &args), async {
        tokio::time::sleep(IN_THE_WINDOW).await;
        // Both at once: each recording must have ended (within a second, FINDINGS.md)
        // before the zombie's stop returns and the reaper reaches it.
        let (left, deleted) = tokio::join!(leaver.leave(), lk.delete_room("closing"));
        left.unwrap();
        deleted.unwrap();
    });
    // Oldest first: the zombie's job, then each room's stop right before its deletion.
    let targets = run.targets();
    assert_eq!(targets[..2], ["EG_hold0", "room:hold"], "{run}");
    for (id, room) in [(&leaving.id, "room:leaving"), (&closing.id, "room:closing")] {
        let at = targets.iter().position(|t| t == id);
        assert!(
            at.is_some_and(|i| targets.get(i + 1).is_some_and(|t| t == room)),
            "{id} is stopped right before {room} is deleted\n{run}"
        );
    }
    assert_results(
        &run,
        &[
            ("EG_hold0", "failed"),
            ("room:hold", "done"),
            (&leaving.id, "already_gone"),
            ("room:leaving", "done"),
            (&closing.id, "already_gone"),
            ("room:closing", "already_gone"),
        ],
    );
    for target in [&leaving.id, &closing.id] {
        assert!(run.finding(target)["error"].is_null(), "{target}\n{run}");
    }
    assert_eq!(
        run.summary(),
        &json!({"planned": 0, "done": 2, "already_gone": 3, "skipped": 0, "zombie": 0, "failed": 1}),
        "{run}"
    );
    assert_eq!(run.code, 4, "only the zombie stop failed\n{run}");
    assert_eq!(room_names(&lk).await, Vec::<String>::new());
    // Each ended on its own, before the reaper's stop: not "StopEgress API".
    let left = assert_finished(&lk, &worker, &leaving, "").await;
    let closed = assert_finished(&lk, &worker, &closing, "").await;
    for info in [&left, &closed] {
        assert!(
            !info.details.contains("StopEgress"),
            "{}: ended by the reaper, not on its own: {:?}",
            info.egress_id,
            info.details
        );
    }
    drop(stayer);
}
