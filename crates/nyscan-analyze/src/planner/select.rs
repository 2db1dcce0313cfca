//! Selection: walk the bootstrap once and ask every analyzer about every regular file path.

use std::collections::HashMap;
use std::ops::Range;

use nyscan_rafs::{Bootstrap, Chunk, FileKind, Ino};

use crate::analyzer::{Analyzer, FileMeta, Initial, Phase};
use crate::bytes::FileView;

/// One inode with at least one selected path: its chunks and the bytes known so far.
#[derive(Debug)]
pub(crate) struct File {
    /// Size in bytes.
    pub(crate) size: u64,
    /// Chunks ordered by file offset, or why they could not be read.
    pub(crate) chunks: Result<Vec<Chunk>, String>,
    /// The bytes fetched so far.
    pub(crate) view: FileView,
}

/// One (path, analyzer) pair to run.
#[derive(Debug)]
pub(crate) struct Job {
    /// Index into the file list.
    pub(crate) file: usize,
    /// Image path, no leading `/`.
    pub(crate) path: String,
    /// Index into the analyzer list.
    pub(crate) analyzer: usize,
    /// The analyzer's phase.
    pub(crate) phase: Phase,
    /// Byte ranges wanted before the next run.
    pub(crate) want: Vec<Range<u64>>,
    /// Runs so far.
    pub(crate) runs: u32,
    /// True once it ended (result, note or skip).
    pub(crate) done: bool,
}

/// Everything selected from a bootstrap.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    pub(crate) files: Vec<File>,
    pub(crate) jobs: Vec<Job>,
    /// Regular file paths walked.
    pub(crate) paths: u64,
    /// Symbolic links of the image: path (no leading `/`) to target.
    pub(crate) symlinks: HashMap<String, String>,
}

/// The byte ranges an [`Initial`] names in a file of `size` bytes.
pub(crate) fn initial_ranges(initial: Initial, size: u64) -> Vec<Range<u64>> {
    match initial {
        Initial::Whole => std::iter::once(0..size).collect(),
        Initial::Head(n) => std::iter::once(0..n.min(size)).collect(),
        Initial::HeadTail { head, tail } => {
            vec![0..head.min(size), size.saturating_sub(tail)..size]
        }
    }
}

/// Walks `boot` and selects (path, analyzer) pairs; every path of a hardlinked file is
/// offered, and the file's bytes are shared by its jobs.
pub(crate) fn select(
    boot: &Bootstrap<'_>,
    analyzers: &[Box<dyn Analyzer>],
) -> Result<Selection, nyscan_rafs::Error> {
    let mut selection = Selection::default();
    let mut by_inode: HashMap<Ino, usize> = HashMap::new();
    for entry in boot.walk() {
        let entry = entry?;
        let inode = entry.inode;
        if inode.kind() == FileKind::Symlink {
            if let Ok(target) = inode.symlink_target() {
                let path = String::from_utf8_lossy(&entry.path);
                selection.symlinks.insert(
                    path.trim_start_matches('/').to_owned(),
                    String::from_utf8_lossy(target).into_owned(),
                );
            }
            continue;
        }
        if inode.kind() != FileKind::Regular {
            continue;
        }
        selection.paths += 1;
        let path = String::from_utf8_lossy(&entry.path);
        let path = path.trim_start_matches('/');
        let meta = FileMeta {
            size: inode.size(),
            mode: inode.mode(),
        };
        for (index, analyzer) in analyzers.iter().enumerate() {
            let Some(initial) = analyzer.select(path, &meta) else {
                continue;
            };
            let file = *by_inode.entry(inode.ino()).or_insert_with(|| {
                let chunks = inode
                    .chunks()
                    .collect::<Result<Vec<_>, _>>()
                    .map(|mut c| {
                        c.sort_by_key(|c| c.file_offset);
                        c
                    })
                    .map_err(|e| format!("cannot read the chunk list: {e}"));
                selection.files.push(File {
                    size: meta.size,
                    chunks,
                    view: FileView::new(meta.size),
                });
                selection.files.len() - 1
            });
            selection.jobs.push(Job {
                file,
                path: path.to_owned(),
                analyzer: index,
                phase: analyzer.phase(),
                want: initial_ranges(initial, meta.size),
                runs: 0,
                done: false,
            });
        }
    }
    Ok(selection)
}

/// The chunks of a file that overlap `ranges`, and the parts of `ranges` no chunk covers
/// (holes, read as zeros).
pub(crate) fn chunks_for(chunks: &[Chunk], ranges: &[Range<u64>]) -> (Vec<Chunk>, Vec<Range<u64>>) {
    let mut wanted: Vec<Chunk> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut holes = Vec::new();
    for r in ranges.iter().filter(|r| r.start < r.end) {
        let first = chunks.partition_point(|c| chunk_end(c) <= r.start);
        let mut at = r.start;
        for c in chunks[first..].iter().take_while(|c| c.file_offset < r.end) {
            if chunk_end(c) <= r.start {
                continue;
            }
            if c.file_offset > at {
                holes.push(at..c.file_offset.min(r.end));
            }
            at = at.max(chunk_end(c));
            if seen.insert((c.blob_index, c.index)) {
                wanted.push(*c);
            }
        }
        if at < r.end {
            holes.push(at..r.end);
        }
    }
    (wanted, holes)
}

/// `path` with the symbolic links among its directories replaced by their targets (merged
/// `/usr`: `bin/bash` is `usr/bin/bash` when `bin` links to `usr/bin`); `None` when no
/// directory of it is a link, or the links loop.
pub(crate) fn resolve_dir_links(path: &str, symlinks: &HashMap<String, String>) -> Option<String> {
    let mut current = path.to_owned();
    let mut changed = false;
    'restart: for _ in 0..16 {
        let mut at = 0;
        while let Some(slash) = current[at..].find('/') {
            let prefix = &current[..at + slash];
            if let Some(target) = symlinks.get(prefix) {
                let parent = prefix.rfind('/').map_or("", |i| &prefix[..i]);
                let base = if target.starts_with('/') {
                    target.clone()
                } else {
                    format!("{parent}/{target}")
                };
                let joined = format!("{base}/{}", &current[at + slash + 1..]);
                current = normalize(&joined)?;
                changed = true;
                continue 'restart;
            }
            at += slash + 1;
        }
        return changed.then_some(current);
    }
    None
}

/// Removes `.`, `..` and empty components (no leading `/`); `None` when `..` climbs out.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn chunk_end(c: &Chunk) -> u64 {
    c.file_offset + u64::from(c.uncompressed_size)
}

#[cfg(test)]
// Lists of byte ranges are what these tests are about.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use nyscan_rafs::ChunkFlags;

    fn chunk(index: u32, file_offset: u64, size: u32) -> Chunk {
        Chunk {
            digest: [0; 32],
            blob_index: 0,
            index,
            flags: ChunkFlags(0),
            compressed_offset: 0,
            compressed_size: size,
            uncompressed_offset: 0,
            uncompressed_size: size,
            file_offset,
            crc32: None,
        }
    }

    #[test]
    fn owned_paths_follow_directory_links() {
        let links: HashMap<String, String> = [
            ("bin", "usr/bin"),
            ("lib64", "/usr/lib64"),
            ("usr/lib/alt", "../share/alt"),
            ("loop", "loop/x"),
            ("out", "../../x"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        assert_eq!(
            resolve_dir_links("bin/bash", &links).as_deref(),
            Some("usr/bin/bash")
        );
        assert_eq!(
            resolve_dir_links("lib64/ld.so", &links).as_deref(),
            Some("usr/lib64/ld.so")
        );
        assert_eq!(
            resolve_dir_links("usr/lib/alt/f", &links).as_deref(),
            Some("usr/share/alt/f")
        );
        assert_eq!(resolve_dir_links("usr/bin/bash", &links), None);
        assert_eq!(resolve_dir_links("bin", &links), None);
        assert_eq!(resolve_dir_links("loop/f", &links), None);
        assert_eq!(resolve_dir_links("out/f", &links), None);
    }

    #[test]
    fn ranges_map_to_overlapping_chunks_and_holes() {
        // Chunks at [0,100) [100,200) and [300,400): a hole at [200,300).
        let chunks = [chunk(0, 0, 100), chunk(1, 100, 100), chunk(2, 300, 100)];
        let (c, h) = chunks_for(&chunks, &[50..150]);
        assert_eq!(c.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1]);
        assert!(h.is_empty());
        let (c, h) = chunks_for(&chunks, &[150..350, 390..400]);
        assert_eq!(c.iter().map(|c| c.index).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(h, [200..300]);
        let (c, h) = chunks_for(&chunks, &[400..500]);
        assert!(c.is_empty());
        assert_eq!(h, [400..500]);
        assert_eq!(initial_ranges(Initial::Head(10), 5), [0..5]);
        assert_eq!(
            initial_ranges(Initial::HeadTail { head: 4, tail: 4 }, 100),
            [0..4, 96..100]
        );
    }
}
