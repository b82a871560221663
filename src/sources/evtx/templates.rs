//! Template definitions and the cache of their walks. A definition's BinXML is walked once
//! ([`walk_template`]) into a [`TemplateMap`]: which substitution (or literal) is the EventID,
//! Channel, Provider, each `Data Name=`, ..., and where nested fragments sit. Windows copies
//! each template into every chunk that uses it, so the walks are kept per worker across every
//! chunk and log it reads ([`template`]); a chunk's own lookups are in [`Templates`]. A kept
//! walk serves only a definition with the same bytes, where those bytes read the same
//! ([`SharedTemplate::serves`]): what one log holds never changes how another is read.

use crate::sources::windows_event as we;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A piece of an element's text or attribute value in a template definition.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Part {
    Lit(String),
    Sub(u16),
}

/// A substitution in element content that the walker does not map: a nested fragment when the
/// record fills it, placed under `path`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Opaque {
    pub(super) index: u16,
    path: Vec<String>,
}

/// Where a template puts the fields padtriage reads. An empty `Vec<Part>` means absent.
#[derive(Debug, Default, PartialEq)]
pub(super) struct TemplateMap {
    pub(super) provider: Vec<Part>,
    pub(super) event_id: Vec<Part>,
    pub(super) level: Vec<Part>,
    pub(super) channel: Vec<Part>,
    pub(super) computer: Vec<Part>,
    pub(super) user_id: Vec<Part>,
    /// EventData `<Data Name=..>` and UserData leaves: (name, value).
    pub(super) data: Vec<(Vec<Part>, Vec<Part>)>,
    pub(super) opaque: Vec<Opaque>,
}

/// Walked templates of one chunk: by definition offset, then by the path they are placed under
/// (empty for a record's own template), the index of their map in `maps`, or `None` for a shape
/// the walker does not know.
pub(super) struct Templates {
    seen: Vec<(u32, Vec<String>, Option<usize>)>,
    pub(super) maps: Vec<Rc<TemplateMap>>,
    /// For each map, where its nested fragments sit (substitution index, path).
    pub(super) paths: Vec<Placements>,
    /// The path of a fragment no map places: it is only checked.
    pub(super) unplaced: Rc<[String]>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            seen: Vec::new(),
            maps: Vec::new(),
            paths: Vec::new(),
            unplaced: Rc::from([String::from("?")]),
        }
    }
}

/// A walk kept for other copies of its definition (Windows copies each template into every
/// chunk that uses it, so one walk serves them all).
pub(super) struct SharedTemplate {
    /// The definition's body, all the walk read of it: a copy is served only if its body is
    /// the same, byte for byte.
    body: Box<[u8]>,
    /// The definition's chunk offset when it was walked.
    offset: u32,
    /// Whether the walk read a name inside the body. Names are found by chunk offset, and
    /// stored inline where that offset is the reference's own end, so such a walk holds only
    /// at `offset`.
    placed: bool,
    prefix: Vec<String>,
    /// Names read outside the body: they live elsewhere in each chunk, so they are checked in
    /// each (offset, and the bytes read there).
    external: Vec<(usize, Box<[u8]>)>,
    map: Rc<TemplateMap>,
    paths: Placements,
}

impl SharedTemplate {
    /// Whether walking `body`, the definition at `offset` of `chunk`, under `prefix`, gives
    /// this walk: the same bytes, read where they read the same.
    fn serves(&self, chunk: &[u8], offset: u32, body: &[u8], prefix: &[String]) -> bool {
        let start = offset as usize + 24;
        let end = start + body.len();
        *self.body == *body
            && (self.offset == offset || !self.placed)
            && self.prefix == prefix
            && self.external.iter().all(|(at, name)| {
                // Outside this copy's body too, so no reference to it can be read as inline.
                *at < start && chunk.get(at + 6..end).is_some_and(|b| b.starts_with(name))
            })
    }
}

/// This worker's walks, by the CRC32 of their definition's body. The checksum only narrows
/// the search: every hit is compared in full ([`SharedTemplate::serves`]), so two different
/// definitions never share a walk (with the checksum, or GUID, as the identity, a crafted log
/// could give its own walk to another log's template and change how that log is read).
#[derive(Default)]
pub(super) struct Cache {
    by_crc: HashMap<u32, Vec<SharedTemplate>>,
    walks: usize,
    bytes: usize,
}

impl Cache {
    fn keep(&mut self, crc: u32, walk: SharedTemplate) {
        let same_crc = self.by_crc.get(&crc).map_or(0, Vec::len);
        if same_crc >= MAX_SAME_CRC {
            // Only a crafted log has this many: keeping them would make each lookup long.
            return;
        }
        let bytes = walk.body.len() + walk.external.iter().map(|(_, n)| n.len()).sum::<usize>();
        if self.walks >= MAX_SHARED_TEMPLATES || self.bytes + bytes > MAX_SHARED_BYTES {
            *self = Cache::default();
        }
        self.walks += 1;
        self.bytes += bytes;
        self.by_crc.entry(crc).or_default().push(walk);
    }
}

pub(super) type SharedTemplates = RefCell<Cache>;

/// Where a template's nested fragments sit: substitution index and path.
pub(super) type Placements = Rc<[(u16, Rc<[String]>)]>;

/// Walks kept at most, and their definitions' bytes; past either the cache starts again (a
/// hostile log could make every chunk's templates unique). Real logs hold a few hundred
/// templates of a few KiB.
const MAX_SHARED_TEMPLATES: usize = 4096;
const MAX_SHARED_BYTES: usize = 8 << 20;
/// Walks kept per checksum (one definition can be walked under a few paths).
const MAX_SAME_CRC: usize = 16;

thread_local! {
    /// The templates this worker walked, in every log it read: they are identified by their
    /// bytes, and the logs of one machine share most of them, so a bundle of many small logs
    /// walks each once per worker. One cache per worker, not one behind a lock: every chunk
    /// looks up each of its templates, and with one cache for all (its lock and the maps'
    /// reference counts) `analyze` took 15% more CPU at two workers.
    static TEMPLATES: SharedTemplates = SharedTemplates::default();
}

/// Run `f` with this worker's cache.
pub(super) fn with_cache<R>(f: impl FnOnce(&SharedTemplates) -> R) -> R {
    TEMPLATES.with(f)
}

/// The body of the definition at `offset`: the BinXML after its header (next offset, GUID,
/// size). The walk reads nothing else of the definition.
fn definition_body(chunk: &[u8], offset: u32) -> Option<&[u8]> {
    let start = (offset as usize).checked_add(24)?;
    let size = chunk.get(start - 4..start)?;
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    chunk.get(start..start.checked_add(size)?)
}

pub(super) fn template(
    templates: &mut Templates,
    shared: &SharedTemplates,
    chunk: &[u8],
    offset: u32,
    prefix: &[String],
) -> Option<usize> {
    // A chunk holds a few dozen templates at most: a scan beats hashing.
    if let Some((_, _, map)) = templates
        .seen
        .iter()
        .find(|(o, p, _)| *o == offset && p == prefix)
    {
        return *map;
    }
    let body = definition_body(chunk, offset);
    let crc = body.map(evtx::checksum_ieee);
    let known = body.zip(crc).and_then(|(body, crc)| {
        let cache = shared.borrow();
        let walk = cache
            .by_crc
            .get(&crc)?
            .iter()
            .find(|t| t.serves(chunk, offset, body, prefix))?;
        Some((Rc::clone(&walk.map), Rc::clone(&walk.paths)))
    });
    let found = match known {
        Some(found) => Some(found),
        None => walk_template(chunk, offset, prefix).map(|walked| {
            let paths: Placements = walked
                .map
                .opaque
                .iter()
                .map(|o| (o.index, Rc::from(o.path.as_slice())))
                .collect();
            let map = Rc::new(walked.map);
            if let Some((body, crc)) = body.zip(crc) {
                shared.borrow_mut().keep(
                    crc,
                    SharedTemplate {
                        body: body.into(),
                        offset,
                        placed: walked.placed,
                        prefix: prefix.to_vec(),
                        external: walked.external,
                        map: Rc::clone(&map),
                        paths: Rc::clone(&paths),
                    },
                );
            }
            (map, paths)
        }),
    };
    let index = found.map(|(map, paths)| {
        templates.paths.push(paths);
        templates.maps.push(map);
        templates.maps.len() - 1
    });
    templates.seen.push((offset, prefix.to_vec(), index));
    index
}

/// A bounds-checked little-endian reader over a chunk.
pub(super) struct Cursor<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let b = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    pub(super) fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn utf16(&mut self, chars: usize) -> Option<String> {
        let b = self.bytes(chars.checked_mul(2)?)?;
        Some(we::decode_utf16le(b))
    }
    /// A name reference: the offset of a name structure in the chunk, stored right here when the
    /// offset is the current position (its first use in the chunk).
    fn name_ref(&mut self) -> Option<usize> {
        let offset = self.u32()? as usize;
        if offset == self.pos {
            self.bytes(6)?; // next-name link and hash
            let chars = usize::from(self.u16()?);
            self.bytes(chars.checked_mul(2)?.checked_add(2)?)?;
        }
        Some(offset)
    }
}

/// The part of the name structure at `offset` (next link u32, hash u16, then this) that
/// names it: char count (u16) and UTF-16 chars.
fn name_bytes(data: &[u8], offset: usize) -> Option<&[u8]> {
    let from = offset.checked_add(6)?;
    let count = data.get(from..from.checked_add(2)?)?;
    let chars = usize::from(u16::from_le_bytes([count[0], count[1]]));
    data.get(from..from.checked_add(chars.checked_mul(2)?.checked_add(2)?)?)
}

/// An element being walked.
struct Elem {
    name: Rc<str>,
    attrs: Vec<(Rc<str>, Vec<Part>)>,
    content: Vec<Part>,
    has_children: bool,
}

/// Deepest element nesting the walker accepts.
const MAX_DEPTH: usize = 64;

/// Walk the template definition at `def_offset` in a chunk (header: next offset u32, GUID,
/// data size u32; then BinXML whose element starts carry a dependency id) and note where the
/// fields padtriage reads come from. `prefix` names the elements a nested fragment sits in;
/// a record's own template (empty prefix) must be one `<Event>`. `None` for any shape the
/// walker does not know.
fn walk_template(data: &[u8], def_offset: u32, prefix: &[String]) -> Option<Walked> {
    let def = def_offset as usize;
    let size = Cursor {
        data,
        pos: def.checked_add(20)?,
    }
    .u32()? as usize;
    let start = def.checked_add(24)?;
    let end = start.checked_add(size)?;
    let mut c = Cursor {
        data: data.get(..end)?,
        pos: start,
    };
    let mut map = TemplateMap::default();
    let mut stack: Vec<Elem> = Vec::new();
    let mut attr: Option<(Rc<str>, Vec<Part>)> = None;
    let mut roots = 0;
    let mut external = Vec::new();
    let mut placed = false;
    // Each name once; where it was read decides where the walk can be reused.
    let mut names: Vec<(usize, Rc<str>)> = Vec::new();
    let mut name = |c: &mut Cursor| -> Option<Rc<str>> {
        let at = c.name_ref()?;
        if let Some((_, n)) = names.iter().find(|(o, _)| *o == at) {
            return Some(Rc::clone(n));
        }
        let raw = name_bytes(c.data, at)?;
        let n: Rc<str> = we::decode_utf16le(&raw[2..]).into();
        if (start..end).contains(&at) {
            placed = true;
        } else {
            external.push((at, raw.into()));
        }
        names.push((at, Rc::clone(&n)));
        Some(n)
    };

    fn flush(attr: &mut Option<(Rc<str>, Vec<Part>)>, stack: &mut [Elem]) {
        if let (Some(a), Some(top)) = (attr.take(), stack.last_mut()) {
            top.attrs.push(a);
        }
    }
    fn push_part(
        part: Part,
        attr: &mut Option<(Rc<str>, Vec<Part>)>,
        stack: &mut [Elem],
    ) -> Option<()> {
        match attr {
            Some((_, parts)) => parts.push(part),
            None => stack.last_mut()?.content.push(part),
        }
        Some(())
    }

    while c.pos < end {
        let token = c.u8()?;
        match token {
            0x00 => break,
            0x0f => {
                c.bytes(3)?;
            }
            0x01 | 0x41 => {
                flush(&mut attr, &mut stack);
                c.u16()?; // dependency id
                c.u32()?; // data size
                let name = name(&mut c)?;
                if token == 0x41 {
                    c.u32()?; // attribute list size
                }
                match stack.last_mut() {
                    Some(parent) => parent.has_children = true,
                    None => {
                        roots += 1;
                        if prefix.is_empty() && (roots > 1 || &*name != "Event") {
                            return None;
                        }
                    }
                }
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Elem {
                    name,
                    attrs: Vec::new(),
                    content: Vec::new(),
                    has_children: false,
                });
            }
            0x02 => flush(&mut attr, &mut stack),
            0x03 | 0x04 => {
                flush(&mut attr, &mut stack);
                let elem = stack.pop()?;
                finish(prefix, &stack, elem, &mut map);
            }
            0x05 | 0x45 => {
                // Literal text in a definition is a length-prefixed UTF-16 string.
                if c.u8()? != 0x01 {
                    return None;
                }
                let chars = usize::from(c.u16()?);
                let s = c.utf16(chars)?;
                push_part(Part::Lit(s), &mut attr, &mut stack)?;
            }
            0x06 | 0x46 => {
                flush(&mut attr, &mut stack);
                stack.last()?;
                attr = Some((name(&mut c)?, Vec::new()));
            }
            0x07 | 0x47 => {
                let chars = usize::from(c.u16()?);
                let s = c.utf16(chars)?;
                push_part(Part::Lit(s), &mut attr, &mut stack)?;
            }
            0x08 | 0x48 => {
                let ch = char::from_u32(u32::from(c.u16()?))?;
                push_part(Part::Lit(ch.to_string()), &mut attr, &mut stack)?;
            }
            0x09 | 0x49 => {
                let s = match &*name(&mut c)? {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => return None,
                };
                push_part(Part::Lit(s.to_string()), &mut attr, &mut stack)?;
            }
            0x0a => {
                name(&mut c)?;
            }
            0x0b => {
                let chars = usize::from(c.u16()?);
                c.bytes(chars.checked_mul(2)?)?;
            }
            0x0d | 0x0e => {
                let index = c.u16()?;
                c.u8()?; // value type
                push_part(Part::Sub(index), &mut attr, &mut stack)?;
            }
            // Nested template instances and unknown tokens: leave it to the renderer.
            _ => return None,
        }
    }
    (roots > 0 && stack.is_empty()).then_some(Walked {
        map,
        external,
        placed,
    })
}

/// A walked definition, and what its reuse elsewhere depends on (see [`SharedTemplate`]).
struct Walked {
    map: TemplateMap,
    /// Names read outside the body: offset, and the bytes [`name_bytes`] read there.
    external: Vec<(usize, Box<[u8]>)>,
    /// Whether a name was read inside the body.
    placed: bool,
}

/// File a closed element's attributes and text into the map, by its path from the record's
/// root: `prefix` (where a nested fragment sits), then the open elements.
fn finish(prefix: &[String], open: &[Elem], elem: Elem, map: &mut TemplateMap) {
    let depth = prefix.len() + open.len();
    let at = |i: usize| -> &str {
        match prefix.get(i) {
            Some(p) => p,
            None => open.get(i - prefix.len()).map_or("", |e| &e.name),
        }
    };
    let attr = |name: &str| {
        elem.attrs
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    };
    let under = |section: &str| depth >= 2 && at(0) == "Event" && at(1) == section;
    if depth == 2 && under("System") {
        match &*elem.name {
            "Provider" => map.provider = attr("Name"),
            "EventID" => map.event_id = elem.content,
            "Level" => map.level = elem.content,
            "Channel" => map.channel = elem.content,
            "Computer" => map.computer = elem.content,
            "Security" => map.user_id = attr("UserID"),
            _ => {}
        }
    } else if depth == 2 && under("EventData") {
        if &*elem.name == "Data" {
            map.data.push((attr("Name"), elem.content));
        }
    } else if under("UserData") && !elem.has_children {
        map.data
            .push((vec![Part::Lit(elem.name.to_string())], elem.content));
    } else if depth == 0 || (depth == 1 && at(0) == "Event") || (depth == 2 && under("UserData")) {
        // Event, System, EventData, UserData themselves: a substitution here is a fragment.
        for p in &elem.content {
            if let Part::Sub(index) = p {
                let path = (0..depth)
                    .map(|i| at(i).to_string())
                    .chain([elem.name.to_string()])
                    .collect();
                map.opaque.push(Opaque {
                    index: *index,
                    path,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk-like buffer holding at offset `def` the definition of
    /// `<Event><System><EventID>%0</EventID><Channel>Security</Channel></System>
    /// <EventData><Data Name="X">%1</Data></EventData></Event>`. Its names are stored inline
    /// where first used, as Windows does, or with `names_first` once each at offset 16, before
    /// the definition, which then only refers to them.
    fn hand_built(def: usize, names_first: bool) -> Vec<u8> {
        let mut b = vec![0u8; 16];
        let mut names: HashMap<&str, u32> = HashMap::new();
        let store = |b: &mut Vec<u8>, s: &str| {
            b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            b.extend_from_slice(&(s.len() as u16).to_le_bytes());
            for u in s.encode_utf16() {
                b.extend_from_slice(&u.to_le_bytes());
            }
            b.extend_from_slice(&[0, 0]);
        };
        if names_first {
            for s in [
                "Event",
                "System",
                "EventID",
                "Channel",
                "EventData",
                "Data",
                "Name",
            ] {
                names.insert(s, b.len() as u32);
                store(&mut b, s);
            }
        }
        assert!(b.len() <= def || !names_first);
        b.resize(def + 24, 0);
        let body_start = b.len();
        let mut name = |b: &mut Vec<u8>, s: &'static str| {
            if let Some(off) = names.get(s) {
                b.extend_from_slice(&off.to_le_bytes());
                return;
            }
            let off = b.len() as u32 + 4;
            names.insert(s, off);
            b.extend_from_slice(&off.to_le_bytes());
            store(b, s);
        };
        let open = |b: &mut Vec<u8>, attrs: bool| {
            b.push(if attrs { 0x41 } else { 0x01 });
            b.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        };
        b.extend_from_slice(&[0x0f, 1, 1, 0]);
        open(&mut b, false);
        name(&mut b, "Event");
        b.push(0x02);
        open(&mut b, false);
        name(&mut b, "System");
        b.push(0x02);
        open(&mut b, false);
        name(&mut b, "EventID");
        b.push(0x02);
        b.extend_from_slice(&[0x0d, 0, 0, 0x06]);
        b.push(0x04);
        open(&mut b, false);
        name(&mut b, "Channel");
        b.push(0x02);
        b.extend_from_slice(&[0x05, 0x01, 8, 0]);
        for u in "Security".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b.push(0x04);
        b.push(0x04); // </System>
        open(&mut b, false);
        name(&mut b, "EventData");
        b.push(0x02);
        open(&mut b, true);
        name(&mut b, "Data");
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.push(0x06);
        name(&mut b, "Name");
        b.extend_from_slice(&[0x05, 0x01, 1, 0, b'X', 0]);
        b.push(0x02);
        b.extend_from_slice(&[0x0e, 1, 0, 0x01]);
        b.push(0x04);
        b.push(0x04); // </EventData>
        b.push(0x04); // </Event>
        b.push(0x00);
        let size = (b.len() - body_start) as u32;
        b[def + 20..def + 24].copy_from_slice(&size.to_le_bytes());
        b
    }

    #[test]
    fn template_walker_reads_a_hand_built_definition() {
        let b = hand_built(0, false);
        let map = walk_template(&b, 0, &[]).expect("walks").map;
        assert_eq!(map.event_id, vec![Part::Sub(0)]);
        assert_eq!(map.channel, vec![Part::Lit("Security".into())]);
        assert_eq!(
            map.data,
            vec![(vec![Part::Lit("X".into())], vec![Part::Sub(1)])]
        );
        // Cut short anywhere before the root closes, the walker gives up without panicking.
        let size = b.len() as u32 - 24;
        for short in 0..size - 1 {
            let mut c = b.clone();
            c[20..24].copy_from_slice(&short.to_le_bytes());
            assert!(walk_template(&c, 0, &[]).is_none(), "{short}");
        }
        assert!(walk_template(&b, u32::MAX, &[]).is_none());
    }

    /// `template` for the definition at `offset` of `chunk`, as a chunk's first lookup.
    fn look_up(cache: &SharedTemplates, chunk: &[u8], offset: usize) -> Option<Rc<TemplateMap>> {
        let mut t = Templates::default();
        let index = template(&mut t, cache, chunk, offset as u32, &[])?;
        Some(Rc::clone(&t.maps[index]))
    }

    #[test]
    fn a_walk_serves_the_same_bytes_elsewhere_only_where_they_read_the_same() {
        // The same definition bytes 100 bytes further on: its names' offsets no longer point
        // at themselves, so they are not stored inline there and the bytes read as something
        // else (here: nothing the walker knows).
        let here = hand_built(0, false);
        let mut there = vec![0u8; 100];
        there.extend_from_slice(&here);
        assert!(look_up(&SharedTemplates::default(), &here, 0).is_some());
        assert!(look_up(&SharedTemplates::default(), &there, 100).is_none());
        let cache = SharedTemplates::default();
        assert!(look_up(&cache, &here, 0).is_some());
        assert!(look_up(&cache, &there, 100).is_none());

        // A definition that only refers to names stored before it reads the same wherever it
        // sits, as long as those names are the same: one walk serves both.
        let (a, b) = (hand_built(200, true), hand_built(300, true));
        assert_eq!(a[224..], b[324..]);
        let cache = SharedTemplates::default();
        let first = look_up(&cache, &a, 200).expect("walks");
        let second = look_up(&cache, &b, 300).expect("walks");
        assert!(Rc::ptr_eq(&first, &second));
        // Not when a name it refers to differs.
        let mut renamed = b.clone();
        let at = 16 + 6 + 2;
        renamed[at..at + 2].copy_from_slice(&u16::from(b'X').to_le_bytes());
        assert!(look_up(&cache, &renamed, 300).is_none());
        assert!(look_up(&SharedTemplates::default(), &renamed, 300).is_none());
    }
}
