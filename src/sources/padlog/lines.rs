//! Reading a log line by line into one reused buffer, with a cap on what a line may hold.

use std::io::{self, BufRead};

/// What [`next_line`] found.
pub(super) enum LineRead {
    Eof,
    Line { newline: bool },
    TooLong { len: u64 },
}

/// Read one line into `buf` (cleared first), storing at most `cap` bytes of it: a longer line is
/// consumed to its end without being stored, so memory stays bounded by `cap`.
pub(super) fn next_line<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<LineRead> {
    buf.clear();
    let mut total = 0u64;
    let mut too_long = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(if total == 0 {
                LineRead::Eof
            } else if too_long {
                LineRead::TooLong { len: total }
            } else {
                LineRead::Line { newline: false }
            });
        }
        let (take, found) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        if !too_long {
            // The newline itself does not count against the cap.
            let content = take - usize::from(found);
            if buf.len() + content > cap {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&avail[..take]);
            }
        }
        total += take as u64;
        r.consume(take);
        if found {
            return Ok(if too_long {
                LineRead::TooLong { len: total - 1 }
            } else {
                LineRead::Line { newline: true }
            });
        }
    }
}
