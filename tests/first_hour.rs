//! Issue #13, "the first hour with padtriage": what surprised a new user, each driven through
//! the built binary in fresh temp dirs.

use padtriage_testkit::broken;
use serde_json::Value;
use std::fs;
use std::process::{Command, Output};

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

// ---- Messages ---------------------------------------------------------------------------------

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
