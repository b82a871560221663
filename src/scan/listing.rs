//! Which bundles a scan covers, as a stream: each sub-folder or `.zip` of an inbox folder (in
//! the order the folder lists them, never all held at once), or each line of a manifest (a path
//! per line; blank lines and `#` comments skipped). Entries whose name starts with `.` are
//! hidden (editor and upload leftovers, the scan's own temporary files) and skipped; any other
//! file in an inbox is not a bundle and is counted as ignored.

use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// Where the list of bundles comes from.
pub enum Source {
    /// A folder whose sub-folders and zips are the bundles (a zip given here is one bundle).
    Inbox(PathBuf),
    /// A path per line; `name` is what messages call it (`-` is standard input).
    Manifest {
        name: String,
        lines: Box<dyn BufRead + Send>,
    },
}

/// One thing met while listing.
#[derive(Debug)]
pub enum Entry {
    /// A bundle to scan, by the path `analyze` would be given.
    Bundle(PathBuf),
    /// An inbox entry that is not a bundle (neither a folder nor a `.zip`).
    Ignored(PathBuf),
    /// The listing could not go on here: what and where, for people.
    Error(String),
}

/// Check that every source can be listed before anything is scanned (a mistyped inbox is a
/// usage error, not a scan of nothing).
pub fn check(sources: &[Source]) -> Result<(), String> {
    for s in sources {
        if let Source::Inbox(p) = s {
            match fs::metadata(p) {
                Ok(m) if m.is_dir() || is_zip_name(p) => {}
                Ok(_) => {
                    return Err(format!(
                        "{}: not a folder of bundles nor a .zip; give the inbox folder, or list \
                         bundle paths in a manifest (--manifest FILE)",
                        p.display()
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(format!(
                        "{}: not found; give the folder that holds the bundles",
                        p.display()
                    ))
                }
                Err(e) => {
                    return Err(format!(
                        "{}: cannot be read ({e}); check that your account may list it",
                        p.display()
                    ))
                }
            }
        }
    }
    Ok(())
}

/// The entries of every source, in turn, read as they are consumed.
pub fn entries(sources: Vec<Source>) -> impl Iterator<Item = Entry> + Send {
    sources
        .into_iter()
        .flat_map(|s| -> Box<dyn Iterator<Item = Entry> + Send> {
            match s {
                Source::Inbox(p) => Box::new(inbox(p)),
                Source::Manifest { name, lines } => Box::new(manifest(name, lines)),
            }
        })
}

fn is_zip_name(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

fn inbox(dir: PathBuf) -> impl Iterator<Item = Entry> + Send {
    enum State {
        Start,
        Reading(fs::ReadDir),
        Done,
    }
    let mut state = State::Start;
    std::iter::from_fn(move || loop {
        match &mut state {
            State::Start => {
                if !dir.is_dir() {
                    // A zip given as the inbox is one bundle.
                    state = State::Done;
                    return Some(Entry::Bundle(dir.clone()));
                }
                match fs::read_dir(&dir) {
                    Ok(r) => state = State::Reading(r),
                    Err(e) => {
                        state = State::Done;
                        return Some(Entry::Error(format!(
                            "{}: cannot list the folder ({e}); check that your account may read it",
                            dir.display()
                        )));
                    }
                }
            }
            State::Reading(r) => match r.next() {
                None => {
                    state = State::Done;
                }
                Some(Err(e)) => {
                    return Some(Entry::Error(format!(
                        "{}: listing stopped on an unreadable entry ({e})",
                        dir.display()
                    )))
                }
                Some(Ok(e)) => {
                    let name = e.file_name();
                    if name.to_string_lossy().starts_with('.') {
                        continue;
                    }
                    let path = dir.join(&name);
                    // Follows a symbolic link to a bundle, as `analyze` does for the path given.
                    let is_dir = fs::metadata(&path).is_ok_and(|m| m.is_dir());
                    return Some(if is_dir || is_zip_name(&path) {
                        Entry::Bundle(path)
                    } else {
                        Entry::Ignored(path)
                    });
                }
            },
            State::Done => return None,
        }
    })
}

fn manifest(
    name: String,
    mut lines: Box<dyn BufRead + Send>,
) -> impl Iterator<Item = Entry> + Send {
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    let mut done = false;
    std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        buf.clear();
        line_no += 1;
        match lines.read_until(b'\n', &mut buf) {
            Ok(0) => {
                done = true;
                return None;
            }
            Ok(_) => {}
            Err(e) => {
                done = true;
                return Some(Entry::Error(format!(
                    "{name}: the manifest could not be read past line {line_no} ({e})"
                )));
            }
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Some(Entry::Error(format!(
                "{name} line {line_no}: not UTF-8 text; write one bundle path per line"
            )));
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        return Some(Entry::Bundle(PathBuf::from(text)));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_lists_folders_and_zips_and_ignores_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("a")).unwrap();
        fs::write(dir.path().join("b.ZIP"), b"PK").unwrap();
        fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        fs::write(dir.path().join(".partial.zip"), b"x").unwrap();
        let mut got: Vec<String> = entries(vec![Source::Inbox(dir.path().to_path_buf())])
            .map(|e| match e {
                Entry::Bundle(p) => format!("bundle {}", p.file_name().unwrap().to_string_lossy()),
                Entry::Ignored(p) => {
                    format!("ignored {}", p.file_name().unwrap().to_string_lossy())
                }
                Entry::Error(e) => e,
            })
            .collect();
        got.sort();
        assert_eq!(got, ["bundle a", "bundle b.ZIP", "ignored notes.txt"]);
    }

    #[test]
    fn a_manifest_gives_a_path_per_line() {
        let text = "# nightly\n/a/b\n\n c d.zip\r\n";
        let got: Vec<PathBuf> = entries(vec![Source::Manifest {
            name: "-".into(),
            lines: Box::new(io::Cursor::new(text.as_bytes().to_vec())),
        }])
        .filter_map(|e| match e {
            Entry::Bundle(p) => Some(p),
            _ => None,
        })
        .collect();
        assert_eq!(got, [PathBuf::from("/a/b"), PathBuf::from(" c d.zip")]);
    }
}
