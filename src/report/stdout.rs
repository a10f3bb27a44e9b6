//! Stdout for reports: buffered (a large report is a few writes, not one per line), and a
//! closed pipe (`lk-reaper rooms | head`) is a reader who has seen enough: the rest is
//! dropped quietly and the run's exit code stands.

use std::io::{self, BufWriter, Write};

/// Buffered stdout that swallows `BrokenPipe`. It takes the stdout lock only while it
/// writes, so it may live across `.await`s on a multi-threaded runtime. Call `flush` to
/// see errors; dropping it flushes too, ignoring them.
pub struct Stdout {
    inner: BufWriter<io::Stdout>,
    closed: bool,
}

/// The report stream.
pub fn stdout() -> Stdout {
    Stdout {
        inner: BufWriter::new(io::stdout()),
        closed: false,
    }
}

impl Stdout {
    fn guard<T: Default>(&mut self, result: io::Result<T>) -> io::Result<T> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(T::default())
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.closed {
            let result = self.inner.write_all(buf);
            self.guard(result)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.guard(result)
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
