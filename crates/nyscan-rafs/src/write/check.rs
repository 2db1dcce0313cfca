//! Checks a tree against the rules both formats share before anything is laid out, so the
//! writers can assume names, modes, xattrs, chunks and blob references are sound.

use std::collections::HashSet;

use crate::model::{FileKind, FormatVersion};

use super::error::{WriteError, WriteResult, show};
use super::node::check_mode;
use super::tree::{MAX_BLOBS, MAX_NAME_LEN, Node, NodeData, NodeId, Tree};

/// Longest symlink target RAFS v6 stores (one block).
pub(crate) const V6_MAX_SYMLINK: usize = 4096;
/// Longest xattr value, both formats.
const MAX_XATTR_VALUE: usize = u16::MAX as usize;
/// Most chunks of one blob (v6 chunk addresses keep 24 bits of the index).
pub(crate) const MAX_CHUNK_INDEX: u32 = (1 << 24) - 1;

/// Xattr name prefixes with their v6 name index, in nydus' matching order.
pub(crate) const XATTR_PREFIXES: [(&[u8], u8); 5] = [
    (b"user.", 1),
    (b"system.posix_acl_access", 2),
    (b"system.posix_acl_default", 3),
    (b"trusted.", 4),
    (b"security.", 6),
];

/// The v6 name index and prefix length of an xattr name.
pub(crate) fn xattr_prefix(name: &[u8]) -> Option<(u8, usize)> {
    XATTR_PREFIXES
        .iter()
        .find(|(p, _)| name.starts_with(p))
        .map(|(p, index)| (*index, p.len()))
}

/// One reachable entry, in depth-first pre-order (name order), the root first.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Absolute path (`/` for the root).
    pub(crate) path: Vec<u8>,
    /// The entry's name (`/` for the root).
    pub(crate) name: Vec<u8>,
    /// The inode.
    pub(crate) id: NodeId,
    /// Position of the parent directory's entry (the root: itself).
    pub(crate) parent: usize,
}

/// Walks every reachable entry, checking each node once; refuses a directory reached twice.
pub(crate) fn checked_entries(tree: &Tree) -> WriteResult<Vec<Entry>> {
    let version = tree.settings.version;
    check_settings(tree)?;
    let mut out: Vec<Entry> = Vec::new();
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<(Vec<u8>, Vec<u8>, NodeId, usize)> =
        vec![(b"/".to_vec(), b"/".to_vec(), tree.root(), 0)];
    while let Some((path, name, id, parent)) = stack.pop() {
        let node = tree.node(id).ok_or_else(|| WriteError::InvalidNode {
            path: show(&path),
            reason: "the entry names a removed inode".into(),
        })?;
        if !seen.insert(id) {
            if node.kind() == FileKind::Directory {
                return Err(WriteError::InvalidNode {
                    path: show(&path),
                    reason: "directory reached twice (a cycle or a hardlinked directory)".into(),
                });
            }
        } else {
            check_node(tree, &path, node, version)?;
        }
        if out.is_empty() && node.kind() != FileKind::Directory {
            return Err(WriteError::InvalidNode {
                path: show(&path),
                reason: "the root is not a directory".into(),
            });
        }
        let me = out.len();
        if let NodeData::Directory { entries } = &node.data {
            for (child_name, &child) in entries.iter().rev() {
                check_name(&path, child_name)?;
                let mut child_path = if path == b"/" {
                    Vec::new()
                } else {
                    path.clone()
                };
                child_path.push(b'/');
                child_path.extend_from_slice(child_name);
                stack.push((child_path, child_name.clone(), child, me));
            }
        }
        out.push(Entry {
            path,
            name,
            id,
            parent,
        });
    }
    Ok(out)
}

fn check_settings(tree: &Tree) -> WriteResult<()> {
    let s = &tree.settings;
    if !s.chunk_size.is_power_of_two() || !(4096..=16 << 20).contains(&s.chunk_size) {
        return Err(WriteError::InvalidNode {
            path: "/".into(),
            reason: format!(
                "chunk size {} is not a power of two in 4 KiB..16 MiB",
                s.chunk_size
            ),
        });
    }
    if tree.blobs.len() > MAX_BLOBS {
        return Err(WriteError::TooLarge {
            version: s.version.number(),
            what: "the blob table",
            value: tree.blobs.len() as u64,
            limit: MAX_BLOBS as u64,
        });
    }
    Ok(())
}

fn check_name(dir: &[u8], name: &[u8]) -> WriteResult<()> {
    let reason = if name.is_empty() {
        "empty entry name"
    } else if name.len() > MAX_NAME_LEN {
        "entry name longer than 255 bytes"
    } else if name.contains(&b'/') || name.contains(&0) {
        "entry name holds '/' or NUL"
    } else if name == b"." || name == b".." {
        "entry named '.' or '..'"
    } else {
        return Ok(());
    };
    let mut path = dir.to_vec();
    path.push(b'/');
    path.extend_from_slice(name);
    Err(WriteError::InvalidPath {
        path: show(&path),
        reason,
    })
}

fn invalid(path: &[u8], reason: String) -> WriteError {
    WriteError::InvalidNode {
        path: show(path),
        reason,
    }
}

fn check_node(tree: &Tree, path: &[u8], node: &Node, version: FormatVersion) -> WriteResult<()> {
    check_mode(path, node)?;
    for (name, value) in &node.xattrs {
        let Some((_, prefix_len)) = xattr_prefix(name) else {
            return Err(invalid(
                path,
                format!(
                    "xattr {:?} has no prefix RAFS stores (user., security., trusted., system.posix_acl_*)",
                    show(name)
                ),
            ));
        };
        if name.len() - prefix_len > MAX_NAME_LEN || name.contains(&0) {
            return Err(invalid(
                path,
                format!("xattr name {:?} is too long or holds NUL", show(name)),
            ));
        }
        if value.len() > MAX_XATTR_VALUE {
            return Err(invalid(
                path,
                format!("xattr {:?} value is over 64 KiB", show(name)),
            ));
        }
    }
    match &node.data {
        NodeData::Symlink { target } => {
            let limit = match version {
                FormatVersion::V5 => u16::MAX as usize,
                FormatVersion::V6 => V6_MAX_SYMLINK,
            };
            if target.len() > limit {
                return Err(invalid(
                    path,
                    format!("symlink target of {} bytes, over {limit}", target.len()),
                ));
            }
        }
        NodeData::Regular { size, chunks } => check_chunks(tree, path, *size, chunks, version)?,
        _ => {}
    }
    Ok(())
}

/// Chunks must tile the file: `ceil(size / chunk_size)` of them, chunk `i` holding bytes
/// `i * chunk_size ..` (all full but the last), each naming a blob of the table.
fn check_chunks(
    tree: &Tree,
    path: &[u8],
    size: u64,
    chunks: &[crate::model::Chunk],
    version: FormatVersion,
) -> WriteResult<()> {
    let chunk_size = u64::from(tree.settings.chunk_size);
    let expected = size.div_ceil(chunk_size);
    if chunks.len() as u64 != expected {
        return Err(invalid(
            path,
            format!(
                "{} chunks for {size} bytes; {chunk_size}-byte chunks need {expected}",
                chunks.len()
            ),
        ));
    }
    for (i, c) in chunks.iter().enumerate() {
        if c.blob_index as usize >= tree.blobs.len() {
            return Err(WriteError::NoSuchBlob {
                path: show(path),
                chunk: i,
                blob_index: c.blob_index,
                blobs: tree.blobs.len(),
            });
        }
        let start = i as u64 * chunk_size;
        let want = (size - start).min(chunk_size);
        if u64::from(c.uncompressed_size) != want {
            return Err(invalid(
                path,
                format!(
                    "chunk {i} holds {} bytes, the file needs {want} there",
                    c.uncompressed_size
                ),
            ));
        }
        if version == FormatVersion::V5 && c.file_offset != start {
            return Err(invalid(
                path,
                format!(
                    "chunk {i} has file offset {}, not {start} (files with holes are not written)",
                    c.file_offset
                ),
            ));
        }
        if version == FormatVersion::V6 {
            if c.index > MAX_CHUNK_INDEX {
                return Err(WriteError::TooLarge {
                    version: 6,
                    what: "a chunk index",
                    value: u64::from(c.index),
                    limit: u64::from(MAX_CHUNK_INDEX),
                });
            }
            if !c.uncompressed_offset.is_multiple_of(4096)
                || c.uncompressed_offset / 4096 > u64::from(u32::MAX)
            {
                return Err(invalid(
                    path,
                    format!(
                        "chunk {i} uncompressed offset {:#x} is not a 4 KiB block address",
                        c.uncompressed_offset
                    ),
                ));
            }
        }
    }
    Ok(())
}
