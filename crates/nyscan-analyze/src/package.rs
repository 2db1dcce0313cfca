//! What analyzers find: packages, the OS, and the files that OS packages own.

use serde::{Deserialize, Serialize};

/// The analyzer family that found a package; names follow Trivy's package types so reports
/// and comparisons line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageType {
    /// Debian/Ubuntu `dpkg` database.
    Dpkg,
    /// Alpine/Wolfi `apk` database.
    Apk,
    /// RPM database (SQLite, Berkeley DB or NDB).
    Rpm,
    /// Python distribution metadata (dist-info, egg-info, .egg).
    PythonPkg,
    /// Node.js `package.json` of an installed package.
    NodePkg,
    /// Go binary build information.
    Gobinary,
    /// Rust binary with cargo-auditable data.
    Rustbinary,
    /// Rust `Cargo.lock`.
    Cargo,
    /// Java archive (jar, war, ear, par).
    Jar,
    /// Ruby installed gemspec.
    Gemspec,
    /// PHP Composer `vendor/composer/installed.json`.
    ComposerVendor,
    /// .NET `*.deps.json`.
    DotnetCore,
    /// Conda `conda-meta/*.json`.
    CondaPkg,
}

impl PackageType {
    /// True for OS package managers.
    pub fn is_os(self) -> bool {
        matches!(
            self,
            PackageType::Dpkg | PackageType::Apk | PackageType::Rpm
        )
    }

    /// The name used in reports (Trivy's `PkgType`/`Type`).
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Dpkg => "dpkg",
            PackageType::Apk => "apk",
            PackageType::Rpm => "rpm",
            PackageType::PythonPkg => "python-pkg",
            PackageType::NodePkg => "node-pkg",
            PackageType::Gobinary => "gobinary",
            PackageType::Rustbinary => "rustbinary",
            PackageType::Cargo => "cargo",
            PackageType::Jar => "jar",
            PackageType::Gemspec => "gemspec",
            PackageType::ComposerVendor => "composer-vendor",
            PackageType::DotnetCore => "dotnet-core",
            PackageType::CondaPkg => "conda-pkg",
        }
    }
}

/// The source package an OS binary package was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePackage {
    /// Source package name.
    pub name: String,
    /// Source version in the ecosystem's full syntax (epoch and release included).
    pub version: String,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Which analyzer family found it.
    #[serde(rename = "type")]
    pub kind: PackageType,
    /// Name as the ecosystem spells it (Maven: `groupId:artifactId`).
    pub name: String,
    /// Version in the ecosystem's full syntax, as its version order compares it: dpkg
    /// `[epoch:]upstream[-revision]`, rpm `[epoch:]version-release`, apk `version-rN`, others
    /// as written by the package.
    pub version: String,
    /// Architecture, where recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Source package (OS packages), where it differs or is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    /// Licenses as declared (SPDX expressions or free text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Package URL.
    pub purl: String,
    /// Image paths the package was found in (database file, metadata file or binary), without
    /// a leading `/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
}

/// The distribution of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// Family, lower case, as Trivy names it: `debian`, `ubuntu`, `alpine`, `redhat`,
    /// `centos`, `rocky`, `alma`, `oracle`, `fedora`, `amazon`, `suse linux enterprise server`,
    /// `opensuse.leap`, `photon`, `wolfi`, `chainguard`, `azurelinux`, `cbl-mariner`...
    pub family: String,
    /// Release (`12.5`, `3.19.1`, `22.04`, `9.3`...).
    pub name: String,
}
