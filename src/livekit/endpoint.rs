//! The server's base URL, as the operator may spell it.

use std::fmt;

/// A validated LiveKit base URL: `http(s)://host[:port][/prefix]`, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    /// Accepts `ws://`, `wss://`, `http://` and `https://` (WebSocket schemes map to their
    /// HTTP twins, as LiveKit's SDKs do); a path is kept as a prefix, trailing slashes go.
    pub fn parse(input: &str) -> Result<Self, String> {
        let input = input.trim();
        // Never echo what was typed: its user-info or query may hold a password or token.
        let shown = crate::redact::url(input);
        let (scheme, rest) = input.split_once("://").ok_or_else(|| {
            format!("invalid URL '{shown}': expected a scheme, e.g. wss://my.livekit.cloud")
        })?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => "http",
            "https" | "wss" => "https",
            other => {
                return Err(format!(
                    "invalid URL '{shown}': scheme '{}' is not one of ws, wss, http, https",
                    crate::redact::line(other)
                ));
            }
        };
        let url = reqwest::Url::parse(&format!("{scheme}://{rest}"))
            .map_err(|e| format!("invalid URL '{shown}': {e}"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("invalid URL '{shown}': no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "invalid URL '{shown}': remove the query or fragment"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "invalid URL '{shown}': credentials go in --api-key / --api-secret, not the URL"
            ));
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// The URL of one Twirp method, e.g. `livekit.RoomService/ListRooms`.
    pub fn method_url(&self, service_method: &str) -> String {
        format!("{}/twirp/{service_method}", self.0)
    }

    /// Whether calls go over TLS.
    pub fn is_tls(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn accepts_every_livekit_spelling() {
        let cases = [
            ("ws://localhost:7880", "http://localhost:7880"),
            ("wss://x.livekit.cloud/", "https://x.livekit.cloud"),
            ("WSS://x.livekit.cloud", "https://x.livekit.cloud"),
            ("http://127.0.0.1:7880//", "http://127.0.0.1:7880"),
            (
                "https://lb.example.com/livekit/",
                "https://lb.example.com/livekit",
            ),
            ("  http://[::1]:7880 ", "http://[::1]:7880"),
        ];
        for (input, want) in cases {
            assert_eq!(Endpoint::parse(input).unwrap().to_string(), want, "{input}");
        }
        let e = Endpoint::parse("wss://a.b/p").unwrap();
        assert_eq!(
            e.method_url("livekit.Egress/StopEgress"),
            "https://a.b/p/twirp/livekit.Egress/StopEgress"
        );
        assert!(e.is_tls());
    }

    #[test]
    fn refuses_what_cannot_be_a_server() {
        for bad in [
            "localhost:7880",
            "ftp://x",
            "http://",
            "https://u:p@x",
            "http://x/?a=1",
            "wss://x#f",
        ] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(err.starts_with("invalid URL"), "{bad}: {err}");
        }
        for secret in [
            "http://admin:PASSWORD@h",
            "http://h/?token=PASSWORD",
            "ftp://u:PASSWORD@h",
        ] {
            let err = Endpoint::parse(secret).unwrap_err();
            assert!(!err.contains("PASSWORD"), "{err}");
        }
    }
}
