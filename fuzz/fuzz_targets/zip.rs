//! Any bytes as a zip archive: end records (zip64 too), central directory, local headers,
//! stored windows and bounded inflation with size and CRC checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::archive::zip::{InflateBudget, ZipArchive, in_memory, read_member, stored};
use nyscan_analyze::bytes::ByteSource;

fuzz_target!(|data: &[u8]| {
    let src = in_memory(data);
    let Ok(zip) = ZipArchive::open(&src) else {
        return;
    };
    let mut budget = InflateBudget::new(16 << 20);
    for entry in zip.entries().iter().take(256) {
        if let Ok(window) = stored(&src, entry) {
            let _ = window.read_up_to(0, 64);
        }
        let _ = read_member(&src, entry, 1 << 20, &mut budget);
    }
});
