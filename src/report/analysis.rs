//! `analyze` output: a summary and a cause table per run for people (text, coloured on a
//! terminal), the versioned JSON document for machines (`schema/analysis.schema.json`), and
//! Markdown to paste into a ticket.

use crate::diagnose::verdict::{CauseResult, Verdict};
use crate::diagnose::{RunDiagnosis, SCHEMA_VERSION};
use crate::model::{FileKind, FileReport, Problem};
use serde::Serialize;
use std::io::{self, Write};

/// The whole analysis, as rendered.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub schema_version: &'static str,
    pub tool: String,
    pub bundle: String,
    pub runs: Vec<RunDiagnosis>,
    /// How much of the bundle was read, next to the verdicts.
    pub input: InputSummary,
    /// Every file skipped or partly read, with why.
    pub problems: Vec<FileProblem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    pub files_read: usize,
    pub files_partial: usize,
    pub files_skipped: usize,
    /// Files that are not evidence (a README, a screenshot): listed, not read.
    pub files_other: usize,
    pub records_read: u64,
    pub records_unreadable: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileProblem {
    pub path: String,
    pub kind: &'static str,
    pub skipped: Option<String>,
    pub unreadable_records: u64,
    pub problems: Vec<Problem>,
}

impl FileProblem {
    pub fn of(f: &FileReport) -> Self {
        FileProblem {
            path: f.path.clone(),
            kind: f.kind.as_str(),
            skipped: f.skipped.clone(),
            unreadable_records: f.errors,
            problems: f.problems.clone(),
        }
    }

    /// Why the file was skipped, else its first problem (and how many more), else its count of
    /// unreadable records.
    pub fn why(&self) -> String {
        if let Some(s) = &self.skipped {
            return s.clone();
        }
        let mut why = match self.problems.first() {
            Some(p) => p.message.clone(),
            None => format!("{} unreadable records", self.unreadable_records),
        };
        if self.problems.len() > 1 {
            why.push_str(&format!(" (and {} more problems)", self.problems.len() - 1));
        }
        if self.unreadable_records > 0 && !self.problems.is_empty() {
            why.push_str(&format!("; {} unreadable records", self.unreadable_records));
        }
        why
    }
}

impl Analysis {
    pub fn new(bundle: String, runs: Vec<RunDiagnosis>, files: &[FileReport]) -> Self {
        let other = files.iter().filter(|f| f.kind == FileKind::Other).count();
        let skipped = files.iter().filter(|f| f.skipped.is_some()).count() - other;
        let partial = files
            .iter()
            .filter(|f| f.skipped.is_none() && f.is_partial())
            .count();
        Analysis {
            schema_version: SCHEMA_VERSION,
            tool: format!("padtriage {}", env!("CARGO_PKG_VERSION")),
            bundle,
            runs,
            input: InputSummary {
                files_read: files.len() - skipped - other,
                files_partial: partial,
                files_skipped: skipped,
                files_other: other,
                records_read: files.iter().map(|f| f.records).sum(),
                records_unreadable: files.iter().map(|f| f.errors).sum(),
            },
            problems: files
                .iter()
                .filter(|f| f.is_partial())
                .map(FileProblem::of)
                .collect(),
        }
    }

    /// True when some input was skipped or only partly read.
    pub fn input_incomplete(&self) -> bool {
        self.input.files_partial + self.input.files_skipped > 0 || self.input.records_unreadable > 0
    }

    /// One line saying how much of the bundle was read, for next to the verdicts.
    pub fn input_line(&self) -> String {
        let i = &self.input;
        format!(
            "Input: {} files read ({} only partly), {} skipped, {} not evidence; {} records read, \
             {} unreadable",
            i.files_read,
            i.files_partial,
            i.files_skipped,
            i.files_other,
            i.records_read,
            i.records_unreadable
        )
    }

    pub fn has_verdict_at_least(&self, v: Verdict) -> bool {
        self.runs
            .iter()
            .any(|r| r.causes.iter().any(|c| c.verdict >= v))
    }
}

pub fn json(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, a)?;
    writeln!(out)
}

/// ANSI styling, off unless asked for.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn verdict(&self, v: Verdict) -> String {
        let code = match v {
            Verdict::Confirmed => "1;31",
            Verdict::Likely => "33",
            Verdict::RuledOut => "32",
            Verdict::Unknown => "2",
        };
        self.paint(code, &format!("{:<9}", v.as_str()))
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

fn ts(t: crate::model::Time) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

pub fn text(a: &Analysis, style: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        style.bold(&format!("padtriage analysis of {}", a.bundle))
    )?;
    if a.input_incomplete() {
        writeln!(
            out,
            "{}. Verdicts rest only on what could be read; the unreadable input is listed at the end.",
            a.input_line()
        )?;
    }
    if a.runs.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "No failed desktop-flow run found in the bundle (no PAD log error, flow-session or portal error record)."
        )?;
        writeln!(
            out,
            "If you know when the run failed, pass it: padtriage analyze BUNDLE --at 2025-06-02T13:17:05Z [--user user@contoso.com]"
        )?;
    }
    for (i, r) in a.runs.iter().enumerate() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            style.bold(&format!(
                "Run {} of {}: {} at {}{}",
                i + 1,
                a.runs.len(),
                r.error_code,
                ts(r.time),
                if r.time_is_estimate {
                    " (estimated time)"
                } else {
                    ""
                }
            ))
        )?;
        if let Some(m) = r.error_meaning {
            writeln!(out, "  error:    {m}")?;
        }
        if !r.ntstatus.is_empty() {
            writeln!(out, "  detail:   {}", r.ntstatus.join("; "))?;
        }
        let user = r.user.as_deref().unwrap_or("unknown");
        write!(out, "  user:     {user} ({})", r.user_basis)?;
        if !r.user_aliases.is_empty() {
            write!(out, ", also known as {}", r.user_aliases.join(", "))?;
        }
        writeln!(out)?;
        if let Some(n) = &r.user_note {
            writeln!(out, "            {n}")?;
        }
        if let Some(m) = &r.machine {
            writeln!(out, "  machine:  {m}")?;
        }
        writeln!(
            out,
            "  window:   {} .. {}",
            ts(r.window.from),
            ts(r.window.to)
        )?;
        for s in &r.sources {
            writeln!(out, "  record:   {}: {}", s.location(), s.text)?;
        }
        writeln!(out)?;
        writeln!(out, "  {}", style.bold(&r.summary))?;
        for n in &r.notes {
            writeln!(out, "  note: {n}")?;
        }
        if !r.causes.is_empty() {
            writeln!(out)?;
            writeln!(out, "  {:<9}  {:<20}  evidence", "verdict", "cause")?;
            for c in &r.causes {
                let first = c.evidence.first().map(|f| f.describe.as_str()).unwrap_or(
                    if c.verdict == Verdict::Unknown {
                        "no evidence either way in the bundle"
                    } else {
                        "-"
                    },
                );
                writeln!(
                    out,
                    "  {}  {:<20}  {}",
                    style.verdict(c.verdict),
                    c.cause,
                    first
                )?;
            }
        }
        // Ruled-out causes keep to their table line (the JSON has their full evidence).
        for c in r.causes.iter().filter(|c| c.verdict != Verdict::RuledOut) {
            cause_detail(c, style, out)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", style.bold(&a.input_line()))?;
    for p in &a.problems {
        writeln!(out, "  {} ({}): {}", p.path, p.kind, p.why())?;
    }
    Ok(())
}

fn cause_detail(c: &CauseResult, style: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "  [{}] {}: {}",
        style.verdict(c.verdict).trim_end(),
        style.bold(&c.cause),
        c.title
    )?;
    writeln!(out, "      source: {}", c.kb)?;
    for f in &c.evidence {
        writeln!(out, "      {} {}", strength_mark(f.strength), f.describe)?;
        for cite in &f.cites {
            let when = cite.time.map(ts).unwrap_or_else(|| "time unknown".into());
            writeln!(out, "          {} ({when}): {}", cite.location(), cite.text)?;
        }
        for n in &f.notes {
            writeln!(out, "          note: {n}")?;
        }
    }
    for n in &c.notes {
        writeln!(out, "      note: {n}")?;
    }
    if matches!(c.verdict, Verdict::Confirmed | Verdict::Likely) {
        writeln!(out, "      fix:")?;
        for (i, s) in c.resolution.iter().enumerate() {
            writeln!(out, "        {}. {s}", i + 1)?;
        }
    }
    if !c.collect.is_empty() {
        writeln!(out, "      collect:")?;
        for k in &c.collect {
            writeln!(out, "        - {}", k.command)?;
            writeln!(out, "          {}", k.why)?;
        }
    }
    Ok(())
}

fn strength_mark(s: crate::diagnose::rules::Strength) -> &'static str {
    use crate::diagnose::rules::Strength::*;
    match s {
        Confirms => "confirms:",
        Supports => "supports:",
        RulesOut => "rules out:",
    }
}

/// Markdown for a ticket: the same content as text, as headings, a table and lists.
pub fn markdown(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## padtriage analysis: `{}`", a.bundle)?;
    writeln!(out)?;
    if a.input_incomplete() {
        writeln!(
            out,
            "> **{}.** Verdicts rest only on what could be read; see _Unreadable input_ below.",
            a.input_line()
        )?;
        writeln!(out)?;
    }
    if a.runs.is_empty() {
        writeln!(out, "No failed desktop-flow run found in the bundle.")?;
    }
    for (i, r) in a.runs.iter().enumerate() {
        writeln!(
            out,
            "### Run {}: `{}` at {}{}",
            i + 1,
            r.error_code,
            ts(r.time),
            if r.time_is_estimate {
                " (estimated)"
            } else {
                ""
            }
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "- **User:** {} ({}){}",
            r.user
                .as_deref()
                .map(|u| format!("`{u}`"))
                .unwrap_or_else(|| "unknown".into()),
            r.user_basis,
            r.user_note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        )?;
        if !r.ntstatus.is_empty() {
            writeln!(out, "- **Detail:** {}", r.ntstatus.join("; "))?;
        }
        for s in &r.sources {
            writeln!(
                out,
                "- **Record:** `{}`: {}",
                s.location(),
                md_escape(&s.text)
            )?;
        }
        writeln!(out, "- **Summary:** {}", md_escape(&r.summary))?;
        for n in &r.notes {
            writeln!(out, "- _Note:_ {}", md_escape(n))?;
        }
        if !r.causes.is_empty() {
            writeln!(out)?;
            writeln!(out, "| verdict | cause | evidence |")?;
            writeln!(out, "|---|---|---|")?;
            for c in &r.causes {
                let ev = c
                    .evidence
                    .first()
                    .map(|f| {
                        let at = f
                            .cites
                            .first()
                            .map(|c| format!(" (`{}`)", c.location()))
                            .unwrap_or_default();
                        format!("{}{at}", md_escape(&f.describe))
                    })
                    .unwrap_or_else(|| "-".into());
                writeln!(
                    out,
                    "| **{}** | `{}` | {} |",
                    c.verdict.as_str(),
                    c.cause,
                    ev
                )?;
            }
        }
        for c in r
            .causes
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Confirmed | Verdict::Likely))
        {
            writeln!(out)?;
            writeln!(out, "**Fix for `{}`** ({}):", c.cause, md_escape(&c.kb))?;
            writeln!(out)?;
            for (i, s) in c.resolution.iter().enumerate() {
                writeln!(out, "{}. {}", i + 1, md_escape(s))?;
            }
        }
        let collect: Vec<_> = r
            .causes
            .iter()
            .filter(|c| c.verdict == Verdict::Unknown)
            .flat_map(|c| c.collect.iter())
            .collect();
        if !collect.is_empty() {
            writeln!(out)?;
            writeln!(out, "**To collect:**")?;
            writeln!(out)?;
            let mut seen: Vec<&str> = Vec::new();
            for k in collect {
                if seen.contains(&k.command.as_str()) {
                    continue;
                }
                seen.push(&k.command);
                writeln!(out, "- `{}`: {}", k.command, md_escape(&k.why))?;
            }
        }
        writeln!(out)?;
    }
    if !a.problems.is_empty() {
        writeln!(out, "### Unreadable input")?;
        writeln!(out)?;
        for p in &a.problems {
            writeln!(out, "- `{}` ({}): {}", p.path, p.kind, md_escape(&p.why()))?;
        }
    }
    Ok(())
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}
