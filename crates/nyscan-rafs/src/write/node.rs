//! Inodes of a tree: attributes, xattrs and the data of each kind.

use std::collections::BTreeMap;

use crate::model::{Chunk, FileKind, Timestamp};

use super::error::{WriteError, WriteResult, show};

/// A handle to an inode of a [`Tree`](super::Tree). Hardlinks share one. Stale once the inode's last link
/// is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(super) usize);

/// What an inode holds beyond its attributes, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeData {
    /// A directory: entry names (no `/`, no NUL, 1..=255 bytes; never `.` or `..`) to inodes,
    /// kept in byte order as both formats store them. Prefer the [`Tree`](super::Tree) helpers to editing
    /// this map: they keep link counts right.
    Directory {
        /// The entries.
        entries: BTreeMap<Vec<u8>, NodeId>,
    },
    /// A regular file.
    Regular {
        /// Size in bytes.
        size: u64,
        /// Chunk records in file order. v6 needs exactly `ceil(size / chunk_size)` of them,
        /// chunk `i` holding bytes `i * chunk_size ..`; v5 keeps each record's
        /// `file_offset`. `blob_index` names an entry of [`Tree::blobs`](super::Tree::blobs).
        chunks: Vec<Chunk>,
    },
    /// A symbolic link.
    Symlink {
        /// The target (at most 4096 bytes in v6).
        target: Vec<u8>,
    },
    /// A character device.
    CharDevice {
        /// Device number in Linux `new_encode_dev` form.
        rdev: u32,
    },
    /// A block device.
    BlockDevice {
        /// Device number in Linux `new_encode_dev` form.
        rdev: u32,
    },
    /// A named pipe.
    Fifo,
    /// A unix socket.
    Socket,
}

impl NodeData {
    /// The kind of inode this data belongs to.
    pub fn kind(&self) -> FileKind {
        match self {
            NodeData::Directory { .. } => FileKind::Directory,
            NodeData::Regular { .. } => FileKind::Regular,
            NodeData::Symlink { .. } => FileKind::Symlink,
            NodeData::CharDevice { .. } => FileKind::CharDevice,
            NodeData::BlockDevice { .. } => FileKind::BlockDevice,
            NodeData::Fifo => FileKind::Fifo,
            NodeData::Socket => FileKind::Socket,
        }
    }
}

/// The `S_IFMT` bits of a kind.
pub fn kind_mode_bits(kind: FileKind) -> u32 {
    match kind {
        FileKind::Regular => 0o100000,
        FileKind::Directory => 0o040000,
        FileKind::Symlink => 0o120000,
        FileKind::CharDevice => 0o020000,
        FileKind::BlockDevice => 0o060000,
        FileKind::Fifo => 0o010000,
        FileKind::Socket => 0o140000,
    }
}

/// One inode: attributes, xattrs and its kind's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Full `st_mode`; its file-type bits must agree with [`Node::data`] (the writer checks).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time. `None` where the source kept none (v6 compact inodes): v6 then
    /// writes a compact inode where the attributes fit, v5 writes 0.
    pub mtime: Option<Timestamp>,
    /// Extended attributes `(full name, value)` in stored order. Names start with `user.`,
    /// `security.`, `trusted.`, `system.posix_acl_access` or `system.posix_acl_default`.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// What the inode holds.
    pub data: NodeData,
}

impl Node {
    /// A node of `data`'s kind with permission bits `perms` (`0o7777` mask) and no xattrs.
    pub fn new(data: NodeData, perms: u32, uid: u32, gid: u32, mtime: Option<Timestamp>) -> Node {
        Node {
            mode: kind_mode_bits(data.kind()) | (perms & 0o7777),
            uid,
            gid,
            mtime,
            xattrs: Vec::new(),
            data,
        }
    }

    /// A regular file of `size` bytes held by `chunks`.
    pub fn regular(size: u64, chunks: Vec<Chunk>, perms: u32, uid: u32, gid: u32) -> Node {
        Node::new(NodeData::Regular { size, chunks }, perms, uid, gid, None)
    }

    /// An empty directory.
    pub fn directory(perms: u32, uid: u32, gid: u32) -> Node {
        Node::new(
            NodeData::Directory {
                entries: BTreeMap::new(),
            },
            perms,
            uid,
            gid,
            None,
        )
    }

    /// A symlink to `target` (mode `0o777`).
    pub fn symlink(target: Vec<u8>, uid: u32, gid: u32) -> Node {
        Node::new(NodeData::Symlink { target }, 0o777, uid, gid, None)
    }

    /// The kind, from [`Node::data`].
    pub fn kind(&self) -> FileKind {
        self.data.kind()
    }

    /// Size as `stat` reports it: a file's size, a symlink target's length, 0 otherwise
    /// (directory sizes are computed by the writer).
    pub fn size(&self) -> u64 {
        match &self.data {
            NodeData::Regular { size, .. } => *size,
            NodeData::Symlink { target } => target.len() as u64,
            _ => 0,
        }
    }

    /// Device number of a device, else 0.
    pub fn rdev(&self) -> u32 {
        match self.data {
            NodeData::CharDevice { rdev } | NodeData::BlockDevice { rdev } => rdev,
            _ => 0,
        }
    }

    /// Chunks of a regular file (empty for other kinds).
    pub fn chunks(&self) -> &[Chunk] {
        match &self.data {
            NodeData::Regular { chunks, .. } => chunks,
            _ => &[],
        }
    }

    /// Entries of a directory (`None` for other kinds).
    pub fn entries(&self) -> Option<&BTreeMap<Vec<u8>, NodeId>> {
        match &self.data {
            NodeData::Directory { entries } => Some(entries),
            _ => None,
        }
    }
}

/// Refuses a node whose mode's file type differs from its data.
pub(super) fn check_mode(path: &[u8], node: &Node) -> WriteResult<()> {
    if FileKind::from_mode(node.mode) != Some(node.kind()) {
        return Err(WriteError::InvalidNode {
            path: show(path),
            reason: format!(
                "mode {:o} does not give the file type of a {}",
                node.mode,
                node.kind().name()
            ),
        });
    }
    Ok(())
}
