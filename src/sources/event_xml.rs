//! (to be written)
use super::ReadCtx;
use crate::model::Parsed;
pub fn read_event_xml<R: std::io::BufRead>(_r: R, _c: &ReadCtx) -> Parsed {
    todo!()
}
