//! Tests of the Windows event mapping: values, SIDs, and each channel's fields.
use super::*;
use crate::model::Loc;
use crate::sources::aad::CHANNEL as CHANNEL_AAD;
use crate::sources::device_registration::CHANNEL as CHANNEL_DEVICE_REG;
use crate::sources::security::SecurityEvent;
use crate::sources::service::{ServiceEvent, PROVIDER_SCM};
use chrono::TimeZone;
use std::sync::Arc;

fn raw<'a>(channel: &'a str, id: u32, data: &[(&'a str, Value<'a>)]) -> RawEvent<'a> {
    RawEvent {
        provider: None,
        channel: Some(Cow::Borrowed(channel)),
        event_id: id,
        level: Some(2),
        computer: Some(Cow::Borrowed("RPA-VM01.contoso.com")),
        user_id: None,
        record_id: Some(42),
        time: chrono::Utc.with_ymd_and_hms(2025, 6, 2, 13, 17, 5).unwrap(),
        time_basis: crate::model::TimeBasis::Utc,
        data: data
            .iter()
            .map(|(n, v)| (Cow::Borrowed(*n), v.clone()))
            .collect(),
    }
}

fn s(v: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(v))
}

#[test]
fn sids_read_as_windows_writes_them() {
    let sid = |rev: u8, auth: u64, subs: &[u32]| {
        let mut b = vec![rev, subs.len() as u8];
        b.extend_from_slice(&auth.to_be_bytes()[2..]);
        for s in subs {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b
    };
    assert_eq!(sid_text(&sid(1, 5, &[18])).unwrap(), "S-1-5-18");
    assert_eq!(
        sid_text(&sid(1, 5, &[21, 0, u32::MAX, 1107])).unwrap(),
        "S-1-5-21-0-4294967295-1107"
    );
    assert_eq!(
        sid_text(&sid(1, 0xFFFF_FFFF_FFFF, &[])).unwrap(),
        "S-1-281474976710655"
    );
    assert_eq!(sid_text(&sid(0, 0, &[0])).unwrap(), "S-0-0-0");
    // A count the bytes do not hold.
    let mut short = sid(1, 5, &[18]);
    short[1] = 2;
    assert_eq!(sid_text(&short), None);
}

#[test]
fn utf16_text_decodes_to_the_first_nul() {
    let enc = |s: &str| {
        s.encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>()
    };
    for s in [
        "",
        "abc",
        "abcdefgh",
        "C:\\Windows\\System32\\svchost.exe",
        "caf\u{e9} au lait",
        "Z\u{fc}rich-Wiedikon 12345",
        "\u{1F600} emoji after",
    ] {
        assert_eq!(decode_utf16le(&enc(s)), s);
        // Cut at a NUL wherever it falls in a run of four units.
        for cut in 0..s.chars().count() {
            let mut b = enc(&s.chars().take(cut).collect::<String>());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&enc("tail"));
            assert_eq!(
                decode_utf16le(&b),
                s.chars().take(cut).collect::<String>(),
                "{s:?} cut at {cut}"
            );
        }
    }
    // Odd trailing byte: ignored.
    assert_eq!(decode_utf16le(b"a\0b\0c"), "ab");
}

#[test]
fn security_4625_is_typed() {
    let r = raw(
        "Security",
        4625,
        &[
            ("SubjectUserSid", s("S-1-5-18")),
            ("SubjectUserName", s("RPA-VM01$")),
            ("SubjectDomainName", s("CONTOSO")),
            ("TargetUserSid", s("S-1-0-0")),
            ("TargetUserName", s("svc-rpa")),
            ("TargetDomainName", s("-")),
            ("Status", s("0xc000006d")),
            ("FailureReason", s("%%2313")),
            ("SubStatus", Value::UInt(0xC000_006A)),
            ("LogonType", Value::UInt(10)),
            ("LogonProcessName", s("User32 ")),
            ("AuthenticationPackageName", s("Negotiate")),
            ("WorkstationName", s("")),
            ("ProcessName", s("C:\\Windows\\System32\\svchost.exe")),
            ("IpAddress", s("10.0.0.5")),
        ],
    );
    let Some(EventData::Security(e)) = to_event_data(&r) else {
        panic!("not kept")
    };
    assert_eq!(e.event_id, 4625);
    assert_eq!(e.subject.name.as_deref(), Some("RPA-VM01$"));
    assert_eq!(e.target.name.as_deref(), Some("svc-rpa"));
    assert_eq!(e.target.domain, None, "`-` is no domain");
    assert_eq!(e.target.sid, None, "the null SID is no SID");
    assert_eq!(e.status, Some(0xC000_006D));
    assert_eq!(e.sub_status, Some(0xC000_006A));
    assert_eq!(e.logon_type, Some(10));
    assert_eq!(e.logon_process.as_deref(), Some("User32"));
    assert_eq!(e.failure_reason.as_deref(), Some("%%2313"));
    assert_eq!(e.workstation, None);
    assert_eq!(e.ip_address.as_deref(), Some("10.0.0.5"));
    assert_eq!(e.computer.as_deref(), Some("RPA-VM01.contoso.com"));
}

#[test]
fn security_selection_is_by_channel_and_id() {
    assert!(to_event_data(&raw("Security", 4907, &[])).is_none());
    assert!(to_event_data(&raw("Application", 4625, &[])).is_none());
    let mut no_channel = raw("Security", 4625, &[]);
    no_channel.channel = None;
    assert!(to_event_data(&no_channel).is_none());
    assert!(matches!(
        to_event_data(&raw("security", 4648, &[("TargetServerName", s("srv01"))])),
        Some(EventData::Security(SecurityEvent { target_server: Some(ref t), .. })) if t == "srv01"
    ));
}

#[test]
fn security_4740_and_4776() {
    let r = raw(
        "Security",
        4740,
        &[
            ("TargetUserName", s("svc-rpa")),
            ("TargetDomainName", s("RPA-VM01")),
            ("TargetSid", s("S-1-5-21-1-2-3-1106")),
            ("SubjectDomainName", s("CONTOSO")),
        ],
    );
    let Some(EventData::Security(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.target.name.as_deref(), Some("svc-rpa"));
    assert_eq!(e.target.domain.as_deref(), Some("CONTOSO"));
    assert_eq!(e.target.sid.as_deref(), Some("S-1-5-21-1-2-3-1106"));
    assert_eq!(e.workstation.as_deref(), Some("RPA-VM01"));

    let r = raw(
        "Security",
        4776,
        &[
            ("PackageName", s("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0")),
            ("TargetUserName", s("svc-rpa")),
            ("Workstation", s("RPA-VM01")),
            ("Status", s("0xc0000234")),
        ],
    );
    let Some(EventData::Security(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.status, Some(0xC000_0234));
    assert_eq!(e.workstation.as_deref(), Some("RPA-VM01"));
    assert_eq!(
        e.auth_package.as_deref(),
        Some("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0")
    );
}

#[test]
fn aad_1098_decimal_error_and_text() {
    let mut r = raw(
        CHANNEL_AAD,
        1098,
        &[
            ("Error", Value::UInt(3_399_811_100)),
            ("ErrorMessage", s("Token broker operation failed.")),
            (
                "AdditionalInformation",
                s("Operation name: GetTokenSilently, Error: -2146959355 (0x80080005)\r\nCode: invalid_grant\r\nDescription: AADSTS50126: Error validating credentials.\r\nCorrelation ID: c41d7e09-5a2b-4f8e-9d36-0b7e1a2c9f58\r\nLogged at WebAccountProcessor.cpp, line: 663."),
            ),
        ],
    );
    r.user_id = Some(Cow::Borrowed("S-1-12-1-1-2-3-4"));
    let Some(EventData::Aad(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.error_code, Some(0xCAA5_001C));
    assert_eq!(e.status, None);
    assert_eq!(e.level, Some(2));
    assert_eq!(e.oauth_error.as_deref(), Some("invalid_grant"));
    assert_eq!(e.aadsts, vec![50126]);
    assert_eq!(e.user_sid.as_deref(), Some("S-1-12-1-1-2-3-4"));
    assert_eq!(
        e.correlation_id.as_deref(),
        Some("c41d7e09-5a2b-4f8e-9d36-0b7e1a2c9f58")
    );
    assert!(e
        .text
        .starts_with("Token broker operation failed. | Operation name"));
}

#[test]
fn aad_1097_informational_code_is_kept_as_warning() {
    let mut r = raw(
        CHANNEL_AAD,
        1097,
        &[
            ("Error", s("0x8AA500DB")),
            (
                "ErrorMessage",
                s("The cache has been partitioned successfully."),
            ),
        ],
    );
    r.level = Some(3);
    let Some(EventData::Aad(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.error_code, Some(0x8AA5_00DB));
    assert_eq!(e.level, Some(3));
}

#[test]
fn aad_status_events_and_oauth_errors() {
    let r = raw(
        CHANNEL_AAD,
        1104,
        &[
            ("API", s("Get token")),
            ("Result", Value::UInt(0xC000_005F)),
        ],
    );
    let Some(EventData::Aad(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.status, Some(0xC000_005F));
    assert_eq!(e.error_code, None);
    assert_eq!(e.text, "Get token");

    let r = raw(
        CHANNEL_AAD,
        1081,
        &[
            ("Error", s("invalid_grant")),
            (
                "ErrorDescription",
                s("AADSTS50126: Error validating credentials due to invalid username or password. Trace ID: x"),
            ),
            ("CorrelationID", s("{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}")),
        ],
    );
    let Some(EventData::Aad(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.oauth_error.as_deref(), Some("invalid_grant"));
    assert_eq!(e.aadsts, vec![50126]);
    assert_eq!(
        e.correlation_id.as_deref(),
        Some("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0")
    );

    // 1085 as Event Viewer exports it (hex text), 1253 with a User Identity field.
    let r = raw(CHANNEL_AAD, 1085, &[("Status", s("-1073445812"))]);
    let Some(EventData::Aad(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.status, Some(0xC004_844C));
    let r = raw(
        CHANNEL_AAD,
        1253,
        &[
            ("Result", s("0xc000006d")),
            ("User Identity", s("svc-rpa@contoso.com")),
            ("ErrorCode", s("invalid_grant")),
        ],
    );
    let Some(EventData::Aad(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.upn.as_deref(), Some("svc-rpa@contoso.com"));
    assert_eq!(e.status, Some(0xC000_006D));
    assert_eq!(e.oauth_error.as_deref(), Some("invalid_grant"));
}

#[test]
fn aad_upn_from_text() {
    let r = raw(
        CHANNEL_AAD,
        1088,
        &[(
            "ErrorDescription",
            s("Realm discovery for user: UPN: a.b@fabrikam.onmicrosoft.com failed"),
        )],
    );
    let Some(EventData::Aad(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.upn.as_deref(), Some("a.b@fabrikam.onmicrosoft.com"));
}

#[test]
fn device_registration_304_debug_output() {
    let r = raw(
        CHANNEL_DEVICE_REG,
        304,
        &[
            ("", Value::UInt(0x801C_03F2)),
            ("", s("DirectoryError")),
            ("", s("Managed")),
            ("", s("sync")),
            (
                "",
                s("joinMode: Join\r\ndrsInstance: azure\r\nregistrationType: sync\r\ntenantType: Managed\r\nerrorPhase: join\r\nadalResponseCode: 0x0"),
            ),
        ],
    );
    let Some(EventData::DeviceRegistration(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.exit_code, Some(0x801C_03F2));
    assert_eq!(e.error_phase.as_deref(), Some("join"));
    assert_eq!(e.tenant_type.as_deref(), Some("Managed"));
    assert_eq!(e.registration_type.as_deref(), Some("sync"));
    assert_eq!(e.fields.len(), 5);
    assert_eq!(e.fields[0], ("%1".to_string(), "2149319666".to_string()));

    let r = raw(
        CHANNEL_DEVICE_REG,
        307,
        &[("ExitCode", s("0x801c001d")), ("ServerError", s("-"))],
    );
    let Some(EventData::DeviceRegistration(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.exit_code, Some(0x801C_001D));
    assert_eq!(e.server_error, None);

    let r = raw(
        CHANNEL_DEVICE_REG,
        360,
        &[("DeviceIsJoined", s("Not Tested")), ("AADPrt", s("No"))],
    );
    let Some(EventData::DeviceRegistration(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.exit_code, None);
    assert_eq!(e.fields[1], ("AADPrt".to_string(), "No".to_string()));
}

#[test]
fn service_events_about_power_automate_only() {
    let scm = |id, data: &[(&'static str, Value<'static>)]| {
        let mut r = raw("System", id, data);
        r.provider = Some(Cow::Borrowed(PROVIDER_SCM));
        r
    };
    let r = scm(
        7000,
        &[
            ("param1", s("Power Automate service")),
            ("param2", s("%%1069")),
        ],
    );
    let Some(EventData::Service(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.service.as_deref(), Some("Power Automate service"));
    assert_eq!(e.error_code, Some(1069));
    assert_eq!(e.provider.as_deref(), Some(PROVIDER_SCM));

    let r = scm(
        7038,
        &[
            ("param1", s("UIFlowService")),
            ("param2", s("CONTOSO\\svc-rpa")),
            ("param3", s("%%1326")),
        ],
    );
    let Some(EventData::Service(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.error_code, Some(1326));

    // 7009's numbers are a timeout, not an error.
    let r = scm(
        7009,
        &[
            ("param1", s("30000")),
            ("param2", s("UIFlowAgentLauncherService")),
        ],
    );
    let Some(EventData::Service(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.service.as_deref(), Some("UIFlowAgentLauncherService"));
    assert_eq!(e.error_code, None);

    let r = scm(
        7041,
        &[("param1", s("UIFlowService")), ("param2", s("svc"))],
    );
    assert!(matches!(
        to_event_data(&r),
        Some(EventData::Service(ServiceEvent {
            error_code: Some(1385),
            ..
        }))
    ));

    // Other services, other providers, other ids: not kept.
    assert!(to_event_data(&scm(
        7000,
        &[("param1", s("Spooler")), ("param2", s("%%1069"))]
    ))
    .is_none());
    assert!(to_event_data(&scm(7036, &[("param1", s("Power Automate service"))])).is_none());
    assert!(to_event_data(&raw("System", 7000, &[("param1", s("UIFlowService"))])).is_none());
}

#[test]
fn to_event_carries_the_source() {
    let r = raw("Security", 4624, &[("LogonType", Value::UInt(2))]);
    let source = SourceRef {
        file: Arc::from("Security.evtx"),
        loc: Loc::Record(42),
    };
    let ev = to_event(&r, source.clone()).unwrap();
    assert_eq!(ev.source, source);
    assert_eq!(ev.time, r.time);
}

#[test]
fn evtx_values_decode_when_read() {
    let utf16: Vec<u8> = "svc-rpa\0junk"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let v = Value::Utf16(&utf16);
    assert_eq!(v.text(), "svc-rpa", "stops at the NUL");
    let hex = Value::Hex(0xC000_006D);
    assert_eq!(hex.text(), "0xc000006d");
    assert_eq!(hex.as_u32(), Some(0xC000_006D));
    let status: Vec<u8> = "0xc0000234"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(Value::Utf16(&status).as_u32(), Some(0xC000_0234));
    // Non-ASCII and an unpaired surrogate.
    let mut odd: Vec<u8> = "Müller".encode_utf16().flat_map(u16::to_le_bytes).collect();
    odd.extend_from_slice(&0xD800u16.to_le_bytes());
    assert_eq!(decode_utf16le(&odd), "Müller\u{FFFD}");

    let r = raw(
        "Security",
        4625,
        &[
            ("TargetUserName", Value::Utf16(&utf16)),
            ("Status", Value::Hex(0xC000_006D)),
        ],
    );
    let Some(EventData::Security(e)) = to_event_data(&r) else {
        panic!()
    };
    assert_eq!(e.target.name.as_deref(), Some("svc-rpa"));
    assert_eq!(e.status, Some(0xC000_006D));
}

#[test]
fn values_convert_to_codes() {
    assert_eq!(Value::Int(-1_073_741_715).as_u32(), Some(0xC000_006D));
    assert_eq!(Value::Int(-5_000_000_000).as_u32(), None);
    assert_eq!(s("0xC000015B").as_u32(), Some(0xC000_015B));
    assert_eq!(s("text").as_u32(), None);
    assert!(
        crate::sources::aad::is_caa_family(0xCAA2_000C)
            && crate::sources::aad::is_caa_family(0x4AA9_0010)
    );
    assert!(
        !crate::sources::aad::is_caa_family(0xC000_006D)
            && !crate::sources::aad::is_caa_family(0x801C_03F2)
    );
}
