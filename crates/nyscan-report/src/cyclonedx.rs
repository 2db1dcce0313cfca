//! CycloneDX 1.6 JSON: the image as the root component, the OS as an `operating-system`
//! component, every package a `library` with its purl, licenses, Trivy's properties
//! (`aquasecurity:trivy:PkgType`, `SrcName`, `SrcVersion`, `FilePath`) and one
//! `nyscan:location` property per place it was found.

use std::collections::HashSet;

use serde::Serialize;

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
    };
    serde_json::to_writer_pretty(&mut *out, &bom)?;
    writeln!(out)?;
    Ok(())
}
