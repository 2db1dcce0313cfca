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

#[test]
fn the_chunk_cache_serves_repeats_and_drops_damaged_entries() {
    let Some(dir) = shared_official() else {
        return skip(
            "the_chunk_cache_serves_repeats_and_drops_damaged_entries",
            "../shared/fixtures/official is absent",
        );
    };
    let image = dir.join("v5-zstd-sha256");
    let bytes = std::fs::read(image.join("boot")).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let blobs = BlobDir::new(image.join("blobs"));
    let tmp = tempfile::tempdir().unwrap();
    let cache = nyscan_image::cache::ChunkCache::open(tmp.path(), 1 << 30).unwrap();
    let inode = boot.lookup(b"/sizes/three-chunks").unwrap().unwrap();
    let first = ChunkReader::new(&boot, &blobs, FetchOptions::default()).with_cache(&cache);
    let data = first.read_file(&inode).unwrap();
    assert_eq!(first.stats().cache_hits(), 0);
    assert!(first.stats().snapshot().0 > 0);
    let second = ChunkReader::new(&boot, &blobs, FetchOptions::default()).with_cache(&cache);
    assert_eq!(second.read_file(&inode).unwrap(), data);
    assert_eq!(second.stats().snapshot().0, 0, "no request on a warm cache");
    assert_eq!(second.stats().cache_hits(), 3);
    // Damage every cached entry: they are dropped and fetched again, never served.
    let mut damaged = 0;
    for sub in std::fs::read_dir(tmp.path()).unwrap() {
        for e in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let p = e.unwrap().path();
            let mut b = std::fs::read(&p).unwrap();
            b[0] ^= 1;
            std::fs::write(&p, b).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged >= 3);
    let third = ChunkReader::new(&boot, &blobs, FetchOptions::default()).with_cache(&cache);
    assert_eq!(third.read_file(&inode).unwrap(), data);
    assert_eq!(third.stats().cache_hits(), 0);
    assert!(third.stats().snapshot().0 > 0);
}
