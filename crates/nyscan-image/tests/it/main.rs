//! The chunk engine and unpack against images made by the official builder, with their blobs.

mod damage;
mod unpack;

use std::path::PathBuf;

/// `../shared/fixtures/official` beside the repository (images with their blobs), if present.
pub(crate) fn shared_official() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/official");
    dir.is_dir().then_some(dir)
}

pub(crate) use nyscan_testutil::image_names as images;

/// Prints why a test did not run.
pub(crate) fn skip(test: &str, reason: &str) {
    eprintln!("SKIPPED: {test}: {reason}");
}
