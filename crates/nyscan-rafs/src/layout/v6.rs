//! RAFS v6 on-disk structures (EROFS-compatible).
//!
//! ```text
//! 0          1024            1152                1408
//! +----------+---------------+-------------------+--------------+-- ... --+------------------------
//! | unused   | EROFS super   | RAFS ext. super   | device slots |  blob   | meta area: inodes in
//! |          | (128 B)       | (256 B)           | 128 B x N    |  table  | 32-byte slots, dirents,
//! +----------+---------------+-------------------+--------------+-- ... --+ tails; then the chunk
//!                                                                           table (80 B entries)
//! meta_start = s_meta_blkaddr << s_blkszbits;     inode(nid) = meta_start + nid * 32
//! ```
//! Directory blocks hold 12-byte dirents then names; a regular file holds 8-byte chunk
//! addresses `(ci_index, blob_index + 1, uncompressed block)` that resolve through the chunk
//! table.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// Offset of the EROFS superblock.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// Offset of the RAFS extended superblock.
pub const SUPERBLOCK_EXT_OFFSET: u64 = 1152;
/// EROFS `s_magic`.
pub const MAGIC: u32 = 0xE0F5_E1E2;
/// `s_feature_compat` bit that marks RAFS v6.
pub const COMPAT_RAFS_V6: u32 = 0x4000_0000;
/// `s_feature_compat` bit of EROFS superblock checksums.
pub const COMPAT_SB_CHKSUM: u32 = 0x1;
/// The only `s_feature_incompat` RAFS v6 uses: CHUNKED_FILE | DEVICE_TABLE.
pub const INCOMPAT_RAFS_V6: u32 = 0xC;
/// `s_devt_slotoff` nydus writes (slots at 11 * 128 = 1408).
pub const DEVT_SLOTOFF: u16 = 11;
/// Bytes per inode slot (nid unit).
pub const INODE_SLOT_SIZE: u64 = 32;

/// Data layout: blocks at `i_u`, contiguous.
pub const LAYOUT_FLAT_PLAIN: u16 = 0;
/// Data layout: blocks at `i_u`, last partial block right after the inode.
pub const LAYOUT_FLAT_INLINE: u16 = 2;
/// Data layout: chunk-based regular file.
pub const LAYOUT_CHUNK_BASED: u16 = 4;

/// EROFS superblock `RafsV6SuperBlock` (128 bytes at 1024).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct SuperBlock {
    /// [`MAGIC`].
    pub s_magic: U32,
    /// Must be 0.
    pub s_checksum: U32,
    /// Must contain [`COMPAT_RAFS_V6`].
    pub s_feature_compat: U32,
    /// log2 of the block size: 12 (9 is tarfs).
    pub s_blkszbits: u8,
    /// Must be 0.
    pub s_extslots: u8,
    /// Nid of the root directory.
    pub s_root_nid: U16,
    /// Number of inodes (directory entries).
    pub s_inos: U64,
    /// Build time, seconds.
    pub s_build_time: U64,
    /// Build time, nanoseconds.
    pub s_build_time_nsec: U32,
    /// Blocks of all blobs.
    pub s_blocks: U32,
    /// Block address of the meta area (inodes).
    pub s_meta_blkaddr: U32,
    /// Must be 0 (no shared xattrs).
    pub s_xattr_blkaddr: U32,
    /// Volume uuid.
    pub s_uuid: [u8; 16],
    /// Volume name.
    pub s_volume_name: [u8; 16],
    /// Must equal [`INCOMPAT_RAFS_V6`].
    pub s_feature_incompat: U32,
    /// Must be 0.
    pub s_u: U16,
    /// Number of device slots (blobs).
    pub s_extra_devices: U16,
    /// Device slot offset in 128-byte units.
    pub s_devt_slotoff: U16,
    /// Zero.
    pub s_reserved: [u8; 38],
}

/// RAFS extended superblock `RafsV6SuperBlockExt` (256 bytes at 1152).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct SuperBlockExt {
    /// `RafsSuperFlags`.
    pub s_flags: U64,
    /// Offset of the blob table (4 KiB aligned).
    pub s_blob_table_offset: U64,
    /// Bytes of the blob table (multiple of 256).
    pub s_blob_table_size: U32,
    /// Chunk size in bytes.
    pub s_chunk_size: U32,
    /// Offset of the chunk table.
    pub s_chunk_table_offset: U64,
    /// Bytes of the chunk table (multiple of 80).
    pub s_chunk_table_size: U64,
    /// Offset of the prefetch table (0: none).
    pub s_prefetch_table_offset: U64,
    /// Bytes of the prefetch table (u32 nids).
    pub s_prefetch_table_size: U32,
    /// Padding.
    pub s_padding: U32,
    /// Zero.
    pub s_reserved: [u8; 200],
}

/// Device slot `RafsV6Device` (128 bytes), one per blob.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct Device {
    /// Blob id, 64 ASCII hex characters.
    pub blob_id: [u8; 64],
    /// Uncompressed blob size in blocks.
    pub blocks: U32,
    /// First block of the blob in the unified block space.
    pub mapped_blkaddr: U32,
    /// Zero.
    pub reserved: [u8; 56],
}

/// Blob table entry `RafsV6Blob` (256 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct Blob {
    /// Blob id, 64 ASCII hex characters.
    pub blob_id: [u8; 64],
    /// Must equal the entry's position.
    pub blob_index: U32,
    /// Must equal the superblock chunk size.
    pub chunk_size: U32,
    /// Chunks in the blob.
    pub chunk_count: U32,
    /// Compressor id (none 0, lz4_block 1, gzip 2, zstd 3).
    pub compression_algo: U32,
    /// Digester id (blake3 0, sha256 1).
    pub digest_algo: U32,
    /// `BlobFeatures`.
    pub features: U32,
    /// Size of the blob file.
    pub compressed_size: U64,
    /// Size of the uncompressed (4 KiB aligned) data.
    pub uncompressed_size: U64,
    /// Bytes of the ToC including its tar header (0: none).
    pub blob_toc_size: U32,
    /// Compressor of the compression-info array.
    pub ci_compressor: U32,
    /// Offset of the compression-info array in the (meta) blob.
    pub ci_offset: U64,
    /// Compressed bytes of the compression-info array.
    pub ci_compressed_size: U64,
    /// Uncompressed bytes of the compression-info array.
    pub ci_uncompressed_size: U64,
    /// sha256 of the ToC entries and header.
    pub blob_toc_digest: [u8; 32],
    /// Digest of the separate meta blob (zran), or the key (encrypted).
    pub blob_meta_digest: [u8; 32],
    /// Size of the separate meta blob (zran), or IV bytes (encrypted).
    pub blob_meta_size: U64,
    /// IV bytes 8..16 (encrypted).
    pub cipher_iv: [u8; 8],
    /// Cipher id (0: none).
    pub cipher_algo: U32,
    /// Zero.
    pub reserved: [u8; 36],
}

/// Compact inode `RafsV6InodeCompact` (32 bytes): no mtime, 16-bit owners.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct InodeCompact {
    /// Bit 0: extended; bits 1..=3: data layout.
    pub i_format: U16,
    /// Inline xattr size in 4-byte units (beyond the 12-byte header).
    pub i_xattr_icount: U16,
    /// `st_mode`.
    pub i_mode: U16,
    /// Link count.
    pub i_nlink: U16,
    /// Size in bytes.
    pub i_size: U32,
    /// Zero.
    pub i_reserved: U32,
    /// Raw block address, rdev, or chunk format.
    pub i_u: U32,
    /// Builder's inode number (shared by hardlinks).
    pub i_ino: U32,
    /// Owner.
    pub i_uid: U16,
    /// Group.
    pub i_gid: U16,
    /// Zero.
    pub i_reserved2: [u8; 4],
}

/// Extended inode `RafsV6InodeExtended` (64 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct InodeExtended {
    /// Bit 0: extended; bits 1..=3: data layout.
    pub i_format: U16,
    /// Inline xattr size in 4-byte units (beyond the 12-byte header).
    pub i_xattr_icount: U16,
    /// `st_mode`.
    pub i_mode: U16,
    /// Zero.
    pub i_reserved: U16,
    /// Size in bytes.
    pub i_size: U64,
    /// Raw block address, rdev, or chunk format.
    pub i_u: U32,
    /// Builder's inode number (shared by hardlinks).
    pub i_ino: U32,
    /// Owner.
    pub i_uid: U32,
    /// Group.
    pub i_gid: U32,
    /// Modification time, seconds.
    pub i_mtime: U64,
    /// Modification time, nanoseconds.
    pub i_mtime_nsec: U32,
    /// Link count.
    pub i_nlink: U32,
    /// Zero.
    pub i_reserved2: [u8; 16],
}

/// Directory entry `RafsV6Dirent` (12 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct Dirent {
    /// Nid of the entry's inode.
    pub e_nid: U64,
    /// Offset of the name inside the block.
    pub e_nameoff: U16,
    /// File type (1 reg, 2 dir, 3 chr, 4 blk, 5 fifo, 6 sock, 7 symlink).
    pub e_file_type: u8,
    /// Zero.
    pub e_reserved: u8,
}

/// Chunk address `RafsV6InodeChunkAddr` (8 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct ChunkAddr {
    /// Low 16 bits of the chunk index in the blob.
    pub c_blob_addr_lo: U16,
    /// Low byte: blob index + 1; high byte: chunk index bits 16..24.
    pub c_blob_addr_hi: U16,
    /// Uncompressed offset in the blob, in blocks.
    pub c_blk_addr: U32,
}

impl ChunkAddr {
    /// Blob index, or `None` for the invalid device 0.
    pub fn blob_index(&self) -> Option<u32> {
        (u32::from(self.c_blob_addr_hi.get()) & 0xff).checked_sub(1)
    }

    /// Chunk index inside the blob (24 bits).
    pub fn ci_index(&self) -> u32 {
        ((u32::from(self.c_blob_addr_hi.get()) >> 8) << 16) | u32::from(self.c_blob_addr_lo.get())
    }
}

/// Inline xattr header `RafsV6XattrIbodyHeader` (12 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct XattrIbodyHeader {
    /// Zero.
    pub h_reserved: U32,
    /// Shared xattrs (must be 0).
    pub h_shared_count: u8,
    /// Zero.
    pub h_reserved2: [u8; 7],
}

/// Inline xattr entry header (4 bytes), followed by the name suffix and the value.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct XattrEntry {
    /// Length of the name suffix.
    pub e_name_len: u8,
    /// Prefix index (1 `user.`, 2/3 POSIX ACLs, 4 `trusted.`, 6 `security.`).
    pub e_name_index: u8,
    /// Length of the value.
    pub e_value_size: U16,
}

/// The name prefix of an xattr prefix index.
pub fn xattr_prefix(index: u8) -> Option<&'static str> {
    Some(match index {
        1 => "user.",
        2 => "system.posix_acl_access",
        3 => "system.posix_acl_default",
        4 => "trusted.",
        6 => "security.",
        _ => return None,
    })
}
