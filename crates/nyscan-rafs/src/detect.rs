//! Telling a bootstrap's format from its first bytes, apart from full parsing.

use crate::error::{Error, Unsupported};
use crate::layout::{v5, v6};

/// What a byte string looks like, judged from magic numbers only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootstrapKind {
    /// A RAFS v5 bootstrap.
    RafsV5,
    /// A RAFS v6 bootstrap (EROFS with the RAFS compat bit).
    RafsV6,
    /// EROFS without the RAFS compat bit: a Nydus v3 bootstrap or plain EROFS image.
    NydusV3,
    /// A Nydus v3 data blob (`NDFOOTER` tail).
    NydusV3Blob,
    /// A Nydus v5/v6 data blob with a ToC (it ends with a `rafs.blob.toc` tar header).
    NydusDataBlob,
    /// None of the above.
    Unknown,
}

impl BootstrapKind {
    /// Looks at the magic numbers of `bytes`.
    pub fn detect(bytes: &[u8]) -> BootstrapKind {
        let le32 = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
        };
        if le32(0) == Some(v5::MAGIC) {
            return BootstrapKind::RafsV5;
        }
        if le32(v6::SUPERBLOCK_OFFSET as usize) == Some(v6::MAGIC) {
            let compat = le32(v6::SUPERBLOCK_OFFSET as usize + 8).unwrap_or(0);
            return if compat & v6::COMPAT_RAFS_V6 != 0 {
                BootstrapKind::RafsV6
            } else {
                BootstrapKind::NydusV3
            };
        }
        if bytes.len() >= 4096 && bytes[bytes.len() - 4096..].starts_with(b"NDFOOTER") {
            return BootstrapKind::NydusV3Blob;
        }
        if bytes.len() >= 512 && bytes[bytes.len() - 512..].starts_with(b"rafs.blob.toc\0") {
            return BootstrapKind::NydusDataBlob;
        }
        BootstrapKind::Unknown
    }

    /// The error to give when these bytes were expected to be a bootstrap and are not one.
    pub(crate) fn refusal(self) -> Error {
        match self {
            BootstrapKind::NydusV3 => Error::Unsupported(Unsupported::NydusV3Bootstrap),
            BootstrapKind::NydusV3Blob => Error::Unsupported(Unsupported::NydusV3Blob),
            BootstrapKind::NydusDataBlob => Error::NotBootstrap {
                reason: "this is a Nydus data blob, not a bootstrap",
            },
            _ => Error::NotBootstrap {
                reason: "no RAFS v5 magic at offset 0 and no EROFS magic at offset 0x400",
            },
        }
    }
}
