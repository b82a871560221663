//! System log events: Service Control Manager errors (a classic provider).

use super::{
    field, s, KEYWORDS_CLASSIC_SYSTEM, LEVEL_ERROR, QUALIFIERS_ERROR, SCM_GUID, SCM_PROVIDER,
    SERVICES_PID, SYSTEM_CHANNEL,
};
use crate::evtx_writer::EventSpec;
use chrono::{DateTime, Utc};

/// A Service Control Manager error event (classic provider, Qualifiers 49152).
fn scm(
    event_id: u16,
    time: DateTime<Utc>,
    computer: &str,
    params: &[&str],
    binary: Option<Vec<u8>>,
) -> EventSpec {
    let data = params
        .iter()
        .enumerate()
        .map(|(i, p)| field(&format!("param{}", i + 1), s(p)))
        .collect();
    EventSpec {
        provider_name: SCM_PROVIDER.into(),
        provider_guid: Some(SCM_GUID),
        event_source_name: Some(SCM_PROVIDER.into()),
        event_id,
        qualifiers: Some(QUALIFIERS_ERROR),
        version: 0,
        level: LEVEL_ERROR,
        task: 0,
        opcode: 0,
        keywords: KEYWORDS_CLASSIC_SYSTEM,
        time,
        process_id: SERVICES_PID,
        thread_id: 2520,
        channel: SYSTEM_CHANNEL.into(),
        computer: computer.into(),
        data,
        binary,
        ..Default::default()
    }
}

/// The `<Binary>` SCM attaches: the service key name, UTF-16LE with its NUL.
fn service_key_binary(key: &str) -> Vec<u8> {
    let mut b: Vec<u8> = key.encode_utf16().flat_map(u16::to_le_bytes).collect();
    b.extend_from_slice(&[0, 0]);
    b
}

/// SCM 7000 "The %1 service failed to start due to the following error: %2": `param2` is the
/// Win32 error as an insert (`%%1069` = logon failure).
pub fn scm_7000(
    time: DateTime<Utc>,
    computer: &str,
    service: &str,
    service_key: &str,
    error: u32,
) -> EventSpec {
    let err = format!("%%{error}");
    let binary = Some(service_key_binary(service_key));
    scm(7000, time, computer, &[service, &err], binary)
}

/// SCM 7034 "The %1 service terminated unexpectedly. It has done this %2 time(s)."
pub fn scm_7034(
    time: DateTime<Utc>,
    computer: &str,
    service: &str,
    service_key: &str,
    times: u32,
) -> EventSpec {
    let times = times.to_string();
    let binary = Some(service_key_binary(service_key));
    scm(7034, time, computer, &[service, &times], binary)
}

/// SCM 7038 "The %1 service was unable to log on as %2 with the currently configured password
/// due to the following error: %3" (`%%1326` = bad user name or password).
pub fn scm_7038(
    time: DateTime<Utc>,
    computer: &str,
    service: &str,
    account: &str,
    error: u32,
) -> EventSpec {
    let err = format!("%%{error}");
    scm(7038, time, computer, &[service, account, &err], None)
}
