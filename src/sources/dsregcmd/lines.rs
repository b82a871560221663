//! The line grammar of a dump: `key : value` lines, section banners, console noise, values
//! hard-wrapped at the console width, and the lines that are none of these; and where, in a
//! file of several runs, one dump ends and the next begins (a section printed again, a new
//! console prompt, the Device State keys again).

use super::paste::{is_caption, is_omission, is_partly_omitted, is_rule, unfence, unquote, Fenced};
use super::{DsregField, MAX_LINE_BYTES};
use crate::model::Problem;
use std::collections::{BTreeMap, HashSet};

/// `bad_line` problems listed one by one before the rest are summarised.
pub(super) const MAX_LISTED_BAD_LINES: u64 = 20;

/// A previous line at least this long may have been hard-wrapped at the console width (80 or
/// 120 columns, usually): only the line after such a line can be the rest of its value, and an
/// unindented line after it with an unknown key more likely is.
const WRAP_MIN_WIDTH: usize = 70;

/// Keys printed by the builds described in evidence-formats.md section 1. Lines with other keys
/// are kept too; this list only decides ambiguous wrapped lines and never filters fields.
const KNOWN_KEYS: &[&str] = &[
    // Device State / Device Details / Tenant Details
    "AzureAdJoined",
    "EnterpriseJoined",
    "DomainJoined",
    "DomainName",
    "Virtual Desktop",
    "Device Name",
    "DeviceId",
    "Thumbprint",
    "DeviceCertificateValidity",
    "KeyContainerId",
    "KeyProvider",
    "TpmProtected",
    "DeviceAuthStatus",
    "KeySignTest",
    "TenantName",
    "TenantId",
    "Idp",
    "AuthCodeUrl",
    "AccessTokenUrl",
    "MdmUrl",
    "MdmTouUrl",
    "MdmComplianceUrl",
    "dmComplianceUrl",
    "SettingsUrl",
    "JoinSrvVersion",
    "JoinSrvUrl",
    "JoinSrvId",
    "KeySrvVersion",
    "KeySrvUrl",
    "KeySrvId",
    "WebAuthNSrvVersion",
    "WebAuthNSrvUrl",
    "WebAuthNSrvId",
    "DeviceManagementSrvVer",
    "DeviceManagementSrvUrl",
    "DeviceManagementSrvId",
    // User State
    "NgcSet",
    "NgcKeyId",
    "CanReset",
    "WorkplaceJoined",
    "WorkAccountCount",
    "WamDefaultSet",
    "WamDefaultAuthority",
    "WamDefaultId",
    "WamDefaultGUID",
    // SSO State
    "AzureAdPrt",
    "AzureAdPrtUpdateTime",
    "AzureAdPrtExpiryTime",
    "AzureAdPrtAuthority",
    "AcquirePrtDiagnostics",
    "RefreshPrtDiagnostics",
    "Previous Prt Attempt",
    "Attempt Status",
    "User Identity",
    "Credential Type",
    "Correlation ID",
    "Endpoint URI",
    "HTTP Method",
    "HTTP Error",
    "HTTP status",
    "Server Error Code",
    "Server Error Description",
    "EnterprisePrt",
    "EnterprisePrtUpdateTime",
    "EnterprisePrtExpiryTime",
    "EnterprisePrtAuthority",
    "OnPremTgt",
    "CloudTgt",
    "KerbTopLevelNames",
    // Work Account N
    "WorkplaceDeviceId",
    "WorkplaceThumbprint",
    "WorkplaceTenantId",
    "WorkplaceTenantName",
    "WorkplaceMdmUrl",
    "WorkplaceSettingsUrl",
    // Diagnostic Data
    "Diagnostics Reference",
    "User Context",
    "Client Time",
    "AD Connectivity Test",
    "AD Configuration Test",
    "DRS Discovery Test",
    "DRS Connectivity Test",
    "Kerberos Ticket Test",
    "Token acquisition Test",
    "Fallback to Sync-Join",
    "Fallback to Fed-Join",
    "Previous Registration",
    "Registration Type",
    "Error Phase",
    "Client ErrorCode",
    "Server ErrorCode",
    "Server Message",
    "Https Status",
    "Request Id",
    "AadRecoveryEnabled",
    "Executing Account Name",
    "DisplayNameUpdated",
    "OsVersionUpdated",
    "HostNameUpdated",
    // Proxy sections
    "Auto Detect Settings",
    "Auto-Configuration URL",
    "Proxy Server List",
    "Proxy Bypass List",
    "Auto Detect PAC Status",
    "Access Type",
    // Ngc Prerequisite Check
    "NgcPreReq",
    "IsDeviceJoined",
    "IsUserAzureAD",
    "PolicyEnabled",
    "PostLogonEnabled",
    "DeviceEligible",
    "SessionIsNotRemote",
    "CertEnrollment",
    "AdfsRefreshToken",
    "AdfsRaIsReady",
    "LogonCertTemplateReady",
    "OnPremTGT",
    "CloudTGT",
    "PreReqResult",
];

/// Lines a console or PowerShell prints around the output.
const CONSOLE_NOISE: &[&str] = &[
    "Microsoft Windows [Version",
    "(c) Microsoft Corporation",
    "(c) 20",
    "Copyright (C) Microsoft Corporation",
    "Windows PowerShell",
    "PowerShell 7",
    "Try the new cross-platform PowerShell",
    "Install the latest PowerShell",
];

const TRAILER: &str = "For more information, please visit";

/// A `key : value` line split at its first colon.
pub(super) struct Kv<'a> {
    pub(super) key: &'a str,
    pub(super) value: &'a str,
    /// `AzureAdJoined: YES` (colon glued to the key), the pre-1803 style.
    pub(super) glued: bool,
}

/// Split `   key : value` at the first colon when the left part can be a key: starts with a
/// letter, at most 40 characters and 6 words of letters, digits, spaces, `()-_`. Values may
/// hold colons (times, URLs); `https://...` on its own is not a key line.
pub(super) fn split_kv(line: &str) -> Option<Kv<'_>> {
    let colon = line.find(':')?;
    let left = &line[..colon];
    let key = left.trim();
    let first = key.chars().next()?;
    if !first.is_ascii_alphabetic()
        || key.len() > 40
        || key.contains("  ")
        || key.split(' ').count() > 6
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '(' | ')' | '-' | '_'))
    {
        return None;
    }
    let rest = &line[colon + 1..];
    if rest.starts_with("//") || rest.starts_with('\\') {
        return None;
    }
    let mut value = rest.trim();
    // Pre-1803 `KeySignTest: : MUST Run elevated to test.` prints a second colon.
    if let Some(v) = value.strip_prefix(':') {
        value = v.trim_start();
    }
    Some(Kv {
        key,
        value,
        glued: !left.ends_with(|c: char| c.is_whitespace()),
    })
}

pub(super) fn is_known_key(key: &str) -> bool {
    KNOWN_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// `+------...------+`.
pub(super) fn is_separator(t: &str) -> bool {
    t.len() >= 3 && t.starts_with("+-") && t.chars().all(|c| c == '+' || c == '-')
}

/// `| Device State        |` → `Device State`. Pasted copies may lose the padding.
pub(super) fn banner_title(t: &str) -> Option<String> {
    let inner = t.strip_prefix('|')?.trim_end_matches('|').trim();
    let ok = !inner.is_empty()
        && inner.len() <= 60
        && inner.chars().next().is_some_and(|c| c.is_alphanumeric())
        && inner
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '(' | ')' | '_' | '/' | '.'));
    ok.then(|| inner.to_string())
}

/// Console prompt (`C:\Users\x>dsregcmd /status`, `PS C:\> ...`), console banners,
/// `Waiting for Diagnostics Task ...` and the trailer: not part of the data.
pub(super) fn is_noise(t: &str) -> bool {
    starts_with_ci(t, TRAILER)
        || contains_ci(t, "Waiting for Diagnostics Task")
        || CONSOLE_NOISE.iter().any(|n| starts_with_ci(t, n))
        || is_prompt(t)
}

/// A console prompt (`C:\Users\x>dsregcmd /status`, `PS C:\> dsregcmd /status`).
pub(super) fn is_prompt(t: &str) -> bool {
    let p = t.strip_prefix("PS ").map_or(t, str::trim_start);
    let b = p.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\' && p.contains('>')
}

/// Where one run's output ends: a prompt (the next command) or dsregcmd's trailer.
fn ends_output(t: &str) -> bool {
    is_prompt(t) || starts_with_ci(t, TRAILER)
}

pub(super) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

pub(super) fn contains_ci(s: &str, needle: &str) -> bool {
    s.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// Binary debris: control characters (other than tab) or mostly replacement characters.
pub(super) fn is_garbage(t: &str) -> bool {
    let mut n = 0usize;
    let mut bad = 0usize;
    for c in t.chars() {
        n += 1;
        if c.is_control() && c != '\t' {
            return true;
        }
        if c == '\u{fffd}' || ('\u{e000}'..='\u{f8ff}').contains(&c) {
            bad += 1;
        }
    }
    bad * 4 > n
}

/// The lines of one dump (one run of `dsregcmd /status`) in a file that may hold several.
#[derive(Default)]
pub(super) struct DumpLines {
    pub(super) fields: Vec<DsregField>,
    /// Fields whose colon was glued to the key (`AzureAdJoined: YES`).
    pub(super) glued: usize,
    pub(super) sections: Vec<String>,
    /// The section titles, lowercased, to tell a section printed again (a next dump).
    titles: HashSet<String>,
    /// First and last line of its output (banners, key lines and wrapped rests), 1-based.
    pub(super) first_line: u64,
    pub(super) last_line: u64,
    /// Lines of fields whose value is kept as read but may not be typed: cut off at the end of
    /// the file, or (partly) left out of a paste. With each, what the paste did to it, for the
    /// problem reported when the value is one a snapshot reads; `None` for the cut at the end
    /// of a file, which is reported on its own.
    pub(super) untyped: BTreeMap<u64, Option<&'static str>>,
    /// Known-key lines starting at column 0 and indented ones: a dump whose key lines all start
    /// at column 0 lost its indentation, so column 0 says nothing about a wrapped value.
    flush_left: usize,
    indented: usize,
    /// The widest line of output: the console was at least this wide.
    max_width: usize,
    /// Fields on a console-wide line right before a mark where the poster left lines out, with
    /// that width: if no line of the dump is wider, the console may have wrapped the value and
    /// its rest is among the lines left out.
    before_omission: Vec<(usize, usize)>,
}

impl DumpLines {
    fn see(&mut self, lineno: u64) {
        if self.first_line == 0 {
            self.first_line = lineno;
        }
        self.last_line = lineno;
    }

    /// Note a section; false when the dump already printed it.
    fn add_section(&mut self, title: &str) -> bool {
        self.sections.push(title.to_string());
        self.titles.insert(title.to_lowercase())
    }

    fn has_key(&self, key: &str) -> bool {
        self.fields.iter().any(|f| f.key.eq_ignore_ascii_case(key))
    }
}

/// Keys a dump prints once, first: seeing one again means the next dump began (a paste that
/// lost its banners).
const DUMP_START_KEYS: &[&str] = &["AzureAdJoined", "EnterpriseJoined", "DomainJoined"];

/// Dumps typed per file. People send two or three runs in one file; thousands are a hostile
/// file (every `AzureAdJoined` line a dump), and each would become a snapshot and a fact.
pub(super) const MAX_DUMPS: usize = 64;

/// The line-by-line pass: dumps, sections, fields, continuations, noise and damage.
#[derive(Default)]
pub(super) struct LineParser {
    /// Every dump with at least one field, in file order (the first [`MAX_DUMPS`]).
    pub(super) dumps: Vec<DumpLines>,
    /// Dumps past [`MAX_DUMPS`], not kept, and the first line of the first of them.
    pub(super) dropped_dumps: u64,
    pub(super) first_dropped_line: Option<u64>,
    cur: DumpLines,
    pub(super) last_line: Option<u64>,
    /// The line the file was cut in, when it ends without a line break.
    pub(super) cut_line: Option<u64>,
    pub(super) bad_lines: u64,
    pub(super) ignored: u64,
    pub(super) problems: Vec<Problem>,
}

/// The field a continuation would extend, and the shape of the line before.
#[derive(Clone, Copy, Default)]
struct Prev {
    field: Option<usize>,
    /// Width the line had on the console (a key line that lost its indentation is counted
    /// with the indentation dsregcmd printed).
    width: usize,
    ends_space: bool,
}

impl LineParser {
    /// Close the current dump (kept when it read a field) and start the next.
    fn next_dump(&mut self) {
        for (field, width) in std::mem::take(&mut self.cur.before_omission) {
            if width + 1 >= self.cur.max_width {
                self.unreadable(
                    field,
                    "the value is as wide as the console and the paste leaves out what follows \
                     it, so its wrapped rest may be missing",
                );
            }
        }
        let done = std::mem::take(&mut self.cur);
        if done.fields.is_empty() {
            return;
        }
        if self.dumps.len() < MAX_DUMPS {
            self.dumps.push(done);
        } else {
            self.dropped_dumps += 1;
            self.first_dropped_line.get_or_insert(done.first_line);
        }
    }

    fn bad_line(&mut self, lineno: u64, message: String) {
        self.bad_lines += 1;
        if self.bad_lines <= MAX_LISTED_BAD_LINES {
            self.problems.push(Problem::new(
                "bad_line",
                Some(format!("line {lineno}")),
                message,
            ));
        }
    }

    /// A field whose value the paste damaged: kept as read, never typed.
    fn unreadable(&mut self, field: usize, why: &'static str) {
        if let Some(f) = self.cur.fields.get(field) {
            self.cur.untyped.entry(f.line).or_insert(Some(why));
        }
    }

    pub(super) fn run(&mut self, body: &str, limited: bool) {
        let body = body.strip_prefix('\u{feff}').unwrap_or(body);
        let ends_with_newline = body.ends_with('\n');
        let lines: Vec<&str> = body.split('\n').collect();
        let count = lines.len();
        let mut section = String::new();
        let mut prev = Prev::default();

        for (i, raw) in lines.iter().enumerate() {
            let lineno = i as u64 + 1;
            let line = unquote(raw.strip_suffix('\r').unwrap_or(raw));
            if line.trim().is_empty() {
                prev.field = None;
                continue;
            }
            self.last_line = Some(lineno);
            let is_last = i + 1 == count;
            // A last line without a line break was cut off (unless it is the trailer).
            let cut_here = is_last && !ends_with_newline && !starts_with_ci(line.trim(), TRAILER);
            if cut_here && !limited {
                self.cut_line = Some(lineno);
            }

            if line.len() > MAX_LINE_BYTES {
                self.bad_lines += 1;
                if self.bad_lines <= MAX_LISTED_BAD_LINES {
                    self.problems.push(Problem::new(
                        "limit",
                        Some(format!("line {lineno}")),
                        format!(
                            "line of {} bytes is longer than the {} KiB a dsregcmd line can be; \
                             skipped",
                            line.len(),
                            MAX_LINE_BYTES / 1024
                        ),
                    ));
                }
                prev.field = None;
                continue;
            }
            let line = match unfence(line) {
                Fenced::Line(l) if !l.trim().is_empty() => l,
                _ => {
                    self.ignored += 1;
                    prev.field = None;
                    continue;
                }
            };
            let t = line.trim();
            if is_separator(t) {
                prev.field = None;
                continue;
            }
            if let Some(title) = banner_title(t) {
                // A section the dump already printed starts the next dump.
                if !self.cur.add_section(&title) && !self.cur.fields.is_empty() {
                    self.next_dump();
                    self.cur.add_section(&title);
                }
                self.cur.see(lineno);
                section = title;
                prev.field = None;
                continue;
            }
            if is_noise(t) {
                if ends_output(t) {
                    self.next_dump();
                    section.clear();
                }
                prev.field = None;
                continue;
            }
            if is_rule(t) {
                self.ignored += 1;
                prev.field = None;
                continue;
            }
            if is_omission(t) {
                // Left out by the poster. A console-wide value right before it may have
                // continued on the lines left out (decided when the dump's width is known).
                if let Some(f) = prev.field.filter(|_| prev.width >= WRAP_MIN_WIDTH) {
                    self.cur.before_omission.push((f, prev.width));
                }
                self.ignored += 1;
                prev.field = None;
                continue;
            }

            let cur_width = line.chars().count();
            let cur_ends_space = line.ends_with(|c: char| c.is_whitespace());
            let flush_left = !line.starts_with(|c: char| c.is_whitespace());
            let garbage = is_garbage(t);
            let lost_indent = self.cur.flush_left > self.cur.indented;
            let key_line = split_kv(line).filter(|kv| {
                if is_known_key(kv.key) {
                    return true;
                }
                // An unknown key right after a console-wide line, starting at column 0, is more
                // likely the wrapped rest of that line's value (unless no key line of this
                // dump is indented).
                let maybe_wrapped = prev.field.is_some()
                    && prev.width >= WRAP_MIN_WIDTH
                    && flush_left
                    && !lost_indent;
                !garbage && !maybe_wrapped && !is_caption(t)
            });

            if let Some(kv) = key_line {
                if DUMP_START_KEYS
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(kv.key))
                    && self.cur.has_key(kv.key)
                {
                    self.next_dump();
                }
                self.cur.see(lineno);
                if kv.glued {
                    self.cur.glued += 1;
                }
                if is_known_key(kv.key) {
                    if flush_left {
                        self.cur.flush_left += 1;
                    } else {
                        self.cur.indented += 1;
                    }
                }
                self.cur.fields.push(DsregField {
                    section: section.clone(),
                    key: kv.key.to_string(),
                    value: kv.value.to_string(),
                    line: lineno,
                });
                let idx = self.cur.fields.len() - 1;
                if is_omission(kv.value) {
                    self.unreadable(idx, "the value was left out of the paste");
                } else if is_partly_omitted(kv.value) {
                    self.unreadable(idx, "part of the value was left out of the paste");
                }
                // dsregcmd right-aligns keys in 26 columns: a line that lost that indentation
                // was wider on the console.
                let printed = if flush_left {
                    kv.key.chars().count().max(26) + 3 + kv.value.chars().count()
                } else {
                    0
                };
                prev = Prev {
                    field: Some(idx),
                    width: cur_width.max(printed),
                    ends_space: cur_ends_space,
                };
                self.cur.max_width = self.cur.max_width.max(prev.width);
                continue;
            }
            if garbage {
                self.bad_line(
                    lineno,
                    "binary or undecodable content, not dsregcmd output".into(),
                );
                prev.field = None;
                continue;
            }
            // The rest of a value the console hard-wrapped: only after a line that filled the
            // console's width, and never longer than that line (the console would have wrapped
            // it too). Prose, fences and markers never continue a value.
            let wrapped = prev.field.filter(|_| {
                prev.width >= WRAP_MIN_WIDTH
                    && cur_width <= prev.width + 1
                    && !cut_here
                    && !is_caption(t)
            });
            match wrapped.and_then(|idx| self.cur.fields.get_mut(idx)) {
                Some(f) => {
                    // Join without a space unless the split fell on one.
                    if prev.ends_space || !flush_left {
                        f.value.push(' ');
                    }
                    f.value.push_str(t);
                    self.cur.see(lineno);
                    self.cur.max_width = self.cur.max_width.max(cur_width);
                    prev.width = cur_width;
                    prev.ends_space = cur_ends_space;
                }
                None => {
                    // Free text (a title line, a note pasted in the ticket, the cut-off rest
                    // of a line): harmless, counted only.
                    self.ignored += 1;
                    prev.field = None;
                }
            }
        }
        self.next_dump();
        // The cut is at the end of the file, so in its last dump.
        if let (Some(cut), Some(last)) = (self.cut_line, self.dumps.last_mut()) {
            last.untyped.insert(cut, None);
        }
    }
}
