//! Tests of the dsregcmd reader.
use super::lines::{banner_title, is_noise, is_separator, split_kv};
use super::*;

#[test]
fn splits_key_lines() {
    let kv = split_kv("             AzureAdJoined : YES").unwrap();
    assert_eq!(
        (kv.key, kv.value, kv.glued),
        ("AzureAdJoined", "YES", false)
    );
    let kv = split_kv("         AadRecoveryEnabled: NO").unwrap();
    assert_eq!(
        (kv.key, kv.value, kv.glued),
        ("AadRecoveryEnabled", "NO", true)
    );
    let kv = split_kv("         KeySignTest: : MUST Run elevated to test.").unwrap();
    assert_eq!(kv.value, "MUST Run elevated to test.");
    let kv = split_kv("      Previous Prt Attempt : 2025-06-02 13:17:05.412 UTC").unwrap();
    assert_eq!(kv.value, "2025-06-02 13:17:05.412 UTC");
    let kv = split_kv("         Proxy Server List :").unwrap();
    assert_eq!(kv.value, "");
    assert!(split_kv("sing WPAD. code: 0x80072f94").is_none());
    assert!(split_kv("For more information, please visit https://x").is_none());
    assert!(split_kv("https://login.microsoftonline.com").is_none());
    assert!(split_kv("C:\\Users\\x>dsregcmd /status").is_none());
}

#[test]
fn recognises_noise_and_banners() {
    assert!(is_noise("C:\\Users\\jdoe>dsregcmd /status"));
    assert!(is_noise("PS C:\\> dsregcmd /status"));
    assert!(is_noise(
        "Waiting for Diagnostics Task to complete. This could take a few minutes..."
    ));
    assert!(is_noise(
        "For more information, please visit https://www.microsoft.com/aadjerrors"
    ));
    assert!(!is_noise("AzureAdJoined : YES"));
    assert_eq!(
        banner_title("| SSO State                                  |").as_deref(),
        Some("SSO State")
    );
    assert_eq!(
        banner_title("| Work Account 1 |").as_deref(),
        Some("Work Account 1")
    );
    assert!(is_separator(&format!("+{}+", "-".repeat(70))));
    assert!(!is_separator("+"));
}

#[test]
fn join_table() {
    use JoinState::*;
    let j = |a, e, d, w| join_state(Some(a), Some(e), Some(d), w);
    assert_eq!(j(true, false, false, None), EntraJoined);
    assert_eq!(j(true, false, true, None), HybridJoined);
    assert_eq!(j(false, false, true, Some(true)), DomainOnly);
    assert_eq!(j(false, true, true, None), EnterpriseJoined);
    assert_eq!(j(false, false, false, Some(true)), RegisteredOnly);
    assert_eq!(j(false, false, false, Some(false)), NotJoined);
    assert_eq!(j(false, false, false, None), NotJoined);
    assert_eq!(join_state(None, Some(false), Some(true), None), Unknown);
    assert_eq!(join_state(Some(false), None, Some(true), None), Unknown);
}

#[test]
fn times_with_and_without_millis() {
    let a = crate::time::parse_utc("2025-06-02 07:58:41.000 UTC").unwrap();
    let b = crate::time::parse_utc("2025-06-02 07:58:41 UTC").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_rfc3339(), "2025-06-02T07:58:41+00:00");
    assert!(crate::time::parse_utc("NOT SET").is_none());
}
