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

#[test]
fn ranges_read_only_the_chunks_they_overlap() {
    let Some(dir) = shared_official() else {
        return skip(
            "ranges_read_only_the_chunks_they_overlap",
            "../shared/fixtures/official is absent",
        );
    };
    for image in ["v6-lz4-64k", "v5-lz4"] {
        let bytes = std::fs::read(dir.join(image).join("boot")).unwrap();
        let boot = Bootstrap::parse(&bytes).unwrap();
        let blobs = BlobDir::new(dir.join(image).join("blobs"));
        let inode = boot.lookup(b"/sizes/three-chunks").unwrap().unwrap();
        let whole = ChunkReader::new(&boot, &blobs, FetchOptions::default())
            .read_file(&inode)
            .unwrap();
        let chunk = u64::from(boot.superblock().chunk_size);
        for (offset, len) in [
            (0, 10),
            (chunk - 5, 10),
            (chunk * 2 + 1, 100),
            (whole.len() as u64 - 3, 100),
            (whole.len() as u64 + 5, 1),
        ] {
            let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
            let got = reader.read_range(&inode, offset, len).unwrap();
            let start = (offset as usize).min(whole.len());
            let end = (offset + len).min(whole.len() as u64) as usize;
            assert_eq!(got, &whole[start..end], "{image} {offset}+{len}");
            let chunks = reader.stats().snapshot().2;
            let spans = if offset >= whole.len() as u64 {
                0
            } else if (offset % chunk) + len.min(whole.len() as u64 - offset) > chunk {
                2
            } else {
                1
            };
            assert_eq!(chunks, spans, "{image} {offset}+{len}: chunks fetched");
        }
    }
}

#[test]
fn several_processes_can_share_the_cache() {
    let Some(dir) = shared_official() else {
        return skip(
            "several_processes_can_share_the_cache",
            "../shared/fixtures/official is absent",
        );
    };
    let image = dir.join("v6-zstd");
    let bytes = std::fs::read(image.join("boot")).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let expected = {
        let blobs = BlobDir::new(image.join("blobs"));
        let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
        let inode = boot.lookup(b"/sizes/three-chunks").unwrap().unwrap();
        reader.read_file(&inode).unwrap()
    };
    // Each thread opens its own handle on the same directory, as separate processes would,
    // and they write the same entries at once; a tiny bound forces eviction races too.
    std::thread::scope(|s| {
        for bound in [1u64 << 30, 1 << 30, 3 << 20, 3 << 20] {
            let (boot, image, tmp, expected) = (&boot, &image, tmp.path(), &expected);
            s.spawn(move || {
                let cache = nyscan_image::cache::ChunkCache::open(tmp, bound).unwrap();
                let blobs = BlobDir::new(image.join("blobs"));
                for _ in 0..5 {
                    let reader =
                        ChunkReader::new(boot, &blobs, FetchOptions::default()).with_cache(&cache);
                    let inode = boot.lookup(b"/sizes/three-chunks").unwrap().unwrap();
                    assert!(reader.read_file(&inode).unwrap() == *expected);
                }
            });
        }
    });
    // No temporary file is left behind.
    for sub in std::fs::read_dir(tmp.path()).unwrap() {
        for e in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            assert!(
                !e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            );
        }
    }
}

#[test]
fn streaming_equals_reading_whole_files_holes_included() {
    let Some(dir) = shared_official() else {
        return skip(
            "streaming_equals_reading_whole_files_holes_included",
            "../shared/fixtures/official is absent",
        );
    };
    for image in ["v5-lz4", "v6-zstd", "v6-batch"] {
        let bytes = std::fs::read(dir.join(image).join("boot")).unwrap();
        let boot = Bootstrap::parse(&bytes).unwrap();
        let blobs = BlobDir::new(dir.join(image).join("blobs"));
        let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
        for path in [
            &b"/sparse"[..],
            b"/sizes/three-chunks",
            b"/empty",
            b"/byte",
            b"/sizes/zeros",
        ] {
            let inode = boot.lookup(path).unwrap().unwrap();
            let mut streamed = Vec::new();
            let n = reader.stream_file(&inode, &mut streamed).unwrap();
            assert_eq!(n, inode.size());
            assert!(
                streamed == reader.read_file(&inode).unwrap(),
                "{image} {}",
                String::from_utf8_lossy(path)
            );
        }
    }
}

#[test]
fn a_damaged_compression_info_table_is_an_error() {
    let Some(dir) = shared_official() else {
        return skip(
            "a_damaged_compression_info_table_is_an_error",
            "../shared/fixtures/official is absent",
        );
    };
    let image = dir.join("v6-batch");
    let bytes = std::fs::read(image.join("boot")).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let blob = &boot.blobs()[0];
    let meta = blob.meta.unwrap();
    let original = std::fs::read(image.join("blobs").join(&blob.id)).unwrap();
    // /hello.txt is a batch member: it is found only through the blob's CI table.
    let inode = boot.lookup(b"/hello.txt").unwrap().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let read = |b: &[u8]| {
        std::fs::write(tmp.path().join(&blob.id), b).unwrap();
        let blobs = BlobDir::new(tmp.path());
        ChunkReader::new(&boot, &blobs, FetchOptions::default()).read_file(&inode)
    };
    assert_eq!(read(&original).unwrap(), b"hello, nydus\n");
    let header = (meta.ci_offset + meta.ci_compressed_size) as usize;
    // A damaged header is refused: it must agree with the bootstrap.
    for (at, what) in [
        (header, "header magic"),
        (header + 12, "entry count"),
        (header + 4092, "trailing magic"),
    ] {
        let mut damaged = original.clone();
        damaged[at] ^= 0x40;
        assert!(read(&damaged).is_err(), "{what}: read without error");
    }
    // Damage inside the compressed table may still decompress (zstd has no checksum here)
    // into wrong locations: the chunk digest then catches it. Either an error or the right
    // bytes, never wrong ones.
    let mut errors = 0;
    for i in 0..meta.ci_compressed_size as usize {
        let mut damaged = original.clone();
        damaged[meta.ci_offset as usize + i] ^= 0x40;
        match read(&damaged) {
            Ok(data) => assert_eq!(data, b"hello, nydus\n", "CI byte {i}: wrong bytes"),
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 0, "no damage to the CI table was noticed");
}
