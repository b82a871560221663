//! `scan --format html -o FILE`: FILE is the fleet page (the scan's summary, then a row per
//! bundle), and each bundle analysed in the scan has its own page, exactly `analyze --format
//! html`'s, in a folder beside FILE (`scan.html` and `scan-bundles/`), linked relatively so that
//! the two can be zipped and mailed together.
//!
//! Both are written as other outputs are, whole or not at all: the pages into a temporary folder
//! beside FILE, the fleet page into a temporary file; at the end the folder takes its name (a
//! previous scan's folder, recognised by its marker file, is replaced; any other folder of that
//! name is left alone and the scan refused), then the fleet page takes FILE's. Neither is ever
//! inside a bundle of the scan.

use super::engine::absolute;
use super::ScanError;
use crate::report::html::{self, FleetAnswer, FleetEntry, FleetSummary};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file that marks a pages folder as padtriage's, so that a later scan may replace it.
pub const MARKER: &str = ".padtriage-scan-pages";

/// One bundle of the scan, for the fleet page.
pub struct Entry<'a> {
    /// The bundle's absolute path: the pages must not be inside it.
    pub abs_path: &'a str,
    /// How the fleet page names it.
    pub label: String,
    /// What became of it, in a few words.
    pub status: String,
    pub answers: Vec<FleetAnswer>,
    /// Its page, when it was analysed in this scan.
    pub page: Option<Vec<u8>>,
}

/// The fleet page and the bundles' pages, being written.
pub struct Pages {
    file: PathBuf,
    /// The pages' folder once complete, and its name as linked from the fleet page.
    folder: PathBuf,
    folder_name: String,
    /// Where the pages are written meanwhile.
    tmp: tempfile::TempDir,
    taken: HashSet<String>,
    entries: Vec<FleetEntry>,
}

/// The pages' folder for the fleet page `file`: `scan.html` gets `scan-bundles`.
pub fn folder_for(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty() && s != "." && s != "..")
        .unwrap_or_else(|| "padtriage".into());
    file.with_file_name(format!("{stem}-bundles"))
}

/// A page's file name from the bundle's label: its last part, in characters that need no
/// escaping anywhere (`RPA-VM01.zip` gives `RPA-VM01.zip.html`).
fn page_name(label: &str) -> String {
    let last = label
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let mut name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    name = name.trim_start_matches('.').to_string();
    if name.is_empty() {
        name = "bundle".into();
    }
    name
}

impl Pages {
    /// Ready to write the fleet page `file` and its folder; refused when that folder exists
    /// and is not a previous scan's.
    pub fn new(file: &Path) -> Result<Pages, String> {
        let folder = folder_for(file);
        check_replaceable(&folder)?;
        let parent = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".padtriage-scan-")
            .suffix(".tmp")
            .tempdir_in(parent)
            .map_err(|e| {
                format!(
                    "{}: cannot create the folder of the bundles' pages here ({e}); check the \
                     folder exists and is writable",
                    parent.display()
                )
            })?;
        std::fs::write(tmp.path().join(MARKER), b"padtriage scan pages\n").map_err(|e| {
            format!(
                "{}: cannot write in this folder ({e}); check it is writable",
                parent.display()
            )
        })?;
        let folder_name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Pages {
            file: file.to_path_buf(),
            folder,
            folder_name,
            tmp,
            taken: HashSet::new(),
            entries: Vec::new(),
        })
    }

    /// The pages' folder, once complete.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// A bundle of the scan: its row on the fleet page, and its own page when it has one.
    pub fn add(&mut self, e: Entry) -> Result<(), ScanError> {
        let bundle = Path::new(e.abs_path);
        for out in [&self.file, &self.folder] {
            if Path::new(&absolute(out)).starts_with(bundle) {
                return Err(ScanError::Other(format!(
                    "the output {} is inside the bundle {}: padtriage never writes into a \
                     bundle; give -o a file outside it",
                    out.display(),
                    e.abs_path
                )));
            }
        }
        let link = match &e.page {
            None => None,
            Some(page) => {
                let name = self.unique(&page_name(&e.label));
                std::fs::write(self.tmp.path().join(&name), page).map_err(ScanError::Output)?;
                Some(format!("{}/{name}", self.folder_name))
            }
        };
        self.entries.push(FleetEntry {
            label: e.label,
            status: e.status,
            answers: e.answers,
            link,
        });
        Ok(())
    }

    /// `name.html`, or `name-2.html`... when a page of that name (in any case) is taken.
    fn unique(&mut self, base: &str) -> String {
        let mut n = 1;
        loop {
            let name = if n == 1 {
                format!("{base}.html")
            } else {
                format!("{base}-{n}.html")
            };
            if self.taken.insert(name.to_lowercase()) {
                return name;
            }
            n += 1;
        }
    }

    /// Write the fleet page with this summary, and give both their names.
    pub fn finish(mut self, summary: &FleetSummary) -> Result<(), String> {
        let saved = |e: std::io::Error| {
            format!(
                "{}: the fleet page could not be saved ({e})",
                self.file.display()
            )
        };
        self.entries.sort_by(|a, b| a.label.cmp(&b.label));
        let parent = self.tmp.path().parent().unwrap_or(Path::new("."));
        let mut page = tempfile::Builder::new()
            .prefix(".padtriage-scan-")
            .suffix(".tmp")
            .tempfile_in(parent)
            .map_err(saved)?;
        {
            let mut w = std::io::BufWriter::new(page.as_file_mut());
            html::fleet(summary, &self.entries, &mut w).map_err(saved)?;
            w.flush().map_err(saved)?;
        }
        page.as_file().sync_all().map_err(saved)?;
        // A previous scan's folder steps aside first, and is removed once the new one is in.
        check_replaceable(&self.folder)?;
        let old = if self.folder.exists() {
            let aside = self.folder.with_file_name(format!(
                ".padtriage-scan-old-{}-{}",
                std::process::id(),
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
            ));
            std::fs::rename(&self.folder, &aside).map_err(|e| {
                format!(
                    "{}: the previous scan's pages could not be moved aside ({e})",
                    self.folder.display()
                )
            })?;
            Some(aside)
        } else {
            None
        };
        let tmp = self.tmp.keep();
        std::fs::rename(&tmp, &self.folder).map_err(|e| {
            format!(
                "{}: the bundles' pages could not be saved ({e}); they are in {}",
                self.folder.display(),
                tmp.display()
            )
        })?;
        page.persist(&self.file).map_err(|e| saved(e.error))?;
        if let Some(old) = old {
            // Only the old pages are lost if this fails; say nothing about a leftover.
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(())
    }
}

/// A folder of that name may be written: it does not exist, or a previous scan made it.
fn check_replaceable(folder: &Path) -> Result<(), String> {
    if !folder.exists() || folder.join(MARKER).is_file() {
        return Ok(());
    }
    Err(format!(
        "{}: this folder exists and is not a previous scan's pages; the bundles' pages go into \
         a folder of that name beside the fleet page: move it, or give -o another file name",
        folder.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_are_plain_and_folders_sit_beside_the_page() {
        assert_eq!(page_name("inbox/RPA-VM01.zip"), "RPA-VM01.zip");
        assert_eq!(page_name("inbox\\case 12/"), "case_12");
        assert_eq!(page_name("../.."), "bundle");
        assert_eq!(page_name("a/<b>"), "_b_");
        assert_eq!(
            folder_for(Path::new("out/scan.html")),
            Path::new("out/scan-bundles")
        );
        assert_eq!(folder_for(Path::new("x")), Path::new("x-bundles"));
    }
}
