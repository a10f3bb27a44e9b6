//! Stdout for reports, where a closed pipe (`lk-reaper rooms | head`) is a reader who has
//! seen enough: the rest is dropped quietly and the run's exit code stands.

use std::io::{self, StdoutLock, Write};

/// A locked stdout that swallows `BrokenPipe`.
pub struct Stdout {
    inner: StdoutLock<'static>,
    closed: bool,
}

/// The report stream.
pub fn stdout() -> Stdout {
    Stdout {
        inner: io::stdout().lock(),
        closed: false,
    }
}

impl Stdout {
    fn guard(&mut self, result: io::Result<()>) -> io::Result<()> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
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
