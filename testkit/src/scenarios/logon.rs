//! Scenarios where Windows refuses or cannot check a logon with the right password: a missing
//! logon right (07), logon hours (08), neither the DC nor Entra ID reachable (09).

use super::pad::{PadLogs, RunStory};
use super::world::{
    aad_evtx, aad_signin_noise, background, boot, dsreg_joined, entra_executing, pad_check_failed,
    pad_logon, session, token_broker_failed, typed, udr_evtx, whfb_skipped, Join, Machine, User,
    PAD_VERSION,
};
use super::{expected, file, mins, ms, readme, run, secs, signed, t, Scenario, WII};
use crate::events::{self as ev};
use crate::writers::dsregcmd::{dsreg_text, PrtDiag};
use crate::writers::evtx_log::evtx;
use crate::writers::run_records::{flowsessions_csv, portal_outputs, SessionRow};
use crate::writers::{encode, guid_str, Enc};
use chrono::Duration;

// ---------------------------------------------------------------------------------------------
// 07: a missing logon right; the PAD log never names the user

pub(super) fn s07_logon_right_missing() -> Scenario {
    let name = "07-logon-right-missing";
    let fail = t("2025-07-15T09:20:11.930Z");
    let upn = "lchen@contoso.com";
    let mut exp = run(
        fail,
        WII,
        Some("logon-right-missing"),
        Some("confirmed"),
        Some(upn),
    );
    exp.user_basis = Some("inferred".into());
    let exp = exp.causes(&[
        ("account-not-synced", "unknown"),
        ("account-restriction", "ruled_out"),
        ("account-state", "ruled_out"),
        ("auth-unreachable", "ruled_out"),
        ("credentials-mismatch", "ruled_out"),
        ("device-not-joined", "ruled_out"),
        ("federated-user", "unknown"),
        ("logon-right-missing", "confirmed"),
        ("username-format", "ruled_out"),
    ]);
    Scenario {
        name,
        title: "Logon right missing (0xC000015B, RDP); the user only appears in the Security log",
        large: false,
        expected: expected(name, vec![exp], false),
        readme: readme(
            "07 - logon right missing",
            &[
                "Entra-joined VM `RPA-VM07`. A GPO change put the RPA accounts' group into \"Deny log on through",
                "Remote Desktop Services\". The 09:20 run failed with WindowsIdentityIncorrect, detail -1073741477",
                "(0xC000015B). PAD's log does not name the account and there is no flow-session export; the",
                "Security log shows PAD's credential check for `lchen@contoso.com` succeeding (LogonType 2) and",
                "the RDP session logon (LogonType 10, from 127.0.0.1) failing with 0xC000015B at that second.",
                "",
                "Conclusion: the account lacks \"Allow log on through Remote Desktop Services\" (or is denied it).",
                "Fix User Rights Assignment. The report must say the user was inferred from the 4625.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM07", Join::Entra, 0x07);
            let u = User::entra(upn);
            let admin = User::entra("itadmin@contoso.com");
            let log_start = t("2025-07-15T06:00:41.7Z");
            let collected = fail + mins(71);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.extend(session(&m, &u, fail - ms(2100), Some(fail - ms(1400)), 2, "-", false));
            let mut rdp = pad_logon(&m, fail - ms(310), typed(upn, "AzureAD"), 10);
            rdp.status = 0xC000_015B;
            rdp.sub_status = 0;
            rdp.failure_reason = "%%2308".into();
            sec.push(ev::security_4625(&rdp));
            let admin_logon = fail + mins(58);
            sec.extend(session(&m, &admin, admin_logon, None, 10, "10.20.1.15", true));
            let security = evtx(sec, 455_890);
            let aad = aad_evtx(&m, fail, aad_signin_noise(&m, admin_logon + secs(2), &admin.principal.sid), 640);
            let udr = udr_evtx(&m, fail, vec![whfb_skipped(&m, admin_logon + secs(8), &admin.principal.sid, true)], 301);
            let d = dsreg_joined(&m, admin_logon + mins(4), mins(4), &entra_executing(&admin));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(3),
                flow: "Timesheet reminders",
                correlation: guid_str("run/07"),
                user: None,
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(3), WII, Some(signed(0xC000_015B)));
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, admin_logon + mins(4)),
                file(
                    "error.json",
                    portal_outputs(WII, signed(0xC000_015B), fail + secs(1)),
                    fail + mins(30),
                ),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 08: logon hours; dsregcmd in Windows-1252

pub(super) fn s08_account_restriction() -> Scenario {
    let name = "08-account-restriction";
    let fail = t("2025-08-05T22:30:03.377Z");
    let upn = "rpa-night@contoso.com";
    Scenario {
        name,
        title: "Run outside the account's logon hours (0xC000006E / 0xC000006F); dsregcmd in Windows-1252",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("account-restriction"), Some("confirmed"), Some(upn)).causes(&[
                    ("account-not-synced", "unknown"),
                    ("account-restriction", "confirmed"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "ruled_out"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "unknown"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "ruled_out"),
                ])],
            false,
        ),
        readme: readme(
            "08 - account restriction (logon hours)",
            &[
                "Hybrid-joined VM `RPA-VM08.corp.contoso.com`. The AD account `CONTOSO\\rpa-night` may only log on",
                "06:00-22:00. The night run at 22:30 failed with WindowsIdentityIncorrect, detail -1073741714",
                "(0xC000006E); the Security log shows PAD's logon check failing with Status 0xC000006E SubStatus",
                "0xC000006F (outside allowed hours). A flow-session CSV export lists the run. dsregcmd.txt was",
                "re-saved in Windows-1252 by an admin (`CONTOSO\\jürgen.köhler`; tenant `Contoso Zürich AG`).",
                "",
                "Conclusion: an account restriction (logon hours) blocks the logon: widen the account's logon",
                "hours in AD, or schedule the flow inside them.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM08.corp.contoso.com", Join::Hybrid, 0x08);
            let admin = User::ad("jürgen.köhler@contoso.com", 1311);
            let log_start = t("2025-08-05T19:14:52.0Z");
            let collected = t("2025-08-06T07:40:00Z");
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], fail + mins(40)));
            sec.push(pad_check_failed(
                &m,
                fail - ms(190),
                typed(upn, ""),
                2,
                0xC000_006E,
                0xC000_006F,
                "%%2311",
            ));
            let admin_logon = t("2025-08-06T07:22:31.4Z");
            sec.extend(session(&m, &admin, admin_logon, None, 10, "10.20.8.12", true));
            let security = evtx(sec, 1_650_233);
            let aad = aad_evtx(&m, fail, aad_signin_noise(&m, admin_logon + secs(2), &admin.principal.sid), 4_410);
            let udr = udr_evtx(&m, fail,
                vec![
                    ev::udr_335(log_start + mins(2), &m.computer),
                    whfb_skipped(&m, admin_logon + secs(9), &admin.principal.sid, true),
                ],
                918,
            );
            let mut d = dsreg_joined(&m, admin_logon + mins(9), mins(9), "CONTOSO\\jürgen.köhler, jürgen.köhler@contoso.com");
            d.tenant_name = "Contoso Zürich AG";
            let dsreg = encode(&dsreg_text(&d), Enc::Cp1252);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let corr = guid_str("run/08");
            let story = RunStory {
                time: fail - secs(2),
                flow: "Nightly ledger close",
                correlation: corr.clone(),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006E)));
            let mut rows = Vec::new();
            for (i, day) in ["2025-08-02", "2025-08-03", "2025-08-04"].iter().enumerate() {
                let start = t(&format!("{day}T21:30:01Z")) + secs(i as i64);
                rows.push(SessionRow {
                    started: start,
                    completed: start + mins(17) + secs(12),
                    error: None,
                    user: Some(upn),
                    correlation: guid_str(&format!("run/08/{day}")),
                });
            }
            rows.push(SessionRow {
                started: fail - secs(3),
                completed: fail + secs(1),
                error: Some((
                    WII,
                    "The credentials provided with the request are invalid. Logon failed with error -1073741714.".into(),
                )),
                user: Some(upn),
                correlation: corr,
            });
            let csv = flowsessions_csv("Nightly ledger close", "RPA-VM08", &rows);
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, admin_logon + mins(9)),
                file("flowsessions.csv", csv, collected - mins(30)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 09: neither the DC nor Entra ID reachable

pub(super) fn s09_auth_unreachable() -> Scenario {
    let name = "09-auth-unreachable";
    let fail = t("2025-09-16T06:30:04.605Z");
    let upn = "svc-finance@contoso.com";
    Scenario {
        name,
        title: "No logon servers / Entra ID unreachable (0xC000005E, DeviceAuthStatus FAILED. ERROR)",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("auth-unreachable"), Some("confirmed"), Some(upn)).causes(&[
                    ("account-not-synced", "ruled_out"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "confirmed"),
                    ("credentials-mismatch", "ruled_out"),
                    ("device-not-joined", "unknown"),
                    ("federated-user", "ruled_out"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "ruled_out"),
                ])],
            false,
        ),
        readme: readme(
            "09 - authority unreachable",
            &[
                "Hybrid-joined VM `RPA-VM09.corp.contoso.com`. A firewall change at 05:50 cut it off from the",
                "domain controllers and from login.microsoftonline.com. The 06:30 run failed with",
                "WindowsIdentityIncorrect, detail -1073741730 (0xC000005E, no logon servers); the Security log",
                "shows the same status for `svc-finance@contoso.com`, the AAD log shows 0xCAA82EFD (cannot",
                "connect) and 0xC000023C, and dsregcmd (UTF-16LE) says DeviceAuthStatus : FAILED. ERROR with",
                "HTTP Error 0x80072efd in the PRT diagnostics; the PRT is a day old.",
                "",
                "Conclusion: the machine cannot reach its domain or Entra ID: fix the network path (DNS, proxy,",
                "firewall), check DeviceAuthStatus : SUCCESS, and rerun.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM09.corp.contoso.com", Join::Hybrid, 0x09);
            let u = User::ad(upn, 3120);
            let sid = u.principal.sid.clone();
            let log_start = t("2025-09-16T03:11:38.8Z");
            let collected = fail + mins(83);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.push(pad_check_failed(
                &m,
                fail - ms(2400),
                typed(upn, ""),
                2,
                0xC000_005E,
                0,
                "%%2304",
            ));
            let relogon = fail + mins(71);
            sec.extend(session(&m, &u, relogon, None, 11, "127.0.0.1", false));
            let security = evtx(sec, 920_114);
            let aad = aad_evtx(&m, fail,
                vec![
                    token_broker_failed(
                        &m,
                        fail - ms(2900),
                        &sid,
                        0xCAA8_2EFD,
                        "Cannot connect to the server.",
                        "Operation name: GetTokenSilently, Error: -2147012867 (0x80072efd), Description: A connection with the server could not be established",
                    ),
                    ev::aad_1104(fail - ms(2600), &m.computer, &sid, "Get token", 0xC000_023C),
                    token_broker_failed(
                        &m,
                        relogon + secs(6),
                        &sid,
                        0xCAA8_2EFD,
                        "Cannot connect to the server.",
                        "Operation name: GetTokenSilently, Error: -2147012867 (0x80072efd), Description: A connection with the server could not be established",
                    ),
                ],
                5_530,
            );
            let udr = udr_evtx(&m, fail,
                vec![ev::udr_305(
                    t("2025-09-16T05:58:12.0Z"),
                    &m.computer,
                    0x8007_2EFD,
                    "",
                    "Managed",
                    "contoso.com",
                )],
                2_011,
            );
            let mut d = dsreg_joined(&m, relogon + mins(6), Duration::hours(26), &format!("CONTOSO\\svc-finance, {upn}"));
            d.device_auth_status = "FAILED. ERROR";
            d.prt_diag = Some(PrtDiag {
                kind: "RefreshPrtDiagnostics",
                time: relogon + secs(5),
                status: "0xc000023c",
                user: upn.into(),
                http_error: "0x80072efd",
                http_status: 0,
                server_code: "",
                description: "",
            });
            let dsreg = encode(&dsreg_text(&d), Enc::Utf16Bom);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(4),
                flow: "Bank statement import",
                correlation: guid_str("run/09"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(4), WII, Some(signed(0xC000_005E)));
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, relogon + mins(6)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}
