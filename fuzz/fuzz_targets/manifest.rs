//! Any bytes given as a manifest or index: parse, pick the Nydus manifest and its bootstrap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_oci::manifest::{ManifestOrIndex, Platform};

fuzz_target!(|data: &[u8]| {
    match ManifestOrIndex::parse(data, None) {
        Ok(ManifestOrIndex::Manifest(m)) => {
            let _ = m.nydus_bootstrap_layer().map(|l| l.sha256_hex().is_ok());
            let _ = m.nydus_blob_layers().len();
        }
        Ok(ManifestOrIndex::Index(i)) => {
            let _ = i.select_nydus(&Platform::host());
        }
        Err(_) => {}
    }
});
