//! The scenario corpus in `samples/`: the committed bundles are exactly what the generator
//! writes, and `padtriage analyze` reaches every bundle's `expected.json` (run times, error
//! codes, primary causes and verdicts, users), also for the large bundle built on the fly.

use chrono::{DateTime, Utc};
use padtriage_testkit::scenarios::{scenarios, write_all, write_scenario, Scenario};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Every file under `root` by its `/`-separated relative path.
fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn large_names() -> Vec<&'static str> {
    scenarios()
        .into_iter()
        .filter(|s| s.large)
        .map(|s| s.name)
        .collect()
}

#[test]
fn committed_samples_are_exactly_what_the_generator_writes() {
    let tmp = tempfile::tempdir().unwrap();
    write_all(tmp.path(), false).unwrap();
    let generated = files_under(tmp.path());
    // The large bundle is git-ignored; a local copy of it is not part of the corpus.
    let large = large_names();
    let committed: BTreeMap<String, Vec<u8>> = files_under(&samples_dir())
        .into_iter()
        .filter(|(k, _)| !large.iter().any(|l| k.starts_with(&format!("{l}/"))))
        .collect();
    let regen = "regenerate with `cargo run --example gen-samples -- samples`";
    let missing: Vec<&String> = generated
        .keys()
        .filter(|k| !committed.contains_key(*k))
        .collect();
    let extra: Vec<&String> = committed
        .keys()
        .filter(|k| !generated.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "samples/ differs from the generator: missing {missing:?}, not generated {extra:?}; {regen}"
    );
    let differ: Vec<&String> = generated
        .iter()
        .filter(|(k, v)| committed.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        differ.is_empty(),
        "these committed samples are not what the generator writes: {differ:?}; {regen}"
    );
    assert!(
        generated.len() > 60,
        "the corpus looks too small: {} files",
        generated.len()
    );
}

#[test]
fn generation_is_deterministic() {
    let s = scenarios();
    let one = s.iter().find(|s| s.name == "12-multi-run-day").unwrap();
    let a = one.files();
    let b = one.files();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.path, y.path);
        assert!(x.bytes == y.bytes, "{} differs between two builds", x.path);
    }
}

/// `padtriage analyze <dir> --format json`, parsed.
fn analyze(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .arg("analyze")
        .arg(dir)
        .args(["--format", "json", "--color", "never"])
        .output()
        .unwrap();
    // 3 = some input was skipped: the bundle's own README.md and expected.json.
    let code = out.status.code();
    assert!(
        matches!(code, Some(0) | Some(3)),
        "{}: analyze exited with {code:?}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: analyze did not print JSON ({e}): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Every way the analysis of one bundle misses its expectation.
fn mismatches(name: &str, analysis: &Value, expected: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let runs = analysis["runs"].as_array().unwrap();
    let want = expected["runs"].as_array().unwrap();
    if runs.len() != want.len() {
        errs.push(format!(
            "{name}: {} runs found, {} expected",
            runs.len(),
            want.len()
        ));
    }
    for w in want {
        let at = time(&w["time"]);
        let Some(r) = runs
            .iter()
            .find(|r| (time(&r["time"]) - at).num_seconds().abs() <= 60)
        else {
            errs.push(format!("{name}: no run within 60 s of {at}"));
            continue;
        };
        let mut eq = |what: &str, got: &Value, want: &Value| {
            if got != want {
                errs.push(format!("{name} run {at}: {what} is {got}, expected {want}"));
            }
        };
        eq("error_code", &r["error_code"], &w["error_code"]);
        eq("primary_cause", &r["primary_cause"], &w["primary_cause"]);
        eq("verdict", &r["primary_verdict"], &w["verdict"]);
        if !w["user"].is_null() {
            eq("user", &r["user"], &w["user"]);
        }
        if let Some(basis) = w.get("user_basis") {
            eq("user_basis", &r["user_basis"], basis);
        }
        // Every cause's verdict, not only the primary one.
        let causes = r["causes"].as_array().unwrap();
        if let Some(want) = w.get("causes").and_then(Value::as_object) {
            for (cause, verdict) in want {
                match causes.iter().find(|c| c["cause"] == cause.as_str()) {
                    Some(c) => eq(&format!("{cause}'s verdict"), &c["verdict"], verdict),
                    None => eq(&format!("{cause}'s verdict"), &Value::Null, verdict),
                }
            }
            eq(
                "number of causes judged",
                &causes.len().into(),
                &want.len().into(),
            );
        } else if w["error_code"] == "WindowsIdentityIncorrect" {
            eq(
                "causes listed in expected.json",
                &Value::Null,
                &"every cause".into(),
            );
        }
    }
    if expected["healthy"] == Value::Bool(true) {
        for r in runs {
            for c in r["causes"].as_array().unwrap() {
                if c["verdict"] == "confirmed" {
                    errs.push(format!(
                        "{name}: healthy, but {} is confirmed for the run at {}",
                        c["cause"], r["time"]
                    ));
                }
            }
        }
    }
    // Every evidence file must read cleanly; only the bundle's own notes are skipped.
    for p in analysis["problems"].as_array().unwrap() {
        let path = p["path"].as_str().unwrap_or("");
        if path != "README.md" && path != "expected.json" {
            errs.push(format!("{name}: problem reading {path}: {p}"));
        }
    }
    errs
}

#[test]
fn every_committed_sample_reaches_its_expected_result() {
    let mut errs = Vec::new();
    let mut checked = 0;
    for s in scenarios().iter().filter(|s| !s.large) {
        let dir = samples_dir().join(s.name);
        let expected: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        assert_eq!(expected["scenario"], s.name);
        let analysis = analyze(&dir);
        errs.extend(mismatches(s.name, &analysis, &expected));
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} samples checked");
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// Every file of `src` copied under `dst` with today's date: what a git checkout or a copy
/// without dates leaves.
fn copy_undated(src: &Path, dst: &Path) {
    for (rel, bytes) in files_under(src) {
        let p = dst.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
    }
}

#[test]
fn verdicts_do_not_depend_on_file_dates() {
    // The generator dates files as the customer's machine would; a checkout dates them now.
    let dated = tempfile::tempdir().unwrap();
    let undated = tempfile::tempdir().unwrap();
    write_all(dated.path(), false).unwrap();
    let mut errs = Vec::new();
    for s in scenarios().iter().filter(|s| !s.large) {
        copy_undated(&dated.path().join(s.name), &undated.path().join(s.name));
        let verdicts = |dir: &Path| -> Vec<(String, Vec<(String, String)>)> {
            analyze(&dir.join(s.name))["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let v = r["causes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| (c["cause"].to_string(), c["verdict"].to_string()))
                        .collect();
                    (r["time"].to_string(), v)
                })
                .collect()
        };
        let (a, b) = (verdicts(dated.path()), verdicts(undated.path()));
        if a != b {
            errs.push(format!("{}: dated {a:?}\nundated {b:?}", s.name));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn missing_evidence_leaves_every_cause_unknown_and_says_what_to_collect() {
    let analysis = analyze(&samples_dir().join("11-missing-evidence"));
    let run = &analysis["runs"][0];
    let causes = run["causes"].as_array().unwrap();
    assert!(causes.len() >= 9, "{causes:?}");
    for c in causes {
        assert_eq!(c["verdict"], "unknown", "{}", c["cause"]);
        let collect = c["collect"].as_array().unwrap();
        assert!(
            !collect.is_empty() && collect.iter().all(|k| k["missing"] == true),
            "{}: {collect:?}",
            c["cause"]
        );
    }
}

#[test]
fn a_password_spray_in_the_same_minutes_is_never_the_runs_evidence() {
    for name in ["01-credentials-mismatch", "10-healthy-unrelated"] {
        let analysis = analyze(&samples_dir().join(name));
        for r in analysis["runs"].as_array().unwrap() {
            for c in r["causes"].as_array().unwrap() {
                for f in c["evidence"].as_array().unwrap() {
                    for cite in f["cites"].as_array().unwrap() {
                        let text = cite["text"].as_str().unwrap_or("");
                        assert!(
                            !text.contains("203.0.113.45") && !text.contains("198.51.100.23"),
                            "{name}: {} cites a spray record: {text}",
                            c["cause"]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn large_noisy_bundle_reaches_its_expected_result() {
    let all = scenarios();
    let s: &Scenario = all.iter().find(|s| s.large).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(s.name);
    write_scenario(s, &dir).unwrap();
    let analysis = analyze(&dir);
    let expected = serde_json::to_value(&s.expected).unwrap();
    let errs = mismatches(s.name, &analysis, &expected);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    // It is large: over 100 000 Security records, all read.
    let out = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .arg("inventory")
        .arg(&dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    let security = inv["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "Security.evtx")
        .unwrap();
    let records = security["records"].as_u64().unwrap();
    assert!(records > 100_000, "only {records} Security records");
    assert_eq!(security["errors"], 0);
}
