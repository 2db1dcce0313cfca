//! The new image's documents: the bootstrap layer, the config and the manifest.

use std::collections::BTreeMap;

use nyscan_oci::manifest::{ANNOTATION_BLOB, Descriptor, MEDIA_TYPE_NYDUS_BLOB, sha256_hex};
use nyscan_oci::registry::sha256_digest;
use nyscan_rafs::BlobInfo;
use serde_json::{Value, json};

use crate::error::{PatchError, Result};
use crate::image::SourceImage;

/// Bootstrap-layer annotation some converters add: the blob ids the bootstrap refers to.
const ANNOTATION_REFERENCE_BLOB_IDS: &str = "containerd.io/snapshot/nydus-reference-blob-ids";

/// A blob to publish, held in memory.
#[derive(Debug, Clone)]
pub(crate) struct MemoryBlob {
    pub(crate) descriptor: Descriptor,
    pub(crate) bytes: Vec<u8>,
}

impl MemoryBlob {
    fn new(media_type: &str, bytes: Vec<u8>, annotations: BTreeMap<String, String>) -> Self {
        MemoryBlob {
            descriptor: Descriptor {
                media_type: media_type.to_owned(),
                digest: sha256_digest(&bytes),
                size: bytes.len() as u64,
                annotations,
                artifact_type: None,
                platform: None,
            },
            bytes,
        }
    }
}

/// Everything the new image is made of besides the source's blobs.
#[derive(Debug, Clone)]
pub(crate) struct Assembled {
    /// The bootstrap layer (gzip tar holding `image/image.boot`).
    pub(crate) bootstrap_layer: MemoryBlob,
    /// The descriptor of the new data blob, if any.
    pub(crate) new_blob: Option<Descriptor>,
    /// The config.
    pub(crate) config: MemoryBlob,
    /// The manifest bytes.
    pub(crate) manifest: Vec<u8>,
    /// Its media type.
    pub(crate) manifest_media_type: String,
}

impl Assembled {
    /// The manifest's digest.
    pub(crate) fn manifest_digest(&self) -> String {
        sha256_digest(&self.manifest)
    }
}

/// The bootstrap layer as nydus writes it: a tar holding the directory `image/` and
/// `image/image.boot` (mode 0444), gzip compressed. Returns (compressed, uncompressed tar).
pub(crate) fn bootstrap_layer(bootstrap: &[u8]) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_mtime(0);
    tar.append_data(&mut dir, "image/", std::io::empty())?;
    let mut file = tar::Header::new_ustar();
    file.set_entry_type(tar::EntryType::Regular);
    file.set_mode(0o444);
    file.set_size(bootstrap.len() as u64);
    file.set_mtime(0);
    tar.append_data(&mut file, nyscan_oci::BOOTSTRAP_PATH, bootstrap)?;
    let raw = tar.into_inner()?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw)?;
    Ok((gz.finish()?, raw))
}

/// Seconds since the epoch as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The time the image is stamped with: `SOURCE_DATE_EPOCH` when set (reproducible
/// builds), else now.
pub(crate) fn build_time() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
}

/// The source config with `rootfs.diff_ids` for the new layers (blob layers: their digest;
/// the bootstrap layer: the sha256 of its uncompressed tar), a history entry for the patch,
/// and the new creation time. Every other field is kept.
pub(crate) fn patched_config(
    source: &SourceImage,
    diff_ids: Vec<String>,
    comment: &str,
    created: &str,
) -> Result<Vec<u8>> {
    let digest = &source.manifest.config.digest;
    let bad = |reason: &str| PatchError::Config {
        digest: digest.clone(),
        reason: reason.to_owned(),
    };
    let mut config: Value =
        serde_json::from_slice(&source.config).map_err(|e| bad(&e.to_string()))?;
    let obj = config
        .as_object_mut()
        .ok_or_else(|| bad("not a JSON object"))?;
    let rootfs = obj
        .entry("rootfs")
        .or_insert_with(|| json!({"type": "layers"}))
        .as_object_mut()
        .ok_or_else(|| bad("rootfs is not an object"))?;
    rootfs.insert("diff_ids".to_owned(), json!(diff_ids));
    let history = obj.entry("history").or_insert_with(|| json!([]));
    let history = history
        .as_array_mut()
        .ok_or_else(|| bad("history is not an array"))?;
    history.push(json!({
        "created": created,
        "created_by": "nyscan patch",
        "comment": comment,
    }));
    obj.insert("created".to_owned(), json!(created));
    serde_json::to_vec(&config).map_err(|e| bad(&e.to_string()))
}

/// Assembles the new image: the source's blob layers, the new blob layer (if any), the new
/// bootstrap layer, the patched config, and a manifest built on the source's (its other
/// fields and annotations kept).
pub(crate) fn assemble(
    source: &SourceImage,
    bootstrap: &[u8],
    new_blob: Option<&BlobInfo>,
    comment: &str,
) -> Result<Assembled> {
    let old_layer = source
        .manifest
        .nydus_bootstrap_layer()
        .map_err(|e| PatchError::Source {
            source_ref: source.name.clone(),
            source: e,
        })?;
    let mut layers: Vec<Descriptor> = source.manifest.nydus_blob_layers().to_vec();
    let new_blob = new_blob.map(|b| Descriptor {
        media_type: MEDIA_TYPE_NYDUS_BLOB.to_owned(),
        digest: format!("sha256:{}", b.id),
        size: b.compressed_size,
        annotations: BTreeMap::from([(ANNOTATION_BLOB.to_owned(), "true".to_owned())]),
        artifact_type: None,
        platform: None,
    });
    layers.extend(new_blob.clone());

    let (gz, raw) = bootstrap_layer(bootstrap).map_err(|e| PatchError::Config {
        digest: old_layer.digest.clone(),
        reason: format!("cannot build the bootstrap layer: {e}"),
    })?;
    let mut annotations = old_layer.annotations.clone();
    if annotations.contains_key(ANNOTATION_REFERENCE_BLOB_IDS) {
        let ids: Vec<&str> = layers
            .iter()
            .filter_map(|l| sha256_hex(&l.digest).ok())
            .collect();
        annotations.insert(
            ANNOTATION_REFERENCE_BLOB_IDS.to_owned(),
            serde_json::to_string(&ids).unwrap_or_default(),
        );
    }
    let bootstrap_layer = MemoryBlob::new(&old_layer.media_type, gz, annotations);

    let mut diff_ids: Vec<String> = layers.iter().map(|l| l.digest.clone()).collect();
    diff_ids.push(sha256_digest(&raw));
    let created = rfc3339(build_time());
    let config_bytes = patched_config(source, diff_ids, comment, &created)?;
    let config = MemoryBlob::new(
        &source.manifest.config.media_type,
        config_bytes,
        BTreeMap::new(),
    );
    layers.push(bootstrap_layer.descriptor.clone());

    let bad = |reason: String| PatchError::Config {
        digest: source.manifest_digest.clone(),
        reason,
    };
    let mut manifest: Value = serde_json::from_slice(&source.manifest_bytes)
        .map_err(|e| bad(format!("the source manifest: {e}")))?;
    let obj = manifest
        .as_object_mut()
        .ok_or_else(|| bad("the source manifest is not a JSON object".to_owned()))?;
    obj.insert(
        "config".to_owned(),
        serde_json::to_value(&config.descriptor).map_err(|e| bad(e.to_string()))?,
    );
    obj.insert(
        "layers".to_owned(),
        serde_json::to_value(&layers).map_err(|e| bad(e.to_string()))?,
    );
    // A referrer's subject is the source image, not this one.
    obj.remove("subject");
    let manifest = serde_json::to_vec(&manifest).map_err(|e| bad(e.to_string()))?;
    Ok(Assembled {
        bootstrap_layer,
        new_blob,
        config,
        manifest,
        manifest_media_type: source.manifest_media_type.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn bootstrap_layers_hold_the_bootstrap() {
        let (gz, raw) = bootstrap_layer(b"boot bytes").unwrap();
        assert_eq!(
            nyscan_oci::extract_bootstrap(&gz, "sha256:x").unwrap(),
            b"boot bytes"
        );
        let mut names = Vec::new();
        for e in tar::Archive::new(raw.as_slice()).entries().unwrap() {
            let e = e.unwrap();
            names.push((
                e.path().unwrap().display().to_string(),
                e.header().mode().unwrap(),
            ));
        }
        assert_eq!(
            names,
            [
                ("image/".to_owned(), 0o755),
                ("image/image.boot".to_owned(), 0o444)
            ]
        );
        // Deterministic: the same bootstrap gives the same layer digest.
        assert_eq!(bootstrap_layer(b"boot bytes").unwrap().0, gz);
    }
}
