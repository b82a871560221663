//! Reports people hand on: the answer first in every format, one list of what to collect, a
//! text report that fits a screen (cut on a terminal, whole in a file, everything with
//! `--verbose`), the JSON document against its schema on every sample, and `-o FILE`.

use padtriage::diagnose::rules::RuleSet;
use padtriage::report::analysis::{self, Analysis, TextOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    out.sort();
    out
}

fn sample(name: &str) -> String {
    format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn padtriage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(args: &[&str]) -> String {
    let o = padtriage(args);
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn json(bundle: &str) -> Value {
    serde_json::from_str(&stdout(&["analyze", bundle, "--format", "json"])).unwrap()
}

/// The analysis document of a bundle, through the library (to render at a chosen width).
fn analysis_of(bundle: &str) -> Analysis {
    let b = padtriage::pipeline::open(&[PathBuf::from(bundle)], &Default::default()).unwrap();
    let rules = RuleSet::load(None).unwrap();
    padtriage::pipeline::analyze(&b, &rules, &Default::default()).analysis
}

#[test]
fn the_answer_comes_first_in_every_format() {
    for name in [
        "01-credentials-mismatch",
        "11-missing-evidence",
        "12-multi-run-day",
    ] {
        let b = sample(name);
        let doc = json(&b);
        let answers = doc["answer"].as_array().unwrap();
        assert_eq!(answers.len(), doc["runs"].as_array().unwrap().len());
        let text = stdout(&["analyze", &b]);
        let md = stdout(&["analyze", &b, "--format", "markdown"]);
        for (i, a) in answers.iter().enumerate() {
            let line = a["text"].as_str().unwrap();
            assert!(line.starts_with(&format!("Run {}: ", i + 1)), "{line}");
            assert!(line.contains(a["error_code"].as_str().unwrap()));
            assert!(line.contains(" Next: "), "{line}");
            // Text: right under the title, one line per run.
            assert_eq!(text.lines().nth(1 + i), Some(line), "{text}");
            let md_line = md
                .lines()
                .find(|l| l.starts_with(&format!("- **Run {}:", i + 1)));
            assert!(
                md_line.is_some_and(|l| md.find(l) < md.find("### Run")),
                "{md}"
            );
        }
        // In the JSON too, the answer is the first thing after the document's header.
        let raw = stdout(&["analyze", &b, "--format", "json"]);
        assert!(raw.find("\"answer\"") < raw.find("\"runs\""));
    }
    // A confirmed cause: the next action is the fix's first step.
    let doc = json(&sample("01-credentials-mismatch"));
    let a = &doc["answer"][0];
    assert_eq!(a["cause"], "credentials-mismatch");
    assert_eq!(a["verdict"], "confirmed");
    assert_eq!(a["user"], "jdoe@contoso.com");
    assert_eq!(a["machine"], "RPA-VM01");
    assert_eq!(a["next"]["action"], "fix");
    assert_eq!(
        a["next"]["text"],
        doc["runs"][0]["causes"][0]["resolution"][0]
    );
    // Nothing supported: the next action is the first thing to collect.
    let doc = json(&sample("11-missing-evidence"));
    assert_eq!(doc["answer"][0]["next"]["action"], "collect");
    assert!(doc["answer"][0]["cause"].is_null());
}

#[test]
fn what_to_collect_is_listed_once_for_every_cause_it_decides() {
    let b = sample("11-missing-evidence");
    let doc = json(&b);
    let collect = doc["collect"].as_array().unwrap();
    let mut seen = Vec::new();
    for k in collect {
        let key = (k["source"].clone(), k["command"].clone());
        assert!(!seen.contains(&key), "{key:?} twice");
        seen.push(key);
        assert_eq!(k["runs"], serde_json::json!([1]));
        assert!(!k["causes"].as_array().unwrap().is_empty());
    }
    // Every unknown cause's items are there, each naming the cause.
    for c in doc["runs"][0]["causes"].as_array().unwrap() {
        for item in c["collect"].as_array().unwrap() {
            let cmd = item["command"].as_str().unwrap();
            assert!(
                collect
                    .iter()
                    .any(|k| cmd.starts_with(k["command"].as_str().unwrap())
                        && k["causes"].as_array().unwrap().contains(&c["cause"])),
                "{cmd} for {}",
                c["cause"]
            );
        }
    }
    let text = stdout(&["analyze", &b]);
    assert_eq!(
        text.matches("wevtutil epl Security Security.evtx").count(),
        1,
        "{text}"
    );
    assert_eq!(
        text.matches("dsregcmd /status").count(),
        2,
        "answer and list: {text}"
    );
    let md = stdout(&["analyze", &b, "--format", "markdown"]);
    assert_eq!(md.matches("wevtutil epl Security Security.evtx").count(), 1);
    assert!(md.contains("### Collect next"));
}

#[test]
fn the_text_report_fits_a_screen_and_verbose_has_everything() {
    let b = sample("01-credentials-mismatch");
    let piped = stdout(&["analyze", &b]);
    assert!(piped.lines().count() <= 40, "{piped}");
    // In a file or pipe, records are whole.
    let doc = json(&b);
    let cite = doc["runs"][0]["causes"][0]["evidence"][0]["cites"][0]["text"]
        .as_str()
        .unwrap();
    assert!(piped.contains(cite));
    // On a terminal of 100 columns: one screen, no line wider than the terminal.
    let a = analysis_of(&b);
    let mut out = Vec::new();
    let o = TextOptions {
        color: false,
        verbose: false,
        width: Some(100),
    };
    analysis::text(&a, o, &mut out).unwrap();
    let screen = String::from_utf8(out).unwrap();
    assert!(screen.lines().count() <= 40, "{screen}");
    for l in screen.lines() {
        assert!(console::measure_text_width(l) <= 100, "{l}");
    }
    assert!(!screen.contains(cite), "cut on a terminal");
    // --verbose: every citation of every cause, ruled-out ones included, whole.
    let verbose = stdout(&["analyze", &b, "--verbose"]);
    for c in doc["runs"][0]["causes"].as_array().unwrap() {
        assert!(verbose.contains(&format!("] {}: ", c["cause"].as_str().unwrap())));
        for f in c["evidence"].as_array().unwrap() {
            for cite in f["cites"].as_array().unwrap() {
                assert!(verbose.contains(cite["text"].as_str().unwrap()));
            }
        }
    }
    assert!(verbose.lines().count() > piped.lines().count());
}

#[test]
fn every_sample_follows_the_schema_and_ids_name_one_record() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/analysis.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for s in samples() {
        let doc = json(s.to_str().unwrap());
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", s.display());
        assert_eq!(doc["schema_version"], "1.2");
        for run in doc["runs"].as_array().unwrap() {
            // Every citation has an id; one id is one record.
            let mut ids: Vec<(String, String)> = Vec::new();
            let text = run.to_string();
            let cites: Vec<Value> = serde_json::from_str::<Value>(&text)
                .map(|v| {
                    let mut out = Vec::new();
                    collect_cites(&v, &mut out);
                    out
                })
                .unwrap();
            for c in cites {
                let id = c["id"].as_str().unwrap().to_string();
                let key = format!("{}|{}|{}|{}", c["file"], c["record"], c["line"], c["row"]);
                match ids.iter().find(|(i, _)| *i == id) {
                    Some((_, k)) => assert_eq!(*k, key, "{id}"),
                    None => {
                        assert!(!ids.iter().any(|(_, k)| *k == key), "{key} has two ids");
                        ids.push((id, key));
                    }
                }
            }
        }
    }
}

/// Every object with a `file` and a `kind` (a cite) under `v`.
fn collect_cites(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("file") && m.contains_key("kind") && m.contains_key("text") {
                out.push(v.clone());
            }
            m.values().for_each(|x| collect_cites(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_cites(x, out)),
        _ => {}
    }
}

#[test]
fn dash_o_writes_the_same_bytes_to_a_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let b = sample("12-multi-run-day");
    let cases: Vec<Vec<&str>> = vec![
        vec!["analyze", &b],
        vec!["analyze", &b, "--format", "json"],
        vec!["analyze", &b, "--format", "markdown"],
        vec!["timeline", &b, "--format", "csv"],
        vec!["inventory", &b, "--format", "json"],
        vec!["rules", "list"],
    ];
    for (i, args) in cases.iter().enumerate() {
        let file = dir.path().join(format!("out-{i}"));
        // A file already there is replaced, not appended to.
        std::fs::write(&file, "old").unwrap();
        let mut with = args.clone();
        let f = file.to_str().unwrap().to_string();
        with.extend(["-o", &f]);
        let o = padtriage(&with);
        assert_eq!(o.status.code(), Some(0), "{with:?}");
        assert!(o.stdout.is_empty(), "{with:?} wrote to stdout");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            padtriage(args).stdout,
            "{args:?}"
        );
    }
    // Nothing but the outputs: the temporary files were renamed into place.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), cases.len());
    // A run that fails leaves the file as it was.
    let file = dir.path().join("out-0");
    let o = padtriage(&[
        "analyze",
        "/nonexistent/bundle",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        padtriage(&["analyze", &b]).stdout
    );
    // A folder that does not exist: one line naming the file.
    let missing = dir.path().join("no/such/dir/report.txt");
    let o = padtriage(&["analyze", &b, "-o", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("could not write the output") && err.contains("report.txt"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn dash_o_never_writes_inside_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("case");
    std::fs::create_dir_all(bundle.join("PAD")).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/01-credentials-mismatch");
    for f in ["Security.evtx", "PAD/UIFlowService.log", "error.json"] {
        std::fs::copy(src.join(f), bundle.join(f)).unwrap();
    }
    let before: Vec<_> = std::fs::read_dir(&bundle)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let b = bundle.to_str().unwrap();
    let inside = [
        bundle.join("report.txt"),
        bundle.join("PAD/report.txt"),
        // Through `..`: still inside.
        bundle.join("PAD/../report.html"),
        // The very file read.
        bundle.join("error.json"),
    ];
    for cmd in [&["analyze"][..], &["timeline"], &["inventory"]] {
        for file in &inside {
            let mut args = cmd.to_vec();
            args.extend([b, "-o", file.to_str().unwrap()]);
            let o = padtriage(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("inside the bundle"), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    // A file of the bundle given by itself is a bundle too.
    let log = bundle.join("PAD/UIFlowService.log");
    let o = padtriage(&[
        "analyze",
        log.to_str().unwrap(),
        "-o",
        log.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let after: Vec<_> = std::fs::read_dir(&bundle)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before, after, "the bundle is unchanged");
    assert_eq!(
        std::fs::read(bundle.join("error.json")).unwrap(),
        std::fs::read(src.join("error.json")).unwrap()
    );
    // Beside the bundle is fine.
    let beside = dir.path().join("report.txt");
    assert_eq!(
        padtriage(&["analyze", b, "-o", beside.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
}
