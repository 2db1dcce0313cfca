//! Blob meta: the compression-info ("CI") table appended to v6 data blobs, with its 4 KiB
//! header and, for batch chunks, the batch contexts.
//!
//! ```text
//! blob: [chunk data ...][CI array, compressed with ci_compressor][4096-byte header]...
//!                        ^ ci_offset                              ^ ci_offset + ci_compressed_size
//! uncompressed CI: entries (16 B v1 / 24 B v2) x chunk_count, then at zran_offset the
//!                  batch (or zran) contexts, 40 B each
//! ```
//! The bootstrap's chunk table normally says where every chunk is; batch members are found
//! only through this table.

use zerocopy::FromBytes;
use zerocopy::little_endian::{U32, U64};
use zerocopy::{Immutable, KnownLayout, Unaligned};

use crate::data::{Data, invalid};
use crate::error::{Error, Result};
use crate::flags::BlobFeatures;
use crate::model::BlobInfo;

/// Magic at both ends of the header.
pub const HEADER_MAGIC: u32 = 0xB10B_B10B;
/// Size of the header.
pub const HEADER_SIZE: u64 = 4096;

/// `BlobCompressionContextHeader` (4096 bytes; the fields at its start and its last 4 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct RawHeader {
    /// [`HEADER_MAGIC`].
    pub s_magic: U32,
    /// `BlobFeatures`.
    pub s_features: U32,
    /// Compressor id of the CI array.
    pub s_ci_compressor: U32,
    /// Entries (= chunk count).
    pub s_ci_entries: U32,
    /// Offset of the CI array in the blob.
    pub s_ci_offset: U64,
    /// Compressed size of the CI array.
    pub s_ci_compressed_size: U64,
    /// Uncompressed size of the CI array.
    pub s_ci_uncompressed_size: U64,
    /// Offset of the batch/zran contexts inside the uncompressed CI.
    pub s_ci_zran_offset: U64,
    /// Size of the contexts.
    pub s_ci_zran_size: U64,
    /// Number of contexts.
    pub s_ci_zran_count: U32,
    /// Zero.
    pub s_reserved: [u8; 4032],
    /// [`HEADER_MAGIC`].
    pub s_magic2: U32,
}

/// The checked header of a blob's compression-info table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobMetaHeader {
    /// Features (as recorded in the blob).
    pub features: BlobFeatures,
    /// Compressor id of the CI array.
    pub ci_compressor: u32,
    /// Number of entries.
    pub entries: u32,
    /// Uncompressed size of the CI array.
    pub ci_uncompressed_size: u64,
    /// Offset of the contexts inside the uncompressed CI.
    pub contexts_offset: u64,
    /// Number of contexts.
    pub contexts: u32,
}

impl BlobMetaHeader {
    /// Parses the 4096-byte header and checks it against the bootstrap's view of the blob.
    pub fn parse(bytes: &[u8], blob: &BlobInfo) -> Result<BlobMetaHeader> {
        const WHAT: &str = "blob meta header";
        let data = Data::new(bytes);
        let h: &RawHeader = data.read(0, WHAT)?;
        if h.s_magic.get() != HEADER_MAGIC || h.s_magic2.get() != HEADER_MAGIC {
            return Err(invalid(WHAT, 0, "bad magic", u64::from(h.s_magic.get())));
        }
        let meta = blob.meta.ok_or(invalid(
            WHAT,
            0,
            "the bootstrap has no blob meta for this blob",
            0,
        ))?;
        if h.s_ci_entries.get() != blob.chunk_count {
            return Err(invalid(
                WHAT,
                12,
                "entry count differs from the bootstrap",
                u64::from(h.s_ci_entries.get()),
            ));
        }
        if h.s_ci_offset.get() != meta.ci_offset
            || h.s_ci_compressed_size.get() != meta.ci_compressed_size
            || h.s_ci_uncompressed_size.get() != meta.ci_uncompressed_size
            || h.s_ci_compressor.get() != meta.ci_compressor
        {
            return Err(invalid(
                WHAT,
                16,
                "location or sizes differ from the bootstrap",
                h.s_ci_offset.get(),
            ));
        }
        let header = BlobMetaHeader {
            features: BlobFeatures(h.s_features.get()),
            ci_compressor: h.s_ci_compressor.get(),
            entries: h.s_ci_entries.get(),
            ci_uncompressed_size: h.s_ci_uncompressed_size.get(),
            contexts_offset: h.s_ci_zran_offset.get(),
            contexts: h.s_ci_zran_count.get(),
        };
        let contexts_end = header
            .contexts_offset
            .checked_add(u64::from(header.contexts) * 40)
            .ok_or(invalid(
                WHAT,
                40,
                "contexts overflow",
                header.contexts_offset,
            ))?;
        if header.contexts > 0 && contexts_end > header.ci_uncompressed_size {
            return Err(invalid(
                WHAT,
                40,
                "contexts run past the CI table",
                contexts_end,
            ));
        }
        Ok(header)
    }
}

/// One compression-info entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CiEntry {
    /// Offset in the uncompressed blob.
    pub uncompressed_offset: u64,
    /// Uncompressed size.
    pub uncompressed_size: u32,
    /// Offset in the blob file (for batch members: the batch's offset).
    pub compressed_offset: u64,
    /// Compressed size (0 for batch members).
    pub compressed_size: u32,
    /// v2 flags: COMPRESSED 0x1, ZRAN 0x2, BATCH 0x4, ENCRYPTED 0x8, HAS_CRC32 0x10.
    pub flags: u8,
    /// v2 data word: batch index and offset, zran context, or CRC.
    pub data: u64,
}

impl CiEntry {
    /// v2 flag: the chunk is a member of a batch.
    pub const FLAG_BATCH: u8 = 0x4;

    /// For a batch member: (batch index, offset inside the decompressed batch).
    pub fn batch(&self) -> Option<(u32, u32)> {
        (self.flags & Self::FLAG_BATCH != 0).then_some(((self.data >> 32) as u32, self.data as u32))
    }
}

/// A batch context: how a batch chunk is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchContext {
    /// Compressed bytes of the whole batch.
    pub compressed_size: u32,
    /// Bytes of the decompressed batch.
    pub uncompressed_size: u32,
}

/// The uncompressed compression-info table of one blob.
#[derive(Debug, Clone, Copy)]
pub struct ChunkInfoTable<'a> {
    bytes: &'a [u8],
    v2: bool,
    header: BlobMetaHeader,
}

impl<'a> ChunkInfoTable<'a> {
    /// Wraps the uncompressed CI bytes described by `header`.
    pub fn new(bytes: &'a [u8], header: BlobMetaHeader) -> Result<Self> {
        let v2 = header.features.contains(BlobFeatures::CHUNK_INFO_V2);
        let entry = if v2 { 24 } else { 16 };
        let need = u64::from(header.entries) * entry;
        if (bytes.len() as u64) < need || bytes.len() as u64 != header.ci_uncompressed_size {
            return Err(Error::Truncated {
                what: "compression-info table",
                offset: 0,
                need: need.max(header.ci_uncompressed_size),
                have: bytes.len() as u64,
            });
        }
        Ok(ChunkInfoTable { bytes, v2, header })
    }

    /// Entry `index`.
    pub fn entry(&self, index: u32) -> Result<CiEntry> {
        if index >= self.header.entries {
            return Err(invalid(
                "compression-info entry",
                0,
                "index past the table",
                u64::from(index),
            ));
        }
        let data = Data::new(self.bytes);
        if self.v2 {
            let at = u64::from(index) * 24;
            let w: &[U64] = data.read_slice(at, 3, "compression-info entry")?;
            let (u, c, d) = (w[0].get(), w[1].get(), w[2].get());
            let flags = (u >> 56) as u8;
            if flags & !0x1f != 0 {
                return Err(invalid(
                    "compression-info entry",
                    at,
                    "unknown flags",
                    u64::from(flags),
                ));
            }
            Ok(CiEntry {
                uncompressed_offset: (u & 0xffff_ffff) << 12,
                uncompressed_size: (((u >> 32) & 0xff_ffff) + 1) as u32,
                compressed_offset: c & 0xff_ffff_ffff,
                compressed_size: (c >> 40) as u32,
                flags,
                data: d,
            })
        } else {
            let at = u64::from(index) * 16;
            let w: &[U64] = data.read_slice(at, 2, "compression-info entry")?;
            let (u, c) = (w[0].get(), w[1].get());
            let usize = (((u & 0xf00) << 12) | (u >> 44)) + 1;
            let csize = ((c >> 44) | ((c & 0x0f00_0000_0000) >> 20)) + 1;
            Ok(CiEntry {
                uncompressed_offset: u & 0x0000_0fff_ffff_f000,
                uncompressed_size: usize as u32,
                compressed_offset: c & 0xff_ffff_ffff,
                compressed_size: csize as u32,
                flags: u8::from(csize != usize),
                data: 0,
            })
        }
    }

    /// Batch context `index`.
    pub fn batch_context(&self, index: u32) -> Result<BatchContext> {
        if index >= self.header.contexts {
            return Err(invalid(
                "batch context",
                0,
                "index past the contexts",
                u64::from(index),
            ));
        }
        let at = self.header.contexts_offset + u64::from(index) * 40;
        let w: &[U32] = Data::new(self.bytes).read_slice(at, 2, "batch context")?;
        Ok(BatchContext {
            compressed_size: w[0].get(),
            uncompressed_size: w[1].get(),
        })
    }
}
