//! The chunk engine and unpack against images made by the official builder, with their blobs.

mod damage;
mod unpack;

use std::path::PathBuf;

/// `../shared/fixtures/official` beside the repository (images with their blobs), if present.
pub(crate) fn shared_official() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/official");
    dir.is_dir().then_some(dir)
}

/// The images there (directories with a `boot`).
pub(crate) fn images(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("boot").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Prints why a test did not run.
pub(crate) fn skip(test: &str, reason: &str) {
    eprintln!("SKIPPED: {test}: {reason}");
}
