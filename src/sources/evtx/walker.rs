//! padtriage's own walk of a chunk's records, without the crate's record iterator: record
//! headers read in place, each record's template instance parsed in place ([`parse_instance`]),
//! its substitution values checked the way the crate would read them, and the fields padtriage
//! reads (channel, event id, provider, each `Data Name=`, ...) found through the template maps
//! ([`super::templates`]). Only records [`we::select`] wants get their strings built into a
//! [`RawEvent`] for [`we::to_event_data`], and text is decoded only when the mapper reads it.
//!
//! The walker checks everything the crate would reject: record headers, value types and sizes,
//! nested fragments, the chunk's string table. Anything else makes it give up on the chunk
//! (`None`), which then goes through [`super::fallback`].

use super::pooled::Pool;
use super::templates::{self, Cursor, Part, SharedTemplates, TemplateMap, Templates};
use super::{ChunkOutcome, Work, CHUNK_HEADER_SIZE};
use crate::model::Time;
use crate::sources::security::{Field, Fill};
use crate::sources::windows_event::{self as we, RawEvent, Value};
use crate::sources::{Kept, PooledSecurity};
use crate::time::Days;
use evtx::EvtxChunkHeader;
use std::borrow::Cow;
use std::rc::Rc;

/// Whether the crate can build this chunk's string cache (it fails the whole chunk when it
/// cannot): every name chain from the header's 64 buckets in bounds and valid UTF-16. Checked in
/// place, so the walker does not need the cache itself.
pub(super) fn string_table_ok(data: &[u8]) -> bool {
    let mut seen: Vec<usize> = Vec::new();
    for bucket in 0..64 {
        let at = 128 + 4 * bucket;
        let Some(first) = data.get(at..at + 4) else {
            return false;
        };
        let mut offset = u32::from_le_bytes([first[0], first[1], first[2], first[3]]) as usize;
        if offset == 0 {
            continue;
        }
        loop {
            seen.push(offset);
            let mut c = Cursor { data, pos: offset };
            let (Some(next), Some(_hash), Some(chars)) = (c.u32(), c.u16(), c.u16()) else {
                return false;
            };
            let Some(text) = c.bytes(usize::from(chars) * 2) else {
                return false;
            };
            if c.u16().is_none() {
                return false;
            }
            let units = text
                .chunks_exact(2)
                .map(|u| u16::from_le_bytes([u[0], u[1]]))
                .take_while(|u| *u != 0);
            if char::decode_utf16(units).any(|c| c.is_err()) {
                return false;
            }
            // A chain that links back to a string already read ends there, as in the crate.
            match next as usize {
                0 => break,
                n if seen.contains(&n) => break,
                n => offset = n,
            }
        }
    }
    true
}

/// The last text seen for a System field (channel, provider): logs repeat them record after
/// record, so they are decoded once.
#[derive(Default)]
struct TextCache {
    raw: Vec<u8>,
    text: String,
    set: bool,
    /// Bumped whenever the text changes, so callers can keep what they derived from it.
    generation: u64,
}

impl TextCache {
    fn get(&mut self, v: Option<&Value<'_>>) -> Option<&str> {
        match v? {
            Value::Utf16(b) => {
                if !self.set || self.raw != *b {
                    self.raw.clear();
                    self.raw.extend_from_slice(b);
                    self.text = we::decode_utf16le(b);
                    self.set = true;
                    self.generation += 1;
                }
            }
            other => {
                let t = other.text();
                if self.set || self.text != t {
                    self.text = t.into_owned();
                    self.raw.clear();
                    self.set = false;
                    self.generation += 1;
                }
            }
        }
        Some(&self.text)
    }
}

/// A parsed template instance: its template map (an index into the walk's [`Templates`]), its
/// values (a range of the walk's value buffer), the index of the substitution that holds it in
/// its parent, and its nested fragments: the first, each linking to the next (indices in the
/// walk's node buffer). Indices rather than references, so a record costs no allocation and no
/// reference count.
struct Node {
    map: usize,
    values: std::ops::Range<usize>,
    index: u16,
    first: usize,
    next: usize,
}

/// No node.
const NONE: usize = usize::MAX;

/// A parsed record's nodes resolved against the walk's templates and values.
#[derive(Clone, Copy)]
struct View<'a, 'c> {
    maps: &'a [Rc<TemplateMap>],
    values: &'a [(u8, &'c [u8])],
    nodes: &'a [Node],
}

impl<'a, 'c> View<'a, 'c> {
    fn map(&self, n: &Node) -> &'a TemplateMap {
        &self.maps[n.map]
    }

    fn values(&self, n: &Node) -> &'a [(u8, &'c [u8])] {
        &self.values[n.values.clone()]
    }

    /// The nested fragments of `n`.
    fn children(&self, n: &Node) -> impl Iterator<Item = &'a Node> + 'a {
        let nodes = self.nodes;
        std::iter::successors(nodes.get(n.first), move |c| nodes.get(c.next))
    }

    /// How many EventData/UserData pairs the instance and its fragments can hold.
    fn data_len(&self, n: &Node) -> usize {
        self.map(n).data.len() + self.children(n).map(|c| self.data_len(c)).sum::<usize>()
    }
}

/// Fragments nested deeper than this are left to the crate.
const MAX_NESTING: usize = 4;

/// Parse and check an instance the way the crate would build it: every value of a known type
/// and a consistent size, every nested fragment a template instance whose definition the walker
/// understands. `None` for anything else (the chunk then goes through the crate).
/// `bytes` is the instance's BinXML (a slice of `chunk`), held by substitution `index` of its
/// parent; its values go to `values`, its nodes to `nodes`, its own last. Returns that node's
/// index.
#[allow(clippy::too_many_arguments)]
fn node<'c>(
    chunk: &'c [u8],
    bytes: &'c [u8],
    values: &mut Vec<(u8, &'c [u8])>,
    nodes: &mut Vec<Node>,
    index: u16,
    prefix: &[String],
    templates: &mut Templates,
    shared: &SharedTemplates,
    depth: usize,
) -> Option<usize> {
    let start = values.len();
    let def_offset = parse_instance(chunk, bytes, values)?;
    let end = values.len();
    let map = templates::template(templates, shared, chunk, def_offset, prefix)?;
    let (mut first, mut last) = (NONE, NONE);
    for at in start..end {
        let (ty, b) = values[at];
        if ty != 0x21 {
            if !plausible_value(ty, b) {
                return None;
            }
            continue;
        }
        if depth >= MAX_NESTING {
            return None;
        }
        let index = u16::try_from(at - start).ok()?;
        // Where the fragment sits decides how its elements read; elsewhere it is only checked.
        // (The walk's own copy of the path: the map's is shared between threads, and counting
        // references to it from every record would have them contend for it.)
        let path = templates.paths[map]
            .iter()
            .find(|(i, _)| *i == index)
            .map_or_else(|| Rc::clone(&templates.unplaced), |(_, p)| Rc::clone(p));
        let child = node(
            chunk,
            b,
            values,
            nodes,
            index,
            &path,
            templates,
            shared,
            depth + 1,
        )?;
        match nodes.get_mut(last) {
            Some(prev) => prev.next = child,
            None => first = child,
        }
        last = child;
    }
    nodes.push(Node {
        map,
        values: start..end,
        index,
        first,
        next: NONE,
    });
    Some(nodes.len() - 1)
}

/// Whether the crate reads a value of this type and size without error, as it is.
fn plausible_value(ty: u8, b: &[u8]) -> bool {
    let n = b.len();
    match ty {
        0x00 | 0x02 | 0x0e => true,
        0x01 => n.is_multiple_of(2),
        0x03 | 0x04 => n == 1,
        0x05 | 0x06 => n == 2,
        0x07 | 0x08 | 0x0b | 0x0d | 0x14 => n == 4,
        0x09 | 0x0a | 0x0c | 0x11 | 0x15 => n == 8,
        0x0f | 0x12 => n == 16,
        0x10 => n == 4 || n == 8,
        // The crate reads the SID its count says and ignores what follows in the slot.
        0x13 => n >= 8 && n >= 8 + 4 * usize::from(b[1]),
        0x81 => n == 0 || (n.is_multiple_of(2) && b.ends_with(&[0, 0])),
        0x82 => true,
        0x83 | 0x84 => true,
        0x85 | 0x86 => n.is_multiple_of(2),
        0x87 | 0x88 | 0x8b | 0x94 => n.is_multiple_of(4),
        0x89 | 0x8a | 0x8c | 0x91 | 0x95 => n.is_multiple_of(8),
        0x8f | 0x92 => n.is_multiple_of(16),
        _ => false,
    }
}

/// Render a value of BinXML type `ty` (MS-EVEN6 2.2.18) as the crate renders it. Text and hex
/// stay undecoded until read.
fn raw_value(ty: u8, b: &[u8]) -> Option<Value<'_>> {
    let fixed = |n: usize| b.get(..n);
    let s = |s: String| Some(Value::Str(Cow::Owned(s)));
    match ty {
        0x00 => None,
        0x01 => Some(Value::Utf16(b)),
        0x02 => {
            let bytes: Vec<u8> = b.iter().copied().filter(|c| *c != 0).collect();
            s(encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(&bytes)
                .0
                .into_owned())
        }
        0x03 => Some(Value::Int(i64::from(*b.first()? as i8))),
        0x04 => Some(Value::UInt(u64::from(*b.first()?))),
        0x05 => Some(Value::Int(i64::from(i16::from_le_bytes(
            fixed(2)?.try_into().ok()?,
        )))),
        0x06 => Some(Value::UInt(u64::from(u16::from_le_bytes(
            fixed(2)?.try_into().ok()?,
        )))),
        0x07 => Some(Value::Int(i64::from(i32::from_le_bytes(
            fixed(4)?.try_into().ok()?,
        )))),
        0x08 => Some(Value::UInt(u64::from(u32::from_le_bytes(
            fixed(4)?.try_into().ok()?,
        )))),
        0x09 => Some(Value::Int(i64::from_le_bytes(fixed(8)?.try_into().ok()?))),
        0x0a => Some(Value::UInt(u64::from_le_bytes(fixed(8)?.try_into().ok()?))),
        0x0b => s(f32::from_le_bytes(fixed(4)?.try_into().ok()?).to_string()),
        0x0c => s(f64::from_le_bytes(fixed(8)?.try_into().ok()?).to_string()),
        0x0d => match i32::from_le_bytes(fixed(4)?.try_into().ok()?) {
            0 => Some(Value::Str(Cow::Borrowed("false"))),
            1 => Some(Value::Str(Cow::Borrowed("true"))),
            raw => Some(Value::Int(i64::from(raw))),
        },
        0x0e => {
            use std::fmt::Write;
            let mut hex = String::with_capacity(b.len() * 2);
            for x in b {
                let _ = write!(hex, "{x:02X}");
            }
            s(hex)
        }
        0x0f => Some(Value::Guid(fixed(16)?)),
        0x10 | 0x14 | 0x15 if b.len() == 4 => Some(Value::Hex(u64::from(u32::from_le_bytes(
            fixed(4)?.try_into().ok()?,
        )))),
        0x10 | 0x14 | 0x15 => Some(Value::Hex(u64::from_le_bytes(fixed(8)?.try_into().ok()?))),
        0x11 => {
            let ft = u64::from_le_bytes(fixed(8)?.try_into().ok()?);
            let t = filetime(ft)?;
            s(format!(
                "{}.{:07}Z",
                t.format("%Y-%m-%dT%H:%M:%S"),
                ft % 10_000_000
            ))
        }
        0x12 => {
            let w = |i: usize| Some(u16::from_le_bytes([*b.get(2 * i)?, *b.get(2 * i + 1)?]));
            s(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
                w(0)?,
                w(1)?,
                w(3)?,
                w(4)?,
                w(5)?,
                w(6)?,
                u32::from(w(7)?) * 10_000
            ))
        }
        0x13 => Some(Value::Sid(b)),
        // Arrays: their items, comma-joined.
        0x81 => s(b
            .chunks_exact(2)
            .collect::<Vec<_>>()
            .split(|u| *u == [0, 0])
            .filter(|item| !item.is_empty())
            .map(|item| we::decode_utf16le(&item.concat()))
            .collect::<Vec<_>>()
            .join(",")),
        _ => s(String::new()),
    }
}

/// FILETIME (100 ns since 1601) as UTC, if chrono can hold it.
fn filetime(ft: u64) -> Option<Time> {
    filetime_in(ft, &mut Days::default())
}

/// [`filetime`] for one of a run of times, mostly of the same day.
fn filetime_in(ft: u64, days: &mut Days) -> Option<Time> {
    let secs = i64::try_from(ft / 10_000_000).ok()? - 11_644_473_600;
    let nanos = u32::try_from((ft % 10_000_000) * 100).ok()?;
    days.time(secs, nanos)
}

/// The value of `parts` for one instance's substitution `values`. Literals borrow from the
/// template map, text from the chunk.
fn resolve<'x>(parts: &'x [Part], values: &[(u8, &'x [u8])]) -> Option<Value<'x>> {
    let sub = |i: &u16| {
        values
            .get(usize::from(*i))
            .and_then(|(ty, b)| raw_value(*ty, b))
    };
    match parts {
        [] => None,
        [Part::Lit(s)] => Some(Value::Str(Cow::Borrowed(s))),
        [Part::Sub(i)] => sub(i),
        _ => {
            let mut s = String::new();
            for p in parts {
                match p {
                    Part::Lit(l) => s.push_str(l),
                    Part::Sub(i) => {
                        if let Some(v) = sub(i) {
                            s.push_str(&v.text());
                        }
                    }
                }
            }
            Some(Value::Str(Cow::Owned(s)))
        }
    }
}

/// The EventData/UserData pairs of an instance and of the fragments nested in it, in the order
/// the maps list them.
fn collect_data<'x>(view: View<'x, 'x>, node: &Node, out: &mut Vec<(Cow<'x, str>, Value<'x>)>) {
    let map = view.map(node);
    let values = view.values(node);
    for (name, value) in &map.data {
        if let Some(v) = resolve(value, values) {
            let name = match resolve(name, values) {
                Some(Value::Str(s)) => s,
                Some(other) => Cow::Owned(other.text().into_owned()),
                None => Cow::Borrowed(""),
            };
            out.push((name, v));
        }
    }
    for op in &map.opaque {
        if let Some(child) = view.children(node).find(|c| c.index == op.index) {
            collect_data(view, child, out);
        }
    }
}

/// State of one walk over a chunk.
struct Walk<'w, 'c> {
    work: &'w Work<'w>,
    /// The texts of pooled Security events, and by template map (by its index in `templates`)
    /// which of its EventData values map to which Security field.
    pool: Pool<'c>,
    plans: Vec<Plan>,
    templates: Templates,
    channel: TextCache,
    provider: TextCache,
    /// The computer name of Security records: the same on every record of a log.
    computer: TextCache,
    /// The generation of `computer` last noted in the chunk's outcome.
    computer_noted: u64,
    /// The family of the current channel, if padtriage reads it (by channel generation).
    channel_family: Option<(u64, Option<we::Family>)>,
    /// The channel generation last noted in the chunk's channel list.
    channel_noted: u64,
    /// Oldest and newest record time, as FILETIME.
    first: u64,
    last: u64,
    /// The date of the last record time converted.
    days: Days,
}

/// Read a chunk's records without the crate's record iterator: record headers in place,
/// template instances parsed here, fields found through the template maps. `None` as soon as
/// anything is not as the walker expects: the caller then reads the chunk through the crate,
/// whose counts and errors are the reference.
pub(super) fn walk_chunk(
    work: &Work,
    number: u64,
    data: &[u8],
    header: &EvtxChunkHeader,
) -> Option<ChunkOutcome> {
    templates::with_cache(|shared| walk_chunk_with(work, number, data, header, shared))
}

fn walk_chunk_with(
    work: &Work,
    number: u64,
    data: &[u8],
    header: &EvtxChunkHeader,
    shared: &SharedTemplates,
) -> Option<ChunkOutcome> {
    let mut out = ChunkOutcome {
        number,
        // Most records of a Security chunk are kept.
        events: Vec::with_capacity(if work.pooled { 64 } else { 0 }),
        ..ChunkOutcome::default()
    };
    let mut w = Walk {
        work,
        pool: Pool::default(),
        plans: Vec::new(),
        templates: Templates::default(),
        channel: TextCache::default(),
        provider: TextCache::default(),
        computer: TextCache::default(),
        computer_noted: u64::MAX,
        channel_family: None,
        channel_noted: 0,
        first: u64::MAX,
        last: 0,
        days: Days::default(),
    };
    let mut values = Vec::with_capacity(64);
    let mut nodes = Vec::with_capacity(4);
    let live_end = (header.free_space_offset as usize).min(data.len());
    let mut offset = CHUNK_HEADER_SIZE;
    while offset < live_end {
        let mut c = Cursor { data, pos: offset };
        let magic = c.bytes(4)?;
        if magic != [0x2a, 0x2a, 0, 0] {
            // Zeroes where a record should start: the free space really starts here (the
            // header's offset is too large), unless a record follows (the crate then reports
            // the gap and resynchronises; leave that to it).
            let search_end = live_end.min(header.last_event_record_data_offset as usize + 4);
            let rest = data.get(offset + 1..search_end).unwrap_or_default();
            if magic == [0, 0, 0, 0] && !rest.windows(4).any(|w| w == [0x2a, 0x2a, 0, 0]) {
                break;
            }
            return None;
        }
        let size = c.u32()? as usize;
        let id = u64::from_le_bytes(c.bytes(8)?.try_into().ok()?);
        let ft = u64::from_le_bytes(c.bytes(8)?.try_into().ok()?);
        // The crate's limits: a record holds at least its header and size copy, within the chunk,
        // at a time its timestamps can hold (up to 9999-12-30T22:00Z: 265,046,680,800 s after
        // 1601).
        if size < 28
            || offset.checked_add(size - 4)? > data.len()
            || ft / 10_000_000 > 265_046_680_800
        {
            return None;
        }
        let stream = data.get(offset + 24..offset + size - 4)?;
        values.clear();
        nodes.clear();
        let root = node(
            data,
            stream,
            &mut values,
            &mut nodes,
            0,
            &[],
            &mut w.templates,
            shared,
            0,
        )?;
        w.record(&mut out, id, ft, root, &nodes, &values);
        if id == header.last_event_record_id {
            break;
        }
        offset += size;
    }
    // Times are converted once per chunk, and per record kept.
    if out.records > 0 {
        out.first = filetime(w.first);
        out.last = filetime(w.last);
    }
    out.texts = w.pool.texts;
    Some(out)
}

impl<'c> Walk<'_, 'c> {
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        out: &mut ChunkOutcome,
        id: u64,
        ft: u64,
        root: usize,
        nodes: &[Node],
        all_values: &[(u8, &'c [u8])],
    ) {
        out.records += 1;
        self.first = self.first.min(ft);
        self.last = self.last.max(ft);
        let view = View {
            maps: &self.templates.maps,
            values: all_values,
            nodes,
        };
        let node = &nodes[root];
        let map = view.map(node);
        let values = view.values(node);
        let present = self
            .channel
            .get(resolve(&map.channel, values).as_ref())
            .is_some();
        let generation = self.channel.generation;
        let channel = present.then_some(self.channel.text.as_str());
        if let Some(c) = channel.filter(|c| !c.is_empty()) {
            if self.channel_noted != generation {
                self.channel_noted = generation;
                if !out.channels.iter().any(|k| k == c) {
                    out.channels.push(c.to_string());
                }
            }
        }
        let Some(channel) = channel else {
            out.ignored += 1;
            return;
        };
        let channel_family = match self.channel_family {
            Some((seen, family)) if seen == generation => family,
            _ => {
                let family = super::super::registry::family_of_channel(channel);
                self.channel_family = Some((generation, family));
                family
            }
        };
        let Some(channel_family) = channel_family else {
            out.ignored += 1;
            return;
        };
        let Some(event_id) = resolve(&map.event_id, values).and_then(|v| v.as_u32()) else {
            out.ignored += 1;
            return;
        };
        // Only some channels' selection looks at the provider (System: the Service Control
        // Manager).
        let provider = if channel_family.by_provider() {
            self.provider.get(resolve(&map.provider, values).as_ref())
        } else {
            None
        };
        if !channel_family.select(provider, event_id) {
            out.ignored += 1;
            return;
        }
        let family = channel_family;
        out.see_kind(family, event_id);
        // The machine of every record read (a log names one, or a few after a rename), decoded
        // once whenever it changes; it scopes evidence to the run's machine.
        let has_computer = self
            .computer
            .get(resolve(&map.computer, values).as_ref())
            .is_some();
        if has_computer && self.computer_noted != self.computer.generation {
            self.computer_noted = self.computer.generation;
            out.see_computer(&self.computer.text);
        }
        let computer = has_computer.then_some(self.computer.text.as_str());
        let Some(time) =
            filetime_in(ft, &mut self.days).filter(|t| self.work.filter.keeps_time(*t))
        else {
            out.ignored += 1;
            return;
        };
        // A sink that holds texts once per chunk gets Security events with their texts as
        // numbers in the chunk's pool, filled straight from the substitution values.
        if self.work.pooled && family == we::Family::Security {
            let pool = &mut self.pool;
            let computer = text_number(COMPUTER_PLACE, &map.computer, values, pool);
            let mut fill = Fill::new(event_id, computer);
            if fill_security(view, node, &mut self.plans, pool, &mut fill) {
                let data = fill.finish();
                out.events.push(Kept::Security(PooledSecurity {
                    time,
                    record: id,
                    machine: data.computer,
                    data,
                }));
                return;
            }
        }
        let mut data = Vec::with_capacity(view.data_len(node));
        collect_data(view, node, &mut data);
        let computer = computer.map(Cow::Borrowed);
        // The user SID only for the families whose mapper reads it (AAD).
        let user_id = family
            .needs_user_id()
            .then(|| resolve(&map.user_id, values))
            .flatten()
            .map(|v| Cow::Owned(v.text().into_owned()));
        let raw = RawEvent {
            provider: provider.map(Cow::Borrowed),
            channel: Some(Cow::Borrowed(channel)),
            event_id,
            level: resolve(&map.level, values)
                .and_then(|v| v.as_u32())
                .and_then(|l| u8::try_from(l).ok()),
            computer,
            user_id,
            record_id: Some(id),
            time,
            time_basis: crate::model::TimeBasis::Utc,
            data,
        };
        out.keep(self.work, id, &raw);
    }
}

/// Which of a template map's EventData values go to which Security field, by their index in
/// its data: worked out once per map and chunk.
enum Plan {
    Unknown,
    Fields(Vec<(usize, Field)>),
    /// A name is not a literal of the template (so it may differ from record to record).
    Names,
}

fn plan(map: &TemplateMap) -> Plan {
    let mut fields = Vec::new();
    for (i, (name, _)) in map.data.iter().enumerate() {
        let mut text = String::new();
        for part in name {
            match part {
                Part::Lit(s) => text.push_str(s),
                Part::Sub(_) => return Plan::Names,
            }
        }
        if let Some(f) = Field::of(&text) {
            fields.push((i, f));
        }
    }
    Plan::Fields(fields)
}

/// The computer's place in the pool (fields take the places of their [`Field`] number).
const COMPUTER_PLACE: usize = super::pooled::PLACES - 1;

/// The number in `pool` of the cleaned text of the value `parts` make with `values`.
/// `place` tells the pool where the value is (a field, or the computer).
fn text_number<'c>(
    place: usize,
    parts: &[Part],
    values: &[(u8, &'c [u8])],
    pool: &mut Pool<'c>,
) -> Option<u32> {
    match parts {
        [Part::Sub(k)] => {
            let &(ty, b) = values.get(usize::from(*k))?;
            pool.intern(place, ty, b, || {
                raw_value(ty, b).and_then(|v| we::clean_text(&v))
            })
        }
        // (A value's cleaned text is that of its text, whatever its type.)
        _ => {
            let value = resolve(parts, values)?;
            let text = value.text();
            pool.intern_text(&text, || we::clean_str(&text))
        }
    }
}

/// Fill a Security event from the EventData of `node` and of the fragments nested in it, in
/// the order [`collect_data`] lists them (so with what `from_raw` would make of them), texts
/// numbered in `pool`. `false` when a template has no plan: the record then goes through
/// [`RawEvent`] as other families' do.
fn fill_security<'c>(
    view: View<'_, 'c>,
    node: &Node,
    plans: &mut Vec<Plan>,
    pool: &mut Pool<'c>,
    fill: &mut Fill<u32>,
) -> bool {
    let map = view.map(node);
    let values = view.values(node);
    if plans.len() <= node.map {
        plans.resize_with(node.map + 1, || Plan::Unknown);
    }
    if let Plan::Unknown = plans[node.map] {
        plans[node.map] = plan(map);
    }
    let Plan::Fields(fields) = &plans[node.map] else {
        return false;
    };
    for &(i, f) in fields {
        let Some((_, parts)) = map.data.get(i).filter(|_| fill.wants(f)) else {
            continue;
        };
        // A value that reads as nothing leaves the field empty, as an absent one does.
        if f.is_number() {
            fill.number(f, resolve(parts, values).and_then(|v| v.as_u32()));
        } else {
            fill.text(f, text_number(f as usize, parts, values, pool));
        }
    }
    for op in &map.opaque {
        if let Some(child) = view.children(node).find(|c| c.index == op.index) {
            if !fill_security(view, child, plans, pool, fill) {
                return false;
            }
        }
    }
    true
}

/// Parse a BinXML stream `bytes` (a slice of `chunk`: a record's, or a nested fragment) that is
/// one template instance: an optional fragment header, the TemplateInstance token, version,
/// template id, definition offset, the definition itself when it is stored right here (its first
/// use in the chunk), the substitution descriptors (size, type) and values, then nothing but an
/// end-of-stream token. `None` for any other shape. The raw (type, bytes) values are appended
/// to `values`; returns the definition offset.
fn parse_instance<'a>(
    chunk: &'a [u8],
    bytes: &'a [u8],
    values: &mut Vec<(u8, &'a [u8])>,
) -> Option<u32> {
    // Offsets in the fragment are chunk offsets, so read it in place.
    let start = (bytes.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
    let end = start.checked_add(bytes.len())?;
    let mut c = Cursor {
        data: chunk.get(..end)?,
        pos: start,
    };
    let mut token = c.u8()?;
    if token == 0x0f {
        c.bytes(3)?;
        token = c.u8()?;
    }
    if token != 0x0c {
        return None;
    }
    c.u8()?;
    c.u32()?; // template id
    let def_offset = c.u32()?;
    if c.pos == def_offset as usize {
        c.bytes(20)?; // next template offset, GUID
        let size = c.u32()? as usize;
        c.bytes(size)?;
    }
    let count = c.u32()? as usize;
    let descriptors = c.bytes(count.checked_mul(4)?)?;
    let size = |d: &[u8]| usize::from(u16::from_le_bytes([d[0], d[1]]));
    // Each value sliced off what is left of the instance, in one pass; a value that runs past
    // its end makes the instance unreadable.
    let all = c.data.get(c.pos..)?;
    let (mut rest, mut fits) = (all, true);
    values.extend(descriptors.chunks_exact(4).map(|d| {
        let (value, after) = rest.split_at_checked(size(d)).unwrap_or_else(|| {
            fits = false;
            (&[], rest)
        });
        rest = after;
        (d[2], value)
    }));
    c.pos += all.len() - rest.len();
    // What follows must be the end: more tokens would be content the walker does not see.
    if !fits || (c.pos < end && c.u8()? != 0x00) {
        return None;
    }
    Some(def_offset)
}

#[cfg(test)]
mod tests {
    use super::super::tests::real_evtx_dir;
    use super::super::{process_chunk, Path, RawChunk, Work, CHUNK_SIZE, FILE_HEADER_SIZE};
    use crate::model::EventFilter;
    use evtx::ParserSettings;
    use std::sync::Arc;

    #[test]
    #[cfg_attr(
        not(real_evtx),
        ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
    )]
    fn fast_path_needs_no_fallback_on_real_logs() {
        let dir = real_evtx_dir();
        let filter = EventFilter::all();
        let w = Work {
            file: Arc::from("x"),
            filter: &filter,
            settings: Arc::new(ParserSettings::default()),
            path: Path::Fast,
            pooled: false,
        };
        // Only chunks with records the crate rejects go through the crate (for its exact errors
        // and resynchronisation); every other chunk is read by the walker, including chunks
        // whose records end in zeroes before the header's free-space offset.
        for (name, damaged) in [
            ("sample_with_a_bad_chunk_magic.evtx", vec![7]),
            (
                "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
                vec![1],
            ),
        ]
        .into_iter()
        .chain(
            [
                "security.evtx",
            "security_bad_string_cache.evtx",
            "Security_with_size_t.evtx",
            "Security_short_selected.evtx",
            "post-Security.evtx",
            "2-vss_7-System.evtx",
            "Application_no_crc32.evtx",
            "sample-with-irregular-bool-values.evtx",
            // Its records end before the header's free-space offset, in zeroes; a SID slot
            // longer than the SID.
            "Microsoft-Windows-HelloForBusiness%4Operational.evtx",
            ]
            .map(|n| (n, Vec::new())),
        ) {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let mut via_crate = Vec::new();
            for (i, chunk) in bytes[FILE_HEADER_SIZE..].chunks(CHUNK_SIZE).enumerate() {
                let o = process_chunk(
                    &w,
                    RawChunk {
                        number: i as u64,
                        bytes: chunk.to_vec(),
                        len: chunk.len(),
                    },
                );
                if o.via_crate {
                    via_crate.push(i);
                }
            }
            assert_eq!(via_crate, damaged, "{name}: chunks read by the crate");
        }
    }
}
