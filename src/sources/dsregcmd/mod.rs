//! `dsregcmd /status` dumps: decoding (UTF-16LE/UTF-8/Windows-1252, CRLF or LF), the line
//! grammar of every layout seen (sectioned current builds, the pre-1803 single `Device State`
//! block, console prompts, hard-wrapped values, the trailer), dumps as people paste them
//! (quoted, fenced, with prose and omission marks around them, several runs in one file), and
//! the typed [`DsregSnapshot`] of each dump: join state, PRT state and last PRT error, pre-join
//! diagnostics, who ran the command and when.
//!
//! Every key/value line is kept in [`DsregSnapshot::fields`] with its section and line so that
//! findings can cite it; unknown keys are kept too. Damaged input is reported as problems
//! (`truncated`, `decode`, `no_keys`, `bad_line`, `unreadable_value`, `limit`, `io`), never a
//! panic.
//!
//! `lines` owns the line grammar and where one dump ends and the next begins, `paste` what
//! people add around a pasted dump, `snapshot` the typed reading of one dump's fields, and
//! `entry` the `dsregcmd` evidence family that puts each dump on the timeline.

mod entry;
mod lines;
mod paste;
mod snapshot;
#[cfg(test)]
mod tests;

pub use entry::{DsregEntry, Snapshots};
pub use snapshot::join_state;

use super::{EventSink, Format, Parsed, ReadCtx};
use crate::model::{FileKind, FileReport, Problem, SourceRef, Time};
use crate::sources::text;
use lines::{banner_title, split_kv, LineParser, MAX_DUMPS, MAX_LISTED_BAD_LINES};
use serde::Serialize;
use std::io::Read;

/// A dump is a few KB; anything past this is not a dump and is not read.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The longest line read. dsregcmd prints short lines (a URL or a server message at most); a
/// longer one is debris or hostile, and is skipped rather than kept as a field value.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Keys no other evidence kind prints in `key : value` form; two of them identify a dump.
const SNIFF_KEYS: &[&str] = &[
    "AzureAdJoined",
    "EnterpriseJoined",
    "DomainJoined",
    "WorkplaceJoined",
    "AzureAdPrt",
    "AzureAdPrtUpdateTime",
    "AzureAdPrtAuthority",
    "EnterprisePrt",
    "NgcSet",
    "WamDefaultSet",
    "DeviceAuthStatus",
    "IsDeviceJoined",
    "IsUserAzureAD",
    "PreReqResult",
    "KeySignTest",
    "AadRecoveryEnabled",
];

/// Banner titles that on their own identify a dump.
const SNIFF_TITLES: &[&str] = &[
    "Device State",
    "Device Details",
    "Tenant Details",
    "User State",
    "SSO State",
    "Ngc Prerequisite Check",
];

/// True when the decoded start of a file looks like `dsregcmd /status` output: a known section
/// banner (`| Device State  |`), or at least two dsregcmd-specific keys in `key : value` form.
pub fn looks_like_dsregcmd(text_head: &str) -> bool {
    let mut seen: Vec<&str> = Vec::new();
    for line in text_head.lines().take(500) {
        let line = paste::unquote(line.trim_start_matches('\u{feff}'));
        let t = line.trim();
        if let Some(title) = banner_title(t) {
            if SNIFF_TITLES.iter().any(|s| s.eq_ignore_ascii_case(&title)) {
                return true;
            }
            continue;
        }
        if let Some(kv) = split_kv(line) {
            if let Some(k) = SNIFF_KEYS.iter().find(|k| k.eq_ignore_ascii_case(kv.key)) {
                if !seen.contains(k) {
                    seen.push(k);
                    if seen.len() >= 2 {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// How the device is joined, derived from the Device State triple and User State.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinState {
    EntraJoined,
    HybridJoined,
    DomainOnly,
    /// Entra registered (workplace joined) only: often mistaken for joined.
    RegisteredOnly,
    /// On-prem DRS (EnterpriseJoined) join.
    EnterpriseJoined,
    NotJoined,
    Unknown,
}

impl JoinState {
    /// The state's name in facts and reports (`entra_joined`).
    pub fn as_str(self) -> &'static str {
        match self {
            JoinState::EntraJoined => "entra_joined",
            JoinState::HybridJoined => "hybrid_joined",
            JoinState::DomainOnly => "domain_only",
            JoinState::RegisteredOnly => "registered_only",
            JoinState::EnterpriseJoined => "enterprise_joined",
            JoinState::NotJoined => "not_joined",
            JoinState::Unknown => "unknown",
        }
    }
}

/// The last PRT acquisition/refresh failure printed under SSO State.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrtError {
    pub attempt_time: Option<Time>,
    pub attempt_status: Option<u32>,
    pub user_identity: Option<String>,
    pub credential_type: Option<String>,
    pub http_error: Option<u32>,
    pub http_status: Option<u32>,
    pub server_error_code: Option<String>,
    pub server_error_description: Option<String>,
    pub aadsts: Option<u32>,
}

/// One `dsregcmd /status` dump, typed. Values the dump does not print stay `None`.
#[derive(Debug, Clone, Serialize)]
pub struct DsregSnapshot {
    /// The file and the dump's first line (its first banner or key line).
    pub source: SourceRef,
    /// Which dump of its file this is (1-based), of how many: a file may hold several runs
    /// (as administrator, then as the user) or the same output pasted twice.
    pub dump: usize,
    pub dumps: usize,
    /// The dump's first and last line of output in the file, 1-based.
    pub first_line: u64,
    pub last_line: u64,
    /// When the dump was taken: `Client Time` if printed, else the file's modification time.
    pub taken_at: Option<Time>,
    pub taken_at_basis: Option<String>,
    /// `utf-16le`, `utf-8`, `utf-8-bom`, `windows-1252`, ...
    pub encoding: String,
    /// `current` (sectioned) or `legacy` (pre-1803 single Device State block).
    pub layout: String,
    pub join_state: JoinState,
    pub azure_ad_joined: Option<bool>,
    pub enterprise_joined: Option<bool>,
    pub domain_joined: Option<bool>,
    pub workplace_joined: Option<bool>,
    pub domain_name: Option<String>,
    pub device_name: Option<String>,
    pub device_id: Option<String>,
    pub device_auth_status: Option<String>,
    pub tenant_name: Option<String>,
    pub tenant_id: Option<String>,
    pub azure_ad_prt: Option<bool>,
    pub prt_update_time: Option<Time>,
    pub prt_expiry_time: Option<Time>,
    pub prt_authority: Option<String>,
    pub enterprise_prt: Option<bool>,
    pub enterprise_prt_authority: Option<String>,
    pub prt_error: Option<PrtError>,
    pub ngc_set: Option<bool>,
    pub is_user_azure_ad: Option<bool>,
    pub executing_account: Option<String>,
    pub user_context: Option<String>,
    pub error_phase: Option<String>,
    pub client_error_code: Option<u32>,
    pub server_error_code: Option<String>,
    /// Every key/value read: (section, key, value, 1-based line), for citing evidence.
    pub fields: Vec<DsregField>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DsregField {
    pub section: String,
    pub key: String,
    pub value: String,
    pub line: u64,
}

impl DsregSnapshot {
    /// The line a key was read from, for citations.
    pub fn field(&self, key: &str) -> Option<&DsregField> {
        self.fields.iter().find(|f| f.key.eq_ignore_ascii_case(key))
    }

    /// Its time is the dump's own `Client Time` (not a file date).
    pub fn dated_by_client_time(&self) -> bool {
        self.taken_at.is_some() && self.taken_at_basis.as_deref() == Some(CLIENT_TIME)
    }
}

/// `taken_at_basis` of a dump dated by its own `Client Time`.
pub(crate) const CLIENT_TIME: &str = "Client Time";

/// The `dsregcmd /status` text format.
pub struct Dsregcmd;

impl Format for Dsregcmd {
    const KIND: FileKind = FileKind::Dsregcmd;
    const LOG: bool = false;
    const SOURCE: Option<&'static str> = Some("dsregcmd");

    fn detect_text(text: &str) -> bool {
        looks_like_dsregcmd(text)
    }

    fn read(r: Box<dyn Read + Send + '_>, ctx: &ReadCtx, _sink: &dyn EventSink) -> Parsed {
        read_dsregcmd(r, ctx)
    }
}

/// Read a file of dumps (at most [`MAX_BYTES`]) and type each: one snapshot per dump, in file
/// order, each also as a timeline event (when it has a time and `ctx.filter` keeps it).
/// `snapshots` is empty only when the file holds no key/value line at all (empty, garbage, or
/// not a dump); the report then says why.
pub fn read_dsregcmd<R: Read>(r: R, ctx: &ReadCtx) -> Parsed {
    let mut report = FileReport::new(ctx.file.to_string(), FileKind::Dsregcmd, ctx.size);
    let mut bytes = Vec::new();
    // On an I/O error `read_to_end` keeps what it read; parse that.
    if let Err(e) = r.take(MAX_BYTES + 1).read_to_end(&mut bytes) {
        report.problems.push(Problem::new(
            "io",
            Some(format!("byte {}", bytes.len())),
            format!("reading stopped: {e}; parsing what was read"),
        ));
    }
    let limited = bytes.len() as u64 > MAX_BYTES;
    if limited {
        bytes.truncate(MAX_BYTES as usize);
        report.problems.push(Problem::new(
            "limit",
            Some(format!("byte {MAX_BYTES}")),
            format!(
                "file is larger than a dsregcmd dump can be ({} MiB cap); the rest is ignored",
                MAX_BYTES / (1024 * 1024)
            ),
        ));
    }
    if bytes.is_empty() {
        report.problems.push(Problem::new(
            "no_keys",
            None,
            "the file is empty: no dsregcmd output",
        ));
        return Parsed::new(report);
    }

    let decoded = text::decode(&bytes);
    let encoding = decoded.encoding;
    let mut body: &str = &decoded.text;
    let mut cut = false;
    if decoded.had_errors && ends_inside_char(&bytes, encoding) {
        // The last character was cut off; drop its replacement so the line still parses.
        body = body.trim_end_matches('\u{fffd}');
        cut = true;
    }
    if decoded.had_errors && body.contains('\u{fffd}') {
        report.problems.push(Problem::new(
            "decode",
            None,
            format!("some bytes are not valid {encoding} and were replaced (U+FFFD)"),
        ));
    }

    let mut p = LineParser::default();
    p.run(body, limited);
    report.problems.append(&mut p.problems);
    if p.bad_lines > MAX_LISTED_BAD_LINES {
        report.problems.push(Problem::new(
            "bad_line",
            None,
            format!(
                "{} more unreadable lines not listed",
                p.bad_lines - MAX_LISTED_BAD_LINES
            ),
        ));
    }
    // A single problem for the cut, whether inside a character or inside a line.
    if !limited && (cut || p.cut_line.is_some()) {
        let at = p.cut_line.or(p.last_line).map(|l| format!("line {l}"));
        report.problems.push(Problem::new(
            "truncated",
            at,
            "the dump ends in the middle of a line (cut off); the value on it may be incomplete \
             and is not used for the diagnosis",
        ));
    }
    if p.dropped_dumps > 0 {
        report.problems.push(Problem::new(
            "limit",
            p.first_dropped_line.map(|l| format!("line {l}")),
            format!(
                "{} more dumps after the first {MAX_DUMPS} in this file are not read",
                p.dropped_dumps
            ),
        ));
    }
    report.records = p.dumps.iter().map(|d| d.fields.len() as u64).sum();
    report.errors = p.bad_lines;
    report.ignored = p.ignored;
    report.dumps = p.dumps.len() as u64;

    if p.dumps.is_empty() {
        report.problems.push(Problem::new(
            "no_keys",
            None,
            "no `key : value` line found: not a dsregcmd dump, or unreadable",
        ));
        return Parsed::new(report);
    }

    let mut parsed = Parsed::new(report);
    let dumps = p.dumps.len();
    for (n, d) in p.dumps.into_iter().enumerate() {
        let (s, mut problems) = snapshot::build_snapshot(d, n + 1, dumps, ctx, encoding);
        parsed.report.problems.append(&mut problems);
        if let Some(t) = s.taken_at {
            parsed.report.see_time(t);
        }
        if let Some(d) = s.device_name.as_deref() {
            parsed.report.add_computer(d);
        }
        if let Some(ev) = entry::event(&s).filter(|e| ctx.filter.keeps_time(e.time)) {
            parsed.events.push(ev);
        }
        parsed.snapshots.push(s);
    }
    parsed
}

/// True when the bytes end inside a multi-byte character (a cut, not a wrong encoding).
fn ends_inside_char(bytes: &[u8], encoding: &str) -> bool {
    match encoding {
        "utf-16le-bom" | "utf-16be-bom" | "utf-16le" => bytes.len() % 2 == 1,
        "utf-8" | "utf-8-bom" => {
            matches!(std::str::from_utf8(bytes), Err(e) if e.error_len().is_none())
        }
        _ => false,
    }
}
