//! What `GET /_sim/calls` shows: for the latest API calls, the token's lifetime and grants
//! and the `X-Twirp-Timeout-Ms` header as sent, and the most calls ever in flight at once,
//! so tests can check what a client sends.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use livekit_api::access_token::Claims;
use serde::Serialize;
use serde_json::{Map, Value};

/// How many calls the log keeps (the latest): a long-running simulator stays small.
const KEEP: usize = 1000;

/// One API call that carried a valid token.
#[derive(Debug, Serialize)]
pub struct CallRecord {
    /// The method, e.g. `ListRooms`.
    pub method: &'static str,
    /// The token's `exp - nbf`, in seconds.
    pub token_lifetime_s: i64,
    /// The token's video grants that are set (true or not empty), e.g. `{"roomList": true}`.
    pub grants: Map<String, Value>,
    /// The `X-Twirp-Timeout-Ms` header, if sent.
    pub twirp_timeout_ms: Option<String>,
}

impl CallRecord {
    /// The record of a `method` call with `claims` and a timeout header.
    pub fn new(method: &'static str, claims: &Claims, twirp_timeout_ms: Option<&str>) -> Self {
        let grants = match serde_json::to_value(&claims.video) {
            Ok(Value::Object(all)) => all.into_iter().filter(|(_, v)| is_set(v)).collect(),
            _ => Map::new(),
        };
        CallRecord {
            method,
            token_lifetime_s: claims.exp as i64 - claims.nbf as i64,
            grants,
            twirp_timeout_ms: twirp_timeout_ms.map(str::to_owned),
        }
    }
}

fn is_set(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Null => false,
        _ => true,
    }
}

/// The latest calls and the in-flight peak.
#[derive(Debug, Default)]
pub struct CallLog {
    latest: Mutex<VecDeque<CallRecord>>,
    in_flight: AtomicU64,
    peak: AtomicU64,
}

/// A call in flight; it leaves when dropped.
pub struct InFlight<'a>(&'a CallLog);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl CallLog {
    /// Counts a call in flight until the guard drops.
    pub fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        InFlight(self)
    }

    /// Keeps `record`, forgetting the oldest past the limit.
    pub fn record(&self, record: CallRecord) {
        let mut latest = self
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if latest.len() == KEEP {
            latest.pop_front();
        }
        latest.push_back(record);
    }

    /// `{"max_in_flight": N, "calls": [CallRecord, ...]}`, oldest call first.
    pub fn to_json(&self) -> Value {
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        serde_json::json!({
            "max_in_flight": self.peak.load(Ordering::Relaxed),
            "calls": *latest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::VideoGrants;

    #[test]
    fn a_record_keeps_the_lifetime_and_only_the_grants_that_are_set() {
        let claims = Claims {
            exp: 1300,
            nbf: 1000,
            video: VideoGrants {
                room_admin: true,
                room: "r1".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let record = CallRecord::new("ListParticipants", &claims, Some("10000"));
        assert_eq!(record.token_lifetime_s, 300);
        assert_eq!(
            Value::Object(record.grants),
            serde_json::json!({"roomAdmin": true, "room": "r1"})
        );
    }

    #[test]
    fn the_log_keeps_the_latest_calls_and_the_peak_in_flight() {
        let log = CallLog::default();
        let claims = Claims::default();
        for _ in 0..=KEEP {
            log.record(CallRecord::new("ListRooms", &claims, None));
        }
        let (a, b) = (log.enter(), log.enter());
        drop((a, b));
        let _c = log.enter();
        let json = log.to_json();
        assert_eq!(json["calls"].as_array().unwrap().len(), KEEP);
        assert_eq!(json["max_in_flight"], 2);
    }
}
