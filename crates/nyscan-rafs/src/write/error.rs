//! Errors of the bootstrap writer and of tree edits.

use crate::error::Error as ReadError;

/// Why a tree could not be built, edited or written.
///
/// Paths are shown lossily as UTF-8; messages are lowercase fragments so that callers can
/// prefix their own context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Reading the source bootstrap failed.
    #[error("reading the source bootstrap: {0}")]
    Read(#[from] ReadError),
    /// A path with a `..` component: it could leave the root.
    #[error("path {path:?} escapes the root (it has a `..` component)")]
    EscapesRoot {
        /// The path as given.
        path: String,
    },
    /// A path that cannot name an entry (empty name, NUL byte, name over 255 bytes, the root
    /// where an entry is needed).
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A path that names nothing.
    #[error("no such path {path:?}")]
    NotFound {
        /// The path as given.
        path: String,
    },
    /// A path component that should be a directory and is not.
    #[error("{path:?} is not a directory")]
    NotADirectory {
        /// The path of the component.
        path: String,
    },
    /// An operation that would put a non-directory where a directory is (or the reverse).
    #[error("{path:?} is a directory: {reason}")]
    IsADirectory {
        /// The path.
        path: String,
        /// What was refused.
        reason: &'static str,
    },
    /// A node whose fields disagree or break a format rule.
    #[error("invalid node {path:?}: {reason}")]
    InvalidNode {
        /// The node's path.
        path: String,
        /// The rule broken.
        reason: String,
    },
    /// A chunk naming a blob the blob table does not have.
    #[error("chunk {chunk} of {path:?} names blob {blob_index}, the blob table has {blobs}")]
    NoSuchBlob {
        /// The file's path.
        path: String,
        /// Position of the chunk in the file.
        chunk: usize,
        /// The blob index it names.
        blob_index: u32,
        /// Blobs in the table.
        blobs: usize,
    },
    /// A blob table entry the format cannot hold.
    #[error("invalid blob {index} ({id}): {reason}")]
    InvalidBlob {
        /// Its index.
        index: usize,
        /// Its id.
        id: String,
        /// The rule broken.
        reason: &'static str,
    },
    /// The image outgrows a limit of the format.
    #[error("too large for RAFS {version}: {what} is {value}, the limit is {limit}")]
    TooLarge {
        /// The format version (5 or 6).
        version: u32,
        /// What outgrew the limit.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        limit: u64,
    },
}

/// A `Result` whose error is [`WriteError`].
pub type WriteResult<T> = std::result::Result<T, WriteError>;

/// A path for messages.
pub(crate) fn show(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}
