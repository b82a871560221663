//! The portal's run records: a failed run's error body, and flow-session exports (the Dataverse
//! Web API answer and the runs view's CSV).

use super::{encode, guid_str, Enc};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt::Write as _;

/// The action's raw outputs the run page shows for a failed run ("Show raw outputs"): status,
/// response headers (their `Date` is when the service answered) and the error body, indented by
/// two, CRLF line ends.
pub(crate) fn portal_outputs(code: &str, status: i32, answered: DateTime<Utc>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Outputs<'a> {
        #[serde(rename = "statusCode")]
        status_code: u16,
        headers: Headers,
        body: Body<'a>,
    }
    #[derive(Serialize)]
    struct Headers {
        #[serde(rename = "Cache-Control")]
        cache_control: &'static str,
        #[serde(rename = "x-ms-request-id")]
        request_id: String,
        #[serde(rename = "Date")]
        date: String,
        #[serde(rename = "Content-Type")]
        content_type: &'static str,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        error: Error<'a>,
    }
    #[derive(Serialize)]
    struct Error<'a> {
        code: &'a str,
        message: String,
    }
    let outputs = Outputs {
        status_code: 400,
        headers: Headers {
            cache_control: "no-cache",
            request_id: guid_str(&format!("request {code} {status}")),
            date: answered.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            content_type: "application/json; charset=utf-8",
        },
        body: Body {
            error: Error {
                code,
                message: format!(
                    "The credentials provided with the request are invalid. Logon failed with error {status}."
                ),
            },
        },
    };
    let text = serde_json::to_string_pretty(&outputs)
        .unwrap_or_else(|e| panic!("portal outputs do not serialise: {e}"));
    let mut text = text.replace('\n', "\r\n");
    text.push_str("\r\n");
    text.into_bytes()
}

/// One `flowsession` row of an export.
pub(crate) struct SessionRow<'a> {
    pub(crate) started: DateTime<Utc>,
    pub(crate) completed: DateTime<Utc>,
    /// `None` = succeeded.
    pub(crate) error: Option<(&'a str, String)>,
    pub(crate) user: Option<&'a str>,
    pub(crate) correlation: String,
}

/// A Dataverse Web API answer (`GET flowsessions?$select=...`), as saved from a browser.
pub(crate) fn flowsessions_json(flow: &str, machine: &str, rows: &[SessionRow<'_>]) -> Vec<u8> {
    // Field order is key order, as Dataverse writes them.
    #[derive(Serialize)]
    struct Answer<'a> {
        #[serde(rename = "@odata.context")]
        context: &'static str,
        value: Vec<Session<'a>>,
    }
    #[derive(Serialize)]
    struct Session<'a> {
        #[serde(rename = "@odata.etag")]
        etag: String,
        flowsessionid: String,
        name: &'a str,
        statuscode: u32,
        #[serde(rename = "statuscode@OData.Community.Display.V1.FormattedValue")]
        statuscode_label: &'static str,
        errorcode: Option<&'a str>,
        errormessage: Option<&'a str>,
        startedon: String,
        completedon: String,
        runmode: u32,
        #[serde(rename = "runmode@OData.Community.Display.V1.FormattedValue")]
        runmode_label: &'static str,
        sessionusername: Option<&'a str>,
        correlationid: &'a str,
        #[serde(rename = "_machineid_value")]
        machineid: String,
        #[serde(rename = "_machineid_value@OData.Community.Display.V1.FormattedValue")]
        machineid_label: &'a str,
    }
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let value = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (statuscode, statuscode_label) = if r.error.is_some() {
                (8, "Failed")
            } else {
                (4, "Succeeded")
            };
            Session {
                etag: format!("W/\"{}\"", 5_110_231 + i * 146),
                flowsessionid: guid_str(&format!("flowsession/{}", r.correlation)),
                name: flow,
                statuscode,
                statuscode_label,
                errorcode: r.error.as_ref().map(|e| e.0),
                errormessage: r.error.as_ref().map(|e| e.1.as_str()),
                startedon: fmt(r.started),
                completedon: fmt(r.completed),
                runmode: 2,
                runmode_label: "Unattended",
                sessionusername: r.user,
                correlationid: &r.correlation,
                machineid: guid_str(&format!("machine/{machine}")),
                machineid_label: machine,
            }
        })
        .collect();
    let answer = Answer {
        context: "https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#flowsessions(flowsessionid,name,statuscode,errorcode,errormessage,startedon,completedon,runmode,sessionusername,correlationid,_machineid_value)",
        value,
    };
    serde_json::to_vec(&answer).unwrap_or_else(|e| panic!("flow sessions do not serialise: {e}"))
}

/// An Excel-style CSV export from the Desktop flow runs view: display-name headers, US dates in
/// the exporter's (UTC) zone, CRLF, UTF-8 with a BOM.
pub(crate) fn flowsessions_csv(flow: &str, machine: &str, rows: &[SessionRow<'_>]) -> Vec<u8> {
    let mut s = String::from(
        "Desktop flow session,Name,Status Reason,Error Code,Error Message,Started On,Completed On,Run Mode,Session Username,Flow Machine,Correlation Id\r\n",
    );
    let us = |t: DateTime<Utc>| t.format("%-m/%-d/%Y %-I:%M:%S %p").to_string();
    for r in rows {
        let (status, code, msg) = match &r.error {
            Some((c, m)) => (
                "Failed",
                c.to_string(),
                format!("\"{}\"", m.replace('"', "\"\"")),
            ),
            None => ("Succeeded", String::new(), String::new()),
        };
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},Unattended,{},{},{}\r\n",
            guid_str(&format!("flowsession/{}", r.correlation)),
            flow,
            status,
            code,
            msg,
            us(r.started),
            us(r.completed),
            r.user.unwrap_or(""),
            machine,
            r.correlation
        );
    }
    encode(&s, Enc::Utf8Bom)
}
