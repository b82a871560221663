//! Evidence sources: one parser per evidence kind, each turning a file's bytes into typed
//! [`Event`](crate::model::Event)s (or a [`DsregSnapshot`](crate::model::DsregSnapshot)) with a
//! source pointer, plus a [`FileReport`](crate::model::FileReport) of what could not be read.
//!
//! Parsers never stop on bad input: a damaged record or line is counted and described in the
//! report, and reading goes on.

pub mod dsregcmd;
pub mod event_xml;
pub mod evtx;
pub mod padlog;
pub mod run_records;
pub mod text;
pub mod windows_event;

use crate::model::{EventFilter, Time};
use std::sync::Arc;

/// What every parser gets besides the bytes.
#[derive(Debug, Clone)]
pub struct ReadCtx<'a> {
    /// Display path of the file inside the bundle; goes into every `SourceRef`.
    pub file: Arc<str>,
    pub size: u64,
    /// Modification time of the file (or zip entry), used when content carries no time.
    pub mtime: Option<Time>,
    pub filter: &'a EventFilter,
    /// Worker threads for parsers that parallelise inside a file (EVTX chunks). 0 = all cores.
    pub threads: usize,
}
