//! A broken or hostile server, or a bad command line, can never make lk-reaper lie, hang,
//! blow up, fail open or leak (issue #13). Each server here is a small raw-TCP one of its
//! own on loopback, free to break HTTP in ways a real framework would not. Every run is
//! checked for the secret and for JWTs on every stream by [`Reaper::run`]; each case also
//! asserts the exit code, one clear line, and which mutations reached the server.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lk_reaper::livekit::proto;
use prost::Message;
use serde_json::Value;

use crate::harness::BIN;
use crate::loopback::{Request, Server, answer, ok};
use crate::reaper::{KEY, Reaper, Run, SECRET};

/// Unix seconds `ago` seconds back.
fn ago(secs: i64) -> i64 {
    chrono::Utc::now().timestamp() - secs
}

fn room(name: &str, creation_time: i64) -> proto::Room {
    proto::Room {
        sid: format!("RM_{}", name.len()),
        name: name.into(),
        creation_time,
        ..Default::default()
    }
}

/// A healthy LiveKit serving `rooms`, all of them humanless, and no egress; `special`
/// answers first and returns true when it did.
fn livekit(
    rooms: Vec<proto::Room>,
    special: impl Fn(&Request, &mut TcpStream) -> bool + Send + Sync + 'static,
) -> Server {
    Server::start(move |request, stream| {
        if special(request, stream) {
            return;
        }
        match request.method.as_str() {
            "ListRooms" => ok(
                stream,
                &proto::ListRoomsResponse {
                    rooms: rooms.clone(),
                },
            ),
            "ListParticipants" => ok(stream, &proto::ListParticipantsResponse::default()),
            "ListEgress" => ok(stream, &proto::ListEgressResponse::default()),
            "ListIngress" => ok(stream, &proto::ListIngressResponse::default()),
            "DeleteRoom" => ok(stream, &proto::DeleteRoomResponse::default()),
            "StopEgress" => ok(stream, &proto::EgressInfo::default()),
            _ => answer(stream, "404 Not Found", &[], b""),
        }
    })
}

/// A healthy LiveKit serving `rooms`, as [`livekit`], except that `reply` answers every call
/// of `method`.
fn livekit_but(
    rooms: Vec<proto::Room>,
    method: &'static str,
    reply: impl Fn(&mut TcpStream) + Send + Sync + 'static,
) -> Server {
    livekit(rooms, move |request, stream| {
        if request.method != method {
            return false;
        }
        reply(stream);
        true
    })
}

/// A proxy that routes the Room and Egress services but not the Ingress one: one warning,
/// the rooms are still swept.
#[test]
fn an_ingress_service_that_is_not_routed_is_one_warning() {
    let server = livekit_but(one_old_room(), "ListIngress", |stream| {
        answer(stream, "404 Not Found", &[], b"");
    });
    let run = sweep_deletes_the_old_room(&server);
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains("ingress was not checked") && warnings.contains("HTTP 404"),
        "{run}"
    );
}

/// One humanless room, an hour old: a sweep deletes it.
fn one_old_room() -> Vec<proto::Room> {
    vec![room("old-empty", ago(3600))]
}

/// Runs `lk-reaper sweep` against `server` and asserts exit 1 with one error line that
/// contains `error`.
#[track_caller]
fn sweep_fails(server: &Server, error: &str) -> Run {
    Reaper::at(&server.url)
        .args(["sweep"])
        .run()
        .one_line_error(1, error)
}

/// Runs `lk-reaper sweep -o json` against a server of [`one_old_room`] and asserts that it
/// succeeded with that room deleted (`done`).
#[track_caller]
fn sweep_deletes_the_old_room(server: &Server) -> Run {
    let run = Reaper::at(&server.url)
        .args(["sweep", "-o", "json"])
        .run()
        .ok();
    assert_eq!(results(&run.json()), [("old-empty".into(), "done".into())]);
    run
}

/// The rooms DeleteRoom was asked to delete.
fn deleted(server: &Server) -> Vec<String> {
    server
        .requests_of("DeleteRoom")
        .iter()
        .map(|r| {
            proto::DeleteRoomRequest::decode(r.body.as_slice())
                .expect("DeleteRoomRequest")
                .room
        })
        .collect()
}

/// The results of a JSON sweep report, by target.
fn results(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let target = f["egress_id"].as_str().or(f["room"].as_str()).unwrap_or("");
            (
                target.to_owned(),
                f["result"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[track_caller]
fn assert_clean(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

// ---- redirects ---------------------------------------------------------------------------------

#[test]
fn a_redirected_delete_is_failed_never_followed_nor_done() {
    let elsewhere = livekit(vec![], |_, _| false);
    let location = format!(
        "{}/twirp/livekit.RoomService/DeleteRoom?token=TOKEN",
        elsewhere.url.replace("http://", "http://admin:PASSWORD@")
    );
    let server = livekit_but(one_old_room(), "DeleteRoom", move |stream| {
        answer(
            stream,
            "307 Temporary Redirect",
            &[("Location", &location)],
            b"",
        );
    });
    let run = Reaper::at(&server.url)
        .args(["sweep", "-o", "json"])
        .run()
        .expect(4);
    let report = run.json();
    assert_eq!(
        results(&report),
        [("old-empty".to_owned(), "failed".to_owned())]
    );
    let error = report["findings"][0]["error"].as_str().unwrap_or_default();
    let host = elsewhere.url.trim_start_matches("http://");
    assert!(
        error.contains("HTTP 307") && error.contains(host),
        "{error}"
    );
    assert_clean(
        &format!("{}{}", run.stdout, run.stderr),
        &["PASSWORD", "TOKEN"],
    );
    assert_eq!(elsewhere.requests().len(), 0, "the redirect was followed");
    assert_eq!(server.calls("DeleteRoom"), 1, "a redirect is not retried");
}

#[test]
fn a_redirected_inventory_or_a_redirect_loop_is_exit_1() {
    let elsewhere = livekit(one_old_room(), |_, _| false);
    let to = format!("{}/twirp/livekit.RoomService/ListRooms", elsewhere.url);
    let server = Server::start(move |_, stream| {
        answer(stream, "302 Found", &[("Location", &to)], b"");
    });
    sweep_fails(&server, "HTTP 302, a redirect to http://127.0.0.1");
    assert_eq!(elsewhere.requests().len(), 0);

    // A loop: the server redirects to itself.
    let looping = Server::start(|_, stream| {
        answer(
            stream,
            "301 Moved Permanently",
            &[("Location", "/twirp/livekit.RoomService/ListRooms")],
            b"",
        );
    });
    Reaper::at(&looping.url)
        .args(["rooms"])
        .run()
        .one_line_error(1, "HTTP 301");
    assert_eq!(
        looping.calls("ListRooms"),
        1,
        "neither followed nor retried"
    );
}

// ---- bodies ------------------------------------------------------------------------------------

/// The head of a 200 whose protobuf body comes in chunks.
const CHUNKED_OK: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: application/protobuf\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Streams zeros after a head, until the client hangs up.
fn endless(stream: &mut TcpStream, head: &str) {
    let _ = stream.write_all(head.as_bytes());
    let chunk = vec![0u8; 1 << 20];
    let framed = [
        format!("{:x}\r\n", chunk.len()).into_bytes(),
        chunk.clone(),
        b"\r\n".to_vec(),
    ]
    .concat();
    let chunked = head.contains("chunked");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let data = if chunked { &framed } else { &chunk };
        if stream.write_all(data).is_err() {
            return;
        }
    }
}

#[test]
fn a_two_gigabyte_answer_is_refused_at_once() {
    let server = livekit_but(vec![], "ListRooms", |stream| {
        endless(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/protobuf\r\nContent-Length: 2147483648\r\n\r\n",
        );
    });
    let run = sweep_fails(&server, "larger than 64 MiB");
    assert!(run.elapsed < Duration::from_secs(10), "{run}");
    assert_eq!(server.calls("ListRooms"), 1, "not retried");
}

#[test]
fn an_endless_body_is_cut_at_the_cap_in_bounded_memory_and_metrics_are_still_written() {
    let server = livekit_but(vec![], "ListRooms", |stream| {
        endless(stream, CHUNKED_OK);
    });
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("lk.prom");
    let metrics_arg = metrics.to_str().unwrap();
    let measured = measure(&server.url, &["sweep", "--metrics-file", metrics_arg]);
    assert_eq!(measured.code, 1, "{measured:?}");
    assert!(
        measured.stderr.lines().count() == 1
            && measured
                .stderr
                .contains("error: could not list rooms: the answer from"),
        "{measured:?}"
    );
    assert_clean(&measured.stderr, &[SECRET, "eyJ", "panicked"]);
    // The cap is 64 MiB; reading the whole body would take gigabytes.
    assert!(
        measured.max_rss_kib < 128 * 1024,
        "peak RSS {} KiB",
        measured.max_rss_kib
    );
    let text = std::fs::read_to_string(&metrics).expect("metrics file written");
    assert!(text.contains("lk_reaper_up 0"), "{text}");
}

#[test]
fn an_endless_answer_to_a_delete_fails_that_action_and_the_report_is_still_written() {
    let server = livekit_but(one_old_room(), "DeleteRoom", |stream| {
        endless(stream, CHUNKED_OK);
    });
    let run = Reaper::at(&server.url)
        .args(["sweep", "-o", "json"])
        .run()
        .expect(4);
    let report = run.json();
    assert_eq!(results(&report), [("old-empty".into(), "failed".into())]);
    assert!(
        report["findings"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("larger than 64 MiB"),
        "{run}"
    );
}

#[test]
fn a_lying_content_length_is_never_an_answer() {
    // Promises 1000 bytes, sends 10, hangs up.
    let short = livekit_but(vec![], "ListRooms", |stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/protobuf\r\nContent-Length: 1000\r\n\r\n0123456789",
        );
    });
    sweep_fails(&short, "closed the connection");
    // Promises less than the message: what arrives is a cut protobuf.
    let cut = livekit_but(vec![], "ListRooms", |stream| {
        let body = proto::ListRoomsResponse {
            rooms: one_old_room(),
        }
        .encode_to_vec();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len() - 3
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    });
    sweep_fails(&cut, "undecodable protobuf body");
    assert_eq!(cut.calls("DeleteRoom"), 0);
}

#[test]
fn conflicting_duplicate_headers_are_not_http() {
    let server = livekit_but(one_old_room(), "ListRooms", |stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/protobuf\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello",
        );
    });
    sweep_fails(&server, "did not answer with HTTP");
    assert_eq!(server.calls("DeleteRoom"), 0);
}

#[test]
fn informational_answers_before_the_real_one_are_skipped() {
    let server = livekit_but(one_old_room(), "ListRooms", |stream| {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n");
        ok(
            stream,
            &proto::ListRoomsResponse {
                rooms: one_old_room(),
            },
        );
    });
    sweep_deletes_the_old_room(&server);
    assert_eq!(deleted(&server), ["old-empty"]);
}

#[test]
fn slow_headers_are_cut_by_the_request_timeout() {
    let server = livekit_but(vec![], "ListRooms", |stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n");
        for _ in 0..200 {
            std::thread::sleep(Duration::from_millis(100));
            if stream.write_all(b"X").is_err() {
                break;
            }
        }
    });
    let run = Reaper::at(&server.url)
        .args(["sweep", "--request-timeout", "300ms", "--timeout", "20s"])
        .run()
        .one_line_error(1, "--request-timeout");
    assert!(run.elapsed < Duration::from_secs(5), "{run}");
}

// ---- pagination --------------------------------------------------------------------------------

/// A server whose ListEgress pages hand out `tokens` in turn, for ever.
fn paging(tokens: &'static [&'static str]) -> Server {
    let turn = Arc::new(Mutex::new(0usize));
    livekit_but(vec![], "ListEgress", move |stream| {
        let mut turn = turn.lock().unwrap();
        let token = tokens[*turn % tokens.len()];
        *turn += 1;
        ok(
            stream,
            &proto::ListEgressResponse {
                items: vec![proto::EgressInfo {
                    egress_id: format!("EG_{turn}"),
                    status: proto::EgressStatus::EgressActive as i32,
                    started_at: ago(60) * 1_000_000_000,
                    ..Default::default()
                }],
                next_page_token: Some(proto::TokenPagination {
                    token: token.into(),
                }),
            },
        );
    })
}

#[test]
fn a_repeated_page_token_ends_the_listing_with_one_error() {
    let same = paging(&["same"]);
    sweep_fails(&same, "handed out page token 'same' a second time");
    assert_eq!(same.calls("ListEgress"), 2);
    let cycle = paging(&["a", "b"]);
    Reaper::at(&cycle.url)
        .args(["egress"])
        .run()
        .one_line_error(1, "page token 'a' a second time");
    assert_eq!(cycle.calls("ListEgress"), 3);
}

// ---- transient answers -------------------------------------------------------------------------

const NGINX_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

#[test]
fn a_proxy_error_page_is_retried_and_quoted_when_it_persists() {
    let calls = Arc::new(Mutex::new(0));
    let server = livekit(one_old_room(), move |request, stream| {
        let mut calls = calls.lock().unwrap();
        if request.method != "ListRooms" || *calls > 0 {
            return false;
        }
        *calls += 1;
        answer(
            stream,
            "502 Bad Gateway",
            &[("Content-Type", "text/html")],
            NGINX_503
                .replace("503 Service Temporarily Unavailable", "502 Bad Gateway")
                .as_bytes(),
        );
        true
    });
    sweep_deletes_the_old_room(&server);
    assert_eq!(server.calls("ListRooms"), 2);

    let down = livekit_but(one_old_room(), "ListRooms", |stream| {
        answer(
            stream,
            "503 Service Temporarily Unavailable",
            &[("Content-Type", "text/html")],
            NGINX_503.as_bytes(),
        );
    });
    sweep_fails(&down, "http_503: 503 Service Temporarily Unavailable");
    assert_eq!(down.calls("ListRooms"), 3, "bounded retries");
    assert_eq!(down.calls("DeleteRoom"), 0);
}

/// `Retry-After` as an HTTP date `secs` from now.
fn http_date(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

#[test]
fn plain_429_and_resource_exhausted_are_retried_no_sooner_than_retry_after() {
    for as_date in [false, true] {
        // ListRooms and DeleteRoom calls answered so far.
        let calls = Arc::new(Mutex::new((0, 0)));
        let server = livekit(one_old_room(), move |request, stream| {
            let mut calls = calls.lock().unwrap();
            match request.method.as_str() {
                "ListRooms" => {
                    calls.0 += 1;
                    if calls.0 > 1 {
                        return false;
                    }
                    let twirp = br#"{"code":"resource_exhausted","msg":"slow down"}"#;
                    let json = [("Content-Type", "application/json")];
                    answer(stream, "429 Too Many Requests", &json, twirp);
                }
                "DeleteRoom" => {
                    calls.1 += 1;
                    if calls.1 > 1 {
                        return false;
                    }
                    let wait = if as_date {
                        http_date(2)
                    } else {
                        "1".to_owned()
                    };
                    let headers = [("Content-Type", "text/plain"), ("Retry-After", &wait)];
                    answer(
                        stream,
                        "429 Too Many Requests",
                        &headers,
                        b"Too Many Requests\n",
                    );
                }
                _ => return false,
            }
            true
        });
        let run = sweep_deletes_the_old_room(&server);
        assert_eq!(server.calls("ListRooms"), 2, "resource_exhausted retried");
        let deletes = server.requests_of("DeleteRoom");
        assert_eq!(deletes.len(), 2, "{run}");
        let waited = deletes[1].at - deletes[0].at;
        assert!(
            waited >= Duration::from_millis(950),
            "retried after {waited:?} (as a date: {as_date})"
        );
    }
}

#[test]
fn rate_limited_actions_slow_down_together() {
    let rooms: Vec<proto::Room> = (0..4).map(|i| room(&format!("r{i}"), ago(3600))).collect();
    let first = Arc::new(Mutex::new(None::<Instant>));
    let server = livekit(rooms, move |request, stream| {
        if request.method != "DeleteRoom" {
            return false;
        }
        let started = *first.lock().unwrap().get_or_insert(request.at);
        if request.at - started < Duration::from_secs(1) {
            answer(
                stream,
                "429 Too Many Requests",
                &[("Retry-After", "1")],
                b"slow down",
            );
            return true;
        }
        false
    });
    let run = Reaper::at(&server.url)
        .args(["sweep", "-o", "json"])
        .run()
        .ok();
    let done = results(&run.json());
    assert!(done.iter().all(|(_, r)| r == "done"), "{run}");
    let deletes = server.requests_of("DeleteRoom");
    let t0 = deletes.iter().map(|r| r.at).min().unwrap();
    let hammering = deletes
        .iter()
        .filter(|r| (Duration::from_millis(300)..Duration::from_millis(950)).contains(&(r.at - t0)))
        .count();
    assert_eq!(hammering, 0, "calls went on while the server asked to wait");
    assert!(deletes.len() <= 8, "{} DeleteRoom calls", deletes.len());
}

// ---- what cannot be judged ---------------------------------------------------------------------

#[test]
fn failed_participant_lists_are_warned_about_and_exit_1_when_nothing_could_be_judged() {
    let rooms = vec![room("a", ago(3600)), room("b", ago(3600))];
    let unavailable = |stream: &mut TcpStream| {
        let twirp = br#"{"code":"unavailable","msg":"node restarting"}"#;
        answer(
            stream,
            "503 Service Unavailable",
            &[("Content-Type", "application/json")],
            twirp,
        );
    };
    let none = livekit_but(rooms.clone(), "ListParticipants", unavailable);
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("m.prom");
    let sweep = [
        "sweep",
        "-o",
        "json",
        "--metrics-file",
        metrics.to_str().unwrap(),
    ];
    let run = Reaper::at(&none.url).args(sweep).run().expect(1);
    let report = run.json();
    assert_eq!(report["findings"], serde_json::json!([]));
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("no room could be judged (exit 1): the participants of all 2 rooms"),
        "{run}"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].contains("no room could be judged"),
        "one clear line{run}"
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("lk_reaper_rooms_unjudged 2") && text.contains("lk_reaper_up 0"),
        "{text}"
    );
    assert_eq!(none.calls("DeleteRoom"), 0);

    let some = livekit(rooms, move |request, stream| {
        let room = proto::ListParticipantsRequest::decode(request.body.as_slice())
            .map(|r| r.room)
            .unwrap_or_default();
        if request.method != "ListParticipants" || room != "b" {
            return false;
        }
        unavailable(stream);
        true
    });
    let run = Reaper::at(&some.url).args(sweep).run().ok();
    assert!(
        run.json()["warnings"]
            .to_string()
            .contains("1 of 2 rooms were not judged"),
        "{run}"
    );
    assert_eq!(deleted(&some), ["a"]);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("lk_reaper_rooms_unjudged 1") && text.contains("lk_reaper_up 1"),
        "{text}"
    );
}

#[test]
fn impossible_times_and_empty_names_are_never_acted_on() {
    let year_9999 = 253_402_300_799;
    let rooms = vec![
        room("negative", -5),
        room("zero", 0),
        room("far-future", year_9999),
        room("", ago(3600)),
        room("real", ago(7200)),
    ];
    let egress = |id: &str, started_s: i64| proto::EgressInfo {
        egress_id: id.into(),
        room_name: "gone".into(),
        status: proto::EgressStatus::EgressActive as i32,
        started_at: started_s.saturating_mul(1_000_000_000),
        ..Default::default()
    };
    let egresses = vec![
        egress("EG_negative", -5),
        egress("EG_future", year_9999 / 10),
    ];
    let server = livekit_but(rooms, "ListEgress", move |stream| {
        ok(
            stream,
            &proto::ListEgressResponse {
                items: egresses.clone(),
                next_page_token: None,
            },
        );
    });
    let run = Reaper::at(&server.url)
        .args([
            "sweep",
            "-o",
            "json",
            "--max-room-age",
            "1h",
            "--max-egress-age",
            "1h",
        ])
        .run()
        .ok();
    let report = run.json();
    assert_eq!(results(&report), [("real".into(), "done".into())]);
    assert_eq!(deleted(&server), ["real"]);
    assert_eq!(server.calls("StopEgress"), 0);
    let warnings = report["warnings"].to_string();
    for needle in [
        "3 rooms not judged: the server gave an impossible creation time",
        "1 room with an empty name listed: never acted on",
        "2 egresses with an impossible start time",
    ] {
        assert!(warnings.contains(needle), "{needle}{run}");
    }
}

// ---- names in the table ------------------------------------------------------------------------

#[test]
fn long_and_bidi_names_are_cut_and_cleaned_in_the_table_but_kept_in_json() {
    let long = "x".repeat(100_000);
    let bidi = "evil\u{202E}gnp.exe";
    let server = livekit(
        vec![room(&long, ago(3600)), room(bidi, ago(3600))],
        |_, _| false,
    );
    let table = Reaper::at(&server.url)
        .args(["-v", "sweep", "--dry-run"])
        .run()
        .ok();
    assert!(
        table.stdout.lines().all(|l| l.chars().count() < 400),
        "{table}"
    );
    assert!(table.stdout.contains("xxx…"), "{table}");
    for (name, text) in [("stdout", &table.stdout), ("stderr", &table.stderr)] {
        assert!(!text.contains('\u{202E}'), "bidi control on {name}{table}");
    }
    let rooms = Reaper::at(&server.url).args(["rooms"]).run().ok();
    assert!(
        rooms.stdout.lines().all(|l| l.chars().count() < 400) && !rooms.stdout.contains('\u{202E}')
    );
    let json = Reaper::at(&server.url)
        .args(["sweep", "--dry-run", "-o", "json"])
        .run()
        .ok()
        .json();
    let names: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["room"].as_str())
        .collect();
    assert!(
        names.contains(&long.as_str()) && names.contains(&bidi),
        "JSON is data"
    );
    assert_eq!(server.calls("DeleteRoom"), 0, "a dry run");
}

// ---- bad command lines -------------------------------------------------------------------------

#[test]
fn timeouts_out_of_range_are_usage_errors() {
    let cases = [
        ["--timeout", "18446744073709551615s"],
        ["--timeout", "0s"],
        ["--timeout", "25h"],
        ["--request-timeout", "0s"],
        ["--request-timeout", "1ns"],
    ];
    for [flag, value] in cases {
        let run = Reaper::at("http://127.0.0.1:9")
            .args(["sweep", flag, value])
            .run()
            .one_line_error(2, flag);
        assert!(
            run.stderr.contains("must be between") || run.stderr.contains("too large"),
            "{run}"
        );
    }
}

#[test]
fn credentials_and_queries_in_the_url_are_never_printed() {
    for url in [
        "http://admin:PASSWORD@127.0.0.1:9",
        "http://127.0.0.1:9/?token=PASSWORD",
        "ftp://admin:PASSWORD@host",
    ] {
        let run = Reaper::at(url)
            .args(["sweep"])
            .run()
            .one_line_error(2, "invalid URL");
        assert_clean(&run.stderr, &["PASSWORD"]);
    }
}

#[test]
fn secret_policy_scenario_and_ca_files_must_be_small_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    let huge = dir.path().join("huge.toml");
    std::fs::write(&huge, vec![b'#'; 2 << 20]).unwrap();
    let fifo = fifo.to_str().unwrap();
    let huge = huge.to_str().unwrap();
    for path in ["/dev/zero", fifo] {
        let run = Reaper::bare()
            .env("LIVEKIT_URL", "http://127.0.0.1:9")
            .env("LIVEKIT_API_KEY", KEY)
            .env("LIVEKIT_API_SECRET_FILE", path)
            .args(["sweep"])
            .run()
            .one_line_error(2, "not a regular file");
        assert!(run.elapsed < Duration::from_secs(5), "{run}");
    }
    for (path, why) in [
        ("/dev/zero", "not a regular file"),
        (fifo, "not a regular file"),
        (huge, "larger than 1024 KiB"),
    ] {
        Reaper::at("http://127.0.0.1:9")
            .args(["--config", path, "sweep"])
            .run()
            .one_line_error(2, why);
    }
    for path in ["/dev/zero", fifo] {
        Reaper::bare()
            .args(["simulate", "--scenario", path])
            .run()
            .one_line_error(2, "not a regular file");
        let run = Reaper::at("https://127.0.0.1:9")
            .env("SSL_CERT_FILE", path)
            .args(["sweep"])
            .run()
            .one_line_error(1, "SSL_CERT_FILE");
        assert!(run.stderr.contains("not a regular file"), "{run}");
    }
}

// ---- peak memory, measured in a child process --------------------------------------------------

/// A reaper run as [`measure`] saw it.
#[derive(Debug)]
struct Measured {
    code: i32,
    stderr: String,
    max_rss_kib: i64,
}

const MEASURE_ARGS: &str = "LK_REAPER_MEASURE_ARGS";
const MEASURE_STDERR: &str = "LK_REAPER_MEASURE_STDERR";

/// Runs `lk-reaper ARGS` against `url` under a copy of this test binary that runs only
/// [`measure_child`], so the reaper is that process's only child and `RUSAGE_CHILDREN` there
/// is the reaper's own peak RSS (the benchmark's method).
fn measure(url: &str, args: &[&str]) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("stderr");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "hostile::measure_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MEASURE_ARGS, serde_json::to_string(args).unwrap())
        .env(MEASURE_STDERR, &stderr)
        .env("LIVEKIT_URL", url)
        .env("LIVEKIT_API_KEY", KEY)
        .env("LIVEKIT_API_SECRET", SECRET)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run the measuring copy");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // libtest prints the test's name first, on the same line.
    let line = stdout
        .lines()
        .find_map(|l| l.split("MEASURED ").nth(1))
        .unwrap_or_else(|| panic!("no measurement in:\n{stdout}"));
    let mut numbers = line.split_whitespace();
    let (code, rss) = (numbers.next().expect("code"), numbers.next().expect("RSS"));
    Measured {
        code: code.parse().expect("exit code"),
        stderr: std::fs::read_to_string(&stderr).unwrap_or_default(),
        max_rss_kib: rss.parse().expect("peak RSS"),
    }
}

/// With [`MEASURE_ARGS`] set: runs the reaper and prints its exit code and peak RSS.
/// Otherwise it checks [`measure`] on `lk-reaper --version`: a small, non-zero peak.
#[test]
fn measure_child() {
    let Ok(json) = std::env::var(MEASURE_ARGS) else {
        let version = measure("http://127.0.0.1:9", &["--version"]);
        assert_eq!(version.code, 0, "{version:?}");
        assert!((1..64 * 1024).contains(&version.max_rss_kib), "{version:?}");
        return;
    };
    let args: Vec<String> = serde_json::from_str(&json).expect("arguments");
    let stderr = std::env::var_os(MEASURE_STDERR).map_or(Stdio::null(), |path| {
        Stdio::from(std::fs::File::create(path).expect("stderr file"))
    });
    let status = Command::new(BIN)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .expect("run lk-reaper");
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    // Linux reports ru_maxrss in KiB.
    let rss = usage.max_rss();
    println!("MEASURED {} {rss}", status.code().unwrap_or(-1));
    if std::env::var_os(MEASURE_ARGS).is_none() {
        assert!(status.success());
        assert!(
            (1..64 * 1024).contains(&rss),
            "--version peaked at {rss} KiB"
        );
    }
}
