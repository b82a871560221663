//! Getting a log's chunks to the workers, and their outcomes back in chunk order.
//!
//! A stream (no `Seek`, so zip entries work and a log is never held whole) is read by one
//! thread, chunk after chunk, and handed to the pool in jobs of [`JOB_CHUNKS`], with at most
//! twice the worker count of jobs out at once (the reader waits for a slot, running pool jobs
//! meanwhile if it is a worker). A log on disk has no reading thread: each worker claims the
//! next chunk number, reads that chunk by position and parses it ([`Claim`]). Either way an
//! outcome waits in [`Order`] until the chunks before it are folded, so the report lists
//! channels and problems as they occur in the file.

use super::{
    guarded_chunk, ChunkOutcome, Fold, Path, Positional, RawChunk, Work, CHUNK_SIZE,
    FILE_HEADER_SIZE,
};
use crate::fsio::read_at;
use crate::model::Problem;
use crate::sources::{EventSink, Pooled, ReadCtx};
use evtx::{EvtxFileHeader, ParserSettings};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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

/// Read the file header, then every chunk, each parsed by a worker and folded into `fold`.
pub(super) fn read_chunks<R: Read>(
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
    ctx.advance(n as u64);
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
            format!(
                "the file ends {} bytes into its {}-byte header: no records in it",
                super::grouped(n as u64),
                super::grouped(FILE_HEADER_SIZE as u64)
            )
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
        pooled: sink.pooled(),
    };
    // The events leave from the worker, so the sink's own work (rendering) runs in parallel.
    // Progress moves a chunk at a time, as each is done.
    let one = |c: RawChunk| {
        let len = c.len as u64;
        let mut o = guarded_chunk(&work, c);
        let events = std::mem::take(&mut o.events);
        o.kept = events.len() as u64;
        let pooled = Pooled {
            file: Arc::clone(&work.file),
            texts: std::mem::take(&mut o.texts),
            events,
        };
        sink.take_pooled(o.number, pooled);
        ctx.advance(len);
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

#[cfg(test)]
mod tests {
    use crate::model::EventFilter;
    use crate::sources::evtx::tests::{ctx, real_evtx_dir};
    use crate::sources::evtx::{read_evtx, read_evtx_file_to};
    use crate::sources::Collect;
    use crate::sources::Event;

    #[test]
    #[cfg_attr(
        not(real_evtx),
        ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
    )]
    fn files_read_by_position_give_what_streams_give() {
        let dir = real_evtx_dir();
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
}
