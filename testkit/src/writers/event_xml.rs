//! Event Viewer XML exports: events as `wevtutil qe <log> /f:RenderedXml` prints them, with the
//! rendering Event Viewer adds, saved by Windows PowerShell 5.1.

use super::{dotnet_time, encode, Enc};
use crate::evtx_writer::{EventSpec, Guid, Value};
use std::fmt::Write as _;

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn braced_upper(g: Guid) -> String {
    format!("{{{}}}", g.to_string().to_uppercase())
}

/// How the Windows event renderer prints a substitution value.
fn render_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) | Value::AnsiStr(s) | Value::Sid(s) => s.clone(),
        Value::U8(x) => x.to_string(),
        Value::U16(x) => x.to_string(),
        Value::U32(x) => x.to_string(),
        Value::U64(x) => x.to_string(),
        Value::I32(x) => x.to_string(),
        Value::HexU32(x) => format!("{x:#x}"),
        Value::HexU64(x) | Value::SizeT(x) => format!("{x:#x}"),
        Value::Bool(b) => b.to_string(),
        Value::Guid(g) => braced_upper(*g),
        Value::FileTime(t) | Value::SysTime(t) => dotnet_time(*t),
        Value::Binary(b) => b.iter().map(|x| format!("{x:02X}")).collect(),
    }
}

/// One event as `wevtutil /f:RenderedXml` prints it (single line, single-quoted attributes).
fn rendered_xml(e: &EventSpec, record_id: u64, message: &str, task: &str) -> String {
    let mut s = String::from(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
    );
    let _ = write!(s, "<Provider Name='{}'", xml_escape(&e.provider_name));
    if let Some(g) = e.provider_guid {
        let _ = write!(s, " Guid='{}'", braced_upper(g));
    }
    let level = match e.level {
        1 => "Critical",
        2 => "Error",
        3 => "Warning",
        _ => "Information",
    };
    let _ = write!(
        s,
        "/><EventID>{}</EventID><Version>{}</Version><Level>{}</Level><Task>{}</Task>\
         <Opcode>{}</Opcode><Keywords>{:#018x}</Keywords><TimeCreated SystemTime='{}'/>\
         <EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='{}' ThreadID='{}'/>\
         <Channel>{}</Channel><Computer>{}</Computer>",
        e.event_id,
        e.version,
        e.level,
        e.task,
        e.opcode,
        e.keywords,
        dotnet_time(e.time),
        record_id,
        e.process_id,
        e.thread_id,
        xml_escape(&e.channel),
        xml_escape(&e.computer),
    );
    match &e.user_sid {
        Some(sid) => {
            let _ = write!(s, "<Security UserID='{sid}'/>");
        }
        None => s.push_str("<Security/>"),
    }
    s.push_str("</System><EventData>");
    for (name, value) in &e.data {
        let _ = write!(
            s,
            "<Data Name='{}'>{}</Data>",
            xml_escape(name),
            xml_escape(&render_value(value))
        );
    }
    let _ = write!(
        s,
        "</EventData><RenderingInfo Culture='en-US'><Message>{}</Message><Level>{}</Level>\
         <Task>{}</Task><Opcode>Info</Opcode><Channel>Operational</Channel>\
         <Provider>Microsoft-Windows-AAD</Provider><Keywords><Keyword>Error</Keyword>\
         <Keyword>Error</Keyword></Keywords></RenderingInfo></Event>",
        xml_escape(message),
        level,
        xml_escape(task)
    );
    s
}

fn data_text(e: &EventSpec, name: &str) -> String {
    e.data
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| match v {
            Value::U32(x) => format!("{x:#010X}"),
            other => render_value(other),
        })
        .unwrap_or_default()
}

/// The message and task category Event Viewer shows for the AAD events the scenarios use.
fn aad_rendering(e: &EventSpec) -> (String, &'static str) {
    match e.event_id {
        1081 => (
            format!(
                "OAuth response error: {}\r\nError description: {}\r\nCorrelationID: {}\r\n",
                data_text(e, "Error"),
                data_text(e, "ErrorDescription"),
                data_text(e, "CorrelationID")
            ),
            "AadCloudAPPlugin Operation",
        ),
        1104 => (
            format!(
                "AAD Cloud AP plugin call {} returned error: {}",
                data_text(e, "API"),
                data_text(e, "Result")
            ),
            "AadCloudAPPlugin Operation",
        ),
        _ => (
            format!(
                "Error: {} {}\r\n{}",
                data_text(e, "Error"),
                data_text(e, "ErrorMessage"),
                data_text(e, "AdditionalInformation")
            ),
            "AadTokenBrokerPlugin Operation",
        ),
    }
}

/// An AAD/Operational export as `wevtutil qe Microsoft-Windows-AAD/Operational
/// /f:RenderedXml > AAD-Operational.xml` leaves it in Windows PowerShell 5.1: one event per
/// line, UTF-16LE with a BOM.
pub(crate) fn aad_xml_export(mut events: Vec<EventSpec>, first_id: u64) -> Vec<u8> {
    events.sort_by_key(|e| e.time);
    let mut text = String::new();
    for (i, e) in events.iter().enumerate() {
        let (message, task) = aad_rendering(e);
        text.push_str(&rendered_xml(e, first_id + i as u64, &message, task));
        text.push_str("\r\n");
    }
    encode(&text, Enc::Utf16Bom)
}
