//! The one table of codes padtriage knows: NTSTATUS, 0xCAA… (WAM/ADAL), AADSTS, logon types,
//! device-join HRESULTs, Win32 errors, Security `%%23xx` failure-reason inserts and Power Automate
//! error code names. Every parser and rule looks codes up here; nothing else holds meanings.
//!
//! Meanings are summarised from Microsoft's documentation (event-4625, PRT and hybrid-join
//! troubleshooting, AADSTS reference, WebProviderError codes, the desktop-flow KBs).

use regex::Regex;
use std::sync::OnceLock;

/// A known code with its symbolic name and a one-line meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub code: u32,
    pub name: &'static str,
    pub meaning: &'static str,
}

macro_rules! table {
    ($($code:expr, $name:expr, $meaning:expr;)*) => {
        &[$(CodeInfo { code: $code, name: $name, meaning: $meaning },)*]
    };
}

/// NTSTATUS values seen in 4625 Status/SubStatus, PAD detail codes, AAD events and dsregcmd.
pub const NTSTATUS: &[CodeInfo] = table! {
    0x0000_0000, "STATUS_SUCCESS", "success";
    0xC000_005E, "STATUS_NO_LOGON_SERVERS", "no logon servers available: the domain (or Entra ID) could not be reached";
    0xC000_005F, "STATUS_NO_SUCH_LOGON_SESSION", "no such logon session (Cloud AP: realm discovery failed, UPN suffix not a verified domain)";
    0xC000_0064, "STATUS_NO_SUCH_USER", "user name does not exist";
    0xC000_006A, "STATUS_WRONG_PASSWORD", "user name is correct but the password is wrong";
    0xC000_006D, "STATUS_LOGON_FAILURE", "bad user name or authentication information";
    0xC000_006E, "STATUS_ACCOUNT_RESTRICTION", "account restriction prevented the logon (policy, blank password, time of day)";
    0xC000_006F, "STATUS_INVALID_LOGON_HOURS", "logon outside the account's allowed hours";
    0xC000_0070, "STATUS_INVALID_WORKSTATION", "logon from a workstation the account may not use";
    0xC000_0071, "STATUS_PASSWORD_EXPIRED", "the password has expired";
    0xC000_0072, "STATUS_ACCOUNT_DISABLED", "the account is disabled";
    0xC000_0073, "STATUS_NONE_MAPPED", "no mapping between account names and security IDs was done";
    0xC000_00BE, "STATUS_BAD_NETWORK_PATH", "network path not found (Cloud AP: could not reach the service)";
    0xC000_00C4, "STATUS_UNEXPECTED_NETWORK_ERROR", "unexpected network error";
    0xC000_00D0, "STATUS_REQUEST_NOT_ACCEPTED", "request not accepted (HTTP 400 from Entra ID or WS-Trust)";
    0xC000_00DC, "STATUS_INVALID_SERVER_STATE", "the SAM server was in the wrong state";
    0xC000_0133, "STATUS_TIME_DIFFERENCE_AT_DC", "clock skew between the machine and the domain controller";
    0xC000_015B, "STATUS_LOGON_TYPE_NOT_GRANTED", "the user has not been granted the requested logon type (logon right missing or denied)";
    0xC000_018C, "STATUS_TRUSTED_DOMAIN_FAILURE", "the trust relationship with the domain failed";
    0xC000_0192, "STATUS_NETLOGON_NOT_STARTED", "the Netlogon service is not started";
    0xC000_0193, "STATUS_ACCOUNT_EXPIRED", "the account has expired";
    0xC000_0224, "STATUS_PASSWORD_MUST_CHANGE", "the user must change the password at next logon";
    0xC000_0225, "STATUS_NOT_FOUND", "not found (logged by some Windows builds without a clear cause)";
    0xC000_0234, "STATUS_ACCOUNT_LOCKED_OUT", "the account is locked out";
    0xC000_023C, "STATUS_NETWORK_UNREACHABLE", "the network is unreachable";
    0xC000_02EE, "STATUS_UNFINISHED_CONTEXT_DELETED", "an error occurred during logon";
    0xC000_02FA, "STATUS_SMARTCARD_LOGON_REQUIRED", "smart card logon is required and was not used";
    0xC000_0413, "STATUS_AUTHENTICATION_FIREWALL_FAILED", "the account is not allowed to authenticate to this machine (authentication firewall)";
    0xC004_8442, "AAD_CLOUDAP_E_OAUTH_USER_SID_IS_EMPTY", "Cloud AP: the OAuth response carried no user SID (often a proxy tampering with traffic)";
    0xC004_844C, "AAD_CLOUDAP_E_OAUTH_USERNAME_IS_MALFORMED", "the user name is not in the expected format (UPN vs DOMAIN\\user)";
    0xC004_848B, "AAD_CLOUDAP_E_HTTP_PASSWORD_URI_IS_EMPTY", "Cloud AP: the federation MEX has no username/password endpoint";
    0xC004_848C, "AAD_CLOUDAP_E_HTTP_CERTIFICATE_URI_IS_EMPTY", "Cloud AP: the federation MEX has no certificate endpoint";
    0xC004_84C1, "AAD_CLOUDAP_E_WSTRUST_SAML_TOKENS_ARE_EMPTY", "Cloud AP: AD FS returned no SAML token (see AAD event 1088)";
    0xC00C_EE4F, "WC_E_DTDPROHIBITED", "the WS-Trust response contained a DTD";
};

/// 0xCAA… (and 0x4AA…/0x8AA… informational/warning) codes from WAM / ADAL, as in AAD events.
pub const CAA: &[CodeInfo] = table! {
    0xCAA1_0001, "ERROR_ADAL_NEED_CREDENTIAL", "a user interface is needed to continue (no usable credential)";
    0xCAA1_002D, "ERROR_ADAL_OPERATION_PENDING", "operation pending";
    0xCAA2_0001, "unauthorized_client", "OAuth: unauthorized_client";
    0xCAA2_0002, "invalid_request", "OAuth: invalid_request";
    0xCAA2_0003, "invalid_grant", "OAuth: invalid_grant (bad password, revoked or expired grant)";
    0xCAA2_0004, "access_denied", "OAuth: access_denied (often Conditional Access)";
    0xCAA2_0005, "temporarily_unavailable", "OAuth: temporarily_unavailable";
    0xCAA2_0007, "invalid_scope", "OAuth: invalid_scope";
    0xCAA2_0008, "server_error", "OAuth: server_error";
    0xCAA2_0009, "invalid_client", "OAuth: invalid_client";
    0xCAA2_000B, "invalid_resource", "OAuth: invalid_resource";
    0xCAA2_000C, "interaction_required", "OAuth: interaction_required (MFA, terms of use or consent needed)";
    0xCAA2_0064, "unknown_server_error", "OAuth: unknown server error code";
    0xCAA3_0190, "HTTP_400", "HTTP 400 Bad Request from the token endpoint";
    0xCAA3_0191, "HTTP_401", "HTTP 401 Unauthorized from the token endpoint";
    0xCAA3_0193, "HTTP_403", "HTTP 403 Forbidden from the token endpoint";
    0xCAA3_0194, "HTTP_404", "HTTP 404 Not Found from the token endpoint";
    0xCAA3_01F4, "HTTP_500", "HTTP 500 from the token endpoint";
    0xCAA3_01F7, "HTTP_503", "HTTP 503 from the token endpoint";
    0xCAA5_0002, "ERROR_ADAL_SYSTEM", "token broker system error";
    0xCAA5_001C, "ERROR_ADAL_TOKEN_BROKER_OPERATION_FAILED", "token broker operation failed";
    0xCAA7_0004, "ERROR_ADAL_INTERNET_SERVER_NOT_FOUND", "network: the server or proxy was not found";
    0xCAA7_0007, "ERROR_ADAL_INTERNET_DOWNLOAD_FAILED", "network: the download failed or the connection was interrupted";
    0xCAA7_000A, "ERROR_ADAL_INTERNET_TIMEOUT", "network: the connection timed out";
    0xCAA8_2EE2, "ERROR_INTERNET_TIMEOUT", "network: request timed out (WinINet 12002)";
    0xCAA8_2EE7, "ERROR_INTERNET_NAME_NOT_RESOLVED", "network: server name could not be resolved (WinINet 12007)";
    0xCAA8_2EFD, "ERROR_INTERNET_CANNOT_CONNECT", "network: could not connect to the server (WinINet 12029)";
    0xCAA8_2EFE, "ERROR_INTERNET_CONNECTION_ABORTED", "network: connection aborted (WinINet 12030)";
    0xCAA8_2F8F, "ERROR_INTERNET_DECODING_FAILED", "network: secure channel (TLS) failure";
    0xCAA9_0006, "ERROR_ADAL_WSTRUST_REQUEST_FAILED", "federation: WS-Trust token request failed";
    0xCAA9_0014, "ERROR_ADAL_WSTRUST_FAULT", "federation: the WS-Trust server returned a fault";
    0xCAA9_0017, "ERROR_ADAL_PROTOCOL_NOT_WSTRUST", "federation: the endpoint does not speak WS-Trust";
    0xCAA9_0018, "ERROR_ADAL_COULDNOT_DISCOVER_USERREALM", "federation: could not discover the user's realm";
    0xCAA9_0023, "ERROR_ADAL_NO_USERNAME_PASSWORD_ENDPOINT", "federation: no username/password endpoint in the MEX";
    0xCAA9_002C, "ERROR_ADAL_XML_PARSE_FAILED", "federation: failed to parse the WS-Trust XML";
    0x8AA5_00DB, "CACHE_PARTITIONED", "informational: the token cache was partitioned";
    0x8AA5_00E6, "CACHE_INFO", "informational: token cache notice";
    0x4AA9_0010, "SENDING_WEB_REQUEST", "informational: sending web request";
};

/// AADSTS error numbers (Entra ID sign-in errors).
pub const AADSTS: &[CodeInfo] = table! {
    50034, "UserAccountNotFound", "the user account does not exist in the tenant (typo or not synced)";
    50053, "IdsLocked", "the account is locked (smart lockout) or sign-in came from a malicious IP";
    50055, "InvalidPasswordExpiredPassword", "the cloud password has expired";
    50057, "UserDisabled", "the user account is disabled";
    50058, "UserInformationNotProvided", "no session for silent sign-in (usually benign)";
    50072, "UserStrongAuthEnrollmentRequiredInterrupt", "the user must enrol for multi-factor authentication";
    50074, "UserStrongAuthClientAuthNRequiredInterrupt", "the MFA challenge was not passed";
    50076, "UserStrongAuthClientAuthNRequired", "MFA is required (Conditional Access or per-user MFA)";
    50079, "UserStrongAuthEnrollmentRequired", "the user must register for MFA";
    50097, "DeviceAuthenticationRequired", "device authentication is required";
    50126, "InvalidUserNameOrPassword", "invalid user name or password (or a federated user whose password Entra ID cannot validate)";
    50132, "SsoArtifactInvalidOrExpired", "the session is invalid after a password change or expiry";
    50133, "SsoArtifactRevoked", "the session was revoked after a password change";
    50144, "InvalidPasswordExpiredOnPremPassword", "the on-premises AD password has expired";
    50155, "DeviceAuthenticationFailed", "device authentication failed: the device is disabled or deleted in Entra ID";
    50158, "ExternalSecurityChallenge", "an external security challenge (or terms of use) was not satisfied";
    50173, "FreshTokenNeeded", "tokens were revoked (password reset or admin revoke): interactive sign-in needed";
    50187, "DeviceInformationNotProvided", "the device information was not provided";
    53000, "DeviceNotCompliant", "Conditional Access requires a compliant device";
    53001, "DeviceNotDomainJoined", "Conditional Access requires a domain-joined device";
    53003, "BlockedByConditionalAccess", "Conditional Access blocked the token";
    70008, "ExpiredOrRevokedGrant", "the refresh token expired or was revoked";
    90002, "InvalidTenantName", "the tenant was not found";
    700016, "UnauthorizedClient_DoesNotMatchRequest", "the application was not found in the tenant";
};

/// HRESULTs from device join / registration (dsregcmd Diagnostic Data, User Device Registration).
pub const JOIN_ERRORS: &[CodeInfo] = table! {
    0x801C_0002, "DSREG_E_DEVICE_AUTHENTICATION_ERROR", "device authentication error";
    0x801C_0006, "DSREG_E_DEVICE_INTERNALSERVICE_ERROR", "internal service error in device registration";
    0x801C_000C, "DSREG_E_DISCOVERY_FAILED", "device registration discovery failed";
    0x801C_001D, "DSREG_AUTOJOIN_ADCONFIG_READ_FAILED", "the service connection point (SCP) could not be read from Active Directory";
    0x801C_001F, "DSREG_AUTOJOIN_DISC_WAIT_TIMEOUT", "discovery timed out";
    0x801C_0021, "DSREG_AUTOJOIN_DISC_FAILED", "discovery of the registration service failed";
    0x801C_0025, "DSREG_E_DEVICE_SERVER_BUSY", "the registration server is busy (HTTP 503)";
    0x801C_003A, "DSREG_DISCOVERY_TENANT_NOT_FOUND", "discovery: tenant not found";
    0x801C_003D, "DSREG_AUTOJOIN_USERREALM_DISCOVERY_FAILED", "user realm discovery failed";
    0x801C_03F2, "DSREG_E_DIRECTORY_FAILURE", "directory error (the device may not be synced to Entra ID yet)";
    0x8007_0002, "ERROR_FILE_NOT_FOUND", "not found (AD configuration test: SCP missing)";
    0x8007_000D, "E_INVALIDDATA", "invalid data (often a proxy returning HTML)";
    0x8007_2EE2, "WININET_E_TIMEOUT", "network: timeout";
    0x8007_2EE7, "WININET_E_NAME_NOT_RESOLVED", "network: name not resolved";
    0x8007_2EFD, "WININET_E_CANNOT_CONNECT", "network: cannot connect";
    0x8007_2EFE, "WININET_E_CONNECTION_ABORTED", "network: connection aborted";
    0x8007_2F8F, "WININET_E_DECODING_FAILED", "network: TLS / decoding failure";
    0x8007_2F94, "WININET_E_AUTODETECTION_FAILED", "network: proxy auto-detection failed";
    0x8009_0016, "NTE_BAD_KEYSET", "key set does not exist (TPM cleared or bad sysprep)";
    0x8009_0031, "NTE_AUTHENTICATION_IGNORED", "TPM locked out";
    0x8028_0036, "TPM_E_NOTFIPS", "TPM is not in FIPS mode";
    0x8029_0407, "TPM_E_PCP_INTERNAL_ERROR", "TPM platform crypto provider internal error";
    0x8008_0005, "CO_E_SERVER_EXEC_FAILURE", "COM server execution failed";
};

/// Win32 error numbers used by System/Service Control Manager events.
pub const WIN32: &[CodeInfo] = table! {
    1069, "ERROR_SERVICE_LOGON_FAILED", "the service did not start due to a logon failure";
    1053, "ERROR_SERVICE_REQUEST_TIMEOUT", "the service did not respond in time";
    1326, "ERROR_LOGON_FAILURE", "the user name or password is incorrect";
    1385, "ERROR_LOGON_TYPE_NOT_GRANTED", "logon failure: the user has not been granted the requested logon type";
    12002, "ERROR_WINHTTP_TIMEOUT", "WinHTTP: timeout";
    12007, "ERROR_WINHTTP_NAME_NOT_RESOLVED", "WinHTTP: name not resolved";
    12029, "ERROR_WINHTTP_CANNOT_CONNECT", "WinHTTP: cannot connect";
    12030, "ERROR_WINHTTP_CONNECTION_ERROR", "WinHTTP: connection error";
};

/// Look a value up in one table.
pub fn lookup(table: &'static [CodeInfo], code: u32) -> Option<&'static CodeInfo> {
    table.iter().find(|c| c.code == code)
}

pub fn ntstatus(code: u32) -> Option<&'static CodeInfo> {
    lookup(NTSTATUS, code)
}

pub fn caa(code: u32) -> Option<&'static CodeInfo> {
    lookup(CAA, code)
}

pub fn aadsts(code: u32) -> Option<&'static CodeInfo> {
    lookup(AADSTS, code)
}

pub fn join_error(code: u32) -> Option<&'static CodeInfo> {
    lookup(JOIN_ERRORS, code)
}

pub fn win32(code: u32) -> Option<&'static CodeInfo> {
    lookup(WIN32, code)
}

/// Any 32-bit code in any of the hex-coded tables, NTSTATUS first.
pub fn any_hex(code: u32) -> Option<&'static CodeInfo> {
    ntstatus(code)
        .or_else(|| caa(code))
        .or_else(|| join_error(code))
}

/// `0xC000006D` style.
pub fn hex(code: u32) -> String {
    format!("0x{code:08X}")
}

/// Serde writers for 32-bit codes as [`hex`] strings (`"0xC000006D"`), the form Windows and the
/// KB articles print them in, rather than the decimal a JSON number would show.
pub mod as_hex {
    use serde::Serializer;

    /// `Option<u32>`: a hex string, or `null`.
    pub fn opt<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(c) => s.serialize_str(&super::hex(*c)),
            None => s.serialize_none(),
        }
    }

    /// `Vec<u32>`: an array of hex strings.
    pub fn list<S: Serializer>(v: &[u32], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|c| super::hex(*c)))
    }
}

/// `0xC000006A (STATUS_WRONG_PASSWORD: user name is correct but the password is wrong)`.
pub fn describe_hex(code: u32) -> String {
    match any_hex(code) {
        Some(i) => format!("{} ({}: {})", hex(code), i.name, i.meaning),
        None => hex(code),
    }
}

pub fn describe_aadsts(code: u32) -> String {
    match aadsts(code) {
        Some(i) => format!("AADSTS{code} ({}: {})", i.name, i.meaning),
        None => format!("AADSTS{code}"),
    }
}

/// Parse a status value written as hex (`0xc000006d`, `C000006D`), signed decimal
/// (`-1073741715`, how PAD ≥ 2.24 prints NTSTATUS) or unsigned decimal (`3221225581`, how the
/// `evtx` crate renders UInt32 fields). Returns `None` for anything else.
pub fn parse_status(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(h, 16).ok();
    }
    if let Some(neg) = s.strip_prefix('-') {
        let v: i64 = neg.parse().ok()?;
        let v = -v;
        return (v >= i64::from(i32::MIN)).then_some(v as i32 as u32);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        return s.parse::<u64>().ok().and_then(|v| u32::try_from(v).ok());
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u32::from_str_radix(s, 16).ok();
    }
    None
}

/// Windows logon types (event 4624/4625 `LogonType`).
pub fn logon_type_name(t: u32) -> &'static str {
    match t {
        0 => "System",
        2 => "Interactive",
        3 => "Network",
        4 => "Batch",
        5 => "Service",
        7 => "Unlock",
        8 => "NetworkCleartext",
        9 => "NewCredentials",
        10 => "RemoteInteractive",
        11 => "CachedInteractive",
        12 => "CachedRemoteInteractive",
        13 => "CachedUnlock",
        _ => "Unknown",
    }
}

/// The user right a logon type needs (and its deny counterpart), for 0xC000015B.
pub fn logon_right_for_type(t: u32) -> Option<(&'static str, &'static str)> {
    match t {
        2 | 11 => Some((
            "Allow log on locally (SeInteractiveLogonRight)",
            "Deny log on locally (SeDenyInteractiveLogonRight)",
        )),
        3 | 8 => Some((
            "Access this computer from the network (SeNetworkLogonRight)",
            "Deny access to this computer from the network (SeDenyNetworkLogonRight)",
        )),
        10 | 12 => Some((
            "Allow log on through Remote Desktop Services (SeRemoteInteractiveLogonRight)",
            "Deny log on through Remote Desktop Services (SeDenyRemoteInteractiveLogonRight)",
        )),
        4 => Some((
            "Log on as a batch job (SeBatchLogonRight)",
            "Deny log on as a batch job (SeDenyBatchLogonRight)",
        )),
        5 => Some((
            "Log on as a service (SeServiceLogonRight)",
            "Deny log on as a service (SeDenyServiceLogonRight)",
        )),
        _ => None,
    }
}

/// Security 4625 `FailureReason` inserts (`%%2313`), resolved from msobjs.dll wording.
pub fn failure_reason(insert: &str) -> Option<&'static str> {
    Some(match insert.trim() {
        "%%2304" => "An error occurred during logon",
        "%%2305" => "The specified user account has expired",
        "%%2306" => "The NetLogon component is not active",
        "%%2307" => "Account locked out",
        "%%2308" => "The user has not been granted the requested logon type at this machine",
        "%%2309" => "The specified account's password has expired",
        "%%2310" => "Account currently disabled",
        "%%2311" => "Account logon time restriction violation",
        "%%2312" => "User not allowed to logon at this computer",
        "%%2313" => "Unknown user name or bad password",
        "%%2314" => "Domain sid inconsistent",
        "%%2315" => "Smartcard logon is required and was not used",
        _ => return None,
    })
}

/// Power Automate error code names that mark a failed desktop-flow run on a credential or
/// logon problem, with the NTSTATUS detail PAD ≥ 2.24 may attach.
pub const PAD_RUN_ERRORS: &[(&str, &str)] = &[
    ("WindowsIdentityIncorrect", "The credentials provided with the request are invalid."),
    ("InvalidConnectionCredentials", "Could not connect to the Power Automate UI flows Agent: the connection credentials are not valid."),
    ("MSEntraLogonFailure", "The Microsoft Entra credentials could not be validated on the machine."),
    ("AadLogonFailure", "The Microsoft Entra credentials could not be validated on the machine (older name of MSEntraLogonFailure)."),
    ("LogonTypeNotGranted", "The user has not been granted the requested logon type."),
    ("SessionCreationInvalidCredentials", "The unattended session could not be created with these credentials."),
    ("AccountLockedOut", "The account is locked out."),
    ("MSEntraMachineAlwaysPromptingForPassword", "The machine always prompts for a password on RDP connection."),
    ("AADMachineAlwaysPromptingForPassword", "The machine always prompts for a password on RDP connection (older name)."),
    ("RdpPermissionNotGranted", "The connection user may not create RDP sessions."),
];

/// True when `name` is one of [`PAD_RUN_ERRORS`] (case-insensitive).
pub fn pad_run_error(name: &str) -> Option<&'static str> {
    PAD_RUN_ERRORS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, _)| *n)
}

/// Extract every `AADSTSnnnnn` number from text.
pub fn find_aadsts(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("AADSTS") {
        let start = i + pos + 6;
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |p| start + p);
        if end > start {
            if let Ok(v) = text[start..end].parse::<u32>() {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        i = end.max(start);
    }
    out
}

/// Extract NTSTATUS-looking values from free text: `0xC000006D` hex words and signed decimals in
/// the NTSTATUS error range (`-1073741715`). Only values in the error severity (0xC…) are taken
/// from decimals, so ordinary negative numbers do not turn into codes.
pub fn find_ntstatus(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let w = word.trim_start_matches('-');
        let v = if w.len() >= 10 && (w.starts_with("0x") || w.starts_with("0X")) {
            parse_status(w)
        } else if word.starts_with("-107") && word.len() == 11 {
            parse_status(word)
        } else {
            None
        };
        if let Some(v) = v {
            if v & 0xC000_0000 == 0xC000_0000 && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// NTSTATUS values that head a failed logon's report without saying why: a 4625 gives the
/// reason as its SubStatus (0xC000006D with 0xC000006A = wrong password, 0xC000006E with
/// 0xC0000072 = account disabled). PAD's detail code is the attempt's Status, so a SubStatus of
/// the same attempt is the more specific evidence.
pub const UMBRELLA_STATUSES: &[u32] = &[0xC000_006D, 0xC000_006E];

/// Whether `sub` says more about a failure whose status is `status` (an umbrella status with a
/// different, non-zero SubStatus).
pub fn refines(status: u32, sub: u32) -> bool {
    UMBRELLA_STATUSES.contains(&status) && sub != 0 && sub != status
}

/// The names of [`PAD_RUN_ERRORS`] found in `text` as whole words (case-sensitive), in
/// table order, each once.
pub fn find_run_error_names(text: &str) -> Vec<&'static str> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let names: Vec<String> = PAD_RUN_ERRORS
            .iter()
            .map(|(n, _)| regex::escape(n))
            .collect();
        Regex::new(&format!(r"\b(?:{})\b", names.join("|"))).expect("static code-name pattern")
    });
    let mut found: Vec<&str> = re.find_iter(text).map(|m| m.as_str()).collect();
    if found.is_empty() {
        return Vec::new();
    }
    found.dedup();
    PAD_RUN_ERRORS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| found.contains(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_code_names_as_whole_words() {
        assert_eq!(
            find_run_error_names("code WindowsIdentityIncorrect; MSEntraLogonFailure."),
            vec!["WindowsIdentityIncorrect", "MSEntraLogonFailure"]
        );
        assert!(find_run_error_names("NotWindowsIdentityIncorrectX").is_empty());
        assert!(find_run_error_names("windowsidentityincorrect").is_empty());
    }

    #[test]
    fn parses_every_status_spelling() {
        assert_eq!(parse_status("0xc000006d"), Some(0xC000_006D));
        assert_eq!(parse_status("-1073741715"), Some(0xC000_006D));
        assert_eq!(parse_status("-1073445812"), Some(0xC004_844C));
        assert_eq!(parse_status("3399811100"), Some(0xCAA5_001C));
        assert_eq!(parse_status("C000015B"), Some(0xC000_015B));
        assert_eq!(parse_status("0x0"), Some(0));
        assert_eq!(parse_status("banana"), None);
        assert_eq!(parse_status("-99999999999"), None);
    }

    #[test]
    fn finds_codes_in_text() {
        assert_eq!(
            find_aadsts("AADSTS50126: Error validating; also AADSTS50126 and AADSTS700016."),
            vec![50126, 700016]
        );
        assert_eq!(
            find_ntstatus("Logon failed (-1073741477) then 0xC000006D; count -12"),
            vec![0xC000_015B, 0xC000_006D]
        );
    }

    #[test]
    fn describes_known_codes() {
        assert!(describe_hex(0xC000_006A).contains("STATUS_WRONG_PASSWORD"));
        assert!(describe_hex(0xCAA5_001C).contains("token broker"));
        assert_eq!(logon_type_name(10), "RemoteInteractive");
        assert!(logon_right_for_type(10).is_some());
        assert_eq!(
            pad_run_error("windowsidentityincorrect"),
            Some("WindowsIdentityIncorrect")
        );
    }
}
