//! Any bytes given as a blob's compression-info header and table (what a registry serves).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_rafs::blob_meta::{BlobMetaHeader, ChunkInfoTable};
use nyscan_rafs::{BlobFeatures, BlobInfo, BlobMeta, Compressor, Digester};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4096 {
        return;
    }
    let (header, table) = data.split_at(4096);
    let h = u64::from_le_bytes(header[16..24].try_into().unwrap());
    let blob = BlobInfo {
        index: 0,
        id: "0".repeat(64),
        chunk_count: u32::from_le_bytes(header[12..16].try_into().unwrap()),
        chunk_size: 1 << 20,
        compressed_size: 0,
        uncompressed_size: 0,
        features: BlobFeatures(u32::from_le_bytes(header[4..8].try_into().unwrap())),
        compressor: Compressor::Zstd,
        digester: Digester::Blake3,
        readahead: (0, 0),
        meta: Some(BlobMeta {
            ci_compressor: u32::from_le_bytes(header[8..12].try_into().unwrap()),
            ci_offset: h,
            ci_compressed_size: u64::from_le_bytes(header[24..32].try_into().unwrap()),
            ci_uncompressed_size: table.len() as u64,
            toc_digest: [0; 32],
            toc_size: 0,
            meta_digest: [0; 32],
            meta_size: 0,
        }),
        mapped_blkaddr: None,
    };
    let Ok(parsed) = BlobMetaHeader::parse(header, &blob) else {
        return;
    };
    let Ok(ci) = ChunkInfoTable::new(table, parsed) else {
        return;
    };
    for i in 0..parsed.entries.min(4096) {
        if let Ok(e) = ci.entry(i)
            && let Some((batch, _)) = e.batch()
        {
            let _ = ci.batch_context(batch);
        }
    }
});
