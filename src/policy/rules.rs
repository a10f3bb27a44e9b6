//! The rule settings of one room, and partial overrides of them.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::cli::{HumanlessMode, IngressMode, SilentMode};

/// The rule settings that judge one room and its egresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub humanless: HumanlessMode,
    pub humanless_grace: Duration,
    pub max_room_age: Option<Duration>,
    pub max_egress_age: Option<Duration>,
    pub orphan_egress: bool,
    pub orphan_grace: Duration,
    /// How long a phone leg may be `dialing` or `ringing` and still count as human.
    pub sip_ring_limit: Duration,
    /// What `forgotten_ingress` does.
    pub ingress: IngressMode,
    /// How long every human may be silent before `silent` acts; `None`: off.
    pub silent_after: Option<Duration>,
    pub silent: SilentMode,
    /// How long a human may stay connected; `None`: off.
    pub max_session: Option<Duration>,
    /// Never touched by any rule.
    pub exempt: bool,
}

impl Default for Rules {
    /// SPEC.md's defaults.
    fn default() -> Self {
        Self {
            humanless: HumanlessMode::DeleteRoom,
            humanless_grace: Duration::from_secs(5 * 60),
            max_room_age: None,
            max_egress_age: None,
            orphan_egress: true,
            orphan_grace: Duration::from_secs(2 * 60),
            // LiveKit's SIP service gives up ringing after 80 s by default; a few minutes
            // never cuts a normal ring.
            sip_ring_limit: Duration::from_secs(5 * 60),
            ingress: IngressMode::Report,
            silent_after: None,
            silent: SilentMode::StopEgress,
            max_session: None,
            exempt: false,
        }
    }
}

/// An age limit that may be switched off: `"4h"` or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<Duration>);

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        parse_duration(&text)
            .map(|d| Self(Some(d)))
            .map_err(serde::de::Error::custom)
    }
}

/// Reads a humantime duration from a string, with examples in the error.
pub fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Reads `--silent-after` / `--max-session` from a string: `"off"` or a duration within
/// [`crate::cli::ACTIVE_LIMIT_RANGE`].
pub fn active_limit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Limit>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(Some(Limit(None)));
    }
    crate::cli::parse_active_limit(&text)
        .map(|d| Some(Limit(Some(d))))
        .map_err(|e| serde::de::Error::custom(format!("invalid duration '{text}': {e}")))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::cli::parse_duration(text).map_err(|e| format!("invalid duration '{text}': {e}"))
}

/// Some rule settings, to lay over others (a `[[policy]]` block, room metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    pub humanless: Option<HumanlessMode>,
    #[serde(default, deserialize_with = "duration")]
    pub humanless_grace: Option<Duration>,
    pub max_room_age: Option<Limit>,
    pub max_egress_age: Option<Limit>,
    pub orphan_egress: Option<bool>,
    #[serde(default, deserialize_with = "duration")]
    pub orphan_grace: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    pub sip_ring_limit: Option<Duration>,
    pub ingress: Option<IngressMode>,
    #[serde(default, deserialize_with = "active_limit")]
    pub silent_after: Option<Limit>,
    pub silent: Option<SilentMode>,
    #[serde(default, deserialize_with = "active_limit")]
    pub max_session: Option<Limit>,
    pub exempt: Option<bool>,
}

impl RulePatch {
    /// Lays the settings present in the patch over `rules`.
    pub fn apply(&self, rules: &mut Rules) {
        if let Some(v) = self.humanless {
            rules.humanless = v;
        }
        if let Some(v) = self.humanless_grace {
            rules.humanless_grace = v;
        }
        if let Some(Limit(v)) = self.max_room_age {
            rules.max_room_age = v;
        }
        if let Some(Limit(v)) = self.max_egress_age {
            rules.max_egress_age = v;
        }
        if let Some(v) = self.orphan_egress {
            rules.orphan_egress = v;
        }
        if let Some(v) = self.orphan_grace {
            rules.orphan_grace = v;
        }
        if let Some(v) = self.sip_ring_limit {
            rules.sip_ring_limit = v;
        }
        if let Some(v) = self.ingress {
            rules.ingress = v;
        }
        if let Some(Limit(v)) = self.silent_after {
            rules.silent_after = v;
        }
        if let Some(v) = self.silent {
            rules.silent = v;
        }
        if let Some(Limit(v)) = self.max_session {
            rules.max_session = v;
        }
        if let Some(v) = self.exempt {
            rules.exempt = v;
        }
    }

    /// The override in room metadata `{"<key>": {...}}`. Metadata that is not JSON, or JSON
    /// without the key, is no override, never an error (metadata belongs to whoever created
    /// the room); an override that is there but invalid is [`Override::Invalid`].
    pub fn from_metadata(metadata: &str, key: &str) -> Override {
        if !metadata.trim_start().starts_with('{') {
            return Override::None;
        }
        let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(metadata) else {
            return Override::None;
        };
        let Some(value) = doc.get_mut(key).map(serde_json::Value::take) else {
            return Override::None;
        };
        match serde_path_to_error::deserialize(value) {
            Ok(patch) => Override::Valid(patch),
            Err(err) => {
                let path = err.path().to_string();
                let at = if path == "." {
                    key.to_owned()
                } else {
                    format!("{key}.{path}")
                };
                let why = crate::redact::line(&err.into_inner().to_string());
                Override::Invalid(format!("{at}: {why}"))
            }
        }
    }
}

/// A room's metadata override, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Override {
    None,
    Valid(RulePatch),
    /// There, but invalid: where and why, e.g. `reaper.max_room_age: invalid duration 'soon'`.
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_overrides_parse_are_ignored_or_are_invalid() {
        let valid = |metadata: &str| match RulePatch::from_metadata(metadata, "reaper") {
            Override::Valid(patch) => patch,
            other => panic!("{metadata}: {other:?}"),
        };
        let p = valid(r#"{"reaper": {"max_room_age": "12h"}, "team": 1}"#);
        assert_eq!(
            p.max_room_age,
            Some(Limit(Some(Duration::from_secs(12 * 3600))))
        );
        assert_eq!(valid(r#"{"reaper": {"exempt": true}}"#).exempt, Some(true));
        let p = valid(r#"{"reaper": {"sip_ring_limit": "90s"}}"#);
        assert_eq!(p.sip_ring_limit, Some(Duration::from_secs(90)));
        let p = valid(r#"{"reaper": {"ingress": "disable"}}"#);
        assert_eq!(p.ingress, Some(IngressMode::Disable));
        let p = valid(r#"{"reaper": {"max_room_age": "off"}}"#);
        assert_eq!(p.max_room_age, Some(Limit(None)));
        for ignored in ["", "plain text", "{broken", r#"{"other": 1}"#] {
            assert_eq!(
                RulePatch::from_metadata(ignored, "reaper"),
                Override::None,
                "{ignored}"
            );
        }
        for (invalid, names) in [
            (
                r#"{"reaper": {"max_room_age": "soon"}}"#,
                "reaper.max_room_age: invalid duration 'soon'",
            ),
            (
                r#"{"reaper": {"bogus": 1}}"#,
                "reaper.bogus: unknown field `bogus`",
            ),
            (
                r#"{"reaper": {"exempt": "yes"}}"#,
                "reaper.exempt: invalid type",
            ),
            (r#"{"reaper": 5}"#, "reaper: invalid type"),
        ] {
            match RulePatch::from_metadata(invalid, "reaper") {
                Override::Invalid(why) => assert!(why.starts_with(names), "{why}"),
                other => panic!("{invalid}: {other:?}"),
            }
        }
    }

    #[test]
    fn patch_changes_only_what_it_names() {
        let mut rules = Rules::default();
        RulePatch {
            humanless: Some(HumanlessMode::StopEgress),
            max_egress_age: Some(Limit(Some(Duration::from_secs(60)))),
            ..Default::default()
        }
        .apply(&mut rules);
        assert_eq!(rules.humanless, HumanlessMode::StopEgress);
        assert_eq!(rules.max_egress_age, Some(Duration::from_secs(60)));
        assert_eq!(rules.humanless_grace, Rules::default().humanless_grace);
        assert!(rules.orphan_egress);
    }
}
