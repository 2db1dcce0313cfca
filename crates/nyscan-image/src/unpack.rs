//! Writing a whole image out: a directory tree, or a PAX tar.
//!
//! Entries are handled in walk order. File contents are fetched in windows of about
//! [`WINDOW_BYTES`] so that small files share merged range requests and memory stays
//! bounded; a file larger than a window is fetched and written in pieces.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nyscan_rafs::{Chunk, FileKind, Inode};

use crate::error::{Error, Result};
use crate::reader::{ChunkKey, ChunkReader};

/// Uncompressed bytes fetched per window.
pub const WINDOW_BYTES: u64 = 64 << 20;

/// What an unpack wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UnpackSummary {
    /// Entries written (the root included).
    pub entries: u64,
    /// Regular files written (each hardlink group once).
    pub files: u64,
    /// File bytes written.
    pub bytes: u64,
}

struct Entry<'b> {
    path: Vec<u8>,
    inode: Inode<'b>,
}

fn lossy(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Every entry of the image, each name checked safe to write.
fn entries<'b>(reader: &ChunkReader<'b, '_>) -> Result<Vec<Entry<'b>>> {
    let mut out = Vec::new();
    for e in reader.bootstrap().walk() {
        let e = e?;
        if e.path != b"/" {
            let (parent, name) = e
                .path
                .split_at(e.path.iter().rposition(|&b| b == b'/').unwrap_or(0));
            let name = &name[1..];
            if name.is_empty() || name == b"." || name == b".." || name.contains(&0) {
                return Err(Error::UnsafeName {
                    parent: lossy(parent),
                    name: lossy(name),
                });
            }
        }
        out.push(Entry {
            path: e.path,
            inode: e.inode,
        });
    }
    Ok(out)
}

/// Chunks of a file, in file order.
pub(crate) fn file_chunks(inode: &Inode<'_>) -> Result<Vec<Chunk>> {
    let mut chunks = inode.chunks().collect::<std::result::Result<Vec<_>, _>>()?;
    chunks.sort_by_key(|c| c.file_offset);
    let size = inode.size();
    for c in &chunks {
        if c.file_offset
            .checked_add(u64::from(c.uncompressed_size))
            .is_none_or(|end| end > size)
        {
            return Err(Error::Layout {
                ino: inode.ino().0,
                reason: "a chunk runs past the end of the file",
            });
        }
    }
    Ok(chunks)
}

/// Splits chunks into groups of at most `WINDOW_BYTES` uncompressed (at least one each).
pub(crate) fn sub_batches(chunks: &[Chunk]) -> Vec<&[Chunk]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, c) in chunks.iter().enumerate() {
        if i > start && bytes + u64::from(c.uncompressed_size) > WINDOW_BYTES {
            out.push(&chunks[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += u64::from(c.uncompressed_size);
    }
    if start < chunks.len() {
        out.push(&chunks[start..]);
    }
    out
}

/// Content of one regular file: already fetched with its window, or fetched on demand.
enum Content<'w> {
    Ready(Vec<Chunk>, &'w HashMap<ChunkKey, Arc<[u8]>>),
    Large(Vec<Chunk>),
}

impl Content<'_> {
    /// Calls `f(file_offset, bytes)` for every chunk in file order.
    fn for_each(
        &self,
        reader: &ChunkReader<'_, '_>,
        mut f: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        match self {
            Content::Ready(chunks, data) => {
                for c in chunks {
                    f(c.file_offset, &data[&(c.blob_index, c.index)])?;
                }
            }
            Content::Large(chunks) => {
                for batch in sub_batches(chunks) {
                    let data = reader.fetch(batch)?;
                    for c in batch {
                        f(c.file_offset, &data[&(c.blob_index, c.index)])?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Drives `sink` over every entry in walk order with its content (for the first link of
/// each regular file).
fn drive<'b>(
    reader: &ChunkReader<'b, '_>,
    mut sink: impl FnMut(&Entry<'b>, Option<&Content<'_>>) -> Result<()>,
) -> Result<UnpackSummary> {
    let all = entries(reader)?;
    let mut summary = UnpackSummary::default();
    let mut seen = HashSet::new();
    let mut i = 0;
    while i < all.len() {
        // A window: entries up to WINDOW_BYTES of new file content.
        let mut j = i;
        let mut window_bytes = 0u64;
        let mut wanted = Vec::new();
        let mut contents: HashMap<usize, Vec<Chunk>> = HashMap::new();
        let mut large: HashSet<usize> = HashSet::new();
        let mut window_seen = HashSet::new();
        while j < all.len() {
            let e = &all[j];
            if e.inode.kind() == FileKind::Regular
                && !seen.contains(&e.inode.ino())
                && window_seen.insert(e.inode.ino())
            {
                let size = e.inode.size();
                if j > i && window_bytes + size > WINDOW_BYTES {
                    window_seen.remove(&e.inode.ino());
                    break;
                }
                let chunks = file_chunks(&e.inode)?;
                if size > WINDOW_BYTES {
                    large.insert(j);
                } else {
                    wanted.extend_from_slice(&chunks);
                }
                window_bytes += size;
                contents.insert(j, chunks);
            }
            j += 1;
        }
        let data = reader.fetch(&wanted)?;
        for (k, e) in all.iter().enumerate().take(j).skip(i) {
            summary.entries += 1;
            let content = match contents.remove(&k) {
                Some(chunks) => {
                    seen.insert(e.inode.ino());
                    summary.files += 1;
                    summary.bytes += e.inode.size();
                    Some(if large.contains(&k) {
                        Content::Large(chunks)
                    } else {
                        Content::Ready(chunks, &data)
                    })
                }
                None => None,
            };
            sink(e, content.as_ref())?;
        }
        i = j;
    }
    Ok(summary)
}

fn os_path(root: &Path, path: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    root.join(std::ffi::OsStr::from_bytes(
        path.strip_prefix(b"/").unwrap_or(path),
    ))
}

/// Unpacks the image into `dest` (created if missing; must be empty). Owners and device
/// files need root; without it they are reported as errors.
pub fn unpack_to_dir(reader: &ChunkReader<'_, '_>, dest: &Path) -> Result<UnpackSummary> {
    let werr = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write {
            path: path.clone(),
            source,
        }
    };
    std::fs::create_dir_all(dest).map_err(werr(dest))?;
    if std::fs::read_dir(dest)
        .map_err(werr(dest))?
        .next()
        .is_some()
    {
        return Err(Error::Write {
            path: dest.to_owned(),
            source: io::Error::new(io::ErrorKind::AlreadyExists, "destination is not empty"),
        });
    }
    let mut first_link: HashMap<u64, PathBuf> = HashMap::new();
    // Directories get their mode and mtime after their contents are written.
    let mut dirs: Vec<(PathBuf, u32, Option<nyscan_rafs::Timestamp>)> = Vec::new();
    let summary = drive(reader, |e, content| {
        let i = &e.inode;
        let path = os_path(dest, &e.path);
        let w = werr(&path);
        match i.kind() {
            FileKind::Directory => {
                if e.path != b"/" {
                    std::fs::create_dir(&path).map_err(&w)?;
                }
                dirs.push((path.clone(), i.mode(), i.mtime()));
            }
            FileKind::Regular => {
                if let Some(first) = first_link.get(&i.ino().0) {
                    return std::fs::hard_link(first, &path).map_err(w);
                }
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(&w)?;
                file.set_len(i.size()).map_err(&w)?;
                if let Some(content) = content {
                    content.for_each(reader, |offset, bytes| {
                        file.write_all_at(bytes, offset).map_err(&w)
                    })?;
                }
                first_link.insert(i.ino().0, path.clone());
            }
            FileKind::Symlink => {
                use std::os::unix::ffi::OsStrExt;
                let target = std::ffi::OsStr::from_bytes(i.symlink_target()?);
                std::os::unix::fs::symlink(target, &path).map_err(&w)?;
            }
            kind => {
                use nix::sys::stat::{Mode, SFlag, mknod};
                let flag = match kind {
                    FileKind::CharDevice => SFlag::S_IFCHR,
                    FileKind::BlockDevice => SFlag::S_IFBLK,
                    FileKind::Fifo => SFlag::S_IFIFO,
                    _ => SFlag::S_IFSOCK,
                };
                let rdev = u64::from(i.rdev());
                let dev = nix::sys::stat::makedev(
                    (rdev & 0xfff00) >> 8,
                    (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
                );
                mknod(
                    &path,
                    flag,
                    Mode::from_bits_truncate(i.mode() & 0o7777),
                    dev,
                )
                .map_err(|e| w(io::Error::from(e)))?;
            }
        }
        std::os::unix::fs::lchown(&path, Some(i.uid()), Some(i.gid())).map_err(&w)?;
        for x in i.xattrs() {
            let x = x?;
            use std::os::unix::ffi::OsStrExt;
            xattr::set(&path, std::ffi::OsStr::from_bytes(&x.name()), x.value()).map_err(&w)?;
        }
        if !matches!(i.kind(), FileKind::Directory | FileKind::Symlink) {
            // After chown, which clears set-id bits.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(i.mode() & 0o7777))
                .map_err(&w)?;
        }
        if !matches!(i.kind(), FileKind::Directory)
            && let Some(t) = i.mtime()
        {
            let ft = filetime::FileTime::from_unix_time(t.secs as i64, t.nsecs);
            filetime::set_symlink_file_times(&path, ft, ft).map_err(&w)?;
        }
        Ok(())
    })?;
    for (path, mode, mtime) in dirs.into_iter().rev() {
        use std::os::unix::fs::PermissionsExt;
        let w = werr(&path);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777))
            .map_err(&w)?;
        if let Some(t) = mtime {
            let ft = filetime::FileTime::from_unix_time(t.secs as i64, t.nsecs);
            filetime::set_file_times(&path, ft, ft).map_err(&w)?;
        }
    }
    Ok(summary)
}

/// A file's bytes as a `Read`, holes as zeros, fetched window by window.
struct ContentReader<'r, 'b, 'd, 'w> {
    reader: &'r ChunkReader<'b, 'd>,
    content: &'r Content<'w>,
    size: u64,
    pos: u64,
    /// (start offset, bytes) of the current piece.
    buf: Vec<u8>,
    buf_start: u64,
    batches: Vec<Vec<Chunk>>,
    next_batch: usize,
    pending: Vec<(u64, Arc<[u8]>)>,
}

impl Read for ContentReader<'_, '_, '_, '_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || out.is_empty() {
            return Ok(0);
        }
        // Fill `buf` with the region starting at `pos`.
        if self.pos >= self.buf_start + self.buf.len() as u64 {
            if self.pending.is_empty() && self.next_batch < self.batches.len() {
                let batch = &self.batches[self.next_batch];
                self.next_batch += 1;
                let data = match self.content {
                    Content::Ready(_, data) => batch
                        .iter()
                        .map(|c| (c.file_offset, data[&(c.blob_index, c.index)].clone()))
                        .collect(),
                    Content::Large(_) => {
                        let data = self.reader.fetch(batch).map_err(io::Error::other)?;
                        batch
                            .iter()
                            .map(|c| (c.file_offset, data[&(c.blob_index, c.index)].clone()))
                            .collect()
                    }
                };
                self.pending = data;
                self.pending.reverse();
            }
            match self.pending.last() {
                Some((start, _)) if *start <= self.pos => {
                    let (start, bytes) = self.pending.pop().expect("checked");
                    self.buf = bytes.to_vec();
                    self.buf_start = start;
                }
                next => {
                    // A hole up to the next chunk or the end.
                    let end = next.map_or(self.size, |(s, _)| *s);
                    self.buf = vec![0u8; (end - self.pos).min(1 << 20) as usize];
                    self.buf_start = self.pos;
                }
            }
        }
        let at = (self.pos - self.buf_start) as usize;
        let n = out
            .len()
            .min(self.buf.len() - at)
            .min((self.size - self.pos) as usize);
        out[..n].copy_from_slice(&self.buf[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// Writes the image as a PAX tar: xattrs as `SCHILY.xattr.*` records, hardlinks as link
/// entries to the first path, numeric owners.
pub fn unpack_to_tar<W: Write>(reader: &ChunkReader<'_, '_>, out: W) -> Result<UnpackSummary> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut first_link: HashMap<u64, Vec<u8>> = HashMap::new();
    let terr = |path: &[u8]| {
        let path = PathBuf::from(lossy(path));
        move |source| Error::Write {
            path: path.clone(),
            source,
        }
    };
    let summary = drive(reader, |e, content| {
        let i = &e.inode;
        let w = terr(&e.path);
        let rel: Vec<u8> = if e.path == b"/" {
            b"./".to_vec()
        } else {
            [b".".as_slice(), &e.path].concat()
        };
        let xattrs: Vec<(Vec<u8>, Vec<u8>)> = i
            .xattrs()
            .map(|x| {
                x.map(|x| {
                    (
                        [b"SCHILY.xattr.".as_slice(), &x.name()].concat(),
                        x.value().to_vec(),
                    )
                })
            })
            .collect::<std::result::Result<_, _>>()?;
        if !xattrs.is_empty() {
            builder
                .append_pax_extensions(xattrs.iter().map(|(k, v)| {
                    (
                        std::str::from_utf8(k).unwrap_or("SCHILY.xattr.?"),
                        v.as_slice(),
                    )
                }))
                .map_err(&w)?;
        }
        let mut h = tar::Header::new_ustar();
        h.set_mode(i.mode() & 0o7777);
        h.set_uid(u64::from(i.uid()));
        h.set_gid(u64::from(i.gid()));
        h.set_mtime(i.mtime().map_or(0, |t| t.secs));
        h.set_size(0);
        match i.kind() {
            FileKind::Directory => h.set_entry_type(tar::EntryType::Directory),
            FileKind::Regular => {
                if let Some(first) = first_link.get(&i.ino().0) {
                    h.set_entry_type(tar::EntryType::Link);
                    return builder
                        .append_link(&mut h, bytes_path(&rel), bytes_path(first))
                        .map_err(w);
                }
                first_link.insert(i.ino().0, rel.clone());
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(i.size());
                let content = content.expect("first link carries content");
                let batches = match content {
                    Content::Ready(chunks, _) | Content::Large(chunks) => sub_batches(chunks)
                        .into_iter()
                        .map(<[Chunk]>::to_vec)
                        .collect(),
                };
                let body = ContentReader {
                    reader,
                    content,
                    size: i.size(),
                    pos: 0,
                    buf: Vec::new(),
                    buf_start: 0,
                    batches,
                    next_batch: 0,
                    pending: Vec::new(),
                };
                return builder
                    .append_data(&mut h, bytes_path(&rel), body)
                    .map_err(w);
            }
            FileKind::Symlink => {
                h.set_entry_type(tar::EntryType::Symlink);
                return builder
                    .append_link(&mut h, bytes_path(&rel), bytes_path(i.symlink_target()?))
                    .map_err(w);
            }
            kind => {
                h.set_entry_type(match kind {
                    FileKind::CharDevice => tar::EntryType::Char,
                    FileKind::BlockDevice => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                let rdev = i.rdev();
                h.set_device_major((rdev & 0xfff00) >> 8).map_err(&w)?;
                h.set_device_minor((rdev & 0xff) | ((rdev >> 12) & 0xfff00))
                    .map_err(&w)?;
            }
        }
        builder
            .append_data(&mut h, bytes_path(&rel), io::empty())
            .map_err(w)
    })?;
    builder
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(terr(b"tar"))?;
    Ok(summary)
}

fn bytes_path(p: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(p))
}
