//! CI reports (issue #23): `-o junit` (one test case per room and egress in scope, the
//! offenders failing with their reason), read back with a real XML parser, and
//! `--summary-file` (a Markdown summary and table appended, as GitHub's
//! `$GITHUB_STEP_SUMMARY` wants).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::reaper::{Reaper, basic, scenario, sim};

/// A parsed JUnit document: suite -> case name -> the failure's (message, type, text), if any.
type Cases = BTreeMap<String, BTreeMap<String, Option<(String, String, String)>>>;

/// Parses `xml` strictly and checks that every count attribute adds up.
#[track_caller]
fn junit(xml: &str) -> Cases {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let count = |node: roxmltree::Node, attribute: &str| -> usize {
        node.attribute(attribute).unwrap().parse().unwrap()
    };
    let mut cases = Cases::new();
    let (mut tests, mut failures) = (0, 0);
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let name = suite.attribute("name").unwrap().to_owned();
        let mut found = BTreeMap::new();
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            let failure = case
                .children()
                .find(|n| n.has_tag_name("failure"))
                .map(|f| {
                    (
                        f.attribute("message").unwrap().to_owned(),
                        f.attribute("type").unwrap().to_owned(),
                        f.text().unwrap_or_default().to_owned(),
                    )
                });
            // A step's suite (`demo`) is "<step>: <kind>"; the class is always the kind.
            let kind = name.rsplit(": ").next().unwrap();
            assert_eq!(
                case.attribute("classname"),
                Some(format!("lk-reaper.{kind}").as_str())
            );
            found.insert(case.attribute("name").unwrap().to_owned(), failure);
        }
        let failed = found.values().filter(|f| f.is_some()).count();
        assert_eq!(count(suite, "tests"), found.len(), "{name}");
        assert_eq!(count(suite, "failures"), failed, "{name}");
        tests += found.len();
        failures += failed;
        cases.insert(name, found);
    }
    assert_eq!(count(root, "tests"), tests);
    assert_eq!(count(root, "failures"), failures);
    cases
}

/// The reason of each finding in a JSON report, by room name or egress id.
fn reasons(report: &Value) -> BTreeMap<String, String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let target = f["egress_id"].as_str().or(f["room"].as_str()).unwrap();
            (target.to_owned(), f["reason"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn sweep_junit_has_a_case_per_room_and_egress_and_fails_each_offender_with_its_reason() {
    let sim = basic();
    let json = Reaper::on(&sim)
        .args(["-o", "json", "sweep", "--dry-run"])
        .run()
        .ok()
        .json();
    let want = reasons(&json);
    let run = Reaper::on(&sim)
        .args(["-o", "junit", "sweep", "--dry-run", "--exit-code"])
        .run()
        .expect(3);
    let cases = junit(&run.stdout);
    let names = |suite: &str| cases[suite].keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names("rooms"),
        [
            "camera-feed",
            "just-created",
            "left-running",
            "phone-support",
            "standup"
        ]
    );
    assert_eq!(
        names("egresses"),
        ["EG_orphan", "EG_rec1", "EG_standup", "EG_web1"]
    );
    let mut failed = BTreeMap::new();
    for (name, failure) in cases.values().flatten() {
        if let Some((message, kind, text)) = failure {
            assert!(
                !kind.is_empty() && text.contains("result: planned"),
                "{text}"
            );
            failed.insert(name.clone(), message.clone());
        }
    }
    assert_eq!(
        failed, want,
        "the offenders, each with the JSON report's reason"
    );
    assert_eq!(failed.len(), 4);
    let (_, kind, text) = cases["rooms"]["left-running"].clone().unwrap();
    assert_eq!(kind, "humanless");
    assert!(text.contains("action: delete_room"), "{text}");

    // A real sweep: the same cases, the actions' results in the failures' text.
    let run = Reaper::on(&sim).args(["-o", "junit", "sweep"]).run().ok();
    let cases = junit(&run.stdout);
    let (_, _, text) = cases["egresses"]["EG_orphan"].clone().unwrap();
    assert!(text.contains("result: done"), "{text}");
}

#[test]
fn junit_escapes_whatever_a_room_name_holds() {
    let hostile = "a<b>&\"c'\u{1}\n]]><!--";
    let sim = sim(scenario(
        json!([{"name": hostile, "age_s": 3600, "participants": []},
               {"name": "fine", "age_s": 30, "participants": []}]),
        json!([]),
    ));
    let run = Reaper::on(&sim)
        .args(["-o", "junit", "sweep", "--dry-run"])
        .run()
        .ok();
    let cases = junit(&run.stdout);
    let rooms = &cases["rooms"];
    // XML 1.0 cannot carry U+0001 at all, even as a reference: it becomes U+FFFD.
    let shown = hostile.replace('\u{1}', "\u{FFFD}");
    let (message, _, _) = rooms[&shown].clone().expect("the hostile room offends");
    assert!(message.starts_with("no human present"), "{message}");
    assert_eq!(rooms["fine"], None);
}

#[test]
fn rooms_and_egress_views_render_junit_too() {
    let sim = basic();
    let rooms = junit(
        &Reaper::on(&sim)
            .args(["rooms", "-o", "junit"])
            .run()
            .ok()
            .stdout,
    );
    assert_eq!(rooms.keys().collect::<Vec<_>>(), ["rooms"]);
    assert_eq!(rooms["rooms"].len(), 5);
    let offenders: Vec<&String> = (rooms["rooms"].iter())
        .filter_map(|(name, f)| f.as_ref().map(|_| name))
        .collect();
    assert_eq!(offenders, ["camera-feed", "left-running"]);
    let egress = junit(
        &Reaper::on(&sim)
            .args(["egress", "-o", "junit"])
            .run()
            .ok()
            .stdout,
    );
    // The message is the finding's reason, as a sweep gives it, not just the rule's name.
    let sweep = Reaper::on(&sim)
        .args(["-o", "json", "sweep", "--dry-run"])
        .run()
        .ok()
        .json();
    let (message, kind, _) = egress["egresses"]["EG_orphan"].clone().unwrap();
    assert_eq!(message, reasons(&sweep)["EG_orphan"]);
    assert_ne!(message, "orphan_egress");
    assert_eq!(kind, "orphan_egress");
    assert_eq!(egress["egresses"]["EG_web1"], None);
}

#[test]
fn demo_junit_is_one_document_with_each_steps_suites() {
    let run = Reaper::bare().args(["-o", "junit", "demo"]).run().ok();
    let cases = junit(&run.stdout);
    let suites: Vec<&str> = cases.keys().map(String::as_str).collect();
    assert_eq!(
        suites,
        [
            "1. sweep --dry-run: egresses",
            "1. sweep --dry-run: rooms",
            "2. sweep: egresses",
            "2. sweep: rooms",
            "3. sweep --dry-run: egresses",
            "3. sweep --dry-run: rooms",
        ]
    );
    let failing = |suite: &str| -> Vec<&str> {
        (cases[suite].iter())
            .filter_map(|(name, f)| f.as_ref().map(|_| name.as_str()))
            .collect()
    };
    // The dry run and the sweep find the same offenders; the last look only the zombie.
    assert!(!failing("1. sweep --dry-run: rooms").is_empty());
    assert_eq!(
        failing("1. sweep --dry-run: rooms"),
        failing("2. sweep: rooms")
    );
    assert_eq!(failing("3. sweep --dry-run: rooms"), ["node-b-leftover"]);
    assert!(failing("3. sweep --dry-run: egresses").is_empty());
    // The narration went to stderr, out of the document's way.
    assert!(run.stderr.contains("lk-reaper demo:"), "{}", run.stderr);
}

#[test]
fn the_summary_file_gets_a_markdown_table_appended_per_run() {
    let sim = sim(scenario(
        json!([{"name": "pipe|<b>room</b>", "age_s": 3600, "participants": []},
               {"name": "fine", "age_s": 30, "participants": []}]),
        json!([]),
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.md");
    std::fs::write(&file, "# Earlier steps\n\n").unwrap();
    let path = file.to_str().unwrap();
    Reaper::on(&sim)
        .args(["sweep", "--dry-run", "--summary-file", path])
        .run()
        .ok();
    Reaper::on(&sim)
        .env("LK_REAPER_SUMMARY_FILE", path)
        .args(["rooms"])
        .run()
        .ok();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# Earlier steps\n\n### lk-reaper sweep --dry-run\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "**dry run: 1 action planned, nothing changed (2 rooms, 0 egresses scanned)**"
        ),
        "{text}"
    );
    assert!(
        text.contains("\n### lk-reaper rooms\n\n**1 of 2 rooms offend"),
        "{text}"
    );
    // Each table: a header, its rule, one row per offender; a pipe or a tag in a name
    // neither splits a cell nor renders as HTML.
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 6, "{text}");
    let cells: Vec<usize> = rows.iter().map(|r| r.split(" | ").count()).collect();
    assert_eq!(cells, [8, 8, 8, 7, 7, 7], "{text}");
    assert!(text.contains(r"pipe\|&lt;b&gt;room&lt;/b&gt;"), "{text}");
    assert!(!text.contains("<b>"), "{text}");
}

#[test]
fn a_run_that_cannot_report_says_why_in_the_summary_file() {
    let sim = basic();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.md");
    let path = file.to_str().unwrap();
    for command in ["sweep", "egress"] {
        Reaper::on(&sim)
            .env("LIVEKIT_API_SECRET", "wrong")
            .args([command, "--summary-file", path])
            .run()
            .expect(1);
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("### lk-reaper sweep\n\n**could not run:** "),
        "{text}"
    );
    assert!(
        text.contains("\n### lk-reaper egress\n\n**could not run:** "),
        "{text}"
    );
    // Markdown's `_` is escaped: it renders as LIVEKIT_API_KEY.
    assert!(
        text.contains(r"check LIVEKIT\_API\_KEY"),
        "the error names the remedy: {text}"
    );
}

#[test]
fn a_summary_file_in_a_missing_folder_is_a_usage_error_before_any_call() {
    let sim = basic();
    Reaper::on(&sim)
        .args(["sweep", "--summary-file", "/nonexistent/dir/summary.md"])
        .run()
        .one_line_error(
            2,
            "--summary-file /nonexistent/dir/summary.md: its folder does not exist",
        );
    assert_eq!(crate::reaper::mutations(&sim), (0, 0));
}

fn workflow() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/ci/staging-smoke-check.yml")
}

/// The example GitHub Actions workflow runs a dry run that fails on offenders, and writes
/// both reports, with a command line lk-reaper accepts.
#[test]
fn the_ci_example_runs_a_smoke_check_lk_reaper_accepts() {
    let text = std::fs::read_to_string(workflow()).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let steps = doc["jobs"]["leftovers"]["steps"].as_sequence().unwrap();
    let script = (steps.iter())
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("docker run")))
        .expect("a step that runs lk-reaper");
    let command = script.replace("\\\n", " ");
    let after_image = command.split("\"$LK_REAPER_IMAGE\"").nth(1).unwrap();
    let args: Vec<String> = (after_image.split_whitespace())
        .take_while(|a| *a != ">")
        .map(str::to_owned)
        .collect();
    crate::deploy::accepted("lk-reaper", &args);
    for wanted in ["junit", "--dry-run", "--exit-code", "--summary-file"] {
        assert!(args.iter().any(|a| a == wanted), "{wanted} in {args:?}");
    }
}

#[test]
#[ignore = "needs actionlint (scripts/install-test-deps)"]
fn actionlint_accepts_the_ci_example() {
    let out = std::process::Command::new(crate::tools::cached("actionlint"))
        .arg(workflow())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
