//! Java archives and Python eggs made at test time by `tests/data/archive/make_archives.py`
//! (Python's `zipfile`) and, where a JDK is installed, by `jar`; read the way the planner
//! reads them (a `FileView` starting with head and tail, filled round by round).
//!
//! Trivy is compared on the egg only: its jar analyzer needs the Java DB (a ~500 MiB
//! download from an OCI registry that cannot be reached here) and reports no jar package
//! without it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use nyscan_analyze::analyzer::{AnalyzeError, Analyzer};
use nyscan_analyze::archive::egg::PythonEgg;
use nyscan_analyze::archive::java::{self, JavaArchive};
use nyscan_analyze::bytes::FileView;
use nyscan_analyze::package::Package;
use nyscan_testutil::{Skip, skip};

mod common;
use common::{REGULAR, Run, run_selected};

/// Runs `analyzer` on the regular file `file` as the planner would.
fn run(analyzer: &dyn Analyzer, path: &str, file: &[u8]) -> Run {
    run_selected(analyzer, path, file, REGULAR, 100)
}

fn archives() -> Result<&'static PathBuf, Skip> {
    static MADE: OnceLock<Result<PathBuf, Skip>> = OnceLock::new();
    MADE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nyscan-analyze-archives");
        let _ = std::fs::remove_dir_all(&dir);
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/archive/make_archives.py");
        let out = match Command::new("python3").arg(&script).arg(&dir).output() {
            Ok(o) => o,
            Err(e) => return Err(Skip(format!("python3 not runnable: {e}"))),
        };
        assert!(
            out.status.success(),
            "make_archives.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(dir)
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn read(name: &str) -> Result<Vec<u8>, Skip> {
    Ok(std::fs::read(archives()?.join(name)).unwrap())
}

fn triples(packages: &[Package]) -> Vec<(String, String, String)> {
    packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.locations.join(",")))
        .collect()
}

fn t(name: &str, version: &str, location: &str) -> (String, String, String) {
    (name.to_owned(), version.to_owned(), location.to_owned())
}

#[test]
fn fat_jar_nested_libraries_are_read_in_place() {
    let file = match read("app-1.2.3.jar") {
        Ok(f) => f,
        Err(s) => return skip("fat_jar_nested_libraries_are_read_in_place", &s),
    };
    let path = "app/app-1.2.3.jar";
    let run = run(&JavaArchive, path, &file);
    let packages = run.findings.unwrap().packages;
    let lib = |n: &str| format!("{path}/BOOT-INF/lib/{n}");
    assert_eq!(
        triples(&packages),
        [
            t("com.example:app", "1.2.3", path),
            t(
                "org.apache.logging.log4j:log4j-api",
                "2.17.1",
                &lib("log4j-api-2.17.1.jar")
            ),
            t(
                "com.fasterxml.jackson.core:jackson-core",
                "2.15.2",
                &lib("jackson-core-2.15.2.jar")
            ),
            t("org.outer:carrier", "3.0.0", &lib("carrier-3.0.0.jar")),
            t(
                "org.inner:innermost",
                "0.9.1",
                &format!("{}/lib/innermost-0.9.1.jar", lib("carrier-3.0.0.jar"))
            ),
            t("org.zipped:zipped", "1.0", &lib("zipped-1.0.jar")),
        ]
    );
    assert_eq!(
        packages[1].purl,
        "pkg:maven/org.apache.logging.log4j/log4j-api@2.17.1"
    );
    println!(
        "fat jar of {} bytes: {} bytes read in {} rounds",
        file.len(),
        run.bytes_read,
        run.rounds
    );
    // 4 MiB of class data and the stored libraries' class files are never read.
    assert!(
        run.bytes_read < file.len() as u64 / 20,
        "read {} of {}",
        run.bytes_read,
        file.len()
    );
    assert!(run.rounds <= 8, "{} rounds", run.rounds);
}

#[test]
fn war_identity_comes_from_its_manifest() {
    let file = match read("shop.war") {
        Ok(f) => f,
        Err(s) => return skip("war_identity_comes_from_its_manifest", &s),
    };
    let packages = run(&JavaArchive, "srv/shop.war", &file)
        .findings
        .unwrap()
        .packages;
    assert_eq!(
        triples(&packages),
        [
            t(
                "org.apache.commons:commons-lang3",
                "3.12.0",
                "srv/shop.war/WEB-INF/lib/commons-lang3-3.12.0.jar"
            ),
            t("com.shop:shop", "5.1", "srv/shop.war"),
        ]
    );
    let plugin = read("plugin-2.0.jar").unwrap();
    let packages = run(&JavaArchive, "p/plugin-2.0.jar", &plugin)
        .findings
        .unwrap()
        .packages;
    assert_eq!(
        triples(&packages),
        [t("io.jenkins:plugin", "2.0", "p/plugin-2.0.jar")]
    );
    assert_eq!(packages[0].licenses, ["MIT License"]);
}

#[test]
fn zip_bomb_ends_in_a_limit_error_without_inflating() {
    let file = match read("bomb.jar") {
        Ok(f) => f,
        Err(s) => return skip("zip_bomb_ends_in_a_limit_error", &s),
    };
    let started = std::time::Instant::now();
    let run = run(&JavaArchive, "x/bomb.jar", &file);
    match run.findings {
        Err(AnalyzeError::Limit(msg)) => assert!(msg.contains("MANIFEST.MF"), "{msg}"),
        other => panic!("expected a limit error, got {other:?}"),
    }
    // Refused from the directory: the 1 MiB of compressed data is not even fetched.
    assert!(run.bytes_read < 128 << 10, "{}", run.bytes_read);
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn nesting_50_deep_ends_at_the_depth_limit_with_outer_results() {
    let file = match read("nested50.jar") {
        Ok(f) => f,
        Err(s) => return skip("nesting_50_deep", &s),
    };
    let view = FileView::whole(file.clone());
    let scan = java::scan_java_archive(&view, "deep/nested50.jar").unwrap();
    assert_eq!(scan.packages.len(), java::MAX_DEPTH + 1, "levels 0..=16");
    assert_eq!(scan.packages[0].name, "org.deep:level0");
    assert_eq!(scan.packages[16].name, "org.deep:level16");
    assert_eq!(scan.skipped.len(), 1);
    assert!(scan.skipped[0].is_limit);
    assert!(
        scan.skipped[0].path.ends_with("lib/level17-1.0.jar"),
        "{}",
        scan.skipped[0].path
    );
    // Through the analyzer: the same packages, the skipped archive is not an error.
    let run = run(&JavaArchive, "deep/nested50.jar", &file);
    assert_eq!(run.findings.unwrap().packages.len(), java::MAX_DEPTH + 1);
}

#[test]
fn zip64_archive_with_70000_entries() {
    let file = match read("many-1.0.jar") {
        Ok(f) => f,
        Err(s) => return skip("zip64_archive_with_70000_entries", &s),
    };
    // Python writes the zip64 end records once the entry count passes 65,535.
    let eocd = file.len() - 22;
    assert_eq!(&file[eocd..eocd + 4], b"PK\x05\x06");
    assert_eq!(&file[eocd - 20..eocd - 16], b"PK\x06\x07", "zip64 locator");
    let run = run(&JavaArchive, "opt/many-1.0.jar", &file);
    let packages = run.findings.unwrap().packages;
    assert_eq!(
        triples(&packages),
        [t("org.many:many", "1.0", "opt/many-1.0.jar")]
    );
}

#[test]
fn jar_built_by_the_jdk() {
    let files = match archives() {
        Ok(d) => d,
        Err(s) => return skip("jar_built_by_the_jdk", &s),
    };
    if Command::new("jar").arg("--version").output().is_err() {
        return skip("jar_built_by_the_jdk", &Skip("no JDK `jar` tool".into()));
    }
    let work = files.join("jdk");
    std::fs::create_dir_all(work.join("classes/META-INF/maven/org.jdk/made")).unwrap();
    std::fs::write(work.join("classes/Hello.class"), [0xca, 0xfe, 0xba, 0xbe]).unwrap();
    std::fs::write(
        work.join("classes/META-INF/maven/org.jdk/made/pom.properties"),
        "groupId=org.jdk\nartifactId=made\nversion=4.5.6\n",
    )
    .unwrap();
    std::fs::write(
        work.join("manifest.txt"),
        "Implementation-Title: made\nImplementation-Version: 4.5.6\nImplementation-Vendor-Id: org.jdk\n",
    )
    .unwrap();
    let jar_path = work.join("made-4.5.6.jar");
    let out = Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(&jar_path)
        .arg("--manifest")
        .arg(work.join("manifest.txt"))
        .arg("-C")
        .arg(work.join("classes"))
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jar: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::fs::read(&jar_path).unwrap();
    let packages = run(&JavaArchive, "lib/made-4.5.6.jar", &file)
        .findings
        .unwrap()
        .packages;
    // The pom.properties matches the file name, so the manifest adds nothing.
    assert_eq!(
        triples(&packages),
        [t("org.jdk:made", "4.5.6", "lib/made-4.5.6.jar")]
    );
}

#[test]
fn egg_matches_trivy() {
    let file = match read("kitchen-1.2.6-py2.7.egg") {
        Ok(f) => f,
        Err(s) => return skip("egg_matches_trivy", &s),
    };
    let path = "usr/lib/python2.7/site-packages/kitchen-1.2.6-py2.7.egg";
    let packages = run(&PythonEgg, path, &file).findings.unwrap().packages;
    assert_eq!(triples(&packages), [t("kitchen", "1.2.6", path)]);
    assert_eq!(packages[0].purl, "pkg:pypi/kitchen@1.2.6");
    assert_eq!(packages[0].kind.as_str(), "python-pkg");

    if Command::new("trivy").arg("--version").output().is_err() {
        return skip(
            "egg_matches_trivy (Trivy part)",
            &Skip("trivy not installed".into()),
        );
    }
    let root = archives().unwrap().join("egg-root");
    let target = root.join(path);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, &file).unwrap();
    let out = Command::new("trivy")
        .args([
            "rootfs",
            "--format",
            "cyclonedx",
            "--offline-scan",
            "--skip-db-update",
            "--quiet",
            "--cache-dir",
        ])
        .arg(archives().unwrap().join("trivy-cache"))
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trivy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bom: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let trivy: BTreeSet<(String, String)> = bom["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["type"] == "library")
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["version"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let ours: BTreeSet<_> = packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(ours, trivy);
}
