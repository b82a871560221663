//! Evidence sources: one seam per kind of evidence. A source owns everything about its
//! evidence: recognising its files ([`Format`]) or its Windows event channel, reading bytes into
//! typed [`Event`]s with a source pointer, the kind labels and one-line summaries of its events,
//! and the named values it offers to rules ([`Family`]). [`registry`] lists them all; the other
//! stages ask the registry and know no source by name.
//!
//! Parsers never stop on bad input: a damaged record or line is counted and described in the
//! file's [`FileReport`], and reading goes on.
//!
//! Layout: `security`, `aad`, `device_registration`, `service`, `terminal_services` are Windows
//! event channels (read from `evtx` logs and `event_xml` exports through `windows_event`);
//! `dsregcmd`, `padlog` and `run_records` are text formats of their own (a dsregcmd dump is
//! also an event family of its own: one timeline entry per dump).

pub mod aad;
pub mod detect;
pub mod device_registration;
pub mod dsregcmd;
pub mod event_xml;
pub mod evtx;
pub mod padlog;
pub mod registry;
pub mod run_records;
pub mod security;
pub mod service;
pub mod terminal_services;
pub mod text;
pub mod windows_event;

pub use registry::{EventData, FamilyId};

use crate::identity::Identity;
use crate::model::{
    EventFilter, Fields, FileKind, FileReport, SourceRef, Text, Time, TimeBasis, UserScope,
};
use serde::Serialize;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use windows_event::RawEvent;

/// One piece of timed evidence, with the scope it belongs to: the machine it was recorded on
/// and how its time is known.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub time: Time,
    /// How the time's zone was known (`Assumed` for a text time without zone).
    pub time_basis: TimeBasis,
    pub source: SourceRef,
    /// The machine the event names as where it was recorded (a Windows event's `Computer`, a
    /// PAD entry's machine name, a run record's machine), as written; `None` when it names none.
    pub machine: Option<Text>,
    #[serde(flatten)]
    pub data: EventData,
}

impl Event {
    /// A stable, short label for the event's kind: `security.4625`, `pad.error`.
    pub fn kind(&self) -> String {
        let mut s = String::with_capacity(16);
        self.data.write_kind(&mut s);
        s
    }

    /// One line a person can read.
    pub fn summary(&self) -> String {
        let mut s = String::with_capacity(128);
        self.data.write_summary(&mut s);
        s
    }

    /// The account the event is about, when it names one.
    pub fn user(&self) -> Option<Identity> {
        self.data.user()
    }

    /// The machine the event names, as a comparable [`host_key`](crate::identity::host_key).
    pub fn host(&self) -> Option<String> {
        self.machine.as_deref().and_then(crate::identity::host_key)
    }

    /// Why the event, by its own content, is not the run's connection attempt on this machine
    /// (a logon from another host, a service logon), when it is not.
    pub fn foreign(&self, machine: Option<&str>) -> Option<String> {
        self.data.foreign(machine)
    }
}

/// One kind of evidence: its payload and what the later stages need to know about it. Every
/// method is static: the registry dispatches on [`EventData`]'s variant with no vtable.
pub trait Family {
    /// What an event of this family carries.
    type Payload: std::fmt::Debug + Clone + Serialize;
    /// Rule family and kind prefix: `security` in `security.4625`.
    const NAME: &'static str;
    /// The evidence source it counts as, for coverage and what to collect (`security`,
    /// `system`, `pad_log`, ...).
    const SOURCE: &'static str;
    /// The field names rules may use on its facts (the rule vocabulary).
    const FIELDS: &'static [&'static str];
    /// Whose evidence a rule item about this family is, unless the rule says otherwise.
    const USER_SCOPE: UserScope = UserScope::Any;
    /// The Windows event channel it is read from, for Windows events (compared without case).
    const CHANNEL: Option<&'static str> = None;
    /// Selection looks at the provider too (read only then, for speed).
    const BY_PROVIDER: bool = false;
    /// The mapper reads the System header's `Computer`.
    const NEEDS_COMPUTER: bool = false;
    /// The mapper reads the System header's `Security/@UserID`.
    const NEEDS_USER_ID: bool = false;

    /// Whether a record of the family's channel with this provider and event id is kept.
    /// Cheap: readers ask before building any string of the record.
    fn select(_provider: Option<&str>, _event_id: u32) -> bool {
        false
    }

    /// The payload of a selected Windows event; `None` drops it (counted as ignored).
    fn from_raw(_raw: &RawEvent<'_>) -> Option<Self::Payload> {
        None
    }

    /// The kind label after `NAME.`: `4625`, `error`, `flow_session`.
    fn kind(p: &Self::Payload, out: &mut String);

    /// One line a person can read, appended to `out`.
    fn summary(p: &Self::Payload, out: &mut String);

    /// The account the event is about, when it names one.
    fn user(_p: &Self::Payload) -> Option<Identity> {
        None
    }

    /// The named values rules match on (names from [`Family::FIELDS`]).
    fn facts(p: &Self::Payload, f: &mut Fields);

    /// Why an event, by its own content, is not the connection's attempt on `machine` (a
    /// [`host_key`](crate::identity::host_key), when known): a logon from another host, a
    /// service logon. Such evidence is shown as context and never counted for a run.
    fn foreign(_p: &Self::Payload, _machine: Option<&str>) -> Option<String> {
        None
    }
}

/// A file format: how its files are recognised and read.
pub trait Format {
    const KIND: FileKind;
    /// The evidence source its files provide; `None` for containers of Windows events, whose
    /// records' channels decide.
    const SOURCE: Option<&'static str> = None;
    /// Its files record events as they happen, so a file's time range says which minutes it
    /// covers (absence of an event there can mean something). Snapshots and exports of run
    /// records are not logs.
    const LOG: bool = true;

    /// Recognise the format from a file's first bytes (binary formats).
    fn detect_bytes(_head: &[u8]) -> bool {
        false
    }

    /// Recognise the format from the start of a file decoded as text.
    fn detect_text(_text: &str) -> bool {
        false
    }

    /// Read a file from a stream, handing kept events to `sink` (or returning them in
    /// [`Parsed::events`] for small whole-file formats).
    fn read(r: Box<dyn Read + Send + '_>, ctx: &ReadCtx, sink: &dyn EventSink) -> Parsed;

    /// Read a file on disk by position, when the format can do better than a stream.
    fn read_file(_file: &std::fs::File, _ctx: &ReadCtx, _sink: &dyn EventSink) -> Option<Parsed> {
        None
    }
}

/// What a parser returns for one file.
#[derive(Debug)]
pub struct Parsed {
    pub report: FileReport,
    pub events: Vec<Event>,
    /// A dsregcmd file's dumps, one snapshot each, in file order.
    pub snapshots: Vec<dsregcmd::DsregSnapshot>,
}

impl Parsed {
    pub fn new(report: FileReport) -> Self {
        Parsed {
            report,
            events: Vec::new(),
            snapshots: Vec::new(),
        }
    }
}

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
    /// Where the reader reports the bytes it got through, when someone shows progress.
    pub progress: Option<&'a FileProgress<'a>>,
}

impl ReadCtx<'_> {
    /// `bytes` more of the file were read (an EVTX chunk, a batch of lines). Readers call it
    /// every 64 KiB or so, not per record: it is an atomic add.
    pub fn advance(&self, bytes: u64) {
        if let Some(p) = self.progress {
            p.add(bytes);
        }
    }
}

/// How far the reading of a command's inputs got, in bytes, for a progress display: readers
/// add to it as they go (through their file's [`FileProgress`]), the display reads it.
#[derive(Debug, Default)]
pub struct ReadProgress {
    bytes: AtomicU64,
    /// The file a reader started last, for the display.
    current: Mutex<Option<Arc<str>>>,
}

impl ReadProgress {
    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The display path of the file a reader started last.
    pub fn current(&self) -> Option<Arc<str>> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// One file's part of a [`ReadProgress`]. It keeps what the file's reader reported so that
/// whatever the reader did not report (whole-file readers report nothing, a damaged chunk is
/// not read) is counted once the file is done, and the total comes out exact.
#[derive(Debug)]
pub struct FileProgress<'a> {
    all: &'a ReadProgress,
    done: AtomicU64,
}

impl<'a> FileProgress<'a> {
    /// A file (display path `file`) starts being read.
    pub fn start(all: &'a ReadProgress, file: &str) -> Self {
        *all.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::from(file));
        FileProgress {
            all,
            done: AtomicU64::new(0),
        }
    }

    fn add(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
        self.all.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The file of `size` bytes is done: count what its reader did not report.
    pub fn finish(&self, size: u64) {
        let rest = size.saturating_sub(self.done.load(Ordering::Relaxed));
        if rest > 0 {
            self.add(rest);
        }
    }
}

/// A reader that reports the bytes taken from it to [`ReadCtx::advance`] every 64 KiB, and the
/// rest when dropped: progress for readers that go line by line or element by element.
pub struct Counted<'c, R> {
    inner: R,
    ctx: &'c ReadCtx<'c>,
    pending: u64,
}

impl<'c, R> Counted<'c, R> {
    const REPORT_EVERY: u64 = 64 << 10;

    pub fn new(inner: R, ctx: &'c ReadCtx<'c>) -> Self {
        Counted {
            inner,
            ctx,
            pending: 0,
        }
    }

    fn tally(&mut self, n: usize) {
        self.pending += n as u64;
        if self.pending >= Self::REPORT_EVERY {
            self.ctx.advance(std::mem::take(&mut self.pending));
        }
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tally(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.tally(n);
    }
}

impl<R> Drop for Counted<'_, R> {
    fn drop(&mut self) {
        if self.pending > 0 {
            self.ctx.advance(self.pending);
        }
    }
}

/// Where a streaming parser hands the events it keeps, while it reads, so a log is never held
/// whole. Events come in batches; a batch's number gives its place in the file's read order
/// (batches may arrive out of order, from several threads at once).
pub trait EventSink: Sync {
    fn take(&self, batch: u64, events: Vec<Event>);

    /// Whether the sink takes batches with their texts held once ([`Pooled`]), as the EVTX
    /// reader can give them: then Security events are not built with texts of their own.
    fn pooled(&self) -> bool {
        false
    }

    /// A batch with its texts held once; by default made into events for [`EventSink::take`].
    fn take_pooled(&self, batch: u64, events: Pooled) {
        self.take(batch, events.into_events());
    }
}

/// A batch of kept events whose Security events hold their texts in a table of the batch, each
/// text once: a chunk's events name the same machine, domains and accounts again and again.
#[derive(Debug)]
pub struct Pooled {
    /// The file the events are from.
    pub file: Arc<str>,
    pub texts: Vec<Text>,
    /// In read order.
    pub events: Vec<Kept>,
}

/// A kept event of a [`Pooled`] batch (an event of its own is boxed: it is the rarer, and
/// several times the size).
#[derive(Debug)]
pub enum Kept {
    Event(Box<Event>),
    Security(PooledSecurity),
}

/// A Security event of a log whose texts are numbers in its batch's texts. Its time is UTC (an
/// EVTX record's), its position a record id.
#[derive(Debug)]
pub struct PooledSecurity {
    pub time: Time,
    pub record: u64,
    pub machine: Option<u32>,
    pub data: security::SecurityEvent<u32>,
}

impl Pooled {
    /// The batch's events with texts of their own.
    pub fn into_events(self) -> Vec<Event> {
        let Pooled {
            file,
            texts,
            events,
        } = self;
        let text = |n: u32| {
            texts
                .get(n as usize)
                .cloned()
                .unwrap_or_else(|| Text::from(""))
        };
        events
            .into_iter()
            .map(|k| match k {
                Kept::Event(e) => *e,
                Kept::Security(s) => Event {
                    time: s.time,
                    time_basis: TimeBasis::Utc,
                    source: SourceRef {
                        file: Arc::clone(&file),
                        loc: crate::model::Loc::Record(s.record),
                    },
                    machine: s.machine.map(text),
                    data: EventData::Security(s.data.map(text)),
                },
            })
            .collect()
    }
}

/// A sink that keeps every batch, for callers that want a file's events in memory.
#[derive(Default)]
pub struct Collect(std::sync::Mutex<Vec<(u64, Vec<Event>)>>);

impl EventSink for Collect {
    fn take(&self, batch: u64, events: Vec<Event>) {
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
    pub fn into_batches(self) -> Vec<(u64, Vec<Event>)> {
        let mut b = self.0.into_inner().unwrap_or_else(|p| p.into_inner());
        b.sort_by_key(|(n, _)| *n);
        b
    }

    /// Every event, in read order.
    pub fn into_events(self) -> Vec<Event> {
        self.into_batches()
            .into_iter()
            .flat_map(|(_, e)| e)
            .collect()
    }
}
