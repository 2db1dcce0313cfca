//! Matching installed packages against OSV records.
//!
//! 1. [`target`]: a package (and the image's OS) becomes an OSV ecosystem, name and version:
//!    dpkg packages of Debian 12 are `Debian:12` records of their *source* package at the
//!    source version, apk packages of Alpine 3.19 are `Alpine:v3.19` records of their origin,
//!    Python ones are PyPI records of the PEP 503 name, and so on.
//! 2. [`match_record`]: a record affects the target when one of its `affected` entries is
//!    for that ecosystem (release included when both name one) and name, and the version is
//!    in its `versions` list or inside one of its `ECOSYSTEM`/`SEMVER` ranges, evaluated as
//!    the OSV schema says: events sorted by version, `introduced` opens, `fixed` closes,
//!    versions above `last_affected` are out, and only versions below a `limit` count.
//!    `GIT` ranges are skipped. Withdrawn records never match.
//! 3. The fix reported is the first `fixed` event above the installed version in a range
//!    that contains it; none means no fix is known (a `last_affected` or open range).

use std::cmp::Ordering;

use nyscan_analyze::package::{OsInfo, Package, PackageType};

use crate::ecosystem::{Ecosystem, EcosystemKind};
use crate::names;
use crate::osv::{Affected, OsvRecord, Range};
use crate::version::{Scheme, VersionError};

/// What a package is looked up as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// OSV ecosystem, with the distribution release for OS packages.
    pub ecosystem: Ecosystem,
    /// Name as records spell it (source package name for Debian, Ubuntu and Alpine).
    pub name: String,
    /// Version compared (source version for Debian and Ubuntu).
    pub version: String,
}

/// Why a package has no OSV identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoTarget {
    /// An OS package without a known distribution.
    #[error("{kind} package without a known distribution (OS not detected or not supported)")]
    UnknownOs {
        /// The package type.
        kind: &'static str,
    },
    /// A package type OSV has no ecosystem for.
    #[error("no OSV ecosystem for {0} packages")]
    NoEcosystem(&'static str),
}

/// The first `n` dot-separated parts of a release (`12.5` → `12`, `3.19.1` → `3.19`).
fn release_prefix(release: &str, n: usize) -> String {
    release.split('.').take(n).collect::<Vec<_>>().join(".")
}

/// Ubuntu's OSV suffix: `22.04:LTS` for even-year April releases, `23.10` otherwise.
fn ubuntu_suffix(release: &str) -> String {
    let short = release_prefix(release, 2);
    let lts = short
        .split_once('.')
        .and_then(|(y, m)| Some((y.parse::<u32>().ok()?, m)))
        .is_some_and(|(y, m)| y % 2 == 0 && m == "04");
    if lts { format!("{short}:LTS") } else { short }
}

fn os_ecosystem(os: &OsInfo) -> Option<Ecosystem> {
    let family = os.family.to_ascii_lowercase();
    let release = os.name.trim();
    let major = || release_prefix(release, 1);
    let numeric = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
    };
    let with = |kind, suffix: String| {
        if numeric(&suffix.replace(":LTS", "").replace('v', "")) {
            Ecosystem::with_suffix(kind, suffix)
        } else {
            Ecosystem::new(kind)
        }
    };
    Some(match family.as_str() {
        "debian" => with(EcosystemKind::Debian, major()),
        "ubuntu" => with(EcosystemKind::Ubuntu, ubuntu_suffix(release)),
        "alpine" => with(
            EcosystemKind::Alpine,
            format!("v{}", release_prefix(release, 2)),
        ),
        "wolfi" => Ecosystem::new(EcosystemKind::Wolfi),
        "chainguard" => Ecosystem::new(EcosystemKind::Chainguard),
        "minimos" => Ecosystem::new(EcosystemKind::MinimOs),
        "echo" => Ecosystem::new(EcosystemKind::Echo),
        "redhat" | "rhel" | "centos" => with(EcosystemKind::RedHat, major()),
        "rocky" => with(EcosystemKind::RockyLinux, major()),
        "alma" | "almalinux" => with(EcosystemKind::AlmaLinux, major()),
        "suse linux enterprise server" | "sles" | "sled" => Ecosystem::new(EcosystemKind::Suse),
        "opensuse.leap" | "opensuse-leap" | "opensuse.tumbleweed" | "opensuse" => {
            Ecosystem::new(EcosystemKind::OpenSuse)
        }
        "photon" => with(EcosystemKind::PhotonOs, major()),
        "azurelinux" => with(EcosystemKind::AzureLinux, major()),
        "openeuler" => Ecosystem::new(EcosystemKind::OpenEuler),
        "mageia" => with(EcosystemKind::Mageia, major()),
        _ => return None,
    })
}

/// Go toolchain versions (`go1.22.3`, `go1.21rc2`) in the form OSV's `stdlib` records use
/// (`1.22.3`, `1.21.0-rc.2`).
fn go_stdlib_version(version: &str) -> String {
    let v = version.trim_start_matches("go").trim_start_matches('v');
    let (release, pre) = match v.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    let mut parts: Vec<&str> = release.split('.').collect();
    while parts.len() < 3 {
        parts.push("0");
    }
    let mut out = parts.join(".");
    if let Some(pre) = pre {
        let digits = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
        out.push('-');
        out.push_str(&pre[..digits]);
        if digits < pre.len() {
            out.push('.');
            out.push_str(&pre[digits..]);
        }
    }
    out
}

/// How a package is looked up in OSV.
pub fn target(package: &Package, os: Option<&OsInfo>) -> Result<Target, NoTarget> {
    let os_eco = || {
        os.and_then(os_ecosystem).ok_or(NoTarget::UnknownOs {
            kind: package.kind.as_str(),
        })
    };
    let source_name = || {
        package
            .source
            .as_ref()
            .map_or_else(|| package.name.clone(), |s| s.name.clone())
    };
    let (ecosystem, name, version) = match package.kind {
        PackageType::Dpkg => {
            let eco = os_eco()?;
            let version = package
                .source
                .as_ref()
                .map_or_else(|| package.version.clone(), |s| s.version.clone());
            (eco, source_name(), version)
        }
        PackageType::Apk => (os_eco()?, source_name(), package.version.clone()),
        PackageType::Rpm => {
            let eco = os_eco()?;
            // Red Hat and SUSE records name binary packages; the rebuilds name sources.
            let name = match eco.kind {
                EcosystemKind::AlmaLinux | EcosystemKind::RockyLinux => source_name(),
                _ => package.name.clone(),
            };
            (eco, name, package.version.clone())
        }
        PackageType::PythonPkg => (
            Ecosystem::new(EcosystemKind::PyPi),
            package.name.clone(),
            package.version.clone(),
        ),
        PackageType::NodePkg => (
            Ecosystem::new(EcosystemKind::Npm),
            package.name.clone(),
            package.version.clone(),
        ),
        PackageType::Gobinary => {
            if matches!(package.name.as_str(), "stdlib" | "go" | "toolchain") {
                (
                    Ecosystem::new(EcosystemKind::Go),
                    "stdlib".to_owned(),
                    go_stdlib_version(&package.version),
                )
            } else {
                (
                    Ecosystem::new(EcosystemKind::Go),
                    package.name.clone(),
                    package.version.clone(),
                )
            }
        }
        PackageType::Rustbinary | PackageType::Cargo => (
            Ecosystem::new(EcosystemKind::CratesIo),
            package.name.clone(),
            package.version.clone(),
        ),
        PackageType::Jar => (
            Ecosystem::new(EcosystemKind::Maven),
            package.name.clone(),
            package.version.clone(),
        ),
        PackageType::Gemspec => (
            Ecosystem::new(EcosystemKind::RubyGems),
            package.name.clone(),
            package.version.clone(),
        ),
        PackageType::ComposerVendor => (
            Ecosystem::new(EcosystemKind::Packagist),
            package.name.clone(),
            package.version.clone(),
        ),
        PackageType::DotnetCore => (
            Ecosystem::new(EcosystemKind::NuGet),
            package.name.clone(),
            package.version.clone(),
        ),
        PackageType::CondaPkg => return Err(NoTarget::NoEcosystem(package.kind.as_str())),
    };
    Ok(Target {
        ecosystem,
        name,
        version,
    })
}

/// Whether a record's ecosystem applies to the target's: same base, and the same release
/// when both name one. Red Hat records name CPE streams (`enterprise_linux:9::appstream`):
/// they apply when one of the stream's parts is the major release.
pub fn ecosystem_applies(record: &Ecosystem, target: &Ecosystem) -> bool {
    if record.kind != target.kind {
        return false;
    }
    match (&record.suffix, &target.suffix) {
        (Some(r), Some(t)) if record.kind == EcosystemKind::RedHat => r.split(':').any(|p| p == t),
        (Some(r), Some(t)) => r == t,
        _ => true,
    }
}

/// A record that affects a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMatch {
    /// Index of the matching `affected` entry.
    pub affected: usize,
    /// The fix for the installed version, if one is known.
    pub fixed: Option<String>,
}

/// Why a record could not be evaluated for a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{id}: {source}")]
pub struct MatchError {
    /// The record.
    pub id: String,
    /// The version that could not be compared.
    #[source]
    pub source: VersionError,
}

/// Whether `record` affects `target`, and the fix.
pub fn match_record(
    record: &OsvRecord,
    target: &Target,
) -> Result<Option<RecordMatch>, MatchError> {
    if record.is_withdrawn() {
        return Ok(None);
    }
    let key = names::normalize(&target.ecosystem.kind, &target.name);
    let err = |source| MatchError {
        id: record.id.clone(),
        source,
    };
    let mut first_error = None;
    for (i, affected) in record.affected.iter().enumerate() {
        let Some(package) = &affected.package else {
            continue;
        };
        let eco = Ecosystem::parse(&package.ecosystem);
        if !ecosystem_applies(&eco, &target.ecosystem)
            || names::normalize(&eco.kind, &package.name) != key
        {
            continue;
        }
        match affected_contains(affected, &eco, &target.version) {
            Ok(Some(fixed)) => return Ok(Some(RecordMatch { affected: i, fixed })),
            Ok(None) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(err(e)),
        None => Ok(None),
    }
}

/// `Some(fix)` when the entry affects `version` (the fix may be unknown: `Some(None)`).
fn affected_contains(
    affected: &Affected,
    eco: &Ecosystem,
    version: &str,
) -> Result<Option<Option<String>>, VersionError> {
    let scheme = eco.scheme();
    let listed = affected.versions.iter().any(|v| {
        v == version || scheme.is_some_and(|s| s.compare(v, version) == Ok(Ordering::Equal))
    });
    let mut hit = listed.then_some(None);
    for range in &affected.ranges {
        let range_scheme = match (range.kind.as_str(), scheme) {
            ("ECOSYSTEM" | "SEMVER", Some(s)) => s,
            ("SEMVER", None) => Scheme::SemVer,
            ("ECOSYSTEM", None) => return Err(VersionError::UnknownEcosystem(eco.to_string())),
            _ => continue,
        };
        if let Some(fixed) = range_contains(range, range_scheme, version)? {
            match (&hit, fixed) {
                (None, f) | (Some(None), f) => hit = Some(f),
                _ => {}
            }
        }
    }
    Ok(hit)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

/// Evaluates one range; `Some(fix)` when it contains the version.
fn range_contains(
    range: &Range,
    scheme: Scheme,
    version: &str,
) -> Result<Option<Option<String>>, VersionError> {
    scheme.validate(version)?;
    let mut events: Vec<(EventKind, &str)> = Vec::new();
    for e in &range.events {
        for (kind, v) in [
            (EventKind::Introduced, &e.introduced),
            (EventKind::Fixed, &e.fixed),
            (EventKind::LastAffected, &e.last_affected),
            (EventKind::Limit, &e.limit),
        ] {
            if let Some(v) = v {
                // `0` (introduced) and `*` (limit) are the ends of every order.
                let special = (kind == EventKind::Introduced && v == "0")
                    || (kind == EventKind::Limit && v == "*");
                if !special {
                    scheme.validate(v)?;
                }
                events.push((kind, v.as_str()));
            }
        }
    }
    let order = |a: &str, ka: EventKind, b: &str, kb: EventKind| -> Ordering {
        let rank = |v: &str, k: EventKind| match (k, v) {
            (EventKind::Introduced, "0") => 0,
            (EventKind::Limit, "*") => 2,
            _ => 1,
        };
        rank(a, ka)
            .cmp(&rank(b, kb))
            .then_with(|| scheme.compare(a, b).unwrap_or(Ordering::Equal))
    };
    let cmp_version = |v: &str, k: EventKind| -> Ordering {
        match (k, v) {
            (EventKind::Introduced, "0") => Ordering::Greater,
            (EventKind::Limit, "*") => Ordering::Less,
            _ => scheme.compare(version, v).unwrap_or(Ordering::Equal),
        }
    };
    events.sort_by(|a, b| order(a.1, a.0, b.1, b.0));

    let limits: Vec<&(EventKind, &str)> =
        events.iter().filter(|e| e.0 == EventKind::Limit).collect();
    if !limits.is_empty()
        && !limits
            .iter()
            .any(|e| cmp_version(e.1, e.0) == Ordering::Less)
    {
        return Ok(None);
    }
    let mut vulnerable = false;
    for (kind, v) in &events {
        match kind {
            EventKind::Introduced if cmp_version(v, *kind) != Ordering::Less => vulnerable = true,
            EventKind::Fixed if cmp_version(v, *kind) != Ordering::Less => vulnerable = false,
            EventKind::LastAffected if cmp_version(v, *kind) == Ordering::Greater => {
                vulnerable = false
            }
            _ => {}
        }
    }
    if !vulnerable {
        return Ok(None);
    }
    let fix = events
        .iter()
        .find(|(kind, v)| *kind == EventKind::Fixed && cmp_version(v, *kind) == Ordering::Less)
        .map(|(_, v)| (*v).to_owned());
    Ok(Some(fix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_toolchain_versions() {
        assert_eq!(go_stdlib_version("go1.22.3"), "1.22.3");
        assert_eq!(go_stdlib_version("go1.21"), "1.21.0");
        assert_eq!(go_stdlib_version("go1.21rc2"), "1.21.0-rc.2");
        assert_eq!(go_stdlib_version("v1.20.1"), "1.20.1");
    }

    #[test]
    fn ubuntu_lts() {
        assert_eq!(ubuntu_suffix("22.04"), "22.04:LTS");
        assert_eq!(ubuntu_suffix("23.10"), "23.10");
        assert_eq!(ubuntu_suffix("21.04"), "21.04");
    }
}
