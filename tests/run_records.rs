//! Portal error JSON and flow-session exports: every shape, damage, and the typed values a
//! diagnosis relies on (codes, NTSTATUS, times, users, machines, rows).

use chrono::{TimeZone, Utc};
use padtriage::model::{EventFilter, Loc, Time};
use padtriage::sources::run_records::{
    looks_like_flow_sessions, looks_like_portal_error, read_flow_sessions, read_portal_error,
};
use padtriage::sources::run_records::{RunRecord, RunRecordKind};
use padtriage::sources::ReadCtx;
use padtriage::sources::{Event, EventData, Parsed};
use std::path::Path;
use std::sync::Arc;

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs")
        .join(name);
    std::fs::read(p).unwrap()
}

fn text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

fn t(d: u32, h: u32, m: u32, s: u32) -> Time {
    Utc.with_ymd_and_hms(2025, 6, d, h, m, s).unwrap()
}

fn ctx<'a>(filter: &'a EventFilter, mtime: Option<Time>) -> ReadCtx<'a> {
    ReadCtx {
        file: Arc::from("run/error.json"),
        size: 0,
        mtime,
        filter,
        threads: 1,
        progress: None,
    }
}

fn portal(bytes: &[u8], mtime: Option<Time>) -> Parsed {
    let f = EventFilter::all();
    read_portal_error(bytes, &ctx(&f, mtime))
}

fn sessions(bytes: &[u8]) -> Parsed {
    let f = EventFilter::all();
    read_flow_sessions(bytes, &ctx(&f, None))
}

fn rec(e: &Event) -> &RunRecord {
    match &e.data {
        EventData::RunRecord(r) => r,
        other => panic!("not a run record: {other:?}"),
    }
}

fn rows(p: &Parsed) -> Vec<u64> {
    p.events
        .iter()
        .map(|e| match e.source.loc {
            Loc::Row(n) => n,
            other => panic!("not a row: {other:?}"),
        })
        .collect()
}

// ---------------------------------------------------------------- portal error

#[test]
fn portal_error_in_action_output_takes_the_file_time() {
    let mtime = t(2, 13, 20, 0);
    let p = portal(&fixture("portal_error_action_output.json"), Some(mtime));
    assert_eq!(
        (p.report.records, p.report.kept, p.report.errors),
        (1, 1, 0)
    );
    assert!(p.report.problems.is_empty());
    let e = &p.events[0];
    assert_eq!(e.time, mtime);
    assert_eq!(e.source.loc, Loc::Line(8));
    let r = rec(e);
    assert_eq!(r.kind, RunRecordKind::PortalError);
    assert!(r.time_is_estimate);
    assert_eq!(r.error_code.as_deref(), Some("WindowsIdentityIncorrect"));
    assert_eq!(r.ntstatus, vec![0xC000_006D]);
    assert!(r
        .error_message
        .as_deref()
        .unwrap()
        .starts_with("The credentials provided"));
    assert_eq!(r.started, None);
}

#[test]
fn portal_error_connection_form_gives_machine_and_correlation() {
    let p = portal(
        &fixture("portal_error_connection.json"),
        Some(t(2, 9, 0, 0)),
    );
    let r = rec(&p.events[0]);
    assert_eq!(r.error_code.as_deref(), Some("WindowsIdentityIncorrect"));
    assert_eq!(
        r.machine.as_deref(),
        Some("5d7c2a10-8e41-4b6f-9a3e-2f1c0b9d7e65")
    );
    assert_eq!(
        r.correlation_id.as_deref(),
        Some("0f8e6d4c-2b1a-4c3d-8e9f-a1b2c3d4e5f6")
    );
    assert!(r.ntstatus.is_empty());
}

#[test]
fn portal_error_body_wrapper_hex_status_and_user() {
    let p = portal(&fixture("portal_error_body.json"), Some(t(2, 9, 0, 0)));
    let r = rec(&p.events[0]);
    assert_eq!(r.error_code.as_deref(), Some("LogonTypeNotGranted"));
    assert_eq!(r.ntstatus, vec![0xC000_015B]);
    assert_eq!(r.user.as_deref(), Some("CONTOSO\\svc-rpa"));
}

#[test]
fn portal_error_body_as_string_and_bare_error() {
    let inner = r#"{"error":{"code":"MSEntraLogonFailure","message":"The Microsoft Entra credentials could not be validated."}}"#;
    let wrapped = serde_json::json!({"statusCode": 400, "body": inner}).to_string();
    let p = portal(wrapped.as_bytes(), Some(t(2, 9, 0, 0)));
    assert_eq!(
        rec(&p.events[0]).error_code.as_deref(),
        Some("MSEntraLogonFailure")
    );

    let bare = r#"Body: {"code":"AccountLockedOut","message":"The account is locked out. (-1073741260)"} copied from run page"#;
    let p = portal(bare.as_bytes(), Some(t(2, 9, 0, 0)));
    let r = rec(&p.events[0]);
    assert_eq!(r.error_code.as_deref(), Some("AccountLockedOut"));
    assert_eq!(r.ntstatus, vec![0xC000_0234]);
}

#[test]
fn portal_error_without_any_time_is_not_placed() {
    let p = portal(&fixture("portal_error_connection.json"), None);
    assert!(p.events.is_empty());
    assert_eq!((p.report.records, p.report.ignored), (1, 1));
    assert_eq!(p.report.problems.len(), 1);
    assert_eq!(p.report.problems[0].kind, "no_time");
    assert!(p.report.problems[0].message.contains("--at"));
}

#[test]
fn portal_error_damage_is_reported() {
    let full = text("portal_error_action_output.json");
    let cut = &full[..full.len() / 2];
    let p = portal(cut.as_bytes(), Some(t(2, 9, 0, 0)));
    assert!(p.events.is_empty());
    assert_eq!(p.report.errors, 1);
    assert_eq!(p.report.problems[0].kind, "truncated");

    let p = portal(
        br#"{"statusCode":200,"body":{"status":"Succeeded"}}"#,
        Some(t(2, 9, 0, 0)),
    );
    assert!(p.events.is_empty());
    assert_eq!(p.report.problems[0].kind, "unrecognised");

    let p = portal(b"\x00\x01garbage \xff\xfe{{{", Some(t(2, 9, 0, 0)));
    assert!(p.events.is_empty());
    assert!(!p.report.problems.is_empty());

    let p = portal(b"", Some(t(2, 9, 0, 0)));
    assert!(p.events.is_empty());
    assert_eq!(p.report.problems[0].kind, "unrecognised");
}

#[test]
fn portal_error_saved_as_utf16_by_powershell() {
    let src = text("portal_error_body.json");
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(src.encode_utf16().flat_map(u16::to_le_bytes));
    let p = portal(&bytes, Some(t(2, 9, 0, 0)));
    assert_eq!(
        rec(&p.events[0]).error_code.as_deref(),
        Some("LogonTypeNotGranted")
    );
}

// ---------------------------------------------------------------- flow sessions

#[test]
fn web_api_export_keeps_failed_rows() {
    let p = sessions(&fixture("flowsessions_webapi.json"));
    let r = &p.report;
    assert_eq!((r.records, r.kept, r.ignored, r.errors), (3, 2, 1, 0));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(rows(&p), vec![1, 3]);
    assert_eq!(r.first, Some(t(1, 13, 19, 41)));
    assert_eq!(r.last, Some(t(2, 14, 0, 2)));

    let e = &p.events[0];
    assert_eq!(e.time, t(2, 13, 17, 23));
    let x = rec(e);
    assert_eq!(x.kind, RunRecordKind::FlowSession);
    assert!(!x.time_is_estimate);
    assert_eq!(x.error_code.as_deref(), Some("WindowsIdentityIncorrect"));
    assert_eq!(x.ntstatus, vec![0xC000_006D]);
    assert_eq!(x.started, Some(t(2, 13, 17, 10)));
    assert_eq!(x.completed, Some(t(2, 13, 17, 23)));
    assert_eq!(x.user.as_deref(), Some("CONTOSO\\svc-rpa"));
    assert_eq!(
        x.user_sid.as_deref(),
        Some("S-1-5-21-1004336348-1177238915-682003330-1107")
    );
    assert_eq!(x.machine.as_deref(), Some("RPA-VM01"));
    assert_eq!(x.run_mode.as_deref(), Some("Unattended"));
    assert_eq!(
        x.correlation_id.as_deref(),
        Some("3b0c8f7e-5d2a-4f61-9c8e-1a2b3c4d5e6f")
    );

    // Timed out with no error code: kept, placed at its start, numeric run mode labelled.
    let e = &p.events[1];
    assert_eq!(e.time, t(2, 14, 0, 2));
    let x = rec(e);
    assert_eq!(x.error_code, None);
    assert_eq!(x.completed, None);
    assert_eq!(x.run_mode.as_deref(), Some("Attended"));
    assert_eq!(
        x.machine.as_deref(),
        Some("5d7c2a10-8e41-4b6f-9a3e-2f1c0b9d7e65")
    );
}

#[test]
fn list_rows_array_export() {
    let p = sessions(&fixture("flowsessions_list_rows.json"));
    assert_eq!(
        (p.report.records, p.report.kept, p.report.ignored),
        (2, 1, 1)
    );
    let x = rec(&p.events[0]);
    assert_eq!(x.error_code.as_deref(), Some("AccountLockedOut"));
    assert_eq!(p.events[0].time, t(3, 8, 0, 19));
    assert_eq!(x.run_mode.as_deref(), Some("Unattended"));
}

#[test]
fn truncated_json_array_keeps_rows_before_the_cut() {
    let full = text("flowsessions_webapi.json");
    let cut = &full[..full.find("\"6e90b3f4").unwrap() + 20];
    let p = sessions(cut.as_bytes());
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.report.errors, 1);
    assert_eq!(p.report.problems[0].kind, "truncated");
    assert_eq!(p.report.problems[0].at.as_deref(), Some("row 2"));
}

#[test]
fn json_lines_with_a_broken_row() {
    let p = sessions(&fixture("flowsessions.jsonl"));
    let r = &p.report;
    assert_eq!((r.records, r.kept, r.ignored, r.errors), (2, 1, 1, 1));
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].kind, "bad_record");
    assert_eq!(r.problems[0].at.as_deref(), Some("row 2"));
    assert_eq!(rows(&p), vec![1]);
    let x = rec(&p.events[0]);
    assert_eq!(x.error_code.as_deref(), Some("MSEntraLogonFailure"));
    assert_eq!(x.machine.as_deref(), Some("RPA-VM02"));
    assert_eq!(
        p.events[0].time,
        t(4, 10, 0, 9) + chrono::Duration::milliseconds(500)
    );
}

#[test]
fn csv_export_with_display_headers_and_us_dates() {
    let p = sessions(&fixture("flowsessions_export.csv"));
    let r = &p.report;
    // Rows: 1 failed, 2 succeeded, 3 failed (bad completed date), 4 failed with no date at all,
    // 5 failed with the code only in the details.
    assert_eq!((r.records, r.kept, r.ignored, r.errors), (4, 3, 1, 1));
    assert_eq!(rows(&p), vec![1, 3, 5]);
    let at: Vec<_> = r
        .problems
        .iter()
        .map(|p| (p.kind.as_str(), p.at.as_deref()))
        .collect();
    assert_eq!(
        at,
        vec![("bad_record", Some("row 3")), ("bad_record", Some("row 4"))]
    );
    assert!(r.problems[0].message.contains("not recorded"));

    let first = rec(&p.events[0]);
    assert_eq!(p.events[0].time, t(2, 13, 17, 0));
    assert_eq!(
        first.error_code.as_deref(),
        Some("WindowsIdentityIncorrect")
    );
    assert_eq!(first.ntstatus, vec![0xC000_006D]);
    let msg = first.error_message.as_deref().unwrap();
    assert!(msg.contains("invalid.") && msg.contains("Logon failed: -1073741715"));
    assert!(msg.contains('\n'), "multi-line field kept: {msg:?}");
    assert_eq!(first.user.as_deref(), Some("CONTOSO\\svc-rpa"));
    assert_eq!(first.machine.as_deref(), Some("RPA-VM01"));
    assert_eq!(first.run_mode.as_deref(), Some("Unattended"));
    assert_eq!(
        first.user_sid.as_deref(),
        Some("S-1-5-21-1004336348-1177238915-682003330-1107")
    );

    // Bad completed date: placed at its start instead.
    let third = rec(&p.events[1]);
    assert_eq!(p.events[1].time, t(2, 14, 5, 0));
    assert_eq!(third.completed, None);
    assert_eq!(third.ntstatus, vec![0xC000_015B]);

    let fifth = rec(&p.events[2]);
    assert_eq!(fifth.error_code.as_deref(), Some("AccountLockedOut"));
    assert_eq!(p.events[2].time, t(2, 15, 40, 30));
    assert_eq!(fifth.user.as_deref(), Some("alice@contoso.com"));
}

#[test]
fn csv_with_semicolons_logical_names_and_numeric_status() {
    let p = sessions(&fixture("flowsessions_semicolon.csv"));
    assert_eq!(
        (p.report.records, p.report.kept, p.report.ignored),
        (2, 1, 1)
    );
    let x = rec(&p.events[0]);
    assert_eq!(x.error_code.as_deref(), Some("RdpPermissionNotGranted"));
    assert_eq!(x.user.as_deref(), Some("CONTOSO\\bob"));
    assert_eq!(x.run_mode.as_deref(), Some("Unattended"));
    assert_eq!(p.events[0].time, t(5, 7, 30, 4));
}

#[test]
fn csv_with_spaced_display_names_and_failed_status_only() {
    let csv = "Error Code,Error Message,Started On,Completed On,Session User Name,Machine,Status Reason\n\
               ,,6/2/2025 1:17 PM,6/2/2025 1:18 PM,alice@contoso.com,RPA-VM03,Faulted\n\
               ,,6/2/2025 2:17 PM,6/2/2025 2:18 PM,alice@contoso.com,RPA-VM03,Cancelled\n";
    let p = sessions(csv.as_bytes());
    assert_eq!((p.report.records, p.report.kept), (2, 1));
    let x = rec(&p.events[0]);
    assert_eq!(x.error_code, None);
    assert_eq!(x.user.as_deref(), Some("alice@contoso.com"));
    assert_eq!(x.machine.as_deref(), Some("RPA-VM03"));
    assert_eq!(p.events[0].time, t(2, 13, 18, 0));
}

#[test]
fn flow_session_time_filter() {
    let f = EventFilter {
        ranges: Some(vec![(t(2, 14, 0, 0), t(2, 15, 0, 0))]),
    };
    let p = read_flow_sessions(&fixture("flowsessions_webapi.json")[..], &ctx(&f, None));
    assert_eq!(rows(&p), vec![3]);
    assert_eq!(p.report.ignored, 2);
}

#[test]
fn flow_session_garbage_and_empty() {
    let p = sessions(b"");
    assert!(p.events.is_empty());
    assert_eq!(p.report.problems[0].kind, "unrecognised");

    let p = sessions(b"lorem ipsum dolor\nsit amet, consectetur\n\x00\xff\xfe");
    assert!(p.events.is_empty());
    assert!(p.report.problems.iter().any(|x| x.kind == "unrecognised"));

    let p = sessions(b"[1, \"two\", {\"errorcode\":\"X\"}, ]");
    assert!(p.events.is_empty());
    // Two non-object rows, and an object with an error but no time.
    assert_eq!(p.report.errors, 3);
}

#[test]
fn sniffers_tell_the_shapes_apart() {
    for f in [
        "portal_error_action_output.json",
        "portal_error_connection.json",
        "portal_error_body.json",
    ] {
        assert!(looks_like_portal_error(&text(f)), "{f}");
        assert!(!looks_like_flow_sessions(&text(f)), "{f}");
    }
    for f in [
        "flowsessions_webapi.json",
        "flowsessions_list_rows.json",
        "flowsessions.jsonl",
        "flowsessions_export.csv",
        "flowsessions_semicolon.csv",
    ] {
        assert!(looks_like_flow_sessions(&text(f)), "{f}");
        assert!(!looks_like_portal_error(&text(f)), "{f}");
    }
    assert!(looks_like_flow_sessions(
        "Error Code,Started On,Session User Name\n"
    ));
    assert!(!looks_like_flow_sessions("Name,Started On\n"));
    // A PAD log line with session columns is a PAD log: the registry tries PAD logs first.
    let pad = r#"{"eventTimestamp":"2025-06-02T13:00:00Z","traceLevel":"Error","message":"x","eventData":{"errorCode":"A","sessionUserName":"b"}}"#;
    assert_eq!(
        padtriage::sources::detect::sniff(pad.as_bytes(), "x.log").kind,
        padtriage::model::FileKind::PadLog
    );
    assert!(!looks_like_portal_error(r#"{"code":"x"}"#));
    assert!(!looks_like_portal_error("error: code 5"));
}

#[test]
fn sniffs_an_error_inside_a_string_body() {
    let inner = r#"{"error":{"code":"MSEntraLogonFailure","message":"m"}}"#;
    let wrapped = serde_json::json!({"statusCode": 400, "body": inner}).to_string();
    assert!(looks_like_portal_error(&wrapped));
}
