//! Timeline order in bounded memory: an external merge sort of entries (see `compact` for what
//! an entry holds, and how it becomes output: a [`Codec`]).
//!
//! Readers hand over batches of entries, each with its sort key, from any thread (an entry may
//! refer to texts its codec holds once for all of them). Entries are held in
//! memory up to a budget; past it, what is held is sorted and written to an unnamed temporary
//! file (a run, gone when closed; its entries self-contained) and memory starts again. At the
//! end the runs and what is still held are merged into the output. A bundle whose timeline fits
//! the budget never touches the disk; one that does not costs one write and one read of its
//! entries.
//!
//! The last merge runs on every worker: each run keeps the key and offset of an entry every few
//! KiB, which splits the key space into ranges of about equal size; ranges are merged in
//! parallel, a few at a time, and written in order. Past [`FAN_IN`] runs they are first merged
//! in passes, and the last merge is a single stream.

use crate::fsio::read_at;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::{Mutex, MutexGuard};

/// Where a line goes: by time, then file (its rank in path order), then position in the file;
/// ties (the same record twice) by input, then by read order, so the output is the same
/// whatever the thread count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub secs: i64,
    pub nanos: u32,
    pub file: u32,
    pub loc_kind: u8,
    pub loc: u64,
    pub input: u32,
    pub batch: u64,
    pub idx: u32,
}

const KEY_BYTES: usize = 8 + 4 + 4 + 1 + 8 + 4 + 8 + 4;
/// A run entry's key and line length.
const HEADER_BYTES: usize = KEY_BYTES + 4;

impl Key {
    fn encode(&self) -> [u8; KEY_BYTES] {
        let mut b = [0u8; KEY_BYTES];
        b[0..8].copy_from_slice(&self.secs.to_le_bytes());
        b[8..12].copy_from_slice(&self.nanos.to_le_bytes());
        b[12..16].copy_from_slice(&self.file.to_le_bytes());
        b[16] = self.loc_kind;
        b[17..25].copy_from_slice(&self.loc.to_le_bytes());
        b[25..29].copy_from_slice(&self.input.to_le_bytes());
        b[29..37].copy_from_slice(&self.batch.to_le_bytes());
        b[37..41].copy_from_slice(&self.idx.to_le_bytes());
        b
    }

    fn decode(b: &[u8; KEY_BYTES]) -> Key {
        let u64_at = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(x)
        };
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Key {
            secs: u64_at(0) as i64,
            nanos: u32_at(8),
            file: u32_at(12),
            loc_kind: b[16],
            loc: u64_at(17),
            input: u32_at(25),
            batch: u64_at(29),
            idx: u32_at(37),
        }
    }
}

/// How entries are written to a run and to the output.
pub trait Codec: Sync {
    /// Append `entry` as a run on disk holds it: on its own, whatever it refers to.
    fn to_run(&self, entry: &[u8], out: &mut Vec<u8>);
    /// Append the output of `entry` (sort key `key`), held or read back from a run.
    fn expand(&self, key: &Key, entry: &[u8], out: &mut Vec<u8>) -> io::Result<()>;
    /// About how many bytes of output `entry` (held in memory) gives.
    fn output_len(&self, entry: &[u8]) -> usize;
}

/// Entries of one input's batch back to back in `bytes`; `lines` has each one's key (whose
/// input and batch are the batch's) and end offset.
#[derive(Default)]
pub struct Batch {
    pub input: u32,
    pub number: u64,
    pub bytes: Vec<u8>,
    pub lines: Vec<(Key, u32)>,
}

/// A held entry: its key but for the input and batch number (its batch's), and where it is.
/// 48 bytes: most of what a held Security event takes.
struct Entry {
    secs: i64,
    loc: u64,
    nanos: u32,
    file: u32,
    idx: u32,
    batch: u32,
    start: u32,
    end: u32,
    loc_kind: u8,
}

/// A held batch.
struct HeldBatch {
    input: u32,
    number: u64,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Held {
    batches: Vec<HeldBatch>,
    entries: Vec<Entry>,
    /// Memory the held entries take, with their index.
    bytes: usize,
}

impl Held {
    fn line(&self, e: &Entry) -> &[u8] {
        &self.batches[e.batch as usize].bytes[e.start as usize..e.end as usize]
    }

    fn key(&self, e: &Entry) -> Key {
        let b = &self.batches[e.batch as usize];
        Key {
            secs: e.secs,
            nanos: e.nanos,
            file: e.file,
            loc_kind: e.loc_kind,
            loc: e.loc,
            input: b.input,
            batch: b.number,
            idx: e.idx,
        }
    }

    /// Key order; the input and batch number are looked up only for the same record twice.
    fn cmp(&self, a: &Entry, b: &Entry) -> std::cmp::Ordering {
        (a.secs, a.nanos, a.file, a.loc_kind, a.loc)
            .cmp(&(b.secs, b.nanos, b.file, b.loc_kind, b.loc))
            .then_with(|| {
                let (x, y) = (
                    &self.batches[a.batch as usize],
                    &self.batches[b.batch as usize],
                );
                (x.input, x.number, a.idx).cmp(&(y.input, y.number, b.idx))
            })
    }

    fn sort(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.par_sort_unstable_by(|a, b| self.cmp(a, b));
        self.entries = entries;
    }
}

/// A sorted run on disk: entries (key, line length, line) back to back, and the key and offset
/// of an entry every `every` bytes or so, where a part of the run can start being read.
struct Run {
    file: File,
    len: u64,
    index: Vec<(Key, u64)>,
}

#[derive(Default)]
struct Spilled {
    runs: Vec<Run>,
    error: Option<io::Error>,
}

/// Runs merged at once; more are merged in passes first (bounds open files and read buffers).
const FAN_IN: usize = 32;
/// Read buffer of each run in a merge.
const RUN_READ_BUFFER: usize = 128 << 10;
/// Output gathered before it is written on.
const OUT_BUFFER: usize = 1 << 20;

/// Sorts entries handed over from many threads in at most about twice `budget` bytes of memory.
pub struct LineSorter<'c> {
    budget: usize,
    codec: &'c dyn Codec,
    held: Mutex<Held>,
    /// Taken for the whole of a spill: one at a time, and a thread that fills the memory again
    /// meanwhile waits here rather than holding a second full buffer.
    spilled: Mutex<Spilled>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<'c> LineSorter<'c> {
    pub fn new(budget: usize, codec: &'c dyn Codec) -> Self {
        // Room for all the entries the budget can hold (each with a few bytes of its own), so
        // the index never grows by copying; its pages are only touched as they fill.
        let mut held = Held::default();
        held.entries
            .reserve((budget / (std::mem::size_of::<Entry>() + 16)).min(1 << 20));
        LineSorter {
            budget: budget.max(1),
            codec,
            held: Mutex::new(held),
            spilled: Mutex::new(Spilled::default()),
        }
    }

    /// Bytes of run between two index entries: about 2,000 per run of `budget` bytes.
    fn index_every(&self) -> u64 {
        (self.budget as u64 / 2048).clamp(256, 8 << 10)
    }

    /// Take a batch of lines; may write a run to disk first when memory is full.
    pub fn push(&self, batch: Batch) {
        if batch.lines.is_empty() {
            return;
        }
        let full = {
            let mut h = lock(&self.held);
            let n = u32::try_from(h.batches.len()).unwrap_or(u32::MAX);
            let mut start = 0u32;
            h.bytes += batch.bytes.capacity()
                + batch.lines.len() * std::mem::size_of::<Entry>()
                + std::mem::size_of::<HeldBatch>();
            for (key, end) in batch.lines {
                h.entries.push(Entry {
                    secs: key.secs,
                    loc: key.loc,
                    nanos: key.nanos,
                    file: key.file,
                    idx: key.idx,
                    batch: n,
                    start,
                    end,
                    loc_kind: key.loc_kind,
                });
                start = end;
            }
            h.batches.push(HeldBatch {
                input: batch.input,
                number: batch.number,
                bytes: batch.bytes,
            });
            h.bytes >= self.budget
        };
        if full {
            let mut s = lock(&self.spilled);
            let taken = {
                let mut h = lock(&self.held);
                (h.bytes >= self.budget).then(|| {
                    let taken = std::mem::take(&mut *h);
                    // The next run will be about as large: spare the index its regrowth.
                    h.entries.reserve(taken.entries.len());
                    h.batches.reserve(taken.batches.len());
                    taken
                })
            };
            if let Some(mut held) = taken {
                if s.error.is_none() {
                    held.sort();
                    match write_run(&held, self.index_every(), self.codec) {
                        Ok(run) => s.runs.push(run),
                        Err(e) => s.error = Some(e),
                    }
                }
            }
        }
    }

    /// Write every entry, in key order, to `out`, as the codec turns it into output.
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        let codec = self.codec;
        let every = self.index_every();
        let range_bytes = self.range_bytes();
        let mut held = self.held.into_inner().unwrap_or_else(|p| p.into_inner());
        let spilled = self.spilled.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = spilled.error {
            return Err(temp_failed(e));
        }
        held.sort();
        let mut runs = spilled.runs;
        if runs.len() < FAN_IN {
            return merge_ranges(&runs, &held, range_bytes, out, codec);
        }
        // Leave room for the memory run in the last merge. These passes only touch temporary
        // files, so any error is theirs.
        while runs.len() >= FAN_IN {
            let rest = runs.split_off(FAN_IN);
            let mut w = RunWriter::new(every).map_err(temp_failed)?;
            let mut sources: Vec<Source> = runs.iter().map(Source::whole).collect();
            merge(&mut sources, &held, (None, None), &mut |k, entry| {
                w.push(k, entry)
            })
            .map_err(temp_failed)?;
            drop(sources);
            runs = rest;
            runs.push(w.finish().map_err(temp_failed)?);
        }
        let mut sources: Vec<Source> = runs.iter().map(Source::whole).collect();
        sources.push(Source::memory(0..held.entries.len()));
        let mut buf = Vec::with_capacity(OUT_BUFFER);
        merge(&mut sources, &held, (None, None), &mut |key, entry| {
            codec.expand(key, entry, &mut buf)?;
            if buf.len() >= OUT_BUFFER {
                out.write_all(&buf)?;
                buf.clear();
            }
            Ok(())
        })?;
        out.write_all(&buf)
    }

    /// Output of one range of the last merge: small enough to be written while it is still in
    /// the cache, with the ranges merged at once (two per worker) taking a few MiB.
    fn range_bytes(&self) -> u64 {
        let at_once = 2 * rayon::current_num_threads().max(1);
        (self.budget / (8 * at_once)).clamp(1, 2 << 20) as u64
    }
}

/// Write held entries, sorted, to a new temporary file, each on its own (`Codec::to_run`).
fn write_run(held: &Held, every: u64, codec: &dyn Codec) -> io::Result<Run> {
    let mut w = RunWriter::new(every)?;
    let mut entry = Vec::new();
    for e in &held.entries {
        entry.clear();
        codec.to_run(held.line(e), &mut entry);
        w.push(&held.key(e), &entry)?;
    }
    w.finish()
}

/// Writes a run: entries through a buffer; notes an index entry every `every` bytes.
struct RunWriter {
    file: File,
    stage: Vec<u8>,
    len: u64,
    every: u64,
    next_mark: u64,
    index: Vec<(Key, u64)>,
}

fn header(key: &Key, len: usize) -> io::Result<[u8; HEADER_BYTES]> {
    let len = u32::try_from(len).map_err(io::Error::other)?;
    let mut h = [0u8; HEADER_BYTES];
    h[..KEY_BYTES].copy_from_slice(&key.encode());
    h[KEY_BYTES..].copy_from_slice(&len.to_le_bytes());
    Ok(h)
}

impl RunWriter {
    fn new(every: u64) -> io::Result<Self> {
        Ok(RunWriter {
            file: tempfile::tempfile()?,
            stage: Vec::new(),
            len: 0,
            every: every.max(1),
            next_mark: 0,
            index: Vec::new(),
        })
    }

    /// Account for an entry about to be written at the current end.
    fn mark(&mut self, key: Key, line: usize) {
        if self.len >= self.next_mark {
            self.index.push((key, self.len));
            self.next_mark = self.len + self.every;
        }
        self.len += (HEADER_BYTES + line) as u64;
    }

    fn push(&mut self, key: &Key, line: &[u8]) -> io::Result<()> {
        self.mark(*key, line.len());
        self.stage.extend_from_slice(&header(key, line.len())?);
        self.stage.extend_from_slice(line);
        if self.stage.len() >= OUT_BUFFER {
            self.file.write_all(&self.stage)?;
            self.stage.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<Run> {
        self.file.write_all(&self.stage)?;
        Ok(Run {
            file: self.file,
            len: self.len,
            index: self.index,
        })
    }
}

/// The entries of a span of a run, read a buffer at a time; a line is handed out as a slice of
/// the buffer, never copied.
struct Cursor<'r> {
    file: &'r File,
    buf: Vec<u8>,
    /// Unread bytes: `buf[at..filled]`.
    at: usize,
    filled: usize,
    /// File offset of the next byte to read, and where the span ends.
    next: u64,
    end: u64,
    /// The current entry's line, in `buf`.
    line: Range<usize>,
}

impl<'r> Cursor<'r> {
    fn new(run: &'r Run, span: Range<u64>, buf: Vec<u8>) -> Self {
        Cursor {
            file: &run.file,
            buf,
            at: 0,
            filled: 0,
            next: span.start,
            end: span.end.min(run.len),
            line: 0..0,
        }
    }

    /// The next entry's key (its line is then [`Cursor::line`]), `None` at the end of the span.
    fn advance(&mut self) -> io::Result<Option<Key>> {
        self.at = self.at.max(self.line.end);
        if !self.fill(HEADER_BYTES)? {
            return Ok(None);
        }
        let mut kb = [0u8; KEY_BYTES];
        kb.copy_from_slice(&self.buf[self.at..self.at + KEY_BYTES]);
        let l = &self.buf[self.at + KEY_BYTES..self.at + HEADER_BYTES];
        let len = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
        if !self.fill(HEADER_BYTES + len)? {
            return Err(truncated_run());
        }
        let start = self.at + HEADER_BYTES;
        self.line = start..start + len;
        self.at = start + len;
        Ok(Some(Key::decode(&kb)))
    }

    fn line(&self) -> &[u8] {
        &self.buf[self.line.clone()]
    }

    /// Have `n` unread bytes in the buffer; `false` when the span ends cleanly first.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.filled - self.at < n {
            if self.next >= self.end {
                return if self.filled == self.at {
                    Ok(false)
                } else {
                    Err(truncated_run())
                };
            }
            // Keep what is unread, at the front (the current line is no longer needed).
            self.buf.copy_within(self.at..self.filled, 0);
            self.filled -= self.at;
            self.at = 0;
            self.line = 0..0;
            let size = RUN_READ_BUFFER.max(n);
            if self.buf.len() < size {
                self.buf.resize(size, 0);
            }
            let room = (self.buf.len() - self.filled) as u64;
            let want = room.min(self.end - self.next) as usize;
            let got = read_at(
                self.file,
                &mut self.buf[self.filled..self.filled + want],
                self.next,
            )?;
            if got == 0 {
                return Err(truncated_run());
            }
            self.filled += got;
            self.next += got as u64;
        }
        Ok(true)
    }
}

/// An error of the temporary files, saying where they are and how to put them elsewhere.
fn temp_failed(e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "could not write the timeline's sort runs to a temporary file in {}: {e}; set TMPDIR \
             to a folder you may write to, on a disk with free space (about the size of the \
             timeline's output)",
            std::env::temp_dir().display()
        ),
    )
}

fn truncated_run() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "a temporary sort run ended early (was the temporary folder's disk full?)",
    )
}

/// One input of a merge: a span of a run, or a range of the held entries.
enum Source<'r> {
    Disk(Cursor<'r>),
    Memory { next: usize, end: usize },
}

impl<'r> Source<'r> {
    fn whole(run: &'r Run) -> Self {
        Source::Disk(Cursor::new(run, 0..run.len, Vec::new()))
    }

    fn memory(entries: Range<usize>) -> Self {
        Source::Memory {
            next: entries.start,
            end: entries.end,
        }
    }

    /// Move to the next entry; its key, or `None` at the end.
    fn advance(&mut self, held: &Held) -> io::Result<Option<Key>> {
        match self {
            Source::Disk(c) => c.advance(),
            Source::Memory { next, end } => {
                let e = (*next < *end)
                    .then(|| held.entries.get(*next).map(|e| held.key(e)))
                    .flatten();
                *next += 1;
                Ok(e)
            }
        }
    }

    /// The current entry.
    fn line<'h>(&'h self, held: &'h Held) -> &'h [u8] {
        match self {
            Source::Disk(c) => c.line(),
            Source::Memory { next, .. } => held
                .entries
                .get(next.wrapping_sub(1))
                .map_or(&[][..], |e| held.line(e)),
        }
    }
}

/// Takes each merged entry.
/// How far ahead the merge of held entries reads an entry's first byte.
const AHEAD: usize = 8;

type Sink<'s> = dyn FnMut(&Key, &[u8]) -> io::Result<()> + 's;

/// K-way merge of `sources`, in key order, of the entries with keys in `[from, until)` (no
/// bound where `None`); each goes to `sink`.
fn merge(
    sources: &mut [Source],
    held: &Held,
    (from, until): (Option<Key>, Option<Key>),
    sink: &mut Sink,
) -> io::Result<()> {
    let below = |k: &Key| until.is_none_or(|u| *k < u);
    // Held entries alone (the timeline fit its budget): in order, with no heap. The entries of
    // one time lie in many batches, so each would wait for its bytes: the one [`AHEAD`] places
    // on is read early, and is in the cache when its turn comes.
    if let [Source::Memory { next, end }] = sources {
        let entries = held.entries.get(*next..*end).unwrap_or_default();
        for (i, e) in entries.iter().enumerate() {
            if let Some(ahead) = entries.get(i + AHEAD) {
                std::hint::black_box(held.line(ahead).first().copied());
            }
            let key = held.key(e);
            if from.is_some_and(|f| key < f) {
                continue;
            }
            if !below(&key) {
                break;
            }
            sink(&key, held.line(e))?;
        }
        *next = *end;
        return Ok(());
    }
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, s) in sources.iter_mut().enumerate() {
        // A span of a run starts at an index entry, maybe below the range: skip to it.
        let mut first = s.advance(held)?;
        while first.is_some_and(|k| from.is_some_and(|f| k < f)) {
            first = s.advance(held)?;
        }
        if let Some(k) = first.filter(below) {
            heap.push(Reverse((k, i)));
        }
    }
    while let Some(Reverse((key, i))) = heap.pop() {
        let entry = sources[i].line(held);
        sink(&key, entry)?;
        if let Some(k) = sources[i].advance(held)?.filter(below) {
            heap.push(Reverse((k, i)));
        }
    }
    Ok(())
}

/// The last merge, split into key ranges of about `range_bytes` of output: ranges are merged
/// by the workers, a few at a time, and written in order.
fn merge_ranges(
    runs: &[Run],
    held: &Held,
    range_bytes: u64,
    out: &mut dyn Write,
    codec: &dyn Codec,
) -> io::Result<()> {
    // Samples of the key space, with the output each stands for: the runs' index entries (a
    // run's entry gives up to about three times its bytes), and every 32nd held entry.
    let mut samples: Vec<(Key, u64)> = Vec::new();
    for run in runs {
        for (i, (key, offset)) in run.index.iter().enumerate() {
            let next = run.index.get(i + 1).map_or(run.len, |(_, o)| *o);
            samples.push((*key, 3 * (next - offset)));
        }
    }
    for group in held.entries.chunks(32) {
        let bytes = group.iter().map(|e| codec.output_len(held.line(e)) as u64);
        samples.push((held.key(&group[0]), bytes.sum()));
    }
    samples.sort_unstable_by_key(|(k, _)| *k);
    let mut bounds: Vec<Key> = Vec::new();
    let mut acc = 0u64;
    for (key, bytes) in samples {
        if acc >= range_bytes {
            bounds.push(key);
            acc = 0;
        }
        acc += bytes;
    }
    // Range i is [bounds[i-1], bounds[i]): unbounded below for the first, above for the last.
    let ranges: Vec<(Option<Key>, Option<Key>)> = (0..=bounds.len())
        .map(|i| {
            let lo = i.checked_sub(1).map(|j| bounds[j]);
            (lo, bounds.get(i).copied())
        })
        .collect();
    let at_once = 2 * rayon::current_num_threads().max(1);
    let pool = Pools::default();
    for group in ranges.chunks(at_once) {
        let merged: Vec<io::Result<Vec<u8>>> = group
            .par_iter()
            .map(|(lo, hi)| merge_range(runs, held, (*lo, *hi), range_bytes, &pool, codec))
            .collect();
        for m in merged {
            let mut m = m?;
            out.write_all(&m)?;
            m.clear();
            lock(&pool.outputs).push(m);
        }
    }
    Ok(())
}

/// Buffers reused from range to range: allocating them afresh for each would have the allocator
/// map and unmap them, and the kernel fault them in, every time.
#[derive(Default)]
struct Pools {
    reads: Mutex<Vec<Vec<u8>>>,
    outputs: Mutex<Vec<Vec<u8>>>,
}

/// The output of the entries with keys in `[lo, hi)` (about `range_bytes`).
fn merge_range(
    runs: &[Run],
    held: &Held,
    (lo, hi): (Option<Key>, Option<Key>),
    range_bytes: u64,
    pool: &Pools,
    codec: &dyn Codec,
) -> io::Result<Vec<u8>> {
    let mut sources = Vec::with_capacity(runs.len() + 1);
    for run in runs {
        // From the last index entry at or below `lo`; up to the first at or above `hi` (the
        // entries from there on are past the range).
        let start = lo.map_or(0, |lo| {
            let i = run.index.partition_point(|(k, _)| *k <= lo);
            i.checked_sub(1).map_or(0, |i| run.index[i].1)
        });
        let end = hi.map_or(run.len, |hi| {
            let i = run.index.partition_point(|(k, _)| *k < hi);
            run.index.get(i).map_or(run.len, |(_, o)| *o)
        });
        if start < end {
            let buf = lock(&pool.reads).pop().unwrap_or_default();
            sources.push(Source::Disk(Cursor::new(run, start..end, buf)));
        }
    }
    let first = lo.map_or(0, |lo| held.entries.partition_point(|e| held.key(e) < lo));
    let last = hi.map_or(held.entries.len(), |hi| {
        held.entries.partition_point(|e| held.key(e) < hi)
    });
    sources.push(Source::memory(first..last.max(first)));
    let mut buf = lock(&pool.outputs).pop().unwrap_or_default();
    // About a range's output (it is cut at that size), so the buffer seldom grows by copying.
    buf.reserve(range_bytes as usize + (range_bytes as usize >> 3));
    merge(&mut sources, held, (lo, hi), &mut |key, entry| {
        codec.expand(key, entry, &mut buf)
    })?;
    let mut spare = lock(&pool.reads);
    for s in sources {
        if let Source::Disk(c) = s {
            spare.push(c.buf);
        }
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys that tie but for the input and batch now and then (the same record read twice).
    fn key(secs: i64, idx: u32, batch: u64) -> Key {
        Key {
            secs,
            nanos: (idx % 7) * 1000,
            file: idx % 3,
            loc_kind: (idx % 2) as u8,
            loc: u64::from(idx % 5),
            input: (batch % 2) as u32,
            batch,
            idx,
        }
    }

    /// Entries that are their output.
    struct Lines;

    impl Codec for Lines {
        fn to_run(&self, entry: &[u8], out: &mut Vec<u8>) {
            out.extend_from_slice(entry);
        }
        fn expand(&self, _: &Key, entry: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
            out.extend_from_slice(entry);
            Ok(())
        }
        fn output_len(&self, entry: &[u8]) -> usize {
            entry.len()
        }
    }

    fn sorted_output(budget: usize, batches: &[Vec<(Key, String)>]) -> Vec<u8> {
        let s = LineSorter::new(budget, &Lines);
        std::thread::scope(|scope| {
            for chunk in batches.chunks(batches.len().div_ceil(3).max(1)) {
                let s = &s;
                scope.spawn(move || {
                    for b in chunk {
                        let mut batch = Batch {
                            input: b[0].0.input,
                            number: b[0].0.batch,
                            ..Batch::default()
                        };
                        for (k, line) in b {
                            batch.bytes.extend_from_slice(line.as_bytes());
                            batch.lines.push((*k, batch.bytes.len() as u32));
                        }
                        s.push(batch);
                    }
                });
            }
        });
        let mut out = Vec::new();
        s.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn merges_runs_into_key_order_whatever_the_budget() {
        // Times go backwards and repeat across batches, as in a log whose clock was reset.
        let mut batches = Vec::new();
        let mut all = Vec::new();
        let mut idx = 0u32;
        for b in 0..120u64 {
            let mut batch = Vec::new();
            for i in 0..50u32 {
                let secs = ((b * 37 + u64::from(i) * 11) % 400) as i64 - 100;
                // Positions restart in each batch, as they do in a reader's batches.
                let k = key(secs, i, b);
                let line = format!("{secs} {idx} {}\n", "x".repeat((idx % 40) as usize));
                batch.push((k, line.clone()));
                all.push((k, line));
                idx += 1;
            }
            batches.push(batch);
        }
        all.sort_by_key(|(k, _)| *k);
        let want: Vec<u8> = all.iter().flat_map(|(_, l)| l.bytes()).collect();
        // All in memory; a few runs; more runs than the fan-in (merged in passes). The last
        // merge is split into key ranges merged by the workers, however many there are.
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for budget in [usize::MAX, 64 << 10, 16 << 10, 2 << 10] {
                let got = pool.install(|| sorted_output(budget, &batches));
                assert_eq!(got, want, "budget {budget}, {threads} threads");
            }
        }
    }

    #[test]
    fn keys_survive_the_round_trip() {
        let k = Key {
            secs: -11_644_473_600,
            nanos: 999_999_999,
            file: 7,
            loc_kind: 2,
            loc: u64::MAX,
            input: 3,
            batch: 1 << 40,
            idx: 12,
        };
        assert_eq!(Key::decode(&k.encode()), k);
    }
}
