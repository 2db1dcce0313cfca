//! The unified read API over both format versions.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::detect::BootstrapKind;
use crate::error::{Error, Result};
use crate::model::{
    BlobInfo, Chunk, DirEntry, FileKind, FormatVersion, Ino, Superblock, Timestamp, Xattr,
};
use crate::v5::{V5Bootstrap, V5Children, V5Chunks, V5Inode, V5Xattrs};
use crate::v6::{V6Bootstrap, V6Children, V6Chunks, V6Inode, V6Xattrs};

#[derive(Debug)]
enum Inner<'data> {
    V5(V5Bootstrap<'data>),
    V6(V6Bootstrap<'data>),
}

/// Where each inode is linked from: `(parent directory, name)` pairs.
type ParentIndex<'data> = HashMap<Ino, Vec<(Ino, &'data [u8])>>;

/// A RAFS bootstrap, v5 or v6, read through one API.
///
/// Parsing checks the superblock(s) and reads the blob table; inodes, directories and chunks
/// are read lazily, each read bounds-checked. The value borrows the bytes it was given.
///
/// ```no_run
/// # fn main() -> nyscan_rafs::Result<()> {
/// let bytes = std::fs::read("image.boot").unwrap();
/// let boot = nyscan_rafs::Bootstrap::parse(&bytes)?;
/// for entry in boot.walk() {
///     let entry = entry?;
///     println!("{} {}", entry.inode.kind().name(), String::from_utf8_lossy(&entry.path));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Bootstrap<'data> {
    inner: Inner<'data>,
    parents: OnceLock<std::result::Result<ParentIndex<'data>, Error>>,
}

impl<'data> Bootstrap<'data> {
    /// Parses a bootstrap, telling v5 from v6 by its magic numbers.
    pub fn parse(bytes: &'data [u8]) -> Result<Self> {
        let inner = match BootstrapKind::detect(bytes) {
            BootstrapKind::RafsV5 => Inner::V5(V5Bootstrap::parse(bytes)?),
            BootstrapKind::RafsV6 => Inner::V6(V6Bootstrap::parse(bytes)?),
            other => return Err(other.refusal()),
        };
        Ok(Bootstrap {
            inner,
            parents: OnceLock::new(),
        })
    }

    /// The format version, for display.
    pub fn version(&self) -> FormatVersion {
        self.superblock().version
    }

    /// What the superblock says.
    pub fn superblock(&self) -> &Superblock {
        match &self.inner {
            Inner::V5(b) => b.superblock(),
            Inner::V6(b) => b.superblock(),
        }
    }

    /// The bytes the bootstrap was parsed from.
    pub fn bytes(&self) -> &'data [u8] {
        match &self.inner {
            Inner::V5(b) => b.bytes(),
            Inner::V6(b) => b.bytes(),
        }
    }

    /// The data blobs, in blob-index order.
    pub fn blobs(&self) -> &[BlobInfo] {
        match &self.inner {
            Inner::V5(b) => b.blobs(),
            Inner::V6(b) => b.blobs(),
        }
    }

    /// The root directory.
    pub fn root(&self) -> Result<Inode<'_>> {
        Ok(Inode {
            inner: match &self.inner {
                Inner::V5(b) => InodeInner::V5(b, b.root()?),
                Inner::V6(b) => InodeInner::V6(b, b.root()?),
            },
        })
    }

    /// The inode with number `ino`.
    pub fn inode(&self, ino: Ino) -> Result<Inode<'_>> {
        Ok(Inode {
            inner: match &self.inner {
                Inner::V5(b) => InodeInner::V5(b, b.inode(ino)?),
                Inner::V6(b) => InodeInner::V6(b, b.inode(ino)?),
            },
        })
    }

    /// Resolves an absolute or root-relative path (`/a/b`, `a/b`); `.` and `..` are followed,
    /// symlinks are not. `None` when a component is missing or not a directory.
    pub fn lookup(&self, path: &[u8]) -> Result<Option<Inode<'_>>> {
        let mut stack = vec![self.root()?];
        for part in path.split(|&b| b == b'/') {
            match part {
                b"" | b"." => continue,
                b".." => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                }
                name => {
                    let dir = stack.last().expect("root stays on the stack");
                    let Some(entry) = dir.lookup(name)? else {
                        return Ok(None);
                    };
                    stack.push(self.inode(entry.ino())?);
                }
            }
        }
        Ok(stack.pop())
    }

    /// Every entry of the tree, depth-first in name order, the root first (path `/`).
    /// Stops after the first error; a directory met twice is a [`Error::DirectoryCycle`].
    pub fn walk(&self) -> Walk<'_, 'data> {
        Walk {
            bootstrap: self,
            stack: Vec::new(),
            seen_dirs: HashSet::new(),
            started: false,
            failed: false,
        }
    }

    /// The prefetch table: inode numbers whose data should be fetched first (a directory
    /// means everything below it).
    pub fn prefetch(&self) -> Result<Vec<Ino>> {
        match &self.inner {
            Inner::V5(b) => b.prefetch(),
            Inner::V6(b) => b.prefetch(),
        }
    }

    /// Every entry of the v6 chunk table (empty for v5, whose chunks live in file inodes).
    pub fn chunk_table(&self) -> Box<dyn Iterator<Item = Chunk> + '_> {
        match &self.inner {
            Inner::V5(_) => Box::new(std::iter::empty()),
            Inner::V6(b) => Box::new(b.chunk_table()),
        }
    }

    fn parent_index(&self) -> Result<&ParentIndex<'data>> {
        let index = self.parents.get_or_init(|| {
            let mut index: ParentIndex<'data> = HashMap::new();
            let mut dirs = vec![self.superblock().root];
            let mut seen = HashSet::new();
            while let Some(dir) = dirs.pop() {
                if !seen.insert(dir) {
                    return Err(Error::DirectoryCycle { ino: dir.0 });
                }
                let inode = self.children_of(dir)?;
                for entry in inode {
                    let entry = entry?;
                    index.entry(entry.ino).or_default().push((dir, entry.name));
                    if entry.kind == FileKind::Directory {
                        dirs.push(entry.ino);
                    }
                }
            }
            Ok(index)
        });
        index.as_ref().map_err(Clone::clone)
    }

    /// Entries of directory `dir`, names borrowed for `'data` so the parent index can keep
    /// them.
    fn children_of(&self, dir: Ino) -> Result<Vec<Result<DirEntry<'data>>>> {
        Ok(match &self.inner {
            Inner::V5(b) => {
                let inode = b.inode(dir)?;
                b.children(&inode).collect()
            }
            Inner::V6(b) => {
                let inode = b.inode(dir)?;
                b.children(&inode).collect()
            }
        })
    }

    /// Where `ino` is linked from: `(parent directory, name)` for each link. The root has
    /// none. Builds an index of the whole tree on first use (O(entries) memory).
    pub fn links(&self, ino: Ino) -> Result<&[(Ino, &'data [u8])]> {
        Ok(self
            .parent_index()?
            .get(&ino)
            .map(Vec::as_slice)
            .unwrap_or(&[]))
    }

    /// Every absolute path of `ino` (several for a hardlinked file), sorted.
    pub fn paths(&self, ino: Ino) -> Result<Vec<Vec<u8>>> {
        let root = self.superblock().root;
        if ino == root {
            return Ok(vec![b"/".to_vec()]);
        }
        let index = self.parent_index()?;
        let mut out = Vec::new();
        for &(parent, name) in index.get(&ino).map(Vec::as_slice).unwrap_or(&[]) {
            let mut parts = vec![name];
            let mut dir = parent;
            let mut steps = 0usize;
            while dir != root {
                steps += 1;
                let Some(&[(up, dir_name)]) = index.get(&dir).map(Vec::as_slice) else {
                    return Err(Error::DirectoryCycle { ino: dir.0 });
                };
                if steps > index.len() {
                    return Err(Error::DirectoryCycle { ino: dir.0 });
                }
                parts.push(dir_name);
                dir = up;
            }
            let mut path = Vec::new();
            for part in parts.iter().rev() {
                path.push(b'/');
                path.extend_from_slice(part);
            }
            out.push(path);
        }
        out.sort();
        Ok(out)
    }

    /// Reads every structure the API can reach (each entry, its xattrs, symlink target and
    /// chunks, the prefetch table and the link index) and counts them: the first damage
    /// found is the error. The same ground `nydus-image check` covers.
    pub fn check(&self) -> Result<CheckSummary> {
        let mut summary = CheckSummary {
            prefetch_entries: self.prefetch()?.len(),
            ..CheckSummary::default()
        };
        for entry in self.walk() {
            let inode = entry?.inode;
            summary.entries += 1;
            for x in inode.xattrs() {
                x?;
                summary.xattrs += 1;
            }
            for c in inode.chunks() {
                c?;
                summary.chunks += 1;
            }
            inode.symlink_target()?;
        }
        let index = self.parent_index()?;
        summary.inodes = index.len() + 1;
        summary.hardlink_groups = index.values().filter(|links| links.len() > 1).count();
        Ok(summary)
    }

    /// The hardlink groups: regular files linked from more than one place, each with its
    /// paths, ordered by inode number.
    pub fn hardlink_groups(&self) -> Result<Vec<(Ino, Vec<Vec<u8>>)>> {
        let index = self.parent_index()?;
        let mut inos: Vec<Ino> = index
            .iter()
            .filter(|(_, links)| links.len() > 1)
            .map(|(ino, _)| *ino)
            .collect();
        inos.sort();
        inos.into_iter()
            .map(|ino| Ok((ino, self.paths(ino)?)))
            .collect()
    }
}

/// What [`Bootstrap::check`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckSummary {
    /// Directory entries walked, the root included.
    pub entries: usize,
    /// Distinct inodes.
    pub inodes: usize,
    /// Chunk records of all entries (a hardlinked file's chunks count per link).
    pub chunks: usize,
    /// Extended attributes of all entries.
    pub xattrs: usize,
    /// Inodes linked from more than one place.
    pub hardlink_groups: usize,
    /// Entries of the prefetch table.
    pub prefetch_entries: usize,
}

#[derive(Debug, Clone, Copy)]
enum InodeInner<'b, 'data> {
    V5(&'b V5Bootstrap<'data>, V5Inode<'data>),
    V6(&'b V6Bootstrap<'data>, V6Inode<'data>),
}

/// An inode of either version: attributes, xattrs, a directory's entries, a file's chunks.
#[derive(Debug, Clone, Copy)]
pub struct Inode<'b> {
    inner: InodeInner<'b, 'b>,
}

macro_rules! forward {
    ($self:ident, $i:ident => $e:expr) => {
        match &$self.inner {
            InodeInner::V5(_, $i) => $e,
            InodeInner::V6(_, $i) => $e,
        }
    };
}

impl<'b> Inode<'b> {
    /// The inode number (shared by hardlinks).
    pub fn ino(&self) -> Ino {
        match &self.inner {
            InodeInner::V5(_, i) => i.ino(),
            InodeInner::V6(_, i) => i.nid,
        }
    }

    /// The kind, from the mode.
    pub fn kind(&self) -> FileKind {
        forward!(self, i => i.kind)
    }

    /// Full `st_mode`: kind and permission bits.
    pub fn mode(&self) -> u32 {
        forward!(self, i => i.mode())
    }

    /// Owner uid.
    pub fn uid(&self) -> u32 {
        forward!(self, i => i.uid())
    }

    /// Owner gid.
    pub fn gid(&self) -> u32 {
        forward!(self, i => i.gid())
    }

    /// Size in bytes (a symlink: its target's length).
    pub fn size(&self) -> u64 {
        forward!(self, i => i.size())
    }

    /// Link count.
    pub fn nlink(&self) -> u32 {
        forward!(self, i => i.nlink())
    }

    /// Device number of a character or block device (Linux `new_encode_dev` form), else 0.
    pub fn rdev(&self) -> u32 {
        forward!(self, i => i.rdev())
    }

    /// 512-byte blocks.
    pub fn blocks(&self) -> u64 {
        forward!(self, i => i.blocks())
    }

    /// Modification time; `None` where the format keeps none (v6 compact inodes).
    pub fn mtime(&self) -> Option<Timestamp> {
        forward!(self, i => i.mtime())
    }

    /// The parent directory stored in the inode itself (v5 only; others use
    /// [`Bootstrap::links`]).
    pub fn stored_parent(&self) -> Option<Ino> {
        match &self.inner {
            InodeInner::V5(_, i) => Some(i.parent()),
            InodeInner::V6(..) => None,
        }
    }

    /// Offset of the inode in the bootstrap.
    pub fn offset(&self) -> u64 {
        forward!(self, i => i.offset)
    }

    /// The target of a symlink (empty for other kinds).
    pub fn symlink_target(&self) -> Result<&'b [u8]> {
        match &self.inner {
            InodeInner::V5(_, i) => Ok(i.symlink_target()),
            InodeInner::V6(_, i) => i.symlink_target(),
        }
    }

    /// Extended attributes, in stored order.
    pub fn xattrs(&self) -> Xattrs<'b> {
        Xattrs {
            inner: match &self.inner {
                InodeInner::V5(_, i) => XattrsInner::V5(i.xattrs()),
                InodeInner::V6(_, i) => XattrsInner::V6(i.xattrs()),
            },
        }
    }

    /// Entries of a directory in name order, without `.` and `..` (empty for other kinds).
    pub fn children(&self) -> Children<'b> {
        Children {
            inner: match &self.inner {
                InodeInner::V5(b, i) => ChildrenInner::V5(b.children(i)),
                InodeInner::V6(b, i) => ChildrenInner::V6(b.children(i)),
            },
        }
    }

    /// The entry `name` of this directory, found by binary search.
    pub fn lookup(&self, name: &[u8]) -> Result<Option<DirEntry<'b>>> {
        if name == b"." || name == b".." {
            return Ok(None);
        }
        match &self.inner {
            InodeInner::V5(b, i) => b.lookup(i, name),
            InodeInner::V6(b, i) => b.lookup(i, name),
        }
    }

    /// Number of chunks of a regular file.
    pub fn chunk_count(&self) -> usize {
        match &self.inner {
            InodeInner::V5(_, i) => i.chunk_count(),
            InodeInner::V6(b, i) => b.chunk_count(i),
        }
    }

    /// Chunks of a regular file in file order (empty for other kinds).
    pub fn chunks(&self) -> Chunks<'b> {
        Chunks {
            inner: match &self.inner {
                InodeInner::V5(b, i) => ChunksInner::V5(b.chunks(i)),
                InodeInner::V6(b, i) => ChunksInner::V6(b.chunks(i)),
            },
        }
    }
}

enum XattrsInner<'b> {
    V5(V5Xattrs<'b>),
    V6(V6Xattrs<'b>),
}

/// Iterator over an inode's xattrs; stops after the first error.
pub struct Xattrs<'b> {
    inner: XattrsInner<'b>,
}

impl<'b> Iterator for Xattrs<'b> {
    type Item = Result<Xattr<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            XattrsInner::V5(i) => i.next(),
            XattrsInner::V6(i) => i.next(),
        }
    }
}

enum ChildrenInner<'b> {
    V5(V5Children<'b, 'b>),
    V6(V6Children<'b>),
}

/// Iterator over a directory's entries; stops after the first error.
pub struct Children<'b> {
    inner: ChildrenInner<'b>,
}

impl<'b> Iterator for Children<'b> {
    type Item = Result<DirEntry<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            ChildrenInner::V5(i) => i.next(),
            ChildrenInner::V6(i) => i.next(),
        }
    }
}

enum ChunksInner<'b> {
    V5(V5Chunks<'b>),
    V6(V6Chunks<'b, 'b>),
}

/// Iterator over a file's chunks; stops after the first error.
pub struct Chunks<'b> {
    inner: ChunksInner<'b>,
}

impl Iterator for Chunks<'_> {
    type Item = Result<Chunk>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            ChunksInner::V5(i) => i.next(),
            ChunksInner::V6(i) => i.next(),
        }
    }
}

/// One entry met by [`Bootstrap::walk`].
#[derive(Debug, Clone)]
pub struct WalkEntry<'b> {
    /// Absolute path, `/` for the root.
    pub path: Vec<u8>,
    /// Depth below the root (the root is 0).
    pub depth: usize,
    /// The inode.
    pub inode: Inode<'b>,
}

/// Depth-first walk of the tree; see [`Bootstrap::walk`].
pub struct Walk<'b, 'data> {
    bootstrap: &'b Bootstrap<'data>,
    stack: Vec<(Vec<u8>, std::vec::IntoIter<DirEntry<'b>>)>,
    seen_dirs: HashSet<Ino>,
    started: bool,
    failed: bool,
}

impl<'b> Walk<'b, '_> {
    fn enter(&mut self, path: Vec<u8>, dir: &Inode<'b>) -> Result<()> {
        if !self.seen_dirs.insert(dir.ino()) {
            return Err(Error::DirectoryCycle { ino: dir.ino().0 });
        }
        let entries = dir.children().collect::<Result<Vec<_>>>()?;
        self.stack.push((path, entries.into_iter()));
        Ok(())
    }

    fn step(&mut self) -> Result<Option<WalkEntry<'b>>> {
        if !self.started {
            self.started = true;
            let root = self.bootstrap.root()?;
            self.enter(Vec::new(), &root)?;
            return Ok(Some(WalkEntry {
                path: b"/".to_vec(),
                depth: 0,
                inode: root,
            }));
        }
        loop {
            let depth = self.stack.len();
            let Some((prefix, entries)) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some(entry) = entries.next() else {
                self.stack.pop();
                continue;
            };
            let mut path = prefix.clone();
            path.push(b'/');
            path.extend_from_slice(entry.name());
            let inode = self.bootstrap.inode(entry.ino())?;
            if inode.kind() != entry.kind() {
                return Err(Error::Invalid {
                    what: "directory entry",
                    offset: inode.offset(),
                    reason: "entry's file type differs from its inode's mode",
                    value: u64::from(inode.mode()),
                });
            }
            if inode.kind() == FileKind::Directory {
                self.enter(path.clone(), &inode)?;
            }
            return Ok(Some(WalkEntry { path, depth, inode }));
        }
    }
}

impl<'b> Iterator for Walk<'b, '_> {
    type Item = Result<WalkEntry<'b>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

macro_rules! opaque_debug {
    ($($name:ident),*) => {$(
        impl std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    )*};
}
opaque_debug!(Xattrs, Children, Chunks);

impl std::fmt::Debug for Walk<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("depth", &self.stack.len())
            .finish_non_exhaustive()
    }
}
