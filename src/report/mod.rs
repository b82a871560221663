//! Rendering: inventory, timeline and analysis results as text for people, JSON/CSV for
//! machines, and Markdown for tickets. Knows nothing of how results were computed.

pub mod analysis;
pub mod inventory;
pub mod timeline;

use crate::diagnose::rules::RuleSet;
use crate::model::FileReport;
use std::io::{self, Write};

/// After a timeline, tell the person on stderr which files were not fully read.
pub fn problems_to_stderr(files: &[FileReport]) {
    let partial: Vec<&FileReport> = files.iter().filter(|f| f.is_partial()).collect();
    if partial.is_empty() {
        return;
    }
    eprintln!(
        "padtriage: {} file(s) skipped or partly read (run `padtriage inventory` for details):",
        partial.len()
    );
    for f in partial.iter().take(20) {
        let why = analysis::FileProblem::of(f).why();
        eprintln!("  {}: {why}", f.path);
    }
    if partial.len() > 20 {
        eprintln!("  ... and {} more", partial.len() - 20);
    }
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
