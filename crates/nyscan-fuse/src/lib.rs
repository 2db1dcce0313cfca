//! A lazy, read-only FUSE view of a Nydus image.
//!
//! # Brief overview
//!
//! - [`ImageFs`] implements [`fuser::Filesystem`] over a parsed
//!   [`nyscan_rafs::Bootstrap`] and a [`nyscan_image::ChunkReader`]: lookups, attributes,
//!   directories, symlinks and xattrs are answered from the bootstrap alone; file data is
//!   fetched chunk by chunk when read, verified, kept briefly in memory (and in the
//!   engine's disk cache when it has one). Sequential readers get the next chunks fetched in
//!   the background; [`ImageFs::start_prefetch`] warms the image's prefetch table.
//! - [`mount`] serves it on a directory from several threads; [`Mounted::wait`] blocks
//!   until SIGINT/SIGTERM/SIGHUP or an outside unmount; [`Mounted::unmount`] ends it.
//! - [`unmount`] removes any mount, also a *lost* one (its server was killed: every access
//!   fails with "Transport endpoint is not connected"); [`mount_state`] tells them apart.
//!
//! Inode numbers are the image's own ([`InoMap`]): hardlinks share one, and only the root
//! (FUSE needs it to be 1) and the numbers 0 and 1 move.
//!
//! The format crates know nothing of FUSE; this crate is only the adapter.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod error;
mod fs;
mod ino;
mod mounts;

pub use error::{Error, Result};
pub use fs::{FsOptions, ImageFs};
pub use ino::InoMap;
pub use mounts::{
    Ended, MountOptions, MountState, Mounted, Unmounted, absolute, detach_from_terminal, mount,
    mount_state, unmount,
};
