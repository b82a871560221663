//! The bundle: walking directories and (nested) zips, sniffing each file's kind by content,
//! read-only access, resource limits, and per-file problems. Knows nothing of what a file means.
//!
//! [`open_bundle`] turns the paths a user gives (a folder, a .zip, single files) into the list of
//! evidence [`Input`]s to parse and a report for every file that will not be read. Zips are read
//! in place, nested zips in memory; nothing is ever extracted or written to disk.

mod archive;
mod limits;
mod sniff;
mod walk;

pub use limits::{Limits, RATIO_FLOOR};
pub use sniff::{sniff, Sniffed, SNIFF_LEN};

use crate::model::{EventFilter, FileKind, FileReport, Problem, Time};
use crate::sources::ReadCtx;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One file padtriage will parse.
#[derive(Debug, Clone)]
pub struct Input {
    /// Display path, relative to the bundle root, `/`-separated. Zip members are written
    /// `logs.zip!/PAD/x.log`, nested ones `a.zip!/b.zip!/c.evtx`.
    pub path: String,
    pub kind: FileKind,
    /// Bytes `open()` yields (uncompressed size for zip members).
    pub size: u64,
    /// Modification time. For zip members without a UTC timestamp extra field this is the
    /// zip's DOS time, which is the zipping machine's local time taken as UTC.
    pub mtime: Option<Time>,
    /// What the bundle stage noticed about this file (e.g. a zip entry name that tried to leave
    /// the archive); parsers carry these into the file's report.
    pub problems: Vec<Problem>,
    origin: Origin,
}

#[derive(Debug, Clone)]
enum Origin {
    File(PathBuf),
    Zip(archive::Member),
}

impl Input {
    /// A fresh reader over the file's bytes, independent of any other: several threads may open
    /// and read the same input at once. Zip members inflate on the fly and fail with an error
    /// (never more data) if they expand past their declared size or fail their checksum.
    /// Everything is opened read-only.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match &self.origin {
            Origin::File(p) => Ok(Box::new(BufReader::new(File::open(p)?))),
            Origin::Zip(m) => m.open(),
        }
    }

    /// The whole file in memory (for readers that need random access, e.g. EVTX).
    pub fn read_all(&self) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let want = usize::try_from(self.size).unwrap_or(usize::MAX);
        buf.try_reserve_exact(want)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        self.open()?.read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// The file on disk, when the input is a plain file rather than a zip member.
    pub fn disk_path(&self) -> Option<&Path> {
        match &self.origin {
            Origin::File(p) => Some(p),
            Origin::Zip(_) => None,
        }
    }

    /// A report for this file with its path, kind, size and the bundle stage's problems.
    pub fn report(&self) -> FileReport {
        let mut r = FileReport::new(self.path.clone(), self.kind, self.size);
        r.problems = self.problems.clone();
        r
    }

    /// The context a parser receives for this file.
    pub fn read_ctx<'a>(&self, filter: &'a EventFilter, threads: usize) -> ReadCtx<'a> {
        ReadCtx {
            file: Arc::from(self.path.as_str()),
            size: self.size,
            mtime: self.mtime,
            filter,
            threads,
        }
    }
}

/// What was found at the paths given.
#[derive(Debug)]
pub struct Bundle {
    /// What display paths are relative to: the path given, or the common folder of several.
    pub root: String,
    /// Files to parse, in path order.
    pub inputs: Vec<Input>,
    /// Every file not read, in path order: kind `Skipped` (or `Zip` for a zip that could not be
    /// opened) with `skipped: Some(why)`.
    pub skipped: Vec<FileReport>,
    /// Problems of the bundle as a whole or of a zip (file limit reached, duplicate names in a
    /// zip, an unsafe name on a nested zip), with `at` naming where.
    pub problems: Vec<Problem>,
}

/// Nothing at all could be read. Anything less is reported per file in [`Bundle::skipped`].
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "no bundle given: pass a folder, a .zip, or evidence files (.evtx, dsregcmd output, \
         Power Automate logs)"
    )]
    NoPaths,
    #[error("{path}: not found; check the path (a bundle is a folder, a .zip, or evidence files)")]
    NotFound { path: String },
    #[error(
        "{path}: cannot be read ({source}); check that your account may read it, or copy the \
         bundle to a folder you own"
    )]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// Walk the given folders, zips and files into a [`Bundle`]. Fails only when none of the paths
/// can be read at all; any lesser trouble becomes a skipped file or a problem.
pub fn open_bundle(paths: &[PathBuf], limits: &Limits) -> Result<Bundle, BundleError> {
    walk::open(paths, limits)
}
