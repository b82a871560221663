//! The diagnosis engine on hand-built evidence: run finding and merging, user inference,
//! user scoping (other accounts' failures are never blamed on the run), verdicts, and the
//! absence rule's dependence on fully-read coverage.

use chrono::{DateTime, Duration, Utc};
use padtriage::diagnose::rules::RuleSet;
use padtriage::diagnose::runs::{find_runs, RunHint, UserBasis};
use padtriage::diagnose::verdict::Verdict;
use padtriage::diagnose::{diagnose, RunDiagnosis};
use padtriage::model::*;
use padtriage::sources::padlog::{PadLogEntry, TraceLevel};
use padtriage::sources::security::SecurityEvent;
use padtriage::sources::{Event, EventData};
use padtriage::timeline::{sort_events, Timeline};
use std::sync::Arc;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn src(file: &str, loc: Loc) -> SourceRef {
    SourceRef {
        file: Arc::from(file),
        loc,
    }
}

fn pad_error(at: &str, line: u64, code: &str, ntstatus: &[u32], user: Option<&str>) -> Event {
    Event {
        time: t(at),
        time_basis: TimeBasis::Utc,
        machine: None,
        source: src("PAD/UIFlowService.log", Loc::Line(line)),
        data: EventData::PadLog(PadLogEntry {
            level: Some(TraceLevel::Error),
            component: Some("UIFlowService".into()),
            message: format!("Run failed with {code}"),
            error_codes: vec![code.into()],
            ntstatus: ntstatus.to_vec(),
            user: user.map(str::to_string),
            ..Default::default()
        }),
    }
}

fn logon_failure(
    at: &str,
    rec: u64,
    user: &str,
    domain: &str,
    status: u32,
    sub: u32,
    ip: &str,
) -> Event {
    Event {
        time: t(at),
        time_basis: TimeBasis::Utc,
        machine: Some("RPA-VM01.contoso.com".into()),
        source: src("Security.evtx", Loc::Record(rec)),
        data: EventData::Security(SecurityEvent {
            event_id: 4625,
            target: Account {
                name: Some(user.into()),
                domain: Some(domain.into()),
                sid: None,
            },
            logon_type: Some(10),
            status: Some(status),
            sub_status: Some(sub),
            logon_process: Some("User32".into()),
            process_name: Some("C:\\Windows\\System32\\svchost.exe".into()),
            ip_address: Some(ip.into()),
            ..Default::default()
        }),
    }
}

fn security_report(first: &str, last: &str, errors: u64) -> FileReport {
    let mut r = FileReport::new("Security.evtx", FileKind::Evtx, 1 << 20);
    r.channels.push("Security".into());
    // A log that records failed logons (auditing on): its silence around a run means something.
    r.add_kind("security.4624");
    r.add_kind("security.4625");
    r.add_computer("RPA-VM01.contoso.com");
    r.records = 1000;
    r.errors = errors;
    r.see_time(t(first));
    r.see_time(t(last));
    if errors > 0 {
        r.problems.push(Problem::new(
            "bad_record",
            Some("record 5".into()),
            "bad record",
        ));
    }
    r
}

fn run_all(events: Vec<Event>, files: Vec<FileReport>, hint: RunHint) -> Vec<RunDiagnosis> {
    let mut tl = Timeline {
        events,
        snapshots: Vec::new(),
        files,
        time_notes: Default::default(),
    };
    sort_events(&mut tl.events);
    let rules = RuleSet::load(None).unwrap();
    let runs = find_runs(&tl, &hint);
    diagnose(
        &tl,
        &runs,
        &rules,
        Duration::minutes(15),
        Duration::minutes(2),
    )
}

fn verdict_of(d: &RunDiagnosis, cause: &str) -> Verdict {
    d.causes
        .iter()
        .find(|c| c.cause == cause)
        .map(|c| c.verdict)
        .unwrap_or_else(|| panic!("no cause {cause}"))
}

#[test]
fn wrong_password_is_confirmed_and_cited() {
    let events = vec![
        pad_error(
            "2025-06-02T13:17:05Z",
            40,
            "WindowsIdentityIncorrect",
            &[0xC000_006D],
            Some("jdoe@contoso.com"),
        ),
        logon_failure(
            "2025-06-02T13:17:04Z",
            4711,
            "jdoe@contoso.com",
            "",
            0xC000_006D,
            0xC000_006A,
            "127.0.0.1",
        ),
    ];
    let d = run_all(
        events,
        vec![security_report(
            "2025-06-02T08:00:00Z",
            "2025-06-02T14:00:00Z",
            0,
        )],
        RunHint::default(),
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].primary_cause.as_deref(), Some("credentials-mismatch"));
    assert_eq!(
        verdict_of(&d[0], "credentials-mismatch"),
        Verdict::Confirmed
    );
    let c = d[0]
        .causes
        .iter()
        .find(|c| c.cause == "credentials-mismatch")
        .unwrap();
    let cite = &c.evidence[0].cites[0];
    assert_eq!(cite.file, "Security.evtx");
    assert_eq!(cite.record, Some(4711));
    assert!(cite.text.contains("0xC000006A"));
    // The specific detail rules the logon-right cause out, and so does the Security log's silence.
    assert_eq!(verdict_of(&d[0], "logon-right-missing"), Verdict::RuledOut);
    assert_eq!(verdict_of(&d[0], "account-state"), Verdict::RuledOut);
}

#[test]
fn other_accounts_failures_are_not_blamed_on_the_run() {
    let mut events = vec![pad_error(
        "2025-06-02T13:17:05Z",
        40,
        "WindowsIdentityIncorrect",
        &[],
        Some("jdoe@contoso.com"),
    )];
    // A spray over the network against other accounts, and another user's lockout, same minutes.
    for i in 0..20 {
        events.push(logon_failure(
            "2025-06-02T13:16:30Z",
            5000 + i,
            &format!("admin{i}"),
            "CONTOSO",
            0xC000_006D,
            0xC000_006A,
            "203.0.113.7",
        ));
    }
    events.push(logon_failure(
        "2025-06-02T13:17:00Z",
        6000,
        "asmith",
        "CONTOSO",
        0xC000_0234,
        0,
        "-",
    ));
    let d = run_all(
        events,
        vec![security_report(
            "2025-06-02T08:00:00Z",
            "2025-06-02T14:00:00Z",
            0,
        )],
        RunHint::default(),
    );
    assert_eq!(d.len(), 1);
    assert_ne!(
        verdict_of(&d[0], "credentials-mismatch"),
        Verdict::Confirmed
    );
    assert_ne!(verdict_of(&d[0], "account-state"), Verdict::Confirmed);
    assert!(d[0].causes.iter().all(|c| c.verdict != Verdict::Confirmed));
}

#[test]
fn user_is_inferred_from_the_local_failed_logon_not_the_spray() {
    let events = vec![
        pad_error(
            "2025-06-02T13:17:05Z",
            40,
            "WindowsIdentityIncorrect",
            &[],
            None,
        ),
        logon_failure(
            "2025-06-02T13:17:04Z",
            4711,
            "rpa-bot",
            "AzureAD",
            0xC000_015B,
            0,
            "-",
        ),
        logon_failure(
            "2025-06-02T13:17:05Z",
            4712,
            "administrator",
            "CONTOSO",
            0xC000_006D,
            0xC000_006A,
            "198.51.100.9",
        ),
    ];
    let d = run_all(
        events,
        vec![security_report(
            "2025-06-02T08:00:00Z",
            "2025-06-02T14:00:00Z",
            0,
        )],
        RunHint::default(),
    );
    assert_eq!(d[0].user_basis, UserBasis::Inferred.as_str());
    assert_eq!(d[0].user.as_deref(), Some("AzureAD\\rpa-bot"));
    assert!(d[0]
        .user_note
        .as_deref()
        .unwrap()
        .contains("Security.evtx record 4711"));
    assert_eq!(d[0].primary_cause.as_deref(), Some("logon-right-missing"));
    assert_eq!(verdict_of(&d[0], "logon-right-missing"), Verdict::Confirmed);
}

#[test]
fn records_of_one_failure_merge_and_runs_an_hour_apart_do_not() {
    let events = vec![
        pad_error(
            "2025-06-02T09:00:05Z",
            10,
            "WindowsIdentityIncorrect",
            &[0xC000_015B],
            None,
        ),
        pad_error(
            "2025-06-02T09:00:07Z",
            12,
            "WindowsIdentityIncorrect",
            &[],
            None,
        ),
        pad_error(
            "2025-06-02T10:00:05Z",
            90,
            "WindowsIdentityIncorrect",
            &[0xC000_006D],
            None,
        ),
    ];
    let d = run_all(events, Vec::new(), RunHint::default());
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].sources.len(), 2);
    assert_eq!(d[0].primary_cause.as_deref(), Some("logon-right-missing"));
    assert_eq!(d[1].primary_cause.as_deref(), Some("credentials-mismatch"));
    assert_eq!(d[1].primary_verdict, Some(Verdict::Likely));
}

#[test]
fn missing_evidence_gives_unknown_with_what_to_collect() {
    let d = run_all(
        vec![pad_error(
            "2025-06-02T13:17:05Z",
            40,
            "WindowsIdentityIncorrect",
            &[],
            Some("jdoe@contoso.com"),
        )],
        Vec::new(),
        RunHint::default(),
    );
    assert_eq!(d[0].primary_cause, None);
    for c in &d[0].causes {
        assert_eq!(c.verdict, Verdict::Unknown, "{}", c.cause);
        assert!(!c.collect.is_empty(), "{} says what to collect", c.cause);
    }
    let dev = d[0]
        .causes
        .iter()
        .find(|c| c.cause == "device-not-joined")
        .unwrap();
    assert!(dev
        .collect
        .iter()
        .any(|k| k.command.contains("dsregcmd /status")));
}

#[test]
fn absence_in_a_partly_read_log_rules_nothing_out() {
    let events = vec![pad_error(
        "2025-06-02T13:17:05Z",
        40,
        "WindowsIdentityIncorrect",
        &[],
        Some("jdoe@contoso.com"),
    )];
    let full = run_all(
        events.clone(),
        vec![security_report(
            "2025-06-02T08:00:00Z",
            "2025-06-02T14:00:00Z",
            0,
        )],
        RunHint::default(),
    );
    assert_eq!(
        verdict_of(&full[0], "logon-right-missing"),
        Verdict::RuledOut
    );
    let partial = run_all(
        events,
        vec![security_report(
            "2025-06-02T08:00:00Z",
            "2025-06-02T14:00:00Z",
            3,
        )],
        RunHint::default(),
    );
    assert_eq!(
        verdict_of(&partial[0], "logon-right-missing"),
        Verdict::Unknown
    );
    assert!(partial[0].notes.iter().any(|n| n.contains("partly")));
}

#[test]
fn at_creates_a_run_when_the_bundle_has_none() {
    let events = vec![logon_failure(
        "2025-06-02T13:17:04Z",
        4711,
        "jdoe",
        "CONTOSO",
        0xC000_006E,
        0xC000_006F,
        "-",
    )];
    let hint = RunHint {
        at: Some(t("2025-06-02T13:17:30Z")),
        user: Some("CONTOSO\\jdoe".into()),
        error: None,
        machine: None,
    };
    let d = run_all(
        events,
        vec![security_report(
            "2025-06-02T08:00:00Z",
            "2025-06-02T14:00:00Z",
            0,
        )],
        hint,
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].error_code, "WindowsIdentityIncorrect");
    assert_eq!(d[0].user_basis, "given");
    assert_eq!(d[0].primary_cause.as_deref(), Some("account-restriction"));
}

#[test]
fn unrelated_failures_get_no_cause() {
    let d = run_all(
        vec![pad_error(
            "2025-06-02T13:17:05Z",
            40,
            "SessionHasLoggedOff",
            &[],
            None,
        )],
        Vec::new(),
        RunHint::default(),
    );
    // SessionHasLoggedOff is not a run error padtriage looks for in PAD logs.
    assert!(d.is_empty());
}

#[test]
fn absence_says_nothing_when_the_user_is_unknown() {
    // A run with no user anywhere and a Security log with no failed logon at all.
    let d = run_all(
        vec![pad_error(
            "2025-06-02T13:17:05Z",
            40,
            "WindowsIdentityIncorrect",
            &[],
            None,
        )],
        vec![security_report(
            "2025-06-02T08:00:00Z",
            "2025-06-02T14:00:00Z",
            0,
        )],
        RunHint::default(),
    );
    assert_eq!(d[0].user, None);
    assert_eq!(verdict_of(&d[0], "credentials-mismatch"), Verdict::Unknown);
    assert_eq!(verdict_of(&d[0], "logon-right-missing"), Verdict::Unknown);
}
