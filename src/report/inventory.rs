//! `inventory` output: one row per file (text) or the documented JSON shape.

use crate::model::{FileKind, FileReport, Time};
use serde_json::json;
use std::io::{self, Write};

fn time(t: Option<Time>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Widest file column; a longer path (zips in zips) gets a line of its own above its row, so
/// the columns stay in line.
const MAX_PATH_COLUMN: usize = 70;

pub fn text(root: &str, files: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Bundle: {root}")?;
    writeln!(out)?;
    let w = files
        .iter()
        .map(|f| f.path.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, MAX_PATH_COLUMN);
    writeln!(
        out,
        "{:<w$}  {:<13}  {:>9}  {:>6}  {:<19}  {:<19}  channel",
        "file", "kind", "records", "errors", "first (UTC)", "last (UTC)"
    )?;
    for f in files {
        let path = if f.path.chars().count() > w {
            writeln!(out, "{}", f.path)?;
            ""
        } else {
            f.path.as_str()
        };
        writeln!(
            out,
            "{:<w$}  {:<13}  {:>9}  {:>6}  {:<19}  {:<19}  {}",
            path,
            f.kind.as_str(),
            f.records,
            f.errors,
            time(f.first),
            time(f.last),
            if f.channels.is_empty() {
                "-".to_string()
            } else {
                f.channels.join(", ")
            }
        )?;
        if f.dumps > 1 {
            writeln!(
                out,
                "{:w$}  {} dsregcmd dumps, each read as a snapshot of its own",
                "", f.dumps
            )?;
        }
        if let Some(why) = &f.skipped {
            // Worded as the totals count it: a file that is not evidence loses nothing.
            if f.kind == FileKind::Other {
                // The detector's reason starts by saying what "not evidence" says.
                let why = why
                    .strip_prefix("not a recognised evidence kind: ")
                    .unwrap_or(why);
                writeln!(out, "{:w$}  not evidence: {why}", "")?;
            } else {
                writeln!(out, "{:w$}  skipped: {why}", "")?;
            }
        }
        for p in &f.problems {
            match &p.at {
                Some(at) => writeln!(out, "{:w$}  problem ({}, {at}): {}", "", p.kind, p.message)?,
                None => writeln!(out, "{:w$}  problem ({}): {}", "", p.kind, p.message)?,
            }
        }
    }
    let read = files.iter().filter(|f| f.skipped.is_none()).count();
    // Files that are not evidence (a README) are listed, but are not input that was lost.
    let other = files.iter().filter(|f| f.kind == FileKind::Other).count();
    let skipped = files.len() - read - other;
    let partial = files
        .iter()
        .filter(|f| f.skipped.is_none() && f.is_partial())
        .count();
    let records: u64 = files.iter().map(|f| f.records).sum();
    let errors: u64 = files.iter().map(|f| f.errors).sum();
    writeln!(out)?;
    writeln!(
        out,
        "{read} files read ({partial} partly), {skipped} skipped, {other} not evidence; {records} \
         records, {errors} unreadable"
    )?;
    Ok(())
}

pub fn json(root: &str, files: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let files: Vec<_> = files
        .iter()
        .map(|f| {
            let mut v = json!({
                "path": f.path,
                "kind": f.kind.as_str(),
                "size": f.size,
                "channel": f.channels.first(),
                "channels": f.channels,
                "records": f.records,
                "errors": f.errors,
                "ignored": f.ignored,
                "kept": f.kept,
                "first": f.first,
                "last": f.last,
                "skipped": f.skipped,
                "problems": f.problems,
            });
            // How many runs of dsregcmd a dump file holds.
            if f.kind == FileKind::Dsregcmd {
                v["dumps"] = json!(f.dumps);
            }
            v
        })
        .collect();
    let doc = json!({ "bundle": root, "files": files });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
