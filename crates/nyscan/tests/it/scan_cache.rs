//! The scan cache and progress of `nyscan sbom`, on real images built by the official
//! `nydus-image` and served by Debian's `docker-registry` through the request-logging proxy:
//! a re-scan fetches no blob, a sibling image fetches only its changed file's chunk, damaged
//! entries are ignored, `--no-scan-cache`/`--no-cache` write nothing, and bars show only on
//! a terminal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use expectrl::Expect;
use expectrl::session::OsSession as Session;
use nyscan_rafs::Bootstrap;
use nyscan_testutil::build::{NydusImage, build_nydus_image};
use nyscan_testutil::{FaultProxy, RequestLog, Skip, TestRegistry, skip};
use serde_json::Value;

use crate::nyscan;

const LODASH: &str = "app/node_modules/lodash/package.json";

fn put(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small Debian-like tree: release files, a dpkg database whose `python3-six` owns a
/// Python distribution (the packages phase must skip it, from cached ownership too), a
/// distribution installed by pip, npm packages, and filler files between them so that their
/// chunks lie apart in the blob.
fn write_tree(root: &Path, lodash_version: &str) {
    put(root, "etc/debian_version", "12.5\n");
    put(
        root,
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
    );
    put(
        root,
        "var/lib/dpkg/status",
        "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\n\
         Package: python3-six\nStatus: install ok installed\nArchitecture: all\nSource: six\n\
         Version: 1.16.0-4\n",
    );
    let sum = "d41d8cd98f00b204e9800998ecf8427e";
    put(
        root,
        "var/lib/dpkg/info/bash.md5sums",
        &format!("{sum}  bin/bash\n"),
    );
    let six = "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA";
    put(
        root,
        "var/lib/dpkg/info/python3-six.md5sums",
        &format!("{sum}  {six}\n"),
    );
    put(root, "bin/bash", "#!/bin/true\n");
    put(
        root,
        six,
        "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n\nsix\n",
    );
    put(
        root,
        "usr/local/lib/python3.11/site-packages/idna-3.10.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: idna\nVersion: 3.10\nLicense-Expression: BSD-3-Clause\n\nidna\n",
    );
    put(
        root,
        LODASH,
        &format!(
            "{{\"name\": \"lodash\", \"version\": \"{lodash_version}\", \"license\": \"MIT\"}}\n"
        ),
    );
    for i in 0..30 {
        put(
            root,
            &format!("app/node_modules/pkg{i}/package.json"),
            &format!("{{\"name\": \"pkg{i}\", \"version\": \"1.0.{i}\", \"license\": \"MIT\"}}\n"),
        );
        // 64 KiB of incompressible filler after each package.
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ i;
        let filler: Vec<u8> = (0..64 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let path = root.join(format!("app/node_modules/pkg{i}/blob.bin"));
        std::fs::write(path, filler).unwrap();
    }
}

/// Builds the tree with `lodash_version` as a Nydus image under `dir/name`.
fn image(dir: &Path, name: &str, lodash_version: &str) -> Result<NydusImage, Skip> {
    let root = dir.join(format!("{name}-root"));
    write_tree(&root, lodash_version);
    build_nydus_image(&root, &dir.join(name), 6)
}

/// `nyscan sbom SOURCE --format json --stats ARGS`, which must succeed; its JSON report.
fn sbom(source: &str, args: &[&str], env: &[(&str, &Path)]) -> Value {
    let mut cmd = nyscan();
    cmd.args(["sbom", source, "--format", "json", "--stats"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "nyscan sbom {source} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

fn caches<'a>(chunks: &'a Path, scan: &'a Path) -> [&'a str; 4] {
    [
        "--cache-dir",
        chunks.to_str().unwrap(),
        "--scan-cache-dir",
        scan.to_str().unwrap(),
    ]
}

/// (type, name, version) of every package.
fn packages(report: &Value) -> Vec<(String, String, String)> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            (s("type"), s("name"), s("version"))
        })
        .collect()
}

fn stat(report: &Value, field: &str) -> u64 {
    report["stats"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("no stats.{field} in {}", report["stats"]))
}

/// The requests the proxy saw from index `from` on.
fn since(proxy: &FaultProxy, from: usize) -> Vec<RequestLog> {
    proxy.requests().into_iter().skip(from).collect()
}

#[test]
fn a_rescan_fetches_no_blob_and_a_sibling_only_the_changed_files_chunk() {
    let test = "a_rescan_fetches_no_blob_and_a_sibling_only_the_changed_files_chunk";
    let dir = tempfile::tempdir().unwrap();
    let built = image(dir.path(), "v1", "4.17.21")
        .and_then(|v1| Ok((v1, image(dir.path(), "v2", "4.17.22")?)))
        .and_then(|(v1, v2)| {
            let layouts = (v1.oci_layout()?, v2.oci_layout()?);
            Ok((v1, v2, layouts, TestRegistry::start()?))
        });
    let (_v1, v2, (layout1, layout2), registry) = match built {
        Ok(b) => b,
        Err(reason) => return skip(test, &reason),
    };
    registry.push_layout(&layout1, "cache/app:v1").unwrap();
    registry.push_layout(&layout2, "cache/app:v2").unwrap();
    let proxy = FaultProxy::start(registry.addr());
    let v1_ref = format!("{}/cache/app:v1", proxy.host());
    let v2_ref = format!("{}/cache/app:v2", proxy.host());
    let work = dir.path();
    let scan_cache = work.join("scan");

    // Cold: chunk data is fetched with ranged reads.
    let at = proxy.requests().len();
    let cold = sbom(&v1_ref, &caches(&work.join("c1"), &scan_cache), &[]);
    let ranged = since(&proxy, at)
        .iter()
        .filter(|r| r.range.is_some())
        .count();
    assert!(ranged > 0);
    assert_eq!(stat(&cold, "cached"), 0);
    let names: Vec<(String, String, String)> = packages(&cold);
    let has = |kind: &str, name: &str| names.iter().any(|p| p.0 == kind && p.1 == name);
    assert!(
        has("dpkg", "python3-six") && has("python-pkg", "idna"),
        "{names:?}"
    );
    assert!(!has("python-pkg", "six"), "six is python3-six's: {names:?}");
    assert!(names.contains(&("node-pkg".into(), "lodash".into(), "4.17.21".into())));
    assert_eq!(names.len(), 2 + 1 + 31, "{names:?}");

    // The same image again: only the manifest is fetched; the bootstrap layer comes from the
    // chunk cache, every result from the scan cache.
    let at = proxy.requests().len();
    let warm = sbom(&v1_ref, &caches(&work.join("c1"), &scan_cache), &[]);
    let requests = since(&proxy, at);
    assert!(
        requests.iter().all(|r| !r.path.contains("/blobs/")),
        "a blob was fetched: {requests:?}"
    );
    assert_eq!(packages(&warm), packages(&cold));
    assert_eq!(warm["os"], cold["os"]);
    assert_eq!(stat(&warm, "cached"), stat(&cold, "analyzed"));
    assert_eq!(stat(&warm, "skipped_owned"), stat(&cold, "skipped_owned"));

    // A damaged copy of the bootstrap layer in the chunk cache is not used: the layer is
    // fetched again (whole, digest-checked) and the copy replaced.
    let layer_copies: Vec<PathBuf> = walk_files(&work.join("c1"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sha256-")
        })
        .collect();
    assert_eq!(layer_copies.len(), 1, "{layer_copies:?}");
    let good = std::fs::read(&layer_copies[0]).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0xff;
    std::fs::write(&layer_copies[0], bad).unwrap();
    let at = proxy.requests().len();
    let relayered = sbom(&v1_ref, &caches(&work.join("c1"), &scan_cache), &[]);
    let blobs: Vec<RequestLog> = since(&proxy, at)
        .into_iter()
        .filter(|r| r.path.contains("/blobs/"))
        .collect();
    assert!(
        blobs.len() == 1 && blobs[0].range.is_none(),
        "the layer alone: {blobs:?}"
    );
    assert_eq!(packages(&relayered), packages(&cold));
    assert_eq!(std::fs::read(&layer_copies[0]).unwrap(), good);

    // `nyscan scan` with the image-config checks keeps the config in the chunk cache too:
    // after a first scan, the same scan again fetches no blob at all.
    let config_scan = || {
        let out = nyscan()
            .args([
                "scan",
                &v1_ref,
                "--scanners",
                "secret,config",
                "--format",
                "json",
                "-q",
            ])
            .args(caches(&work.join("c1"), &scan_cache))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "nyscan scan failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("a JSON report")
    };
    let first = config_scan();
    let at = proxy.requests().len();
    let again = config_scan();
    let requests = since(&proxy, at);
    assert!(
        requests.iter().all(|r| !r.path.contains("/blobs/")),
        "a blob was fetched: {requests:?}"
    );
    assert_eq!(again["Results"], first["Results"]);
    assert!(
        first["Metadata"]["ImageConfig"].is_object(),
        "{}",
        first["Metadata"]
    );

    // With a fresh chunk cache, the scan cache alone still spares every range read.
    let at = proxy.requests().len();
    let fresh_chunks = sbom(&v1_ref, &caches(&work.join("c2"), &scan_cache), &[]);
    let requests = since(&proxy, at);
    assert!(
        requests.iter().all(|r| r.range.is_none()),
        "a chunk was fetched: {requests:?}"
    );
    assert_eq!(packages(&fresh_chunks), packages(&cold));

    // The sibling image (one package.json changed, rebuilt: new blobs), with a fresh chunk
    // cache: one ranged read, of exactly the changed file's chunk.
    let boot_bytes = std::fs::read(&v2.boot).unwrap();
    let boot = Bootstrap::parse(&boot_bytes).unwrap();
    let inode = boot
        .lookup(format!("/{LODASH}").as_bytes())
        .unwrap()
        .unwrap();
    let chunks: Vec<_> = inode.chunks().map(Result::unwrap).collect();
    assert_eq!(chunks.len(), 1);
    let c = chunks[0];
    let expected = format!(
        "bytes={}-{}",
        c.compressed_offset,
        c.compressed_offset + u64::from(c.compressed_size) - 1
    );
    let at = proxy.requests().len();
    let sibling = sbom(&v2_ref, &caches(&work.join("c3"), &scan_cache), &[]);
    let ranged: Vec<String> = since(&proxy, at)
        .into_iter()
        .filter_map(|r| r.range)
        .collect();
    assert_eq!(ranged, [expected]);
    assert_eq!(stat(&sibling, "requests"), 1);
    assert_eq!(
        stat(&sibling, "fetched_bytes"),
        u64::from(c.compressed_size)
    );
    assert_eq!(stat(&sibling, "cached"), stat(&cold, "analyzed") - 1);
    let mut expected_packages = packages(&cold);
    for p in &mut expected_packages {
        if p.1 == "lodash" {
            p.2 = "4.17.22".into();
        }
    }
    assert_eq!(packages(&sibling), expected_packages);
}

/// Every regular file under `dir`.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every entry file of a scan cache directory.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|sub| std::fs::read_dir(sub.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    out.sort();
    out
}

#[test]
fn damaged_scan_cache_entries_are_ignored_and_written_again() {
    let test = "damaged_scan_cache_entries_are_ignored_and_written_again";
    let dir = tempfile::tempdir().unwrap();
    let v1 = match image(dir.path(), "v1", "4.17.21") {
        Ok(i) => i,
        Err(reason) => return skip(test, &reason),
    };
    let boot = v1.boot.to_str().unwrap();
    let blob_dir = ["--blob-dir", v1.blob_dir.to_str().unwrap()];
    let scan_cache = dir.path().join("scan");
    let run = |chunks: &str| {
        let mut args = blob_dir.to_vec();
        let chunk_dir = dir.path().join(chunks);
        args.extend(caches(&chunk_dir, &scan_cache));
        sbom(boot, &args, &[])
    };
    let cold = run("c1");
    let analyzed = stat(&cold, "analyzed");
    let files = entries(&scan_cache);
    assert_eq!(files.len() as u64, analyzed);

    for (i, path) in files.iter().enumerate() {
        let mut bytes = std::fs::read(path).unwrap();
        match i % 4 {
            0 => bytes.truncate(bytes.len() / 2),
            1 => *bytes.last_mut().unwrap() ^= 0x01,
            2 => bytes[0] = b'X',
            _ => bytes.clear(),
        }
        std::fs::write(path, bytes).unwrap();
    }
    let repaired = run("c2");
    assert_eq!(packages(&repaired), packages(&cold));
    assert_eq!(stat(&repaired, "cached"), 0);
    assert_eq!(stat(&repaired, "chunks"), stat(&cold, "chunks"));
    let healed = run("c3");
    assert_eq!(
        (stat(&healed, "cached"), stat(&healed, "requests")),
        (analyzed, 0)
    );
    assert_eq!(packages(&healed), packages(&cold));
}

#[test]
fn no_scan_cache_and_no_cache_write_nothing_and_bars_show_only_on_a_terminal() {
    let test = "no_scan_cache_and_no_cache_write_nothing_and_bars_show_only_on_a_terminal";
    let dir = tempfile::tempdir().unwrap();
    let v1 = match image(dir.path(), "v1", "4.17.21") {
        Ok(i) => i,
        Err(reason) => return skip(test, &reason),
    };
    let boot = v1.boot.to_str().unwrap();
    let blob_dir = v1.blob_dir.to_str().unwrap();
    let xdg = |name: &str| dir.path().join(name);
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["--blob-dir", blob_dir];
        args.extend(extra);
        let home = xdg(name);
        sbom(boot, &args, &[("XDG_CACHE_HOME", &home)]);
        (
            home.join("nyscan/chunks").exists(),
            home.join("nyscan/scan").exists(),
        )
    };
    assert_eq!(run("default", &[]), (true, true));
    assert!(!entries(&xdg("default").join("nyscan/scan")).is_empty());
    assert_eq!(run("no-scan-cache", &["--no-scan-cache"]), (true, false));
    assert_eq!(run("no-cache", &["--no-cache"]), (false, false));

    // Piped: nothing on stderr but what --stats prints.
    let out = nyscan()
        .args(["sbom", boot, "--blob-dir", blob_dir, "--no-cache"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // On a terminal: the bars, unless --quiet.
    let report = dir.path().join("report.json");
    let on_terminal = |quiet: bool| {
        let mut cmd = nyscan();
        cmd.args([
            "sbom",
            boot,
            "--blob-dir",
            blob_dir,
            "--no-cache",
            "--output",
        ])
        .arg(&report)
        .env("TERM", "xterm");
        if quiet {
            cmd.arg("--quiet");
        }
        let mut s = Session::spawn(cmd).expect("spawn in a pty");
        s.set_expect_timeout(Some(Duration::from_secs(30)));
        let all = s.expect(expectrl::Eof).unwrap();
        String::from_utf8_lossy(all.as_bytes()).into_owned()
    };
    let shown = on_terminal(false);
    assert!(
        shown.contains("analyze") && shown.contains("fetch"),
        "no bars on a terminal: {shown:?}"
    );
    let shown = on_terminal(true);
    assert!(!shown.contains("analyze"), "bars with --quiet: {shown:?}");
    assert!(report.is_file());
}
