//! The nyscan bootstrap inspector: the commands of `nydus-image inspect`, over either RAFS
//! version, returning data.
//!
//! # Brief overview
//!
//! - [`Command`] parses one command line (`stats`, `ls`, `cd DIR`, `stat NAME`, `blobs`,
//!   `prefetch`, `chunk OFFSET`, `icheck INODE`, `help`, `exit`).
//! - [`Inspector`] holds the current directory and runs commands against a
//!   [`nyscan_rafs::Bootstrap`], returning a [`Response`].
//! - A [`Response`] serializes to JSON (request mode: every command has a JSON form; the
//!   `stats`, `blobs` and `prefetch` forms keep `nydus-image inspect`'s field names and add
//!   more) and renders as text for the interactive prompt ([`Response::write_text`]).
//!
//! The inspector prints nothing itself: the CLI chooses the view.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod command;
mod error;
mod inspector;
mod report;
mod text;

pub use command::Command;
pub use error::InspectError;
pub use inspector::Inspector;
pub use report::{
    BlobReport, ChunkHit, ChunkReport, IcheckReport, LsEntry, PrefetchEntry, Response, StatReport,
    StatsReport, XattrReport,
};
