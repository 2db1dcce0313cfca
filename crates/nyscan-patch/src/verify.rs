//! Reading the written image back: its bootstrap from the destination, and every changed
//! path checked against what the patch meant (kind, attributes, size and content digest,
//! through the chunk engine, which verifies every chunk it reads).

use nyscan_image::{ChunkReader, FetchOptions};
use nyscan_oci::manifest::Platform;
use nyscan_oci::registry::ClientOptions;
use nyscan_oci::{Source, load_bootstrap};
use nyscan_rafs::{Bootstrap, FileKind};
use sha2::{Digest as _, Sha256};

use crate::error::{PatchError, Result};
use crate::image::Destination;
use crate::plan::Expected;

/// A writer that only hashes.
struct HashSink(Sha256);

impl std::io::Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the verification read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verified {
    /// Paths checked.
    pub paths: usize,
    /// Content bytes read back and compared.
    pub bytes: u64,
}

/// Loads `dest` as an image and checks every expectation.
pub(crate) fn verify(
    dest: &Destination,
    expected: &[(String, Expected)],
    platform: &Platform,
    client: &ClientOptions,
) -> Result<Verified> {
    let name = dest.to_string();
    let read_back = |e: Box<dyn std::error::Error + Send + Sync>| PatchError::ReadBack {
        dest: name.clone(),
        source: e,
    };
    let source = match dest {
        Destination::Registry(r) => Source::Registry(r.clone()),
        Destination::Layout { dir, tag } => Source::OciLayout {
            dir: dir.clone(),
            reference: Some(tag.clone()),
        },
    };
    let loaded = load_bootstrap(&source, platform, client).map_err(|e| read_back(Box::new(e)))?;
    let boot = Bootstrap::parse(&loaded.bytes).map_err(|e| read_back(Box::new(e)))?;
    let reader = ChunkReader::new(&boot, loaded.blobs.as_ref(), FetchOptions::default());
    let mut verified = Verified::default();
    for (path, want) in expected {
        let fail = |reason: String| PatchError::Verify {
            dest: name.clone(),
            path: path.clone(),
            reason,
        };
        let found = boot
            .lookup(path.as_bytes())
            .map_err(|e| fail(format!("cannot look it up: {e}")))?;
        verified.paths += 1;
        match (want, found) {
            (Expected::Absent, None) => {}
            (Expected::Absent, Some(inode)) => {
                return Err(fail(format!(
                    "should be gone, found a {}",
                    inode.kind().name()
                )));
            }
            (Expected::Entry { kind, .. }, None) => {
                return Err(fail(format!("should be a {}, found nothing", kind.name())));
            }
            (
                Expected::Entry {
                    kind,
                    perms,
                    uid,
                    gid,
                    content,
                },
                Some(inode),
            ) => {
                if inode.kind() != *kind {
                    return Err(fail(format!(
                        "should be a {}, found a {}",
                        kind.name(),
                        inode.kind().name()
                    )));
                }
                let got = (inode.mode() & 0o7777, inode.uid(), inode.gid());
                if got != (*perms, *uid, *gid) {
                    return Err(fail(format!(
                        "should have mode {perms:o} owner {uid}:{gid}, has mode {:o} owner {}:{}",
                        got.0, got.1, got.2
                    )));
                }
                if let Some((size, digest)) = content {
                    if *kind != FileKind::Regular || inode.size() != *size {
                        return Err(fail(format!(
                            "should hold {size} bytes, holds {}",
                            inode.size()
                        )));
                    }
                    let mut sink = HashSink(Sha256::new());
                    reader
                        .stream_file(&inode, &mut sink)
                        .map_err(|e| fail(format!("cannot read it back: {e}")))?;
                    let actual: [u8; 32] = sink.0.finalize().into();
                    if actual != *digest {
                        return Err(fail(format!(
                            "content sha256 {} differs from the local file's {}",
                            hex::encode(actual),
                            hex::encode(digest)
                        )));
                    }
                    verified.bytes += size;
                }
            }
        }
    }
    Ok(verified)
}
