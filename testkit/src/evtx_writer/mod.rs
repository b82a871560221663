//! An EVTX writer that encodes events the way the Windows event log service does, so that tests
//! and sample bundles can carry `.evtx` files indistinguishable in structure from real ones.
//!
//! What it owns, byte for byte (MS-EVEN6, and what real Windows logs hold):
//! - the 4096-byte file header (`ElfFile\0`, version 3.1, chunk count, next record id, CRC32);
//! - 64 KiB chunks (`ElfChnk\0`): first/last record numbers and ids, the offsets of the last
//!   record and of the free space, the records' CRC32, the header CRC32, the 64-bucket string
//!   table and the 32-bucket template table;
//! - records (`**\0\0`, size, id, FILETIME, BinXML, zero padding to 8 bytes, size copy);
//! - BinXML as Windows writes it: every record is a fragment holding one `TemplateInstance` of
//!   the *System envelope* template, whose last substitution is a BinXML value holding a second
//!   `TemplateInstance`: the event's own `<EventData>` template. A template definition is written
//!   inline where a chunk first uses it and referenced by offset afterwards; element and
//!   attribute names are written inline where the chunk first uses them and referenced after.
//!
//! Two envelopes exist, as on Windows: manifest (ETW) providers get the 18-substitution envelope
//! (provider name, GUID and channel substituted, EventData strings NUL-terminated); classic
//! providers (`EventSpec::event_source_name` set, e.g. Service Control Manager) get the
//! 20-substitution envelope with the provider and channel as literal text, `Qualifiers`, an
//! optional `<Binary>` element, and strings without a terminator.
//!
//! Template GUIDs are derived from the template's key (computer name for the envelope; provider,
//! event id, version and the data fields' names and types for EventData), so the same input
//! always gives the same bytes.
//!
//! This module holds the public types and the writer; `template` builds the template trees and
//! substitution arrays, `chunk` encodes them into records, chunks and the file header.

mod chunk;
mod template;

pub use chunk::filetime;

use chrono::{DateTime, Utc};
use chunk::{
    encode_record, file_header, fnv1a64, sid_bytes, splitmix, systemtime, utf16, ChunkBuilder,
};
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use template::{
    check_text, classic_envelope, envelope_values, etw_envelope, event_data_element, Elem, Template,
};

/// Size of the file header block.
pub const FILE_HEADER_SIZE: usize = 4096;
/// Size of a chunk.
pub const CHUNK_SIZE: usize = 65536;
/// Size of a chunk header (records start there).
pub const CHUNK_HEADER_SIZE: usize = 512;

/// The XML namespace of `<Event>`.
const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";
/// BinXML fragment header: token 0x0F, major 1, minor 1, flags 0.
const FRAGMENT_HEADER: [u8; 4] = [0x0f, 0x01, 0x01, 0x00];
/// DependencyId of an element that depends on no substitution.
const NO_DEP: u16 = 0xffff;

/// A GUID, held as its canonical 128-bit number (`{00112233-4455-6677-8899-AABBCCDDEEFF}` is
/// `0x00112233_4455_6677_8899_aabbccddeeff`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub u128);

impl Guid {
    /// The all-zero GUID.
    pub const NIL: Guid = Guid(0);

    /// A GUID from its canonical number, for constants.
    pub const fn from_u128(value: u128) -> Guid {
        Guid(value)
    }

    /// Parse `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, with or without braces, any case.
    pub fn parse(text: &str) -> Option<Guid> {
        let text = text.trim();
        let text = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text);
        let groups: Vec<&str> = text.split('-').collect();
        let lengths = [8, 4, 4, 4, 12];
        if groups.len() != 5 || groups.iter().zip(lengths).any(|(g, n)| g.len() != n) {
            return None;
        }
        let hex: String = groups.concat();
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(&hex, 16).ok().map(Guid)
    }

    /// A GUID derived from `name` alone: the same name always gives the same GUID.
    pub fn derived(name: &str) -> Guid {
        let a = splitmix(fnv1a64(0xcbf2_9ce4_8422_2325, name.as_bytes()));
        let b = splitmix(fnv1a64(a ^ 0x9e37_79b9_7f4a_7c15, name.as_bytes()));
        Guid((u128::from(a) << 64) | u128::from(b))
    }

    /// The 16 bytes as Windows stores a GUID: Data1, Data2, Data3 little-endian, Data4 as is.
    pub fn to_bytes_le(self) -> [u8; 16] {
        let v = self.0;
        let mut out = [0u8; 16];
        out[0..4].copy_from_slice(&((v >> 96) as u32).to_le_bytes());
        out[4..6].copy_from_slice(&((v >> 80) as u16).to_le_bytes());
        out[6..8].copy_from_slice(&((v >> 64) as u16).to_le_bytes());
        out[8..16].copy_from_slice(&(v as u64).to_be_bytes());
        out
    }
}

/// Lower-case, hyphenated, without braces.
impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

/// A typed substitution value, as a provider's manifest declares it. The variant decides the
/// BinXML value type, and with it how readers render the value (numbers stay numbers, `Hex*`
/// and `SizeT` render as `0x…` strings, `Sid` as `S-1-…`).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No value (NullType, size 0).
    Null,
    /// UTF-16 string (`win:UnicodeString`).
    Str(String),
    /// 8-bit string (`win:AnsiString`), stored as Latin-1; other characters become `?`.
    AnsiStr(String),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    I32(i32),
    /// `win:HexInt32` (NTSTATUS fields such as 4625 `Status`).
    HexU32(u32),
    /// `win:HexInt64` (logon ids).
    HexU64(u64),
    /// `win:Pointer` / size_t (4624 `ProcessId`): the template declares SizeT and, as on
    /// 64-bit Windows, the value is stored as an 8-byte HexInt64.
    SizeT(u64),
    /// `win:Boolean`, stored as a 32-bit 0/1.
    Bool(bool),
    Guid(Guid),
    FileTime(DateTime<Utc>),
    SysTime(DateTime<Utc>),
    /// A SID in its string form, `S-1-5-21-…`.
    Sid(String),
    Binary(Vec<u8>),
}

mod ty {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const ANSI: u8 = 0x02;
    pub const U8: u8 = 0x04;
    pub const U16: u8 = 0x06;
    pub const I32: u8 = 0x07;
    pub const U32: u8 = 0x08;
    pub const U64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const BINARY: u8 = 0x0e;
    pub const GUID: u8 = 0x0f;
    pub const SIZE_T: u8 = 0x10;
    pub const FILETIME: u8 = 0x11;
    pub const SYSTIME: u8 = 0x12;
    pub const SID: u8 = 0x13;
    pub const HEX32: u8 = 0x14;
    pub const HEX64: u8 = 0x15;
    pub const BINXML: u8 = 0x21;
}

impl Value {
    /// The BinXML value type byte a template declares for this value (MS-EVEN6 2.2.18).
    pub fn type_code(&self) -> u8 {
        match self {
            Value::Null => ty::NULL,
            Value::Str(_) => ty::STRING,
            Value::AnsiStr(_) => ty::ANSI,
            Value::U8(_) => ty::U8,
            Value::U16(_) => ty::U16,
            Value::U32(_) => ty::U32,
            Value::U64(_) => ty::U64,
            Value::I32(_) => ty::I32,
            Value::HexU32(_) => ty::HEX32,
            Value::HexU64(_) => ty::HEX64,
            Value::SizeT(_) => ty::SIZE_T,
            Value::Bool(_) => ty::BOOL,
            Value::Guid(_) => ty::GUID,
            Value::FileTime(_) => ty::FILETIME,
            Value::SysTime(_) => ty::SYSTIME,
            Value::Sid(_) => ty::SID,
            Value::Binary(_) => ty::BINARY,
        }
    }

    /// The type byte of the value itself in a substitution array: as declared, except that
    /// Windows stores a SizeT as the HexInt64 it is on 64-bit systems.
    fn wire_type(&self) -> u8 {
        match self {
            Value::SizeT(_) => ty::HEX64,
            other => other.type_code(),
        }
    }

    /// The value's bytes. `nul_terminated` adds the UTF-16 NUL that ETW strings carry.
    fn encode(&self, nul_terminated: bool) -> Option<Vec<u8>> {
        Some(match self {
            Value::Null => Vec::new(),
            Value::Str(s) => utf16(s, nul_terminated),
            Value::AnsiStr(s) => s
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            Value::U8(v) => vec![*v],
            Value::U16(v) => v.to_le_bytes().to_vec(),
            Value::U32(v) | Value::HexU32(v) => v.to_le_bytes().to_vec(),
            Value::U64(v) | Value::HexU64(v) | Value::SizeT(v) => v.to_le_bytes().to_vec(),
            Value::I32(v) => v.to_le_bytes().to_vec(),
            Value::Bool(v) => u32::from(*v).to_le_bytes().to_vec(),
            Value::Guid(g) => g.to_bytes_le().to_vec(),
            Value::FileTime(t) => filetime(t).to_le_bytes().to_vec(),
            Value::SysTime(t) => systemtime(t).to_vec(),
            Value::Sid(s) => sid_bytes(s)?,
            Value::Binary(b) => b.clone(),
        })
    }
}

/// One event to write. The writer assigns the record id (`EventRecordID`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventSpec {
    pub provider_name: String,
    /// `Provider/@Guid`; `None` leaves the attribute out.
    pub provider_guid: Option<Guid>,
    /// `Provider/@EventSourceName`. Setting it makes the event a *classic* (EventLog API) one,
    /// written with the classic envelope (see the module documentation).
    pub event_source_name: Option<String>,
    pub event_id: u16,
    /// `EventID/@Qualifiers` (classic events: 49152 for errors, 16384 for information).
    pub qualifiers: Option<u16>,
    pub version: u8,
    pub level: u8,
    pub task: u16,
    pub opcode: u8,
    pub keywords: u64,
    /// `TimeCreated/@SystemTime`, also the record header's time. FILETIME keeps 100 ns.
    pub time: DateTime<Utc>,
    /// `Correlation/@ActivityID`; `None` leaves it out.
    pub activity_id: Option<Guid>,
    pub process_id: u32,
    pub thread_id: u32,
    pub channel: String,
    pub computer: String,
    /// `Security/@UserID` as `S-1-…`; `None` leaves it out.
    pub user_sid: Option<String>,
    /// `<Data Name="…">` fields in order. A field's variant is its declared type.
    pub data: Vec<(String, Value)>,
    /// The classic `<Binary>` element (Service Control Manager puts the service key name
    /// there). Ignored for manifest events.
    pub binary: Option<Vec<u8>>,
}

/// Why an event could not be written. The writer stays usable after an error.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{field}: {value:?} is not a SID (S-1-<authority>-<sub-authorities>)")]
    InvalidSid { field: String, value: String },
    #[error("{field}: {bytes} bytes is more than a BinXML value or name can hold")]
    ValueTooLarge { field: String, bytes: usize },
    #[error("a record of {bytes} bytes does not fit in an empty chunk")]
    RecordTooLarge { bytes: usize },
    #[error("an EVTX file holds at most 65535 chunks")]
    TooManyChunks,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Builds an EVTX file in memory, record by record.
///
/// ```
/// use padtriage_testkit::evtx_writer::{EventSpec, EvtxWriter, Value};
/// let mut writer = EvtxWriter::new();
/// let id = writer
///     .push(&EventSpec {
///         provider_name: "Demo".into(),
///         event_id: 1,
///         channel: "Application".into(),
///         computer: "PC1".into(),
///         data: vec![("Text".into(), Value::Str("hello".into()))],
///         ..Default::default()
///     })
///     .unwrap();
/// assert_eq!(id, 1);
/// let bytes = writer.finish();
/// assert_eq!(&bytes[..8], b"ElfFile\0");
/// ```
pub struct EvtxWriter {
    done: Vec<Vec<u8>>,
    chunk: ChunkBuilder,
    next_record_id: u64,
    records: u64,
    templates: HashMap<String, Arc<Template>>,
}

impl Default for EvtxWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl EvtxWriter {
    /// A writer whose first record gets id 1.
    pub fn new() -> Self {
        Self::with_first_record_id(1)
    }

    /// A writer whose first record gets `id` (a log that has been running for a while).
    pub fn with_first_record_id(id: u64) -> Self {
        EvtxWriter {
            done: Vec::new(),
            chunk: ChunkBuilder::new(),
            next_record_id: id,
            records: 0,
            templates: HashMap::new(),
        }
    }

    /// Encode every event of `events` into a complete file.
    pub fn build(events: &[EventSpec]) -> Result<Vec<u8>, WriteError> {
        let mut writer = EvtxWriter::new();
        for event in events {
            writer.push(event)?;
        }
        Ok(writer.finish())
    }

    /// Append one event; returns its record id. Opens a new chunk when the current one is full.
    pub fn push(&mut self, event: &EventSpec) -> Result<u64, WriteError> {
        let classic = event.event_source_name.is_some();
        let envelope = self.envelope(event, classic)?;
        let event_data = self.event_data_template(event, classic)?;
        let id = self.next_record_id;
        let values = envelope_values(event, id, classic, &event_data)?;
        let time = filetime(&event.time);

        let record = match encode_record(&mut self.chunk, id, time, &envelope, &values) {
            Ok(record) => record,
            Err(bytes) if self.chunk.is_empty() => {
                return Err(WriteError::RecordTooLarge { bytes })
            }
            Err(_) => {
                if self.done.len() + 1 >= usize::from(u16::MAX) {
                    return Err(WriteError::TooManyChunks);
                }
                let full = std::mem::replace(&mut self.chunk, ChunkBuilder::new());
                self.done.push(full.finish());
                encode_record(&mut self.chunk, id, time, &envelope, &values)
                    .map_err(|bytes| WriteError::RecordTooLarge { bytes })?
            }
        };
        self.chunk.append(id, &record);
        self.next_record_id += 1;
        self.records += 1;
        Ok(id)
    }

    /// Records written so far.
    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// Chunks written so far, counting the one being filled.
    pub fn chunk_count(&self) -> usize {
        self.done.len() + usize::from(!self.chunk.is_empty())
    }

    /// The whole file: header, then every chunk that holds records.
    pub fn finish(self) -> Vec<u8> {
        let mut chunks = self.done;
        if !self.chunk.is_empty() {
            chunks.push(self.chunk.finish());
        }
        let mut out = Vec::with_capacity(FILE_HEADER_SIZE + chunks.len() * CHUNK_SIZE);
        out.extend_from_slice(&file_header(chunks.len(), self.next_record_id));
        for chunk in &chunks {
            out.extend_from_slice(chunk);
        }
        out
    }

    /// Write the finished file to `sink`.
    pub fn write_to(self, mut sink: impl Write) -> Result<(), WriteError> {
        sink.write_all(&self.finish())?;
        Ok(())
    }

    /// Write the finished file to `path` (created or truncated).
    pub fn save(self, path: impl AsRef<Path>) -> Result<(), WriteError> {
        std::fs::write(path, self.finish())?;
        Ok(())
    }

    /// The template for `key`, built once per writer; its GUID is derived from the key.
    fn cached(&mut self, key: String, build: impl FnOnce() -> Elem) -> Arc<Template> {
        if let Some(t) = self.templates.get(&key) {
            return Arc::clone(t);
        }
        let template = Arc::new(Template {
            guid: Guid::derived(&key),
            root: build(),
        });
        self.templates.insert(key, Arc::clone(&template));
        template
    }

    fn envelope(&mut self, ev: &EventSpec, classic: bool) -> Result<Arc<Template>, WriteError> {
        check_text("computer", &ev.computer)?;
        if !classic {
            let key = format!("envelope|etw|{}", ev.computer);
            return Ok(self.cached(key, || etw_envelope(&ev.computer)));
        }
        check_text("provider_name", &ev.provider_name)?;
        check_text("channel", &ev.channel)?;
        let source = ev.event_source_name.clone().unwrap_or_default();
        check_text("event_source_name", &source)?;
        let guid = ev.provider_guid.map(|g| format!("{{{g}}}"));
        let key = format!(
            "envelope|classic|{}|{}|{}|{}|{}",
            ev.provider_name,
            guid.as_deref().unwrap_or(""),
            source,
            ev.channel,
            ev.computer
        );
        Ok(self.cached(key, || {
            classic_envelope(
                &ev.provider_name,
                guid.as_deref(),
                &source,
                &ev.channel,
                &ev.computer,
            )
        }))
    }

    fn event_data_template(
        &mut self,
        ev: &EventSpec,
        classic: bool,
    ) -> Result<Arc<Template>, WriteError> {
        let binary = classic && ev.binary.is_some();
        let mut key = format!(
            "eventdata|{}|{}|{}|{}|{}",
            ev.provider_name, ev.event_id, ev.version, classic, binary
        );
        for (name, value) in &ev.data {
            check_text(name, name)?;
            key.push_str(&format!("|{}:{}", name, value.type_code()));
        }
        Ok(self.cached(key, || event_data_element(&ev.data, binary)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_layout_and_text() {
        let g = Guid::parse("{54849625-5478-4994-A5BA-3E3B0328C30D}").unwrap();
        assert_eq!(g, Guid::from_u128(0x54849625_5478_4994_a5ba_3e3b0328c30d));
        assert_eq!(
            g.to_bytes_le(),
            [
                0x25, 0x96, 0x84, 0x54, 0x78, 0x54, 0x94, 0x49, 0xa5, 0xba, 0x3e, 0x3b, 0x03, 0x28,
                0xc3, 0x0d
            ]
        );
        assert_eq!(g.to_string(), "54849625-5478-4994-a5ba-3e3b0328c30d");
        assert_eq!(Guid::parse("54849625-5478-4994-A5BA-3E3B0328C30"), None);
        assert_eq!(Guid::derived("x"), Guid::derived("x"));
        assert_ne!(Guid::derived("x"), Guid::derived("y"));
    }
}
