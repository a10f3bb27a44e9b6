//! A raw HTTP/1.1 server on loopback, for what the simulator does not play: each request is
//! read whole (head and `Content-Length` body), recorded, and handed to a handler that
//! writes whatever bytes it likes; the connection closes after each answer.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prost::Message;

/// One request as the server read it.
#[derive(Clone)]
pub struct Request {
    /// The request line and the header fields, without the blank line.
    pub head: String,
    /// The path, e.g. `/twirp/livekit.RoomService/DeleteRoom`.
    pub path: String,
    /// The path's last segment: the Twirp method, e.g. `DeleteRoom`.
    pub method: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

type Handler = dyn Fn(&Request, &mut TcpStream) + Send + Sync;

/// A running server and the requests it has read.
pub struct Server {
    pub url: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Hands every request to `handler`.
    pub fn start(handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let Some(request) = read_request(&mut stream) else {
                        return;
                    };
                    log.lock().expect("log").push(request.clone());
                    handler(&request, &mut stream);
                    let _ = stream.flush();
                });
            }
        });
        Server { url, seen }
    }

    /// Answers every request alike: `status` with this content type and body.
    pub fn answering(status: u16, content_type: &str, body: &str) -> Server {
        let (status, content_type) = (format!("{status} Stub"), content_type.to_owned());
        let body = body.to_owned();
        Server::start(move |_, stream| {
            let headers = [("Content-Type", content_type.as_str())];
            answer(stream, &status, &headers, body.as_bytes());
        })
    }

    /// Reads each request and never answers; the connections stay open.
    pub fn black_hole() -> Server {
        let held = Mutex::new(Vec::new());
        Server::start(move |_, stream| {
            held.lock()
                .expect("held")
                .push(stream.try_clone().expect("clone stream"));
        })
    }

    /// Every request read so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("log").clone()
    }

    /// The requests of one Twirp method.
    pub fn requests_of(&self, method: &str) -> Vec<Request> {
        let seen = self.seen.lock().expect("log");
        seen.iter()
            .filter(|r| r.method == method)
            .cloned()
            .collect()
    }

    /// How many requests of one Twirp method came.
    pub fn calls(&self, method: &str) -> usize {
        self.requests_of(method).len()
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                let path = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                return Some(Request {
                    method: path.rsplit('/').next().unwrap_or_default().to_owned(),
                    body: data[end + 4..end + 4 + length].to_vec(),
                    at: Instant::now(),
                    path,
                    head,
                });
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Writes a complete answer.
pub fn answer(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let fields = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect::<Vec<_>>()
        .concat();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{fields}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// A 200 carrying a protobuf message, as Twirp answers.
pub fn ok(stream: &mut TcpStream, message: &impl Message) {
    ok_bytes(stream, &message.encode_to_vec());
}

/// A 200 carrying an encoded protobuf message.
pub fn ok_bytes(stream: &mut TcpStream, body: &[u8]) {
    answer(
        stream,
        "200 OK",
        &[("Content-Type", "application/protobuf")],
        body,
    );
}
