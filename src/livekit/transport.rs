//! Turns transport failures (DNS, TCP, TLS, HTTP framing) into one line with the fix.

use std::error::Error as StdError;
use std::time::Duration;

use rustls::CertificateError;

use super::Endpoint;
use super::error::ApiError;

/// Classifies a reqwest failure for `endpoint`.
pub fn classify(err: &reqwest::Error, endpoint: &Endpoint, timeout: Duration) -> ApiError {
    if err.is_timeout() {
        return ApiError::Timeout(timeout);
    }
    if let Some(tls) = find::<rustls::Error>(err) {
        return ApiError::Transport(format!("TLS to {endpoint} failed: {}", describe_tls(tls)));
    }
    if let Some(hyper_err) = find::<hyper::Error>(err)
        && hyper_err.is_parse()
    {
        return ApiError::NotLiveKit {
            url: endpoint.to_string(),
            status: 0,
            snippet: "the answer was not HTTP; if the server uses TLS, use https:// or wss://"
                .into(),
        };
    }
    let cause = innermost(err);
    let hint = if cause.contains("failed to lookup address") || cause.contains("dns error") {
        "check the host name in --url / LIVEKIT_URL"
    } else {
        "is the server running? check --url / LIVEKIT_URL"
    };
    ApiError::Transport(format!("could not reach {endpoint}: {cause} ({hint})"))
}

fn describe_tls(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                "the server's certificate is not trusted (unknown issuer); for a private CA set \
                 SSL_CERT_FILE to its PEM bundle"
                    .into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the server's certificate does not match the host name in the URL".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".into()
            }
            other => format!("invalid server certificate: {other:?}"),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server does not speak TLS on this port (use http:// or ws://?)".into()
        }
        other => other.to_string(),
    }
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
    crate::report::sanitize::line(&last.to_string())
}
