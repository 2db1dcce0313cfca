//! OCI manifests and indexes, and the rules that find a Nydus image in them.
//!
//! A Nydus manifest lists the data blob layers, then one bootstrap layer last: a gzip tar
//! annotated `containerd.io/snapshot/nydus-bootstrap: "true"`. In an index, the Nydus manifest
//! is marked by `artifactType: application/vnd.nydus.image.manifest.v1+json` or by the
//! platform feature `nydus.remoteimage.v1` (older converters).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// OCI image manifest media type.
pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 2 manifest media type.
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Media type of Nydus data blob layers.
pub const MEDIA_TYPE_NYDUS_BLOB: &str = "application/vnd.oci.image.layer.nydus.blob.v1";
/// `artifactType` of Nydus manifests in an index.
pub const ARTIFACT_TYPE_NYDUS: &str = "application/vnd.nydus.image.manifest.v1+json";
/// Platform `os.features` entry of Nydus manifests (legacy marker).
pub const OS_FEATURE_NYDUS: &str = "nydus.remoteimage.v1";
/// Layer annotation of the bootstrap layer.
pub const ANNOTATION_BOOTSTRAP: &str = "containerd.io/snapshot/nydus-bootstrap";
/// Layer annotation of data blob layers.
pub const ANNOTATION_BLOB: &str = "containerd.io/snapshot/nydus-blob";
/// Bootstrap layer annotation giving the RAFS version (informational only).
pub const ANNOTATION_FS_VERSION: &str = "containerd.io/snapshot/nydus-fs-version";

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Artifact type (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Platform (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// The annotation `key`, if present.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// The hex part of a `sha256:` digest.
    pub fn sha256_hex(&self) -> Result<&str> {
        sha256_hex(&self.digest)
    }

    fn is_nydus_manifest(&self) -> bool {
        self.artifact_type.as_deref() == Some(ARTIFACT_TYPE_NYDUS)
            || self
                .platform
                .as_ref()
                .is_some_and(|p| p.os_features.iter().any(|f| f == OS_FEATURE_NYDUS))
    }
}

/// The hex part of a `sha256:<64 hex>` digest.
pub fn sha256_hex(digest: &str) -> Result<&str> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| Error::BadDigest(digest.to_owned()))
}

/// A platform in an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`...).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// CPU variant (`v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// OS features; `nydus.remoteimage.v1` marks a Nydus manifest.
    #[serde(default, rename = "os.features", skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
}

impl Platform {
    /// The platform of this machine, in OCI names.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            architecture: architecture.to_owned(),
            os: std::env::consts::OS.to_owned(),
            variant: None,
            os_features: Vec::new(),
        }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?;
        let architecture = parts.next().filter(|p| !p.is_empty())?;
        let variant = parts.next().map(str::to_owned);
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            architecture: architecture.to_owned(),
            os: os.to_owned(),
            variant,
            os_features: Vec::new(),
        })
    }

    fn matches(&self, want: &Platform) -> bool {
        self.os == want.os
            && self.architecture == want.architecture
            && (want.variant.is_none() || self.variant == want.variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// Manifest media type.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The image config.
    pub config: Descriptor,
    /// Layers, base first.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageManifest {
    /// The bootstrap layer of a Nydus manifest: the last layer, a gzip tar annotated
    /// `nydus-bootstrap: "true"`. A plain image gets [`Error::NotNydus`].
    pub fn nydus_bootstrap_layer(&self) -> Result<&Descriptor> {
        let last = self.layers.last().ok_or_else(|| Error::NotNydus {
            reason: "the manifest has no layers".to_owned(),
        })?;
        if last.annotation(ANNOTATION_BOOTSTRAP) == Some("true") {
            return Ok(last);
        }
        let blobs = self
            .layers
            .iter()
            .filter(|l| l.media_type == MEDIA_TYPE_NYDUS_BLOB)
            .count();
        Err(Error::NotNydus {
            reason: if blobs > 0 {
                format!(
                    "{blobs} Nydus blob layers but the last layer ({}) is not annotated as the bootstrap",
                    last.media_type
                )
            } else {
                format!(
                    "its {} layers are ordinary {} layers, with no Nydus bootstrap",
                    self.layers.len(),
                    last.media_type
                )
            },
        })
    }

    /// The data blob layers (every layer before the bootstrap).
    pub fn nydus_blob_layers(&self) -> &[Descriptor] {
        &self.layers[..self.layers.len().saturating_sub(1)]
    }
}

/// An image index (or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// Index media type.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The manifests.
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// Picks the Nydus manifest for `platform` (a Nydus-marked entry whose platform matches, or
    /// whose platform is absent when it is the only Nydus entry).
    pub fn select_nydus(&self, platform: &Platform) -> Result<&Descriptor> {
        let nydus: Vec<&Descriptor> = self
            .manifests
            .iter()
            .filter(|d| d.is_nydus_manifest())
            .collect();
        if nydus.is_empty() {
            return Err(Error::NotNydus {
                reason: format!(
                    "the index lists {} manifests and none is marked as Nydus ({ARTIFACT_TYPE_NYDUS} or os.features {OS_FEATURE_NYDUS})",
                    self.manifests.len()
                ),
            });
        }
        if let Some(d) = nydus
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| p.matches(platform)))
        {
            return Ok(d);
        }
        if nydus.len() == 1 && nydus[0].platform.is_none() {
            return Ok(nydus[0]);
        }
        Err(Error::NoPlatform {
            platform: platform.to_string(),
            found: nydus
                .iter()
                .map(|d| {
                    d.platform
                        .as_ref()
                        .map_or("unspecified".to_owned(), ToString::to_string)
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// A manifest or an index, told apart by media type or shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestOrIndex {
    /// An image manifest.
    Manifest(ImageManifest),
    /// An index.
    Index(ImageIndex),
}

impl ManifestOrIndex {
    /// Parses a manifest document, using `media_type` (from the descriptor or the response)
    /// when known, else the document's own `mediaType` or shape.
    pub fn parse(bytes: &[u8], media_type: Option<&str>) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_slice(bytes)?;
        let mt = media_type
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .or(probe.media_type);
        let is_index = match mt.as_deref() {
            Some(MEDIA_TYPE_OCI_INDEX | MEDIA_TYPE_DOCKER_LIST) => true,
            Some(MEDIA_TYPE_OCI_MANIFEST | MEDIA_TYPE_DOCKER_MANIFEST) => false,
            _ => probe.manifests.is_some(),
        };
        Ok(if is_index {
            ManifestOrIndex::Index(serde_json::from_slice(bytes)?)
        } else {
            ManifestOrIndex::Manifest(serde_json::from_slice(bytes)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(json: &str) -> Descriptor {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn selects_nydus_by_artifact_type_or_os_feature() {
        let index = ImageIndex {
            schema_version: 2,
            media_type: None,
            annotations: BTreeMap::new(),
            manifests: vec![
                desc(
                    r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a","size":1,"platform":{"architecture":"amd64","os":"linux"}}"#,
                ),
                desc(
                    r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:b","size":1,"platform":{"architecture":"amd64","os":"linux","os.features":["nydus.remoteimage.v1"]}}"#,
                ),
                desc(
                    r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:c","size":1,"artifactType":"application/vnd.nydus.image.manifest.v1+json","platform":{"architecture":"arm64","os":"linux"}}"#,
                ),
            ],
        };
        let amd = Platform::parse("linux/amd64").unwrap();
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(index.select_nydus(&amd).unwrap().digest, "sha256:b");
        assert_eq!(index.select_nydus(&arm).unwrap().digest, "sha256:c");
        let err = index
            .select_nydus(&Platform::parse("linux/s390x").unwrap())
            .unwrap_err();
        assert!(
            err.to_string().contains("linux/amd64, linux/arm64"),
            "{err}"
        );
        let plain = ImageIndex {
            manifests: index.manifests[..1].to_vec(),
            ..index
        };
        assert!(matches!(
            plain.select_nydus(&amd),
            Err(Error::NotNydus { .. })
        ));
    }

    #[test]
    fn plain_images_are_not_nydus() {
        let m: ImageManifest = serde_json::from_str(
            r#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:a","size":1},
               "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:b","size":1}]}"#,
        )
        .unwrap();
        let err = m.nydus_bootstrap_layer().unwrap_err().to_string();
        assert!(err.starts_with("this is not a Nydus image"), "{err}");
    }

    #[test]
    fn digests_are_checked() {
        assert!(sha256_hex("sha256:abc").is_err());
        assert!(sha256_hex(&format!("sha512:{}", "a".repeat(64))).is_err());
        assert!(sha256_hex(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(sha256_hex(&format!("sha256:{}", "A".repeat(64))).is_err());
    }
}
