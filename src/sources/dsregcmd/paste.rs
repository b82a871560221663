//! What people add to a dump when they paste it into a ticket, a chat or a forum: quote
//! markers, markdown fences, marks where they left output out, and prose around it. None of it
//! is dsregcmd output, and none of it may become part of a value.

/// A line with its quote markers (`> `, `>> `, `> > `, as mail and markdown quote) removed.
/// dsregcmd never starts a line with `>`; a console prompt (`C:\>`) does not start with it.
pub(super) fn unquote(line: &str) -> &str {
    let mut rest = line;
    loop {
        let t = rest.trim_start();
        match t.strip_prefix('>') {
            // One space belongs to the marker; the rest is the dump's own indentation.
            Some(r) => rest = r.strip_prefix(' ').unwrap_or(r),
            None => return rest,
        }
    }
}

/// What a line is once markdown fences are taken off it.
pub(super) enum Fenced<'a> {
    /// A fence line (```` ``` ````, ```` ```text ````, `~~~`): nothing of the dump.
    Fence,
    /// The line, without a fence glued to its start or end (```` SUCCESS``` ````).
    Line(&'a str),
}

/// Take markdown code fences off a line. dsregcmd prints no backtick and no `~~~`.
pub(super) fn unfence(line: &str) -> Fenced<'_> {
    let t = line.trim_start();
    let mark = if t.starts_with("```") {
        Some('`')
    } else if t.starts_with("~~~") {
        Some('~')
    } else {
        None
    };
    let line = match mark {
        Some(m) => {
            let rest = t.trim_start_matches(m);
            let r = rest.trim();
            // An info string (`text`, `powershell`) is one word; anything more is content
            // that was typed on the fence's line.
            if r.is_empty() || !r.contains(char::is_whitespace) {
                return Fenced::Fence;
            }
            rest
        }
        None => line,
    };
    let trimmed = line.trim_end();
    match trimmed.strip_suffix("```") {
        Some(body) => Fenced::Line(body.trim_end_matches('`')),
        None => Fenced::Line(line),
    }
}

/// Words that say output was left out (`<snip>`, `(output truncated)`, `... 40 lines omitted
/// ...`): a mark needs at least one of them.
const OMIT_SIGNALS: &[&str] = &[
    "snip",
    "snipped",
    "omitted",
    "omit",
    "truncated",
    "removed",
    "redacted",
    "cut",
    "trimmed",
    "skipped",
    "shortened",
];

/// The other words such a mark may have around its signal.
const OMIT_FILLERS: &[&str] = &[
    "output",
    "lines",
    "line",
    "more",
    "rest",
    "of",
    "the",
    "section",
    "sections",
    "here",
    "for",
    "brevity",
    "and",
    "so",
    "on",
    "etc",
    "remaining",
    "some",
];

/// A mark where the poster left output out: `...`, `…`, `[...]`, `<snip>`, `(output
/// truncated)`, `... omitted ...`, `--- 20 lines removed ---`, `***`.
pub(super) fn is_omission(t: &str) -> bool {
    let t = t.trim();
    let inner = t.trim_matches(|c: char| {
        c.is_whitespace()
            || matches!(c, '.' | '…' | '[' | ']' | '(' | ')' | '<' | '>' | '{')
            || matches!(c, '}' | '-' | '*' | '_' | '=' | '~' | '#')
    });
    let mut words = inner
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .peekable();
    if words.peek().is_none() {
        return t.contains("...") || t.contains('…') || t.contains("***");
    }
    let mut signal = false;
    for w in words {
        let lower = w.to_lowercase();
        if OMIT_SIGNALS.contains(&lower.as_str()) {
            signal = true;
        } else if !OMIT_FILLERS.contains(&lower.as_str()) && !w.bytes().all(|b| b.is_ascii_digit())
        {
            return false;
        }
    }
    signal
}

/// A markdown thematic break (`---`, `***`, `___`) or heading underline (`===`): layout of the
/// post, not of the dump.
pub(super) fn is_rule(t: &str) -> bool {
    let t = t.trim();
    t.len() >= 3
        && t.chars().all(|c| matches!(c, '-' | '*' | '_' | '=' | ' '))
        && t.chars().filter(|c| *c != ' ').count() >= 3
}

/// A value the poster cut short: it ends in an ellipsis or holds a `[...]` / `<snip>` mark.
/// dsregcmd prints no value ending in `...`.
pub(super) fn is_partly_omitted(value: &str) -> bool {
    let v = value.trim_end();
    v.ends_with("...")
        || v.ends_with('…')
        || ["[...]", "[…]", "<snip>", "(...)"]
            .iter()
            .any(|m| v.contains(m))
}

/// Prose that introduces what follows (`Output when run as the user:`): a phrase of several
/// words, one of them lowercase, with the colon glued to it. dsregcmd writes ` : ` after its
/// keys and never ends a line with a glued colon.
pub(super) fn is_caption(t: &str) -> bool {
    let Some(phrase) = t.trim_end().strip_suffix(':') else {
        return false;
    };
    if phrase.ends_with(char::is_whitespace) {
        return false;
    }
    let mut words = phrase.split_whitespace();
    words.next().is_some()
        && words.clone().next().is_some()
        && words.any(|w| w.starts_with(|c: char| c.is_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_markers_keep_the_dump_indentation() {
        assert_eq!(
            unquote(">              AzureAdJoined : YES"),
            "             AzureAdJoined : YES"
        );
        assert_eq!(unquote("> > | Device State |"), "| Device State |");
        assert_eq!(unquote(">"), "");
        assert_eq!(
            unquote("C:\\Users\\x>dsregcmd /status"),
            "C:\\Users\\x>dsregcmd /status"
        );
    }

    #[test]
    fn fences() {
        assert!(matches!(unfence("```"), Fenced::Fence));
        assert!(matches!(unfence("  ```text"), Fenced::Fence));
        assert!(matches!(unfence("~~~"), Fenced::Fence));
        assert!(matches!(
            unfence("          DeviceAuthStatus : SUCCESS```"),
            Fenced::Line("          DeviceAuthStatus : SUCCESS")
        ));
        assert!(matches!(
            unfence("```AzureAdJoined : YES"),
            Fenced::Line("AzureAdJoined : YES")
        ));
        assert!(matches!(
            unfence("   AzureAdJoined : YES"),
            Fenced::Line("   AzureAdJoined : YES")
        ));
    }

    #[test]
    fn omission_marks() {
        for m in [
            "...",
            "…",
            "[...]",
            "[…]",
            "<snip>",
            "(output truncated)",
            "... omitted ...",
            "--- 40 lines removed ---",
            "[rest of output snipped]",
            "***",
        ] {
            assert!(is_omission(m), "{m}");
        }
        for v in [
            "NO",
            "2.0",
            "NOT SET",
            "SUCCESS",
            "[ 2024-03-11 UTC -- 2034-03-11 UTC ]",
            "",
            "+---+",
        ] {
            assert!(!is_omission(v), "{v}");
        }
        assert!(is_partly_omitted("2025-03-11 ..."));
        assert!(is_partly_omitted("AADSTS50126: Error validating [...]"));
        assert!(!is_partly_omitted("MUST Run elevated to test."));
    }

    #[test]
    fn captions() {
        assert!(is_caption("Output when run as the user:"));
        assert!(is_caption("and as admin:"));
        assert!(!is_caption("AzureAdPrtAuthority :"));
        assert!(!is_caption("Note:"));
        assert!(!is_caption("sing WPAD. code: 0x80072f94"));
    }
}
