//! `dsregcmd /status` dumps: decoding (UTF-16LE/UTF-8/Windows-1252, CRLF or LF), the line
//! grammar of every layout seen (sectioned current builds, the pre-1803 single `Device State`
//! block, console prompts, hard-wrapped values, the trailer), and the typed
//! [`DsregSnapshot`] derived from it: join state, PRT state and last PRT error, pre-join
//! diagnostics, who ran the command and when.
//!
//! Every key/value line is kept in [`DsregSnapshot::fields`] with its section and line so that
//! findings can cite it; unknown keys are kept too. Damaged input is reported as problems
//! (`truncated`, `decode`, `no_keys`, `bad_line`, `limit`, `io`), never a panic.

use crate::codes;
use crate::model::{
    DsregField, DsregSnapshot, FileKind, FileReport, JoinState, Loc, Parsed, Problem, PrtError,
    SourceRef, Time,
};
use crate::sources::text;
use crate::sources::ReadCtx;
use chrono::{NaiveDateTime, TimeZone, Utc};
use std::io::Read;

/// A dump is a few KB; anything past this is not a dump and is not read.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The longest line read. dsregcmd prints short lines (a URL or a server message at most); a
/// longer one is debris or hostile, and is skipped rather than kept as a field value.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// `bad_line` problems listed one by one before the rest are summarised.
const MAX_LISTED_BAD_LINES: u64 = 20;

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

/// Keys no other evidence kind prints in `key : value` form; two of them identify a dump.
const SNIFF_KEYS: &[&str] = &[
    "AzureAdJoined",
    "EnterpriseJoined",
    "DomainJoined",
    "WorkplaceJoined",
    "AzureAdPrt",
    "AzureAdPrtUpdateTime",
    "AzureAdPrtAuthority",
    "EnterprisePrt",
    "NgcSet",
    "WamDefaultSet",
    "DeviceAuthStatus",
    "IsDeviceJoined",
    "IsUserAzureAD",
    "PreReqResult",
    "KeySignTest",
    "AadRecoveryEnabled",
];

/// Banner titles that on their own identify a dump.
const SNIFF_TITLES: &[&str] = &[
    "Device State",
    "Device Details",
    "Tenant Details",
    "User State",
    "SSO State",
    "Ngc Prerequisite Check",
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

/// True when the decoded start of a file looks like `dsregcmd /status` output: a known section
/// banner (`| Device State  |`), or at least two dsregcmd-specific keys in `key : value` form.
pub fn looks_like_dsregcmd(text_head: &str) -> bool {
    let mut seen: Vec<&str> = Vec::new();
    for line in text_head.lines().take(500) {
        let t = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if let Some(title) = banner_title(t) {
            if SNIFF_TITLES.iter().any(|s| s.eq_ignore_ascii_case(&title)) {
                return true;
            }
            continue;
        }
        if let Some(kv) = split_kv(line.trim_start_matches('\u{feff}')) {
            if let Some(k) = SNIFF_KEYS.iter().find(|k| k.eq_ignore_ascii_case(kv.key)) {
                if !seen.contains(k) {
                    seen.push(k);
                    if seen.len() >= 2 {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// Read one dump (at most [`MAX_BYTES`]) and type it. `snapshot` is `None` only when the file
/// holds no key/value line at all (empty, garbage, or not a dump); the report then says why.
pub fn read_dsregcmd<R: Read>(r: R, ctx: &ReadCtx) -> Parsed {
    let mut report = FileReport::new(ctx.file.to_string(), FileKind::Dsregcmd, ctx.size);
    let mut bytes = Vec::new();
    // On an I/O error `read_to_end` keeps what it read; parse that.
    if let Err(e) = r.take(MAX_BYTES + 1).read_to_end(&mut bytes) {
        report.problems.push(Problem::new(
            "io",
            Some(format!("byte {}", bytes.len())),
            format!("reading stopped: {e}; parsing what was read"),
        ));
    }
    let limited = bytes.len() as u64 > MAX_BYTES;
    if limited {
        bytes.truncate(MAX_BYTES as usize);
        report.problems.push(Problem::new(
            "limit",
            Some(format!("byte {MAX_BYTES}")),
            format!(
                "file is larger than a dsregcmd dump can be ({} MiB cap); the rest is ignored",
                MAX_BYTES / (1024 * 1024)
            ),
        ));
    }
    if bytes.is_empty() {
        report.problems.push(Problem::new(
            "no_keys",
            None,
            "the file is empty: no dsregcmd output",
        ));
        return Parsed::new(report);
    }

    let decoded = text::decode(&bytes);
    let encoding = decoded.encoding;
    let mut body: &str = &decoded.text;
    let mut cut = false;
    if decoded.had_errors && ends_inside_char(&bytes, encoding) {
        // The last character was cut off; drop its replacement so the line still parses.
        body = body.trim_end_matches('\u{fffd}');
        cut = true;
    }
    if decoded.had_errors && body.contains('\u{fffd}') {
        report.problems.push(Problem::new(
            "decode",
            None,
            format!("some bytes are not valid {encoding} and were replaced (U+FFFD)"),
        ));
    }

    let mut p = LineParser::default();
    p.run(body, limited);
    report.problems.append(&mut p.problems);
    if p.bad_lines > MAX_LISTED_BAD_LINES {
        report.problems.push(Problem::new(
            "bad_line",
            None,
            format!(
                "{} more unreadable lines not listed",
                p.bad_lines - MAX_LISTED_BAD_LINES
            ),
        ));
    }
    // A single problem for the cut, whether inside a character or inside a line.
    if !limited && (cut || p.cut_line.is_some()) {
        let at = p.cut_line.or(p.last_line).map(|l| format!("line {l}"));
        report.problems.push(Problem::new(
            "truncated",
            at,
            "the dump ends in the middle of a line (cut off); the value on it may be incomplete \
             and is not used for the diagnosis",
        ));
    }
    report.records = p.fields.len() as u64;
    report.errors = p.bad_lines;
    report.ignored = p.ignored;

    if p.fields.is_empty() {
        report.problems.push(Problem::new(
            "no_keys",
            None,
            "no `key : value` line found: not a dsregcmd dump, or unreadable",
        ));
        return Parsed::new(report);
    }

    let snapshot = build_snapshot(p, ctx, encoding);
    if let Some(t) = snapshot.taken_at {
        report.see_time(t);
    }
    Parsed {
        report,
        events: Vec::new(),
        snapshot: Some(snapshot),
    }
}

/// True when the bytes end inside a multi-byte character (a cut, not a wrong encoding).
fn ends_inside_char(bytes: &[u8], encoding: &str) -> bool {
    match encoding {
        "utf-16le-bom" | "utf-16be-bom" | "utf-16le" => bytes.len() % 2 == 1,
        "utf-8" | "utf-8-bom" => {
            matches!(std::str::from_utf8(bytes), Err(e) if e.error_len().is_none())
        }
        _ => false,
    }
}

/// A `key : value` line split at its first colon.
struct Kv<'a> {
    key: &'a str,
    value: &'a str,
    /// `AzureAdJoined: YES` (colon glued to the key), the pre-1803 style.
    glued: bool,
}

/// Split `   key : value` at the first colon when the left part can be a key: starts with a
/// letter, at most 40 characters and 6 words of letters, digits, spaces, `()-_`. Values may
/// hold colons (times, URLs); `https://...` on its own is not a key line.
fn split_kv(line: &str) -> Option<Kv<'_>> {
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

fn is_known_key(key: &str) -> bool {
    KNOWN_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// `+------...------+`.
fn is_separator(t: &str) -> bool {
    t.len() >= 3 && t.starts_with("+-") && t.chars().all(|c| c == '+' || c == '-')
}

/// `| Device State        |` → `Device State`. Pasted copies may lose the padding.
fn banner_title(t: &str) -> Option<String> {
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
fn is_noise(t: &str) -> bool {
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

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn contains_ci(s: &str, needle: &str) -> bool {
    s.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// Binary debris: control characters (other than tab) or mostly replacement characters.
fn is_garbage(t: &str) -> bool {
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
struct LineParser {
    fields: Vec<DsregField>,
    /// Fields whose colon was glued to the key (`AzureAdJoined: YES`).
    glued: usize,
    sections: Vec<String>,
    first_content_line: Option<u64>,
    last_line: Option<u64>,
    /// The line the file was cut in, when it ends without a line break.
    cut_line: Option<u64>,
    bad_lines: u64,
    ignored: u64,
    problems: Vec<Problem>,
}

impl LineParser {
    fn run(&mut self, body: &str, limited: bool) {
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

fn build_snapshot(p: LineParser, ctx: &ReadCtx, encoding: &str) -> DsregSnapshot {
    let fields = &p.fields;
    let has_section = |name: &str| p.sections.iter().any(|s| s.eq_ignore_ascii_case(name));
    let key_in = |key: &str, section: &str| {
        fields
            .iter()
            .any(|f| f.key.eq_ignore_ascii_case(key) && f.section.eq_ignore_ascii_case(section))
    };
    let device_keys_in_state = ["DeviceId", "TenantId", "Thumbprint", "KeySignTest"]
        .iter()
        .any(|k| key_in(k, "Device State"));
    let legacy = !has_section("SSO State")
        && (device_keys_in_state
            || key_in("AzureAdPrt", "User State")
            || p.glued * 2 > fields.len());

    // A value on the line the dump was cut in may be incomplete (`0xc00000` for `0xc000006d`):
    // it stays among the fields, but no typed value (and so no verdict) rests on it.
    let typed: Vec<DsregField> = match p.cut_line {
        Some(cut) => fields.iter().filter(|f| f.line != cut).cloned().collect(),
        None => Vec::new(),
    };
    let typed: &[DsregField] = if p.cut_line.is_some() { &typed } else { fields };
    let get = |key: &str, sections: &[&str]| pick(typed, key, sections);
    let text_of = |key: &str, sections: &[&str]| get(key, sections).and_then(non_empty);
    let bool_of = |key: &str, sections: &[&str]| get(key, sections).and_then(yes_no);
    let time_of = |key: &str, sections: &[&str]| get(key, sections).and_then(parse_time);
    let code_of = |key: &str, sections: &[&str]| {
        get(key, sections)
            .and_then(first_token)
            .and_then(codes::parse_status)
    };

    const DS: &[&str] = &["Device State"];
    const DD: &[&str] = &["Device Details", "Device State"];
    const TD: &[&str] = &["Tenant Details", "Device State"];
    const US: &[&str] = &["User State"];
    const SSO: &[&str] = &["SSO State", "User State"];
    const DIAG: &[&str] = &["Diagnostic Data"];
    const NGC: &[&str] = &["Ngc Prerequisite Check"];

    let azure_ad_joined = bool_of("AzureAdJoined", DS);
    let enterprise_joined = bool_of("EnterpriseJoined", DS);
    let domain_joined = bool_of("DomainJoined", DS);
    let workplace_joined = bool_of("WorkplaceJoined", US);
    let join_state = join_state(
        azure_ad_joined,
        enterprise_joined,
        domain_joined,
        workplace_joined,
    );

    let prt_authority = text_of("AzureAdPrtAuthority", SSO).filter(|v| !is_no(v));
    // Tenant: Tenant Details, else the PRT authority's tenant, else the first work account's.
    let tenant_id = text_of("TenantId", TD)
        .or_else(|| {
            prt_authority
                .as_deref()
                .and_then(|a| a.trim_end_matches('/').rsplit('/').next())
                .filter(|s| is_guid(s))
                .map(str::to_string)
        })
        .or_else(|| text_of("WorkplaceTenantId", &["Work Account"]));
    let tenant_name =
        text_of("TenantName", TD).or_else(|| text_of("WorkplaceTenantName", &["Work Account"]));

    let (taken_at, taken_at_basis) = match time_of("Client Time", DIAG) {
        Some(t) => (Some(t), Some("Client Time".to_string())),
        None => match ctx.mtime {
            Some(t) => (Some(t), Some("file modification time".to_string())),
            None => (None, None),
        },
    };

    const PRT_KEYS: &[&str] = &[
        "AcquirePrtDiagnostics",
        "RefreshPrtDiagnostics",
        "Previous Prt Attempt",
        "Attempt Status",
        "Server Error Code",
        "Server Error Description",
    ];
    let prt_error = PRT_KEYS.iter().any(|k| get(k, SSO).is_some()).then(|| {
        let description = text_of("Server Error Description", SSO);
        PrtError {
            attempt_time: time_of("Previous Prt Attempt", SSO),
            attempt_status: code_of("Attempt Status", SSO),
            user_identity: text_of("User Identity", SSO),
            credential_type: text_of("Credential Type", SSO),
            http_error: code_of("HTTP Error", SSO),
            http_status: get("HTTP status", SSO)
                .and_then(first_token)
                .and_then(|v| v.parse().ok()),
            server_error_code: text_of("Server Error Code", SSO),
            aadsts: description
                .as_deref()
                .and_then(|d| codes::find_aadsts(d).first().copied()),
            server_error_description: description,
        }
    });

    DsregSnapshot {
        source: SourceRef {
            file: ctx.file.clone(),
            loc: Loc::Line(p.first_content_line.unwrap_or(1)),
        },
        taken_at,
        taken_at_basis,
        encoding: encoding.to_string(),
        layout: if legacy { "legacy" } else { "current" }.to_string(),
        join_state,
        azure_ad_joined,
        enterprise_joined,
        domain_joined,
        workplace_joined,
        domain_name: text_of("DomainName", DS),
        device_name: text_of("Device Name", DS),
        device_id: text_of("DeviceId", DD),
        device_auth_status: text_of("DeviceAuthStatus", DD),
        tenant_name,
        tenant_id,
        azure_ad_prt: bool_of("AzureAdPrt", SSO),
        prt_update_time: time_of("AzureAdPrtUpdateTime", SSO),
        prt_expiry_time: time_of("AzureAdPrtExpiryTime", SSO),
        prt_authority,
        enterprise_prt: bool_of("EnterprisePrt", SSO),
        enterprise_prt_authority: text_of("EnterprisePrtAuthority", SSO).filter(|v| !is_no(v)),
        prt_error,
        ngc_set: bool_of("NgcSet", US),
        is_user_azure_ad: bool_of("IsUserAzureAD", NGC),
        executing_account: text_of("Executing Account Name", DIAG),
        user_context: text_of("User Context", DIAG),
        error_phase: text_of("Error Phase", DIAG),
        client_error_code: code_of("Client ErrorCode", DIAG),
        server_error_code: text_of("Server ErrorCode", DIAG),
        fields: p.fields,
    }
}

/// The value of `key`, preferring the sections it belongs to (matched by prefix, so
/// `Work Account` covers `Work Account 1`); otherwise the first occurrence outside
/// `Work Account N` sections, which repeat device keys for the registration.
fn pick<'a>(fields: &'a [DsregField], key: &str, sections: &[&str]) -> Option<&'a str> {
    let mut matches = fields.iter().filter(|f| f.key.eq_ignore_ascii_case(key));
    let preferred = matches
        .clone()
        .find(|f| sections.iter().any(|s| starts_with_ci(&f.section, s)));
    preferred
        .or_else(|| matches.find(|f| !starts_with_ci(&f.section, "Work Account")))
        .map(|f| f.value.as_str())
}

fn non_empty(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn first_token(v: &str) -> Option<&str> {
    v.split_whitespace()
        .next()
        .map(|t| t.trim_end_matches([',', ';', '.']))
}

fn is_no(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("NO")
}

/// `YES`/`NO` (first word, any case); anything else (`ERROR (0xd0020017)`, `UNKNOWN`) is None.
fn yes_no(v: &str) -> Option<bool> {
    match first_token(v)? {
        t if t.eq_ignore_ascii_case("YES") => Some(true),
        t if t.eq_ignore_ascii_case("NO") => Some(false),
        _ => None,
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `2025-06-02 07:58:41.000 UTC`, with or without milliseconds; dsregcmd prints UTC.
pub fn parse_time(v: &str) -> Option<Time> {
    let v = v.trim();
    let v = v
        .strip_suffix("UTC")
        .or_else(|| v.strip_suffix('Z'))
        .unwrap_or(v)
        .trim();
    let naive = NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()?;
    Some(Utc.from_utc_datetime(&naive))
}

/// The join state from the Device State triple and `WorkplaceJoined` (evidence-formats 0.2/1.4).
/// A combination the documentation does not list, or a missing value that decides, is Unknown.
pub fn join_state(
    azure_ad: Option<bool>,
    enterprise: Option<bool>,
    domain: Option<bool>,
    workplace: Option<bool>,
) -> JoinState {
    match (azure_ad, enterprise, domain) {
        // EnterpriseJoined is never YES together with AzureAdJoined.
        (Some(true), Some(true), _) => JoinState::Unknown,
        (Some(true), _, Some(true)) => JoinState::HybridJoined,
        (Some(true), _, Some(false)) => JoinState::EntraJoined,
        (Some(false), Some(true), Some(true)) => JoinState::EnterpriseJoined,
        (Some(false), Some(false), Some(true)) => JoinState::DomainOnly,
        (Some(false), Some(false), Some(false)) => {
            if workplace == Some(true) {
                JoinState::RegisteredOnly
            } else {
                JoinState::NotJoined
            }
        }
        _ => JoinState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_key_lines() {
        let kv = split_kv("             AzureAdJoined : YES").unwrap();
        assert_eq!(
            (kv.key, kv.value, kv.glued),
            ("AzureAdJoined", "YES", false)
        );
        let kv = split_kv("         AadRecoveryEnabled: NO").unwrap();
        assert_eq!(
            (kv.key, kv.value, kv.glued),
            ("AadRecoveryEnabled", "NO", true)
        );
        let kv = split_kv("         KeySignTest: : MUST Run elevated to test.").unwrap();
        assert_eq!(kv.value, "MUST Run elevated to test.");
        let kv = split_kv("      Previous Prt Attempt : 2025-06-02 13:17:05.412 UTC").unwrap();
        assert_eq!(kv.value, "2025-06-02 13:17:05.412 UTC");
        let kv = split_kv("         Proxy Server List :").unwrap();
        assert_eq!(kv.value, "");
        assert!(split_kv("sing WPAD. code: 0x80072f94").is_none());
        assert!(split_kv("For more information, please visit https://x").is_none());
        assert!(split_kv("https://login.microsoftonline.com").is_none());
        assert!(split_kv("C:\\Users\\x>dsregcmd /status").is_none());
    }

    #[test]
    fn recognises_noise_and_banners() {
        assert!(is_noise("C:\\Users\\jdoe>dsregcmd /status"));
        assert!(is_noise("PS C:\\> dsregcmd /status"));
        assert!(is_noise(
            "Waiting for Diagnostics Task to complete. This could take a few minutes..."
        ));
        assert!(is_noise(
            "For more information, please visit https://www.microsoft.com/aadjerrors"
        ));
        assert!(!is_noise("AzureAdJoined : YES"));
        assert_eq!(
            banner_title("| SSO State                                  |").as_deref(),
            Some("SSO State")
        );
        assert_eq!(
            banner_title("| Work Account 1 |").as_deref(),
            Some("Work Account 1")
        );
        assert!(is_separator(&format!("+{}+", "-".repeat(70))));
        assert!(!is_separator("+"));
    }

    #[test]
    fn join_table() {
        use JoinState::*;
        let j = |a, e, d, w| join_state(Some(a), Some(e), Some(d), w);
        assert_eq!(j(true, false, false, None), EntraJoined);
        assert_eq!(j(true, false, true, None), HybridJoined);
        assert_eq!(j(false, false, true, Some(true)), DomainOnly);
        assert_eq!(j(false, true, true, None), EnterpriseJoined);
        assert_eq!(j(false, false, false, Some(true)), RegisteredOnly);
        assert_eq!(j(false, false, false, Some(false)), NotJoined);
        assert_eq!(j(false, false, false, None), NotJoined);
        assert_eq!(join_state(None, Some(false), Some(true), None), Unknown);
        assert_eq!(join_state(Some(false), None, Some(true), None), Unknown);
    }

    #[test]
    fn times_with_and_without_millis() {
        let a = parse_time("2025-06-02 07:58:41.000 UTC").unwrap();
        let b = parse_time("2025-06-02 07:58:41 UTC").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_rfc3339(), "2025-06-02T07:58:41+00:00");
        assert!(parse_time("NOT SET").is_none());
    }
}
