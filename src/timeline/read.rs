//! Reading a bundle's inputs: each through its format's reader (from the sources' registry),
//! in parallel, with a parser panic confined to its file, and the reports put together.

use super::{Pass, ReadOptions, Timeline};
use crate::bundle::{Bundle, Input};
use crate::model::{EventFilter, FileKind, FileReport, Problem};
use crate::sources::{self, registry, FileProgress, Parsed, ReadCtx};
use rayon::prelude::*;
use std::sync::Arc;

/// Run `each` on every input the pass selects, in parallel, with the file's share of the
/// progress count when one is kept; results in input order.
pub(super) fn read_pass<T: Send>(
    bundle: &Bundle,
    pass: Pass,
    opts: ReadOptions,
    each: impl Fn(usize, &Input, Option<&FileProgress>) -> T + Sync,
) -> Vec<T> {
    let inputs: Vec<(usize, &Input)> = bundle
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| pass.wants(i.kind))
        .collect();
    // Inside the pool: a reader then runs on a worker, which parses chunks itself while it
    // waits for the others (a single large log otherwise has the calling thread read and sleep).
    rayon::scope(|_| {
        inputs
            .par_iter()
            .map(|(i, input)| {
                let progress = opts.progress.map(|p| FileProgress::start(p, &input.path));
                let p = each(*i, input, progress.as_ref());
                if let Some(progress) = &progress {
                    progress.finish(input.size);
                }
                p
            })
            .collect()
    })
}

/// Put a pass's results together with the bundle's own reports.
pub(super) fn assemble(bundle: &Bundle, pass: Pass, parsed: Vec<Parsed>) -> Timeline {
    let mut tl = Timeline::default();
    for p in parsed {
        tl.events.extend(p.events);
        tl.snapshots.extend(p.snapshots);
        tl.files.push(p.report);
    }
    if pass != Pass::EventLogsOnly {
        tl.files.extend(bundle.skipped.iter().cloned());
        // Bundle-level problems (limits, damaged zip directories) are listed where they happened.
        for p in &bundle.problems {
            let at = p.at.clone().unwrap_or_else(|| bundle.root.clone());
            let mut r = FileReport::new(at, FileKind::Zip, 0);
            r.problems.push(p.clone());
            tl.files.push(r);
        }
    }
    tl.files.sort_by(|a, b| a.path.cmp(&b.path));
    tl
}

/// Open one input and run its parser, keeping its events in memory. Never fails: an
/// unreadable file becomes a report with a problem.
pub fn read_input(input: &Input, filter: &EventFilter, threads: usize) -> Parsed {
    let sink = sources::Collect::default();
    let mut p = read_input_to(input, filter, threads, &sink);
    p.events = sink.into_events();
    p
}

/// Open one input and run its parser, handing its kept events to `sink` as they are read (the
/// returned `Parsed` has none). Never fails: an unreadable file becomes a report with a problem.
pub fn read_input_to(
    input: &Input,
    filter: &EventFilter,
    threads: usize,
    sink: &dyn sources::EventSink,
) -> Parsed {
    read_one(input, filter, threads, None, sink)
}

/// [`read_input_to`], the reader reporting its progress to `progress`.
pub(super) fn read_one(
    input: &Input,
    filter: &EventFilter,
    threads: usize,
    progress: Option<&FileProgress>,
    sink: &dyn sources::EventSink,
) -> Parsed {
    let ctx = read_ctx(input, filter, threads, progress);
    // A log on disk is read by position when its format can, by the workers that parse it.
    if let Some(parsed) = input
        .disk_path()
        .and_then(|p| std::fs::File::open(p).ok())
        .and_then(|file| guarded(input, || registry::read_file(input.kind, &file, &ctx, sink)))
    {
        return with_bundle_problems(input, parsed);
    }
    let reader = match input.open() {
        Ok(r) => r,
        Err(e) => {
            let mut report = FileReport::new(input.path.clone(), input.kind, input.size);
            report.problems.push(Problem::new(
                "io",
                None,
                format!("could not open the file: {e}"),
            ));
            report.skipped = Some(format!("could not open: {e}"));
            return Parsed::new(report);
        }
    };
    let mut parsed = guarded(input, || {
        Some(
            registry::read(input.kind, reader, &ctx, sink).unwrap_or_else(|| {
                let mut report = FileReport::new(input.path.clone(), input.kind, input.size);
                report.skipped = Some("not an evidence file".into());
                Parsed::new(report)
            }),
        )
    })
    .unwrap_or_else(|| Parsed::new(FileReport::new(input.path.clone(), input.kind, input.size)));
    // Small whole-file parsers: their events go to the sink in one batch.
    if !parsed.events.is_empty() {
        parsed.report.kept = parsed.events.len() as u64;
        sink.take(0, std::mem::take(&mut parsed.events));
    }
    with_bundle_problems(input, parsed)
}

/// Run a parser; a parser bug on one hostile file must not end the run: the file is reported
/// and the rest of the bundle is read.
fn guarded(input: &Input, read: impl FnOnce() -> Option<Parsed>) -> Option<Parsed> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| {
        let mut report = FileReport::new(input.path.clone(), input.kind, input.size);
        report.problems.push(Problem::new(
            "internal",
            None,
            "padtriage hit an internal error on this file (a bug: please report it with the file); \
             the file was read only up to that point, and the rest of the bundle was read",
        ));
        report.errors = 1;
        Some(Parsed::new(report))
    })
}

/// Problems the bundle stage noted (unsafe zip names, ...) belong to the file's report, first.
fn with_bundle_problems(input: &Input, mut parsed: Parsed) -> Parsed {
    if !input.problems.is_empty() {
        let mut all = input.problems.clone();
        all.append(&mut parsed.report.problems);
        parsed.report.problems = all;
    }
    parsed
}

/// The context a parser receives for an input.
fn read_ctx<'a>(
    input: &Input,
    filter: &'a EventFilter,
    threads: usize,
    progress: Option<&'a FileProgress<'a>>,
) -> ReadCtx<'a> {
    ReadCtx {
        file: Arc::from(input.path.as_str()),
        size: input.size,
        mtime: input.mtime,
        filter,
        threads,
        progress,
    }
}
