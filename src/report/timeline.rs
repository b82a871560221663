//! `timeline` output: aligned text, JSON lines, CSV, or Timesketch's JSON lines; one event per
//! line. Lines are rendered one event at a time ([`line`]), so the timeline can be written
//! while it is read. Times estimated from a file's date ([`TimeBasis::FileDate`]) are marked in
//! every format.

use crate::codes;
use crate::identity::Identity;
use crate::model::{Account, Loc, Text, Time, TimeBasis};
use crate::sources::security::{self, Security, SecurityEvent};
use crate::sources::{Event, EventData, Family};
use crate::timeline::{Head, Render, Timeline};
use chrono::SecondsFormat;
use serde::Serialize;
use std::cell::RefCell;
use std::io::{self, Write};

/// The output formats of `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineFormat {
    /// Aligned text for people.
    Text,
    /// One JSON object per line, with the typed fields.
    Jsonl,
    /// [`CSV_HEADER`]'s columns.
    Csv,
    /// One flat JSON object per line as Timesketch imports it: `message`, `datetime`,
    /// `timestamp`, `timestamp_desc` and the typed fields.
    Timesketch,
}

/// The CSV columns: the first five are the original ones, the others were added after them so
/// that readers of the old columns by position keep working.
pub const CSV_HEADER: &str =
    "time,kind,file,location,summary,computer,user,status,sub_status,time_basis\n";

/// True for a time that is an estimate from a file's date rather than a record's own time.
pub fn is_estimated(basis: TimeBasis) -> bool {
    basis == TimeBasis::FileDate
}

fn loc_text(loc: Loc) -> String {
    match loc {
        Loc::Record(r) => format!("record {r}"),
        Loc::Line(l) => format!("line {l}"),
        Loc::Row(r) => format!("row {r}"),
    }
}

/// One JSON line; field order is the output's.
#[derive(Serialize)]
struct JsonLine<'a> {
    time: &'a str,
    time_basis: TimeBasis,
    file: &'a str,
    loc: Loc,
    machine: Option<&'a str>,
    kind: &'a str,
    summary: &'a str,
    data: &'a EventData,
}

/// Per-thread buffers for a line's kind and summary, reused from line to line.
#[derive(Default)]
struct Scratch {
    kind: String,
    summary: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fn with_scratch(f: impl FnOnce(&mut Scratch)) {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// `timeline`'s renderer in a format: [`line`], and Security events from their parts, which
/// `timeline` holds them as (the same bytes).
pub struct Lines(pub TimelineFormat);

impl Render for Lines {
    fn line(&self, ev: &Event, out: &mut Vec<u8>) {
        line(self.0, ev, out);
    }

    fn security(&self, head: &Head, data: &SecurityEvent<&str>, out: &mut Vec<u8>) {
        security_line(self.0, head, data, out);
    }

    fn splits_security(&self) -> bool {
        splits(self.0)
    }

    fn security_edge(&self, head: &Head, after: bool, out: &mut Vec<u8>) {
        security_edge(self.0, head, after, out);
    }

    fn security_middle(&self, head: &Head, data: &SecurityEvent<&str>, out: &mut Vec<u8>) {
        security_middle(self.0, head, data, out);
    }
}

/// Whether a format's Security lines split into edges and a middle ([`Render::splits_security`]):
/// JSON lines and text (CSV puts the file and position between the columns of the middle).
fn splits(format: TimelineFormat) -> bool {
    matches!(format, TimelineFormat::Jsonl | TimelineFormat::Text)
}

/// Append one event's line (with its newline) in `format` to `out`.
pub fn line(format: TimelineFormat, ev: &Event, out: &mut Vec<u8>) {
    if let EventData::Security(data) = &ev.data {
        // Timesketch lines are made from whole events, whatever the family.
        if format != TimelineFormat::Timesketch {
            return security_line(format, &Head::of(ev), data, out);
        }
    }
    with_scratch(|Scratch { kind, summary }| {
        kind.clear();
        ev.data.write_kind(kind);
        summary.clear();
        ev.data.write_summary(summary);
        match format {
            TimelineFormat::Jsonl => {}
            TimelineFormat::Timesketch => return timesketch_line(ev, kind, summary, out),
            TimelineFormat::Text | TimelineFormat::Csv => {
                // Only CSV has the columns: text lines skip finding the account.
                let extra = if format == TimelineFormat::Csv {
                    Extra::of(ev)
                } else {
                    Extra::default()
                };
                return plain_line(format, &Head::of(ev), kind, summary, &extra, out);
            }
        }
        let mut time = [0u8; 40];
        let line = JsonLine {
            time: &rfc3339(&ev.time, &mut time),
            time_basis: ev.time_basis,
            file: &ev.source.file,
            loc: ev.source.loc,
            machine: ev.machine.as_deref(),
            kind,
            summary,
            data: &ev.data,
        };
        if serde_json::to_writer(&mut *out, &line).is_ok() {
            out.push(b'\n');
        }
    })
}

/// A Security event's line, from its parts: most of a large timeline.
fn security_line<T: AsRef<str>>(
    format: TimelineFormat,
    head: &Head,
    data: &SecurityEvent<T>,
    out: &mut Vec<u8>,
) {
    match format {
        _ if splits(format) => {
            security_edge(format, head, false, out);
            security_middle(format, head, data, out);
            security_edge(format, head, true, out);
        }
        TimelineFormat::Timesketch => {
            // Not the hot path: built as an event and rendered as the other events are.
            let ev = Event {
                time: head.time,
                time_basis: head.time_basis,
                source: crate::model::SourceRef {
                    file: std::sync::Arc::clone(head.file),
                    loc: head.loc,
                },
                machine: head.machine.map(Text::from),
                data: EventData::Security(owned(data)),
            };
            line(format, &ev, out);
        }
        _ => with_scratch(|Scratch { kind, summary }| {
            security_kind(data, kind);
            summary.clear();
            let _ = security::summary(data, summary);
            let extra = Extra {
                user: user_text(&data.target),
                status: data.status,
                sub_status: data.sub_status,
            };
            plain_line(format, head, kind, summary, &extra, out);
        }),
    }
}

/// A Security event's kind (`security.4625`) in `kind`, cleared first.
fn security_kind<T: AsRef<str>>(data: &SecurityEvent<T>, kind: &mut String) {
    kind.clear();
    kind.push_str(<Security as Family>::NAME);
    kind.push('.');
    security::kind(data, kind);
}

/// The part of a Security line before its middle (`after`: after it), in a format that
/// [`splits`]: what the head's time, time basis, file and position make.
fn security_edge(format: TimelineFormat, head: &Head, after: bool, out: &mut Vec<u8>) {
    match (format, after) {
        (TimelineFormat::Text, _) => text_edge(head, after, out),
        (_, true) => {}
        (_, false) => {
            // Written directly, the same bytes serde writes (the tests hold it to serde's
            // output); the time and time basis need no escaping.
            let mut time = [0u8; 40];
            out.extend_from_slice(b"{\"time\":");
            match rfc3339_digits(&head.time, &mut time) {
                Some(n) => {
                    out.push(b'"');
                    out.extend_from_slice(&time[..n]);
                    out.push(b'"');
                }
                None => json_str(out, &rfc3339(&head.time, &mut time)),
            }
            out.extend_from_slice(b",\"time_basis\":\"");
            out.extend_from_slice(head.time_basis.as_str().as_bytes());
            out.extend_from_slice(b"\",\"file\":");
            json_str(out, head.file);
            let (name, n): (&[u8], u64) = match head.loc {
                Loc::Record(n) => (b",\"loc\":{\"record\":", n),
                Loc::Line(n) => (b",\"loc\":{\"line\":", n),
                Loc::Row(n) => (b",\"loc\":{\"row\":", n),
            };
            out.extend_from_slice(name);
            json_u64(out, n);
        }
    }
}

/// The middle of a Security line, in a format that [`splits`]: what the head's machine and
/// time basis and the event's data make.
fn security_middle<T: AsRef<str>>(
    format: TimelineFormat,
    head: &Head,
    data: &SecurityEvent<T>,
    out: &mut Vec<u8>,
) {
    if format == TimelineFormat::Text {
        return with_scratch(|Scratch { kind, summary }| {
            security_kind(data, kind);
            summary.clear();
            let _ = security::summary(data, summary);
            text_middle(kind, summary, out);
        });
    }
    out.extend_from_slice(b"},\"machine\":");
    json_opt_str(out, &head.machine);
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(<Security as Family>::NAME.as_bytes());
    out.push(b'.');
    out.extend_from_slice(itoa::Buffer::new().format(data.event_id).as_bytes());
    out.extend_from_slice(b"\",\"summary\":");
    // Built whole first: a piece at a time, escaping costs more than it saves.
    with_scratch(|Scratch { summary, .. }| {
        summary.clear();
        let _ = security::summary(data, summary);
        json_str(out, summary);
    });
    out.extend_from_slice(b",\"data\":");
    security_json(out, data);
    out.extend_from_slice(b"}\n");
}

/// A Security event with texts of its own.
fn owned<T: AsRef<str>>(d: &SecurityEvent<T>) -> SecurityEvent {
    let t = |v: &Option<T>| v.as_ref().map(|v| Text::from(v.as_ref()));
    let account = |a: &Account<T>| Account {
        name: t(&a.name),
        domain: t(&a.domain),
        sid: t(&a.sid),
    };
    SecurityEvent {
        event_id: d.event_id,
        computer: t(&d.computer),
        subject: account(&d.subject),
        target: account(&d.target),
        logon_type: d.logon_type,
        status: d.status,
        sub_status: d.sub_status,
        failure_reason: t(&d.failure_reason),
        logon_process: t(&d.logon_process),
        auth_package: t(&d.auth_package),
        workstation: t(&d.workstation),
        process_name: t(&d.process_name),
        ip_address: t(&d.ip_address),
        target_server: t(&d.target_server),
    }
}

/// What a CSV line has besides the head, kind and summary.
#[derive(Default)]
struct Extra {
    /// The account the event is about, as `DOMAIN\name` or a UPN.
    user: Option<String>,
    status: Option<u32>,
    sub_status: Option<u32>,
}

impl Extra {
    fn of(ev: &Event) -> Extra {
        let (status, sub_status) = status_of(&ev.data);
        Extra {
            user: ev.user().map(|i| i.raw),
            status,
            sub_status,
        }
    }
}

/// An event's NTSTATUS (or AAD error) values, for the status columns.
fn status_of(data: &EventData) -> (Option<u32>, Option<u32>) {
    match data {
        EventData::Security(s) => (s.status, s.sub_status),
        EventData::Aad(a) => (a.status.or(a.error_code), None),
        EventData::PadLog(p) => (p.ntstatus.first().copied(), None),
        EventData::RunRecord(r) => (r.ntstatus.first().copied(), None),
        _ => (None, None),
    }
}

/// An account's written form as [`Identity`] reads it (`CONTOSO\jdoe`, `jdoe@contoso.com`, a
/// SID when it has no name); `None` for empty or masked values.
fn user_text<T: AsRef<str>>(a: &Account<T>) -> Option<String> {
    let text = |t: &Option<T>| t.as_ref().map(|v| Text::from(v.as_ref()));
    let account = Account {
        name: text(&a.name),
        domain: text(&a.domain),
        sid: text(&a.sid),
    };
    Identity::from_account(&account).map(|i| i.raw)
}

/// A text or CSV line.
fn plain_line(
    format: TimelineFormat,
    head: &Head,
    kind: &str,
    summary: &str,
    extra: &Extra,
    out: &mut Vec<u8>,
) {
    if format == TimelineFormat::Text {
        text_edge(head, false, out);
        text_middle(kind, summary, out);
        text_edge(head, true, out);
        return;
    }
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1024)
        .from_writer(&mut *out);
    let _ = w.write_record([
        head.time
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
            .as_str(),
        kind,
        head.file,
        &loc_text(head.loc),
        summary,
        head.machine.unwrap_or(""),
        extra.user.as_deref().unwrap_or(""),
        &extra.status.map(codes::hex).unwrap_or_default(),
        &extra.sub_status.map(codes::hex).unwrap_or_default(),
        head.time_basis.as_str(),
    ]);
    let _ = w.flush();
}

/// A text line's start (`after`: its end): the time, and where the event is. An estimated time
/// is marked twice: `~` beside it, where the eye reads the time, and the reason in the brackets.
fn text_edge(head: &Head, after: bool, out: &mut Vec<u8>) {
    let estimated = is_estimated(head.time_basis);
    // Writing to a Vec cannot fail.
    let _ = if after {
        writeln!(
            out,
            "{} {}{}]",
            head.file,
            loc_text(head.loc),
            if estimated {
                ", time estimated from the file date"
            } else {
                ""
            }
        )
    } else {
        write!(
            out,
            "{}{} ",
            head.time.format("%Y-%m-%d %H:%M:%S%.3fZ"),
            if estimated { '~' } else { ' ' },
        )
    };
}

/// A text line's middle: the kind, in a column, and the summary.
fn text_middle(kind: &str, summary: &str, out: &mut Vec<u8>) {
    let _ = write!(out, "{kind:<16} {summary}  [");
}

/// What a Timesketch line's time is, for `timestamp_desc`: the kind of record and how its zone
/// was known; an estimate says so first, since Timesketch shows this beside every event.
fn timestamp_desc(kind: &str, basis: TimeBasis) -> &'static str {
    let family = kind.split('.').next().unwrap_or(kind);
    if basis == TimeBasis::FileDate {
        return match family {
            "dsregcmd" => "Estimated: dsregcmd output file modified",
            "run" => "Estimated: run record file modified",
            _ => "Estimated: file modified",
        };
    }
    let exact = basis.is_exact();
    match family {
        "pad" if exact => "Log line written",
        "pad" => "Log line written (no zone; read as UTC)",
        "run" if exact => "Run record time",
        "run" => "Run record time (no zone; read as UTC)",
        "dsregcmd" if exact => "dsregcmd run",
        "dsregcmd" => "dsregcmd run (no zone; read as UTC)",
        _ if exact => "Event recorded",
        _ => "Event recorded (no zone; read as UTC)",
    }
}

/// Fields of a Timesketch line that padtriage sets itself; the event's own fields of the same
/// names go in with their family's name in front (`pad_message`).
const TIMESKETCH_OWN: &[&str] = &[
    "message",
    "datetime",
    "timestamp",
    "timestamp_desc",
    "time_basis",
    "estimated",
    "kind",
    "file",
    "record",
    "line",
    "row",
    "computer",
    "user",
    "user_domain",
];

/// One Timesketch line: the fields Timesketch needs, then the event's typed fields made flat
/// (an account's parts as `target_name`, `target_domain`, ...; codes as `0x` hex strings), so
/// each can be filtered on. Fields without a value are left out.
fn timesketch_line(ev: &Event, kind: &str, summary: &str, out: &mut Vec<u8>) {
    use serde_json::{Map, Value};
    let mut m = Map::new();
    let mut time = [0u8; 40];
    let message = if summary.is_empty() { kind } else { summary };
    m.insert("message".into(), message.into());
    m.insert("datetime".into(), rfc3339(&ev.time, &mut time).into());
    m.insert("timestamp".into(), ev.time.timestamp_micros().into());
    m.insert(
        "timestamp_desc".into(),
        timestamp_desc(kind, ev.time_basis).into(),
    );
    m.insert("time_basis".into(), ev.time_basis.as_str().into());
    m.insert("estimated".into(), is_estimated(ev.time_basis).into());
    m.insert("kind".into(), kind.into());
    m.insert("file".into(), (*ev.source.file).into());
    let (loc, n) = match ev.source.loc {
        Loc::Record(n) => ("record", n),
        Loc::Line(n) => ("line", n),
        Loc::Row(n) => ("row", n),
    };
    m.insert(loc.into(), n.into());
    if let Some(machine) = &ev.machine {
        m.insert("computer".into(), machine.as_str().into());
    }
    if let Some(user) = ev.user() {
        m.insert("user".into(), user.raw.into());
        if let Some(d) = user.domain {
            m.insert("user_domain".into(), d.into());
        }
    }
    let family = ev.data.family().name();
    if let Ok(Value::Object(data)) = serde_json::to_value(&ev.data) {
        for (key, value) in data {
            match value {
                Value::Null => {}
                Value::Object(inner) => {
                    for (k, v) in inner {
                        put(&mut m, family, format!("{key}_{k}"), flat(v));
                    }
                }
                v => put(&mut m, family, key, flat(v)),
            }
        }
    }
    if serde_json::to_writer(&mut *out, &m).is_ok() {
        out.push(b'\n');
    }
}

/// A value Timesketch can index as it is: scalars and lists of scalars stay, deeper structure
/// becomes its JSON text.
fn flat(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(_) => Value::String(v.to_string()),
        Value::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => {
            Value::String(Value::Array(a).to_string())
        }
        v => v,
    }
}

/// Add an event field unless it has no value; a name padtriage uses itself gets the family's
/// name in front, unless the value is the same.
fn put(
    m: &mut serde_json::Map<String, serde_json::Value>,
    family: &str,
    key: String,
    v: serde_json::Value,
) {
    if v.is_null() || (v.as_array().is_some_and(Vec::is_empty)) {
        return;
    }
    if TIMESKETCH_OWN.contains(&key.as_str()) {
        if m.get(&key) != Some(&v) {
            m.insert(format!("{family}_{key}"), v);
        }
        return;
    }
    m.insert(key, v);
}

/// A JSON string, escaped byte for byte as serde_json escapes it (the tests hold it to
/// serde's output): quote and backslash, the short escapes for five control characters and
/// `\u00xx` for the other controls; everything else, DEL and non-ASCII included, as is.
fn json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    json_text(out, s);
    out.push(b'"');
}

/// The inside of a JSON string: runs between the bytes to escape are copied whole.
fn json_text(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let i = next_to_escape(bytes, start);
        out.extend_from_slice(&bytes[start..i]);
        match bytes.get(i) {
            Some(b) => escape(out, *b),
            None => break,
        }
        start = i + 1;
    }
}

/// The position of the first byte at or after `from` that a JSON string escapes (a quote, a
/// backslash, a control), or `b.len()`. Eight bytes at a time: in each word the lowest flagged
/// byte is exact (a borrow only carries upwards, from a byte that is flagged itself).
fn next_to_escape(b: &[u8], mut from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    fn flags(x: u64) -> u64 {
        let zero = |y: u64| y.wrapping_sub(ONES) & !y & HIGH;
        (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
            | zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
    }
    let word = |w: &[u8]| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    while let Some(w) = b.get(from..from + 8) {
        let m = flags(word(w));
        if m != 0 {
            return from + (m.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    match b.len().checked_sub(8) {
        // The last eight bytes, those before `from` (checked already, maybe escaped) made plain.
        Some(last) if from < b.len() => {
            let seen = 8 * (from - last) as u32;
            let keep = u64::MAX << seen;
            let m = flags((word(&b[last..]) & keep) | ((ONES * u64::from(b'a')) & !keep));
            if m == 0 {
                b.len()
            } else {
                last + (m.trailing_zeros() / 8) as usize
            }
        }
        _ => b[from.min(b.len())..]
            .iter()
            .position(|c| *c < 0x20 || *c == b'"' || *c == b'\\')
            .map_or(b.len(), |i| from + i),
    }
}

fn escape(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
    }
}

fn json_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn json_opt_str<S: AsRef<str>>(out: &mut Vec<u8>, s: &Option<S>) {
    match s {
        Some(s) => json_str(out, s.as_ref()),
        None => out.extend_from_slice(b"null"),
    }
}

fn json_opt_u32(out: &mut Vec<u8>, v: Option<u32>) {
    match v {
        Some(v) => json_u64(out, u64::from(v)),
        None => out.extend_from_slice(b"null"),
    }
}

/// A code as `codes::as_hex` writes it (`"0xC000006D"`), without formatting machinery.
fn json_opt_hex(out: &mut Vec<u8>, v: Option<u32>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let Some(v) = v else {
        return out.extend_from_slice(b"null");
    };
    let mut s = *b"\"0x00000000\"";
    for (i, d) in s[3..11].iter_mut().enumerate() {
        *d = HEX[((v >> (28 - 4 * i)) & 0xf) as usize];
    }
    out.extend_from_slice(&s);
}

fn account_json<T: AsRef<str>>(out: &mut Vec<u8>, a: &Account<T>) {
    out.extend_from_slice(b"{\"name\":");
    json_opt_str(out, &a.name);
    out.extend_from_slice(b",\"domain\":");
    json_opt_str(out, &a.domain);
    out.extend_from_slice(b",\"sid\":");
    json_opt_str(out, &a.sid);
    out.push(b'}');
}

/// `EventData::Security` as serde writes it (tag first, fields in declaration order); the
/// tests hold it to serde's output.
fn security_json<T: AsRef<str>>(out: &mut Vec<u8>, e: &SecurityEvent<T>) {
    out.extend_from_slice(b"{\"family\":\"security\",\"event_id\":");
    json_u64(out, u64::from(e.event_id));
    out.extend_from_slice(b",\"computer\":");
    json_opt_str(out, &e.computer);
    out.extend_from_slice(b",\"subject\":");
    account_json(out, &e.subject);
    out.extend_from_slice(b",\"target\":");
    account_json(out, &e.target);
    out.extend_from_slice(b",\"logon_type\":");
    json_opt_u32(out, e.logon_type);
    out.extend_from_slice(b",\"status\":");
    json_opt_hex(out, e.status);
    out.extend_from_slice(b",\"sub_status\":");
    json_opt_hex(out, e.sub_status);
    for (key, value) in [
        (&b",\"failure_reason\":"[..], &e.failure_reason),
        (b",\"logon_process\":", &e.logon_process),
        (b",\"auth_package\":", &e.auth_package),
        (b",\"workstation\":", &e.workstation),
        (b",\"process_name\":", &e.process_name),
        (b",\"ip_address\":", &e.ip_address),
        (b",\"target_server\":", &e.target_server),
    ] {
        out.extend_from_slice(key);
        json_opt_str(out, value);
    }
    out.push(b'}');
}

/// `t` as chrono serialises a UTC time (RFC 3339, `Z`, fraction digits 0, 3, 6 or 9 as
/// needed), written without chrono's formatting machinery for the years 0 to 9999.
fn rfc3339<'b>(t: &Time, buf: &'b mut [u8; 40]) -> std::borrow::Cow<'b, str> {
    let fallback = || std::borrow::Cow::Owned(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    let Some(n) = rfc3339_digits(t, buf) else {
        return fallback();
    };
    // Only ASCII digits and separators were written.
    match std::str::from_utf8(&buf[..n]) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => fallback(),
    }
}

/// Write [`rfc3339`]'s text into `buf`, from the time's own fields (no conversion to a
/// timestamp and back); its length, or `None` outside the years 0 to 9999 or in a leap second.
fn rfc3339_digits(t: &Time, buf: &mut [u8; 40]) -> Option<usize> {
    use chrono::{Datelike, Timelike};
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    // The naive UTC fields: a `DateTime`'s own accessors add its (zero) offset every time.
    let t = t.naive_utc();
    let nanos = t.nanosecond();
    let year = i64::from(t.year());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let (month, day) = (i64::from(t.month()), i64::from(t.day()));
    let sod = i64::from(t.num_seconds_from_midnight());
    let mut put2 = |at: usize, v: i64| {
        let i = 2 * v as usize;
        buf[at] = PAIRS[i];
        buf[at + 1] = PAIRS[i + 1];
    };
    put2(0, year / 100);
    put2(2, year % 100);
    put2(5, month);
    put2(8, day);
    put2(11, sod / 3600);
    put2(14, sod / 60 % 60);
    put2(17, sod % 60);
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    let mut n = 19;
    if nanos != 0 {
        buf[19] = b'.';
        let (v, digits) = if nanos.is_multiple_of(1_000_000) {
            (nanos / 1_000_000, 3)
        } else if nanos.is_multiple_of(1_000) {
            (nanos / 1_000, 6)
        } else {
            (nanos, 9)
        };
        let mut v = v;
        for i in (0..digits).rev() {
            buf[20 + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        n = 20 + digits;
    }
    buf[n] = b'Z';
    Some(n + 1)
}

/// What comes before the events (the CSV header).
pub fn header(format: TimelineFormat, out: &mut dyn Write) -> io::Result<()> {
    if format == TimelineFormat::Csv {
        out.write_all(CSV_HEADER.as_bytes())?;
    }
    Ok(())
}

/// Render a timeline held in memory.
pub fn render(tl: &Timeline, format: TimelineFormat, out: &mut dyn Write) -> io::Result<()> {
    header(format, out)?;
    let mut buf = Vec::with_capacity(1024);
    for ev in &tl.events {
        buf.clear();
        line(format, ev, &mut buf);
        out.write_all(&buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn security(i: u32) -> SecurityEvent {
        let text = |s: &str| Some(crate::model::Text::from(format!("{s}{i}")));
        let mut e = SecurityEvent {
            event_id: 4624 + i,
            computer: text("PC\"1\\x\u{1}\t\u{e9}\u{7f}"),
            subject: Account {
                name: text("SYSTEM"),
                domain: None,
                sid: text("S-1-5-18"),
            },
            target: Account {
                name: text("C:\\Users\\\u{1F600}"),
                domain: text("CONTOSO\n"),
                sid: None,
            },
            logon_type: Some(i),
            status: Some(0xC000_006D),
            sub_status: Some(0x0000_0ABC),
            failure_reason: text("%%2313"),
            logon_process: None,
            auth_package: text("Negotiate"),
            workstation: text(""),
            process_name: None,
            ip_address: text("::1"),
            target_server: text("srv</script>"),
        };
        if i % 2 == 1 {
            e = SecurityEvent {
                event_id: i,
                ..SecurityEvent::default()
            };
        }
        e
    }

    #[test]
    fn security_lines_are_what_serde_writes() {
        for i in 0..4 {
            let ev = Event {
                time: chrono::Utc.with_ymd_and_hms(2025, 6, 2, 13, 17, 5).unwrap()
                    + chrono::Duration::microseconds(i64::from(i) * 26_500),
                time_basis: crate::model::TimeBasis::Utc,
                machine: (i % 2 == 0).then(|| "RPA-VM01.contoso.com".into()),
                source: crate::model::SourceRef {
                    file: std::sync::Arc::from(format!("logs.zip!/Secu\"rity{i}.evtx").as_str()),
                    loc: [
                        Loc::Record(7),
                        Loc::Line(8),
                        Loc::Row(9),
                        Loc::Record(u64::MAX),
                    ][i as usize],
                },
                data: EventData::Security(security(i)),
            };
            let mut got = Vec::new();
            line(TimelineFormat::Jsonl, &ev, &mut got);
            let kind = ev.kind();
            let summary = ev.summary();
            let mut buf = [0u8; 40];
            let want = serde_json::to_vec(&JsonLine {
                time: &rfc3339(&ev.time, &mut buf),
                time_basis: ev.time_basis,
                file: &ev.source.file,
                loc: ev.source.loc,
                machine: ev.machine.as_deref(),
                kind: &kind,
                summary: &summary,
                data: &ev.data,
            })
            .unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap() + "\n"
            );
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_escapes_them() {
        // Every byte to escape at every position of strings around the word size, next to
        // each other and to multi-byte characters.
        let mut texts = vec![String::new(), "\u{e9}\u{1F600}\u{7f}".to_string()];
        for len in 0..20 {
            for at in 0..len {
                for c in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '#', '\u{e9}'] {
                    let mut s: String = (0..len).map(|i| char::from(b'a' + i as u8)).collect();
                    s.replace_range(at..at + 1, &c.to_string());
                    texts.push(s.clone());
                    s.push('"');
                    s.insert(0, '\\');
                    texts.push(s);
                }
            }
        }
        for s in texts {
            let mut got = Vec::new();
            json_str(&mut got, &s);
            assert_eq!(
                String::from_utf8(got).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn times_are_written_as_chrono_serialises_them() {
        let base = chrono::Utc.with_ymd_and_hms(2025, 6, 2, 13, 17, 5).unwrap();
        let mut times = vec![
            base,
            chrono::Utc.with_ymd_and_hms(1601, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc
                .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
                .unwrap(),
            chrono::Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
        ];
        for ns in [1, 100, 1_000, 26_500, 1_000_000, 123_000_000, 999_999_999] {
            times.push(base + chrono::Duration::nanoseconds(ns));
        }
        for t in times {
            let mut buf = [0u8; 40];
            let want = serde_json::to_value(t).unwrap();
            assert_eq!(rfc3339(&t, &mut buf), want.as_str().unwrap(), "{t:?}");
        }
    }
}
