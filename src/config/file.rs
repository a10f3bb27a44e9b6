//! The TOML policy file. Every error names the file, the line and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::cli::{HumanlessMode, IngressMode, ParticipantKind, SilentMode};
use crate::error::usage;
use crate::policy::{Limit, RulePatch};

/// Declares a file section that carries the rule keys besides its own.
macro_rules! with_rule_keys {
    ($(#[$meta:meta])* struct $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            pub humanless: Option<HumanlessMode>,
            #[serde(default, deserialize_with = "crate::policy::rules::duration")]
            pub humanless_grace: Option<Duration>,
            pub max_room_age: Option<Limit>,
            pub max_egress_age: Option<Limit>,
            pub orphan_egress: Option<bool>,
            #[serde(default, deserialize_with = "crate::policy::rules::duration")]
            pub orphan_grace: Option<Duration>,
            #[serde(default, deserialize_with = "crate::policy::rules::duration")]
            pub sip_ring_limit: Option<Duration>,
            pub ingress: Option<IngressMode>,
            #[serde(default, deserialize_with = "crate::policy::rules::active_limit")]
            pub silent_after: Option<Limit>,
            pub silent: Option<SilentMode>,
            #[serde(default, deserialize_with = "crate::policy::rules::active_limit")]
            pub max_session: Option<Limit>,
        }

        impl $name {
            /// The rule keys of this section.
            fn rule_keys(&self) -> RulePatch {
                RulePatch {
                    humanless: self.humanless,
                    humanless_grace: self.humanless_grace,
                    max_room_age: self.max_room_age,
                    max_egress_age: self.max_egress_age,
                    orphan_egress: self.orphan_egress,
                    orphan_grace: self.orphan_grace,
                    sip_ring_limit: self.sip_ring_limit,
                    ingress: self.ingress,
                    silent_after: self.silent_after,
                    silent: self.silent,
                    max_session: self.max_session,
                    exempt: None,
                }
            }
        }
    };
}

with_rule_keys! {
    /// The whole file.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FileConfig {
        url: Option<String>,
        api_key: Option<String>,
        api_secret_file: Option<PathBuf>,
        #[serde(default)]
        human_kinds: Vec<ParticipantKind>,
        #[serde(default)]
        not_human: Vec<Spanned<String>>,
        #[serde(default)]
        exclude_rooms: Vec<Spanned<String>>,
        max_actions: Option<usize>,
        metadata_key: Option<String>,
        redis_url: Option<String>,
        state: Option<PathBuf>,
        #[serde(default)]
        policy: Vec<PolicyBlockFile>,
    }
}

with_rule_keys! {
    /// One `[[policy]]` block.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PolicyBlockFile {
        rooms: Vec<Spanned<String>>,
        exempt: Option<bool>,
    }
}

impl FileConfig {
    /// The top-level rule keys, as defaults for every room.
    pub fn defaults_patch(&self) -> RulePatch {
        self.rule_keys()
    }
}

impl PolicyBlockFile {
    /// The block's rule keys and `exempt`.
    pub fn patch(&self) -> RulePatch {
        RulePatch {
            exempt: self.exempt,
            ..self.rule_keys()
        }
    }
}

/// A parsed file and its text, so later checks (globs) can point at lines too.
#[derive(Debug, Default)]
pub struct Loaded {
    pub path: PathBuf,
    pub text: String,
    pub config: FileConfig,
}

impl Loaded {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = crate::files::read_small(path, crate::files::MAX_CONFIG_FILE, "config file")?;
        let config = toml::from_str(&text).map_err(|e: toml::de::Error| {
            let at = e
                .span()
                .map_or_else(String::new, |span| locate(&text, span.start));
            usage(format!("{}{at}: {}", path.display(), e.message().trim()))
        })?;
        Ok(Self {
            path: path.to_owned(),
            text,
            config,
        })
    }

    /// A usage error pointing at `span` in this file.
    pub fn error_at(&self, span: std::ops::Range<usize>, message: &str) -> anyhow::Error {
        usage(format!(
            "{}{}: {message}",
            self.path.display(),
            locate(&self.text, span.start)
        ))
    }
}

/// `:LINE: key` for a byte offset (the key is the text before `=` on that line).
fn locate(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => format!(":{line_no}: {}", key.trim()),
        _ => format!(":{line_no}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Loaded, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reaper.toml");
        std::fs::write(&path, text).unwrap();
        Loaded::read(&path).map_err(|e| e.to_string().replace(&path.display().to_string(), "FILE"))
    }

    #[test]
    fn reads_the_spec_example() {
        let loaded = parse(
            r#"
url = "wss://example.livekit.cloud"
api_key = "APIxxxx"
api_secret_file = "/run/credentials/lk-reaper/secret"
humanless = "delete-room"
humanless_grace = "5m"
max_room_age = "4h"
max_egress_age = "3h"
orphan_egress = true
human_kinds = ["standard", "sip", "connector"]
not_human = ["agent-*", "recorder-*"]
exclude_rooms = ["keep-*"]
max_actions = 100

[[policy]]
rooms = ["webinar-*"]
max_room_age = "10h"

[[policy]]
rooms = ["lobby", "24x7-*"]
exempt = true
"#,
        )
        .unwrap();
        let c = &loaded.config;
        assert_eq!(
            c.max_room_age,
            Some(Limit(Some(Duration::from_secs(4 * 3600))))
        );
        assert_eq!(c.human_kinds.len(), 3);
        assert_eq!(c.policy.len(), 2);
        assert_eq!(c.policy[1].patch().exempt, Some(true));
        assert_eq!(
            c.policy[0].patch().max_room_age,
            Some(Limit(Some(Duration::from_secs(36_000))))
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let cases = [
            (
                "humanless = \"delete-room\"\nbogus_key = 1\n",
                "FILE:2: bogus_key: unknown field `bogus_key`",
            ),
            (
                "\nmax_room_age = \"4 parsecs\"\n",
                "FILE:2: max_room_age: invalid duration '4 parsecs'",
            ),
            (
                "humanless = \"sometimes\"\n",
                "FILE:1: humanless: unknown variant `sometimes`",
            ),
            (
                "[[policy]]\nrooms = [\"a\"]\nexmpt = true\n",
                "FILE:3: exmpt: unknown field `exmpt`",
            ),
            (
                "human_kinds = [\"robot\"]\n",
                "FILE:1: human_kinds: unknown variant `robot`",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
        }
    }
}
