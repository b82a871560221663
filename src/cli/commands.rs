//! The subcommands: open the bundle, run the stages, hand the result to a renderer.

use super::args::{parse_time, parse_window};
use super::{exit, AnalyzeFormat, Command, FailOn, InventoryFormat, RulesAction};
use anyhow::{bail, Context, Result};
use padtriage::bundle::Limits;
use padtriage::model::{EventFilter, FileReport};
use padtriage::timeline::{self, Pass, ReadOptions};
use padtriage::{pipeline, report};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// A folder, a .zip, or individual files.
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundle: Vec<PathBuf>,
    /// Time of a failed run when the bundle holds no run record (UTC).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The connection's user name, when known (any form: UPN, DOMAIN\user, .\user).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The run's error code, with --at (default WindowsIdentityIncorrect).
    #[arg(long, value_name = "CODE")]
    pub error: Option<String>,
    /// The machine the run failed on, for a bundle holding several machines' evidence.
    #[arg(long, value_name = "NAME")]
    pub machine: Option<String>,
    /// Time zone of times written without one (PAD logs, exports): +02:00 or Europe/Berlin.
    /// Without it the zone is inferred from the evidence where it can be shown.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Evidence window around each run: `15m,2m` (before,after) or one duration for both.
    #[arg(long, value_name = "DURATION", default_value = "15m,2m")]
    pub window: String,
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
    /// Exit 1 when any run has a cause at this verdict or stronger (for scripted scans).
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<FailOn>,
    /// Add or override rules from this folder of *.toml files.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Colour in text output: auto (terminal and no NO_COLOR), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: String,
}

pub fn run(command: Command, threads: usize, progress: bool) -> Result<u8> {
    let opts = ReadOptions { threads, progress };
    match command {
        Command::Inventory { bundle, format } => inventory(&bundle, format, opts),
        Command::Timeline {
            bundle,
            from,
            to,
            around,
            window,
            format,
        } => {
            let mut lo = from
                .as_deref()
                .map(parse_time)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let mut hi = to
                .as_deref()
                .map(parse_time)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            if let Some(a) = around.as_deref() {
                let centre = parse_time(a).map_err(anyhow::Error::msg)?;
                let (before, after) = parse_window(&window).map_err(anyhow::Error::msg)?;
                lo = Some(lo.map_or(centre - before, |l| l.max(centre - before)));
                hi = Some(hi.map_or(centre + after, |h| h.min(centre + after)));
            }
            let filter = match (lo, hi) {
                (None, None) => EventFilter::all(),
                (l, h) => {
                    let l = l.unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
                    let h = h.unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
                    if l > h {
                        bail!("the time range is empty: --from is after --to");
                    }
                    EventFilter {
                        ranges: Some(vec![(l, h)]),
                    }
                }
            };
            let b = open(&bundle)?;
            let mut out = std::io::BufWriter::with_capacity(256 << 10, std::io::stdout().lock());
            let format = format.into();
            report::timeline::header(format, &mut out)?;
            let tl = timeline::write_sorted(
                &b,
                &filter,
                Pass::All,
                opts,
                &report::timeline::Lines(format),
                timeline::SORT_BUDGET,
                &mut out,
            )?;
            out.flush()?;
            report::problems_to_stderr(&tl.files);
            Ok(partial_code(&tl.files))
        }
        Command::Analyze(args) => analyze(args, opts),
        Command::Rules { action } => rules(action),
    }
}

fn open(paths: &[PathBuf]) -> Result<padtriage::bundle::Bundle> {
    pipeline::open(paths, &Limits::default()).map_err(anyhow::Error::new)
}

/// 3 when any input was skipped or partly read, else 0.
pub fn partial_code(files: &[FileReport]) -> u8 {
    if files.iter().any(FileReport::is_partial) {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

fn inventory(paths: &[PathBuf], format: InventoryFormat, opts: ReadOptions) -> Result<u8> {
    let b = open(paths)?;
    // Inventory counts everything and keeps no event.
    let filter = EventFilter {
        ranges: Some(Vec::new()),
    };
    let tl = timeline::read(&b, &filter, Pass::All, opts);
    let mut out = std::io::stdout().lock();
    match format {
        InventoryFormat::Text => report::inventory::text(&b.root, &tl.files, &mut out)?,
        InventoryFormat::Json => report::inventory::json(&b.root, &tl.files, &mut out)?,
    }
    out.flush()?;
    Ok(partial_code(&tl.files))
}

/// `analyze`: the whole job on one bundle (see `pipeline::analyze`), then one report.
pub fn analyze(args: AnalyzeArgs, opts: ReadOptions) -> Result<u8> {
    use padtriage::diagnose::{rules::RuleSet, runs, verdict::Verdict};
    use padtriage::report::analysis::{self, Style};
    let (before, after) = parse_window(&args.window).map_err(anyhow::Error::msg)?;
    let hint = runs::RunHint {
        at: args
            .at
            .as_deref()
            .map(parse_time)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        user: args.user.clone(),
        error: args.error.clone(),
        machine: args.machine.clone(),
    };
    let tz = args
        .tz
        .as_deref()
        .map(padtriage::time::Zone::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        "auto" => std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
        other => bail!("--color takes auto, always or never, not '{other}'"),
    };
    let rules = RuleSet::load(args.rules.as_deref()).context("could not load the rules")?;
    let b = open(&args.bundle)?;
    let done = pipeline::analyze(
        &b,
        &rules,
        &pipeline::AnalyzeOptions {
            before,
            after,
            hint,
            tz,
            read: opts,
        },
    );
    let doc = &done.analysis;
    let mut out = std::io::stdout().lock();
    match args.format {
        AnalyzeFormat::Text => analysis::text(doc, Style { color }, &mut out)?,
        AnalyzeFormat::Json => analysis::json(doc, &mut out)?,
        AnalyzeFormat::Markdown => analysis::markdown(doc, &mut out)?,
    }
    out.flush()?;
    let failed = match args.fail_on {
        Some(FailOn::Confirmed) => doc.has_verdict_at_least(Verdict::Confirmed),
        Some(FailOn::Likely) => doc.has_verdict_at_least(Verdict::Likely),
        None => false,
    };
    Ok(if failed {
        exit::FAIL_ON
    } else {
        partial_code(&done.files)
    })
}

fn rules(action: RulesAction) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match action {
        RulesAction::List { rules } => {
            let set = padtriage::diagnose::rules::RuleSet::load(rules.as_deref())
                .context("could not load the rules")?;
            report::rules_list(&set, &mut out)?;
            Ok(exit::OK)
        }
        RulesAction::Check { dir } => match padtriage::diagnose::rules::RuleSet::load(Some(&dir)) {
            Ok(set) => {
                writeln!(
                    out,
                    "{}: {} rule files OK ({} rules in effect with the embedded ones)",
                    dir.display(),
                    set.from_dir,
                    set.rules.len()
                )?;
                Ok(exit::OK)
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "padtriage: {e}");
                Ok(exit::USAGE)
            }
        },
    }
}
