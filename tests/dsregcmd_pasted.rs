//! `dsregcmd /status` output as people send it: several runs in one file. Inputs are
//! hand-written in `tests/fixtures/dsregcmd/` following evidence-formats.md section 1.

use chrono::{TimeZone, Utc};
use padtriage::model::{EventFilter, Loc, Problem, Time};
use padtriage::sources::dsregcmd::{read_dsregcmd, JoinState};
use padtriage::sources::{Parsed, ReadCtx};
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

fn problems(p: &Parsed) -> Vec<(&str, Option<&str>)> {
    p.report
        .problems
        .iter()
        .map(|x: &Problem| (x.kind.as_str(), x.at.as_deref()))
        .collect()
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
