//! The Spark job (`integrations/spark/padtriage_spark.py`) in Spark local mode (`local[2]`), on
//! a copy of `samples/`: its results are `padtriage scan`'s on the same bundles (same bundles,
//! statuses, identities, runs and verdicts), and a second run processes nothing.
//!
//! Needs `pyspark` (`python3 -m pip install pyspark==3.5.3`, which `.ci/run` does) and Java 17.
//! Without them the test is reported ignored, and says why; under `CI=true` it runs and fails.

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let args = Arguments::from_args();
    let missing = missing_tools();
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let ignore = match &missing {
        Some(why) if !ci => {
            eprintln!("spark: ignored: {why}");
            true
        }
        _ => false,
    };
    let trial = Trial::test("spark_job_matches_scan_and_is_incremental", move || {
        if let Some(why) = &missing {
            return Err(format!("{why} (CI=true: the Spark test must run)").into());
        }
        spark_job_matches_scan_and_is_incremental()
    })
    .with_ignored_flag(ignore);
    libtest_mimic::run(&args, vec![trial]).exit();
}

/// What is missing to run Spark here, if anything.
fn missing_tools() -> Option<String> {
    let ok = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ok("java", &["-version"]) {
        return Some("no Java (install a JDK 17: apt-get install openjdk-17-jre-headless)".into());
    }
    if !ok("python3", &["-c", "import pyspark"]) {
        return Some("no pyspark for python3 (python3 -m pip install pyspark==3.5.3)".into());
    }
    None
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Result<String, Failed> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One Python process driving the job's `main` command after command (one JVM for the whole
/// test, not one per command): a command line in, its output and a marker line out.
struct Driver {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
    log: PathBuf,
}

const DRIVER: &str = r#"
import shlex, sys
sys.path.insert(0, sys.argv[1])
import padtriage_spark
for line in sys.stdin:
    padtriage_spark.main(["--master", "local[2]"] + shlex.split(line))
    print("\x1edone", flush=True)
"#;

impl Driver {
    fn start(log: PathBuf) -> Result<Driver, Failed> {
        let err = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut child = Command::new("python3")
            .args(["-c", DRIVER])
            .arg(repo().join("integrations/spark"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("python3: {e}"))?;
        let out = std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Driver { child, out, log })
    }

    /// Run one command of the job (`run ...`, `show ...`); its standard output.
    fn call(&mut self, args: &[&str]) -> Result<String, Failed> {
        use std::io::{BufRead, Write};
        let line: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let stdin = self.child.stdin.as_mut().ok_or("no stdin")?;
        writeln!(stdin, "{}", line.join(" ")).map_err(|e| e.to_string())?;
        stdin.flush().map_err(|e| e.to_string())?;
        let mut text = String::new();
        loop {
            let mut l = String::new();
            if self.out.read_line(&mut l).map_err(|e| e.to_string())? == 0 {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().join("\n");
                return Err(format!("the Spark job failed on {args:?}:\n{text}\n{tail}").into());
            }
            if l.trim_end() == "\u{1e}done" {
                return Ok(text);
            }
            text.push_str(&l);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The job's last line: its report.
fn report(stdout: &str) -> Result<Value, Failed> {
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last).map_err(|e| format!("no report line ({e}): {stdout}").into())
}

/// What must be the same: per bundle name, its status, identity and runs.
fn essentials(rows: &[Value], path: &str, hash: &str, kind: &str) -> BTreeMap<String, Value> {
    rows.iter()
        .map(|r| {
            let p = r.pointer(path).and_then(Value::as_str).unwrap_or("");
            let name = p.rsplit('/').next().unwrap_or(p).to_string();
            let runs: Vec<Value> = r["runs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|run| {
                    serde_json::json!([
                        run["time"],
                        run["error_code"],
                        run["primary_cause"],
                        run["primary_verdict"],
                        run["verdicts"]
                    ])
                })
                .collect();
            let v = serde_json::json!({
                "status": r["status"],
                "kind": r.pointer(kind),
                "hash": r.pointer(hash),
                "runs": runs,
            });
            (name, v)
        })
        .collect()
}

fn spark_job_matches_scan_and_is_incremental() -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let inbox = tmp.path().join("inbox");
    // The committed samples: 13-large-noisy (generated on demand, 87 MB) is left out, as the
    // local-mode Spark of this test has a 1 GB heap and `--copy` holds a file's bytes in it.
    let mut bundles = 0;
    for e in std::fs::read_dir(repo().join("samples")).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() && e.file_name() != "13-large-noisy" {
            padtriage_testkit::copy_dir(&e.path(), &inbox.join(e.file_name()))
                .map_err(|e| e.to_string())?;
            bundles += 1;
        }
    }
    // A loose file in the inbox is no bundle, for Spark as for scan.
    std::fs::write(inbox.join("notes.txt"), "not a bundle").unwrap();
    let results = tmp.path().join("results");
    let bin = env!("CARGO_BIN_EXE_padtriage");
    let inbox_s = inbox.to_str().unwrap();

    let results_s = results.to_str().unwrap();
    let job = [
        "run",
        "--inbox",
        inbox_s,
        "--results",
        results_s,
        "--padtriage",
        bin,
    ];
    let mut spark = Driver::start(tmp.path().join("spark.log"))?;

    // First run: every bundle copied to the executors, as from an object store.
    let first = report(&spark.call(&[&job[..], &["--copy"]].concat())?)?;
    if first["listed"] != bundles || first["analysed"] != bundles || first["ok"] != bundles {
        return Err(format!("first run: {first}").into());
    }
    same_as_scan(&mut spark, bin, inbox_s, results_s)?;

    // Second run: nothing changed, nothing read.
    let second = report(&spark.call(&job)?)?;
    if second["listed"] != bundles
        || second["analysed"] != 0
        || second["unchanged_by_metadata"] != bundles
    {
        return Err(format!("second run processed something: {second}").into());
    }

    // Third run: a file rewritten with the same bytes (left out by its hash), one changed (read
    // where it lies, as a file: bundle).
    let readme = inbox.join("02-account-state/README.md");
    std::fs::write(&readme, std::fs::read(&readme).unwrap()).unwrap();
    let log = inbox.join("01-credentials-mismatch/PAD/UIFlowService.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.push(b'\n');
    std::fs::write(&log, bytes).unwrap();
    let third = report(&spark.call(&job)?)?;
    if third["unchanged_by_hash"] != 1 || third["analysed"] != 1 || third["ok"] != 1 {
        return Err(format!("third run: {third}").into());
    }
    same_as_scan(&mut spark, bin, inbox_s, results_s)
}

/// The Spark results table's latest rows against `padtriage scan` on the same inbox.
fn same_as_scan(spark: &mut Driver, bin: &str, inbox: &str, results: &str) -> Result<(), Failed> {
    let scan = run(Command::new(bin).args(["scan", inbox, "--format", "ndjson"]))?;
    let scan: Vec<Value> = scan
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want = essentials(
        &scan,
        "/bundle/path",
        "/bundle/content_hash",
        "/bundle/kind",
    );
    let shown = spark.call(&["show", "--results", results])?;
    let shown: Vec<Value> = shown
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got = essentials(&shown, "/path", "/content_hash", "/bundle_kind");
    if got != want {
        let diff: Vec<String> = want
            .iter()
            .filter(|(k, v)| got.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k}: scan {v}\n    spark {:?}", got.get(k)))
            .collect();
        return Err(format!(
            "the Spark job's results differ from scan's ({} vs {} bundles):\n{}",
            got.len(),
            want.len(),
            diff.join("\n")
        )
        .into());
    }
    if shown
        .iter()
        .any(|r| !r["path"].as_str().unwrap_or("").starts_with("file:/"))
    {
        return Err("results are not keyed by the bundles' URIs".into());
    }
    Ok(())
}
