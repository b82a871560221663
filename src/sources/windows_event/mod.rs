//! What every Windows event looks like to padtriage, whichever file it came from (EVTX or an
//! Event Viewer XML export): a [`RawEvent`] (the System header plus EventData/UserData
//! name/value pairs) and its typed [`Value`]s, and the text helpers the channel sources share.
//!
//! Readers build a `RawEvent`, ask [`select`] whether the record is one padtriage uses *before*
//! building its strings, and hand the survivors to [`to_event_data`], which gives them to the
//! source registered for the record's own `Channel` (never the file name: exported logs are
//! often renamed).

pub use super::registry::{channel_used, FamilyId as Family};
pub use super::service::CHANNEL as CHANNEL_SYSTEM;
use super::{Event, EventData};
use crate::codes;
use crate::model::{SourceRef, Text, Time, TimeBasis};
use std::borrow::Cow;

/// One EventData/UserData value: text as rendered, or a number when the source kept its type
/// (EVTX substitutions). Event XML exports only ever give text. EVTX text and hex numbers stay
/// undecoded until read, so fields no mapper looks at cost nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    /// UTF-16LE text as an EVTX record stores it (up to the first NUL).
    Utf16(&'a [u8]),
    UInt(u64),
    Int(i64),
    /// A HexInt32/HexInt64 value; its text is `0x` and lower-case hex, as Windows renders it.
    Hex(u64),
    /// A binary SID as EVTX stores it; its text is `S-1-5-…`.
    Sid(&'a [u8]),
    /// A GUID as EVTX stores it (little-endian fields); its text is `{…}` in lower case.
    Guid(&'a [u8]),
}

/// `S-1-5-21-…` from a binary SID: revision, sub-authority count, 48-bit big-endian authority,
/// little-endian sub-authorities. `None` when the bytes are too short for the count.
pub fn sid_text(b: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(8 + 11 * usize::from(*b.get(1)?));
    write_sid(b, |part| {
        s.push_str(part);
        true
    })?;
    Some(s)
}

/// A binary SID's text, handed piece by piece to `push` until it returns `false`; whether every
/// piece was taken, or `None` when the bytes are too short for the count.
fn write_sid(b: &[u8], mut push: impl FnMut(&str) -> bool) -> Option<bool> {
    let (&rev, rest) = b.split_first()?;
    let (&count, rest) = rest.split_first()?;
    let auth = rest
        .get(..6)?
        .iter()
        .fold(0u64, |a, x| (a << 8) | u64::from(*x));
    let subs = rest.get(6..6 + 4 * usize::from(count))?;
    let mut digits = itoa::Buffer::new();
    let mut ok = push("S-") && push(digits.format(rev)) && push("-") && push(digits.format(auth));
    for sub in subs.chunks_exact(4) {
        let v = u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]]);
        ok = ok && push("-") && push(digits.format(v));
    }
    Some(ok)
}

/// `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` from a GUID's 16 stored bytes.
pub fn guid_text(g: &[u8]) -> Option<String> {
    let g: &[u8; 16] = g.get(..16)?.try_into().ok()?;
    Some(format!(
        "{{{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    ))
}

/// UTF-16LE bytes up to the first NUL, with unpaired surrogates replaced.
pub fn decode_utf16le(b: &[u8]) -> String {
    // Most event text is ASCII: copy it byte for byte, and decode properly only when it is not.
    let mut ascii = Vec::with_capacity(b.len() / 2);
    // Four units at a time while all are ASCII (high bytes zero, low bytes below 0x80, no NUL).
    let mut quads = b.chunks_exact(8);
    for q in quads.by_ref() {
        let w = u64::from_le_bytes([q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]]);
        if w & 0xff80_ff80_ff80_ff80 != 0 {
            break;
        }
        // A zero 16-bit lane (the units are below 0x80 here).
        if w.wrapping_sub(0x0001_0001_0001_0001) & !w & 0x8000_8000_8000_8000 != 0 {
            break;
        }
        ascii.extend_from_slice(&[q[0], q[2], q[4], q[6]]);
    }
    let done = ascii.len() * 2;
    for unit in b[done..].chunks_exact(2) {
        match (unit[0], unit[1]) {
            (0, 0) => break,
            (lo, 0) if lo.is_ascii() => ascii.push(lo),
            _ => {
                let units = b
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .take_while(|u| *u != 0);
                return char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect();
            }
        }
    }
    String::from_utf8(ascii).unwrap_or_default()
}

impl Value<'_> {
    /// The value as text (numbers in decimal, hex values as `0x…`).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s.as_ref()),
            Value::Utf16(b) => Cow::Owned(decode_utf16le(b)),
            Value::UInt(v) => Cow::Owned(v.to_string()),
            Value::Int(v) => Cow::Owned(v.to_string()),
            Value::Hex(v) => Cow::Owned(format!("0x{v:x}")),
            Value::Sid(b) => Cow::Owned(sid_text(b).unwrap_or_default()),
            Value::Guid(b) => Cow::Owned(guid_text(b).unwrap_or_default()),
        }
    }

    /// The value as a 32-bit code: numbers that fit, negative 32-bit numbers as their two's
    /// complement (NTSTATUS printed signed), and text in any spelling `codes::parse_status` reads.
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            Value::UInt(v) => u32::try_from(*v).ok(),
            Value::Int(v) => {
                if let Ok(u) = u32::try_from(*v) {
                    Some(u)
                } else {
                    i32::try_from(*v).ok().map(|i| i as u32)
                }
            }
            Value::Hex(v) => u32::try_from(*v).ok(),
            Value::Str(s) => codes::parse_status(s),
            Value::Utf16(b) => codes::parse_status(&decode_utf16le(b)),
            Value::Sid(_) | Value::Guid(_) => None,
        }
    }

    pub(crate) fn is_number(&self) -> bool {
        matches!(self, Value::UInt(_) | Value::Int(_) | Value::Hex(_))
    }
}

/// A borrowed view of one Windows event: what the System header says plus the EventData
/// (`<Data Name=..>`) or UserData leaf values, in document order. Unnamed `<Data>` elements have
/// an empty name.
#[derive(Debug, Clone)]
pub struct RawEvent<'a> {
    pub provider: Option<Cow<'a, str>>,
    pub channel: Option<Cow<'a, str>>,
    pub event_id: u32,
    pub level: Option<u8>,
    pub computer: Option<Cow<'a, str>>,
    /// `System/Security/@UserID`.
    pub user_id: Option<Cow<'a, str>>,
    pub record_id: Option<u64>,
    pub time: Time,
    /// EVTX stores UTC; an XML export's `SystemTime` may lack its `Z`.
    pub time_basis: TimeBasis,
    pub data: Vec<(Cow<'a, str>, Value<'a>)>,
}

impl<'a> RawEvent<'a> {
    /// The first value with this name (exact match).
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.data.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The value at 1-based `param{n}` or, failing that, at position `n`.
    pub(crate) fn param(&self, n: usize) -> Option<&Value<'a>> {
        self.get(&format!("param{n}"))
            .or_else(|| self.data.get(n.wrapping_sub(1)).map(|(_, v)| v))
    }
}

/// Whether padtriage uses a record with this channel, provider and event id, and as what.
/// Cheap: readers call it before building any other string of the record.
pub fn select(channel: &str, provider: Option<&str>, event_id: u32) -> Option<Family> {
    super::registry::select(channel, provider, event_id)
}

/// The typed payload of a record padtriage uses, or `None` (the caller counts it as ignored).
pub fn to_event_data(raw: &RawEvent<'_>) -> Option<EventData> {
    super::registry::from_windows_event(raw)
}

/// [`to_event_data`] wrapped into a timeline [`Event`] at `source`.
pub fn to_event(raw: &RawEvent<'_>, source: SourceRef) -> Option<Event> {
    to_event_data(raw).map(|data| Event {
        time: raw.time,
        time_basis: raw.time_basis,
        source,
        machine: raw.computer.as_deref().and_then(clean_str),
        data,
    })
}

/// Trimmed text, with the placeholders Windows writes for "nothing" (`-`, empty, the null SID)
/// turned into `None`.
pub(crate) fn clean(s: Option<Cow<'_, str>>) -> Option<String> {
    let s = s?;
    let t = s.trim();
    if t.is_empty() || t == "-" || t == "S-1-0-0" {
        None
    } else if t.len() == s.len() {
        Some(s.into_owned())
    } else {
        Some(t.to_string())
    }
}

/// [`clean`] into [`Text`], without a heap allocation for the usual short value: UTF-16 and
/// SIDs are written to the stack first, and text of up to 24 bytes is stored inline.
pub(crate) fn clean_text(v: &Value<'_>) -> Option<Text> {
    let mut buf = StackText::default();
    match v {
        Value::Utf16(b) if buf.utf16(b) => clean_str(buf.as_str()),
        Value::Sid(b) if buf.sid(b) => clean_str(buf.as_str()),
        other => clean_str(&other.text()),
    }
}

pub(crate) fn clean_str(s: &str) -> Option<Text> {
    let t = s.trim();
    (!(t.is_empty() || t == "-" || t == "S-1-0-0")).then(|| Text::from(t))
}

/// ASCII text built on the stack; `false` when the value does not fit or is not ASCII (the
/// caller then takes the general path).
struct StackText {
    buf: [u8; 96],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            buf: [0; 96],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        // Only ASCII bytes are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    fn push(&mut self, b: u8) -> bool {
        match self.buf.get_mut(self.len) {
            Some(slot) if b.is_ascii() => {
                *slot = b;
                self.len += 1;
                true
            }
            _ => false,
        }
    }

    /// UTF-16LE up to the first NUL, if all ASCII.
    fn utf16(&mut self, b: &[u8]) -> bool {
        for unit in b.chunks_exact(2) {
            match (unit[0], unit[1]) {
                (0, 0) => break,
                (lo, 0) if self.push(lo) => {}
                _ => return false,
            }
        }
        true
    }

    fn push_str(&mut self, s: &str) -> bool {
        s.bytes().all(|b| self.push(b))
    }

    /// A binary SID as [`sid_text`] writes it.
    fn sid(&mut self, b: &[u8]) -> bool {
        write_sid(b, |part| self.push_str(part)).unwrap_or(false)
    }
}

/// Field names compared without case, spaces or underscores (`Exit code` = `ExitCode`).
pub(crate) fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests;
