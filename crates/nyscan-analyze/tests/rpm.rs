//! The rpm analyzer on databases written by rpm itself.
//!
//! Debian's rpm 4.18 writes SQLite databases only; `tests/data/rpm/make-fixtures.sh` builds
//! three packages with `rpmbuild`, records them with `rpm -i --justdb`, and stores the same
//! header blobs as a Berkeley DB hash and as an NDB database with `mkdb.py` (written from the
//! format descriptions). `tests/data/rpm/db` holds one such run; `expected.txt` is `rpm -qa`
//! on the SQLite database and `expected-bdb.txt` is `rpm -qa` through rpm's own read-only
//! Berkeley DB backend on the generated `Packages`. The live tests rerun the script (skipped
//! when rpm, rpmbuild, sqlite3 or python3 is missing) and ask Trivy (go-rpmdb) too.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use nyscan_analyze::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Initial, Phase};
use nyscan_analyze::bytes::FileView;
use nyscan_analyze::package::{OsInfo, PackageType, SourcePackage};
use nyscan_analyze::rpm::{self, RpmDbAnalyzer, RpmPackageInfo, apply_os, read_database};
use nyscan_testutil::{Skip, skip};

mod common;
use common::trivy_rootfs_packages;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rpm")
}

/// The database files of a fixture directory, with the image path each form lives at.
fn forms(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    vec![
        (dir.join("rpmdb.sqlite"), "var/lib/rpm/rpmdb.sqlite"),
        (dir.join("Packages"), "var/lib/rpm/Packages"),
        (dir.join("Packages.db"), "usr/lib/sysimage/rpm/Packages.db"),
        (dir.join("be512/Packages"), "var/lib/rpm/Packages"),
    ]
}

/// `rpm -qa --qf` lines for parsed headers (same format as make-fixtures.sh writes).
fn qa_lines(infos: &[RpmPackageInfo]) -> Vec<String> {
    let none = |s: &str| {
        if s.is_empty() {
            "(none)".to_string()
        } else {
            s.to_string()
        }
    };
    let mut lines: Vec<String> = infos
        .iter()
        .map(|i| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}",
                i.name,
                i.epoch.unwrap_or(0),
                i.version,
                i.release,
                none(&i.arch),
                none(&i.source_rpm),
                none(&i.license),
                none(&i.vendor),
                none(&i.modularity_label)
            )
        })
        .collect();
    lines.sort();
    lines
}

fn file_lines(infos: &[RpmPackageInfo]) -> Vec<String> {
    let mut lines: Vec<String> = infos
        .iter()
        .flat_map(|i| i.files.iter().map(move |f| format!("{} {f}", i.name)))
        .collect();
    lines.sort();
    lines
}

fn read_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every form of the fixture directory lists what rpm lists.
fn check_fixture_dir(dir: &Path) {
    let expected = read_lines(&dir.join("expected.txt"));
    assert_eq!(expected.len(), 3, "three packages were built");
    assert_eq!(
        read_lines(&dir.join("expected-bdb.txt")),
        expected,
        "rpm's own BDB reader lists the generated Packages like the SQLite database"
    );
    let files = read_lines(&dir.join("expected-files.txt"));
    for (path, _) in forms(dir) {
        let bytes = fs::read(&path).unwrap();
        let infos = read_database(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(qa_lines(&infos), expected, "{}", path.display());
        assert_eq!(file_lines(&infos), files, "{}", path.display());
    }
}

#[test]
fn committed_databases_list_what_rpm_lists() {
    check_fixture_dir(&data().join("db"));
}

#[test]
fn analyzer_reports_packages_sources_and_owned_files() {
    let dir = data().join("db");
    for (path, image_path) in forms(&dir) {
        let bytes = fs::read(&path).unwrap();
        let meta = FileMeta {
            size: bytes.len() as u64,
            mode: 0o100644,
        };
        let a = RpmDbAnalyzer;
        assert_eq!(a.phase(), Phase::Os);
        assert_eq!(a.select(image_path, &meta), Some(Initial::Whole));
        // Nothing fetched yet: the analyzer asks for the whole file.
        let empty = FileView::new(bytes.len() as u64);
        match a.analyze(image_path, &empty, &Context::default()) {
            Err(AnalyzeError::Need(need)) => {
                assert_eq!(need.ranges, vec![0..bytes.len() as u64]);
            }
            other => panic!("expected a need, got {other:?}"),
        }
        let found = a
            .analyze(image_path, &FileView::whole(bytes), &Context::default())
            .unwrap();
        let mut packages = found.packages.clone();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        let hello = &packages[1];
        assert_eq!(hello.kind, PackageType::Rpm);
        assert_eq!(hello.name, "hello-nyscan");
        assert_eq!(hello.version, "2:1.2.3-4.el9");
        assert_eq!(hello.arch.as_deref(), Some("x86_64"));
        assert_eq!(
            hello.source,
            Some(SourcePackage {
                name: "hello-nyscan".into(),
                version: "2:1.2.3-4.el9".into()
            })
        );
        assert_eq!(hello.licenses, ["MIT AND (Apache-2.0 OR BSD-3-Clause)"]);
        assert_eq!(hello.locations, [image_path]);
        assert_eq!(
            hello.purl,
            "pkg:rpm/hello-nyscan@1.2.3-4.el9?arch=x86_64&epoch=2\
             &modularitylabel=hello:1:9040020240101000000:abcdef01"
        );
        assert_eq!(packages[0].version, "0.9-1.amzn2");
        assert_eq!(packages[2].version, "20.10.7-3");
        // Red Hat's and the amzn package's files are owned; the third-party (Docker) one's not.
        let owned: BTreeSet<&str> = found.owned_files.iter().map(String::as_str).collect();
        let want: BTreeSet<&str> = [
            "usr/bin/hello",
            "usr/lib/python3.9/site-packages/hello-1.0.dist-info",
            "usr/lib/python3.9/site-packages/hello-1.0.dist-info/METADATA",
            "usr/share/amzn-data",
            "usr/share/amzn-data/a.txt",
            "usr/share/amzn-data/sub",
            "usr/share/amzn-data/sub/b.txt",
        ]
        .into_iter()
        .collect();
        assert_eq!(owned, want, "{}", path.display());

        apply_os(
            &mut packages,
            &OsInfo {
                family: "rocky".into(),
                name: "9.3".into(),
            },
        );
        assert_eq!(
            packages[2].purl,
            "pkg:rpm/rocky/thirdparty-tool@20.10.7-3?arch=x86_64&distro=rocky-9.3"
        );
    }
}

#[test]
fn oversized_database_is_refused_without_reading_it() {
    let a = RpmDbAnalyzer;
    let size = 2u64 << 30;
    let meta = FileMeta {
        size,
        mode: 0o100644,
    };
    assert_eq!(
        a.select("var/lib/rpm/Packages", &meta),
        Some(Initial::Head(0))
    );
    let err = a
        .analyze(
            "var/lib/rpm/Packages",
            &FileView::new(size),
            &Context::default(),
        )
        .unwrap_err();
    assert!(matches!(err, AnalyzeError::Limit(_)), "{err:?}");
}

/// Damaged copies of every form end in an error or a result, never a panic or a hang.
#[test]
fn damaged_databases_never_panic() {
    let dir = data().join("db");
    for (path, image_path) in forms(&dir) {
        let good = fs::read(&path).unwrap();
        let run = |bytes: Vec<u8>| {
            let _ = RpmDbAnalyzer.analyze(image_path, &FileView::whole(bytes), &Context::default());
        };
        // Truncations.
        for len in (0..good.len()).step_by(97) {
            run(good[..len].to_vec());
        }
        // Byte flips everywhere in the metadata and slot areas, and sampled elsewhere.
        let step = |i: usize| if i < 8192 { 7 } else { 61 };
        let mut i = 0;
        while i < good.len() {
            for value in [0x00, 0xff, 0x80] {
                let mut bad = good.clone();
                bad[i] = value;
                run(bad);
            }
            i += step(i);
        }
    }
    // Header blobs: every single-byte change of a real header.
    let sqlite = fs::read(dir.join("rpmdb.sqlite")).unwrap();
    let blobs = rpm::sqlite::header_blobs(&sqlite).unwrap();
    for blob in &blobs {
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0xff;
            let _ = RpmPackageInfo::parse(&bad);
        }
    }
}

// ---- live: rpm tools and Trivy ------------------------------------------------------------

fn make_fixtures(out: &Path) -> Result<(), Skip> {
    for tool in ["rpm", "rpmbuild", "sqlite3", "python3"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(Skip(format!("{tool} is not installed")));
        }
    }
    let status = Command::new("sh")
        .arg(data().join("make-fixtures.sh"))
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "make-fixtures.sh failed");
    Ok(())
}

#[test]
fn fresh_databases_from_rpm_tools_list_what_rpm_lists() {
    let tmp = tempfile::tempdir().unwrap();
    if let Err(reason) = make_fixtures(tmp.path()) {
        return skip(
            "fresh_databases_from_rpm_tools_list_what_rpm_lists",
            &reason,
        );
    }
    check_fixture_dir(tmp.path());
}

#[test]
fn trivy_reads_the_same_packages_from_every_form() {
    let test = "trivy_reads_the_same_packages_from_every_form";
    if Command::new("trivy").arg("--version").output().is_err() {
        return skip(test, &Skip("trivy is not installed".into()));
    }
    let dir = data().join("db");
    for (path, image_path) in forms(&dir) {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join(image_path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(&path, &target).unwrap();
        fs::create_dir_all(root.path().join("etc")).unwrap();
        fs::write(
            root.path().join("etc/os-release"),
            "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n",
        )
        .unwrap();
        fs::write(
            root.path().join("etc/redhat-release"),
            "Rocky Linux release 9.3 (Blue Onyx)\n",
        )
        .unwrap();
        let report = match trivy_rootfs_packages(root.path()) {
            Ok(report) => report,
            Err(reason) => return skip(test, &reason),
        };
        let theirs: BTreeSet<(String, String, String)> = report["Results"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["Packages"].as_array().into_iter().flatten())
            .map(|p| {
                let epoch = p["Epoch"].as_i64().unwrap_or(0);
                let version = format!(
                    "{}{}-{}",
                    if epoch != 0 {
                        format!("{epoch}:")
                    } else {
                        String::new()
                    },
                    p["Version"].as_str().unwrap(),
                    p["Release"].as_str().unwrap()
                );
                (
                    p["Name"].as_str().unwrap().to_string(),
                    version,
                    p["SrcName"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let bytes = fs::read(&path).unwrap();
        let found = RpmDbAnalyzer
            .analyze(image_path, &FileView::whole(bytes), &Context::default())
            .unwrap();
        let ours: BTreeSet<(String, String, String)> = found
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.source
                        .as_ref()
                        .map(|s| s.name.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(ours.len(), 3);
        assert_eq!(ours, theirs, "{}", path.display());
    }
}
