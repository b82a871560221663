//! Reading a PAD log: line by line into one reused buffer, routine lines checked with a
//! pre-filter and their time read without allocating, kept entries built and handed to the sink
//! in batches, non-JSON lines attached to the entry before them.

use super::lines::{next_line, LineRead};
use super::{PadLogEntry, TraceLevel};
use crate::codes;
use crate::model::{EventFilter, FileKind, FileReport, Loc, Problem, SourceRef};
use crate::sources::text::{is_too_deep, user_from_text, LineProblems, TOO_DEEP};
use crate::sources::{Collect, Counted, Event, EventData, EventSink, Parsed, ReadCtx};
use crate::time::Stamp;
use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::{BufRead, Read};
use std::sync::OnceLock;

/// Longest line read; longer lines are skipped (read and discarded without being stored).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Continuation text (stack traces) attached to one entry at most.
const MAX_CONTINUATION_BYTES: usize = 64 * 1024;
/// A UTF-16 log has to be decoded as a whole; this bounds how much of it is read.
const MAX_UTF16_BYTES: u64 = 256 << 20;

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

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
pub fn read_padlog_to<R: BufRead>(r: R, ctx: &ReadCtx, sink: &dyn EventSink) -> Parsed {
    // Progress moves 64 KiB of lines at a time.
    let mut r = Counted::new(r, ctx);
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
        let decoded = crate::sources::text::decode(&bytes);
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
    // The last zone-less time read: a step back of half an hour or more is a clock set back.
    let mut last_assumed: Option<crate::model::Time> = None;
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
        let Some(Stamp { time, basis }) = time else {
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
        if basis == crate::model::TimeBasis::Assumed {
            if last_assumed.is_some_and(|l| time < l - chrono::Duration::minutes(30)) {
                parsed.report.folds.push((line_no, time));
            }
            last_assumed = Some(time);
        }
        match data {
            Some(entry) => {
                // No continuation can reach the entries before this one any more.
                if parsed.events.len() >= BATCH {
                    sink.take(batch, std::mem::take(&mut parsed.events));
                    batch += 1;
                }
                if let Some(m) = entry.machine.as_deref() {
                    parsed.report.add_computer(m);
                }
                parsed.report.add_kind(&format!(
                    "pad.{}",
                    entry.level.map_or("entry", TraceLevel::as_str)
                ));
                parsed.events.push(Event {
                    time,
                    time_basis: basis,
                    source: SourceRef {
                        file: ctx.file.clone(),
                        loc: Loc::Line(line_no),
                    },
                    machine: entry.machine.as_deref().map(Into::into),
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
    for code in codes::find_run_error_names(line) {
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

enum ParsedLine {
    /// An entry the pre-check found nothing of interest in: only its time was read.
    Plain { time: Option<Stamp>, shallow: bool },
    Full {
        time: Option<Stamp>,
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
    fn time(&self) -> Option<Stamp> {
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
fn first_time(keys: [&Option<Text>; 5]) -> Option<Stamp> {
    keys.into_iter()
        .flatten()
        .find_map(|v| v.as_str().and_then(crate::time::parse))
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
    let wanted = time.is_some_and(|t| filter.keeps_time(t.time)) && head.worth_keeping(line);
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
            .and_then(TraceLevel::parse);
        if level.is_some_and(|l| l >= TraceLevel::Warning)
            || !codes::find_run_error_names(raw).is_empty()
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
        level: top(LEVEL_KEYS).as_deref().and_then(TraceLevel::parse),
        component: top(&["component", "Component"]),
        operation: top(&["operationName", "OperationName"]),
        event_type: top(&["eventType", "EventType", "event"]),
        correlation_id: top(&["correlationId", "CorrelationId"])
            .or_else(|| data.and_then(|d| str_of(d, &["correlationId"]))),
        error_codes: codes::find_run_error_names(raw)
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
                    if let Some(u) = crate::sources::text::clean_user(s) {
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
