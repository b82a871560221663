//! Text helpers every text source shares: decoding (UTF-16LE/BE with or without BOM, UTF-8 with
//! or without BOM, and Windows-1252 as the fallback, as `dsregcmd` dumps arrive), capped
//! per-line problem lists, JSON nesting limits, user names in free text, one-line cuts.

use crate::model::{FileReport, Problem};
use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Text decoded from bytes, with the encoding it was read as.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    /// `utf-16le-bom`, `utf-16le`, `utf-16be-bom`, `utf-8-bom`, `utf-8`, `windows-1252`.
    pub encoding: &'static str,
    /// True when some bytes could not be decoded and were replaced (U+FFFD).
    pub had_errors: bool,
}

/// Decode bytes by BOM, then by shape (NUL in every other byte = UTF-16LE), then UTF-8, then
/// Windows-1252. Never fails: undecodable bytes become U+FFFD and `had_errors` says so.
pub fn decode(bytes: &[u8]) -> Decoded<'_> {
    use encoding_rs::{UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let (text, had_errors) = UTF_16LE.decode_without_bom_handling(rest);
        return Decoded {
            text,
            encoding: "utf-16le-bom",
            had_errors,
        };
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let (text, had_errors) = UTF_16BE.decode_without_bom_handling(rest);
        return Decoded {
            text,
            encoding: "utf-16be-bom",
            had_errors,
        };
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        let (text, had_errors) = UTF_8.decode_without_bom_handling(rest);
        return Decoded {
            text,
            encoding: "utf-8-bom",
            had_errors,
        };
    }
    if looks_utf16le(bytes) {
        let (text, had_errors) = UTF_16LE.decode_without_bom_handling(bytes);
        return Decoded {
            text,
            encoding: "utf-16le",
            had_errors,
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Decoded {
            text: Cow::Borrowed(s),
            encoding: "utf-8",
            had_errors: false,
        },
        // A dump cut off in the middle of a multi-byte character is still UTF-8.
        Err(e) if e.error_len().is_none() && e.valid_up_to() + 4 > bytes.len() => {
            let (text, _) = UTF_8.decode_without_bom_handling(bytes);
            Decoded {
                text,
                encoding: "utf-8",
                had_errors: true,
            }
        }
        Err(_) => {
            let (text, had_errors) = WINDOWS_1252.decode_without_bom_handling(bytes);
            Decoded {
                text,
                encoding: "windows-1252",
                had_errors,
            }
        }
    }
}

/// UTF-16LE without a BOM: mostly-ASCII text has NUL as every second byte.
pub fn looks_utf16le(bytes: &[u8]) -> bool {
    let n = bytes.len().min(512) & !1;
    if n < 8 {
        return false;
    }
    let pairs = n / 2;
    let nul_odd = (0..pairs).filter(|i| bytes[i * 2 + 1] == 0).count();
    let nul_even = (0..pairs).filter(|i| bytes[i * 2] == 0).count();
    nul_odd * 10 >= pairs * 8 && nul_even * 10 <= pairs
}

/// Individual line problems listed per file; the rest are summed up in one problem.
pub const MAX_LINE_PROBLEMS: usize = 20;

/// Caps the problems listed for one file; the rest are summed up by [`LineProblems::finish`].
pub struct LineProblems {
    listed: usize,
    more: u64,
    kind: &'static str,
    noun: &'static str,
}

impl LineProblems {
    pub fn new(kind: &'static str, noun: &'static str) -> Self {
        LineProblems {
            listed: 0,
            more: 0,
            kind,
            noun,
        }
    }

    pub fn push(&mut self, report: &mut FileReport, p: Problem) {
        if self.listed < MAX_LINE_PROBLEMS {
            report.problems.push(p);
            self.listed += 1;
        } else {
            self.more += 1;
        }
    }

    pub fn finish(self, report: &mut FileReport) {
        if self.more > 0 {
            report.problems.push(Problem::new(
                self.kind,
                None,
                format!("{} more {} not listed", self.more, self.noun),
            ));
        }
    }
}

/// serde_json's answer to JSON nested deeper than its recursion limit (128 levels).
pub fn is_too_deep(e: &serde_json::Error) -> bool {
    e.classify() == serde_json::error::Category::Syntax
        && e.to_string().starts_with("recursion limit exceeded")
}

/// How JSON nesting past serde_json's recursion limit is described in problems.
pub const TOO_DEEP: &str = "JSON nested more than 128 levels deep";

/// A user named in free text. Accepted patterns (the word `user` is matched in any case, and
/// `username` / `user name` work wherever `user` does):
/// 1. quoted after `user`: `user 'CONTOSO\alice'`, `user "alice@contoso.com"`, `user: 'x'`;
/// 2. key/value: `user=CONTOSO\alice`, `UserName: alice` (up to the next space or quote);
/// 3. unquoted after `user` when the token is qualified (contains `\` or `@`):
///    `for user alice@contoso.com`, `as user CONTOSO\alice`.
///
/// Trailing `.`, `,`, `:` and `;` are dropped; `null`, `-` and empty values are not users.
pub fn user_from_text(text: &str) -> Option<String> {
    static RES: OnceLock<Vec<Regex>> = OnceLock::new();
    let res = RES.get_or_init(|| {
        [
            r#"(?i)\buser(?:\s?name)?\s*[:=]?\s*['"‘’“”]([^'"‘’“”\r\n]{1,256})['"‘’“”]"#,
            r#"(?i)\buser(?:\s?name)?\s*[:=]\s*([^\s'",;()\[\]{}]{1,256})"#,
            r#"(?i)\buser(?:\s?name)?\s+([^\s'",;()\[\]{}]*[@\\][^\s'",;()\[\]{}]*)"#,
        ]
        .iter()
        .map(|p| Regex::new(p).expect("static user pattern"))
        .collect()
    });
    res.iter().find_map(|re| {
        re.captures_iter(text)
            .find_map(|c| c.get(1).and_then(|m| clean_user(m.as_str())))
    })
}

pub fn clean_user(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches(['.', ',', ':', ';']).trim();
    if s.is_empty()
        || s == "-"
        || s.eq_ignore_ascii_case("null")
        || s.eq_ignore_ascii_case("(null)")
    {
        return None;
    }
    Some(s.to_string())
}

/// The first line of a text, cut at 200 characters, for one-line summaries.
pub fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(200) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_encoding() {
        let s = "AzureAdJoined : YES";
        let mut le = vec![0xFF, 0xFE];
        le.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(decode(&le).text, s);
        assert_eq!(decode(&le).encoding, "utf-16le-bom");
        assert_eq!(decode(&le[2..]).encoding, "utf-16le");
        assert_eq!(decode(&le[2..]).text, s);
        let mut u8bom = vec![0xEF, 0xBB, 0xBF];
        u8bom.extend(s.as_bytes());
        assert_eq!(decode(&u8bom).encoding, "utf-8-bom");
        assert_eq!(decode(s.as_bytes()).encoding, "utf-8");
        let latin = b"Gesch\xe4ftskonto : YES";
        let d = decode(latin);
        assert_eq!(d.encoding, "windows-1252");
        assert!(d.text.contains("Geschäftskonto"));
    }

    #[test]
    fn finds_users_in_text() {
        assert_eq!(
            user_from_text("Logon failed for user 'CONTOSO\\alice' (type 10)").as_deref(),
            Some("CONTOSO\\alice")
        );
        assert_eq!(
            user_from_text("Creating session for user alice@contoso.com.").as_deref(),
            Some("alice@contoso.com")
        );
        assert_eq!(
            user_from_text("Running as user CONTOSO\\svc-rpa").as_deref(),
            Some("CONTOSO\\svc-rpa")
        );
        assert_eq!(
            user_from_text("UserName=bob@fabrikam.com; domain joined").as_deref(),
            Some("bob@fabrikam.com")
        );
        assert_eq!(user_from_text("the user cannot log on"), None);
        assert_eq!(user_from_text("sessionUserName is empty"), None);
        assert_eq!(user_from_text("user 'null'"), None);
    }
}
