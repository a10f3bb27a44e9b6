//! The deployment files in deploy/ are what README's recipes point at: each must parse,
//! run lk-reaper with a command line the CLI accepts, and keep the promises README makes
//! (no overlap, a secret read from a file, non-root, read-only, sized limits).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use clap::Parser;
use lk_reaper::cli::Cli;
use serde_yaml_ng::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// A unit file as systemd reads it: section -> key -> values (a key may repeat).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

#[track_caller]
fn parse_unit(relative: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = None;
    for (n, line) in read(relative).lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_owned());
            unit.entry(name.to_owned()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{relative}:{}: not key=value: {line}", n + 1));
        let section = section
            .as_ref()
            .unwrap_or_else(|| panic!("{relative}:{}: outside a section", n + 1));
        unit.get_mut(section)
            .unwrap()
            .entry(key.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    unit
}

#[track_caller]
fn one<'a>(unit: &'a Unit, section: &str, key: &str) -> &'a str {
    match unit
        .get(section)
        .and_then(|s| s.get(key))
        .map(Vec::as_slice)
    {
        Some([value]) => value,
        other => panic!("[{section}] {key}: expected one value, found {other:?}"),
    }
}

/// The arguments after the program, checked to be a command line lk-reaper accepts.
#[track_caller]
pub(crate) fn accepted(program: &str, args: &[String]) {
    let command_line = std::iter::once(program.to_owned()).chain(args.iter().cloned());
    if let Err(e) = Cli::try_parse_from(command_line) {
        panic!("lk-reaper refuses {args:?}: {e}");
    }
}

#[test]
fn systemd_units_run_one_sweep_a_minute_with_a_credential() {
    let service = parse_unit("deploy/systemd/lk-reaper.service");
    assert_eq!(
        one(&service, "Service", "Type"),
        "oneshot",
        "never overlaps"
    );
    let exec: Vec<String> = one(&service, "Service", "ExecStart")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(exec[0], "/usr/local/bin/lk-reaper");
    accepted(&exec[0], &exec[1..]);
    assert!(exec.contains(&"sweep".to_owned()), "{exec:?}");

    let credential = one(&service, "Service", "LoadCredential");
    let (name, _) = credential.split_once(':').unwrap();
    let environment = &service["Service"]["Environment"];
    assert!(
        environment
            .iter()
            .any(|e| e == &format!("LIVEKIT_API_SECRET_FILE=%d/{name}")),
        "the secret file must be the credential: {environment:?}"
    );
    assert!(
        !environment
            .iter()
            .any(|e| e.contains("LIVEKIT_API_SECRET="))
    );
    assert_eq!(one(&service, "Service", "DynamicUser"), "yes");

    let timer = parse_unit("deploy/systemd/lk-reaper.timer");
    assert_eq!(one(&timer, "Timer", "OnCalendar"), "minutely");
    assert_eq!(one(&timer, "Install", "WantedBy"), "timers.target");
}

/// systemd's own check, in a scratch root holding the units, the built binary at the
/// ExecStart path and the host's system units (for the targets they name).
#[test]
#[ignore = "needs systemd-analyze; scripts/test runs it"]
fn systemd_analyze_verify_accepts_the_units() {
    let scratch = tempfile::tempdir().unwrap();
    let at = |p: &str| scratch.path().join(p);
    for dir in ["usr/local/bin", "etc/systemd/system", "usr/lib/systemd"] {
        std::fs::create_dir_all(at(dir)).unwrap();
    }
    std::fs::copy(
        env!("CARGO_BIN_EXE_lk-reaper"),
        at("usr/local/bin/lk-reaper"),
    )
    .unwrap();
    let copied = Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system"])
        .arg(at("usr/lib/systemd"))
        .status()
        .unwrap();
    assert!(copied.success(), "could not copy /usr/lib/systemd/system");
    let mut units = Vec::new();
    for unit in ["lk-reaper.service", "lk-reaper.timer"] {
        let installed = at("etc/systemd/system").join(unit);
        std::fs::copy(root().join("deploy/systemd").join(unit), &installed).unwrap();
        units.push(installed);
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", scratch.path().display()))
        .args(&units)
        .output()
        .expect("systemd-analyze is not installed (Debian package systemd)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
}

#[track_caller]
fn parse_yaml(relative: &str) -> Value {
    serde_yaml_ng::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[track_caller]
pub(crate) fn at<'a>(doc: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(doc, |node, key| {
        let next = match key.parse::<usize>() {
            Ok(i) => node.get(i),
            Err(_) => node.get(key),
        };
        next.unwrap_or_else(|| panic!("no {key} in {path}"))
    })
}

pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// MiB in a Kubernetes quantity such as `128Mi`.
fn mebibytes(quantity: &str) -> u64 {
    let (number, unit) = quantity.split_at(quantity.trim_end_matches(char::is_alphabetic).len());
    let number: u64 = number.parse().unwrap();
    match unit {
        "Mi" => number,
        "Gi" => number * 1024,
        other => panic!("unexpected memory unit {other} in {quantity}"),
    }
}

/// The highest peak RSS of README's Performance table.
fn benchmark_peak_rss_mib() -> u64 {
    let readme = read("README.md");
    let header = readme
        .lines()
        .find(|l| l.starts_with("| run |") && l.contains("peak RSS MiB"))
        .expect("README's Performance table");
    let column = header
        .split('|')
        .position(|c| c.trim() == "peak RSS MiB")
        .unwrap();
    readme
        .lines()
        .skip_while(|l| *l != header)
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|row| {
            let cell = row.split('|').nth(column).unwrap().trim().to_owned();
            // A cell is one figure or a min-max range over runs, e.g. `32.7-34.0`.
            cell.split('-')
                .map(|n| n.parse::<f64>().unwrap().ceil() as u64)
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap()
}

/// What both CronJobs promise, checked on one manifest; returns the container's args.
#[track_caller]
fn check_cronjob(relative: &str) -> (Value, Vec<String>) {
    let doc = parse_yaml(relative);
    assert_eq!(at(&doc, "apiVersion"), "batch/v1");
    assert_eq!(at(&doc, "kind"), "CronJob");
    assert_eq!(at(&doc, "spec.concurrencyPolicy"), "Forbid", "{relative}");
    let pod = at(&doc, "spec.jobTemplate.spec.template.spec");
    assert_eq!(at(pod, "restartPolicy"), "Never");
    assert_eq!(at(pod, "securityContext.runAsNonRoot"), &Value::from(true));
    assert_eq!(
        at(pod, "securityContext.runAsUser"),
        &Value::from(65532),
        "the image's USER"
    );
    let container = at(pod, "containers.0");
    let image = at(container, "image").as_str().unwrap();
    assert!(
        image.ends_with(&format!("/lk-reaper:{}", env!("CARGO_PKG_VERSION"))),
        "{relative}: {image} is not this version's image"
    );
    assert_eq!(
        at(container, "securityContext.readOnlyRootFilesystem"),
        &Value::from(true)
    );
    let limit = mebibytes(at(container, "resources.limits.memory").as_str().unwrap());
    let peak = benchmark_peak_rss_mib();
    assert!(
        limit >= 2 * peak,
        "{relative}: memory limit {limit} MiB leaves too little over the benchmark's {peak} MiB"
    );
    assert!(at(container, "resources.limits.cpu").is_string());

    // The secret reaches the container as a file of a mounted Secret, never as a value.
    let env = at(container, "env").as_sequence().unwrap();
    let var = |name: &str| env.iter().find(|e| at(e, "name") == name);
    assert!(var("LIVEKIT_API_SECRET").is_none());
    let secret_file = at(var("LIVEKIT_API_SECRET_FILE").unwrap(), "value")
        .as_str()
        .unwrap();
    let mount = at(container, "volumeMounts")
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| secret_file.starts_with(at(m, "mountPath").as_str().unwrap()))
        .unwrap_or_else(|| panic!("{relative}: {secret_file} is on no mounted volume"));
    let volume = at(pod, "volumes")
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| at(v, "name") == at(mount, "name"))
        .unwrap();
    assert!(at(volume, "secret.secretName").is_string(), "{volume:?}");

    let args = strings(at(container, "args"));
    accepted("lk-reaper", &args);
    (doc, args)
}

#[test]
fn kubernetes_cronjob_sweeps_the_fleet_safely() {
    let (_, args) = check_cronjob("deploy/kubernetes/cronjob.yaml");
    assert!(args.contains(&"sweep".to_owned()), "{args:?}");
    assert!(!args.iter().any(|a| a.starts_with("--shard")), "{args:?}");
}

/// N is written twice, as the Job's completions and as --shard-count: they must agree, or
/// some shard would be swept by nobody (or a pod would refuse its index).
#[test]
fn kubernetes_sharded_cronjob_covers_every_shard_once() {
    let (doc, args) = check_cronjob("deploy/kubernetes/cronjob-sharded.yaml");
    let job = at(&doc, "spec.jobTemplate.spec");
    assert_eq!(at(job, "completionMode"), "Indexed");
    let completions = at(job, "completions").as_u64().unwrap();
    assert_eq!(at(job, "parallelism").as_u64(), Some(completions));
    let count = args
        .iter()
        .position(|a| a == "--shard-count")
        .map(|i| args[i + 1].parse::<u64>().unwrap())
        .expect("--shard-count N");
    assert_eq!(count, completions, "--shard-count must equal completions");
    assert!(completions > 1);
}

/// The Kubernetes API's own schema (kubernetes-validate, from PyPI, in a venv of its own).
#[test]
#[ignore = "needs kubernetes-validate from PyPI; scripts/test runs it"]
fn kubernetes_manifests_match_the_api_schema() {
    let validator = root().join(".venv-deploy/bin/kubernetes-validate");
    assert!(
        validator.is_file(),
        "{} is missing; run scripts/install-test-deps",
        validator.display()
    );
    // The oldest Kubernetes still commonly run, and the newest the package knows.
    for version in ["1.30", "1.37"] {
        let out = Command::new(&validator)
            .args(["--strict", "--quiet", "--kubernetes-version", version])
            .args(["cronjob.yaml", "cronjob-sharded.yaml"])
            .current_dir(root().join("deploy/kubernetes"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "Kubernetes {version}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
