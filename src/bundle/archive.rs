//! Zip archives: listing entries from the central directory, locating each entry's data, and
//! inflating it on the fly behind a guard that stops at the size the entry declares.
//!
//! Entries are inflated here rather than through `zip::ZipFile`, whose reader borrows the
//! archive: an owned reader per `open()` is what lets several threads read one zip at once.
//! The `zip` crate still parses the central directory (zip64, name encodings, offsets).

use crate::model::{Problem, Time};
use chrono::{NaiveDate, TimeZone, Utc};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use zip::CompressionMethod;

/// Where a zip's bytes live: a file on disk (re-opened per reader) or, for a zip found inside a
/// zip, a buffer in memory shared by every reader.
pub(crate) enum Container {
    Disk(PathBuf),
    Memory(Arc<[u8]>),
}

impl fmt::Debug for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Container::Disk(p) => write!(f, "Disk({})", p.display()),
            Container::Memory(b) => write!(f, "Memory({} bytes)", b.len()),
        }
    }
}

impl Container {
    /// A fresh, independent, seekable reader over the zip's bytes. Read-only.
    pub(crate) fn source(&self) -> io::Result<Source> {
        Ok(match self {
            Container::Disk(p) => Source::Disk(BufReader::new(File::open(p)?)),
            Container::Memory(b) => Source::Memory(Cursor::new(Arc::clone(b))),
        })
    }
}

pub(crate) enum Source {
    Disk(BufReader<File>),
    Memory(Cursor<Arc<[u8]>>),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Disk(r) => r.read(buf),
            Source::Memory(r) => r.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Source::Disk(r) => r.seek(pos),
            Source::Memory(r) => r.seek(pos),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Stored,
    Deflated,
}

/// One zip entry padtriage reads: enough to open it again from any thread.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub container: Arc<Container>,
    pub data_start: u64,
    pub compressed: u64,
    pub size: u64,
    pub method: Method,
    pub crc32: u32,
}

impl Member {
    /// Open the entry from its own handle on the container.
    pub(crate) fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        let mut src = self.container.source()?;
        src.seek(SeekFrom::Start(self.data_start))?;
        Ok(self.reader(src))
    }

    /// Inflate from `src`, which must be positioned at the entry's data.
    pub(crate) fn reader<'a, R: Read + Send + 'a>(&self, src: R) -> Box<dyn Read + Send + 'a> {
        let raw = src.take(self.compressed);
        let inner: Box<dyn Read + Send + 'a> = match self.method {
            Method::Stored => Box::new(raw),
            Method::Deflated => Box::new(flate2::read::DeflateDecoder::new(raw)),
        };
        Box::new(Guarded {
            inner,
            produced: 0,
            size: self.size,
            crc: crc32fast::Hasher::new(),
            expect_crc: self.crc32,
        })
    }
}

/// Counts what an entry produces and fails, instead of producing more, once the entry passes the
/// size its header declares: that declared size is what the walk checked against the ratio and
/// total limits, so a lying header cannot smuggle a zip bomb past them. Also fails on a short
/// entry and, at the end, on a checksum mismatch.
struct Guarded<'a> {
    inner: Box<dyn Read + Send + 'a>,
    produced: u64,
    size: u64,
    crc: crc32fast::Hasher,
    expect_crc: u32,
}

impl Read for Guarded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Ask for one byte more than may remain, so an overrun shows up.
        let room = self.size.saturating_sub(self.produced).saturating_add(1);
        let want = usize::try_from(room).map_or(buf.len(), |r| r.min(buf.len()));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            if self.produced < self.size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "zip entry ends after {} of the {} bytes its header declares (damaged archive)",
                        self.produced, self.size
                    ),
                ));
            }
            let crc = self.crc.clone().finalize();
            if crc != self.expect_crc {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "zip entry checksum mismatch (CRC-32 {crc:08x}, header says {:08x}): damaged archive",
                        self.expect_crc
                    ),
                ));
            }
            return Ok(0);
        }
        self.produced += n as u64;
        if self.produced > self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "zip bomb guard: entry expands past the {} bytes its header declares; reading stopped",
                    self.size
                ),
            ));
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// A zip entry as listed by the central directory.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Safe display name (no `..`, no root, `/` separators).
    pub name: String,
    /// Why the name was changed, when it was changed for safety.
    pub problem: Option<Problem>,
    pub is_dir: bool,
    pub is_symlink: bool,
    pub encrypted: bool,
    pub method: CompressionMethod,
    pub size: u64,
    pub compressed: u64,
    pub header_start: u64,
    pub crc32: u32,
    pub dos_time: Option<zip::DateTime>,
}

/// What the central directory lists.
pub(crate) struct Listing {
    pub entries: Vec<Entry>,
    /// Some names appear twice; the `zip` crate keeps one of each.
    pub duplicate_names: bool,
}

/// List a zip's entries, sorted by display name. Fails when the central directory cannot be
/// read; gives back the source for reading the entries.
pub(crate) fn list(src: Source) -> Result<(Listing, Source), zip::result::ZipError> {
    let archive = zip::ZipArchive::new(src)?;
    let mut entries = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let e = archive.by_index_data(i)?;
        let raw_name = match e.name() {
            Ok(n) => n.into_owned(),
            Err(_) => String::from_utf8_lossy(e.name_raw()).into_owned(),
        };
        let (mut name, unsafe_name) = sanitize_name(&raw_name);
        if name.is_empty() {
            name = format!("unnamed-entry-{}", i + 1);
        }
        let problem = unsafe_name.then(|| {
            Problem::new(
                "unsafe_name",
                None,
                format!(
                    "zip entry name \"{}\" points outside the archive; read as \"{name}\" \
                     (nothing is extracted to disk)",
                    raw_name.escape_debug()
                ),
            )
        });
        entries.push(Entry {
            name,
            problem,
            is_dir: e.is_dir(),
            is_symlink: e.is_symlink(),
            encrypted: e.encrypted(),
            method: e.compression(),
            size: e.size(),
            compressed: e.compressed_size(),
            header_start: e.header_start(),
            crc32: e.crc32(),
            dos_time: e.last_modified(),
        });
    }
    let duplicate_names = archive.has_duplicate_names();
    let src = archive.into_inner();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    // Names that became equal after sanitising (`../x` and `x`) stay apart.
    let mut prev: Option<String> = None;
    let mut copy = 1;
    for e in entries.iter_mut() {
        if prev.as_deref() == Some(e.name.as_str()) {
            copy += 1;
            e.name = format!("{}~{copy}", e.name);
        } else {
            copy = 1;
            prev = Some(e.name.clone());
        }
    }
    Ok((
        Listing {
            entries,
            duplicate_names,
        },
        src,
    ))
}

/// Make an entry name safe to display and unambiguous: `\` becomes `/`, and root, drive letters,
/// `.` and `..` components are dropped. Returns the name and whether it tried to leave the
/// archive. Control characters become `_`.
pub(crate) fn sanitize_name(raw: &str) -> (String, bool) {
    let unified = raw.replace('\\', "/");
    let mut escaped = unified.starts_with('/');
    let mut parts: Vec<String> = Vec::new();
    for (i, part) in unified.split('/').enumerate() {
        match part {
            "" | "." => {}
            ".." => escaped = true,
            p if i == 0 && is_drive(p) => escaped = true,
            p => parts.push(
                p.chars()
                    .map(|c| if c.is_control() { '_' } else { c })
                    .collect(),
            ),
        }
    }
    (parts.join("/"), escaped)
}

fn is_drive(part: &str) -> bool {
    let b = part.as_bytes();
    b.len() == 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Where an entry's data starts, and a UTC modification time if the local header carries one
/// (extended-timestamp or NTFS extra field). `src` is left anywhere.
pub(crate) fn locate<R: Read + Seek>(
    src: &mut R,
    header_start: u64,
) -> io::Result<(u64, Option<Time>)> {
    src.seek(SeekFrom::Start(header_start))?;
    let mut fixed = [0u8; 30];
    src.read_exact(&mut fixed)?;
    if fixed[0..4] != *b"PK\x03\x04" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no local file header at offset {header_start}"),
        ));
    }
    let name_len = u64::from(u16::from_le_bytes([fixed[26], fixed[27]]));
    let extra_len = u16::from_le_bytes([fixed[28], fixed[29]]);
    src.seek(SeekFrom::Current(name_len as i64))?;
    let mut extra = vec![0u8; usize::from(extra_len)];
    src.read_exact(&mut extra)?;
    let data_start = header_start
        .saturating_add(30 + name_len)
        .saturating_add(u64::from(extra_len));
    Ok((data_start, extra_mtime(&extra)))
}

/// Modification time from the extra fields: 0x5455 (Unix seconds) or 0x000a (NTFS FILETIME).
fn extra_mtime(mut extra: &[u8]) -> Option<Time> {
    while extra.len() >= 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let body = extra.get(4..4 + len)?;
        match id {
            0x5455 if body.len() >= 5 && body[0] & 1 == 1 => {
                let secs = u32::from_le_bytes([body[1], body[2], body[3], body[4]]);
                return Utc.timestamp_opt(i64::from(secs), 0).single();
            }
            0x000a => {
                let mut attrs = body.get(4..)?;
                while attrs.len() >= 4 {
                    let tag = u16::from_le_bytes([attrs[0], attrs[1]]);
                    let size = usize::from(u16::from_le_bytes([attrs[2], attrs[3]]));
                    let val = attrs.get(4..4 + size)?;
                    if tag == 1 && size >= 8 {
                        let ft = u64::from_le_bytes(val[0..8].try_into().ok()?);
                        return filetime(ft);
                    }
                    attrs = &attrs[4 + size..];
                }
            }
            _ => {}
        }
        extra = &extra[4 + len..];
    }
    None
}

fn filetime(ft: u64) -> Option<Time> {
    const UNIX_EPOCH_AS_FILETIME: i64 = 116_444_736_000_000_000;
    let ticks = i64::try_from(ft)
        .ok()?
        .checked_sub(UNIX_EPOCH_AS_FILETIME)?;
    let nanos = u32::try_from(ticks.rem_euclid(10_000_000) * 100).ok()?;
    Utc.timestamp_opt(ticks.div_euclid(10_000_000), nanos)
        .single()
}

/// The DOS time in the central directory. Zip stores the zipping machine's local time with no
/// zone; it is taken as UTC, the only reading possible without knowing that machine.
pub(crate) fn dos_time(t: zip::DateTime) -> Option<Time> {
    let d = NaiveDate::from_ymd_opt(
        i32::from(t.year()),
        u32::from(t.month()),
        u32::from(t.day()),
    )?;
    let dt = d.and_hms_opt(
        u32::from(t.hour()),
        u32::from(t.minute()),
        u32::from(t.second()),
    )?;
    Some(Utc.from_utc_datetime(&dt))
}

/// The compression methods padtriage inflates itself.
pub(crate) fn method(m: CompressionMethod) -> Option<Method> {
    match m {
        CompressionMethod::Stored => Some(Method::Stored),
        CompressionMethod::Deflated => Some(Method::Deflated),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_archive() {
        assert_eq!(sanitize_name("PAD/x.log"), ("PAD/x.log".into(), false));
        assert_eq!(sanitize_name("./a//b"), ("a/b".into(), false));
        assert_eq!(sanitize_name("../../x"), ("x".into(), true));
        assert_eq!(sanitize_name("/etc/passwd"), ("etc/passwd".into(), true));
        assert_eq!(sanitize_name("C:\\Windows\\x"), ("Windows/x".into(), true));
        assert_eq!(sanitize_name("a/../b"), ("a/b".into(), true));
        assert_eq!(sanitize_name("a\u{1}b"), ("a_b".into(), false));
    }

    #[test]
    fn extra_field_times_are_utc() {
        // 0x5455 with mtime 1_700_000_000.
        let mut ut = vec![0x55, 0x54, 5, 0, 1];
        ut.extend(1_700_000_000u32.to_le_bytes());
        assert_eq!(extra_mtime(&ut).map(|t| t.timestamp()), Some(1_700_000_000));
        // NTFS: reserved, tag 1 size 24, mtime/atime/ctime.
        let ft = 1_700_000_000u64 * 10_000_000 + 116_444_736_000_000_000;
        let mut nt = vec![0x0a, 0x00, 32, 0, 0, 0, 0, 0, 1, 0, 24, 0];
        for _ in 0..3 {
            nt.extend(ft.to_le_bytes());
        }
        assert_eq!(extra_mtime(&nt).map(|t| t.timestamp()), Some(1_700_000_000));
        // Truncated field: no time, no panic.
        assert_eq!(extra_mtime(&[0x55, 0x54, 9, 0, 1]), None);
    }
}
