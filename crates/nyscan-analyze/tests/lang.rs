//! The language analyzers on real package metadata.
//!
//! - `tests/data/lang/tree`: files copied from real installs (pip, npm, RubyGems, Composer,
//!   Cargo, Debian's python3 packages) plus hand-written conda and .NET records, scanned the way
//!   the planner does (select by path and metadata, start from the initial bytes, fetch what an
//!   analyzer asks for, run it again), against a table of what Trivy's rules give.
//! - The same tree through Trivy (`trivy rootfs`), when installed.
//! - Live installs made at test time by pip, npm, gem, composer and cargo, each compared with
//!   the tool's own listing of what it installed (and with Trivy). A test whose tool or registry
//!   is missing prints `SKIPPED: <reason>`.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nyscan_analyze::analyzer::{AnalyzeError, Analyzer, Context, FileMeta};
use nyscan_analyze::bytes::FileView;
use nyscan_analyze::lang;
use nyscan_analyze::package::{Package, PackageType};
use nyscan_testutil::{Skip, skip};

mod common;
use common::{run_from, trivy_rootfs_packages};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lang")
}

/// What scanning a directory gave.
#[derive(Debug, Default)]
struct Scan {
    packages: Vec<Package>,
    /// (path, error) of files an analyzer refused.
    errors: Vec<(String, String)>,
    /// Bytes handed to analyzers.
    bytes_read: u64,
    /// Bytes of the selected files.
    bytes_selected: u64,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Runs `analyzers` over every file below `root` like the planner: initial bytes first, then
/// the ranges an analyzer asks for.
fn scan_tree(root: &Path, analyzers: &[Box<dyn Analyzer>]) -> Scan {
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut scan = Scan::default();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let m = fs::symlink_metadata(&file).unwrap();
        let meta = FileMeta {
            size: m.len(),
            mode: m.mode(),
        };
        for analyzer in analyzers {
            let Some(initial) = analyzer.select(&rel, &meta) else {
                continue;
            };
            let bytes = fs::read(&file).unwrap();
            scan.bytes_selected += bytes.len() as u64;
            let run = run_from(analyzer.as_ref(), &rel, &bytes, initial, 15);
            match run.findings {
                Ok(found) => scan.packages.extend(found.packages),
                Err(e) => scan.errors.push((rel.clone(), e.to_string())),
            }
            scan.bytes_read += run.bytes_read;
        }
    }
    scan
}

type Key = (String, String, String);

fn keys(packages: &[Package]) -> BTreeSet<Key> {
    packages
        .iter()
        .map(|p| {
            (
                p.kind.as_str().to_string(),
                p.name.clone(),
                p.version.clone(),
            )
        })
        .collect()
}

#[test]
fn committed_tree_gives_what_trivys_rules_give() {
    let scan = scan_tree(&data().join("tree"), &lang::analyzers());
    let mut got: Vec<(String, String, String, String, Vec<String>, String)> = scan
        .packages
        .iter()
        .map(|p| {
            (
                p.kind.as_str().to_string(),
                p.name.clone(),
                p.version.clone(),
                p.purl.clone(),
                p.licenses.clone(),
                p.locations.join(","),
            )
        })
        .collect();
    got.sort();
    let row = |t: &str, n: &str, v: &str, purl: &str, lic: &[&str], loc: &str| {
        (
            t.to_string(),
            n.to_string(),
            v.to_string(),
            purl.to_string(),
            lic.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            loc.to_string(),
        )
    };
    let want = vec![
        row(
            "cargo",
            "ctool",
            "0.1.0",
            "pkg:cargo/ctool@0.1.0",
            &[],
            "src/ctool/Cargo.lock",
        ),
        row(
            "cargo",
            "hex",
            "0.4.3",
            "pkg:cargo/hex@0.4.3",
            &[],
            "src/ctool/Cargo.lock",
        ),
        row(
            "cargo",
            "itoa",
            "1.0.19",
            "pkg:cargo/itoa@1.0.19",
            &[],
            "src/ctool/Cargo.lock",
        ),
        row(
            "composer-vendor",
            "acme/log",
            "1.13.1",
            "pkg:composer/acme/log@1.13.1",
            &["MIT"],
            "var/www/site/vendor/composer/installed.json",
        ),
        row(
            "composer-vendor",
            "acme/pear_util",
            "v1.0.0",
            "pkg:composer/acme/pear_util@v1.0.0",
            &["BSD-2-Clause", "MIT"],
            "var/www/site/vendor/composer/installed.json",
        ),
        row(
            "conda-pkg",
            "six",
            "1.16.0",
            "pkg:conda/six@1.16.0",
            &["MIT"],
            "opt/conda/envs/ml/conda-meta/six-1.16.0-pyhd8ed1ab_0.json",
        ),
        row(
            "dotnet-core",
            "DemoApp",
            "1.0.0",
            "pkg:nuget/DemoApp@1.0.0",
            &[],
            "srv/demo/DemoApp.deps.json",
        ),
        row(
            "dotnet-core",
            "Newtonsoft.Json",
            "13.0.3",
            "pkg:nuget/Newtonsoft.Json@13.0.3",
            &[],
            "srv/demo/DemoApp.deps.json",
        ),
        row(
            "dotnet-core",
            "Serilog",
            "3.1.1",
            "pkg:nuget/Serilog@3.1.1",
            &[],
            "srv/demo/DemoApp.deps.json",
        ),
        row(
            "gemspec",
            "hello_nyscan",
            "0.3.1",
            "pkg:gem/hello_nyscan@0.3.1",
            &["BSD-2-Clause"],
            "usr/local/lib/ruby/gems/3.1.0/specifications/hello_nyscan-0.3.1.gemspec",
        ),
        row(
            "gemspec",
            "rake",
            "13.0.6",
            "pkg:gem/rake@13.0.6",
            &["MIT"],
            "usr/share/rubygems-integration/all/specifications/rake-13.0.6.gemspec",
        ),
        row(
            "node-pkg",
            "@babel/helper-string-parser",
            "7.24.8",
            "pkg:npm/%40babel/helper-string-parser@7.24.8",
            &["MIT"],
            "app/node_modules/@babel/helper-string-parser/package.json",
        ),
        row(
            "node-pkg",
            "lodash",
            "4.17.21",
            "pkg:npm/lodash@4.17.21",
            &["MIT"],
            "app/node_modules/lodash/package.json",
        ),
        row(
            "node-pkg",
            "nyscan-demo-app",
            "0.1.0",
            "pkg:npm/nyscan-demo-app@0.1.0",
            &["Apache-2.0"],
            "app/package.json",
        ),
        row(
            "node-pkg",
            "semver",
            "7.6.3",
            "pkg:npm/semver@7.6.3",
            &["ISC"],
            "app/node_modules/semver/package.json",
        ),
        row(
            "python-pkg",
            "attrs",
            "24.2.0",
            "pkg:pypi/attrs@24.2.0",
            &["MIT"],
            "usr/lib/python3/dist-packages/attrs-24.2.0.dist-info/METADATA",
        ),
        row(
            "python-pkg",
            "oauthlib",
            "3.2.2",
            "pkg:pypi/oauthlib@3.2.2",
            &["BSD License"],
            "usr/lib/python3/dist-packages/oauthlib-3.2.2.egg-info/PKG-INFO",
        ),
        row(
            "python-pkg",
            "six",
            "1.16.0",
            "pkg:pypi/six@1.16.0",
            &["MIT License"],
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
        ),
        row(
            "python-pkg",
            "typing_extensions",
            "4.12.2",
            "pkg:pypi/typing-extensions@4.12.2",
            &["Python Software Foundation License"],
            "usr/lib/python3/dist-packages/typing_extensions-4.12.2.dist-info/METADATA",
        ),
        row(
            "python-pkg",
            "wsgiref",
            "0.1.2",
            "pkg:pypi/wsgiref@0.1.2",
            &["PSF", "ZPL"],
            "opt/legacy/lib/python2.7/site-packages/wsgiref-0.1.2-py2.7.egg-info",
        ),
    ];
    assert_eq!(got, want);
    // rxjs/ajax/package.json is a subpath helper whose name is not a package name.
    assert_eq!(scan.errors.len(), 1, "{:?}", scan.errors);
    assert_eq!(scan.errors[0].0, "app/node_modules/rxjs/ajax/package.json");
}

#[test]
fn metadata_bodies_are_not_read() {
    // attrs' METADATA carries an 11 KB long description after its header.
    let dir = data().join("tree/usr/lib/python3/dist-packages");
    let scan = scan_tree(&dir, &lang::analyzers());
    assert_eq!(scan.packages.len(), 4);
    let attrs = fs::read(dir.join("attrs-24.2.0.dist-info/METADATA")).unwrap();
    let header_end = attrs.windows(2).position(|w| w == b"\n\n").unwrap();
    assert!(
        attrs.len() > 2 * header_end,
        "the sample has a long description body"
    );
    // With a 64 MiB body appended, the first 64 KiB (the initial head) is all it reads.
    let mut big = attrs.clone();
    big.extend(std::iter::repeat_n(b'x', 64 << 20));
    let mut view = FileView::new(big.len() as u64);
    view.insert(0, &big[..64 * 1024]);
    let found = lang::PythonPackageAnalyzer
        .analyze(
            "x/attrs-24.2.0.dist-info/METADATA",
            &view,
            &Context::default(),
        )
        .unwrap();
    assert_eq!(found.packages[0].version, "24.2.0");
}

#[test]
fn a_header_without_end_is_refused_within_bounds() {
    // A 1 GiB METADATA that is all header: the analyzer asks for at most 8 MiB, then stops.
    let size = 1u64 << 30;
    let line = b"Classifier: Topic :: Software Development\n";
    let mut view = FileView::new(size);
    let mut asked = 0u64;
    let err = loop {
        match lang::PythonPackageAnalyzer.analyze(
            "x.dist-info/METADATA",
            &view,
            &Context::default(),
        ) {
            Err(AnalyzeError::Need(need)) => {
                for r in need.ranges {
                    asked += r.end - r.start;
                    let bytes: Vec<u8> = (r.start..r.end)
                        .map(|i| line[(i % line.len() as u64) as usize])
                        .collect();
                    view.insert(r.start, &bytes);
                }
            }
            other => break other.unwrap_err(),
        }
    };
    assert!(matches!(err, AnalyzeError::Limit(_)), "{err:?}");
    assert!(asked <= 8 << 20, "asked for {asked} bytes");
}

#[test]
fn composer_1_array_form() {
    let scan = scan_tree(&data().join("composer-v1"), &lang::analyzers());
    let got: Vec<_> = scan.packages.iter().map(|p| p.purl.as_str()).collect();
    assert_eq!(
        got,
        [
            "pkg:composer/monolog/monolog@1.27.1",
            "pkg:composer/psr/log@1.1.4"
        ]
    );
}

// ---- Trivy ----------------------------------------------------------------------------

/// Package types where the installed Trivy (v0.44, from cdxgen's plugins) follows other rules
/// than current Trivy, which these analyzers follow: it has no composer-vendor analyzer (added
/// in v0.53) and its dotnet-core keeps every `package` library (current Trivy also keeps
/// `project` and `runtimepack` libraries but drops libraries without runtime assets).
const PEER_DIFFERS: &[&str] = &["composer-vendor", "dotnet-core"];

fn trivy_packages(dir: &Path) -> Result<BTreeSet<Key>, Skip> {
    let report = trivy_rootfs_packages(dir)?;
    let mut set = BTreeSet::new();
    for result in report["Results"].as_array().into_iter().flatten() {
        let kind = result["Type"].as_str().unwrap_or_default();
        for p in result["Packages"].as_array().into_iter().flatten() {
            set.insert((
                kind.to_string(),
                p["Name"].as_str().unwrap_or_default().to_string(),
                p["Version"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    Ok(set)
}

fn compare_with_trivy(test: &str, dir: &Path, ours: &[Package]) {
    let theirs = match trivy_packages(dir) {
        Ok(t) => t,
        Err(reason) => return skip(test, &reason),
    };
    let comparable = |set: BTreeSet<Key>| -> BTreeSet<Key> {
        set.into_iter()
            .filter(|(t, _, _)| !PEER_DIFFERS.contains(&t.as_str()))
            .collect()
    };
    let ours = comparable(keys(ours));
    assert!(!ours.is_empty());
    assert_eq!(ours, comparable(theirs));
}

#[test]
fn trivy_finds_the_same_packages_in_the_committed_tree() {
    let tree = data().join("tree");
    let scan = scan_tree(&tree, &lang::analyzers());
    compare_with_trivy(
        "trivy_finds_the_same_packages_in_the_committed_tree",
        &tree,
        &scan.packages,
    );
}

// ---- live installs ----------------------------------------------------------------------

/// Runs a tool; a missing tool or a failure that looks like an unreachable registry is a skip.
fn run(cmd: &mut Command) -> Result<Vec<u8>, Skip> {
    let out = cmd
        .output()
        .map_err(|e| Skip(format!("{:?} not runnable: {e}", cmd.get_program())))?;
    if !out.status.success() {
        return Err(Skip(format!(
            "{:?} failed (registry unreachable?): {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        )));
    }
    Ok(out.stdout)
}

fn normalise_pypi(name: &str) -> String {
    name.to_lowercase().replace(['_', '.'], "-")
}

#[test]
fn pip_installs_match_pip_list() {
    let test = "pip_installs_match_pip_list";
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("usr/local/lib/python3.11/site-packages");
    let wanted = [
        "six==1.16.0",
        "attrs==24.2.0",
        "typing_extensions==4.12.2",
        "PyYAML==6.0.2",
        "requests==2.32.3",
        "zope.interface==7.0.3",
    ];
    if let Err(reason) = run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(&site)
        .args(wanted))
    {
        return skip(test, &reason);
    }
    let listed = run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "list",
            "--disable-pip-version-check",
            "--format",
            "json",
            "--path",
        ])
        .arg(&site))
    .expect("pip list");
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed).unwrap();
    let want: BTreeSet<(String, String)> = listed
        .iter()
        .map(|p| {
            (
                normalise_pypi(p["name"].as_str().unwrap()),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(want.len(), wanted.len());
    let scan = scan_tree(tmp.path(), &lang::analyzers());
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    let got: BTreeSet<(String, String)> = scan
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::PythonPkg)
        .map(|p| (normalise_pypi(&p.name), p.version.clone()))
        .collect();
    assert_eq!(got, want);
    compare_with_trivy(test, tmp.path(), &scan.packages);
}

fn npm_tree(value: &serde_json::Value, out: &mut BTreeSet<(String, String)>) {
    for (name, dep) in value["dependencies"].as_object().into_iter().flatten() {
        if let Some(v) = dep["version"].as_str() {
            out.insert((name.clone(), v.to_string()));
        }
        npm_tree(dep, out);
    }
}

#[test]
fn npm_installs_match_npm_ls() {
    let test = "npm_installs_match_npm_ls";
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("srv/app");
    fs::create_dir_all(&app).unwrap();
    fs::write(
        app.join("package.json"),
        r#"{"name":"nyscan-live-app","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    if let Err(reason) = run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&app)
        .args([
            "express@4.19.2",
            "@babel/helper-string-parser@7.24.8",
            "lodash@4.17.21",
        ]))
    {
        return skip(test, &reason);
    }
    let listed = run(Command::new("npm")
        .args(["ls", "--all", "--json", "--prefix"])
        .arg(&app))
    .expect("npm ls");
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    let mut want = BTreeSet::new();
    want.insert(("nyscan-live-app".to_string(), "1.0.0".to_string()));
    npm_tree(&listed, &mut want);
    assert!(want.len() > 50, "express brings its dependencies");
    let scan = scan_tree(tmp.path(), &lang::analyzers());
    let got: BTreeSet<(String, String)> = scan
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::NodePkg)
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    // Every installed package is found; anything else found comes from a package.json that
    // sits inside a package (tests, examples), which Trivy reads too.
    assert!(
        want.is_subset(&got),
        "missing: {:?}",
        want.difference(&got).collect::<Vec<_>>()
    );
    compare_with_trivy(test, tmp.path(), &scan.packages);
}

#[test]
fn gem_installs_match_gem_list() {
    let test = "gem_installs_match_gem_list";
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("lib")).unwrap();
    fs::write(src.join("lib/nyscan_live.rb"), "module NyscanLive; end\n").unwrap();
    fs::write(
        src.join("nyscan_live.gemspec"),
        "Gem::Specification.new do |s|\n  s.name = \"nyscan_live\"\n  s.version = \"2.4.0\"\n  \
         s.summary = \"nyscan test gem\"\n  s.authors = [\"nyscan\"]\n  s.files = [\"lib/nyscan_live.rb\"]\n  \
         s.licenses = [\"MIT\", \"Ruby\"]\nend\n",
    )
    .unwrap();
    if let Err(reason) = run(Command::new("gem").current_dir(&src).args([
        "build",
        "--silent",
        "nyscan_live.gemspec",
    ])) {
        return skip(test, &reason);
    }
    let home = tmp.path().join("root/usr/local/bundle");
    run(Command::new("gem")
        .current_dir(&src)
        .args([
            "install",
            "--local",
            "--no-document",
            "--silent",
            "--install-dir",
        ])
        .arg(&home)
        .arg("nyscan_live-2.4.0.gem"))
    .expect("gem install --local");
    let listed = run(Command::new("gem")
        .env("GEM_HOME", &home)
        .env("GEM_PATH", &home)
        .args(["list", "--local", "nyscan_live"]))
    .expect("gem list");
    let listed = String::from_utf8(listed).unwrap();
    assert!(listed.contains("nyscan_live (2.4.0)"), "{listed}");
    let scan = scan_tree(&tmp.path().join("root"), &lang::analyzers());
    assert_eq!(scan.packages.len(), 1, "{:?}", scan.packages);
    let gem = &scan.packages[0];
    assert_eq!(
        (gem.name.as_str(), gem.version.as_str()),
        ("nyscan_live", "2.4.0")
    );
    assert_eq!(gem.licenses, ["MIT", "Ruby"]);
    assert_eq!(gem.purl, "pkg:gem/nyscan_live@2.4.0");
    compare_with_trivy(test, &tmp.path().join("root"), &scan.packages);
}

#[test]
fn composer_installs_match_composer_show() {
    let test = "composer_installs_match_composer_show";
    let tmp = tempfile::tempdir().unwrap();
    let pkgs = tmp.path().join("pkgs");
    for (dir, json) in [
        (
            "log",
            r#"{"name":"acme/log","version":"1.13.1","license":"MIT"}"#,
        ),
        (
            "util",
            r#"{"name":"acme/util","version":"v2.0.1","license":["BSD-2-Clause"],"require":{"acme/log":"^1.0"}}"#,
        ),
    ] {
        fs::create_dir_all(pkgs.join(dir)).unwrap();
        fs::write(pkgs.join(dir).join("composer.json"), json).unwrap();
    }
    let site = tmp.path().join("root/var/www/site");
    fs::create_dir_all(&site).unwrap();
    fs::write(
        site.join("composer.json"),
        format!(
            r#"{{"name":"acme/site","repositories":[{{"type":"path","url":"{}/*","options":{{"symlink":false}}}},{{"packagist.org":false}}],"require":{{"acme/util":"v2.0.1"}}}}"#,
            pkgs.display()
        ),
    )
    .unwrap();
    let composer = |args: &[&str]| {
        let mut cmd = Command::new("composer");
        cmd.current_dir(&site)
            .env("COMPOSER_HOME", tmp.path().join("composer-home"))
            .args(["--no-interaction", "--ignore-platform-reqs"])
            .args(args);
        cmd
    };
    if let Err(reason) = run(&mut composer(&["install", "--quiet"])) {
        return skip(test, &reason);
    }
    let listed = run(&mut composer(&["show", "--format=json"])).expect("composer show");
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    let want: BTreeSet<(String, String)> = listed["installed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(want.len(), 2);
    let scan = scan_tree(&tmp.path().join("root"), &lang::analyzers());
    let got: BTreeSet<(String, String)> = scan
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::ComposerVendor)
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn cargo_lock_matches_cargo_metadata() {
    let test = "cargo_lock_matches_cargo_metadata";
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("src/tool");
    fs::create_dir_all(project.join("src")).unwrap();
    fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"tool\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nserde_json = \"1\"\nthiserror = \"2\"\n",
    )
    .unwrap();
    if let Err(reason) = run(Command::new("cargo").current_dir(&project).args([
        "generate-lockfile",
        "--offline",
        "--quiet",
    ])) {
        return skip(test, &reason);
    }
    let meta = run(Command::new("cargo").current_dir(&project).args([
        "metadata",
        "--offline",
        "--format-version",
        "1",
    ]))
    .expect("cargo metadata");
    let meta: serde_json::Value = serde_json::from_slice(&meta).unwrap();
    let want: BTreeSet<(String, String)> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The lock file lists every package of the resolve, for all platforms.
    let only_lock = tmp.path().join("lock");
    fs::create_dir_all(&only_lock).unwrap();
    fs::copy(project.join("Cargo.lock"), only_lock.join("Cargo.lock")).unwrap();
    let scan = scan_tree(&only_lock, &lang::analyzers());
    let got: BTreeSet<(String, String)> = scan
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert!(
        want.is_subset(&got),
        "missing: {:?}",
        want.difference(&got).collect::<Vec<_>>()
    );
    assert!(got.contains(&("tool".to_string(), "0.2.0".to_string())));
    compare_with_trivy(test, &only_lock, &scan.packages);
}
