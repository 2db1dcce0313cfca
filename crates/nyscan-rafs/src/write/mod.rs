//! Write RAFS bootstraps, v5 and v6, from an editable in-memory [`Tree`].
//!
//! ```no_run
//! # fn main() -> Result<(), nyscan_rafs::write::WriteError> {
//! let bytes = std::fs::read("image.boot").unwrap();
//! let boot = nyscan_rafs::Bootstrap::parse(&bytes)?;
//! let mut tree = nyscan_rafs::write::Tree::from_bootstrap(&boot)?;
//! tree.remove(b"/etc/motd")?;
//! let new_bytes = nyscan_rafs::write::write_bootstrap(&tree)?;
//! # let _ = new_bytes; Ok(()) }
//! ```
//!
//! The output keeps the source's format version (v5 stays v5, v6 stays v6) and lays the
//! bootstrap out as the official builder does, so `nydus-image check`, `fsck.erofs` (v6) and
//! nydusd accept it.

mod bytes;
mod check;
mod digest;
mod error;
mod load;
mod node;
mod path;
mod settings;
pub mod tree;
mod v5;
mod v6;

pub use error::{WriteError, WriteResult};
pub use tree::{MAX_BLOBS, MAX_NAME_LEN, Node, NodeData, NodeId, Settings, Tree, kind_mode_bits};

use crate::model::FormatVersion;

/// Writes `tree` as a bootstrap of its format version ([`Settings::version`]).
///
/// Checks the whole tree first (names, modes, xattr prefixes, chunks tiling each file and
/// naming existing blobs, blob ids, format limits) and fails with a [`WriteError`] naming
/// the path or blob at fault; nothing is half-written. Link counts, directory sizes,
/// inode numbers, v5 inode digests and the v6 chunk table are computed here.
pub fn write_bootstrap(tree: &Tree) -> WriteResult<Vec<u8>> {
    match tree.settings.version {
        FormatVersion::V5 => v5::write(tree),
        FormatVersion::V6 => v6::write(tree),
    }
}
