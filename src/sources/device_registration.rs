//! Microsoft-Windows-User Device Registration/Admin: Entra join and registration attempts and
//! their failures (exit codes such as 0x801c001d, server errors, the hybrid-join error phase).

use super::windows_event::{norm, RawEvent};
use super::Family;
use crate::codes;
use crate::model::Fields;
use regex::Regex;
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::LazyLock;

pub const CHANNEL: &str = "Microsoft-Windows-User Device Registration/Admin";

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceRegEvent {
    pub event_id: u32,
    pub level: Option<u8>,
    /// `Exit code` / first numeric error of the event (HRESULT such as 0x801c001d).
    pub exit_code: Option<u32>,
    pub server_error: Option<String>,
    /// `errorPhase` from 304 debug output, when present.
    pub error_phase: Option<String>,
    pub tenant_type: Option<String>,
    pub registration_type: Option<String>,
    /// Name/value pairs of the EventData, for display and rules.
    pub fields: Vec<(String, String)>,
}

pub struct DeviceRegistration;

impl Family for DeviceRegistration {
    type Payload = DeviceRegEvent;
    const NAME: &'static str = "udr";
    const SOURCE: &'static str = "device_registration";
    const FIELDS: &'static [&'static str] = &[
        "event_id",
        "level",
        "exit_code",
        "server_error",
        "error_phase",
        "tenant_type",
        "registration_type",
    ];
    const CHANNEL: Option<&'static str> = Some(CHANNEL);

    fn select(_provider: Option<&str>, _event_id: u32) -> bool {
        true
    }

    fn from_raw(raw: &RawEvent<'_>) -> Option<DeviceRegEvent> {
        Some(from_raw(raw))
    }

    fn kind(d: &DeviceRegEvent, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(d.event_id));
    }

    fn summary(d: &DeviceRegEvent, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(out, "Device registration {}", d.event_id);
        if let Some(c) = d.exit_code {
            let _ = write!(out, " exit code {}", codes::describe_hex(c));
        }
        if let Some(p) = &d.error_phase {
            let _ = write!(out, " phase {p}");
        }
        if let Some(s) = &d.server_error {
            let _ = write!(out, " server error {s}");
        }
    }

    fn facts(d: &DeviceRegEvent, f: &mut Fields) {
        f.push("event_id", d.event_id.to_string());
        f.push_opt("level", d.level.map(|l| l.to_string()));
        f.push_opt("exit_code", d.exit_code.map(codes::hex));
        f.push_opt("server_error", d.server_error.clone());
        f.push_opt("error_phase", d.error_phase.clone());
        f.push_opt("tenant_type", d.tenant_type.clone());
        f.push_opt("registration_type", d.registration_type.clone());
    }
}

static DEBUG_ERROR_PHASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\berror ?phase\b"?\s*[:=]\s*"?([A-Za-z0-9_-]+)"#).expect("static regex")
});
static DEBUG_TENANT_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\btenant ?type\b"?\s*[:=]\s*"?([A-Za-z0-9_-]+)"#).expect("static regex")
});
static DEBUG_REG_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bregistration ?type\b"?\s*[:=]\s*"?([A-Za-z0-9_-]+)"#).expect("static regex")
});
static EXIT_CODE_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:exit|error) ?code\s*[:=]\s*(0x[0-9a-f]{1,8}|-?[0-9]{1,10})\b")
        .expect("static regex")
});
static SERVER_ERROR_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)\bserver ?error(?: ?code)?\s*:\s*([^\r\n|]*[^\s|])").expect("static regex")
});

const DEVICE_REG_CODE_FIELDS: &[&str] = &[
    "exitcode",
    "errorcode",
    "hresult",
    "status",
    "result",
    "error",
    "returncode",
];

fn from_raw(raw: &RawEvent<'_>) -> DeviceRegEvent {
    let mut ev = DeviceRegEvent {
        event_id: raw.event_id,
        level: raw.level,
        ..DeviceRegEvent::default()
    };
    let mut hresult_like = None;
    for (i, (name, value)) in raw.data.iter().enumerate() {
        let n = norm(name);
        let text = value.text();
        let t = text.trim();
        let shown = if name.is_empty() {
            format!("%{}", i + 1)
        } else {
            name.to_string()
        };
        ev.fields.push((shown, t.to_string()));
        if DEVICE_REG_CODE_FIELDS.contains(&n.as_str()) && ev.exit_code.is_none() {
            ev.exit_code = value.as_u32();
        }
        if hresult_like.is_none() && (value.is_number() || t.starts_with("0x")) {
            hresult_like = value.as_u32().filter(|v| v & 0x8000_0000 != 0);
        }
        let useful = !t.is_empty() && t != "-";
        match n.as_str() {
            "servererror" | "servererrorcode" if useful => {
                ev.server_error.get_or_insert_with(|| t.to_string());
            }
            "errorphase" if useful => {
                ev.error_phase.get_or_insert_with(|| t.to_string());
            }
            "tenanttype" if useful => {
                ev.tenant_type.get_or_insert_with(|| t.to_string());
            }
            "registrationtype" if useful => {
                ev.registration_type.get_or_insert_with(|| t.to_string());
            }
            _ => {}
        }
    }
    if ev.exit_code.is_none() {
        ev.exit_code = hresult_like;
    }
    // 304/305 carry the same facts inside their message-like text ("Debug Output").
    for (_, value) in &raw.data {
        if value.is_number() {
            continue;
        }
        let s = value.text();
        let grab = |re: &Regex| re.captures(&s).map(|c| c[1].to_string());
        if ev.error_phase.is_none() {
            ev.error_phase = grab(&DEBUG_ERROR_PHASE);
        }
        if ev.tenant_type.is_none() {
            ev.tenant_type = grab(&DEBUG_TENANT_TYPE);
        }
        if ev.registration_type.is_none() {
            ev.registration_type = grab(&DEBUG_REG_TYPE);
        }
        if ev.exit_code.is_none() {
            ev.exit_code = grab(&EXIT_CODE_TEXT).and_then(|c| codes::parse_status(&c));
        }
        if ev.server_error.is_none() {
            ev.server_error = grab(&SERVER_ERROR_TEXT).filter(|s| s != "-");
        }
    }
    ev
}
