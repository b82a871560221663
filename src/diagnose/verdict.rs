//! Evaluating one rule against the facts around one run, and turning what matched into a verdict
//! with cited evidence, the KB's fix, and what to collect when evidence is missing.

use super::facts::{kind_matches, Cite, Fact};
use super::rules::{
    Collect, Cond, EvidenceSource, EvidenceSpec, Matcher, Rule, Strength, UserScope,
};
use super::runs::Run;
use crate::identity::Form;
use crate::sources::registry;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    RuledOut,
    Unknown,
    Likely,
    Confirmed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Likely => "likely",
            Verdict::RuledOut => "ruled_out",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One evidence item of a rule that held, with the records behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub strength: Strength,
    pub describe: String,
    pub cites: Vec<Cite>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CollectItem {
    pub source: &'static str,
    pub command: String,
    pub why: String,
    /// True when the bundle has no evidence of this kind at all.
    pub missing: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseResult {
    pub cause: String,
    pub title: String,
    pub kb: String,
    #[serde(skip)]
    pub priority: i32,
    pub verdict: Verdict,
    pub evidence: Vec<Finding>,
    pub resolution: Vec<String>,
    pub collect: Vec<CollectItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Whether the bundle has a given evidence source, and whether it covers the run completely.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Sources present in the bundle at all.
    pub present: Vec<EvidenceSource>,
    /// Sources with a fully read file spanning the run's time: absence there means something.
    pub complete: Vec<EvidenceSource>,
    /// Human notes on partly read sources that span the run (`Security.evtx: 3 unreadable records`).
    pub partial: BTreeMap<&'static str, String>,
}

/// Most records cited for one finding: the report stays readable; the count says the rest.
const MAX_CITES: usize = 5;

pub struct Context<'a> {
    pub run: &'a Run,
    pub facts: &'a [Fact],
    pub coverage: &'a Coverage,
}

/// Whose evidence a rule item is when it does not say: the family's default (`run` and
/// `dsregcmd` facts are about the run and its machine, any account).
fn default_scope(kind: &str) -> UserScope {
    if kind == "run" {
        return UserScope::Any;
    }
    registry::family_named(kind.split('.').next().unwrap_or(kind))
        .map_or(UserScope::Any, |f| f.user_scope())
}

fn user_ok(scope: UserScope, run: &Run, fact: &Fact) -> bool {
    match scope {
        UserScope::Any => true,
        UserScope::Run => match (&run.user, &fact.user) {
            (Some(set), Some(u)) => set.matches(u),
            _ => false,
        },
        UserScope::RunOrUnknown => match (&run.user, &fact.user) {
            // A bare SID cannot be told apart from the run's user when no SID of theirs is
            // known (the logon that would prove it may lie outside the window read).
            (Some(set), Some(u)) if u.form == Form::Sid && set.sids().next().is_none() => true,
            (Some(set), Some(u)) => set.matches(u),
            (_, None) => true,
            (None, Some(_)) => false,
        },
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn cond_holds(cond: &Cond, values: Option<&[String]>) -> bool {
    match cond {
        Cond::One(s) => values.is_some_and(|vs| vs.iter().any(|v| eq(v, &s.text()))),
        Cond::Any(list) => {
            values.is_some_and(|vs| vs.iter().any(|v| list.iter().any(|s| eq(v, &s.text()))))
        }
        Cond::Ops(ops) => {
            if let Some(p) = ops.present {
                if values.is_some() != p {
                    return false;
                }
            }
            if let Some(not) = &ops.not {
                if values.is_some_and(|vs| vs.iter().any(|v| not.iter().any(|s| eq(v, &s.text()))))
                {
                    return false;
                }
            }
            let num = |vs: &[String]| vs.first().and_then(|v| v.trim().parse::<f64>().ok());
            if let Some(gt) = ops.gt {
                if !values.and_then(num).is_some_and(|n| n > gt) {
                    return false;
                }
            }
            if let Some(lt) = ops.lt {
                if !values.and_then(num).is_some_and(|n| n < lt) {
                    return false;
                }
            }
            if let Some(c) = &ops.contains {
                let c = c.to_lowercase();
                if !values.is_some_and(|vs| vs.iter().any(|v| v.to_lowercase().contains(&c))) {
                    return false;
                }
            }
            true
        }
    }
}

fn fact_matches(m: &Matcher, run: &Run, fact: &Fact) -> bool {
    kind_matches(&m.kind, &fact.kind)
        && user_ok(m.user.unwrap_or_else(|| default_scope(&m.kind)), run, fact)
        && m.when
            .iter()
            .all(|(name, cond)| cond_holds(cond, fact.get(name).map(|f| f.values.as_slice())))
}

/// The citation for a matched fact. dsregcmd facts cite the line of the fields the rule used.
fn cite_for(m: &Matcher, fact: &Fact) -> Cite {
    let mut c = fact.cite.clone();
    if fact.kind == "dsregcmd" {
        let used: Vec<&super::facts::Field> = m.when.keys().filter_map(|k| fact.get(k)).collect();
        c.line = used.iter().find_map(|f| f.line);
        c.text = used
            .iter()
            .map(|f| format!("{} = {}", f.name, f.values.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
    }
    c
}

/// Facts matching one evidence item; `None` when it does not hold.
fn item_holds(spec: &EvidenceSpec, ctx: &Context) -> Option<Vec<(Cite, &'static str)>> {
    let mut cites = Vec::new();
    for m in spec.matchers() {
        let hits: Vec<&Fact> = ctx
            .facts
            .iter()
            .filter(|f| fact_matches(&m, ctx.run, f))
            .collect();
        if hits.is_empty() {
            return None;
        }
        for f in hits {
            let origin = if f.kind == "dsregcmd" { "dsregcmd" } else { "" };
            cites.push((cite_for(&m, f), origin));
        }
    }
    Some(cites)
}

/// dsregcmd facts taken long after (or before) the run say less: a confirming item that rests on
/// such a snapshot counts only as support.
fn snapshot_too_far(ctx: &Context) -> Option<String> {
    let snap = ctx.facts.iter().find(|f| f.kind == "dsregcmd")?;
    let hours: f64 = snap.get("hours_after_run")?.values.first()?.parse().ok()?;
    (hours.abs() > 24.0).then(|| {
        format!(
            "the dsregcmd snapshot was taken {:.0} hours {} the run; its state may have changed since",
            hours.abs(),
            if hours > 0.0 { "after" } else { "before" }
        )
    })
}

pub fn evaluate(rule: &Rule, ctx: &Context) -> CauseResult {
    let mut findings: Vec<Finding> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let far = snapshot_too_far(ctx);
    for spec in &rule.evidence {
        if spec.absent {
            let Some(src) = spec.covered_by else { continue };
            // "No failure of the connection user" means nothing when the user is unknown.
            let user_scoped = spec
                .matchers()
                .iter()
                .any(|m| m.user.unwrap_or_else(|| default_scope(&m.kind)) != UserScope::Any);
            if user_scoped && ctx.run.user.is_none() {
                continue;
            }
            if item_holds(spec, ctx).is_some() {
                continue;
            }
            if ctx.coverage.complete.contains(&src) {
                findings.push(Finding {
                    strength: spec.strength,
                    describe: spec.describe.clone(),
                    cites: Vec::new(),
                    notes: vec![format!(
                        "the {} evidence in the bundle covers the run's time and holds no such record",
                        src.as_str()
                    )],
                });
            } else if let Some(why) = ctx.coverage.partial.get(src.as_str()) {
                notes.push(format!("not ruled out on absence of evidence: {why}"));
            }
            continue;
        }
        let Some(hits) = item_holds(spec, ctx) else {
            continue;
        };
        let mut strength = spec.strength;
        let mut fnotes = Vec::new();
        if strength == Strength::Confirms && hits.iter().all(|(_, o)| *o == "dsregcmd") {
            if let Some(why) = &far {
                strength = Strength::Supports;
                fnotes.push(format!("counted as support only: {why}"));
            }
        }
        let total = hits.len();
        let mut cites: Vec<Cite> = hits.into_iter().map(|(c, _)| c).collect();
        cites.truncate(MAX_CITES);
        if total > MAX_CITES {
            fnotes.push(format!(
                "{total} matching records; the first {MAX_CITES} are cited"
            ));
        }
        findings.push(Finding {
            strength,
            describe: spec.describe.clone(),
            cites,
            notes: fnotes,
        });
    }
    let has = |s: Strength| findings.iter().any(|f| f.strength == s);
    let verdict = match (
        has(Strength::Confirms),
        has(Strength::Supports),
        has(Strength::RulesOut),
    ) {
        (true, _, false) => Verdict::Confirmed,
        (true, _, true) => {
            notes.push("evidence conflicts: some confirms this cause and some rules it out".into());
            Verdict::Likely
        }
        (false, true, false) => Verdict::Likely,
        (false, true, true) => {
            notes.push(
                "some evidence points to this cause, but stronger evidence rules it out".into(),
            );
            Verdict::RuledOut
        }
        (false, false, true) => Verdict::RuledOut,
        (false, false, false) => Verdict::Unknown,
    };
    findings.sort_by_key(|f| std::cmp::Reverse(f.strength));
    let collect = if verdict == Verdict::Unknown {
        collect_items(&rule.collect, ctx.coverage)
    } else {
        Vec::new()
    };
    CauseResult {
        cause: rule.id.clone(),
        title: rule.title.clone(),
        kb: rule.kb.clone(),
        priority: rule.priority,
        verdict,
        evidence: findings,
        resolution: rule.resolution.clone(),
        collect,
        notes,
    }
}

/// What to collect for an unknown cause: what the bundle lacks first; when nothing is missing,
/// the same list, so the engineer can re-collect around the failure time.
fn collect_items(items: &[Collect], cov: &Coverage) -> Vec<CollectItem> {
    let mut out: Vec<CollectItem> = items
        .iter()
        .map(|c| CollectItem {
            source: c.source.as_str(),
            command: c.command.clone(),
            why: c.why.clone(),
            missing: !cov.present.contains(&c.source),
        })
        .collect();
    if out.iter().any(|c| c.missing) {
        out.retain(|c| c.missing);
    }
    out
}
