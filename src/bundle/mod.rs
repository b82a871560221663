//! The bundle: walking directories and (nested) zips, read-only access, resource limits, and
//! per-file problems. Knows nothing of what a file means: a classifier the caller passes
//! (`sources::detect::sniff`) says from a file's first bytes what kind it is.
//!
//! [`open_bundle`] turns the paths a user gives (a folder, a .zip, single files) into the list of
//! evidence [`Input`]s to parse and a report for every file that will not be read. Zips are read
//! in place, nested zips in memory; nothing is ever extracted or written to disk.

mod archive;
mod limits;
mod walk;

pub use limits::{Limits, RATIO_FLOOR};

use crate::model::{FileKind, FileReport, Problem, Time};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// How many leading bytes of a file the classifier sees.
pub const SNIFF_LEN: usize = 8192;

/// Says what a file is from its first bytes (up to [`SNIFF_LEN`]) and its file name.
pub type Classify = fn(&[u8], &str) -> Sniffed;

/// What a file was recognised as, and why it will not be read when it will not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: FileKind,
    /// Set when `kind` is `Skipped` or `Other`: the reason, for people.
    pub why: Option<String>,
}

impl Sniffed {
    pub fn is(kind: FileKind) -> Self {
        Sniffed { kind, why: None }
    }

    /// Evidence-like, but will not be read.
    pub fn skipped(why: impl Into<String>) -> Self {
        Sniffed {
            kind: FileKind::Skipped,
            why: Some(why.into()),
        }
    }

    /// Readable, but not evidence padtriage knows.
    pub fn other(why: impl Into<String>) -> Self {
        Sniffed {
            kind: FileKind::Other,
            why: Some(why.into()),
        }
    }
}

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

/// Walk the given folders, zips and files into a [`Bundle`], asking `classify` what each file
/// is. Fails only when none of the paths can be read at all; any lesser trouble becomes a
/// skipped file or a problem.
pub fn open_bundle(
    paths: &[PathBuf],
    limits: &Limits,
    classify: Classify,
) -> Result<Bundle, BundleError> {
    walk::open(paths, limits, classify)
}
