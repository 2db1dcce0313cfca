//! Integration tests of the RAFS reader against images made by the official Nydus builder.

mod corrupt;
mod official;
mod tree;

use std::path::PathBuf;

/// The repository's `fixtures/` directory.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Every official image in `fixtures/official/`, by name.
pub(crate) fn official_images() -> Vec<String> {
    let names = nyscan_testutil::image_names(&fixtures().join("official"));
    assert!(names.len() >= 10, "official fixtures missing: {names:?}");
    names
}

/// The bootstrap bytes of an official image.
pub(crate) fn boot_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("official").join(name).join("boot")).expect("boot readable")
}
