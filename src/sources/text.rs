//! Decoding text evidence: UTF-16LE/BE with or without BOM, UTF-8 with or without BOM, and a
//! legacy single-byte code page (Windows-1252) as the fallback, as `dsregcmd` dumps arrive.

use std::borrow::Cow;

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
}
