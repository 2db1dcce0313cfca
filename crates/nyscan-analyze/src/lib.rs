//! Package analysis of a Nydus image, reading only the bytes it needs.
//!
//! # Brief overview
//!
//! - [`analyzer::Analyzer`]: each analyzer selects files by path and metadata from the
//!   bootstrap and parses them over a [`bytes::ByteSource`]; when it needs bytes not fetched
//!   yet it returns [`bytes::Need`] and runs again once the planner fetched them.
//! - [`package`]: the packages, OS and file ownership analyzers report.
//! - [`planner::scan`]: selects files from the bootstrap, fetches the bytes analyzers ask
//!   for in batched rounds through the chunk engine, and returns an [`planner::Inventory`].
//! - [`all::analyzers`]: every analyzer of the crate.
//! - [`secret::SecretAnalyzer`]: secret scanning as an analyzer (files chosen by metadata,
//!   text vs binary from the first bytes, masked findings in [`planner::Inventory::secrets`]).
//! - [`cache::ScanCache`]: what analyzers made of files, on disk by analyzer version and file
//!   content identity (chunk digests), so re-scans and sibling images fetch only new files.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod analyzer;
pub mod bytes;
pub mod package;

pub mod all;
pub mod archive;
pub mod binary;
pub mod cache;
pub mod lang;
pub mod os;
pub mod planner;
pub mod rpm;
pub mod secret;
