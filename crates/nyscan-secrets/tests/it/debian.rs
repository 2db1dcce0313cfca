//! No false positive on a clean Debian rootfs (debootstrap minbase bookworm), cached under
//! the target directory.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use nyscan_secrets::SecretScanner;
use nyscan_testutil::Skip;

use crate::{scan_tree, skip};

/// `target/` of this build (the test binary lives in `target/<profile>/deps/`).
fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.to_path_buf())
}

/// The APT mirror configured on this machine (`/etc/apt/sources.list.d/debian.sources`).
fn mirror() -> String {
    fs::read_to_string("/etc/apt/sources.list.d/debian.sources")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("URIs:").map(|u| u.trim().to_owned()))
        })
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_owned())
}

/// The rootfs, built once by `debootstrap --variant=minbase bookworm`.
fn rootfs() -> Result<PathBuf, Skip> {
    let cache = target_dir()
        .ok_or_else(|| Skip("no target dir".into()))?
        .join("nyscan-secrets-cache");
    let root = cache.join("debian-bookworm-minbase");
    if root.join("var/lib/dpkg/status").is_file() {
        return Ok(root);
    }
    let debootstrap = ["/usr/sbin/debootstrap", "/usr/bin/debootstrap"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or_else(|| Skip("debootstrap not installed (apt-get install debootstrap)".into()))?;
    fs::create_dir_all(&cache).map_err(|e| Skip(e.to_string()))?;
    let partial = cache.join("rootfs.partial");
    let _ = fs::remove_dir_all(&partial);
    let out = Command::new(debootstrap)
        .args(["--variant=minbase", "bookworm"])
        .arg(&partial)
        .arg(mirror())
        .output()
        .map_err(|e| Skip(format!("cannot run debootstrap: {e}")))?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&partial);
        let log = String::from_utf8_lossy(&out.stdout);
        let tail: Vec<&str> = log.lines().rev().take(3).collect();
        return Err(Skip(format!("debootstrap failed: {}", tail.join(" / "))));
    }
    fs::rename(&partial, &root).map_err(|e| Skip(e.to_string()))?;
    Ok(root)
}

/// Paths (no leading `/`) listed in dpkg's `*.list` files.
fn dpkg_owned(root: &Path) -> HashSet<String> {
    let mut owned = HashSet::new();
    for entry in fs::read_dir(root.join("var/lib/dpkg/info"))
        .unwrap()
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "list") {
            let text = fs::read_to_string(entry.path()).unwrap();
            owned.extend(text.lines().map(|l| l.trim_start_matches('/').to_owned()));
        }
    }
    owned
}

#[test]
fn clean_debian_rootfs_has_no_findings() {
    let root = match rootfs() {
        Ok(r) => r,
        Err(reason) => return skip("clean_debian_rootfs_has_no_findings", &reason),
    };
    let scanner = SecretScanner::builtin().unwrap();
    let owned = dpkg_owned(&root);
    let (files, total) = crate::walk(&root)
        .iter()
        .filter_map(|(_, p)| fs::symlink_metadata(p).ok())
        .filter(|m| m.is_file())
        .fold((0u64, 0u64), |(n, b), m| (n + 1, b + m.len()));
    assert!(owned.len() > 1000, "dpkg lists: {} paths", owned.len());
    // With OS ownership (what the planner does) and without it (every file the path rules
    // keep, binaries decided by their first bytes).
    for (label, owned) in [
        ("os-owned skipped", owned),
        ("no ownership", HashSet::new()),
    ] {
        let outcomes = scan_tree(&scanner, &root, &owned, 1 << 20);
        let findings: Vec<_> = outcomes
            .iter()
            .flat_map(|o| &o.findings)
            .map(|f| format!("{} {}:{} {}", f.rule_id, f.path, f.start_line, f.context))
            .collect();
        let read: u64 = outcomes.iter().map(|o| o.bytes_read).sum();
        let mut biggest: Vec<_> = outcomes
            .iter()
            .map(|o| (o.bytes_read, o.path.as_str()))
            .collect();
        biggest.sort_unstable_by(|a, b| b.cmp(a));
        eprintln!(
            "debian rootfs ({label}): {} of {} files read, {read} of {total} bytes ({:.2} %), {} findings; largest: {:?}",
            outcomes.len(),
            files,
            read as f64 * 100.0 / total as f64,
            findings.len(),
            &biggest[..biggest.len().min(5)]
        );
        assert!(
            findings.is_empty(),
            "false positives ({label}): {findings:#?}"
        );
        assert!(!outcomes.is_empty());
    }
}
