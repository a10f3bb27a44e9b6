//! `lk-reaper serve` with the real server posting its webhooks (issue #17): the server's
//! config has `webhook: {api_key: devkey, urls: [http://NS_ADDR:PORT/webhook]}` and `serve`
//! runs in the server's namespace, listening on that address.
//!
//! Recordings are egress records written into the server's Redis (no egress worker yet:
//! StopEgress of such a record times out and is reported `failed`; the room is still
//! deleted), so "the recording reaches COMPLETE" is not checked here.

use std::process::Stdio;
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use tokio::io::AsyncBufReadExt;

use crate::harness::{EgressWorker, LiveKit, Options, decode_whole, eventually};
use crate::token::{self, Identity};

const SERVE_PORT: u16 = 8089;

/// A `serve` process inside the server's namespace, killed on drop.
struct Serve {
    child: tokio::process::Child,
    base: String,
    log: tempfile::NamedTempFile,
}

impl Serve {
    /// Starts `serve ARGS` and waits for its start-up sweep (/healthz 200).
    async fn start(lk: &LiveKit, args: &[&str]) -> Serve {
        let listen = format!("{}:{SERVE_PORT}", lk.ns.addr);
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = lk
            .ns
            .tokio_command(env!("CARGO_BIN_EXE_lk-reaper"))
            .args(["--log-format", "json", "serve", "--listen", &listen])
            .args(["--sweep-every", "1h"])
            .args(args)
            .envs(lk.env())
            .env_remove("LK_REAPER_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn serve in the namespace");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        assert!(
            matches!(&first, Ok(Ok(Some(l))) if l.starts_with("listening on")),
            "serve did not start: {first:?}"
        );
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let serve = Serve {
            child,
            base: format!("http://{listen}"),
            log,
        };
        eventually(
            "serve's start-up sweep",
            Duration::from_secs(20),
            || async { Ok((serve.get("/healthz").await?.0 == 200).then_some(())) },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", serve.log()));
        serve
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let response = crate::twirp::client()
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    async fn post(&self, authorization: &str, body: Vec<u8>) -> u16 {
        crate::twirp::client()
            .post(format!("{}/webhook", self.base))
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await
            .expect("post a webhook")
            .status()
            .as_u16()
    }

    /// One counter of /metrics (0 when absent).
    async fn metric(&self, name: &str) -> u64 {
        let (_, text) = self.get("/metrics").await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }
}

async fn start_server() -> LiveKit {
    LiveKit::start_posting_webhooks(Options::default(), Some(SERVE_PORT))
        .await
        .expect("start LiveKit with webhooks")
}

async fn has_room(lk: &LiveKit, name: &str) -> bool {
    let names = [name];
    lk.list_rooms(&names)
        .await
        .unwrap()
        .iter()
        .any(|r| r.name == name)
}

/// A room with a human (publishing audio) and an agent, settled for longer than `settle`
/// (so the check `room_started` scheduled has run and found the human).
async fn meeting(
    lk: &LiveKit,
    room: &str,
    settle: Duration,
) -> (crate::harness::Participant, crate::harness::Participant) {
    lk.create_room(room, 0, 0, "").await.unwrap();
    let created = Instant::now();
    let human = lk
        .join(room, &Identity::standard("alice"), true)
        .await
        .unwrap();
    let agent = lk
        .join(room, &Identity::of_kind("agent-1", "agent"), false)
        .await
        .unwrap();
    for who in ["alice", "agent-1"] {
        lk.wait_active(room, who, Duration::from_secs(30))
            .await
            .unwrap();
    }
    tokio::time::sleep(settle.saturating_sub(created.elapsed())).await;
    (human, agent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn serve_ends_the_room_within_the_grace_after_the_last_human_leaves() {
    let lk = start_server().await;
    let worker = EgressWorker::start(&lk)
        .await
        .expect("start the egress worker");
    let serve = Serve::start(&lk, &["--humanless-grace", "5s"]).await;
    let (alice, _agent) = meeting(&lk, "standup", Duration::from_secs(7)).await;
    // A real recording of an agent's tone: what must end when the last human leaves.
    let tone = lk
        .publish_tone("standup", &Identity::of_kind("agent-tone", "agent"))
        .await
        .unwrap();
    let file = worker.file("standup.ogg");
    let recording = lk
        .start_track_egress("standup", &tone.track_sid, &file)
        .await
        .unwrap_or_else(|e| panic!("StartTrackEgress: {e:#}\n{}", worker.log()));
    lk.wait_recording(&recording.egress_id, &file, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", worker.log()));
    alice.leave().await.unwrap();
    let left = Instant::now();
    let gone = eventually("standup deleted", Duration::from_secs(20), || async {
        Ok((!has_room(&lk, "standup").await).then_some(()))
    })
    .await;
    let took = left.elapsed();
    let log = serve.log();
    assert!(gone.is_ok(), "standup still there after {took:?}\n{log}");
    visible!("serve: standup ended {took:?} after alice left (grace 5s)");
    assert!(
        took >= Duration::from_secs(4),
        "before the grace: {took:?}\n{log}"
    );
    assert!(
        took <= Duration::from_secs(10),
        "after grace + 5 s: {took:?}\n{log}"
    );
    assert!(
        serve
            .metric("lk_reaper_checks_total{trigger=\"participant_left\"}")
            .await
            >= 1,
        "{log}"
    );
    // The room is gone as soon as the server takes DeleteRoom; serve logs the check's
    // actions once they have all answered.
    let logged = eventually(
        "the delete_room action logged",
        Duration::from_secs(20),
        || {
            let log = serve.log();
            async move { Ok(log.contains("\"action\":\"delete_room\"").then_some(())) }
        },
    )
    .await;
    let log = serve.log();
    assert!(logged.is_ok(), "{log}");
    assert!(!log.contains("eyJ"), "no token in the log: {log}");
    let info = lk
        .wait_egress(
            &recording.egress_id,
            proto::EgressStatus::EgressComplete,
            Duration::from_secs(20),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", worker.log()));
    let complete = left.elapsed();
    visible!("serve: the recording was COMPLETE {complete:?} after alice left (grace 5s)");
    // The worker finalises the file once the room is gone (0.8 s, FINDINGS.md): grace + 5 s
    // for the room, plus that.
    assert!(
        complete <= Duration::from_secs(12),
        "recording COMPLETE only after {complete:?}: {info:?}\n{log}"
    );
    let duration = decode_whole(&file)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(duration >= Duration::from_secs(1), "{duration:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn serve_keeps_the_room_of_a_human_who_rejoins_within_the_grace() {
    let lk = start_server().await;
    let serve = Serve::start(&lk, &["--humanless-grace", "5s"]).await;
    let (alice, _agent) = meeting(&lk, "standup", Duration::from_secs(7)).await;
    alice.leave().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _back = lk
        .join("standup", &Identity::standard("alice"), true)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let log = serve.log();
    assert!(has_room(&lk, "standup").await, "{log}");
    assert!(
        serve
            .metric("lk_reaper_checks_total{trigger=\"participant_left\"}")
            .await
            >= 1,
        "{log}"
    );
    assert!(!log.contains("\"action\":\"delete_room\""), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn a_forged_or_replayed_webhook_changes_nothing_and_is_counted() {
    use lk_reaper::sim::webhooks::sign;
    let lk = start_server().await;
    // A grace longer than the test: the one genuine event's check never comes due.
    let serve = Serve::start(&lk, &["--humanless-grace", "60s"]).await;
    let (_alice, _agent) = meeting(&lk, "standup", Duration::ZERO).await;
    let event = |id: &str| {
        serde_json::to_vec(&serde_json::json!({
            "event": "participant_left", "id": id, "createdAt": token::unix_now().to_string(),
            "room": {"name": "standup"}, "participant": {"identity": "alice"}}))
        .unwrap()
    };
    let body = event("EV_forged");
    let forged = sign(token::API_KEY, "not-the-secret", &body).unwrap();
    assert_eq!(serve.post(&forged, body.clone()).await, 401);
    let body = event("EV_replayed");
    let genuine = sign(token::API_KEY, token::API_SECRET, &body).unwrap();
    assert_eq!(serve.post(&genuine, body.clone()).await, 200);
    assert_eq!(
        serve.post(&genuine, body).await,
        200,
        "a replay is answered, not acted on"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        serve
            .metric("lk_reaper_webhooks_rejected_total{reason=\"bad_signature\"}")
            .await,
        1
    );
    assert_eq!(
        serve
            .metric("lk_reaper_webhooks_rejected_total{reason=\"duplicate\"}")
            .await,
        1
    );
    assert!(has_room(&lk, "standup").await);
    assert!(!serve.log().contains("\"action\""), "{}", serve.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn max_room_age_deletes_the_room_at_its_deadline() {
    let lk = start_server().await;
    let serve = Serve::start(&lk, &["--max-room-age", "20s"]).await;
    let (_alice, _agent) = meeting(&lk, "long-call", Duration::ZERO).await;
    let created_ms = lk.list_rooms(&["long-call"]).await.unwrap()[0].creation_time_ms;
    eventually("long-call deleted", Duration::from_secs(40), || async {
        Ok((!has_room(&lk, "long-call").await).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", serve.log()));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let age_s = (now_ms - created_ms) as f64 / 1000.0;
    visible!("serve: long-call deleted at age {age_s:.1} s (--max-room-age 20s)");
    assert!(
        (19.0..=23.0).contains(&age_s),
        "deleted at age {age_s} s\n{}",
        serve.log()
    );
    assert_eq!(
        serve
            .metric("lk_reaper_checks_total{trigger=\"max_room_age\"}")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn killing_serve_and_starting_it_again_loses_nothing() {
    let lk = start_server().await;
    let mut serve = Serve::start(&lk, &["--humanless-grace", "5s"]).await;
    let (alice, _agent) = meeting(&lk, "standup", Duration::from_secs(7)).await;
    alice.leave().await.unwrap();
    serve.child.kill().await.unwrap();
    drop(serve);
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        has_room(&lk, "standup").await,
        "nothing acted while serve was down"
    );
    let restarted = Instant::now();
    let serve = Serve::start(&lk, &["--humanless-grace", "5s"]).await;
    let gone = eventually("standup deleted", Duration::from_secs(10), || async {
        Ok((!has_room(&lk, "standup").await).then_some(()))
    })
    .await;
    assert!(gone.is_ok(), "{}", serve.log());
    visible!(
        "serve: the restarted serve ended standup {:?} after it started",
        restarted.elapsed()
    );
}
