//! Failing safe on an operator's typo, a room owner's typo and a broken pipe (issue #25).

use serde_json::{Value, json};

use crate::reaper::{Reaper, results, scenario, sim};

/// A policy file in a temp dir: (dir, path).
fn policy_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reaper.toml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

fn empty_room(name: &str, age_s: u64, metadata: &str) -> Value {
    json!({"name": name, "age_s": age_s, "metadata": metadata, "participants": []})
}

#[test]
fn a_room_whose_metadata_override_is_invalid_is_left_alone_and_named_once() {
    let sim = sim(scenario(
        json!([
            empty_room("typo", 7200, r#"{"reaper": {"max_room_age": "soon"}}"#),
            empty_room("plain", 7200, ""),
        ]),
        json!([{"egress_id": "EG_typo", "room_name": "typo", "type": "room_composite",
                "status": "EGRESS_ACTIVE", "started_s_ago": 7000}]),
    ));
    let (_dir, path) = policy_file("max_room_age = \"1h\"\nmetadata_key = \"reaper\"\n");
    let run = Reaper::on(&sim)
        .args(["--config", &path, "sweep", "-o", "json"])
        .run()
        .ok();
    let report = run.json();
    let got = results(&report);
    assert_eq!(got["typo"], "skipped", "{report}");
    assert_eq!(got["EG_typo"], "skipped", "{report}");
    assert_eq!(got["plain"], "done", "{report}");
    let typo = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["room"] == "typo" && f["target"] == "room")
        .unwrap();
    assert!(
        typo["reason"]
            .as_str()
            .unwrap()
            .contains("reaper.max_room_age"),
        "{typo}"
    );
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let named: Vec<&&str> = warnings.iter().filter(|w| w.contains("'typo'")).collect();
    assert_eq!(named.len(), 1, "{warnings:?}");
    assert_eq!(sim.room_names(), ["typo"], "only the plain room went");
    assert_eq!(sim.egress("EG_typo")["status"], "EGRESS_ACTIVE");
    let text = Reaper::on(&sim)
        .args(["--config", &path, "sweep", "--dry-run"])
        .run()
        .ok();
    assert_eq!(text.stderr.matches("'typo'").count(), 1, "{text}");
    let rooms = Reaper::on(&sim)
        .args(["--config", &path, "rooms", "-o", "json"])
        .run()
        .ok()
        .json();
    let typo = &rooms["rooms"][0];
    assert_eq!(typo["name"], "typo", "{rooms}");
    assert!(
        typo["reason"]
            .as_str()
            .unwrap_or("")
            .contains("reaper.max_room_age"),
        "the rooms view says why it is left alone: {rooms}"
    );
}

/// The rooms a dry run would act on, by name.
fn offenders(sim: &crate::harness::SimProcess, args: &[&str]) -> Vec<String> {
    let run = Reaper::on(sim)
        .args(["sweep", "--dry-run", "-o", "json"])
        .args(args)
        .run()
        .ok();
    let mut rooms: Vec<String> = results(&run.json()).into_keys().collect();
    rooms.sort();
    rooms
}

#[test]
fn human_kind_adds_not_human_kind_removes_and_the_file_lists_them_all() {
    let sim = sim(scenario(
        json!([
            {"name": "meeting", "age_s": 3600, "participants": [
                {"identity": "alice", "kind": "STANDARD", "joined_s_ago": 60}]},
            {"name": "phone", "age_s": 3600, "participants": [
                {"identity": "sip_1", "kind": "SIP", "joined_s_ago": 60}]},
            {"name": "camera", "age_s": 3600, "participants": [
                {"identity": "rtsp", "kind": "BRIDGE", "joined_s_ago": 60}]},
        ]),
        json!([]),
    ));
    assert_eq!(offenders(&sim, &[]), ["camera"]);
    assert_eq!(
        offenders(&sim, &["--human-kind", "bridge"]),
        Vec::<String>::new(),
        "a typo-free addition never makes a meeting humanless"
    );
    assert_eq!(
        offenders(&sim, &["--not-human-kind", "sip"]),
        ["camera", "phone"]
    );
    let (_dir, path) = policy_file("human_kinds = [\"standard\"]\n");
    assert_eq!(offenders(&sim, &["--config", &path]), ["camera", "phone"]);
    assert_eq!(
        offenders(&sim, &["--config", &path, "--human-kind", "sip"]),
        ["camera"]
    );
    Reaper::on(&sim)
        .args(["sweep", "--human-kind", "sip", "--not-human-kind", "sip"])
        .run()
        .one_line_error(2, "--not-human-kind sip");
}

/// What each mutating method was called, by the simulator's count.
fn mutating_calls(sim: &crate::harness::SimProcess) -> [u64; 2] {
    [sim.calls("DeleteRoom"), sim.calls("StopEgress")]
}

#[test]
fn a_sweep_into_closed_pipes_acts_once_and_its_exit_code_still_tells() {
    let piped = crate::reaper::basic();
    let run = Reaper::on(&piped)
        .args(["sweep", "-v"])
        .run_into_closed_pipes();
    assert_eq!(run.code, Some(0), "{run}");
    let reference = crate::reaper::basic();
    Reaper::on(&reference).args(["sweep"]).run().ok();
    assert_eq!(
        mutating_calls(&piped),
        mutating_calls(&reference),
        "each action once"
    );
    assert_eq!(piped.room_names(), reference.room_names());

    let mut failing = crate::harness::scenario("basic.json");
    failing["faults"] =
        json!([{"method": "StopEgress", "status": 403, "code": "permission_denied", "times": 99}]);
    let failing = sim(failing);
    let run = Reaper::on(&failing)
        .args(["sweep", "-v"])
        .run_into_closed_pipes();
    assert_eq!(run.code, Some(4), "some actions failed{run}");
    let run = Reaper::at("http://127.0.0.1:9")
        .args(["sweep"])
        .run_into_closed_pipes();
    assert_eq!(run.code, Some(1), "could not run{run}");
    let run = Reaper::on(&failing)
        .args(["sweep", "--max-room-age", "soon"])
        .run_into_closed_pipes();
    assert_eq!(run.code, Some(2), "usage{run}");
}

#[test]
fn a_failed_egress_list_is_an_error_in_every_command_unless_egress_is_not_connected() {
    let mut broken = crate::harness::scenario("basic.json");
    broken["faults"] = json!([{"method": "ListEgress", "status": 500, "code": "internal",
                               "msg": "could not read from the store", "times": 1000}]);
    let broken = sim(broken);
    for command in [
        &["egress"][..],
        &["rooms"],
        &["sweep"],
        &["sweep", "--dry-run"],
        &["snapshot"],
    ] {
        Reaper::on(&broken)
            .args(command)
            .run()
            .one_line_error(1, "could not list egresses");
    }
    assert_eq!(broken.calls("DeleteRoom") + broken.calls("StopEgress"), 0);
    let mut single_node = crate::harness::scenario("basic.json");
    single_node["faults"] = json!([{"method": "ListEgress", "code": "internal",
                                    "msg": "egress not connected (redis required)", "times": 1000}]);
    let single_node = sim(single_node);
    Reaper::on(&single_node)
        .args(["egress"])
        .run()
        .ok()
        .stderr_has("egress not connected");
}

#[test]
fn a_dry_run_over_max_actions_names_the_limit() {
    let sim = crate::reaper::basic();
    let run = Reaper::on(&sim)
        .args(["sweep", "--dry-run", "--max-actions", "3"])
        .run()
        .expect(5);
    assert!(
        run.stdout
            .contains("would refuse: 4 actions exceed --max-actions 3"),
        "{run}"
    );
    let run = Reaper::on(&sim)
        .args(["sweep", "--max-actions", "3"])
        .run()
        .expect(5);
    assert!(
        run.stdout
            .contains("refused: 4 actions exceed --max-actions 3; nothing was done"),
        "{run}"
    );
    assert_eq!(sim.calls("DeleteRoom") + sim.calls("StopEgress"), 0);
}

/// A Kubernetes secret volume as the kubelet lays it out: `secret` -> `..data/secret`,
/// `..data` -> a timestamped folder; the file has `mode`.
fn secret_volume(mode: u32) -> (tempfile::TempDir, String) {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let version = dir.path().join("..2026_12_05_18_00_00.123");
    std::fs::create_dir(&version).unwrap();
    let file = version.join("secret");
    std::fs::write(&file, crate::reaper::SECRET).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    symlink("..2026_12_05_18_00_00.123", dir.path().join("..data")).unwrap();
    symlink("..data/secret", dir.path().join("secret")).unwrap();
    let path = dir.path().join("secret").to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn a_secret_in_a_kubernetes_volume_is_not_warned_about_for_group_read() {
    let sim = crate::reaper::basic();
    let rooms = |path: &str| {
        Reaper::on(&sim)
            .env_remove("LIVEKIT_API_SECRET")
            .env("LIVEKIT_API_SECRET_FILE", path)
            .args(["rooms"])
            .run()
            .ok()
    };
    let (_volume, path) = secret_volume(0o440);
    let run = rooms(&path);
    assert!(!run.stderr.contains("readable by"), "{run}");
    let (_volume, path) = secret_volume(0o444);
    rooms(&path).stderr_has("readable by others");
    // Outside a secret volume, group read is still worth a warning.
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("secret");
    std::fs::write(&plain, crate::reaper::SECRET).unwrap();
    std::fs::set_permissions(&plain, std::os::unix::fs::PermissionsExt::from_mode(0o440)).unwrap();
    rooms(plain.to_str().unwrap()).stderr_has("readable by group");
}

#[test]
fn connection_flags_are_global_and_a_flag_a_command_ignores_is_refused() {
    let sim = crate::reaper::basic();
    // --redis-url before the command, as README writes it: accepted (an unreachable Redis
    // is then a connection error, not a usage error).
    let run = Reaper::on(&sim)
        .args(["--redis-url", "redis://127.0.0.1:9", "rooms"])
        .run();
    assert_ne!(run.code, Some(2), "{run}");
    assert!(!run.stderr.contains("unexpected argument"), "{run}");
    for (args, flag) in [
        (&["demo", "--config", "x.toml"][..], "--config"),
        (&["--url", "http://127.0.0.1:9", "demo"], "--url"),
        (&["serve", "--exit-code"], "--exit-code"),
        (
            &["simulate", "--generate", "3", "--api-key", "k"],
            "--api-key",
        ),
        (&["completions", "bash", "--timeout", "5s"], "--timeout"),
    ] {
        Reaper::bare().args(args).run().one_line_error(2, flag);
    }
    // The same setting from the environment is for every command: never refused.
    Reaper::bare()
        .env("LK_REAPER_CONFIG", "/nonexistent.toml")
        .args(["completions", "bash"])
        .run()
        .ok();
}

#[test]
fn a_commands_help_lists_its_own_options_then_the_global_ones() {
    let run = Reaper::bare().args(["sweep", "--help"]).run().ok();
    let own = run.stdout.find("--dry-run").expect("sweep's own option");
    let heading = run
        .stdout
        .find("Global options:")
        .expect("a heading for the global ones");
    let global = run.stdout.find("--api-key").expect("a global option");
    assert!(own < heading && heading < global, "{run}");
}

#[test]
fn counts_of_one_are_singular_and_an_age_just_over_its_limit_says_so() {
    let sim = sim(scenario(
        json!([empty_room("lone", 3605, "")]),
        json!([{"egress_id": "EG_1", "room_name": "lone", "type": "room_composite",
                "status": "EGRESS_ACTIVE", "started_s_ago": 60}]),
    ));
    let run = Reaper::on(&sim)
        .args([
            "sweep",
            "--dry-run",
            "--humanless",
            "off",
            "--max-room-age",
            "1h",
        ])
        .run()
        .ok();
    assert!(
        run.stdout
            .contains("dry run: 2 actions planned, nothing changed (1 room, 1 egress scanned)"),
        "{run}"
    );
    assert!(
        run.stdout.contains("room age 1h 5s exceeds max 1h"),
        "{run}"
    );
    let run = Reaper::on(&sim)
        .args([
            "sweep",
            "--dry-run",
            "--humanless",
            "off",
            "--max-egress-age",
            "30s",
        ])
        .run()
        .ok();
    assert!(run.stdout.contains("dry run: 1 action planned"), "{run}");
}

/// A file of the checkout, as text.
fn repo_file(relative: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The lock file of each `flock -n PATH` in `text`.
fn lock_paths(text: &str) -> Vec<String> {
    text.replace("\\-", "-")
        .split("flock -n ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_docs_a_user_checks_out_agree_and_point_only_inside_the_checkout() {
    let readme = repo_file("README.md");
    let man = repo_file("man/lk-reaper.1");
    let mut locks = lock_paths(&readme);
    locks.extend(lock_paths(&man));
    locks.dedup();
    assert_eq!(locks.len(), 1, "one cron lock path: {locks:?}");
    assert!(
        !man.contains("lk\\-reaper\\-help(1)"),
        "no page for a help command"
    );
    assert!(!readme.contains("../shared"), "outside a user's checkout");
    assert!(readme.contains("(docs/scenario.md)"));
    let format = repo_file("docs/scenario.md");
    for key in [
        "age_s",
        "joined_s_ago",
        "started_s_ago",
        "faults",
        "events",
        "egress_page_size",
    ] {
        assert!(format.contains(key), "docs/scenario.md lacks {key}");
    }
    assert!(
        readme.contains("default `127.0.0.1:7880`"),
        "simulate's default port"
    );
    assert!(
        readme.contains("well-known development pair"),
        "snapshot's fixed keys"
    );
}

#[test]
fn minus_qq_logs_nothing_and_a_failed_run_still_says_why_in_one_line() {
    let mut no_egress = crate::harness::scenario("basic.json");
    no_egress["faults"] = json!([{"method": "ListEgress", "code": "internal",
                                  "msg": "egress not connected (redis required)", "times": 1000}]);
    let sim = sim(no_egress);
    let run = Reaper::on(&sim)
        .args(["-qq", "sweep", "--dry-run"])
        .run()
        .ok();
    assert_eq!(run.stderr, "", "{run}");
    Reaper::at("http://127.0.0.1:9")
        .args(["-qq", "sweep"])
        .run()
        .one_line_error(1, "could not reach");
    let help = Reaper::bare().args(["--help"]).run().ok();
    assert!(
        help.stdout.contains("a run that fails still says"),
        "{help}"
    );
}

#[test]
fn a_server_unreachable_at_a_url_from_the_config_file_names_the_file() {
    let (_dir, path) = policy_file("url = \"http://127.0.0.1:9\"\n");
    Reaper::bare()
        .env("LIVEKIT_API_KEY", "k")
        .env("LIVEKIT_API_SECRET", "s")
        .args(["--config", &path, "rooms"])
        .run()
        .one_line_error(1, &format!("comes from the config file {path}"));
}
