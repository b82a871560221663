//! The types every stage shares, whatever the evidence: where a piece of evidence came from
//! ([`SourceRef`]), the accounts events name ([`Account`]), what a file was recognised as and
//! how well it was read ([`FileKind`], [`FileReport`], [`Problem`]), which events a reader keeps
//! ([`EventFilter`]), and the named values evidence offers to rules ([`Fields`]).
//!
//! What each kind of evidence says (its events and their payloads) belongs to its source, in
//! `sources`; this module knows no particular source.

use serde::Serialize;
use std::fmt;
use std::sync::Arc;

pub use crate::time::{Time, TimeBasis};

/// Short text stored inline (no heap allocation up to 24 bytes): account names, domains, SIDs,
/// logon processes. Security events carry a dozen such fields and big logs hold millions.
pub type Text = compact_str::CompactString;

/// Where a piece of evidence sits: the file's display path inside the bundle
/// (`Security.evtx`, `logs.zip!/PAD/UIFlowService.log`) and the record or line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SourceRef {
    pub file: Arc<str>,
    #[serde(flatten)]
    pub loc: Loc,
}

/// Position inside a file. Record ids are the EVTX `EventRecordID`; lines and rows are 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Loc {
    Record(u64),
    Line(u64),
    Row(u64),
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.loc {
            Loc::Record(r) => write!(f, "{} record {}", self.file, r),
            Loc::Line(l) => write!(f, "{} line {}", self.file, l),
            Loc::Row(r) => write!(f, "{} row {}", self.file, r),
        }
    }
}

/// An account as an event names it. Any part may be missing or `-`-valued in the source;
/// parsers store `None` for `-`, empty and `S-1-0-0` (the null SID). Its texts are [`Text`]s,
/// or, while a reader holds them once for many events, numbers in a table of texts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Account<T = Text> {
    pub name: Option<T>,
    pub domain: Option<T>,
    pub sid: Option<T>,
}

/// What a file was recognised as: one of the formats in the sources' registry
/// (`sources::registry`), or a container / non-evidence kind. A new format needs a variant here
/// and its line in the registry; a test checks that every format variant is registered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Evtx,
    EventXml,
    Dsregcmd,
    PadLog,
    PortalError,
    FlowSessions,
    Zip,
    /// Recognised as not evidence (a README, a screenshot): listed, not read, not a problem.
    Other,
    /// Evidence-like but not read (damaged, empty, refused by a limit, unreadable).
    Skipped,
}

impl FileKind {
    pub const ALL: &'static [FileKind] = &[
        FileKind::Evtx,
        FileKind::EventXml,
        FileKind::Dsregcmd,
        FileKind::PadLog,
        FileKind::PortalError,
        FileKind::FlowSessions,
        FileKind::Zip,
        FileKind::Other,
        FileKind::Skipped,
    ];

    /// Kinds that are not an evidence format: nothing in the registry reads them.
    pub fn is_format(self) -> bool {
        !matches!(self, FileKind::Zip | FileKind::Other | FileKind::Skipped)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Evtx => "evtx",
            FileKind::EventXml => "event_xml",
            FileKind::Dsregcmd => "dsregcmd",
            FileKind::PadLog => "pad_log",
            FileKind::PortalError => "portal_error",
            FileKind::FlowSessions => "flow_sessions",
            FileKind::Zip => "zip",
            FileKind::Other => "other",
            FileKind::Skipped => "skipped",
        }
    }
}

/// Something that went wrong reading a file. Never fatal to the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Problem {
    /// Stable machine-readable kind: `bad_header`, `bad_chunk`, `bad_record`, `bad_line`,
    /// `decode`, `truncated`, `io`, `limit`, `unrecognised`, ...
    pub kind: String,
    /// Where in the file, when known (`chunk 3`, `record 1234`, `line 17`).
    pub at: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(kind: &str, at: Option<String>, message: impl Into<String>) -> Self {
        Problem {
            kind: kind.to_string(),
            at,
            message: message.into(),
        }
    }
}

/// Per-file outcome, shown by `inventory` and carried into every report.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FileReport {
    pub path: String,
    pub kind: FileKind,
    pub size: u64,
    /// Channels seen (EVTX / event XML): the record's own `Channel`, not the file name.
    pub channels: Vec<String>,
    /// Machines the file's records name (EVTX / event XML `Computer`, a dump's device name, a
    /// PAD log's machine name), as written; a log of several machines names each.
    pub computers: Vec<String>,
    /// Kinds of the events padtriage reads that the file holds (`security.4625`), whether or not
    /// they fell in the time read: shows what a log records.
    pub kinds: Vec<String>,
    /// Where the file's zone-less times went back by half an hour or more (line, time after
    /// the step): clocks set back for daylight saving, so the same local time occurs twice.
    #[serde(skip)]
    pub folds: Vec<(u64, Time)>,
    /// Records (EVTX/XML) or lines/rows (text) read successfully.
    pub records: u64,
    /// Records or lines that could not be read.
    pub errors: u64,
    /// Records of channels/IDs padtriage does not use: counted, not kept.
    pub ignored: u64,
    /// Events kept for the timeline.
    pub kept: u64,
    /// `dsregcmd /status` dumps the file holds (a file may hold several runs); 0 for others.
    pub dumps: u64,
    pub first: Option<Time>,
    pub last: Option<Time>,
    pub problems: Vec<Problem>,
    /// Why the file was skipped, when it was.
    pub skipped: Option<String>,
}

impl FileReport {
    pub fn new(path: impl Into<String>, kind: FileKind, size: u64) -> Self {
        FileReport {
            path: path.into(),
            kind,
            size,
            channels: Vec::new(),
            computers: Vec::new(),
            kinds: Vec::new(),
            folds: Vec::new(),
            records: 0,
            errors: 0,
            ignored: 0,
            kept: 0,
            dumps: 0,
            first: None,
            last: None,
            problems: Vec::new(),
            skipped: None,
        }
    }

    /// Widen the file's time range to include `t`.
    pub fn see_time(&mut self, t: Time) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }

    /// Note a kind of event the file holds (at most a few hundred are kept).
    pub fn add_kind(&mut self, kind: &str) {
        if self.kinds.len() < 512 && !self.kinds.iter().any(|k| k == kind) {
            self.kinds.push(kind.to_string());
        }
    }

    /// Note a machine the file's records name (at most a few dozen are kept).
    pub fn add_computer(&mut self, name: &str) {
        let n = name.trim();
        if !n.is_empty() && self.computers.len() < 64 && !self.computers.iter().any(|c| c == n) {
            self.computers.push(n.to_string());
        }
    }

    pub fn add_channel(&mut self, channel: &str) {
        if !self.channels.iter().any(|c| c == channel) {
            self.channels.push(channel.to_string());
        }
    }

    /// True when part of the file could not be read. Files that are not evidence at all
    /// (`FileKind::Other`) are listed but do not make a bundle partial.
    pub fn is_partial(&self) -> bool {
        self.errors > 0
            || !self.problems.is_empty()
            || (self.skipped.is_some() && self.kind != FileKind::Other)
    }
}

/// Which events a parser should keep: lets readers drop what no stage will use as early as
/// possible (before building strings). `None` means keep everything relevant.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Keep only events inside one of these closed UTC ranges.
    pub ranges: Option<Vec<(Time, Time)>>,
}

impl EventFilter {
    pub fn all() -> Self {
        EventFilter::default()
    }

    pub fn keeps_time(&self, t: Time) -> bool {
        match &self.ranges {
            None => true,
            Some(r) => r.iter().any(|(a, b)| *a <= t && t <= *b),
        }
    }
}

/// Which accounts a rule's evidence item may be about, by default per evidence family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserScope {
    /// The fact must name the run's user.
    Run,
    /// The fact must name the run's user, or no user at all.
    RunOrUnknown,
    /// Any account.
    Any,
}

/// One named value evidence offers to rules, with the dsregcmd line it came from where that
/// applies. Names are a source's rule vocabulary (`security`: `status`, `logon_type`, ...).
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub values: Vec<String>,
    pub line: Option<u64>,
}

/// The named values of one piece of evidence. In debug builds, a name outside the source's
/// declared vocabulary panics, so a source cannot offer a field rules cannot name.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub list: Vec<Field>,
    vocabulary: &'static [&'static str],
}

impl Fields {
    pub fn new(vocabulary: &'static [&'static str]) -> Self {
        Fields {
            list: Vec::new(),
            vocabulary,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Field> {
        self.list.iter().find(|f| f.name == name)
    }

    pub fn push_at(&mut self, name: &'static str, values: Vec<String>, line: Option<u64>) {
        debug_assert!(
            self.vocabulary.contains(&name),
            "field `{name}` is not in the source's vocabulary {:?}",
            self.vocabulary
        );
        if !values.is_empty() {
            self.list.push(Field { name, values, line });
        }
    }

    pub fn push(&mut self, name: &'static str, v: impl Into<String>) {
        self.push_at(name, vec![v.into()], None);
    }

    pub fn push_opt(&mut self, name: &'static str, v: Option<impl Into<String>>) {
        if let Some(v) = v {
            self.push(name, v);
        }
    }

    pub fn push_many(&mut self, name: &'static str, vs: Vec<String>) {
        self.push_at(name, vs, None);
    }

    pub fn yes_no(b: bool) -> String {
        if b { "yes" } else { "no" }.to_string()
    }
}
