//! `unpack` (directory and tar) reproduces the source tree of every official image.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nyscan_image::{ChunkReader, FetchOptions};
use nyscan_rafs::Bootstrap;
use nyscan_source::BlobDir;

use crate::{images, shared_official, skip};

/// What is compared for each path: kind, perms, owner, size, content digest, link target,
/// xattrs, device numbers, mtime.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    kind: char,
    perms: u32,
    uid: u64,
    gid: u64,
    size: u64,
    content: Option<String>,
    link: Vec<u8>,
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    dev: Option<(u32, u32)>,
    mtime: u64,
}

#[derive(Debug, PartialEq, Eq)]
struct Tree {
    nodes: BTreeMap<Vec<u8>, Node>,
    hardlinks: BTreeSet<BTreeSet<Vec<u8>>>,
}

fn norm(path: &[u8]) -> Vec<u8> {
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

/// Reads a tar (the fixture's source tree, or our own output).
fn tar_tree(reader: impl Read) -> Tree {
    let mut archive = tar::Archive::new(reader);
    let mut nodes = BTreeMap::new();
    let mut links: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = norm(&entry.path_bytes());
        let mut xattrs = BTreeMap::new();
        if let Some(exts) = entry.pax_extensions().unwrap() {
            for ext in exts {
                let ext = ext.unwrap();
                if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    xattrs.insert(name.to_vec(), ext.value_bytes().to_vec());
                }
            }
        }
        let h = entry.header().clone();
        let t = h.entry_type();
        if t.is_hard_link() {
            let target = norm(&entry.link_name_bytes().unwrap());
            links
                .entry(target.clone())
                .or_insert_with(|| BTreeSet::from([target.clone()]))
                .insert(path.clone());
            let node = nodes.get(&target).cloned().unwrap();
            nodes.insert(path, node);
            continue;
        }
        let kind = if t.is_dir() {
            'd'
        } else if t.is_symlink() {
            'l'
        } else if t.is_character_special() {
            'c'
        } else if t.is_block_special() {
            'b'
        } else if t.is_fifo() {
            'p'
        } else {
            '-'
        };
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        nodes.insert(
            path,
            Node {
                kind,
                perms: h.mode().unwrap() & 0o7777,
                uid: h.uid().unwrap(),
                gid: h.gid().unwrap(),
                size: if kind == '-' { data.len() as u64 } else { 0 },
                content: (kind == '-').then(|| blake3::hash(&data).to_hex().to_string()),
                link: if kind == 'l' {
                    entry.link_name_bytes().unwrap().to_vec()
                } else {
                    Vec::new()
                },
                xattrs,
                dev: matches!(kind, 'c' | 'b').then(|| {
                    (
                        h.device_major().unwrap().unwrap(),
                        h.device_minor().unwrap().unwrap(),
                    )
                }),
                mtime: h.mtime().unwrap(),
            },
        );
    }
    Tree {
        nodes,
        hardlinks: links.into_values().collect(),
    }
}

/// Reads an unpacked directory.
fn dir_tree(root: &Path) -> Tree {
    use std::os::unix::ffi::OsStrExt;
    let mut nodes = BTreeMap::new();
    let mut by_ino: BTreeMap<u64, BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let rel = norm(p.strip_prefix(root).unwrap().as_os_str().as_bytes());
        let ft = m.file_type();
        use std::os::unix::fs::FileTypeExt;
        let kind = if ft.is_dir() {
            'd'
        } else if ft.is_symlink() {
            'l'
        } else if ft.is_char_device() {
            'c'
        } else if ft.is_block_device() {
            'b'
        } else if ft.is_fifo() {
            'p'
        } else {
            '-'
        };
        if ft.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
        if kind == '-' && m.nlink() > 1 {
            by_ino.entry(m.ino()).or_default().insert(rel.clone());
        }
        let xattrs = if kind == 'l' {
            BTreeMap::new()
        } else {
            xattr::list(&p)
                .unwrap()
                .map(|n| (n.as_bytes().to_vec(), xattr::get(&p, &n).unwrap().unwrap()))
                .collect()
        };
        let rdev = m.rdev();
        nodes.insert(
            rel,
            Node {
                kind,
                perms: m.mode() & 0o7777,
                uid: u64::from(m.uid()),
                gid: u64::from(m.gid()),
                size: if kind == '-' { m.size() } else { 0 },
                content: (kind == '-').then(|| {
                    blake3::hash(&std::fs::read(&p).unwrap())
                        .to_hex()
                        .to_string()
                }),
                link: if kind == 'l' {
                    std::fs::read_link(&p)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec()
                } else {
                    Vec::new()
                },
                xattrs,
                dev: matches!(kind, 'c' | 'b').then(|| {
                    (
                        nix::sys::stat::major(rdev) as u32,
                        nix::sys::stat::minor(rdev) as u32,
                    )
                }),
                mtime: m.mtime() as u64,
            },
        );
    }
    Tree {
        nodes,
        hardlinks: by_ino.into_values().collect(),
    }
}

/// Compares; mtimes only where the image keeps them (`kept` says which paths).
fn compare(image: &str, source: &Tree, ours: &Tree, mtime_kept: &dyn Fn(&[u8]) -> bool) {
    let a: BTreeSet<_> = source.nodes.keys().collect();
    let b: BTreeSet<_> = ours.nodes.keys().collect();
    assert_eq!(a, b, "{image}: paths differ");
    for (path, src) in &source.nodes {
        let (mut s, mut o) = (src.clone(), ours.nodes[path].clone());
        if !mtime_kept(path) {
            s.mtime = 0;
            o.mtime = 0;
        }
        assert_eq!(s, o, "{image}: {}", String::from_utf8_lossy(path));
    }
    assert_eq!(source.hardlinks, ours.hardlinks, "{image}: hardlink groups");
}

fn source_tree(dir: &Path, image: &str) -> Tree {
    let name = if image.ends_with("merged") {
        "merged.tar.gz"
    } else {
        "basic.tar.gz"
    };
    tar_tree(flate2::read::GzDecoder::new(
        std::fs::File::open(dir.join(name)).unwrap(),
    ))
}

/// Paths whose mtime the image keeps (not the root, not compact v6 inodes, not the paths the
/// merged images' layer 2 rewrote after the source tar was made).
fn mtime_kept<'a>(boot: &'a Bootstrap<'a>, image: &'a str) -> impl Fn(&[u8]) -> bool + 'a {
    move |path: &[u8]| {
        const LAYER2: [&[u8]; 6] = [
            b"/hello.txt",
            b"/new",
            b"/new/added.txt",
            b"/links",
            b"/wide",
            b"/wide/after-opaque",
        ];
        path != b"/"
            && !(image.ends_with("merged") && LAYER2.contains(&path))
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
