//! Finding the failed runs: from PAD log errors, flow-session rows, the portal's error JSON, or
//! the user's `--at`. Records of one failure (by time, machine and account, whatever ids they
//! carry) are merged into one run; a record without a time of its own attaches to a run only
//! within [`ATTACH_HOURS`] after it. Each run gets its machine (from its records, else their
//! folder, else the bundle's only machine) and its connection account: from the records, from
//! `--user`, or inferred from the evidence at the failure time (and the run says so, and from
//! what).

use super::facts::Cite;
use super::scope::{Admit, Machines, RunScope};
use crate::codes;
use crate::identity::{host_key, parse_alias_list, Identity, IdentitySet, Match};
use crate::model::{Time, TimeBasis};
use crate::sources::dsregcmd::DsregSnapshot;
use crate::sources::padlog::TraceLevel;
use crate::sources::run_records::RunRecordKind;
use crate::sources::{Event, EventData};
use crate::timeline::{window, Timeline};
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
    /// How the run's time is known: exact (`utc`, `offset`, `inferred`, `given`), or not
    /// (`assumed`: a text time without zone; `file_date`: an estimate).
    pub time_basis: TimeBasis,
    /// The run's machine ([`host_key`]), when known.
    pub host: Option<String>,
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
    /// Correlation ids of the run's records, by kind of record.
    #[serde(skip)]
    ids: Vec<(Origin, String)>,
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
    /// The machine the run failed on (`--machine`), for bundles of several machines.
    pub machine: Option<String>,
}

/// How long after a run a record with no time of its own (the portal's error JSON, placed at its
/// file date) may be, to be taken as that run's: the file is saved after the failure, usually
/// within the day. Further away it is a run of its own, with an estimated time.
pub const ATTACH_HOURS: i64 = 24;

/// Which kind of record a candidate is: ids of different kinds are different id spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    PadLog,
    FlowSession,
    Portal,
}

struct Candidate<'a> {
    ev: &'a Event,
    origin: Origin,
    code: Option<String>,
    ntstatus: Vec<u32>,
    user: Option<Identity>,
    machine: Option<String>,
    host: Option<String>,
    correlation: Option<String>,
    estimate: bool,
}

fn candidate<'a>(ev: &'a Event, machines: &Machines) -> Option<Candidate<'a>> {
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
                origin: Origin::PadLog,
                code,
                ntstatus: p.ntstatus.clone(),
                user: ev.user(),
                machine: p.machine.clone(),
                host: machines.event(ev),
                correlation: p.correlation_id.clone(),
                estimate: false,
            })
        }
        EventData::RunRecord(r) => Some(Candidate {
            ev,
            origin: match r.kind {
                RunRecordKind::FlowSession => Origin::FlowSession,
                RunRecordKind::PortalError => Origin::Portal,
            },
            code: r.error_code.clone(),
            ntstatus: r.ntstatus.clone(),
            user: ev.user(),
            machine: r.machine.clone(),
            // A run record's own machine (a name, not a machine id); its file's folder says
            // nothing, since exports list the runs of many machines.
            host: ev.host(),
            correlation: r.correlation_id.clone(),
            estimate: r.time_is_estimate,
        }),
        _ => None,
    }
}

/// Records closer than this, on the same machine for the same account, are one failure.
const MERGE_GAP_SECS: i64 = 180;

/// Find the failed runs in a timeline (events sorted by time).
pub fn find_runs(tl: &Timeline, hint: &RunHint) -> Vec<Run> {
    let machines = Machines::of(&tl.files);
    let events = &tl.events;
    let mut precise: Vec<Candidate> = Vec::new();
    let mut estimated: Vec<Candidate> = Vec::new();
    for c in events.iter().filter_map(|e| candidate(e, &machines)) {
        if c.estimate {
            estimated.push(c);
        } else {
            precise.push(c);
        }
    }
    let mut runs: Vec<Run> = Vec::new();
    for c in precise {
        let joined = runs
            .iter_mut()
            .rev()
            .find(|r| same_failure(r, &c) && !across_fold(r, &c, &tl.files));
        match joined {
            Some(r) => absorb(r, &c),
            None => runs.push(new_run(&c)),
        }
    }
    // A portal error JSON carries no time: it is placed at its file's date, which is when it was
    // saved, after the failure. It belongs to the latest run with the same code before that date,
    // within a day; else it is a run of its own at that date (flagged as an estimate).
    let limit = Duration::hours(ATTACH_HOURS);
    for c in estimated {
        let target = runs
            .iter_mut()
            .filter(|r| !r.time_is_estimate)
            .filter(|r| c.code.as_deref().is_none_or(|code| code == r.error_code))
            .filter(|r| hosts_agree(r.host.as_deref(), c.host.as_deref()))
            .filter(|r| r.time <= c.ev.time && c.ev.time - r.time <= limit)
            .max_by_key(|r| r.time);
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
            None => Run::empty(at, TimeBasis::Utc),
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
    let given_host = hint.machine.as_deref().and_then(host_key);
    for r in &mut runs {
        r.credential_error = codes::pad_run_error(&r.error_code).is_some()
            || (r.error_code.is_empty() && !r.ntstatus.is_empty());
        if r.error_code.is_empty() {
            r.error_code = "WindowsIdentityIncorrect".into();
        }
        if given_host.is_some() {
            r.host = given_host.clone();
        }
        if r.host.is_none() {
            let first = r
                .sources
                .first()
                .map(|c| c.file.clone())
                .unwrap_or_default();
            r.host = machines.only_for(&first).map(str::to_string);
        }
        if let Some(u) = hint.user.as_deref().and_then(Identity::parse) {
            r.user = Some(IdentitySet::new(u));
            r.user_basis = UserBasis::Given;
            r.user_note = Some("given with --user".into());
        }
        let scope = RunScope::new(r.host.clone(), &machines);
        if r.user.is_none() {
            infer_user(r, events, &tl.snapshots, &scope, &machines);
        }
        learn_aliases(r, events, &tl.snapshots, &scope, &machines);
    }
    runs.sort_by_key(|r| r.time);
    runs
}

/// Whether a record and a run's record of the same file lie on both sides of a step back of the
/// file's zone-less clock (daylight saving ended): the same local time an hour apart.
fn across_fold(r: &Run, c: &Candidate, files: &[crate::model::FileReport]) -> bool {
    let crate::model::Loc::Line(lc) = c.ev.source.loc else {
        return false;
    };
    let Some(report) = files.iter().find(|f| *f.path == *c.ev.source.file) else {
        return false;
    };
    r.sources
        .iter()
        .filter(|s| *s.file == *c.ev.source.file)
        .filter_map(|s| s.line)
        .any(|lr| {
            let (lo, hi) = (lr.min(lc), lr.max(lc));
            report.folds.iter().any(|(f, _)| lo < *f && *f <= hi)
        })
}

/// Two machines do not contradict each other (either is unknown, or they are the same).
fn hosts_agree(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Whether a record is of the same failure as a run: close in time, on the same machine, for
/// the same account and error. Correlation ids decide only between records of one kind (PAD's
/// ids and a flow session's are different id spaces).
fn same_failure(r: &Run, c: &Candidate) -> bool {
    if let Some(b) = &c.correlation {
        if r.ids.iter().any(|(_, a)| a.eq_ignore_ascii_case(b)) {
            return true;
        }
        if r.ids.iter().any(|(o, _)| *o == c.origin) {
            return false;
        }
    }
    if (c.ev.time - r.time).num_seconds().abs() > MERGE_GAP_SECS {
        return false;
    }
    if !hosts_agree(r.host.as_deref(), c.host.as_deref()) {
        return false;
    }
    if let (Some(set), Some(u)) = (&r.user, &c.user) {
        if set.compare(u, r.host.as_deref()) == Match::Different {
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
    fn empty(time: Time, time_basis: TimeBasis) -> Run {
        Run {
            time,
            time_basis,
            host: None,
            ids: Vec::new(),
            error_code: String::new(),
            ntstatus: Vec::new(),
            user: None,
            user_basis: UserBasis::Unknown,
            user_note: None,
            machine: None,
            correlation_id: None,
            sources: Vec::new(),
            time_is_estimate: time_basis == TimeBasis::FileDate,
            credential_error: false,
        }
    }

    /// The run's time is a known instant (not a zone-less text time, not a file date).
    pub fn time_is_exact(&self) -> bool {
        self.time_basis.is_exact()
    }
}

fn new_run(c: &Candidate) -> Run {
    let basis = if c.estimate {
        TimeBasis::FileDate
    } else {
        c.ev.time_basis
    };
    let mut r = Run::empty(c.ev.time, basis);
    absorb(&mut r, c);
    r
}

fn absorb(r: &mut Run, c: &Candidate) {
    if !c.estimate && (r.time_is_estimate || c.ev.time < r.time) {
        r.time = c.ev.time;
        r.time_is_estimate = false;
        r.time_basis = c.ev.time_basis;
    }
    if r.host.is_none() {
        r.host = c.host.clone();
    }
    if let Some(id) = &c.correlation {
        r.ids.push((c.origin, id.clone()));
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

/// No user named anywhere: take the account whose logon failed on this machine at the failure
/// time (nearest first), else the account dsregcmd ran as. Remote failures (other IPs) are
/// never taken: a password spray is not the run.
fn infer_user(
    r: &mut Run,
    events: &[Event],
    snapshots: &[DsregSnapshot],
    scope: &RunScope,
    machines: &Machines,
) {
    let from = r.time - Duration::minutes(2);
    let to = r.time + Duration::minutes(1);
    let mut best: Option<(&Event, Identity, i64)> = None;
    let mut others: Vec<String> = Vec::new();
    for ev in window(events, from, to) {
        let EventData::Security(s) = &ev.data else {
            continue;
        };
        if s.event_id != 4625 || scope.admit(ev, machines) != Admit::Counted {
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
    // The dump nearest the run first: a file may hold an administrator's run and the user's.
    let mut nearest: Vec<&DsregSnapshot> = snapshots.iter().collect();
    nearest.sort_by_key(|s| {
        s.taken_at
            .map_or(i64::MAX, |t| (t - r.time).num_seconds().abs())
    });
    for snap in nearest {
        let host = super::snapshots::host(snap, machines);
        if scope.machine(host.as_deref(), machines) != Admit::Counted {
            continue;
        }
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
fn learn_aliases(
    r: &mut Run,
    events: &[Event],
    snapshots: &[DsregSnapshot],
    scope: &RunScope,
    machines: &Machines,
) {
    let host = r.host.clone();
    let Some(set) = r.user.as_mut() else {
        return;
    };
    for snap in snapshots {
        let snap_host = super::snapshots::host(snap, machines);
        if scope.machine(snap_host.as_deref(), machines) != Admit::Counted {
            continue;
        }
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
        if scope.machine(machines.event(ev).as_deref(), machines) != Admit::Counted {
            continue;
        }
        if id.sid.is_some()
            && set.sids().next().is_none()
            && set.compare(&id, host.as_deref()) == Match::Same
        {
            let why = format!(
                "{}: SID of a logon by the same name",
                Cite::from_event(ev).location()
            );
            set.absorb(std::slice::from_ref(&id), &why);
        }
    }
}
