//! padtriage binary: parse arguments, run the library, map the outcome to an exit code.

mod cli;

// See Cargo.toml for why.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc.h (v2 and v3), which the sys crate names no
/// constant for.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Arenas committed as they are used, not whole (see Cargo.toml). It must be set before the
/// first allocation, which the standard library makes before `main`: on Linux it runs as an
/// ELF initialiser, as the `ctor` crate would do it.
extern "C" fn lazy_arenas() {
    // SAFETY: sets an option value; it allocates nothing and needs no initialised runtime.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static LAZY_ARENAS: extern "C" fn() = lazy_arenas;

fn main() -> std::process::ExitCode {
    // Elsewhere, as early as this program gets to run.
    #[cfg(not(target_os = "linux"))]
    lazy_arenas();
    cli::main()
}
