//! Standard output for the commands: its errors say they were the output's (a full disk is
//! otherwise just "No space left on device"), and the progress bar is cleared before the first
//! byte of output, so the two never mix on a terminal.

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
        self.out.write(buf).map_err(failed)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(failed)
    }
}

/// The error, saying it was the output's; its kind is kept (a closed pipe ends the run quietly).
fn failed(e: io::Error) -> io::Error {
    let hint = match e.kind() {
        io::ErrorKind::StorageFull => {
            "; free some space where the output goes, or redirect it to another disk"
        }
        _ => "",
    };
    io::Error::new(
        e.kind(),
        format!("could not write the output (standard output): {e}{hint}"),
    )
}
