//! RAFS v5 on-disk structures.
//!
//! ```text
//! 0                8192
//! +----------------+-------------+----------------+------------+----------------+------------------
//! | superblock     | inode table | prefetch table | blob table | ext blob table | inode records ...
//! | (8 KiB)        | u32 x N     | u32 inos       | frames     | 64 B x blobs   | 128 B + name +
//! +----------------+-------------+----------------+------------+----------------+ symlink + xattrs
//!                                                                                 + 80 B chunks
//! inode(index i) = inode_table[i - 1] << 3          (indexes start at 1; the root is 1)
//! ```
//! Everything is padded to 8 bytes. A directory's children have consecutive indexes
//! `i_child_index .. i_child_index + i_child_count`, sorted by name.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `s_magic`: "RAFS" as a little-endian u32.
pub const MAGIC: u32 = 0x5241_4653;
/// The only `s_fs_version` nydus loads.
pub const VERSION: u32 = 0x500;
/// Size of the superblock, and the start of the inode table.
pub const SUPERBLOCK_SIZE: u64 = 8192;
/// Alignment of every structure.
pub const ALIGNMENT: u64 = 8;
/// Inode index of the root directory.
pub const ROOT_INDEX: u64 = 1;

/// `RafsV5SuperBlock` (8192 bytes at offset 0).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct SuperBlock {
    /// [`MAGIC`].
    pub s_magic: U32,
    /// [`VERSION`].
    pub s_fs_version: U32,
    /// Must be 8192.
    pub s_sb_size: U32,
    /// Chunk size in bytes (power of two, 4 KiB..16 MiB).
    pub s_block_size: U32,
    /// `RafsSuperFlags`.
    pub s_flags: U64,
    /// Unique inodes (hardlinks count once).
    pub s_inodes_count: U64,
    /// Offset of the inode table (8192).
    pub s_inode_table_offset: U64,
    /// Offset of the prefetch table.
    pub s_prefetch_table_offset: U64,
    /// Offset of the blob table.
    pub s_blob_table_offset: U64,
    /// Slots in the inode table (directory entries; hardlinks count per link).
    pub s_inode_table_entries: U32,
    /// Entries in the prefetch table.
    pub s_prefetch_table_entries: U32,
    /// Bytes of the blob table.
    pub s_blob_table_size: U32,
    /// Entries in the extended blob table.
    pub s_extended_blob_table_entries: U32,
    /// Offset of the extended blob table.
    pub s_extended_blob_table_offset: U64,
    /// Zero.
    pub s_reserved: [u8; 8112],
}

/// `RafsV5Inode` (128 bytes), followed by the name, the symlink target, the xattrs and the
/// chunk records, each padded to 8 bytes.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct Inode {
    /// Merkle digest of the inode's content.
    pub i_digest: [u8; 32],
    /// Parent inode number (0 for the root).
    pub i_parent: U64,
    /// Inode number; hardlinks share the first link's.
    pub i_ino: U64,
    /// Owner.
    pub i_uid: U32,
    /// Group.
    pub i_gid: U32,
    /// Project id.
    pub i_projid: U32,
    /// Full `st_mode`.
    pub i_mode: U32,
    /// Size in bytes.
    pub i_size: U64,
    /// 512-byte blocks.
    pub i_blocks: U64,
    /// `RafsInodeFlags`: SYMLINK 0x1, HARDLINK 0x2, XATTR 0x4, HAS_HOLE 0x8.
    pub i_flags: U64,
    /// Link count.
    pub i_nlink: U32,
    /// Directory: inode index of the first child.
    pub i_child_index: U32,
    /// Directory: number of children; regular file: number of chunks.
    pub i_child_count: U32,
    /// Name length (1..=255).
    pub i_name_size: U16,
    /// Symlink target length.
    pub i_symlink_size: U16,
    /// Device number.
    pub i_rdev: U32,
    /// Modification time, nanoseconds.
    pub i_mtime_nsec: U32,
    /// Modification time, seconds.
    pub i_mtime: U64,
    /// Zero.
    pub i_reserved: [u8; 8],
}

/// `i_flags`: the inode has xattrs after its name and symlink target.
pub const INODE_FLAG_XATTR: u64 = 0x4;
/// `i_flags`: the file has holes; chunks carry their file offsets.
pub const INODE_FLAG_HAS_HOLE: u64 = 0x8;
/// Every `i_flags` bit nydus defines.
pub const INODE_FLAGS_KNOWN: u64 = 0xf;

/// `RafsV5ExtBlobEntry` (64 bytes): sizes and features of one blob.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct ExtBlobEntry {
    /// Chunks in the blob.
    pub chunk_count: U32,
    /// `BlobFeatures`.
    pub features: U32,
    /// Uncompressed data size.
    pub uncompressed_size: U64,
    /// Blob file size.
    pub compressed_size: U64,
    /// Zero.
    pub reserved: [u8; 40],
}
