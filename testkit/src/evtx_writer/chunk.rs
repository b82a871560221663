//! Chunks and the file header, records and their BinXML, value encodings, and the hashes and
//! checksums EVTX uses.

use super::template::{Child, Content, Elem, Sub, Template};
use super::{ty, Guid, CHUNK_HEADER_SIZE, CHUNK_SIZE, FILE_HEADER_SIZE, FRAGMENT_HEADER};
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::collections::HashMap;

pub(super) struct ChunkBuilder {
    data: Vec<u8>,
    /// Where the next record goes (the free space offset).
    free: usize,
    names: HashMap<String, u32>,
    name_heads: [u32; 64],
    templates: HashMap<Guid, u32>,
    template_heads: [u32; 32],
    first_id: u64,
    last_id: u64,
    last_record: u32,
    count: u64,
}

impl ChunkBuilder {
    pub(super) fn new() -> Self {
        ChunkBuilder {
            data: vec![0; CHUNK_SIZE],
            free: CHUNK_HEADER_SIZE,
            names: HashMap::new(),
            name_heads: [0; 64],
            templates: HashMap::new(),
            template_heads: [0; 32],
            first_id: 0,
            last_id: 0,
            last_record: 0,
            count: 0,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(super) fn append(&mut self, id: u64, record: &[u8]) {
        if self.count == 0 {
            self.first_id = id;
        }
        self.data[self.free..self.free + record.len()].copy_from_slice(record);
        self.last_record = self.free as u32;
        self.free += record.len();
        self.last_id = id;
        self.count += 1;
    }

    /// The chunk with its header filled in.
    pub(super) fn finish(mut self) -> Vec<u8> {
        let free = self.free;
        let records_crc = crc32(&self.data[CHUNK_HEADER_SIZE..free]);
        let h = &mut self.data;
        h[0..8].copy_from_slice(b"ElfChnk\0");
        // Record numbers count from the log's start like the ids do.
        h[8..16].copy_from_slice(&self.first_id.to_le_bytes());
        h[16..24].copy_from_slice(&self.last_id.to_le_bytes());
        h[24..32].copy_from_slice(&self.first_id.to_le_bytes());
        h[32..40].copy_from_slice(&self.last_id.to_le_bytes());
        h[40..44].copy_from_slice(&128u32.to_le_bytes());
        h[44..48].copy_from_slice(&self.last_record.to_le_bytes());
        h[48..52].copy_from_slice(&(free as u32).to_le_bytes());
        h[52..56].copy_from_slice(&records_crc.to_le_bytes());
        // Flags: Windows sets bit 0 on every chunk it has written to.
        h[120..124].copy_from_slice(&1u32.to_le_bytes());
        for (i, head) in self.name_heads.iter().enumerate() {
            h[128 + 4 * i..132 + 4 * i].copy_from_slice(&head.to_le_bytes());
        }
        for (i, head) in self.template_heads.iter().enumerate() {
            h[384 + 4 * i..388 + 4 * i].copy_from_slice(&head.to_le_bytes());
        }
        let mut crc = Crc32::new();
        crc.update(&h[..120]);
        crc.update(&h[128..CHUNK_HEADER_SIZE]);
        let header_crc = crc.finish();
        h[124..128].copy_from_slice(&header_crc.to_le_bytes());
        self.data
    }
}

pub(super) fn file_header(chunk_count: usize, next_record_id: u64) -> Vec<u8> {
    let mut h = vec![0u8; FILE_HEADER_SIZE];
    h[0..8].copy_from_slice(b"ElfFile\0");
    // First and last chunk numbers.
    h[16..24].copy_from_slice(&(chunk_count.saturating_sub(1) as u64).to_le_bytes());
    h[24..32].copy_from_slice(&next_record_id.to_le_bytes());
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes()); // minor version
    h[38..40].copy_from_slice(&3u16.to_le_bytes()); // major version
    h[40..42].copy_from_slice(&(FILE_HEADER_SIZE as u16).to_le_bytes());
    h[42..44].copy_from_slice(&(chunk_count as u16).to_le_bytes());
    // Flags 0: a cleanly closed (exported) log.
    let crc = crc32(&h[..120]);
    h[124..128].copy_from_slice(&crc.to_le_bytes());
    h
}

// ---------------------------------------------------------------------------------------------
// Records and BinXML

/// Encode one record for the chunk's free space. When it does not fit, the chunk is left as it
/// was and the error is the record's size.
pub(super) fn encode_record(
    chunk: &mut ChunkBuilder,
    id: u64,
    time: u64,
    envelope: &Template,
    values: &[Sub],
) -> Result<Vec<u8>, usize> {
    let base = chunk.free;
    let saved_names = chunk.name_heads;
    let saved_templates = chunk.template_heads;
    let mut enc = Encoder {
        chunk,
        buf: Vec::with_capacity(1024),
        base,
        new_names: Vec::new(),
        new_templates: Vec::new(),
    };
    enc.bytes(b"**\0\0");
    enc.u32(0); // size, patched below
    enc.u64(id);
    enc.u64(time);
    enc.bytes(&FRAGMENT_HEADER);
    enc.instance(envelope, values);
    enc.u8(0x00); // EndOfFragment
    while !(enc.buf.len() + 4).is_multiple_of(8) {
        enc.u8(0);
    }
    let size = enc.buf.len() as u32 + 4;
    enc.u32(size);
    enc.patch_u32(4, size);

    let Encoder {
        chunk,
        buf,
        new_names,
        new_templates,
        ..
    } = enc;
    if base + buf.len() <= CHUNK_SIZE {
        return Ok(buf);
    }
    // Undo what the record registered in this chunk.
    for name in new_names {
        chunk.names.remove(&name);
    }
    for guid in new_templates {
        chunk.templates.remove(&guid);
    }
    chunk.name_heads = saved_names;
    chunk.template_heads = saved_templates;
    Err(buf.len())
}

pub(super) struct Encoder<'c> {
    chunk: &'c mut ChunkBuilder,
    buf: Vec<u8>,
    /// Chunk offset of `buf[0]`.
    base: usize,
    new_names: Vec<String>,
    new_templates: Vec<Guid>,
}

impl Encoder<'_> {
    fn pos(&self) -> u32 {
        (self.base + self.buf.len()) as u32
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn patch_u16(&mut self, at: usize, v: u16) {
        self.buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    /// The length of what was written since `start`, which a u32 size field just before it
    /// (at `start - 4`) records.
    fn close_size(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u32;
        self.patch_u32(start - 4, len);
    }

    /// A name reference: the offset of the name in the chunk's string table, with the name
    /// itself right after the reference when the chunk does not hold it yet.
    fn name(&mut self, name: &str) {
        if let Some(&offset) = self.chunk.names.get(name) {
            self.u32(offset);
            return;
        }
        let offset = self.pos() + 4;
        self.u32(offset);
        let hash = name_hash(name);
        let bucket = (hash % 64) as usize;
        // New names go to the head of their bucket's list.
        self.u32(self.chunk.name_heads[bucket]);
        self.u16(hash as u16);
        let units: Vec<u16> = name.encode_utf16().collect();
        self.u16(units.len() as u16);
        for u in units {
            self.u16(u);
        }
        self.u16(0);
        self.chunk.name_heads[bucket] = offset;
        self.chunk.names.insert(name.to_string(), offset);
        self.new_names.push(name.to_string());
    }

    fn content(&mut self, content: &Content) {
        match content {
            Content::Text(text) => {
                self.u8(0x05); // Value
                self.u8(ty::STRING);
                let units: Vec<u16> = text.encode_utf16().collect();
                self.u16(units.len() as u16);
                for u in units {
                    self.u16(u);
                }
            }
            Content::Subst {
                index,
                ty,
                optional,
            } => {
                self.u8(if *optional { 0x0e } else { 0x0d });
                self.u16(*index);
                self.u8(*ty);
            }
        }
    }

    fn element(&mut self, e: &Elem) {
        let has_attrs = !e.attrs.is_empty();
        self.u8(if has_attrs { 0x41 } else { 0x01 }); // OpenStartElement
        self.u16(e.dep);
        self.u32(0);
        let start = self.buf.len();
        self.name(e.name);
        if has_attrs {
            self.u32(0);
            let attrs_start = self.buf.len();
            for (i, (name, content)) in e.attrs.iter().enumerate() {
                // 0x46: more attributes follow.
                self.u8(if i + 1 < e.attrs.len() { 0x46 } else { 0x06 });
                self.name(name);
                self.content(content);
            }
            self.close_size(attrs_start);
        }
        if e.children.is_empty() && !e.open_form {
            self.u8(0x03); // CloseEmptyElement
        } else {
            self.u8(0x02); // CloseStartElement
            for child in &e.children {
                match child {
                    Child::Elem(c) => self.element(c),
                    Child::Content(c) => self.content(c),
                }
            }
            self.u8(0x04); // EndElement
        }
        self.close_size(start);
    }

    /// A TemplateInstance: the definition inline on the chunk's first use, else its offset;
    /// then the substitution array.
    fn instance(&mut self, t: &Template, values: &[Sub]) {
        self.u8(0x0c);
        self.u8(0x01);
        self.u32(t.id());
        if let Some(&offset) = self.chunk.templates.get(&t.guid) {
            self.u32(offset);
        } else {
            let offset = self.pos() + 4;
            self.u32(offset);
            let bucket = template_bucket(t.guid);
            self.u32(self.chunk.template_heads[bucket]);
            self.bytes(&t.guid.to_bytes_le());
            self.u32(0);
            let start = self.buf.len();
            self.bytes(&FRAGMENT_HEADER);
            self.element(&t.root);
            self.u8(0x00);
            self.close_size(start);
            self.chunk.template_heads[bucket] = offset;
            self.chunk.templates.insert(t.guid, offset);
            self.new_templates.push(t.guid);
        }
        self.u32(values.len() as u32);
        let descriptors = self.buf.len();
        for value in values {
            match value {
                Sub::Plain { ty, bytes } => {
                    self.u16(bytes.len() as u16);
                    self.u8(*ty);
                }
                Sub::Nested { .. } => {
                    self.u16(0); // patched once written
                    self.u8(ty::BINXML);
                }
            }
            self.u8(0);
        }
        for (i, value) in values.iter().enumerate() {
            match value {
                Sub::Plain { bytes, .. } => self.bytes(bytes),
                Sub::Nested {
                    fragment_header,
                    template,
                    values,
                } => {
                    let start = self.buf.len();
                    if *fragment_header {
                        self.bytes(&FRAGMENT_HEADER);
                    }
                    self.instance(template, values);
                    self.u8(0x00);
                    // Oversized nested values saturate; such a record can't fit a chunk anyway.
                    let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
                    self.patch_u16(descriptors + 4 * i, len);
                }
            }
        }
    }
}

/// The chunk string table's hash: h = h * 65599 + unit over the UTF-16 units; the low 16 bits
/// are stored, and `h % 64` picks the bucket.
pub(super) fn name_hash(name: &str) -> u32 {
    name.encode_utf16().fold(0u32, |h, u| {
        h.wrapping_mul(65599).wrapping_add(u32::from(u))
    })
}

/// The template table's bucket: the same hash over the GUID's 8 little-endian u16s, mod 32
/// (found to hold for every template of the real logs in the evtx crate's samples).
pub(super) fn template_bucket(guid: Guid) -> usize {
    let bytes = guid.to_bytes_le();
    let h = bytes.chunks(2).fold(0u32, |h, pair| {
        let unit = u16::from_le_bytes([pair[0], pair[1]]);
        h.wrapping_mul(65599).wrapping_add(u32::from(unit))
    });
    (h % 32) as usize
}

// ---------------------------------------------------------------------------------------------
// Value encodings

pub(super) fn utf16(s: &str, nul_terminated: bool) -> Vec<u8> {
    let mut out: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    if nul_terminated {
        out.extend_from_slice(&[0, 0]);
    }
    out
}

/// 100 ns ticks since 1601-01-01, clamped to the u64 range.
pub fn filetime(t: &DateTime<Utc>) -> u64 {
    let secs = i128::from(t.timestamp()) + 11_644_473_600;
    let ticks = secs * 10_000_000 + i128::from(t.timestamp_subsec_nanos() / 100);
    ticks.clamp(0, i128::from(u64::MAX)) as u64
}

pub(super) fn systemtime(t: &DateTime<Utc>) -> [u8; 16] {
    let fields = [
        u16::try_from(t.year()).unwrap_or(0),
        t.month() as u16,
        t.weekday().num_days_from_sunday() as u16,
        t.day() as u16,
        t.hour() as u16,
        t.minute() as u16,
        t.second() as u16,
        (t.timestamp_subsec_millis().min(999)) as u16,
    ];
    let mut out = [0u8; 16];
    for (i, f) in fields.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&f.to_le_bytes());
    }
    out
}

/// The binary form of `S-R-A-S1-S2…`: revision, sub-authority count, 48-bit big-endian
/// authority, little-endian 32-bit sub-authorities.
pub(super) fn sid_bytes(text: &str) -> Option<Vec<u8>> {
    let mut parts = text.trim().split('-');
    if !parts.next()?.eq_ignore_ascii_case("S") {
        return None;
    }
    let revision: u8 = parts.next()?.parse().ok()?;
    let authority = parts.next()?;
    let authority: u64 = match authority
        .strip_prefix("0x")
        .or_else(|| authority.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => authority.parse().ok()?,
    };
    if authority >= 1 << 48 {
        return None;
    }
    let subs: Vec<u32> = parts.map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if subs.len() > 15 {
        return None;
    }
    let mut out = vec![revision, subs.len() as u8];
    out.extend_from_slice(&authority.to_be_bytes()[2..]);
    for s in subs {
        out.extend_from_slice(&s.to_le_bytes());
    }
    Some(out)
}

pub(super) fn fnv1a64(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(super) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as EVTX checksums use.
pub(super) const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

pub(super) struct Crc32(u32);

impl Crc32 {
    fn new() -> Self {
        Crc32(0xffff_ffff)
    }
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = CRC_TABLE[((self.0 ^ u32::from(b)) & 0xff) as usize] ^ (self.0 >> 8);
        }
    }
    fn finish(&self) -> u32 {
        !self.0
    }
}

pub(super) fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn name_hash_matches_windows() {
        // Hashes as stored in the string table of a real Security log.
        assert_eq!(name_hash("Event") as u16, 0x0cba);
        assert_eq!(name_hash("EventData") as u16, 0x8244);
        assert_eq!(name_hash("Qualifiers") % 64, 41);
    }

    #[test]
    fn sid_encoding() {
        assert_eq!(
            sid_bytes("S-1-5-18").unwrap(),
            [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]
        );
        assert_eq!(
            sid_bytes("S-1-0-0").unwrap(),
            [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(sid_bytes("S-1-12-1-1-2-3-4").unwrap().len(), 8 + 5 * 4);
        for bad in ["", "S-1", "X-1-5-18", "S-1-5-x", "S-1-281474976710656-1"] {
            assert_eq!(sid_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn template_bucket_matches_windows() {
        // A template of a real Security log, found in bucket 16 of its chunk's table.
        let wire = [
            0x6d, 0xca, 0x72, 0xc7, 0xcd, 0xb8, 0x8a, 0x67, 0xf1, 0x45, 0x69, 0x3b, 0x5d, 0x0b,
            0x93, 0x8c,
        ];
        let d1 = u32::from_le_bytes([wire[0], wire[1], wire[2], wire[3]]);
        let d2 = u16::from_le_bytes([wire[4], wire[5]]);
        let d3 = u16::from_le_bytes([wire[6], wire[7]]);
        let d4 = u64::from_be_bytes(wire[8..16].try_into().unwrap());
        let guid = Guid(
            (u128::from(d1) << 96)
                | (u128::from(d2) << 80)
                | (u128::from(d3) << 64)
                | u128::from(d4),
        );
        assert_eq!(guid.to_bytes_le(), wire);
        assert_eq!(template_bucket(guid), 16);
    }
}
