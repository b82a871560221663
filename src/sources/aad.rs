//! Microsoft-Windows-AAD/Operational: the AAD token broker and Cloud AP plug-in's errors
//! (0xCAA… codes, NTSTATUS, OAuth errors, AADSTS numbers), with the user they were about.
//! Event ids and their fields vary over Windows builds, so the mapper reads fields by meaning
//! (any field named like an error code, a UPN, a correlation id), not by position.

use super::windows_event::{clean, norm, RawEvent};
use super::Family;
use crate::codes;
use crate::identity::Identity;
use crate::model::{Fields, UserScope};
use regex::Regex;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::LazyLock;

pub const CHANNEL: &str = "Microsoft-Windows-AAD/Operational";

#[derive(Debug, Clone, Default, Serialize)]
pub struct AadEvent {
    pub event_id: u32,
    /// Event level (1 critical, 2 error, 3 warning, 4 information).
    pub level: Option<u8>,
    /// The `Error` field of 1097/1098 and similar (a 0xCAA…/0x8AA… code, stored as u32).
    #[serde(serialize_with = "codes::as_hex::opt")]
    pub error_code: Option<u32>,
    /// Status/Result fields (NTSTATUS or HRESULT) of 1085/1094/1104/1025 and similar.
    #[serde(serialize_with = "codes::as_hex::opt")]
    pub status: Option<u32>,
    /// OAuth error name (`invalid_grant`) when the event carries one (1081, 1088, `Code:` lines).
    pub oauth_error: Option<String>,
    /// AADSTS numbers pulled from any text field.
    pub aadsts: Vec<u32>,
    /// The user SID from `System/Security/@UserID`, when present.
    pub user_sid: Option<String>,
    /// A UPN found in the text (`User Identity`, realm discovery).
    pub upn: Option<String>,
    pub correlation_id: Option<String>,
    /// The event's text fields joined for display (ErrorMessage, AdditionalInformation, ...).
    pub text: String,
}

pub struct Aad;

impl Family for Aad {
    type Payload = AadEvent;
    const NAME: &'static str = "aad";
    const SOURCE: &'static str = "aad";
    const FIELDS: &'static [&'static str] = &[
        "event_id",
        "level",
        "error_code",
        "status",
        "oauth_error",
        "aadsts",
        "code_any",
        "text",
    ];
    const USER_SCOPE: UserScope = UserScope::RunOrUnknown;
    const CHANNEL: Option<&'static str> = Some(CHANNEL);
    const NEEDS_USER_ID: bool = true;

    fn select(_provider: Option<&str>, _event_id: u32) -> bool {
        true
    }

    fn from_raw(raw: &RawEvent<'_>) -> Option<AadEvent> {
        Some(from_raw(raw))
    }

    fn kind(a: &AadEvent, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(a.event_id));
    }

    fn summary(a: &AadEvent, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(out, "AAD {}", a.event_id);
        if let Some(c) = a.error_code {
            let _ = write!(out, " error {}", codes::describe_hex(c));
        }
        if let Some(c) = a.status {
            let _ = write!(out, " status {}", codes::describe_hex(c));
        }
        if let Some(o) = &a.oauth_error {
            let _ = write!(out, " {o}");
        }
        for c in &a.aadsts {
            let _ = write!(out, " {}", codes::describe_aadsts(*c));
        }
        if let Some(u) = &a.upn {
            let _ = write!(out, " user {u}");
        }
        if a.error_code.is_none() && a.status.is_none() && a.aadsts.is_empty() {
            let _ = write!(out, ": {}", super::text::first_line(&a.text));
        }
    }

    fn user(a: &AadEvent) -> Option<Identity> {
        a.upn
            .as_deref()
            .and_then(Identity::parse)
            .or_else(|| a.user_sid.as_deref().and_then(Identity::parse))
    }

    fn facts(a: &AadEvent, f: &mut Fields) {
        f.push("event_id", a.event_id.to_string());
        f.push_opt("level", a.level.map(|l| l.to_string()));
        f.push_opt("error_code", a.error_code.map(codes::hex));
        f.push_opt("status", a.status.map(codes::hex));
        f.push_opt("oauth_error", a.oauth_error.clone());
        f.push_many("aadsts", a.aadsts.iter().map(|c| c.to_string()).collect());
        let any: Vec<String> = [a.error_code, a.status]
            .into_iter()
            .flatten()
            .map(codes::hex)
            .collect();
        f.push_many("code_any", any);
        f.push("text", a.text.clone());
    }
}

/// 0xCAA… (and 0x4AA…/0x8AA…) WAM/ADAL codes: facility bits 0xAA in the second and third nibble.
pub(crate) fn is_caa_family(v: u32) -> bool {
    (v >> 20) & 0xFF == 0xAA
}

static CODE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)Code:\s*([a-z][a-z_]*[a-z])\b").expect("static regex"));
static UPN_LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:user identity|upn|user ?name|login hint|logon user)\s*[:=]\s*([A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
    )
    .expect("static regex")
});
static UPN_ANY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
        .expect("static regex")
});
static CORRELATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)correlation\s*id\s*[:=]?\s*\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
        .expect("static regex")
});
static OAUTH_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z_]{2,63}$").expect("static regex"));

/// Names of AAD fields that carry a numeric code.
const AAD_CODE_FIELDS: &[&str] = &[
    "error",
    "errorcode",
    "result",
    "status",
    "value",
    "hresult",
    "statuscode",
    "code",
];

fn is_upn(s: &str) -> bool {
    UPN_ANY.find(s).is_some_and(|m| m.as_str() == s)
}

fn from_raw(raw: &RawEvent<'_>) -> AadEvent {
    let mut ev = AadEvent {
        event_id: raw.event_id,
        level: raw.level,
        user_sid: clean(raw.user_id.clone()),
        ..AadEvent::default()
    };
    let mut texts: Vec<String> = Vec::new();
    for (name, value) in &raw.data {
        let n = norm(name);
        let text = value.text();
        let t = text.trim();
        if AAD_CODE_FIELDS.contains(&n.as_str()) {
            if let Some(v) = value.as_u32() {
                if is_caa_family(v) {
                    ev.error_code.get_or_insert(v);
                } else if v & 0x8000_0000 != 0 {
                    ev.status.get_or_insert(v);
                }
                continue;
            }
            if OAUTH_WORD.is_match(t) {
                ev.oauth_error.get_or_insert_with(|| t.to_string());
            }
        }
        if n.contains("correlationid") && ev.correlation_id.is_none() {
            ev.correlation_id = clean(Some(Cow::Borrowed(t.trim_matches(['{', '}']))));
        }
        if matches!(
            n.as_str(),
            "useridentity" | "upn" | "username" | "user" | "userprincipalname" | "loginhint"
        ) && is_upn(t)
        {
            ev.upn.get_or_insert_with(|| t.to_string());
        }
        if !value.is_number() && !t.is_empty() && t != "-" && codes::parse_status(t).is_none() {
            texts.push(t.replace("\r\n", "\n"));
        }
    }
    let joined = texts.join(" | ");
    for t in &texts {
        for v in codes::find_aadsts(t) {
            if !ev.aadsts.contains(&v) {
                ev.aadsts.push(v);
            }
        }
    }
    if ev.oauth_error.is_none() {
        ev.oauth_error = CODE_LINE.captures(&joined).map(|c| c[1].to_string());
    }
    if ev.upn.is_none() {
        ev.upn = UPN_LABELLED
            .captures(&joined)
            .map(|c| c[1].to_string())
            .or_else(|| UPN_ANY.find(&joined).map(|m| m.as_str().to_string()));
    }
    if ev.correlation_id.is_none() {
        ev.correlation_id = CORRELATION.captures(&joined).map(|c| c[1].to_string());
    }
    ev.text = joined;
    ev
}
