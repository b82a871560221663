//! Redaction of a report written line by line (the timeline, which is streamed, not held as a
//! document): each record is rewritten as it passes, in its own syntax, so that only text
//! values change: JSON lines keep their keys, CSV its columns and quoting.

use super::Redactor;
use std::borrow::Cow;
use std::io::{self, Write};

/// How the lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSyntax {
    /// Plain text: the whole line is text.
    Text,
    /// One JSON object per line: string values are text, keys are not.
    JsonLines,
    /// CSV records (a quoted field may span lines); the first `keep_columns` columns are
    /// padtriage's (time, kind) and stay.
    Csv { keep_columns: usize },
}

/// JSON fields of a timeline line that are padtriage's vocabulary, never the bundle's.
const JSON_KEEP: &[&str] = &["time", "time_basis", "kind", "family"];

/// A writer that redacts every record written through it. The redactor is made by `make` when
/// the first byte arrives: a sorted timeline writes nothing before it has read (and so seen
/// every identifier of) the whole bundle.
pub struct RedactLines<'a, W: Write> {
    inner: W,
    syntax: LineSyntax,
    make: Option<Box<dyn FnOnce() -> io::Result<Redactor> + 'a>>,
    redactor: Option<Redactor>,
    pending: Vec<u8>,
}

impl<'a, W: Write> RedactLines<'a, W> {
    pub fn new(
        inner: W,
        syntax: LineSyntax,
        make: impl FnOnce() -> io::Result<Redactor> + 'a,
    ) -> Self {
        RedactLines {
            inner,
            syntax,
            make: Some(Box::new(make)),
            redactor: None,
            pending: Vec::new(),
        }
    }

    /// Write what is left (a last line without its newline) and hand back the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.record(&rest)?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn redactor(&mut self) -> io::Result<&Redactor> {
        if self.redactor.is_none() {
            let make = self
                .make
                .take()
                .ok_or_else(|| io::Error::other("no redactor"))?;
            self.redactor = Some(make()?);
        }
        self.redactor
            .as_ref()
            .ok_or_else(|| io::Error::other("no redactor"))
    }

    fn record(&mut self, rec: &[u8]) -> io::Result<()> {
        let syntax = self.syntax;
        let text = String::from_utf8_lossy(rec);
        let r = self.redactor()?;
        let out = match syntax {
            LineSyntax::Text => r.redact(&text),
            LineSyntax::JsonLines => json_line(r, &text),
            LineSyntax::Csv { keep_columns } => csv_record(r, &text, keep_columns),
        };
        self.inner.write_all(out.as_bytes())
    }

    /// Where the first complete record in `pending` ends (after its newline), if any.
    fn record_end(&self) -> Option<usize> {
        match self.syntax {
            LineSyntax::Csv { .. } => {
                let mut quoted = false;
                for (i, b) in self.pending.iter().enumerate() {
                    match b {
                        b'"' => quoted = !quoted,
                        b'\n' if !quoted => return Some(i + 1),
                        _ => {}
                    }
                }
                None
            }
            _ => self.pending.iter().position(|b| *b == b'\n').map(|i| i + 1),
        }
    }
}

impl<W: Write> Write for RedactLines<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.record_end() {
            let rec: Vec<u8> = self.pending.drain(..end).collect();
            self.record(&rec)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A partial record waits for the rest of it (or `finish`).
        self.inner.flush()
    }
}

/// A JSON line with its string values redacted (keys and padtriage's fields kept); strings
/// that do not change keep their bytes.
fn json_line<'s>(r: &Redactor, line: &'s str) -> Cow<'s, str> {
    let b = line.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut key: Option<String> = None;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len() && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        let end = (i + 1).min(b.len());
        i = end;
        let (Some(token), Some(rest)) = (line.get(start..end), line.get(end..)) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<String>(token) else {
            continue;
        };
        if rest.trim_start().starts_with(':') {
            key = Some(value);
            continue;
        }
        if key.as_deref().is_some_and(|k| JSON_KEEP.contains(&k)) {
            continue;
        }
        if let Cow::Owned(red) = r.redact(&value) {
            let Ok(quoted) = serde_json::to_string(&red) else {
                continue;
            };
            out.push_str(&line[copied..start]);
            out.push_str(&quoted);
            copied = end;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(line);
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

/// A CSV record with its fields redacted, but the first `keep` columns; written back as the
/// timeline writes CSV (quoted only where needed). Unchanged records keep their bytes.
fn csv_record<'s>(r: &Redactor, rec: &'s str, keep: usize) -> Cow<'s, str> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(rec.as_bytes());
    let Some(Ok(fields)) = reader.records().next() else {
        return r.redact(rec);
    };
    let mut changed = false;
    let out: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if i < keep {
                return f.to_string();
            }
            match r.redact(f) {
                Cow::Owned(red) => {
                    changed = true;
                    red
                }
                Cow::Borrowed(same) => same.to_string(),
            }
        })
        .collect();
    if !changed {
        return Cow::Borrowed(rec);
    }
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    if w.write_record(&out).is_err() {
        return r.redact(rec);
    }
    match w.into_inner() {
        Ok(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        Err(_) => r.redact(rec),
    }
}
