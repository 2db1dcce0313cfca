//! [`ImageFs`]: the `fuser::Filesystem` over a bootstrap and a chunk engine.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, InitFlags, KernelConfig, LockOwner, OpenAccMode, OpenFlags, ReplyAttr, ReplyData,
    ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyXattr,
    Request,
};
use nyscan_image::{ChunkKey, ChunkReader};
use nyscan_rafs::{Bootstrap, Chunk, FileKind, Ino, Inode};

use crate::ino::InoMap;

/// How long the kernel may keep entries and attributes: the image never changes.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// Distinct error messages remembered so each is printed once.
const MAX_REPORTED: usize = 1024;

/// Tuning of an [`ImageFs`].
#[derive(Debug, Clone, Copy)]
pub struct FsOptions {
    /// Bytes of decoded chunks kept in memory (a FUSE read is smaller than a chunk, so the
    /// next reads of the same chunk are served from here).
    pub memory_bytes: u64,
    /// Bytes fetched ahead of a sequential reader, in the background (0: no read-ahead).
    pub readahead_bytes: u64,
    /// Compressed bytes of neighbouring chunks fetched with a missed chunk (0: none).
    pub amplify_bytes: u64,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            memory_bytes: 64 << 20,
            readahead_bytes: 4 << 20,
            amplify_bytes: 1 << 20,
        }
    }
}

/// Decoded, verified chunks in memory, oldest dropped first.
#[derive(Debug)]
struct MemoryCache {
    max_bytes: u64,
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    chunks: HashMap<ChunkKey, Arc<[u8]>>,
    order: VecDeque<ChunkKey>,
    bytes: u64,
}

impl MemoryCache {
    fn get(&self, key: ChunkKey) -> Option<Arc<[u8]>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.chunks.get(&key).cloned()
    }

    fn contains(&self, key: ChunkKey) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.chunks.contains_key(&key)
    }

    fn put(&self, key: ChunkKey, data: Arc<[u8]>) {
        if self.max_bytes == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.chunks.contains_key(&key) {
            return;
        }
        inner.bytes += data.len() as u64;
        inner.chunks.insert(key, data);
        inner.order.push_back(key);
        while inner.bytes > self.max_bytes {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(d) = inner.chunks.remove(&old) {
                inner.bytes -= d.len() as u64;
            }
        }
    }
}

/// Shared by the FUSE threads and the background fetchers.
#[derive(Debug)]
struct Shared {
    reader: &'static ChunkReader<'static, 'static>,
    memory: MemoryCache,
    reported: Mutex<HashSet<String>>,
    /// Chunks being fetched right now, so that a second reader waits instead of fetching
    /// them again.
    inflight: Mutex<HashSet<ChunkKey>>,
    fetched: Condvar,
    /// Compressed bytes fetched around a missed chunk (0: none).
    amplify_bytes: u64,
    /// Every chunk of each blob, sorted by stored offset, built on first use.
    neighbours: OnceLock<HashMap<u32, Vec<Chunk>>>,
}

impl Shared {
    /// Prints an error once per distinct message.
    fn report(&self, what: &str, err: &dyn std::error::Error) {
        let mut message = err.to_string();
        let mut cause = err.source();
        while let Some(c) = cause {
            message.push_str(": ");
            message.push_str(&c.to_string());
            cause = c.source();
        }
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        if reported.len() < MAX_REPORTED && reported.insert(message.clone()) {
            eprintln!("nyscan mount: {what}: {message}");
        }
    }

    /// The chunks `chunks`, from memory or fetched (and then kept in memory). A chunk another
    /// thread is fetching is waited for, not fetched twice; a fetch also brings the chunks
    /// stored right after the missed ones (up to `amplify_bytes`), since small reads cost
    /// about as much as 1 MiB ones and neighbours are usually read next.
    fn chunks(&self, chunks: &[Chunk]) -> nyscan_image::Result<HashMap<ChunkKey, Arc<[u8]>>> {
        let mut have = HashMap::new();
        let mut pending: Vec<Chunk> = chunks.to_vec();
        // Bounded: each round either fetches the remaining chunks itself or waits for
        // another thread's fetch to end; a failed fetch of another thread is retried here.
        for _ in 0..8 {
            let mut mine = Vec::new();
            let mut theirs = Vec::new();
            let mut wanted = 0;
            {
                let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
                for c in pending.drain(..) {
                    let key = (c.blob_index, c.index);
                    if let Some(d) = self.memory.get(key) {
                        have.insert(key, d);
                    } else if inflight.contains(&key) {
                        theirs.push(c);
                    } else {
                        inflight.insert(key);
                        mine.push(c);
                    }
                }
                if !mine.is_empty() {
                    let extra = self.amplify(&mine, &inflight);
                    for c in &extra {
                        inflight.insert((c.blob_index, c.index));
                    }
                    wanted = mine.len();
                    mine.extend(extra);
                }
            }
            if !mine.is_empty() {
                let mut result = self.reader.fetch(&mine);
                if result.is_err() && mine.len() > wanted {
                    // A bad neighbour must not fail this read: fetch only what was asked.
                    result = self.reader.fetch(&mine[..wanted]);
                }
                {
                    let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
                    if let Ok(data) = &result {
                        for (key, bytes) in data {
                            self.memory.put(*key, bytes.clone());
                        }
                    }
                    for c in &mine {
                        inflight.remove(&(c.blob_index, c.index));
                    }
                }
                self.fetched.notify_all();
                let data = result?;
                for c in chunks {
                    let key = (c.blob_index, c.index);
                    if let Some(d) = data.get(&key) {
                        have.insert(key, d.clone());
                    }
                }
            }
            if theirs.is_empty() {
                return Ok(have);
            }
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            while theirs
                .iter()
                .any(|c| inflight.contains(&(c.blob_index, c.index)))
            {
                inflight = self
                    .fetched
                    .wait(inflight)
                    .unwrap_or_else(|e| e.into_inner());
            }
            pending = theirs;
        }
        // Still missing after several rounds (other fetches keep failing): fetch directly.
        let data = self.reader.fetch(&pending)?;
        have.extend(data);
        Ok(have)
    }

    /// Chunks stored right after `missed` in the same blob, within `amplify_bytes` of each
    /// missed chunk's start, that nobody holds or fetches.
    fn amplify(&self, missed: &[Chunk], inflight: &HashSet<ChunkKey>) -> Vec<Chunk> {
        if self.amplify_bytes == 0 {
            return Vec::new();
        }
        let by_blob = self
            .neighbours
            .get_or_init(|| blob_chunks(self.reader.bootstrap()));
        let mut taken: HashSet<ChunkKey> = missed.iter().map(|c| (c.blob_index, c.index)).collect();
        let mut extra = Vec::new();
        for c in missed.iter().filter(|c| c.compressed_size > 0) {
            let Some(list) = by_blob.get(&c.blob_index) else {
                continue;
            };
            let start = list.partition_point(|n| n.compressed_offset <= c.compressed_offset);
            let limit = c.compressed_offset.saturating_add(self.amplify_bytes);
            for n in &list[start..] {
                if n.compressed_offset + u64::from(n.compressed_size) > limit {
                    break;
                }
                let key = (n.blob_index, n.index);
                if !inflight.contains(&key) && !self.memory.contains(key) && taken.insert(key) {
                    extra.push(*n);
                }
            }
        }
        extra
    }

    /// Fetches chunks nobody asked for yet (read-ahead, prefetch); errors are left for the
    /// real read to report.
    fn warm(&self, chunks: &[Chunk]) {
        let missing: Vec<Chunk> = chunks
            .iter()
            .filter(|c| !self.memory.contains((c.blob_index, c.index)))
            .copied()
            .collect();
        if !missing.is_empty() {
            let _ = self.chunks(&missing);
        }
    }
}

/// One entry of an open directory's listing.
#[derive(Debug, Clone)]
struct Listed {
    ino: Ino,
    kind: FileKind,
    name: OsString,
}

/// A read-only view of one image for the kernel's FUSE driver.
///
/// Metadata comes from the bootstrap alone; file data through the chunk engine, so every
/// byte served has been verified against its chunk digest. A read whose chunks cannot be
/// fetched or verified fails with `EIO` (the cause printed once to stderr); it never returns
/// wrong bytes.
#[derive(Debug)]
pub struct ImageFs {
    boot: &'static Bootstrap<'static>,
    shared: Arc<Shared>,
    map: InoMap,
    default_time: SystemTime,
    options: FsOptions,
    next_fh: AtomicU64,
    dirs: Mutex<HashMap<u64, Arc<Vec<Listed>>>>,
    /// Open files: where the last read ended, to spot sequential readers.
    files: Mutex<HashMap<u64, u64>>,
    readahead: Option<SyncSender<Vec<Chunk>>>,
}

impl ImageFs {
    /// A view of `reader`'s image. The references are `'static` because a mount serves for
    /// the rest of the process: callers leak the bootstrap bytes, the parsed bootstrap, the
    /// blob source and the engine (`Box::leak`).
    pub fn new(reader: &'static ChunkReader<'static, 'static>, options: FsOptions) -> ImageFs {
        let boot = reader.bootstrap();
        let shared = Arc::new(Shared {
            reader,
            memory: MemoryCache {
                max_bytes: options.memory_bytes,
                inner: Mutex::default(),
            },
            reported: Mutex::default(),
            inflight: Mutex::default(),
            fetched: Condvar::new(),
            amplify_bytes: options.amplify_bytes,
            neighbours: OnceLock::new(),
        });
        let default_time = boot
            .superblock()
            .build_time
            .map_or(UNIX_EPOCH, |t| to_system_time(t.secs, t.nsecs));
        let readahead = (options.readahead_bytes > 0).then(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel(16);
            let worker = shared.clone();
            std::thread::Builder::new()
                .name("nyscan-readahead".into())
                .spawn(move || readahead_worker(&worker, rx))
                .ok()
                .map(|_| tx)
        });
        ImageFs {
            boot,
            shared,
            map: InoMap::new(boot.superblock().root),
            default_time,
            options,
            next_fh: AtomicU64::new(1),
            dirs: Mutex::default(),
            files: Mutex::default(),
            readahead: readahead.flatten(),
        }
    }

    /// Starts fetching the chunks of the image's prefetch table in the background (a
    /// directory there means every file below it). Returns the thread; errors are ignored:
    /// a later read reports them.
    pub fn start_prefetch(&self) -> std::io::Result<std::thread::JoinHandle<usize>> {
        let boot = self.boot;
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("nyscan-prefetch".into())
            .spawn(move || prefetch(boot, &shared))
    }

    /// The FUSE inode number of an image inode.
    pub fn fuse_ino(&self, ino: Ino) -> u64 {
        self.map.to_fuse(ino)
    }

    fn inode(&self, ino: INodeNo) -> Result<Inode<'static>, Errno> {
        self.boot.inode(self.map.to_image(ino.0)).map_err(|e| {
            // The kernel only asks for numbers we gave it: a failure is damage.
            self.shared.report("cannot read inode", &e);
            Errno::EIO
        })
    }

    /// The attributes FUSE reports for `inode`.
    pub fn attr(&self, inode: &Inode<'_>) -> FileAttr {
        let time = inode
            .mtime()
            .map_or(self.default_time, |t| to_system_time(t.secs, t.nsecs));
        FileAttr {
            ino: INodeNo(self.map.to_fuse(inode.ino())),
            size: inode.size(),
            blocks: inode.blocks(),
            atime: time,
            mtime: time,
            ctime: time,
            crtime: time,
            kind: file_type(inode.kind()),
            perm: (inode.mode() & 0o7777) as u16,
            nlink: inode.nlink(),
            uid: inode.uid(),
            gid: inode.gid(),
            rdev: inode.rdev(),
            blksize: 4096,
            flags: 0,
        }
    }

    /// `len` bytes of a file from `offset` (fewer at its end), through the memory cache.
    fn read_bytes(
        &self,
        inode: &Inode<'_>,
        offset: u64,
        len: u64,
    ) -> nyscan_image::Result<Vec<u8>> {
        let size = inode.size();
        let end = offset.saturating_add(len).min(size);
        if offset >= end {
            return Ok(Vec::new());
        }
        let chunks = overlapping(inode, offset, end)?;
        let data = self.shared.chunks(&chunks)?;
        let mut out = vec![0u8; (end - offset) as usize];
        for c in &chunks {
            let bytes = &data[&(c.blob_index, c.index)];
            let chunk_end = c.file_offset + bytes.len() as u64;
            if chunk_end > size {
                return Err(nyscan_image::Error::Layout {
                    ino: inode.ino().0,
                    reason: "a chunk runs past the end of the file",
                });
            }
            let from = c.file_offset.max(offset);
            let to = chunk_end.min(end);
            if from < to {
                out[(from - offset) as usize..(to - offset) as usize].copy_from_slice(
                    &bytes[(from - c.file_offset) as usize..(to - c.file_offset) as usize],
                );
            }
        }
        Ok(out)
    }

    /// After a sequential read ending at `end`, queue the chunks of the next
    /// `readahead_bytes` for the background fetcher.
    fn read_ahead(&self, inode: &Inode<'_>, end: u64) {
        let Some(tx) = &self.readahead else {
            return;
        };
        let until = end
            .saturating_add(self.options.readahead_bytes)
            .min(inode.size());
        if end >= until {
            return;
        }
        let Ok(chunks) = overlapping(inode, end, until) else {
            return;
        };
        let wanted: Vec<Chunk> = chunks
            .into_iter()
            .filter(|c| !self.shared.memory.contains((c.blob_index, c.index)))
            .collect();
        if wanted.is_empty() {
            return;
        }
        // A full queue means the fetcher is behind: drop the hint rather than block a read.
        if let Err(TrySendError::Disconnected(_)) = tx.try_send(wanted) {
            // The worker died; reads still work without it.
        }
    }

    fn listing(&self, dir: &Inode<'static>) -> Result<Vec<Listed>, Errno> {
        let parent = if dir.ino() == self.boot.superblock().root {
            dir.ino()
        } else {
            match dir.stored_parent() {
                Some(p) => p,
                None => self
                    .boot
                    .links(dir.ino())
                    .ok()
                    .and_then(|l| l.first().map(|(p, _)| *p))
                    .unwrap_or(dir.ino()),
            }
        };
        let mut out = vec![
            Listed {
                ino: dir.ino(),
                kind: FileKind::Directory,
                name: ".".into(),
            },
            Listed {
                ino: parent,
                kind: FileKind::Directory,
                name: "..".into(),
            },
        ];
        for entry in dir.children() {
            let entry = entry.map_err(|e| {
                self.shared.report("cannot read a directory", &e);
                Errno::EIO
            })?;
            out.push(Listed {
                ino: entry.ino(),
                kind: entry.kind(),
                name: OsString::from_vec(entry.name().to_vec()),
            });
        }
        Ok(out)
    }

    fn dir_listing(&self, ino: INodeNo, fh: FileHandle) -> Result<Arc<Vec<Listed>>, Errno> {
        if let Some(l) = self
            .dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fh.0)
        {
            return Ok(l.clone());
        }
        // Not opened through opendir (should not happen): list now.
        let dir = self.inode(ino)?;
        if dir.kind() != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(Arc::new(self.listing(&dir)?))
    }
}

fn to_system_time(secs: u64, nsecs: u32) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::new(secs, nsecs.min(999_999_999)))
        .unwrap_or(UNIX_EPOCH)
}

fn file_type(kind: FileKind) -> FileType {
    match kind {
        FileKind::Regular => FileType::RegularFile,
        FileKind::Directory => FileType::Directory,
        FileKind::Symlink => FileType::Symlink,
        FileKind::CharDevice => FileType::CharDevice,
        FileKind::BlockDevice => FileType::BlockDevice,
        FileKind::Fifo => FileType::NamedPipe,
        FileKind::Socket => FileType::Socket,
    }
}

/// The chunks of `inode` overlapping `[offset, end)`.
fn overlapping(inode: &Inode<'_>, offset: u64, end: u64) -> nyscan_rafs::Result<Vec<Chunk>> {
    inode
        .chunks()
        .filter(|c| {
            c.as_ref().map_or(true, |c| {
                c.file_offset < end && c.file_offset + u64::from(c.uncompressed_size) > offset
            })
        })
        .collect()
}

/// Every chunk of the image by blob, sorted by stored offset, once each (batch members, which
/// have no stored size of their own, left out). v6 lists them in its chunk table; v5 only in
/// its files.
fn blob_chunks(boot: &Bootstrap<'_>) -> HashMap<u32, Vec<Chunk>> {
    let mut all: Vec<Chunk> = boot.chunk_table().collect();
    if all.is_empty() {
        for entry in boot.walk().filter_map(|e| e.ok()) {
            if entry.inode.kind() == FileKind::Regular {
                all.extend(entry.inode.chunks().filter_map(|c| c.ok()));
            }
        }
    }
    let mut by_blob: HashMap<u32, Vec<Chunk>> = HashMap::new();
    let mut seen = HashSet::new();
    for c in all {
        if c.compressed_size > 0 && !c.is_batch() && seen.insert((c.blob_index, c.index)) {
            by_blob.entry(c.blob_index).or_default().push(c);
        }
    }
    for list in by_blob.values_mut() {
        list.sort_by_key(|c| c.compressed_offset);
    }
    by_blob
}

fn readahead_worker(shared: &Shared, rx: Receiver<Vec<Chunk>>) {
    while let Ok(chunks) = rx.recv() {
        shared.warm(&chunks);
    }
}

/// Fetches every chunk the prefetch table names; returns how many chunks were wanted.
fn prefetch(boot: &'static Bootstrap<'static>, shared: &Shared) -> usize {
    let Ok(roots) = boot.prefetch() else {
        return 0;
    };
    let mut seen = HashSet::new();
    let mut stack = roots;
    let mut batch = Vec::new();
    let mut total = 0;
    while let Some(ino) = stack.pop() {
        if !seen.insert(ino) {
            continue;
        }
        let Ok(inode) = boot.inode(ino) else {
            continue;
        };
        match inode.kind() {
            FileKind::Directory => {
                stack.extend(inode.children().filter_map(|e| e.ok()).map(|e| e.ino()));
            }
            FileKind::Regular => {
                batch.extend(inode.chunks().filter_map(|c| c.ok()));
                if batch.len() >= 64 {
                    total += batch.len();
                    shared.warm(&batch);
                    batch.clear();
                }
            }
            _ => {}
        }
    }
    total += batch.len();
    shared.warm(&batch);
    total
}

impl Filesystem for ImageFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Optional: older kernels simply do not offer these.
        let _ = config
            .add_capabilities(InitFlags::FUSE_DO_READDIRPLUS | InitFlags::FUSE_READDIRPLUS_AUTO);
        let _ = config.set_max_readahead(1 << 20);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let dir = match self.inode(parent) {
            Ok(d) => d,
            Err(e) => return reply.error(e),
        };
        if dir.kind() != FileKind::Directory {
            return reply.error(Errno::ENOTDIR);
        }
        let found = dir
            .lookup(name.as_bytes())
            .and_then(|entry| entry.map(|entry| self.boot.inode(entry.ino())).transpose());
        match found {
            Ok(Some(inode)) => reply.entry(&TTL, &self.attr(&inode), Generation(0)),
            Ok(None) => reply.error(Errno::ENOENT),
            Err(e) => {
                self.shared.report("cannot look up a name", &e);
                reply.error(Errno::EIO)
            }
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.inode(ino) {
            Ok(inode) => reply.attr(&TTL, &self.attr(&inode)),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let inode = match self.inode(ino) {
            Ok(i) => i,
            Err(e) => return reply.error(e),
        };
        if inode.kind() != FileKind::Symlink {
            return reply.error(Errno::EINVAL);
        }
        match inode.symlink_target() {
            Ok(target) => reply.data(target),
            Err(e) => {
                self.shared.report("cannot read a symlink", &e);
                reply.error(Errno::EIO)
            }
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.acc_mode() != OpenAccMode::O_RDONLY {
            return reply.error(Errno::EROFS);
        }
        let inode = match self.inode(ino) {
            Ok(i) => i,
            Err(e) => return reply.error(e),
        };
        if inode.kind() == FileKind::Directory {
            return reply.error(Errno::EISDIR);
        }
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fh, 0);
        // The image never changes: the page cache stays valid across opens.
        reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE);
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let inode = match self.inode(ino) {
            Ok(i) => i,
            Err(e) => return reply.error(e),
        };
        if inode.kind() != FileKind::Regular {
            return reply.error(Errno::EINVAL);
        }
        match self.read_bytes(&inode, offset, u64::from(size)) {
            Ok(data) => {
                let end = offset + data.len() as u64;
                let sequential = {
                    let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
                    let last = files.insert(fh.0, end);
                    offset > 0 && last == Some(offset)
                };
                reply.data(&data);
                if sequential {
                    self.read_ahead(&inode, end);
                }
            }
            Err(e) => {
                let paths = self.boot.paths(inode.ino()).unwrap_or_default();
                let name = paths
                    .first()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .unwrap_or_else(|| format!("inode {}", inode.ino()));
                self.shared
                    .report(&format!("read of {name} failed (EIO)"), &e);
                reply.error(Errno::EIO)
            }
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fh.0);
        reply.ok();
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let dir = match self.inode(ino) {
            Ok(i) => i,
            Err(e) => return reply.error(e),
        };
        if dir.kind() != FileKind::Directory {
            return reply.error(Errno::ENOTDIR);
        }
        match self.listing(&dir) {
            Ok(listing) => {
                let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
                self.dirs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(fh, Arc::new(listing));
                reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE);
            }
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let listing = match self.dir_listing(ino, fh) {
            Ok(l) => l,
            Err(e) => return reply.error(e),
        };
        for (i, entry) in listing.iter().enumerate().skip(offset as usize) {
            if reply.add(
                INodeNo(self.map.to_fuse(entry.ino)),
                i as u64 + 1,
                file_type(entry.kind),
                &entry.name,
            ) {
                break;
            }
        }
        reply.ok();
    }

    fn readdirplus(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let listing = match self.dir_listing(ino, fh) {
            Ok(l) => l,
            Err(e) => return reply.error(e),
        };
        for (i, entry) in listing.iter().enumerate().skip(offset as usize) {
            let inode = match self.boot.inode(entry.ino) {
                Ok(i) => i,
                Err(e) => {
                    self.shared.report("cannot read inode", &e);
                    return reply.error(Errno::EIO);
                }
            };
            if reply.add(
                INodeNo(self.map.to_fuse(entry.ino)),
                i as u64 + 1,
                &entry.name,
                &TTL,
                &self.attr(&inode),
                Generation(0),
            ) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fh.0);
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let bytes: u64 = self.boot.blobs().iter().map(|b| b.uncompressed_size).sum();
        reply.statfs(
            bytes.div_ceil(4096),
            0,
            0,
            self.boot.superblock().inodes_count,
            0,
            4096,
            255,
            4096,
        );
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let inode = match self.inode(ino) {
            Ok(i) => i,
            Err(e) => return reply.error(e),
        };
        for x in inode.xattrs() {
            match x {
                Ok(x) if x.name() == name.as_bytes() => {
                    let value = x.value();
                    return if size == 0 {
                        reply.size(value.len() as u32)
                    } else if value.len() > size as usize {
                        reply.error(Errno::ERANGE)
                    } else {
                        reply.data(value)
                    };
                }
                Ok(_) => {}
                Err(e) => {
                    self.shared.report("cannot read xattrs", &e);
                    return reply.error(Errno::EIO);
                }
            }
        }
        reply.error(Errno::NO_XATTR)
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let inode = match self.inode(ino) {
            Ok(i) => i,
            Err(e) => return reply.error(e),
        };
        let mut names = Vec::new();
        for x in inode.xattrs() {
            match x {
                Ok(x) => {
                    names.extend_from_slice(&x.name());
                    names.push(0);
                }
                Err(e) => {
                    self.shared.report("cannot read xattrs", &e);
                    return reply.error(Errno::EIO);
                }
            }
        }
        if size == 0 {
            reply.size(names.len() as u32)
        } else if names.len() > size as usize {
            reply.error(Errno::ERANGE)
        } else {
            reply.data(&names)
        }
    }

    fn access(&self, _req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        if let Err(e) = self.inode(ino) {
            return reply.error(e);
        }
        if mask.contains(AccessFlags::W_OK) {
            reply.error(Errno::EROFS)
        } else {
            reply.ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nyscan_image::FetchOptions;
    use nyscan_source::{BlobDir, BlobSource};

    /// An `ImageFs` over a shared official image, leaked like a real mount does.
    fn image(name: &str) -> Option<ImageFs> {
        let dir = nyscan_testutil::shared_dir()?
            .join("fixtures/official")
            .join(name);
        let bytes: &'static [u8] = Box::leak(std::fs::read(dir.join("boot")).ok()?.into());
        let boot: &'static Bootstrap<'static> =
            Box::leak(Box::new(Bootstrap::parse(bytes).unwrap()));
        let blobs: &'static dyn BlobSource = Box::leak(Box::new(BlobDir::new(dir.join("blobs"))));
        let reader = Box::leak(Box::new(ChunkReader::new(
            boot,
            blobs,
            FetchOptions::default(),
        )));
        Some(ImageFs::new(reader, FsOptions::default()))
    }

    #[test]
    fn attributes_come_from_the_bootstrap() {
        for name in ["v5-lz4", "v6-zstd"] {
            let Some(fs) = image(name) else {
                return nyscan_testutil::skip(
                    "attributes_come_from_the_bootstrap",
                    &nyscan_testutil::Skip("../shared is absent".into()),
                );
            };
            let root = fs.boot.root().unwrap();
            let attr = fs.attr(&root);
            assert_eq!(attr.ino, INodeNo(1), "{name}");
            assert_eq!(attr.kind, FileType::Directory);
            assert_eq!(fs.map.to_image(1), root.ino());

            let a = fs.boot.lookup(b"/links/hardlink").unwrap().unwrap();
            let b = fs.boot.lookup(b"/hardlink-at-root").unwrap().unwrap();
            assert_eq!(
                fs.attr(&a).ino,
                fs.attr(&b).ino,
                "{name}: hardlinks share an inode"
            );
            assert_eq!(fs.attr(&a).nlink, 3, "{name}");

            let zero = fs.attr(&fs.boot.lookup(b"/dev/zero").unwrap().unwrap());
            assert_eq!(zero.kind, FileType::CharDevice);
            assert_eq!((zero.rdev >> 8 & 0xfff, zero.rdev & 0xff), (1, 5), "{name}");
            let lp = fs.attr(&fs.boot.lookup(b"/dev/loop9").unwrap().unwrap());
            assert_eq!((lp.kind, lp.perm), (FileType::BlockDevice, 0o640), "{name}");
        }
    }

    #[test]
    fn ranged_reads_match_the_engine_and_stop_at_the_end() {
        let Some(fs) = image("v6-lz4-64k") else {
            return;
        };
        let inode = fs.boot.lookup(b"/sizes/three-chunks").unwrap().unwrap();
        let whole = fs.shared.reader.read_file(&inode).unwrap();
        let size = whole.len() as u64;
        for (offset, len) in [
            (0, 1),
            (65535, 2),
            (1000, 200_000),
            (size - 10, 4096),
            (size, 10),
            (size + 5, 10),
        ] {
            let got = fs.read_bytes(&inode, offset, len).unwrap();
            let from = offset.min(size) as usize;
            let to = (offset + len).min(size) as usize;
            assert_eq!(got, whole[from..to], "{offset}+{len}");
        }
        // The chunks read are kept in memory: reading them again fetches nothing.
        let before = fs.shared.reader.stats().snapshot().0;
        fs.read_bytes(&inode, 1000, 200_000).unwrap();
        assert_eq!(fs.shared.reader.stats().snapshot().0, before);
    }

    #[test]
    fn sequential_reads_fetch_ahead_in_the_background() {
        let Some(fs) = image("v6-lz4-64k") else {
            return;
        };
        let inode = fs.boot.lookup(b"/sizes/three-chunks").unwrap().unwrap();
        fs.read_bytes(&inode, 0, 4096).unwrap();
        fs.read_ahead(&inode, 4096);
        let ahead = overlapping(&inode, 65536, 4 * 65536).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !ahead
            .iter()
            .all(|c| fs.shared.memory.contains((c.blob_index, c.index)))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "nothing fetched ahead"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // The next chunks are now served from memory.
        let requests = fs.shared.reader.stats().snapshot().0;
        fs.read_bytes(&inode, 65536, 3 * 65536).unwrap();
        assert_eq!(fs.shared.reader.stats().snapshot().0, requests);
    }

    #[test]
    fn prefetch_warms_the_table() {
        let Some(fs) = image("v6-prefetch") else {
            return;
        };
        assert!(!fs.boot.prefetch().unwrap().is_empty());
        let wanted = fs.start_prefetch().unwrap().join().unwrap();
        assert!(wanted > 0);
        assert!(
            fs.shared.reader.stats().snapshot().2 > 0,
            "chunks were fetched"
        );
    }

    #[test]
    fn a_missed_chunk_brings_its_stored_neighbours_and_nothing_is_fetched_twice() {
        for name in ["v6-zstd", "v5-lz4"] {
            let Some(fs) = image(name) else {
                return;
            };
            let requests = || fs.shared.reader.stats().snapshot().0;
            let first = fs.boot.lookup(b"/wide/entry-0000").unwrap().unwrap();
            assert_eq!(fs.read_bytes(&first, 0, 100).unwrap(), b"0\n");
            let after_first = requests();
            assert_eq!(after_first, 1, "{name}");
            // The next small files are stored right after it: already in memory.
            for i in 1..50 {
                let path = format!("/wide/entry-{i:04}");
                let inode = fs.boot.lookup(path.as_bytes()).unwrap().unwrap();
                assert_eq!(
                    fs.read_bytes(&inode, 0, 100).unwrap(),
                    format!("{i}\n").as_bytes()
                );
            }
            assert_eq!(
                requests(),
                after_first,
                "{name}: neighbours were fetched again"
            );
            // Many threads reading the same big chunk at once fetch it once.
            let big = fs.boot.lookup(b"/sizes/text").unwrap().unwrap();
            let before = requests();
            std::thread::scope(|s| {
                for t in 0..8u64 {
                    let (fs, big) = (&fs, &big);
                    s.spawn(move || fs.read_bytes(big, t * 4096, 4096).unwrap());
                }
            });
            let sent = requests() - before;
            assert_eq!(
                sent, 1,
                "{name}: {sent} requests for one chunk read by 8 threads"
            );
        }
    }
}
