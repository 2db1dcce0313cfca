//! Any bytes as a Java archive (`pom.properties`, `MANIFEST.MF`, nested archives with their
//! depth, count, directory and inflation budgets) and as a Python egg.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::archive::egg::egg_package;
use nyscan_analyze::archive::java::scan_java_archive;
use nyscan_analyze::archive::zip::in_memory;

fuzz_target!(|data: &[u8]| {
    let src = in_memory(data);
    let _ = scan_java_archive(&src, "srv/app-1.0.0.jar");
    let _ = egg_package(&src, "lib/x-1.0-py3.egg");
});
