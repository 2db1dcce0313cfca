//! Patching Nydus images: replace, add and delete files, and publish the result as a new
//! image that shares the source's blobs.
//!
//! # Brief overview
//!
//! - [`ops`] parses what to do (`--replace /PATH=LOCAL`, `--add /PATH=LOCAL` with `--mode`
//!   and `--owner`, `--delete /PATH`, `--from FILE`), refusing malformed paths (relative,
//!   escaping the root) by name.
//! - [`SourceImage::open`] reads the source image (registry or `oci:DIR`): manifest, config,
//!   bootstrap, blobs. [`Destination::parse`] reads where the result goes.
//! - [`plan()`] validates every operation against the source's tree first (all refusals are
//!   reported together, nothing is written), then applies them: new content is cut into
//!   chunks of the image's chunk size; chunks the image already has (same digest and size)
//!   are referenced, the rest go to one new data blob in the layout of the image's blobs;
//!   the new bootstrap is written with [`nyscan_rafs::write`].
//! - [`patch()`] does it all: the new image is the source's blob layers, untouched and
//!   mounted across repositories of one registry (or copied), plus the new blob (if any), a
//!   new bootstrap layer and a config with updated `rootfs.diff_ids` and history; blobs are
//!   written first, then the config, then the manifest, so a failure leaves the destination
//!   tag as it was. The source's own tag is overwritten only with `force`. Then the written
//!   image is read back from the destination and every changed path is checked
//!   (`verify`), and a [`PatchReport`] says what changed.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod assemble;
mod edit;
mod error;
mod image;
pub mod ops;
mod plan;
mod publish;
mod verify;

use std::path::PathBuf;

use nyscan_oci::manifest::Platform;
use nyscan_oci::registry::ClientOptions;
use nyscan_rafs::FormatVersion;

pub use error::{OpError, OpErrors, PatchError, Result};
pub use image::{Destination, SourceImage, SourceLocation};
pub use ops::{Op, OpKind, Origin, Owner, parse_ops};
pub use plan::{Change, NewBlob, Plan, plan};
pub use publish::BlobTransfer;
pub use verify::Verified;

/// How a patch runs.
#[derive(Debug, Clone)]
pub struct PatchOptions {
    /// Overwrite the source's own tag, and replace directories (and other non-files) with
    /// files.
    pub force: bool,
    /// Read the written image back and check every changed path.
    pub verify: bool,
    /// Platform to pick from a multi-platform source index.
    pub platform: Platform,
    /// How registries are reached (source and destination).
    pub client: ClientOptions,
    /// Where the new blob and copies are staged (default: the system temporary directory).
    pub work_dir: Option<PathBuf>,
}

impl Default for PatchOptions {
    fn default() -> Self {
        PatchOptions {
            force: false,
            verify: true,
            platform: Platform::host(),
            client: ClientOptions::default(),
            work_dir: None,
        }
    }
}

/// The new data blob of a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSummary {
    /// Blob id (sha256 hex of the blob, its layer digest).
    pub id: String,
    /// Bytes.
    pub size: u64,
    /// Chunks it holds.
    pub chunks: u32,
}

/// What a patch did.
#[derive(Debug, Clone)]
pub struct PatchReport {
    /// The source as given.
    pub source: String,
    /// The source's manifest digest (unchanged by the patch).
    pub source_manifest: String,
    /// The destination.
    pub dest: String,
    /// The new manifest's digest.
    pub manifest_digest: String,
    /// The RAFS version (as the source's).
    pub version: FormatVersion,
    /// Every operation applied, in order (with the directories --add created).
    pub changes: Vec<Change>,
    /// The new data blob; `None` when every chunk was already in the image.
    pub new_blob: Option<BlobSummary>,
    /// How the source's blobs reached the destination.
    pub blobs: BlobTransfer,
    /// What the read-back checked; `None` when verification was skipped.
    pub verified: Option<Verified>,
}

impl PatchReport {
    /// Chunks stored in the new blob, over all changes.
    pub fn new_chunks(&self) -> u32 {
        self.changes.iter().map(|c| c.new_chunks).sum()
    }

    /// Chunks referenced instead of stored, over all changes.
    pub fn deduped_chunks(&self) -> u32 {
        self.changes.iter().map(|c| c.deduped_chunks).sum()
    }
}

/// A one-line summary of the operations, for the config's history.
fn summary(changes: &[Change]) -> String {
    let count = |op: &str| changes.iter().filter(|c| c.op == op).count();
    let parts: Vec<String> = [
        ("replace", "replaced"),
        ("add", "added"),
        ("delete", "deleted"),
    ]
    .iter()
    .filter(|(op, _)| count(op) > 0)
    .map(|(op, done)| format!("{done} {}", count(op)))
    .collect();
    format!("nyscan patch: {}", parts.join(", "))
}

/// Patches `source` into `dest` (see the crate docs).
pub fn patch(source: &str, dest: &str, ops: &[Op], options: &PatchOptions) -> Result<PatchReport> {
    let destination = Destination::parse(dest)?;
    if ops.is_empty() {
        return Err(PatchError::NoOps);
    }
    let image = SourceImage::open(source, &options.platform, &options.client)?;
    if destination.is_source_tag(&image) && !options.force {
        return Err(PatchError::WouldOverwriteSource {
            dest: destination.to_string(),
        });
    }
    let work_dir = options.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let plan = plan(&image.bootstrap, ops, options.force, &work_dir)?;
    let new_info = plan.new_blob.as_ref().map(|b| &b.info);
    let assembled = assemble::assemble(&image, &plan.bootstrap, new_info, &summary(&plan.changes))?;
    let blobs = match &destination {
        Destination::Registry(r) => publish::to_registry(
            &image,
            r,
            &options.client,
            plan.new_blob.as_ref(),
            &assembled,
            &work_dir,
        )?,
        Destination::Layout { dir, tag } => {
            publish::to_layout(&image, dir, tag, plan.new_blob.as_ref(), &assembled)?
        }
    };
    let verified = if options.verify {
        Some(verify::verify(
            &destination,
            &plan.expected,
            &options.platform,
            &options.client,
        )?)
    } else {
        None
    };
    Ok(PatchReport {
        source: source.to_owned(),
        source_manifest: image.manifest_digest.clone(),
        dest: destination.to_string(),
        manifest_digest: assembled.manifest_digest(),
        version: plan.version,
        new_blob: plan.new_blob.as_ref().map(|b| BlobSummary {
            id: b.info.id.clone(),
            size: b.info.compressed_size,
            chunks: b.info.chunk_count,
        }),
        changes: plan.changes,
        blobs,
        verified,
    })
}
