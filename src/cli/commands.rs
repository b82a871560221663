//! The subcommands: open the bundle, run the stages, hand the result to a renderer.

use super::args::{parse_time, parse_window, Time, Window};
use super::output::{Output, OutputArgs};
use super::progress::Bar;
use super::redact::RedactArgs;
use super::{
    exit, AnalyzeFormat, BundleArgs, ColorWhen, Command, FailOn, InventoryFormat, RulesAction,
    RulesFormat, Settings, TimelineFormat,
};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use padtriage::bundle::{Bundle, Limits};
use padtriage::model::{EventFilter, FileKind, FileReport};
use padtriage::report::redact::{LineSyntax, RedactLines, Redactor, SharedIdentifiers};
use padtriage::timeline::{self, Pass, ReadOptions};
use padtriage::{pipeline, report};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub bundle: BundleArgs,
    /// Time of a failed run, when the bundle holds no run record of it (UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<Time>,
    /// The connection's user name, when known (any form: UPN, DOMAIN\user, .\user).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The error code of the run given with --at [default: WindowsIdentityIncorrect].
    #[arg(long, value_name = "CODE", requires = "at")]
    pub error: Option<String>,
    /// The machine the run failed on, for a bundle holding several machines' evidence.
    #[arg(long, value_name = "NAME")]
    pub machine: Option<String>,
    /// Time zone of times written without one (PAD logs, exports): +02:00 or Europe/Berlin.
    /// Without it the zone is inferred from the evidence where it can be shown.
    #[arg(long, value_name = "ZONE", value_parser = padtriage::time::Zone::parse)]
    pub tz: Option<padtriage::time::Zone>,
    /// Evidence window around each run: `15m,2m` (before,after) or one duration for both sides.
    #[arg(long, value_name = "DURATION", value_parser = parse_window, default_value = "15m,2m")]
    pub window: Window,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
    /// Exit 1 when any run has a cause at this verdict or stronger (for scripted scans).
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<FailOn>,
    /// Add or override rules from this folder of *.toml files.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Colour in text output.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub redact: RedactArgs,
    /// Text: every finding, citation, context and note, ruled-out causes included, with
    /// records whole (the default keeps a one-run report to about one screen).
    #[arg(short, long)]
    pub verbose: bool,
}

pub fn run(command: Command, settings: &Settings) -> Result<u8> {
    match command {
        Command::Inventory {
            bundle,
            format,
            out,
            redact,
        } => inventory(&bundle, format, &out, &redact, settings),
        Command::Timeline {
            bundle,
            from,
            to,
            around,
            window,
            include_estimated,
            kind,
            user,
            format,
            out,
            redact,
        } => {
            // clap refuses --from/--to with --around, and --window without it.
            let (from, to) = match around {
                Some(centre) => {
                    let (before, after) = window;
                    (
                        centre.checked_sub_signed(before),
                        centre.checked_add_signed(after),
                    )
                }
                None => (from, to),
            };
            // A time of a file's date is no evidence of being in a range.
            let ranged = from.is_some() || to.is_some();
            let keep = timeline::Keep::new(&kind, user.as_deref(), ranged && !include_estimated)
                .map_err(anyhow::Error::msg)?;
            timeline(&bundle, (from, to), &keep, format, &out, &redact, settings)
        }
        Command::Analyze(args) => analyze(args, settings),
        Command::Scan(args) => super::scan::run(args, settings),
        Command::Rules { action } => rules(action),
        Command::Completions { shell } => {
            let mut out = Output::stdout(None);
            clap_complete::generate(shell, &mut cli_command(), "padtriage", &mut out);
            out.flush()?;
            Ok(exit::OK)
        }
        Command::Man { dir } => man(dir),
    }
}

fn cli_command() -> clap::Command {
    <super::Cli as clap::CommandFactory>::command()
}

fn man(dir: Option<PathBuf>) -> Result<u8> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(cli_command(), &dir))
                .with_context(|| {
                    format!("could not write the manual pages into {}", dir.display())
                })?;
        }
        None => {
            let mut out = Output::stdout(None);
            clap_mangen::Man::new(cli_command()).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(exit::OK)
}

fn open(paths: &BundleArgs) -> Result<Bundle> {
    pipeline::open(&paths.bundle, &Limits::default()).map_err(anyhow::Error::new)
}

/// The command's one progress bar: from 0 to the size of every input in the bundle (the
/// passes of a command together read each input once).
fn bar(b: &Bundle, settings: &Settings) -> Bar {
    Bar::start(settings.progress, b.inputs.iter().map(|i| i.size).sum())
}

fn read_options<'a>(settings: &Settings, bar: &'a Bar) -> ReadOptions<'a> {
    ReadOptions {
        threads: settings.threads,
        progress: bar.count(),
    }
}

/// 3 when any input was skipped or partly read, else 0.
pub fn partial_code(files: &[FileReport]) -> u8 {
    if files.iter().any(FileReport::is_partial) {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

/// Whether the bundle holds any file padtriage reads as evidence.
fn has_evidence(b: &Bundle) -> bool {
    b.inputs.iter().any(|i| i.kind.is_format())
}

/// Why there is nothing to analyse in a bundle without evidence: what it holds, what would do.
fn no_evidence(b: &Bundle, settings: &Settings) {
    let lost = b
        .skipped
        .iter()
        .filter(|f| f.kind != FileKind::Other)
        .count();
    let names: Vec<&str> = b.skipped.iter().map(|f| f.path.as_str()).collect();
    let what = match names.as_slice() {
        [] => format!("the bundle ({}) holds no file", b.root),
        _ if lost > 0 => format!(
            "no evidence file in the bundle could be read ({lost} skipped, listed with the reason)"
        ),
        [one] => format!("{one}, the bundle's only file, is not evidence padtriage reads"),
        many => format!(
            "none of the bundle's {} files ({}{}) is evidence padtriage reads",
            many.len(),
            many[..many.len().min(3)].join(", "),
            if many.len() > 3 { ", ..." } else { "" }
        ),
    };
    settings.notice(format_args!(
        "nothing to analyse: {what}; padtriage reads .evtx event logs, Event Viewer XML exports, \
         dsregcmd /status output, Power Automate desktop logs and run records \
         (`padtriage inventory` says what each file is)"
    ));
}

fn inventory(
    paths: &BundleArgs,
    format: InventoryFormat,
    out_args: &OutputArgs,
    redact: &RedactArgs,
    settings: &Settings,
) -> Result<u8> {
    out_args.check_outside(&paths.bundle)?;
    let b = open(paths)?;
    let bar = bar(&b, settings);
    // Inventory counts everything and keeps no event.
    let filter = EventFilter {
        ranges: Some(Vec::new()),
    };
    let tl = timeline::read(&b, &filter, Pass::All, read_options(settings, &bar));
    bar.finish();
    // Redacted: the identifiers come from a second pass, which reads the events this one
    // skipped.
    let redactor = if redact.redact {
        let mut ids = pipeline::identifiers(&b, settings.threads);
        tl.files.iter().for_each(|f| ids.add_file(f));
        redact.redactor(&ids)?
    } else {
        None
    };
    let (root, files) = match &redactor {
        Some(r) => (r.redact(&b.root).into_owned(), r.files(&tl.files)?),
        None => (b.root.clone(), tl.files.clone()),
    };
    let mut out = Output::open(out_args, None)?;
    match format {
        InventoryFormat::Text => report::inventory::text(&root, &files, &mut out)?,
        InventoryFormat::Json => report::inventory::json(&root, &files, &mut out)?,
    }
    out.finish()?;
    Ok(partial_code(&tl.files))
}

/// `timeline --redact`'s renderer: the timeline's lines, and every event's identifiers
/// gathered as it is read (the redactor needs them all before the first line is written).
struct Gathering<'a> {
    lines: report::timeline::Lines,
    ids: &'a SharedIdentifiers,
}

impl timeline::Render for Gathering<'_> {
    fn line(&self, ev: &padtriage::sources::Event, out: &mut Vec<u8>) {
        self.lines.line(ev, out);
    }

    fn security(
        &self,
        head: &timeline::Head,
        data: &padtriage::sources::security::SecurityEvent<&str>,
        out: &mut Vec<u8>,
    ) {
        self.lines.security(head, data, out);
    }

    fn splits_security(&self) -> bool {
        self.lines.splits_security()
    }

    fn security_edge(&self, head: &timeline::Head, after: bool, out: &mut Vec<u8>) {
        self.lines.security_edge(head, after, out);
    }

    fn security_middle(
        &self,
        head: &timeline::Head,
        data: &padtriage::sources::security::SecurityEvent<&str>,
        out: &mut Vec<u8>,
    ) {
        self.lines.security_middle(head, data, out);
    }

    fn sees_events(&self) -> bool {
        true
    }

    fn seen(&self, ev: &padtriage::sources::Event) {
        self.ids.add_event(ev);
    }
}

fn timeline(
    paths: &BundleArgs,
    (from, to): (Option<Time>, Option<Time>),
    keep: &timeline::Keep,
    format: TimelineFormat,
    out_args: &OutputArgs,
    redact: &RedactArgs,
    settings: &Settings,
) -> Result<u8> {
    let filter = match (from, to) {
        (None, None) => EventFilter::all(),
        (l, h) => {
            let l = l.unwrap_or(DateTime::<Utc>::MIN_UTC);
            let h = h.unwrap_or(DateTime::<Utc>::MAX_UTC);
            if l > h {
                bail!("the time range is empty: --from is after --to");
            }
            EventFilter {
                ranges: Some(vec![(l, h)]),
            }
        }
    };
    out_args.check_outside(&paths.bundle)?;
    let b = open(paths)?;
    let bar = bar(&b, settings);
    // The bar is cleared before the first byte of the timeline reaches the output.
    let mut out = std::io::BufWriter::with_capacity(256 << 10, Output::open(out_args, Some(&bar))?);
    let syntax = match format {
        TimelineFormat::Text => LineSyntax::Text,
        TimelineFormat::Jsonl | TimelineFormat::Timesketch => LineSyntax::JsonLines,
        TimelineFormat::Csv => LineSyntax::Csv { keep_columns: 2 },
    };
    let format = format.into();
    report::timeline::header(format, &mut out)?;
    // Redacted, each event's identifiers are gathered as it is read; the lines are rewritten
    // as they are written, which is after every event was read (they are sorted).
    let ids = SharedIdentifiers::default();
    let render = Gathering {
        lines: report::timeline::Lines(format),
        ids: &ids,
    };
    let read = read_options(settings, &bar);
    let tl = if redact.redact {
        let key = redact.key()?;
        let mut lines = RedactLines::new(&mut out, syntax, || Redactor::new(&key, &ids.take()));
        let tl = timeline::write_kept(
            &b,
            &filter,
            keep,
            Pass::All,
            read,
            &render,
            timeline::SORT_BUDGET,
            &mut lines,
        )?;
        lines.finish()?;
        tl
    } else {
        timeline::write_kept(
            &b,
            &filter,
            keep,
            Pass::All,
            read,
            &render.lines,
            timeline::SORT_BUDGET,
            &mut out,
        )?
    };
    out.into_inner()
        .map_err(|e| anyhow::Error::new(e.into_error()))?
        .finish()?;
    bar.finish();
    if !settings.quiet {
        report::problems_to_stderr(&tl.files);
    }
    let code = partial_code(&tl.files);
    if !has_evidence(&b) {
        no_evidence(&b, settings);
        return Ok(nothing_unless(code));
    }
    if tl.files.iter().all(|f| f.kept == 0) {
        settings.notice(format_args!(
            "the timeline is empty: the evidence read holds no event padtriage uses{}",
            if filter.ranges.is_some() {
                " in the time range given"
            } else {
                ""
            }
        ));
    }
    Ok(code)
}

/// Exit code 4 unless input was lost (3 wins: nothing found in input not read completely is
/// not a finding).
fn nothing_unless(code: u8) -> u8 {
    if code == exit::PARTIAL {
        code
    } else {
        exit::NOTHING
    }
}

/// `analyze`: the whole job on one bundle (see `pipeline::analyze`), then one report.
pub fn analyze(args: AnalyzeArgs, settings: &Settings) -> Result<u8> {
    use padtriage::diagnose::{rules::RuleSet, runs, verdict::Verdict};
    use padtriage::report::analysis::{self, TextOptions};
    let (before, after) = args.window;
    let hint = runs::RunHint {
        at: args.at,
        user: args.user.clone(),
        error: args.error.clone(),
        machine: args.machine.clone(),
    };
    let tz = args.tz;
    let color = match args.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => std::env::var_os("NO_COLOR").is_none() && args.out.is_terminal(),
    };
    args.out.check_outside(&args.bundle.bundle)?;
    let rules = RuleSet::load(args.rules.as_deref()).context("could not load the rules")?;
    let b = open(&args.bundle)?;
    if let Some(several) = pipeline::several_bundles(&args.bundle.bundle, &b) {
        return Err(several.into());
    }
    let bar = bar(&b, settings);
    let done = pipeline::analyze(
        &b,
        &rules,
        &pipeline::AnalyzeOptions {
            before,
            after,
            hint,
            tz,
            read: read_options(settings, &bar),
            identifiers: args.redact.redact,
        },
    );
    bar.finish();
    let redacted = match args.redact.redactor(&done.identifiers)? {
        Some(r) => Some(r.analysis(&done.analysis)?),
        None => None,
    };
    let doc = redacted.as_ref().unwrap_or(&done.analysis);
    let mut out = Output::open(&args.out, None)?;
    match args.format {
        AnalyzeFormat::Text => analysis::text(
            doc,
            TextOptions {
                color,
                verbose: args.verbose,
                width: if args.out.is_terminal() {
                    terminal_width()
                } else {
                    None
                },
            },
            &mut out,
        )?,
        AnalyzeFormat::Json => analysis::json(doc, &mut out)?,
        AnalyzeFormat::Markdown => analysis::markdown(doc, &mut out)?,
        AnalyzeFormat::Html => padtriage::report::html::analysis(doc, &mut out)?,
    }
    out.finish()?;
    let failed = match args.fail_on {
        Some(FailOn::Confirmed) => doc.has_verdict_at_least(Verdict::Confirmed),
        Some(FailOn::Likely) => doc.has_verdict_at_least(Verdict::Likely),
        None => false,
    };
    if failed {
        return Ok(exit::FAIL_ON);
    }
    let code = partial_code(&done.files);
    if !has_evidence(&b) {
        no_evidence(&b, settings);
        return Ok(nothing_unless(code));
    }
    if doc.runs.is_empty() {
        settings.notice(format_args!(
            "nothing to analyse: no failed desktop-flow run in the evidence read ({}); \
             if you know when the run failed, pass --at TIME",
            what_was_read(&done.files)
        ));
        return Ok(nothing_unless(code));
    }
    Ok(code)
}

/// The terminal's width (100 when it does not say), so that long records are cut or wrapped
/// there; a file or pipe gets every line whole.
fn terminal_width() -> Option<usize> {
    let cols = console::Term::stdout().size_checked().map(|(_, cols)| cols);
    Some(cols.map_or(100, usize::from))
}

/// The evidence files read, for a message: `Security.evtx (evtx, 178 records), ...`.
fn what_was_read(files: &[FileReport]) -> String {
    const SHOWN: usize = 4;
    let read: Vec<&FileReport> = files
        .iter()
        .filter(|f| f.skipped.is_none() && f.kind.is_format())
        .collect();
    let mut text = read
        .iter()
        .take(SHOWN)
        .map(|f| format!("{} ({}, {} records)", f.path, f.kind.as_str(), f.records))
        .collect::<Vec<_>>()
        .join(", ");
    if read.len() > SHOWN {
        text.push_str(&format!(", and {} more files", read.len() - SHOWN));
    }
    text
}

fn rules(action: RulesAction) -> Result<u8> {
    match action {
        RulesAction::List { rules, format, out } => {
            let set = padtriage::diagnose::rules::RuleSet::load(rules.as_deref())
                .context("could not load the rules")?;
            let mut out = Output::open(&out, None)?;
            match format {
                RulesFormat::Text => report::rules_list(&set, &mut out)?,
                RulesFormat::Json => report::rules_list_json(&set, &mut out)?,
            }
            out.finish()?;
            Ok(exit::OK)
        }
        RulesAction::Check { dir } => match padtriage::diagnose::rules::RuleSet::load(Some(&dir)) {
            Ok(set) => {
                let mut out = Output::stdout(None);
                writeln!(
                    out,
                    "{}: {} rule files OK ({} rules in effect with the embedded ones)",
                    dir.display(),
                    set.from_dir,
                    set.rules.len()
                )?;
                out.flush()?;
                Ok(exit::OK)
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "padtriage: {e}");
                Ok(exit::USAGE)
            }
        },
    }
}
