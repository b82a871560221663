//! The EVTX reader on real Windows logs (`shared/real-evtx`, written by real machines, some
//! damaged) and on damaged copies of them: counts must match the `evtx` crate's own, the
//! logon events padtriage relies on must come out typed, and bad input must be reported, never
//! fatal.

mod common;
use common::real_dir;
use padtriage::model::EventFilter;
use padtriage::sources::evtx::read_evtx;
use padtriage::sources::security::SecurityEvent;
use padtriage::sources::ReadCtx;
use padtriage::sources::{Event, EventData, Parsed};
use std::io::Read;
use std::sync::Arc;

/// Records and errors per file, as the crate's `evtx_dump` (0.15.1, default settings) reports
/// them (shared/real-evtx/README.md).
const CRATE_COUNTS: &[(&str, u64, u64)] = &[
    ("security.evtx", 2261, 0),
    ("Security_with_size_t.evtx", 636, 0),
    ("Security_short_selected.evtx", 7, 0),
    ("post-Security.evtx", 126, 0),
    ("security_bad_string_cache.evtx", 2261, 0),
    ("sample_with_a_bad_chunk_magic.evtx", 301, 3),
    ("Application_no_crc32.evtx", 17, 0),
    ("2-vss_7-System.evtx", 1160, 0),
    (
        "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
        1795,
        2,
    ),
    ("Microsoft-Windows-HelloForBusiness%4Operational.evtx", 6, 0),
    ("sample-with-irregular-bool-values.evtx", 3028, 0),
];

fn read_with(name: &str, r: impl Read, threads: usize, filter: &EventFilter) -> Parsed {
    let ctx = ReadCtx {
        file: Arc::from(name),
        size: 0,
        mtime: None,
        filter,
        threads,
        progress: None,
    };
    read_evtx(r, &ctx)
}

fn read(name: &str, bytes: &[u8]) -> Parsed {
    read_with(name, bytes, 2, &EventFilter::all())
}

fn load(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

fn security(events: &[Event]) -> Vec<&SecurityEvent> {
    events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Security(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn count_id(events: &[Event], id: u32) -> usize {
    security(events).iter().filter(|s| s.event_id == id).count()
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn counts_match_the_evtx_crate() {
    let dir = real_dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".evtx"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        CRATE_COUNTS.len(),
        "a sample without expected counts"
    );
    for (name, records, errors) in CRATE_COUNTS {
        let p = read(name, &load(&dir, name));
        let r = &p.report;
        assert_eq!((r.records, r.errors), (*records, *errors), "{name}");
        assert_eq!(r.records, r.ignored + r.kept, "{name}");
        assert_eq!(r.kept as usize, p.events.len(), "{name}");
        assert!(r.first.is_some() && r.first <= r.last, "{name}");
        // Every error is described, with a place.
        assert!(
            r.problems.len() as u64 >= *errors,
            "{name}: {:?}",
            r.problems
        );
        assert!(r.problems.iter().all(|p| p.at.is_some()), "{name}");
        // Events come in record order.
        assert!(
            p.events
                .windows(2)
                .all(|w| w[0].source.loc < w[1].source.loc),
            "{name}"
        );
    }
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn channels_come_from_the_records() {
    let dir = real_dir();
    let channels = |name: &str| read(name, &load(&dir, name)).report.channels;
    assert_eq!(channels("security.evtx"), vec!["Security"]);
    assert_eq!(channels("2-vss_7-System.evtx"), vec!["System"]);
    assert_eq!(
        channels(
            "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx"
        ),
        vec!["Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"]
    );
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn security_logon_events_are_kept_and_typed() {
    let dir = real_dir();
    let p = read("security.evtx", &load(&dir, "security.evtx"));
    assert_eq!(count_id(&p.events, 4624), 583);
    assert_eq!(count_id(&p.events, 4625), 0);
    assert_eq!(count_id(&p.events, 4672), 459);
    assert_eq!(count_id(&p.events, 4648), 45);
    assert_eq!(count_id(&p.events, 4647), 36);
    // 4907 (audit policy change) is read but not kept.
    assert!(p.report.ignored >= 620);
    let first = &p.events[0];
    assert_eq!(first.source.to_string(), "security.evtx record 2");

    // Same records with a damaged string cache: the same events.
    let damaged = read(
        "security.evtx",
        &load(&dir, "security_bad_string_cache.evtx"),
    );
    assert_eq!(
        serde_json::to_value(&p.events).unwrap(),
        serde_json::to_value(&damaged.events).unwrap()
    );

    let p = read(
        "Security_with_size_t.evtx",
        &load(&dir, "Security_with_size_t.evtx"),
    );
    let failures: Vec<_> = security(&p.events)
        .into_iter()
        .filter(|s| s.event_id == 4625)
        .collect();
    assert_eq!(failures.len(), 15);
    // The README summarises them by the must-change-password pair; the file holds five pairs.
    let pairs = |st: u32, sub: u32| {
        failures
            .iter()
            .filter(|f| f.status == Some(st) && f.sub_status == Some(sub))
            .count()
    };
    assert_eq!(pairs(0xC000_0224, 0), 2, "must change password");
    assert_eq!(pairs(0xC000_006D, 0xC000_006A), 3, "bad password");
    assert_eq!(pairs(0xC000_006D, 0xC000_0064), 4, "unknown user");
    assert_eq!(pairs(0xC000_006E, 0xC000_0072), 4, "account disabled");
    assert_eq!(pairs(0xC000_006D, 0), 2);
    for f in failures.iter().filter(|f| f.status == Some(0xC000_0224)) {
        assert_eq!(f.logon_type, Some(2));
        assert_eq!(f.logon_process.as_deref(), Some("User32"), "trimmed");
        assert_eq!(f.failure_reason.as_deref(), Some("%%2309"));
        assert_eq!(f.target.name.as_deref(), Some("Administrator"));
    }
    for f in &failures {
        assert_eq!(f.target.sid, None, "S-1-0-0 is no SID");
        assert!(f.failure_reason.is_some());
    }
    let disabled = failures
        .iter()
        .find(|f| f.sub_status == Some(0xC000_0072))
        .unwrap();
    assert_eq!(disabled.target.name.as_deref(), Some("Guest"));
    assert_eq!(disabled.logon_process.as_deref(), Some("Advapi"));
    assert_eq!(count_id(&p.events, 4624), 126);
    assert_eq!(count_id(&p.events, 4648), 92);
    assert_eq!(count_id(&p.events, 4776), 21);
    let ntlm = security(&p.events)
        .into_iter()
        .find(|s| s.event_id == 4776)
        .unwrap();
    assert_eq!(
        ntlm.auth_package.as_deref(),
        Some("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0")
    );
    assert!(ntlm.workstation.is_some() && ntlm.status.is_some());

    let p = read(
        "Security_short_selected.evtx",
        &load(&dir, "Security_short_selected.evtx"),
    );
    let rdp = security(&p.events)
        .into_iter()
        .find(|s| s.event_id == 4625)
        .unwrap();
    assert_eq!(rdp.status, Some(0xC000_006D));
    assert_eq!(rdp.sub_status, Some(0xC000_006A));
    assert_eq!(rdp.logon_type, Some(10));
    assert_eq!(rdp.ip_address.as_deref(), Some("23.94.153.202"));
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn other_channels_are_counted_not_kept() {
    let dir = real_dir();
    for name in [
        "2-vss_7-System.evtx",
        "sample-with-irregular-bool-values.evtx",
        "Application_no_crc32.evtx",
    ] {
        let p = read(name, &load(&dir, name));
        assert_eq!(p.report.kept, 0, "{name}: no Power Automate service events");
        assert_eq!(p.report.ignored, p.report.records, "{name}");
    }
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn damaged_samples_are_read_around_and_reported() {
    let dir = real_dir();
    let name = "sample_with_a_bad_chunk_magic.evtx";
    let p = read(name, &load(&dir, name));
    let chunks: Vec<_> = p
        .report
        .problems
        .iter()
        .filter(|p| p.kind == "bad_chunk")
        .map(|p| p.at.clone().unwrap())
        .collect();
    assert_eq!(chunks, vec!["chunk 6", "chunk 10"]);
    assert!(p.report.is_partial());

    let name =
        "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx";
    let p = read(name, &load(&dir, name));
    let bad: Vec<_> = p
        .report
        .problems
        .iter()
        .filter(|p| p.kind == "bad_record")
        .collect();
    assert_eq!(bad.len(), 2);
    assert!(bad
        .iter()
        .all(|p| p.at.as_deref().unwrap().contains("chunk 1")));
}

/// A reader that hands out at most `n` bytes per call, like a decompressing zip entry.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn threads_and_short_reads_give_the_same_result() {
    let dir = real_dir();
    let bytes = load(&dir, "security.evtx");
    let all = EventFilter::all();
    let reference = read_with("s", bytes.as_slice(), 1, &all);
    for (threads, step) in [(2, usize::MAX), (0, usize::MAX), (3, 1000), (1, 4097)] {
        let p = read_with("s", Trickle(&bytes, step), threads, &all);
        assert_eq!(p.report.records, reference.report.records);
        assert_eq!(p.report.channels, reference.report.channels);
        assert_eq!(
            serde_json::to_value(&p.events).unwrap(),
            serde_json::to_value(&reference.events).unwrap(),
            "threads {threads}, reads of {step}"
        );
    }
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn time_filter_drops_events_before_they_are_built() {
    let dir = real_dir();
    let bytes = load(&dir, "Security_with_size_t.evtx");
    let all = read("x", &bytes);
    let mid = all.events[all.events.len() / 2].time;
    let filter = EventFilter {
        ranges: Some(vec![(mid, mid + chrono::Duration::days(365))]),
    };
    let p = read_with("x", bytes.as_slice(), 2, &filter);
    assert_eq!(
        p.report.records, all.report.records,
        "still read and counted"
    );
    assert!(p.report.kept > 0 && p.report.kept < all.report.kept);
    assert!(p.events.iter().all(|e| e.time >= mid));
    assert_eq!(p.report.kept + p.report.ignored, p.report.records);
}

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn a_file_cut_inside_a_chunk_keeps_the_whole_records() {
    let dir = real_dir();
    let bytes = load(&dir, "security.evtx");
    let whole = read("s", &bytes);
    let at_boundary = read("s", &bytes[..HEADER + 3 * CHUNK]);
    // A cut at a chunk boundary leaves whole chunks, but fewer than the header announces.
    let kinds: Vec<_> = at_boundary
        .report
        .problems
        .iter()
        .map(|p| &p.kind)
        .collect();
    assert_eq!(kinds, ["truncated"]);
    assert_eq!(
        at_boundary.report.problems[0].message,
        "the file ends after chunk 2, but the header announces 26 chunks: the file was cut \
         short and the records of the missing chunks are lost"
    );
    let cut = read("s", &bytes[..HEADER + 3 * CHUNK + 30_000]);
    assert!(cut.report.records > at_boundary.report.records);
    assert!(cut.report.records < whole.report.records);
    assert!(
        cut.report.errors <= 1,
        "at most the record the cut goes through"
    );
    let truncated: Vec<_> = cut
        .report
        .problems
        .iter()
        .filter(|p| p.kind == "truncated")
        .collect();
    assert_eq!(truncated.len(), 1);
    assert_eq!(truncated[0].at.as_deref(), Some("chunk 3"));
    // What was read matches the intact file.
    let n = cut.events.len();
    assert_eq!(
        serde_json::to_value(&cut.events).unwrap(),
        serde_json::to_value(&whole.events[..n]).unwrap()
    );

    // Cut inside a chunk header, and inside the file header.
    let p = read("s", &bytes[..HEADER + CHUNK + 100]);
    assert_eq!(p.report.records, at_boundary_records(&bytes, 1));
    assert_eq!(p.report.problems[0].kind, "truncated");
    let p = read("s", &bytes[..2000]);
    assert_eq!(p.report.records, 0);
    assert_eq!(p.report.problems[0].kind, "truncated");
}

fn at_boundary_records(bytes: &[u8], chunks: usize) -> u64 {
    read("s", &bytes[..HEADER + chunks * CHUNK]).report.records
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn a_damaged_file_header_does_not_stop_the_chunks() {
    let dir = real_dir();
    let bytes = load(&dir, "Security_with_size_t.evtx");
    // A bit the header checksum covers.
    let mut flipped = bytes.clone();
    flipped[24] ^= 1;
    let p = read("s", &flipped);
    assert_eq!(p.report.records, 636);
    assert_eq!(p.report.problems.len(), 1);
    assert_eq!(p.report.problems[0].kind, "bad_header");
    assert!(p.report.problems[0].message.contains("checksum"));
    // The signature itself wiped.
    let mut wiped = bytes.clone();
    wiped[..HEADER].fill(0xAA);
    let p = read("s", &wiped);
    assert_eq!(p.report.records, 636);
    assert_eq!(p.report.kept, read("s", &bytes).report.kept);
    assert_eq!(p.report.problems[0].kind, "bad_header");
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn flipped_bytes_never_panic() {
    let dir = real_dir();
    let bytes = load(&dir, "Security_short_selected.evtx");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..150 {
        let mut damaged = bytes.clone();
        for _ in 0..24 {
            let at = HEADER + (next() as usize) % (damaged.len() - HEADER);
            damaged[at] = next() as u8;
        }
        let p = read("s", &damaged);
        assert!(p.report.records + p.report.errors <= 7 + 2);
    }
}

#[test]
fn empty_and_random_files_are_problems() {
    let p = read("empty.evtx", &[]);
    assert_eq!((p.report.records, p.report.errors), (0, 0));
    assert_eq!(p.report.problems[0].kind, "bad_header");

    let mut seed = 7u32;
    let random: Vec<u8> = (0..300_000)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        })
        .collect();
    let p = read("random.evtx", &random);
    assert_eq!(p.report.records, 0);
    assert_eq!(p.report.problems.len(), 1, "one problem, not one per chunk");
    assert!(p.report.is_partial());

    // A valid signature followed by noise: every chunk is reported, nothing panics.
    let mut signed = random.clone();
    signed[..8].copy_from_slice(b"ElfFile\0");
    let p = read("noise.evtx", &signed);
    assert_eq!(p.report.records, 0);
    assert_eq!(p.report.errors, ((random.len() - HEADER) / CHUNK) as u64);
    assert!(p.report.problems.iter().any(|p| p.kind == "bad_chunk"));
    assert!(p.report.problems.iter().any(|p| p.kind == "truncated"));
}
