//! Never hang, never lose, never leak (issue #4): transient faults are retried, permanent
//! ones end the run with one clear line and the right exit code, and `/_sim/state` shows
//! that nothing was lost: no room with a human deleted, no action taken twice, no planned
//! action without a result. Every run is checked for the secret and for JWTs on stdout and
//! stderr by [`Reaper::run`].

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{self, SimProcess};
use crate::loopback::Server;
use crate::reaper::{Reaper, Run, assert_basic_swept, basic, expected, mutations, results, sim};

/// basic.json with these faults.
fn basic_with(faults: Value) -> SimProcess {
    let mut scenario = harness::scenario("basic.json");
    scenario["faults"] = faults;
    sim(scenario)
}

/// Every finding has a final result (nothing left `planned` after a real sweep).
#[track_caller]
fn assert_every_action_has_a_result(report: &Value) {
    for f in report["findings"].as_array().expect("findings") {
        assert_ne!(f["result"], "planned", "an action without a result: {f}");
    }
}

#[track_caller]
fn sweep(sim: &SimProcess, args: &[&str], code: i32) -> Value {
    let report = crate::sweep::sweep_json(sim, args, code);
    assert_every_action_has_a_result(&report);
    report
}

// ---- transient faults are retried -----------------------------------------------------------

#[test]
fn bursts_of_5xx_and_429_are_retried() {
    let sim = basic_with(json!([
        {"method": "ListRooms", "code": "internal", "times": 1},
        {"method": "ListRooms", "code": "resource_exhausted", "times": 1},
        {"method": "ListEgress", "status": 502, "code": "unavailable", "times": 2},
        {"method": "ListParticipants", "code": "unavailable", "times": 2},
        // `unavailable` on StopEgress means a zombie (not retried); a 500 is retried.
        {"method": "StopEgress", "code": "internal", "times": 1},
    ]));
    let report = sweep(&sim, &[], 0);
    assert_basic_swept(&report, &sim);
    assert_eq!(report["warnings"], json!([]));
    // Two failed StopEgress attempts would make 3; one retry makes exactly one more.
    assert_eq!(mutations(&sim), (3, 2));
}

#[test]
fn delete_room_faults_retry_or_count_as_already_gone() {
    let sim = basic_with(json!([
        {"method": "DeleteRoom", "code": "unavailable", "times": 1},
        // A fault with only a tiny delay lets the call through to the server.
        {"method": "DeleteRoom", "delay_ms": 1, "times": 1},
        {"method": "DeleteRoom", "code": "not_found", "msg": "twirp error unknown: requested room does not exist", "times": 1},
    ]));
    let report = sweep(&sim, &["--concurrency", "1"], 0);
    // Oldest first: camera-feed gets the 503 (retried: done), left-running the not_found.
    assert_eq!(
        results(&report),
        expected(&[
            ("camera-feed", "done"),
            ("left-running", "already_gone"),
            ("EG_rec1", "done"),
            ("EG_orphan", "done"),
        ])
    );
    assert_eq!(mutations(&sim), (2, 3));
}

#[test]
fn slow_calls_past_the_request_timeout_are_retried() {
    let sim = basic_with(json!([
        {"method": "ListRooms", "delay_ms": 1500, "times": 1},
        {"method": "ListParticipants", "delay_ms": 1500, "times": 1},
    ]));
    let run = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--request-timeout", "300ms"])
        .run()
        .ok();
    assert_basic_swept(&run.json(), &sim);
    assert!(run.elapsed < Duration::from_secs(5), "{run}");
}

// ---- permanent faults end the run clearly ---------------------------------------------------

#[test]
fn a_fault_that_never_ends_is_one_clear_line_and_exit_1() {
    let sim = basic_with(json!([{"method": "ListRooms", "code": "unavailable", "times": 1000}]));
    Reaper::on(&sim)
        .args(["sweep"])
        .run()
        .one_line_error(1, "could not list rooms")
        .stderr_has("unavailable");
    assert_eq!(sim.calls("ListRooms"), 3, "bounded retries");
    assert_eq!(mutations(&sim), (0, 0));
}

#[test]
fn rooms_whose_participants_cannot_be_listed_are_not_judged_or_touched() {
    let sim =
        basic_with(json!([{"method": "ListParticipants", "code": "internal", "times": 1000}]));
    // No room could be judged: exit 1, said in the report's warnings; what needs no
    // participant list (the orphan) is still done.
    let run = Reaper::on(&sim)
        .args(["sweep", "-o", "json"])
        .run()
        .expect(1);
    let report = run.json();
    assert_eq!(results(&report), expected(&[("EG_orphan", "done")]));
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains(
            "no room could be judged (exit 1): the participants of all 4 rooms could not be listed"
        ),
        "{run}"
    );
    assert_eq!(mutations(&sim), (1, 0));
    assert_eq!(sim.room_names().len(), 5);
}

#[test]
fn a_black_hole_server_ends_within_the_timeout() {
    let hole = Server::black_hole();
    for command in ["sweep", "rooms"] {
        let run = Reaper::at(&hole.url)
            .args([command, "--timeout", "2s"])
            .run()
            .one_line_error(1, "--timeout 2s");
        assert!(run.elapsed < Duration::from_millis(3500), "{run}");
    }
    let run = Reaper::at(&hole.url)
        .args(["sweep", "--request-timeout", "300ms", "--timeout", "20s"])
        .run()
        .one_line_error(1, "--request-timeout");
    assert!(run.elapsed < Duration::from_secs(4), "{run}");
}

#[test]
fn actions_cut_off_by_the_deadline_are_reported_as_failed() {
    let sim = basic_with(json!([{"method": "DeleteRoom", "delay_ms": 20_000, "times": 10}]));
    let run = Reaper::on(&sim)
        .args(["sweep", "-o", "json", "--timeout", "2s"])
        .run()
        .expect(4);
    assert!(run.elapsed < Duration::from_millis(3500), "{run}");
    let report = run.json();
    assert_every_action_has_a_result(&report);
    let got = results(&report);
    assert_eq!(got["camera-feed"], "failed");
    assert_eq!(got["left-running"], "failed");
    assert_eq!(got["EG_orphan"], "done");
    assert!(
        report["findings"][0]["error"]
            .as_str()
            .unwrap()
            .contains("--timeout"),
        "{report}"
    );
}

#[test]
fn garbage_and_html_answers_are_not_a_livekit_server() {
    let sim = basic_with(json!([{"method": "ListRooms", "garbage": true, "times": 1000}]));
    Reaper::on(&sim)
        .args(["sweep"])
        .run()
        .one_line_error(1, &format!("not a LiveKit server at {}", sim.url()));
    assert_eq!(sim.calls("ListRooms"), 1, "not retried");
    let html = Server::answering(
        200,
        "text/html",
        "<!doctype html><html><body>Welcome to nginx!</body></html>",
    );
    Reaper::at(&html.url)
        .args(["sweep"])
        .run()
        .one_line_error(1, &format!("not a LiveKit server at {}", html.url));
    let json = Server::answering(200, "application/json", "{\"hello\": \"world\"}");
    Reaper::at(&json.url)
        .args(["rooms"])
        .run()
        .one_line_error(1, "not a LiveKit server");
    let missing = Server::answering(404, "text/html", "<html>Not Found</html>");
    Reaper::at(&missing.url)
        .args(["egress"])
        .run()
        .one_line_error(1, "not a LiveKit server");
}

#[test]
fn a_wrong_secret_or_key_is_an_authentication_failure() {
    let sim = basic();
    let hint = "authentication failed: check LIVEKIT_API_KEY / LIVEKIT_API_SECRET";
    for (var, value) in [
        ("LIVEKIT_API_SECRET", "wrong-secret-Kq81"),
        ("LIVEKIT_API_KEY", "APIunknown"),
    ] {
        let run = Reaper::on(&sim)
            .env(var, value)
            .args(["sweep"])
            .run()
            .one_line_error(1, hint);
        assert!(!run.stderr.contains("wrong-secret-Kq81"), "{run}");
    }
    let plain_401 = Server::answering(401, "text/plain", "invalid authorization token\n");
    Reaper::at(&plain_401.url)
        .args(["rooms"])
        .run()
        .one_line_error(1, "(server said: invalid authorization token)");
    assert_eq!(mutations(&sim), (0, 0));
}

// ---- egress trouble ----------------------------------------------------------------------------

#[test]
fn pagination_is_followed_to_the_last_page() {
    let mut egresses = Vec::new();
    for i in 0..20 {
        // Ids sort by number; the orphans come last, on the last pages.
        let room = if i >= 16 { "gone" } else { "standup" };
        egresses.push(json!({"egress_id": format!("EG_{i:02}"), "room_name": room,
                             "type": "track", "started_s_ago": 3600}));
    }
    let mut scenario = harness::scenario("basic.json");
    scenario["egresses"] = json!(egresses);
    scenario["egress_page_size"] = json!(1);
    let sim = sim(scenario);
    let report = sweep(&sim, &["--humanless", "off"], 0);
    assert_eq!(report["egresses_scanned"], 20);
    assert_eq!(
        sim.calls("ListEgress"),
        20,
        "one page per egress, each asked once"
    );
    assert_eq!(
        results(&report),
        expected(&[
            ("EG_16", "done"),
            ("EG_17", "done"),
            ("EG_18", "done"),
            ("EG_19", "done"),
        ])
    );
    assert_eq!(sim.egress("EG_19")["status"], "EGRESS_COMPLETE");
    assert_eq!(sim.egress("EG_15")["status"], "EGRESS_ACTIVE");
}

#[test]
fn a_zombie_egress_fails_with_an_explanation_and_its_room_is_still_deleted() {
    let mut scenario = harness::scenario("basic.json");
    scenario["egresses"][0]["zombie"] = json!(true);
    assert_eq!(scenario["egresses"][0]["egress_id"], "EG_rec1");
    let sim = sim(scenario);
    let report = sweep(&sim, &[], 4);
    let got = results(&report);
    assert_eq!(got["EG_rec1"], "failed");
    assert_eq!(got["left-running"], "done");
    assert_eq!(report["summary"]["failed"], 1);
    let zombie = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["egress_id"] == "EG_rec1")
        .unwrap();
    let error = zombie["error"].as_str().unwrap();
    assert!(
        error.contains("stale record") && error.contains("deadline_exceeded"),
        "{error}"
    );
    assert_eq!(
        sim.calls("StopEgress"),
        2,
        "the zombie is asked once, not retried"
    );
    assert!(!sim.room_names().contains(&"left-running".to_owned()));
}

#[test]
fn a_zombie_room_is_reported_with_a_hint_and_the_rest_is_still_done() {
    let sim = basic_with(json!([{"method": "DeleteRoom", "code": "unknown",
                                  "msg": "could not find object", "times": 1000}]));
    let report = sweep(&sim, &[], 0);
    let got = results(&report);
    assert_eq!(
        (got["camera-feed"].as_str(), got["left-running"].as_str()),
        ("zombie", "zombie")
    );
    assert_eq!(sim.calls("DeleteRoom"), 2, "never retried");
    assert_eq!(
        (got["EG_rec1"].as_str(), got["EG_orphan"].as_str()),
        ("done", "done")
    );
    let error = report["findings"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("livekit#3766") && error.contains("could not find object"),
        "{error}"
    );
    assert_eq!(sim.room_names().len(), 5);
}

#[test]
fn without_an_egress_service_rooms_are_still_swept_with_a_warning() {
    let sim = basic_with(json!([{"method": "ListEgress", "code": "internal",
                                  "msg": "egress not connected (redis required)", "times": 1000}]));
    let run = Reaper::on(&sim).args(["sweep", "-o", "json"]).run().ok();
    let report = run.json();
    assert_eq!(
        results(&report),
        expected(&[("camera-feed", "done"), ("left-running", "done")])
    );
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{report}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("egress not connected")
    );
    assert!(run.stderr.contains("egress was not checked"), "{run}");
    // The table run warns on stderr too, and its exit code is unaffected.
    Reaper::on(&sim)
        .args(["sweep", "--dry-run", "--exit-code"])
        .run()
        .ok()
        .stderr_has("egress not connected");
}

// ---- secrets -----------------------------------------------------------------------------------

#[test]
fn no_stream_of_any_run_shows_the_secret_or_a_token() {
    let sim = basic_with(json!([{"method": "StopEgress", "code": "permission_denied",
                                  "msg": "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig rejected", "times": 1}]));
    let verbosity: [&[&str]; 4] = [&[], &["-v"], &["-vv"], &["--log-format", "json", "-v"]];
    for flags in verbosity {
        for args in [
            &["sweep", "--dry-run"][..],
            &["rooms"],
            &["egress", "-o", "json"],
        ] {
            Reaper::on(&sim).args(flags).args(args).run().ok();
        }
        // Failing runs: a wrong secret, the secret on the command line, an unreachable
        // server, a bad URL.
        Reaper::on(&sim)
            .env("LIVEKIT_API_SECRET", "other")
            .args(flags)
            .args(["sweep"])
            .run()
            .expect(1);
        Reaper::on(&sim)
            .env_remove("LIVEKIT_API_SECRET")
            .args(flags)
            .args(["sweep", "--dry-run", "--api-secret", crate::reaper::SECRET])
            .run()
            .ok();
        Reaper::at("http://127.0.0.1:9")
            .args(flags)
            .args(["sweep"])
            .run()
            .expect(1);
        Reaper::at("ftp://127.0.0.1")
            .args(flags)
            .args(["sweep"])
            .run()
            .expect(2);
    }
    // A server error that echoes a token: the run reports it without the token.
    Reaper::on(&sim)
        .args(["sweep", "-v"])
        .run()
        .expect(4)
        .stdout_has("[redacted token]");
}

// ---- bad input -------------------------------------------------------------------------------

/// `lk-reaper ARGS` with a full, valid connection in the environment must fail with exit 2
/// and one line naming `needle`.
#[track_caller]
fn refused(reaper: Reaper, args: &[&str], needle: &str) -> Run {
    reaper.args(args).run().one_line_error(2, needle)
}

/// Runs each case (exit 2, one line naming the needle, no webhook URL echoed) and checks
/// that the simulator got no call at all.
#[track_caller]
fn assert_all_refused(sim: &SimProcess, cases: Vec<(Reaper, Vec<&str>, &str)>) {
    for (reaper, args, needle) in cases {
        let run = refused(reaper, &args, needle);
        assert!(
            !run.stderr.contains("T0KEN"),
            "a webhook URL is a secret{run}"
        );
    }
    let calls: u64 = sim
        .stats()
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(calls, 0, "no call made");
}

#[test]
fn bad_values_flags_and_urls_are_one_line_and_exit_2() {
    let sim = basic();
    let ok = || Reaper::on(&sim);
    let cases = vec![
        (ok(), vec!["sweep", "--timeout", "5 parsecs"], "--timeout"),
        (
            ok(),
            vec!["sweep", "--max-room-age", "soon"],
            "--max-room-age",
        ),
        (
            ok(),
            vec!["sweep", "--humanless-grace=-5m"],
            "--humanless-grace",
        ),
        (ok(), vec!["sweep", "--room", "a[b"], "--room"),
        (ok(), vec!["rooms", "--not-human", "{x"], "--not-human"),
        (
            ok(),
            vec!["egress", "--exclude-room", "[!"],
            "--exclude-room",
        ),
        (ok(), vec!["sweep", "-o", "xml"], "xml"),
        (ok(), vec!["sweep", "--humanless", "sometimes"], "sometimes"),
        (ok(), vec!["sweep", "--shard", "3/3"], "--shard"),
        (ok(), vec!["sweep", "--concurrency", "0"], "--concurrency"),
        (ok(), vec!["sweep", "--url", "ftp://example.com"], "ftp"),
        (ok(), vec!["sweep", "--url", "localhost:7880"], "scheme"),
        (
            ok(),
            vec!["sweep", "--url", "https://user:pass@example.com"],
            "credentials",
        ),
        (ok(), vec!["sweep", "--url", "http://"], "invalid URL"),
        (ok(), vec!["sweep", "--bogus-flag"], "--bogus-flag"),
        (
            ok(),
            vec!["sweep", "--notify-url", "hooks.example/T0KEN"],
            "--notify-url",
        ),
        (
            ok(),
            vec!["sweep", "--notify-url", "ftp://hooks.example/T0KEN"],
            "--notify-url",
        ),
        (
            ok(),
            vec!["sweep", "--metrics-file", "/nonexistent/m.prom"],
            "/nonexistent/m.prom",
        ),
    ];
    assert_all_refused(&sim, cases);
}

#[test]
fn missing_or_conflicting_credentials_are_one_line_and_exit_2() {
    let sim = basic();
    let ok = || Reaper::on(&sim);
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    std::fs::set_permissions(&empty, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let empty = empty.to_str().unwrap();
    let cases = vec![
        (
            ok().env_remove("LIVEKIT_API_SECRET"),
            vec!["sweep", "--api-secret-file", empty, "--api-secret", "x"],
            "both an API secret",
        ),
        (
            ok().env("LIVEKIT_API_SECRET_FILE", empty),
            vec!["sweep"],
            "both an API secret",
        ),
        (
            ok().env_remove("LIVEKIT_API_SECRET"),
            vec!["sweep", "--api-secret-file", "/nonexistent/secret"],
            "/nonexistent/secret",
        ),
        (
            ok().env_remove("LIVEKIT_API_SECRET"),
            vec!["sweep", "--api-secret-file", empty],
            "empty",
        ),
        (ok().env("LIVEKIT_API_SECRET", ""), vec!["sweep"], "secret"),
        (
            ok().env("LIVEKIT_API_SECRET", "   "),
            vec!["sweep"],
            "empty",
        ),
        (ok().env_remove("LIVEKIT_URL"), vec!["sweep"], "LIVEKIT_URL"),
        (
            ok().env_remove("LIVEKIT_API_KEY"),
            vec!["rooms"],
            "LIVEKIT_API_KEY",
        ),
        (
            ok().env_remove("LIVEKIT_API_SECRET"),
            vec!["egress"],
            "LIVEKIT_API_SECRET",
        ),
        (
            ok(),
            vec!["sweep", "--config", "/nonexistent/reaper.toml"],
            "/nonexistent/reaper.toml",
        ),
    ];
    assert_all_refused(&sim, cases);
}

#[test]
fn every_livekit_url_spelling_is_accepted() {
    let sim = basic();
    let port = sim.url().rsplit(':').next().unwrap().to_owned();
    for url in [
        format!("ws://127.0.0.1:{port}"),
        format!("ws://127.0.0.1:{port}/"),
        format!("http://127.0.0.1:{port}//"),
        format!("HTTP://localhost:{port}"),
    ] {
        Reaper::on(&sim).args(["rooms", "--url", &url]).run().ok();
    }
}
