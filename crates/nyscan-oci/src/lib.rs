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
//! - [`load_bootstrap`] does all of this for a [`Source`] and returns the bootstrap bytes.
//!
//! Registry access arrives with the data plane; registry references already parse.

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
