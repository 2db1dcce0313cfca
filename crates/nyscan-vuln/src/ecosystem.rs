//! OSV ecosystem strings (`Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04:LTS`, `PyPI`...) and the
//! version order each one uses.
//!
//! Parsing never fails: an ecosystem this crate does not know is kept as
//! [`EcosystemKind::Other`] with its name, so a bulk import of a newer OSV export loses nothing.

use std::fmt;

use crate::version::Scheme;

/// The base of an OSV ecosystem string (the part before the first `:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EcosystemKind {
    /// `Debian` (source package names, dpkg order).
    Debian,
    /// `Ubuntu` (source package names, dpkg order).
    Ubuntu,
    /// `Alpine` (origin package names, apk order).
    Alpine,
    /// `Wolfi` (apk order).
    Wolfi,
    /// `Chainguard` (apk order).
    Chainguard,
    /// `MinimOS` (apk order).
    MinimOs,
    /// `Echo` (Debian-based, dpkg order).
    Echo,
    /// `Red Hat` (rpm order).
    RedHat,
    /// `AlmaLinux` (rpm order).
    AlmaLinux,
    /// `Rocky Linux` (rpm order).
    RockyLinux,
    /// `SUSE` (rpm order).
    Suse,
    /// `openSUSE` (rpm order).
    OpenSuse,
    /// `openEuler` (rpm order).
    OpenEuler,
    /// `Mageia` (rpm order).
    Mageia,
    /// `Azure Linux` (rpm order).
    AzureLinux,
    /// `Photon OS` (rpm order).
    PhotonOs,
    /// `PyPI` (PEP 440).
    PyPi,
    /// `npm` (node-semver).
    Npm,
    /// `Go` (module versions: semver with `v`, pseudo-versions, `+incompatible`).
    Go,
    /// `crates.io` (SemVer 2.0).
    CratesIo,
    /// `Maven` (`groupId:artifactId`, Maven's ComparableVersion order).
    Maven,
    /// `RubyGems` (Gem::Version).
    RubyGems,
    /// `Packagist` (Composer).
    Packagist,
    /// `NuGet` (NuGet.Versioning).
    NuGet,
    /// `Pub` (Dart; SemVer order).
    Pub,
    /// `Hex` (Erlang/Elixir; SemVer order).
    Hex,
    /// `SwiftURL` (SemVer order).
    SwiftUrl,
    /// `ConanCenter` (SemVer order).
    ConanCenter,
    /// `Bitnami` (SemVer order).
    Bitnami,
    /// Any other ecosystem, kept by name; its versions have no known order.
    Other(String),
}

impl EcosystemKind {
    /// The OSV spelling of the base name.
    pub fn as_str(&self) -> &str {
        match self {
            EcosystemKind::Debian => "Debian",
            EcosystemKind::Ubuntu => "Ubuntu",
            EcosystemKind::Alpine => "Alpine",
            EcosystemKind::Wolfi => "Wolfi",
            EcosystemKind::Chainguard => "Chainguard",
            EcosystemKind::MinimOs => "MinimOS",
            EcosystemKind::Echo => "Echo",
            EcosystemKind::RedHat => "Red Hat",
            EcosystemKind::AlmaLinux => "AlmaLinux",
            EcosystemKind::RockyLinux => "Rocky Linux",
            EcosystemKind::Suse => "SUSE",
            EcosystemKind::OpenSuse => "openSUSE",
            EcosystemKind::OpenEuler => "openEuler",
            EcosystemKind::Mageia => "Mageia",
            EcosystemKind::AzureLinux => "Azure Linux",
            EcosystemKind::PhotonOs => "Photon OS",
            EcosystemKind::PyPi => "PyPI",
            EcosystemKind::Npm => "npm",
            EcosystemKind::Go => "Go",
            EcosystemKind::CratesIo => "crates.io",
            EcosystemKind::Maven => "Maven",
            EcosystemKind::RubyGems => "RubyGems",
            EcosystemKind::Packagist => "Packagist",
            EcosystemKind::NuGet => "NuGet",
            EcosystemKind::Pub => "Pub",
            EcosystemKind::Hex => "Hex",
            EcosystemKind::SwiftUrl => "SwiftURL",
            EcosystemKind::ConanCenter => "ConanCenter",
            EcosystemKind::Bitnami => "Bitnami",
            EcosystemKind::Other(name) => name,
        }
    }

    fn from_base(base: &str) -> EcosystemKind {
        match base {
            "Debian" => EcosystemKind::Debian,
            "Ubuntu" => EcosystemKind::Ubuntu,
            "Alpine" => EcosystemKind::Alpine,
            "Wolfi" => EcosystemKind::Wolfi,
            "Chainguard" => EcosystemKind::Chainguard,
            "MinimOS" => EcosystemKind::MinimOs,
            "Echo" => EcosystemKind::Echo,
            "Red Hat" => EcosystemKind::RedHat,
            "AlmaLinux" => EcosystemKind::AlmaLinux,
            "Rocky Linux" => EcosystemKind::RockyLinux,
            "SUSE" => EcosystemKind::Suse,
            "openSUSE" => EcosystemKind::OpenSuse,
            "openEuler" => EcosystemKind::OpenEuler,
            "Mageia" => EcosystemKind::Mageia,
            "Azure Linux" => EcosystemKind::AzureLinux,
            "Photon OS" => EcosystemKind::PhotonOs,
            "PyPI" => EcosystemKind::PyPi,
            "npm" => EcosystemKind::Npm,
            "Go" => EcosystemKind::Go,
            "crates.io" => EcosystemKind::CratesIo,
            "Maven" => EcosystemKind::Maven,
            "RubyGems" => EcosystemKind::RubyGems,
            "Packagist" => EcosystemKind::Packagist,
            "NuGet" => EcosystemKind::NuGet,
            "Pub" => EcosystemKind::Pub,
            "Hex" => EcosystemKind::Hex,
            "SwiftURL" => EcosystemKind::SwiftUrl,
            "ConanCenter" => EcosystemKind::ConanCenter,
            "Bitnami" => EcosystemKind::Bitnami,
            other => EcosystemKind::Other(other.to_owned()),
        }
    }

    /// The version order this ecosystem uses, if known.
    pub fn scheme(&self) -> Option<Scheme> {
        Some(match self {
            EcosystemKind::Debian | EcosystemKind::Ubuntu | EcosystemKind::Echo => Scheme::Dpkg,
            EcosystemKind::Alpine
            | EcosystemKind::Wolfi
            | EcosystemKind::Chainguard
            | EcosystemKind::MinimOs => Scheme::Apk,
            EcosystemKind::RedHat
            | EcosystemKind::AlmaLinux
            | EcosystemKind::RockyLinux
            | EcosystemKind::Suse
            | EcosystemKind::OpenSuse
            | EcosystemKind::OpenEuler
            | EcosystemKind::Mageia
            | EcosystemKind::AzureLinux
            | EcosystemKind::PhotonOs => Scheme::Rpm,
            EcosystemKind::PyPi => Scheme::Pep440,
            EcosystemKind::Npm => Scheme::Npm,
            EcosystemKind::Go => Scheme::Go,
            EcosystemKind::CratesIo
            | EcosystemKind::Pub
            | EcosystemKind::Hex
            | EcosystemKind::SwiftUrl
            | EcosystemKind::ConanCenter
            | EcosystemKind::Bitnami => Scheme::SemVer,
            EcosystemKind::Maven => Scheme::Maven,
            EcosystemKind::RubyGems => Scheme::RubyGems,
            EcosystemKind::Packagist => Scheme::Packagist,
            EcosystemKind::NuGet => Scheme::NuGet,
            EcosystemKind::Other(_) => return None,
        })
    }
}

/// An OSV ecosystem: a base and an optional suffix (the distribution release, `12` in
/// `Debian:12`, `v3.19` in `Alpine:v3.19`, `22.04:LTS` in `Ubuntu:22.04:LTS`, a repository URL
/// in `Maven:https://...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ecosystem {
    /// The base.
    pub kind: EcosystemKind,
    /// Everything after the first `:`, if any.
    pub suffix: Option<String>,
}

impl Ecosystem {
    /// Parses an OSV ecosystem string; never fails (unknown bases are kept by name).
    pub fn parse(text: &str) -> Ecosystem {
        let text = text.trim();
        let (base, suffix) = match text.split_once(':') {
            Some((base, suffix)) => (base, Some(suffix.to_owned())),
            None => (text, None),
        };
        Ecosystem {
            kind: EcosystemKind::from_base(base),
            suffix: suffix.filter(|s| !s.is_empty()),
        }
    }

    /// An ecosystem without a suffix.
    pub fn new(kind: EcosystemKind) -> Ecosystem {
        Ecosystem { kind, suffix: None }
    }

    /// An ecosystem with a suffix (`Debian` + `12`).
    pub fn with_suffix(kind: EcosystemKind, suffix: impl Into<String>) -> Ecosystem {
        Ecosystem {
            kind,
            suffix: Some(suffix.into()),
        }
    }

    /// The version order of this ecosystem, if known. Alpine releases up to 3.22 (suffix
    /// `v3.22` and older) ship apk-tools 2, later ones and `edge` apk-tools 3.
    pub fn scheme(&self) -> Option<Scheme> {
        if self.kind == EcosystemKind::Alpine
            && let Some(branch) = &self.suffix
            && let Some((major, minor)) = branch
                .strip_prefix('v')
                .and_then(|b| b.split_once('.'))
                .and_then(|(m, n)| Some((m.parse::<u32>().ok()?, n.parse::<u32>().ok()?)))
            && (major, minor) <= (3, 22)
        {
            return Some(Scheme::Apk2);
        }
        self.kind.scheme()
    }

    /// The base name alone (`Debian` for `Debian:12`): the key the database indexes records by,
    /// so that records of every release of a distribution are found together.
    pub fn base(&self) -> &str {
        self.kind.as_str()
    }

    /// Whether a record's ecosystem applies to a package's: same base, and same suffix where
    /// both have one (a record for `Debian` covers `Debian:12`; `Debian:11` does not).
    pub fn covers(&self, package: &Ecosystem) -> bool {
        if self.kind != package.kind {
            return false;
        }
        match (&self.suffix, &package.suffix) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if let Some(suffix) = &self.suffix {
            write!(f, ":{suffix}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_osv_strings() {
        for (text, kind, suffix) in [
            ("Debian:12", EcosystemKind::Debian, Some("12")),
            ("Debian", EcosystemKind::Debian, None),
            ("Alpine:v3.19", EcosystemKind::Alpine, Some("v3.19")),
            ("Ubuntu:22.04:LTS", EcosystemKind::Ubuntu, Some("22.04:LTS")),
            (
                "Ubuntu:Pro:18.04:LTS",
                EcosystemKind::Ubuntu,
                Some("Pro:18.04:LTS"),
            ),
            (
                "Red Hat:enterprise_linux:9::appstream",
                EcosystemKind::RedHat,
                Some("enterprise_linux:9::appstream"),
            ),
            ("PyPI", EcosystemKind::PyPi, None),
            ("crates.io", EcosystemKind::CratesIo, None),
            (
                "Maven:https://repo.example/",
                EcosystemKind::Maven,
                Some("https://repo.example/"),
            ),
            (
                "openEuler:24.03-LTS",
                EcosystemKind::OpenEuler,
                Some("24.03-LTS"),
            ),
            (
                "Brand New:7",
                EcosystemKind::Other("Brand New".to_owned()),
                Some("7"),
            ),
        ] {
            let e = Ecosystem::parse(text);
            assert_eq!(e.kind, kind, "{text}");
            assert_eq!(e.suffix.as_deref(), suffix, "{text}");
            assert_eq!(e.to_string(), text);
        }
        assert_eq!(Ecosystem::parse("Brand New").scheme(), None);
        assert_eq!(
            Ecosystem::parse("Ubuntu:22.04:LTS").scheme(),
            Some(Scheme::Dpkg)
        );
    }

    #[test]
    fn a_release_less_record_covers_every_release() {
        let any = Ecosystem::parse("Debian");
        let d12 = Ecosystem::parse("Debian:12");
        let d11 = Ecosystem::parse("Debian:11");
        assert!(any.covers(&d12));
        assert!(d12.covers(&d12));
        assert!(!d11.covers(&d12));
        assert!(!Ecosystem::parse("Ubuntu:12").covers(&d12));
    }
}
