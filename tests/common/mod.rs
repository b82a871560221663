//! Helpers shared by integration tests.

use std::path::PathBuf;

/// `<repo>/../shared/real-evtx` (CI and the main checkout), or one level further up (a
/// worktree). Missing: the caller's test is skipped, except under CI where it fails.
pub fn real_dir() -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let found = [
        repo.join("../shared/real-evtx"),
        repo.join("../../shared/real-evtx"),
    ]
    .into_iter()
    .find(|p| p.is_dir());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "shared/real-evtx not found next to the repository under CI"
        );
        eprintln!("skipped: shared/real-evtx not found");
    }
    found
}
