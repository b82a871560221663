//! Metamorphic trust tests over every sample bundle (#9): changes that add no evidence about a
//! run (a password spray at the connection account's own name from another host, another
//! machine's logs with the same account failing for another reason, another user's failures,
//! PAD times rewritten in a local zone with their offset) must leave every run's verdicts as
//! they are; removing a file may weaken a verdict, never make another cause `confirmed`.
//!
//! Each sample is read into a tree of files (zips opened, their members' dates kept), changed,
//! and written back out as folders and zips; the unchanged tree written the same way is the
//! reference.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use padtriage_testkit::events::{self, Logon, Principal};
use padtriage_testkit::evtx_writer::{EventSpec, EvtxWriter};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A file of a bundle: bytes, or a zip of files; with its modification date.
#[derive(Clone)]
enum Node {
    File(Vec<u8>, DateTime<Utc>),
    Zip(Vec<(String, Node)>, DateTime<Utc>),
}

fn dos_to_utc(d: zip::DateTime) -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(d.year().into(), d.month().into(), d.day().into())
        .and_then(|day| day.and_hms_opt(d.hour().into(), d.minute().into(), d.second().into()))
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

fn read_zip(bytes: &[u8], mtime: DateTime<Utc>) -> Node {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut members = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        if f.is_dir() {
            continue;
        }
        let name = f.name().unwrap().to_string();
        let when = f.last_modified().map(dos_to_utc).unwrap_or(mtime);
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        members.push((name, node(data, when)));
    }
    Node::Zip(members, mtime)
}

fn node(bytes: Vec<u8>, mtime: DateTime<Utc>) -> Node {
    if bytes.starts_with(b"PK\x03\x04") {
        read_zip(&bytes, mtime)
    } else {
        Node::File(bytes, mtime)
    }
}

/// A sample's evidence files by relative path (README.md and expected.json left out).
fn read_tree(dir: &Path) -> BTreeMap<String, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
                continue;
            }
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel == "README.md" || rel == "expected.json" {
                continue;
            }
            let mtime: DateTime<Utc> = fs::metadata(&p).unwrap().modified().unwrap().into();
            out.insert(rel, node(fs::read(&p).unwrap(), mtime));
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn zip_bytes(members: &[(String, Node)]) -> Vec<u8> {
    let entries: Vec<(String, Vec<u8>, DateTime<Utc>)> = members
        .iter()
        .map(|(name, n)| match n {
            Node::File(b, t) => (name.clone(), b.clone(), *t),
            Node::Zip(m, t) => (name.clone(), zip_bytes(m), *t),
        })
        .collect();
    padtriage_testkit::dated_zip(&entries)
}

fn write_tree(tree: &BTreeMap<String, Node>, dir: &Path) {
    for (rel, n) in tree {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let (bytes, t) = match n {
            Node::File(b, t) => (b.clone(), *t),
            Node::Zip(m, t) => (zip_bytes(m), *t),
        };
        fs::write(&p, bytes).unwrap();
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t.into())
            .unwrap();
    }
}

/// Every leaf file, by path (`a.zip!/b/c.log`), changed in place by `f`.
fn for_each_file(tree: &mut BTreeMap<String, Node>, f: &mut dyn FnMut(&str, &mut Vec<u8>)) {
    fn go(prefix: &str, name: &str, n: &mut Node, f: &mut dyn FnMut(&str, &mut Vec<u8>)) {
        let path = format!("{prefix}{name}");
        match n {
            Node::File(b, _) => f(&path, b),
            Node::Zip(members, _) => {
                for (m, child) in members.iter_mut() {
                    go(&format!("{path}!/"), m, child, f);
                }
            }
        }
    }
    for (name, n) in tree.iter_mut() {
        go("", name, n, f);
    }
}

/// Every leaf file's path.
fn leaves(tree: &BTreeMap<String, Node>) -> Vec<String> {
    let mut all = Vec::new();
    let mut t = tree.clone();
    for_each_file(&mut t, &mut |p, _| all.push(p.to_string()));
    all
}

/// The tree without one leaf.
fn without(tree: &BTreeMap<String, Node>, leaf: &str) -> BTreeMap<String, Node> {
    fn prune(members: &mut Vec<(String, Node)>, prefix: &str, leaf: &str) {
        members.retain(|(m, _)| format!("{prefix}{m}") != leaf);
        for (m, n) in members.iter_mut() {
            if let Node::Zip(inner, _) = n {
                prune(inner, &format!("{prefix}{m}!/"), leaf);
            }
        }
    }
    let mut v: Vec<(String, Node)> = tree.clone().into_iter().collect();
    prune(&mut v, "", leaf);
    v.into_iter().collect()
}

/// `(run time, cause -> verdict)` of every run of `padtriage analyze` on a written tree.
type Verdicts = Vec<(DateTime<Utc>, BTreeMap<String, String>, Value)>;

fn analyze(tree: &BTreeMap<String, Node>) -> Verdicts {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bundle");
    write_tree(tree, &root);
    let out = Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .arg("analyze")
        .arg(&root)
        .args(["--format", "json"])
        .output()
        .unwrap();
    if out.stdout.is_empty() {
        // Nothing left to analyse (the only file removed): no run, no verdict.
        assert!(!out.status.success(), "no output but success");
        return Vec::new();
    }
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let time = DateTime::parse_from_rfc3339(r["time"].as_str().unwrap())
                .unwrap()
                .to_utc();
            let v = r["causes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["cause"].as_str().unwrap().to_string(),
                        c["verdict"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (time, v, r.clone())
        })
        .collect()
}

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .filter(|p| !p.ends_with("13-large-noisy"))
        .collect();
    v.sort();
    v
}

fn same_verdicts(name: &str, what: &str, base: &Verdicts, changed: &Verdicts) {
    let strip = |v: &Verdicts| -> Vec<(DateTime<Utc>, BTreeMap<String, String>)> {
        v.iter().map(|(t, c, _)| (*t, c.clone())).collect()
    };
    assert_eq!(
        strip(base),
        strip(changed),
        "{name}: {what} changed the verdicts"
    );
}

/// The machine a run was on, as the report names it (the sample's Security log's computer).
fn machine_of(run: &Value) -> String {
    run["machine"]
        .as_str()
        .unwrap_or("RPA-VM01.contoso.com")
        .to_string()
}

/// A principal named as the run's connection account is written (`DOMAIN\user`, a UPN, bare).
fn principal_of(run: &Value) -> Principal {
    let user = run["user"].as_str().unwrap_or("jdoe@contoso.com");
    match user.split_once('\\') {
        Some((d, u)) => Principal::new(u, d, ""),
        None => Principal::new(user, "", ""),
    }
}

fn log(events: Vec<EventSpec>) -> Vec<u8> {
    let mut events = events;
    events.sort_by_key(|e| e.time);
    EvtxWriter::build(&events).unwrap()
}

fn add(tree: &mut BTreeMap<String, Node>, path: &str, bytes: Vec<u8>, when: DateTime<Utc>) {
    tree.insert(path.to_string(), Node::File(bytes, when));
}

#[test]
fn evidence_about_nobody_of_the_run_changes_no_verdict() {
    let re = regex::Regex::new(r#""eventTimestamp":"([^"]+)""#).unwrap();
    for dir in samples() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let tree = read_tree(&dir);
        let base = analyze(&tree);
        assert!(!base.is_empty(), "{name}: no run");

        // A password spray at the connection account's own name, from another host.
        let mut spray = tree.clone();
        let mut evs = Vec::new();
        for (t, _, run) in &base {
            for i in 0..6 {
                let mut who = principal_of(run);
                if i % 2 == 1 {
                    who.domain = String::new();
                }
                let mut l = Logon::new(*t + Duration::seconds(i - 3), &machine_of(run), who, 3);
                l.status = 0xC000_006D;
                l.sub_status = 0xC000_006A;
                l.ip_address = "203.0.113.45".into();
                l.workstation = "KALI".into();
                evs.push(events::security_4625(&l));
            }
        }
        add(
            &mut spray,
            "spray/Security-archive.evtx",
            log(evs),
            base[0].0,
        );
        same_verdicts(&name, "a password spray", &base, &analyze(&spray));

        // Another machine's logs: the same account failing there, for another reason.
        let mut other = tree.clone();
        let mut evs = Vec::new();
        for (t, _, run) in &base {
            let mut at = *t - Duration::hours(1);
            while at < *t + Duration::hours(1) {
                evs.push(events::security_4624(&Logon::new(
                    at,
                    "OTHER-HOST.contoso.com",
                    Principal::system(),
                    5,
                )));
                at += Duration::minutes(10);
            }
            let mut l = Logon::new(*t, "OTHER-HOST.contoso.com", principal_of(run), 2);
            l.status = 0xC000_006E;
            l.sub_status = 0xC000_0072;
            evs.push(events::security_4625(&l));
        }
        add(&mut other, "OTHER-HOST/Security.evtx", log(evs), base[0].0);
        same_verdicts(&name, "another machine's log", &base, &analyze(&other));

        // Another local user's failures in the minutes before each run.
        let mut users = tree.clone();
        let mut evs = Vec::new();
        for (t, _, run) in &base {
            for m in [10, 5] {
                let mut l = Logon::new(
                    *t - Duration::minutes(m),
                    &machine_of(run),
                    Principal::new("kiosk", "RPA-VM01", "S-1-5-21-7-7-7-1009"),
                    2,
                );
                l.status = 0xC000_006D;
                l.sub_status = 0xC000_006A;
                evs.push(events::security_4625(&l));
            }
        }
        add(&mut users, "more/Security-kiosk.evtx", log(evs), base[0].0);
        same_verdicts(&name, "another user's failures", &base, &analyze(&users));

        // PAD times written in a local zone, with their offset.
        let mut zoned = tree.clone();
        let zone = FixedOffset::east_opt(2 * 3600).unwrap();
        let mut changed = 0;
        for_each_file(&mut zoned, &mut |_, bytes| {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return;
            };
            if !text.contains("\"eventTimestamp\"") {
                return;
            }
            let out = re.replace_all(
                text,
                |c: &regex::Captures| match DateTime::parse_from_rfc3339(&c[1]) {
                    Ok(t) => {
                        changed += 1;
                        format!(
                            r#""eventTimestamp":"{}""#,
                            t.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                        )
                    }
                    Err(_) => c[0].to_string(),
                },
            );
            *bytes = out.into_owned().into_bytes();
        });
        assert!(changed > 0, "{name}: no PAD time rewritten");
        same_verdicts(&name, "PAD times in UTC+02:00", &base, &analyze(&zoned));
    }
}

#[test]
fn removing_a_file_never_makes_another_cause_confirmed() {
    for dir in samples() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let tree = read_tree(&dir);
        let base = analyze(&tree);
        for leaf in leaves(&tree) {
            let less = analyze(&without(&tree, &leaf));
            for (t, verdicts, _) in &less {
                let before = base
                    .iter()
                    .find(|(bt, _, _)| (*bt - *t).num_seconds().abs() <= 180)
                    .map(|(_, v, _)| v.clone())
                    .unwrap_or_default();
                for (cause, v) in verdicts {
                    if v == "confirmed" {
                        assert_eq!(
                            before.get(cause).map(String::as_str),
                            Some("confirmed"),
                            "{name}: without {leaf}, {cause} became confirmed for the run at {t}"
                        );
                    }
                }
            }
        }
    }
}
