//! padtriage's test kit: an EVTX writer that encodes records the way Windows does, builders for
//! the events padtriage reads, the scenario corpus behind `samples/`, and a corpus of broken
//! inputs. Used by padtriage's tests, `samples/` generation, fuzz seeds and benches; a crate of
//! its own so the shipped library carries none of it. It does not depend on padtriage: what it
//! writes stands for what Windows and PAD write, not for what padtriage reads.

pub mod broken;
pub mod events;
pub mod evtx_writer;
pub mod scenarios;
mod writers;

/// A zip of `(name, bytes, modification time)` entries as .NET's `ZipArchive` writes them.
pub use writers::zip_archive::zip as dated_zip;

/// Copy the folder `src` and everything under it into `dst` (made if missing): how tests build
/// inboxes and bundles from `samples/`.
pub fn copy_dir(src: &std::path::Path, dst: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}
