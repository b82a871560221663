//! Run records from the portal side: the error JSON of the cloud flow's "Run a flow built with
//! Power Automate for desktop" action (`portal`), and exported Dataverse `flowsession` rows
//! (`sessions`: JSON from the Web API or a flow, JSON lines, or CSV from Excel / the maker
//! portal).
//!
//! This source owns turning those into [`RunRecord`] events: one per portal error, one per
//! flow-session row that failed. Successful rows are counted, not kept.

mod portal;
mod sessions;
#[cfg(test)]
mod tests;

pub use portal::{looks_like_portal_error, read_portal_error};
pub use sessions::{looks_like_flow_sessions, read_flow_sessions};

use super::{EventSink, Family, Format, Parsed, ReadCtx};
use crate::codes;
use crate::identity::Identity;
use crate::model::{Fields, FileKind, FileReport, Problem, Time};
use crate::sources::text::{is_too_deep, TOO_DEEP};
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::Read;

/// A portal error JSON is a few KB; anything far larger is not one.
const MAX_PORTAL_BYTES: u64 = 16 << 20;
/// Flow-session exports are read whole (JSON arrays need it); this bounds memory.
const MAX_SESSIONS_BYTES: u64 = 512 << 20;
/// A run record's field (an error message, its details) is a few KB; a longer one is cut so a
/// hostile export cannot carry megabytes into every report that cites the row.
const MAX_FIELD_BYTES: usize = 64 * 1024;
/// How deep wrappers (`{"outputs":{"body":{"error":..}}}`) are searched for the error object.
const MAX_DEPTH: u8 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunRecordKind {
    /// `{"error":{"code":..,"message":..}}` from the cloud flow's action output.
    PortalError,
    /// A row of an exported `flowsession` table (JSON or CSV).
    FlowSession,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub kind: RunRecordKind,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// NTSTATUS values found in the message or details.
    #[serde(serialize_with = "crate::codes::as_hex::list")]
    pub ntstatus: Vec<u32>,
    pub started: Option<Time>,
    pub completed: Option<Time>,
    pub user: Option<String>,
    pub user_sid: Option<String>,
    pub machine: Option<String>,
    pub correlation_id: Option<String>,
    pub run_mode: Option<String>,
    /// True when the record has no time of its own (portal error JSON): the event time is then
    /// the file's modification time or the user's `--at`, and the report says so.
    pub time_is_estimate: bool,
}

pub struct RunRecords;

impl Family for RunRecords {
    type Payload = RunRecord;
    const NAME: &'static str = "run";
    const SOURCE: &'static str = "run_record";
    const FIELDS: &'static [&'static str] = &["error_code", "ntstatus"];

    fn kind(r: &RunRecord, out: &mut String) {
        out.push_str(match r.kind {
            RunRecordKind::PortalError => "portal_error",
            RunRecordKind::FlowSession => "flow_session",
        });
    }

    fn summary(r: &RunRecord, out: &mut String) {
        let what = match r.kind {
            RunRecordKind::PortalError => "Portal run error",
            RunRecordKind::FlowSession => "Flow session failed",
        };
        // Writing to a String cannot fail.
        let _ = write!(out, "{what} {}", r.error_code.as_deref().unwrap_or("-"));
        for c in &r.ntstatus {
            let _ = write!(out, " {}", codes::describe_hex(*c));
        }
        if let Some(u) = &r.user {
            let _ = write!(out, " user {u}");
        }
        if let Some(m) = &r.machine {
            let _ = write!(out, " machine {m}");
        }
        if let Some(m) = &r.error_message {
            let _ = write!(out, ": {}", super::text::first_line(m));
        }
    }

    fn user(r: &RunRecord) -> Option<Identity> {
        let mut id = r.user.as_deref().and_then(Identity::parse);
        if let (Some(i), Some(sid)) = (id.as_mut(), r.user_sid.as_deref()) {
            if i.sid.is_none() && crate::identity::is_sid(sid) {
                i.sid = Some(sid.to_ascii_uppercase());
            }
        }
        id.or_else(|| r.user_sid.as_deref().and_then(Identity::parse))
    }

    fn facts(r: &RunRecord, f: &mut Fields) {
        f.push_opt("error_code", r.error_code.clone());
        f.push_many(
            "ntstatus",
            r.ntstatus.iter().map(|c| codes::hex(*c)).collect(),
        );
    }
}

/// The portal's error JSON of a failed run.
pub struct PortalError;

impl Format for PortalError {
    const KIND: FileKind = FileKind::PortalError;
    const LOG: bool = false;
    const SOURCE: Option<&'static str> = Some("run_record");

    fn detect_text(text: &str) -> bool {
        portal::looks_like_portal_error(text)
    }

    fn read(r: Box<dyn Read + Send + '_>, ctx: &ReadCtx, _sink: &dyn EventSink) -> Parsed {
        read_portal_error(r, ctx)
    }
}

/// An export of Dataverse `flowsession` rows.
pub struct FlowSessions;

impl Format for FlowSessions {
    const KIND: FileKind = FileKind::FlowSessions;
    const LOG: bool = false;
    const SOURCE: Option<&'static str> = Some("run_record");

    fn detect_text(text: &str) -> bool {
        sessions::looks_like_flow_sessions(text)
    }

    fn read(r: Box<dyn Read + Send + '_>, ctx: &ReadCtx, _sink: &dyn EventSink) -> Parsed {
        read_flow_sessions(r, ctx)
    }
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
