//! Rendering: inventory, timeline and analysis results as text for people, JSON/CSV for
//! machines, Markdown for tickets and HTML to hand on. Knows nothing of how results were
//! computed.

pub mod analysis;
pub mod html;
pub mod inventory;
pub mod redact;
pub mod timeline;

use crate::diagnose::rules::RuleSet;
use crate::model::FileReport;
use std::io::{self, Write};

/// After a timeline, tell the person on stderr which files were not fully read. A closed
/// stderr (`2>&1 | head`) is ignored: the notice is not worth a failure.
pub fn problems_to_stderr(files: &[FileReport]) {
    let _ = write_problems(files, &mut io::stderr().lock());
}

fn write_problems(files: &[FileReport], err: &mut dyn Write) -> io::Result<()> {
    let partial: Vec<&FileReport> = files.iter().filter(|f| f.is_partial()).collect();
    if partial.is_empty() {
        return Ok(());
    }
    writeln!(
        err,
        "padtriage: {} file(s) skipped or partly read (run `padtriage inventory` for details):",
        partial.len()
    )?;
    for f in partial.iter().take(20) {
        let why = analysis::FileProblem::of(f).why();
        writeln!(err, "  {}: {why}", f.path)?;
    }
    if partial.len() > 20 {
        writeln!(err, "  ... and {} more", partial.len() - 20)?;
    }
    Ok(())
}

/// `rules list --format json`: `{"rules": [{"id", "title", "kb", "priority", "origin",
/// "evidence_count"}]}`, in the order of the text listing. Fields are only ever added.
pub fn rules_list_json(set: &RuleSet, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<serde_json::Value> = set
        .rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "title": r.title,
                "kb": r.kb,
                "priority": r.priority,
                "origin": r.origin,
                "evidence_count": r.evidence.len(),
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "rules": rules }))?;
    writeln!(out)
}

pub fn rules_list(set: &RuleSet, out: &mut dyn Write) -> io::Result<()> {
    for r in &set.rules {
        writeln!(
            out,
            "{:<22} {:<10} {} ({} evidence items) [{}]",
            r.id,
            format!("prio {}", r.priority),
            r.title,
            r.evidence.len(),
            r.origin
        )?;
    }
    Ok(())
}
