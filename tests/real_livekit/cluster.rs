//! A sick cluster (issue #12) on the real server: two LiveKit v1.13.5 nodes sharing one
//! Redis in the test's namespace, node B killed with SIGKILL, then `lk-reaper` with and
//! without `--redis-url`. Rooms are pinned with CreateRoom `node_id`; people join through
//! each node's own URL.

use std::time::{Duration, Instant};

use lk_reaper::cluster::{Purge, PurgeOutcome, RedisUrl, Store};
use serde_json::Value;

use crate::harness::{LiveKit, Node, Options, Participant, eventually};
use crate::sweep::{room_names, sweep};
use crate::token::Identity;

/// LiveKit drops a node from `nodes` at another node's start once it is 5 s silent.
const DEAD_AFTER: Duration = Duration::from_secs(6);

/// Node A (the harness's server) and node B, and their ids.
async fn cluster() -> (LiveKit, Node, String, String) {
    let lk = LiveKit::start(Options::default())
        .await
        .expect("the real LiveKit server (scripts/install-test-deps)");
    let b = lk.start_second_node().await.expect("node B");
    let a_id = lk.node_id(lk.ns.addr).expect("node A's id");
    let b_id = eventually("node B in Redis", Duration::from_secs(10), || async {
        Ok(lk.node_id(b.ip).ok())
    })
    .await
    .expect("node B's id");
    (lk, b, a_id, b_id)
}

/// `room -> result` of a report.
fn results(doc: &Value) -> std::collections::BTreeMap<String, String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["room"].as_str().unwrap_or("-").to_owned(),
                f["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn join(lk: &LiveKit, via: &str, room: &str, who: &str) -> Participant {
    let p = lk
        .join_via(via, room, &Identity::standard(who), true)
        .await
        .unwrap();
    lk.wait_active(room, who, Duration::from_secs(20))
        .await
        .unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn without_redis_zombies_never_hold_up_a_healthy_room_and_humans_stay() {
    let (lk, mut b, a_id, b_id) = cluster().await;
    for i in 0..40 {
        lk.create_room_on(&format!("zombie-{i:02}"), &b_id)
            .await
            .unwrap();
    }
    lk.create_room_on("ghost", &b_id).await.unwrap();
    let _bob = join(&lk, &b.ws_url(), "ghost", "bob").await;
    lk.create_room_on("people", &a_id).await.unwrap();
    let _alice = join(&lk, &lk.ws_url(), "people", "alice").await;
    // Youngest, so last in worst-first order.
    tokio::time::sleep(Duration::from_secs(1)).await;
    lk.create_room_on("healthy", &a_id).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.kill().unwrap();
    let killed = Instant::now();

    let started = Instant::now();
    let (run, healthy_gone) = tokio::join!(
        sweep(&lk, &["--humanless-grace", "1s"]),
        eventually("healthy deleted", Duration::from_secs(30), || async {
            let left = lk.list_rooms(&["healthy"]).await?;
            Ok(left.is_empty().then(|| started.elapsed()))
        })
    );
    let healthy_gone = healthy_gone.unwrap();
    visible!(
        "cluster: 40 zombies (503 after 3 s) ahead of a healthy room: healthy deleted after {healthy_gone:?}, run took {:?}",
        run.took
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(healthy_gone < Duration::from_secs(10), "{healthy_gone:?}");
    assert!(run.took < Duration::from_secs(20), "{:?}", run.took);
    let got = results(&run.doc);
    assert_eq!(got["healthy"], "done");
    let zombies: Vec<&Value> = run.doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["result"] == "zombie")
        .collect();
    assert_eq!(zombies.len(), 40, "{:#}", run.doc);
    assert!(
        zombies[0]["error"]
            .as_str()
            .unwrap()
            .contains("no response from servers")
    );
    assert!(
        !got.contains_key("ghost") && !got.contains_key("people"),
        "{:#}",
        run.doc
    );
    assert_eq!(run.doc["summary"]["zombie"], 40);
    let names = room_names(&lk).await;
    assert!(names.contains(&"ghost".into()) && names.contains(&"people".into()));

    // A node restart removes the dead node from `nodes`: now DeleteRoom answers at once.
    tokio::time::sleep(DEAD_AFTER.saturating_sub(killed.elapsed())).await;
    let _b2 = lk.start_second_node().await.unwrap();
    let run = sweep(&lk, &["--humanless-grace", "1s"]).await;
    visible!(
        "cluster: after a node restart, 40 zombies answered in {:?}",
        run.took
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.doc["summary"]["zombie"], 40, "{:#}", run.doc);
    let error = run.doc["findings"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("could not find object") && error.contains("livekit#3766"),
        "{error}"
    );
    assert!(run.took < Duration::from_secs(5), "{:?}", run.took);
    assert!(room_names(&lk).await.contains(&"people".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn with_redis_zombies_are_reported_rechecked_and_purged_and_live_rooms_stay() {
    let (lk, mut b, a_id, b_id) = cluster().await;
    let zombies: Vec<String> = (0..105).map(|i| format!("z-{i:03}")).collect();
    for name in &zombies {
        lk.create_room_on(name, &b_id).await.unwrap();
    }
    lk.create_room_on("moved", &b_id).await.unwrap();
    let _bob = join(&lk, &b.ws_url(), "moved", "bob").await;
    lk.create_room_on("people", &a_id).await.unwrap();
    let _alice = join(&lk, &lk.ws_url(), "people", "alice").await;
    lk.create_room_on("healthy", &a_id).await.unwrap();
    b.kill().unwrap();
    tokio::time::sleep(DEAD_AFTER).await;
    // Node B comes back under a new id and drops the old one from `nodes`.
    let _b2 = lk.start_second_node().await.unwrap();
    // Someone joins the dead node's room again through node A: it moves there, and bob
    // stays listed beside carol as a ghost.
    let _carol = join(&lk, &lk.ws_url(), "moved", "carol").await;
    let listed: Vec<String> = lk
        .list_participants("moved")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.identity)
        .collect();
    let counted = lk.list_rooms(&["moved"]).await.unwrap()[0].num_participants;
    visible!("cluster: the moved room lists {listed:?}; its num_participants is {counted}");
    assert!(listed.contains(&"bob".into()) && listed.contains(&"carol".into()));
    let redis = lk.redis_url();

    // Dry run, default --max-actions 100: 105 zombies are reported, nothing refused.
    let run = sweep(
        &lk,
        &[
            "--dry-run",
            "--humanless-grace",
            "1s",
            "--redis-url",
            &redis,
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    let got = results(&run.doc);
    assert!(zombies.iter().all(|z| got[z] == "skipped"), "{:#}", run.doc);
    assert_eq!(got["healthy"], "planned");
    assert!(
        !got.contains_key("moved") && !got.contains_key("people"),
        "{:#}",
        run.doc
    );

    // A real run without --purge-zombies: DeleteRoom for the healthy room only.
    let run = sweep(
        &lk,
        &["-vv", "--humanless-grace", "1s", "--redis-url", &redis],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(results(&run.doc)["healthy"], "done");
    let deletes = run.stderr.matches("RoomService/DeleteRoom").count();
    visible!(
        "cluster: --redis-url sweep of 105 zombies took {:?}, {deletes} DeleteRoom calls",
        run.took
    );
    assert_eq!(deletes, 1, "{}", run.stderr);

    // The re-check: z-000 comes back to life (someone joins it through node A) between
    // the plan and the purge.
    let url = RedisUrl::parse(&redis).unwrap();
    let store = Store::connect(&url, Duration::from_secs(5)).await.unwrap();
    let dead = store.read().await.unwrap().dead_nodes(chrono::Utc::now());
    assert!(zombies.iter().all(|z| dead.contains_key(z)));
    assert!(!dead.contains_key("moved") && !dead.contains_key("people"));
    let _dave = join(&lk, &lk.ws_url(), "z-000", "dave").await;
    let outcome = store.purge_room("z-000", &dead["z-000"]).await.unwrap();
    visible!("cluster: purge of a revived room: {outcome:?}");
    assert!(matches!(outcome, PurgeOutcome::Revived(_)), "{outcome:?}");

    let run = sweep(
        &lk,
        &[
            "--humanless-grace",
            "1s",
            "--redis-url",
            &redis,
            "--purge-zombies",
            "--max-actions",
            "200",
        ],
    )
    .await;
    visible!("cluster: purge of 104 zombie rooms took {:?}", run.took);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.doc["summary"]["done"], 104, "{:#}", run.doc);
    let names = room_names(&lk).await;
    assert!(
        names.iter().all(|n| !n.starts_with("z-") || n == "z-000"),
        "{names:?}"
    );
    for kept in ["moved", "people", "z-000"] {
        assert!(names.contains(&kept.to_owned()), "{kept}: {names:?}");
    }
    assert!(!lk.list_participants("people").await.unwrap().is_empty());

    // A purged name can be used again.
    lk.create_room_on("z-001", &a_id).await.unwrap();
    let _erin = join(&lk, &lk.ws_url(), "z-001", "erin").await;
}

/// DeleteRoom of `room` at `base`, raw: (status, content type, Twirp code and msg, time).
async fn delete_answer(base: &str, room: &str) -> (u16, String, Value, Duration) {
    use prost::Message;
    let req = livekit_protocol::DeleteRoomRequest { room: room.into() };
    let auth = format!(
        "Bearer {}",
        crate::token::api(serde_json::json!({ "roomCreate": true }))
    );
    let reply = crate::twirp::call(
        base,
        "livekit.RoomService/DeleteRoom",
        crate::twirp::Encoding::Protobuf.content_type(),
        Some(&auth),
        req.encode_to_vec(),
    )
    .await
    .unwrap();
    let error = reply.twirp_error().unwrap_or_default();
    (reply.status, reply.content_type, error, reply.elapsed)
}

/// The simulator's `"node": "dead"` and `"node": "removed"` rooms answer DeleteRoom as the
/// real cluster's rooms do before and after a node restart (a conformance check that needs
/// two nodes, so it lives here rather than in tests/conformance/).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn the_simulators_dead_nodes_answer_delete_room_like_the_real_cluster() {
    let (lk, mut b, _, b_id) = cluster().await;
    lk.create_room_on("zombie", &b_id).await.unwrap();
    b.kill().unwrap();
    let killed = Instant::now();
    let scenario = |node: &str| {
        serde_json::json!({"key": crate::token::API_KEY, "secret": crate::token::API_SECRET,
                           "rooms": [{"name": "zombie", "node": node}]})
    };
    for node in ["dead", "removed"] {
        if node == "removed" {
            tokio::time::sleep(DEAD_AFTER.saturating_sub(killed.elapsed())).await;
            lk.start_second_node().await.unwrap();
        }
        let real = delete_answer(&lk.url, "zombie").await;
        let sim = crate::conformance::Simulator::start(&scenario(node))
            .await
            .unwrap();
        let simulated = delete_answer(&sim.url, "zombie").await;
        visible!(
            "cluster: DeleteRoom of a {node} node's room: real {real:?}, simulator {simulated:?}"
        );
        assert_eq!(
            (real.0, &real.1, &real.2),
            (simulated.0, &simulated.1, &simulated.2),
            "{node}"
        );
        let slow = node == "dead";
        for took in [real.3, simulated.3] {
            assert_eq!(
                took >= Duration::from_millis(2900),
                slow,
                "{node}: {took:?}"
            );
        }
    }
}
