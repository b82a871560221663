//! Command-line interface (the binary's own; not part of the library): flags and subcommands,
//! progress, exit codes, and the wiring of the library's stages. Parsing details live in
//! `sources`; rendering in `report`; the whole analysis of a bundle in `pipeline`.

pub mod args;
mod commands;
pub mod output;
mod progress;
pub mod redact;
mod scan;

use args::{Time, Window};
use clap::{Parser, Subcommand, ValueEnum};
use output::OutputArgs;
use redact::RedactArgs;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, documented in the README and in `--help`.
pub mod exit {
    /// Done; every input was read completely.
    pub const OK: u8 = 0;
    /// `--fail-on` threshold reached (a cause confirmed, or likely).
    pub const FAIL_ON: u8 = 1;
    /// Bad usage, or the bundle could not be read at all, or the output not written.
    pub const USAGE: u8 = 2;
    /// Completed, but some input was skipped or only partly read (see the report's problems).
    pub const PARTIAL: u8 = 3;
    /// Nothing to analyse: no evidence file in the bundle, or (`analyze`) no failed run in it.
    pub const NOTHING: u8 = 4;
}

/// Shown after every command's help: what scripts and people need to know about all of them.
const AFTER_HELP: &str = "\
Several BUNDLE paths (folders, .zip files, evidence files, in any mix) are read together as one bundle.
Times are UTC: 2025-06-02T13:17:05Z, '2025-06-02 13:17', 2025-06-02 (midnight), or with an offset (2025-06-02T15:17:05+02:00).
Durations need a unit: 90s, 15m, 2h, 1d, or combined: 1h30m.

Exit codes:
  0  done; every input was read completely
  1  analyze --fail-on: some run has a cause at that verdict or stronger
  2  bad usage, unreadable rules, a bundle that could not be read at all, or output that could not be written
  3  done, but some input was skipped or only partly read (listed in the output)
  4  nothing to analyse: no evidence file in the bundle, or (analyze) no failed run in the evidence
  1 wins over 3; 3 wins over 4 (nothing found in input that was not read completely is not a finding).";

const GLOBAL: &str = "Global options";

#[derive(Parser, Debug)]
#[command(
    name = "padtriage",
    version,
    about = "Diagnose Power Automate desktop-flow credential failures from a diagnostic bundle",
    long_about = "Reads a customer's diagnostic bundle (a folder, .zip or files: .evtx, Event Viewer XML, \
dsregcmd /status output, Power Automate for desktop logs, run records), puts the evidence on one UTC \
timeline and says, cause by cause, why a desktop-flow run failed with WindowsIdentityIncorrect or \
InvalidConnectionCredentials.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Worker threads, 1 to 256 [default: every core, at most 256].
    #[arg(long, global = true, value_name = "N", value_parser = args::parse_threads, help_heading = GLOBAL)]
    pub threads: Option<usize>,
    /// Draw no progress bar (one is drawn on stderr only when stderr is a terminal).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_progress: bool,
    /// No progress bar and no notices on stderr; errors are still printed.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The bundle argument every reading command takes.
#[derive(clap::Args, Debug)]
pub struct BundleArgs {
    /// Folders, .zip files or evidence files, read together as one bundle.
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundle: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List each file of the bundle: detected kind, channel, record count, time range, problems.
    #[command(after_help = AFTER_HELP)]
    Inventory {
        #[command(flatten)]
        bundle: BundleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = InventoryFormat::Text)]
        format: InventoryFormat,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        redact: RedactArgs,
    },
    /// Print the merged timeline of the events padtriage uses, in UTC order.
    #[command(
        after_help = AFTER_HELP,
        group(clap::ArgGroup::new("range").args(["from", "to", "around"]).multiple(true))
    )]
    Timeline {
        #[command(flatten)]
        bundle: BundleArgs,
        /// Only events at or after this time (UTC).
        #[arg(long, value_name = "TIME", value_parser = args::parse_time, conflicts_with = "around")]
        from: Option<Time>,
        /// Only events at or before this time (UTC).
        #[arg(long, value_name = "TIME", value_parser = args::parse_time, conflicts_with = "around")]
        to: Option<Time>,
        /// Only events in a window around this time (UTC); see --window.
        #[arg(long, value_name = "TIME", value_parser = args::parse_time)]
        around: Option<Time>,
        /// The window around --around: `10m` (both sides) or `15m,2m` (before,after).
        #[arg(
            long,
            value_name = "DURATION",
            value_parser = args::parse_window,
            default_value = "15m,2m",
            requires = "around"
        )]
        window: Window,
        /// With --from, --to or --around: also events whose time is only estimated from a
        /// file's date (a dsregcmd dump or error JSON that records no time); left out by
        /// default, since their place in the range is a guess.
        #[arg(long, requires = "range")]
        include_estimated: bool,
        /// Only events of these kinds: `security.4625`, every kind of a family (`security.*`
        /// or `security`), several as a comma list or by repeating --kind. Families: security,
        /// aad, udr, scm, session, pad, run, dsregcmd.
        #[arg(long, value_name = "PATTERN")]
        kind: Vec<String>,
        /// Only events about this account (the logon's target account for Security events),
        /// matched as analyze matches accounts: across forms (jdoe@contoso.com may be
        /// CONTOSO\jdoe or AzureAD\jdoe), never across domains or SIDs (CONTOSO\jdoe is not
        /// FABRIKAM\jdoe); a bare name (jdoe) matches that name in every domain.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Output format: timesketch is JSON lines to import into Timesketch; csv suits
        /// Timeline Explorer.
        #[arg(long, value_enum, default_value_t = TimelineFormat::Text)]
        format: TimelineFormat,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        redact: RedactArgs,
    },
    /// Diagnose every failed desktop-flow run in the bundle, cause by cause.
    #[command(after_help = AFTER_HELP)]
    Analyze(commands::AnalyzeArgs),
    /// Analyse many bundles (an inbox's sub-folders and zips), each on its own, incrementally.
    Scan(scan::ScanArgs),
    /// List or validate diagnosis rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Print a shell completion script (install: see the README).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a folder.
    Man {
        /// Write padtriage.1 and padtriage-<command>.1 into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

impl Command {
    /// Whether the command reads a bundle (and so needs the worker threads).
    fn reads_bundle(&self) -> bool {
        matches!(
            self,
            Command::Inventory { .. } | Command::Timeline { .. } | Command::Analyze(_)
        )
    }
}

#[derive(Subcommand, Debug)]
pub enum RulesAction {
    /// List the rules in effect (embedded, plus --rules DIR).
    List {
        /// Add or override rules from this folder of *.toml files.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Output format (json: id, title, kb, priority, origin, evidence_count per rule).
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Validate a folder of rule files; errors name the file and line.
    Check {
        /// The folder of *.toml rule files to check.
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
pub enum RulesFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineFormat {
    Text,
    Jsonl,
    Csv,
    Timesketch,
}

impl From<TimelineFormat> for padtriage::report::timeline::TimelineFormat {
    fn from(f: TimelineFormat) -> Self {
        use padtriage::report::timeline::TimelineFormat as R;
        match f {
            TimelineFormat::Text => R::Text,
            TimelineFormat::Jsonl => R::Jsonl,
            TimelineFormat::Csv => R::Csv,
            TimelineFormat::Timesketch => R::Timesketch,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalyzeFormat {
    Text,
    Json,
    Markdown,
    /// One self-contained page (no network needed) with a timeline picture per run.
    Html,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Confirmed,
    Likely,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorWhen {
    /// When stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

/// What every command gets from the global options.
pub struct Settings {
    pub threads: usize,
    /// Draw a progress bar (stderr is a terminal, and neither --no-progress nor --quiet).
    pub progress: bool,
    /// Print no notices on stderr, only errors.
    pub quiet: bool,
}

impl Settings {
    /// A notice for the person at the terminal (not an error): on stderr, unless --quiet. A
    /// closed stderr is ignored: a notice is not worth a failure.
    pub fn notice(&self, text: std::fmt::Arguments) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "padtriage: {text}");
        }
    }
}

/// Run the CLI and return the process exit code. Errors are printed for people, without
/// backtraces; a closed stdout (`| head`) ends the run quietly.
pub fn main() -> ExitCode {
    quiet_panics();
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
    let mut settings = Settings {
        threads: cli.threads.unwrap_or_else(default_threads),
        progress: !cli.no_progress && !cli.quiet && std::io::stderr().is_terminal(),
        quiet: cli.quiet,
    };
    let result = if cli.command.reads_bundle() {
        match worker_pool(&settings) {
            // Everything runs inside the pool: the global one is never started, so a system
            // that refuses threads cannot make a later rayon call panic.
            Ok(pool) => {
                // The pool may be smaller than asked (see `worker_pool`); readers size to it.
                settings.threads = pool.current_num_threads();
                pool.install(|| commands::run(cli.command, &settings))
            }
            Err(e) => Err(e),
        }
    } else {
        commands::run(cli.command, &settings)
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(exit::OK);
            }
            // Never a panic, even with stderr closed.
            let _ = writeln!(std::io::stderr(), "padtriage: error: {}", describe(&e));
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Every core, up to the `--threads` cap.
fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(args::MAX_THREADS)
}

/// The pool the reading commands run in. When the system refuses that many threads (a
/// container's or user's limit), one worker still does the job, more slowly.
fn worker_pool(settings: &Settings) -> anyhow::Result<rayon::ThreadPool> {
    match pool_of(settings.threads) {
        Ok(pool) => Ok(pool),
        Err(e) if settings.threads > 1 => match pool_of(1) {
            Ok(pool) => {
                settings.notice(format_args!(
                    "could not start {} worker threads ({e}); reading with one",
                    settings.threads
                ));
                Ok(pool)
            }
            Err(_) => Err(no_threads(e)),
        },
        Err(e) => Err(no_threads(e)),
    }
}

/// A pool of `n` workers. When one fails to start, the pool ends those that did and this
/// waits for them to be gone, so that a smaller pool can be tried under the same limit.
fn pool_of(n: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let started = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let handles = std::sync::Arc::clone(&started);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .spawn_handler(move |worker| {
            let h = std::thread::Builder::new().spawn(|| worker.run())?;
            handles.lock().unwrap_or_else(|p| p.into_inner()).push(h);
            Ok(())
        })
        .build();
    if pool.is_err() {
        for h in std::mem::take(&mut *started.lock().unwrap_or_else(|p| p.into_inner())) {
            let _ = h.join();
        }
    }
    pool
}

fn no_threads(e: rayon::ThreadPoolBuildError) -> anyhow::Error {
    anyhow::anyhow!(
        "could not start a worker thread ({e}): the system's limit on threads for this user or \
         container is reached; close other programs or raise the limit (ulimit -u)"
    )
}

/// A panic (a bug) is reported on one line, never with a backtrace, whatever RUST_BACKTRACE
/// says. Parsers' panics are caught per file and the run goes on; this is what the person sees.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "padtriage: internal error (a bug, please report it): panicked{at}: {what}"
        );
    }));
}

/// The error and its causes, each once: an error that already quotes its cause (the bundle
/// stage's "cannot be read (Permission denied)") is not followed by the cause again.
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
