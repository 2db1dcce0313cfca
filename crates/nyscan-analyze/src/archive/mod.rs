//! Zip archives read in place: Java archives (nested too) and Python eggs.

use crate::analyzer::Analyzer;

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
