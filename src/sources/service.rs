//! The System channel's Service Control Manager events about Power Automate's services
//! (`UIFlowService`, `UIFlowAgentLauncherService`) failing to start, stop or log on, with the
//! Win32 error (1069: the service account's logon failed).

use super::windows_event::{clean, RawEvent, Value};
use super::Family;
use crate::codes;
use crate::model::Fields;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write as _;

pub const CHANNEL: &str = "System";
pub const PROVIDER_SCM: &str = "Service Control Manager";

/// Service Control Manager events about a service failing to start, stop or log on. 7041 (the
/// service account lacks "Log on as a service") is included: it is the service-side twin of a
/// logon-right failure.
pub const EVENT_IDS: &[u32] = &[7000, 7009, 7011, 7022, 7023, 7024, 7031, 7034, 7038, 7041];

/// Names (lower case) that mark a System event as being about a Power Automate service.
const PA_SERVICE_MARKERS: &[&str] = &[
    "uiflowservice",
    "uiflowagentlauncherservice",
    "power automate",
];

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceEvent {
    pub event_id: u32,
    pub provider: Option<String>,
    /// The service the event is about (`UIFlowService`, ...).
    pub service: Option<String>,
    /// Win32 error number (7000/7038 carry 1069 for a logon failure).
    pub error_code: Option<u32>,
    pub text: String,
}

pub struct Scm;

impl Family for Scm {
    type Payload = ServiceEvent;
    const NAME: &'static str = "scm";
    const SOURCE: &'static str = "system";
    const FIELDS: &'static [&'static str] = &["event_id", "service", "error_code"];
    const CHANNEL: Option<&'static str> = Some(CHANNEL);
    const BY_PROVIDER: bool = true;

    fn select(provider: Option<&str>, event_id: u32) -> bool {
        provider.is_some_and(|p| p.eq_ignore_ascii_case(PROVIDER_SCM))
            && EVENT_IDS.contains(&event_id)
    }

    fn from_raw(raw: &RawEvent<'_>) -> Option<ServiceEvent> {
        from_raw(raw)
    }

    fn kind(s: &ServiceEvent, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(s.event_id));
    }

    fn summary(s: &ServiceEvent, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "Service Control Manager {} {}",
            s.event_id,
            s.service.as_deref().unwrap_or("-")
        );
        if let Some(c) = s.error_code {
            let _ = match codes::win32(c) {
                Some(i) => write!(out, " error {c} ({}: {})", i.name, i.meaning),
                None => write!(out, " error {c}"),
            };
        }
    }

    fn facts(s: &ServiceEvent, f: &mut Fields) {
        f.push("event_id", s.event_id.to_string());
        f.push_opt("service", s.service.clone());
        f.push_opt("error_code", s.error_code.map(|c| c.to_string()));
    }
}

/// The 1-based parameter that carries the error of each Service Control Manager event.
fn service_error_param(event_id: u32) -> Option<usize> {
    match event_id {
        7000 | 7023 | 7024 => Some(2),
        7038 => Some(3),
        _ => None,
    }
}

/// `%%1069` (an unresolved Win32 message insert) or a plain number.
fn win32_insert(s: &str) -> Option<u32> {
    let s = s.trim();
    let digits = s.strip_prefix("%%").unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn mentions_pa_service(s: &str) -> bool {
    let l = s.to_lowercase();
    PA_SERVICE_MARKERS.iter().any(|m| l.contains(m))
}

fn from_raw(raw: &RawEvent<'_>) -> Option<ServiceEvent> {
    let values: Vec<Cow<'_, str>> = raw.data.iter().map(|(_, v)| v.text()).collect();
    let text = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    if !mentions_pa_service(&text) {
        return None;
    }
    let service = values
        .iter()
        .map(|v| v.trim())
        .find(|v| mentions_pa_service(v))
        .map(str::to_string)
        .or_else(|| clean(raw.param(1).map(Value::text)));
    let error_code = if raw.event_id == 7041 {
        // 7041 has no error parameter: its message is ERROR_LOGON_TYPE_NOT_GRANTED's text.
        Some(1385)
    } else {
        service_error_param(raw.event_id).and_then(|n| {
            let v = raw.param(n)?;
            match v {
                Value::Str(_) | Value::Utf16(_) => win32_insert(&v.text()),
                _ => v.as_u32(),
            }
        })
    };
    Some(ServiceEvent {
        event_id: raw.event_id,
        provider: clean(raw.provider.clone()),
        service,
        error_code,
        text,
    })
}
