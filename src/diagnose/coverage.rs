//! Coverage: when the absence of a record means something. "No failed logon of the connection
//! user around the run" rules a cause out only when a log of the run's machine was read
//! completely, covers the whole window (from its start to its end), and is shown to record that
//! kind of event at all (a Security log with no 4625 anywhere may have failed-logon auditing
//! off). Anything less gives `unknown`, and the report says which condition failed.

use super::facts::kind_matches;
use super::rules::EvidenceSource;
use super::scope::{Admit, Machines, RunScope};
use crate::identity::host_key;
use crate::model::{FileReport, Time};
use crate::sources::registry;

/// One log that could speak for (or against) a record's absence.
#[derive(Debug, Clone)]
pub struct LogCover {
    pub source: EvidenceSource,
    pub file: String,
    pub first: Option<Time>,
    pub last: Option<Time>,
    /// Why the file was not read completely, when it was not.
    pub partial: Option<String>,
    /// Kinds of events the log holds anywhere (`security.4625`), read or not.
    pub kinds: Vec<String>,
}

/// The evidence sources a bundle has, and the logs of a run's machine.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Sources present in the bundle at all (any machine): what to collect is what is missing.
    pub present: Vec<EvidenceSource>,
    /// Logs of the run's machine.
    pub logs: Vec<LogCover>,
}

/// Which evidence sources a file provides: its format's, or, for logs of Windows events, those
/// of the channels its records came from.
pub fn sources_of(f: &FileReport) -> Vec<EvidenceSource> {
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

/// Whether a file is of the run's machine (a log naming several machines is, when one of them
/// is the run's).
fn of_run_machine(f: &FileReport, scope: &RunScope, machines: &Machines) -> bool {
    let own: Vec<String> = f.computers.iter().filter_map(|c| host_key(c)).collect();
    if own.len() > 1 {
        return scope.host.as_ref().is_some_and(|h| own.contains(h));
    }
    scope.machine(machines.file(&f.path), machines) == Admit::Counted
}

impl Coverage {
    pub fn of(files: &[FileReport], scope: &RunScope, machines: &Machines) -> Coverage {
        let mut cov = Coverage::default();
        for f in files.iter().filter(|f| f.skipped.is_none()) {
            let sources = sources_of(f);
            for s in &sources {
                if !cov.present.contains(s) {
                    cov.present.push(*s);
                }
            }
            if !registry::is_log(f.kind) || !of_run_machine(f, scope, machines) {
                continue;
            }
            let partial = f.is_partial().then(|| {
                format!(
                    "{} was only partly read ({} unreadable records{})",
                    f.path,
                    f.errors,
                    f.problems
                        .first()
                        .map(|p| format!("; {}", p.message))
                        .unwrap_or_default()
                )
            });
            for s in sources {
                cov.logs.push(LogCover {
                    source: s,
                    file: f.path.clone(),
                    first: f.first,
                    last: f.last,
                    partial: partial.clone(),
                    kinds: f.kinds.clone(),
                });
            }
        }
        cov
    }

    /// Whether the absence of a `kind` record in `[from, to]` counts: `Ok` with the log that
    /// shows it, else why not (`None` when the bundle has no such log of the machine at all).
    pub fn absence(
        &self,
        source: EvidenceSource,
        kind: &str,
        from: Time,
        to: Time,
    ) -> Result<&LogCover, Option<String>> {
        let mut why: Option<String> = None;
        let fmt = |t: Time| t.format("%Y-%m-%d %H:%M:%SZ").to_string();
        for log in self.logs.iter().filter(|l| l.source == source) {
            let reason = match (log.first, log.last) {
                (Some(a), _) if a > from => Some(format!(
                    "{} starts at {}, after the window's start ({}): the log may have wrapped",
                    log.file,
                    fmt(a),
                    fmt(from)
                )),
                (_, Some(b)) if b < to => Some(format!(
                    "{} ends at {}, before the window's end ({})",
                    log.file,
                    fmt(b),
                    fmt(to)
                )),
                (None, _) | (_, None) => Some(format!("{} holds no dated record", log.file)),
                _ => None,
            }
            .or_else(|| log.partial.clone())
            .or_else(|| {
                (!log.kinds.iter().any(|k| kind_matches(kind, k))).then(|| {
                    format!(
                        "{} holds no {kind} record at all, so it may not be recording them \
                         (for 4625: failed-logon auditing may be off)",
                        log.file
                    )
                })
            });
            match reason {
                None => return Ok(log),
                Some(r) => {
                    why.get_or_insert(r);
                }
            }
        }
        Err(why)
    }
}
