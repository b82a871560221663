//! Timeline order in bounded memory: an external merge sort of rendered lines.
//!
//! Readers hand over batches of lines already rendered, each with its sort key, from any
//! thread. Lines are held in memory up to a budget; past it, what is held is sorted and written
//! to an unnamed temporary file (a run, gone when closed) and memory starts again. At the end
//! the runs and what is still held are merged into the output. A bundle whose timeline fits the
//! budget never touches the disk; one that does not costs one write and one read of its lines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
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

/// Rendered lines back to back in `bytes`; `lines` has each one's key and end offset.
#[derive(Default)]
pub struct Batch {
    pub bytes: Vec<u8>,
    pub lines: Vec<(Key, u32)>,
}

struct Entry {
    key: Key,
    batch: u32,
    start: u32,
    end: u32,
}

#[derive(Default)]
struct Held {
    batches: Vec<Vec<u8>>,
    entries: Vec<Entry>,
    /// Memory the held lines take, with their index.
    bytes: usize,
}

impl Held {
    fn line(&self, e: &Entry) -> &[u8] {
        &self.batches[e.batch as usize][e.start as usize..e.end as usize]
    }

    fn sort(&mut self) {
        self.entries.sort_unstable_by_key(|e| e.key);
    }
}

#[derive(Default)]
struct Spilled {
    runs: Vec<File>,
    error: Option<io::Error>,
}

/// Runs merged at once; more are merged in passes first (bounds open files and read buffers).
const FAN_IN: usize = 32;
const RUN_READ_BUFFER: usize = 128 << 10;
const RUN_WRITE_BUFFER: usize = 1 << 20;

/// Sorts lines handed over from many threads in at most about twice `budget` bytes of memory.
pub struct LineSorter {
    budget: usize,
    held: Mutex<Held>,
    /// Taken for the whole of a spill: one at a time, and a thread that fills the memory again
    /// meanwhile waits here rather than holding a second full buffer.
    spilled: Mutex<Spilled>,
    /// Line buffers of spilled runs, for the next batches: memory is reused, not returned to
    /// the allocator and faulted in again for every run.
    free: Mutex<Vec<Vec<u8>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LineSorter {
    pub fn new(budget: usize) -> Self {
        LineSorter {
            budget: budget.max(1),
            held: Mutex::new(Held::default()),
            spilled: Mutex::new(Spilled::default()),
            free: Mutex::new(Vec::new()),
        }
    }

    /// An empty buffer to render a batch's lines into: one a spilled run left, or a new one.
    pub fn buffer(&self) -> Vec<u8> {
        lock(&self.free).pop().unwrap_or_default()
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
                + std::mem::size_of::<Vec<u8>>();
            for (key, end) in batch.lines {
                h.entries.push(Entry {
                    key,
                    batch: n,
                    start,
                    end,
                });
                start = end;
            }
            h.batches.push(batch.bytes);
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
                    let entries = held.entries.iter().map(|e| (e.key, held.line(e)));
                    match write_run(entries) {
                        Ok(f) => s.runs.push(f),
                        Err(e) => s.error = Some(e),
                    }
                }
                let mut free = lock(&self.free);
                for mut b in held.batches {
                    b.clear();
                    free.push(b);
                }
            }
        }
    }

    /// Write every line, in key order, to `out`.
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        let mut held = self.held.into_inner().unwrap_or_else(|p| p.into_inner());
        let spilled = self.spilled.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = spilled.error {
            return Err(io::Error::new(
                e.kind(),
                format!("could not write the timeline's sort runs to a temporary file: {e}"),
            ));
        }
        held.sort();
        let mut runs = spilled.runs;
        if runs.is_empty() {
            for e in &held.entries {
                out.write_all(held.line(e))?;
            }
            return Ok(());
        }
        // Leave room for the memory run in the last merge.
        while runs.len() >= FAN_IN {
            let rest = runs.split_off(FAN_IN);
            let mut sources = runs
                .into_iter()
                .map(Source::disk)
                .collect::<io::Result<Vec<_>>>()?;
            let f = tempfile::tempfile()?;
            let mut w = BufWriter::with_capacity(RUN_WRITE_BUFFER, f);
            merge(&mut sources, None, &mut w, true)?;
            let mut f = w.into_inner().map_err(|e| e.into_error())?;
            f.seek(SeekFrom::Start(0))?;
            runs = rest;
            runs.push(f);
        }
        let mut sources = runs
            .into_iter()
            .map(Source::disk)
            .collect::<io::Result<Vec<_>>>()?;
        sources.push(Source::Memory { next: 0 });
        merge(&mut sources, Some(&held), out, false)
    }
}

/// Write sorted `(key, line)` pairs to a new temporary file, rewound for reading.
fn write_run<'a>(entries: impl Iterator<Item = (Key, &'a [u8])>) -> io::Result<File> {
    let f = tempfile::tempfile()?;
    let mut w = BufWriter::with_capacity(RUN_WRITE_BUFFER, f);
    for (key, line) in entries {
        write_entry(&mut w, &key, line)?;
    }
    let mut f = w.into_inner().map_err(|e| e.into_error())?;
    f.seek(SeekFrom::Start(0))?;
    Ok(f)
}

fn write_entry(w: &mut dyn Write, key: &Key, line: &[u8]) -> io::Result<()> {
    let len = u32::try_from(line.len()).map_err(io::Error::other)?;
    w.write_all(&key.encode())?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(line)
}

enum Source {
    Disk {
        r: BufReader<File>,
        key: Key,
        line: Vec<u8>,
    },
    /// The held lines, by index into the sorted entries.
    Memory { next: usize },
}

impl Source {
    fn disk(f: File) -> io::Result<Source> {
        Ok(Source::Disk {
            r: BufReader::with_capacity(RUN_READ_BUFFER, f),
            key: Key {
                secs: 0,
                nanos: 0,
                file: 0,
                loc_kind: 0,
                loc: 0,
                input: 0,
                batch: 0,
                idx: 0,
            },
            line: Vec::new(),
        })
    }

    /// Move to the next line; its key, or `None` at the end.
    fn advance(&mut self, held: Option<&Held>) -> io::Result<Option<Key>> {
        match self {
            Source::Disk { r, key, line } => {
                let mut kb = [0u8; KEY_BYTES];
                match r.read_exact(&mut kb) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                let mut lb = [0u8; 4];
                r.read_exact(&mut lb)?;
                let len = u32::from_le_bytes(lb) as usize;
                line.clear();
                line.resize(len, 0);
                r.read_exact(line)?;
                *key = Key::decode(&kb);
                Ok(Some(*key))
            }
            Source::Memory { next } => {
                let e = held.and_then(|h| h.entries.get(*next)).map(|e| e.key);
                *next += 1;
                Ok(e)
            }
        }
    }

    fn write_current(
        &self,
        held: Option<&Held>,
        key: &Key,
        out: &mut dyn Write,
        keyed: bool,
    ) -> io::Result<()> {
        let line = match self {
            Source::Disk { line, .. } => line.as_slice(),
            Source::Memory { next } => match held.and_then(|h| Some((h, h.entries.get(next - 1)?)))
            {
                Some((h, e)) => h.line(e),
                None => return Ok(()),
            },
        };
        if keyed {
            write_entry(out, key, line)
        } else {
            out.write_all(line)
        }
    }
}

/// K-way merge of `sources` into `out`, as keyed entries (an intermediate run) or bare lines.
fn merge(
    sources: &mut [Source],
    held: Option<&Held>,
    out: &mut dyn Write,
    keyed: bool,
) -> io::Result<()> {
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, s) in sources.iter_mut().enumerate() {
        if let Some(k) = s.advance(held)? {
            heap.push(Reverse((k, i)));
        }
    }
    while let Some(Reverse((key, i))) = heap.pop() {
        sources[i].write_current(held, &key, out, keyed)?;
        if let Some(k) = sources[i].advance(held)? {
            heap.push(Reverse((k, i)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secs: i64, idx: u32) -> Key {
        Key {
            secs,
            nanos: (idx % 7) * 1000,
            file: idx % 3,
            loc_kind: (idx % 2) as u8,
            loc: u64::from(idx),
            input: 0,
            batch: 0,
            idx,
        }
    }

    fn sorted_output(budget: usize, batches: &[Vec<(Key, String)>]) -> Vec<u8> {
        let s = LineSorter::new(budget);
        std::thread::scope(|scope| {
            for chunk in batches.chunks(batches.len().div_ceil(3).max(1)) {
                let s = &s;
                scope.spawn(move || {
                    for b in chunk {
                        let mut batch = Batch::default();
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
        for b in 0..120 {
            let mut batch = Vec::new();
            for i in 0..50 {
                let secs = ((b * 37 + i * 11) % 400) as i64 - 100;
                let k = key(secs, idx);
                let line = format!("{secs} {idx} {}\n", "x".repeat((idx % 40) as usize));
                batch.push((k, line.clone()));
                all.push((k, line));
                idx += 1;
            }
            batches.push(batch);
        }
        all.sort_by_key(|(k, _)| *k);
        let want: Vec<u8> = all.iter().flat_map(|(_, l)| l.bytes()).collect();
        // All in memory; a few runs; more runs than the fan-in (merged in passes).
        for budget in [usize::MAX, 64 << 10, 2 << 10] {
            assert_eq!(sorted_output(budget, &batches), want, "budget {budget}");
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
