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

/// Where a streaming parser hands the events it keeps, while it reads, so a log is never held
/// whole. Events come in batches; a batch's number gives its place in the file's read order
/// (batches may arrive out of order, from several threads at once).
pub trait EventSink: Sync {
    fn take(&self, batch: u64, events: Vec<crate::model::Event>);
}

/// A sink that keeps every batch, for callers that want a file's events in memory.
#[derive(Default)]
pub struct Collect(std::sync::Mutex<Vec<(u64, Vec<crate::model::Event>)>>);

impl EventSink for Collect {
    fn take(&self, batch: u64, events: Vec<crate::model::Event>) {
        if !events.is_empty() {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((batch, events));
        }
    }
}

impl Collect {
    /// The batches, by batch number.
    pub fn into_batches(self) -> Vec<(u64, Vec<crate::model::Event>)> {
        let mut b = self.0.into_inner().unwrap_or_else(|p| p.into_inner());
        b.sort_by_key(|(n, _)| *n);
        b
    }

    /// Every event, in read order.
    pub fn into_events(self) -> Vec<crate::model::Event> {
        self.into_batches()
            .into_iter()
            .flat_map(|(_, e)| e)
            .collect()
    }
}
