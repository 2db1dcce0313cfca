//! Inode numbers, chunk records and blobs equal what the official tools printed
//! (`check.txt` is `nydus-image check -v`; `inspect.*.json` is `nydus-image inspect -R`).

use std::collections::BTreeMap;

use nyscan_rafs::{Bootstrap, FileKind, FormatVersion};

use crate::{boot_bytes, fixtures, official_images};

#[derive(Debug, Default)]
struct CheckedInode {
    ino: u64,
    nlink: u32,
    size: u64,
    mtime: (u64, u32),
    chunks: Vec<CheckedChunk>,
}

#[derive(Debug, PartialEq, Eq)]
struct CheckedChunk {
    id: String,
    index: u32,
    blob_index: u32,
    file_offset: u64,
    compressed: (u64, u32),
    uncompressed: (u64, u32),
    crc32: Option<u32>,
}

#[derive(Debug, PartialEq, Eq)]
struct CheckedBlob {
    id: String,
    compressed_size: u64,
    uncompressed_size: u64,
    chunk_size: u32,
    chunk_count: u32,
    features: String,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let at = line
        .find(&format!(" {key} "))
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    let rest = &line[at + key.len() + 2..];
    rest.split([' ', ',']).next().unwrap()
}

fn pair(s: &str) -> (u64, u32) {
    let (a, b) = s.split_once('/').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

fn parse_check(name: &str) -> (BTreeMap<String, CheckedInode>, Vec<CheckedBlob>) {
    let text =
        std::fs::read_to_string(fixtures().join("official").join(name).join("check.txt")).unwrap();
    let mut inodes = BTreeMap::new();
    let mut blobs = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("inode: ") {
            let start = rest.find('"').unwrap();
            let end = rest.find("\": ").unwrap();
            let path = rest[start + 1..end].to_string();
            let inode = CheckedInode {
                ino: field(line, "ino").parse().unwrap(),
                nlink: field(line, "i_nlink").parse().unwrap(),
                size: field(line, "i_size").parse().unwrap(),
                mtime: (
                    field(line, "i_mtime").parse().unwrap(),
                    field(line, "i_mtime_nsec").parse().unwrap(),
                ),
                chunks: Vec::new(),
            };
            inodes.insert(path.clone(), inode);
            current = Some(path);
        } else if let Some(rest) = line.trim_start().strip_prefix("chunk: ") {
            let l = format!(" {rest}");
            let crc = field(&l, "crc32");
            let chunk = CheckedChunk {
                id: field(&l, "id").to_string(),
                index: field(&l, "index").parse().unwrap(),
                blob_index: field(&l, "blob_index").parse().unwrap(),
                file_offset: field(&l, "file_offset").parse().unwrap(),
                compressed: pair(field(&l, "compressed")),
                uncompressed: pair(field(&l, "uncompressed")),
                crc32: (crc != "0x0")
                    .then(|| u32::from_str_radix(crc.trim_start_matches("0x"), 16).unwrap()),
            };
            inodes
                .get_mut(current.as_ref().unwrap())
                .unwrap()
                .chunks
                .push(chunk);
        } else if line.starts_with('\t') && line.contains(", compressed size ") {
            let (_, rest) = line.trim().split_once(": ").unwrap();
            let id = rest.split(',').next().unwrap().to_string();
            let l = format!(" {rest}");
            blobs.push(CheckedBlob {
                id,
                compressed_size: field(&l, "compressed size").parse().unwrap(),
                uncompressed_size: field(&l, "uncompressed size").parse().unwrap(),
                chunk_size: field(&l, "chunk size:").parse().unwrap(),
                chunk_count: field(&l, "chunk count:").parse().unwrap(),
                features: sorted_words(rest.split("features: ").nth(1).unwrap()),
            });
        }
    }
    (inodes, blobs)
}

#[test]
fn inodes_and_chunks_equal_nydus_image_check() {
    for name in official_images() {
        let (expected, expected_blobs) = parse_check(&name);
        let bytes = boot_bytes(&name);
        let boot = Bootstrap::parse(&bytes).unwrap();
        let v6 = boot.version() == FormatVersion::V6;
        let mut seen = 0;
        let mut chunks_seen = 0;
        for entry in boot.walk() {
            let entry = entry.unwrap();
            let path = String::from_utf8(entry.path.clone()).unwrap();
            let exp = expected
                .get(&path)
                .unwrap_or_else(|| panic!("{name}: {path} not in check.txt"));
            let i = entry.inode;
            seen += 1;
            assert_eq!(i.ino().0, exp.ino, "{name}: {path} ino");
            assert_eq!(i.nlink(), exp.nlink, "{name}: {path} nlink");
            if i.kind() != FileKind::Directory || !v6 {
                assert_eq!(i.size(), exp.size, "{name}: {path} size");
            }
            let mtime = i.mtime().map_or((0, 0), |t| (t.secs, t.nsecs));
            assert_eq!(mtime, exp.mtime, "{name}: {path} mtime");
            let chunks: Vec<_> = i.chunks().collect::<Result<_, _>>().unwrap();
            assert_eq!(chunks.len(), exp.chunks.len(), "{name}: {path} chunk count");
            assert_eq!(i.chunk_count(), chunks.len());
            for (k, (c, e)) in chunks.iter().zip(&exp.chunks).enumerate() {
                let ours = CheckedChunk {
                    id: hex(&c.digest),
                    index: c.index,
                    blob_index: c.blob_index,
                    // v6 chunk-table entries keep the offset of the file that first stored
                    // the chunk; ours is the offset in this file.
                    file_offset: if v6 { e.file_offset } else { c.file_offset },
                    compressed: (c.compressed_offset, c.compressed_size),
                    uncompressed: (c.uncompressed_offset, c.uncompressed_size),
                    crc32: c.crc32,
                };
                assert_eq!(&ours, e, "{name}: {path} chunk {k}");
                if v6 {
                    assert_eq!(
                        c.file_offset,
                        k as u64 * u64::from(boot.superblock().chunk_size)
                    );
                }
                chunks_seen += 1;
            }
        }
        assert_eq!(seen, expected.len(), "{name}: inode count");
        let blobs: Vec<CheckedBlob> = boot
            .blobs()
            .iter()
            .map(|b| CheckedBlob {
                id: b.id.clone(),
                compressed_size: b.compressed_size,
                uncompressed_size: b.uncompressed_size,
                chunk_size: b.chunk_size,
                chunk_count: b.chunk_count,
                features: sorted_words(&b.features.names().join(" ")),
            })
            .collect();
        assert_eq!(blobs, expected_blobs, "{name}: blobs");
        eprintln!("{name}: {seen} inodes and {chunks_seen} chunks equal check.txt");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn json(name: &str, what: &str) -> serde_json::Value {
    let path = fixtures()
        .join("official")
        .join(name)
        .join(format!("inspect.{what}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn stats_blobs_and_prefetch_equal_nydus_image_inspect() {
    for name in official_images() {
        let bytes = boot_bytes(&name);
        let boot = Bootstrap::parse(&bytes).unwrap();
        assert_eq!(
            json(&name, "stats")["inodes_count"],
            boot.superblock().inodes_count,
            "{name}"
        );
        let blobs = json(&name, "blobs");
        let blobs = blobs.as_array().unwrap();
        assert_eq!(blobs.len(), boot.blobs().len());
        for (e, b) in blobs.iter().zip(boot.blobs()) {
            assert_eq!(e["blob_id"], b.id.as_str());
            assert_eq!(e["compressed_size"], b.compressed_size);
            assert_eq!(e["decompressed_size"], b.uncompressed_size);
            assert_eq!(e["readahead_offset"], b.readahead.0);
            assert_eq!(e["readahead_size"], b.readahead.1);
        }
        let prefetch = json(&name, "prefetch");
        let expected: Vec<u64> = prefetch
            .as_array()
            .map(|a| a.iter().map(|p| p["inode"].as_u64().unwrap()).collect())
            .unwrap_or_default();
        let ours: Vec<u64> = boot.prefetch().unwrap().iter().map(|i| i.0).collect();
        assert_eq!(ours, expected, "{name}: prefetch");
    }
}

fn sorted_words(s: &str) -> String {
    let mut words: Vec<&str> = s.split_whitespace().collect();
    words.sort();
    words.join(" ")
}
