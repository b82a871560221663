//! Standard output for the commands: the progress bar is cleared before the first byte of
//! output, so the two never mix on a terminal.

use super::progress::Bar;
use std::io::{self, Write};

pub struct Output<'b> {
    out: io::StdoutLock<'static>,
    /// Cleared at the first write.
    bar: Option<&'b Bar>,
}

impl<'b> Output<'b> {
    pub fn stdout(bar: Option<&'b Bar>) -> Self {
        Output {
            out: io::stdout().lock(),
            bar,
        }
    }
}

impl Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
