//! `timeline` output: aligned text, JSON lines, or CSV; one event per line. Lines are rendered
//! one event at a time ([`line_renderer`]), so the timeline can be written while it is read.

use crate::cli::TimelineFormat;
use crate::model::{Event, EventData, Loc};
use crate::timeline::{write_kind, write_summary, Timeline};
use chrono::SecondsFormat;
use serde::Serialize;
use std::cell::RefCell;
use std::io::{self, Write};

fn loc(ev: &Event) -> String {
    match ev.source.loc {
        Loc::Record(r) => format!("record {r}"),
        Loc::Line(l) => format!("line {l}"),
        Loc::Row(r) => format!("row {r}"),
    }
}

/// One JSON line; field order is the output's.
#[derive(Serialize)]
struct JsonLine<'a> {
    time: &'a str,
    file: &'a str,
    loc: Loc,
    kind: &'a str,
    summary: &'a str,
    data: &'a EventData,
}

/// Per-thread buffers for a line's kind and summary, reused from line to line.
#[derive(Default)]
struct Scratch {
    kind: String,
    summary: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Append one event's line (with its newline) in `format` to `out`.
pub fn line(format: TimelineFormat, ev: &Event, out: &mut Vec<u8>) {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => line_with(format, ev, &mut scratch, out),
        Err(_) => line_with(format, ev, &mut Scratch::default(), out),
    })
}

fn line_with(format: TimelineFormat, ev: &Event, scratch: &mut Scratch, out: &mut Vec<u8>) {
    let Scratch { kind, summary } = scratch;
    kind.clear();
    write_kind(ev, kind);
    summary.clear();
    write_summary(ev, summary);
    match format {
        TimelineFormat::Text => {
            // Writing to a Vec cannot fail.
            let _ = writeln!(
                out,
                "{}  {:<16} {}  [{} {}]",
                ev.time.format("%Y-%m-%d %H:%M:%S%.3fZ"),
                kind,
                summary,
                ev.source.file,
                loc(ev)
            );
        }
        TimelineFormat::Jsonl => {
            // As chrono serialises a UTC time, without its per-character escaping.
            let time = ev.time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            let line = JsonLine {
                time: &time,
                file: &ev.source.file,
                loc: ev.source.loc,
                kind,
                summary,
                data: &ev.data,
            };
            if serde_json::to_writer(&mut *out, &line).is_ok() {
                out.push(b'\n');
            }
        }
        TimelineFormat::Csv => {
            let mut w = csv::WriterBuilder::new()
                .buffer_capacity(1024)
                .from_writer(&mut *out);
            let _ = w.write_record([
                ev.time
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string()
                    .as_str(),
                kind,
                &ev.source.file,
                &loc(ev),
                summary,
            ]);
            let _ = w.flush();
        }
    }
}

/// What comes before the events (the CSV header).
pub fn header(format: TimelineFormat, out: &mut dyn Write) -> io::Result<()> {
    if format == TimelineFormat::Csv {
        out.write_all(b"time,kind,file,location,summary\n")?;
    }
    Ok(())
}

/// What comes after the events (text lists the dsregcmd snapshots).
pub fn footer(tl: &Timeline, format: TimelineFormat, out: &mut dyn Write) -> io::Result<()> {
    if format != TimelineFormat::Text {
        return Ok(());
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
    Ok(())
}

/// Render a timeline held in memory.
pub fn render(tl: &Timeline, format: TimelineFormat, out: &mut dyn Write) -> io::Result<()> {
    header(format, out)?;
    let mut buf = Vec::with_capacity(1024);
    for ev in &tl.events {
        buf.clear();
        line(format, ev, &mut buf);
        out.write_all(&buf)?;
    }
    footer(tl, format, out)
}
