//! What the run uses, built once from flags, environment and files (flag > env > file).

pub mod file;
mod lk_cli;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use toml::Spanned;

use crate::cli::{ColorChoice, GlobalArgs, InventoryArgs, OutputFormat, Shard, Switch};
use crate::cluster::RedisUrl;
use crate::error::usage;
use crate::livekit::{CallLimits, Client, Credentials, Endpoint};
use crate::policy::{HumanSpec, Limit, Policy, PolicyBlock, RulePatch, Scope};
use crate::secret::Secret;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_CONCURRENCY: usize = 16;
const DEFAULT_MAX_ACTIONS: usize = 100;

/// The human kinds: the file's list (or the defaults), plus `--human-kind`, minus
/// `--not-human-kind`. A flag adds to the list rather than replacing it, so that naming one
/// more kind never turns every meeting humanless.
fn human_kinds(
    listed: &[crate::cli::ParticipantKind],
    args: &InventoryArgs,
) -> anyhow::Result<Vec<crate::cli::ParticipantKind>> {
    if let Some(both) = args
        .human_kinds
        .iter()
        .find(|k| args.not_human_kinds.contains(k))
    {
        let name = clap::ValueEnum::to_possible_value(both)
            .map_or_else(String::new, |v| v.get_name().to_owned());
        return Err(usage(format!(
            "--human-kind {name} and --not-human-kind {name} contradict each other: give one"
        )));
    }
    let mut kinds = if listed.is_empty() {
        HumanSpec::default().kinds
    } else {
        listed.to_vec()
    };
    for kind in &args.human_kinds {
        if !kinds.contains(kind) {
            kinds.push(*kind);
        }
    }
    kinds.retain(|k| !args.not_human_kinds.contains(k));
    Ok(kinds)
}

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct Connection {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    /// The config file the URL came from, if it did: errors reaching it name the file.
    pub url_from_file: Option<PathBuf>,
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Deadline for the whole run.
    pub timeout: Duration,
    /// Deadline for one API call.
    pub request_timeout: Duration,
    /// API calls in flight at most.
    pub concurrency: usize,
    pub output: OutputFormat,
    /// Colors in the table on stdout.
    pub color: bool,
    /// A progress bar on stderr for long inventories.
    pub progress: bool,
}

/// Everything a sweep, `rooms` or `egress` needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub connection: Connection,
    pub run: Run,
    pub policy: Policy,
    pub max_actions: usize,
    /// Exit 3 when offenders were found.
    pub exit_code: bool,
    /// Where to append a Markdown summary of the run (`--summary-file`).
    pub summary_file: Option<PathBuf>,
    /// LiveKit's Redis, to find zombie rooms (`--redis-url`).
    pub redis_url: Option<RedisUrl>,
    /// The memory file (`--state`).
    pub state: Option<std::path::PathBuf>,
}

impl Config {
    /// The API client with this run's per-call limits; [`Client::until`] gives it a
    /// deadline for retry sleeps.
    pub fn client(&self) -> anyhow::Result<Client> {
        Client::new(
            self.connection.endpoint.clone(),
            self.connection.credentials.clone(),
            CallLimits {
                request_timeout: self.run.request_timeout,
                concurrency: self.run.concurrency,
                attempts: 3,
                deadline: None,
            },
        )
    }

    /// Joins flags, environment (clap has merged those), the lk CLI's project and the
    /// TOML file.
    pub fn from_cli(
        global: &GlobalArgs,
        args: &InventoryArgs,
        max_actions: Option<usize>,
    ) -> anyhow::Result<Self> {
        let file = match &global.config {
            Some(path) => file::Loaded::read(path)?,
            None => file::Loaded::default(),
        };
        Ok(Self {
            connection: connection(global, &file.config)?,
            run: Run::from_cli(global),
            policy: policy(args, &file)?,
            max_actions: max_actions
                .or(file.config.max_actions)
                .unwrap_or(DEFAULT_MAX_ACTIONS),
            exit_code: args.exit_code,
            summary_file: args.summary_file.clone(),
            redis_url: global
                .redis_url
                .clone()
                .or_else(|| file.config.redis_url.clone())
                .filter(|u| !u.trim().is_empty())
                .map(|u| RedisUrl::parse(&u).map_err(usage))
                .transpose()?,
            state: args
                .state
                .clone()
                .or_else(|| file.config.state.clone())
                .filter(|p| !p.as_os_str().is_empty()),
        })
    }
}

impl Run {
    /// The run settings; they need no file.
    pub fn from_cli(global: &GlobalArgs) -> Self {
        Self {
            timeout: global.timeout.unwrap_or(DEFAULT_TIMEOUT),
            request_timeout: global.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            concurrency: global.concurrency.map_or(DEFAULT_CONCURRENCY, usize::from),
            output: global.output,
            color: use_color(global.color, std::io::stdout().is_terminal()),
            progress: use_color(global.color, std::io::stderr().is_terminal()),
        }
    }
}

/// `--color`, `NO_COLOR` and whether the stream is a terminal.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

fn connection(global: &GlobalArgs, file: &file::FileConfig) -> anyhow::Result<Connection> {
    let project = match &global.project {
        Some(name) => {
            let path = lk_cli::default_path()
                .ok_or_else(|| usage("--project needs HOME to find ~/.livekit/cli-config.yaml"))?;
            Some(lk_cli::project(&path, name)?)
        }
        None => None,
    };
    let given = global
        .url
        .clone()
        .or_else(|| project.as_ref().map(|p| p.url.clone()));
    let url_from_file = given
        .is_none()
        .then(|| global.config.clone().filter(|_| file.url.is_some()))
        .flatten();
    let url = given
        .or_else(|| file.url.clone())
        .ok_or_else(|| usage("no LiveKit server given: set LIVEKIT_URL or --url (or --project NAME); try `lk-reaper demo` to see it work without one"))?;
    let endpoint = Endpoint::parse(&url).map_err(usage)?;
    let api_key = global
        .api_key
        .clone()
        .or_else(|| project.as_ref().map(|p| p.api_key.clone()))
        .or_else(|| file.api_key.clone())
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| usage("no API key given: set LIVEKIT_API_KEY or --api-key"))?;
    let api_secret = secret(global, project.map(|p| p.api_secret), file)?;
    Ok(Connection {
        endpoint,
        credentials: Credentials {
            api_key,
            api_secret,
        },
        url_from_file,
    })
}

fn secret(
    global: &GlobalArgs,
    from_project: Option<Secret>,
    file: &file::FileConfig,
) -> anyhow::Result<Secret> {
    let (api_secret, api_secret_file) = prefer_flag_over_env(global);
    let secret = match (api_secret, api_secret_file) {
        (Some(_), Some(_)) => {
            return Err(usage(
                "both an API secret (--api-secret / LIVEKIT_API_SECRET) and a secret file (--api-secret-file / LIVEKIT_API_SECRET_FILE) are set: keep one",
            ));
        }
        (Some(value), None) => Secret::new(value.to_owned()),
        (None, Some(path)) => read_secret_file(path)?,
        (None, None) => match (from_project, &file.api_secret_file) {
            (Some(secret), _) => secret,
            (None, Some(path)) => read_secret_file(path)?,
            (None, None) => {
                return Err(usage(
                    "no API secret given: set LIVEKIT_API_SECRET or LIVEKIT_API_SECRET_FILE (or --api-secret-file PATH)",
                ));
            }
        },
    };
    if secret.expose().trim().is_empty() {
        return Err(usage(
            "the API secret is empty: check LIVEKIT_API_SECRET / the secret file",
        ));
    }
    Ok(secret)
}

/// The secret and the secret file, keeping only the flag when one came from a flag and the
/// other from the environment (flag > environment). Both from flags, or both from the
/// environment, stay a conflict for the caller to refuse.
fn prefer_flag_over_env(global: &GlobalArgs) -> (Option<&str>, Option<&Path>) {
    let secret = global.api_secret.as_deref();
    let file = global.api_secret_file.as_deref();
    let (Some(value), Some(path)) = (secret, file) else {
        return (secret, file);
    };
    let from_env =
        |var: &str, given: &std::ffi::OsStr| std::env::var_os(var).as_deref() == Some(given);
    let secret_from_env = from_env("LIVEKIT_API_SECRET", value.as_ref());
    let file_from_env = from_env("LIVEKIT_API_SECRET_FILE", path.as_os_str());
    match (secret_from_env, file_from_env) {
        (true, false) => (None, file),
        (false, true) => (secret, None),
        _ => (secret, file),
    }
}

/// Reads a secret file; one trailing newline (and CR) is trimmed.
fn read_secret_file(path: &Path) -> anyhow::Result<Secret> {
    let text =
        crate::files::read_small(path, crate::files::MAX_SECRET_FILE, "the API secret file")?;
    warn_if_readable_by_others(path, "the API secret file");
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(usage(format!(
            "the API secret file {} is empty",
            path.display()
        )));
    }
    Ok(Secret::new(value.to_owned()))
}

/// Warns when a credentials file is readable by group or others. A file of another user's
/// is read through its group or other bits (a Kubernetes Secret: root's, readable by the
/// pod's fsGroup), so for it only "others" counts; so too for a file in a Kubernetes secret
/// volume, which a non-root image reads through its fsGroup and cannot chmod.
pub(crate) fn warn_if_readable_by_others(path: &Path, what: &str) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    // /proc/self belongs to our effective uid; without /proc, take the file for ours.
    let ours = std::fs::metadata("/proc/self")
        .ok()
        .is_none_or(|me| me.uid() == meta.uid())
        && !in_secret_volume(path);
    let (mask, who, fix) = if ours {
        (0o077, "group or others", "chmod 600")
    } else {
        (0o007, "others", "chmod o-rwx")
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & mask != 0 {
        tracing::warn!(
            "{what} {} is readable by {who} (mode {mode:o}); run: {fix} {}",
            path.display(),
            path.display()
        );
    }
}

/// Whether `path` is a file of a Kubernetes secret (or configMap, projected) volume: its
/// folder holds the `..data` symlink through which the kubelet swaps versions atomically.
fn in_secret_volume(path: &Path) -> bool {
    path.parent()
        .and_then(|dir| std::fs::symlink_metadata(dir.join("..data")).ok())
        .is_some_and(|meta| meta.file_type().is_symlink())
}

fn policy(args: &InventoryArgs, file: &file::Loaded) -> anyhow::Result<Policy> {
    let config = &file.config;
    let mut defaults = crate::policy::Rules::default();
    config.defaults_patch().apply(&mut defaults);
    flag_patch(args).apply(&mut defaults);

    let blocks = config
        .policy
        .iter()
        .enumerate()
        .map(|(i, block)| {
            let patterns: Vec<&str> = block.rooms.iter().map(|s| s.get_ref().as_str()).collect();
            Ok(PolicyBlock {
                label: format!("policy[{}] {}", i + 1, patterns.join(",")),
                rooms: file_globs(file, &block.rooms)?,
                patch: block.patch(),
            })
        })
        .collect::<anyhow::Result<_>>()?;

    let humans = HumanSpec {
        kinds: human_kinds(&config.human_kinds, args)?,
        not_human: if args.not_human.is_empty() {
            file_globs(file, &config.not_human)?
        } else {
            flag_globs("--not-human", &args.not_human)?
        },
    };

    // Exclusions only ever protect, so the file's and the flags' add up.
    let mut exclude: Vec<&str> = config
        .exclude_rooms
        .iter()
        .map(|s| s.get_ref().as_str())
        .collect();
    file_globs(file, &config.exclude_rooms)?;
    exclude.extend(args.exclude_rooms.iter().map(String::as_str));
    let scope = Scope {
        include: if args.rooms.is_empty() {
            None
        } else {
            Some(flag_globs("--room", &args.rooms)?)
        },
        exclude: flag_globs("--exclude-room", &exclude)?,
        shard: shard(args, std::env::var(COMPLETION_INDEX).ok().as_deref())?,
    };
    Ok(Policy {
        defaults,
        blocks,
        humans,
        scope,
        metadata_key: config.metadata_key.clone(),
    })
}

/// The variable Kubernetes sets to the pod's index in an Indexed Job.
const COMPLETION_INDEX: &str = "JOB_COMPLETION_INDEX";

/// This run's shard: `--shard K/N`, or `--shard-count N` with K from `completion_index`
/// (JOB_COMPLETION_INDEX), so the pods of an Indexed Job share one command line.
fn shard(args: &InventoryArgs, completion_index: Option<&str>) -> anyhow::Result<Option<Shard>> {
    let Some(count) = args.shard_count else {
        return Ok(args.shard);
    };
    let index = completion_index.ok_or_else(|| {
        usage(format!(
            "--shard-count {count} takes the shard from {COMPLETION_INDEX}, which is not set: it is set in the pods of a Kubernetes Indexed Job; elsewhere use --shard K/{count}"
        ))
    })?;
    let shard = index.trim().parse().ok().and_then(|k| Shard::new(k, count));
    shard.map(Some).ok_or_else(|| {
        usage(format!(
            "{COMPLETION_INDEX}={index} is not a shard of --shard-count {count} (0 to {}): set --shard-count to the Job's completions",
            count - 1
        ))
    })
}

/// The rule flags as a patch over the file's defaults.
fn flag_patch(args: &InventoryArgs) -> RulePatch {
    RulePatch {
        humanless: args.humanless,
        humanless_grace: args.humanless_grace,
        max_room_age: args.max_room_age.map(|d| Limit(Some(d))),
        max_egress_age: args.max_egress_age.map(|d| Limit(Some(d))),
        orphan_egress: args.orphan_egress.map(|s| s == Switch::On),
        orphan_grace: args.orphan_grace,
        sip_ring_limit: args.sip_ring_limit,
        ingress: args.ingress,
        silent_after: args.silent_after.map(|d| Limit(Some(d))),
        silent: args.silent,
        max_session: args.max_session.map(|d| Limit(Some(d))),
        exempt: None,
    }
}

fn glob_set<'a>(
    patterns: impl IntoIterator<Item = &'a str>,
    on_error: impl Fn(usize, String) -> anyhow::Error,
) -> anyhow::Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for (i, pattern) in patterns.into_iter().enumerate() {
        let glob = Glob::new(pattern)
            .map_err(|e| on_error(i, format!("invalid glob '{pattern}': {}", e.kind())))?;
        builder.add(glob);
    }
    builder.build().map_err(|e| on_error(0, e.to_string()))
}

fn flag_globs<S: AsRef<str>>(flag: &str, patterns: &[S]) -> anyhow::Result<GlobSet> {
    glob_set(patterns.iter().map(AsRef::as_ref), |_, msg| {
        usage(format!("{flag}: {msg} (use *, ?, [abc], {{a,b}})"))
    })
}

fn file_globs(file: &file::Loaded, patterns: &[Spanned<String>]) -> anyhow::Result<GlobSet> {
    glob_set(patterns.iter().map(|s| s.get_ref().as_str()), |i, msg| {
        let span = patterns.get(i).map_or(0..0, Spanned::span);
        file.error_at(span, &msg)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn config_from(argv: &[&str]) -> anyhow::Result<Config> {
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Sweep(sweep) = cli.command else {
            panic!("sweep expected")
        };
        Config::from_cli(&cli.global, &sweep.inventory, sweep.max_actions)
    }

    #[test]
    fn flags_beat_the_file_and_exclusions_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "url = \"ws://file:7880\"\napi_key = \"filekey\"\nmax_room_age = \"4h\"\nhumanless_grace = \"10m\"\nsip_ring_limit = \"2m\"\nexclude_rooms = [\"keep-*\"]\nmax_actions = 7\n[[policy]]\nrooms = [\"call-*\"]\nsip_ring_limit = \"15m\"\n").unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cr3t\n").unwrap();
        let p = path.to_str().unwrap();
        let s = secret.to_str().unwrap();
        let c = config_from(&[
            "lk-reaper",
            "--config",
            p,
            "--api-secret-file",
            s,
            "sweep",
            "--url",
            "https://flag.example",
            "--max-room-age",
            "1h",
            "--exclude-room",
            "vip-*",
            "--sip-ring-limit",
            "3m",
        ])
        .unwrap();
        assert_eq!(c.connection.endpoint.to_string(), "https://flag.example");
        assert_eq!(c.connection.credentials.api_key, "filekey");
        assert_eq!(c.connection.credentials.api_secret.expose(), "s3cr3t");
        assert_eq!(
            c.policy.defaults.max_room_age,
            Some(Duration::from_secs(3600))
        );
        assert_eq!(c.policy.defaults.humanless_grace, Duration::from_secs(600));
        assert_eq!(c.policy.defaults.sip_ring_limit, Duration::from_secs(180));
        assert_eq!(
            c.policy.resolve("call-1", "").rules.sip_ring_limit,
            Duration::from_secs(900),
            "a [[policy]] block overrides the flag's default"
        );
        assert_eq!(c.max_actions, 7);
        assert!(
            c.policy.scope.exclude.is_match("keep-1") && c.policy.scope.exclude.is_match("vip-1")
        );
    }

    #[test]
    fn redis_url_comes_from_the_flag_or_the_file_and_is_shown_masked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "url = \"ws://h:7880\"\napi_key = \"k\"\nredis_url = \"redis://:filepass@file:6379\"\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let base = ["lk-reaper", "--config", p, "--api-secret", "x", "sweep"];
        let from_file = config_from(&base).unwrap().redis_url.unwrap();
        assert_eq!(from_file.to_string(), "redis://:***@file:6379");
        let flag = [&base[..], &["--redis-url", "rediss://flag:6380"]].concat();
        let from_flag = config_from(&flag).unwrap().redis_url.unwrap();
        assert_eq!(from_flag.to_string(), "rediss://flag:6380");
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = config_from(&[
            "lk-reaper",
            "sweep",
            "--url",
            "ws://x",
            "--api-key",
            "k",
            "--api-secret",
            "s",
        ])
        .unwrap();
        assert_eq!(c.run.timeout, Duration::from_secs(60), "--timeout");
        assert_eq!(c.run.request_timeout, Duration::from_secs(10));
        assert_eq!(c.run.concurrency, 16);
        assert_eq!(c.max_actions, 100);
        assert_eq!(c.policy.defaults.humanless_grace, Duration::from_secs(300));
        assert_eq!(c.policy.defaults.orphan_grace, Duration::from_secs(120));
    }

    #[test]
    fn bad_input_is_a_usage_error_without_the_secret() {
        let cases: [(&[&str], &str); 5] = [
            (
                &[
                    "lk-reaper",
                    "sweep",
                    "--api-key",
                    "k",
                    "--api-secret",
                    "TOPSECRET",
                ],
                "no LiveKit server given",
            ),
            (
                &[
                    "lk-reaper",
                    "sweep",
                    "--url",
                    "ftp://x",
                    "--api-key",
                    "k",
                    "--api-secret",
                    "TOPSECRET",
                ],
                "invalid URL 'ftp://x'",
            ),
            (
                &[
                    "lk-reaper",
                    "sweep",
                    "--url",
                    "ws://x",
                    "--api-secret",
                    "TOPSECRET",
                ],
                "no API key given",
            ),
            (
                &[
                    "lk-reaper",
                    "sweep",
                    "--url",
                    "ws://x",
                    "--api-key",
                    "k",
                    "--api-secret",
                    "TOPSECRET",
                    "--api-secret-file",
                    "/nonexistent",
                ],
                "both an API secret",
            ),
            (
                &[
                    "lk-reaper",
                    "sweep",
                    "--url",
                    "ws://x",
                    "--api-key",
                    "k",
                    "--api-secret",
                    "TOPSECRET",
                    "--room",
                    "a[b",
                ],
                "--room: invalid glob 'a[b'",
            ),
        ];
        for (argv, want) in cases {
            let err = config_from(argv).unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains(want), "{argv:?}: {text}");
            assert!(!text.contains("TOPSECRET"));
            assert_eq!(
                crate::error::exit_code_of(&err),
                crate::exit_code::ExitCode::Usage
            );
        }
    }

    #[test]
    fn shard_count_takes_the_index_from_the_indexed_job() {
        let args = |shard: Option<Shard>, shard_count: Option<u32>| InventoryArgs {
            shard,
            shard_count,
            ..InventoryArgs::default()
        };
        let given = Shard::new(1, 3);
        assert_eq!(shard(&args(given, None), Some("2")).unwrap(), given);
        assert_eq!(shard(&args(None, None), Some("2")).unwrap(), None);
        assert_eq!(
            shard(&args(None, Some(4)), Some("3")).unwrap(),
            Shard::new(3, 4)
        );
        for (index, want) in [
            (None, "JOB_COMPLETION_INDEX, which is not set"),
            (
                Some("4"),
                "JOB_COMPLETION_INDEX=4 is not a shard of --shard-count 4 (0 to 3)",
            ),
            (Some("-1"), "JOB_COMPLETION_INDEX=-1 is not a shard"),
            (Some("x"), "JOB_COMPLETION_INDEX=x is not a shard"),
        ] {
            let err = shard(&args(None, Some(4)), index).unwrap_err();
            assert!(format!("{err:#}").contains(want), "{index:?}: {err:#}");
            assert_eq!(
                crate::error::exit_code_of(&err),
                crate::exit_code::ExitCode::Usage
            );
        }
    }
}
