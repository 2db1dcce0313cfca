//! SARIF 2.1.0: one run of the `nyscan` driver, one rule per vulnerability id, secret rule
//! and check id (with a help text, a level and a `security-severity` score as code-scanning
//! services read it), and one result per finding located in the image file it was found in:
//! the package's metadata file or binary (OS packages: the package database), the file
//! holding a secret (with its line), or the image config for checks. Paths are relative to
//! the image root (`ROOTPATH`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Error;
use crate::findings::{ScanReport, severity_of_secret};
use crate::results::targets;
use crate::trivy_json::{check_message, check_url};

/// Where the schema of the document is published.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    results: Vec<ResultJson>,
    column_kind: &'static str,
    original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    image_name: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    repo_digests: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    image_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    full_name: &'static str,
    version: &'a str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    default_configuration: Configuration,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    help: Help,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    precision: &'static str,
    #[serde(rename = "security-severity")]
    security_severity: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultJson {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
    message: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u64,
    start_column: u64,
    end_line: u64,
    end_column: u64,
}

/// SARIF's level for a severity: critical and high are errors, medium a warning, the rest
/// notes.
fn level(severity: nyscan_vuln::Severity) -> &'static str {
    use nyscan_vuln::Severity::*;
    match severity {
        Critical | High => "error",
        Medium => "warning",
        Low | Unknown => "note",
    }
}

/// The score code-scanning services sort by: the CVSS score when known, else the middle of
/// the severity's band.
fn security_severity(severity: nyscan_vuln::Severity, score: Option<f64>) -> String {
    use nyscan_vuln::Severity::*;
    let score = score.unwrap_or(match severity {
        Critical => 9.5,
        High => 8.0,
        Medium => 5.5,
        Low => 2.0,
        Unknown => 0.0,
    });
    format!("{score:.1}")
}

/// A relative URI for an image path: every byte outside the unreserved set and `/` is
/// percent-encoded.
fn path_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Rules by id, in first-seen order.
#[derive(Default)]
struct Rules {
    list: Vec<Rule>,
    index: BTreeMap<String, usize>,
}

impl Rules {
    fn add(&mut self, id: &str, make: impl FnOnce() -> Rule) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        self.list.push(make());
        self.index.insert(id.to_owned(), self.list.len() - 1);
        self.list.len() - 1
    }
}

fn location(uri: &str, line: u64, message: &str) -> Location {
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: path_uri(uri),
                uri_base_id: Some("ROOTPATH"),
            },
            region: Region {
                start_line: line.max(1),
                start_column: 1,
                end_line: line.max(1),
                end_column: 1,
            },
        },
        message: Text {
            text: message.to_owned(),
        },
    }
}

/// Writes `report` as SARIF 2.1.0.
pub fn write(report: &ScanReport<'_>, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let mut rules = Rules::default();
    let mut results = Vec::new();
    for target in targets(report) {
        for (v, path) in &target.vulnerabilities {
            let title = v.title.clone().unwrap_or_else(|| v.id.clone());
            let fixed = v.fixed_version.as_deref().unwrap_or("none known");
            let rule_index = rules.add(&v.id, || Rule {
                id: v.id.clone(),
                name: if v.package.kind.is_os() {
                    "OsPackageVulnerability"
                } else {
                    "LanguageSpecificPackageVulnerability"
                },
                short_description: Text {
                    text: title.clone(),
                },
                full_description: Text {
                    text: v.description.clone().unwrap_or_else(|| title.clone()),
                },
                default_configuration: Configuration {
                    level: level(v.severity),
                },
                help_uri: Some(v.data_source.url.clone()),
                help: Help {
                    text: format!(
                        "Vulnerability {}\nSeverity: {}\nPackage: {}\nFixed Version: {fixed}\nLink: {}",
                        v.id,
                        v.severity.as_str(),
                        v.package.name,
                        v.data_source.url
                    ),
                    markdown: format!(
                        "**Vulnerability {}**\n| Severity | Package | Fixed Version | Link |\n| --- | --- | --- | --- |\n| {} | {} | {fixed} | [{}]({}) |\n",
                        v.id,
                        v.severity.as_str(),
                        v.package.name,
                        v.id,
                        v.data_source.url
                    ),
                },
                properties: RuleProperties {
                    tags: vec![
                        "vulnerability".into(),
                        "security".into(),
                        v.severity.as_str().into(),
                    ],
                    precision: "very-high",
                    security_severity: security_severity(v.severity, v.score),
                },
            });
            let file = path
                .map(str::to_owned)
                .or_else(|| v.package.locations.first().cloned())
                .unwrap_or_else(|| target.name.clone());
            let message = format!(
                "Package: {}\nInstalled Version: {}\nVulnerability {}\nSeverity: {}\nFixed Version: {fixed}\nLink: {}",
                v.package.name,
                v.package.version,
                v.id,
                v.severity.as_str(),
                v.data_source.url
            );
            results.push(ResultJson {
                rule_id: v.id.clone(),
                rule_index,
                level: level(v.severity),
                message: Text { text: message },
                locations: vec![location(
                    &file,
                    1,
                    &format!("{}: {}@{}", target.name, v.package.name, v.package.version),
                )],
            });
        }
        for m in &target.misconfigurations {
            let severity = severity_of_secret(m.severity);
            let rule_index = rules.add(m.id, || Rule {
                id: m.id.to_owned(),
                name: "Misconfiguration",
                short_description: Text {
                    text: m.title.to_owned(),
                },
                full_description: Text {
                    text: m.title.to_owned(),
                },
                default_configuration: Configuration {
                    level: level(severity),
                },
                help_uri: Some(check_url(m.id)),
                help: Help {
                    text: format!(
                        "Check {} ({})\nSeverity: {}\n{}\nResolution: {}",
                        m.id, m.avd_id, severity.as_str(), m.title, m.resolution
                    ),
                    markdown: format!(
                        "**Check {}**\n| Severity | Title | Resolution |\n| --- | --- | --- |\n| {} | {} | {} |\n",
                        m.id,
                        severity.as_str(),
                        m.title,
                        m.resolution
                    ),
                },
                properties: RuleProperties {
                    tags: vec!["misconfiguration".into(), "security".into(), severity.as_str().into()],
                    precision: "very-high",
                    security_severity: security_severity(severity, None),
                },
            });
            results.push(ResultJson {
                rule_id: m.id.to_owned(),
                rule_index,
                level: level(severity),
                message: Text {
                    text: check_message(m),
                },
                locations: vec![location(
                    "config.json",
                    1,
                    &format!("{}: {}", target.name, m.title),
                )],
            });
        }
        for s in &target.secrets {
            let severity = severity_of_secret(s.severity);
            let rule_index = rules.add(&s.rule_id, || Rule {
                id: s.rule_id.clone(),
                name: "Secret",
                short_description: Text {
                    text: s.title.clone(),
                },
                full_description: Text {
                    text: format!("{} ({})", s.title, s.category),
                },
                default_configuration: Configuration {
                    level: level(severity),
                },
                help_uri: None,
                help: Help {
                    text: format!(
                        "Secret {}\nSeverity: {}\nRule: {}",
                        s.title,
                        severity.as_str(),
                        s.rule_id
                    ),
                    markdown: format!(
                        "**Secret {}**\n| Severity | Category | Rule |\n| --- | --- | --- |\n| {} | {} | {} |\n",
                        s.title,
                        severity.as_str(),
                        s.category,
                        s.rule_id
                    ),
                },
                properties: RuleProperties {
                    tags: vec!["secret".into(), "security".into(), severity.as_str().into()],
                    precision: "very-high",
                    security_severity: security_severity(severity, None),
                },
            });
            let (file, line) = match s.path.split_once('#') {
                Some((file, _)) => (file, 1),
                None => (s.path.as_str(), s.start_line),
            };
            results.push(ResultJson {
                rule_id: s.rule_id.clone(),
                rule_index,
                level: level(severity),
                message: Text {
                    text: format!("{}: {} ({})", s.title, s.context, s.path),
                },
                locations: vec![location(file, line, &s.context)],
            });
        }
    }
    let mut bases = BTreeMap::new();
    bases.insert(
        "ROOTPATH",
        ArtifactLocation {
            uri: "file:///".to_owned(),
            uri_base_id: None,
        },
    );
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "nyscan",
                    full_name: "nyscan Nydus image scanner",
                    version: report.tool_version,
                    information_uri: "https://github.com/nyscan/nyscan",
                    rules: rules.list,
                },
            },
            results,
            column_kind: "utf16CodeUnits",
            original_uri_base_ids: bases,
            properties: RunProperties {
                image_name: report.artifact,
                repo_digests: &report.image.repo_digests,
                image_id: report.image.image_id.as_deref(),
            },
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)?;
    Ok(())
}
