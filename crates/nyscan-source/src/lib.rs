//! Where blob bytes come from: the [`BlobSource`] trait and its local implementations.
//!
//! # Brief overview
//!
//! - [`BlobSource`]: read `len` bytes at `offset` of a blob named by its id (the sha256 hex of
//!   the blob file, as the bootstrap's blob table names it). Implemented by [`BlobDir`] (a
//!   directory of blob files, e.g. a bootstrap's `--blob-dir` or an OCI layout's
//!   `blobs/sha256`), by the registry client in `nyscan-oci`, and by test doubles.
//! - [`FetchCounters`]: requests and bytes a source served, for `--stats` and for tests that
//!   assert how little was read.
//!
//! A source returns exactly the bytes asked for or an error naming the blob and range; it
//! never returns fewer bytes silently. Verifying chunk contents is the chunk engine's job.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Why a blob range could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The source has no blob with this id.
    #[error("blob {blob_id} not found")]
    NotFound {
        /// The blob id.
        blob_id: String,
    },
    /// The range runs past the end of the blob.
    #[error("range {offset}+{len} is past the end of blob {blob_id} ({size} bytes)")]
    OutOfRange {
        /// The blob id.
        blob_id: String,
        /// Start of the range.
        offset: u64,
        /// Length of the range.
        len: u64,
        /// Size of the blob.
        size: u64,
    },
    /// A blob id that is not 64 lowercase hex digits.
    #[error("invalid blob id {0:?}")]
    InvalidId(String),
    /// Reading failed (I/O, network, protocol), with the source's own error.
    #[error("cannot read {len} bytes at {offset} of blob {blob_id}")]
    Read {
        /// The blob id.
        blob_id: String,
        /// Start of the range.
        offset: u64,
        /// Length of the range.
        len: u64,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Ranged reads of blobs by id.
pub trait BlobSource: Send + Sync + std::fmt::Debug {
    /// Exactly `len` bytes at `offset` of blob `blob_id`.
    fn read_range(&self, blob_id: &str, offset: u64, len: u64) -> Result<Vec<u8>, SourceError>;

    /// The blob's size in bytes.
    fn blob_size(&self, blob_id: &str) -> Result<u64, SourceError>;

    /// What this source has served so far.
    fn counters(&self) -> &FetchCounters;
}

/// Requests and bytes served by a source; shared and updated concurrently.
#[derive(Debug, Default)]
pub struct FetchCounters {
    requests: AtomicU64,
    bytes: AtomicU64,
}

impl FetchCounters {
    /// Records one request that returned `bytes` bytes.
    pub fn record(&self, bytes: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Requests served.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Bytes served.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// Checks that a blob id is 64 lowercase hex digits (it becomes a file name or a URL part).
pub fn check_blob_id(blob_id: &str) -> Result<(), SourceError> {
    if blob_id.len() == 64
        && blob_id
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(SourceError::InvalidId(blob_id.to_owned()))
    }
}

/// Blobs as files named by their id in one directory.
#[derive(Debug)]
pub struct BlobDir {
    dir: PathBuf,
    open: Mutex<Vec<(String, Arc<File>)>>,
    counters: FetchCounters,
}

impl BlobDir {
    /// Blobs in `dir` (files named by blob id).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BlobDir {
            dir: dir.into(),
            open: Mutex::new(Vec::new()),
            counters: FetchCounters::default(),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, blob_id: &str) -> Result<Arc<File>, SourceError> {
        check_blob_id(blob_id)?;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, f)) = open.iter().find(|(id, _)| id == blob_id) {
            return Ok(f.clone());
        }
        let path = self.dir.join(blob_id);
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::NotFound {
                blob_id: blob_id.to_owned(),
            },
            _ => SourceError::Read {
                blob_id: blob_id.to_owned(),
                offset: 0,
                len: 0,
                source: Box::new(e),
            },
        })?;
        let file = Arc::new(file);
        open.push((blob_id.to_owned(), file.clone()));
        Ok(file)
    }
}

impl BlobSource for BlobDir {
    fn read_range(&self, blob_id: &str, offset: u64, len: u64) -> Result<Vec<u8>, SourceError> {
        let file = self.file(blob_id)?;
        let size = self.blob_size(blob_id)?;
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(SourceError::OutOfRange {
                blob_id: blob_id.to_owned(),
                offset,
                len,
                size,
            });
        }
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, offset)
            .map_err(|e| SourceError::Read {
                blob_id: blob_id.to_owned(),
                offset,
                len,
                source: Box::new(e),
            })?;
        self.counters.record(len);
        Ok(buf)
    }

    fn blob_size(&self, blob_id: &str) -> Result<u64, SourceError> {
        let file = self.file(blob_id)?;
        file.metadata()
            .map(|m| m.len())
            .map_err(|e| SourceError::Read {
                blob_id: blob_id.to_owned(),
                offset: 0,
                len: 0,
                source: Box::new(e),
            })
    }

    fn counters(&self) -> &FetchCounters {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ranges_and_refuses_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let id = "a".repeat(64);
        std::fs::write(dir.path().join(&id), b"0123456789").unwrap();
        let src = BlobDir::new(dir.path());
        assert_eq!(src.read_range(&id, 2, 3).unwrap(), b"234");
        assert_eq!(src.counters().requests(), 1);
        assert_eq!(src.counters().bytes(), 3);
        assert!(matches!(
            src.read_range(&id, 8, 3),
            Err(SourceError::OutOfRange { .. })
        ));
        assert!(matches!(
            src.read_range(&"b".repeat(64), 0, 1),
            Err(SourceError::NotFound { .. })
        ));
        assert!(matches!(
            src.read_range("../etc/passwd", 0, 1),
            Err(SourceError::InvalidId(_))
        ));
        assert!(matches!(
            src.read_range(&id, u64::MAX, 2),
            Err(SourceError::OutOfRange { .. })
        ));
    }
}
