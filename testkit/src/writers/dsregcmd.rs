//! `dsregcmd /status` dumps: the sections, field alignment and values dsregcmd prints.

use super::{guid, guid_str};
use chrono::{DateTime, Duration, Utc};

/// `2025-06-02 07:58:41.000 UTC`, as dsregcmd prints times.
fn dsreg_time(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:03} UTC",
        t.format("%Y-%m-%d %H:%M:%S"),
        t.timestamp_subsec_millis()
    )
}

/// The fields of one dump that vary between scenarios; [`dsreg_text`] lays them out as
/// dsregcmd prints them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dsreg {
    pub(crate) device_name: String,
    pub(crate) azure_ad_joined: bool,
    pub(crate) domain_joined: bool,
    pub(crate) domain_name: &'static str,
    pub(crate) device_auth_status: &'static str,
    pub(crate) tenant_id: &'static str,
    pub(crate) tenant_name: &'static str,
    pub(crate) workplace_joined: bool,
    pub(crate) ngc_set: bool,
    pub(crate) prt: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The `AcquirePrtDiagnostics` / `RefreshPrtDiagnostics` block of a failed PRT attempt.
    pub(crate) prt_diag: Option<PrtDiag>,
    pub(crate) enterprise_prt: Option<(DateTime<Utc>, &'static str)>,
    pub(crate) executing_account: String,
    pub(crate) is_user_azure_ad: bool,
    /// `Work Account 1` (registered device).
    pub(crate) work_account: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct PrtDiag {
    pub(crate) kind: &'static str,
    pub(crate) time: DateTime<Utc>,
    pub(crate) status: &'static str,
    pub(crate) user: String,
    pub(crate) http_error: &'static str,
    pub(crate) http_status: u32,
    pub(crate) server_code: &'static str,
    pub(crate) description: &'static str,
}

pub(crate) fn dsreg_text(d: &Dsreg) -> String {
    let tenant = d.tenant_id;
    let mut lines: Vec<String> = vec![String::new()];
    let section = |lines: &mut Vec<String>, title: &str, kv: &[(&str, String)]| {
        let bar = format!("+{}+", "-".repeat(70));
        lines.push(bar.clone());
        lines.push(format!("| {title:<69}|"));
        lines.push(bar);
        lines.push(String::new());
        for (k, v) in kv {
            lines.push(format!("{k:>26} : {v}").trim_end().to_string());
        }
        lines.push(String::new());
    };
    let yn = |b: bool| if b { "YES" } else { "NO" }.to_string();
    let joined = d.azure_ad_joined;
    let mut state = vec![
        ("AzureAdJoined", yn(d.azure_ad_joined)),
        ("EnterpriseJoined", yn(false)),
        ("DomainJoined", yn(d.domain_joined)),
    ];
    if d.domain_joined {
        state.push(("DomainName", d.domain_name.to_string()));
    }
    state.push(("Virtual Desktop", "NOT SET".into()));
    state.push(("Device Name", d.device_name.clone()));
    section(&mut lines, "Device State", &state);
    let device_id = guid_str(&format!("device/{}", d.device_name));
    if joined {
        section(
            &mut lines,
            "Device Details",
            &[
                ("DeviceId", device_id.clone()),
                (
                    "Thumbprint",
                    format!("{:032X}", guid(&format!("thumb/{}", d.device_name)).0)[..32]
                        .to_string()
                        + "5B8E0D12",
                ),
                (
                    "DeviceCertificateValidity",
                    "[ 2024-03-11 08:42:17.000 UTC -- 2034-03-11 09:12:17.000 UTC ]".into(),
                ),
                (
                    "KeyContainerId",
                    guid_str(&format!("keycontainer/{}", d.device_name)),
                ),
                ("KeyProvider", "Microsoft Platform Crypto Provider".into()),
                ("TpmProtected", "YES".into()),
                ("DeviceAuthStatus", d.device_auth_status.to_string()),
            ],
        );
        let drs = "urn:ms-drs:enterpriseregistration.windows.net".to_string();
        section(
            &mut lines,
            "Tenant Details",
            &[
                ("TenantName", d.tenant_name.to_string()),
                ("TenantId", d.tenant_id.into()),
                (
                    "AuthCodeUrl",
                    format!("https://login.microsoftonline.com/{tenant}/oauth2/authorize"),
                ),
                (
                    "AccessTokenUrl",
                    format!("https://login.microsoftonline.com/{tenant}/oauth2/token"),
                ),
                (
                    "MdmUrl",
                    "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc".into(),
                ),
                (
                    "MdmTouUrl",
                    "https://portal.manage.microsoft.com/TermsofUse.aspx".into(),
                ),
                (
                    "MdmComplianceUrl",
                    "https://portal.manage.microsoft.com/?portalAction=Compliance".into(),
                ),
                ("SettingsUrl", String::new()),
                ("JoinSrvVersion", "2.0".into()),
                (
                    "JoinSrvUrl",
                    "https://enterpriseregistration.windows.net/EnrollmentServer/device/".into(),
                ),
                ("JoinSrvId", drs.clone()),
                ("KeySrvVersion", "1.0".into()),
                (
                    "KeySrvUrl",
                    "https://enterpriseregistration.windows.net/EnrollmentServer/key/".into(),
                ),
                ("KeySrvId", drs.clone()),
                ("WebAuthNSrvVersion", "1.0".into()),
                (
                    "WebAuthNSrvUrl",
                    format!("https://enterpriseregistration.windows.net/webauthn/{tenant}/"),
                ),
                ("WebAuthNSrvId", drs.clone()),
                ("DeviceManagementSrvVer", "1.0".into()),
                (
                    "DeviceManagementSrvUrl",
                    format!("https://enterpriseregistration.windows.net/manage/{tenant}/"),
                ),
                ("DeviceManagementSrvId", drs),
            ],
        );
    }
    let mut user = vec![
        ("NgcSet", yn(d.ngc_set)),
        ("WorkplaceJoined", yn(d.workplace_joined)),
    ];
    if d.workplace_joined {
        user.push(("WorkAccountCount", "1".into()));
    }
    user.push(("WamDefaultSet", yn(joined || d.workplace_joined)));
    if joined || d.workplace_joined {
        user.push(("WamDefaultAuthority", "organizations".into()));
        user.push(("WamDefaultId", "https://login.microsoft.com".into()));
        user.push((
            "WamDefaultGUID",
            "{B16898C6-A148-4967-9171-64D755DA8520} (AzureAd)".into(),
        ));
    }
    section(&mut lines, "User State", &user);
    let mut sso = Vec::new();
    match d.prt {
        Some((update, expiry)) => {
            sso.push(("AzureAdPrt", "YES".to_string()));
            sso.push(("AzureAdPrtUpdateTime", dsreg_time(update)));
            sso.push(("AzureAdPrtExpiryTime", dsreg_time(expiry)));
            sso.push((
                "AzureAdPrtAuthority",
                format!("https://login.microsoftonline.com/{tenant}"),
            ));
        }
        None => {
            sso.push(("AzureAdPrt", "NO".to_string()));
            if !joined {
                sso.push(("AzureAdPrtAuthority", "NO".to_string()));
            }
        }
    }
    if let Some(p) = &d.prt_diag {
        sso.push((p.kind, "PRESENT".into()));
        sso.push(("Previous Prt Attempt", dsreg_time(p.time)));
        sso.push(("Attempt Status", p.status.into()));
        sso.push(("User Identity", p.user.clone()));
        sso.push(("Credential Type", "Password".into()));
        sso.push((
            "Correlation ID",
            guid_str(&format!("prt-attempt/{}", p.time.timestamp())),
        ));
        sso.push((
            "Endpoint URI",
            format!("https://login.microsoftonline.com/{tenant}/oauth2/token/"),
        ));
        sso.push(("HTTP Method", "POST".into()));
        sso.push(("HTTP Error", p.http_error.into()));
        sso.push(("HTTP status", p.http_status.to_string()));
        sso.push(("Server Error Code", p.server_code.into()));
        sso.push(("Server Error Description", p.description.into()));
    }
    match d.enterprise_prt {
        Some((update, authority)) => {
            sso.push(("EnterprisePrt", "YES".into()));
            sso.push(("EnterprisePrtUpdateTime", dsreg_time(update)));
            sso.push((
                "EnterprisePrtExpiryTime",
                dsreg_time(update + Duration::hours(4)),
            ));
            sso.push(("EnterprisePrtAuthority", authority.into()));
        }
        None => {
            sso.push(("EnterprisePrt", "NO".into()));
            sso.push((
                "EnterprisePrtAuthority",
                if joined { String::new() } else { "NO".into() },
            ));
        }
    }
    if joined {
        sso.push(("OnPremTgt", yn(d.domain_joined)));
        sso.push(("CloudTgt", yn(d.prt.is_some())));
        sso.push((
            "KerbTopLevelNames",
            ".windows.net,.windows.net:1433,.windows.net:3342,.azure.net,.azure.net:1433,.azure.net:3342"
                .into(),
        ));
    }
    section(&mut lines, "SSO State", &sso);
    if d.work_account {
        section(
            &mut lines,
            "Work Account 1",
            &[
                (
                    "WorkplaceDeviceId",
                    guid_str(&format!("wpj/{}", d.device_name)),
                ),
                (
                    "WorkplaceThumbprint",
                    "9C41D07A2E55B3F08A61C7D2E94B0F13A6C8D527".into(),
                ),
                (
                    "DeviceCertificateValidity",
                    "[ 2025-05-20 09:58:12.000 UTC -- 2035-05-20 10:28:12.000 UTC ]".into(),
                ),
                (
                    "KeyContainerId",
                    guid_str(&format!("wpj-key/{}", d.device_name)),
                ),
                (
                    "KeyProvider",
                    "Microsoft Software Key Storage Provider".into(),
                ),
                ("TpmProtected", "NO".into()),
                ("WorkplaceTenantId", d.tenant_id.into()),
                ("WorkplaceTenantName", d.tenant_name.into()),
                (
                    "WorkplaceMdmUrl",
                    "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc".into(),
                ),
                ("WorkplaceSettingsUrl", String::new()),
                ("NgcSet", "NO".into()),
            ],
        );
    }
    if joined {
        section(
            &mut lines,
            "Diagnostic Data",
            &[
                ("AadRecoveryEnabled", "NO".into()),
                ("Executing Account Name", d.executing_account.clone()),
                ("KeySignTest", "PASSED".into()),
                ("DisplayNameUpdated", "YES".into()),
                ("OsVersionUpdated", "YES".into()),
                ("HostNameUpdated", "YES".into()),
            ],
        );
    }
    section(
        &mut lines,
        "IE Proxy Config for Current User",
        &[
            ("Auto Detect Settings", "YES".into()),
            ("Auto-Configuration URL", String::new()),
            ("Proxy Server List", String::new()),
            ("Proxy Bypass List", String::new()),
        ],
    );
    section(
        &mut lines,
        "WinHttp Default Proxy Config",
        &[("Access Type", "DIRECT".into())],
    );
    section(
        &mut lines,
        "Ngc Prerequisite Check",
        &[
            ("IsDeviceJoined", yn(joined)),
            ("IsUserAzureAD", yn(d.is_user_azure_ad)),
            ("PolicyEnabled", "NO".into()),
            ("PostLogonEnabled", "YES".into()),
            ("DeviceEligible", "YES".into()),
            ("SessionIsNotRemote", "NO".into()),
            ("CertEnrollment", "none".into()),
            ("PreReqResult", "WillNotProvision".into()),
        ],
    );
    lines.push("For more information, please visit https://www.microsoft.com/aadjerrors".into());
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    out
}
