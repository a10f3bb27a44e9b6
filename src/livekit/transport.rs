//! Turns transport failures (DNS, TCP, TLS, HTTP framing, proxies) into one line with the fix.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use rustls::CertificateError;

use super::Endpoint;
use super::error::ApiError;

/// How calls reach the server: directly, or through a proxy.
#[derive(Debug, Clone)]
pub struct Route {
    endpoint: Endpoint,
    /// The proxy's URL without credentials, e.g. `http://127.0.0.1:3128`.
    proxy: Option<String>,
}

impl Route {
    /// The route reqwest takes to `endpoint`: its system proxy rules read `HTTPS_PROXY`
    /// (https), `HTTP_PROXY` (http), `ALL_PROXY` and `NO_PROXY`, as curl does. Like curl and
    /// unlike Go, loopback is proxied too unless `NO_PROXY` lists it.
    pub fn of(endpoint: Endpoint) -> Self {
        let proxy = endpoint
            .to_string()
            .parse::<hyper::Uri>()
            .ok()
            .and_then(|uri| {
                hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri)
            })
            .map(|proxy| crate::redact::url(proxy.uri().to_string().trim_end_matches('/')));
        if let Some(proxy) = &proxy {
            tracing::debug!(%endpoint, proxy, "calls go through a proxy");
        }
        Self { endpoint, proxy }
    }

    /// The server's endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn proxy_variables(&self) -> &'static str {
        if self.endpoint.is_tls() {
            "HTTPS_PROXY / NO_PROXY"
        } else {
            "HTTP_PROXY / NO_PROXY"
        }
    }
}

/// Classifies a reqwest failure on `route`.
pub fn classify(err: &reqwest::Error, route: &Route, timeout: Duration) -> ApiError {
    let endpoint = &route.endpoint;
    if err.is_timeout() {
        return ApiError::Timeout(timeout);
    }
    if let Some(tls) = find::<rustls::Error>(err) {
        let (message, deterministic) = describe_tls(tls, endpoint);
        let message = format!("TLS to {endpoint} failed: {message}");
        return if deterministic {
            ApiError::Misconfigured(message)
        } else {
            ApiError::Transport(message)
        };
    }
    let cause = innermost(err);
    if let Some(proxy) = &route.proxy
        && err.is_connect()
    {
        return ApiError::Transport(format!(
            "could not reach {endpoint} through proxy {proxy}: {cause} (is the proxy running? \
             check {})",
            route.proxy_variables()
        ));
    }
    if let Some(hyper_err) = find::<hyper::Error>(err) {
        if hyper_err.is_parse() {
            return ApiError::Misconfigured(not_http(endpoint));
        }
        if hyper_err.is_incomplete_message() {
            return ApiError::Transport(closed(endpoint));
        }
    }
    if let Some(io_err) = find::<io::Error>(err)
        && matches!(
            io_err.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::UnexpectedEof
        )
    {
        return ApiError::Transport(closed(endpoint));
    }
    if cause.contains("failed to lookup address") || cause.contains("dns error") {
        return ApiError::Transport(format!(
            "could not resolve the host of {endpoint}: {cause} (check the host name in --url / \
             LIVEKIT_URL)"
        ));
    }
    ApiError::Transport(format!(
        "could not reach {endpoint}: {cause} (is the server running? check --url / LIVEKIT_URL)"
    ))
}

/// A TLS terminator's answer to plain HTTP on its TLS port (nginx: "The plain HTTP request
/// was sent to HTTPS port"; Go: "Client sent an HTTP request to an HTTPS server").
pub fn plain_http_on_tls_port(endpoint: &Endpoint, status: u16, body: &[u8]) -> Option<ApiError> {
    if endpoint.is_tls() || status != 400 {
        return None;
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    (text.contains("to https port") || text.contains("to an https server")).then(|| {
        ApiError::Misconfigured(format!(
            "{endpoint} expects TLS (it answered 400: plain HTTP sent to an HTTPS port): use \
             https:// or wss://"
        ))
    })
}

fn not_http(endpoint: &Endpoint) -> String {
    if endpoint.is_tls() {
        format!("{endpoint} did not answer with HTTP: is this LiveKit's port?")
    } else {
        format!(
            "{endpoint} did not answer with HTTP: if the server uses TLS, use https:// or wss://"
        )
    }
}

fn closed(endpoint: &Endpoint) -> String {
    let hint = if endpoint.is_tls() {
        "check the port in --url / LIVEKIT_URL"
    } else {
        "if the server uses TLS, use https:// or wss://"
    };
    format!("{endpoint} closed the connection without an answer ({hint})")
}

/// One line for a TLS failure, and whether it fails the same way on every attempt.
fn describe_tls(err: &rustls::Error, endpoint: &Endpoint) -> (String, bool) {
    let text = match err {
        rustls::Error::InvalidCertificate(cert) => describe_certificate(cert, endpoint),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server does not speak TLS on this port (use http:// or ws://?)".into()
        }
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".into(),
        rustls::Error::AlertReceived(alert) => {
            return (
                format!("the server refused the handshake ({alert:?})"),
                false,
            );
        }
        other => return (crate::redact::line(&other.to_string()), false),
    };
    (text, true)
}

fn describe_certificate(err: &CertificateError, endpoint: &Endpoint) -> String {
    match err {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            "the server's certificate is not trusted (unknown issuer); for a private CA set \
             SSL_CERT_FILE to its PEM bundle"
                .into()
        }
        CertificateError::NotValidForNameContext { presented, .. } => {
            let names: Vec<String> = presented
                .iter()
                .take(4)
                .map(|n| presented_name(n))
                .collect();
            format!(
                "the server's certificate is for {}, not for the host in {endpoint} (check the \
                 host name in --url / LIVEKIT_URL)",
                if names.is_empty() {
                    "no host name".to_owned()
                } else {
                    names.join(", ")
                }
            )
        }
        CertificateError::NotValidForName => format!(
            "the server's certificate is not for the host in {endpoint} (check the host name in \
             --url / LIVEKIT_URL)"
        ),
        CertificateError::ExpiredContext { not_after, .. } => {
            let when = chrono::DateTime::from_timestamp(not_after.as_secs() as i64, 0)
                .map_or_else(String::new, |t| {
                    format!(" on {}", t.format("%Y-%m-%d %H:%M UTC"))
                });
            format!("the server's certificate expired{when}")
        }
        CertificateError::Expired => "the server's certificate has expired".into(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (is this machine's clock right?)".into()
        }
        other => format!("invalid server certificate: {other:?}"),
    }
}

/// `DnsName("a.example")` / `IpAddress(10.0.0.1)` (webpki's spelling) to the bare name.
fn presented_name(raw: &str) -> String {
    let bare = raw
        .strip_prefix("DnsName(\"")
        .and_then(|s| s.strip_suffix("\")"))
        .or_else(|| {
            raw.strip_prefix("IpAddress(")
                .and_then(|s| s.strip_suffix(')'))
        })
        .unwrap_or(raw);
    crate::redact::line(bare)
}

/// Finds an error of type `T` in the source chain, also inside `io::Error` wrappers (whose
/// `source()` skips the wrapped error itself).
fn find<'e, T: StdError + 'static>(err: &'e (dyn StdError + 'static)) -> Option<&'e T> {
    let mut next = Some(err);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(found) = find::<T>(inner)
        {
            return Some(found);
        }
        next = current.source();
    }
    None
}

fn innermost(err: &(dyn StdError + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    crate::redact::line(&last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::parse("wss://lk.example.com").unwrap()
    }

    #[test]
    fn certificate_problems_name_the_fix() {
        let (text, fatal) = describe_tls(
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &endpoint(),
        );
        assert!(fatal && text.contains("SSL_CERT_FILE"), "{text}");
        let wrong_name = CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("lk.example.com").unwrap(),
            presented: vec![
                "DnsName(\"other.example\")".into(),
                "IpAddress(10.0.0.1)".into(),
            ],
        };
        let text = describe_certificate(&wrong_name, &endpoint());
        assert!(
            text.starts_with("the server's certificate is for other.example, 10.0.0.1, not"),
            "{text}"
        );
        let expired = CertificateError::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(
                1_700_000_000,
            )),
        };
        assert_eq!(
            describe_certificate(&expired, &endpoint()),
            "the server's certificate expired on 2023-11-14 22:13 UTC"
        );
    }

    #[test]
    fn a_tls_terminators_400_to_plain_http_says_use_https() {
        let http = Endpoint::parse("ws://lk.example.com").unwrap();
        let nginx =
            b"<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title>";
        let err = plain_http_on_tls_port(&http, 400, nginx).unwrap();
        assert!(
            err.is_fatal() && !err.is_transient(),
            "never retried: {err}"
        );
        assert!(err.to_string().contains("use https://"), "{err}");
        let go = b"Client sent an HTTP request to an HTTPS server.\n";
        assert!(plain_http_on_tls_port(&http, 400, go).is_some());
        assert!(plain_http_on_tls_port(&endpoint(), 400, nginx).is_none());
        assert!(plain_http_on_tls_port(&http, 400, b"bad request").is_none());
    }

    #[test]
    fn a_server_name_is_made_safe_for_the_terminal() {
        assert_eq!(presented_name("DnsName(\"a\u{1b}[31m\")"), "a\u{fffd}[31m");
    }

    #[test]
    fn proxy_hint_names_the_variable_for_the_scheme() {
        let https = Route {
            endpoint: endpoint(),
            proxy: None,
        };
        assert_eq!(https.proxy_variables(), "HTTPS_PROXY / NO_PROXY");
        let http = Route {
            endpoint: Endpoint::parse("ws://127.0.0.1:7880").unwrap(),
            proxy: None,
        };
        assert_eq!(http.proxy_variables(), "HTTP_PROXY / NO_PROXY");
    }
}
