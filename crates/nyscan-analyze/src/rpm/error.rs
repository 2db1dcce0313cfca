//! Errors of the rpm database readers.

use super::header::HeaderError;

/// Why an rpm database could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpmDbError {
    /// The file is none of the three database forms.
    #[error("not an rpm database: no SQLite, NDB or Berkeley DB hash magic")]
    UnknownFormat,
    /// A Berkeley DB structure is damaged.
    #[error("Berkeley DB: {reason} (page {page}, byte offset {offset})")]
    Bdb {
        /// Page number.
        page: u64,
        /// Byte offset in the file.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// An NDB structure is damaged.
    #[error("NDB: {reason} (byte offset {offset})")]
    Ndb {
        /// Byte offset in the file.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// SQLite refused the database or the query.
    #[error("SQLite: {0}")]
    Sqlite(String),
    /// The stored package headers add up to more bytes than the file holds (shared or looping
    /// storage in a damaged file).
    #[error("package headers add up to more than the {limit}-byte database")]
    TooMuchData {
        /// The byte budget (the file size).
        limit: u64,
    },
    /// A package header is damaged.
    #[error("package header #{index}: {source}")]
    Header {
        /// Position of the header among the database's records.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: HeaderError,
    },
}

/// Counts stored header bytes against a budget (the database size): a valid database never
/// stores more header bytes than it has.
#[derive(Debug)]
pub(crate) struct Budget {
    left: u64,
    limit: u64,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Self {
        Budget { left: limit, limit }
    }

    /// Takes `bytes` from the budget, or fails when it is spent.
    pub(crate) fn take(&mut self, bytes: u64) -> Result<(), RpmDbError> {
        self.left = self
            .left
            .checked_sub(bytes)
            .ok_or(RpmDbError::TooMuchData { limit: self.limit })?;
        Ok(())
    }
}
