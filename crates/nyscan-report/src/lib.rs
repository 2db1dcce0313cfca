//! Reports of what nyscan found, one module per format.
//!
//! # Brief overview
//!
//! - [`Document`]: what goes into a report (the inventory of a scan, the artifact's name,
//!   the time and a random serial the caller supplies, so output is reproducible in tests).
//! - [`write`]: renders a document in a [`Format`]: [`cyclonedx`] (CycloneDX 1.6 JSON),
//!   [`spdx`] (SPDX 2.3 JSON), [`table`] (text), [`json`] (nyscan's own JSON).
//! - [`trivy`]: the names Trivy uses for the same facts (package types by OS family), so
//!   reports compare with Trivy's line by line.
//! - [`write_scan`]: renders a scan ([`ScanReport`]: packages, vulnerabilities, secrets,
//!   failed image-config checks) in a [`ScanFormat`]: [`scan_table`] (text by target, as
//!   Trivy prints it), [`trivy_json`] (Trivy's JSON schema), [`sarif`] (SARIF 2.1.0),
//!   [`cyclonedx`] (CycloneDX 1.6 with vulnerabilities). [`results`] groups findings by
//!   target as Trivy does.
//! - [`Filter`]: severities, `--ignore-unfixed` and an ignore file in the `.trivyignore`
//!   form ([`IgnoreList`]) applied to findings before a report.
//! - [`redact::redact_image_config`]: masks the secrets of an image config before a report
//!   carries it.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

use nyscan_analyze::planner::{Inventory, ScanStats};

pub mod cyclonedx;
pub mod filter;
pub mod findings;
mod ids;
pub mod ignore;
pub mod json;
pub mod redact;
pub mod results;
pub mod sarif;
pub mod scan_table;
#[cfg(test)]
mod scan_tests;
pub mod spdx;
pub mod table;
mod time;
pub mod trivy;
pub mod trivy_json;

pub use filter::{Filter, Suppressed};
pub use findings::{ImageInfo, ScanFindings, ScanReport, Scanners};
pub use ignore::{IgnoreError, IgnoreList};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.6 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    SpdxJson,
    /// Text tables.
    Table,
    /// nyscan's JSON.
    Json,
}

/// What a report is made of.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    /// The scan's findings.
    pub inventory: &'a Inventory,
    /// The image as the user named it.
    pub artifact: &'a str,
    /// nyscan's version.
    pub tool_version: &'a str,
    /// Creation time, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// Random bits for the document's UUIDs (serial number, namespace, element refs).
    pub serial: u128,
    /// The scan's statistics, included by the JSON format when given.
    pub stats: Option<&'a ScanStats>,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing to the output failed.
    #[error("cannot write the report")]
    Write(#[from] std::io::Error),
    /// Encoding JSON failed.
    #[error("cannot encode the report as JSON")]
    Json(#[from] serde_json::Error),
}

/// Writes `doc` to `out` in `format`.
pub fn write(
    format: Format,
    doc: &Document<'_>,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    match format {
        Format::CycloneDx => cyclonedx::write(doc, out),
        Format::SpdxJson => spdx::write(doc, out),
        Format::Table => table::write(doc, out),
        Format::Json => json::write(doc, out),
    }
}

/// Output formats of a scan (packages and findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    /// Text tables by target.
    Table,
    /// JSON in Trivy's schema.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX 1.6 with vulnerabilities.
    CycloneDx,
}

/// Writes the scan `report` to `out` in `format`.
pub fn write_scan(
    format: ScanFormat,
    report: &ScanReport<'_>,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    match format {
        ScanFormat::Table => scan_table::write(report, out),
        ScanFormat::Json => trivy_json::write(report, out),
        ScanFormat::Sarif => sarif::write(report, out),
        ScanFormat::CycloneDx => {
            let doc = Document {
                inventory: report.inventory,
                artifact: report.artifact,
                tool_version: report.tool_version,
                created_unix: report.created_unix,
                serial: report.serial,
                stats: None,
            };
            cyclonedx::write_with_vulnerabilities(&doc, &report.findings.vulnerabilities, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use nyscan_analyze::package::{OsInfo, Package, PackageType, SourcePackage};
    use nyscan_analyze::planner::{Note, NoteKind};
    use serde_json::Value;

    use super::*;

    fn pkg(kind: PackageType, name: &str, version: &str, purl: &str, at: &[&str]) -> Package {
        Package {
            kind,
            name: name.into(),
            version: version.into(),
            arch: None,
            source: None,
            licenses: vec!["MIT".into()],
            purl: purl.into(),
            locations: at.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn inventory() -> Inventory {
        let mut zlib = pkg(
            PackageType::Dpkg,
            "zlib1g",
            "1:1.2.13.dfsg-1",
            "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1&distro=debian-12.5",
            &["var/lib/dpkg/status"],
        );
        zlib.source = Some(SourcePackage {
            name: "zlib".into(),
            version: "1:1.2.13.dfsg-1".into(),
        });
        zlib.licenses = vec!["GPL-2.0 or later".into()];
        Inventory {
            os: Some(OsInfo {
                family: "debian".into(),
                name: "12.5".into(),
            }),
            packages: vec![
                zlib,
                pkg(
                    PackageType::NodePkg,
                    "ms",
                    "2.0.0",
                    "pkg:npm/ms@2.0.0",
                    &["app/node_modules/ms/package.json"],
                ),
                pkg(
                    PackageType::NodePkg,
                    "ms",
                    "2.0.0",
                    "pkg:npm/ms@2.0.0",
                    &["app/node_modules/send/node_modules/ms/package.json"],
                ),
                pkg(
                    PackageType::Jar,
                    "org.slf4j:slf4j-api",
                    "2.0.9",
                    "pkg:maven/org.slf4j/slf4j-api@2.0.9",
                    &["app/lib/slf4j-api-2.0.9.jar"],
                ),
            ],
            secrets: Vec::new(),
            notes: vec![Note {
                path: "usr/bin/broken".into(),
                analyzer: "gobinary".into(),
                kind: NoteKind::Invalid,
                message: "truncated build info".into(),
            }],
        }
    }

    fn render(format: Format, inventory: &Inventory) -> String {
        let doc = Document {
            inventory,
            artifact: "registry.test/app:1",
            tool_version: "0.1.0",
            created_unix: 1_700_000_000,
            serial: 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
            stats: None,
        };
        let mut out = Vec::new();
        write(format, &doc, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cyclonedx_components_refs_and_dependencies() {
        let inv = inventory();
        let bom: Value = serde_json::from_str(&render(Format::CycloneDx, &inv)).unwrap();
        assert_eq!(bom["specVersion"], "1.6");
        assert_eq!(bom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(bom["metadata"]["component"]["name"], "registry.test/app:1");
        let components = bom["components"].as_array().unwrap();
        assert_eq!(components[0]["type"], "operating-system");
        assert_eq!(components[0]["name"], "debian");
        let refs: Vec<&str> = components
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap())
            .collect();
        let unique: std::collections::BTreeSet<&&str> = refs.iter().collect();
        assert_eq!(unique.len(), refs.len(), "bom-refs are unique: {refs:?}");
        let jar = components
            .iter()
            .find(|c| c["purl"] == "pkg:maven/org.slf4j/slf4j-api@2.0.9")
            .unwrap();
        assert_eq!(jar["group"], "org.slf4j");
        assert_eq!(jar["name"], "slf4j-api");
        let zlib = components.iter().find(|c| c["name"] == "zlib1g").unwrap();
        assert_eq!(zlib["version"], "1:1.2.13.dfsg-1");
        let props: Vec<(&str, &str)> = zlib["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
            .collect();
        assert!(props.contains(&("aquasecurity:trivy:PkgType", "debian")));
        assert!(props.contains(&("aquasecurity:trivy:SrcName", "zlib")));
        assert!(props.contains(&("nyscan:location", "var/lib/dpkg/status")));
        // Every reference in the dependency graph names a component or the root.
        let root = bom["metadata"]["component"]["bom-ref"].as_str().unwrap();
        for dep in bom["dependencies"].as_array().unwrap() {
            for r in std::iter::once(&dep["ref"]).chain(dep["dependsOn"].as_array().unwrap()) {
                let r = r.as_str().unwrap();
                assert!(r == root || refs.contains(&r), "dangling {r}");
            }
        }
    }

    #[test]
    fn spdx_table_and_json() {
        let inv = inventory();
        let spdx: Value = serde_json::from_str(&render(Format::SpdxJson, &inv)).unwrap();
        assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
        let packages = spdx["packages"].as_array().unwrap();
        assert_eq!(packages.len(), 2 + inv.packages.len());
        let zlib = packages.iter().find(|p| p["name"] == "zlib1g").unwrap();
        // Free-text licenses are not SPDX expressions: kept as attribution text.
        assert_eq!(zlib["licenseDeclared"], "NOASSERTION");
        assert!(
            zlib["attributionTexts"]
                .as_array()
                .unwrap()
                .contains(&Value::from("License: GPL-2.0 or later"))
        );
        let ms = packages.iter().find(|p| p["name"] == "ms").unwrap();
        assert_eq!(ms["licenseDeclared"], "MIT");
        assert!(
            spdx["documentNamespace"]
                .as_str()
                .unwrap()
                .starts_with("https://nyscan.invalid/spdx/registry.test-app-1-")
        );

        let table = render(Format::Table, &inv);
        assert!(table.starts_with("registry.test/app:1 (debian 12.5)\npackages: 4\n"));
        assert!(table.contains("| debian "), "{table}");
        assert!(table.contains("usr/bin/broken"), "{table}");

        let json: Value = serde_json::from_str(&render(Format::Json, &inv)).unwrap();
        assert_eq!(json["packages"].as_array().unwrap().len(), 4);
        assert_eq!(json["notes"][0]["kind"], "invalid");
        assert!(json.get("stats").is_none());
    }
}
