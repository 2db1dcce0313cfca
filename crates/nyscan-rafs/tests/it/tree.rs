//! The tree the reader walks equals the source tree the image was built from.

use std::collections::{BTreeMap, BTreeSet};

use nyscan_rafs::{Bootstrap, FileKind};
use nyscan_testutil::tree::{Node, Tree, compare, mtime_comparable, source_tree};

use crate::{boot_bytes, fixtures, official_images};

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

fn decode_dev(rdev: u32) -> (u32, u32) {
    (
        (rdev & 0xfff00) >> 8,
        (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    )
}

/// The tree a bootstrap holds, read through the unified API (no contents: the bootstrap
/// has only metadata).
fn image_tree(boot: &Bootstrap<'_>) -> Tree {
    let mut nodes = BTreeMap::new();
    let mut by_ino: BTreeMap<u64, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for entry in boot.walk() {
        let entry = entry.expect("walk");
        let i = entry.inode;
        let xattrs = i
            .xattrs()
            .map(|x| x.map(|x| (x.name(), x.value().to_vec())))
            .collect::<Result<_, _>>()
            .expect("xattrs");
        if i.kind() == FileKind::Regular {
            by_ino
                .entry(i.ino().0)
                .or_default()
                .insert(entry.path.clone());
        }
        nodes.insert(
            entry.path,
            Node {
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
                xattrs,
                dev: matches!(i.kind(), FileKind::CharDevice | FileKind::BlockDevice)
                    .then(|| decode_dev(i.rdev())),
                mtime: i.mtime().map_or(0, |t| t.secs),
            },
        );
    }
    Tree {
        nodes,
        hardlinks: by_ino.into_values().filter(|g| g.len() > 1).collect(),
    }
}

/// The source tree without file contents, which a bootstrap does not hold.
fn metadata_of(mut tree: Tree) -> Tree {
    for node in tree.nodes.values_mut() {
        node.content = None;
    }
    tree
}

/// Paths whose mtime the image keeps and the source tar has right.
fn mtime_kept<'a>(boot: &'a Bootstrap<'a>, image: &'a str) -> impl Fn(&[u8]) -> bool + 'a {
    move |path: &[u8]| {
        mtime_comparable(image, path)
            && boot.lookup(path).unwrap().and_then(|i| i.mtime()).is_some()
    }
}

#[test]
fn every_official_image_holds_its_source_tree() {
    let official = fixtures().join("official");
    for name in official_images() {
        let bytes = boot_bytes(&name);
        let boot = Bootstrap::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let source = metadata_of(source_tree(&official, &name));
        assert!(source.nodes.len() > 90 && !source.hardlinks.is_empty());
        compare(
            &name,
            &source,
            &image_tree(&boot),
            &mtime_kept(&boot, &name),
        );
    }
}

#[test]
fn v5_and_v6_of_one_tree_read_the_same() {
    let v5 = boot_bytes("v5-lz4");
    let v6 = boot_bytes("v6-zstd");
    let (v5, v6) = (
        Bootstrap::parse(&v5).unwrap(),
        Bootstrap::parse(&v6).unwrap(),
    );
    let (a, b) = (image_tree(&v5), image_tree(&v6));
    assert_eq!(a.nodes, b.nodes);
    assert_eq!(a.hardlinks, b.hardlinks);
    // Hardlink groups from the parent index agree with the walk.
    for boot in [&v5, &v6] {
        let groups: BTreeSet<BTreeSet<Vec<u8>>> = boot
            .hardlink_groups()
            .unwrap()
            .into_iter()
            .map(|(_, paths)| paths.into_iter().collect())
            .collect();
        assert_eq!(groups, a.hardlinks);
    }
}

#[test]
fn lookup_and_paths_agree_with_the_walk() {
    for name in official_images() {
        let bytes = boot_bytes(&name);
        let boot = Bootstrap::parse(&bytes).unwrap();
        for entry in boot.walk() {
            let entry = entry.unwrap();
            let found = boot.lookup(&entry.path).unwrap().unwrap_or_else(|| {
                panic!("{name}: lookup {}", String::from_utf8_lossy(&entry.path))
            });
            assert_eq!(found.ino(), entry.inode.ino());
            assert!(boot.paths(found.ino()).unwrap().contains(&entry.path));
        }
        assert!(boot.lookup(b"/no/such/path").unwrap().is_none());
        assert!(boot.lookup(b"/hello.txt/below").unwrap().is_none());
        let deep = boot
            .lookup(b"/deep/level0/../level0/level1/./level2")
            .unwrap()
            .unwrap();
        assert_eq!(deep.kind(), FileKind::Directory);
    }
}
