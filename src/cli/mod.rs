//! Command-line interface (the binary's own; not part of the library): flags and subcommands,
//! progress, exit codes, and the wiring of the library's stages. Parsing details live in
//! `sources`; rendering in `report`; the whole analysis of a bundle in `pipeline`.

pub mod args;
mod commands;
mod scan;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, documented in the README.
pub mod exit {
    /// Analysed; every input was read completely.
    pub const OK: u8 = 0;
    /// `--fail-on` threshold reached (a cause confirmed, or likely).
    pub const FAIL_ON: u8 = 1;
    /// Bad usage, or the bundle could not be read at all.
    pub const USAGE: u8 = 2;
    /// Completed, but some input was skipped or only partly read (see the report's problems).
    pub const PARTIAL: u8 = 3;
}

#[derive(Parser, Debug)]
#[command(
    name = "padtriage",
    version,
    about = "Diagnose Power Automate desktop-flow credential failures from a diagnostic bundle",
    long_about = "Reads a customer's diagnostic bundle (a folder, .zip or files: .evtx, Event Viewer XML, \
dsregcmd /status output, Power Automate for desktop logs, run records), puts the evidence on one UTC \
timeline and says, cause by cause, why a desktop-flow run failed with WindowsIdentityIncorrect or \
InvalidConnectionCredentials."
)]
pub struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Never draw a progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, global = true)]
    pub no_progress: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List each file of the bundle: detected kind, channel, record count, time range, problems.
    Inventory {
        /// A folder, a .zip, or individual files.
        #[arg(required = true, value_name = "BUNDLE")]
        bundle: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = InventoryFormat::Text)]
        format: InventoryFormat,
    },
    /// Print the merged timeline of relevant events (UTC).
    Timeline {
        #[arg(required = true, value_name = "BUNDLE")]
        bundle: Vec<PathBuf>,
        /// Only events at or after this time (UTC, e.g. 2025-06-02T13:00:00Z).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Only events at or before this time.
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Centre a window on this time (use with --window).
        #[arg(long, value_name = "TIME")]
        around: Option<String>,
        /// Window around --around: `10m` (both sides) or `15m,2m` (before,after).
        #[arg(long, value_name = "DURATION", default_value = "15m,2m")]
        window: String,
        #[arg(long, value_enum, default_value_t = TimelineFormat::Text)]
        format: TimelineFormat,
    },
    /// Diagnose every failed desktop-flow run in the bundle, cause by cause.
    Analyze(commands::AnalyzeArgs),
    /// Analyse many bundles (an inbox's sub-folders and zips), each on its own, incrementally.
    Scan(scan::ScanArgs),
    /// List or validate diagnosis rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum RulesAction {
    /// List the rules in effect (embedded, plus --rules DIR).
    List {
        /// Add or override rules from this folder of *.toml files.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Validate a folder of rule files; errors name the file and line.
    Check {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InventoryFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineFormat {
    Text,
    Jsonl,
    Csv,
}

impl From<TimelineFormat> for padtriage::report::timeline::TimelineFormat {
    fn from(f: TimelineFormat) -> Self {
        use padtriage::report::timeline::TimelineFormat as R;
        match f {
            TimelineFormat::Text => R::Text,
            TimelineFormat::Jsonl => R::Jsonl,
            TimelineFormat::Csv => R::Csv,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalyzeFormat {
    Text,
    Json,
    Markdown,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Confirmed,
    Likely,
}

/// Run the CLI and return the process exit code. Errors are printed for people, without
/// backtraces; a closed stdout (`| head`) ends the run quietly.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let progress = !cli.no_progress && std::io::stderr().is_terminal();
    let threads = cli.threads.unwrap_or(0);
    if threads > 0 {
        // The global pool also serves the EVTX chunk workers.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    match commands::run(cli.command, threads, progress) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(exit::OK);
            }
            // Never a panic, even with stderr closed.
            let _ = writeln!(std::io::stderr(), "padtriage: error: {e:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
