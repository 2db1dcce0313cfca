//! What the commands return: plain data that serializes to JSON.

use serde::Serialize;

/// The result of one command.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// `stats`.
    Stats(Box<StatsReport>),
    /// `ls`.
    Ls(Vec<LsEntry>),
    /// `cd`: the new current directory.
    Cd {
        /// Absolute path of the current directory.
        cwd: String,
    },
    /// `stat`.
    Stat(Box<StatReport>),
    /// `blobs`.
    Blobs(Vec<BlobReport>),
    /// `prefetch`.
    Prefetch(Vec<PrefetchEntry>),
    /// `chunk`.
    Chunk(Vec<ChunkHit>),
    /// `icheck`.
    Icheck(Box<IcheckReport>),
    /// `help`.
    Help {
        /// The usage text.
        usage: &'static str,
    },
}

/// `stats`: the superblock. `inodes_count` is `nydus-image inspect`'s field.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    /// Inode count the superblock records (v5: unique inodes; v6: `s_inos`).
    pub inodes_count: u64,
    /// RAFS version: 5 or 6.
    pub version: u32,
    /// Chunk size in bytes.
    pub chunk_size: u32,
    /// Root inode number (v6: the root nid).
    pub root_inode: u64,
    /// Superblock flags, by name.
    pub flags: Vec<&'static str>,
    /// Superblock flags, raw.
    pub flags_bits: u64,
    /// Chunk compressor.
    pub compressor: &'static str,
    /// Chunk digester.
    pub digester: &'static str,
    /// Whether uid/gid are recorded.
    pub explicit_uid_gid: bool,
    /// Number of blobs.
    pub blob_count: usize,
    /// Blob table offset.
    pub blob_table_offset: u64,
    /// Blob table size in bytes.
    pub blob_table_size: u64,
    /// Prefetch table offset.
    pub prefetch_table_offset: u64,
    /// Prefetch table entries.
    pub prefetch_table_entries: u64,
    /// Chunk table offset (v6).
    pub chunk_table_offset: Option<u64>,
    /// Chunk table size in bytes (v6).
    pub chunk_table_size: Option<u64>,
    /// Inode table offset (v5).
    pub inode_table_offset: Option<u64>,
    /// Inode table entries (v5).
    pub inode_table_entries: Option<u64>,
    /// Extended blob table offset (v5).
    pub extended_blob_table_offset: Option<u64>,
    /// Start of the inode area (v6).
    pub meta_offset: Option<u64>,
    /// Bootstrap size in bytes.
    pub bootstrap_size: u64,
}

/// One `ls` line.
#[derive(Debug, Clone, Serialize)]
pub struct LsEntry {
    /// Entry name (lossy UTF-8).
    pub name: String,
    /// Inode number.
    pub inode: u64,
    /// Kind (`file`, `dir`, `symlink`...).
    pub kind: &'static str,
}

/// One xattr.
#[derive(Debug, Clone, Serialize)]
pub struct XattrReport {
    /// Full name.
    pub name: String,
    /// The value as UTF-8 when it is, else `None`.
    pub value: Option<String>,
    /// The value in hex.
    pub value_hex: String,
}

/// One chunk of a file.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkReport {
    /// Offset of the chunk in the file.
    pub file_offset: u64,
    /// Chunk index in the blob.
    pub index: u32,
    /// Blob index.
    pub blob_index: u32,
    /// Blob id.
    pub blob_id: String,
    /// Offset in the blob file.
    pub compressed_offset: u64,
    /// Bytes in the blob file.
    pub compressed_size: u32,
    /// Offset in the uncompressed blob.
    pub uncompressed_offset: u64,
    /// Bytes once decompressed.
    pub uncompressed_size: u32,
    /// Chunk digest (hex).
    pub digest: String,
    /// CRC-32C when recorded.
    pub crc32: Option<u32>,
    /// Chunk flags, by name.
    pub flags: Vec<&'static str>,
}

/// `stat` (and the attribute part of `icheck`).
#[derive(Debug, Clone, Serialize)]
pub struct StatReport {
    /// Inode number.
    pub inode: u64,
    /// Name (lossy UTF-8).
    pub name: String,
    /// Absolute path.
    pub path: String,
    /// Kind.
    pub kind: &'static str,
    /// Size in bytes.
    pub size: u64,
    /// Parent directory inode (none for the root).
    pub parent: Option<u64>,
    /// Full mode.
    pub mode: u32,
    /// Permission bits in octal.
    pub permissions: String,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number of devices.
    pub rdev: u32,
    /// Modification time, seconds (none where the format keeps none).
    pub mtime: Option<u64>,
    /// Modification time, nanoseconds.
    pub mtime_nsec: Option<u32>,
    /// 512-byte blocks.
    pub blocks: u64,
    /// Symlink target.
    pub symlink_target: Option<String>,
    /// Extended attributes.
    pub xattrs: Vec<XattrReport>,
    /// Chunks of a regular file.
    pub chunks: Vec<ChunkReport>,
}

/// One `blobs` entry; the first five fields are `nydus-image inspect`'s.
#[derive(Debug, Clone, Serialize)]
pub struct BlobReport {
    /// Blob id.
    pub blob_id: String,
    /// v5 blob readahead offset (0 for v6).
    pub readahead_offset: u32,
    /// v5 blob readahead size (0 for v6).
    pub readahead_size: u32,
    /// Uncompressed data size.
    pub decompressed_size: u64,
    /// Blob file size.
    pub compressed_size: u64,
    /// Blob index.
    pub blob_index: u32,
    /// Chunks in the blob.
    pub chunk_count: u32,
    /// Chunk size.
    pub chunk_size: u32,
    /// Features, by name.
    pub features: Vec<&'static str>,
    /// Chunk compressor.
    pub compressor: &'static str,
    /// Chunk digester.
    pub digester: &'static str,
    /// v6: first block in the unified block space.
    pub mapped_blkaddr: Option<u32>,
    /// v6: compression-info array offset in the blob.
    pub meta_ci_offset: Option<u64>,
    /// v6: compression-info array compressed size.
    pub meta_ci_compressed_size: Option<u64>,
    /// v6: compression-info array uncompressed size.
    pub meta_ci_uncompressed_size: Option<u64>,
    /// v6: ToC size.
    pub toc_size: Option<u32>,
}

/// One `prefetch` entry; `inode` and `path` are `nydus-image inspect`'s (directories end with
/// `/`).
#[derive(Debug, Clone, Serialize)]
pub struct PrefetchEntry {
    /// Inode number.
    pub inode: u64,
    /// Every path of the inode.
    pub path: Vec<String>,
}

/// One `chunk` hit.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkHit {
    /// The file.
    pub path: String,
    /// Its directory.
    pub parent_path: String,
    /// The file's inode.
    pub inode: u64,
    /// The chunk.
    #[serde(flatten)]
    pub chunk: ChunkReport,
}

/// `icheck`.
#[derive(Debug, Clone, Serialize)]
pub struct IcheckReport {
    /// Inode number.
    pub inode: u64,
    /// Every path of the inode.
    pub paths: Vec<String>,
    /// Its attributes.
    pub stat: StatReport,
}
