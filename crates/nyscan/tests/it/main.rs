//! End-to-end tests of the `nyscan` binary.

mod data;
mod db;
mod errors;
mod mount;
mod patch;
mod prompt;
mod registry;
mod request;
mod sbom;
mod scan;
mod scan_cache;

use std::path::PathBuf;

/// The repository's `fixtures/` directory.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Every official image in `fixtures/official/`, by name.
pub(crate) fn official_images() -> Vec<String> {
    nyscan_testutil::image_names(&fixtures().join("official"))
}

/// The path of an official image's bootstrap.
pub(crate) fn boot(name: &str) -> String {
    fixtures()
        .join("official")
        .join(name)
        .join("boot")
        .display()
        .to_string()
}

/// A command running the built binary.
pub(crate) fn nyscan() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_nyscan"))
}
