//! A corpus of broken and hostile inputs, made by code: damaged event logs, zips built to hurt
//! (bombs, traversal names, deep nesting, a broken directory), cut-off and mis-encoded text, huge
//! lines, JSON and XML nested far past any parser's limit, and binary garbage under evidence
//! names. `tests/hostile.rs` asserts what padtriage reports for each one, and the fuzz seeds
//! (`examples/fuzz_seeds.rs`) start from them.
//!
//! Everything is deterministic: the same call gives the same bytes.

use crate::events::{self, Lcg, Logon, Principal};
use crate::evtx_writer::{EvtxWriter, CHUNK_HEADER_SIZE, CHUNK_SIZE, FILE_HEADER_SIZE};
use chrono::{DateTime, TimeZone, Utc};
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

/// One file of the corpus.
#[derive(Debug, Clone)]
pub struct BrokenFile {
    /// Relative path, `/`-separated (`evtx/cut_mid_chunk.evtx`).
    pub name: String,
    pub bytes: Vec<u8>,
    /// What is wrong with it, for test messages.
    pub damage: &'static str,
}

fn file(name: &str, damage: &'static str, bytes: Vec<u8>) -> BrokenFile {
    BrokenFile {
        name: name.to_string(),
        bytes,
        damage,
    }
}

/// Size of the over-long lines (PAD log, flow-session CSV).
pub const HUGE_LINE: usize = 20 << 20;
/// Nesting depth of the deep JSON and XML files.
pub const DEEP: usize = 100_000;

/// The time the corpus's events happen around.
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 13, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A valid Security log of at least `chunks` chunks: deterministic noise with a 4625 logon
/// failure in every few dozen records, so a reader has something worth keeping in each chunk.
pub fn sample_evtx(chunks: usize) -> Vec<u8> {
    let mut w = EvtxWriter::new();
    let start = base_time();
    let mut n = 0u32;
    for ev in events::noise(7, start, "PC1.contoso.com") {
        n += 1;
        if n.is_multiple_of(40) {
            let who = Principal::new("alex", "CONTOSO", "S-1-0-0");
            let mut l = Logon::new(ev.time, "PC1.contoso.com", who, 2);
            l.status = 0xC000_006D;
            l.sub_status = 0xC000_006A;
            l.failure_reason = "%%2313".into();
            // Writing a well-formed event cannot fail; skip it if it somehow does.
            let _ = w.push(&events::security_4625(&l));
        }
        let _ = w.push(&ev);
        if w.chunk_count() > chunks {
            break;
        }
    }
    w.finish()
}

/// Offsets of the records (`**\0\0`) inside chunk `index` of an EVTX file.
pub fn record_offsets(evtx: &[u8], index: usize) -> Vec<usize> {
    let start = FILE_HEADER_SIZE + index * CHUNK_SIZE;
    let mut out = Vec::new();
    let mut at = start + CHUNK_HEADER_SIZE;
    while let Some(head) = evtx.get(at..at + 8) {
        if head[..4] != *b"**\0\0" {
            break;
        }
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if size < 28 || at + size > start + CHUNK_SIZE {
            break;
        }
        out.push(at);
        at += size;
    }
    out
}

/// Deterministic bytes that look like nothing (NULs and control characters included).
pub fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Lcg::new(seed);
    (0..len).map(|_| rng.next_u32() as u8).collect()
}

/// A zip of `entries`, deflated.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        // Writing to memory cannot fail short of running out of it.
        if w.start_file(*name, opts).is_ok() {
            let _ = w.write_all(data);
        }
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// A zip of `entries`, stored (not compressed).
pub fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        if w.start_file(*name, opts).is_ok() {
            let _ = w.write_all(data);
        }
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// A PAD JSON-lines log entry.
pub fn pad_line(time: &str, level: &str, message: &str) -> String {
    // Field order is key order.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Line<'a> {
        event_timestamp: &'a str,
        trace_level: &'a str,
        component: &'a str,
        message: &'a str,
    }
    let line = Line {
        event_timestamp: time,
        trace_level: level,
        component: "UIFlowService",
        message,
    };
    let mut s = serde_json::to_string(&line).expect("a struct of strings serialises");
    s.push('\n');
    s
}

/// A portal error body on one line: `{"error":{"code":…,"message":…}}`.
fn portal_error(code: &str, message: &str) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        error: Error<'a>,
    }
    #[derive(serde::Serialize)]
    struct Error<'a> {
        code: &'a str,
        message: &'a str,
    }
    let body = Body {
        error: Error { code, message },
    };
    let mut v = serde_json::to_vec(&body).expect("a struct of strings serialises");
    v.push(b'\n');
    v
}

/// A short, valid PAD log with an error entry naming the run's failure.
pub fn pad_log() -> String {
    let mut s = pad_line("2025-06-02T13:00:05.000Z", "Info", "Agent started");
    s.push_str(&pad_line(
        "2025-06-02T13:01:00.000Z",
        "Error",
        "Run failed: WindowsIdentityIncorrect (0xC000006D)",
    ));
    s
}

/// A short `dsregcmd /status` dump (CRLF, as Windows prints it).
pub fn dsregcmd() -> String {
    [
        "+----------------------------------------------------------------------+",
        "| Device State                                                         |",
        "+----------------------------------------------------------------------+",
        "",
        "             AzureAdJoined : YES",
        "          EnterpriseJoined : NO",
        "              DomainJoined : NO",
        "               Device Name : PC1",
        "",
        "+----------------------------------------------------------------------+",
        "| SSO State                                                            |",
        "+----------------------------------------------------------------------+",
        "",
        "                AzureAdPrt : YES",
        "      AzureAdPrtUpdateTime : 2025-06-02 12:00:00.000 UTC",
        "",
    ]
    .join("\r\n")
}

fn nested_zip(levels: usize, innermost: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip_of(innermost);
    for level in (2..=levels).rev() {
        let name = format!("n{level}.zip");
        z = zip_of(&[(name.as_str(), &z)]);
    }
    z
}

/// Every file of the corpus, in a stable order.
pub fn corpus() -> Vec<BrokenFile> {
    let mut out = Vec::new();
    out.extend(evtx_files());
    out.extend(zip_files());
    out.extend(xml_files());
    out.extend(text_files());
    out
}

fn evtx_files() -> Vec<BrokenFile> {
    let good = sample_evtx(2);
    let mut out = Vec::new();

    let mid = FILE_HEADER_SIZE + CHUNK_SIZE + CHUNK_SIZE / 2;
    out.push(file(
        "evtx/cut_mid_chunk.evtx",
        "the file ends halfway through its second chunk",
        good[..mid.min(good.len())].to_vec(),
    ));
    out.push(file(
        "evtx/header_only.evtx",
        "a file header and no chunk",
        good[..FILE_HEADER_SIZE].to_vec(),
    ));

    let mut magic = good.clone();
    let second = FILE_HEADER_SIZE + CHUNK_SIZE;
    magic[second + 6] = b'X';
    out.push(file(
        "evtx/bad_chunk_magic.evtx",
        "the second chunk's signature reads ElfChnX",
        magic,
    ));

    let mut header = good.clone();
    header[124] ^= 0xFF;
    out.push(file(
        "evtx/bad_header_checksum.evtx",
        "the file header's CRC32 does not match",
        header,
    ));

    let mut record = good.clone();
    if let Some(&at) = record_offsets(&good, 0).get(1) {
        // Keep the record header (magic, size, id, time); wreck its BinXML.
        for b in &mut record[at + 24..at + 64] {
            *b = 0xFF;
        }
    }
    out.push(file(
        "evtx/garbage_record.evtx",
        "the second record of the first chunk holds garbage instead of BinXML",
        record,
    ));

    let mut after = b"ElfFile\0".to_vec();
    after.extend(garbage(11, 3 * 4096));
    out.push(file(
        "evtx/garbage_after_magic.evtx",
        "an EVTX signature followed by random bytes",
        after,
    ));
    out.push(file("evtx/empty.evtx", "0 bytes", Vec::new()));
    out
}

/// Zips are written by the `zip` crate; the ones whose damage the crate will not write (a
/// wrecked central directory, sizes that lie, a cut) are patched afterwards at known offsets.
fn zip_files() -> Vec<BrokenFile> {
    let pad = pad_log();
    let mut out = Vec::new();

    let zeros = vec![0u8; 4 << 20];
    out.push(file(
        "zip/bomb.zip",
        "an entry of 4 MiB of zeros (ratio over 1000:1) beside a good log",
        zip_of(&[("big.log", &zeros), ("ok.log", pad.as_bytes())]),
    ));

    // Entries under the 1 MiB floor of the per-entry ratio check, but the zip as a whole
    // expands far past the ratio limit.
    let mut log = pad.clone();
    log.push_str(&pad_line(
        "2025-06-02T13:01:05.000Z",
        "Info",
        &"A".repeat(600 << 10),
    ));
    let names: Vec<String> = (1..=8).map(|i| format!("PAD/agent{i}.log")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), log.as_bytes())).collect();
    out.push(file(
        "zip/many_small_bombs.zip",
        "eight 600 KiB logs that compress about 1000:1",
        zip_of(&entries),
    ));

    out.push(file(
        "zip/traversal.zip",
        "entries named ../../, absolute and drive-letter paths",
        zip_of(&[
            ("../../evil.log", pad.as_bytes()),
            ("/etc/dsreg.txt", dsregcmd().as_bytes()),
            ("C:\\Windows\\Temp\\agent.log", pad.as_bytes()),
        ]),
    ));

    out.push(file(
        "zip/nested5.zip",
        "zips nested five deep, a log in the innermost",
        nested_zip(5, &[("deep.log", pad.as_bytes())]),
    ));

    let mut cd = zip_of(&[("a.log", pad.as_bytes()), ("b.txt", dsregcmd().as_bytes())]);
    if let Some(at) = cd.windows(4).position(|w| w == b"PK\x01\x02") {
        let end = (at + 46).min(cd.len());
        for b in &mut cd[at..end] {
            *b = 0xA5;
        }
    }
    out.push(file(
        "zip/corrupt_central_directory.zip",
        "the central directory's first entry is overwritten",
        cd,
    ));

    // An entry whose headers declare 100 bytes but which inflates to far more.
    let mut liar = zip_of(&[("PAD/agent.log", pad.repeat(200).as_bytes())]);
    let declared = 100u32.to_le_bytes();
    liar[22..26].copy_from_slice(&declared);
    if let Some(at) = liar.windows(4).position(|w| w == b"PK\x01\x02") {
        liar[at + 24..at + 28].copy_from_slice(&declared);
    }
    out.push(file(
        "zip/lying_size.zip",
        "an entry that inflates past the size its headers declare",
        liar,
    ));

    // A stored nested zip whose headers claim 1.5 GiB: loading it would reserve that much.
    let noise = garbage(12, 16 << 10);
    let inner = stored_zip(&[("a.log", pad.as_bytes()), ("noise.bin", &noise)]);
    let mut huge = stored_zip(&[("inner.zip", &inner), ("ok.log", pad.as_bytes())]);
    let claim = (3u32 << 29).to_le_bytes();
    huge[18..22].copy_from_slice(&claim);
    huge[22..26].copy_from_slice(&claim);
    // The outer central directory (the inner zip's own is stored earlier in the file).
    if let Some(eocd) = huge.windows(4).rposition(|w| w == b"PK\x05\x06") {
        let cd = u32::from_le_bytes([
            huge[eocd + 16],
            huge[eocd + 17],
            huge[eocd + 18],
            huge[eocd + 19],
        ]) as usize;
        huge[cd + 20..cd + 24].copy_from_slice(&claim);
        huge[cd + 24..cd + 28].copy_from_slice(&claim);
    }
    out.push(file(
        "zip/oversized_entry.zip",
        "a stored nested zip whose headers claim 1.5 GiB the archive does not hold",
        huge,
    ));

    let mut cut = zip_of(&[("a.log", pad.as_bytes())]);
    cut.truncate(cut.len() / 2);
    out.push(file(
        "zip/truncated.zip",
        "a zip cut in half (no central directory)",
        cut,
    ));
    out
}

/// One Event Viewer XML event (a 4625 logon failure) with extra `<EventData>` content.
pub fn xml_event(record: u64, extra: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4625</EventID>\
         <TimeCreated SystemTime='2025-06-02T13:00:{:02}.000Z'/><EventRecordID>{record}</EventRecordID>\
         <Channel>Security</Channel><Computer>PC1</Computer></System><EventData>\
         <Data Name='TargetUserName'>alex</Data><Data Name='Status'>0xc000006d</Data>{extra}\
         </EventData></Event>\r\n",
        record % 60
    )
}

fn xml_files() -> Vec<BrokenFile> {
    let wrap = |events: &[String], close: bool| {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Events>\r\n");
        s.extend(events.iter().cloned());
        if close {
            s.push_str("</Events>\r\n");
        }
        s.into_bytes()
    };
    let deep = format!(
        "<Data Name='Deep'>{}{}</Data>",
        "<x>".repeat(DEEP),
        "</x>".repeat(DEEP)
    );
    let last = xml_event(3, "");
    vec![
        file(
            "xml/deep_nesting.xml",
            "the second of three events nests 100,000 elements deep",
            wrap(
                &[xml_event(1, ""), xml_event(2, &deep), xml_event(3, "")],
                true,
            ),
        ),
        file(
            "xml/malformed_event.xml",
            "the second event closes <System> with </Sys>",
            wrap(
                &[
                    xml_event(1, ""),
                    xml_event(2, "").replace("</System>", "</Sys>"),
                    last.clone(),
                ],
                true,
            ),
        ),
        file(
            "xml/cut_event.xml",
            "the export stops in the middle of its last event",
            wrap(
                &[xml_event(1, ""), last[..last.len() / 2].to_string()],
                false,
            ),
        ),
    ]
}

fn text_files() -> Vec<BrokenFile> {
    let mut out = Vec::new();
    for ext in ["log", "txt", "json"] {
        out.push(file(&format!("empty/empty.{ext}"), "0 bytes", Vec::new()));
    }

    let dump = dsregcmd();
    let cut_at = dump.find("AzureAdPrt : YES").map_or(dump.len(), |i| i + 12);
    out.push(file(
        "dsregcmd/cut_mid_line.txt",
        "the dump stops in the middle of the AzureAdPrt line",
        dump.as_bytes()[..cut_at].to_vec(),
    ));

    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(dump.encode_utf16().flat_map(u16::to_le_bytes));
    utf16.push(b'Y');
    out.push(file(
        "dsregcmd/utf16_odd_bytes.txt",
        "UTF-16LE with an odd number of bytes",
        utf16,
    ));

    let mut long = dump.clone();
    long.push_str(&format!(
        "         Server Message : {}\r\n",
        "x".repeat(3 << 20)
    ));
    long.push_str("                    NgcSet : NO\r\n");
    out.push(file(
        "dsregcmd/long_line.txt",
        "a 3 MiB line between normal ones",
        long.into_bytes(),
    ));

    let mut pad = pad_log();
    pad.push_str(&pad_line(
        "2025-06-02T13:01:01.000Z",
        "Error",
        &"A".repeat(HUGE_LINE),
    ));
    pad.push_str(&pad_line(
        "2025-06-02T13:01:02.000Z",
        "Info",
        "after the long line",
    ));
    out.push(file(
        "padlog/line_20mb.log",
        "a 20 MiB line between normal entries",
        pad.into_bytes(),
    ));

    // The deep files are written as text: serde_json serialises (and drops) values by
    // recursion, which 100,000 levels would take past the stack.
    let deep = format!("{}{}", "[".repeat(DEEP), "]".repeat(DEEP));
    let mut pad = pad_log();
    pad.push_str(&format!(
        "{{\"eventTimestamp\":\"2025-06-02T13:01:03.000Z\",\"traceLevel\":\"Error\",\
         \"component\":\"UIFlowService\",\"message\":\"deep\",\"eventData\":{deep}}}\n"
    ));
    out.push(file(
        "padlog/deep_json.log",
        "an entry whose eventData is nested 100,000 arrays deep",
        pad.into_bytes(),
    ));

    out.push(file(
        "runs/deep_portal_error.json",
        "a portal error whose innerError is nested 100,000 arrays deep",
        format!(
            "{{\"error\":{{\"code\":\"WindowsIdentityIncorrect\",\"message\":\"x\",\"innerError\":{deep}}}}}\n"
        )
        .into_bytes(),
    ));

    out.push(file(
        "runs/deep_flowsessions.json",
        "a flow-session export whose second row is nested 100,000 arrays deep",
        format!(
            "[{{\"flowsessionid\":\"1\",\"errorcode\":\"WindowsIdentityIncorrect\",\
             \"startedon\":\"2025-06-02T13:00:50Z\",\"completedon\":\"2025-06-02T13:01:00Z\"}},\
             {{\"flowsessionid\":\"2\",\"errorcode\":\"x\",\"startedon\":{deep}}}]\n"
        )
        .into_bytes(),
    ));

    out.push(file(
        "runs/long_portal_message.json",
        "a portal error whose message is 10 MiB long (under the 16 MiB file cap)",
        portal_error("WindowsIdentityIncorrect", &"m".repeat(10 << 20)),
    ));

    out.push(file(
        "runs/ragged.csv",
        "flow-session rows with too few and too many fields",
        b"flowsessionid,errorcode,errormessage,startedon,completedon\r\n\
          1,WindowsIdentityIncorrect,bad credentials,2025-06-02T13:00:50Z,2025-06-02T13:01:00Z\r\n\
          2,InvalidConnectionCredentials\r\n\
          3,,,2025-06-02T12:00:00Z,2025-06-02T12:00:10Z,extra,fields,here\r\n"
            .to_vec(),
    ));

    let mut csv = b"flowsessionid,errorcode,errormessage,startedon,completedon\r\n".to_vec();
    csv.extend(b"1,WindowsIdentityIncorrect,");
    csv.extend(std::iter::repeat_n(b'm', HUGE_LINE));
    csv.extend(b",2025-06-02T13:00:50Z,2025-06-02T13:01:00Z\r\n");
    out.push(file(
        "runs/long_line.csv",
        "a flow-session row whose error message is 20 MiB long",
        csv,
    ));

    for (i, ext) in ["log", "evtx", "txt", "json"].into_iter().enumerate() {
        out.push(file(
            &format!("garbage/garbage.{ext}"),
            "random bytes",
            garbage(100 + i as u64, 4096),
        ));
    }
    out
}

/// Write the corpus under `dir` (folders created as needed); returns the paths written.
pub fn write_corpus(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for f in corpus() {
        let p = dir.join(&f.name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, &f.bytes)?;
        paths.push(p);
    }
    Ok(paths)
}
