//! A Nydus image as a filesystem: a bootstrap plus a [`nyscan_source::BlobSource`].
//!
//! # Brief overview
//!
//! - [`ChunkReader`] is the chunk engine: for a set of chunks it plans range requests (one
//!   blob each, neighbours merged with bounded gaps and sizes), runs them in parallel with a
//!   bounded number in flight, decompresses each chunk into its exact size and verifies its
//!   digest (and CRC-32C) before anyone sees the bytes. Batch chunks are located through the
//!   blob's compression-info table, fetched once per blob.
//! - [`unpack`] writes a whole image as a directory tree or a PAX tar: modes, owners, mtimes,
//!   symlinks, hardlinks, devices, fifos, xattrs; holes stay holes.
//! - [`cache::ChunkCache`] keeps verified chunks on disk by digest, shared by processes.
//! - [`FetchStats`] counts requests, bytes, chunks and cache hits.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod cache;
mod error;
mod reader;
pub mod unpack;

pub use error::{Error, Result};
pub use reader::{ChunkKey, ChunkReader, FetchOptions, FetchStats};
