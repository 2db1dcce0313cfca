//! Errors of image reads.

use std::path::PathBuf;

/// Why image data could not be read or unpacked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bootstrap is damaged or uses a refused feature.
    #[error("cannot read the bootstrap")]
    Format(#[from] nyscan_rafs::Error),
    /// The blob source failed.
    #[error("cannot fetch data of blob {blob_id}")]
    Fetch {
        /// The blob.
        blob_id: String,
        /// The cause.
        #[source]
        source: nyscan_source::SourceError,
    },
    /// A chunk's bytes are wrong: they do not decompress or do not match their digest.
    #[error("bad chunk {chunk} of blob {blob_id}")]
    Chunk {
        /// The blob.
        blob_id: String,
        /// Chunk index in the blob.
        chunk: u32,
        /// The cause.
        #[source]
        source: nyscan_blob::Error,
    },
    /// A chunk whose location the image does not give.
    #[error("chunk {chunk} of blob {blob_id} cannot be located: {reason}")]
    Unlocatable {
        /// The blob.
        blob_id: String,
        /// Chunk index in the blob.
        chunk: u32,
        /// Why.
        reason: &'static str,
    },
    /// A file's chunks do not cover its size the way the format requires.
    #[error("file inode {ino}: {reason}")]
    Layout {
        /// The file.
        ino: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A path inside the image that is not found.
    #[error("no such file in the image: {0}")]
    NotFound(String),
    /// A path inside the image that is not a regular file.
    #[error("{path} is a {kind}, not a regular file")]
    NotAFile {
        /// The path.
        path: String,
        /// Its kind.
        kind: &'static str,
    },
    /// An entry name that cannot be written safely (`/`, `.`, `..`, NUL).
    #[error("unsafe entry name {name:?} under {parent}")]
    UnsafeName {
        /// The directory.
        parent: String,
        /// The name.
        name: String,
    },
    /// Writing the unpacked tree failed.
    #[error("cannot write {}", path.display())]
    Write {
        /// What was being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
