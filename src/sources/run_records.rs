//! Run records from the portal side: the error JSON of the cloud flow's "Run a flow built with
//! Power Automate for desktop" action, and exported Dataverse `flowsession` rows (JSON from the
//! Web API or a flow, JSON lines, or CSV from Excel / the maker portal).
//!
//! This module owns turning those into [`RunRecord`] events: one per portal error, one per
//! flow-session row that failed. Successful rows are counted, not kept.

use super::padlog::{
    find_run_error_names, is_too_deep, parse_iso_time, user_from_text, LineProblems, TOO_DEEP,
};
use super::ReadCtx;
use crate::codes;
use crate::model::{
    Event, EventData, FileKind, FileReport, Loc, Parsed, Problem, RunRecord, RunRecordKind,
    SourceRef, Time,
};
use chrono::NaiveDateTime;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

/// A portal error JSON is a few KB; anything far larger is not one.
const MAX_PORTAL_BYTES: u64 = 16 << 20;
/// Flow-session exports are read whole (JSON arrays need it); this bounds memory.
const MAX_SESSIONS_BYTES: u64 = 512 << 20;
/// A run record's field (an error message, its details) is a few KB; a longer one is cut so a
/// hostile export cannot carry megabytes into every report that cites the row.
const MAX_FIELD_BYTES: usize = 64 * 1024;
/// How deep wrappers (`{"outputs":{"body":{"error":..}}}`) are searched for the error object.
const MAX_DEPTH: u8 = 8;

/// The flow-session columns the sniffer and the CSV header check look for (normalised).
const SESSION_MARKERS: &[&str] = &[
    "errorcode",
    "startedon",
    "sessionusername",
    "flowsessionid",
    "completedon",
];

/// True when `head` is JSON holding an `"error"` object with a `"code"` inside (also when the
/// action's `body` is a JSON string), and is not a PAD log.
pub fn looks_like_portal_error(head: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        // Optional backslashes: the body may be a JSON string holding the error JSON.
        Regex::new(r#"(?s)\\?"error\\?"\s*:\s*\{[^{}]*?\\?"code\\?"\s*:"#)
            .expect("static portal pattern")
    });
    let t = head.trim_start_matches('\u{feff}').trim_start();
    (t.starts_with('{') || t.starts_with('['))
        && re.is_match(t)
        && !super::padlog::looks_like_padlog(t)
}

/// True when `head` is a JSON or CSV flow-session export: its keys (JSON) or its header row
/// (CSV) name at least two of errorcode / startedon / sessionusername / flowsessionid /
/// completedon, compared case-insensitively with spaces and underscores ignored.
pub fn looks_like_flow_sessions(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    if super::padlog::looks_like_padlog(t) {
        return false;
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut note = |name: &str| {
        let n = normalise_key(name).0;
        if let Some(m) = SESSION_MARKERS.iter().find(|m| **m == n) {
            if !seen.contains(m) {
                seen.push(m);
            }
        }
    };
    if t.starts_with('{') || t.starts_with('[') {
        static RE: OnceLock<Regex> = OnceLock::new();
        let re =
            RE.get_or_init(|| Regex::new(r#""([^"\\]{1,80})"\s*:"#).expect("static key pattern"));
        for c in re.captures_iter(t) {
            if let Some(k) = c.get(1) {
                note(k.as_str());
            }
        }
    } else {
        let (header, _) = header_line(t);
        let delim = sniff_delimiter(header);
        for field in header.split(delim as char) {
            note(field.trim().trim_matches('"'));
        }
    }
    seen.len() >= 2
}

/// Read a portal error JSON: `{"error":{"code":..,"message":..}}`, possibly pretty-printed or
/// wrapped in the action output (`{"statusCode":400,"body":{"error":..}}`, `{"body":..}`, a body
/// that is itself a JSON string). Each error found becomes one event.
///
/// The JSON carries no time: the event is placed at `ctx.mtime` with `time_is_estimate = true`.
/// Without an mtime nothing can be placed; a `no_time` problem says `--at` is needed. The time
/// filter is not applied to these estimates, so the record that defines the run is never lost.
pub fn read_portal_error<R: Read>(r: R, ctx: &ReadCtx) -> Parsed {
    read_text(
        r,
        ctx,
        FileKind::PortalError,
        MAX_PORTAL_BYTES,
        |text, parsed| portal_errors(text, ctx, parsed),
    )
}

fn portal_errors(text: &str, ctx: &ReadCtx, parsed: &mut Parsed) {
    let Some(root) = parse_first_json(text, &mut parsed.report) else {
        return;
    };

    let mut errors = Vec::new();
    collect_errors(&root, MAX_DEPTH, &mut errors);
    if errors.is_empty() {
        // The bare error object, copied without its `{"error": ...}` wrapper.
        if let Value::Object(o) = &root {
            if o.get("code").is_some_and(Value::is_string) {
                errors.push(o.clone());
            }
        }
    }
    if errors.is_empty() {
        parsed.report.errors += 1;
        parsed.report.problems.push(Problem::new(
            "unrecognised",
            None,
            "valid JSON, but no {\"error\":{\"code\":...}} object in it",
        ));
        return;
    }

    let lines = error_lines(text);
    for (i, err) in errors.iter().enumerate() {
        parsed.report.records += 1;
        let mut record = portal_record(err);
        if let Some(m) = record.error_message.as_mut() {
            if m.len() > MAX_FIELD_BYTES {
                parsed.report.problems.push(Problem::new(
                    "limit",
                    None,
                    format!(
                        "the error message is {} bytes long; only its first {} KiB were read",
                        m.len(),
                        MAX_FIELD_BYTES / 1024
                    ),
                ));
                let mut end = MAX_FIELD_BYTES;
                while !m.is_char_boundary(end) {
                    end -= 1;
                }
                m.truncate(end);
            }
        }
        let Some(time) = ctx.mtime else {
            parsed.report.ignored += 1;
            continue;
        };
        parsed.report.see_time(time);
        parsed.events.push(Event {
            time,
            source: SourceRef {
                file: ctx.file.clone(),
                loc: Loc::Line(lines.get(i).copied().unwrap_or(1)),
            },
            data: EventData::RunRecord(record),
        });
        parsed.report.kept += 1;
    }
    if ctx.mtime.is_none() {
        parsed.report.problems.push(Problem::new(
            "no_time",
            None,
            "the portal error carries no time and the file has no modification time: \
             give the run's time with --at to place it on the timeline",
        ));
    }
}

/// Every `{"error":{"code":..}}` object inside `v`, in document order. Found error objects are
/// not searched further (their `innerError` belongs to them).
fn collect_errors(v: &Value, depth: u8, out: &mut Vec<Map<String, Value>>) {
    if depth == 0 {
        return;
    }
    match v {
        Value::Object(o) => {
            if let Some(Value::Object(e)) = o.get("error") {
                if e.get("code").is_some_and(Value::is_string) {
                    out.push(e.clone());
                    return;
                }
            }
            for (k, child) in o {
                match child {
                    // Some outputs carry the body as a JSON string.
                    Value::String(s) if k.eq_ignore_ascii_case("body") => {
                        if let Ok(inner) = serde_json::from_str::<Value>(s.trim()) {
                            collect_errors(&inner, depth - 1, out);
                        }
                    }
                    _ => collect_errors(child, depth - 1, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_errors(c, depth - 1, out)),
        _ => {}
    }
}

/// 1-based lines of each `"error": {` in the text, to cite the error objects in order.
fn error_lines(text: &str) -> Vec<u64> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r#""error"\s*:\s*\{"#).expect("static error pattern"));
    re.find_iter(text)
        .map(|m| 1 + text[..m.start()].matches('\n').count() as u64)
        .collect()
}

fn portal_record(err: &Map<String, Value>) -> RunRecord {
    let code = err
        .get("code")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    // Details and inner errors may carry the NTSTATUS too; search the whole error object.
    let all = Value::Object(err.clone()).to_string();
    let msg = message.as_deref().unwrap_or("");
    RunRecord {
        kind: RunRecordKind::PortalError,
        error_code: code,
        ntstatus: codes::find_ntstatus(&all),
        started: None,
        completed: None,
        user: user_from_text(msg),
        user_sid: None,
        machine: machine_from_text(msg),
        correlation_id: correlation_from_text(msg).or_else(|| {
            ["correlationId", "clientRequestId"]
                .iter()
                .find_map(|k| err.get(*k).and_then(Value::as_str))
                .map(str::to_string)
        }),
        run_mode: None,
        error_message: message,
        time_is_estimate: true,
    }
}

/// `[Machine <id>]` from the connection-creation form of the message.
fn machine_from_text(text: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"\[Machine\s+([^\]\s]+)\s*\]").expect("static"));
    re.captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

/// `Correlation id: <guid>` (any case, `:` or `=`).
fn correlation_from_text(text: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)correlation\s*id\s*[:=]?\s*\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
            .expect("static")
    });
    re.captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

/// Read exported `flowsession` rows: a JSON array, `{"value":[...]}` (Dataverse Web API), JSON
/// lines, or CSV with logical (`errorcode`) or display (`Error Code`, `Started On`) headers.
///
/// One event per row that failed (an error code, or a failed status reason); other rows are
/// counted as records and ignored. Event time is `completedon`, else `startedon`, else
/// `createdon`. Rows are cited as `Loc::Row(n)`, n the 1-based data row.
pub fn read_flow_sessions<R: Read>(r: R, ctx: &ReadCtx) -> Parsed {
    read_text(
        r,
        ctx,
        FileKind::FlowSessions,
        MAX_SESSIONS_BYTES,
        |text, parsed| session_rows(text, ctx, parsed),
    )
}

fn session_rows(text: &str, ctx: &ReadCtx, parsed: &mut Parsed) {
    let mut problems = LineProblems::new("bad_record", "bad rows");
    if text.starts_with('[') || text.starts_with('{') {
        json_rows(text, ctx, parsed, &mut problems);
    } else {
        csv_rows(text, ctx, parsed, &mut problems);
    }
    problems.finish(&mut parsed.report);
}

/// Read a whole (capped) text file, decode it, and hand its trimmed text to `f`; an empty file
/// is reported instead.
fn read_text<R: Read>(
    r: R,
    ctx: &ReadCtx,
    kind: FileKind,
    cap: u64,
    f: impl FnOnce(&str, &mut Parsed),
) -> Parsed {
    let mut parsed = Parsed::new(FileReport::new(ctx.file.to_string(), kind, ctx.size));
    let Some(bytes) = read_capped(r, cap, &mut parsed.report) else {
        return parsed;
    };
    let decoded = super::text::decode(&bytes);
    note_decode_errors(&decoded, &mut parsed.report);
    let text = decoded.text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        parsed
            .report
            .problems
            .push(Problem::new("unrecognised", None, "empty file"));
    } else {
        f(text, &mut parsed);
    }
    parsed
}

/// A row with normalised column names; `@OData...FormattedValue` annotations are kept apart.
#[derive(Default)]
struct Row {
    values: HashMap<String, String>,
    formatted: HashMap<String, String>,
    /// Fields cut to [`MAX_FIELD_BYTES`]: (column, original length in bytes).
    cut: Vec<(String, usize)>,
}

impl Row {
    fn insert(&mut self, key: &str, value: String) {
        let mut value = value.trim().to_string();
        if value.is_empty() {
            return;
        }
        let (k, formatted) = normalise_key(key);
        if k.is_empty() {
            return;
        }
        if value.len() > MAX_FIELD_BYTES {
            let column: String = key.trim().chars().take(80).collect();
            self.cut.push((column, value.len()));
            let mut end = MAX_FIELD_BYTES;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
        }
        let map = if formatted {
            &mut self.formatted
        } else {
            &mut self.values
        };
        map.entry(k).or_insert(value);
    }

    fn get(&self, keys: &[&str]) -> Option<&str> {
        keys.iter()
            .find_map(|k| self.values.get(*k))
            .map(String::as_str)
    }

    /// The display label when the export has one, else the raw value.
    fn label(&self, keys: &[&str]) -> Option<&str> {
        keys.iter()
            .find_map(|k| self.formatted.get(*k))
            .map(String::as_str)
            .or_else(|| self.get(keys))
    }
}

/// Column name → (normalised name, is a formatted-value annotation). Lower case, spaces,
/// underscores and dashes removed, the Web API lookup form `_machineid_value` reduced to
/// `machineid`, and display names mapped to logical ones (`Status Reason` → `statuscode`).
fn normalise_key(key: &str) -> (String, bool) {
    let key = key.trim().trim_start_matches('\u{feff}');
    let (base, formatted) = match key.split_once('@') {
        Some((b, ann)) => (b, ann.to_ascii_lowercase().ends_with("formattedvalue")),
        None => (key, false),
    };
    let mut base = base.trim();
    if base.starts_with('_') && base.len() > 7 && base.to_ascii_lowercase().ends_with("_value") {
        base = &base[1..base.len() - 6];
    }
    let n: String = base
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    let n = match n.as_str() {
        "statusreason" => "statuscode".to_string(),
        "status" => "statecode".to_string(),
        "flowsession" | "processsession" => "flowsessionid".to_string(),
        "flowmachine" | "machine" => "machinename".to_string(),
        "sessionusersid" | "sessionuserssid" => "sessionusersid".to_string(),
        _ => n,
    };
    (n, formatted)
}

fn json_rows(text: &str, ctx: &ReadCtx, parsed: &mut Parsed, problems: &mut LineProblems) {
    // `[` ... `]`, or the array under `"value"` of a Web API response.
    static VALUE_RE: OnceLock<Regex> = OnceLock::new();
    let value_re =
        VALUE_RE.get_or_init(|| Regex::new(r#""value"\s*:\s*\["#).expect("static value pattern"));
    let array_start = if text.starts_with('[') {
        Some(0)
    } else {
        value_re.find(text).map(|m| m.end() - 1)
    };
    if let Some(start) = array_start {
        stream_array(&text[start..], ctx, parsed, problems);
        return;
    }
    // One object (pretty-printed or not), else JSON lines.
    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text) {
        handle_json_row(Value::Object(o), 1, ctx, parsed, problems);
        return;
    }
    let mut n = 0u64;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        n += 1;
        match serde_json::from_str::<Value>(line) {
            Ok(v) => handle_json_row(v, n, ctx, parsed, problems),
            Err(e) => bad_row(parsed, problems, n, format!("{}: {e}", json_failure(&e).1)),
        }
    }
}

/// Read array elements one by one, so a truncated export still yields the rows before the cut.
fn stream_array(text: &str, ctx: &ReadCtx, parsed: &mut Parsed, problems: &mut LineProblems) {
    let mut pos = 1; // past '['
    let mut n = 0u64;
    loop {
        let rest = text[pos..].trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        pos = text.len() - rest.len();
        if rest.starts_with(']') {
            return;
        }
        if rest.is_empty() {
            parsed.report.problems.push(Problem::new(
                "truncated",
                Some(format!("row {}", n + 1)),
                "the JSON array is not closed: the export was cut off",
            ));
            return;
        }
        n += 1;
        let mut it = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match it.next() {
            Some(Ok(v)) => {
                pos += it.byte_offset();
                handle_json_row(v, n, ctx, parsed, problems);
            }
            Some(Err(e)) => {
                let (kind, what) = json_failure(&e);
                parsed.report.errors += 1;
                problems.push(
                    &mut parsed.report,
                    Problem::new(
                        kind,
                        Some(format!("row {n}")),
                        format!("row cannot be read ({what}), rest of the array skipped: {e}"),
                    ),
                );
                return;
            }
            None => return,
        }
    }
}

fn handle_json_row(v: Value, n: u64, ctx: &ReadCtx, parsed: &mut Parsed, p: &mut LineProblems) {
    let Value::Object(o) = v else {
        bad_row(parsed, p, n, "row is not a JSON object".to_string());
        return;
    };
    let mut row = Row::default();
    for (k, v) in o {
        let s = match v {
            Value::Null => continue,
            Value::String(s) => s,
            other => other.to_string(),
        };
        row.insert(&k, s);
    }
    handle_row(&row, n, ctx, parsed, p);
}

fn csv_rows(text: &str, ctx: &ReadCtx, parsed: &mut Parsed, problems: &mut LineProblems) {
    let (header, body_start) = header_line(text);
    let delim = sniff_delimiter(header);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(&text.as_bytes()[body_start..]);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            parsed.report.errors += 1;
            parsed.report.problems.push(Problem::new(
                "bad_header",
                Some("line 1".to_string()),
                format!("cannot read the CSV header: {e}"),
            ));
            return;
        }
    };
    let known = headers
        .iter()
        .filter(|h| SESSION_MARKERS.contains(&normalise_key(h).0.as_str()))
        .count();
    if known == 0 {
        parsed.report.problems.push(Problem::new(
            "unrecognised",
            Some("line 1".to_string()),
            "the header names none of the flowsession columns (errorcode, startedon, ...)",
        ));
        return;
    }
    let mut record = csv::StringRecord::new();
    let mut n = 0u64;
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if record.iter().all(str::is_empty) {
                    continue;
                }
                n += 1;
                if record.len() != headers.len() {
                    let what = if record.len() < headers.len() {
                        "the missing ones were read as empty"
                    } else {
                        "the extra ones were ignored"
                    };
                    problems.push(
                        &mut parsed.report,
                        Problem::new(
                            "ragged",
                            Some(format!("row {n}")),
                            format!(
                                "row has {} fields where the header has {}; {what}",
                                record.len(),
                                headers.len()
                            ),
                        ),
                    );
                }
                let mut row = Row::default();
                for (h, v) in headers.iter().zip(record.iter()) {
                    row.insert(h, v.to_string());
                }
                handle_row(&row, n, ctx, parsed, problems);
            }
            Err(e) => {
                n += 1;
                let utf8 = matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
                bad_row(parsed, problems, n, format!("unreadable CSV row: {e}"));
                if !utf8 {
                    break;
                }
            }
        }
    }
}

/// The header line, skipping Excel's `sep=;` hint line; returns the line and where the CSV
/// (header included) starts.
fn header_line(text: &str) -> (&str, usize) {
    let first = text.lines().next().unwrap_or("");
    if first.trim().to_ascii_lowercase().starts_with("sep=") {
        let start = text.find('\n').map_or(text.len(), |i| i + 1);
        (text[start..].lines().next().unwrap_or(""), start)
    } else {
        (first, 0)
    }
}

/// Comma, semicolon (European Excel) or tab (Excel "Unicode text"): whichever the header has most.
fn sniff_delimiter(header: &str) -> u8 {
    // `max_by_key` returns the last of equal maxima: list the comma last so it wins ties.
    [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn bad_row(parsed: &mut Parsed, problems: &mut LineProblems, n: u64, msg: String) {
    parsed.report.errors += 1;
    problems.push(
        &mut parsed.report,
        Problem::new("bad_record", Some(format!("row {n}")), msg),
    );
}

/// `flowsession.statuscode` values that mean the run did not succeed: Failed 8, Faulted 9,
/// TimedOut 10, Aborted 11, Terminated 14 (powerapps-docs flowsession reference).
fn is_failed_status(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase().replace(' ', "");
    matches!(
        s.as_str(),
        "failed"
            | "faulted"
            | "timedout"
            | "aborted"
            | "terminated"
            | "8"
            | "9"
            | "10"
            | "11"
            | "14"
    )
}

fn run_mode_label(s: &str) -> String {
    match s.trim() {
        "0" => "Local".to_string(),
        "1" => "Attended".to_string(),
        "2" => "Unattended".to_string(),
        other => other.to_string(),
    }
}

fn handle_row(row: &Row, n: u64, ctx: &ReadCtx, parsed: &mut Parsed, p: &mut LineProblems) {
    if row.values.is_empty() && row.formatted.is_empty() {
        return;
    }
    for (column, len) in &row.cut {
        p.push(
            &mut parsed.report,
            Problem::new(
                "limit",
                Some(format!("row {n}")),
                format!(
                    "field \"{}\" is {len} bytes long; only its first {} KiB were read",
                    column.escape_debug(),
                    MAX_FIELD_BYTES / 1024
                ),
            ),
        );
    }
    let message = row.get(&["errormessage"]).map(str::to_string);
    let details: String = ["errormessage", "errordetails", "errorinnererror"]
        .iter()
        .filter_map(|k| row.get(&[*k]))
        .collect::<Vec<_>>()
        .join("\n");
    // PAD ≥ 2.24 may leave the code only inside the details JSON.
    let code = row.get(&["errorcode"]).map(str::to_string).or_else(|| {
        find_run_error_names(&details)
            .first()
            .map(|s| s.to_string())
    });
    let status = row
        .label(&["statuscode"])
        .or_else(|| row.label(&["statecode"]));
    let failed = code.is_some() || status.is_some_and(is_failed_status);

    let mut bad_dates = Vec::new();
    let mut date = |key: &str| -> Option<Time> {
        let raw = row.get(&[key])?;
        let t = parse_export_time(raw);
        if t.is_none() {
            bad_dates.push(format!("{key} {raw:?}"));
        }
        t
    };
    let started = date("startedon");
    let completed = date("completedon");
    let created = date("createdon");
    let time = completed.or(started).or(created);
    if let Some(t) = time {
        parsed.report.see_time(t);
    }
    if !failed {
        parsed.report.records += 1;
        parsed.report.ignored += 1;
        return;
    }
    if !bad_dates.is_empty() {
        p.push(
            &mut parsed.report,
            Problem::new(
                "bad_record",
                Some(format!("row {n}")),
                format!("unreadable date: {}", bad_dates.join(", ")),
            ),
        );
    }
    let Some(time) = time else {
        bad_row(
            parsed,
            p,
            n,
            "failed run without a usable completedon/startedon time; not placed".to_string(),
        );
        return;
    };
    parsed.report.records += 1;
    if !ctx.filter.keeps_time(time) {
        parsed.report.ignored += 1;
        return;
    }
    let msg = message.as_deref().unwrap_or("");
    let record = RunRecord {
        kind: RunRecordKind::FlowSession,
        error_code: code,
        ntstatus: codes::find_ntstatus(&details),
        started,
        completed,
        user: row.get(&["sessionusername"]).map(str::to_string),
        user_sid: row.get(&["sessionusersid"]).map(str::to_string),
        machine: row
            .formatted
            .get("machineid")
            .map(String::as_str)
            .or_else(|| row.label(&["machinename", "machineid"]))
            .map(str::to_string)
            .or_else(|| machine_from_text(msg)),
        correlation_id: row
            .get(&["correlationid"])
            .map(str::to_string)
            .or_else(|| correlation_from_text(msg)),
        run_mode: row.label(&["runmode"]).map(run_mode_label),
        error_message: message,
        time_is_estimate: false,
    };
    parsed.events.push(Event {
        time,
        source: SourceRef {
            file: ctx.file.clone(),
            loc: Loc::Row(n),
        },
        data: EventData::RunRecord(record),
    });
    parsed.report.kept += 1;
}

/// Dates as exports write them: ISO-8601 (Web API, `2025-06-02T13:17:22Z`) or the US style
/// Dataverse/Excel CSV exports use (`6/2/2025 1:17 PM`, `6/2/2025 1:17:05 PM`, `6/2/2025 13:17`).
/// US-style values carry no zone; they are taken as UTC. (Dataverse renders them in the
/// exporting user's time zone, so a non-UTC exporter shifts them; the report should say so.)
pub fn parse_export_time(s: &str) -> Option<Time> {
    let s = s.trim();
    if let Some(t) = parse_iso_time(s) {
        return Some(t);
    }
    let s = s.to_ascii_uppercase();
    for fmt in [
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

fn read_capped<R: Read>(r: R, cap: u64, report: &mut FileReport) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Err(e) = r.take(cap + 1).read_to_end(&mut bytes) {
        report
            .problems
            .push(Problem::new("io", None, format!("cannot read: {e}")));
        if bytes.is_empty() {
            return None;
        }
    }
    if bytes.len() as u64 > cap {
        bytes.truncate(cap as usize);
        report.problems.push(Problem::new(
            "limit",
            None,
            format!("file larger than {cap} bytes: only the start was read"),
        ));
    }
    Some(bytes)
}

/// Problem kind and description of a JSON parse failure: cut off, nested too deep for a
/// tree (serde_json stops at 128 levels rather than exhaust the stack), or not JSON.
fn json_failure(e: &serde_json::Error) -> (&'static str, &'static str) {
    if e.is_eof() {
        ("truncated", "not valid JSON (cut off)")
    } else if is_too_deep(e) {
        ("limit", TOO_DEEP)
    } else {
        ("bad_record", "not valid JSON")
    }
}

fn note_decode_errors(d: &super::text::Decoded<'_>, report: &mut FileReport) {
    if d.had_errors {
        report.problems.push(Problem::new(
            "decode",
            None,
            format!("some bytes are not valid {} and were replaced", d.encoding),
        ));
    }
}

/// The first JSON value of the text, tolerating text around it (`Body: {...}` pasted from the
/// run page, trailing notes).
fn parse_first_json(text: &str, report: &mut FileReport) -> Option<Value> {
    let start = text.find(['{', '['])?;
    let mut it = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    match it.next() {
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            report.errors += 1;
            let (kind, what) = json_failure(&e);
            report.problems.push(Problem::new(
                kind,
                Some(format!("line {}", e.line())),
                format!("{what}: {e}"),
            ));
            None
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn normalises_column_names() {
        assert_eq!(normalise_key("Error Code").0, "errorcode");
        assert_eq!(normalise_key("Started On").0, "startedon");
        assert_eq!(normalise_key("Session Username").0, "sessionusername");
        assert_eq!(normalise_key("_machineid_value").0, "machineid");
        assert_eq!(
            normalise_key("_machineid_value@OData.Community.Display.V1.FormattedValue"),
            ("machineid".to_string(), true)
        );
        assert_eq!(normalise_key("Status Reason").0, "statuscode");
        assert_eq!(normalise_key("Flow Machine").0, "machinename");
    }

    #[test]
    fn parses_export_dates() {
        let t = Utc.with_ymd_and_hms(2025, 6, 2, 13, 17, 0).unwrap();
        assert_eq!(parse_export_time("6/2/2025 1:17 PM"), Some(t));
        assert_eq!(parse_export_time("06/02/2025 01:17 pm"), Some(t));
        assert_eq!(parse_export_time("6/2/2025 13:17"), Some(t));
        assert_eq!(
            parse_export_time("6/2/2025 1:17:05 PM"),
            Some(t + chrono::Duration::seconds(5))
        );
        assert_eq!(parse_export_time("2025-06-02T13:17:00Z"), Some(t));
        assert_eq!(parse_export_time("2/30/2025 1:17 PM"), None);
        assert_eq!(parse_export_time("soon"), None);
    }

    #[test]
    fn finds_machine_and_correlation_in_connection_message() {
        let m = "Details: Connection failed: [Machine 5d7c2a10-8e41-4b6f-9a3e-2f1c0b9d7e65]. \
                 Correlation id: 0f8e6d4c-2b1a-4c3d-8e9f-a1b2c3d4e5f6.";
        assert_eq!(
            machine_from_text(m).as_deref(),
            Some("5d7c2a10-8e41-4b6f-9a3e-2f1c0b9d7e65")
        );
        assert_eq!(
            correlation_from_text(m).as_deref(),
            Some("0f8e6d4c-2b1a-4c3d-8e9f-a1b2c3d4e5f6")
        );
    }
}
