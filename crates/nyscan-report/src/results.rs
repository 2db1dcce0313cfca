//! Findings grouped by target, as Trivy groups them: the OS packages of the image
//! (`IMAGE (debian 12.5)`), one target per aggregated language (`Python`, `Node.js`, `Java`,
//! `Ruby`, `Conda`), one per file for the other package types (a Go or Rust binary, a
//! `Cargo.lock`, a `*.deps.json`), one per file holding secrets, and the image config's
//! checks (`Dockerfile`, as Trivy names the instructions it rebuilds from the config).

use std::collections::BTreeMap;

use nyscan_analyze::package::{Package, PackageType};
use nyscan_analyze::secret::SecretFinding;
use nyscan_secrets::Misconfiguration;
use nyscan_vuln::Finding as Vulnerability;

use crate::findings::ScanReport;
use crate::trivy::pkg_type;

/// What kind of target a result is (Trivy's `Class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// OS packages.
    OsPkgs,
    /// Language packages.
    LangPkgs,
    /// Image-config checks.
    Config,
    /// Secrets in one file.
    Secret,
}

impl Class {
    /// Trivy's name: `os-pkgs`, `lang-pkgs`, `config`, `secret`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::OsPkgs => "os-pkgs",
            Class::LangPkgs => "lang-pkgs",
            Class::Config => "config",
            Class::Secret => "secret",
        }
    }
}

/// The findings of one target.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The target's name (`registry/app:1 (debian 12.5)`, `Python`, `usr/local/bin/app`,
    /// `app/.env`, `Dockerfile`).
    pub name: String,
    /// Its class.
    pub class: Class,
    /// Trivy's `Type`: the OS family, the package type, `dockerfile`; empty for secrets.
    pub kind: String,
    /// Packages of the target.
    pub packages: Vec<&'a Package>,
    /// Vulnerabilities of those packages, with the path of the package they were found in
    /// (`None` for OS packages).
    pub vulnerabilities: Vec<(&'a Vulnerability, Option<&'a str>)>,
    /// Secrets of the file.
    pub secrets: Vec<&'a SecretFinding>,
    /// Failed checks.
    pub misconfigurations: Vec<&'a Misconfiguration>,
    /// Number of checks that passed.
    pub passed_checks: usize,
}

impl<'a> Target<'a> {
    fn new(name: String, class: Class, kind: &str) -> Self {
        Target {
            name,
            class,
            kind: kind.to_owned(),
            packages: Vec::new(),
            vulnerabilities: Vec::new(),
            secrets: Vec::new(),
            misconfigurations: Vec::new(),
            passed_checks: 0,
        }
    }
}

/// The aggregated target name of a package type (Trivy merges these types into one result
/// per language), or `None` for types reported per file.
pub fn aggregated_name(kind: PackageType) -> Option<&'static str> {
    match kind {
        PackageType::PythonPkg => Some("Python"),
        PackageType::CondaPkg => Some("Conda"),
        PackageType::Gemspec => Some("Ruby"),
        PackageType::NodePkg => Some("Node.js"),
        PackageType::Jar => Some("Java"),
        _ => None,
    }
}

/// The OS target's name: `ARTIFACT (FAMILY RELEASE)`, or the artifact alone with no OS.
pub fn os_target_name(report: &ScanReport<'_>) -> String {
    match &report.inventory.os {
        Some(os) => format!("{} ({} {})", report.artifact, os.family, os.name),
        None => report.artifact.to_owned(),
    }
}

/// Where a package's results go: (order, target name, class, type), one per target (per
/// location for per-file types).
fn package_targets(report: &ScanReport<'_>, pkg: &Package) -> Vec<(u8, String, Class, String)> {
    let os = report.inventory.os.as_ref();
    if pkg.kind.is_os() {
        let kind = pkg_type(pkg, os).to_owned();
        return vec![(0, os_target_name(report), Class::OsPkgs, kind)];
    }
    let kind = pkg.kind.as_str().to_owned();
    if let Some(name) = aggregated_name(pkg.kind) {
        return vec![(1, name.to_owned(), Class::LangPkgs, kind)];
    }
    if pkg.locations.is_empty() {
        return vec![(2, kind.clone(), Class::LangPkgs, kind)];
    }
    pkg.locations
        .iter()
        .map(|l| (2, l.clone(), Class::LangPkgs, kind.clone()))
        .collect()
}

/// The findings of `report` grouped by target, in the order Trivy lists them: OS packages,
/// aggregated languages, per-file packages, the image config, files with secrets.
pub fn targets<'a>(report: &ScanReport<'a>) -> Vec<Target<'a>> {
    // (order, name, type) → target; the type keeps two package types that share a file apart.
    let mut by_key: BTreeMap<(u8, String, String), Target<'a>> = BTreeMap::new();
    if report.scanners.vuln {
        if report.inventory.os.is_some() {
            let name = os_target_name(report);
            let kind = report
                .inventory
                .os
                .as_ref()
                .map(|o| o.family.clone())
                .unwrap_or_default();
            by_key
                .entry((0, name.clone(), kind.clone()))
                .or_insert_with(|| Target::new(name, Class::OsPkgs, &kind));
        }
        for pkg in &report.inventory.packages {
            for (order, name, class, kind) in package_targets(report, pkg) {
                by_key
                    .entry((order, name.clone(), kind.clone()))
                    .or_insert_with(|| Target::new(name, class, &kind))
                    .packages
                    .push(pkg);
            }
        }
        for vuln in &report.findings.vulnerabilities {
            for (order, name, class, kind) in package_targets(report, &vuln.package) {
                let path: Option<&'a str> = match order {
                    1 => vuln.package.locations.first().map(String::as_str),
                    2 => vuln
                        .package
                        .locations
                        .iter()
                        .find(|l| **l == name)
                        .map(String::as_str),
                    _ => None,
                };
                by_key
                    .entry((order, name.clone(), kind.clone()))
                    .or_insert_with(|| Target::new(name, class, &kind))
                    .vulnerabilities
                    .push((vuln, path));
            }
        }
    }
    let findings = report.findings;
    if report.scanners.config
        && (!findings.misconfigurations.is_empty() || !findings.passed_checks.is_empty())
    {
        let name = "Dockerfile".to_owned();
        let target = by_key
            .entry((3, name.clone(), "dockerfile".to_owned()))
            .or_insert_with(|| Target::new(name, Class::Config, "dockerfile"));
        target.misconfigurations = findings.misconfigurations.iter().collect();
        target.passed_checks = findings.passed_checks.len();
    }
    for secret in &findings.secrets {
        let file = secret.path.split('#').next().unwrap_or_default().to_owned();
        by_key
            .entry((4, file.clone(), String::new()))
            .or_insert_with(|| Target::new(file, Class::Secret, ""))
            .secrets
            .push(secret);
    }
    by_key.into_values().collect()
}
