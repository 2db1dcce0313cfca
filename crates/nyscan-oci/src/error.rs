//! Errors of image sources.

use std::path::PathBuf;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Why an image or its bootstrap could not be found or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A source string that is none of the accepted forms.
    #[error("invalid image source {input:?}: {reason}")]
    InvalidSource {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document (manifest, index, layout) is malformed.
    #[error("malformed {what} {}", path.display())]
    Json {
        /// What the document is.
        what: &'static str,
        /// Where it is.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// An OCI layout that breaks the image-layout spec.
    #[error("invalid OCI layout {}: {reason}", dir.display())]
    InvalidLayout {
        /// The layout directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No manifest matches the tag or digest asked for.
    #[error("no image {reference:?} in {}", dir.display())]
    NoSuchImage {
        /// The layout directory.
        dir: PathBuf,
        /// The tag or digest asked for.
        reference: String,
    },
    /// Content whose digest is not the one its descriptor names.
    #[error("digest mismatch for {}: expected {expected}, got {actual}", path.display())]
    DigestMismatch {
        /// The blob file.
        path: PathBuf,
        /// The descriptor's digest.
        expected: String,
        /// The content's digest.
        actual: String,
    },
    /// Content whose size is not the one its descriptor names.
    #[error("size mismatch for {}: descriptor says {expected} bytes, file has {actual}", path.display())]
    SizeMismatch {
        /// The blob file.
        path: PathBuf,
        /// The descriptor's size.
        expected: u64,
        /// The file's size.
        actual: u64,
    },
    /// A digest string that is not `sha256:` and 64 hex digits.
    #[error("unsupported or malformed digest {0:?}")]
    BadDigest(String),
    /// The image is a plain OCI/Docker image, not a Nydus image.
    #[error("this is not a Nydus image: {reason}")]
    NotNydus {
        /// What was found instead.
        reason: String,
    },
    /// An index that holds no manifest for the requested platform.
    #[error("no Nydus manifest for platform {platform} in the index (found: {found})")]
    NoPlatform {
        /// The platform asked for.
        platform: String,
        /// The Nydus platforms the index has.
        found: String,
    },
    /// The bootstrap layer is not a gzip tar holding `image/image.boot`.
    #[error("bad bootstrap layer {digest}: {reason}")]
    BadBootstrapLayer {
        /// The layer digest.
        digest: String,
        /// What is wrong.
        reason: String,
    },
    /// A registry request failed.
    #[error("registry request failed")]
    Registry(#[source] Box<crate::registry::RegistryError>),
}
