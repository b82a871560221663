//! Power Automate for desktop (PAD) agent and service logs: JSON lines, one object per line, as
//! written under `%ProgramData%\Microsoft\Power Automate\Logs` and the per-user `Logs` folder.
//!
//! This source owns recognising those files, reading them into [`PadLogEntry`] events (`read`:
//! which entries are worth keeping, how non-JSON lines such as stack traces attach to the entry
//! they follow), and what the entries mean to the later stages (kind `pad.<level>`, summary,
//! rule vocabulary).
//!
//! The line schema is third-party evidence (kb-causes.md c.2), not a Microsoft contract, so the
//! reader is tolerant: several key spellings per field, unknown fields ignored, bad lines counted.

mod lines;
mod read;
#[cfg(test)]
mod tests;

pub use read::{read_padlog, read_padlog_to, MAX_LINE_BYTES};

use super::{EventSink, Family, Format, Parsed, ReadCtx};
use crate::codes;
use crate::identity::Identity;
use crate::model::{Fields, FileKind, UserScope};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{BufReader, Read};

/// A log entry's level, over the names loggers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceLevel {
    Verbose,
    Info,
    Warning,
    Error,
    Critical,
}

impl TraceLevel {
    /// The level's name in kinds, facts and summaries (`error`).
    pub fn as_str(self) -> &'static str {
        match self {
            TraceLevel::Verbose => "verbose",
            TraceLevel::Info => "info",
            TraceLevel::Warning => "warning",
            TraceLevel::Error => "error",
            TraceLevel::Critical => "critical",
        }
    }

    /// `Info`, `Error`, ... in any case, plus the names other loggers use (`Warn`, `Fatal`, `Debug`).
    pub fn parse(s: &str) -> Option<TraceLevel> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "verbose" | "debug" | "trace" => TraceLevel::Verbose,
            "info" | "information" | "informational" => TraceLevel::Info,
            "warning" | "warn" => TraceLevel::Warning,
            "error" => TraceLevel::Error,
            "critical" | "fatal" => TraceLevel::Critical,
            _ => return None,
        })
    }
}

/// One kept entry of a PAD log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PadLogEntry {
    pub level: Option<TraceLevel>,
    pub component: Option<String>,
    pub operation: Option<String>,
    pub event_type: Option<String>,
    pub message: String,
    pub correlation_id: Option<String>,
    /// Power Automate error code names found in the entry (`WindowsIdentityIncorrect`, ...).
    pub error_codes: Vec<String>,
    /// NTSTATUS values found, from decimal (`-1073741715`) or hex (`0xC000006D`) text.
    #[serde(serialize_with = "crate::codes::as_hex::list")]
    pub ntstatus: Vec<u32>,
    /// The connection / session user when the entry names one.
    pub user: Option<String>,
    pub machine: Option<String>,
    pub agent_version: Option<String>,
    /// `eventData.machineInfo.isAADJoined` / `isDomainJoined`.
    pub is_aad_joined: Option<bool>,
    pub is_domain_joined: Option<bool>,
}

pub struct PadLog;

impl Family for PadLog {
    type Payload = PadLogEntry;
    const NAME: &'static str = "pad";
    const SOURCE: &'static str = "pad_log";
    const FIELDS: &'static [&'static str] = &[
        "level",
        "component",
        "error_codes",
        "ntstatus",
        "is_aad_joined",
        "is_domain_joined",
        "text",
    ];
    const USER_SCOPE: UserScope = UserScope::Run;

    fn kind(p: &PadLogEntry, out: &mut String) {
        out.push_str(p.level.map_or("entry", TraceLevel::as_str));
    }

    fn summary(p: &PadLogEntry, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "PAD {} {}",
            p.level.map_or("entry", TraceLevel::as_str),
            p.component.as_deref().unwrap_or("-")
        );
        if !p.error_codes.is_empty() {
            let _ = write!(out, " {}", p.error_codes.join(","));
        }
        for c in &p.ntstatus {
            let _ = write!(out, " {}", codes::describe_hex(*c));
        }
        if let Some(u) = &p.user {
            let _ = write!(out, " user {u}");
        }
        let _ = write!(out, ": {}", super::text::first_line(&p.message));
    }

    fn user(p: &PadLogEntry) -> Option<Identity> {
        p.user.as_deref().and_then(Identity::parse)
    }

    fn facts(p: &PadLogEntry, f: &mut Fields) {
        f.push_opt("level", p.level.map(TraceLevel::as_str));
        f.push_opt("component", p.component.clone());
        f.push_many("error_codes", p.error_codes.clone());
        f.push_many(
            "ntstatus",
            p.ntstatus.iter().map(|c| codes::hex(*c)).collect(),
        );
        f.push_opt("is_aad_joined", p.is_aad_joined.map(Fields::yes_no));
        f.push_opt("is_domain_joined", p.is_domain_joined.map(Fields::yes_no));
        f.push("text", p.message.clone());
    }
}

impl Format for PadLog {
    const KIND: FileKind = FileKind::PadLog;
    const SOURCE: Option<&'static str> = Some("pad_log");

    fn detect_text(text: &str) -> bool {
        looks_like_padlog(text)
    }

    fn read(r: Box<dyn Read + Send + '_>, ctx: &ReadCtx, sink: &dyn EventSink) -> Parsed {
        read_padlog_to(BufReader::with_capacity(64 << 10, r), ctx, sink)
    }
}

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
