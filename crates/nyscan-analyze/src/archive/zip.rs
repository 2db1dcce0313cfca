//! A zip reader over a [`ByteSource`], built for restartable reads: the end-of-central-
//! directory record is found in the tail, then the central directory is read, then only the
//! members asked for. A stored member is a [`Window`] onto the archive (read in place, even
//! when the archive is itself a stored member of another); a deflated member is inflated
//! into memory under a hard output cap.
//!
//! ```text
//!  [local header 30 B + name + extra][data] ... [central directory] [zip64 EOCD + locator] [EOCD 22 B + comment]
//!   ^ local header offset (from the central directory)   ^ cd offset/size (from the EOCD)
//! ```
//!
//! Checked: every offset and size against the archive size, the entry count against the
//! directory size, names and extra fields against their records, the declared expansion of
//! deflated members against what deflate can produce (1032:1) and against the caller's cap,
//! the inflated size and CRC-32 against the directory. Zip64 sizes and offsets are read;
//! encrypted members and methods other than stored and deflate are refused by name. Bytes
//! before the archive (a launcher script) are allowed, as Go's and Java's readers allow them.

use std::borrow::Cow;
use std::io::Read;

use crate::analyzer::AnalyzeError;
use crate::bytes::{ByteSource, Need, ReadError, Window};

/// Largest central directory read.
pub const MAX_DIRECTORY: u64 = 64 << 20;
/// Most entries accepted in one archive.
pub const MAX_ENTRIES: u64 = 1 << 20;
/// Deflate cannot expand more than about 1032:1; a member declaring more is a bomb.
pub const MAX_RATIO: u64 = 1032;
/// Bytes of the tail first searched for the end record (a short comment fits).
pub const SHORT_TAIL: u64 = 1 << 10;
/// Bytes of the tail that always hold the end record: its 22 bytes + the longest comment +
/// the zip64 locator.
pub const LONG_TAIL: u64 = 22 + 0xffff + 20;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const LOCATOR_SIG: u32 = 0x0706_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: u64 = 30;

/// Compression method: stored.
pub const STORED: u16 = 0;
/// Compression method: deflate.
pub const DEFLATED: u16 = 8;

/// Why an archive or a member could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    /// Bytes not fetched yet (`Need`), or a read past the data.
    #[error("reading {what}")]
    Read {
        /// What was being read.
        what: &'static str,
        /// The read error.
        #[source]
        source: ReadError,
    },
    /// No end-of-central-directory record in the tail.
    #[error("not a zip archive: no end-of-central-directory record")]
    NotZip,
    /// A structure is damaged.
    #[error("invalid {what} at offset {offset:#x}: {reason}")]
    Invalid {
        /// The structure.
        what: &'static str,
        /// Its offset in the archive.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A count or size exceeds a limit.
    #[error("{what}: {value} exceeds the limit of {max}")]
    Limit {
        /// What was measured.
        what: String,
        /// The value found.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A member this reader does not decode.
    #[error("member {name}: {reason}")]
    Unsupported {
        /// Member name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A member's bytes do not match the directory.
    #[error("member {name}: {reason}")]
    Corrupt {
        /// Member name.
        name: String,
        /// What does not match.
        reason: String,
    },
}

impl ZipError {
    /// The [`Need`] when the error only means "fetch more bytes and run again".
    pub fn need(&self) -> Option<&Need> {
        match self {
            ZipError::Read {
                source: ReadError::Need(n),
                ..
            } => Some(n),
            _ => None,
        }
    }
}

impl From<ZipError> for AnalyzeError {
    fn from(e: ZipError) -> Self {
        match e {
            ZipError::Read {
                source: ReadError::Need(need),
                ..
            } => AnalyzeError::Need(need),
            e @ ZipError::Limit { .. } => AnalyzeError::Limit(e.to_string()),
            e => AnalyzeError::Invalid(e.to_string()),
        }
    }
}

fn read<'a>(
    src: &'a dyn ByteSource,
    offset: u64,
    len: u64,
    what: &'static str,
) -> Result<Cow<'a, [u8]>, ZipError> {
    if offset.checked_add(len).is_none_or(|end| end > src.len()) {
        return Err(ZipError::Invalid {
            what,
            offset,
            reason: "runs past the end of the archive",
        });
    }
    let len = usize::try_from(len).map_err(|_| ZipError::Limit {
        what: what.to_owned(),
        value: len,
        max: usize::MAX as u64,
    })?;
    src.read_at(offset, len)
        .map_err(|source| ZipError::Read { what, source })
}

/// Bytes in memory (an inflated member) as a [`ByteSource`]; it never asks for more bytes
/// and has no place in the file ([`ByteSource::file_offset`] is `None`).
pub fn in_memory(bytes: &[u8]) -> Window<'_, [u8]> {
    // A window over all of a slice always lies inside it.
    Window::new(bytes, 0, bytes.len() as u64).expect("a whole-slice window is in bounds")
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// One member as the central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// Name (UTF-8, or bytes shown lossily).
    pub name: String,
    /// General purpose flags.
    pub flags: u16,
    /// Compression method.
    pub method: u16,
    /// CRC-32 of the uncompressed bytes.
    pub crc32: u32,
    /// Compressed size.
    pub compressed_size: u64,
    /// Uncompressed size.
    pub uncompressed_size: u64,
    /// Offset of the local header (prefix bytes already added).
    pub local_header_offset: u64,
    /// Length of the central record's extra field (the local one is usually the same; used to
    /// ask for header and data in one read).
    central_extra_len: u16,
}

impl ZipEntry {
    /// True for a directory entry (name ending in `/`).
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }

    /// True when the member is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.flags & 1 != 0
    }

    /// Where the member's data probably ends: right, unless its local header's extra field
    /// is longer than the central record's (used to ask for bytes a round early).
    pub fn likely_data_end(&self) -> u64 {
        self.local_header_offset
            .saturating_add(LOCAL_LEN + self.name.len() as u64)
            .saturating_add(u64::from(self.central_extra_len))
            .saturating_add(self.compressed_size)
    }
}

/// The central directory of an archive.
#[derive(Debug, Clone)]
pub struct ZipArchive {
    entries: Vec<ZipEntry>,
    directory_len: u64,
}

/// Where the central directory is, from the end records.
struct DirectoryEnd {
    entries: u64,
    size: u64,
    offset: u64,
    /// Where the record naming the directory starts (the zip64 one when present).
    record_at: u64,
}

impl ZipArchive {
    /// Finds the end record (first in the last [`SHORT_TAIL`] bytes, then in the last
    /// [`LONG_TAIL`]) and reads the central directory.
    pub fn open(src: &dyn ByteSource) -> Result<ZipArchive, ZipError> {
        let end = find_directory_end(src)?;
        if end.size > MAX_DIRECTORY {
            return Err(ZipError::Limit {
                what: "central directory size".to_owned(),
                value: end.size,
                max: MAX_DIRECTORY,
            });
        }
        if end.entries > MAX_ENTRIES {
            return Err(ZipError::Limit {
                what: "zip entry count".to_owned(),
                value: end.entries,
                max: MAX_ENTRIES,
            });
        }
        if end.entries.saturating_mul(CENTRAL_LEN as u64) > end.size {
            return Err(ZipError::Invalid {
                what: "end of central directory",
                offset: end.record_at,
                reason: "entry count does not fit the directory size",
            });
        }
        // Bytes before the archive shift every offset.
        let prefix = end
            .record_at
            .checked_sub(end.size)
            .and_then(|start| start.checked_sub(end.offset))
            .ok_or(ZipError::Invalid {
                what: "end of central directory",
                offset: end.record_at,
                reason: "central directory does not fit before its end record",
            })?;
        let dir_at = end.offset + prefix;
        let dir = read(src, dir_at, end.size, "central directory")?;
        let mut entries = Vec::with_capacity(end.entries as usize);
        let mut at = 0usize;
        for _ in 0..end.entries {
            let record_at = dir_at + at as u64;
            let bad = |reason| ZipError::Invalid {
                what: "central directory record",
                offset: record_at,
                reason,
            };
            let fixed = dir.get(at..at + CENTRAL_LEN).ok_or(bad("truncated"))?;
            if u32_at(fixed, 0) != CENTRAL_SIG {
                return Err(bad("bad signature"));
            }
            let name_len = usize::from(u16_at(fixed, 28));
            let extra_len = u16_at(fixed, 30);
            let comment_len = usize::from(u16_at(fixed, 32));
            let var_start = at + CENTRAL_LEN;
            let var_end = var_start + name_len + usize::from(extra_len) + comment_len;
            let var = dir
                .get(var_start..var_end)
                .ok_or(bad("name, extra field or comment runs past the directory"))?;
            let name = String::from_utf8_lossy(&var[..name_len]).into_owned();
            let extra = &var[name_len..name_len + usize::from(extra_len)];
            let mut entry = ZipEntry {
                name,
                flags: u16_at(fixed, 8),
                method: u16_at(fixed, 10),
                crc32: u32_at(fixed, 16),
                compressed_size: u64::from(u32_at(fixed, 20)),
                uncompressed_size: u64::from(u32_at(fixed, 24)),
                local_header_offset: u64::from(u32_at(fixed, 42)),
                central_extra_len: extra_len,
            };
            apply_zip64_extra(&mut entry, extra).map_err(bad)?;
            entry.local_header_offset = entry
                .local_header_offset
                .checked_add(prefix)
                .filter(|&o| o < src.len())
                .ok_or(bad("local header offset outside the archive"))?;
            entries.push(entry);
            at = var_end;
        }
        Ok(ZipArchive {
            entries,
            directory_len: end.size,
        })
    }

    /// The entries in directory order.
    pub fn entries(&self) -> &[ZipEntry] {
        &self.entries
    }

    /// Bytes of the central directory.
    pub fn directory_len(&self) -> u64 {
        self.directory_len
    }
}

/// Fields set to all ones in the fixed record are in the zip64 extra field (id 1), in order.
fn apply_zip64_extra(entry: &mut ZipEntry, mut extra: &[u8]) -> Result<(), &'static str> {
    let wants_usize = entry.uncompressed_size == 0xffff_ffff;
    let wants_csize = entry.compressed_size == 0xffff_ffff;
    let wants_offset = entry.local_header_offset == 0xffff_ffff;
    if !(wants_usize || wants_csize || wants_offset) {
        return Ok(());
    }
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2));
        let body = extra
            .get(4..4 + len)
            .ok_or("extra field runs past its record")?;
        extra = &extra[4 + len..];
        if id != 1 {
            continue;
        }
        let mut fields = body.chunks_exact(8).map(|c| u64_at(c, 0));
        if wants_usize {
            entry.uncompressed_size = fields.next().ok_or("zip64 extra field too short")?;
        }
        if wants_csize {
            entry.compressed_size = fields.next().ok_or("zip64 extra field too short")?;
        }
        if wants_offset {
            entry.local_header_offset = fields.next().ok_or("zip64 extra field too short")?;
        }
        return Ok(());
    }
    Err("zip64 sizes without a zip64 extra field")
}

fn find_directory_end(src: &dyn ByteSource) -> Result<DirectoryEnd, ZipError> {
    let size = src.len();
    if size < EOCD_LEN {
        return Err(ZipError::NotZip);
    }
    for tail in [SHORT_TAIL, LONG_TAIL] {
        let tail = tail.min(size);
        let start = size - tail;
        let bytes = read(src, start, tail, "end of central directory")?;
        if let Some(at) = last_end_record(&bytes) {
            return directory_end(src, &bytes[at..], start + at as u64);
        }
        if tail == size {
            break;
        }
    }
    Err(ZipError::NotZip)
}

/// The last end record in `tail` whose comment fits in what follows it.
fn last_end_record(tail: &[u8]) -> Option<usize> {
    let last = tail.len().checked_sub(EOCD_LEN as usize)?;
    (0..=last).rev().find(|&i| {
        u32_at(tail, i) == EOCD_SIG
            && i + EOCD_LEN as usize + usize::from(u16_at(tail, i + 20)) <= tail.len()
    })
}

fn directory_end(
    src: &dyn ByteSource,
    record: &[u8],
    record_at: u64,
) -> Result<DirectoryEnd, ZipError> {
    let mut end = DirectoryEnd {
        entries: u64::from(u16_at(record, 10)),
        size: u64::from(u32_at(record, 12)),
        offset: u64::from(u32_at(record, 16)),
        record_at,
    };
    // All-ones fields mean the values are in the zip64 record, found through the locator
    // right before the end record.
    if end.entries != 0xffff && end.size != 0xffff_ffff && end.offset != 0xffff_ffff {
        return Ok(end);
    }
    let bad = |offset, reason| ZipError::Invalid {
        what: "zip64 end of central directory",
        offset,
        reason,
    };
    let locator_at = record_at
        .checked_sub(20)
        .ok_or(bad(record_at, "no room for the zip64 locator"))?;
    let locator = read(src, locator_at, 20, "zip64 end locator")?;
    if u32_at(&locator, 0) != LOCATOR_SIG {
        // Plain archive that happens to hold all-ones values.
        return Ok(end);
    }
    // Where the locator says, or (with bytes before the archive) right before the locator.
    let mut candidates = vec![u64_at(&locator, 8)];
    if let Some(before) = locator_at.checked_sub(56) {
        candidates.push(before);
    }
    for at in candidates {
        if at.checked_add(56).is_none_or(|e| e > locator_at) {
            continue;
        }
        let record64 = read(src, at, 56, "zip64 end of central directory")?;
        if u32_at(&record64, 0) == EOCD64_SIG {
            end.entries = u64_at(&record64, 32);
            end.size = u64_at(&record64, 40);
            end.offset = u64_at(&record64, 48);
            end.record_at = at;
            return Ok(end);
        }
    }
    Err(bad(
        locator_at,
        "the zip64 locator points to no zip64 record",
    ))
}

/// Where a member's data starts: after its local header, whose name and extra lengths may
/// differ from the central record's. When `with_data`, the header and the data are asked for
/// in one read (assuming the local extra field is as long as the central one).
pub fn data_offset(
    src: &dyn ByteSource,
    entry: &ZipEntry,
    with_data: bool,
) -> Result<u64, ZipError> {
    let at = entry.local_header_offset;
    let guess = LOCAL_LEN
        + entry.name.len() as u64
        + u64::from(entry.central_extra_len)
        + if with_data { entry.compressed_size } else { 0 };
    // One read for header (and data), so that a missing range costs one round.
    read(
        src,
        at,
        guess.min(src.len().saturating_sub(at)),
        "local header",
    )?;
    let fixed = read(src, at, LOCAL_LEN, "local header")?;
    if u32_at(&fixed, 0) != LOCAL_SIG {
        return Err(ZipError::Invalid {
            what: "local header",
            offset: at,
            reason: "bad signature",
        });
    }
    let start = at + LOCAL_LEN + u64::from(u16_at(&fixed, 26)) + u64::from(u16_at(&fixed, 28));
    if start
        .checked_add(entry.compressed_size)
        .is_none_or(|end| end > src.len())
    {
        return Err(ZipError::Invalid {
            what: "member data",
            offset: start,
            reason: "runs past the end of the archive",
        });
    }
    Ok(start)
}

/// A stored member, read in place.
pub fn stored<'a>(
    src: &'a dyn ByteSource,
    entry: &ZipEntry,
) -> Result<Window<'a, dyn ByteSource + 'a>, ZipError> {
    check_readable(entry)?;
    if entry.method != STORED {
        return Err(ZipError::Unsupported {
            name: entry.name.clone(),
            reason: format!("compression method {} is not stored", entry.method),
        });
    }
    if entry.compressed_size != entry.uncompressed_size {
        return Err(ZipError::Corrupt {
            name: entry.name.clone(),
            reason: "stored member with different compressed and uncompressed sizes".to_owned(),
        });
    }
    let start = data_offset(src, entry, false)?;
    Window::new(src, start, entry.compressed_size).map_err(|source| ZipError::Read {
        what: "stored member",
        source,
    })
}

fn check_readable(entry: &ZipEntry) -> Result<(), ZipError> {
    if entry.is_encrypted() {
        return Err(ZipError::Unsupported {
            name: entry.name.clone(),
            reason: "encrypted".to_owned(),
        });
    }
    if entry.method != STORED && entry.method != DEFLATED {
        return Err(ZipError::Unsupported {
            name: entry.name.clone(),
            reason: format!("compression method {}", entry.method),
        });
    }
    Ok(())
}

/// A budget of bytes that inflating may still produce, shared by every member read while
/// analysing one file (nested archives included).
#[derive(Debug, Clone)]
pub struct InflateBudget {
    left: u64,
    total: u64,
}

impl InflateBudget {
    /// A budget of `total` bytes.
    pub fn new(total: u64) -> Self {
        InflateBudget { left: total, total }
    }

    /// Bytes still allowed.
    pub fn left(&self) -> u64 {
        self.left
    }

    /// The budget it started with.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// The whole content of a member: borrowed in place when stored, inflated when deflated.
/// Refused before any byte is read when the declared size exceeds `cap` or the budget, or
/// the declared expansion exceeds what deflate can produce; refused after inflating when
/// the output is longer or shorter than declared or its CRC-32 differs.
pub fn read_member<'a>(
    src: &'a dyn ByteSource,
    entry: &ZipEntry,
    cap: u64,
    budget: &mut InflateBudget,
) -> Result<Cow<'a, [u8]>, ZipError> {
    check_readable(entry)?;
    let limit = cap.min(budget.left);
    if entry.uncompressed_size > limit {
        return Err(ZipError::Limit {
            what: format!("member {} size", entry.name),
            value: entry.uncompressed_size,
            max: limit,
        });
    }
    if entry.method == DEFLATED
        && entry.uncompressed_size > entry.compressed_size.max(1).saturating_mul(MAX_RATIO)
    {
        return Err(ZipError::Limit {
            what: format!("member {} declared expansion ratio", entry.name),
            value: entry.uncompressed_size / entry.compressed_size.max(1),
            max: MAX_RATIO,
        });
    }
    let start = data_offset(src, entry, true)?;
    let raw = read(src, start, entry.compressed_size, "member data")?;
    let bytes = if entry.method == STORED {
        if entry.compressed_size != entry.uncompressed_size {
            return Err(ZipError::Corrupt {
                name: entry.name.clone(),
                reason: "stored member with different compressed and uncompressed sizes".to_owned(),
            });
        }
        raw
    } else {
        // The declared size is only an upper bound here: grow as the data proves it.
        let mut out = Vec::with_capacity(entry.uncompressed_size.min(1 << 20) as usize);
        flate2::read::DeflateDecoder::new(&raw[..])
            .take(entry.uncompressed_size + 1)
            .read_to_end(&mut out)
            .map_err(|e| ZipError::Corrupt {
                name: entry.name.clone(),
                reason: format!("deflate stream: {e}"),
            })?;
        if out.len() as u64 != entry.uncompressed_size {
            return Err(ZipError::Corrupt {
                name: entry.name.clone(),
                reason: format!(
                    "inflates to {}{} bytes, the directory says {}",
                    if out.len() as u64 > entry.uncompressed_size {
                        "more than "
                    } else {
                        ""
                    },
                    out.len().min(entry.uncompressed_size as usize),
                    entry.uncompressed_size
                ),
            });
        }
        Cow::Owned(out)
    };
    budget.left -= entry.uncompressed_size;
    let mut crc = flate2::Crc::new();
    crc.update(&bytes);
    if crc.sum() != entry.crc32 {
        return Err(ZipError::Corrupt {
            name: entry.name.clone(),
            reason: format!(
                "CRC-32 {:08x}, the directory says {:08x}",
                crc.sum(),
                entry.crc32
            ),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::testzip::{Member, build_zip};
    use crate::archive::zip::in_memory as mem;
    use crate::bytes::FileView;

    fn members() -> Vec<Member> {
        vec![
            Member::stored("a.txt", b"hello stored"),
            Member::deflated("dir/b.txt", &b"hello deflated ".repeat(100)),
            Member::stored("empty/", b""),
        ]
    }

    #[test]
    fn reads_stored_and_deflated_members() {
        let zip = build_zip(&members(), b"");
        let src = &mem(&zip);
        let archive = ZipArchive::open(src).unwrap();
        let names: Vec<_> = archive.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.txt", "dir/b.txt", "empty/"]);
        let mut budget = InflateBudget::new(1 << 20);
        let a = read_member(src, &archive.entries()[0], 100, &mut budget).unwrap();
        assert_eq!(&*a, b"hello stored");
        let b = read_member(src, &archive.entries()[1], 1 << 20, &mut budget).unwrap();
        assert_eq!(&*b, &b"hello deflated ".repeat(100)[..]);
        assert_eq!(budget.left(), (1 << 20) - 12 - 1500);
        let w = stored(src, &archive.entries()[0]).unwrap();
        assert_eq!(&*w.read_at(6, 6).unwrap(), b"stored");
        assert!(archive.entries()[2].is_dir());
    }

    #[test]
    fn prefix_comment_and_zip64_are_handled() {
        let mut zip = b"#!/bin/sh\nexec java -jar \"$0\"\n".to_vec();
        let plain = build_zip(&members(), b"a comment");
        zip.extend_from_slice(&plain);
        let archive = ZipArchive::open(&mem(&zip)).unwrap();
        let mut budget = InflateBudget::new(1 << 20);
        let zip_src = mem(&zip);
        let a = read_member(&zip_src, &archive.entries()[0], 100, &mut budget).unwrap();
        assert_eq!(&*a, b"hello stored");

        let zip64 = crate::archive::testzip::build_zip64(&members());
        let archive = ZipArchive::open(&mem(&zip64)).unwrap();
        assert_eq!(archive.entries().len(), 3);
        let zip64_src = mem(&zip64);
        let b = read_member(&zip64_src, &archive.entries()[1], 1 << 20, &mut budget).unwrap();
        assert_eq!(b.len(), 1500);
    }

    #[test]
    fn a_long_comment_costs_a_second_tail_read() {
        let zip = build_zip(&members(), &vec![b'c'; 5000]);
        let mut view = FileView::new(zip.len() as u64);
        let mut rounds = 0;
        loop {
            match ZipArchive::open(&view) {
                Ok(a) => {
                    assert_eq!(a.entries().len(), 3);
                    break;
                }
                Err(e) => {
                    let need = e.need().expect("only missing bytes").clone();
                    rounds += 1;
                    for r in need.ranges {
                        view.insert(r.start, &zip[r.start as usize..r.end as usize]);
                    }
                }
            }
        }
        assert_eq!(
            rounds, 2,
            "short tail, then the long tail (which holds the directory)"
        );
    }

    #[test]
    fn damaged_archives_are_refused_by_name() {
        let zip = build_zip(&members(), b"");
        assert_eq!(ZipArchive::open(&mem(b"PK")).unwrap_err(), ZipError::NotZip);
        assert_eq!(
            ZipArchive::open(&mem(&vec![0u8; 5000])).unwrap_err(),
            ZipError::NotZip
        );
        let eocd = zip.len() - 22;
        // Directory offset past the end.
        let mut bad = zip.clone();
        bad[eocd + 16..eocd + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            ZipArchive::open(&mem(&bad)),
            Err(ZipError::Invalid { .. })
        ));
        // Entry count that cannot fit.
        let mut bad = zip.clone();
        bad[eocd + 10..eocd + 12].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(
            ZipArchive::open(&mem(&bad)),
            Err(ZipError::Invalid { .. })
        ));
        // Bad central signature.
        let cd = u32_at(&zip, eocd + 16) as usize;
        let mut bad = zip.clone();
        bad[cd] = b'X';
        assert!(matches!(
            ZipArchive::open(&mem(&bad)),
            Err(ZipError::Invalid {
                reason: "bad signature",
                ..
            })
        ));
        // Name length running past the directory.
        let mut bad = zip.clone();
        bad[cd + 28..cd + 30].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(
            ZipArchive::open(&mem(&bad)),
            Err(ZipError::Invalid { .. })
        ));
        // Damaged deflate data / CRC.
        let archive = ZipArchive::open(&mem(&zip)).unwrap();
        let b = &archive.entries()[1];
        let start = data_offset(&mem(&zip), b, true).unwrap() as usize;
        let mut bad = zip.clone();
        bad[start + 2] ^= 0xff;
        let mut budget = InflateBudget::new(1 << 20);
        assert!(matches!(
            read_member(&mem(&bad), b, 1 << 20, &mut budget),
            Err(ZipError::Corrupt { .. })
        ));
        let mut bad_entry = archive.entries()[0].clone();
        bad_entry.crc32 ^= 1;
        assert!(matches!(
            read_member(&mem(&zip), &bad_entry, 100, &mut budget),
            Err(ZipError::Corrupt { .. })
        ));
        // Encrypted and unknown methods.
        let mut enc = archive.entries()[0].clone();
        enc.flags |= 1;
        assert!(matches!(
            read_member(&mem(&zip), &enc, 100, &mut budget),
            Err(ZipError::Unsupported { .. })
        ));
        let mut bz = archive.entries()[0].clone();
        bz.method = 12;
        assert!(matches!(
            read_member(&mem(&zip), &bz, 100, &mut budget),
            Err(ZipError::Unsupported { .. })
        ));
    }

    #[test]
    fn bombs_end_in_bounded_errors() {
        // A member that really inflates to 64 MiB of zeros (~64 KiB compressed).
        let bomb = Member::deflated("bomb.bin", &vec![0u8; 64 << 20]);
        let zip = build_zip(&[bomb], b"");
        let archive = ZipArchive::open(&mem(&zip)).unwrap();
        let entry = &archive.entries()[0];
        let mut budget = InflateBudget::new(64 << 20);
        // Refused from the directory alone: the declared size exceeds the cap.
        let view = FileView::new(zip.len() as u64);
        let err = read_member(&view, entry, 16 << 20, &mut budget).unwrap_err();
        assert!(matches!(err, ZipError::Limit { .. }), "{err}");
        // A lying directory (declares 1 KiB): inflating stops right after 1 KiB.
        let mut liar = entry.clone();
        liar.uncompressed_size = 1024;
        let err = read_member(&mem(&zip), &liar, 16 << 20, &mut budget).unwrap_err();
        assert!(matches!(err, ZipError::Corrupt { .. }), "{err}");
        // A declared ratio deflate cannot produce.
        let mut ratio = entry.clone();
        ratio.compressed_size = 10;
        ratio.uncompressed_size = 10 * 2000;
        let err = read_member(&mem(&zip), &ratio, 16 << 20, &mut budget).unwrap_err();
        assert!(matches!(err, ZipError::Limit { .. }), "{err}");
        // The budget is shared.
        let mut small = InflateBudget::new(100);
        let ok = build_zip(&[Member::deflated("x", &[1u8; 80])], b"");
        let a = ZipArchive::open(&mem(&ok)).unwrap();
        read_member(&mem(&ok), &a.entries()[0], 1000, &mut small).unwrap();
        assert!(matches!(
            read_member(&mem(&ok), &a.entries()[0], 1000, &mut small),
            Err(ZipError::Limit { .. })
        ));
    }

    #[test]
    fn a_member_costs_one_round_for_header_and_data() {
        let zip = build_zip(&members(), b"");
        let src = &mem(&zip);
        let archive = ZipArchive::open(src).unwrap();
        let mut view = FileView::new(zip.len() as u64);
        let entry = &archive.entries()[1];
        let mut budget = InflateBudget::new(1 << 20);
        let need = read_member(&view, entry, 1 << 20, &mut budget)
            .unwrap_err()
            .need()
            .cloned()
            .unwrap();
        for r in need.ranges {
            view.insert(r.start, &zip[r.start as usize..r.end as usize]);
        }
        assert_eq!(
            read_member(&view, entry, 1 << 20, &mut budget)
                .unwrap()
                .len(),
            1500
        );
    }
}
