//! Exported Dataverse `flowsession` rows: a JSON array, `{"value":[...]}`, JSON lines, or CSV
//! with logical or display headers. One event per failed row.

use super::portal::{correlation_from_text, machine_from_text};
use super::{
    json_failure, read_text, RunRecord, RunRecordKind, MAX_FIELD_BYTES, MAX_SESSIONS_BYTES,
};
use crate::codes;
use crate::model::{FileKind, Loc, Problem, SourceRef, TimeBasis};
use crate::sources::text::LineProblems;
use crate::sources::{Event, EventData, Parsed, ReadCtx};
use crate::time::Stamp;
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

/// The flow-session columns the sniffer and the CSV header check look for (normalised).
const SESSION_MARKERS: &[&str] = &[
    "errorcode",
    "startedon",
    "sessionusername",
    "flowsessionid",
    "completedon",
];

/// True when `head` is a JSON or CSV flow-session export: its keys (JSON) or its header row
/// (CSV) name at least two of errorcode / startedon / sessionusername / flowsessionid /
/// completedon, compared case-insensitively with spaces and underscores ignored.
pub fn looks_like_flow_sessions(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
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
pub(super) fn normalise_key(key: &str) -> (String, bool) {
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
        codes::find_run_error_names(&details)
            .first()
            .map(|s| s.to_string())
    });
    let status = row
        .label(&["statuscode"])
        .or_else(|| row.label(&["statecode"]));
    let failed = code.is_some() || status.is_some_and(is_failed_status);

    let mut bad_dates = Vec::new();
    let mut date = |key: &str| -> Option<Stamp> {
        let raw = row.get(&[key])?;
        let t = crate::time::parse(raw);
        if t.is_none() {
            bad_dates.push(format!("{key} {raw:?}"));
        }
        t
    };
    let started = date("startedon");
    let completed = date("completedon");
    let created = date("createdon");
    let stamp = completed.or(started).or(created);
    let time_basis = stamp.map_or(TimeBasis::Assumed, |s| s.basis);
    let time = stamp.map(|s| s.time);
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
        started: started.map(|s| s.time),
        completed: completed.map(|s| s.time),
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
        time_basis,
        machine: record.machine.as_deref().map(Into::into),
        source: SourceRef {
            file: ctx.file.clone(),
            loc: Loc::Row(n),
        },
        data: EventData::RunRecord(record),
    });
    parsed.report.kept += 1;
}
