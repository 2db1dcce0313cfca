//! RPM databases in all three forms (SQLite, Berkeley DB, NDB) and the RPM header format.
//!
//! [`RpmDbAnalyzer`] reads the database files Trivy reads (`var/lib/rpm/`,
//! `usr/lib/sysimage/rpm/` × `Packages`, `Packages.db`, `rpmdb.sqlite`, and CoreOS'
//! `usr/share/rpm/rpmdb.sqlite`) whole, in [`Phase::Os`]. The form is told by the content (as
//! go-rpmdb does): SQLite magic, NDB magic, else a Berkeley DB hash database. Each record is a
//! header blob ([`header`]), turned into a [`Package`]:
//!
//! - `version` is `[epoch:]version-release`, the epoch written only when not 0;
//! - `source` comes from the SOURCERPM file name (`name-version-release.src.rpm`), with the
//!   binary package's epoch (rpm does not record a source epoch);
//! - `licenses` is LICENSE as one entry; `arch` is ARCH (absent for `gpg-pubkey`);
//! - packages whose VENDOR starts with a known distribution vendor (or that have no vendor and
//!   an `amzn` release) are "official": their files go to [`Findings::owned_files`], so the
//!   later phase skips them; third-party packages own nothing, as in Trivy.
//!
//! # The purl and the OS
//!
//! Trivy's rpm purl is `pkg:rpm/<os family>/<name>@<version>-<release>?arch=..&distro=<family>-<os
//! version>&epoch=..&modularitylabel=..`. The OS comes from release files analysed in the same
//! phase, so this analyzer cannot know it: it writes the purl without namespace and `distro`
//! (`pkg:rpm/<name>@<version>-<release>?arch=..&epoch=..`), and the planner calls
//! [`apply_os`] once the OS is known.

use std::borrow::Cow;

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial, Phase};
use crate::bytes::ByteSource;
use crate::lang::purl::Purl;
use crate::lang::{is_regular, read_whole, whole_up_to};
use crate::package::{OsInfo, Package, PackageType, SourcePackage};

pub mod bdb;
mod error;
pub mod header;
pub mod ndb;
pub mod sqlite;

pub use error::RpmDbError;
pub use header::{HeaderError, RpmPackageInfo};

/// The database paths Trivy reads.
pub const DATABASE_PATHS: &[&str] = &[
    "usr/lib/sysimage/rpm/Packages",
    "var/lib/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages.db",
    "var/lib/rpm/Packages.db",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "var/lib/rpm/rpmdb.sqlite",
    "usr/share/rpm/rpmdb.sqlite",
];

/// The largest database read.
const MAX_SIZE: u64 = 1 << 30;

/// Vendor prefixes of distribution packages (Trivy's list).
const OS_VENDORS: &[&str] = &[
    "Amazon Linux",
    "Amazon.com",
    "CentOS",
    "Fedora Project",
    "Oracle America",
    "Red Hat",
    "AlmaLinux",
    "CloudLinux",
    "VMware",
    "SUSE",
    "openSUSE",
    "Microsoft Corporation",
    "Rocky",
];

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![Box::new(RpmDbAnalyzer)]
}

/// Installed rpm packages from the rpm database.
#[derive(Debug, Default, Clone, Copy)]
pub struct RpmDbAnalyzer;

impl Analyzer for RpmDbAnalyzer {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn version(&self) -> u32 {
        1
    }

    fn phase(&self) -> Phase {
        Phase::Os
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        (is_regular(meta) && DATABASE_PATHS.contains(&path)).then(|| whole_up_to(meta, MAX_SIZE))
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        let bytes = read_whole(data, MAX_SIZE, "rpm database")?;
        let infos = read_database(&bytes).map_err(|e| match e {
            RpmDbError::TooMuchData { .. } => AnalyzeError::Limit(e.to_string()),
            other => AnalyzeError::Invalid(other.to_string()),
        })?;
        let mut findings = Findings::default();
        for info in infos {
            if is_official(&info) {
                findings.owned_files.extend(
                    info.files
                        .iter()
                        .map(|f| f.trim_start_matches('/').to_string())
                        .filter(|f| !f.is_empty()),
                );
            }
            findings.packages.push(to_package(&info, path));
        }
        Ok(findings)
    }
}

/// Reads every package header of a database file (any of the three forms).
pub fn read_database(bytes: &[u8]) -> Result<Vec<RpmPackageInfo>, RpmDbError> {
    let blobs: Vec<Cow<'_, [u8]>> = if sqlite::is_sqlite(bytes) {
        sqlite::header_blobs(bytes)?
            .into_iter()
            .map(Cow::Owned)
            .collect()
    } else if ndb::is_ndb(bytes) {
        ndb::header_blobs(bytes)?
            .into_iter()
            .map(Cow::Borrowed)
            .collect()
    } else if bdb::is_bdb(bytes) {
        bdb::header_blobs(bytes)?
    } else {
        return Err(RpmDbError::UnknownFormat);
    };
    blobs
        .iter()
        .enumerate()
        .map(|(index, blob)| {
            RpmPackageInfo::parse(blob).map_err(|source| RpmDbError::Header { index, source })
        })
        .collect()
}

/// Whether a package comes from the distribution (Trivy's vendor rule).
fn is_official(info: &RpmPackageInfo) -> bool {
    if info.vendor.is_empty() {
        return info.release.contains("amzn");
    }
    OS_VENDORS.iter().any(|v| info.vendor.starts_with(v))
}

/// `[epoch:]version[-release]`, the epoch only when not 0.
fn full_version(epoch: i32, version: &str, release: &str) -> String {
    let mut out = String::new();
    if epoch != 0 {
        out.push_str(&format!("{epoch}:"));
    }
    out.push_str(version);
    if !release.is_empty() {
        out.push('-');
        out.push_str(release);
    }
    out
}

/// Name, version and release from a package file name `name-version-release.arch.rpm`.
fn split_rpm_file_name(file: &str) -> Option<(&str, &str, &str)> {
    let stem = file.strip_suffix(".rpm").unwrap_or(file);
    let (nvr, _arch) = stem.rsplit_once('.')?;
    let (nv, release) = nvr.rsplit_once('-')?;
    let (name, version) = nv.rsplit_once('-')?;
    Some((name, version, release))
}

fn to_package(info: &RpmPackageInfo, path: &str) -> Package {
    let epoch = info.epoch.unwrap_or(0);
    let version = full_version(epoch, &info.version, &info.release);
    let source = split_rpm_file_name(&info.source_rpm).map(|(name, v, r)| SourcePackage {
        name: name.to_string(),
        version: full_version(epoch, v, r),
    });
    let mut purl = Purl::new("rpm", &info.name)
        .with_version(&full_version(0, &info.version, &info.release))
        .with_qualifier("arch", &info.arch)
        .with_qualifier("modularitylabel", &info.modularity_label);
    if epoch != 0 {
        purl = purl.with_qualifier("epoch", &epoch.to_string());
    }
    Package {
        kind: PackageType::Rpm,
        name: info.name.clone(),
        version,
        arch: (!info.arch.is_empty()).then(|| info.arch.clone()),
        source,
        licenses: if info.license.is_empty() {
            Vec::new()
        } else {
            vec![info.license.clone()]
        },
        purl: purl.to_string(),
        locations: vec![path.to_string()],
    }
}

/// Trivy's purl namespace for an OS family (older family names mapped to current ones).
fn purl_family(family: &str) -> (&str, &str) {
    let family = match family {
        "opensuse.leap" => "opensuse-leap",
        "opensuse.tumbleweed" => "opensuse-tumbleweed",
        "suse linux enterprise server" => "sles",
        "suse linux enterprise micro" => "slem",
        "amazon linux" => "amazon",
        other => other,
    };
    let namespace = match family {
        "sles" | "slem" => "suse",
        "opensuse-leap" | "opensuse-tumbleweed" => "opensuse",
        other => other,
    };
    (family, namespace)
}

/// Completes the purls of rpm packages once the OS is known: namespace = the OS family
/// (`suse` for SLES/SLE Micro, `opensuse` for openSUSE), qualifier `distro=<family>-<release>`,
/// as Trivy writes them. Other packages are left alone.
pub fn apply_os(packages: &mut [Package], os: &OsInfo) {
    let (family, namespace) = purl_family(&os.family);
    let distro = format!("{family}-{}", os.name);
    for package in packages.iter_mut().filter(|p| p.kind == PackageType::Rpm) {
        if let Some(purl) = Purl::parse(&package.purl).filter(|p| p.kind() == "rpm") {
            package.purl = purl
                .with_namespace(namespace)
                .with_qualifier("distro", &distro)
                .to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(vendor: &str, release: &str) -> RpmPackageInfo {
        RpmPackageInfo {
            name: "openssl-libs".into(),
            epoch: Some(1),
            version: "1.0.2k".into(),
            release: release.into(),
            arch: "x86_64".into(),
            source_rpm: "openssl-1.0.2k-16.el7.src.rpm".into(),
            license: "OpenSSL".into(),
            vendor: vendor.into(),
            modularity_label: String::new(),
            files: vec!["/usr/lib64/libssl.so.10".into()],
        }
    }

    #[test]
    fn package_fields_and_purl() {
        let mut p = vec![to_package(
            &info("CentOS", "16.el7"),
            "var/lib/rpm/Packages",
        )];
        assert_eq!(p[0].version, "1:1.0.2k-16.el7");
        assert_eq!(
            p[0].source,
            Some(SourcePackage {
                name: "openssl".into(),
                version: "1:1.0.2k-16.el7".into()
            })
        );
        assert_eq!(
            p[0].purl,
            "pkg:rpm/openssl-libs@1.0.2k-16.el7?arch=x86_64&epoch=1"
        );
        apply_os(
            &mut p,
            &OsInfo {
                family: "centos".into(),
                name: "7.6.1810".into(),
            },
        );
        assert_eq!(
            p[0].purl,
            "pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&distro=centos-7.6.1810&epoch=1"
        );
        apply_os(
            &mut p,
            &OsInfo {
                family: "suse linux enterprise server".into(),
                name: "15.5".into(),
            },
        );
        assert_eq!(
            p[0].purl,
            "pkg:rpm/suse/openssl-libs@1.0.2k-16.el7?arch=x86_64&distro=sles-15.5&epoch=1"
        );
    }

    #[test]
    fn vendor_rule_and_file_names() {
        assert!(is_official(&info("Red Hat, Inc.", "1.el9")));
        assert!(is_official(&info("", "1.amzn2")));
        assert!(!is_official(&info("", "1.el9")));
        assert!(!is_official(&info("Docker", "1.el9")));
        assert_eq!(
            split_rpm_file_name("1:bar-9-123a.ia64.rpm"),
            Some(("1:bar", "9", "123a"))
        );
        assert_eq!(
            split_rpm_file_name("python3-libs-3.9.18-1.el9.src.rpm"),
            Some(("python3-libs", "3.9.18", "1.el9"))
        );
        assert_eq!(split_rpm_file_name("nodots"), None);
        assert_eq!(full_version(0, "1", ""), "1");
    }

    #[test]
    fn selection_is_by_exact_path() {
        let a = RpmDbAnalyzer;
        let m = FileMeta {
            size: 4096,
            mode: 0o100644,
        };
        assert_eq!(
            a.select("var/lib/rpm/rpmdb.sqlite", &m),
            Some(Initial::Whole)
        );
        assert_eq!(
            a.select("usr/share/rpm/rpmdb.sqlite", &m),
            Some(Initial::Whole)
        );
        assert_eq!(a.select("var/lib/rpm/Name", &m), None);
        assert_eq!(a.select("x/var/lib/rpm/Packages", &m), None);
        assert_eq!(a.phase(), Phase::Os);
    }
}
