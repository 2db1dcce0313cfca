use std::path::Path;
use std::process::Command;

use nyscan_rafs::blob_meta::{BlobMetaHeader, ChunkInfoTable, HEADER_SIZE};
use nyscan_testutil::{Skip, skip};

use super::*;
use crate::{decode_chunk, decompress};

/// Deterministic bytes: runs of text (compressible) and of noise (incompressible).
fn sample(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (x >> 60) < 9 {
            out.extend_from_slice(format!("line {} of the sample\n", x % 1000).as_bytes());
        } else {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out.truncate(len);
    out
}

fn format(layout: BlobLayout, compressor: Compressor, digester: Digester) -> BlobFormat {
    BlobFormat {
        layout,
        compressor,
        digester,
        chunk_size: 0x10000,
        crc32: true,
    }
}

fn none(_: &[u8; 32], _: u32) -> Option<Chunk> {
    None
}

/// Writes `files` into one blob.
fn write_blob(fmt: BlobFormat, files: &[Vec<u8>]) -> (WrittenBlob<Vec<u8>>, Vec<FileChunks>) {
    let mut w = BlobWriter::new(Vec::new(), fmt, 2).unwrap();
    let written = files
        .iter()
        .map(|f| w.add_file(&mut f.as_slice(), &none).unwrap())
        .collect();
    (w.finish().unwrap(), written)
}

/// Reads every file back from the blob through its chunk records, and checks the blob's
/// compression info against them.
fn check_blob(blob: &WrittenBlob<Vec<u8>>, files: &[Vec<u8>], written: &[FileChunks]) {
    let bytes = &blob.out;
    let info = &blob.info;
    assert_eq!(info.compressed_size, bytes.len() as u64);
    assert_eq!(info.id, hex(&Sha256::digest(bytes)));
    assert_eq!(info.chunk_count as usize, blob.chunks.len());
    for (file, fc) in files.iter().zip(written) {
        assert_eq!(fc.size, file.len() as u64);
        let mut back = Vec::new();
        for c in &fc.chunks {
            assert_eq!(c.blob_index, 2);
            assert_eq!(c.file_offset, back.len() as u64);
            let stored = &bytes[c.compressed_offset as usize..][..c.compressed_size as usize];
            back.extend(decode_chunk(c, info.compressor, info.digester, stored).unwrap());
        }
        assert!(back == *file, "file content read back differs");
    }
    let Some(meta) = info.meta else {
        assert_eq!(info.features, BlobLayout::Plain.features());
        return;
    };
    let at = meta.ci_offset as usize;
    let array = &bytes[at..at + meta.ci_compressed_size as usize];
    let header_at = at + meta.ci_compressed_size as usize;
    let header =
        BlobMetaHeader::parse(&bytes[header_at..header_at + HEADER_SIZE as usize], info).unwrap();
    assert_eq!(header.features, info.features);
    let ci = decompress(
        Compressor::from_id(meta.ci_compressor).unwrap(),
        array,
        meta.ci_uncompressed_size as usize,
    )
    .unwrap();
    let table = ChunkInfoTable::new(&ci, header).unwrap();
    for c in &blob.chunks {
        let e = table.entry(c.index).unwrap();
        assert_eq!(e.uncompressed_offset, c.uncompressed_offset);
        assert_eq!(e.uncompressed_offset % 4096, 0);
        assert_eq!(e.uncompressed_size, c.uncompressed_size);
        assert_eq!(e.compressed_offset, c.compressed_offset);
        assert_eq!(e.compressed_size, c.compressed_size);
        assert_eq!(e.flags & 1 != 0, c.is_compressed());
    }
    let end = blob.chunks.last().unwrap();
    assert_eq!(
        info.uncompressed_size,
        (end.uncompressed_offset + u64::from(end.uncompressed_size)).div_ceil(4096) * 4096
    );
}

#[test]
fn every_layout_reads_back_through_its_records() {
    let files = vec![
        sample(0x10000 * 3 + 777, 1),
        sample(10, 2),
        sample(0x10000, 3),
        Vec::new(),
    ];
    for layout in [BlobLayout::Plain, BlobLayout::Meta, BlobLayout::Toc] {
        for compressor in [Compressor::None, Compressor::Lz4Block, Compressor::Zstd] {
            for digester in [Digester::Blake3, Digester::Sha256] {
                let (blob, written) = write_blob(format(layout, compressor, digester), &files);
                check_blob(&blob, &files, &written);
                assert_eq!(written[0].chunks.len(), 4);
                assert_eq!(written[3].chunks.len(), 0);
                if layout == BlobLayout::Toc {
                    check_toc(&blob.out, blob.info.meta.unwrap());
                }
            }
        }
    }
}

#[test]
fn incompressible_chunks_are_stored_raw_and_compressible_ones_shrink() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..2500)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    let text = b"nydus ".repeat(5000);
    for compressor in [Compressor::Lz4Block, Compressor::Zstd] {
        let mut w = BlobWriter::new(
            Vec::new(),
            format(BlobLayout::Meta, compressor, Digester::Blake3),
            0,
        )
        .unwrap();
        let (raw, _) = w.add_chunk(&noise).unwrap();
        assert!(!raw.is_compressed(), "{compressor}");
        assert_eq!(raw.compressed_size, raw.uncompressed_size);
        let (packed, _) = w.add_chunk(&text).unwrap();
        assert!(packed.is_compressed(), "{compressor}");
        assert!(packed.compressed_size < packed.uncompressed_size);
        assert_eq!(packed.crc32, Some(crc32c::crc32c(&text)));
        assert_eq!(packed.uncompressed_offset, 20_480, "4 KiB aligned");
    }
}

#[test]
fn duplicate_and_known_chunks_are_not_stored_again() {
    let a = sample(0x10000 * 2, 7);
    let fmt = format(BlobLayout::Meta, Compressor::Zstd, Digester::Blake3);
    let mut w = BlobWriter::new(Vec::new(), fmt, 1).unwrap();
    let first = w.add_file(&mut a.as_slice(), &none).unwrap();
    assert_eq!((first.new_chunks, first.deduped_chunks), (2, 0));
    // The same content again: both chunks come from this blob.
    let again = w.add_file(&mut a.as_slice(), &none).unwrap();
    assert_eq!((again.new_chunks, again.deduped_chunks), (0, 2));
    assert_eq!(again.stored_bytes, 0);
    assert_eq!(w.chunk_count(), 2);
    // Content the image already holds: its records are reused, with this file's offsets.
    let image_chunk = Chunk {
        blob_index: 0,
        index: 41,
        file_offset: 999,
        ..first.chunks[1]
    };
    let digest = first.chunks[1].digest;
    let known =
        move |d: &[u8; 32], size: u32| (*d == digest && size == 0x10000).then_some(image_chunk);
    let b = [a[0x10000..].to_vec(), sample(100, 8)].concat();
    let fc = w.add_file(&mut b.as_slice(), &known).unwrap();
    assert_eq!((fc.new_chunks, fc.deduped_chunks), (1, 1));
    assert_eq!(fc.chunks[0].blob_index, 0);
    assert_eq!(fc.chunks[0].index, 41);
    assert_eq!(fc.chunks[0].file_offset, 0);
    assert_eq!(fc.chunks[1].file_offset, 0x10000);
    assert_eq!(w.chunk_count(), 3);
}

#[test]
fn bad_formats_and_empty_blobs_are_refused() {
    let mut fmt = format(BlobLayout::Meta, Compressor::Zstd, Digester::Blake3);
    for size in [0, 1000, 0x800, 0x200_0000, 0x3000] {
        fmt.chunk_size = size;
        assert!(matches!(
            BlobWriter::new(Vec::new(), fmt, 0),
            Err(BlobWriteError::ChunkSize(_))
        ));
    }
    fmt.chunk_size = 0x1000;
    fmt.compressor = Compressor::Gzip;
    assert!(matches!(
        BlobWriter::new(Vec::new(), fmt, 0),
        Err(BlobWriteError::Compressor(Compressor::Gzip))
    ));
    fmt.compressor = Compressor::Zstd;
    let mut w = BlobWriter::new(Vec::new(), fmt, 0).unwrap();
    assert!(matches!(
        w.add_chunk(&[0; 0x1001]),
        Err(BlobWriteError::ChunkLength { .. })
    ));
    assert!(matches!(
        w.add_chunk(&[]),
        Err(BlobWriteError::ChunkLength { .. })
    ));
    assert!(matches!(w.finish(), Err(BlobWriteError::Empty)));
}

#[test]
fn write_failures_name_the_offset() {
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let fmt = format(BlobLayout::Meta, Compressor::None, Digester::Blake3);
    let mut w = BlobWriter::new(Full(5000), fmt, 0).unwrap();
    w.add_chunk(&[1; 4096]).unwrap();
    let err = w.add_chunk(&[2; 4096]).unwrap_err();
    assert!(
        matches!(err, BlobWriteError::Write { offset: 4096, .. }),
        "{err}"
    );
}

#[test]
fn ci_entries_encode_what_the_reader_decodes() {
    let c = Chunk {
        digest: [0; 32],
        blob_index: 0,
        index: 0,
        flags: ChunkFlags(1),
        compressed_offset: 0xab_cdef_1234,
        compressed_size: 0xfe_dcba,
        uncompressed_offset: 0x0000_0123_4567_8000,
        uncompressed_size: 0x100_0000,
        file_offset: 0,
        crc32: None,
    };
    let bytes = ci_entry_v1(&c).unwrap();
    let header = BlobMetaHeader {
        features: BlobFeatures(0),
        ci_compressor: 0,
        entries: 1,
        ci_uncompressed_size: 16,
        contexts_offset: 0,
        contexts: 0,
    };
    let e = ChunkInfoTable::new(&bytes, header)
        .unwrap()
        .entry(0)
        .unwrap();
    assert_eq!(e.compressed_offset, c.compressed_offset);
    assert_eq!(e.compressed_size, c.compressed_size);
    assert_eq!(e.uncompressed_offset, c.uncompressed_offset);
    assert_eq!(e.uncompressed_size, c.uncompressed_size);
    let far = Chunk {
        compressed_offset: 1 << 40,
        ..c
    };
    assert!(matches!(
        ci_entry_v1(&far),
        Err(BlobWriteError::TooLarge { .. })
    ));
}

/// Walks the blob's sections backwards from its end by their tar headers, as the
/// nydus-snapshotter does, and checks the ToC against them.
fn check_toc(blob: &[u8], meta: BlobMeta) {
    let octal = |f: &[u8]| {
        let s = std::str::from_utf8(f).unwrap().trim_matches(['\0', ' ']);
        u64::from_str_radix(s, 8).unwrap()
    };
    let mut end = blob.len();
    let mut sections = Vec::new();
    while end > 0 {
        let h = &blob[end - 512..end];
        assert_eq!(&h[257..265], b"ustar  \0");
        let name = String::from_utf8(h[..100].split(|&b| b == 0).next().unwrap().to_vec()).unwrap();
        let size = octal(&h[124..136]) as usize;
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        assert_eq!(sum, octal(&h[148..156]), "{name} checksum");
        sections.push((name, end - 512 - size, size));
        end -= 512 + size;
    }
    let names: Vec<&str> = sections.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["rafs.blob.toc", "blob.digest", "blob.meta", "image.blob"]
    );
    let (_, toc_at, toc_len) = sections[0];
    assert_eq!(meta.toc_size as usize, toc_len + 512);
    assert_eq!(
        meta.toc_digest,
        <[u8; 32]>::from(Sha256::digest(&blob[toc_at..]))
    );
    let toc = &blob[toc_at..toc_at + toc_len];
    let mut entries = Vec::new();
    for e in toc.chunks(128) {
        let name = String::from_utf8(e[8..24].split(|&b| b == 0).next().unwrap().to_vec()).unwrap();
        let off = u64::from_le_bytes(e[56..64].try_into().unwrap()) as usize;
        let size = u64::from_le_bytes(e[64..72].try_into().unwrap()) as usize;
        let digest = &e[24..56];
        if name != "image.blob" && name != "blob.meta" {
            assert_eq!(
                digest,
                Sha256::digest(&blob[off..off + size]).as_slice(),
                "{name}"
            );
        }
        entries.push((name, off, size));
    }
    let image_blob = &entries[0];
    assert_eq!(entries[0].0, "image.blob", "the data section comes first");
    assert_eq!(image_blob.1, 0);
    assert_eq!(image_blob.2, sections[3].2);
    assert_eq!(
        &toc[24..56],
        Sha256::digest(&blob[..image_blob.2 + 512]).as_slice(),
        "image.blob digest covers the data and its tar header"
    );
    assert_eq!(
        entries[1],
        (
            "blob.meta".into(),
            meta.ci_offset as usize,
            meta.ci_compressed_size as usize
        )
    );
    assert_eq!(entries[2].0, "blob.meta.header");
    assert_eq!(entries[3].0, "blob.digest");
    assert_eq!(entries[3].2, sections[1].2);
}

#[test]
fn tar_headers_match_the_official_builders() {
    let Some(shared) = nyscan_testutil::shared_dir() else {
        return skip(
            "tar_headers_match_the_official_builders",
            &Skip("../shared is absent".into()),
        );
    };
    // The second layer's blob of the merged v6 image, built with --features blob-toc.
    let blob = std::fs::read(shared.join(
        "fixtures/official/v6-merged/blobs/33ac1b29576298f3dc8a9fee02af205a157acf189d1aedddcc4ce7fb2384ddf2",
    ))
    .unwrap();
    assert_eq!(&blob[93..605], tar_header("image.blob", 93));
    assert_eq!(&blob[5357..5869], tar_header("blob.digest", 96));
    assert_eq!(&blob[4749..5261], tar_header("blob.meta", 4144));
    // Its ToC entries for the sections our layout writes too.
    let toc = &blob[6950..7590];
    let ci = &blob[605..653];
    let entry = TocEntry {
        name: "blob.meta",
        compressor: Compressor::None,
        digest: Sha256::digest(ci).into(),
        offset: 605,
        compressed_size: 48,
        uncompressed_size: 48,
    };
    assert_eq!(&toc[128..256], entry.to_bytes());
}

/// Runs the official builder on `src`; the blob and the bootstrap, or `None` (after printing
/// why) when it is not installed.
fn official_build(test: &str, src: &Path, out: &Path, args: &[&str]) -> Option<(Vec<u8>, Vec<u8>)> {
    let Ok(status) = Command::new("nydus-image")
        .args(["create", "-t", "dir-rafs", "--log-level", "warn"])
        .args(args)
        .arg("--bootstrap")
        .arg(out.join("boot"))
        .arg("--blob-dir")
        .arg(out.join("blobs"))
        .arg(src)
        .status()
    else {
        skip(test, &Skip("nydus-image is not installed".into()));
        return None;
    };
    assert!(status.success(), "nydus-image create {args:?}");
    let entry = std::fs::read_dir(out.join("blobs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    Some((
        std::fs::read(entry.path()).unwrap(),
        std::fs::read(out.join("boot")).unwrap(),
    ))
}

/// The compression-info table of a v6 blob, uncompressed, and where it starts.
fn ci_table(blob: &[u8]) -> (usize, Vec<u8>) {
    let h = &blob[blob.len() - 4096..];
    let word = |at: usize| u64::from_le_bytes(h[at..at + 8].try_into().unwrap());
    let id = u32::from_le_bytes(h[8..12].try_into().unwrap());
    let (at, csize, usize) = (word(16) as usize, word(24) as usize, word(32) as usize);
    let compressor = Compressor::from_id(id).unwrap();
    (
        at,
        decompress(compressor, &blob[at..at + csize], usize).unwrap(),
    )
}

#[test]
fn blobs_match_the_official_builders() {
    const TEST: &str = "blobs_match_the_official_builders";
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    // In name order, as the builder stores a flat directory; `b` repeats a chunk of `a`.
    let a = sample(0x10000 * 3 + 5000, 11);
    let files = vec![a.clone(), a[0x10000..0x20000].to_vec(), sample(300, 12)];
    let names = ["a", "b", "c"];
    for (name, data) in names.iter().zip(&files) {
        std::fs::write(src.join(name), data).unwrap();
    }
    for (args, layout, compressor, version) in [
        (
            &["--compressor", "none"][..],
            BlobLayout::Meta,
            Compressor::None,
            6,
        ),
        (
            &["--compressor", "zstd"][..],
            BlobLayout::Meta,
            Compressor::Zstd,
            6,
        ),
        (
            &["--compressor", "lz4_block"][..],
            BlobLayout::Meta,
            Compressor::Lz4Block,
            6,
        ),
        (
            &["--compressor", "none", "--features", "blob-toc"][..],
            BlobLayout::Toc,
            Compressor::None,
            6,
        ),
        (
            &["--compressor", "zstd", "--features", "blob-toc"][..],
            BlobLayout::Toc,
            Compressor::Zstd,
            6,
        ),
        (
            &["--compressor", "none"][..],
            BlobLayout::Plain,
            Compressor::None,
            5,
        ),
        (
            &["--compressor", "lz4_block"][..],
            BlobLayout::Plain,
            Compressor::Lz4Block,
            5,
        ),
    ] {
        let case = format!("{args:?} v{version}");
        let out = tmp.path().join(format!("out-{version}-{}", args.join("")));
        std::fs::create_dir_all(out.join("blobs")).unwrap();
        let version_arg = version.to_string();
        let all: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--chunk-size", "0x10000", "--fs-version", &version_arg])
            .collect();
        let Some((official, boot)) = official_build(TEST, &src, &out, &all) else {
            return;
        };
        let (ours, written) = write_blob(format(layout, compressor, Digester::Blake3), &files);
        // The blob table entry.
        let boot = nyscan_rafs::Bootstrap::parse(&boot).unwrap();
        let theirs = &boot.blobs()[0];
        if layout != BlobLayout::Toc {
            // (With a ToC, nydus-image's own id leaves the chunk digest array out of the
            // hash; in an image the id is the layer digest, the sha256 of the whole file,
            // which is what our id is.)
            assert_eq!(theirs.id, hex(&Sha256::digest(&official)), "{case}");
        }
        assert_eq!(ours.info.chunk_count, theirs.chunk_count, "{case}");
        assert_eq!(
            ours.info.uncompressed_size, theirs.uncompressed_size,
            "{case}"
        );
        assert_eq!(ours.info.features, theirs.features, "{case}: features");
        // Every file's chunks: same places in the uncompressed blob, same digests, same
        // content; and where nothing is compressed, the same bytes at the same offsets.
        for (name, ours_file) in names.iter().zip(&written) {
            let inode = boot.lookup(format!("/{name}").as_bytes()).unwrap().unwrap();
            let chunks: Vec<Chunk> = inode.chunks().collect::<Result<_, _>>().unwrap();
            assert_eq!(chunks.len(), ours_file.chunks.len(), "{case} /{name}");
            for (t, o) in chunks.iter().zip(&ours_file.chunks) {
                let at = format!("{case} /{name} chunk {}", t.index);
                assert_eq!(
                    (
                        t.index,
                        t.uncompressed_offset,
                        t.uncompressed_size,
                        t.digest,
                        t.file_offset
                    ),
                    (
                        o.index,
                        o.uncompressed_offset,
                        o.uncompressed_size,
                        o.digest,
                        o.file_offset
                    ),
                    "{at}"
                );
                assert_eq!(t.is_compressed(), o.is_compressed(), "{at}");
                if compressor == Compressor::None {
                    assert_eq!(
                        (t.compressed_offset, t.compressed_size),
                        (o.compressed_offset, o.compressed_size),
                        "{at}"
                    );
                }
                let stored = |blob: &[u8], c: &Chunk| {
                    blob[c.compressed_offset as usize..][..c.compressed_size as usize].to_vec()
                };
                let mut plain = *t;
                plain.crc32 = None;
                assert_eq!(
                    decode_chunk(&plain, compressor, Digester::Blake3, &stored(&official, t))
                        .unwrap(),
                    decode_chunk(o, compressor, Digester::Blake3, &stored(&ours.out, o)).unwrap(),
                    "{at}"
                );
            }
        }
        match (layout, compressor) {
            (BlobLayout::Plain, Compressor::None) => {
                assert!(ours.out == official, "{case}: bytes differ");
            }
            (BlobLayout::Plain, _) => {}
            _ => {
                // nydus-image 2.2 compresses the CI table with zstd whatever the chunks use
                // (newer builders, like the one that made the fixtures, use the chunks'
                // compressor): the table itself must be identical where the chunk sizes are.
                let (ours_at, ours_ci) = ci_table(&ours.out);
                let (official_at, official_ci) = ci_table(&official);
                if compressor == Compressor::None {
                    assert_eq!(ours_at, official_at, "{case}: data sizes");
                    assert!(
                        ours.out[..ours_at] == official[..official_at],
                        "{case}: data"
                    );
                    assert_eq!(ours_ci, official_ci, "{case}: CI tables");
                } else {
                    assert_eq!(ours_ci.len(), official_ci.len(), "{case}: CI tables");
                }
            }
        }
        if layout == BlobLayout::Toc {
            let toc_names = |blob: &[u8]| {
                let size = ours.info.meta.unwrap().toc_size as usize;
                let toc = &blob[blob.len() - size..blob.len() - 512];
                toc.chunks(128)
                    .map(|e| {
                        String::from_utf8_lossy(&e[8..24])
                            .trim_end_matches('\0')
                            .to_owned()
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(toc_names(&ours.out), toc_names(&official), "{case}: ToC");
            let theirs_meta = theirs.meta.unwrap();
            assert_eq!(
                ours.info.meta.unwrap().toc_size,
                theirs_meta.toc_size,
                "{case}"
            );
        }
    }
}
