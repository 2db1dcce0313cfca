//! A synchronous OCI distribution client: resolve Nydus images, read blob ranges, push blobs
//! and manifests.
//!
//! # Brief overview
//!
//! - [`RegistryClient`] talks to one registry host ([`ClientOptions`]: plain HTTP or HTTPS,
//!   [`Credentials`], retries, timeouts). It is synchronous on purpose: its callers (FUSE
//!   callbacks, the chunk engine's thread pool) are.
//! - Reads: [`RegistryClient::resolve`] (tag or digest → the Nydus manifest for a platform),
//!   [`RegistryClient::fetch_blob`] (whole, verified), [`RegistryClient::blob_range`]
//!   (strict `206` checks), [`RegistryClient::blob_size`].
//! - [`RegistryBlobSource`]: a repository's blobs as a [`nyscan_source::BlobSource`].
//! - [`load_registry_bootstrap`]: the bootstrap of a registry image.
//! - Writes: [`RegistryClient::push_blob`], [`RegistryClient::push_blob_chunked`],
//!   [`RegistryClient::mount_blob`], [`RegistryClient::push_manifest`].
//!
//! Authentication starts anonymous and answers `401` challenges: `Basic` with the
//! credentials, `Bearer` with a token from the challenge's realm, cached per scope until it
//! expires. Redirects are followed by hand, and the registry's `Authorization` never goes
//! to another host. 429, 5xx and broken connections are retried with exponential backoff
//! (honouring `Retry-After`). Every error ([`RegistryError`]) names the operation, the
//! repository, the digest or tag, and the byte range.

mod auth;
mod blob_source;
mod client;
mod credentials;
mod error;
mod parse;
mod push;

pub use blob_source::RegistryBlobSource;
pub use client::{
    ClientOptions, FetchedManifest, MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE, MAX_RANGE_LEN,
    RegistryClient, ResolvedImage, sha256_digest,
};
pub use credentials::Credentials;
pub use error::{Operation, RegistryError};
pub use push::MAX_CHUNK_SIZE;

use crate::bootstrap_layer::{MAX_BOOTSTRAP_SIZE, extract_bootstrap};
use crate::manifest::Platform;
use crate::source::RegistryRef;

/// Resolves `reference` to its Nydus manifest for `platform`, fetches the bootstrap layer
/// (at most [`MAX_BOOTSTRAP_SIZE`] bytes, digest-checked) and extracts `image/image.boot`.
///
/// A plain OCI or Docker image gives [`crate::Error::NotNydus`] (as
/// [`RegistryError::Image`]).
pub fn load_registry_bootstrap(
    client: &RegistryClient,
    reference: &RegistryRef,
    platform: &Platform,
) -> Result<(ResolvedImage, Vec<u8>), RegistryError> {
    if reference.registry != client.host() {
        return Err(RegistryError::InvalidInput {
            what: "image reference",
            value: reference.to_string(),
            reason: format!("the client is for registry {}", client.host()),
        });
    }
    let repo = &reference.repository;
    let image = client.resolve(repo, reference.reference(), platform)?;
    let layer = image.manifest.nydus_bootstrap_layer()?;
    let op = || {
        client
            .op("fetch bootstrap layer", repo)
            .reference(&layer.digest)
    };
    if layer.size > MAX_BOOTSTRAP_SIZE {
        return Err(RegistryError::TooLarge {
            op: op().into(),
            limit: MAX_BOOTSTRAP_SIZE,
        });
    }
    let bytes = client.fetch_blob(repo, &layer.digest, layer.size)?;
    if bytes.len() as u64 != layer.size {
        return Err(RegistryError::BodyLength {
            op: op().into(),
            expected: layer.size,
            got: bytes.len() as u64,
        });
    }
    let boot = extract_bootstrap(&bytes, &layer.digest)?;
    Ok((image, boot))
}
