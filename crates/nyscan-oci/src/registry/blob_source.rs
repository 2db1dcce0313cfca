//! Blobs of one repository as a [`BlobSource`].

use std::collections::HashMap;
use std::sync::Mutex;

use nyscan_source::{BlobSource, FetchCounters, SourceError, check_blob_id};

use super::client::{RegistryClient, check_repo};
use super::error::RegistryError;
use crate::manifest::ImageManifest;

/// The blobs of one repository, read by range: `blob_id` is the hex of the blob's sha256
/// digest (without `sha256:`). Sizes come from `HEAD` (cached) or from a manifest
/// ([`Self::with_manifest_sizes`]). Shared by worker threads (`Send + Sync`).
#[derive(Debug)]
pub struct RegistryBlobSource {
    client: RegistryClient,
    repo: String,
    sizes: Mutex<HashMap<String, u64>>,
    counters: FetchCounters,
}

impl RegistryBlobSource {
    /// The blobs of `repo` on `client`'s registry.
    pub fn new(client: RegistryClient, repo: &str) -> Result<RegistryBlobSource, RegistryError> {
        check_repo(repo)?;
        Ok(RegistryBlobSource {
            client,
            repo: repo.to_owned(),
            sizes: Mutex::new(HashMap::new()),
            counters: FetchCounters::default(),
        })
    }

    /// Takes the sizes of the manifest's layers (and config) as the blob sizes, which spares
    /// a `HEAD` per blob.
    pub fn with_manifest_sizes(self, manifest: &ImageManifest) -> RegistryBlobSource {
        {
            let mut sizes = self.sizes();
            for d in manifest.layers.iter().chain([&manifest.config]) {
                if let Ok(hex) = d.sha256_hex() {
                    sizes.insert(hex.to_owned(), d.size);
                }
            }
        }
        self
    }

    /// The client.
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// The repository.
    pub fn repository(&self) -> &str {
        &self.repo
    }

    fn sizes(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.sizes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn known_size(&self, blob_id: &str) -> Option<u64> {
        self.sizes().get(blob_id).copied()
    }
}

fn source_error(blob_id: &str, offset: u64, len: u64, e: RegistryError) -> SourceError {
    match e {
        RegistryError::NotFound { .. } => SourceError::NotFound {
            blob_id: blob_id.to_owned(),
        },
        RegistryError::OutOfRange {
            size: Some(size), ..
        } => SourceError::OutOfRange {
            blob_id: blob_id.to_owned(),
            offset,
            len,
            size,
        },
        e => SourceError::Read {
            blob_id: blob_id.to_owned(),
            offset,
            len,
            source: Box::new(e),
        },
    }
}

impl BlobSource for RegistryBlobSource {
    fn read_range(&self, blob_id: &str, offset: u64, len: u64) -> Result<Vec<u8>, SourceError> {
        check_blob_id(blob_id)?;
        if let Some(size) = self.known_size(blob_id)
            && offset.checked_add(len).is_none_or(|end| end > size)
        {
            return Err(SourceError::OutOfRange {
                blob_id: blob_id.to_owned(),
                offset,
                len,
                size,
            });
        }
        let digest = format!("sha256:{blob_id}");
        let bytes = self
            .client
            .blob_range(&self.repo, &digest, offset, len)
            .map_err(|e| match e {
                RegistryError::OutOfRange { size: None, .. } => match self.blob_size(blob_id) {
                    Ok(size) => SourceError::OutOfRange {
                        blob_id: blob_id.to_owned(),
                        offset,
                        len,
                        size,
                    },
                    Err(_) => source_error(blob_id, offset, len, e),
                },
                e => source_error(blob_id, offset, len, e),
            })?;
        self.counters.record(len);
        Ok(bytes)
    }

    fn blob_size(&self, blob_id: &str) -> Result<u64, SourceError> {
        check_blob_id(blob_id)?;
        if let Some(size) = self.known_size(blob_id) {
            return Ok(size);
        }
        let size = self
            .client
            .blob_size(&self.repo, &format!("sha256:{blob_id}"))
            .map_err(|e| source_error(blob_id, 0, 0, e))?;
        self.sizes().insert(blob_id.to_owned(), size);
        Ok(size)
    }

    fn counters(&self) -> &FetchCounters {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RegistryBlobSource>();
        check::<RegistryClient>();
    }
}
