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

use chrono::{DateTime, Datelike, Timelike, Utc};
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

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

// ---------------------------------------------------------------------------------------------
// Templates

/// A template definition: a GUID and the element tree it describes.
struct Template {
    guid: Guid,
    root: Elem,
}

impl Template {
    /// Windows' template id is the GUID's first 32 bits (Data1).
    fn id(&self) -> u32 {
        (self.guid.0 >> 96) as u32
    }
}

/// Text, or a substitution slot, in a template.
enum Content {
    Text(String),
    /// `optional` writes OptionalSubstitution (0x0E), otherwise NormalSubstitution (0x0D).
    Subst {
        index: u16,
        ty: u8,
        optional: bool,
    },
}

struct Elem {
    name: &'static str,
    dep: u16,
    attrs: Vec<(&'static str, Content)>,
    children: Vec<Child>,
    /// Written as `<x></x>` (CloseStart + End) even without children, as Windows writes
    /// `<EventData>`; others without children are written as `<x/>`.
    open_form: bool,
}

enum Child {
    Elem(Elem),
    Content(Content),
}

fn elem(name: &'static str, dep: u16) -> Elem {
    Elem {
        name,
        dep,
        attrs: Vec::new(),
        children: Vec::new(),
        open_form: false,
    }
}

fn opt(index: u16, ty: u8) -> Content {
    Content::Subst {
        index,
        ty,
        optional: true,
    }
}

impl Elem {
    fn attr(mut self, name: &'static str, content: Content) -> Self {
        self.attrs.push((name, content));
        self
    }
    fn child(mut self, content: Content) -> Self {
        self.children.push(Child::Content(content));
        self
    }
    fn elem(mut self, e: Elem) -> Self {
        self.children.push(Child::Elem(e));
        self
    }
}

/// Substitution indexes of the System envelope (the same in both envelopes up to 12).
mod slot {
    pub const LEVEL: u16 = 0;
    pub const OPCODE: u16 = 1;
    pub const TASK: u16 = 2;
    pub const EVENT_ID: u16 = 3;
    pub const QUALIFIERS: u16 = 4;
    pub const KEYWORDS: u16 = 5;
    pub const TIME: u16 = 6;
    pub const ACTIVITY: u16 = 7;
    pub const PID: u16 = 8;
    pub const TID: u16 = 9;
    pub const RECORD_ID: u16 = 10;
    pub const VERSION: u16 = 11;
    pub const USER: u16 = 12;
    pub const ETW_RELATED: u16 = 13;
    pub const ETW_PROVIDER: u16 = 14;
    pub const ETW_GUID: u16 = 15;
    pub const ETW_CHANNEL: u16 = 16;
    pub const ETW_DATA: u16 = 17;
    pub const ETW_COUNT: usize = 18;
    pub const CLASSIC_RELATED: u16 = 18;
    pub const CLASSIC_DATA: u16 = 19;
    pub const CLASSIC_COUNT: usize = 20;
}

/// The `<System>` children both envelopes share, from `<EventID>` to `<Execution>`, with the
/// DependencyIds Windows gives them (an element whose value is NULL is left out).
fn system_common(system: Elem, related: u16) -> Elem {
    system
        .elem(
            elem("EventID", slot::EVENT_ID)
                .attr("Qualifiers", opt(slot::QUALIFIERS, ty::U16))
                .child(opt(slot::EVENT_ID, ty::U16)),
        )
        .elem(elem("Version", slot::VERSION).child(opt(slot::VERSION, ty::U8)))
        .elem(elem("Level", slot::LEVEL).child(opt(slot::LEVEL, ty::U8)))
        .elem(elem("Task", slot::TASK).child(opt(slot::TASK, ty::U16)))
        .elem(elem("Opcode", slot::OPCODE).child(opt(slot::OPCODE, ty::U8)))
        .elem(elem("Keywords", slot::KEYWORDS).child(opt(slot::KEYWORDS, ty::HEX64)))
        .elem(elem("TimeCreated", NO_DEP).attr("SystemTime", opt(slot::TIME, ty::FILETIME)))
        .elem(elem("EventRecordID", slot::RECORD_ID).child(opt(slot::RECORD_ID, ty::U64)))
        .elem(
            elem("Correlation", NO_DEP)
                .attr("ActivityID", opt(slot::ACTIVITY, ty::GUID))
                .attr("RelatedActivityID", opt(related, ty::GUID)),
        )
        .elem(
            elem("Execution", NO_DEP)
                .attr("ProcessID", opt(slot::PID, ty::U32))
                .attr("ThreadID", opt(slot::TID, ty::U32)),
        )
}

fn event_root(data_slot: u16, system: Elem) -> Elem {
    elem("Event", data_slot)
        .attr("xmlns", Content::Text(EVENT_NS.into()))
        .elem(system)
        .child(opt(data_slot, ty::BINXML))
}

/// The envelope of manifest (ETW) events: everything but the computer name is substituted.
fn etw_envelope(computer: &str) -> Elem {
    let provider = elem("Provider", NO_DEP)
        .attr("Name", opt(slot::ETW_PROVIDER, ty::STRING))
        .attr("Guid", opt(slot::ETW_GUID, ty::GUID));
    let system = system_common(elem("System", NO_DEP).elem(provider), slot::ETW_RELATED)
        .elem(elem("Channel", slot::ETW_CHANNEL).child(opt(slot::ETW_CHANNEL, ty::STRING)))
        .elem(elem("Computer", NO_DEP).child(Content::Text(computer.into())))
        .elem(elem("Security", NO_DEP).attr("UserID", opt(slot::USER, ty::SID)));
    event_root(slot::ETW_DATA, system)
}

/// The envelope of classic events: provider, GUID (as text), source and channel are literal.
fn classic_envelope(
    provider: &str,
    guid: Option<&str>,
    source: &str,
    channel: &str,
    computer: &str,
) -> Elem {
    let mut p = elem("Provider", NO_DEP).attr("Name", Content::Text(provider.into()));
    if let Some(guid) = guid {
        p = p.attr("Guid", Content::Text(guid.into()));
    }
    p = p.attr("EventSourceName", Content::Text(source.into()));
    let system = system_common(elem("System", NO_DEP).elem(p), slot::CLASSIC_RELATED)
        .elem(elem("Channel", NO_DEP).child(Content::Text(channel.into())))
        .elem(elem("Computer", NO_DEP).child(Content::Text(computer.into())))
        .elem(elem("Security", NO_DEP).attr("UserID", opt(slot::USER, ty::SID)));
    event_root(slot::CLASSIC_DATA, system)
}

/// `<EventData>` with one `<Data Name="…">` per field (NormalSubstitution), and for classic
/// events with raw data a `<Binary>` element: its value sits after a UInt32 length slot that no
/// element uses, as in real classic records.
fn event_data_element(fields: &[(String, Value)], binary: bool) -> Elem {
    let mut root = elem("EventData", NO_DEP);
    root.open_form = true;
    for (i, (name, value)) in fields.iter().enumerate() {
        let data = elem("Data", NO_DEP)
            .attr("Name", Content::Text(name.clone()))
            .child(Content::Subst {
                index: i as u16,
                ty: value.type_code(),
                optional: false,
            });
        root = root.elem(data);
    }
    if binary {
        root = root.elem(elem("Binary", NO_DEP).child(Content::Subst {
            index: fields.len() as u16 + 1,
            ty: ty::BINARY,
            optional: false,
        }));
    }
    root
}

fn check_text(field: &str, text: &str) -> Result<(), WriteError> {
    let units = text.encode_utf16().count();
    if units > usize::from(u16::MAX) {
        return Err(WriteError::ValueTooLarge {
            field: field.to_string(),
            bytes: units * 2,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Substitution values

/// One entry of a substitution array.
enum Sub {
    Plain {
        ty: u8,
        bytes: Vec<u8>,
    },
    /// A BinXML value holding a template instance (the EventData of an event).
    Nested {
        fragment_header: bool,
        template: Arc<Template>,
        values: Vec<Sub>,
    },
}

fn plain(field: &str, value: &Value, nul_terminated: bool) -> Result<Sub, WriteError> {
    // Only a SID's text can fail to encode.
    let bytes = value
        .encode(nul_terminated)
        .ok_or_else(|| WriteError::InvalidSid {
            field: field.to_string(),
            value: match value {
                Value::Sid(s) => s.clone(),
                _ => String::new(),
            },
        })?;
    if bytes.len() > usize::from(u16::MAX) {
        return Err(WriteError::ValueTooLarge {
            field: field.to_string(),
            bytes: bytes.len(),
        });
    }
    Ok(Sub::Plain {
        ty: value.wire_type(),
        bytes,
    })
}

fn opt_value<T>(field: &str, v: Option<T>, f: impl FnOnce(T) -> Value) -> Result<Sub, WriteError> {
    match v {
        Some(v) => plain(field, &f(v), false),
        None => plain(field, &Value::Null, false),
    }
}

/// The envelope's substitution array, in slot order, ending with the nested EventData.
fn envelope_values(
    ev: &EventSpec,
    record_id: u64,
    classic: bool,
    event_data: &Arc<Template>,
) -> Result<Vec<Sub>, WriteError> {
    let mut data = Vec::with_capacity(ev.data.len() + 2);
    for (name, value) in &ev.data {
        // ETW strings carry their NUL; classic insertion strings don't.
        data.push(plain(name, value, !classic)?);
    }
    if let (true, Some(binary)) = (classic, &ev.binary) {
        let len = u32::try_from(binary.len()).unwrap_or(u32::MAX);
        data.push(plain("Binary", &Value::U32(len), false)?);
        data.push(plain("Binary", &Value::Binary(binary.clone()), false)?);
    }
    let nested = Sub::Nested {
        fragment_header: classic,
        template: Arc::clone(event_data),
        values: data,
    };

    // ETW writes an absent Qualifiers as a 2-byte NULL (bytes 01 00) and an absent ActivityID
    // as a 16-byte NULL (stale bytes; zeros here); classic events write empty NULLs.
    let (null_qualifiers, null_activity) = if classic {
        (Vec::new(), Vec::new())
    } else {
        (vec![1, 0], vec![0; 16])
    };
    let or_null = |sub: Sub, filler: Vec<u8>| match sub {
        Sub::Plain { ty: ty::NULL, .. } => Sub::Plain {
            ty: ty::NULL,
            bytes: filler,
        },
        other => other,
    };
    let mut v = vec![
        plain("Level", &Value::U8(ev.level), false)?,
        plain("Opcode", &Value::U8(ev.opcode), false)?,
        plain("Task", &Value::U16(ev.task), false)?,
        plain("EventID", &Value::U16(ev.event_id), false)?,
        or_null(
            opt_value("Qualifiers", ev.qualifiers, Value::U16)?,
            null_qualifiers,
        ),
        plain("Keywords", &Value::HexU64(ev.keywords), false)?,
        plain("TimeCreated", &Value::FileTime(ev.time), false)?,
        or_null(
            opt_value("ActivityID", ev.activity_id, Value::Guid)?,
            null_activity,
        ),
        plain("ProcessID", &Value::U32(ev.process_id), false)?,
        plain("ThreadID", &Value::U32(ev.thread_id), false)?,
        plain("EventRecordID", &Value::U64(record_id), false)?,
        plain("Version", &Value::U8(ev.version), false)?,
        opt_value("UserID", ev.user_sid.clone(), Value::Sid)?,
    ];
    if classic {
        // Slots 13..=17 are unused by the classic envelope; 18 is RelatedActivityID.
        for _ in 13..slot::CLASSIC_COUNT - 1 {
            v.push(plain("", &Value::Null, false)?);
        }
    } else {
        v.push(plain("RelatedActivityID", &Value::Null, false)?);
        v.push(plain(
            "Provider",
            &Value::Str(ev.provider_name.clone()),
            false,
        )?);
        v.push(opt_value("Provider Guid", ev.provider_guid, Value::Guid)?);
        v.push(plain("Channel", &Value::Str(ev.channel.clone()), false)?);
    }
    v.push(nested);
    debug_assert_eq!(
        v.len(),
        if classic {
            slot::CLASSIC_COUNT
        } else {
            slot::ETW_COUNT
        }
    );
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Chunks

struct ChunkBuilder {
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
    fn new() -> Self {
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

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn append(&mut self, id: u64, record: &[u8]) {
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
    fn finish(mut self) -> Vec<u8> {
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

fn file_header(chunk_count: usize, next_record_id: u64) -> Vec<u8> {
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
fn encode_record(
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

struct Encoder<'c> {
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
fn name_hash(name: &str) -> u32 {
    name.encode_utf16().fold(0u32, |h, u| {
        h.wrapping_mul(65599).wrapping_add(u32::from(u))
    })
}

/// The template table's bucket: the same hash over the GUID's 8 little-endian u16s, mod 32
/// (found to hold for every template of the real logs in the evtx crate's samples).
fn template_bucket(guid: Guid) -> usize {
    let bytes = guid.to_bytes_le();
    let h = bytes.chunks(2).fold(0u32, |h, pair| {
        let unit = u16::from_le_bytes([pair[0], pair[1]]);
        h.wrapping_mul(65599).wrapping_add(u32::from(unit))
    });
    (h % 32) as usize
}

// ---------------------------------------------------------------------------------------------
// Value encodings

fn utf16(s: &str, nul_terminated: bool) -> Vec<u8> {
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

fn systemtime(t: &DateTime<Utc>) -> [u8; 16] {
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
fn sid_bytes(text: &str) -> Option<Vec<u8>> {
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

fn fnv1a64(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as EVTX checksums use.
const CRC_TABLE: [u32; 256] = {
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

struct Crc32(u32);

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

fn crc32(bytes: &[u8]) -> u32 {
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
