//! Diagnosis rules: data in `rules/*.toml`, embedded in the binary, with `--rules DIR` adding or
//! overriding by id. This module owns the rule file format and its validation; errors name the
//! file and line.
//!
//! A rule file describes one cause:
//!
//! ```toml
//! id = "logon-right-missing"
//! title = "The account lacks (or is denied) the logon right PAD needs"
//! kb = "KB 5021230"
//! priority = 90                      # higher = more specific; orders causes with equal verdicts
//! resolution = ["...", "..."]
//!
//! [[collect]]                        # what to gather when evidence is missing
//! source = "security"                # security|aad|device_registration|system|dsregcmd|pad_log|run_record
//! command = "wevtutil epl Security Security.evtx"
//! why = "..."
//!
//! [[evidence]]
//! strength = "confirms"              # confirms | supports | rules_out
//! describe = "A failed logon for the connection user with Status 0xC000015B"
//! in = "security.4625"               # fact kind: run, dsregcmd, security.4625, aad.*, ...
//! user = "run"                       # run (default where the fact names a user) | any
//! when = { status_any = ["0xC000015B"] }
//! ```
//!
//! `when` conditions: a value (equals), a list (any of), or a table with `not`, `gt`, `lt`,
//! `contains` or `present`. Several facts that must all hold go in `all = [{ in = .., when = .. }]`.
//! `absent = true` turns an item into "no such fact in the window", which counts only when a
//! fully-read log of `covered_by` spans the run's time.

use super::facts::{known_fields, valid_kind};
pub use crate::model::UserScope;
use crate::sources::registry;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

// `EMBEDDED`: every `rules/*.toml`, found by `build.rs` and compiled in.
include!(concat!(env!("OUT_DIR"), "/rules.rs"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    RulesOut,
    Supports,
    Confirms,
}

/// An evidence source by its registry name (`security`, `dsregcmd`, `pad_log`, ...), as rules
/// name it in `collect.source` and `covered_by`. Unknown names are refused when rules load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct EvidenceSource(&'static str);

impl EvidenceSource {
    /// The registered source of this name.
    pub fn named(name: &str) -> Option<EvidenceSource> {
        registry::sources()
            .into_iter()
            .find(|s| *s == name)
            .map(EvidenceSource)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl<'de> Deserialize<'de> for EvidenceSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        EvidenceSource::named(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown evidence source '{name}' (known: {})",
                registry::sources().join(", ")
            ))
        })
    }
}

/// A scalar in a condition.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CondOps {
    #[serde(default)]
    pub not: Option<Vec<Scalar>>,
    #[serde(default)]
    pub gt: Option<f64>,
    #[serde(default)]
    pub lt: Option<f64>,
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub present: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum Cond {
    One(Scalar),
    Any(Vec<Scalar>),
    Ops(CondOps),
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    #[serde(rename = "in")]
    pub kind: String,
    #[serde(default)]
    pub user: Option<UserScope>,
    #[serde(default)]
    pub when: BTreeMap<String, Cond>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSpec {
    pub strength: Strength,
    pub describe: String,
    #[serde(rename = "in", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub user: Option<UserScope>,
    #[serde(default)]
    pub when: BTreeMap<String, Cond>,
    /// Several facts that must all be present.
    #[serde(default)]
    pub all: Vec<Matcher>,
    #[serde(default)]
    pub absent: bool,
    /// For `absent`: the log that must cover the run's time for absence to mean anything.
    #[serde(default)]
    pub covered_by: Option<EvidenceSource>,
}

impl EvidenceSpec {
    /// The matchers of this item (one, or the `all` list).
    pub fn matchers(&self) -> Vec<Matcher> {
        match &self.kind {
            Some(k) => vec![Matcher {
                kind: k.clone(),
                user: self.user,
                when: self.when.clone(),
            }],
            None => self.all.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    pub source: EvidenceSource,
    pub command: String,
    pub why: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub kb: String,
    #[serde(default = "default_priority")]
    pub priority: i32,
    pub resolution: Vec<String>,
    #[serde(default)]
    pub collect: Vec<Collect>,
    pub evidence: Vec<EvidenceSpec>,
    /// Where the rule came from (`embedded:x.toml` or a path); set by the loader.
    #[serde(skip)]
    pub origin: String,
}

fn default_priority() -> i32 {
    50
}

/// A rule file that could not be used, with where and why.
#[derive(Debug, Clone)]
pub struct RuleError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// All errors of a rules folder, one per line.
#[derive(Debug, Clone)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleErrors {}

#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Number of rule files read from the user's folder.
    pub from_dir: usize,
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|pos| text[..pos].bytes().filter(|b| *b == b'\n').count() + 1)
}

/// Parse and validate one rule file's text.
pub fn parse_rule(file: &str, text: &str) -> Result<Rule, Vec<RuleError>> {
    let rule: Rule = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| {
            text[..s.start.min(text.len())]
                .bytes()
                .filter(|b| *b == b'\n')
                .count()
                + 1
        });
        vec![RuleError {
            file: file.to_string(),
            line,
            message: e.message().to_string(),
        }]
    })?;
    let mut errs = Vec::new();
    let mut err = |needle: &str, message: String| {
        errs.push(RuleError {
            file: file.to_string(),
            line: line_of(text, needle),
            message,
        });
    };
    if rule.id.is_empty()
        || !rule
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        err(
            "id",
            format!(
                "rule id '{}' must be lower-case letters, digits and '-'",
                rule.id
            ),
        );
    }
    if rule.resolution.is_empty() {
        err(
            "resolution",
            "a rule needs at least one resolution step".into(),
        );
    }
    if rule.evidence.is_empty() {
        err("id", "a rule needs at least one [[evidence]] item".into());
    }
    for ev in &rule.evidence {
        match (&ev.kind, ev.all.is_empty()) {
            (Some(_), false) => err(
                &ev.describe,
                format!(
                    "evidence '{}' has both `in` and `all`; use one",
                    ev.describe
                ),
            ),
            (None, true) => err(
                &ev.describe,
                format!(
                    "evidence '{}' needs `in = \"<kind>\"` or `all = [...]`",
                    ev.describe
                ),
            ),
            _ => {}
        }
        if ev.kind.is_none() && (!ev.when.is_empty() || ev.user.is_some()) {
            err(
                &ev.describe,
                format!(
                    "evidence '{}': `when`/`user` belong inside each `all` item",
                    ev.describe
                ),
            );
        }
        if ev.absent && ev.covered_by.is_none() {
            err(
                &ev.describe,
                format!(
                    "evidence '{}' is `absent` and needs `covered_by` (the log whose coverage makes absence meaningful)",
                    ev.describe
                ),
            );
        }
        if ev.absent && ev.strength != Strength::RulesOut {
            err(
                &ev.describe,
                format!(
                    "evidence '{}': absence of evidence can only rule a cause out",
                    ev.describe
                ),
            );
        }
        for m in ev.matchers() {
            if !valid_kind(&m.kind) {
                err(
                    &format!("\"{}\"", m.kind),
                    format!(
                        "unknown fact kind '{}' (use run, dsregcmd, or security.<id>, aad.<id>, udr.<id>, scm.<id>, pad.<level>, with .* for a whole family)",
                        m.kind
                    ),
                );
                continue;
            }
            let known = known_fields(&m.kind).unwrap_or(&[]);
            for field in m.when.keys() {
                if !known.contains(&field.as_str()) {
                    err(
                        field,
                        format!(
                            "'{}' is not a field of '{}'; known fields: {}",
                            field,
                            m.kind,
                            known.join(", ")
                        ),
                    );
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(rule)
    } else {
        Err(errs)
    }
}

impl RuleSet {
    /// The embedded rules, plus (overriding by id) every `*.toml` in `dir`.
    pub fn load(dir: Option<&Path>) -> Result<RuleSet, RuleErrors> {
        let mut errors = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        for (name, text) in EMBEDDED {
            match parse_rule(&format!("embedded:{name}"), text) {
                Ok(mut r) => {
                    r.origin = format!("embedded:{name}");
                    rules.push(r);
                }
                Err(e) => errors.extend(e),
            }
        }
        let mut from_dir = 0;
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                RuleErrors(vec![RuleError {
                    file: dir.display().to_string(),
                    line: None,
                    message: format!("cannot read the rules folder: {e}"),
                }])
            })?;
            let mut paths: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            if paths.is_empty() {
                errors.push(RuleError {
                    file: dir.display().to_string(),
                    line: None,
                    message: "no *.toml rule files in this folder".into(),
                });
            }
            for p in paths {
                let shown = p.display().to_string();
                let text = match std::fs::read_to_string(&p) {
                    Ok(t) => t,
                    Err(e) => {
                        errors.push(RuleError {
                            file: shown,
                            line: None,
                            message: format!("cannot read: {e}"),
                        });
                        continue;
                    }
                };
                from_dir += 1;
                match parse_rule(&shown, &text) {
                    Ok(mut r) => {
                        r.origin = shown;
                        match rules.iter_mut().find(|x| x.id == r.id) {
                            Some(slot) => *slot = r,
                            None => rules.push(r),
                        }
                    }
                    Err(e) => errors.extend(e),
                }
            }
        }
        if errors.is_empty() {
            Ok(RuleSet { rules, from_dir })
        } else {
            Err(RuleErrors(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_file_is_embedded_valid_and_named_by_its_id() {
        let set = RuleSet::load(None).unwrap_or_else(|e| panic!("{e}"));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        files.sort();
        let embedded: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
        assert_eq!(embedded, files, "every rules/*.toml is shipped");
        for r in &set.rules {
            assert_eq!(
                r.origin,
                format!("embedded:{}.toml", r.id),
                "file named by its id"
            );
        }
        assert_eq!(set.rules.len(), files.len());
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "id = \"x\"\ntitle = \"t\"\nkb = \"k\"\nresolution = [\"r\"]\n\n[[evidence]]\nstrength = \"confirms\"\ndescribe = \"d\"\nin = \"security.4625\"\nwhen = { sub_stats = [\"0x1\"] }\n";
        let e = parse_rule("x.toml", text).unwrap_err();
        assert_eq!(e[0].line, Some(10), "{:?}", e);
        assert!(e[0].message.contains("sub_stats"));
        let bad_strength = text.replace("\"confirms\"", "\"proves\"");
        let e = parse_rule("x.toml", &bad_strength).unwrap_err();
        assert_eq!(e[0].line, Some(7), "{:?}", e);
        let bad_kind = text.replace("security.4625", "securty.4625");
        let e = parse_rule("x.toml", &bad_kind).unwrap_err();
        assert!(e[0].message.contains("unknown fact kind"));
        assert_eq!(e[0].line, Some(9));
    }
}
