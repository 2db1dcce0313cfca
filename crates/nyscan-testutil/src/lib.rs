//! Test infrastructure for nyscan's real-registry tests.
//!
//! - [`TestRegistry`]: the Debian `docker-registry` binary (distribution v2) on
//!   `127.0.0.1:<free port>`, anonymous or with htpasswd auth, and
//!   [`TestRegistry::push_layout`] to push OCI image layouts into it with skopeo.
//! - [`FaultProxy`]: an HTTP/1.1 reverse proxy in front of it that logs requests, injects
//!   [`Fault`]s and can demand a bearer token.
//! - [`TokenServer`]: the token endpoint that hands out that bearer token.
//! - [`client::request`]: a minimal plain-HTTP client for assertions.
//! - [`tree`]: trees read from tars or unpacked directories, compared field by field.
//! - [`build`]: Nydus images built with the official `nydus-image`, test trees built by
//!   scripts and cached by content.
//! - [`nydusd`]: the official `nydusd` serving a bootstrap over FUSE, unmounted on drop.
//!
//! Tests that need the registry skip when it is not installed:
//!
//! ```no_run
//! use nyscan_testutil::{skip, TestRegistry};
//!
//! let reg = match TestRegistry::start() {
//!     Ok(r) => r,
//!     Err(reason) => return skip("my_test", &reason),
//! };
//! reg.push_layout(&nyscan_testutil::fixtures().join("oci/v6-merged"), "nydus/v6-merged:latest")
//!     .unwrap();
//! ```
//!
//! On a fresh machine `bash ../shared/tools/install-peers.sh --no-trivy` installs
//! `docker-registry` and `skopeo` (`.ci/run` does it).

#![warn(missing_docs)]

pub mod build;
pub mod client;
mod http;
pub mod nydusd;
mod proxy;
mod registry;
mod server;
mod token;
pub mod tree;

use std::fmt;
use std::path::{Path, PathBuf};

pub use proxy::{Fault, FaultAction, FaultProxy, Link, RequestLog};
pub use registry::{TestRegistry, skopeo_push};
pub use token::TokenServer;

/// Printed reason a test cannot run here; tests print `SKIPPED: {reason}` and return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Skip {}

/// Prints `SKIPPED: <test name>: <reason>` to stderr. Use in tests:
/// `let r = match TestRegistry::start() { Ok(r) => r, Err(s) => return skip("name", &s) };`
///
/// The line is written to the process's stderr directly, past the test harness's output
/// capture, so it shows in `cargo test` output (and CI logs) even for passing tests.
pub fn skip(test: &str, reason: &Skip) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}

/// The repository root (two levels above this crate).
fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.join("../.."))
}

/// The repository's fixtures dir (`crates/nyscan-testutil/../../fixtures`).
pub fn fixtures() -> PathBuf {
    repo_root().join("fixtures")
}

/// The Nydus images in `dir` (sub-directories holding a `boot` bootstrap), sorted by name:
/// `fixtures/official` of the repository or of `../shared`.
pub fn image_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("boot").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `../shared` beside the repository root if present (shared fixtures and tools), else
/// `None`.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = repo_root().parent()?.join("shared");
    dir.is_dir().then_some(dir)
}
