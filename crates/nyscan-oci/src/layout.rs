//! OCI image layout directories (`oci-layout`, `index.json`, `blobs/sha256/...`).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::manifest::{
    Descriptor, ImageIndex, ImageManifest, ManifestOrIndex, Platform, sha256_hex,
};

/// Largest manifest or index read (they are small JSON documents).
const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// An OCI image layout on disk. Every blob read is checked against its descriptor's size and
/// digest.
#[derive(Debug, Clone)]
pub struct OciLayout {
    dir: PathBuf,
    index: ImageIndex,
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

impl OciLayout {
    /// Opens a layout directory, checking `oci-layout` and reading `index.json`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<OciLayout> {
        let dir = dir.into();
        let marker_path = dir.join("oci-layout");
        let marker = read_file(&marker_path)?;
        let marker: serde_json::Value =
            serde_json::from_slice(&marker).map_err(|source| Error::Json {
                what: "oci-layout file",
                path: marker_path.clone(),
                source,
            })?;
        if marker["imageLayoutVersion"].as_str() != Some("1.0.0") {
            return Err(Error::InvalidLayout {
                dir,
                reason: format!(
                    "imageLayoutVersion is {}, expected \"1.0.0\"",
                    marker["imageLayoutVersion"]
                ),
            });
        }
        let index_path = dir.join("index.json");
        let index =
            serde_json::from_slice(&read_file(&index_path)?).map_err(|source| Error::Json {
                what: "index.json",
                path: index_path,
                source,
            })?;
        Ok(OciLayout { dir, index })
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The top-level index (`index.json`).
    pub fn index(&self) -> &ImageIndex {
        &self.index
    }

    /// Path of a blob in the layout.
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self.dir.join("blobs/sha256").join(sha256_hex(digest)?))
    }

    /// Reads a blob whole, checking size and digest against the descriptor.
    pub fn read_blob(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        let path = self.blob_path(&desc.digest)?;
        let len = std::fs::metadata(&path)
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?
            .len();
        if len != desc.size {
            return Err(Error::SizeMismatch {
                path,
                expected: desc.size,
                actual: len,
            });
        }
        let bytes = read_file(&path)?;
        let actual = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        if actual != desc.digest {
            return Err(Error::DigestMismatch {
                path,
                expected: desc.digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// The entry of `index.json` named by `reference`: a tag (`org.opencontainers.image.ref.name`)
    /// or a `sha256:` digest; without one, `latest`, or the only entry.
    pub fn find(&self, reference: Option<&str>) -> Result<&Descriptor> {
        let manifests = &self.index.manifests;
        let found = match reference {
            Some(r) if r.starts_with("sha256:") => manifests.iter().find(|d| d.digest == r),
            Some(tag) => manifests
                .iter()
                .find(|d| d.annotation("org.opencontainers.image.ref.name") == Some(tag)),
            None => manifests
                .iter()
                .find(|d| d.annotation("org.opencontainers.image.ref.name") == Some("latest"))
                .or_else(|| (manifests.len() == 1).then(|| &manifests[0])),
        };
        found.ok_or_else(|| Error::NoSuchImage {
            dir: self.dir.clone(),
            reference: reference.unwrap_or("latest").to_owned(),
        })
    }

    /// Resolves `reference` to the Nydus image manifest, going through an index if needed.
    pub fn resolve_manifest(
        &self,
        reference: Option<&str>,
        platform: &Platform,
    ) -> Result<(Descriptor, ImageManifest)> {
        let mut desc = self.find(reference)?.clone();
        // An index may point to another index; two levels is the most any tool writes.
        for _ in 0..3 {
            if desc.size > MAX_MANIFEST_SIZE {
                return Err(Error::InvalidLayout {
                    dir: self.dir.clone(),
                    reason: format!(
                        "manifest {} is {} bytes, over the 4 MiB limit",
                        desc.digest, desc.size
                    ),
                });
            }
            let bytes = self.read_blob(&desc)?;
            let doc = ManifestOrIndex::parse(&bytes, Some(&desc.media_type)).map_err(|source| {
                Error::Json {
                    what: "manifest",
                    path: self.blob_path(&desc.digest).unwrap_or_default(),
                    source,
                }
            })?;
            match doc {
                ManifestOrIndex::Manifest(m) => return Ok((desc, m)),
                ManifestOrIndex::Index(index) => desc = index.select_nydus(platform)?.clone(),
            }
        }
        Err(Error::InvalidLayout {
            dir: self.dir.clone(),
            reason: "indexes nested more than three deep".to_owned(),
        })
    }
}
