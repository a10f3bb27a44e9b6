//! A network namespace of the test run's own, joined to the root namespace by a veth pair.
//!
//! Network rule: test traffic goes only to loopback or to the addresses of namespaces this
//! run made. The namespace gets `lo` and one veth end (`10.203.X.2/24`); the root namespace
//! holds the other end (`10.203.X.1/24`). The namespace has no default route, so nothing in
//! it can reach any other address. A guard process (its own process group, ignoring
//! SIGINT/SIGTERM/SIGHUP) kills everything inside the namespace and deletes it when told
//! to, or when this test process dies and its stdin pipe closes: nothing is left running
//! even after a panic or a kill.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Where subnet claims live: one file per `10.203.X.0/24` in use, holding the owner's pid.
const LOCK_DIR: &str = "/tmp/lk-reaper-netns";

/// A namespace `lkr-<pid>-<n>` with its veth pair; deleted (with everything in it) on drop.
pub struct Netns {
    /// The namespace name, for `ip netns exec`.
    pub name: String,
    /// The namespace's own address (servers bind here; the test process talks to it).
    pub addr: Ipv4Addr,
    /// The root namespace's end of the veth pair.
    pub host_addr: Ipv4Addr,
    guard: Option<(Child, ChildStdin)>,
}

impl Netns {
    /// Creates the namespace, its veth pair and addresses, and arms the cleanup guard.
    pub fn create() -> Result<Self> {
        clean_stale();
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("lkr-{pid}-{n}");
        let host_if = format!("lkr{pid}x{n}");
        let (subnet, lock) = claim_subnet()?;
        let addr = Ipv4Addr::new(10, 203, subnet, 2);
        let host_addr = Ipv4Addr::new(10, 203, subnet, 1);
        let guard = spawn_guard(&name, &host_if, &lock)?;
        let netns = Self {
            name,
            addr,
            host_addr,
            guard: Some(guard),
        };
        netns
            .configure(&host_if)
            .with_context(|| format!("could not set up {}", netns.name))?;
        Ok(netns)
    }

    fn configure(&self, host_if: &str) -> Result<()> {
        let ns = self.name.as_str();
        run(&["ip", "netns", "add", ns])?;
        run(&[
            "ip", "link", "add", host_if, "type", "veth", "peer", "name", "veth0", "netns", ns,
        ])?;
        // No IPv6 anywhere near the test: WebRTC would also gather link-local candidates.
        run(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{host_if}.disable_ipv6=1"),
        ])?;
        run(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
        ])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", self.host_addr),
            "dev",
            host_if,
        ])?;
        run(&["ip", "link", "set", host_if, "up"])?;
        run(&[
            "ip",
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/24", self.addr),
            "dev",
            "veth0",
        ])?;
        run(&["ip", "-n", ns, "link", "set", "veth0", "up"])?;
        run(&["ip", "-n", ns, "link", "set", "lo", "up"])
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// A tokio command that runs `program` inside the namespace (killed when dropped).
    pub fn tokio_command(&self, program: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program])
            .kill_on_drop(true);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let Some((mut child, mut stdin)) = self.guard.take() else {
            return;
        };
        let _ = writeln!(stdin, "now");
        drop(stdin);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "warning: cleanup of namespace {} did not finish in 10s",
            self.name
        );
    }
}

/// The guard: waits for a line or EOF on stdin, then kills and deletes.
fn spawn_guard(ns: &str, host_if: &str, lock: &Path) -> Result<(Child, ChildStdin)> {
    let script = format!(
        "trap '' INT TERM HUP; read -r _; \
         for i in 1 2 3; do ip netns pids {ns} 2>/dev/null | xargs -r kill -9; sleep 0.1; done; \
         ip netns del {ns} 2>/dev/null; ip link del {host_if} 2>/dev/null; rm -f {lock}; exit 0",
        lock = lock.display()
    );
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("could not start the namespace cleanup guard (bash)")?;
    let stdin = child.stdin.take().context("guard has no stdin")?;
    Ok((child, stdin))
}

/// Claims a free `10.203.X.0/24` across concurrent test processes with an O_EXCL lock file.
fn claim_subnet() -> Result<(u8, PathBuf)> {
    fs::create_dir_all(LOCK_DIR)?;
    let in_use = Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()?
        .stdout;
    let in_use = String::from_utf8_lossy(&in_use);
    let start = (std::process::id() % 200) as u8;
    for i in 0..250u8 {
        let x = 1 + (start.wrapping_add(i) % 250);
        if in_use.contains(&format!("10.203.{x}.")) {
            continue;
        }
        let lock = PathBuf::from(format!("{LOCK_DIR}/10.203.{x}.lock"));
        if let Ok(mut f) = OpenOptions::new().write(true).create_new(true).open(&lock) {
            writeln!(f, "{}", std::process::id())?;
            return Ok((x, lock));
        }
    }
    bail!("no free 10.203.X.0/24 subnet for a test namespace (see {LOCK_DIR})")
}

/// Removes namespaces and subnet claims left by test processes that are gone.
fn clean_stale() {
    let alive = |pid: &str| PathBuf::from(format!("/proc/{pid}")).exists();
    if let Ok(out) = Command::new("ip").args(["netns", "list"]).output() {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            let Some(pid) = name.strip_prefix("lkr-").and_then(|r| r.split('-').next()) else {
                continue;
            };
            if !alive(pid) {
                let _ = Command::new("bash")
                    .args([
                        "-c",
                        &format!("ip netns pids {name} | xargs -r kill -9; ip netns del {name}"),
                    ])
                    .status();
            }
        }
    }
    for entry in fs::read_dir(LOCK_DIR).into_iter().flatten().flatten() {
        let owner = fs::read_to_string(entry.path()).unwrap_or_default();
        if !owner.trim().is_empty() && !alive(owner.trim()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn run(args: &[&str]) -> Result<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("could not run {}", args[0]))?;
    if !out.status.success() {
        bail!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
