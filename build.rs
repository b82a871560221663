//! Embeds every rule file in `rules/` (one cause each): a rule added to the folder ships without
//! being listed anywhere else. Also finds the real Windows logs some tests read
//! (`../shared/real-evtx`): with them, `cfg(real_evtx)` is set and `PADTRIAGE_REAL_EVTX` names
//! the folder; without them those tests are ignored (and say why), except under `CI=true`,
//! where they run and fail.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    real_evtx();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// The rules shipped with padtriage: every `rules/*.toml`, by file name.\n\
         pub const EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for p in &files {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        // Debug formatting quotes and escapes both strings as Rust literals.
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            p.display().to_string()
        );
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("rules.rs");
    std::fs::write(&target, out)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
}

fn real_evtx() {
    println!("cargo::rustc-check-cfg=cfg(real_evtx)");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=REAL_EVTX");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("REAL_EVTX").map(std::path::PathBuf::from),
        Some(repo.join("../shared/real-evtx")),
        Some(repo.join("../../shared/real-evtx")),
    ];
    for c in candidates.iter().flatten() {
        // Watching the folder (or where it would appear) re-runs this when it comes or goes.
        if let Some(parent) = c.parent().filter(|p| p.is_dir()) {
            println!("cargo::rerun-if-changed={}", parent.display());
        }
    }
    let found = candidates.into_iter().flatten().find(|p| p.is_dir());
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if let Some(dir) = &found {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        println!("cargo::rustc-env=PADTRIAGE_REAL_EVTX={}", dir.display());
    }
    if found.is_some() || ci {
        println!("cargo::rustc-cfg=real_evtx");
    }
}
