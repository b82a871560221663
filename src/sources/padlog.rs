//! Power Automate for desktop (PAD) agent and service logs: JSON lines, one object per line, as
//! written under `%ProgramData%\Microsoft\Power Automate\Logs` and the per-user `Logs` folder.
//!
//! This module owns reading those files into [`PadLogEntry`] events: which entries are worth
//! keeping (errors, run error codes, NTSTATUS details, session/logon/credential context), how
//! non-JSON lines are tolerated (stack-trace continuations attach to the entry they follow), and
//! the small text helpers the run-record reader shares (times, user names, error-code names).
//!
//! The line schema is third-party evidence (kb-causes.md c.2), not a Microsoft contract, so the
//! reader is tolerant: several key spellings per field, unknown fields ignored, bad lines counted.

use super::{Collect, EventSink, ReadCtx};
use crate::codes;
use crate::model::{
    Event, EventData, EventFilter, FileKind, FileReport, Loc, PadLogEntry, Parsed, Problem,
    SourceRef, Time, TraceLevel,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::{self, BufRead, Read};
use std::sync::OnceLock;

/// Longest line read; longer lines are skipped (read and discarded without being stored).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Individual line problems listed per file; the rest are summed up in one problem.
pub const MAX_LINE_PROBLEMS: usize = 20;
/// Continuation text (stack traces) attached to one entry at most.
const MAX_CONTINUATION_BYTES: usize = 64 * 1024;
/// A UTF-16 log has to be decoded as a whole; this bounds how much of it is read.
const MAX_UTF16_BYTES: u64 = 256 << 20;

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// True when the start of a file looks like a PAD JSON-lines log: among the first non-empty
/// lines, at least one JSON object carries a timestamp key (`eventTimestamp`, or
/// `timestamp`/`time` of other schema generations) together with level/component/message-like
/// keys, and such lines are at least half of the JSON-looking lines. Non-JSON lines (banners,
/// stack traces) do not count against it. `head` may end in the middle of a line.
pub fn looks_like_padlog(head: &str) -> bool {
    let head = head.trim_start_matches('\u{feff}');
    let mut json = 0usize;
    let mut pad = 0usize;
    for line in head
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(50)
    {
        if line.starts_with('{') {
            json += 1;
            if is_pad_line(line) {
                pad += 1;
            }
        }
    }
    pad > 0 && pad * 2 >= json
}

fn is_pad_line(line: &str) -> bool {
    let has = |keys: &[&str]| keys.iter().any(|k| line.contains(k));
    let level = has(&["\"traceLevel\"", "\"level\"", "\"Level\"", "\"@l\""]);
    let other = has(&[
        "\"component\"",
        "\"operationName\"",
        "\"eventType\"",
        "\"message\"",
        "\"@m\"",
    ]);
    if line.contains("\"eventTimestamp\"") {
        return level || other;
    }
    has(&["\"timestamp\"", "\"Timestamp\"", "\"time\"", "\"@t\""]) && level && other
}

/// Read a PAD JSON-lines log. Never fails: unreadable lines are counted in the report.
///
/// Counting: every non-empty line read is a record (JSON entries and non-JSON lines alike);
/// records are either kept (an event) or ignored, so `records == kept + ignored`. Lines that
/// could not be used at all (broken JSON, no time, over [`MAX_LINE_BYTES`]) are errors instead.
/// Non-JSON lines directly after an entry are its continuation (stack traces): counted as
/// ignored records, their text appended to the entry's message when the entry is kept.
pub fn read_padlog<R: BufRead>(r: R, ctx: &ReadCtx) -> Parsed {
    let sink = Collect::default();
    let mut parsed = read_padlog_to(r, ctx, &sink);
    parsed.events = sink.into_events();
    parsed
}

/// [`read_padlog`], handing kept entries to `sink` in batches as they are read (the returned
/// `Parsed` holds none; its report's `kept` counts them).
pub fn read_padlog_to<R: BufRead>(mut r: R, ctx: &ReadCtx, sink: &dyn EventSink) -> Parsed {
    let mut parsed = Parsed::new(FileReport::new(
        ctx.file.to_string(),
        FileKind::PadLog,
        ctx.size,
    ));
    let (utf16, utf8_bom) = match r.fill_buf() {
        Ok(h) => (
            h.starts_with(&[0xFF, 0xFE]) || h.starts_with(&[0xFE, 0xFF]),
            h.starts_with(UTF8_BOM),
        ),
        Err(e) => {
            parsed
                .report
                .problems
                .push(Problem::new("io", None, format!("cannot read: {e}")));
            return parsed;
        }
    };
    if utf16 {
        // .NET logs are UTF-8, but a log re-saved by an editor or PowerShell may be UTF-16.
        let mut bytes = Vec::new();
        if let Err(e) = r.take(MAX_UTF16_BYTES + 1).read_to_end(&mut bytes) {
            parsed
                .report
                .problems
                .push(Problem::new("io", None, format!("cannot read: {e}")));
        }
        if bytes.len() as u64 > MAX_UTF16_BYTES {
            bytes.truncate(MAX_UTF16_BYTES as usize);
            parsed.report.problems.push(Problem::new(
                "limit",
                None,
                format!("UTF-16 log larger than {MAX_UTF16_BYTES} bytes: only the start was read"),
            ));
        }
        let decoded = super::text::decode(&bytes);
        if decoded.had_errors {
            parsed.report.problems.push(Problem::new(
                "decode",
                None,
                format!(
                    "some bytes are not valid {} and were replaced",
                    decoded.encoding
                ),
            ));
        }
        read_lines(decoded.text.as_bytes(), ctx, &mut parsed, sink);
    } else {
        if utf8_bom {
            r.consume(UTF8_BOM.len());
        }
        read_lines(r, ctx, &mut parsed, sink);
    }
    parsed
}

/// Kept entries handed to the sink at a time.
const BATCH: usize = 256;

/// What the previous non-empty line was, to tell continuations from stray text.
#[derive(Clone, Copy)]
enum Prev {
    /// Start of file, or after a line that could not be read.
    Nothing,
    /// An entry, with the index of its event when it was kept.
    Entry(Option<usize>),
}

/// `parsed.events` holds the kept entries not yet handed to `sink`: the last one may still get
/// continuation lines.
fn read_lines<R: BufRead>(mut r: R, ctx: &ReadCtx, parsed: &mut Parsed, sink: &dyn EventSink) {
    let mut batch = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut problems = LineProblems::new("bad_line", "unreadable lines");
    let mut prev = Prev::Nothing;
    let mut line_no = 0u64;
    let mut entries = 0u64;
    let mut stray = 0u64;
    let mut cont_budget = 0usize;

    loop {
        let read = next_line(&mut r, &mut buf, MAX_LINE_BYTES);
        line_no += 1;
        let at = || Some(format!("line {line_no}"));
        let ended_with_newline = match read {
            Err(e) => {
                parsed.report.problems.push(Problem::new(
                    "io",
                    at(),
                    format!("read error, rest of file skipped: {e}"),
                ));
                break;
            }
            Ok(LineRead::Eof) => break,
            Ok(LineRead::TooLong { len }) => {
                parsed.report.errors += 1;
                problems.push(
                    &mut parsed.report,
                    Problem::new(
                        "limit",
                        at(),
                        format!(
                            "line of {len} bytes is longer than the {MAX_LINE_BYTES}-byte cap; skipped"
                        ),
                    ),
                );
                prev = Prev::Nothing;
                continue;
            }
            Ok(LineRead::Line { newline }) => newline,
        };
        // Checked as UTF-8 first: much faster than the lossy decoder on valid text.
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(&buf),
        };
        let line = text.trim();
        if line.is_empty() {
            continue;
        }

        if !line.starts_with('{') {
            parsed.report.records += 1;
            parsed.report.ignored += 1;
            match prev {
                // Keep the indentation of stack frames for display.
                Prev::Entry(Some(idx)) => {
                    attach_continuation(&mut parsed.events[idx], text.trim_end(), &mut cont_budget)
                }
                Prev::Entry(None) => {}
                Prev::Nothing => stray += 1,
            }
            continue;
        }

        let entry = match parse_entry(line, ctx.filter) {
            Ok(e) => e,
            Err(e) => {
                parsed.report.errors += 1;
                let (kind, what) = if !ended_with_newline && e.is_eof() {
                    ("truncated", "the file ends in the middle of this entry")
                } else if is_too_deep(&e) {
                    ("limit", TOO_DEEP)
                } else {
                    ("bad_line", "not a valid JSON entry")
                };
                problems.push(
                    &mut parsed.report,
                    Problem::new(kind, at(), format!("{what}: {e}")),
                );
                prev = Prev::Nothing;
                continue;
            }
        };
        entries += 1;
        let (time, data, shallow) = match entry {
            ParsedLine::Plain { time, shallow } => (time, None, shallow),
            ParsedLine::Full {
                time,
                entry,
                shallow,
            } => (time, Some(*entry), shallow),
        };
        if shallow {
            problems.push(
                &mut parsed.report,
                Problem::new(
                    "limit",
                    at(),
                    format!(
                        "{TOO_DEEP}: only the entry's top-level fields were read, not its \
                         nested ones (eventData)"
                    ),
                ),
            );
        }
        let Some(time) = time else {
            parsed.report.errors += 1;
            problems.push(
                &mut parsed.report,
                Problem::new(
                    "no_time",
                    at(),
                    "entry has no parseable eventTimestamp; not placed on the timeline",
                ),
            );
            prev = Prev::Entry(None);
            continue;
        };
        parsed.report.records += 1;
        parsed.report.see_time(time);
        match data {
            Some(entry) => {
                // No continuation can reach the entries before this one any more.
                if parsed.events.len() >= BATCH {
                    sink.take(batch, std::mem::take(&mut parsed.events));
                    batch += 1;
                }
                parsed.events.push(Event {
                    time,
                    source: SourceRef {
                        file: ctx.file.clone(),
                        loc: Loc::Line(line_no),
                    },
                    data: EventData::PadLog(entry),
                });
                parsed.report.kept += 1;
                cont_budget = MAX_CONTINUATION_BYTES;
                prev = Prev::Entry(Some(parsed.events.len() - 1));
            }
            _ => {
                parsed.report.ignored += 1;
                prev = Prev::Entry(None);
            }
        }
    }

    if !parsed.events.is_empty() {
        sink.take(batch, std::mem::take(&mut parsed.events));
    }
    problems.finish(&mut parsed.report);
    if entries == 0 && stray > 0 {
        parsed.report.problems.push(Problem::new(
            "unrecognised",
            None,
            format!("no PAD log entries found: {stray} non-JSON lines"),
        ));
    }
}

/// Append a stack-trace line to a kept entry and pick up codes, statuses and users it names.
fn attach_continuation(event: &mut Event, line: &str, budget: &mut usize) {
    let EventData::PadLog(entry) = &mut event.data else {
        return;
    };
    if *budget > 0 {
        let mut end = line.len().min(*budget);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        entry.message.push('\n');
        entry.message.push_str(&line[..end]);
        *budget = budget.saturating_sub(end + 1);
    }
    for code in find_run_error_names(line) {
        if !entry.error_codes.iter().any(|c| c == code) {
            entry.error_codes.push(code.to_string());
        }
    }
    for st in ntstatus_in(line) {
        if !entry.ntstatus.contains(&st) {
            entry.ntstatus.push(st);
        }
    }
    if entry.user.is_none() {
        entry.user = user_from_text(line);
    }
}

enum LineRead {
    Eof,
    Line { newline: bool },
    TooLong { len: u64 },
}

/// Read one line into `buf` (cleared first), storing at most `cap` bytes of it: a longer line is
/// consumed to its end without being stored, so memory stays bounded by `cap`.
fn next_line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, cap: usize) -> io::Result<LineRead> {
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

/// Caps the problems listed for one file; the rest are summed up by [`LineProblems::finish`].
pub(crate) struct LineProblems {
    listed: usize,
    more: u64,
    kind: &'static str,
    noun: &'static str,
}

impl LineProblems {
    pub(crate) fn new(kind: &'static str, noun: &'static str) -> Self {
        LineProblems {
            listed: 0,
            more: 0,
            kind,
            noun,
        }
    }

    pub(crate) fn push(&mut self, report: &mut FileReport, p: Problem) {
        if self.listed < MAX_LINE_PROBLEMS {
            report.problems.push(p);
            self.listed += 1;
        } else {
            self.more += 1;
        }
    }

    pub(crate) fn finish(self, report: &mut FileReport) {
        if self.more > 0 {
            report.problems.push(Problem::new(
                self.kind,
                None,
                format!("{} more {} not listed", self.more, self.noun),
            ));
        }
    }
}

enum ParsedLine {
    /// An entry the pre-check found nothing of interest in: only its time was read.
    Plain { time: Option<Time>, shallow: bool },
    Full {
        time: Option<Time>,
        entry: Box<PadLogEntry>,
        /// Nested fields were too deep to read; the entry holds its top-level fields only.
        shallow: bool,
    },
}

/// The keys a level may sit under, over the schema generations seen (times: [`TimeOnly`]).
const LEVEL_KEYS: &[&str] = &["traceLevel", "level", "Level", "@l"];

/// Only the time of an uninteresting entry. Unknown fields are skipped by serde without being
/// stored, so this validates the JSON without building a tree.
#[derive(Deserialize)]
struct TimeOnly<'a> {
    #[serde(rename = "eventTimestamp", default, borrow)]
    event_timestamp: Option<Text<'a>>,
    #[serde(default, borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(rename = "Timestamp", default, borrow)]
    timestamp_cap: Option<Text<'a>>,
    #[serde(default, borrow)]
    time: Option<Text<'a>>,
    #[serde(rename = "@t", default, borrow)]
    at_t: Option<Text<'a>>,
}

impl TimeOnly<'_> {
    fn time(&self) -> Option<Time> {
        first_time([
            &self.event_timestamp,
            &self.timestamp,
            &self.timestamp_cap,
            &self.time,
            &self.at_t,
        ])
    }
}

/// The first time key that holds a parseable time, in schema-generation order.
fn first_time(keys: [&Option<Text>; 5]) -> Option<Time> {
    keys.into_iter()
        .flatten()
        .find_map(|v| v.as_str().and_then(parse_iso_time))
}

/// A JSON value read only for its text, as `Value::as_str` would see it: a string (borrowed
/// from the line unless it has escapes), or `None` for anything else, which is skipped unbuilt.
/// Reading a routine line's fields this way allocates nothing.
struct Text<'a>(Option<std::borrow::Cow<'a, str>>);

impl Text<'_> {
    fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
        Ok(Text(Some(std::borrow::Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
        Ok(Text(Some(std::borrow::Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_unit<E>(self) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Text<'a>, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Text<'a>, A::Error> {
        while m
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Text(None))
    }
}

/// The fields that decide whether an entry is kept, read without building the whole tree, so
/// entries the pre-check lets through by accident (`"errorCount":0`) stay cheap.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "eventTimestamp", default, borrow)]
    event_timestamp: Option<Text<'a>>,
    #[serde(default, borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(rename = "Timestamp", default, borrow)]
    timestamp_cap: Option<Text<'a>>,
    #[serde(default, borrow)]
    time: Option<Text<'a>>,
    #[serde(rename = "@t", default, borrow)]
    at_t: Option<Text<'a>>,
    #[serde(rename = "traceLevel", default, borrow)]
    trace_level: Option<Text<'a>>,
    #[serde(default, borrow)]
    level: Option<Text<'a>>,
    #[serde(rename = "Level", default, borrow)]
    level_cap: Option<Text<'a>>,
    #[serde(rename = "@l", default, borrow)]
    at_l: Option<Text<'a>>,
    #[serde(default, borrow)]
    message: Option<Text<'a>>,
    #[serde(rename = "Message", default, borrow)]
    message_cap: Option<Text<'a>>,
    #[serde(rename = "@m", default, borrow)]
    at_m: Option<Text<'a>>,
    #[serde(default, borrow)]
    msg: Option<Text<'a>>,
    #[serde(default, borrow)]
    exception: Option<Text<'a>>,
    #[serde(rename = "exceptionMessage", default, borrow)]
    exception_message: Option<Text<'a>>,
    #[serde(rename = "Exception", default, borrow)]
    exception_cap: Option<Text<'a>>,
    #[serde(rename = "@x", default, borrow)]
    at_x: Option<Text<'a>>,
    #[serde(rename = "operationName", default, borrow)]
    operation_name: Option<Text<'a>>,
    #[serde(rename = "OperationName", default, borrow)]
    operation_name_cap: Option<Text<'a>>,
    #[serde(rename = "eventType", default, borrow)]
    event_type: Option<Text<'a>>,
    #[serde(rename = "EventType", default, borrow)]
    event_type_cap: Option<Text<'a>>,
    #[serde(default, borrow)]
    event: Option<Text<'a>>,
}

fn parse_entry(line: &str, filter: &EventFilter) -> Result<ParsedLine, serde_json::Error> {
    if !precheck().is_match(line) {
        let t: TimeOnly = serde_json::from_str(line)?;
        return Ok(ParsedLine::Plain {
            time: t.time(),
            shallow: false,
        });
    }
    let head: Head = serde_json::from_str(line)?;
    let time = first_time([
        &head.event_timestamp,
        &head.timestamp,
        &head.timestamp_cap,
        &head.time,
        &head.at_t,
    ]);
    let wanted = time.is_some_and(|t| filter.keeps_time(t)) && head.worth_keeping(line);
    if !wanted {
        // Say what a full read would have said, so inventory and timeline report alike.
        return Ok(ParsedLine::Plain {
            time,
            shallow: nests_too_deep(line),
        });
    }
    let (obj, shallow) = match serde_json::from_str::<Map<String, Value>>(line) {
        Ok(obj) => (obj, false),
        // The top level read fine (serde skips unknown fields without recursing), so only a
        // nested field is too deep for a tree: keep the entry from its top-level fields.
        Err(e) if is_too_deep(&e) => (head.top_level(), true),
        Err(e) => return Err(e),
    };
    Ok(ParsedLine::Full {
        time,
        entry: Box::new(build_entry(&obj, line)),
        shallow,
    })
}

/// serde_json's answer to JSON nested deeper than its recursion limit (128 levels).
pub(crate) fn is_too_deep(e: &serde_json::Error) -> bool {
    e.classify() == serde_json::error::Category::Syntax
        && e.to_string().starts_with("recursion limit exceeded")
}

/// True when `line` (valid JSON) nests containers as deep as serde_json refuses to build: its
/// recursion limit counts the outermost object, and fails on the 128th level.
fn nests_too_deep(line: &str) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in line.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth >= 128 {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// How JSON nesting past serde_json's recursion limit is described in problems.
pub(crate) const TOO_DEEP: &str = "JSON nested more than 128 levels deep";

impl Head<'_> {
    /// The fields read, as the object `build_entry` takes.
    fn top_level(&self) -> Map<String, Value> {
        let fields = [
            ("eventTimestamp", &self.event_timestamp),
            ("timestamp", &self.timestamp),
            ("Timestamp", &self.timestamp_cap),
            ("time", &self.time),
            ("@t", &self.at_t),
            ("traceLevel", &self.trace_level),
            ("level", &self.level),
            ("Level", &self.level_cap),
            ("@l", &self.at_l),
            ("message", &self.message),
            ("Message", &self.message_cap),
            ("@m", &self.at_m),
            ("msg", &self.msg),
            ("exception", &self.exception),
            ("exceptionMessage", &self.exception_message),
            ("Exception", &self.exception_cap),
            ("@x", &self.at_x),
            ("operationName", &self.operation_name),
            ("OperationName", &self.operation_name_cap),
            ("eventType", &self.event_type),
            ("EventType", &self.event_type_cap),
            ("event", &self.event),
        ];
        fields
            .into_iter()
            .filter_map(|(k, v)| {
                let text = v.as_ref()?.as_str()?;
                Some((k.to_string(), Value::String(text.to_string())))
            })
            .collect()
    }

    /// Keep errors and warnings, entries naming a run error code or an NTSTATUS detail (anywhere
    /// in the line), and entries about sessions, logons or credentials (the run context around a
    /// failure).
    fn worth_keeping(&self, raw: &str) -> bool {
        let level = [&self.trace_level, &self.level, &self.level_cap, &self.at_l]
            .into_iter()
            .flatten()
            .find_map(Text::as_str)
            .and_then(parse_level);
        if level.is_some_and(|l| l >= TraceLevel::Warning)
            || !find_run_error_names(raw).is_empty()
            || !ntstatus_in(raw).is_empty()
        {
            return true;
        }
        [
            &self.message,
            &self.message_cap,
            &self.at_m,
            &self.msg,
            &self.exception,
            &self.exception_message,
            &self.exception_cap,
            &self.at_x,
            &self.operation_name,
            &self.operation_name_cap,
            &self.event_type,
            &self.event_type_cap,
            &self.event,
        ]
        .into_iter()
        .flatten()
        .filter_map(Text::as_str)
        .any(about_logon)
    }
}

/// Cheap filter before a full parse: anything a kept entry could contain. False positives only
/// cost a parse; `session` followed by `I` is excluded because `executionInfo.sessionId` is on
/// every line.
fn precheck() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let mut pat = String::from(
            "(?i)error|critical|fatal|warn|logon|log on|logged on|logoff|log off|credential|\
             session[^i]|impersonat|0xc|-107",
        );
        for (name, _) in codes::PAD_RUN_ERRORS {
            pat.push('|');
            pat.push_str(&regex::escape(name));
        }
        Regex::new(&pat).expect("static pre-check pattern")
    })
}

fn build_entry(obj: &Map<String, Value>, raw: &str) -> PadLogEntry {
    let data = obj.get("eventData").and_then(Value::as_object);
    let machine_info = data
        .and_then(|d| d.get("machineInfo"))
        .and_then(Value::as_object);
    let top = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };

    let mut message = top(&["message", "Message", "@m", "msg"]).unwrap_or_default();
    for key in ["exception", "exceptionMessage", "Exception", "@x"] {
        if let Some(x) = obj.get(key).and_then(Value::as_str) {
            if !x.trim().is_empty() {
                if !message.is_empty() {
                    message.push('\n');
                }
                message.push_str(x.trim());
            }
        }
    }
    let user = data
        .and_then(user_from_fields)
        .or_else(|| user_from_fields(obj))
        .or_else(|| user_from_text(&message));
    let machine = machine_info
        .and_then(|m| str_of(m, &["machineName", "computerName"]))
        .or_else(|| data.and_then(|d| str_of(d, &["machineName", "computerName"])))
        .or_else(|| str_of(obj, &["machineName", "computerName"]));
    PadLogEntry {
        level: top(LEVEL_KEYS).as_deref().and_then(parse_level),
        component: top(&["component", "Component"]),
        operation: top(&["operationName", "OperationName"]),
        event_type: top(&["eventType", "EventType", "event"]),
        correlation_id: top(&["correlationId", "CorrelationId"])
            .or_else(|| data.and_then(|d| str_of(d, &["correlationId"]))),
        error_codes: find_run_error_names(raw)
            .into_iter()
            .map(str::to_string)
            .collect(),
        ntstatus: ntstatus_in(raw),
        user,
        machine,
        agent_version: data
            .and_then(|d| str_of(d, &["agentVersion"]))
            .or_else(|| str_of(obj, &["agentVersion"])),
        is_aad_joined: machine_info.and_then(|m| bool_of(m.get("isAADJoined"))),
        is_domain_joined: machine_info.and_then(|m| bool_of(m.get("isDomainJoined"))),
        message,
    }
}

fn str_of(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `true`/`false`, or their string spellings (`"True"`), as .NET serialisers differ.
fn bool_of(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// `Info`, `Error`, ... in any case, plus the names other loggers use (`Warn`, `Fatal`, `Debug`).
pub fn parse_level(s: &str) -> Option<TraceLevel> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "verbose" | "debug" | "trace" => TraceLevel::Verbose,
        "info" | "information" | "informational" => TraceLevel::Info,
        "warning" | "warn" => TraceLevel::Warning,
        "error" => TraceLevel::Error,
        "critical" | "fatal" => TraceLevel::Critical,
        _ => return None,
    })
}

fn about_logon(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "logon",
        "log on",
        "logged on",
        "logoff",
        "log off",
        "credential",
        "session",
        "impersonat",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// The names of [`codes::PAD_RUN_ERRORS`] found in `text` as whole words (case-sensitive), in
/// table order, each once.
pub fn find_run_error_names(text: &str) -> Vec<&'static str> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let names: Vec<String> = codes::PAD_RUN_ERRORS
            .iter()
            .map(|(n, _)| regex::escape(n))
            .collect();
        Regex::new(&format!(r"\b(?:{})\b", names.join("|"))).expect("static code-name pattern")
    });
    let mut found: Vec<&str> = re.find_iter(text).map(|m| m.as_str()).collect();
    if found.is_empty() {
        return Vec::new();
    }
    found.dedup();
    codes::PAD_RUN_ERRORS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| found.contains(n))
        .collect()
}

/// [`codes::find_ntstatus`] behind a cheap gate: every form it accepts starts with `0x` or `-1`.
fn ntstatus_in(text: &str) -> Vec<u32> {
    if text.contains("0x") || text.contains("0X") || text.contains("-10") {
        codes::find_ntstatus(text)
    } else {
        Vec::new()
    }
}

/// Field names (case-insensitive) that carry the connection or session user in `eventData`.
const USER_KEYS: &[&str] = &[
    "username",
    "sessionusername",
    "connectionusername",
    "connectionuser",
    "runasuser",
    "targetusername",
];

/// The first user-name field of an object, searched a few levels deep (`eventData.x.userName`).
fn user_from_fields(obj: &Map<String, Value>) -> Option<String> {
    fn walk(obj: &Map<String, Value>, depth: u8) -> Option<String> {
        for (k, v) in obj {
            if let Value::String(s) = v {
                if USER_KEYS.iter().any(|u| k.eq_ignore_ascii_case(u)) {
                    if let Some(u) = clean_user(s) {
                        return Some(u);
                    }
                }
            }
        }
        if depth == 0 {
            return None;
        }
        obj.values()
            .filter_map(Value::as_object)
            .find_map(|o| walk(o, depth - 1))
    }
    walk(obj, 3)
}

/// A user named in free text. Accepted patterns (the word `user` is matched in any case, and
/// `username` / `user name` work wherever `user` does):
/// 1. quoted after `user`: `user 'CONTOSO\alice'`, `user "alice@contoso.com"`, `user: 'x'`;
/// 2. key/value: `user=CONTOSO\alice`, `UserName: alice` (up to the next space or quote);
/// 3. unquoted after `user` when the token is qualified (contains `\` or `@`):
///    `for user alice@contoso.com`, `as user CONTOSO\alice`.
///
/// Trailing `.`, `,`, `:` and `;` are dropped; `null`, `-` and empty values are not users.
pub fn user_from_text(text: &str) -> Option<String> {
    static RES: OnceLock<Vec<Regex>> = OnceLock::new();
    let res = RES.get_or_init(|| {
        [
            r#"(?i)\buser(?:\s?name)?\s*[:=]?\s*['"‘’“”]([^'"‘’“”\r\n]{1,256})['"‘’“”]"#,
            r#"(?i)\buser(?:\s?name)?\s*[:=]\s*([^\s'",;()\[\]{}]{1,256})"#,
            r#"(?i)\buser(?:\s?name)?\s+([^\s'",;()\[\]{}]*[@\\][^\s'",;()\[\]{}]*)"#,
        ]
        .iter()
        .map(|p| Regex::new(p).expect("static user pattern"))
        .collect()
    });
    res.iter().find_map(|re| {
        re.captures_iter(text)
            .find_map(|c| c.get(1).and_then(|m| clean_user(m.as_str())))
    })
}

fn clean_user(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches(['.', ',', ':', ';']).trim();
    if s.is_empty()
        || s == "-"
        || s.eq_ignore_ascii_case("null")
        || s.eq_ignore_ascii_case("(null)")
    {
        return None;
    }
    Some(s.to_string())
}

/// ISO-8601 time: `2025-06-02T13:17:22Z`, with an offset (`+02:00`, `+0200`), 0 to 9 fraction
/// digits (.NET writes 7), `T` or a space between date and time. A time without any offset is
/// taken as UTC (PAD writes UTC; a local-time writer would be off by the zone).
pub fn parse_iso_time(s: &str) -> Option<Time> {
    let s = s.trim();
    if s.len() < 10 || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = s.trim_end_matches(" UTC");
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn parses_iso_times_of_every_precision() {
        let base = Utc.with_ymd_and_hms(2025, 6, 2, 13, 17, 22).unwrap();
        assert_eq!(parse_iso_time("2025-06-02T13:17:22Z"), Some(base));
        assert_eq!(parse_iso_time("2025-06-02T15:17:22+02:00"), Some(base));
        assert_eq!(parse_iso_time("2025-06-02T15:17:22+0200"), Some(base));
        assert_eq!(parse_iso_time("2025-06-02 13:17:22"), Some(base));
        let t = parse_iso_time("2025-06-02T13:17:22.1234567Z").unwrap();
        assert_eq!(t.timestamp_subsec_nanos(), 123_456_700);
        let t = parse_iso_time("2025-06-02T13:17:22.1234567-05:00").unwrap();
        assert_eq!(t.timestamp(), base.timestamp() + 5 * 3600);
        assert_eq!(
            parse_iso_time("2025-06-02T13:17:22.5"),
            Some(base + chrono::Duration::milliseconds(500))
        );
        assert_eq!(parse_iso_time("yesterday"), None);
        assert_eq!(parse_iso_time("2025-13-45T99:00:00Z"), None);
    }

    #[test]
    fn finds_users_in_text() {
        assert_eq!(
            user_from_text("Logon failed for user 'CONTOSO\\alice' (type 10)").as_deref(),
            Some("CONTOSO\\alice")
        );
        assert_eq!(
            user_from_text("Creating session for user alice@contoso.com.").as_deref(),
            Some("alice@contoso.com")
        );
        assert_eq!(
            user_from_text("Running as user CONTOSO\\svc-rpa").as_deref(),
            Some("CONTOSO\\svc-rpa")
        );
        assert_eq!(
            user_from_text("UserName=bob@fabrikam.com; domain joined").as_deref(),
            Some("bob@fabrikam.com")
        );
        assert_eq!(user_from_text("the user cannot log on"), None);
        assert_eq!(user_from_text("sessionUserName is empty"), None);
        assert_eq!(user_from_text("user 'null'"), None);
    }

    #[test]
    fn finds_code_names_as_whole_words() {
        assert_eq!(
            find_run_error_names("code WindowsIdentityIncorrect; MSEntraLogonFailure."),
            vec!["WindowsIdentityIncorrect", "MSEntraLogonFailure"]
        );
        assert!(find_run_error_names("NotWindowsIdentityIncorrectX").is_empty());
        assert!(find_run_error_names("windowsidentityincorrect").is_empty());
    }

    #[test]
    fn capped_line_reader_discards_long_lines() {
        let data = format!("short\n{}\nafter", "x".repeat(100));
        let mut r = io::BufReader::with_capacity(16, data.as_bytes());
        let mut buf = Vec::new();
        assert!(matches!(
            next_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::Line { newline: true }
        ));
        assert_eq!(buf, b"short\n");
        assert!(matches!(
            next_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::TooLong { len: 100 }
        ));
        assert!(buf.capacity() <= 32);
        assert!(matches!(
            next_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::Line { newline: false }
        ));
        assert_eq!(buf, b"after");
        assert!(matches!(
            next_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::Eof
        ));
    }
}
