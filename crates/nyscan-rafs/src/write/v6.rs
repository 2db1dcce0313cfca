//! The RAFS v6 (EROFS-compatible) bootstrap writer.
//!
//! ```text
//! 0      1024  1152       1408           4K-aligned
//! | zero | SB  | ext. SB  | device slots | blob table | prefetch table | pad |
//! S (4K-aligned; meta_blkaddr = S / 4096 - 1, so the root, first at S, is nid 128):
//!   inodes in 32-byte slots, each with its inline xattrs and then either its chunk
//!   addresses (files) or its inline tail (directories, symlinks) | pad |
//!   full data blocks of directories and symlinks | chunk table (80 B records) | pad to 4K
//! ```
//! An inode and its xattrs never straddle a block when they fit in one, and an inline tail
//! always shares its inode's block, as EROFS requires. Directory blocks hold dirents then
//! names, `.` and `..` sorted among the entries, and no dirent crosses a block. Device
//! slots start at the first 512 KiB boundary after the bootstrap, as the official builder
//! places them.

use std::collections::{BTreeMap, HashMap};

use crate::flags::{BlobFeatures, Compressor, Digester, SuperFlags};
use crate::layout::v6::{
    COMPAT_RAFS_V6, DEVT_SLOTOFF, INCOMPAT_RAFS_V6, INODE_SLOT_SIZE, LAYOUT_CHUNK_BASED,
    LAYOUT_FLAT_INLINE, LAYOUT_FLAT_PLAIN, MAGIC, SUPERBLOCK_EXT_OFFSET, SUPERBLOCK_OFFSET,
};
use crate::model::{Chunk, FileKind};

use super::bytes::{PutLe, align_up, chunk_record, write_at};
use super::check::{Entry, checked_entries, xattr_prefix};
use super::error::{WriteError, WriteResult, show};
use super::tree::{Node, NodeData, NodeId, Tree};

const BLOCK: u64 = 4096;
const DIRENT_SIZE: u64 = 12;
/// Device slots are mapped from a 512 KiB boundary.
const SEGMENT_ALIGNMENT: u64 = 0x8_0000;
/// `EROFS_CHUNK_FORMAT_INDEXES`: the chunk array holds 8-byte indexes.
const CHUNK_FORMAT_INDEXES: u32 = 0x20;

/// Where one inode goes and how its data is stored.
#[derive(Debug)]
struct Plan {
    id: NodeId,
    /// Entry position of the inode's first link.
    pos: usize,
    compact: bool,
    /// Inode plus xattr area.
    head: u64,
    layout: u16,
    offset: u64,
    /// Directory or symlink data size.
    data_size: u64,
    /// Full blocks stored out of line.
    blocks: u64,
    blkaddr: u64,
}

fn err_node(path: &[u8], reason: String) -> WriteError {
    WriteError::InvalidNode {
        path: show(path),
        reason,
    }
}

/// Bytes of the inline xattr area: the 12-byte header and 4-aligned entries (0: none).
fn xattr_area_size(node: &Node) -> u64 {
    if node.xattrs.is_empty() {
        return 0;
    }
    12 + node
        .xattrs
        .iter()
        .map(|(name, value)| {
            let prefix = xattr_prefix(name).map_or(0, |(_, len)| len);
            align_up(4 + (name.len() - prefix) as u64 + value.len() as u64, 4)
        })
        .sum::<u64>()
}

/// Packs `(name, nid, file type)` entries (already sorted) into directory blocks: dirents,
/// then names; each block's used bytes.
fn dir_blocks(items: &[(&[u8], u64, u8)]) -> Vec<Vec<u8>> {
    let mut blocks = Vec::new();
    let mut start = 0;
    let mut used = 0u64;
    for (i, (name, _, _)) in items.iter().enumerate() {
        let len = DIRENT_SIZE + name.len() as u64;
        if used + len > BLOCK {
            blocks.push(dir_block(&items[start..i]));
            start = i;
            used = 0;
        }
        used += len;
    }
    if start < items.len() {
        blocks.push(dir_block(&items[start..]));
    }
    blocks
}

fn dir_block(items: &[(&[u8], u64, u8)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut nameoff = DIRENT_SIZE * items.len() as u64;
    for (name, nid, file_type) in items {
        out.put_u64(*nid);
        out.put_u16(nameoff as u16);
        out.push(*file_type);
        out.push(0);
        nameoff += name.len() as u64;
    }
    for (name, _, _) in items {
        out.extend_from_slice(name);
    }
    out
}

fn erofs_file_type(kind: FileKind) -> u8 {
    match kind {
        FileKind::Regular => 1,
        FileKind::Directory => 2,
        FileKind::CharDevice => 3,
        FileKind::BlockDevice => 4,
        FileKind::Fifo => 5,
        FileKind::Socket => 6,
        FileKind::Symlink => 7,
    }
}

/// A directory's entries with `.` and `..`, sorted by name: `(name, entry position)`.
fn sorted_dirents<'e>(
    entries: &'e [Entry],
    children: &[usize],
    me: usize,
) -> Vec<(&'e [u8], usize)> {
    let mut items: Vec<(&[u8], usize)> = vec![(b".", me), (b"..", entries[me].parent)];
    items.extend(children.iter().map(|&c| (entries[c].name.as_slice(), c)));
    items.sort_by(|a, b| a.0.cmp(b.0));
    items
}

fn too_large(what: &'static str, value: u64, limit: u64) -> WriteError {
    WriteError::TooLarge {
        version: 6,
        what,
        value,
        limit,
    }
}

/// Writes `tree` as a RAFS v6 bootstrap.
pub(crate) fn write(tree: &Tree) -> WriteResult<Vec<u8>> {
    let entries = checked_entries(tree)?;
    let n = entries.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (pos, e) in entries.iter().enumerate().skip(1) {
        children[e.parent].push(pos);
    }
    let node_at = |pos: usize| tree.node(entries[pos].id).expect("checked");

    // One plan per inode, in order of first appearance (the root first).
    let mut plans: Vec<Plan> = Vec::new();
    let mut plan_of: HashMap<NodeId, usize> = HashMap::new();
    for (pos, e) in entries.iter().enumerate() {
        if plan_of.contains_key(&e.id) {
            continue;
        }
        let node = node_at(pos);
        if node.mode > 0xffff {
            return Err(err_node(
                &e.path,
                format!("mode {:#o} needs more than 16 bits", node.mode),
            ));
        }
        let xattr = xattr_area_size(node);
        if xattr > 0 && (xattr - 12) / 4 + 1 > u64::from(u16::MAX) {
            return Err(err_node(&e.path, "xattrs over the v6 inline limit".into()));
        }
        let data_size = match &node.data {
            NodeData::Directory { .. } => {
                let items: Vec<(&[u8], u64, u8)> = sorted_dirents(&entries, &children[pos], pos)
                    .into_iter()
                    .map(|(name, _)| (name, 0, 0))
                    .collect();
                let blocks = dir_blocks(&items);
                (blocks.len() as u64 - 1) * BLOCK + blocks.last().map_or(0, |b| b.len() as u64)
            }
            NodeData::Symlink { target } => target.len() as u64,
            _ => 0,
        };
        let nlink = tree.nlink(e.id);
        let size = match node.kind() {
            FileKind::Directory | FileKind::Symlink => data_size,
            _ => node.size(),
        };
        let compact = node.mtime.is_none()
            && node.uid <= u32::from(u16::MAX)
            && node.gid <= u32::from(u16::MAX)
            && nlink <= u32::from(u16::MAX)
            && size <= u64::from(u32::MAX);
        let head = if compact { 32 } else { 64 } + xattr;
        plan_of.insert(e.id, plans.len());
        plans.push(Plan {
            id: e.id,
            pos,
            compact,
            head,
            layout: LAYOUT_FLAT_PLAIN,
            offset: 0,
            data_size,
            blocks: 0,
            blkaddr: 0,
        });
    }

    // Tables before the inodes.
    let blob_count = tree.blobs.len() as u64;
    let blob_table_offset = align_up(u64::from(DEVT_SLOTOFF) * 128 + blob_count * 128, BLOCK);
    let blob_table_size = blob_count * 256;
    let prefetch_paths: Vec<NodeId> = tree
        .prefetch
        .iter()
        .map(|p| tree.lookup(p))
        .collect::<WriteResult<Vec<_>>>()?
        .into_iter()
        .flatten()
        .filter(|id| plan_of.contains_key(id))
        .collect();
    let prefetch_offset = blob_table_offset + blob_table_size;
    let prefetch_size = prefetch_paths.len() as u64 * 4;
    let inodes_start = align_up(prefetch_offset + prefetch_size, BLOCK);
    let meta_addr = inodes_start - BLOCK;

    // Place inodes.
    let mut cursor = inodes_start;
    for plan in &mut plans {
        let node = tree.node(plan.id).expect("checked");
        let (need, extra) = match &node.data {
            NodeData::Directory { .. } | NodeData::Symlink { .. } => {
                let tail = plan.data_size % BLOCK;
                if tail != 0 && plan.head + tail <= BLOCK {
                    plan.layout = LAYOUT_FLAT_INLINE;
                    plan.blocks = plan.data_size / BLOCK;
                    (plan.head + tail, 0)
                } else {
                    plan.layout = LAYOUT_FLAT_PLAIN;
                    plan.blocks = plan.data_size.div_ceil(BLOCK);
                    (plan.head, 0)
                }
            }
            NodeData::Regular { chunks, .. } => {
                plan.layout = LAYOUT_CHUNK_BASED;
                (
                    plan.head,
                    align_up(plan.head, 8) - plan.head + chunks.len() as u64 * 8,
                )
            }
            _ => (plan.head, 0),
        };
        let mut base = align_up(cursor, INODE_SLOT_SIZE);
        if need <= BLOCK && base % BLOCK + need > BLOCK {
            base = align_up(base, BLOCK);
        }
        plan.offset = base;
        cursor = base + need + extra;
    }
    let nids: Vec<u64> = plans
        .iter()
        .map(|p| (p.offset - meta_addr) / INODE_SLOT_SIZE)
        .collect();
    let nid = |id: NodeId| nids[plan_of[&id]];
    let root_nid = nid(entries[0].id);
    debug_assert_eq!(root_nid, 128);

    // Out-of-line data blocks, then the chunk table.
    let mut next_block = align_up(cursor, BLOCK) / BLOCK;
    for plan in &mut plans {
        if plan.blocks > 0 {
            plan.blkaddr = next_block;
            next_block += plan.blocks;
        }
    }
    if next_block > u64::from(u32::MAX) {
        return Err(too_large(
            "the bootstrap in blocks",
            next_block,
            u64::from(u32::MAX),
        ));
    }
    let mut chunk_table: BTreeMap<([u8; 32], u32, u32, u64), Chunk> = BTreeMap::new();
    for plan in &plans {
        for c in tree.node(plan.id).expect("checked").chunks() {
            chunk_table
                .entry((c.digest, c.blob_index, c.index, c.uncompressed_offset))
                .or_insert(*c);
        }
    }
    let chunk_table_offset = next_block * BLOCK;
    let chunk_table_size = chunk_table.len() as u64 * 80;
    let total = align_up(chunk_table_offset + chunk_table_size, BLOCK);

    let mut out = vec![0u8; total as usize];
    let mut has_xattr = false;
    let mut ino_counter = 0u32;
    for plan in &plans {
        let node = tree.node(plan.id).expect("checked");
        has_xattr |= !node.xattrs.is_empty();
        ino_counter += 1;
        let (size, i_u, data): (u64, u32, Vec<Vec<u8>>) = match &node.data {
            NodeData::Directory { .. } => {
                let items: Vec<(&[u8], u64, u8)> =
                    sorted_dirents(&entries, &children[plan.pos], plan.pos)
                        .into_iter()
                        .map(|(name, pos)| {
                            let kind = tree.node(entries[pos].id).expect("checked").kind();
                            (name, nid(entries[pos].id), erofs_file_type(kind))
                        })
                        .collect();
                (plan.data_size, plan.blkaddr as u32, dir_blocks(&items))
            }
            NodeData::Symlink { target } => (
                plan.data_size,
                plan.blkaddr as u32,
                target.chunks(BLOCK as usize).map(<[u8]>::to_vec).collect(),
            ),
            NodeData::Regular { size, .. } => {
                let bits = tree.settings.chunk_size.trailing_zeros() - 12;
                (*size, CHUNK_FORMAT_INDEXES | bits, Vec::new())
            }
            NodeData::CharDevice { rdev } | NodeData::BlockDevice { rdev } => {
                (0, *rdev, Vec::new())
            }
            NodeData::Fifo | NodeData::Socket => (0, 0, Vec::new()),
        };
        let inode = inode_bytes(tree, plan, node, size, i_u, ino_counter);
        write_at(&mut out, plan.offset, &inode);
        let mut at = plan.offset + inode.len() as u64;
        if !node.xattrs.is_empty() {
            let area = xattr_area(node);
            write_at(&mut out, at, &area);
            at += area.len() as u64;
        }
        match &node.data {
            NodeData::Regular { chunks, .. } => {
                let mut addrs = Vec::with_capacity(chunks.len() * 8);
                for c in chunks {
                    let blob = c.blob_index + 1;
                    addrs.put_u16((c.index & 0xffff) as u16);
                    addrs.put_u16((blob | ((c.index >> 16) << 8)) as u16);
                    addrs.put_u32((c.uncompressed_offset / BLOCK) as u32);
                }
                write_at(&mut out, align_up(at, 8), &addrs);
            }
            NodeData::Directory { .. } | NodeData::Symlink { .. } => {
                let inline = plan.layout == LAYOUT_FLAT_INLINE;
                let out_of_line = if inline { data.len() - 1 } else { data.len() };
                for (k, block) in data.iter().enumerate() {
                    if k < out_of_line {
                        write_at(&mut out, (plan.blkaddr + k as u64) * BLOCK, block);
                    } else {
                        write_at(&mut out, at, block);
                    }
                }
            }
            _ => {}
        }
    }

    // Prefetch table: nids.
    for (i, id) in prefetch_paths.iter().enumerate() {
        let v = nid(*id);
        let v =
            u32::try_from(v).map_err(|_| too_large("a prefetched nid", v, u64::from(u32::MAX)))?;
        write_at(&mut out, prefetch_offset + i as u64 * 4, &v.to_le_bytes());
    }
    // Chunk table.
    for (i, c) in chunk_table.values().enumerate() {
        write_at(
            &mut out,
            chunk_table_offset + i as u64 * 80,
            &chunk_record(c),
        );
    }

    // Blob table and device slots.
    let mut pos = total;
    let mut blocks_total: u64 = 0;
    let mut all_digests = true;
    for (i, b) in tree.blobs.iter().enumerate() {
        let entry = blob_entry(tree, i)?;
        write_at(&mut out, blob_table_offset + i as u64 * 256, &entry);
        all_digests &= b.features.contains(BlobFeatures::INLINED_CHUNK_DIGEST);
        let count = b.uncompressed_size / BLOCK;
        let mapped = align_up(pos, SEGMENT_ALIGNMENT) / BLOCK;
        if count > u64::from(u32::MAX) || mapped + count > u64::from(u32::MAX) {
            return Err(too_large(
                "the blocks of all blobs",
                mapped + count,
                u64::from(u32::MAX),
            ));
        }
        pos = (mapped + count) * BLOCK;
        blocks_total += count;
        let mut slot = Vec::with_capacity(128);
        slot.extend_from_slice(b.id.as_bytes());
        slot.put_u32(count as u32);
        slot.put_u32(mapped as u32);
        slot.resize(128, 0);
        write_at(
            &mut out,
            u64::from(DEVT_SLOTOFF) * 128 + i as u64 * 128,
            &slot,
        );
    }
    let blocks_total = u32::try_from(blocks_total)
        .map_err(|_| too_large("the blocks of all blobs", blocks_total, u64::from(u32::MAX)))?;

    let mut flags =
        tree.settings.super_flags(has_xattr).bits() & !SuperFlags::INLINED_CHUNK_DIGEST.bits();
    if all_digests {
        flags |= SuperFlags::INLINED_CHUNK_DIGEST.bits();
    }

    // EROFS superblock.
    let mut sb = Vec::with_capacity(128);
    sb.put_u32(MAGIC);
    sb.put_u32(0); // s_checksum
    sb.put_u32(COMPAT_RAFS_V6);
    sb.push(12); // s_blkszbits
    sb.push(0); // s_extslots
    sb.put_u16(root_nid as u16);
    sb.put_u64(n as u64); // s_inos
    let build = tree
        .settings
        .build_time
        .unwrap_or(crate::model::Timestamp { secs: 0, nsecs: 0 });
    sb.put_u64(build.secs);
    sb.put_u32(build.nsecs);
    sb.put_u32(blocks_total);
    sb.put_u32((meta_addr / BLOCK) as u32);
    sb.put_u32(0); // s_xattr_blkaddr
    sb.extend_from_slice(&[0u8; 32]); // uuid, volume name
    sb.put_u32(INCOMPAT_RAFS_V6);
    sb.put_u16(0); // s_u
    sb.put_u16(tree.blobs.len() as u16);
    sb.put_u16(DEVT_SLOTOFF);
    sb.resize(128, 0);
    write_at(&mut out, SUPERBLOCK_OFFSET, &sb);

    // RAFS extended superblock.
    let mut ext = Vec::with_capacity(256);
    ext.put_u64(flags);
    ext.put_u64(blob_table_offset);
    ext.put_u32(blob_table_size as u32);
    ext.put_u32(tree.settings.chunk_size);
    ext.put_u64(chunk_table_offset);
    ext.put_u64(chunk_table_size);
    ext.put_u64(if prefetch_size > 0 {
        prefetch_offset
    } else {
        0
    });
    ext.put_u32(prefetch_size as u32);
    ext.resize(256, 0);
    write_at(&mut out, SUPERBLOCK_EXT_OFFSET, &ext);
    Ok(out)
}

/// The 32- or 64-byte inode.
fn inode_bytes(tree: &Tree, plan: &Plan, node: &Node, size: u64, i_u: u32, ino: u32) -> Vec<u8> {
    let xattr = plan.head - if plan.compact { 32 } else { 64 };
    let icount = if xattr == 0 {
        0
    } else {
        ((xattr - 12) / 4 + 1) as u16
    };
    let nlink = tree.nlink(plan.id);
    let mut b = Vec::with_capacity(64);
    if plan.compact {
        b.put_u16(plan.layout << 1);
        b.put_u16(icount);
        b.put_u16(node.mode as u16);
        b.put_u16(nlink as u16);
        b.put_u32(size as u32);
        b.put_u32(0);
        b.put_u32(i_u);
        b.put_u32(ino);
        b.put_u16(node.uid as u16);
        b.put_u16(node.gid as u16);
        b.put_u32(0);
    } else {
        let mtime = node
            .mtime
            .unwrap_or(crate::model::Timestamp { secs: 0, nsecs: 0 });
        b.put_u16(1 | (plan.layout << 1));
        b.put_u16(icount);
        b.put_u16(node.mode as u16);
        b.put_u16(0);
        b.put_u64(size);
        b.put_u32(i_u);
        b.put_u32(ino);
        b.put_u32(node.uid);
        b.put_u32(node.gid);
        b.put_u64(mtime.secs);
        b.put_u32(mtime.nsecs);
        b.put_u32(nlink);
        b.extend_from_slice(&[0u8; 16]);
    }
    b
}

/// The inline xattr area: a 12-byte header, then 4-aligned entries.
fn xattr_area(node: &Node) -> Vec<u8> {
    let mut out = vec![0u8; 12];
    for (name, value) in &node.xattrs {
        let (index, prefix) = xattr_prefix(name).expect("checked");
        let suffix = &name[prefix..];
        out.push(suffix.len() as u8);
        out.push(index);
        out.put_u16(value.len() as u16);
        out.extend_from_slice(suffix);
        out.extend_from_slice(value);
        out.pad_to(4);
    }
    out
}

/// The 256-byte blob table entry of blob `i`.
fn blob_entry(tree: &Tree, i: usize) -> WriteResult<Vec<u8>> {
    let b = &tree.blobs[i];
    let refuse = |reason| WriteError::InvalidBlob {
        index: i,
        id: b.id.clone(),
        reason,
    };
    if b.id.len() != 64 || !b.id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(refuse("a v6 blob id must be 64 hex characters"));
    }
    if b.chunk_size != tree.settings.chunk_size {
        return Err(refuse("chunk size differs from the image's"));
    }
    if !b.features.contains(BlobFeatures::ALIGNED) {
        return Err(refuse("a v6 blob needs the ALIGNED feature"));
    }
    let Some(meta) = b.meta else {
        return Err(refuse("a v6 blob needs its compression-info location"));
    };
    let mut e = Vec::with_capacity(256);
    e.extend_from_slice(b.id.as_bytes());
    e.put_u32(i as u32);
    e.put_u32(b.chunk_size);
    e.put_u32(b.chunk_count);
    e.put_u32(compressor_id(b.compressor));
    e.put_u32(match b.digester {
        Digester::Blake3 => 0,
        Digester::Sha256 => 1,
    });
    e.put_u32(b.features.bits());
    e.put_u64(b.compressed_size);
    e.put_u64(b.uncompressed_size);
    e.put_u32(meta.toc_size);
    e.put_u32(meta.ci_compressor);
    e.put_u64(meta.ci_offset);
    e.put_u64(meta.ci_compressed_size);
    e.put_u64(meta.ci_uncompressed_size);
    e.extend_from_slice(&meta.toc_digest);
    e.extend_from_slice(&meta.meta_digest);
    e.put_u64(meta.meta_size);
    e.resize(256, 0);
    Ok(e)
}

/// nydus' numeric compressor id.
pub(crate) fn compressor_id(c: Compressor) -> u32 {
    match c {
        Compressor::None => 0,
        Compressor::Lz4Block => 1,
        Compressor::Gzip => 2,
        Compressor::Zstd => 3,
    }
}
