//! Where Nydus images come from: source references, OCI image layouts, Nydus manifests and
//! the bootstrap layer.
//!
//! # Brief overview
//!
//! - [`Source`] parses what a user types: `HOST[:PORT]/REPO[:TAG|@DIGEST]` (a registry),
//!   `oci:DIR[:TAG]` (an OCI image layout) or a path to a bootstrap file.
//! - [`manifest`] holds the OCI manifest and index types and the rules that pick the Nydus
//!   manifest and its bootstrap layer.
//! - [`OciLayout`] reads an image layout directory, checking every blob's digest.
//! - [`extract_bootstrap`] takes `image/image.boot` out of the gzip tar bootstrap layer.
//! - [`registry`] is the OCI distribution client (resolve, strict range reads, auth, pushes).
//! - [`load_bootstrap`] opens any [`Source`]: the bootstrap bytes and a blob source (a local
//!   directory or the registry repository).

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod bootstrap_layer;
mod error;
mod layout;
pub mod manifest;
pub mod registry;
mod source;

pub use bootstrap_layer::{BOOTSTRAP_PATH, MAX_BOOTSTRAP_SIZE, extract_bootstrap};
pub use error::{Error, Result};
pub use layout::OciLayout;
pub use source::{BootstrapBytes, LoadedBootstrap, RegistryRef, Source, load_bootstrap};
