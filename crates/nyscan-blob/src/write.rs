//! Writing data blobs: chunks in, a blob in the official builder's layout out.
//!
//! ```text
//! Plain (v5):   [chunk data]
//! Meta  (v6):   [chunk data][CI array][4096-byte CI header]
//! Toc   (v6):   [chunk data][tar "image.blob"][CI array][CI header][tar "blob.meta"]
//!               [chunk digests][tar "blob.digest"][ToC entries][tar "rafs.blob.toc"]
//! ```
//!
//! [`BlobWriter`] stores each distinct chunk once, compressed with the image's compressor
//! (raw when compressing does not make it strictly smaller, as nydus does), digested with its
//! digester, with a CRC-32C when the image records them. v6 layouts place chunks at 4 KiB
//! aligned uncompressed offsets and append the compression-info (CI) table and its header;
//! the `Toc` layout (what `nydus-image create --features blob-toc` writes) frames the sections
//! with tar headers placed after their data and ends with a table of contents. The blob id is
//! the sha256 of every byte written, computed on the way, so the output can be a file of any
//! size.

mod meta;
mod toc;

use std::collections::HashMap;
use std::io::{Read, Write};

use nyscan_rafs::{BlobFeatures, BlobInfo, BlobMeta, Chunk, ChunkFlags, Compressor, Digester};
use sha2::{Digest as _, Sha256};

pub use meta::{ci_entry_v1, ci_header};
pub use toc::{TOC_ENTRY_SIZE, TocEntry, tar_header};

/// Smallest chunk size nydus accepts.
pub const MIN_CHUNK_SIZE: u32 = 0x1000;
/// Largest chunk size nydus accepts (16 MiB).
pub const MAX_CHUNK_SIZE: u32 = 0x100_0000;
/// Most chunks one blob may hold (v6 chunk indexes are 24-bit).
pub const MAX_CHUNKS: u32 = 0xff_ffff;
/// Uncompressed offsets of v6 layouts are aligned to this.
const ALIGNMENT: u64 = 4096;

/// Why a blob could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobWriteError {
    /// Writing the blob failed.
    #[error("cannot write the blob at byte {offset}")]
    Write {
        /// Bytes of the blob written before the failure.
        offset: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Reading a file's content failed.
    #[error("cannot read file content at byte {offset}")]
    Read {
        /// Offset in the file.
        offset: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A chunk size nydus does not accept.
    #[error("chunk size {0:#x} is not a power of two between 4 KiB and 16 MiB")]
    ChunkSize(u32),
    /// A chunk larger than the blob's chunk size, or empty.
    #[error("chunk of {size} bytes does not fit chunk size {chunk_size} (or is empty)")]
    ChunkLength {
        /// Bytes given.
        size: usize,
        /// The blob's chunk size.
        chunk_size: u32,
    },
    /// A compressor the official builder does not write chunks with.
    #[error("{0} is not a compressor chunks are written with (none, lz4_block, zstd)")]
    Compressor(Compressor),
    /// A digester this writer does not know.
    #[error("{0} is not a digester chunks are written with (blake3, sha256)")]
    Digester(Digester),
    /// The blob outgrows a field of the format.
    #[error("the blob is too large: {what} is {value}, the format's limit is {limit}")]
    TooLarge {
        /// What outgrew its field.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// [`BlobWriter::finish`] on a writer that stored no chunk.
    #[error("the blob holds no chunk")]
    Empty,
    /// The compressor failed.
    #[error("{compressor} compression failed: {reason}")]
    Compress {
        /// The compressor.
        compressor: Compressor,
        /// What it said.
        reason: String,
    },
}

/// The section layout of a blob, following the official builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobLayout {
    /// Chunk data only, at unaligned uncompressed offsets (RAFS v5).
    Plain,
    /// Chunk data at 4 KiB aligned uncompressed offsets, then the CI table and its header
    /// (RAFS v6, `nydus-image create` defaults).
    Meta,
    /// [`BlobLayout::Meta`] framed by tar headers, with the chunk digest array and a ToC
    /// (RAFS v6 built with `--features blob-toc`, as nydusify converts).
    Toc,
}

impl BlobLayout {
    /// The layout of an existing blob, so a new blob matches its image: no compression info
    /// is [`BlobLayout::Plain`], a ToC is [`BlobLayout::Toc`], else [`BlobLayout::Meta`].
    pub fn like(blob: &BlobInfo) -> BlobLayout {
        if blob.meta.is_none() {
            BlobLayout::Plain
        } else if blob.features.contains(BlobFeatures::HAS_TOC) {
            BlobLayout::Toc
        } else {
            BlobLayout::Meta
        }
    }

    fn aligned(self) -> bool {
        self != BlobLayout::Plain
    }

    /// The blob features this layout records (in the CI header and the blob table).
    pub fn features(self) -> BlobFeatures {
        let bits = match self {
            BlobLayout::Plain => BlobFeatures::CAP_TAR_TOC.0,
            BlobLayout::Meta => BlobFeatures::ALIGNED.0 | BlobFeatures::CAP_TAR_TOC.0,
            BlobLayout::Toc => {
                BlobFeatures::ALIGNED.0
                    | BlobFeatures::INLINED_CHUNK_DIGEST.0
                    | BlobFeatures::HAS_TAR_HEADER.0
                    | BlobFeatures::HAS_TOC.0
                    | BlobFeatures::CAP_TAR_TOC.0
            }
        };
        BlobFeatures(bits)
    }
}

/// How chunks are cut, compressed and digested, and how the blob is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobFormat {
    /// Section layout.
    pub layout: BlobLayout,
    /// Chunk compressor (none, lz4_block or zstd).
    pub compressor: Compressor,
    /// Chunk digester.
    pub digester: Digester,
    /// Chunk size: a power of two, 4 KiB..16 MiB.
    pub chunk_size: u32,
    /// Record a CRC-32C of every chunk (nydus-image 2.3.2 and later do).
    pub crc32: bool,
}

impl BlobFormat {
    fn check(&self) -> Result<(), BlobWriteError> {
        if !self.chunk_size.is_power_of_two()
            || !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&self.chunk_size)
        {
            return Err(BlobWriteError::ChunkSize(self.chunk_size));
        }
        chunk_digest(self.digester, &[])?;
        compressor_id(self.compressor).map(|_| ())
    }
}

/// The digest of a chunk's uncompressed bytes with `digester`.
pub fn chunk_digest(digester: Digester, data: &[u8]) -> Result<[u8; 32], BlobWriteError> {
    match digester {
        Digester::Blake3 => Ok(*blake3::hash(data).as_bytes()),
        Digester::Sha256 => Ok(Sha256::digest(data).into()),
        other => Err(BlobWriteError::Digester(other)),
    }
}

/// Compresses `data`; `None` when the result is not strictly smaller (the chunk is then
/// stored raw, as the official builder does) or the compressor is `none`.
pub fn compress(compressor: Compressor, data: &[u8]) -> Result<Option<Vec<u8>>, BlobWriteError> {
    if data.is_empty() {
        return Ok(None);
    }
    let out = match compressor {
        Compressor::None => return Ok(None),
        Compressor::Lz4Block => {
            let mut out = vec![0u8; lz4_flex::block::get_maximum_output_size(data.len())];
            let n = lz4_flex::block::compress_into(data, &mut out).map_err(|e| {
                BlobWriteError::Compress {
                    compressor,
                    reason: e.to_string(),
                }
            })?;
            out.truncate(n);
            out
        }
        // Level 3: zstd's default, which the official builder uses.
        Compressor::Zstd => {
            zstd::bulk::compress(data, 3).map_err(|e| BlobWriteError::Compress {
                compressor,
                reason: e.to_string(),
            })?
        }
        other => return Err(BlobWriteError::Compressor(other)),
    };
    Ok((out.len() < data.len()).then_some(out))
}

/// A sink that counts and hashes what passes through.
#[derive(Debug)]
struct Hashed<W> {
    out: W,
    pos: u64,
    hash: Sha256,
}

impl<W: Write> Hashed<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<u64, BlobWriteError> {
        let at = self.pos;
        self.out
            .write_all(bytes)
            .map_err(|source| BlobWriteError::Write { offset: at, source })?;
        self.hash.update(bytes);
        self.pos += bytes.len() as u64;
        Ok(at)
    }

    fn digest(&self) -> [u8; 32] {
        self.hash.clone().finalize().into()
    }
}

/// Where one file's content went: its chunk records and what was stored or reused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileChunks {
    /// Bytes read.
    pub size: u64,
    /// Chunk records in file order, `file_offset` set.
    pub chunks: Vec<Chunk>,
    /// Chunks stored in this blob for the first time.
    pub new_chunks: u32,
    /// Chunks that were already stored (in the image or earlier in this blob).
    pub deduped_chunks: u32,
    /// Bytes those new chunks take in the blob.
    pub stored_bytes: u64,
}

/// A finished blob: its sink, its blob-table entry and its chunk records.
#[derive(Debug)]
pub struct WrittenBlob<W> {
    /// The sink the blob was written to.
    pub out: W,
    /// The blob-table entry: `id` is the sha256 hex of the blob, `index` the one given to
    /// [`BlobWriter::new`].
    pub info: BlobInfo,
    /// Every chunk stored, by chunk index.
    pub chunks: Vec<Chunk>,
}

/// Writes one data blob sequentially to `W`.
#[derive(Debug)]
pub struct BlobWriter<W> {
    format: BlobFormat,
    blob_index: u32,
    out: Hashed<W>,
    chunks: Vec<Chunk>,
    by_digest: HashMap<([u8; 32], u32), u32>,
    uncompressed_end: u64,
}

impl<W: Write> BlobWriter<W> {
    /// A writer of a blob that will be entry `blob_index` of the blob table (chunk records
    /// name it).
    pub fn new(out: W, format: BlobFormat, blob_index: u32) -> Result<Self, BlobWriteError> {
        format.check()?;
        Ok(BlobWriter {
            format,
            blob_index,
            out: Hashed {
                out,
                pos: 0,
                hash: Sha256::new(),
            },
            chunks: Vec::new(),
            by_digest: HashMap::new(),
            uncompressed_end: 0,
        })
    }

    /// The format.
    pub fn format(&self) -> &BlobFormat {
        &self.format
    }

    /// Chunks stored so far.
    pub fn chunk_count(&self) -> u32 {
        self.chunks.len() as u32
    }

    /// The record of a chunk already stored in this blob with this digest and size.
    pub fn find(&self, digest: &[u8; 32], size: u32) -> Option<Chunk> {
        self.by_digest
            .get(&(*digest, size))
            .map(|&i| self.chunks[i as usize])
    }

    /// Stores one chunk (`1..=chunk_size` bytes) unless this blob has it already, and returns
    /// its record (`file_offset` 0) and whether it was stored now.
    pub fn add_chunk(&mut self, data: &[u8]) -> Result<(Chunk, bool), BlobWriteError> {
        if data.is_empty() || data.len() > self.format.chunk_size as usize {
            return Err(BlobWriteError::ChunkLength {
                size: data.len(),
                chunk_size: self.format.chunk_size,
            });
        }
        let digest = chunk_digest(self.format.digester, data)?;
        self.store(digest, data)
    }

    fn store(&mut self, digest: [u8; 32], data: &[u8]) -> Result<(Chunk, bool), BlobWriteError> {
        let size = data.len() as u32;
        if let Some(c) = self.find(&digest, size) {
            return Ok((c, false));
        }
        let index = self.chunk_count();
        if index >= MAX_CHUNKS {
            return Err(BlobWriteError::TooLarge {
                what: "the chunk count",
                value: u64::from(index) + 1,
                limit: u64::from(MAX_CHUNKS),
            });
        }
        let compressed = compress(self.format.compressor, data)?;
        let stored = compressed.as_deref().unwrap_or(data);
        let compressed_offset = self.out.put(stored)?;
        let mut flags = 0;
        if compressed.is_some() {
            flags |= ChunkFlags::COMPRESSED.0;
        }
        let crc32 = self.format.crc32.then(|| crc32c::crc32c(data));
        if crc32.is_some() {
            flags |= ChunkFlags::HAS_CRC32.0;
        }
        let uncompressed_offset = self.uncompressed_end;
        let span = if self.format.layout.aligned() {
            u64::from(size).div_ceil(ALIGNMENT) * ALIGNMENT
        } else {
            u64::from(size)
        };
        self.uncompressed_end += span;
        let chunk = Chunk {
            digest,
            blob_index: self.blob_index,
            index,
            flags: ChunkFlags(flags),
            compressed_offset,
            compressed_size: stored.len() as u32,
            uncompressed_offset,
            uncompressed_size: size,
            file_offset: 0,
            crc32,
        };
        self.chunks.push(chunk);
        self.by_digest.insert((digest, size), index);
        Ok((chunk, true))
    }

    /// Cuts everything `reader` gives into chunks of the chunk size and stores those that
    /// neither `known` (chunks the image already has, by digest and size) nor this blob
    /// holds. Every chunk of the file gets a record, including all-zero ones.
    pub fn add_file(
        &mut self,
        reader: &mut dyn Read,
        known: &dyn Fn(&[u8; 32], u32) -> Option<Chunk>,
    ) -> Result<FileChunks, BlobWriteError> {
        let mut out = FileChunks::default();
        let mut buf = vec![0u8; self.format.chunk_size as usize];
        loop {
            let n = fill(reader, &mut buf).map_err(|source| BlobWriteError::Read {
                offset: out.size,
                source,
            })?;
            if n == 0 {
                break;
            }
            let data = &buf[..n];
            let digest = chunk_digest(self.format.digester, data)?;
            let (mut chunk, stored) = match known(&digest, n as u32) {
                Some(c) => (c, false),
                None => self.store(digest, data)?,
            };
            if stored {
                out.new_chunks += 1;
                out.stored_bytes += u64::from(chunk.compressed_size);
            } else {
                out.deduped_chunks += 1;
            }
            chunk.file_offset = out.size;
            out.chunks.push(chunk);
            out.size += n as u64;
            if n < buf.len() {
                break;
            }
        }
        Ok(out)
    }

    /// Appends the sections of the layout and returns the blob. A writer that stored no chunk
    /// gives [`BlobWriteError::Empty`] (the official builder writes no blob then).
    pub fn finish(mut self) -> Result<WrittenBlob<W>, BlobWriteError> {
        if self.chunks.is_empty() {
            return Err(BlobWriteError::Empty);
        }
        let data_size = self.out.pos;
        let layout = self.format.layout;
        let features = layout.features();
        let meta = match layout {
            BlobLayout::Plain => None,
            BlobLayout::Meta | BlobLayout::Toc => Some(self.write_meta(data_size, features)?),
        };
        let size = self.out.pos;
        let info = BlobInfo {
            index: self.blob_index,
            id: hex(&self.out.digest()),
            chunk_count: self.chunk_count(),
            chunk_size: self.format.chunk_size,
            compressed_size: size,
            uncompressed_size: self.uncompressed_end,
            features,
            compressor: self.format.compressor,
            digester: self.format.digester,
            readahead: (0, 0),
            meta,
            mapped_blkaddr: None,
        };
        Ok(WrittenBlob {
            out: self.out.out,
            info,
            chunks: self.chunks,
        })
    }

    /// Writes the CI table and header (and for `Toc`, the tar headers, digests and ToC).
    fn write_meta(
        &mut self,
        data_size: u64,
        features: BlobFeatures,
    ) -> Result<BlobMeta, BlobWriteError> {
        let toc = self.format.layout == BlobLayout::Toc;
        let mut entries = Vec::new();
        if toc {
            self.out.put(&tar_header("image.blob", data_size))?;
            entries.push(TocEntry {
                name: "image.blob",
                compressor: Compressor::None,
                digest: self.out.digest(),
                offset: 0,
                compressed_size: data_size,
                uncompressed_size: self.uncompressed_end,
            });
        }
        let mut ci = Vec::with_capacity(self.chunks.len() * 16);
        for c in &self.chunks {
            ci.extend_from_slice(&ci_entry_v1(c)?);
        }
        let (ci_stored, ci_compressor) = match compress(self.format.compressor, &ci)? {
            Some(packed) => (packed, self.format.compressor),
            None => (ci.clone(), Compressor::None),
        };
        let ci_compressor_id = compressor_id(ci_compressor)?;
        let ci_offset = self.out.put(&ci_stored)?;
        let header = ci_header(
            features,
            ci_compressor_id,
            self.chunk_count(),
            ci_offset,
            ci_stored.len() as u64,
            ci.len() as u64,
        );
        self.out.put(&header)?;
        let mut meta = BlobMeta {
            ci_compressor: ci_compressor_id,
            ci_offset,
            ci_compressed_size: ci_stored.len() as u64,
            ci_uncompressed_size: ci.len() as u64,
            toc_digest: [0; 32],
            toc_size: 0,
            meta_digest: [0; 32],
            meta_size: 0,
        };
        if !toc {
            return Ok(meta);
        }
        self.out.put(&tar_header(
            "blob.meta",
            ci_stored.len() as u64 + header.len() as u64,
        ))?;
        entries.push(TocEntry {
            name: "blob.meta",
            compressor: ci_compressor,
            digest: Sha256::digest(&ci).into(),
            offset: ci_offset,
            compressed_size: ci_stored.len() as u64,
            uncompressed_size: ci.len() as u64,
        });
        entries.push(TocEntry {
            name: "blob.meta.header",
            compressor: Compressor::None,
            digest: Sha256::digest(header).into(),
            offset: ci_offset + ci_stored.len() as u64,
            compressed_size: header.len() as u64,
            uncompressed_size: header.len() as u64,
        });
        let digests: Vec<u8> = self.chunks.iter().flat_map(|c| c.digest).collect();
        let at = self.out.put(&digests)?;
        self.out
            .put(&tar_header("blob.digest", digests.len() as u64))?;
        entries.push(TocEntry {
            name: "blob.digest",
            compressor: Compressor::None,
            digest: Sha256::digest(&digests).into(),
            offset: at,
            compressed_size: digests.len() as u64,
            uncompressed_size: digests.len() as u64,
        });
        let table: Vec<u8> = entries.iter().flat_map(TocEntry::to_bytes).collect();
        let tar = tar_header("rafs.blob.toc", table.len() as u64);
        self.out.put(&table)?;
        self.out.put(&tar)?;
        let mut h = Sha256::new();
        h.update(&table);
        h.update(tar);
        meta.toc_digest = h.finalize().into();
        meta.toc_size = (table.len() + tar.len()) as u32;
        Ok(meta)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// nydus' numeric id (`compress::Algorithm`) of a compressor chunks are written with.
fn compressor_id(compressor: Compressor) -> Result<u32, BlobWriteError> {
    match compressor {
        Compressor::None => Ok(0),
        Compressor::Lz4Block => Ok(1),
        Compressor::Zstd => Ok(3),
        other => Err(BlobWriteError::Compressor(other)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
