//! The chunk codec of Nydus blobs: stored bytes in, verified uncompressed bytes out.
//!
//! # Brief overview
//!
//! - [`decode_chunk`] decompresses one stored chunk with the image's compressor into exactly
//!   its uncompressed size and verifies it ([`verify_chunk`]) before returning it.
//! - [`decompress`] is the bare codec (lz4_block, zstd, gzip, none) with an exact output size,
//!   also used for compression-info tables and batch chunks.
//! - [`verify_chunk`] checks the chunk digest (blake3 or sha256 of the uncompressed bytes) and,
//!   where the image records one, the CRC-32C.
//! - [`write`] is the other direction: [`write::BlobWriter`] cuts, compresses and digests
//!   chunks into a new data blob in the official builder's layout.
//!
//! No bytes leave this crate unverified: a corrupt, truncated or substituted chunk is an
//! [`Error`] that names the blob and chunk.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod write;

use std::io::Read;

use nyscan_rafs::{Chunk, Compressor, Digester};
use sha2::Digest as _;

/// Why a chunk could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The compressed bytes do not decompress.
    #[error("{compressor} data of chunk {chunk} in blob {blob} does not decompress: {reason}")]
    Decompress {
        /// The compressor.
        compressor: Compressor,
        /// Blob index.
        blob: u32,
        /// Chunk index in the blob.
        chunk: u32,
        /// What the decoder said.
        reason: String,
    },
    /// The chunk decoded to a different size than recorded.
    #[error(
        "chunk {chunk} in blob {blob} decoded to {actual} bytes, the bootstrap says {expected}"
    )]
    Size {
        /// Blob index.
        blob: u32,
        /// Chunk index in the blob.
        chunk: u32,
        /// Recorded uncompressed size.
        expected: u64,
        /// Decoded size.
        actual: u64,
    },
    /// The uncompressed bytes do not match the chunk digest.
    #[error(
        "chunk {chunk} in blob {blob}: {digester} digest mismatch (expected {expected}, got {actual})"
    )]
    Digest {
        /// Blob index.
        blob: u32,
        /// Chunk index in the blob.
        chunk: u32,
        /// The digester.
        digester: Digester,
        /// Recorded digest (hex).
        expected: String,
        /// Computed digest (hex).
        actual: String,
    },
    /// The uncompressed bytes do not match the recorded CRC-32C.
    #[error(
        "chunk {chunk} in blob {blob}: CRC-32C mismatch (expected {expected:#010x}, got {actual:#010x})"
    )]
    Crc {
        /// Blob index.
        blob: u32,
        /// Chunk index in the blob.
        chunk: u32,
        /// Recorded CRC.
        expected: u32,
        /// Computed CRC.
        actual: u32,
    },
}

/// Where a decode failure happened, for error messages.
#[derive(Debug, Clone, Copy)]
struct At {
    blob: u32,
    chunk: u32,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decompress_at(
    compressor: Compressor,
    input: &[u8],
    size: usize,
    at: At,
) -> Result<Vec<u8>, Error> {
    let fail = |reason: String| Error::Decompress {
        compressor,
        blob: at.blob,
        chunk: at.chunk,
        reason,
    };
    let out = match compressor {
        Compressor::None => input.to_vec(),
        Compressor::Lz4Block => {
            let mut out = vec![0u8; size];
            let n = lz4_flex::block::decompress_into(input, &mut out)
                .map_err(|e| fail(e.to_string()))?;
            out.truncate(n);
            out
        }
        Compressor::Zstd => {
            // The capacity bounds the output: a zstd bomb cannot grow past `size`.
            zstd::bulk::decompress(input, size).map_err(|e| fail(e.to_string()))?
        }
        Compressor::Gzip => {
            let mut out = Vec::with_capacity(size);
            flate2::read::GzDecoder::new(input)
                .take(size as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| fail(e.to_string()))?;
            out
        }
        _ => return Err(fail("unknown compressor".to_owned())),
    };
    if out.len() != size {
        return Err(Error::Size {
            blob: at.blob,
            chunk: at.chunk,
            expected: size as u64,
            actual: out.len() as u64,
        });
    }
    Ok(out)
}

/// Decompresses `input` into exactly `size` bytes (an error otherwise).
pub fn decompress(compressor: Compressor, input: &[u8], size: usize) -> Result<Vec<u8>, Error> {
    decompress_at(compressor, input, size, At { blob: 0, chunk: 0 })
}

/// Checks `data` against the chunk's digest and, when recorded, its CRC-32C.
pub fn verify_chunk(chunk: &Chunk, digester: Digester, data: &[u8]) -> Result<(), Error> {
    if let Some(expected) = chunk.crc32 {
        let actual = crc32c::crc32c(data);
        if actual != expected {
            return Err(Error::Crc {
                blob: chunk.blob_index,
                chunk: chunk.index,
                expected,
                actual,
            });
        }
    }
    let actual: [u8; 32] = match digester {
        Digester::Blake3 => *blake3::hash(data).as_bytes(),
        Digester::Sha256 => sha2::Sha256::digest(data).into(),
        _ => unreachable!("Digester is matched exhaustively by the reader"),
    };
    if actual != chunk.digest {
        return Err(Error::Digest {
            blob: chunk.blob_index,
            chunk: chunk.index,
            digester,
            expected: hex(&chunk.digest),
            actual: hex(&actual),
        });
    }
    Ok(())
}

/// Decodes one stored chunk: decompresses it when flagged compressed, checks its size,
/// verifies it.
pub fn decode_chunk(
    chunk: &Chunk,
    compressor: Compressor,
    digester: Digester,
    stored: &[u8],
) -> Result<Vec<u8>, Error> {
    let at = At {
        blob: chunk.blob_index,
        chunk: chunk.index,
    };
    let size = chunk.uncompressed_size as usize;
    let data = if chunk.is_compressed() {
        decompress_at(compressor, stored, size, at)?
    } else {
        decompress_at(Compressor::None, stored, size, at)?
    };
    verify_chunk(chunk, digester, &data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use nyscan_rafs::ChunkFlags;

    use super::*;

    fn chunk_for(data: &[u8], digester: Digester, compressed: bool) -> Chunk {
        let digest: [u8; 32] = match digester {
            Digester::Blake3 => *blake3::hash(data).as_bytes(),
            _ => sha2::Sha256::digest(data).into(),
        };
        Chunk {
            digest,
            blob_index: 3,
            index: 7,
            flags: ChunkFlags(
                if compressed {
                    ChunkFlags::COMPRESSED.0
                } else {
                    0
                } | ChunkFlags::HAS_CRC32.0,
            ),
            compressed_offset: 0,
            compressed_size: 0,
            uncompressed_offset: 0,
            uncompressed_size: data.len() as u32,
            file_offset: 0,
            crc32: Some(crc32c::crc32c(data)),
        }
    }

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn lz4_block_from_liblz4_decodes() {
        let data = sample();
        // The C library's LZ4_compress_default output, as the official builder writes it.
        let stored = lz4::block::compress(&data, None, false).unwrap();
        let c = chunk_for(&data, Digester::Blake3, true);
        assert_eq!(
            decode_chunk(&c, Compressor::Lz4Block, Digester::Blake3, &stored).unwrap(),
            data
        );
    }

    #[test]
    fn zstd_and_none_decode_and_verify() {
        let data = sample();
        let stored = zstd::bulk::compress(&data, 3).unwrap();
        let c = chunk_for(&data, Digester::Sha256, true);
        assert_eq!(
            decode_chunk(&c, Compressor::Zstd, Digester::Sha256, &stored).unwrap(),
            data
        );
        let raw = chunk_for(&data, Digester::Sha256, false);
        assert_eq!(
            decode_chunk(&raw, Compressor::Zstd, Digester::Sha256, &data).unwrap(),
            data
        );
    }

    #[test]
    fn damage_is_an_error_never_bytes() {
        let data = sample();
        let stored = zstd::bulk::compress(&data, 3).unwrap();
        let c = chunk_for(&data, Digester::Blake3, true);
        let mut flipped = stored.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        assert!(decode_chunk(&c, Compressor::Zstd, Digester::Blake3, &flipped).is_err());
        assert!(
            decode_chunk(
                &c,
                Compressor::Zstd,
                Digester::Blake3,
                &stored[..stored.len() - 3]
            )
            .is_err()
        );
        // Right bytes, wrong recorded size.
        let mut short = c;
        short.uncompressed_size -= 1;
        assert!(matches!(
            decode_chunk(&short, Compressor::Zstd, Digester::Blake3, &stored),
            Err(Error::Size { .. }) | Err(Error::Decompress { .. })
        ));
        // Valid data, wrong digest: reported with blob and chunk.
        let mut other = c;
        other.digest[0] ^= 1;
        other.crc32 = None;
        let err = decode_chunk(&other, Compressor::Zstd, Digester::Blake3, &stored).unwrap_err();
        assert!(err.to_string().contains("chunk 7 in blob 3"), "{err}");
        // CRC checked where recorded.
        let mut crc = c;
        crc.crc32 = Some(0);
        assert!(matches!(
            decode_chunk(&crc, Compressor::Zstd, Digester::Blake3, &stored),
            Err(Error::Crc { .. })
        ));
        // lz4 garbage.
        assert!(decode_chunk(&c, Compressor::Lz4Block, Digester::Blake3, b"\xff\xff\xff").is_err());
    }
}
