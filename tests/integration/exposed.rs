//! `serve` facing the network (issue #25): slow and idle clients are cut off, connections
//! past the caps are refused at once, an unauthenticated body is never read, and no
//! webhook, however dated or shaped, knocks it over.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::BIN;
use crate::reaper::{KEY, SECRET};
use crate::serve::{Serve, fleet, free_port, has_room, post, until};
use lk_reaper::sim::webhooks::sign;

/// serve's caps and timeouts, as `src/serve/listener.rs` and `webhook.rs` set them.
const PER_PEER: usize = 64;
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

fn address(serve: &Serve) -> SocketAddr {
    serve
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("serve's address")
}

/// A connection to `serve` from the loopback address `source` (all of 127/8 is loopback on
/// Linux), so that a test's own probe is not one more connection from the "attacker".
fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((source, 0)))?;
        socket.connect(to).await
    });
    let stream = stream.expect("connect").into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
}

/// `GET /healthz` from `source`: the status code.
fn healthz_from(source: [u8; 4], serve: &Serve) -> Option<u16> {
    let mut tcp = connect_from(source, address(serve));
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        tcp,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    status(&mut tcp)
}

/// The status code of the response on `tcp`, if one comes.
fn status(tcp: &mut TcpStream) -> Option<u16> {
    let mut line = String::new();
    BufReader::new(tcp).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether serve has answered or closed `tcp` (waits at most its read timeout).
fn closed(tcp: &mut TcpStream) -> bool {
    let mut byte = [0; 1];
    match tcp.read_exact(&mut byte) {
        // An answer, or the end.
        Ok(()) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// Sends `bytes` one a second; how long until serve closed the connection (none within
/// `limit`).
fn trickle(tcp: &mut TcpStream, bytes: &[u8], limit: Duration) -> Option<Duration> {
    tcp.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let start = Instant::now();
    for byte in bytes.iter().cycle() {
        if start.elapsed() > limit {
            return None;
        }
        if tcp.write_all(&[*byte]).is_err() || closed(tcp) {
            return Some(start.elapsed());
        }
    }
    None
}

fn started(port: u16) -> (crate::harness::SimProcess, Serve) {
    let sim = fleet(free_port(), &[]);
    let serve = Serve::start(&sim, port, &[]);
    (sim, serve)
}

#[test]
fn headers_sent_one_byte_a_second_are_cut_off() {
    let port = free_port();
    let (_sim, serve) = started(port);
    let mut tcp = TcpStream::connect(address(&serve)).unwrap();
    let took = trickle(
        &mut tcp,
        b"GET /healthz HTTP/1.1\r\nX-Slow: ",
        Duration::from_secs(20),
    );
    let took = took.expect("headers one byte a second were never cut off");
    assert!(
        took >= HEADER_TIMEOUT.saturating_sub(Duration::from_secs(1)),
        "{took:?}"
    );
    assert_eq!(healthz_from([127, 0, 0, 2], &serve), Some(200));
}

#[test]
fn a_body_sent_one_byte_a_second_is_cut_off_after_30_s() {
    let port = free_port();
    let (_sim, serve) = started(port);
    let body = crate::serve::left_event("EV_slow", 0);
    let token = sign(KEY, SECRET, &body).unwrap();
    let mut tcp = TcpStream::connect(address(&serve)).unwrap();
    write!(
        tcp,
        "POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let took = trickle(&mut tcp, &body, Duration::from_secs(45));
    let took = took.expect("a body one byte a second was never cut off");
    assert!(
        took >= BODY_TIMEOUT.saturating_sub(Duration::from_secs(1)),
        "{took:?}"
    );
    assert_eq!(
        serve.metric("lk_reaper_webhooks_rejected_total{reason=\"slow\"}"),
        1
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let port = free_port();
    let (_sim, serve) = started(port);
    let mut tcp = TcpStream::connect(address(&serve)).unwrap();
    write!(tcp, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = [0; 256];
    let n = tcp.read(&mut answer).unwrap();
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 200"),
        "kept alive after a request"
    );
    tcp.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
    let start = Instant::now();
    assert!(
        matches!(tcp.read(&mut answer), Ok(0) | Err(_)),
        "the idle connection is closed"
    );
    assert!(
        start.elapsed() <= Duration::from_secs(31),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn connections_past_the_cap_are_refused_at_once_while_healthz_still_answers() {
    let port = free_port();
    let (_sim, serve) = started(port);
    let held: Vec<TcpStream> = (0..PER_PEER)
        .map(|_| TcpStream::connect(address(&serve)).unwrap())
        .collect();
    // A loaded machine may accept the held ones late: an extra one accepted meanwhile is
    // held too, and the next is refused.
    let mut extras = Vec::new();
    let refused = until(Duration::from_secs(20), || {
        let mut extra = TcpStream::connect(address(&serve)).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let answer = status(&mut extra);
        extras.push(extra);
        answer == Some(503)
    });
    assert!(refused.is_some(), "no connection past the cap was refused");
    assert_eq!(healthz_from([127, 0, 0, 2], &serve), Some(200));
    drop(held);
}

/// `sh` running serve under `ulimit` settings (`-n`: soft and hard; `-Sn`/`-Hn`).
fn limited(ulimit: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", &format!("{ulimit} && exec \"$0\" \"$@\""), BIN]);
    command
}

#[test]
fn under_1024_open_files_1100_idle_sockets_stop_neither_healthz_nor_the_api_client() {
    let port = free_port();
    let sim = fleet(free_port(), &[]);
    let serve = Serve::launch(
        limited("ulimit -n 1024"),
        &sim,
        port,
        &["--humanless-grace", "1s"],
    );
    let serve = Serve::healthy(serve);
    let attack: Vec<TcpStream> = (0..1_100)
        .filter_map(|_| TcpStream::connect(address(&serve)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        healthz_from([127, 0, 0, 2], &serve),
        Some(200),
        "{}",
        serve.stderr()
    );
    // bob leaves r2: serve's check must reach the LiveKit API to end the room.
    crate::serve::act(&sim, "leave", "room=r2&identity=bob");
    let body = crate::serve::left_event("EV_bob", 0);
    let token = sign(KEY, SECRET, &body).unwrap();
    let mut tcp = connect_from([127, 0, 0, 3], address(&serve));
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    tcp.write_all(&body).unwrap();
    assert_eq!(status(&mut tcp), Some(200));
    let gone = until(Duration::from_secs(10), || !has_room(&sim, "r2"));
    assert!(gone.is_some(), "r2 was not ended\n{}", serve.stderr());
    drop(attack);
}

#[test]
fn the_soft_open_files_limit_is_raised_to_the_hard_one() {
    let port = free_port();
    let sim = fleet(free_port(), &[]);
    let serve = Serve::launch(
        limited("ulimit -Sn 1024 && ulimit -Hn 4096"),
        &sim,
        port,
        &[],
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", serve.child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files");
    let figures: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(figures, ["4096", "4096"], "{line}");
}

/// Peak resident memory of `pid`, in kB.
fn peak_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_hundred_unauthenticated_megabyte_posts_do_not_grow_memory() {
    const POSTS: usize = 100;
    const SIZE: usize = 1_000_000;
    let port = free_port();
    let (_sim, serve) = started(port);
    let before = peak_kb(serve.child.id());
    let all_sent = Arc::new(Barrier::new(POSTS));
    let to = address(&serve);
    let posts: Vec<_> = (0..POSTS)
        .map(|i| {
            let all_sent = Arc::clone(&all_sent);
            std::thread::spawn(move || {
                let mut tcp = connect_from([127, 0, 1, (i % 8) as u8 + 1], to);
                tcp.set_write_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let head =
                    format!("POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n");
                let _ = tcp.write_all(head.as_bytes());
                // Every body but its last byte, all at once: serve holds what it reads.
                let _ = tcp.write_all(&vec![b'x'; SIZE - 1]);
                all_sent.wait();
                let _ = tcp.write_all(b"x");
            })
        })
        .collect();
    for post in posts {
        post.join().unwrap();
    }
    let grew_mb = peak_kb(serve.child.id()).saturating_sub(before) / 1024;
    assert!(grew_mb < 20, "serve's peak memory grew by {grew_mb} MB");
    assert_eq!(
        serve.metric("lk_reaper_webhooks_rejected_total{reason=\"unsigned\"}"),
        POSTS as u64
    );
}

#[test]
fn a_signed_body_that_is_no_event_is_400_and_a_hang_up_is_not_too_large() {
    let port = free_port();
    let (_sim, serve) = started(port);
    for body in [&b"{not json"[..], b"\xff\xfe", b"[1, 2]"] {
        let token = sign(KEY, SECRET, body).unwrap();
        assert_eq!(post(&serve, Some(&token), body.to_vec()), 400, "{body:?}");
    }
    let body = crate::serve::left_event("EV_cut", 0);
    let token = sign(KEY, SECRET, &body).unwrap();
    let mut tcp = TcpStream::connect(address(&serve)).unwrap();
    write!(
        tcp,
        "POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    tcp.write_all(&body[..10]).unwrap();
    drop(tcp);
    let counted = until(Duration::from_secs(5), || {
        serve.metric("lk_reaper_webhooks_rejected_total{reason=\"incomplete\"}") == 1
    });
    assert!(counted.is_some(), "{}", serve.get("/metrics").1);
    assert_eq!(
        serve.metric("lk_reaper_webhooks_rejected_total{reason=\"too_large\"}"),
        0
    );
    assert_eq!(
        serve.metric("lk_reaper_webhooks_rejected_total{reason=\"bad_body\"}"),
        3
    );
}

#[test]
fn a_token_without_an_issuer_is_refused() {
    let port = free_port();
    let (_sim, serve) = started(port);
    let body = crate::serve::left_event("EV_noiss", 0);
    let claims = json!({"exp": 4_000_000_000_u64, "sha256": sha256(&body)});
    let token = crate::sim::raw_token(&claims, SECRET);
    assert_eq!(post(&serve, Some(&token), body), 401);
}

fn sha256(body: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body))
}

#[test]
fn signed_events_with_extreme_dates_do_not_knock_serve_over() {
    let port = free_port();
    let sim = fleet(free_port(), &[]);
    let serve = Serve::start(
        &sim,
        port,
        &["--humanless-grace", "1s", "--max-room-age", "9000h"],
    );
    // bob has left r2: the check that the events schedule finds no human, and counts the
    // grace from the event's date.
    crate::serve::act(&sim, "leave", "room=r2&identity=bob");
    // The newest event's check replaces a pending one: participant_left's come last.
    for event in ["room_started", "participant_left"] {
        for (i, created) in [i64::MIN, -1, i64::MAX / 1_000, i64::MAX]
            .into_iter()
            .enumerate()
        {
            let body = serde_json::to_vec(&json!({
                "event": event, "id": format!("EV_x{i}{event}"), "createdAt": created.to_string(),
                "room": {"name": "r2", "creationTime": created.to_string(),
                         "creationTimeMs": created.to_string()},
                "participant": {"identity": "bob"}}))
            .unwrap();
            let token = sign(KEY, SECRET, &body).unwrap();
            assert_eq!(post(&serve, Some(&token), body), 200, "{created} {event}");
        }
    }
    // A date in the future counts as now: r2 ends one grace after the events arrived.
    let gone = until(Duration::from_secs(10), || !has_room(&sim, "r2"));
    assert!(gone.is_some(), "r2 was not ended\n{}", serve.stderr());
    assert_eq!(serve.get("/healthz").0, 200, "{}", serve.stderr());
}
