//! Reads Event Viewer XML exports: `wevtutil qe <log> /f:xml` output (concatenated
//! `<Event xmlns=..>..</Event>` with no root) and Event Viewer "Save As XML"
//! (`<Events><Event>..</Event>..</Events>`, maybe with an XML declaration and `RenderingInfo`),
//! in UTF-8 or UTF-16 with or without a BOM.
//!
//! The stream is cut into single `<Event>` elements by their tags, and each is parsed on its own
//! with `quick-xml`: one malformed event is counted and described (with its line) and the rest
//! are read. Events feed the same [`windows_event`](super::windows_event) mapper as EVTX.

use super::windows_event::{self as we, RawEvent, Value};
use super::{Collect, EventSink, ReadCtx};
use crate::model::{FileKind, FileReport, Loc, Parsed, Problem, SourceRef, Time};
use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::{Reader, XmlVersion};
use std::borrow::Cow;
use std::io::{self, BufRead, Read};
use std::sync::Arc;

/// Largest single event accepted; past it the event is skipped as damaged.
const MAX_EVENT_BYTES: usize = 8 << 20;
/// Deepest element nesting accepted in an event (Windows writes fewer than 10 levels); a deeper
/// event is hostile or garbage and is rejected rather than walked.
const MAX_DEPTH: usize = 256;
/// Problems listed per file before the rest are only counted.
const MAX_PROBLEMS: usize = 50;

/// Read one Event Viewer XML export from `r`. Never fails: what cannot be read is counted and
/// described in the report.
pub fn read_event_xml<R: BufRead>(r: R, ctx: &ReadCtx) -> Parsed {
    let sink = Collect::default();
    let mut parsed = read_event_xml_to(r, ctx, &sink);
    parsed.events = sink.into_events();
    parsed
}

/// Read one Event Viewer XML export from `r`, handing kept events to `sink` in batches as they
/// are read (the returned `Parsed` holds none; its report's `kept` counts them).
pub fn read_event_xml_to<R: BufRead>(mut r: R, ctx: &ReadCtx, sink: &dyn EventSink) -> Parsed {
    let mut out = ExportReader::new(ctx, sink);
    // The encoding from the byte-order mark, or from how `<` is spelled in the first bytes.
    let head = match r.fill_buf() {
        Ok(h) => h.get(..4.min(h.len())).unwrap_or_default().to_vec(),
        Err(e) => {
            out.problem("io", None, format!("read failed: {e}"));
            return out.finish();
        }
    };
    let utf16 = match head.as_slice() {
        [0xFF, 0xFE, ..] | [b'<', 0, ..] => Some(encoding_rs::UTF_16LE),
        [0xFE, 0xFF, ..] | [0, b'<', ..] => Some(encoding_rs::UTF_16BE),
        _ => None,
    };
    match utf16 {
        Some(enc) => {
            let mut decoded = Utf16Reader::new(r, enc);
            scan(&mut decoded, &mut out);
            if decoded.had_errors {
                out.problem(
                    "decode",
                    None,
                    "invalid UTF-16 in the file was replaced with U+FFFD".into(),
                );
            }
        }
        None => {
            if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
                r.consume(3);
            }
            scan(&mut r, &mut out);
        }
    }
    out.finish()
}

/// Report and events being built.
struct ExportReader<'c> {
    ctx: &'c ReadCtx<'c>,
    report: FileReport,
    /// Kept events not yet handed to the sink.
    events: Vec<crate::model::Event>,
    sink: &'c dyn EventSink,
    batch: u64,
    problems: Vec<Problem>,
    /// Problems past the listed ones, only counted.
    more: usize,
    bad_utf8: bool,
}

/// Kept events handed to the sink at a time.
const BATCH: usize = 256;

impl<'c> ExportReader<'c> {
    fn new(ctx: &'c ReadCtx<'c>, sink: &'c dyn EventSink) -> Self {
        ExportReader {
            ctx,
            report: FileReport::new(ctx.file.to_string(), FileKind::EventXml, ctx.size),
            events: Vec::new(),
            sink,
            batch: 0,
            problems: Vec::new(),
            more: 0,
            bad_utf8: false,
        }
    }

    fn problem(&mut self, kind: &str, line: Option<u64>, message: String) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.more += 1;
            return;
        }
        self.problems.push(Problem::new(
            kind,
            line.map(|l| format!("line {l}")),
            message,
        ));
    }

    fn flush(&mut self) {
        if !self.events.is_empty() {
            self.report.kept += self.events.len() as u64;
            self.sink.take(self.batch, std::mem::take(&mut self.events));
            self.batch += 1;
        }
    }

    /// One `<Event>` element's bytes, starting at `line`.
    fn event(&mut self, bytes: &[u8], line: u64) {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => Cow::Borrowed(t),
            Err(_) => {
                self.bad_utf8 = true;
                String::from_utf8_lossy(bytes)
            }
        };
        match parse_event(&text) {
            Err(message) => {
                self.report.errors += 1;
                self.problem(
                    "bad_record",
                    Some(line),
                    format!("malformed event: {message}"),
                );
            }
            Ok(raw) => {
                self.report.records += 1;
                self.report.see_time(raw.time);
                if let Some(c) = raw.channel.as_deref().filter(|c| !c.is_empty()) {
                    self.report.add_channel(c);
                }
                let wanted = raw.channel.as_deref().is_some_and(|c| {
                    we::select(c, raw.provider.as_deref(), raw.event_id).is_some()
                }) && self.ctx.filter.keeps_time(raw.time);
                let source = SourceRef {
                    file: Arc::clone(&self.ctx.file),
                    loc: raw.record_id.map_or(Loc::Line(line), Loc::Record),
                };
                match wanted.then(|| we::to_event(&raw, source)).flatten() {
                    Some(ev) => {
                        self.events.push(ev);
                        if self.events.len() >= BATCH {
                            self.flush();
                        }
                    }
                    None => self.report.ignored += 1,
                }
            }
        }
    }

    fn finish(mut self) -> Parsed {
        self.flush();
        if self.bad_utf8 {
            self.problem(
                "decode",
                None,
                "invalid UTF-8 in the file was replaced with U+FFFD".into(),
            );
        }
        if self.report.records == 0 && self.report.errors == 0 && self.problems.is_empty() {
            self.problem(
                "unrecognised",
                None,
                "no <Event> elements in the file".into(),
            );
        }
        if self.more > 0 {
            self.problems.push(Problem::new(
                "limit",
                None,
                format!("{} more problems in this file are not listed", self.more),
            ));
        }
        self.report.problems = self.problems;
        Parsed::new(self.report)
    }
}

/// A tag found in the byte stream.
enum Tag {
    /// `<Event` followed by a delimiter (not `<Events`, `<EventData`, ...).
    Start,
    /// `</Event>`, ending `len` bytes after its `<`.
    End { len: usize },
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// What the `<` at `buf[i]` starts. `Err(())` when more bytes are needed to tell (and the
/// stream has more).
fn tag_at(buf: &[u8], i: usize, at_eof: bool) -> Result<Option<Tag>, ()> {
    let rest = &buf[i..];
    const OPEN: &[u8] = b"<Event";
    const CLOSE: &[u8] = b"</Event";
    if rest.len() <= CLOSE.len() && !at_eof {
        return Err(());
    }
    if rest.starts_with(OPEN) {
        return Ok(match rest.get(OPEN.len()) {
            Some(&b) if is_space(b) || b == b'>' || b == b'/' => Some(Tag::Start),
            _ => None,
        });
    }
    if rest.starts_with(CLOSE) {
        let mut j = CLOSE.len();
        while rest.get(j).is_some_and(|b| is_space(*b)) {
            j += 1;
        }
        return match rest.get(j) {
            Some(b'>') => Ok(Some(Tag::End { len: j + 1 })),
            Some(_) => Ok(None),
            None if at_eof => Ok(None),
            None => Err(()),
        };
    }
    Ok(None)
}

/// Cut the UTF-8 stream into `<Event>` elements and hand each to `out`.
fn scan<B: BufRead>(r: &mut B, out: &mut ExportReader) {
    let mut buf: Vec<u8> = Vec::new();
    // How far into `buf` newlines have been counted, and the line number there.
    let mut counted = 0usize;
    let mut counted_line: u64 = 1;
    let mut pos = 0usize;
    // Start offset and line of the event being collected.
    let mut open: Option<(usize, u64)> = None;
    let mut at_eof = false;

    let line_at = |buf: &[u8], counted: &mut usize, counted_line: &mut u64, at: usize| {
        if let Some(seen) = buf.get(*counted..at) {
            *counted_line += seen.iter().filter(|b| **b == b'\n').count() as u64;
            *counted = at;
        }
        *counted_line
    };

    loop {
        // Look for the next tag from `pos`.
        let mut need_more = false;
        while let Some(off) = buf[pos..].iter().position(|b| *b == b'<') {
            let i = pos + off;
            match tag_at(&buf, i, at_eof) {
                Err(()) => {
                    need_more = true;
                    pos = i;
                    break;
                }
                Ok(None) => pos = i + 1,
                Ok(Some(Tag::Start)) => {
                    let line = line_at(&buf, &mut counted, &mut counted_line, i);
                    if let Some((_, l)) = open {
                        out.report.errors += 1;
                        out.problem(
                            "bad_record",
                            Some(l),
                            "malformed event: no </Event> before the next <Event>".into(),
                        );
                    }
                    open = Some((i, line));
                    pos = i + 1;
                }
                Ok(Some(Tag::End { len })) => {
                    let end = i + len;
                    if let Some((start, line)) = open.take() {
                        out.event(&buf[start..end], line);
                    }
                    pos = end;
                }
            }
        }
        if !need_more {
            pos = buf.len();
        }
        if at_eof {
            break;
        }
        // Drop what is no longer needed: everything before the open event, or before `pos`.
        let keep_from = open.map_or(pos, |(s, _)| s);
        if keep_from > 0 {
            line_at(&buf, &mut counted, &mut counted_line, keep_from);
            buf.drain(..keep_from);
            counted = counted.saturating_sub(keep_from);
            pos -= keep_from;
            if let Some((s, _)) = open.as_mut() {
                *s -= keep_from;
            }
        }
        if let Some((_, l)) = open {
            if buf.len() > MAX_EVENT_BYTES {
                out.report.errors += 1;
                out.problem(
                    "limit",
                    Some(l),
                    format!("event larger than {MAX_EVENT_BYTES} bytes skipped"),
                );
                open = None;
            }
        }
        match r.fill_buf() {
            Ok([]) => at_eof = true,
            Ok(chunk) => {
                buf.extend_from_slice(chunk);
                let n = chunk.len();
                r.consume(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.problem("io", Some(counted_line), format!("read failed: {e}"));
                at_eof = true;
            }
        }
    }
    if let Some((_, l)) = open {
        out.report.errors += 1;
        out.problem(
            "truncated",
            Some(l),
            "the file ends inside this event (no </Event>)".into(),
        );
    }
}

fn local_name(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_string()
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        if a.key.local_name().as_ref() == name {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// `2021-05-20T12:49:52.3157890Z` (any fraction length; a missing zone means UTC).
fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let naive = s.trim_end_matches('Z');
    chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .map(|n| n.and_utc())
}

/// The fields of one `<Event>` element.
#[derive(Default)]
struct Fields {
    provider: Option<String>,
    channel: Option<String>,
    event_id: Option<u32>,
    level: Option<u8>,
    computer: Option<String>,
    user_id: Option<String>,
    record_id: Option<u64>,
    time: Option<Time>,
    data: Vec<(Cow<'static, str>, Value<'static>)>,
}

fn parse_event(text: &str) -> Result<RawEvent<'static>, String> {
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut has_child: Vec<bool> = Vec::new();
    let mut content = String::new();
    let mut data_name: Option<String> = None;
    let mut f = Fields::default();
    let mut closed_root = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("{e} (at byte {} of the event)", reader.error_position()))?;
        match ev {
            XmlEvent::Start(e) | XmlEvent::Empty(e) if closed_root => {
                return Err(format!("content after </Event>: <{}>", local_name(&e)));
            }
            XmlEvent::Start(_) if path.len() >= MAX_DEPTH => {
                return Err(format!("elements nested more than {MAX_DEPTH} deep"));
            }
            XmlEvent::Start(e) => {
                open_elem(&path, &e, &mut f, &mut data_name)?;
                if let Some(h) = has_child.last_mut() {
                    *h = true;
                }
                path.push(local_name(&e));
                has_child.push(false);
                content.clear();
            }
            XmlEvent::Empty(e) => {
                open_elem(&path, &e, &mut f, &mut data_name)?;
                if let Some(h) = has_child.last_mut() {
                    *h = true;
                }
                close_elem(
                    &path,
                    local_name(&e),
                    false,
                    String::new(),
                    &mut f,
                    &mut data_name,
                )?;
                closed_root |= path.is_empty();
            }
            XmlEvent::End(_) => {
                let name = path.pop().ok_or("unexpected end tag")?;
                let had = has_child.pop().unwrap_or(false);
                close_elem(
                    &path,
                    name,
                    had,
                    std::mem::take(&mut content),
                    &mut f,
                    &mut data_name,
                )?;
                closed_root |= path.is_empty();
            }
            XmlEvent::Text(t) => content.push_str(&t.xml10_content()),
            XmlEvent::CData(t) => content.push_str(&t.xml10_content()),
            XmlEvent::GeneralRef(r) => {
                let resolved = r.resolve_char_ref().map_err(|e| e.to_string())?;
                match resolved {
                    Some(ch) => content.push(ch),
                    None => {
                        let name: &str = &r;
                        let s = quick_xml::escape::resolve_predefined_entity(name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?;
                        content.push_str(s);
                    }
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(format!("<{}> is not closed", path.join("/")));
    }
    if !closed_root {
        return Err("no <Event> element".into());
    }
    let event_id = f.event_id.ok_or("no System/EventID")?;
    let time = f.time.ok_or("no System/TimeCreated/@SystemTime")?;
    Ok(RawEvent {
        provider: f.provider.map(Cow::Owned),
        channel: f.channel.map(Cow::Owned),
        event_id,
        level: f.level,
        computer: f.computer.map(Cow::Owned),
        user_id: f.user_id.map(Cow::Owned),
        record_id: f.record_id,
        time,
        data: f.data,
    })
}

/// The first three names of an element's ancestry: all the matches below look at, and
/// enough to tell two ancestors from more. Copying the whole path for every element made a
/// deeply nested event cost time quadratic in its depth (100,000 levels: minutes).
fn near_root(parents: &[String]) -> Vec<&str> {
    parents.iter().take(3).map(String::as_str).collect()
}

/// An element opens under `parents`: take the attributes padtriage reads.
fn open_elem(
    parents: &[String],
    e: &BytesStart<'_>,
    f: &mut Fields,
    data_name: &mut Option<String>,
) -> Result<(), String> {
    let name = e.local_name();
    let name = name.as_ref();
    let parents = near_root(parents);
    match (parents.as_slice(), name) {
        ([], "Event") => {}
        ([], other) => return Err(format!("root element is <{other}>, not <Event>")),
        (["Event", "System"], "Provider") => f.provider = attr(e, "Name")?,
        (["Event", "System"], "Security") => f.user_id = attr(e, "UserID")?,
        (["Event", "System"], "TimeCreated") => {
            if let Some(t) = attr(e, "SystemTime")? {
                f.time = Some(parse_time(&t).ok_or_else(|| format!("bad SystemTime {t:?}"))?);
            }
        }
        (["Event", "EventData"], "Data") => *data_name = attr(e, "Name")?,
        _ => {}
    }
    Ok(())
}

/// An element closes under `parents` with its text: file the values padtriage reads.
fn close_elem(
    parents: &[String],
    name: String,
    had_children: bool,
    text: String,
    f: &mut Fields,
    data_name: &mut Option<String>,
) -> Result<(), String> {
    let parents = near_root(parents);
    let number = |what: &str| -> Result<u64, String> {
        text.trim()
            .parse::<u64>()
            .map_err(|_| format!("{what} is not a number: {:?}", text.trim()))
    };
    match parents.as_slice() {
        ["Event", "System"] => match name.as_str() {
            "EventID" => {
                f.event_id =
                    Some(u32::try_from(number("EventID")?).map_err(|_| "EventID out of range")?)
            }
            "Level" => f.level = u8::try_from(number("Level")?).ok(),
            "EventRecordID" => f.record_id = Some(number("EventRecordID")?),
            "Channel" => f.channel = Some(text.trim().to_string()),
            "Computer" => f.computer = Some(text.trim().to_string()),
            _ => {}
        },
        ["Event", "EventData"] if name == "Data" => {
            let n = data_name.take().unwrap_or_default();
            f.data.push((Cow::Owned(n), Value::Str(Cow::Owned(text))));
        }
        ["Event", "UserData", ..] if !had_children => {
            f.data
                .push((Cow::Owned(name), Value::Str(Cow::Owned(text))));
        }
        _ => {}
    }
    Ok(())
}

/// UTF-16 input decoded to UTF-8 on the fly, so the scanner only ever sees UTF-8.
struct Utf16Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    out: Vec<u8>,
    pos: usize,
    len: usize,
    done: bool,
    had_errors: bool,
}

impl<R: BufRead> Utf16Reader<R> {
    fn new(inner: R, encoding: &'static encoding_rs::Encoding) -> Self {
        Utf16Reader {
            inner,
            // Sniffs and drops a byte-order mark.
            decoder: encoding.new_decoder(),
            out: Vec::new(),
            pos: 0,
            len: 0,
            done: false,
            had_errors: false,
        }
    }
}

impl<R: BufRead> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let src = self.fill_buf()?;
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Utf16Reader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.len && !self.done {
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let need = self
                .decoder
                .max_utf8_buffer_length(src.len())
                .unwrap_or(src.len().saturating_mul(3))
                .max(16);
            if self.out.len() < need {
                self.out.resize(need, 0);
            }
            let (_, read, written, errors) = self.decoder.decode_to_utf8(src, &mut self.out, last);
            self.inner.consume(read);
            self.pos = 0;
            self.len = written;
            self.had_errors |= errors;
            self.done = last;
        }
        Ok(&self.out[self.pos..self.len])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventData, EventFilter};

    fn read(bytes: &[u8]) -> Parsed {
        let filter = EventFilter::all();
        let ctx = ReadCtx {
            file: Arc::from("Security.xml"),
            size: bytes.len() as u64,
            mtime: None,
            filter: &filter,
            threads: 1,
        };
        read_event_xml(bytes, &ctx)
    }

    const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

    fn event_4625(record: u64, time: &str) -> String {
        format!(
            r#"<Event xmlns="{NS}"><System><Provider Name="Microsoft-Windows-Security-Auditing" Guid="{{54849625-5478-4994-A5BA-3E3B0328C30D}}"/><EventID>4625</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime="{time}"/><EventRecordID>{record}</EventRecordID><Correlation/><Execution ProcessID="576" ThreadID="108"/><Channel>Security</Channel><Computer>RPA-VM01.contoso.com</Computer><Security/></System><EventData><Data Name="SubjectUserSid">S-1-5-18</Data><Data Name="SubjectUserName">RPA-VM01$</Data><Data Name="SubjectDomainName">CONTOSO</Data><Data Name="TargetUserSid">S-1-0-0</Data><Data Name="TargetUserName">svc-rpa</Data><Data Name="TargetDomainName">CONTOSO</Data><Data Name="Status">0xc000006d</Data><Data Name="FailureReason">%%2313</Data><Data Name="SubStatus">0xc000006a</Data><Data Name="LogonType">10</Data><Data Name="LogonProcessName">User32 </Data><Data Name="AuthenticationPackageName">Negotiate</Data><Data Name="WorkstationName">RPA-VM01</Data><Data Name="ProcessName">C:\Windows\System32\svchost.exe</Data><Data Name="IpAddress">127.0.0.1</Data></EventData></Event>"#
        )
    }

    fn event_4624(record: u64) -> String {
        format!(
            r#"<Event xmlns="{NS}"><System><Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>4624</EventID><TimeCreated SystemTime="2025-06-02T13:18:00.1234567Z"/><EventRecordID>{record}</EventRecordID><Channel>Security</Channel><Computer>RPA-VM01</Computer></System><EventData><Data Name="TargetUserName">svc-rpa</Data><Data Name="LogonType">2</Data></EventData></Event>"#
        )
    }

    #[test]
    fn wevtutil_shape_concatenated_events() {
        let xml = format!(
            "{}\r\n{}\r\n",
            event_4625(1861987, "2025-06-02T13:17:05.3157890Z"),
            event_4624(1861988)
        );
        let p = read(xml.as_bytes());
        assert_eq!(p.report.records, 2);
        assert_eq!(p.report.errors, 0);
        assert_eq!(p.report.kept, 2);
        assert_eq!(p.report.channels, vec!["Security".to_string()]);
        assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
        let ev = &p.events[0];
        assert_eq!(ev.source.loc, Loc::Record(1861987));
        assert_eq!(ev.time.to_rfc3339(), "2025-06-02T13:17:05.315789+00:00");
        let EventData::Security(s) = &ev.data else {
            panic!()
        };
        assert_eq!(s.status, Some(0xC000_006D));
        assert_eq!(s.sub_status, Some(0xC000_006A));
        assert_eq!(s.logon_type, Some(10));
        assert_eq!(s.logon_process.as_deref(), Some("User32"));
        assert_eq!(s.target.name.as_deref(), Some("svc-rpa"));
        assert_eq!(s.target.sid, None);
    }

    fn save_as_xml_export() -> String {
        format!(
            concat!(
                "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\r\n<Events>\r\n",
                "{}\r\n",
                // An AAD 1098 with its RenderingInfo (whose Level/Channel must not be read).
                "<Event xmlns=\"{ns}\"><System><Provider Name=\"Microsoft-Windows-AAD\" Guid=\"{{4de9bc9c-b27a-43c9-8994-0915f1a5e24f}}\"/><EventID>1098</EventID><Level>2</Level>",
                "<TimeCreated SystemTime=\"2025-06-02T13:17:04.0000000Z\"/><EventRecordID>77</EventRecordID><Channel>Microsoft-Windows-AAD/Operational</Channel><Computer>RPA-VM01</Computer>",
                "<Security UserID=\"S-1-12-1-1-2-3-4\"/></System><EventData><Data Name=\"Error\">0xcaa2000c</Data><Data Name=\"ErrorMessage\">The request requires user interaction.</Data>",
                "<Data Name=\"AdditionalInformation\">Code: interaction_required&#13;\nDescription: AADSTS50076: Due to a configuration change &amp; more.&#13;\nCorrelation ID: 6e1c0a2b-3f4d-4c5e-8a9b-0c1d2e3f4a5b</Data></EventData>",
                "<RenderingInfo Culture=\"en-US\"><Message>Error: 0xCAA2000C</Message><Level>Warning</Level><Channel>Other</Channel></RenderingInfo></Event>\r\n",
                // User Device Registration 304 and a System 7000 about the PAD service.
                "<Event xmlns=\"{ns}\"><System><Provider Name=\"Microsoft-Windows-User Device Registration\"/><EventID>304</EventID><Level>2</Level><TimeCreated SystemTime=\"2025-06-02T10:00:00Z\"/><EventRecordID>5</EventRecordID>",
                "<Channel>Microsoft-Windows-User Device Registration/Admin</Channel><Computer>RPA-VM01</Computer></System><EventData><Data Name=\"ExitCode\">0x801c03f2</Data><Data Name=\"ServerErrorCode\">DirectoryError</Data>",
                "<Data Name=\"DebugOutput\">joinMode: Join\ndrsInstance: azure\nregistrationType: sync\ntenantType: Managed\nerrorPhase: join</Data></EventData></Event>\r\n",
                "<Event xmlns=\"{ns}\"><System><Provider Name=\"Service Control Manager\" EventSourceName=\"Service Control Manager\"/><EventID Qualifiers=\"49152\">7000</EventID><Level>2</Level><TimeCreated SystemTime=\"2025-06-02T09:00:00.000000000Z\"/>",
                "<EventRecordID>900</EventRecordID><Channel>System</Channel><Computer>RPA-VM01</Computer></System><EventData><Data Name=\"param1\">Power Automate service</Data><Data Name=\"param2\">%%1069</Data></EventData></Event>\r\n",
                // An ignored System event.
                "<Event xmlns=\"{ns}\"><System><Provider Name=\"Service Control Manager\"/><EventID>7036</EventID><TimeCreated SystemTime=\"2025-06-02T09:00:01Z\"/><EventRecordID>901</EventRecordID><Channel>System</Channel></System><EventData><Data Name=\"param1\">Spooler</Data></EventData></Event>\r\n",
                "</Events>\r\n"
            ),
            event_4625(10, "2025-06-02T13:17:05Z"),
            ns = NS
        )
    }

    #[test]
    fn save_as_xml_shape_with_all_families() {
        let p = read(save_as_xml_export().as_bytes());
        assert_eq!(p.report.records, 5, "{:?}", p.report.problems);
        assert_eq!(p.report.errors, 0);
        assert_eq!(p.report.kept, 4);
        assert_eq!(p.report.ignored, 1);
        assert_eq!(p.report.channels.len(), 4);
        assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
        let aad = p
            .events
            .iter()
            .find_map(|e| match &e.data {
                EventData::Aad(a) => Some(a),
                _ => None,
            })
            .unwrap();
        assert_eq!(aad.error_code, Some(0xCAA2_000C));
        assert_eq!(aad.level, Some(2), "System/Level, not RenderingInfo/Level");
        assert_eq!(aad.oauth_error.as_deref(), Some("interaction_required"));
        assert_eq!(aad.aadsts, vec![50076]);
        assert_eq!(aad.user_sid.as_deref(), Some("S-1-12-1-1-2-3-4"));
        assert_eq!(
            aad.correlation_id.as_deref(),
            Some("6e1c0a2b-3f4d-4c5e-8a9b-0c1d2e3f4a5b")
        );
        assert!(aad.text.contains("configuration change & more."));
        let udr = p
            .events
            .iter()
            .find_map(|e| match &e.data {
                EventData::DeviceRegistration(d) => Some(d),
                _ => None,
            })
            .unwrap();
        assert_eq!(udr.exit_code, Some(0x801C_03F2));
        assert_eq!(udr.server_error.as_deref(), Some("DirectoryError"));
        assert_eq!(udr.error_phase.as_deref(), Some("join"));
        assert_eq!(udr.registration_type.as_deref(), Some("sync"));
        let svc = p
            .events
            .iter()
            .find_map(|e| match &e.data {
                EventData::Service(s) => Some((e, s)),
                _ => None,
            })
            .unwrap();
        assert_eq!(svc.1.error_code, Some(1069));
        assert_eq!(svc.0.source.loc, Loc::Record(900));
    }

    #[test]
    fn utf16_with_bom_both_byte_orders() {
        let xml = save_as_xml_export();
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in xml.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
            be.extend_from_slice(&u.to_be_bytes());
        }
        for bytes in [le.clone(), be, le[2..].to_vec()] {
            let p = read(&bytes);
            assert_eq!(p.report.records, 5, "{:?}", p.report.problems);
            assert_eq!(p.report.kept, 4);
            assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
        }
        // UTF-8 with a BOM.
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(xml.as_bytes());
        assert_eq!(read(&bom).report.kept, 4);
    }

    #[test]
    fn malformed_event_in_the_middle_is_counted_with_its_line() {
        let bad = event_4625(2, "2025-06-02T13:17:05Z").replace("</EventID>", "</EventIDX>");
        let xml = format!(
            "{}\n{}\n{}\n",
            event_4625(1, "2025-06-02T13:17:05Z"),
            bad,
            event_4624(3)
        );
        let p = read(xml.as_bytes());
        assert_eq!(p.report.records, 2);
        assert_eq!(p.report.errors, 1);
        assert_eq!(p.report.kept, 2);
        assert_eq!(p.report.problems.len(), 1);
        assert_eq!(p.report.problems[0].kind, "bad_record");
        assert_eq!(p.report.problems[0].at.as_deref(), Some("line 2"));

        // An event never closed before the next one, and one cut off by the end of the file.
        let xml = format!(
            "<Events>\n{}\n<Event xmlns=\"{NS}\"><System>\n{}\n<Event><System><EventID>1",
            event_4624(1),
            event_4624(2)
        );
        let p = read(xml.as_bytes());
        assert_eq!(p.report.records, 2);
        assert_eq!(p.report.errors, 2);
        let at: Vec<_> = p
            .report
            .problems
            .iter()
            .map(|p| (p.kind.as_str(), p.at.as_deref()))
            .collect();
        assert_eq!(
            at,
            vec![
                ("bad_record", Some("line 3")),
                ("truncated", Some("line 5"))
            ]
        );
    }

    #[test]
    fn events_stream_in_small_reads() {
        // A reader that hands out 7 bytes at a time, so tags straddle reads.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(7).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let xml = save_as_xml_export();
        let filter = EventFilter::all();
        let ctx = ReadCtx {
            file: Arc::from("x.xml"),
            size: 0,
            mtime: None,
            filter: &filter,
            threads: 1,
        };
        let p = read_event_xml(io::BufReader::with_capacity(7, Slow(xml.as_bytes())), &ctx);
        assert_eq!(p.report.records, 5, "{:?}", p.report.problems);
        assert_eq!(p.report.kept, 4);
    }

    #[test]
    fn time_filter_and_garbage() {
        let xml = save_as_xml_export();
        let t = |s: &str| parse_time(s).unwrap();
        let filter = EventFilter {
            ranges: Some(vec![(t("2025-06-02T13:00:00Z"), t("2025-06-02T14:00:00Z"))]),
        };
        let ctx = ReadCtx {
            file: Arc::from("x.xml"),
            size: 0,
            mtime: None,
            filter: &filter,
            threads: 1,
        };
        let p = read_event_xml(xml.as_bytes(), &ctx);
        assert_eq!(p.report.records, 5);
        assert_eq!(p.report.kept, 2, "only the 13:17 events");
        assert_eq!(p.report.ignored, 3);

        let p = read(b"this is not xml at all\n");
        assert_eq!(p.report.records, 0);
        assert_eq!(p.report.problems[0].kind, "unrecognised");
        let p = read(b"");
        assert_eq!(p.report.records, 0);
        let p = read(&[0xFF, 0xFE, 0x00, 0xD8, b'<', 0]);
        assert_eq!(p.report.records, 0);
    }
}
