//! Files the operator names: read only when small and regular, written atomically for other
//! programs that read them while we write.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;

use crate::error::usage;

/// The API secret file's size limit: a secret is a few dozen bytes.
pub const MAX_SECRET_FILE: u64 = 64 << 10;
/// The policy file's (and the lk CLI config's) size limit.
pub const MAX_CONFIG_FILE: u64 = 1 << 20;

/// Reads `what` (e.g. "the API secret file") at `path` as text: a regular file of at most
/// `cap` bytes. Anything else (a device such as /dev/zero, a FIFO, a huge file) is a usage
/// error, so a wrong path can never read for ever, nor block on a pipe with no writer.
pub fn read_small(path: &Path, cap: u64, what: &str) -> anyhow::Result<String> {
    let fail = |why: String| usage(format!("cannot read {what} {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    let too_large = || fail(format!("larger than {} KiB", cap >> 10));
    if meta.len() > cap {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    // The size can change after the check (or be 0 in /proc): read one byte past the cap
    // at most.
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))
}

/// Writes `text` to `path` atomically (a temp file in the same folder, then a rename), so a
/// reader never sees half a file, with permission bits `mode`.
pub fn write_atomically(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    file.write_all(text.as_bytes())?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Refuses (exit 2), before a run acts, an output file `flag` names in a folder that does not
/// exist: the write would only fail after the work was done.
pub fn check_folder(flag: &str, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if dir.is_some_and(|d| !d.is_dir()) {
        return Err(crate::error::usage(format!(
            "{flag} {}: its folder does not exist",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("secret");
        std::fs::write(&small, "s3cr3t\n").unwrap();
        assert_eq!(read_small(&small, 64, "the file").unwrap(), "s3cr3t\n");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 65]).unwrap();
        let cases = [
            (big.as_path(), "larger than 0 KiB"),
            (Path::new("/dev/zero"), "not a regular file"),
            (dir.path(), "not a regular file"),
            (Path::new("/nonexistent/x"), "No such file"),
        ];
        for (path, want) in cases {
            let err = read_small(path, 64, "the file").unwrap_err();
            assert!(err.to_string().contains(want), "{}: {err}", path.display());
            assert_eq!(
                crate::error::exit_code_of(&err),
                crate::exit_code::ExitCode::Usage
            );
        }
    }

    #[test]
    fn replaces_the_file_whole_with_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.prom");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, "new\n", 0o640).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
