//! (Re)write the sample bundles: `cargo run --example gen-samples -- samples [--large]`.
//! Same code, same bytes: the committed `samples/` must match what this writes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut out: Option<PathBuf> = None;
    let mut large = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--large" => large = true,
            "-h" | "--help" => {
                println!("usage: gen-samples <out-dir> [--large]");
                return ExitCode::SUCCESS;
            }
            a if a.starts_with('-') => {
                eprintln!("gen-samples: unknown option {a}");
                return ExitCode::from(2);
            }
            a => out = Some(PathBuf::from(a)),
        }
    }
    let Some(out) = out else {
        eprintln!("usage: gen-samples <out-dir> [--large]");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    match padtriage_testkit::scenarios::write_all(&out, large) {
        Ok(()) => {
            println!(
                "wrote the sample bundles to {} in {:.1?}",
                out.display(),
                start.elapsed()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-samples: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}
