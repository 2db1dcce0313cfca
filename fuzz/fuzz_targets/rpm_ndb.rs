//! Any bytes as an NDB `Packages.db` file: header, slots, records, then each header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::rpm::{RpmPackageInfo, ndb};

fuzz_target!(|data: &[u8]| {
    if let Ok(blobs) = ndb::header_blobs(data) {
        for blob in blobs.iter().take(64) {
            let _ = RpmPackageInfo::parse(blob);
        }
    }
});
