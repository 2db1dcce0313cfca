//! Trees as the tests compare them: read from a tar (the fixtures' source trees, or nyscan's
//! own tar output) or from an unpacked directory, and compared field by field.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What is compared for each path: kind, perms, owner, size, content digest, link target,
/// xattrs, device numbers, mtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Kind: `d`, `-`, `l`, `c`, `b`, `p`.
    pub kind: char,
    /// Permission bits.
    pub perms: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Size of regular files (0 otherwise).
    pub size: u64,
    /// blake3 of a regular file's content.
    pub content: Option<String>,
    /// Symlink target.
    pub link: Vec<u8>,
    /// Extended attributes.
    pub xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// (major, minor) of devices.
    pub dev: Option<(u32, u32)>,
    /// Modification time, seconds.
    pub mtime: u64,
}

#[derive(Debug, PartialEq, Eq)]
/// A whole tree.
pub struct Tree {
    /// Every path and what it is.
    pub nodes: BTreeMap<Vec<u8>, Node>,
    /// Groups of paths that are one file.
    pub hardlinks: BTreeSet<BTreeSet<Vec<u8>>>,
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

/// Reads a tar: the fixtures' source trees, or nyscan's own tar output.
pub fn tar_tree(reader: impl Read) -> Tree {
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
pub fn dir_tree(root: &Path) -> Tree {
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
pub fn compare(image: &str, source: &Tree, ours: &Tree, mtime_kept: &dyn Fn(&[u8]) -> bool) {
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

/// Whether the mtime of `path` in the source tar of official image `image` can be compared
/// with the image's: not for the root (the builder sets its own), and not for the paths
/// layer 2 of the merged images wrote, whose mtimes in `merged.tar.gz` are from when that
/// tar was made. Callers also skip inodes the format keeps no mtime for (v6 compact).
pub fn mtime_comparable(image: &str, path: &[u8]) -> bool {
    const LAYER2: [&[u8]; 6] = [
        b"/hello.txt",
        b"/new",
        b"/new/added.txt",
        b"/links",
        b"/wide",
        b"/wide/after-opaque",
    ];
    path != b"/" && !(image.ends_with("merged") && LAYER2.contains(&path))
}

/// The source tree an official image holds (`merged.tar.gz` for the merged images).
pub fn source_tree(dir: &Path, image: &str) -> Tree {
    let name = if image.ends_with("merged") {
        "merged.tar.gz"
    } else {
        "basic.tar.gz"
    };
    tar_tree(flate2::read::GzDecoder::new(
        std::fs::File::open(dir.join(name)).unwrap(),
    ))
}
