//! `padtriage scan`: many bundles, each analysed on its own (see `padtriage::scan`), with a
//! result per bundle, a summary, and a database for incremental rescans; and `scan --summary`,
//! the fleet summary read back from that database.

use super::args::{parse_duration, parse_time, parse_window, Window};
use super::redact::RedactArgs;
use super::{exit, FailOn};
use anyhow::{bail, Context, Result};
use padtriage::diagnose::{rules::RuleSet, verdict::Verdict};
use padtriage::pipeline::AnalyzeOptions;
use padtriage::scan::{
    self, db::Db, listing::Source, pages::Pages, summary, Engine, ScanOptions, Sinks,
};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Folders whose sub-folders and .zip files are the bundles (one bundle each).
    #[arg(value_name = "INBOX")]
    pub inbox: Vec<PathBuf>,
    /// Also scan the bundles listed in FILE, a path per line (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<String>,
    /// text: a summary for people; ndjson: one JSON line per bundle (schema/scan-row.schema.json);
    /// html: a fleet page (needs -o FILE) and each bundle's page in FILE-bundles/ beside it;
    /// csv: with --summary only.
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Write the results to FILE (atomically), not standard output; with --format ndjson or
    /// html the summary then goes to standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep each bundle's identity and findings in this SQLite database, and skip bundles
    /// unchanged since they were analysed with this padtriage and these rules.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Print the fleet summary from --db, reading no bundle.
    #[arg(long)]
    pub summary: bool,
    /// With --summary: only bundles analysed at or after this date or time (UTC).
    #[arg(long, value_name = "DATE", requires = "summary")]
    pub since: Option<String>,
    /// With --summary: one summary per day or ISO week the bundles were analysed.
    #[arg(long, value_enum, value_name = "PERIOD", requires = "summary")]
    pub by: Option<Period>,
    /// A bundle still being analysed after this long is recorded as failed and left behind.
    #[arg(long, value_name = "DURATION")]
    pub bundle_timeout: Option<String>,
    /// Exit 1 when a run of a bundle analysed in this scan has a cause at this verdict or stronger.
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<FailOn>,
    /// Add or override rules from this folder of *.toml files.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Evidence window around each run, as for analyze.
    #[arg(long, value_name = "DURATION", value_parser = parse_window, default_value = "15m,2m")]
    pub window: Window,
    /// Time zone of times written without one, as for analyze.
    #[arg(long, value_name = "ZONE", value_parser = padtriage::time::Zone::parse)]
    pub tz: Option<padtriage::time::Zone>,
    /// Print the padtriage version and rules digest results are made with (JSON), and exit.
    #[arg(long)]
    pub engine_info: bool,
    #[command(flatten)]
    pub redact: RedactArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    Text,
    Ndjson,
    Csv,
    Html,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
}

pub fn run(args: ScanArgs, settings: &super::Settings) -> Result<u8> {
    let (threads, progress) = (settings.threads, settings.progress);
    let (before, after) = args.window;
    let tz = args.tz;
    let analyze = AnalyzeOptions {
        before,
        after,
        tz,
        ..AnalyzeOptions::default()
    };
    if args.summary {
        return fleet_summary(&args);
    }
    let rules = RuleSet::load(args.rules.as_deref()).context("could not load the rules")?;
    if args.engine_info {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &Engine::new(&rules, &analyze))?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    if args.format == ScanFormat::Csv {
        bail!("--format csv is for the fleet summary (--db FILE --summary); a scan writes text, ndjson or html");
    }
    let html = args.format == ScanFormat::Html;
    if html && args.output.is_none() {
        bail!(
            "--format html writes a fleet page and a page per bundle in a folder beside it, so \
             it needs a file name: add -o FILE (e.g. -o scan.html)"
        );
    }
    if args.redact.redact && args.db.is_some() {
        bail!(
            "--redact cannot be used with --db: the database keeps real names (for rescans), \
             and bundles skipped as unchanged are not read again, so their names could not be \
             pseudonymised; scan without --db to share the results"
        );
    }
    if args.inbox.is_empty() && args.manifest.is_none() {
        bail!("nothing to scan: give an inbox folder (padtriage scan INBOX), or --manifest FILE|-");
    }
    let timeout = match args.bundle_timeout.as_deref() {
        None => None,
        Some(s) => {
            let d = parse_duration(s).map_err(anyhow::Error::msg)?;
            match d.to_std() {
                Ok(d) if !d.is_zero() => Some(d),
                _ => bail!("--bundle-timeout must be longer than zero, e.g. 10m"),
            }
        }
    };
    let mut sources: Vec<Source> = args.inbox.iter().cloned().map(Source::Inbox).collect();
    if let Some(m) = &args.manifest {
        let lines: Box<dyn BufRead + Send> = if m == "-" {
            Box::new(std::io::BufReader::new(std::io::stdin()))
        } else {
            let f = std::fs::File::open(m).with_context(|| {
                format!(
                    "{m}: the manifest cannot be opened; give a file of bundle paths, one a line"
                )
            })?;
            Box::new(std::io::BufReader::new(f))
        };
        sources.push(Source::Manifest {
            name: m.clone(),
            lines,
        });
    }
    scan::listing::check(&sources).map_err(anyhow::Error::msg)?;
    let mut pages = match (&args.output, html) {
        (Some(file), true) => {
            outside_inboxes(file, &args.inbox)?;
            Some(Pages::new(file).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let redact_key = if args.redact.redact {
        Some(Arc::new(args.redact.key()?))
    } else {
        None
    };
    let mut db = args
        .db
        .as_deref()
        .map(Db::open)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let workers = if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    let opts = ScanOptions {
        analyze,
        rules: Arc::new(rules),
        workers,
        timeout,
        fail_on: args.fail_on.map(|f| match f {
            FailOn::Confirmed => Verdict::Confirmed,
            FailOn::Likely => Verdict::Likely,
        }),
        redact_key,
        pages: html,
    };
    let bar = Bar::new(progress);
    let report = |bytes: u64, path: &str| bar.bundle(bytes, path);
    // With html, FILE is the fleet page, written by `pages`; the text summary goes to stdout.
    let mut output = Output::new(if html { None } else { args.output.as_deref() })?;
    let ndjson = args.format == ScanFormat::Ndjson;
    let tally = {
        let rows: Option<&mut dyn Write> = if ndjson { Some(output.writer()) } else { None };
        scan::scan(
            sources,
            &opts,
            Sinks {
                db: db.as_mut(),
                rows,
                progress: &report,
                pages: pages.as_mut(),
            },
        )
    };
    bar.finish();
    let mut tally = tally?;
    if let Some(pages) = pages {
        let summary = tally.fleet_summary()?;
        pages.finish(&summary).map_err(anyhow::Error::msg)?;
        tally.text(output.writer())?;
        output.commit()?;
    } else if ndjson {
        output.commit()?;
        if args.output.is_some() {
            let mut out = std::io::stdout().lock();
            tally.text(&mut out)?;
            out.flush()?;
        }
    } else {
        tally.text(output.writer())?;
        output.commit()?;
    }
    let c = &tally.counts;
    let troubled = c.bundles.get("failed").copied().unwrap_or(0)
        + c.bundles.get("partial").copied().unwrap_or(0)
        > 0
        || !tally.list_errors.is_empty();
    Ok(if tally.fail_on_hit {
        exit::FAIL_ON
    } else if troubled {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

/// The fleet page and its folder go nowhere inside an inbox: its sub-folders are bundles, and
/// the next scan would take the pages' folder for one.
fn outside_inboxes(file: &Path, inboxes: &[PathBuf]) -> Result<()> {
    let folder = scan::pages::folder_for(file);
    let at = PathBuf::from(scan::engine::absolute(&folder));
    for inbox in inboxes {
        let inbox_abs = PathBuf::from(scan::engine::absolute(inbox));
        if at.starts_with(&inbox_abs) {
            bail!(
                "the output {} would put its pages in {}, inside the inbox {}: padtriage never \
                 writes into a bundle or an inbox; give -o a file outside it",
                file.display(),
                folder.display(),
                inbox.display()
            );
        }
    }
    Ok(())
}

/// `scan --db FILE --summary`.
fn fleet_summary(args: &ScanArgs) -> Result<u8> {
    let Some(path) = &args.db else {
        bail!("--summary reads the scan database: give it with --db FILE");
    };
    if args.redact.redact {
        bail!(
            "--redact cannot be used with --summary: the database keeps real names and not \
             which of them identify someone; share a redacted scan instead \
             (padtriage scan INBOX --redact)"
        );
    }

    if !args.inbox.is_empty() || args.manifest.is_some() {
        bail!("--summary reads the database only and scans nothing: give no INBOX or --manifest");
    }
    let since = args
        .since
        .as_deref()
        .map(parse_time)
        .transpose()
        .map_err(anyhow::Error::msg)?
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
    let by = match args.by {
        None => summary::By::All,
        Some(Period::Day) => summary::By::Day,
        Some(Period::Week) => summary::By::Week,
    };
    let db = Db::open_existing(path).map_err(anyhow::Error::msg)?;
    let periods = summary::from_db(&db, since.as_deref(), by)
        .with_context(|| format!("{}: the scan database could not be read", path.display()))?;
    let mut output = Output::new(args.output.as_deref())?;
    let out = output.writer();
    match args.format {
        ScanFormat::Text => summary::periods_text(&path.display().to_string(), &periods, out)?,
        ScanFormat::Ndjson => summary::periods_ndjson(&periods, out)?,
        ScanFormat::Csv => summary::periods_csv(&periods, out)?,
        ScanFormat::Html => bail!(
            "--summary writes text, ndjson or csv; --format html is for a scan \
             (padtriage scan INBOX --format html -o FILE)"
        ),
    }
    output.commit()?;
    Ok(exit::OK)
}

/// Standard output, or a file written in full before it takes the name: a temporary file in the
/// same folder, renamed over FILE at the end (never a half-written FILE, even if killed).
enum Output {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File {
        tmp: std::io::BufWriter<tempfile::NamedTempFile>,
        to: PathBuf,
    },
}

impl Output {
    fn new(path: Option<&Path>) -> Result<Output> {
        let Some(to) = path else {
            return Ok(Output::Stdout(std::io::BufWriter::with_capacity(
                256 << 10,
                std::io::stdout(),
            )));
        };
        let dir = match to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".padtriage-scan-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .with_context(|| {
                format!(
                    "{}: cannot create a file in this folder for -o; check it exists and is writable",
                    dir.display()
                )
            })?;
        Ok(Output::File {
            tmp: std::io::BufWriter::with_capacity(256 << 10, tmp),
            to: to.to_path_buf(),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File { tmp, .. } => tmp,
        }
    }

    fn commit(self) -> Result<()> {
        match self {
            Output::Stdout(mut w) => Ok(w.flush()?),
            Output::File { tmp, to } => {
                let tmp = tmp.into_inner().map_err(|e| e.into_error())?;
                tmp.as_file().sync_all()?;
                tmp.persist(&to)
                    .map_err(|e| e.error)
                    .with_context(|| format!("{}: the results could not be saved", to.display()))?;
                Ok(())
            }
        }
    }
}

/// Bundles and bytes done, on stderr (only when asked: stderr is a terminal).
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(show: bool) -> Bar {
        if !show {
            return Bar(None);
        }
        let b = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} scanned {pos} bundles, {msg} ({elapsed}, {per_sec})",
        ) {
            b.set_style(style);
        }
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        Bar(Some(b))
    }

    fn bundle(&self, bytes: u64, _path: &str) {
        if let Some(b) = &self.0 {
            b.inc(1);
            let total = b.length().unwrap_or(0) + bytes;
            // The length is not shown: it carries the byte count along.
            b.set_length(total);
            b.set_message(format!("{} read", indicatif::HumanBytes(total)));
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
