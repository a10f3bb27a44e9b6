//! A simulator in a child process: the built `lk-reaper simulate`, started on a free
//! loopback port, read through `/_sim/state` and `/_sim/stats`, killed on drop.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// The built binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_lk-reaper");

/// How long a simulator may take to print its URL.
const STARTUP: Duration = Duration::from_secs(20);

/// A running `lk-reaper simulate`.
pub struct SimProcess {
    child: Child,
    url: String,
    dir: TempDir,
    client: reqwest::Client,
    root_ca: Option<String>,
    // Kept open so that the simulator never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl SimProcess {
    /// Serves `scenario` on a free loopback port.
    #[track_caller]
    pub fn start(scenario: &Value) -> SimProcess {
        SimProcess::start_with(scenario, &[], None)
    }

    /// Serves `scenario` with extra `simulate` arguments; `root_ca` (PEM) is trusted by
    /// [`SimProcess::client`] when the simulator serves TLS.
    #[track_caller]
    pub fn start_with(scenario: &Value, args: &[&str], root_ca: Option<&str>) -> SimProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("scenario.json");
        fs::write(&file, scenario.to_string()).expect("write scenario");
        let file = file.to_str().expect("UTF-8 temp path").to_owned();
        let args: Vec<&str> = ["--scenario", file.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        SimProcess::spawn(dir, &args, root_ca)
    }

    /// Serves a `--generate`d fleet.
    #[track_caller]
    pub fn generate(rooms: usize, seed: u64) -> SimProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let (rooms, seed) = (rooms.to_string(), seed.to_string());
        SimProcess::spawn(dir, &["--generate", &rooms, "--seed", &seed], None)
    }

    #[track_caller]
    fn spawn(dir: TempDir, args: &[&str], root_ca: Option<&str>) -> SimProcess {
        let stderr = fs::File::create(dir.path().join("stderr")).expect("stderr file");
        let mut child = Command::new(BIN)
            .arg("simulate")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn lk-reaper simulate");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (url, stdout) = first_line(stdout).unwrap_or_else(|| {
            let _ = child.kill();
            let status = child.wait().ok();
            panic!(
                "simulate printed no URL within {STARTUP:?} (status {status:?})\nargs: {args:?}\nstderr:\n{}",
                fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
            )
        });
        SimProcess {
            child,
            url,
            dir,
            client: client(root_ca),
            root_ca: root_ca.map(str::to_owned),
            _stdout: stdout,
        }
    }

    /// The base URL the simulator printed, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An HTTP client that trusts the simulator (its TLS root too).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `GET /_sim/state`: the current state in the scenario format.
    #[track_caller]
    pub fn state(&self) -> Value {
        self.get_json("/_sim/state")
    }

    /// `GET /_sim/stats`: calls received per method, e.g. `{"ListRooms": 1, ...}`.
    #[track_caller]
    pub fn stats(&self) -> Value {
        self.get_json("/_sim/stats")
    }

    /// `GET /_sim/calls`: the latest calls' token lifetime, grants and timeout header, and
    /// the most calls in flight at once.
    #[track_caller]
    pub fn call_log(&self) -> Value {
        self.get_json("/_sim/calls")
    }

    /// The calls of one method received so far.
    #[track_caller]
    pub fn calls(&self, method: &str) -> u64 {
        self.stats()[method].as_u64().expect("a count per method")
    }

    /// One egress of the current state, by id.
    #[track_caller]
    pub fn egress(&self, egress_id: &str) -> Value {
        let state = self.state();
        let egresses = state["egresses"].as_array().expect("egresses");
        egresses
            .iter()
            .find(|e| e["egress_id"] == egress_id)
            .cloned()
            .unwrap_or_else(|| panic!("no egress {egress_id} in {state}"))
    }

    /// Names of the rooms that exist now.
    #[track_caller]
    pub fn room_names(&self) -> Vec<String> {
        let state = self.state();
        let rooms = state["rooms"].as_array().expect("rooms");
        rooms
            .iter()
            .map(|r| r["name"].as_str().expect("room name").to_owned())
            .collect()
    }

    /// Every participant's identity, in every room, sorted.
    pub fn identities(&self) -> Vec<String> {
        let state = self.state();
        let rooms = state["rooms"].as_array().expect("rooms");
        let mut names: Vec<String> = rooms
            .iter()
            .flat_map(|r| r["participants"].as_array().expect("participants").clone())
            .map(|p| p["identity"].as_str().expect("identity").to_owned())
            .collect();
        names.sort();
        names
    }

    // Works from sync tests and from inside a tokio runtime alike: the request runs on a
    // thread of its own with a runtime and a client of its own (a pooled connection of the
    // caller's runtime would wait for that runtime, which this call blocks).
    #[track_caller]
    fn get_json(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.url);
        let client = client(self.root_ca.as_deref());
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    runtime.block_on(async {
                        let response = client.get(&url).send().await.expect("GET");
                        assert!(
                            response.status().is_success(),
                            "GET {url}: {}",
                            response.status()
                        );
                        response.json::<Value>().await.expect("JSON body")
                    })
                })
                .join()
                .expect("GET thread")
        })
    }

    /// Sends a signal (`TERM`, `INT`) and waits (at most 10 s) for the exit.
    #[track_caller]
    pub fn signal(&mut self, name: &str) -> ExitStatus {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} failed");
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("simulate did not stop within 10 s of SIG{name}");
    }

    /// What the simulator wrote on stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn first_line(mut stdout: BufReader<ChildStdout>) -> Option<(String, BufReader<ChildStdout>)> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let _ = sender.send(read.ok().filter(|&n| n > 0).map(|_| (line, stdout)));
    });
    let (line, stdout) = receiver.recv_timeout(STARTUP).ok()??;
    Some((line.trim_end().to_owned(), stdout))
}

/// A reqwest client with rustls (ring), trusting `root_ca` (PEM) if given.
pub fn client(root_ca: Option<&str>) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = root_ca {
        let ca = CertificateDer::from_pem_slice(pem.as_bytes()).expect("CA PEM");
        roots.add(ca).expect("CA certificate");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// Runs `lk-reaper ARGS` to completion (no simulator kept running).
/// The machine's proxy settings are left out: the simulator is on loopback, and reqwest
/// would send even loopback calls through a proxy.
pub fn run(args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run lk-reaper")
}

/// A scenario from `tests/integration/scenarios/`.
#[track_caller]
pub fn scenario(name: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/integration/scenarios",
        name,
    ]
    .iter()
    .collect();
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("scenario JSON")
}
