//! Damaged bootstraps give errors, never panics or hangs.

use nyscan_rafs::{Bootstrap, Error, Unsupported};

use crate::{boot_bytes, fixtures, official_images};

/// Reads everything the API offers; returns the first error.
fn read_everything(bytes: &[u8]) -> Result<usize, Error> {
    Ok(Bootstrap::parse(bytes)?.check()?.entries)
}

#[test]
fn truncation_at_every_4k_boundary_is_an_error() {
    for name in official_images() {
        let bytes = boot_bytes(&name);
        assert!(read_everything(&bytes).is_ok());
        let mut cut = 0;
        while cut < bytes.len() {
            let r = read_everything(&bytes[..cut]);
            assert!(
                r.is_err(),
                "{name}: truncated at {cut:#x} read without error"
            );
            cut += 4096;
        }
        // Not 4K-aligned cuts too (v5 only needs 8-byte alignment).
        for cut in [1, 1023, 1100, 8199, bytes.len() - 8, bytes.len() - 1] {
            let _ = read_everything(&bytes[..cut]);
        }
    }
}

#[test]
fn flipped_bytes_in_superblock_and_inodes_never_panic() {
    for name in official_images() {
        let bytes = boot_bytes(&name);
        let boot = Bootstrap::parse(&bytes).unwrap();
        // The superblock fields (v5: the first 96 bytes; v6: both superblocks and the
        // device slots), the tables, and the first 4 KiB of inodes.
        let sb = &boot.superblock();
        let mut regions = vec![(0usize, 96usize), (1024, 1408 + 128)];
        regions.push((
            sb.blob_table.offset as usize,
            (sb.blob_table.offset + sb.blob_table.size.min(256)) as usize,
        ));
        if let Some(t) = sb.inode_table {
            regions.push((t.offset as usize, (t.offset + t.size.min(512)) as usize));
        }
        let inode_start = boot.root().unwrap().offset() as usize;
        regions.push((inode_start, (inode_start + 4096).min(bytes.len())));
        let mut errors = 0;
        for (start, end) in regions {
            for at in start..end {
                for mask in [0xffu8, 1 << (at % 8)] {
                    let mut damaged = bytes.clone();
                    damaged[at] ^= mask;
                    if read_everything(&damaged).is_err() {
                        errors += 1;
                    }
                }
            }
        }
        assert!(errors > 0, "{name}: no flip was noticed");
    }
}

#[test]
fn cyclic_directories_are_refused() {
    // v6: point the dirent of /app (first entry after . and ..) back at the root.
    let bytes = boot_bytes("v6-zstd");
    let boot = Bootstrap::parse(&bytes).unwrap();
    let root = boot.root().unwrap();
    let root_nid = root.ino().0;
    let app = root.lookup(b"app").unwrap().unwrap();
    let app_nid = app.ino().0.to_le_bytes();
    let mut damaged = bytes.clone();
    // Rewrite every dirent nid in /app's directory data that points to /app/node_modules
    // so that it points to /app itself: /app/node_modules is /app again.
    let node_modules = boot
        .lookup(b"/app/node_modules")
        .unwrap()
        .unwrap()
        .ino()
        .0
        .to_le_bytes();
    let mut replaced = 0;
    for at in 0..damaged.len() - 8 {
        if damaged[at..at + 8] == node_modules && at % 4 == 0 && at > root.offset() as usize {
            damaged[at..at + 8].copy_from_slice(&app_nid);
            replaced += 1;
        }
    }
    assert!(replaced > 0);
    let _ = root_nid;
    let err = read_everything(&damaged).unwrap_err();
    assert!(
        matches!(err, Error::DirectoryCycle { .. } | Error::Invalid { .. }),
        "{err}"
    );
}

#[test]
fn oversized_directories_and_files_are_refused() {
    // dir-rafs writes extended v6 inodes: i_size is a u64 at offset 8.
    let bytes = boot_bytes("v6-zstd");
    let boot = Bootstrap::parse(&bytes).unwrap();
    for (path, size) in [
        (&b"/"[..], u64::MAX - 5),
        (b"/deep", 1 << 52),
        (b"/hello.txt", u64::MAX),
        (b"/hello.txt", 1 << 60),
        (b"/links/relative", 1 << 40),
    ] {
        let at = boot.lookup(path).unwrap().unwrap().offset() as usize + 8;
        let mut damaged = bytes.clone();
        damaged[at..at + 8].copy_from_slice(&size.to_le_bytes());
        let err = read_everything(&damaged).unwrap_err();
        assert!(err.is_corrupt(), "{}: {err}", String::from_utf8_lossy(path));
        // Directories are refused for their size, before any block number is computed.
        if path == b"/" || path == b"/deep" {
            assert!(
                err.to_string()
                    .contains("directory larger than the bootstrap"),
                "{err}"
            );
        }
        // Lookups through the damaged directory are refused too, never a panic.
        if let Ok(damaged_boot) = Bootstrap::parse(&damaged) {
            let _ = damaged_boot.lookup(b"/deep/level0/zzz");
        }
    }
}

#[test]
fn refusals_are_named() {
    // Nydus v3: EROFS magic without the RAFS compat bit.
    let mut v6 = boot_bytes("v6-zstd");
    v6[1024 + 8..1024 + 12].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        Bootstrap::parse(&v6).unwrap_err(),
        Error::Unsupported(Unsupported::NydusV3Bootstrap)
    );
    // Encrypted: the superblock flag.
    let mut v6 = boot_bytes("v6-zstd");
    let flags = u64::from_le_bytes(v6[1152..1160].try_into().unwrap()) | 0x0200_0000;
    v6[1152..1160].copy_from_slice(&flags.to_le_bytes());
    assert_eq!(
        Bootstrap::parse(&v6).unwrap_err(),
        Error::Unsupported(Unsupported::Encryption)
    );
    // Zran and external blobs: blob features.
    for (bit, refusal) in [
        (0x8u32, Unsupported::Zran),
        (0x800, Unsupported::ExternalBlob),
        (0x100, Unsupported::Encryption),
    ] {
        let mut v6 = boot_bytes("v6-zstd");
        let at = 4096 + 84;
        let f = u32::from_le_bytes(v6[at..at + 4].try_into().unwrap()) | bit;
        v6[at..at + 4].copy_from_slice(&f.to_le_bytes());
        assert_eq!(
            Bootstrap::parse(&v6).unwrap_err(),
            Error::Unsupported(refusal)
        );
    }
    // An unknown superblock flag in v5.
    let mut v5 = boot_bytes("v5-lz4");
    v5[16 + 5] |= 0x01; // bit 40
    assert!(matches!(
        Bootstrap::parse(&v5).unwrap_err(),
        Error::Unsupported(Unsupported::UnknownSuperFlags(_))
    ));
    // A Nydus v3 blob tail and a v6 data blob.
    let mut blob = vec![0u8; 8192];
    blob[4096..4104].copy_from_slice(b"NDFOOTER");
    assert_eq!(
        Bootstrap::parse(&blob).unwrap_err(),
        Error::Unsupported(Unsupported::NydusV3Blob)
    );
    let blob_dir = fixtures().join("oci/v6-merged/blobs/sha256");
    let biggest = std::fs::read_dir(&blob_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| p.metadata().unwrap().len())
        .unwrap();
    let data_blob = std::fs::read(biggest).unwrap();
    let err = Bootstrap::parse(&data_blob).unwrap_err();
    assert!(err.to_string().contains("data blob"), "{err}");
    // Random garbage.
    assert!(matches!(
        Bootstrap::parse(b"hello").unwrap_err(),
        Error::NotBootstrap { .. }
    ));
}

#[test]
fn regression_corpus_is_refused() {
    let dir = fixtures().join("corrupt");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md" || e == "py") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let err = read_everything(&bytes).expect_err(&path.display().to_string());
        eprintln!("{}: {err}", path.display());
        n += 1;
    }
    assert!(n >= 9, "regression corpus missing in {}", dir.display());
}
