//! The HTTP side: accept loop (plain or TLS), request pipeline, `/_sim` endpoints.
//!
//! A request goes through: latency -> scenario fault (like a proxy in front of the server)
//! -> auth middleware (plain-text 401s) -> Twirp routing (`bad_route`) -> body (413 over
//! 10 MiB) -> handler -> scripted events. Calls with a valid token are logged for
//! `/_sim/calls`.

use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::auth::Verifier;
use super::calls::{CallLog, CallRecord};
use super::faults::Faults;
use super::handlers::{self, Failure};
use super::scenario::{FaultSpec, Scenario};
use super::state::World;
use super::twirp::{Encoding, Method, TwirpError};

/// How long StopEgress waits for an egress worker that is not there (a zombie record, an
/// unknown or ended egress) before the stored record decides the answer; DeleteRoom waits
/// as long for a dead node.
pub const NO_WORKER_DELAY: Duration = Duration::from_secs(3);

/// The largest request body the server reads.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// What a scenario fault with `garbage` answers: neither protobuf (field 0, wire type 7)
/// nor JSON.
const GARBAGE: &[u8] = b"\x07\xff<html><body>502 Bad Gateway (simulated garbage)</body></html>";

/// Everything the request handlers share.
pub struct Shared {
    world: Mutex<World>,
    verifier: Verifier,
    faults: Faults,
    calls: [AtomicU64; Method::ALL.len()],
    log: CallLog,
    latency: Duration,
}

impl Shared {
    /// Shared state for a (validated) scenario, its times taken from now.
    pub fn new(scenario: &Scenario) -> Shared {
        let world = World::new(scenario, unix_nanos());
        let (key, secret) = world.credentials();
        Shared {
            verifier: Verifier::new(key, secret),
            world: Mutex::new(world),
            faults: Faults::new(&scenario.faults),
            calls: Default::default(),
            log: CallLog::default(),
            latency: Duration::from_millis(scenario.latency_ms),
        }
    }

    /// The current state in the scenario format.
    pub fn state(&self) -> Scenario {
        let now = unix_nanos();
        let mut scenario = {
            let mut world = handlers::lock(&self.world);
            world.finish_due(now);
            world.to_scenario(now)
        };
        scenario.faults = self.faults.remaining(&self.call_counts());
        scenario
    }

    fn call_counts(&self) -> [u64; Method::ALL.len()] {
        std::array::from_fn(|i| self.calls[i].load(Ordering::Relaxed))
    }

    /// Calls received so far per method, e.g. `{"ListRooms": 1, "StopEgress": 0, ...}`.
    pub fn stats(&self) -> serde_json::Value {
        let counts = self.call_counts();
        Method::ALL
            .iter()
            .map(|m| (m.name().to_owned(), counts[m.index()].into()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// Accepts connections until `stop` changes, then drops the open ones.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    connections.spawn(serve_connection(tcp, tls.clone(), Arc::clone(&shared)));
                }
                // Out of file descriptors or similar: give the system a moment.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(tcp: TcpStream, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    let service = hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(&shared, request).await) }
    });
    let http = hyper::server::conn::http1::Builder::new();
    // A client that hangs up mid-request is its own problem, not the simulator's.
    let _ = match tls {
        None => http.serve_connection(TokioIo::new(tcp), service).await,
        Some(acceptor) => match acceptor.accept(tcp).await {
            Ok(stream) => http.serve_connection(TokioIo::new(stream), service).await,
            Err(_) => return,
        },
    };
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    if request.method() == hyper::Method::GET {
        match path.as_str() {
            // Serializing our own plain structs cannot fail.
            "/_sim/state" => return json(serde_json::to_vec(&shared.state()).unwrap_or_default()),
            "/_sim/stats" => return json(shared.stats().to_string().into_bytes()),
            "/_sim/calls" => return json(shared.log.to_json().to_string().into_bytes()),
            _ => {}
        }
    }
    let _in_flight = shared.log.enter();
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let counted = Method::from_path(&path)
        .filter(|_| request.method() == hyper::Method::POST)
        .map(|method| {
            (
                method,
                shared.calls[method.index()].fetch_add(1, Ordering::Relaxed) + 1,
            )
        });
    let response = match counted {
        Some((method, call)) => match shared.faults.for_call(method, call) {
            Some(fault) => apply_fault(fault, shared, method, request).await,
            None => api(shared, method, request).await,
        },
        None => api_unrouted(shared, &request, &path),
    };
    if let Some((method, call)) = counted {
        handlers::lock(&shared.world).fire_events(method, call, unix_nanos());
    }
    response
}

async fn apply_fault(
    fault: &FaultSpec,
    shared: &Shared,
    method: Method,
    request: Request<Incoming>,
) -> Response<Body> {
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    if fault.garbage {
        let encoding = content_encoding(&request).unwrap_or(Encoding::Protobuf);
        return reply(StatusCode::OK, encoding.content_type(), GARBAGE.to_vec());
    }
    match fault.code {
        Some(code) => {
            let msg = fault
                .msg
                .clone()
                .unwrap_or_else(|| format!("simulated {} fault", method.name()));
            let mut err = TwirpError::new(code, msg);
            err.status = fault.status.unwrap_or(err.status);
            twirp_error(&err)
        }
        None => api(shared, method, request).await,
    }
}

// A request to no known method: still authenticated first, as the server's middleware runs
// before any routing.
fn api_unrouted(shared: &Shared, request: &Request<Incoming>, path: &str) -> Response<Body> {
    if let Err(message) = authenticate(shared, request) {
        return unauthorized(message);
    }
    let verb = request.method().as_str();
    let msg = if Method::from_path(path).is_some() {
        format!("unsupported method {verb:?} (only POST is allowed)")
    } else {
        format!("no handler for path {path:?}")
    };
    twirp_error(&TwirpError::bad_route(msg, verb, path))
}

async fn api(shared: &Shared, method: Method, request: Request<Incoming>) -> Response<Body> {
    let claims = match authenticate(shared, &request) {
        Ok(claims) => claims,
        Err(message) => return unauthorized(message),
    };
    if let Some(claims) = &claims {
        let timeout = request
            .headers()
            .get("X-Twirp-Timeout-Ms")
            .and_then(|v| v.to_str().ok());
        shared
            .log
            .record(CallRecord::new(method.name(), claims, timeout));
    }
    let Some(encoding) = content_encoding(&request) else {
        let header = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let msg = format!("unexpected Content-Type: {header:?}");
        return twirp_error(&TwirpError::bad_route(msg, "POST", request.uri().path()));
    };
    // Any failure to read the body is answered as too large: the limit is the only way a
    // well-formed request fails here, and a client that vanished reads no answer.
    let Ok(body) = axum::body::to_bytes(Body::new(request.into_body()), MAX_BODY).await else {
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain; charset=utf-8",
            b"http: request body too large".to_vec(),
        );
    };
    match handlers::call(
        &shared.world,
        method,
        encoding,
        &body,
        claims.as_ref().map(|c| &c.video),
        unix_nanos(),
    ) {
        Ok(bytes) => reply(StatusCode::OK, encoding.content_type(), bytes),
        Err(Failure::Now(err)) => twirp_error(&err),
        Err(Failure::NoAnswer(err)) => {
            tokio::time::sleep(NO_WORKER_DELAY).await;
            twirp_error(&err)
        }
    }
}

fn authenticate(
    shared: &Shared,
    request: &Request<Incoming>,
) -> Result<Option<livekit_api::access_token::Claims>, String> {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(hyper::header::HeaderValue::as_bytes);
    shared.verifier.authenticate(header)
}

fn content_encoding(request: &Request<Incoming>) -> Option<Encoding> {
    let value = request.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    Encoding::from_content_type(value)
}

fn reply(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

fn unauthorized(message: String) -> Response<Body> {
    reply(
        StatusCode::UNAUTHORIZED,
        "text/plain; charset=utf-8",
        message.into_bytes(),
    )
}

fn twirp_error(err: &TwirpError) -> Response<Body> {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply(status, "application/json", err.body())
}

fn json(body: Vec<u8>) -> Response<Body> {
    reply(StatusCode::OK, "application/json", body)
}

/// A TLS acceptor for a PEM certificate chain and key (rustls with ring).
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let usage = |flag: &str, path: &Path, reason: String| {
        crate::error::usage(format!("{flag} {}: {reason}", path.display()))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect)
        .map_err(|e| usage("--tls-cert", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(usage(
            "--tls-cert",
            cert,
            "no certificate in the file".into(),
        ));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| usage("--tls-key", key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| {
            usage(
                "--tls-key",
                key,
                format!("does not fit the certificate: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Now, in Unix nanoseconds.
fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
