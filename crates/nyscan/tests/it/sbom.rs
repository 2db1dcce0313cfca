//! `nyscan sbom`: formats, notes, parity with Trivy on trees built from real packages, and
//! the planner's economy (bytes counted by the chunk engine).
//!
//! The Debian tree is `debootstrap --variant=minbase bookworm` plus pip and npm packages
//! (`crates/nyscan-testutil/scripts/debian-tree.sh`, cached under the target directory by the
//! script's content); the Alpine tree is an apk database written here. Both are built into
//! Nydus images with the official `nydus-image`, and compared with
//! `trivy rootfs --format cyclonedx` on the same tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use nyscan_testutil::build::{NydusImage, build_nydus_image, cached_tree, which};
use nyscan_testutil::{Skip, TestRegistry, skip};
use serde_json::Value;

use crate::nyscan;

/// (type, name, version) as Trivy's CycloneDX names them: the type is the
/// `aquasecurity:trivy:PkgType` property (the OS family for OS packages), a Maven name is
/// `group:artifact`, and a version carries its epoch (`E:V`, Trivy keeps it in the purl).
type Key = (String, String, String);

fn sbom(args: &[&str]) -> Output {
    let out = nyscan()
        .arg("sbom")
        .args(args)
        .arg("--no-cache")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nyscan sbom {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// The packages of a CycloneDX document by key, with their purls.
fn cyclonedx_packages(bom: &Value) -> BTreeMap<Key, String> {
    let mut out = BTreeMap::new();
    for c in bom["components"].as_array().expect("components") {
        if c["type"] != "library" {
            continue;
        }
        let property = |name: &str| {
            c["properties"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name)
                .and_then(|p| p["value"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let kind = property("aquasecurity:trivy:PkgType");
        let mut name = c["name"].as_str().unwrap_or_default().to_owned();
        if let Some(group) = c["group"].as_str() {
            let sep = if kind == "jar" { ':' } else { '/' };
            name = format!("{group}{sep}{name}");
        }
        let purl = c["purl"].as_str().unwrap_or_default().to_owned();
        let mut version = c["version"].as_str().unwrap_or_default().to_owned();
        let epoch = purl
            .split(['?', '&'])
            .find_map(|q| q.strip_prefix("epoch="))
            .filter(|e| !version.starts_with(&format!("{e}:")));
        if let Some(epoch) = epoch {
            version = format!("{epoch}:{version}");
        }
        out.insert((kind, name, version), purl);
    }
    out
}

fn trivy_tool(test: &str) -> Option<PathBuf> {
    let found = which("trivy");
    if found.is_none() {
        skip(test, &Skip("trivy is not installed".into()));
    }
    found
}

/// `trivy rootfs --format cyclonedx` of `root`, offline, with its own cache.
fn trivy_packages(trivy: &Path, root: &Path) -> (BTreeMap<Key, String>, Value) {
    let cache = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(trivy)
        .args([
            "rootfs",
            "--format",
            "cyclonedx",
            "--offline-scan",
            "--skip-db-update",
        ])
        .args(["--quiet", "--cache-dir"])
        .arg(cache.path())
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trivy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bom = json(&out.stdout);
    (cyclonedx_packages(&bom), bom)
}

fn os_component(bom: &Value) -> Option<(String, String)> {
    bom["components"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "operating-system")
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["version"].as_str().unwrap_or_default().to_owned(),
            )
        })
}

/// The image as a registry reference when docker-registry and the OCI packer are here, else
/// its bootstrap and blob directory.
fn image_source(image: &NydusImage, repo: &str) -> (Option<TestRegistry>, Vec<String>) {
    let registry = TestRegistry::start().and_then(|r| image.oci_layout().map(|l| (r, l)));
    match registry {
        Ok((registry, layout)) => {
            registry
                .push_layout(&layout, &format!("{repo}:latest"))
                .unwrap();
            let source = format!("{}/{repo}:latest", registry.host());
            (Some(registry), vec![source])
        }
        Err(reason) => {
            eprintln!("note: {reason}; reading the image from its directory instead");
            (
                None,
                vec![
                    image.boot.display().to_string(),
                    "--blob-dir".into(),
                    image.blob_dir.display().to_string(),
                ],
            )
        }
    }
}

/// Compares nyscan's CycloneDX of `source` with Trivy's of `root`: the same package set, the
/// same OS, the same purls for OS packages. Returns nyscan's JSON report (with statistics).
fn assert_parity(trivy: &Path, root: &Path, source: &[String]) -> Value {
    let (theirs, their_bom) = trivy_packages(trivy, root);
    let mut args: Vec<&str> = source.iter().map(String::as_str).collect();
    args.extend(["--format", "cyclonedx"]);
    let ours_bom = json(&sbom(&args).stdout);
    assert_eq!(ours_bom["specVersion"], "1.6");
    let ours = cyclonedx_packages(&ours_bom);
    let only_theirs: Vec<&Key> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let only_ours: Vec<&Key> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "package sets differ\nonly Trivy: {only_theirs:#?}\nonly nyscan: {only_ours:#?}"
    );
    assert!(!theirs.is_empty());
    assert_eq!(os_component(&ours_bom), os_component(&their_bom));
    let os_family = os_component(&their_bom).map(|(family, _)| family);
    for (key, purl) in &theirs {
        if Some(&key.0) == os_family.as_ref() {
            assert_eq!(&ours[key], purl, "purl of {key:?}");
        }
    }
    args.truncate(source.len());
    args.extend(["--format", "json", "--stats"]);
    let report = json(&sbom(&args).stdout);
    assert_eq!(
        report["notes"].as_array().map(Vec::len),
        Some(0),
        "{}",
        report["notes"]
    );
    report
}

#[test]
fn sbom_of_the_fixture_image_in_every_format() {
    let source = crate::fixtures()
        .join("oci/v6-merged")
        .display()
        .to_string();
    let source = format!("oci:{source}");

    let bom = json(&sbom(&[&source, "--format", "cyclonedx"]).stdout);
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert!(
        bom["serialNumber"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:")
    );
    let packages = cyclonedx_packages(&bom);
    // No release file names a distribution Trivy knows (os-release says `ID=debian` and
    // there is no debian_version), so OS packages keep the dpkg type and carry no distro.
    let zlib = (
        "dpkg".to_owned(),
        "zlib1g".to_owned(),
        "1:1.2.13.dfsg-1".to_owned(),
    );
    assert_eq!(
        packages.get(&zlib).map(String::as_str),
        Some("pkg:deb/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1"),
        "{packages:#?}"
    );
    assert!(packages.contains_key(&(
        "dpkg".to_owned(),
        "libssl3".to_owned(),
        "3.0.11-1~deb12u2".to_owned()
    )));

    let spdx = json(&sbom(&[&source, "--format", "spdx-json"]).stdout);
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(spdx["dataLicense"], "CC0-1.0");
    let spdx_zlib = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "zlib1g")
        .expect("zlib1g in SPDX");
    assert_eq!(spdx_zlib["versionInfo"], "1:1.2.13.dfsg-1");
    assert_eq!(
        spdx_zlib["externalRefs"][0]["referenceLocator"],
        "pkg:deb/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1"
    );
    assert_eq!(
        spdx_zlib["sourceInfo"],
        "built package from: zlib 1:1.2.13.dfsg-1"
    );
    let ids: BTreeSet<&str> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), spdx["packages"].as_array().unwrap().len());
    for r in spdx["relationships"].as_array().unwrap() {
        let to = r["relatedSpdxElement"].as_str().unwrap();
        assert!(ids.contains(to), "relationship to an unknown element {to}");
    }

    let table = sbom(&[&source]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("(no OS detected)"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("zlib1g") && l.contains("1:1.2.13.dfsg-1")),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    let out = sbom(&[
        &source,
        "--format",
        "json",
        "--stats",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("fetched: "), "{stderr}");
    assert!(stderr.contains("% of "), "{stderr}");
    let report = json(&std::fs::read(&file).unwrap());
    let stats = &report["stats"];
    assert!(stats["requests"].as_u64().unwrap() > 0);
    assert!(
        stats["fetched_bytes"].as_u64().unwrap() < stats["blob_bytes"].as_u64().unwrap() / 10,
        "{stats}"
    );
    assert!(
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "zlib1g" && p["locations"][0] == "var/lib/dpkg/status")
    );
}

#[test]
fn a_damaged_database_is_a_note_and_the_scan_goes_on() {
    let test = "a_damaged_database_is_a_note_and_the_scan_goes_on";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
    std::fs::write(root.join("etc/debian_version"), "12.5\n").unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n",
    )
    .unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/info/bash.md5sums"),
        "not an md5sums line\n",
    )
    .unwrap();
    let image = match build_nydus_image(&root, &dir.path().join("image"), 6) {
        Ok(i) => i,
        Err(reason) => return skip(test, &reason),
    };
    let out = sbom(&[
        image.boot.to_str().unwrap(),
        "--blob-dir",
        image.blob_dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report = json(&out.stdout);
    assert_eq!(report["os"]["family"], "debian");
    assert_eq!(report["os"]["name"], "12.5");
    let packages = report["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1);
    assert_eq!(
        packages[0]["purl"],
        "pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12.5"
    );
    let notes = report["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["path"], "var/lib/dpkg/info/bash.md5sums");
    assert_eq!(notes[0]["kind"], "invalid");
    assert!(notes[0]["message"].as_str().unwrap().contains("line 1"));
}

#[test]
fn sbom_matches_trivy_on_a_debian_rootfs_and_reads_little() {
    let test = "sbom_matches_trivy_on_a_debian_rootfs_and_reads_little";
    let Some(trivy) = trivy_tool(test) else {
        return;
    };
    let root = match cached_tree("debian-tree.sh") {
        Ok(root) => root,
        Err(reason) => return skip(test, &reason),
    };
    let work = tempfile::tempdir().unwrap();
    let image = match build_nydus_image(&root, &work.path().join("image"), 6) {
        Ok(i) => i,
        Err(reason) => return skip(test, &reason),
    };
    let (_registry, source) = image_source(&image, "parity/debian");
    let report = assert_parity(&trivy, &root, &source);
    assert_eq!(report["os"]["family"], "debian");
    let kinds: BTreeSet<&str> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["dpkg", "node-pkg", "python-pkg"]),
        "every ecosystem of the tree is found"
    );
    // Economy: the chunk engine fetched less than a tenth of the image's blob bytes.
    let stats = &report["stats"];
    let fetched = stats["fetched_bytes"].as_u64().unwrap();
    let blob_bytes = stats["blob_bytes"].as_u64().unwrap();
    assert_eq!(blob_bytes, image.blob_bytes());
    assert!(
        fetched * 10 < blob_bytes,
        "fetched {fetched} of {blob_bytes} blob bytes: {stats}"
    );
    assert!(stats["skipped_owned"].as_u64().unwrap() > 0, "{stats}");
    eprintln!(
        "debian parity: {} packages; fetched {fetched} of {blob_bytes} blob bytes ({:.2} %), {} requests, {} rounds",
        report["packages"].as_array().unwrap().len(),
        fetched as f64 * 100.0 / blob_bytes as f64,
        stats["requests"],
        stats["rounds"]
    );
}

/// An Alpine 3.20 `lib/apk/db/installed` as apk writes it (fields of real packages).
const APK_INSTALLED: &str = "\
C:Q1nB5QA8Ch1h6r6mDPUk+VRzUZ2KQ=
P:musl
V:1.2.5-r0
A:x86_64
S:411394
I:662528
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712591162
c:3b1f9a3a3e5d0ad4e8c7aee54b2c4e09e5e47b1b
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1Ol4fW0K3dN8Hm7z9oIOFOm7mnfM=
R:libc.musl-x86_64.so.1

C:Q1dQf3Xl0Dg3f+Qn4lz1dFZ7U6cDg=
P:busybox
V:1.36.1-r29
A:x86_64
S:509468
I:955392
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1717158416
c:1b1e4e1e2d3c2b8b8e7f0ec5e1c7a43d7cfe2d9c
D:so:libc.musl-x86_64.so.1
F:bin
R:busybox
a:0:0:755
Z:Q1FsOd0A0r8l5WvjQ2mWQ+oY5O0wA=

C:Q1X5rhO0mC6R1Xk7D2t4HI1v8gDdY=
P:zlib
V:1.3.1-r1
A:x86_64
S:53564
I:102400
T:A compression/decompression Library
U:https://zlib.net/
L:Zlib
o:zlib
m:Natanael Copa <ncopa@alpinelinux.org>
t:1716983200
c:6f0e6c2f0b3a1e5ad8a5b4b7d3e3f0c5e7f8b9a0
D:so:libc.musl-x86_64.so.1
p:so:libz.so.1=1.3.1
F:usr/lib
R:libz.so.1
a:0:0:755
Z:Q1QfCg3d9M7r7kX9Q6s1Y2Wq3oE5I=
R:libz.so.1.3.1

C:Q1m5H1r4Q1D3Wn8y+o9yL2jQm0Gk8=
P:libcrypto3
V:3.3.2-r0
A:x86_64
S:1776160
I:4780032
T:Crypto library from openssl
U:https://www.openssl.org/
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>
t:1725462000
c:1e0f2f1a9c4c3e6d5b5e9f0a1b2c3d4e5f6a7b8c
D:so:libc.musl-x86_64.so.1
p:so:libcrypto.so.3=3
F:usr/lib
R:libcrypto.so.3

C:Q1lA3vN0J5D8u9z6Q1v8C2dQ0b3k4=
P:py3-six
V:1.16.0-r9
A:noarch
S:13157
I:49152
T:Python 2 and 3 compatibility library
U:https://github.com/benjaminp/six
L:MIT
o:py3-six
m:Natanael Copa <ncopa@alpinelinux.org>
t:1713000000
c:9c2b8c3a1d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a
D:python3
F:usr/lib/python3.12/site-packages/six-1.16.0.dist-info
R:METADATA
R:RECORD
F:usr/lib/python3.12/site-packages
R:six.py
";

/// Writes a small Alpine tree: release files, the apk database, a Python distribution owned
/// by an apk package (Trivy leaves it to the OS), one installed by pip, and an npm package.
fn write_alpine_tree(root: &Path) {
    let put = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    put("etc/alpine-release", "3.20.3\n");
    put(
        "etc/os-release",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n",
    );
    put("lib/apk/db/installed", APK_INSTALLED);
    put(
        "usr/lib/python3.12/site-packages/six-1.16.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nLicense: MIT\n\nsix\n",
    );
    put("usr/lib/python3.12/site-packages/six.py", "# six\n");
    put(
        "usr/lib/python3.12/site-packages/idna-3.10.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: idna\nVersion: 3.10\nLicense-Expression: BSD-3-Clause\n\nidna\n",
    );
    put(
        "srv/app/node_modules/left-pad/package.json",
        "{\"name\": \"left-pad\", \"version\": \"1.3.0\", \"license\": \"WTFPL\"}\n",
    );
    put(
        "srv/app/package.json",
        "{\"name\": \"app\", \"version\": \"0.1.0\", \"dependencies\": {\"left-pad\": \"^1.3.0\"}}\n",
    );
}

#[test]
fn sbom_matches_trivy_on_an_apk_tree() {
    let test = "sbom_matches_trivy_on_an_apk_tree";
    let Some(trivy) = trivy_tool(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write_alpine_tree(&root);
    let image = match build_nydus_image(&root, &dir.path().join("image"), 5) {
        Ok(i) => i,
        Err(reason) => return skip(test, &reason),
    };
    let (_registry, source) = image_source(&image, "parity/alpine");
    let report = assert_parity(&trivy, &root, &source);
    assert_eq!(report["os"]["family"], "alpine");
    let names: BTreeSet<&str> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // six is the distribution's (apk owns its METADATA); idna was installed by pip.
    assert!(
        names.contains("py3-six") && !names.contains("six"),
        "{names:?}"
    );
    assert!(
        names.contains("idna") && names.contains("left-pad"),
        "{names:?}"
    );
}
