//! The timeline stage: reads a bundle's inputs in parallel through their sources (`read`) and
//! puts every kept event in UTC order, by time, then file, then position: in memory ([`read`],
//! for `analyze`, which keeps only the minutes around each run), or held in a compact form as
//! the events are read, sorted in bounded memory and rendered line by line as they are written
//! ([`write_sorted`], for `timeline`; see the `compact` and `sorted` modules).

mod compact;
mod keep;
mod read;
mod sorted;

pub use keep::Keep;
pub use read::{read_input, read_input_to};

use crate::bundle::Bundle;
use crate::model::{EventFilter, FileKind, FileReport, Loc, SourceRef, Text, Time, TimeBasis};
use crate::sources::security::SecurityEvent;
use crate::sources::{self, Event, EventData, ReadProgress};
use rayon::prelude::*;
use read::{assemble, read_one, read_pass};
use std::io::{self, Write};
use std::sync::Arc;

/// Everything read from a bundle.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Kept events, ordered by time, then file, then position.
    pub events: Vec<Event>,
    pub snapshots: Vec<sources::dsregcmd::DsregSnapshot>,
    /// One report per input read, plus the bundle's skipped files.
    pub files: Vec<FileReport>,
    /// How the times of a file were read, when that needs saying (zone-less times), by file.
    pub time_notes: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Where readers count the bytes they read, for a progress display; one for every pass
    /// of a command, so its display runs once from 0 to the bundle's size.
    pub progress: Option<&'a ReadProgress>,
}

/// Which inputs a pass reads. `analyze` reads the small text sources first to find the runs,
/// then the event logs with a time filter around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    All,
    TextOnly,
    EventLogsOnly,
}

impl Pass {
    fn wants(self, kind: FileKind) -> bool {
        let event_log = sources::registry::is_event_log(kind);
        match self {
            Pass::All => true,
            Pass::TextOnly => !event_log,
            Pass::EventLogsOnly => event_log,
        }
    }
}

/// Read the inputs a pass selects, in parallel, and merge them in memory. For callers that keep
/// few events (`analyze` reads the event logs through a time filter); `timeline` output goes
/// through [`write_sorted`] instead.
pub fn read(bundle: &Bundle, filter: &EventFilter, pass: Pass, opts: ReadOptions) -> Timeline {
    let parsed = read_pass(bundle, pass, opts, |_, input, progress| {
        let sink = sources::Collect::default();
        let mut p = read_one(input, filter, opts.threads, progress, &sink);
        p.events = sink.into_events();
        p
    });
    let mut tl = assemble(bundle, pass, parsed);
    sort_events(&mut tl.events);
    tl
}

/// Renders events as output lines, newline included, appended to a buffer: a closure over an
/// [`Event`] does; a renderer can also take a Security event as its parts, its texts borrowed
/// ([`Render::security`]), which `write_sorted` holds that way.
pub trait Render: Sync {
    fn line(&self, ev: &Event, out: &mut Vec<u8>);

    /// A Security event's line from its parts. By default the event is built and rendered by
    /// [`Render::line`]; a renderer that renders the parts themselves must give the same bytes.
    fn security(&self, head: &Head, data: &SecurityEvent<&str>, out: &mut Vec<u8>) {
        let ev = Event {
            time: head.time,
            time_basis: head.time_basis,
            source: SourceRef {
                file: Arc::clone(head.file),
                loc: head.loc,
            },
            machine: head.machine.map(Text::from),
            data: EventData::Security(data.clone().map(Text::from)),
        };
        self.line(&ev, out);
    }

    /// Whether [`Render::security`]'s line is [`Render::security_edge`] (before), then
    /// [`Render::security_middle`], then [`Render::security_edge`] (after). `timeline` then
    /// renders each distinct middle once per batch: a log repeats the same logons over and over,
    /// with only their time and record number changed.
    fn splits_security(&self) -> bool {
        false
    }

    /// The part of a split Security line before its middle, or (`after`) after it: made from
    /// the head's time, time basis, file and position only.
    fn security_edge(&self, _head: &Head, _after: bool, _out: &mut Vec<u8>) {}

    /// The middle of a split Security line: made from the head's machine and time basis and the
    /// event's data only.
    fn security_middle(&self, _head: &Head, _data: &SecurityEvent<&str>, _out: &mut Vec<u8>) {}

    /// Whether the renderer must see every event as it is read ([`Render::seen`]), long before
    /// its line is rendered (in the last merge); the reader then hands over whole events.
    fn sees_events(&self) -> bool {
        false
    }

    /// Every event, as it is read (when [`Render::sees_events`]).
    fn seen(&self, _ev: &Event) {}
}

impl<F: Fn(&Event, &mut Vec<u8>) + Sync> Render for F {
    fn line(&self, ev: &Event, out: &mut Vec<u8>) {
        self(ev, out)
    }
}

/// What an event has besides its payload, borrowed.
pub struct Head<'a> {
    pub time: Time,
    pub time_basis: TimeBasis,
    pub file: &'a Arc<str>,
    pub loc: Loc,
    pub machine: Option<&'a str>,
}

impl<'a> Head<'a> {
    pub fn of(ev: &'a Event) -> Self {
        Head {
            time: ev.time,
            time_basis: ev.time_basis,
            file: &ev.source.file,
            loc: ev.source.loc,
            machine: ev.machine.as_deref(),
        }
    }
}

/// A renderer, as `write_sorted` takes it.
pub type RenderLine<'a> = &'a dyn Render;

/// Memory for held entries before `write_sorted` sorts them on disk (their texts, held once
/// for the whole timeline, may take a quarter more). A Security event takes about 75 bytes (its
/// sort key and its fields), so some 500,000 (a 700 MB Security log of logons) are sorted in
/// memory.
pub const SORT_BUDGET: usize = 40 << 20;

/// Read the inputs a pass selects and write every kept event to `out`, rendered by `render`,
/// in timeline order (time, then file, then position), in bounded memory whatever the bundle's
/// size: events are held in a compact form as they are read ([`compact`]: Security events as
/// their fields, others rendered by the thread that read them), sorted by
/// [`sorted::LineSorter`] (on disk past `budget` bytes), and rendered as they are written. The
/// returned timeline has the file reports and snapshots, and no events.
pub fn write_sorted(
    bundle: &Bundle,
    filter: &EventFilter,
    pass: Pass,
    opts: ReadOptions,
    render: RenderLine,
    budget: usize,
    out: &mut dyn Write,
) -> io::Result<Timeline> {
    write_kept(
        bundle,
        filter,
        &Keep::default(),
        pass,
        opts,
        render,
        budget,
        out,
    )
}

/// [`write_sorted`], writing only the events `keep` keeps: asked as each event is read, so what
/// it drops is never held.
#[allow(clippy::too_many_arguments)]
pub fn write_kept(
    bundle: &Bundle,
    filter: &EventFilter,
    keep: &Keep,
    pass: Pass,
    opts: ReadOptions,
    render: RenderLine,
    budget: usize,
    out: &mut dyn Write,
) -> io::Result<Timeline> {
    // Files compare by display path, as `sort_events` orders them.
    let mut by_path: Vec<usize> = (0..bundle.inputs.len()).collect();
    by_path.sort_by(|a, b| bundle.inputs[*a].path.cmp(&bundle.inputs[*b].path));
    let mut rank = vec![0u32; bundle.inputs.len()];
    let mut r = 0u32;
    for (n, i) in by_path.iter().enumerate() {
        if n > 0 && bundle.inputs[by_path[n - 1]].path != bundle.inputs[*i].path {
            r += 1;
        }
        rank[*i] = r;
    }
    let files: Vec<Arc<str>> = bundle
        .inputs
        .iter()
        .map(|i| Arc::from(i.path.as_str()))
        .collect();
    // The texts of the compact entries are held to the end, beside the entries: a quarter of
    // the memory at most.
    let entries = compact::Entries::new(&files, render, budget / 4);
    let sorter = sorted::LineSorter::new(budget, &entries);
    let parsed = read_pass(bundle, pass, opts, |i, input, progress| {
        let sink = LineSink {
            input: u32::try_from(i).unwrap_or(u32::MAX),
            file: rank[i],
            path: &input.path,
            keep: (!keep.keeps_all()).then_some(keep),
            render,
            entries: &entries,
            sorter: &sorter,
        };
        read_one(input, filter, opts.threads, progress, &sink)
    });
    sorter.finish(out)?;
    Ok(assemble(bundle, pass, parsed))
}

/// Puts a file's batches of events in compact form for the sorter.
struct LineSink<'a> {
    input: u32,
    file: u32,
    /// The input's display path, every event's file.
    path: &'a str,
    /// The filter, unless it keeps everything.
    keep: Option<&'a Keep>,
    render: RenderLine<'a>,
    /// Numbers the texts of compact entries.
    entries: &'a compact::Entries<'a>,
    sorter: &'a sorted::LineSorter<'a>,
}

impl LineSink<'_> {
    fn key(&self, batch: u64, idx: usize, time: crate::model::Time, loc: Loc) -> sorted::Key {
        let (loc_kind, loc) = match loc {
            Loc::Record(n) => (0, n),
            Loc::Line(n) => (1, n),
            Loc::Row(n) => (2, n),
        };
        sorted::Key {
            secs: time.timestamp(),
            nanos: time.timestamp_subsec_nanos(),
            file: self.file,
            loc_kind,
            loc,
            input: self.input,
            batch,
            idx: u32::try_from(idx).unwrap_or(u32::MAX),
        }
    }

    /// A batch's entry for `ev`: compact, or its line.
    fn entry(&self, ev: &Event, bytes: &mut Vec<u8>) {
        self.render.seen(ev);
        if !self.entries.encode(ev, self.path, bytes) {
            bytes.push(compact::LINE);
            self.render.line(ev, bytes);
        }
    }

    fn push(&self, mut b: sorted::Batch) {
        // Held until the end: only what is used (shrinking in place copies nothing).
        b.bytes.shrink_to_fit();
        self.sorter.push(b);
    }
}

/// End offset of the entry just written.
fn end(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

impl sources::EventSink for LineSink<'_> {
    fn take(&self, batch: u64, events: Vec<Event>) {
        let mut b = sorted::Batch {
            input: self.input,
            number: batch,
            // A Security event takes about 25 bytes.
            bytes: Vec::with_capacity(events.len() * 32),
            lines: Vec::with_capacity(events.len()),
        };
        for (idx, ev) in events.iter().enumerate() {
            if self.keep.is_some_and(|k| !k.event(ev)) {
                // Its identifiers are still gathered: the lines kept may name them too.
                self.render.seen(ev);
                continue;
            }
            self.entry(ev, &mut b.bytes);
            let key = self.key(batch, idx, ev.time, ev.source.loc);
            b.lines.push((key, end(&b.bytes)));
        }
        drop(events);
        self.push(b);
    }

    fn pooled(&self) -> bool {
        !self.render.sees_events()
    }

    fn take_pooled(&self, batch: u64, mut p: sources::Pooled) {
        if *p.file != *self.path {
            // Not the input's own events (no reader gives those): held as events are.
            return self.take(batch, p.into_events());
        }
        if let Some(keep) = self.keep {
            let texts = &p.texts;
            p.events.retain(|kept| match kept {
                sources::Kept::Security(s) => {
                    keep.security(s.machine, &s.data, |n| texts.get(n as usize))
                }
                sources::Kept::Event(ev) => keep.event(ev),
            });
        }
        let mut b = sorted::Batch {
            input: self.input,
            number: batch,
            bytes: Vec::with_capacity(p.events.len() * 32),
            lines: Vec::with_capacity(p.events.len()),
        };
        // The batch's texts get the timeline's numbers, once each.
        let numbers = self.entries.number_all(&p.texts);
        for (idx, kept) in p.events.iter().enumerate() {
            let key = match kept {
                sources::Kept::Security(s) => {
                    self.entries
                        .encode_pooled(s, &p.texts, &numbers, &mut b.bytes);
                    self.key(batch, idx, s.time, Loc::Record(s.record))
                }
                sources::Kept::Event(ev) => {
                    self.entry(ev, &mut b.bytes);
                    self.key(batch, idx, ev.time, ev.source.loc)
                }
            };
            b.lines.push((key, end(&b.bytes)));
        }
        drop(p.events);
        self.push(b);
    }
}

/// Order by time, then source, so output is the same on every run whatever the thread count.
pub fn sort_events(events: &mut [Event]) {
    events.par_sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.source.cmp(&b.source)));
}

/// Merge a second pass into a timeline.
pub fn merge(into: &mut Timeline, other: Timeline) {
    into.events.extend(other.events);
    into.snapshots.extend(other.snapshots);
    into.files.extend(other.files);
    sort_events(&mut into.events);
    into.files.sort_by(|a, b| a.path.cmp(&b.path));
}

/// Events within `[from, to]`.
pub fn window(events: &[Event], from: Time, to: Time) -> &[Event] {
    let start = events.partition_point(|e| e.time < from);
    let end = events.partition_point(|e| e.time <= to);
    &events[start..end.max(start)]
}
