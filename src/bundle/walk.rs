//! Walking the given paths: folders in name order, files, zips and zips inside zips, charging
//! every file against the limits and turning each one into an input or a skipped report.

use super::archive::{self, Container, Member, Source};
use super::limits::{fmt_bytes, Budget, Limits};
use super::{Bundle, BundleError, Classify, Input, Origin, SNIFF_LEN};
use crate::model::{FileKind, FileReport, Problem, Time};
use std::collections::HashSet;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

pub(super) fn open(
    paths: &[PathBuf],
    limits: &Limits,
    classify: Classify,
) -> Result<Bundle, BundleError> {
    if paths.is_empty() {
        return Err(BundleError::NoPaths);
    }
    let (root, prefixes) = display_names(paths);
    let mut w = Walker {
        limits,
        classify,
        budget: Budget::default(),
        inputs: Vec::new(),
        skipped: Vec::new(),
        problems: Vec::new(),
        stopped: false,
    };
    let mut first_error = None;
    let mut any_read = false;
    let mut given = HashSet::new();
    for (path, prefix) in paths.iter().zip(&prefixes) {
        // The same file or folder given twice is read once.
        if let Ok(canon) = fs::canonicalize(path) {
            if !given.insert(canon) {
                continue;
            }
        }
        match w.top(path, prefix) {
            Ok(()) => any_read = true,
            Err(e) => {
                let why = e.to_string();
                first_error.get_or_insert(e);
                w.skip(
                    prefix_or_path(prefix, path),
                    FileKind::Skipped,
                    0,
                    why,
                    Vec::new(),
                );
            }
        }
    }
    if !any_read {
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    w.inputs.sort_by(|a, b| a.path.cmp(&b.path));
    w.inputs.dedup_by(|a, b| a.path == b.path);
    w.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    w.skipped.dedup_by(|a, b| a.path == b.path);
    Ok(Bundle {
        root,
        inputs: w.inputs,
        skipped: w.skipped,
        problems: w.problems,
    })
}

fn prefix_or_path(prefix: &str, path: &Path) -> String {
    if prefix.is_empty() {
        path.to_string_lossy().into_owned()
    } else {
        prefix.to_string()
    }
}

/// The bundle root and each path's display prefix. One path: the path itself is the root (a
/// folder's files are shown relative to it, a file by its name). Several: their common folder.
fn display_names(paths: &[PathBuf]) -> (String, Vec<String>) {
    if let [only] = paths {
        let prefix = if only.is_dir() {
            String::new()
        } else {
            file_name(only)
        };
        return (only.to_string_lossy().into_owned(), vec![prefix]);
    }
    let abs: Vec<PathBuf> = paths.iter().map(|p| normalise(p)).collect();
    let mut common: Vec<Component<'_>> = abs[0].components().collect();
    for p in &abs[1..] {
        let n = common
            .iter()
            .zip(p.components())
            .take_while(|(a, b)| **a == *b)
            .count();
        common.truncate(n);
    }
    let base: PathBuf = common.iter().collect();
    let prefixes = paths
        .iter()
        .zip(&abs)
        .map(|(p, a)| {
            let rel = a.strip_prefix(&base).unwrap_or(a);
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.is_empty() && !p.is_dir() {
                file_name(p)
            } else {
                parts.join("/")
            }
        })
        .collect();
    (base.to_string_lossy().into_owned(), prefixes)
}

/// Absolute and without `.`/`..`, lexically (links are not resolved: display paths keep the
/// names the user sees).
fn normalise(p: &Path) -> PathBuf {
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
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.to_string_lossy().into_owned())
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// A folder given by the user: symbolic links found under it may not lead out of it.
struct Root {
    canon: PathBuf,
    display: String,
}

impl Root {
    fn display_of(&self, target: &Path) -> String {
        let rel = target.strip_prefix(&self.canon).unwrap_or(target);
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.is_empty() {
            if self.display.is_empty() {
                ".".into()
            } else {
                self.display.clone()
            }
        } else {
            join(&self.display, &parts.join("/"))
        }
    }
}

struct Walker<'l> {
    limits: &'l Limits,
    classify: Classify,
    budget: Budget,
    inputs: Vec<Input>,
    skipped: Vec<FileReport>,
    problems: Vec<Problem>,
    /// The file limit was reached: nothing more is looked at.
    stopped: bool,
}

impl Walker<'_> {
    fn skip(
        &mut self,
        path: String,
        kind: FileKind,
        size: u64,
        why: impl Into<String>,
        problems: Vec<Problem>,
    ) {
        let mut r = FileReport::new(path, kind, size);
        r.skipped = Some(why.into());
        r.problems = problems;
        self.skipped.push(r);
    }

    /// Count one more file; false (once, with a problem) when the file limit is reached.
    fn count_file(&mut self, at: &str) -> bool {
        if self.stopped {
            return false;
        }
        if self.budget.files >= self.limits.max_files {
            self.stopped = true;
            self.problems.push(Problem::new(
                "limit",
                Some(at.to_string()),
                format!(
                    "file limit reached: the bundle has more than {} files; \"{at}\" and the \
                     files after it (in path order) were not looked at (limit: max_files)",
                    self.limits.max_files
                ),
            ));
            return false;
        }
        self.budget.files += 1;
        true
    }

    /// Reserve `size` bytes of the total, or say why not.
    fn charge(&mut self, size: u64) -> Result<(), String> {
        let max = self.limits.max_total_uncompressed;
        if self.budget.total.saturating_add(size) > max {
            return Err(format!(
                "size limit: reading this file ({}) would take the bundle past {} of data \
                 (limit: max_total_uncompressed); not read",
                fmt_bytes(size),
                fmt_bytes(max)
            ));
        }
        self.budget.total += size;
        Ok(())
    }

    /// A path the user gave. Errors only when it cannot be read at all.
    fn top(&mut self, path: &Path, display: &str) -> Result<(), BundleError> {
        let shown = path.to_string_lossy().into_owned();
        let meta = fs::metadata(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BundleError::NotFound {
                path: shown.clone(),
            },
            _ => BundleError::Unreadable {
                path: shown.clone(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            let unreadable = |source| BundleError::Unreadable {
                path: shown.clone(),
                source,
            };
            let canon = fs::canonicalize(path).map_err(unreadable)?;
            let entries = fs::read_dir(path).map_err(unreadable)?;
            let root = Root {
                canon: canon.clone(),
                display: display.to_string(),
            };
            self.walk_entries(entries, &canon, display, &root);
        } else {
            if meta.is_file() {
                // Only probe regular files: opening a pipe would block.
                File::open(path).map_err(|source| BundleError::Unreadable {
                    path: shown.clone(),
                    source,
                })?;
            }
            self.disk_file(path, display, &meta);
        }
        Ok(())
    }

    fn walk_dir(&mut self, dir: &Path, display: &str, root: &Root) {
        let listing = fs::canonicalize(dir).and_then(|c| Ok((c, fs::read_dir(dir)?)));
        match listing {
            Ok((canon, entries)) => self.walk_entries(entries, &canon, display, root),
            Err(e) => {
                if self.count_file(display) {
                    let why = match e.kind() {
                        io::ErrorKind::PermissionDenied => format!(
                            "permission denied: cannot list the folder {}; give your account \
                             read access or copy the bundle to a folder you own",
                            dir.display()
                        ),
                        _ => format!("folder cannot be read: {e}"),
                    };
                    self.skip(format!("{display}/"), FileKind::Skipped, 0, why, Vec::new());
                }
            }
        }
    }

    /// The entries of one folder, in name order.
    fn walk_entries(&mut self, entries: fs::ReadDir, canon: &Path, display: &str, root: &Root) {
        let mut list: Vec<(std::ffi::OsString, io::Result<fs::DirEntry>)> = entries
            .map(|e| match e {
                Ok(d) => (d.file_name(), Ok(d)),
                Err(err) => (Default::default(), Err(err)),
            })
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, entry) in list {
            if self.stopped {
                return;
            }
            let disp = join(display, &name.to_string_lossy());
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    if self.count_file(&disp) {
                        let why = format!("folder entry cannot be read: {e}");
                        self.skip(disp, FileKind::Skipped, 0, why, Vec::new());
                    }
                    continue;
                }
            };
            let path = entry.path();
            let ft = match entry.file_type() {
                Ok(ft) => ft,
                Err(e) => {
                    if self.count_file(&disp) {
                        self.skip(disp, FileKind::Skipped, 0, io_reason(&e, &path), Vec::new());
                    }
                    continue;
                }
            };
            if ft.is_symlink() {
                if self.count_file(&disp) {
                    let why = symlink_reason(&path, canon, root);
                    self.skip(disp, FileKind::Skipped, 0, why, Vec::new());
                }
            } else if ft.is_dir() {
                self.walk_dir(&path, &disp, root);
            } else {
                match entry.metadata() {
                    Ok(meta) => self.disk_file(&path, &disp, &meta),
                    Err(e) => {
                        if self.count_file(&disp) {
                            let why = io_reason(&e, &path);
                            self.skip(disp, FileKind::Skipped, 0, why, Vec::new());
                        }
                    }
                }
            }
        }
    }

    fn disk_file(&mut self, path: &Path, display: &str, meta: &Metadata) {
        if !self.count_file(display) {
            return;
        }
        let display = display.to_string();
        if !meta.is_file() {
            let why = "not a regular file (device, pipe or socket); not read";
            self.skip(display, FileKind::Skipped, 0, why, Vec::new());
            return;
        }
        let size = meta.len();
        if size == 0 {
            self.skip(
                display,
                FileKind::Skipped,
                0,
                "empty file (0 bytes)",
                Vec::new(),
            );
            return;
        }
        let head = match File::open(path).and_then(|mut f| read_head(&mut f)) {
            Ok(h) => h,
            Err(e) => {
                self.skip(
                    display,
                    FileKind::Skipped,
                    size,
                    io_reason(&e, path),
                    Vec::new(),
                );
                return;
            }
        };
        let sniffed = (self.classify)(&head, &file_name(path));
        match sniffed.kind {
            FileKind::Zip if self.limits.max_zip_depth == 0 => {
                let why = "zip not opened (limit: max_zip_depth = 0)";
                self.skip(display, FileKind::Zip, size, why, Vec::new());
            }
            FileKind::Zip => {
                let container = Arc::new(Container::Disk(path.to_path_buf()));
                self.walk_zip(container, &display, 1, size);
            }
            FileKind::Skipped | FileKind::Other => {
                let why = sniffed.why.unwrap_or_default();
                self.skip(display, sniffed.kind, size, why, Vec::new());
            }
            kind => match self.charge(size) {
                Ok(()) => self.inputs.push(Input {
                    path: display,
                    kind,
                    size,
                    mtime: meta.modified().ok().map(Time::from),
                    problems: Vec::new(),
                    origin: Origin::File(path.to_path_buf()),
                }),
                Err(why) => self.skip(display, FileKind::Skipped, size, why, Vec::new()),
            },
        }
    }

    /// A zip at `depth` (1 = on disk). Its entries are shown as `display!/name`.
    fn walk_zip(&mut self, container: Arc<Container>, display: &str, depth: u32, size: u64) {
        let listed = container
            .source()
            .map_err(|e| e.to_string())
            .and_then(|src| archive::list(src).map_err(|e| e.to_string()));
        let (listing, mut src) = match listed {
            Ok(l) => l,
            Err(e) => {
                let why = format!(
                    "corrupt or unreadable zip ({e}); its contents were not read, the rest of \
                     the bundle was; re-create or re-download the zip"
                );
                self.skip(display.to_string(), FileKind::Zip, size, why, Vec::new());
                return;
            }
        };
        if listing.duplicate_names {
            self.problems.push(Problem::new(
                "duplicate_name",
                Some(display.to_string()),
                "the zip lists some file names more than once; one copy of each was read",
            ));
        }
        if listing.entries.iter().all(|e| e.is_dir) {
            let why = "empty zip (no files in it)";
            self.skip(display.to_string(), FileKind::Zip, size, why, Vec::new());
            return;
        }
        let mut spend = ZipSpend {
            len: size,
            expanded: 0,
        };
        for entry in listing.entries {
            if self.stopped {
                return;
            }
            self.zip_entry(&mut src, &container, display, depth, &mut spend, entry);
        }
    }

    fn zip_entry(
        &mut self,
        src: &mut Source,
        container: &Arc<Container>,
        zip_display: &str,
        depth: u32,
        spend: &mut ZipSpend,
        e: archive::Entry,
    ) {
        if e.is_dir {
            return;
        }
        let path = format!("{zip_display}!/{}", e.name);
        if !self.count_file(&path) {
            return;
        }
        let problems: Vec<Problem> = e.problem.into_iter().collect();
        let size = e.size;
        let refuse = if e.is_symlink {
            Some("symbolic link stored in the zip; not followed".to_string())
        } else if e.encrypted {
            Some(
                "password-protected zip entry, which padtriage cannot read; ask for the bundle \
                 without a password"
                    .to_string(),
            )
        } else if archive::method(e.method).is_none() {
            Some(format!(
                "compressed with {}, which padtriage cannot read; re-create the zip with \
                 standard (Deflate) compression",
                e.method
            ))
        } else if size == 0 {
            Some("empty file (0 bytes)".to_string())
        } else if self.limits.ratio_exceeded(size, e.compressed) {
            Some(format!(
                "zip bomb guard: entry would expand {}x (from {} to {}), over the {}x limit \
                 (max_entry_ratio); not read",
                size / e.compressed.max(1),
                fmt_bytes(e.compressed),
                fmt_bytes(size),
                self.limits.max_entry_ratio
            ))
        } else {
            None
        };
        if let Some(why) = refuse {
            self.skip(path, FileKind::Skipped, size, why, problems);
            return;
        }
        let Some(method) = archive::method(e.method) else {
            return;
        };
        let (data_start, extra_time) = match archive::locate(src, e.header_start) {
            Ok(l) => l,
            Err(err) => {
                let why = format!("damaged zip entry ({err}); not read");
                self.skip(path, FileKind::Skipped, size, why, problems);
                return;
            }
        };
        // Headers that claim more data than the archive holds would have memory reserved for
        // them (a nested zip is loaded whole) before the read fails: refuse them up front.
        if data_start.saturating_add(e.compressed) > spend.len {
            let why = format!(
                "damaged zip entry: its headers declare {} of data at offset {data_start}, past \
                 the end of the archive ({}); not read",
                fmt_bytes(e.compressed),
                fmt_bytes(spend.len)
            );
            self.skip(path, FileKind::Skipped, size, why, problems);
            return;
        }
        let member = Member {
            container: Arc::clone(container),
            data_start,
            compressed: e.compressed,
            size,
            method,
            crc32: e.crc32,
        };
        let head = src
            .seek(SeekFrom::Start(data_start))
            .and_then(|_| read_head(&mut member.reader(&mut *src)));
        let head = match head {
            Ok(h) => h,
            Err(err) => {
                let why = format!("damaged zip entry ({err}); not read");
                self.skip(path, FileKind::Skipped, size, why, problems);
                return;
            }
        };
        let base = e.name.rsplit('/').next().unwrap_or(&e.name);
        let sniffed = (self.classify)(&head, base);
        let read_whole = !matches!(sniffed.kind, FileKind::Skipped | FileKind::Other);
        if read_whole {
            // Entries under the ratio floor pass the per-entry check however well they
            // compress; many of them would still make a bomb. Count what the zip yields.
            let total = spend.expanded.saturating_add(size);
            if self.limits.ratio_exceeded(total, spend.len) {
                let why = format!(
                    "zip bomb guard: with this entry the files read from the zip would expand it \
                     {}x (from {} to {}), over the {}x limit (max_entry_ratio); not read",
                    total / spend.len.max(1),
                    fmt_bytes(spend.len),
                    fmt_bytes(total),
                    self.limits.max_entry_ratio
                );
                self.skip(path, FileKind::Skipped, size, why, problems);
                return;
            }
            spend.expanded = total;
        }
        match sniffed.kind {
            FileKind::Zip => self.nested_zip(src, member, path, depth, problems),
            FileKind::Skipped | FileKind::Other => {
                let why = sniffed.why.unwrap_or_default();
                self.skip(path, sniffed.kind, size, why, problems);
            }
            kind => match self.charge(size) {
                Ok(()) => self.inputs.push(Input {
                    path,
                    kind,
                    size,
                    mtime: extra_time.or_else(|| e.dos_time.and_then(archive::dos_time)),
                    problems,
                    origin: Origin::Zip(member),
                }),
                Err(why) => self.skip(path, FileKind::Skipped, size, why, problems),
            },
        }
    }

    /// A zip inside a zip: loaded into memory (within limits) so its entries can be opened at
    /// random, then walked like any zip.
    fn nested_zip(
        &mut self,
        src: &mut Source,
        member: Member,
        path: String,
        depth: u32,
        problems: Vec<Problem>,
    ) {
        let size = member.size;
        let max_depth = self.limits.max_zip_depth;
        let max_mem = self.limits.max_nested_zip_in_memory;
        let used_mem = self.budget.nested_in_memory;
        let refuse = if depth >= max_depth {
            Some(format!(
                "zip nested more than {max_depth} levels deep; not opened (limit: max_zip_depth)"
            ))
        } else if used_mem.saturating_add(size) > max_mem {
            Some(format!(
                "size limit: this nested zip ({}) does not fit in the memory allowed for nested \
                 zips ({} left of {}, limit: max_nested_zip_in_memory); extract it and pass it \
                 to padtriage as a separate file",
                fmt_bytes(size),
                fmt_bytes(max_mem.saturating_sub(used_mem)),
                fmt_bytes(max_mem)
            ))
        } else {
            self.charge(size).err()
        };
        if let Some(why) = refuse {
            self.skip(path, FileKind::Zip, size, why, problems);
            return;
        }
        let mut buf = Vec::new();
        let loaded = buf
            .try_reserve_exact(usize::try_from(size).unwrap_or(usize::MAX))
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))
            .and_then(|_| src.seek(SeekFrom::Start(member.data_start)))
            .and_then(|_| member.reader(&mut *src).read_to_end(&mut buf));
        if let Err(err) = loaded {
            let why = format!("damaged nested zip ({err}); its contents were not read");
            self.skip(path, FileKind::Zip, size, why, problems);
            return;
        }
        self.budget.nested_in_memory += size;
        for p in problems {
            self.problems.push(Problem {
                at: Some(path.clone()),
                ..p
            });
        }
        let container = Arc::new(Container::Memory(buf.into()));
        self.walk_zip(container, &path, depth + 1, size);
    }
}

/// One zip's length and what its entries read so far expand to, for the archive-wide ratio.
struct ZipSpend {
    len: u64,
    expanded: u64,
}

/// Up to [`SNIFF_LEN`] leading bytes.
fn read_head(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    r.take(SNIFF_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

fn io_reason(e: &io::Error, path: &Path) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "permission denied: cannot read {}; give your account read access or copy the \
             bundle to a folder you own",
            path.display()
        ),
        _ => format!("cannot be read: {e}"),
    }
}

/// Symbolic links met while walking are never followed: one leading out of the bundle could
/// pull in any file of this machine, and one leading inside points at something read in its own
/// place (or at a folder containing it: a loop).
fn symlink_reason(link: &Path, dir: &Path, root: &Root) -> String {
    let target = match fs::canonicalize(link) {
        Ok(t) => t,
        Err(_) if is_link_loop(link) => {
            return "symbolic link loop (the link leads back to itself); not followed".into()
        }
        Err(_) => {
            let to = fs::read_link(link)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            return format!("broken symbolic link (target {to} does not exist); not followed");
        }
    };
    if !target.starts_with(&root.canon) {
        return format!(
            "symbolic link to {}, outside the bundle; not followed",
            target.display()
        );
    }
    let shown = root.display_of(&target);
    if target.is_dir() && dir.starts_with(&target) {
        format!(
            "symbolic link loop: points back to the folder \"{shown}\", which contains it; \
             not followed"
        )
    } else {
        format!("symbolic link to \"{shown}\" inside the bundle, which is read there; not followed")
    }
}

/// True when following `link` goes round in circles (canonicalize gave up on it).
fn is_link_loop(link: &Path) -> bool {
    let mut seen = HashSet::new();
    let mut cur = link.to_path_buf();
    for _ in 0..40 {
        let Ok(next) = fs::read_link(&cur) else {
            return false;
        };
        let next = match cur.parent() {
            Some(parent) if next.is_relative() => parent.join(next),
            _ => next,
        };
        if !seen.insert(normalise(&next)) {
            return true;
        }
        cur = next;
    }
    true
}
