//! The bundle: walking directories and (nested) zips, sniffing each file's kind by content,
//! read-only access, resource limits, and per-file problems. Knows nothing of what a file means.
// TEMP STUB (replaced by the bundle branch)
use crate::model::{FileKind, FileReport, Time};
#[derive(Debug, Default)]
pub struct Limits;
#[derive(Debug)]
pub struct Input {
    pub path: String,
    pub kind: FileKind,
    pub size: u64,
    pub mtime: Option<Time>,
}
impl Input {
    pub fn open(&self) -> std::io::Result<Box<dyn std::io::Read + Send + '_>> {
        Err(std::io::Error::other("stub"))
    }
}
#[derive(Debug)]
pub struct Bundle {
    pub root: String,
    pub inputs: Vec<Input>,
    pub skipped: Vec<FileReport>,
}
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct BundleError;
pub fn open_bundle(_p: &[std::path::PathBuf], _l: &Limits) -> Result<Bundle, BundleError> {
    Err(BundleError)
}
