//! Evaluating one rule against the facts around one run, and turning what matched into a verdict
//! with cited evidence, the KB's fix, and what to collect when evidence is missing.
//!
//! Only facts in the run's scope count (see `scope`), and for items about an account only
//! those shown to be the connection's ([`Match::Same`]); what would have matched but is out of
//! scope is listed as context. How strongly a matched item counts depends on where it comes
//! from: a dsregcmd dump not shown to be near the run confirms nothing, one shown stale rules
//! nothing out either (see `snapshots`); the minutes around a run whose time is uncertain
//! confirm nothing and their silence rules nothing out.

use super::coverage::Coverage;
use super::facts::{kind_matches, Cite, Fact};
use super::rules::{Collect, Cond, EvidenceSpec, Matcher, Rule, Strength, UserScope};
use super::runs::Run;
use super::snapshots::Standing;
use crate::identity::{Form, Match};
use crate::model::Time;
use crate::sources::registry;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub strength: Strength,
    pub describe: String,
    pub cites: Vec<Cite>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectItem {
    pub source: String,
    pub command: String,
    pub why: String,
    /// True when the bundle has no evidence of this kind at all.
    pub missing: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Evidence that would have counted but is out of the run's scope (another machine, a
    /// remote logon, an account not shown to be the connection's): shown, never counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<ContextFinding>,
    /// How specific the confirming evidence is: a record of the attempt itself (3), the run's
    /// own detail code (2), a snapshot or other log (1); none (0).
    #[serde(skip)]
    pub specificity: u8,
}

/// Evidence matching a rule item that does not count for the run, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContextFinding {
    pub describe: String,
    pub why: String,
    pub cites: Vec<Cite>,
}

/// Most records cited for one finding: the report stays readable; the count says the rest.
const MAX_CITES: usize = 5;

/// Everything a rule is judged on for one run.
pub struct Context<'a> {
    pub run: &'a Run,
    /// Facts in the run's scope.
    pub facts: &'a [Fact],
    /// Facts out of the run's scope, with why: shown as context, never counted.
    pub outside: &'a [(Fact, String)],
    pub coverage: &'a Coverage,
    /// The evidence window.
    pub from: Time,
    pub to: Time,
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

/// How a fact's account fits an item's user scope.
enum UserFit {
    Counts,
    /// Only possibly the connection's account: context, with why.
    Possibly(String),
    No,
}

fn user_fit(scope: UserScope, run: &Run, fact: &Fact) -> UserFit {
    let compare = |set: &crate::identity::IdentitySet, u: &crate::identity::Identity| match set
        .compare(u, run.host.as_deref())
    {
        Match::Same => UserFit::Counts,
        Match::Possible => UserFit::Possibly(format!(
            "names the account as {}, which is not shown to be the connection's ({})",
            u.raw,
            set.primary().map_or("", |p| p.raw.as_str())
        )),
        Match::Different => UserFit::No,
    };
    match scope {
        UserScope::Any => UserFit::Counts,
        UserScope::Run => match (&run.user, &fact.user) {
            (Some(set), Some(u)) => compare(set, u),
            _ => UserFit::No,
        },
        UserScope::RunOrUnknown => match (&run.user, &fact.user) {
            // A bare SID cannot be told apart from the run's user when no SID of theirs is
            // known (the logon that would prove it may lie outside the window read).
            (Some(set), Some(u)) if u.form == Form::Sid && set.sids().next().is_none() => {
                UserFit::Counts
            }
            (Some(set), Some(u)) => compare(set, u),
            (_, None) => UserFit::Counts,
            (None, Some(_)) => UserFit::No,
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

fn fits(m: &Matcher, run: &Run, fact: &Fact) -> UserFit {
    if !kind_matches(&m.kind, &fact.kind)
        || !m
            .when
            .iter()
            .all(|(name, cond)| cond_holds(cond, fact.get(name).map(|f| f.values.as_slice())))
    {
        return UserFit::No;
    }
    user_fit(m.user.unwrap_or_else(|| default_scope(&m.kind)), run, fact)
}

/// The citation for a matched fact. dsregcmd facts cite the line of the fields the rule used.
fn cite_for(m: &Matcher, fact: &Fact) -> Cite {
    let mut c = fact.cite.clone();
    if fact.kind == "dsregcmd" {
        let used: Vec<&super::facts::Field> = m.when.keys().filter_map(|k| fact.get(k)).collect();
        c.line = used.iter().find_map(|f| f.line).or(c.line);
        c.text = used
            .iter()
            .map(|f| format!("{} = {}", f.name, f.values.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
    }
    c
}

/// Facts matching one evidence item (every matcher must find one); `None` when it does not
/// hold.
fn item_holds<'f>(spec: &EvidenceSpec, ctx: &'f Context) -> Option<Vec<(Cite, &'f Fact)>> {
    let mut hits_all = Vec::new();
    for m in spec.matchers() {
        let hits: Vec<&Fact> = ctx
            .facts
            .iter()
            .filter(|f| matches!(fits(&m, ctx.run, f), UserFit::Counts))
            .collect();
        if hits.is_empty() {
            return None;
        }
        hits_all.extend(hits.into_iter().map(|f| (cite_for(&m, f), f)));
    }
    Some(hits_all)
}

/// Evidence that would match an item but does not count: facts out of the run's scope, and
/// facts naming an account only possibly the connection's. Each with why.
fn item_context(spec: &EvidenceSpec, ctx: &Context) -> Vec<(Cite, String)> {
    let matchers = spec.matchers();
    // For a single matcher, any near miss; for `all`, only when the other matchers hold.
    let mut out = Vec::new();
    for (i, m) in matchers.iter().enumerate() {
        let others_hold = matchers.iter().enumerate().all(|(j, o)| {
            j == i
                || ctx
                    .facts
                    .iter()
                    .any(|f| matches!(fits(o, ctx.run, f), UserFit::Counts))
        });
        if !others_hold {
            continue;
        }
        for (f, why) in ctx.outside {
            if !matches!(fits(m, ctx.run, f), UserFit::No) {
                out.push((cite_for(m, f), why.clone()));
            }
        }
        for f in ctx.facts {
            if let UserFit::Possibly(why) = fits(m, ctx.run, f) {
                out.push((cite_for(m, f), why));
            }
        }
    }
    out
}

/// How specific a matched fact is about the failed attempt (see `CauseResult::specificity`).
fn specificity(f: &Fact) -> u8 {
    match f.kind.split('.').next() {
        Some("security") | Some("session") => 3,
        Some("run") if f.kind == "run" => 2,
        _ => 1,
    }
}

pub fn evaluate(rule: &Rule, ctx: &Context) -> CauseResult {
    let mut findings: Vec<Finding> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut context: Vec<ContextFinding> = Vec::new();
    let mut spec_level = 0u8;
    let exact = ctx.run.time_is_exact();
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
            if !exact {
                notes.push(format!(
                    "not ruled out on absence of evidence: the run's time is {}, so the minutes \
                     around it may not be the failure's",
                    if ctx.run.time_is_estimate {
                        "an estimate from a file date"
                    } else {
                        "read from a time without zone"
                    }
                ));
                continue;
            }
            let kind = spec
                .matchers()
                .first()
                .map(|m| m.kind.clone())
                .unwrap_or_default();
            match ctx.coverage.absence(src, &kind, ctx.from, ctx.to) {
                Ok(log) => findings.push(Finding {
                    strength: spec.strength,
                    describe: spec.describe.clone(),
                    cites: Vec::new(),
                    notes: vec![format!(
                        "{} was read completely, covers the whole window and records {kind} \
                         events; it holds none that match",
                        log.file
                    )],
                }),
                Err(Some(why)) => {
                    notes.push(format!("not ruled out on absence of evidence: {why}"))
                }
                Err(None) => {}
            }
            continue;
        }
        for (cite, why) in item_context(spec, ctx).into_iter().take(MAX_CITES) {
            match context
                .iter_mut()
                .find(|c| c.describe == spec.describe && c.why == why)
            {
                Some(c) if c.cites.len() < MAX_CITES => c.cites.push(cite),
                Some(_) => {}
                None => context.push(ContextFinding {
                    describe: spec.describe.clone(),
                    why,
                    cites: vec![cite],
                }),
            }
        }
        let Some(hits) = item_holds(spec, ctx) else {
            continue;
        };
        let mut strength = spec.strength;
        let mut fnotes = Vec::new();
        // What the item rests on decides how far it may go.
        let mut stale = None;
        let mut undated = None;
        for (_, f) in &hits {
            match &f.standing {
                Standing::Stale(w) => stale = stale.or(Some(w.clone())),
                Standing::Undated(w) => undated = undated.or(Some(w.clone())),
                Standing::Current => {}
            }
        }
        let windowed = hits
            .iter()
            .any(|(_, f)| f.kind != "run" && f.kind != "dsregcmd");
        if let (Some(why), Strength::RulesOut) = (&stale, strength) {
            notes.push(format!(
                "not ruled out by the dsregcmd dump: {why}; it cannot show the state at the failure"
            ));
            continue;
        }
        if strength == Strength::Confirms {
            let cap = stale
                .or(undated)
                .map(|w| format!("the dsregcmd dump may not show the state at the failure: {w}"))
                .or_else(|| {
                    (windowed && !exact).then(|| {
                        "the run's time is uncertain, so these records may be of another attempt"
                            .to_string()
                    })
                });
            if let Some(why) = cap {
                strength = Strength::Supports;
                fnotes.push(format!("counted as support only: {why}"));
            } else {
                spec_level =
                    spec_level.max(hits.iter().map(|(_, f)| specificity(f)).max().unwrap_or(0));
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
    notes.dedup();
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
        context,
        specificity: if verdict == Verdict::Confirmed {
            spec_level
        } else {
            0
        },
    }
}

/// What to collect for an unknown cause: what the bundle lacks first; when nothing is missing,
/// the same list, so the engineer can re-collect around the failure time.
fn collect_items(items: &[Collect], cov: &Coverage) -> Vec<CollectItem> {
    let mut out: Vec<CollectItem> = items
        .iter()
        .map(|c| CollectItem {
            source: c.source.as_str().to_string(),
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
