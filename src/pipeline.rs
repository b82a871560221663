//! The whole job on one bundle as library calls, for the command line and for batch scans:
//! [`open`] a bundle (the bundle walk with the sources' classifier), [`analyze`] it (read the
//! run records, find the runs, read the event logs around them, judge every cause).

use crate::bundle::{self, Bundle, BundleError, Limits};
use crate::diagnose::{self, rules::RuleSet, runs, zones};
use crate::model::{EventFilter, FileReport};
use crate::report::analysis::Analysis;
use crate::sources::detect;
use crate::timeline::{self, Pass, ReadOptions};
use chrono::Duration;
use std::path::PathBuf;

/// Walk the given folders, zips and files into a bundle, recognising each file by content.
pub fn open(paths: &[PathBuf], limits: &Limits) -> Result<Bundle, BundleError> {
    bundle::open_bundle(paths, limits, detect::sniff)
}

/// How `analyze` looks at a bundle.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Evidence window before and after each run's failure time.
    pub before: Duration,
    pub after: Duration,
    /// What the user said about the run (`--at`, `--user`, `--error`, `--machine`).
    pub hint: runs::RunHint,
    /// The zone of times written without one (`--tz`); else inferred from the evidence.
    pub tz: Option<crate::time::Zone>,
    pub read: ReadOptions,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            before: Duration::minutes(15),
            after: Duration::minutes(2),
            hint: runs::RunHint::default(),
            tz: None,
            read: ReadOptions::default(),
        }
    }
}

/// What `analyze` found: the analysis document every report renders, and the file reports.
pub struct Analyzed {
    pub analysis: Analysis,
    pub files: Vec<FileReport>,
}

/// Analyse one bundle: read the small text sources first to find the runs, then the event logs
/// only around them (the filter drops everything else before it is built; a run whose time was
/// written without a zone gets the hours any zone could put it in), settle zone-less times, then
/// judge each run against every rule.
pub fn analyze(bundle: &Bundle, rules: &RuleSet, opts: &AnalyzeOptions) -> Analyzed {
    match analyze_until(bundle, rules, opts, &|| false) {
        Ok(done) => done,
        Err(Stopped) => unreachable!("an analysis never asked to stop went to the end"),
    }
}

/// [`analyze`] asked to stop: it ended at a step boundary, with no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// [`analyze`], asking `stop` between its steps (text sources, event logs, judgement) whether
/// to go on: a batch scan gives up on a bundle over its time limit this way.
pub fn analyze_until(
    bundle: &Bundle,
    rules: &RuleSet,
    opts: &AnalyzeOptions,
    stop: &dyn Fn() -> bool,
) -> Result<Analyzed, Stopped> {
    let check = || if stop() { Err(Stopped) } else { Ok(()) };
    check()?;
    let mut tl = timeline::read(bundle, &EventFilter::all(), Pass::TextOnly, opts.read);
    check()?;
    let found = runs::find_runs(&tl, &opts.hint);
    // Event logs: keep only the windows around the runs (plus the minutes used to infer the
    // user); with no run, read them for their counts and problems only.
    let slack = Duration::minutes(2);
    let filter = EventFilter {
        ranges: Some(
            found
                .iter()
                .map(|r| {
                    let zone = if r.time_is_exact() {
                        Duration::zero()
                    } else {
                        Duration::hours(zones::MAX_OFFSET_HOURS)
                    };
                    (
                        r.time - opts.before - slack - zone,
                        r.time + opts.after + slack + zone,
                    )
                })
                .collect(),
        ),
    };
    let logs = timeline::read(bundle, &filter, Pass::EventLogsOnly, opts.read);
    check()?;
    timeline::merge(&mut tl, logs);
    tl.time_notes = zones::settle(&mut tl, opts.tz);
    let found = runs::find_runs(&tl, &opts.hint);
    let diagnoses = diagnose::diagnose(&tl, &found, rules, opts.before, opts.after);
    Ok(Analyzed {
        analysis: Analysis::new(bundle.root.clone(), diagnoses, &tl.files),
        files: tl.files,
    })
}

