//! Diagnosis: finding failed runs, scoping the evidence around each to the run's machine,
//! account and time, evaluating the rules, and producing per-cause verdicts with cited evidence
//! and what to collect.
//!
//! `runs` finds the runs; `zones` settles times written without a zone; `scope` decides which
//! evidence is about a run; `snapshots` which dsregcmd dumps speak for it; `coverage` when the
//! absence of a record means something; `facts` and `rules` are the rule language; `verdict`
//! judges one cause.

pub mod coverage;
pub mod facts;
pub mod rules;
pub mod runs;
pub mod scope;
pub mod snapshots;
pub mod verdict;
pub mod zones;

use crate::codes;
use crate::model::{Time, TimeBasis};
use crate::sources::{Event, EventData};
use crate::timeline::{window, Timeline};
use chrono::Duration;
use coverage::Coverage;
use facts::{Cite, Fact};
use rules::RuleSet;
use runs::Run;
use scope::{Admit, Machines, RunScope};
use serde::{Deserialize, Serialize};
use snapshots::Standing;
use verdict::{CauseResult, Context, Verdict};

/// Version of the JSON output (`schema/analysis.schema.json`). Bump the major on breaking change.
pub const SCHEMA_VERSION: &str = "1.2";

/// How far from a run's time a failed logon may be to be the same attempt as the run's.
const SAME_ATTEMPT_SECS: i64 = 120;

/// One run's diagnosis. Serialized into `analyze --format json` (`runs[]`); read back when a
/// report is redacted (see `report::redact`), so every field deserializes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunDiagnosis {
    pub time: Time,
    pub time_is_estimate: bool,
    /// How the run's time is known: `utc`, `offset`, `inferred`, `given` (exact); `assumed` (a
    /// time without zone read as UTC), `file_date` (an estimate).
    pub time_basis: TimeBasis,
    pub error_code: String,
    pub error_meaning: Option<String>,
    pub ntstatus: Vec<String>,
    /// False when the run failed with an error padtriage's causes are not about.
    pub credential_error: bool,
    pub user: Option<String>,
    pub user_aliases: Vec<String>,
    pub user_basis: String,
    pub user_note: Option<String>,
    /// The machine the run failed on, as the evidence names it (or the id a run record gives).
    pub machine: Option<String>,
    pub correlation_id: Option<String>,
    pub window: WindowSpan,
    /// The records that establish the run.
    pub sources: Vec<Cite>,
    pub primary_cause: Option<String>,
    pub primary_verdict: Option<Verdict>,
    pub summary: String,
    pub notes: Vec<String>,
    /// Where evidence about the same attempt disagreed, and which decided.
    pub conflicts: Vec<String>,
    pub causes: Vec<CauseResult>,
    /// The events of the run's window, family by family, cited or not: what a picture of the
    /// minutes around the failure draws (schema 1.2).
    pub activity: Vec<Activity>,
}

/// Most event times kept per family and scope in [`Activity`]: enough to draw, small in JSON.
pub const MAX_ACTIVITY_TIMES: usize = 200;

/// The events of one evidence family in a run's window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activity {
    /// The family: the prefix of its events' kinds (`security` in `security.4625`).
    pub family: String,
    /// Events in the run's scope (counted), and out of it (shown as context only).
    pub counted: usize,
    pub context: usize,
    /// Their times, at most [`MAX_ACTIVITY_TIMES`] of each, evenly thinned when there are more.
    pub times: Vec<Time>,
    pub context_times: Vec<Time>,
}

impl Activity {
    fn new(family: &str) -> Self {
        Activity {
            family: family.to_string(),
            counted: 0,
            context: 0,
            times: Vec::new(),
            context_times: Vec::new(),
        }
    }
}

/// Every family's activity in the window, the dumps that speak for the run as `dsregcmd`.
fn activity(events: &[(&Event, bool)], snapshots: &[Option<Time>]) -> Vec<Activity> {
    let mut out: Vec<Activity> = Vec::new();
    let mut all: Vec<(String, Time, bool)> = events
        .iter()
        .map(|(e, counted)| {
            let kind = e.kind();
            let family = kind.split('.').next().unwrap_or(&kind).to_string();
            (family, e.time, *counted)
        })
        .collect();
    all.extend(
        snapshots
            .iter()
            .flatten()
            .map(|t| ("dsregcmd".to_string(), *t, true)),
    );
    for (family, time, counted) in all {
        let i = match out.iter().position(|a| a.family == family) {
            Some(i) => i,
            None => {
                out.push(Activity::new(&family));
                out.len() - 1
            }
        };
        let a = &mut out[i];
        if counted {
            a.counted += 1;
            a.times.push(time);
        } else {
            a.context += 1;
            a.context_times.push(time);
        }
    }
    for a in &mut out {
        thin(&mut a.times);
        thin(&mut a.context_times);
    }
    out
}

/// Keep at most [`MAX_ACTIVITY_TIMES`], evenly spread, first and last included.
fn thin(times: &mut Vec<Time>) {
    let n = times.len();
    if n <= MAX_ACTIVITY_TIMES {
        return;
    }
    let keep = MAX_ACTIVITY_TIMES;
    *times = (0..keep).map(|i| times[i * (n - 1) / (keep - 1)]).collect();
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct WindowSpan {
    pub from: Time,
    pub to: Time,
}

/// Diagnose each run against every rule.
pub fn diagnose(
    tl: &Timeline,
    runs: &[Run],
    rules: &RuleSet,
    before: Duration,
    after: Duration,
) -> Vec<RunDiagnosis> {
    let machines = Machines::of(&tl.files);
    runs.iter()
        .map(|run| diagnose_run(tl, &machines, run, rules, before, after))
        .collect()
}

/// The run's detail codes as the rules see them: an umbrella status PAD reported (0xC000006D,
/// 0xC000006E) is replaced by the SubStatus of the same attempt's 4625 when one says more, and
/// the disagreement is reported.
fn refine_detail(run: &Run, counted: &[&Event], conflicts: &mut Vec<String>) -> Vec<u32> {
    let mut out = Vec::new();
    for &code in &run.ntstatus {
        let twin = counted
            .iter()
            .filter(|e| (e.time - run.time).num_seconds().abs() <= SAME_ATTEMPT_SECS)
            .filter_map(|e| match &e.data {
                EventData::Security(s) if s.event_id == 4625 => Some((e, s)),
                _ => None,
            })
            .filter(|(e, _)| {
                let (Some(set), Some(u)) = (&run.user, e.user()) else {
                    return false;
                };
                set.is(&u, run.host.as_deref())
            })
            .filter(|(_, s)| {
                s.status == Some(code) && s.sub_status.is_some_and(|sub| codes::refines(code, sub))
            })
            .min_by_key(|(e, _)| (e.time - run.time).num_milliseconds().abs());
        match twin.and_then(|(e, s)| Some((e, s.sub_status?))) {
            Some((e, sub)) => {
                conflicts.push(format!(
                    "PAD reported {}, the generic status of the attempt; the Security log's 4625 \
                     for the same attempt ({}) gives the specific reason {}, which decides",
                    codes::describe_hex(code),
                    Cite::from_event(e).location(),
                    codes::describe_hex(sub)
                ));
                if !out.contains(&sub) {
                    out.push(sub);
                }
            }
            None => {
                if !out.contains(&code) {
                    out.push(code);
                }
            }
        }
    }
    out
}

fn diagnose_run(
    tl: &Timeline,
    machines: &Machines,
    run: &Run,
    rules: &RuleSet,
    before: Duration,
    after: Duration,
) -> RunDiagnosis {
    let from = run.time - before;
    let to = run.time + after;
    let scope = RunScope::new(run.host.clone(), machines);
    let mut notes = Vec::new();
    let mut conflicts = Vec::new();

    // Evidence in the window: counted when in the run's scope, else context.
    let mut counted: Vec<&Event> = Vec::new();
    let mut outside: Vec<(Fact, String)> = Vec::new();
    let mut seen: Vec<(&Event, bool)> = Vec::new();
    for ev in window(&tl.events, from, to) {
        match scope.admit(ev, machines) {
            Admit::Counted => {
                counted.push(ev);
                seen.push((ev, true));
            }
            Admit::Context(why) => {
                outside.push((facts::from_event(ev), why));
                seen.push((ev, false));
            }
        }
    }
    let mut refined = run.clone();
    refined.ntstatus = refine_detail(run, &counted, &mut conflicts);
    let mut facts: Vec<Fact> = vec![facts::from_run(&refined)];
    facts.extend(counted.iter().map(|e| facts::from_event(e)));

    // The dumps that speak for the run.
    let (chosen, unused) = snapshots::choose(run, &tl.snapshots, &scope, machines);
    let dump_times: Vec<Option<Time>> = chosen.iter().map(|(s, _)| s.taken_at).collect();
    for (s, standing) in chosen {
        match &standing {
            Standing::Current => {}
            Standing::Undated(why) => notes.push(format!(
                "{}: may not show the state at the failure ({why}); it rules causes out but \
                 confirms none",
                snapshots::label(s)
            )),
            Standing::Stale(why) => notes.push(format!(
                "{}: does not show the state at the failure ({why}); it neither confirms nor \
                 rules out, and supports at most",
                snapshots::label(s)
            )),
        }
        facts.push(facts::from_snapshot(s, &refined, standing));
    }
    notes.extend(unused);

    // How the run's time is known.
    match run.time_basis {
        TimeBasis::FileDate => notes.push(
            "the run's time comes from a file date, not a record: pass --at with the failure \
             time for a precise window"
                .to_string(),
        ),
        TimeBasis::Assumed => notes.push(
            "the run's time was written without a zone and read as UTC; nothing showed the \
             zone, so evidence around it is not counted as confirmation or by its absence (pass \
             --tz)"
                .to_string(),
        ),
        _ => {}
    }
    for s in &run.sources {
        if let Some(n) = tl.time_notes.get(&s.file) {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
    }
    if scope.host.is_none() && !machines.names.is_empty() {
        notes.push(format!(
            "the bundle's evidence comes from {} ({}) and nothing ties this run to {}: that \
             evidence is not counted (pass --machine)",
            if machines.several() {
                "several machines"
            } else {
                "a machine"
            },
            machines
                .names
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if machines.several() {
                "one of them"
            } else {
                "it"
            },
        ));
    }

    let cov = Coverage::of(&tl.files, &scope, machines);
    for log in &cov.logs {
        let spans = log.first.is_some_and(|a| a <= to) && log.last.is_some_and(|b| b >= from);
        if let (true, Some(why)) = (spans, &log.partial) {
            let note = format!("partly unreadable evidence: {why}");
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
    let ctx = Context {
        run: &refined,
        facts: &facts,
        outside: &outside,
        coverage: &cov,
        from,
        to,
    };
    let mut causes: Vec<CauseResult> = if run.credential_error {
        rules
            .rules
            .iter()
            .map(|r| verdict::evaluate(r, &ctx))
            .collect()
    } else {
        Vec::new()
    };
    // The strongest verdict first; among confirmed causes, the one resting on the most
    // specific evidence about the attempt; then the rule's priority.
    causes.sort_by(|a, b| {
        b.verdict
            .cmp(&a.verdict)
            .then(b.specificity.cmp(&a.specificity))
            .then(b.priority.cmp(&a.priority))
            .then(a.cause.cmp(&b.cause))
    });
    let confirmed: Vec<&CauseResult> = causes
        .iter()
        .filter(|c| c.verdict == Verdict::Confirmed)
        .collect();
    if confirmed.len() > 1 {
        conflicts.push(format!(
            "the evidence confirms {} causes ({}); {} rests on the most specific evidence about \
             the attempt and is taken as the primary cause",
            confirmed.len(),
            confirmed
                .iter()
                .map(|c| c.cause.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            confirmed[0].cause
        ));
    }
    let primary = causes
        .first()
        .filter(|c| matches!(c.verdict, Verdict::Confirmed | Verdict::Likely));
    let summary = summarize(run, &causes);
    RunDiagnosis {
        time: run.time,
        time_is_estimate: run.time_is_estimate,
        time_basis: run.time_basis,
        error_code: run.error_code.clone(),
        error_meaning: codes::PAD_RUN_ERRORS
            .iter()
            .find(|(n, _)| *n == run.error_code)
            .map(|(_, m)| m.to_string()),
        ntstatus: run
            .ntstatus
            .iter()
            .map(|c| codes::describe_hex(*c))
            .collect(),
        credential_error: run.credential_error,
        user: run
            .user
            .as_ref()
            .and_then(|u| u.primary())
            .map(|i| i.raw.clone()),
        user_aliases: run
            .user
            .as_ref()
            .map(|u| {
                let mut names: Vec<String> = Vec::new();
                for i in u.ids.iter().skip(1) {
                    let primary = u.primary().is_some_and(|p| p.raw == i.raw);
                    if !primary && !names.contains(&i.raw) {
                        names.push(i.raw.clone());
                    }
                }
                names
            })
            .unwrap_or_default(),
        user_basis: run.user_basis.as_str().to_string(),
        user_note: run.user_note.clone(),
        machine: run
            .host
            .as_deref()
            .map(|h| machines.display(h).to_string())
            .or_else(|| run.machine.clone()),
        correlation_id: run.correlation_id.clone(),
        window: WindowSpan { from, to },
        sources: run.sources.clone(),
        primary_cause: primary.map(|c| c.cause.clone()),
        primary_verdict: primary.map(|c| c.verdict),
        summary,
        notes,
        conflicts,
        causes,
        activity: activity(&seen, &dump_times),
    }
}

fn summarize(run: &Run, causes: &[CauseResult]) -> String {
    if !run.credential_error {
        return format!(
            "{} is not a credential or logon failure; padtriage's causes do not apply to it",
            run.error_code
        );
    }
    let confirmed: Vec<&CauseResult> = causes
        .iter()
        .filter(|c| c.verdict == Verdict::Confirmed)
        .collect();
    let likely: Vec<&CauseResult> = causes
        .iter()
        .filter(|c| c.verdict == Verdict::Likely)
        .collect();
    let unknown = causes
        .iter()
        .filter(|c| c.verdict == Verdict::Unknown)
        .count();
    let mut s = match (confirmed.first(), likely.first()) {
        (Some(c), _) => format!("Most probable cause: {} (confirmed).", c.title),
        (None, Some(l)) => format!("Most probable cause: {} (likely).", l.title),
        (None, None) => {
            return format!(
                "No cause is supported by the evidence in the bundle; {unknown} causes are unknown for lack of evidence (see what to collect)."
            )
        }
    };
    let others: Vec<String> = confirmed
        .iter()
        .skip(1)
        .map(|c| format!("{} (confirmed)", c.cause))
        .chain(
            likely
                .iter()
                .skip(usize::from(confirmed.is_empty()))
                .map(|c| format!("{} (likely)", c.cause)),
        )
        .collect();
    if !others.is_empty() {
        s.push_str(&format!(" Also supported: {}.", others.join(", ")));
    }
    s
}
