//! Builders for the events padtriage reads, as [`EventSpec`]s with the provider names and GUIDs,
//! `System` values, and `EventData` field names, order and types that Windows writes, plus a
//! seeded generator of unrelated "noise" records for large samples and benches.
//!
//! Sources: Security fields and types as found in real Security logs (4624 v0 layout, 4625,
//! 4634, 4647, 4648, 4672, 4776) and Microsoft's event documentation (4624 v2 additions, 4740,
//! 5379); AAD and User Device Registration fields per `evidence-formats.md` §2-§3; Service
//! Control Manager as found in a real System log (classic provider, `param1…`, `<Binary>`).
//!
//! Choices where Windows' exact form is not documented (kept tolerant in parsers):
//! - User Device Registration `ExitCode` is written as **HexInt32** (renders `"0x801c001d"`),
//!   as the sibling Workplace Join provider declares it; 304/305 field names are
//!   `ExitCode, ServerErrorMessage, TenantType, RegistrationType, DebugOutput` /
//!   `ExitCode, ServerErrorMessage, TenantType, TenantName`; 334/335 carry no EventData.
//! - AAD keywords are `0x4000000000000001` (Operational channel bit + an Error keyword).
//!
//! Security events are built here; AAD and User Device Registration in `entra`, Service Control
//! Manager in `system`, the noise generator in `noise`, all re-exported from this module.

mod entra;
mod noise;
mod system;

pub use entra::*;
pub use noise::*;
pub use system::*;

use crate::evtx_writer::{EventSpec, Guid, Value};
use chrono::{DateTime, Duration, Utc};

pub const SECURITY_PROVIDER: &str = "Microsoft-Windows-Security-Auditing";
pub const SECURITY_GUID: Guid = Guid::from_u128(0x54849625_5478_4994_a5ba_3e3b0328c30d);
pub const SECURITY_CHANNEL: &str = "Security";
pub const AAD_PROVIDER: &str = "Microsoft-Windows-AAD";
pub const AAD_GUID: Guid = Guid::from_u128(0x4de9bc9c_b27a_43c9_8994_0915f1a5e24f);
pub const AAD_CHANNEL: &str = "Microsoft-Windows-AAD/Operational";
pub const UDR_PROVIDER: &str = "Microsoft-Windows-User Device Registration";
pub const UDR_GUID: Guid = Guid::from_u128(0x23b8d46b_67dd_40a3_b636_d43e50552c6d);
pub const UDR_CHANNEL: &str = "Microsoft-Windows-User Device Registration/Admin";
pub const SCM_PROVIDER: &str = "Service Control Manager";
pub const SCM_GUID: Guid = Guid::from_u128(0x555908d1_a6d7_4695_8e1e_26931d2012f4);
pub const SYSTEM_CHANNEL: &str = "System";

pub const KEYWORDS_AUDIT_SUCCESS: u64 = 0x8020_0000_0000_0000;
pub const KEYWORDS_AUDIT_FAILURE: u64 = 0x8010_0000_0000_0000;
/// Classic events in the System log.
pub const KEYWORDS_CLASSIC_SYSTEM: u64 = 0x8080_0000_0000_0000;
pub const KEYWORDS_UDR_ADMIN: u64 = 0x8000_0000_0000_0000;
pub const KEYWORDS_AAD_OPERATIONAL: u64 = 0x4000_0000_0000_0001;

/// `EventID/@Qualifiers` of classic error events (severity bits 0b11).
pub const QUALIFIERS_ERROR: u16 = 0xc000;

pub const LEVEL_ERROR: u8 = 2;
pub const LEVEL_WARNING: u8 = 3;
pub const LEVEL_INFO: u8 = 4;

/// Security task categories.
pub const TASK_LOGON: u16 = 12544;
pub const TASK_LOGOFF: u16 = 12545;
pub const TASK_SPECIAL_LOGON: u16 = 12548;
pub const TASK_USER_ACCOUNT_MANAGEMENT: u16 = 13824;
pub const TASK_CREDENTIAL_VALIDATION: u16 = 14336;
/// AAD task categories.
pub const TASK_AAD_CLOUDAP: u16 = 101;
pub const TASK_AAD_TOKEN_BROKER: u16 = 103;

/// Process ids the builders put in `Execution/@ProcessID`.
pub const LSASS_PID: u32 = 796;
pub const SERVICES_PID: u32 = 684;
pub const TOKEN_BROKER_PID: u32 = 6120;
pub const DEVICE_JOIN_PID: u32 = 5012;

/// `LogonProcessName` values, with the trailing spaces Windows writes.
pub const LOGON_PROCESS_USER32: &str = "User32 ";
pub const LOGON_PROCESS_ADVAPI: &str = "Advapi  ";
pub const LOGON_PROCESS_NTLMSSP: &str = "NtLmSsp ";

/// The SYSTEM logon session.
pub const SYSTEM_LOGON_ID: u64 = 0x3e7;

/// An account as Security events name it: `*UserName`, `*DomainName`, `*UserSid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub domain: String,
    pub sid: String,
}

impl Principal {
    pub fn new(name: &str, domain: &str, sid: &str) -> Self {
        Principal {
            name: name.into(),
            domain: domain.into(),
            sid: sid.into(),
        }
    }

    /// `NT AUTHORITY\SYSTEM`.
    pub fn system() -> Self {
        Self::new("SYSTEM", "NT AUTHORITY", "S-1-5-18")
    }

    /// The computer account (`PC1$`), subject of logons that LSA performs for the machine.
    pub fn machine(computer: &str, domain: &str) -> Self {
        let short = computer
            .split('.')
            .next()
            .unwrap_or(computer)
            .to_uppercase();
        Self::new(&format!("{short}$"), domain, "S-1-5-18")
    }

    /// No account: `-`, `-`, the null SID (subject of network logons, target of failures).
    pub fn nobody() -> Self {
        Self::new("-", "-", "S-1-0-0")
    }

    /// An Entra ID user as Windows shows it locally: domain `AzureAD` and the `S-1-12-1-…` SID
    /// of the user's object id.
    pub fn entra(short_name: &str, object_id: Guid) -> Self {
        Self::new(short_name, "AzureAD", &entra_sid(object_id))
    }
}

/// The local SID of an Entra object: its id's 16 bytes (as Windows stores a GUID) read as four
/// little-endian u32s after `S-1-12-1`.
pub fn entra_sid(object_id: Guid) -> String {
    let b = object_id.to_bytes_le();
    let part = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    format!("S-1-12-1-{}-{}-{}-{}", part(0), part(4), part(8), part(12))
}

/// The fields of a logon, shared by 4624, 4625, 4634, 4647 and 4648.
#[derive(Clone, Debug)]
pub struct Logon {
    pub time: DateTime<Utc>,
    pub computer: String,
    pub subject: Principal,
    pub subject_logon_id: u64,
    pub target: Principal,
    pub target_logon_id: u64,
    pub logon_type: u32,
    /// With Windows' trailing spaces (see the `LOGON_PROCESS_*` constants).
    pub logon_process: String,
    pub auth_package: String,
    pub workstation: String,
    pub logon_guid: Guid,
    pub process_id: u64,
    pub process_name: String,
    pub ip_address: String,
    pub ip_port: String,
    /// 4625 `Status`, `SubStatus`, `FailureReason` (`%%2313` …).
    pub status: u32,
    pub sub_status: u32,
    pub failure_reason: String,
    /// 4648 `TargetServerName` and `TargetInfo`.
    pub target_server: String,
    pub target_info: String,
    /// 4624 v2 `ElevatedToken`.
    pub elevated: bool,
    pub thread_id: u32,
}

impl Logon {
    /// A logon of `target` with the defaults Windows shows for that logon type: interactive
    /// and RDP logons by winlogon (`User32`, Negotiate), network logons by NTLM, service and
    /// batch logons by services.exe (`Advapi`). The subject is the computer account.
    pub fn new(time: DateTime<Utc>, computer: &str, target: Principal, logon_type: u32) -> Self {
        let short = computer
            .split('.')
            .next()
            .unwrap_or(computer)
            .to_uppercase();
        let (process, package, pid, name, ip) = match logon_type {
            3 => (LOGON_PROCESS_NTLMSSP, "NTLM", 0, "-", "-"),
            4 | 5 => (
                LOGON_PROCESS_ADVAPI,
                "Negotiate",
                u64::from(SERVICES_PID),
                r"C:\Windows\System32\services.exe",
                "-",
            ),
            8 => (
                LOGON_PROCESS_ADVAPI,
                "Negotiate",
                0x1a2c,
                r"C:\Windows\System32\inetsrv\w3wp.exe",
                "-",
            ),
            _ => (
                LOGON_PROCESS_USER32,
                "Negotiate",
                0x2d4,
                r"C:\Windows\System32\winlogon.exe",
                "127.0.0.1",
            ),
        };
        let subject = if logon_type == 3 {
            Principal::nobody()
        } else {
            Principal::machine(computer, "WORKGROUP")
        };
        Logon {
            time,
            computer: computer.into(),
            subject_logon_id: if logon_type == 3 { 0 } else { SYSTEM_LOGON_ID },
            subject,
            target,
            target_logon_id: 0x5_2f3a1 + (time.timestamp() as u64 & 0xffff),
            logon_type,
            logon_process: process.into(),
            auth_package: package.into(),
            workstation: if logon_type == 3 { "-".into() } else { short },
            logon_guid: Guid::NIL,
            process_id: pid,
            process_name: name.into(),
            ip_address: ip.into(),
            ip_port: if ip == "-" { "-".into() } else { "0".into() },
            status: 0,
            sub_status: 0,
            failure_reason: String::new(),
            target_server: "localhost".into(),
            target_info: "localhost".into(),
            elevated: false,
            thread_id: 1204,
        }
    }
}

fn s(text: &str) -> Value {
    Value::Str(text.into())
}

fn field(name: &str, value: Value) -> (String, Value) {
    (name.into(), value)
}

/// When, where and on which thread an event was logged.
struct At<'a> {
    time: DateTime<Utc>,
    computer: &'a str,
    thread_id: u32,
}

fn at(time: DateTime<Utc>, computer: &str, thread_id: u32) -> At<'_> {
    At {
        time,
        computer,
        thread_id,
    }
}

/// A Security event's `System` part (Level 0, Opcode 0, `Security` without a UserID).
fn security(
    event_id: u16,
    version: u8,
    task: u16,
    keywords: u64,
    at: At<'_>,
    data: Vec<(String, Value)>,
) -> EventSpec {
    let At {
        time,
        computer,
        thread_id,
    } = at;
    EventSpec {
        provider_name: SECURITY_PROVIDER.into(),
        provider_guid: Some(SECURITY_GUID),
        event_id,
        version,
        level: 0,
        task,
        opcode: 0,
        keywords,
        time,
        process_id: LSASS_PID,
        thread_id,
        channel: SECURITY_CHANNEL.into(),
        computer: computer.into(),
        data,
        ..Default::default()
    }
}

fn subject_fields(p: &Principal, logon_id: u64) -> Vec<(String, Value)> {
    vec![
        field("SubjectUserSid", Value::Sid(p.sid.clone())),
        field("SubjectUserName", s(&p.name)),
        field("SubjectDomainName", s(&p.domain)),
        field("SubjectLogonId", Value::HexU64(logon_id)),
    ]
}

/// 4624 (version 2) "An account was successfully logged on".
pub fn security_4624(l: &Logon) -> EventSpec {
    let mut data = subject_fields(&l.subject, l.subject_logon_id);
    let yes_no = |b: bool| s(if b { "%%1842" } else { "%%1843" });
    data.extend([
        field("TargetUserSid", Value::Sid(l.target.sid.clone())),
        field("TargetUserName", s(&l.target.name)),
        field("TargetDomainName", s(&l.target.domain)),
        field("TargetLogonId", Value::HexU64(l.target_logon_id)),
        field("LogonType", Value::U32(l.logon_type)),
        field("LogonProcessName", s(&l.logon_process)),
        field("AuthenticationPackageName", s(&l.auth_package)),
        field("WorkstationName", s(&l.workstation)),
        field("LogonGuid", Value::Guid(l.logon_guid)),
        field("TransmittedServices", s("-")),
        field("LmPackageName", s("-")),
        field("KeyLength", Value::U32(0)),
        field("ProcessId", Value::SizeT(l.process_id)),
        field("ProcessName", s(&l.process_name)),
        field("IpAddress", s(&l.ip_address)),
        field("IpPort", s(&l.ip_port)),
        field("ImpersonationLevel", s("%%1833")),
        field("RestrictedAdminMode", s("-")),
        field("TargetOutboundUserName", s("-")),
        field("TargetOutboundDomainName", s("-")),
        field("VirtualAccount", s("%%1843")),
        field("TargetLinkedLogonId", Value::HexU64(0)),
        field("ElevatedToken", yes_no(l.elevated)),
    ]);
    security(
        4624,
        2,
        TASK_LOGON,
        KEYWORDS_AUDIT_SUCCESS,
        at(l.time, &l.computer, l.thread_id),
        data,
    )
}

/// 4625 (version 0) "An account failed to log on". Uses `status`, `sub_status` and
/// `failure_reason` (default `%%2313`); the target SID is the null SID, as Windows writes it.
pub fn security_4625(l: &Logon) -> EventSpec {
    let mut data = subject_fields(&l.subject, l.subject_logon_id);
    let reason = if l.failure_reason.is_empty() {
        "%%2313"
    } else {
        &l.failure_reason
    };
    data.extend([
        field("TargetUserSid", Value::Sid("S-1-0-0".into())),
        field("TargetUserName", s(&l.target.name)),
        field("TargetDomainName", s(&l.target.domain)),
        field("Status", Value::HexU32(l.status)),
        field("FailureReason", s(reason)),
        field("SubStatus", Value::HexU32(l.sub_status)),
        field("LogonType", Value::U32(l.logon_type)),
        field("LogonProcessName", s(&l.logon_process)),
        field("AuthenticationPackageName", s(&l.auth_package)),
        field("WorkstationName", s(&l.workstation)),
        field("TransmittedServices", s("-")),
        field("LmPackageName", s("-")),
        field("KeyLength", Value::U32(0)),
        field("ProcessId", Value::SizeT(l.process_id)),
        field("ProcessName", s(&l.process_name)),
        field("IpAddress", s(&l.ip_address)),
        field("IpPort", s(&l.ip_port)),
    ]);
    security(
        4625,
        0,
        TASK_LOGON,
        KEYWORDS_AUDIT_FAILURE,
        at(l.time, &l.computer, l.thread_id),
        data,
    )
}

/// 4648 "A logon was attempted using explicit credentials" (subject used target's
/// credentials against `target_server`).
pub fn security_4648(l: &Logon) -> EventSpec {
    let mut data = subject_fields(&l.subject, l.subject_logon_id);
    data.extend([
        field("LogonGuid", Value::Guid(Guid::NIL)),
        field("TargetUserName", s(&l.target.name)),
        field("TargetDomainName", s(&l.target.domain)),
        field("TargetLogonGuid", Value::Guid(l.logon_guid)),
        field("TargetServerName", s(&l.target_server)),
        field("TargetInfo", s(&l.target_info)),
        field("ProcessId", Value::SizeT(l.process_id)),
        field("ProcessName", s(&l.process_name)),
        field("IpAddress", s(&l.ip_address)),
        field("IpPort", s(&l.ip_port)),
    ]);
    security(
        4648,
        0,
        TASK_LOGON,
        KEYWORDS_AUDIT_SUCCESS,
        at(l.time, &l.computer, l.thread_id),
        data,
    )
}

/// 4634 "An account was logged off".
pub fn security_4634(l: &Logon) -> EventSpec {
    let data = vec![
        field("TargetUserSid", Value::Sid(l.target.sid.clone())),
        field("TargetUserName", s(&l.target.name)),
        field("TargetDomainName", s(&l.target.domain)),
        field("TargetLogonId", Value::HexU64(l.target_logon_id)),
        field("LogonType", Value::U32(l.logon_type)),
    ];
    security(
        4634,
        0,
        TASK_LOGOFF,
        KEYWORDS_AUDIT_SUCCESS,
        at(l.time, &l.computer, l.thread_id),
        data,
    )
}

/// 4647 "User initiated logoff".
pub fn security_4647(l: &Logon) -> EventSpec {
    let data = vec![
        field("TargetUserSid", Value::Sid(l.target.sid.clone())),
        field("TargetUserName", s(&l.target.name)),
        field("TargetDomainName", s(&l.target.domain)),
        field("TargetLogonId", Value::HexU64(l.target_logon_id)),
    ];
    security(
        4647,
        0,
        TASK_LOGOFF,
        KEYWORDS_AUDIT_SUCCESS,
        at(l.time, &l.computer, l.thread_id),
        data,
    )
}

/// The privileges Windows lists in 4672 for SYSTEM and administrators.
pub const ADMIN_PRIVILEGES: &[&str] = &[
    "SeAssignPrimaryTokenPrivilege",
    "SeTcbPrivilege",
    "SeSecurityPrivilege",
    "SeTakeOwnershipPrivilege",
    "SeLoadDriverPrivilege",
    "SeBackupPrivilege",
    "SeRestorePrivilege",
    "SeDebugPrivilege",
    "SeAuditPrivilege",
    "SeSystemEnvironmentPrivilege",
    "SeImpersonatePrivilege",
    "SeDelegateSessionUserImpersonatePrivilege",
];

/// 4672 "Special privileges assigned to new logon"; `PrivilegeList` is joined with
/// `"\r\n\t\t\t"` as Windows writes it.
pub fn security_4672(
    time: DateTime<Utc>,
    computer: &str,
    subject: &Principal,
    logon_id: u64,
    privileges: &[&str],
) -> EventSpec {
    let mut data = subject_fields(subject, logon_id);
    data.push(field("PrivilegeList", s(&privileges.join("\r\n\t\t\t"))));
    security(
        4672,
        0,
        TASK_SPECIAL_LOGON,
        KEYWORDS_AUDIT_SUCCESS,
        at(time, computer, 1204),
        data,
    )
}

/// 4740 "A user account was locked out": `target` is locked out, `caller_computer` is where
/// the failed attempts came from, `subject` the machine that reports it.
pub fn security_4740(
    time: DateTime<Utc>,
    computer: &str,
    target: &Principal,
    caller_computer: &str,
    subject: &Principal,
) -> EventSpec {
    let mut data = vec![
        field("TargetUserName", s(&target.name)),
        field("TargetDomainName", s(caller_computer)),
        field("TargetSid", Value::Sid(target.sid.clone())),
    ];
    data.extend(subject_fields(subject, SYSTEM_LOGON_ID));
    security(
        4740,
        0,
        TASK_USER_ACCOUNT_MANAGEMENT,
        KEYWORDS_AUDIT_SUCCESS,
        at(time, computer, 1204),
        data,
    )
}

/// 4776 "The computer attempted to validate the credentials for an account" (NTLM); audit
/// failure when `status` is not 0.
pub fn security_4776(
    time: DateTime<Utc>,
    computer: &str,
    user: &str,
    workstation: &str,
    status: u32,
) -> EventSpec {
    let data = vec![
        field("PackageName", s("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0")),
        field("TargetUserName", s(user)),
        field("Workstation", s(workstation)),
        field("Status", Value::HexU32(status)),
    ];
    let keywords = if status == 0 {
        KEYWORDS_AUDIT_SUCCESS
    } else {
        KEYWORDS_AUDIT_FAILURE
    };
    security(
        4776,
        0,
        TASK_CREDENTIAL_VALIDATION,
        keywords,
        at(time, computer, 1204),
        data,
    )
}

/// 5379 "Credential Manager credentials were read" (the most common Security noise).
pub fn security_5379(
    time: DateTime<Utc>,
    computer: &str,
    subject: &Principal,
    logon_id: u64,
    target_name: &str,
    client_pid: u32,
) -> EventSpec {
    let mut data = subject_fields(subject, logon_id);
    data.extend([
        field("TargetName", s(target_name)),
        field("Type", Value::U32(1)),
        field("CountOfCredentialsReturned", Value::U32(0)),
        field("ReadOperation", s("%%8100")),
        field("ReturnCode", Value::U32(0x8000_0490)),
        field(
            "ProcessCreationTime",
            Value::FileTime(time - Duration::seconds(37)),
        ),
        field("ClientProcessId", Value::U32(client_pid)),
    ]);
    security(
        5379,
        0,
        TASK_USER_ACCOUNT_MANAGEMENT,
        KEYWORDS_AUDIT_SUCCESS,
        at(time, computer, 1204),
        data,
    )
}
