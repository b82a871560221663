//! (to be written)

// placeholder: replaced by the parser's own detector
/// True for the portal's error JSON: `{"error":{"code":..,"message":..}}`.
pub fn looks_like_portal_error(head: &str) -> bool {
    let compact: String = head.chars().filter(|c| !c.is_whitespace()).collect();
    compact.starts_with('{') && compact.contains("\"error\":{") && compact.contains("\"code\":")
}

// placeholder: replaced by the parser's own detector
/// True for an exported `flowsession` table, JSON or CSV.
pub fn looks_like_flow_sessions(head: &str) -> bool {
    let lower = head.to_ascii_lowercase();
    lower.contains("flowsessionid") || (lower.contains("errorcode") && lower.contains("startedon"))
}
use crate::model::Parsed; use super::ReadCtx;
pub fn read_portal_error<R: std::io::Read>(_r: R, _c: &ReadCtx) -> Parsed { todo!() }
pub fn read_flow_sessions<R: std::io::Read>(_r: R, _c: &ReadCtx) -> Parsed { todo!() }
