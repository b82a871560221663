//! The evidence model every stage shares: where a piece of evidence came from ([`SourceRef`]),
//! the typed events the parsers produce ([`Event`], [`EventData`]), the `dsregcmd /status`
//! snapshot ([`DsregSnapshot`]) and the per-file reading report ([`FileReport`]).
//!
//! Parsers (`sources`) fill these types; later stages only read them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// UTC time; every timestamp in the model is normalised to UTC by the parser.
pub type Time = DateTime<Utc>;

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

/// One piece of timed evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub time: Time,
    pub source: SourceRef,
    #[serde(flatten)]
    pub data: EventData,
}

/// The typed payload of an event, one variant per evidence family.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum EventData {
    /// Security channel logon events: 4624, 4625, 4648, 4634, 4647, 4672, 4740, 4776.
    Security(SecurityEvent),
    /// Microsoft-Windows-AAD/Operational.
    Aad(AadEvent),
    /// Microsoft-Windows-User Device Registration/Admin.
    DeviceRegistration(DeviceRegEvent),
    /// System channel, Service Control Manager events about Power Automate services.
    Service(ServiceEvent),
    /// A Power Automate for desktop agent/service log entry worth keeping (errors, logon detail).
    PadLog(PadLogEntry),
    /// A run record: the portal's error JSON or a flow-session export row.
    RunRecord(RunRecord),
}

/// An account as an event names it. Any part may be missing or `-`-valued in the source;
/// parsers store `None` for `-`, empty and `S-1-0-0` (the null SID).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    pub name: Option<Text>,
    pub domain: Option<Text>,
    pub sid: Option<Text>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SecurityEvent {
    pub event_id: u32,
    pub computer: Option<Text>,
    /// Subject* fields: who asked for the logon (often the machine account or a service).
    pub subject: Account,
    /// Target* fields: the account being logged on (4624/4625/4634/4647/4648/4776/4740).
    pub target: Account,
    pub logon_type: Option<u32>,
    /// NTSTATUS values (4625 Status/SubStatus, 4776 Status); 0 means success.
    pub status: Option<u32>,
    pub sub_status: Option<u32>,
    /// Unresolved insert such as `%%2313`.
    pub failure_reason: Option<Text>,
    /// Trimmed (`"User32 "` becomes `User32`).
    pub logon_process: Option<Text>,
    pub auth_package: Option<Text>,
    pub workstation: Option<Text>,
    pub process_name: Option<Text>,
    pub ip_address: Option<Text>,
    /// 4648 TargetServerName.
    pub target_server: Option<Text>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AadEvent {
    pub event_id: u32,
    /// Event level (1 critical, 2 error, 3 warning, 4 information).
    pub level: Option<u8>,
    /// The `Error` field of 1097/1098 and similar (a 0xCAA…/0x8AA… code, stored as u32).
    pub error_code: Option<u32>,
    /// Status/Result fields (NTSTATUS or HRESULT) of 1085/1094/1104/1025 and similar.
    pub status: Option<u32>,
    /// OAuth error name (`invalid_grant`) when the event carries one (1081, 1088, `Code:` lines).
    pub oauth_error: Option<String>,
    /// AADSTS numbers pulled from any text field.
    pub aadsts: Vec<u32>,
    /// The user SID from `System/Security/@UserID`, when present.
    pub user_sid: Option<String>,
    /// A UPN found in the text (`User Identity`, realm discovery).
    pub upn: Option<String>,
    pub correlation_id: Option<String>,
    /// The event's text fields joined for display (ErrorMessage, AdditionalInformation, ...).
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceRegEvent {
    pub event_id: u32,
    pub level: Option<u8>,
    /// `Exit code` / first numeric error of the event (HRESULT such as 0x801c001d).
    pub exit_code: Option<u32>,
    pub server_error: Option<String>,
    /// `errorPhase` from 304 debug output, when present.
    pub error_phase: Option<String>,
    pub tenant_type: Option<String>,
    pub registration_type: Option<String>,
    /// Name/value pairs of the EventData, for display and rules.
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceEvent {
    pub event_id: u32,
    pub provider: Option<String>,
    /// The service the event is about (`UIFlowService`, ...).
    pub service: Option<String>,
    /// Win32 error number (7000/7038 carry 1069 for a logon failure).
    pub error_code: Option<u32>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceLevel {
    Verbose,
    Info,
    Warning,
    Error,
    Critical,
}

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
    pub ntstatus: Vec<u32>,
    /// The connection / session user when the entry names one.
    pub user: Option<String>,
    pub machine: Option<String>,
    pub agent_version: Option<String>,
    /// `eventData.machineInfo.isAADJoined` / `isDomainJoined`.
    pub is_aad_joined: Option<bool>,
    pub is_domain_joined: Option<bool>,
}

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
    pub source: SourceRef,
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
}

/// What a file was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub kind: FileKind,
    pub size: u64,
    /// Channels seen (EVTX / event XML): the record's own `Channel`, not the file name.
    pub channels: Vec<String>,
    /// Records (EVTX/XML) or lines/rows (text) read successfully.
    pub records: u64,
    /// Records or lines that could not be read.
    pub errors: u64,
    /// Records of channels/IDs padtriage does not use: counted, not kept.
    pub ignored: u64,
    /// Events kept for the timeline.
    pub kept: u64,
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
            records: 0,
            errors: 0,
            ignored: 0,
            kept: 0,
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

/// What a parser returns for one file.
#[derive(Debug)]
pub struct Parsed {
    pub report: FileReport,
    pub events: Vec<Event>,
    pub snapshot: Option<DsregSnapshot>,
}

impl Parsed {
    pub fn new(report: FileReport) -> Self {
        Parsed {
            report,
            events: Vec::new(),
            snapshot: None,
        }
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
