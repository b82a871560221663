//! Test and sample-generation support: an EVTX writer that encodes records the way Windows does,
//! and builders for the events padtriage reads. Used by tests, `samples/` generation and benches;
//! not by the analyzer itself.

pub mod events;
pub mod evtx_writer;
