//! Metrics where operators watch them (issue #23): the alert rules and the Grafana dashboard
//! in deploy/prometheus/ name only metrics lk-reaper exports, promtool checks and unit-tests
//! the rules, a real Pushgateway receives a sweep's metrics, and a real Prometheus scrapes
//! `serve` and evaluates the rules on what it scraped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::Value;

use crate::loopback::Server;
use crate::reaper::{Reaper, basic};
use crate::serve::{Serve, act, blocking, fleet, free_port, until};
use crate::tools;

fn deploy(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/prometheus")
        .join(file)
}

fn read(file: &str) -> String {
    std::fs::read_to_string(deploy(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The series names an exposition declares (`# TYPE` lines), as Prometheus stores them:
/// a counter's samples end in `_total`, a histogram's in `_bucket`, `_sum` and `_count`.
fn declared(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
        let suffixes: &[&str] = match kind {
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_sum", "_count"],
            _ => &[""],
        };
        names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
    }
    names
}

/// Every `lk_reaper_*` name in `text`.
fn named(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("lk_reaper_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// The `expr` of every rule in alerts.yaml, by alert name.
fn alert_rules() -> BTreeMap<String, String> {
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(&read("alerts.yaml")).unwrap();
    let mut out = BTreeMap::new();
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            out.insert(
                rule["alert"].as_str().unwrap().to_owned(),
                rule["expr"].as_str().unwrap().to_owned(),
            );
        }
    }
    out
}

/// The names a sweep's metrics file and `serve`'s /metrics declare, from real runs: a
/// webhook verified, one refused, a room checked and ended, so every family has a series.
fn exported() -> BTreeSet<String> {
    let sim = basic();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lk.prom");
    Reaper::on(&sim)
        .args([
            "sweep",
            "--dry-run",
            "--metrics-file",
            file.to_str().unwrap(),
        ])
        .run()
        .ok();
    let mut names = declared(&std::fs::read_to_string(&file).unwrap());
    let port = free_port();
    let sim = fleet(port, &[]);
    let serve = Serve::start(&sim, port, &["--humanless-grace", "1s"]);
    act(&sim, "leave", "room=r2&identity=bob");
    let unsigned = blocking(|c| {
        c.post(format!("http://127.0.0.1:{port}/webhook"))
            .body("{}")
    });
    assert_eq!(unsigned.0, 401);
    let checked = until(Duration::from_secs(20), || {
        serve
            .get("/metrics")
            .1
            .contains("lk_reaper_actions_taken_total{result=\"done\"} 1")
    });
    let (status, text) = serve.get("/metrics");
    assert!(
        checked.is_some() && status == 200,
        "no action after the webhook:\n{text}"
    );
    names.extend(declared(&text));
    names
}

#[test]
fn alerts_and_dashboard_name_only_metrics_lk_reaper_exports() {
    let exported = exported();
    for family in [
        "webhooks_received_total",
        "checks_total",
        "trigger_to_action_seconds_bucket",
    ] {
        assert!(
            exported.contains(&format!("lk_reaper_{family}")),
            "{exported:?}"
        );
    }
    let rules = alert_rules();
    let dashboard: Value = serde_json::from_str(&read("grafana-dashboard.json")).unwrap();
    let mut exprs: Vec<(String, String)> = rules
        .iter()
        .map(|(alert, expr)| (format!("alert {alert}"), expr.clone()))
        .collect();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let title = format!("panel {}", panel["title"]);
            exprs.push((title, target["expr"].as_str().unwrap().to_owned()));
        }
    }
    exprs.push(("alerts.test.yaml".into(), read("alerts.test.yaml")));
    for (place, expr) in &exprs {
        let names = named(expr);
        assert!(
            !names.is_empty() || place.starts_with("panel"),
            "{place}: {expr}"
        );
        let unknown: Vec<&String> = names.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{place} names {unknown:?}, which lk-reaper does not export"
        );
    }
    let panels = exprs.iter().filter(|(p, _)| p.starts_with("panel")).count();
    assert!(panels >= 10, "{panels} dashboard queries");

    // Every alert has a promtool unit test.
    let tests: serde_yaml_ng::Value = serde_yaml_ng::from_str(&read("alerts.test.yaml")).unwrap();
    let tested: BTreeSet<&str> = (tests["tests"].as_sequence().unwrap().iter())
        .flat_map(|t| t["alert_rule_test"].as_sequence().unwrap())
        .map(|t| t["alertname"].as_str().unwrap())
        .collect();
    let alerts: BTreeSet<&str> = rules.keys().map(String::as_str).collect();
    assert_eq!(tested, alerts);
}

/// Runs `program` with `args` in deploy/prometheus/ and expects success.
#[track_caller]
fn succeeds(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(deploy(""))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} {args:?}: {}\n{text}",
        program.display(),
        out.status
    );
    text
}

#[test]
#[ignore = "needs promtool (Debian package prometheus; scripts/install-test-deps)"]
fn promtool_checks_the_alert_rules_and_passes_their_unit_tests() {
    let promtool = tools::debian("promtool", "prometheus");
    let checked = succeeds(&promtool, &["check", "rules", "alerts.yaml"]);
    let rules = alert_rules().len();
    assert!(
        checked.contains(&format!("SUCCESS: {rules} rules found")),
        "{checked}"
    );
    let tested = succeeds(&promtool, &["test", "rules", "alerts.test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
    // The unit tests can fail: one that expects the wrong alert does.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(deploy("alerts.yaml"), dir.path().join("alerts.yaml")).unwrap();
    let wrong = read("alerts.test.yaml").replacen("instance: cron}", "instance: other}", 1);
    std::fs::write(dir.path().join("wrong.test.yaml"), wrong).unwrap();
    let out = Command::new(&promtool)
        .args(["test", "rules", "wrong.test.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "a wrong expectation must fail");
}

/// A child process killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program` with `args` and waits (at most 30 s) until `http://127.0.0.1:port/-/ready`
/// answers 200.
#[track_caller]
fn daemon(program: &Path, args: &[String], port: u16) -> Daemon {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let daemon = Daemon(child);
    let up = until(Duration::from_secs(30), || ready(port));
    assert!(
        up.is_some(),
        "{} did not get ready on port {port}",
        program.display()
    );
    daemon
}

/// Whether `GET /-/ready` on `port` answers 200 (a refused connection is a no).
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut answer = String::new();
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let asked = stream.write_all(b"GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    asked.is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && (answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"))
}

/// The Pushgateway's samples: metric name -> (labels, value).
fn pushed(port: u16) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let (status, text) = blocking(|client| client.get(format!("http://127.0.0.1:{port}/metrics")));
    assert_eq!(status, 200);
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    scrape
        .samples
        .into_iter()
        .filter(|s| s.metric.starts_with("lk_reaper_"))
        .map(|s| {
            let value = match s.value {
                Sample::Gauge(v) | Sample::Counter(v) | Sample::Untyped(v) => v,
                other => panic!("unexpected sample {other:?}"),
            };
            let labels = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (s.metric, labels, value)
        })
        .collect()
}

/// The value of `metric` in the group whose shard label is `shard` (none: no label).
#[track_caller]
fn in_group(
    samples: &[(String, BTreeMap<String, String>, f64)],
    metric: &str,
    shard: Option<&str>,
) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|(name, labels, _)| {
            name == metric
                && labels.get("job").map(String::as_str) == Some("lk-reaper")
                && labels.get("shard").map(String::as_str) == shard
        })
        .map(|(_, _, v)| *v)
        .collect();
    match found[..] {
        [value] => value,
        _ => panic!("{metric} (shard {shard:?}): {found:?} in {samples:?}"),
    }
}

#[test]
#[ignore = "needs prometheus-pushgateway (Debian package; scripts/install-test-deps)"]
// Gauges carried over verbatim: exact comparison is what is meant.
#[allow(clippy::float_cmp)]
fn a_sweep_pushes_its_metrics_to_a_real_pushgateway_per_shard() {
    let binary = tools::debian("prometheus-pushgateway", "prometheus-pushgateway");
    let port = free_port();
    let _gateway = daemon(
        &binary,
        &[format!("--web.listen-address=127.0.0.1:{port}")],
        port,
    );
    let sim = basic();
    // Credentials in the URL go out as basic auth and are never printed.
    let url = format!("http://pusher:Pu5h-Pa55@127.0.0.1:{port}/");
    let run = Reaper::on(&sim)
        .args(["sweep", "--dry-run", "--pushgateway", &url])
        .run()
        .ok();
    assert!(!run.stderr.contains("WARN"), "{run}");
    let samples = pushed(port);
    assert_eq!(in_group(&samples, "lk_reaper_up", None), 1.0);
    assert_eq!(in_group(&samples, "lk_reaper_rooms_scanned", None), 5.0);
    assert_eq!(in_group(&samples, "lk_reaper_refused", None), 0.0);
    let success = in_group(&samples, "lk_reaper_last_success_timestamp_seconds", None);
    assert!(success > 1.7e9, "{success}");

    // A shard pushes its own group, beside the first.
    Reaper::on(&sim)
        .env("LK_REAPER_PUSHGATEWAY", &url)
        .args(["sweep", "--dry-run", "--shard", "1/4"])
        .run()
        .ok();
    let samples = pushed(port);
    assert!(in_group(&samples, "lk_reaper_rooms_scanned", Some("1")) > 0.0);
    assert_eq!(in_group(&samples, "lk_reaper_rooms_scanned", None), 5.0);

    // A failed run replaces the group but keeps its last success, and its exit code.
    let run = Reaper::on(&sim)
        .env("LIVEKIT_API_SECRET", "wrong")
        .args(["sweep", "--pushgateway", &url])
        .run()
        .expect(1);
    assert!(
        !run.stderr.contains("Pu5h-Pa55") && !run.stdout.contains("Pu5h-Pa55"),
        "{run}"
    );
    let samples = pushed(port);
    assert_eq!(in_group(&samples, "lk_reaper_up", None), 0.0);
    assert_eq!(
        in_group(&samples, "lk_reaper_last_success_timestamp_seconds", None),
        success
    );
    let stale = (samples.iter()).any(|(name, labels, _)| {
        name == "lk_reaper_rooms_scanned" && !labels.contains_key("shard")
    });
    assert!(
        !stale,
        "a failed run has no inventory to report: {samples:?}"
    );
}

#[test]
fn a_failed_push_is_a_bounded_warning_that_names_no_credentials() {
    let sim = basic();
    let closed = free_port();
    let refused = format!("http://pusher:Pu5h-Pa55@127.0.0.1:{closed}");
    let silent = Server::black_hole();
    let failing = Server::answering(500, "text/plain", "storage full");
    for url in [refused, silent.url.clone(), failing.url.clone()] {
        let run = Reaper::on(&sim)
            .args(["sweep", "--dry-run", "--exit-code", "--pushgateway", &url])
            .run()
            .expect(3);
        assert!(run.stderr.contains("metrics not pushed to"), "{run}");
        assert!(!run.stderr.contains("Pu5h-Pa55"), "{run}");
        // Two calls of at most 5 s each, whatever the other side does.
        assert!(run.elapsed < Duration::from_secs(20), "{run}");
    }
    let answered = failing.requests();
    assert!(
        answered
            .iter()
            .any(|r| r.head.starts_with("PUT /metrics/job/lk-reaper ")),
        "PUT"
    );
    Reaper::on(&sim)
        .args(["sweep", "--pushgateway", "pushgateway:9091"])
        .run()
        .one_line_error(2, "is not an http:// or https:// URL");
}

/// Prometheus's answer to an instant query: each series' labels and value.
fn query(port: u16, promql: &str) -> Vec<(Value, f64)> {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    let (status, body) = blocking(|client| client.get(url).query(&[("query", promql)]));
    assert_eq!(status, 200, "{promql}: {body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    (answer["data"]["result"].as_array().unwrap().iter())
        .map(|r| {
            let value = r["value"][1].as_str().unwrap().parse().unwrap();
            (r["metric"].clone(), value)
        })
        .collect()
}

#[test]
#[ignore = "needs prometheus (Debian package; scripts/install-test-deps)"]
// Small integers, as Prometheus passes them on: exact comparison is what is meant.
#[allow(clippy::float_cmp)]
fn a_real_prometheus_scrapes_serve_and_evaluates_the_alert_rules() {
    let prometheus = tools::debian("prometheus", "prometheus");
    let sim = basic();
    let serve_port = free_port();
    let _serve = Serve::start(&sim, serve_port, &["--dry-run"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: [{}]\n\
             scrape_configs:\n  - job_name: lk-reaper\n    static_configs: [{{targets: ['127.0.0.1:{serve_port}']}}]\n",
            deploy("alerts.yaml").display()
        ),
    )
    .unwrap();
    let port = free_port();
    let _prometheus = daemon(
        &prometheus,
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        port,
    );
    let scraped = until(Duration::from_secs(60), || {
        query(port, "lk_reaper_rooms_scanned")
            .iter()
            .any(|(_, v)| *v == 5.0)
    });
    assert!(
        scraped.is_some(),
        "Prometheus never scraped serve's rooms_scanned"
    );
    let healthy = query(port, "lk_reaper_healthy");
    assert_eq!(healthy.len(), 1, "{healthy:?}");
    assert_eq!(healthy[0].0["job"], "lk-reaper");
    assert_eq!(healthy[0].1, 1.0);
    assert_eq!(query(port, "up{job=\"lk-reaper\"}")[0].1, 1.0);
    let findings = query(port, "sum(lk_reaper_findings)");
    assert_eq!(findings[0].1, 4.0, "the basic fleet's findings");

    // The rules were loaded and evaluate on the scraped series without error.
    let rules_ok = until(Duration::from_secs(30), || {
        let (_, body) = blocking(|c| c.get(format!("http://127.0.0.1:{port}/api/v1/rules")));
        let answer: Value = serde_json::from_str(&body).unwrap();
        let rules: Vec<&Value> = (answer["data"]["groups"].as_array().unwrap().iter())
            .flat_map(|g| g["rules"].as_array().unwrap())
            .collect();
        rules.len() == alert_rules().len()
            && rules
                .iter()
                .all(|r| r["health"] == "ok" && r["lastEvaluation"] != "0001-01-01T00:00:00Z")
    });
    assert!(
        rules_ok.is_some(),
        "the alert rules did not all evaluate cleanly"
    );
}

#[test]
fn serve_pushes_after_each_full_sweep_when_given_a_pushgateway() {
    let gateway = Server::answering(200, "text/plain", "");
    let sim = basic();
    let _serve = Serve::start(
        &sim,
        free_port(),
        &["--dry-run", "--pushgateway", &gateway.url],
    );
    let pushed = until(Duration::from_secs(10), || {
        gateway
            .requests()
            .iter()
            .any(|r| r.head.starts_with("PUT /metrics/job/lk-reaper "))
    });
    assert!(pushed.is_some(), "no push after the start-up sweep");
    let put = (gateway.requests().into_iter())
        .find(|r| r.head.starts_with("PUT "))
        .unwrap();
    let body = String::from_utf8(put.body).unwrap();
    assert!(body.contains("lk_reaper_rooms_scanned 5"), "{body}");
}
