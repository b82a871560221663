//! The command line end to end, on a bundle built in a temp dir: analyze in every format (JSON
//! checked against the published schema), --fail-on, colours, inventory, timeline, rules.

use chrono::{DateTime, Duration, Utc};
use padtriage_testkit::events::{self, Logon, Principal};
use padtriage_testkit::evtx_writer::{EvtxWriter, Guid};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn padtriage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const COMPUTER: &str = "RPA-VM01";

/// A bundle where the connection account lacks the RDP logon right: PAD logs the detail
/// -1073741477 without naming the user, Security has the 4625 0xC000015B that names it, and a
/// network spray hits other accounts in the same minute.
fn logon_right_bundle(dir: &Path) -> PathBuf {
    let run = t("2025-06-02T13:17:05Z");
    let user = Principal::entra(
        "rpa-bot",
        Guid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
    );
    let mut specs: Vec<_> = events::noise(7, run - Duration::hours(2), COMPUTER)
        .take(300)
        .collect();
    let mut fail = Logon::new(run - Duration::seconds(1), COMPUTER, user.clone(), 10);
    fail.status = 0xC000_015B;
    fail.sub_status = 0;
    fail.failure_reason = "%%2308".into();
    specs.push(events::security_4625(&fail));
    for i in 0..5 {
        let mut spray = Logon::new(
            run - Duration::seconds(30 - i),
            COMPUTER,
            Principal::new(&format!("admin{i}"), "CONTOSO", "S-1-0-0"),
            3,
        );
        spray.status = 0xC000_006D;
        spray.sub_status = 0xC000_006A;
        spray.ip_address = "203.0.113.7".into();
        specs.push(events::security_4625(&spray));
    }
    specs.sort_by_key(|s| s.time);
    let evtx = EvtxWriter::build(&specs).unwrap();
    let bundle = dir.join("bundle");
    std::fs::create_dir_all(bundle.join("PAD")).unwrap();
    std::fs::write(bundle.join("Security.evtx"), evtx).unwrap();
    let pad = [
        r#"{"eventTimestamp":"2025-06-02T13:16:58.120Z","traceLevel":"Info","component":"UIFlowService","operationName":"StartSession","message":"Creating unattended session","correlationId":"7d0c2b1e-1111-4c3a-9d2e-5f6a7b8c9d0e","eventData":{"agentVersion":"2.52.123.25"}}"#,
        r#"{"eventTimestamp":"2025-06-02T13:17:05.431Z","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. The credentials provided with the request are invalid. Error code: -1073741477","correlationId":"7d0c2b1e-1111-4c3a-9d2e-5f6a7b8c9d0e","eventData":{"agentVersion":"2.52.123.25"}}"#,
    ]
    .join("\r\n");
    std::fs::write(bundle.join("PAD").join("UIFlowService.log"), pad + "\r\n").unwrap();
    bundle
}

#[test]
fn analyze_json_follows_the_schema_and_names_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = logon_right_bundle(dir.path());
    let out = padtriage(&["analyze", bundle.to_str().unwrap(), "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/analysis.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "schema errors: {errors:#?}");
    let run = &doc["runs"][0];
    assert_eq!(doc["runs"].as_array().unwrap().len(), 1);
    assert_eq!(run["primary_cause"], "logon-right-missing");
    assert_eq!(run["primary_verdict"], "confirmed");
    assert_eq!(run["user_basis"], "inferred");
    assert_eq!(run["user"], "AzureAD\\rpa-bot");
    let cause = run["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == "logon-right-missing")
        .unwrap();
    let cites: Vec<&serde_json::Value> = cause["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["cites"].as_array().unwrap())
        .collect();
    assert!(cites
        .iter()
        .any(|c| c["file"] == "Security.evtx" && c["record"].is_u64()));
    assert!(cites
        .iter()
        .any(|c| c["file"] == "PAD/UIFlowService.log" && c["line"] == 2));
    // The spray at other accounts is not blamed.
    let cm = run["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == "credentials-mismatch")
        .unwrap();
    assert_ne!(cm["verdict"], "confirmed");
}

#[test]
fn analyze_text_and_markdown_carry_the_verdict_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = logon_right_bundle(dir.path());
    let b = bundle.to_str().unwrap();
    let text = padtriage(&["analyze", b]);
    let s = stdout(&text);
    // The answer first: the cause, its verdict and the first step of its fix.
    assert!(
        s.contains(": logon-right-missing (confirmed). Next: "),
        "{s}"
    );
    assert!(s.contains("logon-right-missing"));
    assert!(s.contains("Allow log on through Remote Desktop Services"));
    assert!(!s.contains("\x1b["), "NO_COLOR is respected");
    let forced = padtriage(&["analyze", b, "--color", "always"]);
    assert!(stdout(&forced).contains("\x1b["));
    let md = stdout(&padtriage(&["analyze", b, "--format", "markdown"]));
    assert!(md.contains("| verdict | cause | evidence |"), "{md}");
    assert!(md.contains("| **confirmed** | `logon-right-missing` |"));
}

#[test]
fn fail_on_returns_one_for_scripted_scans() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = logon_right_bundle(dir.path());
    let b = bundle.to_str().unwrap();
    assert_eq!(
        padtriage(&["analyze", b, "--fail-on", "confirmed"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        padtriage(&["analyze", b, "--fail-on", "likely"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(padtriage(&["analyze", b]).status.code(), Some(0));
}

#[test]
fn at_and_user_analyse_a_bundle_without_run_records() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = logon_right_bundle(dir.path());
    std::fs::remove_dir_all(bundle.join("PAD")).unwrap();
    let b = bundle.to_str().unwrap();
    let none = stdout(&padtriage(&["analyze", b]));
    assert!(none.contains("No failed desktop-flow run found"), "{none}");
    let out = padtriage(&[
        "analyze",
        b,
        "--at",
        "2025-06-02T13:17:10Z",
        "--user",
        "AzureAD\\rpa-bot",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["runs"][0]["user_basis"], "given");
    assert_eq!(doc["runs"][0]["primary_cause"], "logon-right-missing");
}

#[test]
fn inventory_lists_each_file_with_kind_channel_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = logon_right_bundle(dir.path());
    std::fs::write(bundle.join("notes.docx"), b"PK\x05\x06not really").unwrap();
    let out = padtriage(&["inventory", bundle.to_str().unwrap(), "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a skipped file makes the run partial"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = doc["files"].as_array().unwrap();
    let sec = files.iter().find(|f| f["path"] == "Security.evtx").unwrap();
    assert_eq!(sec["kind"], "evtx");
    assert_eq!(sec["channel"], "Security");
    assert_eq!(sec["records"], 306);
    assert_eq!(sec["errors"], 0);
    assert!(sec["first"].is_string() && sec["last"].is_string());
    let pad = files
        .iter()
        .find(|f| f["path"] == "PAD/UIFlowService.log")
        .unwrap();
    assert_eq!(pad["kind"], "pad_log");
    let junk = files.iter().find(|f| f["path"] == "notes.docx").unwrap();
    assert!(junk["skipped"].is_string());
}

#[test]
fn timeline_formats_and_windows() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = logon_right_bundle(dir.path());
    let b = bundle.to_str().unwrap();
    let csv = stdout(&padtriage(&[
        "timeline",
        b,
        "--around",
        "2025-06-02T13:17:05Z",
        "--window",
        "1m",
        "--format",
        "csv",
    ]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("time,kind,file,location,summary,computer,user,status,sub_status,time_basis")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows
        .iter()
        .any(|r| r.contains("security.4625") && r.contains("0xC000015B")));
    assert!(rows.iter().any(|r| r.contains("pad.error")));
    assert!(
        rows.iter().all(|r| r.starts_with("2025-06-02T13:1")),
        "{rows:?}"
    );
    let jsonl = stdout(&padtriage(&["timeline", b, "--format", "jsonl"]));
    let mut last = String::new();
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let time = v["time"].as_str().unwrap().to_string();
        assert!(time >= last, "sorted by time");
        last = time;
        assert!(v["file"].is_string() && v["summary"].is_string());
    }
}

#[test]
fn rules_list_and_check_report_file_and_line() {
    let list = stdout(&padtriage(&["rules", "list"]));
    for id in [
        "credentials-mismatch",
        "logon-right-missing",
        "auth-unreachable",
    ] {
        assert!(list.contains(id), "{list}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "id = \"my-cause\"\ntitle = \"t\"\nkb = \"k\"\nresolution = [\"r\"]\n\n[[evidence]]\nstrength = \"confirms\"\ndescribe = \"d\"\nin = \"security.4625\"\nwhen = { sub_stats = \"0x1\" }\n",
    )
    .unwrap();
    let out = padtriage(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:10:"), "{err}");
    assert!(err.contains("sub_stats"));
    std::fs::write(
        dir.path().join("bad.toml"),
        "id = \"my-cause\"\ntitle = \"t\"\nkb = \"k\"\nresolution = [\"r\"]\n\n[[evidence]]\nstrength = \"confirms\"\ndescribe = \"d\"\nin = \"security.4625\"\nwhen = { sub_status = \"0xC0000064\" }\n",
    )
    .unwrap();
    let ok = padtriage(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let with = stdout(&padtriage(&[
        "rules",
        "list",
        "--rules",
        dir.path().to_str().unwrap(),
    ]));
    assert!(with.contains("my-cause"));
}

#[test]
fn bad_usage_and_missing_bundles_exit_two_without_backtrace() {
    let out = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(["analyze", "/nonexistent/bundle"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/bundle"), "{err}");
    assert!(!err.contains("backtrace") && !err.contains("panicked"));
    assert_eq!(padtriage(&["analyze"]).status.code(), Some(2));
    assert_eq!(
        padtriage(&["timeline", "x", "--from", "yesterday"])
            .status
            .code(),
        Some(2)
    );
}
