//! Findings: a vulnerability in an installed package, with what a report needs (ids, fix,
//! severity and score, text, references, data source), and scanning package lists against
//! the database.

use nyscan_analyze::package::{OsInfo, Package};
use serde::{Deserialize, Serialize};

use crate::db::{DbError, VulnDb};
use crate::matching::{self, MatchError, NoTarget, RecordMatch, Target};
use crate::osv::{Affected, OsvRecord, Severity as OsvSeverity};
use crate::severity::{CvssScore, Severity, score_vector};

/// Whether a fix is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A fixed version exists.
    Fixed,
    /// No fix is known.
    Affected,
}

/// Where a finding's record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// Short id (`osv`).
    pub id: String,
    /// Name, with the ecosystem (`OSV Debian`).
    pub name: String,
    /// The record's page.
    pub url: String,
}

/// A vulnerability in one installed package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The record's id (`DSA-5678-1`, `GHSA-...`, `PYSEC-...`).
    pub id: String,
    /// Other ids of the same vulnerability (CVE ids...).
    pub aliases: Vec<String>,
    /// The package as found.
    pub package: Package,
    /// The OSV ecosystem it was matched in (`Debian:12`).
    pub ecosystem: String,
    /// The name looked up (the source package for Debian, Ubuntu, Alpine).
    pub matched_name: String,
    /// The version compared.
    pub installed_version: String,
    /// First version with the fix, if known.
    pub fixed_version: Option<String>,
    /// Fixed or affected (no fix known).
    pub status: Status,
    /// Severity level.
    pub severity: Severity,
    /// What the level came from: `cvss_v3`, `cvss_v4`, `cvss_v2`, `database` (the record's
    /// own rating), `ubuntu`, `debian`, or `none`.
    pub severity_source: String,
    /// CVSS base score (v3 preferred, then v4, then v2).
    pub score: Option<f64>,
    /// Every CVSS vector of the record, scored.
    pub cvss: Vec<CvssScore>,
    /// The distribution's or database's own rating, as written (`unimportant`, `MODERATE`).
    pub vendor_rating: Option<String>,
    /// One-line summary.
    pub title: Option<String>,
    /// Longer description.
    pub description: Option<String>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// Publication time (RFC 3339).
    pub published: Option<String>,
    /// Last change (RFC 3339).
    pub modified: Option<String>,
    /// Where the record came from.
    pub data_source: DataSource,
}

/// A package that could not be checked, or a record that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanWarning {
    /// Package name and version.
    pub package: String,
    /// What happened.
    pub message: String,
}

/// Findings of a package list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanOutcome {
    /// Findings, in package order then by id.
    pub findings: Vec<Finding>,
    /// Packages with no OSV identity (conda, OS packages without a known OS) and records
    /// that could not be compared.
    pub warnings: Vec<ScanWarning>,
    /// Packages looked up.
    pub checked: usize,
}

/// The vendor's rating of an affected entry or record: GitHub's
/// `database_specific.severity`, Ubuntu's `Ubuntu` severity entries, Debian's
/// `ecosystem_specific.urgency`.
fn vendor_rating(record: &OsvRecord, affected: &Affected) -> Option<(String, &'static str)> {
    let from = |v: &Option<serde_json::Value>, key: &str| {
        v.as_ref()
            .and_then(|v| v.get(key))
            .and_then(|s| s.as_str())
            .map(str::to_owned)
    };
    if let Some(s) = affected
        .severity
        .iter()
        .chain(&record.severity)
        .find(|s| s.kind == "Ubuntu")
    {
        return Some((s.score.clone(), "ubuntu"));
    }
    if let Some(u) = from(&affected.ecosystem_specific, "urgency") {
        return Some((u, "debian"));
    }
    from(&affected.ecosystem_specific, "severity")
        .or_else(|| from(&affected.database_specific, "severity"))
        .or_else(|| from(&record.database_specific, "severity"))
        .map(|s| (s, "database"))
}

fn scores(entries: &[OsvSeverity]) -> Vec<CvssScore> {
    entries
        .iter()
        .filter(|s| s.kind.starts_with("CVSS_V"))
        .filter_map(|s| score_vector(&s.score).ok())
        .collect()
}

/// Builds the finding for a matched record.
pub fn finding(record: &OsvRecord, m: &RecordMatch, package: &Package, target: &Target) -> Finding {
    let affected = &record.affected[m.affected];
    let mut cvss = scores(&affected.severity);
    if cvss.is_empty() {
        cvss = scores(&record.severity);
    }
    let pick = |major: &str| cvss.iter().find(|c| c.version.starts_with(major));
    let best = pick("3").or_else(|| pick("4")).or_else(|| pick("2"));
    let rating = vendor_rating(record, affected);
    let (severity, source) = match (&rating, best) {
        (Some((text, source)), _) if Severity::from_rating(text).is_some() => (
            Severity::from_rating(text).unwrap_or(Severity::Unknown),
            (*source).to_owned(),
        ),
        (_, Some(c)) => (c.severity, format!("cvss_v{}", &c.version[..1])),
        _ => (Severity::Unknown, "none".to_owned()),
    };
    let ecosystem = affected
        .package
        .as_ref()
        .map(|p| p.ecosystem.clone())
        .unwrap_or_default();
    let base = ecosystem.split(':').next().unwrap_or_default();
    Finding {
        id: record.id.clone(),
        aliases: record.aliases.clone(),
        package: package.clone(),
        ecosystem: target.ecosystem.to_string(),
        matched_name: target.name.clone(),
        installed_version: target.version.clone(),
        fixed_version: m.fixed.clone(),
        status: if m.fixed.is_some() {
            Status::Fixed
        } else {
            Status::Affected
        },
        severity,
        severity_source: source,
        score: best.map(|c| c.score),
        vendor_rating: rating.map(|(text, _)| text),
        cvss,
        title: record.summary.clone(),
        description: record.details.clone(),
        references: record
            .references
            .iter()
            .map(|r| r.url.clone())
            .filter(|u| !u.is_empty())
            .collect(),
        published: record.published.clone(),
        modified: record.modified.clone(),
        data_source: DataSource {
            id: "osv".to_owned(),
            name: format!("OSV {base}"),
            url: format!("https://osv.dev/vulnerability/{}", record.id),
        },
    }
}

/// Matches one package against a list of candidate records.
pub fn match_package(
    package: &Package,
    target: &Target,
    records: &[OsvRecord],
) -> (Vec<Finding>, Vec<MatchError>) {
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for record in records {
        match matching::match_record(record, target) {
            Ok(Some(m)) => findings.push(finding(record, &m, package, target)),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    findings.sort_by(|a, b| a.id.cmp(&b.id));
    findings.dedup_by(|a, b| a.id == b.id);
    (findings, errors)
}

impl VulnDb {
    /// Matches packages (and the image's OS, for OS packages) against the database.
    pub fn scan(&self, packages: &[Package], os: Option<&OsInfo>) -> Result<ScanOutcome, DbError> {
        let mut outcome = ScanOutcome::default();
        for package in packages {
            let label = format!("{} {}", package.name, package.version);
            let target = match matching::target(package, os) {
                Ok(t) => t,
                Err(e @ (NoTarget::UnknownOs { .. } | NoTarget::NoEcosystem(_))) => {
                    outcome.warnings.push(ScanWarning {
                        package: label,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            outcome.checked += 1;
            let records = self.records_for(&target.ecosystem, &target.name)?;
            let (findings, errors) = match_package(package, &target, &records);
            outcome.findings.extend(findings);
            outcome
                .warnings
                .extend(errors.into_iter().map(|e| ScanWarning {
                    package: label.clone(),
                    message: e.to_string(),
                }));
        }
        Ok(outcome)
    }
}
