//! Planning a patch: the edited tree, the new blob of only the chunks the image lacks, the
//! new bootstrap, and what the written image must show.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::Path;

use nyscan_blob::write::{BlobFormat, BlobLayout, BlobWriter};
use nyscan_rafs::write::{NodeId, Tree, write_bootstrap};
use nyscan_rafs::{BlobInfo, Bootstrap, Chunk, ChunkFlags, FileKind, FormatVersion};
use sha2::{Digest as _, Sha256};

use crate::edit::{Content, Outcome, apply, check_all, local_file};
use crate::error::{OpErrors, PatchError, Result};
use crate::ops::Op;

/// One applied operation, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `replace`, `add`, `delete`, or `mkdir` (a parent directory an --add created).
    pub op: &'static str,
    /// The image path.
    pub path: String,
    /// Content bytes written at the path (0 for delete and mkdir).
    pub bytes: u64,
    /// Chunks of that content stored in the new blob.
    pub new_chunks: u32,
    /// Chunks of that content the image (or the new blob, earlier) already had.
    pub deduped_chunks: u32,
    /// Bytes those new chunks take in the blob (compressed).
    pub stored_bytes: u64,
    /// Entries removed (a directory counts everything below it).
    pub removed: usize,
}

/// What a changed path must look like in the written image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expected {
    /// Nothing at the path.
    Absent,
    /// An entry of this kind and these attributes.
    Entry {
        kind: FileKind,
        perms: u32,
        uid: u32,
        gid: u32,
        /// Size and sha256 of a regular file whose content the patch wrote.
        content: Option<(u64, [u8; 32])>,
    },
}

/// The new data blob, in a temporary file until it is published.
#[derive(Debug)]
pub struct NewBlob {
    /// The file holding it (deleted when dropped).
    pub file: tempfile::TempPath,
    /// Its blob-table entry.
    pub info: BlobInfo,
}

/// A validated, applied patch, ready to publish.
#[derive(Debug)]
pub struct Plan {
    /// The new bootstrap.
    pub bootstrap: Vec<u8>,
    /// The format version (unchanged from the source).
    pub version: FormatVersion,
    /// The new data blob, when some content was not in the image yet.
    pub new_blob: Option<NewBlob>,
    /// Every operation applied, in order.
    pub changes: Vec<Change>,
    pub(crate) expected: Vec<(String, Expected)>,
}

/// A reader that hashes what it gives.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Chunks already in the image, by digest and size.
fn chunk_index(tree: &Tree) -> HashMap<([u8; 32], u32), Chunk> {
    let mut known = HashMap::new();
    for (_, id) in tree.walk() {
        if let Some(node) = tree.node(id) {
            for c in node.chunks() {
                known.entry((c.digest, c.uncompressed_size)).or_insert(*c);
            }
        }
    }
    known
}

/// The blob format of new content: the image's compressor, digester and chunk size, the
/// layout of its blobs, and CRCs where its chunks have them.
fn blob_format(tree: &Tree, known: &HashMap<([u8; 32], u32), Chunk>) -> BlobFormat {
    let s = &tree.settings;
    let layout = match tree.blobs.first() {
        Some(b) => BlobLayout::like(b),
        None if s.version == FormatVersion::V5 => BlobLayout::Plain,
        None => BlobLayout::Meta,
    };
    let crc32 = known.is_empty()
        || known
            .values()
            .any(|c| c.flags.contains(ChunkFlags::HAS_CRC32));
    BlobFormat {
        layout,
        compressor: s.compressor,
        digester: s.digester,
        chunk_size: s.chunk_size,
        crc32,
    }
}

/// Validates every operation against the source bootstrap (all refusals are reported
/// together, before anything is written), then applies them: content is cut into chunks,
/// chunks the image already has are referenced, the others go to one new blob written in
/// `work_dir`; the new bootstrap is written.
pub fn plan(source_bootstrap: &[u8], ops: &[Op], force: bool, work_dir: &Path) -> Result<Plan> {
    if ops.is_empty() {
        return Err(PatchError::NoOps);
    }
    let boot = Bootstrap::parse(source_bootstrap).map_err(PatchError::Bootstrap)?;
    let mut tree = Tree::from_bootstrap(&boot).map_err(PatchError::Tree)?;
    let refused = check_all(&tree, ops, force);
    if !refused.is_empty() {
        return Err(PatchError::Refused(OpErrors(refused)));
    }
    let known = chunk_index(&tree);
    let format = blob_format(&tree, &known);
    let tmp = tempfile::Builder::new()
        .prefix(".nyscan-blob-")
        .tempfile_in(work_dir)
        .map_err(|source| PatchError::Io {
            what: "cannot create a temporary blob file in",
            path: work_dir.to_owned(),
            source,
        })?;
    let (file, tmp_path) = tmp.into_parts();
    let blob_index = tree.blobs.len() as u32;
    let mut writer =
        BlobWriter::new(BufWriter::new(file), format, blob_index).map_err(PatchError::Blob)?;
    let lookup = |d: &[u8; 32], size: u32| known.get(&(*d, size)).copied();

    let mut changes = Vec::new();
    let mut written: HashMap<NodeId, (u64, [u8; 32])> = HashMap::new();
    let mut touched: Vec<String> = Vec::new();
    for op in ops {
        let mut change = Change {
            op: op.kind.name(),
            path: op.path.clone(),
            bytes: 0,
            new_chunks: 0,
            deduped_chunks: 0,
            stored_bytes: 0,
            removed: 0,
        };
        let mut local_attrs = None;
        let mut content = Content::default();
        let mut digest = None;
        if let Some(local) = op.kind.local() {
            let attrs =
                local_file(op, local).map_err(|e| PatchError::Refused(OpErrors(vec![e])))?;
            let io = |source| PatchError::Io {
                what: "cannot read",
                path: local.to_owned(),
                source,
            };
            let mut reader = Hashing {
                inner: File::open(local).map_err(io)?,
                hash: Sha256::new(),
            };
            let chunks = writer.add_file(&mut reader, &lookup).map_err(|e| match e {
                nyscan_blob::write::BlobWriteError::Read { source, .. } => io(source),
                e => PatchError::Blob(e),
            })?;
            change.bytes = chunks.size;
            change.new_chunks = chunks.new_chunks;
            change.deduped_chunks = chunks.deduped_chunks;
            change.stored_bytes = chunks.stored_bytes;
            digest = Some((chunks.size, reader.hash.finalize().into()));
            content = Content {
                size: chunks.size,
                chunks: chunks.chunks,
            };
            local_attrs = Some(attrs);
        }
        let mut created = Vec::new();
        let outcome = apply(&mut tree, op, force, local_attrs, content, &mut created)
            .map_err(|e| PatchError::Refused(OpErrors(vec![e])))?;
        for dir in created {
            touched.push(dir.clone());
            changes.push(Change {
                op: "mkdir",
                path: dir,
                bytes: 0,
                new_chunks: 0,
                deduped_chunks: 0,
                stored_bytes: 0,
                removed: 0,
            });
        }
        match outcome {
            Outcome::Removed { entries } => change.removed = entries,
            Outcome::File { .. } => {
                if let (Some(id), Some(d)) = (
                    tree.lookup(op.path.as_bytes()).map_err(PatchError::Tree)?,
                    digest,
                ) {
                    written.insert(id, d);
                }
            }
        }
        touched.push(op.path.clone());
        changes.push(change);
    }

    let new_blob = if writer.chunk_count() > 0 {
        let blob = writer.finish().map_err(PatchError::Blob)?;
        blob.out
            .into_inner()
            .map_err(|e| PatchError::Io {
                what: "cannot write",
                path: tmp_path.to_path_buf(),
                source: e.into_error(),
            })?
            .sync_all()
            .map_err(|source| PatchError::Io {
                what: "cannot write",
                path: tmp_path.to_path_buf(),
                source,
            })?;
        let index = tree.add_blob(blob.info.clone()).map_err(PatchError::Tree)?;
        debug_assert_eq!(index, blob_index);
        Some(NewBlob {
            file: tmp_path,
            info: blob.info,
        })
    } else {
        None
    };
    let bootstrap = write_bootstrap(&tree).map_err(PatchError::Tree)?;
    let expected = expectations(&tree, touched, &written);
    Ok(Plan {
        bootstrap,
        version: tree.settings.version,
        new_blob,
        changes,
        expected,
    })
}

/// What each touched path must look like: taken from the final tree, so that later
/// operations (a delete of a parent, a replace through another hardlink) are accounted for.
fn expectations(
    tree: &Tree,
    mut touched: Vec<String>,
    written: &HashMap<NodeId, (u64, [u8; 32])>,
) -> Vec<(String, Expected)> {
    touched.sort();
    touched.dedup();
    let mut out = Vec::with_capacity(touched.len());
    for path in touched {
        // A parent that is gone or is no longer a directory means the path is gone too.
        let found = tree.lookup(path.as_bytes()).ok().flatten();
        let expected = match found.and_then(|id| tree.node(id).map(|n| (id, n))) {
            None => Expected::Absent,
            Some((id, node)) => Expected::Entry {
                kind: node.kind(),
                perms: node.mode & 0o7777,
                uid: node.uid,
                gid: node.gid,
                content: written.get(&id).copied(),
            },
        };
        out.push((path, expected));
    }
    out
}
