//! The `evtx` crate's record iterator, for chunks the walker does not vouch for: exact crate
//! semantics (its errors, its resynchronisation after a bad record), each record rendered to
//! JSON. Only the System fields record selection needs are read from a record's JSON, and the
//! whole document is parsed for the records kept, into the same [`RawEvent`] the walker builds.

use super::{grouped, ChunkOutcome, Work, CHUNK_SIZE};
use crate::model::Time;
use crate::sources::windows_event::{self as we, RawEvent, Value};
use evtx::err::EvtxError;
use evtx::{EvtxChunk, EvtxRecord};
use std::borrow::Cow;

/// Where a record error is and what it says, with the causes the crate chains.
fn describe_error(e: &EvtxError, chunk: u64) -> (String, String) {
    let at = match e {
        EvtxError::FailedToReadRecordAt { offset, .. } => {
            format!("chunk {chunk} offset {offset:#x}")
        }
        EvtxError::FailedToParseRecord { record_id, .. } => {
            format!("record {record_id} (chunk {chunk})")
        }
        _ => format!("chunk {chunk}"),
    };
    (at, chain(e))
}

/// An error and the causes it wraps, `: `-joined.
pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

fn to_time(ts: evtx::Timestamp) -> Option<Time> {
    let ns = ts.as_nanosecond();
    let secs = i64::try_from(ns.div_euclid(1_000_000_000)).ok()?;
    let nanos = u32::try_from(ns.rem_euclid(1_000_000_000)).ok()?;
    chrono::DateTime::from_timestamp(secs, nanos)
}

/// Whether a record with this header is kept (before any other string is built).
/// Read a chunk's records through the crate's iterator (`len` < `CHUNK_SIZE` for a chunk cut
/// short: only its whole records count).
pub(super) fn crate_records(
    work: &Work,
    out: &mut ChunkOutcome,
    chunk: &mut EvtxChunk<'_>,
    len: usize,
) {
    let truncated = len < CHUNK_SIZE;
    let number = out.number;
    let mut cut = 0u64;
    for item in chunk.iter() {
        match item {
            Err(e) => {
                out.errors += 1;
                let (at, message) = describe_error(&e, number);
                out.problem("bad_record", at, message);
            }
            Ok(rec) => {
                // In a chunk cut short only records that end before the cut are whole.
                let end = rec.binxml_offset + u64::from(rec.binxml_size) + 4;
                if truncated && end > len as u64 {
                    out.errors += 1;
                    cut += 1;
                    continue;
                }
                json_record(work, out, rec);
            }
        }
    }
    if truncated {
        let at = format!("chunk {number}");
        out.problem(
            "truncated",
            at,
            format!(
                "the file ends {} bytes into chunk {number}, which should be {} bytes long: {} records read from it, {cut} cut off, the rest lost",
                grouped(len as u64),
                grouped(CHUNK_SIZE as u64),
                out.records
            ),
        );
    }
}

/// One record through the crate's JSON rendering.
fn json_record(work: &Work, out: &mut ChunkOutcome, rec: EvtxRecord<'_>) {
    let id = rec.event_record_id;
    let number = out.number;
    let at = || format!("record {id} (chunk {number})");
    let Some(time) = to_time(rec.timestamp) else {
        out.errors += 1;
        out.problem("bad_record", at(), "record time is out of range".into());
        return;
    };
    let place = at();
    // Rendered to JSON by the crate; only the System fields selection needs are read from it,
    // and the whole document is parsed for the records kept.
    let parsed = rec
        .into_json_bytes()
        .and_then(|r| {
            String::from_utf8(r.data)
                .map_err(|e| EvtxError::from(evtx::err::SerializationError::from(e)))
        })
        .and_then(|text| {
            let mut de = serde_json::Deserializer::from_str(&text);
            let head = serde::de::DeserializeSeed::deserialize(
                Member("Event", Member("System", SystemSeed)),
                &mut de,
            )
            .and_then(|h| de.end().map(|()| h))
            .map_err(|e| EvtxError::from(evtx::err::SerializationError::from(e)))?;
            Ok((text, head.flatten()))
        });
    let (text, head) = match parsed {
        Ok(p) => p,
        Err(e) => {
            out.errors += 1;
            out.problem("bad_record", place, chain(&e));
            return;
        }
    };
    out.records += 1;
    let Some(head) = head else {
        out.see(time, None);
        out.ignored += 1;
        return;
    };
    let channel = json_text(head.channel.as_ref()).map(|v| v.text().into_owned());
    let provider = json_attr(head.provider.as_ref(), "Name");
    let event_id = json_text(head.event_id.as_ref())
        .and_then(|v| v.as_u32())
        .unwrap_or(0);
    out.see(time, channel.as_deref());
    let family = channel
        .as_deref()
        .and_then(|c| we::select(c, provider.as_deref(), event_id));
    if let Some(f) = family {
        out.see_kind(f, event_id);
    }
    let keep = family.is_some() && work.filter.keeps_time(time);
    let raw = keep
        .then(|| serde_json::from_str::<J>(&text).ok())
        .flatten()
        .and_then(|json| raw_from_json(&json, id, time));
    match raw {
        Some(raw) => {
            if let Some(c) = raw.computer.as_deref() {
                out.see_computer(c);
            }
            out.keep(work, id, &raw);
        }
        None => out.ignored += 1,
    }
}

/// Reads one member of a JSON object (the last of that name, as `serde_json::Value` keeps it)
/// with the inner seed, skipping everything else unbuilt; `None` when the value is no object or
/// has no such member.
#[derive(Clone, Copy)]
struct Member<S>(&'static str, S);

impl<'de, S> serde::de::DeserializeSeed<'de> for Member<S>
where
    S: serde::de::DeserializeSeed<'de> + Copy,
{
    type Value = Option<S::Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S> serde::de::Visitor<'de> for Member<S>
where
    S: serde::de::DeserializeSeed<'de> + Copy,
{
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = m.next_key::<String>()? {
            if key == self.0 {
                found = Some(m.next_value_seed(self.1)?);
            } else {
                m.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The `Event/System` members record selection reads.
#[derive(Default)]
struct Head {
    channel: Option<J>,
    event_id: Option<J>,
    provider: Option<J>,
}

/// Reads [`Head`] from the System value: none of its members when it is no object, as
/// `Value::get` sees it.
#[derive(Clone, Copy)]
struct SystemSeed;

impl<'de> serde::de::DeserializeSeed<'de> for SystemSeed {
    type Value = Head;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Head, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SystemSeed {
    type Value = Head;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Head, A::Error> {
        let mut h = Head::default();
        while let Some(key) = m.next_key::<String>()? {
            match key.as_str() {
                "Channel" => h.channel = Some(m.next_value()?),
                "EventID" => h.event_id = Some(m.next_value()?),
                "Provider" => h.provider = Some(m.next_value()?),
                _ => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(h)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Head, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Head::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Head, E> {
        Ok(Head::default())
    }
    fn visit_unit<E>(self) -> Result<Head, E> {
        Ok(Head::default())
    }
}

type J = serde_json::Value;

fn json_value(j: &J) -> Option<Value<'static>> {
    match j {
        J::Null => None,
        J::Bool(b) => Some(Value::Str(Cow::Borrowed(if *b { "true" } else { "false" }))),
        J::Number(n) => Some(if let Some(u) = n.as_u64() {
            Value::UInt(u)
        } else if let Some(i) = n.as_i64() {
            Value::Int(i)
        } else {
            Value::Str(Cow::Owned(n.to_string()))
        }),
        J::String(s) => Some(Value::Str(Cow::Owned(s.clone()))),
        J::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(json_value)
                .map(|v| v.text().into_owned())
                .collect();
            Some(Value::Str(Cow::Owned(parts.join(","))))
        }
        J::Object(m) => m.get("#text").and_then(json_value),
    }
}

fn json_attr(node: Option<&J>, name: &str) -> Option<String> {
    node?
        .get("#attributes")?
        .get(name)
        .and_then(json_value)
        .map(|v| v.text().into_owned())
}

fn json_text(node: Option<&J>) -> Option<Value<'static>> {
    node.and_then(json_value)
}

/// Leaf values under UserData, named by their element.
fn flatten_user_data(name: &str, j: &J, out: &mut Vec<(Cow<'static, str>, Value<'static>)>) {
    match j {
        J::Object(m) => {
            for (k, child) in m {
                if k == "#attributes" {
                    continue;
                }
                if k == "#text" {
                    if let Some(v) = json_value(child) {
                        out.push((Cow::Owned(name.to_string()), v));
                    }
                } else {
                    flatten_user_data(k, child, out);
                }
            }
        }
        J::Array(items) => {
            for item in items {
                flatten_user_data(name, item, out);
            }
        }
        other => {
            if let Some(v) = json_value(other) {
                out.push((Cow::Owned(name.to_string()), v));
            }
        }
    }
}

/// The event view of the crate's JSON rendering (`#attributes`/`#text` layout).
fn raw_from_json(j: &J, record_id: u64, time: Time) -> Option<RawEvent<'static>> {
    let ev = j.get("Event")?;
    let sys = ev.get("System")?;
    let str_of = |node: Option<&J>| json_text(node).map(|v| Cow::Owned(v.text().into_owned()));
    let mut data = Vec::new();
    if let Some(J::Object(m)) = ev.get("EventData") {
        for (k, v) in m {
            match k.as_str() {
                "#attributes" | "Binary" => {}
                "Data" | "#text" => {
                    // Unnamed <Data> elements: one value or an array of them.
                    let inner = v.get("#text").unwrap_or(v);
                    match inner {
                        J::Array(items) => {
                            for item in items {
                                if let Some(val) = json_value(item) {
                                    data.push((Cow::Borrowed(""), val));
                                }
                            }
                        }
                        other => {
                            if let Some(val) = json_value(other) {
                                data.push((Cow::Borrowed(""), val));
                            }
                        }
                    }
                }
                _ => {
                    if let Some(val) = json_value(v) {
                        data.push((Cow::Owned(k.clone()), val));
                    }
                }
            }
        }
    }
    if let Some(J::Object(m)) = ev.get("UserData") {
        for (k, v) in m {
            if k != "#attributes" {
                flatten_user_data(k, v, &mut data);
            }
        }
    }
    Some(RawEvent {
        provider: json_attr(sys.get("Provider"), "Name").map(Cow::Owned),
        channel: str_of(sys.get("Channel")),
        event_id: json_text(sys.get("EventID"))
            .and_then(|v| v.as_u32())
            .unwrap_or(0),
        level: json_text(sys.get("Level"))
            .and_then(|v| v.as_u32())
            .and_then(|l| u8::try_from(l).ok()),
        computer: str_of(sys.get("Computer")),
        user_id: json_attr(sys.get("Security"), "UserID").map(Cow::Owned),
        record_id: Some(record_id),
        time,
        time_basis: crate::model::TimeBasis::Utc,
        data,
    })
}
