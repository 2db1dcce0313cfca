//! Any bytes as a Berkeley DB hash `Packages` file: pages, overflow chains, then each header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::rpm::{RpmPackageInfo, bdb};

fuzz_target!(|data: &[u8]| {
    if let Ok(blobs) = bdb::header_blobs(data) {
        for blob in blobs.iter().take(64) {
            let _ = RpmPackageInfo::parse(blob);
        }
    }
});
