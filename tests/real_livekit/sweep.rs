//! End-to-end sweeps on the real server: rooms made with CreateRoom, participants joined by a
//! real client with each token kind, egress records written into the server's Redis as a
//! worker reports them (backdated), then `lk-reaper sweep -o json` judged against SPEC.md
//! and against what the server holds afterwards.
//!
//! Rooms cannot be backdated, so the humanless grace and room age limits are a few seconds
//! here. `num_participants` lags joins by up to ~9 s (FINDINGS.md), so a test waits for the
//! server's counts before it sweeps, unless the lag is the point.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::EgressStatus;
use serde_json::{Value, json};

use crate::harness::{LiveKit, Options, Participant, egress_record, eventually, run_reaper};
use crate::token::Identity;

/// The humanless grace the fleet tests pass; every fleet room is older when they sweep.
pub(crate) const GRACE: &str = "3s";
pub(crate) const GRACE_PLUS: Duration = Duration::from_secs(4);
/// How long ListRooms may take to show the counts of fresh joins (FINDINGS.md: ~9 s).
const COUNT_TIMEOUT: Duration = Duration::from_secs(20);

/// One `lk-reaper` run and its JSON report.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) doc: Value,
    stdout: String,
    pub(crate) stderr: String,
    pub(crate) took: Duration,
}

impl Run {
    /// The findings, in report order.
    pub(crate) fn findings(&self) -> &[Value] {
        self.doc["findings"].as_array().map_or(&[], Vec::as_slice)
    }

    /// Targets in report order: `room:NAME` for a room, the egress id for an egress.
    pub(crate) fn targets(&self) -> Vec<String> {
        self.findings().iter().map(target_of).collect()
    }

    /// The finding about `target` (see `targets`).
    #[track_caller]
    pub(crate) fn finding(&self, target: &str) -> &Value {
        self.findings()
            .iter()
            .find(|f| target_of(f) == target)
            .unwrap_or_else(|| panic!("no finding for {target}\n{self}"))
    }

    pub(crate) fn summary(&self) -> &Value {
        &self.doc["summary"]
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.took, self.stdout, self.stderr
        )
    }
}

fn target_of(finding: &Value) -> String {
    match finding["egress_id"].as_str() {
        Some(id) => id.to_owned(),
        None => format!("room:{}", finding["room"].as_str().unwrap_or_default()),
    }
}

/// Runs `lk-reaper sweep -o json ARGS` against `lk` and parses its report.
pub(crate) async fn sweep(lk: &LiveKit, args: &[&str]) -> Run {
    let mut all = vec!["sweep", "-o", "json"];
    all.extend_from_slice(args);
    let started = Instant::now();
    let (code, stdout, stderr) = run_reaper(lk, &all).await.unwrap();
    let took = started.elapsed();
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("`lk-reaper {}`: stdout is not JSON ({e})\nexit {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}", all.join(" "))
    });
    Run {
        code,
        doc,
        stdout,
        stderr,
        took,
    }
}

/// Asserts a finding's rules and action.
#[track_caller]
pub(crate) fn assert_verdict(run: &Run, target: &str, rules: &[&str], action: &str) {
    let f = run.finding(target);
    assert_eq!(
        (&f["rules"], f["action"].as_str()),
        (&json!(rules), Some(action)),
        "{target}: rules, action\n{run}"
    );
}

/// Asserts every finding's result: exactly these targets, each with its result.
#[track_caller]
pub(crate) fn assert_results(run: &Run, want: &[(&str, &str)]) {
    let got: BTreeMap<String, String> = run
        .findings()
        .iter()
        .map(|f| (target_of(f), f["result"].as_str().unwrap_or("?").to_owned()))
        .collect();
    let want: BTreeMap<String, String> = want
        .iter()
        .map(|(t, r)| ((*t).to_owned(), (*r).to_owned()))
        .collect();
    assert_eq!(got, want, "target -> result\n{run}");
}

/// Waits until ListRooms shows these `num_participants` (the server's count lags joins).
pub(crate) async fn wait_counts(lk: &LiveKit, want: &[(&str, u32)]) {
    let names: Vec<&str> = want.iter().map(|(n, _)| *n).collect();
    eventually("ListRooms counts", COUNT_TIMEOUT, || async {
        let rooms = lk.list_rooms(&names).await?;
        let ok = want.iter().all(|(name, n)| {
            rooms
                .iter()
                .any(|r| r.name == *name && r.num_participants == *n)
        });
        Ok(ok.then_some(()))
    })
    .await
    .unwrap();
}

/// Room names the server lists, sorted.
pub(crate) async fn room_names(lk: &LiveKit) -> Vec<String> {
    let mut names: Vec<String> = lk
        .list_rooms(&[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    names.sort();
    names
}

/// Every stored egress record (ended ones too): id -> status name.
async fn egress_statuses(lk: &LiveKit) -> BTreeMap<String, String> {
    lk.list_egress("", false)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let status = EgressStatus::try_from(e.status)
                .map_or_else(|_| e.status.to_string(), |s| s.as_str_name().to_owned());
            (e.egress_id, status)
        })
        .collect()
}

/// Joins everyone concurrently and waits until each is ACTIVE.
async fn join_all(lk: &LiveKit, who: &[(&str, Identity, bool)]) -> Vec<Participant> {
    let joins = who
        .iter()
        .map(|(room, id, audio)| async move { lk.join(room, id, *audio).await.unwrap() });
    let held = futures::future::join_all(joins).await;
    for (room, id, _) in who {
        lk.wait_active(room, &id.identity, Duration::from_secs(30))
            .await
            .unwrap();
    }
    held
}

/// The realistic fleet of SPEC.md's rules, settled and older than `GRACE`:
///
/// | room | who | verdict |
/// |---|---|---|
/// | standup | a standard human (publishing audio) and an agent | healthy |
/// | left-running | an agent and a hidden egress recorder | humanless |
/// | phone-support | a SIP caller | healthy (SIP is human) |
/// | sim-only | a standard participant with kind detail SIMULATION | humanless |
///
/// and these egress records (ages with `--max-egress-age 3h`):
///
/// | egress | room | status, age | verdict |
/// |---|---|---|---|
/// | EG_rec1 | left-running | ACTIVE, 2 h | humanless (its room) |
/// | EG_web1 | (web) | ACTIVE, 5 h | max_egress_age |
/// | EG_orphan | gone-yesterday | ACTIVE, 10 min | orphan_egress |
/// | EG_young_orphan | gone-now | ACTIVE, 30 s | under the 2m orphan grace |
/// | EG_standup | standup | ACTIVE, 1 min | healthy |
/// | EG_ending | left-running | ENDING, 4 h | already ending: not acted on |
/// | EG_done | standup | COMPLETE, 1 h | ended: not listed as active |
async fn fleet(lk: &LiveKit) -> Vec<Participant> {
    let created = Instant::now();
    for room in ["standup", "left-running", "phone-support", "sim-only"] {
        lk.create_room(room, 0, 0, "").await.unwrap();
    }
    let recorder = Identity::of_kind("EG_rec1", "egress")
        .with_video(&json!({"hidden": true, "recorder": true}));
    let held = join_all(
        lk,
        &[
            ("standup", Identity::standard("alice"), true),
            ("standup", Identity::of_kind("agent-1", "agent"), false),
            ("left-running", Identity::of_kind("agent-2", "agent"), false),
            ("left-running", recorder, false),
            (
                "phone-support",
                Identity::of_kind("sip_+15550100", "sip"),
                false,
            ),
            (
                "sim-only",
                Identity::standard("sim-user").with_detail("simulation"),
                false,
            ),
        ],
    )
    .await;
    let records = [
        (
            "EG_rec1",
            "left-running",
            "room_composite",
            EgressStatus::EgressActive,
            7200,
        ),
        ("EG_web1", "", "web", EgressStatus::EgressActive, 5 * 3600),
        (
            "EG_orphan",
            "gone-yesterday",
            "room_composite",
            EgressStatus::EgressActive,
            600,
        ),
        (
            "EG_young_orphan",
            "gone-now",
            "track",
            EgressStatus::EgressActive,
            30,
        ),
        (
            "EG_standup",
            "standup",
            "participant",
            EgressStatus::EgressActive,
            60,
        ),
        (
            "EG_ending",
            "left-running",
            "room_composite",
            EgressStatus::EgressEnding,
            4 * 3600,
        ),
        (
            "EG_done",
            "standup",
            "room_composite",
            EgressStatus::EgressComplete,
            3600,
        ),
    ];
    for (id, room, kind, status, age) in records {
        lk.put_egress(&egress_record(id, room, kind, status, age))
            .unwrap();
    }
    // Agents and egress recorders are not counted; SIP and SIMULATION participants are.
    wait_counts(
        lk,
        &[
            ("standup", 1),
            ("left-running", 0),
            ("phone-support", 1),
            ("sim-only", 1),
        ],
    )
    .await;
    tokio::time::sleep(GRACE_PLUS.saturating_sub(created.elapsed())).await;
    held
}

/// The verdicts SPEC.md gives the fleet: each finding with its rules, action and target,
/// oldest first; healthy rooms and young, ended or ending egresses absent.
#[track_caller]
fn assert_fleet_verdicts(run: &Run) {
    assert_eq!(
        run.targets(),
        [
            "EG_web1",
            "EG_rec1",
            "room:left-running",
            "EG_orphan",
            "room:sim-only"
        ],
        "findings, oldest first (a room's egress stops right before its deletion)\n{run}"
    );
    assert_verdict(run, "EG_web1", &["max_egress_age"], "stop_egress");
    assert_verdict(run, "EG_rec1", &["humanless"], "stop_egress");
    assert_verdict(run, "EG_orphan", &["orphan_egress"], "stop_egress");
    for room in ["room:left-running", "room:sim-only"] {
        assert_verdict(run, room, &["humanless"], "delete_room");
        let f = run.finding(room);
        assert_eq!(f["target"], "room", "{room}\n{run}");
        assert_eq!(f["humans"], 0, "{room}: humans\n{run}");
        assert!(
            f["room_sid"].as_str().is_some_and(|s| s.starts_with("RM_")),
            "{room}: room_sid\n{run}"
        );
    }
    // A count of 0 is never trusted (it lags joins): the agent-only room is listed too, so
    // its agent and hidden recorder are counted as others, as in the SIMULATION room.
    let left = run.finding("room:left-running");
    assert_eq!(left["others"], 2, "left-running: others\n{run}");
    let sim = run.finding("room:sim-only");
    assert_eq!(sim["others"], 1, "sim-only: others\n{run}");
    assert_eq!(
        run.finding("EG_web1")["room"],
        Value::Null,
        "web egress has no room"
    );
    assert!(
        run.finding("EG_web1")["age_s"]
            .as_u64()
            .is_some_and(|a| (5 * 3600..5 * 3600 + 120).contains(&a)),
        "EG_web1: age_s read from started_at (ns)\n{run}"
    );
    assert_eq!(run.doc["rooms_scanned"], 5, "rooms_scanned\n{run}");
    assert_eq!(
        run.doc["egresses_scanned"], 6,
        "egresses_scanned: ListEgress active=true keeps STARTING, ACTIVE, ENDING\n{run}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn dry_run_shows_the_spec_verdicts_and_changes_nothing() {
    let test = "dry_run_shows_the_spec_verdicts_and_changes_nothing";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let _held = fleet(&lk).await;
    // Younger than the grace: an empty room is not humanless yet.
    lk.create_room("just-created", 0, 0, "").await.unwrap();
    let rooms_before = room_names(&lk).await;
    let egress_before = egress_statuses(&lk).await;

    let args = [
        "--dry-run",
        "--humanless-grace",
        GRACE,
        "--max-egress-age",
        "3h",
    ];
    let run = sweep(&lk, &args).await;
    assert_eq!(run.code, 0, "a dry run exits 0\n{run}");
    assert_eq!(run.doc["dry_run"], true);
    assert_fleet_verdicts(&run);
    assert_results(
        &run,
        &[
            ("EG_web1", "planned"),
            ("EG_rec1", "planned"),
            ("EG_orphan", "planned"),
            ("room:left-running", "planned"),
            ("room:sim-only", "planned"),
        ],
    );
    assert_eq!(
        run.summary(),
        &json!({"planned": 5, "done": 0, "already_gone": 0, "skipped": 0, "zombie": 0, "failed": 0}),
        "{run}"
    );
    assert!(run.findings().iter().all(|f| f["error"].is_null()), "{run}");
    assert_eq!(run.doc["warnings"], json!([]), "{run}");

    let with_exit_code = sweep(&lk, &[&args[..], &["--exit-code"]].concat()).await;
    assert_eq!(
        with_exit_code.code, 3,
        "--exit-code with offenders\n{with_exit_code}"
    );

    assert_eq!(
        room_names(&lk).await,
        rooms_before,
        "a dry run deletes no room"
    );
    assert_eq!(
        egress_statuses(&lk).await,
        egress_before,
        "a dry run stops no egress"
    );
    assert_eq!(
        lk.list_participants("standup").await.unwrap().len(),
        2,
        "standup keeps its people"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn sweep_deletes_humanless_rooms_and_reports_zombie_egress_as_failed() {
    let test = "sweep_deletes_humanless_rooms_and_reports_zombie_egress_as_failed";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let _held = fleet(&lk).await;
    lk.create_room("just-created", 0, 0, "").await.unwrap();
    let egress_before = egress_statuses(&lk).await;

    let run = sweep(&lk, &["--humanless-grace", GRACE, "--max-egress-age", "3h"]).await;
    assert_eq!(run.code, 4, "zombie stops failed: exit 4\n{run}");
    assert_eq!(run.doc["dry_run"], false);
    assert_fleet_verdicts(&run);
    // The stops of zombie records fail, and the humanless room is deleted all the same.
    assert_results(
        &run,
        &[
            ("EG_web1", "failed"),
            ("EG_rec1", "failed"),
            ("EG_orphan", "failed"),
            ("room:left-running", "done"),
            ("room:sim-only", "done"),
        ],
    );
    for zombie in ["EG_web1", "EG_rec1", "EG_orphan"] {
        let error = run.finding(zombie)["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("deadline_exceeded") && error.contains(zombie),
            "{zombie}: the error names the zombie answer and the egress\n{run}"
        );
    }
    assert_eq!(
        run.summary(),
        &json!({"planned": 0, "done": 2, "already_gone": 0, "skipped": 0, "zombie": 0, "failed": 3}),
        "{run}"
    );
    // Each zombie StopEgress takes 3 s on the server; one after another would take 9 s.
    assert!(
        run.took < Duration::from_secs(8),
        "the three zombie stops ran concurrently\n{run}"
    );
    assert_eq!(
        room_names(&lk).await,
        ["just-created", "phone-support", "standup"],
        "the humanless rooms are gone, the human ones stay"
    );
    assert_eq!(
        egress_statuses(&lk).await,
        egress_before,
        "a failed stop changes no stored record"
    );
    assert_eq!(lk.list_participants("standup").await.unwrap().len(), 2);
}

/// A humanless room whose job a `--concurrency 1` sweep runs first and that holds the sweep
/// for 3 s per zombie record (StopEgress with no worker always takes 3 s): the window in
/// which a test changes the server between the inventory and the later actions. The
/// zombies are older than anything else, so their room's job runs first.
pub(crate) async fn holding_room(lk: &LiveKit, zombies: usize) {
    lk.create_room("hold", 0, 0, "").await.unwrap();
    for i in 0..zombies {
        let id = format!("EG_hold{i}");
        let age = 20_000 + i as i64;
        lk.put_egress(&egress_record(
            &id,
            "hold",
            "room_composite",
            EgressStatus::EgressActive,
            age,
        ))
        .unwrap();
    }
}

/// When a test acts inside the holding window: well after the inventory (a few calls, tens
/// of milliseconds) and well before the first zombie stop returns (3 s).
pub(crate) const IN_THE_WINDOW: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn a_human_who_joins_during_the_sweep_saves_the_room() {
    let test = "a_human_who_joins_during_the_sweep_saves_the_room";
    let lk = LiveKit::start_for(test, Options::default()).await;
    holding_room(&lk, 2).await;
    lk.create_room("late", 0, 0, "").await.unwrap();
    tokio::time::sleep(GRACE_PLUS).await;

    let args = ["--concurrency", "1", "--humanless-grace", GRACE];
    let (run, carol) = tokio::join!(sweep(&lk, &args), async {
        tokio::time::sleep(IN_THE_WINDOW).await;
        lk.join("late", &Identity::standard("carol"), true)
            .await
            .unwrap()
    });
    assert_eq!(
        run.targets(),
        ["EG_hold1", "EG_hold0", "room:hold", "room:late"],
        "the holding room's job runs first\n{run}"
    );
    assert_results(
        &run,
        &[
            ("EG_hold0", "failed"),
            ("EG_hold1", "failed"),
            ("room:hold", "done"),
            ("room:late", "skipped_recheck"),
        ],
    );
    let late = run.finding("room:late");
    assert_eq!(late["humans"], 0, "the inventory saw no human\n{run}");
    assert!(
        late["error"].as_str().is_some_and(|e| e.contains("carol")),
        "the skip names who is there now\n{run}"
    );
    assert_eq!(run.code, 4, "the zombie stops failed\n{run}");
    assert!(
        run.took >= Duration::from_secs(6),
        "two zombie stops ran one after the other before the late room's re-check\n{run}"
    );
    assert_eq!(
        room_names(&lk).await,
        ["late"],
        "late was saved, hold deleted"
    );
    let present = lk.list_participants("late").await.unwrap();
    assert!(present.iter().any(|p| p.identity == carol.identity));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn what_ended_or_came_back_after_the_inventory_is_not_a_failure() {
    let test = "what_ended_or_came_back_after_the_inventory_is_not_a_failure";
    let lk = LiveKit::start_for(test, Options::default()).await;
    holding_room(&lk, 1).await;
    lk.create_room("doomed", 0, 0, "").await.unwrap();
    let web = |status| egress_record("EG_web_late", "", "web", status, 15_000);
    lk.put_egress(&web(EgressStatus::EgressActive)).unwrap();
    let orphan = egress_record(
        "EG_orphan_back",
        "reborn",
        "room_composite",
        EgressStatus::EgressActive,
        10_000,
    );
    lk.put_egress(&orphan).unwrap();
    tokio::time::sleep(GRACE_PLUS).await;

    let args = [
        "--concurrency",
        "1",
        "--humanless-grace",
        GRACE,
        "--max-egress-age",
        "3h",
    ];
    let (run, ()) = tokio::join!(sweep(&lk, &args), async {
        tokio::time::sleep(IN_THE_WINDOW).await;
        // The web egress ends, someone else deletes `doomed`, the orphan's room is made again.
        lk.put_egress(&web(EgressStatus::EgressComplete)).unwrap();
        lk.delete_room("doomed").await.unwrap();
        lk.create_room("reborn", 0, 0, "").await.unwrap();
    });
    assert_eq!(
        run.targets(),
        [
            "EG_hold0",
            "room:hold",
            "EG_web_late",
            "EG_orphan_back",
            "room:doomed"
        ],
        "{run}"
    );
    assert_verdict(&run, "EG_web_late", &["max_egress_age"], "stop_egress");
    assert_verdict(&run, "EG_orphan_back", &["orphan_egress"], "stop_egress");
    assert_verdict(&run, "room:doomed", &["humanless"], "delete_room");
    // SPEC.md, Safety: an egress already ended (failed_precondition) and a room already gone
    // (not_found) count as already_gone; an orphan whose room exists again is skipped.
    assert_results(
        &run,
        &[
            ("EG_hold0", "failed"),
            ("room:hold", "done"),
            ("EG_web_late", "already_gone"),
            ("EG_orphan_back", "skipped_recheck"),
            ("room:doomed", "already_gone"),
        ],
    );
    for target in ["EG_web_late", "room:doomed"] {
        assert!(run.finding(target)["error"].is_null(), "{target}\n{run}");
    }
    assert_eq!(
        run.summary(),
        &json!({"planned": 0, "done": 1, "already_gone": 2, "skipped": 1, "zombie": 0, "failed": 1}),
        "{run}"
    );
    assert_eq!(run.code, 4, "only the zombie stop failed\n{run}");
    assert_eq!(room_names(&lk).await, ["reborn"]);
}

/// Right after a human joins, ListRooms still counts 0 (for ~4-9 s). The reaper does not
/// trust that count: it lists the participants of every room a rule may act on, and lists
/// them again right before acting, which must catch a human the first list missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn a_human_the_room_count_does_not_show_yet_saves_the_room() {
    let test = "a_human_the_room_count_does_not_show_yet_saves_the_room";
    let lk = LiveKit::start_for(test, Options::default()).await;
    lk.create_room("quiet", 0, 0, "").await.unwrap();
    tokio::time::sleep(GRACE_PLUS).await;
    let _dave = join_all(&lk, &[("quiet", Identity::standard("dave"), true)]).await;

    let count = lk.list_rooms(&["quiet"]).await.unwrap()[0].num_participants;
    let dry = sweep(&lk, &["--dry-run", "--humanless-grace", GRACE]).await;
    let run = sweep(&lk, &["--humanless-grace", GRACE]).await;
    visible!(
        "FINDING dry run right after a human joined (ListRooms count {count}): findings {:?}, humans {}",
        dry.targets(),
        dry.findings()
            .first()
            .map_or(Value::Null, |f| f["humans"].clone())
    );
    assert_eq!(run.code, 0, "{run}");
    // Whether or not the count had caught up, the room with a human is never deleted.
    for f in run.findings() {
        assert_eq!(
            (target_of(f).as_str(), f["result"].as_str()),
            ("room:quiet", Some("skipped_recheck")),
            "{run}"
        );
    }
    assert_eq!(room_names(&lk).await, ["quiet"]);
    assert_eq!(lk.list_participants("quiet").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn max_room_age_deletes_a_room_with_a_human() {
    let test = "max_room_age_deletes_a_room_with_a_human";
    let lk = LiveKit::start_for(test, Options::default()).await;
    lk.create_room("long-call", 0, 0, "").await.unwrap();
    let created = Instant::now();
    let _erin = join_all(&lk, &[("long-call", Identity::standard("erin"), true)]).await;
    wait_counts(&lk, &[("long-call", 1)]).await;
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(created.elapsed())).await;
    // Younger than the limit, and under the default 5m humanless grace: untouched.
    lk.create_room("fresh", 0, 0, "").await.unwrap();

    let run = sweep(&lk, &["--max-room-age", "2s"]).await;
    assert_eq!(run.targets(), ["room:long-call"], "{run}");
    assert_verdict(&run, "room:long-call", &["max_room_age"], "delete_room");
    assert_results(&run, &[("room:long-call", "done")]);
    let f = run.finding("room:long-call");
    assert_eq!(
        f["humans"], 1,
        "a human was there, and it did not matter\n{run}"
    );
    assert!(f["age_s"].as_u64().is_some_and(|a| a >= 2), "{run}");
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(room_names(&lk).await, ["fresh"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn without_redis_rooms_are_swept_and_a_warning_says_egress_was_not_checked() {
    let test = "without_redis_rooms_are_swept_and_a_warning_says_egress_was_not_checked";
    let lk = LiveKit::start_for(test, Options { redis: false }).await;
    lk.create_room("empty", 0, 0, "").await.unwrap();
    lk.create_room("meeting", 0, 0, "").await.unwrap();
    let _frank = join_all(&lk, &[("meeting", Identity::standard("frank"), true)]).await;
    wait_counts(&lk, &[("meeting", 1)]).await;

    let run = sweep(&lk, &["--humanless-grace", "1s"]).await;
    assert_eq!(
        run.code, 0,
        "the warning does not change the exit code\n{run}"
    );
    assert_eq!(run.targets(), ["room:empty"], "{run}");
    assert_results(&run, &[("room:empty", "done")]);
    // Without Redis neither egress nor ingress is served: one warning each, nothing more.
    let warnings = run.doc["warnings"].as_array().cloned().unwrap_or_default();
    let says = |i: usize, what: &str| {
        warnings[i]
            .as_str()
            .is_some_and(|w| w.contains(&format!("{what} was not checked")) && w.contains("redis"))
    };
    assert!(
        warnings.len() == 2 && says(0, "egress") && says(1, "ingress"),
        "one warning each in JSON, beside summary\n{run}"
    );
    for what in ["egress", "ingress"] {
        assert!(
            run.stderr.contains(&format!("{what} was not checked")),
            "the warning on stderr\n{run}"
        );
    }
    assert_eq!(run.doc["egresses_scanned"], 0, "{run}");
    assert_eq!(room_names(&lk).await, ["meeting"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn a_wrong_secret_exits_1_and_never_shows_a_secret_or_token() {
    let test = "a_wrong_secret_exits_1_and_never_shows_a_secret_or_token";
    let lk = LiveKit::start_for(test, Options::default()).await;
    lk.create_room("any", 0, 0, "").await.unwrap();
    let wrong = "not-the-secret-Zq81xv";
    for output in ["json", "table"] {
        let args = ["sweep", "--dry-run", "-o", output, "--api-secret", wrong];
        let (code, stdout, stderr) = run_reaper(&lk, &args).await.unwrap();
        let shown = format!("exit {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        assert_eq!(code, 1, "{shown}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line on stderr\n{shown}");
        assert!(
            lines[0].contains("authentication") && lines[0].contains("LIVEKIT_API_SECRET"),
            "{shown}"
        );
        for leak in [wrong, "eyJ"] {
            assert!(
                !stdout.contains(leak) && !stderr.contains(leak),
                "{leak:?} shown\n{shown}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn exit_codes_3_for_offenders_with_exit_code_and_5_when_refused() {
    let test = "exit_codes_3_for_offenders_with_exit_code_and_5_when_refused";
    let lk = LiveKit::start_for(test, Options::default()).await;
    lk.create_room("idle", 0, 0, "").await.unwrap();
    // Under the default 5m grace the empty room is healthy; with no grace it offends.
    let none = sweep(&lk, &["--dry-run", "--exit-code"]).await;
    assert_eq!((none.code, none.findings().len()), (0, 0), "{none}");
    let plain = sweep(&lk, &["--dry-run", "--humanless-grace", "0s"]).await;
    assert_eq!(
        (plain.code, plain.targets()),
        (0, vec!["room:idle".into()]),
        "{plain}"
    );
    let some = sweep(
        &lk,
        &["--dry-run", "--exit-code", "--humanless-grace", "0s"],
    )
    .await;
    assert_eq!(some.code, 3, "{some}");
    // The circuit breaker: more actions than allowed, so none is taken (exit 5).
    let refused = sweep(&lk, &["--humanless-grace", "0s", "--max-actions", "0"]).await;
    assert_eq!(refused.code, 5, "{refused}");
    assert_results(&refused, &[("room:idle", "planned")]);
    assert!(
        refused.doc["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("--max-actions")),
        "{refused}"
    );
    assert_eq!(room_names(&lk).await, ["idle"]);
}

/// SPEC.md: "`sweep --dry-run` and `rooms` use the same evaluation, so what the dry run
/// shows is exactly what a real sweep would do at that moment". Right after a human joins
/// a room whose ListRooms count is still 0 (it lags joins by ~4-9 s), the dry run must
/// not plan to delete it: the count alone is never trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn dry_run_agrees_with_rooms_right_after_a_human_joins() {
    let test = "dry_run_agrees_with_rooms_right_after_a_human_joins";
    let lk = LiveKit::start_for(test, Options::default()).await;
    lk.create_room("quiet", 0, 0, "").await.unwrap();
    tokio::time::sleep(GRACE_PLUS).await;
    let _dave = join_all(&lk, &[("quiet", Identity::standard("dave"), true)]).await;

    let args = ["-o", "json", "--humanless-grace", GRACE];
    let (code, rooms, stderr) = run_reaper(&lk, &[&["rooms"], &args[..]].concat())
        .await
        .unwrap();
    let dry = sweep(&lk, &["--dry-run", "--humanless-grace", GRACE]).await;
    let rooms: Value = serde_json::from_str(&rooms)
        .unwrap_or_else(|e| panic!("rooms: exit {code} ({e})\n{rooms}\n{stderr}"));
    let quiet = &rooms["rooms"][0];
    assert_eq!(
        (quiet["humans"].as_u64(), quiet["verdict"].as_str()),
        (Some(1), Some("healthy")),
        "`rooms` sees dave\n{rooms:#}"
    );
    assert_eq!(
        dry.targets(),
        Vec::<String>::new(),
        "the dry run must not plan to delete a room with an ACTIVE human (`rooms` said healthy)\n{dry}"
    );
}

/// Issue #15 on the real server: phone legs joined with the `sip.callStatus` attribute in
/// their token, as LiveKit's SIP service sets it. A call that hung up is no human: its room
/// is swept (the recording's stop fails, a zombie record without a worker, and the room is
/// deleted all the same); a live call keeps its room and recording; a call ringing past
/// `--sip-ring-limit` is no human either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real LiveKit server; scripts/test runs it"]
async fn a_phone_call_that_hung_up_is_no_human_and_a_live_one_is() {
    let test = "a_phone_call_that_hung_up_is_no_human_and_a_live_one_is";
    let lk = LiveKit::start_for(test, Options::default()).await;
    let created = Instant::now();
    for room in ["call-ended", "call-live", "call-ringing"] {
        lk.create_room(room, 0, 0, "").await.unwrap();
    }
    let phone = |identity: &str, status: &str| {
        Identity::of_kind(identity, "sip").with_attributes(&json!({
            "sip.callStatus": status,
            "sip.phoneNumber": identity.trim_start_matches("sip_"),
        }))
    };
    let _held = join_all(
        &lk,
        &[
            ("call-ended", phone("sip_+15550111", "hangup"), false),
            ("call-live", phone("sip_+15550112", "active"), false),
            ("call-ringing", phone("sip_+15550113", "ringing"), false),
        ],
    )
    .await;
    let listed = lk.list_participants("call-ended").await.unwrap();
    assert_eq!(
        (
            listed[0].kind,
            listed[0]
                .attributes
                .get("sip.callStatus")
                .map(String::as_str)
        ),
        (proto::participant_info::Kind::Sip as i32, Some("hangup")),
        "the server lists the token's kind and attributes: {listed:?}"
    );
    for (id, room) in [
        ("EG_call_ended", "call-ended"),
        ("EG_call_live", "call-live"),
    ] {
        let record = egress_record(id, room, "room_composite", EgressStatus::EgressActive, 600);
        lk.put_egress(&record).unwrap();
    }
    // SIP participants are counted, whatever their call status.
    wait_counts(
        &lk,
        &[("call-ended", 1), ("call-live", 1), ("call-ringing", 1)],
    )
    .await;
    tokio::time::sleep(GRACE_PLUS.saturating_sub(created.elapsed())).await;
    let args = ["--humanless-grace", GRACE];

    let dry = sweep(&lk, &[&["--dry-run"], &args[..]].concat()).await;
    assert_eq!(
        dry.targets(),
        ["EG_call_ended", "room:call-ended"],
        "under the default 5m ring limit only the hung-up call is no human\n{dry}"
    );
    assert_eq!(
        dry.finding("room:call-ended")["reason"],
        format!("no human present (1 sip: call hangup); room older than {GRACE}"),
        "{dry}"
    );

    let run = sweep(&lk, &[&args[..], &["--sip-ring-limit", "1s"]].concat()).await;
    assert_eq!(
        run.targets(),
        ["EG_call_ended", "room:call-ended", "room:call-ringing"],
        "{run}"
    );
    assert_verdict(&run, "room:call-ended", &["humanless"], "delete_room");
    assert_verdict(&run, "EG_call_ended", &["humanless"], "stop_egress");
    let ringing = run.finding("room:call-ringing")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        ringing.starts_with("no human present (1 sip: ringing "),
        "{run}"
    );
    assert_results(
        &run,
        &[
            ("EG_call_ended", "failed"),
            ("room:call-ended", "done"),
            ("room:call-ringing", "done"),
        ],
    );
    assert!(
        run.finding("EG_call_ended")["error"]
            .as_str()
            .is_some_and(|e| e.contains("deadline_exceeded")),
        "a zombie record: no egress worker answers\n{run}"
    );
    assert_eq!(run.code, 4, "the zombie stop failed\n{run}");
    assert_eq!(room_names(&lk).await, ["call-live"], "the live call stays");
    assert_eq!(
        egress_statuses(&lk)
            .await
            .get("EG_call_live")
            .map(String::as_str),
        Some("EGRESS_ACTIVE"),
        "the live call's recording is untouched"
    );
    assert_eq!(lk.list_participants("call-live").await.unwrap().len(), 1);
}
