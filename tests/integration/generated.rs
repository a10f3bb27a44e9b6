//! The checked-in man pages and completion scripts must match the clap definition.
//! Regenerate them with: LK_REAPER_BLESS=1 cargo test --test integration generated

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};
use lk_reaper::cli::Cli;

use crate::flag::env_flag;

const REFRESH: &str = "LK_REAPER_BLESS=1 cargo test --test integration generated";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares `want` with the file, or writes it when blessing.
#[track_caller]
fn check(path: &Path, want: &str) {
    if env_flag("LK_REAPER_BLESS") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}); generate it with:\n    {REFRESH}",
            path.display()
        )
    });
    assert!(
        have == want,
        "{} is out of date with the CLI definition; regenerate it with:\n    {REFRESH}",
        path.display()
    );
}

fn section(roff: &mut Roff, title: &str, paragraphs: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (term, text) in paragraphs {
        if term.is_empty() {
            roff.control("PP", []).text([roman(*text)]);
        } else {
            roff.control("TP", [])
                .text([bold(*term)])
                .text([roman(*text)]);
        }
    }
}

fn examples(roff: &mut Roff) {
    roff.control("SH", ["EXAMPLES"]);
    let examples: [(&str, &str); 13] = [
        (
            "See what a sweep would do, without changing anything:",
            "lk-reaper sweep --dry-run",
        ),
        (
            "The same as JSON for a script:",
            "lk-reaper sweep --dry-run -o json | jq '.findings[]'",
        ),
        (
            "Delete rooms older than 4 hours and stop egresses older than 3 hours:",
            "lk-reaper sweep --max-room-age 4h --max-egress-age 3h",
        ),
        (
            "Every minute from cron, never two at once:",
            "* * * * * flock -n /run/lock/lk-reaper.lock lk-reaper -q --config /etc/lk-reaper.toml sweep",
        ),
        (
            "A systemd service run by a timer, the secret from LoadCredential=livekit-secret:/etc/lk-reaper/secret:",
            "Environment=LIVEKIT_API_SECRET_FILE=%d/livekit-secret ExecStart=/usr/local/bin/lk-reaper sweep",
        ),
        (
            "A Kubernetes CronJob (concurrencyPolicy: Forbid), the secret mounted from a Secret:",
            "env LIVEKIT_API_SECRET_FILE=/var/run/secrets/livekit/secret, args [\"sweep\"]",
        ),
        (
            "One of 4 shards, in the pods of a Kubernetes Indexed Job with completions: 4:",
            "lk-reaper sweep --shard-count 4",
        ),
        (
            "A CI smoke check against staging (exit 3 when anything offends):",
            "lk-reaper sweep --dry-run --exit-code",
        ),
        (
            "The same with a JUnit test report and a summary on a GitHub Actions run's page:",
            "lk-reaper -o junit sweep --dry-run --exit-code --summary-file \"$GITHUB_STEP_SUMMARY\" > lk-reaper.xml",
        ),
        (
            "From a Kubernetes CronJob, push the run's metrics to a Prometheus Pushgateway:",
            "lk-reaper sweep --pushgateway http://prometheus-pushgateway.monitoring.svc:9091",
        ),
        (
            "Rehearse a policy on a copy of production:",
            "lk-reaper snapshot -f prod.json; lk-reaper simulate --scenario prod.json --listen 127.0.0.1:7881",
        ),
        (
            "Act on LiveKit webhooks within the grace, sweeping everything every 5 minutes (webhook: {api_key, urls: [http://HOST:8089/webhook]} in LiveKit's config):",
            "lk-reaper serve --listen 0.0.0.0:8089 --sweep-every 5m",
        ),
        ("Try it with no server at all:", "lk-reaper demo"),
    ];
    for (what, command) in examples {
        roff.control("PP", []).text([roman(what)]);
        roff.control("RS", ["4"])
            .text([bold(command)])
            .control("RE", []);
    }
    roff.control("PP", []).text([roman(
        "Ready systemd units and Kubernetes CronJobs (one pod, or an Indexed Job with --shard-count) are in the source's deploy/ folder; README.md has the serve Deployment and the CI recipe.",
    )]);
}

/// What lk-reaper refuses or cuts, so that a broken server or a bad command line cannot make
/// it hang or blow up (issue #13).
fn limits(roff: &mut Roff) {
    section(
        roff,
        "LIMITS",
        &[
            (
                "--timeout",
                "1s to 24h. --request-timeout: 100ms to 1h. Anything else is a usage error (exit 2).",
            ),
            (
                "Answers",
                "At most 64 MiB per API answer (ListRooms of 100,000 rooms is about 20 MB); a larger or endless one ends the call with one error, never a bigger allocation. Of an error answer only the first 64 KiB are read. Redirects are never followed.",
            ),
            (
                "Pages",
                "ListEgress is followed for at most 10,000 pages or 1,000,000 items, and stops at the first page token handed out twice.",
            ),
            (
                "Retries",
                "3 attempts per call for transient errors (HTTP 5xx, proxy error pages, 429, unavailable, resource_exhausted), with jittered backoff, never sooner than the server's Retry-After (seconds or an HTTP date) and never past --timeout; a rate limit pauses every call of the run.",
            ),
            (
                "Files",
                "The API secret file: a regular file of at most 64 KiB. The policy file and the lk CLI config: at most 1 MiB; a scenario file: at most 64 MiB. Devices, FIFOs and larger files are refused (exit 2). SSL_CERT_FILE: a regular file of at most 16 MiB, else exit 1.",
            ),
            (
                "Server data",
                "A room whose creation time is before 2020, 0, negative or more than 5 minutes ahead of this machine's clock is not judged (a warning says so), nor is a room with an empty name; an egress with such a start time is judged only through its room. Table cells are cut at 64 characters (reasons at 160) with an ellipsis; JSON keeps every string whole.",
            ),
        ],
    );
}

fn zombie_rooms(roff: &mut Roff) {
    section(
        roff,
        "ZOMBIE ROOMS",
        &[
            (
                "",
                "When a LiveKit node dies, its rooms stay in Redis and DeleteRoom can no longer remove them (livekit#3766): it answers 503 unavailable \"no response from servers\" after 3 s, or, once another node restarted, 500 unknown \"could not find object\". lk-reaper reports such a room as zombie, does not retry it in the run, and asks DeleteRoom with a one-second first try so zombies never hold up healthy rooms.",
            ),
            (
                "",
                "With --redis-url, rooms whose node is absent from Redis hash nodes, or silent for more than 30 s, are found before any call: rule zombie_room, action purge_room, result skipped, and their participants are ghosts, never human. With --purge-zombies their records are removed as LiveKit's own DeleteRoom would, in one Lua script that first re-checks that the room still maps to the same dead node (a room that came back is skipped_recheck). When Redis cannot be read the sweep goes on without zombie detection, with a warning.",
            ),
        ],
    );
}

/// The ENVIRONMENT section: every variable the CLI reads.
fn environment(roff: &mut Roff) {
    section(
        roff,
        "ENVIRONMENT",
        &[
            (
                "LIVEKIT_URL",
                "Server URL (ws://, wss://, http://, https://).",
            ),
            ("LIVEKIT_API_KEY", "API key."),
            (
                "LIVEKIT_API_SECRET",
                "API secret. Prefer it, or a secret file, over --api-secret: flags are visible in the process list.",
            ),
            (
                "LIVEKIT_API_SECRET_FILE",
                "File holding the API secret (systemd credentials, Kubernetes secrets); a trailing newline is trimmed.",
            ),
            (
                "LIVEKIT_PROJECT",
                "Project of the lk CLI whose url, key and secret to use.",
            ),
            ("LK_REAPER_CONFIG", "TOML policy file."),
            (
                "LK_REAPER_LISTEN",
                "Address serve listens on for webhooks, /healthz and /metrics.",
            ),
            (
                "JOB_COMPLETION_INDEX",
                "Set by Kubernetes in the pods of an Indexed Job: with --shard-count N, the shard this run takes.",
            ),
            (
                "LK_REAPER_NOTIFY_URL",
                "Webhook that receives a summary after a real sweep.",
            ),
            (
                "LK_REAPER_PUSHGATEWAY",
                "Prometheus Pushgateway that receives the run's metrics (job lk-reaper, a group per shard); its credentials are never printed.",
            ),
            (
                "LK_REAPER_SUMMARY_FILE",
                "File a Markdown summary of the run is appended to (in GitHub Actions: $GITHUB_STEP_SUMMARY).",
            ),
            (
                "LK_REAPER_REDIS_URL",
                "LiveKit's own Redis (redis:// or rediss://), read to find zombie rooms; its password is never printed.",
            ),
            (
                "LK_REAPER_STATE",
                "Memory between runs (--state): a JSON file.",
            ),
            (
                "SSL_CERT_FILE",
                "PEM bundle of trusted CAs, for a server behind a private CA; otherwise the system trust store is used. The bundle replaces the system store; set SSL_CERT_DIR=/etc/ssl/certs as well to trust both.",
            ),
            (
                "HTTPS_PROXY, HTTP_PROXY, NO_PROXY",
                "Proxy settings, read as curl reads them: loopback addresses are proxied too unless NO_PROXY lists them.",
            ),
            ("RUST_LOG", "Log filter on stderr (overrides -v / -q)."),
            ("NO_COLOR", "No colors or progress bar when set."),
        ],
    );
}

fn main_page() -> String {
    // No `help` subcommand: there is no lk-reaper-help(1) page to point at.
    let man = Man::new(Cli::command().disable_help_subcommand(true));
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    man.render_subcommands_section(&mut out).unwrap();

    let mut roff = Roff::new();
    section(
        &mut roff,
        "EXIT STATUS",
        &[
            (
                "0",
                "Ran; every planned action done (or a dry run). Zombie rooms (result zombie or skipped) do not change it: they are counted in the warnings and the metrics.",
            ),
            (
                "1",
                "Could not run: unreachable server, authentication failure, a server that breaks the protocol (a redirect, an answer past the size cap, a repeated page token), deadline passed before the inventory; or no room could be judged because every participant list failed (the report is still printed).",
            ),
            ("2", "Usage or configuration error."),
            ("3", "With --exit-code: offenders were found."),
            ("4", "Some actions failed (the rest were still attempted)."),
            ("5", "Refused by --max-actions; nothing was done."),
        ],
    );
    environment(&mut roff);
    limits(&mut roff);
    zombie_rooms(&mut roff);
    section(
        &mut roff,
        "FILES",
        &[
            (
                "~/.livekit/cli-config.yaml",
                "The lk CLI's projects, read with --project.",
            ),
            (
                "/etc/lk-reaper.toml",
                "A conventional place for the policy file given with --config; see README.md for its keys.",
            ),
        ],
    );
    examples(&mut roff);
    roff.to_writer(&mut out).unwrap();
    man.render_version_section(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn man_pages_match_the_cli() {
    check(&root().join("man/lk-reaper.1"), &main_page());
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    for sub in cmd.get_subcommands() {
        let name = format!("lk-reaper-{}", sub.get_name());
        let sub = sub.clone().name(name.clone()).display_name(name.clone());
        let mut out = Vec::new();
        Man::new(sub).render(&mut out).unwrap();
        check(
            &root().join(format!("man/{name}.1")),
            &String::from_utf8(out).unwrap(),
        );
    }
}

#[test]
fn man_page_has_the_operator_sections() {
    let page = main_page();
    for needed in [
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "LIVEKIT_API_SECRET_FILE",
        "SSL_CERT_FILE",
    ] {
        assert!(page.contains(needed), "man page lacks {needed}");
    }
}

#[test]
fn completions_match_the_cli() {
    use clap_complete::Shell;
    for (shell, file) in [
        (Shell::Bash, "lk-reaper.bash"),
        (Shell::Zsh, "_lk-reaper"),
        (Shell::Fish, "lk-reaper.fish"),
        (Shell::Elvish, "lk-reaper.elv"),
        (Shell::PowerShell, "_lk-reaper.ps1"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "lk-reaper", &mut out);
        check(
            &root().join("completions").join(file),
            &String::from_utf8(out).unwrap(),
        );
    }
}

/// Every long flag README.md shows must exist: the README drifts otherwise.
#[test]
fn readme_names_only_flags_that_exist() {
    // Flags of other programs the README's recipes call (cargo, systemctl, podman, kubectl,
    // helm, the benchmark).
    const OTHERS: [&str; 16] = [
        "--network",
        "--rm",
        "--release",
        "--profile",
        "--no-fail-fast",
        "--include-ignored",
        "--path",
        "--test",
        "--bench",
        "--now",
        "--rooms",
        "--latency-ms",
        "--repeat",
        "--from-file",
        "--set",
        "--set-json",
    ];
    let mut known: Vec<String> = Vec::new();
    let mut pending = vec![Cli::command()];
    while let Some(mut cmd) = pending.pop() {
        cmd.build();
        known.extend(
            cmd.get_arguments()
                .filter_map(|a| a.get_long())
                .map(|l| format!("--{l}")),
        );
        pending.extend(cmd.get_subcommands().cloned());
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut unknown: Vec<&str> = readme
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2 && w.as_bytes()[2].is_ascii_lowercase())
        .filter(|w| !known.iter().any(|k| k == w) && !OTHERS.contains(w))
        .collect();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "README.md names flags the CLI does not have: {unknown:?}"
    );
}

/// Every environment variable the CLI reads is documented in README.md and the man page.
#[test]
fn environment_variables_are_documented() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let page = main_page();
    let mut pending = vec![Cli::command()];
    while let Some(cmd) = pending.pop() {
        for env in cmd.get_arguments().filter_map(|a| a.get_env()) {
            let env = env.to_string_lossy();
            assert!(readme.contains(&*env), "README.md does not mention {env}");
            assert!(page.contains(&*env), "the man page does not mention {env}");
        }
        pending.extend(cmd.get_subcommands().cloned());
    }
}
