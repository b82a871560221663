//! Microsoft-Windows-TerminalServices-LocalSessionManager/Operational: Windows sessions being
//! logged on (21), getting their shell (22), logged off (23), disconnected (24, and 39/40 with
//! who or why) and reconnected (25), with the user, the session id and where the session came
//! from (`LOCAL` or a client address). An unattended desktop-flow run logs its user on through
//! such a session, so these show whether and when the connection's account got a session.
//!
//! The fields sit in `UserData/EventXML` (`User`, `SessionID`, `Address`; `TargetSession`,
//! `Source`; `Session`, `Reason`). Which ids carry which fields is read from Windows' event
//! manifest as published in event catalogs [I]; the mapper reads any of them wherever present.

use super::windows_event::{clean, RawEvent};
use super::Family;
use crate::identity::Identity;
use crate::model::{Fields, UserScope};
use serde::Serialize;
use std::fmt::Write as _;

pub const CHANNEL: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";

/// Session events read: logon, shell start, logoff, disconnect, reconnect, disconnected by
/// another session, disconnected with a reason code.
pub const EVENT_IDS: &[u32] = &[21, 22, 23, 24, 25, 39, 40];

/// One session event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionEvent {
    pub event_id: u32,
    /// The account as the event writes it (`CONTOSO\jdoe`, `AzureAD\JohnDoe`).
    pub user: Option<String>,
    pub session_id: Option<u32>,
    /// `LOCAL` for a console session, else the client's address.
    pub address: Option<String>,
    /// 39: the session that disconnected this one.
    pub source_session: Option<u32>,
    /// 40: the disconnect reason code.
    pub reason: Option<u32>,
}

impl SessionEvent {
    /// What happened to the session, as a word (`logon`, `disconnect`).
    pub fn action(&self) -> &'static str {
        match self.event_id {
            21 => "logon",
            22 => "shell_start",
            23 => "logoff",
            24 | 39 | 40 => "disconnect",
            25 => "reconnect",
            _ => "other",
        }
    }

    /// The session came from this machine (console or loopback), not over the network.
    pub fn is_local(&self) -> Option<bool> {
        self.address.as_deref().map(|a| {
            a.eq_ignore_ascii_case("LOCAL")
                || super::security::is_local_ip(a.trim_matches(['[', ']']))
        })
    }
}

pub struct TerminalServices;

impl Family for TerminalServices {
    type Payload = SessionEvent;
    const NAME: &'static str = "session";
    const SOURCE: &'static str = "terminal_services";
    const FIELDS: &'static [&'static str] = &[
        "event_id",
        "action",
        "session_id",
        "address",
        "address_local",
        "reason",
    ];
    const USER_SCOPE: UserScope = UserScope::Run;
    const CHANNEL: Option<&'static str> = Some(CHANNEL);

    fn select(_provider: Option<&str>, event_id: u32) -> bool {
        EVENT_IDS.contains(&event_id)
    }

    fn from_raw(raw: &RawEvent<'_>) -> Option<SessionEvent> {
        let text = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| clean(raw.get(n).map(|v| v.text())))
        };
        let number = |names: &[&str]| names.iter().find_map(|n| raw.get(n)?.as_u32());
        Some(SessionEvent {
            event_id: raw.event_id,
            user: text(&["User", "UserName"]),
            session_id: number(&["SessionID", "SessionId", "Session", "TargetSession"]),
            address: text(&["Address", "SourceNetworkAddress"]),
            source_session: number(&["Source"]).filter(|_| raw.event_id == 39),
            reason: number(&["Reason"]),
        })
    }

    fn kind(s: &SessionEvent, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(s.event_id));
    }

    fn summary(s: &SessionEvent, out: &mut String) {
        let what = match s.event_id {
            21 => "Session logon succeeded",
            22 => "Session shell started",
            23 => "Session logoff succeeded",
            24 => "Session disconnected",
            25 => "Session reconnected",
            39 => "Session disconnected by another session",
            40 => "Session disconnected",
            _ => "Session event",
        };
        // Writing to a String cannot fail.
        let _ = write!(out, "{what} ({})", s.event_id);
        if let Some(u) = &s.user {
            let _ = write!(out, " {u}");
        }
        if let Some(id) = s.session_id {
            let _ = write!(out, " session {id}");
        }
        if let Some(a) = &s.address {
            let _ = write!(out, " from {a}");
        }
        if let Some(src) = s.source_session {
            let _ = write!(out, " by session {src}");
        }
        if let Some(r) = s.reason {
            let _ = write!(out, " reason {r}");
        }
    }

    fn user(s: &SessionEvent) -> Option<Identity> {
        s.user.as_deref().and_then(Identity::parse)
    }

    fn foreign(s: &SessionEvent, _machine: Option<&str>) -> Option<String> {
        (s.is_local() == Some(false)).then(|| {
            format!(
                "a session from another host ({})",
                s.address.as_deref().unwrap_or_default()
            )
        })
    }

    fn facts(s: &SessionEvent, f: &mut Fields) {
        f.push("event_id", s.event_id.to_string());
        f.push("action", s.action());
        f.push_opt("session_id", s.session_id.map(|v| v.to_string()));
        f.push_opt("address", s.address.clone());
        f.push_opt("address_local", s.is_local().map(Fields::yes_no));
        f.push_opt("reason", s.reason.map(|v| v.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::windows_event::Value;
    use crate::sources::EventData;
    use chrono::TimeZone;
    use std::borrow::Cow;

    fn raw<'a>(id: u32, data: &[(&'a str, &'a str)]) -> RawEvent<'a> {
        RawEvent {
            provider: Some(Cow::Borrowed(
                "Microsoft-Windows-TerminalServices-LocalSessionManager",
            )),
            channel: Some(Cow::Borrowed(CHANNEL)),
            event_id: id,
            level: Some(4),
            computer: Some(Cow::Borrowed("RPA-VM01.contoso.com")),
            user_id: Some(Cow::Borrowed("S-1-5-18")),
            record_id: Some(7),
            time: chrono::Utc.with_ymd_and_hms(2025, 6, 2, 13, 17, 5).unwrap(),
            time_basis: crate::model::TimeBasis::Utc,
            data: data
                .iter()
                .map(|(n, v)| (Cow::Borrowed(*n), Value::Str(Cow::Borrowed(*v))))
                .collect(),
        }
    }

    fn session(r: &RawEvent<'_>) -> SessionEvent {
        match crate::sources::registry::from_windows_event(r) {
            Some(EventData::TerminalSession(s)) => s,
            other => panic!("not a session event: {other:?}"),
        }
    }

    #[test]
    fn logon_disconnect_and_reconnect_are_read_with_user_session_and_address() {
        let r = raw(
            21,
            &[
                ("User", "CONTOSO\\jdoe"),
                ("SessionID", "2"),
                ("Address", "LOCAL"),
            ],
        );
        let s = session(&r);
        assert_eq!(s.user.as_deref(), Some("CONTOSO\\jdoe"));
        assert_eq!(s.session_id, Some(2));
        assert_eq!(s.is_local(), Some(true));
        let ev = crate::sources::Event {
            time: r.time,
            time_basis: crate::model::TimeBasis::Utc,
            machine: None,
            source: crate::model::SourceRef {
                file: "LSM.evtx".into(),
                loc: crate::model::Loc::Record(7),
            },
            data: EventData::TerminalSession(s),
        };
        assert_eq!(ev.kind(), "session.21");
        assert_eq!(
            ev.summary(),
            "Session logon succeeded (21) CONTOSO\\jdoe session 2 from LOCAL"
        );
        assert!(ev.user().is_some_and(|u| u.user == "jdoe"));
        let f = ev.data.facts();
        assert_eq!(f.get("action").map(|v| v.values[0].as_str()), Some("logon"));
        assert_eq!(
            f.get("address_local").map(|v| v.values[0].as_str()),
            Some("yes")
        );

        let s = session(&raw(
            24,
            &[
                ("User", "AzureAD\\JohnDoe"),
                ("SessionID", "3"),
                ("Address", "203.0.113.7"),
            ],
        ));
        assert_eq!((s.action(), s.is_local()), ("disconnect", Some(false)));
        let s = session(&raw(40, &[("Session", "3"), ("Reason", "12")]));
        assert_eq!((s.session_id, s.reason, s.user), (Some(3), Some(12), None));
        let s = session(&raw(39, &[("TargetSession", "3"), ("Source", "5")]));
        assert_eq!((s.session_id, s.source_session), (Some(3), Some(5)));
    }

    #[test]
    fn other_ids_of_the_channel_are_not_kept() {
        assert!(crate::sources::registry::from_windows_event(&raw(41, &[])).is_none());
        assert!(
            crate::sources::registry::select(&CHANNEL.to_ascii_lowercase(), None, 25).is_some()
        );
    }
}
