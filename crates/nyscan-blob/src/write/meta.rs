//! The compression-info (CI) table of v6 blobs: v1 entries and the 4096-byte header.

use nyscan_rafs::blob_meta::{HEADER_MAGIC, HEADER_SIZE};
use nyscan_rafs::{BlobFeatures, Chunk};

use super::BlobWriteError;

/// Largest compressed offset a v1 entry holds (40 bits).
const MAX_COMPRESSED_OFFSET: u64 = (1 << 40) - 1;
/// Largest uncompressed offset a v1 entry holds (bits 12..44).
const MAX_UNCOMPRESSED_OFFSET: u64 = 0x0000_0fff_ffff_f000;
/// Largest chunk a v1 entry describes (sizes are 24 bits, minus one).
const MAX_SIZE: u32 = 1 << 24;

/// The 16-byte v1 CI entry (`BlobChunkInfoV1Ondisk`) of a chunk: uncompressed offset (4 KiB
/// aligned) and size, compressed offset and size. Whether the chunk is compressed follows
/// from the sizes differing.
pub fn ci_entry_v1(chunk: &Chunk) -> Result<[u8; 16], BlobWriteError> {
    let too_large = |what, value: u64, limit: u64| BlobWriteError::TooLarge { what, value, limit };
    let uoff = chunk.uncompressed_offset;
    if uoff > MAX_UNCOMPRESSED_OFFSET {
        return Err(too_large(
            "an uncompressed chunk offset",
            uoff,
            MAX_UNCOMPRESSED_OFFSET,
        ));
    }
    let coff = chunk.compressed_offset;
    if coff > MAX_COMPRESSED_OFFSET {
        return Err(too_large(
            "a compressed chunk offset",
            coff,
            MAX_COMPRESSED_OFFSET,
        ));
    }
    for size in [chunk.uncompressed_size, chunk.compressed_size] {
        if size == 0 || size > MAX_SIZE {
            return Err(too_large(
                "a chunk size",
                u64::from(size),
                u64::from(MAX_SIZE),
            ));
        }
    }
    let usize = u64::from(chunk.uncompressed_size - 1);
    let csize = u64::from(chunk.compressed_size - 1);
    let u = (uoff & MAX_UNCOMPRESSED_OFFSET) | ((usize & 0xf_ffff) << 44) | ((usize >> 20) << 8);
    let c = coff | ((csize & 0xf_ffff) << 44) | ((csize >> 20) << 40);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&u.to_le_bytes());
    out[8..].copy_from_slice(&c.to_le_bytes());
    Ok(out)
}

/// The 4096-byte `BlobCompressionContextHeader` of a CI table without batch or zran
/// contexts.
pub fn ci_header(
    features: BlobFeatures,
    ci_compressor: u32,
    entries: u32,
    ci_offset: u64,
    ci_compressed_size: u64,
    ci_uncompressed_size: u64,
) -> [u8; HEADER_SIZE as usize] {
    let mut h = [0u8; HEADER_SIZE as usize];
    h[0..4].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
    h[4..8].copy_from_slice(&features.bits().to_le_bytes());
    h[8..12].copy_from_slice(&ci_compressor.to_le_bytes());
    h[12..16].copy_from_slice(&entries.to_le_bytes());
    h[16..24].copy_from_slice(&ci_offset.to_le_bytes());
    h[24..32].copy_from_slice(&ci_compressed_size.to_le_bytes());
    h[32..40].copy_from_slice(&ci_uncompressed_size.to_le_bytes());
    h[4092..4096].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
    h
}
