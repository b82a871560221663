//! Which events `timeline` writes, besides their time: kinds (`--kind`), the account an event is
//! about (`--user`), and whether times estimated from a file's date may stand in a time range.
//! Asked of every event as it is read, before it is held for sorting.

use crate::identity::{host_key, Identity, Match};
use crate::model::{Account, Text};
use crate::sources::security::SecurityEvent;
use crate::sources::{Event, FamilyId};

/// A kind pattern: every kind of a family (`security`, `security.*`) or one kind
/// (`security.4625`, `pad.error`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct KindPattern {
    family: &'static str,
    /// `None` for every kind of the family.
    rest: Option<String>,
}

impl KindPattern {
    fn matches(&self, family: &str, rest: &str) -> bool {
        self.family == family && self.rest.as_deref().is_none_or(|r| r == rest)
    }
}

/// The event filter of `timeline`. The default keeps everything.
#[derive(Debug, Clone, Default)]
pub struct Keep {
    kinds: Vec<KindPattern>,
    user: Option<Identity>,
    drop_estimated: bool,
}

impl Keep {
    /// Keep events of the kinds `kinds` name (none: every kind), about an account that may be
    /// `user` (see [`Keep::user_matches`]), and, unless `drop_estimated`, those whose time is
    /// a file's date. Errors say which pattern or name is not usable, and why.
    pub fn new(kinds: &[String], user: Option<&str>, drop_estimated: bool) -> Result<Keep, String> {
        let mut patterns = Vec::new();
        for p in kinds.iter().flat_map(|k| k.split(',')) {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let (fam, rest) = match p.split_once('.') {
                Some((f, "*")) => (f, None),
                Some((f, r)) => (f, Some(r.to_ascii_lowercase())),
                None => (p, None),
            };
            let family = FamilyId::ALL
                .iter()
                .map(|f| f.name())
                .find(|n| n.eq_ignore_ascii_case(fam))
                .ok_or_else(|| {
                    let names: Vec<&str> = FamilyId::ALL.iter().map(|f| f.name()).collect();
                    format!(
                        "--kind {p}: no kind of event is called `{fam}`; the families are {} \
                         (then `.*` or a kind such as `security.4625`; `padtriage inventory` \
                         lists the kinds a bundle holds)",
                        names.join(", ")
                    )
                })?;
            if rest.as_deref() == Some("") {
                return Err(format!(
                    "--kind {p}: nothing after the dot; write `{family}` or `{family}.*` for \
                     every kind of the family, or a kind such as `security.4625`"
                ));
            }
            patterns.push(KindPattern { family, rest });
        }
        let user = match user {
            None => None,
            Some(u) => Some(Identity::parse(u).ok_or_else(|| {
                format!(
                    "--user {u:?} names no account (empty, `-` or masked); give a user name \
                     such as jdoe@contoso.com, CONTOSO\\jdoe, AzureAD\\jdoe or jdoe"
                )
            })?),
        };
        Ok(Keep {
            kinds: patterns,
            user,
            drop_estimated,
        })
    }

    /// Whether everything is kept (no filter to ask).
    pub fn keeps_all(&self) -> bool {
        self.kinds.is_empty() && self.user.is_none() && !self.drop_estimated
    }

    fn kind_kept(&self, family: &str, rest: impl FnOnce() -> String) -> bool {
        if self.kinds.is_empty() {
            return true;
        }
        let rest = rest();
        self.kinds.iter().any(|k| k.matches(family, &rest))
    }

    /// Whether the account an event is about may be `--user`'s, by the rules `analyze` matches
    /// accounts with: not when the names show two accounts (another domain, another SID, a
    /// local account of another machine); yes when they are one or may be (a bare name matches
    /// that user in every domain, `AzureAD\jdoe` matches `jdoe@contoso.com`). An event about no
    /// account never matches.
    fn user_matches(&self, theirs: Option<Identity>, machine: Option<&str>) -> bool {
        let Some(mine) = &self.user else {
            return true;
        };
        let Some(theirs) = theirs else {
            return false;
        };
        let host = machine.and_then(host_key);
        mine.compare(&theirs, host.as_deref()) != Match::Different
    }

    /// Whether `timeline` writes this event.
    pub fn event(&self, ev: &Event) -> bool {
        if self.drop_estimated && crate::report::timeline::is_estimated(ev.time_basis) {
            return false;
        }
        let family = ev.data.family().name();
        let kept = self.kind_kept(family, || {
            let kind = ev.kind();
            kind.split_once('.')
                .map_or(String::new(), |(_, r)| r.to_ascii_lowercase())
        });
        kept && (self.user.is_none() || self.user_matches(ev.user(), ev.machine.as_deref()))
    }

    /// [`Keep::event`] for a Security event held as parts (its time is a record's, never
    /// estimated); `text` gives a text by its number.
    pub fn security<'t>(
        &self,
        machine: Option<u32>,
        data: &SecurityEvent<u32>,
        text: impl Fn(u32) -> Option<&'t Text>,
    ) -> bool {
        if !self.kind_kept("security", || data.event_id.to_string()) {
            return false;
        }
        if self.user.is_none() {
            return true;
        }
        let part = |n: &Option<u32>| n.and_then(&text).cloned();
        let target = Account {
            name: part(&data.target.name),
            domain: part(&data.target.domain),
            sid: part(&data.target.sid),
        };
        let machine = machine.and_then(&text).map(Text::as_str);
        self.user_matches(Identity::from_account(&target), machine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_patterns_and_their_errors() {
        let k = Keep::new(&["security.4625,AAD".into(), "pad.*".into()], None, false).unwrap();
        assert!(k.kind_kept("security", || "4625".into()));
        assert!(!k.kind_kept("security", || "4624".into()));
        assert!(k.kind_kept("aad", || "1098".into()));
        assert!(k.kind_kept("pad", || "error".into()));
        assert!(!k.kind_kept("run", || "portal_error".into()));
        let e = Keep::new(&["secruity.4625".into()], None, false).unwrap_err();
        assert!(
            e.contains("`secruity`") && e.contains("security, aad"),
            "{e}"
        );
        assert!(Keep::new(&["security.".into()], None, false).is_err());
        assert!(Keep::new(&[], Some("-"), false).is_err());
    }

    #[test]
    fn users_match_across_forms_but_not_across_domains() {
        let id = |s: &str| Identity::parse(s);
        let k = Keep::new(&[], Some("CONTOSO\\jdoe"), false).unwrap();
        assert!(k.user_matches(id("contoso\\JDoe"), None));
        assert!(k.user_matches(id("jdoe@contoso.com"), None));
        assert!(!k.user_matches(id("FABRIKAM\\jdoe"), None));
        assert!(!k.user_matches(id("jdoe@fabrikam.com"), None));
        assert!(!k.user_matches(id("CONTOSO\\asmith"), None));
        assert!(!k.user_matches(None, None));
        let bare = Keep::new(&[], Some("jdoe"), false).unwrap();
        assert!(bare.user_matches(id("FABRIKAM\\jdoe"), None));
        let local = Keep::new(&[], Some(".\\rpa"), false).unwrap();
        assert!(local.user_matches(id("RPA-VM01\\rpa"), Some("rpa-vm01.contoso.com")));
        assert!(!local.user_matches(id("OTHER-PC\\rpa"), Some("RPA-VM01")));
    }
}
