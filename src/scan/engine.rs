//! The scan's driver: bundles from the listing go to a pool of workers, at most one per worker
//! at a time, and each result comes back to the calling thread, which owns the database and the
//! output. Memory is bounded whatever the number of bundles: the listing is read as workers free
//! up and results are handed on as they come.
//!
//! Each worker is a rayon pool of one thread, so a bundle runs wholly on its worker (its own
//! parallel steps included) and a bundle over the time limit can be left behind: it is reported
//! as failed, asked to stop at its next step (see `pipeline::analyze_until`), and its worker is
//! replaced by a new one. Rust cannot stop a thread from outside; until the abandoned analysis
//! reaches a step boundary it keeps its thread busy. A panic is caught on the worker and becomes
//! the bundle's failure.

use super::db::Known;
use super::identity::Stat;
use super::listing::Entry;
use super::row::Findings;
use super::ScanError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

/// One bundle to scan.
#[derive(Debug, Clone)]
pub struct Job {
    /// As listed.
    pub path: PathBuf,
    /// Absolute and without `.`/`..`: the database key.
    pub abs_path: String,
    /// What the database holds for it, if anything.
    pub known: Option<Known>,
}

/// What a worker made of a bundle.
#[derive(Debug)]
pub enum Outcome {
    Analysed {
        stat: Stat,
        hash: String,
        findings: Box<Findings>,
    },
    /// The same as stored: by metadata, or (`hashed`) by content after the metadata changed.
    Unchanged { stat: Stat, hashed: bool },
    Failed {
        stat: Option<Stat>,
        hash: Option<String>,
        why: String,
    },
}

/// The work on one bundle; the flag asks it to stop (its time is up).
pub type WorkFn = dyn Fn(&Job, &AtomicBool) -> Outcome + Send + Sync;

/// What the driver hands back, one per listing entry.
#[derive(Debug)]
pub enum Event {
    Done {
        job: Job,
        outcome: Outcome,
        /// When the work began.
        started: SystemTime,
        elapsed: Duration,
    },
    /// The bundle was over the time limit: left behind, reported as failed.
    TimedOut {
        job: Job,
        started: SystemTime,
        limit: Duration,
    },
    Ignored(PathBuf),
    ListError(String),
}

struct Busy {
    seq: u64,
    job: Job,
    since: Instant,
    started: SystemTime,
    stop: Arc<AtomicBool>,
}

struct Slot {
    pool: rayon::ThreadPool,
    busy: Option<Busy>,
}

struct Msg {
    slot: usize,
    seq: u64,
    outcome: Outcome,
}

fn worker(n: usize) -> Result<rayon::ThreadPool, ScanError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(move |_| format!("padtriage-scan-{n}"))
        .build()
        .map_err(|e| ScanError::Other(format!("cannot start a scan worker thread: {e}")))
}

/// Scan every bundle the listing gives with `workers` workers, asking `lookup` what is known of
/// each and handing every result to `on_event` (on this thread, as results come).
pub fn run(
    listing: impl Iterator<Item = Entry>,
    work: Arc<WorkFn>,
    workers: usize,
    timeout: Option<Duration>,
    lookup: &mut dyn FnMut(&str) -> Option<Known>,
    on_event: &mut dyn FnMut(Event) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let workers = workers.max(1);
    let mut slots = Vec::with_capacity(workers);
    for n in 0..workers {
        slots.push(Slot {
            pool: worker(n)?,
            busy: None,
        });
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut listing = listing.fuse();
    let mut listed_all = false;
    let mut seq = 0u64;
    loop {
        // Fill the idle workers.
        while !listed_all {
            let Some(idle) = slots.iter().position(|s| s.busy.is_none()) else {
                break;
            };
            match listing.next() {
                None => listed_all = true,
                Some(Entry::Ignored(p)) => on_event(Event::Ignored(p))?,
                Some(Entry::Error(e)) => on_event(Event::ListError(e))?,
                Some(Entry::Bundle(path)) => {
                    let abs_path = absolute(&path);
                    let known = lookup(&abs_path);
                    let job = Job {
                        path,
                        abs_path,
                        known,
                    };
                    seq += 1;
                    let stop = Arc::new(AtomicBool::new(false));
                    let (tx, work, stop2, job2) = (
                        tx.clone(),
                        Arc::clone(&work),
                        Arc::clone(&stop),
                        job.clone(),
                    );
                    let this = seq;
                    slots[idle].pool.spawn(move || {
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                work(&job2, &stop2)
                            }))
                            .unwrap_or_else(|panic| {
                                Outcome::Failed {
                                    stat: None,
                                    hash: None,
                                    why: format!(
                                "padtriage hit an internal error on this bundle ({}); this is a \
                                 bug: please report it with the bundle",
                                panic_message(&panic)
                            ),
                                }
                            });
                        // The scan may have moved on (time limit) or ended: nobody to tell.
                        let _ = tx.send(Msg {
                            slot: idle,
                            seq: this,
                            outcome,
                        });
                    });
                    slots[idle].busy = Some(Busy {
                        seq: this,
                        job,
                        since: Instant::now(),
                        started: SystemTime::now(),
                        stop,
                    });
                }
            }
        }
        if slots.iter().all(|s| s.busy.is_none()) {
            // Listed all and nothing running (a worker left behind is not waited for).
            return Ok(());
        }
        // Wait for a result, or until the first running bundle reaches the time limit.
        let deadline = timeout.and_then(|t| {
            slots
                .iter()
                .filter_map(|s| s.busy.as_ref().map(|b| b.since + t))
                .min()
        });
        let msg = match deadline {
            None => rx.recv().map_err(|_| ()),
            Some(d) => match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                Ok(m) => Ok(m),
                Err(mpsc::RecvTimeoutError::Timeout) => Err(()),
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(()),
            },
        };
        match msg {
            Ok(m) => {
                let slot = &mut slots[m.slot];
                // A result of a bundle left behind is stale: its slot runs another one now.
                if slot.busy.as_ref().is_some_and(|b| b.seq == m.seq) {
                    if let Some(b) = slot.busy.take() {
                        on_event(Event::Done {
                            job: b.job,
                            outcome: m.outcome,
                            started: b.started,
                            elapsed: b.since.elapsed(),
                        })?;
                    }
                }
            }
            Err(()) => {
                let Some(limit) = timeout else { continue };
                let now = Instant::now();
                for (n, slot) in slots.iter_mut().enumerate() {
                    if slot.busy.as_ref().is_some_and(|b| now >= b.since + limit) {
                        if let Some(b) = slot.busy.take() {
                            b.stop.store(true, Ordering::Relaxed);
                            // The old pool ends once its thread is done with the bundle.
                            slot.pool = worker(n)?;
                            on_event(Event::TimedOut {
                                job: b.job,
                                started: b.started,
                                limit,
                            })?;
                        }
                    }
                }
            }
        }
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic".to_string()
    }
}

/// Absolute and without `.`/`..`, lexically (links are kept: the key is the path people see).
pub fn absolute(p: &Path) -> String {
    use std::path::Component;
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::identity::BundleKind;

    fn stat() -> Stat {
        Stat {
            kind: BundleKind::Folder,
            size: 1,
            mtime_ns: 1,
            files: 1,
        }
    }

    #[test]
    fn a_panic_or_a_bundle_over_the_limit_fails_alone_and_the_scan_goes_on() {
        let work: Arc<WorkFn> = Arc::new(|job: &Job, stop: &AtomicBool| {
            let name = job.path.to_string_lossy().into_owned();
            if name == "panics" {
                panic!("parser bug");
            }
            if name == "slow" {
                let t = Instant::now();
                while !stop.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(120) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            Outcome::Unchanged {
                stat: stat(),
                hashed: false,
            }
        });
        let names = ["a", "panics", "slow", "b", "c", "d"];
        let listing = names.iter().map(|n| Entry::Bundle(PathBuf::from(n)));
        let mut seen = Vec::new();
        let start = Instant::now();
        run(
            listing,
            work,
            2,
            // Long enough for the quick bundles on a busy machine, short next to the slow one.
            Some(Duration::from_secs(3)),
            &mut |_| None,
            &mut |e| {
                match e {
                    Event::Done { job, outcome, .. } => {
                        let what = match outcome {
                            Outcome::Failed { why, .. } => format!("failed {why}"),
                            _ => "ok".into(),
                        };
                        seen.push(format!("{} {what}", job.path.display()));
                    }
                    Event::TimedOut { job, .. } => {
                        seen.push(format!("{} timed out", job.path.display()))
                    }
                    _ => {}
                }
                Ok(())
            },
        )
        .unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "waited for the slow bundle"
        );
        seen.sort();
        assert_eq!(seen.len(), names.len(), "{seen:?}");
        assert!(seen.contains(&"slow timed out".to_string()), "{seen:?}");
        assert!(
            seen.iter()
                .any(|s| s.starts_with("panics failed") && s.contains("parser bug")),
            "{seen:?}"
        );
        for ok in ["a ok", "b ok", "c ok", "d ok"] {
            assert!(seen.contains(&ok.to_string()), "{seen:?}");
        }
    }
}
