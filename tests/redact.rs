//! `--redact` on every command and format over every sample: none of the sample's identifiers
//! is left in the output. The identifiers are read from the samples themselves, from the
//! unredacted outputs (every account, domain, SID, machine, address, tenant, device and
//! correlation id the timeline's typed fields and the analysis name, and whatever looks like a
//! SID, GUID, IPv4 address or UPN anywhere in them), less what identifies no one (built-in
//! accounts and SIDs, loopback, the names password sprays try: `report::redact::is_generic`).

use padtriage::report::redact::{is_generic, is_service_domain, is_well_known_sid, Class};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

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

fn run(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Every command and format.
const OUTPUTS: &[&[&str]] = &[
    &["analyze", "--format", "text", "--verbose"],
    &["analyze", "--format", "json"],
    &["analyze", "--format", "markdown"],
    &["analyze", "--format", "html"],
    &["timeline", "--format", "text"],
    &["timeline", "--format", "jsonl"],
    &["timeline", "--format", "csv"],
    &["timeline", "--format", "timesketch"],
    &["inventory", "--format", "text"],
    &["inventory", "--format", "json"],
];

fn output(sample: &Path, cmd: &[&str], extra: &[&str]) -> String {
    let mut args = vec![cmd[0], sample.to_str().unwrap()];
    args.extend(&cmd[1..]);
    args.extend(extra);
    run(&args)
}

fn add(ids: &mut BTreeSet<String>, s: &str) {
    let s = s.trim();
    let nothing = s.len() < 2
        || s == "-"
        || is_generic(s)
        || s.bytes().all(|b| b.is_ascii_digit())
        || (s.starts_with("S-1-") && is_well_known_sid(s))
        || s.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        // padtriage's own placeholders (`user@domain.com` in a fix).
        || s.split_once('@').is_some_and(|(u, d)| is_generic(u) && is_generic(d));
    if !nothing {
        ids.insert(s.to_string());
    }
}

/// An account in any form, and its parts.
fn add_account(ids: &mut BTreeSet<String>, s: &str) {
    for one in s.split(", ") {
        if let Some((d, u)) = one.split_once('\\') {
            if is_service_domain(d) {
                continue;
            }
            add(ids, d);
            add_account(ids, u);
        } else if let Some((u, d)) = one.split_once('@') {
            add(ids, u);
            add(ids, d);
        } else if let Some(m) = one.strip_suffix('$') {
            add(ids, m);
        } else {
            add(ids, one);
        }
    }
}

fn walk(v: &Value, key: &str, ids: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            let service = m
                .get("domain")
                .and_then(Value::as_str)
                .is_some_and(is_service_domain);
            for (k, x) in m {
                if !(service && k == "name") {
                    walk(x, k, ids);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, key, ids)),
        Value::String(s) => match key {
            "name" | "user" | "upn" | "executing_account" | "user_aliases" | "user_context" => {
                add_account(ids, s)
            }
            "domain" | "domain_name" | "sid" | "user_sid" | "ip_address" | "address"
            | "tenant_name" | "tenant_id" | "device_id" | "correlation_id" | "target_server" => {
                add(ids, s)
            }
            "computer" | "workstation" | "machine" | "device_name" => {
                add(ids, s);
                add(ids, s.split('.').next().unwrap_or(s));
            }
            _ => {}
        },
        _ => {}
    }
}

/// The sample's identifiers, from its unredacted outputs.
fn identifiers(sample: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let jsonl = output(sample, &["timeline", "--format", "jsonl"], &[]);
    for line in jsonl.lines() {
        walk(&serde_json::from_str(line).unwrap(), "", &mut ids);
    }
    let doc = output(sample, &["analyze", "--format", "json"], &[]);
    walk(&serde_json::from_str(&doc).unwrap(), "", &mut ids);
    let shapes = regex::Regex::new(
        r"(?i)\bS-1-(?:5-21|12-1)(?:-\d+)+|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b(?:\d{1,3}\.){3}\d{1,3}\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    )
    .unwrap();
    for text in [&jsonl, &doc] {
        for m in shapes.find_iter(text) {
            add(&mut ids, m.as_str());
        }
    }
    ids
}

/// Occurrences of `id` in `text` standing as a word of their own (not inside a longer name).
fn leaks(text: &str, id: &str) -> usize {
    let hay = text.to_lowercase();
    let needle = id.to_lowercase();
    hay.match_indices(&needle)
        .filter(|(i, m)| {
            let before = hay[..*i].chars().next_back();
            let after = hay[i + m.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
        .count()
}

fn no_identifier_left(commands: &[&[&str]]) {
    for sample in samples() {
        let ids = identifiers(&sample);
        assert!(ids.len() >= 3, "{}: {ids:?}", sample.display());
        for cmd in commands {
            let out = output(&sample, cmd, &["--redact", "--redact-key", "test key"]);
            for id in &ids {
                assert_eq!(
                    leaks(&out, id),
                    0,
                    "{} {cmd:?}: {id:?} is left in:\n{}",
                    sample.display(),
                    out.lines()
                        .filter(|l| leaks(l, id) > 0)
                        .take(3)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
    }
}

#[test]
fn analyze_leaves_no_identifier_in_any_format() {
    no_identifier_left(&OUTPUTS[..4]);
}

#[test]
fn timeline_leaves_no_identifier_in_any_format() {
    no_identifier_left(&OUTPUTS[4..8]);
}

#[test]
fn inventory_leaves_no_identifier_in_any_format() {
    no_identifier_left(&OUTPUTS[8..]);
}

#[test]
fn pseudonyms_are_stable_under_a_key_and_codes_stay() {
    let s01 = samples()[0].clone();
    let s12 = samples().last().unwrap().clone();
    let json = |s: &Path, key: &[&str]| {
        let mut extra = vec!["--redact"];
        extra.extend(key);
        output(s, &["analyze", "--format", "json"], &extra)
    };
    let a = json(&s01, &["--redact-key", "k1"]);
    assert_eq!(
        a,
        json(&s01, &["--redact-key", "k1"]),
        "same key, same output"
    );
    assert_ne!(a, json(&s01, &["--redact-key", "k2"]));
    assert_ne!(
        json(&s01, &[]),
        json(&s01, &[]),
        "no key: a random one per run"
    );
    // Across bundles: contoso.com is the same pseudonym in both.
    let key = padtriage::report::redact::Redactor::new(b"k1", &Default::default()).unwrap();
    let contoso = key.pseudonym(Class::Dns, "contoso.com");
    assert!(a.contains(&format!("@{contoso}")), "{a}");
    assert!(json(&s12, &["--redact-key", "k1"]).contains(&format!("@{contoso}")));
    // The key can come from a file, so that it is on no command line.
    let dir = tempfile::tempdir().unwrap();
    let keyfile = dir.path().join("key");
    std::fs::write(&keyfile, "k1\n").unwrap();
    assert_eq!(
        a,
        json(&s01, &["--redact-key-file", keyfile.to_str().unwrap()])
    );
    // What the verdict rests on stays: codes, event ids, cause ids, verdicts, times, the
    // well-known accounts.
    let doc: Value = serde_json::from_str(&a).unwrap();
    let plain: Value =
        serde_json::from_str(&output(&s01, &["analyze", "--format", "json"], &[])).unwrap();
    for k in [
        "primary_cause",
        "primary_verdict",
        "time",
        "error_code",
        "ntstatus",
        "summary",
    ] {
        assert_eq!(doc["runs"][0][k], plain["runs"][0][k], "{k}");
    }
    for code in ["0xC000006A", "0xC000006D", "(4625)", "AzureAD\\"] {
        assert!(a.contains(code), "{code}");
    }
    let verbose = output(
        &s01,
        &["timeline", "--format", "text"],
        &["--redact", "--redact-key", "k1"],
    );
    assert!(verbose.contains("NT AUTHORITY\\SYSTEM"));
    assert!(verbose.contains("S-1-5-18") || !verbose.contains("SID-"));
    // The redacted document still follows the schema; JSON lines and CSV keep their shape.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/analysis.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&doc));
    let jsonl = output(&s01, &["timeline", "--format", "jsonl"], &["--redact"]);
    let plain_jsonl = output(&s01, &["timeline", "--format", "jsonl"], &[]);
    assert_eq!(jsonl.lines().count(), plain_jsonl.lines().count());
    for (r, p) in jsonl.lines().zip(plain_jsonl.lines()) {
        let r: Value = serde_json::from_str(r).unwrap();
        let p: Value = serde_json::from_str(p).unwrap();
        assert_eq!(r["time"], p["time"]);
        assert_eq!(r["kind"], p["kind"]);
        assert_eq!(
            r.as_object().unwrap().keys().collect::<Vec<_>>(),
            p.as_object().unwrap().keys().collect::<Vec<_>>()
        );
    }
    let csv = output(&s01, &["timeline", "--format", "csv"], &["--redact"]);
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        rows.headers().unwrap(),
        vec![
            "time",
            "kind",
            "file",
            "location",
            "summary",
            "computer",
            "user",
            "status",
            "sub_status",
            "time_basis"
        ]
    );
    let plain_csv = output(&s01, &["timeline", "--format", "csv"], &[]);
    let mut plain_rows = csv::Reader::from_reader(plain_csv.as_bytes());
    for (r, p) in rows.records().zip(plain_rows.records()) {
        let (r, p) = (r.unwrap(), p.unwrap());
        assert_eq!(r.len(), 10);
        // Codes and the time basis stay; the machine is replaced.
        for i in 7..10 {
            assert_eq!(r[i], p[i], "column {i}");
        }
        assert!(p[5].is_empty() || r[5] != p[5], "{r:?}");
    }
}

#[test]
fn redact_key_needs_redact() {
    let s = samples()[0].clone();
    let o = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(["analyze", s.to_str().unwrap(), "--redact-key", "k"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// A timeline long enough to be written while it is still being rendered, whose last logons
/// come from a workstation, an address and an account named nowhere earlier: the redactor must
/// know every identifier before the first line goes out, not only those rendered by then.
#[test]
fn timeline_redacts_identifiers_that_only_late_events_name() {
    use chrono::{Duration, TimeZone, Utc};
    use padtriage_testkit::events::{self, Logon, Principal};
    use padtriage_testkit::evtx_writer::EvtxWriter;
    let t0 = Utc.with_ymd_and_hms(2025, 6, 2, 8, 0, 0).unwrap();
    let mut specs = Vec::new();
    for i in 0..30_000 {
        let who = Principal::new("svc-batch", "CONTOSO", "S-1-5-21-1-2-3-1105");
        let mut l = Logon::new(t0 + Duration::seconds(i), "RPA-VM01.contoso.com", who, 5);
        l.workstation = "RPA-VM01".into();
        specs.push(events::security_4624(&l));
    }
    let late = Principal::new("mallory", "FABRIKAM", "S-1-5-21-9-8-7-4242");
    let mut l = Logon::new(
        t0 + Duration::seconds(40_000),
        "RPA-VM01.contoso.com",
        late,
        3,
    );
    l.workstation = "ZZLATEHOST".into();
    l.ip_address = "198.51.100.77".into();
    l.status = 0xC000_006D;
    l.sub_status = 0xC000_006A;
    l.failure_reason = "%%2313".into();
    specs.push(events::security_4625(&l));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("Security.evtx");
    std::fs::write(&log, EvtxWriter::build(&specs).unwrap()).unwrap();
    let log = log.to_str().unwrap();
    for format in ["text", "jsonl", "csv"] {
        let plain = run(&["timeline", log, "--format", format]);
        assert!(plain.contains("mallory"), "{format}: the trap is not set");
        let out = run(&[
            "timeline",
            log,
            "--format",
            format,
            "--redact",
            "--redact-key",
            "k",
        ]);
        assert!(
            out.len() > 1 << 20,
            "{format}: too short to be written while rendered"
        );
        for id in [
            "ZZLATEHOST",
            "198.51.100.77",
            "mallory",
            "FABRIKAM",
            "S-1-5-21-9-8-7-4242",
        ] {
            assert_eq!(
                leaks(&out, id),
                0,
                "{format}: {id} left in the redacted timeline"
            );
        }
    }
}

/// A copy of every sample in one inbox, each named after its first run's machine or user as
/// well (`01-credentials-mismatch-RPA-VM01`), as customers' bundles often are.
fn named_inbox(dir: &Path) -> PathBuf {
    let inbox = dir.join("inbox");
    for s in samples() {
        let doc: Value =
            serde_json::from_str(&output(&s, &["analyze", "--format", "json"], &[])).unwrap();
        let run = &doc["runs"][0];
        let who = run["machine"]
            .as_str()
            .or_else(|| run["user"].as_str())
            .unwrap();
        let who = who.split(['@', '\\', '.']).next().unwrap();
        let name = format!("{}-{who}", s.file_name().unwrap().to_string_lossy());
        padtriage_testkit::copy_dir(&s, &inbox.join(name)).unwrap();
    }
    inbox
}

#[test]
fn scan_leaves_no_identifier_in_any_format_or_bundle_name() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = named_inbox(dir.path());
    let mut ids = BTreeSet::new();
    for s in samples() {
        ids.extend(identifiers(&s));
    }
    let key = ["--redact", "--redact-key", "test key"];
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", inbox.to_str().unwrap()];
        args.extend(extra);
        args.extend(key);
        run(&args)
    };
    let page = dir.path().join("out/fleet.html");
    std::fs::create_dir_all(page.parent().unwrap()).unwrap();
    let mut outputs = vec![
        ("text".to_string(), scan(&["--format", "text"])),
        ("ndjson".to_string(), scan(&["--format", "ndjson"])),
        (
            "html summary".to_string(),
            scan(&["--format", "html", "-o", page.to_str().unwrap()]),
        ),
    ];
    outputs.push(("fleet.html".into(), std::fs::read_to_string(&page).unwrap()));
    let pages = dir.path().join("out/fleet-bundles");
    let mut names = Vec::new();
    for e in std::fs::read_dir(&pages).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".html") {
            outputs.push((name.clone(), std::fs::read_to_string(e.path()).unwrap()));
            names.push(name);
        }
    }
    assert_eq!(names.len(), samples().len());
    outputs.push(("page file names".into(), names.join("\n")));
    for (what, out) in &outputs {
        for id in &ids {
            assert_eq!(
                leaks(out, id),
                0,
                "scan {what}: {id:?} is left in:\n{}",
                out.lines()
                    .filter(|l| leaks(l, id) > 0)
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    // One key for the whole scan: each bundle's analysis is what `analyze --redact` gives it
    // under that key, so an identifier has one pseudonym across the bundles.
    let rows: Vec<Value> = outputs[1]
        .1
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut bundles = 0;
    for e in std::fs::read_dir(&inbox).unwrap() {
        let b = e.unwrap().path();
        let alone: Value =
            serde_json::from_str(&output(&b, &["analyze", "--format", "json"], &key)).unwrap();
        let row = rows
            .iter()
            .find(|r| r["analysis"]["bundle"] == alone["bundle"])
            .unwrap_or_else(|| panic!("no row for {}", alone["bundle"]));
        assert_eq!(row["analysis"], alone, "{}", b.display());
        assert_eq!(row["bundle"]["path"], alone["bundle"]);
        bundles += 1;
    }
    assert_eq!(bundles, rows.len());
}
