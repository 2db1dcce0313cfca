//! OS detection (release files) and OS package databases (dpkg, apk).

use crate::analyzer::Analyzer;

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
