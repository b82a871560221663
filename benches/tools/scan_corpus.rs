//! Builds the corpus `benches/scan.sh` times: sample-sized bundles (the scenarios of
//! `samples/`, written again and again) and customer-upload-sized zips (a 20 MB Security log
//! among AAD and device-registration logs, `dsregcmd` and PAD logs).
//!
//! ```text
//! cargo run --release --example scan-corpus -- OUT [--small N] [--large M] [--noise K]
//! ```
//!
//! OUT/small/ gets N bundle folders (`00001-01-credentials-mismatch`, ...), the committed
//! samples in turn; OUT/large/ gets M copies of one zip (`upload-0001.zip`, ...) of scenario 01
//! at scale, whose Security log holds K background streams (4.8 MB each; default 4: 20 MB).
//! Nothing here is committed; the bytes are the same on every run.

use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    if let Err(e) = run() {
        eprintln!("scan-corpus: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let usage = "usage: scan-corpus OUT [--small N] [--large M] [--noise K]";
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let (mut small, mut large, mut noise) = (1000usize, 8usize, 4u64);
    while let Some(a) = args.next() {
        let n: u64 = args
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or(format!("{a} takes a number; {usage}"))?;
        match a.as_str() {
            "--small" => small = n as usize,
            "--large" => large = n as usize,
            "--noise" => noise = n,
            _ => return Err(usage.into()),
        }
    }
    let start = Instant::now();
    write_small(&out.join("small"), small)?;
    let zip_size = write_large(&out.join("large"), large, noise)?;
    println!(
        "wrote {small} sample-sized bundles and {large} zips of {:.1} MB to {} in {:.1?}",
        zip_size as f64 / 1e6,
        out.display(),
        start.elapsed()
    );
    Ok(())
}

fn write_small(dir: &Path, n: usize) -> Result<(), String> {
    let all: Vec<_> = padtriage_testkit::scenarios::scenarios()
        .into_iter()
        .filter(|s| !s.large)
        .collect();
    for i in 0..n {
        let s = &all[i % all.len()];
        let to = dir.join(format!("{:05}-{}", i + 1, s.name));
        padtriage_testkit::scenarios::write_scenario(s, &to)
            .map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(())
}

/// The zips; returns the size of one.
fn write_large(dir: &Path, n: usize, noise: u64) -> Result<u64, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if n == 0 {
        return Ok(0);
    }
    let files = padtriage_testkit::scenarios::noisy_credentials_mismatch(noise);
    let entries: Vec<_> = files
        .into_iter()
        .map(|f| (f.path, f.bytes, f.mtime))
        .collect();
    let security = entries
        .iter()
        .find(|(p, _, _)| p == "Security.evtx")
        .map_or(0, |(_, b, _)| b.len());
    eprintln!(
        "scan-corpus: Security.evtx of the upload zips: {:.1} MB",
        security as f64 / 1e6
    );
    let zip = padtriage_testkit::dated_zip(&entries);
    for i in 0..n {
        let to = dir.join(format!("upload-{:04}.zip", i + 1));
        std::fs::write(&to, &zip).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(zip.len() as u64)
}
