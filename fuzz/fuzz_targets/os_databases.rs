//! Any bytes as the OS files read first: a dpkg `status`, a dpkg `md5sums` list, an apk
//! `installed` database and the release files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::analyzer::{Analyzer, Context};
use nyscan_analyze::bytes::FileView;
use nyscan_analyze::os::apk::Apk;
use nyscan_analyze::os::dpkg::Dpkg;
use nyscan_analyze::os::release::ReleaseFiles;

fuzz_target!(|data: &[u8]| {
    let view = FileView::whole(data.to_vec());
    let context = Context::default();
    let _ = Dpkg.analyze("var/lib/dpkg/status", &view, &context);
    let _ = Dpkg.analyze("var/lib/dpkg/info/x:amd64.md5sums", &view, &context);
    let _ = Apk.analyze("lib/apk/db/installed", &view, &context);
    for path in ["etc/os-release", "etc/debian_version", "etc/redhat-release", "etc/lsb-release"] {
        let _ = ReleaseFiles.analyze(path, &view, &context);
    }
});
