//! What a `nyscan scan` report is made of: the inventory of the image, the findings that
//! remain after filters (vulnerabilities, secrets, failed configuration checks), and what is
//! known about the image (its config, ids and layers).

use nyscan_analyze::planner::Inventory;
use nyscan_analyze::secret::SecretFinding;
use nyscan_secrets::Misconfiguration;
use nyscan_vuln::{Finding as Vulnerability, Severity};

/// The findings of a scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanFindings {
    /// Vulnerabilities of installed packages.
    pub vulnerabilities: Vec<Vulnerability>,
    /// Secrets in files and in the image config (masked). Image-config secrets have a path
    /// of the form `config.json#/<JSON pointer>`.
    pub secrets: Vec<SecretFinding>,
    /// Failed image-config checks.
    pub misconfigurations: Vec<Misconfiguration>,
    /// Ids of the image-config checks that ran and passed.
    pub passed_checks: Vec<&'static str>,
}

impl ScanFindings {
    /// True when no vulnerability, secret or failed check is left.
    pub fn is_empty(&self) -> bool {
        self.vulnerabilities.is_empty()
            && self.secrets.is_empty()
            && self.misconfigurations.is_empty()
    }
}

/// Which scanners ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scanners {
    /// Packages were listed and, with a database, matched against vulnerabilities.
    pub vuln: bool,
    /// Files were scanned for secrets.
    pub secret: bool,
    /// The image config was checked.
    pub config: bool,
}

/// What is known about the image besides its files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageInfo {
    /// The image config JSON, when the source is an image.
    pub config: Option<serde_json::Value>,
    /// The config digest (`sha256:...`), Trivy's `ImageID`.
    pub image_id: Option<String>,
    /// The config's `rootfs.diff_ids`.
    pub diff_ids: Vec<String>,
    /// `REPOSITORY@MANIFEST_DIGEST` for registry sources.
    pub repo_digests: Vec<String>,
    /// `REPOSITORY:TAG` for registry sources named by tag.
    pub repo_tags: Vec<String>,
}

/// A scan, ready to render.
#[derive(Debug, Clone, Copy)]
pub struct ScanReport<'a> {
    /// The image as the user named it.
    pub artifact: &'a str,
    /// nyscan's version.
    pub tool_version: &'a str,
    /// Creation time, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// Random bits for the report's UUIDs.
    pub serial: u128,
    /// The OS and packages (its `secrets` are not read: reports take secrets from
    /// `findings`, after filters).
    pub inventory: &'a Inventory,
    /// Findings after filters.
    pub findings: &'a ScanFindings,
    /// The image's config and ids.
    pub image: &'a ImageInfo,
    /// Which scanners ran.
    pub scanners: Scanners,
    /// Whether packages were matched against a vulnerability database (false when the vuln
    /// scanner ran without one: packages are listed, vulnerabilities are unknown).
    pub vulnerabilities_checked: bool,
}

/// The severity scale of every finding: a secret rule's or check's severity on the
/// vulnerability scale (both are Trivy's five levels).
pub fn severity_of_secret(severity: nyscan_secrets::Severity) -> Severity {
    match severity {
        nyscan_secrets::Severity::Unknown => Severity::Unknown,
        nyscan_secrets::Severity::Low => Severity::Low,
        nyscan_secrets::Severity::Medium => Severity::Medium,
        nyscan_secrets::Severity::High => Severity::High,
        nyscan_secrets::Severity::Critical => Severity::Critical,
    }
}

/// Every severity, lowest first.
pub const SEVERITIES: [Severity; 5] = [
    Severity::Unknown,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];
