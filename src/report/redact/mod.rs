//! `--redact`: customer identifiers replaced by stable pseudonyms before a report is shared.
//!
//! What is an identifier comes from two places: the bundle's own evidence (`harvest`: every
//! account, domain, machine, SID, address, tenant and device id its events, dumps and files
//! name), and detectors for the shapes identifiers take anywhere in text (SIDs, GUIDs, IPv4
//! and IPv6 addresses, `user@domain`, `DOMAIN\user`, a profile folder `\Users\name`). A
//! pseudonym is the HMAC-SHA256 of the identifier (its kind and its lower-case text) under a
//! key, shortened: `user-3fa2b1c0`, `DOMAIN-9C04E1A2`, `host-…`, `SID-…`, `ip-…`, `guid-…`,
//! `org-…`; the same identifier and key give the same pseudonym in every report and bundle.
//!
//! What stays: codes (NTSTATUS, 0xCAA…, AADSTS, event ids), times, cause ids, padtriage's own
//! words (rule titles, fixes, what to collect), well-known accounts and SIDs (SYSTEM, LOCAL
//! SERVICE, NETWORK SERVICE, S-1-5-18/19/20, NT AUTHORITY, AzureAD, BUILTIN, Administrator,
//! Guest) and generic names that identify no one (`admin`, `test`, `user`: the names a
//! password spray tries), loopback addresses.
//!
//! Reports are redacted as documents (`Redactor::analysis`, `Redactor::files`: every string of
//! the document but padtriage's own vocabulary, then rendered as usual, so every format says
//! the same); the streaming timeline line by line (`lines`).

mod harvest;
mod lines;

pub use harvest::{Identifiers, SharedIdentifiers};
pub use lines::{LineSyntax, RedactLines};

use crate::model::FileReport;
use crate::report::analysis::Analysis;
use hmac::{Hmac, KeyInit, Mac};
use regex::Regex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// What an identifier is, which decides its pseudonym's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// An account name (`jdoe`, the part of a UPN before `@`).
    User,
    /// A NetBIOS domain (`CONTOSO`).
    Domain,
    /// A DNS domain (`contoso.com`, the part of a UPN after `@`).
    Dns,
    /// A machine (`RPA-VM01`).
    Host,
    Sid,
    Ip,
    Guid,
    /// An organisation's name (a tenant's display name).
    Org,
}

impl Class {
    fn tag(self) -> &'static str {
        match self {
            Class::User => "user",
            Class::Domain => "DOMAIN",
            Class::Dns => "domain",
            Class::Host => "host",
            Class::Sid => "SID",
            Class::Ip => "ip",
            Class::Guid => "guid",
            Class::Org => "org",
        }
    }
}

/// Account and domain names that identify no one: built-in accounts, the names every password
/// spray tries, and the placeholders padtriage's own text uses (`user@domain.com`,
/// `DOMAIN\user`, `MACHINE\user`). Left as they are, so that the report's own words survive.
const GENERIC: &[&str] = &[
    // Built-in accounts and domains.
    "system",
    "local service",
    "network service",
    "anonymous logon",
    "administrator",
    "guest",
    "defaultaccount",
    "wdagutilityaccount",
    "krbtgt",
    "nt authority",
    "authority",
    "nt service",
    "service",
    "azuread",
    "builtin",
    "workgroup",
    "window manager",
    "font driver host",
    "manager",
    "microsoftaccount",
    "localhost",
    "-",
    ".",
    // What sprays try.
    "admin",
    "user",
    "users",
    "test",
    "backup",
    "support",
    "helpdesk",
    "reception",
    "office",
    "it",
    "sql",
    "ftp",
    "temp",
    "scanner",
    "root",
    "demo",
    "default",
    "public",
    "guest1",
    "administrateur",
    "operator",
    "info",
    "sales",
    "web",
    "www",
    "oracle",
    "postgres",
    "mysql",
    // padtriage's placeholders.
    "domain",
    "domain.com",
    "machine",
];

/// Domains of Windows' own service and virtual accounts: `NT SERVICE\UIFlowService` names a
/// service, `Window Manager\DWM-1` a session's window manager, not a person. (A domain of
/// two words is seen by its last in text.)
const SERVICE_DOMAINS: &[&str] = &[
    "nt service",
    "service",
    "nt authority",
    "authority",
    "window manager",
    "manager",
    "font driver host",
    "host",
    "iis apppool",
    "apppool",
    "nt virtual machine",
];

/// Whether accounts of this domain are Windows' own (their names are services, not people).
pub fn is_service_domain(domain: &str) -> bool {
    SERVICE_DOMAINS.contains(&domain.trim().to_ascii_lowercase().as_str())
}

/// Whether a name identifies no one (see [`GENERIC`]; also Windows' per-session virtual
/// accounts `DWM-1`, `UMFD-0`).
pub fn is_generic(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    if GENERIC.contains(&n.as_str()) {
        return true;
    }
    let virtual_account = |prefix: &str| {
        n.strip_prefix(prefix)
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    };
    virtual_account("dwm-") || virtual_account("umfd-")
}

/// SIDs of no one in particular: the same on every Windows machine (S-1-5-18 SYSTEM, builtin
/// groups S-1-5-32-…, service SIDs S-1-5-80-… derived from public service names, integrity
/// levels). Domain, machine and Entra ID account SIDs (S-1-5-21-…, S-1-12-1-…) are not.
pub fn is_well_known_sid(sid: &str) -> bool {
    let s = sid.to_ascii_uppercase();
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        ["S", "1", "0" | "1" | "2" | "3" | "16", ..] => true,
        ["S", "1", "5", sub] => sub
            .parse::<u32>()
            .is_ok_and(|n| n <= 20 || n == 113 || n == 114),
        ["S", "1", "5", "32" | "64" | "80" | "83" | "90" | "96", ..] => true,
        _ => false,
    }
}

/// Addresses of no one: loopback, unspecified, broadcast.
pub fn is_well_known_ip(ip: &std::net::IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || *ip == std::net::Ipv4Addr::BROADCAST
}

/// File extensions that make `folder\file.ext` a path rather than `DOMAIN\user`.
const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "log", "txt", "evtx", "xml", "json", "csv", "zip", "ini", "config", "ps1",
    "bat", "cmd", "msc", "etl", "dat", "tmp",
];

/// Every shape an identifier takes in text, tried in this order at each position.
fn scanner() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?xi)
            (?P<sid>\bS-1-\d+(?:-\d+)+)
          | (?P<guid>\{?\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b\}?)
          | (?P<account>(?:[\w$.-]+|\.)\\[\w$.@-]+)
          | (?P<upn>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)
          | (?P<ipv4>\b(?:\d{1,3}\.){3}\d{1,3}\b)
          | (?P<ipv6>(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:%\w+)?)
          | (?P<word>[\w$-]+(?:\.[\w$-]+)*)
            ",
        )
        .unwrap_or_else(|e| panic!("the redaction scanner is a valid pattern: {e}"))
    })
}

/// What a scanner match is, by the alternative that can produce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Sid,
    Guid,
    Account,
    Upn,
    Ipv4,
    Ipv6,
    Word,
}

fn shape(text: &str) -> Shape {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if text.contains('\\') {
        return Shape::Account;
    }
    if text.contains('@') {
        return Shape::Upn;
    }
    if text.contains(':') {
        return Shape::Ipv6;
    }
    if let Some(rest) = text.get(..4).filter(|p| p.eq_ignore_ascii_case("s-1-")) {
        let _ = rest;
        if text[4..].split('-').all(digits) {
            return Shape::Sid;
        }
    }
    let inner = text.trim_matches(|c| c == '{' || c == '}');
    if inner.len() == 36
        && inner.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
    {
        return Shape::Guid;
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() == 4 && parts.iter().all(|p| digits(p) && p.len() <= 3) {
        return Shape::Ipv4;
    }
    Shape::Word
}

/// Replaces identifiers with keyed pseudonyms.
pub struct Redactor {
    /// HMAC-SHA256 keyed, ready to be cloned for each identifier.
    mac: Hmac<Sha256>,
    /// Known identifiers by their lower-case text (single words; see `phrases`).
    known: HashMap<String, Class>,
    /// Known identifiers with a space in them (a tenant's name), longest first.
    phrases: Option<Regex>,
    phrase_class: HashMap<String, Class>,
}

impl Redactor {
    /// A redactor for the identifiers `ids` (and everything the detectors find) under `key`.
    pub fn new(key: &[u8], ids: &Identifiers) -> std::io::Result<Redactor> {
        // HMAC takes a key of any length; the error is the type's, never seen.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .map_err(|e| std::io::Error::other(format!("redaction key: {e}")))?;
        let mut known = HashMap::new();
        let mut phrase_class = HashMap::new();
        for (text, class) in ids.iter() {
            if text.contains(char::is_whitespace) {
                phrase_class.insert(text.clone(), class);
            } else {
                known.entry(text.clone()).or_insert(class);
            }
        }
        let mut phrases: Vec<&String> = phrase_class.keys().collect();
        phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let phrases = (!phrases.is_empty())
            .then(|| {
                let alt = phrases
                    .iter()
                    .map(|p| regex::escape(p))
                    .collect::<Vec<_>>()
                    .join("|");
                Regex::new(&format!(r"(?i)\b(?:{alt})\b")).ok()
            })
            .flatten();
        Ok(Redactor {
            mac,
            known,
            phrases,
            phrase_class,
        })
    }

    /// A key for one run, when none is given: 32 random bytes.
    pub fn random_key() -> std::io::Result<Vec<u8>> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(key)
    }

    /// The pseudonym of an identifier of a class.
    pub fn pseudonym(&self, class: Class, text: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(class.tag().as_bytes());
        mac.update(b"\0");
        mac.update(text.trim().to_lowercase().as_bytes());
        let sum = mac.finalize().into_bytes();
        let hex: String = sum[..4].iter().map(|b| format!("{b:02x}")).collect();
        match class {
            Class::Domain => format!("{}-{}", class.tag(), hex.to_ascii_uppercase()),
            _ => format!("{}-{hex}", class.tag()),
        }
    }

    fn known(&self, word: &str) -> Option<Class> {
        self.known.get(&word.to_lowercase()).copied()
    }

    /// The text with every identifier replaced.
    pub fn redact<'s>(&self, s: &'s str) -> Cow<'s, str> {
        // Spans to replace, in order, never overlapping.
        let mut spans: Vec<(usize, usize, String)> = Vec::new();
        if let Some(re) = &self.phrases {
            for m in re.find_iter(s) {
                let class = self
                    .phrase_class
                    .get(&m.as_str().to_lowercase())
                    .copied()
                    .unwrap_or(Class::Org);
                spans.push((m.start(), m.end(), self.pseudonym(class, m.as_str())));
            }
        }
        let mut at = 0;
        let re = scanner();
        // The scanner finds where a candidate is (its fast path has no capture groups); what
        // it is follows from its shape, as only one alternative can produce each shape.
        while let Some(m) = re.find_at(s, at) {
            if m.end() <= at {
                break;
            }
            at = m.end();
            if spans.iter().any(|(a, b, _)| m.start() < *b && *a < m.end()) {
                continue;
            }
            let before = s[..m.start()].chars().next_back();
            let after = s[m.end()..].chars().next();
            let text = m.as_str();
            let mut out = Vec::new();
            match shape(text) {
                Shape::Sid => {
                    if !is_well_known_sid(text) {
                        out.push((0, text.len(), self.pseudonym(Class::Sid, text)));
                    }
                }
                Shape::Guid => {
                    let inner = text.trim_matches(|c| c == '{' || c == '}');
                    if inner.bytes().any(|b| b != b'0' && b != b'-') {
                        let off = text.find(inner).unwrap_or(0);
                        out.push((off, off + inner.len(), self.pseudonym(Class::Guid, inner)));
                    }
                }
                Shape::Account => {
                    // The word before, when it is a path's (`Power Automate\Logs`).
                    let prev = s[..m.start()].trim_end_matches(' ');
                    let prev = prev.rsplit(' ').next().unwrap_or_default();
                    let path_before = before == Some(' ')
                        && prev.contains(['\\', '/'])
                        && !prev.ends_with([',', ';']);
                    self.account(text, before, after, path_before, &mut out);
                }
                Shape::Upn => self.upn(text, 0, &mut out),
                shape @ (Shape::Ipv4 | Shape::Ipv6) => {
                    let bare = text.split('%').next().unwrap_or(text);
                    // An address stands alone: not `Error::F` in `Error::Foo`.
                    let alone = !before.is_some_and(|c| c.is_alphanumeric() || c == ':')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == ':');
                    if let (true, Ok(ip)) = (alone, bare.parse::<std::net::IpAddr>()) {
                        if !is_well_known_ip(&ip) {
                            out.push((0, text.len(), self.pseudonym(Class::Ip, bare)));
                        }
                    } else if shape == Shape::Ipv4 {
                        // Not an address (a version number 2.52.300.1): maybe names, though.
                        self.words(text, 0, &mut out);
                    }
                }
                Shape::Word => self.words(text, 0, &mut out),
            }
            spans.extend(
                out.into_iter()
                    .map(|(a, b, p)| (m.start() + a, m.start() + b, p)),
            );
        }
        if spans.is_empty() {
            return Cow::Borrowed(s);
        }
        spans.sort_by_key(|(a, _, _)| *a);
        let mut out = String::with_capacity(s.len() + 16 * spans.len());
        let mut last = 0;
        for (a, b, p) in spans {
            if a < last {
                continue;
            }
            out.push_str(&s[last..a]);
            out.push_str(&p);
            last = b;
        }
        out.push_str(&s[last..]);
        Cow::Owned(out)
    }

    /// `DOMAIN\user`, `.\user`, `AzureAD\user@domain`; or a path (`Desktop\app.exe`,
    /// `Windows\System32`), whose names are looked up one by one.
    fn account(
        &self,
        text: &str,
        before: Option<char>,
        after: Option<char>,
        path_before: bool,
        out: &mut Vec<(usize, usize, String)>,
    ) {
        let Some((domain, user)) = text.split_once('\\') else {
            return self.words(text, 0, out);
        };
        let ext = user
            .rsplit_once('.')
            .is_some_and(|(_, e)| FILE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        let in_path = path_before
            || matches!(before, Some('\\' | '/' | ':'))
            || matches!(after, Some('\\' | '/'));
        let user_at = domain.len() + 1;
        if in_path || ext {
            self.words(domain, 0, out);
            // A profile folder names its user: C:\Users\kbrown\AppData.
            if domain.eq_ignore_ascii_case("users") && !ext && !is_generic(user) {
                out.push((user_at, text.len(), self.pseudonym(Class::User, user)));
            } else {
                self.words(user, user_at, out);
            }
            return;
        }
        if is_service_domain(domain) {
            return;
        }
        if !is_generic(domain) {
            let class = match self.known(domain) {
                Some(Class::Host) => Class::Host,
                _ if domain.contains('.') => Class::Dns,
                _ => Class::Domain,
            };
            out.push((0, domain.len(), self.pseudonym(class, domain)));
        }
        if user.contains('@') {
            self.upn(user, user_at, out);
        } else if let Some(machine) = user.strip_suffix('$') {
            if !is_generic(machine) && !machine.is_empty() {
                out.push((
                    user_at,
                    user_at + machine.len(),
                    self.pseudonym(Class::Host, machine),
                ));
            }
        } else if !is_generic(user) {
            out.push((user_at, text.len(), self.pseudonym(Class::User, user)));
        }
    }

    /// `user@domain.com`: each side its own pseudonym (`user-…@domain-…`).
    fn upn(&self, text: &str, at: usize, out: &mut Vec<(usize, usize, String)>) {
        let Some((user, domain)) = text.split_once('@') else {
            return;
        };
        if !is_generic(user) {
            out.push((at, at + user.len(), self.pseudonym(Class::User, user)));
        }
        if !is_generic(domain) {
            let d = at + user.len() + 1;
            out.push((d, d + domain.len(), self.pseudonym(Class::Dns, domain)));
        }
    }

    /// A word or dotted name (`RPA-VM06.corp.contoso.com`, `PAD-Logs-jdoe.zip`): the longest
    /// runs of its parts (split at `.`, `-`, `_`) that are known identifiers are replaced.
    fn words(&self, text: &str, at: usize, out: &mut Vec<(usize, usize, String)>) {
        if self.known.is_empty() {
            return;
        }
        // Parts and where each starts and ends.
        let mut parts: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if matches!(c, '.' | '-' | '_' | '\\' | '@') {
                if i > start {
                    parts.push((start, i));
                }
                start = i + c.len_utf8();
            }
        }
        if start < text.len() {
            parts.push((start, text.len()));
        }
        let mut i = 0;
        while i < parts.len() {
            let mut found = None;
            for j in (i..parts.len()).rev() {
                let span = &text[parts[i].0..parts[j].1];
                // A machine account: the machine's name and a `$`.
                let name = span.strip_suffix('$').unwrap_or(span);
                if span.contains(['\\', '@']) {
                    continue;
                }
                if let Some(class) = self.known(name) {
                    found = Some((j, parts[i].0, parts[i].0 + name.len(), class, name));
                    break;
                }
            }
            match found {
                Some((j, a, b, class, name)) => {
                    out.push((at + a, at + b, self.pseudonym(class, name)));
                    i = j + 1;
                }
                None => i += 1,
            }
        }
    }

    /// The analysis with every string of the bundle's redacted: values only (the document's
    /// field names stay), and not padtriage's own vocabulary (times, verdicts, kinds, cause
    /// ids, rule titles and fixes). The answer lines are rebuilt from the redacted fields.
    pub fn analysis(&self, a: &Analysis) -> std::io::Result<Analysis> {
        let mut out: Analysis = self.document(a, ANALYSIS_KEEP)?;
        for (ans, run) in out.answer.iter_mut().zip(&out.runs) {
            ans.text = ans.line(run);
        }
        Ok(out)
    }

    /// The inventory's file reports, redacted the same way.
    pub fn files(&self, files: &[FileReport]) -> std::io::Result<Vec<FileReport>> {
        self.document(&files, FILES_KEEP)
    }

    fn document<T: Serialize, U: DeserializeOwned>(
        &self,
        doc: &T,
        keep: &[&str],
    ) -> std::io::Result<U> {
        let mut v = serde_json::to_value(doc).map_err(std::io::Error::other)?;
        self.value(&mut v, None, keep);
        serde_json::from_value(v).map_err(|e| std::io::Error::other(format!("redaction: {e}")))
    }

    fn value(&self, v: &mut Value, key: Option<&str>, keep: &[&str]) {
        match v {
            Value::String(s) => {
                if let Cow::Owned(r) = self.redact(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|x| self.value(x, key, keep)),
            Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    // Within a collect item, its `why` is the rule's; elsewhere it is not.
                    let path = match key {
                        Some(parent) => format!("{parent}.{k}"),
                        None => k.clone(),
                    };
                    if keep.contains(&k.as_str()) || keep.contains(&path.as_str()) {
                        continue;
                    }
                    self.value(x, Some(k.as_str()), keep);
                }
            }
            _ => {}
        }
    }
}

/// Fields of the analysis document that are padtriage's own vocabulary, never the bundle's.
const ANALYSIS_KEEP: &[&str] = &[
    "schema_version",
    "tool",
    "time",
    "from",
    "to",
    "times",
    "context_times",
    "time_basis",
    "verdict",
    "primary_verdict",
    "strength",
    "kind",
    "family",
    "cause",
    "primary_cause",
    "id",
    "source",
    "action",
    "user_basis",
    "error_meaning",
    "ntstatus",
    "summary",
    "title",
    "cause_title",
    "kb",
    "resolution",
    "describe",
    "command",
    "how",
    "next",
    "collect.why",
    "collect.causes",
];

/// The same for the inventory's file reports.
const FILES_KEEP: &[&str] = &["kind", "kinds", "channels", "first", "last"];

#[cfg(test)]
mod tests;
