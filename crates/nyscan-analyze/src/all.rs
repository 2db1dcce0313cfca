//! Every analyzer of the crate, in one list.

use crate::analyzer::Analyzer;

/// The analyzers of every module: OS first, then RPM databases, language metadata,
/// executables and archives.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    let mut all = crate::os::analyzers();
    all.extend(crate::rpm::analyzers());
    all.extend(crate::lang::analyzers());
    all.extend(crate::binary::analyzers());
    all.extend(crate::archive::analyzers());
    all
}
