//! Superblock settings of a tree: format version, compressor, digester, chunk size, flags.

use crate::flags::{Compressor, Digester, SuperFlags};
use crate::model::{FormatVersion, Timestamp};

/// Superblock settings of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The format written: v5 stays v5, v6 stays v6.
    pub version: FormatVersion,
    /// Chunk compressor (of every blob).
    pub compressor: Compressor,
    /// Chunk digester.
    pub digester: Digester,
    /// Chunk size in bytes (a power of two, 4 KiB..16 MiB).
    pub chunk_size: u32,
    /// Whether uid/gid are meaningful (`EXPLICIT_UID_GID`).
    pub explicit_uid_gid: bool,
    /// The superblock flags as read. The writer replaces their compressor, digester,
    /// `EXPLICIT_UID_GID` and `HAS_XATTR` bits from the other settings and the tree (and, for
    /// v6, sets `INLINED_CHUNK_DIGEST` when every blob has a digest array), and keeps the
    /// rest (`ENCRYPTION_NONE`...).
    pub flags: SuperFlags,
    /// Build time recorded in a v6 superblock (`None`: 0).
    pub build_time: Option<Timestamp>,
}

impl Settings {
    /// Default settings of the official builder for `version`: zstd, blake3, 1 MiB chunks,
    /// explicit uid/gid.
    pub fn new(version: FormatVersion) -> Settings {
        Settings {
            version,
            compressor: Compressor::Zstd,
            digester: Digester::Blake3,
            chunk_size: 1 << 20,
            explicit_uid_gid: true,
            flags: SuperFlags(0),
            build_time: None,
        }
    }

    /// The superblock flag word to write: [`Settings::flags`] with the compressor, digester
    /// and uid/gid bits of these settings, and `HAS_XATTR` as `has_xattr` says.
    pub fn super_flags(&self, has_xattr: bool) -> SuperFlags {
        let cleared = self.flags.bits()
            & !(SuperFlags::COMPRESSION_NONE.bits()
                | SuperFlags::COMPRESSION_LZ4.bits()
                | SuperFlags::COMPRESSION_GZIP.bits()
                | SuperFlags::COMPRESSION_ZSTD.bits()
                | SuperFlags::HASH_BLAKE3.bits()
                | SuperFlags::HASH_SHA256.bits()
                | SuperFlags::EXPLICIT_UID_GID.bits()
                | SuperFlags::HAS_XATTR.bits());
        let compression = match self.compressor {
            Compressor::None => SuperFlags::COMPRESSION_NONE,
            Compressor::Lz4Block => SuperFlags::COMPRESSION_LZ4,
            Compressor::Gzip => SuperFlags::COMPRESSION_GZIP,
            Compressor::Zstd => SuperFlags::COMPRESSION_ZSTD,
        };
        let hash = match self.digester {
            Digester::Blake3 => SuperFlags::HASH_BLAKE3,
            Digester::Sha256 => SuperFlags::HASH_SHA256,
        };
        let mut bits = cleared | compression.bits() | hash.bits();
        if self.explicit_uid_gid {
            bits |= SuperFlags::EXPLICIT_UID_GID.bits();
        }
        if has_xattr {
            bits |= SuperFlags::HAS_XATTR.bits();
        }
        SuperFlags(bits)
    }
}
