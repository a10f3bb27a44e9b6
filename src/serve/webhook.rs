//! Receiving a webhook: verify its signature (livekit-api's `WebhookReceiver`), then drop
//! one already seen or too old. Bodies are never logged.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use livekit_api::access_token::TokenVerifier;
use livekit_api::webhooks::{WebhookError, WebhookReceiver};

use crate::livekit::Credentials;
use crate::livekit::proto::WebhookEvent;

/// The largest body read; LiveKit's events are a few kilobytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// An event created this long before it arrived is dropped. LiveKit drops its own queued
/// events after 30 s and signs each with a 5-minute token, so an older one is a replay.
pub const MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// Event ids remembered to drop duplicates (LiveKit retries a post that failed).
const RECENT_IDS: usize = 65_536;

/// Why a webhook was not acted on; the label of `lk_reaper_webhooks_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No Authorization header: 401.
    Unsigned,
    /// A token or body hash that does not verify: 401.
    BadSignature,
    /// Over [`MAX_BODY`]: 413.
    TooLarge,
    /// Signed, but not a webhook event: 400.
    BadBody,
    /// An id seen before: 200, nothing done.
    Duplicate,
    /// Older than [`MAX_AGE`]: 200, nothing done.
    Stale,
}

impl Rejection {
    /// Every reason, so that /metrics shows each at 0 from the start.
    pub const ALL: [Rejection; 6] = [
        Self::Unsigned,
        Self::BadSignature,
        Self::TooLarge,
        Self::BadBody,
        Self::Duplicate,
        Self::Stale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::BadSignature => "bad_signature",
            Self::TooLarge => "too_large",
            Self::BadBody => "bad_body",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
        }
    }

    /// The HTTP status answered.
    pub fn status(self) -> u16 {
        match self {
            Self::Unsigned | Self::BadSignature => 401,
            Self::TooLarge => 413,
            Self::BadBody => 400,
            // Answered as delivered, so LiveKit does not post it again.
            Self::Duplicate | Self::Stale => 200,
        }
    }
}

/// Verifies webhooks and remembers recent event ids.
#[derive(Debug)]
pub struct Inbox {
    receiver: WebhookReceiver,
    seen: HashSet<String>,
    order: VecDeque<String>,
}

impl Inbox {
    /// Verifies with the API key and secret LiveKit signs with (`webhook.api_key`).
    pub fn new(credentials: &Credentials) -> Self {
        let verifier =
            TokenVerifier::with_api_key(&credentials.api_key, credentials.api_secret.expose());
        Self {
            receiver: WebhookReceiver::new(verifier),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Verifies one post and returns its event, unless it is to be refused or dropped.
    pub fn accept(
        &mut self,
        authorization: Option<&[u8]>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<WebhookEvent, Rejection> {
        let token = authorization
            .and_then(|h| std::str::from_utf8(h).ok())
            .map(str::trim)
            .map(|h| h.strip_prefix("Bearer ").unwrap_or(h))
            .filter(|h| !h.is_empty())
            .ok_or(Rejection::Unsigned)?;
        let body = std::str::from_utf8(body).map_err(|_| Rejection::BadSignature)?;
        let event = self
            .receiver
            .receive(body, token)
            .map_err(|err| match err {
                WebhookError::InvalidData(_) => Rejection::BadBody,
                _ => Rejection::BadSignature,
            })?;
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(event.created_at.max(0) as u64);
        if now.duration_since(created).is_ok_and(|age| age > MAX_AGE) {
            return Err(Rejection::Stale);
        }
        if !event.id.is_empty() && !self.remember(&event.id) {
            return Err(Rejection::Duplicate);
        }
        Ok(event)
    }

    /// Remembers an id; false if it was already known. The oldest is forgotten first.
    fn remember(&mut self, id: &str) -> bool {
        if !self.seen.insert(id.to_owned()) {
            return false;
        }
        self.order.push_back(id.to_owned());
        if self.order.len() > RECENT_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::sim::webhooks::sign;

    fn inbox() -> Inbox {
        Inbox::new(&Credentials {
            api_key: "devkey".into(),
            api_secret: Secret::new("secret".into()),
        })
    }

    fn event(id: &str, created_at: i64) -> Vec<u8> {
        let event = WebhookEvent {
            event: "participant_left".into(),
            id: id.into(),
            created_at,
            ..Default::default()
        };
        serde_json::to_vec(&event).unwrap()
    }

    fn now_s() -> i64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    #[test]
    fn a_signed_event_is_accepted_once() {
        let mut inbox = inbox();
        let body = event("EV_1", now_s());
        let token = sign("devkey", "secret", &body).unwrap();
        let now = SystemTime::now();
        let got = inbox.accept(Some(token.as_bytes()), &body, now).unwrap();
        assert_eq!(got.event, "participant_left");
        assert_eq!(
            inbox.accept(Some(token.as_bytes()), &body, now),
            Err(Rejection::Duplicate)
        );
    }

    #[test]
    fn unsigned_forged_tampered_and_old_events_are_refused() {
        let mut inbox = inbox();
        let now = SystemTime::now();
        let body = event("EV_2", now_s());
        assert_eq!(inbox.accept(None, &body, now), Err(Rejection::Unsigned));
        let forged = sign("devkey", "not-the-secret", &body).unwrap();
        assert_eq!(
            inbox.accept(Some(forged.as_bytes()), &body, now),
            Err(Rejection::BadSignature)
        );
        let other_key = sign("otherkey", "secret", &body).unwrap();
        assert_eq!(
            inbox.accept(Some(other_key.as_bytes()), &body, now),
            Err(Rejection::BadSignature)
        );
        let token = sign("devkey", "secret", &body).unwrap();
        let tampered = event("EV_3", now_s());
        assert_eq!(
            inbox.accept(Some(token.as_bytes()), &tampered, now),
            Err(Rejection::BadSignature),
            "the token signs another body"
        );
        let old = event("EV_4", now_s() - 3600);
        let token = sign("devkey", "secret", &old).unwrap();
        assert_eq!(
            inbox.accept(Some(token.as_bytes()), &old, now),
            Err(Rejection::Stale)
        );
        let garbage = b"{not json";
        let token = sign("devkey", "secret", garbage).unwrap();
        assert_eq!(
            inbox.accept(Some(token.as_bytes()), garbage, now),
            Err(Rejection::BadBody)
        );
    }

    #[test]
    fn the_recent_ids_set_is_bounded() {
        let mut inbox = inbox();
        for i in 0..=RECENT_IDS {
            assert!(inbox.remember(&format!("EV_{i}")));
        }
        assert_eq!(inbox.seen.len(), RECENT_IDS);
        assert!(inbox.remember("EV_0"), "the oldest was forgotten");
        assert!(!inbox.remember(&format!("EV_{RECENT_IDS}")));
    }
}
