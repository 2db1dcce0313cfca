//! NDB databases: the `Packages.db` file of rpm's "new database" backend (SUSE).
//!
//! Layout (rpm `lib/backend/ndb/rpmpkg.c`), all integers little-endian:
//!
//! ```text
//! 0   header (32 bytes): magic "RpmP", version 0, generation, slot pages, next index, ...
//! 32  slots (16 bytes each) filling `slot pages` 4 KiB pages (the header takes the first
//!     two): magic "Slot", package index, block offset, block count; block offset 0 = free
//! blocks of 16 bytes: a package record at block offset b spans `count` blocks:
//!     head (16): magic "BlbS", package index, generation, blob length
//!     blob (the header blob), zero padding
//!     tail (12, the record's last bytes): adler32, blob length, magic "BlbE"
//!     count = ceil((16 + blob length + 12) / 16)
//! ```
//!
//! Every slot must carry its magic; a used slot's record must lie inside the file, after the
//! slot pages, and agree with its slot (package index, block count) and with its tail (blob
//! length, magic). The checksum is not verified (rpm checks it only when verifying a
//! database).

use super::error::{Budget, RpmDbError};

/// `RpmP`, little-endian.
pub const NDB_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_HEAD_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const BLOB_TAIL_MAGIC: u32 = u32::from_le_bytes(*b"BlbE");
const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLOCK: u64 = 16;
const PAGE: u64 = 4096;
const BLOB_HEAD: u64 = 16;
const BLOB_TAIL: u64 = 12;

/// Whether `db` starts with the NDB magic.
pub fn is_ndb(db: &[u8]) -> bool {
    db.get(..4) == Some(b"RpmP".as_slice())
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The package header blobs of an NDB `Packages.db`, in slot order.
pub fn header_blobs(bytes: &[u8]) -> Result<Vec<&[u8]>, RpmDbError> {
    let error = |offset: u64, reason| RpmDbError::Ndb { offset, reason };
    if bytes.len() < HEADER_SIZE {
        return Err(error(0, "file shorter than the NDB header"));
    }
    if le32(bytes, 0) != NDB_MAGIC {
        return Err(error(0, "bad magic"));
    }
    if le32(bytes, 4) != 0 {
        return Err(error(4, "unsupported NDB version"));
    }
    let slot_pages = u64::from(le32(bytes, 12));
    let size = bytes.len() as u64;
    if slot_pages == 0 {
        return Err(error(12, "no slot pages"));
    }
    if slot_pages * PAGE > size {
        return Err(error(12, "slot pages run past the end of the file"));
    }
    let file_blocks = size / BLOCK;
    let first_record_block = slot_pages * PAGE / BLOCK;
    let mut budget = Budget::new(size);
    let mut blobs = Vec::new();
    for slot_at in (HEADER_SIZE..(slot_pages * PAGE) as usize).step_by(SLOT_SIZE) {
        let slot_offset = slot_at as u64;
        if le32(bytes, slot_at) != SLOT_MAGIC {
            return Err(error(slot_offset, "bad slot magic"));
        }
        let block = u64::from(le32(bytes, slot_at + 8));
        if block == 0 {
            continue; // free slot
        }
        let index = le32(bytes, slot_at + 4);
        let count = u64::from(le32(bytes, slot_at + 12));
        if index == 0 || count == 0 {
            return Err(error(
                slot_offset,
                "used slot without package index or blocks",
            ));
        }
        if block < first_record_block || block + count > file_blocks {
            return Err(error(slot_offset, "slot record outside the record area"));
        }
        let start = block * BLOCK;
        let end = (block + count) * BLOCK;
        let record = &bytes[start as usize..end as usize];
        if count * BLOCK < BLOB_HEAD + BLOB_TAIL {
            return Err(error(start, "record shorter than its head and tail"));
        }
        if le32(record, 0) != BLOB_HEAD_MAGIC {
            return Err(error(start, "bad record magic"));
        }
        if le32(record, 4) != index {
            return Err(error(start + 4, "record belongs to another package index"));
        }
        let blob_len = u64::from(le32(record, 12));
        if count != (BLOB_HEAD + blob_len + BLOB_TAIL).div_ceil(BLOCK) {
            return Err(error(
                start + 12,
                "blob length disagrees with the slot's block count",
            ));
        }
        let tail = record.len() - BLOB_TAIL as usize;
        if u64::from(le32(record, tail + 4)) != blob_len
            || le32(record, tail + 8) != BLOB_TAIL_MAGIC
        {
            return Err(error(start + tail as u64, "bad record tail"));
        }
        budget.take(blob_len)?;
        blobs.push(&record[BLOB_HEAD as usize..(BLOB_HEAD + blob_len) as usize]);
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One slot page, records after it.
    pub(crate) fn build(blobs: &[&[u8]]) -> Vec<u8> {
        let mut db = vec![0u8; PAGE as usize];
        db[0..4].copy_from_slice(b"RpmP");
        db[12..16].copy_from_slice(&1u32.to_le_bytes());
        db[16..20].copy_from_slice(&(blobs.len() as u32 + 1).to_le_bytes());
        for slot in (HEADER_SIZE..PAGE as usize).step_by(SLOT_SIZE) {
            db[slot..slot + 4].copy_from_slice(b"Slot");
        }
        for (i, blob) in blobs.iter().enumerate() {
            let index = i as u32 + 1;
            let block = db.len() as u64 / BLOCK;
            let count = (BLOB_HEAD + blob.len() as u64 + BLOB_TAIL).div_ceil(BLOCK);
            let mut record = vec![0u8; (count * BLOCK) as usize];
            record[0..4].copy_from_slice(b"BlbS");
            record[4..8].copy_from_slice(&index.to_le_bytes());
            record[12..16].copy_from_slice(&(blob.len() as u32).to_le_bytes());
            record[16..16 + blob.len()].copy_from_slice(blob);
            let tail = record.len() - 12;
            record[tail + 4..tail + 8].copy_from_slice(&(blob.len() as u32).to_le_bytes());
            record[tail + 8..tail + 12].copy_from_slice(b"BlbE");
            db.extend(record);
            let slot = HEADER_SIZE + SLOT_SIZE * i;
            db[slot + 4..slot + 8].copy_from_slice(&index.to_le_bytes());
            db[slot + 8..slot + 12].copy_from_slice(&(block as u32).to_le_bytes());
            db[slot + 12..slot + 16].copy_from_slice(&(count as u32).to_le_bytes());
        }
        db
    }

    #[test]
    fn reads_records_in_slot_order() {
        let db = build(&[b"first header", b"second"]);
        assert!(is_ndb(&db));
        let blobs = header_blobs(&db).unwrap();
        assert_eq!(blobs, [b"first header".as_slice(), b"second".as_slice()]);
    }

    #[test]
    fn damage_is_reported_with_its_offset() {
        let db = build(&[b"first header"]);
        let mut bad = db.clone();
        bad[48..52].copy_from_slice(b"Xlot");
        assert_eq!(
            header_blobs(&bad),
            Err(RpmDbError::Ndb {
                offset: 48,
                reason: "bad slot magic"
            })
        );
        let mut bad = db.clone();
        bad[4096 + 12] = 200; // blob length
        assert!(header_blobs(&bad).is_err());
        let mut bad = db.clone();
        bad[32 + 12..32 + 16].copy_from_slice(&u32::MAX.to_le_bytes()); // block count
        assert!(header_blobs(&bad).is_err());
        let mut bad = db.clone();
        bad[32 + 8..32 + 12].copy_from_slice(&1u32.to_le_bytes()); // record inside slot pages
        assert!(header_blobs(&bad).is_err());
        assert!(header_blobs(&db[..4000]).is_err());
        let mut bad = db.clone();
        bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(header_blobs(&bad).is_err());
    }
}
