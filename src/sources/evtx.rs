//! Reads `.evtx` event logs as a stream: the 4096-byte file header, then 64 KiB chunks one after
//! another (no `Seek`, so zip entries work and a log is never held whole). The reading thread
//! hands the chunks to the worker pool in jobs of four, with at most twice the worker count of
//! jobs out at once (it waits for a slot, running pool jobs meanwhile if it is a worker). A log
//! on disk has no reading thread ([`read_evtx_file_to`]): each worker claims the next chunk
//! number, reads that chunk by position and parses it. Kept events leave from the worker, a
//! chunk at a time, through an [`EventSink`] ([`read_evtx_to`]); what else a chunk yields
//! (counts, channels, problems) is folded into the report in chunk order. [`read_evtx`] collects
//! the events in record order.
//!
//! Records are not rendered. A chunk is read by a walker of our own ([`walk_chunk`]): record
//! headers in place, each record's template instance parsed in place ([`parse_instance`]), and
//! which substitution is the EventID, Channel, Provider, each `Data Name=`, ... learnt once per
//! template by walking its definition's BinXML ([`walk_template`], once per worker for all the
//! chunks and logs it reads). Only records [`windows_event::select`](we::select) wants get their
//! strings built, and text is decoded only when the mapper reads it. (The crate's own record
//! iterator builds every record's content tree, which costs about as much as rendering it to
//! JSON.)
//!
//! The walker checks everything the crate would reject: record headers, value types and sizes,
//! nested fragments, the chunk's string table. As soon as anything in a chunk is not as it
//! expects, the whole chunk is read through the crate's record iterator instead
//! (`EvtxChunk::iter`, each record rendered to JSON), so damaged chunks get the crate's exact
//! errors and recovery, and nothing is lost.
//!
//! Counts follow the crate's own `EvtxParser` with default settings (what `evtx_dump` prints):
//! chunks are found at fixed offsets whatever the header's chunk count says, all-zero chunks are
//! skipped, a chunk with a bad signature is one error, records are not carved from slack
//! (`recover_records` is off by default, and carving would add records the crate does not
//! count), checksums are not enforced, and chunks are put in record order starting from the
//! chunk holding the oldest record. Beyond the crate, a file cut short inside a chunk has the
//! complete records of that chunk read, and is reported.

use super::windows_event::{self as we, RawEvent, Value};
use super::{Collect, Event, EventData, EventSink, Parsed, ReadCtx};
use crate::fsio::read_at;
use crate::model::{EventFilter, FileKind, FileReport, Loc, Problem, SourceRef, Time};
use evtx::err::EvtxError;
use evtx::{EvtxChunk, EvtxChunkData, EvtxChunkHeader, EvtxFileHeader, EvtxRecord, ParserSettings};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;
const CHUNK_HEADER_SIZE: usize = 512;
/// Problems listed per file before the rest are only counted.
const MAX_PROBLEMS: usize = 50;

/// Read one `.evtx` log from `r`. Never fails: what cannot be read is counted and described in
/// the report.
pub fn read_evtx<R: Read>(r: R, ctx: &ReadCtx) -> Parsed {
    read_evtx_collect(r, ctx, Path::Fast)
}

/// Read one `.evtx` log from `r`, handing the kept events to `sink` a chunk at a time (batch
/// number: the chunk's number in the file) as soon as a worker has read the chunk. Returns the
/// file's report; its `kept` counts the events handed over.
pub fn read_evtx_to<R: Read>(r: R, ctx: &ReadCtx, sink: &dyn EventSink) -> FileReport {
    read_evtx_via(r, ctx, Path::Fast, sink).0
}

/// How chunks are read: the walker (the crate for chunks it does not vouch for), or the crate
/// with JSON rendering for every chunk (the reference the walker is tested against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Fast,
    #[cfg_attr(not(test), allow(dead_code))]
    Json,
}

/// A chunk as read from the stream; `len` < `CHUNK_SIZE` only for a file cut short.
struct RawChunk {
    number: u64,
    bytes: Vec<u8>,
    len: usize,
}

/// What one chunk yielded.
#[derive(Default)]
struct ChunkOutcome {
    number: u64,
    /// First and last record id from an intact, complete chunk header (for record order).
    header_ids: Option<(u64, u64)>,
    records: u64,
    errors: u64,
    ignored: u64,
    /// Events handed to the sink.
    kept: u64,
    /// Whether the chunk was read through the crate's record iterator rather than the walker.
    via_crate: bool,
    /// The chunk's buffer, handed back for the next read.
    buffer: Option<Vec<u8>>,
    channels: Vec<String>,
    first: Option<Time>,
    last: Option<Time>,
    events: Vec<Event>,
    problems: Vec<Problem>,
}

impl ChunkOutcome {
    fn problem(&mut self, kind: &str, at: String, message: String) {
        self.problems.push(Problem::new(kind, Some(at), message));
    }

    /// A record was read: widen the time range, note its channel.
    fn see(&mut self, time: Time, channel: Option<&str>) {
        self.first = Some(self.first.map_or(time, |f| f.min(time)));
        self.last = Some(self.last.map_or(time, |l| l.max(time)));
        if let Some(c) = channel.filter(|c| !c.is_empty()) {
            if !self.channels.iter().any(|k| k == c) {
                self.channels.push(c.to_string());
            }
        }
    }

    /// A read record's payload, if the mapper kept it.
    fn keep(&mut self, work: &Work, id: u64, data: Option<EventData>, time: Time) {
        match data {
            Some(data) => self.events.push(Event {
                time,
                time_basis: crate::model::TimeBasis::Utc,
                source: SourceRef {
                    file: Arc::clone(&work.file),
                    loc: Loc::Record(id),
                },
                machine: None,
                data,
            }),
            None => self.ignored += 1,
        }
    }
}

/// Everything a chunk worker needs; shared by reference across the pool.
struct Work<'a> {
    file: Arc<str>,
    filter: &'a EventFilter,
    settings: Arc<ParserSettings>,
    path: Path,
}

/// What the file thread keeps of each chunk once its events went to the sink: where it sits in
/// record order.
type ChunkOrder = Vec<(u64, Option<(u64, u64)>)>;

/// [`read_evtx_via`] into memory: every kept event, in record order (from the chunk holding the
/// oldest record to the end, then the chunks before it: a full log overwrites its oldest chunk,
/// so it can be anywhere), as the crate reads them.
fn read_evtx_collect<R: Read>(r: R, ctx: &ReadCtx, path: Path) -> Parsed {
    let sink = Collect::default();
    let (report, order) = read_evtx_via(r, ctx, path, &sink);
    let oldest = order
        .iter()
        .filter_map(|(number, ids)| ids.map(|(first, last)| (first, last, *number)))
        .filter(|(first, last, _)| first <= last)
        .min_by_key(|(first, _, number)| (*first, *number))
        .map(|(_, _, number)| number);
    let mut batches = sink.into_batches();
    let split = oldest.map_or(0, |n| batches.iter().take_while(|(b, _)| *b < n).count());
    batches.rotate_left(split);
    let mut parsed = Parsed::new(report);
    parsed.events = batches.into_iter().flat_map(|(_, e)| e).collect();
    parsed
}

/// Folds chunk outcomes into the file's report as they come, so nothing of a chunk but its
/// place in record order outlives it.
struct Fold {
    report: FileReport,
    /// Problems of the file itself (header, read errors); listed before the chunks' problems.
    problems: Vec<Problem>,
    chunk_problems: Vec<Problem>,
    /// Chunk problems beyond the listed ones.
    more: usize,
    order: ChunkOrder,
}

impl Fold {
    fn chunk(&mut self, o: ChunkOutcome) {
        let r = &mut self.report;
        r.records += o.records;
        r.errors += o.errors;
        r.ignored += o.ignored;
        r.kept += o.kept;
        if let Some(f) = o.first {
            r.see_time(f);
        }
        if let Some(l) = o.last {
            r.see_time(l);
        }
        for c in &o.channels {
            r.add_channel(c);
        }
        for p in o.problems {
            if self.chunk_problems.len() < MAX_PROBLEMS {
                self.chunk_problems.push(p);
            } else {
                self.more += 1;
            }
        }
        self.order.push((o.number, o.header_ids));
    }

    fn finish(mut self) -> (FileReport, ChunkOrder) {
        let mut problems = self.problems;
        let total = problems.len() + self.chunk_problems.len() + self.more;
        problems.append(&mut self.chunk_problems);
        if total > MAX_PROBLEMS {
            problems.truncate(MAX_PROBLEMS);
            problems.push(Problem::new(
                "limit",
                None,
                format!(
                    "{} more problems in this file are not listed",
                    total - MAX_PROBLEMS
                ),
            ));
        }
        self.report.problems = problems;
        (self.report, self.order)
    }
}

/// Read the file, hand each chunk's kept events to `sink` (batch number: the chunk number) from
/// the worker that read the chunk, and fold the rest into the report.
fn read_evtx_via<R: Read>(
    r: R,
    ctx: &ReadCtx,
    path: Path,
    sink: &dyn EventSink,
) -> (FileReport, ChunkOrder) {
    read_evtx_from(r, None, ctx, path, sink)
}

/// Read one `.evtx` file on disk, handing kept events to `sink` as [`read_evtx_to`] does. Its
/// chunks are read where they lie, each by the worker that parses it, so reading is parallel
/// too. Unlike a stream, a chunk that fails to read is lost alone: the chunks after it are
/// still read.
pub fn read_evtx_file_to(file: &std::fs::File, ctx: &ReadCtx, sink: &dyn EventSink) -> FileReport {
    let size = file.metadata().map_or(ctx.size, |m| m.len());
    read_evtx_from(file, Some((file, size)), ctx, Path::Fast, sink).0
}

/// A file read by position: the file and its size.
type Positional<'f> = Option<(&'f std::fs::File, u64)>;

fn read_evtx_from<R: Read>(
    mut r: R,
    positional: Positional<'_>,
    ctx: &ReadCtx,
    path: Path,
    sink: &dyn EventSink,
) -> (FileReport, ChunkOrder) {
    let mut fold = Fold {
        report: FileReport::new(ctx.file.to_string(), FileKind::Evtx, ctx.size),
        problems: Vec::new(),
        chunk_problems: Vec::new(),
        more: 0,
        order: Vec::new(),
    };
    read_chunks(&mut r, positional, ctx, path, sink, &mut fold);
    fold.finish()
}

/// Fill `buf` from `r` as far as the stream goes; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn read_chunks<R: Read>(
    r: &mut R,
    positional: Positional<'_>,
    ctx: &ReadCtx,
    path: Path,
    sink: &dyn EventSink,
    fold: &mut Fold,
) {
    let mut header = vec![0u8; FILE_HEADER_SIZE];
    let n = match read_full(r, &mut header) {
        Ok(n) => n,
        Err(e) => {
            fold.problems
                .push(Problem::new("io", None, format!("read failed: {e}")));
            return;
        }
    };
    let signed = header.starts_with(b"ElfFile\0");
    if n == 0 {
        fold.problems.push(Problem::new(
            "bad_header",
            Some("file header".into()),
            "the file is empty (0 bytes): no event log in it",
        ));
        return;
    }
    if n < FILE_HEADER_SIZE {
        let message = if signed {
            format!("the file ends {n} bytes into its 4096-byte header: no records in it")
        } else {
            format!("{n} bytes without the EVTX signature (ElfFile): not an event log")
        };
        let kind = if signed { "truncated" } else { "bad_header" };
        fold.problems
            .push(Problem::new(kind, Some("file header".into()), message));
        return;
    }

    let threads = if ctx.threads == 0 {
        rayon::current_num_threads()
    } else {
        ctx.threads
    };
    // Jobs (of JOB_CHUNKS chunks) out at once.
    let batch_size = 2 * threads.max(1);
    let mut pending = Vec::new();
    // Chunks the header says the file holds: a file cut at a chunk boundary has fewer.
    let mut announced = None;
    match EvtxFileHeader::from_bytes(&header) {
        Ok(h) => {
            announced = Some(u64::from(h.chunk_count));
            if !h.validate_checksum() {
                fold.problems.push(Problem::new(
                    "bad_header",
                    Some("file header".into()),
                    format!(
                        "file header checksum does not match (stored {:#010x}, computed {:#010x}); chunks read anyway",
                        h.checksum, h.computed_checksum
                    ),
                ));
            }
        }
        Err(e) => {
            // The chunks do not need the header; read on if the first one is there.
            let first = match next_chunk(r, 0, &mut Vec::new()) {
                Ok(c) => c,
                Err(e) => {
                    fold.problems
                        .push(Problem::new("io", None, format!("read failed: {e}")));
                    return;
                }
            };
            match first {
                Some(c) if c.bytes.starts_with(b"ElfChnk\0") => {
                    fold.problems.push(Problem::new(
                        "bad_header",
                        Some("file header".into()),
                        format!("file header is damaged ({e}); chunks read anyway"),
                    ));
                    pending.push(c);
                }
                _ => {
                    fold.problems.push(Problem::new(
                        "bad_header",
                        Some("file header".into()),
                        "no EVTX signature in the file header nor a chunk after it: not an event log",
                    ));
                    return;
                }
            }
        }
    }

    // A pool of the requested size, unless the global one already is that size.
    let pool = if ctx.threads > 1 && ctx.threads != rayon::current_num_threads() {
        rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.threads)
            .build()
            .ok()
    } else {
        None
    };
    let work = Work {
        file: ctx.file.clone(),
        filter: ctx.filter,
        settings: Arc::new(ParserSettings::default()),
        path,
    };
    // The events leave from the worker, so the sink's own work (rendering) runs in parallel.
    let one = |c: RawChunk| {
        let mut o = guarded_chunk(&work, c);
        let events = std::mem::take(&mut o.events);
        o.kept = events.len() as u64;
        sink.take(o.number, events);
        o
    };
    // This thread reads chunk after chunk and hands each to the pool, with at most `in_flight`
    // out at once (it waits for a slot, helping the pool if it is one of its workers). So reading
    // overlaps parsing, memory is bounded, and no thread waits for a batch's slowest chunk.
    let in_flight = if threads > 1 { batch_size } else { 0 };
    let shared = Shared::default();
    let mut order = Order::default();
    let (number, cut_in_chunk) = match (&pool, positional) {
        // A file on disk: no thread hands out work, each worker claims the next chunk itself.
        (_, Some((file, size))) => {
            let claim = Claim {
                file,
                size,
                next: AtomicU64::new(pending.len() as u64),
                folded: Mutex::new((order, fold)),
            };
            if !pending.is_empty() {
                let o = pending.into_iter().map(&one).collect();
                let mut folded = lock_ignoring_poison(&claim.folded);
                let (order, fold) = &mut *folded;
                order.park_all(&shared, o);
                order.fold_ready(&shared, fold);
            }
            let workers = if in_flight == 0 { 1 } else { threads };
            match &pool {
                Some(pool) => pool.in_place_scope(|s| claim.run(s, workers, &one)),
                None => rayon::in_place_scope(|s| claim.run(s, workers, &one)),
            }
            let (mut order, fold) = claim.folded.into_inner().unwrap_or_else(|p| p.into_inner());
            order.fold_ready(&shared, fold);
            let whole = size.saturating_sub(FILE_HEADER_SIZE as u64);
            let number = claim.next.into_inner().min(chunks_in(size));
            return finish_chunks(
                fold,
                announced,
                number,
                !whole.is_multiple_of(CHUNK_SIZE as u64),
            );
        }
        (Some(pool), None) => {
            pool.in_place_scope(|s| feed(s, r, pending, in_flight, &one, &shared, &mut order, fold))
        }
        (None, None) => rayon::in_place_scope(|s| {
            feed(s, r, pending, in_flight, &one, &shared, &mut order, fold)
        }),
    };
    order.fold_ready(&shared, fold);
    finish_chunks(fold, announced, number, cut_in_chunk);
}

/// Chunks in a file of `size` bytes, the last one maybe cut short.
fn chunks_in(size: u64) -> u64 {
    size.saturating_sub(FILE_HEADER_SIZE as u64)
        .div_ceil(CHUNK_SIZE as u64)
}

/// A file on disk read by workers that each claim the next chunk number, read that chunk where
/// it lies and parse it; outcomes are folded in chunk order by whoever completes the gap.
struct Claim<'f, 'o> {
    file: &'f std::fs::File,
    size: u64,
    next: AtomicU64,
    folded: Mutex<(Order, &'o mut Fold)>,
}

impl Claim<'_, '_> {
    /// `workers` loops: this thread runs one, the pool the others (a loop that starts after
    /// the last chunk was claimed ends at once).
    fn run<'s, F>(&'s self, s: &rayon::Scope<'s>, workers: usize, one: &'s F)
    where
        F: Fn(RawChunk) -> ChunkOutcome + Sync,
    {
        for _ in 1..workers {
            s.spawn(move |_| self.work(one));
        }
        self.work(one);
    }

    fn work<F>(&self, one: &F)
    where
        F: Fn(RawChunk) -> ChunkOutcome,
    {
        let total = chunks_in(self.size);
        let mut buffer = Vec::new();
        loop {
            let number = self.next.fetch_add(1, Ordering::Relaxed);
            if number >= total {
                break;
            }
            let mut o = match chunk_at(self.file, number, std::mem::take(&mut buffer)) {
                Ok(c) => one(c),
                Err(o) => *o,
            };
            buffer = o.buffer.take().unwrap_or_default();
            let mut folded = lock_ignoring_poison(&self.folded);
            let (order, fold) = &mut *folded;
            order.parked.insert(o.number, o);
            order.fold_parked(fold);
        }
    }
}

/// Report a file cut at a chunk boundary: `number` chunks were read, the last cut short or not.
fn finish_chunks(fold: &mut Fold, announced: Option<u64>, number: u64, cut_in_chunk: bool) {
    // A cut inside a chunk is reported with that chunk; a cut at a chunk boundary only shows
    // against the header's chunk count.
    if let Some(announced) = announced.filter(|a| number < *a && !cut_in_chunk) {
        let what = if number == 0 {
            "no chunk after the file header".to_string()
        } else {
            format!("the file ends after chunk {}", number - 1)
        };
        fold.problems.push(Problem::new(
            "truncated",
            Some(format!("chunk {number}")),
            format!(
                "{what}, but the header announces {announced} chunks: the file was cut short \
                 and the records of the missing chunks are lost"
            ),
        ));
    }
}

/// What the reading thread and the chunk workers share.
#[derive(Default)]
struct Shared {
    /// Jobs handed out and not done yet.
    out: AtomicUsize,
    finished: Mutex<Vec<ChunkOutcome>>,
    /// Chunk buffers to read into again.
    spare: Mutex<Vec<Vec<u8>>>,
    /// Signalled when a chunk is done and someone waits for a slot.
    slot: std::sync::Condvar,
    waiting: AtomicUsize,
}

impl Shared {
    /// A chunk is done: free its slot, and wake the reader if it waits for one.
    fn done(&self) {
        self.out.fetch_sub(1, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.slot.notify_one();
        }
    }

    /// Wait until fewer than `limit` chunks are out. A pool worker runs other pool jobs
    /// meanwhile (it is one of the `--threads`); any other thread (the main thread reading the
    /// only file) sleeps, so the workers are never kept waiting for work while it parses.
    fn wait_for_slot(&self, limit: usize) {
        while self.out.load(Ordering::Acquire) >= limit {
            if let Some(rayon::Yield::Executed) = rayon::yield_now() {
                continue;
            }
            let guard = lock_ignoring_poison(&self.finished);
            self.waiting.fetch_add(1, Ordering::SeqCst);
            if self.out.load(Ordering::SeqCst) >= limit {
                // A timeout, not a bare wait: the notification may come between the check and
                // the wait (it is sent without this lock).
                let _ = self
                    .slot
                    .wait_timeout(guard, std::time::Duration::from_micros(200));
            }
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Outcomes waiting for the chunks before them: they are folded in chunk order, so channels and
/// problems are listed as they occur in the file.
#[derive(Default)]
struct Order {
    parked: std::collections::BTreeMap<u64, ChunkOutcome>,
    next: u64,
}

impl Order {
    /// Keep an outcome until the chunks before it are folded; its buffer goes back to `shared`.
    fn park(&mut self, shared: &Shared, mut o: ChunkOutcome) {
        lock_ignoring_poison(&shared.spare).extend(o.buffer.take());
        self.parked.insert(o.number, o);
    }

    fn park_all(&mut self, shared: &Shared, outcomes: Vec<ChunkOutcome>) {
        for o in outcomes {
            self.park(shared, o);
        }
    }

    /// Park what the workers finished, then fold every outcome whose turn has come.
    fn fold_ready(&mut self, shared: &Shared, fold: &mut Fold) {
        let done = std::mem::take(&mut *lock_ignoring_poison(&shared.finished));
        self.park_all(shared, done);
        self.fold_parked(fold);
    }

    /// Fold the parked outcomes that come next in chunk order.
    fn fold_parked(&mut self, fold: &mut Fold) {
        while let Some(o) = self.parked.remove(&self.next) {
            fold.chunk(o);
            self.next += 1;
        }
    }
}

/// Chunks of a stream to parse, handed out together (fewer, larger jobs keep the workers from
/// waking and stealing for every 64 KiB).
type Job = Vec<RawChunk>;

/// Chunks per job.
const JOB_CHUNKS: u64 = 4;

/// Read chunk `number` of `file` (zero-padded when the file ends inside it), into a spare
/// buffer when there is one. A read error loses this chunk only.
fn chunk_at(
    file: &std::fs::File,
    number: u64,
    mut bytes: Vec<u8>,
) -> Result<RawChunk, Box<ChunkOutcome>> {
    bytes.resize(CHUNK_SIZE, 0);
    let offset = FILE_HEADER_SIZE as u64 + number * CHUNK_SIZE as u64;
    let mut len = 0;
    while len < CHUNK_SIZE {
        match read_at(file, &mut bytes[len..], offset + len as u64) {
            Ok(0) => break,
            Ok(k) => len += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let mut out = ChunkOutcome {
                    number,
                    buffer: Some(bytes),
                    ..ChunkOutcome::default()
                };
                out.problem(
                    "io",
                    format!("chunk {number}"),
                    format!("read failed, this chunk is not read: {e}"),
                );
                return Err(Box::new(out));
            }
        }
    }
    bytes[len..].fill(0);
    Ok(RawChunk { number, bytes, len })
}

/// Read the stream's chunks after `pending` and parse each on a worker of the scope, at most
/// `in_flight` jobs at once (none: parse here, one after another).
#[allow(clippy::too_many_arguments)]
fn feed<'s, R: Read, F>(
    s: &rayon::Scope<'s>,
    r: &mut R,
    pending: Vec<RawChunk>,
    in_flight: usize,
    one: &'s F,
    shared: &'s Shared,
    order: &mut Order,
    fold: &mut Fold,
) -> (u64, bool)
where
    F: Fn(RawChunk) -> ChunkOutcome + Sync,
{
    let mut number = pending.len() as u64;
    let mut eof = pending.last().is_some_and(|c| c.len < CHUNK_SIZE);
    // Whether the last chunk read was cut short (a cut at a chunk boundary is not).
    let mut cut = eof;
    if !pending.is_empty() {
        order.park_all(shared, pending.into_iter().map(one).collect());
    }
    while !eof {
        let mut job: Job = Vec::new();
        let mut buffers = std::mem::take(&mut *lock_ignoring_poison(&shared.spare));
        while !eof && (job.len() as u64) < JOB_CHUNKS {
            match next_chunk(r, number, &mut buffers) {
                Ok(Some(c)) => {
                    eof = c.len < CHUNK_SIZE;
                    cut = eof;
                    number += 1;
                    job.push(c);
                }
                Ok(None) => eof = true,
                Err(e) => {
                    fold.problems.push(Problem::new(
                        "io",
                        Some(format!("chunk {number}")),
                        format!("read failed, the rest of the file is not read: {e}"),
                    ));
                    eof = true;
                }
            }
        }
        lock_ignoring_poison(&shared.spare).append(&mut buffers);
        if in_flight == 0 {
            order.park_all(shared, job.into_iter().map(one).collect());
        } else {
            shared.wait_for_slot(in_flight);
            shared.out.fetch_add(1, Ordering::AcqRel);
            s.spawn(move |_| {
                let o: Vec<ChunkOutcome> = job.into_iter().map(one).collect();
                lock_ignoring_poison(&shared.finished).extend(o);
                shared.done();
            });
        }
        order.fold_ready(shared, fold);
    }
    // The number of chunks read, and whether the last one was cut short.
    (number, cut)
}

/// A chunk the crate refuses: one error, and a problem saying its records are lost.
fn lost_chunk(out: &mut ChunkOutcome, at: String, number: u64, why: &str) {
    out.errors += 1;
    out.problem(
        "bad_chunk",
        at,
        format!("chunk {number} cannot be read ({why}); its records are lost"),
    );
}

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next chunk from the stream, `None` at its end, read into a recycled buffer when there
/// is one. A short last chunk is zero-padded.
fn next_chunk<R: Read>(
    r: &mut R,
    number: u64,
    spare: &mut Vec<Vec<u8>>,
) -> io::Result<Option<RawChunk>> {
    let mut bytes = spare.pop().unwrap_or_default();
    bytes.resize(CHUNK_SIZE, 0);
    let len = read_full(r, &mut bytes)?;
    bytes[len..].fill(0);
    Ok((len > 0).then_some(RawChunk { number, bytes, len }))
}

/// [`process_chunk`], with a panic inside the parser (damaged input it does not expect) turned
/// into a chunk error instead of ending the run.
fn guarded_chunk(work: &Work, raw: RawChunk) -> ChunkOutcome {
    let number = raw.number;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| process_chunk(work, raw)))
        .unwrap_or_else(|_| {
            let mut out = ChunkOutcome {
                number,
                errors: 1,
                ..ChunkOutcome::default()
            };
            out.problem(
                "bad_chunk",
                format!("chunk {number}"),
                format!("the EVTX parser failed on chunk {number}; its records are lost"),
            );
            out
        })
}

fn process_chunk(work: &Work, raw: RawChunk) -> ChunkOutcome {
    let RawChunk { number, bytes, len } = raw;
    let mut out = ChunkOutcome {
        number,
        ..ChunkOutcome::default()
    };
    // Logs have zeroed, never-used chunks; the crate skips them too.
    if !bytes.starts_with(b"ElfChnk\0") && all_zero(&bytes) {
        out.buffer = Some(bytes);
        return out;
    }
    let truncated = len < CHUNK_SIZE;
    let at = format!("chunk {number}");
    if truncated && (len < CHUNK_HEADER_SIZE || !bytes.starts_with(b"ElfChnk\0")) {
        out.problem(
            "truncated",
            at,
            format!("the file ends {len} bytes into chunk {number}, before its records: whatever it held is lost"),
        );
        return out;
    }
    let mut data = match EvtxChunkData::new(bytes, false) {
        Ok(d) => d,
        Err(e) => {
            lost_chunk(&mut out, at, number, &chain(&e));
            return out;
        }
    };
    if !truncated {
        out.header_ids = Some((
            data.header.first_event_record_id,
            data.header.last_event_record_id,
        ));
    }
    if work.path == Path::Fast && !truncated && string_table_ok(&data.data) {
        if let Some(mut walked) = walk_chunk(work, number, &data.data, &data.header) {
            walked.header_ids = out.header_ids;
            walked.buffer = Some(data.data);
            return walked;
        }
    }
    data.number = Some(number);
    let mut chunk = match data.parse(Arc::clone(&work.settings)) {
        Ok(c) => c,
        Err(e) => {
            lost_chunk(&mut out, at, number, &chain(&e));
            return out;
        }
    };
    out.via_crate = true;
    crate_records(work, &mut out, &mut chunk, len);
    out
}

/// Whether every byte is zero (folded a block at a time so the compiler vectorises it).
fn all_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(4096)
        .all(|block| block.iter().fold(0u8, |acc, b| acc | b) == 0)
}

/// Whether the crate can build this chunk's string cache (it fails the whole chunk when it
/// cannot): every name chain from the header's 64 buckets in bounds and valid UTF-16. Checked in
/// place, so the walker does not need the cache itself.
fn string_table_ok(data: &[u8]) -> bool {
    let mut seen: Vec<usize> = Vec::new();
    for bucket in 0..64 {
        let at = 128 + 4 * bucket;
        let Some(first) = data.get(at..at + 4) else {
            return false;
        };
        let mut offset = u32::from_le_bytes([first[0], first[1], first[2], first[3]]) as usize;
        if offset == 0 {
            continue;
        }
        loop {
            seen.push(offset);
            let mut c = Cursor { data, pos: offset };
            let (Some(next), Some(_hash), Some(chars)) = (c.u32(), c.u16(), c.u16()) else {
                return false;
            };
            let Some(text) = c.bytes(usize::from(chars) * 2) else {
                return false;
            };
            if c.u16().is_none() {
                return false;
            }
            let units = text
                .chunks_exact(2)
                .map(|u| u16::from_le_bytes([u[0], u[1]]))
                .take_while(|u| *u != 0);
            if char::decode_utf16(units).any(|c| c.is_err()) {
                return false;
            }
            // A chain that links back to a string already read ends there, as in the crate.
            match next as usize {
                0 => break,
                n if seen.contains(&n) => break,
                n => offset = n,
            }
        }
    }
    true
}

/// Where a record error is and what it says, with the causes the crate chains.
fn describe_error(e: &EvtxError, chunk: u64) -> (String, String) {
    let at = match e {
        EvtxError::FailedToReadRecordAt { offset, .. } => {
            format!("chunk {chunk} offset {offset:#x}")
        }
        EvtxError::FailedToParseRecord { record_id, .. } => {
            format!("record {record_id} (chunk {chunk})")
        }
        _ => format!("chunk {chunk}"),
    };
    (at, chain(e))
}

/// An error and the causes it wraps, `: `-joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

fn to_time(ts: evtx::Timestamp) -> Option<Time> {
    let ns = ts.as_nanosecond();
    let secs = i64::try_from(ns.div_euclid(1_000_000_000)).ok()?;
    let nanos = u32::try_from(ns.rem_euclid(1_000_000_000)).ok()?;
    chrono::DateTime::from_timestamp(secs, nanos)
}

/// Whether a record with this header is kept (before any other string is built).
fn wanted(
    channel: Option<&str>,
    provider: Option<&str>,
    id: u32,
    filter: &EventFilter,
    t: Time,
) -> bool {
    channel.is_some_and(|c| we::select(c, provider, id).is_some()) && filter.keeps_time(t)
}

/// The crate's record iterator, for chunks the walker does not vouch for: exact crate
/// semantics (its errors, its resynchronisation after a bad record), each record rendered to
/// JSON.
fn crate_records(work: &Work, out: &mut ChunkOutcome, chunk: &mut EvtxChunk<'_>, len: usize) {
    let truncated = len < CHUNK_SIZE;
    let number = out.number;
    let mut cut = 0u64;
    for item in chunk.iter() {
        match item {
            Err(e) => {
                out.errors += 1;
                let (at, message) = describe_error(&e, number);
                out.problem("bad_record", at, message);
            }
            Ok(rec) => {
                // In a chunk cut short only records that end before the cut are whole.
                let end = rec.binxml_offset + u64::from(rec.binxml_size) + 4;
                if truncated && end > len as u64 {
                    out.errors += 1;
                    cut += 1;
                    continue;
                }
                json_record(work, out, rec);
            }
        }
    }
    if truncated {
        let at = format!("chunk {number}");
        out.problem(
            "truncated",
            at,
            format!(
                "the file ends {len} bytes into chunk {number} (of {CHUNK_SIZE}): {} records read from it, {cut} cut off, the rest lost",
                out.records
            ),
        );
    }
}

/// One record through the crate's JSON rendering.
fn json_record(work: &Work, out: &mut ChunkOutcome, rec: EvtxRecord<'_>) {
    let id = rec.event_record_id;
    let number = out.number;
    let at = || format!("record {id} (chunk {number})");
    let Some(time) = to_time(rec.timestamp) else {
        out.errors += 1;
        out.problem("bad_record", at(), "record time is out of range".into());
        return;
    };
    let place = at();
    // Rendered to JSON by the crate; only the System fields selection needs are read from it,
    // and the whole document is parsed for the records kept.
    let parsed = rec
        .into_json_bytes()
        .and_then(|r| {
            String::from_utf8(r.data)
                .map_err(|e| EvtxError::from(evtx::err::SerializationError::from(e)))
        })
        .and_then(|text| {
            let mut de = serde_json::Deserializer::from_str(&text);
            let head = serde::de::DeserializeSeed::deserialize(
                Member("Event", Member("System", SystemSeed)),
                &mut de,
            )
            .and_then(|h| de.end().map(|()| h))
            .map_err(|e| EvtxError::from(evtx::err::SerializationError::from(e)))?;
            Ok((text, head.flatten()))
        });
    let (text, head) = match parsed {
        Ok(p) => p,
        Err(e) => {
            out.errors += 1;
            out.problem("bad_record", place, chain(&e));
            return;
        }
    };
    out.records += 1;
    let Some(head) = head else {
        out.see(time, None);
        out.ignored += 1;
        return;
    };
    let channel = json_text(head.channel.as_ref()).map(|v| v.text().into_owned());
    let provider = json_attr(head.provider.as_ref(), "Name");
    let event_id = json_text(head.event_id.as_ref())
        .and_then(|v| v.as_u32())
        .unwrap_or(0);
    out.see(time, channel.as_deref());
    let keep = wanted(
        channel.as_deref(),
        provider.as_deref(),
        event_id,
        work.filter,
        time,
    );
    let data = keep
        .then(|| serde_json::from_str::<J>(&text).ok())
        .flatten()
        .and_then(|json| raw_from_json(&json, id, time))
        .and_then(|raw| we::to_event_data(&raw));
    out.keep(work, id, data, time);
}

/// Reads one member of a JSON object (the last of that name, as `serde_json::Value` keeps it)
/// with the inner seed, skipping everything else unbuilt; `None` when the value is no object or
/// has no such member.
#[derive(Clone, Copy)]
struct Member<S>(&'static str, S);

impl<'de, S> serde::de::DeserializeSeed<'de> for Member<S>
where
    S: serde::de::DeserializeSeed<'de> + Copy,
{
    type Value = Option<S::Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S> serde::de::Visitor<'de> for Member<S>
where
    S: serde::de::DeserializeSeed<'de> + Copy,
{
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = m.next_key::<String>()? {
            if key == self.0 {
                found = Some(m.next_value_seed(self.1)?);
            } else {
                m.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The `Event/System` members record selection reads.
#[derive(Default)]
struct Head {
    channel: Option<J>,
    event_id: Option<J>,
    provider: Option<J>,
}

/// Reads [`Head`] from the System value: none of its members when it is no object, as
/// `Value::get` sees it.
#[derive(Clone, Copy)]
struct SystemSeed;

impl<'de> serde::de::DeserializeSeed<'de> for SystemSeed {
    type Value = Head;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Head, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SystemSeed {
    type Value = Head;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Head, A::Error> {
        let mut h = Head::default();
        while let Some(key) = m.next_key::<String>()? {
            match key.as_str() {
                "Channel" => h.channel = Some(m.next_value()?),
                "EventID" => h.event_id = Some(m.next_value()?),
                "Provider" => h.provider = Some(m.next_value()?),
                _ => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(h)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Head, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Head::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_unit<E>(self) -> Result<Head, E> {
        Ok(Head::default())
    }
}

// ---------------------------------------------------------------------------------------------
// The record walker

/// The last text seen for a System field (channel, provider): logs repeat them record after
/// record, so they are decoded once.
#[derive(Default)]
struct TextCache {
    raw: Vec<u8>,
    text: String,
    set: bool,
    /// Bumped whenever the text changes, so callers can keep what they derived from it.
    generation: u64,
}

impl TextCache {
    fn get(&mut self, v: Option<&Value<'_>>) -> Option<&str> {
        match v? {
            Value::Utf16(b) => {
                if !self.set || self.raw != *b {
                    self.raw.clear();
                    self.raw.extend_from_slice(b);
                    self.text = we::decode_utf16le(b);
                    self.set = true;
                    self.generation += 1;
                }
            }
            other => {
                let t = other.text();
                if self.set || self.text != t {
                    self.text = t.into_owned();
                    self.raw.clear();
                    self.set = false;
                    self.generation += 1;
                }
            }
        }
        Some(&self.text)
    }
}

/// A parsed template instance: its template map (an index into the walk's [`Templates`]), its
/// values (a range of the walk's value buffer) and its nested fragments (by the index of the
/// substitution that holds them). Indices rather than references, so a record costs no
/// allocation and no reference count.
struct Node {
    map: usize,
    values: std::ops::Range<usize>,
    children: Vec<(u16, Node)>,
}

/// A parsed record's nodes resolved against the walk's templates and values.
#[derive(Clone, Copy)]
struct View<'a, 'c> {
    maps: &'a [Rc<TemplateMap>],
    values: &'a [(u8, &'c [u8])],
}

impl<'a, 'c> View<'a, 'c> {
    fn map(&self, n: &Node) -> &'a TemplateMap {
        &self.maps[n.map]
    }

    fn values(&self, n: &Node) -> &'a [(u8, &'c [u8])] {
        &self.values[n.values.clone()]
    }

    /// How many EventData/UserData pairs the instance and its fragments can hold.
    fn data_len(&self, n: &Node) -> usize {
        self.map(n).data.len()
            + n.children
                .iter()
                .map(|(_, c)| self.data_len(c))
                .sum::<usize>()
    }
}

/// Fragments nested deeper than this are left to the crate.
const MAX_NESTING: usize = 4;

/// Parse and check an instance the way the crate would build it: every value of a known type
/// and a consistent size, every nested fragment a template instance whose definition the walker
/// understands. `None` for anything else (the chunk then goes through the crate).
/// `bytes` is the instance's BinXML (a slice of `chunk`); its values go to `values`.
fn node<'c>(
    chunk: &'c [u8],
    bytes: &'c [u8],
    values: &mut Vec<(u8, &'c [u8])>,
    prefix: &[String],
    templates: &mut Templates,
    shared: &SharedTemplates,
    depth: usize,
) -> Option<Node> {
    let start = values.len();
    let def_offset = parse_instance(chunk, bytes, values)?;
    let end = values.len();
    let map = template(templates, shared, chunk, def_offset, prefix)?;
    let mut children = Vec::new();
    for at in start..end {
        let (ty, b) = values[at];
        if ty == 0x21 {
            if depth >= MAX_NESTING {
                return None;
            }
            let index = u16::try_from(at - start).ok()?;
            // Where the fragment sits decides how its elements read; elsewhere it is only checked.
            // (The walk's own copy of the path: the map's is shared between threads, and
            // counting references to it from every record would have them contend for it.)
            let path = templates.paths[map]
                .iter()
                .find(|(i, _)| *i == index)
                .map_or_else(|| Rc::clone(&templates.unplaced), |(_, p)| Rc::clone(p));
            let child = node(chunk, b, values, &path, templates, shared, depth + 1)?;
            children.push((index, child));
        } else if !plausible_value(ty, b) {
            return None;
        }
    }
    Some(Node {
        map,
        values: start..end,
        children,
    })
}

/// Whether the crate reads a value of this type and size without error, as it is.
fn plausible_value(ty: u8, b: &[u8]) -> bool {
    let n = b.len();
    match ty {
        0x00 | 0x02 | 0x0e => true,
        0x01 => n.is_multiple_of(2),
        0x03 | 0x04 => n == 1,
        0x05 | 0x06 => n == 2,
        0x07 | 0x08 | 0x0b | 0x0d | 0x14 => n == 4,
        0x09 | 0x0a | 0x0c | 0x11 | 0x15 => n == 8,
        0x0f | 0x12 => n == 16,
        0x10 => n == 4 || n == 8,
        // The crate reads the SID its count says and ignores what follows in the slot.
        0x13 => n >= 8 && n >= 8 + 4 * usize::from(b[1]),
        0x81 => n == 0 || (n.is_multiple_of(2) && b.ends_with(&[0, 0])),
        0x82 => true,
        0x83 | 0x84 => true,
        0x85 | 0x86 => n.is_multiple_of(2),
        0x87 | 0x88 | 0x8b | 0x94 => n.is_multiple_of(4),
        0x89 | 0x8a | 0x8c | 0x91 | 0x95 => n.is_multiple_of(8),
        0x8f | 0x92 => n.is_multiple_of(16),
        _ => false,
    }
}

/// Render a value of BinXML type `ty` (MS-EVEN6 2.2.18) as the crate renders it. Text and hex
/// stay undecoded until read.
fn raw_value(ty: u8, b: &[u8]) -> Option<Value<'_>> {
    let fixed = |n: usize| b.get(..n);
    let s = |s: String| Some(Value::Str(Cow::Owned(s)));
    match ty {
        0x00 => None,
        0x01 => Some(Value::Utf16(b)),
        0x02 => {
            let bytes: Vec<u8> = b.iter().copied().filter(|c| *c != 0).collect();
            s(encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(&bytes)
                .0
                .into_owned())
        }
        0x03 => Some(Value::Int(i64::from(*b.first()? as i8))),
        0x04 => Some(Value::UInt(u64::from(*b.first()?))),
        0x05 => Some(Value::Int(i64::from(i16::from_le_bytes(
            fixed(2)?.try_into().ok()?,
        )))),
        0x06 => Some(Value::UInt(u64::from(u16::from_le_bytes(
            fixed(2)?.try_into().ok()?,
        )))),
        0x07 => Some(Value::Int(i64::from(i32::from_le_bytes(
            fixed(4)?.try_into().ok()?,
        )))),
        0x08 => Some(Value::UInt(u64::from(u32::from_le_bytes(
            fixed(4)?.try_into().ok()?,
        )))),
        0x09 => Some(Value::Int(i64::from_le_bytes(fixed(8)?.try_into().ok()?))),
        0x0a => Some(Value::UInt(u64::from_le_bytes(fixed(8)?.try_into().ok()?))),
        0x0b => s(f32::from_le_bytes(fixed(4)?.try_into().ok()?).to_string()),
        0x0c => s(f64::from_le_bytes(fixed(8)?.try_into().ok()?).to_string()),
        0x0d => match i32::from_le_bytes(fixed(4)?.try_into().ok()?) {
            0 => Some(Value::Str(Cow::Borrowed("false"))),
            1 => Some(Value::Str(Cow::Borrowed("true"))),
            raw => Some(Value::Int(i64::from(raw))),
        },
        0x0e => {
            use std::fmt::Write;
            let mut hex = String::with_capacity(b.len() * 2);
            for x in b {
                let _ = write!(hex, "{x:02X}");
            }
            s(hex)
        }
        0x0f => Some(Value::Guid(fixed(16)?)),
        0x10 | 0x14 | 0x15 if b.len() == 4 => Some(Value::Hex(u64::from(u32::from_le_bytes(
            fixed(4)?.try_into().ok()?,
        )))),
        0x10 | 0x14 | 0x15 => Some(Value::Hex(u64::from_le_bytes(fixed(8)?.try_into().ok()?))),
        0x11 => {
            let ft = u64::from_le_bytes(fixed(8)?.try_into().ok()?);
            let t = filetime(ft)?;
            s(format!(
                "{}.{:07}Z",
                t.format("%Y-%m-%dT%H:%M:%S"),
                ft % 10_000_000
            ))
        }
        0x12 => {
            let w = |i: usize| Some(u16::from_le_bytes([*b.get(2 * i)?, *b.get(2 * i + 1)?]));
            s(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
                w(0)?,
                w(1)?,
                w(3)?,
                w(4)?,
                w(5)?,
                w(6)?,
                u32::from(w(7)?) * 10_000
            ))
        }
        0x13 => Some(Value::Sid(b)),
        // Arrays: their items, comma-joined.
        0x81 => s(b
            .chunks_exact(2)
            .collect::<Vec<_>>()
            .split(|u| *u == [0, 0])
            .filter(|item| !item.is_empty())
            .map(|item| we::decode_utf16le(&item.concat()))
            .collect::<Vec<_>>()
            .join(",")),
        _ => s(String::new()),
    }
}

/// FILETIME (100 ns since 1601) as UTC, if chrono can hold it.
fn filetime(ft: u64) -> Option<Time> {
    let secs = i64::try_from(ft / 10_000_000).ok()? - 11_644_473_600;
    let nanos = u32::try_from((ft % 10_000_000) * 100).ok()?;
    chrono::DateTime::from_timestamp(secs, nanos)
}

/// The value of `parts` for one instance's substitution `values`. Literals borrow from the
/// template map, text from the chunk.
fn resolve<'x>(parts: &'x [Part], values: &[(u8, &'x [u8])]) -> Option<Value<'x>> {
    let sub = |i: &u16| {
        values
            .get(usize::from(*i))
            .and_then(|(ty, b)| raw_value(*ty, b))
    };
    match parts {
        [] => None,
        [Part::Lit(s)] => Some(Value::Str(Cow::Borrowed(s))),
        [Part::Sub(i)] => sub(i),
        _ => {
            let mut s = String::new();
            for p in parts {
                match p {
                    Part::Lit(l) => s.push_str(l),
                    Part::Sub(i) => {
                        if let Some(v) = sub(i) {
                            s.push_str(&v.text());
                        }
                    }
                }
            }
            Some(Value::Str(Cow::Owned(s)))
        }
    }
}

/// The EventData/UserData pairs of an instance and of the fragments nested in it, in the order
/// the maps list them.
fn collect_data<'x>(view: View<'x, 'x>, node: &Node, out: &mut Vec<(Cow<'x, str>, Value<'x>)>) {
    let map = view.map(node);
    let values = view.values(node);
    for (name, value) in &map.data {
        if let Some(v) = resolve(value, values) {
            let name = match resolve(name, values) {
                Some(Value::Str(s)) => s,
                Some(other) => Cow::Owned(other.text().into_owned()),
                None => Cow::Borrowed(""),
            };
            out.push((name, v));
        }
    }
    for op in &map.opaque {
        if let Some((_, child)) = node.children.iter().find(|(i, _)| *i == op.index) {
            collect_data(view, child, out);
        }
    }
}

/// State of one walk over a chunk.
struct Walk<'w> {
    work: &'w Work<'w>,
    templates: Templates,
    channel: TextCache,
    provider: TextCache,
    /// The computer name of Security records: the same on every record of a log.
    computer: TextCache,
    /// Whether padtriage reads any record of the current channel (by channel generation).
    channel_used: Option<(u64, bool)>,
    /// The channel generation last noted in the chunk's channel list.
    channel_noted: u64,
    /// Oldest and newest record time, as FILETIME.
    first: u64,
    last: u64,
}

/// Read a chunk's records without the crate's record iterator: record headers in place,
/// template instances parsed here, fields found through the template maps. `None` as soon as
/// anything is not as the walker expects: the caller then reads the chunk through the crate,
/// whose counts and errors are the reference.
fn walk_chunk(
    work: &Work,
    number: u64,
    data: &[u8],
    header: &EvtxChunkHeader,
) -> Option<ChunkOutcome> {
    TEMPLATES.with(|shared| walk_chunk_with(work, number, data, header, shared))
}

fn walk_chunk_with(
    work: &Work,
    number: u64,
    data: &[u8],
    header: &EvtxChunkHeader,
    shared: &SharedTemplates,
) -> Option<ChunkOutcome> {
    let mut out = ChunkOutcome {
        number,
        ..ChunkOutcome::default()
    };
    let mut w = Walk {
        work,
        templates: Templates::default(),
        channel: TextCache::default(),
        provider: TextCache::default(),
        computer: TextCache::default(),
        channel_used: None,
        channel_noted: 0,
        first: u64::MAX,
        last: 0,
    };
    let mut values = Vec::with_capacity(64);
    let live_end = (header.free_space_offset as usize).min(data.len());
    let mut offset = CHUNK_HEADER_SIZE;
    while offset < live_end {
        let mut c = Cursor { data, pos: offset };
        let magic = c.bytes(4)?;
        if magic != [0x2a, 0x2a, 0, 0] {
            // Zeroes where a record should start: the free space really starts here (the
            // header's offset is too large), unless a record follows (the crate then reports
            // the gap and resynchronises; leave that to it).
            let search_end = live_end.min(header.last_event_record_data_offset as usize + 4);
            let rest = data.get(offset + 1..search_end).unwrap_or_default();
            if magic == [0, 0, 0, 0] && !rest.windows(4).any(|w| w == [0x2a, 0x2a, 0, 0]) {
                break;
            }
            return None;
        }
        let size = c.u32()? as usize;
        let id = u64::from_le_bytes(c.bytes(8)?.try_into().ok()?);
        let ft = u64::from_le_bytes(c.bytes(8)?.try_into().ok()?);
        // The crate's limits: a record holds at least its header and size copy, within the chunk,
        // at a time its timestamps can hold (up to 9999-12-30T22:00Z: 265,046,680,800 s after
        // 1601).
        if size < 28
            || offset.checked_add(size - 4)? > data.len()
            || ft / 10_000_000 > 265_046_680_800
        {
            return None;
        }
        let stream = data.get(offset + 24..offset + size - 4)?;
        values.clear();
        let node = node(data, stream, &mut values, &[], &mut w.templates, shared, 0)?;
        w.record(&mut out, id, ft, &node, &values);
        if id == header.last_event_record_id {
            break;
        }
        offset += size;
    }
    // Times are converted once per chunk, and per record kept.
    if out.records > 0 {
        out.first = filetime(w.first);
        out.last = filetime(w.last);
    }
    Some(out)
}

impl Walk<'_> {
    fn record(
        &mut self,
        out: &mut ChunkOutcome,
        id: u64,
        ft: u64,
        node: &Node,
        all_values: &[(u8, &[u8])],
    ) {
        out.records += 1;
        self.first = self.first.min(ft);
        self.last = self.last.max(ft);
        let view = View {
            maps: &self.templates.maps,
            values: all_values,
        };
        let map = view.map(node);
        let values = view.values(node);
        let present = self
            .channel
            .get(resolve(&map.channel, values).as_ref())
            .is_some();
        let generation = self.channel.generation;
        let channel = present.then_some(self.channel.text.as_str());
        if let Some(c) = channel.filter(|c| !c.is_empty()) {
            if self.channel_noted != generation {
                self.channel_noted = generation;
                if !out.channels.iter().any(|k| k == c) {
                    out.channels.push(c.to_string());
                }
            }
        }
        let Some(channel) = channel else {
            out.ignored += 1;
            return;
        };
        let used = match self.channel_used {
            Some((seen, used)) if seen == generation => used,
            _ => {
                let used = we::channel_used(channel);
                self.channel_used = Some((generation, used));
                used
            }
        };
        if !used {
            out.ignored += 1;
            return;
        }
        let Some(event_id) = resolve(&map.event_id, values).and_then(|v| v.as_u32()) else {
            out.ignored += 1;
            return;
        };
        // Only System selection looks at the provider.
        let provider = if super::registry::channel_needs_provider(channel) {
            self.provider.get(resolve(&map.provider, values).as_ref())
        } else {
            None
        };
        let Some(family) = we::select(channel, provider, event_id) else {
            out.ignored += 1;
            return;
        };
        let Some(time) = filetime(ft).filter(|t| self.work.filter.keeps_time(*t)) else {
            out.ignored += 1;
            return;
        };
        let mut data = Vec::with_capacity(view.data_len(node));
        collect_data(view, node, &mut data);
        // Text the family's mapper reads (the computer for Security, the user SID for AAD).
        let computer = family
            .needs_computer()
            .then(|| self.computer.get(resolve(&map.computer, values).as_ref()))
            .flatten()
            .map(Cow::Borrowed);
        let user_id = family
            .needs_user_id()
            .then(|| resolve(&map.user_id, values))
            .flatten()
            .map(|v| Cow::Owned(v.text().into_owned()));
        let raw = RawEvent {
            provider: provider.map(Cow::Borrowed),
            channel: Some(Cow::Borrowed(channel)),
            event_id,
            level: resolve(&map.level, values)
                .and_then(|v| v.as_u32())
                .and_then(|l| u8::try_from(l).ok()),
            computer,
            user_id,
            record_id: Some(id),
            time,
            time_basis: crate::model::TimeBasis::Utc,
            data,
        };
        let data = we::to_event_data(&raw);
        out.keep(self.work, id, data, time);
    }
}

type J = serde_json::Value;

fn json_value(j: &J) -> Option<Value<'static>> {
    match j {
        J::Null => None,
        J::Bool(b) => Some(Value::Str(Cow::Borrowed(if *b { "true" } else { "false" }))),
        J::Number(n) => Some(if let Some(u) = n.as_u64() {
            Value::UInt(u)
        } else if let Some(i) = n.as_i64() {
            Value::Int(i)
        } else {
            Value::Str(Cow::Owned(n.to_string()))
        }),
        J::String(s) => Some(Value::Str(Cow::Owned(s.clone()))),
        J::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(json_value)
                .map(|v| v.text().into_owned())
                .collect();
            Some(Value::Str(Cow::Owned(parts.join(","))))
        }
        J::Object(m) => m.get("#text").and_then(json_value),
    }
}

fn json_attr(node: Option<&J>, name: &str) -> Option<String> {
    node?
        .get("#attributes")?
        .get(name)
        .and_then(json_value)
        .map(|v| v.text().into_owned())
}

fn json_text(node: Option<&J>) -> Option<Value<'static>> {
    node.and_then(json_value)
}

/// Leaf values under UserData, named by their element.
fn flatten_user_data(name: &str, j: &J, out: &mut Vec<(Cow<'static, str>, Value<'static>)>) {
    match j {
        J::Object(m) => {
            for (k, child) in m {
                if k == "#attributes" {
                    continue;
                }
                if k == "#text" {
                    if let Some(v) = json_value(child) {
                        out.push((Cow::Owned(name.to_string()), v));
                    }
                } else {
                    flatten_user_data(k, child, out);
                }
            }
        }
        J::Array(items) => {
            for item in items {
                flatten_user_data(name, item, out);
            }
        }
        other => {
            if let Some(v) = json_value(other) {
                out.push((Cow::Owned(name.to_string()), v));
            }
        }
    }
}

/// The event view of the crate's JSON rendering (`#attributes`/`#text` layout).
fn raw_from_json(j: &J, record_id: u64, time: Time) -> Option<RawEvent<'static>> {
    let ev = j.get("Event")?;
    let sys = ev.get("System")?;
    let str_of = |node: Option<&J>| json_text(node).map(|v| Cow::Owned(v.text().into_owned()));
    let mut data = Vec::new();
    if let Some(J::Object(m)) = ev.get("EventData") {
        for (k, v) in m {
            match k.as_str() {
                "#attributes" | "Binary" => {}
                "Data" | "#text" => {
                    // Unnamed <Data> elements: one value or an array of them.
                    let inner = v.get("#text").unwrap_or(v);
                    match inner {
                        J::Array(items) => {
                            for item in items {
                                if let Some(val) = json_value(item) {
                                    data.push((Cow::Borrowed(""), val));
                                }
                            }
                        }
                        other => {
                            if let Some(val) = json_value(other) {
                                data.push((Cow::Borrowed(""), val));
                            }
                        }
                    }
                }
                _ => {
                    if let Some(val) = json_value(v) {
                        data.push((Cow::Owned(k.clone()), val));
                    }
                }
            }
        }
    }
    if let Some(J::Object(m)) = ev.get("UserData") {
        for (k, v) in m {
            if k != "#attributes" {
                flatten_user_data(k, v, &mut data);
            }
        }
    }
    Some(RawEvent {
        provider: json_attr(sys.get("Provider"), "Name").map(Cow::Owned),
        channel: str_of(sys.get("Channel")),
        event_id: json_text(sys.get("EventID"))
            .and_then(|v| v.as_u32())
            .unwrap_or(0),
        level: json_text(sys.get("Level"))
            .and_then(|v| v.as_u32())
            .and_then(|l| u8::try_from(l).ok()),
        computer: str_of(sys.get("Computer")),
        user_id: json_attr(sys.get("Security"), "UserID").map(Cow::Owned),
        record_id: Some(record_id),
        time,
        time_basis: crate::model::TimeBasis::Utc,
        data,
    })
}

// ---------------------------------------------------------------------------------------------
// Template definitions and substitution values

/// A piece of an element's text or attribute value in a template definition.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Sub(u16),
}

/// A substitution in element content that the walker does not map: a nested fragment when the
/// record fills it, placed under `path`.
#[derive(Debug, Clone, PartialEq)]
struct Opaque {
    index: u16,
    path: Vec<String>,
}

/// Where a template puts the fields padtriage reads. An empty `Vec<Part>` means absent.
#[derive(Debug, Default, PartialEq)]
struct TemplateMap {
    provider: Vec<Part>,
    event_id: Vec<Part>,
    level: Vec<Part>,
    channel: Vec<Part>,
    computer: Vec<Part>,
    user_id: Vec<Part>,
    /// EventData `<Data Name=..>` and UserData leaves: (name, value).
    data: Vec<(Vec<Part>, Vec<Part>)>,
    opaque: Vec<Opaque>,
}

/// Walked templates of one chunk: by definition offset, then by the path they are placed under
/// (empty for a record's own template), the index of their map in `maps`, or `None` for a shape
/// the walker does not know.
struct Templates {
    seen: Vec<(u32, Vec<String>, Option<usize>)>,
    maps: Vec<Rc<TemplateMap>>,
    /// For each map, where its nested fragments sit (substitution index, path).
    paths: Vec<Placements>,
    /// The path of a fragment no map places: it is only checked.
    unplaced: Rc<[String]>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            seen: Vec::new(),
            maps: Vec::new(),
            paths: Vec::new(),
            unplaced: Rc::from([String::from("?")]),
        }
    }
}

/// A template definition's identity across the chunks of a file, as the crate's own program
/// store has it: GUID, body size and body checksum. Windows copies each template into every
/// chunk, so one walk serves them all.
type TemplateKey = ([u8; 16], u32, u32);

/// A walked template shared across chunks, with the names its body refers to outside itself
/// (they live elsewhere in each chunk, so they are checked in each) and where its nested
/// fragments sit.
struct SharedTemplate {
    prefix: Vec<String>,
    external: Vec<(usize, String)>,
    map: Rc<TemplateMap>,
    paths: Placements,
}

type SharedTemplates = RefCell<HashMap<TemplateKey, Vec<SharedTemplate>>>;

/// Where a template's nested fragments sit: substitution index and path.
type Placements = Rc<[(u16, Rc<[String]>)]>;

/// Template definitions kept at most; past it the cache starts again (a hostile log could
/// make every chunk's templates unique).
const MAX_SHARED_TEMPLATES: usize = 4096;

thread_local! {
    /// The templates this worker walked, in every log it read: they are identified by content,
    /// and the logs of one machine share most of them, so a bundle of many small logs walks
    /// each once per worker. One cache per worker, not one behind a lock: every chunk looks
    /// up each of its templates, and with one cache for all (its lock and the maps' reference
    /// counts) `analyze` took 15% more CPU at two workers.
    static TEMPLATES: SharedTemplates = SharedTemplates::default();
}

fn template_key(chunk: &[u8], offset: u32) -> Option<TemplateKey> {
    let def = offset as usize;
    let header = chunk.get(def.checked_add(4)?..def.checked_add(24)?)?;
    let guid: [u8; 16] = header[..16].try_into().ok()?;
    let size = u32::from_le_bytes(header[16..20].try_into().ok()?);
    let body = chunk.get(def + 24..(def + 24).checked_add(size as usize)?)?;
    Some((guid, size, evtx::checksum_ieee(body)))
}

fn template(
    templates: &mut Templates,
    shared: &SharedTemplates,
    chunk: &[u8],
    offset: u32,
    prefix: &[String],
) -> Option<usize> {
    // A chunk holds a few dozen templates at most: a scan beats hashing.
    if let Some((_, _, map)) = templates
        .seen
        .iter()
        .find(|(o, p, _)| *o == offset && p == prefix)
    {
        return *map;
    }
    let key = template_key(chunk, offset);
    let known = key.and_then(|key| {
        shared.borrow().get(&key)?.iter().find_map(|t| {
            let same_names = t
                .external
                .iter()
                .all(|(at, name)| name_is(chunk, *at, name));
            (t.prefix == prefix && same_names).then(|| (Rc::clone(&t.map), Rc::clone(&t.paths)))
        })
    });
    let found = match known {
        Some(found) => Some(found),
        None => walk_template(chunk, offset, prefix).map(|(map, external)| {
            let paths: Placements = map
                .opaque
                .iter()
                .map(|o| (o.index, Rc::from(o.path.as_slice())))
                .collect();
            let map = Rc::new(map);
            if let Some(key) = key {
                let mut cache = shared.borrow_mut();
                if cache.len() >= MAX_SHARED_TEMPLATES {
                    cache.clear();
                }
                cache.entry(key).or_default().push(SharedTemplate {
                    prefix: prefix.to_vec(),
                    external,
                    map: Rc::clone(&map),
                    paths: Rc::clone(&paths),
                });
            }
            (map, paths)
        }),
    };
    let index = found.map(|(map, paths)| {
        templates.paths.push(paths);
        templates.maps.push(map);
        templates.maps.len() - 1
    });
    templates.seen.push((offset, prefix.to_vec(), index));
    index
}

/// Parse a BinXML stream `bytes` (a slice of `chunk`: a record's, or a nested fragment) that is
/// one template instance: an optional fragment header, the TemplateInstance token, version,
/// template id, definition offset, the definition itself when it is stored right here (its first
/// use in the chunk), the substitution descriptors (size, type) and values, then nothing but an
/// end-of-stream token. `None` for any other shape. The raw (type, bytes) values are appended
/// to `values`; returns the definition offset.
fn parse_instance<'a>(
    chunk: &'a [u8],
    bytes: &'a [u8],
    values: &mut Vec<(u8, &'a [u8])>,
) -> Option<u32> {
    // Offsets in the fragment are chunk offsets, so read it in place.
    let start = (bytes.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
    let end = start.checked_add(bytes.len())?;
    let mut c = Cursor {
        data: chunk.get(..end)?,
        pos: start,
    };
    let mut token = c.u8()?;
    if token == 0x0f {
        c.bytes(3)?;
        token = c.u8()?;
    }
    if token != 0x0c {
        return None;
    }
    c.u8()?;
    c.u32()?; // template id
    let def_offset = c.u32()?;
    if c.pos == def_offset as usize {
        c.bytes(20)?; // next template offset, GUID
        let size = c.u32()? as usize;
        c.bytes(size)?;
    }
    let count = c.u32()? as usize;
    let descriptors = c.bytes(count.checked_mul(4)?)?;
    values.reserve(count);
    for d in descriptors.chunks_exact(4) {
        let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
        values.push((d[2], c.bytes(size)?));
    }
    // What follows must be the end: more tokens would be content the walker does not see.
    if c.pos < end && c.u8()? != 0x00 {
        return None;
    }
    Some(def_offset)
}

/// A bounds-checked little-endian reader over a chunk.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let b = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn utf16(&mut self, chars: usize) -> Option<String> {
        let b = self.bytes(chars.checked_mul(2)?)?;
        Some(we::decode_utf16le(b))
    }
    /// A name reference: the offset of a name structure in the chunk, stored right here when the
    /// offset is the current position (its first use in the chunk).
    fn name_ref(&mut self) -> Option<usize> {
        let offset = self.u32()? as usize;
        if offset == self.pos {
            self.bytes(6)?; // next-name link and hash
            let chars = usize::from(self.u16()?);
            self.bytes(chars.checked_mul(2)?.checked_add(2)?)?;
        }
        Some(offset)
    }
}

/// The name structure at `offset`: next link (4), hash (2), char count (2), UTF-16 chars.
fn name_at(data: &[u8], offset: usize) -> Option<String> {
    let mut c = Cursor {
        data,
        pos: offset.checked_add(6)?,
    };
    let chars = usize::from(c.u16()?);
    c.utf16(chars)
}

/// Whether the name structure at `offset` spells `name`, compared in place.
fn name_is(data: &[u8], offset: usize, name: &str) -> bool {
    let mut c = Cursor {
        data,
        pos: offset.saturating_add(6),
    };
    let Some(chars) = c.u16() else { return false };
    let Some(b) = c.bytes(usize::from(chars) * 2) else {
        return false;
    };
    let units = b
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]))
        .take_while(|u| *u != 0);
    units.eq(name.encode_utf16())
}

/// An element being walked.
struct Elem {
    name: Rc<str>,
    attrs: Vec<(Rc<str>, Vec<Part>)>,
    content: Vec<Part>,
    has_children: bool,
}

/// Deepest element nesting the walker accepts.
const MAX_DEPTH: usize = 64;

/// Walk the template definition at `def_offset` in a chunk (header: next offset u32, GUID,
/// data size u32; then BinXML whose element starts carry a dependency id) and note where the
/// fields padtriage reads come from. `prefix` names the elements a nested fragment sits in;
/// a record's own template (empty prefix) must be one `<Event>`. `None` for any shape the
/// walker does not know.
fn walk_template(
    data: &[u8],
    def_offset: u32,
    prefix: &[String],
) -> Option<(TemplateMap, Vec<(usize, String)>)> {
    let def = def_offset as usize;
    let size = Cursor {
        data,
        pos: def.checked_add(20)?,
    }
    .u32()? as usize;
    let start = def.checked_add(24)?;
    let end = start.checked_add(size)?;
    let mut c = Cursor {
        data: data.get(..end)?,
        pos: start,
    };
    let mut map = TemplateMap::default();
    let mut stack: Vec<Elem> = Vec::new();
    let mut attr: Option<(Rc<str>, Vec<Part>)> = None;
    let mut roots = 0;
    let mut external = Vec::new();
    // Each name once; names outside the body are noted: they must be the same wherever the walk
    // is reused.
    let mut names: Vec<(usize, Rc<str>)> = Vec::new();
    let mut name = |c: &mut Cursor| -> Option<Rc<str>> {
        let at = c.name_ref()?;
        if let Some((_, n)) = names.iter().find(|(o, _)| *o == at) {
            return Some(Rc::clone(n));
        }
        let n: Rc<str> = name_at(c.data, at)?.into();
        if !(start..end).contains(&at) {
            external.push((at, n.to_string()));
        }
        names.push((at, Rc::clone(&n)));
        Some(n)
    };

    fn flush(attr: &mut Option<(Rc<str>, Vec<Part>)>, stack: &mut [Elem]) {
        if let (Some(a), Some(top)) = (attr.take(), stack.last_mut()) {
            top.attrs.push(a);
        }
    }
    fn push_part(
        part: Part,
        attr: &mut Option<(Rc<str>, Vec<Part>)>,
        stack: &mut [Elem],
    ) -> Option<()> {
        match attr {
            Some((_, parts)) => parts.push(part),
            None => stack.last_mut()?.content.push(part),
        }
        Some(())
    }

    while c.pos < end {
        let token = c.u8()?;
        match token {
            0x00 => break,
            0x0f => {
                c.bytes(3)?;
            }
            0x01 | 0x41 => {
                flush(&mut attr, &mut stack);
                c.u16()?; // dependency id
                c.u32()?; // data size
                let name = name(&mut c)?;
                if token == 0x41 {
                    c.u32()?; // attribute list size
                }
                match stack.last_mut() {
                    Some(parent) => parent.has_children = true,
                    None => {
                        roots += 1;
                        if prefix.is_empty() && (roots > 1 || &*name != "Event") {
                            return None;
                        }
                    }
                }
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Elem {
                    name,
                    attrs: Vec::new(),
                    content: Vec::new(),
                    has_children: false,
                });
            }
            0x02 => flush(&mut attr, &mut stack),
            0x03 | 0x04 => {
                flush(&mut attr, &mut stack);
                let elem = stack.pop()?;
                finish(prefix, &stack, elem, &mut map);
            }
            0x05 | 0x45 => {
                // Literal text in a definition is a length-prefixed UTF-16 string.
                if c.u8()? != 0x01 {
                    return None;
                }
                let chars = usize::from(c.u16()?);
                let s = c.utf16(chars)?;
                push_part(Part::Lit(s), &mut attr, &mut stack)?;
            }
            0x06 | 0x46 => {
                flush(&mut attr, &mut stack);
                stack.last()?;
                attr = Some((name(&mut c)?, Vec::new()));
            }
            0x07 | 0x47 => {
                let chars = usize::from(c.u16()?);
                let s = c.utf16(chars)?;
                push_part(Part::Lit(s), &mut attr, &mut stack)?;
            }
            0x08 | 0x48 => {
                let ch = char::from_u32(u32::from(c.u16()?))?;
                push_part(Part::Lit(ch.to_string()), &mut attr, &mut stack)?;
            }
            0x09 | 0x49 => {
                let s = match &*name(&mut c)? {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => return None,
                };
                push_part(Part::Lit(s.to_string()), &mut attr, &mut stack)?;
            }
            0x0a => {
                name(&mut c)?;
            }
            0x0b => {
                let chars = usize::from(c.u16()?);
                c.bytes(chars.checked_mul(2)?)?;
            }
            0x0d | 0x0e => {
                let index = c.u16()?;
                c.u8()?; // value type
                push_part(Part::Sub(index), &mut attr, &mut stack)?;
            }
            // Nested template instances and unknown tokens: leave it to the renderer.
            _ => return None,
        }
    }
    (roots > 0 && stack.is_empty()).then_some((map, external))
}

/// File a closed element's attributes and text into the map, by its path from the record's
/// root: `prefix` (where a nested fragment sits), then the open elements.
fn finish(prefix: &[String], open: &[Elem], elem: Elem, map: &mut TemplateMap) {
    let depth = prefix.len() + open.len();
    let at = |i: usize| -> &str {
        match prefix.get(i) {
            Some(p) => p,
            None => open.get(i - prefix.len()).map_or("", |e| &e.name),
        }
    };
    let attr = |name: &str| {
        elem.attrs
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    };
    let under = |section: &str| depth >= 2 && at(0) == "Event" && at(1) == section;
    if depth == 2 && under("System") {
        match &*elem.name {
            "Provider" => map.provider = attr("Name"),
            "EventID" => map.event_id = elem.content,
            "Level" => map.level = elem.content,
            "Channel" => map.channel = elem.content,
            "Computer" => map.computer = elem.content,
            "Security" => map.user_id = attr("UserID"),
            _ => {}
        }
    } else if depth == 2 && under("EventData") {
        if &*elem.name == "Data" {
            map.data.push((attr("Name"), elem.content));
        }
    } else if under("UserData") && !elem.has_children {
        map.data
            .push((vec![Part::Lit(elem.name.to_string())], elem.content));
    } else if depth == 0 || (depth == 1 && at(0) == "Event") || (depth == 2 && under("UserData")) {
        // Event, System, EventData, UserData themselves: a substitution here is a fragment.
        for p in &elem.content {
            if let Part::Sub(index) = p {
                let path = (0..depth)
                    .map(|i| at(i).to_string())
                    .chain([elem.name.to_string()])
                    .collect();
                map.opaque.push(Opaque {
                    index: *index,
                    path,
                });
            }
        }
    }
}

/// The `.evtx` event log format.
pub struct Evtx;

const EVTX_MAGIC: &[u8] = b"ElfFile\0";
const EVTX_CHUNK_MAGIC: &[u8] = b"ElfChnk\0";

impl super::Format for Evtx {
    const KIND: FileKind = FileKind::Evtx;

    fn detect_bytes(head: &[u8]) -> bool {
        // A damaged file header with intact chunks behind it is still worth reading: the reader
        // reports the bad header and reads the chunks it can.
        head.starts_with(EVTX_MAGIC)
            || head.get(FILE_HEADER_SIZE..FILE_HEADER_SIZE + EVTX_CHUNK_MAGIC.len())
                == Some(EVTX_CHUNK_MAGIC)
    }

    fn read(r: Box<dyn Read + Send + '_>, ctx: &ReadCtx, sink: &dyn EventSink) -> Parsed {
        Parsed::new(read_evtx_to(r, ctx, sink))
    }

    fn read_file(file: &std::fs::File, ctx: &ReadCtx, sink: &dyn EventSink) -> Option<Parsed> {
        // Positional reads need pread / seek_read; elsewhere the stream path serves.
        cfg!(any(unix, windows)).then(|| Parsed::new(read_evtx_file_to(file, ctx, sink)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared real-evtx folder: `<repo>/../shared` (CI, main checkout) or one level up (a
    /// worktree under `<root>/wt/`).
    pub(crate) fn real_evtx_dir() -> Option<std::path::PathBuf> {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        [
            repo.join("../shared/real-evtx"),
            repo.join("../../shared/real-evtx"),
        ]
        .into_iter()
        .find(|p| p.is_dir())
    }

    fn ctx<'a>(name: &str, filter: &'a EventFilter, threads: usize) -> ReadCtx<'a> {
        ReadCtx {
            file: Arc::from(name),
            size: 0,
            mtime: None,
            filter,
            threads,
        }
    }

    fn read(bytes: &[u8], threads: usize, path: Path) -> Parsed {
        let filter = EventFilter::all();
        read_evtx_collect(bytes, &ctx("x.evtx", &filter, threads), path)
    }

    #[test]
    fn fast_path_agrees_with_json_on_real_logs() {
        let Some(dir) = real_evtx_dir() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "shared/real-evtx is missing under CI"
            );
            eprintln!("skipped: shared/real-evtx not found");
            return;
        };
        let mut compared = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "evtx") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let fast = read(&bytes, 2, Path::Fast);
            let json = read(&bytes, 2, Path::Json);
            // The whole report (counts, channels, time range, problems) and every kept event.
            assert_eq!(
                serde_json::to_value(&fast.report).unwrap(),
                serde_json::to_value(&json.report).unwrap(),
                "{path:?}"
            );
            assert_eq!(fast.events.len(), json.events.len());
            for (a, b) in fast.events.iter().zip(&json.events) {
                assert_eq!(
                    serde_json::to_value(a).unwrap(),
                    serde_json::to_value(b).unwrap(),
                    "{path:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 1000, "only {compared} events compared");
    }

    #[test]
    fn files_read_by_position_give_what_streams_give() {
        let Some(dir) = real_evtx_dir() else {
            eprintln!("skipped: shared/real-evtx not found");
            return;
        };
        let filter = EventFilter::all();
        let key = |e: &Event| (e.time, e.source.clone());
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "evtx") {
                continue;
            }
            let whole = std::fs::read(&path).unwrap();
            // The file, and copies cut short in a chunk's records, its header, and the file header.
            let cuts = [whole.len(), 4096 + 65536 + 30_000, 4096 + 65536 + 100, 2000];
            for (cut, threads) in cuts.iter().flat_map(|c| [(*c, 1), (*c, 2)]) {
                let bytes = &whole[..cut.min(whole.len())];
                let tmp = tempfile::NamedTempFile::new().unwrap();
                std::fs::write(tmp.path(), bytes).unwrap();
                let ctx = ctx("x.evtx", &filter, threads);
                let stream = read_evtx(bytes, &ctx);
                let sink = Collect::default();
                let file = std::fs::File::open(tmp.path()).unwrap();
                let report = read_evtx_file_to(&file, &ctx, &sink);
                let mut events = sink.into_events();
                assert_eq!(
                    serde_json::to_value(&report).unwrap(),
                    serde_json::to_value(&stream.report).unwrap(),
                    "{path:?} cut at {cut}"
                );
                let mut want = stream.events;
                want.sort_by_key(key);
                events.sort_by_key(key);
                assert_eq!(
                    serde_json::to_value(&events).unwrap(),
                    serde_json::to_value(&want).unwrap(),
                    "{path:?}"
                );
            }
        }
    }

    #[test]
    fn fast_path_needs_no_fallback_on_real_logs() {
        let Some(dir) = real_evtx_dir() else {
            eprintln!("skipped: shared/real-evtx not found");
            return;
        };
        let filter = EventFilter::all();
        let w = Work {
            file: Arc::from("x"),
            filter: &filter,
            settings: Arc::new(ParserSettings::default()),
            path: Path::Fast,
        };
        // Only chunks with records the crate rejects go through the crate (for its exact errors
        // and resynchronisation); every other chunk is read by the walker, including chunks
        // whose records end in zeroes before the header's free-space offset.
        for (name, damaged) in [
            ("sample_with_a_bad_chunk_magic.evtx", vec![7]),
            (
                "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
                vec![1],
            ),
        ]
        .into_iter()
        .chain(
            [
                "security.evtx",
            "security_bad_string_cache.evtx",
            "Security_with_size_t.evtx",
            "Security_short_selected.evtx",
            "post-Security.evtx",
            "2-vss_7-System.evtx",
            "Application_no_crc32.evtx",
            "sample-with-irregular-bool-values.evtx",
            // Its records end before the header's free-space offset, in zeroes; a SID slot
            // longer than the SID.
            "Microsoft-Windows-HelloForBusiness%4Operational.evtx",
            ]
            .map(|n| (n, Vec::new())),
        ) {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let mut via_crate = Vec::new();
            for (i, chunk) in bytes[FILE_HEADER_SIZE..].chunks(CHUNK_SIZE).enumerate() {
                let o = process_chunk(
                    &w,
                    RawChunk {
                        number: i as u64,
                        bytes: chunk.to_vec(),
                        len: chunk.len(),
                    },
                );
                if o.via_crate {
                    via_crate.push(i);
                }
            }
            assert_eq!(via_crate, damaged, "{name}: chunks read by the crate");
        }
    }

    #[test]
    fn template_walker_reads_a_hand_built_definition() {
        // <Event><System><EventID>%0</EventID><Channel>Security</Channel></System>
        // <EventData><Data Name="X">%1</Data></EventData></Event>
        let mut b = vec![0u8; 24];
        let body_start = b.len();
        let mut names: HashMap<&str, u32> = HashMap::new();
        let mut name = |b: &mut Vec<u8>, s: &'static str| {
            if let Some(off) = names.get(s) {
                b.extend_from_slice(&off.to_le_bytes());
                return;
            }
            let off = b.len() as u32 + 4;
            names.insert(s, off);
            b.extend_from_slice(&off.to_le_bytes());
            b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            b.extend_from_slice(&(s.len() as u16).to_le_bytes());
            for u in s.encode_utf16() {
                b.extend_from_slice(&u.to_le_bytes());
            }
            b.extend_from_slice(&[0, 0]);
        };
        let open = |b: &mut Vec<u8>, attrs: bool| {
            b.push(if attrs { 0x41 } else { 0x01 });
            b.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        };
        b.extend_from_slice(&[0x0f, 1, 1, 0]);
        open(&mut b, false);
        name(&mut b, "Event");
        b.push(0x02);
        open(&mut b, false);
        name(&mut b, "System");
        b.push(0x02);
        open(&mut b, false);
        name(&mut b, "EventID");
        b.push(0x02);
        b.extend_from_slice(&[0x0d, 0, 0, 0x06]);
        b.push(0x04);
        open(&mut b, false);
        name(&mut b, "Channel");
        b.push(0x02);
        b.extend_from_slice(&[0x05, 0x01, 8, 0]);
        for u in "Security".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b.push(0x04);
        b.push(0x04); // </System>
        open(&mut b, false);
        name(&mut b, "EventData");
        b.push(0x02);
        open(&mut b, true);
        name(&mut b, "Data");
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.push(0x06);
        name(&mut b, "Name");
        b.extend_from_slice(&[0x05, 0x01, 1, 0, b'X', 0]);
        b.push(0x02);
        b.extend_from_slice(&[0x0e, 1, 0, 0x01]);
        b.push(0x04);
        b.push(0x04); // </EventData>
        b.push(0x04); // </Event>
        b.push(0x00);
        let size = (b.len() - body_start) as u32;
        b[20..24].copy_from_slice(&size.to_le_bytes());

        let (map, _) = walk_template(&b, 0, &[]).expect("walks");
        assert_eq!(map.event_id, vec![Part::Sub(0)]);
        assert_eq!(map.channel, vec![Part::Lit("Security".into())]);
        assert_eq!(
            map.data,
            vec![(vec![Part::Lit("X".into())], vec![Part::Sub(1)])]
        );
        // Cut short anywhere before the root closes, the walker gives up without panicking.
        for short in 0..size - 1 {
            let mut c = b.clone();
            c[20..24].copy_from_slice(&short.to_le_bytes());
            assert!(walk_template(&c, 0, &[]).is_none(), "{short}");
        }
        assert!(walk_template(&b, u32::MAX, &[]).is_none());
    }
}
