//! Webhooks as LiveKit posts them: a `WebhookEvent` in protobuf JSON, signed with an HS256
//! JWT (issuer: the API key, 5 minutes valid) whose `sha256` claim is the body's base64
//! SHA-256, in the Authorization header (no `Bearer`), to every configured URL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use livekit_protocol as proto;
use tokio::sync::mpsc;

/// The content type LiveKit posts with.
pub const CONTENT_TYPE: &str = "application/webhook+json";

/// How long a signed webhook's token is valid, as LiveKit signs it.
const TOKEN_TTL: Duration = Duration::from_secs(5 * 60);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new event of kind `event`, with a fresh id and the current time.
pub fn event(event: &str) -> proto::WebhookEvent {
    let created_at = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    proto::WebhookEvent {
        event: event.to_owned(),
        id: format!("EV_sim{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
        created_at,
        ..Default::default()
    }
}

/// Signs a body as LiveKit does.
pub fn sign(api_key: &str, api_secret: &str, body: &[u8]) -> anyhow::Result<String> {
    use base64::Engine;
    use sha2::Digest;
    crate::livekit::jwt::install();
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
    livekit_api::access_token::AccessToken::with_api_key(api_key, api_secret)
        .with_ttl(TOKEN_TTL)
        .with_sha256(&hash)
        .to_jwt()
        .map_err(|e| anyhow::anyhow!("could not sign a webhook: {e}"))
}

/// Posts events in order, one at a time, to every URL; a failed post is logged and dropped
/// (LiveKit drops what it cannot deliver within its queue's age, too).
#[derive(Debug, Clone)]
pub struct Poster {
    queue: mpsc::UnboundedSender<proto::WebhookEvent>,
}

impl Poster {
    /// Starts the posting task.
    pub fn start(urls: Vec<String>, api_key: String, api_secret: String) -> Self {
        let (queue, mut events) = mpsc::unbounded_channel::<proto::WebhookEvent>();
        // Loopback http only: no trust store needed, but reqwest wants a TLS backend.
        let http = crate::livekit::tls::client_config(false).and_then(|tls| {
            Ok(reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .timeout(Duration::from_secs(5))
                .build()?)
        });
        let Ok(http) = http else {
            tracing::error!("could not build the webhook client; no webhooks will be posted");
            return Self { queue };
        };
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let Ok(body) = serde_json::to_vec(&event) else {
                    continue;
                };
                let Ok(token) = sign(&api_key, &api_secret, &body) else {
                    continue;
                };
                for url in &urls {
                    let sent = http
                        .post(url)
                        .header(reqwest::header::AUTHORIZATION, &token)
                        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                        .body(body.clone())
                        .send()
                        .await;
                    if let Err(err) = sent.and_then(reqwest::Response::error_for_status) {
                        tracing::warn!(event = event.event, "webhook not delivered: {err}");
                    }
                }
            }
        });
        Self { queue }
    }

    /// Queues events for posting.
    pub fn post(&self, events: Vec<proto::WebhookEvent>) {
        for event in events {
            // The task ends only with the runtime.
            let _ = self.queue.send(event);
        }
    }
}

/// Whether a URL points at this machine (the simulator posts nowhere else).
pub fn is_loopback(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name == "localhost",
                None => false,
            }
    })
}
