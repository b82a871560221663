//! The fleet summary: how many bundles came out how, the runs found, counts per primary cause
//! and verdict, and the bundles that need a person; kept while a scan runs ([`Tally`], with the
//! list of bundles that need a person spooled to a temporary file so memory stays bounded), or
//! read back from the database by period ([`from_db`]), and written as text, NDJSON or CSV.

use super::db::Db;
use super::row::{RunRow, Status};
use crate::report::html::{FleetSummary, FLEET_VERDICTS};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, Seek, Write};

/// What "no cause" is called in the counts per primary cause.
pub const NO_CAUSE: &str = "(none confirmed or likely)";

/// Counts over a set of bundles.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// By status (`ok`, `partial`, `failed`, `skipped_unchanged`).
    pub bundles: BTreeMap<&'static str, u64>,
    pub runs: u64,
    /// Primary cause (or [`NO_CAUSE`]) to primary verdict to runs.
    pub primary_causes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every cause of every run: cause to verdict to runs.
    pub verdicts: BTreeMap<String, BTreeMap<String, u64>>,
    pub needs_person: u64,
}

impl Counts {
    pub fn bundle(&mut self, status: Status, needs_person: bool) {
        *self.bundles.entry(status.as_str()).or_default() += 1;
        self.needs_person += u64::from(needs_person);
    }

    pub fn run(&mut self, r: &RunRow) {
        self.runs += 1;
        let (cause, verdict) = match (&r.primary_cause, r.primary_verdict) {
            (Some(c), Some(v)) => (c.clone(), v.to_string()),
            _ => (NO_CAUSE.to_string(), String::new()),
        };
        *self
            .primary_causes
            .entry(cause)
            .or_default()
            .entry(verdict)
            .or_default() += 1;
        for (cause, verdict) in &r.verdicts {
            *self
                .verdicts
                .entry(cause.clone())
                .or_default()
                .entry(verdict.to_string())
                .or_default() += 1;
        }
    }

    fn status(&self, s: Status) -> u64 {
        self.bundles.get(s.as_str()).copied().unwrap_or(0)
    }

    /// Bundles seen, of any status.
    pub fn total(&self) -> u64 {
        self.bundles.values().sum()
    }
}

/// A scan's running summary.
#[derive(Default)]
pub struct Tally {
    pub counts: Counts,
    /// Inbox entries that are not bundles.
    pub ignored: u64,
    pub ignored_examples: Vec<String>,
    /// Listing errors (an inbox that could not be listed to the end, a bad manifest line).
    pub list_errors: Vec<String>,
    /// Bytes of the bundles analysed.
    pub bytes: u64,
    /// Some run reached `--fail-on`.
    pub fail_on_hit: bool,
    spool: Option<io::BufWriter<std::fs::File>>,
}

impl Tally {
    /// Note a bundle that needs a person, with its reasons.
    pub fn needs_person(&mut self, path: &str, reasons: &[String]) -> io::Result<()> {
        if self.spool.is_none() {
            self.spool = Some(io::BufWriter::new(tempfile::tempfile()?));
        }
        if let Some(s) = &mut self.spool {
            // One JSON line each: paths may hold any character.
            serde_json::to_writer(&mut *s, &(path, reasons))?;
            s.write_all(b"\n")?;
        }
        Ok(())
    }

    /// The human summary at the end of a scan.
    pub fn text(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let c = &self.counts;
        let analysed = c.status(Status::Ok) + c.status(Status::Partial);
        writeln!(out, "padtriage scan: {} bundles", c.total())?;
        writeln!(
            out,
            "  scanned:               {} ({} ok, {} partial)",
            analysed,
            c.status(Status::Ok),
            c.status(Status::Partial)
        )?;
        writeln!(
            out,
            "  skipped as unchanged:  {}",
            c.status(Status::SkippedUnchanged)
        )?;
        writeln!(out, "  failed:                {}", c.status(Status::Failed))?;
        if self.ignored > 0 {
            writeln!(
                out,
                "  ignored:               {} inbox entries that are neither a folder nor a .zip \
                 (e.g. {})",
                self.ignored,
                self.ignored_examples.join(", ")
            )?;
        }
        for e in &self.list_errors {
            writeln!(out, "  listing error: {e}")?;
        }
        counts_text(c, out)?;
        self.people_text(out)
    }

    fn people_text(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let people = self.people()?;
        if people.is_empty() {
            writeln!(out, "\nNo bundle needs a person.")?;
            return Ok(());
        }
        writeln!(
            out,
            "\nBundles that need a person ({}):",
            self.counts.needs_person
        )?;
        for (path, reasons) in people {
            writeln!(out, "  {path}")?;
            for r in reasons {
                writeln!(out, "      {r}")?;
            }
        }
        Ok(())
    }

    /// The bundles that need a person, with why, as noted (read back from the spool, which is
    /// kept for the next reader).
    pub fn people(&mut self) -> io::Result<Vec<(String, Vec<String>)>> {
        let Some(spool) = &mut self.spool else {
            return Ok(Vec::new());
        };
        spool.flush()?;
        let file = spool.get_mut();
        file.rewind()?;
        let mut out = Vec::new();
        for line in io::BufReader::new(&mut *file).lines() {
            if let Ok(p) = serde_json::from_str::<(String, Vec<String>)>(&line?) {
                out.push(p);
            }
        }
        file.seek(io::SeekFrom::End(0))?;
        Ok(out)
    }

    /// The summary for the fleet page: what [`Tally::text`] says, as tables.
    pub fn fleet_summary(&mut self) -> io::Result<FleetSummary> {
        let c = &self.counts;
        let mut counts = vec![
            ("bundles".to_string(), c.total()),
            (
                "scanned".to_string(),
                c.status(Status::Ok) + c.status(Status::Partial),
            ),
            ("scanned, ok".to_string(), c.status(Status::Ok)),
            ("scanned, partial".to_string(), c.status(Status::Partial)),
            (
                "skipped as unchanged".to_string(),
                c.status(Status::SkippedUnchanged),
            ),
            ("failed".to_string(), c.status(Status::Failed)),
            ("runs found".to_string(), c.runs),
        ];
        if self.ignored > 0 {
            counts.push(("inbox entries ignored".to_string(), self.ignored));
        }
        let mut notes = Vec::new();
        if self.ignored > 0 {
            notes.push(format!(
                "Ignored: inbox entries that are neither a folder nor a .zip (e.g. {}).",
                self.ignored_examples.join(", ")
            ));
        }
        notes.extend(
            self.list_errors
                .iter()
                .map(|e| format!("Listing error: {e}")),
        );
        let primary = c
            .primary_causes
            .iter()
            .flat_map(|(cause, by)| by.iter().map(|(v, n)| (cause.clone(), v.clone(), *n)))
            .collect();
        let verdicts = c
            .verdicts
            .iter()
            .map(|(cause, by)| {
                let ns = FLEET_VERDICTS
                    .iter()
                    .map(|v| by.get(*v).copied().unwrap_or(0))
                    .collect();
                (cause.clone(), ns)
            })
            .collect();
        Ok(FleetSummary {
            counts,
            notes,
            primary,
            verdicts,
            people: self.people()?,
        })
    }
}

/// The runs and cause tables of a summary.
fn counts_text(c: &Counts, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "  runs found:            {}", c.runs)?;
    if c.runs == 0 {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "  {:<28} {:<10} {:>6}",
        "primary cause", "verdict", "runs"
    )?;
    for (cause, by) in &c.primary_causes {
        for (verdict, n) in by {
            writeln!(out, "  {cause:<28} {verdict:<10} {n:>6}")?;
        }
    }
    writeln!(out)?;
    let verdicts = ["confirmed", "likely", "ruled_out", "unknown"];
    let mut head = format!("  {:<28}", "every cause, every run");
    for v in verdicts {
        let _ = write!(head, " {v:>10}");
    }
    writeln!(out, "{head}")?;
    for (cause, by) in &c.verdicts {
        let mut line = format!("  {cause:<28}");
        for v in verdicts {
            let _ = write!(line, " {:>10}", by.get(v).copied().unwrap_or(0));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// How `--summary` groups bundles: by the day or ISO week they were analysed, or all together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    All,
    Day,
    Week,
}

/// One period of the fleet summary.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    /// `all`, a day (`2025-06-02`) or an ISO week (`2025-W23`).
    pub period: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Bundles that need a person: path and reasons.
    pub needs_person_bundles: Vec<(String, Vec<String>)>,
}

/// The fleet summary from the database: bundles analysed at or after `since` (RFC 3339), by
/// period, without reading any bundle.
pub fn from_db(db: &Db, since: Option<&str>, by: By) -> rusqlite::Result<Vec<Period>> {
    let period = match by {
        By::All => "'all'",
        By::Day => "substr(b.analysed_at, 1, 10)",
        By::Week => "strftime('%G-W%V', b.analysed_at)",
    };
    let since = since.unwrap_or("");
    let conn = db.conn();
    let mut periods: BTreeMap<String, Period> = BTreeMap::new();
    fn get(periods: &mut BTreeMap<String, Period>, p: String) -> &mut Period {
        periods.entry(p.clone()).or_insert_with(|| Period {
            period: p,
            counts: Counts::default(),
            needs_person_bundles: Vec::new(),
        })
    }
    let mut st = conn.prepare(&format!(
        "SELECT {period}, b.status, b.needs_person, b.shown, b.attention FROM bundles b \
         WHERE b.analysed_at >= ?1 ORDER BY b.analysed_at, b.path"
    ))?;
    let mut rows = st.query([since])?;
    while let Some(r) = rows.next()? {
        let p: String = r.get(0)?;
        let status: String = r.get(1)?;
        let needs: bool = r.get(2)?;
        let period = get(&mut periods, p);
        let status = Status::parse(&status).unwrap_or(Status::Failed);
        period.counts.bundle(status, needs);
        if needs {
            let attention: String = r.get(4)?;
            let reasons: Vec<String> = serde_json::from_str(&attention).unwrap_or_default();
            period.needs_person_bundles.push((r.get(3)?, reasons));
        }
    }
    let mut st = conn.prepare(&format!(
        "SELECT {period}, r.primary_cause, r.primary_verdict, count(*) FROM runs r \
         JOIN bundles b ON b.id = r.bundle_id WHERE b.analysed_at >= ?1 GROUP BY 1, 2, 3"
    ))?;
    let mut rows = st.query([since])?;
    while let Some(r) = rows.next()? {
        let p: String = r.get(0)?;
        let cause: Option<String> = r.get(1)?;
        let verdict: Option<String> = r.get(2)?;
        let n: i64 = r.get(3)?;
        let period = get(&mut periods, p);
        let (cause, verdict) = match (cause, verdict) {
            (Some(c), Some(v)) => (c, v),
            _ => (NO_CAUSE.to_string(), String::new()),
        };
        period.counts.runs += n as u64;
        *period
            .counts
            .primary_causes
            .entry(cause)
            .or_default()
            .entry(verdict)
            .or_default() += n as u64;
    }
    let mut st = conn.prepare(&format!(
        "SELECT {period}, v.cause, v.verdict, count(*) FROM verdicts v \
         JOIN bundles b ON b.id = v.bundle_id WHERE b.analysed_at >= ?1 GROUP BY 1, 2, 3"
    ))?;
    let mut rows = st.query([since])?;
    while let Some(r) = rows.next()? {
        let p: String = r.get(0)?;
        let cause: String = r.get(1)?;
        let verdict: String = r.get(2)?;
        let n: i64 = r.get(3)?;
        *get(&mut periods, p)
            .counts
            .verdicts
            .entry(cause)
            .or_default()
            .entry(verdict)
            .or_default() += n as u64;
    }
    Ok(periods.into_values().collect())
}

/// The fleet summary for people.
pub fn periods_text(db: &str, periods: &[Period], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "padtriage fleet summary from {db}")?;
    if periods.is_empty() {
        writeln!(out, "\nNo bundle analysed in that time.")?;
    }
    for p in periods {
        let c = &p.counts;
        writeln!(out)?;
        writeln!(out, "{}: {} bundles", p.period, c.total())?;
        writeln!(
            out,
            "  analysed:              {} ({} ok, {} partial), {} failed",
            c.status(Status::Ok) + c.status(Status::Partial),
            c.status(Status::Ok),
            c.status(Status::Partial),
            c.status(Status::Failed)
        )?;
        counts_text(c, out)?;
        if !p.needs_person_bundles.is_empty() {
            writeln!(
                out,
                "\n  Bundles that need a person ({}):",
                p.needs_person_bundles.len()
            )?;
            for (path, reasons) in &p.needs_person_bundles {
                writeln!(out, "    {path}")?;
                for r in reasons {
                    writeln!(out, "        {r}")?;
                }
            }
        }
    }
    Ok(())
}

/// One JSON object per period.
pub fn periods_ndjson(periods: &[Period], out: &mut dyn Write) -> io::Result<()> {
    for p in periods {
        serde_json::to_writer(&mut *out, p)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Long-form CSV, for spreadsheets: `period,measure,key,verdict,count`, where measure is
/// `bundles` (key: status), `runs`, `primary_cause` (key: cause, with its verdict), `verdict`
/// (key: cause, every cause of every run) or `needs_person`.
pub fn periods_csv(periods: &[Period], out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let row = |w: &mut csv::Writer<&mut dyn Write>, f: [&str; 5]| {
        w.write_record(f).map_err(io::Error::other)
    };
    row(&mut w, ["period", "measure", "key", "verdict", "count"])?;
    for p in periods {
        let c = &p.counts;
        for (status, n) in &c.bundles {
            row(&mut w, [&p.period, "bundles", status, "", &n.to_string()])?;
        }
        row(&mut w, [&p.period, "runs", "", "", &c.runs.to_string()])?;
        for (cause, by) in &c.primary_causes {
            for (verdict, n) in by {
                row(
                    &mut w,
                    [&p.period, "primary_cause", cause, verdict, &n.to_string()],
                )?;
            }
        }
        for (cause, by) in &c.verdicts {
            for (verdict, n) in by {
                row(
                    &mut w,
                    [&p.period, "verdict", cause, verdict, &n.to_string()],
                )?;
            }
        }
        let n = c.needs_person.to_string();
        row(&mut w, [&p.period, "needs_person", "", "", &n])?;
    }
    w.flush()
}
