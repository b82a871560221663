//! Progress moves as bytes are read, not a file at a time: the readers add to one count per
//! command (an EVTX chunk, 64 KiB of PAD log lines), `analyze`'s two passes add to the same
//! count, and it ends at the bundle's size exactly. The bar drawn from it is checked on a
//! pseudo-terminal: one bar per command, up to the whole bundle, only on a terminal.

use padtriage::bundle::Limits;
use padtriage::diagnose::rules::RuleSet;
use padtriage::model::EventFilter;
use padtriage::pipeline::{self, open as open_bundle};
use padtriage::sources::{Event, ReadProgress};
use padtriage::timeline::{self, Pass, ReadOptions};
use padtriage_testkit::broken;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// A renderer that notes the count as each kept event is read (rendering itself comes later,
/// when the sorted events are written).
struct Noting<'a> {
    progress: &'a ReadProgress,
    seen: Mutex<Vec<u64>>,
}

impl timeline::Render for Noting<'_> {
    fn line(&self, _: &Event, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"x\n");
    }

    fn sees_events(&self) -> bool {
        true
    }

    fn seen(&self, _: &Event) {
        self.seen.lock().unwrap().push(self.progress.bytes());
    }
}

/// The count as each kept event is read, while the timeline of `dir` is read.
fn counts_while_reading(dir: &Path, threads: usize) -> (Vec<u64>, u64, u64) {
    let b = open_bundle(&[dir.to_path_buf()], &Limits::default()).unwrap();
    let total: u64 = b.inputs.iter().map(|i| i.size).sum();
    let progress = ReadProgress::default();
    let render = Noting {
        progress: &progress,
        seen: Mutex::new(Vec::new()),
    };
    let opts = ReadOptions {
        threads,
        progress: Some(&progress),
    };
    let mut out = Vec::new();
    timeline::write_sorted(
        &b,
        &EventFilter::all(),
        Pass::All,
        opts,
        &render,
        1 << 20,
        &mut out,
    )
    .unwrap();
    (render.seen.into_inner().unwrap(), progress.bytes(), total)
}

#[test]
fn an_event_log_advances_a_chunk_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let evtx = broken::sample_evtx(5);
    let chunks = (evtx.len() - 4096) / 65536;
    assert!(chunks >= 5);
    fs::write(dir.path().join("Security.evtx"), &evtx).unwrap();
    let (seen, end, total) = counts_while_reading(dir.path(), 1);
    assert_eq!(end, total, "the count ends at the file's size");
    assert_eq!(total, evtx.len() as u64);
    // With one thread, a chunk's events are read before the chunk is counted: the header
    // and the chunks before it.
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let mut steps: Vec<u64> = seen.clone();
    steps.dedup();
    assert!(steps.len() >= chunks - 1, "{steps:?}");
    for s in &steps {
        assert_eq!((s - 4096) % 65536, 0, "{steps:?}");
        assert!(*s < total);
    }
}

#[test]
fn a_pad_log_advances_by_batches_of_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for i in 0..3000 {
        log.push_str(&broken::pad_line(
            &format!("2025-06-02T10:{:02}:{:02}.000Z", i / 60 % 60, i % 60),
            "Error",
            &format!("Run failed: WindowsIdentityIncorrect (attempt {i})"),
        ));
    }
    assert!(log.len() > 4 * 65536);
    fs::write(dir.path().join("UIFlowService.log"), &log).unwrap();
    let (seen, end, total) = counts_while_reading(dir.path(), 1);
    assert_eq!(end, total);
    assert_eq!(total, log.len() as u64);
    let mut steps = seen.clone();
    steps.dedup();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    assert!(steps.len() >= 3, "moves before the end: {steps:?}");
    assert!(
        steps.iter().all(|s| s % 65536 == 0 && *s < total),
        "{steps:?}"
    );
}

#[test]
fn analyze_counts_both_passes_once_up_to_the_bundle_size() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("Security.evtx"), broken::sample_evtx(2)).unwrap();
    fs::write(d.join("dsregcmd.txt"), broken::dsregcmd()).unwrap();
    fs::write(d.join("UIFlowService.log"), broken::pad_log()).unwrap();
    // A file that is not evidence is not read, and not in the total.
    fs::write(d.join("README.md"), "# notes\n").unwrap();
    let b = open_bundle(&[d.to_path_buf()], &Limits::default()).unwrap();
    let evidence: u64 = ["Security.evtx", "dsregcmd.txt", "UIFlowService.log"]
        .iter()
        .map(|f| fs::metadata(d.join(f)).unwrap().len())
        .sum();
    assert_eq!(b.inputs.iter().map(|i| i.size).sum::<u64>(), evidence);
    let progress = ReadProgress::default();
    let rules = RuleSet::load(None).unwrap();
    let opts = pipeline::AnalyzeOptions {
        read: ReadOptions {
            threads: 2,
            progress: Some(&progress),
        },
        ..Default::default()
    };
    pipeline::analyze(&b, &rules, &opts);
    assert_eq!(progress.bytes(), evidence);
}

/// `script` runs a command on a pseudo-terminal and copies what it writes; `None` without it.
fn on_a_terminal(command: &str) -> Option<String> {
    let script = Path::new("/usr/bin/script");
    if !cfg!(target_os = "linux") || !script.exists() {
        return None;
    }
    let o = Command::new(script)
        .args(["-qfec", command, "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .output()
        .ok()?;
    // `script -e` exits as the command did: a refused flag would draw no bar either.
    assert!(o.status.success(), "{command}: {o:?}");
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The totals the bar shows (`0 B/1.38 MiB`), each frame's.
fn bar_totals(tty: &str) -> Vec<String> {
    tty.split("reading [")
        .skip(1)
        .filter_map(|frame| {
            let counts = frame.split("] ").nth(1)?.split(" (").next()?;
            Some(counts.split('/').nth(1)?.to_string())
        })
        .collect()
}

#[test]
fn one_bar_per_command_and_only_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("Security.evtx"), broken::sample_evtx(8)).unwrap();
    fs::write(d.join("UIFlowService.log"), broken::pad_log()).unwrap();
    let total: u64 = ["Security.evtx", "UIFlowService.log"]
        .iter()
        .map(|f| fs::metadata(d.join(f)).unwrap().len())
        .sum();
    let bin = env!("CARGO_BIN_EXE_padtriage");
    let b = d.to_str().unwrap();

    // Not a terminal: no bar.
    let piped = Command::new(bin).args(["analyze", b]).output().unwrap();
    assert!(
        piped.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );

    let Some(tty) = on_a_terminal(&format!("'{bin}' analyze '{b}' >/dev/null")) else {
        eprintln!("skipped: no `script` to run padtriage on a pseudo-terminal");
        return;
    };
    // analyze reads in two passes; one bar covers both, up to the whole bundle.
    let totals = bar_totals(&tty);
    assert!(!totals.is_empty(), "no bar drawn: {tty:?}");
    let whole = indicatif::BinaryBytes(total).to_string();
    assert!(totals.iter().all(|t| *t == whole), "{whole} vs {totals:?}");
    for cmd in ["timeline", "inventory"] {
        let tty = on_a_terminal(&format!("'{bin}' {cmd} '{b}' >/dev/null")).unwrap();
        let totals = bar_totals(&tty);
        assert!(
            !totals.is_empty() && totals.iter().all(|t| *t == whole),
            "{cmd}: {tty:?}"
        );
    }
    // Asked for none.
    for flag in ["--no-progress", "--quiet"] {
        let tty = on_a_terminal(&format!("'{bin}' analyze '{b}' {flag} >/dev/null")).unwrap();
        assert!(!tty.contains("reading ["), "{flag}: {tty:?}");
    }
}
