//! Hostile and broken input: every file of the broken corpus (`testkit::broken`) read as one
//! bundle, with the problem (kind and words) padtriage must report for each; then every corpus
//! file, the whole corpus and the real Windows logs through the CLI binary, which must never
//! panic and must exit 0, 1, 2 or 3; and every skipped or partly read file listed by
//! `inventory`, `analyze` and `timeline` alike.

mod common;
use common::real_dir;
use padtriage::bundle::Limits;
use padtriage::model::{EventFilter, FileKind, FileReport};
use padtriage::pipeline::open as open_bundle;
use padtriage::timeline::{self, Pass, ReadOptions, Timeline};
use padtriage_testkit::broken;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The corpus read once per test binary (it holds multi-MB files).
fn corpus() -> &'static Timeline {
    static TL: OnceLock<Timeline> = OnceLock::new();
    TL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        broken::write_corpus(dir.path()).unwrap();
        let b = open_bundle(&[dir.path().to_path_buf()], &Limits::default()).unwrap();
        let opts = ReadOptions {
            threads: 2,
            progress: None,
        };
        timeline::read(&b, &EventFilter::all(), Pass::All, opts)
    })
}

fn file(path: &str) -> &'static FileReport {
    let tl = corpus();
    tl.files.iter().find(|f| f.path == path).unwrap_or_else(|| {
        let all: Vec<&str> = tl.files.iter().map(|f| f.path.as_str()).collect();
        panic!("{path} not reported; reports: {all:#?}")
    })
}

/// The file has a problem of `kind` whose message contains `fragment`.
#[track_caller]
fn problem(path: &str, kind: &str, fragment: &str) -> &'static FileReport {
    let r = file(path);
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == kind && p.message.contains(fragment)),
        "{path}: no {kind} problem with {fragment:?}: {:#?}",
        r.problems
    );
    r
}

#[track_caller]
fn skipped(path: &str, fragment: &str) -> &'static FileReport {
    let r = file(path);
    let why = r.skipped.as_deref().unwrap_or_default();
    assert!(why.contains(fragment), "{path}: skipped {why:?}");
    r
}

#[test]
fn every_corpus_file_is_reported_as_skipped_or_partly_read() {
    let tl = corpus();
    for f in broken::corpus() {
        let partial: Vec<&FileReport> = tl
            .files
            .iter()
            .filter(|r| r.path == f.name || r.path.starts_with(&format!("{}!/", f.name)))
            // Binary garbage under a .log/.txt/.json name is listed as not evidence, with why.
            .filter(|r| r.is_partial() || (r.kind == FileKind::Other && r.skipped.is_some()))
            .collect();
        assert!(
            !partial.is_empty(),
            "{} ({}) read as if nothing were wrong",
            f.name,
            f.damage
        );
    }
}

#[test]
fn damaged_event_logs_are_read_around_and_reported() {
    let r = problem(
        "evtx/cut_mid_chunk.evtx",
        "truncated",
        "the file ends 32,768 bytes into chunk 1, which should be 65,536 bytes long",
    );
    assert!(r.records > 0 && r.kept > 0, "{r:?}");

    let r = problem(
        "evtx/header_only.evtx",
        "truncated",
        "no chunk after the file header",
    );
    assert_eq!(r.records, 0);

    let r = problem("evtx/bad_chunk_magic.evtx", "bad_chunk", "chunk 1");
    assert_eq!(r.errors, 1);
    // The chunks around the bad one are read.
    let good = file("evtx/bad_header_checksum.evtx");
    assert!(r.records > 0 && r.records < good.records, "{r:?}");

    let r = problem(
        "evtx/bad_header_checksum.evtx",
        "bad_header",
        "file header checksum does not match",
    );
    assert_eq!(r.errors, 0);
    assert!(r.kept > 0);

    let r = file("evtx/garbage_record.evtx");
    assert!(r.errors >= 1, "{r:?}");
    assert!(r.problems.iter().any(|p| p.kind == "bad_record"), "{r:?}");
    assert!(r.records + 1 >= good.records - r.errors, "{r:?}");

    problem(
        "evtx/garbage_after_magic.evtx",
        "bad_header",
        "file header checksum does not match",
    );
    problem(
        "evtx/garbage_after_magic.evtx",
        "truncated",
        "the file ends 8,200 bytes into chunk 0, which should be 65,536 bytes long, before its records",
    );
    skipped("evtx/empty.evtx", "empty file (0 bytes)");
}

#[test]
fn empty_files_are_skipped_with_a_reason() {
    for name in ["empty/empty.log", "empty/empty.txt", "empty/empty.json"] {
        let r = skipped(name, "empty file (0 bytes)");
        assert_eq!(r.kind, FileKind::Skipped);
    }
}

#[test]
fn hostile_zips_are_contained() {
    skipped(
        "zip/bomb.zip!/big.log",
        "zip bomb guard: entry would expand 1028x (from 4.0 KiB to 4.0 MiB), over the 200x limit",
    );
    // Small entries pass the per-entry check; the zip's overall ratio stops them.
    let read: Vec<&FileReport> = corpus()
        .files
        .iter()
        .filter(|f| f.path.starts_with("zip/many_small_bombs.zip!/"))
        .collect();
    assert_eq!(read.len(), 8);
    assert!(
        read[0].skipped.is_none() && read[0].records > 0,
        "the first is read"
    );
    skipped(
        "zip/many_small_bombs.zip!/PAD/agent8.log",
        "zip bomb guard: with this entry the files read from the zip would expand it",
    );
    assert!(
        file("zip/bomb.zip!/ok.log").kept > 0,
        "the bomb's neighbour is read"
    );

    for (path, raw) in [
        ("zip/traversal.zip!/evil.log", "../../evil.log"),
        ("zip/traversal.zip!/etc/dsreg.txt", "/etc/dsreg.txt"),
        (
            "zip/traversal.zip!/Windows/Temp/agent.log",
            "C:\\\\Windows\\\\Temp\\\\agent.log",
        ),
    ] {
        let r = problem(path, "unsafe_name", "points outside the archive");
        assert!(
            r.problems[0].message.contains(raw),
            "{:?}",
            r.problems[0].message
        );
        assert!(r.records > 0, "{path} is still read, under its safe name");
    }

    let r = skipped(
        "zip/nested5.zip!/n2.zip!/n3.zip!/n4.zip!/n5.zip",
        "zip nested more than 4 levels deep; not opened (limit: max_zip_depth)",
    );
    assert_eq!(r.kind, FileKind::Zip);

    skipped(
        "zip/corrupt_central_directory.zip",
        "corrupt or unreadable zip",
    );
    skipped("zip/truncated.zip", "corrupt or unreadable zip");
    // Refused before any memory is reserved for it (it used to reserve the 1.5 GiB claimed).
    skipped(
        "zip/oversized_entry.zip!/inner.zip",
        "damaged zip entry: its headers declare 1.5 GiB of data at offset 39, past the end of \
         the archive (16.9 KiB); not read",
    );
    assert!(file("zip/oversized_entry.zip!/ok.log").kept > 0);
    skipped(
        "zip/lying_size.zip!/PAD/agent.log",
        "zip bomb guard: entry expands past the 100 bytes its header declares",
    );
}

#[test]
fn cut_and_misencoded_dsregcmd_dumps() {
    let r = problem(
        "dsregcmd/cut_mid_line.txt",
        "truncated",
        "ends in the middle of a line",
    );
    assert_eq!(r.problems[0].at.as_deref(), Some("line 14"));

    let r = problem(
        "dsregcmd/utf16_odd_bytes.txt",
        "truncated",
        "ends in the middle of a line",
    );
    assert!(r.records >= 5, "{r:?}");
    let snap = corpus()
        .snapshots
        .iter()
        .find(|s| &*s.source.file == "dsregcmd/utf16_odd_bytes.txt")
        .unwrap();
    assert_eq!(snap.encoding, "utf-16le-bom");
    assert_eq!(snap.azure_ad_prt, Some(true));
}

/// A dump cut inside `0xc000006d` must not become the code `0xc00000`: the cut value stays a
/// field (for people), but no typed value, and so no verdict, rests on it.
#[test]
fn a_value_cut_off_with_the_dump_is_not_typed() {
    let mut dump = broken::dsregcmd();
    dump.push_str("            Attempt Status : 0xc00000");
    let filter = EventFilter::all();
    let ctx = padtriage::sources::ReadCtx {
        file: "dsregcmd.txt".into(),
        size: dump.len() as u64,
        mtime: None,
        filter: &filter,
        threads: 1,
        progress: None,
    };
    let p = padtriage::sources::dsregcmd::read_dsregcmd(dump.as_bytes(), &ctx);
    assert_eq!(p.report.problems[0].kind, "truncated");
    assert!(p.report.problems[0]
        .message
        .ends_with("the value on it may be incomplete and is not used for the diagnosis"));
    let s = p.snapshots.into_iter().next().unwrap();
    assert_eq!(s.field("Attempt Status").unwrap().value, "0xc00000");
    assert!(s.prt_error.is_none(), "{:?}", s.prt_error);
    // The complete lines before the cut are typed as usual.
    assert_eq!(s.azure_ad_prt, Some(true));
}

#[test]
fn lines_of_many_megabytes_are_skipped_not_kept() {
    let r = problem(
        "dsregcmd/long_line.txt",
        "limit",
        "line of 3145754 bytes is longer than the 64 KiB a dsregcmd line can be; skipped",
    );
    assert_eq!(r.errors, 1);
    // The line after it is read.
    let snap = corpus()
        .snapshots
        .iter()
        .find(|s| &*s.source.file == "dsregcmd/long_line.txt")
        .unwrap();
    assert_eq!(snap.ngc_set, Some(false));
    assert!(snap.fields.iter().all(|f| f.value.len() < 64 * 1024));

    let r = problem(
        "padlog/line_20mb.log",
        "limit",
        "line of 20971627 bytes is longer than the 1048576-byte cap; skipped",
    );
    assert_eq!((r.records, r.errors), (3, 1), "{r:?}");

    let r = problem(
        "runs/long_line.csv",
        "limit",
        "field \"errormessage\" is 20971520 bytes long; only its first 64 KiB were read",
    );
    assert_eq!(r.kept, 1);
    let r = problem(
        "runs/long_portal_message.json",
        "limit",
        "the error message is 10485760 bytes long; only its first 64 KiB were read",
    );
    assert_eq!(r.kept, 1);
    let longest = corpus()
        .events
        .iter()
        .filter(|e| e.source.file.starts_with("runs/long_"))
        .map(|e| serde_json::to_string(&e.data).unwrap().len())
        .max()
        .unwrap();
    assert!(longest < 70 * 1024, "{longest} bytes");
}

#[test]
fn json_nested_far_past_the_recursion_limit_is_a_problem() {
    let r = problem(
        "padlog/deep_json.log",
        "limit",
        "JSON nested more than 128 levels deep: only the entry's top-level fields were read",
    );
    assert_eq!((r.records, r.errors, r.kept), (3, 0, 2), "{r:?}");

    let r = problem(
        "runs/deep_portal_error.json",
        "limit",
        "JSON nested more than 128 levels deep",
    );
    assert_eq!((r.records, r.errors), (0, 1));

    let r = problem(
        "runs/deep_flowsessions.json",
        "limit",
        "row cannot be read (JSON nested more than 128 levels deep)",
    );
    assert_eq!((r.kept, r.errors), (1, 1), "the row before it is kept");
}

#[test]
fn event_xml_damage_and_deep_nesting() {
    let r = problem(
        "xml/deep_nesting.xml",
        "bad_record",
        "malformed event: elements nested more than 256 deep",
    );
    assert_eq!(
        (r.records, r.errors),
        (2, 1),
        "the events around it are read"
    );
    let r = problem(
        "xml/malformed_event.xml",
        "bad_record",
        "expected `</System>`, but `</Sys>` was found",
    );
    assert_eq!((r.records, r.errors), (2, 1));
    let r = problem(
        "xml/cut_event.xml",
        "truncated",
        "the file ends inside this event (no </Event>)",
    );
    assert_eq!((r.records, r.errors), (1, 1));
}

/// Reading an event 100,000 elements deep took minutes (a copy of the element path per
/// element); it must take well under a second, so this bound only catches a quadratic cost.
#[test]
fn deeply_nested_xml_is_read_in_linear_time() {
    let f = broken::corpus()
        .into_iter()
        .find(|f| f.name == "xml/deep_nesting.xml")
        .unwrap();
    let filter = EventFilter::all();
    let ctx = padtriage::sources::ReadCtx {
        file: "deep.xml".into(),
        size: f.bytes.len() as u64,
        mtime: None,
        filter: &filter,
        threads: 1,
        progress: None,
    };
    let start = std::time::Instant::now();
    let p = padtriage::sources::event_xml::read_event_xml(f.bytes.as_slice(), &ctx);
    assert_eq!(p.report.records, 2);
    let took = start.elapsed();
    assert!(took.as_secs() < 20, "{took:?}");
}

#[test]
fn ragged_csv_rows_are_named() {
    problem(
        "runs/ragged.csv",
        "ragged",
        "row has 2 fields where the header has 5; the missing ones were read as empty",
    );
    let r = problem(
        "runs/ragged.csv",
        "ragged",
        "row has 8 fields where the header has 5; the extra ones were ignored",
    );
    assert_eq!(r.kept, 1);
}

#[test]
fn binary_garbage_under_evidence_names_is_skipped() {
    skipped(
        "garbage/garbage.evtx",
        "named .evtx but has no EVTX signature",
    );
    for name in [
        "garbage/garbage.log",
        "garbage/garbage.txt",
        "garbage/garbage.json",
    ] {
        let r = skipped(
            name,
            "not a recognised evidence kind: looks like binary data",
        );
        assert_eq!(r.kind, FileKind::Other, "listed as not evidence");
    }
}

// ---- The CLI on every corpus file ------------------------------------------------------------

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(args)
        .args(["--threads", "2", "--no-progress"])
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

/// Runs inventory, timeline and analyze on `path`; fails on a panic or an exit code outside
/// the contract. Returns the three outputs.
#[track_caller]
fn sweep(path: &Path) -> [Output; 3] {
    let p = path.to_str().unwrap();
    let outs = [
        run(&["inventory", p, "--format", "json"]),
        run(&["timeline", p, "--format", "jsonl"]),
        run(&["analyze", p, "--format", "json"]),
    ];
    for (cmd, o) in ["inventory", "timeline", "analyze"].iter().zip(&outs) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("stack backtrace"),
            "{cmd} {p} panicked:\n{err}"
        );
        assert!(
            matches!(o.status.code(), Some(0..=4)),
            "{cmd} {p} exited {:?}:\n{err}",
            o.status
        );
    }
    outs
}

#[test]
fn every_corpus_file_through_the_cli_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let paths = broken::write_corpus(dir.path()).unwrap();
    for (p, f) in paths.iter().zip(broken::corpus()) {
        let [inv, _, an] = sweep(p);
        // A broken file alone is never a clean read, unless it is not evidence at all.
        let partial = corpus().files.iter().any(|r| {
            (r.path == f.name || r.path.starts_with(&format!("{}!/", f.name))) && r.is_partial()
        });
        assert!(partial || f.name.starts_with("garbage/"), "{}", f.name);
        let want = if partial { 3 } else { 0 };
        assert_eq!(inv.status.code(), Some(want), "{}", p.display());
        // Nothing to analyse in garbage; in a damaged file, input was lost, which wins.
        let want = if partial { 3 } else { 4 };
        assert_eq!(an.status.code(), Some(want), "{}", p.display());
    }
    #[cfg(unix)]
    {
        // Symbolic link loops in the bundle, too.
        std::os::unix::fs::symlink(".", dir.path().join("loop")).unwrap();
        std::os::unix::fs::symlink("self", dir.path().join("self")).unwrap();
    }
    let [inv, tl, an] = sweep(dir.path());
    assert_eq!(
        [inv.status.code(), tl.status.code(), an.status.code()],
        [Some(3); 3]
    );
}

#[test]
#[cfg_attr(
    not(real_evtx),
    ignore = "needs ../shared/real-evtx (real Windows logs), not found next to the repository"
)]
fn real_windows_logs_through_the_cli_never_panic() {
    let dir = real_dir();
    let [inv, _, _] = sweep(&dir);
    let doc: Value = serde_json::from_slice(&inv.stdout).unwrap();
    let files = doc["files"].as_array().unwrap();
    let damaged = files
        .iter()
        .find(|f| f["path"] == "sample_with_a_bad_chunk_magic.evtx")
        .unwrap();
    assert_eq!(damaged["errors"], 3);
    assert_eq!(
        inv.status.code(),
        Some(3),
        "damaged samples make it partial"
    );
}

// ---- Nothing lost: every partial file in every output ----------------------------------------

#[test]
fn every_skipped_or_partial_file_appears_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    broken::write_corpus(dir.path()).unwrap();
    let root = dir.path().to_str().unwrap();
    let partial: Vec<&FileReport> = corpus().files.iter().filter(|f| f.is_partial()).collect();
    assert!(partial.len() >= 25, "{}", partial.len());

    let inv_text = String::from_utf8(run(&["inventory", root]).stdout).unwrap();
    let inv_json: Value =
        serde_json::from_slice(&run(&["inventory", root, "--format", "json"]).stdout).unwrap();
    let an_text = String::from_utf8(run(&["analyze", root]).stdout).unwrap();
    let an_json: Value =
        serde_json::from_slice(&run(&["analyze", root, "--format", "json"]).stdout).unwrap();
    let an_md = String::from_utf8(run(&["analyze", root, "--format", "markdown"]).stdout).unwrap();
    let tl = run(&["timeline", root]);
    let tl_err = String::from_utf8_lossy(&tl.stderr);

    for f in &partial {
        let why = f
            .skipped
            .clone()
            .or_else(|| f.problems.first().map(|p| p.message.clone()))
            .unwrap_or_default();
        assert!(
            inv_text.contains(&f.path),
            "inventory text lacks {}",
            f.path
        );
        assert!(
            inv_text.contains(&why),
            "inventory text lacks why {}: {why}",
            f.path
        );
        let entry = inv_json["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == f.path.as_str())
            .unwrap_or_else(|| panic!("inventory JSON lacks {}", f.path));
        assert_eq!(entry["errors"], f.errors);
        assert_eq!(entry["records"], f.records);
        assert_eq!(
            entry["problems"].as_array().unwrap().len(),
            f.problems.len()
        );
        assert_eq!(entry["skipped"].as_str(), f.skipped.as_deref());

        let listed = an_json["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == f.path.as_str())
            .unwrap_or_else(|| panic!("analyze JSON lacks {}", f.path));
        assert_eq!(listed["unreadable_records"], f.errors);
        assert_eq!(listed["skipped"].as_str(), f.skipped.as_deref());
        assert!(
            an_text.contains(&format!("  {} (", f.path)),
            "analyze text lacks {}",
            f.path
        );
        assert!(
            an_md.contains(&format!("`{}`", f.path)),
            "markdown lacks {}",
            f.path
        );
    }
    let input = &an_json["input"];
    let unreadable: u64 = corpus().files.iter().map(|f| f.errors).sum();
    assert_eq!(input["records_unreadable"], unreadable);
    assert_eq!(
        input["files_partial"].as_u64().unwrap() + input["files_skipped"].as_u64().unwrap(),
        partial.len() as u64
    );
    assert!(
        tl_err.contains(&format!(
            "padtriage: {} file(s) skipped or partly read",
            partial.len()
        )),
        "{tl_err}"
    );
    assert!(tl_err.contains(&format!("... and {} more", partial.len() - 20)));
}
