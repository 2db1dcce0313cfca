//! Flag words shared by both format versions: superblock flags, blob features, chunk flags,
//! and the compressor and digester they select.

use std::fmt;

use crate::error::{Error, Result, Unsupported};

macro_rules! bitflags_type {
    ($(#[$meta:meta])* $name:ident($int:ty) { $($(#[$fmeta:meta])* $flag:ident = $value:expr, $label:literal;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $int);

        impl $name {
            $($(#[$fmeta])* pub const $flag: $name = $name($value);)*
            /// Every bit this reader knows.
            pub const KNOWN: $int = 0 $(| $value)*;

            /// The raw bits.
            pub fn bits(self) -> $int {
                self.0
            }

            /// True when every bit of `other` is set.
            pub fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Bits set that this reader does not know.
            pub fn unknown_bits(self) -> $int {
                self.0 & !Self::KNOWN
            }

            /// Names of the known bits that are set, in bit order.
            pub fn names(self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $(if self.0 & $value != 0 { out.push($label); })*
                out
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut names = self.names().join(" | ");
                if self.unknown_bits() != 0 {
                    if !names.is_empty() {
                        names.push_str(" | ");
                    }
                    names.push_str(&format!("{:#x}", self.unknown_bits()));
                }
                if names.is_empty() {
                    names.push_str("(empty)");
                }
                f.write_str(&names)
            }
        }
    };
}

bitflags_type! {
    /// `RafsSuperFlags`: the v5 `s_flags` and the v6 extended superblock `s_flags`.
    SuperFlags(u64) {
        /// Chunks are stored uncompressed.
        COMPRESSION_NONE = 0x1, "COMPRESSION_NONE";
        /// Chunks are raw LZ4 blocks.
        COMPRESSION_LZ4 = 0x2, "COMPRESSION_LZ4";
        /// Chunk digests are blake3.
        HASH_BLAKE3 = 0x4, "HASH_BLAKE3";
        /// Chunk digests are sha256.
        HASH_SHA256 = 0x8, "HASH_SHA256";
        /// Inodes carry meaningful uid/gid.
        EXPLICIT_UID_GID = 0x10, "EXPLICIT_UID_GID";
        /// Some inode has xattrs.
        HAS_XATTR = 0x20, "HAS_XATTR";
        /// Chunks are gzip members (legacy stargz).
        COMPRESSION_GZIP = 0x40, "COMPRESSION_GZIP";
        /// Chunks are zstd frames.
        COMPRESSION_ZSTD = 0x80, "COMPRESSION_ZSTD";
        /// v6: every data blob carries a chunk digest array.
        INLINED_CHUNK_DIGEST = 0x100, "INLINED_CHUNK_DIGEST";
        /// v6 tarfs mode.
        TARFS_MODE = 0x200, "TARTFS_MODE";
        /// Chunks are not encrypted.
        ENCRYPTION_NONE = 0x0100_0000, "ENCRYPTION_NONE";
        /// Chunks are AES-128-XTS encrypted.
        ENCRYPTION_AES_128_XTS = 0x0200_0000, "ENCRYPTION_ASE_128_XTS";
        /// Reserved compat bits.
        PRESERVED_COMPAT = 0xfc00_0000, "PRESERVED_COMPAT";
    }
}

bitflags_type! {
    /// `BlobFeatures`: what a data blob carries and how its chunks are laid out.
    BlobFeatures(u32) {
        /// Uncompressed chunk offsets are 4 KiB aligned.
        ALIGNED = 0x1, "aligned";
        /// The bootstrap is inlined in the blob.
        INLINED_FS_META = 0x2, "inlined-fs-meta";
        /// The compression-info entries are 24-byte v2 entries.
        CHUNK_INFO_V2 = 0x4, "chunk-v2";
        /// Chunk data is random-access gzip (OCI-ref).
        ZRAN = 0x8, "zran";
        /// Data and blob meta live in different blobs.
        SEPARATE = 0x10, "separate";
        /// The blob carries a chunk digest array.
        INLINED_CHUNK_DIGEST = 0x20, "chunk-digest";
        /// A tarfs blob.
        TARFS = 0x40, "tarfs";
        /// Small chunks are merged into batch chunks.
        BATCH = 0x80, "batch";
        /// Chunks are encrypted.
        ENCRYPTED = 0x100, "encrypted";
        /// Built as a chunk dictionary.
        IS_CHUNKDICT_GENERATED = 0x200, "chunkdict";
        /// A prefetch blob split off by `nydusify optimize`.
        IS_SEPARATED_WITH_PREFETCH_FILES = 0x400, "separated-prefetch";
        /// Data lives in an external backend.
        EXTERNAL = 0x800, "external";
        /// 512-byte tar headers separate the blob's sections.
        HAS_TAR_HEADER = 0x1000_0000, "tar-header";
        /// A table of contents sits at the blob's tail.
        HAS_TOC = 0x2000_0000, "toc";
        /// Built by nydus-image 2.2 or later.
        CAP_TAR_TOC = 0x4000_0000, "cap_toc";
    }
}

impl BlobFeatures {
    /// Internal marker of nydus; never valid on disk.
    pub(crate) const V5_NO_EXT_BLOB_TABLE: u32 = 0x8000_0000;

    /// Refuses feature sets this reader cannot serve, by name.
    pub(crate) fn check_supported(self, what: &'static str, offset: u64) -> Result<()> {
        if self.0 & Self::V5_NO_EXT_BLOB_TABLE != 0 {
            return Err(Error::Invalid {
                what,
                offset,
                reason: "internal-only blob feature bit set on disk",
                value: u64::from(self.0),
            });
        }
        if self.unknown_bits() != 0 {
            return Err(Error::Unsupported(Unsupported::UnknownBlobFeatures(
                self.unknown_bits(),
            )));
        }
        if self.contains(Self::ENCRYPTED) {
            return Err(Error::Unsupported(Unsupported::Encryption));
        }
        if self.contains(Self::ZRAN) || self.contains(Self::SEPARATE) {
            return Err(Error::Unsupported(Unsupported::Zran));
        }
        if self.contains(Self::EXTERNAL) {
            return Err(Error::Unsupported(Unsupported::ExternalBlob));
        }
        if self.contains(Self::TARFS) {
            return Err(Error::Unsupported(Unsupported::Tarfs));
        }
        Ok(())
    }
}

bitflags_type! {
    /// `BlobChunkFlags` of a chunk record.
    ChunkFlags(u32) {
        /// The chunk is stored compressed.
        COMPRESSED = 0x1, "compressed";
        /// A hole chunk (legacy).
        HOLECHUNK = 0x2, "hole";
        /// The chunk is encrypted.
        ENCRYPTED = 0x4, "encrypted";
        /// The chunk is a member of a batch chunk.
        BATCH = 0x8, "batch";
        /// The record carries a CRC-32C of the uncompressed data.
        HAS_CRC32 = 0x10, "crc32";
    }
}

/// How chunk data is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compressor {
    /// Stored as is.
    None,
    /// Raw LZ4 block, no frame.
    Lz4Block,
    /// gzip member (legacy stargz only).
    Gzip,
    /// zstd frame.
    Zstd,
}

impl Compressor {
    /// The compressor selected by superblock flags (nydus order: none, lz4, gzip, zstd;
    /// lz4_block when none is set).
    pub fn from_super_flags(flags: SuperFlags) -> Compressor {
        if flags.contains(SuperFlags::COMPRESSION_NONE) {
            Compressor::None
        } else if flags.contains(SuperFlags::COMPRESSION_LZ4) {
            Compressor::Lz4Block
        } else if flags.contains(SuperFlags::COMPRESSION_GZIP) {
            Compressor::Gzip
        } else if flags.contains(SuperFlags::COMPRESSION_ZSTD) {
            Compressor::Zstd
        } else {
            Compressor::Lz4Block
        }
    }

    /// The compressor with nydus' numeric id (`compress::Algorithm`), if known.
    pub fn from_id(id: u32) -> Option<Compressor> {
        Some(match id {
            0 => Compressor::None,
            1 => Compressor::Lz4Block,
            2 => Compressor::Gzip,
            3 => Compressor::Zstd,
            _ => return None,
        })
    }

    /// The name nydus tools print (`zstd`, `lz4_block`...).
    pub fn name(self) -> &'static str {
        match self {
            Compressor::None => "none",
            Compressor::Lz4Block => "lz4_block",
            Compressor::Gzip => "gzip",
            Compressor::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How chunk digests are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Digester {
    /// BLAKE3, 32 bytes.
    Blake3,
    /// SHA-256, 32 bytes.
    Sha256,
}

impl Digester {
    /// The digester selected by superblock flags (blake3 when neither is set).
    pub fn from_super_flags(flags: SuperFlags) -> Digester {
        if flags.contains(SuperFlags::HASH_BLAKE3) {
            Digester::Blake3
        } else if flags.contains(SuperFlags::HASH_SHA256) {
            Digester::Sha256
        } else {
            Digester::Blake3
        }
    }

    /// The digester with nydus' numeric id, if known.
    pub fn from_id(id: u32) -> Option<Digester> {
        match id {
            0 => Some(Digester::Blake3),
            1 => Some(Digester::Sha256),
            _ => None,
        }
    }

    /// The name nydus tools print.
    pub fn name(self) -> &'static str {
        match self {
            Digester::Blake3 => "blake3",
            Digester::Sha256 => "sha256",
        }
    }
}

impl fmt::Display for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Refuses superblock flag sets this reader cannot serve, by name.
pub(crate) fn check_super_flags(flags: SuperFlags) -> Result<()> {
    if flags.unknown_bits() != 0 {
        return Err(Error::Unsupported(Unsupported::UnknownSuperFlags(
            flags.unknown_bits(),
        )));
    }
    if flags.contains(SuperFlags::ENCRYPTION_AES_128_XTS) {
        return Err(Error::Unsupported(Unsupported::Encryption));
    }
    if flags.contains(SuperFlags::TARFS_MODE) {
        return Err(Error::Unsupported(Unsupported::Tarfs));
    }
    if Compressor::from_super_flags(flags) == Compressor::Gzip {
        return Err(Error::Unsupported(Unsupported::LegacyStargz));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_known_and_unknown_bits() {
        let f = SuperFlags(0x94 | 0x1_0000);
        assert_eq!(
            format!("{f:?}"),
            "HASH_BLAKE3 | EXPLICIT_UID_GID | COMPRESSION_ZSTD | 0x10000"
        );
        assert_eq!(f.unknown_bits(), 0x1_0000);
    }

    #[test]
    fn compressor_order_follows_nydus() {
        assert_eq!(
            Compressor::from_super_flags(SuperFlags(0x2 | 0x80)),
            Compressor::Lz4Block
        );
        assert_eq!(
            Compressor::from_super_flags(SuperFlags(0)),
            Compressor::Lz4Block
        );
        assert_eq!(
            Digester::from_super_flags(SuperFlags(0x8)),
            Digester::Sha256
        );
    }

    #[test]
    fn refuses_named_features() {
        assert_eq!(
            check_super_flags(SuperFlags(0x0200_0000)),
            Err(Error::Unsupported(Unsupported::Encryption))
        );
        assert_eq!(
            BlobFeatures(0x8).check_supported("blob", 0),
            Err(Error::Unsupported(Unsupported::Zran))
        );
        assert_eq!(
            BlobFeatures(0x800).check_supported("blob", 0),
            Err(Error::Unsupported(Unsupported::ExternalBlob))
        );
        assert!(BlobFeatures(0x7000_0021).check_supported("blob", 0).is_ok());
    }
}
