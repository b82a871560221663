//! Issue #13, "the first hour with padtriage": what surprised a new user, each driven through
//! the built binary in fresh temp dirs. Thread counts, flags that were silently ignored, help,
//! messages that named no folder or said things twice, conveniences (--quiet, completions, the
//! manual page, rules as JSON), and the set-up facts the README promises. Exit code 4 is in
//! `cli_contract.rs`; the progress count is in `progress.rs`.

use padtriage_testkit::broken;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// A refusal: exit 2, the reason on the first line of stderr (clap adds usage and a hint
/// after it), and nothing of a panic.
#[track_caller]
fn refused(args: &[&str], first_line_has: &[&str]) -> String {
    let o = run(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    let first = err.lines().next().unwrap_or_default();
    for want in first_line_has {
        assert!(first.contains(want), "{args:?}: {want:?} not in {first:?}");
    }
    for bad in ["panicked", "backtrace", "\n   0: "] {
        assert!(!err.contains(bad), "{args:?}: {err}");
    }
    assert!(o.stdout.is_empty(), "{args:?}");
    err
}

const PAD_ERROR: &str = r#"{"eventTimestamp":"2025-06-02T13:17:05.431Z","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. The credentials provided with the request are invalid."}"#;

/// A clean bundle with a failed run: a PAD log, a Security log and a dsregcmd dump.
fn bundle(dir: &Path) -> PathBuf {
    let b = dir.join("bundle");
    fs::create_dir_all(&b).unwrap();
    fs::write(b.join("UIFlowService.log"), format!("{PAD_ERROR}\n")).unwrap();
    fs::write(b.join("Security.evtx"), broken::sample_evtx(1)).unwrap();
    fs::write(b.join("dsregcmd.txt"), broken::dsregcmd()).unwrap();
    b
}

// ---- --threads --------------------------------------------------------------------------------

#[test]
fn threads_are_refused_outside_one_to_256_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let s = b.to_str().unwrap();
    for n in ["0", "257", "10000", "100000", "many"] {
        let start = Instant::now();
        let err = refused(&["analyze", s, "--threads", n], &["--threads"]);
        assert!(err.contains("256"), "{n}: {err}");
        assert!(start.elapsed() < Duration::from_secs(10), "{n} took long");
    }
    // Before the command, too (a global option).
    refused(&["--threads", "0", "timeline", s], &["--threads"]);
    // The cap itself works, and gives what one thread gives.
    let one = run(&["analyze", s, "--threads", "1", "--format", "json"]);
    let most = run(&["analyze", s, "--threads", "256", "--format", "json"]);
    assert_eq!(most.status.code(), Some(0), "{}", stderr(&most));
    assert_eq!(one.stdout, most.stdout);
}

/// When the system refuses threads (a container's or user's limit: `prlimit --nproc`), the
/// pool cannot start; padtriage says so and reads with one thread, never a panic or an abort.
/// Needs root (to run as nobody, whose thread count the limit then bounds), prlimit, setpriv.
#[cfg(target_os = "linux")]
#[test]
fn a_refused_thread_pool_never_aborts() {
    let (prlimit, setpriv) = (Path::new("/usr/bin/prlimit"), Path::new("/usr/bin/setpriv"));
    let root = fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:\t0\t")));
    if !root || !prlimit.exists() || !setpriv.exists() {
        eprintln!("skipped: needs root, prlimit and setpriv to limit another user's threads");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), b.as_path()] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let limited = |nproc: &str, args: &[&str]| {
        Command::new(prlimit)
            .arg(format!("--nproc={nproc}"))
            .arg(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_padtriage"))
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap()
    };
    // Nobody may not reach the binary (a checkout under a private folder).
    if !limited("100", &["--version"]).status.success() {
        eprintln!("skipped: the unprivileged user cannot run the test binary");
        return;
    }
    let s = b.to_str().unwrap();
    // Room for one thread besides the main one: 8 are refused, one reads.
    let o = limited("2", &["analyze", s, "--threads", "8"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(stdout(&o).contains("Run 1 of 1"), "{}", stdout(&o));
    assert_eq!(
        err,
        "padtriage: could not start 8 worker threads (Resource temporarily unavailable (os error 11)); reading with one\n"
    );
    // No thread at all: one line, exit 2.
    let o = limited("1", &["analyze", s]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("padtriage: error: could not start a worker thread"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

// ---- Flags that were ignored ------------------------------------------------------------------

#[test]
fn meaningless_flag_combinations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let s = b.to_str().unwrap();
    // --window without --around was ignored.
    let err = refused(&["timeline", s, "--window", "5m"], &[]);
    assert!(err.contains("--around <TIME>"), "{err}");
    // --from / --to with --around were dropped.
    refused(
        &[
            "timeline",
            s,
            "--from",
            "2025-06-02",
            "--around",
            "2025-06-02T13:17:05Z",
        ],
        &["--from", "--around"],
    );
    refused(
        &[
            "timeline",
            s,
            "--around",
            "2025-06-02T13:17:05Z",
            "--to",
            "2025-06-03",
        ],
        &["--to", "--around"],
    );
    // --error without --at was ignored.
    let err = refused(
        &["analyze", s, "--error", "InvalidConnectionCredentials"],
        &[],
    );
    assert!(err.contains("--at <TIME>"), "{err}");
    // A bare number meant seconds where minutes were expected.
    refused(
        &["analyze", s, "--window", "15"],
        &[
            "--window",
            "'15' has no unit; write 15s for seconds or 15m for minutes",
        ],
    );
    refused(
        &[
            "timeline",
            s,
            "--around",
            "2025-06-02T13:17:05Z",
            "--window",
            "15",
        ],
        &["no unit"],
    );
    refused(
        &["analyze", s, "--window", "99999999d"],
        &["longer than 3650d"],
    );

    // What the flags are for still works.
    let csv = run(&[
        "timeline",
        s,
        "--around",
        "2025-06-02T13:17:05Z",
        "--window",
        "1m",
        "--format",
        "csv",
    ]);
    assert_eq!(csv.status.code(), Some(0), "{}", stderr(&csv));
    assert!(stdout(&csv).contains("pad.error"));
    let at = run(&[
        "analyze",
        s,
        "--at",
        "2025-06-02T13:17:05Z",
        "--error",
        "InvalidConnectionCredentials",
    ]);
    assert_eq!(at.status.code(), Some(0), "{}", stderr(&at));

    // And the units are in the help.
    for c in ["analyze", "timeline"] {
        let help = stdout(&run(&[c, "--help"]));
        assert!(
            help.contains("Durations need a unit: 90s, 15m, 2h, 1d, or combined: 1h30m."),
            "{help}"
        );
    }
}

// ---- --help -----------------------------------------------------------------------------------

#[test]
fn help_describes_every_argument_and_shows_exit_codes_and_formats() {
    let timeline = stdout(&run(&["timeline", "--help"]));
    assert!(
        timeline.contains(
            "<BUNDLE>...  Folders, .zip files or evidence files, read together as one bundle"
        ),
        "{timeline}"
    );
    assert!(
        timeline
            .lines()
            .any(|l| l.contains("--format <FORMAT>") && l.contains("Output format")),
        "{timeline}"
    );
    let check = stdout(&run(&["rules", "check", "--help"]));
    assert!(
        check.contains("<DIR>  The folder of *.toml rule files to check"),
        "{check}"
    );

    for args in [
        vec!["--help"],
        vec!["analyze", "--help"],
        vec!["timeline", "--help"],
        vec!["inventory", "--help"],
    ] {
        let help = stdout(&run(&args));
        // Global options under their own heading, after the command's own.
        let own = help.find("Options:").unwrap_or_else(|| panic!("{help}"));
        let global = help
            .find("Global options:")
            .unwrap_or_else(|| panic!("{help}"));
        assert!(own < global, "{args:?}: {help}");
        let threads = help.find("--threads <N>").unwrap();
        assert!(
            threads > global,
            "{args:?}: --threads among the command's options"
        );
        for flag in ["--no-progress", "--quiet"] {
            assert!(help.find(flag).unwrap() > global, "{args:?}: {flag}");
        }
        // Exit codes, times and durations, and what several paths mean.
        for want in [
            "Exit codes:",
            "  0  done; every input was read completely",
            "  1  analyze --fail-on",
            "  2  bad usage",
            "  3  done, but some input was skipped or only partly read",
            "  4  nothing to analyse",
            "Times are UTC: 2025-06-02T13:17:05Z",
            "Several BUNDLE paths",
        ] {
            assert!(help.contains(want), "{args:?}: {want:?} missing:\n{help}");
        }
    }
}

// ---- Messages ---------------------------------------------------------------------------------

/// A PAD log of `n` error entries: at 120 000, more than the sort holds in memory (16 MiB of
/// its compact entries), so runs go to the temporary folder.
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
    let b = big_bundle(dir.path(), 120_000);
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

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_output_says_it_was_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let s = b.to_str().unwrap();
    for args in [
        vec!["analyze", s],
        vec!["timeline", s],
        vec!["inventory", s, "--format", "json"],
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = cmd(&args).stdout(full).output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with(
                "padtriage: error: could not write the output (standard output): No space left on device"
            ),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("free some space where the output goes"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

/// Runs padtriage as nobody when this test runs as root (whom `chmod 000` does not stop), or as
/// the current user otherwise; `None` when neither can be arranged.
#[cfg(target_os = "linux")]
fn unprivileged(locked: &Path) -> Option<Command> {
    let bin = env!("CARGO_BIN_EXE_padtriage");
    if fs::read_dir(locked).is_err() {
        return Some(Command::new(bin));
    }
    let as_nobody = || {
        let mut c = Command::new("/usr/bin/setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c
    };
    let works = Path::new("/usr/bin/setpriv").exists()
        && as_nobody()
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    works.then(as_nobody)
}

/// An unreadable bundle folder: the reason once, not once in the message and again after it.
#[cfg(target_os = "linux")]
#[test]
fn an_unreadable_folder_prints_its_error_once() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    mode(dir.path(), 0o755);
    let b = bundle(dir.path());
    mode(&b, 0o000);
    let Some(mut c) = unprivileged(&b) else {
        mode(&b, 0o755);
        eprintln!("skipped: running as root and cannot run padtriage as another user");
        return;
    };
    let o = c.args(["inventory", b.to_str().unwrap()]).output().unwrap();
    mode(&b, 0o755);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("Permission denied").count(), 1, "{err}");
    assert!(
        err.contains("cannot be read") && err.ends_with("copy the bundle to a folder you own\n"),
        "{err}"
    );
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

// ---- Conveniences -----------------------------------------------------------------------------

#[test]
fn quiet_keeps_stderr_for_errors() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    fs::write(b.join("empty.log"), b"").unwrap();
    let s = b.to_str().unwrap();
    // A partly read bundle: listed on stderr after the timeline, unless --quiet.
    let loud = run(&["timeline", s]);
    assert_eq!(loud.status.code(), Some(3));
    assert!(stderr(&loud).contains("empty.log"), "{}", stderr(&loud));
    for args in [
        vec!["timeline", s, "--quiet"],
        vec!["-q", "timeline", s],
        vec!["analyze", s, "-q"],
    ] {
        let q = run(&args);
        assert_eq!(q.status.code(), Some(3), "{args:?}");
        assert!(q.stderr.is_empty(), "{args:?}: {}", stderr(&q));
        assert!(!q.stdout.is_empty());
    }
    // Errors are still printed.
    let e = run(&["analyze", "--quiet", "/nonexistent/bundle"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(
        stderr(&e).contains("/nonexistent/bundle: not found"),
        "{}",
        stderr(&e)
    );
}

#[test]
fn completions_and_the_manual_page_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for word in ["padtriage", "analyze", "timeline", "fail-on", "threads"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    refused(&["completions", "tcsh"], &["tcsh"]);

    let man = run(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = stdout(&man);
    assert!(page.contains(".TH padtriage 1"), "{page}");
    for word in ["analyze", "timeline", "\\-\\-threads", "Exit codes"] {
        assert!(page.contains(word), "{word} missing from the manual page");
    }
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let o = run(&["man", "--dir", pages.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for name in [
        "padtriage.1",
        "padtriage-analyze.1",
        "padtriage-timeline.1",
        "padtriage-rules-check.1",
    ] {
        assert!(pages.join(name).is_file(), "{name} not written");
    }
    // A folder that cannot be made: one line naming it.
    let blocked = dir.path().join("file");
    fs::write(&blocked, "").unwrap();
    let o = run(&["man", "--dir", blocked.join("man1").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("could not write the manual pages into"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rules_list_as_json() {
    let o = run(&["rules", "list", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules = doc["rules"].as_array().unwrap();
    let files = fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(rules.len(), files);
    let text = stdout(&run(&["rules", "list"]));
    for (r, line) in rules.iter().zip(text.lines()) {
        let obj = r.as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
        let id = r["id"].as_str().unwrap();
        assert!(line.starts_with(id), "same order as the text: {line}");
        assert!(r["title"].is_string() && r["kb"].is_string());
        assert!(r["priority"].is_i64());
        assert_eq!(r["origin"], format!("embedded:{id}.toml"));
        let n = r["evidence_count"].as_u64().unwrap();
        assert!(line.contains(&format!("({n} evidence items)")), "{line}");
    }
}

// ---- Set-up facts -----------------------------------------------------------------------------

fn repo_file(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_readme_states_what_a_fresh_machine_needs() {
    for manifest in ["Cargo.toml", "testkit/Cargo.toml"] {
        assert!(
            repo_file(manifest).contains("\nrust-version = \"1.89\"\n"),
            "{manifest} states no minimum Rust"
        );
    }
    let mit = repo_file("LICENSE-MIT");
    assert!(mit.starts_with("MIT License") && mit.contains("Copyright (c) padtriage contributors"));
    let apache = repo_file("LICENSE-APACHE");
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
    assert!(apache.contains("Copyright padtriage contributors"));
    assert!(repo_file("Cargo.toml").contains("license = \"MIT OR Apache-2.0\""));

    let readme = repo_file("README.md");
    let quick =
        &readme[readme.find("## Quick start").unwrap()..readme.find("## Commands").unwrap()];
    for want in [
        "1.89",
        "https://sh.rustup.rs",
        "1 GB",
        "cargo install --path .",
    ] {
        assert!(quick.contains(want), "Quick start / set-up lacks {want:?}");
    }
    // Still two commands, prerequisites above them.
    let block = quick
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let commands: Vec<&str> = block
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo run --release -- analyze samples/01-credentials-mismatch",
            "cargo test"
        ]
    );
    assert!(quick.find("Prerequisites").unwrap() < quick.find("```sh").unwrap());
    // The exit-code table lists every code the binary uses.
    for row in ["| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |"] {
        assert!(readme.contains(row), "{row}");
    }
}
