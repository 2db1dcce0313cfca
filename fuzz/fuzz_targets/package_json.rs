//! Any bytes as a Node.js `package.json`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::analyzer::{Analyzer, Context};
use nyscan_analyze::bytes::FileView;
use nyscan_analyze::lang::{NodePackageAnalyzer, parse_package_json};

fuzz_target!(|data: &[u8]| {
    let _ = parse_package_json(data);
    let _ = NodePackageAnalyzer.analyze(
        "app/node_modules/x/package.json",
        &FileView::whole(data.to_vec()),
        &Context::default(),
    );
});
