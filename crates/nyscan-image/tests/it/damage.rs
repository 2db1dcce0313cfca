//! Reads fetch only what they need, and damaged blobs give errors naming blob and chunk.

use nyscan_image::{ChunkReader, Error, FetchOptions};
use nyscan_rafs::Bootstrap;
use nyscan_source::BlobDir;

use crate::{shared_official, skip};

#[test]
fn reading_one_file_fetches_only_its_chunks() {
    let Some(dir) = shared_official() else {
        return skip(
            "reading_one_file_fetches_only_its_chunks",
            "../shared/fixtures/official is absent",
        );
    };
    for image in ["v6-zstd", "v5-lz4", "v6-batch"] {
        let bytes = std::fs::read(dir.join(image).join("boot")).unwrap();
        let boot = Bootstrap::parse(&bytes).unwrap();
        let blobs = BlobDir::new(dir.join(image).join("blobs"));
        let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
        let inode = boot.lookup(b"/hello.txt").unwrap().unwrap();
        assert_eq!(reader.read_file(&inode).unwrap(), b"hello, nydus\n");
        let chunk = inode.chunks().next().unwrap().unwrap();
        let (requests, fetched, chunks, meta) = reader.stats().snapshot();
        let blob_size = std::fs::metadata(dir.join(image).join("blobs").join(&boot.blobs()[0].id))
            .unwrap()
            .len();
        if meta == 0 {
            assert_eq!(
                (requests, fetched, chunks),
                (1, u64::from(chunk.compressed_size), 1),
                "{image}"
            );
        } else {
            // A batch member: the compression-info table (once) plus its batch.
            let m = boot.blobs()[0].meta.unwrap();
            assert_eq!(requests, 2, "{image}");
            assert!(
                fetched < m.ci_compressed_size + 4096 + 1024,
                "{image}: {fetched} bytes"
            );
        }
        assert!(
            fetched * 100 < blob_size,
            "{image}: read {fetched} of {blob_size} bytes"
        );
    }
}

#[test]
fn damaged_blobs_are_errors_never_bytes() {
    let Some(dir) = shared_official() else {
        return skip(
            "damaged_blobs_are_errors_never_bytes",
            "../shared/fixtures/official is absent",
        );
    };
    let image = dir.join("v6-zstd");
    let bytes = std::fs::read(image.join("boot")).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let id = boot.blobs()[0].id.clone();
    let original = std::fs::read(image.join("blobs").join(&id)).unwrap();
    let inode = boot.lookup(b"/sizes/text").unwrap().unwrap();
    let chunk = inode.chunks().next().unwrap().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let read = |blob: &[u8]| {
        std::fs::write(tmp.path().join(&id), blob).unwrap();
        let blobs = BlobDir::new(tmp.path());
        let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
        reader.read_file(&inode)
    };
    assert!(read(&original).is_ok());
    // A flipped byte inside the chunk: it fails to decompress or to verify.
    let mut flipped = original.clone();
    flipped[(chunk.compressed_offset + u64::from(chunk.compressed_size) / 2) as usize] ^= 0x5a;
    let err = read(&flipped).unwrap_err();
    assert!(
        matches!(err, Error::Chunk { ref blob_id, chunk: c, .. } if *blob_id == id && c == chunk.index),
        "{err:?}"
    );
    // A truncated blob: the range is missing.
    let err = read(&original[..chunk.compressed_offset as usize + 10]).unwrap_err();
    assert!(
        matches!(err, Error::Fetch { ref blob_id, .. } if *blob_id == id),
        "{err:?}"
    );
    // Another blob's bytes under this id (same size, different content).
    let mut other = original.clone();
    other.reverse();
    assert!(read(&other).is_err());
}
