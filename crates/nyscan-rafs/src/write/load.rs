//! Reading a tree from a bootstrap: every entry, attribute, xattr and chunk the reader
//! exposes, hardlinks as shared inodes, the prefetch table as paths.

use std::collections::{BTreeMap, HashMap};

use crate::bootstrap::{Bootstrap, Inode};
use crate::model::{FileKind, Ino};

use super::error::WriteResult;
use super::node::{Node, NodeData, NodeId};
use super::settings::Settings;
use super::tree::Tree;

impl Tree {
    /// Everything `boot` holds: settings, blob table, every entry with its attributes,
    /// xattrs, symlink target, device number and chunk records, hardlinks as shared inodes,
    /// and the prefetch table as paths.
    pub fn from_bootstrap(boot: &Bootstrap<'_>) -> WriteResult<Tree> {
        let sb = boot.superblock();
        let settings = Settings {
            version: sb.version,
            compressor: sb.compressor,
            digester: sb.digester,
            chunk_size: sb.chunk_size,
            explicit_uid_gid: sb.explicit_uid_gid,
            flags: sb.flags,
            build_time: sb.build_time,
        };
        let mut tree = Tree::empty(settings, boot.blobs().to_vec());
        let mut by_ino: HashMap<Ino, NodeId> = HashMap::new();
        let mut dirs: HashMap<Vec<u8>, NodeId> = HashMap::new();
        for entry in boot.walk() {
            let entry = entry?;
            let inode = entry.inode;
            if entry.depth == 0 {
                let root = tree.push(node_of(&inode)?);
                tree.set_root(root);
                dirs.insert(entry.path, root);
                continue;
            }
            let cut = entry
                .path
                .iter()
                .rposition(|&b| b == b'/')
                .expect("walk paths are absolute");
            let (parent_path, name) = (&entry.path[..cut.max(1)], &entry.path[cut + 1..]);
            let parent = *dirs
                .get(parent_path)
                .expect("the walk yields a directory before its entries");
            let id = match (inode.kind(), by_ino.get(&inode.ino())) {
                (kind, Some(&id)) if kind != FileKind::Directory => {
                    tree.slot_mut(id).links += 1;
                    id
                }
                _ => {
                    let id = tree.push(node_of(&inode)?);
                    by_ino.insert(inode.ino(), id);
                    id
                }
            };
            if inode.kind() == FileKind::Directory {
                dirs.insert(entry.path.clone(), id);
            }
            if let NodeData::Directory { entries } = &mut tree.slot_mut(parent).node.data {
                entries.insert(name.to_vec(), id);
            }
        }
        for ino in boot.prefetch()? {
            if let Some(path) = boot.paths(ino)?.into_iter().next() {
                tree.prefetch.push(path);
            }
        }
        Ok(tree)
    }
}

/// A tree node from a reader inode (directory entries are filled by the caller).
fn node_of(inode: &Inode<'_>) -> WriteResult<Node> {
    let data = match inode.kind() {
        FileKind::Directory => NodeData::Directory {
            entries: BTreeMap::new(),
        },
        FileKind::Regular => NodeData::Regular {
            size: inode.size(),
            chunks: inode.chunks().collect::<crate::Result<Vec<_>>>()?,
        },
        FileKind::Symlink => NodeData::Symlink {
            target: inode.symlink_target()?.to_vec(),
        },
        FileKind::CharDevice => NodeData::CharDevice { rdev: inode.rdev() },
        FileKind::BlockDevice => NodeData::BlockDevice { rdev: inode.rdev() },
        FileKind::Fifo => NodeData::Fifo,
        FileKind::Socket => NodeData::Socket,
    };
    let xattrs = inode
        .xattrs()
        .map(|x| x.map(|x| (x.name(), x.value().to_vec())))
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(Node {
        mode: inode.mode(),
        uid: inode.uid(),
        gid: inode.gid(),
        mtime: inode.mtime(),
        xattrs,
        data,
    })
}
