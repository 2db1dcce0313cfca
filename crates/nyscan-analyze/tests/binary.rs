//! Go and Rust executables built at test time with the real toolchains, read the way the
//! planner reads them (a `FileView` that starts with the analyzer's initial bytes and is
//! filled round by round with the ranges the analyzer asks for), compared with what
//! `go version -m` and Trivy say about the same files.
//!
//! Needs: Debian's `golang-go` (`go`), `cargo-auditable` (`cargo install cargo-auditable`),
//! Trivy (`/usr/local/bin/trivy`, from `../shared/tools/install-peers.sh`). Each test that
//! lacks one prints `SKIPPED: <reason>` and returns.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use nyscan_analyze::analyzer::Analyzer;
use nyscan_analyze::binary::gobinary::{self, GoBinary};
use nyscan_analyze::binary::rustbinary::RustBinary;
use nyscan_analyze::bytes::FileView;
use nyscan_analyze::package::Package;
use nyscan_testutil::{Skip, skip};

mod common;
use common::{EXECUTABLE, Run, run_selected};

/// Runs `analyzer` on the executable `file` as the planner would.
fn run(analyzer: &dyn Analyzer, path: &str, file: &[u8]) -> Run {
    run_selected(analyzer, path, file, EXECUTABLE, 20)
}

fn pairs(packages: &[Package]) -> BTreeSet<(String, String)> {
    packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

fn tool_works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("nyscan-analyze-binary")
        .join(name);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The Go binaries of these tests, built once per test run.
struct GoBuilds {
    /// `-ldflags "-X main.version=1.2.3"`.
    ldflags: PathBuf,
    /// `-trimpath -ldflags "-X main.version=1.2.3"`: the build info keeps no -ldflags.
    trimpath: PathBuf,
    /// `-ldflags "-s -w"`: no symbol table, no version.
    stripped: PathBuf,
    /// `go env GOVERSION`, e.g. `go1.19.8`.
    go_version: String,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn go_builds() -> Result<&'static GoBuilds, Skip> {
    static BUILDS: OnceLock<Result<GoBuilds, Skip>> = OnceLock::new();
    BUILDS
        .get_or_init(|| {
            if !tool_works("go", &["version"]) {
                return Err(Skip(
                    "`go` not installed (apt-get install golang-go)".to_owned(),
                ));
            }
            let work = scratch("go");
            let src = work.join("src");
            let _ = std::fs::remove_dir_all(&src);
            copy_tree(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/binary/gomod"),
                &src,
            );
            let app = src.join("app");
            let go = |args: &[&str]| {
                let out = Command::new("go")
                    .args(args)
                    .current_dir(&app)
                    .env("GOCACHE", work.join("cache"))
                    .env("GOPATH", work.join("gopath"))
                    .env("GOPROXY", "off")
                    .env("GOFLAGS", "-mod=vendor")
                    .env("GOTOOLCHAIN", "local")
                    .env("GO111MODULE", "on")
                    .output()
                    .expect("run go");
                assert!(
                    out.status.success(),
                    "go {args:?} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stdout).trim().to_owned()
            };
            let out = |name: &str| work.join(name).to_string_lossy().into_owned();
            go(&[
                "build",
                "-ldflags",
                "-X main.version=1.2.3",
                "-o",
                &out("ldflags"),
                ".",
            ]);
            go(&[
                "build",
                "-trimpath",
                "-ldflags",
                "-X main.version=1.2.3",
                "-o",
                &out("trimpath"),
                ".",
            ]);
            go(&["build", "-ldflags", "-s -w", "-o", &out("stripped"), "."]);
            Ok(GoBuilds {
                ldflags: work.join("ldflags"),
                trimpath: work.join("trimpath"),
                stripped: work.join("stripped"),
                go_version: go(&["env", "GOVERSION"]),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The packages `go version -m` lists, with Trivy's rules applied: replacements win,
/// `(devel)` is empty, the toolchain is `stdlib` at `v<version>`. `None` when `go` cannot
/// read the file. The main module is left out (its version rules need more than this).
fn go_version_m(binary: &Path) -> Option<BTreeSet<(String, String)>> {
    let out = Command::new("go")
        .arg("version")
        .arg("-m")
        .arg(binary)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let first = lines.next()?;
    let toolchain = first.rsplit(": ").next()?.trim();
    let mut set = BTreeSet::new();
    set.insert(("stdlib".to_owned(), gobinary::stdlib_version(toolchain)));
    let mut pending: Option<(String, String)> = None;
    let devel = |v: &str| {
        if v == "(devel)" {
            String::new()
        } else {
            v.to_owned()
        }
    };
    for line in lines {
        let cols: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        match cols.first().copied() {
            Some("dep") => {
                if let Some(p) = pending.take() {
                    set.insert(p);
                }
                pending = Some((
                    cols[1].to_owned(),
                    devel(cols.get(2).copied().unwrap_or("")),
                ));
            }
            Some("=>") => {
                pending = Some((
                    cols[1].to_owned(),
                    devel(cols.get(2).copied().unwrap_or("")),
                ));
            }
            _ => {
                if let Some(p) = pending.take() {
                    set.insert(p);
                }
            }
        }
    }
    if let Some(p) = pending {
        set.insert(p);
    }
    Some(set)
}

fn go_findings(path: &Path) -> (Vec<Package>, Run) {
    let file = std::fs::read(path).unwrap();
    let run = run(&GoBinary, "usr/local/bin/app", &file);
    let packages = run
        .findings
        .as_ref()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .packages
        .clone();
    (packages, run)
}

fn without_main(packages: &[Package]) -> BTreeSet<(String, String)> {
    pairs(packages)
        .into_iter()
        .filter(|(name, _)| name != "example.com/app")
        .collect()
}

#[test]
fn go_binary_packages_match_go_version_m() {
    let builds = match go_builds() {
        Ok(b) => b,
        Err(s) => return skip("go_binary_packages_match_go_version_m", &s),
    };
    let (packages, _) = go_findings(&builds.ldflags);
    let expected = go_version_m(&builds.ldflags).expect("go reads its own binary");
    assert_eq!(without_main(&packages), expected);

    let find = |name: &str| packages.iter().find(|p| p.name == name).unwrap();
    let stdlib = find("stdlib");
    assert_eq!(
        stdlib.version,
        format!("v{}", builds.go_version.trim_start_matches("go"))
    );
    assert_eq!(stdlib.purl, format!("pkg:golang/stdlib@{}", stdlib.version));
    let quote = find("example.com/quote");
    assert_eq!(quote.version, "v1.4.0");
    assert_eq!(quote.purl, "pkg:golang/example.com/quote@v1.4.0");
    let greet = find("../greet");
    assert_eq!((greet.version.as_str(), greet.purl.as_str()), ("", ""));
    let main = find("example.com/app");
    assert_eq!(main.version, "1.2.3", "from -ldflags -X main.version=1.2.3");
    assert!(
        packages
            .iter()
            .all(|p| p.locations == ["usr/local/bin/app"])
    );
    assert!(packages.iter().all(|p| p.kind.as_str() == "gobinary"));
}

#[test]
fn main_version_from_the_symbol_table_when_trimpath_hides_ldflags() {
    let builds = match go_builds() {
        Ok(b) => b,
        Err(s) => return skip("main_version_from_the_symbol_table", &s),
    };
    let info =
        gobinary::read_build_info(&FileView::whole(std::fs::read(&builds.trimpath).unwrap()))
            .unwrap();
    assert_eq!(
        info.setting("-ldflags"),
        None,
        "-trimpath drops -ldflags (go.dev/issue/63432)"
    );
    assert_eq!(info.setting("-trimpath"), Some("true"));
    let (packages, run) = go_findings(&builds.trimpath);
    let main = packages
        .iter()
        .find(|p| p.name == "example.com/app")
        .unwrap();
    assert_eq!(main.version, "1.2.3", "from the main.version.str symbol");
    assert_eq!(
        without_main(&packages),
        go_version_m(&builds.trimpath).unwrap()
    );
    // The symbol table costs a round and its bytes; still far from the whole file.
    let size = std::fs::metadata(&builds.trimpath).unwrap().len();
    assert!(run.bytes_read < size / 4, "{} of {size}", run.bytes_read);

    // Stripped and no version anywhere: the main module is reported without a version.
    let (packages, _) = go_findings(&builds.stripped);
    let main = packages
        .iter()
        .find(|p| p.name == "example.com/app")
        .unwrap();
    assert_eq!(main.version, "");
    assert_eq!(main.purl, "pkg:golang/example.com/app");
}

#[test]
fn reading_go_build_info_touches_a_few_kib_of_a_multi_mib_binary() {
    let builds = match go_builds() {
        Ok(b) => b,
        Err(s) => return skip("reading_go_build_info_touches_a_few_kib", &s),
    };
    let file = std::fs::read(&builds.ldflags).unwrap();
    assert!(
        file.len() > 2 << 20,
        "a multi-MiB binary ({} bytes)",
        file.len()
    );
    let run = run(&GoBinary, "usr/local/bin/app", &file);
    assert_eq!(run.findings.unwrap().packages.len(), 4);
    println!(
        "Go build info of a {} byte binary: {} bytes read in {} rounds after the first {} bytes",
        file.len(),
        run.bytes_read,
        run.rounds,
        nyscan_analyze::binary::HEAD_BYTES
    );
    assert!(run.bytes_read < 8 << 10, "read {} bytes", run.bytes_read);
    assert!(run.rounds <= 3, "{} rounds", run.rounds);
}

#[test]
fn binary_without_section_headers_is_read_through_its_data_segment() {
    let builds = match go_builds() {
        Ok(b) => b,
        Err(s) => return skip("binary_without_section_headers", &s),
    };
    let mut file = std::fs::read(&builds.ldflags).unwrap();
    assert_eq!(&file[..5], b"\x7fELF\x02", "a 64-bit ELF");
    // As sstrip does: no section header table.
    file[40..48].fill(0); // e_shoff
    file[60..64].fill(0); // e_shnum, e_shstrndx
    let (original, _) = go_findings(&builds.ldflags);
    let run = run(&GoBinary, "usr/local/bin/app", &file);
    let packages = run.findings.unwrap().packages;
    assert_eq!(pairs(&packages), pairs(&original));
    assert!(
        run.bytes_read <= (64 << 10) + (8 << 10),
        "{}",
        run.bytes_read
    );
}

#[test]
fn installed_go_binaries_agree_with_go_version_m() {
    if !tool_works("go", &["version"]) {
        return skip(
            "installed_go_binaries_agree",
            &Skip("`go` not installed".into()),
        );
    }
    let candidates = [
        "/usr/local/bin/docker",
        "/usr/local/bin/trivy",
        "/usr/bin/go",
    ];
    let mut checked = 0;
    for candidate in candidates {
        let path = match std::fs::canonicalize(candidate) {
            Ok(p) => p,
            Err(_) => continue,
        };
        let file = std::fs::read(&path).unwrap();
        let ours = run(&GoBinary, "bin/x", &file).findings.unwrap().packages;
        match go_version_m(&path) {
            // Go reads it: the same packages (main module aside).
            Some(expected) => {
                let ours: BTreeSet<_> = pairs(&ours)
                    .into_iter()
                    .filter(|(n, _)| expected.iter().any(|(e, _)| e == n) || n == "stdlib")
                    .collect();
                assert_eq!(ours, expected, "{candidate}");
            }
            // Go cannot read it (e.g. a UPX-packed Trivy): neither can we.
            None => assert!(ours.is_empty(), "{candidate}: {ours:?}"),
        }
        checked += 1;
    }
    if checked == 0 {
        skip(
            "installed_go_binaries_agree",
            &Skip("no installed Go binary found".into()),
        );
    }
}

/// Trivy's CycloneDX output: (name, version) of the components of the given Trivy package
/// type.
fn trivy_components(dir: &Path, pkg_type: &str) -> Result<BTreeSet<(String, String)>, Skip> {
    if !tool_works("trivy", &["--version"]) {
        return Err(Skip(
            "trivy not installed (../shared/tools/install-peers.sh)".into(),
        ));
    }
    let cache = scratch("trivy-cache");
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
        .arg(&cache)
        .arg(dir)
        .output()
        .expect("run trivy");
    assert!(
        out.status.success(),
        "trivy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bom: serde_json::Value = serde_json::from_slice(&out.stdout).expect("trivy JSON");
    let mut set = BTreeSet::new();
    for c in bom["components"].as_array().into_iter().flatten() {
        let is_type = c["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "aquasecurity:trivy:PkgType" && p["value"] == pkg_type);
        if is_type {
            set.insert((
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["version"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    Ok(set)
}

#[test]
fn trivy_finds_the_same_go_dependencies() {
    let builds = match go_builds() {
        Ok(b) => b,
        Err(s) => return skip("trivy_finds_the_same_go_dependencies", &s),
    };
    let root = scratch("trivy-go-root");
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    std::fs::copy(&builds.ldflags, root.join("usr/local/bin/app")).unwrap();
    let trivy = match trivy_components(&root, "gobinary") {
        Ok(t) => t,
        Err(s) => return skip("trivy_finds_the_same_go_dependencies", &s),
    };
    let (packages, _) = go_findings(&builds.ldflags);
    let ours = pairs(&packages);
    // The installed peer is an older Trivy: it keeps `(devel)` as a version, and reports
    // neither `stdlib` nor the main module (both added to Trivy in 2024; nyscan follows
    // current Trivy). Everything it reports, nyscan reports.
    for (name, version) in &trivy {
        let version = if version == "(devel)" {
            ""
        } else {
            version.as_str()
        };
        assert!(
            ours.contains(&(name.clone(), version.to_owned())),
            "Trivy has {name} {version}; nyscan: {ours:?}"
        );
    }
    for (name, version) in &ours {
        let known_extra = name == "stdlib" || name == "example.com/app";
        assert!(
            known_extra || trivy.iter().any(|(n, _)| n == name),
            "nyscan has {name} {version}; Trivy: {trivy:?}"
        );
    }
}

/// A Rust binary built with `cargo auditable`, once per run.
fn auditable_binary() -> Result<&'static PathBuf, Skip> {
    static BUILD: OnceLock<Result<PathBuf, Skip>> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            if !tool_works("cargo", &["auditable", "--version"]) {
                return Err(Skip(
                    "cargo-auditable not installed (cargo install cargo-auditable)".into(),
                ));
            }
            let work = scratch("rust");
            let krate = work.join("audit-hello");
            std::fs::create_dir_all(krate.join("src")).unwrap();
            std::fs::write(
                krate.join("Cargo.toml"),
                "[package]\nname = \"audit-hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\nitoa = \"1\"\n\n[workspace]\n",
            )
            .unwrap();
            std::fs::write(
                krate.join("src/main.rs"),
                "fn main() {\n    let mut b = itoa::Buffer::new();\n    println!(\"{}\", b.format(42));\n}\n",
            )
            .unwrap();
            // `itoa` comes from the local registry cache (the workspace depends on it through
            // serde_json); no network needed.
            let out = Command::new("cargo")
                .args(["auditable", "build", "--offline", "--quiet", "--target-dir"])
                .arg(work.join("target"))
                .current_dir(&krate)
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .output()
                .expect("run cargo auditable");
            if !out.status.success() {
                return Err(Skip(format!(
                    "cargo auditable build failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            Ok(work.join("target/debug/audit-hello"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[test]
fn rust_binary_lists_its_runtime_crates_like_trivy() {
    let binary = match auditable_binary() {
        Ok(b) => b,
        Err(s) => return skip("rust_binary_lists_its_runtime_crates", &s),
    };
    let file = std::fs::read(binary).unwrap();
    let run = run(&RustBinary, "usr/bin/audit-hello", &file);
    let packages = run.findings.unwrap().packages;
    let names: BTreeSet<_> = packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["audit-hello", "itoa"]));
    let hello = packages.iter().find(|p| p.name == "audit-hello").unwrap();
    assert_eq!(hello.version, "0.1.0");
    assert_eq!(hello.purl, "pkg:cargo/audit-hello@0.1.0");
    assert!(packages.iter().all(|p| p.kind.as_str() == "rustbinary"));
    assert!(
        run.bytes_read < file.len() as u64 / 10,
        "{} of {}",
        run.bytes_read,
        file.len()
    );

    let root = scratch("trivy-rust-root");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::copy(binary, root.join("usr/bin/audit-hello")).unwrap();
    match trivy_components(&root, "rustbinary") {
        Ok(trivy) => assert_eq!(pairs(&packages), trivy),
        Err(s) => skip("rust_binary_lists_its_runtime_crates (Trivy part)", &s),
    }
}

/// An ELF64 file whose `.go.buildinfo` section is `section`, mapped at 0x400000 + 128 by the
/// one loadable segment (as a pre-1.18 Go binary maps its data).
fn elf_with_buildinfo(section: &[u8]) -> Vec<u8> {
    let shstr = b"\0.go.buildinfo\0.shstrtab\0";
    let data_at = 128u64;
    let shstr_at = data_at + section.len() as u64;
    let shoff = (shstr_at + shstr.len() as u64 + 7) & !7;
    let total = shoff + 3 * 64;
    let mut f = b"\x7fELF\x02\x01\x01".to_vec();
    f.resize(16, 0);
    for v in [2u16, 62] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&1u32.to_le_bytes());
    for v in [0x401000u64, 64, shoff] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 1, 64, 3, 2] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    f.extend_from_slice(&6u32.to_le_bytes()); // readable, writable
    for v in [0u64, 0x400000, 0x400000, total, total, 0x1000] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.resize(data_at as usize, 0);
    f.extend_from_slice(section);
    f.extend_from_slice(shstr);
    f.resize(shoff as usize, 0);
    f.extend_from_slice(&[0u8; 64]);
    for (name, kind, addr, off, size) in [
        (
            1u32,
            1u32,
            0x400000 + data_at,
            data_at,
            section.len() as u64,
        ),
        (15, 3, 0, shstr_at, shstr.len() as u64),
    ] {
        f.extend_from_slice(&name.to_le_bytes());
        f.extend_from_slice(&kind.to_le_bytes());
        // flags, address, offset, size, link + info (two zero u32), alignment, entry size
        for v in [2u64, addr, off, size, 0, 16, 0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
    }
    assert_eq!(f.len() as u64, total);
    f
}

#[test]
fn pre_go_1_18_pointer_blobs_read_as_go_reads_them() {
    // Go before 1.18 stored two pointers to string headers; no such toolchain is installable
    // here, so the blob is laid out by hand and Go's own reader is the judge.
    if !tool_works("go", &["version"]) {
        return skip(
            "pre_go_1_18_pointer_blobs",
            &Skip("`go` not installed".into()),
        );
    }
    let modinfo = "path\texample.com/old\nmod\texample.com/old\tv0.3.1\th1:x=\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:y=\ndep\tgolang.org/x/sys\tv0.0.0-20210124154548-22da62e12c0c\t\n=>\tgolang.org/x/sys\tv0.1.0\th1:z=\n";
    let framed = format!("0123456789abcdef{modinfo}fedcba9876543210");
    let version = "go1.16.15";
    let base = 0x400000u64 + 128;
    let mut blob = b"\xff Go buildinf:".to_vec();
    blob.extend_from_slice(&[8, 0]);
    for v in [
        base + 32,
        base + 48,
        base + 64,
        version.len() as u64,
        base + 64 + version.len() as u64,
        framed.len() as u64,
    ] {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    blob.extend_from_slice(version.as_bytes());
    blob.extend_from_slice(framed.as_bytes());
    let file = elf_with_buildinfo(&blob);
    let path = scratch("pointer-form").join("old-go-binary");
    std::fs::write(&path, &file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let expected = go_version_m(&path).expect("go reads the hand-made binary");
    let run = run(&GoBinary, "usr/bin/old", &file);
    let packages = run.findings.unwrap().packages;
    let ours: BTreeSet<_> = pairs(&packages)
        .into_iter()
        .filter(|(n, _)| n != "example.com/old")
        .collect();
    assert_eq!(ours, expected);
    assert!(ours.contains(&("golang.org/x/sys".to_owned(), "v0.1.0".to_owned())));
    assert!(ours.contains(&("stdlib".to_owned(), "v1.16.15".to_owned())));
    let main = packages
        .iter()
        .find(|p| p.name == "example.com/old")
        .unwrap();
    assert_eq!(main.version, "v0.3.1");
}

#[test]
fn non_elf_executables_yield_nothing() {
    for file in [
        &b"#!/bin/sh\necho hello\n"[..],
        b"",
        b"\x7fEL",
        b"MZ\x90\x00 windows",
    ] {
        for analyzer in [&GoBinary as &dyn Analyzer, &RustBinary] {
            let run = run(analyzer, "usr/bin/script", file);
            assert!(run.findings.unwrap().packages.is_empty());
            assert_eq!(run.rounds, 0);
        }
    }
}
