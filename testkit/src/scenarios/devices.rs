//! Scenarios of the device and its Entra state: a machine that is only registered (04), no PRT
//! for the connection account (05), a federated user (06).

use super::pad::{PadLogs, RunStory};
use super::world::{
    aad_evtx, aad_history, aad_signin_noise, background, boot, dsreg_joined, entra_executing,
    pad_check_failed, session, token_broker_failed, typed, udr_evtx, whfb_skipped, Join, Machine,
    User, PAD_VERSION, TENANT_ID,
};
use super::{entries, expected, file, mins, ms, readme, run, secs, signed, t, Scenario, WII};
use crate::events::{self as ev};
use crate::writers::dsregcmd::{dsreg_text, Dsreg, PrtDiag};
use crate::writers::event_xml::aad_xml_export;
use crate::writers::evtx_log::evtx;
use crate::writers::zip_archive::zip;
use crate::writers::{encode, guid_str, Enc};
use chrono::Duration;

// ---------------------------------------------------------------------------------------------
// 04: a workgroup machine that is only registered, everything in bundle.zip

pub(super) fn s04_device_not_joined() -> Scenario {
    let name = "04-device-not-joined";
    let fail = t("2025-05-20T10:12:40.066Z");
    let upn = "tnguyen@contoso.com";
    Scenario {
        name,
        title: "Workgroup machine only registered (WorkplaceJoined), failed join attempt; all in bundle.zip",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("device-not-joined"), Some("confirmed"), Some(upn)).causes(&[
                    ("account-not-synced", "likely"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "unknown"),
                    ("credentials-mismatch", "unknown"),
                    ("device-not-joined", "confirmed"),
                    ("federated-user", "unknown"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "likely"),
                ])],
            false,
        ),
        readme: readme(
            "04 - device not joined",
            &[
                "Workgroup PC `RPA-BOX-07` (Windows 11 Pro). The bundle arrived as one `bundle.zip` holding the",
                "event logs, dsregcmd.txt (PowerShell 5.1, UTF-16LE) and the machine runtime's `PAD-Logs.zip`.",
                "At 10:02 an admin tried to join the PC to Entra ID and got 0x801c0003 (not allowed to join",
                "devices), then only added the work account: dsregcmd shows AzureAdJoined NO, DomainJoined NO,",
                "WorkplaceJoined YES (registered). The 10:12 run for `tnguyen@contoso.com` failed with",
                "WindowsIdentityIncorrect (-1073741715); Windows does not know that account (0xC0000064).",
                "",
                "Conclusion: the machine must be Entra joined (or hybrid joined) to run flows as an Entra",
                "account; registered is not joined. Join it (with a user allowed to join devices) and retry.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-BOX-07", Join::Workgroup, 0x04);
            let local = User::local("operator", "RPA-BOX-07", 1001);
            let log_start = t("2025-05-20T07:55:31.2Z");
            let collected = fail + mins(48);
            let console = t("2025-05-20T08:05:10.3Z");
            let mut sec = boot(&m, log_start);
            sec.extend(session(&m, &local, console, None, 2, "127.0.0.1", true));
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.push(pad_check_failed(
                &m,
                fail - ms(200),
                typed(upn, ""),
                2,
                0xC000_006D,
                0xC000_0064,
                "%%2313",
            ));
            let security = evtx(sec, 5_117);
            let join_try = t("2025-05-20T10:02:17.5Z");
            let mut aad = aad_signin_noise(&m, console + secs(3), &local.principal.sid);
            aad.push(token_broker_failed(
                &m,
                join_try + secs(4),
                &local.principal.sid,
                0xCAA2_0004,
                "Server returned an error: access_denied",
                "Operation name: JoinDevice, Error: -2145648637 (0x801c0003), Description: The user is not authorized to enroll or join devices.",
            ));
            let aad = aad_evtx(&m, fail, aad, 96);
            let udr = udr_evtx(&m, fail,
                vec![
                    whfb_skipped(&m, console + secs(9), &local.principal.sid, false),
                    ev::udr_step_failed(204, join_try + secs(5), &m.computer, 0x801C_0003),
                    whfb_skipped(&m, join_try + mins(2), &local.principal.sid, false),
                ],
                57,
            );
            let d = Dsreg {
                device_name: m.computer.clone(),
                workplace_joined: true,
                work_account: true,
                tenant_id: TENANT_ID,
                tenant_name: "Contoso Ltd",
                ..Dsreg::default()
            };
            let dsreg_at = collected - mins(6);
            let dsreg = encode(&dsreg_text(&d), Enc::Utf16Bom);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Stock levels",
                correlation: guid_str("run/04"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006D)));
            let export = collected - mins(3);
            let pad_zip = zip(&entries(&logs.files("", export), "Logs/"));
            let inner = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected - mins(1)),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected - mins(1)),
                file("PAD-Logs.zip", pad_zip, export),
                file("Security.evtx", security, collected - mins(1)),
                file("dsregcmd.txt", dsreg, dsreg_at),
            ];
            vec![file("bundle.zip", zip(&entries(&inner, "")), collected)]
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 05: no PRT for the connection account

pub(super) fn s05_account_not_synced() -> Scenario {
    let name = "05-account-not-synced";
    let fail = t("2025-06-03T07:30:05.511Z");
    let upn = "rpabot@contoso.com";
    Scenario {
        name,
        title: "Entra-joined; dsregcmd run as the connection user shows AzureAdPrt NO; AAD errors at the run",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("account-not-synced"), Some("confirmed"), Some(upn)).causes(&[
                    ("account-not-synced", "confirmed"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "unknown"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "unknown"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "ruled_out"),
                ])],
            false,
        ),
        readme: readme(
            "05 - account not synchronized to the device (no PRT)",
            &[
                "Entra-joined VM `RPA-VM05`. The account `rpabot@contoso.com` was moved out of the Entra Connect",
                "sync scope overnight; the VM only has a cached logon of it from the day before. The 07:30 run",
                "failed with WindowsIdentityIncorrect (-1073741715). The AAD log shows the token broker and Cloud AP",
                "failing for the account's SID at that minute (1098, 1104, 1081 AADSTS50034). dsregcmd, run as",
                "rpabot (Executing Account Name `AzureAD\\rpabot, rpabot@contoso.com`), shows AzureAdPrt : NO.",
                "Everything came in one `bundle.zip` (PAD logs in its `PAD/` folder).",
                "",
                "Conclusion: the account has no primary refresh token on this device. Check the account exists",
                "and syncs to Entra ID, sign in once interactively, then check AzureAdPrt : YES.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM05", Join::Entra, 0x05);
            let u = User::entra(upn);
            let sid = u.principal.sid.clone();
            let log_start = t("2025-06-03T04:10:12.9Z");
            let collected = fail + mins(57);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.push(pad_check_failed(
                &m,
                fail - ms(300),
                typed(upn, ""),
                2,
                0xC000_006D,
                0xC000_0064,
                "%%2313",
            ));
            // The support engineer's runas session as rpabot (cached credentials) for dsregcmd.
            let runas = fail + mins(44);
            sec.extend(session(&m, &u, runas, None, 11, "127.0.0.1", false));
            let security = evtx(sec, 612_009);
            let corr = guid_str("aad/05");
            let aad = aad_evtx(&m, fail,
                vec![
                    ev::aad_1081(
                        fail - ms(420),
                        &m.computer,
                        &sid,
                        "invalid_grant",
                        "AADSTS50034: The user account {EUII Hidden} does not exist in the 3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18 directory. To sign into this application, the account must be added to the directory. Trace ID: 7a0c5e2d-4f1b-4c3a-9e8d-2b6f1a0c3d51 Correlation ID: c2f0b7e4-9d3a-4e51-8b6c-0a7d5e3f2b19",
                        &corr,
                    ),
                    ev::aad_1104(fail - ms(390), &m.computer, &sid, "Get token", 0xC000_006D),
                    token_broker_failed(
                        &m,
                        fail - ms(350),
                        &sid,
                        0xCAA5_001C,
                        "Token broker operation failed.",
                        "Operation name: GetTokenSilently, Error: -2147023584 (0x80070520), Description: A specified logon session does not exist. It may already have been terminated.",
                    ),
                    token_broker_failed(
                        &m,
                        runas + secs(5),
                        &sid,
                        0xCAA5_001C,
                        "Token broker operation failed.",
                        "Operation name: GetTokenSilently, Error: -2147023584 (0x80070520), Description: A specified logon session does not exist. It may already have been terminated.",
                    ),
                ],
                2_045,
            );
            let udr = udr_evtx(&m, fail, vec![whfb_skipped(&m, runas + secs(9), &sid, true)], 377);
            let mut d = dsreg_joined(&m, runas + mins(2), mins(0), &entra_executing(&u));
            d.prt = None;
            let dsreg_at = runas + mins(2);
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Payroll export",
                correlation: guid_str("run/05"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006D)));
            let mut inner = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected - mins(2)),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected - mins(2)),
            ];
            inner.extend(logs.files("PAD/", collected - mins(2)));
            inner.push(file("Security.evtx", security, collected - mins(2)));
            inner.push(file("dsregcmd.txt", dsreg, dsreg_at));
            vec![file("bundle.zip", zip(&entries(&inner, "")), collected)]
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 06: a federated (AD FS) user; the AAD log as an Event Viewer XML export

pub(super) fn s06_federated_user() -> Scenario {
    let name = "06-federated-user";
    let fail = t("2025-06-24T13:45:30.274Z");
    let upn = "akim@contoso.com";
    Scenario {
        name,
        title: "Hybrid-joined, AD FS user: AADSTS50126 from Entra; the AAD log as a wevtutil XML export",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("federated-user"), Some("confirmed"), Some(upn)).causes(&[
                    ("account-not-synced", "ruled_out"),
                    ("account-restriction", "unknown"),
                    ("account-state", "unknown"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "likely"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "confirmed"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "ruled_out"),
                ])],
            false,
        ),
        readme: readme(
            "06 - federated (AD FS) user",
            &[
                "Hybrid-joined VM `RPA-VM06.corp.contoso.com`; `contoso.com` is federated with AD FS. The 13:45",
                "run for `akim@contoso.com` failed with WindowsIdentityIncorrect (-1073741715). Windows itself",
                "accepted the password (4624 via Kerberos), but Entra ID rejected it: AAD 1081 `invalid_grant`",
                "AADSTS50126 for akim's SID. dsregcmd (run as akim) shows EnterprisePrt YES from",
                "`https://adfs.contoso.com:443/adfs`. The AAD channel came as `AAD-Operational.xml`",
                "(`wevtutil qe ... /f:RenderedXml` from PowerShell 5.1, UTF-16LE) instead of an .evtx.",
                "",
                "Conclusion: a federated user whose password Entra ID cannot validate (KB 4555623 cause 4): use",
                "certificate-based auth, or password hash sync plus an HRD policy with AllowCloudPasswordValidation.",
                "The Security log holds no failed logon at all, so nothing shows that failed-logon auditing is",
                "on: a wrong password is not ruled out, and stays a secondary (likely) finding on PAD's",
                "0xC000006D and the AADSTS50126.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM06.corp.contoso.com", Join::Hybrid, 0x06);
            let u = User::ad(upn, 2217);
            let sid = u.principal.sid.clone();
            let log_start = t("2025-06-24T10:40:02.4Z");
            let collected = fail + mins(66);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            // Windows accepts the AD password: PAD's LogonUser succeeds.
            sec.extend(session(&m, &u, fail - ms(900), Some(fail + secs(1)), 2, "-", false));
            let relogon = fail + mins(50);
            sec.extend(session(&m, &u, relogon, None, 10, "10.20.6.40", false));
            let security = evtx(sec, 2_877_310);
            let corr = guid_str("aad/06");
            let aad = vec![
                ev::aad_1081(
                    fail - ms(610),
                    &m.computer,
                    &sid,
                    "invalid_grant",
                    "AADSTS50126: Error validating credentials due to invalid username or password. Trace ID: 0b7e3c41-2d9a-4f68-b1c5-93e0d7a24f16 Correlation ID: 5e2a9c07-31f4-4b8d-a6e2-7c1d0f9b3a58 Timestamp: 2025-06-24 13:45:29Z",
                    &corr,
                ),
                ev::aad_1104(fail - ms(580), &m.computer, &sid, "Get token", 0xC000_006D),
            ];
            let mut aad = aad;
            aad.extend(aad_signin_noise(&m, relogon + secs(2), &sid));
            let aad_xml = aad_xml_export(aad_history(&m, fail, aad), 7_412);
            let udr = udr_evtx(&m, fail,
                vec![
                    ev::udr_335(log_start + mins(3), &m.computer),
                    whfb_skipped(&m, relogon + secs(9), &sid, true),
                ],
                1_205,
            );
            let mut d = dsreg_joined(&m, relogon + mins(5), Duration::hours(1) + mins(5), &format!("CONTOSO\\akim, {upn}"));
            d.enterprise_prt = Some((relogon + mins(1), "https://adfs.contoso.com:443/adfs"));
            d.prt_diag = Some(PrtDiag {
                kind: "RefreshPrtDiagnostics",
                time: fail - ms(640),
                status: "0xc000006d",
                user: upn.into(),
                http_error: "0x0",
                http_status: 400,
                server_code: "invalid_grant",
                description: "AADSTS50126: Error validating credentials due to invalid username or password.",
            });
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Claims intake",
                correlation: guid_str("run/06"),
                user: Some(upn),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006D)));
            let export = collected - mins(5);
            let pad_zip = zip(&entries(&logs.files("", export), "Logs/"));
            vec![
                file("AAD-Operational.xml", aad_xml, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("PAD-Logs.zip", pad_zip, export),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, relogon + mins(5)),
            ]
        }),
    }
}
