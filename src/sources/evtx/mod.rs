//! Reads `.evtx` event logs: the 4096-byte file header, then 64 KiB chunks, parsed in parallel
//! and folded into the file's report in chunk order. This module holds the public API, what a
//! chunk yields (`ChunkOutcome`), the per-file fold of those outcomes, and which reader each
//! chunk goes to; the parts live in:
//!
//! - `reader`: getting chunks to the workers. A stream (a zip member) is read by one thread
//!   that hands chunks to the pool in jobs, a bounded number out at once; a log on disk
//!   ([`read_evtx_file_to`]) has no reading thread, each worker claims the next chunk number and
//!   reads that chunk by position. Outcomes are put back in chunk order for the fold.
//! - `walker`: padtriage's own BinXML walker. Records are not rendered: record headers and
//!   template instances are parsed in place, the fields padtriage reads are found through the
//!   template maps, and only records [`windows_event::select`](super::windows_event::select) wants get their
//!   strings built (the crate's record iterator builds every record's content tree, which costs
//!   about as much as rendering it to JSON).
//! - `templates`: template definitions walked into maps of where each field comes from, and
//!   the per-worker cache that lets one walk serve every chunk and log with that definition.
//! - `fallback`: the `evtx` crate's record iterator with JSON rendering, for every chunk the
//!   walker does not vouch for: as soon as anything in a chunk is not as the walker expects, the
//!   whole chunk goes through the crate, so damaged chunks get the crate's exact errors and
//!   recovery, and nothing is lost.
//!
//! Kept events leave from the worker, a chunk at a time, through an [`EventSink`]
//! ([`read_evtx_to`]); [`read_evtx`] collects them in record order.
//!
//! Counts follow the crate's own `EvtxParser` with default settings (what `evtx_dump` prints):
//! chunks are found at fixed offsets whatever the header's chunk count says, all-zero chunks are
//! skipped, a chunk with a bad signature is one error, records are not carved from slack
//! (`recover_records` is off by default, and carving would add records the crate does not
//! count), checksums are not enforced, and chunks are put in record order starting from the
//! chunk holding the oldest record. Beyond the crate, a file cut short inside a chunk has the
//! complete records of that chunk read, and is reported.

mod fallback;
mod pooled;
mod reader;
mod templates;
mod walker;

use super::windows_event as we;
use super::{Collect, Event, EventSink, Kept, Parsed, ReadCtx};
use crate::model::{EventFilter, FileKind, FileReport, Loc, Problem, SourceRef, Time, TimeBasis};
use evtx::{EvtxChunkData, ParserSettings};
use fallback::{chain, crate_records};
use std::io::Read;
use std::sync::Arc;
use walker::{string_table_ok, walk_chunk};

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
    /// Computer names of the records of the channels padtriage reads.
    computers: Vec<String>,
    /// Families and event ids of the records padtriage reads (kept or not).
    kinds: Vec<(super::FamilyId, u32)>,
    first: Option<Time>,
    last: Option<Time>,
    events: Vec<Kept>,
    /// The texts of its pooled Security events (see [`super::Pooled`]).
    texts: Vec<crate::model::Text>,
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

    /// Note the family and event id of a record padtriage reads.
    fn see_kind(&mut self, family: super::FamilyId, event_id: u32) {
        if !self.kinds.contains(&(family, event_id)) {
            self.kinds.push((family, event_id));
        }
    }

    /// Note the computer a record of a channel padtriage reads names.
    fn see_computer(&mut self, computer: &str) {
        let c = computer.trim();
        if !c.is_empty() && !self.computers.iter().any(|k| k == c) {
            self.computers.push(c.to_string());
        }
    }

    /// A read record's payload, if the mapper kept it; `raw` is the record the mapper read.
    fn keep(&mut self, work: &Work, id: u64, raw: &we::RawEvent<'_>) {
        match we::to_event_data(raw) {
            Some(data) => self.events.push(Kept::Event(Box::new(Event {
                time: raw.time,
                time_basis: TimeBasis::Utc,
                source: SourceRef {
                    file: Arc::clone(&work.file),
                    loc: Loc::Record(id),
                },
                machine: raw.computer.as_deref().and_then(we::clean_str),
                data,
            }))),
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
    /// Whether the sink takes Security events with their texts held once per chunk.
    pooled: bool,
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
        for c in &o.computers {
            r.add_computer(c);
        }
        for (fam, id) in &o.kinds {
            r.add_kind(&format!("{}.{id}", fam.name()));
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
    reader::read_chunks(&mut r, positional, ctx, path, sink, &mut fold);
    fold.finish()
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
            format!(
                "the file ends {} bytes into chunk {number}, which should be {} bytes long, before its records: whatever it held is lost",
                grouped(len as u64),
                grouped(CHUNK_SIZE as u64)
            ),
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

/// `14832` as `14,832`: byte counts in messages, read at a glance.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether every byte is zero (folded a block at a time so the compiler vectorises it).
fn all_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(4096)
        .all(|block| block.iter().fold(0u8, |acc, b| acc | b) == 0)
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
    use padtriage_testkit::events::{self, Logon, Principal};
    use padtriage_testkit::evtx_writer::EvtxWriter;

    /// The real Windows logs build.rs found (`../shared/real-evtx`). Tests reading them are
    /// ignored without them, except under `CI=true`, where a missing folder fails them here.
    pub(super) fn real_evtx_dir() -> std::path::PathBuf {
        match option_env!("PADTRIAGE_REAL_EVTX") {
            Some(dir) => std::path::PathBuf::from(dir),
            None => {
                panic!("../shared/real-evtx not found next to the repository (or set REAL_EVTX)")
            }
        }
    }

    pub(super) fn ctx<'a>(name: &str, filter: &'a EventFilter, threads: usize) -> ReadCtx<'a> {
        ReadCtx {
            file: Arc::from(name),
            size: 0,
            mtime: None,
            filter,
            threads,
            progress: None,
        }
    }

    #[test]
    fn byte_counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(14832), "14,832");
        assert_eq!(grouped(65536), "65,536");
        assert_eq!(grouped(1234567), "1,234,567");
    }

    fn read(bytes: &[u8], threads: usize, path: Path) -> Parsed {
        let filter = EventFilter::all();
        read_evtx_collect(bytes, &ctx("x.evtx", &filter, threads), path)
    }

    #[test]
    #[cfg_attr(
        not(real_evtx),
        ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
    )]
    fn fast_path_agrees_with_json_on_real_logs() {
        let dir = real_evtx_dir();
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

    /// A Security log of three failed logons (4625): one chunk, one EventData template.
    fn failed_logons() -> Vec<u8> {
        let mut w = EvtxWriter::new();
        let start = padtriage_testkit::broken::base_time();
        for i in 0..3 {
            let who = Principal::new("alex", "CONTOSO", "S-1-5-21-1-2-3-1001");
            let time = start + chrono::TimeDelta::seconds(i);
            let mut l = Logon::new(time, "PC1.contoso.com", who, 2);
            l.status = 0xC000_006D;
            l.sub_status = 0xC000_006A;
            w.push(&events::security_4625(&l)).expect("writes");
        }
        w.finish()
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn u32_at(b: &[u8], at: usize) -> usize {
        u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) as usize
    }

    /// The body (start, size) of the definition in `chunk`'s template table that holds `text`.
    fn definition_holding(chunk: &[u8], text: &str) -> (usize, usize) {
        let needle = utf16(text);
        for bucket in 0..32 {
            let mut def = u32_at(chunk, 384 + 4 * bucket);
            while def != 0 {
                let (start, size) = (def + 24, u32_at(chunk, def + 20));
                if chunk[start..start + size]
                    .windows(needle.len())
                    .any(|w| w == needle)
                {
                    return (start, size);
                }
                def = u32_at(chunk, def);
            }
        }
        panic!("no definition holds {text}");
    }

    /// Swap two texts of the same length in `b`.
    fn swap_texts(b: &mut [u8], x: &str, y: &str) {
        let (x, y) = (utf16(x), utf16(y));
        let find = |b: &[u8], n: &[u8]| b.windows(n.len()).position(|w| w == n).expect("found");
        let (i, j) = (find(b, &x), find(b, &y));
        b[i..i + x.len()].copy_from_slice(&y);
        b[j..j + y.len()].copy_from_slice(&x);
    }

    /// Set `b[at..at + 4]` so that the CRC32 of `b` is `want`. CRC32 is affine in its input: the
    /// effect of each of the 32 bits is found, and the system solved over GF(2).
    fn force_crc32(b: &mut [u8], at: usize, want: u32) {
        b[at..at + 4].fill(0);
        let base = crc32fast::hash(b);
        // basis[p]: an effect whose highest bit is p, and the window bits that give it.
        let mut basis: [Option<(u32, u32)>; 32] = [None; 32];
        for bit in 0..32 {
            b[at + bit / 8] ^= 1 << (bit % 8);
            let (mut effect, mut bits) = (crc32fast::hash(b) ^ base, 1u32 << bit);
            b[at + bit / 8] ^= 1 << (bit % 8);
            for p in (0..32).rev() {
                if effect >> p & 1 == 0 {
                    continue;
                }
                match basis[p] {
                    Some((e, w)) => (effect, bits) = (effect ^ e, bits ^ w),
                    None => {
                        basis[p] = Some((effect, bits));
                        break;
                    }
                }
            }
        }
        let (mut need, mut bits) = (want ^ base, 0u32);
        for p in (0..32).rev() {
            if need >> p & 1 == 1 {
                let (e, w) = basis[p].expect("the window reaches every checksum");
                (need, bits) = (need ^ e, bits ^ w);
            }
        }
        b[at..at + 4].copy_from_slice(&bits.to_le_bytes());
        assert_eq!(crc32fast::hash(b), want);
    }

    /// The chunk's record and header checksums, recomputed.
    fn fix_chunk_checksums(chunk: &mut [u8]) {
        let free = u32_at(chunk, 48);
        let records = crc32fast::hash(&chunk[512..free]);
        chunk[52..56].copy_from_slice(&records.to_le_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&chunk[..120]);
        h.update(&chunk[128..512]);
        chunk[124..128].copy_from_slice(&h.finalize().to_le_bytes());
    }

    fn read_one_worker(bytes: &[u8]) -> serde_json::Value {
        let filter = EventFilter::all();
        let Parsed { report, events, .. } = read_evtx(bytes, &ctx("x.evtx", &filter, 1));
        serde_json::json!({ "report": report, "events": events })
    }

    /// Two logs read by one worker share its template cache ([`templates`]): a template there
    /// must serve only definitions with the same bytes.
    #[test]
    fn a_crafted_template_with_the_same_checksum_does_not_change_another_log() {
        let victim = failed_logons();
        // The crafted log: the victim with LogonType and SubStatus swapped in its EventData
        // template, then the checksum the template was known by put back through the data
        // size of <EventData>, which readers skip. Same GUID, size and CRC32; other bytes.
        let mut crafted = victim.clone();
        let chunk = &mut crafted[FILE_HEADER_SIZE..FILE_HEADER_SIZE + CHUNK_SIZE];
        let (start, size) = definition_holding(chunk, "LogonType");
        let body = &mut chunk[start..start + size];
        let want = crc32fast::hash(body);
        swap_texts(body, "LogonType", "SubStatus");
        assert_eq!(
            body[..5],
            [0x0f, 1, 1, 0, 0x01],
            "<EventData> opens the body"
        );
        force_crc32(body, 7, want);
        assert_ne!(*body, victim[FILE_HEADER_SIZE + start..][..size]);
        fix_chunk_checksums(chunk);

        // Each alone, on a thread of its own (the template cache is per thread), ...
        let alone = |b: &Vec<u8>| {
            let b = b.clone();
            std::thread::spawn(move || read_one_worker(&b))
                .join()
                .expect("reads")
        };
        let (victim_alone, crafted_alone) = (alone(&victim), alone(&crafted));
        assert_ne!(
            victim_alone, crafted_alone,
            "the crafted log reads otherwise"
        );
        // ... and both on one worker (with one thread the reading thread parses), in each order.
        let together = std::thread::spawn(move || {
            let crafted_first = read_one_worker(&crafted);
            let victim_then = read_one_worker(&victim);
            let victim_first = read_one_worker(&victim);
            let crafted_then = read_one_worker(&crafted);
            (crafted_first, victim_then, victim_first, crafted_then)
        })
        .join()
        .expect("reads");
        assert_eq!(together.0, crafted_alone);
        assert_eq!(
            together.1, victim_alone,
            "the crafted log changed how the other is read"
        );
        assert_eq!(together.2, victim_alone);
        assert_eq!(
            together.3, crafted_alone,
            "the other log changed how the crafted is read"
        );
    }
}
