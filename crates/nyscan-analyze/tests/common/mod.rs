//! Helpers shared by the integration tests: running an analyzer the way the planner does,
//! and asking Trivy what it finds in a directory.
//!
//! Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use nyscan_analyze::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use nyscan_analyze::bytes::FileView;
use nyscan_testutil::Skip;

/// Mode of a regular file readable by all.
pub(crate) const REGULAR: u32 = 0o100644;
/// Mode of a regular executable file.
pub(crate) const EXECUTABLE: u32 = 0o100755;

/// What one analysis over a lazily filled view gave and cost.
#[derive(Debug)]
pub(crate) struct Run {
    /// The analyzer's answer (never [`AnalyzeError::Need`]).
    pub(crate) findings: Result<Findings, AnalyzeError>,
    /// Rounds of fetching after the initial bytes.
    pub(crate) rounds: usize,
    /// Bytes handed to the analyzer in all.
    pub(crate) bytes_read: u64,
}

/// Runs `analyzer` on `file` (image path `path`, mode `mode`) as the planner would: the
/// initial bytes of its selection, then the ranges of each `Need`, until it answers. Panics
/// when the analyzer does not select the file or asks more than `max_rounds` times.
pub(crate) fn run_selected(
    analyzer: &dyn Analyzer,
    path: &str,
    file: &[u8],
    mode: u32,
    max_rounds: usize,
) -> Run {
    let meta = FileMeta {
        size: file.len() as u64,
        mode,
    };
    let initial = analyzer.select(path, &meta).expect("selected");
    run_from(analyzer, path, file, initial, max_rounds)
}

/// Runs `analyzer` on `file` (image path `path`) from the bytes `initial` names, then the
/// ranges of each `Need`, until it answers. Panics when it asks more than `max_rounds` times.
pub(crate) fn run_from(
    analyzer: &dyn Analyzer,
    path: &str,
    file: &[u8],
    initial: Initial,
    max_rounds: usize,
) -> Run {
    let size = file.len() as u64;
    let mut view = FileView::new(size);
    let grant = |view: &mut FileView, start: u64, end: u64| {
        let end = end.min(size);
        if start < end {
            view.insert(start, &file[start as usize..end as usize]);
        }
    };
    match initial {
        Initial::Whole => grant(&mut view, 0, size),
        Initial::Head(n) => grant(&mut view, 0, n),
        Initial::HeadTail { head, tail } => {
            grant(&mut view, 0, head);
            grant(&mut view, size.saturating_sub(tail), size);
        }
    }
    let mut rounds = 0;
    loop {
        match analyzer.analyze(path, &view, &Context::default()) {
            Err(AnalyzeError::Need(need)) => {
                rounds += 1;
                assert!(
                    rounds <= max_rounds,
                    "{path}: {} asked more than {max_rounds} times",
                    analyzer.name()
                );
                for range in need.ranges {
                    grant(&mut view, range.start, range.end);
                }
            }
            findings => {
                return Run {
                    findings,
                    rounds,
                    bytes_read: view.known_bytes(),
                };
            }
        }
    }
}

/// Trivy's JSON report of the packages in the directory `root`, offline and without a
/// vulnerability database; a Trivy that cannot be started is a skip, a failing one a panic.
pub(crate) fn trivy_rootfs_packages(root: &Path) -> Result<serde_json::Value, Skip> {
    let out = Command::new("trivy")
        .args([
            "rootfs",
            "--format",
            "json",
            "--list-all-pkgs",
            "--offline-scan",
            "--skip-db-update",
            "--scanners",
            "secret",
            "--quiet",
        ])
        .arg(root)
        .output()
        .map_err(|e| Skip(format!("trivy not runnable: {e}")))?;
    assert!(
        out.status.success(),
        "trivy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout).expect("trivy writes JSON"))
}
