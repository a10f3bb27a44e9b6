//! The `--state` file: the memory as versioned JSON, written atomically, and locked (a
//! `<path>.lock` beside it) while a run uses it, so two runs sharing one file take turns:
//! the second reads what the first wrote, and neither acts twice nor loses an entry.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde::{Deserialize, Serialize};

use super::{Memory, Seen};
use crate::error::usage;

/// The format this build writes, and the newest it reads.
pub const VERSION: u32 = 1;
/// A state file larger than this is refused: 100,000 rooms take about 10 MiB.
pub const MAX_STATE_FILE: u64 = 64 << 20;
/// How often a run waiting for the lock tries again.
const LOCK_RETRY: Duration = Duration::from_millis(50);

/// The file as written.
#[derive(Serialize)]
struct Written<'a> {
    version: u32,
    rooms: &'a HashMap<String, Seen>,
}

/// The file as read.
#[derive(Deserialize)]
struct Stored {
    version: u32,
    rooms: HashMap<String, Seen>,
}

/// Only the version of a file that is not ours to read whole.
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

/// A state file this run holds the lock of; dropping it releases the lock.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    _lock: File,
}

impl StateFile {
    /// Locks the state file at `path` (waiting up to `wait` for another run to finish with
    /// it) and reads its memory. A missing file is an empty memory; a corrupt or unreadable
    /// one is one warning and an empty memory. Refused (usage error): a path that is not a
    /// regular file, a file over [`MAX_STATE_FILE`], a file of another user that others may
    /// write, a version newer than this build's.
    pub fn open(path: &Path, wait: Duration) -> anyhow::Result<(Self, Memory)> {
        refuse_unsafe(path)?;
        let lock = lock(path, wait)?;
        let memory = read(path)?;
        Ok((
            Self {
                path: path.to_owned(),
                _lock: lock,
            },
            memory,
        ))
    }

    /// Replaces the file with `memory`, atomically.
    pub fn save(&self, memory: &Memory) -> anyhow::Result<()> {
        let text = serde_json::to_string(&Written {
            version: VERSION,
            rooms: &memory.rooms,
        })?;
        crate::files::write_atomically(&self.path, &text, 0o600)
            .with_context(|| format!("could not save the state file {}", self.path.display()))
    }
}

/// What must never be read as memory: anything but a regular file (a directory, a FIFO
/// that would block, /dev/zero that never ends), a huge file, and a file of another user
/// that anyone may write (anyone could then plant times that end rooms).
fn refuse_unsafe(path: &Path) -> anyhow::Result<()> {
    let fail = |why: &str| {
        usage(format!(
            "--state {}: {why} (give the path of a JSON file lk-reaper may create and own)",
            path.display()
        ))
    };
    let parent = path.parent().filter(|d| !d.as_os_str().is_empty());
    if parent.is_some_and(|d| !d.is_dir()) {
        return Err(fail("its folder does not exist"));
    }
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(fail(&err.to_string())),
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(fail("is a directory"));
    }
    if kind.is_fifo() || kind.is_char_device() || kind.is_block_device() || !kind.is_file() {
        return Err(fail("not a regular file"));
    }
    if meta.len() > MAX_STATE_FILE {
        return Err(fail(&format!("larger than {} MiB", MAX_STATE_FILE >> 20)));
    }
    if planted(meta.uid(), meta.mode(), rustix::process::geteuid().as_raw()) {
        return Err(fail(&format!(
            "owned by user {} and writable by everyone",
            meta.uid()
        )));
    }
    Ok(())
}

/// Whether a file owned by `uid` with permission bits `mode` may hold times planted by
/// someone else: another user's file that everyone may write.
fn planted(uid: u32, mode: u32, me: u32) -> bool {
    uid != me && mode & 0o002 != 0
}

/// Takes the exclusive lock on `<path>.lock`, trying again until `wait` has passed.
fn lock(path: &Path, wait: Duration) -> anyhow::Result<File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| usage(format!("--state: cannot open {}: {e}", lock_path.display())))?;
    let started = Instant::now();
    let mut logged = false;
    loop {
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(file),
            Err(rustix::io::Errno::WOULDBLOCK) if started.elapsed() < wait => {
                if !logged {
                    tracing::info!(lock = %lock_path.display(), "another run uses the state file: waiting for it");
                    logged = true;
                }
                std::thread::sleep(LOCK_RETRY);
            }
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(anyhow!(
                    "another lk-reaper run held the state file lock {} for longer than --timeout: nothing was done",
                    lock_path.display()
                ));
            }
            Err(err) => {
                return Err(anyhow!(
                    "could not lock the state file {}: {err}",
                    lock_path.display()
                ));
            }
        }
    }
}

/// The memory in the file: empty when it is missing; one warning and empty when it cannot
/// be read or parsed; an error when it was written by a newer version.
fn read(path: &Path) -> anyhow::Result<Memory> {
    let mut text = String::new();
    let opened = File::open(path);
    let read = match opened {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Memory::default()),
        Err(err) => Err(err),
        Ok(file) => file
            .take(MAX_STATE_FILE + 1)
            .read_to_string(&mut text)
            .map(|_| ()),
    };
    let forgot = |why: String| {
        tracing::warn!(
            "state file {} {why}: starting with an empty memory (actions that need it wait until it is rebuilt)",
            path.display()
        );
        Ok(Memory::default())
    };
    if let Err(err) = read {
        return forgot(format!("could not be read ({err})"));
    }
    match serde_json::from_str::<Stored>(&text) {
        Ok(doc) if doc.version <= VERSION => Ok(Memory {
            rooms: doc.rooms,
            grace_apart: false,
        }),
        Ok(doc) => Err(newer(path, doc.version)),
        Err(err) => match serde_json::from_str::<VersionOnly>(&text) {
            Ok(v) if v.version > VERSION => Err(newer(path, v.version)),
            _ => forgot(format!("is not a state file ({err})")),
        },
    }
}

fn newer(path: &Path, version: u32) -> anyhow::Error {
    usage(format!(
        "--state {}: written by a newer lk-reaper (state version {version}; this one reads up to {VERSION}): upgrade, or give another path",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::exit_code::ExitCode;

    const WAIT: Duration = Duration::from_millis(200);

    fn memory() -> Memory {
        let mut m = Memory::default();
        let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        m.insert(
            "RM_1".into(),
            Seen {
                room: "standup".into(),
                humanless_since: Some(at),
                silent_since: None,
            },
        );
        m
    }

    #[test]
    fn saves_and_reads_back_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (file, read) = StateFile::open(&path, WAIT).unwrap();
        assert!(read.is_empty());
        file.save(&memory()).unwrap();
        drop(file);
        let (_file, read) = StateFile::open(&path, WAIT).unwrap();
        assert_eq!(read, memory());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_second_run_waits_for_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (held, _) = StateFile::open(&path, WAIT).unwrap();
        let err = StateFile::open(&path, WAIT).unwrap_err();
        assert!(err.to_string().contains("lock"), "{err}");
        assert_eq!(crate::error::exit_code_of(&err), ExitCode::CouldNotRun);
        drop(held);
        assert!(StateFile::open(&path, WAIT).is_ok());
    }

    #[test]
    fn corrupt_is_forgotten_but_newer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for corrupt in [
            "",
            "{",
            "[1,2]",
            r#"{"version": 1, "rooms": 5}"#,
            "\u{0}\u{1}",
        ] {
            std::fs::write(&path, corrupt).unwrap();
            let (_f, m) = StateFile::open(&path, WAIT).unwrap();
            assert!(m.is_empty(), "{corrupt:?}");
        }
        for newer in [
            r#"{"version": 2, "rooms": {}}"#,
            r#"{"version": 9, "x": []}"#,
        ] {
            std::fs::write(&path, newer).unwrap();
            let err = StateFile::open(&path, WAIT).unwrap_err();
            assert!(err.to_string().contains("newer"), "{err}");
            assert_eq!(crate::error::exit_code_of(&err), ExitCode::Usage);
        }
    }

    #[test]
    fn another_users_file_that_anyone_may_write_is_refused() {
        // (owner, mode, refused) as seen by user 1000
        let cases = [
            (1000, 0o666, false),
            (0, 0o644, false),
            (0, 0o646, true),
            (33, 0o777, true),
        ];
        for (uid, mode, want) in cases {
            assert_eq!(planted(uid, mode, 1000), want, "{uid} {mode:o}");
        }
    }

    #[test]
    fn what_is_not_a_small_regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        File::create(&big)
            .unwrap()
            .set_len(MAX_STATE_FILE + 1)
            .unwrap();
        let cases = [
            (dir.path().to_owned(), "is a directory"),
            (PathBuf::from("/dev/zero"), "not a regular file"),
            (big, "larger than 64 MiB"),
            (
                dir.path().join("no/such/state.json"),
                "folder does not exist",
            ),
        ];
        for (path, want) in cases {
            let err = StateFile::open(&path, WAIT).unwrap_err();
            assert!(err.to_string().contains(want), "{}: {err}", path.display());
            assert_eq!(crate::error::exit_code_of(&err), ExitCode::Usage);
        }
    }
}
