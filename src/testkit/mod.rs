//! Test and sample-generation support: an EVTX writer that encodes records the way Windows does,
//! builders for the events padtriage reads, the scenario corpus behind `samples/`, and a corpus
//! of broken inputs. Used by tests, `samples/` generation, fuzz seeds and benches; not by the
//! analyzer itself.

pub mod broken;
pub mod events;
pub mod evtx_writer;
pub mod scenarios;
