//! Exact version order for each ecosystem.
//!
//! | scheme | used by | implementation |
//! |---|---|---|
//! | [`Scheme::Dpkg`] | Debian, Ubuntu | own (`dpkg --compare-versions` semantics) |
//! | [`Scheme::Apk`] | Alpine 3.23+, Wolfi, Chainguard | own, from the apk version grammar (apk-tools 3) |
//! | [`Scheme::Apk2`] | Alpine up to 3.22 | the same, with apk-tools 2's leading-zero rule |
//! | [`Scheme::Rpm`] | Red Hat, Alma, Rocky, SUSE... | own (`rpmvercmp` + EVR parsing) |
//! | [`Scheme::Pep440`] | PyPI | `pep440_rs` |
//! | [`Scheme::Npm`] | npm | `semver` crate + node-semver's strict syntax |
//! | [`Scheme::Go`] | Go | `semver` crate + Go's module version syntax |
//! | [`Scheme::SemVer`] | crates.io, SEMVER ranges | `semver` crate |
//! | [`Scheme::Maven`] | Maven | own (Maven's ComparableVersion) |
//! | [`Scheme::RubyGems`] | RubyGems | own (Gem::Version) |
//! | [`Scheme::Packagist`] | Packagist | own (Composer normalisation + PHP `version_compare`) |
//! | [`Scheme::NuGet`] | NuGet | own (NuGet.Versioning) |
//!
//! Each comparator is checked against the real implementation on thousands of pairs
//! (`tests/differential.rs`).

mod apk;
mod dpkg;
mod golang;
mod maven;
mod npm;
mod nuget;
mod packagist;
mod pep440;
mod rpm;
mod rubygems;
mod semver2;

use std::cmp::Ordering;
use std::fmt;

use crate::ecosystem::Ecosystem;

/// Longest version string any comparator accepts (bounds work on untrusted input).
pub const MAX_VERSION_LEN: usize = 1024;

/// A version order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Debian `dpkg`: `[epoch:]upstream[-revision]`, `~` sorts first.
    Dpkg,
    /// Alpine `apk` (apk-tools 3): `digits{.digits}{letter}{_suffix{N}}{~hash}{-rN}`.
    Apk,
    /// Alpine `apk` as apk-tools 2 orders it (Alpine up to 3.22): differs only for `.N`
    /// numbers with leading zeros.
    Apk2,
    /// RPM: `[epoch:]version[-release]` with `rpmvercmp` (`~` before, `^` after).
    Rpm,
    /// Python PEP 440.
    Pep440,
    /// node-semver (npm).
    Npm,
    /// Go module versions (`v1.2.3`, pseudo-versions, `+incompatible`; `v` optional).
    Go,
    /// SemVer 2.0 (crates.io and OSV `SEMVER` ranges).
    SemVer,
    /// Maven ComparableVersion.
    Maven,
    /// RubyGems Gem::Version.
    RubyGems,
    /// Composer (Packagist).
    Packagist,
    /// NuGet.Versioning.
    NuGet,
}

impl Scheme {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Apk2 => "apk-tools 2",
            Scheme::Rpm => "rpm",
            Scheme::Pep440 => "PEP 440",
            Scheme::Npm => "npm semver",
            Scheme::Go => "Go module",
            Scheme::SemVer => "SemVer",
            Scheme::Maven => "Maven",
            Scheme::RubyGems => "RubyGems",
            Scheme::Packagist => "Composer",
            Scheme::NuGet => "NuGet",
        }
    }

    /// Compares two versions in this order.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        for v in [a, b] {
            if v.len() > MAX_VERSION_LEN {
                return Err(VersionError::invalid(self, v, "longer than 1024 bytes"));
            }
        }
        match self {
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
            Scheme::Apk2 => apk::compare_v2(a, b),
            Scheme::Rpm => rpm::compare(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Npm => npm::compare(a, b),
            Scheme::Go => golang::compare(a, b),
            Scheme::SemVer => semver2::compare(a, b),
            Scheme::Maven => maven::compare(a, b),
            Scheme::RubyGems => rubygems::compare(a, b),
            Scheme::Packagist => packagist::compare(a, b),
            Scheme::NuGet => nuget::compare(a, b),
        }
    }

    /// Checks that a version is valid in this order.
    pub fn validate(self, version: &str) -> Result<(), VersionError> {
        self.compare(version, version).map(|_| ())
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why two versions could not be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// The version is not valid in the scheme.
    #[error("invalid {scheme} version {version:?}: {reason}")]
    Invalid {
        /// The version order.
        scheme: Scheme,
        /// The version as given (cut to 80 characters).
        version: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The ecosystem has no known version order.
    #[error("no version order is known for ecosystem {0:?}")]
    UnknownEcosystem(String),
}

impl VersionError {
    pub(crate) fn invalid(scheme: Scheme, version: &str, reason: &'static str) -> VersionError {
        let version = match version.char_indices().nth(80) {
            Some((cut, _)) => format!("{}...", &version[..cut]),
            None => version.to_owned(),
        };
        VersionError::Invalid {
            scheme,
            version,
            reason,
        }
    }
}

/// Compares two versions in an ecosystem's order.
pub fn compare(ecosystem: &Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match ecosystem.scheme() {
        Some(scheme) => scheme.compare(a, b),
        None => Err(VersionError::UnknownEcosystem(ecosystem.to_string())),
    }
}

/// Compares two runs of ASCII digits as unbounded non-negative integers.
pub(crate) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = trim_zeros(a);
    let b = trim_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let start = d.iter().position(|&c| c != b'0').unwrap_or(d.len());
    &d[start..]
}

/// The length of the run of ASCII digits at the start of `s`.
pub(crate) fn digits_len(s: &[u8]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_by_ecosystem_string() {
        let cmp = |e: &str, a: &str, b: &str| compare(&Ecosystem::parse(e), a, b).unwrap();
        assert_eq!(cmp("Debian:12", "1:1.0-1", "2.0-1"), Ordering::Greater);
        assert_eq!(
            cmp("Alpine:v3.19", "1.2.3_rc1-r0", "1.2.3-r0"),
            Ordering::Less
        );
        assert_eq!(cmp("Alpine:v3.19", "1.010", "1.02"), Ordering::Greater);
        assert_eq!(cmp("Alpine:v3.23", "1.010", "1.02"), Ordering::Less);
        assert_eq!(cmp("Ubuntu:22.04:LTS", "1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("PyPI", "1.0.post1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("Go", "v1.2.3", "1.2.3"), Ordering::Equal);
        assert!(matches!(
            compare(&Ecosystem::parse("Nope"), "1", "2"),
            Err(VersionError::UnknownEcosystem(e)) if e == "Nope"
        ));
        let long = "1".repeat(2000);
        assert!(Scheme::Dpkg.compare(&long, "1").is_err());
    }
}
