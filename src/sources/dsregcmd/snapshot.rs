//! The typed snapshot read from one dump's fields: join state, device and tenant details, PRT
//! state and last error, pre-join diagnostics, who ran the command and when.

use super::lines::{starts_with_ci, DumpLines};
use super::{DsregField, DsregSnapshot, JoinState, PrtError};
use crate::codes;
use crate::model::{Loc, Problem, SourceRef};
use crate::sources::ReadCtx;
use std::cell::RefCell;

/// Type dump number `dump` (1-based) of the `dumps` a file holds. The problems are the values
/// it would have read that a paste damaged (`unreadable_value`).
pub(super) fn build_snapshot(
    d: DumpLines,
    dump: usize,
    dumps: usize,
    ctx: &ReadCtx,
    encoding: &str,
) -> (DsregSnapshot, Vec<Problem>) {
    let fields = &d.fields;
    let has_section = |name: &str| d.sections.iter().any(|s| s.eq_ignore_ascii_case(name));
    let key_in = |key: &str, section: &str| {
        fields
            .iter()
            .any(|f| f.key.eq_ignore_ascii_case(key) && f.section.eq_ignore_ascii_case(section))
    };
    let device_keys_in_state = ["DeviceId", "TenantId", "Thumbprint", "KeySignTest"]
        .iter()
        .any(|k| key_in(k, "Device State"));
    let legacy = !has_section("SSO State")
        && (device_keys_in_state
            || key_in("AzureAdPrt", "User State")
            || d.glued * 2 > fields.len());

    // A value on the line the dump was cut in may be incomplete (`0xc00000` for `0xc000006d`),
    // and a pasted one may have lost a part: it stays among the fields, but no typed value
    // (and so no verdict) rests on it. Paste damage is reported for the values read only.
    let problems: RefCell<Vec<Problem>> = RefCell::new(Vec::new());
    let get = |key: &str, sections: &[&str]| {
        let f = pick(fields, key, sections)?;
        let Some(why) = d.untyped.get(&f.line) else {
            return Some(f.value.as_str());
        };
        let at = Some(format!("line {}", f.line));
        let mut problems = problems.borrow_mut();
        if let Some(why) = why.filter(|_| !problems.iter().any(|p| p.at == at)) {
            problems.push(Problem::new(
                "unreadable_value",
                at,
                format!("{}: {why}; the value is not used", f.key),
            ));
        }
        None
    };
    let text_of = |key: &str, sections: &[&str]| get(key, sections).and_then(non_empty);
    let bool_of = |key: &str, sections: &[&str]| get(key, sections).and_then(yes_no);
    let time_of =
        |key: &str, sections: &[&str]| get(key, sections).and_then(crate::time::parse_utc);
    let code_of = |key: &str, sections: &[&str]| {
        get(key, sections)
            .and_then(first_token)
            .and_then(codes::parse_status)
    };

    const DS: &[&str] = &["Device State"];
    const DD: &[&str] = &["Device Details", "Device State"];
    const TD: &[&str] = &["Tenant Details", "Device State"];
    const US: &[&str] = &["User State"];
    const SSO: &[&str] = &["SSO State", "User State"];
    const DIAG: &[&str] = &["Diagnostic Data"];
    const NGC: &[&str] = &["Ngc Prerequisite Check"];

    let azure_ad_joined = bool_of("AzureAdJoined", DS);
    let enterprise_joined = bool_of("EnterpriseJoined", DS);
    let domain_joined = bool_of("DomainJoined", DS);
    let workplace_joined = bool_of("WorkplaceJoined", US);
    let join_state = join_state(
        azure_ad_joined,
        enterprise_joined,
        domain_joined,
        workplace_joined,
    );

    let prt_authority = text_of("AzureAdPrtAuthority", SSO).filter(|v| !is_no(v));
    // Tenant: Tenant Details, else the PRT authority's tenant, else the first work account's.
    let tenant_id = text_of("TenantId", TD)
        .or_else(|| {
            prt_authority
                .as_deref()
                .and_then(|a| a.trim_end_matches('/').rsplit('/').next())
                .filter(|s| crate::identity::is_guid(s))
                .map(str::to_string)
        })
        .or_else(|| text_of("WorkplaceTenantId", &["Work Account"]));
    let tenant_name =
        text_of("TenantName", TD).or_else(|| text_of("WorkplaceTenantName", &["Work Account"]));

    let (taken_at, taken_at_basis) = match time_of("Client Time", DIAG) {
        Some(t) => (Some(t), Some(super::CLIENT_TIME.to_string())),
        None => match ctx.mtime {
            Some(t) => (Some(t), Some("file modification time".to_string())),
            None => (None, None),
        },
    };

    const PRT_KEYS: &[&str] = &[
        "AcquirePrtDiagnostics",
        "RefreshPrtDiagnostics",
        "Previous Prt Attempt",
        "Attempt Status",
        "Server Error Code",
        "Server Error Description",
    ];
    let prt_error = PRT_KEYS.iter().any(|k| get(k, SSO).is_some()).then(|| {
        let description = text_of("Server Error Description", SSO);
        PrtError {
            attempt_time: time_of("Previous Prt Attempt", SSO),
            attempt_status: code_of("Attempt Status", SSO),
            user_identity: text_of("User Identity", SSO),
            credential_type: text_of("Credential Type", SSO),
            http_error: code_of("HTTP Error", SSO),
            http_status: get("HTTP status", SSO)
                .and_then(first_token)
                .and_then(|v| v.parse().ok()),
            server_error_code: text_of("Server Error Code", SSO),
            aadsts: description
                .as_deref()
                .and_then(|d| codes::find_aadsts(d).first().copied()),
            server_error_description: description,
        }
    });

    let snapshot = DsregSnapshot {
        source: SourceRef {
            file: ctx.file.clone(),
            loc: Loc::Line(d.first_line.max(1)),
        },
        dump,
        dumps,
        first_line: d.first_line.max(1),
        last_line: d.last_line.max(d.first_line).max(1),
        taken_at,
        taken_at_basis,
        encoding: encoding.to_string(),
        layout: if legacy { "legacy" } else { "current" }.to_string(),
        join_state,
        azure_ad_joined,
        enterprise_joined,
        domain_joined,
        workplace_joined,
        domain_name: text_of("DomainName", DS),
        device_name: text_of("Device Name", DS),
        device_id: text_of("DeviceId", DD),
        device_auth_status: text_of("DeviceAuthStatus", DD),
        tenant_name,
        tenant_id,
        azure_ad_prt: bool_of("AzureAdPrt", SSO),
        prt_update_time: time_of("AzureAdPrtUpdateTime", SSO),
        prt_expiry_time: time_of("AzureAdPrtExpiryTime", SSO),
        prt_authority,
        enterprise_prt: bool_of("EnterprisePrt", SSO),
        enterprise_prt_authority: text_of("EnterprisePrtAuthority", SSO).filter(|v| !is_no(v)),
        prt_error,
        ngc_set: bool_of("NgcSet", US),
        is_user_azure_ad: bool_of("IsUserAzureAD", NGC),
        executing_account: text_of("Executing Account Name", DIAG),
        user_context: text_of("User Context", DIAG),
        error_phase: text_of("Error Phase", DIAG),
        client_error_code: code_of("Client ErrorCode", DIAG),
        server_error_code: text_of("Server ErrorCode", DIAG),
        fields: d.fields,
    };
    (snapshot, problems.into_inner())
}

/// The value of `key`, preferring the sections it belongs to (matched by prefix, so
/// `Work Account` covers `Work Account 1`); otherwise the first occurrence outside
/// `Work Account N` sections, which repeat device keys for the registration.
fn pick<'a>(fields: &'a [DsregField], key: &str, sections: &[&str]) -> Option<&'a DsregField> {
    let mut matches = fields.iter().filter(|f| f.key.eq_ignore_ascii_case(key));
    let preferred = matches
        .clone()
        .find(|f| sections.iter().any(|s| starts_with_ci(&f.section, s)));
    preferred.or_else(|| matches.find(|f| !starts_with_ci(&f.section, "Work Account")))
}

fn non_empty(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn first_token(v: &str) -> Option<&str> {
    v.split_whitespace()
        .next()
        .map(|t| t.trim_end_matches([',', ';', '.']))
}

fn is_no(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("NO")
}

/// `YES`/`NO` (first word, any case); anything else (`ERROR (0xd0020017)`, `UNKNOWN`) is None.
fn yes_no(v: &str) -> Option<bool> {
    match first_token(v)? {
        t if t.eq_ignore_ascii_case("YES") => Some(true),
        t if t.eq_ignore_ascii_case("NO") => Some(false),
        _ => None,
    }
}

/// The join state from the Device State triple and `WorkplaceJoined` (evidence-formats 0.2/1.4).
/// A combination the documentation does not list, or a missing value that decides, is Unknown.
pub fn join_state(
    azure_ad: Option<bool>,
    enterprise: Option<bool>,
    domain: Option<bool>,
    workplace: Option<bool>,
) -> JoinState {
    match (azure_ad, enterprise, domain) {
        // EnterpriseJoined is never YES together with AzureAdJoined.
        (Some(true), Some(true), _) => JoinState::Unknown,
        (Some(true), _, Some(true)) => JoinState::HybridJoined,
        (Some(true), _, Some(false)) => JoinState::EntraJoined,
        (Some(false), Some(true), Some(true)) => JoinState::EnterpriseJoined,
        (Some(false), Some(false), Some(true)) => JoinState::DomainOnly,
        (Some(false), Some(false), Some(false)) => {
            if workplace == Some(true) {
                JoinState::RegisteredOnly
            } else {
                JoinState::NotJoined
            }
        }
        _ => JoinState::Unknown,
    }
}
