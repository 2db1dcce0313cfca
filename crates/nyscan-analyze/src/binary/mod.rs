//! Executables: ELF parsing, Go build information, Rust cargo-auditable data.

use crate::analyzer::Analyzer;

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
