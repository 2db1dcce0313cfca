//! Berkeley DB hash databases: the `Packages` file of rpm before 4.16.
//!
//! Layout (Berkeley DB 4.x/5.x hash access method, as rpm's own `bdb_ro` reader reads it):
//!
//! ```text
//! page 0: hash metadata page
//!   12 magic 0x00061561 (read little-endian; 0x61150600 means a big-endian file)
//!   16 version (8..=10)   20 page size (512..=65536, a power of two)
//!   24 encryption algorithm (must be 0)   25 page type (8 = hash metadata)
//!   32 last page number
//! page n at n * pagesize, 26-byte header:
//!    8 page number   16 next page   20 entries (u16)   22 high free offset (u16)
//!   25 type: 2/13 hash (key/value pairs), 7 overflow
//!   hash page: `entries` u16 offsets at 26.., pairs (key, value); item i spans
//!   [offset(i), offset(i-1)) (item 0 ends at the page end); first byte of an item:
//!   1 = inline data, 3 = off-page: u32 first overflow page at +4, u32 total length at +8
//!   overflow page: next page at 16, bytes used (u16) at 22, data from 26
//! ```
//!
//! rpm keys the `Packages` records by a 4-byte header number; record 0 holds rpm's
//! instance counter and is skipped (as rpm does). Every page is scanned in file order (as
//! go-rpmdb does), so damaged bucket chains do not hide records. Values are whole header
//! blobs, inline or spread over overflow page chains; the chains are bounds-checked, must be
//! made of overflow pages and must add up to the recorded length.

use std::borrow::Cow;

use super::error::{Budget, RpmDbError};

/// Hash database magic.
pub const HASH_MAGIC: u32 = 0x0006_1561;
const HASH_MAGIC_SWAPPED: u32 = 0x6115_0600;
const PAGE_HEADER: usize = 26;
const TYPE_HASH_UNSORTED: u8 = 2;
const TYPE_OVERFLOW: u8 = 7;
const TYPE_HASH_META: u8 = 8;
const TYPE_HASH: u8 = 13;
const ITEM_KEYDATA: u8 = 1;
const ITEM_OFFPAGE: u8 = 3;

/// Whether `db` starts like a Berkeley DB hash database (either byte order).
pub fn is_bdb(db: &[u8]) -> bool {
    db.get(12..16)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .is_some_and(|m| m == HASH_MAGIC || m == HASH_MAGIC_SWAPPED)
}

#[derive(Debug, Clone, Copy)]
struct Order {
    big_endian: bool,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        }
    }

    fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    }
}

struct Db<'a> {
    bytes: &'a [u8],
    page_size: usize,
    pages: u64,
    order: Order,
}

impl<'a> Db<'a> {
    fn error(&self, page: u64, within: usize, reason: &'static str) -> RpmDbError {
        RpmDbError::Bdb {
            page,
            offset: page * self.page_size as u64 + within as u64,
            reason,
        }
    }

    fn page(&self, page: u64) -> Result<&'a [u8], RpmDbError> {
        if page >= self.pages {
            return Err(self.error(page, 0, "page number beyond the last page"));
        }
        let start = page as usize * self.page_size;
        Ok(&self.bytes[start..start + self.page_size])
    }
}

/// The package header blobs of a `Packages` hash database.
pub fn header_blobs(bytes: &[u8]) -> Result<Vec<Cow<'_, [u8]>>, RpmDbError> {
    let meta_error = |offset, reason| RpmDbError::Bdb {
        page: 0,
        offset,
        reason,
    };
    if bytes.len() < 512 {
        return Err(meta_error(0, "file shorter than a metadata page"));
    }
    let magic = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    let order = match magic {
        HASH_MAGIC => Order { big_endian: false },
        HASH_MAGIC_SWAPPED => Order { big_endian: true },
        _ => return Err(meta_error(12, "not a hash database (bad magic)")),
    };
    let version = order.u32(bytes, 16);
    if !(8..=10).contains(&version) {
        return Err(meta_error(16, "unsupported hash version"));
    }
    let page_size = order.u32(bytes, 20) as usize;
    if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
        return Err(meta_error(20, "invalid page size"));
    }
    if bytes[24] != 0 {
        return Err(meta_error(24, "encrypted database"));
    }
    if bytes[25] != TYPE_HASH_META {
        return Err(meta_error(25, "first page is not a hash metadata page"));
    }
    let last_page = u64::from(order.u32(bytes, 32));
    let pages = last_page + 1;
    if pages > (bytes.len() / page_size) as u64 {
        return Err(meta_error(32, "last page lies beyond the end of the file"));
    }
    let db = Db {
        bytes,
        page_size,
        pages,
        order,
    };
    let mut budget = Budget::new(bytes.len() as u64);
    let mut blobs = Vec::new();
    for page_no in 1..pages {
        let page = db.page(page_no)?;
        if page[25] != TYPE_HASH && page[25] != TYPE_HASH_UNSORTED {
            continue;
        }
        if u64::from(order.u32(page, 8)) != page_no {
            return Err(db.error(page_no, 8, "hash page records another page number"));
        }
        read_hash_page(&db, page_no, page, &mut budget, &mut blobs)?;
    }
    Ok(blobs)
}

fn read_hash_page<'a>(
    db: &Db<'a>,
    page_no: u64,
    page: &'a [u8],
    budget: &mut Budget,
    blobs: &mut Vec<Cow<'a, [u8]>>,
) -> Result<(), RpmDbError> {
    let order = db.order;
    let entries = usize::from(order.u16(page, 20));
    if entries % 2 != 0 {
        return Err(db.error(page_no, 20, "odd number of hash entries"));
    }
    let index_end = PAGE_HEADER + 2 * entries;
    if index_end > db.page_size {
        return Err(db.error(page_no, 20, "hash entry index larger than the page"));
    }
    let offset_of = |i: usize| usize::from(order.u16(page, PAGE_HEADER + 2 * i));
    // Item i spans [offset(i), offset(i - 1)); item 0 ends at the page end.
    let item = |i: usize| -> Result<&'a [u8], RpmDbError> {
        let start = offset_of(i);
        let end = if i == 0 {
            db.page_size
        } else {
            offset_of(i - 1)
        };
        if start < index_end || start >= end || end > db.page_size {
            return Err(db.error(page_no, PAGE_HEADER + 2 * i, "hash item outside the page"));
        }
        Ok(&page[start..end])
    };
    for pair in 0..entries / 2 {
        let key = item(2 * pair)?;
        let value = item(2 * pair + 1)?;
        let at = offset_of(2 * pair + 1);
        if key[0] == ITEM_KEYDATA && key.len() == 5 && order.u32(key, 1) == 0 {
            continue; // rpm's instance counter, not a package
        }
        let blob: Cow<'a, [u8]> = match value[0] {
            ITEM_KEYDATA => Cow::Borrowed(&value[1..]),
            ITEM_OFFPAGE => {
                if value.len() != 12 {
                    return Err(db.error(page_no, at, "off-page item is not 12 bytes"));
                }
                let first = u64::from(order.u32(value, 4));
                let length = u64::from(order.u32(value, 8));
                budget.take(length)?;
                Cow::Owned(read_overflow(db, first, length)?)
            }
            _ => return Err(db.error(page_no, at, "unsupported hash item type")),
        };
        if let Cow::Borrowed(b) = &blob {
            budget.take(b.len() as u64)?;
        }
        blobs.push(blob);
    }
    Ok(())
}

/// Concatenates an overflow chain of `length` bytes starting at page `first`.
fn read_overflow(db: &Db<'_>, first: u64, length: u64) -> Result<Vec<u8>, RpmDbError> {
    let mut out = Vec::with_capacity(length as usize);
    let mut page_no = first;
    while (out.len() as u64) < length {
        if page_no == 0 {
            return Err(db.error(page_no, 0, "overflow chain ends before its length"));
        }
        let page = db.page(page_no)?;
        if page[25] != TYPE_OVERFLOW {
            return Err(db.error(page_no, 25, "overflow chain reaches a non-overflow page"));
        }
        if u64::from(db.order.u32(page, 8)) != page_no {
            return Err(db.error(page_no, 8, "overflow page records another page number"));
        }
        let used = usize::from(db.order.u16(page, 22));
        let left = (length - out.len() as u64) as usize;
        if used == 0 || used > left || PAGE_HEADER + used > db.page_size {
            return Err(db.error(page_no, 22, "overflow page length out of range"));
        }
        out.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + used]);
        page_no = u64::from(db.order.u32(page, 16));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: usize = 512;

    /// A little-endian hash database: page 1 is the only bucket; each value goes off-page.
    fn build(values: &[&[u8]], inline: &[u8]) -> Vec<u8> {
        let mut pages: Vec<Vec<u8>> = vec![vec![0; PS], vec![0; PS]];
        let mut items: Vec<Vec<u8>> = Vec::new();
        let mut key0 = vec![ITEM_KEYDATA];
        key0.extend_from_slice(&0u32.to_le_bytes());
        items.push(key0);
        let mut counter = vec![ITEM_KEYDATA];
        counter.extend_from_slice(&(values.len() as u32 + 1).to_le_bytes());
        items.push(counter);
        for (i, value) in values.iter().enumerate() {
            let mut key = vec![ITEM_KEYDATA];
            key.extend_from_slice(&(i as u32 + 1).to_le_bytes());
            items.push(key);
            let first = pages.len() as u32;
            for (n, chunk) in value.chunks(PS - PAGE_HEADER).enumerate() {
                let mut page = vec![0; PS];
                let no = pages.len() as u32;
                page[8..12].copy_from_slice(&no.to_le_bytes());
                let last = (n + 1) * (PS - PAGE_HEADER) >= value.len();
                let next = if last { 0 } else { no + 1 };
                page[16..20].copy_from_slice(&next.to_le_bytes());
                page[22..24].copy_from_slice(&(chunk.len() as u16).to_le_bytes());
                page[25] = TYPE_OVERFLOW;
                page[26..26 + chunk.len()].copy_from_slice(chunk);
                pages.push(page);
            }
            let mut off = vec![ITEM_OFFPAGE, 0, 0, 0];
            off.extend_from_slice(&first.to_le_bytes());
            off.extend_from_slice(&(value.len() as u32).to_le_bytes());
            items.push(off);
        }
        let mut key = vec![ITEM_KEYDATA];
        key.extend_from_slice(&(values.len() as u32 + 1).to_le_bytes());
        items.push(key);
        let mut v = vec![ITEM_KEYDATA];
        v.extend_from_slice(inline);
        items.push(v);
        let bucket = &mut pages[1];
        bucket[8..12].copy_from_slice(&1u32.to_le_bytes());
        bucket[20..22].copy_from_slice(&(items.len() as u16).to_le_bytes());
        bucket[25] = TYPE_HASH;
        let mut top = PS;
        for (i, item) in items.iter().enumerate() {
            top -= item.len();
            bucket[top..top + item.len()].copy_from_slice(item);
            bucket[26 + 2 * i..28 + 2 * i].copy_from_slice(&(top as u16).to_le_bytes());
        }
        let last = pages.len() as u32 - 1;
        let meta = &mut pages[0];
        meta[12..16].copy_from_slice(&HASH_MAGIC.to_le_bytes());
        meta[16..20].copy_from_slice(&9u32.to_le_bytes());
        meta[20..24].copy_from_slice(&(PS as u32).to_le_bytes());
        meta[25] = TYPE_HASH_META;
        meta[32..36].copy_from_slice(&last.to_le_bytes());
        pages.concat()
    }

    #[test]
    fn reads_off_page_and_inline_values_and_skips_the_counter() {
        let big: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
        let db = build(&[&big, b"small"], b"inline");
        let blobs = header_blobs(&db).unwrap();
        assert_eq!(blobs.len(), 3);
        assert_eq!(&*blobs[0], &big[..]);
        assert_eq!(&*blobs[1], b"small");
        assert_eq!(&*blobs[2], b"inline");
        assert!(is_bdb(&db));
    }

    #[test]
    fn damage_is_reported_with_its_place() {
        let big = vec![7u8; 1500];
        let db = build(&[&big], b"x");
        // Chain pointing back at the bucket page.
        let mut bad = db.clone();
        let next = 2 * PS + 16;
        bad[next..next + 4].copy_from_slice(&1u32.to_le_bytes());
        assert!(matches!(
            header_blobs(&bad),
            Err(RpmDbError::Bdb { page: 1, .. })
        ));
        // Truncated file.
        assert!(header_blobs(&db[..db.len() - PS]).is_err());
        // Odd entry count.
        let mut bad = db.clone();
        bad[PS + 20] = 3;
        assert!(header_blobs(&bad).is_err());
        // Overflow length larger than the file: the budget stops it before allocating.
        let mut bad = db.clone();
        let item = u16::from_le_bytes([bad[PS + 26 + 6], bad[PS + 26 + 7]]) as usize;
        bad[PS + item + 8..PS + item + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            header_blobs(&bad),
            Err(RpmDbError::TooMuchData { .. })
        ));
        // Bad page size.
        let mut bad = db.clone();
        bad[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert!(header_blobs(&bad).is_err());
        assert!(header_blobs(&[0u8; 100]).is_err());
    }
}
