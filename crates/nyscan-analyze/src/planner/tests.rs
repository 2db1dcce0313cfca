//! The planner over real images built by the official `nydus-image`: rounds, chunk reuse,
//! hardlinks, ownership, bounds and fetch failures.

use std::path::Path;
use std::sync::Mutex;

use nyscan_image::{ChunkReader, FetchOptions};
use nyscan_rafs::Bootstrap;
use nyscan_source::BlobDir;
use nyscan_testutil::build::{NydusImage, build_nydus_image};
use nyscan_testutil::skip;

use super::*;
use crate::analyzer::{FileMeta, Initial};
use crate::bytes::{ByteSource, Need};
use crate::cache::ScanCache;
use crate::package::{Package, PackageType};

const MIB: usize = 1 << 20;

/// Reads the first 16 bytes, then the last 16 (a second round), and reports a package named
/// after both: the shape of ELF/zip readers.
#[derive(Debug, Default)]
struct HeadThenTail {
    runs: Mutex<Vec<String>>,
}

impl Analyzer for HeadThenTail {
    fn name(&self) -> &'static str {
        "head-then-tail"
    }
    fn version(&self) -> u32 {
        1
    }
    fn select(&self, path: &str, _meta: &FileMeta) -> Option<Initial> {
        path.ends_with(".bin").then_some(Initial::Head(16))
    }
    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        self.runs.lock().unwrap().push(path.to_owned());
        let head = data.read_at(0, 16)?;
        let tail = data.read_at(data.len() - 16, 16)?;
        Ok(Findings {
            packages: vec![package(
                &String::from_utf8_lossy(&head),
                &String::from_utf8_lossy(&tail),
                path,
            )],
            ..Findings::default()
        })
    }
}

/// Owns every path listed in `owned.txt` (an OS-phase ownership list).
#[derive(Debug)]
struct OwnershipList;

impl Analyzer for OwnershipList {
    fn name(&self) -> &'static str {
        "ownership-list"
    }
    fn version(&self) -> u32 {
        1
    }
    fn phase(&self) -> Phase {
        Phase::Os
    }
    fn select(&self, path: &str, _meta: &FileMeta) -> Option<Initial> {
        (path == "owned.txt").then_some(Initial::Whole)
    }
    fn analyze(
        &self,
        _path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        let text = data.read_at(0, data.len() as usize)?;
        Ok(Findings {
            owned_files: String::from_utf8_lossy(&text)
                .lines()
                .map(str::to_owned)
                .collect(),
            ..Findings::default()
        })
    }
}

/// Asks for the same bytes forever, or for ranges it does not use: misbehaving analyzers
/// must end in a note, not a loop.
#[derive(Debug)]
struct Greedy;

impl Analyzer for Greedy {
    fn name(&self) -> &'static str {
        "greedy"
    }
    fn version(&self) -> u32 {
        1
    }
    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        (path.ends_with(".greedy") && meta.size > 0).then_some(Initial::Head(1))
    }
    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        if path.starts_with("again") {
            // Bytes it has already.
            Err(AnalyzeError::Need(Need::range(0..1)))
        } else {
            // One new byte each run.
            let known = (0..data.len())
                .take_while(|&i| data.read_at(i, 1).is_ok())
                .count() as u64;
            Err(AnalyzeError::Need(Need::range(known..known + 1)))
        }
    }
}

fn package(name: &str, version: &str, path: &str) -> Package {
    Package {
        kind: PackageType::NodePkg,
        name: name.trim_end_matches('\0').to_owned(),
        version: version.trim_end_matches('\0').to_owned(),
        arch: None,
        source: None,
        licenses: Vec::new(),
        purl: format!("pkg:test/{}", name.trim_end_matches('\0')),
        locations: vec![path.to_owned()],
    }
}

/// `size` bytes that start with `head` and end with `tail` (16 bytes each, NUL padded), the
/// middle pseudo-random so chunks do not dedup.
fn content(head: &str, tail: &str, size: usize, seed: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(size);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while data.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(size);
    let pad = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b.resize(16, 0);
        b
    };
    data[..16].copy_from_slice(&pad(head));
    data[size - 16..].copy_from_slice(&pad(tail));
    data
}

fn build(tree: &Path, out: &Path) -> Option<NydusImage> {
    match build_nydus_image(tree, out, 6) {
        Ok(image) => Some(image),
        Err(reason) => {
            skip("planner test", &reason);
            None
        }
    }
}

fn scan_image(image: &NydusImage, analyzers: &[Box<dyn Analyzer>], limits: &Limits) -> Scan {
    let bytes = std::fs::read(&image.boot).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let blobs = BlobDir::new(&image.blob_dir);
    let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
    scan(&reader, analyzers, limits).unwrap()
}

#[test]
fn rounds_fetch_each_chunk_once_and_share_hardlinks_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("a")).unwrap();
    // 3.5 MiB: four chunks of 1 MiB; only the first and the last are needed.
    let big = content("big-head", "big-tail", 3 * MIB + MIB / 2, 1);
    std::fs::write(tree.join("a/big.bin"), &big).unwrap();
    std::fs::hard_link(tree.join("a/big.bin"), tree.join("a/link.bin")).unwrap();
    // Same content at another path: the same chunks (dedup), fetched once.
    std::fs::write(tree.join("copy.bin"), &big).unwrap();
    std::fs::write(tree.join("small.bin"), content("s-head", "s-tail", 100, 2)).unwrap();
    std::fs::write(tree.join("empty.bin"), b"").unwrap();
    let Some(image) = build(&tree, &dir.path().join("image")) else {
        return;
    };
    let analyzer = HeadThenTail::default();
    let analyzers: Vec<Box<dyn Analyzer>> = vec![Box::new(analyzer)];
    let result = scan_image(&image, &analyzers, &Limits::default());
    let found: Vec<(String, String, Vec<String>)> = result
        .inventory
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.locations.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "big-head".to_owned(),
                "big-tail".to_owned(),
                vec![
                    "a/big.bin".to_owned(),
                    "a/link.bin".to_owned(),
                    "copy.bin".to_owned()
                ]
            ),
            (
                "s-head".to_owned(),
                "s-tail".to_owned(),
                vec!["small.bin".to_owned()]
            ),
        ],
        "notes: {:?}",
        result.inventory.notes
    );
    // The empty file cannot hold 16 bytes: a note, and the scan went on.
    assert_eq!(
        result.inventory.notes.len(),
        1,
        "{:?}",
        result.inventory.notes
    );
    assert_eq!(result.inventory.notes[0].path, "empty.bin");
    let stats = result.stats;
    // Round 1: first chunk of big (shared by three paths) and small; round 2: last chunk.
    assert_eq!(stats.rounds, 2, "{stats:?}");
    assert_eq!(stats.chunks, 3, "{stats:?}");
    assert_eq!(stats.selected, 5);
    assert!(
        stats.fetched_bytes < image.blob_bytes() / 2,
        "{stats:?} of {}",
        image.blob_bytes()
    );
    assert_eq!(stats.blob_bytes, image.blob_bytes());
}

#[test]
fn owned_paths_are_skipped_and_misbehaving_analyzers_end() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
    std::os::unix::fs::symlink("usr/bin", tree.join("bin")).unwrap();
    std::fs::write(tree.join("owned.txt"), "bin/tool.bin\nother.bin\n").unwrap();
    std::fs::write(tree.join("usr/bin/tool.bin"), content("tool", "1", 64, 3)).unwrap();
    std::fs::write(tree.join("other.bin"), content("other", "1", 64, 4)).unwrap();
    std::fs::write(tree.join("mine.bin"), content("mine", "2", 64, 5)).unwrap();
    std::fs::write(tree.join("again.greedy"), content("x", "y", 64, 6)).unwrap();
    std::fs::write(tree.join("more.greedy"), content("x", "y", 3 * MIB, 7)).unwrap();
    std::fs::write(tree.join("huge.bin"), content("huge", "file", 2 * MIB, 8)).unwrap();
    let Some(image) = build(&tree, &dir.path().join("image")) else {
        return;
    };
    let analyzers: Vec<Box<dyn Analyzer>> = vec![
        Box::new(OwnershipList),
        Box::new(HeadThenTail::default()),
        Box::new(Greedy),
    ];
    let limits = Limits {
        max_runs: 2,
        ..Limits::default()
    };
    let result = scan_image(&image, &analyzers, &limits);
    let names: Vec<&str> = result
        .inventory
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    // tool.bin is owned through the `bin` link, other.bin directly.
    assert_eq!(names, ["huge", "mine"]);
    assert_eq!(result.stats.skipped_owned, 2);
    let notes: Vec<(&str, NoteKind, &str)> = result
        .inventory
        .notes
        .iter()
        .map(|n| (n.path.as_str(), n.kind, n.message.as_str()))
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[0].0, "again.greedy");
    assert_eq!(notes[0].1, NoteKind::Invalid);
    assert!(notes[0].2.contains("already has"), "{notes:?}");
    assert_eq!(notes[1].0, "more.greedy");
    assert_eq!(notes[1].1, NoteKind::Limit);
    assert!(notes[1].2.contains("2 runs"), "{notes:?}");

    // A file that needs more bytes than allowed: a note, without fetching past the bound.
    let limits = Limits {
        max_file_bytes: MIB as u64,
        ..Limits::default()
    };
    let result = scan_image(&image, &analyzers, &limits);
    let huge = result
        .inventory
        .notes
        .iter()
        .find(|n| n.path == "huge.bin")
        .expect("a note for huge.bin");
    assert_eq!(huge.kind, NoteKind::Limit);
    assert!(huge.message.contains("limit"), "{huge:?}");
    assert!(!result.inventory.packages.iter().any(|p| p.name == "huge"));
}

#[test]
fn damaged_blob_bytes_make_notes_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    for (i, name) in ["a.bin", "b.bin", "c.bin"].iter().enumerate() {
        let data = content(name, "v1", 4096, 10 + i as u64);
        std::fs::write(tree.join(name), data).unwrap();
    }
    let Some(image) = build(&tree, &dir.path().join("image")) else {
        return;
    };
    // Damage the stored bytes of b.bin's only chunk.
    let bytes = std::fs::read(&image.boot).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let inode = boot.lookup(b"/b.bin").unwrap().unwrap();
    let chunk = inode.chunks().next().unwrap().unwrap();
    let blob = &boot.blobs()[chunk.blob_index as usize];
    let path = image.blob_dir.join(&blob.id);
    let mut data = std::fs::read(&path).unwrap();
    let at = chunk.compressed_offset as usize + chunk.compressed_size as usize / 2;
    data[at] ^= 0xff;
    std::fs::write(&path, data).unwrap();

    let analyzers: Vec<Box<dyn Analyzer>> = vec![Box::new(HeadThenTail::default())];
    let result = scan_image(&image, &analyzers, &Limits::default());
    let names: Vec<&str> = result
        .inventory
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["a.bin", "c.bin"]);
    assert_eq!(result.inventory.notes.len(), 1);
    let note = &result.inventory.notes[0];
    assert_eq!((note.path.as_str(), note.kind), ("b.bin", NoteKind::Fetch));
    assert!(note.message.contains(&blob.id), "{note:?}");
}

/// An analyzer with another version: the scan cache must not answer for the old one.
#[derive(Debug)]
struct WithVersion<A>(A, u32);

impl<A: Analyzer> Analyzer for WithVersion<A> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn version(&self) -> u32 {
        self.1
    }
    fn phase(&self) -> Phase {
        self.0.phase()
    }
    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        self.0.select(path, meta)
    }
    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        self.0.analyze(path, data, context)
    }
}

fn cached_scan(image: &NydusImage, analyzers: &[Box<dyn Analyzer>], cache: &ScanCache) -> Scan {
    let bytes = std::fs::read(&image.boot).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let blobs = BlobDir::new(&image.blob_dir);
    // No chunk cache: every byte the scan cache does not spare is fetched.
    let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
    let options = Options {
        cache: Some(cache),
        ..Options::default()
    };
    scan_with(&reader, analyzers, &options).unwrap()
}

/// Writes the tree of the cache tests: an ownership list (OS phase) owning `owned.bin`, a
/// large file whose first and last chunks are read, small files, an empty file (a note).
fn write_cache_tree(tree: &Path, changed: &str) {
    std::fs::create_dir_all(tree.join("app")).unwrap();
    std::fs::write(tree.join("owned.txt"), "owned.bin\n").unwrap();
    std::fs::write(tree.join("owned.bin"), content("owned", "1", 64, 20)).unwrap();
    let big = content("big-head", "big-tail", 3 * MIB + MIB / 2, 21);
    std::fs::write(tree.join("big.bin"), big).unwrap();
    for i in 0..20u64 {
        let name = format!("app/f{i}.bin");
        std::fs::write(tree.join(&name), content(&name, "v1", 2000, 30 + i)).unwrap();
    }
    std::fs::write(
        tree.join("app/changing.bin"),
        content("changing", changed, 3000, 60),
    )
    .unwrap();
    std::fs::write(tree.join("empty.bin"), b"").unwrap();
}

fn analyzers_v(version: u32) -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(OwnershipList),
        Box::new(WithVersion(HeadThenTail::default(), version)),
    ]
}

#[test]
fn the_scan_cache_answers_a_rescan_and_a_sibling_fetches_only_the_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    write_cache_tree(&dir.path().join("tree"), "v1");
    let Some(image) = build(&dir.path().join("tree"), &dir.path().join("image")) else {
        return;
    };
    let cache = ScanCache::open(dir.path().join("cache"), crate::cache::DEFAULT_MAX_BYTES).unwrap();
    let analyzers = analyzers_v(1);

    let cold = cached_scan(&image, &analyzers, &cache);
    assert_eq!(cold.stats.cached, 0);
    assert!(cold.stats.requests > 0, "{:?}", cold.stats);
    assert_eq!(cold.stats.skipped_owned, 1, "{:?}", cold.stats);
    assert_eq!(cold.inventory.packages.len(), 22);
    assert_eq!(cold.inventory.notes.len(), 1, "{:?}", cold.inventory.notes);

    // The same image again: every pair is answered, nothing is fetched, the same result.
    let warm = cached_scan(&image, &analyzers, &cache);
    assert_eq!(warm.inventory, cold.inventory);
    assert_eq!(
        (
            warm.stats.requests,
            warm.stats.fetched_bytes,
            warm.stats.chunks
        ),
        (0, 0, 0),
        "{:?}",
        warm.stats
    );
    assert_eq!(warm.stats.cached, cold.stats.analyzed);
    assert_eq!(
        warm.stats.skipped_owned, 1,
        "ownership comes back from the cache"
    );

    // A sibling image: the same tree but one file's content changed. Only that file's chunk
    // is fetched.
    let sibling_tree = dir.path().join("sibling-tree");
    write_cache_tree(&sibling_tree, "v2");
    let Some(sibling) = build(&sibling_tree, &dir.path().join("sibling")) else {
        return;
    };
    let bytes = std::fs::read(&sibling.boot).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let changed = boot.lookup(b"/app/changing.bin").unwrap().unwrap();
    let changed_chunks: Vec<Chunk> = changed.chunks().map(Result::unwrap).collect();
    assert_eq!(changed_chunks.len(), 1);
    let scan = cached_scan(&sibling, &analyzers, &cache);
    assert_eq!(
        (scan.stats.requests, scan.stats.chunks),
        (1, 1),
        "{:?}",
        scan.stats
    );
    assert_eq!(
        scan.stats.fetched_bytes,
        u64::from(changed_chunks[0].compressed_size)
    );
    assert_eq!(scan.stats.cached, cold.stats.analyzed - 1);
    let changing: Vec<&str> = scan
        .inventory
        .packages
        .iter()
        .filter(|p| p.name == "changing")
        .map(|p| p.version.as_str())
        .collect();
    assert_eq!(changing, ["v2"]);
    assert_eq!(scan.inventory.packages.len(), 22);
    assert_eq!(scan.stats.skipped_owned, 1);
}

#[test]
fn a_version_bump_or_a_damaged_entry_means_reading_the_file_again() {
    let dir = tempfile::tempdir().unwrap();
    write_cache_tree(&dir.path().join("tree"), "v1");
    let Some(image) = build(&dir.path().join("tree"), &dir.path().join("image")) else {
        return;
    };
    let cache_dir = dir.path().join("cache");
    let cache = ScanCache::open(&cache_dir, crate::cache::DEFAULT_MAX_BYTES).unwrap();
    let cold = cached_scan(&image, &analyzers_v(1), &cache);
    let analyzed = cold.stats.analyzed;

    // Version 2 of the package analyzer: its pairs are misses, the OS phase's are answered.
    let bumped = cached_scan(&image, &analyzers_v(2), &cache);
    assert_eq!(bumped.inventory, cold.inventory);
    assert_eq!(bumped.stats.cached, 1, "only owned.txt: {:?}", bumped.stats);
    assert_eq!(bumped.stats.chunks, cold.stats.chunks - 1);
    let again = cached_scan(&image, &analyzers_v(2), &cache);
    assert_eq!((again.stats.cached, again.stats.requests), (analyzed, 0));

    // Damage every entry in its own way: each is ignored, the file is read again, the result
    // is the same, and the entry is written anew.
    let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    // v1 and v2 entries of the package analyzer, one of the OS phase's.
    assert_eq!(entries.len() as u64, analyzed * 2 - 1);
    for (i, path) in entries.iter().enumerate() {
        let mut bytes = std::fs::read(path).unwrap();
        match i % 3 {
            0 => bytes.truncate(bytes.len() / 2),
            1 => *bytes.last_mut().unwrap() ^= 0x20,
            _ => bytes.clear(),
        }
        std::fs::write(path, bytes).unwrap();
    }
    let cache = ScanCache::open(&cache_dir, crate::cache::DEFAULT_MAX_BYTES).unwrap();
    let repaired = cached_scan(&image, &analyzers_v(2), &cache);
    assert_eq!(repaired.inventory, cold.inventory);
    assert_eq!(repaired.stats.cached, 0, "{:?}", repaired.stats);
    assert_eq!(repaired.stats.chunks, cold.stats.chunks);
    assert_eq!(
        cache
            .stats()
            .damaged
            .load(std::sync::atomic::Ordering::Relaxed),
        analyzed
    );
    let healed = cached_scan(&image, &analyzers_v(2), &cache);
    assert_eq!((healed.stats.cached, healed.stats.requests), (analyzed, 0));
}
