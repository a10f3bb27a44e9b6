//! The `lk` CLI's project list, `~/.livekit/cli-config.yaml`, for `--project NAME`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::usage;
use crate::secret::Secret;

#[derive(Debug, Deserialize)]
struct CliConfig {
    #[serde(default)]
    projects: Vec<Project>,
}

/// One project entry (only the fields we use; `lk` writes more).
#[derive(Debug, Deserialize)]
pub struct Project {
    pub name: String,
    pub url: String,
    pub api_key: String,
    pub api_secret: Secret,
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Where `lk` keeps its config: `$HOME/.livekit/cli-config.yaml`.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".livekit/cli-config.yaml"))
}

/// Finds project `name` in the file at `path`.
pub fn project(path: &Path, name: &str) -> anyhow::Result<Project> {
    let text = crate::files::read_small(path, crate::files::MAX_CONFIG_FILE, "the lk CLI config")
        .map_err(|e| {
        usage(format!(
            "--project {name}: {e} (create it with `lk project add`)"
        ))
    })?;
    super::warn_if_readable_by_others(path, "the lk CLI config");
    let config: CliConfig = serde_yaml_ng::from_str(&text).map_err(|e| {
        usage(format!(
            "{}: not a valid lk CLI config: {e}",
            path.display()
        ))
    })?;
    let names: Vec<&str> = config.projects.iter().map(|p| p.name.as_str()).collect();
    let known = names.join(", ");
    config
        .projects
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            usage(format!(
                "--project {name}: no such project in {} (known: {known})",
                path.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_project_and_names_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cli-config.yaml");
        std::fs::write(
            &path,
            "default_project: prod\nprojects:\n  - name: prod\n    project_id: p_1\n    url: wss://prod.livekit.cloud\n    api_key: APIprod\n    api_secret: s3cr3t\n  - name: staging\n    url: https://staging.example.com\n    api_key: APIstg\n    api_secret: other\n",
        )
        .unwrap();
        let p = project(&path, "staging").unwrap();
        assert_eq!(
            (p.url.as_str(), p.api_key.as_str(), p.api_secret.expose()),
            ("https://staging.example.com", "APIstg", "other")
        );
        let err = project(&path, "dev").unwrap_err().to_string();
        assert!(
            err.contains("known: prod, staging") && !err.contains("s3cr3t"),
            "{err}"
        );
    }
}
