//! PAD JSON-lines log reader: shapes, tolerance, counts and the typed values a diagnosis uses.

use chrono::{TimeZone, Utc};
use padtriage::model::{EventFilter, Loc, Time};
use padtriage::sources::padlog::{looks_like_padlog, read_padlog};
use padtriage::sources::padlog::{PadLogEntry, TraceLevel};
use padtriage::sources::text::MAX_LINE_PROBLEMS;
use padtriage::sources::ReadCtx;
use padtriage::sources::{Event, EventData, Parsed};
use std::io::{BufReader, Cursor};
use std::path::Path;
use std::sync::Arc;

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/padlog")
        .join(name);
    std::fs::read(p).unwrap()
}

fn read_with(bytes: &[u8], filter: &EventFilter) -> Parsed {
    let ctx = ReadCtx {
        file: Arc::from("logs.zip!/PAD/UIFlowService.log"),
        size: bytes.len() as u64,
        mtime: None,
        filter,
        threads: 1,
        progress: None,
    };
    // A small buffer makes lines straddle buffer refills.
    read_padlog(BufReader::with_capacity(64, Cursor::new(bytes)), &ctx)
}

fn read(bytes: &[u8]) -> Parsed {
    read_with(bytes, &EventFilter::all())
}

fn pad(e: &Event) -> &PadLogEntry {
    match &e.data {
        EventData::PadLog(p) => p,
        other => panic!("not a PAD log event: {other:?}"),
    }
}

fn line(e: &Event) -> u64 {
    match e.source.loc {
        Loc::Line(n) => n,
        other => panic!("not a line: {other:?}"),
    }
}

fn utc(h: u32, m: u32, s: u32) -> Time {
    Utc.with_ymd_and_hms(2025, 6, 2, h, m, s).unwrap()
}

#[test]
fn reads_the_current_schema_with_its_damage() {
    let p = read(&fixture("UIFlowService.log"));
    let r = &p.report;
    // Lines 1 (banner), 2, 3, 4, 5, 6-8 (stack), 9, 10, 11, 13 (stray text), 15.
    assert_eq!(r.records, 13);
    assert_eq!(r.kept, 4);
    assert_eq!(r.ignored, 9);
    assert_eq!(r.records, r.kept + r.ignored);
    // Line 12 broken JSON, 14 no time, 16 cut off at end of file.
    assert_eq!(r.errors, 3);
    let kinds: Vec<(&str, Option<&str>)> = r
        .problems
        .iter()
        .map(|p| (p.kind.as_str(), p.at.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("bad_line", Some("line 12")),
            ("no_time", Some("line 14")),
            ("truncated", Some("line 16")),
        ]
    );
    assert_eq!(
        r.first,
        Some(utc(13, 15, 1) + chrono::Duration::nanoseconds(123_456_700))
    );
    assert_eq!(r.last, Some(utc(13, 19, 5)));

    let lines: Vec<u64> = p.events.iter().map(line).collect();
    assert_eq!(lines, vec![4, 5, 9, 15]);

    // Session context entry: kept for the timeline although it is Info.
    let start = pad(&p.events[0]);
    assert_eq!(start.level, Some(TraceLevel::Info));
    assert_eq!(start.user.as_deref(), Some("CONTOSO\\svc-rpa"));
    assert_eq!(start.operation.as_deref(), Some("CreateSession"));
    assert!(start.error_codes.is_empty());

    // The failure: code, decimal NTSTATUS, user from eventData, stack trace attached.
    let fail = &p.events[1];
    assert_eq!(
        fail.time,
        utc(13, 17, 22) + chrono::Duration::milliseconds(481)
    );
    let f = pad(fail);
    assert_eq!(f.level, Some(TraceLevel::Error));
    assert_eq!(f.error_codes, vec!["WindowsIdentityIncorrect"]);
    assert_eq!(f.ntstatus, vec![0xC000_006D]);
    assert_eq!(f.user.as_deref(), Some("CONTOSO\\svc-rpa"));
    assert_eq!(f.machine.as_deref(), Some("RPA-VM01"));
    assert_eq!(f.agent_version.as_deref(), Some("2.56.178.25127"));
    assert_eq!(f.is_aad_joined, Some(true));
    assert_eq!(f.is_domain_joined, Some(false));
    assert_eq!(
        f.correlation_id.as_deref(),
        Some("3b0c8f7e-5d2a-4f61-9c8e-1a2b3c4d5e6f")
    );
    assert_eq!(f.component.as_deref(), Some("UIFlowService"));
    assert_eq!(
        f.event_type.as_deref(),
        Some("Session.Unattended.Create.Failed")
    );
    assert!(f.message.starts_with("Unattended session creation failed"));
    assert!(f
        .message
        .contains("\nSystem.ComponentModel.Win32Exception (0x80004005)"));
    assert!(f
        .message
        .contains("\n   at Microsoft.Flow.RPA.Desktop.UIFlowService.Sessions.SessionManager.CreateUnattendedSession"));
    assert!(!f.message.contains("log writer restarted"));

    // Hex NTSTATUS, user from eventData.connectionUsername.
    let warn = pad(&p.events[2]);
    assert_eq!(warn.level, Some(TraceLevel::Warning));
    assert_eq!(warn.ntstatus, vec![0xC000_015B]);
    assert_eq!(warn.user.as_deref(), Some("alice@contoso.com"));

    // Critical with the legacy code; join flags written as a string and a bool.
    let crit = pad(&p.events[3]);
    assert_eq!(crit.level, Some(TraceLevel::Critical));
    assert_eq!(crit.error_codes, vec!["InvalidConnectionCredentials"]);
    assert_eq!(crit.is_aad_joined, Some(false));
    assert_eq!(crit.is_domain_joined, Some(true));
}

#[test]
fn reads_another_schema_generation() {
    let p = read(&fixture("RpaAgent.log"));
    let r = &p.report;
    assert_eq!((r.records, r.kept, r.ignored, r.errors), (4, 2, 2, 0));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.first, Some(utc(13, 20, 0)));
    assert_eq!(r.last, Some(utc(13, 20, 7)));

    let e = &p.events[0];
    assert_eq!(line(e), 2);
    assert_eq!(e.time, utc(13, 20, 1) + chrono::Duration::milliseconds(120));
    let x = pad(e);
    assert_eq!(x.level, Some(TraceLevel::Error));
    assert_eq!(x.error_codes, vec!["SessionCreationInvalidCredentials"]);
    assert_eq!(x.ntstatus, vec![0xC004_844C]);
    assert_eq!(x.user.as_deref(), Some("alice@contoso.com"));
    assert_eq!(x.machine.as_deref(), Some("RPA-VM02"));
    assert_eq!(x.agent_version.as_deref(), Some("2.57.101.25153"));

    let w = &p.events[1];
    assert_eq!(line(w), 3);
    assert_eq!(w.time, utc(13, 20, 2));
    assert_eq!(pad(w).level, Some(TraceLevel::Warning));
}

#[test]
fn continuation_lines_add_codes_to_the_entry_they_follow() {
    let text = concat!(
        r#"{"eventTimestamp":"2025-06-02T13:17:22Z","traceLevel":"Error","message":"Run failed."}"#,
        "\n",
        "Microsoft.Flow.RPA.RunException: WindowsIdentityIncorrect (NTSTATUS -1073741715)\n",
        "   at Microsoft.Flow.RPA.Runner.Start()\n",
        "\n",
        r#"{"eventTimestamp":"2025-06-02T13:17:23Z","traceLevel":"Info","message":"Idle."}"#,
        "\n",
        "   at this line follows an ignored entry and is dropped\n",
    );
    let p = read(text.as_bytes());
    assert_eq!(p.events.len(), 1);
    let e = pad(&p.events[0]);
    assert_eq!(e.error_codes, vec!["WindowsIdentityIncorrect"]);
    assert_eq!(e.ntstatus, vec![0xC000_006D]);
    assert_eq!(e.message.lines().count(), 3);
    assert_eq!(
        (p.report.records, p.report.kept, p.report.ignored),
        (5, 1, 4)
    );
    assert!(p.report.problems.is_empty());
}

#[test]
fn info_entries_without_interest_are_counted_not_kept() {
    // `sessionId` is on every line and must not make an entry "about sessions".
    let text = concat!(
        r#"{"eventTimestamp":"2025-06-02T13:00:00Z","traceLevel":"Info","message":"Tick.","eventData":{"executionInfo":{"sessionId":2}}}"#,
        "\n",
        r#"{"eventTimestamp":"2025-06-02T13:00:01Z","traceLevel":"Verbose","message":"Errors so far: 0.","eventData":{"errorCount":0}}"#,
        "\n",
        r#"{"eventTimestamp":"2025-06-02T13:00:02Z","traceLevel":"Info","message":"Validating credentials for the connection."}"#,
        "\n",
    );
    let p = read(text.as_bytes());
    assert_eq!(
        (p.report.records, p.report.kept, p.report.ignored),
        (3, 1, 2)
    );
    assert_eq!(line(&p.events[0]), 3);
}

#[test]
fn time_filter_drops_entries_outside_the_window() {
    let window = EventFilter {
        ranges: Some(vec![(utc(13, 19, 0), utc(13, 30, 0))]),
    };
    let p = read_with(&fixture("UIFlowService.log"), &window);
    assert_eq!(p.events.len(), 1);
    assert_eq!(line(&p.events[0]), 15);
    assert_eq!(p.report.records, 13);
    assert_eq!(p.report.ignored, 12);
}

#[test]
fn a_huge_line_is_skipped_without_losing_the_next() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(
        br#"{"eventTimestamp":"2025-06-02T13:00:00Z","traceLevel":"Error","message":"before"}"#,
    );
    bytes.push(b'\n');
    bytes.extend_from_slice(
        br#"{"eventTimestamp":"2025-06-02T13:00:01Z","traceLevel":"Error","message":""#,
    );
    bytes.extend(std::iter::repeat_n(b'A', 3 << 20));
    bytes.extend_from_slice(b"\"}\n");
    bytes.extend_from_slice(
        br#"{"eventTimestamp":"2025-06-02T13:00:02Z","traceLevel":"Error","message":"after"}"#,
    );
    let p = read(&bytes);
    assert_eq!(p.report.errors, 1);
    assert_eq!(p.report.problems.len(), 1);
    assert_eq!(p.report.problems[0].kind, "limit");
    assert_eq!(p.report.problems[0].at.as_deref(), Some("line 2"));
    let lines: Vec<u64> = p.events.iter().map(line).collect();
    assert_eq!(lines, vec![1, 3]);
    assert_eq!(pad(&p.events[1]).message, "after");
}

#[test]
fn garbage_is_reported_not_parsed() {
    let mut bytes = Vec::new();
    for i in 0..4000u32 {
        bytes.push((i.wrapping_mul(2_654_435_761) >> 13) as u8);
    }
    bytes.extend_from_slice(b"\n{ this is not json\nplain words\n");
    let p = read(&bytes);
    assert!(p.events.is_empty());
    assert!(p.report.errors >= 1);
    assert!(p.report.problems.iter().any(|x| x.kind == "bad_line"));

    let text = "Hello\nthis is a text file\nnot a log\n";
    let p = read(text.as_bytes());
    assert!(p.events.is_empty());
    assert_eq!(p.report.errors, 0);
    assert_eq!(p.report.problems.len(), 1);
    assert_eq!(p.report.problems[0].kind, "unrecognised");
}

#[test]
fn empty_file_reads_as_nothing() {
    let p = read(b"");
    assert_eq!(
        (p.report.records, p.report.errors, p.report.kept),
        (0, 0, 0)
    );
    assert!(p.events.is_empty());
    assert!(p.report.problems.is_empty());
    assert_eq!(p.report.first, None);
}

#[test]
fn bad_lines_are_listed_up_to_a_cap() {
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!(
            "{{\"eventTimestamp\":\"2025-06-02T13:00:{i:02}Z\",\"traceLevel\":\n"
        ));
    }
    let p = read(text.as_bytes());
    assert_eq!(p.report.errors, 30);
    assert_eq!(p.report.problems.len(), MAX_LINE_PROBLEMS + 1);
    let last = p.report.problems.last().unwrap();
    assert_eq!(last.at, None);
    assert!(last.message.starts_with("10 more"), "{}", last.message);
}

#[test]
fn byte_order_marks_are_tolerated() {
    let line = r#"{"eventTimestamp":"2025-06-02T13:17:22Z","traceLevel":"Error","message":"LogonTypeNotGranted"}"#;
    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend_from_slice(line.as_bytes());
    let p = read(&utf8);
    assert_eq!(p.events.len(), 1);
    assert_eq!(line_of(&p), 1);
    assert_eq!(pad(&p.events[0]).error_codes, vec!["LogonTypeNotGranted"]);

    // Re-saved as UTF-16LE: same result.
    let src = String::from_utf8(fixture("RpaAgent.log")).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(src.encode_utf16().flat_map(u16::to_le_bytes));
    let p = read(&utf16);
    assert_eq!((p.report.records, p.report.kept), (4, 2));
    assert_eq!(pad(&p.events[0]).ntstatus, vec![0xC004_844C]);
}

fn line_of(p: &Parsed) -> u64 {
    line(&p.events[0])
}

#[test]
fn sniffs_pad_logs_and_nothing_else() {
    let cur = String::from_utf8(fixture("UIFlowService.log")).unwrap();
    assert!(looks_like_padlog(&cur[..2000]));
    let gen = String::from_utf8(fixture("RpaAgent.log")).unwrap();
    assert!(looks_like_padlog(&gen));
    assert!(looks_like_padlog(&format!("\u{feff}{gen}")));

    assert!(!looks_like_padlog(""));
    assert!(!looks_like_padlog(
        "+----+\n| Device State |\n AzureAdJoined : YES\n"
    ));
    assert!(!looks_like_padlog(
        r#"{"error":{"code":"WindowsIdentityIncorrect","message":"x"}}"#
    ));
    assert!(!looks_like_padlog(
        r#"[{"flowsessionid":"1","errorcode":"WindowsIdentityIncorrect","startedon":"2025-06-02T13:00:00Z"}]"#
    ));
    assert!(!looks_like_padlog(
        "flowsessionid,errorcode,startedon\n1,X,6/2/2025 1:17 PM\n"
    ));
}
