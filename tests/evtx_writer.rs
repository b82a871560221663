//! The EVTX writer's output, read back with the `evtx` crate: file/chunk/record structure and
//! checksums, every value as the crate renders it, template and name reuse per chunk, and
//! deterministic bytes.

use chrono::{DateTime, Duration, TimeZone, Utc};
use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxParser, ParserSettings};
use padtriage_testkit::events::*;
use padtriage_testkit::evtx_writer::{
    EventSpec, EvtxWriter, Guid, Value, WriteError, CHUNK_HEADER_SIZE, CHUNK_SIZE, FILE_HEADER_SIZE,
};
use serde_json::{json, Value as Json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const PC: &str = "PC1.contoso.com";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 8, 0, 0).unwrap() + Duration::nanoseconds(1_234_500)
}

fn alice() -> Principal {
    Principal::entra(
        "AliceW",
        Guid::from_u128(0x6f1c2a3b_4d5e_4f60_8a9b_0c1d2e3f4a5b),
    )
}

/// One event with a field of every value type, an activity id and qualifiers.
fn all_types(time: DateTime<Utc>, i: u32) -> EventSpec {
    let f = |n: &str, v: Value| (n.to_string(), v);
    EventSpec {
        provider_name: "Contoso-Demo".into(),
        provider_guid: None,
        event_id: 42,
        qualifiers: Some(16384),
        version: 3,
        level: LEVEL_INFO,
        task: 7,
        opcode: 1,
        keywords: 0x8000_0000_0000_0042,
        time,
        activity_id: Some(Guid::derived(&format!("activity {i}"))),
        process_id: 4321,
        thread_id: 8765,
        channel: "Application".into(),
        computer: PC.into(),
        user_sid: Some(alice().sid),
        data: vec![
            f("Null", Value::Null),
            f("Str", Value::Str(format!("text {i} é ✓"))),
            f("Ansi", Value::AnsiStr(format!("ansi {i}"))),
            f("U8", Value::U8(i as u8)),
            f("U16", Value::U16(i as u16 * 3)),
            f("U32", Value::U32(0xdead_0000 + i)),
            f("U64", Value::U64(u64::MAX - u64::from(i))),
            f("I32", Value::I32(-(i as i32))),
            f("Hex32", Value::HexU32(0xc000_006d)),
            f("Hex64", Value::HexU64(0x1_0000_0000 + u64::from(i))),
            f("SizeT", Value::SizeT(0x16d8)),
            f("Bool", Value::Bool(i.is_multiple_of(2))),
            f("Guid", Value::Guid(Guid::derived(&format!("g{i}")))),
            f("FileTime", Value::FileTime(time - Duration::hours(1))),
            f("SysTime", Value::SysTime(time - Duration::days(1))),
            f("Sid", Value::Sid(format!("S-1-5-21-1-2-3-{}", 1000 + i))),
            f("Binary", Value::Binary(vec![0, 1, 0xab, i as u8])),
        ],
        ..Default::default()
    }
}

/// `n` records mixing every builder (and so many template shapes), plus noise.
fn mixed(n: usize) -> Vec<EventSpec> {
    let mut rng = Lcg::new(7);
    let mut noise = noise(99, t0(), PC);
    (0..n)
        .map(|i| {
            let t = t0() + Duration::milliseconds(i as i64 * 1375) + Duration::nanoseconds(100);
            let r = rng.below(1000);
            let mut l = Logon::new(t, PC, alice(), [2, 3, 5, 10][r as usize % 4]);
            match i % 20 {
                0 => security_4624(&l),
                1 => {
                    l.status = 0xc000_006d;
                    l.sub_status = [0xc000_006a, 0xc000_0064, 0][r as usize % 3];
                    l.logon_process = LOGON_PROCESS_ADVAPI.into();
                    security_4625(&l)
                }
                2 => security_4648(&l),
                3 => security_4634(&l),
                4 => security_4647(&l),
                5 => security_4672(t, PC, &alice(), 0x5_2f3a1, ADMIN_PRIVILEGES),
                6 => security_4740(t, PC, &alice(), "PC1", &Principal::system()),
                7 => security_4776(t, PC, "alice", "PC1", [0, 0xc000_006a][r as usize % 2]),
                8 => aad_1098(
                    t,
                    PC,
                    &alice().sid,
                    0xcaa5_001c,
                    "Token broker operation failed.",
                    &format!("Operation name: GetTokenSilently, Error: -2146959355 ({r})"),
                ),
                9 => aad_1097(t, PC, &alice().sid, 0x8aa5_00db, "Cache partitioned.", ""),
                10 => aad_1081(
                    t,
                    PC,
                    &alice().sid,
                    "invalid_grant",
                    "AADSTS50126: Error validating credentials due to invalid username or password.",
                    &Guid::derived(&i.to_string()).to_string(),
                ),
                11 => aad_1104(t, PC, &alice().sid, "Get token", 0xc000_005f),
                12 => aad_1085(t, PC, &alice().sid, 0xc000_006d, "c0ffee"),
                13 => aad_1094(t, PC, &alice().sid, 0xc004_844c, "c0ffee"),
                14 => match r % 4 {
                    0 => udr_304(t, PC, 0x801c_001d, "", "Managed", "sync", "joinMode: Join"),
                    1 => udr_305(t, PC, 0xcaa9_0014, "AADSTS90002", "Federated", "contoso"),
                    2 => udr_307(t, PC, 0x801c_001d),
                    _ => udr_step_failed(204, t, PC, 0x801c_03f2),
                },
                15 => match r % 3 {
                    0 => udr_334(t, PC),
                    1 => udr_335(t, PC),
                    _ => udr_360(t, PC, &alice().sid, &WhfbCheck::default()),
                },
                16 => match r % 3 {
                    0 => scm_7000(t, "PC1", "Power Automate service", "UIFlowService", 1069),
                    1 => scm_7034(t, "PC1", "Power Automate service", "UIFlowService", r),
                    _ => scm_7038(t, "PC1", "UIFlowService", r"PC1\robot", 1326),
                },
                17 => all_types(t, i as u32),
                _ => EventSpec {
                    time: t,
                    ..noise.next().unwrap()
                },
            }
        })
        .collect()
}

/// How the evtx crate renders times: seven fractional digits, `Z`.
fn time_text(t: &DateTime<Utc>) -> String {
    let ticks = t.timestamp_subsec_nanos() / 100;
    format!("{}.{ticks:07}Z", t.format("%Y-%m-%dT%H:%M:%S"))
}

fn braced(g: &Guid) -> String {
    format!("{{{g}}}")
}

/// A value as the evtx crate renders it in JSON.
fn rendered(v: &Value) -> Json {
    match v {
        Value::Null => json!(""),
        Value::Str(s) | Value::AnsiStr(s) | Value::Sid(s) => json!(s),
        Value::U8(n) => json!(n),
        Value::U16(n) => json!(n),
        Value::U32(n) => json!(n),
        Value::U64(n) => json!(n),
        Value::I32(n) => json!(n),
        Value::HexU32(n) => json!(format!("0x{n:x}")),
        Value::HexU64(n) | Value::SizeT(n) => json!(format!("0x{n:x}")),
        Value::Bool(b) => json!(b),
        Value::Guid(g) => json!(braced(g)),
        Value::FileTime(t) => json!(time_text(t)),
        Value::SysTime(t) => {
            let ms = *t - Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos() % 1_000_000));
            json!(time_text(&ms))
        }
        Value::Binary(b) => json!(b.iter().map(|x| format!("{x:02X}")).collect::<String>()),
    }
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// The whole JSON document the evtx crate should produce for `ev` as record `id`.
fn expected_json(ev: &EventSpec, id: u64) -> Json {
    let mut provider = serde_json::Map::new();
    provider.insert("Name".into(), json!(ev.provider_name));
    if let Some(g) = ev.provider_guid {
        provider.insert("Guid".into(), json!(braced(&g)));
    }
    if let Some(source) = &ev.event_source_name {
        provider.insert("EventSourceName".into(), json!(source));
    }
    let event_id = match ev.qualifiers {
        Some(q) => json!({"#attributes": {"Qualifiers": q}, "#text": ev.event_id}),
        None => json!(ev.event_id),
    };
    let correlation = match ev.activity_id {
        Some(g) => json!({"#attributes": {"ActivityID": braced(&g)}}),
        None => Json::Null,
    };
    let security = match &ev.user_sid {
        Some(sid) => json!({"#attributes": {"UserID": sid}}),
        None => Json::Null,
    };
    let mut data = serde_json::Map::new();
    for (name, value) in &ev.data {
        data.insert(name.clone(), rendered(value));
    }
    if let (Some(_), Some(binary)) = (&ev.event_source_name, &ev.binary) {
        data.insert("Binary".into(), json!(hex_upper(binary)));
    }
    let event_data = if data.is_empty() {
        Json::Null
    } else {
        Json::Object(data)
    };
    json!({"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": provider},
            "EventID": event_id,
            "Version": ev.version,
            "Level": ev.level,
            "Task": ev.task,
            "Opcode": ev.opcode,
            "Keywords": format!("0x{:x}", ev.keywords),
            "TimeCreated": {"#attributes": {"SystemTime": time_text(&ev.time)}},
            "EventRecordID": id,
            "Correlation": correlation,
            "Execution": {"#attributes": {"ProcessID": ev.process_id, "ThreadID": ev.thread_id}},
            "Channel": ev.channel,
            "Computer": ev.computer,
            "Security": security,
        },
        "EventData": event_data,
    }})
}

fn open(bytes: Vec<u8>) -> EvtxParser<std::io::Cursor<Vec<u8>>> {
    let settings = ParserSettings::default()
        .num_threads(1)
        .validate_checksums(true);
    EvtxParser::from_buffer(bytes)
        .unwrap()
        .with_configuration(settings)
}

fn nanos(t: &DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos() / 100 * 100)
}

#[test]
fn multi_chunk_file_reads_back_value_for_value() {
    let events = mixed(3000);
    let bytes = EvtxWriter::build(&events).unwrap();
    let chunks = (bytes.len() - FILE_HEADER_SIZE) / CHUNK_SIZE;
    assert_eq!((bytes.len() - FILE_HEADER_SIZE) % CHUNK_SIZE, 0);
    assert!(
        chunks >= 3,
        "3000 records should need several chunks, got {chunks}"
    );

    let mut parser = open(bytes);
    let header = parser.header();
    assert!(header.validate_checksum(), "file header CRC32");
    assert_eq!(usize::from(header.chunk_count), chunks);
    assert_eq!(header.last_chunk_number, chunks as u64 - 1);
    assert_eq!(header.next_record_id, 3001);
    assert_eq!((header.major_version, header.minor_version), (3, 1));

    let mut seen = 0;
    for (i, record) in parser.records_json_value().enumerate() {
        let record = record.unwrap_or_else(|e| panic!("record {}: {e}", i + 1));
        let ev = &events[i];
        let id = i as u64 + 1;
        assert_eq!(record.event_record_id, id);
        assert_eq!(record.timestamp.as_nanosecond(), nanos(&ev.time));
        assert_eq!(record.data, expected_json(ev, id), "record {id}");
        seen += 1;
    }
    assert_eq!(seen, 3000);
}

#[test]
fn every_chunk_passes_checksum_validation() {
    let mut parser = open(EvtxWriter::build(&mixed(1500)).unwrap());
    let mut ids = Vec::new();
    for chunk in parser.chunks() {
        let chunk = chunk.expect("chunk reads with checksum validation on");
        assert!(chunk.validate_checksum());
        assert!(chunk.validate_header_checksum() && chunk.validate_data_checksum());
        assert_eq!(chunk.header.header_size, 128);
        assert!(chunk.header.free_space_offset as usize <= CHUNK_SIZE);
        ids.push((
            chunk.header.first_event_record_id,
            chunk.header.last_event_record_id,
        ));
    }
    // Chunks hold consecutive ranges that cover every record.
    assert_eq!(ids.first().unwrap().0, 1);
    assert_eq!(ids.last().unwrap().1, 1500);
    for pair in ids.windows(2) {
        assert_eq!(pair[0].1 + 1, pair[1].0);
    }
}

/// A TemplateInstance inside a BinXML substitution value: its definition offset, whether the
/// definition is inline, its GUID bytes if so, and its substitution array as (type, bytes).
struct Nested {
    def_offset: u32,
    inline_guid: Option<[u8; 16]>,
    values: Vec<(u8, Vec<u8>)>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Decode the nested instance in `value`, which starts at `offset` in its chunk.
fn nested(value: &[u8], offset: usize) -> Nested {
    let skip = if value[0] == 0x0f { 4 } else { 0 };
    let b = &value[skip..];
    assert_eq!(b[0], 0x0c, "TemplateInstance token");
    let def_offset = u32_at(b, 6);
    let inline = def_offset as usize == offset + skip + 10;
    let (inline_guid, mut at) = if inline {
        let size = u32_at(b, 30) as usize;
        (Some(b[14..30].try_into().unwrap()), 34 + size)
    } else {
        (None, 10)
    };
    let count = u32_at(b, at) as usize;
    at += 4;
    let descriptors: Vec<(usize, u8)> = (0..count)
        .map(|i| {
            let d = &b[at + 4 * i..at + 4 * i + 4];
            (usize::from(u16::from_le_bytes([d[0], d[1]])), d[2])
        })
        .collect();
    at += 4 * count;
    let mut values = Vec::new();
    for (size, ty) in descriptors {
        values.push((ty, b[at..at + size].to_vec()));
        at += size;
    }
    assert_eq!(b[at], 0x00, "EndOfFragment after the nested instance");
    Nested {
        def_offset,
        inline_guid,
        values,
    }
}

/// The EventData shape of a record: what the writer keys its templates on.
fn shape(ev: &EventSpec) -> String {
    let fields: Vec<String> = ev
        .data
        .iter()
        .map(|(n, v)| format!("{n}:{}", v.type_code()))
        .collect();
    format!(
        "{}|{}|{}|{}|{}",
        ev.provider_name,
        ev.event_id,
        ev.version,
        ev.binary.is_some(),
        fields.join(",")
    )
}

/// The offsets the chunk's template table lists, following each bucket's chain.
fn template_table(chunk: &[u8]) -> HashSet<u32> {
    let mut out = HashSet::new();
    for bucket in 0..32 {
        let mut offset = u32_at(chunk, 384 + 4 * bucket);
        while offset != 0 {
            assert!(out.insert(offset), "template {offset:#x} listed twice");
            offset = u32_at(chunk, offset as usize);
        }
    }
    out
}

#[test]
fn templates_are_defined_once_per_chunk_and_referenced_after() {
    let events = mixed(2500);
    let mut parser = open(EvtxWriter::build(&events).unwrap());
    let settings = Arc::new(ParserSettings::default());
    let mut chunk_count = 0;
    // Shape -> number of chunks that define it.
    let mut defined_in: HashMap<String, usize> = HashMap::new();
    for chunk_data in parser.chunks() {
        let mut chunk_data = chunk_data.unwrap();
        let raw = chunk_data.data.clone();
        let mut chunk = chunk_data.parse(Arc::clone(&settings)).unwrap();
        chunk_count += 1;
        // Envelope (computer, classic) and EventData shape -> definition offset.
        let mut envelopes: HashMap<(String, bool), u32> = HashMap::new();
        let mut shapes: HashMap<String, u32> = HashMap::new();
        let mut inline_offsets = HashSet::new();
        for record in chunk.iter() {
            let record = record.unwrap();
            let ev = &events[record.event_record_id as usize - 1];
            let instances = record.template_instances().unwrap();
            assert_eq!(instances.len(), 1, "one top-level instance per record");
            let outer = &instances[0];
            let key = (ev.computer.clone(), ev.event_source_name.is_some());
            match envelopes.get(&key) {
                None => {
                    assert!(outer.template_guid.is_some(), "first use is inline");
                    envelopes.insert(key, outer.template_def_offset);
                    inline_offsets.insert(outer.template_def_offset);
                }
                Some(&offset) => {
                    assert!(outer.template_guid.is_none(), "later uses reference it");
                    assert_eq!(outer.template_def_offset, offset);
                }
            }
            let Some(BinXmlValue::BinXmlType(bytes)) = outer.values.last() else {
                panic!("the envelope ends with the EventData BinXML value");
            };
            let at = bytes.as_ptr() as usize - record.chunk.data.as_ptr() as usize;
            let inner = nested(bytes, at);
            match shapes.get(&shape(ev)) {
                None => {
                    assert!(inner.inline_guid.is_some(), "{}: inline first", shape(ev));
                    shapes.insert(shape(ev), inner.def_offset);
                    inline_offsets.insert(inner.def_offset);
                    *defined_in.entry(shape(ev)).or_default() += 1;
                }
                Some(&offset) => {
                    assert!(inner.inline_guid.is_none(), "{}: referenced", shape(ev));
                    assert_eq!(inner.def_offset, offset);
                }
            }
        }
        // The chunk's template table lists exactly the definitions its records hold.
        assert_eq!(template_table(&raw), inline_offsets);
    }
    assert!(chunk_count >= 3);
    // Shapes seen in every chunk are defined anew in each (noise 4624 is in all of them).
    let noise_shape = shape(&security_4624(&Logon::new(
        t0(),
        PC,
        Principal::system(),
        5,
    )));
    assert_eq!(defined_in[&noise_shape], chunk_count);
}

#[test]
fn names_are_written_once_per_chunk_in_the_string_table() {
    let bytes = EvtxWriter::build(&mixed(1200)).unwrap();
    let hash = |s: &str| {
        s.encode_utf16().fold(0u32, |h, u| {
            h.wrapping_mul(65599).wrapping_add(u32::from(u))
        })
    };
    let mut chunks = 0;
    for chunk in bytes[FILE_HEADER_SIZE..].chunks(CHUNK_SIZE) {
        chunks += 1;
        let mut names = HashSet::new();
        for bucket in 0..64 {
            let mut offset = u32_at(chunk, 128 + 4 * bucket) as usize;
            while offset != 0 {
                let stored = u16::from_le_bytes([chunk[offset + 4], chunk[offset + 5]]);
                let len = usize::from(u16::from_le_bytes([chunk[offset + 6], chunk[offset + 7]]));
                let units: Vec<u16> = chunk[offset + 8..offset + 8 + 2 * len]
                    .chunks(2)
                    .map(|p| u16::from_le_bytes([p[0], p[1]]))
                    .collect();
                let name = String::from_utf16(&units).unwrap();
                assert_eq!(stored, hash(&name) as u16, "{name}");
                assert_eq!(hash(&name) as usize % 64, bucket, "{name}");
                assert!(names.insert(name.clone()), "{name} twice in a chunk");
                offset = u32_at(chunk, offset) as usize;
            }
        }
        for expected in ["Event", "System", "EventData", "Data", "Name", "UserID"] {
            assert!(names.contains(expected), "chunk {chunks} lacks {expected}");
        }
        // Each name's text appears once in the chunk: later uses are by offset.
        // (An inline name is its length, its UTF-16 text and a NUL.)
        let data_name: Vec<u8> = "\u{4}Data\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let occurrences = chunk
            .windows(data_name.len())
            .filter(|w| *w == data_name)
            .count();
        assert_eq!(occurrences, 1, "chunk {chunks}");
    }
    assert!(chunks >= 2);
}

fn utf16z(s: &str) -> Vec<u8> {
    let mut b: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    b.extend([0, 0]);
    b
}

#[test]
fn chunk_api_yields_typed_substitutions_in_order() {
    let time = t0();
    let mut l = Logon::new(
        time,
        PC,
        Principal::new("bob@contoso.com", "", "S-1-0-0"),
        2,
    );
    l.status = 0xc000_006d;
    l.sub_status = 0xc000_006a;
    l.logon_process = LOGON_PROCESS_ADVAPI.into();
    let failure = security_4625(&l);
    let service = scm_7000(time, "PC1", "Power Automate service", "UIFlowService", 1069);
    let bytes = EvtxWriter::build(&[failure.clone(), service]).unwrap();
    let mut parser = open(bytes);
    let mut chunk_data = parser.chunks().next().unwrap().unwrap();
    let mut chunk = chunk_data
        .parse(Arc::new(ParserSettings::default()))
        .unwrap();
    let records: Vec<_> = chunk.iter().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);

    // The 4625: the 18-slot ETW envelope…
    let outer = records[0].template_instances().unwrap().remove(0);
    let v = &outer.values;
    assert_eq!(v.len(), 18);
    assert!(matches!(v[0], BinXmlValue::UInt8Type(0))); // Level
    assert!(matches!(v[1], BinXmlValue::UInt8Type(0))); // Opcode
    assert!(matches!(v[2], BinXmlValue::UInt16Type(TASK_LOGON)));
    assert!(matches!(v[3], BinXmlValue::UInt16Type(4625)));
    assert!(matches!(v[4], BinXmlValue::NullType)); // Qualifiers
    assert!(matches!(
        v[5],
        BinXmlValue::HexInt64Type(KEYWORDS_AUDIT_FAILURE)
    ));
    let BinXmlValue::FileTimeType(ft) = &v[6] else {
        panic!("{:?}", v[6])
    };
    assert_eq!(
        i128::from(ft.0 - 116_444_736_000_000_000) * 100,
        nanos(&time)
    );
    assert!(matches!(v[7], BinXmlValue::NullType)); // ActivityID
    assert!(matches!(v[8], BinXmlValue::UInt32Type(LSASS_PID)));
    assert!(matches!(v[9], BinXmlValue::UInt32Type(1204)));
    assert!(matches!(v[10], BinXmlValue::UInt64Type(1)));
    assert!(matches!(v[11], BinXmlValue::UInt8Type(0))); // Version
    assert!(matches!(v[12], BinXmlValue::NullType)); // UserID
    let BinXmlValue::StringType(provider) = &v[14] else {
        panic!("{:?}", v[14])
    };
    assert_eq!(provider.to_string().unwrap(), SECURITY_PROVIDER);
    assert!(matches!(v[15], BinXmlValue::GuidType(g) if g == SECURITY_GUID.to_bytes_le()));
    let BinXmlValue::StringType(channel) = &v[16] else {
        panic!("{:?}", v[16])
    };
    assert_eq!(channel.to_string().unwrap(), "Security");
    // …and its EventData, typed as Windows types 4625.
    let BinXmlValue::BinXmlType(data) = &v[17] else {
        panic!("{:?}", v[17])
    };
    let at = data.as_ptr() as usize - chunk_data_ptr(&records[0]);
    let inner = nested(data, at);
    let expected: Vec<(u8, Vec<u8>)> = vec![
        (0x13, vec![1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]),
        (0x01, utf16z("PC1$")),
        (0x01, utf16z("WORKGROUP")),
        (0x15, 0x3e7u64.to_le_bytes().to_vec()),
        (0x13, vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        (0x01, utf16z("bob@contoso.com")),
        (0x01, utf16z("")),
        (0x14, 0xc000_006du32.to_le_bytes().to_vec()),
        (0x01, utf16z("%%2313")),
        (0x14, 0xc000_006au32.to_le_bytes().to_vec()),
        (0x08, 2u32.to_le_bytes().to_vec()),
        (0x01, utf16z("Advapi  ")),
        (0x01, utf16z("Negotiate")),
        (0x01, utf16z("PC1")),
        (0x01, utf16z("-")),
        (0x01, utf16z("-")),
        (0x08, 0u32.to_le_bytes().to_vec()),
        (0x15, 0x2d4u64.to_le_bytes().to_vec()), // SizeT, stored as HexInt64
        (0x01, utf16z(r"C:\Windows\System32\winlogon.exe")),
        (0x01, utf16z("127.0.0.1")),
        (0x01, utf16z("0")),
    ];
    assert_eq!(inner.values, expected);
    assert_eq!(failure.data.len(), expected.len());

    // The classic SCM event: the 20-slot envelope with Qualifiers, strings without NUL and
    // the <Binary> data after its length.
    let outer = records[1].template_instances().unwrap().remove(0);
    let v = &outer.values;
    assert_eq!(v.len(), 20);
    assert!(matches!(v[3], BinXmlValue::UInt16Type(7000)));
    assert!(matches!(v[4], BinXmlValue::UInt16Type(QUALIFIERS_ERROR)));
    assert!(matches!(
        v[5],
        BinXmlValue::HexInt64Type(KEYWORDS_CLASSIC_SYSTEM)
    ));
    assert!(v[13..19].iter().all(|x| matches!(x, BinXmlValue::NullType)));
    let BinXmlValue::BinXmlType(data) = &v[19] else {
        panic!("{:?}", v[19])
    };
    let at = data.as_ptr() as usize - chunk_data_ptr(&records[1]);
    let key: Vec<u8> = utf16z("UIFlowService");
    let utf16 = |s: &str| {
        s.encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>()
    };
    assert_eq!(
        nested(data, at).values,
        vec![
            (0x01, utf16("Power Automate service")),
            (0x01, utf16("%%1069")),
            (0x08, (key.len() as u32).to_le_bytes().to_vec()),
            (0x0e, key),
        ]
    );
}

fn chunk_data_ptr(record: &evtx::EvtxRecord<'_>) -> usize {
    record.chunk.data.as_ptr() as usize
}

#[test]
fn same_input_gives_identical_bytes() {
    let events = mixed(900);
    let a = EvtxWriter::build(&events).unwrap();
    let b = EvtxWriter::build(&events).unwrap();
    assert_eq!(a, b);
    let n1: Vec<_> = noise(5, t0(), PC).take(300).collect();
    let n2: Vec<_> = noise(5, t0(), PC).take(300).collect();
    let n3: Vec<_> = noise(6, t0(), PC).take(300).collect();
    assert_eq!(n1, n2);
    assert_ne!(n1, n3);
    assert_eq!(
        EvtxWriter::build(&n1).unwrap(),
        EvtxWriter::build(&n2).unwrap()
    );
}

#[test]
fn noise_is_security_background() {
    let events: Vec<_> = noise(1, t0(), PC).take(1000).collect();
    let ids: HashSet<u16> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, HashSet::from([4624, 4672, 5379]));
    assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
    // Every 4624 in the noise is a SYSTEM service logon followed by its 4672.
    for pair in events.windows(2).filter(|w| w[0].event_id == 4624) {
        assert_eq!(pair[1].event_id, 4672);
        assert!(pair[0].data.contains(&("LogonType".into(), Value::U32(5))));
    }
    let mut parser = open(EvtxWriter::build(&events).unwrap());
    assert_eq!(
        parser.records_json_value().filter(|r| r.is_ok()).count(),
        1000
    );
}

#[test]
fn first_record_id_and_empty_files() {
    let mut writer = EvtxWriter::with_first_record_id(5000);
    assert_eq!(writer.push(&all_types(t0(), 1)).unwrap(), 5000);
    assert_eq!(writer.push(&all_types(t0(), 2)).unwrap(), 5001);
    assert_eq!((writer.record_count(), writer.chunk_count()), (2, 1));
    let mut parser = open(writer.finish());
    assert_eq!(parser.header().next_record_id, 5002);
    let ids: Vec<u64> = parser
        .records_json_value()
        .map(|r| r.unwrap().event_record_id)
        .collect();
    assert_eq!(ids, [5000, 5001]);

    let empty = EvtxWriter::new().finish();
    assert_eq!(empty.len(), FILE_HEADER_SIZE);
    let mut parser = open(empty);
    assert!(parser.header().validate_checksum());
    assert_eq!(parser.records_json_value().count(), 0);
}

#[test]
fn bad_events_are_refused_and_the_writer_goes_on() {
    let mut writer = EvtxWriter::new();
    let mut bad = all_types(t0(), 1);
    bad.data[15].1 = Value::Sid("S-1-5-twenty".into());
    assert!(matches!(
        writer.push(&bad),
        Err(WriteError::InvalidSid { field, .. }) if field == "Sid"
    ));
    let mut bad_user = all_types(t0(), 1);
    bad_user.user_sid = Some("alice".into());
    assert!(matches!(
        writer.push(&bad_user),
        Err(WriteError::InvalidSid { .. })
    ));

    let mut long = all_types(t0(), 1);
    long.data[1].1 = Value::Str("x".repeat(40_000));
    assert!(matches!(
        writer.push(&long),
        Err(WriteError::ValueTooLarge { bytes: 80_002, .. })
    ));
    let mut huge = all_types(t0(), 1);
    for i in 0..3 {
        huge.data
            .push((format!("Big{i}"), Value::Str("y".repeat(30_000))));
    }
    assert!(matches!(
        writer.push(&huge),
        Err(WriteError::RecordTooLarge { bytes }) if bytes > CHUNK_SIZE - CHUNK_HEADER_SIZE
    ));

    // Nothing of the refused events was written; the next one gets id 1.
    assert_eq!(writer.push(&all_types(t0(), 2)).unwrap(), 1);
    let mut parser = open(writer.finish());
    let records: Vec<_> = parser.records_json_value().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].data, expected_json(&all_types(t0(), 2), 1));
}

#[test]
fn a_record_that_does_not_fit_opens_a_new_chunk() {
    // Records of ~20 KB: three per chunk, the fourth goes to the next chunk.
    let big = |i: u32| {
        let mut e = all_types(t0() + Duration::seconds(i64::from(i)), i);
        e.data
            .push(("Blob".into(), Value::Binary(vec![i as u8; 20_000])));
        e
    };
    let events: Vec<_> = (0..7).map(big).collect();
    let bytes = EvtxWriter::build(&events).unwrap();
    assert_eq!(bytes.len(), FILE_HEADER_SIZE + 3 * CHUNK_SIZE);
    let mut parser = open(bytes);
    let ranges: Vec<_> = parser
        .chunks()
        .map(|c| {
            let c = c.unwrap();
            (
                c.header.first_event_record_id,
                c.header.last_event_record_id,
            )
        })
        .collect();
    assert_eq!(ranges, [(1, 3), (4, 6), (7, 7)]);
    let records: Vec<_> = parser.records_json_value().map(Result::unwrap).collect();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.data, expected_json(&events[i], i as u64 + 1));
    }
}

#[test]
fn entra_sids_follow_the_object_id() {
    // Object id bytes (as Windows stores a GUID) read as four little-endian u32s.
    let sid = entra_sid(Guid::from_u128(0x04030201_0605_0807_090a_0b0c0d0e0f10));
    assert_eq!(sid, "S-1-12-1-67305985-134678021-202050057-269422093");
    assert_eq!(alice().domain, "AzureAD");
}
