//! Facts: the flat, rule-facing view of evidence. Each event, the run itself and each dsregcmd
//! snapshot become a [`Fact`]: a kind (`security.4625`, `run`, `dsregcmd`), named values, the
//! account it is about, and a citation. Rules in `rules/*.toml` match on these names only, so
//! the names below are the rule language's vocabulary (`known_fields`).

use super::runs::Run;
use super::snapshots::Standing;
use crate::codes;
use crate::identity::{host_key, parse_alias_list, Form, Identity, Match};
pub use crate::model::{Field, Fields};
use crate::model::{Loc, Time};
use crate::sources::dsregcmd::DsregSnapshot;
use crate::sources::{registry, Event};
use serde::{Deserialize, Serialize};

/// A pointer to the evidence behind a finding: file, record/line, time, and what it says.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The record's id within the analysis (`r1-3`: run 1, third record cited), the same
    /// wherever the record is cited; set by the report, which links citations by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
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
            kind: ev.kind(),
            text: ev.summary(),
            id: None,
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

/// One piece of evidence as rules see it.
#[derive(Debug, Clone)]
pub struct Fact {
    pub kind: String,
    pub time: Option<Time>,
    pub user: Option<Identity>,
    pub fields: Fields,
    pub cite: Cite,
    /// How far it speaks for the run (dsregcmd dumps: see `snapshots`; all else is current).
    pub standing: Standing,
}

impl Fact {
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.get(name)
    }
}

/// The run's own fact (`in = "run"`).
const RUN_FIELDS: &[&str] = &[
    "error_code",
    "ntstatus",
    "user_form",
    "user_basis",
    "machine",
];

/// A dsregcmd snapshot's fact, seen from one run (`in = "dsregcmd"`).
const DSREG_FIELDS: &[&str] = &[
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
];

/// The field names rules may use for a fact kind: the run's, a dsregcmd snapshot's, or those of
/// the evidence family the kind names (from the sources' registry).
pub fn known_fields(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "run" => Some(RUN_FIELDS),
        "dsregcmd" => Some(DSREG_FIELDS),
        _ => registry::family_named(kind.split('.').next().unwrap_or(kind)).map(|f| f.fields()),
    }
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

/// The fact for one event.
pub fn from_event(ev: &Event) -> Fact {
    Fact {
        kind: ev.kind(),
        time: Some(ev.time),
        user: ev.user(),
        fields: ev.data.facts(),
        cite: Cite::from_event(ev),
        standing: Standing::Current,
    }
}

/// The fact for the run itself: its error code, NTSTATUS detail and the user-name form.
pub fn from_run(run: &Run) -> Fact {
    let mut f = Fact {
        kind: "run".into(),
        time: Some(run.time),
        user: run.user.as_ref().and_then(|u| u.primary().cloned()),
        fields: Fields::new(RUN_FIELDS),
        cite: run.sources.first().cloned().unwrap_or_else(|| Cite {
            file: "(command line)".into(),
            record: None,
            line: None,
            row: None,
            time: Some(run.time),
            kind: "run".into(),
            text: format!("run given with --at {}", run.time.to_rfc3339()),
            id: None,
        }),
        standing: Standing::Current,
    };
    let fields = &mut f.fields;
    fields.push("error_code", run.error_code.clone());
    fields.push_many(
        "ntstatus",
        run.ntstatus.iter().map(|c| codes::hex(*c)).collect(),
    );
    if let Some(u) = run.user.as_ref().and_then(|u| u.primary()) {
        // `MACHINE\user` on that machine is a local account, the form KB 5021155 supports.
        let local = u.form == Form::DomainUser
            && run.host.is_some()
            && u.domain.as_deref().and_then(host_key) == run.host;
        fields.push("user_form", if local { "local" } else { u.form.as_str() });
    }
    fields.push("user_basis", run.user_basis.as_str());
    fields.push_opt("machine", run.machine.clone());
    f
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
    let Some(set) = &run.user else {
        return "unknown";
    };
    // The best any alias shows: the account that ran it is the connection's only when shown.
    match aliases
        .iter()
        .map(|a| set.compare(a, run.host.as_deref()))
        .max()
    {
        Some(Match::Same) => "run",
        Some(Match::Different) => "other",
        _ => "unknown",
    }
}

/// The fact for a dsregcmd snapshot, seen from one run (ages are relative to the run time).
pub fn from_snapshot(s: &DsregSnapshot, run: &Run, standing: Standing) -> Fact {
    let line = |key: &str| s.field(key).map(|f| f.line);
    let mut f = Fact {
        kind: "dsregcmd".into(),
        time: s.taken_at,
        user: None,
        fields: Fields::new(DSREG_FIELDS),
        cite: Cite {
            file: s.source.file.to_string(),
            record: None,
            line: None,
            row: None,
            time: s.taken_at,
            kind: "dsregcmd".into(),
            text: String::new(),
            id: None,
        },
        standing,
    };
    let mut add = |name: &'static str, v: Option<String>, key: &str| {
        if let Some(v) = v {
            f.fields.push_at(name, vec![v], line(key));
        }
    };
    let yes_no = Fields::yes_no;
    add(
        "join_state",
        Some(s.join_state.as_str().to_string()),
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
