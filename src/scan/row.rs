//! One scan result per bundle: the NDJSON line `scan --format ndjson` writes
//! (`schema/scan-row.schema.json`), and the findings the database and the summary keep. The
//! analysis document is embedded as `analyze --format json` prints it, only without the
//! indentation: the same serializer, the same bytes between the tokens.

use super::identity::{mtime_rfc3339, BundleKind};
use crate::report::analysis::Analysis;
use crate::report::html::FleetAnswer;
use crate::report::redact::Identifiers;
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the row format (`schema/scan-row.schema.json`); minor versions only add fields.
pub const ROW_SCHEMA_VERSION: &str = "1.0";

/// What became of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Analysed; every file was read completely.
    Ok,
    /// Analysed, but some file was skipped or only partly read (`problems` says which).
    Partial,
    /// Not analysed: unreadable, an internal error, over the time limit, changed while read.
    Failed,
    /// Unchanged since it was analysed with this padtriage version and rules (`--db`).
    SkippedUnchanged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::Failed => "failed",
            Status::SkippedUnchanged => "skipped_unchanged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(Status::Ok),
            "partial" => Some(Status::Partial),
            "failed" => Some(Status::Failed),
            "skipped_unchanged" => Some(Status::SkippedUnchanged),
            _ => None,
        }
    }
}

/// Which bundle, exactly.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    /// The path as listed (what `analyze` would be given; the analysis's `bundle`).
    pub path: String,
    pub kind: BundleKind,
    pub size: u64,
    /// RFC 3339 UTC, nanoseconds.
    pub mtime: String,
    pub files: u64,
    /// `xxh64:` and 16 hex digits; null when the bundle could not be read.
    pub content_hash: Option<String>,
}

impl Identity {
    pub fn new(path: String, st: &super::identity::Stat, hash: Option<String>) -> Self {
        Identity {
            path,
            kind: st.kind,
            size: st.size,
            mtime: mtime_rfc3339(st.mtime_ns),
            files: st.files,
            content_hash: hash,
        }
    }
}

/// A file skipped or only partly read, in one line.
#[derive(Debug, Clone, Serialize)]
pub struct InputProblem {
    pub path: String,
    pub kind: String,
    pub why: String,
}

/// A run, its primary cause and every cause's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// RFC 3339 UTC.
    pub time: String,
    pub error_code: String,
    pub credential_error: bool,
    pub user: Option<String>,
    pub machine: Option<String>,
    pub primary_cause: Option<String>,
    pub primary_verdict: Option<&'static str>,
    /// Cause id to verdict.
    pub verdicts: BTreeMap<String, &'static str>,
}

impl RunRow {
    /// A credential failure where no cause could be judged either way: a person must collect
    /// more evidence.
    pub fn unknown_only(&self) -> bool {
        self.credential_error
            && !self.verdicts.is_empty()
            && self.verdicts.values().all(|v| *v == "unknown")
    }
}

/// What an analysis found, as the scan keeps it.
#[derive(Debug, Clone)]
pub struct Findings {
    pub status: Status,
    pub runs: Vec<RunRow>,
    pub problems: Vec<InputProblem>,
    /// The analysis document, compact.
    pub analysis_json: String,
    /// The bundle as the scan shows it, when not as listed: its path pseudonymised (`--redact`).
    pub shown: Option<String>,
    /// Its runs' answer lines, for the fleet page.
    pub answers: Vec<FleetAnswer>,
    /// Its HTML page (`analyze --format html`), when the scan writes pages.
    pub page: Option<Vec<u8>>,
    /// The identifiers its evidence holds, under `--redact`: what the scan writes about
    /// bundles it could not read is redacted with every identifier seen so far.
    pub identifiers: Option<Identifiers>,
}

impl Findings {
    pub fn of(a: &Analysis) -> serde_json::Result<Self> {
        let runs = a
            .runs
            .iter()
            .map(|r| RunRow {
                time: r.time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                error_code: r.error_code.clone(),
                credential_error: r.credential_error,
                user: r.user.clone(),
                machine: r.machine.clone(),
                primary_cause: r.primary_cause.clone(),
                primary_verdict: r.primary_verdict.map(|v| v.as_str()),
                verdicts: r
                    .causes
                    .iter()
                    .map(|c| (c.cause.clone(), c.verdict.as_str()))
                    .collect(),
            })
            .collect();
        let problems = a
            .problems
            .iter()
            .map(|p| InputProblem {
                path: p.path.clone(),
                kind: p.kind.to_string(),
                why: p.why(),
            })
            .collect();
        Ok(Findings {
            status: if a.problems.is_empty() {
                Status::Ok
            } else {
                Status::Partial
            },
            runs,
            problems,
            analysis_json: serde_json::to_string(a)?,
            shown: None,
            answers: FleetAnswer::of(a),
            page: None,
            identifiers: None,
        })
    }
}

/// Why a bundle needs a person, one reason each: partial input, runs where every cause is
/// unknown, a failure.
pub fn attention(status: Status, why: Option<&str>, f: Option<&Findings>) -> Vec<String> {
    let mut out = Vec::new();
    match status {
        Status::Failed => out.push(format!("failed: {}", why.unwrap_or("unknown reason"))),
        Status::Partial => {
            let n = f.map_or(0, |f| f.problems.len());
            out.push(format!(
                "partial input: {n} file{} skipped or only partly read",
                if n == 1 { "" } else { "s" }
            ));
        }
        _ => {}
    }
    if let Some(f) = f {
        for r in f.runs.iter().filter(|r| r.unknown_only()) {
            out.push(format!(
                "run at {} ({}): every cause unknown; collect the missing evidence",
                r.time, r.error_code
            ));
        }
    }
    out
}

/// One NDJSON line, without the embedded analysis (added by [`Row::to_line`]).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub schema_version: &'static str,
    pub tool: String,
    pub rules_digest: String,
    pub bundle: Identity,
    pub status: Status,
    pub why: Option<String>,
    /// When this result was made (for `skipped_unchanged`, when the stored one was), RFC 3339.
    pub analysed_at: Option<String>,
    pub duration_ms: u64,
    pub needs_person: bool,
    pub attention: Vec<String>,
    pub problems: Vec<InputProblem>,
    pub runs: Vec<RunRow>,
    #[serde(skip)]
    pub analysis_json: Option<String>,
}

impl Row {
    /// The row as one JSON line (newline included), the analysis document last.
    pub fn to_line(&self) -> serde_json::Result<String> {
        let mut s = serde_json::to_string(self)?;
        // `s` is an object: drop its closing brace and append the embedded document verbatim.
        s.pop();
        s.push_str(",\"analysis\":");
        s.push_str(self.analysis_json.as_deref().unwrap_or("null"));
        s.push_str("}\n");
        Ok(s)
    }
}

/// `padtriage x.y.z`, as the analysis document's `tool`.
pub fn tool() -> String {
    format!("padtriage {}", env!("CARGO_PKG_VERSION"))
}
