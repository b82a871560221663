//! Helpers shared by integration tests.

use std::path::PathBuf;

/// The real Windows logs build.rs found (`../shared/real-evtx`, or `REAL_EVTX`). Tests reading
/// them carry `#[cfg_attr(not(real_evtx), ignore = ...)]`: without the folder they are ignored
/// and say why; under `CI=true` they run, and a missing folder fails them here.
pub fn real_dir() -> PathBuf {
    match option_env!("PADTRIAGE_REAL_EVTX") {
        Some(dir) => PathBuf::from(dir),
        None => panic!("../shared/real-evtx not found next to the repository (or set REAL_EVTX)"),
    }
}
