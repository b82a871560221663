//! Times without a zone. PAD logs, CSV exports and XML exports sometimes write local times with
//! no offset; readers take them as UTC and mark them `assumed`. Before runs are found, each such
//! file is settled: read in the zone given with `--tz`; else in the zone the evidence shows (its
//! failures line up, to the second, with the same failures in a log that records UTC: the
//! Security log's 4625 events on that machine); else left as UTC, marked as an assumption, and
//! the report says so. A run whose time stays uncertain gets no absence evidence and no
//! confirmation from the minutes around it.

use super::scope::{Admit, Machines, RunScope};
use crate::model::{Time, TimeBasis};
use crate::sources::{Event, EventData};
use crate::time::Zone;
use crate::timeline::{sort_events, Timeline};
use chrono::Duration;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The widest offset a zone may have from UTC (Kiribati: UTC+14; UTC-12 the other way).
pub const MAX_OFFSET_HOURS: i64 = 14;

/// How close (seconds) a failure in the zone-less file and its UTC twin must be, once shifted:
/// PAD logs the failure a moment after Windows logs the logon attempt.
const TWIN_SECS: i64 = 5;

/// Zones are whole quarter hours from UTC.
const STEP_SECS: i64 = 900;

/// A record of a failed run (what the file's times are checked against).
fn is_failure(ev: &Event) -> bool {
    match &ev.data {
        EventData::PadLog(p) => !p.error_codes.is_empty() || !p.ntstatus.is_empty(),
        EventData::RunRecord(_) => true,
        _ => false,
    }
}

/// A failed logon recorded in UTC on the machine, by a local attempt: the twin a failure of the
/// zone-less file may have.
fn is_utc_twin(ev: &Event, host: Option<&str>, machines: &Machines) -> bool {
    let EventData::Security(s) = &ev.data else {
        return false;
    };
    s.event_id == 4625
        && ev.time_basis == TimeBasis::Utc
        && RunScope::new(host.map(str::to_string), machines).admit(ev, machines) == Admit::Counted
}

/// The offset (UTC minus the file's times, in seconds) that lines the file's failures up with
/// their UTC twins, and a twin that shows it; `None` when no single offset does.
fn infer(tl: &Timeline, file: &str, machines: &Machines) -> Option<(i64, Event)> {
    let range = Duration::hours(MAX_OFFSET_HOURS);
    let mut votes: BTreeMap<i64, (BTreeSet<u64>, Event)> = BTreeMap::new();
    let failures = tl
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| &*e.source.file == file && is_failure(e));
    for (i, f) in failures {
        let host = machines.event(f);
        let user = f.user();
        let twins = tl.events.iter().filter(|e| {
            (e.time - f.time).abs() <= range + Duration::seconds(TWIN_SECS)
                && is_utc_twin(e, host.as_deref(), machines)
        });
        for t in twins {
            if let (Some(a), Some(b)) = (&user, t.user()) {
                if a.compare(&b, host.as_deref()) == crate::identity::Match::Different {
                    continue;
                }
            }
            let delta = (t.time - f.time).num_seconds();
            let zone = (delta as f64 / STEP_SECS as f64).round() as i64 * STEP_SECS;
            if (delta - zone).abs() <= TWIN_SECS {
                votes
                    .entry(zone)
                    .or_insert_with(|| (BTreeSet::new(), t.clone()))
                    .0
                    .insert(i as u64);
            }
        }
    }
    let best = votes.values().map(|(v, _)| v.len()).max()?;
    let mut winners = votes.into_iter().filter(|(_, (v, _))| v.len() == best);
    let (zone, (_, twin)) = winners.next()?;
    // Two offsets that fit equally well show nothing.
    winners.next().is_none().then_some((zone, twin))
}

/// How a file's zone-less times are moved to UTC.
enum Shift {
    /// Read in a zone (`--tz`), with its daylight-saving rules.
    Zone(Zone),
    /// By a fixed offset the evidence showed.
    Seconds(i64),
}

impl Shift {
    fn apply(&self, t: Time, second_pass: bool) -> Time {
        match self {
            Shift::Zone(z) => z.to_utc(t, second_pass),
            Shift::Seconds(s) => t + Duration::seconds(*s),
        }
    }
}

/// Whether a zone-less time falls in the hour a clock set back repeated, after the step: the
/// file went back (a fold at or before its line) to a time at or before it, within the hour.
fn second_pass(folds: &[(u64, Time)], e: &Event) -> bool {
    let crate::model::Loc::Line(line) = e.source.loc else {
        return false;
    };
    folds
        .iter()
        .any(|(at, to)| *at <= line && *to <= e.time && e.time - *to < Duration::hours(1))
}

fn offset_text(secs: i64) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    format!("UTC{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// Settle every file whose times carry no zone (see the module doc). Returns a note per file,
/// by file, for the runs whose records come from it.
pub fn settle(tl: &mut Timeline, tz: Option<Zone>) -> BTreeMap<String, String> {
    let machines = Machines::of(&tl.files);
    let files: BTreeSet<Arc<str>> = tl
        .events
        .iter()
        .filter(|e| e.time_basis == TimeBasis::Assumed)
        .map(|e| Arc::clone(&e.source.file))
        .collect();
    let mut notes = BTreeMap::new();
    for file in files {
        let folds: Vec<(u64, Time)> = tl
            .files
            .iter()
            .find(|r| *r.path == *file)
            .map(|r| r.folds.clone())
            .unwrap_or_default();
        let (basis, note, shift) = match (tz, infer(tl, &file, &machines)) {
            (Some(z), _) => (
                TimeBasis::Given,
                format!("times in {file} carry no zone; they were read in {z} (--tz)"),
                Shift::Zone(z),
            ),
            (None, Some((secs, twin))) => (
                TimeBasis::Inferred,
                format!(
                    "times in {file} carry no zone; its failures line up with {} ({}) when read \
                     as {}, so they were read in that zone",
                    super::facts::Cite::from_event(&twin).location(),
                    twin.time.format("%Y-%m-%d %H:%M:%SZ"),
                    offset_text(-secs)
                ),
                Shift::Seconds(secs),
            ),
            (None, None) => {
                notes.insert(
                    file.to_string(),
                    format!(
                        "times in {file} carry no zone and no record in a log that records UTC \
                         shows which; they were read as UTC, which may be wrong by hours (pass \
                         --tz with the zone of the machine that wrote it)"
                    ),
                );
                continue;
            }
        };
        for e in tl
            .events
            .iter_mut()
            .filter(|e| e.source.file == file && e.time_basis == TimeBasis::Assumed)
        {
            let second = second_pass(&folds, e);
            e.time = shift.apply(e.time, second);
            e.time_basis = basis;
        }
        if let Some(r) = tl.files.iter_mut().find(|r| *r.path == *file) {
            r.first = r.first.map(|t| shift.apply(t, false));
            r.last = r.last.map(|t| shift.apply(t, false));
        }
        notes.insert(file.to_string(), note);
    }
    sort_events(&mut tl.events);
    notes
}
