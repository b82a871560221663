//! Diagnosis: finding failed runs, gathering the evidence in a window around each, evaluating the
//! rules, and producing per-cause verdicts with cited evidence and what to collect.

pub mod facts;
pub mod rules;
pub mod runs;
pub mod verdict;

use crate::codes;
use crate::model::{FileReport, Time};
use crate::sources::registry;
use crate::timeline::{window, Timeline};
use chrono::Duration;
use facts::{Cite, Fact};
use rules::{EvidenceSource, RuleSet};
use runs::Run;
use serde::Serialize;
use verdict::{CauseResult, Context, Coverage, Verdict};

/// Version of the JSON output (`schema/analysis.schema.json`). Bump the major on breaking change.
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, Serialize)]
pub struct RunDiagnosis {
    pub time: Time,
    pub time_is_estimate: bool,
    pub error_code: String,
    pub error_meaning: Option<&'static str>,
    pub ntstatus: Vec<String>,
    /// False when the run failed with an error padtriage's causes are not about.
    pub credential_error: bool,
    pub user: Option<String>,
    pub user_aliases: Vec<String>,
    pub user_basis: &'static str,
    pub user_note: Option<String>,
    pub machine: Option<String>,
    pub correlation_id: Option<String>,
    pub window: WindowSpan,
    /// The records that establish the run.
    pub sources: Vec<Cite>,
    pub primary_cause: Option<String>,
    pub primary_verdict: Option<Verdict>,
    pub summary: String,
    pub notes: Vec<String>,
    pub causes: Vec<CauseResult>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct WindowSpan {
    pub from: Time,
    pub to: Time,
}

/// Which evidence sources a file provides: its format's, or, for logs of Windows events, those
/// of the channels its records came from.
fn source_of(f: &FileReport) -> Vec<EvidenceSource> {
    let names: Vec<&str> = match registry::format_source(f.kind) {
        Some(s) => vec![s],
        None => f
            .channels
            .iter()
            .filter_map(|c| registry::family_of_channel(c).map(|fam| fam.source()))
            .collect(),
    };
    names
        .into_iter()
        .filter_map(EvidenceSource::named)
        .collect()
}

/// Which sources are present, and which cover the run's time completely.
pub fn coverage(files: &[FileReport], run_time: Time, from: Time) -> Coverage {
    let mut cov = Coverage::default();
    for f in files.iter().filter(|f| f.skipped.is_none()) {
        for src in source_of(f) {
            if !cov.present.contains(&src) {
                cov.present.push(src);
            }
            // Snapshots and run records are bundle-wide; logs must span the run's window.
            let spans = !registry::is_log(f.kind)
                || match (f.first, f.last) {
                    (Some(a), Some(b)) => a <= from && b >= run_time - Duration::minutes(2),
                    _ => false,
                };
            if !spans {
                continue;
            }
            if f.is_partial() {
                cov.partial.insert(
                    src.as_str(),
                    format!(
                        "{} spans the run but was only partly read ({} unreadable records{})",
                        f.path,
                        f.errors,
                        f.problems
                            .first()
                            .map(|p| format!("; {}", p.message))
                            .unwrap_or_default()
                    ),
                );
            } else if !cov.complete.contains(&src) {
                cov.complete.push(src);
            }
        }
    }
    // A fully read copy elsewhere in the bundle makes a partial one moot.
    for s in &cov.complete {
        cov.partial.remove(s.as_str());
    }
    cov
}

/// Diagnose each run against every rule.
pub fn diagnose(
    tl: &Timeline,
    runs: &[Run],
    rules: &RuleSet,
    before: Duration,
    after: Duration,
) -> Vec<RunDiagnosis> {
    runs.iter()
        .map(|run| diagnose_run(tl, run, rules, before, after))
        .collect()
}

fn diagnose_run(
    tl: &Timeline,
    run: &Run,
    rules: &RuleSet,
    before: Duration,
    after: Duration,
) -> RunDiagnosis {
    let from = run.time - before;
    let to = run.time + after;
    let mut facts: Vec<Fact> = vec![facts::from_run(run)];
    facts.extend(window(&tl.events, from, to).iter().map(facts::from_event));
    facts.extend(tl.snapshots.iter().map(|s| facts::from_snapshot(s, run)));
    let cov = coverage(&tl.files, run.time, from);
    let mut notes = Vec::new();
    if run.time_is_estimate {
        notes.push(
            "the run's time comes from a file date, not a record: pass --at with the failure time for a precise window"
                .to_string(),
        );
    }
    for s in &tl.snapshots {
        match (s.taken_at, s.taken_at_basis.as_deref()) {
            (Some(t), Some("file modification time")) => {
                let h = (t - run.time).num_minutes() as f64 / 60.0;
                if h.abs() > 1.0 {
                    notes.push(format!(
                        "{}: the dump prints no time of its own; its file date is {:.1} hours {} the run (that may be when the bundle was copied), so it may not show the state at the failure",
                        s.source.file,
                        h.abs(),
                        if h > 0.0 { "after" } else { "before" },
                    ));
                }
            }
            (Some(t), basis) => {
                let h = (t - run.time).num_minutes() as f64 / 60.0;
                if h.abs() > 1.0 {
                    notes.push(format!(
                        "{} was taken {:.1} hours {} the run ({}); device state may have changed in between",
                        s.source.file,
                        h.abs(),
                        if h > 0.0 { "after" } else { "before" },
                        basis.unwrap_or("time source unknown")
                    ));
                }
            }
            (None, _) => notes.push(format!(
                "{}: the time of this dsregcmd dump is unknown; it may not show the state at the failure",
                s.source.file
            )),
        }
    }
    for why in cov.partial.values() {
        notes.push(format!("partly unreadable evidence: {why}"));
    }
    let ctx = Context {
        run,
        facts: &facts,
        coverage: &cov,
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
    causes.sort_by(|a, b| {
        b.verdict
            .cmp(&a.verdict)
            .then(b.priority.cmp(&a.priority))
            .then(a.cause.cmp(&b.cause))
    });
    let primary = causes
        .first()
        .filter(|c| matches!(c.verdict, Verdict::Confirmed | Verdict::Likely));
    let summary = summarize(run, &causes);
    RunDiagnosis {
        time: run.time,
        time_is_estimate: run.time_is_estimate,
        error_code: run.error_code.clone(),
        error_meaning: codes::PAD_RUN_ERRORS
            .iter()
            .find(|(n, _)| *n == run.error_code)
            .map(|(_, m)| *m),
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
            .map(|u| u.ids.iter().skip(1).map(|i| i.raw.clone()).collect())
            .unwrap_or_default(),
        user_basis: run.user_basis.as_str(),
        user_note: run.user_note.clone(),
        machine: run.machine.clone(),
        correlation_id: run.correlation_id.clone(),
        window: WindowSpan { from, to },
        sources: run.sources.clone(),
        primary_cause: primary.map(|c| c.cause.clone()),
        primary_verdict: primary.map(|c| c.verdict),
        summary,
        notes,
        causes,
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
