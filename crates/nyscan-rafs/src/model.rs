//! Version-independent values returned by the unified API.

use std::fmt;

use crate::flags::{BlobFeatures, ChunkFlags, Compressor, Digester, SuperFlags};

/// An inode number: the v5 `i_ino` or the v6 nid. Hardlinks share one; stable for the life
/// of the bootstrap, and what `nydus-image inspect` and nydusd show as the inode number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ino(pub u64);

impl fmt::Display for Ino {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The RAFS format version of a bootstrap. For display only: the API is the same for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FormatVersion {
    /// RAFS v5.
    V5,
    /// RAFS v6 (EROFS-compatible).
    V6,
}

impl FormatVersion {
    /// 5 or 6.
    pub fn number(self) -> u32 {
        match self {
            FormatVersion::V5 => 5,
            FormatVersion::V6 => 6,
        }
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RAFS v{}", self.number())
    }
}

/// The kind of an inode, from its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A unix socket.
    Socket,
}

impl FileKind {
    /// The kind encoded in the `S_IFMT` bits of `mode`, if valid.
    pub fn from_mode(mode: u32) -> Option<FileKind> {
        Some(match mode & 0o170000 {
            0o100000 => FileKind::Regular,
            0o040000 => FileKind::Directory,
            0o120000 => FileKind::Symlink,
            0o020000 => FileKind::CharDevice,
            0o060000 => FileKind::BlockDevice,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            _ => return None,
        })
    }

    /// The kind of an EROFS dirent `e_file_type`, if valid.
    pub(crate) fn from_erofs_type(t: u8) -> Option<FileKind> {
        Some(match t {
            1 => FileKind::Regular,
            2 => FileKind::Directory,
            3 => FileKind::CharDevice,
            4 => FileKind::BlockDevice,
            5 => FileKind::Fifo,
            6 => FileKind::Socket,
            7 => FileKind::Symlink,
            _ => return None,
        })
    }

    /// A short lowercase name (`file`, `dir`, `symlink`...).
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Regular => "file",
            FileKind::Directory => "dir",
            FileKind::Symlink => "symlink",
            FileKind::CharDevice => "char",
            FileKind::BlockDevice => "block",
            FileKind::Fifo => "fifo",
            FileKind::Socket => "socket",
        }
    }
}

/// A modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Seconds since the epoch.
    pub secs: u64,
    /// Nanoseconds.
    pub nsecs: u32,
}

/// One extended attribute: a well-known prefix, the rest of the name, and the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Xattr<'a> {
    pub(crate) prefix: &'static str,
    pub(crate) suffix: &'a [u8],
    pub(crate) value: &'a [u8],
}

impl<'a> Xattr<'a> {
    /// The full name, e.g. `user.comment`.
    pub fn name(&self) -> Vec<u8> {
        let mut name = self.prefix.as_bytes().to_vec();
        name.extend_from_slice(self.suffix);
        name
    }

    /// The value bytes.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }
}

/// An entry of a directory: a name and the inode it names. `.` and `..` are never listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) ino: Ino,
    pub(crate) kind: FileKind,
}

impl<'a> DirEntry<'a> {
    /// The name (no `/`, no NUL; not necessarily UTF-8).
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    /// The inode the entry names.
    pub fn ino(&self) -> Ino {
        self.ino
    }

    /// The kind of that inode, as recorded in the directory.
    pub fn kind(&self) -> FileKind {
        self.kind
    }
}

/// Where one chunk of a file lives and how to check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chunk {
    /// Digest of the uncompressed chunk, with the bootstrap's digester.
    pub digest: [u8; 32],
    /// Index of the blob holding the chunk.
    pub blob_index: u32,
    /// Index of the chunk inside its blob.
    pub index: u32,
    /// Chunk flags.
    pub flags: ChunkFlags,
    /// Byte offset in the blob file.
    pub compressed_offset: u64,
    /// Bytes in the blob file.
    pub compressed_size: u32,
    /// Byte offset in the uncompressed blob.
    pub uncompressed_offset: u64,
    /// Bytes once decompressed.
    pub uncompressed_size: u32,
    /// Byte offset of the chunk's data inside the file.
    pub file_offset: u64,
    /// CRC-32C of the uncompressed data, when recorded.
    pub crc32: Option<u32>,
}

impl Chunk {
    /// True when the stored bytes must be decompressed.
    pub fn is_compressed(&self) -> bool {
        self.flags.contains(ChunkFlags::COMPRESSED)
    }

    /// True when the chunk is a member of a batch chunk: its bytes are found through the
    /// blob's compression-info table, not at `compressed_offset`.
    pub fn is_batch(&self) -> bool {
        self.flags.contains(ChunkFlags::BATCH)
    }
}

/// The compression-info ("blob meta") location of a v6 blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    /// Compressor id of the compression-info array.
    pub ci_compressor: u32,
    /// Offset of the array in the blob.
    pub ci_offset: u64,
    /// Compressed bytes of the array.
    pub ci_compressed_size: u64,
    /// Uncompressed bytes of the array.
    pub ci_uncompressed_size: u64,
    /// sha256 of the ToC (zero when there is none).
    pub toc_digest: [u8; 32],
    /// Bytes of the ToC including its tar header (0 when there is none).
    pub toc_size: u32,
    /// Digest of a separate meta blob (zero when none).
    pub meta_digest: [u8; 32],
    /// Size of a separate meta blob (0 when none).
    pub meta_size: u64,
}

/// A data blob the bootstrap refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    /// Position in the blob table; chunks name their blob by it.
    pub index: u32,
    /// The blob id: normally the sha256 hex of the blob file (its layer digest).
    pub id: String,
    /// Chunks in the blob (0 when the bootstrap does not say).
    pub chunk_count: u32,
    /// Chunk size in bytes.
    pub chunk_size: u32,
    /// Size of the blob file (0 when the bootstrap does not say).
    pub compressed_size: u64,
    /// Size of the uncompressed data (0 when the bootstrap does not say).
    pub uncompressed_size: u64,
    /// Features of the blob.
    pub features: BlobFeatures,
    /// Chunk compressor.
    pub compressor: Compressor,
    /// Chunk digester.
    pub digester: Digester,
    /// v5 blob-level readahead range `(offset, size)`; `(0, 0)` for v6.
    pub readahead: (u32, u32),
    /// v6 compression-info location.
    pub meta: Option<BlobMeta>,
    /// v6 device slot: first block of the blob in the unified block space.
    pub mapped_blkaddr: Option<u32>,
}

/// A table's place in the bootstrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TableRange {
    /// Byte offset.
    pub offset: u64,
    /// Byte size.
    pub size: u64,
}

/// What the superblock(s) say, in one shape for both versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// The format version.
    pub version: FormatVersion,
    /// Superblock flags.
    pub flags: SuperFlags,
    /// Chunk compressor.
    pub compressor: Compressor,
    /// Chunk digester.
    pub digester: Digester,
    /// Chunk size in bytes.
    pub chunk_size: u32,
    /// Metadata block size (v6: 4096; v5: 8, its alignment).
    pub block_size: u32,
    /// The inode count the superblock records (v5: unique inodes; v6: `s_inos`).
    pub inodes_count: u64,
    /// The root directory's inode number.
    pub root: Ino,
    /// Whether uid/gid are meaningful (else a mount shows its own).
    pub explicit_uid_gid: bool,
    /// The blob table.
    pub blob_table: TableRange,
    /// The extended blob table (v5).
    pub extended_blob_table: Option<TableRange>,
    /// The inode table (v5).
    pub inode_table: Option<TableRange>,
    /// The prefetch table (`size` in bytes).
    pub prefetch_table: TableRange,
    /// The chunk table (v6).
    pub chunk_table: Option<TableRange>,
    /// Start of the inode area (v6: `s_meta_blkaddr * block_size`).
    pub meta_offset: Option<u64>,
    /// Build time (v6).
    pub build_time: Option<Timestamp>,
    /// Device slots (v6 `s_extra_devices`).
    pub extra_devices: Option<u16>,
}
