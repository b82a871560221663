//! padtriage binary: parse arguments, run the library, map the outcome to an exit code.

mod cli;

// See Cargo.toml for why.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
