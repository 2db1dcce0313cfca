//! CycloneDX 1.6 JSON: the image as the root component, the OS as an `operating-system`
//! component, every package a `library` with its purl, licenses, Trivy's properties
//! (`aquasecurity:trivy:PkgType`, `SrcName`, `SrcVersion`, `FilePath`) and one
//! `nyscan:location` property per place it was found.

use std::collections::HashSet;

use serde::Serialize;

use nyscan_vuln::Finding as Vulnerability;

use crate::trivy::{group_and_name, pkg_type};
use crate::{Document, Error, ids, time};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<Component<'a>>,
    dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vulnerabilities: Vec<VulnerabilityJson<'a>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools<'a>,
    component: Component<'a>,
}

#[derive(Serialize)]
struct Tools<'a> {
    components: Vec<Component<'a>>,
}

#[derive(Serialize, Default)]
struct Component<'a> {
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property<'a>>,
}

#[derive(Serialize)]
struct LicenseChoice<'a> {
    license: License<'a>,
}

#[derive(Serialize)]
struct License<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Property<'a> {
    name: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

/// Writes `doc` as CycloneDX 1.6 JSON.
pub fn write(doc: &Document<'_>, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let (bom, _) = build(doc);
    emit(&bom, out)
}

/// Writes `doc` as CycloneDX 1.6 JSON with `vulnerabilities`: each one names the component
/// of its package in `affects` (by `bom-ref`), its ratings (CVSS scores with their vectors,
/// or the source's own severity), aliases as `references`, the fix as a recommendation.
pub fn write_with_vulnerabilities(
    doc: &Document<'_>,
    vulnerabilities: &[Vulnerability],
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    let (mut bom, refs) = build(doc);
    bom.vulnerabilities = vulnerabilities
        .iter()
        .map(|v| {
            let reference = doc
                .inventory
                .packages
                .iter()
                .position(|p| *p == v.package)
                .map_or_else(|| v.package.purl.clone(), |i| refs[i].clone());
            vulnerability_json(v, reference)
        })
        .collect();
    emit(&bom, out)
}

fn emit(bom: &Bom<'_>, out: &mut dyn std::io::Write) -> Result<(), Error> {
    serde_json::to_writer_pretty(&mut *out, bom)?;
    writeln!(out)?;
    Ok(())
}

/// The document's BOM, and the `bom-ref` of each package of the inventory (same order).
fn build<'a>(doc: &Document<'a>) -> (Bom<'a>, Vec<String>) {
    let inventory = doc.inventory;
    let os = inventory.os.as_ref();
    let root_ref = ids::uuid_v4(doc.serial.rotate_left(64));
    let os_ref = os.map(|_| ids::uuid_v4(doc.serial.rotate_left(32)));
    let mut components = Vec::new();
    if let (Some(os), Some(os_ref)) = (os, &os_ref) {
        components.push(Component {
            bom_ref: Some(os_ref.clone()),
            kind: "operating-system",
            name: &os.family,
            version: Some(&os.name),
            properties: vec![
                Property {
                    name: "aquasecurity:trivy:Class",
                    value: "os-pkgs",
                },
                Property {
                    name: "aquasecurity:trivy:Type",
                    value: &os.family,
                },
            ],
            ..Component::default()
        });
    }
    let mut used = HashSet::new();
    let mut refs = Vec::with_capacity(inventory.packages.len());
    let mut os_deps = Vec::new();
    let mut root_deps: Vec<String> = os_ref.iter().cloned().collect();
    for pkg in &inventory.packages {
        let mut bom_ref = pkg.purl.clone();
        if !used.insert(bom_ref.clone()) {
            let sep = if bom_ref.contains('?') { '&' } else { '?' };
            let location = pkg.locations.first().map_or("", String::as_str);
            bom_ref = format!(
                "{bom_ref}{sep}file_path={}",
                nyscan_analyze::os::purl::query_escape(location)
            );
            let mut n = 1;
            while !used.insert(bom_ref.clone()) {
                n += 1;
                bom_ref = format!("{}#{n}", pkg.purl);
            }
        }
        let mut properties = Vec::new();
        if !pkg.kind.is_os()
            && let Some(first) = pkg.locations.first()
        {
            properties.push(Property {
                name: "aquasecurity:trivy:FilePath",
                value: first,
            });
        }
        properties.push(Property {
            name: "aquasecurity:trivy:PkgType",
            value: pkg_type(pkg, os),
        });
        if let Some(source) = &pkg.source {
            properties.push(Property {
                name: "aquasecurity:trivy:SrcName",
                value: &source.name,
            });
            properties.push(Property {
                name: "aquasecurity:trivy:SrcVersion",
                value: &source.version,
            });
        }
        for location in &pkg.locations {
            properties.push(Property {
                name: "nyscan:location",
                value: location,
            });
        }
        let (group, name) = group_and_name(pkg);
        components.push(Component {
            bom_ref: Some(bom_ref.clone()),
            kind: "library",
            group,
            name,
            version: Some(&pkg.version),
            licenses: pkg
                .licenses
                .iter()
                .map(|l| LicenseChoice {
                    license: License { name: l },
                })
                .collect(),
            purl: (!pkg.purl.is_empty()).then_some(pkg.purl.as_str()),
            properties,
        });
        refs.push(bom_ref.clone());
        if pkg.kind.is_os() && os_ref.is_some() {
            os_deps.push(bom_ref);
        } else {
            root_deps.push(bom_ref);
        }
    }
    let mut dependencies = vec![Dependency {
        reference: root_ref.clone(),
        depends_on: root_deps,
    }];
    if let Some(os_ref) = os_ref {
        dependencies.push(Dependency {
            reference: os_ref,
            depends_on: os_deps,
        });
    }
    let bom = Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", ids::uuid_v4(doc.serial)),
        version: 1,
        metadata: Metadata {
            timestamp: time::rfc3339(doc.created_unix),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    group: Some("nyscan"),
                    name: "nyscan",
                    version: Some(doc.tool_version),
                    ..Component::default()
                }],
            },
            component: Component {
                bom_ref: Some(root_ref),
                kind: "container",
                name: doc.artifact,
                ..Component::default()
            },
        },
        components,
        dependencies,
        vulnerabilities: Vec::new(),
    };
    (bom, refs)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VulnerabilityJson<'a> {
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    id: &'a str,
    source: Source<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference<'a>>,
    ratings: Vec<Rating<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    advisories: Vec<Advisory<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<&'a str>,
    affects: Vec<Affects<'a>>,
}

#[derive(Serialize)]
struct Source<'a> {
    name: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct Reference<'a> {
    id: &'a str,
    source: Source<'a>,
}

#[derive(Serialize)]
struct Rating<'a> {
    source: Source<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    severity: &'static str,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<&'a str>,
}

#[derive(Serialize)]
struct Advisory<'a> {
    url: &'a str,
}

#[derive(Serialize)]
struct Affects<'a> {
    #[serde(rename = "ref")]
    reference: String,
    versions: Vec<AffectedVersion<'a>>,
}

#[derive(Serialize)]
struct AffectedVersion<'a> {
    version: &'a str,
    status: &'static str,
}

/// CycloneDX's severity names (lower case).
fn cdx_severity(severity: nyscan_vuln::Severity) -> &'static str {
    match severity {
        nyscan_vuln::Severity::Critical => "critical",
        nyscan_vuln::Severity::High => "high",
        nyscan_vuln::Severity::Medium => "medium",
        nyscan_vuln::Severity::Low => "low",
        nyscan_vuln::Severity::Unknown => "unknown",
    }
}

fn vulnerability_json(v: &Vulnerability, component: String) -> VulnerabilityJson<'_> {
    let source = || Source {
        name: &v.data_source.name,
        url: &v.data_source.url,
    };
    let mut ratings: Vec<Rating<'_>> = v
        .cvss
        .iter()
        .map(|c| Rating {
            source: source(),
            score: Some(c.score),
            severity: cdx_severity(c.severity),
            method: match c.version.as_str() {
                "2.0" => "CVSSv2",
                "3.0" => "CVSSv3",
                "3.1" => "CVSSv31",
                "4.0" => "CVSSv4",
                _ => "other",
            },
            vector: Some(&c.vector),
        })
        .collect();
    if ratings.is_empty() || v.vendor_rating.is_some() {
        ratings.push(Rating {
            source: source(),
            score: None,
            severity: cdx_severity(v.severity),
            method: "other",
            vector: None,
        });
    }
    VulnerabilityJson {
        bom_ref: format!("{}@{component}", v.id),
        id: &v.id,
        source: source(),
        references: v
            .aliases
            .iter()
            .map(|a| Reference {
                id: a,
                source: source(),
            })
            .collect(),
        ratings,
        description: v.title.as_deref(),
        detail: v.description.as_deref(),
        recommendation: v
            .fixed_version
            .as_ref()
            .map(|f| format!("Upgrade {} to version {f}", v.package.name)),
        advisories: v.references.iter().map(|url| Advisory { url }).collect(),
        published: v.published.as_deref(),
        updated: v.modified.as_deref(),
        affects: vec![Affects {
            reference: component,
            versions: vec![AffectedVersion {
                version: &v.package.version,
                status: "affected",
            }],
        }],
    }
}
