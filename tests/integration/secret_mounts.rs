//! Every Kubernetes manifest we ship (deploy/, Helm charts' values included, and README's
//! YAML snippets) mounts the API secret so that the image's user, 65532, can read it, and
//! no one else: a non-root pod reads a root-owned secret file through its fsGroup.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value;

/// The image's USER.
const IMAGE_USER: u64 = 65_532;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.yaml`/`.yml` under `dir`.
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// The documents of a YAML text, or `None` when it is not plain YAML (a Helm template).
fn documents(text: &str) -> Option<Vec<Value>> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(Value::deserialize)
        .collect::<Result<Vec<_>, _>>()
        .ok()
}

/// README's ```yaml snippets.
fn readme_snippets() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("\n```").next())
        .map(str::to_owned)
        .collect()
}

/// A file mode as Kubernetes reads it: `0440` is octal there (YAML 1.1), whether this
/// parser took it for a string, or for a number.
fn mode(value: &Value) -> u64 {
    let digits = match value {
        Value::String(text) => text.trim_start_matches("0o").to_owned(),
        Value::Number(n) if n.as_u64().is_some_and(|n| n > 0o777) => n.to_string(),
        // A plain decimal, as JSON would give it (288 = 0o440).
        Value::Number(n) => return n.as_u64().unwrap(),
        other => panic!("not a mode: {other:?}"),
    };
    u64::from_str_radix(&digits, 8).unwrap_or_else(|_| panic!("not an octal mode: {digits}"))
}

/// Every mapping in `value` (itself included) that has `key`.
fn with_key<'v>(value: &'v Value, key: &str, out: &mut Vec<&'v Value>) {
    match value {
        Value::Mapping(map) => {
            if map.contains_key(key) {
                out.push(value);
            }
            map.values().for_each(|v| with_key(v, key, out));
        }
        Value::Sequence(list) => list.iter().for_each(|v| with_key(v, key, out)),
        _ => {}
    }
}

/// Whether user [`IMAGE_USER`], with the pod's groups, may read a root-owned file of
/// `mode` whose group is the fsGroup; and whether everyone may.
fn readable(pod: &Value, mode: u64) -> (bool, bool) {
    let security = pod.get("securityContext");
    let field = |name: &str| security.and_then(|s| s.get(name)).and_then(Value::as_u64);
    let user = field("runAsUser").unwrap_or(IMAGE_USER);
    assert_eq!(user, IMAGE_USER, "the image's user");
    let owner_group = field("fsGroup").unwrap_or(0);
    let mut groups = vec![field("runAsGroup").unwrap_or(IMAGE_USER)];
    groups.extend(field("fsGroup"));
    let by_group = groups.contains(&owner_group) && mode & 0o040 != 0;
    let by_others = mode & 0o004 != 0;
    (by_group || by_others, by_others)
}

/// Checks every pod spec in `doc` that mounts a secret; returns how many it checked.
fn check_pods(doc: &Value, place: &str) -> usize {
    let mut pods = Vec::new();
    with_key(doc, "containers", &mut pods);
    let mut checked = 0;
    for pod in pods {
        let volumes = pod.get("volumes").and_then(Value::as_sequence);
        for secret in volumes
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("secret"))
        {
            // Kubernetes' default is 0644.
            let mode = secret.get("defaultMode").map_or(0o644, mode);
            let (user_reads, everyone_reads) = readable(pod, mode);
            assert!(
                user_reads,
                "{place}: user {IMAGE_USER} cannot read the secret (mode {mode:o})"
            );
            assert!(
                !everyone_reads,
                "{place}: the secret is world-readable (mode {mode:o})"
            );
            checked += 1;
        }
    }
    checked
}

/// A Helm chart's templates are not YAML: every `fsGroup` and `defaultMode` set in its values
/// or templates must let the image's user, and no one else, read the secret. (The helm tests
/// check the rendered objects too, with the real helm.)
fn check_chart(chart: &Path) -> usize {
    let place = chart.display().to_string();
    let mut text = std::fs::read_to_string(chart.join("values.yaml")).unwrap_or_default();
    for entry in std::fs::read_dir(chart.join("templates"))
        .into_iter()
        .flatten()
        .flatten()
    {
        text += &std::fs::read_to_string(entry.path()).unwrap_or_default();
    }
    let settings = |key: &str| -> Vec<String> {
        (text.lines())
            .filter_map(|line| line.trim().strip_prefix(key)?.strip_prefix(':'))
            .map(|value| value.trim().to_owned())
            .collect()
    };
    let groups = settings("fsGroup");
    assert!(
        !groups.is_empty() && groups.iter().all(|g| g.parse() == Ok(IMAGE_USER)),
        "{place}: sets no fsGroup {IMAGE_USER} ({groups:?})"
    );
    let modes = settings("defaultMode");
    assert!(
        !modes.is_empty(),
        "{place}: its secret volume has no defaultMode"
    );
    for text in modes {
        // YAML 1.1, as Kubernetes reads it: a leading 0 is octal.
        let octal = text.trim_start_matches("0o");
        let mode = if text.starts_with('0') {
            u64::from_str_radix(octal, 8)
        } else {
            text.parse()
        };
        let mode = mode.unwrap_or_else(|_| panic!("{place}: not a mode: {text}"));
        assert!(
            mode & 0o040 != 0 && mode & 0o004 == 0,
            "{place}: secret mode {mode:o}"
        );
    }
    1
}

#[test]
fn every_shipped_manifest_lets_the_image_user_read_the_secret_and_no_one_else() {
    let mut files = Vec::new();
    yaml_files(&root().join("deploy"), &mut files);
    let mut checked = 0;
    let mut charts = std::collections::BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let place = file.display().to_string();
        if let Some(docs) = documents(&text) {
            checked += docs.iter().map(|d| check_pods(d, &place)).sum::<usize>();
        } else {
            let chart = file
                .ancestors()
                .find(|dir| dir.join("Chart.yaml").is_file())
                .unwrap_or_else(|| panic!("{place}: neither YAML nor part of a Helm chart"));
            charts.insert(chart.to_path_buf());
        }
    }
    checked += charts.iter().map(|c| check_chart(c)).sum::<usize>();
    for (i, snippet) in readme_snippets().iter().enumerate() {
        let docs = documents(snippet).unwrap_or_else(|| panic!("README yaml snippet {i}"));
        checked += docs
            .iter()
            .map(|d| check_pods(d, &format!("README yaml snippet {i}")))
            .sum::<usize>();
    }
    assert!(
        checked >= 3,
        "two CronJobs and README's Deployment at least: {checked}"
    );
}
