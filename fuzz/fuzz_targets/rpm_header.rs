//! Any bytes as an rpm header blob (one record of an rpm database).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::rpm::RpmPackageInfo;

fuzz_target!(|data: &[u8]| {
    let _ = RpmPackageInfo::parse(data);
});
