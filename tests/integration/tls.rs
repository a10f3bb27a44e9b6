//! Reaching LiveKit over TLS and through proxies: the built binary against `lk-reaper
//! simulate --tls-cert --tls-key`, with a throwaway CA made at run time (rcgen), Debian's
//! tinyproxy as a forward proxy and nginx as an independent TLS terminator. All traffic stays
//! on loopback. The tests that need tinyproxy, nginx or root carry `#[ignore]`; run (as
//! scripts/test runs them, `--include-ignored`), a missing one is a failure.

use std::collections::BTreeSet;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::harness::{BIN, SimProcess};

const SECRET: &str = "tls-test-secret-7f3e9a";

/// Variables that would change where the child connects or what it trusts.
const AMBIENT: &[&str] = &[
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
    "LIVEKIT_URL",
    "LIVEKIT_PROJECT",
    "LIVEKIT_API_SECRET_FILE",
    "LK_REAPER_CONFIG",
];

/// Two rooms and two egresses: one room and one egress offend (humanless, orphan).
fn scenario() -> Value {
    json!({
        "key": "tls-key",
        "secret": SECRET,
        "rooms": [
            {"name": "empty-old", "age_s": 3600, "participants": []},
            {"name": "busy", "age_s": 3600, "participants": [
                {"identity": "alice", "kind": "STANDARD", "joined_s_ago": 3000, "state": "ACTIVE", "tracks": 1}]}
        ],
        "egresses": [
            {"egress_id": "EG_orphan", "room_name": "gone", "type": "track", "status": "EGRESS_ACTIVE", "started_s_ago": 1000},
            {"egress_id": "EG_busy", "room_name": "busy", "type": "room_composite", "status": "EGRESS_ACTIVE", "started_s_ago": 1000}
        ]
    })
}

/// A throwaway certificate authority in a temp dir.
pub struct Pki {
    dir: TempDir,
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Pki {
    pub fn new() -> Pki {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "lk-reaper test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(params, key).unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca,
        };
        fs::write(pki.ca_file(), pki.ca.pem()).unwrap();
        pki
    }

    /// The CA's PEM file, for SSL_CERT_FILE.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn ca_file_str(&self) -> String {
        self.ca_file().to_str().unwrap().to_owned()
    }

    /// A leaf for `names`, signed by this CA; already expired when `expired`.
    pub fn leaf(&self, label: &str, names: &[&str], expired: bool) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let (cert_file, key_file) = (
            self.dir.path().join(format!("{label}.pem")),
            self.dir.path().join(format!("{label}.key")),
        );
        fs::write(&cert_file, cert.pem()).unwrap();
        fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }

    /// A simulator serving TLS with a leaf for `names`.
    fn sim(&self, label: &str, names: &[&str], expired: bool) -> SimProcess {
        let (cert, key) = self.leaf(label, names, expired);
        let args = [
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ];
        let sim = SimProcess::start_with(&scenario(), &args, Some(&self.ca.pem()));
        assert!(sim.url().starts_with("https://127.0.0.1:"), "{}", sim.url());
        sim
    }
}

/// Runs the built binary with `args`, the test credentials and exactly the `env` given
/// (ambient TLS, proxy and LiveKit variables removed).
fn reaper(args: &[&str], env: &[(&str, &str)]) -> Output {
    run(&mut Command::new(BIN), args, env)
}

fn run(command: &mut Command, args: &[&str], env: &[(&str, &str)]) -> Output {
    for name in AMBIENT {
        command.env_remove(name);
    }
    command
        .args(args)
        .env("LIVEKIT_API_KEY", "tls-key")
        .env("LIVEKIT_API_SECRET", SECRET)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run lk-reaper")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn json_report(out: &Output, what: &str) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: {e}\n{}", text(&out.stdout)))
}

/// (target, room, egress, action, result) of every finding.
fn verdicts(report: &Value) -> BTreeSet<(String, String, String, String, String)> {
    let field = |f: &Value, k: &str| f[k].as_str().unwrap_or("").to_owned();
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                field(f, "target"),
                field(f, "room"),
                field(f, "egress_id"),
                field(f, "action"),
                field(f, "result"),
            )
        })
        .collect()
}

fn expected(result: &str) -> BTreeSet<(String, String, String, String, String)> {
    [
        ("room", "empty-old", "", "delete_room"),
        ("egress", "gone", "EG_orphan", "stop_egress"),
    ]
    .into_iter()
    .map(|(t, r, e, a)| (t.into(), r.into(), e.into(), a.into(), result.into()))
    .collect()
}

fn rooms(sim: &SimProcess) -> Vec<String> {
    let mut names = sim.room_names();
    names.sort();
    names
}

fn sweep(url: &str, dry_run: bool, env: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "sweep",
        "--url",
        url,
        "-o",
        "json",
        "--request-timeout",
        "5s",
    ];
    if dry_run {
        args.push("--dry-run");
    }
    reaper(&args, env)
}

#[test]
fn dry_run_and_sweep_over_https_and_wss_trust_the_ca_in_ssl_cert_file() {
    let pki = Pki::new();
    for scheme in ["https", "wss"] {
        let sim = pki.sim(scheme, &["127.0.0.1", "localhost"], false);
        let url = sim.url().replacen("https", scheme, 1);
        let ca = pki.ca_file_str();
        let env = [("SSL_CERT_FILE", ca.as_str())];

        let dry = json_report(&sweep(&url, true, &env), &format!("{scheme} dry run"));
        assert_eq!(verdicts(&dry), expected("planned"), "{scheme}: {dry:#}");
        assert_eq!(rooms(&sim), ["busy", "empty-old"], "{scheme}");
        assert_eq!(sim.calls("DeleteRoom") + sim.calls("StopEgress"), 0);

        let real = json_report(&sweep(&url, false, &env), &format!("{scheme} sweep"));
        assert_eq!(verdicts(&real), expected("done"), "{scheme}: {real:#}");
        assert_eq!(rooms(&sim), ["busy"], "{scheme}");
        assert_ne!(
            sim.egress("EG_orphan")["status"],
            "EGRESS_ACTIVE",
            "{scheme}"
        );
        assert_eq!(sim.egress("EG_busy")["status"], "EGRESS_ACTIVE", "{scheme}");
        assert_eq!(
            (sim.calls("DeleteRoom"), sim.calls("StopEgress")),
            (1, 1),
            "{scheme}"
        );
    }
}

/// SSL_CERT_FILE alone replaces the system store; SSL_CERT_DIR beside it adds a directory
/// (e.g. /etc/ssl/certs, to keep the public roots for a --notify-url webhook).
#[test]
fn ssl_cert_dir_adds_its_cas_to_those_of_ssl_cert_file() {
    let pki = Pki::new();
    let sim = pki.sim("dir", &["127.0.0.1"], false);
    let other = Pki::new();
    let (other_ca, dir) = (other.ca_file_str(), pki.dir.path().join("certs"));
    fs::create_dir(&dir).unwrap();
    fs::copy(pki.ca_file(), dir.join("test-ca.pem")).unwrap();
    let env = [
        ("SSL_CERT_FILE", other_ca.as_str()),
        ("SSL_CERT_DIR", dir.to_str().unwrap()),
    ];
    let dry = json_report(&sweep(sim.url(), true, &env), "CA in SSL_CERT_DIR");
    assert_eq!(verdicts(&dry), expected("planned"));
}

/// What the case is, the URL, the environment, and what stderr must say.
type FailureCase<'a> = (&'a str, String, &'a [(&'a str, &'a str)], &'a [&'a str]);

/// Exit 1, one line on stderr that starts with "error:" and holds `want`, no panic, no
/// secret, nothing on stdout.
#[track_caller]
fn assert_fails(case: &str, out: &Output, want: &[&str]) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let context = format!("{case}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{context}");
    assert!(stderr.starts_with("error: "), "{context}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{context}");
    for part in want {
        assert!(stderr.contains(part), "want {part:?}: {context}");
    }
    assert!(!stderr.contains("panicked"), "{context}");
    assert!(!format!("{stdout}{stderr}").contains(SECRET), "{context}");
    assert!(stdout.is_empty(), "{context}");
}

#[test]
fn each_tls_failure_is_one_line_naming_its_fix() {
    let pki = Pki::new();
    let good = pki.sim("good", &["127.0.0.1", "localhost"], false);
    let localhost_only = pki.sim("localhost-only", &["localhost"], false);
    let expired = pki.sim("expired", &["127.0.0.1"], true);
    let plain = SimProcess::start(&scenario());
    let ca = pki.ca_file_str();
    let other_ca = Pki::new();
    let other_ca = other_ca.ca_file_str();
    let missing = pki.dir.path().join("no-such-ca.pem");
    let missing = missing.to_str().unwrap();
    let tls_port = good.url().rsplit(':').next().unwrap().to_owned();
    let plain_port = plain.url().rsplit(':').next().unwrap().to_owned();
    let with_ca = [("SSL_CERT_FILE", ca.as_str())];

    let cases: &[FailureCase] = &[
        (
            "untrusted: the system store does not hold the test CA",
            good.url().to_owned(),
            &[],
            &["not trusted", "SSL_CERT_FILE"],
        ),
        (
            "untrusted: SSL_CERT_FILE names another CA (and replaces the system store)",
            good.url().to_owned(),
            &[("SSL_CERT_FILE", other_ca.as_str())],
            &["not trusted", "SSL_CERT_FILE"],
        ),
        (
            "SSL_CERT_FILE names a file that does not exist",
            good.url().to_owned(),
            &[("SSL_CERT_FILE", missing)],
            &["SSL_CERT_FILE=", "cannot read", "No such file"],
        ),
        (
            "the certificate is for localhost, the URL says 127.0.0.1",
            localhost_only.url().to_owned(),
            &with_ca,
            &["certificate is for localhost", "check the host name"],
        ),
        (
            "the certificate expired",
            expired.url().replacen("https", "wss", 1),
            &with_ca,
            &["certificate expired on 2021-01-01"],
        ),
        (
            "http:// pointed at the TLS port",
            format!("http://127.0.0.1:{tls_port}"),
            &with_ca,
            &["use https:// or wss://"],
        ),
        (
            "https:// pointed at a plain-http port",
            format!("https://127.0.0.1:{plain_port}"),
            &with_ca,
            &["does not speak TLS on this port", "http://"],
        ),
    ];
    for (case, url, env, want) in cases {
        let started = Instant::now();
        assert_fails(case, &sweep(url, true, env), want);
        assert!(started.elapsed() < Duration::from_secs(5), "{case}: slow");
    }
}

/// glibc sends even a reserved `.invalid` name to the configured name server, which need not
/// be on loopback: so the lookup runs in a network namespace of its own, where it fails
/// without a packet leaving.
#[test]
#[ignore = "needs root for a network namespace (unshare --net); scripts/test runs it"]
fn a_host_name_that_does_not_resolve_is_named() {
    let isolated = Command::new("unshare")
        .args(["--net", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        isolated,
        "unshare --net failed: this test needs root (a lookup must not leave the machine)"
    );
    let out = run(
        Command::new("unshare").args(["--net", BIN]),
        &[
            "sweep",
            "--dry-run",
            "--url",
            "wss://lk-reaper-test.invalid:7880",
        ],
        &[],
    );
    assert_fails(
        "a host name that does not resolve",
        &out,
        &[
            "could not resolve the host of https://lk-reaper-test.invalid:7880",
            "check the host name",
        ],
    );
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A helper program started by a test, killed on drop.
struct Daemon {
    child: Child,
    port: u16,
    dir: TempDir,
    name: &'static str,
}

impl Daemon {
    /// Starts `program` (looked up on PATH) with `args`; `config` gets `{dir}` and `{port}`
    /// filled in and is written to `dir/name.conf`, whose path replaces `{conf}` in `args`.
    /// Fails the test when the program is not installed.
    fn start(program: &'static str, config: &str, args: &[&str]) -> Daemon {
        let path = installed(program)
            .unwrap_or_else(|| panic!("{program} is not installed: run scripts/install-test-deps"));
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let dir_str = dir.path().to_str().unwrap();
        let conf = dir.path().join(format!("{program}.conf"));
        let body = config
            .replace("{dir}", dir_str)
            .replace("{port}", &port.to_string());
        fs::write(&conf, body).unwrap();
        let conf = conf.to_str().unwrap();
        let args: Vec<String> = args.iter().map(|a| a.replace("{conf}", conf)).collect();
        let log = fs::File::create(dir.path().join("output")).unwrap();
        let child = Command::new(path)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        let mut daemon = Daemon {
            child,
            port,
            dir,
            name: program,
        };
        daemon.wait_listening();
        daemon
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited ({status}): {}", self.name, self.read("output"));
            }
            assert!(Instant::now() < deadline, "{} did not listen", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn read(&self, file: &str) -> String {
        fs::read_to_string(self.dir.path().join(file)).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `program` is installed: on PATH, or in /usr/sbin (nginx), which a user's PATH may lack.
fn installed(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Debian's tinyproxy on a free loopback port, logging every request line.
fn tinyproxy() -> Daemon {
    let config = r#"Port {port}
Listen 127.0.0.1
Timeout 30
LogFile "{dir}/tinyproxy.log"
LogLevel Connect
PidFile "{dir}/tinyproxy.pid"
MaxClients 64
Allow 127.0.0.1
DisableViaHeader Yes
"#;
    Daemon::start("tinyproxy", config, &["-d", "-c", "{conf}"])
}

/// The request lines tinyproxy logged that contain `needle`, once the count stops changing.
fn proxied(proxy: &Daemon, needle: &str) -> usize {
    let count = || {
        proxy
            .read("tinyproxy.log")
            .lines()
            .filter(|l| l.contains("Request (file descriptor") && l.contains(needle))
            .count()
    };
    let mut last = count();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(25));
        let now = count();
        if now == last {
            break;
        }
        last = now;
    }
    last
}

#[test]
#[ignore = "needs tinyproxy (scripts/install-test-deps); scripts/test runs it"]
fn proxies_carry_the_sweep_and_no_proxy_goes_direct() {
    let proxy = tinyproxy();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let pki = Pki::new();
    let ca = pki.ca_file_str();

    // https:// through HTTPS_PROXY: a CONNECT tunnel, TLS end to end with the private CA.
    // No NO_PROXY: reqwest (like curl, unlike Go) proxies loopback too.
    let tls_sim = pki.sim("proxied", &["127.0.0.1"], false);
    let authority = tls_sim.url().trim_start_matches("https://").to_owned();
    let env = [
        ("SSL_CERT_FILE", ca.as_str()),
        ("HTTPS_PROXY", proxy_url.as_str()),
    ];
    let real = json_report(&sweep(tls_sim.url(), false, &env), "sweep via HTTPS_PROXY");
    assert_eq!(verdicts(&real), expected("done"));
    assert_eq!(rooms(&tls_sim), ["busy"]);
    let tunnels = proxied(&proxy, &format!("CONNECT {authority} "));
    assert!(
        tunnels >= 1,
        "no CONNECT in:\n{}",
        proxy.read("tinyproxy.log")
    );

    // http:// through HTTP_PROXY: the proxy sees every call, one request line each.
    let plain = SimProcess::start(&scenario());
    let base = plain.url().to_owned();
    let env = [("HTTP_PROXY", proxy_url.as_str())];
    let real = json_report(&sweep(&base, false, &env), "sweep via HTTP_PROXY");
    assert_eq!(verdicts(&real), expected("done"));
    for (service, method) in [
        ("RoomService", "ListRooms"),
        ("RoomService", "ListParticipants"),
        ("Egress", "ListEgress"),
        ("Egress", "StopEgress"),
        ("RoomService", "DeleteRoom"),
    ] {
        let line = format!("POST {base}/twirp/livekit.{service}/{method} ");
        let seen = proxied(&proxy, &line);
        assert!(
            seen >= 1,
            "{method} not proxied:\n{}",
            proxy.read("tinyproxy.log")
        );
        assert_eq!(seen as u64, plain.calls(method), "{method}");
    }

    // NO_PROXY naming the host: the proxy sees nothing new, the run still works.
    let before = proxied(&proxy, "Request");
    let env = [
        ("HTTP_PROXY", proxy_url.as_str()),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ];
    let dry = json_report(&sweep(&base, true, &env), "dry run with NO_PROXY");
    assert!(verdicts(&dry).is_empty(), "{dry:#}");
    assert_eq!(proxied(&proxy, "Request"), before, "NO_PROXY was ignored");

    // A proxy that is not there: the message blames the proxy, not the server.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let env = [
        ("SSL_CERT_FILE", ca.as_str()),
        ("HTTPS_PROXY", dead.as_str()),
    ];
    assert_fails(
        "HTTPS_PROXY names a port nobody listens on",
        &sweep(tls_sim.url(), true, &env),
        &[&format!("through proxy {dead}"), "HTTPS_PROXY"],
    );
}

/// Debian's nginx terminating TLS (OpenSSL) with its own CA in front of `upstream`.
fn nginx(upstream: &str, cert: &Path, key: &Path) -> Daemon {
    let config = format!(
        r"daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {{dir}}/access.log;
    client_body_temp_path {{dir}}/body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;
    server {{
        listen 127.0.0.1:{{port}} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection '';
        }}
    }}
}}
",
        cert = cert.display(),
        key = key.display(),
    );
    Daemon::start(
        "nginx",
        &config,
        &["-e", "{dir}/error.log", "-p", "{dir}", "-c", "{conf}"],
    )
}

#[test]
#[ignore = "needs nginx (scripts/install-test-deps); scripts/test runs it"]
fn an_nginx_tls_terminator_gets_the_same_verdicts_as_plain_http() {
    let sim = SimProcess::start(&scenario());
    let pki = Pki::new();
    let (cert, key) = pki.leaf("nginx", &["localhost"], false);
    let terminator = nginx(sim.url(), &cert, &key);
    let ca = pki.ca_file_str();
    let env = [("SSL_CERT_FILE", ca.as_str())];
    let direct = json_report(&sweep(sim.url(), true, &[]), "plain http, direct");
    assert_eq!(verdicts(&direct), expected("planned"));
    for scheme in ["https", "wss"] {
        let url = format!("{scheme}://localhost:{}", terminator.port);
        let over_tls = json_report(&sweep(&url, true, &env), &format!("{scheme} via nginx"));
        assert_eq!(verdicts(&over_tls), verdicts(&direct), "{scheme}");
        assert_eq!(
            over_tls["findings"].as_array().unwrap().len(),
            direct["findings"].as_array().unwrap().len()
        );
        assert_eq!(over_tls["rooms_scanned"], direct["rooms_scanned"]);
        assert_eq!(over_tls["egresses_scanned"], direct["egresses_scanned"]);
    }
    let served = terminator.read("access.log");
    assert!(
        served.contains("POST /twirp/livekit.RoomService/ListRooms"),
        "{served}"
    );

    // What a real load balancer answers to plain HTTP on its TLS port.
    assert_fails(
        "http:// pointed at nginx's TLS port",
        &sweep(&format!("http://localhost:{}", terminator.port), true, &env),
        &["expects TLS", "use https:// or wss://"],
    );
}
