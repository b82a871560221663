//! Which `dsregcmd /status` dumps speak for a run, and how strongly. A dump shows the device
//! (and the account that ran it) when it was taken, not necessarily at the failure.
//!
//! A dump is dated from its content first: `Client Time` when printed; otherwise it was taken
//! after the latest time it prints (PRT update, last PRT attempt, device certificate issue,
//! last registration) and, when its file date agrees with that, no later than the file date
//! (a file is written no earlier than its content; copies may be later still). Then:
//!
//! - **current**: shown to be within [`FRESH_HOURS`] of the run (by `Client Time`, by content
//!   and file date, or by reporting the run's own failed PRT attempt): it counts fully;
//! - **undated**: not shown either way (a file date far from the run may be a copy date):
//!   it may rule a cause out but not confirm one (confirming evidence counts as support);
//! - **stale**: shown to be more than [`FRESH_HOURS`] from the run, or showing that the state
//!   changed since (a device certificate issued after the run): it can neither confirm nor rule
//!   out, and supports at most.
//!
//! Per run, the dump nearest the run counts, and so does the one run as the connection account
//! when that is another (user-level state: PRT, Windows Hello); other dumps are not used.

use super::runs::Run;
use super::scope::{Admit, Machines, RunScope};
use crate::identity::{host_key, parse_alias_list, Match};
use crate::model::Time;
use crate::sources::dsregcmd::DsregSnapshot;
use chrono::Duration;

/// How far a dump's time may be from the run's for the dump to speak for the run.
pub const FRESH_HOURS: i64 = 24;

/// How near the run a dump's reported PRT attempt must be to be the run's own.
const ATTEMPT_MINUTES: i64 = 15;

/// How much a dump speaks for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Current,
    /// Not shown to be near the run: why.
    Undated(String),
    /// Shown not to describe the state at the run: why.
    Stale(String),
}

/// What a dump says about when it was taken.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dating {
    /// `Client Time`: the instant the dump was taken.
    pub client: Option<Time>,
    /// The latest time the dump prints (taken no earlier), with the key it came from.
    pub after: Option<(Time, &'static str)>,
    /// The file date, when it does not contradict the content (taken no later).
    pub file: Option<Time>,
    /// When the device certificate was issued (the device was joined then).
    pub cert_issued: Option<Time>,
    /// The failed PRT attempt the dump reports (`Previous Prt Attempt`): dsregcmd prints it only
    /// while no PRT refresh has succeeded since.
    pub prt_attempt: Option<Time>,
}

/// Keys whose times a dump can only print after they happened.
const CONTENT_TIMES: &[&str] = &[
    "AzureAdPrtUpdateTime",
    "EnterprisePrtUpdateTime",
    "Previous Prt Attempt",
    "Previous Registration",
];

fn time_of(s: &DsregSnapshot, key: &str) -> Option<Time> {
    s.fields
        .iter()
        .filter(|f| f.key.eq_ignore_ascii_case(key))
        .find_map(|f| crate::time::parse_utc(&f.value))
}

/// `[ 2024-03-11 08:42:17.000 UTC -- 2034-03-11 09:12:17.000 UTC ]`: the start.
fn cert_start(s: &DsregSnapshot) -> Option<Time> {
    s.fields
        .iter()
        .filter(|f| {
            f.key.eq_ignore_ascii_case("DeviceCertificateValidity")
                && !f.section.to_ascii_lowercase().starts_with("work account")
        })
        .find_map(|f| {
            let inner = f.value.trim().trim_start_matches('[');
            crate::time::parse_utc(inner.split("--").next()?)
        })
}

pub fn dating(s: &DsregSnapshot) -> Dating {
    let client = time_of(s, "Client Time");
    let cert_issued = cert_start(s);
    let after = CONTENT_TIMES
        .iter()
        .filter_map(|k| time_of(s, k).map(|t| (t, *k)))
        .chain(cert_issued.map(|t| (t, "DeviceCertificateValidity")))
        .max_by_key(|(t, _)| *t);
    let file = match s.taken_at_basis.as_deref() {
        Some("file modification time") => s.taken_at.filter(|f| after.is_none_or(|(a, _)| *f >= a)),
        _ => None,
    };
    Dating {
        client,
        after,
        file,
        cert_issued,
        prt_attempt: time_of(s, "Previous Prt Attempt"),
    }
}

fn days_or_hours(d: Duration) -> String {
    let h = d.num_minutes().abs() as f64 / 60.0;
    if h >= 48.0 {
        format!("{:.0} days", h / 24.0)
    } else {
        format!("{h:.1} hours")
    }
}

/// How much a dump speaks for a run at `run`.
pub fn standing(d: &Dating, run: Time) -> Standing {
    let limit = Duration::hours(FRESH_HOURS);
    if let Some(c) = d.cert_issued.filter(|c| *c > run) {
        return Standing::Stale(format!(
            "its device certificate was issued {} after the run ({}): the device was joined or \
             re-joined since",
            days_or_hours(c - run),
            c.format("%Y-%m-%d %H:%MZ")
        ));
    }
    // A dump that reports the run's own failed PRT attempt was taken after the failure with no
    // successful refresh since (dsregcmd shows the diagnostics only then): it speaks for it.
    if d.prt_attempt
        .is_some_and(|a| (a - run).num_minutes().abs() <= ATTEMPT_MINUTES)
    {
        return Standing::Current;
    }
    if let Some(c) = d.client {
        let gap = c - run;
        return if gap.abs() <= limit {
            Standing::Current
        } else {
            Standing::Stale(format!(
                "it was taken {} {} the run (Client Time)",
                days_or_hours(gap),
                if gap > Duration::zero() {
                    "after"
                } else {
                    "before"
                }
            ))
        };
    }
    if let Some((a, key)) = d.after.filter(|(a, _)| *a > run + limit) {
        return Standing::Stale(format!(
            "it was taken at least {} after the run (it prints {key} {})",
            days_or_hours(a - run),
            a.format("%Y-%m-%d %H:%MZ")
        ));
    }
    if let Some(f) = d.file.filter(|f| *f < run - limit) {
        return Standing::Stale(format!(
            "its file was written {} before the run",
            days_or_hours(run - f)
        ));
    }
    match d.file {
        // A dump's file is written when it is taken (`dsregcmd /status > file`): a file date
        // near the run, and not before what the dump prints, dates it.
        Some(f) if f <= run + limit => Standing::Current,
        Some(f) => Standing::Undated(format!(
            "it prints no time of its own and its file date is {} after the run (that may be \
             when the bundle was copied)",
            days_or_hours(f - run)
        )),
        None => Standing::Undated("the time it was taken is unknown".into()),
    }
}

/// How far (in seconds) a dump may be from the run, for picking the nearest: 0 when the run
/// falls inside the window its dates allow.
fn distance(d: &Dating, run: Time) -> i64 {
    if let Some(c) = d.client {
        return (c - run).num_seconds().abs();
    }
    let lo = d.after.map(|(a, _)| a);
    let hi = d.file;
    match (lo, hi) {
        (Some(l), _) if l > run => (l - run).num_seconds(),
        (_, Some(h)) if h < run => (run - h).num_seconds(),
        (None, None) => i64::MAX / 2,
        _ => 0,
    }
}

/// A dump as the report names it: its file, and which dump of the file when it holds several.
pub fn label(s: &DsregSnapshot) -> String {
    if s.dumps > 1 {
        format!("{} (dump {} of {})", s.source.file, s.dump, s.dumps)
    } else {
        s.source.file.to_string()
    }
}

/// The machine a dump was taken on: its device name, else its file's.
pub fn host(s: &DsregSnapshot, machines: &Machines) -> Option<String> {
    s.device_name
        .as_deref()
        .and_then(host_key)
        .or_else(|| machines.file(&s.source.file).map(str::to_string))
}

/// Whether the dump was run as the run's connection account.
fn run_as_user(s: &DsregSnapshot, run: &Run, machine: Option<&str>) -> bool {
    let (Some(acc), Some(user)) = (s.executing_account.as_deref(), run.user.as_ref()) else {
        return false;
    };
    parse_alias_list(acc)
        .iter()
        .any(|a| user.compare(a, machine) == Match::Same)
}

/// The dumps that speak for a run, with their standing: the nearest of its machine, and the
/// nearest run as the connection account when that is another. Also the dumps not used, with
/// why, for the report.
pub fn choose<'a>(
    run: &Run,
    snaps: &'a [DsregSnapshot],
    scope: &RunScope,
    machines: &Machines,
) -> (Vec<(&'a DsregSnapshot, Standing)>, Vec<String>) {
    let mut unused = Vec::new();
    let mut own: Vec<(&DsregSnapshot, Dating)> = Vec::new();
    for s in snaps {
        match scope.machine(host(s, machines).as_deref(), machines) {
            Admit::Counted => own.push((s, dating(s))),
            Admit::Context(why) => unused.push(format!("{}: not used, {why}", label(s))),
        }
    }
    // Current before undated before stale, then nearest; the later dump on a tie.
    let rank = |(s, d): &(&DsregSnapshot, Dating)| {
        let st = match standing(d, run.time) {
            Standing::Current => 0,
            Standing::Undated(_) => 1,
            Standing::Stale(_) => 2,
        };
        (st, distance(d, run.time), std::cmp::Reverse(s.taken_at))
    };
    own.sort_by_key(rank);
    let mut chosen: Vec<usize> = Vec::new();
    if !own.is_empty() {
        chosen.push(0);
    }
    if let Some(i) = own
        .iter()
        .position(|(s, _)| run_as_user(s, run, scope.host.as_deref()))
    {
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    for (i, (s, _)) in own.iter().enumerate() {
        if !chosen.contains(&i) {
            unused.push(format!(
                "{}: not used, a dump nearer the run (or run as the connection account) speaks \
                 for it",
                label(s)
            ));
        }
    }
    let picked = chosen
        .into_iter()
        .map(|i| (own[i].0, standing(&own[i].1, run.time)))
        .collect();
    (picked, unused)
}
