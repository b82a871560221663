//! The Security channel's logon events (4624, 4625, 4648, 4634, 4647, 4672, 4740, 4776): who
//! logged on or failed to, how (logon type, process, package), from where, and with which
//! NTSTATUS. Read from `.evtx` logs and Event Viewer XML exports.

use super::windows_event::{clean_str, clean_text, RawEvent};
use super::Family;
use crate::codes;
use crate::identity::{host_key, Identity};
use crate::model::{Account, Fields, Text, UserScope};
use serde::Serialize;
use std::fmt::Write as _;

pub const CHANNEL: &str = "Security";

/// Security logon events padtriage reads.
pub const EVENT_IDS: &[u32] = &[4624, 4625, 4648, 4634, 4647, 4672, 4740, 4776];

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

pub struct Security;

impl Family for Security {
    type Payload = SecurityEvent;
    const NAME: &'static str = "security";
    const SOURCE: &'static str = "security";
    const FIELDS: &'static [&'static str] = &[
        "event_id",
        "status",
        "sub_status",
        "status_any",
        "logon_type",
        "logon_process",
        "auth_package",
        "process_name",
        "ip",
        "ip_local",
        "target_domain",
        "workstation",
        "failure_reason",
    ];
    const USER_SCOPE: UserScope = UserScope::Run;
    const CHANNEL: Option<&'static str> = Some(CHANNEL);
    const NEEDS_COMPUTER: bool = true;

    fn select(_provider: Option<&str>, event_id: u32) -> bool {
        EVENT_IDS.contains(&event_id)
    }

    fn from_raw(raw: &RawEvent<'_>) -> Option<SecurityEvent> {
        Some(from_raw(raw))
    }

    fn kind(s: &SecurityEvent, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(s.event_id));
    }

    fn summary(s: &SecurityEvent, out: &mut String) {
        summary(s, out);
    }

    fn user(s: &SecurityEvent) -> Option<Identity> {
        Identity::from_account(&s.target)
    }

    fn foreign(s: &SecurityEvent, machine: Option<&str>) -> Option<String> {
        foreign(s, machine)
    }

    fn facts(s: &SecurityEvent, f: &mut Fields) {
        f.push("event_id", s.event_id.to_string());
        f.push_opt("status", s.status.map(codes::hex));
        f.push_opt("sub_status", s.sub_status.map(codes::hex));
        let any: Vec<String> = [s.status, s.sub_status]
            .into_iter()
            .flatten()
            .filter(|c| *c != 0)
            .map(codes::hex)
            .collect();
        f.push_many("status_any", any);
        f.push_opt("logon_type", s.logon_type.map(|t| t.to_string()));
        f.push_opt("logon_process", s.logon_process.clone());
        f.push_opt("auth_package", s.auth_package.clone());
        f.push_opt("process_name", s.process_name.clone());
        f.push_opt("ip", s.ip_address.clone());
        f.push(
            "ip_local",
            Fields::yes_no(s.ip_address.as_deref().is_none_or(is_local_ip)),
        );
        f.push_opt("target_domain", s.target.domain.clone());
        f.push_opt("workstation", s.workstation.clone());
        f.push_opt("failure_reason", s.failure_reason.clone());
    }
}

/// Logon types of an attempt the desktop-flow connection does not make: batch (4) and service
/// (5) logons are scheduled tasks' and services' own accounts.
const NOT_THE_CONNECTION: &[u32] = &[4, 5];

/// Why a logon event is not the connection's attempt on `machine`: a service or batch logon, or
/// one that came from another host (a source address that is not this machine's, with a
/// workstation name that is not this machine's either).
fn foreign(s: &SecurityEvent, machine: Option<&str>) -> Option<String> {
    if !matches!(s.event_id, 4624 | 4625) {
        return None;
    }
    if let Some(t) = s.logon_type.filter(|t| NOT_THE_CONNECTION.contains(t)) {
        return Some(format!(
            "a {} logon (type {t}), not the desktop-flow connection's",
            codes::logon_type_name(t)
        ));
    }
    let workstation = s.workstation.as_deref().and_then(host_key);
    let from_this_machine = match (workstation.as_deref(), machine) {
        (Some(w), Some(m)) => Some(w == m),
        _ => None,
    };
    if let Some(ip) = s.ip_address.as_deref().filter(|ip| !is_local_ip(ip)) {
        if from_this_machine != Some(true) {
            return Some(format!("a logon from another host ({})", ip.trim()));
        }
    }
    if from_this_machine == Some(false) {
        return Some(format!(
            "a logon from another workstation ({})",
            s.workstation.as_deref().unwrap_or_default()
        ));
    }
    None
}

/// A source address that is this machine itself (or none at all).
pub fn is_local_ip(ip: &str) -> bool {
    matches!(
        ip.trim(),
        "" | "-" | "127.0.0.1" | "::1" | "0:0:0:0:0:0:0:1" | "localhost"
    )
}

fn from_raw(raw: &RawEvent<'_>) -> SecurityEvent {
    let mut ev = SecurityEvent {
        event_id: raw.event_id,
        computer: raw.computer.as_deref().and_then(clean_str),
        ..SecurityEvent::default()
    };
    // One pass over the fields (Security events carry up to ~30); the first of a name wins, and
    // the older or rarer spelling of a field only fills in when the usual one is absent.
    let (mut target_sid, mut workstation, mut package) = (None, None, None);
    for (name, value) in &raw.data {
        let slot = match name.as_ref() {
            "SubjectUserName" => &mut ev.subject.name,
            "SubjectDomainName" => &mut ev.subject.domain,
            "SubjectUserSid" => &mut ev.subject.sid,
            "TargetUserName" => &mut ev.target.name,
            "TargetDomainName" => &mut ev.target.domain,
            "TargetUserSid" => &mut ev.target.sid,
            "TargetSid" => &mut target_sid,
            "WorkstationName" => &mut ev.workstation,
            "Workstation" => &mut workstation,
            "AuthenticationPackageName" => &mut ev.auth_package,
            "PackageName" => &mut package,
            "FailureReason" => &mut ev.failure_reason,
            "LogonProcessName" => &mut ev.logon_process,
            "ProcessName" => &mut ev.process_name,
            "IpAddress" => &mut ev.ip_address,
            "TargetServerName" => &mut ev.target_server,
            code => {
                let slot = match code {
                    "LogonType" => &mut ev.logon_type,
                    "Status" => &mut ev.status,
                    "SubStatus" => &mut ev.sub_status,
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = value.as_u32();
                }
                continue;
            }
        };
        if slot.is_none() {
            *slot = clean_text(value);
        }
    }
    ev.target.sid = ev.target.sid.or(target_sid);
    ev.workstation = ev.workstation.or(workstation);
    ev.auth_package = ev.auth_package.or(package);
    if raw.event_id == 4740 {
        // 4740 puts the caller computer in TargetDomainName; the locked account belongs to the
        // account database that logged the event, named by the subject's domain.
        ev.workstation = ev.target.domain.take().or(ev.workstation);
        ev.target.domain = ev.subject.domain.clone();
    }
    ev
}

fn write_account(a: &Account, out: &mut String) {
    match (&a.domain, &a.name) {
        (Some(d), Some(n)) => {
            out.push_str(d);
            out.push('\\');
            out.push_str(n);
        }
        (None, Some(n)) => out.push_str(n),
        (_, None) => out.push_str(a.sid.as_deref().unwrap_or("-")),
    }
}

fn summary(s: &SecurityEvent, out: &mut String) {
    let what = match s.event_id {
        4624 => "Logon succeeded",
        4625 => "Logon failed",
        4648 => "Logon with explicit credentials",
        4634 => "Logoff",
        4647 => "User-initiated logoff",
        4672 => "Special privileges assigned",
        4740 => "Account locked out",
        4776 => "NTLM credential validation",
        _ => "Security event",
    };
    let mut digits = itoa::Buffer::new();
    out.push_str(what);
    out.push_str(" (");
    out.push_str(digits.format(s.event_id));
    out.push_str(") ");
    if s.event_id == 4672 {
        write_account(&s.subject, out);
    } else {
        write_account(&s.target, out);
    }
    if let Some(t) = s.logon_type {
        out.push_str(" type ");
        out.push_str(digits.format(t));
        out.push(' ');
        out.push_str(codes::logon_type_name(t));
    }
    if let Some(st) = s.status.filter(|v| *v != 0) {
        let _ = write!(out, " status {}", codes::describe_hex(st));
    }
    // For a missing logon right, the logon type tells which right.
    if s.status == Some(0xC000_015B) || s.sub_status == Some(0xC000_015B) {
        if let Some((allow, deny)) = s.logon_type.and_then(codes::logon_right_for_type) {
            out.push_str(&format!(" [needs '{allow}', and no '{deny}']"));
        }
    }
    if let Some(st) = s.sub_status.filter(|v| *v != 0) {
        let _ = write!(out, " substatus {}", codes::describe_hex(st));
    }
    if let Some(p) = &s.logon_process {
        out.push_str(" via ");
        out.push_str(p);
    }
    if let Some(p) = &s.process_name {
        out.push_str(" process ");
        out.push_str(p);
    }
    if let Some(ip) = s.ip_address.as_deref().filter(|ip| *ip != "-") {
        out.push_str(" from ");
        out.push_str(ip);
    }
    if let Some(t) = &s.target_server {
        out.push_str(" to ");
        out.push_str(t);
    }
}
