//! Evidence as people send it, through the command line: a file with two runs of `dsregcmd
//! /status` (each its own timeline entry, in every timeline format, and counted by `inventory`)
//! and a 4625 copied from a rendered XML view (read, not listed as `other`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel),
    )
    .unwrap()
}

/// 1-based line of the `n`th line of a fixture containing `needle`.
fn nth_line_of(rel: &str, needle: &str, n: usize) -> u64 {
    let text = String::from_utf8(fixture(rel)).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(n - 1)
        .unwrap()
        .0 as u64
        + 1
}

const DUMPS: &str = "dsregcmd/two_runs_admin_then_user.txt";

/// A folder as a customer sends it: the dsregcmd output of two runs in one file, and the
/// failed logon copied from Event Viewer's XML view into a text file.
fn bundle(dir: &Path) -> PathBuf {
    let b = dir.join("ticket");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(b.join("dsregcmd.txt"), fixture(DUMPS)).unwrap();
    std::fs::write(
        b.join("failed logon.txt"),
        fixture("event_xml/browser_view_4625.txt"),
    )
    .unwrap();
    b
}

#[test]
fn timeline_text_shows_each_dump_and_the_copied_4625() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let out = padtriage(&["timeline", b.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let first = nth_line_of(DUMPS, "| Device State", 1);
    let second = nth_line_of(DUMPS, "| Device State", 2);
    let dumps: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("dsregcmd.snapshot"))
        .collect();
    assert_eq!(dumps.len(), 2, "{text}");
    // The runs contradict each other on the device state; both are on the timeline.
    assert!(
        dumps[0].starts_with("2025-03-11 09:12:40.000Z"),
        "{}",
        dumps[0]
    );
    assert!(
        dumps[0].contains(
            "dsregcmd dump 1/2: domain joined only (AzureAdJoined NO, DomainJoined YES), \
             device RPA-VM01.corp.contoso.com, AzureAdPrt NO, \
             run as CONTOSO\\rpaadmin, rpaadmin@contoso.com (ELEVATED User)"
        ),
        "{}",
        dumps[0]
    );
    assert!(dumps[0].ends_with(&format!("[dsregcmd.txt line {first}]")));
    assert!(
        dumps[1].contains(
            "dsregcmd dump 2/2 (time from the file date): hybrid joined (AzureAdJoined YES, \
             DomainJoined YES), device RPA-VM01.corp.contoso.com, DeviceAuthStatus SUCCESS, \
             tenant Contoso Ltd (3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18), AzureAdPrt YES updated \
             2025-03-11 10:02Z expires 2025-03-25 10:02Z, EnterprisePrt YES, \
             run as CONTOSO\\jdoe, jdoe@contoso.com"
        ),
        "{}",
        dumps[1]
    );
    // A time from the file date is marked beside the time and in the brackets.
    assert!(dumps[1].contains("Z~ dsregcmd.snapshot"), "{}", dumps[1]);
    assert!(
        dumps[1].ends_with(&format!(
            "[dsregcmd.txt line {second}, time estimated from the file date]"
        )),
        "{}",
        dumps[1]
    );
    // The entries replace the old footer.
    assert!(!text.contains("snapshot  dsregcmd"), "{text}");
    // The event copied from the XML view is on the timeline.
    let logon = text
        .lines()
        .find(|l| l.contains("security.4625"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(logon.starts_with("2025-03-11 14:05:12.418Z"), "{logon}");
    assert!(
        logon.contains("[failed logon.txt record 1204270]"),
        "{logon}"
    );
}

#[test]
fn timeline_jsonl_and_csv_carry_the_dumps() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let b = b.to_str().unwrap();
    let out = padtriage(&["timeline", b, "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["kind"] == "dsregcmd.snapshot")
        .collect();
    assert_eq!(lines.len(), 2);
    let (admin, user) = (&lines[0], &lines[1]);
    assert_eq!(admin["time"], "2025-03-11T09:12:40Z");
    assert_eq!(admin["file"], "dsregcmd.txt");
    assert_eq!(
        admin["loc"]["line"],
        nth_line_of(DUMPS, "| Device State", 1)
    );
    let d = &admin["data"];
    assert_eq!(d["family"], "dsregcmd");
    assert_eq!(
        (d["dump"].as_u64(), d["dumps"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(d["join_state"], "domain_only");
    assert_eq!(d["azure_ad_joined"], false);
    assert_eq!(d["azure_ad_prt"], false);
    assert_eq!(d["client_time"], "2025-03-11T09:12:40Z");
    assert_eq!(
        d["executing_account"],
        "CONTOSO\\rpaadmin, rpaadmin@contoso.com"
    );
    assert_eq!(d["first_line"], nth_line_of(DUMPS, "| Device State", 1));
    assert_eq!(d["last_line"], nth_line_of(DUMPS, "WillNotProvision", 1));
    let d = &user["data"];
    assert_eq!(d["dump"], 2);
    assert_eq!(d["join_state"], "hybrid_joined");
    assert_eq!(d["azure_ad_prt"], true);
    assert_eq!(d["prt_update_time"], "2025-03-11T10:02:41Z");
    assert_eq!(d["prt_expiry_time"], "2025-03-25T10:02:40Z");
    assert_eq!(d["tenant_name"], "Contoso Ltd");
    assert_eq!(d["tenant_id"], "3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18");
    assert_eq!(d["device_name"], "RPA-VM01.corp.contoso.com");
    assert_eq!(d["device_id"], "5c2e7a90-41d8-4b36-9f0e-7a1c3d5b2e84");
    assert_eq!(d["client_time"], serde_json::Value::Null);
    assert_eq!(d["taken_at_basis"], "file modification time");

    let out = padtriage(&["timeline", b, "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0));
    let csv = stdout(&out);
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",dsregcmd.snapshot,"))
        .collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with(&format!(
        "2025-03-11T09:12:40.000Z,dsregcmd.snapshot,dsregcmd.txt,line {},\"dsregcmd dump 1/2: domain joined only",
        nth_line_of(DUMPS, "| Device State", 1)
    )), "{}", rows[0]);
    assert!(csv
        .lines()
        .any(|l| l.contains(",security.4625,failed logon.txt,record 1204270,")));
}

#[test]
fn inventory_counts_the_dumps_and_reads_the_copied_event() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let b = b.to_str().unwrap();
    let out = padtriage(&["inventory", b, "--format", "json"]);
    // Two clean dumps and a clean copy: everything was read.
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = doc["files"].as_array().unwrap();
    let dump = files.iter().find(|f| f["path"] == "dsregcmd.txt").unwrap();
    assert_eq!(dump["kind"], "dsregcmd");
    assert_eq!(dump["dumps"], 2);
    assert_eq!(dump["problems"], serde_json::json!([]));
    let xml = files
        .iter()
        .find(|f| f["path"] == "failed logon.txt")
        .unwrap();
    assert_eq!(xml["kind"], "event_xml");
    assert_eq!(xml["channel"], "Security");
    assert_eq!(xml["records"], 1);
    assert!(xml.get("dumps").is_none());

    let text = stdout(&padtriage(&["inventory", b]));
    assert!(
        text.contains("2 dsregcmd dumps, each read as a snapshot of its own"),
        "{text}"
    );
}
