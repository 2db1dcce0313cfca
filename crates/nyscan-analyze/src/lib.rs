//! Package analysis of a Nydus image, reading only the bytes it needs.
//!
//! # Brief overview
//!
//! - [`analyzer::Analyzer`]: each analyzer selects files by path and metadata from the
//!   bootstrap and parses them over a [`bytes::ByteSource`]; when it needs bytes not fetched
//!   yet it returns [`bytes::Need`] and runs again once the planner fetched them.
//! - [`package`]: the packages, OS and file ownership analyzers report.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod analyzer;
pub mod bytes;
pub mod package;

pub mod archive;
pub mod binary;
pub mod lang;
pub mod os;
pub mod rpm;
