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
const JSON_KEEP: &[&str] = &[
    "time",
    "time_basis",
    "kind",
    "family",
    "datetime",
    "timestamp_desc",
];

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
}

/// Where the first complete record of `bytes` ends (after its newline), if it holds one.
fn record_end(syntax: LineSyntax, bytes: &[u8]) -> Option<usize> {
    match syntax {
        LineSyntax::Csv { .. } => {
            let mut quoted = false;
            for (i, b) in bytes.iter().enumerate() {
                match b {
                    b'"' => quoted = !quoted,
                    b'\n' if !quoted => return Some(i + 1),
                    _ => {}
                }
            }
            None
        }
        _ => bytes.iter().position(|b| *b == b'\n').map(|i| i + 1),
    }
}

impl<W: Write> Write for RedactLines<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        // Every complete record, then what is left moved to the front once.
        let pending = std::mem::take(&mut self.pending);
        let mut start = 0;
        while let Some(len) = record_end(self.syntax, &pending[start..]) {
            self.record(&pending[start..start + len])?;
            start += len;
        }
        self.pending = pending;
        self.pending.drain(..start);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A partial record waits for the rest of it (or `finish`).
        self.inner.flush()
    }
}

/// Every string value of one line of JSON, with the key it is under (the last key seen: an
/// array's items are under its key) and where its token starts and ends (quotes included).
/// Keys themselves are not values. A string without escapes is not copied.
pub(super) fn json_strings(line: &str, mut f: impl FnMut(&str, usize, usize, &str)) {
    let b = line.as_bytes();
    let mut key = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        let mut escaped = false;
        i += 1;
        while i < b.len() && b[i] != b'"' {
            if b[i] == b'\\' {
                escaped = true;
                i += 2;
            } else {
                i += 1;
            }
        }
        let end = (i + 1).min(b.len());
        i = end;
        let (Some(token), Some(rest)) = (line.get(start..end), line.get(end..)) else {
            continue;
        };
        let value: Cow<str> = if escaped {
            match serde_json::from_str::<String>(token) {
                Ok(v) => Cow::Owned(v),
                Err(_) => continue,
            }
        } else {
            match token.get(1..token.len().saturating_sub(1)) {
                Some(v) if token.len() >= 2 => Cow::Borrowed(v),
                _ => continue,
            }
        };
        if rest.trim_start().starts_with(':') {
            key.clear();
            key.push_str(&value);
            continue;
        }
        f(&key, start, end, &value);
    }
}

/// A JSON line with its string values redacted (keys and padtriage's fields kept); strings
/// that do not change keep their bytes.
fn json_line<'s>(r: &Redactor, line: &'s str) -> Cow<'s, str> {
    let mut out = String::new();
    let mut copied = 0;
    json_strings(line, |key, start, end, value| {
        if JSON_KEEP.contains(&key) {
            return;
        }
        if let Cow::Owned(red) = r.redact(value) {
            if let Ok(quoted) = serde_json::to_string(&red) {
                out.push_str(&line[copied..start]);
                out.push_str(&quoted);
                copied = end;
            }
        }
    });
    if copied == 0 {
        return Cow::Borrowed(line);
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

/// A CSV record with its fields redacted, but the first `keep` columns; written back as the
/// timeline writes CSV (quoted only where needed). Unchanged records keep their bytes.
fn csv_record<'s>(r: &Redactor, rec: &'s str, keep: usize) -> Cow<'s, str> {
    let body = rec.strip_suffix('\n').unwrap_or(rec);
    let fields = csv_fields(body);
    let mut changed = false;
    let mut out = String::with_capacity(rec.len() + 32);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let value = if i < keep {
            Cow::Borrowed(f.as_str())
        } else {
            r.redact(f)
        };
        changed |= matches!(value, Cow::Owned(_));
        if value.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&value.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&value);
        }
    }
    if !changed {
        return Cow::Borrowed(rec);
    }
    if body.len() < rec.len() {
        out.push('\n');
    }
    Cow::Owned(out)
}

/// The fields of one CSV record (RFC 4180: `,` between fields, `"` around a field holding
/// `,`, `"` or a line break, `""` for a quote inside).
fn csv_fields(rec: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut at_start = true;
    let mut chars = rec.chars().peekable();
    while let Some(c) = chars.next() {
        if at_start && c == '"' {
            quoted = true;
            at_start = false;
            continue;
        }
        at_start = false;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, ',') => {
                fields.push(std::mem::take(&mut cur));
                at_start = true;
            }
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}
