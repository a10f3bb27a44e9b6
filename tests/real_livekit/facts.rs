//! Facts lk-reaper relies on, checked on the real server, with the measurements
//! REAL_LIVEKIT.md asks for printed to stderr (see FINDINGS.md).

use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::EgressStatus;
use proto::participant_info::{Kind, KindDetail};

use crate::harness::{LiveKit, Options, egress_record, eventually};
use crate::token::Identity;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn harness_starts_and_tears_down_a_namespace() {
    let lk = LiveKit::start_for(
        "harness_starts_and_tears_down_a_namespace",
        Options::default(),
    )
    .await;
    let name = lk.ns.name.clone();
    assert!(
        lk.list_rooms(&[]).await.unwrap().is_empty(),
        "a new server has no rooms"
    );
    drop(lk);
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        !list
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name.as_str())),
        "{name} still exists:\n{list}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn participants_reach_active_and_rooms_count_humans_only() {
    let lk = LiveKit::start_for(
        "participants_reach_active_and_rooms_count_humans_only",
        Options::default(),
    )
    .await;
    let room = "kinds";
    lk.create_room(room, 0, 0, "").await.unwrap();
    let joined = Instant::now();
    let human = lk
        .join(room, &Identity::standard("alice"), true)
        .await
        .unwrap();
    let to_active = lk
        .wait_active(room, "alice", Duration::from_secs(20))
        .await
        .unwrap();
    visible!(
        "FINDING join-to-ACTIVE (standard, audio published): {:?} after CONNECTED; {:?} after spawn",
        to_active,
        joined.elapsed()
    );

    let others = [
        (Identity::of_kind("agent-1", "agent"), Kind::Agent, vec![]),
        (
            Identity::of_kind("EG_recorder", "egress")
                .with_video(&serde_json::json!({"hidden": true, "recorder": true})),
            Kind::Egress,
            vec![],
        ),
        (Identity::of_kind("sip-caller", "sip"), Kind::Sip, vec![]),
        (
            Identity::standard("sim-user").with_detail("simulation"),
            Kind::Standard,
            vec![KindDetail::Simulation as i32],
        ),
    ];
    let mut held = vec![human];
    for (who, _, _) in &others {
        held.push(lk.join(room, who, false).await.unwrap());
    }
    let participants = eventually("all five ACTIVE", Duration::from_secs(30), || async {
        let ps = lk.list_participants(room).await?;
        let active = ps
            .iter()
            .filter(|p| p.state == proto::participant_info::State::Active as i32)
            .count();
        Ok((active == 5).then_some(ps))
    })
    .await
    .unwrap();
    for (who, kind, details) in &others {
        let p = participants
            .iter()
            .find(|p| p.identity == who.identity)
            .unwrap();
        assert_eq!(p.kind, *kind as i32, "{}: kind", who.identity);
        assert_eq!(&p.kind_details, details, "{}: kind_details", who.identity);
    }
    // Humans by the server's rule: alice, sip-caller, sim-user (agent and egress are dependent).
    let started = Instant::now();
    let count = eventually("num_participants == 3", Duration::from_secs(15), || async {
        let rooms = lk.list_rooms(&[room]).await?;
        Ok(rooms
            .first()
            .filter(|r| r.num_participants == 3)
            .map(|r| (r.num_participants, r.num_publishers)))
    })
    .await
    .unwrap();
    visible!(
        "FINDING num_participants reached 3 (of 5 present) {:?} after all were ACTIVE; num_publishers = {}",
        started.elapsed(),
        count.1
    );
    held.remove(0).leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn stop_egress_answers_from_the_stored_record() {
    let lk = LiveKit::start_for(
        "stop_egress_answers_from_the_stored_record",
        Options::default(),
    )
    .await;
    let records = [
        ("EG_zombie_active", EgressStatus::EgressActive),
        ("EG_zombie_starting", EgressStatus::EgressStarting),
        ("EG_ending", EgressStatus::EgressEnding),
        ("EG_complete", EgressStatus::EgressComplete),
        ("EG_aborted", EgressStatus::EgressAborted),
    ];
    for (id, status) in records {
        lk.put_egress(&egress_record(
            id,
            "gone-room",
            "room_composite",
            status,
            7200,
        ))
        .unwrap();
    }
    let listed = lk.list_egress("", true).await.unwrap();
    let mut ids: Vec<_> = listed.iter().map(|e| e.egress_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["EG_ending", "EG_zombie_active", "EG_zombie_starting"],
        "active=true keeps STARTING, ACTIVE, ENDING"
    );

    for (id, _) in records
        .iter()
        .copied()
        .chain([("EG_unknown", EgressStatus::EgressActive)])
    {
        let reply = lk.stop_egress(id).await.unwrap();
        let code = reply
            .twirp_error()
            .and_then(|e| e["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        visible!(
            "FINDING StopEgress {id}: HTTP {} code={code} after {:?}: {}",
            reply.status,
            reply.elapsed,
            reply.text()
        );
        let want = match id {
            "EG_zombie_active" | "EG_zombie_starting" => {
                ["deadline_exceeded", "unavailable"].as_slice()
            }
            "EG_unknown" => &["not_found"],
            _ => &["failed_precondition"],
        };
        assert!(
            want.contains(&code.as_str()),
            "{id}: got HTTP {} {}",
            reply.status,
            reply.text()
        );
    }
    let still = lk.list_egress("gone-room", true).await.unwrap();
    assert_eq!(still.len(), 3, "a failed stop changes no stored status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn without_redis_rooms_work_and_egress_is_not_connected() {
    let lk = LiveKit::start_for(
        "without_redis_rooms_work_and_egress_is_not_connected",
        Options { redis: false },
    )
    .await;
    lk.create_room("solo", 0, 0, "").await.unwrap();
    assert_eq!(lk.list_rooms(&[]).await.unwrap().len(), 1);
    let err = lk.list_egress("", true).await.unwrap_err().to_string();
    visible!("FINDING ListEgress without redis: {err}");
    assert!(
        err.contains("HTTP 500") && err.contains("egress not connected"),
        "{err}"
    );
    let stop = lk.stop_egress("EG_any").await.unwrap();
    visible!(
        "FINDING StopEgress without redis: HTTP {} {}",
        stop.status,
        stop.text()
    );
    assert!(stop.status >= 400);
}

/// LIVEKIT_API.md says `num_participants` is recomputed at most every 5 s. Measured here:
/// how long ListRooms takes to show one human after it is ACTIVE, and zero after it left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn num_participants_follows_joins_and_leaves_within_seconds() {
    let test = "num_participants_follows_joins_and_leaves_within_seconds";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let room = "count";
    lk.create_room(room, 0, 0, "").await.unwrap();
    let human = lk
        .join(room, &Identity::standard("bob"), true)
        .await
        .unwrap();
    lk.wait_active(room, "bob", Duration::from_secs(20))
        .await
        .unwrap();
    let count_is = |n: u32| {
        let lk = &lk;
        move || async move {
            let rooms = lk.list_rooms(&[room]).await?;
            Ok(rooms
                .first()
                .filter(|r| r.num_participants == n)
                .map(|_| ()))
        }
    };
    let started = Instant::now();
    eventually(
        "num_participants == 1",
        Duration::from_secs(20),
        count_is(1),
    )
    .await
    .unwrap();
    let up = started.elapsed();
    human.leave().await.unwrap();
    let started = Instant::now();
    eventually(
        "num_participants == 0",
        Duration::from_secs(20),
        count_is(0),
    )
    .await
    .unwrap();
    let down = started.elapsed();
    visible!(
        "FINDING ListRooms num_participants: 0->1 {up:?} after ACTIVE, 1->0 {down:?} after leave"
    );
    let gone = lk.list_participants(room).await.unwrap();
    assert!(gone.is_empty(), "bob left: {gone:?}");
}
