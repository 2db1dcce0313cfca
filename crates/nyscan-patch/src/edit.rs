//! Applying operations to the image's tree: the structural checks (run on a copy first, so
//! every refused operation is reported before anything is written) and the edits.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nyscan_rafs::write::{Node, Tree, WriteError};
use nyscan_rafs::{Chunk, FileKind, Timestamp};

use crate::error::OpError;
use crate::ops::{Op, OpKind};

/// A local file's content as the tree records it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Content {
    pub(crate) size: u64,
    pub(crate) chunks: Vec<Chunk>,
}

/// What a local file is, read before any content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalFile {
    pub(crate) perms: u32,
    pub(crate) mtime: Timestamp,
}

/// Checks that `local` is a readable regular file and returns its attributes.
pub(crate) fn local_file(op: &Op, local: &Path) -> Result<LocalFile, OpError> {
    let refuse = |reason: String| OpError::Local {
        origin: op.origin.clone(),
        local: local.to_owned(),
        reason,
    };
    let meta = std::fs::metadata(local).map_err(|e| refuse(e.to_string()))?;
    if !meta.is_file() {
        return Err(refuse("not a regular file".to_owned()));
    }
    std::fs::File::open(local).map_err(|e| refuse(format!("cannot open it: {e}")))?;
    Ok(LocalFile {
        perms: meta.mode() & 0o7777,
        mtime: Timestamp {
            secs: meta.mtime().max(0) as u64,
            nsecs: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
        },
    })
}

/// What an applied operation left in the tree, for the report and the verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The path now names a regular file with these attributes.
    File {
        /// Permission bits.
        perms: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// The path is gone; `entries` entries were removed (more for a directory).
    Removed {
        /// Entries removed.
        entries: usize,
    },
}

/// Applies one operation. `content` is the new file content (for --replace and --add);
/// `created` receives the parent directories --add created.
pub(crate) fn apply(
    tree: &mut Tree,
    op: &Op,
    force: bool,
    local: Option<LocalFile>,
    content: Content,
    created: &mut Vec<String>,
) -> Result<Outcome, OpError> {
    let refuse = |reason: String| OpError::Image {
        origin: op.origin.clone(),
        op: op.kind.name(),
        path: op.path.clone(),
        reason,
    };
    let from_tree = |e: WriteError| refuse(e.to_string());
    let path = op.path.as_bytes();
    match &op.kind {
        OpKind::Delete => {
            let entries = tree.remove(path).map_err(|e| match e {
                WriteError::NotFound { .. } => refuse("no such path in the image".to_owned()),
                e => from_tree(e),
            })?;
            Ok(Outcome::Removed { entries })
        }
        OpKind::Replace { .. } | OpKind::Add { .. } => {
            let local = local.ok_or_else(|| refuse("no local file".to_owned()))?;
            let is_add = matches!(op.kind, OpKind::Add { .. });
            if is_add {
                make_parents(tree, op, local.mtime, created)?;
            }
            let existing = tree.lookup(path).map_err(from_tree)?;
            let kind = existing.and_then(|id| tree.node(id)).map(Node::kind);
            match (kind, is_add) {
                (None, false) => {
                    return Err(refuse(
                        "no such file in the image (--add creates files)".to_owned(),
                    ));
                }
                (Some(FileKind::Directory), _) if !force => {
                    return Err(refuse(
                        "is a directory in the image; replacing a directory with a file needs --force"
                            .to_owned(),
                    ));
                }
                (Some(FileKind::Regular), true) if !force => {
                    return Err(refuse(
                        "exists in the image (use --replace, or --force)".to_owned(),
                    ));
                }
                (Some(k), _) if k != FileKind::Regular && k != FileKind::Directory && !force => {
                    return Err(refuse(format!(
                        "is a {} in the image, not a regular file; replacing it needs --force",
                        k.name()
                    )));
                }
                _ => {}
            }
            if let (Some(id), Some(FileKind::Regular), false) = (existing, kind, is_add) {
                // A content replacement: the inode (and every hardlink of it) keeps its
                // attributes unless asked otherwise.
                tree.replace_file_content(path, content.size, content.chunks)
                    .map_err(from_tree)?;
                let node = tree
                    .node_mut(id)
                    .ok_or_else(|| refuse("vanished".to_owned()))?;
                if let Some(mode) = op.mode {
                    node.mode = (node.mode & !0o7777) | mode;
                }
                if let Some(owner) = op.owner {
                    node.uid = owner.uid;
                    node.gid = owner.gid;
                }
                node.mtime = Some(local.mtime);
                return Ok(Outcome::File {
                    perms: node.mode & 0o7777,
                    uid: node.uid,
                    gid: node.gid,
                });
            }
            if kind == Some(FileKind::Directory) {
                tree.remove(path).map_err(from_tree)?;
            }
            let perms = op.mode.unwrap_or(local.perms);
            let (uid, gid) = op.owner.map_or((0, 0), |o| (o.uid, o.gid));
            let mut node = Node::regular(content.size, content.chunks, perms, uid, gid);
            node.mtime = Some(local.mtime);
            tree.insert(path, node).map_err(from_tree)?;
            Ok(Outcome::File { perms, uid, gid })
        }
    }
}

/// Creates the missing parent directories of an --add's path (mode 0755, root-owned).
fn make_parents(
    tree: &mut Tree,
    op: &Op,
    mtime: Timestamp,
    created: &mut Vec<String>,
) -> Result<(), OpError> {
    let refuse = |reason: String| OpError::Image {
        origin: op.origin.clone(),
        op: op.kind.name(),
        path: op.path.clone(),
        reason,
    };
    let mut prefix = String::new();
    let parts: Vec<&str> = op.path.split('/').filter(|p| !p.is_empty()).collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        prefix.push('/');
        prefix.push_str(part);
        let found = tree
            .lookup(prefix.as_bytes())
            .map_err(|e| refuse(e.to_string()))?;
        match found.and_then(|id| tree.node(id)).map(Node::kind) {
            Some(FileKind::Directory) => {}
            Some(k) => {
                return Err(refuse(format!(
                    "{prefix} is a {} in the image, not a directory",
                    k.name()
                )));
            }
            None => {
                let mut dir = Node::directory(0o755, 0, 0);
                dir.mtime = Some(mtime);
                tree.insert(prefix.as_bytes(), dir)
                    .map_err(|e| refuse(e.to_string()))?;
                created.push(prefix.clone());
            }
        }
    }
    Ok(())
}

/// Runs every operation on a copy of `tree` with empty content and returns all refusals:
/// unknown paths, directories in the way, missing or unreadable local files.
pub(crate) fn check_all(tree: &Tree, ops: &[Op], force: bool) -> Vec<OpError> {
    let mut scratch = tree.clone();
    let mut errors = Vec::new();
    let mut created = Vec::new();
    for op in ops {
        let local = match op.kind.local() {
            Some(path) => match local_file(op, path) {
                Ok(l) => Some(l),
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
            None => None,
        };
        if let Err(e) = apply(
            &mut scratch,
            op,
            force,
            local,
            Content::default(),
            &mut created,
        ) {
            errors.push(e);
        }
    }
    errors
}
