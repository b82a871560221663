//! The portal's error JSON: `{"error":{"code":..,"message":..}}` as the cloud flow's action
//! output shows it, wrapped or not. It carries no time of its own.

use super::{
    parse_first_json, read_text, RunRecord, RunRecordKind, MAX_DEPTH, MAX_FIELD_BYTES,
    MAX_PORTAL_BYTES,
};
use crate::codes;
use crate::model::{FileKind, Loc, Problem, SourceRef, Time, TimeBasis};
use crate::sources::text::user_from_text;
use crate::sources::{Event, EventData, Parsed, ReadCtx};
use regex::Regex;
use serde_json::{Map, Value};
use std::io::Read;
use std::sync::OnceLock;

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
    (t.starts_with('{') || t.starts_with('[')) && re.is_match(t)
}

/// Read a portal error JSON: `{"error":{"code":..,"message":..}}`, possibly pretty-printed or
/// wrapped in the action output (`{"statusCode":400,"body":{"error":..}}`, `{"body":..}`, a body
/// that is itself a JSON string). Each error found becomes one event.
///
/// The error itself carries no time. The action's raw outputs (`{"statusCode":..,"headers":
/// {..,"Date":"Tue, 11 Mar 2025 14:05:13 GMT"},"body":..}`) carry the response's HTTP `Date`
/// header, which is then the record's time [I: connector outputs include response headers].
/// Otherwise the event is placed at `ctx.mtime` with `time_is_estimate = true`; without an mtime
/// nothing can be placed and a `no_time` problem says `--at` is needed. The time filter is not
/// applied to these estimates, so the record that defines the run is never lost.
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

    let response_date = response_date(&root, MAX_DEPTH);
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
        let (time, basis) = match (response_date, ctx.mtime) {
            (Some(t), _) => {
                record.time_is_estimate = false;
                (t, TimeBasis::Utc)
            }
            (None, Some(t)) => (t, TimeBasis::FileDate),
            (None, None) => {
                parsed.report.ignored += 1;
                continue;
            }
        };
        parsed.report.see_time(time);
        parsed.events.push(Event {
            time,
            time_basis: basis,
            machine: record.machine.as_deref().map(Into::into),
            source: SourceRef {
                file: ctx.file.clone(),
                loc: Loc::Line(lines.get(i).copied().unwrap_or(1)),
            },
            data: EventData::RunRecord(record),
        });
        parsed.report.kept += 1;
    }
    if ctx.mtime.is_none() && response_date.is_none() {
        parsed.report.problems.push(Problem::new(
            "no_time",
            None,
            "the portal error carries no time and the file has no modification time: \
             give the run's time with --at to place it on the timeline",
        ));
    }
}

/// The `Date` header of an action's raw outputs (`headers.Date`, any case), as HTTP writes it.
fn response_date(v: &Value, depth: u8) -> Option<Time> {
    let o = v.as_object()?;
    let headers = o
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("headers"))
        .and_then(|(_, h)| h.as_object());
    if let Some(h) = headers {
        let date = h
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("date"))
            .and_then(|(_, d)| d.as_str());
        if let Some(t) = date.and_then(|d| chrono::DateTime::parse_from_rfc2822(d.trim()).ok()) {
            return Some(t.with_timezone(&chrono::Utc));
        }
    }
    // Wrapped outputs (`{"outputs": {...}}`) one level at a time.
    (depth > 0)
        .then(|| {
            o.values()
                .filter(|c| c.is_object())
                .find_map(|c| response_date(c, depth - 1))
        })
        .flatten()
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
pub(super) fn machine_from_text(text: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"\[Machine\s+([^\]\s]+)\s*\]").expect("static"));
    re.captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

/// `Correlation id: <guid>` (any case, `:` or `=`).
pub(super) fn correlation_from_text(text: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)correlation\s*id\s*[:=]?\s*\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
            .expect("static")
    });
    re.captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}
