//! A bundle's identity: what it is (a folder, a zip, a single file), its size, when it last
//! changed and a hash of its content. A rescan compares size and modification time first and
//! hashes only when they differ, so an unchanged inbox is checked with metadata alone.
//!
//! The content hash is XXH64 with seed 42, written `xxh64:` and 16 hex digits: fast (the bytes
//! cost a few milliseconds per 20 MB bundle) and exactly what Spark's `xxhash64()` computes, so
//! the Spark job (`integrations/spark/`) reaches the same identity without running padtriage.
//! For a file (a zip) it is the hash of its bytes; for a folder, the hash of its listing: one
//! line `relative/path\tsize\thash\n` per regular file (path `/`-separated, hash of its bytes as
//! 16 hex digits), the lines sorted bytewise. Symbolic links are not followed (the bundle walk
//! does not read them either).

use serde::Serialize;
use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::SystemTime;
use xxhash_rust::xxh64::Xxh64;

/// The seed Spark's `xxhash64()` uses.
const SEED: u64 = 42;

/// What a bundle is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleKind {
    Folder,
    Zip,
    /// A single evidence file given in a manifest.
    File,
}

impl BundleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleKind::Folder => "folder",
            BundleKind::Zip => "zip",
            BundleKind::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "folder" => Some(BundleKind::Folder),
            "zip" => Some(BundleKind::Zip),
            "file" => Some(BundleKind::File),
            _ => None,
        }
    }
}

/// What metadata alone says about a bundle: enough to tell that it has not changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: BundleKind,
    /// Bytes: the file's, or the sum of a folder's regular files.
    pub size: u64,
    /// Latest modification time, in nanoseconds since 1970: the file's, or the latest of a
    /// folder's files and sub-folders (a file removed or renamed changes its folder's).
    pub mtime_ns: i64,
    /// Regular files (1 for a file).
    pub files: u64,
}

/// Size, modification time and file count of the bundle at `path` (a symbolic link given as
/// the bundle itself is followed, as `analyze` follows it). Entries that cannot be read are
/// left out: the analysis reports them.
pub fn stat(path: &Path) -> io::Result<Stat> {
    let meta = fs::metadata(path)?;
    if !meta.is_dir() {
        let zip = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        return Ok(Stat {
            kind: if zip {
                BundleKind::Zip
            } else {
                BundleKind::File
            },
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
            files: 1,
        });
    }
    let mut st = Stat {
        kind: BundleKind::Folder,
        size: 0,
        mtime_ns: mtime_ns(&meta),
        files: 0,
    };
    walk_folder(path, &mut |_, meta| {
        st.mtime_ns = st.mtime_ns.max(mtime_ns(meta));
        if meta.is_file() {
            st.size += meta.len();
            st.files += 1;
        }
    })?;
    Ok(st)
}

/// The content hash of the bundle at `path` (see the module docs).
pub fn content_hash(path: &Path, kind: BundleKind) -> io::Result<String> {
    if kind != BundleKind::Folder {
        return Ok(format!("xxh64:{:016x}", hash_file(path)?));
    }
    let mut lines = Vec::new();
    let mut failed = None;
    walk_folder(path, &mut |rel, meta| {
        if meta.is_file() && failed.is_none() {
            match hash_file(&path.join(rel)) {
                Ok(h) => lines.push(format!("{}\t{}\t{h:016x}\n", rel, meta.len())),
                Err(e) => failed = Some(e),
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    lines.sort_unstable();
    let mut h = Xxh64::new(SEED);
    for l in &lines {
        h.update(l.as_bytes());
    }
    Ok(format!("xxh64:{:016x}", h.digest()))
}

fn hash_file(path: &Path) -> io::Result<u64> {
    let mut f = fs::File::open(path)?;
    let mut h = Xxh64::new(SEED);
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
    }
    Ok(h.digest())
}

/// Every entry under `root` (not following symbolic links), with its `/`-separated path relative
/// to `root`. An unreadable sub-folder is left out; an unreadable `root` is an error.
fn walk_folder(root: &Path, each: &mut dyn FnMut(&str, &fs::Metadata)) -> io::Result<()> {
    let mut stack = vec![String::new()];
    let mut first = true;
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if first => return Err(e),
            Err(_) => continue,
        };
        first = false;
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.file_type().is_symlink() {
                continue;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let child = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            each(&child, &meta);
            if meta.is_dir() {
                stack.push(child);
            }
        }
    }
    Ok(())
}

fn mtime_ns(meta: &fs::Metadata) -> i64 {
    let Ok(t) = meta.modified() else {
        return 0;
    };
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// A modification time in nanoseconds as RFC 3339 UTC with nanoseconds.
pub fn mtime_rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_sparks_xxhash64() {
        // spark.sql("select lower(hex(xxhash64(cast('abc' as binary))))") gives this.
        assert_eq!(
            xxhash_rust::xxh64::xxh64(b"abc", SEED),
            0x13c1_d910_7027_70e6
        );
    }

    #[test]
    fn a_folder_hash_follows_names_sizes_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("b");
        fs::create_dir_all(b.join("sub")).unwrap();
        fs::write(b.join("a.log"), b"abc").unwrap();
        fs::write(b.join("sub/x.log"), b"hello").unwrap();
        let h1 = content_hash(&b, BundleKind::Folder).unwrap();
        let st = stat(&b).unwrap();
        assert_eq!((st.kind, st.size, st.files), (BundleKind::Folder, 8, 2));
        // The listing is what a Spark job can build from its own listing.
        let lines = format!(
            "a.log\t3\t{:016x}\nsub/x.log\t5\t{:016x}\n",
            xxhash_rust::xxh64::xxh64(b"abc", SEED),
            xxhash_rust::xxh64::xxh64(b"hello", SEED)
        );
        let want = format!(
            "xxh64:{:016x}",
            xxhash_rust::xxh64::xxh64(lines.as_bytes(), SEED)
        );
        assert_eq!(h1, want);
        fs::write(b.join("sub/x.log"), b"hellO").unwrap();
        assert_ne!(content_hash(&b, BundleKind::Folder).unwrap(), h1);
        fs::rename(b.join("sub/x.log"), b.join("sub/y.log")).unwrap();
        assert_ne!(content_hash(&b, BundleKind::Folder).unwrap(), h1);
    }
}
