//! Recognising a file's evidence kind from its first bytes. Customers rename, re-zip and
//! re-encode files, so content decides; the name only sharpens the message for a file that
//! could not be recognised.

use crate::model::FileKind;
use crate::sources::{dsregcmd, padlog, run_records, text};

/// How many leading bytes [`sniff`] looks at.
pub const SNIFF_LEN: usize = 8192;

/// What a file was recognised as, and why it will not be read when it will not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: FileKind,
    /// Set when `kind` is [`FileKind::Skipped`]: the reason, for people.
    pub why: Option<String>,
}

impl Sniffed {
    fn is(kind: FileKind) -> Self {
        Sniffed { kind, why: None }
    }

    fn skipped(why: impl Into<String>) -> Self {
        Sniffed {
            kind: FileKind::Skipped,
            why: Some(why.into()),
        }
    }

    /// Readable, but not evidence padtriage knows.
    fn other(why: impl Into<String>) -> Self {
        Sniffed {
            kind: FileKind::Other,
            why: Some(why.into()),
        }
    }
}

const EVTX_MAGIC: &[u8] = b"ElfFile\0";
const EVTX_CHUNK_MAGIC: &[u8] = b"ElfChnk\0";
const EVTX_FIRST_CHUNK: usize = 4096;

const ACCEPTED: &str = "padtriage reads .evtx event logs, Event Viewer XML exports, \
                        `dsregcmd /status` output, Power Automate desktop logs and run records \
                        (portal error JSON, flow-session exports)";

/// Recognise a file from its first bytes (up to [`SNIFF_LEN`]); `name` is its file name, used
/// only to explain a file that is not recognised.
pub fn sniff(head: &[u8], name: &str) -> Sniffed {
    if head.is_empty() {
        return Sniffed::skipped("empty file (0 bytes)");
    }
    if head.starts_with(EVTX_MAGIC) {
        return Sniffed::is(FileKind::Evtx);
    }
    // A damaged file header with intact chunks behind it is still worth handing to the EVTX
    // reader, which reports the bad header and reads the chunks it can.
    if head.get(EVTX_FIRST_CHUNK..EVTX_FIRST_CHUNK + EVTX_CHUNK_MAGIC.len())
        == Some(EVTX_CHUNK_MAGIC)
    {
        return Sniffed::is(FileKind::Evtx);
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

    if looks_like_event_xml(text) {
        return Sniffed::is(FileKind::EventXml);
    }
    if dsregcmd::looks_like_dsregcmd(text) {
        return Sniffed::is(FileKind::Dsregcmd);
    }
    if padlog::looks_like_padlog(text) {
        return Sniffed::is(FileKind::PadLog);
    }
    // Flow-session exports may carry error JSON inside a row, so they are tried first.
    if run_records::looks_like_flow_sessions(text) {
        return Sniffed::is(FileKind::FlowSessions);
    }
    if run_records::looks_like_portal_error(text) {
        return Sniffed::is(FileKind::PortalError);
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

/// Event Viewer "Save as XML" (`<Events>` root) or `wevtutil qe /f:xml` (bare `<Event xmlns=`),
/// after an optional BOM, XML declaration, comments and blank space.
fn looks_like_event_xml(text: &str) -> bool {
    let mut t = text.trim_start();
    loop {
        let (open, close) = if t.starts_with("<?") {
            ("<?", "?>")
        } else if t.starts_with("<!--") {
            ("<!--", "-->")
        } else {
            break;
        };
        match t[open.len()..].find(close) {
            Some(end) => t = t[open.len() + end + close.len()..].trim_start(),
            None => return false,
        }
    }
    if let Some(rest) = t.strip_prefix("<Events") {
        return rest.starts_with(|c: char| c == '>' || c.is_whitespace());
    }
    if let Some(rest) = t.strip_prefix("<Event") {
        return rest.starts_with(|c: char| c.is_whitespace())
            && rest.trim_start().starts_with("xmlns");
    }
    false
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
    fn xml_prolog_and_comments_are_skipped() {
        assert!(looks_like_event_xml(
            "<?xml version=\"1.0\"?>\r\n<!-- x -->\r\n<Events>\r\n<Event xmlns='x'>"
        ));
        assert!(looks_like_event_xml(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
        ));
        assert!(!looks_like_event_xml("<EventsFoo>"));
        assert!(!looks_like_event_xml("<Event>no namespace"));
        assert!(!looks_like_event_xml("<?xml version=\"1.0\""));
    }

    #[test]
    fn damaged_evtx_header_with_a_chunk_is_still_evtx() {
        let mut head = vec![0u8; 8192];
        head[4096..4104].copy_from_slice(b"ElfChnk\0");
        assert_eq!(sniff(&head, "x.bin").kind, FileKind::Evtx);
    }
}
