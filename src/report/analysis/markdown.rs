//! The Markdown report, for pasting into a ticket: the answer lines first, then each run as a
//! heading, its facts, the cause table and the fixes, then one list of what to collect. Text
//! from the evidence is escaped so that it cannot turn into markup (links, HTML, table cells).

use super::{ts, Analysis};
use crate::diagnose::verdict::Verdict;
use std::io::{self, Write};

pub fn markdown(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## padtriage analysis: {}", md_code(&a.bundle))?;
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
        writeln!(out)?;
    }
    for ans in &a.answer {
        writeln!(out, "- **{}**", md_escape(&ans.text))?;
    }
    if !a.answer.is_empty() {
        writeln!(out)?;
    }
    for (i, r) in a.runs.iter().enumerate() {
        writeln!(
            out,
            "### Run {}: {} at {}{}",
            i + 1,
            md_code(&r.error_code),
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
                .map(md_code)
                .unwrap_or_else(|| "unknown".into()),
            md_escape(&r.user_basis),
            r.user_note
                .as_deref()
                .map(|n| format!(": {}", md_escape(n)))
                .unwrap_or_default()
        )?;
        if let Some(m) = &r.machine {
            writeln!(out, "- **Machine:** {}", md_code(m))?;
        }
        if !r.ntstatus.is_empty() {
            writeln!(out, "- **Detail:** {}", md_escape(&r.ntstatus.join("; ")))?;
        }
        for s in &r.sources {
            writeln!(
                out,
                "- **Record:** {}: {}",
                md_code(&s.location()),
                md_escape(&s.text)
            )?;
        }
        writeln!(out, "- **Summary:** {}", md_escape(&r.summary))?;
        for c in &r.conflicts {
            writeln!(out, "- _Conflict:_ {}", md_escape(c))?;
        }
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
                            .map(|c| format!(" ({})", md_code(&c.location())))
                            .unwrap_or_default();
                        format!("{}{at}", md_escape(&f.describe))
                    })
                    .unwrap_or_else(|| "-".into());
                writeln!(
                    out,
                    "| **{}** | {} | {} |",
                    c.verdict.as_str(),
                    md_code(&c.cause),
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
            writeln!(
                out,
                "**Fix for {}** ({}):",
                md_code(&c.cause),
                md_escape(&c.kb)
            )?;
            writeln!(out)?;
            for (i, s) in c.resolution.iter().enumerate() {
                writeln!(out, "{}. {}", i + 1, md_escape(s))?;
            }
        }
        writeln!(out)?;
    }
    if !a.collect.is_empty() {
        writeln!(out, "### Collect next")?;
        writeln!(out)?;
        for (i, k) in a.collect.iter().enumerate() {
            let how = if k.how.is_empty() {
                String::new()
            } else {
                format!(" ({})", md_escape(&k.how.join("; ")))
            };
            writeln!(
                out,
                "{}. {}{how}{}: for {}",
                i + 1,
                md_code(&k.command),
                if k.missing {
                    ", **the bundle has none**"
                } else {
                    ""
                },
                k.causes
                    .iter()
                    .map(|c| md_code(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(out)?;
    }
    if !a.problems.is_empty() {
        writeln!(out, "### Unreadable input")?;
        writeln!(out)?;
        for p in &a.problems {
            writeln!(
                out,
                "- {} ({}): {}",
                md_code(&p.path),
                md_escape(&p.kind),
                md_escape(&p.why())
            )?;
        }
    }
    Ok(())
}

/// Text from the evidence as Markdown text: characters that would start markup are escaped,
/// and a line break (which would end a list item or table row) becomes a space.
pub(crate) fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A code span for any text: fenced by more backticks than it holds in a row, and padded when
/// it starts or ends with one. Table pipes inside are escaped (GitHub's tables split on them).
pub(crate) fn md_code(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ").replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_text_cannot_become_markup() {
        assert_eq!(
            md_escape("<script>x</script> [a](javascript:b) | c\nd"),
            "\\<script\\>x\\</script\\> \\[a\\](javascript:b) \\| c d"
        );
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_code("CONTOSO\\jdoe"), "`CONTOSO\\jdoe`");
    }
}
