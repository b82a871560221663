//! Facts: the flat, rule-facing view of evidence. Each event, the run itself and each dsregcmd
//! snapshot become a [`Fact`]: a kind (`security.4625`, `run`, `dsregcmd`), named values, the
//! account it is about, and a citation. Rules in `rules/*.toml` match on these names only, so
//! the names below are the rule language's vocabulary (`known_fields`).

use super::runs::Run;
use crate::codes;
use crate::identity::{parse_alias_list, Identity};
use crate::model::{DsregSnapshot, Event, EventData, JoinState, Loc, Time};
use crate::timeline::{event_user, kind_of, summary};
use serde::Serialize;

/// A pointer to the evidence behind a finding: file, record/line, time, and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct Cite {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    pub time: Option<Time>,
    pub kind: String,
    pub text: String,
}

impl Cite {
    pub fn from_event(ev: &Event) -> Cite {
        let (record, line, row) = match ev.source.loc {
            Loc::Record(r) => (Some(r), None, None),
            Loc::Line(l) => (None, Some(l), None),
            Loc::Row(r) => (None, None, Some(r)),
        };
        Cite {
            file: ev.source.file.to_string(),
            record,
            line,
            row,
            time: Some(ev.time),
            kind: kind_of(ev),
            text: summary(ev),
        }
    }

    /// `Security.evtx record 4711` / `dsregcmd.txt line 12`.
    pub fn location(&self) -> String {
        if let Some(r) = self.record {
            format!("{} record {r}", self.file)
        } else if let Some(l) = self.line {
            format!("{} line {l}", self.file)
        } else if let Some(r) = self.row {
            format!("{} row {r}", self.file)
        } else {
            self.file.clone()
        }
    }
}

/// One named value of a fact, with the dsregcmd line it came from where that applies.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub values: Vec<String>,
    pub line: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Fact {
    pub kind: String,
    pub time: Option<Time>,
    pub user: Option<Identity>,
    pub fields: Vec<Field>,
    pub cite: Cite,
}

impl Fact {
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn push(&mut self, name: &'static str, v: impl Into<String>) {
        self.fields.push(Field {
            name,
            values: vec![v.into()],
            line: None,
        });
    }

    fn push_opt(&mut self, name: &'static str, v: Option<impl Into<String>>) {
        if let Some(v) = v {
            self.push(name, v);
        }
    }

    fn push_many(&mut self, name: &'static str, vs: Vec<String>) {
        if !vs.is_empty() {
            self.fields.push(Field {
                name,
                values: vs,
                line: None,
            });
        }
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// The fact families and the field names rules may use for each.
pub fn known_fields(kind: &str) -> Option<&'static [&'static str]> {
    let family = kind.split('.').next().unwrap_or(kind);
    Some(match family {
        "run" if kind == "run" => &[
            "error_code",
            "ntstatus",
            "user_form",
            "user_basis",
            "machine",
        ],
        "security" => &[
            "event_id",
            "status",
            "sub_status",
            "status_any",
            "logon_type",
            "logon_process",
            "auth_package",
            "process_name",
            "ip",
            "ip_local",
            "target_domain",
            "workstation",
            "failure_reason",
        ],
        "aad" => &[
            "event_id",
            "level",
            "error_code",
            "status",
            "oauth_error",
            "aadsts",
            "code_any",
            "text",
        ],
        "udr" => &[
            "event_id",
            "level",
            "exit_code",
            "server_error",
            "error_phase",
            "tenant_type",
            "registration_type",
        ],
        "scm" => &["event_id", "service", "error_code"],
        "pad" => &[
            "level",
            "component",
            "error_codes",
            "ntstatus",
            "is_aad_joined",
            "is_domain_joined",
            "text",
        ],
        "dsregcmd" => &[
            "join_state",
            "azure_ad_joined",
            "domain_joined",
            "enterprise_joined",
            "workplace_joined",
            "device_auth_status",
            "azure_ad_prt",
            "prt_age_hours",
            "prt_expired",
            "enterprise_prt",
            "enterprise_prt_authority",
            "prt_attempt_status",
            "prt_aadsts",
            "prt_server_error_code",
            "prt_http_error",
            "prt_user_match",
            "executing_account_match",
            "user_context",
            "error_phase",
            "client_error_code",
            "server_error_code",
            "ngc_set",
            "is_user_azure_ad",
            "hours_after_run",
        ],
        "run" => &["error_code", "ntstatus"],
        _ => return None,
    })
}

/// Kinds a rule may name: exact (`security.4625`), a family wildcard (`aad.*`), `run`,
/// `dsregcmd`.
pub fn valid_kind(kind: &str) -> bool {
    if kind == "run" || kind == "dsregcmd" {
        return true;
    }
    match kind.split_once('.') {
        Some((fam, rest)) => {
            known_fields(fam).is_some()
                && fam != "dsregcmd"
                && (rest == "*" || rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                && !rest.is_empty()
        }
        None => false,
    }
}

/// Does a fact kind match a rule's `in` pattern?
pub fn kind_matches(pattern: &str, kind: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(fam) => kind.split('.').next() == Some(fam) && kind.contains('.'),
        None => pattern == kind,
    }
}

fn is_local_ip(ip: &str) -> bool {
    matches!(
        ip.trim(),
        "" | "-" | "127.0.0.1" | "::1" | "0:0:0:0:0:0:0:1" | "localhost"
    )
}

/// The fact for one event.
pub fn from_event(ev: &Event) -> Fact {
    let mut f = Fact {
        kind: kind_of(ev),
        time: Some(ev.time),
        user: event_user(ev),
        fields: Vec::new(),
        cite: Cite::from_event(ev),
    };
    match &ev.data {
        EventData::Security(s) => {
            f.push("event_id", s.event_id.to_string());
            f.push_opt("status", s.status.map(codes::hex));
            f.push_opt("sub_status", s.sub_status.map(codes::hex));
            let any: Vec<String> = [s.status, s.sub_status]
                .into_iter()
                .flatten()
                .filter(|c| *c != 0)
                .map(codes::hex)
                .collect();
            f.push_many("status_any", any);
            f.push_opt("logon_type", s.logon_type.map(|t| t.to_string()));
            f.push_opt("logon_process", s.logon_process.clone());
            f.push_opt("auth_package", s.auth_package.clone());
            f.push_opt("process_name", s.process_name.clone());
            f.push_opt("ip", s.ip_address.clone());
            f.push(
                "ip_local",
                yes_no(s.ip_address.as_deref().is_none_or(is_local_ip)),
            );
            f.push_opt("target_domain", s.target.domain.clone());
            f.push_opt("workstation", s.workstation.clone());
            f.push_opt("failure_reason", s.failure_reason.clone());
        }
        EventData::Aad(a) => {
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
        EventData::DeviceRegistration(d) => {
            f.push("event_id", d.event_id.to_string());
            f.push_opt("level", d.level.map(|l| l.to_string()));
            f.push_opt("exit_code", d.exit_code.map(codes::hex));
            f.push_opt("server_error", d.server_error.clone());
            f.push_opt("error_phase", d.error_phase.clone());
            f.push_opt("tenant_type", d.tenant_type.clone());
            f.push_opt("registration_type", d.registration_type.clone());
        }
        EventData::Service(s) => {
            f.push("event_id", s.event_id.to_string());
            f.push_opt("service", s.service.clone());
            f.push_opt("error_code", s.error_code.map(|c| c.to_string()));
        }
        EventData::PadLog(p) => {
            f.push_opt(
                "level",
                p.level.map(|l| format!("{l:?}").to_ascii_lowercase()),
            );
            f.push_opt("component", p.component.clone());
            f.push_many("error_codes", p.error_codes.clone());
            f.push_many(
                "ntstatus",
                p.ntstatus.iter().map(|c| codes::hex(*c)).collect(),
            );
            f.push_opt("is_aad_joined", p.is_aad_joined.map(yes_no));
            f.push_opt("is_domain_joined", p.is_domain_joined.map(yes_no));
            f.push("text", p.message.clone());
        }
        EventData::RunRecord(r) => {
            f.push_opt("error_code", r.error_code.clone());
            f.push_many(
                "ntstatus",
                r.ntstatus.iter().map(|c| codes::hex(*c)).collect(),
            );
        }
    }
    f
}

/// The fact for the run itself: its error code, NTSTATUS detail and the user-name form.
pub fn from_run(run: &Run) -> Fact {
    let mut f = Fact {
        kind: "run".into(),
        time: Some(run.time),
        user: run.user.as_ref().and_then(|u| u.primary().cloned()),
        fields: Vec::new(),
        cite: run.sources.first().cloned().unwrap_or_else(|| Cite {
            file: "(command line)".into(),
            record: None,
            line: None,
            row: None,
            time: Some(run.time),
            kind: "run".into(),
            text: format!("run given with --at {}", run.time.to_rfc3339()),
        }),
    };
    f.push("error_code", run.error_code.clone());
    f.push_many(
        "ntstatus",
        run.ntstatus.iter().map(|c| codes::hex(*c)).collect(),
    );
    if let Some(u) = run.user.as_ref().and_then(|u| u.primary()) {
        let form = format!("{:?}", u.form);
        f.push("user_form", to_snake(&form));
    }
    f.push("user_basis", run.user_basis.as_str().to_string());
    f.push_opt("machine", run.machine.clone());
    f
}

fn to_snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn join_state_name(j: JoinState) -> &'static str {
    match j {
        JoinState::EntraJoined => "entra_joined",
        JoinState::HybridJoined => "hybrid_joined",
        JoinState::DomainOnly => "domain_only",
        JoinState::RegisteredOnly => "registered_only",
        JoinState::EnterpriseJoined => "enterprise_joined",
        JoinState::NotJoined => "not_joined",
        JoinState::Unknown => "unknown",
    }
}

/// How an account named in the snapshot relates to the run's user.
fn account_match(run: &Run, text: Option<&str>) -> &'static str {
    let Some(text) = text else {
        return "unknown";
    };
    let aliases = parse_alias_list(text);
    if aliases.iter().any(|a| a.is_machine_or_service()) {
        return "system";
    }
    match &run.user {
        None => "unknown",
        Some(set) if aliases.iter().any(|a| set.matches(a)) => "run",
        Some(_) if aliases.is_empty() => "unknown",
        Some(_) => "other",
    }
}

/// The fact for a dsregcmd snapshot, seen from one run (ages are relative to the run time).
pub fn from_snapshot(s: &DsregSnapshot, run: &Run) -> Fact {
    let line = |key: &str| s.field(key).map(|f| f.line);
    let mut f = Fact {
        kind: "dsregcmd".into(),
        time: s.taken_at,
        user: None,
        fields: Vec::new(),
        cite: Cite {
            file: s.source.file.to_string(),
            record: None,
            line: None,
            row: None,
            time: s.taken_at,
            kind: "dsregcmd".into(),
            text: String::new(),
        },
    };
    let mut add = |name: &'static str, v: Option<String>, key: &str| {
        if let Some(v) = v {
            f.fields.push(Field {
                name,
                values: vec![v],
                line: line(key),
            });
        }
    };
    add(
        "join_state",
        Some(join_state_name(s.join_state).to_string()),
        "AzureAdJoined",
    );
    add(
        "azure_ad_joined",
        s.azure_ad_joined.map(yes_no),
        "AzureAdJoined",
    );
    add("domain_joined", s.domain_joined.map(yes_no), "DomainJoined");
    add(
        "enterprise_joined",
        s.enterprise_joined.map(yes_no),
        "EnterpriseJoined",
    );
    add(
        "workplace_joined",
        s.workplace_joined.map(yes_no),
        "WorkplaceJoined",
    );
    add(
        "device_auth_status",
        s.device_auth_status.clone(),
        "DeviceAuthStatus",
    );
    add("azure_ad_prt", s.azure_ad_prt.map(yes_no), "AzureAdPrt");
    add(
        "prt_age_hours",
        s.prt_update_time
            .map(|u| format!("{:.1}", (run.time - u).num_minutes() as f64 / 60.0)),
        "AzureAdPrtUpdateTime",
    );
    add(
        "prt_expired",
        s.prt_expiry_time.map(|e| yes_no(e < run.time)),
        "AzureAdPrtExpiryTime",
    );
    add(
        "enterprise_prt",
        s.enterprise_prt.map(yes_no),
        "EnterprisePrt",
    );
    add(
        "enterprise_prt_authority",
        s.enterprise_prt_authority.clone().filter(|a| !a.is_empty()),
        "EnterprisePrtAuthority",
    );
    if let Some(e) = &s.prt_error {
        add(
            "prt_attempt_status",
            e.attempt_status.map(codes::hex),
            "Attempt Status",
        );
        add(
            "prt_aadsts",
            e.aadsts.map(|c| c.to_string()),
            "Server Error Description",
        );
        add(
            "prt_server_error_code",
            e.server_error_code.clone(),
            "Server Error Code",
        );
        add("prt_http_error", e.http_error.map(codes::hex), "HTTP Error");
        add(
            "prt_user_match",
            Some(account_match(run, e.user_identity.as_deref()).to_string()),
            "User Identity",
        );
    }
    add(
        "executing_account_match",
        Some(account_match(run, s.executing_account.as_deref()).to_string()),
        "Executing Account Name",
    );
    add("user_context", s.user_context.clone(), "User Context");
    add("error_phase", s.error_phase.clone(), "Error Phase");
    add(
        "client_error_code",
        s.client_error_code.map(codes::hex),
        "Client ErrorCode",
    );
    add(
        "server_error_code",
        s.server_error_code.clone(),
        "Server ErrorCode",
    );
    add("ngc_set", s.ngc_set.map(yes_no), "NgcSet");
    add(
        "is_user_azure_ad",
        s.is_user_azure_ad.map(yes_no),
        "IsUserAzureAD",
    );
    add(
        "hours_after_run",
        s.taken_at
            .map(|t| format!("{:.1}", (t - run.time).num_minutes() as f64 / 60.0)),
        "Client Time",
    );
    f
}
