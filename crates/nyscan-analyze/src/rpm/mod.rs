//! RPM databases in all three forms (SQLite, Berkeley DB, NDB) and the RPM header format.

use crate::analyzer::Analyzer;

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
