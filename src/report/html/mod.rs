//! `analyze --format html`: one self-contained page per analysis, to open from an e-mail
//! attachment with no network (styles inline; no script, font or image from anywhere; a strict
//! Content-Security-Policy), readable when printed. Per run: the answer as a verdict card, the
//! timeline picture (`picture`), the cause table, each cause's evidence with its citations, the
//! fix or what to collect, the context, notes and conflicts; then one collect list and the
//! input problems. Also the fleet page the batch scan links its bundles' pages from.
//!
//! This module builds views of the analysis document; the templates in `templates/` draw them,
//! and every value goes through [`Escape`].

mod picture;

use super::analysis::{ts, Analysis, CollectNext};
use crate::diagnose::rules::Strength;
use crate::diagnose::verdict::Verdict;
use crate::diagnose::RunDiagnosis;
use askama::Template;
use std::fmt;
use std::io::{self, Write};

pub use picture::LANES;

/// askama's HTML escaping, plus characters from the evidence that act on a page instead of
/// showing: text-direction overrides and isolates (a file named `report\u{202E}fdp.exe` reads
/// as `reportexe.pdf`) and control characters, each shown as `[U+202E]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Escape;

/// Whether a character is shown by its code instead of acting on the text around it.
fn defused(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    ) || (c.is_control() && c != '\n' && c != '\t')
}

impl askama::filters::Escaper for Escape {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let html = askama::filters::Html;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if defused(c) {
                html.write_escaped_str(&mut dest, &s[start..i])?;
                write!(dest, "[U+{:04X}]", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        html.write_escaped_str(&mut dest, &s[start..])
    }
}

#[derive(Template)]
#[template(path = "analysis.html")]
struct Page<'a> {
    title: String,
    bundle: &'a str,
    tool: &'a str,
    schema: &'a str,
    input_line: String,
    incomplete: bool,
    answers: Vec<AnswerView>,
    runs: Vec<RunView>,
    collect: Vec<CollectView>,
    problems: Vec<ProblemView>,
}

struct AnswerView {
    run: usize,
    class: &'static str,
    text: String,
}

struct RunView {
    n: usize,
    heading: String,
    answer: AnswerView,
    facts: Vec<(&'static str, String)>,
    summary: String,
    notes: Vec<String>,
    conflicts: Vec<String>,
    picture: picture::Picture,
    causes: Vec<CauseView>,
    records: Vec<RecordView>,
}

struct CauseView {
    anchor: String,
    id: String,
    title: String,
    kb: String,
    verdict: &'static str,
    first: String,
    first_cite: Option<CiteView>,
    findings: Vec<FindingView>,
    context: Vec<ContextView>,
    notes: Vec<String>,
    fix: Vec<String>,
    /// What it would take, as numbers in the page's one collect list, with why.
    collect: Vec<(usize, String)>,
}

struct FindingView {
    strength: &'static str,
    describe: String,
    cites: Vec<CiteView>,
    notes: Vec<String>,
}

struct ContextView {
    describe: String,
    why: String,
    cites: Vec<CiteView>,
}

struct CiteView {
    id: String,
    location: String,
    time: String,
    text: String,
}

struct RecordView {
    id: String,
    time: String,
    lane: String,
    location: String,
    text: String,
    role: &'static str,
    cited_by: String,
}

struct CollectView {
    command: String,
    how: String,
    missing: bool,
    causes: String,
    why: Vec<(String, String)>,
}

struct ProblemView {
    path: String,
    kind: String,
    why: String,
}

fn verdict_class(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Confirmed) => "confirmed",
        Some(Verdict::Likely) => "likely",
        Some(Verdict::RuledOut) => "ruled_out",
        Some(Verdict::Unknown) | None => "unknown",
    }
}

fn strength_word(s: Strength) -> &'static str {
    match s {
        Strength::Confirms => "confirms",
        Strength::Supports => "supports",
        Strength::RulesOut => "rules out",
    }
}

fn strength_role(s: Strength) -> &'static str {
    match s {
        Strength::Confirms => "confirms",
        Strength::Supports => "supports",
        Strength::RulesOut => "rules_out",
    }
}

/// Roles of a record, strongest first: what its point looks like in the picture.
const ROLES: &[&str] = &["failure", "confirms", "supports", "rules_out", "context"];

fn cite_view(c: &crate::diagnose::facts::Cite) -> CiteView {
    CiteView {
        id: c.id.clone().unwrap_or_default(),
        location: c.location(),
        time: c.time.map(ts).unwrap_or_else(|| "time unknown".into()),
        text: c.text.clone(),
    }
}

/// One row per record the run cites, in citation order, with every citation of it.
fn records(r: &RunDiagnosis) -> Vec<(RecordView, Option<crate::model::Time>, String)> {
    let mut out: Vec<(RecordView, Option<crate::model::Time>, String)> = Vec::new();
    let mut add = |c: &crate::diagnose::facts::Cite, role: &'static str, by: String| {
        let id = c.id.clone().unwrap_or_default();
        match out.iter_mut().find(|(v, _, _)| v.id == id) {
            Some((v, _, _)) => {
                let rank = |r: &str| ROLES.iter().position(|x| *x == r).unwrap_or(ROLES.len());
                if rank(role) < rank(v.role) {
                    v.role = role;
                }
                if !v.cited_by.split("; ").any(|b| b == by) {
                    v.cited_by.push_str("; ");
                    v.cited_by.push_str(&by);
                }
            }
            None => {
                let fam = picture::family(&c.kind).to_string();
                out.push((
                    RecordView {
                        id,
                        time: c.time.map(ts).unwrap_or_else(|| "time unknown".into()),
                        lane: picture::lane_label(&fam),
                        location: c.location(),
                        text: c.text.clone(),
                        role,
                        cited_by: by,
                    },
                    c.time,
                    fam,
                ));
            }
        }
    };
    for s in &r.sources {
        add(s, "failure", "the failed run".to_string());
    }
    for c in &r.causes {
        for f in &c.evidence {
            for x in &f.cites {
                add(
                    x,
                    strength_role(f.strength),
                    format!("{} {}", c.cause, strength_word(f.strength)),
                );
            }
        }
        for x in c.context.iter().flat_map(|x| x.cites.iter()) {
            add(x, "context", format!("{} context (not counted)", c.cause));
        }
    }
    out
}

fn run_view(
    n: usize,
    of: usize,
    r: &RunDiagnosis,
    answer: &super::analysis::Answer,
    collect: &[CollectNext],
) -> RunView {
    let recs = records(r);
    let marks: Vec<picture::Mark> = recs
        .iter()
        .map(|(v, t, fam)| picture::Mark {
            id: &v.id,
            family: fam,
            time: *t,
            role: v.role,
            title: format!("{} ({}): {}", v.location, v.time, v.text),
        })
        .collect();
    let picture = picture::draw(r, &marks);
    let mut facts: Vec<(&'static str, String)> = Vec::new();
    if let Some(m) = &r.error_meaning {
        facts.push(("Error", format!("{}: {m}", r.error_code)));
    }
    if !r.ntstatus.is_empty() {
        facts.push(("Detail", r.ntstatus.join("; ")));
    }
    let mut user = format!(
        "{} ({}",
        r.user.as_deref().unwrap_or("unknown"),
        r.user_basis
    );
    if let Some(note) = &r.user_note {
        user.push_str("; ");
        user.push_str(note);
    }
    user.push(')');
    if !r.user_aliases.is_empty() {
        user.push_str(&format!(", also {}", r.user_aliases.join(", ")));
    }
    facts.push(("Account", user));
    facts.push((
        "Machine",
        r.machine.clone().unwrap_or_else(|| "unknown".into()),
    ));
    facts.push((
        "Evidence window",
        format!("{} to {}", ts(r.window.from), ts(r.window.to)),
    ));
    if let Some(c) = &r.correlation_id {
        facts.push(("Correlation id", c.clone()));
    }
    let causes = r
        .causes
        .iter()
        .map(|c| {
            let actionable = matches!(c.verdict, Verdict::Confirmed | Verdict::Likely);
            CauseView {
                anchor: format!("run-{n}-{}", c.cause),
                id: c.cause.clone(),
                title: c.title.clone(),
                kb: c.kb.clone(),
                verdict: verdict_class(Some(c.verdict)),
                first: c.evidence.first().map_or_else(
                    || {
                        if c.verdict == Verdict::Unknown {
                            "no evidence either way in the bundle".to_string()
                        } else {
                            "-".to_string()
                        }
                    },
                    |f| f.describe.clone(),
                ),
                first_cite: c
                    .evidence
                    .first()
                    .and_then(|f| f.cites.first())
                    .map(cite_view),
                findings: c
                    .evidence
                    .iter()
                    .map(|f| FindingView {
                        strength: strength_word(f.strength),
                        describe: f.describe.clone(),
                        cites: f.cites.iter().map(cite_view).collect(),
                        notes: f.notes.clone(),
                    })
                    .collect(),
                context: c
                    .context
                    .iter()
                    .map(|x| ContextView {
                        describe: x.describe.clone(),
                        why: x.why.clone(),
                        cites: x.cites.iter().map(cite_view).collect(),
                    })
                    .collect(),
                notes: c.notes.clone(),
                fix: if actionable {
                    c.resolution.clone()
                } else {
                    Vec::new()
                },
                collect: c
                    .collect
                    .iter()
                    .filter_map(|k| {
                        let at = collect.iter().position(|x| {
                            x.source == k.source && k.command.starts_with(x.command.as_str())
                        })?;
                        Some((at + 1, k.why.clone()))
                    })
                    .collect(),
            }
        })
        .collect();
    RunView {
        n,
        heading: format!(
            "Run {n} of {of}: {} at {}{}",
            r.error_code,
            ts(r.time),
            if r.time_is_estimate {
                " (estimated time)"
            } else {
                ""
            }
        ),
        answer: AnswerView {
            run: n,
            class: verdict_class(answer.verdict),
            text: answer.text.clone(),
        },
        facts,
        summary: r.summary.clone(),
        notes: r.notes.clone(),
        conflicts: r.conflicts.clone(),
        picture,
        causes,
        records: recs.into_iter().map(|(v, _, _)| v).collect(),
    }
}

fn collect_view(k: &CollectNext) -> CollectView {
    CollectView {
        command: k.command.clone(),
        how: k.how.join("; "),
        missing: k.missing,
        causes: k.causes.join(", "),
        why: k
            .why
            .iter()
            .map(|w| (w.cause.clone(), w.text.clone()))
            .collect(),
    }
}

/// The analysis as one self-contained HTML page.
pub fn analysis(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    let n = a.runs.len();
    let page = Page {
        title: format!("padtriage: {}", a.bundle),
        bundle: &a.bundle,
        tool: &a.tool,
        schema: &a.schema_version,
        input_line: a.input_line(),
        incomplete: a.input_incomplete(),
        answers: a
            .answer
            .iter()
            .map(|x| AnswerView {
                run: x.run,
                class: verdict_class(x.verdict),
                text: x.text.clone(),
            })
            .collect(),
        runs: a
            .runs
            .iter()
            .zip(&a.answer)
            .enumerate()
            .map(|(i, (r, ans))| run_view(i + 1, n, r, ans, &a.collect))
            .collect(),
        collect: a.collect.iter().map(collect_view).collect(),
        problems: a
            .problems
            .iter()
            .map(|p| ProblemView {
                path: p.path.clone(),
                kind: p.kind.clone(),
                why: p.why(),
            })
            .collect(),
    };
    write_page(&page, out)
}

fn write_page(t: &impl Template, out: &mut dyn Write) -> io::Result<()> {
    let html = t.render().map_err(io::Error::other)?;
    out.write_all(html.as_bytes())
}

/// One bundle of a batch scan, for [`fleet`].
#[derive(Debug, Clone)]
pub struct FleetEntry {
    /// How the scan names the bundle (its path, pseudonymised under `--redact`).
    pub label: String,
    /// What the scan says of it (`ok`, `partial`, `failed: ...`, ...).
    pub status: String,
    /// Its runs' answer lines.
    pub answers: Vec<FleetAnswer>,
    /// The bundle's own page, relative to the fleet page (`scan-bundles/rpa-vm01.html`); none
    /// when it has none (failed, or skipped as unchanged).
    pub link: Option<String>,
}

/// One run's answer line.
#[derive(Debug, Clone)]
pub struct FleetAnswer {
    pub run: usize,
    pub verdict: Option<Verdict>,
    pub text: String,
}

impl FleetAnswer {
    /// The answer lines of an analysis.
    pub fn of(a: &Analysis) -> Vec<FleetAnswer> {
        a.answer
            .iter()
            .map(|x| FleetAnswer {
                run: x.run,
                verdict: x.verdict,
                text: x.text.clone(),
            })
            .collect()
    }
}

/// The scan's summary at the top of the fleet page: what the text summary says, as tables.
#[derive(Debug, Clone, Default)]
pub struct FleetSummary {
    /// `(what, how many)`: bundles scanned, ok, partial, skipped, failed, runs found.
    pub counts: Vec<(String, u64)>,
    /// Lines about the listing (entries ignored, listing errors).
    pub notes: Vec<String>,
    /// Primary cause, its verdict, runs.
    pub primary: Vec<(String, String, u64)>,
    /// Every cause of every run: cause and runs per verdict, in [`FLEET_VERDICTS`] order.
    pub verdicts: Vec<(String, Vec<u64>)>,
    /// Bundles that need a person, with why.
    pub people: Vec<(String, Vec<String>)>,
}

/// The verdict columns of [`FleetSummary::verdicts`].
pub const FLEET_VERDICTS: [&str; 4] = ["confirmed", "likely", "ruled_out", "unknown"];

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    title: String,
    tool: String,
    bundles: Vec<FleetRow>,
    totals: String,
    summary: FleetSummary,
    verdict_names: [&'static str; 4],
}

struct FleetRow {
    label: String,
    status: String,
    href: Option<String>,
    class: &'static str,
    answers: Vec<AnswerView>,
}

/// A link the fleet page may follow: a relative path, never a scheme (`javascript:`), a host
/// (`//x`) or an absolute path, percent-encoded where a path character would mean something
/// else in a URL.
fn relative_href(link: &str) -> Option<String> {
    let scheme = link
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|first| first.contains(':'));
    if link.is_empty() || scheme || link.starts_with('/') || link.starts_with('\\') {
        return None;
    }
    let mut out = String::with_capacity(link.len());
    for b in link.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            b'\\' => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Some(out)
}

/// The page a batch scan writes beside the bundles' own pages: the scan's summary, then each
/// bundle with its status and its runs' answer lines, linking to its page.
pub fn fleet(
    summary: &FleetSummary,
    entries: &[FleetEntry],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut runs = 0;
    let mut confirmed = 0;
    let bundles = entries
        .iter()
        .map(|e| {
            runs += e.answers.len();
            confirmed += e
                .answers
                .iter()
                .filter(|a| a.verdict == Some(Verdict::Confirmed))
                .count();
            let strongest = e.answers.iter().filter_map(|a| a.verdict).max();
            FleetRow {
                label: e.label.clone(),
                status: e.status.clone(),
                href: e.link.as_deref().and_then(relative_href),
                class: verdict_class(strongest),
                answers: e
                    .answers
                    .iter()
                    .map(|a| AnswerView {
                        run: a.run,
                        class: verdict_class(a.verdict),
                        text: a.text.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    let page = FleetPage {
        title: "padtriage: batch scan".to_string(),
        tool: format!("padtriage {}", env!("CARGO_PKG_VERSION")),
        bundles,
        totals: format!(
            "{} bundles, {runs} failed runs, {confirmed} with a confirmed cause",
            entries.len()
        ),
        summary: summary.clone(),
        verdict_names: FLEET_VERDICTS,
    };
    write_page(&page, out)
}

#[cfg(test)]
mod tests;
