//! Builds large `.evtx` inputs for `benches/compare.sh` out of real logs: the 64 KiB chunks of
//! the input files, repeated in turn, behind one file header.
//!
//! ```text
//! cargo run --release --example concat-evtx -- OUT BYTES [--files N] INPUT.evtx...
//! ```
//!
//! With `--files 1` (the default) OUT is one file of at least BYTES; with `--files N` OUT is a
//! folder that receives N files (`part-0001.evtx`, ...) of BYTES/N each.
//!
//! A chunk is self-contained (its own string and template tables), so chunks of any log can
//! follow each other. Record ids are renumbered to run on across the whole file (chunk headers
//! and checksums updated to match), and the file header gets the chunk count, next record id
//! and checksum it should have. Chunks whose records do not walk cleanly (the damaged samples)
//! keep their ids and checksums: the readers handle them as they would in any log. Record times
//! are kept as they are, so the same times recur in each repetition.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;
const CHUNK_HEADER: usize = 512;

fn main() {
    if let Err(e) = run() {
        eprintln!("concat-evtx: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: concat-evtx OUT BYTES [--files N] INPUT.evtx...";
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let bytes: u64 = args
        .next()
        .ok_or(usage)?
        .parse()
        .map_err(|_| "BYTES must be a number")?;
    let mut files = 1usize;
    let mut inputs = Vec::new();
    while let Some(a) = args.next() {
        if a == "--files" {
            files = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or("--files takes a positive number")?;
        } else {
            inputs.push(PathBuf::from(a));
        }
    }
    let chunks = load_chunks(&inputs)?;
    if chunks.is_empty() {
        return Err("no EVTX chunks in the inputs".into());
    }
    let per_file = (bytes / files as u64).max(1);
    let chunks_per_file = per_file.div_ceil(CHUNK as u64).min(65_535) as usize;
    let mut next = chunks.iter().cycle();
    if files == 1 {
        let it = next.by_ref().take(chunks_per_file);
        write_log(&out, it).map_err(|e| format!("{}: {e}", out.display()))?;
    } else {
        fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        for i in 0..files {
            let path = out.join(format!("part-{:04}.evtx", i + 1));
            let it = next.by_ref().take(chunks_per_file);
            write_log(&path, it).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Every chunk with the chunk signature in the inputs, in file order.
fn load_chunks(inputs: &[PathBuf]) -> Result<Vec<Vec<u8>>, String> {
    let mut chunks = Vec::new();
    for p in inputs {
        let data = fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if data.len() < FILE_HEADER || !data.starts_with(b"ElfFile\0") {
            return Err(format!("{}: not an EVTX file", p.display()));
        }
        for c in data[FILE_HEADER..].chunks_exact(CHUNK) {
            if c.starts_with(b"ElfChnk\0") {
                chunks.push(c.to_vec());
            }
        }
    }
    Ok(chunks)
}

fn write_log<'a>(path: &Path, chunks: impl Iterator<Item = &'a Vec<u8>>) -> io::Result<()> {
    let mut f = io::BufWriter::new(fs::File::create(path)?);
    f.write_all(&[0u8; FILE_HEADER])?;
    let mut next_id = 1u64;
    let mut count = 0usize;
    for c in chunks {
        let mut c = c.clone();
        renumber(&mut c, &mut next_id);
        f.write_all(&c)?;
        count += 1;
    }
    let mut f = f.into_inner().map_err(|e| e.into_error())?;
    use std::io::Seek;
    f.seek(io::SeekFrom::Start(0))?;
    f.write_all(&file_header(count, next_id))?;
    f.sync_all().ok();
    Ok(())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Give the chunk's records ids from `next_id` on, when they walk cleanly up to the free space.
fn renumber(c: &mut [u8], next_id: &mut u64) {
    let free = (u32_at(c, 48) as usize).min(CHUNK);
    let mut offsets = Vec::new();
    let mut off = CHUNK_HEADER;
    while off + 24 <= free {
        if c[off..off + 4] != [0x2a, 0x2a, 0, 0] {
            return;
        }
        let size = u32_at(c, off + 4) as usize;
        if size < 28 || off + size > free {
            return;
        }
        offsets.push(off);
        off += size;
    }
    if off != free || offsets.is_empty() {
        return;
    }
    let first = *next_id;
    for o in &offsets {
        c[o + 8..o + 16].copy_from_slice(&next_id.to_le_bytes());
        *next_id += 1;
    }
    let last = *next_id - 1;
    for at in [8, 24] {
        c[at..at + 8].copy_from_slice(&first.to_le_bytes());
        c[at + 8..at + 16].copy_from_slice(&last.to_le_bytes());
    }
    let records = crc32fast::hash(&c[CHUNK_HEADER..free]);
    c[52..56].copy_from_slice(&records.to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&c[..120]);
    h.update(&c[128..CHUNK_HEADER]);
    c[124..128].copy_from_slice(&h.finalize().to_le_bytes());
}

fn file_header(chunks: usize, next_id: u64) -> Vec<u8> {
    let mut h = vec![0u8; FILE_HEADER];
    h[0..8].copy_from_slice(b"ElfFile\0");
    h[16..24].copy_from_slice(&(chunks.saturating_sub(1) as u64).to_le_bytes());
    h[24..32].copy_from_slice(&next_id.to_le_bytes());
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&(FILE_HEADER as u16).to_le_bytes());
    h[42..44].copy_from_slice(&(chunks.min(65_535) as u16).to_le_bytes());
    let crc = crc32fast::hash(&h[..120]);
    h[124..128].copy_from_slice(&crc.to_le_bytes());
    h
}
