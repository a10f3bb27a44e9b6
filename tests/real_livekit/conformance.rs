//! The conformance table (tests/conformance/cases.json): every case is sent to the real
//! server loaded with the table's fixture, and what came back (status, content type, Twirp
//! code, normalised body) must equal the golden file tests/conformance/real-answers.json
//! (`LK_REAPER_BLESS=1` rewrites it; a missing file is a failure). The same cases against `lk-reaper simulate`
//! loaded with the same state must give the same answers, except for the differences listed
//! with their reasons in tests/conformance/known-differences.json.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use livekit_protocol as proto;
use prost::Message;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::flag::env_flag;
use crate::harness::{self, LiveKit, Options, Participant, egress_record, eventually};
use crate::token::{self, API_KEY, API_SECRET, Identity};
use crate::twirp::{self, Encoding};

fn dir() -> PathBuf {
    harness::repo_root().join("tests/conformance")
}

#[derive(Debug, Deserialize)]
pub struct Table {
    pub fixture: Fixture,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub rooms: Vec<FixtureRoom>,
    pub egresses: Vec<FixtureEgress>,
}

#[derive(Debug, Deserialize)]
pub struct FixtureRoom {
    pub name: String,
    pub metadata: String,
    pub participants: Vec<FixtureParticipant>,
}

#[derive(Debug, Deserialize)]
pub struct FixtureParticipant {
    pub identity: String,
    /// Token claim spelling: "" (standard), "agent", "sip", "egress", …
    pub kind: String,
    pub kind_details: Vec<String>,
    pub publish_audio: bool,
    /// Mutes its published track once joined (`track.mute()` in the SDK).
    #[serde(default)]
    pub muted: bool,
    /// Extra `video` grant fields of the join token, e.g. `{"agent": true}` as LiveKit's
    /// agents framework sets, `{"hidden": true, "recorder": true}` as an egress recorder.
    #[serde(default)]
    pub video: Value,
    /// Participant attributes, given in the join token's `attributes` claim, e.g.
    /// `{"sip.callStatus": "active"}` as LiveKit's SIP service sets them.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct FixtureEgress {
    pub egress_id: String,
    pub room_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub started_s_ago: i64,
    /// The page a web egress records.
    #[serde(default)]
    pub url: String,
    /// The participant a participant egress records.
    #[serde(default)]
    pub identity: String,
    /// The track a track egress records.
    #[serde(default)]
    pub track_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Server {
    Redis,
    NoRedis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    Valid,
    None,
    NotBearer,
    BadSignature,
    Expired,
    WrongKey,
    MissingGrant,
    OtherRoomGrant,
    /// `nbf` an hour ahead: refused.
    NotYetValid,
    /// Expired 30 s ago: inside the 1-minute leeway, accepted.
    ExpiredWithinLeeway,
    /// `nbf` 30 s ahead (a client clock slightly fast): inside the leeway, accepted.
    NotBeforeWithinLeeway,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub method: String,
    pub encoding: Encoding,
    pub auth: Auth,
    pub grant: Value,
    pub body: Value,
    pub server: Server,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub raw_body: Option<String>,
}

/// What one server answered to one case, normalised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub name: String,
    pub status: u16,
    pub content_type: String,
    pub code: Option<String>,
    pub body: Value,
}

pub fn load_table() -> Table {
    let text =
        std::fs::read_to_string(dir().join("cases.json")).expect("tests/conformance/cases.json");
    serde_json::from_str(&text).expect("cases.json parses")
}

/// The Authorization header value for a case.
fn authorization(case: &Case) -> Option<String> {
    let grant = case.grant.clone();
    let now = token::unix_now();
    let jwt = match case.auth {
        Auth::Valid => token::api(grant),
        Auth::None => return None,
        Auth::NotBearer => return Some(format!("Basic {}", token::api(grant))),
        Auth::BadSignature => token::sign(json!({ "video": grant }), API_KEY, "not-the-secret"),
        Auth::Expired => token::sign(
            json!({ "video": grant, "nbf": now - 7200, "exp": now - 3600 }),
            API_KEY,
            API_SECRET,
        ),
        Auth::WrongKey => token::sign(json!({ "video": grant }), "otherkey", API_SECRET),
        Auth::NotYetValid => token::sign(
            json!({ "video": grant, "nbf": now + 3600, "exp": now + 7200 }),
            API_KEY,
            API_SECRET,
        ),
        Auth::ExpiredWithinLeeway => token::sign(
            json!({ "video": grant, "nbf": now - 600, "exp": now - 30 }),
            API_KEY,
            API_SECRET,
        ),
        Auth::NotBeforeWithinLeeway => token::sign(
            json!({ "video": grant, "nbf": now + 30, "exp": now + 600 }),
            API_KEY,
            API_SECRET,
        ),
        Auth::MissingGrant => token::api(json!({ "roomJoin": true, "room": "conf-room" })),
        Auth::OtherRoomGrant => {
            let mut g = grant;
            g["room"] = json!("other-room");
            token::api(g)
        }
    };
    Some(format!("Bearer {jwt}"))
}

fn enc<T: Message + DeserializeOwned>(v: &Value) -> Result<Vec<u8>> {
    Ok(serde_json::from_value::<T>(v.clone())?.encode_to_vec())
}

fn dec<T: Message + Default + Serialize>(b: &[u8]) -> Result<Value> {
    Ok(serde_json::to_value(T::decode(b)?)?)
}

type Encode = fn(&Value) -> Result<Vec<u8>>;
type Decode = fn(&[u8]) -> Result<Value>;

/// Request encoder and response decoder (pbjson serde) for the methods in the table.
fn codec(method: &str) -> Option<(Encode, Decode)> {
    use proto::*;
    Some(match method.rsplit('/').next()? {
        "ListRooms" => (enc::<ListRoomsRequest>, dec::<ListRoomsResponse>),
        "ListParticipants" => (
            enc::<ListParticipantsRequest>,
            dec::<ListParticipantsResponse>,
        ),
        "GetParticipant" => (enc::<RoomParticipantIdentity>, dec::<ParticipantInfo>),
        "RemoveParticipant" => (
            enc::<RoomParticipantIdentity>,
            dec::<RemoveParticipantResponse>,
        ),
        "DeleteRoom" => (enc::<DeleteRoomRequest>, dec::<DeleteRoomResponse>),
        "ListEgress" => (enc::<ListEgressRequest>, dec::<ListEgressResponse>),
        "StopEgress" => (enc::<StopEgressRequest>, dec::<EgressInfo>),
        _ => return None,
    })
}

/// Sends one case to `base` and normalises the answer.
pub async fn send(base: &str, case: &Case) -> Result<Answer> {
    let codec = codec(&case.method);
    let body = match (&case.raw_body, case.encoding) {
        (Some(raw), Encoding::Protobuf) => raw.chars().map(|c| c as u8).collect(),
        (Some(raw), Encoding::Json) => raw.clone().into_bytes(),
        (None, Encoding::Json) => serde_json::to_vec(&case.body)?,
        (None, Encoding::Protobuf) => match codec {
            Some((encode, _)) => {
                encode(&case.body).with_context(|| format!("{}: body", case.name))?
            }
            None => Vec::new(),
        },
    };
    let content_type = case
        .content_type
        .as_deref()
        .unwrap_or(case.encoding.content_type());
    let auth = authorization(case);
    let reply = twirp::call(base, &case.method, content_type, auth.as_deref(), body).await?;
    let is_protobuf = reply.content_type.starts_with("application/protobuf");
    let body = if reply.status == 200 && is_protobuf {
        match codec {
            Some((_, decode)) => {
                decode(&reply.body).with_context(|| format!("{}: answer", case.name))?
            }
            None => json!({ "undecodable": reply.body.len() }),
        }
    } else if let Ok(v) = serde_json::from_slice::<Value>(&reply.body) {
        v
    } else {
        json!({ "text": reply.text() })
    };
    let code = body.get("code").and_then(Value::as_str).map(str::to_owned);
    Ok(Answer {
        name: case.name.clone(),
        status: reply.status,
        content_type: reply.content_type,
        code,
        body: normalise(body),
    })
}

const ID_KEYS: &[&str] = &["sid", "room_id", "cid", "mid", "node_id", "turn_password"];
const TIME_KEYS: &[&str] = &[
    "creation_time",
    "creation_time_ms",
    "joined_at",
    "joined_at_ms",
    "started_at",
    "updated_at",
    "ended_at",
    "unix_micro",
    "version",
];

fn snake(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty() || s == "0",
        Value::Null => true,
        _ => false,
    }
}

/// Replaces ids and timestamps (non-zero ones) with placeholders and sorts arrays, so two
/// answers compare by meaning. Keys keep their spelling: snake_case vs camelCase is a finding.
pub fn normalise(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let s = snake(&k);
                    let v = if ID_KEYS.contains(&s.as_str()) && !is_zero(&v) {
                        json!("<id>")
                    } else if TIME_KEYS.contains(&s.as_str()) && !v.is_object() && !is_zero(&v) {
                        json!("<time>")
                    } else {
                        normalise(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(normalise).collect();
            items.sort_by_cached_key(Value::to_string);
            Value::Array(items)
        }
        Value::String(s) => Value::String(hide_jwts(&s)),
        other => other,
    }
}

/// Replaces every JWT in `s` with `<jwt>`: the server echoes a refused token in its 401 body.
fn hide_jwts(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(tail.len());
        out.push_str("<jwt>");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A real server loaded with the fixture: rooms, participants (held while it lives) and,
/// with Redis, the egress records.
pub struct RealFixture {
    pub lk: LiveKit,
    _participants: Vec<Participant>,
}

impl RealFixture {
    pub async fn start(fixture: &Fixture, server: Server) -> Result<Self> {
        let lk = LiveKit::start(Options {
            redis: server == Server::Redis,
        })
        .await?;
        let mut held = Vec::new();
        for room in &fixture.rooms {
            lk.create_room(&room.name, 0, 0, &room.metadata).await?;
            if server == Server::NoRedis {
                continue;
            }
            for p in &room.participants {
                let mut who = Identity::of_kind(&p.identity, &p.kind)
                    .with_video(&p.video)
                    .with_attributes(&json!(p.attributes));
                who.kind_details.clone_from(&p.kind_details);
                let mut joined = lk.join(&room.name, &who, p.publish_audio).await?;
                lk.wait_active(&room.name, &p.identity, Duration::from_secs(20))
                    .await?;
                if p.muted {
                    joined.tell("mute", "MUTED").await?;
                    wait_muted(&lk, &room.name, &p.identity).await?;
                }
                held.push(joined);
            }
        }
        if server == Server::Redis {
            let rooms = lk.list_rooms(&[]).await?;
            for e in &fixture.egresses {
                let room_id = rooms
                    .iter()
                    .find(|r| r.name == e.room_name)
                    .map_or("RM_gone", |r| r.sid.as_str());
                lk.put_egress(&worker_record(e, room_id)?)?;
            }
            settle_counts(&lk, fixture).await?;
        }
        Ok(Self {
            lk,
            _participants: held,
        })
    }
}

/// The record an egress worker would have stored for `e`: the harness's record plus what a
/// worker fills in (the room's sid, the source type, the request's target).
fn worker_record(e: &FixtureEgress, room_id: &str) -> Result<proto::EgressInfo> {
    use proto::egress_info::Request;
    let status = proto::EgressStatus::from_str_name(&e.status).with_context(|| e.status.clone())?;
    let mut info = egress_record(&e.egress_id, &e.room_name, &e.kind, status, e.started_s_ago);
    if !e.room_name.is_empty() {
        room_id.clone_into(&mut info.room_id);
    }
    let sdk = matches!(e.kind.as_str(), "participant" | "track" | "track_composite");
    if sdk {
        info.source_type = proto::EgressSourceType::Sdk as i32;
    }
    match info.request.as_mut() {
        Some(Request::Web(web)) => e.url.clone_into(&mut web.url),
        Some(Request::Participant(p)) => e.identity.clone_into(&mut p.identity),
        Some(Request::Track(t)) => e.track_id.clone_into(&mut t.track_id),
        _ => {}
    }
    Ok(info)
}

/// Waits until ListRooms reports the fixture's humans and publishers (eventually consistent).
async fn settle_counts(lk: &LiveKit, fixture: &Fixture) -> Result<()> {
    for room in fixture.rooms.iter().filter(|r| !r.participants.is_empty()) {
        let humans = room
            .participants
            .iter()
            .filter(|p| !matches!(p.kind.as_str(), "agent" | "egress"))
            .count() as u32;
        let publishers = room.participants.iter().filter(|p| p.publish_audio).count() as u32;
        let recording = room
            .participants
            .iter()
            .any(|p| p.video["recorder"] == json!(true));
        eventually(
            &format!("{} counts {humans}/{publishers}", room.name),
            Duration::from_secs(20),
            || async {
                let rooms = lk.list_rooms(&[&room.name]).await?;
                Ok(rooms
                    .first()
                    .filter(|r| {
                        r.num_participants == humans
                            && r.num_publishers == publishers
                            && r.active_recording == recording
                    })
                    .map(|_| ()))
            },
        )
        .await?;
    }
    Ok(())
}

/// Runs every case against the real server (one with Redis, one without).
pub async fn real_answers(table: &Table) -> Result<Vec<Answer>> {
    let with_redis = RealFixture::start(&table.fixture, Server::Redis).await?;
    let without = RealFixture::start(&table.fixture, Server::NoRedis).await?;
    let mut answers = Vec::new();
    for case in &table.cases {
        let base = if case.server == Server::Redis {
            &with_redis.lk.url
        } else {
            &without.lk.url
        };
        answers.push(send(base, case).await?);
    }
    Ok(answers)
}

/// The fixture as a scenario file for `lk-reaper simulate` (SPEC.md "Scenario files"). A
/// stored STARTING/ACTIVE record has no worker on the real server: a zombie. The server
/// without Redis is emulated with faults on the egress methods.
pub fn scenario(fixture: &Fixture, server: Server) -> Value {
    let rooms: Vec<Value> = fixture
        .rooms
        .iter()
        .map(|r| {
            let participants: Vec<Value> = if server == Server::NoRedis {
                Vec::new()
            } else {
                r.participants.iter().map(scenario_participant).collect()
            };
            json!({ "name": r.name, "age_s": 10, "metadata": r.metadata, "empty_timeout": 300,
                    "departure_timeout": 20, "participants": participants })
        })
        .collect();
    let egresses: Vec<Value> = if server == Server::NoRedis {
        Vec::new()
    } else {
        fixture
            .egresses
            .iter()
            .map(|e| {
                let zombie = matches!(e.status.as_str(), "EGRESS_STARTING" | "EGRESS_ACTIVE");
                json!({ "egress_id": e.egress_id, "room_name": e.room_name, "type": e.kind,
                        "status": e.status, "started_s_ago": e.started_s_ago, "zombie": zombie,
                        "url": e.url, "identity": e.identity, "track_id": e.track_id })
            })
            .collect()
    };
    let faults: Vec<Value> = if server == Server::NoRedis {
        ["ListEgress", "StopEgress"]
            .iter()
            .map(|m| json!({ "method": m, "status": 500, "code": "internal", "msg": "twirp error unknown: egress not connected (redis required)", "times": 1_000_000 }))
            .collect()
    } else {
        Vec::new()
    };
    json!({ "key": API_KEY, "secret": API_SECRET, "egress_page_size": 0, "latency_ms": 0,
            "rooms": rooms, "egresses": egresses, "faults": faults })
}

/// Waits until the server shows every track of `identity` muted.
async fn wait_muted(lk: &LiveKit, room: &str, identity: &str) -> Result<()> {
    eventually(
        &format!("{identity} muted"),
        Duration::from_secs(10),
        || async {
            let list = lk.list_participants(room).await?;
            let muted = list
                .iter()
                .find(|p| p.identity == identity)
                .is_some_and(|p| !p.tracks.is_empty() && p.tracks.iter().all(|t| t.muted));
            Ok(muted.then_some(()))
        },
    )
    .await
}

fn scenario_participant(p: &FixtureParticipant) -> Value {
    let kind = if p.kind.is_empty() {
        "STANDARD".to_owned()
    } else {
        p.kind.to_uppercase()
    };
    let details: Vec<String> = p.kind_details.iter().map(|d| d.to_uppercase()).collect();
    json!({ "identity": p.identity, "kind": kind, "kind_details": details, "joined_s_ago": 5,
            "state": "ACTIVE", "hidden": p.video["hidden"] == json!(true),
            "tracks": u32::from(p.publish_audio),
            "muted_tracks": u32::from(p.publish_audio && p.muted), "attributes": p.attributes })
}

/// `lk-reaper simulate --scenario FILE --listen 127.0.0.1:0`, killed on drop.
pub struct Simulator {
    _child: tokio::process::Child,
    _scenario: tempfile::NamedTempFile,
    pub url: String,
}

impl Simulator {
    pub async fn start(scenario: &Value) -> Result<Self> {
        use tokio::io::AsyncBufReadExt;
        let file = tempfile::NamedTempFile::new()?;
        std::fs::write(file.path(), serde_json::to_vec_pretty(scenario)?)?;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lk-reaper"))
            .args(["simulate", "--scenario"])
            .arg(file.path())
            .args(["--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().context("simulator stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .context("simulator printed no URL within 10s")??
            .context("simulator exited before printing its URL")?;
        if !first.starts_with("http://127.0.0.1:") {
            bail!("simulator's first line is not its URL: {first}");
        }
        Ok(Self {
            _child: child,
            _scenario: file,
            url: first.trim().to_owned(),
        })
    }
}

/// Runs every case against two simulators loaded like the real servers.
pub async fn simulator_answers(table: &Table) -> Result<Vec<Answer>> {
    let with_redis = Simulator::start(&scenario(&table.fixture, Server::Redis)).await?;
    let without = Simulator::start(&scenario(&table.fixture, Server::NoRedis)).await?;
    let mut answers = Vec::new();
    for case in &table.cases {
        let base = if case.server == Server::Redis {
            &with_redis.url
        } else {
            &without.url
        };
        answers.push(send(base, case).await?);
    }
    Ok(answers)
}

/// One listed difference. `case`: a case name, or a prefix ending in `*`. `field`: `status`,
/// `content_type`, `code`, `body`, or a path into the body such as
/// `body.participants.*.tracks.*.name` (`*` = every element or key). `case: "(scenario)"`
/// documents a simulator-only behaviour that a scenario switches on and the table never
/// does (pagination, faults, workers): it excuses nothing and is only there to be read.
#[derive(Debug, Deserialize)]
pub struct KnownDifference {
    pub case: String,
    pub field: String,
    pub reason: String,
}

/// The `case` of a known difference that only documents a scenario feature.
pub const SCENARIO_ONLY: &str = "(scenario)";

impl KnownDifference {
    fn covers(&self, case: &str) -> bool {
        match self.case.strip_suffix('*') {
            Some(prefix) => case.starts_with(prefix),
            None => self.case == case,
        }
    }

    /// The body path this entry excuses (empty: the whole body), if it is about the body.
    fn body_path(&self) -> Option<Vec<&str>> {
        if self.field == "body" {
            return Some(Vec::new());
        }
        self.field
            .strip_prefix("body.")
            .map(|p| p.split('.').collect())
    }
}

pub fn load_known_differences() -> Vec<KnownDifference> {
    let path = dir().join("known-differences.json");
    let text = std::fs::read_to_string(&path).expect("tests/conformance/known-differences.json");
    let known: Vec<KnownDifference> =
        serde_json::from_str(&text).expect("known-differences.json parses");
    for k in &known {
        assert!(
            !k.reason.trim().is_empty(),
            "known-differences.json: {} {} has no reason",
            k.case,
            k.field
        );
    }
    known
}

/// Removes what `path` names from `v` (`*` = every element or key).
fn remove_path(v: &mut Value, path: &[&str]) {
    let Some((head, rest)) = path.split_first() else {
        *v = Value::Null;
        return;
    };
    match v {
        Value::Object(map) if rest.is_empty() => {
            if *head == "*" {
                map.clear();
            } else {
                map.remove(*head);
            }
        }
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if *head == "*" || k == head {
                    remove_path(child, rest);
                }
            }
        }
        Value::Array(items) if *head == "*" => {
            if rest.is_empty() {
                items.clear();
            }
            for item in items {
                remove_path(item, rest);
            }
        }
        _ => {}
    }
}

/// The paths where `a` and `b` differ (at most `limit`), e.g. `rooms.0.num_participants`.
fn diff_paths(a: &Value, b: &Value, at: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    let join = |k: &str| {
        if at.is_empty() {
            k.to_owned()
        } else {
            format!("{at}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (x.get(k), y.get(k));
                match (va, vb) {
                    (Some(va), Some(vb)) => diff_paths(va, vb, &join(k), out, limit),
                    _ if out.len() < limit => out.push(format!(
                        "{}: real {} / simulator {}",
                        join(k),
                        va.map_or("(absent)".into(), Value::to_string),
                        vb.map_or("(absent)".into(), Value::to_string)
                    )),
                    _ => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff_paths(va, vb, &join(&i.to_string()), out, limit);
            }
        }
        _ => out.push(format!(
            "{}: real {a} / simulator {b}",
            if at.is_empty() { "(body)" } else { at }
        )),
    }
}

/// How `s` differs from `r` in what `known` does not excuse, one line each.
fn differences(r: &Answer, s: &Answer, known: &[&KnownDifference]) -> Vec<String> {
    let applying: Vec<&&KnownDifference> = known.iter().filter(|k| k.covers(&r.name)).collect();
    let excused = |field: &str| applying.iter().any(|k| k.field == field);
    let mut out = Vec::new();
    let scalars: [(&str, Value, Value); 3] = [
        ("status", json!(r.status), json!(s.status)),
        ("content_type", json!(r.content_type), json!(s.content_type)),
        ("code", json!(r.code), json!(s.code)),
    ];
    for (field, a, b) in scalars {
        if a != b && !excused(field) {
            out.push(format!("{} {field}: real {a} / simulator {b}", r.name));
        }
    }
    let (mut a, mut b) = (r.body.clone(), s.body.clone());
    for path in applying.iter().filter_map(|k| k.body_path()) {
        remove_path(&mut a, &path);
        remove_path(&mut b, &path);
    }
    let mut paths = Vec::new();
    diff_paths(&a, &b, "", &mut paths, 12);
    out.extend(paths.into_iter().map(|p| format!("{} body {p}", r.name)));
    out
}

/// Differences between two answer lists not excused by `known`, one line each.
pub fn unexplained(real: &[Answer], sim: &[Answer], known: &[KnownDifference]) -> Vec<String> {
    let known: Vec<&KnownDifference> = known.iter().filter(|k| k.case != SCENARIO_ONLY).collect();
    real.iter()
        .zip(sim)
        .flat_map(|(r, s)| differences(r, s, &known))
        .collect()
}

/// Known differences that excuse nothing (the simulator was fixed, or the entry is
/// misspelt): each must go, so the list stays true.
pub fn unused(real: &[Answer], sim: &[Answer], known: &[KnownDifference]) -> Vec<String> {
    let all: Vec<&KnownDifference> = known.iter().filter(|k| k.case != SCENARIO_ONLY).collect();
    let count = |list: &[&KnownDifference]| -> usize {
        real.iter()
            .zip(sim)
            .map(|(r, s)| differences(r, s, list).len())
            .sum()
    };
    let baseline = count(&all);
    all.iter()
        .enumerate()
        .filter(|(i, _)| {
            let mut without = all.clone();
            without.remove(*i);
            count(&without) == baseline
        })
        .map(|(_, k)| format!("{} {}", k.case, k.field))
        .collect()
}

/// Runs the table against the simulator and fails on any difference from `reference` (the
/// real server's answers) that known-differences.json does not list, or on a listed one
/// that no longer occurs.
pub async fn check_simulator(table: &Table, reference: &[Answer], against: &str) {
    let known = load_known_differences();
    let sim = simulator_answers(table)
        .await
        .expect("conformance cases against the simulator");
    assert_eq!(
        reference.len(),
        sim.len(),
        "real-answers.json is stale: regenerate it ({BLESS})"
    );
    let names_match = reference.iter().zip(&sim).all(|(r, s)| r.name == s.name);
    assert!(
        names_match,
        "real-answers.json is stale: regenerate it ({BLESS})"
    );
    let diffs = unexplained(reference, &sim, &known);
    visible!(
        "conformance: {} cases compared, simulator vs {against}",
        sim.len()
    );
    assert!(
        diffs.is_empty(),
        "the simulator differs from {against} (fix it, or list the difference with its reason in tests/conformance/known-differences.json):\n{}",
        diffs.join("\n")
    );
    let stale = unused(reference, &sim, &known);
    assert!(
        stale.is_empty(),
        "tests/conformance/known-differences.json lists differences that no longer occur; remove them (and their README lines):\n{}",
        stale.join("\n")
    );
}

fn golden_path() -> PathBuf {
    dir().join("real-answers.json")
}

/// How to rewrite the golden files from the real server.
pub const BLESS: &str = "LK_REAPER_BLESS=1 cargo test --test real_livekit -- --include-ignored";

fn as_map(answers: &[Answer]) -> BTreeMap<&str, &Answer> {
    answers.iter().map(|a| (a.name.as_str(), a)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn real_server_answers_match_the_golden_file() {
    harness::available("real_server_answers_match_the_golden_file");
    let bless = env_flag("LK_REAPER_BLESS");
    let table = load_table();
    let answers = real_answers(&table)
        .await
        .expect("conformance cases against the real server");
    visible!(
        "conformance: {} cases ran against the real LiveKit server",
        answers.len()
    );
    let fresh = serde_json::to_string_pretty(&answers).unwrap() + "\n";
    if bless {
        std::fs::write(golden_path(), &fresh).unwrap();
        visible!("wrote {}", golden_path().display());
    } else {
        compare_with_golden(&answers);
    }
    // The live comparison: the simulator against what this server just answered.
    check_simulator(&table, &answers, "the live real server").await;
}

/// The recorded answers of the real server; a missing file fails with the command that
/// writes it.
fn load_golden() -> Vec<Answer> {
    let text = std::fs::read_to_string(golden_path()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record it from the real server with {BLESS}",
            golden_path().display()
        )
    });
    serde_json::from_str(&text).expect("real-answers.json parses")
}

fn compare_with_golden(answers: &[Answer]) {
    let golden = load_golden();
    let (want, got) = (as_map(&golden), as_map(answers));
    let diffs: Vec<String> = got
        .iter()
        .filter(|(name, a)| want.get(*name) != Some(*a))
        .map(|(name, a)| format!("{name}: now {}", serde_json::to_string(a).unwrap()))
        .collect();
    assert!(
        diffs.is_empty() && want.len() == got.len(),
        "the real server answered differently from tests/conformance/real-answers.json \
         ({BLESS} rewrites it after a deliberate change):\n{}",
        diffs.join("\n")
    );
}

/// Runs everywhere (no real server needed): the simulator against the golden answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_answers_like_the_real_server() {
    let table = load_table();
    let golden = load_golden();
    check_simulator(
        &table,
        &golden,
        "the real server (golden real-answers.json)",
    )
    .await;
}

fn answer(name: &str, status: u16, body: Value) -> Answer {
    Answer {
        name: name.into(),
        status,
        content_type: "application/json".into(),
        code: None,
        body,
    }
}

fn known(case: &str, field: &str) -> KnownDifference {
    KnownDifference {
        case: case.into(),
        field: field.into(),
        reason: "because".into(),
    }
}

#[test]
fn an_unlisted_difference_fails_and_a_listed_one_does_not() {
    let a = answer("x", 404, json!({}));
    let b = answer("x", 200, json!({}));
    let (a, b) = (std::slice::from_ref(&a), std::slice::from_ref(&b));
    assert_eq!(unexplained(a, b, &[]).len(), 1);
    assert!(unexplained(a, b, &[known("x", "status")]).is_empty());
    assert!(unexplained(a, b, &[known("x*", "status")]).is_empty());
    assert_eq!(unexplained(a, b, &[known("y", "status")]).len(), 1);
    assert_eq!(
        unexplained(a, b, &[known(SCENARIO_ONLY, "status")]).len(),
        1,
        "a scenario-only entry excuses nothing"
    );
}

#[test]
fn a_listed_body_path_excuses_only_that_path() {
    let real = [answer(
        "l",
        200,
        json!({"items": [{"name": "mic", "kind": "AGENT"}, {"name": "mic", "kind": "STANDARD"}]}),
    )];
    let sim = [answer(
        "l",
        200,
        json!({"items": [{"name": "x", "kind": "AGENT"}, {"name": "y", "kind": "STANDARD"}]}),
    )];
    let path = [known("l", "body.items.*.name")];
    assert!(unexplained(&real, &sim, &path).is_empty());
    let mut wrong_kind = sim.clone();
    wrong_kind[0].body["items"][1]["kind"] = json!("AGENT");
    let diffs = unexplained(&real, &wrong_kind, &path);
    assert_eq!(
        diffs,
        ["l body items.1.kind: real \"STANDARD\" / simulator \"AGENT\""]
    );
    assert!(unused(&real, &sim, &path).is_empty());
    let stale = [known("l", "body.items.*.name"), known("l", "status")];
    assert_eq!(unused(&real, &sim, &stale), ["l status"]);
}

#[test]
fn normalise_hides_ids_and_times_but_keeps_zeroes() {
    let v = normalise(
        json!({ "sid": "RM_abc", "creation_time": "17", "ended_at": "0", "items": [{"b": 1}, {"a": 2}],
                              "text": "invalid token: eyJa.eyJb.c-_d, error: expired" }),
    );
    assert_eq!(
        v,
        json!({ "sid": "<id>", "creation_time": "<time>", "ended_at": "0", "items": [{"a": 2}, {"b": 1}],
                          "text": "invalid token: <jwt>, error: expired" })
    );
}

/// README.md's "Simulator vs real LiveKit" lists every known difference and the table's size.
#[test]
fn readme_lists_every_known_difference() {
    let readme = std::fs::read_to_string(harness::repo_root().join("README.md")).unwrap();
    let start = readme
        .find("### Simulator vs real LiveKit")
        .expect("README.md has a \"Simulator vs real LiveKit\" subsection");
    let section = &readme[start..];
    let section = section[4..]
        .find("\n#")
        .map_or(section, |end| &section[..end + 4]);
    let missing: Vec<String> = load_known_differences()
        .iter()
        .map(|k| format!("`{}`", k.field))
        .filter(|field| !section.contains(field.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md \"Simulator vs real LiveKit\" does not list these known differences: {}",
        missing.join(", ")
    );
    let count = format!("{} cases", load_table().cases.len());
    assert!(
        section.contains(&count),
        "README.md \"Simulator vs real LiveKit\" should say the table has {count}"
    );
}

/// What an egress worker answers, one step of `worker_steps`: the HTTP status, the Twirp
/// code and message, and the egress status in the reply (StopEgress's record, or ListEgress's
/// only item). Files, times and ids differ by nature and are left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerAnswer {
    pub name: String,
    pub status: u16,
    pub code: Option<String>,
    pub msg: Option<String>,
    pub egress_status: Option<String>,
    pub details: Option<String>,
}

fn worker_golden_path() -> PathBuf {
    dir().join("worker-answers.json")
}

/// How long a stopped recording may take to be COMPLETE (a real worker: 4-4.5 s).
const WORKER_COMPLETE_TIMEOUT: Duration = Duration::from_secs(30);

/// The live-worker cases, against `base`: StopEgress on `starting` (a STARTING egress), on
/// `active` (ACTIVE), ListEgress while it is ENDING, a second StopEgress then, and once it
/// is COMPLETE a third StopEgress and ListEgress.
async fn worker_steps(base: &str, starting: &str, active: &str) -> Result<Vec<WorkerAnswer>> {
    let mut answers = vec![
        worker_call(base, "stop_egress.worker.starting", "StopEgress", starting).await?,
        worker_call(base, "stop_egress.worker.active", "StopEgress", active).await?,
        worker_call(base, "list_egress.worker.ending", "ListEgress", active).await?,
        worker_call(base, "stop_egress.worker.ending", "StopEgress", active).await?,
    ];
    eventually(
        "the stopped egress COMPLETE",
        WORKER_COMPLETE_TIMEOUT,
        || async {
            let answer = worker_call(base, "", "ListEgress", active).await?;
            Ok((answer.egress_status.as_deref() == Some("EGRESS_COMPLETE")).then_some(()))
        },
    )
    .await?;
    answers.push(worker_call(base, "stop_egress.worker.complete", "StopEgress", active).await?);
    answers.push(worker_call(base, "list_egress.worker.complete", "ListEgress", active).await?);
    Ok(answers)
}

/// Calls `method` about egress `id` and keeps what `WorkerAnswer` compares.
async fn worker_call(base: &str, name: &str, method: &str, id: &str) -> Result<WorkerAnswer> {
    let case = Case {
        name: name.into(),
        method: format!("livekit.Egress/{method}"),
        encoding: Encoding::Protobuf,
        auth: Auth::Valid,
        grant: json!({ "roomRecord": true }),
        body: json!({ "egress_id": id }),
        server: Server::Redis,
        content_type: None,
        raw_body: None,
    };
    let started = std::time::Instant::now();
    let answer = send(base, &case).await?;
    if !name.is_empty() {
        visible!(
            "FINDING {name} at {base}: HTTP {} in {:.2} s",
            answer.status,
            started.elapsed().as_secs_f64()
        );
    }
    let record = answer
        .body
        .get("items")
        .and_then(|items| items.get(0))
        .unwrap_or(&answer.body);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(WorkerAnswer {
        name: answer.name,
        status: answer.status,
        code: answer.code,
        msg: text(&answer.body, "msg"),
        egress_status: text(record, "status"),
        details: text(record, "details"),
    })
}

/// The simulator loaded like the live worker's server: a room, an ACTIVE and a STARTING
/// track egress with a worker, and a worker that takes as long as a real one to finish.
fn worker_scenario() -> Value {
    let egress = |id: &str, status: &str| {
        json!({ "egress_id": id, "room_name": "conf-rec", "type": "track", "status": status,
                "started_s_ago": 5, "track_id": "TR_tone" })
    };
    json!({ "key": API_KEY, "secret": API_SECRET, "egress_ending_ms": 4000,
            "rooms": [{ "name": "conf-rec", "age_s": 10 }],
            "egresses": [egress("EG_active", "EGRESS_ACTIVE"), egress("EG_starting", "EGRESS_STARTING")] })
}

/// A real LiveKit Egress worker answers the live-worker cases as the golden file
/// tests/conformance/worker-answers.json says (`LK_REAPER_BLESS=1` rewrites it), and
/// the simulator answers them the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server and the egress worker; scripts/test runs it"]
async fn a_live_egress_worker_answers_as_the_golden_file_and_the_simulator() {
    let test = "a_live_egress_worker_answers_as_the_golden_file_and_the_simulator";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let worker = harness::EgressWorker::start(&lk)
        .await
        .unwrap_or_else(|e| panic!("{test}: needs the egress worker: {e:#}"));
    lk.create_room("conf-rec", 0, 0, "").await.unwrap();
    let tone = lk
        .publish_tone("conf-rec", &Identity::of_kind("bot", "agent"))
        .await
        .unwrap();
    let file = worker.file("active.ogg");
    let active = lk
        .start_track_egress("conf-rec", &tone.track_sid, &file)
        .await
        .unwrap();
    lk.wait_recording(&active.egress_id, &file, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", worker.log()));
    let starting = lk
        .start_track_egress("conf-rec", &tone.track_sid, &worker.file("starting.ogg"))
        .await
        .unwrap();
    assert_eq!(
        starting.status,
        proto::EgressStatus::EgressStarting as i32,
        "StartTrackEgress answers STARTING"
    );
    let real = worker_steps(&lk.url, &starting.egress_id, &active.egress_id)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", worker.log()));
    visible!(
        "conformance: {} live-worker cases ran against a real egress worker",
        real.len()
    );
    let fresh = serde_json::to_string_pretty(&real).unwrap() + "\n";
    if env_flag("LK_REAPER_BLESS") {
        std::fs::write(worker_golden_path(), &fresh).unwrap();
        visible!("wrote {}", worker_golden_path().display());
    }
    let golden = std::fs::read_to_string(worker_golden_path()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record it from a live worker with {BLESS}",
            worker_golden_path().display()
        )
    });
    assert_eq!(
        fresh, golden,
        "the live worker answered differently from tests/conformance/worker-answers.json ({BLESS} rewrites it after a deliberate change)"
    );
    drop(tone);
    // The live comparison: the simulator against what this worker just answered.
    assert_eq!(
        simulator_worker_answers().await,
        real,
        "the simulator answers the live-worker cases unlike the live worker"
    );
}

/// The live-worker cases against a simulator loaded with `worker_scenario`.
async fn simulator_worker_answers() -> Vec<WorkerAnswer> {
    let sim = Simulator::start(&worker_scenario()).await.unwrap();
    worker_steps(&sim.url, "EG_starting", "EG_active")
        .await
        .unwrap()
}

/// Runs everywhere: the simulator answers the live-worker cases as the golden file says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_answers_like_a_live_egress_worker() {
    let golden: Vec<WorkerAnswer> = serde_json::from_str(
        &std::fs::read_to_string(worker_golden_path()).expect("worker-answers.json"),
    )
    .unwrap();
    assert_eq!(
        simulator_worker_answers().await,
        golden,
        "the simulator answers the live-worker cases unlike a real worker (tests/conformance/worker-answers.json)"
    );
}
