//! Writing the new image: blobs first (the source's, mounted or copied where the
//! destination lacks them; the new data blob; the bootstrap layer), then the config, then
//! the manifest. Until the manifest is written the destination tag is untouched.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use nyscan_oci::manifest::{Descriptor, MEDIA_TYPE_OCI_INDEX, sha256_hex};
use nyscan_oci::registry::{ClientOptions, RegistryClient, RegistryError};
use nyscan_oci::{OciLayout, RegistryRef};
use sha2::{Digest as _, Sha256};

use crate::assemble::{Assembled, MemoryBlob};
use crate::error::{PatchError, Result};
use crate::image::{SourceImage, SourceLocation};
use crate::plan::NewBlob;

/// Bytes per request when copying a blob out of a registry, and per upload chunk.
const COPY_PIECE: u64 = 32 << 20;
/// The tag annotation of `index.json` entries.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// How the source's blobs reached the destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobTransfer {
    /// Already there.
    pub present: usize,
    /// Mounted from the source repository (same registry), not uploaded.
    pub mounted: usize,
    /// Copied.
    pub copied: usize,
}

fn registry_error(what: String) -> impl FnOnce(RegistryError) -> PatchError {
    move |source| PatchError::Registry { what, source }
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PatchError {
    let path = path.to_owned();
    move |source| PatchError::Io { what, path, source }
}

/// Reads a registry blob front to back in ranged requests (bounded memory).
struct RangeReader<'a> {
    client: &'a RegistryClient,
    repo: &'a str,
    digest: &'a str,
    size: u64,
    pos: u64,
    buf: Vec<u8>,
    at: usize,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            if self.pos == self.size {
                return Ok(0);
            }
            let len = COPY_PIECE.min(self.size - self.pos);
            self.buf = self
                .client
                .blob_range(self.repo, self.digest, self.pos, len)
                .map_err(std::io::Error::other)?;
            self.pos += len;
            self.at = 0;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A reader over a source blob: a layout file or registry ranges.
fn open_source_blob<'a>(
    source: &'a SourceImage,
    desc: &'a Descriptor,
) -> Result<Box<dyn Read + 'a>> {
    match &source.location {
        SourceLocation::Layout { layout, .. } => {
            let path = layout
                .blob_path(&desc.digest)
                .map_err(|e| PatchError::Source {
                    source_ref: source.name.clone(),
                    source: e,
                })?;
            Ok(Box::new(
                File::open(&path).map_err(io_error("cannot read", &path))?,
            ))
        }
        SourceLocation::Registry { reference, client } => Ok(Box::new(RangeReader {
            client,
            repo: &reference.repository,
            digest: &desc.digest,
            size: desc.size,
            pos: 0,
            buf: Vec::new(),
            at: 0,
        })),
    }
}

/// Copies `reader` into a new temporary file in `dir`, checking it has `desc`'s size and
/// digest.
fn copy_verified(
    reader: &mut dyn Read,
    desc: &Descriptor,
    dir: &Path,
) -> Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".nyscan-copy-")
        .tempfile_in(dir)
        .map_err(io_error("cannot create a temporary file in", dir))?;
    let mut hash = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(PatchError::Io {
                    what: "cannot copy blob",
                    path: PathBuf::from(&desc.digest),
                    source,
                });
            }
        };
        hash.update(&buf[..n]);
        total += n as u64;
        tmp.write_all(&buf[..n])
            .map_err(io_error("cannot write", tmp.path()))?;
    }
    let actual = format!("sha256:{}", hex::encode(hash.finalize()));
    if actual != desc.digest || total != desc.size {
        return Err(PatchError::Layout {
            dir: dir.to_owned(),
            reason: format!(
                "blob {} copied as {total} bytes with digest {actual} (expected {} bytes)",
                desc.digest, desc.size
            ),
        });
    }
    tmp.as_file()
        .sync_all()
        .map_err(io_error("cannot write", tmp.path()))?;
    Ok(tmp)
}

/// Pushes the image to a registry repository.
pub(crate) fn to_registry(
    source: &SourceImage,
    dest: &RegistryRef,
    options: &ClientOptions,
    new_blob: Option<&NewBlob>,
    image: &Assembled,
    work_dir: &Path,
) -> Result<BlobTransfer> {
    let repo = dest.repository.as_str();
    let same_registry = match &source.location {
        SourceLocation::Registry { reference, client } if reference.registry == dest.registry => {
            Some((reference, client.clone()))
        }
        _ => None,
    };
    let client = match &same_registry {
        Some((_, c)) => c.clone(),
        None => RegistryClient::for_ref(dest, options.clone())
            .map_err(registry_error(format!("cannot reach {}", dest.registry)))?,
    };
    let mut transfer = BlobTransfer::default();
    for desc in source.manifest.nydus_blob_layers() {
        let what = |verb: &str| {
            format!(
                "cannot {verb} blob {} to {}/{repo}",
                desc.digest, dest.registry
            )
        };
        if client
            .blob_exists(repo, &desc.digest)
            .map_err(registry_error(what("check")))?
        {
            transfer.present += 1;
            continue;
        }
        if let Some((from, _)) = &same_registry
            && client
                .mount_blob(repo, &from.repository, &desc.digest)
                .map_err(registry_error(what("mount")))?
        {
            transfer.mounted += 1;
            continue;
        }
        let mut reader = open_source_blob(source, desc)?;
        let tmp = copy_verified(&mut reader, desc, work_dir)?;
        push_file(&client, repo, tmp.path(), &desc.digest, &what("push"))?;
        transfer.copied += 1;
    }
    if let (Some(blob), Some(desc)) = (new_blob, &image.new_blob) {
        push_file(
            &client,
            repo,
            &blob.file,
            &desc.digest,
            &format!(
                "cannot push the new blob {} to {}/{repo}",
                desc.digest, dest.registry
            ),
        )?;
    }
    for (blob, name) in [
        (&image.bootstrap_layer, "bootstrap layer"),
        (&image.config, "config"),
    ] {
        let what = format!("cannot push the {name} to {}/{repo}", dest.registry);
        client
            .push_blob(repo, &blob.bytes)
            .map_err(registry_error(what))?;
    }
    let tag = dest.tag.as_deref().unwrap_or("latest");
    client
        .push_manifest(repo, tag, &image.manifest_media_type, &image.manifest)
        .map_err(registry_error(format!(
            "cannot push the manifest to {dest}"
        )))?;
    Ok(transfer)
}

fn push_file(
    client: &RegistryClient,
    repo: &str,
    path: &Path,
    digest: &str,
    what: &str,
) -> Result<()> {
    let file = File::open(path).map_err(io_error("cannot read", path))?;
    let pushed = client
        .push_blob_chunked(repo, file, COPY_PIECE as usize)
        .map_err(registry_error(what.to_owned()))?;
    if pushed != digest {
        return Err(PatchError::Layout {
            dir: path.to_owned(),
            reason: format!("{what}: the file's digest is {pushed}, expected {digest}"),
        });
    }
    Ok(())
}

/// An OCI layout being written.
struct LayoutWriter {
    dir: PathBuf,
    blobs: PathBuf,
}

impl LayoutWriter {
    fn open(dir: &Path) -> Result<LayoutWriter> {
        let bad = |reason: String| PatchError::Layout {
            dir: dir.to_owned(),
            reason,
        };
        if dir.join("oci-layout").exists() {
            OciLayout::open(dir).map_err(|e| bad(e.to_string()))?;
        } else if dir.exists()
            && std::fs::read_dir(dir)
                .map_err(io_error("cannot read", dir))?
                .next()
                .is_some()
        {
            return Err(bad(
                "the directory exists, is not empty and is not an OCI layout".to_owned(),
            ));
        }
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).map_err(io_error("cannot create", &blobs))?;
        let marker = dir.join("oci-layout");
        if !marker.exists() {
            write_atomic(dir, &marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        Ok(LayoutWriter {
            dir: dir.to_owned(),
            blobs,
        })
    }

    fn path(&self, digest: &str) -> Result<PathBuf> {
        let hex = sha256_hex(digest).map_err(|e| PatchError::Layout {
            dir: self.dir.clone(),
            reason: e.to_string(),
        })?;
        Ok(self.blobs.join(hex))
    }

    /// Whether the layout holds a blob of this digest and size.
    fn has(&self, desc: &Descriptor) -> Result<bool> {
        Ok(std::fs::metadata(self.path(&desc.digest)?).is_ok_and(|m| m.len() == desc.size))
    }

    fn put_reader(&self, reader: &mut dyn Read, desc: &Descriptor) -> Result<()> {
        let tmp = copy_verified(reader, desc, &self.blobs)?;
        let path = self.path(&desc.digest)?;
        tmp.persist(&path).map_err(|e| PatchError::Io {
            what: "cannot write",
            path,
            source: e.error,
        })?;
        Ok(())
    }

    fn put_bytes(&self, blob: &MemoryBlob) -> Result<()> {
        if self.has(&blob.descriptor)? {
            return Ok(());
        }
        self.put_reader(&mut blob.bytes.as_slice(), &blob.descriptor)
    }

    /// Points `tag` at the manifest in `index.json` (other entries kept), atomically.
    fn tag(&self, tag: &str, manifest: Descriptor) -> Result<()> {
        let path = self.dir.join("index.json");
        let bad = |reason: String| PatchError::Layout {
            dir: self.dir.clone(),
            reason,
        };
        let mut index: serde_json::Value = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| bad(format!("index.json: {e}")))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({
                "schemaVersion": 2,
                "mediaType": MEDIA_TYPE_OCI_INDEX,
                "manifests": [],
            }),
            Err(e) => return Err(io_error("cannot read", &path)(e)),
        };
        let manifests = index
            .get_mut("manifests")
            .and_then(serde_json::Value::as_array_mut)
            .ok_or_else(|| bad("index.json has no manifests array".to_owned()))?;
        manifests.retain(|m| m["annotations"][REF_NAME].as_str() != Some(tag));
        manifests.push(serde_json::to_value(&manifest).map_err(|e| bad(e.to_string()))?);
        let bytes = serde_json::to_vec_pretty(&index).map_err(|e| bad(e.to_string()))?;
        write_atomic(&self.dir, &path, &bytes)
    }
}

/// Writes `path` through a temporary file in `dir` and a rename.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".nyscan-")
        .tempfile_in(dir)
        .map_err(io_error("cannot create a temporary file in", dir))?;
    tmp.write_all(bytes)
        .map_err(io_error("cannot write", path))?;
    tmp.as_file()
        .sync_all()
        .map_err(io_error("cannot write", path))?;
    tmp.persist(path).map_err(|e| PatchError::Io {
        what: "cannot write",
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

/// Writes the image into an OCI layout under `tag`.
pub(crate) fn to_layout(
    source: &SourceImage,
    dir: &Path,
    tag: &str,
    new_blob: Option<&NewBlob>,
    image: &Assembled,
) -> Result<BlobTransfer> {
    let out = LayoutWriter::open(dir)?;
    let mut transfer = BlobTransfer::default();
    for desc in source.manifest.nydus_blob_layers() {
        if out.has(desc)? {
            transfer.present += 1;
            continue;
        }
        let mut reader = open_source_blob(source, desc)?;
        out.put_reader(&mut reader, desc)?;
        transfer.copied += 1;
    }
    if let (Some(blob), Some(desc)) = (new_blob, &image.new_blob)
        && !out.has(desc)?
    {
        let mut file = File::open(&blob.file).map_err(io_error("cannot read", &blob.file))?;
        out.put_reader(&mut file, desc)?;
    }
    out.put_bytes(&image.bootstrap_layer)?;
    out.put_bytes(&image.config)?;
    let manifest = MemoryBlob {
        descriptor: Descriptor {
            media_type: image.manifest_media_type.clone(),
            digest: image.manifest_digest(),
            size: image.manifest.len() as u64,
            annotations: Default::default(),
            artifact_type: None,
            platform: None,
        },
        bytes: image.manifest.clone(),
    };
    out.put_bytes(&manifest)?;
    let mut entry = manifest.descriptor;
    entry
        .annotations
        .insert(REF_NAME.to_owned(), tag.to_owned());
    out.tag(tag, entry)?;
    Ok(transfer)
}
