//! The whole job on one bundle as library calls, for the command line and for batch scans:
//! [`open`] a bundle (the bundle walk with the sources' classifier), [`analyze`] it (read the
//! run records, find the runs, read the event logs around them, judge every cause), and find
//! the [`identifiers`] its evidence holds, for redaction.

use crate::bundle::{self, Bundle, BundleError, Limits};
use crate::diagnose::{self, rules::RuleSet, runs, zones};
use crate::model::{EventFilter, FileReport};
use crate::report::analysis::Analysis;
use crate::report::redact::Identifiers;
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
pub struct AnalyzeOptions<'a> {
    /// Evidence window before and after each run's failure time.
    pub before: Duration,
    pub after: Duration,
    /// What the user said about the run (`--at`, `--user`, `--error`, `--machine`).
    pub hint: runs::RunHint,
    /// The zone of times written without one (`--tz`); else inferred from the evidence.
    pub tz: Option<crate::time::Zone>,
    /// Threads, and the progress count both passes add to (one display for the command).
    pub read: ReadOptions<'a>,
    /// Gather the identifiers the evidence read holds, for `--redact` ([`Analyzed`]).
    pub identifiers: bool,
}

impl Default for AnalyzeOptions<'_> {
    fn default() -> Self {
        AnalyzeOptions {
            before: Duration::minutes(15),
            after: Duration::minutes(2),
            hint: runs::RunHint::default(),
            tz: None,
            read: ReadOptions::default(),
            identifiers: false,
        }
    }
}

/// What `analyze` found: the analysis document every report renders, the file reports, and,
/// when asked, the identifiers the evidence read holds (everything a report of it can quote),
/// for `--redact`.
pub struct Analyzed {
    pub analysis: Analysis,
    pub files: Vec<FileReport>,
    pub identifiers: Identifiers,
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
    let mut identifiers = Identifiers::default();
    if opts.identifiers {
        tl.events.iter().for_each(|e| identifiers.add_event(e));
        tl.snapshots
            .iter()
            .for_each(|s| identifiers.add_snapshot(s));
        tl.files.iter().for_each(|f| identifiers.add_file(f));
    }
    Ok(Analyzed {
        analysis: Analysis::new(bundle.root.clone(), diagnoses, &tl.files),
        files: tl.files,
        identifiers,
    })
}

/// A folder given to `analyze` that holds several bundles, not one: analysing them together
/// would mix their evidence (runs judged on other machines' files).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{folder}: this folder holds several bundles, not one ({count} of its sub-folders and zips \
     hold evidence of their own: {names}); analysed together their evidence would mix. Scan them, each on its own: padtriage scan {folder}; or analyse one: \
     padtriage analyze {first}. (To analyse them as one bundle of several machines, name them: \
     padtriage analyze {folder}/A {folder}/B ...)"
)]
pub struct SeveralBundles {
    pub folder: String,
    pub count: usize,
    /// The first few, comma-separated, and how many more.
    pub names: String,
    pub first: String,
}

/// Whether `paths` is one folder of several bundles. It is when the folder holds no evidence
/// file itself (every file read is in a sub-folder or a zip) and at least two of its sub-folders
/// or zips each look like a bundle: they hold evidence of at least two kinds (event logs,
/// `dsregcmd` output, PAD logs, run records). A bundle laid out by kind (`EventLogs/`, `PAD/`)
/// has one kind per folder and stays one bundle.
pub fn several_bundles(paths: &[PathBuf], bundle: &Bundle) -> Option<SeveralBundles> {
    use crate::model::FileKind;
    use std::collections::BTreeMap;
    let [only] = paths else { return None };
    if !only.is_dir() {
        return None;
    }
    let class = |k: FileKind| match k {
        FileKind::Evtx | FileKind::EventXml => Some(0u8),
        FileKind::Dsregcmd => Some(1),
        FileKind::PadLog => Some(2),
        FileKind::PortalError | FileKind::FlowSessions => Some(3),
        _ => None,
    };
    let mut groups: BTreeMap<&str, u8> = BTreeMap::new();
    for input in &bundle.inputs {
        let Some(c) = class(input.kind) else { continue };
        let cut = match (input.path.find('/'), input.path.find("!/")) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        *groups.entry(&input.path[..cut]).or_default() |= 1 << c;
    }
    let looks: Vec<&str> = groups
        .iter()
        .filter(|(_, kinds)| kinds.count_ones() >= 2)
        .map(|(name, _)| *name)
        .collect();
    if looks.len() < 2 {
        return None;
    }
    let mut names = looks.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if looks.len() > 3 {
        names.push_str(&format!(" and {} more", looks.len() - 3));
    }
    let folder = only.to_string_lossy().trim_end_matches('/').to_string();
    Some(SeveralBundles {
        first: format!("{folder}/{}", looks[0]),
        folder,
        count: looks.len(),
        names,
    })
}

/// Every identifier the bundle's evidence holds, all of it read (for `inventory --redact`,
/// whose own pass keeps no event): the inputs in parallel, events handed over in batches and
/// dropped once looked at.
pub fn identifiers(bundle: &Bundle, threads: usize) -> Identifiers {
    use rayon::prelude::*;
    struct Harvest(std::sync::Mutex<Identifiers>);
    impl crate::sources::EventSink for Harvest {
        fn take(&self, _batch: u64, events: Vec<crate::sources::Event>) {
            let mut found = Identifiers::default();
            events.iter().for_each(|e| found.add_event(e));
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .merge(found);
        }
    }
    let parts: Vec<Identifiers> = bundle
        .inputs
        .par_iter()
        .map(|input| {
            let sink = Harvest(std::sync::Mutex::new(Identifiers::default()));
            let parsed = timeline::read_input_to(input, &EventFilter::all(), threads, &sink);
            let mut ids = sink.0.into_inner().unwrap_or_else(|p| p.into_inner());
            parsed.snapshots.iter().for_each(|s| ids.add_snapshot(s));
            ids.add_file(&parsed.report);
            ids
        })
        .collect();
    let mut all = Identifiers::default();
    parts.into_iter().for_each(|p| all.merge(p));
    all
}
