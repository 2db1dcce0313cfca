//! Zip archives read in place: Java archives (nested too) and Python eggs.
//!
//! [`zip`] is the reader: end record from the tail, central directory, then only the members
//! wanted; stored members are read in place, deflated ones inflated under caps. [`java`]
//! reads `.jar`/`.war`/`.ear`/`.par` files, [`egg`] reads `.egg` files. Both start from the
//! first [`ARCHIVE_HEAD`] bytes (where a jar's `META-INF/MANIFEST.MF` usually is) and the
//! last [`ARCHIVE_TAIL`] (the end record, and often the whole central directory).

use crate::analyzer::{Analyzer, FileMeta, Initial};
use crate::lang::is_regular;

pub mod egg;
pub mod java;
pub mod java_meta;
#[cfg(test)]
mod testzip;
pub mod zip;

/// Bytes read first from the start of an archive.
pub const ARCHIVE_HEAD: u64 = 4 << 10;
/// Bytes read first from the end of an archive.
pub const ARCHIVE_TAIL: u64 = 64 << 10;

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![Box::new(java::JavaArchive), Box::new(egg::PythonEgg)]
}

/// The selection shared by the archive analyzers: a regular file whose name the analyzer
/// wants (`name_wanted`), started from its first [`ARCHIVE_HEAD`] and last [`ARCHIVE_TAIL`]
/// bytes.
pub(crate) fn selected_archive(meta: &FileMeta, name_wanted: bool) -> Option<Initial> {
    (is_regular(meta) && name_wanted).then_some(Initial::HeadTail {
        head: ARCHIVE_HEAD,
        tail: ARCHIVE_TAIL,
    })
}

/// The last component of a `/`-separated name (a trailing `/` ignored, as Go's
/// `filepath.Base` does).
pub(crate) fn base_name(name: &str) -> &str {
    let trimmed = name.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}
