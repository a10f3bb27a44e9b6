//! Reading one HTTP answer within bounds: no redirect followed, a capped body, the server's
//! `Retry-After`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::ApiError;

/// The largest answer accepted, 64 MiB: ListRooms of 100,000 rooms is about 20 MB of
/// protobuf, and a container limit is rarely under 128 MiB.
pub const MAX_BODY: usize = 64 << 20;

/// Of an error answer only the start is read: a Twirp error is a few hundred bytes, and a
/// proxy's error page names itself in its `<title>` near the top.
const MAX_ERROR_BODY: usize = 64 << 10;

/// An answer's status, the headers we use and its (capped) body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    /// How long the server asked us to wait (`Retry-After`), if it did.
    pub retry_after: Option<Duration>,
    pub body: bytes::Bytes,
}

impl Answer {
    /// Reads `response`. A redirect is refused (Twirp never redirects, and following one
    /// could take an answer from another server for LiveKit's); a body past [`MAX_BODY`]
    /// ends the read. `classify` turns a transport failure during the body into an error.
    pub async fn read(
        mut response: reqwest::Response,
        server: &str,
        classify: impl Fn(&reqwest::Error) -> ApiError,
    ) -> Result<Self, ApiError> {
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if (300..400).contains(&status) {
            return Err(redirected(
                server,
                status,
                header(reqwest::header::LOCATION),
            ));
        }
        let content_type = header(reqwest::header::CONTENT_TYPE)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let retry_after =
            header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v, Utc::now()));
        let cap = if status == 200 {
            MAX_BODY
        } else {
            MAX_ERROR_BODY
        };
        if status == 200 && response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large(server));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
            if body.len() + chunk.len() > cap {
                if status == 200 {
                    return Err(too_large(server));
                }
                // The start of an error page is all its message needs.
                body.extend_from_slice(&chunk[..cap - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Self {
            status,
            content_type,
            retry_after,
            body: body.into(),
        })
    }
}

fn redirected(server: &str, status: u16, location: Option<String>) -> ApiError {
    let to = location.map_or_else(
        || "without a Location".to_owned(),
        |l| format!("to {}", crate::redact::short(&crate::redact::url(&l), 200)),
    );
    ApiError::Misconfigured(format!(
        "{server} answered HTTP {status}, a redirect {to}: LiveKit's API never redirects, so \
         --url / LIVEKIT_URL (or a proxy in front of LiveKit) is wrong; nothing was followed"
    ))
}

fn too_large(server: &str) -> ApiError {
    ApiError::Broken(format!(
        "the answer from {server} is larger than {} MiB, lk-reaper's cap on one answer: \
         something other than LiveKit's API answered (a proxy?)",
        MAX_BODY >> 20
    ))
}

/// `Retry-After` as seconds (`120`) or an HTTP date, relative to `now`; a date in the past
/// is no wait.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn a_redirect_names_where_without_secrets() {
        let err = redirected(
            "http://lk:7880",
            307,
            Some("http://admin:PASSWORD@evil.example/twirp?token=TOKEN".into()),
        );
        let text = err.to_string();
        assert!(err.is_fatal() && !err.is_transient(), "{text}");
        assert!(
            text.contains("HTTP 307") && text.contains("evil.example"),
            "{text}"
        );
        assert!(
            !text.contains("PASSWORD") && !text.contains("TOKEN"),
            "{text}"
        );
        assert!(
            redirected("s", 302, None)
                .to_string()
                .contains("without a Location")
        );
    }
}
