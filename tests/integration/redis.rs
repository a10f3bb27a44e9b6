//! `--redis-url` and `--purge-zombies` (issue #12) against a plain `redis-server` on
//! loopback, laid out as LiveKit v1.13.5 writes it, beside the simulator that serves the API.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lk_reaper::cluster::{DeadNode, Purge, PurgeOutcome, RedisUrl, Store};
use lk_reaper::livekit::proto;
use prost::Message;
use serde_json::{Value, json};

use crate::reaper::{Reaper, expected, mutations, results, scenario, sim};

/// A `redis-server` on a free loopback port, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
    /// With TLS: the `rediss://` port (the plain one stays for the test's own setup).
    tls_port: Option<u16>,
    password: Option<&'static str>,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    #[track_caller]
    fn start(password: Option<&'static str>) -> Self {
        Self::start_with(password, None)
    }

    /// With `tls` (certificate, key): also serves TLS on another port.
    #[track_caller]
    fn start_with(password: Option<&'static str>, tls: Option<(&Path, &Path)>) -> Self {
        let free_port = || {
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        let port = free_port();
        let tls_port = tls.map(|_| free_port());
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = password {
            command.args(["--requirepass", p]);
        }
        if let (Some((cert, key)), Some(tls_port)) = (tls, tls_port) {
            command
                .args([
                    "--tls-port",
                    &tls_port.to_string(),
                    "--tls-auth-clients",
                    "no",
                ])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key);
        }
        let child = command
            .spawn()
            .expect("redis-server must be installed (scripts/install-test-deps)");
        let server = Self {
            child,
            port,
            tls_port,
            password,
            _dir: dir,
        };
        let started = Instant::now();
        while server.cli(&["PING"]) != "PONG" {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self) -> String {
        match self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port.to_string(), "--no-auth-warning"]);
        if let Some(p) = self.password {
            command.args(["-a", p]);
        }
        command.args(args);
        command
    }

    /// A command's reply as redis-cli prints it (one line per element).
    fn cli(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A command whose last argument is `value` (binary-safe, through stdin).
    fn cli_value(&self, args: &[&str], value: &[u8]) {
        let mut child = self
            .command(&[&["-x"], args].concat())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-cli");
        child.stdin.take().unwrap().write_all(value).unwrap();
        assert!(child.wait().unwrap().success());
    }

    fn add_node(&self, id: &str, updated_at: i64) {
        let node = proto::Node {
            id: id.into(),
            stats: Some(proto::NodeStats {
                updated_at,
                ..Default::default()
            }),
            ..Default::default()
        };
        self.cli_value(&["HSET", "nodes", id], &node.encode_to_vec());
    }

    /// A room's records as LiveKit v1.13.5 keeps them.
    fn add_room(&self, room: &str, node: &str) {
        self.cli(&["HSET", "room_node_map", room, node]);
        self.cli(&["HSET", "rooms", room, "room-proto"]);
        self.cli(&["HSET", "room_internal", room, "internal-proto"]);
        self.cli(&["HSET", &format!("room_participants:{room}"), "alice", "p"]);
        self.cli(&["HSET", &format!("agent_dispatch:{room}"), "AD_1", "d"]);
        self.cli(&["HSET", &format!("agent_job:{room}"), "AJ_1", "j"]);
    }

    /// Which of a room's records are there.
    fn records(&self, room: &str) -> Vec<String> {
        let mut found = Vec::new();
        for hash in ["rooms", "room_internal", "room_node_map"] {
            if self.cli(&["HEXISTS", hash, room]) == "1" {
                found.push(format!("{hash}/{room}"));
            }
        }
        for prefix in ["room_participants:", "agent_dispatch:", "agent_job:"] {
            let key = format!("{prefix}{room}");
            if self.cli(&["EXISTS", &key]) == "1" {
                found.push(key);
            }
        }
        found
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn room(name: &str, age_s: u64, participants: &Value) -> Value {
    json!({"name": name, "age_s": age_s, "participants": participants})
}

/// Node A alive, node B gone from `nodes`, node C silent for ten minutes. Zombies on B and
/// C (one with a ghost human), a humanless and a human room on A, and an egress record.
fn cluster(redis: &RedisServer) -> crate::harness::SimProcess {
    // In the future: stays fresh however long the test takes.
    redis.add_node("ND_A", now() + 3600);
    redis.add_node("ND_C", now() - 600);
    for (name, node) in [
        ("z-agent", "ND_B"),
        ("z-ghost", "ND_B"),
        ("z-stale", "ND_C"),
        ("a-empty", "ND_A"),
        ("a-people", "ND_A"),
    ] {
        redis.add_room(name, node);
    }
    redis.cli(&["HSET", "egress", "EG_1", "egress-proto"]);
    let agent = json!([{"identity": "agent-1", "kind": "AGENT"}]);
    let human = json!([{"identity": "alice"}]);
    sim(scenario(
        json!([
            room("z-agent", 36_000, &agent),
            room("z-ghost", 30_000, &human),
            room("z-stale", 20_000, &agent),
            room("a-empty", 3600, &agent),
            room("a-people", 3600, &human),
        ]),
        json!([]),
    ))
}

#[test]
#[ignore = "needs redis-server; scripts/test runs it"]
fn zombie_rooms_are_found_skipped_and_never_sent_delete_room() {
    let redis = RedisServer::start(None);
    let sim = cluster(&redis);
    // --max-actions 1: zombies that are not purged do not count against it.
    let run = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--max-actions", "1"])
        .args(["--redis-url", &redis.url()])
        .run()
        .ok();
    let report = run.json();
    assert_eq!(
        results(&report),
        expected(&[
            ("z-agent", "skipped"),
            ("z-ghost", "skipped"),
            ("z-stale", "skipped"),
            ("a-empty", "done"),
        ])
    );
    let ghost = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["room"] == "z-ghost")
        .unwrap();
    assert_eq!(ghost["rules"], json!(["zombie_room"]));
    assert_eq!(ghost["action"], "purge_room");
    assert_eq!(
        (ghost["humans"].clone(), ghost["others"].clone()),
        (json!(0), json!(1))
    );
    assert!(
        ghost["reason"]
            .as_str()
            .unwrap()
            .contains("node ND_B is absent")
    );
    assert!(
        ghost["error"]
            .as_str()
            .unwrap()
            .contains("--purge-zombies would remove")
    );
    assert!(
        !ghost["error"].as_str().unwrap().contains("<room>"),
        "the hint names the room's own records: {ghost}"
    );
    assert_eq!(mutations(&sim), (0, 1), "DeleteRoom only for a-empty");
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("3 zombie rooms found in LiveKit's Redis")
    );
    assert_eq!(
        redis.records("z-agent").len(),
        6,
        "read-only without --purge-zombies"
    );
    Reaper::on(&sim)
        .args(["rooms", "--redis-url", &redis.url()])
        .run()
        .ok()
        .stdout_has("zombie_room -> purge_room");
}

#[test]
#[ignore = "needs redis-server; scripts/test runs it"]
fn purge_removes_exactly_livekits_records_and_leaves_the_rest() {
    let redis = RedisServer::start(None);
    let sim = cluster(&redis);
    let dry = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--dry-run", "--purge-zombies"])
        .args(["--redis-url", &redis.url()])
        .run()
        .ok()
        .json();
    assert_eq!(results(&dry)["z-agent"], "planned");
    assert_eq!(dry["summary"]["planned"], 4);
    Reaper::on(&sim)
        .args(["sweep", "--purge-zombies", "--max-actions", "3"])
        .args(["--redis-url", &redis.url()])
        .run()
        .expect(5);
    let run = Reaper::on(&sim)
        .args([
            "sweep",
            "-o",
            "json",
            "--purge-zombies",
            "--log-format",
            "json",
        ])
        .args(["--redis-url", &redis.url()])
        .run()
        .ok();
    assert_eq!(
        results(&run.json()),
        expected(&[
            ("z-agent", "done"),
            ("z-ghost", "done"),
            ("z-stale", "done"),
            ("a-empty", "done"),
        ])
    );
    for zombie in ["z-agent", "z-ghost", "z-stale"] {
        assert_eq!(redis.records(zombie), Vec::<String>::new(), "{zombie}");
        assert!(
            run.stderr.contains(&format!("\"room\":\"{zombie}\""))
                && run.stderr.contains("purge_room"),
            "one log event per purged room: {run}"
        );
    }
    assert_eq!(redis.records("a-people").len(), 6);
    assert_eq!(
        redis.records("a-empty").len(),
        6,
        "LiveKit's DeleteRoom (simulated) owns those"
    );
    assert_eq!(
        redis.cli(&["HEXISTS", "egress", "EG_1"]),
        "1",
        "egress records are left alone"
    );
    assert_eq!(mutations(&sim), (0, 1));
}

#[test]
#[ignore = "needs redis-server; scripts/test runs it"]
fn the_purge_rechecks_atomically_and_refuses_unexpected_key_types() {
    let redis = RedisServer::start(None);
    redis.add_node("ND_A", now() + 3600);
    redis.add_node("ND_C", now() - 600);
    for (room, node) in [
        ("moved", "ND_B"),
        ("back", "ND_C"),
        ("odd", "ND_B"),
        ("gone", "ND_B"),
    ] {
        redis.add_room(room, node);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = RedisUrl::parse(&redis.url()).unwrap();
    runtime.block_on(async {
        let store = Store::connect(&url, Duration::from_secs(2)).await.unwrap();
        let dead = store.read().await.unwrap().dead_nodes(chrono::Utc::now());
        assert_eq!(dead.len(), 4);
        // Between the plan and the purge: one room moves to a live node, node C reports
        // again, and a key of another type appears.
        redis.cli(&["HSET", "room_node_map", "moved", "ND_A"]);
        redis.add_node("ND_C", now());
        redis.cli(&["DEL", "agent_job:odd"]);
        redis.cli(&["SET", "agent_job:odd", "a string"]);
        let purge = |room: &'static str| store.purge_room(room, &dead[room]);
        assert_eq!(
            purge("moved").await.unwrap(),
            PurgeOutcome::Revived("the room has moved to node ND_A (re-checked in Redis right before the purge)".into())
        );
        assert!(matches!(purge("back").await.unwrap(), PurgeOutcome::Revived(why) if why.contains("ND_C has reported again")));
        let err = purge("odd").await.unwrap_err().to_string();
        assert!(err.contains("key \"agent_job:odd\" is a \"string\", expected a hash; nothing was changed"), "{err}");
        assert_eq!(purge("gone").await.unwrap(), PurgeOutcome::Purged);
        let absent = DeadNode { id: "ND_A".into(), record: None, last_seen: None };
        assert!(matches!(store.purge_room("moved", &absent).await.unwrap(), PurgeOutcome::Revived(why) if why.contains("back in the node list")));
    });
    assert_eq!(redis.records("moved").len(), 6);
    assert_eq!(redis.records("back").len(), 6);
    assert_eq!(redis.records("odd").len(), 6);
    assert!(redis.records("gone").is_empty());
}

#[test]
#[ignore = "needs redis-server; scripts/test runs it"]
fn the_redis_password_is_never_printed() {
    const PASSWORD: &str = "r3dis-Pa55-x8Kq";
    let redis = RedisServer::start(Some(PASSWORD));
    let sim = cluster(&redis);
    let run = Reaper::on(&sim)
        .args(["sweep", "--dry-run", "-vv", "-o", "json"])
        .env("LK_REAPER_REDIS_URL", redis.url())
        .run()
        .ok();
    assert_eq!(results(&run.json())["z-agent"], "skipped");
    assert!(
        !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
        "{run}"
    );
    // A Redis that refuses us does not stop the sweep: a warning says what was not done.
    let wrong = redis.url().replace(PASSWORD, "wrong-Pa55-zz");
    let run = Reaper::on(&sim)
        .args(["sweep", "--dry-run", "-o", "json", "--redis-url", &wrong])
        .run()
        .ok();
    let report = run.json();
    let warning = report["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with(
            "zombie rooms were not looked for: could not connect to Redis at redis://:***@127.0.0.1"
        ),
        "{warning}"
    );
    assert_eq!(results(&report)["a-empty"], "planned");
    assert_eq!(
        results(&report)["z-agent"],
        "planned",
        "a plain humanless room now"
    );
    assert!(
        !results(&report).contains_key("z-ghost"),
        "its ghost counts as human"
    );
    assert!(
        !run.stderr.contains("wrong-Pa55-zz") && !run.stdout.contains("wrong-Pa55-zz"),
        "{run}"
    );
}

#[test]
fn purge_zombies_needs_a_redis_url_and_bad_urls_are_usage_errors() {
    let sim = sim(scenario(json!([]), json!([])));
    Reaper::on(&sim)
        .args(["sweep", "--purge-zombies"])
        .run()
        .one_line_error(2, "--purge-zombies needs --redis-url");
    let run = Reaper::on(&sim)
        .args(["sweep", "--redis-url", "http://:hunter2@x"])
        .run()
        .one_line_error(2, "must be redis://");
    assert!(!run.stderr.contains("hunter2"), "{run}");
}

#[test]
#[ignore = "needs redis-server; scripts/test runs it"]
fn rediss_trusts_what_the_api_trusts() {
    let pki = crate::tls::Pki::new();
    let (cert, key) = pki.leaf("redis", &["127.0.0.1"], false);
    let redis = RedisServer::start_with(None, Some((&cert, &key)));
    let sim = cluster(&redis);
    let url = format!("rediss://127.0.0.1:{}", redis.tls_port.unwrap());
    let ca = pki.ca_file();
    let run = Reaper::on(&sim)
        .args(["sweep", "--dry-run", "-o", "json", "--redis-url", &url])
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .run()
        .ok();
    assert_eq!(results(&run.json())["z-agent"], "skipped");
    // Without the CA: refused, as an https:// server behind that CA would be; the sweep
    // goes on without zombie detection, and says so.
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("none.pem");
    let other = crate::tls::Pki::new();
    for (ca, why) in [
        (missing, "SSL_CERT_FILE"),
        (other.ca_file(), "invalid peer certificate"),
    ] {
        let report = Reaper::on(&sim)
            .args(["sweep", "--dry-run", "-o", "json", "--redis-url", &url])
            .env("SSL_CERT_FILE", ca.to_str().unwrap())
            .run()
            .ok()
            .stderr_has(why)
            .json();
        assert_eq!(results(&report)["z-agent"], "planned", "{report}");
    }
}
