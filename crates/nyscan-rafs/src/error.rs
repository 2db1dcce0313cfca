//! Errors of the format crate: cheap values that say what is wrong and where.

use std::fmt;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Why a bootstrap could not be read.
///
/// Offsets are byte offsets inside the bootstrap and are shown in hex. Messages are lowercase
/// fragments so that callers can prefix their own context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a RAFS bootstrap at all.
    #[error("not a RAFS bootstrap: {reason}")]
    NotBootstrap {
        /// What was found instead.
        reason: &'static str,
    },
    /// A RAFS feature this reader refuses, named.
    #[error("unsupported: {0}")]
    Unsupported(Unsupported),
    /// A structure runs past the end of the bootstrap.
    #[error("truncated {what} at {offset:#x}: needs {need} bytes, the bootstrap has {have}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// How many bytes it needs.
        need: u64,
        /// The bootstrap's length.
        have: u64,
    },
    /// A field holds a value the format does not allow.
    #[error("invalid {what} at {offset:#x}: {reason} (found {value:#x})")]
    Invalid {
        /// The structure holding the field.
        what: &'static str,
        /// Where the structure starts.
        offset: u64,
        /// What rule the value breaks.
        reason: &'static str,
        /// The value found.
        value: u64,
    },
    /// An inode number that names no inode.
    #[error("no inode {ino}")]
    NoSuchInode {
        /// The inode number asked for.
        ino: u64,
    },
    /// A directory reached again below itself: the directory graph has a cycle.
    #[error("directory cycle: directory inode {ino} is reached again below itself")]
    DirectoryCycle {
        /// The directory met twice.
        ino: u64,
    },
    /// A v6 file chunk that the bootstrap's chunk table does not describe.
    #[error(
        "chunk {ci_index} of blob {blob_index} (file inode {ino}) is missing from the chunk table"
    )]
    MissingChunk {
        /// The file's inode number.
        ino: u64,
        /// The blob index the file names.
        blob_index: u32,
        /// The chunk index inside that blob.
        ci_index: u32,
    },
}

impl Error {
    /// True when the input is damaged or not a bootstrap (as opposed to a refused feature).
    pub fn is_corrupt(&self) -> bool {
        !matches!(self, Error::Unsupported(_) | Error::NoSuchInode { .. })
    }

    /// True when the bootstrap uses a feature this reader refuses.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported(_))
    }
}

/// Features of Nydus images that this reader refuses, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsupported {
    /// A RAFS v5 superblock with a version other than 0x500.
    V5Version(u32),
    /// A Nydus v3 bootstrap: EROFS without the RAFS v6 compat bit.
    NydusV3Bootstrap,
    /// A Nydus v3 data blob (`NDFOOTER` tail) given where a bootstrap was expected.
    NydusV3Blob,
    /// Superblock flag bits this reader does not know.
    UnknownSuperFlags(u64),
    /// Blob feature bits this reader does not know.
    UnknownBlobFeatures(u32),
    /// Encrypted chunks (AES-XTS).
    Encryption,
    /// OCI-ref (zran) blobs: data read from the original gzip layers.
    Zran,
    /// Blobs whose data lives in an external backend.
    ExternalBlob,
    /// Tarfs mode: raw tar blobs with 512-byte blocks.
    Tarfs,
    /// Legacy stargz (gzip-compressed chunks).
    LegacyStargz,
    /// EROFS features RAFS v6 never uses (compression, shared xattrs, checksums...).
    ErofsFeature(&'static str),
    /// A v6 inode data layout other than flat or chunk-based.
    InodeLayout(u16),
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::V5Version(v) => write!(f, "RAFS v5 superblock version {v:#x}"),
            Unsupported::NydusV3Bootstrap => {
                f.write_str("Nydus v3 bootstrap (EROFS without the RAFS v6 compat bit)")
            }
            Unsupported::NydusV3Blob => f.write_str("Nydus v3 data blob (NDFOOTER)"),
            Unsupported::UnknownSuperFlags(bits) => write!(f, "unknown superblock flags {bits:#x}"),
            Unsupported::UnknownBlobFeatures(bits) => write!(f, "unknown blob features {bits:#x}"),
            Unsupported::Encryption => f.write_str("encrypted blobs"),
            Unsupported::Zran => f.write_str("OCI-ref (zran) blobs"),
            Unsupported::ExternalBlob => f.write_str("external blobs"),
            Unsupported::Tarfs => f.write_str("tarfs images"),
            Unsupported::LegacyStargz => f.write_str("legacy stargz (gzip) chunks"),
            Unsupported::ErofsFeature(what) => write!(f, "EROFS feature: {what}"),
            Unsupported::InodeLayout(l) => write!(f, "EROFS inode data layout {l}"),
        }
    }
}
