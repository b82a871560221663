//! The scan's state: an SQLite database (`--db FILE`) holding, per bundle, its identity, the
//! padtriage version and rules digest it was analysed with, its status, and its findings (run,
//! cause and verdict rows, and the analysis document). Each bundle is written in a transaction
//! of its own as it finishes, in WAL mode: a scan killed mid-way loses only the bundles still
//! being analysed, and the next scan picks up from there. One row per bundle path (absolute):
//! a bundle analysed again replaces its findings.

use super::identity::{BundleKind, Stat};
use super::row::{Findings, Status};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// Layout version, in `meta`; a database of another major layout is refused.
const LAYOUT: &str = "1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bundles (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,        -- absolute path: the key
    shown TEXT NOT NULL,              -- the path as listed (the analysis's `bundle`)
    kind TEXT NOT NULL,               -- folder | zip | file
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    files INTEGER NOT NULL,
    content_hash TEXT,                -- xxh64:...; NULL when the bundle could not be read
    padtriage_version TEXT NOT NULL,
    rules_digest TEXT NOT NULL,
    status TEXT NOT NULL,             -- ok | partial | failed
    why TEXT,                         -- for failed
    analysed_at TEXT NOT NULL,        -- RFC 3339 UTC
    duration_ms INTEGER NOT NULL,
    needs_person INTEGER NOT NULL,
    attention TEXT NOT NULL,          -- JSON array of reasons
    analysis TEXT                     -- the analysis document (JSON); NULL when failed
);
CREATE INDEX IF NOT EXISTS bundles_analysed_at ON bundles (analysed_at);
CREATE TABLE IF NOT EXISTS runs (
    bundle_id INTEGER NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
    run INTEGER NOT NULL,             -- 0-based, in the analysis's order
    time TEXT NOT NULL,
    error_code TEXT NOT NULL,
    credential_error INTEGER NOT NULL,
    user TEXT,
    machine TEXT,
    primary_cause TEXT,
    primary_verdict TEXT,
    PRIMARY KEY (bundle_id, run)
);
CREATE TABLE IF NOT EXISTS verdicts (
    bundle_id INTEGER NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
    run INTEGER NOT NULL,
    cause TEXT NOT NULL,
    verdict TEXT NOT NULL,
    PRIMARY KEY (bundle_id, run, cause)
);
";

/// What the database knows of a bundle.
#[derive(Debug, Clone)]
pub struct Known {
    pub kind: BundleKind,
    pub size: u64,
    pub mtime_ns: i64,
    pub files: u64,
    pub content_hash: Option<String>,
    pub version: String,
    pub rules_digest: String,
    pub status: Status,
    pub analysed_at: String,
}

impl Known {
    /// True when the stored result stands for this padtriage and these rules: analysed (a
    /// failure is tried again: it may have been the machine's, not the bundle's).
    pub fn reusable(&self, version: &str, rules_digest: &str) -> bool {
        self.version == version
            && self.rules_digest == rules_digest
            && matches!(self.status, Status::Ok | Status::Partial)
            && self.content_hash.is_some()
    }

    pub fn same_metadata(&self, st: &Stat) -> bool {
        self.kind == st.kind
            && self.size == st.size
            && self.mtime_ns == st.mtime_ns
            && self.files == st.files
    }
}

/// A bundle's result, as stored.
pub struct Record<'a> {
    pub abs_path: &'a str,
    pub shown: &'a str,
    pub stat: &'a Stat,
    pub content_hash: Option<&'a str>,
    pub version: &'a str,
    pub rules_digest: &'a str,
    pub status: Status,
    pub why: Option<&'a str>,
    pub analysed_at: &'a str,
    pub duration_ms: u64,
    pub attention: &'a [String],
    pub findings: Option<&'a Findings>,
}

pub struct Db {
    conn: Connection,
}

/// An error with the database file named, for people.
fn err(path: &Path, what: &str, e: impl std::fmt::Display) -> String {
    format!("{}: {what} ({e})", path.display())
}

impl Db {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<Db, String> {
        let conn = Connection::open(path).map_err(|e| {
            err(
                path,
                "cannot open the scan database; check the folder exists and is writable",
                e,
            )
        })?;
        let setup = || -> rusqlite::Result<Option<String>> {
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            // WAL: readers (a --summary) never block the scan, and a commit is one append.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.execute_batch(SCHEMA)?;
            conn.query_row("SELECT value FROM meta WHERE key = 'layout'", [], |r| {
                r.get(0)
            })
            .optional()
        };
        let layout = setup().map_err(|e| {
            err(
                path,
                "is not a padtriage scan database, or is damaged; give another --db file",
                e,
            )
        })?;
        match layout.as_deref() {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('layout', ?1)",
                    [LAYOUT],
                )
                .map_err(|e| err(path, "cannot write to the scan database", e))?;
            }
            Some(LAYOUT) => {}
            Some(other) => {
                return Err(format!(
                    "{}: a scan database of layout {other}, which this padtriage (layout \
                     {LAYOUT}) does not read; use a padtriage of that version, or a new --db file",
                    path.display()
                ))
            }
        }
        Ok(Db { conn })
    }

    /// Open an existing database for reading (`--summary`).
    pub fn open_existing(path: &Path) -> Result<Db, String> {
        if !path.is_file() {
            return Err(format!(
                "{}: no scan database here; run `padtriage scan INBOX --db {}` first",
                path.display(),
                path.display()
            ));
        }
        Db::open(path)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn lookup(&self, abs_path: &str) -> rusqlite::Result<Option<Known>> {
        let mut st = self.conn.prepare_cached(
            "SELECT kind, size, mtime_ns, files, content_hash, padtriage_version, rules_digest, \
             status, analysed_at FROM bundles WHERE path = ?1",
        )?;
        st.query_row([abs_path], |r| {
            let kind: String = r.get(0)?;
            let status: String = r.get(7)?;
            Ok(Known {
                kind: BundleKind::parse(&kind).unwrap_or(BundleKind::File),
                size: r.get::<_, i64>(1)?.max(0) as u64,
                mtime_ns: r.get(2)?,
                files: r.get::<_, i64>(3)?.max(0) as u64,
                content_hash: r.get(4)?,
                version: r.get(5)?,
                rules_digest: r.get(6)?,
                status: Status::parse(&status).unwrap_or(Status::Failed),
                analysed_at: r.get(8)?,
            })
        })
        .optional()
    }

    /// The bundle changed its metadata but not its content: remember the new metadata so the
    /// next scan needs no hash.
    pub fn touch(&self, abs_path: &str, st: &Stat) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE bundles SET kind = ?2, size = ?3, mtime_ns = ?4, files = ?5 WHERE path = ?1",
            )?
            .execute(params![
                abs_path,
                st.kind.as_str(),
                st.size as i64,
                st.mtime_ns,
                st.files as i64
            ])?;
        Ok(())
    }

    /// Store a bundle's result, replacing what was stored for its path, in one transaction.
    pub fn record(&mut self, r: &Record) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        tx.prepare_cached("DELETE FROM bundles WHERE path = ?1")?
            .execute([r.abs_path])?;
        let attention = serde_json::to_string(r.attention).unwrap_or_else(|_| "[]".into());
        tx.prepare_cached(
            "INSERT INTO bundles (path, shown, kind, size, mtime_ns, files, content_hash, \
             padtriage_version, rules_digest, status, why, analysed_at, duration_ms, \
             needs_person, attention, analysis) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?
        .execute(params![
            r.abs_path,
            r.shown,
            r.stat.kind.as_str(),
            r.stat.size as i64,
            r.stat.mtime_ns,
            r.stat.files as i64,
            r.content_hash,
            r.version,
            r.rules_digest,
            r.status.as_str(),
            r.why,
            r.analysed_at,
            r.duration_ms as i64,
            !r.attention.is_empty(),
            attention,
            r.findings.map(|f| f.analysis_json.as_str()),
        ])?;
        let id = tx.last_insert_rowid();
        if let Some(f) = r.findings {
            let mut run_st = tx.prepare_cached(
                "INSERT INTO runs (bundle_id, run, time, error_code, credential_error, user, \
                 machine, primary_cause, primary_verdict) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut verdict_st = tx.prepare_cached(
                "INSERT INTO verdicts (bundle_id, run, cause, verdict) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (i, run) in f.runs.iter().enumerate() {
                run_st.execute(params![
                    id,
                    i as i64,
                    run.time,
                    run.error_code,
                    run.credential_error,
                    run.user,
                    run.machine,
                    run.primary_cause,
                    run.primary_verdict,
                ])?;
                for (cause, verdict) in &run.verdicts {
                    verdict_st.execute(params![id, i as i64, cause, verdict])?;
                }
            }
        }
        tx.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_replaces_the_last_and_is_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut db = Db::open(&path).unwrap();
        let st = Stat {
            kind: BundleKind::Zip,
            size: 10,
            mtime_ns: 5,
            files: 1,
        };
        let rec = |status, hash| Record {
            abs_path: "/in/a.zip",
            shown: "in/a.zip",
            stat: &st,
            content_hash: hash,
            version: "0.1.0",
            rules_digest: "xxh64:1",
            status,
            why: None,
            analysed_at: "2025-06-02T01:00:00Z",
            duration_ms: 3,
            attention: &[],
            findings: None,
        };
        db.record(&rec(Status::Failed, None)).unwrap();
        let k = db.lookup("/in/a.zip").unwrap().unwrap();
        assert!(!k.reusable("0.1.0", "xxh64:1"), "failures are tried again");
        db.record(&rec(Status::Ok, Some("xxh64:2"))).unwrap();
        let k = db.lookup("/in/a.zip").unwrap().unwrap();
        assert!(k.reusable("0.1.0", "xxh64:1") && k.same_metadata(&st));
        assert!(!k.reusable("0.2.0", "xxh64:1"));
        let n: i64 = db
            .conn()
            .query_row("SELECT count(*) FROM bundles", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        drop(db);
        // Opened again, the same layout.
        assert!(Db::open_existing(&path).is_ok());
    }
}
