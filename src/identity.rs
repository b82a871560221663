//! Account identities across their written forms: `user@contoso.com`, `CONTOSO\user`,
//! `AzureAD\user`, `.\user`, `MACHINE\user`, bare `user`, and SIDs (`S-1-12-1-…` for Entra users),
//! and machine names across theirs ([`host_key`]).
//!
//! Comparing two names gives a [`Match`]: `Same` only when the names prove one account (equal
//! SIDs, the same user in the same domain, `.\user` and `MACHINE\user` on that machine), and
//! `Possible` when they may be one account but nothing shows it (a bare name, `AzureAD\jdoe`
//! and `jdoe@contoso.com`). Only `Same` lets evidence count for a run; an [`IdentitySet`] collects
//! the aliases the evidence proves belong to one person (for example dsregcmd's `Executing
//! Account Name : AzureAD\jdoe, jdoe@contoso.com`), which turns `Possible` into `Same`.
//! Masked names (`***\*****`, `[REDACTED]`, `xxxx`) are no identity at all.

use crate::model::Account;
use serde::Serialize;
use std::fmt;

/// The form an account name was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// `user@contoso.com`
    Upn,
    /// `CONTOSO\user` (an AD domain, or a machine name for a local account)
    DomainUser,
    /// `AzureAD\user`
    AzureAd,
    /// `.\user` or `local\user`
    Local,
    /// `user`
    Bare,
    /// `S-1-…` only
    Sid,
}

impl Form {
    /// The form's name in facts (`domain_user`).
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Upn => "upn",
            Form::DomainUser => "domain_user",
            Form::AzureAd => "azure_ad",
            Form::Local => "local",
            Form::Bare => "bare",
            Form::Sid => "sid",
        }
    }
}

/// One parsed account reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// As written in the evidence.
    pub raw: String,
    pub form: Form,
    /// Lower-cased user part (`jdoe` for `jdoe@contoso.com` and `CONTOSO\jdoe`).
    pub user: String,
    /// Lower-cased domain: the UPN suffix for UPNs, the NetBIOS/machine name for `D\user`.
    pub domain: Option<String>,
    pub sid: Option<String>,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// How far two account names are shown to be one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    Different,
    /// Maybe one account: nothing in the names proves or disproves it.
    Possible,
    Same,
}

/// Values that mean "no account" in Windows events.
fn is_empty_value(s: &str) -> bool {
    matches!(s.trim(), "" | "-" | "S-1-0-0" | "NULL SID" | "N/A")
}

/// A name someone masked before sending the bundle (`***`, `***\*******`, `[REDACTED]`,
/// `<redacted>`, `xxxx`, `XXXXX@contoso.com`): it names nobody and must never be taken as an
/// account.
pub fn is_masked(s: &str) -> bool {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if lower.contains("redacted") || lower.contains("removed") || lower.contains("masked") {
        return true;
    }
    // Any part (domain, user, UPN prefix) made only of mask characters.
    t.split(['\\', '@']).filter(|p| !p.is_empty()).any(|p| {
        let p = p.trim_matches(['[', ']', '<', '>', '(', ')', '{', '}']);
        p.len() >= 2
            && (p
                .chars()
                .all(|c| matches!(c, '*' | '#' | '?' | '•' | '█' | '.'))
                && p.chars().any(|c| c != '.')
                || p.chars().all(|c| c == 'x' || c == 'X') && p.len() >= 3)
    })
}

/// The comparable key of a machine name: `RPA-VM01`, `rpa-vm01.contoso.com`, `\\RPA-VM01` and
/// `RPA-VM01$` all give `rpa-vm01`. `None` for empty, masked, `-`, `LOCAL`, IP addresses and
/// GUIDs (a Power Automate machine id is not a host name).
pub fn host_key(name: &str) -> Option<String> {
    let t = name.trim().trim_start_matches('\\').trim_end_matches('$');
    if t.is_empty() || t == "-" || t.eq_ignore_ascii_case("local") || is_masked(t) {
        return None;
    }
    if t.parse::<std::net::IpAddr>().is_ok() || is_guid(t) {
        return None;
    }
    let first = t.split('.').next().unwrap_or(t);
    (!first.is_empty()).then(|| first.to_ascii_lowercase())
}

/// A GUID as Windows and Entra write them (`6b1f0a52-3c9d-4e8a-a7f1-2d5c9e0b7a34`, braces or
/// not): a tenant, device or machine id, never a name.
pub fn is_guid(s: &str) -> bool {
    let s = s.trim_matches(['{', '}']);
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Identity {
    /// Parse one written account name. Returns `None` for empty / `-` / masked values.
    pub fn parse(raw: &str) -> Option<Identity> {
        let s = raw.trim();
        if is_empty_value(s) || is_masked(s) {
            return None;
        }
        if is_sid(s) {
            return Some(Identity {
                raw: s.to_string(),
                form: Form::Sid,
                user: String::new(),
                domain: None,
                sid: Some(s.to_ascii_uppercase()),
            });
        }
        // `AzureAD\user@contoso.com` is accepted at sign-in: the UPN wins.
        let (prefix, rest) = match s.split_once('\\') {
            Some((d, u)) => (Some(d.trim()), u.trim()),
            None => (None, s),
        };
        if let Some((user, suffix)) = rest.split_once('@') {
            if !user.is_empty() && !suffix.is_empty() {
                return Some(Identity {
                    raw: s.to_string(),
                    form: Form::Upn,
                    user: user.to_lowercase(),
                    domain: Some(suffix.to_lowercase()),
                    sid: None,
                });
            }
        }
        if rest.is_empty() {
            return None;
        }
        let user = rest.to_lowercase();
        let (form, domain) = match prefix {
            None => (Form::Bare, None),
            Some(d) if d.eq_ignore_ascii_case("azuread") => (Form::AzureAd, Some("azuread".into())),
            Some(d) if d == "." || d.eq_ignore_ascii_case("local") => (Form::Local, None),
            Some("") => (Form::Bare, None),
            Some(d) => (Form::DomainUser, Some(d.to_lowercase())),
        };
        Some(Identity {
            raw: s.to_string(),
            form,
            user,
            domain,
            sid: None,
        })
    }

    /// An identity from an event's account fields (name, domain, SID).
    pub fn from_account(acc: &Account) -> Option<Identity> {
        let name = acc.name.as_deref().filter(|n| !is_empty_value(n));
        let domain = acc.domain.as_deref().filter(|d| !is_empty_value(d));
        let sid = acc
            .sid
            .as_deref()
            .filter(|s| !is_empty_value(s))
            .map(str::to_ascii_uppercase);
        let mut id = match (name, domain) {
            (Some(n), Some(d)) if !n.contains('@') && !n.contains('\\') => {
                Identity::parse(&format!("{d}\\{n}"))?
            }
            (Some(n), _) => Identity::parse(n)?,
            (None, _) => Identity::parse(sid.as_deref()?)?,
        };
        if id.sid.is_none() {
            id.sid = sid;
        }
        Some(id)
    }

    /// Does this name the same account as `other`, possibly? (Anything but [`Match::Different`].)
    pub fn matches(&self, other: &Identity) -> bool {
        self.compare(other, None) != Match::Different
    }

    /// How far this and `other` are shown to be one account. SIDs decide when both have one;
    /// otherwise the user parts must be equal and the domains must say the same account.
    /// `machine` (a [`host_key`]) is the machine both names were used on, when known: it tells
    /// `.\user` and `MACHINE\user` apart from a domain account.
    pub fn compare(&self, other: &Identity, machine: Option<&str>) -> Match {
        if let (Some(a), Some(b)) = (&self.sid, &other.sid) {
            return if a == b {
                Match::Same
            } else {
                Match::Different
            };
        }
        if self.user.is_empty() || other.user.is_empty() {
            // A SID on one side, a name on the other: nothing ties or parts them.
            return Match::Possible;
        }
        if self.user != other.user {
            return Match::Different;
        }
        domains_match(self, other, machine)
    }
    /// True for an Entra user SID (`S-1-12-1-…`) or the `AzureAD\` form.
    pub fn is_entra(&self) -> bool {
        self.form == Form::AzureAd
            || self
                .sid
                .as_deref()
                .is_some_and(|s| s.starts_with("S-1-12-1-"))
    }

    /// Machine accounts (`HOST$`) and well-known service identities are never a run's user.
    pub fn is_machine_or_service(&self) -> bool {
        self.user.ends_with('$')
            || matches!(
                self.user.as_str(),
                "system" | "local service" | "network service" | "anonymous logon" | "dwm-1"
            )
            || self.user.starts_with("umfd-")
            || self.user.starts_with("dwm-")
            || self
                .sid
                .as_deref()
                .is_some_and(|s| matches!(s, "S-1-5-18" | "S-1-5-19" | "S-1-5-20" | "S-1-5-7"))
    }
}

fn domains_match(a: &Identity, b: &Identity, machine: Option<&str>) -> Match {
    use Form::*;
    use Match::*;
    let local_name = |d: &Option<String>| match (d.as_deref(), machine) {
        (Some(d), Some(m)) => {
            if host_key(d).as_deref() == Some(m) {
                Same
            } else {
                Different
            }
        }
        _ => Possible,
    };
    match (a.form, b.form) {
        // A bare name says nothing about the domain.
        (Bare, _) | (_, Bare) => Possible,
        (Sid, _) | (_, Sid) => Possible,
        (Upn, Upn) | (DomainUser, DomainUser) => {
            if a.domain == b.domain {
                Same
            } else {
                Different
            }
        }
        (AzureAd, AzureAd) | (Local, Local) => Same,
        // `.\user` is the local account of the machine it is used on.
        (Local, DomainUser) => local_name(&b.domain),
        (DomainUser, Local) => local_name(&a.domain),
        (Local, _) | (_, Local) => Different,
        // `AzureAD\jdoe` and `jdoe@contoso.com`: the short name is often, not always, the UPN
        // prefix; evidence (dsregcmd's alias pair, a SID) has to tie them.
        (AzureAd, Upn) | (Upn, AzureAd) => Possible,
        // `CONTOSO\jdoe` and `jdoe@contoso.com`: plausible when the NetBIOS name is the first
        // label of the UPN suffix (the common default), but other mappings exist.
        (DomainUser, Upn) => fits(netbios_fits(a.domain.as_deref(), b.domain.as_deref())),
        (Upn, DomainUser) => fits(netbios_fits(b.domain.as_deref(), a.domain.as_deref())),
        (AzureAd, DomainUser) | (DomainUser, AzureAd) => Different,
    }
}

fn fits(b: bool) -> Match {
    if b {
        Match::Possible
    } else {
        Match::Different
    }
}

fn netbios_fits(netbios: Option<&str>, suffix: Option<&str>) -> bool {
    match (netbios, suffix) {
        (Some(n), Some(s)) => s.split('.').next() == Some(n),
        _ => false,
    }
}

pub fn is_sid(s: &str) -> bool {
    let s = s.trim();
    (s.starts_with("S-1-") || s.starts_with("s-1-"))
        && s[4..]
            .split('-')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Several forms known to name one account, with where each alias was learned.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdentitySet {
    pub ids: Vec<Identity>,
    /// Why aliases were added (`dsregcmd.txt line 52: Executing Account Name`).
    pub learned_from: Vec<String>,
}

impl IdentitySet {
    pub fn new(first: Identity) -> Self {
        IdentitySet {
            ids: vec![first],
            learned_from: Vec::new(),
        }
    }

    pub fn primary(&self) -> Option<&Identity> {
        self.ids.first()
    }

    pub fn matches(&self, other: &Identity) -> bool {
        self.compare(other, None) != Match::Different
    }

    /// The best match of any alias with `other`; a SID of the account that differs from
    /// `other`'s SID makes it [`Match::Different`] whatever the names say.
    pub fn compare(&self, other: &Identity, machine: Option<&str>) -> Match {
        if let Some(theirs) = &other.sid {
            let mut mine = self.sids().peekable();
            if mine.peek().is_some() {
                return if mine.any(|s| s == theirs) {
                    Match::Same
                } else {
                    Match::Different
                };
            }
        }
        self.ids
            .iter()
            .map(|i| i.compare(other, machine))
            .max()
            .unwrap_or(Match::Different)
    }

    /// Shown to be this account (see [`Match::Same`]).
    pub fn is(&self, other: &Identity, machine: Option<&str>) -> bool {
        self.compare(other, machine) == Match::Same
    }

    pub fn matches_account(&self, acc: &Account) -> bool {
        Identity::from_account(acc).is_some_and(|i| self.matches(&i))
    }

    /// Add aliases that are proven to be the same account when one of them is shown to be it.
    pub fn absorb(&mut self, aliases: &[Identity], why: &str) -> bool {
        if !aliases.iter().any(|a| self.compare(a, None) == Match::Same) {
            return false;
        }
        let mut added = false;
        for a in aliases {
            if !self.ids.iter().any(|i| i == a) {
                self.ids.push(a.clone());
                added = true;
            }
        }
        if added {
            self.learned_from.push(why.to_string());
        }
        added
    }

    /// Every SID known for the account.
    pub fn sids(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().filter_map(|i| i.sid.as_deref())
    }
}

/// Parse dsregcmd's `Executing Account Name` (`AzureAD\jdoe, jdoe@contoso.com`) into its aliases.
pub fn parse_alias_list(s: &str) -> Vec<Identity> {
    s.split(',').filter_map(Identity::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Identity {
        Identity::parse(s).unwrap()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(id("JDoe@Contoso.com").form, Form::Upn);
        assert_eq!(id("JDoe@Contoso.com").user, "jdoe");
        assert_eq!(id("CONTOSO\\jdoe").form, Form::DomainUser);
        assert_eq!(id("AzureAD\\JohnDoe").form, Form::AzureAd);
        assert_eq!(id(".\\rpa").form, Form::Local);
        assert_eq!(id("rpa").form, Form::Bare);
        assert_eq!(id("AzureAD\\jdoe@contoso.com").form, Form::Upn);
        assert_eq!(id("S-1-12-1-1-2-3-4").form, Form::Sid);
        assert!(Identity::parse("-").is_none());
        assert!(Identity::parse("S-1-0-0").is_none());
    }

    #[test]
    fn matches_across_forms() {
        assert!(id("jdoe@contoso.com").matches(&id("CONTOSO\\JDOE")));
        assert!(id("jdoe@contoso.com").matches(&id("AzureAD\\jdoe")));
        assert!(id("jdoe@contoso.com").matches(&id("jdoe")));
        assert!(id(".\\rpa").matches(&id("RPA-VM01\\rpa")));
        assert!(!id("jdoe@contoso.com").matches(&id("jdoe@fabrikam.com")));
        assert!(!id("CONTOSO\\jdoe").matches(&id("FABRIKAM\\jdoe")));
        assert!(!id("jdoe@contoso.com").matches(&id("asmith@contoso.com")));
        let mut a = id("AzureAD\\JohnDoe");
        a.sid = Some("S-1-12-1-1-2-3-4".into());
        let mut b = id("john.doe@contoso.com");
        b.sid = Some("S-1-12-1-1-2-3-4".into());
        assert!(a.matches(&b), "same SID decides");
    }

    #[test]
    fn alias_sets_learn_from_evidence() {
        let mut set = IdentitySet::new(id("john.doe@contoso.com"));
        assert!(!set.matches(&id("AzureAD\\JohnDoe")));
        let aliases = parse_alias_list("AzureAD\\JohnDoe, john.doe@contoso.com");
        assert!(set.absorb(&aliases, "dsregcmd Executing Account Name"));
        assert!(set.matches(&id("AzureAD\\JohnDoe")));
        assert!(!set.absorb(&parse_alias_list("CONTOSO\\other, other@contoso.com"), "x"));
    }

    #[test]
    fn machine_accounts_are_recognised() {
        assert!(id("CONTOSO\\RPA-VM01$").is_machine_or_service());
        assert!(id("NT AUTHORITY\\SYSTEM").is_machine_or_service());
        assert!(!id("jdoe@contoso.com").is_machine_or_service());
    }
}
