//! Reads Event Viewer XML exports: `wevtutil qe <log> /f:xml` output (concatenated
//! `<Event xmlns=..>..</Event>` with no root) and Event Viewer "Save As XML"
//! (`<Events><Event>..</Event>..</Events>`, maybe with an XML declaration and `RenderingInfo`),
//! in UTF-8 or UTF-16 with or without a BOM; also events copied as text from a rendered XML
//! view (Event Viewer's Details > XML View, a browser's XML tree), whose lines carry `- ` / `+ `
//! expand/collapse markers before their tags.
//!
//! The stream is cut into single `<Event>` elements by their tags, and each is parsed on its own
//! with `quick-xml`: one malformed event is counted and described (with its line) and the rest
//! are read. Events feed the same [`windows_event`](super::windows_event) mapper as EVTX.

use super::windows_event::{self as we, RawEvent, Value};
use super::{Collect, Counted, EventSink, Format, Parsed, ReadCtx};
use crate::model::{FileKind, FileReport, Loc, Problem, SourceRef};
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
pub fn read_event_xml_to<R: BufRead>(r: R, ctx: &ReadCtx, sink: &dyn EventSink) -> Parsed {
    // Progress moves 64 KiB of the export at a time.
    let mut r = Counted::new(r, ctx);
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
    events: Vec<super::Event>,
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
            Err(mut message) => {
                self.report.errors += 1;
                // A node collapsed in a rendered XML view was copied without its content.
                if text.lines().any(|l| l.trim_start().starts_with("+ <")) {
                    message.push_str(
                        "; a part of it was collapsed (`+`) in the XML view it was copied \
                         from, and its content was not copied",
                    );
                }
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
                    if let Some(m) = raw.computer.as_deref().filter(|_| we::channel_used(c)) {
                        self.report.add_computer(m);
                    }
                }
                let family = raw
                    .channel
                    .as_deref()
                    .and_then(|c| we::select(c, raw.provider.as_deref(), raw.event_id));
                if let Some(f) = family {
                    self.report
                        .add_kind(&format!("{}.{}", f.name(), raw.event_id));
                }
                let wanted = family.is_some() && self.ctx.filter.keeps_time(raw.time);
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
    time: Option<crate::time::Stamp>,
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
    let stamp = f.time.ok_or("no System/TimeCreated/@SystemTime")?;
    Ok(RawEvent {
        provider: f.provider.map(Cow::Owned),
        channel: f.channel.map(Cow::Owned),
        event_id,
        level: f.level,
        computer: f.computer.map(Cow::Owned),
        user_id: f.user_id.map(Cow::Owned),
        record_id: f.record_id,
        time: stamp.time,
        time_basis: stamp.basis,
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
                f.time =
                    Some(crate::time::parse(&t).ok_or_else(|| format!("bad SystemTime {t:?}"))?);
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

/// Event Viewer "Save as XML" and `wevtutil qe /f:xml` exports.
pub struct EventXml;

impl Format for EventXml {
    const KIND: FileKind = FileKind::EventXml;

    fn detect_text(text: &str) -> bool {
        looks_like_event_xml(text)
    }

    fn read(r: Box<dyn Read + Send + '_>, ctx: &ReadCtx, sink: &dyn EventSink) -> Parsed {
        read_event_xml_to(std::io::BufReader::new(r), ctx, sink)
    }
}

/// The note a browser puts above an XML file it shows as a tree; copied with the tree.
const BROWSER_TREE_NOTE: &str = "This XML file does not appear to have any style information";

/// Event Viewer "Save As XML" (`<Events>` root) or `wevtutil qe /f:xml` (bare `<Event xmlns=`),
/// after an optional BOM, XML declaration, comments and blank space. A copy of a rendered XML
/// view has a `- ` (expanded) or `+ ` (collapsed) marker before tags with children, and a
/// browser's note above the tree.
pub fn looks_like_event_xml(text: &str) -> bool {
    let mut t = text.trim_start();
    if t.starts_with(BROWSER_TREE_NOTE) {
        t = t.split_once('\n').map_or("", |(_, rest)| rest).trim_start();
    }
    loop {
        t = strip_view_marker(t);
        let (open, close) = if t.starts_with("<?") {
            ("<?", "?>")
        } else if t.starts_with("<!--") {
            ("<!--", "-->")
        } else {
            break;
        };
        match t[open.len()..].find(close) {
            Some(end) => t = t[open.len() + end + close.len()..].trim_start(),
            None => return false,
        }
    }
    if let Some(rest) = t.strip_prefix("<Events") {
        return rest.starts_with(|c: char| c == '>' || c.is_whitespace());
    }
    if let Some(rest) = t.strip_prefix("<Event") {
        return rest.starts_with(|c: char| c.is_whitespace())
            && rest.trim_start().starts_with("xmlns");
    }
    false
}

/// A rendered XML view's expand (`- `) or collapse (`+ `) marker before a tag.
fn strip_view_marker(t: &str) -> &str {
    match t.strip_prefix(['-', '+']) {
        Some(rest) if rest.starts_with([' ', '\t']) && rest.trim_start().starts_with('<') => {
            rest.trim_start()
        }
        _ => t,
    }
}

#[cfg(test)]
mod tests;
