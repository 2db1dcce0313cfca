//! The RAFS v5 bootstrap writer, laid out as the official builder does:
//!
//! ```text
//! superblock (8 KiB) | inode table | prefetch table | blob table | extended blob table |
//! inode records in depth-first pre-order (128 B + name + symlink + xattrs + 80 B chunks)
//! ```
//! Inode indexes are handed out directory by directory: all children of a directory get
//! consecutive indexes, then its sub-directories are numbered depth-first. Hardlinks get
//! their own record and index and share the first link's inode number. Inode digests are
//! the digester over the chunk digests (files), the target (symlinks), nothing (other
//! files) or the children's digests (directories).

use std::collections::HashMap;

use crate::flags::SuperFlags;
use crate::layout::v5::{INODE_FLAG_XATTR, MAGIC, SUPERBLOCK_SIZE, VERSION};
use crate::model::FileKind;

use super::bytes::{PutLe, align_up, chunk_record};
use super::check::{Entry, checked_entries};
use super::digest::{Hasher, digest_of};
use super::error::{WriteError, WriteResult};
use super::tree::{NodeData, NodeId, Tree};

/// `i_flags` bit of a symlink.
const INODE_FLAG_SYMLINK: u64 = 0x1;
/// Pseudo directory entry size of the v5 directory `i_size`.
const VIRTUAL_ENTRY_SIZE: u64 = 8;
/// Inode-table entries hold `offset >> 3` below this bound.
const MAX_INODE_TABLE_VALUE: u64 = 1 << 29;

/// Bytes of an xattr area's pairs: `u32 size | name | NUL | value` each.
fn xattr_pairs_size(xattrs: &[(Vec<u8>, Vec<u8>)]) -> u64 {
    xattrs
        .iter()
        .map(|(k, v)| 4 + k.len() as u64 + 1 + v.len() as u64)
        .sum()
}

/// Writes `tree` as a RAFS v5 bootstrap.
pub(crate) fn write(tree: &Tree) -> WriteResult<Vec<u8>> {
    let entries = checked_entries(tree)?;
    let digester = tree.settings.digester;
    let n = entries.len();

    // Children of each directory entry, in name order (pre-order keeps it).
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (pos, e) in entries.iter().enumerate().skip(1) {
        children[e.parent].push(pos);
    }
    let is_dir = |pos: usize| kind_of(tree, &entries[pos]) == FileKind::Directory;

    // Inode indexes: a directory's children consecutively, sub-directories depth-first.
    let mut index = vec![0u32; n];
    let mut child_index = vec![0u32; n];
    index[0] = 1;
    let mut next: u64 = 2;
    let mut dirs = vec![0usize];
    while let Some(dir) = dirs.pop() {
        child_index[dir] = u32::try_from(next).map_err(|_| too_many(next))?;
        for &c in &children[dir] {
            index[c] = u32::try_from(next).map_err(|_| too_many(next))?;
            next += 1;
        }
        dirs.extend(children[dir].iter().rev().copied().filter(|&c| is_dir(c)));
    }

    // Inode numbers: a regular file's links share the lowest index; others have their own.
    let mut first_index: HashMap<NodeId, u32> = HashMap::new();
    for (pos, e) in entries.iter().enumerate() {
        let slot = first_index.entry(e.id).or_insert(index[pos]);
        *slot = (*slot).min(index[pos]);
    }
    let ino = |pos: usize| -> u32 {
        if kind_of(tree, &entries[pos]) == FileKind::Regular {
            first_index[&entries[pos].id]
        } else {
            index[pos]
        }
    };
    let unique_inodes = (0..n).filter(|&pos| ino(pos) == index[pos]).count() as u64;

    // Digests, children before parents (reverse pre-order).
    let mut digests = vec![[0u8; 32]; n];
    for pos in (0..n).rev() {
        let node = tree.node(entries[pos].id).expect("checked");
        digests[pos] = match &node.data {
            NodeData::Directory { .. } => {
                let mut h = Hasher::new(digester);
                for &c in &children[pos] {
                    h.update(&digests[c]);
                }
                h.finish()
            }
            NodeData::Regular { chunks, .. } => {
                let mut h = Hasher::new(digester);
                for c in chunks {
                    h.update(&c.digest);
                }
                h.finish()
            }
            NodeData::Symlink { target } => digest_of(digester, target),
            _ => digest_of(digester, b""),
        };
    }

    // Tables.
    let inode_table_size = align_up(n as u64 * 4, 8);
    let mut prefetch: Vec<u32> = Vec::new();
    let pos_of: HashMap<NodeId, usize> = entries
        .iter()
        .enumerate()
        .rev()
        .map(|(pos, e)| (e.id, pos))
        .collect();
    for path in &tree.prefetch {
        if let Some(id) = tree.lookup(path)?
            && let Some(&pos) = pos_of.get(&id)
        {
            prefetch.push(ino(pos));
        }
    }
    let prefetch_offset = SUPERBLOCK_SIZE + inode_table_size;
    let prefetch_size = align_up(prefetch.len() as u64 * 4, 8);
    let blob_table = blob_table(tree)?;
    let blob_table_offset = prefetch_offset + prefetch_size;
    let ext_offset = blob_table_offset + blob_table.len() as u64;
    let ext_size = tree.blobs.len() as u64 * 64;
    let records_offset = ext_offset + ext_size;

    // Inode records, depth-first pre-order.
    let mut records: Vec<u8> = Vec::new();
    let mut offsets = vec![0u64; n];
    let mut has_xattr = false;
    for (pos, e) in entries.iter().enumerate() {
        let offset = records_offset + records.len() as u64;
        if offset >> 3 >= MAX_INODE_TABLE_VALUE {
            return Err(WriteError::TooLarge {
                version: 5,
                what: "the bootstrap",
                value: offset,
                limit: MAX_INODE_TABLE_VALUE << 3,
            });
        }
        offsets[pos] = offset;
        let node = tree.node(e.id).expect("checked");
        has_xattr |= !node.xattrs.is_empty();
        let xattr_size = xattr_pairs_size(&node.xattrs);
        let (size, child_idx, child_count, nlink) = match &node.data {
            NodeData::Directory { .. } => {
                let names: u64 = children[pos]
                    .iter()
                    .map(|&c| entries[c].name.len() as u64 + VIRTUAL_ENTRY_SIZE)
                    .sum();
                let size = if names == 0 {
                    4096
                } else {
                    align_up(names, 4096)
                };
                let subdirs = children[pos].iter().filter(|&&c| is_dir(c)).count() as u32;
                (
                    size,
                    child_index[pos],
                    children[pos].len() as u32,
                    2 + subdirs,
                )
            }
            NodeData::Regular { size, chunks } => {
                (*size, 0, chunks.len() as u32, tree.links(e.id).max(1))
            }
            _ => (node.size(), 0, 0, 1),
        };
        let mut flags = 0u64;
        if node.kind() == FileKind::Symlink {
            flags |= INODE_FLAG_SYMLINK;
        }
        if !node.xattrs.is_empty() {
            flags |= INODE_FLAG_XATTR;
        }
        let symlink: &[u8] = match &node.data {
            NodeData::Symlink { target } => target,
            _ => &[],
        };
        let mtime = node
            .mtime
            .unwrap_or(crate::model::Timestamp { secs: 0, nsecs: 0 });
        let parent_ino = if pos == 0 { 0 } else { ino(e.parent) };

        records.extend_from_slice(&digests[pos]);
        records.put_u64(u64::from(parent_ino));
        records.put_u64(u64::from(ino(pos)));
        records.put_u32(node.uid);
        records.put_u32(node.gid);
        records.put_u32(0); // i_projid
        records.put_u32(node.mode);
        records.put_u64(size);
        records.put_u64((size + align_up(xattr_size, 8)).div_ceil(512));
        records.put_u64(flags);
        records.put_u32(nlink);
        records.put_u32(child_idx);
        records.put_u32(child_count);
        records.put_u16(e.name.len() as u16);
        records.put_u16(symlink.len() as u16);
        records.put_u32(node.rdev());
        records.put_u32(mtime.nsecs);
        records.put_u64(mtime.secs);
        records.put_u64(0); // i_reserved
        records.extend_from_slice(&e.name);
        records.pad_to(8);
        if !symlink.is_empty() {
            records.extend_from_slice(symlink);
            records.pad_to(8);
        }
        if !node.xattrs.is_empty() {
            records.put_u64(xattr_size);
            for (name, value) in &node.xattrs {
                records.put_u32((name.len() + 1 + value.len()) as u32);
                records.extend_from_slice(name);
                records.push(0);
                records.extend_from_slice(value);
            }
            records.pad_to(8);
        }
        for c in node.chunks() {
            records.extend_from_slice(&chunk_record(c));
        }
    }

    let flags = tree.settings.super_flags(has_xattr);
    let mut out = Vec::with_capacity(records_offset as usize + records.len());
    superblock(
        &mut out,
        tree,
        flags,
        unique_inodes,
        n as u32,
        prefetch_offset,
        prefetch.len() as u32,
        blob_table_offset,
        blob_table.len() as u32,
        ext_offset,
    );
    // Inode table: slot `index - 1` holds the record offset >> 3.
    let mut table = vec![0u32; n];
    for pos in 0..n {
        table[index[pos] as usize - 1] = (offsets[pos] >> 3) as u32;
    }
    for v in table {
        out.put_u32(v);
    }
    out.pad_to(8);
    for p in &prefetch {
        out.put_u32(*p);
    }
    out.pad_to(8);
    out.extend_from_slice(&blob_table);
    for b in &tree.blobs {
        out.put_u32(b.chunk_count);
        out.put_u32(b.features.bits());
        out.put_u64(b.uncompressed_size);
        out.put_u64(b.compressed_size);
        out.extend_from_slice(&[0u8; 40]);
    }
    debug_assert_eq!(out.len() as u64, records_offset);
    out.extend_from_slice(&records);
    Ok(out)
}

fn kind_of(tree: &Tree, e: &Entry) -> FileKind {
    tree.node(e.id).expect("checked").kind()
}

fn too_many(value: u64) -> WriteError {
    WriteError::TooLarge {
        version: 5,
        what: "the inode count",
        value,
        limit: u64::from(u32::MAX),
    }
}

/// Frames `u32 readahead offset | u32 readahead size | id | NUL` (no NUL after the last),
/// padded to 8.
fn blob_table(tree: &Tree) -> WriteResult<Vec<u8>> {
    let mut out = Vec::new();
    for (i, b) in tree.blobs.iter().enumerate() {
        if b.id.is_empty() || !b.id.bytes().all(|c| c.is_ascii_graphic()) {
            return Err(WriteError::InvalidBlob {
                index: i,
                id: b.id.clone(),
                reason: "a v5 blob id must be non-empty printable ASCII",
            });
        }
        if i > 0 {
            out.push(0);
        }
        out.put_u32(b.readahead.0);
        out.put_u32(b.readahead.1);
        out.extend_from_slice(b.id.as_bytes());
    }
    out.pad_to(8);
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn superblock(
    out: &mut Vec<u8>,
    tree: &Tree,
    flags: SuperFlags,
    inodes_count: u64,
    inode_table_entries: u32,
    prefetch_offset: u64,
    prefetch_entries: u32,
    blob_table_offset: u64,
    blob_table_size: u32,
    ext_offset: u64,
) {
    out.put_u32(MAGIC);
    out.put_u32(VERSION);
    out.put_u32(SUPERBLOCK_SIZE as u32);
    out.put_u32(tree.settings.chunk_size);
    out.put_u64(flags.bits());
    out.put_u64(inodes_count);
    out.put_u64(SUPERBLOCK_SIZE);
    out.put_u64(prefetch_offset);
    out.put_u64(blob_table_offset);
    out.put_u32(inode_table_entries);
    out.put_u32(prefetch_entries);
    out.put_u32(blob_table_size);
    out.put_u32(tree.blobs.len() as u32);
    out.put_u64(ext_offset);
    out.resize(SUPERBLOCK_SIZE as usize, 0);
}
