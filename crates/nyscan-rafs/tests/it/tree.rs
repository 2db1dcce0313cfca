//! The tree the reader walks equals the source tree the image was built from.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use nyscan_rafs::{Bootstrap, FileKind};

use crate::{boot_bytes, fixtures, official_images};

/// What is compared for each path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    kind: FileKind,
    perms: u32,
    uid: u64,
    gid: u64,
    /// Size of regular files; 0 for other kinds (directory sizes are format-specific).
    size: u64,
    symlink: Vec<u8>,
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// (major, minor) of devices.
    dev: Option<(u32, u32)>,
    mtime: Option<u64>,
}

struct Tree {
    nodes: BTreeMap<Vec<u8>, Node>,
    hardlinks: BTreeSet<BTreeSet<Vec<u8>>>,
}

fn normalize(path: &[u8]) -> Vec<u8> {
    let p = path.strip_prefix(b".").unwrap_or(path);
    let p = p.strip_suffix(b"/").unwrap_or(p);
    if p.is_empty() {
        b"/".to_vec()
    } else if p.starts_with(b"/") {
        p.to_vec()
    } else {
        [b"/".as_slice(), p].concat()
    }
}

/// Reads a source tree from the fixture tar (numeric owners, PAX xattrs).
fn source_tree(tar_name: &str) -> Tree {
    let file = std::fs::File::open(fixtures().join("official").join(tar_name)).expect("tar");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut nodes = BTreeMap::new();
    let mut links: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let path = normalize(&entry.path_bytes());
        let mut xattrs = BTreeMap::new();
        if let Some(exts) = entry.pax_extensions().expect("pax") {
            for ext in exts {
                let ext = ext.expect("pax ext");
                if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    xattrs.insert(name.to_vec(), ext.value_bytes().to_vec());
                }
            }
        }
        let h = entry.header().clone();
        let et = h.entry_type();
        if et.is_hard_link() {
            let target = normalize(&entry.link_name_bytes().expect("link name"));
            let group = links
                .entry(target.clone())
                .or_insert_with(|| BTreeSet::from([target.clone()]));
            group.insert(path.clone());
            let node = nodes
                .get(&target)
                .cloned()
                .expect("hardlink target seen first");
            nodes.insert(path, node);
            continue;
        }
        let kind = if et.is_dir() {
            FileKind::Directory
        } else if et.is_symlink() {
            FileKind::Symlink
        } else if et.is_character_special() {
            FileKind::CharDevice
        } else if et.is_block_special() {
            FileKind::BlockDevice
        } else if et.is_fifo() {
            FileKind::Fifo
        } else {
            FileKind::Regular
        };
        let mut sink = Vec::new();
        entry.read_to_end(&mut sink).expect("content");
        let node = Node {
            kind,
            perms: h.mode().expect("mode") & 0o7777,
            uid: h.uid().expect("uid"),
            gid: h.gid().expect("gid"),
            size: if kind == FileKind::Regular {
                h.size().expect("size")
            } else {
                0
            },
            symlink: if kind == FileKind::Symlink {
                entry.link_name_bytes().expect("symlink").to_vec()
            } else {
                Vec::new()
            },
            xattrs,
            dev: matches!(kind, FileKind::CharDevice | FileKind::BlockDevice).then(|| {
                (
                    h.device_major().unwrap().unwrap(),
                    h.device_minor().unwrap().unwrap(),
                )
            }),
            mtime: Some(h.mtime().expect("mtime")),
        };
        nodes.insert(path, node);
    }
    Tree {
        nodes,
        hardlinks: links.into_values().collect(),
    }
}

fn decode_dev(rdev: u32) -> (u32, u32) {
    (
        (rdev & 0xfff00) >> 8,
        (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    )
}

/// Reads the tree a bootstrap holds through the unified API.
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
                kind: i.kind(),
                perms: i.mode() & 0o7777,
                uid: u64::from(i.uid()),
                gid: u64::from(i.gid()),
                size: if i.kind() == FileKind::Regular {
                    i.size()
                } else {
                    0
                },
                symlink: i.symlink_target().expect("symlink").to_vec(),
                xattrs,
                dev: matches!(i.kind(), FileKind::CharDevice | FileKind::BlockDevice)
                    .then(|| decode_dev(i.rdev())),
                mtime: i.mtime().map(|t| t.secs),
            },
        );
    }
    Tree {
        nodes,
        hardlinks: by_ino.into_values().filter(|g| g.len() > 1).collect(),
    }
}

fn compare(image: &str, source: &Tree, ours: &Tree) {
    let src_paths: BTreeSet<_> = source.nodes.keys().collect();
    let our_paths: BTreeSet<_> = ours.nodes.keys().collect();
    let missing: Vec<_> = src_paths
        .difference(&our_paths)
        .map(|p| String::from_utf8_lossy(p))
        .collect();
    let extra: Vec<_> = our_paths
        .difference(&src_paths)
        .map(|p| String::from_utf8_lossy(p))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{image}: missing {missing:?}, extra {extra:?}"
    );
    let mut compared_mtimes = 0;
    for (path, src) in &source.nodes {
        let mut ours = ours.nodes[path].clone();
        let mut src = src.clone();
        // The format keeps no mtime for some inodes (v6 compact): compare where it does.
        match ours.mtime {
            Some(_) if path != b"/" => compared_mtimes += 1,
            _ => {
                ours.mtime = None;
                src.mtime = None;
            }
        }
        // merged.tar.gz was written after layer 2 was built: the paths layer 2 touched
        // carry the later mtime there.
        const LAYER2: [&[u8]; 6] = [
            b"/hello.txt",
            b"/new",
            b"/new/added.txt",
            b"/links",
            b"/wide",
            b"/wide/after-opaque",
        ];
        if path == b"/" || (image.ends_with("merged") && LAYER2.contains(&path.as_slice())) {
            // The builder takes the root's attributes from the build, not the tar.
            ours.mtime = None;
            src.mtime = None;
        }
        assert_eq!(src, ours, "{image}: {}", String::from_utf8_lossy(path));
    }
    assert_eq!(source.hardlinks, ours.hardlinks, "{image}: hardlink groups");
    eprintln!(
        "{image}: {} paths equal, {compared_mtimes} mtimes compared",
        source.nodes.len()
    );
}

#[test]
fn every_official_image_holds_its_source_tree() {
    let basic = source_tree("basic.tar.gz");
    let merged = source_tree("merged.tar.gz");
    assert!(basic.nodes.len() > 600 && !basic.hardlinks.is_empty());
    for name in official_images() {
        let bytes = boot_bytes(&name);
        let boot = Bootstrap::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let source = if name.ends_with("merged") {
            &merged
        } else {
            &basic
        };
        compare(&name, source, &image_tree(&boot));
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
