//! Scenarios that test restraint and bookkeeping: a healthy machine with an unrelated failure
//! (10), a PAD log and nothing else (11), a day with two failures of two causes (12).

use super::pad::{PadLogs, RunStory};
use super::world::{
    aad_evtx, aad_signin_noise, background, boot, dsreg_joined, entra_executing, pad_check_failed,
    pad_logon, session, spray, typed, udr_evtx, whfb_skipped, Join, Machine, User, PAD_VERSION,
};
use super::{entries, expected, file, mins, ms, readme, run, secs, signed, t, Scenario, WII};
use crate::events::{self as ev};
use crate::writers::dsregcmd::dsreg_text;
use crate::writers::evtx_log::evtx;
use crate::writers::pad_log::{entry, Lvl};
use crate::writers::run_records::{flowsessions_csv, flowsessions_json, SessionRow};
use crate::writers::zip_archive::zip;
use crate::writers::{encode, guid_str, Enc};
use chrono::Duration;

// ---------------------------------------------------------------------------------------------
// 10: a healthy machine, an unrelated failure, and a spray that must not be blamed

pub(super) fn s10_healthy_unrelated() -> Scenario {
    let name = "10-healthy-unrelated";
    let fail = t("2025-10-07T16:00:02Z");
    Scenario {
        name,
        title: "Healthy machine; the run failed with NoCandidateMachine; a password spray at other accounts",
        large: false,
        expected: expected(name, vec![run(fail, "NoCandidateMachine", None, None, None)], true),
        readme: readme(
            "10 - healthy machine, unrelated failure",
            &[
                "Entra-joined VM `RPA-VM10` with a fresh PRT and a clean Security log. The 16:00 run failed with",
                "NoCandidateMachine (flowsessions.csv): the machine's connection to the cloud service dropped from",
                "15:52 to 16:04 (warnings in UIFlowService.log), so no machine could take the run. At the same",
                "time 198.51.100.23 sprays passwords at `administrator`, `admin`, ... over NTLM. No desktop-flow",
                "credential failure happened.",
                "",
                "Conclusion: not a credential problem: padtriage's causes do not apply and none may be confirmed.",
                "Look at the machine's connectivity to the Power Automate service; block the spraying host.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM10", Join::Entra, 0x10);
            let u = User::entra("opsbot@contoso.com");
            let log_start = t("2025-10-07T12:30:14.1Z");
            let collected = fail + mins(62);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.extend(spray(&m, fail - mins(5), "198.51.100.23", 18, 0x1010));
            // The 15:00 run succeeded.
            let earlier = t("2025-10-07T15:00:03.2Z");
            sec.extend(session(&m, &u, earlier, None, 2, "-", false));
            sec.extend(session(&m, &u, earlier + secs(5), Some(earlier + mins(6)), 10, "127.0.0.1", false));
            let relogon = fail + mins(47);
            sec.extend(session(&m, &u, relogon, None, 10, "10.20.1.15", false));
            let security = evtx(sec, 77_015);
            let mut aad = aad_signin_noise(&m, earlier + secs(7), &u.principal.sid);
            aad.extend(aad_signin_noise(&m, relogon + secs(2), &u.principal.sid));
            let aad = aad_evtx(&m, fail, aad, 150);
            let udr = udr_evtx(&m, fail, vec![whfb_skipped(&m, relogon + secs(9), &u.principal.sid, true)], 92);
            let d = dsreg_joined(&m, relogon + mins(3), mins(3), &entra_executing(&u));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), fail - mins(8), mins(20));
            logs.heartbeats(fail + mins(4) + secs(20), collected, mins(20));
            let ok = RunStory {
                time: earlier - secs(1),
                flow: "Inventory sync",
                correlation: guid_str("run/10/1500"),
                user: Some(u.upn()),
            };
            ok.received(&mut logs);
            ok.succeeded(&mut logs, mins(6));
            let b = logs.background.clone();
            let lost = fail - mins(8) + secs(11);
            logs.service.push(entry(
                lost,
                Lvl::Warning,
                "ConnectRelay",
                "UIFlowService.Relay.Disconnected",
                &b,
                "Connection to the Azure Relay endpoint was lost: The remote name could not be resolved: 'prod-westus2-rpa.servicebus.windows.net'. Reconnecting.",
            ));
            let mut at = lost + secs(30);
            while at < fail + mins(4) {
                logs.service.push(entry(
                    at,
                    Lvl::Warning,
                    "ConnectRelay",
                    "UIFlowService.Relay.ReconnectFailed",
                    &b,
                    "Reconnect to the Azure Relay endpoint failed (System.Net.WebSockets.WebSocketException (0x80004005)); retrying in 60 seconds.",
                ));
                at += secs(60);
            }
            logs.service.push(entry(
                fail + mins(4) + secs(12),
                Lvl::Info,
                "ConnectRelay",
                "UIFlowService.Relay.Connected",
                &b,
                "Listening for run requests on the Azure Relay endpoint.",
            ));
            let rows = vec![
                SessionRow {
                    started: earlier - secs(3),
                    completed: earlier + mins(6) + secs(2),
                    error: None,
                    user: Some(u.upn()),
                    correlation: guid_str("run/10/1500"),
                },
                SessionRow {
                    started: fail - mins(10),
                    completed: fail,
                    error: Some((
                        "NoCandidateMachine",
                        "There is no machine available to run this desktop flow: no machine in the group is connected.".into(),
                    )),
                    user: None,
                    correlation: guid_str("run/10/1600"),
                },
            ];
            let csv = flowsessions_csv("Inventory sync", "RPA-VM10", &rows);
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, relogon + mins(3)),
                file("flowsessions.csv", csv, collected - mins(10)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 11: a PAD log and nothing else

pub(super) fn s11_missing_evidence() -> Scenario {
    let name = "11-missing-evidence";
    let fail = t("2025-11-04T12:00:06.140Z");
    let upn = "opatel@contoso.com";
    Scenario {
        name,
        title: "Only a PAD log with WindowsIdentityIncorrect (no detail): every cause unknown",
        large: false,
        expected: expected(name, vec![run(fail, WII, None, None, Some(upn)).causes(&[
                    ("account-not-synced", "unknown"),
                    ("account-restriction", "unknown"),
                    ("account-state", "unknown"),
                    ("auth-unreachable", "unknown"),
                    ("credentials-mismatch", "unknown"),
                    ("device-not-joined", "unknown"),
                    ("federated-user", "unknown"),
                    ("logon-right-missing", "unknown"),
                    ("username-format", "unknown"),
                ])], false),
        readme: readme(
            "11 - missing evidence",
            &[
                "The customer sent only `UIFlowService.log` from an older PAD (2.23, before detail codes). The",
                "12:00 run for `opatel@contoso.com` failed with WindowsIdentityIncorrect, with no NTSTATUS detail.",
                "There is no event log, no dsregcmd output and no run record.",
                "",
                "Conclusion: nothing decides between the causes: every cause is unknown and padtriage must say",
                "what to collect (Security.evtx, AAD/Operational, dsregcmd /status as the connection user, the",
                "full PAD logs) rather than guess.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM11", Join::Entra, 0x11);
            let start = t("2025-11-04T09:14:20.3Z");
            let mut logs = PadLogs::new(&m, start, "2.23.114.22111");
            logs.heartbeats(start + mins(1), fail + mins(35), mins(20));
            let story = RunStory {
                time: fail - secs(1),
                flow: "Customer follow-up",
                correlation: guid_str("run/11"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(1), WII, None);
            let mut files = logs.files("", fail + mins(36));
            files.retain(|f| f.path == "UIFlowService.log");
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 12: one day, two failures with two causes, successes in between

pub(super) fn s12_multi_run_day() -> Scenario {
    let name = "12-multi-run-day";
    let first = t("2025-12-02T09:00:05.310Z");
    let second = t("2025-12-02T15:00:06.044Z");
    let upn = "svc-rpa@contoso.com";
    Scenario {
        name,
        title: "An hourly flow fails at 09:00 (logon right) and 15:00 (password changed), succeeds in between",
        large: false,
        expected: expected(
            name,
            vec![
                run(first, WII, Some("logon-right-missing"), Some("confirmed"), Some(upn)).causes(&[
                    ("account-not-synced", "unknown"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "ruled_out"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "unknown"),
                    ("logon-right-missing", "confirmed"),
                    ("username-format", "ruled_out"),
                ]),
                run(second, WII, Some("credentials-mismatch"), Some("confirmed"), Some(upn)).causes(&[
                    ("account-not-synced", "unknown"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "confirmed"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "unknown"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "ruled_out"),
                ]),
            ],
            false,
        ),
        readme: readme(
            "12 - two failures, two causes, one day",
            &[
                "Entra-joined VM `RPA-VM12`; 'Order intake' runs hourly as `svc-rpa@contoso.com`. At 09:00 it",
                "failed with detail -1073741477: an overnight GPO had denied the account RDP logon (4625",
                "0xC000015B, LogonType 10). IT fixed the policy at 09:40; the 10:00-14:00 runs succeeded. At",
                "14:20 the account's password was rotated but the connection was not updated: the 15:00 run",
                "failed with -1073741715 and a 4625 0xC000006D / 0xC000006A. `flowsessions.json` (a Dataverse",
                "Web API export) lists all seven runs; PAD's logs come as `PAD-Logs.zip`.",
                "",
                "Conclusion: two different causes on one day: the 09:00 run lacked the RDP logon right, the",
                "15:00 run used the old password. Each run must get its own cause.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM12", Join::Entra, 0x12);
            let u = User::entra(upn);
            let sid = u.principal.sid.clone();
            let log_start = t("2025-12-02T06:40:10.0Z");
            let collected = second + mins(58);
            let mut sec = boot(&m, log_start);
            // Busy around both failures, bursts in between.
            sec.extend(background(&m, log_start, &[first, second], collected));
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let mut rows = Vec::new();
            let mut aad = Vec::new();
            for hour in 9..=15u32 {
                let time = t(&format!("2025-12-02T{hour:02}:00:03Z"));
                let corr = guid_str(&format!("run/12/{hour}"));
                let story = RunStory {
                    time,
                    flow: "Order intake",
                    correlation: corr.clone(),
                    user: Some(upn),
                };
                story.received(&mut logs);
                match hour {
                    9 => {
                        sec.extend(session(&m, &u, first - ms(1800), Some(first - ms(1200)), 2, "-", false));
                        let mut rdp = pad_logon(&m, first - ms(300), typed(upn, "AzureAD"), 10);
                        rdp.status = 0xC000_015B;
                        rdp.failure_reason = "%%2308".into();
                        sec.push(ev::security_4625(&rdp));
                        story.failed(&mut logs, first - time, WII, Some(signed(0xC000_015B)));
                        rows.push(SessionRow {
                            started: time - secs(2),
                            completed: first + secs(2),
                            error: Some((WII, "The credentials provided with the request are invalid. Logon failed with error -1073741477.".into())),
                            user: Some(upn),
                            correlation: corr,
                        });
                    }
                    15 => {
                        sec.push(pad_check_failed(
                            &m,
                            second - ms(220),
                            typed(upn, ""),
                            2,
                            0xC000_006D,
                            0xC000_006A,
                            "%%2313",
                        ));
                        story.failed(&mut logs, second - time, WII, Some(signed(0xC000_006D)));
                        rows.push(SessionRow {
                            started: time - secs(2),
                            completed: second + secs(2),
                            error: Some((WII, "The credentials provided with the request are invalid. Logon failed with error -1073741715.".into())),
                            user: Some(upn),
                            correlation: corr,
                        });
                    }
                    _ => {
                        let run_len = mins(4) + secs(i64::from(hour) * 7);
                        sec.extend(session(&m, &u, time + secs(3), None, 2, "-", false));
                        sec.extend(session(&m, &u, time + secs(5), Some(time + run_len), 10, "127.0.0.1", false));
                        aad.extend(aad_signin_noise(&m, time + secs(7), &sid));
                        story.succeeded(&mut logs, run_len);
                        rows.push(SessionRow {
                            started: time - secs(2),
                            completed: time + run_len + secs(2),
                            error: None,
                            user: Some(upn),
                            correlation: corr,
                        });
                    }
                }
            }
            // IT's admin fixes the policy at 09:40.
            let admin = User::entra("itadmin@contoso.com");
            let fix = t("2025-12-02T09:38:12.5Z");
            sec.extend(session(&m, &admin, fix, Some(fix + mins(9)), 10, "10.20.1.15", true));
            let security = evtx(sec, 3_004_561);
            aad.extend(aad_signin_noise(&m, fix + secs(2), &admin.principal.sid));
            let aad = aad_evtx(&m, first, aad, 12_880);
            let d = dsreg_joined(&m, collected - mins(12), Duration::hours(2), &entra_executing(&admin));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let sessions = flowsessions_json("Order intake", "RPA-VM12", &rows);
            let export = collected - mins(7);
            let pad_zip = zip(&entries(&logs.files("", export), "Logs/"));
            vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("PAD-Logs.zip", pad_zip, export),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, collected - mins(12)),
                file("flowsessions.json", sessions, collected - mins(20)),
            ]
        }),
    }
}
