//! `padtriage scan`: each bundle of an inbox analysed on its own, exactly as `analyze` analyses
//! it (byte for byte); its rows follow the schema; the database makes rescans incremental and
//! answers the fleet summary; a bundle that fails is recorded and the scan goes on; `analyze`
//! on a folder of bundles refuses to mix them.

use padtriage_testkit::copy_dir;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn padtriage(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn rows(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn by_name(rows: &[Value]) -> std::collections::BTreeMap<String, Value> {
    rows.iter()
        .map(|r| {
            let p = r["bundle"]["path"].as_str().unwrap();
            let name = Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, r.clone())
        })
        .collect()
}

/// The JSON text without whitespace between tokens.
fn minify(json: &[u8]) -> Vec<u8> {
    let (mut out, mut in_str, mut esc) = (Vec::new(), false, false);
    for &b in json {
        if in_str {
            out.push(b);
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if !b.is_ascii_whitespace() {
            in_str = b == b'"';
            out.push(b);
        }
    }
    out
}

/// A copy of samples/ (the sample folders only) in `dst`.
fn copy_samples(dst: &Path) {
    for e in std::fs::read_dir(samples()).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst.join(e.file_name())).unwrap();
        }
    }
}

/// What the committed samples' `expected.json` files add up to: bundles, runs, and runs whose
/// confirmed primary cause is credentials-mismatch. Derived, so a new sample needs no edit here.
struct Fleet {
    bundles: usize,
    runs: usize,
    mismatch_confirmed: usize,
}

fn expected_fleet() -> Fleet {
    let mut f = Fleet {
        bundles: 0,
        runs: 0,
        mismatch_confirmed: 0,
    };
    for e in std::fs::read_dir(samples()).unwrap() {
        let e = e.unwrap();
        if !e.file_type().unwrap().is_dir() {
            continue;
        }
        f.bundles += 1;
        let doc: Value =
            serde_json::from_slice(&std::fs::read(e.path().join("expected.json")).unwrap())
                .unwrap();
        for run in doc["runs"].as_array().unwrap() {
            f.runs += 1;
            if run["primary_cause"] == "credentials-mismatch" && run["verdict"] == "confirmed" {
                f.mismatch_confirmed += 1;
            }
        }
    }
    f
}

fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[test]
fn scan_samples_gives_each_sample_its_expected_result_and_analyzes_bytes() {
    let out = padtriage(
        &["scan", samples().to_str().unwrap(), "--format", "ndjson"],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = rows(&out);
    let schema: Value =
        serde_json::from_str(include_str!("../schema/scan-row.schema.json")).unwrap();
    let row_schema = jsonschema::validator_for(&schema).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("../schema/analysis.schema.json")).unwrap();
    let analysis_schema = jsonschema::validator_for(&schema).unwrap();
    let rows = by_name(&rows);
    let names: Vec<&String> = rows.keys().collect();
    assert_eq!(
        names.len(),
        expected_fleet().bundles,
        "one row per sample: {names:?}"
    );
    let mut errs = Vec::new();
    for (name, row) in &rows {
        for e in row_schema.iter_errors(row) {
            errs.push(format!("{name}: row schema: {e}"));
        }
        for e in analysis_schema.iter_errors(&row["analysis"]) {
            errs.push(format!("{name}: analysis schema: {e}"));
        }
        assert_eq!(row["status"], "ok", "{name}: {row}");
        let expected: Value = serde_json::from_slice(
            &std::fs::read(samples().join(name).join("expected.json")).unwrap(),
        )
        .unwrap();
        let runs = row["runs"].as_array().unwrap();
        let want = expected["runs"].as_array().unwrap();
        if runs.len() != want.len() {
            errs.push(format!(
                "{name}: {} runs, {} expected",
                runs.len(),
                want.len()
            ));
        }
        for w in want {
            let Some(r) = runs
                .iter()
                .find(|r| (time(&r["time"]) - time(&w["time"])).num_seconds().abs() <= 60)
            else {
                errs.push(format!("{name}: no run near {}", w["time"]));
                continue;
            };
            if r["primary_cause"] != w["primary_cause"] || r["primary_verdict"] != w["verdict"] {
                errs.push(format!(
                    "{name}: primary {} {}, expected {} {}",
                    r["primary_cause"], r["primary_verdict"], w["primary_cause"], w["verdict"]
                ));
            }
            if let Some(causes) = w.get("causes").and_then(Value::as_object) {
                if r["verdicts"].as_object().unwrap() != causes {
                    errs.push(format!(
                        "{name}: verdicts {}, expected {}",
                        r["verdicts"], w["causes"]
                    ));
                }
            }
        }
        // Exactly what analyze prints for that bundle, whitespace apart.
        let path = row["bundle"]["path"].as_str().unwrap();
        let alone = padtriage(&["analyze", path, "--format", "json"], None);
        assert_eq!(alone.status.code(), Some(0));
        let raw = row_line(&out, path);
        let embedded = raw
            .split_once(",\"analysis\":")
            .map(|(_, a)| a.trim_end().strip_suffix('}').unwrap().to_string())
            .unwrap();
        if embedded.as_bytes() != minify(&alone.stdout).as_slice() {
            errs.push(format!("{name}: the embedded analysis is not analyze's"));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// The raw NDJSON line of the bundle at `path`.
fn row_line(out: &Output, path: &str) -> String {
    let needle = format!("\"path\":{}", serde_json::to_string(path).unwrap());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains(&needle))
        .unwrap()
        .to_string()
}

#[test]
fn the_text_summary_counts_causes_and_names_the_bundles_that_need_a_person() {
    let out = padtriage(&["scan", samples().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let f = expected_fleet();
    assert!(
        text.contains(&format!("padtriage scan: {} bundles", f.bundles)),
        "{text}"
    );
    assert!(
        text.contains(&format!("runs found:            {}", f.runs)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "credentials-mismatch         confirmed       {}",
            f.mismatch_confirmed
        )),
        "{text}"
    );
    assert!(text.contains("Bundles that need a person (1):"), "{text}");
    assert!(text.contains("11-missing-evidence"), "{text}");
}

#[test]
fn analyze_on_a_folder_of_bundles_points_to_scan_and_mixes_nothing() {
    let out = padtriage(&["analyze", samples().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no verdicts printed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds several bundles") && err.contains("padtriage scan"),
        "{err}"
    );
    // A bundle laid out by kind of evidence is one bundle.
    let dir = tempfile::tempdir().unwrap();
    let one = samples().join("01-credentials-mismatch");
    let b = dir.path().join("bundle");
    std::fs::create_dir_all(b.join("EventLogs")).unwrap();
    for f in ["Security.evtx", "Microsoft-Windows-AAD%4Operational.evtx"] {
        std::fs::copy(one.join(f), b.join("EventLogs").join(f)).unwrap();
    }
    std::fs::create_dir_all(b.join("PAD")).unwrap();
    std::fs::copy(
        one.join("PAD/UIFlowService.log"),
        b.join("PAD/UIFlowService.log"),
    )
    .unwrap();
    let out = padtriage(&["analyze", b.to_str().unwrap(), "--format", "json"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["runs"][0]["primary_cause"], "credentials-mismatch");
    // Named one by one, folders are one bundle on purpose.
    let a = samples().join("01-credentials-mismatch");
    let c = samples().join("02-account-state");
    let out = padtriage(
        &[
            "analyze",
            a.to_str().unwrap(),
            c.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_database_makes_rescans_incremental_and_answers_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    copy_samples(&inbox);
    let db = dir.path().join("scan.db");
    let (inbox_s, db_s) = (inbox.to_str().unwrap(), db.to_str().unwrap());
    let first = padtriage(&["scan", inbox_s, "--db", db_s, "--format", "ndjson"], None);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(rows(&first).iter().all(|r| r["status"] == "ok"));
    // Unchanged: skipped, on metadata alone.
    let again = padtriage(&["scan", inbox_s, "--db", db_s, "--format", "ndjson"], None);
    let again = by_name(&rows(&again));
    assert_eq!(again.len(), expected_fleet().bundles);
    assert!(again
        .values()
        .all(|r| r["status"] == "skipped_unchanged" && r["analysis"].is_null()));
    // A copy with new dates but the same bytes: the hash says unchanged; new bytes: analysed.
    let readme = inbox.join("02-account-state/README.md");
    let text = std::fs::read(&readme).unwrap();
    std::fs::write(&readme, &text).unwrap();
    let log = inbox.join("01-credentials-mismatch/PAD/UIFlowService.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&log, bytes).unwrap();
    let third = by_name(&rows(&padtriage(
        &["scan", inbox_s, "--db", db_s, "--format", "ndjson"],
        None,
    )));
    assert_eq!(third["02-account-state"]["status"], "skipped_unchanged");
    assert_eq!(third["01-credentials-mismatch"]["status"], "ok");
    assert_eq!(
        third
            .values()
            .filter(|r| r["status"] == "skipped_unchanged")
            .count(),
        expected_fleet().bundles - 1
    );
    // Other rules or options: analysed again.
    let fourth = rows(&padtriage(
        &[
            "scan", inbox_s, "--db", db_s, "--format", "ndjson", "--window", "20m,2m",
        ],
        None,
    ));
    assert!(fourth.iter().all(|r| r["status"] == "ok"));
    // The fleet summary, from the database alone.
    let out = padtriage(
        &["scan", "--db", db_s, "--summary", "--format", "ndjson"],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let periods = rows(&out);
    assert_eq!(periods.len(), 1);
    assert_eq!(periods[0]["period"], "all");
    let f = expected_fleet();
    assert_eq!(periods[0]["bundles"]["ok"], f.bundles);
    assert_eq!(periods[0]["runs"], f.runs);
    assert_eq!(
        periods[0]["primary_causes"]["credentials-mismatch"]["confirmed"],
        f.mismatch_confirmed
    );
    assert_eq!(periods[0]["needs_person"], 1);
    let by_week = padtriage(
        &[
            "scan",
            "--db",
            db_s,
            "--summary",
            "--by",
            "week",
            "--format",
            "csv",
        ],
        None,
    );
    let csv = String::from_utf8_lossy(&by_week.stdout);
    assert!(
        csv.starts_with("period,measure,key,verdict,count\n"),
        "{csv}"
    );
    assert!(
        csv.contains("-W") && csv.contains(&format!(",runs,,,{}\n", f.runs)),
        "{csv}"
    );
    let text = padtriage(
        &[
            "scan",
            "--db",
            db_s,
            "--summary",
            "--by",
            "day",
            "--since",
            "2000-01-01",
        ],
        None,
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("{} bundles", f.bundles)) && text.contains("11-missing-evidence"),
        "{text}"
    );
    let future = padtriage(
        &["scan", "--db", db_s, "--summary", "--since", "2999-01-01"],
        None,
    );
    assert!(String::from_utf8_lossy(&future.stdout).contains("No bundle analysed"));
}

#[test]
fn a_bundle_that_fails_is_recorded_with_why_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let one = samples().join("04-device-not-joined/bundle.zip");
    std::fs::copy(&one, inbox.join("good.zip")).unwrap();
    // A zip that is a link to nothing: listed, unreadable.
    std::os::unix::fs::symlink(dir.path().join("gone.zip"), inbox.join("gone.zip")).unwrap();
    let db = dir.path().join("scan.db");
    let results = dir.path().join("out/results.ndjson");
    std::fs::create_dir_all(results.parent().unwrap()).unwrap();
    let out = padtriage(
        &[
            "scan",
            inbox.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--format",
            "ndjson",
            "-o",
            results.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // -o: the rows in the file (nothing else left in its folder), the summary on stdout.
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("failed:                1"), "{summary}");
    let listing: Vec<_> = std::fs::read_dir(results.parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(listing.len(), 1);
    let lines: Vec<Value> = std::fs::read_to_string(&results)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named = by_name(&lines);
    assert_eq!(named["good.zip"]["status"], "ok");
    let gone = &named["gone.zip"];
    assert_eq!(gone["status"], "failed");
    assert!(
        gone["why"].as_str().unwrap().contains("cannot be read"),
        "{gone}"
    );
    assert_eq!(gone["needs_person"], true);
    // --fail-on wins over 3, as with analyze.
    let out = padtriage(
        &["scan", inbox.to_str().unwrap(), "--fail-on", "confirmed"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    // Failures are tried again on the next scan; the good bundle is skipped.
    let again = by_name(&rows(&padtriage(
        &[
            "scan",
            inbox.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--format",
            "ndjson",
        ],
        None,
    )));
    assert_eq!(again["good.zip"]["status"], "skipped_unchanged");
    assert_eq!(again["gone.zip"]["status"], "failed");
}

#[test]
fn a_manifest_on_stdin_names_the_bundles_and_usage_errors_say_what_to_do() {
    let a = samples().join("01-credentials-mismatch");
    let b = samples().join("05-account-not-synced/bundle.zip");
    let manifest = format!("# tonight\n{}\n\n{}\n", a.display(), b.display());
    let out = padtriage(
        &["scan", "--manifest", "-", "--format", "ndjson"],
        Some(&manifest),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = by_name(&rows(&out));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows["bundle.zip"]["bundle"]["kind"], "zip");
    assert_eq!(
        rows["bundle.zip"]["runs"][0]["primary_cause"],
        "account-not-synced"
    );
    for (args, want) in [
        (vec!["scan"], "nothing to scan"),
        (vec!["scan", "/nonexistent/inbox"], "not found"),
        (vec!["scan", "--summary"], "--db FILE"),
        (vec!["scan", "samples", "--format", "csv"], "--summary"),
        (
            vec!["scan", "samples", "--bundle-timeout", "soon"],
            "not a duration",
        ),
    ] {
        let out = padtriage(&args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn a_scan_killed_mid_way_loses_nothing_and_the_next_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    for k in 0..4 {
        copy_samples(&inbox.join(format!("batch{k}")));
    }
    // Four batches' sample folders, flattened into one inbox.
    let flat = dir.path().join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    for k in 0..4 {
        for e in std::fs::read_dir(inbox.join(format!("batch{k}"))).unwrap() {
            let e = e.unwrap();
            let name = format!("{k}-{}", e.file_name().to_string_lossy());
            std::fs::rename(e.path(), flat.join(name)).unwrap();
        }
    }
    let db = dir.path().join("scan.db");
    let (flat_s, db_s) = (flat.to_str().unwrap(), db.to_str().unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(["--threads", "1", "scan", flat_s, "--db", db_s])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the database holds a bundle (read while it writes: WAL).
    let committed = |db: &str| -> u64 {
        let out = padtriage(
            &["scan", "--db", db, "--summary", "--format", "ndjson"],
            None,
        );
        rows(&out)
            .first()
            .map_or(0, |p| p["bundles"]["ok"].as_u64().unwrap_or(0))
    };
    let start = std::time::Instant::now();
    while !db.exists() || committed(db_s) == 0 {
        assert!(start.elapsed().as_secs() < 60, "nothing committed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = committed(db_s);
    assert!(kept >= 1);
    let again = rows(&padtriage(
        &["scan", flat_s, "--db", db_s, "--format", "ndjson"],
        None,
    ));
    let total = 4 * expected_fleet().bundles as u64;
    assert_eq!(again.len() as u64, total);
    let skipped = again
        .iter()
        .filter(|r| r["status"] == "skipped_unchanged")
        .count() as u64;
    let analysed = again.iter().filter(|r| r["status"] == "ok").count() as u64;
    assert_eq!((skipped, analysed), (kept, total - kept));
}

/// The `href`s of an HTML page.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(String::from)
        .collect()
}

/// `scan INBOX --format html -o PAGE`, and `extra`.
fn scan_html(inbox: &Path, page: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        inbox.to_str().unwrap(),
        "--format",
        "html",
        "-o",
        page.to_str().unwrap(),
    ];
    args.extend(extra);
    padtriage(&args, None)
}

#[test]
fn html_writes_the_fleet_page_and_each_bundles_page_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    for (from, to) in [
        ("01-credentials-mismatch", "case 1"),
        ("04-device-not-joined/bundle.zip", "case-4.zip"),
    ] {
        let src = samples().join(from);
        if src.is_dir() {
            copy_dir(&src, &inbox.join(to)).unwrap();
        } else {
            std::fs::copy(&src, inbox.join(to)).unwrap();
        }
    }
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let page = out_dir.join("scan.html");
    let db = dir.path().join("scan.db");
    let scan = |extra: &[&str]| scan_html(&inbox, &page, extra);
    let out = scan(&["--db", db.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The summary on stdout; in the folder, the page and its folder only (no temporary file).
    assert!(String::from_utf8_lossy(&out.stdout).contains("padtriage scan: 2 bundles"));
    let mut listing: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listing.sort();
    assert_eq!(listing, ["scan-bundles", "scan.html"]);
    let fleet = std::fs::read_to_string(&page).unwrap();
    let links = hrefs(&fleet);
    // Rows in the order of their paths; page names in characters that need no escaping.
    assert_eq!(
        links,
        ["scan-bundles/case_1.html", "scan-bundles/case-4.zip.html"]
    );
    // Each page is analyze's, byte for byte.
    for (link, bundle) in links.iter().zip(["case 1", "case-4.zip"]) {
        let b = inbox.join(bundle);
        let analyze = padtriage(&["analyze", b.to_str().unwrap(), "--format", "html"], None);
        let written = std::fs::read(out_dir.join(link)).unwrap();
        assert!(
            written == analyze.stdout,
            "{link} differs from analyze's page"
        );
    }
    assert!(fleet.contains("No bundle needs a person."), "{fleet}");
    assert!(fleet.contains("credentials-mismatch"));

    // Again with the database: nothing analysed, so no page, and the rows say so; the previous
    // scan's folder is replaced whole.
    std::fs::write(out_dir.join("scan-bundles/stale.html"), "old").unwrap();
    let out = scan(&["--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let fleet = std::fs::read_to_string(&page).unwrap();
    assert!(hrefs(&fleet).is_empty(), "{fleet}");
    assert_eq!(fleet.matches("skipped as unchanged since").count(), 2);
    let pages: Vec<_> = std::fs::read_dir(out_dir.join("scan-bundles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".html"))
        .collect();
    assert!(pages.is_empty(), "{pages:?}");

    // A folder of that name that is not a previous scan's is left alone, and the scan refused.
    let other = dir.path().join("mine.html");
    let theirs = dir.path().join("mine-bundles");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "keep").unwrap();
    let out = scan_html(&inbox, &other, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a previous scan's pages"));
    assert_eq!(
        std::fs::read_to_string(theirs.join("notes.txt")).unwrap(),
        "keep"
    );
    assert!(!other.exists());
}

#[test]
fn html_needs_a_file_and_never_writes_into_an_inbox() {
    let s = samples();
    let out = padtriage(&["scan", s.to_str().unwrap(), "--format", "html"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("needs a file name: add -o FILE"), "{err}");
    assert!(out.stdout.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    copy_dir(&s.join("02-account-state"), &inbox.join("a")).unwrap();
    let inside = inbox.join("scan.html");
    let out = scan_html(&inbox, &inside, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the inbox"));
    assert_eq!(std::fs::read_dir(&inbox).unwrap().count(), 1);

    // A bundle listed by a manifest that holds the output folder.
    let page = inbox.join("a/scan.html");
    let out = padtriage(
        &[
            "scan",
            "--manifest",
            "-",
            "--format",
            "html",
            "-o",
            page.to_str().unwrap(),
        ],
        Some(&format!("{}\n", inbox.join("a").display())),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the bundle"));
    assert!(!page.exists() && !inbox.join("a/scan-bundles").exists());

    // --summary has no html; --redact keeps away from the database.
    let db = dir.path().join("x.db");
    let out = padtriage(
        &[
            "scan",
            inbox.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--redact",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--redact cannot be used with --db"));
    assert!(!db.exists());
}
