//! Finding the failed runs: from PAD log errors, flow-session rows, the portal's error JSON, or
//! the user's `--at`. Records of one failure are merged into one run; the connection account
//! is taken from the records, from `--user`, or inferred from the evidence at the failure time
//! (and the run says so, and from what).

use super::facts::Cite;
use crate::codes;
use crate::identity::{parse_alias_list, Identity, IdentitySet};
use crate::model::Time;
use crate::sources::dsregcmd::DsregSnapshot;
use crate::sources::padlog::TraceLevel;
use crate::sources::security::SecurityEvent;
use crate::sources::{Event, EventData};
use crate::timeline::window;
use chrono::Duration;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserBasis {
    /// Named by a run record or PAD log entry.
    Stated,
    /// Given with `--user`.
    Given,
    /// Inferred from evidence at the failure time (see `user_note`).
    Inferred,
    Unknown,
}

impl UserBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            UserBasis::Stated => "stated",
            UserBasis::Given => "given",
            UserBasis::Inferred => "inferred",
            UserBasis::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub time: Time,
    pub error_code: String,
    pub ntstatus: Vec<u32>,
    pub user: Option<IdentitySet>,
    pub user_basis: UserBasis,
    /// How the user was determined, for the report.
    pub user_note: Option<String>,
    pub machine: Option<String>,
    pub correlation_id: Option<String>,
    /// The records that establish the run.
    pub sources: Vec<Cite>,
    /// True when the run's time comes from a file date, not from a record.
    pub time_is_estimate: bool,
    /// True for error codes padtriage's causes are about (credential / logon failures).
    pub credential_error: bool,
}

/// What the user said on the command line about a run.
#[derive(Debug, Clone, Default)]
pub struct RunHint {
    pub at: Option<Time>,
    pub user: Option<String>,
    pub error: Option<String>,
}

struct Candidate<'a> {
    ev: &'a Event,
    code: Option<String>,
    ntstatus: Vec<u32>,
    user: Option<Identity>,
    machine: Option<String>,
    correlation: Option<String>,
    estimate: bool,
}

fn candidate(ev: &Event) -> Option<Candidate<'_>> {
    match &ev.data {
        EventData::PadLog(p) => {
            let code = p
                .error_codes
                .iter()
                .find_map(|c| codes::pad_run_error(c))
                .map(str::to_string);
            let failed_logon = !p.ntstatus.is_empty()
                && matches!(p.level, Some(TraceLevel::Error | TraceLevel::Critical));
            if code.is_none() && !failed_logon {
                return None;
            }
            Some(Candidate {
                ev,
                code,
                ntstatus: p.ntstatus.clone(),
                user: ev.user(),
                machine: p.machine.clone(),
                correlation: p.correlation_id.clone(),
                estimate: false,
            })
        }
        EventData::RunRecord(r) => Some(Candidate {
            ev,
            code: r.error_code.clone(),
            ntstatus: r.ntstatus.clone(),
            user: ev.user(),
            machine: r.machine.clone(),
            correlation: r.correlation_id.clone(),
            estimate: r.time_is_estimate,
        }),
        _ => None,
    }
}

/// Records closer than this, with no contradicting correlation id or user, are one failure.
const MERGE_GAP_SECS: i64 = 180;

/// Find the failed runs in the timeline (events sorted by time).
pub fn find_runs(events: &[Event], snapshots: &[DsregSnapshot], hint: &RunHint) -> Vec<Run> {
    let mut precise: Vec<Candidate> = Vec::new();
    let mut estimated: Vec<Candidate> = Vec::new();
    for c in events.iter().filter_map(candidate) {
        if c.estimate {
            estimated.push(c);
        } else {
            precise.push(c);
        }
    }
    let mut runs: Vec<Run> = Vec::new();
    for c in precise {
        let joined = runs.iter_mut().rev().find(|r| same_failure(r, &c));
        match joined {
            Some(r) => absorb(r, &c),
            None => runs.push(new_run(&c)),
        }
    }
    // A portal error JSON carries no time: attach it to a run with the same code, else it
    // becomes a run of its own at the file's date (flagged as an estimate).
    for c in estimated {
        let target = runs
            .iter_mut()
            .filter(|r| c.code.as_deref().is_none_or(|code| code == r.error_code))
            .min_by_key(|r| (r.time - c.ev.time).num_seconds().abs());
        match target {
            Some(r) => absorb(r, &c),
            None => runs.push(new_run(&c)),
        }
    }
    if let Some(at) = hint.at {
        let near = runs
            .iter()
            .position(|r| (r.time - at).num_seconds().abs() <= 300);
        let mut run = match near {
            Some(i) => runs.swap_remove(i),
            None => Run::empty(at, false),
        };
        if let Some(e) = &hint.error {
            run.error_code = codes::pad_run_error(e).unwrap_or(e).to_string();
        }
        if run.error_code.is_empty() {
            run.error_code = "WindowsIdentityIncorrect".into();
        }
        if run.sources.is_empty() {
            run.time = at;
        }
        runs = vec![run];
    }
    for r in &mut runs {
        r.credential_error = codes::pad_run_error(&r.error_code).is_some()
            || (r.error_code.is_empty() && !r.ntstatus.is_empty());
        if r.error_code.is_empty() {
            r.error_code = "WindowsIdentityIncorrect".into();
        }
        if let Some(u) = hint.user.as_deref().and_then(Identity::parse) {
            r.user = Some(IdentitySet::new(u));
            r.user_basis = UserBasis::Given;
            r.user_note = Some("given with --user".into());
        }
        if r.user.is_none() {
            infer_user(r, events, snapshots);
        }
        learn_aliases(r, events, snapshots);
    }
    runs.sort_by_key(|r| r.time);
    runs
}

fn same_failure(r: &Run, c: &Candidate) -> bool {
    if let (Some(a), Some(b)) = (&r.correlation_id, &c.correlation) {
        if a.eq_ignore_ascii_case(b) {
            return true;
        }
        return false;
    }
    if (c.ev.time - r.time).num_seconds().abs() > MERGE_GAP_SECS {
        return false;
    }
    if let (Some(set), Some(u)) = (&r.user, &c.user) {
        if !set.matches(u) {
            return false;
        }
    }
    match (&c.code, r.error_code.as_str()) {
        (Some(a), b) if !b.is_empty() => a == b || codes::pad_run_error(a).is_some(),
        _ => true,
    }
}

impl Run {
    /// A run at `time` that no record describes yet.
    fn empty(time: Time, time_is_estimate: bool) -> Run {
        Run {
            time,
            error_code: String::new(),
            ntstatus: Vec::new(),
            user: None,
            user_basis: UserBasis::Unknown,
            user_note: None,
            machine: None,
            correlation_id: None,
            sources: Vec::new(),
            time_is_estimate,
            credential_error: false,
        }
    }
}

fn new_run(c: &Candidate) -> Run {
    let mut r = Run::empty(c.ev.time, c.estimate);
    absorb(&mut r, c);
    r
}

fn absorb(r: &mut Run, c: &Candidate) {
    if !c.estimate && (r.time_is_estimate || c.ev.time < r.time) {
        r.time = c.ev.time;
        r.time_is_estimate = false;
    }
    if let Some(code) = &c.code {
        // A specific credential code beats a generic or unrelated one.
        if r.error_code.is_empty()
            || (codes::pad_run_error(&r.error_code).is_none()
                && codes::pad_run_error(code).is_some())
        {
            r.error_code = code.clone();
        }
    }
    for s in &c.ntstatus {
        if !r.ntstatus.contains(s) {
            r.ntstatus.push(*s);
        }
    }
    if r.user.is_none() {
        if let Some(u) = &c.user {
            r.user = Some(IdentitySet::new(u.clone()));
            r.user_basis = UserBasis::Stated;
            r.user_note = Some(format!("named by {}", Cite::from_event(c.ev).location()));
        }
    }
    if r.machine.is_none() {
        r.machine = c.machine.clone();
    }
    if r.correlation_id.is_none() {
        r.correlation_id = c.correlation.clone();
    }
    r.sources.push(Cite::from_event(c.ev));
}

/// A logon attempted on this machine itself (no remote source address), as PAD's credential
/// check is; network logons from other hosts are someone else's.
fn is_local_validation(s: &SecurityEvent) -> bool {
    let local_ip = s
        .ip_address
        .as_deref()
        .is_none_or(|ip| matches!(ip.trim(), "" | "-" | "127.0.0.1" | "::1"));
    local_ip
}

/// No user named anywhere: take the account whose logon failed on this machine at the failure
/// time (nearest first), else the account dsregcmd ran as. Remote failures (other IPs) are
/// never taken: a password spray is not the run.
fn infer_user(r: &mut Run, events: &[Event], snapshots: &[DsregSnapshot]) {
    let from = r.time - Duration::minutes(2);
    let to = r.time + Duration::minutes(1);
    let mut best: Option<(&Event, Identity, i64)> = None;
    let mut others: Vec<String> = Vec::new();
    for ev in window(events, from, to) {
        let EventData::Security(s) = &ev.data else {
            continue;
        };
        if s.event_id != 4625 || !is_local_validation(s) {
            continue;
        }
        let Some(id) = Identity::from_account(&s.target) else {
            continue;
        };
        if id.is_machine_or_service() {
            continue;
        }
        let dist = (ev.time - r.time).num_milliseconds().abs();
        match &best {
            Some((_, b, d)) if *d <= dist => {
                if !b.matches(&id) && !others.contains(&id.raw) {
                    others.push(id.raw.clone());
                }
            }
            _ => {
                if let Some((_, b, _)) = &best {
                    if !b.matches(&id) && !others.contains(&b.raw) {
                        others.push(b.raw.clone());
                    }
                }
                best = Some((ev, id, dist));
            }
        }
    }
    if let Some((ev, id, _)) = best {
        let EventData::Security(s) = &ev.data else {
            return;
        };
        let mut note = format!(
            "inferred from the failed logon at the failure time: {} ({}{})",
            Cite::from_event(ev).location(),
            s.logon_type
                .map(|t| format!("LogonType {t} {}", codes::logon_type_name(t)))
                .unwrap_or_else(|| "LogonType unknown".into()),
            s.process_name
                .as_deref()
                .map(|p| format!(", process {p}"))
                .unwrap_or_default()
        );
        if !others.is_empty() {
            note.push_str(&format!(
                "; other accounts also failed locally in those minutes: {}",
                others.join(", ")
            ));
        }
        r.user = Some(IdentitySet::new(id));
        r.user_basis = UserBasis::Inferred;
        r.user_note = Some(note);
        return;
    }
    for snap in snapshots {
        let Some(acc) = snap.executing_account.as_deref() else {
            continue;
        };
        let aliases = parse_alias_list(acc);
        if aliases.is_empty() || aliases.iter().any(|a| a.is_machine_or_service()) {
            continue;
        }
        let line = snap
            .field("Executing Account Name")
            .map(|f| format!(" line {}", f.line))
            .unwrap_or_default();
        let mut set = IdentitySet::new(aliases[0].clone());
        set.absorb(&aliases, "dsregcmd Executing Account Name");
        r.user = Some(set);
        r.user_basis = UserBasis::Inferred;
        r.user_note = Some(format!(
            "inferred from the account dsregcmd ran as ({}{line}); no failed logon at the failure time named an account",
            snap.source.file
        ));
        return;
    }
}

/// Add aliases the evidence proves: dsregcmd's executing account pair, and SIDs of logons by
/// the same name.
fn learn_aliases(r: &mut Run, events: &[Event], snapshots: &[DsregSnapshot]) {
    let Some(set) = r.user.as_mut() else {
        return;
    };
    for snap in snapshots {
        if let Some(acc) = snap.executing_account.as_deref() {
            let aliases = parse_alias_list(acc);
            if aliases.iter().any(|a| a.is_machine_or_service()) {
                continue;
            }
            set.absorb(
                &aliases,
                &format!("{}: Executing Account Name", snap.source.file),
            );
        }
    }
    let from = r.time - Duration::hours(24);
    let to = r.time + Duration::hours(1);
    for ev in window(events, from, to) {
        let EventData::Security(s) = &ev.data else {
            continue;
        };
        if s.event_id != 4624 {
            continue;
        }
        let Some(id) = Identity::from_account(&s.target) else {
            continue;
        };
        if id.sid.is_some() && set.sids().next().is_none() && set.matches(&id) {
            let why = format!(
                "{}: SID of a logon by the same name",
                Cite::from_event(ev).location()
            );
            set.absorb(std::slice::from_ref(&id), &why);
        }
    }
}
