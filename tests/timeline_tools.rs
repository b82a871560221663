//! `timeline` for the tools investigators use: Timesketch lines, the CSV columns Timeline
//! Explorer filters on, NTSTATUS as hex, the --kind and --user filters, and times estimated from
//! a file's date marked everywhere and kept out of time ranges unless asked for.

use chrono::{DateTime, Duration, Utc};
use padtriage_testkit::events::{self, Logon, Principal};
use padtriage_testkit::evtx_writer::EvtxWriter;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-02T13:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The file date of `error.json`, a run record that names no time of its own.
fn error_json_date() -> DateTime<Utc> {
    t0() + Duration::seconds(90)
}

/// jdoe of CONTOSO fails to log on (PAD names jdoe@contoso.com), jdoe of FABRIKAM fails too (the
/// same short name in another domain), asmith logs on, and the portal's error JSON has only its
/// file date.
fn bundle(dir: &Path) {
    let fail = |at: i64, name: &str, domain: &str, sid: &str| {
        let mut l = Logon::new(
            t0() + Duration::seconds(at),
            "RPA-VM01.contoso.com",
            Principal::new(name, domain, sid),
            2,
        );
        l.status = 0xC000_006D;
        l.sub_status = 0xC000_006A;
        events::security_4625(&l)
    };
    let ok = Logon::new(
        t0() + Duration::seconds(180),
        "RPA-VM01.contoso.com",
        Principal::new("asmith", "CONTOSO", "S-1-5-21-1-2-3-1108"),
        2,
    );
    let security = vec![
        fail(60, "jdoe", "CONTOSO", "S-1-5-21-1-2-3-1107"),
        fail(120, "jdoe", "FABRIKAM", "S-1-5-21-9-8-7-1107"),
        events::security_4624(&ok),
    ];
    std::fs::write(
        dir.join("Security.evtx"),
        EvtxWriter::build(&security).unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("PAD")).unwrap();
    std::fs::write(
        dir.join("PAD/UIFlowService.log"),
        "{\"eventTimestamp\":\"2025-06-02T13:01:00.500Z\",\"traceLevel\":\"Error\",\
         \"component\":\"UIFlowService\",\"message\":\"Creating an unattended Windows session \
         for user 'jdoe@contoso.com' failed: WindowsIdentityIncorrect\"}\n",
    )
    .unwrap();
    let error = dir.join("error.json");
    std::fs::write(
        &error,
        r#"{"error":{"code":"WindowsIdentityIncorrect","message":"The credentials provided with the request are invalid."}}"#,
    )
    .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&error)
        .unwrap()
        .set_modified(error_json_date().into())
        .unwrap();
}

fn timeline(args: &[&str]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    bundle(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .arg("timeline")
        .arg(dir.path())
        .args(["--quiet", "--threads", "2"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    (out, text)
}

fn ok(args: &[&str]) -> String {
    let (out, text) = timeline(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The kinds of a JSON lines timeline, in order.
fn kinds(text: &str) -> Vec<String> {
    json_lines(text)
        .iter()
        .map(|v| v["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn timesketch_lines_have_what_timesketch_needs_and_the_typed_fields() {
    let lines = json_lines(&ok(&["--format", "timesketch"]));
    assert_eq!(lines.len(), 5, "{lines:?}");
    for l in &lines {
        for key in ["message", "datetime", "timestamp_desc", "kind", "file"] {
            let v = l[key].as_str().unwrap_or_default();
            assert!(!v.is_empty(), "{key} missing in {l}");
        }
        // Flat: Timesketch indexes scalars and lists, not objects.
        assert!(
            l.as_object().unwrap().values().all(|v| !v.is_object()),
            "{l}"
        );
        // The datetime and the microseconds are the same instant.
        let dt = DateTime::parse_from_rfc3339(l["datetime"].as_str().unwrap()).unwrap();
        assert_eq!(Some(dt.timestamp_micros()), l["timestamp"].as_i64(), "{l}");
    }
    let jdoe = lines
        .iter()
        .find(|l| l["kind"] == "security.4625" && l["target_domain"] == "CONTOSO")
        .unwrap();
    assert_eq!(jdoe["datetime"], "2025-06-02T13:01:00Z");
    assert_eq!(jdoe["timestamp_desc"], "Event recorded");
    assert_eq!(jdoe["status"], "0xC000006D");
    assert_eq!(jdoe["sub_status"], "0xC000006A");
    assert_eq!(jdoe["user"], "CONTOSO\\jdoe");
    assert_eq!(jdoe["computer"], "RPA-VM01.contoso.com");
    assert_eq!(jdoe["event_id"], 4625);
    assert_eq!(jdoe["logon_type"], 2);
    assert_eq!(jdoe["estimated"], false);
    assert!(jdoe["record"].is_u64());
    let pad = lines.iter().find(|l| l["kind"] == "pad.error").unwrap();
    assert_eq!(pad["timestamp_desc"], "Log line written");
    assert!(pad["line"].is_u64());
    let run = lines
        .iter()
        .find(|l| l["kind"] == "run.portal_error")
        .unwrap();
    assert_eq!(run["estimated"], true);
    assert_eq!(run["time_basis"], "file_date");
    assert!(run["timestamp_desc"]
        .as_str()
        .unwrap()
        .starts_with("Estimated"));
    assert_eq!(
        run["datetime"].as_str().unwrap(),
        error_json_date().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
}

#[test]
fn json_lines_write_ntstatus_in_hex() {
    let lines = json_lines(&ok(&["--format", "jsonl"]));
    let fails: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "security.4625")
        .collect();
    assert_eq!(fails.len(), 2);
    for f in fails {
        assert_eq!(f["data"]["status"], "0xC000006D", "{f}");
        assert_eq!(f["data"]["sub_status"], "0xC000006A", "{f}");
    }
    let ok = lines.iter().find(|l| l["kind"] == "security.4624").unwrap();
    assert!(ok["data"]["status"].is_null());
}

#[test]
fn csv_has_computer_user_status_and_time_basis_columns() {
    let text = ok(&["--format", "csv"]);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "time",
            "kind",
            "file",
            "location",
            "summary",
            "computer",
            "user",
            "status",
            "sub_status",
            "time_basis"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    let jdoe = rows
        .iter()
        .find(|r| &r[1] == "security.4625" && &r[6] == "FABRIKAM\\jdoe")
        .unwrap();
    assert_eq!(&jdoe[0], "2025-06-02T13:02:00.000Z");
    assert_eq!(&jdoe[5], "RPA-VM01.contoso.com");
    assert_eq!(&jdoe[7], "0xC000006D");
    assert_eq!(&jdoe[8], "0xC000006A");
    assert_eq!(&jdoe[9], "utc");
    let pad = rows.iter().find(|r| &r[1] == "pad.error").unwrap();
    assert_eq!(&pad[6], "jdoe@contoso.com");
    let run = rows.iter().find(|r| &r[1] == "run.portal_error").unwrap();
    assert_eq!(&run[9], "file_date");
}

#[test]
fn kind_filter_takes_kinds_families_and_lists() {
    let only = |args: &[&str]| {
        let mut a = vec!["--format", "jsonl"];
        a.extend(args);
        kinds(&ok(&a))
    };
    assert_eq!(
        only(&["--kind", "security.4625"]),
        ["security.4625", "security.4625"]
    );
    assert_eq!(only(&["--kind", "pad"]), ["pad.error"]);
    assert_eq!(
        only(&["--kind", "security.4624,run.*", "--kind", "pad.error"]),
        ["pad.error", "run.portal_error", "security.4624"]
    );
    let (out, _) = timeline(&["--kind", "securty.4625"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("securty") && err.contains("security"), "{err}");
}

#[test]
fn user_filter_matches_forms_of_one_account_not_its_namesake_in_another_domain() {
    let users = |user: &str| -> Vec<String> {
        json_lines(&ok(&["--format", "timesketch", "--user", user]))
            .iter()
            .map(|l| l["user"].as_str().unwrap().to_string())
            .collect()
    };
    // The UPN and the domain form may be one account; FABRIKAM's jdoe is another.
    let contoso = ["CONTOSO\\jdoe", "jdoe@contoso.com"];
    assert_eq!(users("CONTOSO\\jdoe"), contoso);
    assert_eq!(users("jdoe@contoso.com"), contoso);
    assert_eq!(users("fabrikam\\JDOE"), ["FABRIKAM\\jdoe"]);
    // A bare name says nothing of the domain: every jdoe.
    assert_eq!(users("jdoe").len(), 3);
    assert_eq!(users("CONTOSO\\asmith"), ["CONTOSO\\asmith"]);
    let (out, _) = timeline(&["--user", "-"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn estimated_times_are_marked_and_stay_out_of_ranges_unless_asked_for() {
    // No range: kept, and marked in text.
    let text = ok(&[]);
    let line = text
        .lines()
        .find(|l| l.contains("run.portal_error"))
        .unwrap();
    assert!(line.starts_with("2025-06-02 13:01:30.000Z~ "), "{line}");
    assert!(line.contains("time estimated from the file date"), "{line}");
    let exact = text.lines().find(|l| l.contains("pad.error")).unwrap();
    assert!(
        !exact.contains('~') && !exact.contains("estimated"),
        "{exact}"
    );

    // The file date is inside the range, but it is no record's time.
    let range = [
        "--from",
        "2025-06-02T13:00:00Z",
        "--to",
        "2025-06-02T13:05:00Z",
    ];
    let mut args = vec!["--format", "jsonl"];
    args.extend(range);
    let kept = kinds(&ok(&args));
    assert_eq!(kept.len(), 4);
    assert!(!kept.iter().any(|k| k == "run.portal_error"), "{kept:?}");
    let around = kinds(&ok(&[
        "--format",
        "jsonl",
        "--around",
        "2025-06-02T13:01:30Z",
        "--window",
        "1m",
    ]));
    assert!(
        !around.iter().any(|k| k == "run.portal_error"),
        "{around:?}"
    );

    args.push("--include-estimated");
    let kept = kinds(&ok(&args));
    assert_eq!(kept.len(), 5);
    assert!(kept.iter().any(|k| k == "run.portal_error"), "{kept:?}");

    // Without a range it would change nothing: refused, as other ignored flags are.
    let (out, _) = timeline(&["--include-estimated"]);
    assert_eq!(out.status.code(), Some(2));
}
