//! A forgotten encoder on the real thing (#24): LiveKit Ingress v1.5.0 (built by
//! `scripts/install-test-deps` as `ingress`) beside the real server, fed by a
//! `gst-launch-1.0` RTMP push (H.264 and AAC in FLV) that restarts 2 s after it stops, as
//! OBS does. With `--ingress report` the deleted room comes back within seconds; with
//! `--ingress disable` it stays gone while the encoder keeps retrying, and a recording of it
//! ends COMPLETE and decodes.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use livekit_protocol as proto;
use proto::ingress_state::Status;
use serde_json::{Value, json};

use crate::harness::{
    EgressWorker, LiveKit, Options, decode_whole, eventually, run_reaper, spawn_worker,
};
use crate::{token, twirp};

/// RTMP port of the ingress worker inside the server's namespace.
const RTMP_PORT: u16 = 1935;
const INGRESS_HEALTH_PORT: u16 = 9092;
/// How long the ingress worker may take to answer on its health port.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an encoder's first push may take to be PUBLISHING (about 2 s, FINDINGS.md).
const PUBLISHING_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the room stays gone with `--ingress disable` in the proof.
const GONE_FOR: Duration = Duration::from_secs(60);

/// A process group killed on drop: the worker and the handlers it starts, or the encoder
/// loop and its `gst-launch-1.0`.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// A LiveKit Ingress worker beside a server: same namespace, same Redis.
struct IngressWorker {
    _worker: Group,
    dir: tempfile::TempDir,
    /// Held until the worker is gone: see [`WORKER_TURN`].
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

/// One ingress worker (and encoder) at a time in this process: each transcodes a live
/// stream, and two at once on a 2-core machine starve each other and the egress worker.
static WORKER_TURN: std::sync::LazyLock<std::sync::Arc<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(Default::default);

impl IngressWorker {
    async fn start(lk: &LiveKit) -> Result<Self> {
        let turn = std::sync::Arc::clone(&WORKER_TURN).lock_owned().await;
        let (worker, dir) = spawn_worker(lk, "ingress", &ingress_config(lk))?;
        let worker = Self {
            _worker: Group(worker),
            dir,
            _turn: turn,
        };
        let health = format!("http://{}:{INGRESS_HEALTH_PORT}/", lk.ns.addr);
        eventually(
            "the ingress worker's health port",
            READY_TIMEOUT,
            || async {
                let answer = twirp::client()
                    .get(&health)
                    .timeout(Duration::from_secs(1))
                    .send()
                    .await;
                Ok(answer.is_ok_and(|r| r.status().is_success()).then_some(()))
            },
        )
        .await
        .with_context(|| worker.log())?;
        Ok(worker)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ingress.log")).unwrap_or_default()
    }
}

/// ingress.yaml: RTMP only. The worker accepts a stream only while the machine's idle CPU
/// (system-wide) exceeds the input's cost plus a reserve (`min_idle_ratio`; 0 means its
/// default). With a cost of 1, and even of 0.01, it refused pushes for a minute and more
/// ("server capacity exceeded") while other builds held the 2 cores. Costs below 1 only draw
/// a warning, and admission is not what these tests are about, so a negative cost turns it
/// off.
fn ingress_config(lk: &LiveKit) -> String {
    let ip = lk.ns.addr;
    format!(
        "api_key: {key}\napi_secret: {secret}\nws_url: {ws}\nredis:\n  address: {ip}:6379\n\
         rtmp_port: {RTMP_PORT}\nwhip_port: -1\nhttp_relay_port: 9093\nhealth_port: {INGRESS_HEALTH_PORT}\n\
         logging:\n  level: info\ncpu_cost:\n  rtmp_cpu_cost: -100\n  whip_cpu_cost: -100\n  \
         whip_bypass_transcoding_cpu_cost: -100\n  url_cpu_cost: -100\n  min_idle_ratio: 0.001\n",
        key = token::API_KEY,
        secret = token::API_SECRET,
        ws = lk.ws_url(),
    )
}

/// An RTMP encoder that pushes a test picture and tone, and starts again 2 s after its push
/// stops, as OBS does; each start is a line in its log.
struct Encoder {
    _loop: Group,
    log: std::path::PathBuf,
}

impl Encoder {
    fn start(lk: &LiveKit, url: &str, dir: &Path) -> Result<Self> {
        let log = dir.join("encoder.log");
        let pipeline = format!(
            "gst-launch-1.0 -q videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=15/1 \
             ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! h264parse \
             ! flvmux streamable=true name=mux ! rtmpsink location={url} \
             audiotestsrc is-live=true ! audioconvert ! avenc_aac ! aacparse ! mux."
        );
        let script =
            format!("while true; do echo start; {pipeline} >/dev/null 2>&1; sleep 2; done");
        let child = lk
            .ns
            .command("bash")
            .args(["-c", &script])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(File::create(&log)?)
            .stderr(Stdio::null())
            .spawn()
            .context("could not start the encoder")?;
        Ok(Self {
            _loop: Group(child),
            log,
        })
    }

    /// How many times the encoder has started its push.
    fn starts(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .count()
    }
}

/// Calls `method` of the Ingress service with an `ingressAdmin` token.
async fn ingress_call<Req: prost::Message, Resp: prost::Message + Default>(
    lk: &LiveKit,
    method: &str,
    req: &Req,
) -> Result<Resp> {
    let tok = token::api(json!({ "ingressAdmin": true }));
    twirp::proto(&lk.url, &format!("livekit.Ingress/{method}"), &tok, req).await
}

async fn ingress_info(lk: &LiveKit, id: &str) -> Result<proto::IngressInfo> {
    let req = proto::ListIngressRequest {
        ingress_id: id.into(),
        ..Default::default()
    };
    let list: proto::ListIngressResponse = ingress_call(lk, "ListIngress", &req).await?;
    list.items
        .into_iter()
        .next()
        .context("ListIngress by id: none")
}

fn status_of(info: &proto::IngressInfo) -> Status {
    info.state
        .as_ref()
        .and_then(|s| Status::try_from(s.status).ok())
        .unwrap_or(Status::EndpointInactive)
}

/// A server with an ingress worker, an RTMP ingress into `room` and an encoder pushing to
/// it, PUBLISHING.
struct Streaming {
    encoder: Encoder,
    ingress_id: String,
    worker: IngressWorker,
    lk: LiveKit,
}

async fn streaming(test: &str, room: &str) -> Streaming {
    let lk = LiveKit::start_for(test, Options::default()).await;
    let worker = IngressWorker::start(&lk)
        .await
        .unwrap_or_else(|e| panic!("{test}: {e:#}"));
    let create = proto::CreateIngressRequest {
        input_type: proto::IngressInput::RtmpInput as i32,
        name: "obs".into(),
        room_name: room.into(),
        participant_identity: "obs".into(),
        ..Default::default()
    };
    let info: proto::IngressInfo = ingress_call(&lk, "CreateIngress", &create)
        .await
        .unwrap_or_else(|e| panic!("{test}: CreateIngress: {e:#}"));
    let url = format!("{}/{}", info.url, info.stream_key);
    let encoder = Encoder::start(&lk, &url, worker.dir.path()).expect("encoder");
    let started = Instant::now();
    eventually("the ingress PUBLISHING", PUBLISHING_TIMEOUT, || async {
        Ok(
            (status_of(&ingress_info(&lk, &info.ingress_id).await?) == Status::EndpointPublishing)
                .then_some(()),
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{test}: {e:#}\n{}", worker.log()));
    visible!(
        "{test}: PUBLISHING {:?} after the encoder started",
        started.elapsed()
    );
    Streaming {
        encoder,
        ingress_id: info.ingress_id,
        worker,
        lk,
    }
}

async fn room_listed(lk: &LiveKit, room: &str) -> bool {
    lk.list_rooms(&[room])
        .await
        .is_ok_and(|rooms| rooms.iter().any(|r| r.name == room))
}

/// `sweep -o json ARGS` with a 1 s humanless grace, once the room is older than that.
async fn sweep(lk: &LiveKit, args: &[&str]) -> Value {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = [&["sweep", "-o", "json", "--humanless-grace", "1s"], args].concat();
    let (code, out, err) = run_reaper(lk, &all).await.expect("lk-reaper");
    assert_eq!(code, 0, "{out}\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// (target, result) of every finding.
fn results(report: &Value) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let target = f["ingress_id"]
                .as_str()
                .or(f["egress_id"].as_str())
                .unwrap_or(if f["target"] == "room" { "room" } else { "?" });
            (target.to_owned(), f["result"].as_str().unwrap().to_owned())
        })
        .collect();
    all.sort();
    all
}

#[tokio::test]
#[ignore = "needs the real LiveKit server, the ingress worker and gst-launch-1.0 (scripts/install-test-deps)"]
async fn with_report_the_encoder_brings_the_deleted_room_back_within_seconds() {
    let test = "with_report_the_encoder_brings_the_deleted_room_back_within_seconds";
    let s = streaming(test, "studio").await;
    let report = sweep(&s.lk, &[]).await;
    assert_eq!(
        results(&report),
        [
            (s.ingress_id.clone(), "skipped".to_owned()),
            ("room".to_owned(), "done".to_owned())
        ],
        "{report}"
    );
    let deleted = Instant::now();
    eventually("the room back", Duration::from_secs(30), || async {
        Ok(room_listed(&s.lk, "studio").await.then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", s.worker.log()));
    visible!(
        "{test}: the room was back {:?} after the sweep deleted it",
        deleted.elapsed()
    );
    let info = ingress_info(&s.lk, &s.ingress_id).await.unwrap();
    assert!(info.enabled.unwrap_or(true), "report changes nothing");

    // What UpdateIngress `enabled: false` alone does to a live ingress (the simulator
    // follows it): the reply, then the state its worker leaves.
    eventually("PUBLISHING again", PUBLISHING_TIMEOUT, || async {
        let info = ingress_info(&s.lk, &s.ingress_id).await?;
        Ok((status_of(&info) == Status::EndpointPublishing).then_some(()))
    })
    .await
    .unwrap();
    let disable = proto::UpdateIngressRequest {
        ingress_id: s.ingress_id.clone(),
        enabled: Some(false),
        ..Default::default()
    };
    let reply: proto::IngressInfo = ingress_call(&s.lk, "UpdateIngress", &disable)
        .await
        .unwrap();
    visible!(
        "{test}: UpdateIngress enabled=false replied {:?}",
        status_of(&reply)
    );
    let ended = eventually("the session ended", Duration::from_secs(20), || async {
        let info = ingress_info(&s.lk, &s.ingress_id).await?;
        let participants = s.lk.list_participants("studio").await?;
        let gone = participants.iter().all(|p| p.identity != "obs");
        Ok((gone
            && !matches!(
                status_of(&info),
                Status::EndpointBuffering | Status::EndpointPublishing
            ))
        .then_some(info))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", s.worker.log()));
    let error = ended.state.as_ref().map_or("", |st| st.error.as_str());
    visible!(
        "{test}: then {:?} ({error:?}), its participant gone",
        status_of(&ended)
    );
}

#[tokio::test]
#[ignore = "needs the real LiveKit server, the ingress and egress workers and gst-launch-1.0 (scripts/install-test-deps)"]
async fn with_disable_the_room_stays_gone_while_the_encoder_retries_and_its_recording_completes() {
    let test =
        "with_disable_the_room_stays_gone_while_the_encoder_retries_and_its_recording_completes";
    let s = streaming(test, "studio").await;
    let egress = EgressWorker::start(&s.lk).await.expect("egress worker");
    // PUBLISHING comes a moment before the participant's tracks are listed.
    let audio = eventually(
        "the ingress's audio track",
        Duration::from_secs(30),
        || async {
            let participants = s.lk.list_participants("studio").await?;
            let obs = participants.into_iter().find(|p| p.identity == "obs");
            let tracks = obs.map(|p| p.tracks).unwrap_or_default();
            Ok(tracks
                .into_iter()
                .find(|t| t.r#type == proto::TrackType::Audio as i32))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", s.worker.log()));
    let file = egress.file("studio.ogg");
    let recording =
        s.lk.start_track_egress("studio", &audio.sid, &file)
            .await
            .unwrap_or_else(|e| panic!("{e:#}\n{}", egress.log()));
    s.lk.wait_recording(&recording.egress_id, &file, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", egress.log()));

    let report = sweep(&s.lk, &["--ingress", "disable"]).await;
    let mut want = vec![
        (s.ingress_id.clone(), "done".to_owned()),
        (recording.egress_id.clone(), "done".to_owned()),
        ("room".to_owned(), "done".to_owned()),
    ];
    want.sort();
    assert_eq!(results(&report), want, "{report}");

    let right_after = ingress_info(&s.lk, &s.ingress_id).await.unwrap();
    visible!(
        "{test}: ListIngress right after the sweep: enabled {:?}, {:?}",
        right_after.enabled,
        status_of(&right_after)
    );
    let starts = s.encoder.starts();
    let until = Instant::now() + GONE_FOR;
    while Instant::now() < until {
        assert!(
            !room_listed(&s.lk, "studio").await,
            "the room came back although the ingress was disabled\n{}",
            s.worker.log()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let retries = s.encoder.starts() - starts;
    visible!("{test}: room gone for {GONE_FOR:?}; the encoder started {retries} more times");
    assert!(
        retries >= 2,
        "the encoder kept retrying ({retries} restarts)"
    );
    let info = ingress_info(&s.lk, &s.ingress_id).await.unwrap();
    visible!(
        "{test}: ListIngress after: enabled {:?}, {:?}",
        info.enabled,
        status_of(&info)
    );
    assert_eq!(info.enabled, Some(false));
    assert!(
        !matches!(
            status_of(&info),
            Status::EndpointBuffering | Status::EndpointPublishing
        ),
        "{info:?}"
    );
    s.lk.wait_egress(
        &recording.egress_id,
        proto::EgressStatus::EgressComplete,
        Duration::from_secs(30),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", egress.log()));
    let length = decode_whole(&file).await.unwrap();
    visible!("{test}: the recording decodes whole: {length:?}");
    assert!(length > Duration::ZERO);
    drop(egress);
    reenable_as_the_readme_says(&s).await;
}

/// README.md's way back: UpdateIngress `enabled: true` with LiveKit's Python server SDK;
/// the retrying encoder is let in and the room comes back.
async fn reenable_as_the_readme_says(s: &Streaming) {
    let script = format!(
        "import asyncio\nfrom livekit import api\n\nasync def main():\n    async with api.LiveKitAPI() as lk:\n        await lk.ingress.update_ingress(api.UpdateIngressRequest(ingress_id={id:?}, enabled=True))\n\nasyncio.run(main())\n",
        id = s.ingress_id
    );
    let python = crate::harness::repo_root().join(".venv/bin/python");
    let out =
        s.lk.ns
            .command(python.to_str().unwrap())
            .args(["-c", &script])
            .envs(s.lk.env())
            .output()
            .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = ingress_info(&s.lk, &s.ingress_id).await.unwrap();
    assert_eq!(info.enabled, Some(true));
    let started = Instant::now();
    eventually(
        "the room back after re-enabling",
        Duration::from_secs(30),
        || async { Ok(room_listed(&s.lk, "studio").await.then_some(())) },
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", s.worker.log()));
    visible!(
        "re-enabled with the Python SDK: the room was back {:?} later",
        started.elapsed()
    );
}

/// One answer of the Ingress service, reduced to what must agree: the HTTP status, the
/// Twirp code and message, and the fields of each `IngressInfo` that lk-reaper reads.
async fn answer(base: &str, method: &str, grants: &Value, body: &Value) -> Value {
    let auth = format!("Bearer {}", token::api(grants.clone()));
    let reply = twirp::call(
        base,
        &format!("livekit.Ingress/{method}"),
        "application/json",
        Some(&auth),
        body.to_string().into_bytes(),
    )
    .await
    .unwrap_or_else(|e| panic!("{method} at {base}: {e:#}"));
    let doc: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    if reply.status != 200 {
        return json!({"status": reply.status, "code": doc["code"], "msg": doc["msg"]});
    }
    let reduce = |i: &Value| {
        json!({"ingress_id": i["ingress_id"], "input_type": i["input_type"],
               "room_name": i["room_name"], "participant_identity": i["participant_identity"],
               "reusable": i["reusable"], "enabled": i["enabled"],
               "status": i["state"]["status"]})
    };
    match doc["items"].as_array() {
        Some(items) => {
            json!({"status": 200, "items": items.iter().map(reduce).collect::<Vec<_>>()})
        }
        None => json!({"status": 200, "info": reduce(&doc)}),
    }
}

/// The same Ingress calls, in order, to `base`: (case, answer).
async fn ingress_answers(base: &str, id: &str) -> Vec<(&'static str, Value)> {
    let admin = json!({"ingressAdmin": true});
    let cases: [(&str, &str, Value, Value); 10] = [
        ("list all", "ListIngress", admin.clone(), json!({})),
        (
            "list by room",
            "ListIngress",
            admin.clone(),
            json!({"room_name": "studio"}),
        ),
        (
            "list an unknown id",
            "ListIngress",
            admin.clone(),
            json!({"ingress_id": "IN_unknown"}),
        ),
        (
            "list without ingressAdmin",
            "ListIngress",
            json!({"roomList": true}),
            json!({}),
        ),
        (
            "update an unknown id",
            "UpdateIngress",
            admin.clone(),
            json!({"ingress_id": "IN_unknown", "enabled": false}),
        ),
        (
            "delete an unknown id",
            "DeleteIngress",
            admin.clone(),
            json!({"ingress_id": "IN_unknown"}),
        ),
        (
            "disable",
            "UpdateIngress",
            admin.clone(),
            json!({"ingress_id": id, "enabled": false}),
        ),
        (
            "list it disabled",
            "ListIngress",
            admin.clone(),
            json!({"ingress_id": id}),
        ),
        (
            "delete",
            "DeleteIngress",
            admin.clone(),
            json!({"ingress_id": id}),
        ),
        (
            "list after the delete",
            "ListIngress",
            admin.clone(),
            json!({}),
        ),
    ];
    let mut out = Vec::new();
    for (case, method, grants, body) in cases {
        out.push((case, answer(base, method, &grants, &body).await));
    }
    out
}

#[tokio::test]
#[ignore = "needs the real LiveKit server (scripts/install-test-deps)"]
async fn the_simulators_ingress_service_answers_as_the_real_one() {
    let test = "the_simulators_ingress_service_answers_as_the_real_one";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let create = proto::CreateIngressRequest {
        input_type: proto::IngressInput::RtmpInput as i32,
        name: "obs".into(),
        room_name: "studio".into(),
        participant_identity: "obs".into(),
        ..Default::default()
    };
    let created: proto::IngressInfo = ingress_call(&lk, "CreateIngress", &create)
        .await
        .unwrap_or_else(|e| panic!("{test}: CreateIngress: {e:#}"));
    let id = created.ingress_id.clone();
    let sim = crate::conformance::Simulator::start(&json!({
        "key": token::API_KEY, "secret": token::API_SECRET,
        "ingresses": [{"ingress_id": id, "room_name": "studio", "participant_identity": "obs"}],
    }))
    .await
    .unwrap();
    let real = ingress_answers(&lk.url, &id).await;
    let simulated = ingress_answers(&sim.url, &id).await;
    for ((case, r), (_, s)) in real.iter().zip(&simulated) {
        visible!("{test}: {case}: real {r}");
        assert_eq!(
            r, s,
            "{case}: the real server (left) and the simulator (right) differ"
        );
    }

    let bare = LiveKit::start_for(test, Options { redis: false }).await;
    let no_service = crate::conformance::Simulator::start(&json!({
        "key": token::API_KEY, "secret": token::API_SECRET, "ingress_service": false,
    }))
    .await
    .unwrap();
    for method in ["ListIngress", "UpdateIngress", "DeleteIngress"] {
        let body = json!({"ingress_id": "IN_x"});
        let admin = json!({"ingressAdmin": true});
        let r = answer(&bare.url, method, &admin, &body).await;
        let s = answer(&no_service.url, method, &admin, &body).await;
        visible!("{test}: {method} without Redis: real {r}");
        assert_eq!(r, s, "{method} without Redis");
    }
}
