//! The Security channel's logon events (4624, 4625, 4648, 4634, 4647, 4672, 4740, 4776): who
//! logged on or failed to, how (logon type, process, package), from where, and with which
//! NTSTATUS. Read from `.evtx` logs and Event Viewer XML exports.

use super::windows_event::{clean_str, clean_text, RawEvent};
use super::Family;
use crate::codes;
use crate::identity::{host_key, Identity};
use crate::model::{Account, Fields, Text, UserScope};
use serde::Serialize;
use std::fmt;

pub const CHANNEL: &str = "Security";

/// Security logon events padtriage reads.
pub const EVENT_IDS: &[u32] = &[4624, 4625, 4648, 4634, 4647, 4672, 4740, 4776];

/// A Security event. Its texts are [`Text`]s, or, while the EVTX reader holds them once for a
/// chunk's events, numbers in the chunk's table of texts ([`super::Pooled`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SecurityEvent<T = Text> {
    pub event_id: u32,
    pub computer: Option<T>,
    /// Subject* fields: who asked for the logon (often the machine account or a service).
    pub subject: Account<T>,
    /// Target* fields: the account being logged on (4624/4625/4634/4647/4648/4776/4740).
    pub target: Account<T>,
    pub logon_type: Option<u32>,
    /// NTSTATUS values (4625 Status/SubStatus, 4776 Status); 0 means success.
    #[serde(serialize_with = "codes::as_hex::opt")]
    pub status: Option<u32>,
    #[serde(serialize_with = "codes::as_hex::opt")]
    pub sub_status: Option<u32>,
    /// Unresolved insert such as `%%2313`.
    pub failure_reason: Option<T>,
    /// Trimmed (`"User32 "` becomes `User32`).
    pub logon_process: Option<T>,
    pub auth_package: Option<T>,
    pub workstation: Option<T>,
    pub process_name: Option<T>,
    pub ip_address: Option<T>,
    /// 4648 TargetServerName.
    pub target_server: Option<T>,
}

impl<T> SecurityEvent<T> {
    /// The same event with each text turned into another form.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> SecurityEvent<U> {
        let mut account = |a: Account<T>| Account {
            name: a.name.map(&mut f),
            domain: a.domain.map(&mut f),
            sid: a.sid.map(&mut f),
        };
        let (subject, target) = (account(self.subject), account(self.target));
        SecurityEvent {
            event_id: self.event_id,
            computer: self.computer.map(&mut f),
            subject,
            target,
            logon_type: self.logon_type,
            status: self.status,
            sub_status: self.sub_status,
            failure_reason: self.failure_reason.map(&mut f),
            logon_process: self.logon_process.map(&mut f),
            auth_package: self.auth_package.map(&mut f),
            workstation: self.workstation.map(&mut f),
            process_name: self.process_name.map(&mut f),
            ip_address: self.ip_address.map(&mut f),
            target_server: self.target_server.map(&mut f),
        }
    }
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
        kind(s, out);
    }

    fn summary(s: &SecurityEvent, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = summary(s, out);
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

/// An EventData value padtriage reads, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    SubjectName,
    SubjectDomain,
    SubjectSid,
    TargetName,
    TargetDomain,
    TargetSid,
    /// `TargetSid`: the target's SID where `TargetUserSid` is absent.
    OtherTargetSid,
    Workstation,
    /// `Workstation`: where `WorkstationName` is absent.
    OtherWorkstation,
    AuthPackage,
    /// `PackageName`: where `AuthenticationPackageName` is absent.
    OtherPackage,
    FailureReason,
    LogonProcess,
    ProcessName,
    IpAddress,
    TargetServer,
    LogonType,
    Status,
    SubStatus,
}

impl Field {
    /// The field of an EventData name, for the names padtriage reads.
    pub(crate) fn of(name: &str) -> Option<Field> {
        Some(match name {
            "SubjectUserName" => Field::SubjectName,
            "SubjectDomainName" => Field::SubjectDomain,
            "SubjectUserSid" => Field::SubjectSid,
            "TargetUserName" => Field::TargetName,
            "TargetDomainName" => Field::TargetDomain,
            "TargetUserSid" => Field::TargetSid,
            "TargetSid" => Field::OtherTargetSid,
            "WorkstationName" => Field::Workstation,
            "Workstation" => Field::OtherWorkstation,
            "AuthenticationPackageName" => Field::AuthPackage,
            "PackageName" => Field::OtherPackage,
            "FailureReason" => Field::FailureReason,
            "LogonProcessName" => Field::LogonProcess,
            "ProcessName" => Field::ProcessName,
            "IpAddress" => Field::IpAddress,
            "TargetServerName" => Field::TargetServer,
            "LogonType" => Field::LogonType,
            "Status" => Field::Status,
            "SubStatus" => Field::SubStatus,
            _ => return None,
        })
    }

    /// A number (logon type, NTSTATUS), not a text.
    pub(crate) fn is_number(self) -> bool {
        matches!(self, Field::LogonType | Field::Status | Field::SubStatus)
    }
}

/// A Security event being filled from its EventData values, one at a time in document order:
/// the one mapping of names to fields, whatever form its texts take. The first value of a
/// field that reads as something wins, and the older or rarer spelling of a field only fills
/// in when the usual one is absent.
pub(crate) struct Fill<T> {
    ev: SecurityEvent<T>,
    other_target_sid: Option<T>,
    other_workstation: Option<T>,
    other_package: Option<T>,
}

impl<T: Clone> Fill<T> {
    pub(crate) fn new(event_id: u32, computer: Option<T>) -> Self {
        Fill {
            ev: SecurityEvent {
                event_id,
                computer,
                subject: Account {
                    name: None,
                    domain: None,
                    sid: None,
                },
                target: Account {
                    name: None,
                    domain: None,
                    sid: None,
                },
                logon_type: None,
                status: None,
                sub_status: None,
                failure_reason: None,
                logon_process: None,
                auth_package: None,
                workstation: None,
                process_name: None,
                ip_address: None,
                target_server: None,
            },
            other_target_sid: None,
            other_workstation: None,
            other_package: None,
        }
    }

    fn text_slot(&mut self, f: Field) -> Option<&mut Option<T>> {
        let ev = &mut self.ev;
        Some(match f {
            Field::SubjectName => &mut ev.subject.name,
            Field::SubjectDomain => &mut ev.subject.domain,
            Field::SubjectSid => &mut ev.subject.sid,
            Field::TargetName => &mut ev.target.name,
            Field::TargetDomain => &mut ev.target.domain,
            Field::TargetSid => &mut ev.target.sid,
            Field::OtherTargetSid => &mut self.other_target_sid,
            Field::Workstation => &mut ev.workstation,
            Field::OtherWorkstation => &mut self.other_workstation,
            Field::AuthPackage => &mut ev.auth_package,
            Field::OtherPackage => &mut self.other_package,
            Field::FailureReason => &mut ev.failure_reason,
            Field::LogonProcess => &mut ev.logon_process,
            Field::ProcessName => &mut ev.process_name,
            Field::IpAddress => &mut ev.ip_address,
            Field::TargetServer => &mut ev.target_server,
            Field::LogonType | Field::Status | Field::SubStatus => return None,
        })
    }

    fn number_slot(&mut self, f: Field) -> Option<&mut Option<u32>> {
        match f {
            Field::LogonType => Some(&mut self.ev.logon_type),
            Field::Status => Some(&mut self.ev.status),
            Field::SubStatus => Some(&mut self.ev.sub_status),
            _ => None,
        }
    }

    /// Whether `f` still takes a value (so callers build values only for fields that do).
    pub(crate) fn wants(&mut self, f: Field) -> bool {
        match self.number_slot(f) {
            Some(n) => n.is_none(),
            None => self.text_slot(f).is_some_and(|t| t.is_none()),
        }
    }

    /// A text field's value, if it still takes one.
    pub(crate) fn text(&mut self, f: Field, value: Option<T>) {
        if let Some(slot) = self.text_slot(f).filter(|s| s.is_none()) {
            *slot = value;
        }
    }

    /// A number field's value, if it still takes one.
    pub(crate) fn number(&mut self, f: Field, value: Option<u32>) {
        if let Some(slot) = self.number_slot(f).filter(|s| s.is_none()) {
            *slot = value;
        }
    }

    pub(crate) fn finish(self) -> SecurityEvent<T> {
        let mut ev = self.ev;
        ev.target.sid = ev.target.sid.or(self.other_target_sid);
        ev.workstation = ev.workstation.or(self.other_workstation);
        ev.auth_package = ev.auth_package.or(self.other_package);
        if ev.event_id == 4740 {
            // 4740 puts the caller computer in TargetDomainName; the locked account belongs to
            // the account database that logged the event, named by the subject's domain.
            ev.workstation = ev.target.domain.take().or(ev.workstation);
            ev.target.domain = ev.subject.domain.clone();
        }
        ev
    }
}

fn from_raw(raw: &RawEvent<'_>) -> SecurityEvent {
    let mut fill = Fill::new(raw.event_id, raw.computer.as_deref().and_then(clean_str));
    // One pass over the fields (Security events carry up to ~30).
    for (name, value) in &raw.data {
        match Field::of(name) {
            Some(f) if f.is_number() => fill.number(f, value.as_u32()),
            Some(f) if fill.wants(f) => fill.text(f, clean_text(value)),
            _ => {}
        }
    }
    fill.finish()
}

fn write_account<T: AsRef<str>>(a: &Account<T>, out: &mut impl fmt::Write) -> fmt::Result {
    match (&a.domain, &a.name) {
        (Some(d), Some(n)) => {
            out.write_str(d.as_ref())?;
            out.write_char('\\')?;
            out.write_str(n.as_ref())
        }
        (None, Some(n)) => out.write_str(n.as_ref()),
        (_, None) => out.write_str(a.sid.as_ref().map_or("-", AsRef::as_ref)),
    }
}

/// The kind label after `security.`: the event id.
pub(crate) fn kind<T>(s: &SecurityEvent<T>, out: &mut String) {
    out.push_str(itoa::Buffer::new().format(s.event_id));
}

/// The one-line summary, whatever form the texts take, written to `out` (a `String`, or the
/// inside of a JSON string).
pub(crate) fn summary<T: AsRef<str>>(
    s: &SecurityEvent<T>,
    out: &mut impl fmt::Write,
) -> fmt::Result {
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
    out.write_str(what)?;
    out.write_str(" (")?;
    out.write_str(digits.format(s.event_id))?;
    out.write_str(") ")?;
    if s.event_id == 4672 {
        write_account(&s.subject, out)?;
    } else {
        write_account(&s.target, out)?;
    }
    if let Some(t) = s.logon_type {
        out.write_str(" type ")?;
        out.write_str(digits.format(t))?;
        out.write_char(' ')?;
        out.write_str(codes::logon_type_name(t))?;
    }
    if let Some(st) = s.status.filter(|v| *v != 0) {
        write!(out, " status {}", codes::describe_hex(st))?;
    }
    // For a missing logon right, the logon type tells which right.
    if s.status == Some(0xC000_015B) || s.sub_status == Some(0xC000_015B) {
        if let Some((allow, deny)) = s.logon_type.and_then(codes::logon_right_for_type) {
            write!(out, " [needs '{allow}', and no '{deny}']")?;
        }
    }
    if let Some(st) = s.sub_status.filter(|v| *v != 0) {
        write!(out, " substatus {}", codes::describe_hex(st))?;
    }
    if let Some(p) = &s.logon_process {
        out.write_str(" via ")?;
        out.write_str(p.as_ref())?;
    }
    if let Some(p) = &s.process_name {
        out.write_str(" process ")?;
        out.write_str(p.as_ref())?;
    }
    if let Some(ip) = s
        .ip_address
        .as_ref()
        .map(AsRef::as_ref)
        .filter(|ip| *ip != "-")
    {
        out.write_str(" from ")?;
        out.write_str(ip)?;
    }
    if let Some(t) = &s.target_server {
        out.write_str(" to ")?;
        out.write_str(t.as_ref())?;
    }
    Ok(())
}
