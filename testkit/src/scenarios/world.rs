//! The world the scenarios play in: the tenant, machines and accounts, and the records Windows
//! logs around a run (logons, sessions, sprays, background noise, AAD and device registration
//! warnings, System errors, a healthy `dsregcmd` state).

use super::{mins, ms, secs};
use crate::events::{self as ev, Lcg, Logon, Principal, WhfbCheck};
use crate::evtx_writer::EventSpec;
use crate::writers::dsregcmd::Dsreg;
use crate::writers::evtx_log::evtx;
use crate::writers::guid;
use chrono::{DateTime, Duration, Timelike, Utc};

pub(super) const TENANT_ID: &str = "3f6c1d2e-8a47-4b2e-9c51-7d0e2a9b4c18";
pub(super) const DOMAIN_SID: &str = "S-1-5-21-1004336348-1177238915-682003330";
/// The local SAM's domain SID on the Entra-joined VMs (same image).
pub(super) const LOCAL_SID: &str = "S-1-5-21-2841395220-3407116652-1903562211";
pub(super) const UIFLOW_EXE: &str =
    r"C:\Program Files (x86)\Power Automate Desktop\UIFlowService.exe";
pub(super) const PAD_VERSION: &str = "2.53.180.25102";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Join {
    Entra,
    Hybrid,
    Workgroup,
}

/// The machine a bundle comes from.
#[derive(Clone, Debug)]
pub(super) struct Machine {
    /// `Computer` as events name it (FQDN on domain members).
    pub(super) computer: String,
    pub(super) join: Join,
    /// Seed of everything random about this machine.
    pub(super) seed: u64,
}

impl Machine {
    pub(super) fn new(computer: &str, join: Join, seed: u64) -> Self {
        Machine {
            computer: computer.into(),
            join,
            seed,
        }
    }

    /// The computer account as the subject of LSA's own logons.
    pub(super) fn account(&self) -> Principal {
        let domain = if self.join == Join::Hybrid {
            "CONTOSO"
        } else {
            "WORKGROUP"
        };
        Principal::machine(&self.computer, domain)
    }
}

/// A user: the name typed in the connection, and the account as Windows knows it.
#[derive(Clone, Debug)]
pub(super) struct User {
    /// As the desktop-flow connection (and PAD) names it: `jdoe@contoso.com`, `.\rpa-runner`.
    pub(super) connection: String,
    /// As Security events name a logged-on session of it.
    pub(super) principal: Principal,
}

impl User {
    pub(super) fn entra(upn: &str) -> Self {
        let short = upn.split('@').next().unwrap_or(upn);
        User {
            connection: upn.into(),
            principal: Principal::entra(short, guid(&format!("entra-object/{upn}"))),
        }
    }

    pub(super) fn ad(upn: &str, rid: u32) -> Self {
        let short = upn.split('@').next().unwrap_or(upn);
        User {
            connection: upn.into(),
            principal: Principal::new(short, "CONTOSO", &format!("{DOMAIN_SID}-{rid}")),
        }
    }

    pub(super) fn local(name: &str, computer: &str, rid: u32) -> Self {
        User {
            connection: format!(r".\{name}"),
            principal: Principal::new(name, computer, &format!("{LOCAL_SID}-{rid}")),
        }
    }

    pub(super) fn upn(&self) -> &str {
        &self.connection
    }
}

/// The UIFlowService virtual account, the caller of PAD's credential checks.
pub(super) fn uiflow_service() -> Principal {
    Principal::new(
        "UIFlowService",
        "NT SERVICE",
        "S-1-5-80-3145243432-1446196328-2407364386-2651226474-2389164291",
    )
}

/// The target of a failed logon as Windows logs it: the name and domain as typed.
pub(super) fn typed(name: &str, domain: &str) -> Principal {
    Principal::new(name, domain, "S-1-0-0")
}

/// PAD's credential check: `LogonUser` from UIFlowService (LogonType 2, `Advapi`, no network
/// address), or the RDP session it then opens on the loopback (LogonType 10, winlogon).
pub(super) fn pad_logon(
    m: &Machine,
    time: DateTime<Utc>,
    target: Principal,
    logon_type: u32,
) -> Logon {
    let mut l = Logon::new(time, &m.computer, target, logon_type);
    if logon_type == 2 {
        l.subject = uiflow_service();
        l.subject_logon_id = 0x3_e8a1;
        l.logon_process = ev::LOGON_PROCESS_ADVAPI.into();
        l.process_id = 0x1c84;
        l.process_name = UIFLOW_EXE.into();
        l.ip_address = "-".into();
        l.ip_port = "-".into();
    } else {
        l.subject = m.account();
        l.ip_address = "127.0.0.1".into();
        l.ip_port = "0".into();
    }
    l
}

pub(super) fn pad_check_failed(
    m: &Machine,
    time: DateTime<Utc>,
    target: Principal,
    logon_type: u32,
    status: u32,
    sub_status: u32,
    reason: &str,
) -> EventSpec {
    let mut l = pad_logon(m, time, target, logon_type);
    l.status = status;
    l.sub_status = sub_status;
    l.failure_reason = reason.into();
    ev::security_4625(&l)
}

/// A successful session of `user`: 4624 (+ 4672 for admins) at `time`, logoff at `end`.
pub(super) fn session(
    m: &Machine,
    user: &User,
    time: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    logon_type: u32,
    ip: &str,
    admin: bool,
) -> Vec<EventSpec> {
    let mut l = Logon::new(time, &m.computer, user.principal.clone(), logon_type);
    l.subject = m.account();
    l.ip_address = ip.into();
    l.ip_port = if ip == "-" {
        "-".into()
    } else {
        "52144".into()
    };
    l.logon_guid = guid(&format!("logon/{}/{}", user.connection, time.timestamp()));
    l.elevated = admin;
    if logon_type == 2 && ip == "-" {
        l.logon_process = ev::LOGON_PROCESS_ADVAPI.into();
        l.subject = uiflow_service();
        l.process_name = UIFLOW_EXE.into();
        l.process_id = 0x1c84;
    }
    let mut out = vec![ev::security_4624(&l)];
    if admin {
        out.push(ev::security_4672(
            time,
            &m.computer,
            &user.principal,
            l.target_logon_id,
            ev::ADMIN_PRIVILEGES,
        ));
    }
    if let Some(end) = end {
        let mut off = l.clone();
        off.time = end;
        out.push(ev::security_4647(&off));
        off.time = end + secs(2);
        out.push(ev::security_4634(&off));
    }
    out
}

/// A password spray from `ip` over `minutes` starting at `start`: NTLM network logons (4776 +
/// 4625 LogonType 3) against common account names, none of them the run's user.
pub(super) fn spray(
    m: &Machine,
    start: DateTime<Utc>,
    ip: &str,
    attempts: u32,
    seed: u64,
) -> Vec<EventSpec> {
    const NAMES: &[&str] = &[
        "administrator",
        "admin",
        "scanner",
        "backup",
        "test",
        "user",
        "guest",
        "support",
        "sql",
        "ftp",
        "helpdesk",
        "temp",
        "reception",
        "it",
        "office",
    ];
    let mut rng = Lcg::new(seed);
    let mut out = Vec::new();
    let mut time = start;
    for i in 0..attempts {
        time += ms(1500 + i64::from(rng.below(6000)));
        let name = NAMES[(i as usize + rng.below(3) as usize) % NAMES.len()];
        let sub = if name == "administrator" || name == "guest" {
            0xC000_006A
        } else {
            0xC000_0064
        };
        out.push(ev::security_4776(time, &m.computer, name, "KALI", sub));
        let mut l = Logon::new(time, &m.computer, typed(name, ""), 3);
        l.status = 0xC000_006D;
        l.sub_status = sub;
        l.workstation = "KALI".into();
        l.ip_address = ip.into();
        l.ip_port = (40000 + rng.below(20000)).to_string();
        out.push(ev::security_4625(&l));
    }
    out
}

/// Background Security records between `from` and `to`: the noise generator's service logons
/// and credential reads, all of them from 16 minutes before to 3 minutes after each of
/// `around` (the runs' evidence windows), and only the first half-minute of each hour elsewhere.
/// Keeps committed logs small while every run's window is as busy as a real log.
pub(super) fn background(
    m: &Machine,
    from: DateTime<Utc>,
    around: &[DateTime<Utc>],
    to: DateTime<Utc>,
) -> Vec<EventSpec> {
    ev::noise(m.seed ^ from.timestamp() as u64, from, &m.computer)
        .take_while(|e| e.time < to)
        .filter(|e| {
            (e.time.minute() == 0 && e.time.second() < 30)
                || around
                    .iter()
                    .any(|c| e.time >= *c - mins(16) && e.time < *c + mins(3))
        })
        .collect()
}

/// Boot-time records at the start of a log: SYSTEM's logon and its privileges.
pub(super) fn boot(m: &Machine, time: DateTime<Utc>) -> Vec<EventSpec> {
    let mut l = Logon::new(time, &m.computer, Principal::system(), 0);
    l.subject = Principal::system();
    l.subject_logon_id = ev::SYSTEM_LOGON_ID;
    l.target_logon_id = ev::SYSTEM_LOGON_ID;
    l.logon_process = "-".into();
    l.auth_package = "-".into();
    l.workstation = "-".into();
    l.process_id = 4;
    l.process_name = String::new();
    l.ip_address = "-".into();
    l.ip_port = "-".into();
    vec![
        ev::security_4624(&l),
        ev::security_4672(
            time,
            &m.computer,
            &Principal::system(),
            ev::SYSTEM_LOGON_ID,
            ev::ADMIN_PRIVILEGES,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// AAD, device registration and System logs

pub(super) const LOGGED_AT: &str =
    "Logged at ClientCache.cpp, line: 296, method: ClientCache::LoadPrimaryAccount.";

/// The benign 1097 warnings a user's sign-in leaves.
pub(super) fn aad_signin_noise(m: &Machine, time: DateTime<Utc>, sid: &str) -> Vec<EventSpec> {
    vec![
        ev::aad_1097(
            time,
            &m.computer,
            sid,
            0x8AA5_00DB,
            "The cache has been partitioned successfully.",
            &format!("Cache partition: {TENANT_ID}\r\n{LOGGED_AT}"),
        ),
        ev::aad_1097(
            time + ms(870),
            &m.computer,
            sid,
            0x8AA5_00E6,
            "The account has been updated.",
            "Logged at WebAccountManager.cpp, line: 1270, method: WebAccountManager::UpdateAccount.",
        ),
    ]
}

pub(super) fn token_broker_failed(
    m: &Machine,
    time: DateTime<Utc>,
    sid: &str,
    error: u32,
    message: &str,
    detail: &str,
) -> EventSpec {
    ev::aad_1098(
        time,
        &m.computer,
        sid,
        error,
        message,
        &format!(
            "{detail}\r\nLogged at WebAccountProcessor.cpp, line: 663, method: \
             AAD::Core::WebAccountProcessor::ReportOperationError."
        ),
    )
}

/// UDR 360 on a joined device for a user whose sign-in WHfB will not provision (remote session).
pub(super) fn whfb_skipped(m: &Machine, time: DateTime<Utc>, sid: &str, joined: bool) -> EventSpec {
    let check = if joined {
        WhfbCheck {
            device_is_joined: "Yes".into(),
            aad_prt: "Yes".into(),
            ngc_policy_enabled: "No".into(),
            post_logon_provisioning: "Yes".into(),
            hardware_policy_met: "Yes".into(),
            user_is_remote: "Yes".into(),
            logon_cert_required: "No".into(),
            machine_policy_source: "none".into(),
            use_cloud_trust: "No".into(),
            cloud_tgt: "Yes".into(),
            ..WhfbCheck::default()
        }
    } else {
        WhfbCheck {
            device_is_joined: "No".into(),
            ..WhfbCheck::default()
        }
    };
    ev::udr_360(time, &m.computer, sid, &check)
}

/// The account that signs in to a machine now and then (the admin, or the local operator).
pub(super) fn regular_sid(m: &Machine) -> String {
    match m.join {
        Join::Workgroup => format!("{LOCAL_SID}-1001"),
        _ => User::entra("itadmin@contoso.com").principal.sid,
    }
}

/// AAD/Operational keeps weeks of warnings: the admin's sign-ins two and five days before
/// `before` come first, so the log spans the run like a real one.
pub(super) fn aad_history(
    m: &Machine,
    before: DateTime<Utc>,
    mut events: Vec<EventSpec>,
) -> Vec<EventSpec> {
    let sid = regular_sid(m);
    for days in [5, 2] {
        let at = before - Duration::days(days) - mins(83) + secs(days * 7);
        events.extend(aad_signin_noise(m, at, &sid));
    }
    events
}

pub(super) fn aad_evtx(
    m: &Machine,
    before: DateTime<Utc>,
    events: Vec<EventSpec>,
    first_id: u64,
) -> Vec<u8> {
    evtx(aad_history(m, before, events), first_id)
}

/// User Device Registration/Admin with the admin's WHfB checks two and five days before.
pub(super) fn udr_evtx(
    m: &Machine,
    before: DateTime<Utc>,
    mut events: Vec<EventSpec>,
    first_id: u64,
) -> Vec<u8> {
    let sid = regular_sid(m);
    for days in [5, 2] {
        let at = before - Duration::days(days) - mins(83) + secs(days * 7 + 9);
        events.push(whfb_skipped(m, at, &sid, m.join != Join::Workgroup));
    }
    evtx(events, first_id)
}

/// Unrelated Service Control Manager errors a System log always has.
pub(super) fn system_noise(m: &Machine, day: DateTime<Utc>) -> Vec<EventSpec> {
    vec![
        ev::scm_7000(
            day + Duration::hours(5) + mins(2),
            &m.computer,
            "Contoso Backup Agent",
            "CtsBackupAgent",
            1053,
        ),
        ev::scm_7034(
            day + Duration::hours(7) + mins(41),
            &m.computer,
            "Print Spooler",
            "Spooler",
            1,
        ),
        ev::scm_7000(
            day + Duration::hours(11) + mins(15),
            &m.computer,
            "Contoso Backup Agent",
            "CtsBackupAgent",
            1053,
        ),
    ]
}

/// A healthy joined device for `executing`, PRT refreshed `age` before `at`.
pub(super) fn dsreg_joined(
    m: &Machine,
    at: DateTime<Utc>,
    age: Duration,
    executing: &str,
) -> Dsreg {
    let update = at - age;
    Dsreg {
        device_name: m.computer.clone(),
        azure_ad_joined: true,
        domain_joined: m.join == Join::Hybrid,
        domain_name: "CONTOSO",
        device_auth_status: "SUCCESS",
        tenant_id: TENANT_ID,
        tenant_name: "Contoso Ltd",
        prt: Some((update, update + Duration::days(14))),
        executing_account: executing.into(),
        is_user_azure_ad: true,
        ..Dsreg::default()
    }
}

pub(super) fn entra_executing(u: &User) -> String {
    format!("AzureAD\\{}, {}", u.principal.name, u.upn())
}
