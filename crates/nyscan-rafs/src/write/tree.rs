//! The in-memory filesystem tree a bootstrap is written from: inodes in an arena, directories
//! mapping names to inodes (hardlinks are several names of one inode), the blob table, the
//! superblock settings and the prefetch list.
//!
//! [`Tree::from_bootstrap`] reads everything the reader exposes; the editing helpers
//! ([`Tree::insert`], [`Tree::link`], [`Tree::remove`], [`Tree::replace_file_content`],
//! [`Tree::add_blob`]...) keep the links and the prefetch list consistent; link counts are
//! computed when written ([`Tree::nlink`]); [`super::write_bootstrap`] turns the tree back
//! into bytes.

use std::collections::{BTreeMap, HashMap};

use crate::model::{BlobInfo, Chunk, FileKind, FormatVersion, Timestamp};

use super::error::{WriteError, WriteResult, show};
use super::node::check_mode;
use super::path::{components, join, path_of};

pub use super::node::{Node, NodeData, NodeId, kind_mode_bits};
pub use super::settings::Settings;

/// Longest name of a directory entry, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Most blobs one bootstrap can name (v6 chunk addresses keep `blob index + 1` in a byte).
pub const MAX_BLOBS: usize = 255;

/// A whole image's metadata, editable, ready to be written as a bootstrap.
#[derive(Clone, Debug)]
pub struct Tree {
    /// Superblock settings.
    pub settings: Settings,
    /// The blob table; chunks name blobs by position. Each entry's `index` is rewritten to
    /// its position on write.
    pub blobs: Vec<BlobInfo>,
    /// Absolute paths whose data should be fetched first (a directory: all below it), in
    /// table order. Paths that name nothing when written are dropped.
    pub prefetch: Vec<Vec<u8>>,
    nodes: Vec<Option<Slot>>,
    root: NodeId,
}

/// An inode and the number of directory entries naming it.
#[derive(Clone, Debug)]
pub(super) struct Slot {
    pub(super) node: Node,
    pub(super) links: u32,
}

impl Tree {
    /// A tree holding only an empty root directory (mode `0o755`, owned by root).
    pub fn new(settings: Settings) -> Tree {
        let mtime =
            (settings.version == FormatVersion::V5).then_some(Timestamp { secs: 0, nsecs: 0 });
        let mut root = Node::directory(0o755, 0, 0);
        root.mtime = mtime;
        Tree {
            settings,
            blobs: Vec::new(),
            prefetch: Vec::new(),
            nodes: vec![Some(Slot {
                node: root,
                links: 1,
            })],
            root: NodeId(0),
        }
    }

    /// A tree with no inodes yet (the caller pushes the root first).
    pub(super) fn empty(settings: Settings, blobs: Vec<BlobInfo>) -> Tree {
        Tree {
            settings,
            blobs,
            prefetch: Vec::new(),
            nodes: Vec::new(),
            root: NodeId(0),
        }
    }

    pub(super) fn set_root(&mut self, root: NodeId) {
        self.root = root;
    }

    /// Adds an inode with one link.
    pub(super) fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(Some(Slot { node, links: 1 }));
        NodeId(self.nodes.len() - 1)
    }

    /// The live inode `id` and its link count.
    pub(super) fn slot_mut(&mut self, id: NodeId) -> &mut Slot {
        self.nodes[id.0].as_mut().expect("live node")
    }

    /// The format version written.
    pub fn version(&self) -> FormatVersion {
        self.settings.version
    }

    /// The root directory.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// The inode `id` (`None` once its last link is removed).
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)?.as_ref().map(|s| &s.node)
    }

    /// The inode `id`, to edit its attributes or content (all its links see the change).
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.nodes.get_mut(id.0)?.as_mut().map(|s| &mut s.node)
    }

    /// Number of directory entries naming `id` (0 for a removed node; 1 for the root).
    pub fn links(&self, id: NodeId) -> u32 {
        self.nodes
            .get(id.0)
            .and_then(Option::as_ref)
            .map_or(0, |s| s.links)
    }

    /// The link count written for `id`, computed as the official builder does: a
    /// directory's is 2 plus its sub-directories, another inode's the number of entries
    /// naming it.
    pub fn nlink(&self, id: NodeId) -> u32 {
        match self.node(id) {
            None => 0,
            Some(node) => match node.entries() {
                Some(entries) => {
                    let subdirs = entries
                        .values()
                        .filter(|&&c| {
                            self.node(c)
                                .is_some_and(|n| n.kind() == FileKind::Directory)
                        })
                        .count();
                    2u32.saturating_add(subdirs as u32)
                }
                None => self.links(id),
            },
        }
    }

    /// Resolves an absolute or root-relative path (`.` and repeated `/` are skipped).
    /// `Ok(None)` when the last component is missing; errors for `..` anywhere, invalid
    /// names, a missing directory on the way or one that is not a directory.
    pub fn lookup(&self, path: &[u8]) -> WriteResult<Option<NodeId>> {
        let parts = components(path)?;
        let mut id = self.root;
        for (i, part) in parts.iter().enumerate() {
            let node = self.node(id).ok_or_else(|| WriteError::InvalidNode {
                path: show(&path_of(&parts[..i])),
                reason: "the entry names a removed inode".into(),
            })?;
            let Some(entries) = node.entries() else {
                return Err(WriteError::NotADirectory {
                    path: show(&path_of(&parts[..i])),
                });
            };
            match entries.get(*part) {
                Some(&child) => id = child,
                None if i + 1 == parts.len() => return Ok(None),
                None => {
                    return Err(WriteError::NotFound {
                        path: show(&path_of(&parts[..=i])),
                    });
                }
            }
        }
        Ok(Some(id))
    }

    /// Every entry, depth-first in name order, the root first (path `/`); a hardlinked
    /// inode appears once per link. A directory met again (a cycle made by editing entries
    /// by hand) is listed but not entered twice.
    pub fn walk(&self) -> Vec<(Vec<u8>, NodeId)> {
        let mut out = Vec::new();
        let mut entered = std::collections::HashSet::new();
        let mut stack = vec![(b"/".to_vec(), self.root)];
        while let Some((path, id)) = stack.pop() {
            if let Some(entries) = self.node(id).and_then(Node::entries)
                && entered.insert(id)
            {
                for (name, &child) in entries.iter().rev() {
                    stack.push((join(&path, name), child));
                }
            }
            out.push((path, id));
        }
        out
    }

    /// Every path naming `id`, sorted (walks the whole tree).
    pub fn paths_of(&self, id: NodeId) -> Vec<Vec<u8>> {
        let mut paths: Vec<Vec<u8>> = self
            .walk()
            .into_iter()
            .filter(|(_, n)| *n == id)
            .map(|(p, _)| p)
            .collect();
        paths.sort();
        paths
    }

    /// The parent directory of `path` and the entry name, the parent required to exist.
    fn parent_of<'p>(&self, path: &'p [u8]) -> WriteResult<(NodeId, &'p [u8])> {
        let parts = components(path)?;
        let Some((&name, dirs)) = parts.split_last() else {
            return Err(WriteError::InvalidPath {
                path: show(path),
                reason: "the root cannot be an entry",
            });
        };
        let dir_path = path_of(dirs);
        let dir = self
            .lookup(&dir_path)?
            .ok_or_else(|| WriteError::NotFound {
                path: show(&dir_path),
            })?;
        if self.node(dir).and_then(Node::entries).is_none() {
            return Err(WriteError::NotADirectory {
                path: show(&dir_path),
            });
        }
        Ok((dir, name))
    }

    fn entries_mut(&mut self, dir: NodeId) -> &mut BTreeMap<Vec<u8>, NodeId> {
        match &mut self.slot_mut(dir).node.data {
            NodeData::Directory { entries } => entries,
            _ => unreachable!("checked to be a directory"),
        }
    }

    /// Adds `node` at `path`, whose parent directory must exist, and returns its id.
    ///
    /// An existing non-directory at `path` is replaced (unlinked: its other hardlinks keep
    /// it). An existing directory is refused ([`WriteError::IsADirectory`]): [`Tree::remove`]
    /// it first. A directory `node` must be empty.
    pub fn insert(&mut self, path: &[u8], node: Node) -> WriteResult<NodeId> {
        let (dir, name) = self.parent_of(path)?;
        if node.entries().is_some_and(|e| !e.is_empty()) {
            return Err(WriteError::InvalidNode {
                path: show(path),
                reason: "a directory inserted must be empty".into(),
            });
        }
        check_mode(path, &node)?;
        if let Some(&old) = self
            .node(dir)
            .and_then(Node::entries)
            .and_then(|e| e.get(name))
        {
            if self
                .node(old)
                .is_some_and(|n| n.kind() == FileKind::Directory)
            {
                return Err(WriteError::IsADirectory {
                    path: show(path),
                    reason: "refusing to replace a directory",
                });
            }
            self.entries_mut(dir).remove(name);
            self.unlink(old);
        }
        let id = self.push(node);
        self.entries_mut(dir).insert(name.to_vec(), id);
        Ok(id)
    }

    /// Adds `path` as one more hardlink to the non-directory `target`; `path` must not exist.
    pub fn link(&mut self, path: &[u8], target: NodeId) -> WriteResult<()> {
        let (dir, name) = self.parent_of(path)?;
        match self.node(target) {
            None => {
                return Err(WriteError::InvalidNode {
                    path: show(path),
                    reason: "the link target was removed".into(),
                });
            }
            Some(n) if n.kind() == FileKind::Directory => {
                return Err(WriteError::IsADirectory {
                    path: show(path),
                    reason: "directories cannot be hardlinked",
                });
            }
            Some(_) => {}
        }
        if self
            .node(dir)
            .and_then(Node::entries)
            .is_some_and(|e| e.contains_key(name))
        {
            return Err(WriteError::InvalidPath {
                path: show(path),
                reason: "the path exists",
            });
        }
        self.entries_mut(dir).insert(name.to_vec(), target);
        self.slot_mut(target).links += 1;
        Ok(())
    }

    /// Removes the entry at `path` and, for a directory, everything below it. Inodes keep
    /// living while another link names them; prefetch paths at or below `path` are dropped.
    /// Returns the number of entries removed.
    pub fn remove(&mut self, path: &[u8]) -> WriteResult<usize> {
        let (dir, name) = self.parent_of(path)?;
        let Some(id) = self.entries_mut(dir).remove(name) else {
            return Err(WriteError::NotFound { path: show(path) });
        };
        let removed = self.unlink(id);
        let gone = path_of(&components(path)?);
        self.prefetch.retain(|p| {
            let p = path_of(&components(p).unwrap_or_default());
            !(p == gone || (p.starts_with(&gone) && p.get(gone.len()) == Some(&b'/')))
        });
        Ok(removed)
    }

    /// Drops one link to `id` (already taken out of its directory); frees it and, for a
    /// directory, unlinks its entries when none is left. Returns the entries removed.
    fn unlink(&mut self, id: NodeId) -> usize {
        let mut removed = 0;
        let mut pending = vec![id];
        while let Some(id) = pending.pop() {
            removed += 1;
            // An entry naming a removed inode (entries edited by hand) has nothing to drop.
            let Some(slot) = self.nodes.get_mut(id.0).and_then(Option::as_mut) else {
                continue;
            };
            slot.links = slot.links.saturating_sub(1);
            if slot.links > 0 {
                continue;
            }
            if let Some(Slot {
                node:
                    Node {
                        data: NodeData::Directory { entries },
                        ..
                    },
                ..
            }) = self.nodes[id.0].take()
            {
                pending.extend(entries.into_values());
            }
        }
        removed
    }

    /// Gives the regular file at `path` new content: `size` bytes held by `chunks`. The
    /// inode keeps its attributes and xattrs, and every hardlink of it sees the new content.
    pub fn replace_file_content(
        &mut self,
        path: &[u8],
        size: u64,
        chunks: Vec<Chunk>,
    ) -> WriteResult<NodeId> {
        let id = self
            .lookup(path)?
            .ok_or_else(|| WriteError::NotFound { path: show(path) })?;
        let node = self.node_mut(id).ok_or_else(|| WriteError::InvalidNode {
            path: show(path),
            reason: "the entry names a removed inode".into(),
        })?;
        match &mut node.data {
            NodeData::Regular {
                size: old_size,
                chunks: old_chunks,
            } => {
                *old_size = size;
                *old_chunks = chunks;
                Ok(id)
            }
            NodeData::Directory { .. } => Err(WriteError::IsADirectory {
                path: show(path),
                reason: "only a regular file's content can be replaced",
            }),
            _ => Err(WriteError::InvalidNode {
                path: show(path),
                reason: "not a regular file".into(),
            }),
        }
    }

    /// Appends `blob` to the blob table and returns its index (also set in its `index`).
    /// Refuses a blob id already in the table and a table past [`MAX_BLOBS`].
    ///
    /// What the writer then requires: v5 ids are printable ASCII; v6 ids are 64 hex
    /// characters (the sha256 of the blob file), the blob's `chunk_size` equals the image's,
    /// its features include `ALIGNED`, and `meta` gives its compression-info location.
    pub fn add_blob(&mut self, mut blob: BlobInfo) -> WriteResult<u32> {
        let index = self.blobs.len();
        if self.find_blob(&blob.id).is_some() {
            return Err(WriteError::InvalidBlob {
                index,
                id: blob.id,
                reason: "the blob table already has this id",
            });
        }
        if index >= MAX_BLOBS {
            return Err(WriteError::TooLarge {
                version: self.settings.version.number(),
                what: "the blob table",
                value: index as u64 + 1,
                limit: MAX_BLOBS as u64,
            });
        }
        blob.index = index as u32;
        self.blobs.push(blob);
        Ok(index as u32)
    }

    /// Creates the directories of `path` that are missing (like `mkdir -p`), each with
    /// `perms`, owner `uid:gid` and `mtime`, and returns the last one. Existing directories
    /// are kept as they are; a component that exists and is not a directory is refused.
    pub fn create_dir_all(
        &mut self,
        path: &[u8],
        perms: u32,
        uid: u32,
        gid: u32,
        mtime: Option<Timestamp>,
    ) -> WriteResult<NodeId> {
        let parts = components(path)?;
        let mut dir = self.root;
        for i in 0..parts.len() {
            let here = path_of(&parts[..=i]);
            dir = match self.lookup(&here)? {
                Some(id) if self.node(id).is_some_and(|n| n.entries().is_some()) => id,
                Some(_) => return Err(WriteError::NotADirectory { path: show(&here) }),
                None => {
                    let mut node = Node::directory(perms, uid, gid);
                    node.mtime = mtime;
                    self.insert(&here, node)?
                }
            };
        }
        Ok(dir)
    }

    /// One chunk record per chunk digest among all files of the tree (the first met in a
    /// depth-first walk): what an image already holds, to deduplicate new content against.
    pub fn chunks_by_digest(&self) -> HashMap<[u8; 32], Chunk> {
        let mut out = HashMap::new();
        for (_, id) in self.walk() {
            if let Some(node) = self.node(id) {
                for c in node.chunks() {
                    out.entry(c.digest).or_insert(*c);
                }
            }
        }
        out
    }

    /// The index of the blob with id `id`.
    pub fn find_blob(&self, id: &str) -> Option<u32> {
        self.blobs.iter().position(|b| b.id == id).map(|i| i as u32)
    }
}
