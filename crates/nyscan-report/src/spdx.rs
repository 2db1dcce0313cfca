//! SPDX 2.3 JSON: the image as the described package, the OS and every package as SPDX
//! packages with their purl as a `PACKAGE-MANAGER` external reference, Trivy's facts and the
//! locations as attribution texts, and `CONTAINS` relationships.

use serde::Serialize;

use crate::trivy::pkg_type;
use crate::{Document, Error, ids, time};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxDocument<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: &'a str,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage<'a>>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo {
    creators: Vec<String>,
    created: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage<'a> {
    name: &'a str,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    download_location: &'static str,
    files_analyzed: bool,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attribution_texts: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

/// A declared license as an SPDX expression when every license is a plain SPDX-style
/// identifier (`MIT`, `Apache-2.0`, `GPL-2.0+`), else `NOASSERTION` (the text stays in an
/// attribution).
fn declared(licenses: &[String]) -> String {
    let plain = |l: &str| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
    };
    if !licenses.is_empty() && licenses.iter().all(|l| plain(l)) {
        licenses.join(" AND ")
    } else {
        "NOASSERTION".to_owned()
    }
}

fn relationship(from: &str, kind: &'static str, to: &str) -> Relationship {
    Relationship {
        spdx_element_id: from.to_owned(),
        relationship_type: kind,
        related_spdx_element: to.to_owned(),
    }
}

/// Writes `doc` as SPDX 2.3 JSON.
pub fn write(doc: &Document<'_>, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let inventory = doc.inventory;
    let os = inventory.os.as_ref();
    let image_id = "SPDXRef-Image".to_owned();
    let mut packages = vec![SpdxPackage {
        name: doc.artifact,
        spdx_id: image_id.clone(),
        version_info: None,
        download_location: "NONE",
        files_analyzed: false,
        license_concluded: "NOASSERTION",
        license_declared: "NOASSERTION".into(),
        copyright_text: "NOASSERTION",
        source_info: None,
        primary_package_purpose: Some("CONTAINER"),
        external_refs: Vec::new(),
        attribution_texts: Vec::new(),
    }];
    let mut relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", &image_id)];
    let os_id = os.map(|os| {
        let id = ids::spdx_id(&format!("OperatingSystem-{}", os.family));
        packages.push(SpdxPackage {
            name: &os.family,
            spdx_id: id.clone(),
            version_info: Some(&os.name),
            download_location: "NONE",
            files_analyzed: false,
            license_concluded: "NOASSERTION",
            license_declared: "NOASSERTION".into(),
            copyright_text: "NOASSERTION",
            source_info: None,
            primary_package_purpose: Some("OPERATING-SYSTEM"),
            external_refs: Vec::new(),
            attribution_texts: Vec::new(),
        });
        relationships.push(relationship(&image_id, "CONTAINS", &id));
        id
    });
    for (n, pkg) in inventory.packages.iter().enumerate() {
        let id = ids::spdx_id(&format!("Package-{n}-{}", pkg.name));
        let mut attribution = vec![format!("PkgType: {}", pkg_type(pkg, os))];
        attribution.extend(pkg.locations.iter().map(|l| format!("Location: {l}")));
        let license_declared = declared(&pkg.licenses);
        if license_declared == "NOASSERTION" && !pkg.licenses.is_empty() {
            attribution.push(format!("License: {}", pkg.licenses.join(", ")));
        }
        packages.push(SpdxPackage {
            name: &pkg.name,
            spdx_id: id.clone(),
            version_info: Some(&pkg.version),
            download_location: "NONE",
            files_analyzed: false,
            license_concluded: "NOASSERTION",
            license_declared,
            copyright_text: "NOASSERTION",
            source_info: pkg
                .source
                .as_ref()
                .map(|s| format!("built package from: {} {}", s.name, s.version)),
            primary_package_purpose: Some("LIBRARY"),
            external_refs: (!pkg.purl.is_empty())
                .then(|| ExternalRef {
                    reference_category: "PACKAGE-MANAGER",
                    reference_type: "purl",
                    reference_locator: &pkg.purl,
                })
                .into_iter()
                .collect(),
            attribution_texts: attribution,
        });
        let parent = match &os_id {
            Some(os_id) if pkg.kind.is_os() => os_id,
            _ => &image_id,
        };
        relationships.push(relationship(parent, "CONTAINS", &id));
    }
    let document = SpdxDocument {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: doc.artifact,
        document_namespace: format!(
            "https://nyscan.invalid/spdx/{}-{}",
            crate::trivy::namespace_name(doc.artifact),
            ids::uuid_v4(doc.serial)
        ),
        creation_info: CreationInfo {
            creators: vec![format!("Tool: nyscan-{}", doc.tool_version)],
            created: time::rfc3339(doc.created_unix),
        },
        packages,
        relationships,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_licenses() {
        assert_eq!(declared(&["MIT".into()]), "MIT");
        assert_eq!(
            declared(&["MIT".into(), "Apache-2.0".into()]),
            "MIT AND Apache-2.0"
        );
        assert_eq!(declared(&["BSD License".into()]), "NOASSERTION");
        assert_eq!(declared(&[]), "NOASSERTION");
    }
}
