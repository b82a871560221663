//! The identifiers a bundle's evidence holds: accounts, domains, machines, SIDs, addresses,
//! tenants and device ids, read from the typed fields of its events, dumps and file reports
//! (by what the fields are called, so that a source added later is read the same way), and
//! from the accounts its log text quotes (`for user 'jdoe@contoso.com'`).

use super::{is_generic, is_service_domain, is_well_known_ip, is_well_known_sid, Class};
use crate::model::FileReport;
use crate::sources::dsregcmd::DsregSnapshot;
use crate::sources::Event;
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

/// Identifiers by their lower-case text.
#[derive(Debug, Clone, Default)]
pub struct Identifiers {
    known: BTreeMap<String, Class>,
    /// Field values already looked at, by field name: most events repeat the same accounts
    /// and machines, and a value seen once need not be parsed again.
    seen: HashMap<String, HashSet<String>>,
}

/// [`Identifiers`] gathered from many threads at once: one set per thread (by a hash of its
/// id), so that threads rarely wait for each other.
#[derive(Debug)]
pub struct SharedIdentifiers {
    shards: Vec<Mutex<Identifiers>>,
}

impl Default for SharedIdentifiers {
    fn default() -> Self {
        SharedIdentifiers {
            shards: (0..16)
                .map(|_| Mutex::new(Identifiers::default()))
                .collect(),
        }
    }
}

impl SharedIdentifiers {
    pub fn add_event(&self, ev: &Event) {
        use std::hash::{BuildHasher, RandomState};
        thread_local! {
            static SHARD: usize = RandomState::new().hash_one(std::thread::current().id()) as usize;
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let shard = SHARD.with(|s| *s) % self.shards.len();
        BUF.with(|buf| {
            let Ok(mut buf) = buf.try_borrow_mut() else {
                return;
            };
            buf.clear();
            if serde_json::to_writer(&mut *buf, ev).is_ok() {
                if let Ok(line) = std::str::from_utf8(&buf) {
                    self.shards[shard]
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .add_json(line);
                }
            }
        });
    }

    /// Everything gathered, in one set.
    pub fn take(&self) -> Identifiers {
        let mut all = Identifiers::default();
        for s in &self.shards {
            all.merge(std::mem::take(
                &mut *s.lock().unwrap_or_else(|p| p.into_inner()),
            ));
        }
        all
    }
}

/// Accounts quoted in log text: `user 'jdoe@contoso.com'`, `account: CONTOSO\jdoe`.
fn quoted_account() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?i)\b(?:user|account|username|user name)\s*[:=]?\s*['"]([^'"\s]{1,256})['"]"#,
        )
        .unwrap_or_else(|e| panic!("the quoted-account pattern is valid: {e}"))
    })
}

fn is_guid(s: &str) -> bool {
    let s = s.trim_matches(|c| c == '{' || c == '}');
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl Identifiers {
    pub fn iter(&self) -> impl Iterator<Item = (&String, Class)> {
        self.known.iter().map(|(k, c)| (k, *c))
    }

    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    pub fn merge(&mut self, other: Identifiers) {
        for (k, c) in other.known {
            self.known.entry(k).or_insert(c);
        }
        for (k, vs) in other.seen {
            self.seen.entry(k).or_default().extend(vs);
        }
    }

    /// Add an identifier of a class, unless it is nothing (empty, a dash, a number, a code,
    /// a placeholder) or identifies no one.
    pub fn add(&mut self, class: Class, text: &str) {
        let t = text.trim().trim_matches(|c| c == '\'' || c == '"');
        if t.chars().count() < 2
            || t.len() > 256
            || is_generic(t)
            || t.bytes().all(|b| b.is_ascii_digit())
            || t.starts_with("0x")
            || t.starts_with("%%")
            || matches!(
                t.to_ascii_lowercase().as_str(),
                "n/a" | "none" | "null" | "(null)" | "unknown" | "true" | "false" | "yes" | "no"
            )
        {
            return;
        }
        if class == Class::Sid && is_well_known_sid(t) {
            return;
        }
        self.known.entry(t.to_lowercase()).or_insert(class);
    }

    /// An account in any form: `DOMAIN\user`, `user@domain`, `.\user`, `MACHINE$`, a bare
    /// name, or a list of them (`AzureAD\jdoe, jdoe@contoso.com`).
    pub fn add_account(&mut self, text: &str) {
        for one in text.split([',', ';']) {
            let one = one.trim();
            if one.starts_with("S-1-") || one.starts_with("s-1-") {
                self.add(Class::Sid, one);
            } else if let Some((domain, user)) = one.split_once('\\') {
                if !is_service_domain(domain) {
                    self.add_domain(domain);
                    self.add_account(user);
                }
            } else if let Some((user, domain)) = one.split_once('@') {
                self.add(Class::User, user);
                self.add(Class::Dns, domain);
            } else if let Some(machine) = one.strip_suffix('$') {
                self.add_host(machine);
            } else if !one.contains(char::is_whitespace) {
                self.add(Class::User, one);
            }
        }
    }

    /// A domain: NetBIOS (`CONTOSO`) or DNS (`contoso.com`).
    pub fn add_domain(&mut self, text: &str) {
        let class = if text.contains('.') {
            Class::Dns
        } else {
            Class::Domain
        };
        self.add(class, text);
    }

    /// A machine: `RPA-VM01`, or `RPA-VM06.corp.contoso.com` (the machine and its domain).
    pub fn add_host(&mut self, text: &str) {
        let t = text.trim().trim_start_matches('\\');
        if let Ok(ip) = t.parse::<std::net::IpAddr>() {
            if !is_well_known_ip(&ip) {
                self.add(Class::Ip, t);
            }
            return;
        }
        match t.split_once('.') {
            Some((host, domain)) => {
                self.add(Class::Host, host);
                self.add(Class::Dns, domain);
            }
            None => self.add(Class::Host, t),
        }
    }

    /// Accounts quoted in free text.
    pub fn add_text(&mut self, text: &str) {
        for c in quoted_account().captures_iter(text) {
            if let Some(m) = c.get(1) {
                self.add_account(m.as_str());
            }
        }
    }

    /// Everything an event names, by its fields' names.
    pub fn add_event(&mut self, ev: &Event) {
        if let Ok(line) = serde_json::to_string(ev) {
            self.add_json(&line);
        }
    }

    /// Everything a serialized record (one line of JSON) names, by its fields' names. Accounts
    /// of a service domain (`NT SERVICE\\UIFlowService`: `"name"` after a `"domain"` of
    /// `NT SERVICE`) name a service, not a person.
    fn add_json(&mut self, line: &str) {
        // Accounts are `{"name", "domain", "sid"}`: names wait for the domain beside them.
        let mut accounts: Vec<(bool, String)> = Vec::new();
        super::lines::json_strings(line, |key, _, _, value| match key {
            "name" => accounts.push((true, value.to_string())),
            "domain" => accounts.push((false, value.to_string())),
            _ => {
                if self.first_time(key, value) {
                    self.add_field(key, value);
                }
            }
        });
        for (i, (is_name, value)) in accounts.iter().enumerate() {
            // An account is written name first: its domain is the next entry.
            let service = accounts
                .get(i + 1)
                .is_some_and(|(n, d)| !n && is_service_domain(d));
            if *is_name && service {
                continue;
            }
            let key = if *is_name { "name" } else { "domain" };
            if self.first_time(key, value) {
                self.add_field(key, value);
            }
        }
    }

    /// Whether a field's value is new (and remember it).
    fn first_time(&mut self, key: &str, value: &str) -> bool {
        if self.seen.get(key).is_some_and(|s| s.contains(value)) {
            return false;
        }
        self.seen
            .entry(key.to_string())
            .or_default()
            .insert(value.to_string())
    }

    /// Everything a dsregcmd dump names.
    pub fn add_snapshot(&mut self, s: &DsregSnapshot) {
        if let Ok(v) = serde_json::to_value(s) {
            self.add_value(&v, "");
        }
    }

    /// The machines a file's records name.
    pub fn add_file(&mut self, f: &FileReport) {
        for c in &f.computers {
            self.add_host(c);
        }
    }

    fn add_value(&mut self, v: &Value, key: &str) {
        match v {
            Value::Object(m) => {
                // An account of a service domain (NT SERVICE\UIFlowService) names a service.
                let service = m
                    .get("domain")
                    .and_then(Value::as_str)
                    .is_some_and(is_service_domain);
                for (k, x) in m {
                    if service && k == "name" {
                        continue;
                    }
                    self.add_value(x, k);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| self.add_value(x, key)),
            Value::String(s) => self.add_field(key, s),
            _ => {}
        }
    }

    fn add_field(&mut self, key: &str, s: &str) {
        let k = key.to_ascii_lowercase();
        match k.as_str() {
            "sid" | "user_sid" | "subject_sid" | "target_sid" => self.add(Class::Sid, s),
            "domain" | "domain_name" | "netbios_domain" => self.add_domain(s),
            "computer" | "workstation" | "machine" | "device_name" | "target_server" | "host"
            | "hostname" | "client_name" | "machine_name" => self.add_host(s),
            "ip_address" | "address" | "ip" | "source_address" | "client_address" => {
                self.add_host(s)
            }
            "tenant_name" | "organization" | "org_name" => self.add(Class::Org, s),
            "message" | "text" | "summary" | "error_message" | "description" => self.add_text(s),
            _ if k == "name"
                || k.contains("user")
                || k.contains("account")
                || k.contains("upn") =>
            {
                self.add_account(s)
            }
            _ if (k.ends_with("_id") || k == "id") && is_guid(s) => self.add(Class::Guid, s),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_in_every_form() {
        let mut ids = Identifiers::default();
        ids.add_account("AzureAD\\itadmin, itadmin@contoso.com");
        ids.add_account(".\\rpa-runner");
        ids.add_account("CONTOSO\\mgarcia");
        ids.add_account("RPA-VM01$");
        ids.add_account("NT AUTHORITY\\SYSTEM");
        ids.add_host("RPA-VM06.corp.contoso.com");
        ids.add_host("127.0.0.1");
        ids.add_host("10.20.1.15");
        ids.add(Class::Sid, "S-1-5-18");
        ids.add(Class::User, "admin");
        ids.add_text("Logon failed for user 'kbrown@fabrikam.com' with status -1073741715.");
        let got: Vec<(String, Class)> = ids.iter().map(|(k, c)| (k.clone(), c)).collect();
        let want = [
            ("10.20.1.15", Class::Ip),
            ("contoso", Class::Domain),
            ("contoso.com", Class::Dns),
            ("corp.contoso.com", Class::Dns),
            ("fabrikam.com", Class::Dns),
            ("itadmin", Class::User),
            ("kbrown", Class::User),
            ("mgarcia", Class::User),
            ("rpa-runner", Class::User),
            ("rpa-vm01", Class::Host),
            ("rpa-vm06", Class::Host),
        ];
        // A service's account names a service; a person's beside it is kept.
        let mut svc = Identifiers::default();
        svc.add_json(
            r#"{"subject":{"name":"UIFlowService","domain":"NT SERVICE","sid":"S-1-5-80-1-2-3"},"target":{"name":"jdoe","domain":"AzureAD"},"ip_address":"10.1.2.3"}"#,
        );
        let names: Vec<&String> = svc.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["10.1.2.3", "jdoe"]);
        assert_eq!(
            got,
            want.iter()
                .map(|(k, c)| (k.to_string(), *c))
                .collect::<Vec<_>>()
        );
    }
}
