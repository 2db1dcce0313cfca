//! Tar headers placed after their data, and the table of contents of `Toc` blobs.

use nyscan_rafs::Compressor;

/// Bytes of one ToC entry.
pub const TOC_ENTRY_SIZE: usize = 128;

/// The 512-byte GNU tar header the official builder writes after a section: the name (at
/// most 100 bytes are kept), type regular file, the size, mtime 0, everything else zero, and
/// the checksum.
pub fn tar_header(name: &str, size: u64) -> [u8; 512] {
    let mut h = tar::Header::new_gnu();
    let field = &mut h.as_old_mut().name;
    let n = name.len().min(field.len());
    field[..n].copy_from_slice(&name.as_bytes()[..n]);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_cksum();
    *h.as_bytes()
}

/// One entry of a blob's table of contents (`TocEntry`, 128 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TocEntry {
    /// Section name (`image.blob`, `blob.meta`, `blob.meta.header`, `blob.digest`).
    pub name: &'static str,
    /// How the section is stored.
    pub compressor: Compressor,
    /// sha256 of the section's uncompressed content.
    pub digest: [u8; 32],
    /// Offset of the section in the blob.
    pub offset: u64,
    /// Stored bytes.
    pub compressed_size: u64,
    /// Bytes once uncompressed.
    pub uncompressed_size: u64,
}

impl TocEntry {
    /// The on-disk entry: flags (compression zstd 0x2, lz4_block 0x4, else none 0x1), name
    /// (NUL padded to 16 bytes), digest, offset, sizes, zero padding.
    pub fn to_bytes(&self) -> [u8; TOC_ENTRY_SIZE] {
        let flags: u32 = match self.compressor {
            Compressor::Zstd => 0x2,
            Compressor::Lz4Block => 0x4,
            _ => 0x1,
        };
        let mut e = [0u8; TOC_ENTRY_SIZE];
        e[0..4].copy_from_slice(&flags.to_le_bytes());
        let name = self.name.as_bytes();
        let n = name.len().min(16);
        e[8..8 + n].copy_from_slice(&name[..n]);
        e[24..56].copy_from_slice(&self.digest);
        e[56..64].copy_from_slice(&self.offset.to_le_bytes());
        e[64..72].copy_from_slice(&self.compressed_size.to_le_bytes());
        e[72..80].copy_from_slice(&self.uncompressed_size.to_le_bytes());
        e
    }
}
