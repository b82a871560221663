//! The analysis document every `analyze` report is a view of, and its JSON form
//! (`schema/analysis.schema.json`). It owns what the reports say first: one answer line per run
//! ([`Answer`]), one de-duplicated list of what to collect next ([`CollectNext`]), and the ids
//! that tie every citation of one record together (`Cite::id`). Text (`text`), Markdown
//! (`markdown`) and HTML (`report::html`) render it; redaction (`report::redact`) rewrites it.

mod markdown;
mod text;

pub use markdown::markdown;
pub use text::{text, TextOptions};

use crate::diagnose::facts::Cite;
use crate::diagnose::verdict::{CauseResult, Verdict};
use crate::diagnose::{RunDiagnosis, SCHEMA_VERSION};
use crate::model::{FileKind, FileReport, Problem, Time};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// The whole analysis, as rendered. Field order is the JSON's: the answer first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analysis {
    pub schema_version: String,
    pub tool: String,
    pub bundle: String,
    /// One line per run, in run order: what happened and what to do (schema 1.2).
    pub answer: Vec<Answer>,
    /// What to collect next, once for the whole report, each with the causes it would decide
    /// (schema 1.2).
    pub collect: Vec<CollectNext>,
    pub runs: Vec<RunDiagnosis>,
    /// How much of the bundle was read, next to the verdicts.
    pub input: InputSummary,
    /// Every file skipped or partly read, with why.
    pub problems: Vec<FileProblem>,
}

/// A run's answer: time, error, account, machine, the primary cause and verdict, the next action.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    /// The run's number in the report, from 1.
    pub run: usize,
    pub time: Time,
    pub time_is_estimate: bool,
    pub error_code: String,
    pub user: Option<String>,
    pub machine: Option<String>,
    /// The primary cause (confirmed or likely), when there is one.
    pub cause: Option<String>,
    pub cause_title: Option<String>,
    pub verdict: Option<Verdict>,
    pub next: Next,
    /// All of it as one line, as every report prints it.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextAction {
    /// The first step of the primary cause's fix.
    Fix,
    /// The first thing to collect (no cause is confirmed or likely).
    Collect,
    /// Nothing padtriage can say: the run failed with an error its causes are not about.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Next {
    pub action: NextAction,
    pub text: String,
}

/// One thing to collect, for every cause and run it would decide.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectNext {
    /// The evidence source (`security`, `dsregcmd`, `aad`, ...).
    pub source: String,
    /// The command, without the notes on how to run it.
    pub command: String,
    /// How to run it, as the causes ask (`run in a session of the connection user`).
    pub how: Vec<String>,
    /// The bundle holds no evidence of this kind at all.
    pub missing: bool,
    /// The causes it would decide, and the runs they are unknown for.
    pub causes: Vec<String>,
    pub runs: Vec<usize>,
    /// What it would show, cause by cause.
    pub why: Vec<CollectWhy>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectWhy {
    pub cause: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputSummary {
    pub files_read: usize,
    pub files_partial: usize,
    pub files_skipped: usize,
    /// Files that are not evidence (a README, a screenshot): listed, not read.
    pub files_other: usize,
    pub records_read: u64,
    pub records_unreadable: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileProblem {
    pub path: String,
    pub kind: String,
    pub skipped: Option<String>,
    pub unreadable_records: u64,
    pub problems: Vec<Problem>,
}

impl FileProblem {
    pub fn of(f: &FileReport) -> Self {
        FileProblem {
            path: f.path.clone(),
            kind: f.kind.as_str().to_string(),
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
    pub fn new(bundle: String, mut runs: Vec<RunDiagnosis>, files: &[FileReport]) -> Self {
        let other = files.iter().filter(|f| f.kind == FileKind::Other).count();
        let skipped = files.iter().filter(|f| f.skipped.is_some()).count() - other;
        let partial = files
            .iter()
            .filter(|f| f.skipped.is_none() && f.is_partial())
            .count();
        for (i, r) in runs.iter_mut().enumerate() {
            number_records(i + 1, r);
        }
        let collect = collect_next(&runs);
        let answer = runs
            .iter()
            .enumerate()
            .map(|(i, r)| Answer::of(i + 1, r, &collect))
            .collect();
        Analysis {
            schema_version: SCHEMA_VERSION.to_string(),
            tool: format!("padtriage {}", env!("CARGO_PKG_VERSION")),
            bundle,
            answer,
            collect,
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

/// Every citation of a run, in reading order: the run's records, then each cause's evidence
/// and context.
pub fn cites_mut(r: &mut RunDiagnosis) -> impl Iterator<Item = &mut Cite> {
    r.sources
        .iter_mut()
        .chain(r.causes.iter_mut().flat_map(|c| {
            c.evidence
                .iter_mut()
                .flat_map(|f| f.cites.iter_mut())
                .chain(c.context.iter_mut().flat_map(|x| x.cites.iter_mut()))
        }))
}

/// Every citation of a run, in the order [`cites_mut`] numbers them.
pub fn cites(r: &RunDiagnosis) -> impl Iterator<Item = &Cite> {
    r.sources.iter().chain(r.causes.iter().flat_map(|c| {
        c.evidence
            .iter()
            .flat_map(|f| f.cites.iter())
            .chain(c.context.iter().flat_map(|x| x.cites.iter()))
    }))
}

/// Give every record a run cites an id (`r1-3`), the same for each citation of it: reports link
/// citations to one row per record, and a picture of the run links its points to those rows.
fn number_records(run: usize, r: &mut RunDiagnosis) {
    type Key = (String, Option<u64>, Option<u64>, Option<u64>, String);
    let mut seen: Vec<Key> = Vec::new();
    for c in cites_mut(r) {
        let key = (c.file.clone(), c.record, c.line, c.row, c.kind.clone());
        let n = match seen.iter().position(|k| *k == key) {
            Some(n) => n,
            None => {
                seen.push(key);
                seen.len() - 1
            }
        };
        c.id = Some(format!("r{run}-{}", n + 1));
    }
}

/// The command of a rule's collect item and its note on how to run it: rules write
/// `dsregcmd /status > dsregcmd.txt   (run in a session of the connection user)`.
fn split_command(command: &str) -> (&str, Option<&str>) {
    match command.split_once("   (") {
        Some((cmd, how)) if how.ends_with(')') => (cmd.trim(), Some(&how[..how.len() - 1])),
        _ => (command.trim(), None),
    }
}

/// One list of what to collect for the whole report: the same command asked by several causes
/// and runs once, with every cause it would decide. What the bundle lacks entirely first, then
/// what decides the most causes.
fn collect_next(runs: &[RunDiagnosis]) -> Vec<CollectNext> {
    let mut out: Vec<CollectNext> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        for c in r.causes.iter().filter(|c| c.verdict != Verdict::RuledOut) {
            for k in &c.collect {
                let (command, how) = split_command(&k.command);
                let at = match out
                    .iter()
                    .position(|x| x.source == k.source && x.command == command)
                {
                    Some(at) => at,
                    None => {
                        out.push(CollectNext {
                            source: k.source.clone(),
                            command: command.to_string(),
                            how: Vec::new(),
                            missing: k.missing,
                            causes: Vec::new(),
                            runs: Vec::new(),
                            why: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                let x = &mut out[at];
                x.missing |= k.missing;
                if let Some(how) = how {
                    add_how(&mut x.how, how);
                }
                if !x.causes.contains(&c.cause) {
                    x.causes.push(c.cause.clone());
                }
                if !x.runs.contains(&(i + 1)) {
                    x.runs.push(i + 1);
                }
                if !x.why.iter().any(|w| w.cause == c.cause && w.text == k.why) {
                    x.why.push(CollectWhy {
                        cause: c.cause.clone(),
                        text: k.why.clone(),
                    });
                }
            }
        }
    }
    // Stable: among equals, the order the causes asked.
    out.sort_by(|a, b| {
        b.missing
            .cmp(&a.missing)
            .then(b.causes.len().cmp(&a.causes.len()))
    });
    out
}

/// Add a note on how to run a command, unless one already says it (one note that starts with
/// another says more: `..., not as SYSTEM`).
fn add_how(how: &mut Vec<String>, note: &str) {
    if how.iter().any(|h| h.starts_with(note)) {
        return;
    }
    how.retain(|h| !note.starts_with(h.as_str()));
    how.push(note.to_string());
}

/// `2025-03-11 14:05:12Z`: the reports' time format.
pub fn ts(t: Time) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

impl Answer {
    fn of(run: usize, r: &RunDiagnosis, collect: &[CollectNext]) -> Answer {
        let primary: Option<&CauseResult> = r
            .primary_cause
            .as_ref()
            .and_then(|id| r.causes.iter().find(|c| &c.cause == id));
        let next = match primary {
            Some(c) => Next {
                action: NextAction::Fix,
                text: c
                    .resolution
                    .first()
                    .cloned()
                    .unwrap_or_else(|| format!("apply the fix for {}", c.cause)),
            },
            None if !r.credential_error => Next {
                action: NextAction::None,
                text: format!(
                    "look into {} itself: padtriage's causes are about credential and logon \
                     failures",
                    r.error_code
                ),
            },
            None => match collect.iter().find(|k| k.runs.contains(&run)) {
                Some(k) => Next {
                    action: NextAction::Collect,
                    text: format!(
                        "collect {}{}",
                        k.command,
                        if k.missing {
                            " (the bundle has none)"
                        } else {
                            " around the failure time"
                        }
                    ),
                },
                None => Next {
                    action: NextAction::None,
                    text: "no cause is unknown for lack of evidence; see the ruled-out causes"
                        .to_string(),
                },
            },
        };
        let mut a = Answer {
            run,
            time: r.time,
            time_is_estimate: r.time_is_estimate,
            error_code: r.error_code.clone(),
            user: r.user.clone(),
            machine: r.machine.clone(),
            cause: primary.map(|c| c.cause.clone()),
            cause_title: primary.map(|c| c.title.clone()),
            verdict: primary.map(|c| c.verdict),
            next,
            text: String::new(),
        };
        a.text = a.line(r);
        a
    }

    /// `Run 1: 2025-03-11 14:05:12Z WindowsIdentityIncorrect for jdoe@contoso.com on RPA-VM01:
    /// credentials-mismatch (confirmed). Next: ...`
    pub(crate) fn line(&self, r: &RunDiagnosis) -> String {
        let verdict = match (&self.cause, self.verdict) {
            (Some(c), Some(v)) => format!("{c} ({})", v.as_str()),
            _ if !r.credential_error => "not a credential failure".to_string(),
            _ => {
                let unknown = r
                    .causes
                    .iter()
                    .filter(|c| c.verdict == Verdict::Unknown)
                    .count();
                format!("no cause supported by the evidence ({unknown} unknown)")
            }
        };
        format!(
            "Run {}: {}{} {} for {} on {}: {verdict}. Next: {}",
            self.run,
            ts(self.time),
            if self.time_is_estimate {
                " (estimated)"
            } else {
                ""
            },
            self.error_code,
            self.user.as_deref().unwrap_or("an unknown account"),
            self.machine.as_deref().unwrap_or("an unknown machine"),
            self.next.text
        )
    }
}

pub fn json(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, a)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_from_their_notes() {
        assert_eq!(
            split_command("dsregcmd /status > dsregcmd.txt   (elevated, so it runs)"),
            (
                "dsregcmd /status > dsregcmd.txt",
                Some("elevated, so it runs")
            )
        );
        assert_eq!(
            split_command("wevtutil epl Security Security.evtx"),
            ("wevtutil epl Security Security.evtx", None)
        );
        let mut how = Vec::new();
        add_how(&mut how, "run as the user");
        add_how(&mut how, "run as the user, not as SYSTEM");
        add_how(&mut how, "run as the user");
        add_how(&mut how, "elevated");
        assert_eq!(how, ["run as the user, not as SYSTEM", "elevated"]);
    }
}
