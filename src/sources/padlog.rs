//! (to be written)

// placeholder: replaced by the parser's own detector
/// True when the first non-empty line is a PAD JSON log object (`traceLevel` plus
/// `eventTimestamp` or `component`).
pub fn looks_like_padlog(head: &str) -> bool {
    head.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .is_some_and(|l| {
            l.starts_with('{')
                && l.contains("\"traceLevel\"")
                && (l.contains("\"eventTimestamp\"") || l.contains("\"component\""))
        })
}
use crate::model::Parsed; use super::ReadCtx;
pub fn read_padlog<R: std::io::BufRead>(_r: R, _c: &ReadCtx) -> Parsed { todo!() }
