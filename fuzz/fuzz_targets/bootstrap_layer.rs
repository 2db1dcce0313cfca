//! Any bytes given as the gzip tar bootstrap layer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nyscan_oci::extract_bootstrap(data, "sha256:fuzz");
});
