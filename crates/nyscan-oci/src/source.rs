//! What the user names as an image, and loading its bootstrap.

use std::path::{Path, PathBuf};

use crate::bootstrap_layer::{MAX_BOOTSTRAP_SIZE, extract_bootstrap};
use crate::error::{Error, Result};
use crate::layout::OciLayout;
use crate::manifest::{ImageManifest, Platform};
use crate::registry::{ClientOptions, RegistryBlobSource, RegistryClient, load_registry_bootstrap};
use nyscan_source::{BlobDir, BlobSource};

/// A registry reference: `HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    /// Registry host, with the port if one was given.
    pub registry: String,
    /// Repository path (`library/alpine`).
    pub repository: String,
    /// Tag, if given.
    pub tag: Option<String>,
    /// Digest, if given (wins over the tag).
    pub digest: Option<String>,
}

impl RegistryRef {
    /// The tag or digest to resolve (`latest` when neither was given).
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// True for loopback registries, which container tools reach over plain HTTP by default.
    pub fn is_loopback(&self) -> bool {
        let host = self
            .registry
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(self.registry.as_str(), |(h, _)| h);
        matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.")
    }
}

impl std::fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// An image source as typed on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An image in a registry.
    Registry(RegistryRef),
    /// An image in an OCI image layout directory, by tag or digest.
    OciLayout {
        /// The layout directory.
        dir: PathBuf,
        /// Tag or `sha256:` digest; `latest` (or the only image) when absent.
        reference: Option<String>,
    },
    /// A bootstrap file, with its blobs in a directory (by default, beside it).
    Bootstrap {
        /// The bootstrap file.
        path: PathBuf,
        /// Where the blobs are.
        blob_dir: PathBuf,
    },
}

fn invalid(input: &str, reason: &'static str) -> Error {
    Error::InvalidSource {
        input: input.to_owned(),
        reason,
    }
}

impl Source {
    /// Parses a source: `oci:DIR[:TAG|@DIGEST]`, an existing file (a bootstrap), or a registry
    /// reference. `blob_dir` overrides where a bootstrap's blobs are looked for.
    pub fn parse(input: &str, blob_dir: Option<&Path>) -> Result<Source> {
        if let Some(rest) = input.strip_prefix("oci:") {
            return parse_layout(input, rest);
        }
        let as_path = Path::new(input);
        if as_path.is_file() {
            let dir = blob_dir
                .map(Path::to_path_buf)
                .unwrap_or_else(|| as_path.parent().map(Path::to_path_buf).unwrap_or_default());
            return Ok(Source::Bootstrap {
                path: as_path.to_path_buf(),
                blob_dir: dir,
            });
        }
        if input.starts_with(['/', '.']) || as_path.exists() {
            return Err(invalid(input, "no such bootstrap file"));
        }
        parse_registry(input).map(Source::Registry)
    }
}

fn parse_layout(input: &str, rest: &str) -> Result<Source> {
    if rest.is_empty() {
        return Err(invalid(input, "oci: needs a directory"));
    }
    // oci:DIR@sha256:..., oci:DIR:TAG, or oci:DIR (a directory may itself contain ':').
    if let Some((dir, digest)) = rest.split_once("@sha256:") {
        return Ok(Source::OciLayout {
            dir: dir.into(),
            reference: Some(format!("sha256:{digest}")),
        });
    }
    if Path::new(rest).is_dir() {
        return Ok(Source::OciLayout {
            dir: rest.into(),
            reference: None,
        });
    }
    match rest.rsplit_once(':') {
        Some((dir, tag)) if !tag.is_empty() && !tag.contains('/') => Ok(Source::OciLayout {
            dir: dir.into(),
            reference: Some(tag.to_owned()),
        }),
        _ => Ok(Source::OciLayout {
            dir: rest.into(),
            reference: None,
        }),
    }
}

fn parse_registry(input: &str) -> Result<RegistryRef> {
    let (name, digest) = match input.split_once('@') {
        Some((n, d)) => {
            crate::manifest::sha256_hex(d)?;
            (n, Some(d.to_owned()))
        }
        None => (input, None),
    };
    let (registry, path) = name.split_once('/').ok_or_else(|| {
        invalid(
            input,
            "expected HOST[:PORT]/REPO[:TAG], oci:DIR or a bootstrap file",
        )
    })?;
    if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
        return Err(invalid(
            input,
            "the first component must be a registry host (with a dot or a port, or localhost)",
        ));
    }
    let (repository, tag) = match path.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, Some(t.to_owned())),
        _ => (path, None),
    };
    let valid_repo = !repository.is_empty()
        && repository.split('/').all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
        });
    if !valid_repo {
        return Err(invalid(
            input,
            "repository must be lowercase path components",
        ));
    }
    if let Some(t) = &tag {
        let ok = t.len() <= 128
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            && !t.starts_with(['.', '-']);
        if !ok {
            return Err(invalid(input, "malformed tag"));
        }
    }
    Ok(RegistryRef {
        registry: registry.to_owned(),
        repository: repository.to_owned(),
        tag,
        digest,
    })
}

/// Bootstrap bytes: read into memory, or mapped from a local file so that only the pages
/// a command touches are read.
#[derive(Debug)]
pub enum BootstrapBytes {
    /// Bytes in memory (extracted from a layer).
    Owned(Vec<u8>),
    /// A read-only mapping of a local bootstrap file.
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for BootstrapBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            BootstrapBytes::Owned(v) => v,
            BootstrapBytes::Mapped(m) => m,
        }
    }
}

/// Maps a regular file read-only; empty files are read (they cannot be mapped).
fn map_file(path: &Path) -> Result<BootstrapBytes> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() || meta.len() == 0 {
        return std::fs::read(path).map(BootstrapBytes::Owned).map_err(io);
    }
    // SAFETY: the mapping is read-only and private. If another process truncates the file
    // while it is mapped, reads past the new end fault (SIGBUS); bootstraps are immutable
    // content-addressed files, and this is the trade ripgrep and nydus make too.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
    Ok(BootstrapBytes::Mapped(map))
}

/// An image opened from a source: its bootstrap, and where its blobs are read from.
#[derive(Debug)]
pub struct LoadedBootstrap {
    /// The bootstrap bytes.
    pub bytes: BootstrapBytes,
    /// The image manifest, when the source was an image.
    pub manifest: Option<ImageManifest>,
    /// The manifest digest, when the source was an image.
    pub manifest_digest: Option<String>,
    /// The image's blobs: a local directory, or the registry repository.
    pub blobs: Box<dyn BlobSource>,
}

/// Opens the image a source names: loads its bootstrap and sets up its blob source.
/// `client` applies to registry sources only.
pub fn load_bootstrap(
    source: &Source,
    platform: &Platform,
    client: &ClientOptions,
) -> Result<LoadedBootstrap> {
    match source {
        Source::Bootstrap { path, blob_dir } => {
            let len = std::fs::metadata(path)
                .map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?
                .len();
            if len > MAX_BOOTSTRAP_SIZE {
                return Err(Error::InvalidSource {
                    input: path.display().to_string(),
                    reason: "file is larger than the 2 GiB bootstrap limit",
                });
            }
            let bytes = map_file(path)?;
            Ok(LoadedBootstrap {
                bytes,
                manifest: None,
                manifest_digest: None,
                blobs: Box::new(BlobDir::new(blob_dir)),
            })
        }
        Source::OciLayout { dir, reference } => {
            let layout = OciLayout::open(dir)?;
            let (desc, manifest) = layout.resolve_manifest(reference.as_deref(), platform)?;
            let layer = manifest.nydus_bootstrap_layer()?;
            let bytes =
                BootstrapBytes::Owned(extract_bootstrap(&layout.read_blob(layer)?, &layer.digest)?);
            Ok(LoadedBootstrap {
                bytes,
                manifest: Some(manifest),
                manifest_digest: Some(desc.digest),
                blobs: Box::new(BlobDir::new(dir.join("blobs/sha256"))),
            })
        }
        Source::Registry(r) => {
            let registry = |e| Error::Registry(Box::new(e));
            let client = RegistryClient::for_ref(r, client.clone()).map_err(registry)?;
            let (resolved, bytes) =
                load_registry_bootstrap(&client, r, platform).map_err(registry)?;
            let blobs = RegistryBlobSource::new(client, &r.repository)
                .map_err(registry)?
                .with_manifest_sizes(&resolved.manifest);
            Ok(LoadedBootstrap {
                bytes: BootstrapBytes::Owned(bytes),
                manifest: Some(resolved.manifest),
                manifest_digest: Some(resolved.manifest_digest),
                blobs: Box::new(blobs),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_references() {
        let r = parse_registry("127.0.0.1:5000/nydus/basic:v6").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "nydus/basic");
        assert_eq!(r.tag.as_deref(), Some("v6"));
        assert!(r.is_loopback());
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = parse_registry(&format!("ghcr.io/org/img@{d}")).unwrap();
        assert_eq!(r.reference(), d);
        assert!(!r.is_loopback());
        assert_eq!(parse_registry("localhost/a").unwrap().reference(), "latest");
        for bad in [
            "alpine",
            "docker.io/UPPER",
            "host.io/",
            "host.io/a:bad tag",
            "host.io/a@sha256:zz",
        ] {
            assert!(parse_registry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_layout_sources() {
        assert_eq!(
            Source::parse("oci:/tmp/x:v1", None).unwrap(),
            Source::OciLayout {
                dir: "/tmp/x".into(),
                reference: Some("v1".into())
            }
        );
        let d = "a".repeat(64);
        assert_eq!(
            Source::parse(&format!("oci:/tmp/x@sha256:{d}"), None).unwrap(),
            Source::OciLayout {
                dir: "/tmp/x".into(),
                reference: Some(format!("sha256:{d}"))
            }
        );
        assert!(Source::parse("oci:", None).is_err());
        assert!(Source::parse("./missing.boot", None).is_err());
    }
}
