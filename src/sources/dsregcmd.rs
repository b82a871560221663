//! (to be written)
use super::ReadCtx;
use crate::model::Parsed;
pub fn read_dsregcmd<R: std::io::Read>(_r: R, _c: &ReadCtx) -> Parsed {
    todo!()
}
