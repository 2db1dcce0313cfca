//! Planning patches of the official fixture images (bootstrap and blobs on disk, no
//! registry): the new bootstrap, read back through the chunk engine with the fixture's
//! blobs plus the new blob, holds the source tree with the edits; the official tools accept
//! it; content the image already has costs no new chunk.

use std::path::{Path, PathBuf};
use std::process::Command;

use nyscan_image::{ChunkReader, FetchOptions};
use nyscan_patch::{PatchError, parse_ops, plan};
use nyscan_rafs::Bootstrap;
use nyscan_source::BlobDir;
use nyscan_testutil::nydusd::{Nydusd, fuse_mounts_allowed};
use nyscan_testutil::tree::{Node, Tree, compare, source_tree, tar_tree};
use nyscan_testutil::{Skip, shared_dir, skip};

fn official() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("fixtures/official"))
}

/// Deterministic bytes unlike anything in the fixtures.
fn new_content(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(format!("{:016x} patched\n", x % 5000).as_bytes());
    }
    out.truncate(len);
    out
}

fn tokens(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

/// A directory with the image's blobs and the new one, named by id.
fn blob_dir(image: &Path, new: Option<(&str, &Path)>, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(image.join("blobs")).unwrap() {
        let e = e.unwrap();
        std::os::unix::fs::symlink(e.path(), dir.join(e.file_name())).unwrap();
    }
    if let Some((id, path)) = new {
        std::fs::copy(path, dir.join(id)).unwrap();
    }
}

/// The source tree with the edits the test makes.
fn expected_tree(image: &str, official: &Path, replaced: &[u8], added_from: &[u8]) -> Tree {
    let mut tree = source_tree(official, image);
    let replace = tree
        .nodes
        .get_mut(b"/sizes/three-chunks".as_slice())
        .unwrap();
    replace.size = replaced.len() as u64;
    replace.content = Some(blake3::hash(replaced).to_hex().to_string());
    let mut added: Node = tree.nodes[added_from].clone();
    added.perms = 0o640;
    added.uid = 7;
    added.gid = 8;
    added.xattrs.clear();
    tree.nodes.insert(b"/new/dir/copy".to_vec(), added);
    let mut dir = tree.nodes[b"/etc".as_slice()].clone();
    dir.perms = 0o755;
    dir.uid = 0;
    dir.gid = 0;
    dir.xattrs.clear();
    // The merged images have /new already.
    tree.nodes
        .entry(b"/new".to_vec())
        .or_insert_with(|| dir.clone());
    tree.nodes.insert(b"/new/dir".to_vec(), dir);
    tree.nodes.remove(b"/links/hardlink".as_slice());
    tree.nodes
        .retain(|p, _| p != b"/app" && !p.starts_with(b"/app/"));
    tree.hardlinks = tree
        .hardlinks
        .iter()
        .map(|g| {
            g.iter()
                .filter(|p| p.as_slice() != b"/links/hardlink")
                .cloned()
                .collect()
        })
        .filter(|g: &std::collections::BTreeSet<Vec<u8>>| g.len() > 1)
        .collect();
    tree
}

/// Runs `program args`; `None` (skipped with a reason) when it is not installed.
fn run_tool(test: &str, program: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(program).args(args).output() {
        Ok(out) => Some(out),
        Err(e) => {
            skip(test, &Skip(format!("{program} is not runnable: {e}")));
            None
        }
    }
}

#[test]
fn patches_of_every_fixture_read_back_as_edited() {
    const TEST: &str = "patches_of_every_fixture_read_back_as_edited";
    let Some(official) = official() else {
        return skip(TEST, &Skip("../shared/fixtures/official is absent".into()));
    };
    for image in nyscan_testutil::image_names(&official) {
        let image = image.as_str();
        let dir = official.join(image);
        let work = tempfile::tempdir().unwrap();
        let source = std::fs::read(dir.join("boot")).unwrap();
        let boot = Bootstrap::parse(&source).unwrap();
        let blobs = BlobDir::new(dir.join("blobs"));
        let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
        // Content already in the image: the bytes of /sizes/text.
        let text = reader
            .read_file(&boot.lookup(b"/sizes/text").unwrap().unwrap())
            .unwrap();
        let replaced = new_content(2_500_000);
        std::fs::write(work.path().join("replacement"), &replaced).unwrap();
        std::fs::write(work.path().join("copy"), &text).unwrap();
        let ops = parse_ops(
            &tokens(&[
                "--replace",
                "/sizes/three-chunks=replacement",
                "--add",
                "/new/dir/copy=copy",
                "--mode",
                "640",
                "--owner",
                "7:8",
                "--delete",
                "/links/hardlink",
                "--delete",
                "/app",
            ]),
            work.path(),
        )
        .unwrap();
        let plan = plan(&source, &ops, false, work.path()).unwrap();
        let plan = &plan;

        // The report: the replaced file's chunks are new, the copy costs nothing.
        let chunk_size = boot.superblock().chunk_size as u64;
        let by_path = |p: &str| plan.changes.iter().find(|c| c.path == p).unwrap();
        let replace = by_path("/sizes/three-chunks");
        assert_eq!(replace.bytes, replaced.len() as u64);
        assert_eq!(
            u64::from(replace.new_chunks + replace.deduped_chunks),
            (replaced.len() as u64).div_ceil(chunk_size),
            "{image}"
        );
        assert!(replace.new_chunks >= 2, "{image}: multi-chunk content");
        let add = by_path("/new/dir/copy");
        assert_eq!(
            add.new_chunks, 0,
            "{image}: the copy's content is in the image"
        );
        assert!(add.deduped_chunks >= 1);
        assert_eq!(
            by_path("/app").removed,
            5,
            "{image}: /app and the four entries below"
        );
        assert_eq!(by_path("/new/dir").op, "mkdir");
        let blob = plan.new_blob.as_ref().expect("new content needs a blob");
        assert_eq!(blob.info.index as usize, boot.blobs().len());
        assert_eq!(blob.info.chunk_count, replace.new_chunks);
        assert_eq!(
            blob.info.compressed_size,
            std::fs::metadata(&blob.file).unwrap().len()
        );

        // Read back: every file of the new bootstrap through the fixture's blobs and the
        // new one.
        let blobs_dir = work.path().join("blobs");
        blob_dir(&dir, Some((&blob.info.id, &blob.file)), &blobs_dir);
        let new_boot = Bootstrap::parse(&plan.bootstrap).unwrap();
        assert_eq!(new_boot.version(), boot.version());
        assert_eq!(new_boot.blobs().len(), boot.blobs().len() + 1);
        let new_blobs = BlobDir::new(&blobs_dir);
        let new_reader = ChunkReader::new(&new_boot, &new_blobs, FetchOptions::default());
        let mut tar = Vec::new();
        nyscan_image::unpack::unpack_to_tar(&new_reader, &mut tar).unwrap();
        compare(
            image,
            &expected_tree(image, &official, &replaced, b"/sizes/text"),
            &tar_tree(tar.as_slice()),
            &|_| false,
        );

        // The official tools accept it.
        let boot_path = work.path().join("boot");
        std::fs::write(&boot_path, &plan.bootstrap).unwrap();
        let boot_arg = boot_path.to_str().unwrap();
        let check = |boot: &str, blobs: &Path| {
            run_tool(
                TEST,
                "nydus-image",
                &["check", boot, "-D", blobs.to_str().unwrap()],
            )
        };
        match check(dir.join("boot").to_str().unwrap(), &dir.join("blobs")) {
            None => {}
            // nydus-image 2.2 predates batch chunks: it refuses the source image too.
            Some(out) if !out.status.success() => skip(
                TEST,
                &Skip(format!(
                    "{image}: this nydus-image cannot check the source image either: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                )),
            ),
            Some(_) => {
                let out = check(boot_arg, &blobs_dir).unwrap();
                assert!(
                    out.status.success(),
                    "{image}: nydus-image check: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        if boot.version() == nyscan_rafs::FormatVersion::V6 {
            let mut args: Vec<String> = new_boot
                .blobs()
                .iter()
                .map(|b| format!("--device={}", blobs_dir.join(&b.id).display()))
                .collect();
            args.push(boot_arg.to_owned());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if let Some(out) = run_tool(TEST, "fsck.erofs", &args) {
                assert!(
                    out.status.success(),
                    "{image}: fsck.erofs: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

#[test]
fn adding_only_known_content_writes_no_blob() {
    const TEST: &str = "adding_only_known_content_writes_no_blob";
    let Some(official) = official() else {
        return skip(TEST, &Skip("../shared/fixtures/official is absent".into()));
    };
    let dir = official.join("v6-zstd");
    let work = tempfile::tempdir().unwrap();
    let source = std::fs::read(dir.join("boot")).unwrap();
    std::fs::write(work.path().join("hello"), b"hello, nydus\n").unwrap();
    let ops = parse_ops(
        &tokens(&["--add", "/hello-again.txt=hello", "--delete", "/sizes"]),
        work.path(),
    )
    .unwrap();
    let added = plan(&source, &ops, false, work.path()).unwrap();
    assert!(added.new_blob.is_none());
    assert_eq!(added.changes[0].new_chunks, 0);
    assert_eq!(added.changes[0].deduped_chunks, 1);
    let boot = Bootstrap::parse(&added.bootstrap).unwrap();
    assert_eq!(boot.blobs().len(), 1);
    assert!(boot.lookup(b"/sizes").unwrap().is_none());
    let blobs = BlobDir::new(dir.join("blobs"));
    let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
    let inode = boot.lookup(b"/hello-again.txt").unwrap().unwrap();
    assert_eq!(reader.read_file(&inode).unwrap(), b"hello, nydus\n");
    // An empty file needs no chunk at all.
    std::fs::write(work.path().join("empty"), b"").unwrap();
    let ops = parse_ops(&tokens(&["--replace", "/hello.txt=empty"]), work.path()).unwrap();
    let emptied = plan(&source, &ops, false, work.path()).unwrap();
    assert!(emptied.new_blob.is_none());
    let boot = Bootstrap::parse(&emptied.bootstrap).unwrap();
    assert_eq!(boot.lookup(b"/hello.txt").unwrap().unwrap().size(), 0);
}

#[test]
fn every_refused_operation_is_reported_before_anything_is_written() {
    const TEST: &str = "every_refused_operation_is_reported_before_anything_is_written";
    let Some(official) = official() else {
        return skip(TEST, &Skip("../shared/fixtures/official is absent".into()));
    };
    let source = std::fs::read(official.join("v5-lz4/boot")).unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("file"), b"x").unwrap();
    std::fs::create_dir(work.path().join("adir")).unwrap();
    let ops = parse_ops(
        &tokens(&[
            "--replace",
            "/no/such/file=file",
            "--replace",
            "/etc=file",
            "--add",
            "/hello.txt=file",
            "--add",
            "/hello.txt/below=file",
            "--replace",
            "/links/absolute=file",
            "--delete",
            "/missing",
            "--add",
            "/ok=missing-local",
            "--add",
            "/ok2=adir",
            "--replace",
            "/hello.txt=file",
        ]),
        work.path(),
    )
    .unwrap();
    let before: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    let err = plan(&source, &ops, false, work.path()).unwrap_err();
    let PatchError::Refused(errors) = &err else {
        panic!("{err}");
    };
    let text = err.to_string();
    assert_eq!(errors.0.len(), 8, "{text}");
    for needle in [
        "operation 1: --replace /no/such/file: ",
        "operation 2: --replace /etc: is a directory in the image; replacing a directory with a file needs --force",
        "operation 3: --add /hello.txt: exists in the image (use --replace, or --force)",
        "operation 4: --add /hello.txt/below:",
        "operation 5: --replace /links/absolute: is a symlink",
        "operation 6: --delete /missing: no such path in the image",
        "operation 7: local file",
        "operation 8: local file",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    // Nothing was written, not even a temporary blob.
    let after: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    assert_eq!(before.len(), after.len());

    // --force replaces a directory by a file and a symlink by a file.
    let ops = parse_ops(
        &tokens(&[
            "--replace",
            "/etc=file",
            "--replace",
            "/links/absolute=file",
        ]),
        work.path(),
    )
    .unwrap();
    let forced = plan(&source, &ops, true, work.path()).unwrap();
    let boot = Bootstrap::parse(&forced.bootstrap).unwrap();
    for p in [b"/etc".as_slice(), b"/links/absolute"] {
        let inode = boot.lookup(p).unwrap().unwrap();
        assert_eq!(inode.kind(), nyscan_rafs::FileKind::Regular);
        assert_eq!(inode.size(), 1);
    }
    assert!(boot.lookup(b"/etc/os-release").unwrap().is_none());
}

#[test]
fn nydusd_serves_the_new_blob() {
    const TEST: &str = "nydusd_serves_the_new_blob";
    let Some(official) = official() else {
        return skip(TEST, &Skip("../shared/fixtures/official is absent".into()));
    };
    if Command::new("nydusd").arg("--version").output().is_err() {
        return skip(TEST, &Skip("nydusd is not installed".into()));
    }
    if let Err(reason) = fuse_mounts_allowed() {
        return skip(TEST, &reason);
    }
    for image in [
        "v6-zstd",
        "v6-lz4-64k",
        "v6-merged",
        "v5-lz4",
        "v5-zstd-sha256",
    ] {
        let dir = official.join(image);
        let work = tempfile::tempdir().unwrap();
        let source = std::fs::read(dir.join("boot")).unwrap();
        let replaced = new_content(3_000_000);
        let small = b"a small new file\n".to_vec();
        std::fs::write(work.path().join("replacement"), &replaced).unwrap();
        std::fs::write(work.path().join("small"), &small).unwrap();
        let ops = parse_ops(
            &tokens(&[
                "--replace",
                "/sizes/three-chunks=replacement",
                "--add",
                "/added/small=small",
            ]),
            work.path(),
        )
        .unwrap();
        let plan = plan(&source, &ops, false, work.path()).unwrap();
        let blob = plan.new_blob.as_ref().unwrap();
        let blobs_dir = work.path().join("blobs");
        blob_dir(&dir, Some((&blob.info.id, &blob.file)), &blobs_dir);
        let boot_path = work.path().join("boot");
        std::fs::write(&boot_path, &plan.bootstrap).unwrap();
        let v5 = image.starts_with("v5");
        let mount =
            match Nydusd::mount(Path::new("nydusd"), work.path(), &boot_path, &blobs_dir, v5) {
                Ok(m) => m,
                Err(e) => panic!("{image}: {e}"),
            };
        let read = |p: &str| std::fs::read(mount.point().join(p));
        assert!(
            read("sizes/three-chunks").unwrap() == replaced,
            "{image}: nydusd serves other bytes"
        );
        assert_eq!(read("added/small").unwrap(), small, "{image}");
        // Untouched content still comes from the source's blob.
        assert_eq!(
            read("hello.txt").unwrap().len(),
            if image.ends_with("merged") { 34 } else { 13 }
        );
    }
}
