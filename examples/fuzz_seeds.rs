//! Write seed corpora for the fuzz targets (`fuzz/fuzz_targets/`) from the repository's fixtures,
//! the broken-input corpus, EVTX files made by the test writer and, when present, the real
//! Windows logs in /work/shared/real-evtx. See fuzz/README.md.
//!
//! Usage: cargo run --example fuzz_seeds -- [OUT_DIR (default fuzz/corpus)] [REAL_EVTX_DIR]

use padtriage_testkit::broken;
use std::fs;
use std::path::{Path, PathBuf};

/// Seeds larger than this are left out: libFuzzer mutates small inputs far faster, and the
/// corpus's multi-MB files only matter to the limit tests.
const MAX_SEED: usize = 256 * 1024;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().map_or("fuzz/corpus", String::as_str));
    let real = PathBuf::from(args.get(1).map_or("/work/shared/real-evtx", String::as_str));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    let mut fixtures: Vec<(String, Vec<u8>)> = Vec::new();
    collect(root, &root.join("tests/fixtures"), &mut fixtures)?;
    let by_dir = |dir: &str| -> Vec<(String, Vec<u8>)> {
        fixtures
            .iter()
            .filter(|(n, _)| n.contains(&format!("/{dir}/")))
            .cloned()
            .collect()
    };
    let broken: Vec<(String, Vec<u8>)> = broken::corpus()
        .into_iter()
        .map(|f| (f.name, f.bytes))
        .collect();
    let broken_in = |dir: &str| -> Vec<(String, Vec<u8>)> {
        broken
            .iter()
            .filter(|(n, _)| n.starts_with(&format!("{dir}/")) || n.starts_with("empty/"))
            .cloned()
            .collect()
    };

    // dsregcmd: the fixtures as written and as UTF-16LE (how dsregcmd > file writes them).
    let mut dsreg = by_dir("dsregcmd");
    for (n, b) in by_dir("dsregcmd") {
        let mut u = vec![0xFF, 0xFE];
        u.extend(
            String::from_utf8_lossy(&b)
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        dsreg.push((format!("{n}.utf16"), u));
    }
    dsreg.extend(broken_in("dsregcmd"));
    write(&out.join("dsregcmd"), &dsreg)?;

    let mut pad = by_dir("padlog");
    pad.extend(broken_in("padlog"));
    write(&out.join("padlog"), &pad)?;

    let mut runs = by_dir("runs");
    runs.extend(broken_in("runs"));
    write(&out.join("run_records"), &runs)?;

    let mut all = fixtures.clone();
    all.extend(broken.iter().cloned());
    write(&out.join("sniff"), &all)?;

    // Zips: every fixture in one, one per fixture, a nested one, and the broken zips.
    let mut zips: Vec<(String, Vec<u8>)> = Vec::new();
    let entries: Vec<(String, Vec<u8>)> = fixtures
        .iter()
        .map(|(n, b)| (n.rsplit('/').next().unwrap_or(n).to_string(), b.clone()))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let whole = broken::zip_of(&refs);
    zips.push(("all.zip".into(), whole.clone()));
    zips.push((
        "nested.zip".into(),
        broken::zip_of(&[
            ("inner.zip", &whole),
            ("x.log", &broken::pad_log().into_bytes()),
        ]),
    ));
    for (n, b) in &refs {
        zips.push((format!("{n}.zip"), broken::zip_of(&[(n, b)])));
    }
    zips.push((
        "evtx.zip".into(),
        broken::zip_of(&[("Security.evtx", &broken::sample_evtx(1))]),
    ));
    zips.extend(broken_in("zip"));
    write(&out.join("zip_bundle"), &zips)?;

    // Event XML: a clean export (UTF-8 and UTF-16LE) and the broken ones.
    let events: String = (1..=4).map(|i| broken::xml_event(i, "")).collect();
    let clean =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Events>\r\n{events}</Events>\r\n");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(clean.encode_utf16().flat_map(u16::to_le_bytes));
    let mut xml = vec![
        ("clean.xml".to_string(), clean.clone().into_bytes()),
        ("clean_utf16.xml".to_string(), utf16),
        ("wevtutil.xml".to_string(), events.into_bytes()),
    ];
    xml.extend(broken_in("xml"));
    write(&out.join("event_xml"), &xml)?;

    // EVTX: the writer's files and the broken ones, plus real logs when present.
    let mut evtx = vec![
        ("one_chunk.evtx".to_string(), broken::sample_evtx(1)),
        ("two_chunks.evtx".to_string(), broken::sample_evtx(2)),
    ];
    evtx.extend(broken_in("evtx"));
    if let Ok(dir) = fs::read_dir(&real) {
        for e in dir.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "evtx") {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                evtx.push((format!("real_{}", name.unwrap_or_default()), fs::read(&p)?));
            }
        }
    }
    // Whole files for the file-level target (cut to the seed size: a header and some chunks),
    // single chunks for the chunk-level target.
    let mut chunks = Vec::new();
    for (n, b) in &evtx {
        for (i, c) in b
            .get(4096..)
            .unwrap_or(&[])
            .chunks(65536)
            .enumerate()
            .take(8)
        {
            if c.starts_with(b"ElfChnk\0") {
                chunks.push((format!("{n}.chunk{i}"), c.to_vec()));
            }
        }
    }
    let files: Vec<(String, Vec<u8>)> = evtx
        .into_iter()
        .map(|(n, mut b)| {
            b.truncate(4096 + 3 * 65536);
            (n, b)
        })
        .collect();
    write(&out.join("evtx"), &files)?;
    write(&out.join("evtx_chunk"), &chunks)?;
    println!("seeds written under {}", out.display());
    Ok(())
}

/// Every fixture under `dir` but the READMEs, named relative to `root`.
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect(root, &p, out)?;
        } else if p.extension().is_none_or(|x| x != "md") {
            let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            out.push((format!("/{name}"), fs::read(&p)?));
        }
    }
    Ok(())
}

/// One file per seed, named by a hash-free, readable slug; oversized seeds are left out.
fn write(dir: &Path, seeds: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    for (name, bytes) in seeds {
        if bytes.len() > MAX_SEED {
            continue;
        }
        let slug: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let slug = slug.trim_start_matches('_');
        fs::write(dir.join(format!("seed_{slug}")), bytes)?;
    }
    Ok(())
}
