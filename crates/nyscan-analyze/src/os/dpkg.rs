//! The dpkg database: `var/lib/dpkg/status`, the per-package files of `status.d/`
//! (distroless images), and the `*.md5sums` lists that tell which files packages own.

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial, Phase};
use crate::bytes::ByteSource;
use crate::os::control::{Stanza, stanzas};
use crate::os::version::is_valid_deb;
use crate::os::{os_purl_placeholder, read_whole};
use crate::package::{Package, PackageType, SourcePackage};

const STATUS: &str = "var/lib/dpkg/status";
const STATUS_DIR: &str = "var/lib/dpkg/status.d/";
const INFO_DIR: &str = "var/lib/dpkg/info/";
const MD5SUMS: &str = ".md5sums";

/// Reads dpkg's database and ownership lists.
#[derive(Debug, Default, Clone, Copy)]
pub struct Dpkg;

/// What a selected dpkg file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DpkgFile {
    Status,
    Md5sums,
}

fn classify(path: &str) -> Option<DpkgFile> {
    if path == STATUS {
        return Some(DpkgFile::Status);
    }
    let (dir, name) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => return None,
    };
    if name.is_empty() {
        return None;
    }
    let md5sums = name.ends_with(MD5SUMS);
    match dir {
        INFO_DIR if md5sums => Some(DpkgFile::Md5sums),
        STATUS_DIR if md5sums => Some(DpkgFile::Md5sums),
        STATUS_DIR => Some(DpkgFile::Status),
        _ => None,
    }
}

impl Analyzer for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn version(&self) -> u32 {
        1
    }

    fn phase(&self) -> Phase {
        Phase::Os
    }

    fn select(&self, path: &str, _meta: &FileMeta) -> Option<Initial> {
        classify(path).map(|_| Initial::Whole)
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        let kind = classify(path)
            .ok_or_else(|| AnalyzeError::Invalid(format!("{path}: not a dpkg file")))?;
        let bytes = read_whole(path, data)?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(match kind {
            DpkgFile::Md5sums => Findings {
                package_files: vec![(md5sums_owner(path), parse_md5sums(path, &text)?)],
                ..Findings::default()
            },
            DpkgFile::Status => Findings {
                packages: parse_status(path, &text),
                third_party: third_party_packages(&text),
                ..Findings::default()
            },
        })
    }
}

/// The package an `md5sums` list belongs to, as its file name says (`NAME` or `NAME:ARCH`).
fn md5sums_owner(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(MD5SUMS).unwrap_or(name).to_owned()
}

/// Maintainer substrings of third-party repositories whose packages Trivy does not treat as
/// owning their files (its issue 9916): language packages they install stay visible.
const THIRD_PARTY_MAINTAINER_PARTS: &[&str] = &[
    "support@docker.com",
    "@nvidia.com",
    "Google Cloud CLI Authors",
    "sapmachine@sap.com",
    "@hashicorp.com",
    "@microsoft.com",
    "@mongodb.com",
    "developers@lists.mariadb.org",
    "dev@couchdb.apache.org",
    "info@elastic.co",
    "nginx-packaging@f5.com",
    "@konghq.com",
    "@cloudflare.com",
    "support@influxdb.com",
    "support@gitlab.com",
    "contact@grafana.com",
    "@datadoghq.com",
    "@nodesource.com",
    "info@tailscale.com",
    "@openrobotics.org",
    "@osrfoundation.org",
];

/// Maintainer values that mark a third-party package only when they are the whole value.
const THIRD_PARTY_MAINTAINERS: &[&str] = &["GitHub", "HashiCorp"];

/// Whether a `Maintainer` value names a third-party repository.
fn is_third_party(maintainer: &str) -> bool {
    THIRD_PARTY_MAINTAINERS.contains(&maintainer)
        || THIRD_PARTY_MAINTAINER_PARTS
            .iter()
            .any(|part| maintainer.contains(part))
}

/// Installed packages of a status file whose maintainer is a third-party repository.
fn third_party_packages(text: &str) -> Vec<String> {
    stanzas(text)
        .into_iter()
        .filter(|stanza| !is_removed(stanza))
        .filter(|stanza| stanza.get("Maintainer").is_some_and(is_third_party))
        .filter_map(|stanza| stanza.get("Package").map(str::to_owned))
        .collect()
}

/// The files listed in an `md5sums` file (`HASH  PATH` per line), without a leading `/`.
fn parse_md5sums(path: &str, text: &str) -> Result<Vec<String>, AnalyzeError> {
    let mut files = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let Some((_, file)) = line.split_once("  ") else {
            return Err(AnalyzeError::Invalid(format!(
                "{path}: line {}: not `HASH  PATH`",
                n + 1
            )));
        };
        files.push(file.trim_start_matches('/').to_owned());
    }
    files.sort();
    Ok(files)
}

/// True when a stanza's `Status` marks the package removed (`deinstall`/`purge`).
fn is_removed(stanza: &Stanza<'_>) -> bool {
    stanza.get("Status").is_some_and(|s| {
        s.split_whitespace()
            .any(|w| w == "deinstall" || w == "purge")
    })
}

/// The installed packages of a status file; stanzas without a name or with an invalid
/// version are left out (as Trivy does), duplicates (same name and version) kept once.
fn parse_status(path: &str, text: &str) -> Vec<Package> {
    let mut out: Vec<Package> = Vec::new();
    for stanza in stanzas(text) {
        if is_removed(&stanza) {
            continue;
        }
        let (Some(name), Some(version)) = (stanza.get("Package"), stanza.get("Version")) else {
            continue;
        };
        if name.is_empty() || !is_valid_deb(version) {
            continue;
        }
        let (src_name, src_version) = match stanza.get("Source").filter(|s| !s.is_empty()) {
            Some(source) => parse_source(source),
            None => (name, None),
        };
        let src_version = src_version.unwrap_or(version);
        if !is_valid_deb(src_version) {
            continue;
        }
        if out.iter().any(|p| p.name == name && p.version == version) {
            continue;
        }
        let arch = stanza
            .get("Architecture")
            .filter(|a| !a.is_empty())
            .map(str::to_owned);
        let mut pkg = Package {
            kind: PackageType::Dpkg,
            name: name.to_owned(),
            version: version.to_owned(),
            arch,
            source: Some(SourcePackage {
                name: if src_name.is_empty() { name } else { src_name }.to_owned(),
                version: src_version.to_owned(),
            }),
            licenses: Vec::new(),
            purl: String::new(),
            locations: vec![path.to_owned()],
        };
        pkg.purl = os_purl_placeholder(&pkg);
        out.push(pkg);
    }
    out
}

/// `Source: name` or `Source: name (version)`.
fn parse_source(source: &str) -> (&str, Option<&str>) {
    let name_end = source.find(char::is_whitespace).unwrap_or(source.len());
    let name = &source[..name_end];
    let rest = source[name_end..].trim();
    let version = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(str::trim)
        .filter(|v| !v.is_empty());
    (name, version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    const STATUS_TEXT: &str = "\
Package: libgmp10
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 855
Maintainer: Debian Science Team <debian-science-maintainers@lists.alioth.debian.org>
Architecture: amd64
Multi-Arch: same
Source: gmp
Version: 2:6.2.1+dfsg1-1.1
Depends: libc6 (>= 2.14)
Description: Multiprecision arithmetic library
 GNU MP is a programmer's library for arbitrary precision
 arithmetic (ie, a bignum package).

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14+deb12u1)
Version: 12.2.0-14+deb12u1
Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: purged
Status: purge ok not-installed
Version: 1.0-1

Package: bad-version
Status: install ok installed
Version: x.y

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b13
";

    fn run(path: &str, text: &str) -> Findings {
        let meta = FileMeta {
            size: text.len() as u64,
            mode: 0o100644,
        };
        assert_eq!(Dpkg.select(path, &meta), Some(Initial::Whole));
        Dpkg.analyze(
            path,
            &FileView::whole(text.as_bytes().to_vec()),
            &Context::default(),
        )
        .unwrap()
    }

    #[test]
    fn status_packages_with_sources() {
        let found = run(STATUS, STATUS_TEXT);
        let names: Vec<&str> = found.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libgmp10", "libgcc-s1", "bash"]);
        let gmp = &found.packages[0];
        assert_eq!(gmp.version, "2:6.2.1+dfsg1-1.1");
        assert_eq!(gmp.arch.as_deref(), Some("amd64"));
        assert_eq!(
            gmp.source,
            Some(SourcePackage {
                name: "gmp".into(),
                version: "2:6.2.1+dfsg1-1.1".into()
            })
        );
        assert_eq!(gmp.locations, [STATUS]);
        assert_eq!(
            gmp.purl,
            "pkg:deb/libgmp10@6.2.1+dfsg1-1.1?arch=amd64&epoch=2"
        );
        assert_eq!(
            found.packages[1].source,
            Some(SourcePackage {
                name: "gcc-12".into(),
                version: "12.2.0-14+deb12u1".into()
            })
        );
        assert_eq!(found.packages[2].source.as_ref().unwrap().name, "bash");
        assert!(found.owned_files.is_empty());
    }

    #[test]
    fn distroless_status_d_and_md5sums() {
        let found = run(
            "var/lib/dpkg/status.d/base",
            "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
        );
        assert_eq!(found.packages.len(), 1);
        let owned = run(
            "var/lib/dpkg/status.d/base.md5sums",
            "d41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n0123  usr/lib/os-release\n",
        );
        assert_eq!(
            owned.package_files,
            [(
                "base".to_owned(),
                vec![
                    "etc/debian_version".to_owned(),
                    "usr/lib/os-release".to_owned()
                ]
            )]
        );
        let owned = run(
            "var/lib/dpkg/info/bash.md5sums",
            "abc  bin/bash\nabc  usr/share/doc/bash/copyright\n",
        );
        assert_eq!(
            owned.package_files,
            [(
                "bash".to_owned(),
                vec![
                    "bin/bash".to_owned(),
                    "usr/share/doc/bash/copyright".to_owned()
                ]
            )]
        );
        let owned = run("var/lib/dpkg/info/libc6:amd64.md5sums", "abc  lib/x.so\n");
        assert_eq!(owned.package_files[0].0, "libc6:amd64");
    }

    #[test]
    fn third_party_maintainers_are_named() {
        let text = "Package: docker-ce\nStatus: install ok installed\nVersion: 5:27.0.1-1\n\
                    Maintainer: Docker <support@docker.com>\n\n\
                    Package: gh\nStatus: install ok installed\nVersion: 2.40.0\nMaintainer: GitHub\n\n\
                    Package: gh-like\nStatus: install ok installed\nVersion: 1\nMaintainer: GitHub Team\n\n\
                    Package: old-nodejs\nStatus: deinstall ok config-files\nVersion: 18.0.0-1\n\
                    Maintainer: NodeSource <gpg@nodesource.com>\n\n\
                    Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2\n\
                    Maintainer: Matthias Klose <doko@debian.org>\n";
        let found = run(STATUS, text);
        assert_eq!(found.third_party, ["docker-ce", "gh"]);
    }

    #[test]
    fn selection_and_damage() {
        let meta = FileMeta {
            size: 10,
            mode: 0o100644,
        };
        for path in [
            "var/lib/dpkg/info/bash.list",
            "var/lib/dpkg/status-old",
            "var/lib/dpkg/status.d/sub/x",
            "var/lib/dpkg/available",
            "usr/var/lib/dpkg/status",
        ] {
            assert_eq!(Dpkg.select(path, &meta), None, "{path}");
        }
        let bad = Dpkg.analyze(
            "var/lib/dpkg/info/x.md5sums",
            &FileView::whole(b"no separator here\n".to_vec()),
            &Context::default(),
        );
        assert!(matches!(bad, Err(AnalyzeError::Invalid(m)) if m.contains("line 1")));
        // Binary garbage in a status file yields no packages, not an error.
        let found = run(STATUS, "\u{0}\u{1}\u{2}\n\nPackage\n:::\n");
        assert!(found.packages.is_empty());
    }

    #[test]
    fn source_field_forms() {
        assert_eq!(parse_source("gmp"), ("gmp", None));
        assert_eq!(
            parse_source("gcc-12 (12.2.0-14)"),
            ("gcc-12", Some("12.2.0-14"))
        );
        assert_eq!(parse_source("x ()"), ("x", None));
    }
}
