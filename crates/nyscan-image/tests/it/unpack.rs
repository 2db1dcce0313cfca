//! `unpack` (directory and tar) reproduces the source tree of every official image.

use nyscan_image::{ChunkReader, FetchOptions};
use nyscan_rafs::Bootstrap;
use nyscan_source::BlobDir;

use nyscan_testutil::tree::{compare, dir_tree, mtime_comparable, source_tree, tar_tree};

use crate::{images, shared_official, skip};

/// Paths whose mtime the image keeps and the source tar has right.
fn mtime_kept<'a>(boot: &'a Bootstrap<'a>, image: &'a str) -> impl Fn(&[u8]) -> bool + 'a {
    move |path: &[u8]| {
        mtime_comparable(image, path)
            && boot.lookup(path).unwrap().and_then(|i| i.mtime()).is_some()
    }
}

#[test]
fn unpack_to_tar_reproduces_every_image() {
    let Some(dir) = shared_official() else {
        return skip(
            "unpack_to_tar_reproduces_every_image",
            "../shared/fixtures/official (images with blobs) is absent",
        );
    };
    for image in images(&dir) {
        let bytes = std::fs::read(dir.join(&image).join("boot")).unwrap();
        let boot = Bootstrap::parse(&bytes).unwrap();
        let blobs = BlobDir::new(dir.join(&image).join("blobs"));
        let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
        let mut tar = Vec::new();
        let summary = nyscan_image::unpack::unpack_to_tar(&reader, &mut tar).unwrap();
        let ours = tar_tree(tar.as_slice());
        compare(
            &image,
            &source_tree(&dir, &image),
            &ours,
            &mtime_kept(&boot, &image),
        );
        let (requests, bytes_fetched, chunks, _) = reader.stats().snapshot();
        eprintln!(
            "{image}: {} entries, {requests} requests, {bytes_fetched} bytes, {chunks} chunks",
            summary.entries
        );
    }
}

#[test]
fn unpack_to_dir_reproduces_every_image() {
    let Some(dir) = shared_official() else {
        return skip(
            "unpack_to_dir_reproduces_every_image",
            "../shared/fixtures/official (images with blobs) is absent",
        );
    };
    if !nix::unistd::geteuid().is_root() {
        return skip(
            "unpack_to_dir_reproduces_every_image",
            "needs root for owners and device files",
        );
    }
    for image in images(&dir) {
        let bytes = std::fs::read(dir.join(&image).join("boot")).unwrap();
        let boot = Bootstrap::parse(&bytes).unwrap();
        let blobs = BlobDir::new(dir.join(&image).join("blobs"));
        let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
        let dest = tempfile::tempdir().unwrap();
        nyscan_image::unpack::unpack_to_dir(&reader, &dest.path().join("root")).unwrap();
        let ours = dir_tree(&dest.path().join("root"));
        compare(
            &image,
            &source_tree(&dir, &image),
            &ours,
            &mtime_kept(&boot, &image),
        );
        // The sparse file keeps its hole where the image says so (v5 HAS_HOLE), and is
        // never longer than its size.
        if let Ok(m) = std::fs::metadata(dest.path().join("root/sparse")) {
            assert_eq!(m.len(), 4 * 1024 * 1024 + 4);
        }
    }
}
