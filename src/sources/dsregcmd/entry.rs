//! A dump on the timeline: the `dsregcmd` evidence family, one event per dump (kind
//! `dsregcmd.snapshot`) at the time the dump was taken, carrying the typed values a person
//! reads first (join state, device, tenant, PRT, who ran it). Rules judge dumps through the
//! separate `dsregcmd` fact built from the full [`DsregSnapshot`], so the vocabulary here is small.

use super::{DsregSnapshot, JoinState};
use crate::codes;
use crate::identity::{parse_alias_list, Identity};
use crate::model::{Fields, SourceRef, Text, Time, TimeBasis};
use crate::sources::{Event, EventData, Family};
use serde::Serialize;
use std::fmt::Write as _;

/// One dump as a timeline entry. Values the dump does not print stay `None`.
#[derive(Debug, Clone, Serialize)]
pub struct DsregEntry {
    /// Which dump of the file (1-based), of how many.
    pub dump: usize,
    pub dumps: usize,
    pub first_line: u64,
    pub last_line: u64,
    /// How the entry's time was known: `Client Time` or `file modification time`.
    pub taken_at_basis: Option<String>,
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
    pub enterprise_prt: Option<bool>,
    /// The last PRT failure: its status (`0xC000006D`) and AADSTS code, when printed.
    pub prt_attempt_status: Option<String>,
    pub prt_aadsts: Option<u32>,
    pub executing_account: Option<String>,
    pub user_context: Option<String>,
    pub client_time: Option<Time>,
}

impl DsregEntry {
    pub fn of(s: &DsregSnapshot) -> Self {
        let prt = s.prt_error.as_ref();
        DsregEntry {
            dump: s.dump,
            dumps: s.dumps,
            first_line: s.first_line,
            last_line: s.last_line,
            taken_at_basis: s.taken_at_basis.clone(),
            join_state: s.join_state,
            azure_ad_joined: s.azure_ad_joined,
            enterprise_joined: s.enterprise_joined,
            domain_joined: s.domain_joined,
            workplace_joined: s.workplace_joined,
            domain_name: s.domain_name.clone(),
            device_name: s.device_name.clone(),
            device_id: s.device_id.clone(),
            device_auth_status: s.device_auth_status.clone(),
            tenant_name: s.tenant_name.clone(),
            tenant_id: s.tenant_id.clone(),
            azure_ad_prt: s.azure_ad_prt,
            prt_update_time: s.prt_update_time,
            prt_expiry_time: s.prt_expiry_time,
            enterprise_prt: s.enterprise_prt,
            prt_attempt_status: prt.and_then(|e| e.attempt_status).map(codes::hex),
            prt_aadsts: prt.and_then(|e| e.aadsts),
            executing_account: s.executing_account.clone(),
            user_context: s.user_context.clone(),
            client_time: s.taken_at.filter(|_| s.dated_by_client_time()),
        }
    }
}

/// The timeline event of a dump: at the time it was taken, on the device it names. A dump
/// with no time of its own and no file date has no place on the timeline (`None`).
pub fn event(s: &DsregSnapshot) -> Option<Event> {
    let time = s.taken_at?;
    Some(Event {
        time,
        time_basis: if s.dated_by_client_time() {
            TimeBasis::Utc
        } else {
            TimeBasis::FileDate
        },
        source: SourceRef {
            file: s.source.file.clone(),
            loc: s.source.loc,
        },
        machine: s.device_name.as_deref().map(Text::from),
        data: EventData::Dsregcmd(Box::new(DsregEntry::of(s))),
    })
}

/// The `dsregcmd` family.
pub struct Snapshots;

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "YES",
        Some(false) => "NO",
        None => "?",
    }
}

fn minute(t: &Time) -> chrono::format::DelayedFormat<chrono::format::StrftimeItems<'static>> {
    t.format("%Y-%m-%d %H:%MZ")
}

impl Family for Snapshots {
    type Payload = Box<DsregEntry>;
    const NAME: &'static str = "dsregcmd";
    const SOURCE: &'static str = "dsregcmd";
    const FIELDS: &'static [&'static str] = &[
        "dump",
        "join_state",
        "azure_ad_joined",
        "domain_joined",
        "workplace_joined",
        "device_auth_status",
        "azure_ad_prt",
        "enterprise_prt",
        "tenant_id",
    ];

    fn kind(_: &Box<DsregEntry>, out: &mut String) {
        out.push_str("snapshot");
    }

    fn summary(e: &Box<DsregEntry>, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(out, "dsregcmd dump {}/{}", e.dump, e.dumps);
        if e.client_time.is_none() {
            out.push_str(" (time from the file date)");
        }
        let _ = write!(
            out,
            ": {} (AzureAdJoined {}, DomainJoined {}",
            join_phrase(e.join_state),
            yes_no(e.azure_ad_joined),
            yes_no(e.domain_joined)
        );
        if e.enterprise_joined == Some(true) {
            out.push_str(", EnterpriseJoined YES");
        }
        if e.workplace_joined == Some(true) {
            out.push_str(", WorkplaceJoined YES");
        }
        out.push(')');
        if let Some(d) = e.device_name.as_deref().or(e.device_id.as_deref()) {
            let _ = write!(out, ", device {d}");
        }
        if let Some(s) = &e.device_auth_status {
            let _ = write!(out, ", DeviceAuthStatus {s}");
        }
        match (&e.tenant_name, &e.tenant_id) {
            (Some(n), Some(id)) => {
                let _ = write!(out, ", tenant {n} ({id})");
            }
            (Some(x), None) | (None, Some(x)) => {
                let _ = write!(out, ", tenant {x}");
            }
            (None, None) => {}
        }
        let _ = write!(out, ", AzureAdPrt {}", yes_no(e.azure_ad_prt));
        if let Some(t) = &e.prt_update_time {
            let _ = write!(out, " updated {}", minute(t));
        }
        if let Some(t) = &e.prt_expiry_time {
            let _ = write!(out, " expires {}", minute(t));
        }
        if let Some(status) = &e.prt_attempt_status {
            let _ = write!(out, ", last PRT attempt {status}");
            if let Some(a) = e.prt_aadsts {
                let _ = write!(out, " AADSTS{a}");
            }
        }
        if e.enterprise_prt == Some(true) {
            out.push_str(", EnterprisePrt YES");
        }
        // Last: the account is printed as dsregcmd wrote it, commas included.
        match (&e.executing_account, &e.user_context) {
            (Some(a), Some(c)) => {
                let _ = write!(out, ", run as {a} ({c})");
            }
            (Some(a), None) => {
                let _ = write!(out, ", run as {a}");
            }
            (None, Some(c)) => {
                let _ = write!(out, ", run as {c}");
            }
            (None, None) => {}
        }
    }

    fn user(e: &Box<DsregEntry>) -> Option<Identity> {
        parse_alias_list(e.executing_account.as_deref()?)
            .into_iter()
            .next()
    }

    fn facts(e: &Box<DsregEntry>, f: &mut Fields) {
        let yn = |v: Option<bool>| v.map(Fields::yes_no);
        f.push("dump", e.dump.to_string());
        f.push("join_state", e.join_state.as_str());
        f.push_opt("azure_ad_joined", yn(e.azure_ad_joined));
        f.push_opt("domain_joined", yn(e.domain_joined));
        f.push_opt("workplace_joined", yn(e.workplace_joined));
        f.push_opt("device_auth_status", e.device_auth_status.clone());
        f.push_opt("azure_ad_prt", yn(e.azure_ad_prt));
        f.push_opt("enterprise_prt", yn(e.enterprise_prt));
        f.push_opt("tenant_id", e.tenant_id.clone());
    }
}

fn join_phrase(j: JoinState) -> &'static str {
    match j {
        JoinState::EntraJoined => "Entra joined",
        JoinState::HybridJoined => "hybrid joined",
        JoinState::DomainOnly => "domain joined only",
        JoinState::RegisteredOnly => "Entra registered only",
        JoinState::EnterpriseJoined => "enterprise (DRS) joined",
        JoinState::NotJoined => "not joined",
        JoinState::Unknown => "join state unknown",
    }
}
