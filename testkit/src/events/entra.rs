//! AAD/Operational (token broker and Cloud AP plugin errors) and User Device
//! Registration/Admin (join steps, automatic registration, WHfB pre-checks) events.

use super::{
    at, field, s, At, AAD_CHANNEL, AAD_GUID, AAD_PROVIDER, DEVICE_JOIN_PID,
    KEYWORDS_AAD_OPERATIONAL, KEYWORDS_UDR_ADMIN, LEVEL_ERROR, LEVEL_INFO, LEVEL_WARNING,
    LSASS_PID, TASK_AAD_CLOUDAP, TASK_AAD_TOKEN_BROKER, TOKEN_BROKER_PID, UDR_CHANNEL, UDR_GUID,
    UDR_PROVIDER,
};
use crate::evtx_writer::{EventSpec, Value};
use chrono::{DateTime, Utc};

const AAD_THREAD: u32 = 3880;

/// An AAD/Operational event of the signed-in user `user_sid`.
fn aad(
    event_id: u16,
    level: u8,
    task: u16,
    process_id: u32,
    at: At<'_>,
    user_sid: &str,
    data: Vec<(String, Value)>,
) -> EventSpec {
    let At {
        time,
        computer,
        thread_id,
    } = at;
    EventSpec {
        provider_name: AAD_PROVIDER.into(),
        provider_guid: Some(AAD_GUID),
        event_id,
        version: 0,
        level,
        task,
        opcode: 0,
        keywords: KEYWORDS_AAD_OPERATIONAL,
        time,
        process_id,
        thread_id,
        channel: AAD_CHANNEL.into(),
        computer: computer.into(),
        user_sid: Some(user_sid.into()),
        data,
        ..Default::default()
    }
}

/// 1098 (Error) / 1097 (Warning) body: `Error` (UInt32), `ErrorMessage`, `AdditionalInformation`.
fn aad_error(
    event_id: u16,
    level: u8,
    at: At<'_>,
    user_sid: &str,
    error: u32,
    message: &str,
    info: &str,
) -> EventSpec {
    let data = vec![
        field("Error", Value::U32(error)),
        field("ErrorMessage", s(message)),
        field("AdditionalInformation", s(info)),
    ];
    aad(
        event_id,
        level,
        TASK_AAD_TOKEN_BROKER,
        TOKEN_BROKER_PID,
        at,
        user_sid,
        data,
    )
}

/// AAD 1098 (Error): a token broker operation failed (`error` is a 0xCAA… code).
pub fn aad_1098(
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    error: u32,
    message: &str,
    info: &str,
) -> EventSpec {
    aad_error(
        1098,
        LEVEL_ERROR,
        at(time, computer, AAD_THREAD),
        user_sid,
        error,
        message,
        info,
    )
}

/// AAD 1097 (Warning): same fields as 1098, usually a benign 0x8AA… code.
pub fn aad_1097(
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    error: u32,
    message: &str,
    info: &str,
) -> EventSpec {
    aad_error(
        1097,
        LEVEL_WARNING,
        at(time, computer, AAD_THREAD),
        user_sid,
        error,
        message,
        info,
    )
}

/// AAD 1081: OAuth error from Entra (`invalid_grant`, `AADSTS50126: …`).
pub fn aad_1081(
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    error: &str,
    description: &str,
    correlation_id: &str,
) -> EventSpec {
    let data = vec![
        field("Error", s(error)),
        field("ErrorDescription", s(description)),
        field("CorrelationID", s(correlation_id)),
    ];
    let pid = LSASS_PID;
    aad(
        1081,
        LEVEL_ERROR,
        TASK_AAD_CLOUDAP,
        pid,
        at(time, computer, AAD_THREAD),
        user_sid,
        data,
    )
}

/// AAD 1104: a Cloud AP plugin call (`api`, e.g. `Get token`) returned `result` (NTSTATUS).
pub fn aad_1104(
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    api: &str,
    result: u32,
) -> EventSpec {
    let data = vec![field("API", s(api)), field("Result", Value::U32(result))];
    let pid = LSASS_PID;
    aad(
        1104,
        LEVEL_ERROR,
        TASK_AAD_CLOUDAP,
        pid,
        at(time, computer, AAD_THREAD),
        user_sid,
        data,
    )
}

fn aad_status(
    event_id: u16,
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    status: u32,
    correlation_id: &str,
) -> EventSpec {
    let data = vec![
        field("Status", Value::U32(status)),
        field("CorrelationID", s(correlation_id)),
    ];
    let pid = LSASS_PID;
    aad(
        event_id,
        LEVEL_ERROR,
        TASK_AAD_CLOUDAP,
        pid,
        at(time, computer, AAD_THREAD),
        user_sid,
        data,
    )
}

/// AAD 1085: logon failure with `status` (NTSTATUS such as 0xC000006D).
pub fn aad_1085(
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    status: u32,
    correlation_id: &str,
) -> EventSpec {
    aad_status(1085, time, computer, user_sid, status, correlation_id)
}

/// AAD 1094: refresh token failure with `status`.
pub fn aad_1094(
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    status: u32,
    correlation_id: &str,
) -> EventSpec {
    aad_status(1094, time, computer, user_sid, status, correlation_id)
}

/// A User Device Registration/Admin event. Automatic registration runs as SYSTEM.
fn udr(
    event_id: u16,
    level: u8,
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    data: Vec<(String, Value)>,
) -> EventSpec {
    EventSpec {
        provider_name: UDR_PROVIDER.into(),
        provider_guid: Some(UDR_GUID),
        event_id,
        version: 0,
        level,
        task: 0,
        opcode: 0,
        keywords: KEYWORDS_UDR_ADMIN,
        time,
        process_id: DEVICE_JOIN_PID,
        thread_id: 5120,
        channel: UDR_CHANNEL.into(),
        computer: computer.into(),
        user_sid: Some(user_sid.into()),
        data,
        ..Default::default()
    }
}

/// UDR 200-205: a discovery/join step "failed with exit code" (`ExitCode`, HexInt32).
pub fn udr_step_failed(
    event_id: u16,
    time: DateTime<Utc>,
    computer: &str,
    exit_code: u32,
) -> EventSpec {
    let data = vec![field("ExitCode", Value::HexU32(exit_code))];
    udr(event_id, LEVEL_ERROR, time, computer, "S-1-5-18", data)
}

/// UDR 304: automatic registration failed at join phase.
pub fn udr_304(
    time: DateTime<Utc>,
    computer: &str,
    exit_code: u32,
    server_error: &str,
    tenant_type: &str,
    registration_type: &str,
    debug_output: &str,
) -> EventSpec {
    let data = vec![
        field("ExitCode", Value::HexU32(exit_code)),
        field("ServerErrorMessage", s(server_error)),
        field("TenantType", s(tenant_type)),
        field("RegistrationType", s(registration_type)),
        field("DebugOutput", s(debug_output)),
    ];
    udr(304, LEVEL_ERROR, time, computer, "S-1-5-18", data)
}

/// UDR 305: automatic registration failed at authentication phase.
pub fn udr_305(
    time: DateTime<Utc>,
    computer: &str,
    exit_code: u32,
    server_error: &str,
    tenant_type: &str,
    tenant_name: &str,
) -> EventSpec {
    let data = vec![
        field("ExitCode", Value::HexU32(exit_code)),
        field("ServerErrorMessage", s(server_error)),
        field("TenantType", s(tenant_type)),
        field("TenantName", s(tenant_name)),
    ];
    udr(305, LEVEL_ERROR, time, computer, "S-1-5-18", data)
}

/// UDR 307: failed to look up the registration service (SCP) in AD (typically 0x801c001d).
pub fn udr_307(time: DateTime<Utc>, computer: &str, exit_code: u32) -> EventSpec {
    let data = vec![field("ExitCode", Value::HexU32(exit_code))];
    udr(307, LEVEL_ERROR, time, computer, "S-1-5-18", data)
}

/// UDR 334: pre-check — the device can NOT be joined, no domain controller could be located.
pub fn udr_334(time: DateTime<Utc>, computer: &str) -> EventSpec {
    udr(334, LEVEL_ERROR, time, computer, "S-1-5-18", Vec::new())
}

/// UDR 335: pre-check — the device is already joined.
pub fn udr_335(time: DateTime<Utc>, computer: &str) -> EventSpec {
    udr(335, LEVEL_INFO, time, computer, "S-1-5-18", Vec::new())
}

/// The checks UDR 360 lists ("Windows Hello for Business provisioning will not be launched"),
/// with the values Windows writes (`Yes`, `No`, `Not Tested`, …).
#[derive(Clone, Debug)]
pub struct WhfbCheck {
    pub message: String,
    pub device_is_joined: String,
    pub aad_prt: String,
    pub ngc_policy_enabled: String,
    pub post_logon_provisioning: String,
    pub hardware_policy_met: String,
    pub user_is_remote: String,
    pub logon_cert_required: String,
    pub machine_policy_source: String,
    pub use_cloud_trust: String,
    pub cloud_tgt: String,
}

impl Default for WhfbCheck {
    /// What a non-joined device reports.
    fn default() -> Self {
        let nt = || "Not Tested".to_string();
        WhfbCheck {
            message: "Windows Hello for Business provisioning will not be launched.".into(),
            device_is_joined: nt(),
            aad_prt: "No".into(),
            ngc_policy_enabled: nt(),
            post_logon_provisioning: nt(),
            hardware_policy_met: nt(),
            user_is_remote: "No".into(),
            logon_cert_required: nt(),
            machine_policy_source: "none".into(),
            use_cloud_trust: nt(),
            cloud_tgt: nt(),
        }
    }
}

/// UDR 360 (Warning): WHfB provisioning pre-check result for the signed-in user.
pub fn udr_360(
    time: DateTime<Utc>,
    computer: &str,
    user_sid: &str,
    check: &WhfbCheck,
) -> EventSpec {
    let c = check;
    let data = vec![
        field("Message", s(&c.message)),
        field("DeviceIsJoined", s(&c.device_is_joined)),
        field("AADPrt", s(&c.aad_prt)),
        field("NgcPolicyEnabled", s(&c.ngc_policy_enabled)),
        field(
            "NgcPostLogonProvisioningEnabled",
            s(&c.post_logon_provisioning),
        ),
        field("NgcHardwarePolicyMet", s(&c.hardware_policy_met)),
        field("UserIsRemote", s(&c.user_is_remote)),
        field("LogonCertRequired", s(&c.logon_cert_required)),
        field("MachinePolicySource", s(&c.machine_policy_source)),
        field("UseCloudTrust", s(&c.use_cloud_trust)),
        field("CloudTgt", s(&c.cloud_tgt)),
    ];
    udr(360, LEVEL_WARNING, time, computer, user_sid, data)
}
