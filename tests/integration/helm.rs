//! The Helm chart in deploy/helm/lk-reaper/ (issue #23): `helm lint` passes for every value
//! set in its ci/ folder, and what `helm template` renders for each is valid Kubernetes
//! (kubernetes-validate --strict) and keeps the promises README makes: non-root 65532 that
//! can read its secret, a read-only root, no capability, a command line lk-reaper accepts,
//! a CronJob that never overlaps, an Indexed Job whose shards agree, probes for serve.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::deploy::{accepted, at, strings};
use crate::tools;

fn chart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/helm/lk-reaper")
}

/// The value sets in the chart's ci/ folder, by file name.
fn value_sets() -> Vec<(String, PathBuf)> {
    let mut sets: Vec<(String, PathBuf)> = std::fs::read_dir(chart().join("ci"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    sets.sort();
    assert!(sets.len() >= 4, "{sets:?}");
    sets
}

fn helm(args: &[&str], values: Option<&Path>) -> Output {
    let mut command = Command::new(tools::cached("helm"));
    command.args(args).arg(chart());
    if let Some(values) = values {
        command.arg("--values").arg(values);
    }
    command.output().expect("run helm")
}

#[track_caller]
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[ignore = "needs helm (scripts/install-test-deps)"]
fn helm_lint_passes_for_every_value_set() {
    for (name, values) in value_sets() {
        let out = helm(&["lint", "--strict"], Some(&values));
        assert!(out.status.success(), "helm lint {name}:\n{}", text(&out));
    }
}

#[test]
#[ignore = "needs helm (scripts/install-test-deps)"]
fn helm_template_names_the_missing_connection_values() {
    let out = helm(&["template", "t"], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("livekit.existingSecret or livekit.apiSecret is required"),
        "{}",
        text(&out)
    );
    let out = helm(&["template", "t", "--set", "livekit.apiSecret=x"], None);
    assert!(
        text(&out).contains("livekit.url is required"),
        "{}",
        text(&out)
    );
}

/// Renders `values` and returns the objects and the text.
#[track_caller]
fn render(values: &Path) -> (Vec<Value>, String) {
    let out = helm(&["template", "t"], Some(values));
    assert!(
        out.status.success(),
        "helm template {}:\n{}",
        values.display(),
        text(&out)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    let objects = serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect();
    (objects, yaml)
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| at(o, "kind") == kind).collect()
}

/// What every pod of the chart promises; returns the container's args and env names.
#[track_caller]
fn check_pod(name: &str, pod: &Value) -> (Vec<String>, Vec<String>) {
    let security = at(pod, "securityContext");
    assert_eq!(at(security, "runAsNonRoot"), &Value::from(true), "{name}");
    assert_eq!(at(security, "runAsUser"), &Value::from(65532), "{name}");
    // The secret's files belong to this group (mode 0440), so 65532 reads them.
    assert_eq!(at(security, "fsGroup"), &Value::from(65532), "{name}");
    let container = at(pod, "containers.0");
    let limits = at(container, "securityContext");
    assert_eq!(
        at(limits, "readOnlyRootFilesystem"),
        &Value::from(true),
        "{name}"
    );
    assert_eq!(strings(at(limits, "capabilities.drop")), ["ALL"], "{name}");
    let env = at(container, "env").as_sequence().unwrap();
    let names: Vec<String> = env
        .iter()
        .map(|e| at(e, "name").as_str().unwrap().to_owned())
        .collect();
    assert!(
        !names.contains(&"LIVEKIT_API_SECRET".to_owned()),
        "{name}: the secret as a value"
    );
    let file = env
        .iter()
        .find(|e| at(e, "name") == "LIVEKIT_API_SECRET_FILE")
        .unwrap();
    let file = at(file, "value").as_str().unwrap();
    let mounts = at(container, "volumeMounts").as_sequence().unwrap();
    let mount = mounts
        .iter()
        .find(|m| file.starts_with(at(m, "mountPath").as_str().unwrap()))
        .unwrap_or_else(|| panic!("{name}: {file} is on no volume"));
    let volume = (at(pod, "volumes").as_sequence().unwrap().iter())
        .find(|v| at(v, "name") == at(mount, "name"))
        .unwrap();
    assert!(at(volume, "secret.secretName").is_string(), "{name}");
    assert!(
        at(container, "resources.limits.memory").is_string(),
        "{name}"
    );
    let args = strings(at(container, "args"));
    accepted("lk-reaper", &args);
    (args, names)
}

#[track_caller]
fn check_cronjob(name: &str, cronjob: &Value) -> (Vec<String>, Vec<String>) {
    assert_eq!(at(cronjob, "spec.concurrencyPolicy"), "Forbid", "{name}");
    let job = at(cronjob, "spec.jobTemplate.spec");
    let (args, env) = check_pod(name, at(job, "template.spec"));
    assert!(args.contains(&"sweep".to_owned()), "{name}: {args:?}");
    // N pods, each taking shard JOB_COMPLETION_INDEX of N: N is written three times.
    let shards = args.iter().position(|a| a == "--shard-count");
    match (job.get("completionMode"), shards) {
        (None, None) => {}
        (Some(mode), Some(i)) => {
            assert_eq!(mode, "Indexed", "{name}");
            let n: u64 = args[i + 1].parse().unwrap();
            assert_eq!(at(job, "completions").as_u64(), Some(n), "{name}");
            assert_eq!(at(job, "parallelism").as_u64(), Some(n), "{name}");
        }
        other => panic!("{name}: an Indexed Job and --shard-count go together: {other:?}"),
    }
    (args, env)
}

#[track_caller]
fn check_serve(name: &str, objects: &[Value]) {
    let [deployment] = of_kind(objects, "Deployment")[..] else {
        panic!("{name}: one Deployment")
    };
    let pod = at(deployment, "spec.template.spec");
    let (args, _) = check_pod(name, pod);
    assert!(args.contains(&"serve".to_owned()), "{name}: {args:?}");
    let container = at(pod, "containers.0");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(
            at(container, &format!("{probe}.httpGet.path")),
            "/healthz",
            "{name}"
        );
    }
    let [service] = of_kind(objects, "Service")[..] else {
        panic!("{name}: one Service")
    };
    let labels = at(deployment, "spec.template.metadata.labels")
        .as_mapping()
        .unwrap();
    for (key, value) in at(service, "spec.selector").as_mapping().unwrap() {
        assert_eq!(
            labels.get(key),
            Some(value),
            "{name}: the Service selects the pods"
        );
    }
    assert_eq!(at(service, "spec.ports.0.targetPort"), "http", "{name}");
}

#[test]
#[ignore = "needs helm and kubernetes-validate (scripts/install-test-deps)"]
fn helm_template_renders_valid_objects_that_keep_the_promises() {
    let validator =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-deploy/bin/kubernetes-validate");
    let dir = tempfile::tempdir().unwrap();
    let mut modes = Vec::new();
    for (name, values) in value_sets() {
        let (objects, yaml) = render(&values);
        for mode in yaml
            .lines()
            .filter(|l| l.trim_start().starts_with("defaultMode:"))
        {
            assert_eq!(mode.trim(), "defaultMode: 0440", "{name}");
        }
        let cronjobs = of_kind(&objects, "CronJob");
        for cronjob in &cronjobs {
            let (args, env) = check_cronjob(&name, cronjob);
            let state = env.contains(&"LK_REAPER_STATE".to_owned());
            assert_eq!(
                yaml.contains("persistentVolumeClaim"),
                state,
                "{name}: state on a volume"
            );
            modes.push(if args.contains(&"--shard-count".to_owned()) {
                "shards"
            } else {
                "cron"
            });
        }
        if !of_kind(&objects, "Deployment").is_empty() {
            check_serve(&name, &objects);
            modes.push("serve");
        }
        assert!(
            !cronjobs.is_empty() || modes.last() == Some(&"serve"),
            "{name} runs nothing"
        );
        let file = dir.path().join(&name);
        std::fs::write(&file, &yaml).unwrap();
        for version in ["1.30", "1.37"] {
            let out = Command::new(&validator)
                .args(["--strict", "--quiet", "--kubernetes-version", version])
                .arg(&file)
                .output()
                .expect("kubernetes-validate is missing: run scripts/install-test-deps");
            assert!(
                out.status.success(),
                "{name} on Kubernetes {version}:\n{}",
                text(&out)
            );
        }
    }
    modes.sort_unstable();
    modes.dedup();
    assert_eq!(
        modes,
        ["cron", "serve", "shards"],
        "every mode rendered by some value set"
    );
}
