//! Issue #13, "the first hour with padtriage": what surprised a new user, each driven through
//! the built binary in fresh temp dirs.

use padtriage_testkit::broken;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_padtriage"));
    c.args(args)
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1");
    c
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const PAD_ERROR: &str = r#"{"eventTimestamp":"2025-06-02T13:17:05.431Z","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. The credentials provided with the request are invalid."}"#;

// ---- Messages ---------------------------------------------------------------------------------

/// A PAD log of `n` error entries: more timeline than the sort's 16 MiB in memory as JSON lines.
fn big_bundle(dir: &Path, n: usize) -> PathBuf {
    let b = dir.join("big");
    fs::create_dir_all(&b).unwrap();
    let mut log = String::with_capacity(n * 200);
    for i in 0..n {
        log.push_str(&broken::pad_line(
            &format!(
                "2025-06-02T{:02}:{:02}:{:02}.{:03}Z",
                i / 3_600_000 % 24,
                i / 60_000 % 60,
                i / 1000 % 60,
                i % 1000
            ),
            "Error",
            &format!("Run failed: WindowsIdentityIncorrect (attempt {i})"),
        ));
    }
    fs::write(b.join("UIFlowService.log"), log).unwrap();
    b
}

#[test]
fn a_temporary_folder_that_cannot_be_written_is_named_with_tmpdir() {
    let dir = tempfile::tempdir().unwrap();
    let b = big_bundle(dir.path(), 60_000);
    let missing = dir.path().join("no-such-tmp");
    let o = cmd(&["timeline", b.to_str().unwrap(), "--format", "jsonl"])
        .env("TMPDIR", &missing)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "padtriage: error: could not write the timeline's sort runs to a temporary file in {}: ",
            missing.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("set TMPDIR to a folder you may write to"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn inventory_says_not_evidence_as_its_totals_do_and_keeps_columns_in_line() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("bundle");
    fs::create_dir_all(&b).unwrap();
    fs::write(b.join("README.md"), "# Notes from the customer\n").unwrap();
    fs::write(b.join("UIFlowService.log"), format!("{PAD_ERROR}\n")).unwrap();
    // PAD's "Export logs" zip inside the customer's zip: display paths past 70 characters.
    let inner = broken::zip_of(&[(
        "Logs/Microsoft.Flow.RPA.UIFlowService.diagnostics.log",
        format!("{PAD_ERROR}\n").as_bytes(),
    )]);
    let outer = broken::zip_of(&[("PAD-Export-Logs-from-RPA-VM01-2025-06-02.zip", &inner)]);
    fs::write(b.join("customer-upload-2025-06-02.zip"), outer).unwrap();
    let o = run(&["inventory", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(
            "  not evidence: looks like text (first line: \"# Notes from the customer\")"
        ),
        "{text}"
    );
    assert!(!text.contains("skipped:"), "{text}");
    assert!(
        text.ends_with(
            "2 files read (0 partly), 0 skipped, 1 not evidence; 2 records, 0 unreadable\n"
        ),
        "{text}"
    );

    // Every row's kind starts under the header's "kind", the long path on a line of its own.
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().find(|l| l.starts_with("file ")).unwrap();
    let kind_at = header.find("kind").unwrap();
    let long = "customer-upload-2025-06-02.zip!/PAD-Export-Logs-from-RPA-VM01-2025-06-02.zip!/Logs/Microsoft.Flow.RPA.UIFlowService.diagnostics.log";
    let i = lines
        .iter()
        .position(|l| *l == long)
        .unwrap_or_else(|| panic!("{text}"));
    let mut rows = 0;
    for l in &lines {
        for kind in ["pad_log ", "other "] {
            if let Some(at) = l.find(&format!("  {kind}")) {
                assert_eq!(at + 2, kind_at, "out of line: {l:?}\n{text}");
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 3, "{text}");
    assert!(lines[i + 1][..kind_at].trim().is_empty(), "{text}");
}

#[test]
fn a_cut_event_log_says_how_far_into_which_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("bundle");
    fs::create_dir_all(&b).unwrap();
    let evtx = broken::sample_evtx(4);
    let cut = 4096 + 2 * 65536 + 14832;
    assert!(evtx.len() > cut + 65536);
    fs::write(b.join("Security.evtx"), &evtx[..cut]).unwrap();
    let o = run(&["inventory", b.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let problems = doc["files"][0]["problems"].to_string();
    assert!(
        problems.contains(
            "the file ends 14,832 bytes into chunk 2, which should be 65,536 bytes long: "
        ),
        "{problems}"
    );
}
