//! Scan reports over one sample scan: filters, targets, Trivy's JSON field names, SARIF
//! against the 2.1.0 schema, CycloneDX vulnerabilities, the table.

use std::collections::BTreeSet;

use nyscan_analyze::package::{OsInfo, Package, PackageType, SourcePackage};
use nyscan_analyze::planner::Inventory;
use nyscan_analyze::secret::SecretFinding;
use nyscan_secrets::Misconfiguration;
use nyscan_vuln::finding::DataSource;
use nyscan_vuln::severity::score_vector;
use nyscan_vuln::{Finding, Severity, Status};
use serde_json::Value;

use crate::results::{Class, targets};
use crate::*;

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
    zlib.arch = Some("amd64".into());
    zlib.source = Some(SourcePackage {
        name: "zlib".into(),
        version: "1:1.2.13.dfsg-1".into(),
    });
    Inventory {
        os: Some(OsInfo {
            family: "debian".into(),
            name: "12.5".into(),
        }),
        packages: vec![
            zlib,
            pkg(
                PackageType::PythonPkg,
                "requests",
                "2.31.0",
                "pkg:pypi/requests@2.31.0",
                &["usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"],
            ),
            pkg(
                PackageType::NodePkg,
                "lodash",
                "4.17.20",
                "pkg:npm/lodash@4.17.20",
                &["app/node_modules/lodash/package.json"],
            ),
            pkg(
                PackageType::Gobinary,
                "golang.org/x/net",
                "v0.1.0",
                "pkg:golang/golang.org/x/net@v0.1.0",
                &["usr/local/bin/app", "usr/local/bin/tool"],
            ),
        ],
        secrets: Vec::new(),
        notes: Vec::new(),
    }
}

fn vuln(
    package: &Package,
    id: &str,
    severity: Severity,
    fixed: Option<&str>,
    vector: Option<&str>,
) -> Finding {
    let cvss: Vec<_> = vector
        .map(|v| score_vector(v).unwrap())
        .into_iter()
        .collect();
    Finding {
        id: id.into(),
        aliases: vec![format!("CVE-{}", &id[id.len() - 4..])],
        package: package.clone(),
        ecosystem: "Debian:12".into(),
        matched_name: package.name.clone(),
        installed_version: package.version.clone(),
        fixed_version: fixed.map(str::to_owned),
        status: if fixed.is_some() {
            Status::Fixed
        } else {
            Status::Affected
        },
        severity,
        severity_source: if cvss.is_empty() {
            "debian".into()
        } else {
            "cvss_v3".into()
        },
        score: cvss.first().map(|c| c.score),
        vendor_rating: cvss.is_empty().then(|| "low".to_owned()),
        cvss,
        title: Some(format!("{id} in {}", package.name)),
        description: Some("A flaw.\nMore text.".into()),
        references: vec![format!("https://example.test/{id}")],
        published: Some("2024-01-02T03:04:05Z".into()),
        modified: Some("2024-02-03T04:05:06Z".into()),
        data_source: DataSource {
            id: "osv".into(),
            name: "OSV Debian".into(),
            url: format!("https://osv.dev/vulnerability/{id}"),
        },
    }
}

fn secret(path: &str, line: u64, rule: &str, severity: nyscan_secrets::Severity) -> SecretFinding {
    SecretFinding {
        path: path.into(),
        start_line: line,
        end_line: line,
        rule_id: rule.into(),
        category: "AWS".into(),
        severity,
        title: "AWS Access Key ID".into(),
        offset: 10,
        masked: "AKIA****************".into(),
        context: "KEY=AKIA****************".into(),
    }
}

fn findings(inv: &Inventory) -> ScanFindings {
    let p = &inv.packages;
    ScanFindings {
        vulnerabilities: vec![
            vuln(
                &p[0],
                "DSA-0001-1",
                Severity::High,
                Some("1:1.2.13.dfsg-1+deb12u1"),
                Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            ),
            vuln(&p[0], "DEBIAN-0002", Severity::Low, None, None),
            vuln(
                &p[1],
                "PYSEC-0003",
                Severity::Medium,
                Some("2.32.0"),
                Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N"),
            ),
            vuln(&p[3], "GO-0004", Severity::Critical, Some("v0.7.0"), None),
        ],
        secrets: vec![
            secret(
                "app/.env",
                2,
                "aws-access-key-id",
                nyscan_secrets::Severity::Critical,
            ),
            secret(
                "config.json#/config/Env/1",
                1,
                "aws-access-key-id",
                nyscan_secrets::Severity::Critical,
            ),
            secret(
                "app/notes.txt",
                7,
                "jwt-token",
                nyscan_secrets::Severity::Medium,
            ),
        ],
        misconfigurations: vec![
            Misconfiguration {
                id: "DS002",
                avd_id: "AVD-DS-0002",
                severity: nyscan_secrets::Severity::High,
                title: "Image user should not be 'root'",
                message: "No USER is set: the container runs as root".into(),
                resolution: "Add a USER instruction with a non-root user.",
                cause: None,
            },
            Misconfiguration {
                id: "DS026",
                avd_id: "AVD-DS-0026",
                severity: nyscan_secrets::Severity::Low,
                title: "No HEALTHCHECK defined",
                message: "The image defines no HEALTHCHECK".into(),
                resolution: "Add a HEALTHCHECK instruction.",
                cause: None,
            },
        ],
        passed_checks: vec!["DS004", "DS031"],
    }
}

const ALL: Scanners = Scanners {
    vuln: true,
    secret: true,
    config: true,
};

fn image() -> ImageInfo {
    ImageInfo {
        config: Some(serde_json::json!({"architecture": "amd64", "config": {"Env": ["A=b"]}})),
        image_id: Some(format!("sha256:{}", "ab".repeat(32))),
        diff_ids: vec![format!("sha256:{}", "cd".repeat(32))],
        repo_digests: vec![format!("registry.test/app@sha256:{}", "ef".repeat(32))],
        repo_tags: vec!["registry.test/app:1".into()],
    }
}

fn render(format: ScanFormat, inv: &Inventory, found: &ScanFindings, checked: bool) -> String {
    let image = image();
    let report = ScanReport {
        artifact: "registry.test/app:1",
        tool_version: "0.1.0",
        created_unix: 1_700_000_000,
        serial: 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        inventory: inv,
        findings: found,
        image: &image,
        scanners: ALL,
        vulnerabilities_checked: checked,
    };
    let mut out = Vec::new();
    write_scan(format, &report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn filters_by_severity_fix_and_ignore_file() {
    let inv = inventory();
    let all = findings(&inv);
    let mut found = all.clone();
    let counts = Filter {
        severities: vec![Severity::High, Severity::Critical],
        ..Filter::default()
    }
    .apply(&mut found);
    let ids: Vec<&str> = found
        .vulnerabilities
        .iter()
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(ids, ["DSA-0001-1", "GO-0004"]);
    assert_eq!(found.secrets.len(), 2, "the medium JWT is dropped");
    assert_eq!(found.misconfigurations.len(), 1, "the low DS026 is dropped");
    assert_eq!(counts.by_severity, 4);

    let mut found = all.clone();
    let counts = Filter {
        ignore_unfixed: true,
        ..Filter::default()
    }
    .apply(&mut found);
    assert_eq!(counts.unfixed, 1);
    assert!(
        found
            .vulnerabilities
            .iter()
            .all(|v| v.status == Status::Fixed)
    );
    assert_eq!(found.secrets.len(), 3, "secrets have no fix status");

    // Ids, aliases, rule ids and check ids (plain or AVD); an expired entry no longer counts.
    let ignore = IgnoreList::parse(
        "DSA-0001-1\nCVE-0003 # by alias\naws-access-key-id\nAVD-DS-0026\nGO-0004 exp:2020-01-01\n",
    )
    .unwrap();
    let mut found = all.clone();
    let counts = Filter {
        ignore,
        now_unix: 1_700_000_000,
        ..Filter::default()
    }
    .apply(&mut found);
    let ids: Vec<&str> = found
        .vulnerabilities
        .iter()
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(ids, ["DEBIAN-0002", "GO-0004"]);
    assert_eq!(found.secrets.len(), 1);
    assert_eq!(found.misconfigurations.len(), 1);
    assert_eq!(counts.ignored, 5);
    assert_eq!(counts.total(), 5);
    assert!(!found.is_empty());
    assert!(ScanFindings::default().is_empty());
}

#[test]
fn targets_follow_trivy() {
    let inv = inventory();
    let found = findings(&inv);
    let image = image();
    let report = ScanReport {
        artifact: "registry.test/app:1",
        tool_version: "0.1.0",
        created_unix: 0,
        serial: 0,
        inventory: &inv,
        findings: &found,
        image: &image,
        scanners: ALL,
        vulnerabilities_checked: true,
    };
    let t = targets(&report);
    let names: Vec<(&str, Class, &str)> = t
        .iter()
        .map(|t| (t.name.as_str(), t.class, t.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("registry.test/app:1 (debian 12.5)", Class::OsPkgs, "debian"),
            ("Node.js", Class::LangPkgs, "node-pkg"),
            ("Python", Class::LangPkgs, "python-pkg"),
            ("usr/local/bin/app", Class::LangPkgs, "gobinary"),
            ("usr/local/bin/tool", Class::LangPkgs, "gobinary"),
            ("Dockerfile", Class::Config, "dockerfile"),
            ("app/.env", Class::Secret, ""),
            ("app/notes.txt", Class::Secret, ""),
            ("config.json", Class::Secret, ""),
        ]
    );
    assert_eq!(t[0].vulnerabilities.len(), 2);
    assert_eq!(
        t[2].vulnerabilities[0].1,
        Some(inv.packages[1].locations[0].as_str())
    );
    // A package in two binaries: its vulnerability is reported in each.
    assert_eq!(t[3].vulnerabilities[0].1, Some("usr/local/bin/app"));
    assert_eq!(t[4].vulnerabilities[0].1, Some("usr/local/bin/tool"));
    assert_eq!((t[5].misconfigurations.len(), t[5].passed_checks), (2, 2));
}

/// Every key of `value`, as `Parent.Key` paths (array items under their parent's name).
/// The image's own config under `ImageConfig` and the source-keyed maps `VendorSeverity`
/// and `CVSS` (whose values are checked as `CVSS.*`) are not Trivy's field names.
pub(crate) fn key_paths(value: &Value, parent: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(if parent.is_empty() {
                    k.clone()
                } else {
                    format!("{parent}.{k}")
                });
                match (k.as_str(), v) {
                    ("ImageConfig" | "VendorSeverity", _) => {}
                    ("CVSS", Value::Object(sources)) => {
                        for scores in sources.values() {
                            key_paths(scores, "CVSS", out);
                        }
                    }
                    _ => key_paths(v, k, out),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, parent, out);
            }
        }
        _ => {}
    }
}

#[test]
fn trivy_json_uses_trivys_schema() {
    let inv = inventory();
    let found = findings(&inv);
    let json: Value = serde_json::from_str(&render(ScanFormat::Json, &inv, &found, true)).unwrap();
    assert_eq!(json["SchemaVersion"], 2);
    assert_eq!(json["ArtifactType"], "container_image");
    assert_eq!(json["ArtifactName"], "registry.test/app:1");
    assert_eq!(json["CreatedAt"], "2023-11-14T22:13:20Z");
    assert_eq!(json["Metadata"]["OS"]["Family"], "debian");
    assert_eq!(json["Metadata"]["ImageConfig"]["architecture"], "amd64");
    let results = json["Results"].as_array().unwrap();
    let os = &results[0];
    assert_eq!(os["Class"], "os-pkgs");
    assert_eq!(os["Type"], "debian");
    let zlib = &os["Packages"][0];
    assert_eq!(
        (
            &zlib["ID"],
            &zlib["Version"],
            &zlib["Release"],
            &zlib["Epoch"]
        ),
        (
            &Value::from("zlib1g@1:1.2.13.dfsg-1"),
            &Value::from("1.2.13.dfsg"),
            &Value::from("1"),
            &Value::from(1)
        )
    );
    assert_eq!(zlib["SrcName"], "zlib");
    assert_eq!(zlib["SrcEpoch"], 1);
    let v = &os["Vulnerabilities"][0];
    assert_eq!(v["VulnerabilityID"], "DSA-0001-1");
    assert_eq!(v["VendorIDs"][0], "CVE-01-1");
    assert_eq!(v["PkgName"], "zlib1g");
    assert_eq!(v["InstalledVersion"], "1:1.2.13.dfsg-1");
    assert_eq!(v["FixedVersion"], "1:1.2.13.dfsg-1+deb12u1");
    assert_eq!(v["Status"], "fixed");
    assert_eq!(v["Severity"], "HIGH");
    assert_eq!(v["CVSS"]["osv"]["V3Score"], 7.5);
    assert!(v.get("PkgPath").is_none(), "OS packages have no path");
    let unfixed = &os["Vulnerabilities"][1];
    assert_eq!(unfixed["Status"], "affected");
    assert_eq!(unfixed["VendorSeverity"]["debian"], 1);
    let python = results.iter().find(|r| r["Target"] == "Python").unwrap();
    assert_eq!(
        python["Vulnerabilities"][0]["PkgPath"],
        inv.packages[1].locations[0]
    );
    let secret = results.iter().find(|r| r["Target"] == "app/.env").unwrap();
    assert_eq!(secret["Class"], "secret");
    assert!(secret.get("Type").is_none());
    assert_eq!(secret["Secrets"][0]["RuleID"], "aws-access-key-id");
    assert_eq!(secret["Secrets"][0]["Match"], "KEY=AKIA****************");
    let config = results
        .iter()
        .find(|r| r["Target"] == "Dockerfile")
        .unwrap();
    assert_eq!(config["MisconfSummary"]["Failures"], 2);
    assert_eq!(config["MisconfSummary"]["Successes"], 2);
    assert_eq!(config["Misconfigurations"][0]["AVDID"], "AVD-DS-0002");
    assert_eq!(config["Misconfigurations"][0]["Status"], "FAIL");

    // Every name is one of Trivy's (pkg/types/report.go and the types it embeds, as listed
    // in the shared scanner reference).
    let mut keys = BTreeSet::new();
    key_paths(&json, "", &mut keys);
    let known = trivy_fields();
    let unknown: Vec<&String> = keys
        .iter()
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    assert!(unknown.is_empty(), "not Trivy's field names: {unknown:?}");
}

/// Trivy's JSON field names as `Parent.Field` (see the header of the file).
pub(crate) fn trivy_fields() -> BTreeSet<&'static str> {
    include_str!("../tests/data/trivy-fields.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

fn schema_validator() -> jsonschema::Validator {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let validator = schema_validator();
    let inv = inventory();
    let found = findings(&inv);
    let sarif: Value =
        serde_json::from_str(&render(ScanFormat::Sarif, &inv, &found, true)).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    // 4 vulnerabilities (one package in two binaries: 5 results), 3 secrets, 2 checks.
    assert_eq!(results.len(), 5 + 3 + 2);
    for r in results {
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
    }
    let env = results
        .iter()
        .find(|r| r["ruleId"] == "aws-access-key-id")
        .unwrap();
    assert_eq!(
        env["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/.env"
    );
    assert_eq!(
        env["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    let high = rules.iter().find(|r| r["id"] == "DSA-0001-1").unwrap();
    assert_eq!(high["properties"]["security-severity"], "7.5");
    assert_eq!(high["defaultConfiguration"]["level"], "error");

    // The schema is strict enough to catch a broken document.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&broken));
    // Odd paths are percent-encoded into valid URI references.
    let mut odd = findings(&inv);
    odd.secrets[0].path = "app/my secrets/ü.env".into();
    let sarif: Value = serde_json::from_str(&render(ScanFormat::Sarif, &inv, &odd, true)).unwrap();
    assert!(validator.is_valid(&sarif));
    assert!(sarif.to_string().contains("app/my%20secrets/%C3%BC.env"));
}

#[test]
fn cyclonedx_vulnerabilities_affect_components() {
    let inv = inventory();
    let found = findings(&inv);
    let bom: Value =
        serde_json::from_str(&render(ScanFormat::CycloneDx, &inv, &found, true)).unwrap();
    assert_eq!(bom["specVersion"], "1.6");
    let refs: BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 4);
    for v in vulns {
        let affected = v["affects"][0]["ref"].as_str().unwrap();
        assert!(refs.contains(affected), "{affected} is not a component");
    }
    let dsa = &vulns[0];
    assert_eq!(dsa["id"], "DSA-0001-1");
    assert_eq!(dsa["ratings"][0]["method"], "CVSSv31");
    assert_eq!(dsa["ratings"][0]["severity"], "high");
    assert_eq!(dsa["references"][0]["id"], "CVE-01-1");
    assert_eq!(
        dsa["recommendation"],
        "Upgrade zlib1g to version 1:1.2.13.dfsg-1+deb12u1"
    );
    let unfixed = &vulns[1];
    assert_eq!(unfixed["ratings"][0]["method"], "other");
    assert_eq!(unfixed["ratings"][0]["severity"], "low");
    assert!(unfixed.get("recommendation").is_none());
}

#[test]
fn table_by_target() {
    let inv = inventory();
    let found = findings(&inv);
    let text = render(ScanFormat::Table, &inv, &found, true);
    assert!(text.starts_with(
        "registry.test/app:1: 4 packages, 4 vulnerabilities, 3 secrets, 2 failed checks\n"
    ));
    assert!(text.contains(
        "\nregistry.test/app:1 (debian 12.5)\n=================================\nTotal: 2 (UNKNOWN: 0, LOW: 1, MEDIUM: 0, HIGH: 1, CRITICAL: 0)\n"
    ), "{text}");
    assert!(text.contains("\nPython (python-pkg)\n"), "{text}");
    assert!(text.contains("\nusr/local/bin/app (gobinary)\n"), "{text}");
    assert!(text.contains("\napp/.env (secrets)\n"), "{text}");
    assert!(
        text.contains("Tests: 4 (SUCCESSES: 2, FAILURES: 2)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("DSA-0001-1") && l.contains("HIGH") && l.contains("fixed")),
        "{text}"
    );
    // Without a database: packages, no vulnerability columns.
    let none = ScanFindings::default();
    let text = render(ScanFormat::Table, &inv, &none, false);
    assert!(
        text.contains("Packages: 1 (vulnerabilities not checked)"),
        "{text}"
    );
    assert!(!text.contains("Vulnerability"), "{text}");
}
