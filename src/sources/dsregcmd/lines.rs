//! The line grammar of a dump: `key : value` lines, section banners, console noise, values
//! hard-wrapped at the console width, and the lines that are none of these.

use super::{DsregField, MAX_LINE_BYTES};
use crate::model::Problem;

/// `bad_line` problems listed one by one before the rest are summarised.
pub(super) const MAX_LISTED_BAD_LINES: u64 = 20;

/// A previous line at least this long may have been hard-wrapped at the console width, so an
/// unindented line after it with an unknown key is more likely the rest of its value.
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
    if starts_with_ci(t, TRAILER)
        || contains_ci(t, "Waiting for Diagnostics Task")
        || CONSOLE_NOISE.iter().any(|n| starts_with_ci(t, n))
    {
        return true;
    }
    let p = t.strip_prefix("PS ").map_or(t, str::trim_start);
    let b = p.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\' && p.contains('>')
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

/// The line-by-line pass: sections, fields, continuations, noise and damage.
#[derive(Default)]
pub(super) struct LineParser {
    pub(super) fields: Vec<DsregField>,
    /// Fields whose colon was glued to the key (`AzureAdJoined: YES`).
    pub(super) glued: usize,
    pub(super) sections: Vec<String>,
    pub(super) first_content_line: Option<u64>,
    pub(super) last_line: Option<u64>,
    /// The line the file was cut in, when it ends without a line break.
    pub(super) cut_line: Option<u64>,
    pub(super) bad_lines: u64,
    pub(super) ignored: u64,
    pub(super) problems: Vec<Problem>,
}

impl LineParser {
    pub(super) fn run(&mut self, body: &str, limited: bool) {
        let body = body.strip_prefix('\u{feff}').unwrap_or(body);
        let ends_with_newline = body.ends_with('\n');
        let lines: Vec<&str> = body.split('\n').collect();
        let count = lines.len();
        let mut section = String::new();
        // The field a continuation line would extend, and the shape of the line before.
        let mut prev: Option<usize> = None;
        let mut prev_width = 0usize;
        let mut prev_ends_space = false;

        for (i, raw) in lines.iter().enumerate() {
            let lineno = i as u64 + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let t = line.trim();
            let cur_width = line.chars().count();
            let cur_ends_space = line.ends_with(|c: char| c.is_whitespace());
            if t.is_empty() {
                prev = None;
                continue;
            }
            self.last_line = Some(lineno);
            let is_last = i + 1 == count;
            // A last line without a line break was cut off (unless it is the trailer).
            let cut_here = is_last && !ends_with_newline && !starts_with_ci(t, TRAILER);
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
                prev = None;
                continue;
            }
            if is_separator(t) {
                prev = None;
                continue;
            }
            if let Some(title) = banner_title(t) {
                if title.eq_ignore_ascii_case("Device State")
                    && self.sections.iter().any(|s| s.eq_ignore_ascii_case(&title))
                    && !self.fields.is_empty()
                {
                    self.problems.push(Problem::new(
                        "repeated",
                        Some(format!("line {lineno}")),
                        "a second dump starts here; typed values come from the first",
                    ));
                }
                self.first_content_line.get_or_insert(lineno);
                self.sections.push(title.clone());
                section = title;
                prev = None;
                continue;
            }
            if is_noise(t) {
                prev = None;
                continue;
            }

            let garbage = is_garbage(t);
            let key_line = split_kv(line).filter(|kv| {
                if is_known_key(kv.key) {
                    return true;
                }
                // An unknown key right after a console-wide line, starting at column 0, is more
                // likely the wrapped rest of that line's value.
                let maybe_wrapped = prev.is_some()
                    && prev_width >= WRAP_MIN_WIDTH
                    && !line.starts_with(|c: char| c.is_whitespace());
                !garbage && !maybe_wrapped
            });

            if let Some(kv) = key_line {
                self.first_content_line.get_or_insert(lineno);
                if kv.glued {
                    self.glued += 1;
                }
                self.fields.push(DsregField {
                    section: section.clone(),
                    key: kv.key.to_string(),
                    value: kv.value.to_string(),
                    line: lineno,
                });
                prev = Some(self.fields.len() - 1);
            } else if garbage {
                self.bad_lines += 1;
                if self.bad_lines <= MAX_LISTED_BAD_LINES {
                    self.problems.push(Problem::new(
                        "bad_line",
                        Some(format!("line {lineno}")),
                        "binary or undecodable content, not dsregcmd output",
                    ));
                }
                prev = None;
            } else if let (Some(idx), false) = (prev, cut_here) {
                // Hard-wrapped value: the console split it at its width, so join without a
                // space unless the split fell on one.
                if let Some(f) = self.fields.get_mut(idx) {
                    if prev_ends_space || line.starts_with(|c: char| c.is_whitespace()) {
                        f.value.push(' ');
                    }
                    f.value.push_str(t);
                }
            } else {
                // Free text (a title line, a note pasted in the ticket, the cut-off rest of a
                // line): harmless, counted only.
                self.ignored += 1;
                prev = None;
            }
            prev_width = cur_width;
            prev_ends_space = cur_ends_space;
        }
    }
}
