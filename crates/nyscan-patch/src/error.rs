//! Errors of the patch engine.

use std::fmt;
use std::path::PathBuf;

use crate::ops::Origin;

/// Why an operation cannot be applied: refused before anything is written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// An operation that is not written right.
    #[error("{origin}: {reason}")]
    Syntax {
        /// Where it was written.
        origin: Origin,
        /// What is wrong.
        reason: String,
    },
    /// An image path that cannot be patched (relative, `..`, the root).
    #[error("{origin}: {path:?}: {reason}")]
    Path {
        /// Where it was written.
        origin: Origin,
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An operations file that cannot be read.
    #[error("cannot read operations file {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A local file that cannot give content (missing, not a regular file).
    #[error("{origin}: local file {}: {reason}", local.display())]
    Local {
        /// Where the operation was written.
        origin: Origin,
        /// The local file.
        local: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An operation the image refuses: unknown path for --replace or --delete, a directory
    /// in the way, an existing path for --add.
    #[error("{origin}: --{op} {path}: {reason}")]
    Image {
        /// Where it was written.
        origin: Origin,
        /// The operation (`replace`, `add`, `delete`).
        op: &'static str,
        /// The image path.
        path: String,
        /// Why it cannot be applied.
        reason: String,
    },
}

/// Every operation that was refused.
#[derive(Debug)]
pub struct OpErrors(pub Vec<OpError>);

impl fmt::Display for OpErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "{} operations are refused:", all.len())?;
                for e in all {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for OpErrors {}

/// Why a patch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// No operation was given.
    #[error("no operation given: use --replace, --add, --delete or --from")]
    NoOps,
    /// Operations refused before anything was written (all of them are listed).
    #[error("nothing was written: {0}")]
    Refused(OpErrors),
    /// The source or destination reference is not usable for a patch.
    #[error("{what} {value:?}: {reason}")]
    Reference {
        /// `source` or `destination`.
        what: &'static str,
        /// The reference as given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The destination is the source's own tag, which is only overwritten with --force.
    #[error("refusing to overwrite the source's tag {dest}: give another --to, or --force")]
    WouldOverwriteSource {
        /// The destination.
        dest: String,
    },
    /// Opening the source image failed.
    #[error("cannot open the source image {source_ref}")]
    Source {
        /// The source.
        source_ref: String,
        /// The cause.
        #[source]
        source: nyscan_oci::Error,
    },
    /// The source image's bootstrap could not be read.
    #[error("cannot read the source bootstrap")]
    Bootstrap(#[source] nyscan_rafs::Error),
    /// Building or writing the new bootstrap failed.
    #[error("cannot build the new bootstrap")]
    Tree(#[source] nyscan_rafs::write::WriteError),
    /// Writing the new data blob failed.
    #[error("cannot write the new data blob")]
    Blob(#[source] nyscan_blob::write::BlobWriteError),
    /// A local file could not be read or written.
    #[error("{what} {}", path.display())]
    Io {
        /// What was being done (`cannot read`, `cannot create`...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The source image's config is not a JSON object with `rootfs`.
    #[error("the source image's config {digest} is malformed: {reason}")]
    Config {
        /// The config digest.
        digest: String,
        /// What is wrong.
        reason: String,
    },
    /// A registry request failed.
    #[error("registry: {what}")]
    Registry {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: nyscan_oci::registry::RegistryError,
    },
    /// An OCI layout could not be read or written.
    #[error("OCI layout {}: {reason}", dir.display())]
    Layout {
        /// The layout directory.
        dir: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The written image does not read back as patched.
    #[error("verification of {dest} failed at {path}: {reason}")]
    Verify {
        /// The destination.
        dest: String,
        /// The image path that is wrong.
        path: String,
        /// What was found.
        reason: String,
    },
    /// Reading the written image back failed.
    #[error("cannot read back the written image {dest}")]
    ReadBack {
        /// The destination.
        dest: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A `Result` whose error is [`PatchError`].
pub type Result<T> = std::result::Result<T, PatchError>;
