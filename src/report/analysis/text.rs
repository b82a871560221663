//! The text report: the answer lines first, then each run (its records, the cause table, the
//! confirmed and likely causes with their evidence and fix), then one list of what to collect.
//! `verbose` adds every finding, citation, context and note, ruled-out causes included. On a
//! terminal (`width`), record summaries are cut and prose is wrapped to the width; in a file or
//! pipe every line is whole.

use super::{ts, Analysis, CollectNext};
use crate::diagnose::facts::Cite;
use crate::diagnose::rules::Strength;
use crate::diagnose::verdict::{CauseResult, Verdict};
use crate::diagnose::RunDiagnosis;
use std::io::{self, Write};

/// How the text report is laid out.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colours.
    pub color: bool,
    /// Every finding, citation, note and context, for every cause.
    pub verbose: bool,
    /// The terminal's width, when the report goes to one: long lines are cut (records) or
    /// wrapped (prose). `None` writes every line whole.
    pub width: Option<usize>,
}

/// Citations shown per finding without `verbose`.
const SHOWN_CITES: usize = 2;

struct Out<'a> {
    o: TextOptions,
    w: &'a mut dyn Write,
}

impl Out<'_> {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.o.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
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

    fn blank(&mut self) -> io::Result<()> {
        writeln!(self.w)
    }

    /// A line cut to the width (records, notes: `--verbose` has them whole).
    fn cut(&mut self, line: &str) -> io::Result<()> {
        match self.o.width {
            Some(w) if !self.o.verbose => {
                writeln!(self.w, "{}", console::truncate_str(line, w, "..."))
            }
            Some(_) => self.wrap(line, hanging(line)),
            None => writeln!(self.w, "{line}"),
        }
    }

    /// A line wrapped to the width, continuation lines indented by `indent` columns.
    fn wrap(&mut self, line: &str, indent: usize) -> io::Result<()> {
        match self.o.width {
            Some(w) => {
                for l in wrap(line, w, indent) {
                    writeln!(self.w, "{l}")?;
                }
                Ok(())
            }
            None => writeln!(self.w, "{line}"),
        }
    }
}

/// Where a line's text starts after its label (`  note: `), for continuation lines.
fn hanging(line: &str) -> usize {
    let lead = line.len() - line.trim_start().len();
    match line[lead..].find(": ") {
        Some(i) if i < 24 => lead + i + 2,
        _ => lead + 4,
    }
}

/// Break `line` at spaces so that no piece is wider than `width` (a word longer than that
/// stands alone); pieces after the first are indented by `indent` spaces.
pub(crate) fn wrap(line: &str, width: usize, indent: usize) -> Vec<String> {
    let width = width.max(indent + 10);
    let lead = line.len() - line.trim_start_matches(' ').len();
    let mut out = Vec::new();
    let mut cur = line[..lead].to_string();
    let mut cur_w = lead;
    // Words on the current piece: a piece always takes at least one.
    let mut words = 0;
    for word in line[lead..].split(' ') {
        let ww = console::measure_text_width(word);
        if words > 0 && cur_w + 1 + ww > width {
            out.push(std::mem::replace(&mut cur, " ".repeat(indent)));
            cur.push_str(word);
            cur_w = indent + ww;
            words = 1;
            continue;
        }
        if words > 0 {
            cur.push(' ');
            cur_w += 1;
        }
        cur.push_str(word);
        cur_w += ww;
        words += 1;
    }
    out.push(cur);
    out
}

pub fn text(a: &Analysis, o: TextOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Out { o, w: out };
    writeln!(
        t.w,
        "{}",
        t.bold(&format!("padtriage analysis of {}", a.bundle))
    )?;
    if a.input_incomplete() {
        t.wrap(
            &format!(
                "{}. Verdicts rest only on what could be read; the unreadable input is listed at \
                 the end.",
                a.input_line()
            ),
            0,
        )?;
    }
    if a.runs.is_empty() {
        t.blank()?;
        writeln!(
            t.w,
            "No failed desktop-flow run found in the bundle (no PAD log error, flow-session or portal error record)."
        )?;
        writeln!(
            t.w,
            "If you know when the run failed, pass it: padtriage analyze BUNDLE --at 2025-06-02T13:17:05Z [--user user@contoso.com]"
        )?;
    }
    for ans in &a.answer {
        let line = t.bold(&ans.text);
        t.wrap(&line, 4)?;
    }
    for (i, r) in a.runs.iter().enumerate() {
        t.blank()?;
        run(&mut t, i, a.runs.len(), r)?;
    }
    if !a.collect.is_empty() {
        t.blank()?;
        collect(&mut t, &a.collect, a.runs.len())?;
    }
    t.blank()?;
    writeln!(t.w, "{}", t.bold(&a.input_line()))?;
    for p in &a.problems {
        t.cut(&format!("  {} ({}): {}", p.path, p.kind, p.why()))?;
    }
    Ok(())
}

fn run(t: &mut Out, i: usize, n: usize, r: &RunDiagnosis) -> io::Result<()> {
    // The window's ends without their date when it is the run's.
    let day = |x: crate::model::Time| {
        if x.date_naive() == r.time.date_naive() {
            x.format("%H:%M:%SZ").to_string()
        } else {
            ts(x)
        }
    };
    let title = format!(
        "Run {} of {n}: {} at {}{}, evidence from {} to {}",
        i + 1,
        r.error_code,
        ts(r.time),
        if r.time_is_estimate {
            " (estimated time)"
        } else {
            ""
        },
        day(r.window.from),
        day(r.window.to)
    );
    writeln!(t.w, "{}", t.bold(&title))?;
    if let Some(m) = &r.error_meaning {
        t.wrap(&format!("  error:    {m}"), 12)?;
    }
    if !r.ntstatus.is_empty() {
        t.wrap(&format!("  detail:   {}", r.ntstatus.join("; ")), 12)?;
    }
    let mut user = format!(
        "  user:     {} ({}",
        r.user.as_deref().unwrap_or("unknown"),
        r.user_basis
    );
    match &r.user_note {
        Some(n) => user.push_str(&format!("; {n})")),
        None => user.push(')'),
    }
    if !r.user_aliases.is_empty() {
        user.push_str(&format!(", also {}", r.user_aliases.join(", ")));
    }
    t.wrap(&user, 12)?;
    if let Some(m) = &r.machine {
        writeln!(t.w, "  machine:  {m}")?;
    }
    if t.o.verbose {
        for s in &r.sources {
            t.cut(&format!("  record:   {}: {}", s.location(), s.text))?;
        }
    } else if !r.sources.is_empty() {
        t.wrap(&format!("  records:  {}", locations(&r.sources)), 12)?;
    }
    // The answer names the primary cause; the summary is worth its line when it says more.
    let more = r.primary_cause.is_none()
        || r.causes
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Confirmed | Verdict::Likely))
            .count()
            > 1;
    if more || t.o.verbose {
        let summary = t.bold(&r.summary);
        t.wrap(&format!("  {summary}"), 4)?;
    }
    for c in &r.conflicts {
        t.cut(&format!("  conflict: {c}"))?;
    }
    for n in &r.notes {
        t.cut(&format!("  note: {n}"))?;
    }
    if !r.causes.is_empty() {
        t.blank()?;
        writeln!(t.w, "  {:<9}  {:<20}  evidence", "verdict", "cause")?;
        for c in &r.causes {
            let first = c.evidence.first().map(|f| f.describe.as_str()).unwrap_or(
                if c.verdict == Verdict::Unknown {
                    "no evidence either way in the bundle"
                } else {
                    "-"
                },
            );
            // Painted after the cut, so the colour codes do not count as width.
            let plain = format!("  {:<9}  {:<20}  {first}", c.verdict.as_str(), c.cause);
            let cut = match t.o.width {
                Some(w) if !t.o.verbose => console::truncate_str(&plain, w, "...").into_owned(),
                _ => plain,
            };
            let rest = cut.get(11..).unwrap_or_default();
            writeln!(t.w, "  {}{rest}", t.verdict(c.verdict))?;
        }
    }
    // Without --verbose, the causes to act on; the table has the others (and the JSON all).
    let verbose = t.o.verbose;
    for c in r
        .causes
        .iter()
        .filter(|c| verbose || matches!(c.verdict, Verdict::Confirmed | Verdict::Likely))
    {
        cause(t, c)?;
    }
    Ok(())
}

/// `PAD/UIFlowService.log lines 31, 32; error.json line 10`.
fn locations(cites: &[Cite]) -> String {
    let mut files: Vec<(&str, &str, Vec<u64>)> = Vec::new();
    for c in cites {
        let (unit, n) = match (c.record, c.line, c.row) {
            (Some(n), _, _) => ("record", n),
            (_, Some(n), _) => ("line", n),
            (_, _, Some(n)) => ("row", n),
            _ => ("", 0),
        };
        match files
            .iter_mut()
            .find(|(f, u, _)| *f == c.file && *u == unit)
        {
            Some((_, _, ns)) => ns.push(n),
            None => files.push((&c.file, unit, vec![n])),
        }
    }
    files
        .iter()
        .map(|(f, unit, ns)| match (unit, ns.as_slice()) {
            (&"", _) => f.to_string(),
            (u, [n]) => format!("{f} {u} {n}"),
            (u, ns) => format!(
                "{f} {u}s {}",
                ns.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Confirming findings first, then supporting, then ruling out.
fn rank(s: Strength) -> u8 {
    match s {
        Strength::Confirms => 0,
        Strength::Supports => 1,
        Strength::RulesOut => 2,
    }
}

fn strength_mark(s: Strength) -> &'static str {
    match s {
        Strength::Confirms => "confirms:",
        Strength::Supports => "supports:",
        Strength::RulesOut => "rules out:",
    }
}

fn cite_line(c: &Cite) -> String {
    let when = c.time.map(ts).unwrap_or_else(|| "time unknown".into());
    format!("          {} ({when}): {}", c.location(), c.text)
}

fn cause(t: &mut Out, c: &CauseResult) -> io::Result<()> {
    t.blank()?;
    let head = format!(
        "  [{}] {}: {}",
        t.verdict(c.verdict).trim_end(),
        t.bold(&c.cause),
        c.title
    );
    t.wrap(&head, 6)?;
    let fix = matches!(c.verdict, Verdict::Confirmed | Verdict::Likely);
    if !fix {
        t.wrap(&format!("      source: {}", c.kb), 14)?;
    }
    // Without --verbose, the strongest kind of finding the cause has (what confirms a
    // confirmed cause); the others are counted.
    let top = c
        .evidence
        .iter()
        .map(|f| f.strength)
        .min_by_key(|s| rank(*s));
    let mut hidden = 0;
    for f in &c.evidence {
        if !t.o.verbose && Some(f.strength) != top {
            hidden += 1;
            continue;
        }
        t.wrap(
            &format!("      {} {}", strength_mark(f.strength), f.describe),
            8,
        )?;
        let shown = if t.o.verbose {
            f.cites.len()
        } else {
            SHOWN_CITES
        };
        for cite in f.cites.iter().take(shown) {
            t.cut(&cite_line(cite))?;
        }
        if f.cites.len() > shown {
            writeln!(
                t.w,
                "          ... and {} more records (--verbose lists them)",
                f.cites.len() - shown
            )?;
        }
        if t.o.verbose {
            for n in &f.notes {
                t.cut(&format!("          note: {n}"))?;
            }
        }
    }
    if hidden > 0 {
        writeln!(
            t.w,
            "      and {hidden} more finding{} (--verbose lists them)",
            if hidden > 1 { "s" } else { "" }
        )?;
    }
    if t.o.verbose {
        for x in &c.context {
            t.wrap(
                &format!("      context (not counted): {}: {}", x.describe, x.why),
                8,
            )?;
            for cite in &x.cites {
                t.cut(&cite_line(cite))?;
            }
        }
    } else if !c.context.is_empty() {
        writeln!(
            t.w,
            "      context: {} more findings out of the run's scope (--verbose lists them)",
            c.context.len()
        )?;
    }
    for n in &c.notes {
        t.cut(&format!("      note: {n}"))?;
    }
    if fix {
        t.wrap(&format!("      fix ({}):", c.kb), 8)?;
        for (i, s) in c.resolution.iter().enumerate() {
            t.wrap(&format!("        {}. {s}", i + 1), 11)?;
        }
    }
    if t.o.verbose && !c.collect.is_empty() {
        writeln!(t.w, "      collect:")?;
        for k in &c.collect {
            t.wrap(&format!("        - {}", k.command), 10)?;
            t.wrap(&format!("          {}", k.why), 10)?;
        }
    }
    Ok(())
}

fn collect(t: &mut Out, items: &[CollectNext], runs: usize) -> io::Result<()> {
    writeln!(
        t.w,
        "{}",
        t.bold("Collect next (what would decide the unknown causes):")
    )?;
    for (i, k) in items.iter().enumerate() {
        let mut head = format!("  {}. {}", i + 1, k.command);
        if k.missing {
            head.push_str("   [the bundle has none]");
        }
        t.wrap(&head, 5)?;
        if !k.how.is_empty() {
            t.wrap(&format!("     {}", k.how.join("; ")), 5)?;
        }
        let runs = if runs > 1 {
            format!(
                " (run{} {})",
                if k.runs.len() > 1 { "s" } else { "" },
                k.runs
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        t.wrap(&format!("     for {}{runs}", k.causes.join(", ")), 9)?;
        if t.o.verbose {
            for w in &k.why {
                t.wrap(&format!("       {}: {}", w.cause, w.text), 9)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_spaces_with_a_hanging_indent() {
        let lines = wrap("  note: one two three four five six seven", 24, 8);
        assert_eq!(
            lines,
            [
                "  note: one two three",
                "        four five six",
                "        seven"
            ]
        );
        assert!(lines.iter().all(|l| l.len() <= 24));
        assert_eq!(wrap("short", 80, 4), ["short"]);
        // A word longer than the width stands alone rather than being split.
        let long = "x".repeat(50);
        assert_eq!(
            wrap(&format!("a {long}"), 30, 2),
            ["a".to_string(), format!("  {long}")]
        );
    }
}
