//! A local content-addressed chunk cache, shared safely by several processes.
//!
//! Chunks are stored uncompressed under their digest (`<dir>/<xx>/<algo>-<hex>`), written to
//! a temporary file and renamed into place, so a reader never sees a partial chunk. Entries
//! are verified again when read: a damaged entry is deleted and fetched anew. When the cache
//! grows past its bound, the least recently used entries (by mtime, refreshed on each hit) are
//! removed until it is under 90 % of the bound.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use nyscan_rafs::Digester;

/// Numbers temporary files: one counter for the process, so two caches over one directory
/// in the same process never pick the same temporary name.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Default bound: 2 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

/// The chunk cache.
#[derive(Debug)]
pub struct ChunkCache {
    dir: PathBuf,
    max_bytes: u64,
    size: AtomicU64,
    evicting: Mutex<()>,
}

impl ChunkCache {
    /// The default location: `$XDG_CACHE_HOME/nyscan/chunks`, else `~/.cache/nyscan/chunks`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("nyscan").join("chunks"))
    }

    /// Opens (creating) a cache in `dir` bounded to `max_bytes`.
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> io::Result<ChunkCache> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let size = entries(&dir)?.iter().map(|e| e.1).sum();
        Ok(ChunkCache {
            dir,
            max_bytes,
            size: AtomicU64::new(size),
            evicting: Mutex::new(()),
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digester: Digester, digest: &[u8; 32]) -> PathBuf {
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let algo = match digester {
            Digester::Sha256 => "sha256",
            _ => "blake3",
        };
        self.dir.join(&hex[..2]).join(format!("{algo}-{hex}"))
    }

    /// The cached bytes of a chunk, if present (unverified: the caller verifies).
    pub fn get(&self, digester: Digester, digest: &[u8; 32]) -> Option<Vec<u8>> {
        let path = self.path(digester, digest);
        let data = std::fs::read(&path).ok()?;
        // Refresh the entry's age for eviction; failure only affects eviction order.
        let _ = filetime::set_file_mtime(&path, filetime::FileTime::now());
        Some(data)
    }

    /// Drops a damaged entry.
    pub fn remove(&self, digester: Digester, digest: &[u8; 32]) {
        let path = self.path(digester, digest);
        if let Ok(m) = std::fs::metadata(&path)
            && std::fs::remove_file(&path).is_ok()
        {
            self.size.fetch_sub(
                m.len().min(self.size.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
        }
    }

    /// Stores a verified chunk. Errors are returned, but a cache that cannot be written is
    /// never a reason to fail a read: callers may ignore them.
    pub fn put(&self, digester: Digester, digest: &[u8; 32], data: &[u8]) -> io::Result<()> {
        let path = self.path(digester, digest);
        if path.exists() {
            return Ok(());
        }
        let parent = path.parent().expect("entries live in a subdirectory");
        std::fs::create_dir_all(parent)?;
        let tmp = parent.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&tmp, data)?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        let size = self.size.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
        if size > self.max_bytes {
            self.evict()?;
        }
        Ok(())
    }

    /// Removes the oldest entries until the cache is under 90 % of its bound.
    fn evict(&self) -> io::Result<()> {
        let Ok(_guard) = self.evicting.try_lock() else {
            return Ok(());
        };
        let mut all = entries(&self.dir)?;
        all.sort_by_key(|e| e.2);
        let mut total: u64 = all.iter().map(|e| e.1).sum();
        let target = self.max_bytes / 10 * 9;
        for (path, len, _) in all {
            if total <= target {
                break;
            }
            // Another process may have removed it already.
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
        self.size.store(total, Ordering::Relaxed);
        Ok(())
    }
}

/// Every entry: (path, size, mtime).
fn entries(dir: &Path) -> io::Result<Vec<(PathBuf, u64, std::time::SystemTime)>> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir)? {
        let sub = sub?;
        if !sub.file_type()?.is_dir() {
            continue;
        }
        for e in std::fs::read_dir(sub.path())? {
            let e = e?;
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                continue;
            }
            let m = e.metadata()?;
            out.push((
                e.path(),
                m.len(),
                m.modified().unwrap_or(std::time::UNIX_EPOCH),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_reads_and_evicts_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 3000).unwrap();
        for i in 0..5u8 {
            let mut d = [0u8; 32];
            d[0] = i;
            cache.put(Digester::Blake3, &d, &[i; 1000]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let total: u64 = entries(dir.path()).unwrap().iter().map(|e| e.1).sum();
        assert!(total <= 3000, "{total}");
        let mut newest = [0u8; 32];
        newest[0] = 4;
        assert_eq!(
            cache.get(Digester::Blake3, &newest).unwrap(),
            vec![4u8; 1000]
        );
        assert!(
            cache.get(Digester::Blake3, &[0u8; 32]).is_none(),
            "oldest evicted"
        );
        assert!(
            cache.get(Digester::Sha256, &newest).is_none(),
            "digest spaces are apart"
        );
        // A second handle (another process) sees the same entries.
        let again = ChunkCache::open(dir.path(), 3000).unwrap();
        assert!(again.get(Digester::Blake3, &newest).is_some());
    }
}
