//! SQLite databases: `rpmdb.sqlite` of rpm 4.16 and later (`Packages(hnum, blob)`).
//!
//! The file's bytes are handed to SQLite as an in-memory, read-only database
//! (`sqlite3_deserialize`); nothing is written to disk. Hostile input is expected:
//!
//! - rpm keeps its databases in WAL mode (header bytes 18 and 19 set to 2), which an in-memory
//!   database cannot open; the copy gets them set to 1 (rollback journal). The `-wal` file
//!   next to it is not read, as Trivy does not read it either (rpm checkpoints on close, so
//!   it is normally empty in images);
//! - 64 zero bytes follow the copy (SQLite may read a few bytes past a malformed last page);
//! - `Packages` must be an ordinary table (not a view or virtual table, whose definitions could
//!   run arbitrary queries), the schema is not trusted, cell sizes are checked, no blob may be
//!   longer than the file, and all blobs together may not exceed the file size.

use std::io::Read;

use rusqlite::{Connection, MAIN_DB, OpenFlags};

use super::error::{Budget, RpmDbError};

/// The first 16 bytes of every SQLite database.
pub const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const PADDING: usize = 64;

/// Whether `db` starts with the SQLite magic.
pub fn is_sqlite(db: &[u8]) -> bool {
    db.starts_with(SQLITE_MAGIC)
}

fn sqlite_error(e: rusqlite::Error) -> RpmDbError {
    RpmDbError::Sqlite(e.to_string())
}

/// The package header blobs of an `rpmdb.sqlite`, in `hnum` order.
pub fn header_blobs(bytes: &[u8]) -> Result<Vec<Vec<u8>>, RpmDbError> {
    if !is_sqlite(bytes) || bytes.len() < 100 {
        return Err(RpmDbError::Sqlite("no SQLite header".to_string()));
    }
    let mut conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error)?;
    // Header bytes 18/19 (write/read format version): 1 = rollback journal, 2 = WAL.
    let journal_mode = [1u8, 1u8];
    let image = bytes[..18]
        .chain(&journal_mode[..])
        .chain(&bytes[20..])
        .chain(std::io::repeat(0).take(PADDING as u64));
    conn.deserialize_read_exact(MAIN_DB, image, bytes.len() + PADDING, true)
        .map_err(sqlite_error)?;
    conn.set_limit(
        rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH,
        i32::try_from(bytes.len()).unwrap_or(i32::MAX),
    )
    .map_err(sqlite_error)?;
    conn.execute_batch("PRAGMA trusted_schema = OFF; PRAGMA cell_size_check = ON;")
        .map_err(sqlite_error)?;

    let kind: Option<(String, i64)> = conn
        .query_row(
            "SELECT type, rootpage FROM sqlite_schema WHERE name = 'Packages'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })
        .map_err(sqlite_error)?;
    match kind {
        Some((kind, root)) if kind == "table" && root > 0 => {}
        Some(_) => {
            return Err(RpmDbError::Sqlite(
                "Packages is not an ordinary table".to_string(),
            ));
        }
        None => return Err(RpmDbError::Sqlite("no Packages table".to_string())),
    }

    let mut budget = Budget::new(bytes.len() as u64);
    let mut statement = conn
        .prepare("SELECT blob FROM Packages ORDER BY hnum")
        .map_err(sqlite_error)?;
    let mut rows = statement.query([]).map_err(sqlite_error)?;
    let mut blobs = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let blob: Vec<u8> = row.get(0).map_err(sqlite_error)?;
        budget.take(blob.len() as u64)?;
        blobs.push(blob);
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(setup: &str) -> Vec<u8> {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(setup).unwrap();
        conn.serialize(MAIN_DB).unwrap().to_vec()
    }

    #[test]
    fn reads_blobs_in_order() {
        let db = database(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             INSERT INTO Packages VALUES (2, x'0203'); INSERT INTO Packages VALUES (1, x'01');",
        );
        assert_eq!(header_blobs(&db).unwrap(), vec![vec![1u8], vec![2, 3]]);
    }

    #[test]
    fn refuses_views_missing_tables_and_garbage() {
        let view = database(
            "CREATE TABLE t (x); CREATE VIEW Packages AS SELECT x AS blob, 1 AS hnum FROM t;",
        );
        assert!(header_blobs(&view).is_err());
        let none = database("CREATE TABLE other (x);");
        assert!(header_blobs(&none).is_err());
        let mut garbage = database("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);");
        for b in &mut garbage[100..] {
            *b = 0xA5;
        }
        assert!(header_blobs(&garbage).is_err());
        assert!(header_blobs(b"SQLite format 3\0").is_err());
    }
}
