//! `timeline` output: aligned text, JSON lines, or CSV; one event per line.

use crate::cli::TimelineFormat;
use crate::model::{Event, Loc};
use crate::timeline::{kind_of, summary, Timeline};
use serde_json::json;
use std::io::{self, Write};

fn loc(ev: &Event) -> String {
    match ev.source.loc {
        Loc::Record(r) => format!("record {r}"),
        Loc::Line(l) => format!("line {l}"),
        Loc::Row(r) => format!("row {r}"),
    }
}

/// A CSV writer's error as the I/O error underneath, so a closed pipe stays a closed pipe
/// (and ends the run quietly) instead of becoming a generic error.
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        kind => io::Error::other(format!("CSV output failed: {kind:?}")),
    }
}

pub fn render(tl: &Timeline, format: TimelineFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        TimelineFormat::Text => {
            for ev in &tl.events {
                writeln!(
                    out,
                    "{}  {:<16} {}  [{} {}]",
                    ev.time.format("%Y-%m-%d %H:%M:%S%.3fZ"),
                    kind_of(ev),
                    summary(ev),
                    ev.source.file,
                    loc(ev)
                )?;
            }
            for s in &tl.snapshots {
                let when = s
                    .taken_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
                    .unwrap_or_else(|| "time unknown".into());
                writeln!(
                    out,
                    "snapshot  dsregcmd ({when}): join state {:?}, AzureAdPrt {}  [{}]",
                    s.join_state,
                    s.azure_ad_prt.map_or("-", |p| if p { "YES" } else { "NO" }),
                    s.source.file
                )?;
            }
        }
        TimelineFormat::Jsonl => {
            let mut buf = Vec::with_capacity(512);
            for ev in &tl.events {
                buf.clear();
                let line = json!({
                    "time": ev.time,
                    "file": &*ev.source.file,
                    "loc": ev.source.loc,
                    "kind": kind_of(ev),
                    "summary": summary(ev),
                    "data": ev.data,
                });
                serde_json::to_writer(&mut buf, &line)?;
                buf.push(b'\n');
                out.write_all(&buf)?;
            }
        }
        TimelineFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["time", "kind", "file", "location", "summary"])
                .map_err(csv_io)?;
            for ev in &tl.events {
                w.write_record([
                    ev.time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                    kind_of(ev),
                    ev.source.file.to_string(),
                    loc(ev),
                    summary(ev),
                ])
                .map_err(csv_io)?;
            }
            w.flush()?;
        }
    }
    Ok(())
}
