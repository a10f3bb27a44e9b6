//! What can go wrong in one API call, classified once so callers never parse messages.

use std::time::Duration;

use crate::redact;

/// Twirp error codes we act on (LiveKit's server sends these in `code`).
pub mod code {
    pub const NOT_FOUND: &str = "not_found";
    pub const FAILED_PRECONDITION: &str = "failed_precondition";
    pub const DEADLINE_EXCEEDED: &str = "deadline_exceeded";
    pub const UNAVAILABLE: &str = "unavailable";
    pub const RESOURCE_EXHAUSTED: &str = "resource_exhausted";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const PERMISSION_DENIED: &str = "permission_denied";
    pub const UNKNOWN: &str = "unknown";
    pub const INTERNAL: &str = "internal";
    pub const BAD_ROUTE: &str = "bad_route";
    pub const UNIMPLEMENTED: &str = "unimplemented";
}

/// One failed API call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a Twirp error.
    #[error("{code}: {msg}")]
    Twirp {
        status: u16,
        code: String,
        msg: String,
    },
    /// The server refused our credentials (plain-text 401 from LiveKit's auth middleware, or
    /// a Twirp `unauthenticated` / `permission_denied`).
    #[error("authentication failed: check LIVEKIT_API_KEY / LIVEKIT_API_SECRET (server said: {0})")]
    Auth(String),
    /// Something answered that does not speak LiveKit's API.
    #[error("not a LiveKit server at {url} (HTTP {status}: {snippet})")]
    NotLiveKit {
        url: String,
        status: u16,
        snippet: String,
    },
    /// No answer within the per-call deadline.
    #[error("no answer within {0:?} (--request-timeout)")]
    Timeout(Duration),
    /// Could not reach the server.
    #[error("{0}")]
    Transport(String),
    /// TLS or the URL's scheme does not fit the server (untrusted or wrong certificate, TLS
    /// on a plain port or the reverse): the same on every attempt, so never retried.
    #[error("{0}")]
    Misconfigured(String),
    /// The answer breaks LiveKit's protocol (a body past the size cap, a page token
    /// repeated): the same on every attempt, never retried, and the run cannot trust it.
    #[error("{0}")]
    Broken(String),
    /// The run's deadline (`--timeout`) passed while the call was in flight.
    #[error("cut off by the run deadline (--timeout); the server may or may not have acted")]
    RunDeadline,
}

impl ApiError {
    /// The Twirp code, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Twirp { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether a retry may succeed: connect errors, timeouts, HTTP 5xx, `unavailable`,
    /// rate limits (HTTP 429, `resource_exhausted`). Never auth or argument errors.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Twirp { status, code, .. } => {
                *status >= 500 || code == code::UNAVAILABLE || self.is_rate_limited()
            }
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::Auth(_)
            | Self::NotLiveKit { .. }
            | Self::Misconfigured(_)
            | Self::Broken(_)
            | Self::RunDeadline => false,
        }
    }

    /// Whether the server said to slow down: HTTP 429 or `resource_exhausted`.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::Twirp { status, code, .. }
            if *status == 429 || code == code::RESOURCE_EXHAUSTED)
    }

    /// Whether a DeleteRoom answer says the room's node is gone (livekit#3766): 503
    /// `unavailable` "no response from servers" while the dead node is still registered,
    /// 500 `unknown` "could not find object" once a restarted node removed it. Asking
    /// again cannot help until the room's records leave Redis. (On StopEgress the same
    /// words mean the egress worker is gone; callers ask this of DeleteRoom only.)
    pub fn is_node_gone(&self) -> bool {
        match self {
            Self::Twirp { code, msg, .. } => {
                (code == code::UNAVAILABLE && msg.contains("no response from servers"))
                    || (code == code::UNKNOWN && msg.contains("could not find object"))
            }
            _ => false,
        }
    }

    /// Whether the server has no such service: LiveKit's `internal` "... not connected
    /// (redis required)" on a single node without Redis, Twirp `bad_route` /
    /// `unimplemented`, or a bare 404 from a proxy that routes only some services. Any
    /// other `internal` is a failed list, never an empty one.
    pub fn is_missing_service(&self) -> bool {
        match self {
            Self::Twirp { code, msg, .. } => {
                (code == code::INTERNAL && msg.contains("not connected"))
                    || [code::BAD_ROUTE, code::UNIMPLEMENTED].contains(&code.as_str())
            }
            Self::NotLiveKit { status, .. } => *status == 404,
            _ => false,
        }
    }

    /// Whether the run cannot go on at all (wrong server or credentials).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::Auth(_) | Self::NotLiveKit { .. } | Self::Misconfigured(_) | Self::Broken(_)
        )
    }

    /// Builds the error for a non-200 answer.
    pub(crate) fn from_response(url: &str, status: u16, content_type: &str, body: &[u8]) -> Self {
        if let Some((code, msg)) = parse_twirp_error(body) {
            if code == code::UNAUTHENTICATED || code == code::PERMISSION_DENIED {
                return Self::Auth(format!("{code}: {msg}"));
            }
            return Self::Twirp { status, code, msg };
        }
        let text = snippet(body);
        if status == 401 {
            return Self::Auth(text);
        }
        // A proxy or load balancer in front of LiveKit failing (nginx's HTML 502 while
        // LiveKit restarts), or a plain rate limit: worth a retry.
        let proxy_error = matches!(status, 502..=504) || status == 429;
        if proxy_error || (status >= 500 && !content_type.contains("html")) {
            return Self::Twirp {
                status,
                code: format!("http_{status}"),
                msg: title(body).unwrap_or(text),
            };
        }
        Self::NotLiveKit {
            url: url.to_owned(),
            status,
            snippet: text,
        }
    }
}

fn parse_twirp_error(body: &[u8]) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct TwirpBody {
        code: String,
        #[serde(default)]
        msg: String,
    }
    let parsed: TwirpBody = serde_json::from_slice(body).ok()?;
    let clean = |s: &str| redact::line(&redact::redact_tokens(s));
    Some((clean(&parsed.code), clean(&parsed.msg)))
}

/// An HTML page's `<title>`, made safe and short.
fn title(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let start = start + lower[start..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let words: Vec<&str> = text[start..end].split_whitespace().collect();
    (!words.is_empty()).then(|| redact::short(&redact::redact_tokens(&words.join(" ")), 120))
}

/// The first line of a body, made safe and short for an error message.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = redact::redact_tokens(&String::from_utf8_lossy(body));
    let first = text.trim().lines().next().unwrap_or("");
    let mut out: String = redact::line(first).chars().take(120).collect();
    if out.is_empty() {
        out.push_str("empty body");
    } else if first.chars().count() > 120 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ApiError;

    #[test]
    fn classifies_answers() {
        let twirp =
            br#"{"code":"not_found","msg":"twirp error unknown: requested room does not exist"}"#;
        let e = ApiError::from_response("u", 404, "application/json", twirp);
        assert_eq!(e.code(), Some("not_found"));
        assert!(!e.is_transient());

        let e = ApiError::from_response("u", 401, "text/plain", b"invalid authorization token\n");
        assert!(matches!(&e, ApiError::Auth(m) if m == "invalid authorization token"));
        assert!(e.is_fatal());

        let e = ApiError::from_response(
            "u",
            401,
            "application/json",
            br#"{"code":"unauthenticated","msg":"permissions denied"}"#,
        );
        assert!(matches!(e, ApiError::Auth(_)));

        let e = ApiError::from_response(
            "u",
            503,
            "application/json",
            br#"{"code":"unavailable","msg":"x"}"#,
        );
        assert!(e.is_transient());

        let gone = |status, body: &[u8]| {
            ApiError::from_response("u", status, "application/json", body).is_node_gone()
        };
        assert!(gone(
            503,
            br#"{"code":"unavailable","msg":"twirp error unknown: no response from servers"}"#
        ));
        assert!(gone(
            500,
            br#"{"code":"unknown","msg":"could not find object"}"#
        ));
        assert!(!gone(503, br#"{"code":"unavailable","msg":"x"}"#));
        assert!(!gone(
            500,
            br#"{"code":"internal","msg":"could not find object"}"#
        ));

        let e = ApiError::from_response("u", 200, "text/html", b"<html><body>hi</body></html>");
        assert!(matches!(e, ApiError::NotLiveKit { status: 200, .. }));

        let e = ApiError::from_response("u", 502, "text/plain", b"bad gateway");
        assert!(e.is_transient());
    }

    #[test]
    fn proxy_pages_and_rate_limits_are_transient() {
        let nginx = b"<html>\r\n<head><TITLE>502 Bad\n Gateway</title></head>\r\n<body>...";
        for status in [502, 503, 504] {
            let e = ApiError::from_response("u", status, "text/html", nginx);
            assert!(e.is_transient(), "{status}: {e}");
            assert_eq!(e.to_string(), format!("http_{status}: 502 Bad Gateway"));
        }
        let e = ApiError::from_response("u", 500, "text/html", b"<html>");
        assert!(matches!(e, ApiError::NotLiveKit { .. }), "{e}");
        let e = ApiError::from_response("u", 429, "text/plain", b"Too Many Requests\n");
        assert!(e.is_transient() && e.is_rate_limited(), "{e}");
        let twirp = br#"{"code":"resource_exhausted","msg":"slow down"}"#;
        let e = ApiError::from_response("u", 429, "application/json", twirp);
        assert!(e.is_transient() && e.is_rate_limited(), "{e}");
        let e = ApiError::from_response(
            "u",
            503,
            "application/json",
            br#"{"code":"unavailable","msg":""}"#,
        );
        assert!(!e.is_rate_limited());
    }

    #[test]
    fn snippets_are_short_and_safe() {
        let long = "x".repeat(500);
        assert_eq!(super::snippet(long.as_bytes()).chars().count(), 121);
        assert_eq!(super::snippet(b"a\x1b[2Jb\nsecond"), "a\u{FFFD}[2Jb");
        assert_eq!(super::snippet(b""), "empty body");
    }
}
