//! What a scan found: the OS, the packages (sorted, duplicates merged), secrets, notes on
//! files that could not be analyzed, and what the scan cost.

use serde::Serialize;

use crate::package::{OsInfo, Package};
use crate::secret::SecretFinding;

/// The packages of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The distribution, when release files name one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    /// Packages sorted by type, name, version and purl; a package found in several places
    /// is listed once with all its locations.
    pub packages: Vec<Package>,
    /// Secrets found in files (masked), sorted by path and line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretFinding>,
    /// Files that could not be analyzed, and why; the scan went on without them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

/// Why a file was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// The file is damaged or not what its name says.
    Invalid,
    /// The file exceeds a bound (size, rounds, nesting).
    Limit,
    /// Its bytes could not be fetched or did not verify.
    Fetch,
}

/// One file that could not be analyzed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Note {
    /// Image path, without a leading `/`.
    pub path: String,
    /// The analyzer that selected it.
    pub analyzer: String,
    /// What went wrong.
    pub kind: NoteKind,
    /// The cause, with its chain.
    pub message: String,
}

/// What a scan did and read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ScanStats {
    /// Regular file paths in the image (each path of a hardlinked file counts).
    pub files: u64,
    /// (path, analyzer) pairs selected from the bootstrap.
    pub selected: u64,
    /// Selected pairs skipped because an OS package owns the path.
    pub skipped_owned: u64,
    /// Pairs analyzed to the end (with a result or a note).
    pub analyzed: u64,
    /// Fetch rounds (each one batched call to the chunk engine, at most).
    pub rounds: u32,
    /// Bytes of file content made known to analyzers (holes included).
    pub file_bytes: u64,
    /// Range requests sent to the blob source.
    pub requests: u64,
    /// Bytes received from the blob source.
    pub fetched_bytes: u64,
    /// Chunks decoded and verified.
    pub chunks: u64,
    /// Chunks served by the local chunk cache.
    pub cache_hits: u64,
    /// Pairs answered by the scan cache, without reading their file.
    pub cached: u64,
    /// Stored size of the image's blobs as the bootstrap records it (0 when it does not).
    pub blob_bytes: u64,
}

impl ScanStats {
    /// Fetched bytes as a fraction of the blob bytes, when those are known.
    pub fn blob_share(&self) -> Option<f64> {
        (self.blob_bytes > 0).then(|| self.fetched_bytes as f64 / self.blob_bytes as f64)
    }
}

/// Sorts packages and merges those of the same type, name, version and purl (their
/// locations joined, sorted and deduplicated).
pub(crate) fn merge_packages(mut packages: Vec<Package>) -> Vec<Package> {
    packages.sort_by(|a, b| {
        (a.kind, &a.name, &a.version, &a.purl).cmp(&(b.kind, &b.name, &b.version, &b.purl))
    });
    let mut out: Vec<Package> = Vec::with_capacity(packages.len());
    for pkg in packages {
        match out.last_mut() {
            Some(last)
                if last.kind == pkg.kind
                    && last.name == pkg.name
                    && last.version == pkg.version
                    && last.purl == pkg.purl =>
            {
                last.locations.extend(pkg.locations);
                for license in pkg.licenses {
                    if !last.licenses.contains(&license) {
                        last.licenses.push(license);
                    }
                }
                if last.source.is_none() {
                    last.source = pkg.source;
                }
            }
            _ => out.push(pkg),
        }
    }
    for pkg in &mut out {
        pkg.locations.sort();
        pkg.locations.dedup();
    }
    out
}
