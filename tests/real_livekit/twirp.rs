//! Raw Twirp calls: what went over the wire and what came back, nothing interpreted, so the
//! same calls can judge the real server and the simulator.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use prost::Message;

/// Request body encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/protobuf",
            Self::Json => "application/json",
        }
    }
}

/// One HTTP answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub elapsed: Duration,
}

impl Reply {
    /// The Twirp error body (`code`, `msg`) when the body is JSON.
    pub fn twirp_error(&self) -> Option<serde_json::Value> {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .filter(|v| v.get("code").is_some())
    }

    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A shared HTTP client with no proxy (the namespace address must be reached directly).
pub fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client")
    })
}

/// POSTs `body` to `{base}/twirp/{path}` (path e.g. `livekit.RoomService/ListRooms`) with
/// this Content-Type and Authorization header value (e.g. `Bearer <jwt>`).
pub async fn call(
    base: &str,
    path: &str,
    content_type: &str,
    authorization: Option<&str>,
    body: Vec<u8>,
) -> Result<Reply> {
    let mut req = client()
        .post(format!("{base}/twirp/{path}"))
        .header("Content-Type", content_type)
        .body(body);
    if let Some(value) = authorization {
        req = req.header("Authorization", value);
    }
    let started = std::time::Instant::now();
    let resp = req
        .send()
        .await
        .with_context(|| format!("POST {path} to {base}"))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.bytes().await?.to_vec();
    Ok(Reply {
        status,
        content_type,
        body,
        elapsed: started.elapsed(),
    })
}

/// A protobuf call that must succeed: decodes the answer, or fails with what came back.
pub async fn proto<Req: Message, Resp: Message + Default>(
    base: &str,
    path: &str,
    token: &str,
    req: &Req,
) -> Result<Resp> {
    let auth = format!("Bearer {token}");
    let content_type = Encoding::Protobuf.content_type();
    let reply = call(base, path, content_type, Some(&auth), req.encode_to_vec()).await?;
    if reply.status != 200 {
        bail!("{path}: HTTP {} {}", reply.status, reply.text());
    }
    Resp::decode(reply.body.as_slice()).with_context(|| format!("{path}: undecodable answer"))
}
