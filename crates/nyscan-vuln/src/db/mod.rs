//! The offline vulnerability database: OSV records in one SQLite file, indexed by
//! (ecosystem, package name).
//!
//! ```text
//! vulns(id PRIMARY KEY, modified, withdrawn, source, json)   one row per OSV record
//! affected(vuln_id, ecosystem, name)                          one row per affected package,
//!                                                             index (ecosystem, name)
//! sources(name PRIMARY KEY, location, imported_at, records)  what was imported from where
//! meta(key PRIMARY KEY, value)                                schema version, last update
//! ```
//!
//! `ecosystem` is the base of the OSV ecosystem (`Debian` for `Debian:12`), so one lookup
//! finds the records of every release; matching then checks the release (see
//! [`crate::matching`]). Names are stored as [`crate::names::normalize`] spells them.

mod import;
mod update;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

pub use import::{ImportReport, MAX_RECORD_BYTES, Skipped};
pub use update::{
    DEFAULT_BASE_URL, DEFAULT_ECOSYSTEMS, UpdateOptions, UpdateProgress, UpdateReport, update,
};

use crate::ecosystem::Ecosystem;
use crate::osv::OsvRecord;

/// Schema version written to `meta`; a database with another one is refused.
pub const SCHEMA_VERSION: u32 = 1;

/// What went wrong with the database, a download or an import source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// No database at the path.
    #[error("no vulnerability database at {}", path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// SQLite failed.
    #[error("vulnerability database {}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is a database of another schema version.
    #[error("vulnerability database {} has schema version {found}, this nyscan reads {SCHEMA_VERSION}", path.display())]
    Schema {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: String,
    },
    /// Reading or writing a file failed.
    #[error("{}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A zip archive could not be read.
    #[error("zip archive {}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// The zip error.
        #[source]
        source: zip::result::ZipError,
    },
    /// An import path is neither a directory, a `.zip` nor a `.json` file.
    #[error("{}: not an OSV export (want a directory, a .zip or a .json file)", path.display())]
    NotAnExport {
        /// The path.
        path: PathBuf,
    },
    /// An HTTP request failed.
    #[error("downloading {url}")]
    Http {
        /// The URL.
        url: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an unexpected status.
    #[error("downloading {url}: HTTP {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The download ended before the announced length.
    #[error(
        "downloading {url}: connection closed after {got} of {expected} bytes (run the update again to resume)"
    )]
    Truncated {
        /// The URL.
        url: String,
        /// Bytes received in total.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
}

impl DbError {
    fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> DbError + '_ {
        move |source| DbError::Sqlite {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
        move |source| DbError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// True when the database file does not exist (the CLI says how to get one).
    pub fn is_missing(&self) -> bool {
        matches!(self, DbError::Missing { .. })
    }
}

/// One imported source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Its name: the OSV ecosystem of a download, or the file name of an import.
    pub name: String,
    /// Where it came from (URL or path).
    pub location: String,
    /// When it was imported (seconds since the Unix epoch).
    pub imported_at: u64,
    /// Records read from it.
    pub records: u64,
}

/// What a database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    /// The file.
    pub path: PathBuf,
    /// Schema version.
    pub schema_version: u32,
    /// Last import or update (seconds since the Unix epoch).
    pub last_update: Option<u64>,
    /// Records in total, withdrawn ones included.
    pub records: u64,
    /// Withdrawn records (kept, never reported).
    pub withdrawn: u64,
    /// Records per ecosystem base name, sorted by name.
    pub ecosystems: Vec<(String, u64)>,
    /// Imported sources, sorted by name.
    pub sources: Vec<SourceInfo>,
}

/// An open vulnerability database.
#[derive(Debug)]
pub struct VulnDb {
    conn: Connection,
    path: PathBuf,
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl VulnDb {
    /// The default location: `$XDG_DATA_HOME/nyscan/vuln.db`, else
    /// `$HOME/.local/share/nyscan/vuln.db`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".local/share"))
            })?;
        Some(base.join("nyscan/vuln.db"))
    }

    /// Opens an existing database read-only.
    pub fn open(path: &Path) -> Result<VulnDb, DbError> {
        if !path.is_file() {
            return Err(DbError::Missing {
                path: path.to_owned(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(DbError::sqlite(path))?;
        let db = VulnDb {
            conn,
            path: path.to_owned(),
        };
        db.check_schema()?;
        Ok(db)
    }

    /// Opens a database for writing, creating it (and its directory) if missing.
    pub fn create(path: &Path) -> Result<VulnDb, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(DbError::io(dir))?;
        }
        let conn = Connection::open(path).map_err(DbError::sqlite(path))?;
        let db = VulnDb {
            conn,
            path: path.to_owned(),
        };
        db.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS sources(name TEXT PRIMARY KEY, location TEXT NOT NULL,
                     imported_at INTEGER NOT NULL, records INTEGER NOT NULL);
                 CREATE TABLE IF NOT EXISTS vulns(id TEXT PRIMARY KEY, modified TEXT,
                     withdrawn INTEGER NOT NULL, source TEXT NOT NULL, json TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS affected(vuln_id TEXT NOT NULL, ecosystem TEXT NOT NULL,
                     name TEXT NOT NULL);
                 CREATE INDEX IF NOT EXISTS affected_by_package ON affected(ecosystem, name);
                 CREATE INDEX IF NOT EXISTS affected_by_vuln ON affected(vuln_id);",
            )
            .map_err(DbError::sqlite(path))?;
        db.conn
            .execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?1)",
                params![SCHEMA_VERSION.to_string()],
            )
            .map_err(DbError::sqlite(path))?;
        db.check_schema()?;
        Ok(db)
    }

    fn check_schema(&self) -> Result<(), DbError> {
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(DbError::sqlite(&self.path))?;
        match found {
            Some(v) if v == SCHEMA_VERSION.to_string() => Ok(()),
            other => Err(DbError::Schema {
                path: self.path.clone(),
                found: other.unwrap_or_else(|| "none".to_owned()),
            }),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds or replaces one record (inside the caller's transaction, if any).
    pub(crate) fn put(&self, record: &OsvRecord, source: &str) -> Result<(), DbError> {
        let json = serde_json::to_string(record).unwrap_or_default();
        let err = DbError::sqlite(&self.path);
        let mut rows: Vec<(String, String)> = record
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .filter(|p| !p.name.is_empty())
            .map(|p| {
                let eco = Ecosystem::parse(&p.ecosystem);
                (
                    eco.base().to_owned(),
                    crate::names::normalize(&eco.kind, &p.name),
                )
            })
            .collect();
        rows.sort();
        rows.dedup();
        let run = || -> Result<(), rusqlite::Error> {
            self.conn.execute(
                "DELETE FROM affected WHERE vuln_id = ?1",
                params![record.id],
            )?;
            self.conn.execute(
                "INSERT OR REPLACE INTO vulns(id, modified, withdrawn, source, json) VALUES(?1, ?2, ?3, ?4, ?5)",
                params![record.id, record.modified, record.is_withdrawn(), source, json],
            )?;
            let mut insert = self.conn.prepare_cached(
                "INSERT INTO affected(vuln_id, ecosystem, name) VALUES(?1, ?2, ?3)",
            )?;
            for (eco, name) in &rows {
                insert.execute(params![record.id, eco, name])?;
            }
            Ok(())
        };
        run().map_err(err)
    }

    pub(crate) fn record_source(
        &self,
        name: &str,
        location: &str,
        records: u64,
    ) -> Result<(), DbError> {
        let at = now();
        self.conn
            .execute(
                "INSERT OR REPLACE INTO sources(name, location, imported_at, records) VALUES(?1, ?2, ?3, ?4)",
                params![name, location, at as i64, records as i64],
            )
            .and_then(|_| {
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES('last_update', ?1)",
                    params![at.to_string()],
                )
            })
            .map(|_| ())
            .map_err(DbError::sqlite(&self.path))
    }

    pub(crate) fn begin(&self) -> Result<(), DbError> {
        self.conn
            .execute_batch("BEGIN")
            .map_err(DbError::sqlite(&self.path))
    }

    pub(crate) fn commit(&self) -> Result<(), DbError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(DbError::sqlite(&self.path))
    }

    pub(crate) fn rollback(&self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    /// Records affecting a package: `ecosystem` is the base name (`Debian`), `name` as the
    /// ecosystem spells it (normalised here). Withdrawn records are included; matching
    /// skips them.
    pub fn records_for(
        &self,
        ecosystem: &Ecosystem,
        name: &str,
    ) -> Result<Vec<OsvRecord>, DbError> {
        let key = crate::names::normalize(&ecosystem.kind, name);
        let err = DbError::sqlite(&self.path);
        let run = || -> Result<Vec<String>, rusqlite::Error> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT v.json FROM vulns v WHERE v.id IN
                    (SELECT vuln_id FROM affected WHERE ecosystem = ?1 AND name = ?2)
                 ORDER BY v.id",
            )?;
            let rows = stmt.query_map(params![ecosystem.base(), key], |r| r.get::<_, String>(0))?;
            rows.collect()
        };
        let jsons = run().map_err(err)?;
        // Rows were written by `put` from parsed records, so they parse; a damaged row is
        // skipped rather than failing the whole scan.
        Ok(jsons
            .iter()
            .filter_map(|j| OsvRecord::from_json(j.as_bytes()).ok())
            .collect())
    }

    /// One record by id.
    pub fn record(&self, id: &str) -> Result<Option<OsvRecord>, DbError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT json FROM vulns WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(DbError::sqlite(&self.path))?;
        Ok(json.and_then(|j| OsvRecord::from_json(j.as_bytes()).ok()))
    }

    /// Sources, counts and the time of the last update.
    pub fn info(&self) -> Result<DbInfo, DbError> {
        let err = || DbError::sqlite(&self.path);
        let last_update: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'last_update'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(err())?;
        let (records, withdrawn): (i64, i64) = self
            .conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(withdrawn), 0) FROM vulns",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(err())?;
        let ecosystems = (|| -> Result<Vec<(String, u64)>, rusqlite::Error> {
            let mut stmt = self.conn.prepare(
                "SELECT ecosystem, COUNT(DISTINCT vuln_id) FROM affected GROUP BY ecosystem ORDER BY ecosystem",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
            rows.collect()
        })()
        .map_err(err())?;
        let sources = (|| -> Result<Vec<SourceInfo>, rusqlite::Error> {
            let mut stmt = self.conn.prepare(
                "SELECT name, location, imported_at, records FROM sources ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(SourceInfo {
                    name: r.get(0)?,
                    location: r.get(1)?,
                    imported_at: r.get::<_, i64>(2)? as u64,
                    records: r.get::<_, i64>(3)? as u64,
                })
            })?;
            rows.collect()
        })()
        .map_err(err())?;
        Ok(DbInfo {
            path: self.path.clone(),
            schema_version: SCHEMA_VERSION,
            last_update: last_update.and_then(|v| v.parse().ok()),
            records: records as u64,
            withdrawn: withdrawn as u64,
            ecosystems,
            sources,
        })
    }
}
