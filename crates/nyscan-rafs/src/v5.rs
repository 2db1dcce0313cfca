//! The RAFS v5 reader behind the unified API.

use crate::data::{Data, align_up, invalid};
use crate::error::{Error, Result, Unsupported};
use crate::flags::{BlobFeatures, ChunkFlags, Compressor, Digester, SuperFlags, check_super_flags};
use crate::layout::ChunkInfo;
use crate::layout::v5::{self as raw, ALIGNMENT, ExtBlobEntry, SUPERBLOCK_SIZE};
use crate::model::{
    BlobInfo, Chunk, DirEntry, FileKind, FormatVersion, Ino, Superblock, TableRange, Timestamp,
    Xattr,
};

const MAX_CHUNK_SIZE: u32 = 16 << 20;
const MIN_CHUNK_SIZE: u32 = 4096;

/// A parsed v5 bootstrap: the superblock checked, the blob tables read.
pub(crate) struct V5Bootstrap<'a> {
    data: Data<'a>,
    inode_table: &'a [zerocopy::little_endian::U32],
    summary: Superblock,
    blobs: Vec<BlobInfo>,
}

fn check_table(data: Data<'_>, what: &'static str, offset: u64, size: u64) -> Result<TableRange> {
    if size == 0 {
        return Ok(TableRange { offset, size });
    }
    if offset < SUPERBLOCK_SIZE {
        return Err(invalid(
            what,
            offset,
            "table overlaps the superblock",
            offset,
        ));
    }
    if !offset.is_multiple_of(ALIGNMENT) || !size.is_multiple_of(ALIGNMENT) {
        return Err(invalid(what, offset, "table is not 8-byte aligned", size));
    }
    data.slice(offset, size, what)?;
    Ok(TableRange { offset, size })
}

impl std::fmt::Debug for V5Bootstrap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V5Bootstrap")
            .field("data", &self.data)
            .field("summary", &self.summary)
            .field("blobs", &self.blobs.len())
            .finish_non_exhaustive()
    }
}

impl<'a> V5Bootstrap<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self> {
        let data = Data::new(bytes);
        let sb: &raw::SuperBlock = data.read(0, "v5 superblock")?;
        if sb.s_magic.get() != raw::MAGIC {
            return Err(Error::NotBootstrap {
                reason: "no RAFS v5 magic",
            });
        }
        if sb.s_fs_version.get() != raw::VERSION {
            return Err(Error::Unsupported(Unsupported::V5Version(
                sb.s_fs_version.get(),
            )));
        }
        if u64::from(sb.s_sb_size.get()) != SUPERBLOCK_SIZE {
            return Err(invalid(
                "v5 superblock",
                0,
                "superblock size is not 8192",
                u64::from(sb.s_sb_size.get()),
            ));
        }
        if !data.len().is_multiple_of(ALIGNMENT) {
            return Err(invalid(
                "v5 bootstrap",
                0,
                "length is not a multiple of 8",
                data.len(),
            ));
        }
        let chunk_size = sb.s_block_size.get();
        if !chunk_size.is_power_of_two() || !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size)
        {
            return Err(invalid(
                "v5 superblock",
                12,
                "chunk size is not a power of two in 4 KiB..16 MiB",
                u64::from(chunk_size),
            ));
        }
        let flags = SuperFlags(sb.s_flags.get());
        check_super_flags(flags)?;

        let entries = u64::from(sb.s_inode_table_entries.get());
        let inode_table_range = check_table(
            data,
            "v5 inode table",
            sb.s_inode_table_offset.get(),
            align_up(entries * 4, ALIGNMENT),
        )?;
        let inode_table = data.read_slice(inode_table_range.offset, entries, "v5 inode table")?;
        if entries == 0 {
            return Err(invalid("v5 inode table", 0, "inode table is empty", 0));
        }
        let prefetch = check_table(
            data,
            "v5 prefetch table",
            sb.s_prefetch_table_offset.get(),
            align_up(u64::from(sb.s_prefetch_table_entries.get()) * 4, ALIGNMENT),
        )?;
        let blob_table = check_table(
            data,
            "v5 blob table",
            sb.s_blob_table_offset.get(),
            u64::from(sb.s_blob_table_size.get()),
        )?;
        let ext_entries = u64::from(sb.s_extended_blob_table_entries.get());
        let ext_table = check_table(
            data,
            "v5 extended blob table",
            sb.s_extended_blob_table_offset.get(),
            ext_entries * size_of::<ExtBlobEntry>() as u64,
        )?;

        let compressor = Compressor::from_super_flags(flags);
        let digester = Digester::from_super_flags(flags);
        let blobs = parse_blob_tables(
            data,
            blob_table,
            ext_table,
            ext_entries,
            chunk_size,
            compressor,
            digester,
        )?;

        let summary = Superblock {
            version: FormatVersion::V5,
            flags,
            compressor,
            digester,
            chunk_size,
            block_size: ALIGNMENT as u32,
            inodes_count: sb.s_inodes_count.get(),
            root: Ino(raw::ROOT_INDEX),
            explicit_uid_gid: flags.contains(SuperFlags::EXPLICIT_UID_GID),
            blob_table,
            extended_blob_table: (ext_entries > 0).then_some(ext_table),
            inode_table: Some(inode_table_range),
            prefetch_table: TableRange {
                offset: prefetch.offset,
                size: u64::from(sb.s_prefetch_table_entries.get()) * 4,
            },
            chunk_table: None,
            meta_offset: None,
            build_time: None,
            extra_devices: None,
        };
        Ok(V5Bootstrap {
            data,
            inode_table,
            summary,
            blobs,
        })
    }

    pub(crate) fn superblock(&self) -> &Superblock {
        &self.summary
    }

    pub(crate) fn blobs(&self) -> &[BlobInfo] {
        &self.blobs
    }

    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.data.bytes()
    }

    /// Prefetch entries: inode numbers, up to the first 0.
    pub(crate) fn prefetch(&self) -> Result<Vec<Ino>> {
        let t = &self.summary.prefetch_table;
        let entries: &[zerocopy::little_endian::U32] =
            self.data
                .read_slice(t.offset, t.size / 4, "v5 prefetch table")?;
        Ok(entries
            .iter()
            .map(|e| e.get())
            .take_while(|&e| e != 0)
            .map(|e| Ino(u64::from(e)))
            .collect())
    }

    /// The inode record in inode-table slot `index` (1-based).
    pub(crate) fn inode(&self, ino: Ino) -> Result<V5Inode<'a>> {
        let index = ino.0;
        if index == 0 || index > self.inode_table.len() as u64 {
            return Err(Error::NoSuchInode { ino: index });
        }
        let stored = u64::from(self.inode_table[(index - 1) as usize].get());
        let offset = stored << 3;
        if offset < SUPERBLOCK_SIZE {
            return Err(invalid(
                "v5 inode table entry",
                self.summary.inode_table.map_or(0, |t| t.offset) + (index - 1) * 4,
                "inode offset points into the superblock",
                offset,
            ));
        }
        V5Inode::parse(
            self.data,
            offset,
            self.inode_table.len() as u64,
            self.blobs.len(),
        )
    }

    pub(crate) fn root(&self) -> Result<V5Inode<'a>> {
        let root = self.inode(Ino(raw::ROOT_INDEX))?;
        if root.kind != FileKind::Directory {
            return Err(invalid(
                "v5 root inode",
                root.offset,
                "root is not a directory",
                u64::from(root.raw.i_mode.get()),
            ));
        }
        Ok(root)
    }

    pub(crate) fn children(&self, dir: &V5Inode<'a>) -> V5Children<'_, 'a> {
        let (start, count) = if dir.kind == FileKind::Directory {
            (
                u64::from(dir.raw.i_child_index.get()),
                u64::from(dir.raw.i_child_count.get()),
            )
        } else {
            (0, 0)
        };
        V5Children {
            bootstrap: self,
            next: start,
            end: start.saturating_add(count),
            failed: false,
        }
    }

    /// Binary search of a directory's children by name (they are sorted by bytes).
    pub(crate) fn lookup(&self, dir: &V5Inode<'a>, name: &[u8]) -> Result<Option<DirEntry<'a>>> {
        if dir.kind != FileKind::Directory {
            return Ok(None);
        }
        let start = u64::from(dir.raw.i_child_index.get());
        let count = u64::from(dir.raw.i_child_count.get());
        check_child_range(dir, start, count, self.inode_table.len() as u64)?;
        let (mut lo, mut hi) = (start, start + count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let child = self.inode(Ino(mid))?;
            match child.name.cmp(name) {
                std::cmp::Ordering::Equal => return Ok(Some(child.entry())),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(None)
    }

    pub(crate) fn chunks(&self, file: &V5Inode<'a>) -> V5Chunks<'a> {
        V5Chunks {
            records: file.chunk_records,
            pos: 0,
        }
    }
}

fn check_child_range(dir: &V5Inode<'_>, start: u64, count: u64, entries: u64) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    if start == 0 || start.saturating_add(count) - 1 > entries {
        return Err(invalid(
            "v5 directory inode",
            dir.offset,
            "children lie outside the inode table",
            start,
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn parse_blob_tables(
    data: Data<'_>,
    table: TableRange,
    ext: TableRange,
    ext_entries: u64,
    chunk_size: u32,
    compressor: Compressor,
    digester: Digester,
) -> Result<Vec<BlobInfo>> {
    let bytes = data.slice(table.offset, table.size, "v5 blob table")?;
    let mut blobs = Vec::new();
    let mut pos = 0usize;
    while bytes.len().saturating_sub(pos) > 8 {
        let frame_offset = table.offset + pos as u64;
        let ra_offset = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes"));
        let ra_size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes"));
        pos += 8;
        let rest = &bytes[pos..];
        let id_len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        let id = &rest[..id_len];
        pos += id_len + 1;
        if id.is_empty() {
            // Zero padding after the last frame.
            if rest.iter().all(|&b| b == 0) {
                break;
            }
            return Err(invalid(
                "v5 blob table frame",
                frame_offset,
                "empty blob id",
                0,
            ));
        }
        let id = std::str::from_utf8(id)
            .ok()
            .filter(|s| s.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                invalid(
                    "v5 blob table frame",
                    frame_offset,
                    "blob id is not printable ASCII",
                    id_len as u64,
                )
            })?;
        blobs.push(BlobInfo {
            index: blobs.len() as u32,
            id: id.to_owned(),
            chunk_count: 0,
            chunk_size,
            compressed_size: 0,
            uncompressed_size: 0,
            features: BlobFeatures(0),
            compressor,
            digester,
            readahead: (ra_offset, ra_size),
            meta: None,
            mapped_blkaddr: None,
        });
    }
    if ext_entries > 0 {
        if ext_entries != blobs.len() as u64 {
            return Err(invalid(
                "v5 extended blob table",
                ext.offset,
                "entry count differs from the blob table",
                ext_entries,
            ));
        }
        let entries: &[ExtBlobEntry] =
            data.read_slice(ext.offset, ext_entries, "v5 extended blob table")?;
        for (i, (blob, e)) in blobs.iter_mut().zip(entries).enumerate() {
            let offset = ext.offset + i as u64 * 64;
            let features = BlobFeatures(e.features.get());
            features.check_supported("v5 extended blob table entry", offset)?;
            blob.features = features;
            blob.chunk_count = e.chunk_count.get();
            blob.compressed_size = e.compressed_size.get();
            blob.uncompressed_size = e.uncompressed_size.get();
        }
    }
    Ok(blobs)
}

/// One v5 inode record with its trailing name, symlink target, xattrs and chunks located.
#[derive(Debug, Clone, Copy)]
pub(crate) struct V5Inode<'a> {
    pub(crate) offset: u64,
    pub(crate) raw: &'a raw::Inode,
    pub(crate) kind: FileKind,
    pub(crate) name: &'a [u8],
    symlink: &'a [u8],
    xattrs: &'a [u8],
    chunk_records: &'a [ChunkInfo],
}

impl<'a> V5Inode<'a> {
    fn parse(data: Data<'a>, offset: u64, entries: u64, blob_count: usize) -> Result<Self> {
        const WHAT: &str = "v5 inode";
        let raw: &raw::Inode = data.read(offset, WHAT)?;
        let ino = raw.i_ino.get();
        if ino == 0 || ino > entries {
            return Err(invalid(
                WHAT,
                offset,
                "inode number outside the inode table",
                ino,
            ));
        }
        if raw.i_nlink.get() == 0 {
            return Err(invalid(WHAT, offset, "link count is 0", 0));
        }
        let mode = raw.i_mode.get();
        let kind = FileKind::from_mode(mode)
            .ok_or_else(|| invalid(WHAT, offset, "mode has no valid file type", u64::from(mode)))?;
        let name_size = u64::from(raw.i_name_size.get());
        if name_size == 0 || name_size > 255 {
            return Err(invalid(
                WHAT,
                offset,
                "name length is not in 1..=255",
                name_size,
            ));
        }
        let mut pos = offset + 128;
        let name = data.slice(pos, name_size, "v5 inode name")?;
        pos += align_up(name_size, ALIGNMENT);
        let mut symlink: &[u8] = &[];
        if kind == FileKind::Symlink {
            let len = u64::from(raw.i_symlink_size.get());
            symlink = data.slice(pos, len, "v5 symlink target")?;
            pos += align_up(len, ALIGNMENT);
        }
        let mut xattrs: &[u8] = &[];
        if raw.i_flags.get() & raw::INODE_FLAG_XATTR != 0 {
            let size_bytes = data.slice(pos, 8, "v5 xattr table size")?;
            let size = u64::from_le_bytes(size_bytes.try_into().expect("8 bytes"));
            xattrs = data.slice(pos + 8, size, "v5 xattr table")?;
            pos += 8 + align_up(size, ALIGNMENT);
        }
        let mut chunk_records: &[ChunkInfo] = &[];
        if kind == FileKind::Regular {
            let count = u64::from(raw.i_child_count.get());
            chunk_records = data.read_slice(pos, count, "v5 chunk records")?;
            for (i, c) in chunk_records.iter().enumerate() {
                if c.blob_index.get() as usize >= blob_count {
                    return Err(invalid(
                        "v5 chunk record",
                        pos + i as u64 * 80,
                        "blob index outside the blob table",
                        u64::from(c.blob_index.get()),
                    ));
                }
            }
        }
        Ok(V5Inode {
            offset,
            raw,
            kind,
            name,
            symlink,
            xattrs,
            chunk_records,
        })
    }

    pub(crate) fn ino(&self) -> Ino {
        Ino(self.raw.i_ino.get())
    }

    pub(crate) fn entry(&self) -> DirEntry<'a> {
        DirEntry {
            name: self.name,
            ino: self.ino(),
            kind: self.kind,
        }
    }

    pub(crate) fn mode(&self) -> u32 {
        self.raw.i_mode.get()
    }
    pub(crate) fn uid(&self) -> u32 {
        self.raw.i_uid.get()
    }
    pub(crate) fn gid(&self) -> u32 {
        self.raw.i_gid.get()
    }
    pub(crate) fn size(&self) -> u64 {
        self.raw.i_size.get()
    }
    pub(crate) fn nlink(&self) -> u32 {
        self.raw.i_nlink.get()
    }
    pub(crate) fn rdev(&self) -> u32 {
        self.raw.i_rdev.get()
    }
    pub(crate) fn blocks(&self) -> u64 {
        self.raw.i_blocks.get()
    }
    pub(crate) fn mtime(&self) -> Option<Timestamp> {
        Some(Timestamp {
            secs: self.raw.i_mtime.get(),
            nsecs: self.raw.i_mtime_nsec.get(),
        })
    }
    pub(crate) fn parent(&self) -> Ino {
        Ino(self.raw.i_parent.get())
    }
    pub(crate) fn symlink_target(&self) -> &'a [u8] {
        self.symlink
    }
    pub(crate) fn chunk_count(&self) -> usize {
        self.chunk_records.len()
    }

    pub(crate) fn xattrs(&self) -> V5Xattrs<'a> {
        V5Xattrs {
            bytes: self.xattrs,
            offset: self.offset,
            failed: false,
        }
    }
}

/// Children of a v5 directory, in stored (name) order.
pub(crate) struct V5Children<'b, 'a> {
    bootstrap: &'b V5Bootstrap<'a>,
    next: u64,
    end: u64,
    failed: bool,
}

impl<'a> Iterator for V5Children<'_, 'a> {
    type Item = Result<DirEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.end {
            return None;
        }
        let index = self.next;
        self.next += 1;
        match self.bootstrap.inode(Ino(index)) {
            Ok(child) => Some(Ok(child.entry())),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Chunk records of a v5 file.
pub(crate) struct V5Chunks<'a> {
    records: &'a [ChunkInfo],
    pos: usize,
}

impl Iterator for V5Chunks<'_> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        let c = self.records.get(self.pos)?;
        self.pos += 1;
        Some(Ok(chunk_from_record(c, c.file_offset.get())))
    }
}

/// A unified chunk from an 80-byte chunk record.
pub(crate) fn chunk_from_record(c: &ChunkInfo, file_offset: u64) -> Chunk {
    let flags = ChunkFlags(c.flags.get());
    Chunk {
        digest: c.block_id,
        blob_index: c.blob_index.get(),
        index: c.index.get(),
        flags,
        compressed_offset: c.compressed_offset.get(),
        compressed_size: c.compressed_size.get(),
        uncompressed_offset: c.uncompressed_offset.get(),
        uncompressed_size: c.uncompressed_size.get(),
        file_offset,
        crc32: flags.contains(ChunkFlags::HAS_CRC32).then(|| c.crc32.get()),
    }
}

/// Xattr pairs of a v5 inode: `u32 pair_size | key | NUL | value`, the whole area padded to 8.
pub(crate) struct V5Xattrs<'a> {
    bytes: &'a [u8],
    offset: u64,
    failed: bool,
}

const V5_XATTR_PREFIXES: [&str; 5] = [
    "user.",
    "security.",
    "trusted.",
    "system.posix_acl_access",
    "system.posix_acl_default",
];

impl<'a> Iterator for V5Xattrs<'a> {
    type Item = Result<Xattr<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.bytes.len() < 4 {
            return None;
        }
        let pair_size = u32::from_le_bytes(self.bytes[..4].try_into().expect("4 bytes")) as usize;
        let fail = |this: &mut Self, reason| {
            this.failed = true;
            Some(Err(invalid(
                "v5 xattr pair",
                this.offset,
                reason,
                pair_size as u64,
            )))
        };
        if pair_size == 0 || pair_size > self.bytes.len() - 4 {
            return fail(self, "pair size runs past the xattr table");
        }
        let pair = &self.bytes[4..4 + pair_size];
        self.bytes = &self.bytes[4 + pair_size..];
        let Some(nul) = pair.iter().position(|&b| b == 0) else {
            return fail(self, "xattr name has no NUL terminator");
        };
        let (key, value) = (&pair[..nul], &pair[nul + 1..]);
        let Some(prefix) = V5_XATTR_PREFIXES
            .iter()
            .find(|p| key.starts_with(p.as_bytes()))
        else {
            return fail(self, "xattr name has an unknown prefix");
        };
        Some(Ok(Xattr {
            prefix,
            suffix: &key[prefix.len()..],
            value,
        }))
    }
}
