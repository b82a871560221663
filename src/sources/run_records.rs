//! (to be written)
use super::ReadCtx;
use crate::model::Parsed;
pub fn read_portal_error<R: std::io::Read>(_r: R, _c: &ReadCtx) -> Parsed {
    todo!()
}
pub fn read_flow_sessions<R: std::io::Read>(_r: R, _c: &ReadCtx) -> Parsed {
    todo!()
}
