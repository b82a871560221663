//! The command line's promises to scripts and people: the exit codes (0 clean, 1 `--fail-on`
//! hit, 2 usage or unreadable bundle, 3 completed with input skipped or partly read, 4 nothing
//! to analyse; 1 wins over 3, 3 over 4), a closed pipe ending the run quietly, no backtrace in
//! any message even with RUST_BACKTRACE=1, a bundle left exactly as it was, and verdicts that
//! never rest on a record that failed to parse.

use padtriage_testkit::broken;
use padtriage_testkit::events::{self, Logon, Principal};
use padtriage_testkit::evtx_writer::EvtxWriter;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

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

fn code(args: &[&str]) -> Option<i32> {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    o.status.code()
}

/// The three reading commands' exit codes on `bundle`.
fn codes(bundle: &Path) -> [Option<i32>; 3] {
    let b = bundle.to_str().unwrap();
    [
        code(&["inventory", b]),
        code(&["timeline", b]),
        code(&["analyze", b]),
    ]
}

const PAD_ERROR: &str = r#"{"eventTimestamp":"2025-06-02T13:17:05.431Z","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. The credentials provided with the request are invalid."}"#;
const PAD_DETAIL: &str = r#"{"eventTimestamp":"2025-06-02T13:17:05.500Z","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Logon failed for CONTOSO\\rpa-bot. Error code: -1073741477"}"#;
const PAD_INFO: &str = r#"{"eventTimestamp":"2025-06-02T13:17:06.000Z","traceLevel":"Info","component":"UIFlowService","message":"Session closed"}"#;

/// A bundle every file of which reads cleanly: a PAD log with a failed run, a dsregcmd dump, a
/// one-chunk Security log and a zip holding a flow-session export.
fn clean_bundle(dir: &Path) -> PathBuf {
    let b = dir.join("bundle");
    fs::create_dir_all(b.join("PAD")).unwrap();
    fs::write(
        b.join("PAD/UIFlowService.log"),
        format!("{PAD_ERROR}\r\n{PAD_INFO}\r\n"),
    )
    .unwrap();
    fs::write(b.join("dsregcmd.txt"), broken::dsregcmd()).unwrap();
    fs::write(b.join("Security.evtx"), broken::sample_evtx(0)).unwrap();
    let csv = "flowsessionid,errorcode,errormessage,startedon,completedon\r\n\
               1,WindowsIdentityIncorrect,bad credentials,2025-06-02T13:17:00Z,2025-06-02T13:17:06Z\r\n";
    fs::write(
        b.join("runs.zip"),
        broken::zip_of(&[("flowsessions.csv", csv.as_bytes())]),
    )
    .unwrap();
    b
}

#[test]
fn exit_zero_when_clean_three_when_input_was_skipped_or_partly_read() {
    let dir = tempfile::tempdir().unwrap();
    let b = clean_bundle(dir.path());
    assert_eq!(codes(&b), [Some(0); 3]);
    // A file that is not evidence (a note) is listed, but loses nothing.
    fs::write(
        b.join("README.txt"),
        "Collected by the customer on Monday.\n",
    )
    .unwrap();
    assert_eq!(codes(&b), [Some(0); 3]);
    let inv = String::from_utf8(run(&["inventory", b.to_str().unwrap()]).stdout).unwrap();
    assert!(
        inv.ends_with(
            "4 files read (0 partly), 0 skipped, 1 not evidence; 10 records, 0 unreadable\n"
        ),
        "{inv}"
    );

    // A skipped file (0 bytes) makes the run partial.
    fs::write(b.join("empty.log"), b"").unwrap();
    assert_eq!(codes(&b), [Some(3); 3]);
    fs::remove_file(b.join("empty.log")).unwrap();
    assert_eq!(codes(&b), [Some(0); 3]);

    // So does a file read only in part: a PAD log whose last entry is cut off.
    fs::write(
        b.join("PAD/RpaAgent.log"),
        format!("{PAD_INFO}\n{}", &PAD_INFO[..40]),
    )
    .unwrap();
    assert_eq!(codes(&b), [Some(3); 3]);

    // And a damaged event log.
    fs::remove_file(b.join("PAD/RpaAgent.log")).unwrap();
    let mut evtx = broken::sample_evtx(0);
    evtx[124] ^= 0xFF;
    fs::write(b.join("Security.evtx"), evtx).unwrap();
    assert_eq!(codes(&b), [Some(3); 3]);
}

#[test]
fn exit_two_for_bad_usage_or_an_unreadable_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let b = clean_bundle(dir.path());
    let b = b.to_str().unwrap();
    assert_eq!(code(&["analyze", "/nonexistent/bundle"]), Some(2));
    assert_eq!(code(&["inventory"]), Some(2));
    assert_eq!(code(&["frobnicate", b]), Some(2));
    assert_eq!(code(&["timeline", b, "--from", "yesterday"]), Some(2));
    assert_eq!(code(&["analyze", b, "--window", "5x"]), Some(2));
    assert_eq!(code(&["analyze", b, "--color", "sometimes"]), Some(2));
    assert_eq!(code(&["--help"]), Some(0));
}

#[test]
fn exit_four_when_there_is_nothing_to_analyse() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = |args: &[&str]| String::from_utf8_lossy(&run(args).stderr).into_owned();

    // An empty folder: nothing to analyse, and the message says the bundle holds no file.
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    assert_eq!(codes(&empty), [Some(0), Some(4), Some(4)]);
    let e = empty.to_str().unwrap();
    for cmd in ["analyze", "timeline"] {
        let err = stderr(&[cmd, e]);
        assert!(
            err.starts_with("padtriage: nothing to analyse: the bundle (")
                && err.contains("holds no file"),
            "{cmd}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{cmd}: {err}");
    }

    // A random binary, and a folder of notes: listed, not evidence, nothing to analyse.
    let junk = dir.path().join("junk");
    fs::create_dir_all(&junk).unwrap();
    fs::write(junk.join("blob.bin"), broken::garbage(7, 5000)).unwrap();
    assert_eq!(codes(&junk), [Some(0), Some(4), Some(4)]);
    let err = stderr(&["analyze", junk.to_str().unwrap()]);
    assert!(
        err.contains("blob.bin, the bundle's only file, is not evidence padtriage reads"),
        "{err}"
    );
    fs::write(junk.join("notes.txt"), "Collected on Monday.\n").unwrap();
    let err = stderr(&["timeline", junk.to_str().unwrap()]);
    assert!(
        err.contains("none of the bundle's 2 files (blob.bin, notes.txt) is evidence"),
        "{err}"
    );

    // A lone Security log: evidence, but no failed run in it. The timeline is shown (0); the
    // analysis has nothing to analyse and names what it read.
    let sec = dir.path().join("security");
    fs::create_dir_all(&sec).unwrap();
    fs::write(sec.join("Security.evtx"), broken::sample_evtx(0)).unwrap();
    assert_eq!(codes(&sec), [Some(0), Some(0), Some(4)]);
    let err = stderr(&["analyze", sec.to_str().unwrap()]);
    assert!(
        err.starts_with(
            "padtriage: nothing to analyse: no failed desktop-flow run in the evidence read \
             (Security.evtx (evtx, "
        ),
        "{err}"
    );
    assert!(err.contains("pass --at TIME"), "{err}");
    // With the run's time given, there is a run to analyse.
    let s = sec.to_str().unwrap();
    assert_eq!(
        code(&["analyze", s, "--at", "2025-06-02T13:00:30Z"]),
        Some(0)
    );
    // --quiet: the code alone says it.
    let q = run(&["analyze", s, "--quiet"]);
    assert_eq!(q.status.code(), Some(4));
    assert!(
        q.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&q.stderr)
    );

    // 3 wins over 4: nothing found in input that was not read completely is not a finding.
    let cut = dir.path().join("cut");
    fs::create_dir_all(&cut).unwrap();
    fs::write(cut.join("Security.evtx"), b"").unwrap();
    assert_eq!(codes(&cut), [Some(3), Some(3), Some(3)]);
    let err = stderr(&["analyze", cut.to_str().unwrap()]);
    assert!(
        err.contains("nothing to analyse: no evidence file in the bundle could be read (1 skipped"),
        "{err}"
    );
}

/// A Security log whose 4625 names the missing logon right, beside the PAD log.
fn logon_right_bundle(dir: &Path) -> PathBuf {
    let b = clean_bundle(dir);
    let run = chrono::DateTime::parse_from_rfc3339("2025-06-02T13:17:05Z")
        .unwrap()
        .to_utc();
    let who = Principal::new("rpa-bot", "CONTOSO", "S-1-5-21-1-2-3-1104");
    // On the machine the bundle's dump describes (a bundle naming two machines counts neither).
    let mut l = Logon::new(run, "PC1", who, 10);
    l.status = 0xC000_015B;
    l.sub_status = 0;
    l.failure_reason = "%%2308".into();
    let evtx = EvtxWriter::build(&[events::security_4625(&l)]).unwrap();
    fs::write(b.join("Security.evtx"), evtx).unwrap();
    b
}

#[test]
fn fail_on_exits_one_and_wins_over_partial_input() {
    let dir = tempfile::tempdir().unwrap();
    let b = logon_right_bundle(dir.path());
    let s = b.to_str().unwrap();
    assert_eq!(code(&["analyze", s]), Some(0));
    assert_eq!(code(&["analyze", s, "--fail-on", "likely"]), Some(1));
    assert_eq!(code(&["analyze", s, "--fail-on", "confirmed"]), Some(1));
    fs::write(b.join("empty.txt"), b"").unwrap();
    assert_eq!(code(&["analyze", s]), Some(3));
    assert_eq!(code(&["analyze", s, "--fail-on", "likely"]), Some(1));
}

/// A PAD log of `n` error entries: megabytes of timeline, far past a pipe's buffer.
fn big_bundle(dir: &Path, n: usize) -> PathBuf {
    let b = dir.join("big");
    fs::create_dir_all(&b).unwrap();
    let mut log = String::new();
    for i in 0..n {
        log.push_str(&broken::pad_line(
            &format!(
                "2025-06-02T{:02}:{:02}:{:02}.000Z",
                10 + i / 3600,
                i / 60 % 60,
                i % 60
            ),
            "Error",
            &format!("Run failed: WindowsIdentityIncorrect (attempt {i})"),
        ));
    }
    fs::write(b.join("UIFlowService.log"), log).unwrap();
    b
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let b = big_bundle(dir.path(), 20_000);
    for format in ["text", "jsonl", "csv"] {
        // `padtriage timeline BUNDLE | head -1`
        let mut child = cmd(&["timeline", b.to_str().unwrap(), "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The reader is dropped here: the pipe's read end is closed.
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{format}: {err}");
        assert!(err.is_empty(), "{format}: stderr not quiet: {err}");
    }
}

#[test]
fn user_facing_errors_carry_no_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let b = clean_bundle(dir.path());
    let s = b.to_str().unwrap();
    let bad_rules = dir.path().join("rules");
    fs::create_dir_all(&bad_rules).unwrap();
    fs::write(bad_rules.join("x.toml"), "[[rule]\nid = ").unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["analyze", "/nonexistent/bundle"],
        vec!["inventory", "/nonexistent/a", "/nonexistent/b"],
        vec!["timeline", s, "--from", "yesterday"],
        vec!["timeline", s, "--from", "2025-06-03", "--to", "2025-06-02"],
        vec!["analyze", s, "--window", "5x"],
        vec!["analyze", s, "--at", "noon"],
        vec!["analyze", s, "--rules", bad_rules.to_str().unwrap()],
        vec!["rules", "check", bad_rules.to_str().unwrap()],
        vec!["rules", "check", "/nonexistent/rules"],
    ];
    for args in cases {
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.trim().is_empty(), "{args:?}: no message");
        for bad in ["backtrace", "Backtrace", "panicked", "\n   0: ", "at src/"] {
            assert!(!err.contains(bad), "{args:?}: {bad:?} in {err}");
        }
    }
}

// ---- Read-only -------------------------------------------------------------------------------

/// Every file and folder under `dir`: kind, size, modification time, and the bytes of files.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (bool, u64, SystemTime, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let bytes = if m.is_file() {
                fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            if m.is_dir() {
                todo.push(p.clone());
            }
            out.insert(p, (m.is_dir(), m.len(), m.modified().unwrap(), bytes));
        }
    }
    out
}

#[cfg(unix)]
fn set_mode_tree(dir: &Path, file_mode: u32, dir_mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    for p in snapshot(dir).keys() {
        let m = fs::symlink_metadata(p).unwrap();
        let mode = if m.is_dir() { dir_mode } else { file_mode };
        if !m.file_type().is_symlink() {
            fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(dir_mode)).unwrap();
}

#[test]
fn the_bundle_is_left_exactly_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let b = logon_right_bundle(dir.path());
    // Hostile files too: zips that name paths outside themselves, nested zips, damaged logs.
    for f in broken::corpus() {
        if f.bytes.len() < (1 << 20) {
            let p = b.join("broken").join(&f.name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, &f.bytes).unwrap();
        }
    }
    let before = snapshot(dir.path());
    #[cfg(unix)]
    set_mode_tree(&b, 0o444, 0o555);
    let s = b.to_str().unwrap();
    for args in [
        vec!["inventory", s],
        vec!["inventory", s, "--format", "json"],
        vec!["timeline", s],
        vec!["timeline", s, "--format", "jsonl"],
        vec!["timeline", s, "--format", "csv"],
        vec!["analyze", s],
        vec!["analyze", s, "--format", "json"],
        vec!["analyze", s, "--format", "markdown"],
    ] {
        let c = code(&args);
        assert!(matches!(c, Some(0 | 3)), "{args:?}: {c:?}");
    }
    #[cfg(unix)]
    set_mode_tree(&b, 0o644, 0o755);
    let after = snapshot(dir.path());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "files were added or removed (nothing may be extracted or written)"
    );
    for (p, was) in &before {
        let now = &after[p];
        assert_eq!(
            (was.0, was.1, was.2),
            (now.0, now.1, now.2),
            "{} changed",
            p.display()
        );
        assert!(was.3 == now.3, "{} content changed", p.display());
    }
    // Nothing named by the traversal zip appeared outside the bundle either.
    assert!(!dir.path().join("evil.log").exists());
}

// ---- Verdicts and unreadable records ---------------------------------------------------------

fn analyze_json(bundle: &Path) -> Value {
    let o = run(&["analyze", bundle.to_str().unwrap(), "--format", "json"]);
    serde_json::from_slice(&o.stdout).unwrap()
}

fn verdict(doc: &Value, cause: &str) -> String {
    doc["runs"][0]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == cause)
        .map(|c| c["verdict"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn a_verdict_never_rests_on_a_record_that_failed_to_parse() {
    let dir = tempfile::tempdir().unwrap();
    let read = dir.path().join("read");
    let cut = dir.path().join("cut");
    fs::create_dir_all(&read).unwrap();
    fs::create_dir_all(&cut).unwrap();
    // The detail line names 0xC000015B (logon right missing): read, it confirms the cause.
    fs::write(
        read.join("UIFlowService.log"),
        format!("{PAD_ERROR}\n{PAD_DETAIL}\n{PAD_INFO}\n"),
    )
    .unwrap();
    let doc = analyze_json(&read);
    assert_eq!(verdict(&doc, "logon-right-missing"), "confirmed");

    // The same line broken (its closing brace and quote lost): no verdict may use it.
    let broken_detail = PAD_DETAIL.trim_end_matches("\"}");
    fs::write(
        cut.join("UIFlowService.log"),
        format!("{PAD_ERROR}\n{broken_detail}\n{PAD_INFO}\n"),
    )
    .unwrap();
    let doc = analyze_json(&cut);
    assert_eq!(doc["runs"].as_array().unwrap().len(), 1);
    for c in doc["runs"][0]["causes"].as_array().unwrap() {
        let v = c["verdict"].as_str().unwrap();
        assert!(
            v == "unknown" || v == "ruled_out",
            "{} is {v} with the only evidence unreadable",
            c["cause"]
        );
        let cites = c.to_string();
        assert!(!cites.contains("\"line\":2"), "{} cites line 2", c["cause"]);
    }
    assert!(!doc["runs"][0]["ntstatus"].to_string().contains("C000015B"));
    assert_eq!(doc["input"]["records_unreadable"], 1);
    assert_eq!(doc["problems"][0]["path"], "UIFlowService.log");
    assert_eq!(doc["problems"][0]["problems"][0]["at"], "line 2");

    // And the analysis says so next to the verdicts, not only at the end.
    let s = cut.to_str().unwrap();
    let text = String::from_utf8(run(&["analyze", s]).stdout).unwrap();
    let input = text
        .find("Input: 1 files read (1 only partly), 0 skipped, 0 not evidence; 2 records read, 1 unreadable.")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(input < text.find("Run 1 of 1").unwrap(), "{text}");
    let md = String::from_utf8(run(&["analyze", s, "--format", "markdown"]).stdout).unwrap();
    let input = md
        .find("> **Input: 1 files read (1 only partly)")
        .unwrap_or_else(|| panic!("{md}"));
    assert!(input < md.find("### Run 1").unwrap(), "{md}");
    assert!(md.contains("### Unreadable input\n\n- `UIFlowService.log` (pad_log): "));
}

// ---- Permission denied -----------------------------------------------------------------------

/// Runs padtriage as an unprivileged user when this test runs as root (whom `chmod 000` does
/// not stop), through `setpriv`; `None` when that is not possible.
#[cfg(unix)]
fn unprivileged(probe: &Path) -> Option<impl Fn(&[&str]) -> Output> {
    let privileged = fs::File::open(probe).is_ok();
    let setpriv = Path::new("/usr/bin/setpriv");
    if privileged && !setpriv.exists() {
        return None;
    }
    let run = move |args: &[&str]| {
        let mut c = if privileged {
            let mut c = Command::new(setpriv);
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_padtriage"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_padtriage"))
        };
        c.args(args).env("RUST_BACKTRACE", "1").output().unwrap()
    };
    // The unprivileged user may not reach the binary (a checkout under a private folder).
    run(&["--version"]).status.success().then_some(run)
}

#[cfg(unix)]
#[test]
fn permission_denied_files_and_folders_are_reported_not_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    mode(dir.path(), 0o755);
    let b = dir.path().join("bundle");
    fs::create_dir_all(b.join("locked_dir")).unwrap();
    fs::write(b.join("ok.log"), format!("{PAD_ERROR}\n")).unwrap();
    fs::write(b.join("locked.log"), format!("{PAD_ERROR}\n")).unwrap();
    fs::write(b.join("locked_dir/inner.log"), format!("{PAD_ERROR}\n")).unwrap();
    mode(&b.join("locked.log"), 0o000);
    mode(&b.join("locked_dir"), 0o000);
    let Some(padtriage) = unprivileged(&b.join("locked.log")) else {
        eprintln!(
            "skipped: running as root and cannot run padtriage as another user, so chmod 000 \
             does not stop reading"
        );
        return;
    };
    let s = b.to_str().unwrap();

    let inv = padtriage(&["inventory", s, "--format", "json"]);
    assert_eq!(inv.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&inv.stdout).unwrap();
    let why = |path: &str| -> String {
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} missing: {doc:#}"))["skipped"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        why("locked.log").starts_with("permission denied: cannot read "),
        "{}",
        why("locked.log")
    );
    assert!(why("locked_dir/").starts_with("permission denied: cannot list the folder"));
    let ok = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "ok.log");
    assert_eq!(ok.unwrap()["records"], 1, "the readable file is read");

    let an = padtriage(&["analyze", s, "--format", "json"]);
    assert_eq!(an.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&an.stdout).unwrap();
    let listed: Vec<&str> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["locked.log", "locked_dir/"]);
    let tl = padtriage(&["timeline", s]);
    assert_eq!(tl.status.code(), Some(3));
    let err = String::from_utf8_lossy(&tl.stderr);
    assert!(err.contains("locked.log: permission denied"), "{err}");

    // A bundle that cannot be read at all is an error for people (exit 2), not a crash.
    mode(&b, 0o000);
    let out = padtriage(&["inventory", s]);
    mode(&b, 0o755);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot be read") && err.contains("check that your account may read it"));
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    mode(&b.join("locked.log"), 0o644);
    mode(&b.join("locked_dir"), 0o755);
}
