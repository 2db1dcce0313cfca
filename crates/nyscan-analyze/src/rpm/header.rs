//! The RPM header blob, as the three database forms store it.
//!
//! ```text
//!  0        4        8                      8 + 16 * il              8 + 16 * il + dl
//!  +--------+--------+----------------------+------------------------+
//!  | il     | dl     | il index entries     | data store (dl bytes)  |
//!  | u32 BE | u32 BE | 16 bytes each        |                        |
//!  +--------+--------+----------------------+------------------------+
//!  index entry: tag i32 BE | type u32 BE | offset i32 BE (into the store) | count u32 BE
//! ```
//!
//! Types: 0 NULL, 1 CHAR, 2 INT8, 3 INT16, 4 INT32, 5 INT64, 6 STRING (one NUL-terminated string),
//! 7 BIN, 8 STRING_ARRAY and 9 I18NSTRING (`count` NUL-terminated strings). Integers are
//! big-endian and aligned to their size. The first entry of an installed header is usually a
//! region tag (62/63) whose data is a trailer; entries after the region ("dribble" entries)
//! override earlier ones with the same tag, so the last entry of a tag wins here.
//!
//! Limits (rpm's own): at most 65535 entries and 256 MiB of data. Every offset and length is
//! checked against the store; a bad entry is an error naming the tag and its offset.

use std::collections::HashMap;

/// Tag numbers read (rpm `rpmtag.h`).
pub mod tag {
    /// Package name.
    pub const NAME: i32 = 1000;
    /// Upstream version.
    pub const VERSION: i32 = 1001;
    /// Release.
    pub const RELEASE: i32 = 1002;
    /// Epoch (INT32).
    pub const EPOCH: i32 = 1003;
    /// Vendor.
    pub const VENDOR: i32 = 1011;
    /// License.
    pub const LICENSE: i32 = 1014;
    /// Architecture.
    pub const ARCH: i32 = 1022;
    /// Source package file name.
    pub const SOURCERPM: i32 = 1044;
    /// Index into DIRNAMES for each file (INT32 array).
    pub const DIRINDEXES: i32 = 1116;
    /// File base names (STRING_ARRAY).
    pub const BASENAMES: i32 = 1117;
    /// Directory names, each ending in `/` (STRING_ARRAY).
    pub const DIRNAMES: i32 = 1118;
    /// Module stream label (modular RHEL/Fedora packages).
    pub const MODULARITYLABEL: i32 = 5096;
}

/// Most index entries in a header (rpm `hdrchkTags`).
pub const MAX_ENTRIES: u32 = 0xffff;
/// Largest data store (rpm `hdrchkData`).
pub const MAX_DATA: u32 = 256 * 1024 * 1024;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// Why a header blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The blob is shorter than its own sizes say.
    #[error("header blob of {len} bytes is shorter than its index and data ({need} bytes)")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes the header declares.
        need: u64,
    },
    /// Entry count or data size beyond rpm's limits.
    #[error(
        "header declares {entries} entries and {data} data bytes (limits {MAX_ENTRIES}, {MAX_DATA})"
    )]
    TooLarge {
        /// Declared entry count.
        entries: u32,
        /// Declared data size.
        data: u32,
    },
    /// An index entry points outside the data store or has a bad type or alignment.
    #[error("header tag {tag} (type {kind}) at data offset {offset}: {reason}")]
    BadEntry {
        /// The tag.
        tag: i32,
        /// Its data type.
        kind: u32,
        /// Its offset into the data store.
        offset: i64,
        /// What is wrong.
        reason: &'static str,
    },
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: u32,
    offset: usize,
    count: u32,
}

/// A parsed header: the index over the data store.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    entries: HashMap<i32, Entry>,
    store: &'a [u8],
}

impl<'a> Header<'a> {
    /// Parses the index of a header blob (trailing bytes after the data store are ignored).
    pub fn parse(blob: &'a [u8]) -> Result<Self, HeaderError> {
        let word = |at: usize| -> Option<u32> {
            blob.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let (Some(il), Some(dl)) = (word(0), word(4)) else {
            return Err(HeaderError::Truncated {
                len: blob.len(),
                need: 8,
            });
        };
        if il == 0 || il > MAX_ENTRIES || dl > MAX_DATA {
            return Err(HeaderError::TooLarge {
                entries: il,
                data: dl,
            });
        }
        let store_start = 8 + 16 * il as usize;
        let need = store_start as u64 + u64::from(dl);
        if (blob.len() as u64) < need {
            return Err(HeaderError::Truncated {
                len: blob.len(),
                need,
            });
        }
        let store = &blob[store_start..store_start + dl as usize];
        let mut entries = HashMap::new();
        for i in 0..il as usize {
            let at = 8 + 16 * i;
            let field = |k: usize| word(at + 4 * k).unwrap_or(0);
            let (tag, kind, offset, count) = (field(0) as i32, field(1), field(2) as i32, field(3));
            let bad = |reason| HeaderError::BadEntry {
                tag,
                kind,
                offset: i64::from(offset),
                reason,
            };
            if kind > 9 {
                return Err(bad("unknown data type"));
            }
            // Region tags (61..=63) point at their trailer; nothing to read there.
            if (61..=63).contains(&tag) {
                continue;
            }
            let offset = usize::try_from(offset).map_err(|_| bad("negative offset"))?;
            if offset >= store.len() && count > 0 {
                return Err(bad("offset beyond the data store"));
            }
            let align = match kind {
                3 => 2,
                4 => 4,
                5 => 8,
                _ => 1,
            };
            if offset % align != 0 {
                return Err(bad("misaligned integer data"));
            }
            entries.insert(
                tag,
                Entry {
                    kind,
                    offset,
                    count,
                },
            );
        }
        Ok(Header { entries, store })
    }

    /// Whether the header has `tag`.
    pub fn has(&self, tag: i32) -> bool {
        self.entries.contains_key(&tag)
    }

    fn entry(&self, tag: i32, kinds: &[u32]) -> Result<Option<Entry>, HeaderError> {
        match self.entries.get(&tag) {
            None => Ok(None),
            Some(e) if kinds.contains(&e.kind) => Ok(Some(*e)),
            Some(e) => Err(HeaderError::BadEntry {
                tag,
                kind: e.kind,
                offset: e.offset as i64,
                reason: "unexpected data type for this tag",
            }),
        }
    }

    /// A STRING (or the first string of an I18NSTRING/STRING_ARRAY) tag; `None` when absent.
    pub fn string(&self, tag: i32) -> Result<Option<String>, HeaderError> {
        let Some(e) = self.entry(tag, &[TYPE_STRING, TYPE_I18NSTRING, TYPE_STRING_ARRAY])? else {
            return Ok(None);
        };
        if e.kind != TYPE_STRING && e.count == 0 {
            return Ok(Some(String::new()));
        }
        let (s, _) = self.c_string(tag, e, e.offset)?;
        Ok(Some(s))
    }

    /// A STRING_ARRAY tag; empty when absent.
    pub fn strings(&self, tag: i32) -> Result<Vec<String>, HeaderError> {
        let Some(e) = self.entry(tag, &[TYPE_STRING_ARRAY, TYPE_I18NSTRING])? else {
            return Ok(Vec::new());
        };
        // Every string takes at least its NUL byte: a count beyond the store is a lie.
        if e.count as usize > self.store.len() - e.offset.min(self.store.len()) {
            return Err(self.bad(tag, e, "string count larger than the data store"));
        }
        let mut out = Vec::with_capacity(e.count as usize);
        let mut at = e.offset;
        for _ in 0..e.count {
            let (s, next) = self.c_string(tag, e, at)?;
            out.push(s);
            at = next;
        }
        Ok(out)
    }

    /// An INT32 array tag; empty when absent.
    pub fn int32s(&self, tag: i32) -> Result<Vec<i32>, HeaderError> {
        let Some(e) = self.entry(tag, &[TYPE_INT32])? else {
            return Ok(Vec::new());
        };
        let end = (e.count as usize)
            .checked_mul(4)
            .and_then(|n| n.checked_add(e.offset))
            .filter(|&end| end <= self.store.len())
            .ok_or_else(|| self.bad(tag, e, "integer array runs past the data store"))?;
        Ok(self.store[e.offset..end]
            .chunks_exact(4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// The first value of an INT32 tag; `None` when absent or empty.
    pub fn int32(&self, tag: i32) -> Result<Option<i32>, HeaderError> {
        let Some(e) = self.entry(tag, &[TYPE_INT32])? else {
            return Ok(None);
        };
        if e.count == 0 {
            return Ok(None);
        }
        let bytes = self
            .store
            .get(e.offset..e.offset + 4)
            .ok_or_else(|| self.bad(tag, e, "integer runs past the data store"))?;
        Ok(Some(i32::from_be_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3],
        ])))
    }

    fn c_string(&self, tag: i32, e: Entry, at: usize) -> Result<(String, usize), HeaderError> {
        let rest = self
            .store
            .get(at..)
            .ok_or_else(|| self.bad(tag, e, "string starts past the data store"))?;
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.bad(tag, e, "string without a terminating NUL"))?;
        Ok((
            String::from_utf8_lossy(&rest[..len]).into_owned(),
            at + len + 1,
        ))
    }

    fn bad(&self, tag: i32, e: Entry, reason: &'static str) -> HeaderError {
        HeaderError::BadEntry {
            tag,
            kind: e.kind,
            offset: e.offset as i64,
            reason,
        }
    }
}

/// The package facts read from one header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpmPackageInfo {
    /// NAME.
    pub name: String,
    /// EPOCH, when present.
    pub epoch: Option<i32>,
    /// VERSION.
    pub version: String,
    /// RELEASE.
    pub release: String,
    /// ARCH (empty when absent).
    pub arch: String,
    /// SOURCERPM (empty when absent or `(none)`).
    pub source_rpm: String,
    /// LICENSE (empty when absent or `(none)`).
    pub license: String,
    /// VENDOR (empty when absent or `(none)`).
    pub vendor: String,
    /// MODULARITYLABEL (empty when absent).
    pub modularity_label: String,
    /// Installed file paths (`/usr/bin/x`) from DIRNAMES/BASENAMES/DIRINDEXES.
    pub files: Vec<String>,
}

impl RpmPackageInfo {
    /// Reads the package facts of a header blob.
    pub fn parse(blob: &[u8]) -> Result<Self, HeaderError> {
        let h = Header::parse(blob)?;
        let text = |tag| -> Result<String, HeaderError> { Ok(h.string(tag)?.unwrap_or_default()) };
        let not_none = |s: String| if s == "(none)" { String::new() } else { s };
        Ok(RpmPackageInfo {
            name: text(tag::NAME)?,
            epoch: h.int32(tag::EPOCH)?,
            version: text(tag::VERSION)?,
            release: text(tag::RELEASE)?,
            arch: text(tag::ARCH)?,
            source_rpm: not_none(text(tag::SOURCERPM)?),
            license: not_none(text(tag::LICENSE)?),
            vendor: not_none(text(tag::VENDOR)?),
            modularity_label: text(tag::MODULARITYLABEL)?,
            files: file_names(&h)?,
        })
    }
}

/// `dirnames[dirindexes[i]] + basenames[i]` for every file.
fn file_names(h: &Header<'_>) -> Result<Vec<String>, HeaderError> {
    let base = h.strings(tag::BASENAMES)?;
    let dirs = h.strings(tag::DIRNAMES)?;
    let index = h.int32s(tag::DIRINDEXES)?;
    if base.is_empty() || dirs.is_empty() || index.is_empty() {
        return Ok(Vec::new());
    }
    let bad = |reason| HeaderError::BadEntry {
        tag: tag::DIRINDEXES,
        kind: TYPE_INT32,
        offset: 0,
        reason,
    };
    if index.len() != base.len() {
        return Err(bad("DIRINDEXES and BASENAMES differ in length"));
    }
    base.iter()
        .zip(&index)
        .map(|(name, &i)| {
            let dir = usize::try_from(i)
                .ok()
                .and_then(|i| dirs.get(i))
                .ok_or_else(|| bad("directory index out of range"))?;
            Ok(join_path(dir, name))
        })
        .collect()
}

/// Joins a directory and a base name with exactly one `/` between them.
fn join_path(dir: &str, name: &str) -> String {
    let dir = dir.trim_end_matches('/');
    format!("{dir}/{name}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a header blob: entries of (tag, type, data, count).
    pub(crate) fn blob(entries: &[(i32, u32, Vec<u8>, u32)]) -> Vec<u8> {
        let mut store = Vec::new();
        let mut index = Vec::new();
        for (tag, kind, data, count) in entries {
            let align = match kind {
                3 => 2,
                4 => 4,
                5 => 8,
                _ => 1,
            };
            while store.len() % align != 0 {
                store.push(0);
            }
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&kind.to_be_bytes());
            index.extend_from_slice(&(store.len() as i32).to_be_bytes());
            index.extend_from_slice(&count.to_be_bytes());
            store.extend_from_slice(data);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(store.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(store);
        out
    }

    pub(crate) fn s(text: &str) -> (u32, Vec<u8>, u32) {
        let mut v = text.as_bytes().to_vec();
        v.push(0);
        (TYPE_STRING, v, 1)
    }

    pub(crate) fn sa(items: &[&str]) -> (u32, Vec<u8>, u32) {
        let mut v = Vec::new();
        for i in items {
            v.extend_from_slice(i.as_bytes());
            v.push(0);
        }
        (TYPE_STRING_ARRAY, v, items.len() as u32)
    }

    pub(crate) fn ints(values: &[i32]) -> (u32, Vec<u8>, u32) {
        let v = values.iter().flat_map(|i| i.to_be_bytes()).collect();
        (TYPE_INT32, v, values.len() as u32)
    }

    pub(crate) fn entry(
        tag: i32,
        (kind, data, count): (u32, Vec<u8>, u32),
    ) -> (i32, u32, Vec<u8>, u32) {
        (tag, kind, data, count)
    }

    #[test]
    fn reads_package_facts_and_files() {
        let b = blob(&[
            entry(tag::NAME, s("bash")),
            entry(tag::VERSION, s("5.1.8")),
            entry(tag::RELEASE, s("9.el9")),
            entry(tag::EPOCH, ints(&[1])),
            entry(tag::ARCH, s("x86_64")),
            entry(tag::SOURCERPM, s("bash-5.1.8-9.el9.src.rpm")),
            entry(tag::VENDOR, s("(none)")),
            entry(tag::DIRNAMES, sa(&["/usr/bin/", "/etc/"])),
            entry(tag::BASENAMES, sa(&["bash", "bashrc", "sh"])),
            entry(tag::DIRINDEXES, ints(&[0, 1, 0])),
        ]);
        let info = RpmPackageInfo::parse(&b).unwrap();
        assert_eq!(info.name, "bash");
        assert_eq!(info.epoch, Some(1));
        assert_eq!(info.vendor, "");
        assert_eq!(info.files, ["/usr/bin/bash", "/etc/bashrc", "/usr/bin/sh"]);
    }

    #[test]
    fn bad_blobs_are_errors() {
        assert!(matches!(
            Header::parse(&[0, 0]),
            Err(HeaderError::Truncated { .. })
        ));
        assert!(matches!(
            Header::parse(&[0, 1, 0, 0, 0, 0, 0, 0]),
            Err(HeaderError::TooLarge { .. })
        ));
        let mut b = blob(&[entry(tag::NAME, s("x"))]);
        b.truncate(b.len() - 1);
        assert!(matches!(
            Header::parse(&b),
            Err(HeaderError::Truncated { .. })
        ));
        // A string without its NUL.
        let b = blob(&[entry(tag::NAME, (TYPE_STRING, b"abc".to_vec(), 1))]);
        assert!(RpmPackageInfo::parse(&b).is_err());
        // A wrong type for NAME.
        let b = blob(&[entry(tag::NAME, ints(&[3]))]);
        assert!(RpmPackageInfo::parse(&b).is_err());
        // A string array that claims more strings than bytes.
        let b = blob(&[entry(
            tag::BASENAMES,
            (TYPE_STRING_ARRAY, b"a\0".to_vec(), 1000),
        )]);
        assert!(Header::parse(&b).unwrap().strings(tag::BASENAMES).is_err());
        // Directory index out of range.
        let b = blob(&[
            entry(tag::DIRNAMES, sa(&["/"])),
            entry(tag::BASENAMES, sa(&["a"])),
            entry(tag::DIRINDEXES, ints(&[5])),
        ]);
        assert!(RpmPackageInfo::parse(&b).is_err());
    }
}
