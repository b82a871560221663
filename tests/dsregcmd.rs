//! `dsregcmd /status` parser: every layout, quirk and encoding of evidence-formats.md section 1,
//! from hand-written UTF-8 fixtures; other encodings and damage are derived in code.

use chrono::{TimeZone, Utc};
use padtriage::model::{EventFilter, Loc, Time};
use padtriage::sources::dsregcmd::JoinState;
use padtriage::sources::dsregcmd::{looks_like_dsregcmd, read_dsregcmd, MAX_BYTES};
use padtriage::sources::Parsed;
use padtriage::sources::ReadCtx;
use std::io::Read;
use std::sync::Arc;

static ALL: EventFilter = EventFilter { ranges: None };

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/dsregcmd/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

fn mtime() -> Time {
    Utc.with_ymd_and_hms(2025, 5, 19, 15, 2, 0).unwrap()
}

fn parse_with(bytes: &[u8], mtime: Option<Time>) -> Parsed {
    let ctx = ReadCtx {
        file: Arc::from("bundle.zip!/dsregcmd.txt"),
        size: bytes.len() as u64,
        mtime,
        filter: &ALL,
        threads: 1,
        progress: None,
    };
    read_dsregcmd(bytes, &ctx)
}

fn parse(bytes: &[u8]) -> Parsed {
    parse_with(bytes, Some(mtime()))
}

/// 1-based line of the first line containing `needle`, found independently of the parser.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1
}

fn value<'a>(p: &'a Parsed, key: &str) -> &'a str {
    &p.snapshots.first().unwrap().field(key).unwrap().value
}

fn kinds(p: &Parsed) -> Vec<&str> {
    p.report.problems.iter().map(|x| x.kind.as_str()).collect()
}

fn utc(s: &str) -> Time {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&Utc)
}

fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

fn utf16le(s: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    out.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
    out
}

fn cp1252(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(s);
    assert!(!unmappable);
    bytes.into_owned()
}

#[test]
fn hybrid_with_prt_refresh_error() {
    let text = fixture("hybrid_prt_error.txt");
    let p = parse(text.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.errors, 0);
    assert_eq!(p.report.records, 79);
    // The dump's one timeline entry.
    assert_eq!(p.events.len(), 1);
    let s = p.snapshots.first().unwrap();
    assert_eq!(s.layout, "current");
    assert_eq!(s.encoding, "utf-8");
    assert_eq!(s.join_state, JoinState::HybridJoined);
    assert_eq!(
        (
            s.azure_ad_joined,
            s.enterprise_joined,
            s.domain_joined,
            s.workplace_joined
        ),
        (Some(true), Some(false), Some(true), Some(false))
    );
    assert_eq!(s.domain_name.as_deref(), Some("FABRIKAM"));
    assert_eq!(
        s.device_name.as_deref(),
        Some("BOT-HOST-12.ad.fabrikam.net")
    );
    assert_eq!(
        s.device_id.as_deref(),
        Some("0d4e8b27-6a1f-4c39-b5e2-93f7a1c06d58")
    );
    assert_eq!(s.device_auth_status.as_deref(), Some("SUCCESS"));
    assert_eq!(s.tenant_name.as_deref(), Some("Fabrikam Robotics"));
    assert_eq!(
        s.tenant_id.as_deref(),
        Some("e2a7c4d1-59b3-4f0e-8d62-1c9a7b3e5f80")
    );

    // PRT present but its last refresh failed.
    assert_eq!(s.azure_ad_prt, Some(true));
    assert_eq!(s.prt_update_time, Some(utc("2025-05-19T06:12:09Z")));
    assert_eq!(s.prt_expiry_time, Some(utc("2025-06-02T06:12:08Z")));
    assert_eq!(
        s.prt_authority.as_deref(),
        Some("https://login.microsoftonline.com/e2a7c4d1-59b3-4f0e-8d62-1c9a7b3e5f80")
    );
    assert_eq!(s.enterprise_prt, Some(false));
    assert_eq!(s.enterprise_prt_authority, None);
    let e = s.prt_error.as_ref().unwrap();
    assert_eq!(e.attempt_time, Some(utc("2025-05-19T14:47:52.318Z")));
    assert_eq!(e.attempt_status, Some(0xC000_006D));
    assert_eq!(e.user_identity.as_deref(), Some("rpa-runner@fabrikam.com"));
    assert_eq!(e.credential_type.as_deref(), Some("Password"));
    assert_eq!(e.http_error, Some(0));
    assert_eq!(e.http_status, Some(400));
    assert_eq!(e.server_error_code.as_deref(), Some("invalid_grant"));
    assert_eq!(e.aadsts, Some(50126));
    // The value keeps its own colons.
    assert!(e
        .server_error_description
        .as_deref()
        .unwrap()
        .ends_with("Timestamp: 2025-05-19 14:47:52Z"));

    assert_eq!(
        s.executing_account.as_deref(),
        Some("FABRIKAM\\rpa-runner, rpa-runner@fabrikam.com")
    );
    assert_eq!(s.ngc_set, Some(false));
    assert_eq!(s.is_user_azure_ad, Some(true));
    assert_eq!(
        (s.user_context.as_ref(), s.error_phase.as_ref()),
        (None, None)
    );
    assert_eq!(s.client_error_code, None);

    // No Client Time: the file's modification time stands in, and says so.
    assert_eq!(s.taken_at, Some(mtime()));
    assert_eq!(s.taken_at_basis.as_deref(), Some("file modification time"));
    assert_eq!(
        (p.report.first, p.report.last),
        (Some(mtime()), Some(mtime()))
    );

    // Citations point at the printed line.
    let f = s.field("Server Error Description").unwrap();
    assert_eq!(f.line, line_of(&text, "Server Error Description"));
    assert_eq!(f.section, "SSO State");
    let f = s.field("Executing Account Name").unwrap();
    assert_eq!(
        (f.line, f.section.as_str()),
        (line_of(&text, "Executing Account"), "Diagnostic Data")
    );
    assert_eq!(s.source.loc, Loc::Line(line_of(&text, "| Device State")));
    assert_eq!(&*s.source.file, "bundle.zip!/dsregcmd.txt");
}

#[test]
fn irregular_key_lines_and_values() {
    let text = fixture("hybrid_prt_error.txt");
    let p = parse(text.as_bytes());
    // `AadRecoveryEnabled: NO` has no space before the colon.
    assert_eq!(value(&p, "AadRecoveryEnabled"), "NO");
    // Empty values, with and without a trailing space, are kept as empty.
    assert_eq!(value(&p, "SettingsUrl"), "");
    assert_eq!(value(&p, "Proxy Server List"), "");
    // Values containing colons: URLs and times.
    assert_eq!(
        value(&p, "Auto-Configuration URL"),
        "http://wpad.ad.fabrikam.net:8080/proxy.pac"
    );
    assert_eq!(
        value(&p, "Previous Prt Attempt"),
        "2025-05-19 14:47:52.318 UTC"
    );
    assert_eq!(
        value(&p, "JoinSrvId"),
        "urn:ms-drs:enterpriseregistration.windows.net"
    );
    // The trailer is not a key and is not glued to the last value.
    let s = p.snapshots.first().unwrap();
    assert!(s.fields.iter().all(|f| !f.key.starts_with("For more")));
    assert_eq!(value(&p, "PreReqResult"), "WillNotProvision");
}

#[test]
fn doc_style_without_blank_lines() {
    // Doc samples drop the blank lines; the trailer then directly follows a key line.
    let text = fixture("hybrid_prt_error.txt");
    let compact: String = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let a = parse(text.as_bytes());
    let b = parse(compact.as_bytes());
    assert!(b.report.problems.is_empty(), "{:?}", b.report.problems);
    let (sa, sb) = (
        a.snapshots.into_iter().next().unwrap(),
        b.snapshots.into_iter().next().unwrap(),
    );
    let kv = |s: &padtriage::sources::dsregcmd::DsregSnapshot| {
        s.fields
            .iter()
            .map(|f| (f.section.clone(), f.key.clone(), f.value.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(kv(&sa), kv(&sb));
    assert_eq!(sb.join_state, JoinState::HybridJoined);
    assert_eq!(sb.field("PreReqResult").unwrap().value, "WillNotProvision");
    assert_eq!(
        sb.field("Server Error Description").unwrap().line,
        line_of(&compact, "Server Error Description")
    );
}

#[test]
fn not_joined_has_no_device_tenant_or_diagnostic_sections() {
    let text = fixture("not_joined.txt");
    let p = parse_with(text.as_bytes(), None);
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.records, 25);
    let s = p.snapshots.first().unwrap();
    assert_eq!(s.join_state, JoinState::NotJoined);
    assert_eq!(s.layout, "current");
    assert_eq!(s.device_name.as_deref(), Some("Büro-PC"));
    assert_eq!(s.azure_ad_prt, Some(false));
    // `AzureAdPrtAuthority : NO` is not an authority.
    assert_eq!(s.prt_authority, None);
    assert!(s.prt_error.is_none());
    assert_eq!((s.device_id.as_ref(), s.tenant_id.as_ref()), (None, None));
    assert_eq!(s.device_auth_status, None);
    assert_eq!(s.executing_account, None);
    assert_eq!(s.is_user_azure_ad, Some(false));
    // No Client Time and no file time: when the dump was taken is unknown.
    assert_eq!((s.taken_at, s.taken_at_basis.as_ref()), (None, None));
    assert_eq!(p.report.first, None);
}

#[test]
fn registered_only_with_work_account_and_powershell_prompt() {
    let text = fixture("registered_only.txt");
    let p = parse(text.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.records, 40);
    assert_eq!(p.report.ignored, 0);
    let s = p.snapshots.first().unwrap();
    assert_eq!(s.join_state, JoinState::RegisteredOnly);
    assert_eq!(s.workplace_joined, Some(true));
    // The registration's tenant when the device itself has none.
    assert_eq!(
        s.tenant_id.as_deref(),
        Some("4c81f6a2-0b7d-4e39-a5c8-2f9e61d7b043")
    );
    assert_eq!(s.tenant_name.as_deref(), Some("Tailspin Outdoor"));
    assert_eq!(s.device_id, None);
    // User State says NgcSet NO; the Work Account's own NgcSet YES must not leak into it.
    assert_eq!(s.ngc_set, Some(false));
    let work = s
        .fields
        .iter()
        .filter(|f| f.section == "Work Account 1")
        .count();
    assert_eq!(work, 11);
    // Console banner and prompt lines are not data.
    assert!(s
        .fields
        .iter()
        .all(|f| !f.key.contains("PS") && !f.key.contains("PowerShell")));
    assert_eq!(s.fields[0].key, "AzureAdJoined");
    assert_eq!(s.fields[0].line, line_of(&text, "AzureAdJoined"));
}

#[test]
fn device_disabled_or_deleted() {
    let text = fixture("device_disabled.txt");
    let p = parse(text.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.records, 47);
    let s = p.snapshots.first().unwrap();
    assert_eq!(s.layout, "current");
    assert_eq!(s.join_state, JoinState::EntraJoined);
    assert_eq!(
        s.device_auth_status.as_deref(),
        Some("FAILED. Device is either disabled or deleted")
    );
    assert_eq!(
        s.field("DeviceAuthStatus").unwrap().line,
        line_of(&text, "DeviceAuthStatus")
    );
    assert_eq!(s.azure_ad_prt, Some(false));
    let e = s.prt_error.as_ref().unwrap();
    // Times without milliseconds.
    assert_eq!(e.attempt_time, Some(utc("2025-07-08T05:31:44Z")));
    assert_eq!(e.aadsts, Some(50155));
    assert_eq!(e.attempt_status, Some(0xC000_006D));
    assert_eq!(
        e.user_identity.as_deref(),
        Some("lea.wagner@northwind.example")
    );
    assert_eq!(
        s.executing_account.as_deref(),
        Some("AzureAD\\LeaWagner, lea.wagner@northwind.example")
    );
    // Not YES/NO: kept as text, not a boolean.
    assert_eq!(value(&p, "WamDefaultSet"), "ERROR (0xd0020017)");
    assert_eq!(s.tenant_name.as_deref(), Some("Northwind Traders"));
}

#[test]
fn domain_only_with_pre_join_diagnostics() {
    let text = fixture("domain_prejoin.txt");
    let p = parse(text.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.records, 52);
    assert_eq!(p.report.errors, 0);
    let s = p.snapshots.first().unwrap();
    assert_eq!(s.join_state, JoinState::DomainOnly);
    assert_eq!(s.domain_name.as_deref(), Some("WOODGROVE"));
    assert_eq!(s.user_context.as_deref(), Some("SYSTEM"));
    assert_eq!(s.error_phase.as_deref(), Some("join"));
    assert_eq!(s.client_error_code, Some(0x801C_03F2));
    assert_eq!(
        s.field("Client ErrorCode").unwrap().line,
        line_of(&text, "Client ErrorCode")
    );
    assert_eq!(s.server_error_code.as_deref(), Some("DirectoryError"));
    assert_eq!(
        s.executing_account.as_deref(),
        Some("WOODGROVE\\RPA-SRV-07$, RPA-SRV-07$@ad.woodgrove.example")
    );
    // Client Time wins over the file time.
    let client = utc("2025-06-03T09:14:22Z");
    assert_eq!(s.taken_at, Some(client));
    assert_eq!(s.taken_at_basis.as_deref(), Some("Client Time"));
    assert_eq!(
        (p.report.first, p.report.last),
        (Some(client), Some(client))
    );
    // `UNKNOWN` is not a boolean.
    assert_eq!(s.is_user_azure_ad, None);
    assert!(s.prt_error.is_none());
    assert_eq!(s.prt_authority, None);
    // The prompt and the "Waiting for Diagnostics Task" line are noise.
    assert!(s.fields.iter().all(|f| !f.key.contains("Waiting")));
    assert_eq!(s.source.loc, Loc::Line(line_of(&text, "| Device State")));
}

#[test]
fn hard_wrapped_value_is_joined() {
    let text = fixture("domain_prejoin.txt");
    let p = parse(text.as_bytes());
    let s = p.snapshots.first().unwrap();
    let f = s.field("Auto Detect PAC Status").unwrap();
    assert_eq!(
        f.value,
        "Failed to auto detect the Proxy Auto-Configuration (PAC) script using WPAD. code: 0x80072f94"
    );
    assert_eq!(f.line, line_of(&text, "Auto Detect PAC Status"));
    assert_eq!(f.section, "URL Specific Proxy Config");
    assert!(s.fields.iter().all(|f| !f.key.starts_with("sing")));
}

#[test]
fn wrapped_rest_that_looks_like_a_key_line() {
    // The wrapped rest of a console-wide line, `AD on this host: ...`, parses as a key line;
    // an unknown key at column 0 right after a full-width line is taken as the rest instead.
    let text = concat!(
        "+----+\n| URL Specific Proxy Config |\n+----+\n",
        "    Auto Detect PAC Status : Failed to auto detect the Proxy Auto-Configuration (PAC) script using WP\n",
        "AD on this host: code 0x80072f94\n",
        "               Access Type : DIRECT\n",
        "  Short : x\n",
        "Unknown Key : y\n",
    );
    let p = parse(text.as_bytes());
    assert_eq!(
        value(&p, "Auto Detect PAC Status"),
        "Failed to auto detect the Proxy Auto-Configuration (PAC) script using WPAD on this host: code 0x80072f94"
    );
    // After a short line the same shape is a key of its own.
    assert_eq!(value(&p, "Unknown Key"), "y");
    assert_eq!(p.report.records, 4);
}

#[test]
fn legacy_pre_1803_single_device_state_block() {
    let text = fixture("legacy_1709.txt");
    let p = parse(text.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.records, 33);
    let s = p.snapshots.first().unwrap();
    assert_eq!(s.layout, "legacy");
    assert_eq!(s.join_state, JoinState::HybridJoined);
    assert_eq!(s.domain_name.as_deref(), Some("LITWARE"));
    assert_eq!(
        s.device_id.as_deref(),
        Some("3a9d5c17-e2b8-4f06-91c4-6b0e7d2a58f3")
    );
    assert_eq!(
        s.tenant_id.as_deref(),
        Some("1b6e9f30-7d2c-4a85-b049-c3e8a5d17f92")
    );
    assert_eq!(s.tenant_name.as_deref(), Some("Litware Inc"));
    // AzureAdPrt lives in User State on these builds.
    assert_eq!(s.azure_ad_prt, Some(true));
    assert_eq!(s.field("AzureAdPrt").unwrap().section, "User State");
    assert_eq!(s.ngc_set, Some(true));
    assert_eq!(value(&p, "KeySignTest"), "MUST Run elevated to test.");
    assert_eq!(
        value(&p, "dmComplianceUrl"),
        "https://portal.manage.microsoft.com/?portalAction=Compliance"
    );
    assert_eq!(
        s.field("DomainJoined").unwrap().line,
        line_of(&text, "DomainJoined")
    );
    assert!(s.prt_error.is_none());
}

/// Every encoding and line ending yields the same fields at the same lines.
#[test]
fn encodings_and_line_endings() {
    let text = fixture("not_joined.txt");
    let base = parse(text.as_bytes()).snapshots.into_iter().next().unwrap();
    let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
    utf8_bom.extend(text.as_bytes());
    let mut utf8_bom_crlf = vec![0xEF, 0xBB, 0xBF];
    utf8_bom_crlf.extend(crlf(&text).as_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("utf-8", crlf(&text).into_bytes()),
        ("utf-16le-bom", utf16le(&crlf(&text), true)),
        ("utf-16le-bom", utf16le(&text, true)),
        ("utf-16le", utf16le(&crlf(&text), false)),
        ("utf-16le", utf16le(&text, false)),
        ("utf-8-bom", utf8_bom),
        ("utf-8-bom", utf8_bom_crlf),
        ("windows-1252", cp1252(&crlf(&text))),
        ("windows-1252", cp1252(&text)),
    ];
    for (enc, bytes) in cases {
        let p = parse(&bytes);
        assert!(
            p.report.problems.is_empty(),
            "{enc}: {:?}",
            p.report.problems
        );
        let s = p.snapshots.into_iter().next().unwrap();
        assert_eq!(s.encoding, enc);
        assert_eq!(s.device_name.as_deref(), Some("Büro-PC"), "{enc}");
        assert_eq!(s.join_state, JoinState::NotJoined);
        assert_eq!(s.fields.len(), base.fields.len(), "{enc}");
        for (a, b) in s.fields.iter().zip(&base.fields) {
            assert_eq!(
                (&a.key, &a.value, a.line),
                (&b.key, &b.value, b.line),
                "{enc}"
            );
        }
    }
}

#[test]
fn powershell_5_redirect_of_hybrid_dump() {
    // `dsregcmd /status > out.txt` in Windows PowerShell 5.1: UTF-16LE with BOM, CRLF.
    let text = fixture("hybrid_prt_error.txt");
    let p = parse(&utf16le(&crlf(&text), true));
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    let s = p.snapshots.into_iter().next().unwrap();
    assert_eq!(s.encoding, "utf-16le-bom");
    assert_eq!(s.join_state, JoinState::HybridJoined);
    let e = s.prt_error.as_ref().unwrap();
    assert_eq!(
        (e.attempt_status, e.aadsts),
        (Some(0xC000_006D), Some(50126))
    );
    assert!(!s.field("PreReqResult").unwrap().value.ends_with('\r'));
}

#[test]
fn truncated_mid_line_keeps_what_was_read() {
    let text = fixture("hybrid_prt_error.txt");
    let at = text.find("AADSTS50126: Error validating").unwrap() + 20;
    assert_eq!(&text[at - 20..at], "AADSTS50126: Error v");
    let p = parse(&text.as_bytes()[..at]);
    let line = line_of(&text, "Server Error Description");
    assert_eq!(kinds(&p), vec!["truncated"]);
    assert_eq!(p.report.problems[0].at, Some(format!("line {line}")));
    let s = p.snapshots.first().unwrap();
    assert_eq!(s.join_state, JoinState::HybridJoined);
    let e = s.prt_error.as_ref().unwrap();
    assert_eq!(e.server_error_code.as_deref(), Some("invalid_grant"));
    // The cut value is kept as read, but no typed value (and so no verdict) rests on it.
    assert_eq!(
        s.field("Server Error Description").unwrap().value,
        "AADSTS50126: Error v"
    );
    assert_eq!(e.server_error_description, None);
    assert_eq!(e.aadsts, None);
    // Sections after the cut are simply absent.
    assert_eq!(s.executing_account, None);

    // Cut inside a key: the fragment is not taken as the rest of the previous value.
    let at = text.find("Server Error Code").unwrap() + 6;
    let p = parse(&text.as_bytes()[..at]);
    assert_eq!(kinds(&p), vec!["truncated"]);
    assert_eq!(value(&p, "HTTP status"), "400");
    assert!(p
        .snapshots
        .into_iter()
        .next()
        .unwrap()
        .field("Server Error Code")
        .is_none());
}

#[test]
fn truncated_inside_a_utf16_character() {
    let text = fixture("hybrid_prt_error.txt");
    let bytes = utf16le(&crlf(&text), true);
    let cut = &bytes[..bytes.len() / 2 + 1];
    assert_eq!(cut.len() % 2, 1);
    let p = parse(cut);
    assert_eq!(kinds(&p), vec!["truncated"]);
    assert_eq!(p.report.errors, 0);
    let s = p.snapshots.into_iter().next().unwrap();
    assert_eq!(s.join_state, JoinState::HybridJoined);
    assert_eq!(s.encoding, "utf-16le-bom");
}

#[test]
fn empty_file() {
    let p = parse(b"");
    assert!(p.snapshots.is_empty());
    assert_eq!(kinds(&p), vec!["no_keys"]);
    assert_eq!((p.report.records, p.report.errors), (0, 0));
}

/// Deterministic pseudo-random bytes (no RNG dependency).
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u8
        })
        .collect()
}

#[test]
fn binary_garbage_file() {
    for seed in 1..20 {
        let p = parse(&noise(4000, seed));
        assert!(
            kinds(&p).contains(&"no_keys"),
            "seed {seed}: {:?}",
            kinds(&p)
        );
        assert!(p.report.errors > 0, "seed {seed}");
        assert!(kinds(&p).contains(&"bad_line"));
        // Listed problems stay bounded however much garbage there is.
        assert!(p.report.problems.len() <= 24);
    }
}

#[test]
fn garbage_line_inside_a_dump() {
    let text = fixture("hybrid_prt_error.txt");
    // Just before the banner opening `Tenant Details`.
    let title = text.find("| Tenant Details").unwrap();
    let at = text[..title - 1].rfind('\n').unwrap() + 1;
    let mut bytes = text.as_bytes()[..at].to_vec();
    bytes.extend(b"\x00\x01\x02\x9d\x81\xfe\xff\x07garbage\x1b[0m\n");
    bytes.extend(&text.as_bytes()[at..]);
    let line = text[..at].lines().count() as u64 + 1;
    let p = parse(&bytes);
    assert_eq!(kinds(&p), vec!["bad_line"]);
    assert_eq!(p.report.problems[0].at, Some(format!("line {line}")));
    assert_eq!(p.report.errors, 1);
    assert_eq!(p.report.records, 79);
    let s = p.snapshots.into_iter().next().unwrap();
    assert_eq!(s.join_state, JoinState::HybridJoined);
    // Lines after the inserted one shift by one.
    assert_eq!(
        s.field("TenantName").unwrap().line,
        line_of(&text, "TenantName") + 1
    );
}

#[test]
fn unknown_keys_and_free_text_are_tolerated() {
    let text = "\n+----+\n| Device State |\n+----+\n\n             AzureAdJoined : NO\n          EnterpriseJoined : NO\n              DomainJoined : NO\n        SomeFutureSetting : Enabled (v2)\n\nran elevated, see ticket 4711\n";
    let p = parse(text.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!((p.report.errors, p.report.ignored), (0, 1));
    assert_eq!(value(&p, "SomeFutureSetting"), "Enabled (v2)");
    assert_eq!(
        p.snapshots.first().unwrap().join_state,
        JoinState::NotJoined
    );
}

#[test]
fn oversized_input_is_capped() {
    let mut text = fixture("hybrid_prt_error.txt");
    text.push_str(&"\n".repeat(MAX_BYTES as usize));
    text.push_str("             AzureAdJoined : NO\n");
    let p = parse(text.as_bytes());
    assert_eq!(kinds(&p), vec!["limit"]);
    let s = p.snapshots.into_iter().next().unwrap();
    assert_eq!(s.join_state, JoinState::HybridJoined);
    assert_eq!(s.fields.len(), 79);
}

#[test]
fn second_dump_in_the_same_file_is_a_snapshot_of_its_own() {
    let text = fixture("hybrid_prt_error.txt") + &fixture("not_joined.txt");
    let p = parse(text.as_bytes());
    // Two clean dumps are read completely: nothing to report.
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    let states: Vec<JoinState> = p.snapshots.iter().map(|s| s.join_state).collect();
    assert_eq!(states, vec![JoinState::HybridJoined, JoinState::NotJoined]);
    assert_eq!(p.report.dumps, 2);
}

#[test]
fn read_error_keeps_what_was_read() {
    /// Serves its bytes, then fails instead of reporting the end.
    struct Failing(Vec<u8>, usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let rest = &self.0[self.1..];
            if rest.is_empty() {
                return Err(std::io::Error::other("disk went away"));
            }
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.1 += n;
            Ok(n)
        }
    }
    let text = fixture("not_joined.txt");
    let ctx = ReadCtx {
        file: Arc::from("x.txt"),
        size: 0,
        mtime: None,
        filter: &ALL,
        threads: 1,
        progress: None,
    };
    let p = read_dsregcmd(Failing(text.into_bytes(), 0), &ctx);
    assert_eq!(kinds(&p), vec!["io"]);
    assert_eq!(
        p.snapshots.into_iter().next().unwrap().join_state,
        JoinState::NotJoined
    );
}

#[test]
fn sniffer() {
    for name in [
        "hybrid_prt_error.txt",
        "not_joined.txt",
        "registered_only.txt",
        "device_disabled.txt",
        "domain_prejoin.txt",
        "legacy_1709.txt",
    ] {
        let text = fixture(name);
        let head: String = text.chars().take(1024).collect();
        assert!(looks_like_dsregcmd(&head), "{name}");
    }
    // Keys only, no banner (a pasted fragment).
    assert!(looks_like_dsregcmd(
        "AzureAdJoined : YES\nEnterpriseJoined : NO\nDomainJoined : YES\n"
    ));
    assert!(looks_like_dsregcmd(
        "\u{feff}    AzureAdJoined: NO\n     DomainJoined: YES\n"
    ));
    // One key is not enough; other evidence kinds are not dumps.
    assert!(!looks_like_dsregcmd("AzureAdJoined : YES\n"));
    assert!(!looks_like_dsregcmd(
        "{\"eventData\":{\"machineInfo\":{\"isAADJoined\":true,\"isDomainJoined\":false}}}\n"
    ));
    assert!(!looks_like_dsregcmd(
        "flowsessionid,statuscode,errorcode\n1,Failed,WindowsIdentityIncorrect\n"
    ));
    assert!(!looks_like_dsregcmd("| Name | Value |\n| a | b |\n"));
    assert!(!looks_like_dsregcmd(""));
}

#[test]
fn every_prefix_parses_without_panicking() {
    let text = fixture("domain_prejoin.txt");
    let full = parse(text.as_bytes()).report.records;
    let utf16 = utf16le(&crlf(&text), true);
    for (bytes, step) in [(text.as_bytes(), 1), (&utf16[..], 7)] {
        for end in (0..bytes.len()).step_by(step) {
            let p = parse(&bytes[..end]);
            assert!(p.report.records <= full);
            assert_eq!(!p.snapshots.is_empty(), p.report.records > 0);
        }
    }
}
