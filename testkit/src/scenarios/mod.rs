//! The scenario corpus: deterministic generation of realistic customer bundles (the folders a
//! support engineer receives), each with the expected diagnosis (`expected.json`) and a short
//! README. `samples/` holds the small ones, written by `cargo run --example gen-samples --
//! samples`; the large one is generated on demand.
//!
//! This module owns what goes into each bundle: the needles (the records that explain a failure,
//! in the field layouts Windows and PAD write) and the haystack around them (service logons and
//! credential reads from [`crate::events::noise`], the user's own logons, password sprays from
//! other hosts, routine PAD log lines), the file layout (loose files, `PAD/` folders, the machine
//! runtime's `PAD-Logs.zip`, a `bundle.zip` around everything) and which encoding each text file
//! gets. The kit's `writers` write the formats. Everything derives from fixed times and seeds,
//! and zip entries have fixed times and order, so the same code writes the same bytes.
//!
//! The scenarios sit in submodules by theme (`accounts`, `devices`, `logon`, `judgement`), on a
//! shared `world` (tenant, machines, accounts, the records Windows logs around a run) and `pad`
//! (what PAD logs).
//!
//! Where a bundle's diagnosis rests on the `dsregcmd` dump alone, the dump travels inside a zip:
//! a loose file's date is lost in a git checkout, and a dump whose only time is a date long
//! after the run counts as weaker evidence.

mod accounts;
mod devices;
mod judgement;
mod logon;
mod pad;
mod world;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Public API

/// One file of a bundle: its path inside the bundle folder (`/`-separated), bytes and date.
#[derive(Debug, Clone)]
pub struct OutFile {
    pub path: String,
    pub bytes: Vec<u8>,
    /// The file's modification time as the customer's machine left it.
    pub mtime: DateTime<Utc>,
}

/// What `padtriage analyze` must find in a bundle (`expected.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    pub scenario: String,
    pub runs: Vec<ExpectedRun>,
    /// True when no credential cause may be confirmed anywhere in the bundle.
    pub healthy: bool,
}

/// One failed run the analysis must report.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectedRun {
    /// RFC 3339 UTC; the analysis may differ by up to 60 s (records of one failure spread).
    pub time: String,
    pub error_code: String,
    /// The cause id of the primary verdict, or `None` when no cause may be confirmed or likely.
    pub primary_cause: Option<String>,
    /// `confirmed` or `likely`; `None` with `primary_cause`.
    pub verdict: Option<String>,
    /// The connection user the run must be attributed to; `None` = not checked.
    pub user: Option<String>,
    /// How the user must have been determined (`stated`, `inferred`), when that matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_basis: Option<String>,
    /// Every cause's verdict for this run (`confirmed`, `likely`, `ruled_out`, `unknown`), by
    /// cause id; empty for a run whose error is not a credential failure.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub causes: std::collections::BTreeMap<String, String>,
}

impl ExpectedRun {
    /// Every cause's expected verdict.
    pub fn causes(mut self, verdicts: &[(&str, &str)]) -> Self {
        self.causes = verdicts
            .iter()
            .map(|(c, v)| (c.to_string(), v.to_string()))
            .collect();
        self
    }
}

type Build = Box<dyn Fn() -> Vec<OutFile> + Send + Sync>;

/// A scenario: its name (`01-credentials-mismatch`, also its folder), what it shows, the
/// expected analysis, and how to build its files.
pub struct Scenario {
    pub name: &'static str,
    /// One line for the samples index.
    pub title: &'static str,
    /// Generated on demand only (not committed).
    pub large: bool,
    pub expected: Expected,
    /// The bundle's README.md.
    pub readme: String,
    build: Build,
}

impl Scenario {
    /// Build the bundle's evidence files (not `expected.json` / `README.md`).
    pub fn files(&self) -> Vec<OutFile> {
        (self.build)()
    }
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("large", &self.large)
            .field("expected", &self.expected)
            .finish()
    }
}

/// Every scenario, in folder order; the large one last.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        accounts::s01_credentials_mismatch(),
        accounts::s02_account_state(),
        accounts::s03_username_format(),
        devices::s04_device_not_joined(),
        devices::s05_account_not_synced(),
        devices::s06_federated_user(),
        logon::s07_logon_right_missing(),
        logon::s08_account_restriction(),
        logon::s09_auth_unreachable(),
        judgement::s10_healthy_unrelated(),
        judgement::s11_missing_evidence(),
        judgement::s12_multi_run_day(),
        accounts::s13_large_noisy(),
    ]
}

/// Scenario 01 (a wrong password) at the scale of a customer upload, for benchmarks: a day of
/// Security records from `noise_streams` background streams (about 4.8 MB of log each; 4 make a
/// 20 MB log) around the few that matter, AAD and device-registration logs, `dsregcmd`, and PAD
/// logs with a heartbeat every few seconds. Its expected analysis is 13-large-noisy's: the
/// credentials mismatch, confirmed, for `bwilson@contoso.com`.
pub fn noisy_credentials_mismatch(noise_streams: u64) -> Vec<OutFile> {
    let fail = t("2025-02-18T13:37:21.506Z");
    accounts::build_credentials_mismatch(fail, "bwilson@contoso.com", 0x13, noise_streams.max(1))
}

/// Write one scenario's bundle into `dir` (created if needed): its evidence files with their
/// dates, `expected.json` and `README.md`. Files already in `dir` that the scenario does not
/// write are left alone.
pub fn write_scenario(s: &Scenario, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for f in s.files() {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&path)?;
        file.write_all(&f.bytes)?;
        file.set_modified(f.mtime.into())?;
    }
    let mut json = serde_json::to_string_pretty(&s.expected).map_err(io::Error::other)?;
    json.push('\n');
    std::fs::write(dir.join("expected.json"), json)?;
    std::fs::write(dir.join("README.md"), &s.readme)?;
    Ok(())
}

/// Write every committed scenario (and the large one when `include_large`) into
/// `out/<name>/`, plus the index `out/README.md`.
pub fn write_all(out: &Path, include_large: bool) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let all = scenarios();
    for s in all.iter().filter(|s| include_large || !s.large) {
        write_scenario(s, &out.join(s.name))?;
    }
    std::fs::write(out.join("README.md"), index(&all))?;
    Ok(())
}

fn index(all: &[Scenario]) -> String {
    let mut s = String::from(INDEX_HEAD);
    for sc in all {
        let note = if sc.large {
            " (generated on demand, not committed)"
        } else {
            ""
        };
        let _ = writeln!(s, "| `{}` | {}{} |", sc.name, sc.title, note);
    }
    s.push_str(INDEX_TAIL);
    s
}

const INDEX_HEAD: &str = "# Sample bundles

Synthetic customer bundles for padtriage: each folder looks like what a support engineer receives
for a failed Power Automate desktop-flow run (event logs, `dsregcmd /status`, PAD logs, portal run
records), with the evidence of one scenario hidden among ordinary background records. Every byte
is generated by `testkit/src/scenarios/`; nothing comes from a real machine (names, GUIDs and
SIDs are invented; IP addresses are documentation ranges).

Regenerate (byte for byte):

```sh
cargo run --example gen-samples -- samples           # the committed bundles
cargo run --example gen-samples -- samples --large   # also 13-large-noisy (not committed)
```

`tests/samples.rs` checks that the committed bundles are exactly what the generator writes, and
that `padtriage analyze <bundle> --format json` reaches each bundle's expected result.

| bundle | scenario |
|---|---|
";

const INDEX_TAIL: &str = "
## expected.json

```json
{\"scenario\": \"01-credentials-mismatch\",
 \"runs\": [{\"time\": \"2025-03-11T14:05:12Z\", \"error_code\": \"WindowsIdentityIncorrect\",
           \"primary_cause\": \"credentials-mismatch\", \"verdict\": \"confirmed\",
           \"user\": \"jdoe@contoso.com\"}],
 \"healthy\": false}
```

- `runs`: every failed run the analysis must report, in time order: `time` (RFC 3339 UTC; the
  report may differ by up to 60 s), `error_code`, `primary_cause` (a rule id from `rules/`, or
  `null` when no cause may be confirmed or likely), `verdict` (`confirmed`, `likely`, or `null`
  with a null cause), `user` (the connection user the run must be attributed to; `null` = not
  checked) and, where it matters, `user_basis` (`stated` when a record names the user, `inferred`
  when padtriage had to infer it from the evidence).
- `healthy`: `true` when nothing in the bundle may confirm any cause (an unrelated failure).

Each bundle's README.md says what happened and what a support engineer should conclude.
";

// ---------------------------------------------------------------------------------------------
// Small helpers

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("bad fixed time {s}: {e}"))
}

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

fn mins(n: i64) -> Duration {
    Duration::minutes(n)
}

/// The RFC 3339 form `expected.json` uses.
fn rfc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn file(path: &str, bytes: Vec<u8>, mtime: DateTime<Utc>) -> OutFile {
    OutFile {
        path: path.to_string(),
        bytes,
        mtime,
    }
}

/// Zip entries from bundle files, under `prefix` (`""` or `Logs/`).
fn entries(files: &[OutFile], prefix: &str) -> Vec<(String, Vec<u8>, DateTime<Utc>)> {
    files
        .iter()
        .map(|f| (format!("{prefix}{}", f.path), f.bytes.clone(), f.mtime))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Expected results

fn run(
    time: DateTime<Utc>,
    code: &str,
    cause: Option<&str>,
    verdict: Option<&str>,
    user: Option<&str>,
) -> ExpectedRun {
    ExpectedRun {
        time: rfc(time),
        error_code: code.into(),
        primary_cause: cause.map(str::to_string),
        verdict: verdict.map(str::to_string),
        user: user.map(str::to_string),
        user_basis: None,
        causes: Default::default(),
    }
}

fn expected(name: &str, runs: Vec<ExpectedRun>, healthy: bool) -> Expected {
    Expected {
        scenario: name.into(),
        runs,
        healthy,
    }
}

fn readme(title: &str, body: &[&str]) -> String {
    let mut s = format!("# {title}\n\n");
    for line in body {
        s.push_str(line);
        s.push('\n');
    }
    s
}

const WII: &str = "WindowsIdentityIncorrect";

/// The NTSTATUS detail as PAD ≥ 2.24 logs it: the signed decimal value.
fn signed(status: u32) -> i32 {
    status as i32
}
