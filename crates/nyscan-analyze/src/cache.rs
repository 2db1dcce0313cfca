//! The scan cache: what an analyzer made of a file, kept on disk so that a re-scan, or a scan
//! of another image holding the same file, does not fetch it again.
//!
//! An entry is keyed by an [`EntryKey`]: the analyzer's name and version, the file's path and
//! its [`ContentId`] (the file's size and the digests of its chunks at their offsets, as the
//! bootstrap records them: the content is identified without reading a byte of it), plus the
//! scope the result depends on (the planner adds its bounds and, for the packages phase, the
//! detected OS). Bumping an analyzer's [`version`](crate::analyzer::Analyzer::version)
//! changes every key of it, so its old entries are never read again and age out.
//!
//! The value is an [`Outcome`]: the findings (empty ones too: "nothing here" is worth
//! remembering), or why the file was left out (damaged, over a bound). Failed fetches are
//! never stored.
//!
//! On disk (`$XDG_CACHE_HOME/nyscan/scan` by default) each entry is one file,
//! `<dir>/<xx>/<key hex>`: a header (magic, format, key, payload length and BLAKE3 digest)
//! and the outcome as JSON. It is written to a temporary file and renamed into place, so
//! processes share the cache safely; a reader ignores (and removes) an entry that is short,
//! damaged or not what its name says. Past the size bound the least recently used entries
//! (by mtime, refreshed on every hit) are removed until the cache is under 90 % of it.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use nyscan_rafs::{Chunk, Digester};
use serde::{Deserialize, Serialize};

use crate::analyzer::Findings;

/// Default bound: 256 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// Entries larger than this are neither written nor read.
const MAX_ENTRY_BYTES: u64 = 64 << 20;

/// The first bytes of every entry.
const MAGIC: &[u8; 8] = b"NYSCANSC";

/// Version of the entry layout and of the key derivation; a change makes old entries misses.
const FORMAT: u32 = 1;

/// Header: magic, format (u32 LE), key (32), payload length (u64 LE), payload BLAKE3 (32).
const HEADER_BYTES: usize = 8 + 4 + 32 + 8 + 32;

/// Disk space an entry is counted for, at least (one file system block).
const BLOCK: u64 = 4096;

/// Temporary files older than this are left-overs of a process that died while writing.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// The identity of a file's content, from the bootstrap alone: its size, the digest
/// algorithm, and each chunk's offset in the file, size and digest. Two files with the same
/// identity have the same bytes (holes included), as far as the digests can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentId([u8; 32]);

impl ContentId {
    /// The identity of a file of `size` bytes made of `chunks` (in any order).
    pub fn new(size: u64, digester: Digester, chunks: &[Chunk]) -> ContentId {
        let mut sorted: Vec<&Chunk> = chunks.iter().collect();
        sorted.sort_by_key(|c| (c.file_offset, c.uncompressed_size));
        let mut h = blake3::Hasher::new();
        h.update(b"nyscan content id\0");
        h.update(&size.to_le_bytes());
        h.update(digester_name(digester).as_bytes());
        h.update(&(sorted.len() as u64).to_le_bytes());
        for c in sorted {
            h.update(&c.file_offset.to_le_bytes());
            h.update(&c.uncompressed_size.to_le_bytes());
            h.update(&c.digest);
        }
        ContentId(*h.finalize().as_bytes())
    }

    /// The identity as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn digester_name(digester: Digester) -> &'static str {
    match digester {
        Digester::Blake3 => "blake3",
        Digester::Sha256 => "sha256",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// What an entry is keyed by.
#[derive(Debug, Clone, Copy)]
pub struct KeyParts<'a> {
    /// The analyzer's name.
    pub analyzer: &'a str,
    /// The analyzer's version.
    pub version: u32,
    /// The file's path in the image, without a leading `/`.
    pub path: &'a str,
    /// The file's content.
    pub content: &'a ContentId,
    /// Anything else the result depends on (bounds of the scan, facts from an earlier phase).
    pub scope: &'a [u8],
}

/// The key of one entry: a BLAKE3 digest of its [`KeyParts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryKey([u8; 32]);

impl EntryKey {
    /// The key of `parts`; every part is length-prefixed, so different parts never collide by
    /// concatenation.
    pub fn new(parts: &KeyParts<'_>) -> EntryKey {
        let mut h = blake3::Hasher::new();
        h.update(b"nyscan scan cache\0");
        h.update(&FORMAT.to_le_bytes());
        let mut field = |bytes: &[u8]| {
            h.update(&(bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(parts.analyzer.as_bytes());
        field(&parts.version.to_le_bytes());
        field(parts.path.as_bytes());
        field(parts.content.as_bytes());
        field(parts.scope);
        EntryKey(*h.finalize().as_bytes())
    }

    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// How the analysis of one file ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// What the file contributed (possibly nothing).
    Found(Findings),
    /// The file is damaged or not what its name says.
    Invalid(String),
    /// The file exceeds a bound.
    Limit(String),
}

/// Why a scan cache could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the scan cache directory {}", dir.display())]
pub struct OpenError {
    /// The directory.
    pub dir: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// What a cache handle did.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Lookups answered.
    pub hits: AtomicU64,
    /// Lookups not answered (absent entries, and damaged ones, which count as misses).
    pub misses: AtomicU64,
    /// Damaged entries found and removed.
    pub damaged: AtomicU64,
    /// Entries written.
    pub stored: AtomicU64,
}

/// The on-disk scan cache, shared safely by threads and processes.
#[derive(Debug)]
pub struct ScanCache {
    dir: PathBuf,
    max_bytes: u64,
    /// Bytes in the cache, measured on the first write (reads never need it).
    size: OnceLock<AtomicU64>,
    evicting: std::sync::Mutex<()>,
    stats: CacheStats,
}

/// Numbers temporary files: with the process id, unique among every handle of every process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl ScanCache {
    /// The default location: `$XDG_CACHE_HOME/nyscan/scan`, else `~/.cache/nyscan/scan`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("nyscan").join("scan"))
    }

    /// Opens (creating) a cache in `dir` bounded to `max_bytes`.
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> Result<ScanCache, OpenError> {
        let dir = dir.into();
        if let Err(source) = std::fs::create_dir_all(&dir) {
            return Err(OpenError { dir, source });
        }
        Ok(ScanCache {
            dir,
            max_bytes,
            size: OnceLock::new(),
            evicting: std::sync::Mutex::new(()),
            stats: CacheStats::default(),
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What this handle did so far.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    fn path(&self, key: &EntryKey) -> PathBuf {
        let hex = key.hex();
        self.dir.join(&hex[..2]).join(hex)
    }

    /// The outcome stored under `key`, if there is an intact one. A damaged entry is removed
    /// and counts as a miss.
    pub fn get(&self, key: &EntryKey) -> Option<Outcome> {
        let path = self.path(key);
        let found = match std::fs::File::open(&path) {
            Ok(file) => match read_entry(file, key) {
                Ok(outcome) => Some(outcome),
                Err(()) => {
                    self.stats.damaged.fetch_add(1, Ordering::Relaxed);
                    // Another process may be renaming a good entry in right now; removing
                    // that only costs a miss later.
                    let _ = std::fs::remove_file(&path);
                    None
                }
            },
            Err(_) => None,
        };
        let counter = if found.is_some() {
            &self.stats.hits
        } else {
            &self.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores `outcome` under `key`. Errors are returned, but a cache that cannot be written
    /// is never a reason to fail a scan: callers may ignore them.
    pub fn put(&self, key: &EntryKey, outcome: &Outcome) -> io::Result<()> {
        let payload = serde_json::to_vec(outcome).map_err(io::Error::other)?;
        if payload.len() as u64 + HEADER_BYTES as u64 > MAX_ENTRY_BYTES {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(HEADER_BYTES + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT.to_le_bytes());
        bytes.extend_from_slice(&key.0);
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(blake3::hash(&payload).as_bytes());
        bytes.extend_from_slice(&payload);

        let path = self.path(key);
        let parent = path.parent().expect("entries live in a subdirectory");
        std::fs::create_dir_all(parent)?;
        let tmp = parent.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&tmp, &bytes)?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.stats.stored.fetch_add(1, Ordering::Relaxed);
        let mut measured = false;
        let size = self.size.get_or_init(|| {
            // Measured after this write landed: the entry is counted already.
            measured = true;
            AtomicU64::new(entries(&self.dir).iter().map(|e| e.1).sum())
        });
        let total = if measured {
            size.load(Ordering::Relaxed)
        } else {
            let added = charged(bytes.len() as u64);
            size.fetch_add(added, Ordering::Relaxed) + added
        };
        if total > self.max_bytes {
            self.evict();
        }
        Ok(())
    }

    /// Removes the least recently used entries until the cache is under 90 % of its bound,
    /// and temporary files that writers left behind.
    fn evict(&self) {
        let Ok(_guard) = self.evicting.try_lock() else {
            return;
        };
        let mut all = entries(&self.dir);
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
        if let Some(size) = self.size.get() {
            size.store(total, Ordering::Relaxed);
        }
        remove_stale_tmp(&self.dir);
    }
}

/// Disk space an entry of `len` bytes is counted for.
fn charged(len: u64) -> u64 {
    len.div_ceil(BLOCK).max(1) * BLOCK
}

/// Reads and checks one entry; `Err` for anything short, damaged or keyed otherwise.
fn read_entry(file: std::fs::File, key: &EntryKey) -> Result<Outcome, ()> {
    let len = file.metadata().map_err(drop)?.len();
    if !(HEADER_BYTES as u64..=MAX_ENTRY_BYTES).contains(&len) {
        return Err(());
    }
    let mut bytes = Vec::with_capacity(len as usize);
    (&file)
        .take(MAX_ENTRY_BYTES)
        .read_to_end(&mut bytes)
        .map_err(drop)?;
    let (header, payload) = bytes.split_at_checked(HEADER_BYTES).ok_or(())?;
    let field = |at: usize, n: usize| &header[at..at + n];
    let payload_len = u64::from_le_bytes(field(44, 8).try_into().map_err(drop)?);
    let intact = field(0, 8) == MAGIC
        && field(8, 4) == FORMAT.to_le_bytes()
        && field(12, 32) == key.0
        && payload_len == payload.len() as u64
        && field(52, 32) == blake3::hash(payload).as_bytes();
    if !intact {
        return Err(());
    }
    // Refresh the entry's age for eviction; failure only affects eviction order.
    let _ = file.set_modified(SystemTime::now());
    serde_json::from_slice(payload).map_err(drop)
}

/// Every entry: (path, counted size, mtime).
fn entries(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    let Ok(subs) = std::fs::read_dir(dir) else {
        return out;
    };
    for sub in subs.flatten() {
        if !sub.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(sub.path()) else {
            continue;
        };
        for e in files.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                continue;
            }
            if let Ok(m) = e.metadata() {
                out.push((
                    e.path(),
                    charged(m.len()),
                    m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                ));
            }
        }
    }
    out
}

/// Removes temporary files older than [`STALE_TMP`].
fn remove_stale_tmp(dir: &Path) {
    let Ok(subs) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for sub in subs.flatten() {
        let Ok(files) = std::fs::read_dir(sub.path()) else {
            continue;
        };
        for e in files.flatten() {
            let stale = e.file_name().to_string_lossy().starts_with(".tmp-")
                && e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE_TMP));
            if stale {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{OsInfo, Package, PackageType};
    use nyscan_rafs::ChunkFlags;

    fn chunk(file_offset: u64, size: u32, digest: u8) -> Chunk {
        Chunk {
            digest: [digest; 32],
            blob_index: 0,
            index: 0,
            flags: ChunkFlags(0),
            compressed_offset: 0,
            compressed_size: size,
            uncompressed_offset: 0,
            uncompressed_size: size,
            file_offset,
            crc32: None,
        }
    }

    /// Outcomes compared by their serialized form.
    fn same(a: Option<Outcome>, b: Option<&Outcome>) -> bool {
        let json = |o: Option<&Outcome>| o.map(|o| serde_json::to_value(o).unwrap());
        json(a.as_ref()) == json(b)
    }

    fn key(analyzer: &str, version: u32, path: &str, content: &ContentId) -> EntryKey {
        EntryKey::new(&KeyParts {
            analyzer,
            version,
            path,
            content,
            scope: b"",
        })
    }

    fn findings() -> Findings {
        Findings {
            packages: vec![Package {
                kind: PackageType::NodePkg,
                name: "left-pad".into(),
                version: "1.3.0".into(),
                arch: None,
                source: None,
                licenses: vec!["WTFPL".into()],
                purl: "pkg:npm/left-pad@1.3.0".into(),
                locations: vec!["app/node_modules/left-pad/package.json".into()],
            }],
            os: Some(OsInfo {
                family: "debian".into(),
                name: "12.5".into(),
            }),
            owned_files: vec!["usr/bin/a".into()],
            package_files: vec![("bash".into(), vec!["bin/bash".into()])],
            third_party: vec!["x".into()],
            secrets: vec![crate::secret::SecretFinding {
                path: "app/.env".into(),
                start_line: 2,
                end_line: 2,
                rule_id: "github-pat".into(),
                category: "GitHub".into(),
                severity: nyscan_secrets::Severity::Critical,
                title: "GitHub Personal Access Token".into(),
                offset: 12,
                masked: "ghp_****".into(),
                context: "GH=ghp_****".into(),
            }],
            partial: Some("only the first 10 of its 20 bytes were scanned".into()),
        }
    }

    #[test]
    fn content_ids_follow_size_digests_and_offsets_only() {
        let a = [chunk(0, 100, 1), chunk(100, 50, 2)];
        let id = ContentId::new(150, Digester::Blake3, &a);
        // Order of the list does not matter; blob placement does not either.
        let mut moved = [a[1], a[0]];
        moved[0].blob_index = 3;
        moved[0].compressed_offset = 999;
        assert_eq!(ContentId::new(150, Digester::Blake3, &moved), id);
        // Size (a hole at the end), a digest, an offset and the digester do.
        assert_ne!(ContentId::new(200, Digester::Blake3, &a), id);
        assert_ne!(
            ContentId::new(150, Digester::Blake3, &[a[0], chunk(100, 50, 9)]),
            id
        );
        assert_ne!(
            ContentId::new(150, Digester::Blake3, &[a[0], chunk(101, 50, 2)]),
            id
        );
        assert_ne!(ContentId::new(150, Digester::Sha256, &a), id);
        let k = key("node", 1, "a/package.json", &id);
        assert_eq!(k, key("node", 1, "a/package.json", &id));
        assert_ne!(k, key("node", 2, "a/package.json", &id));
        assert_ne!(k, key("nod", 1, "ea/package.json", &id));
        assert_ne!(k, key("node", 1, "b/package.json", &id));
    }

    #[test]
    fn stores_reads_and_ignores_damaged_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ScanCache::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
        let id = ContentId::new(10, Digester::Blake3, &[chunk(0, 10, 7)]);
        let k = key("node", 1, "p.json", &id);
        assert!(cache.get(&k).is_none());
        let outcome = Outcome::Found(findings());
        cache.put(&k, &outcome).unwrap();
        assert!(same(cache.get(&k), Some(&outcome)));
        let invalid = key("node", 1, "q.json", &id);
        cache
            .put(&invalid, &Outcome::Invalid("line 3: bad".into()))
            .unwrap();
        // Another handle (another process) sees both.
        let again = ScanCache::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
        assert!(same(
            again.get(&invalid),
            Some(&Outcome::Invalid("line 3: bad".into()))
        ));

        // Every kind of damage is a miss, and the entry goes away.
        let path = cache.path(&k);
        let good = std::fs::read(&path).unwrap();
        let damages: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("torn header", good[..HEADER_BYTES / 2].to_vec()),
            ("torn payload", good[..good.len() - 3].to_vec()),
            ("flipped payload byte", {
                let mut b = good.clone();
                *b.last_mut().unwrap() ^= 1;
                b
            }),
            ("other format", {
                let mut b = good.clone();
                b[8] ^= 0xff;
                b
            }),
            (
                "another key's entry",
                std::fs::read(cache.path(&invalid)).unwrap(),
            ),
            ("payload not an outcome", {
                let payload = b"{\"found\":{\"packages\":[]}}".to_vec();
                let mut b = good[..HEADER_BYTES].to_vec();
                b[44..52].copy_from_slice(&(payload.len() as u64).to_le_bytes());
                b[52..84].copy_from_slice(blake3::hash(&payload).as_bytes());
                b.extend_from_slice(&payload);
                b
            }),
        ];
        for (what, bytes) in damages {
            std::fs::write(&path, bytes).unwrap();
            assert!(cache.get(&k).is_none(), "{what}");
            assert!(!path.exists(), "{what}: the damaged entry is removed");
        }
        assert_eq!(cache.stats().damaged.load(Ordering::Relaxed), 7);
        // Rewritten, it reads again.
        cache.put(&k, &outcome).unwrap();
        assert!(same(cache.get(&k), Some(&outcome)));
    }

    #[test]
    fn handles_of_several_writers_and_readers_never_see_a_partial_entry() {
        let dir = tempfile::tempdir().unwrap();
        let id = ContentId::new(10, Digester::Blake3, &[chunk(0, 10, 3)]);
        let keys: Vec<EntryKey> = (0..8)
            .map(|i| key("node", 1, &format!("p{i}.json"), &id))
            .collect();
        let outcome = Outcome::Found(findings());
        let expected = serde_json::to_value(&outcome).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    // A handle of its own, as another process would have.
                    let cache = ScanCache::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
                    for _ in 0..20 {
                        for k in &keys {
                            cache.put(k, &outcome).unwrap();
                            let read = cache.get(k).map(|o| serde_json::to_value(o).unwrap());
                            assert_eq!(read.as_ref(), Some(&expected));
                        }
                    }
                    assert_eq!(cache.stats().damaged.load(Ordering::Relaxed), 0);
                });
            }
        });
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), keys.len(), "no temporary file left: {names:?}");
    }

    #[test]
    fn evicts_least_recently_used_entries() {
        let dir = tempfile::tempdir().unwrap();
        // Room for three entries of one block each.
        let cache = ScanCache::open(dir.path(), 3 * BLOCK).unwrap();
        let keys: Vec<EntryKey> = (0..5u8)
            .map(|i| {
                let id = ContentId::new(1, Digester::Blake3, &[chunk(0, 1, i)]);
                key("a", 1, "f", &id)
            })
            .collect();
        let outcome = Outcome::Found(Findings::default());
        for (i, k) in keys.iter().enumerate() {
            cache.put(k, &outcome).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            if i == 2 {
                // Reading the first entry makes it recent.
                assert!(cache.get(&keys[0]).is_some());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let total: u64 = entries(dir.path()).iter().map(|e| e.1).sum();
        assert!(total <= 3 * BLOCK, "{total}");
        assert!(cache.get(&keys[4]).is_some(), "newest kept");
        assert!(cache.get(&keys[0]).is_some(), "recently read kept");
        assert!(cache.get(&keys[1]).is_none(), "least recently used evicted");
    }
}
