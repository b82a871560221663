//! Test and sample-generation support: an EVTX writer that encodes records the way Windows does,
//! builders for the events padtriage reads, and the scenario corpus behind `samples/`. Used by
//! tests, `samples/` generation and benches; not by the analyzer itself.

pub mod events;
pub mod evtx_writer;
pub mod scenarios;
