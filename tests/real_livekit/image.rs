//! The container image (Containerfile, scripts/build-image), run with podman through
//! scripts/podman: it builds small and labelled, runs as a non-root user with no network,
//! reads a mounted secret file and SSL_CERT_FILE, resolves names from /etc/hosts before DNS,
//! and lists the same rooms of the real LiveKit server as the binary outside it.
//!
//! The first test to run calls scripts/build-image (a no-op when nothing changed), so the
//! image under test is always the current source's. scripts/test builds it beforehand so
//! that the long first build does not compete with the timed tests.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{LiveKit, Options, repo_root, run_reaper};
use crate::token;

/// The image's numeric user (Containerfile, USER).
const IMAGE_UID: u32 = 65532;
/// The size the image must stay under.
const MAX_IMAGE_BYTES: u64 = 25_000_000;
/// A podman call's bound (a first run of a fresh image copies its layer with vfs).
const PODMAN_TIMEOUT: Duration = Duration::from_secs(120);
/// A name only /etc/hosts knows.
const HOST_NAME: &str = "livekit.test";

/// `localhost/lk-reaper:<version>`, built once per test process by scripts/build-image.
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let out = std::process::Command::new(repo_root().join("scripts/build-image"))
            .output()
            .expect("could not run scripts/build-image");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "scripts/build-image failed ({}):\n{stderr}",
            out.status
        );
        visible!("{}", stderr.lines().last().unwrap_or_default());
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    })
}

/// What a podman call printed.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `scripts/podman ARGS`, bounded by PODMAN_TIMEOUT.
async fn podman(args: &[&str]) -> Out {
    let mut cmd = tokio::process::Command::new(repo_root().join("scripts/podman"));
    cmd.args(args).kill_on_drop(true);
    let out = tokio::time::timeout(PODMAN_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("podman {args:?} did not finish in {PODMAN_TIMEOUT:?}"))
        .expect("could not run scripts/podman");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `podman run --rm OPTIONS IMAGE ARGS`: options before the image, lk-reaper's after.
async fn run(options: &[&str], args: &[&str]) -> Out {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(options);
    all.push(image());
    all.extend_from_slice(args);
    podman(&all).await
}

/// A detached container of the image, removed on drop.
struct Container {
    name: String,
}

impl Container {
    /// Starts `lk-reaper ARGS` in a container with no network, and waits for its first
    /// line on stdout (the simulator prints its URL when it listens).
    async fn start(label: &str, options: &[&str], args: &[&str]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("lkr-test-{}-{label}-{n}", std::process::id());
        let mut all = vec!["run", "-d", "--name", &name, "--network", "none"];
        all.extend_from_slice(options);
        all.push(image());
        all.extend_from_slice(args);
        let out = podman(&all).await;
        let container = Self { name };
        assert_eq!(out.code, 0, "could not start {}: {out}", container.name);
        container.wait_for_output().await;
        container
    }

    async fn wait_for_output(&self) {
        for _ in 0..100 {
            let logs = podman(&["logs", &self.name]).await;
            if !logs.stdout.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} printed nothing in 10s", self.name);
    }

    /// `--network container:NAME`: another container in this one's network namespace.
    fn network(&self) -> String {
        format!("container:{}", self.name)
    }

    /// The host pid of the container's process.
    async fn pid(&self) -> u32 {
        let out = podman(&["inspect", "--format", "{{.State.Pid}}", &self.name]).await;
        out.stdout.trim().parse().expect("a pid")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = std::process::Command::new(repo_root().join("scripts/podman"))
            .args(["rm", "--force", "--time", "0", &self.name])
            .output();
    }
}

/// How a secret file reaches a non-root service.
#[derive(Clone, Copy)]
enum Handover {
    /// Owned by the service's user, mode 0400 (systemd credentials).
    Owned,
    /// Root's, readable by the service's group, mode 0440 (a Kubernetes Secret with fsGroup).
    Group,
}

/// The secret `value` in a file of `dir`, handed over as `how` says to uid/gid 65532.
fn secret_file(dir: &Path, value: &str, how: Handover) -> PathBuf {
    let path = dir.join("secret");
    std::fs::write(&path, format!("{value}\n")).unwrap();
    let (owner, mode) = match how {
        Handover::Owned => (IMAGE_UID, 0o400),
        Handover::Group => (0, 0o440),
    };
    std::os::unix::fs::chown(&path, Some(owner), Some(IMAGE_UID)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn mount(host: &Path, inside: &str) -> String {
    format!("{}:{inside}:ro", host.display())
}

/// Room names of a `rooms -o json` report.
#[track_caller]
fn room_names(out: &Out) -> BTreeSet<String> {
    assert_eq!(out.code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    doc["rooms"]
        .as_array()
        .unwrap_or_else(|| panic!("no rooms: {out}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
#[ignore = "needs podman and root; scripts/test runs it"]
async fn image_is_small_non_root_and_labelled() {
    let out = podman(&["image", "inspect", image()]).await;
    assert_eq!(out.code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let image = &doc[0];
    let size = image["Size"].as_u64().unwrap();
    visible!("{}: {size} bytes", self::image());
    assert!(size < MAX_IMAGE_BYTES, "{size} bytes");
    let config = &image["Config"];
    assert_eq!(config["User"], json!(format!("{IMAGE_UID}:{IMAGE_UID}")));
    assert_eq!(config["Entrypoint"], json!(["/lk-reaper"]));
    let labels = &config["Labels"];
    assert_eq!(
        labels["org.opencontainers.image.version"],
        json!(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        labels["org.opencontainers.image.licenses"],
        json!(env!("CARGO_PKG_LICENSE"))
    );
    assert!(
        labels["org.opencontainers.image.source"].is_string(),
        "{labels}"
    );
    assert!(
        self::image().ends_with(&format!(":{}", env!("CARGO_PKG_VERSION"))),
        "{}",
        self::image()
    );
}

#[tokio::test]
#[ignore = "needs podman and root; scripts/test runs it"]
async fn version_matches_cargo_toml() {
    let out = run(&["--network", "none"], &["--version"]).await;
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        out.stdout.trim(),
        format!("lk-reaper {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
#[ignore = "needs podman and root; scripts/test runs it"]
async fn demo_passes_with_no_network() {
    let out = run(&["--network", "none"], &["demo"]).await;
    assert_eq!(out.code, 0, "{out}");
    // The same end as the binary's own demo: only the simulated zombie room is left.
    assert!(
        out.stdout
            .contains("3. Sweep again: nothing is left to do but node-b-leftover"),
        "{out}"
    );
    assert!(out.stdout.contains("zombie 1, failed 0"), "{out}");
}

#[tokio::test]
#[ignore = "needs podman and root; scripts/test runs it"]
async fn runs_as_the_non_root_user() {
    let sim = Container::start(
        "uid",
        &[],
        &["simulate", "--generate", "3", "--listen", "127.0.0.1:7880"],
    )
    .await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", sim.pid().await)).unwrap();
    for key in ["Uid:", "Gid:"] {
        let ids: Vec<&str> = status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap()
            .split_whitespace()
            .collect();
        let uid = IMAGE_UID.to_string();
        assert_eq!(ids, [uid.as_str(); 4], "{key} real, effective, saved, fs");
    }
}

/// The simulator serves TLS with a certificate for livekit.test from a throwaway CA; a
/// second container in its network namespace reaches it by that name (/etc/hosts), trusts
/// the CA through SSL_CERT_FILE and reads the API secret from a file mounted as
/// Kubernetes mounts a Secret.
#[tokio::test]
#[ignore = "needs podman and root; scripts/test runs it"]
async fn ssl_cert_file_secret_file_and_etc_hosts_work_inside() {
    const SECRET: &str = "image-test-secret-5c1d";
    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::new(dir.path());
    let scenario = dir.path().join("scenario.json");
    std::fs::write(
        &scenario,
        json!({"key": "image-key", "secret": SECRET, "rooms": [
            {"name": "tls-room", "age_s": 60, "participants": []}]})
        .to_string(),
    )
    .unwrap();
    let sim = Container::start(
        "tls",
        &[
            "-v",
            &mount(&scenario, "/scenario.json"),
            "-v",
            &mount(&tls.cert, "/tls/cert.pem"),
            "-v",
            &mount(&tls.key, "/tls/key.pem"),
        ],
        &[
            "simulate",
            "--scenario",
            "/scenario.json",
            "--listen",
            "127.0.0.1:7443",
            "--tls-cert",
            "/tls/cert.pem",
            "--tls-key",
            "/tls/key.pem",
        ],
    )
    .await;
    let secret = secret_file(dir.path(), SECRET, Handover::Group);
    let network = sim.network();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1 {HOST_NAME}\n")).unwrap();
    let common = [
        "--network",
        &network,
        "-v",
        &mount(&hosts, "/etc/hosts"),
        "-v",
        &mount(&secret, "/run/secrets/livekit/secret"),
        "-e",
        "LIVEKIT_API_SECRET_FILE=/run/secrets/livekit/secret",
        "-e",
        "LIVEKIT_API_KEY=image-key",
    ];
    let url = format!("https://{HOST_NAME}:7443");
    let args = ["rooms", "-o", "json", "--url", &url];

    let mut trusting = common.to_vec();
    let ca = mount(&tls.ca, "/etc/lk-reaper/ca.pem");
    trusting.extend(["-v", &ca, "-e", "SSL_CERT_FILE=/etc/lk-reaper/ca.pem"]);
    let out = run(&trusting, &args).await;
    assert_eq!(room_names(&out), BTreeSet::from(["tls-room".to_owned()]));
    assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));
    // Group-readable is how Kubernetes hands a Secret to a non-root pod: no warning.
    assert!(!out.stderr.contains("readable by"), "{out}");

    // Without SSL_CERT_FILE the image's own bundle is what is trusted, and it lacks the CA.
    let out = run(&common, &args).await;
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("certificate"), "{out}");
    assert!(
        !out.stderr.contains("no trusted CA certificates"),
        "the image's CA bundle was not found: {out}"
    );
}

/// A throwaway CA and a server certificate for HOST_NAME, as PEM files.
struct Tls {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Tls {
    fn new(dir: &Path) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![HOST_NAME.to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let tls = Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&tls.ca, ca.pem()).unwrap();
        std::fs::write(&tls.cert, cert.pem()).unwrap();
        std::fs::write(&tls.key, key.serialize_pem()).unwrap();
        tls
    }
}

/// The real server in its namespace; the image runs in that namespace too and reaches the
/// server by a name only /etc/hosts knows, while a DNS server (on the namespace's peer
/// address) answers "no such name" to everything: the image's nsswitch.conf must make
/// glibc read /etc/hosts first. Rooms and the dry-run plan must match the binary's.
#[tokio::test]
#[ignore = "needs the real LiveKit server and podman; scripts/test runs it"]
async fn lists_the_same_rooms_as_the_binary_on_the_real_server() {
    let lk = LiveKit::start_for("image_real_server", Options::default()).await;
    for room in ["image-a", "image-b", "image-c"] {
        lk.create_room(room, 0, 0, "").await.unwrap();
    }
    let dns = NxDomain::start(lk.ns.host_addr);
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path(), token::API_SECRET, Handover::Owned);
    let network = format!("ns:/run/netns/{}", lk.ns.name);
    let add_host = format!("{HOST_NAME}:{}", lk.ns.addr);
    let dns_server = lk.ns.host_addr.to_string();
    let url = format!("http://{HOST_NAME}:{}", crate::harness::HTTP_PORT);
    let options = [
        "--network",
        &network,
        "--add-host",
        &add_host,
        "--dns",
        &dns_server,
        "-v",
        &mount(&secret, "/run/secrets/livekit/secret"),
        "-e",
        "LIVEKIT_API_SECRET_FILE=/run/secrets/livekit/secret",
        "-e",
        &format!("LIVEKIT_API_KEY={}", token::API_KEY),
        "-e",
        &format!("LIVEKIT_URL={url}"),
    ];
    let rooms = ["rooms", "-o", "json"];
    let dry_run = [
        "sweep",
        "--dry-run",
        "-o",
        "json",
        "--humanless-grace",
        "0s",
    ];

    let inside = run(&options, &rooms).await;
    let (code, stdout, stderr) = run_reaper(&lk, &rooms).await.unwrap();
    let outside = Out {
        code,
        stdout,
        stderr,
    };
    let names = room_names(&outside);
    assert!(names.contains("image-a"), "{outside}");
    assert_eq!(room_names(&inside), names);

    let inside = run(&options, &dry_run).await;
    let (code, stdout, _) = run_reaper(&lk, &dry_run).await.unwrap();
    assert_eq!(inside.code, code, "{inside}");
    let plan = |json: &str| -> BTreeSet<(String, String)> {
        let doc: Value = serde_json::from_str(json).unwrap();
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["room"].to_string(), f["action"].to_string()))
            .collect()
    };
    assert_eq!(plan(&inside.stdout), plan(&stdout), "{inside}");
    assert_eq!(plan(&stdout).len(), 3, "{stdout}");

    // The same run with upstream glibc's default order (DNS first, nsswitch.conf(5)) stops
    // at DNS's answer: the image's nsswitch.conf is what makes /etc/hosts win above.
    let upstream = dir.path().join("nsswitch.conf");
    std::fs::write(&upstream, "hosts: dns [!UNAVAIL=return] files\n").unwrap();
    let mut dns_first = options.to_vec();
    let nsswitch = mount(&upstream, "/etc/nsswitch.conf");
    dns_first.extend(["-v", &nsswitch]);
    assert_eq!(dns.queries(), 0, "/etc/hosts should have answered first");
    let out = run(&dns_first, &rooms).await;
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("could not resolve"), "{out}");
    assert!(dns.queries() > 0, "the DNS server was never asked: {out}");
}

/// A DNS server on UDP port 53 of `addr` that answers every query with NXDOMAIN.
struct NxDomain {
    queries: Arc<AtomicUsize>,
}

impl NxDomain {
    fn start(addr: Ipv4Addr) -> Self {
        let socket = UdpSocket::bind(SocketAddr::from((addr, 53))).expect("bind DNS port 53");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&queries);
        // The thread ends when the test drops the counter (it holds the only other Arc).
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while Arc::strong_count(&counter) > 1 {
                let Ok((len, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(answer) = nxdomain(&buf[..len]) {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.send_to(&answer, peer);
                }
            }
        });
        Self { queries }
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

/// The NXDOMAIN answer to `query`: its id and question, no records.
fn nxdomain(query: &[u8]) -> Option<Vec<u8>> {
    const HEADER: usize = 12;
    let mut end = HEADER;
    while *query.get(end)? != 0 {
        end += 1 + usize::from(query[end]);
    }
    let question = query.get(HEADER..end + 5)?;
    let mut answer = vec![query[0], query[1], 0x80 | (query[2] & 0x01), 0x83];
    answer.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    answer.extend_from_slice(question);
    Some(answer)
}
