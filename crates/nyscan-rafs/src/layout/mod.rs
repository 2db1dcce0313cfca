//! Raw on-disk structures, little-endian, alignment 1, borrowed in place from the bytes.
//!
//! Field names follow the nydus sources (`s_magic`, `i_child_index`...) so the two can be read
//! side by side. These are the low-level layer: the unified API lives in [`crate::Bootstrap`].

pub mod v5;
pub mod v6;

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `RafsV5ChunkInfo` (80 bytes): a chunk record, in v5 after each file inode and in the v6
/// chunk table.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct ChunkInfo {
    /// Digest of the uncompressed chunk (blake3 or sha256 per the superblock).
    pub block_id: [u8; 32],
    /// Index into the blob table.
    pub blob_index: U32,
    /// `BlobChunkFlags`.
    pub flags: U32,
    /// Bytes of the chunk in the blob.
    pub compressed_size: U32,
    /// Bytes of the chunk once decompressed.
    pub uncompressed_size: U32,
    /// Byte offset of the chunk in the blob file.
    pub compressed_offset: U64,
    /// Byte offset of the chunk in the uncompressed blob.
    pub uncompressed_offset: U64,
    /// Byte offset of the chunk in the file (v5; stale in the v6 chunk table).
    pub file_offset: U64,
    /// Chunk index inside its blob.
    pub index: U32,
    /// CRC-32C of the uncompressed data, valid when the flags say `HAS_CRC32`.
    pub crc32: U32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_format() {
        assert_eq!(size_of::<ChunkInfo>(), 80);
        assert_eq!(size_of::<v5::SuperBlock>(), 8192);
        assert_eq!(size_of::<v5::Inode>(), 128);
        assert_eq!(size_of::<v5::ExtBlobEntry>(), 64);
        assert_eq!(size_of::<v6::SuperBlock>(), 128);
        assert_eq!(size_of::<v6::SuperBlockExt>(), 256);
        assert_eq!(size_of::<v6::Device>(), 128);
        assert_eq!(size_of::<v6::Blob>(), 256);
        assert_eq!(size_of::<v6::InodeCompact>(), 32);
        assert_eq!(size_of::<v6::InodeExtended>(), 64);
        assert_eq!(size_of::<v6::Dirent>(), 12);
        assert_eq!(size_of::<v6::ChunkAddr>(), 8);
        assert_eq!(size_of::<v6::XattrIbodyHeader>(), 12);
        assert_eq!(size_of::<v6::XattrEntry>(), 4);
    }
}
