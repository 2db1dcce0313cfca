//! Read and write Nydus RAFS bootstraps, format v5 and v6, through one API.
//!
//! # Brief overview
//!
//! A Nydus image is a small metadata file, the *bootstrap*, plus data *blobs* of compressed,
//! content-addressed chunks. This crate reads bootstraps from bytes alone (a slice or an mmap);
//! it does no I/O, so the registry client, the FUSE view and the scanners can all use it.
//!
//! - [`Bootstrap`] parses either version (told apart by magic numbers, never by annotations)
//!   and answers the same questions for both: [`Bootstrap::superblock`], [`Bootstrap::blobs`],
//!   [`Bootstrap::lookup`], [`Bootstrap::walk`], [`Bootstrap::prefetch`],
//!   [`Bootstrap::paths`] and [`Bootstrap::hardlink_groups`].
//! - [`Inode`] gives attributes, [`Inode::xattrs`], [`Inode::children`] and [`Inode::chunks`].
//! - [`Chunk`] says where a piece of a file lives: blob, offsets, sizes, digest, CRC.
//! - [`layout`] holds the raw on-disk structures, for tools that need the low level.
//! - [`write`] turns a bootstrap into an editable [`write::Tree`] and writes a tree back as a
//!   bootstrap of the same version (what `nyscan patch` builds on).
//!
//! Callers never branch on the version: [`Bootstrap::version`] exists for display.
//!
//! # Security
//!
//! Bootstraps are untrusted input. Every offset, size, count and name length is checked
//! before use; a damaged bootstrap gives an [`Error`] naming the structure and its offset,
//! never a panic. Allocation is bounded by the input's size, and the tree walk refuses
//! directory cycles.
//!
//! Refused by name ([`Unsupported`]): Nydus v3, encrypted, OCI-ref (zran), external and
//! tarfs blobs, legacy stargz gzip, and any flag this reader does not know. Batch chunks
//! are read: their records are listed with [`Chunk::is_batch`].
//!
//! # Holding a bootstrap
//!
//! | how | when |
//! |---|---|
//! | `Bootstrap::parse(&bytes)` on a `Vec<u8>` or mmap | one-shot tools: the view borrows the bytes |
//! | keep the bytes in an `Arc<[u8]>` and re-parse | long-lived servers: parsing reads only the superblock and blob table |
//!
//! [`Bootstrap::links`] and [`Bootstrap::paths`] build a parent index of the whole tree on
//! first use (memory proportional to the number of entries); v6 chunk lookups build a map of
//! the chunk table on first use.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod blob_meta;
mod bootstrap;
mod data;
mod detect;
mod error;
mod flags;
pub mod layout;
mod model;
mod v5;
mod v6;
pub mod write;

pub use bootstrap::{Bootstrap, CheckSummary, Children, Chunks, Inode, Walk, WalkEntry, Xattrs};
pub use detect::BootstrapKind;
pub use error::{Error, Result, Unsupported};
pub use flags::{BlobFeatures, ChunkFlags, Compressor, Digester, SuperFlags};
pub use model::{
    BlobInfo, BlobMeta, Chunk, DirEntry, FileKind, FormatVersion, Ino, Superblock, TableRange,
    Timestamp, Xattr,
};
