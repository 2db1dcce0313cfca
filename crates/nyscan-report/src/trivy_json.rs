//! JSON in Trivy's report schema (`SchemaVersion` 2), so tools that read Trivy's JSON read
//! nyscan's: `ArtifactName`, `ArtifactType`, `Metadata` (OS, image id, diff ids, the image
//! config), and `Results[]` by target with `Packages[]`, `Vulnerabilities[]`,
//! `Misconfigurations[]` and `Secrets[]` under Trivy's field names. Only Trivy's names are
//! written; facts Trivy has no field for are left out.

use std::collections::BTreeMap;

use nyscan_analyze::package::{Package, PackageType};
use nyscan_analyze::secret::SecretFinding;
use nyscan_secrets::Misconfiguration;
use nyscan_vuln::Finding as Vulnerability;
use serde::Serialize;

use crate::findings::{ScanReport, severity_of_secret};
use crate::results::{Target, targets};
use crate::{Error, ids, time};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Report<'a> {
    schema_version: u32,
    #[serde(rename = "ReportID")]
    report_id: String,
    created_at: String,
    artifact_name: &'a str,
    artifact_type: &'static str,
    metadata: Metadata<'a>,
    results: Vec<ResultJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    #[serde(rename = "OS", skip_serializing_if = "Option::is_none")]
    os: Option<Os<'a>>,
    #[serde(rename = "ImageID", skip_serializing_if = "Option::is_none")]
    image_id: Option<&'a str>,
    #[serde(rename = "DiffIDs", skip_serializing_if = "<[_]>::is_empty")]
    diff_ids: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    repo_tags: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    repo_digests: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    image_config: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Os<'a> {
    family: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResultJson<'a> {
    target: &'a str,
    class: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    r#type: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    packages: Vec<PackageJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vulnerabilities: Vec<VulnerabilityJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    misconf_summary: Option<MisconfSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    misconfigurations: Vec<MisconfigurationJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<SecretJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Identifier<'a> {
    #[serde(rename = "PURL")]
    purl: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PackageJson<'a> {
    #[serde(rename = "ID")]
    id: String,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier<'a>>,
    version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    release: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    epoch: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    arch: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_release: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_epoch: Option<u64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    licenses: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    file_path: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DataSource<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    name: &'a str,
    #[serde(rename = "URL")]
    url: &'a str,
}

#[derive(Serialize, Default)]
struct Cvss {
    #[serde(rename = "V2Vector", skip_serializing_if = "Option::is_none")]
    v2_vector: Option<String>,
    #[serde(rename = "V3Vector", skip_serializing_if = "Option::is_none")]
    v3_vector: Option<String>,
    #[serde(rename = "V40Vector", skip_serializing_if = "Option::is_none")]
    v40_vector: Option<String>,
    #[serde(rename = "V2Score", skip_serializing_if = "Option::is_none")]
    v2_score: Option<f64>,
    #[serde(rename = "V3Score", skip_serializing_if = "Option::is_none")]
    v3_score: Option<f64>,
    #[serde(rename = "V40Score", skip_serializing_if = "Option::is_none")]
    v40_score: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VulnerabilityJson<'a> {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: &'a str,
    #[serde(rename = "VendorIDs", skip_serializing_if = "<[_]>::is_empty")]
    vendor_ids: &'a [String],
    #[serde(rename = "PkgID")]
    pkg_id: String,
    pkg_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pkg_path: Option<&'a str>,
    pkg_identifier: Identifier<'a>,
    installed_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed_version: Option<&'a str>,
    status: &'static str,
    severity_source: &'a str,
    #[serde(rename = "PrimaryURL")]
    primary_url: &'a str,
    data_source: DataSource<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    severity: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    vendor_severity: BTreeMap<&'a str, u8>,
    #[serde(rename = "CVSS", skip_serializing_if = "BTreeMap::is_empty")]
    cvss: BTreeMap<&'a str, Cvss>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    references: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    published_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_date: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MisconfSummary {
    successes: usize,
    failures: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MisconfigurationJson<'a> {
    r#type: &'static str,
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "AVDID")]
    avd_id: &'a str,
    title: &'a str,
    description: &'a str,
    message: String,
    resolution: &'a str,
    severity: &'static str,
    #[serde(rename = "PrimaryURL")]
    primary_url: String,
    references: Vec<String>,
    status: &'static str,
    cause_metadata: CauseMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CauseMetadata {
    provider: &'static str,
    service: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SecretJson<'a> {
    #[serde(rename = "RuleID")]
    rule_id: &'a str,
    category: &'a str,
    severity: &'static str,
    title: &'a str,
    start_line: u64,
    end_line: u64,
    code: Code<'a>,
    #[serde(rename = "Match")]
    matched: &'a str,
    offset: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Code<'a> {
    lines: Vec<Line<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Line<'a> {
    number: u64,
    content: &'a str,
    is_cause: bool,
    annotation: &'static str,
    truncated: bool,
    highlighted: &'a str,
    first_cause: bool,
    last_cause: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A version split as Trivy's OS analyzers store it: `[epoch:]version[-release]` for dpkg
/// and rpm; other package types keep the version whole.
pub(crate) fn split_version(kind: PackageType, full: &str) -> (u64, &str, &str) {
    if !matches!(kind, PackageType::Dpkg | PackageType::Rpm) {
        return (0, full, "");
    }
    let (epoch, rest) = match full.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(0), rest)
        }
        _ => (0, full),
    };
    match rest.rsplit_once('-') {
        Some((version, release)) => (epoch, version, release),
        None => (epoch, rest, ""),
    }
}

/// Trivy's package id: `NAME@VERSION` (the full version, epoch included).
pub(crate) fn package_id(pkg: &Package) -> String {
    format!("{}@{}", pkg.name, pkg.version)
}

/// Trivy's integer severities: 0 unknown … 4 critical.
fn severity_number(severity: nyscan_vuln::Severity) -> u8 {
    crate::findings::SEVERITIES
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(0) as u8
}

fn package_json<'a>(pkg: &'a Package, target: &'a Target<'a>) -> PackageJson<'a> {
    let (epoch, version, release) = split_version(pkg.kind, &pkg.version);
    let source = pkg
        .source
        .as_ref()
        .map(|s| split_version(pkg.kind, &s.version));
    let file_path = if pkg.kind.is_os() {
        None
    } else if crate::results::aggregated_name(pkg.kind).is_some() {
        pkg.locations.first().map(String::as_str)
    } else {
        Some(target.name.as_str())
    };
    PackageJson {
        id: package_id(pkg),
        name: &pkg.name,
        identifier: (!pkg.purl.is_empty()).then_some(Identifier { purl: &pkg.purl }),
        version,
        release,
        epoch,
        arch: pkg.arch.as_deref(),
        src_name: pkg.source.as_ref().map(|s| s.name.as_str()),
        src_version: source.map(|s| s.1),
        src_release: source.map(|s| s.2).filter(|r| !r.is_empty()),
        src_epoch: source.map(|s| s.0).filter(|e| *e != 0),
        licenses: &pkg.licenses,
        file_path,
    }
}

fn vulnerability_json<'a>(v: &'a Vulnerability, path: Option<&'a str>) -> VulnerabilityJson<'a> {
    let mut cvss = Cvss::default();
    for score in &v.cvss {
        let vector = Some(score.vector.clone());
        match score.version.chars().next() {
            Some('2') => (cvss.v2_vector, cvss.v2_score) = (vector, Some(score.score)),
            Some('3') if cvss.v3_vector.is_none() || score.version == "3.1" => {
                (cvss.v3_vector, cvss.v3_score) = (vector, Some(score.score))
            }
            Some('4') => (cvss.v40_vector, cvss.v40_score) = (vector, Some(score.score)),
            _ => {}
        }
    }
    let mut cvss_map = BTreeMap::new();
    if !v.cvss.is_empty() {
        cvss_map.insert(v.data_source.id.as_str(), cvss);
    }
    let mut vendor_severity = BTreeMap::new();
    if v.vendor_rating.is_some() {
        vendor_severity.insert(v.severity_source.as_str(), severity_number(v.severity));
    }
    VulnerabilityJson {
        vulnerability_id: &v.id,
        vendor_ids: &v.aliases,
        pkg_id: package_id(&v.package),
        pkg_name: &v.package.name,
        pkg_path: path,
        pkg_identifier: Identifier {
            purl: &v.package.purl,
        },
        installed_version: &v.package.version,
        fixed_version: v.fixed_version.as_deref(),
        status: match v.status {
            nyscan_vuln::Status::Fixed => "fixed",
            nyscan_vuln::Status::Affected => "affected",
        },
        severity_source: &v.severity_source,
        primary_url: &v.data_source.url,
        data_source: DataSource {
            id: &v.data_source.id,
            name: &v.data_source.name,
            url: &v.data_source.url,
        },
        title: v.title.as_deref(),
        description: v.description.as_deref(),
        severity: v.severity.as_str(),
        vendor_severity,
        cvss: cvss_map,
        references: &v.references,
        published_date: v.published.as_deref(),
        last_modified_date: v.modified.as_deref(),
    }
}

/// The AVD page of an image-config check (its id is Trivy's Dockerfile check id).
pub(crate) fn check_url(id: &str) -> String {
    format!(
        "https://avd.aquasec.com/misconfig/{}",
        id.to_ascii_lowercase()
    )
}

/// A check's message with its cause, when the message does not already show it.
pub(crate) fn check_message(m: &Misconfiguration) -> String {
    match &m.cause {
        Some(cause) if !m.message.contains(cause.as_str()) => {
            format!("{} ({cause})", m.message)
        }
        _ => m.message.clone(),
    }
}

fn misconfiguration_json(m: &Misconfiguration) -> MisconfigurationJson<'_> {
    let url = check_url(m.id);
    MisconfigurationJson {
        r#type: "Dockerfile Security Check",
        id: m.id,
        avd_id: m.avd_id,
        title: m.title,
        description: m.title,
        message: check_message(m),
        resolution: m.resolution,
        severity: m.severity.as_str(),
        primary_url: url.clone(),
        references: vec![url],
        status: "FAIL",
        cause_metadata: CauseMetadata {
            provider: "Dockerfile",
            service: "general",
        },
    }
}

fn secret_json(s: &SecretFinding) -> SecretJson<'_> {
    SecretJson {
        rule_id: &s.rule_id,
        category: &s.category,
        severity: severity_of_secret(s.severity).as_str(),
        title: &s.title,
        start_line: s.start_line,
        end_line: s.end_line,
        code: Code {
            lines: vec![Line {
                number: s.start_line,
                content: &s.context,
                is_cause: true,
                annotation: "",
                truncated: false,
                highlighted: &s.context,
                first_cause: true,
                last_cause: true,
            }],
        },
        matched: &s.context,
        offset: s.offset,
    }
}

/// Writes `report` as JSON in Trivy's schema.
pub fn write(report: &ScanReport<'_>, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let targets = targets(report);
    let results = targets
        .iter()
        .map(|t| ResultJson {
            target: &t.name,
            class: t.class.as_str(),
            r#type: &t.kind,
            packages: t.packages.iter().map(|p| package_json(p, t)).collect(),
            vulnerabilities: t
                .vulnerabilities
                .iter()
                .map(|(v, path)| vulnerability_json(v, *path))
                .collect(),
            misconf_summary: (t.class == crate::results::Class::Config).then_some(MisconfSummary {
                successes: t.passed_checks,
                failures: t.misconfigurations.len(),
            }),
            misconfigurations: t
                .misconfigurations
                .iter()
                .map(|m| misconfiguration_json(m))
                .collect(),
            secrets: t.secrets.iter().map(|s| secret_json(s)).collect(),
        })
        .collect();
    let image = report.image;
    let json = Report {
        schema_version: 2,
        report_id: ids::uuid_v4(report.serial),
        created_at: time::rfc3339(report.created_unix),
        artifact_name: report.artifact,
        artifact_type: "container_image",
        metadata: Metadata {
            os: report.inventory.os.as_ref().map(|os| Os {
                family: &os.family,
                name: &os.name,
            }),
            image_id: image.image_id.as_deref(),
            diff_ids: &image.diff_ids,
            repo_tags: &image.repo_tags,
            repo_digests: &image.repo_digests,
            image_config: image.config.as_ref(),
        },
        results,
    };
    serde_json::to_writer_pretty(&mut *out, &json)?;
    writeln!(out)?;
    Ok(())
}
