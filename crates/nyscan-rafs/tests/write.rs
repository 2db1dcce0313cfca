//! The bootstrap writer against the images of the official builder: every image read, turned
//! into a tree and written again reads back the same (entries, attributes, xattrs, hardlinks,
//! chunk records, blobs, prefetch), holds its source tree, and passes the official checkers
//! (`nydus-image check`, and `fsck.erofs` with the blobs as devices for v6); edits (a file
//! replaced by chunks of a new blob, a hardlink and a directory deleted, files added) give
//! the expected tree and pass the same checkers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use nyscan_rafs::write::{Node, NodeData, Tree, WriteError, write_bootstrap};
use nyscan_rafs::{
    BlobFeatures, BlobInfo, BlobMeta, Bootstrap, Chunk, ChunkFlags, FileKind, FormatVersion,
    Timestamp,
};
use nyscan_testutil::nydusd::{Nydusd, fuse_mounts_allowed};
use nyscan_testutil::tree::{self as tt, compare, mtime_comparable, source_tree};
use nyscan_testutil::{Skip, skip};

fn official() -> PathBuf {
    nyscan_testutil::fixtures().join("official")
}

fn images() -> Vec<String> {
    let names = nyscan_testutil::image_names(&official());
    assert!(names.len() >= 10, "official fixtures missing: {names:?}");
    names
}

fn boot_bytes(name: &str) -> Vec<u8> {
    std::fs::read(official().join(name).join("boot")).expect("boot readable")
}

fn rewrite(bytes: &[u8]) -> Vec<u8> {
    let boot = Bootstrap::parse(bytes).expect("source parses");
    let tree = Tree::from_bootstrap(&boot).expect("tree from bootstrap");
    write_bootstrap(&tree).expect("write")
}

/// Everything the reader says about one entry.
#[derive(Debug, PartialEq)]
struct Seen {
    kind: FileKind,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    nlink: u32,
    rdev: u32,
    mtime: Option<Timestamp>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    target: Vec<u8>,
    chunks: Vec<Chunk>,
}

/// What a bootstrap holds, by path, with its hardlink groups and prefetch paths.
#[derive(Debug, PartialEq)]
struct Snapshot {
    entries: BTreeMap<Vec<u8>, Seen>,
    hardlinks: BTreeSet<BTreeSet<Vec<u8>>>,
    prefetch: Vec<Vec<Vec<u8>>>,
}

fn snapshot(boot: &Bootstrap<'_>) -> Snapshot {
    let mut entries = BTreeMap::new();
    for entry in boot.walk() {
        let entry = entry.expect("walk");
        let i = entry.inode;
        let seen = Seen {
            kind: i.kind(),
            mode: i.mode(),
            uid: i.uid(),
            gid: i.gid(),
            size: i.size(),
            nlink: i.nlink(),
            rdev: if matches!(i.kind(), FileKind::CharDevice | FileKind::BlockDevice) {
                i.rdev()
            } else {
                0
            },
            mtime: i.mtime(),
            xattrs: i
                .xattrs()
                .map(|x| x.map(|x| (x.name(), x.value().to_vec())))
                .collect::<Result<_, _>>()
                .expect("xattrs"),
            target: i.symlink_target().expect("target").to_vec(),
            chunks: i.chunks().collect::<Result<_, _>>().expect("chunks"),
        };
        entries.insert(entry.path, seen);
    }
    let hardlinks = boot
        .hardlink_groups()
        .expect("hardlinks")
        .into_iter()
        .map(|(_, paths)| paths.into_iter().collect())
        .collect();
    let prefetch = boot
        .prefetch()
        .expect("prefetch")
        .into_iter()
        .map(|ino| boot.paths(ino).expect("paths"))
        .collect();
    Snapshot {
        entries,
        hardlinks,
        prefetch,
    }
}

fn kind_char(kind: FileKind) -> char {
    match kind {
        FileKind::Directory => 'd',
        FileKind::Symlink => 'l',
        FileKind::CharDevice => 'c',
        FileKind::BlockDevice => 'b',
        FileKind::Fifo => 'p',
        FileKind::Socket => 's',
        FileKind::Regular => '-',
    }
}

/// The tree a bootstrap holds, in the shape the source-tree comparison uses.
fn image_tree(boot: &Bootstrap<'_>) -> tt::Tree {
    let mut nodes = BTreeMap::new();
    let mut by_ino: BTreeMap<u64, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for entry in boot.walk() {
        let entry = entry.expect("walk");
        let i = entry.inode;
        if i.kind() == FileKind::Regular {
            by_ino
                .entry(i.ino().0)
                .or_default()
                .insert(entry.path.clone());
        }
        let rdev = i.rdev();
        nodes.insert(
            entry.path,
            tt::Node {
                kind: kind_char(i.kind()),
                perms: i.mode() & 0o7777,
                uid: u64::from(i.uid()),
                gid: u64::from(i.gid()),
                size: if i.kind() == FileKind::Regular {
                    i.size()
                } else {
                    0
                },
                content: None,
                link: i.symlink_target().expect("symlink").to_vec(),
                xattrs: i
                    .xattrs()
                    .map(|x| x.map(|x| (x.name(), x.value().to_vec())))
                    .collect::<Result<_, _>>()
                    .expect("xattrs"),
                dev: matches!(i.kind(), FileKind::CharDevice | FileKind::BlockDevice).then(|| {
                    (
                        (rdev & 0xfff00) >> 8,
                        (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
                    )
                }),
                mtime: i.mtime().map_or(0, |t| t.secs),
            },
        );
    }
    tt::Tree {
        nodes,
        hardlinks: by_ino.into_values().filter(|g| g.len() > 1).collect(),
    }
}

/// The source tree of an image without contents (a bootstrap has none).
fn source_metadata(name: &str) -> tt::Tree {
    let mut tree = source_tree(&official(), name);
    for node in tree.nodes.values_mut() {
        node.content = None;
    }
    tree
}

fn mtime_kept<'a>(boot: &'a Bootstrap<'a>, image: &'a str) -> impl Fn(&[u8]) -> bool + 'a {
    move |path: &[u8]| {
        mtime_comparable(image, path)
            && boot.lookup(path).unwrap().and_then(|i| i.mtime()).is_some()
    }
}

#[test]
fn rewriting_every_official_image_reads_back_the_same() {
    for name in images() {
        let original = boot_bytes(&name);
        let new = rewrite(&original);
        let (a, b) = (
            Bootstrap::parse(&original).unwrap(),
            Bootstrap::parse(&new).unwrap_or_else(|e| panic!("{name}: rewritten: {e}")),
        );
        b.check()
            .unwrap_or_else(|e| panic!("{name}: rewritten: {e}"));
        let (sa, sb) = (a.superblock(), b.superblock());
        assert_eq!(sa.version, sb.version, "{name}");
        assert_eq!(sa.flags, sb.flags, "{name}: flags");
        assert_eq!(
            (
                sa.compressor,
                sa.digester,
                sa.chunk_size,
                sa.explicit_uid_gid
            ),
            (
                sb.compressor,
                sb.digester,
                sb.chunk_size,
                sb.explicit_uid_gid
            ),
            "{name}"
        );
        assert_eq!(sa.inodes_count, sb.inodes_count, "{name}: inode count");
        assert_eq!(sa.build_time, sb.build_time, "{name}: build time");
        assert_eq!(a.blobs(), b.blobs(), "{name}: blob table");
        let (x, y) = (snapshot(&a), snapshot(&b));
        assert_eq!(x.entries.len(), y.entries.len(), "{name}: entry count");
        for (path, seen) in &x.entries {
            assert_eq!(
                Some(seen),
                y.entries.get(path),
                "{name}: {}",
                String::from_utf8_lossy(path)
            );
        }
        assert_eq!(x.hardlinks, y.hardlinks, "{name}: hardlink groups");
        assert_eq!(x.prefetch, y.prefetch, "{name}: prefetch");
        if sa.version == FormatVersion::V6 {
            // The v6 chunk table holds every record the files name.
            let table: BTreeSet<_> = b.chunk_table().map(|c| (c.blob_index, c.index)).collect();
            let named: BTreeSet<_> = y
                .entries
                .values()
                .flat_map(|s| s.chunks.iter().map(|c| (c.blob_index, c.index)))
                .collect();
            assert_eq!(table, named, "{name}: chunk table");
        }
        // The rewrite holds the source tree, as the original does.
        compare(
            &name,
            &source_metadata(&name),
            &image_tree(&b),
            &mtime_kept(&b, &name),
        );
        // Writing is a fixpoint: the rewrite of the rewrite is the same bytes.
        assert_eq!(rewrite(&new), new, "{name}: second rewrite differs");
        eprintln!(
            "{name}: {} entries rewritten, {} -> {} bytes",
            x.entries.len(),
            original.len(),
            new.len()
        );
    }
}

#[test]
fn v5_images_built_from_a_directory_are_rewritten_byte_for_byte() {
    // Same layout, inode numbering and inode digests as the official builder. (The merged
    // images come from tars, whose builder records rdev -1 and HARDLINK flags we do not
    // keep.)
    for name in ["v5-lz4", "v5-zstd-sha256", "v5-prefetch"] {
        let original = boot_bytes(name);
        let new = rewrite(&original);
        assert_eq!(new.len(), original.len(), "{name}: length");
        if let Some(at) = new.iter().zip(&original).position(|(a, b)| a != b) {
            panic!("{name}: first difference at {at:#x}");
        }
    }
}

// ---- the official checkers ----

fn tool(name: &str) -> Result<PathBuf, Skip> {
    for dir in ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/sbin"] {
        let path = Path::new(dir).join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(Skip(format!("{name} is not installed")))
}

fn shared_official() -> Result<PathBuf, Skip> {
    nyscan_testutil::shared_dir()
        .map(|d| d.join("fixtures/official"))
        .filter(|d| d.is_dir())
        .ok_or_else(|| Skip("../shared/fixtures/official (images with blobs) is absent".into()))
}

/// Runs `nydus-image check --bootstrap PATH`; its stdout on success.
fn nydus_check(nydus_image: &Path, boot: &Path) -> Result<String, String> {
    let out = Command::new(nydus_image)
        .arg("check")
        .arg("--bootstrap")
        .arg(boot)
        .arg("-v")
        .output()
        .expect("nydus-image runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() && stdout.contains("RAFS filesystem metadata is valid") {
        Ok(stdout)
    } else {
        Err(format!(
            "{}\n{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `fsck.erofs --device=BLOB... BOOT` (one device per blob, in blob-table order).
fn fsck_erofs(fsck: &Path, boot: &Path, devices: &[PathBuf]) -> Result<(), String> {
    let mut cmd = Command::new(fsck);
    for d in devices {
        cmd.arg(format!("--device={}", d.display()));
    }
    let out = cmd.arg(boot).output().expect("fsck.erofs runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn blob_devices(dir: &Path, boot: &Bootstrap<'_>) -> Vec<PathBuf> {
    boot.blobs()
        .iter()
        .map(|b| dir.join("blobs").join(&b.id))
        .collect()
}

#[test]
fn nydus_image_check_accepts_every_rewrite() {
    let nydus_image = match tool("nydus-image") {
        Ok(t) => t,
        Err(s) => return skip("nydus_image_check_accepts_every_rewrite", &s),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for name in images() {
        let path = dir.path().join(format!("{name}.boot"));
        std::fs::write(&path, rewrite(&boot_bytes(&name))).unwrap();
        if let Err(refusal) = nydus_check(&nydus_image, &official().join(&name).join("boot")) {
            // This nydus-image refuses the original too (older builds do not know batch
            // chunks): the rewrite must be refused for the same reason.
            let reason = refusal
                .lines()
                .find(|l| l.contains("invalid"))
                .unwrap_or_else(|| panic!("{name}: refusal without a reason: {refusal}"))
                .trim()
                .to_owned();
            let ours = nydus_check(&nydus_image, &path).unwrap_err();
            assert!(ours.contains(&reason), "{name}: {ours}");
            eprintln!("{name}: this nydus-image refuses the original and the rewrite: {reason}");
            continue;
        }
        checked += 1;
        let out = nydus_check(&nydus_image, &path)
            .unwrap_or_else(|e| panic!("{name}: nydus-image check refused the rewrite: {e}"));
        // It walked every entry: one `inode:` line per entry.
        let walked = out.lines().filter(|l| l.starts_with("inode: ")).count();
        let bytes = std::fs::read(&path).unwrap();
        let entries = Bootstrap::parse(&bytes).unwrap().walk().count();
        assert_eq!(walked, entries, "{name}: entries nydus-image walked");
    }
    assert!(
        checked >= 9,
        "only {checked} originals pass this nydus-image check"
    );
}

#[test]
fn fsck_erofs_accepts_every_v6_rewrite() {
    let fsck = match tool("fsck.erofs") {
        Ok(t) => t,
        Err(s) => return skip("fsck_erofs_accepts_every_v6_rewrite", &s),
    };
    let shared = match shared_official() {
        Ok(d) => d,
        Err(s) => return skip("fsck_erofs_accepts_every_v6_rewrite", &s),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for name in images().into_iter().filter(|n| n.starts_with("v6")) {
        let new = rewrite(&boot_bytes(&name));
        let path = dir.path().join(format!("{name}.boot"));
        std::fs::write(&path, &new).unwrap();
        let boot = Bootstrap::parse(&new).unwrap();
        fsck_erofs(&fsck, &path, &blob_devices(&shared.join(&name), &boot))
            .unwrap_or_else(|e| panic!("{name}: fsck.erofs refused the rewrite: {e}"));
        // It does look: without the devices it refuses.
        assert!(fsck_erofs(&fsck, &path, &[]).is_err(), "{name}");
        checked += 1;
    }
    assert!(checked >= 6);
}

// ---- edits ----

/// The new blob of the edit tests: three chunks of `chunk_size`, `chunk_size`, 100 bytes.
fn new_blob(boot: &Bootstrap<'_>) -> (BlobInfo, Vec<Chunk>, u64) {
    let sb = boot.superblock();
    let template = &boot.blobs()[0];
    let cs = sb.chunk_size;
    let sizes = [cs, cs, 100];
    let mut chunks = Vec::new();
    let mut compressed_offset = 0u64;
    for (i, &usize) in sizes.iter().enumerate() {
        let csize = usize / 2 + 1;
        chunks.push(Chunk {
            digest: [i as u8 + 0xa0; 32],
            blob_index: 0, // set once the blob is added
            index: i as u32,
            flags: ChunkFlags(ChunkFlags::COMPRESSED.bits() | ChunkFlags::HAS_CRC32.bits()),
            compressed_offset,
            compressed_size: csize,
            uncompressed_offset: i as u64 * u64::from(cs),
            uncompressed_size: usize,
            file_offset: i as u64 * u64::from(cs),
            crc32: Some(0x1234_5678 + i as u32),
        });
        compressed_offset += u64::from(csize);
    }
    let uncompressed = 2 * u64::from(cs) + 4096;
    let v6 = sb.version == FormatVersion::V6;
    let blob = BlobInfo {
        index: 0,
        id: "5e".repeat(32),
        chunk_count: 3,
        chunk_size: cs,
        compressed_size: compressed_offset + 4096,
        uncompressed_size: uncompressed,
        features: if v6 {
            BlobFeatures(BlobFeatures::ALIGNED.bits() | BlobFeatures::CAP_TAR_TOC.bits())
        } else {
            template.features
        },
        compressor: sb.compressor,
        digester: sb.digester,
        readahead: (0, 0),
        meta: v6.then_some(BlobMeta {
            ci_compressor: 0,
            ci_offset: compressed_offset,
            ci_compressed_size: 48,
            ci_uncompressed_size: 48,
            toc_digest: [0; 32],
            toc_size: 0,
            meta_digest: [0; 32],
            meta_size: 0,
        }),
        mapped_blkaddr: None,
    };
    (blob, chunks, 2 * u64::from(cs) + 100)
}

fn remove_below(tree: &mut tt::Tree, path: &[u8]) {
    tree.nodes
        .retain(|p, _| !(p == path || (p.starts_with(path) && p.get(path.len()) == Some(&b'/'))));
}

#[test]
fn edits_give_the_expected_tree_and_pass_the_checkers() {
    let nydus_image = tool("nydus-image");
    let fsck = tool("fsck.erofs");
    let shared = shared_official();
    let dir = tempfile::tempdir().unwrap();
    for name in ["v5-lz4", "v6-zstd", "v5-merged", "v6-merged"] {
        let original = boot_bytes(name);
        let boot = Bootstrap::parse(&original).unwrap();
        let v6 = boot.version() == FormatVersion::V6;
        let mut tree = Tree::from_bootstrap(&boot).unwrap();
        let mut expected = source_metadata(name);

        // Replace a multi-chunk file by three chunks of a new blob.
        let (blob, mut chunks, size) = new_blob(&boot);
        let blob_index = tree.add_blob(blob.clone()).unwrap();
        assert_eq!(blob_index as usize, boot.blobs().len());
        for c in &mut chunks {
            c.blob_index = blob_index;
        }
        let one = tree
            .replace_file_content(b"/dedup/one", size, chunks.clone())
            .unwrap();
        assert_eq!(tree.node(one).unwrap().size(), size);
        expected
            .nodes
            .get_mut(b"/dedup/one".as_slice())
            .unwrap()
            .size = size;

        // Delete one link of the three-link group, and a 30-level directory.
        assert_eq!(tree.remove(b"/links/hardlink").unwrap(), 1);
        remove_below(&mut expected, b"/links/hardlink");
        expected.hardlinks = expected
            .hardlinks
            .into_iter()
            .map(|g| g.into_iter().filter(|p| p != b"/links/hardlink").collect())
            .collect();
        let removed = tree.remove(b"/deep").unwrap();
        let before = expected.nodes.len();
        remove_below(&mut expected, b"/deep");
        assert_eq!(removed, before - expected.nodes.len());

        // Add a file whose content the image already has (the chunks of /hello.txt), in a
        // new directory, with xattrs and an mtime; and a symlink.
        let hello = tree.lookup(b"/hello.txt").unwrap().unwrap();
        let hello = tree.node(hello).unwrap().clone();
        let mtime = Timestamp {
            secs: 1_700_000_000,
            nsecs: 5,
        };
        let mut dir_node = Node::directory(0o750, 1000, 1000);
        dir_node.mtime = Some(mtime);
        tree.insert(b"/added", dir_node).unwrap();
        let mut file = Node::regular(hello.size(), hello.chunks().to_vec(), 0o640, 1000, 1001);
        file.mtime = Some(mtime);
        file.xattrs = vec![(b"user.origin".to_vec(), b"nyscan".to_vec())];
        tree.insert(b"/added/copy.txt", file).unwrap();
        let mut link = Node::symlink(b"copy.txt".to_vec(), 0, 0);
        link.mtime = Some(mtime);
        tree.insert(b"added/link", link).unwrap();
        let node = |kind, perms, uid, gid, size, link: &[u8]| tt::Node {
            kind,
            perms,
            uid,
            gid,
            size,
            content: None,
            link: link.to_vec(),
            xattrs: BTreeMap::new(),
            dev: None,
            mtime: mtime.secs,
        };
        expected
            .nodes
            .insert(b"/added".to_vec(), node('d', 0o750, 1000, 1000, 0, b""));
        let mut copy = node('-', 0o640, 1000, 1001, hello.size(), b"");
        copy.xattrs
            .insert(b"user.origin".to_vec(), b"nyscan".to_vec());
        expected.nodes.insert(b"/added/copy.txt".to_vec(), copy);
        expected.nodes.insert(
            b"/added/link".to_vec(),
            node('l', 0o777, 0, 0, 0, b"copy.txt"),
        );

        let new = write_bootstrap(&tree).unwrap_or_else(|e| panic!("{name}: {e}"));
        let b = Bootstrap::parse(&new).unwrap_or_else(|e| panic!("{name}: {e}"));
        b.check().unwrap();
        let is_new = |p: &[u8]| p.starts_with(b"/added");
        compare(name, &expected, &image_tree(&b), &|p: &[u8]| {
            is_new(p) || mtime_kept(&b, name)(p)
        });
        let got: Vec<Chunk> = b
            .lookup(b"/dedup/one")
            .unwrap()
            .unwrap()
            .chunks()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, chunks, "{name}: replaced chunks");
        assert_eq!(b.blobs().len(), boot.blobs().len() + 1);
        let added = b.blobs().last().unwrap();
        assert_eq!(
            (added.id.as_str(), added.chunk_count),
            (blob.id.as_str(), 3)
        );
        let target = b.lookup(b"/links/target.txt").unwrap().unwrap();
        assert_eq!(target.nlink(), 2, "{name}: nlink after deleting a link");
        let root = b.root().unwrap();
        let subdirs = root
            .children()
            .filter(|e| e.as_ref().unwrap().kind() == FileKind::Directory)
            .count() as u32;
        assert_eq!(root.nlink(), 2 + subdirs, "{name}: root nlink");
        let copy = b.lookup(b"/added/copy.txt").unwrap().unwrap();
        assert_eq!(
            copy.chunks().collect::<Result<Vec<_>, _>>().unwrap(),
            hello.chunks(),
            "{name}: added file shares the existing chunks"
        );

        let path = dir.path().join(format!("{name}.edited.boot"));
        std::fs::write(&path, &new).unwrap();
        match &nydus_image {
            Ok(t) => {
                nydus_check(t, &path)
                    .unwrap_or_else(|e| panic!("{name}: nydus-image check refused: {e}"));
            }
            Err(s) => skip("edits: nydus-image check", s),
        }
        if v6 {
            match (&fsck, &shared) {
                (Ok(fsck), Ok(shared)) => {
                    // The new blob's data is the data-blob writer's business: fsck.erofs gets
                    // a stand-in device of the blob's uncompressed size.
                    let stand_in = dir.path().join(&blob.id);
                    std::fs::File::create(&stand_in)
                        .unwrap()
                        .set_len(blob.uncompressed_size)
                        .unwrap();
                    let mut devices = blob_devices(&shared.join(name), &boot);
                    devices.push(stand_in);
                    fsck_erofs(fsck, &path, &devices)
                        .unwrap_or_else(|e| panic!("{name}: fsck.erofs refused: {e}"));
                }
                (Err(s), _) | (_, Err(s)) => skip("edits: fsck.erofs", s),
            }
        }
    }
}

#[test]
fn edits_refuse_bad_paths_and_inconsistent_trees() {
    let bytes = boot_bytes("v6-zstd");
    let boot = Bootstrap::parse(&bytes).unwrap();
    let mut tree = Tree::from_bootstrap(&boot).unwrap();
    let file = || Node::regular(0, Vec::new(), 0o644, 0, 0);

    for bad in [&b"../etc/passwd"[..], b"/etc/../../x", b"/a/.."] {
        assert!(matches!(
            tree.lookup(bad),
            Err(WriteError::EscapesRoot { .. })
        ));
        assert!(matches!(
            tree.remove(bad),
            Err(WriteError::EscapesRoot { .. })
        ));
        assert!(matches!(
            tree.insert(bad, file()),
            Err(WriteError::EscapesRoot { .. })
        ));
    }
    assert!(matches!(
        tree.insert(b"/", file()),
        Err(WriteError::InvalidPath { .. })
    ));
    assert!(matches!(
        tree.insert(b"/a\0b", file()),
        Err(WriteError::InvalidPath { .. })
    ));
    assert!(matches!(
        tree.insert(b"/deep", file()),
        Err(WriteError::IsADirectory { .. })
    ));
    assert!(matches!(
        tree.insert(b"/no/such/dir/file", file()),
        Err(WriteError::NotFound { .. })
    ));
    assert!(matches!(
        tree.insert(b"/hello.txt/below", file()),
        Err(WriteError::NotADirectory { .. })
    ));
    assert!(matches!(
        tree.remove(b"/no-such-file"),
        Err(WriteError::NotFound { .. })
    ));
    assert!(matches!(
        tree.replace_file_content(b"/deep", 0, Vec::new()),
        Err(WriteError::IsADirectory { .. })
    ));
    assert!(matches!(
        tree.replace_file_content(b"/links/absolute", 0, Vec::new()),
        Err(WriteError::InvalidNode { .. })
    ));
    let existing = boot.blobs()[0].clone();
    assert!(matches!(
        tree.add_blob(existing),
        Err(WriteError::InvalidBlob { .. })
    ));
    let target = tree.lookup(b"/hello.txt").unwrap().unwrap();
    let deep = tree.lookup(b"/deep").unwrap().unwrap();
    assert!(matches!(
        tree.link(b"/deep2", deep),
        Err(WriteError::IsADirectory { .. })
    ));
    assert!(matches!(
        tree.link(b"/byte", target),
        Err(WriteError::InvalidPath { .. })
    ));

    // A chunk naming a blob the table lacks.
    let mut bad = tree.clone();
    let mut chunk = boot
        .lookup(b"/hello.txt")
        .unwrap()
        .unwrap()
        .chunks()
        .next()
        .unwrap()
        .unwrap();
    chunk.blob_index = 7;
    bad.replace_file_content(b"/hello.txt", 13, vec![chunk])
        .unwrap();
    assert!(matches!(
        write_bootstrap(&bad),
        Err(WriteError::NoSuchBlob { blob_index: 7, .. })
    ));
    // Chunks that do not tile the file.
    let mut bad = tree.clone();
    bad.replace_file_content(b"/hello.txt", 5 << 20, Vec::new())
        .unwrap();
    let err = write_bootstrap(&bad).unwrap_err();
    assert!(
        matches!(&err, WriteError::InvalidNode { path, .. } if path == "/hello.txt"),
        "{err}"
    );
    // A v6 blob id that is not 64 hex characters.
    let mut bad = tree.clone();
    let mut blob = boot.blobs()[0].clone();
    blob.id = "not-a-digest".into();
    bad.add_blob(blob).unwrap();
    assert!(matches!(
        write_bootstrap(&bad),
        Err(WriteError::InvalidBlob { index: 1, .. })
    ));
    // A mode whose file type disagrees with the data.
    let mut bad = tree.clone();
    let id = bad.lookup(b"/hello.txt").unwrap().unwrap();
    bad.node_mut(id).unwrap().mode = 0o040755;
    assert!(matches!(
        write_bootstrap(&bad),
        Err(WriteError::InvalidNode { .. })
    ));
    // A hardlinked directory (made by editing entries directly) is refused, not looped on.
    let mut bad = tree.clone();
    let root = bad.root();
    if let NodeData::Directory { entries } = &mut bad.node_mut(deep).unwrap().data {
        entries.insert(b"loop".to_vec(), root);
    }
    assert!(matches!(
        write_bootstrap(&bad),
        Err(WriteError::InvalidNode { .. })
    ));

    // Nothing above changed the tree itself.
    let again = write_bootstrap(&tree).unwrap();
    assert_eq!(again, rewrite(&bytes));
}

#[test]
fn a_new_tree_from_scratch_is_readable() {
    for version in [FormatVersion::V5, FormatVersion::V6] {
        let mut tree = Tree::new(nyscan_rafs::write::Settings::new(version));
        tree.insert(b"/etc", Node::directory(0o755, 0, 0)).unwrap();
        let id = tree
            .insert(b"/etc/empty", Node::regular(0, Vec::new(), 0o600, 0, 0))
            .unwrap();
        tree.link(b"/etc/empty2", id).unwrap();
        tree.insert(
            b"/dev-null",
            Node::new(NodeData::CharDevice { rdev: 0x103 }, 0o666, 0, 0, None),
        )
        .unwrap();
        tree.insert(b"/fifo", Node::new(NodeData::Fifo, 0o644, 0, 0, None))
            .unwrap();
        tree.prefetch.push(b"/etc".to_vec());
        let bytes = write_bootstrap(&tree).unwrap();
        let boot = Bootstrap::parse(&bytes).unwrap();
        let summary = boot.check().unwrap();
        assert_eq!(summary.entries, 6, "{version}");
        assert_eq!(summary.hardlink_groups, 1);
        assert_eq!(boot.lookup(b"/etc/empty2").unwrap().unwrap().nlink(), 2);
        assert_eq!(boot.lookup(b"/dev-null").unwrap().unwrap().rdev(), 0x103);
        let etc = boot.lookup(b"/etc").unwrap().unwrap().ino();
        assert_eq!(boot.prefetch().unwrap(), vec![etc]);
        assert!(boot.blobs().is_empty());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scratch.boot");
        std::fs::write(&path, &bytes).unwrap();
        match tool("nydus-image") {
            Ok(t) => {
                nydus_check(&t, &path).unwrap_or_else(|e| panic!("{version}: {e}"));
            }
            Err(s) => skip("a_new_tree_from_scratch_is_readable", &s),
        }
        if version == FormatVersion::V6 {
            match tool("fsck.erofs") {
                Ok(t) => fsck_erofs(&t, &path, &[]).unwrap_or_else(|e| panic!("{e}")),
                Err(s) => skip("a_new_tree_from_scratch_is_readable", &s),
            }
        }
    }
}

#[test]
fn create_dir_all_and_chunks_by_digest() {
    let bytes = boot_bytes("v5-lz4");
    let boot = Bootstrap::parse(&bytes).unwrap();
    let mut tree = Tree::from_bootstrap(&boot).unwrap();
    let known = tree.chunks_by_digest();
    let hello = boot.lookup(b"/hello.txt").unwrap().unwrap();
    let chunk = hello.chunks().next().unwrap().unwrap();
    assert_eq!(known.get(&chunk.digest), Some(&chunk));
    let all: BTreeSet<[u8; 32]> = boot
        .walk()
        .flat_map(|e| {
            e.unwrap()
                .inode
                .chunks()
                .map(|c| c.unwrap().digest)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(known.len(), all.len());

    let app = tree.lookup(b"/app").unwrap().unwrap();
    let id = tree
        .create_dir_all(b"/app/x/y/z", 0o700, 5, 6, None)
        .unwrap();
    assert_eq!(tree.lookup(b"/app/x/y/z").unwrap(), Some(id));
    assert_eq!(
        tree.create_dir_all(b"/app", 0o700, 5, 6, None).unwrap(),
        app
    );
    assert!(matches!(
        tree.create_dir_all(b"/hello.txt/x", 0o700, 0, 0, None),
        Err(WriteError::NotADirectory { .. })
    ));
    let new = write_bootstrap(&tree).unwrap();
    let b = Bootstrap::parse(&new).unwrap();
    let z = b.lookup(b"/app/x/y/z").unwrap().unwrap();
    assert_eq!((z.mode(), z.uid(), z.gid()), (0o040700, 5, 6));
    assert_eq!(b.lookup(b"/app").unwrap().unwrap().nlink(), 4);
}

// ---- nydusd ----

#[test]
fn nydusd_serves_edited_images_with_validated_digests() {
    const TEST: &str = "nydusd_serves_edited_images_with_validated_digests";
    let nydusd = match tool("nydusd") {
        Ok(t) => t,
        Err(s) => return skip(TEST, &s),
    };
    let shared = match shared_official() {
        Ok(d) => d,
        Err(s) => return skip(TEST, &s),
    };
    if let Err(reason) = fuse_mounts_allowed() {
        return skip(TEST, &reason);
    }
    for name in ["v5-lz4", "v6-zstd", "v5-merged", "v6-merged"] {
        let bytes = boot_bytes(name);
        let boot = Bootstrap::parse(&bytes).unwrap();
        let mut tree = Tree::from_bootstrap(&boot).unwrap();
        let mut expected = source_tree(&official(), name);

        // Replace a file by content the image has (the chunks of /sparse), delete a link
        // and a directory, add a directory, a file sharing /hello.txt's chunks, a symlink.
        let sparse = tree.lookup(b"/sparse").unwrap().unwrap();
        let sparse = tree.node(sparse).unwrap().clone();
        tree.replace_file_content(b"/dedup/one", sparse.size(), sparse.chunks().to_vec())
            .unwrap();
        let src_sparse = expected.nodes[b"/sparse".as_slice()].clone();
        let one = expected.nodes.get_mut(b"/dedup/one".as_slice()).unwrap();
        (one.size, one.content) = (src_sparse.size, src_sparse.content.clone());
        tree.remove(b"/links/hardlink").unwrap();
        remove_below(&mut expected, b"/links/hardlink");
        expected.hardlinks = expected
            .hardlinks
            .into_iter()
            .map(|g| g.into_iter().filter(|p| p != b"/links/hardlink").collect())
            .collect();
        tree.remove(b"/deep").unwrap();
        remove_below(&mut expected, b"/deep");
        let mtime = Timestamp {
            secs: 1_700_000_000,
            nsecs: 0,
        };
        let mut d = Node::directory(0o755, 0, 0);
        d.mtime = Some(mtime);
        tree.insert(b"/added", d).unwrap();
        let hello = tree.lookup(b"/hello.txt").unwrap().unwrap();
        let hello = tree.node(hello).unwrap().clone();
        let mut f = Node::regular(hello.size(), hello.chunks().to_vec(), 0o600, 7, 8);
        f.mtime = Some(mtime);
        f.xattrs = vec![(b"user.origin".to_vec(), b"nyscan".to_vec())];
        tree.insert(b"/added/copy.txt", f).unwrap();
        let mut l = Node::symlink(b"copy.txt".to_vec(), 0, 0);
        l.mtime = Some(mtime);
        tree.insert(b"/added/link", l).unwrap();
        let src_hello = expected.nodes[b"/hello.txt".as_slice()].clone();
        let node = |kind, perms, uid, gid| tt::Node {
            kind,
            perms,
            uid,
            gid,
            size: 0,
            content: None,
            link: Vec::new(),
            xattrs: BTreeMap::new(),
            dev: None,
            mtime: mtime.secs,
        };
        expected
            .nodes
            .insert(b"/added".to_vec(), node('d', 0o755, 0, 0));
        let mut copy = node('-', 0o600, 7, 8);
        (copy.size, copy.content) = (src_hello.size, src_hello.content.clone());
        copy.xattrs
            .insert(b"user.origin".to_vec(), b"nyscan".to_vec());
        expected.nodes.insert(b"/added/copy.txt".to_vec(), copy);
        let mut link = node('l', 0o777, 0, 0);
        link.link = b"copy.txt".to_vec();
        expected.nodes.insert(b"/added/link".to_vec(), link);

        let work = tempfile::tempdir().unwrap();
        let new = write_bootstrap(&tree).unwrap();
        let path = work.path().join("edited.boot");
        std::fs::write(&path, &new).unwrap();
        let b = Bootstrap::parse(&new).unwrap();
        let v5 = b.version() == FormatVersion::V5;
        let blobs = shared.join(name).join("blobs");
        let mount = Nydusd::mount(&nydusd, work.path(), &path, &blobs, v5)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let served = tt::dir_tree(mount.point());
        let point = mount.point().to_path_buf();
        drop(mount);
        let mounted = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounted.contains(point.to_str().unwrap()),
            "{name}: still mounted"
        );
        let kept = mtime_kept(&b, name);
        compare(name, &expected, &served, &|p: &[u8]| {
            p.starts_with(b"/added") || kept(p)
        });
        eprintln!(
            "{name}: nydusd serves the edited tree ({} entries)",
            served.nodes.len()
        );
    }
}
