//! Recognising a file's evidence kind from its first bytes: the bundle stage's classifier.
//! Customers rename, re-zip and re-encode files, so content decides (each format in the
//! registry says whether it recognises the bytes); the name only sharpens the message for a
//! file that could not be recognised.

use super::registry;
use crate::bundle::Sniffed;
use crate::model::FileKind;
use crate::sources::text;

const ACCEPTED: &str = "padtriage reads .evtx event logs, Event Viewer XML exports, \
                        `dsregcmd /status` output, Power Automate desktop logs and run records \
                        (portal error JSON, flow-session exports)";

/// Recognise a file from its first bytes (up to [`SNIFF_LEN`]); `name` is its file name, used
/// only to explain a file that is not recognised.
pub fn sniff(head: &[u8], name: &str) -> Sniffed {
    if head.is_empty() {
        return Sniffed::skipped("empty file (0 bytes)");
    }
    if let Some(kind) = registry::detect_bytes(head) {
        return Sniffed::is(kind);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Sniffed::is(FileKind::Zip);
    }
    if head.get(4..8) == Some(b"LfLe") {
        return Sniffed::skipped(
            "legacy .evt event log (Windows XP / Server 2003 format), which padtriage cannot \
             read; export the log again as .evtx",
        );
    }

    let lower_name = name.to_ascii_lowercase();
    let decoded = text::decode(head);
    let text = decoded.text.trim_start_matches('\u{feff}');
    if looks_binary(text) {
        return if lower_name.ends_with(".evtx") {
            Sniffed::skipped(
                "named .evtx but has no EVTX signature (`ElfFile`): damaged or not an event log",
            )
        } else if lower_name.ends_with(".zip") {
            Sniffed::skipped(
                "named .zip but is not a zip archive (no `PK` signature): damaged or incomplete \
                 download",
            )
        } else {
            Sniffed::other(format!(
                "not a recognised evidence kind: looks like binary data (starts with {}); {ACCEPTED}",
                hex_prefix(head)
            ))
        };
    }

    if let Some(kind) = registry::detect_text(text) {
        return Sniffed::is(kind);
    }

    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Sniffed::other("contains only blank space");
    }
    let shape = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        "JSON"
    } else if trimmed.starts_with('<') {
        "XML"
    } else {
        "text"
    };
    Sniffed::other(format!(
        "not a recognised evidence kind: looks like {shape} (first line: \"{}\"); {ACCEPTED}",
        first_line(trimmed)
    ))
}

/// Text has no NULs and few control or undecodable characters.
fn looks_binary(text: &str) -> bool {
    let mut total = 0usize;
    let mut odd = 0usize;
    for c in text.chars() {
        total += 1;
        if c == '\0' {
            return true;
        }
        if c == '\u{fffd}' || (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')) {
            odd += 1;
        }
    }
    odd * 50 > total
}

fn hex_prefix(head: &[u8]) -> String {
    head.iter()
        .take(8)
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut out: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_evtx_header_with_a_chunk_is_still_evtx() {
        let mut head = vec![0u8; 8192];
        head[4096..4104].copy_from_slice(b"ElfChnk\0");
        assert_eq!(sniff(&head, "x.bin").kind, FileKind::Evtx);
    }
}
