//! Scenarios of the connection account itself: a wrong password (01, and 13 inside a day of
//! dense noise), a locked-out account (02), a user name in a form the machine cannot resolve (03).

use super::pad::{PadLogs, RunStory};
use super::world::{
    aad_evtx, aad_signin_noise, background, boot, dsreg_joined, entra_executing, pad_check_failed,
    session, spray, system_noise, typed, udr_evtx, whfb_skipped, Join, Machine, User, PAD_VERSION,
};
use super::{
    entries, expected, file, mins, ms, readme, run, secs, signed, t, OutFile, Scenario, WII,
};
use crate::events::{self as ev, Logon};
use crate::writers::dsregcmd::dsreg_text;
use crate::writers::evtx_log::{evtx, evtx_streamed};
use crate::writers::run_records::portal_outputs;
use crate::writers::zip_archive::zip;
use crate::writers::{encode, guid_str, Enc};
use chrono::{DateTime, Duration, Utc};

// ---------------------------------------------------------------------------------------------
// 01: wrong password, with a password spray at other accounts in the same minutes

pub(super) fn s01_credentials_mismatch() -> Scenario {
    let name = "01-credentials-mismatch";
    let fail = t("2025-03-11T14:05:12.418Z");
    let user = "jdoe@contoso.com";
    Scenario {
        name,
        title: "Wrong password in the connection; a password spray at other accounts in the same minutes",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("credentials-mismatch"), Some("confirmed"), Some(user)).causes(&[
                    ("account-not-synced", "ruled_out"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "confirmed"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "ruled_out"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "ruled_out"),
                ])],
            false,
        ),
        readme: readme(
            "01 - credentials mismatch (wrong password)",
            &[
                "Entra-joined VM `RPA-VM01`, healthy PRT. The scheduled desktop flow 'Invoice intake' failed at",
                "14:05:12 UTC with WindowsIdentityIncorrect, detail -1073741715 (0xC000006D), for `jdoe@contoso.com`.",
                "Security.evtx holds, at that second, PAD's logon check for the user failing with Status 0xC000006D",
                "SubStatus 0xC000006A (user name right, password wrong). In the same minutes 203.0.113.45 sprays",
                "passwords at `administrator`, `admin`, ... over NTLM: those failures are not the run's and must",
                "not be blamed. The user signed in over RDP in the morning and again at 15:30 with the right password.",
                "",
                "Conclusion: the password stored in the desktop-flow connection is wrong (changed or mistyped):",
                "edit the connection with the current password. Confirmed by the 4625 SubStatus 0xC000006A.",
            ],
        ),
        build: Box::new(move || build_credentials_mismatch(fail, user, 0x01, 0)),
    }
}

/// The credentials-mismatch bundle; `noise` streams (0: none) add a day of dense noise to the
/// Security log (about 4.8 MB each) and make the PAD logs big.
pub(super) fn build_credentials_mismatch(
    fail: DateTime<Utc>,
    upn: &str,
    seed: u64,
    noise: u64,
) -> Vec<OutFile> {
    let large = noise > 0;
    let day = fail
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(fail);
    let vm = if large { "RPA-VM13" } else { "RPA-VM01" };
    let m = Machine::new(vm, Join::Entra, seed);
    let u = User::entra(upn);
    let sid = u.principal.sid.clone();
    let admin_ws = "10.20.1.15";
    let morning = day + Duration::hours(8) + mins(47) + secs(3);
    let collected = fail + mins(95);
    let log_start = if large {
        day + mins(4) + secs(31)
    } else {
        day + Duration::hours(6) + mins(12)
    };

    // Security: boot, the user's morning RDP session, background, the spray, the failure, and
    // the user's sign-in to collect the bundle.
    let mut sec = boot(&m, log_start);
    sec.extend(session(
        &m,
        &u,
        morning,
        Some(morning + Duration::hours(2) + mins(11)),
        10,
        admin_ws,
        true,
    ));
    if !large {
        sec.extend(background(&m, log_start, &[fail], collected));
    }
    sec.extend(spray(
        &m,
        fail - mins(3) - secs(20),
        "203.0.113.45",
        16,
        seed + 100,
    ));
    sec.push(pad_check_failed(
        &m,
        fail - ms(180),
        typed(upn, ""),
        2,
        0xC000_006D,
        0xC000_006A,
        "%%2313",
    ));
    let relogon = fail + mins(85);
    sec.extend(session(&m, &u, relogon, None, 10, admin_ws, true));
    let security = if large {
        evtx_streamed(
            sec,
            large_noise(&m, log_start, noise),
            collected,
            41_250_007,
        )
    } else {
        evtx(sec, 1_204_117)
    };

    let mut aad = aad_signin_noise(&m, morning + secs(2), &sid);
    aad.extend(aad_signin_noise(&m, relogon + secs(2), &sid));
    let aad = aad_evtx(&m, fail, aad, 3_311);
    let udr = udr_evtx(
        &m,
        fail,
        vec![
            whfb_skipped(&m, morning + secs(9), &sid, true),
            whfb_skipped(&m, relogon + secs(9), &sid, true),
        ],
        871,
    );

    let d = dsreg_joined(&m, relogon + mins(3), mins(3), &entra_executing(&u));
    let dsreg = encode(&dsreg_text(&d), Enc::Utf8);

    let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
    let every = if large { secs(4) } else { mins(20) };
    logs.heartbeats(log_start + mins(2), collected, every);
    let story = RunStory {
        time: fail - secs(2),
        flow: "Invoice intake",
        correlation: guid_str(&format!("run/{seed}/{}", fail.timestamp())),
        user: Some(upn),
    };
    story.received(&mut logs);
    story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_006D)));

    let mut files = vec![
        file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
        file(
            "Microsoft-Windows-User Device Registration%4Admin.evtx",
            udr,
            collected,
        ),
        file("Security.evtx", security, collected),
        file("dsregcmd.txt", dsreg, relogon + mins(3)),
        file(
            "error.json",
            portal_outputs(WII, signed(0xC000_006D), fail + secs(1)),
            fail + mins(40),
        ),
    ];
    files.extend(logs.files("PAD/", collected));
    files
}

/// Noise streams of 13-large-noisy: over 100 000 Security records in a day.
const LARGE_NOISE: u64 = 18;

/// `n` noise streams over a day, about 5 600 Security records each.
fn large_noise(m: &Machine, from: DateTime<Utc>, n: u64) -> Vec<ev::Noise> {
    (0..n)
        .map(|k| ev::noise(m.seed * 1000 + k, from + secs(k as i64 * 7), &m.computer))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 02: a local account locked out by bad attempts at the console

pub(super) fn s02_account_state() -> Scenario {
    let name = "02-account-state";
    let fail = t("2025-04-08T08:00:04.227Z");
    Scenario {
        name,
        title: "Local connection account locked out (4740, then 4625 0xC0000234 at the run)",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("account-state"), Some("confirmed"), Some(r".\rpa-runner")).causes(&[
                    ("account-not-synced", "unknown"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "confirmed"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "likely"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "unknown"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "unknown"),
                ])],
            false,
        ),
        readme: readme(
            "02 - account state (locked out)",
            &[
                "Entra-joined VM `RPA-VM02`; the desktop-flow connection uses the local account `.\\rpa-runner`.",
                "At 07:49 someone tried the account's old password ten times at the console (4625 0xC000006A), and",
                "Windows locked the account out at 07:50:31 (4740). The 08:00 scheduled run failed with",
                "WindowsIdentityIncorrect, detail -1073741260 (0xC0000234, account locked out); the Security log",
                "shows PAD's logon check failing with Status 0xC0000234 at that second. PAD's logs come as the",
                "machine runtime's Export logs zip (`PAD-Logs.zip`); dsregcmd.txt is UTF-8 with a BOM.",
                "",
                "Conclusion: the account is locked out. Unlock it (lusrmgr.msc), find who still uses the old",
                "password, and make sure the connection holds the current one. The earlier bad passwords make",
                "credentials-mismatch a secondary (likely) finding; the lockout is the confirmed cause.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM02", Join::Entra, 0x02);
            let u = User::local("rpa-runner", "RPA-VM02", 1004);
            let admin = User::entra("itadmin@contoso.com");
            let day = t("2025-04-08T00:00:00Z");
            let log_start = t("2025-04-08T05:31:09.5Z");
            let collected = fail + mins(52);
            let mut sec = boot(&m, log_start);
            sec.extend(background(&m, log_start, &[fail], collected));
            // Ten bad console attempts, then the lockout.
            let mut at = t("2025-04-08T07:49:08.116Z");
            for i in 0..10 {
                let mut l = Logon::new(at, &m.computer, typed("rpa-runner", "RPA-VM02"), 2);
                l.status = 0xC000_006D;
                l.sub_status = 0xC000_006A;
                sec.push(ev::security_4625(&l));
                at += ms(7100 + 530 * i);
            }
            sec.push(ev::security_4740(
                at + ms(40),
                &m.computer,
                &u.principal,
                "RPA-VM02",
                &m.account(),
            ));
            sec.push(pad_check_failed(
                &m,
                fail - ms(150),
                typed("rpa-runner", "."),
                2,
                0xC000_0234,
                0,
                "%%2307",
            ));
            let admin_logon = fail + mins(38);
            sec.extend(session(&m, &admin, admin_logon, None, 10, "10.20.1.15", true));
            let security = evtx(sec, 88_401);
            let aad = aad_evtx(&m, fail, aad_signin_noise(&m, admin_logon + secs(2), &admin.principal.sid), 512);
            let udr = udr_evtx(&m, fail, vec![whfb_skipped(&m, admin_logon + secs(8), &admin.principal.sid, true)], 233);
            let system = evtx(system_noise(&m, day), 40_112);
            let d = dsreg_joined(&m, admin_logon + mins(6), mins(6), &entra_executing(&admin));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf8Bom);

            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Daily reconciliation",
                correlation: guid_str("run/02"),
                user: Some(r".\rpa-runner"),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC000_0234)));
            let export_time = collected - mins(4);
            let pad_zip = zip(&entries(&logs.files("", export_time), "Logs/"));
            vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("PAD-Logs.zip", pad_zip, export_time),
                file("Security.evtx", security, collected),
                file("System.evtx", system, collected),
                file("dsregcmd.txt", dsreg, admin_logon + mins(6)),
                file(
                    "error.json",
                    portal_outputs(WII, signed(0xC000_0234), fail + secs(1)),
                    fail + mins(20),
                ),
            ]
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 03: DOMAIN\user typed on an Entra-joined-only machine

pub(super) fn s03_username_format() -> Scenario {
    let name = "03-username-format";
    let fail = t("2025-05-06T11:15:09.802Z");
    let typed_user = r"CONTOSO\mgarcia";
    Scenario {
        name,
        title: "CONTOSO\\user typed on an Entra-joined-only machine (0xC004844C); dsregcmd in UTF-16LE",
        large: false,
        expected: expected(
            name,
            vec![run(fail, WII, Some("username-format"), Some("confirmed"), Some(typed_user)).causes(&[
                    ("account-not-synced", "unknown"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "ruled_out"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "unknown"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "confirmed"),
                ])],
            false,
        ),
        readme: readme(
            "03 - user-name format",
            &[
                "Entra-joined VM `RPA-VM03` (no AD domain). The connection's user name was typed as",
                "`CONTOSO\\mgarcia`. The 11:15 run failed with WindowsIdentityIncorrect, detail -1073445812",
                "(0xC004844C: the user name is not in the expected format); the Security log shows the logon of",
                "`CONTOSO\\mgarcia` failing as an unknown user (SubStatus 0xC0000064). dsregcmd.txt was saved by",
                "Windows PowerShell 5.1 (UTF-16LE with BOM) in mgarcia's own session: AzureAdJoined YES,",
                "DomainJoined NO, Executing Account Name `AzureAD\\mgarcia, mgarcia@contoso.com`.",
                "",
                "Conclusion: on an Entra-joined machine the connection must use `mgarcia@contoso.com`.",
            ],
        ),
        build: Box::new(move || {
            let m = Machine::new("RPA-VM03", Join::Entra, 0x03);
            let u = User::entra("mgarcia@contoso.com");
            let log_start = t("2025-05-06T07:02:44.1Z");
            let collected = fail + mins(64);
            let morning = t("2025-05-06T09:31:20.6Z");
            let mut sec = boot(&m, log_start);
            sec.extend(session(&m, &u, morning, Some(morning + mins(48)), 10, "10.20.4.31", false));
            sec.extend(background(&m, log_start, &[fail], collected));
            sec.push(pad_check_failed(
                &m,
                fail - ms(240),
                typed("mgarcia", "CONTOSO"),
                2,
                0xC000_006D,
                0xC000_0064,
                "%%2313",
            ));
            let relogon = fail + mins(51);
            sec.extend(session(&m, &u, relogon, None, 10, "10.20.4.31", false));
            let security = evtx(sec, 310_552);
            let mut aad = aad_signin_noise(&m, morning + secs(2), &u.principal.sid);
            aad.push(ev::aad_1104(fail - ms(260), &m.computer, "S-1-5-18", "Get token", 0xC004_844C));
            aad.extend(aad_signin_noise(&m, relogon + secs(2), &u.principal.sid));
            let aad = aad_evtx(&m, fail, aad, 1_022);
            let udr = udr_evtx(&m, fail,
                vec![
                    whfb_skipped(&m, morning + secs(8), &u.principal.sid, true),
                    whfb_skipped(&m, relogon + secs(8), &u.principal.sid, true),
                ],
                410,
            );
            let d = dsreg_joined(&m, relogon + mins(4), mins(4), &entra_executing(&u));
            let dsreg = encode(&dsreg_text(&d), Enc::Utf16Bom);
            let mut logs = PadLogs::new(&m, log_start + mins(1), PAD_VERSION);
            logs.heartbeats(log_start + mins(2), collected, mins(20));
            let story = RunStory {
                time: fail - secs(2),
                flow: "Vendor onboarding",
                correlation: guid_str("run/03"),
                user: Some(typed_user),
            };
            story.received(&mut logs);
            story.failed(&mut logs, secs(2), WII, Some(signed(0xC004_844C)));
            let mut files = vec![
                file("Microsoft-Windows-AAD%4Operational.evtx", aad, collected),
                file("Microsoft-Windows-User Device Registration%4Admin.evtx", udr, collected),
                file("Security.evtx", security, collected),
                file("dsregcmd.txt", dsreg, relogon + mins(4)),
            ];
            files.extend(logs.files("PAD/", collected));
            files
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 13: the credentials mismatch inside a day of dense noise (generated on demand)

pub(super) fn s13_large_noisy() -> Scenario {
    let name = "13-large-noisy";
    let fail = t("2025-02-18T13:37:21.506Z");
    let user = "bwilson@contoso.com";
    Scenario {
        name,
        title: "A wrong password hidden in ~100 000 Security records and big PAD logs",
        large: true,
        expected: expected(
            name,
            vec![run(fail, WII, Some("credentials-mismatch"), Some("confirmed"), Some(user)).causes(&[
                    ("account-not-synced", "ruled_out"),
                    ("account-restriction", "ruled_out"),
                    ("account-state", "ruled_out"),
                    ("auth-unreachable", "ruled_out"),
                    ("credentials-mismatch", "confirmed"),
                    ("device-not-joined", "ruled_out"),
                    ("federated-user", "ruled_out"),
                    ("logon-right-missing", "ruled_out"),
                    ("username-format", "ruled_out"),
                ])],
            false,
        ),
        readme: readme(
            "13 - large and noisy",
            &[
                "Scenario 01 at scale: Entra-joined VM `RPA-VM13`, a whole day of Security records (about 100 000",
                "service logons, privilege assignments and credential reads), PAD logs with a heartbeat every",
                "few seconds, a password spray from 203.0.113.45. The 13:37 run for `bwilson@contoso.com` failed",
                "with -1073741715 and a 4625 0xC000006D / 0xC000006A at that second.",
                "",
                "Conclusion: as in 01, credentials mismatch, confirmed. Generated on demand (not committed).",
            ],
        ),
        build: Box::new(move || build_credentials_mismatch(fail, user, 0x13, LARGE_NOISE)),
    }
}
