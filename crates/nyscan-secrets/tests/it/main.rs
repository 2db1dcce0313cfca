//! Secret scanning against planted trees, Trivy and a clean Debian rootfs; image-config
//! checks.

mod debian;
mod image_config;
mod parity;
mod plant;
mod stream;

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use nyscan_secrets::{Decision, FileOutcome, Flow, SecretScanner};
use nyscan_testutil::Skip;

use crate::plant::Expect;

/// Every regular file, directory and symlink under `root`, as (relative path, absolute path).
pub(crate) fn walk(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path.clone());
            }
            out.push((rel, path));
        }
    }
    out.sort();
    out
}

/// Scans every file of `root` that selection keeps, streaming each in pieces of `piece`
/// bytes, and checks the streamed outcome equals the whole-buffer one.
pub(crate) fn scan_tree(
    scanner: &SecretScanner,
    root: &Path,
    os_owned: &HashSet<String>,
    piece: usize,
) -> Vec<FileOutcome> {
    let mut outcomes = Vec::new();
    for (rel, path) in walk(root) {
        let meta = fs::symlink_metadata(&path).unwrap();
        let Decision::Scan { read, .. } = scanner.decide(&rel, meta.size(), meta.mode(), os_owned)
        else {
            continue;
        };
        let data = fs::read(&path).unwrap();
        let mut scan = scanner.file(&rel, meta.size());
        let mut pushed = 0u64;
        for chunk in data.chunks(piece) {
            pushed += chunk.len() as u64;
            if scan.push(chunk) == Flow::Done {
                break;
            }
        }
        let outcome = scan.finish();
        assert!(pushed <= read.max(piece as u64) + piece as u64);
        let whole = scanner.scan_bytes(&rel, &data);
        assert_eq!(
            (&outcome.findings, outcome.content, outcome.capped_at),
            (&whole.findings, whole.content, whole.capped_at),
            "{rel}: streamed != whole"
        );
        outcomes.push(outcome);
    }
    outcomes
}

/// (rule, path, line) of every finding.
pub(crate) fn keys(outcomes: &[FileOutcome]) -> BTreeSet<Expect> {
    outcomes
        .iter()
        .flat_map(|o| &o.findings)
        .map(|f| (f.rule_id.clone(), f.path.clone(), f.start_line))
        .collect()
}

/// Trivy's secret findings on `dir` as (rule, path, line).
pub(crate) fn trivy_secrets(dir: &Path) -> Result<BTreeSet<Expect>, Skip> {
    let trivy = Path::new("/usr/local/bin/trivy");
    if !trivy.exists() {
        return Err(Skip("trivy not installed at /usr/local/bin/trivy".into()));
    }
    let cache = tempfile::tempdir().map_err(|e| Skip(e.to_string()))?;
    let out = Command::new(trivy)
        .args([
            "fs",
            "--scanners",
            "secret",
            "--format",
            "json",
            "--offline-scan",
        ])
        .args(["--skip-db-update", "--quiet", "--cache-dir"])
        .arg(cache.path())
        .arg(dir)
        .output()
        .map_err(|e| Skip(format!("cannot run trivy: {e}")))?;
    assert!(
        out.status.success(),
        "trivy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("trivy JSON");
    let mut found = BTreeSet::new();
    for result in report["Results"].as_array().into_iter().flatten() {
        let target = result["Target"].as_str().unwrap_or_default();
        for s in result["Secrets"].as_array().into_iter().flatten() {
            found.insert((
                s["RuleID"].as_str().unwrap_or_default().to_owned(),
                target.to_owned(),
                s["StartLine"].as_u64().unwrap_or(0),
            ));
        }
    }
    Ok(found)
}

/// Prints why (part of) a test did not run.
pub(crate) fn skip(test: &str, reason: &Skip) {
    nyscan_testutil::skip(test, reason);
}
