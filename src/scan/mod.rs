//! Batch scans: many bundles, each analysed on its own exactly as `analyze` analyses it, in
//! parallel and in bounded memory, with a result per bundle (`row`), a summary (`summary`) and,
//! with a database (`db`), incremental rescans that skip what has not changed (`identity`).
//!
//! `listing` says which bundles there are (an inbox's sub-folders and zips, or a manifest),
//! `engine` runs them on a pool of workers with a time limit and panic isolation, and [`scan`]
//! here decides per bundle (unchanged or not) and hands each result to the database, the output,
//! the summary and the HTML pages (`pages`). Under `--redact` each bundle's result is
//! pseudonymised on its worker, with one key for the whole scan.

pub mod db;
pub mod engine;
pub mod identity;
pub mod listing;
pub mod pages;
pub mod row;
pub mod summary;

use crate::bundle::Limits;
use crate::diagnose::rules::RuleSet;
use crate::diagnose::verdict::Verdict;
use crate::pipeline::{self, AnalyzeOptions};
use crate::report::redact::{Identifiers, Redactor};
use db::{Db, Record};
use engine::{Event, Job, Outcome, WorkFn};
use identity::{BundleKind, Stat};
use listing::Source;
use row::{Findings, Identity, Row, Status};
use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use summary::Tally;

/// Why a scan stopped before its end: its results could not be kept. A bundle's own trouble
/// is never one: it is that bundle's row.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The rows or the summary could not be written (a closed pipe, a full disk).
    #[error("the results could not be written: {0}")]
    Output(#[source] std::io::Error),
    #[error("the scan database could not be written ({0}); the bundles recorded so far are kept")]
    Db(#[source] rusqlite::Error),
    #[error("{0}")]
    Other(String),
}

/// How a scan runs.
pub struct ScanOptions {
    /// How each bundle is analysed (as `analyze` would with the same flags).
    pub analyze: AnalyzeOptions<'static>,
    pub rules: Arc<RuleSet>,
    /// Bundles analysed at once (each on one thread).
    pub workers: usize,
    /// Per-bundle time limit.
    pub timeout: Option<Duration>,
    /// Note when some analysed run has a cause at this verdict or stronger.
    pub fail_on: Option<Verdict>,
    /// `--redact`: the key of the pseudonyms, one for the whole scan, so that an identifier
    /// has the same pseudonym in every bundle's results.
    pub redact_key: Option<Arc<Vec<u8>>>,
    /// Render each analysed bundle's HTML page (`scan --format html`).
    pub pages: bool,
}

/// What results are made with: the padtriage version and the digest of the rules and options
/// that decide verdicts. A stored result is reused only when both are the same.
#[derive(Debug, Clone, Serialize)]
pub struct Engine {
    pub padtriage_version: &'static str,
    pub rules_digest: String,
    /// Version of the scan rows (`schema/scan-row.schema.json`).
    pub row_schema_version: &'static str,
}

impl Engine {
    pub fn new(rules: &RuleSet, opts: &AnalyzeOptions) -> Engine {
        Engine {
            padtriage_version: env!("CARGO_PKG_VERSION"),
            rules_digest: rules_digest(rules, opts),
            row_schema_version: row::ROW_SCHEMA_VERSION,
        }
    }
}

/// A hash of the rule set in effect (each rule's content, by id) and of the analysis options
/// that change verdicts (the evidence window, the zone of zone-less times): results made with
/// another digest are not reused.
pub fn rules_digest(rules: &RuleSet, opts: &AnalyzeOptions) -> String {
    let mut sorted: Vec<&crate::diagnose::rules::Rule> = rules.rules.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let text = serde_json::json!({
        "rules": sorted,
        "window_before_s": opts.before.num_seconds(),
        "window_after_s": opts.after.num_seconds(),
        "tz": opts.tz.map(|z| format!("{z:?}")),
    })
    .to_string();
    format!(
        "xxh64:{:016x}",
        xxhash_rust::xxh64::xxh64(text.as_bytes(), 42)
    )
}

/// The work on one bundle: look at its metadata (and its content hash when the metadata
/// changed) against what is stored, then open and analyse it as `analyze` does, on this
/// thread alone, and check that it did not change meanwhile.
/// Under `redact_key`, everything the result holds (the analysis, its rows, its page, the
/// bundle's path) is pseudonymised here, with the bundle's own identifiers.
pub fn bundle_work(
    rules: Arc<RuleSet>,
    opts: AnalyzeOptions<'static>,
    engine: Engine,
    redact_key: Option<Arc<Vec<u8>>>,
    pages: bool,
) -> Arc<WorkFn> {
    let mut opts = opts;
    // Parallel across bundles, not inside one; and no per-bundle progress bar.
    opts.read.threads = 1;
    opts.read.progress = None;
    opts.identifiers = redact_key.is_some();
    Arc::new(move |job: &Job, stop: &AtomicBool| {
        let failed = |stat, hash, why: String| Outcome::Failed { stat, hash, why };
        let stat = match identity::stat(&job.path) {
            Ok(s) => s,
            Err(e) => {
                return failed(
                    None,
                    None,
                    format!(
                        "cannot be read ({e}); check that it exists and that your account may \
                         read it"
                    ),
                )
            }
        };
        let reusable = job
            .known
            .as_ref()
            .filter(|k| k.reusable(engine.padtriage_version, &engine.rules_digest));
        if reusable.is_some_and(|k| k.same_metadata(&stat)) {
            return Outcome::Unchanged {
                stat,
                hashed: false,
            };
        }
        let hash = match identity::content_hash(&job.path, stat.kind) {
            Ok(h) => h,
            Err(e) => {
                return failed(
                    Some(stat),
                    None,
                    format!("cannot be read to the end ({e}); check the bundle's permissions"),
                )
            }
        };
        if reusable.is_some_and(|k| {
            k.kind == stat.kind && k.size == stat.size && k.content_hash.as_deref() == Some(&hash)
        }) {
            return Outcome::Unchanged { stat, hashed: true };
        }
        let bundle = match pipeline::open(std::slice::from_ref(&job.path), &Limits::default()) {
            Ok(b) => b,
            Err(e) => return failed(Some(stat), Some(hash), e.to_string()),
        };
        let stopped = || stop.load(Ordering::Relaxed);
        let Ok(done) = pipeline::analyze_until(&bundle, &rules, &opts, &stopped) else {
            return failed(
                Some(stat),
                Some(hash),
                "stopped: over the time limit".into(),
            );
        };
        match identity::stat(&job.path) {
            Ok(after) if after == stat => {}
            _ => {
                return failed(
                    Some(stat),
                    Some(hash),
                    "the bundle changed while it was read (an upload still in progress?); it \
                     is scanned again next time"
                        .into(),
                )
            }
        }
        let redacted = match &redact_key {
            None => None,
            Some(key) => match Redactor::new(key, &done.identifiers)
                .and_then(|r| Ok((r.analysis(&done.analysis)?, r)))
            {
                Ok((a, r)) => Some((a, r.redact(&job.path.to_string_lossy()).into_owned())),
                Err(e) => {
                    return failed(
                        Some(stat),
                        Some(hash),
                        format!("the analysis could not be redacted ({e}); this is a bug"),
                    )
                }
            },
        };
        let doc = redacted.as_ref().map_or(&done.analysis, |(a, _)| a);
        let page = if pages {
            let mut buf = Vec::new();
            if let Err(e) = crate::report::html::analysis(doc, &mut buf) {
                return failed(
                    Some(stat),
                    Some(hash),
                    format!("its HTML page could not be made ({e}); this is a bug"),
                );
            }
            Some(buf)
        } else {
            None
        };
        match Findings::of(doc) {
            Ok(mut findings) => {
                findings.page = page;
                if let Some((_, shown)) = redacted {
                    findings.shown = Some(shown);
                    findings.identifiers = Some(done.identifiers);
                }
                Outcome::Analysed {
                    stat,
                    hash,
                    findings: Box::new(findings),
                }
            }
            Err(e) => failed(
                Some(stat),
                Some(hash),
                format!("the analysis could not be written as JSON ({e}); this is a bug"),
            ),
        }
    })
}

/// Where a scan's results go, besides the summary.
pub struct Sinks<'a> {
    pub db: Option<&'a mut Db>,
    /// NDJSON rows.
    pub rows: Option<&'a mut dyn Write>,
    /// Called once per bundle done: its bytes and path (for a progress bar).
    pub progress: &'a dyn Fn(u64, &str),
    /// The fleet page and the bundles' pages (`scan --format html`).
    pub pages: Option<&'a mut pages::Pages>,
}

/// Scan every bundle of `sources`. Fails only when the results cannot be kept (the database or
/// the output cannot be written); a bundle's own trouble is its row's.
pub fn scan(sources: Vec<Source>, opts: &ScanOptions, sinks: Sinks) -> Result<Tally, ScanError> {
    let engine = Engine::new(&opts.rules, &opts.analyze);
    let work = bundle_work(
        Arc::clone(&opts.rules),
        opts.analyze.clone(),
        engine.clone(),
        opts.redact_key.clone(),
        opts.pages,
    );
    scan_with(sources, opts, &engine, work, sinks)
}

/// [`scan`] with the per-bundle work given (tests replace it).
pub fn scan_with(
    sources: Vec<Source>,
    opts: &ScanOptions,
    engine: &Engine,
    work: Arc<WorkFn>,
    sinks: Sinks,
) -> Result<Tally, ScanError> {
    let Sinks {
        mut db,
        mut rows,
        progress,
        mut pages,
    } = sinks;
    if opts.redact_key.is_some() && db.is_some() {
        return Err(ScanError::Other(
            "--redact cannot be used with --db: the database keeps real names".into(),
        ));
    }
    let mut tally = Tally::default();
    // Under --redact, every identifier of the bundles analysed so far: what is written about a
    // bundle that could not be read (its path, why) is redacted with them.
    let mut seen = Identifiers::default();
    let key = opts.redact_key.as_deref();
    // Under --redact, the bundles that failed wait for the end, to be redacted with every
    // identifier of the scan (a bundle named after a machine that only another bundle names).
    let mut deferred: Vec<FailedBundle> = Vec::new();
    let db_err = ScanError::Db;
    let out_err = ScanError::Output;
    let listing = listing::entries(sources);
    let mut handle = |e: Event, db: &mut Option<&mut Db>| -> Result<(), ScanError> {
        // Every arm but the two that end in a failed bundle returns; those share the tail.
        let failed = match e {
            Event::Ignored(p) => {
                tally.ignored += 1;
                if tally.ignored_examples.len() < 3 {
                    tally
                        .ignored_examples
                        .push(p.to_string_lossy().into_owned());
                }
                return Ok(());
            }
            Event::ListError(e) => {
                if tally.list_errors.len() < 100 {
                    tally.list_errors.push(e);
                }
                return Ok(());
            }
            Event::TimedOut {
                job,
                started,
                limit,
            } => {
                let why = format!(
                    "over the time limit ({}, --bundle-timeout); its analysis was abandoned; \
                     analyse it alone (padtriage analyze {}) or scan with a larger limit",
                    humantime(limit),
                    job.path.display()
                );
                let stat = identity::stat(&job.path).ok();
                FailedBundle {
                    job,
                    stat,
                    hash: None,
                    why,
                    started,
                    elapsed: limit,
                }
            }
            Event::Done {
                job,
                outcome,
                started,
                elapsed,
            } => match outcome {
                Outcome::Failed { stat, hash, why } => FailedBundle {
                    job,
                    stat,
                    hash,
                    why,
                    started,
                    elapsed,
                },
                Outcome::Unchanged { stat, hashed } => {
                    if hashed {
                        if let Some(d) = db.as_deref_mut() {
                            d.touch(&job.abs_path, &stat).map_err(db_err)?;
                        }
                    }
                    tally.counts.bundle(Status::SkippedUnchanged, false);
                    progress(0, &job.path.to_string_lossy());
                    let row = Row {
                        schema_version: row::ROW_SCHEMA_VERSION,
                        tool: row::tool(),
                        rules_digest: engine.rules_digest.clone(),
                        bundle: Identity::new(
                            job.path.to_string_lossy().into_owned(),
                            &stat,
                            job.known.as_ref().and_then(|k| k.content_hash.clone()),
                        ),
                        status: Status::SkippedUnchanged,
                        why: None,
                        analysed_at: job.known.as_ref().map(|k| k.analysed_at.clone()),
                        duration_ms: millis(elapsed),
                        needs_person: false,
                        attention: Vec::new(),
                        problems: Vec::new(),
                        runs: Vec::new(),
                        analysis_json: None,
                    };
                    if let Some(p) = pages.as_deref_mut() {
                        let at = row.analysed_at.as_deref().unwrap_or("before");
                        p.add(pages::Entry {
                            abs_path: &job.abs_path,
                            label: row.bundle.path.clone(),
                            status: format!(
                                "skipped as unchanged since {at} (--db): no page in this scan"
                            ),
                            answers: Vec::new(),
                            page: None,
                        })?;
                    }
                    return write_row(&mut rows, &row).map_err(out_err);
                }
                Outcome::Analysed {
                    stat,
                    hash,
                    findings,
                } => {
                    let status = findings.status;
                    let attention = row::attention(status, None, Some(&findings));
                    let mut findings = findings;
                    if let Some(ids) = findings.identifiers.take() {
                        seen.merge(ids);
                    }
                    let shown = findings
                        .shown
                        .take()
                        .unwrap_or_else(|| job.path.to_string_lossy().into_owned());
                    tally.counts.bundle(status, !attention.is_empty());
                    tally.bytes += stat.size;
                    for r in &findings.runs {
                        tally.counts.run(r);
                        if reaches(r, opts.fail_on) {
                            tally.fail_on_hit = true;
                        }
                    }
                    if !attention.is_empty() {
                        tally.needs_person(&shown, &attention).map_err(out_err)?;
                    }
                    let analysed_at = rfc3339(started);
                    if let Some(d) = db.as_deref_mut() {
                        d.record(&Record {
                            abs_path: &job.abs_path,
                            shown: &shown,
                            stat: &stat,
                            content_hash: Some(&hash),
                            version: engine.padtriage_version,
                            rules_digest: &engine.rules_digest,
                            status,
                            why: None,
                            analysed_at: &analysed_at,
                            duration_ms: millis(elapsed),
                            attention: &attention,
                            findings: Some(&findings),
                        })
                        .map_err(db_err)?;
                    }
                    progress(stat.size, &shown);
                    let mut findings = *findings;
                    if let Some(p) = pages.as_deref_mut() {
                        p.add(pages::Entry {
                            abs_path: &job.abs_path,
                            label: shown.clone(),
                            status: attention
                                .first()
                                .filter(|_| status == Status::Partial)
                                .cloned()
                                .unwrap_or_else(|| status.as_str().to_string()),
                            answers: std::mem::take(&mut findings.answers),
                            page: findings.page.take(),
                        })?;
                    }
                    let row = Row {
                        schema_version: row::ROW_SCHEMA_VERSION,
                        tool: row::tool(),
                        rules_digest: engine.rules_digest.clone(),
                        bundle: Identity::new(shown, &stat, Some(hash)),
                        status,
                        why: None,
                        analysed_at: Some(analysed_at),
                        duration_ms: millis(elapsed),
                        needs_person: !attention.is_empty(),
                        attention,
                        problems: findings.problems,
                        runs: findings.runs,
                        analysis_json: Some(findings.analysis_json),
                    };
                    return write_row(&mut rows, &row).map_err(out_err);
                }
            },
        };
        if key.is_some() {
            deferred.push(failed);
            return Ok(());
        }
        let sinks = Failed {
            tally: &mut tally,
            db,
            rows: &mut rows,
            pages: &mut pages,
            redact: None,
        };
        finish_failed(sinks, engine, failed)
    };
    // The engine needs lookups between events; both go through `db`, one at a time.
    let db_cell = std::cell::RefCell::new(db.take());
    engine::run(
        listing,
        work,
        opts.workers,
        opts.timeout,
        &mut |abs| {
            db_cell
                .borrow()
                .as_deref()
                .and_then(|d| d.lookup(abs).ok().flatten())
        },
        &mut |e| handle(e, &mut db_cell.borrow_mut()),
    )?;
    let last = redactor(key, &seen)?;
    for bundle in deferred {
        let sinks = Failed {
            tally: &mut tally,
            db: &mut None,
            rows: &mut rows,
            pages: &mut pages,
            redact: last.as_ref(),
        };
        finish_failed(sinks, engine, bundle)?;
    }
    if let Some(r) = &last {
        for s in tally
            .ignored_examples
            .iter_mut()
            .chain(tally.list_errors.iter_mut())
        {
            *s = r.redact(s).into_owned();
        }
    }
    Ok(tally)
}

/// The redactor of a scan's own words about its bundles, under `--redact`.
fn redactor(key: Option<&Vec<u8>>, seen: &Identifiers) -> Result<Option<Redactor>, ScanError> {
    key.map(|k| Redactor::new(k, seen))
        .transpose()
        .map_err(|e| ScanError::Other(format!("the redaction key could not be used: {e}")))
}

/// Where a failed bundle's result goes.
struct Failed<'s, 'a, 'd> {
    tally: &'s mut Tally,
    db: &'s mut Option<&'d mut Db>,
    rows: &'s mut Option<&'a mut dyn Write>,
    pages: &'s mut Option<&'a mut pages::Pages>,
    redact: Option<&'s Redactor>,
}

/// A bundle that could not be analysed, and why.
struct FailedBundle {
    job: Job,
    stat: Option<Stat>,
    hash: Option<String>,
    why: String,
    started: SystemTime,
    elapsed: Duration,
}

/// A bundle that could not be analysed: stored, written and counted with why.
fn finish_failed(sinks: Failed, engine: &Engine, bundle: FailedBundle) -> Result<(), ScanError> {
    let FailedBundle {
        job,
        stat,
        hash,
        why,
        started,
        elapsed,
    } = bundle;
    let Failed {
        tally,
        db,
        rows,
        pages,
        redact,
    } = sinks;
    let mut shown = job.path.to_string_lossy().into_owned();
    let mut why = why;
    if let Some(r) = redact {
        shown = r.redact(&shown).into_owned();
        why = r.redact(&why).into_owned();
    }
    let attention = row::attention(Status::Failed, Some(&why), None);
    tally.counts.bundle(Status::Failed, true);
    tally
        .needs_person(&shown, &attention)
        .map_err(ScanError::Output)?;
    // Unreadable: what is known is the path.
    let stat = stat.unwrap_or(Stat {
        kind: BundleKind::File,
        size: 0,
        mtime_ns: 0,
        files: 0,
    });
    let analysed_at = rfc3339(started);
    if let Some(d) = db.as_deref_mut() {
        d.record(&Record {
            abs_path: &job.abs_path,
            shown: &shown,
            stat: &stat,
            content_hash: hash.as_deref(),
            version: engine.padtriage_version,
            rules_digest: &engine.rules_digest,
            status: Status::Failed,
            why: Some(&why),
            analysed_at: &analysed_at,
            duration_ms: millis(elapsed),
            attention: &attention,
            findings: None,
        })
        .map_err(ScanError::Db)?;
    }
    let row = Row {
        schema_version: row::ROW_SCHEMA_VERSION,
        tool: row::tool(),
        rules_digest: engine.rules_digest.clone(),
        bundle: Identity::new(shown, &stat, hash),
        status: Status::Failed,
        why: Some(why),
        analysed_at: Some(analysed_at),
        duration_ms: millis(elapsed),
        needs_person: true,
        attention,
        problems: Vec::new(),
        runs: Vec::new(),
        analysis_json: None,
    };
    if let Some(p) = pages.as_deref_mut() {
        p.add(pages::Entry {
            abs_path: &job.abs_path,
            label: row.bundle.path.clone(),
            status: row.attention.first().cloned().unwrap_or_default(),
            answers: Vec::new(),
            page: None,
        })?;
    }
    write_row(rows, &row).map_err(ScanError::Output)
}

fn write_row(rows: &mut Option<&mut dyn Write>, row: &Row) -> std::io::Result<()> {
    let Some(out) = rows.as_deref_mut() else {
        return Ok(());
    };
    let line = row.to_line().map_err(std::io::Error::other)?;
    out.write_all(line.as_bytes())
}

/// Whether a run has a cause at `threshold` or stronger.
fn reaches(r: &row::RunRow, threshold: Option<Verdict>) -> bool {
    let Some(t) = threshold else { return false };
    r.verdicts.values().any(|v| match *v {
        "confirmed" => true,
        "likely" => t <= Verdict::Likely,
        _ => false,
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// RFC 3339 UTC with milliseconds: sorts as text, as the database compares it.
pub fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `90s`, `15m`, `1h30m`: as durations are given.
fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}
