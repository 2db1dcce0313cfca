//! Opening a registry image for a scan with its bootstrap layer kept in the chunk cache.
//!
//! The chunk cache is content-addressed by digest; a layer is content too, named by the
//! sha256 of its bytes, so it is stored there under that digest (in the sha256 space) and
//! checked against it again when read. A re-scan of the same image then fetches only its
//! manifest; an image with another bootstrap fetches its own layer. The image config is kept
//! the same way ([`blob_by_digest`]).

use anyhow::{Context, Result};
use nyscan_image::cache::ChunkCache;
use nyscan_oci::registry::{RegistryBlobSource, RegistryClient, sha256_digest};
use nyscan_oci::{
    BootstrapBytes, LoadedBootstrap, MAX_BOOTSTRAP_SIZE, Source, extract_bootstrap,
    manifest::sha256_hex,
};
use nyscan_rafs::Digester;

use crate::cli::SourceArgs;

/// Opens the image `args` names, as [`crate::inspect::open`] does; for a registry image the
/// bootstrap layer comes from `cache` when it holds it, and is stored there when fetched.
pub(crate) fn open(args: &SourceArgs, cache: Option<&ChunkCache>) -> Result<LoadedBootstrap> {
    let source = Source::parse(&args.source, args.blob_dir.as_deref())?;
    let (Some(cache), Source::Registry(reference)) = (cache, &source) else {
        return crate::inspect::open(args);
    };
    let platform = args.registry.platform()?;
    let options = args.registry.client_options();
    let load = || -> Result<LoadedBootstrap> {
        let client = RegistryClient::for_ref(reference, options)?;
        let repo = &reference.repository;
        let image = client.resolve(repo, reference.reference(), &platform)?;
        let layer = image.manifest.nydus_bootstrap_layer()?;
        let bytes = blob_by_digest(Some(cache), &layer.digest, || {
            if layer.size > MAX_BOOTSTRAP_SIZE {
                anyhow::bail!(
                    "the bootstrap layer {} is {} bytes, over the {MAX_BOOTSTRAP_SIZE}-byte limit",
                    layer.digest,
                    layer.size
                );
            }
            Ok(client.fetch_blob(repo, &layer.digest, layer.size)?)
        })?;
        let boot = extract_bootstrap(&bytes, &layer.digest)?;
        let blobs = RegistryBlobSource::new(client, repo)?.with_manifest_sizes(&image.manifest);
        Ok(LoadedBootstrap {
            bytes: BootstrapBytes::Owned(boot),
            manifest: Some(image.manifest),
            manifest_digest: Some(image.manifest_digest),
            blobs: Box::new(blobs),
        })
    };
    load().with_context(|| format!("cannot load the bootstrap of {}", args.source))
}

/// The blob named by the sha256 `digest` (`sha256:HEX`): from `cache` when it holds it intact
/// (a damaged entry is dropped), else from `fetch`. Checked against the digest before it is
/// used; stored in the cache when fetched (a cache that cannot be written never fails a scan).
pub(crate) fn blob_by_digest(
    cache: Option<&ChunkCache>,
    digest: &str,
    fetch: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    let key = digest_bytes(sha256_hex(digest)?);
    if let Some((cache, bytes)) = cache.and_then(|c| Some((c, c.get(Digester::Sha256, &key)?))) {
        if sha256_digest(&bytes) == digest {
            return Ok(bytes);
        }
        // Damaged: drop it so that the fetched copy takes its place.
        cache.remove(Digester::Sha256, &key);
    }
    let bytes = fetch()?;
    let got = sha256_digest(&bytes);
    if got != digest {
        anyhow::bail!("{digest} does not match its digest: got {got}");
    }
    if let Some(cache) = cache {
        let _ = cache.put(Digester::Sha256, &key, &bytes);
    }
    Ok(bytes)
}

/// The 32 bytes of a 64-digit lowercase hex digest (checked by [`sha256_hex`]).
fn digest_bytes(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let digit = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        };
        *byte = (digit(pair[0]) << 4) | digit(pair[1]);
    }
    out
}
