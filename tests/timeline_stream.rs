//! `timeline` streams: events are rendered as they are read and ordered in bounded memory
//! (sorted runs on disk past a budget). Its output must be exactly what rendering the whole
//! timeline held in memory gives, whatever the budget, the thread count and the format.

use chrono::{DateTime, Duration, TimeZone, Utc};
use padtriage::bundle::Limits;
use padtriage::model::EventFilter;
use padtriage::pipeline::open as open_bundle;
use padtriage::report::timeline as render;
use padtriage::report::timeline::TimelineFormat;
use padtriage::sources::Event;
use padtriage::timeline::{self, Pass, ReadOptions};
use padtriage_testkit::events::{self, Logon, Principal};
use padtriage_testkit::evtx_writer::EvtxWriter;
use std::path::Path;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0).unwrap()
}

/// Two Security logs whose times interleave (one written newest first, as after a clock
/// change), records at the same instant in both, and a PAD log with failures among them.
fn write_bundle(dir: &Path) {
    let a: Vec<_> = events::noise(1, t0(), "PC1.contoso.com")
        .take(3000)
        .collect();
    let mut b: Vec<_> = events::noise(2, t0(), "PC2.contoso.com")
        .take(3000)
        .collect();
    b.reverse();
    // The same instant in both logs and twice in one.
    let who = Principal::new("svc-rpa", "CONTOSO", "S-1-5-21-1-2-3-1107");
    let mut fail = Logon::new(a[100].time, "PC2.contoso.com", who, 10);
    fail.status = 0xC000_006D;
    fail.sub_status = 0xC000_006A;
    b.push(events::security_4625(&fail));
    b.push(events::security_4625(&fail));
    std::fs::write(dir.join("a.evtx"), EvtxWriter::build(&a).unwrap()).unwrap();
    std::fs::write(dir.join("b.evtx"), EvtxWriter::build(&b).unwrap()).unwrap();
    let mut pad = String::new();
    for i in 0..400 {
        let t = (t0() + Duration::seconds(37 * i)).format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let level = if i % 3 == 0 { "Error" } else { "Info" };
        pad.push_str(&format!(
            "{{\"eventTimestamp\":\"{t}\",\"traceLevel\":\"{level}\",\"component\":\"UIFlowService\",\"message\":\"Session creation failed: WindowsIdentityIncorrect ({i})\"}}\n"
        ));
        if i % 7 == 0 {
            pad.push_str("   at Microsoft.Flow.RPA.Session.Start()\n");
        }
    }
    std::fs::create_dir_all(dir.join("PAD")).unwrap();
    std::fs::write(dir.join("PAD/UIFlowService.log"), pad).unwrap();
}

fn streamed(dir: &Path, format: TimelineFormat, threads: usize, budget: usize) -> Vec<u8> {
    let b = open_bundle(&[dir.to_path_buf()], &Limits::default()).unwrap();
    let opts = ReadOptions {
        threads,
        progress: None,
    };
    let line = |ev: &Event, buf: &mut Vec<u8>| render::line(format, ev, buf);
    let mut out = Vec::new();
    render::header(format, &mut out).unwrap();
    let tl = timeline::write_sorted(
        &b,
        &EventFilter::all(),
        Pass::All,
        opts,
        &line,
        budget,
        &mut out,
    )
    .unwrap();
    assert!(
        tl.events.is_empty(),
        "the streamed timeline holds no events"
    );
    out
}

fn in_memory(dir: &Path, format: TimelineFormat) -> (Vec<u8>, usize) {
    let b = open_bundle(&[dir.to_path_buf()], &Limits::default()).unwrap();
    let opts = ReadOptions {
        threads: 1,
        progress: None,
    };
    let tl = timeline::read(&b, &EventFilter::all(), Pass::All, opts);
    let mut out = Vec::new();
    render::render(&tl, format, &mut out).unwrap();
    (out, tl.events.len())
}

#[test]
fn streamed_output_is_the_in_memory_output_whatever_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    write_bundle(dir.path());
    for format in [
        TimelineFormat::Jsonl,
        TimelineFormat::Text,
        TimelineFormat::Csv,
    ] {
        let (want, events) = in_memory(dir.path(), format);
        assert!(events > 3000, "{events} events");
        // All in memory; a handful of runs; more runs than one merge takes (merged in passes).
        for budget in [usize::MAX, 256 << 10, 8 << 10] {
            for threads in [1, 2] {
                let got = streamed(dir.path(), format, threads, budget);
                assert!(
                    got == want,
                    "{format:?}, budget {budget}, {threads} threads: output differs"
                );
            }
        }
    }
}

#[test]
fn streamed_reports_count_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    write_bundle(dir.path());
    let b = open_bundle(&[dir.path().to_path_buf()], &Limits::default()).unwrap();
    let opts = ReadOptions {
        threads: 2,
        progress: None,
    };
    let line = |ev: &Event, buf: &mut Vec<u8>| render::line(TimelineFormat::Jsonl, ev, buf);
    let mut out = Vec::new();
    let tl = timeline::write_sorted(
        &b,
        &EventFilter::all(),
        Pass::All,
        opts,
        &line,
        16 << 10,
        &mut out,
    )
    .unwrap();
    let kept: u64 = tl.files.iter().map(|f| f.kept).sum();
    let lines = out.iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(kept, lines);
    let memory = timeline::read(&b, &EventFilter::all(), Pass::All, opts);
    let reports = |files: &[padtriage::model::FileReport]| serde_json::to_value(files).unwrap();
    assert_eq!(reports(&tl.files), reports(&memory.files));
}
