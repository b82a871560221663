//! The scenario corpus: deterministic generation of realistic customer bundles (the folders a
//! support engineer receives), each with the expected diagnosis (`expected.json`) and a short
//! README. `samples/` holds the small ones, written by `cargo run --example gen-samples --
//! samples`; the large one is generated on demand.
//!
//! This module owns what goes into each bundle: the needles (the records that explain a failure,
//! in the field layouts Windows and PAD write) and the haystack around them (service logons and
//! credential reads from [`events::noise`], the user's own logons, password sprays from other
//! hosts, routine PAD log lines), the file layout (loose files, `PAD/` folders, the machine
//! runtime's `PAD-Logs.zip`, a `bundle.zip` around everything) and the encodings of the text
//! files. Everything derives from fixed times and seeds, and zip entries have fixed times and
//! order, so the same code writes the same bytes.
//!
//! Where a bundle's diagnosis rests on the `dsregcmd` dump alone, the dump travels inside a zip:
//! a loose file's date is lost in a git checkout, and a dump whose only time is a date long
//! after the run counts as weaker evidence.

use crate::events::{self as ev, Lcg, Logon, Principal, WhfbCheck};
use crate::evtx_writer::{EventSpec, EvtxWriter, Guid, Value};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Public API

/// One file of a bundle: its path inside the bundle folder (`/`-separated), bytes and date.
#[derive(Debug, Clone)]
pub struct OutFile {
    pub path: String,
    pub bytes: Vec<u8>,
    /// The file's modification time as the customer's machine left it.
    pub mtime: DateTime<Utc>,
}

/// What `padtriage analyze` must find in a bundle (`expected.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    pub scenario: String,
    pub runs: Vec<ExpectedRun>,
    /// True when no credential cause may be confirmed anywhere in the bundle.
    pub healthy: bool,
}

/// One failed run the analysis must report.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectedRun {
    /// RFC 3339 UTC; the analysis may differ by up to 60 s (records of one failure spread).
    pub time: String,
    pub error_code: String,
    /// The cause id of the primary verdict, or `None` when no cause may be confirmed or likely.
    pub primary_cause: Option<String>,
    /// `confirmed` or `likely`; `None` with `primary_cause`.
    pub verdict: Option<String>,
    /// The connection user the run must be attributed to; `None` = not checked.
    pub user: Option<String>,
    /// How the user must have been determined (`stated`, `inferred`), when that matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_basis: Option<String>,
}

type Build = Box<dyn Fn() -> Vec<OutFile> + Send + Sync>;

/// A scenario: its name (`01-credentials-mismatch`, also its folder), what it shows, the
/// expected analysis, and how to build its files.
pub struct Scenario {
    pub name: &'static str,
    /// One line for the samples index.
    pub title: &'static str,
    /// Generated on demand only (not committed).
    pub large: bool,
    pub expected: Expected,
    /// The bundle's README.md.
    pub readme: String,
    build: Build,
}

impl Scenario {
    /// Build the bundle's evidence files (not `expected.json` / `README.md`).
    pub fn files(&self) -> Vec<OutFile> {
        (self.build)()
    }
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("large", &self.large)
            .field("expected", &self.expected)
            .finish()
    }
}

/// Every scenario, in folder order; the large one last.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        s01_credentials_mismatch(),
        s02_account_state(),
        s03_username_format(),
        s04_device_not_joined(),
        s05_account_not_synced(),
        s06_federated_user(),
        s07_logon_right_missing(),
        s08_account_restriction(),
        s09_auth_unreachable(),
        s10_healthy_unrelated(),
        s11_missing_evidence(),
        s12_multi_run_day(),
        s13_large_noisy(),
    ]
}

/// Write one scenario's bundle into `dir` (created if needed): its evidence files with their
/// dates, `expected.json` and `README.md`. Files already in `dir` that the scenario does not
/// write are left alone.
pub fn write_scenario(s: &Scenario, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for f in s.files() {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&path)?;
        file.write_all(&f.bytes)?;
        file.set_modified(f.mtime.into())?;
    }
    let mut json = serde_json::to_string_pretty(&s.expected).map_err(io::Error::other)?;
    json.push('\n');
    std::fs::write(dir.join("expected.json"), json)?;
    std::fs::write(dir.join("README.md"), &s.readme)?;
    Ok(())
}

/// Write every committed scenario (and the large one when `include_large`) into
/// `out/<name>/`, plus the index `out/README.md`.
pub fn write_all(out: &Path, include_large: bool) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let all = scenarios();
    for s in all.iter().filter(|s| include_large || !s.large) {
        write_scenario(s, &out.join(s.name))?;
    }
    std::fs::write(out.join("README.md"), index(&all))?;
    Ok(())
}

fn index(all: &[Scenario]) -> String {
    let mut s = String::from(INDEX_HEAD);
    for sc in all {
        let note = if sc.large {
            " (generated on demand, not committed)"
        } else {
            ""
        };
        let _ = writeln!(s, "| `{}` | {}{} |", sc.name, sc.title, note);
    }
    s.push_str(INDEX_TAIL);
    s
}

const INDEX_HEAD: &str = "# Sample bundles

Synthetic customer bundles for padtriage: each folder looks like what a support engineer receives
for a failed Power Automate desktop-flow run (event logs, `dsregcmd /status`, PAD logs, portal run
records), with the evidence of one scenario hidden among ordinary background records. Every byte
is generated by `testkit/src/scenarios.rs`; nothing comes from a real machine (names, GUIDs and
SIDs are invented; IP addresses are documentation ranges).

Regenerate (byte for byte):

```sh
cargo run --example gen-samples -- samples           # the committed bundles
cargo run --example gen-samples -- samples --large   # also 13-large-noisy (not committed)
```

`tests/samples.rs` checks that the committed bundles are exactly what the generator writes, and
that `padtriage analyze <bundle> --format json` reaches each bundle's expected result.

| bundle | scenario |
|---|---|
";

const INDEX_TAIL: &str = "
## expected.json

```json
{\"scenario\": \"01-credentials-mismatch\",
 \"runs\": [{\"time\": \"2025-03-11T14:05:12Z\", \"error_code\": \"WindowsIdentityIncorrect\",
           \"primary_cause\": \"credentials-mismatch\", \"verdict\": \"confirmed\",
           \"user\": \"jdoe@contoso.com\"}],
 \"healthy\": false}
```

- `runs`: every failed run the analysis must report, in time order: `time` (RFC 3339 UTC; the
  report may differ by up to 60 s), `error_code`, `primary_cause` (a rule id from `rules/`, or
  `null` when no cause may be confirmed or likely), `verdict` (`confirmed`, `likely`, or `null`
  with a null cause), `user` (the connection user the run must be attributed to; `null` = not
  checked) and, where it matters, `user_basis` (`stated` when a record names the user, `inferred`
  when padtriage had to infer it from the evidence).
- `healthy`: `true` when nothing in the bundle may confirm any cause (an unrelated failure).

Each bundle's README.md says what happened and what a support engineer should conclude.
";

// ---------------------------------------------------------------------------------------------
// Small helpers

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("bad fixed time {s}: {e}"))
}

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

fn mins(n: i64) -> Duration {
    Duration::minutes(n)
}

/// A random-looking, version-4-shaped GUID derived from `name` (same name, same GUID).
fn guid(name: &str) -> Guid {
    let g = Guid::derived(name).0;
    let g = (g & !(0xf_u128 << 76)) | (0x4_u128 << 76);
    let g = (g & !(0x3_u128 << 62)) | (0x2_u128 << 62);
    Guid(g)
}

fn guid_str(name: &str) -> String {
    guid(name).to_string()
}

/// .NET round-trip time (`o`): 7 fraction digits and `Z`.
fn dotnet_time(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

/// `2025-06-02 07:58:41.000 UTC`, as dsregcmd prints times.
fn dsreg_time(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:03} UTC",
        t.format("%Y-%m-%d %H:%M:%S"),
        t.timestamp_subsec_millis()
    )
}

/// The RFC 3339 form `expected.json` uses.
fn rfc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn file(path: &str, bytes: Vec<u8>, mtime: DateTime<Utc>) -> OutFile {
    OutFile {
        path: path.to_string(),
        bytes,
        mtime,
    }
}

/// The events as an .evtx file whose first record id is `first_id` (a log that has been
/// running for a while), records in time order.
fn evtx(mut events: Vec<EventSpec>, first_id: u64) -> Vec<u8> {
    events.sort_by_key(|e| e.time);
    let mut w = EvtxWriter::with_first_record_id(first_id);
    for e in &events {
        if let Err(err) = w.push(e) {
            panic!("scenario event {} does not encode: {err}", e.event_id);
        }
    }
    w.finish()
}

/// Like [`evtx`], for logs too big to hold as specs: the (small) `needles` merged in time order
/// with endless `streams`, each cut at `until`, written as they come.
fn evtx_streamed(
    mut needles: Vec<EventSpec>,
    streams: Vec<ev::Noise>,
    until: DateTime<Utc>,
    first_id: u64,
) -> Vec<u8> {
    needles.sort_by_key(|e| e.time);
    let mut sources: Vec<std::iter::Peekable<Box<dyn Iterator<Item = EventSpec>>>> = Vec::new();
    sources.push((Box::new(needles.into_iter()) as Box<dyn Iterator<Item = EventSpec>>).peekable());
    for s in streams {
        let cut: Box<dyn Iterator<Item = EventSpec>> =
            Box::new(s.take_while(move |e| e.time < until));
        sources.push(cut.peekable());
    }
    let mut w = EvtxWriter::with_first_record_id(first_id);
    loop {
        let mut best: Option<(usize, DateTime<Utc>)> = None;
        for (i, src) in sources.iter_mut().enumerate() {
            if let Some(e) = src.peek() {
                if best.is_none_or(|(_, t)| e.time < t) {
                    best = Some((i, e.time));
                }
            }
        }
        let Some((i, _)) = best else { break };
        let Some(e) = sources[i].next() else { break };
        if let Err(err) = w.push(&e) {
            panic!("scenario event {} does not encode: {err}", e.event_id);
        }
    }
    w.finish()
}

// ---------------------------------------------------------------------------------------------
// Text encodings of dsregcmd dumps and exports

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enc {
    /// cmd.exe `>` or PowerShell 7: UTF-8 without a BOM.
    Utf8,
    /// PowerShell 5.1 `Out-File -Encoding utf8`.
    Utf8Bom,
    /// PowerShell 5.1 `>` (Out-File default "Unicode").
    Utf16Bom,
    /// A legacy code page editor save.
    Cp1252,
}

fn encode(text: &str, enc: Enc) -> Vec<u8> {
    match enc {
        Enc::Utf8 => text.as_bytes().to_vec(),
        Enc::Utf8Bom => {
            let mut v = vec![0xEF, 0xBB, 0xBF];
            v.extend_from_slice(text.as_bytes());
            v
        }
        Enc::Utf16Bom => {
            let mut v = vec![0xFF, 0xFE];
            v.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            v
        }
        Enc::Cp1252 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            assert!(!unmappable, "text not representable in Windows-1252");
            bytes.into_owned()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Zip archives

/// A zip of `entries` (name, bytes, modification time) in the given order, as .NET's
/// `ZipArchive` (PAD's "Export logs", `Compress-Archive`) writes them: deflated, or stored when
/// deflating does not make the entry smaller; DOS times of the times as given (the zipping
/// machine runs on UTC); made by DOS with the archive attribute; no extra fields.
fn zip(entries: &[(String, Vec<u8>, DateTime<Utc>)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, PreparedZipFile, System};
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for (name, data, time) in entries {
        let options = SimpleFileOptions::default()
            .last_modified_time(dos_time(*time))
            .system(System::Dos)
            .external_attributes(0x20);
        let prepare = |method| {
            PreparedZipFile::from_data(name, options.compression_method(method), data)
                .unwrap_or_else(|e| panic!("zip entry {name}: {e}"))
        };
        // Entries are compressed before they are added, so one that deflating made larger can
        // still go in stored.
        let deflated = prepare(CompressionMethod::Deflated);
        let entry = if deflated.compressed_size() < deflated.uncompressed_size() {
            deflated
        } else {
            prepare(CompressionMethod::Stored)
        };
        w.add_prepared_file(entry)
            .unwrap_or_else(|e| panic!("zip entry {name}: {e}"));
    }
    w.finish()
        .unwrap_or_else(|e| panic!("zip into memory: {e}"))
        .into_inner()
}

/// The DOS date and time of `t`; scenario times lie well inside the DOS range (1980-2107).
fn dos_time(t: DateTime<Utc>) -> zip::DateTime {
    let (year, month, day) = (t.year(), t.month(), t.day());
    let (hour, minute, second) = (t.hour(), t.minute(), t.second());
    u16::try_from(year)
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                month as u8,
                day as u8,
                hour as u8,
                minute as u8,
                second as u8,
            )
            .ok()
        })
        .unwrap_or_else(|| panic!("{t} has no DOS date and time"))
}

/// Zip entries from bundle files, under `prefix` (`""` or `Logs/`).
fn entries(files: &[OutFile], prefix: &str) -> Vec<(String, Vec<u8>, DateTime<Utc>)> {
    files
        .iter()
        .map(|f| (format!("{prefix}{}", f.path), f.bytes.clone(), f.mtime))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Event Viewer XML (`wevtutil qe <log> /f:RenderedXml` redirected by PowerShell 5.1)

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn braced_upper(g: Guid) -> String {
    format!("{{{}}}", g.to_string().to_uppercase())
}

/// How the Windows event renderer prints a substitution value.
fn render_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) | Value::AnsiStr(s) | Value::Sid(s) => s.clone(),
        Value::U8(x) => x.to_string(),
        Value::U16(x) => x.to_string(),
        Value::U32(x) => x.to_string(),
        Value::U64(x) => x.to_string(),
        Value::I32(x) => x.to_string(),
        Value::HexU32(x) => format!("{x:#x}"),
        Value::HexU64(x) | Value::SizeT(x) => format!("{x:#x}"),
        Value::Bool(b) => b.to_string(),
        Value::Guid(g) => braced_upper(*g),
        Value::FileTime(t) | Value::SysTime(t) => dotnet_time(*t),
        Value::Binary(b) => b.iter().map(|x| format!("{x:02X}")).collect(),
    }
}

/// One event as `wevtutil /f:RenderedXml` prints it (single line, single-quoted attributes).
fn rendered_xml(e: &EventSpec, record_id: u64, message: &str, task: &str) -> String {
    let mut s = String::from(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
    );
    let _ = write!(s, "<Provider Name='{}'", xml_escape(&e.provider_name));
    if let Some(g) = e.provider_guid {
        let _ = write!(s, " Guid='{}'", braced_upper(g));
    }
    let level = match e.level {
        1 => "Critical",
        2 => "Error",
        3 => "Warning",
        _ => "Information",
    };
    let _ = write!(
        s,
        "/><EventID>{}</EventID><Version>{}</Version><Level>{}</Level><Task>{}</Task>\
         <Opcode>{}</Opcode><Keywords>{:#018x}</Keywords><TimeCreated SystemTime='{}'/>\
         <EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='{}' ThreadID='{}'/>\
         <Channel>{}</Channel><Computer>{}</Computer>",
        e.event_id,
        e.version,
        e.level,
        e.task,
        e.opcode,
        e.keywords,
        dotnet_time(e.time),
        record_id,
        e.process_id,
        e.thread_id,
        xml_escape(&e.channel),
        xml_escape(&e.computer),
    );
    match &e.user_sid {
        Some(sid) => {
            let _ = write!(s, "<Security UserID='{sid}'/>");
        }
        None => s.push_str("<Security/>"),
    }
    s.push_str("</System><EventData>");
    for (name, value) in &e.data {
        let _ = write!(
            s,
            "<Data Name='{}'>{}</Data>",
            xml_escape(name),
            xml_escape(&render_value(value))
        );
    }
    let _ = write!(
        s,
        "</EventData><RenderingInfo Culture='en-US'><Message>{}</Message><Level>{}</Level>\
         <Task>{}</Task><Opcode>Info</Opcode><Channel>Operational</Channel>\
         <Provider>Microsoft-Windows-AAD</Provider><Keywords><Keyword>Error</Keyword>\
         <Keyword>Error</Keyword></Keywords></RenderingInfo></Event>",
        xml_escape(message),
        level,
        xml_escape(task)
    );
    s
}

fn data_text(e: &EventSpec, name: &str) -> String {
    e.data
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| match v {
            Value::U32(x) => format!("{x:#010X}"),
            other => render_value(other),
        })
        .unwrap_or_default()
}

/// The message and task category Event Viewer shows for the AAD events the scenarios use.
fn aad_rendering(e: &EventSpec) -> (String, &'static str) {
    match e.event_id {
        1081 => (
            format!(
                "OAuth response error: {}\r\nError description: {}\r\nCorrelationID: {}\r\n",
                data_text(e, "Error"),
                data_text(e, "ErrorDescription"),
                data_text(e, "CorrelationID")
            ),
            "AadCloudAPPlugin Operation",
        ),
        1104 => (
            format!(
                "AAD Cloud AP plugin call {} returned error: {}",
                data_text(e, "API"),
                data_text(e, "Result")
            ),
            "AadCloudAPPlugin Operation",
        ),
        _ => (
            format!(
                "Error: {} {}\r\n{}",
                data_text(e, "Error"),
                data_text(e, "ErrorMessage"),
                data_text(e, "AdditionalInformation")
            ),
            "AadTokenBrokerPlugin Operation",
        ),
    }
}

/// An AAD/Operational export as `wevtutil qe Microsoft-Windows-AAD/Operational
/// /f:RenderedXml > AAD-Operational.xml` leaves it in Windows PowerShell 5.1: one event per
/// line, UTF-16LE with a BOM.
fn aad_xml_export(mut events: Vec<EventSpec>, first_id: u64) -> Vec<u8> {
    events.sort_by_key(|e| e.time);
    let mut text = String::new();
    for (i, e) in events.iter().enumerate() {
        let (message, task) = aad_rendering(e);
        text.push_str(&rendered_xml(e, first_id + i as u64, &message, task));
        text.push_str("\r\n");
    }
    encode(&text, Enc::Utf16Bom)
}

// ---------------------------------------------------------------------------------------------
// Machines, accounts and Security events

const TENANT_ID: &str = "3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18";
const DOMAIN_SID: &str = "S-1-5-21-1004336348-1177238915-682003330";
/// The local SAM's domain SID on the Entra-joined VMs (same image).
const LOCAL_SID: &str = "S-1-5-21-2841395220-3407116652-1903562211";
const UIFLOW_EXE: &str = r"C:\Program Files (x86)\Power Automate Desktop\UIFlowService.exe";
const PAD_VERSION: &str = "2.53.180.25102";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    Entra,
    Hybrid,
    Workgroup,
}

/// The machine a bundle comes from.
#[derive(Clone, Debug)]
struct Machine {
    /// `Computer` as events name it (FQDN on domain members).
    computer: String,
    join: Join,
    /// Seed of everything random about this machine.
    seed: u64,
}

impl Machine {
    fn new(computer: &str, join: Join, seed: u64) -> Self {
        Machine {
            computer: computer.into(),
            join,
            seed,
        }
    }

    /// The computer account as the subject of LSA's own logons.
    fn account(&self) -> Principal {
        let domain = if self.join == Join::Hybrid {
            "CONTOSO"
        } else {
            "WORKGROUP"
        };
        Principal::machine(&self.computer, domain)
    }
}

/// A user: the name typed in the connection, and the account as Windows knows it.
#[derive(Clone, Debug)]
struct User {
    /// As the desktop-flow connection (and PAD) names it: `jdoe@contoso.com`, `.\rpa-runner`.
    connection: String,
    /// As Security events name a logged-on session of it.
    principal: Principal,
}

impl User {
    fn entra(upn: &str) -> Self {
        let short = upn.split('@').next().unwrap_or(upn);
        User {
            connection: upn.into(),
            principal: Principal::entra(short, guid(&format!("entra-object/{upn}"))),
        }
    }

    fn ad(upn: &str, rid: u32) -> Self {
        let short = upn.split('@').next().unwrap_or(upn);
        User {
            connection: upn.into(),
            principal: Principal::new(short, "CONTOSO", &format!("{DOMAIN_SID}-{rid}")),
        }
    }

    fn local(name: &str, computer: &str, rid: u32) -> Self {
        User {
            connection: format!(r".\{name}"),
            principal: Principal::new(name, computer, &format!("{LOCAL_SID}-{rid}")),
        }
    }

    fn upn(&self) -> &str {
        &self.connection
    }
}

/// The UIFlowService virtual account, the caller of PAD's credential checks.
fn uiflow_service() -> Principal {
    Principal::new(
        "UIFlowService",
        "NT SERVICE",
        "S-1-5-80-3145243432-1446196328-2407364386-2651226474-2389164291",
    )
}

/// The target of a failed logon as Windows logs it: the name and domain as typed.
fn typed(name: &str, domain: &str) -> Principal {
    Principal::new(name, domain, "S-1-0-0")
}

/// PAD's credential check: `LogonUser` from UIFlowService (LogonType 2, `Advapi`, no network
/// address), or the RDP session it then opens on the loopback (LogonType 10, winlogon).
fn pad_logon(m: &Machine, time: DateTime<Utc>, target: Principal, logon_type: u32) -> Logon {
    let mut l = Logon::new(time, &m.computer, target, logon_type);
    if logon_type == 2 {
        l.subject = uiflow_service();
        l.subject_logon_id = 0x3_e8a1;
        l.logon_process = ev::LOGON_PROCESS_ADVAPI.into();
        l.process_id = 0x1c84;
        l.process_name = UIFLOW_EXE.into();
        l.ip_address = "-".into();
        l.ip_port = "-".into();
    } else {
        l.subject = m.account();
        l.ip_address = "127.0.0.1".into();
        l.ip_port = "0".into();
    }
    l
}

fn pad_check_failed(
    m: &Machine,
    time: DateTime<Utc>,
    target: Principal,
    logon_type: u32,
    status: u32,
    sub_status: u32,
    reason: &str,
) -> EventSpec {
    let mut l = pad_logon(m, time, target, logon_type);
    l.status = status;
    l.sub_status = sub_status;
    l.failure_reason = reason.into();
    ev::security_4625(&l)
}

/// A successful session of `user`: 4624 (+ 4672 for admins) at `time`, logoff at `end`.
fn session(
    m: &Machine,
    user: &User,
    time: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    logon_type: u32,
    ip: &str,
    admin: bool,
) -> Vec<EventSpec> {
    let mut l = Logon::new(time, &m.computer, user.principal.clone(), logon_type);
    l.subject = m.account();
    l.ip_address = ip.into();
    l.ip_port = if ip == "-" {
        "-".into()
    } else {
        "52144".into()
    };
    l.logon_guid = guid(&format!("logon/{}/{}", user.connection, time.timestamp()));
    l.elevated = admin;
    if logon_type == 2 && ip == "-" {
        l.logon_process = ev::LOGON_PROCESS_ADVAPI.into();
        l.subject = uiflow_service();
        l.process_name = UIFLOW_EXE.into();
        l.process_id = 0x1c84;
    }
    let mut out = vec![ev::security_4624(&l)];
    if admin {
        out.push(ev::security_4672(
            time,
            &m.computer,
            &user.principal,
            l.target_logon_id,
            ev::ADMIN_PRIVILEGES,
        ));
    }
    if let Some(end) = end {
        let mut off = l.clone();
        off.time = end;
        out.push(ev::security_4647(&off));
        off.time = end + secs(2);
        out.push(ev::security_4634(&off));
    }
    out
}

/// A password spray from `ip` over `minutes` starting at `start`: NTLM network logons (4776 +
/// 4625 LogonType 3) against common account names, none of them the run's user.
fn spray(m: &Machine, start: DateTime<Utc>, ip: &str, attempts: u32, seed: u64) -> Vec<EventSpec> {
    const NAMES: &[&str] = &[
        "administrator",
        "admin",
        "scanner",
        "backup",
        "test",
        "user",
        "guest",
        "support",
        "sql",
        "ftp",
        "helpdesk",
        "temp",
        "reception",
        "it",
        "office",
    ];
    let mut rng = Lcg::new(seed);
    let mut out = Vec::new();
    let mut time = start;
    for i in 0..attempts {
        time += ms(1500 + i64::from(rng.below(6000)));
        let name = NAMES[(i as usize + rng.below(3) as usize) % NAMES.len()];
        let sub = if name == "administrator" || name == "guest" {
            0xC000_006A
        } else {
            0xC000_0064
        };
        out.push(ev::security_4776(time, &m.computer, name, "KALI", sub));
        let mut l = Logon::new(time, &m.computer, typed(name, ""), 3);
        l.status = 0xC000_006D;
        l.sub_status = sub;
        l.workstation = "KALI".into();
        l.ip_address = ip.into();
        l.ip_port = (40000 + rng.below(20000)).to_string();
        out.push(ev::security_4625(&l));
    }
    out
}

/// Background Security records between `from` and `to`: the noise generator's service logons
/// and credential reads, all of them from 16 minutes before to 3 minutes after each of
/// `around` (the runs' evidence windows), and only the first half-minute of each hour elsewhere.
/// Keeps committed logs small while every run's window is as busy as a real log.
fn background(
    m: &Machine,
    from: DateTime<Utc>,
    around: &[DateTime<Utc>],
    to: DateTime<Utc>,
) -> Vec<EventSpec> {
    ev::noise(m.seed ^ from.timestamp() as u64, from, &m.computer)
        .take_while(|e| e.time < to)
        .filter(|e| {
            (e.time.minute() == 0 && e.time.second() < 30)
                || around
                    .iter()
                    .any(|c| e.time >= *c - mins(16) && e.time < *c + mins(3))
        })
        .collect()
}

/// Boot-time records at the start of a log: SYSTEM's logon and its privileges.
fn boot(m: &Machine, time: DateTime<Utc>) -> Vec<EventSpec> {
    let mut l = Logon::new(time, &m.computer, Principal::system(), 0);
    l.subject = Principal::system();
    l.subject_logon_id = ev::SYSTEM_LOGON_ID;
    l.target_logon_id = ev::SYSTEM_LOGON_ID;
    l.logon_process = "-".into();
    l.auth_package = "-".into();
    l.workstation = "-".into();
    l.process_id = 4;
    l.process_name = String::new();
    l.ip_address = "-".into();
    l.ip_port = "-".into();
    vec![
        ev::security_4624(&l),
        ev::security_4672(
            time,
            &m.computer,
            &Principal::system(),
            ev::SYSTEM_LOGON_ID,
            ev::ADMIN_PRIVILEGES,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// AAD, device registration and System logs

const LOGGED_AT: &str =
    "Logged at ClientCache.cpp, line: 296, method: ClientCache::LoadPrimaryAccount.";

/// The benign 1097 warnings a user's sign-in leaves.
fn aad_signin_noise(m: &Machine, time: DateTime<Utc>, sid: &str) -> Vec<EventSpec> {
    vec![
        ev::aad_1097(
            time,
            &m.computer,
            sid,
            0x8AA5_00DB,
            "The cache has been partitioned successfully.",
            &format!("Cache partition: {TENANT_ID}\r\n{LOGGED_AT}"),
        ),
        ev::aad_1097(
            time + ms(870),
            &m.computer,
            sid,
            0x8AA5_00E6,
            "The account has been updated.",
            "Logged at WebAccountManager.cpp, line: 1270, method: WebAccountManager::UpdateAccount.",
        ),
    ]
}

fn token_broker_failed(
    m: &Machine,
    time: DateTime<Utc>,
    sid: &str,
    error: u32,
    message: &str,
    detail: &str,
) -> EventSpec {
    ev::aad_1098(
        time,
        &m.computer,
        sid,
        error,
        message,
        &format!(
            "{detail}\r\nLogged at WebAccountProcessor.cpp, line: 663, method: \
             AAD::Core::WebAccountProcessor::ReportOperationError."
        ),
    )
}

/// UDR 360 on a joined device for a user whose sign-in WHfB will not provision (remote session).
fn whfb_skipped(m: &Machine, time: DateTime<Utc>, sid: &str, joined: bool) -> EventSpec {
    let check = if joined {
        WhfbCheck {
            device_is_joined: "Yes".into(),
            aad_prt: "Yes".into(),
            ngc_policy_enabled: "No".into(),
            post_logon_provisioning: "Yes".into(),
            hardware_policy_met: "Yes".into(),
            user_is_remote: "Yes".into(),
            logon_cert_required: "No".into(),
            machine_policy_source: "none".into(),
            use_cloud_trust: "No".into(),
            cloud_tgt: "Yes".into(),
            ..WhfbCheck::default()
        }
    } else {
        WhfbCheck {
            device_is_joined: "No".into(),
            ..WhfbCheck::default()
        }
    };
    ev::udr_360(time, &m.computer, sid, &check)
}

/// The account that signs in to a machine now and then (the admin, or the local operator).
fn regular_sid(m: &Machine) -> String {
    match m.join {
        Join::Workgroup => format!("{LOCAL_SID}-1001"),
        _ => User::entra("itadmin@contoso.com").principal.sid,
    }
}

/// AAD/Operational keeps weeks of warnings: the admin's sign-ins two and five days before
/// `before` come first, so the log spans the run like a real one.
fn aad_history(m: &Machine, before: DateTime<Utc>, mut events: Vec<EventSpec>) -> Vec<EventSpec> {
    let sid = regular_sid(m);
    for days in [5, 2] {
        let at = before - Duration::days(days) - mins(83) + secs(days * 7);
        events.extend(aad_signin_noise(m, at, &sid));
    }
    events
}

fn aad_evtx(m: &Machine, before: DateTime<Utc>, events: Vec<EventSpec>, first_id: u64) -> Vec<u8> {
    evtx(aad_history(m, before, events), first_id)
}

/// User Device Registration/Admin with the admin's WHfB checks two and five days before.
fn udr_evtx(
    m: &Machine,
    before: DateTime<Utc>,
    mut events: Vec<EventSpec>,
    first_id: u64,
) -> Vec<u8> {
    let sid = regular_sid(m);
    for days in [5, 2] {
        let at = before - Duration::days(days) - mins(83) + secs(days * 7 + 9);
        events.push(whfb_skipped(m, at, &sid, m.join != Join::Workgroup));
    }
    evtx(events, first_id)
}

/// Unrelated Service Control Manager errors a System log always has.
fn system_noise(m: &Machine, day: DateTime<Utc>) -> Vec<EventSpec> {
    vec![
        ev::scm_7000(
            day + Duration::hours(5) + mins(2),
            &m.computer,
            "Contoso Backup Agent",
            "CtsBackupAgent",
            1053,
        ),
        ev::scm_7034(
            day + Duration::hours(7) + mins(41),
            &m.computer,
            "Print Spooler",
            "Spooler",
            1,
        ),
        ev::scm_7000(
            day + Duration::hours(11) + mins(15),
            &m.computer,
            "Contoso Backup Agent",
            "CtsBackupAgent",
            1053,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// PAD JSON-lines logs

/// One line of a PAD log; field order is key order, as PAD's serialiser writes them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    event_data_schema_version: &'static str,
    schema_version: &'static str,
    agent_client_id: &'a str,
    correlation_id: &'a str,
    tenant_id: &'static str,
    component: &'static str,
    event_type: &'a str,
    trace_level: &'static str,
    operation_name: &'a str,
    event_timestamp: String,
    duration_in_milliseconds: i64,
    message: String,
    activity_id: String,
    role_info: RoleInfo,
    event_data: EventData,
}

#[derive(Serialize)]
struct RoleInfo {
    geo: &'static str,
    region: &'static str,
    environment: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    agent_version: &'static str,
    execution_info: ExecutionInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    machine_info: Option<MachineInfo>,
    /// The entry's own fields, after the common ones.
    #[serde(flatten)]
    extra: Fields,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionInfo {
    session_id: i64,
    process_name: &'static str,
    thread_id: i64,
    context_id: String,
    #[serde(rename = "is64BitProcess")]
    is_64bit_process: bool,
    process_unique_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MachineInfo {
    screen_resolution: &'static str,
    processor_count: i64,
    net_version: &'static str,
    windows_product_name: &'static str,
    #[serde(rename = "physicalMemoryMB")]
    physical_memory_mb: i64,
    #[serde(rename = "isAADJoined")]
    is_aad_joined: bool,
    is_domain_joined: bool,
    is_machine_test: bool,
    #[serde(rename = "physicalFreeMemoryMB")]
    physical_free_memory_mb: i64,
    cpu_load: i64,
    memory_load: i64,
}

/// Extra `eventData` fields in the order they were added (a map would sort them).
#[derive(Default)]
struct Fields(Vec<(&'static str, serde_json::Value)>);

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lvl {
    Verbose,
    Info,
    Warning,
    Error,
}

impl Lvl {
    fn as_str(self) -> &'static str {
        match self {
            Lvl::Verbose => "Verbose",
            Lvl::Info => "Info",
            Lvl::Warning => "Warning",
            Lvl::Error => "Error",
        }
    }
}

/// One PAD component's log file being written.
struct PadLog {
    component: &'static str,
    /// `eventData.agentVersion`.
    version: &'static str,
    process: &'static str,
    agent_client: String,
    aad_joined: bool,
    domain_joined: bool,
    product: &'static str,
    rng: Lcg,
    lines: Vec<String>,
}

/// One entry: when, how severe, what (operation, event type, message), the correlation id of
/// the operation it belongs to, and extra `eventData` fields.
struct Entry<'a> {
    time: DateTime<Utc>,
    level: Lvl,
    op: &'a str,
    event_type: &'a str,
    correlation: &'a str,
    message: String,
    data: Fields,
    machine_info: bool,
}

fn entry<'a>(
    time: DateTime<Utc>,
    level: Lvl,
    op: &'a str,
    event_type: &'a str,
    correlation: &'a str,
    message: impl Into<String>,
) -> Entry<'a> {
    Entry {
        time,
        level,
        op,
        event_type,
        correlation,
        message: message.into(),
        data: Fields::default(),
        machine_info: false,
    }
}

impl<'a> Entry<'a> {
    fn with(mut self, key: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.data.0.push((key, value.into()));
        self
    }

    fn machine(mut self) -> Self {
        self.machine_info = true;
        self
    }
}

impl PadLog {
    fn new(
        component: &'static str,
        process: &'static str,
        m: &Machine,
        version: &'static str,
    ) -> Self {
        PadLog {
            component,
            version,
            process,
            agent_client: guid_str(&format!("agent-client/{}", m.computer)),
            aad_joined: m.join != Join::Workgroup,
            domain_joined: m.join == Join::Hybrid,
            product: if m.join == Join::Workgroup {
                "Windows 11 Pro"
            } else {
                "Windows Server 2022 Datacenter"
            },
            rng: Lcg::new(m.seed ^ (component.len() as u64 * 7919)),
            lines: Vec::new(),
        }
    }

    fn push(&mut self, e: Entry<'_>) {
        let thread = 4 + self.rng.below(60) as i64;
        let execution_info = ExecutionInfo {
            session_id: 0,
            process_name: self.process,
            thread_id: thread,
            context_id: guid_str(&format!("ctx/{}", e.correlation)),
            is_64bit_process: true,
            process_unique_id: guid_str(&format!("proc/{}/{}", self.agent_client, self.process)),
        };
        // Fields in draw order: the generator's numbers depend on it.
        let machine_info = e.machine_info.then(|| MachineInfo {
            screen_resolution: "1920x1080",
            processor_count: 4,
            net_version: "4.8.1",
            windows_product_name: self.product,
            physical_memory_mb: 16384,
            is_aad_joined: self.aad_joined,
            is_domain_joined: self.domain_joined,
            is_machine_test: false,
            physical_free_memory_mb: 7000 + i64::from(self.rng.below(3000)),
            cpu_load: 3 + i64::from(self.rng.below(30)),
            memory_load: 38 + i64::from(self.rng.below(20)),
        });
        let line = Line {
            event_data_schema_version: "1.2",
            schema_version: "1.0",
            agent_client_id: &self.agent_client,
            correlation_id: e.correlation,
            tenant_id: TENANT_ID,
            component: self.component,
            event_type: e.event_type,
            trace_level: e.level.as_str(),
            operation_name: e.op,
            event_timestamp: dotnet_time(e.time),
            duration_in_milliseconds: -1,
            message: e.message,
            activity_id: guid_str(&format!(
                "activity/{}/{}/{}",
                e.correlation,
                e.op,
                e.time.timestamp_millis()
            )),
            role_info: RoleInfo {
                geo: "us",
                region: "westus2",
                environment: "prod",
            },
            event_data: EventData {
                agent_version: self.version,
                execution_info,
                machine_info,
                extra: e.data,
            },
        };
        let text = serde_json::to_string(&line)
            .unwrap_or_else(|err| panic!("PAD log line does not serialise: {err}"));
        self.lines.push(text);
    }

    /// The file: entries in time order (stable for equal times), CRLF line ends as .NET
    /// writes them on Windows.
    fn bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(l);
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}

/// The UIFlowService and agent logs of one machine, with the start-up lines both write.
struct PadLogs {
    service: PadLog,
    agent: PadLog,
    /// Correlation id of background operations (heartbeats, registration checks).
    background: String,
}

impl PadLogs {
    fn new(m: &Machine, start: DateTime<Utc>, version: &'static str) -> Self {
        let mut service = PadLog::new("UIFlowService", "UIFlowService", m, version);
        let agent_name = "Microsoft.Flow.RPA.Agent";
        let mut agent = PadLog::new(agent_name, agent_name, m, version);
        let background = guid_str(&format!("background/{}", m.computer));
        let b = background.as_str();
        service.push(
            entry(
                start,
                Lvl::Info,
                "ServiceStart",
                "UIFlowService.Lifecycle.Started",
                b,
                format!("Power Automate service started (version {version})."),
            )
            .machine(),
        );
        service.push(entry(
            start + ms(412),
            Lvl::Info,
            "LoadConfiguration",
            "UIFlowService.Configuration.Loaded",
            b,
            "Configuration loaded: UseRdsAadAuthentication=0, SessionCreationTimeoutSeconds=120, AgentPingTimeoutSeconds=30.",
        ));
        service.push(entry(
            start + ms(1630),
            Lvl::Info,
            "CheckRegistration",
            "UIFlowService.Registration.Checked",
            b,
            format!(
                "Machine is registered; machine id {}.",
                guid_str(&format!("machine/{}", m.computer))
            ),
        ));
        service.push(entry(
            start + ms(2214),
            Lvl::Info,
            "ConnectRelay",
            "UIFlowService.Relay.Connected",
            b,
            "Listening for run requests on the Azure Relay endpoint.",
        ));
        agent.push(
            entry(
                start + secs(3),
                Lvl::Info,
                "AgentStart",
                "RpaAgent.Lifecycle.Started",
                b,
                format!("Agent started, version {version}, .NET Framework 4.8.1."),
            )
            .machine(),
        );
        PadLogs {
            service,
            agent,
            background,
        }
    }

    /// Heartbeats every `every` from `from` to `to`: the routine lines around everything else.
    fn heartbeats(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, every: Duration) {
        let b = self.background.clone();
        let mut time = from;
        let mut n = 0u32;
        while time < to {
            let jitter = ms(i64::from(self.service.rng.below(900)));
            self.service.push(entry(
                time + jitter,
                Lvl::Verbose,
                "Heartbeat",
                "UIFlowService.Heartbeat.Sent",
                &b,
                "Heartbeat sent to the cloud service.",
            ));
            if n.is_multiple_of(4) {
                let cpu = 2 + self.agent.rng.below(25);
                self.agent.push(entry(
                    time + jitter + ms(1200),
                    Lvl::Verbose,
                    "PerfCounters",
                    "RpaAgent.Telemetry.PerfCounters",
                    &b,
                    format!("Performance counters collected (cpu {cpu}%)."),
                ));
            }
            n += 1;
            time += every;
        }
    }

    fn files(mut self, dir: &str, mtime: DateTime<Utc>) -> Vec<OutFile> {
        sort_lines(&mut self.service);
        sort_lines(&mut self.agent);
        vec![
            file(
                &format!("{dir}Microsoft.Flow.RPA.Agent.log"),
                self.agent.bytes(),
                mtime,
            ),
            file(
                &format!("{dir}UIFlowService.log"),
                self.service.bytes(),
                mtime,
            ),
        ]
    }
}

/// Lines are pushed per story thread; the file is in time order (the timestamp is the 10th key,
/// the same offset on every line of one component, so the text order is the time order).
fn sort_lines(log: &mut PadLog) {
    log.lines.sort_by(|a, b| line_time(a).cmp(line_time(b)));
}

fn line_time(line: &str) -> &str {
    line.split_once("\"eventTimestamp\":\"")
        .map_or("", |(_, rest)| rest.get(..28).unwrap_or(rest))
}

/// What PAD logs for one unattended run request, up to the failure or the session.
struct RunStory<'a> {
    time: DateTime<Utc>,
    flow: &'a str,
    correlation: String,
    /// The connection user, when the log names it (`None`: the log never does).
    user: Option<&'a str>,
}

impl RunStory<'_> {
    fn received(&self, logs: &mut PadLogs) {
        let c = self.correlation.as_str();
        logs.service.push(
            entry(
                self.time,
                Lvl::Info,
                "RunDesktopFlow",
                "UIFlowService.Run.Received",
                c,
                format!(
                    "Received a request to run desktop flow '{}' in unattended mode.",
                    self.flow
                ),
            )
            .with("runMode", "Unattended")
            .with("flowSessionId", guid_str(&format!("session/{c}"))),
        );
        let msg = match self.user {
            Some(u) => format!("Creating an unattended Windows session for user '{u}'."),
            None => "Creating an unattended Windows session.".to_string(),
        };
        let mut e = entry(
            self.time + ms(340),
            Lvl::Info,
            "CreateSession",
            "UIFlowService.Session.Creating",
            c,
            msg,
        );
        if let Some(u) = self.user {
            e = e.with("sessionUserName", u);
        }
        logs.service.push(e);
    }

    /// The failure lines: the logon failure with its NTSTATUS (decimal, PAD ≥ 2.24) and the
    /// run's error code, `at` after the request.
    fn failed(&self, logs: &mut PadLogs, at: Duration, code: &str, status: Option<i32>) {
        let c = self.correlation.as_str();
        let when = self.time + at;
        if let Some(st) = status {
            let msg = match self.user {
                Some(u) => format!("Logon failed for user '{u}' with status {st}."),
                None => format!("Logon failed with status {st}."),
            };
            let mut e = entry(
                when,
                Lvl::Error,
                "ValidateCredentials",
                "UIFlowService.Session.LogonFailed",
                c,
                msg,
            )
            .with("statusCode", i64::from(st));
            if let Some(u) = self.user {
                e = e.with("connectionUsername", u);
            }
            logs.service.push(e.machine());
        }
        let detail = match status {
            Some(st) => format!(" Detail: {st}."),
            None => String::new(),
        };
        let mut e = entry(
            when + ms(25),
            Lvl::Error,
            "RunDesktopFlow",
            "UIFlowService.Run.Failed",
            c,
            format!(
                "Desktop flow '{}' failed: {code}. The credentials provided with the request are invalid.{detail}",
                self.flow
            ),
        )
        .with("errorCode", code);
        if let Some(st) = status {
            e = e.with("statusCode", i64::from(st));
        }
        if let Some(u) = self.user {
            e = e.with("sessionUserName", u);
        }
        logs.service.push(e.machine());
    }

    /// A run that got its session and completed: session, agent run lines, sign-out.
    fn succeeded(&self, logs: &mut PadLogs, duration: Duration) {
        let c = self.correlation.as_str();
        let session_id = 2 + (self.time.hour() % 5) as i64;
        logs.service.push(
            entry(
                self.time + secs(6),
                Lvl::Info,
                "CreateSession",
                "UIFlowService.Session.Created",
                c,
                format!("Unattended session {session_id} created."),
            )
            .with("windowsSessionId", session_id),
        );
        logs.agent.push(entry(
            self.time + secs(14),
            Lvl::Info,
            "RunFlow",
            "RpaAgent.Run.Started",
            c,
            format!("Flow '{}' started.", self.flow),
        ));
        logs.agent.push(entry(
            self.time + duration - secs(3),
            Lvl::Info,
            "RunFlow",
            "RpaAgent.Run.Completed",
            c,
            format!("Flow '{}' completed successfully.", self.flow),
        ));
        logs.service.push(entry(
            self.time + duration,
            Lvl::Info,
            "CloseSession",
            "UIFlowService.Session.SignedOut",
            c,
            format!("Unattended session {session_id} signed out."),
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// dsregcmd /status

/// The fields of one dump that vary between scenarios; [`dsreg_text`] lays them out as
/// dsregcmd prints them.
#[derive(Clone, Debug, Default)]
struct Dsreg {
    device_name: String,
    azure_ad_joined: bool,
    domain_joined: bool,
    domain_name: &'static str,
    device_auth_status: &'static str,
    tenant_name: &'static str,
    workplace_joined: bool,
    ngc_set: bool,
    prt: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The `AcquirePrtDiagnostics` / `RefreshPrtDiagnostics` block of a failed PRT attempt.
    prt_diag: Option<PrtDiag>,
    enterprise_prt: Option<(DateTime<Utc>, &'static str)>,
    executing_account: String,
    is_user_azure_ad: bool,
    /// `Work Account 1` (registered device).
    work_account: bool,
}

#[derive(Clone, Debug)]
struct PrtDiag {
    kind: &'static str,
    time: DateTime<Utc>,
    status: &'static str,
    user: String,
    http_error: &'static str,
    http_status: u32,
    server_code: &'static str,
    description: &'static str,
}

fn dsreg_text(d: &Dsreg) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    let section = |lines: &mut Vec<String>, title: &str, kv: &[(&str, String)]| {
        let bar = format!("+{}+", "-".repeat(70));
        lines.push(bar.clone());
        lines.push(format!("| {title:<69}|"));
        lines.push(bar);
        lines.push(String::new());
        for (k, v) in kv {
            lines.push(format!("{k:>26} : {v}").trim_end().to_string());
        }
        lines.push(String::new());
    };
    let yn = |b: bool| if b { "YES" } else { "NO" }.to_string();
    let joined = d.azure_ad_joined;
    let mut state = vec![
        ("AzureAdJoined", yn(d.azure_ad_joined)),
        ("EnterpriseJoined", yn(false)),
        ("DomainJoined", yn(d.domain_joined)),
    ];
    if d.domain_joined {
        state.push(("DomainName", d.domain_name.to_string()));
    }
    state.push(("Virtual Desktop", "NOT SET".into()));
    state.push(("Device Name", d.device_name.clone()));
    section(&mut lines, "Device State", &state);
    let device_id = guid_str(&format!("device/{}", d.device_name));
    if joined {
        section(
            &mut lines,
            "Device Details",
            &[
                ("DeviceId", device_id.clone()),
                (
                    "Thumbprint",
                    format!("{:032X}", guid(&format!("thumb/{}", d.device_name)).0)[..32]
                        .to_string()
                        + "5B8E0D12",
                ),
                (
                    "DeviceCertificateValidity",
                    "[ 2024-03-11 08:42:17.000 UTC -- 2034-03-11 09:12:17.000 UTC ]".into(),
                ),
                (
                    "KeyContainerId",
                    guid_str(&format!("keycontainer/{}", d.device_name)),
                ),
                ("KeyProvider", "Microsoft Platform Crypto Provider".into()),
                ("TpmProtected", "YES".into()),
                ("DeviceAuthStatus", d.device_auth_status.to_string()),
            ],
        );
        let drs = "urn:ms-drs:enterpriseregistration.windows.net".to_string();
        section(
            &mut lines,
            "Tenant Details",
            &[
                ("TenantName", d.tenant_name.to_string()),
                ("TenantId", TENANT_ID.into()),
                (
                    "AuthCodeUrl",
                    format!("https://login.microsoftonline.com/{TENANT_ID}/oauth2/authorize"),
                ),
                (
                    "AccessTokenUrl",
                    format!("https://login.microsoftonline.com/{TENANT_ID}/oauth2/token"),
                ),
                (
                    "MdmUrl",
                    "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc".into(),
                ),
                (
                    "MdmTouUrl",
                    "https://portal.manage.microsoft.com/TermsofUse.aspx".into(),
                ),
                (
                    "MdmComplianceUrl",
                    "https://portal.manage.microsoft.com/?portalAction=Compliance".into(),
                ),
                ("SettingsUrl", String::new()),
                ("JoinSrvVersion", "2.0".into()),
                (
                    "JoinSrvUrl",
                    "https://enterpriseregistration.windows.net/EnrollmentServer/device/".into(),
                ),
                ("JoinSrvId", drs.clone()),
                ("KeySrvVersion", "1.0".into()),
                (
                    "KeySrvUrl",
                    "https://enterpriseregistration.windows.net/EnrollmentServer/key/".into(),
                ),
                ("KeySrvId", drs.clone()),
                ("WebAuthNSrvVersion", "1.0".into()),
                (
                    "WebAuthNSrvUrl",
                    format!("https://enterpriseregistration.windows.net/webauthn/{TENANT_ID}/"),
                ),
                ("WebAuthNSrvId", drs.clone()),
                ("DeviceManagementSrvVer", "1.0".into()),
                (
                    "DeviceManagementSrvUrl",
                    format!("https://enterpriseregistration.windows.net/manage/{TENANT_ID}/"),
                ),
                ("DeviceManagementSrvId", drs),
            ],
        );
    }
    let mut user = vec![
        ("NgcSet", yn(d.ngc_set)),
        ("WorkplaceJoined", yn(d.workplace_joined)),
    ];
    if d.workplace_joined {
        user.push(("WorkAccountCount", "1".into()));
    }
    user.push(("WamDefaultSet", yn(joined || d.workplace_joined)));
    if joined || d.workplace_joined {
        user.push(("WamDefaultAuthority", "organizations".into()));
        user.push(("WamDefaultId", "https://login.microsoft.com".into()));
        user.push((
            "WamDefaultGUID",
            "{B16898C6-A148-4967-9171-64D755DA8520} (AzureAd)".into(),
        ));
    }
    section(&mut lines, "User State", &user);
    let mut sso = Vec::new();
    match d.prt {
        Some((update, expiry)) => {
            sso.push(("AzureAdPrt", "YES".to_string()));
            sso.push(("AzureAdPrtUpdateTime", dsreg_time(update)));
            sso.push(("AzureAdPrtExpiryTime", dsreg_time(expiry)));
            sso.push((
                "AzureAdPrtAuthority",
                format!("https://login.microsoftonline.com/{TENANT_ID}"),
            ));
        }
        None => {
            sso.push(("AzureAdPrt", "NO".to_string()));
            if !joined {
                sso.push(("AzureAdPrtAuthority", "NO".to_string()));
            }
        }
    }
    if let Some(p) = &d.prt_diag {
        sso.push((p.kind, "PRESENT".into()));
        sso.push(("Previous Prt Attempt", dsreg_time(p.time)));
        sso.push(("Attempt Status", p.status.into()));
        sso.push(("User Identity", p.user.clone()));
        sso.push(("Credential Type", "Password".into()));
        sso.push((
            "Correlation ID",
            guid_str(&format!("prt-attempt/{}", p.time.timestamp())),
        ));
        sso.push((
            "Endpoint URI",
            format!("https://login.microsoftonline.com/{TENANT_ID}/oauth2/token/"),
        ));
        sso.push(("HTTP Method", "POST".into()));
        sso.push(("HTTP Error", p.http_error.into()));
        sso.push(("HTTP status", p.http_status.to_string()));
        sso.push(("Server Error Code", p.server_code.into()));
        sso.push(("Server Error Description", p.description.into()));
    }
    match d.enterprise_prt {
        Some((update, authority)) => {
            sso.push(("EnterprisePrt", "YES".into()));
            sso.push(("EnterprisePrtUpdateTime", dsreg_time(update)));
            sso.push((
                "EnterprisePrtExpiryTime",
                dsreg_time(update + Duration::hours(4)),
            ));
            sso.push(("EnterprisePrtAuthority", authority.into()));
        }
        None => {
            sso.push(("EnterprisePrt", "NO".into()));
            sso.push((
                "EnterprisePrtAuthority",
                if joined { String::new() } else { "NO".into() },
            ));
        }
    }
    if joined {
        sso.push(("OnPremTgt", yn(d.domain_joined)));
        sso.push(("CloudTgt", yn(d.prt.is_some())));
        sso.push((
            "KerbTopLevelNames",
            ".windows.net,.windows.net:1433,.windows.net:3342,.azure.net,.azure.net:1433,.azure.net:3342"
                .into(),
        ));
    }
    section(&mut lines, "SSO State", &sso);
    if d.work_account {
        section(
            &mut lines,
            "Work Account 1",
            &[
                (
                    "WorkplaceDeviceId",
                    guid_str(&format!("wpj/{}", d.device_name)),
                ),
                (
                    "WorkplaceThumbprint",
                    "9C41D07A2E55B3F08A61C7D2E94B0F13A6C8D527".into(),
                ),
                (
                    "DeviceCertificateValidity",
                    "[ 2025-05-20 09:58:12.000 UTC -- 2035-05-20 10:28:12.000 UTC ]".into(),
                ),
                (
                    "KeyContainerId",
                    guid_str(&format!("wpj-key/{}", d.device_name)),
                ),
                (
                    "KeyProvider",
                    "Microsoft Software Key Storage Provider".into(),
                ),
                ("TpmProtected", "NO".into()),
                ("WorkplaceTenantId", TENANT_ID.into()),
                ("WorkplaceTenantName", d.tenant_name.into()),
                (
                    "WorkplaceMdmUrl",
                    "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc".into(),
                ),
                ("WorkplaceSettingsUrl", String::new()),
                ("NgcSet", "NO".into()),
            ],
        );
    }
    if joined {
        section(
            &mut lines,
            "Diagnostic Data",
            &[
                ("AadRecoveryEnabled", "NO".into()),
                ("Executing Account Name", d.executing_account.clone()),
                ("KeySignTest", "PASSED".into()),
                ("DisplayNameUpdated", "YES".into()),
                ("OsVersionUpdated", "YES".into()),
                ("HostNameUpdated", "YES".into()),
            ],
        );
    }
    section(
        &mut lines,
        "IE Proxy Config for Current User",
        &[
            ("Auto Detect Settings", "YES".into()),
            ("Auto-Configuration URL", String::new()),
            ("Proxy Server List", String::new()),
            ("Proxy Bypass List", String::new()),
        ],
    );
    section(
        &mut lines,
        "WinHttp Default Proxy Config",
        &[("Access Type", "DIRECT".into())],
    );
    section(
        &mut lines,
        "Ngc Prerequisite Check",
        &[
            ("IsDeviceJoined", yn(joined)),
            ("IsUserAzureAD", yn(d.is_user_azure_ad)),
            ("PolicyEnabled", "NO".into()),
            ("PostLogonEnabled", "YES".into()),
            ("DeviceEligible", "YES".into()),
            ("SessionIsNotRemote", "NO".into()),
            ("CertEnrollment", "none".into()),
            ("PreReqResult", "WillNotProvision".into()),
        ],
    );
    lines.push("For more information, please visit https://www.microsoft.com/aadjerrors".into());
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    out
}

/// A healthy joined device for `executing`, PRT refreshed `age` before `at`.
fn dsreg_joined(m: &Machine, at: DateTime<Utc>, age: Duration, executing: &str) -> Dsreg {
    let update = at - age;
    Dsreg {
        device_name: m.computer.clone(),
        azure_ad_joined: true,
        domain_joined: m.join == Join::Hybrid,
        domain_name: "CONTOSO",
        device_auth_status: "SUCCESS",
        tenant_name: "Contoso Ltd",
        prt: Some((update, update + Duration::days(14))),
        executing_account: executing.into(),
        is_user_azure_ad: true,
        ..Dsreg::default()
    }
}

fn entra_executing(u: &User) -> String {
    format!("AzureAD\\{}, {}", u.principal.name, u.upn())
}

// ---------------------------------------------------------------------------------------------
// Portal run records

/// The error body the portal shows for a failed run, saved as it is displayed: indented by two,
/// CRLF line ends.
fn portal_error(code: &str, status: i32) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        error: Error<'a>,
    }
    #[derive(Serialize)]
    struct Error<'a> {
        code: &'a str,
        message: String,
    }
    let body = Body {
        error: Error {
            code,
            message: format!(
                "The credentials provided with the request are invalid. Logon failed with error {status}."
            ),
        },
    };
    let text = serde_json::to_string_pretty(&body)
        .unwrap_or_else(|e| panic!("portal error does not serialise: {e}"));
    // JSON escapes line breaks inside strings, so every \n here is the pretty printer's.
    let mut text = text.replace('\n', "\r\n");
    text.push_str("\r\n");
    text.into_bytes()
}

/// One `flowsession` row of an export.
struct SessionRow<'a> {
    started: DateTime<Utc>,
    completed: DateTime<Utc>,
    /// `None` = succeeded.
    error: Option<(&'a str, String)>,
    user: Option<&'a str>,
    correlation: String,
}

/// A Dataverse Web API answer (`GET flowsessions?$select=...`), as saved from a browser.
fn flowsessions_json(flow: &str, machine: &str, rows: &[SessionRow<'_>]) -> Vec<u8> {
    // Field order is key order, as Dataverse writes them.
    #[derive(Serialize)]
    struct Answer<'a> {
        #[serde(rename = "@odata.context")]
        context: &'static str,
        value: Vec<Session<'a>>,
    }
    #[derive(Serialize)]
    struct Session<'a> {
        #[serde(rename = "@odata.etag")]
        etag: String,
        flowsessionid: String,
        name: &'a str,
        statuscode: u32,
        #[serde(rename = "statuscode@OData.Community.Display.V1.FormattedValue")]
        statuscode_label: &'static str,
        errorcode: Option<&'a str>,
        errormessage: Option<&'a str>,
        startedon: String,
        completedon: String,
        runmode: u32,
        #[serde(rename = "runmode@OData.Community.Display.V1.FormattedValue")]
        runmode_label: &'static str,
        sessionusername: Option<&'a str>,
        correlationid: &'a str,
        #[serde(rename = "_machineid_value")]
        machineid: String,
        #[serde(rename = "_machineid_value@OData.Community.Display.V1.FormattedValue")]
        machineid_label: &'a str,
    }
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let value = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (statuscode, statuscode_label) = if r.error.is_some() {
                (8, "Failed")
            } else {
                (4, "Succeeded")
            };
            Session {
                etag: format!("W/\"{}\"", 5_110_231 + i * 146),
                flowsessionid: guid_str(&format!("flowsession/{}", r.correlation)),
                name: flow,
                statuscode,
                statuscode_label,
                errorcode: r.error.as_ref().map(|e| e.0),
                errormessage: r.error.as_ref().map(|e| e.1.as_str()),
                startedon: fmt(r.started),
                completedon: fmt(r.completed),
                runmode: 2,
                runmode_label: "Unattended",
                sessionusername: r.user,
                correlationid: &r.correlation,
                machineid: guid_str(&format!("machine/{machine}")),
                machineid_label: machine,
            }
        })
        .collect();
    let answer = Answer {
        context: "https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#flowsessions(flowsessionid,name,statuscode,errorcode,errormessage,startedon,completedon,runmode,sessionusername,correlationid,_machineid_value)",
        value,
    };
    serde_json::to_vec(&answer).unwrap_or_else(|e| panic!("flow sessions do not serialise: {e}"))
}

/// An Excel-style CSV export from the Desktop flow runs view: display-name headers, US dates in
/// the exporter's (UTC) zone, CRLF, UTF-8 with a BOM.
fn flowsessions_csv(flow: &str, machine: &str, rows: &[SessionRow<'_>]) -> Vec<u8> {
    let mut s = String::from(
        "Desktop flow session,Name,Status Reason,Error Code,Error Message,Started On,Completed On,Run Mode,Session Username,Flow Machine,Correlation Id\r\n",
    );
    let us = |t: DateTime<Utc>| t.format("%-m/%-d/%Y %-I:%M:%S %p").to_string();
    for r in rows {
        let (status, code, msg) = match &r.error {
            Some((c, m)) => (
                "Failed",
                c.to_string(),
                format!("\"{}\"", m.replace('"', "\"\"")),
            ),
            None => ("Succeeded", String::new(), String::new()),
        };
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},Unattended,{},{},{}\r\n",
            guid_str(&format!("flowsession/{}", r.correlation)),
            flow,
            status,
            code,
            msg,
            us(r.started),
            us(r.completed),
            r.user.unwrap_or(""),
            machine,
            r.correlation
        );
    }
    encode(&s, Enc::Utf8Bom)
}

// ---------------------------------------------------------------------------------------------
// Expected results

fn run(
    time: DateTime<Utc>,
    code: &str,
    cause: Option<&str>,
    verdict: Option<&str>,
    user: Option<&str>,
) -> ExpectedRun {
    ExpectedRun {
        time: rfc(time),
        error_code: code.into(),
        primary_cause: cause.map(str::to_string),
        verdict: verdict.map(str::to_string),
        user: user.map(str::to_string),
        user_basis: None,
    }
}

fn expected(name: &str, runs: Vec<ExpectedRun>, healthy: bool) -> Expected {
    Expected {
        scenario: name.into(),
        runs,
        healthy,
    }
}

fn readme(title: &str, body: &[&str]) -> String {
    let mut s = format!("# {title}\n\n");
    for line in body {
        s.push_str(line);
        s.push('\n');
    }
    s
}

const WII: &str = "WindowsIdentityIncorrect";

/// The NTSTATUS detail as PAD ≥ 2.24 logs it: the signed decimal value.
fn signed(status: u32) -> i32 {
    status as i32
}

// ---------------------------------------------------------------------------------------------
// 01: wrong password, with a password spray at other accounts in the same minutes

fn s01_credentials_mismatch() -> Scenario {
    let name = "01-credentials-mismatch";
    let fail = t("2025-03-11T14:05:12.418Z");
    let user = "jdoe@contoso.com";
    Scenario {
        name,
        title: "Wrong password in the connection; a password spray at other accounts in the same minutes",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("credentials-mismatch"), Some("confirmed"), Some(user))],
            false,
        ),
        readme: readme(
            "01 - credentials mismatch (wrong password)",
            &[
                "Entra-joined VM `RPA-VM01`, healthy PRT. The scheduled desktop flow 'Invoice intake' failed at",
                "14:05:12 UTC with WindowsIdentityIncorrect, detail -1073741715 (0xC000006D), for `jdoe@contoso.com`.",
                "Security.evtx holds, at that second, PAD's logon check for the user failing with Status 0xC000006D",
                "SubStatus 0xC000006A (user name right, password wrong). In the same minutes 203.0.113.45 sprays",
                "passwords at `administrator`, `admin`, ... over NTLM: those failures are not the run's and must",
                "not be blamed. The user signed in over RDP in the morning and again at 15:30 with the right password.",
                "",
                "Conclusion: the password stored in the desktop-flow connection is wrong (changed or mistyped):",
                "edit the connection with the current password. Confirmed by the 4625 SubStatus 0xC000006A.",
            ],
        ),
        build: Box::new(move || build_credentials_mismatch(fail, user, 0x01, false)),
    }
}

/// The credentials-mismatch bundle; `large` adds a day of dense noise and big PAD logs.
fn build_credentials_mismatch(
    fail: DateTime<Utc>,
    upn: &str,
    seed: u64,
    large: bool,
) -> Vec<OutFile> {
    let day = fail
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(fail);
    let vm = if large { "RPA-VM13" } else { "RPA-VM01" };
    let m = Machine::new(vm, Join::Entra, seed);
    let u = User::entra(upn);
    let sid = u.principal.sid.clone();
    let admin_ws = "10.20.1.15";
    let morning = day + Duration::hours(8) + mins(47) + secs(3);
    let collected = fail + mins(95);
    let log_start = if large {
        day + mins(4) + secs(31)
    } else {
        day + Duration::hours(6) + mins(12)
    };

    // Security: boot, the user's morning RDP session, background, the spray, the failure, and
    // the user's sign-in to collect the bundle.
    let mut sec = boot(&m, log_start);
    sec.extend(session(
        &m,
        &u,
        morning,
        Some(morning + Duration::hours(2) + mins(11)),
        10,
        admin_ws,
        true,
    ));
    if !large {
        sec.extend(background(&m, log_start, &[fail], collected));
    }
    sec.extend(spray(
        &m,
        fail - mins(3) - secs(20),
        "203.0.113.45",
        16,
        seed + 100,
    ));
    sec.push(pad_check_failed(
        &m,
        fail - ms(180),
        typed(upn, ""),
        2,
        0xC000_006D,
        0xC000_006A,
        "%%2313",
    ));
    let relogon = fail + mins(85);
    sec.extend(session(&m, &u, relogon, None, 10, admin_ws, true));
    let security = if large {
        evtx_streamed(sec, large_noise(&m, log_start), collected, 41_250_007)
    } else {
        evtx(sec, 1_204_117)
    };

    let mut aad = aad_signin_noise(&m, morning + secs(2), &sid);
    aad.extend(aad_signin_noise(&m, relogon + secs(2), &sid));
    let aad = aad_evtx(&m, fail, aad, 3_311);
    let udr = udr_evtx(
        &m,
        fail,
        vec![
            whfb_skipped(&m, morning + secs(9), &sid, true),
            whfb_skipped(&m, relogon + secs(9), &sid, true),
        ],
        871,
    );

    let d = dsreg_joined(&m, relogon + mins(3), mins(3), &entra_executing(&u));
    let dsreg = encode(&dsreg_text(&d), Enc::Utf8);

    let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
    let every = if large { secs(4) } else { mins(20) };
    logs.heartbeats(log_start + mins(2), collected, every);
    let story = RunStory {
        time: fail - secs(2),
        flow: "Invoice intake",
        correlation: guid_str(&format!("run/{seed}/{}", fail.timestamp())),
        user: Some(upn),
    };
    story.received(&mut logs);
    story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006D)));

    let mut files = vec![
        file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
        file(
            "Microsoft-Windows-User Device Registration%4Admin.evtx",
            udr,
            collected,
        ),
        file("Security.evtx", security, collected),
        file("dsregcmd.txt", dsreg, relogon + mins(3)),
        file(
            "error.json",
            portal_error(WII, signed(0xC000_006D)),
            fail + mins(40),
        ),
    ];
    files.extend(logs.files("PAD/", collected));
    files
}

/// Eighteen noise streams: over 100 000 Security records in a day.
fn large_noise(m: &Machine, from: DateTime<Utc>) -> Vec<ev::Noise> {
    (0..18u64)
        .map(|k| ev::noise(m.seed * 1000 + k, from + secs(k as i64 * 7), &m.computer))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 02: a local account locked out by bad attempts at the console

fn s02_account_state() -> Scenario {
    let name = "02-account-state";
    let fail = t("2025-04-08T08:00:04.227Z");
    Scenario {
        name,
        title: "Local connection account locked out (4740, then 4625 0xC0000234 at the run)",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("account-state"), Some("confirmed"), Some(r".\rpa-runner"))],
            false,
        ),
        readme: readme(
            "02 - account state (locked out)",
            &[
                "Entra-joined VM `RPA-VM02`; the desktop-flow connection uses the local account `.\\rpa-runner`.",
                "At 07:49 someone tried the account's old password ten times at the console (4625 0xC000006A), and",
                "Windows locked the account out at 07:50:31 (4740). The 08:00 scheduled run failed with",
                "WindowsIdentityIncorrect, detail -1073741260 (0xC0000234, account locked out); the Security log",
                "shows PAD's logon check failing with Status 0xC0000234 at that second. PAD's logs come as the",
                "machine runtime's Export logs zip (`PAD-Logs.zip`); dsregcmd.txt is UTF-8 with a BOM.",
                "",
                "Conclusion: the account is locked out. Unlock it (lusrmgr.msc), find who still uses the old",
                "password, and make sure the connection holds the current one. The earlier bad passwords make",
                "credentials-mismatch a secondary (likely) finding; the lockout is the confirmed cause.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM02", Join::Entra, 0x02);
            let u = User::local("rpa-runner", "RPA-VM02", 1004);
            let admin = User::entra("itadmin@contoso.com");
            let day = t("2025-04-08T00:00:00Z");
            let log_start = t("2025-04-08T05:31:09.5Z");
            let collected = fail + mins(52);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            // Ten bad console attempts, then the lockout.
            let mut at = t("2025-04-08T07:49:08.116Z");
            for i in 0..10 {
                let mut l = Logon::new(at, &m.computer, typed("rpa-runner", "RPA-VM02"), 2);
                l.status = 0xC000_006D;
                l.sub_status = 0xC000_006A;
                sec.push(ev::security_4625(&l));
                at += ms(7100 + 530 * i);
            }
            sec.push(ev::security_4740(
                at + ms(40),
                &m.computer,
                &u.principal,
                "RPA-VM02",
                &m.account(),
            ));
            sec.push(pad_check_failed(
                &m,
                fail - ms(150),
                typed("rpa-runner", "."),
                2,
                0xC000_0234,
                0,
                "%%2307",
            ));
            let admin_logon = fail + mins(38);
            sec.extend(session(&m, &admin, admin_logon, None, 10, "10.20.1.15", true));
            let security = evtx(sec, 88_401);
            let aad = aad_evtx(&m, fail, aad_signin_noise(&m, admin_logon + secs(2), &admin.principal.sid), 512);
            let udr = udr_evtx(&m, fail, vec![whfb_skipped(&m, admin_logon + secs(8), &admin.principal.sid, true)], 233);
            let system = evtx(system_noise(&m, day), 40_112);
            let d = dsreg_joined(&m, admin_logon + mins(6), mins(6), &entra_executing(&admin));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8Bom);

            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Daily reconciliation",
                correlation: guid_str("run/02"),
                user: Some(r".\rpa-runner"),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_0234)));
            let export_time = collected - mins(4);
            let pad_zip = zip(&entries(&logs.files("", export_time), "Logs/"));
            vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("PAD-Logs.zip", pad_zip, export_time),
                file("Security.evtx", security, collected),
                file("System.evtx", system, collected),
                file("dsregcmd.txt", dsreg, admin_logon + mins(6)),
                file("error.json", portal_error(WII, signed(0xC000_0234)), fail + mins(20)),
            ]
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 03: DOMAIN\user typed on an Entra-joined-only machine

fn s03_username_format() -> Scenario {
    let name = "03-username-format";
    let fail = t("2025-05-06T11:15:09.802Z");
    let typed_user = r"CONTOSO\mgarcia";
    Scenario {
        name,
        title: "CONTOSO\\user typed on an Entra-joined-only machine (0xC004844C); dsregcmd in UTF-16LE",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("username-format"), Some("confirmed"), Some(typed_user))],
            false,
        ),
        readme: readme(
            "03 - user-name format",
            &[
                "Entra-joined VM `RPA-VM03` (no AD domain). The connection's user name was typed as",
                "`CONTOSO\\mgarcia`. The 11:15 run failed with WindowsIdentityIncorrect, detail -1073445812",
                "(0xC004844C: the user name is not in the expected format); the Security log shows the logon of",
                "`CONTOSO\\mgarcia` failing as an unknown user (SubStatus 0xC0000064). dsregcmd.txt was saved by",
                "Windows PowerShell 5.1 (UTF-16LE with BOM) in mgarcia's own session: AzureAdJoined YES,",
                "DomainJoined NO, Executing Account Name `AzureAD\\mgarcia, mgarcia@contoso.com`.",
                "",
                "Conclusion: on an Entra-joined machine the connection must use `mgarcia@contoso.com`.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM03", Join::Entra, 0x03);
            let u = User::entra("mgarcia@contoso.com");
            let log_start = t("2025-05-06T07:02:44.1Z");
            let collected = fail + mins(64);
            let morning = t("2025-05-06T09:31:20.6Z");
            let mut sec = boot(&m, log_start);
            sec.extend(session(&m, &u, morning, Some(morning + mins(48)), 10, "10.20.4.31", false));
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.push(pad_check_failed(
                &m,
                fail - ms(240),
                typed("mgarcia", "CONTOSO"),
                2,
                0xC000_006D,
                0xC000_0064,
                "%%2313",
            ));
            let relogon = fail + mins(51);
            sec.extend(session(&m, &u, relogon, None, 10, "10.20.4.31", false));
            let security = evtx(sec, 310_552);
            let mut aad = aad_signin_noise(&m, morning + secs(2), &u.principal.sid);
            aad.push(ev::aad_1104(fail - ms(260), &m.computer, "S-1-5-18", "Get token", 0xC004_844C));
            aad.extend(aad_signin_noise(&m, relogon + secs(2), &u.principal.sid));
            let aad = aad_evtx(&m, fail, aad, 1_022);
            let udr = udr_evtx(&m, fail,
                vec![
                    whfb_skipped(&m, morning + secs(8), &u.principal.sid, true),
                    whfb_skipped(&m, relogon + secs(8), &u.principal.sid, true),
                ],
                410,
            );
            let d = dsreg_joined(&m, relogon + mins(4), mins(4), &entra_executing(&u));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf16Bom);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Vendor onboarding",
                correlation: guid_str("run/03"),
                user: Some(typed_user),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC004_844C)));
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, relogon + mins(4)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 04: a workgroup machine that is only registered, everything in bundle.zip

fn s04_device_not_joined() -> Scenario {
    let name = "04-device-not-joined";
    let fail = t("2025-05-20T10:12:40.066Z");
    let upn = "tnguyen@contoso.com";
    Scenario {
        name,
        title: "Workgroup machine only registered (WorkplaceJoined), failed join attempt; all in bundle.zip",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("device-not-joined"), Some("confirmed"), Some(upn))],
            false,
        ),
        readme: readme(
            "04 - device not joined",
            &[
                "Workgroup PC `RPA-BOX-07` (Windows 11 Pro). The bundle arrived as one `bundle.zip` holding the",
                "event logs, dsregcmd.txt (PowerShell 5.1, UTF-16LE) and the machine runtime's `PAD-Logs.zip`.",
                "At 10:02 an admin tried to join the PC to Entra ID and got 0x801c0003 (not allowed to join",
                "devices), then only added the work account: dsregcmd shows AzureAdJoined NO, DomainJoined NO,",
                "WorkplaceJoined YES (registered). The 10:12 run for `tnguyen@contoso.com` failed with",
                "WindowsIdentityIncorrect (-1073741715); Windows does not know that account (0xC0000064).",
                "",
                "Conclusion: the machine must be Entra joined (or hybrid joined) to run flows as an Entra",
                "account; registered is not joined. Join it (with a user allowed to join devices) and retry.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-BOX-07", Join::Workgroup, 0x04);
            let local = User::local("operator", "RPA-BOX-07", 1001);
            let log_start = t("2025-05-20T07:55:31.2Z");
            let collected = fail + mins(48);
            let console = t("2025-05-20T08:05:10.3Z");
            let mut sec = boot(&m, log_start);
            sec.extend(session(&m, &local, console, None, 2, "127.0.0.1", true));
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.push(pad_check_failed(
                &m,
                fail - ms(200),
                typed(upn, ""),
                2,
                0xC000_006D,
                0xC000_0064,
                "%%2313",
            ));
            let security = evtx(sec, 5_117);
            let join_try = t("2025-05-20T10:02:17.5Z");
            let mut aad = aad_signin_noise(&m, console + secs(3), &local.principal.sid);
            aad.push(token_broker_failed(
                &m,
                join_try + secs(4),
                &local.principal.sid,
                0xCAA2_0004,
                "Server returned an error: access_denied",
                "Operation name: JoinDevice, Error: -2145648637 (0x801c0003), Description: The user is not authorized to enroll or join devices.",
            ));
            let aad = aad_evtx(&m, fail, aad, 96);
            let udr = udr_evtx(&m, fail,
                vec![
                    whfb_skipped(&m, console + secs(9), &local.principal.sid, false),
                    ev::udr_step_failed(204, join_try + secs(5), &m.computer, 0x801C_0003),
                    whfb_skipped(&m, join_try + mins(2), &local.principal.sid, false),
                ],
                57,
            );
            let d = Dsreg {
                device_name: m.computer.clone(),
                workplace_joined: true,
                work_account: true,
                tenant_name: "Contoso Ltd",
                ..Dsreg::default()
            };
            let dsreg_at = collected - mins(6);
            let dsreg = encode(&dsreg_text(&d), Enc::Utf16Bom);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Stock levels",
                correlation: guid_str("run/04"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006D)));
            let export = collected - mins(3);
            let pad_zip = zip(&entries(&logs.files("", export), "Logs/"));
            let inner = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected - mins(1)),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected - mins(1)),
                file("PAD-Logs.zip", pad_zip, export),
                file("Security.evtx", security, collected - mins(1)),
                file("dsregcmd.txt", dsreg, dsreg_at),
            ];
            vec![file("bundle.zip", zip(&entries(&inner, "")), collected)]
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 05: no PRT for the connection account

fn s05_account_not_synced() -> Scenario {
    let name = "05-account-not-synced";
    let fail = t("2025-06-03T07:30:05.511Z");
    let upn = "rpabot@contoso.com";
    Scenario {
        name,
        title: "Entra-joined; dsregcmd run as the connection user shows AzureAdPrt NO; AAD errors at the run",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("account-not-synced"), Some("confirmed"), Some(upn))],
            false,
        ),
        readme: readme(
            "05 - account not synchronized to the device (no PRT)",
            &[
                "Entra-joined VM `RPA-VM05`. The account `rpabot@contoso.com` was moved out of the Entra Connect",
                "sync scope overnight; the VM only has a cached logon of it from the day before. The 07:30 run",
                "failed with WindowsIdentityIncorrect (-1073741715). The AAD log shows the token broker and Cloud AP",
                "failing for the account's SID at that minute (1098, 1104, 1081 AADSTS50034). dsregcmd, run as",
                "rpabot (Executing Account Name `AzureAD\\rpabot, rpabot@contoso.com`), shows AzureAdPrt : NO.",
                "Everything came in one `bundle.zip` (PAD logs in its `PAD/` folder).",
                "",
                "Conclusion: the account has no primary refresh token on this device. Check the account exists",
                "and syncs to Entra ID, sign in once interactively, then check AzureAdPrt : YES.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM05", Join::Entra, 0x05);
            let u = User::entra(upn);
            let sid = u.principal.sid.clone();
            let log_start = t("2025-06-03T04:10:12.9Z");
            let collected = fail + mins(57);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.push(pad_check_failed(
                &m,
                fail - ms(300),
                typed(upn, ""),
                2,
                0xC000_006D,
                0xC000_0064,
                "%%2313",
            ));
            // The support engineer's runas session as rpabot (cached credentials) for dsregcmd.
            let runas = fail + mins(44);
            sec.extend(session(&m, &u, runas, None, 11, "127.0.0.1", false));
            let security = evtx(sec, 612_009);
            let corr = guid_str("aad/05");
            let aad = aad_evtx(&m, fail,
                vec![
                    ev::aad_1081(
                        fail - ms(420),
                        &m.computer,
                        &sid,
                        "invalid_grant",
                        "AADSTS50034: The user account {EUII Hidden} does not exist in the 3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18 directory. To sign into this application, the account must be added to the directory. Trace ID: 7a0c5e2d-4f1b-4c3a-9e8d-2b6f1a0c3d51 Correlation ID: c2f0b7e4-9d3a-4e51-8b6c-0a7d5e3f2b19",
                        &corr,
                    ),
                    ev::aad_1104(fail - ms(390), &m.computer, &sid, "Get token", 0xC000_006D),
                    token_broker_failed(
                        &m,
                        fail - ms(350),
                        &sid,
                        0xCAA5_001C,
                        "Token broker operation failed.",
                        "Operation name: GetTokenSilently, Error: -2147023584 (0x80070520), Description: A specified logon session does not exist. It may already have been terminated.",
                    ),
                    token_broker_failed(
                        &m,
                        runas + secs(5),
                        &sid,
                        0xCAA5_001C,
                        "Token broker operation failed.",
                        "Operation name: GetTokenSilently, Error: -2147023584 (0x80070520), Description: A specified logon session does not exist. It may already have been terminated.",
                    ),
                ],
                2_045,
            );
            let udr = udr_evtx(&m, fail, vec![whfb_skipped(&m, runas + secs(9), &sid, true)], 377);
            let mut d = dsreg_joined(&m, runas + mins(2), mins(0), &entra_executing(&u));
            d.prt = None;
            let dsreg_at = runas + mins(2);
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Payroll export",
                correlation: guid_str("run/05"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006D)));
            let mut inner = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected - mins(2)),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected - mins(2)),
            ];
            inner.extend(logs.files("PAD/", collected - mins(2)));
            inner.push(file("Security.evtx", security, collected - mins(2)));
            inner.push(file("dsregcmd.txt", dsreg, dsreg_at));
            vec![file("bundle.zip", zip(&entries(&inner, "")), collected)]
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 06: a federated (AD FS) user; the AAD log as an Event Viewer XML export

fn s06_federated_user() -> Scenario {
    let name = "06-federated-user";
    let fail = t("2025-06-24T13:45:30.274Z");
    let upn = "akim@contoso.com";
    Scenario {
        name,
        title: "Hybrid-joined, AD FS user: AADSTS50126 from Entra; the AAD log as a wevtutil XML export",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("federated-user"), Some("confirmed"), Some(upn))],
            false,
        ),
        readme: readme(
            "06 - federated (AD FS) user",
            &[
                "Hybrid-joined VM `RPA-VM06.corp.contoso.com`; `contoso.com` is federated with AD FS. The 13:45",
                "run for `akim@contoso.com` failed with WindowsIdentityIncorrect (-1073741715). Windows itself",
                "accepted the password (4624 via Kerberos), but Entra ID rejected it: AAD 1081 `invalid_grant`",
                "AADSTS50126 for akim's SID. dsregcmd (run as akim) shows EnterprisePrt YES from",
                "`https://adfs.contoso.com:443/adfs`. The AAD channel came as `AAD-Operational.xml`",
                "(`wevtutil qe ... /f:RenderedXml` from PowerShell 5.1, UTF-16LE) instead of an .evtx.",
                "",
                "Conclusion: a federated user whose password Entra ID cannot validate (KB 4555623 cause 4): use",
                "certificate-based auth, or password hash sync plus an HRD policy with AllowCloudPasswordValidation.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM06.corp.contoso.com", Join::Hybrid, 0x06);
            let u = User::ad(upn, 2217);
            let sid = u.principal.sid.clone();
            let log_start = t("2025-06-24T10:40:02.4Z");
            let collected = fail + mins(66);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            // Windows accepts the AD password: PAD's LogonUser succeeds.
            sec.extend(session(&m, &u, fail - ms(900), Some(fail + secs(1)), 2, "-", false));
            let relogon = fail + mins(50);
            sec.extend(session(&m, &u, relogon, None, 10, "10.20.6.40", false));
            let security = evtx(sec, 2_877_310);
            let corr = guid_str("aad/06");
            let aad = vec![
                ev::aad_1081(
                    fail - ms(610),
                    &m.computer,
                    &sid,
                    "invalid_grant",
                    "AADSTS50126: Error validating credentials due to invalid username or password. Trace ID: 0b7e3c41-2d9a-4f68-b1c5-93e0d7a24f16 Correlation ID: 5e2a9c07-31f4-4b8d-a6e2-7c1d0f9b3a58 Timestamp: 2025-06-24 13:45:29Z",
                    &corr,
                ),
                ev::aad_1104(fail - ms(580), &m.computer, &sid, "Get token", 0xC000_006D),
            ];
            let mut aad = aad;
            aad.extend(aad_signin_noise(&m, relogon + secs(2), &sid));
            let aad_xml = aad_xml_export(aad_history(&m, fail, aad), 7_412);
            let udr = udr_evtx(&m, fail,
                vec![
                    ev::udr_335(log_start + mins(3), &m.computer),
                    whfb_skipped(&m, relogon + secs(9), &sid, true),
                ],
                1_205,
            );
            let mut d = dsreg_joined(&m, relogon + mins(5), Duration::hours(1) + mins(5), &format!("CONTOSO\\akim, {upn}"));
            d.enterprise_prt = Some((relogon + mins(1), "https://adfs.contoso.com:443/adfs"));
            d.prt_diag = Some(PrtDiag {
                kind: "RefreshPrtDiagnostics",
                time: fail - ms(640),
                status: "0xc000006d",
                user: upn.into(),
                http_error: "0x0",
                http_status: 400,
                server_code: "invalid_grant",
                description: "AADSTS50126: Error validating credentials due to invalid username or password.",
            });
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Claims intake",
                correlation: guid_str("run/06"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006D)));
            let export = collected - mins(5);
            let pad_zip = zip(&entries(&logs.files("", export), "Logs/"));
            vec![
                file("AAD-Operational.xml", aad_xml, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("PAD-Logs.zip", pad_zip, export),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, relogon + mins(5)),
            ]
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 07: a missing logon right; the PAD log never names the user

fn s07_logon_right_missing() -> Scenario {
    let name = "07-logon-right-missing";
    let fail = t("2025-07-15T09:20:11.930Z");
    let upn = "lchen@contoso.com";
    let mut exp = run(
        fail,
        WII,
        Some("logon-right-missing"),
        Some("confirmed"),
        Some(upn),
    );
    exp.user_basis = Some("inferred".into());
    Scenario {
        name,
        title: "Logon right missing (0xC000015B, RDP); the user only appears in the Security log",
        large: false,
        expected: expected(name, vec![exp], false),
        readme: readme(
            "07 - logon right missing",
            &[
                "Entra-joined VM `RPA-VM07`. A GPO change put the RPA accounts' group into \"Deny log on through",
                "Remote Desktop Services\". The 09:20 run failed with WindowsIdentityIncorrect, detail -1073741477",
                "(0xC000015B). PAD's log does not name the account and there is no flow-session export; the",
                "Security log shows PAD's credential check for `lchen@contoso.com` succeeding (LogonType 2) and",
                "the RDP session logon (LogonType 10, from 127.0.0.1) failing with 0xC000015B at that second.",
                "",
                "Conclusion: the account lacks \"Allow log on through Remote Desktop Services\" (or is denied it).",
                "Fix User Rights Assignment. The report must say the user was inferred from the 4625.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM07", Join::Entra, 0x07);
            let u = User::entra(upn);
            let admin = User::entra("itadmin@contoso.com");
            let log_start = t("2025-07-15T06:00:41.7Z");
            let collected = fail + mins(71);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.extend(session(&m, &u, fail - ms(2100), Some(fail - ms(1400)), 2, "-", false));
            let mut rdp = pad_logon(&m, fail - ms(310), typed(upn, "AzureAD"), 10);
            rdp.status = 0xC000_015B;
            rdp.sub_status = 0;
            rdp.failure_reason = "%%2308".into();
            sec.push(ev::security_4625(&rdp));
            let admin_logon = fail + mins(58);
            sec.extend(session(&m, &admin, admin_logon, None, 10, "10.20.1.15", true));
            let security = evtx(sec, 455_890);
            let aad = aad_evtx(&m, fail, aad_signin_noise(&m, admin_logon + secs(2), &admin.principal.sid), 640);
            let udr = udr_evtx(&m, fail, vec![whfb_skipped(&m, admin_logon + secs(8), &admin.principal.sid, true)], 301);
            let d = dsreg_joined(&m, admin_logon + mins(4), mins(4), &entra_executing(&admin));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(3),
                flow: "Timesheet reminders",
                correlation: guid_str("run/07"),
                user: None,
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(3), WII, Some(signed(0xC000_015B)));
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, admin_logon + mins(4)),
                file("error.json", portal_error(WII, signed(0xC000_015B)), fail + mins(30)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 08: logon hours; dsregcmd in Windows-1252

fn s08_account_restriction() -> Scenario {
    let name = "08-account-restriction";
    let fail = t("2025-08-05T22:30:03.377Z");
    let upn = "rpa-night@contoso.com";
    Scenario {
        name,
        title: "Run outside the account's logon hours (0xC000006E / 0xC000006F); dsregcmd in Windows-1252",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("account-restriction"), Some("confirmed"), Some(upn))],
            false,
        ),
        readme: readme(
            "08 - account restriction (logon hours)",
            &[
                "Hybrid-joined VM `RPA-VM08.corp.contoso.com`. The AD account `CONTOSO\\rpa-night` may only log on",
                "06:00-22:00. The night run at 22:30 failed with WindowsIdentityIncorrect, detail -1073741714",
                "(0xC000006E); the Security log shows PAD's logon check failing with Status 0xC000006E SubStatus",
                "0xC000006F (outside allowed hours). A flow-session CSV export lists the run. dsregcmd.txt was",
                "re-saved in Windows-1252 by an admin (`CONTOSO\\jürgen.köhler`; tenant `Contoso Zürich AG`).",
                "",
                "Conclusion: an account restriction (logon hours) blocks the logon: widen the account's logon",
                "hours in AD, or schedule the flow inside them.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM08.corp.contoso.com", Join::Hybrid, 0x08);
            let admin = User::ad("jürgen.köhler@contoso.com", 1311);
            let log_start = t("2025-08-05T19:14:52.0Z");
            let collected = t("2025-08-06T07:40:00Z");
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], fail + mins(40)));
            sec.push(pad_check_failed(
                &m,
                fail - ms(190),
                typed(upn, ""),
                2,
                0xC000_006E,
                0xC000_006F,
                "%%2311",
            ));
            let admin_logon = t("2025-08-06T07:22:31.4Z");
            sec.extend(session(&m, &admin, admin_logon, None, 10, "10.20.8.12", true));
            let security = evtx(sec, 1_650_233);
            let aad = aad_evtx(&m, fail, aad_signin_noise(&m, admin_logon + secs(2), &admin.principal.sid), 4_410);
            let udr = udr_evtx(&m, fail,
                vec![
                    ev::udr_335(log_start + mins(2), &m.computer),
                    whfb_skipped(&m, admin_logon + secs(9), &admin.principal.sid, true),
                ],
                918,
            );
            let mut d = dsreg_joined(&m, admin_logon + mins(9), mins(9), "CONTOSO\\jürgen.köhler, jürgen.köhler@contoso.com");
            d.tenant_name = "Contoso Zürich AG";
            let dsreg = encode(&dsreg_text(&d), Enc::Cp1252);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let corr = guid_str("run/08");
            let story = RunStory {
                time: fail - secs(2),
                flow: "Nightly ledger close",
                correlation: corr.clone(),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006E)));
            let mut rows = Vec::new();
            for (i, day) in ["2025-08-02", "2025-08-03", "2025-08-04"].iter().enumerate() {
                let start = t(&format!("{day}T21:30:01Z")) + secs(i as i64);
                rows.push(SessionRow {
                    started: start,
                    completed: start + mins(17) + secs(12),
                    error: None,
                    user: Some(upn),
                    correlation: guid_str(&format!("run/08/{day}")),
                });
            }
            rows.push(SessionRow {
                started: fail - secs(3),
                completed: fail + secs(1),
                error: Some((
                    WII,
                    "The credentials provided with the request are invalid. Logon failed with error -1073741714.".into(),
                )),
                user: Some(upn),
                correlation: corr,
            });
            let csv = flowsessions_csv("Nightly ledger close", "RPA-VM08", &rows);
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, admin_logon + mins(9)),
                file("flowsessions.csv", csv, collected - mins(30)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 09: neither the DC nor Entra ID reachable

fn s09_auth_unreachable() -> Scenario {
    let name = "09-auth-unreachable";
    let fail = t("2025-09-16T06:30:04.605Z");
    let upn = "svc-finance@contoso.com";
    Scenario {
        name,
        title: "No logon servers / Entra ID unreachable (0xC000005E, DeviceAuthStatus FAILED. ERROR)",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("auth-unreachable"), Some("confirmed"), Some(upn))],
            false,
        ),
        readme: readme(
            "09 - authority unreachable",
            &[
                "Hybrid-joined VM `RPA-VM09.corp.contoso.com`. A firewall change at 05:50 cut it off from the",
                "domain controllers and from login.microsoftonline.com. The 06:30 run failed with",
                "WindowsIdentityIncorrect, detail -1073741730 (0xC000005E, no logon servers); the Security log",
                "shows the same status for `svc-finance@contoso.com`, the AAD log shows 0xCAA82EFD (cannot",
                "connect) and 0xC000023C, and dsregcmd (UTF-16LE) says DeviceAuthStatus : FAILED. ERROR with",
                "HTTP Error 0x80072efd in the PRT diagnostics; the PRT is a day old.",
                "",
                "Conclusion: the machine cannot reach its domain or Entra ID: fix the network path (DNS, proxy,",
                "firewall), check DeviceAuthStatus : SUCCESS, and rerun.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM09.corp.contoso.com", Join::Hybrid, 0x09);
            let u = User::ad(upn, 3120);
            let sid = u.principal.sid.clone();
            let log_start = t("2025-09-16T03:11:38.8Z");
            let collected = fail + mins(83);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.push(pad_check_failed(
                &m,
                fail - ms(2400),
                typed(upn, ""),
                2,
                0xC000_005E,
                0,
                "%%2304",
            ));
            let relogon = fail + mins(71);
            sec.extend(session(&m, &u, relogon, None, 11, "127.0.0.1", false));
            let security = evtx(sec, 920_114);
            let aad = aad_evtx(&m, fail,
                vec![
                    token_broker_failed(
                        &m,
                        fail - ms(2900),
                        &sid,
                        0xCAA8_2EFD,
                        "Cannot connect to the server.",
                        "Operation name: GetTokenSilently, Error: -2147012867 (0x80072efd), Description: A connection with the server could not be established",
                    ),
                    ev::aad_1104(fail - ms(2600), &m.computer, &sid, "Get token", 0xC000_023C),
                    token_broker_failed(
                        &m,
                        relogon + secs(6),
                        &sid,
                        0xCAA8_2EFD,
                        "Cannot connect to the server.",
                        "Operation name: GetTokenSilently, Error: -2147012867 (0x80072efd), Description: A connection with the server could not be established",
                    ),
                ],
                5_530,
            );
            let udr = udr_evtx(&m, fail,
                vec![ev::udr_305(
                    t("2025-09-16T05:58:12.0Z"),
                    &m.computer,
                    0x8007_2EFD,
                    "",
                    "Managed",
                    "contoso.com",
                )],
                2_011,
            );
            let mut d = dsreg_joined(&m, relogon + mins(6), Duration::hours(26), &format!("CONTOSO\\svc-finance, {upn}"));
            d.device_auth_status = "FAILED. ERROR";
            d.prt_diag = Some(PrtDiag {
                kind: "RefreshPrtDiagnostics",
                time: relogon + secs(5),
                status: "0xc000023c",
                user: upn.into(),
                http_error: "0x80072efd",
                http_status: 0,
                server_code: "",
                description: "",
            });
            let dsreg = encode(&dsreg_text(&d), Enc::Utf16Bom);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(4),
                flow: "Bank statement import",
                correlation: guid_str("run/09"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(4), WII, Some(signed(0xC000_005E)));
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, relogon + mins(6)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 10: a healthy machine, an unrelated failure, and a spray that must not be blamed

fn s10_healthy_unrelated() -> Scenario {
    let name = "10-healthy-unrelated";
    let fail = t("2025-10-07T16:00:02Z");
    Scenario {
        name,
        title: "Healthy machine; the run failed with NoCandidateMachine; a password spray at other accounts",
        large: false,
        expected: expected(name, vec![run(fail, "NoCandidateMachine", None, None, None)], true),
        readme: readme(
            "10 - healthy machine, unrelated failure",
            &[
                "Entra-joined VM `RPA-VM10` with a fresh PRT and a clean Security log. The 16:00 run failed with",
                "NoCandidateMachine (flowsessions.csv): the machine's connection to the cloud service dropped from",
                "15:52 to 16:04 (warnings in UIFlowService.log), so no machine could take the run. At the same",
                "time 198.51.100.23 sprays passwords at `administrator`, `admin`, ... over NTLM. No desktop-flow",
                "credential failure happened.",
                "",
                "Conclusion: not a credential problem: padtriage's causes do not apply and none may be confirmed.",
                "Look at the machine's connectivity to the Power Automate service; block the spraying host.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM10", Join::Entra, 0x10);
            let u = User::entra("opsbot@contoso.com");
            let log_start = t("2025-10-07T12:30:14.1Z");
            let collected = fail + mins(62);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.extend(spray(&m, fail - mins(5), "198.51.100.23", 18, 0x1010));
            // The 15:00 run succeeded.
            let earlier = t("2025-10-07T15:00:03.2Z");
            sec.extend(session(&m, &u, earlier, None, 2, "-", false));
            sec.extend(session(&m, &u, earlier + secs(5), Some(earlier + mins(6)), 10, "127.0.0.1", false));
            let relogon = fail + mins(47);
            sec.extend(session(&m, &u, relogon, None, 10, "10.20.1.15", false));
            let security = evtx(sec, 77_015);
            let mut aad = aad_signin_noise(&m, earlier + secs(7), &u.principal.sid);
            aad.extend(aad_signin_noise(&m, relogon + secs(2), &u.principal.sid));
            let aad = aad_evtx(&m, fail, aad, 150);
            let udr = udr_evtx(&m, fail, vec![whfb_skipped(&m, relogon + secs(9), &u.principal.sid, true)], 92);
            let d = dsreg_joined(&m, relogon + mins(3), mins(3), &entra_executing(&u));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), fail - mins(8), mins(20));
            logs.heartbeats(fail + mins(4) + secs(20), collected, mins(20));
            let ok = RunStory {
                time: earlier - secs(1),
                flow: "Inventory sync",
                correlation: guid_str("run/10/1500"),
                user: Some(u.upn()),
            };
            ok.received(&mut logs);
            ok.succeeded(&mut logs, mins(6));
            let b = logs.background.clone();
            let lost = fail - mins(8) + secs(11);
            logs.service.push(entry(
                lost,
                Lvl::Warning,
                "ConnectRelay",
                "UIFlowService.Relay.Disconnected",
                &b,
                "Connection to the Azure Relay endpoint was lost: The remote name could not be resolved: 'prod-westus2-rpa.servicebus.windows.net'. Reconnecting.",
            ));
            let mut at = lost + secs(30);
            while at < fail + mins(4) {
                logs.service.push(entry(
                    at,
                    Lvl::Warning,
                    "ConnectRelay",
                    "UIFlowService.Relay.ReconnectFailed",
                    &b,
                    "Reconnect to the Azure Relay endpoint failed (System.Net.WebSockets.WebSocketException (0x80004005)); retrying in 60 seconds.",
                ));
                at += secs(60);
            }
            logs.service.push(entry(
                fail + mins(4) + secs(12),
                Lvl::Info,
                "ConnectRelay",
                "UIFlowService.Relay.Connected",
                &b,
                "Listening for run requests on the Azure Relay endpoint.",
            ));
            let rows = vec![
                SessionRow {
                    started: earlier - secs(3),
                    completed: earlier + mins(6) + secs(2),
                    error: None,
                    user: Some(u.upn()),
                    correlation: guid_str("run/10/1500"),
                },
                SessionRow {
                    started: fail - mins(10),
                    completed: fail,
                    error: Some((
                        "NoCandidateMachine",
                        "There is no machine available to run this desktop flow: no machine in the group is connected.".into(),
                    )),
                    user: None,
                    correlation: guid_str("run/10/1600"),
                },
            ];
            let csv = flowsessions_csv("Inventory sync", "RPA-VM10", &rows);
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, relogon + mins(3)),
                file("flowsessions.csv", csv, collected - mins(10)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 11: a PAD log and nothing else

fn s11_missing_evidence() -> Scenario {
    let name = "11-missing-evidence";
    let fail = t("2025-11-04T12:00:06.140Z");
    let upn = "opatel@contoso.com";
    Scenario {
        name,
        title: "Only a PAD log with WindowsIdentityIncorrect (no detail): every cause unknown",
        large: false,
        expected: expected(name, vec![run(fail, WII, None, None, Some(upn))], false),
        readme: readme(
            "11 - missing evidence",
            &[
                "The customer sent only `UIFlowService.log` from an older PAD (2.23, before detail codes). The",
                "12:00 run for `opatel@contoso.com` failed with WindowsIdentityIncorrect, with no NTSTATUS detail.",
                "There is no event log, no dsregcmd output and no run record.",
                "",
                "Conclusion: nothing decides between the causes: every cause is unknown and padtriage must say",
                "what to collect (Security.evtx, AAD/Operational, dsregcmd /status as the connection user, the",
                "full PAD logs) rather than guess.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM11", Join::Entra, 0x11);
            let start = t("2025-11-04T09:14:20.3Z");
            let mut logs = PadLogs::new(&m, start, "2.23.114.22111");
            logs.heartbeats(start + mins(1), fail + mins(35), mins(20));
            let story = RunStory {
                time: fail - secs(1),
                flow: "Customer follow-up",
                correlation: guid_str("run/11"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(1), WII, None);
            let mut files = logs.files("", fail + mins(36));
            files.retain(|f| f.path == "UIFlowService.log");
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 12: one day, two failures with two causes, successes in between

fn s12_multi_run_day() -> Scenario {
    let name = "12-multi-run-day";
    let first = t("2025-12-02T09:00:05.310Z");
    let second = t("2025-12-02T15:00:06.044Z");
    let upn = "svc-rpa@contoso.com";
    Scenario {
        name,
        title: "An hourly flow fails at 09:00 (logon right) and 15:00 (password changed), succeeds in between",
        large: false,
        expected: expected(
            name,
            vec![
                run(first, WII, Some("logon-right-missing"), Some("confirmed"), Some(upn)),
                run(second, WII, Some("credentials-mismatch"), Some("confirmed"), Some(upn)),
            ],
            false,
        ),
        readme: readme(
            "12 - two failures, two causes, one day",
            &[
                "Entra-joined VM `RPA-VM12`; 'Order intake' runs hourly as `svc-rpa@contoso.com`. At 09:00 it",
                "failed with detail -1073741477: an overnight GPO had denied the account RDP logon (4625",
                "0xC000015B, LogonType 10). IT fixed the policy at 09:40; the 10:00-14:00 runs succeeded. At",
                "14:20 the account's password was rotated but the connection was not updated: the 15:00 run",
                "failed with -1073741715 and a 4625 0xC000006D / 0xC000006A. `flowsessions.json` (a Dataverse",
                "Web API export) lists all seven runs; PAD's logs come as `PAD-Logs.zip`.",
                "",
                "Conclusion: two different causes on one day: the 09:00 run lacked the RDP logon right, the",
                "15:00 run used the old password. Each run must get its own cause.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM12", Join::Entra, 0x12);
            let u = User::entra(upn);
            let sid = u.principal.sid.clone();
            let log_start = t("2025-12-02T06:40:10.0Z");
            let collected = second + mins(58);
            let mut sec = boot(&m, log_start);
            // Busy around both failures, bursts in between.
            sec.extend(background(&m, log_start, &[first, second], collected));
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let mut rows = Vec::new();
            let mut aad = Vec::new();
            for hour in 9..=15u32 {
                let time = t(&format!("2025-12-02T{hour:02}:00:03Z"));
                let corr = guid_str(&format!("run/12/{hour}"));
                let story = RunStory {
                    time,
                    flow: "Order intake",
                    correlation: corr.clone(),
                    user: Some(upn),
                };
                story.received(&mut logs);
                match hour {
                    9 => {
                        sec.extend(session(&m, &u, first - ms(1800), Some(first - ms(1200)), 2, "-", false));
                        let mut rdp = pad_logon(&m, first - ms(300), typed(upn, "AzureAD"), 10);
                        rdp.status = 0xC000_015B;
                        rdp.failure_reason = "%%2308".into();
                        sec.push(ev::security_4625(&rdp));
                        story.failed(&mut logs, first - time, WII, Some(signed(0xC000_015B)));
                        rows.push(SessionRow {
                            started: time - secs(2),
                            completed: first + secs(2),
                            error: Some((WII, "The credentials provided with the request are invalid. Logon failed with error -1073741477.".into())),
                            user: Some(upn),
                            correlation: corr,
                        });
                    }
                    15 => {
                        sec.push(pad_check_failed(
                            &m,
                            second - ms(220),
                            typed(upn, ""),
                            2,
                            0xC000_006D,
                            0xC000_006A,
                            "%%2313",
                        ));
                        story.failed(&mut logs, second - time, WII, Some(signed(0xC000_006D)));
                        rows.push(SessionRow {
                            started: time - secs(2),
                            completed: second + secs(2),
                            error: Some((WII, "The credentials provided with the request are invalid. Logon failed with error -1073741715.".into())),
                            user: Some(upn),
                            correlation: corr,
                        });
                    }
                    _ => {
                        let run_len = mins(4) + secs(i64::from(hour) * 7);
                        sec.extend(session(&m, &u, time + secs(3), None, 2, "-", false));
                        sec.extend(session(&m, &u, time + secs(5), Some(time + run_len), 10, "127.0.0.1", false));
                        aad.extend(aad_signin_noise(&m, time + secs(7), &sid));
                        story.succeeded(&mut logs, run_len);
                        rows.push(SessionRow {
                            started: time - secs(2),
                            completed: time + run_len + secs(2),
                            error: None,
                            user: Some(upn),
                            correlation: corr,
                        });
                    }
                }
            }
            // IT's admin fixes the policy at 09:40.
            let admin = User::entra("itadmin@contoso.com");
            let fix = t("2025-12-02T09:38:12.5Z");
            sec.extend(session(&m, &admin, fix, Some(fix + mins(9)), 10, "10.20.1.15", true));
            let security = evtx(sec, 3_004_561);
            aad.extend(aad_signin_noise(&m, fix + secs(2), &admin.principal.sid));
            let aad = aad_evtx(&m, first, aad, 12_880);
            let d = dsreg_joined(&m, collected - mins(12), Duration::hours(2), &entra_executing(&admin));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let sessions = flowsessions_json("Order intake", "RPA-VM12", &rows);
            let export = collected - mins(7);
            let pad_zip = zip(&entries(&logs.files("", export), "Logs/"));
            vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("PAD-Logs.zip", pad_zip, export),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, collected - mins(12)),
                file("flowsessions.json", sessions, collected - mins(20)),
            ]
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 13: the credentials mismatch inside a day of dense noise (generated on demand)

fn s13_large_noisy() -> Scenario {
    let name = "13-large-noisy";
    let fail = t("2025-02-18T13:37:21.506Z");
    let user = "bwilson@contoso.com";
    Scenario {
        name,
        title: "A wrong password hidden in ~100 000 Security records and big PAD logs",
        large: true,
        expected: expected(
            name,
            vec![run(fail, WII, Some("credentials-mismatch"), Some("confirmed"), Some(user))],
            false,
        ),
        readme: readme(
            "13 - large and noisy",
            &[
                "Scenario 01 at scale: Entra-joined VM `RPA-VM13`, a whole day of Security records (about 100 000",
                "service logons, privilege assignments and credential reads), PAD logs with a heartbeat every",
                "few seconds, a password spray from 203.0.113.45. The 13:37 run for `bwilson@contoso.com` failed",
                "with -1073741715 and a 4625 0xC000006D / 0xC000006A at that second.",
                "",
                "Conclusion: as in 01, credentials mismatch, confirmed. Generated on demand (not committed).",
            ],
        ),
        build: Box::new(move || build_credentials_mismatch(fail, user, 0x13, true)),
    }
}
