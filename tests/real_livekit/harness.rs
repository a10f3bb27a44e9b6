//! The real LiveKit server for a test: Redis and `server --dev` inside a namespace of the
//! test's own (see `netns`), typed helpers to set up rooms, participants and egress
//! records, and cleanup on drop. One server per test: it starts in well under a second.
//!
//! Real recordings (LiveKit Egress v1.8.6, built by `scripts/install-test-deps` as `egress`
//! in `bin_dir()`; the track and participant egress kinds, as room-composite and web egress
//! need Chrome):
//!
//! ```text
//! let lk = LiveKit::start(Options::default()).await?;
//! let worker = EgressWorker::start(&lk).await?;          // beside the server, ready
//! let agent = lk.publish_tone("room", &Identity::of_kind("bot", "agent")).await?;
//! let file = worker.file("rec.ogg");                      // in the worker's temp dir
//! let e = lk.start_track_egress("room", &agent.track_sid, &file).await?;
//! lk.wait_recording(&e.egress_id, &file, T).await?;       // ACTIVE and bytes on disk
//! lk.stop_egress(&e.egress_id).await?;
//! lk.wait_egress(&e.egress_id, EgressStatus::EgressComplete, T).await?;
//! assert_decodes_whole(&file)?;                          // gst-launch-1.0 decodes it all
//! ```
//!
//! `start_participant_egress` records a participant to MP4 with Opus (Debian's GStreamer has
//! no AAC encoder). Drop the worker before its server (declare it after).

use std::fs::File;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use livekit_protocol as proto;
use prost::Message;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::netns::Netns;
use crate::token::{self, Identity};
use crate::twirp;

/// HTTP port of the server inside its namespace (the namespace is new, so it is free).
pub const HTTP_PORT: u16 = 7880;
const REDIS_PORT: u16 = 6379;
/// How long the server may take to answer after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a joining participant may take to print CONNECTED (and PUBLISHED).
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Folder of the Go binaries `scripts/install-test-deps` builds.
pub fn bin_dir() -> PathBuf {
    crate::cache::bin_dir()
}

/// The repository root (where `.venv` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

/// What this machine lacks to run the real server, empty when nothing.
pub fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    let server = bin_dir().join("server");
    if !server.is_file() {
        missing.push(format!("LiveKit server binary ({})", server.display()));
    }
    for tool in ["redis-server", "ip", "bash", "sysctl"] {
        if !on_path(tool) {
            missing.push(format!("`{tool}` on PATH"));
        }
    }
    if !venv_python().is_file() {
        missing.push(format!("Python venv ({})", venv_python().display()));
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_owned())
        });
    if uid.as_deref() != Some("0") {
        missing.push("root (network namespaces need it)".into());
    }
    missing
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// Fails `test`, naming what this machine lacks, unless the real server can run here.
/// Real-server tests carry `#[ignore]`, so this runs only when they were asked for
/// (`--include-ignored`, as scripts/test does): then a missing dependency is a failure,
/// never a skip.
pub fn available(test: &str) {
    let missing = missing();
    assert!(
        missing.is_empty(),
        "{test}: needs the real LiveKit server, but this machine lacks: {}; run scripts/install-test-deps",
        missing.join(", ")
    );
}

/// How to start the server.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Start Redis and point the server at it. Without it the egress APIs answer
    /// "egress not connected (redis required)".
    pub redis: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { redis: true }
    }
}

/// A child process killed (and reaped) on drop.
struct Proc(Child);

impl Proc {
    /// Waits until `url` answers a GET with a success, or the process exits; either error
    /// quotes its `log` file.
    async fn wait_answering(
        &mut self,
        what: &str,
        url: &str,
        timeout: Duration,
        log: &Path,
    ) -> Result<()> {
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait()? {
                bail!("{what} exited with {status}; log:\n{}", log());
            }
            let ok = twirp::client()
                .get(url)
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if ok.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{what} did not answer within {timeout:?}; log:\n{}", log())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running LiveKit server in its own namespace. Dropping it kills everything and deletes
/// the namespace. Fields drop in order: server, redis, namespace, logs.
pub struct LiveKit {
    server: Proc,
    _redis: Option<Proc>,
    /// The namespace the server and its participants run in.
    pub ns: Netns,
    logs: tempfile::TempDir,
    /// `http://10.203.X.2:7880`: the base URL for API calls and `LIVEKIT_URL`.
    pub url: String,
}

impl LiveKit {
    /// Starts a server for `test`, which fails if the machine lacks a dependency (see
    /// `available`) or the server does not come up.
    pub async fn start_for(test: &str, options: Options) -> Self {
        available(test);
        Self::start(options)
            .await
            .unwrap_or_else(|e| panic!("{test}: could not start LiveKit: {e:#}"))
    }

    /// Starts Redis (if asked) and the server in a new namespace and waits until it answers.
    pub async fn start(options: Options) -> Result<Self> {
        Self::start_posting_webhooks(options, None).await
    }

    /// Like `start`, with `webhook: {api_key: devkey, urls: [http://NS_ADDR:PORT/webhook]}`
    /// in the server's config when `webhook_port` is given (the receiver runs in the
    /// namespace, on the namespace's address).
    pub async fn start_posting_webhooks(
        options: Options,
        webhook_port: Option<u16>,
    ) -> Result<Self> {
        let ns = Netns::create()?;
        let logs = tempfile::Builder::new()
            .prefix("lk-reaper-real-")
            .tempdir()?;
        let redis = if options.redis {
            Some(start_redis(&ns, logs.path())?)
        } else {
            None
        };
        if options.redis {
            wait_for_tcp(
                SocketAddr::from((ns.addr, REDIS_PORT)),
                Duration::from_secs(10),
            )
            .await?;
        }
        let mut config = server_config(&ns, options.redis);
        if let Some(port) = webhook_port {
            let url = format!("http://{}:{port}/webhook", ns.addr);
            let key = token::API_KEY;
            config = format!("{config}webhook:\n  api_key: {key}\n  urls:\n    - {url}\n");
        }
        let log = File::create(logs.path().join("server.log"))?;
        let server = ns
            .command(bin_dir().join("server").to_str().context("server path")?)
            .args([
                "--dev",
                "--bind",
                &ns.addr.to_string(),
                "--config-body",
                &config,
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("could not start the LiveKit server")?;
        let url = format!("http://{}:{HTTP_PORT}", ns.addr);
        let mut lk = Self {
            server: Proc(server),
            _redis: redis,
            ns,
            logs,
            url,
        };
        let log = lk.logs.path().join("server.log");
        lk.server
            .wait_answering("server", &lk.url, READY_TIMEOUT, &log)
            .await?;
        Ok(lk)
    }

    /// `ws://10.203.X.2:7880`, for real clients.
    pub fn ws_url(&self) -> String {
        self.url.replacen("http://", "ws://", 1)
    }

    /// The server's log so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("server.log")).unwrap_or_default()
    }

    /// Environment that points `lk-reaper` (or `lk`) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LIVEKIT_URL", self.url.clone()),
            ("LIVEKIT_API_KEY", token::API_KEY.into()),
            ("LIVEKIT_API_SECRET", token::API_SECRET.into()),
        ]
    }

    /// CreateRoom with the given timeouts (0 = server default) and metadata.
    pub async fn create_room(
        &self,
        name: &str,
        empty_timeout: u32,
        departure_timeout: u32,
        metadata: &str,
    ) -> Result<proto::Room> {
        let req = proto::CreateRoomRequest {
            name: name.into(),
            empty_timeout,
            departure_timeout,
            metadata: metadata.into(),
            ..Default::default()
        };
        let tok = token::api(json!({ "roomCreate": true }));
        twirp::proto(&self.url, "livekit.RoomService/CreateRoom", &tok, &req).await
    }

    /// ListRooms (all rooms when `names` is empty).
    pub async fn list_rooms(&self, names: &[&str]) -> Result<Vec<proto::Room>> {
        let req = proto::ListRoomsRequest {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        };
        let tok = token::api(json!({ "roomList": true }));
        let resp: proto::ListRoomsResponse =
            twirp::proto(&self.url, "livekit.RoomService/ListRooms", &tok, &req).await?;
        Ok(resp.rooms)
    }

    /// DeleteRoom.
    pub async fn delete_room(&self, room: &str) -> Result<()> {
        let req = proto::DeleteRoomRequest { room: room.into() };
        let tok = token::api(json!({ "roomCreate": true }));
        let _: proto::DeleteRoomResponse =
            twirp::proto(&self.url, "livekit.RoomService/DeleteRoom", &tok, &req).await?;
        Ok(())
    }

    /// ListParticipants of `room`.
    pub async fn list_participants(&self, room: &str) -> Result<Vec<proto::ParticipantInfo>> {
        let req = proto::ListParticipantsRequest { room: room.into() };
        let tok = token::api(json!({ "roomAdmin": true, "room": room }));
        let resp: proto::ListParticipantsResponse = twirp::proto(
            &self.url,
            "livekit.RoomService/ListParticipants",
            &tok,
            &req,
        )
        .await?;
        Ok(resp.participants)
    }

    /// ListEgress for `room` ("" = all), active ones only when `active`.
    pub async fn list_egress(&self, room: &str, active: bool) -> Result<Vec<proto::EgressInfo>> {
        let req = proto::ListEgressRequest {
            room_name: room.into(),
            active,
            ..Default::default()
        };
        let resp: proto::ListEgressResponse = self.egress_call("ListEgress", &req).await?;
        Ok(resp.items)
    }

    /// Calls `method` of the Egress service with a `roomRecord` token.
    async fn egress_call<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        req: &Req,
    ) -> Result<Resp> {
        let tok = token::api(json!({ "roomRecord": true }));
        let path = format!("livekit.Egress/{method}");
        twirp::proto(&self.url, &path, &tok, req).await
    }

    /// StopEgress, raw: the answer is the point (zombie, ended, unknown).
    pub async fn stop_egress(&self, egress_id: &str) -> Result<twirp::Reply> {
        let req = proto::StopEgressRequest {
            egress_id: egress_id.into(),
        };
        let tok = token::api(json!({ "roomRecord": true }));
        let auth = format!("Bearer {tok}");
        let content_type = twirp::Encoding::Protobuf.content_type();
        let path = "livekit.Egress/StopEgress";
        twirp::call(
            &self.url,
            path,
            content_type,
            Some(&auth),
            req.encode_to_vec(),
        )
        .await
    }

    /// Writes an egress record into the server's Redis as a worker would report it
    /// (`pkg/service/redisstore.go`): hash `egress`, set `egress:room:<room>`, and for an
    /// ended record (`ended_at` != 0) hash `ended_egress` = "room|ended_at".
    pub fn put_egress(&self, info: &proto::EgressInfo) -> Result<()> {
        let mut redis = Resp::connect(SocketAddr::from((self.ns.addr, REDIS_PORT)))?;
        redis.cmd(&[
            b"HSET",
            b"egress",
            info.egress_id.as_bytes(),
            &info.encode_to_vec(),
        ])?;
        let room_key = format!("egress:room:{}", info.room_name);
        redis.cmd(&[b"SADD", room_key.as_bytes(), info.egress_id.as_bytes()])?;
        if info.ended_at != 0 {
            let ended = format!("{}|{}", info.room_name, info.ended_at);
            redis.cmd(&[
                b"HSET",
                b"ended_egress",
                info.egress_id.as_bytes(),
                ended.as_bytes(),
            ])?;
        }
        Ok(())
    }

    /// Joins `room` as a real participant (Python realtime SDK inside the namespace).
    /// With `publish_audio` it publishes a microphone track, as a person would.
    pub async fn join(
        &self,
        room: &str,
        who: &Identity,
        publish_audio: bool,
    ) -> Result<Participant> {
        let publish: &[&str] = if publish_audio {
            &["--publish-audio"]
        } else {
            &[]
        };
        self.run_join(&self.ws_url(), room, who, publish).await
    }

    /// Joins `room` through the `ws://` URL of a node of the cluster (see [`LiveKit::join`]).
    pub async fn join_via(
        &self,
        ws_url: &str,
        room: &str,
        who: &Identity,
        publish_audio: bool,
    ) -> Result<Participant> {
        let publish: &[&str] = if publish_audio {
            &["--publish-audio"]
        } else {
            &[]
        };
        self.run_join(ws_url, room, who, publish).await
    }

    /// Runs join.py against `ws_url` with `publish` (its publishing options, none to only
    /// connect) and waits until it printed CONNECTED, or PUBLISHED when it publishes.
    async fn run_join(
        &self,
        ws_url: &str,
        room: &str,
        who: &Identity,
        publish: &[&str],
    ) -> Result<Participant> {
        let script = repo_root().join("tests/real_livekit/join.py");
        let stderr_path = self.logs.path().join(format!("join-{}.log", who.identity));
        let mut cmd = self
            .ns
            .tokio_command(venv_python().to_str().context("venv path")?);
        cmd.arg(script)
            .args(["--url", ws_url, "--token", &who.join_token(room)])
            .args(publish);
        for var in [
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .env("PYTHONWARNINGS", "ignore")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr_path)?)
            .spawn()
            .context("could not start join.py")?;
        let stdout = child.stdout.take().context("join.py stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let want = if publish.is_empty() {
            "CONNECTED"
        } else {
            "PUBLISHED"
        };
        let (mut sid, mut track_sid) = (String::new(), String::new());
        let waited = tokio::time::timeout(JOIN_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("CONNECTED ") {
                    rest.split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .clone_into(&mut sid);
                }
                if let Some(rest) = line.strip_prefix("PUBLISHED ") {
                    rest.trim().clone_into(&mut track_sid);
                }
                if line.starts_with(want) {
                    return Ok(());
                }
            }
            bail!("join.py ended before {want}")
        })
        .await;
        let log = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
        match waited {
            Ok(Ok(())) => {}
            Ok(Err(e)) => bail!(
                "{} could not join {room}: {e}; stderr:\n{}",
                who.identity,
                log()
            ),
            Err(_) => bail!(
                "{} did not join {room} within {JOIN_TIMEOUT:?}; stderr:\n{}",
                who.identity,
                log()
            ),
        }
        let stdin = child.stdin.take();
        Ok(Participant {
            child,
            stdin,
            lines,
            identity: who.identity.clone(),
            sid,
            track_sid,
        })
    }

    /// Joins `room` as `who` and publishes a microphone track that plays a 440 Hz tone until
    /// the participant leaves: media an egress worker can record.
    pub async fn publish_tone(&self, room: &str, who: &Identity) -> Result<Participant> {
        self.run_join(&self.ws_url(), room, who, &["--tone", "440"])
            .await
    }

    /// Waits until `room` lists `identity` in state ACTIVE; returns how long that took.
    pub async fn wait_active(
        &self,
        room: &str,
        identity: &str,
        timeout: Duration,
    ) -> Result<Duration> {
        let started = Instant::now();
        eventually(&format!("{identity} ACTIVE in {room}"), timeout, || async {
            let ps = self.list_participants(room).await?;
            Ok(ps
                .iter()
                .any(|p| {
                    p.identity == identity
                        && p.state == proto::participant_info::State::Active as i32
                })
                .then_some(()))
        })
        .await?;
        Ok(started.elapsed())
    }
}

/// A participant joined by `LiveKit::join`; killed when dropped.
pub struct Participant {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    // Kept open: join.py prints what happens to it (MUTED, DISCONNECTED ...).
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    pub identity: String,
    pub sid: String,
    /// The sid of the track it published ("" when it publishes nothing).
    pub track_sid: String,
}

impl Participant {
    /// Sends `command` (`mute`, `unmute`) to join.py and waits for its answer line.
    pub async fn tell(&mut self, command: &str, answer: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("join.py stdin is closed")?;
        stdin.write_all(format!("{command}\n").as_bytes()).await?;
        self.wait_line(answer, Duration::from_secs(15)).await?;
        Ok(())
    }

    /// Waits for a line of join.py starting with `prefix`; returns the rest of it.
    pub async fn wait_line(&mut self, prefix: &str, timeout: Duration) -> Result<String> {
        let read = tokio::time::timeout(timeout, async {
            while let Some(line) = self.lines.next_line().await? {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Ok(rest.trim().to_owned());
                }
            }
            bail!("join.py of {} ended before a line {prefix}", self.identity)
        });
        read.await
            .with_context(|| format!("{} printed no {prefix} within {timeout:?}", self.identity))?
    }

    /// Leaves the room cleanly (disconnect) and waits for the client to exit.
    pub async fn leave(mut self) -> Result<()> {
        if let Some(mut stdin) = self.stdin.take() {
            stdin.write_all(b"leave\n").await?;
        }
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .context("participant did not leave within 15s")??;
        Ok(())
    }
}

/// Polls `probe` every 100 ms until it returns Some, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_err = None;
    while Instant::now() < deadline {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("timed out after {timeout:?} waiting for {what} (last error: {last_err:?})")
}

/// Nanoseconds since the Unix epoch, `secs_ago` seconds back.
pub fn ns_ago(secs_ago: i64) -> i64 {
    (token::unix_now() - secs_ago) * 1_000_000_000
}

/// An egress record as a worker reports it: `kind` is the scenario `type` (room_composite,
/// web, participant, track, track_composite), `status` e.g. `EgressStatus::EgressActive`,
/// `started_at` = `updated_at` backdated by `started_s_ago`; ended statuses get `ended_at`
/// one second ago.
pub fn egress_record(
    id: &str,
    room: &str,
    kind: &str,
    status: proto::EgressStatus,
    started_s_ago: i64,
) -> proto::EgressInfo {
    use proto::egress_info::Request;
    let request = match kind {
        "room_composite" => Request::RoomComposite(proto::RoomCompositeEgressRequest {
            room_name: room.into(),
            ..Default::default()
        }),
        "web" => Request::Web(proto::WebEgressRequest {
            url: "http://127.0.0.1/page".into(),
            ..Default::default()
        }),
        "participant" => Request::Participant(proto::ParticipantEgressRequest {
            room_name: room.into(),
            identity: "alice".into(),
            ..Default::default()
        }),
        "track" => Request::Track(proto::TrackEgressRequest {
            room_name: room.into(),
            track_id: "TR_x".into(),
            ..Default::default()
        }),
        "track_composite" => Request::TrackComposite(proto::TrackCompositeEgressRequest {
            room_name: room.into(),
            ..Default::default()
        }),
        other => panic!("unknown egress type {other}"),
    };
    let ended = (status as i32) >= proto::EgressStatus::EgressComplete as i32;
    proto::EgressInfo {
        egress_id: id.into(),
        room_name: room.into(),
        status: status as i32,
        started_at: ns_ago(started_s_ago),
        updated_at: ns_ago(started_s_ago),
        ended_at: if ended { ns_ago(1) } else { 0 },
        request: Some(request),
        ..Default::default()
    }
}

fn start_redis(ns: &Netns, logs: &Path) -> Result<Proc> {
    // No config file: Debian's defaults would bind every interface; persistence is off.
    let child = ns
        .command("redis-server")
        .args([
            "--bind",
            &ns.addr.to_string(),
            "127.0.0.1",
            "--port",
            &REDIS_PORT.to_string(),
        ])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
        ])
        .stdin(Stdio::null())
        .stdout(File::create(logs.join("redis.log"))?)
        .stderr(Stdio::null())
        .spawn()
        .context("could not start redis-server")?;
    Ok(Proc(child))
}

/// The server's config: every address it hands out or contacts is the namespace's own.
fn server_config(ns: &Netns, redis: bool) -> String {
    let ip = ns.addr;
    let redis = if redis {
        format!("redis:\n  address: {ip}:{REDIS_PORT}\n")
    } else {
        String::new()
    };
    // `ingress`: where CreateIngress tells RTMP encoders to push (an ingress worker of the
    // test's own on this address, tests/real_livekit/ingress.rs).
    format!(
        "port: {HTTP_PORT}\nrtc:\n  tcp_port: 7881\n  udp_port: 7882\n  use_external_ip: false\n  node_ip: {ip}\n  stun_servers:\n    - {ip}:3478\nlogging:\n  level: info\ningress:\n  rtmp_base_url: rtmp://{ip}:1935/x\n{redis}"
    )
}

async fn wait_for_tcp(addr: SocketAddr, timeout: Duration) -> Result<()> {
    eventually(&format!("{addr} to accept"), timeout, || async {
        Ok(tokio::net::TcpStream::connect(addr).await.ok().map(|_| ()))
    })
    .await
}

/// The smallest Redis client: RESP arrays of bulk strings, one reply line read back.
struct Resp(BufReader<TcpStream>);

impl Resp {
    fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("redis at {addr}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(Self(BufReader::new(stream)))
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Result<String> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            buf.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            buf.extend_from_slice(arg);
            buf.extend_from_slice(b"\r\n");
        }
        self.0.get_mut().write_all(&buf)?;
        let mut line = String::new();
        self.0.read_line(&mut line)?;
        if line.starts_with('-') {
            bail!("redis: {}", line.trim());
        }
        if let Some(len) = line
            .strip_prefix('$')
            .and_then(|l| l.trim().parse::<usize>().ok())
        {
            let mut rest = vec![0; len + 2];
            self.0.read_exact(&mut rest)?;
        }
        Ok(line.trim().to_owned())
    }
}

/// Runs `lk-reaper` with `args` against `lk` (at most two minutes) and returns
/// (exit code, stdout, stderr).
pub async fn run_reaper(lk: &LiveKit, args: &[&str]) -> Result<(i32, String, String)> {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lk-reaper"));
    for var in [
        "LIVEKIT_PROJECT",
        "LK_REAPER_CONFIG",
        "LIVEKIT_API_SECRET_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args).envs(lk.env()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .context("lk-reaper did not finish within 120s")??;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Health port of an egress worker inside its server's namespace.
const EGRESS_HEALTH_PORT: u16 = 9090;
/// How long an egress worker may take to answer on its health port (it takes about 1 s).
const EGRESS_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long decoding a recording may take.
const DECODE_TIMEOUT: Duration = Duration::from_secs(60);

/// A LiveKit Egress worker beside a server: same namespace, same Redis. Its process group
/// (the worker and the `egress run-handler` it starts per recording) is killed on drop,
/// and its folder (config, log, recordings made with `file`) deleted.
pub struct EgressWorker {
    worker: Proc,
    dir: tempfile::TempDir,
    /// Held until the worker is gone: see [`WORKER_TURN`].
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

/// One egress worker at a time in this process: each wants 4 cores for its GStreamer
/// pipelines (it says so at start-up), and two at once on a 2-core machine starved each
/// other past the tests' time limits.
static WORKER_TURN: std::sync::LazyLock<std::sync::Arc<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(Default::default);

/// Starts LiveKit's `name` worker (`egress`, `ingress`) from [`bin_dir`] in `lk`'s namespace,
/// with `config` as its YAML, in a folder of its own that holds `<name>.log` and its
/// handlers' scratch files, as the leader of a process group (its handlers join it). Fails
/// when the binary is missing: a test that asks for a worker needs one.
pub fn spawn_worker(lk: &LiveKit, name: &str, config: &str) -> Result<(Child, tempfile::TempDir)> {
    use std::os::unix::process::CommandExt as _;
    let bin = bin_dir().join(name);
    if !bin.is_file() {
        bail!(
            "no {name} worker at {}; run scripts/install-test-deps",
            bin.display()
        );
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("lk-reaper-{name}-"))
        .tempdir()?;
    let config_file = dir.path().join(format!("{name}.yaml"));
    std::fs::write(&config_file, config)?;
    // The worker starts each handler by running itself again, found on PATH.
    let path = std::env::join_paths(std::iter::once(bin_dir()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let log = File::create(dir.path().join(format!("{name}.log")))?;
    let worker = lk
        .ns
        .command(name)
        .arg("--config")
        .arg(&config_file)
        .env("PATH", path)
        // Each handler's sockets and scratch files go under the worker's own folder.
        .env("TMPDIR", dir.path())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("could not start the {name} worker"))?;
    Ok((worker, dir))
}

impl EgressWorker {
    /// Starts a worker for `lk` (which must run with Redis) and waits until it answers on
    /// its health port. Fails when the worker binary is missing: a test that asks for a
    /// worker needs one.
    pub async fn start(lk: &LiveKit) -> Result<Self> {
        let turn = std::sync::Arc::clone(&WORKER_TURN).lock_owned().await;
        let (worker, dir) = spawn_worker(lk, "egress", &egress_config(lk))?;
        let mut worker = Self {
            worker: Proc(worker),
            dir,
            _turn: turn,
        };
        let url = format!("http://{}:{EGRESS_HEALTH_PORT}/", lk.ns.addr);
        let log = worker.dir.path().join("egress.log");
        worker
            .worker
            .wait_answering("egress worker", &url, EGRESS_READY_TIMEOUT, &log)
            .await?;
        Ok(worker)
    }

    /// A path for a recording inside the worker's folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The worker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("egress.log")).unwrap_or_default()
    }
}

impl Drop for EgressWorker {
    fn drop(&mut self) {
        // The handlers are the worker's children, in its process group.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.worker.0.id())])
            .stderr(Stdio::null())
            .status();
    }
}

/// egress.yaml: the server's key, URL and Redis; CPU costs low enough that a 2-core machine
/// accepts several recordings at once.
fn egress_config(lk: &LiveKit) -> String {
    let ip = lk.ns.addr;
    format!(
        "api_key: {key}\napi_secret: {secret}\nws_url: {ws}\nredis:\n  address: {ip}:{REDIS_PORT}\n\
         health_port: {EGRESS_HEALTH_PORT}\nlogging:\n  level: info\ncpu_cost:\n  \
         max_cpu_utilization: 0.99\n  track_cpu_cost: 0.01\n  participant_cpu_cost: 0.01\n  \
         track_composite_cpu_cost: 0.01\n",
        key = token::API_KEY,
        secret = token::API_SECRET,
        ws = lk.ws_url(),
    )
}

impl LiveKit {
    /// StartTrackEgress: records track `track_sid` of `room` into `file` (its codec's own
    /// container: Ogg for Opus audio).
    pub async fn start_track_egress(
        &self,
        room: &str,
        track_sid: &str,
        file: &Path,
    ) -> Result<proto::EgressInfo> {
        let req = proto::TrackEgressRequest {
            room_name: room.into(),
            track_id: track_sid.into(),
            output: Some(proto::track_egress_request::Output::File(
                proto::DirectFileOutput {
                    filepath: file.to_str().context("file path")?.into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        self.egress_call("StartTrackEgress", &req).await
    }

    /// StartParticipantEgress: records `identity` in `room` into an MP4 `file` with Opus
    /// audio (the default AAC encoder is not in Debian's GStreamer, and Ogg is refused
    /// because participant egress always adds video).
    pub async fn start_participant_egress(
        &self,
        room: &str,
        identity: &str,
        file: &Path,
    ) -> Result<proto::EgressInfo> {
        let req = proto::ParticipantEgressRequest {
            room_name: room.into(),
            identity: identity.into(),
            options: Some(proto::participant_egress_request::Options::Advanced(
                proto::EncodingOptions {
                    audio_codec: proto::AudioCodec::Opus as i32,
                    ..Default::default()
                },
            )),
            file_outputs: vec![proto::EncodedFileOutput {
                file_type: proto::EncodedFileType::Mp4 as i32,
                filepath: file.to_str().context("file path")?.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        self.egress_call("StartParticipantEgress", &req).await
    }

    /// The stored record of one egress (ListEgress by id).
    pub async fn egress(&self, egress_id: &str) -> Result<proto::EgressInfo> {
        let req = proto::ListEgressRequest {
            egress_id: egress_id.into(),
            ..Default::default()
        };
        let resp: proto::ListEgressResponse = self.egress_call("ListEgress", &req).await?;
        resp.items
            .into_iter()
            .next()
            .with_context(|| format!("ListEgress has no {egress_id}"))
    }

    /// Waits until egress `egress_id` has `status`; returns its record then.
    pub async fn wait_egress(
        &self,
        egress_id: &str,
        status: proto::EgressStatus,
        timeout: Duration,
    ) -> Result<proto::EgressInfo> {
        let what = format!("{egress_id} {}", status.as_str_name());
        eventually(&what, timeout, || async {
            let info = self.egress(egress_id).await?;
            Ok((info.status == status as i32).then_some(info))
        })
        .await
    }

    /// Waits until egress `egress_id` is ACTIVE and its `file` holds data (it stays empty
    /// for the first 2-4 s), so that stopping it leaves a recording with content.
    pub async fn wait_recording(
        &self,
        egress_id: &str,
        file: &Path,
        timeout: Duration,
    ) -> Result<()> {
        let what = format!("{egress_id} ACTIVE with data in {}", file.display());
        eventually(&what, timeout, || async {
            let info = self.egress(egress_id).await?;
            let active = info.status == proto::EgressStatus::EgressActive as i32;
            let size = std::fs::metadata(file).map_or(0, |m| m.len());
            Ok((active && size > 0).then_some(()))
        })
        .await
    }
}

/// Decodes `file` from its first byte to its last (`gst-launch-1.0 -q filesrc ! decodebin !
/// fakesink` must exit 0) and returns its duration as `gst-discoverer-1.0` reports it.
pub async fn decode_whole(file: &Path) -> Result<Duration> {
    let location = format!("location={}", file.display());
    let decode = run_tool(
        "gst-launch-1.0",
        &[
            "-q",
            "filesrc",
            &location,
            "!",
            "decodebin",
            "!",
            "fakesink",
        ],
    )
    .await?;
    if !decode.status.success() {
        bail!(
            "{} does not decode whole ({}): {}{}",
            file.display(),
            decode.status,
            String::from_utf8_lossy(&decode.stdout),
            String::from_utf8_lossy(&decode.stderr)
        );
    }
    let file_str = file.to_str().context("file path")?;
    let discover = run_tool("gst-discoverer-1.0", &[file_str]).await?;
    let text = String::from_utf8_lossy(&discover.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Duration: "))
        .and_then(parse_gst_duration)
        .with_context(|| format!("gst-discoverer-1.0 {file_str} gave no duration:\n{text}"))
}

async fn run_tool(tool: &str, args: &[&str]) -> Result<std::process::Output> {
    let run = tokio::process::Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(DECODE_TIMEOUT, run)
        .await
        .with_context(|| format!("{tool} did not finish within {DECODE_TIMEOUT:?}"))?
        .with_context(|| format!("could not run {tool}; run scripts/install-test-deps"))
}

/// `H:MM:SS.fraction`, as GStreamer prints a duration.
fn parse_gst_duration(text: &str) -> Option<Duration> {
    let mut parts = text.trim().splitn(3, ':');
    let hours: u64 = parts.next()?.parse().ok()?;
    let minutes: u64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    Some(Duration::from_secs(hours * 3600 + minutes * 60) + Duration::from_secs_f64(seconds))
}

/// HTTP port of a second node of the cluster (its media ports follow it: TCP +1, UDP +2).
pub const NODE_B_HTTP_PORT: u16 = 7890;

/// Another LiveKit node sharing a [`LiveKit`]'s Redis: same namespace, its own address on
/// the same veth (`10.203.X.3`) and its own ports. Killed (SIGKILL) when dropped.
pub struct Node {
    server: Proc,
    /// `http://10.203.X.3:7890`.
    pub url: String,
    /// `10.203.X.3`: its `rtc.node_ip`, and the `ip` of its record in Redis `nodes`.
    pub ip: std::net::Ipv4Addr,
}

impl Node {
    /// `ws://10.203.X.3:7890`, for real clients.
    pub fn ws_url(&self) -> String {
        self.url.replacen("http://", "ws://", 1)
    }

    /// SIGKILL, as an OOM kill or a crashed VM: its rooms stay in Redis.
    pub fn kill(&mut self) -> Result<()> {
        self.server.0.kill()?;
        self.server.0.wait()?;
        Ok(())
    }
}

impl LiveKit {
    /// `redis://10.203.X.2:6379`: the cluster's Redis, for `--redis-url`.
    pub fn redis_url(&self) -> String {
        format!("redis://{}:{REDIS_PORT}", self.ns.addr)
    }

    /// Starts a second node of this server's cluster at `10.203.X.3` (a server started with
    /// Redis) and waits until it answers. Call again after [`Node::kill`] to restart it:
    /// it comes back under a new node id, and its start removes dead nodes from Redis.
    pub async fn start_second_node(&self) -> Result<Node> {
        let [a, b, c, _] = self.ns.addr.octets();
        let ip = std::net::Ipv4Addr::new(a, b, c, 3);
        let shown = self
            .ns
            .command("ip")
            .args(["-4", "addr", "show", "dev", "veth0"])
            .output()?;
        if !String::from_utf8_lossy(&shown.stdout).contains(&format!("{ip}/")) {
            let added = self
                .ns
                .command("ip")
                .args(["addr", "add", &format!("{ip}/24"), "dev", "veth0"])
                .status()?;
            anyhow::ensure!(added.success(), "could not add {ip} to veth0");
        }
        let port = NODE_B_HTTP_PORT;
        let config = format!(
            "port: {port}\nrtc:\n  tcp_port: {}\n  udp_port: {}\n  use_external_ip: false\n  node_ip: {ip}\n  stun_servers:\n    - {ip}:3478\nlogging:\n  level: info\nredis:\n  address: {}:{REDIS_PORT}\n",
            port + 1,
            port + 2,
            self.ns.addr
        );
        let log_path = self.logs.path().join("node-b.log");
        let log = File::create(&log_path)?;
        let server = self
            .ns
            .command(bin_dir().join("server").to_str().context("server path")?)
            .args(["--dev", "--bind", &ip.to_string(), "--config-body", &config])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("could not start LiveKit node B")?;
        let url = format!("http://{ip}:{port}");
        let mut node = Node {
            server: Proc(server),
            url,
            ip,
        };
        node.server
            .wait_answering("node B", &node.url, READY_TIMEOUT, &log_path)
            .await?;
        Ok(node)
    }

    /// The id of the node whose record in Redis `nodes` has this `ip`.
    pub fn node_id(&self, ip: std::net::Ipv4Addr) -> Result<String> {
        let mut redis = Resp::connect(SocketAddr::from((self.ns.addr, REDIS_PORT)))?;
        let fields = redis.array(&[b"HGETALL", b"nodes"])?;
        fields
            .chunks(2)
            .filter_map(|kv| {
                Some((
                    kv.first()?,
                    proto::Node::decode(kv.get(1)?.as_slice()).ok()?,
                ))
            })
            .find(|(_, node)| node.ip == ip.to_string())
            .map(|(id, _)| String::from_utf8_lossy(id).into_owned())
            .with_context(|| format!("no node with ip {ip} in Redis `nodes`"))
    }

    /// CreateRoom pinned to a node (`node_id`), with the server's default timeouts.
    pub async fn create_room_on(&self, name: &str, node_id: &str) -> Result<proto::Room> {
        let req = proto::CreateRoomRequest {
            name: name.into(),
            node_id: node_id.into(),
            ..Default::default()
        };
        let tok = token::api(json!({ "roomCreate": true }));
        twirp::proto(&self.url, "livekit.RoomService/CreateRoom", &tok, &req).await
    }
}

impl Resp {
    /// A command whose reply is an array of bulk strings (HGETALL, HKEYS).
    fn array(&mut self, args: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            buf.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            buf.extend_from_slice(arg);
            buf.extend_from_slice(b"\r\n");
        }
        self.0.get_mut().write_all(&buf)?;
        let mut line = String::new();
        self.0.read_line(&mut line)?;
        let count: usize = line
            .strip_prefix('*')
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("redis: not an array: {}", line.trim()))?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            line.clear();
            self.0.read_line(&mut line)?;
            let len: usize = line
                .strip_prefix('$')
                .and_then(|n| n.trim().parse().ok())
                .with_context(|| format!("redis: not a bulk string: {}", line.trim()))?;
            let mut item = vec![0; len + 2];
            self.0.read_exact(&mut item)?;
            item.truncate(len);
            items.push(item);
        }
        Ok(items)
    }
}
