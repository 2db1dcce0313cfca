//! Any bytes as a Python METADATA / PKG-INFO file, read by the analyzer the way the planner
//! feeds it: the first 64 KiB, then the ranges it asks for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::analyzer::{AnalyzeError, Analyzer, Context};
use nyscan_analyze::bytes::FileView;
use nyscan_analyze::lang::{PythonPackageAnalyzer, parse_metadata_header};

fuzz_target!(|data: &[u8]| {
    let _ = parse_metadata_header(data);
    let mut view = FileView::new(data.len() as u64);
    view.insert(0, &data[..data.len().min(64 * 1024)]);
    for _ in 0..8 {
        match PythonPackageAnalyzer.analyze("x.dist-info/METADATA", &view, &Context::default()) {
            Err(AnalyzeError::Need(need)) => {
                for r in need.ranges {
                    view.insert(r.start, &data[r.start as usize..r.end as usize]);
                }
            }
            _ => return,
        }
    }
    panic!("the analyzer kept asking for bytes");
});
