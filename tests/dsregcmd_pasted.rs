//! `dsregcmd /status` output as people send it: pasted into a ticket inside markdown fences with
//! prose around it, quoted in a mail reply, with its indentation eaten by a forum, with marks
//! where the poster left output out, and several runs in one file. Inputs are hand-written in
//! `tests/fixtures/dsregcmd/` (`pasted_*`, `two_runs_*`) following evidence-formats.md section 1.

use chrono::{TimeZone, Utc};
use padtriage::model::{EventFilter, Loc, Problem, Time, TimeBasis};
use padtriage::sources::dsregcmd::{looks_like_dsregcmd, read_dsregcmd, DsregSnapshot, JoinState};
use padtriage::sources::{EventData, Parsed, ReadCtx};
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
    Utc.with_ymd_and_hms(2025, 3, 11, 15, 2, 0).unwrap()
}

fn parse(text: &str) -> Parsed {
    let ctx = ReadCtx {
        file: Arc::from("dsregcmd.txt"),
        size: text.len() as u64,
        mtime: Some(mtime()),
        filter: &ALL,
        threads: 1,
        progress: None,
    };
    read_dsregcmd(text.as_bytes(), &ctx)
}

fn utc(s: &str) -> Time {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&Utc)
}

/// 1-based line of the `n`th (1-based) line containing `needle`, found independently of the
/// parser.
fn nth_line_of(text: &str, needle: &str, n: usize) -> u64 {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(n - 1)
        .unwrap()
        .0 as u64
        + 1
}

fn line_of(text: &str, needle: &str) -> u64 {
    nth_line_of(text, needle, 1)
}

fn only(p: &Parsed) -> &DsregSnapshot {
    assert_eq!(p.snapshots.len(), 1, "one dump expected");
    &p.snapshots[0]
}

fn value<'a>(s: &'a DsregSnapshot, key: &str) -> &'a str {
    &s.field(key).unwrap().value
}

fn problems(p: &Parsed) -> Vec<(&str, Option<&str>)> {
    p.report
        .problems
        .iter()
        .map(|x: &Problem| (x.kind.as_str(), x.at.as_deref()))
        .collect()
}

/// No value carries a fence, a quote marker, an omission mark or prose.
fn clean_values(s: &DsregSnapshot) {
    for f in &s.fields {
        for debris in [
            "`", "> ", "...", "[...]", "<snip>", "Any idea", "Thanks", "and the",
        ] {
            assert!(
                !f.value.contains(debris),
                "{} = {:?} carries {debris:?}",
                f.key,
                f.value
            );
        }
    }
}

#[test]
fn dump_in_markdown_fences_with_prose_around_it() {
    let text = fixture("pasted_fenced.md");
    let head: String = text.chars().take(2048).collect();
    assert!(looks_like_dsregcmd(&head));
    let p = parse(&text);
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    let s = only(&p);
    clean_values(s);
    // Values right before a closing fence.
    assert_eq!(s.device_name.as_deref(), Some("RPA-VM01"));
    assert_eq!(s.device_auth_status.as_deref(), Some("SUCCESS"));
    assert_eq!(
        s.enterprise_prt_authority.as_deref(),
        Some("https://sts.contoso.com:443/adfs")
    );
    assert_eq!(s.join_state, JoinState::EntraJoined);
    assert_eq!(s.azure_ad_prt, Some(true));
    assert_eq!(s.prt_update_time, Some(utc("2025-03-11T13:02:41Z")));
    assert_eq!(s.enterprise_prt, Some(true));
    assert_eq!(
        s.tenant_id.as_deref(),
        Some("3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18")
    );
    // The three blocks are one dump, cited from its first banner.
    assert_eq!(s.source.loc, Loc::Line(line_of(&text, "| Device State")));
    assert_eq!(s.last_line, line_of(&text, "EnterprisePrtAuthority"));
    assert_eq!(p.report.records, 20);
    // Prose, the caption between blocks and the fences are counted, never read.
    assert_eq!(p.report.ignored, 14);
}

#[test]
fn a_fence_glued_to_a_value_is_not_part_of_it() {
    let text = "+----+\n| Device Details |\n+----+\n          DeviceAuthStatus : SUCCESS```\n```\n";
    let p = parse(text);
    assert_eq!(only(&p).device_auth_status.as_deref(), Some("SUCCESS"));
    // The width rule alone: a short line is never continued by the next one.
    let text = "          DeviceAuthStatus : SUCCESS\nplease advise\n             AzureAdJoined : YES\n              DomainJoined : NO\n";
    let p = parse(text);
    assert_eq!(only(&p).device_auth_status.as_deref(), Some("SUCCESS"));
}

#[test]
fn dump_quoted_in_a_mail_reply() {
    let text = fixture("pasted_quoted_reply.txt");
    let head: String = text.chars().take(2048).collect();
    assert!(looks_like_dsregcmd(&head));
    let p = parse(&text);
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    let s = only(&p);
    clean_values(s);
    assert_eq!(s.join_state, JoinState::EntraJoined);
    assert_eq!(s.device_name.as_deref(), Some("RPA-VM03"));
    assert_eq!(s.azure_ad_prt, Some(false));
    assert_eq!(
        s.executing_account.as_deref(),
        Some("AzureAD\\JohnDoe, john.doe@contoso.com")
    );
    assert_eq!(
        s.field("AzureAdPrt").unwrap().line,
        line_of(&text, "AzureAdPrt :")
    );
}

#[test]
fn dump_that_lost_its_indentation() {
    let text = fixture("pasted_flush_left.txt");
    let p = parse(&text);
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    let s = only(&p);
    clean_values(s);
    assert_eq!(s.join_state, JoinState::HybridJoined);
    assert_eq!(s.device_name.as_deref(), Some("RPA-VM02.corp.contoso.com"));
    // A key this parser does not list (a newer build's), at column 0 after a wide line: with
    // every key at column 0 it is a key, not the rest of the line before.
    assert_eq!(
        value(s, "AuthCodeUrl"),
        "https://login.microsoftonline.com/3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18/oauth2/authorize"
    );
    assert_eq!(value(s, "CloudDeviceFlags"), "0x0000000C");
    assert_eq!(
        s.executing_account.as_deref(),
        Some("CONTOSO\\jdoe, jdoe@contoso.com")
    );
    assert_eq!(p.report.records, 21);
}

#[test]
fn console_wrapped_dump_that_lost_its_indentation() {
    // Wrapped at 80 columns, then pasted flush left: the first part of a wrapped value is now
    // narrower than the console was, and its rest is still joined.
    let text = fixture("pasted_flush_left_wrapped.txt");
    let p = parse(&text);
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    let s = only(&p);
    assert_eq!(
        value(s, "AuthCodeUrl"),
        "https://login.microsoftonline.com/3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18/oauth2/authorize"
    );
    assert_eq!(
        value(s, "KeySrvUrl"),
        "https://enterpriseregistration.windows.net/EnrollmentServer/key/"
    );
    assert_eq!(
        s.prt_authority.as_deref(),
        Some("https://login.microsoftonline.com/3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18")
    );
    assert_eq!(value(s, "CloudDeviceFlags"), "0x0000000C");
    assert_eq!(p.report.records, 21);
}

#[test]
fn dump_with_omitted_sections() {
    let text = fixture("pasted_omitted.txt");
    let p = parse(&text);
    let s = only(&p);
    // A mark after a short value is only a mark.
    assert_eq!(s.device_name.as_deref(), Some("RPA-VM04"));
    assert_eq!(s.join_state, JoinState::EntraJoined);
    assert_eq!(s.azure_ad_prt, Some(false));
    // Values the poster left out, whole or in part, are unreadable: kept as read, not typed,
    // and reported.
    assert_eq!(value(s, "TenantId"), "[...]");
    assert_eq!(s.tenant_name.as_deref(), Some("Contoso Ltd"));
    assert_eq!(s.prt_update_time, None);
    // The widest line of the dump, right before a mark: the console may have wrapped it and
    // its rest may be among the lines left out.
    let e = s.prt_error.as_ref().unwrap();
    assert_eq!(e.server_error_description, None);
    assert_eq!(e.aadsts, None);
    assert_eq!(e.server_error_code.as_deref(), Some("invalid_grant"));
    assert_eq!(e.attempt_status, Some(0xC000_006D));
    // A narrower line before a mark was not wrapped: it is read.
    assert_eq!(
        s.prt_authority.as_deref(),
        Some("https://login.microsoftonline.com/3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18")
    );
    let at = |needle: &str| format!("line {}", line_of(&text, needle));
    let (tenant, update, description) = (
        at("TenantId :"),
        at("AzureAdPrtUpdateTime"),
        at("Server Error Description"),
    );
    let mut got = problems(&p);
    got.sort();
    let mut want = vec![
        ("unreadable_value", Some(tenant.as_str())),
        ("unreadable_value", Some(update.as_str())),
        ("unreadable_value", Some(description.as_str())),
    ];
    want.sort();
    assert_eq!(got, want, "{:?}", p.report.problems);
    // The tenant still comes from the PRT authority, as for a dump without Tenant Details.
    assert_eq!(
        s.tenant_id.as_deref(),
        Some("3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18")
    );
    for f in &s.fields {
        assert!(
            !f.value.ends_with("..") || f.key == "AzureAdPrtUpdateTime",
            "{f:?}"
        );
    }
}

#[test]
fn two_runs_as_administrator_then_as_the_user() {
    let text = fixture("two_runs_admin_then_user.txt");
    let p = parse(&text);
    // Two clean dumps are read completely.
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.dumps, 2);
    let [admin, user] = &p.snapshots[..] else {
        panic!("two dumps expected, got {}", p.snapshots.len())
    };
    assert_eq!(
        (admin.dump, admin.dumps, user.dump, user.dumps),
        (1, 2, 2, 2)
    );

    assert_eq!(admin.join_state, JoinState::DomainOnly);
    assert_eq!(admin.azure_ad_prt, Some(false));
    assert_eq!(
        admin.executing_account.as_deref(),
        Some("CONTOSO\\rpaadmin, rpaadmin@contoso.com")
    );
    assert_eq!(admin.user_context.as_deref(), Some("ELEVATED User"));
    assert_eq!(admin.taken_at, Some(utc("2025-03-11T09:12:40Z")));
    assert_eq!(admin.taken_at_basis.as_deref(), Some("Client Time"));
    assert_eq!(admin.client_error_code, Some(0x801C_03F2));
    assert_eq!(admin.first_line, nth_line_of(&text, "| Device State", 1));
    assert_eq!(admin.last_line, line_of(&text, "WillNotProvision"));
    assert_eq!(admin.source.loc, Loc::Line(admin.first_line));

    assert_eq!(user.join_state, JoinState::HybridJoined);
    assert_eq!(user.azure_ad_prt, Some(true));
    assert_eq!(
        user.executing_account.as_deref(),
        Some("CONTOSO\\jdoe, jdoe@contoso.com")
    );
    // The user's dump prints no Client Time: its own time is the file's, not the admin's.
    assert_eq!(user.taken_at, Some(mtime()));
    assert_eq!(
        user.taken_at_basis.as_deref(),
        Some("file modification time")
    );
    assert_eq!(user.client_error_code, None);
    assert_eq!(user.first_line, nth_line_of(&text, "| Device State", 2));
    assert_eq!(user.last_line, nth_line_of(&text, "WillNotProvision", 2));
    // Each cites its own lines.
    assert_eq!(
        user.field("AzureAdPrt").unwrap().line,
        nth_line_of(&text, "AzureAdPrt :", 2)
    );
    assert!(admin.fields.iter().all(|f| f.line <= admin.last_line));
    assert!(user.fields.iter().all(|f| f.line >= user.first_line));
    assert_eq!(
        p.report.records,
        (admin.fields.len() + user.fields.len()) as u64
    );
    assert_eq!(
        (p.report.first, p.report.last),
        (admin.taken_at, user.taken_at)
    );

    // One timeline entry each, dated as the dump was.
    let times: Vec<(Time, TimeBasis)> = p.events.iter().map(|e| (e.time, e.time_basis)).collect();
    assert_eq!(
        times,
        vec![
            (utc("2025-03-11T09:12:40Z"), TimeBasis::Utc),
            (mtime(), TimeBasis::FileDate)
        ]
    );
    assert_eq!(
        p.events[1].machine.as_deref(),
        Some("RPA-VM01.corp.contoso.com")
    );
    assert_eq!(p.events[0].kind(), "dsregcmd.snapshot");
    let EventData::Dsregcmd(e) = &p.events[1].data else {
        panic!("{:?}", p.events[1].data)
    };
    assert_eq!((e.dump, e.dumps), (2, 2));
    assert_eq!(e.azure_ad_prt, Some(true));
}

#[test]
fn the_same_dump_pasted_twice() {
    // A chat paste that kept no banner, twice: the second `AzureAdJoined` starts a dump.
    let once = "             AzureAdJoined : YES\n          EnterpriseJoined : NO\n              DomainJoined : NO\n               Device Name : RPA-VM05\n                AzureAdPrt : NO\n";
    let p = parse(&format!("{once}{once}"));
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.snapshots.len(), 2);
    for (n, s) in p.snapshots.iter().enumerate() {
        assert_eq!(s.dump, n + 1);
        assert_eq!(s.fields.len(), 5);
        assert_eq!(s.join_state, JoinState::EntraJoined);
        assert_eq!(s.first_line, 1 + 5 * n as u64);
    }

    // A whole dump with its banners, pasted twice into one ticket.
    let dump = fixture("hybrid_prt_error.txt");
    let p = parse(&format!("{dump}\n{dump}"));
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.dumps, 2);
    let [a, b] = &p.snapshots[..] else { panic!() };
    assert_eq!(a.fields.len(), b.fields.len());
    assert_eq!(a.executing_account, b.executing_account);
    assert!(a.last_line < b.first_line);
}

#[test]
fn dumps_per_file_are_capped() {
    // Every `AzureAdJoined` line starts a dump: a hostile file is not thousands of snapshots.
    let text = "             AzureAdJoined : NO\n".repeat(10_000);
    let p = parse(&text);
    assert_eq!(p.snapshots.len(), 64);
    assert_eq!(p.report.dumps, 64);
    assert_eq!(problems(&p), vec![("limit", Some("line 65"))]);
    assert!(p.report.problems[0].message.starts_with("9936 more dumps"));
}
