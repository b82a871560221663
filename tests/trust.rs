//! Verdicts at the edges of real bundles (#9): each test sets a trap a customer's bundle can
//! hold (another machine, another account, a remote source, a time without zone, a log that
//! does not cover the run, a stale snapshot, a record far from the run, two records of one
//! failure, a generic code beside a specific one) and asserts the right verdict, and above all
//! no false `confirmed`.

use chrono::{DateTime, Duration, Utc};
use padtriage_testkit::events::{self, Logon, Principal};
use padtriage_testkit::evtx_writer::{EventSpec, EvtxWriter};
use serde_json::Value;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

const RUN: &str = "2025-06-02T13:17:05Z";
const HOST: &str = "RPA-VM01.contoso.com";

/// A folder bundle under a temp dir.
struct Bundle {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Bundle {
    fn new() -> Bundle {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("bundle");
        fs::create_dir_all(&root).unwrap();
        Bundle { _dir: dir, root }
    }

    fn file(&self, rel: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        self
    }

    /// Give a file a modification date (what a copy keeps, or not).
    fn dated(&self, rel: &str, when: DateTime<Utc>) -> &Self {
        let f = fs::File::options()
            .write(true)
            .open(self.root.join(rel))
            .unwrap();
        f.set_modified(when.into()).unwrap();
        self
    }

    fn analyze(&self, extra: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_padtriage"))
            .arg("analyze")
            .arg(&self.root)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0) | Some(3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn verdict(run: &Value, cause: &str) -> String {
    run["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == cause)
        .map(|c| c["verdict"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no cause {cause} in {run}"))
}

fn confirmed(run: &Value) -> Vec<String> {
    run["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "confirmed")
        .map(|c| c["cause"].as_str().unwrap().to_string())
        .collect()
}

fn context_whys(run: &Value, cause: &str) -> Vec<String> {
    run["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cause"] == cause)
        .flat_map(|c| c["context"].as_array().cloned().unwrap_or_default())
        .map(|c| c["why"].as_str().unwrap().to_string())
        .collect()
}

fn notes(run: &Value) -> String {
    run["notes"].to_string()
}

/// A PAD UIFlowService error line as PAD writes it (JSON lines), at a time written as given.
fn pad_error(time: &str, ntstatus: i64, user: &str) -> String {
    format!(
        r#"{{"eventTimestamp":"{time}","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. Logon failed for user '{}'. Error code: {ntstatus}","correlationId":"0f8e6d4c-2b1a-4c3d-8e9f-a1b2c3d4e5f6"}}"#,
        user.replace('\\', "\\\\")
    )
}

fn pad_info(time: &str) -> String {
    format!(
        r#"{{"eventTimestamp":"{time}","traceLevel":"Info","component":"UIFlowService","message":"Heartbeat"}}"#
    )
}

/// A PAD log of lines, CRLF-separated.
fn pad_log(lines: &[String]) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}

/// A Security log of `computer` from `start` to `end`: logons of the machine's own accounts
/// every few minutes, one failed logon of another local account early on (the log records
/// failures: auditing is on), and `extra`.
fn security_log(
    computer: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    extra: Vec<EventSpec>,
) -> Vec<u8> {
    let mut evs = Vec::new();
    let mut at = start;
    while at <= end {
        let l = Logon::new(at, computer, Principal::system(), 5);
        evs.push(events::security_4624(&l));
        at += Duration::minutes(7);
    }
    let mut typo = Logon::new(
        start + Duration::minutes(3),
        computer,
        Principal::new("helpdesk", "RPA-VM01", "S-1-5-21-9-9-9-1001"),
        2,
    );
    typo.status = 0xC000_006D;
    typo.sub_status = 0xC000_006A;
    evs.push(events::security_4625(&typo));
    evs.extend(extra);
    evs.sort_by_key(|e| e.time);
    EvtxWriter::build(&evs).unwrap()
}

fn failed(
    at: DateTime<Utc>,
    computer: &str,
    who: Principal,
    logon_type: u32,
    status: u32,
    sub: u32,
) -> Logon {
    let mut l = Logon::new(at, computer, who, logon_type);
    l.status = status;
    l.sub_status = sub;
    l
}

fn jdoe() -> Principal {
    Principal::new("jdoe", "CONTOSO", "S-1-5-21-1-2-3-1107")
}

/// A dsregcmd dump of a hybrid-joined device, as the connection user ran it.
fn dsregcmd(device: &str, executing: &str, extra_sso: &str) -> String {
    format!(
        "+----------------------------------------------------------------------+\r\n\
         | Device State                                                         |\r\n\
         +----------------------------------------------------------------------+\r\n\
         \r\n\
         \x20            AzureAdJoined : YES\r\n\
         \x20         EnterpriseJoined : NO\r\n\
         \x20             DomainJoined : YES\r\n\
         \x20               DomainName : CONTOSO\r\n\
         \x20              Device Name : {device}\r\n\
         \r\n\
         +----------------------------------------------------------------------+\r\n\
         | Device Details                                                       |\r\n\
         +----------------------------------------------------------------------+\r\n\
         \r\n\
         \x20                 DeviceId : 6b1f0a52-3c9d-4e8a-a7f1-2d5c9e0b7a34\r\n\
         \x20DeviceCertificateValidity : [ 2024-03-11 08:42:17.000 UTC -- 2034-03-11 09:12:17.000 UTC ]\r\n\
         \x20         DeviceAuthStatus : SUCCESS\r\n\
         \r\n\
         +----------------------------------------------------------------------+\r\n\
         | SSO State                                                            |\r\n\
         +----------------------------------------------------------------------+\r\n\
         \r\n\
         {extra_sso}\
         \r\n\
         +----------------------------------------------------------------------+\r\n\
         | Diagnostic Data                                                      |\r\n\
         +----------------------------------------------------------------------+\r\n\
         \r\n\
         \x20   Executing Account Name : {executing}\r\n"
    )
}

// ---- 1. Remote and loosely matched logons ---------------------------------------------------

#[test]
fn a_password_spray_at_the_connection_accounts_own_name_is_context_never_evidence() {
    let run = t(RUN);
    let b = Bundle::new();
    // The spray: network logons from another host, at the connection account's name, with no
    // domain and with the machine's name as domain, in the seconds around the failure.
    let mut spray = Vec::new();
    for (i, domain) in ["", "RPA-VM01", "-"].iter().enumerate() {
        let mut l = failed(
            run - Duration::seconds(3 - i as i64),
            HOST,
            Principal::new("administrator", domain, ""),
            3,
            0xC000_006D,
            0xC000_006A,
        );
        l.ip_address = "203.0.113.45".into();
        l.workstation = "ATTACKER".into();
        spray.push(events::security_4625(&l));
    }
    b.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(1),
            run + Duration::hours(1),
            spray,
        ),
    );
    b.file(
        "PAD/UIFlowService.log",
        pad_log(&[
            pad_info("2025-06-02T13:10:00.000Z"),
            pad_error(
                "2025-06-02T13:17:05.431Z",
                -1073741715,
                "RPA-VM01\\administrator",
            ),
        ]),
    );
    for user in [
        "RPA-VM01\\administrator",
        ".\\administrator",
        "administrator",
    ] {
        let doc = b.analyze(&["--user", user]);
        let r = &doc["runs"][0];
        assert!(
            confirmed(r).is_empty(),
            "{user}: nothing may be confirmed by a spray: {:?}",
            confirmed(r)
        );
        // The complete log holds no local failure of the account: PAD's detail alone does not
        // make the cause, whatever the spray says.
        assert_ne!(verdict(r, "credentials-mismatch"), "confirmed", "{user}");
        assert_ne!(verdict(r, "username-format"), "confirmed", "{user}");
        assert!(
            context_whys(r, "credentials-mismatch")
                .iter()
                .any(|w| w.contains("203.0.113.45")),
            "{user}: the spray is shown as context: {}",
            r["causes"]
        );
    }
}

#[test]
fn accounts_of_other_domains_are_other_accounts() {
    let run = t(RUN);
    let b = Bundle::new();
    // A local failure for CONTOSO\jdoe, while the connection is AzureAD\jdoe.
    let l = failed(
        run - Duration::seconds(1),
        HOST,
        jdoe(),
        10,
        0xC000_006D,
        0xC000_006A,
    );
    b.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(1),
            run + Duration::hours(1),
            vec![events::security_4625(&l)],
        ),
    );
    b.file(
        "PAD/UIFlowService.log",
        pad_log(&[pad_error(
            "2025-06-02T13:17:05.431Z",
            -1073741715,
            "AzureAD\\jdoe",
        )]),
    );
    let r = &b.analyze(&[])["runs"][0];
    assert_ne!(verdict(r, "credentials-mismatch"), "confirmed");
    // A bare name (no domain) may or may not be the account: context, never counted.
    let b2 = Bundle::new();
    let bare = failed(
        run - Duration::seconds(1),
        HOST,
        Principal::new("jdoe", "", ""),
        10,
        0xC000_006D,
        0xC000_006A,
    );
    b2.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(1),
            run + Duration::hours(1),
            vec![events::security_4625(&bare)],
        ),
    );
    b2.file(
        "PAD/UIFlowService.log",
        pad_log(&[pad_error(
            "2025-06-02T13:17:05.431Z",
            -1073741715,
            "CONTOSO\\jdoe",
        )]),
    );
    let r = &b2.analyze(&[])["runs"][0];
    assert_ne!(verdict(r, "credentials-mismatch"), "confirmed");
    assert!(context_whys(r, "credentials-mismatch")
        .iter()
        .any(|w| w.contains("not shown to be the connection's")));
}

// ---- 2. Evidence from another machine -------------------------------------------------------

#[test]
fn another_machines_log_never_decides_a_run() {
    let run = t(RUN);
    let b = Bundle::new();
    // Host A: a person mistyped the connection account's password a minute earlier.
    let typo = failed(
        run - Duration::minutes(1),
        "HOST-A.contoso.com",
        jdoe(),
        2,
        0xC000_006D,
        0xC000_006A,
    );
    b.file(
        "HOST-A/Security.evtx",
        security_log(
            "HOST-A.contoso.com",
            run - Duration::hours(1),
            run + Duration::hours(1),
            vec![events::security_4625(&typo)],
        ),
    );
    // Host B: the run failed there; its own Security log shows nothing for the account.
    b.file(
        "HOST-B/Security.evtx",
        security_log(
            "HOST-B.contoso.com",
            run - Duration::hours(1),
            run + Duration::hours(1),
            Vec::new(),
        ),
    );
    b.file(
        "HOST-B/PAD/UIFlowService.log",
        pad_log(&[pad_error(
            "2025-06-02T13:17:05.431Z",
            -1073741714,
            "CONTOSO\\jdoe",
        )]),
    );
    let r = &b.analyze(&[])["runs"][0];
    assert_eq!(r["machine"], "HOST-B.contoso.com");
    assert_ne!(verdict(r, "credentials-mismatch"), "confirmed");
    assert!(context_whys(r, "credentials-mismatch")
        .iter()
        .any(|w| w.contains("another machine (HOST-A")));
    // PAD's detail (account restriction) is the run's own evidence; HOST-B's complete log
    // shows no such failure, so the two disagree.
    assert_eq!(verdict(r, "account-restriction"), "likely");

    // One log holding both machines' events (forwarded events): the same.
    let both = Bundle::new();
    let mut quiet_b = Logon::new(
        run - Duration::minutes(30),
        "HOST-B.contoso.com",
        Principal::system(),
        5,
    );
    quiet_b.status = 0;
    both.file(
        "Security.evtx",
        security_log(
            "HOST-A.contoso.com",
            run - Duration::hours(1),
            run + Duration::hours(1),
            vec![
                events::security_4625(&typo),
                events::security_4624(&quiet_b),
            ],
        ),
    );
    both.file(
        "PAD/UIFlowService.log",
        pad_log(&[pad_error(
            "2025-06-02T13:17:05.431Z",
            -1073741714,
            "CONTOSO\\jdoe",
        )]),
    );
    // The run's machine is not known from the bundle: nothing of either machine counts...
    let r = &both.analyze(&[])["runs"][0];
    assert_ne!(verdict(r, "credentials-mismatch"), "confirmed");
    assert!(notes(r).contains("--machine"), "{}", notes(r));
    // ...and told the machine, only its evidence does.
    let r = &both.analyze(&["--machine", "HOST-B"])["runs"][0];
    assert_ne!(verdict(r, "credentials-mismatch"), "confirmed");
    let cites_log = |r: &Value| {
        r["causes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cause"] == "credentials-mismatch")
            .unwrap()["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["cites"].as_array().unwrap())
            .any(|c| c["file"] == "Security.evtx")
    };
    assert!(!cites_log(r));
    let r = &both.analyze(&["--machine", "HOST-A"])["runs"][0];
    assert!(
        cites_log(r),
        "on HOST-A the mistyped password counts: {}",
        r
    );
}

// ---- 3. Times without a zone ----------------------------------------------------------------

/// The PAD log of a run at 13:17:05Z, written in local time (UTC+2) with no offset.
fn local_pad_log() -> String {
    pad_log(&[
        pad_info("2025-06-02 15:10:00.000"),
        pad_error("2025-06-02 15:17:05.431", -1073741715, "CONTOSO\\jdoe"),
        pad_info("2025-06-02 15:20:00.000"),
    ])
}

fn wrong_password_at_run(b: &Bundle) {
    let run = t(RUN);
    let l = failed(run, HOST, jdoe(), 10, 0xC000_006D, 0xC000_006A);
    b.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(4),
            run + Duration::hours(4),
            vec![events::security_4625(&l)],
        ),
    );
}

#[test]
fn zone_less_times_are_placed_by_their_utc_twin_and_the_report_says_so() {
    let b = Bundle::new();
    wrong_password_at_run(&b);
    b.file("PAD/UIFlowService.log", local_pad_log());
    let doc = b.analyze(&[]);
    let r = &doc["runs"][0];
    assert_eq!(r["time"], "2025-06-02T13:17:05.431Z", "placed in UTC");
    assert_eq!(r["time_basis"], "inferred");
    assert_eq!(verdict(r, "credentials-mismatch"), "confirmed");
    assert!(notes(r).contains("UTC+02:00"), "{}", notes(r));
    // Told the zone, the same answer, said to be given.
    let r = &b.analyze(&["--tz", "Europe/Berlin"])["runs"][0];
    assert_eq!(r["time"], "2025-06-02T13:17:05.431Z");
    assert_eq!(r["time_basis"], "given");
    assert_eq!(verdict(r, "credentials-mismatch"), "confirmed");
}

#[test]
fn a_zone_nothing_shows_is_an_assumption_and_decides_nothing_by_absence() {
    let run = t(RUN);
    let b = Bundle::new();
    // A complete Security log around 15:17 UTC (where the zone-less time lands if read as UTC),
    // recording failures, with none of the connection account's: read as UTC, it would rule
    // every cause out.
    b.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(4),
            run + Duration::hours(4),
            Vec::new(),
        ),
    );
    b.file("PAD/UIFlowService.log", local_pad_log());
    let r = &b.analyze(&[])["runs"][0];
    assert_eq!(r["time_basis"], "assumed");
    assert!(notes(r).contains("--tz"), "{}", notes(r));
    for c in r["causes"].as_array().unwrap() {
        for e in c["evidence"].as_array().unwrap() {
            assert!(
                !(e["strength"] == "rules_out" && e["cites"].as_array().unwrap().is_empty()),
                "absence ruled {} out for a run of uncertain time",
                c["cause"]
            );
        }
    }
    assert!(confirmed(r).is_empty());
}

#[test]
fn clocks_set_back_neither_move_nor_merge_runs() {
    // Europe/Berlin, 2025-10-26: 03:00 CEST becomes 02:00 CET. The flow fails at 02:30 local
    // twice, an hour apart (00:30Z and 01:30Z), with heartbeats between.
    let b = Bundle::new();
    b.file(
        "PAD/UIFlowService.log",
        pad_log(&[
            pad_info("2025-10-26 02:10:00.000"),
            pad_error("2025-10-26 02:30:00.000", -1073741715, "CONTOSO\\jdoe"),
            pad_info("2025-10-26 02:45:00.000"),
            pad_info("2025-10-26 02:59:00.000"),
            pad_info("2025-10-26 02:05:00.000"),
            pad_error("2025-10-26 02:30:00.000", -1073741715, "CONTOSO\\jdoe"),
            pad_info("2025-10-26 03:10:00.000"),
        ]),
    );
    let given = b.analyze(&["--tz", "Europe/Berlin"]);
    let times: Vec<&str> = given["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["time"].as_str().unwrap())
        .collect();
    assert_eq!(times, ["2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z"]);
    // Without the zone: still two runs, each read as UTC and said to be assumed.
    let assumed = b.analyze(&[]);
    assert_eq!(assumed["runs"].as_array().unwrap().len(), 2);
}

// ---- 4. Logs that do not cover the window ---------------------------------------------------

fn pad_run(b: &Bundle) {
    b.file(
        "PAD/UIFlowService.log",
        pad_log(&[pad_error(
            "2025-06-02T13:17:05.431Z",
            -1073741715,
            "CONTOSO\\jdoe",
        )]),
    );
}

fn absence_rule_outs(r: &Value) -> Vec<String> {
    r["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["evidence"].as_array().unwrap().iter().any(|e| {
                e["strength"] == "rules_out"
                    && e["notes"].to_string().contains("holds none that match")
            })
        })
        .map(|c| c["cause"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn absence_counts_only_in_a_log_covering_the_whole_window_that_records_such_events() {
    let run = t(RUN);
    // Covering the window, recording failures: absence rules causes out.
    let full = Bundle::new();
    pad_run(&full);
    full.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(1),
            run + Duration::hours(1),
            Vec::new(),
        ),
    );
    assert!(!absence_rule_outs(&full.analyze(&[])["runs"][0]).is_empty());
    // Ending a minute after the failure, before the window's end (2 minutes after).
    let short = Bundle::new();
    pad_run(&short);
    short.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(1),
            run + Duration::seconds(40),
            Vec::new(),
        ),
    );
    let r = &short.analyze(&[])["runs"][0];
    assert!(
        absence_rule_outs(r).is_empty(),
        "{:?}",
        absence_rule_outs(r)
    );
    assert!(r["causes"].to_string().contains("before the window's end"));
    // `--at` just after a log ends: nothing was recorded there.
    let at = Bundle::new();
    at.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(2),
            run - Duration::minutes(1),
            Vec::new(),
        ),
    );
    let r = &at.analyze(&["--at", RUN, "--user", "CONTOSO\\jdoe"])["runs"][0];
    assert!(absence_rule_outs(r).is_empty());
    // Starting after the window's start (the log wrapped).
    let wrapped = Bundle::new();
    pad_run(&wrapped);
    wrapped.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::minutes(5),
            run + Duration::hours(1),
            Vec::new(),
        ),
    );
    assert!(absence_rule_outs(&wrapped.analyze(&[])["runs"][0]).is_empty());
    // A log with no 4625 anywhere: failed-logon auditing may be off.
    let silent = Bundle::new();
    pad_run(&silent);
    let logons: Vec<EventSpec> = (0..30)
        .map(|i| {
            events::security_4624(&Logon::new(
                run - Duration::hours(1) + Duration::minutes(5 * i),
                HOST,
                Principal::system(),
                5,
            ))
        })
        .collect();
    silent.file("Security.evtx", EvtxWriter::build(&logons).unwrap());
    let r = &silent.analyze(&[])["runs"][0];
    assert!(absence_rule_outs(r).is_empty());
    assert!(r["causes"].to_string().contains("auditing may be off"));
    // Another machine's complete log says nothing about this machine.
    let other = Bundle::new();
    other.file(
        "PAD/UIFlowService.log",
        pad_log(&[pad_error(
            "2025-06-02T13:17:05.431Z",
            -1073741715,
            "CONTOSO\\jdoe",
        )]),
    );
    other.file(
        "dsregcmd.txt",
        dsregcmd(
            "RPA-VM01.contoso.com",
            "CONTOSO\\jdoe, jdoe@contoso.com",
            "",
        ),
    );
    other.file(
        "OTHER/Security.evtx",
        security_log(
            "OTHER-HOST",
            run - Duration::hours(1),
            run + Duration::hours(1),
            Vec::new(),
        ),
    );
    assert!(absence_rule_outs(&other.analyze(&[])["runs"][0]).is_empty());
}

// ---- 5. Run records far from the run --------------------------------------------------------

#[test]
fn a_timeless_run_record_attaches_only_within_a_day_after_the_run() {
    let run = t(RUN);
    let b = Bundle::new();
    wrong_password_at_run(&b);
    pad_run(&b);
    // The portal's error body (no time of its own), saved 14 days later, with another detail.
    b.file(
        "error.json",
        r#"{"error":{"code":"WindowsIdentityIncorrect","message":"Logon failed with error -1073741477."}}"#,
    );
    b.dated("error.json", run + Duration::days(14));
    let doc = b.analyze(&[]);
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "the far record is a run of its own");
    assert_eq!(runs[0]["time"], "2025-06-02T13:17:05.431Z");
    assert_eq!(runs[0]["primary_cause"], "credentials-mismatch");
    assert_eq!(runs[0]["sources"].as_array().unwrap().len(), 1);
    assert_eq!(runs[1]["time_is_estimate"], true);
    assert_eq!(runs[1]["time_basis"], "file_date");
    assert!(confirmed(&runs[1])
        .iter()
        .all(|c| c != "credentials-mismatch"));
    // Saved 40 minutes after the failure, the same record is the run's.
    b.dated("error.json", run + Duration::minutes(40));
    let doc = b.analyze(&[]);
    assert_eq!(doc["runs"].as_array().unwrap().len(), 1);
    assert_eq!(doc["runs"][0]["sources"].as_array().unwrap().len(), 2);
}

// ---- 6. One failure, two runs ---------------------------------------------------------------

#[test]
fn records_of_one_failure_merge_whatever_ids_they_carry() {
    let b = Bundle::new();
    wrong_password_at_run(&b);
    pad_run(&b);
    // The flow-session row of the same failure, with the cloud's correlation id (not PAD's).
    b.file(
        "flowsessions.csv",
        "flowsessionid,errorcode,errormessage,startedon,completedon,sessionusername,correlationid\r\n\
         7c1e9a44-1f2b-4c6d-9e8f-0a1b2c3d4e5f,WindowsIdentityIncorrect,The credentials provided with the request are invalid.,2025-06-02T13:16:58Z,2025-06-02T13:17:07Z,CONTOSO\\jdoe,5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d\r\n",
    );
    let doc = b.analyze(&[]);
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(
        runs.len(),
        1,
        "{:?}",
        runs.iter().map(|r| &r["time"]).collect::<Vec<_>>()
    );
    assert_eq!(runs[0]["sources"].as_array().unwrap().len(), 2);
    assert_eq!(runs[0]["primary_cause"], "credentials-mismatch");
    // A failure on another machine at the same second stays a run of its own.
    b.file(
        "other.csv",
        "flowsessionid,errorcode,errormessage,startedon,completedon,sessionusername,machinename\r\n\
         1,WindowsIdentityIncorrect,x,2025-06-02T13:16:58Z,2025-06-02T13:17:06Z,CONTOSO\\jdoe,RPA-VM77\r\n",
    );
    assert_eq!(b.analyze(&[])["runs"].as_array().unwrap().len(), 2);
}

// ---- 7. Snapshots taken later ---------------------------------------------------------------

fn pad_not_joined(b: &Bundle) {
    b.file(
        "PAD/UIFlowService.log",
        pad_log(&[
            r#"{"eventTimestamp":"2025-06-02T13:17:05.431Z","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. Logon failed for user 'jdoe@contoso.com'. Error code: -1073741715","eventData":{"machineInfo":{"machineName":"RPA-VM01","isAADJoined":false,"isDomainJoined":false}}}"#.to_string(),
        ]),
    );
}

#[test]
fn a_dump_taken_after_a_rejoin_neither_confirms_nor_rules_out() {
    let run = t(RUN);
    let b = Bundle::new();
    pad_not_joined(&b);
    // Weeks later, after the device was joined: its certificate was issued after the run.
    let later = dsregcmd("RPA-VM01", "CONTOSO\\jdoe, jdoe@contoso.com", "").replace(
        "2024-03-11 08:42:17.000 UTC -- 2034",
        "2025-06-20 10:00:00.000 UTC -- 2035",
    );
    b.file("dsregcmd.txt", later);
    b.dated("dsregcmd.txt", run + Duration::days(21));
    let r = &b.analyze(&[])["runs"][0];
    assert_ne!(
        verdict(r, "device-not-joined"),
        "ruled_out",
        "{}",
        r["causes"]
    );
    assert_eq!(
        verdict(r, "device-not-joined"),
        "likely",
        "PAD saw it not joined"
    );
    assert!(notes(r).contains("issued"), "{}", notes(r));
    // Even without a certificate date, a dump whose own PRT time is weeks after is stale.
    let b2 = Bundle::new();
    pad_not_joined(&b2);
    b2.file(
        "dsregcmd.txt",
        dsregcmd(
            "RPA-VM01",
            "CONTOSO\\jdoe, jdoe@contoso.com",
            "                AzureAdPrt : YES\r\n      AzureAdPrtUpdateTime : 2025-06-23 08:00:00.000 UTC\r\n",
        )
        .replace("DeviceCertificateValidity", "Thumbprint"),
    );
    let r = &b2.analyze(&[])["runs"][0];
    assert_ne!(verdict(r, "device-not-joined"), "ruled_out");
}

#[test]
fn the_nearest_dump_and_the_connection_accounts_dump_speak_others_do_not() {
    let run = t(RUN);
    let b = Bundle::new();
    wrong_password_at_run(&b);
    pad_run(&b);
    let prt_no = "                AzureAdPrt : NO\r\n";
    let prt_yes = "                AzureAdPrt : YES\r\n      AzureAdPrtUpdateTime : 2025-06-02 12:58:00.000 UTC\r\n";
    // Run as an administrator: no PRT (as it must; it says nothing of jdoe's).
    b.file(
        "admin/dsregcmd.txt",
        dsregcmd("RPA-VM01", "RPA-VM01\\Administrator", prt_no),
    );
    b.dated("admin/dsregcmd.txt", run + Duration::minutes(20));
    // Run as the connection account: a PRT.
    b.file(
        "user/dsregcmd.txt",
        dsregcmd("RPA-VM01", "CONTOSO\\jdoe, jdoe@contoso.com", prt_yes),
    );
    b.dated("user/dsregcmd.txt", run + Duration::minutes(30));
    let r = &b.analyze(&[])["runs"][0];
    assert_eq!(
        verdict(r, "account-not-synced"),
        "ruled_out",
        "{}",
        r["causes"]
    );
    // Only the administrator's dump: it speaks for the device, not for jdoe's PRT.
    let a = Bundle::new();
    wrong_password_at_run(&a);
    pad_run(&a);
    a.file(
        "dsregcmd.txt",
        dsregcmd("RPA-VM01", "RPA-VM01\\Administrator", prt_no),
    );
    a.dated("dsregcmd.txt", run + Duration::minutes(20));
    let r = &a.analyze(&[])["runs"][0];
    assert_eq!(
        verdict(r, "account-not-synced"),
        "unknown",
        "{}",
        r["causes"]
    );
}

// ---- 8. The generic code beside the specific one --------------------------------------------

#[test]
fn the_same_attempts_specific_substatus_decides_over_a_generic_detail() {
    let run = t(RUN);
    let b = Bundle::new();
    let l = failed(run, HOST, jdoe(), 10, 0xC000_006E, 0xC000_0072);
    b.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(1),
            run + Duration::hours(1),
            vec![events::security_4625(&l)],
        ),
    );
    b.file(
        "PAD/UIFlowService.log",
        pad_log(&[pad_error(
            "2025-06-02T13:17:05.431Z",
            -1073741714,
            "CONTOSO\\jdoe",
        )]),
    );
    let r = &b.analyze(&[])["runs"][0];
    assert_eq!(r["primary_cause"], "account-state", "{}", r["causes"]);
    assert_eq!(verdict(r, "account-state"), "confirmed");
    assert_ne!(verdict(r, "account-restriction"), "confirmed");
    let conflicts = r["conflicts"].to_string();
    assert!(
        conflicts.contains("0xC000006E") && conflicts.contains("0xC0000072"),
        "{conflicts}"
    );
}

// ---- Dumps as people send them (#15, items 4-6) ---------------------------------------------

#[test]
fn a_masked_executing_account_is_no_identity() {
    let run = t(RUN);
    let b = Bundle::new();
    b.file(
        "Security.evtx",
        security_log(
            HOST,
            run - Duration::hours(1),
            run + Duration::hours(1),
            Vec::new(),
        ),
    );
    b.file(
        "PAD/UIFlowService.log",
        pad_log(&[r#"{"eventTimestamp":"2025-06-02T13:17:05.431Z","traceLevel":"Error","component":"UIFlowService","message":"Session creation failed: WindowsIdentityIncorrect. Error code: -1073741715"}"#.to_string()]),
    );
    b.file("dsregcmd.txt", dsregcmd("RPA-VM01", "***\\*******", ""));
    b.dated("dsregcmd.txt", run + Duration::minutes(10));
    let r = &b.analyze(&[])["runs"][0];
    assert_eq!(r["user_basis"], "unknown", "{}", r["user"]);
    assert!(r["user"].is_null());
}

#[test]
fn machine_backslash_user_on_that_machine_is_a_local_account() {
    let run = t(RUN);
    let b = Bundle::new();
    b.file(
        "Security.evtx",
        security_log(
            "AADJoin02",
            run - Duration::hours(1),
            run + Duration::hours(1),
            Vec::new(),
        ),
    );
    b.file(
        "PAD/UIFlowService.log",
        pad_log(&[pad_error(
            "2025-06-02T13:17:05.431Z",
            -1073741715,
            "AADJOIN02\\PCUser",
        )]),
    );
    b.file(
        "dsregcmd.txt",
        dsregcmd("AADJoin02", "AADJOIN02\\PCUser", "")
            .replace("DomainJoined : YES", "DomainJoined : NO"),
    );
    b.dated("dsregcmd.txt", run + Duration::minutes(10));
    let r = &b.analyze(&[])["runs"][0];
    assert_ne!(verdict(r, "username-format"), "likely", "{}", r["causes"]);
    assert_ne!(verdict(r, "username-format"), "confirmed");
}

#[test]
fn a_dump_run_as_a_local_account_says_nothing_of_the_connections_prt() {
    let run = t(RUN);
    let b = Bundle::new();
    wrong_password_at_run(&b);
    pad_run(&b);
    b.file(
        "dsregcmd.txt",
        dsregcmd(
            "RPA-VM01",
            "RPA-VM01\\localadmin",
            "                AzureAdPrt : NO\r\n",
        ),
    );
    b.dated("dsregcmd.txt", run + Duration::minutes(10));
    let r = &b.analyze(&[])["runs"][0];
    assert_eq!(
        verdict(r, "account-not-synced"),
        "unknown",
        "{}",
        r["causes"]
    );
}
