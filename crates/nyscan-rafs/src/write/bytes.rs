//! Little-endian appends and patches on a growing byte buffer.

/// Appending little-endian integers and padding to a `Vec<u8>`.
pub(crate) trait PutLe {
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    /// Zero bytes until the length is a multiple of `align`.
    fn pad_to(&mut self, align: usize);
}

impl PutLe for Vec<u8> {
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn pad_to(&mut self, align: usize) {
        let len = self.len().next_multiple_of(align);
        self.resize(len, 0);
    }
}

/// Rounds `v` up to a multiple of `align`.
pub(crate) fn align_up(v: u64, align: u64) -> u64 {
    v.div_ceil(align) * align
}

/// Copies `bytes` into `buf` at `offset`, growing `buf` with zeros if needed.
pub(crate) fn write_at(buf: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let start = offset as usize;
    let end = start + bytes.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[start..end].copy_from_slice(bytes);
}

/// The 80-byte chunk record of `c` (`RafsV5ChunkInfo`, also the v6 chunk-table entry).
pub(crate) fn chunk_record(c: &crate::model::Chunk) -> [u8; 80] {
    let mut out = Vec::with_capacity(80);
    out.extend_from_slice(&c.digest);
    out.put_u32(c.blob_index);
    out.put_u32(c.flags.bits());
    out.put_u32(c.compressed_size);
    out.put_u32(c.uncompressed_size);
    out.put_u64(c.compressed_offset);
    out.put_u64(c.uncompressed_offset);
    out.put_u64(c.file_offset);
    out.put_u32(c.index);
    out.put_u32(c.crc32.unwrap_or(0));
    out.try_into().expect("80 bytes")
}
