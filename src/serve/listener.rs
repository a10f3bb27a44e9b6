//! Accepting connections for `serve` without letting one client knock it over: at most
//! [`MAX_CONNECTIONS`] at a time and [`MAX_PER_PEER`] from one address (the excess is
//! answered 503 and closed at once), headers within [`HEADER_TIMEOUT`] (which also ends
//! a keep-alive connection left idle), and the open-files limit raised at start-up.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

/// A request's headers must arrive within this. hyper's timer also runs while a
/// keep-alive connection waits for its next request, so an idle one is closed then too.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; more are refused. Far below the usual 1,024 open files, so
/// the LiveKit API client always has descriptors left.
pub const MAX_CONNECTIONS: usize = 512;

/// Connections served at once from one address: one client cannot take every slot, so
/// LiveKit's posts and the kubelet's probes still get through.
pub const MAX_PER_PEER: usize = 64;

/// Answered to a connection over a cap, before closing it.
const REFUSED: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// After a failed accept (out of descriptors, say), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The caps.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub total: usize,
    pub per_peer: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            total: MAX_CONNECTIONS,
            per_peer: MAX_PER_PEER,
        }
    }
}

/// Connections open now, in all and by peer address.
#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
}

/// A slot taken by one connection; dropping it frees the slot.
struct Slot {
    open: Arc<Mutex<Open>>,
    peer: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total -= 1;
        if let Some(n) = open.by_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.by_peer.remove(&self.peer);
            }
        }
    }
}

/// Takes a slot for `peer`, unless a cap is reached.
fn take(open: &Arc<Mutex<Open>>, caps: Caps, peer: IpAddr) -> Option<Slot> {
    let mut guard = open.lock().unwrap_or_else(PoisonError::into_inner);
    let from_peer = guard.by_peer.get(&peer).copied().unwrap_or(0);
    if guard.total >= caps.total || from_peer >= caps.per_peer {
        return None;
    }
    guard.total += 1;
    guard.by_peer.insert(peer, from_peer + 1);
    Some(Slot {
        open: Arc::clone(open),
        peer,
    })
}

/// Serves `router` on `listener` until `stop` resolves, then lets open requests finish
/// (at most `grace`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    caps: Caps,
    stop: impl Future<Output = ()>,
    grace: Duration,
) {
    let open = Arc::new(Mutex::new(Open::default()));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => match take(&open, caps, peer.ip()) {
                Some(slot) => connection(stream, router.clone(), slot, &graceful),
                None => refuse(&stream, peer),
            },
            Err(err) => {
                tracing::warn!("could not accept a connection: {err}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

/// Serves one connection in a task of its own.
fn connection(stream: TcpStream, router: Router, slot: Slot, graceful: &GracefulShutdown) {
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        let _slot = slot;
        // A client gone or too slow: nothing to report beyond debug.
        if let Err(err) = conn.await {
            tracing::debug!("connection ended: {err}");
        }
    });
}

/// Answers 503 without waiting (a full socket buffer drops the answer) and closes.
fn refuse(stream: &TcpStream, peer: SocketAddr) {
    let _ = stream.try_write(REFUSED);
    tracing::debug!(%peer, "connection refused: too many open");
}

/// Raises the soft open-files limit to the hard one, so that a burst of connections does
/// not starve the LiveKit API client; a failure is logged, never fatal.
pub fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(err) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!("could not raise the open-files limit from {soft} to {hard}: {err}");
            }
        }
        Ok(_) => {}
        Err(err) => tracing::warn!("could not read the open-files limit: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_in_all_and_per_peer_and_freed_on_drop() {
        let open = Arc::new(Mutex::new(Open::default()));
        let caps = Caps {
            total: 3,
            per_peer: 2,
        };
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            [127, 0, 0, 1].into(),
            [127, 0, 0, 2].into(),
            [127, 0, 0, 3].into(),
        );
        let a1 = take(&open, caps, a).expect("a's first");
        let _a2 = take(&open, caps, a).expect("a's second");
        assert!(take(&open, caps, a).is_none(), "a is at its cap");
        let _b1 = take(&open, caps, b).expect("b's first");
        assert!(take(&open, caps, c).is_none(), "the total is reached");
        drop(a1);
        let _c1 = take(&open, caps, c).expect("a slot came free");
        assert!(take(&open, caps, a).is_none(), "the total is reached again");
    }
}
