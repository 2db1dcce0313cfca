//! The images a patch reads and writes: the source (manifest, config, bootstrap, blobs) and
//! the destination reference.

use std::path::{Path, PathBuf};

use nyscan_oci::manifest::{ImageManifest, MEDIA_TYPE_OCI_MANIFEST, Platform};
use nyscan_oci::registry::{
    ClientOptions, MAX_CONFIG_SIZE, RegistryBlobSource, RegistryClient, load_registry_bootstrap,
};
use nyscan_oci::{OciLayout, RegistryRef, Source, extract_bootstrap};
use nyscan_source::{BlobDir, BlobSource};

use crate::error::{PatchError, Result};

/// Where the source image lives.
#[derive(Debug)]
pub enum SourceLocation {
    /// A registry repository.
    Registry {
        /// The reference as parsed.
        reference: RegistryRef,
        /// A client for its registry.
        client: RegistryClient,
    },
    /// An OCI image layout.
    Layout {
        /// The layout.
        layout: OciLayout,
        /// The tag or digest given (`None`: `latest` or the only image).
        reference: Option<String>,
    },
}

/// The source image of a patch.
#[derive(Debug)]
pub struct SourceImage {
    /// The reference as given.
    pub name: String,
    /// Where it lives.
    pub location: SourceLocation,
    /// Its manifest.
    pub manifest: ImageManifest,
    /// The manifest's bytes as stored.
    pub manifest_bytes: Vec<u8>,
    /// The manifest's media type.
    pub manifest_media_type: String,
    /// The manifest's digest.
    pub manifest_digest: String,
    /// The config blob.
    pub config: Vec<u8>,
    /// The bootstrap (`image/image.boot` of the bootstrap layer).
    pub bootstrap: Vec<u8>,
    /// Its blobs.
    pub blobs: Box<dyn BlobSource>,
}

fn reference_error(what: &'static str, value: &str, reason: impl Into<String>) -> PatchError {
    PatchError::Reference {
        what,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

impl SourceImage {
    /// Opens `name`: a registry reference or `oci:DIR[:TAG|@DIGEST]`.
    pub fn open(name: &str, platform: &Platform, client: &ClientOptions) -> Result<SourceImage> {
        let parsed = Source::parse(name, None).map_err(|source| PatchError::Source {
            source_ref: name.to_owned(),
            source,
        })?;
        let source_err = |source| PatchError::Source {
            source_ref: name.to_owned(),
            source,
        };
        match parsed {
            Source::Bootstrap { .. } => Err(reference_error(
                "source",
                name,
                "a bootstrap file has no manifest or config: give HOST/REPO[:TAG] or oci:DIR[:TAG]",
            )),
            Source::Registry(reference) => {
                let registry = |e| source_err(nyscan_oci::Error::Registry(Box::new(e)));
                let client =
                    RegistryClient::for_ref(&reference, client.clone()).map_err(registry)?;
                let (mut image, bootstrap) =
                    load_registry_bootstrap(&client, &reference, platform).map_err(registry)?;
                let config = client.fetch_config(&mut image).map_err(registry)?.to_vec();
                let blobs = RegistryBlobSource::new(client.clone(), &reference.repository)
                    .map_err(registry)?
                    .with_manifest_sizes(&image.manifest);
                let media_type = image
                    .media_type
                    .clone()
                    .or(image.manifest.media_type.clone())
                    .unwrap_or_else(|| MEDIA_TYPE_OCI_MANIFEST.to_owned());
                Ok(SourceImage {
                    name: name.to_owned(),
                    location: SourceLocation::Registry { reference, client },
                    manifest: image.manifest,
                    manifest_bytes: image.manifest_bytes,
                    manifest_media_type: media_type,
                    manifest_digest: image.manifest_digest,
                    config,
                    bootstrap,
                    blobs: Box::new(blobs),
                })
            }
            Source::OciLayout { dir, reference } => {
                let layout = OciLayout::open(&dir).map_err(source_err)?;
                let (desc, manifest) = layout
                    .resolve_manifest(reference.as_deref(), platform)
                    .map_err(source_err)?;
                let manifest_bytes = layout.read_blob(&desc).map_err(source_err)?;
                let layer = manifest.nydus_bootstrap_layer().map_err(source_err)?;
                let bootstrap =
                    extract_bootstrap(&layout.read_blob(layer).map_err(source_err)?, &layer.digest)
                        .map_err(source_err)?;
                if manifest.config.size > MAX_CONFIG_SIZE {
                    return Err(PatchError::Config {
                        digest: manifest.config.digest.clone(),
                        reason: format!(
                            "{} bytes, over the {MAX_CONFIG_SIZE}-byte limit",
                            manifest.config.size
                        ),
                    });
                }
                let config = layout.read_blob(&manifest.config).map_err(source_err)?;
                let media_type = Some(desc.media_type.clone())
                    .filter(|m| !m.is_empty())
                    .or(manifest.media_type.clone())
                    .unwrap_or_else(|| MEDIA_TYPE_OCI_MANIFEST.to_owned());
                Ok(SourceImage {
                    name: name.to_owned(),
                    blobs: Box::new(BlobDir::new(dir.join("blobs/sha256"))),
                    location: SourceLocation::Layout { layout, reference },
                    manifest,
                    manifest_bytes,
                    manifest_media_type: media_type,
                    manifest_digest: desc.digest,
                    config,
                    bootstrap,
                })
            }
        }
    }
}

/// Where the patched image goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A registry repository and tag.
    Registry(RegistryRef),
    /// An OCI image layout directory (created if absent) and tag.
    Layout {
        /// The layout directory.
        dir: PathBuf,
        /// The tag (`org.opencontainers.image.ref.name`).
        tag: String,
    },
}

impl Destination {
    /// Parses `HOST[:PORT]/REPO[:TAG]` or `oci:DIR[:TAG]` (tag `latest` by default). A
    /// digest is refused: a new image has a new digest.
    pub fn parse(name: &str) -> Result<Destination> {
        if !name.starts_with("oci:") && Path::new(name).exists() {
            return Err(reference_error(
                "destination",
                name,
                "a local path: write an OCI layout with oci:DIR[:TAG]",
            ));
        }
        let parsed = Source::parse(name, None)
            .map_err(|e| reference_error("destination", name, e.to_string()))?;
        let digest_refused = || {
            reference_error(
                "destination",
                name,
                "a digest names existing content: give a tag",
            )
        };
        match parsed {
            Source::Registry(mut r) => {
                if r.digest.is_some() {
                    return Err(digest_refused());
                }
                r.tag.get_or_insert_with(|| "latest".to_owned());
                Ok(Destination::Registry(r))
            }
            Source::OciLayout { dir, reference } => match reference {
                Some(r) if r.starts_with("sha256:") => Err(digest_refused()),
                r => Ok(Destination::Layout {
                    dir,
                    tag: r.unwrap_or_else(|| "latest".to_owned()),
                }),
            },
            Source::Bootstrap { .. } => Err(reference_error(
                "destination",
                name,
                "expected HOST[:PORT]/REPO[:TAG] or oci:DIR[:TAG]",
            )),
        }
    }

    /// Whether this is the tag the source was read from (writing it would replace the
    /// source). A source named by digest has no tag to protect.
    pub fn is_source_tag(&self, source: &SourceImage) -> bool {
        match (self, &source.location) {
            (Destination::Registry(d), SourceLocation::Registry { reference: s, .. }) => {
                s.digest.is_none()
                    && s.registry == d.registry
                    && s.repository == d.repository
                    && s.tag.as_deref().unwrap_or("latest") == d.tag.as_deref().unwrap_or("latest")
            }
            (Destination::Layout { dir, tag }, SourceLocation::Layout { layout, reference }) => {
                let same_dir = match (dir.canonicalize(), layout.dir().canonicalize()) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => false,
                };
                let source_tag = match reference.as_deref() {
                    Some(r) if r.starts_with("sha256:") => return false,
                    Some(t) => t.to_owned(),
                    None => layout
                        .find(None)
                        .ok()
                        .and_then(|d| d.annotation("org.opencontainers.image.ref.name"))
                        .unwrap_or("latest")
                        .to_owned(),
                };
                same_dir && source_tag == *tag
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Registry(r) => r.fmt(f),
            Destination::Layout { dir, tag } => write!(f, "oci:{}:{tag}", dir.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_tags() {
        match Destination::parse("127.0.0.1:5000/a/b").unwrap() {
            Destination::Registry(r) => {
                assert_eq!(r.repository, "a/b");
                assert_eq!(r.tag.as_deref(), Some("latest"));
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(
            Destination::parse("oci:/tmp/nowhere/x:v2").unwrap(),
            Destination::Layout {
                dir: "/tmp/nowhere/x".into(),
                tag: "v2".into()
            }
        );
        assert_eq!(
            Destination::parse("oci:/tmp/nowhere/x")
                .unwrap()
                .to_string(),
            "oci:/tmp/nowhere/x:latest"
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        for bad in [
            format!("127.0.0.1:5000/a@{digest}"),
            format!("oci:/tmp/x@{digest}"),
            "alpine".to_owned(),
            "/etc/passwd".to_owned(),
        ] {
            let err = Destination::parse(&bad).unwrap_err().to_string();
            assert!(err.starts_with("destination"), "{bad}: {err}");
        }
    }
}
