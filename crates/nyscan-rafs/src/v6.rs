//! The RAFS v6 reader behind the unified API.

use std::collections::HashMap;
use std::sync::OnceLock;

use zerocopy::little_endian::U32;

use crate::data::{Data, align_up, invalid};
use crate::error::{Error, Result, Unsupported};
use crate::flags::{BlobFeatures, Compressor, Digester, SuperFlags, check_super_flags};
use crate::layout::ChunkInfo;
use crate::layout::v6::{self as raw, INODE_SLOT_SIZE};
use crate::model::{
    BlobInfo, BlobMeta, Chunk, DirEntry, FileKind, FormatVersion, Ino, Superblock, TableRange,
    Timestamp, Xattr,
};
use crate::v5::chunk_from_record;

const BLOCK_SIZE: u64 = 4096;
const MAX_CHUNK_SIZE: u32 = 16 << 20;
const MAX_SYMLINK: u64 = 4096;

/// Chunk-table entries keyed by `(blob index, chunk index, uncompressed block)`.
type ChunkMap = HashMap<(u32, u32, u32), u32>;

/// A parsed v6 bootstrap: superblocks checked, device slots and blob table read.
pub(crate) struct V6Bootstrap<'a> {
    data: Data<'a>,
    summary: Superblock,
    blobs: Vec<BlobInfo>,
    meta_offset: u64,
    chunk_size: u64,
    chunk_table: &'a [ChunkInfo],
    chunk_map: OnceLock<std::result::Result<ChunkMap, Error>>,
}

impl std::fmt::Debug for V6Bootstrap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V6Bootstrap")
            .field("data", &self.data)
            .field("summary", &self.summary)
            .field("blobs", &self.blobs.len())
            .field("chunk_table", &self.chunk_table.len())
            .finish_non_exhaustive()
    }
}

impl<'a> V6Bootstrap<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self> {
        let data = Data::new(bytes);
        let sb: &raw::SuperBlock = data.read(raw::SUPERBLOCK_OFFSET, "v6 superblock")?;
        const SB: &str = "v6 superblock";
        let at = raw::SUPERBLOCK_OFFSET;
        if sb.s_magic.get() != raw::MAGIC {
            return Err(Error::NotBootstrap {
                reason: "no EROFS magic",
            });
        }
        if sb.s_feature_compat.get() & raw::COMPAT_RAFS_V6 == 0 {
            return Err(Error::Unsupported(Unsupported::NydusV3Bootstrap));
        }
        match sb.s_blkszbits {
            12 => {}
            9 => return Err(Error::Unsupported(Unsupported::Tarfs)),
            b => {
                return Err(invalid(
                    SB,
                    at + 12,
                    "block size bits are not 12",
                    u64::from(b),
                ));
            }
        }
        if sb.s_checksum.get() != 0 || sb.s_feature_compat.get() & raw::COMPAT_SB_CHKSUM != 0 {
            return Err(Error::Unsupported(Unsupported::ErofsFeature(
                "superblock checksum",
            )));
        }
        if sb.s_extslots != 0 {
            return Err(Error::Unsupported(Unsupported::ErofsFeature(
                "extended superblock slots",
            )));
        }
        if sb.s_xattr_blkaddr.get() != 0 {
            return Err(Error::Unsupported(Unsupported::ErofsFeature(
                "shared xattrs",
            )));
        }
        if sb.s_feature_incompat.get() != raw::INCOMPAT_RAFS_V6 {
            return Err(Error::Unsupported(Unsupported::ErofsFeature(
                "incompat features other than chunked files and a device table",
            )));
        }
        if !data.len().is_multiple_of(BLOCK_SIZE) {
            return Err(invalid(
                "v6 bootstrap",
                0,
                "length is not a multiple of the block size",
                data.len(),
            ));
        }

        let ext: &raw::SuperBlockExt =
            data.read(raw::SUPERBLOCK_EXT_OFFSET, "v6 extended superblock")?;
        const EXT: &str = "v6 extended superblock";
        let ext_at = raw::SUPERBLOCK_EXT_OFFSET;
        let flags = SuperFlags(ext.s_flags.get());
        check_super_flags(flags)?;
        let compression_bits = (flags.bits() & 0xc3).count_ones();
        let hash_bits = (flags.bits() & 0xc).count_ones();
        if compression_bits != 1 || hash_bits != 1 {
            return Err(invalid(
                EXT,
                ext_at,
                "flags need exactly one compressor and one digester",
                flags.bits(),
            ));
        }
        let chunk_size = ext.s_chunk_size.get();
        if !chunk_size.is_power_of_two() || !(4096..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(invalid(
                EXT,
                ext_at + 20,
                "chunk size is not a power of two in 4 KiB..16 MiB",
                u64::from(chunk_size),
            ));
        }
        let blob_table = TableRange {
            offset: ext.s_blob_table_offset.get(),
            size: u64::from(ext.s_blob_table_size.get()),
        };
        if !blob_table.size.is_multiple_of(256) {
            return Err(invalid(
                EXT,
                ext_at + 16,
                "blob table size is not a multiple of 256",
                blob_table.size,
            ));
        }
        data.slice(blob_table.offset, blob_table.size, "v6 blob table")?;
        let chunk_table = TableRange {
            offset: ext.s_chunk_table_offset.get(),
            size: ext.s_chunk_table_size.get(),
        };
        if !chunk_table.size.is_multiple_of(80) {
            return Err(invalid(
                EXT,
                ext_at + 32,
                "chunk table size is not a multiple of 80",
                chunk_table.size,
            ));
        }
        let chunk_entries: &[ChunkInfo] =
            data.read_slice(chunk_table.offset, chunk_table.size / 80, "v6 chunk table")?;
        let prefetch_table = TableRange {
            offset: ext.s_prefetch_table_offset.get(),
            size: u64::from(ext.s_prefetch_table_size.get()),
        };
        if !prefetch_table.size.is_multiple_of(4) {
            return Err(invalid(
                EXT,
                ext_at + 48,
                "prefetch table size is not a multiple of 4",
                prefetch_table.size,
            ));
        }
        if prefetch_table.size > 0 {
            data.slice(
                prefetch_table.offset,
                prefetch_table.size,
                "v6 prefetch table",
            )?;
        }

        let compressor = Compressor::from_super_flags(flags);
        let digester = Digester::from_super_flags(flags);
        let devices = u64::from(sb.s_extra_devices.get());
        if devices > 0 && sb.s_devt_slotoff.get() != raw::DEVT_SLOTOFF {
            return Err(invalid(
                SB,
                at + 88,
                "device slot offset is not 11",
                u64::from(sb.s_devt_slotoff.get()),
            ));
        }
        let slots: &[raw::Device] = data.read_slice(
            u64::from(raw::DEVT_SLOTOFF) * 128,
            devices,
            "v6 device slots",
        )?;
        let entries: &[raw::Blob] =
            data.read_slice(blob_table.offset, blob_table.size / 256, "v6 blob table")?;
        if !slots.is_empty() && slots.len() != entries.len() {
            return Err(invalid(
                SB,
                at + 86,
                "device slot count differs from the blob table",
                devices,
            ));
        }
        let mut blobs = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let offset = blob_table.offset + i as u64 * 256;
            blobs.push(parse_blob(e, i as u32, offset, chunk_size, slots.get(i))?);
        }
        for (i, slot) in slots.iter().enumerate() {
            if slot.blob_id != entries[i].blob_id {
                return Err(invalid(
                    "v6 device slot",
                    1408 + i as u64 * 128,
                    "blob id differs from the blob table",
                    i as u64,
                ));
            }
        }

        let meta_offset = u64::from(sb.s_meta_blkaddr.get()) * BLOCK_SIZE;
        let summary = Superblock {
            version: FormatVersion::V6,
            flags,
            compressor,
            digester,
            chunk_size,
            block_size: BLOCK_SIZE as u32,
            inodes_count: sb.s_inos.get(),
            root: Ino(u64::from(sb.s_root_nid.get())),
            explicit_uid_gid: flags.contains(SuperFlags::EXPLICIT_UID_GID),
            blob_table,
            extended_blob_table: None,
            inode_table: None,
            prefetch_table,
            chunk_table: Some(chunk_table),
            meta_offset: Some(meta_offset),
            build_time: Some(Timestamp {
                secs: sb.s_build_time.get(),
                nsecs: sb.s_build_time_nsec.get(),
            }),
            extra_devices: Some(sb.s_extra_devices.get()),
        };
        Ok(V6Bootstrap {
            data,
            summary,
            blobs,
            meta_offset,
            chunk_size: u64::from(chunk_size),
            chunk_table: chunk_entries,
            chunk_map: OnceLock::new(),
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

    pub(crate) fn chunk_table(&self) -> impl Iterator<Item = Chunk> + '_ {
        self.chunk_table
            .iter()
            .map(|c| chunk_from_record(c, c.file_offset.get()))
    }

    /// Prefetch entries: nids, up to the first 0.
    pub(crate) fn prefetch(&self) -> Result<Vec<Ino>> {
        let t = &self.summary.prefetch_table;
        if t.size == 0 {
            return Ok(Vec::new());
        }
        let entries: &[U32] = self
            .data
            .read_slice(t.offset, t.size / 4, "v6 prefetch table")?;
        Ok(entries
            .iter()
            .map(|e| e.get())
            .take_while(|&e| e != 0)
            .map(|e| Ino(u64::from(e)))
            .collect())
    }

    pub(crate) fn inode(&self, nid: Ino) -> Result<V6Inode<'a>> {
        let offset = nid
            .0
            .checked_mul(INODE_SLOT_SIZE)
            .and_then(|o| o.checked_add(self.meta_offset))
            .filter(|&o| o < self.data.len())
            .ok_or(Error::NoSuchInode { ino: nid.0 })?;
        V6Inode::parse(self.data, nid, offset)
    }

    pub(crate) fn root(&self) -> Result<V6Inode<'a>> {
        let root = self.inode(self.summary.root)?;
        if root.kind != FileKind::Directory {
            return Err(invalid(
                "v6 root inode",
                root.offset,
                "root is not a directory",
                u64::from(root.mode),
            ));
        }
        Ok(root)
    }

    pub(crate) fn children(&self, dir: &V6Inode<'a>) -> V6Children<'a> {
        V6Children {
            dir: *dir,
            block: 0,
            blocks: if dir.kind == FileKind::Directory {
                dir.size.div_ceil(BLOCK_SIZE)
            } else {
                0
            },
            current: None,
            failed: false,
        }
    }

    /// Binary search over the directory's blocks by their first name, then inside a block.
    pub(crate) fn lookup(&self, dir: &V6Inode<'a>, name: &[u8]) -> Result<Option<DirEntry<'a>>> {
        if dir.kind != FileKind::Directory {
            return Ok(None);
        }
        let blocks = dir.size.div_ceil(BLOCK_SIZE);
        let (mut lo, mut hi) = (0u64, blocks);
        // Find the last block whose first name <= name.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let block = DirBlock::read(dir, mid)?;
            if block.name(0)? <= name {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if blocks == 0 {
            return Ok(None);
        }
        let block = DirBlock::read(dir, lo)?;
        let (mut l, mut h) = (0usize, block.count);
        while l < h {
            let mid = l + (h - l) / 2;
            let entry_name = block.name(mid)?;
            match entry_name.cmp(name) {
                std::cmp::Ordering::Equal => return block.entry(mid).map(Some),
                std::cmp::Ordering::Less => l = mid + 1,
                std::cmp::Ordering::Greater => h = mid,
            }
        }
        Ok(None)
    }

    fn chunk_map(&self) -> Result<&ChunkMap> {
        let map = self.chunk_map.get_or_init(|| {
            let mut map = HashMap::with_capacity(self.chunk_table.len());
            for (i, c) in self.chunk_table.iter().enumerate() {
                let offset = self.summary.chunk_table.map_or(0, |t| t.offset) + i as u64 * 80;
                let blob = c.blob_index.get();
                if blob as usize >= self.blobs.len() {
                    return Err(invalid(
                        "v6 chunk table entry",
                        offset,
                        "blob index outside the blob table",
                        u64::from(blob),
                    ));
                }
                let block = c.uncompressed_offset.get() / BLOCK_SIZE;
                let block = u32::try_from(block).map_err(|_| {
                    invalid(
                        "v6 chunk table entry",
                        offset,
                        "uncompressed offset too large",
                        c.uncompressed_offset.get(),
                    )
                })?;
                map.entry((blob, c.index.get(), block)).or_insert(i as u32);
            }
            Ok(map)
        });
        map.as_ref().map_err(Clone::clone)
    }

    pub(crate) fn chunks(&self, file: &V6Inode<'a>) -> V6Chunks<'_, 'a> {
        let count = if file.kind == FileKind::Regular && file.layout == raw::LAYOUT_CHUNK_BASED {
            file.size.div_ceil(self.chunk_size)
        } else {
            0
        };
        let addrs_offset = file.offset + align_up(file.inode_size + file.xattr_size, 8);
        let addrs =
            self.data
                .read_slice::<raw::ChunkAddr>(addrs_offset, count, "v6 chunk address array");
        V6Chunks {
            bootstrap: self,
            nid: file.nid,
            addrs,
            pos: 0,
            failed: false,
        }
    }

    pub(crate) fn chunk_count(&self, file: &V6Inode<'a>) -> usize {
        if file.kind == FileKind::Regular && file.layout == raw::LAYOUT_CHUNK_BASED {
            file.size.div_ceil(self.chunk_size) as usize
        } else {
            0
        }
    }
}

fn parse_blob(
    e: &raw::Blob,
    index: u32,
    offset: u64,
    chunk_size: u32,
    slot: Option<&raw::Device>,
) -> Result<BlobInfo> {
    const WHAT: &str = "v6 blob table entry";
    let features = BlobFeatures(e.features.get());
    features.check_supported(WHAT, offset)?;
    if e.cipher_algo.get() != 0 {
        return Err(Error::Unsupported(Unsupported::Encryption));
    }
    if e.blob_index.get() != index {
        return Err(invalid(
            WHAT,
            offset,
            "blob index differs from its position",
            u64::from(e.blob_index.get()),
        ));
    }
    if e.chunk_size.get() != chunk_size {
        return Err(invalid(
            WHAT,
            offset,
            "chunk size differs from the superblock",
            u64::from(e.chunk_size.get()),
        ));
    }
    if !features.contains(BlobFeatures::ALIGNED) {
        return Err(invalid(
            WHAT,
            offset,
            "blob is not 4K-aligned (ALIGNED feature missing)",
            u64::from(features.bits()),
        ));
    }
    let compressor = Compressor::from_id(e.compression_algo.get()).ok_or_else(|| {
        invalid(
            WHAT,
            offset,
            "unknown compressor id",
            u64::from(e.compression_algo.get()),
        )
    })?;
    if compressor == Compressor::Gzip && !features.contains(BlobFeatures::CHUNK_INFO_V2) {
        return Err(Error::Unsupported(Unsupported::LegacyStargz));
    }
    let digester = Digester::from_id(e.digest_algo.get()).ok_or_else(|| {
        invalid(
            WHAT,
            offset,
            "unknown digester id",
            u64::from(e.digest_algo.get()),
        )
    })?;
    let count = u64::from(e.chunk_count.get());
    if count > 1 << 24 {
        return Err(invalid(WHAT, offset, "more than 2^24 chunks", count));
    }
    let ci = e.ci_uncompressed_size.get();
    let v2 = features.contains(BlobFeatures::CHUNK_INFO_V2);
    let ci_ok = if v2 {
        if features.contains(BlobFeatures::BATCH) {
            ci >= count * 24
        } else {
            ci == count * 24
        }
    } else if features.contains(BlobFeatures::BATCH) {
        false
    } else {
        features.contains(BlobFeatures::IS_CHUNKDICT_GENERATED) || ci == count * 16
    };
    if !ci_ok {
        return Err(invalid(
            WHAT,
            offset,
            "compression-info size does not match the chunk count",
            ci,
        ));
    }
    let id = std::str::from_utf8(&e.blob_id)
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| invalid(WHAT, offset, "blob id is not 64 hex characters", 0))?;
    Ok(BlobInfo {
        index,
        id: id.to_owned(),
        chunk_count: e.chunk_count.get(),
        chunk_size,
        compressed_size: e.compressed_size.get(),
        uncompressed_size: e.uncompressed_size.get(),
        features,
        compressor,
        digester,
        readahead: (0, 0),
        meta: Some(BlobMeta {
            ci_compressor: e.ci_compressor.get(),
            ci_offset: e.ci_offset.get(),
            ci_compressed_size: e.ci_compressed_size.get(),
            ci_uncompressed_size: ci,
            toc_digest: e.blob_toc_digest,
            toc_size: e.blob_toc_size.get(),
            meta_digest: e.blob_meta_digest,
            meta_size: e.blob_meta_size.get(),
        }),
        mapped_blkaddr: slot.map(|s| s.mapped_blkaddr.get()),
    })
}

/// A v6 inode (compact or extended) with its xattr area and data layout located.
#[derive(Debug, Clone, Copy)]
pub(crate) struct V6Inode<'a> {
    pub(crate) nid: Ino,
    pub(crate) offset: u64,
    pub(crate) kind: FileKind,
    pub(crate) mode: u32,
    layout: u16,
    inode_size: u64,
    xattr_size: u64,
    pub(crate) size: u64,
    i_u: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    mtime: Option<Timestamp>,
    data: Data<'a>,
}

impl<'a> V6Inode<'a> {
    fn parse(data: Data<'a>, nid: Ino, offset: u64) -> Result<Self> {
        const WHAT: &str = "v6 inode";
        let format = u16::from_le_bytes(data.slice(offset, 2, WHAT)?.try_into().expect("2 bytes"));
        if format & !0xf != 0 {
            return Err(invalid(
                WHAT,
                offset,
                "unknown bits in i_format",
                u64::from(format),
            ));
        }
        let layout = (format >> 1) & 0x7;
        if !matches!(
            layout,
            raw::LAYOUT_FLAT_PLAIN | raw::LAYOUT_FLAT_INLINE | raw::LAYOUT_CHUNK_BASED
        ) {
            return Err(Error::Unsupported(Unsupported::InodeLayout(layout)));
        }
        let mut inode = if format & 1 == 1 {
            let r: &raw::InodeExtended = data.read(offset, WHAT)?;
            V6Inode {
                nid,
                offset,
                kind: FileKind::Regular,
                mode: u32::from(r.i_mode.get()),
                layout,
                inode_size: 64,
                xattr_size: xattr_size(r.i_xattr_icount.get()),
                size: r.i_size.get(),
                i_u: r.i_u.get(),
                uid: r.i_uid.get(),
                gid: r.i_gid.get(),
                nlink: r.i_nlink.get(),
                mtime: Some(Timestamp {
                    secs: r.i_mtime.get(),
                    nsecs: r.i_mtime_nsec.get(),
                }),
                data,
            }
        } else {
            let r: &raw::InodeCompact = data.read(offset, WHAT)?;
            V6Inode {
                nid,
                offset,
                kind: FileKind::Regular,
                mode: u32::from(r.i_mode.get()),
                layout,
                inode_size: 32,
                xattr_size: xattr_size(r.i_xattr_icount.get()),
                size: u64::from(r.i_size.get()),
                i_u: r.i_u.get(),
                uid: u32::from(r.i_uid.get()),
                gid: u32::from(r.i_gid.get()),
                nlink: u32::from(r.i_nlink.get()),
                mtime: None,
                data,
            }
        };
        inode.kind = FileKind::from_mode(inode.mode).ok_or_else(|| {
            invalid(
                WHAT,
                offset,
                "mode has no valid file type",
                u64::from(inode.mode),
            )
        })?;
        if inode.nlink == 0 {
            return Err(invalid(WHAT, offset, "link count is 0", 0));
        }
        data.slice(
            offset,
            inode.inode_size + inode.xattr_size,
            "v6 inode xattrs",
        )?;
        match inode.kind {
            FileKind::Directory | FileKind::Symlink => {
                if inode.layout == raw::LAYOUT_CHUNK_BASED {
                    return Err(invalid(
                        WHAT,
                        offset,
                        "directory or symlink is chunk-based",
                        u64::from(format),
                    ));
                }
                // A directory's blocks live in the bootstrap: it cannot be larger (this also
                // bounds every block number computed from its size).
                if inode.kind == FileKind::Directory && inode.size > data.len() {
                    return Err(invalid(
                        WHAT,
                        offset,
                        "directory larger than the bootstrap",
                        inode.size,
                    ));
                }
                if inode.kind == FileKind::Symlink && inode.size > MAX_SYMLINK {
                    return Err(invalid(
                        WHAT,
                        offset,
                        "symlink target longer than 4096",
                        inode.size,
                    ));
                }
            }
            FileKind::Regular if inode.size > 0 && inode.layout != raw::LAYOUT_CHUNK_BASED => {
                return Err(invalid(
                    WHAT,
                    offset,
                    "non-empty regular file is not chunk-based",
                    u64::from(format),
                ));
            }
            _ => {}
        }
        Ok(inode)
    }

    pub(crate) fn mode(&self) -> u32 {
        self.mode
    }
    pub(crate) fn uid(&self) -> u32 {
        self.uid
    }
    pub(crate) fn gid(&self) -> u32 {
        self.gid
    }
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
    pub(crate) fn nlink(&self) -> u32 {
        self.nlink
    }
    pub(crate) fn rdev(&self) -> u32 {
        match self.kind {
            FileKind::CharDevice | FileKind::BlockDevice => self.i_u,
            _ => 0,
        }
    }
    pub(crate) fn blocks(&self) -> u64 {
        self.size.div_ceil(512)
    }
    pub(crate) fn mtime(&self) -> Option<Timestamp> {
        self.mtime
    }

    /// Byte `k`-th block of a directory or symlink's data, and its length.
    fn data_block(&self, k: u64) -> Result<&'a [u8]> {
        let blocks = self.size.div_ceil(BLOCK_SIZE);
        if k >= blocks {
            return Ok(&[]);
        }
        let len = if k + 1 == blocks {
            self.size - k * BLOCK_SIZE
        } else {
            BLOCK_SIZE
        };
        let inline = self.layout == raw::LAYOUT_FLAT_INLINE && k + 1 == blocks;
        let offset = if inline {
            self.offset + self.inode_size + self.xattr_size
        } else {
            (u64::from(self.i_u) + k)
                .checked_mul(BLOCK_SIZE)
                .ok_or(invalid(
                    "v6 data block",
                    self.offset,
                    "block address overflows",
                    k,
                ))?
        };
        self.data.slice(
            offset,
            len,
            if inline {
                "v6 inline data"
            } else {
                "v6 data block"
            },
        )
    }

    pub(crate) fn symlink_target(&self) -> Result<&'a [u8]> {
        if self.kind != FileKind::Symlink {
            return Ok(&[]);
        }
        // At most 4096 bytes: one block.
        self.data_block(0)
    }

    pub(crate) fn xattrs(&self) -> V6Xattrs<'a> {
        let area = if self.xattr_size > 12 {
            self.data
                .slice(self.offset + self.inode_size, self.xattr_size, "v6 xattrs")
                .ok()
        } else {
            None
        };
        let shared = area.map(|a| a[4]).unwrap_or(0);
        V6Xattrs {
            bytes: area.map(|a| &a[12..]).unwrap_or(&[]),
            offset: self.offset + self.inode_size,
            failed: false,
            shared,
        }
    }
}

fn xattr_size(icount: u16) -> u64 {
    if icount == 0 {
        0
    } else {
        12 + (u64::from(icount) - 1) * 4
    }
}

/// One directory block: dirents, then names.
struct DirBlock<'a> {
    bytes: &'a [u8],
    offset_hint: u64,
    count: usize,
}

impl<'a> DirBlock<'a> {
    fn read(dir: &V6Inode<'a>, k: u64) -> Result<Self> {
        let bytes = dir.data_block(k)?;
        const WHAT: &str = "v6 directory block";
        let offset_hint = dir.offset;
        if bytes.len() < 12 {
            return Err(invalid(
                WHAT,
                offset_hint,
                "block shorter than one dirent",
                bytes.len() as u64,
            ));
        }
        let first_nameoff = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        if first_nameoff < 12 || !first_nameoff.is_multiple_of(12) || first_nameoff > bytes.len() {
            return Err(invalid(
                WHAT,
                offset_hint,
                "first name offset is not a multiple of 12 inside the block",
                first_nameoff as u64,
            ));
        }
        Ok(DirBlock {
            bytes,
            offset_hint,
            count: first_nameoff / 12,
        })
    }

    fn dirent(&self, i: usize) -> &'a raw::Dirent {
        use zerocopy::FromBytes;
        raw::Dirent::ref_from_bytes(&self.bytes[i * 12..i * 12 + 12])
            .expect("12 bytes inside the block")
    }

    fn name(&self, i: usize) -> Result<&'a [u8]> {
        let start = self.dirent(i).e_nameoff.get() as usize;
        let end = if i + 1 < self.count {
            self.dirent(i + 1).e_nameoff.get() as usize
        } else {
            self.bytes.len()
        };
        if start < self.count * 12 || start > end || end > self.bytes.len() {
            return Err(invalid(
                "v6 dirent",
                self.offset_hint,
                "name offsets out of order or outside the block",
                start as u64,
            ));
        }
        let mut name = &self.bytes[start..end];
        if i + 1 == self.count
            && let Some(nul) = name.iter().position(|&b| b == 0)
        {
            name = &name[..nul];
        }
        if name.is_empty() || name.len() > 255 {
            return Err(invalid(
                "v6 dirent",
                self.offset_hint,
                "name length is not in 1..=255",
                name.len() as u64,
            ));
        }
        Ok(name)
    }

    fn entry(&self, i: usize) -> Result<DirEntry<'a>> {
        let d = self.dirent(i);
        let kind = FileKind::from_erofs_type(d.e_file_type).ok_or_else(|| {
            invalid(
                "v6 dirent",
                self.offset_hint,
                "unknown file type",
                u64::from(d.e_file_type),
            )
        })?;
        Ok(DirEntry {
            name: self.name(i)?,
            ino: Ino(d.e_nid.get()),
            kind,
        })
    }
}

/// Entries of a v6 directory in stored (name) order, without `.` and `..`.
pub(crate) struct V6Children<'a> {
    dir: V6Inode<'a>,
    block: u64,
    blocks: u64,
    current: Option<(DirBlock<'a>, usize)>,
    failed: bool,
}

impl<'a> Iterator for V6Children<'a> {
    type Item = Result<DirEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            if let Some((block, pos)) = &mut self.current {
                if *pos < block.count {
                    let i = *pos;
                    *pos += 1;
                    let entry = block.entry(i);
                    match entry {
                        Ok(e) if e.name == b"." || e.name == b".." => continue,
                        Ok(e) => return Some(Ok(e)),
                        Err(e) => {
                            self.failed = true;
                            return Some(Err(e));
                        }
                    }
                }
                self.current = None;
            }
            if self.block >= self.blocks {
                return None;
            }
            match DirBlock::read(&self.dir, self.block) {
                Ok(b) => self.current = Some((b, 0)),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
            self.block += 1;
        }
    }
}

/// Chunks of a v6 file, resolved through the chunk table.
pub(crate) struct V6Chunks<'b, 'a> {
    bootstrap: &'b V6Bootstrap<'a>,
    nid: Ino,
    addrs: Result<&'a [raw::ChunkAddr]>,
    pos: usize,
    failed: bool,
}

impl Iterator for V6Chunks<'_, '_> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let addrs = match &self.addrs {
            Ok(a) => *a,
            Err(e) => {
                self.failed = true;
                return Some(Err(e.clone()));
            }
        };
        let addr = addrs.get(self.pos)?;
        let i = self.pos as u64;
        self.pos += 1;
        let result = (|| {
            let blob_index = addr
                .blob_index()
                .filter(|&b| (b as usize) < self.bootstrap.blobs.len())
                .ok_or_else(|| {
                    invalid(
                        "v6 chunk address",
                        0,
                        "blob index outside the blob table",
                        u64::from(addr.c_blob_addr_hi.get()),
                    )
                })?;
            let map = self.bootstrap.chunk_map()?;
            let key = (blob_index, addr.ci_index(), addr.c_blk_addr.get());
            let entry = map.get(&key).ok_or(Error::MissingChunk {
                ino: self.nid.0,
                blob_index,
                ci_index: addr.ci_index(),
            })?;
            let record = &self.bootstrap.chunk_table[*entry as usize];
            Ok(chunk_from_record(record, i * self.bootstrap.chunk_size))
        })();
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

/// Inline xattrs of a v6 inode.
pub(crate) struct V6Xattrs<'a> {
    bytes: &'a [u8],
    offset: u64,
    failed: bool,
    shared: u8,
}

impl<'a> Iterator for V6Xattrs<'a> {
    type Item = Result<Xattr<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.shared != 0 {
            self.failed = true;
            return Some(Err(Error::Unsupported(Unsupported::ErofsFeature(
                "shared xattrs",
            ))));
        }
        if self.bytes.len() < 4 {
            return None;
        }
        let name_len = usize::from(self.bytes[0]);
        let index = self.bytes[1];
        let value_len = usize::from(u16::from_le_bytes([self.bytes[2], self.bytes[3]]));
        if name_len == 0 && index == 0 && value_len == 0 {
            return None;
        }
        let total = 4 + name_len + value_len;
        if total > self.bytes.len() {
            self.failed = true;
            return Some(Err(invalid(
                "v6 xattr entry",
                self.offset,
                "entry runs past the xattr area",
                total as u64,
            )));
        }
        let Some(prefix) = raw::xattr_prefix(index) else {
            self.failed = true;
            return Some(Err(invalid(
                "v6 xattr entry",
                self.offset,
                "unknown name prefix index",
                u64::from(index),
            )));
        };
        let suffix = &self.bytes[4..4 + name_len];
        let value = &self.bytes[4 + name_len..total];
        let advance = align_up(total as u64, 4) as usize;
        self.bytes = &self.bytes[advance.min(self.bytes.len())..];
        Some(Ok(Xattr {
            prefix,
            suffix,
            value,
        }))
    }
}
