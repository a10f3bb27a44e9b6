//! `serve` against the simulator posting signed webhooks (issue #17): a human leaving ends
//! the room within the grace, a rejoin keeps it, forged and replayed webhooks change
//! nothing, age deadlines hold to the second, SIGTERM drains and a restart catches up.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::harness::{BIN, SimProcess};
use crate::reaper::{KEY, SECRET, scenario};

/// A running `lk-reaper serve`, killed on drop.
pub struct Serve {
    pub child: Child,
    pub url: String,
    dir: TempDir,
}

impl Serve {
    /// Starts `serve` on `port` against `sim`, and waits until its start-up sweep is done.
    #[track_caller]
    pub fn start(sim: &SimProcess, port: u16, args: &[&str]) -> Serve {
        Serve::healthy(Serve::listening(sim, port, args))
    }

    /// Waits until `serve`'s start-up sweep is done.
    #[track_caller]
    pub fn healthy(serve: Serve) -> Serve {
        let swept = until(Duration::from_secs(10), || serve.get("/healthz").0 == 200);
        assert!(
            swept.is_some(),
            "no healthy start-up sweep\n{}",
            serve.stderr()
        );
        serve
    }

    /// Starts `serve` on `port` against `sim`, and waits until it listens.
    #[track_caller]
    fn listening(sim: &SimProcess, port: u16, args: &[&str]) -> Serve {
        Serve::launch(Command::new(BIN), sim, port, args)
    }

    /// Starts `serve` as `command` (the binary, or a shell that execs it with its
    /// arguments), and waits until it listens.
    #[track_caller]
    pub fn launch(mut command: Command, sim: &SimProcess, port: u16, args: &[&str]) -> Serve {
        let dir = tempfile::tempdir().expect("temp dir");
        let stderr = fs::File::create(dir.path().join("stderr")).expect("stderr file");
        let listen = format!("127.0.0.1:{port}");
        // One full sweep, at start-up, unless the test asks for more.
        let sweeps: &[&str] = if args.contains(&"--sweep-every") {
            &[]
        } else {
            &["--sweep-every", "1h"]
        };
        let mut child = command
            .args(["serve", "--listen", &listen])
            .args(sweeps)
            .args(args)
            .env("LIVEKIT_URL", sim.url())
            .env("LIVEKIT_API_KEY", KEY)
            .env("LIVEKIT_API_SECRET", SECRET)
            .env("NO_PROXY", "*")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn lk-reaper serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read stdout");
        assert_eq!(line.trim(), format!("listening on http://{listen}"));
        // Keep the pipe open for the child's sake.
        std::mem::forget(stdout);
        Serve {
            child,
            url: format!("http://{listen}"),
            dir,
        }
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// `GET path` on serve: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        blocking(|client| client.get(format!("{}{path}", self.url)))
    }

    /// One counter of /metrics (0 when absent).
    pub fn metric(&self, name: &str) -> u64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }

    /// Sends SIGTERM and waits (at most 30 s) for the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "serve did not stop within 30 s of SIGTERM\n{}",
            self.stderr()
        );
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on a runtime of its own: status and body.
pub fn blocking(
    request: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder + Send,
) -> (u16, String) {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let client = crate::harness::client(None);
                runtime.block_on(async {
                    let response = request(&client).send().await.expect("request");
                    let status = response.status().as_u16();
                    (status, response.text().await.unwrap_or_default())
                })
            })
            .join()
            .expect("request thread")
    })
}

/// A free loopback port (free when asked; the test binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A simulator that posts webhooks to `port`, with rooms r1 (alice, an agent, a
/// recording) and r2 (bob).
pub fn fleet(port: u16, extra_rooms: &[Value]) -> SimProcess {
    let mut rooms = vec![
        json!({"name": "r1", "age_s": 3600, "participants": [
            {"identity": "alice", "kind": "STANDARD", "joined_s_ago": 600},
            {"identity": "bot", "kind": "AGENT", "joined_s_ago": 600}]}),
        json!({"name": "r2", "age_s": 3600, "participants": [
            {"identity": "bob", "kind": "STANDARD", "joined_s_ago": 600}]}),
    ];
    rooms.extend_from_slice(extra_rooms);
    let egresses = json!([{"egress_id": "EG_r1", "room_name": "r1", "type": "room_composite",
                           "status": "EGRESS_ACTIVE", "started_s_ago": 600}]);
    let mut scenario = scenario(Value::Array(rooms), egresses);
    scenario["key"] = json!(KEY);
    scenario["secret"] = json!(SECRET);
    let hook = format!("http://127.0.0.1:{port}/webhook");
    SimProcess::start_with(&scenario, &["--webhook-url", &hook], None)
}

/// `POST /_sim/<what>?query` on the simulator.
pub fn act(sim: &SimProcess, what: &str, query: &str) {
    let url = format!("{}/_sim/{what}?{query}", sim.url());
    let (status, body) = blocking(|client| client.post(url));
    assert_eq!(status, 200, "/_sim/{what}?{query}: {body}");
}

/// Waits (at most `limit`) until `done` holds; returns how long that took.
pub fn until(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

pub fn has_room(sim: &SimProcess, name: &str) -> bool {
    sim.room_names().iter().any(|r| r == name)
}

#[test]
fn a_human_leaving_ends_the_room_and_its_recording_within_the_grace() {
    let port = free_port();
    let sim = fleet(port, &[]);
    let serve = Serve::start(&sim, port, &["--humanless-grace", "2s"]);
    let listed_at_start = sim.calls("ListParticipants");
    act(&sim, "leave", "room=r1&identity=alice");
    let took = until(Duration::from_secs(10), || !has_room(&sim, "r1"))
        .unwrap_or_else(|| panic!("r1 still there\n{}", serve.stderr()));
    assert!(
        took >= Duration::from_millis(1500),
        "acted before the grace: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(sim.egress("EG_r1")["status"], "EGRESS_COMPLETE");
    assert!(has_room(&sim, "r2"), "bob's room stays");
    // One room checked: its re-check and its listing, not the fleet's.
    assert!(sim.calls("ListParticipants") - listed_at_start <= 2);
    assert_eq!(
        serve.metric("lk_reaper_checks_total{trigger=\"participant_left\"}"),
        1
    );
    assert_eq!(
        serve.metric("lk_reaper_actions_taken_total{result=\"done\"}"),
        2
    );
    let log = serve.stderr();
    assert!(
        log.contains("delete_room"),
        "one log event per action: {log}"
    );
    assert!(!log.contains(SECRET) && !log.contains("eyJ"), "{log}");
}

#[test]
fn a_human_who_rejoins_within_the_grace_keeps_the_room() {
    let port = free_port();
    let sim = fleet(port, &[]);
    let serve = Serve::start(&sim, port, &["--humanless-grace", "2s"]);
    act(&sim, "leave", "room=r1&identity=alice");
    std::thread::sleep(Duration::from_millis(500));
    act(&sim, "join", "room=r1&identity=alice&kind=STANDARD");
    let checked = until(Duration::from_secs(6), || {
        serve.metric("lk_reaper_checks_total{trigger=\"participant_left\"}") == 1
    });
    assert!(checked.is_some(), "the grace check ran\n{}", serve.stderr());
    std::thread::sleep(Duration::from_millis(500));
    assert!(has_room(&sim, "r1"));
    assert_eq!(sim.egress("EG_r1")["status"], "EGRESS_ACTIVE");
    assert_eq!(sim.calls("DeleteRoom") + sim.calls("StopEgress"), 0);
}

/// Posts `body` to serve's webhook path with `authorization`.
pub fn post(serve: &Serve, authorization: Option<&str>, body: Vec<u8>) -> u16 {
    let url = format!("{}/webhook", serve.url);
    let auth = authorization.map(str::to_owned);
    blocking(move |client| {
        let request = client.post(url).body(body);
        match auth {
            Some(token) => request.header("Authorization", token),
            None => request,
        }
    })
    .0
}

/// A post whose headers declare `len` bytes, sent without its body: serve answers 413 from
/// the headers and closes, so a client still writing the body could see a broken pipe
/// instead of the answer.
fn declared_too_large(serve: &Serve, authorization: &str, len: usize) -> u16 {
    let addr = serve.url.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).expect("connect to serve");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "POST /webhook HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {authorization}\r\n\
         Content-Type: application/webhook+json\r\nContent-Length: {len}\r\n\r\n"
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(tcp).read_line(&mut status).unwrap();
    status
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {status:?}"))
}

/// A `participant_left` of alice from r1, created `age_s` ago.
pub fn left_event(id: &str, age_s: i64) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    serde_json::to_vec(&json!({
        "event": "participant_left", "id": id, "createdAt": (now - age_s).to_string(),
        "room": {"name": "r2"}, "participant": {"identity": "bob"}}))
    .unwrap()
}

#[test]
fn forged_replayed_stale_and_oversized_webhooks_change_nothing() {
    use lk_reaper::sim::webhooks::sign;
    let port = free_port();
    // No simulator webhooks here: every post is the test's own.
    let sim = fleet(free_port(), &[]);
    let serve = Serve::start(&sim, port, &["--humanless-grace", "1s"]);
    let body = left_event("EV_forged", 0);
    let forged = sign(KEY, "not-the-secret", &body).unwrap();
    assert_eq!(post(&serve, Some(&forged), body.clone()), 401);
    assert_eq!(post(&serve, None, body.clone()), 401);
    let for_other_body = sign(KEY, SECRET, b"{}").unwrap();
    assert_eq!(post(&serve, Some(&for_other_body), body.clone()), 401);
    assert_eq!(declared_too_large(&serve, &forged, 2 * 1024 * 1024), 413);
    let stale = left_event("EV_stale", 3600);
    assert_eq!(
        post(&serve, Some(&sign(KEY, SECRET, &stale).unwrap()), stale),
        200
    );
    let real = left_event("EV_real", 0);
    let token = sign(KEY, SECRET, &real).unwrap();
    assert_eq!(post(&serve, Some(&token), real.clone()), 200);
    assert_eq!(
        post(&serve, Some(&token), real),
        200,
        "a replay is answered, not acted on"
    );
    std::thread::sleep(Duration::from_millis(1800));
    for (reason, count) in [
        ("bad_signature", 2),
        ("unsigned", 1),
        ("too_large", 1),
        ("stale", 1),
        ("duplicate", 1),
    ] {
        let name = format!("lk_reaper_webhooks_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(serve.metric(&name), count, "{reason}");
    }
    // The one genuine event checked bob's room once, and found bob.
    assert_eq!(
        serve.metric("lk_reaper_checks_total{trigger=\"participant_left\"}"),
        1
    );
    assert_eq!(sim.calls("DeleteRoom") + sim.calls("StopEgress"), 0);
    assert!(has_room(&sim, "r1") && has_room(&sim, "r2"));
    let log = serve.stderr();
    assert!(
        !log.contains("EV_forged") && !log.contains("bob"),
        "bodies are never logged: {log}"
    );
}

#[test]
fn max_room_age_deletes_the_room_at_its_deadline_not_at_the_next_sweep() {
    let port = free_port();
    // 2 s old, with a human: only its age can end it, 3 s after the start-up sweep saw it.
    let young = json!({"name": "young", "age_s": 2, "participants": [
        {"identity": "carol", "kind": "STANDARD", "joined_s_ago": 2}]});
    let sim = fleet(port, &[young]);
    let started = Instant::now();
    let serve = Serve::start(&sim, port, &["--max-room-age", "5s", "--room", "young"]);
    let ended = until(Duration::from_secs(10), || !has_room(&sim, "young"));
    assert!(ended.is_some(), "young still there\n{}", serve.stderr());
    let gone = started.elapsed();
    assert!(
        gone >= Duration::from_millis(2500) && gone < Duration::from_secs(5),
        "{gone:?}"
    );
    assert_eq!(
        serve.metric("lk_reaper_checks_total{trigger=\"max_room_age\"}"),
        1
    );
    assert_eq!(
        sim.calls("ListRooms"),
        2,
        "the start-up sweep and the room's check"
    );
}

#[test]
fn max_session_removes_a_human_when_the_session_ends_not_at_the_next_sweep() {
    let port = free_port();
    // dave, whom the start-up sweep sees 2 s into his session; erin joins after it, and
    // only her participant_joined webhook tells serve.
    let long = json!({"name": "long", "age_s": 600, "participants": [
        {"identity": "dave", "kind": "STANDARD", "joined_s_ago": 2}]});
    let sim = fleet(port, &[long]);
    let started = Instant::now();
    let serve = Serve::start(&sim, port, &["--max-session", "4s", "--room", "long"]);
    act(&sim, "join", "room=long&identity=erin");
    let joined = Instant::now();
    let here = |who: &str| sim.identities().iter().any(|i| i == who);
    let dave = until(Duration::from_secs(10), || !here("dave"));
    assert!(dave.is_some(), "dave still there\n{}", serve.stderr());
    let dave = started.elapsed();
    assert!(
        dave >= Duration::from_millis(1500) && dave < Duration::from_secs(4),
        "dave removed after {dave:?}"
    );
    assert!(here("erin"), "erin's session has not ended yet");
    let erin = until(Duration::from_secs(10), || !here("erin"));
    assert!(erin.is_some(), "erin still there\n{}", serve.stderr());
    let erin = joined.elapsed();
    assert!(
        erin >= Duration::from_secs(4) && erin < Duration::from_secs(7),
        "erin removed after {erin:?}"
    );
    assert_eq!(
        serve.metric("lk_reaper_checks_total{trigger=\"max_session\"}"),
        2,
        "one check per session end, no sweep\n{}",
        serve.stderr()
    );
    assert!(here("alice") && here("bob"), "out of scope");
}

#[test]
fn sigterm_exits_cleanly_and_a_restart_catches_up_on_what_was_pending() {
    let port = free_port();
    let sim = fleet(port, &[]);
    let mut serve = Serve::start(&sim, port, &["--humanless-grace", "2s"]);
    act(&sim, "leave", "room=r1&identity=alice");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(serve.terminate(), Some(0), "{}", serve.stderr());
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        has_room(&sim, "r1"),
        "the pending check died with the process"
    );
    let restarted = Serve::start(&sim, port, &["--humanless-grace", "2s"]);
    let took = until(Duration::from_secs(5), || !has_room(&sim, "r1"));
    assert!(
        took.is_some(),
        "the start-up sweep ends r1\n{}",
        restarted.stderr()
    );
    assert!(has_room(&sim, "r2"));
}

#[test]
fn a_burst_beyond_max_actions_per_minute_is_refused_and_logged() {
    let port = free_port();
    let rooms: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            json!({"name": n, "age_s": 3600, "participants": [
                {"identity": format!("human-{n}"), "kind": "STANDARD", "joined_s_ago": 60},
                {"identity": "bot", "kind": "AGENT", "joined_s_ago": 60}]})
        })
        .collect();
    let sim = fleet(port, &rooms);
    let serve = Serve::start(
        &sim,
        port,
        &[
            "--humanless-grace",
            "1s",
            "--max-actions-per-minute",
            "2",
            "--room",
            "[abc]",
        ],
    );
    for n in ["a", "b", "c"] {
        act(&sim, "leave", &format!("room={n}&identity=human-{n}"));
    }
    let refused = until(Duration::from_secs(6), || {
        serve.metric("lk_reaper_actions_refused_total") >= 1
    });
    assert!(refused.is_some(), "{}", serve.stderr());
    std::thread::sleep(Duration::from_millis(500));
    let left: Vec<String> = sim
        .room_names()
        .into_iter()
        .filter(|r| r.len() == 1)
        .collect();
    assert_eq!(
        left.len(),
        1,
        "two deletions fit the minute, the third waits: {left:?}"
    );
    assert!(
        serve
            .stderr()
            .contains("refused by --max-actions-per-minute")
    );
}

#[test]
fn sigterm_lets_an_action_in_flight_finish() {
    let port = free_port();
    let mut scenario = scenario(
        json!([{"name": "r1", "age_s": 3600, "participants": [
            {"identity": "alice", "kind": "STANDARD", "joined_s_ago": 600},
            {"identity": "bot", "kind": "AGENT", "joined_s_ago": 600}]}]),
        json!([]),
    );
    scenario["key"] = json!(KEY);
    scenario["secret"] = json!(SECRET);
    scenario["faults"] = json!([{"method": "DeleteRoom", "delay_ms": 2000, "times": 1}]);
    let hook = format!("http://127.0.0.1:{port}/webhook");
    let sim = SimProcess::start_with(&scenario, &["--webhook-url", &hook], None);
    let mut serve = Serve::start(&sim, port, &["--humanless-grace", "1s"]);
    act(&sim, "leave", "room=r1&identity=alice");
    let in_flight = until(Duration::from_secs(5), || sim.calls("DeleteRoom") == 1);
    assert!(in_flight.is_some(), "{}", serve.stderr());
    let stopping = Instant::now();
    assert_eq!(serve.terminate(), Some(0), "{}", serve.stderr());
    assert!(
        stopping.elapsed() >= Duration::from_secs(1),
        "it waited for DeleteRoom"
    );
    assert!(
        !has_room(&sim, "r1"),
        "the deletion in flight finished\n{}",
        serve.stderr()
    );
}

#[test]
fn room_checks_and_a_full_sweep_share_one_concurrency_limit() {
    let port = free_port();
    // Slow answers and 60 rooms to list: the start-up sweep takes about 3 s at two calls
    // in flight, long enough for the grace checks of the rooms left below to overlap it.
    let rooms: Vec<Value> = (0..60)
        .map(|i| {
            json!({"name": format!("room-{i:02}"), "age_s": 3600, "participants": [
                {"identity": format!("human-{i}"), "kind": "STANDARD", "joined_s_ago": 60},
                {"identity": "bot", "kind": "AGENT", "joined_s_ago": 60}]})
        })
        .collect();
    let mut scenario = scenario(Value::Array(rooms), json!([]));
    scenario["key"] = json!(KEY);
    scenario["secret"] = json!(SECRET);
    scenario["latency_ms"] = json!(100);
    let hook = format!("http://127.0.0.1:{port}/webhook");
    let sim = SimProcess::start_with(&scenario, &["--webhook-url", &hook], None);
    let serve = Serve::listening(
        &sim,
        port,
        &["--concurrency", "2", "--humanless-grace", "1s", "--dry-run"],
    );
    for i in 0..4 {
        act(
            &sim,
            "leave",
            &format!("room=room-{i:02}&identity=human-{i}"),
        );
    }
    let checked = until(Duration::from_secs(10), || {
        serve.metric("lk_reaper_checks_total{trigger=\"participant_left\"}") >= 1
    });
    assert!(checked.is_some(), "no check ran\n{}", serve.stderr());
    assert_eq!(
        serve.get("/healthz").0,
        503,
        "the checks ran while the start-up sweep was still listing"
    );
    let swept = until(Duration::from_secs(20), || serve.get("/healthz").0 == 200);
    assert!(swept.is_some(), "{}", serve.stderr());
    assert_eq!(sim.call_log()["max_in_flight"], 2);
}

/// Posts a signed `event` about participant `identity` (of `kind`) in `room`, created at
/// `at`, as LiveKit would.
fn post_event(
    serve: &Serve,
    event: &str,
    room: &str,
    (identity, kind): (&str, &str),
    at: SystemTime,
) {
    let created = at.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let body = serde_json::to_vec(&json!({
        "event": event, "id": format!("EV_{event}_{identity}_{}", created.as_nanos()),
        "createdAt": created.as_secs().to_string(), "room": {"name": room},
        "participant": {"identity": identity, "kind": kind}}))
    .unwrap();
    let token = lk_reaper::sim::webhooks::sign(KEY, SECRET, &body).unwrap();
    assert_eq!(post(serve, Some(&token), body), 200);
}

/// An agent joins r1, so a grace check of r1 falls due 2 s later; alice leaves 1.6 s after
/// the agent joined, and her `participant_left` arrives only after that check ran (on a
/// busy real server it came late: FINDINGS.md). The simulator posts nowhere here.
fn leave_just_before_a_pending_check(sim: &SimProcess, serve: &Serve) -> Instant {
    act(sim, "join", "room=r1&identity=bot-2&kind=AGENT");
    post_event(
        serve,
        "participant_joined",
        "r1",
        ("bot-2", "AGENT"),
        SystemTime::now(),
    );
    std::thread::sleep(Duration::from_millis(1600));
    act(sim, "leave", "room=r1&identity=alice");
    let (left, left_wall) = (Instant::now(), SystemTime::now());
    std::thread::sleep(Duration::from_millis(700));
    post_event(
        serve,
        "participant_left",
        "r1",
        ("alice", "STANDARD"),
        left_wall,
    );
    left
}

#[test]
fn a_check_due_just_after_a_human_left_still_gives_the_whole_grace() {
    let sim = fleet(free_port(), &[]);
    let port = free_port();
    let serve = Serve::start(&sim, port, &["--humanless-grace", "2s"]);
    let left = leave_just_before_a_pending_check(&sim, &serve);
    let ended = until(Duration::from_secs(10), || !has_room(&sim, "r1"));
    assert!(ended.is_some(), "r1 still there\n{}", serve.stderr());
    let took = left.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "ended {took:?} after alice left, within the grace\n{}",
        serve.stderr()
    );
    assert!(
        serve
            .stderr()
            .contains("one was here less than the grace ago"),
        "the agent's check ran after alice left, and waited\n{}",
        serve.stderr()
    );
}

#[test]
fn a_human_who_rejoins_after_a_check_saw_the_room_empty_keeps_it() {
    let sim = fleet(free_port(), &[]);
    let port = free_port();
    let serve = Serve::start(&sim, port, &["--humanless-grace", "2s"]);
    leave_just_before_a_pending_check(&sim, &serve);
    act(&sim, "join", "room=r1&identity=alice&kind=STANDARD");
    post_event(
        &serve,
        "participant_joined",
        "r1",
        ("alice", "STANDARD"),
        SystemTime::now(),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(has_room(&sim, "r1"), "{}", serve.stderr());
    assert_eq!(sim.egress("EG_r1")["status"], "EGRESS_ACTIVE");
    assert_eq!(sim.calls("DeleteRoom") + sim.calls("StopEgress"), 0);
    assert!(
        serve
            .stderr()
            .contains("one was here less than the grace ago"),
        "the agent's check saw r1 without alice\n{}",
        serve.stderr()
    );
}

#[test]
fn full_sweeps_give_whoever_left_the_whole_grace_too() {
    let port = free_port();
    let sim = fleet(port, &[]);
    let args = ["--humanless-grace", "3s", "--sweep-every", "1s"];
    let serve = Serve::start(&sim, port, &args);
    act(&sim, "leave", "room=r1&identity=alice");
    let left = Instant::now();
    let ended = until(Duration::from_secs(10), || !has_room(&sim, "r1"));
    assert!(ended.is_some(), "r1 still there\n{}", serve.stderr());
    let took = left.elapsed();
    assert!(
        took >= Duration::from_millis(2900),
        "a sweep ended r1 {took:?} after alice left, within the grace\n{}",
        serve.stderr()
    );
    assert!(
        serve.stderr().contains("one left less than the grace ago"),
        "{}",
        serve.stderr()
    );
    // Bob's room, swept every second, never had anyone leave.
    assert!(has_room(&sim, "r2"));
}

#[test]
fn with_state_a_restart_remembers_the_grace_and_saves_on_shutdown() {
    let port = free_port();
    let sim = fleet(port, &[]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let args = [
        "--humanless-grace",
        "3s",
        "--state",
        state.to_str().unwrap(),
    ];
    let mut serve = Serve::start(&sim, port, &args);
    act(&sim, "leave", "room=r1&identity=alice");
    let left = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(serve.terminate(), Some(0), "{}", serve.stderr());
    let saved = fs::read_to_string(&state).unwrap();
    assert!(
        saved.contains("\"room\":\"r1\""),
        "saved on shutdown: {saved}"
    );
    let restarted = Serve::start(&sim, port, &args);
    assert!(
        has_room(&sim, "r1"),
        "the start-up sweep waits for the grace it remembers\n{}",
        restarted.stderr()
    );
    let gone = until(Duration::from_secs(10), || !has_room(&sim, "r1"));
    assert!(
        gone.is_some(),
        "ended when the grace ran out\n{}",
        restarted.stderr()
    );
    assert!(
        left.elapsed() >= Duration::from_secs(2),
        "not long before the grace"
    );
    assert!(has_room(&sim, "r2"));
}

#[test]
fn serve_stops_the_recording_of_a_room_once_its_silence_reaches_the_limit() {
    let port = free_port();
    let human = |identity: &str, muted: u32| {
        json!({"identity": identity, "kind": "STANDARD", "joined_s_ago": 60,
               "tracks": 1, "muted_tracks": muted})
    };
    let rooms = json!([
        {"name": "quiet", "age_s": 600, "participants": [human("alice", 1)]},
        {"name": "talk", "age_s": 600, "participants": [human("bob", 0)]}
    ]);
    let egresses = json!([
        {"egress_id": "EG_quiet", "room_name": "quiet", "type": "track",
         "status": "EGRESS_ACTIVE", "started_s_ago": 60},
        {"egress_id": "EG_talk", "room_name": "talk", "type": "track",
         "status": "EGRESS_ACTIVE", "started_s_ago": 60}
    ]);
    let mut scenario = scenario(rooms, egresses);
    scenario["key"] = json!(KEY);
    scenario["secret"] = json!(SECRET);
    let sim = SimProcess::start(&scenario);
    let started = Instant::now();
    let serve = Serve::start(&sim, port, &["--silent-after", "2s"]);
    let stopped = until(Duration::from_secs(10), || {
        sim.egress("EG_quiet")["status"] != "EGRESS_ACTIVE"
    });
    assert!(
        stopped.is_some(),
        "EG_quiet still records\n{}",
        serve.stderr()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "not before the silence reached the limit\n{}",
        serve.stderr()
    );
    assert_eq!(sim.egress("EG_talk")["status"], "EGRESS_ACTIVE");
    assert!(has_room(&sim, "quiet") && has_room(&sim, "talk"));
    assert!(
        serve.stderr().contains("rules=\"silent\""),
        "{}",
        serve.stderr()
    );
}
