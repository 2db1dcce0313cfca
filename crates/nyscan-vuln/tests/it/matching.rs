//! Matching packages against OSV records written for these tests (ids `NYTEST-*`), one
//! record per case: every range form, source-vs-binary names, epochs, withdrawn records,
//! unfixed vulnerabilities, releases, name spelling, severity.

use nyscan_analyze::package::{OsInfo, Package, PackageType, SourcePackage};
use nyscan_vuln::finding::match_package;
use nyscan_vuln::matching::{NoTarget, target};
use nyscan_vuln::osv::OsvRecord;
use nyscan_vuln::{Finding, Severity, Status};
use serde_json::{Value, json};

pub(crate) fn record(v: Value) -> OsvRecord {
    serde_json::from_value(v).expect("test record")
}

pub(crate) fn package(
    kind: PackageType,
    name: &str,
    version: &str,
    source: Option<(&str, &str)>,
) -> Package {
    Package {
        kind,
        name: name.to_owned(),
        version: version.to_owned(),
        arch: None,
        source: source.map(|(n, v)| SourcePackage {
            name: n.to_owned(),
            version: v.to_owned(),
        }),
        licenses: Vec::new(),
        purl: String::new(),
        locations: Vec::new(),
    }
}

pub(crate) fn os(family: &str, name: &str) -> OsInfo {
    OsInfo {
        family: family.to_owned(),
        name: name.to_owned(),
    }
}

fn affected(ecosystem: &str, name: &str, ranges: Value) -> Value {
    json!({"package": {"ecosystem": ecosystem, "name": name}, "ranges": ranges})
}

fn eco_range(events: Value) -> Value {
    json!([{"type": "ECOSYSTEM", "events": events}])
}

/// Findings for one package against some records.
fn findings(pkg: &Package, os_info: Option<&OsInfo>, records: &[OsvRecord]) -> Vec<Finding> {
    let t = target(pkg, os_info).expect("package has a target");
    let (found, errors) = match_package(pkg, &t, records);
    assert!(errors.is_empty(), "{errors:?}");
    found
}

fn pypi(version: &str) -> Package {
    package(PackageType::PythonPkg, "Demo_Pkg", version, None)
}

#[test]
fn introduced_and_fixed() {
    let r = record(
        json!({"id": "NYTEST-1", "affected": [affected("PyPI", "demo-pkg",
        eco_range(json!([{"introduced": "1.0"}, {"fixed": "1.4.2"}])))]}),
    );
    for (v, hit) in [
        ("0.9", false),
        ("1.0", true),
        ("1.4.1", true),
        ("1.4.2rc1", true),
        ("1.4.2", false),
        ("2.0", false),
    ] {
        let f = findings(&pypi(v), None, std::slice::from_ref(&r));
        assert_eq!(f.len(), usize::from(hit), "{v}");
        if hit {
            assert_eq!(f[0].fixed_version.as_deref(), Some("1.4.2"));
            assert_eq!(f[0].status, Status::Fixed);
        }
    }
}

#[test]
fn several_intervals_report_the_fix_of_their_own_interval() {
    let r = record(
        json!({"id": "NYTEST-2", "affected": [affected("PyPI", "demo-pkg",
        eco_range(json!([{"introduced": "0"}, {"fixed": "1.2.5"}, {"introduced": "2.0"}, {"fixed": "2.1.1"}])))]}),
    );
    let case = |v: &str| {
        findings(&pypi(v), None, std::slice::from_ref(&r))
            .first()
            .map(|f| f.fixed_version.clone())
    };
    assert_eq!(case("0.1"), Some(Some("1.2.5".to_owned())));
    assert_eq!(case("1.3"), None);
    assert_eq!(case("2.0.5"), Some(Some("2.1.1".to_owned())));
    assert_eq!(case("2.1.1"), None);
}

#[test]
fn events_are_sorted_by_version_not_by_position() {
    let r = record(
        json!({"id": "NYTEST-3", "affected": [affected("PyPI", "demo-pkg",
        eco_range(json!([{"fixed": "2.1.1"}, {"introduced": "2.0"}, {"fixed": "1.2.5"}, {"introduced": "0"}])))]}),
    );
    assert_eq!(
        findings(&pypi("2.0.5"), None, std::slice::from_ref(&r))[0]
            .fixed_version
            .as_deref(),
        Some("2.1.1")
    );
    assert!(findings(&pypi("1.5"), None, std::slice::from_ref(&r)).is_empty());
}

#[test]
fn last_affected_has_no_fix() {
    let r = record(
        json!({"id": "NYTEST-4", "affected": [affected("PyPI", "demo-pkg",
        eco_range(json!([{"introduced": "1.0"}, {"last_affected": "1.5"}])))]}),
    );
    let f = findings(&pypi("1.5"), None, std::slice::from_ref(&r));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].fixed_version, None);
    assert_eq!(f[0].status, Status::Affected);
    assert!(findings(&pypi("1.5.1"), None, std::slice::from_ref(&r)).is_empty());
    assert!(findings(&pypi("0.9"), None, std::slice::from_ref(&r)).is_empty());
}

#[test]
fn limit_bounds_the_range() {
    let r = record(
        json!({"id": "NYTEST-5", "affected": [affected("PyPI", "demo-pkg",
        eco_range(json!([{"introduced": "0"}, {"limit": "3.0"}])))]}),
    );
    assert_eq!(
        findings(&pypi("2.9"), None, std::slice::from_ref(&r)).len(),
        1
    );
    assert!(findings(&pypi("3.0"), None, std::slice::from_ref(&r)).is_empty());
    let star = record(
        json!({"id": "NYTEST-5b", "affected": [affected("PyPI", "demo-pkg",
        eco_range(json!([{"introduced": "1.0"}, {"limit": "*"}])))]}),
    );
    assert_eq!(
        findings(&pypi("99"), None, std::slice::from_ref(&star)).len(),
        1
    );
}

#[test]
fn explicit_versions_list() {
    let r = record(
        json!({"id": "NYTEST-6", "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-pkg"},
        "versions": ["1.1", "1.3"]}]}),
    );
    assert_eq!(
        findings(&pypi("1.3"), None, std::slice::from_ref(&r)).len(),
        1
    );
    // PEP 440 equality: 1.3.0 is 1.3.
    assert_eq!(
        findings(&pypi("1.3.0"), None, std::slice::from_ref(&r)).len(),
        1
    );
    assert!(findings(&pypi("1.2"), None, std::slice::from_ref(&r)).is_empty());
}

#[test]
fn semver_ranges_and_git_ranges() {
    let r = record(
        json!({"id": "NYTEST-7", "affected": [{"package": {"ecosystem": "crates.io", "name": "demo"},
        "ranges": [
            {"type": "GIT", "repo": "https://example.invalid/demo.git", "events": [{"introduced": "abc123"}]},
            {"type": "SEMVER", "events": [{"introduced": "0.3.0"}, {"fixed": "0.3.7"}]}
        ]}]}),
    );
    let pkg = |v: &str| package(PackageType::Cargo, "demo", v, None);
    assert_eq!(
        findings(&pkg("0.3.6"), None, std::slice::from_ref(&r))[0]
            .fixed_version
            .as_deref(),
        Some("0.3.7")
    );
    assert!(findings(&pkg("0.3.7"), None, std::slice::from_ref(&r)).is_empty());
    assert!(findings(&pkg("0.2.9"), None, std::slice::from_ref(&r)).is_empty());
}

#[test]
fn debian_records_name_the_source_package_and_its_version() {
    let r = record(
        json!({"id": "NYTEST-8", "aliases": ["CVE-2099-0001"], "affected": [
        affected("Debian:12", "openssl", eco_range(json!([{"introduced": "0"}, {"fixed": "3.0.15-1~deb12u1"}])))]}),
    );
    let bookworm = os("debian", "12.5");
    // The binary package libssl3 (source openssl) is affected through its source.
    let bin = package(
        PackageType::Dpkg,
        "libssl3",
        "3.0.14-1~deb12u2",
        Some(("openssl", "3.0.14-1~deb12u2")),
    );
    let f = findings(&bin, Some(&bookworm), std::slice::from_ref(&r));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].matched_name, "openssl");
    assert_eq!(f[0].ecosystem, "Debian:12");
    assert_eq!(f[0].aliases, ["CVE-2099-0001"]);
    assert_eq!(f[0].fixed_version.as_deref(), Some("3.0.15-1~deb12u1"));
    // A record naming the binary package does not match.
    let by_binary = record(json!({"id": "NYTEST-8b", "affected": [
        affected("Debian:12", "libssl3", eco_range(json!([{"introduced": "0"}])))]}));
    assert!(findings(&bin, Some(&bookworm), std::slice::from_ref(&by_binary)).is_empty());
    // The source version counts, not a binNMU's binary version.
    let binnmu = package(
        PackageType::Dpkg,
        "libfoo1",
        "1.0-1+b1",
        Some(("foo", "1.0-1")),
    );
    let foo = record(json!({"id": "NYTEST-8c", "affected": [
        affected("Debian:12", "foo", eco_range(json!([{"introduced": "0"}, {"fixed": "1.0-1+b1"}])))]}));
    assert_eq!(
        findings(&binnmu, Some(&bookworm), std::slice::from_ref(&foo)).len(),
        1
    );
}

#[test]
fn the_release_must_match_when_both_name_one() {
    let pkg = package(
        PackageType::Dpkg,
        "bash",
        "5.2.15-2",
        Some(("bash", "5.2.15-2")),
    );
    let bookworm = os("debian", "12.5");
    let rec = |id: &str, eco: &str| {
        record(json!({"id": id, "affected": [
        affected(eco, "bash", eco_range(json!([{"introduced": "0"}, {"fixed": "5.2.15-3"}])))]}))
    };
    assert_eq!(
        findings(&pkg, Some(&bookworm), &[rec("NYTEST-9", "Debian:12")]).len(),
        1
    );
    assert!(findings(&pkg, Some(&bookworm), &[rec("NYTEST-9b", "Debian:11")]).is_empty());
    assert_eq!(
        findings(&pkg, Some(&bookworm), &[rec("NYTEST-9c", "Debian")]).len(),
        1
    );
    assert!(
        findings(
            &pkg,
            Some(&bookworm),
            &[rec("NYTEST-9d", "Ubuntu:22.04:LTS")]
        )
        .is_empty()
    );
    let jammy = os("ubuntu", "22.04");
    assert_eq!(
        findings(&pkg, Some(&jammy), &[rec("NYTEST-9e", "Ubuntu:22.04:LTS")]).len(),
        1
    );
    assert!(
        findings(
            &pkg,
            Some(&jammy),
            &[rec("NYTEST-9f", "Ubuntu:Pro:22.04:LTS")]
        )
        .is_empty()
    );
}

#[test]
fn epochs_order_dpkg_versions() {
    let r = record(json!({"id": "NYTEST-10", "affected": [
        affected("Debian:12", "demo", eco_range(json!([{"introduced": "0"}, {"fixed": "1:2.0-1"}])))]}));
    let bookworm = os("debian", "12");
    let pkg = |v: &str| package(PackageType::Dpkg, "demo", v, None);
    // Without an epoch, 9.0 is older than 1:2.0.
    assert_eq!(
        findings(&pkg("9.0-1"), Some(&bookworm), std::slice::from_ref(&r)).len(),
        1
    );
    assert!(findings(&pkg("1:2.0-1"), Some(&bookworm), std::slice::from_ref(&r)).is_empty());
    assert_eq!(
        findings(&pkg("1:1.9-5"), Some(&bookworm), std::slice::from_ref(&r)).len(),
        1
    );
    // rpm epochs, in a Rocky Linux record (source package names).
    let rocky = os("rocky", "9.3");
    let rr = record(json!({"id": "NYTEST-10b", "affected": [
        affected("Rocky Linux:9", "openssl", eco_range(json!([{"introduced": "0"}, {"fixed": "1:3.0.7-27.el9"}])))]}));
    let rpm = |v: &str| {
        package(
            PackageType::Rpm,
            "openssl-libs",
            v,
            Some(("openssl", "3.0.7-25.el9_3")),
        )
    };
    assert_eq!(
        findings(
            &rpm("1:3.0.7-25.el9_3"),
            Some(&rocky),
            std::slice::from_ref(&rr)
        )
        .len(),
        1
    );
    assert!(
        findings(
            &rpm("1:3.0.7-27.el9"),
            Some(&rocky),
            std::slice::from_ref(&rr)
        )
        .is_empty()
    );
}

#[test]
fn alpine_records_name_the_origin_and_the_branch() {
    let r = record(json!({"id": "NYTEST-11", "affected": [
        affected("Alpine:v3.19", "openssl", eco_range(json!([{"introduced": "0"}, {"fixed": "3.1.4-r5"}])))]}));
    let pkg = package(
        PackageType::Apk,
        "libcrypto3",
        "3.1.4-r1",
        Some(("openssl", "3.1.4-r1")),
    );
    let f = findings(
        &pkg,
        Some(&os("alpine", "3.19.1")),
        std::slice::from_ref(&r),
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].ecosystem, "Alpine:v3.19");
    assert!(
        findings(
            &pkg,
            Some(&os("alpine", "3.20.0")),
            std::slice::from_ref(&r)
        )
        .is_empty()
    );
}

#[test]
fn withdrawn_records_never_match() {
    let r = record(
        json!({"id": "NYTEST-12", "withdrawn": "2024-01-01T00:00:00Z", "affected": [
        affected("PyPI", "demo-pkg", eco_range(json!([{"introduced": "0"}])))]}),
    );
    assert!(findings(&pypi("1.0"), None, std::slice::from_ref(&r)).is_empty());
}

#[test]
fn unfixed_vulnerabilities_are_reported_without_a_fix() {
    let r = record(json!({"id": "NYTEST-13", "affected": [
        affected("Debian:12", "demo", eco_range(json!([{"introduced": "0"}])))]}));
    let f = findings(
        &package(PackageType::Dpkg, "demo", "1.0-1", None),
        Some(&os("debian", "12")),
        std::slice::from_ref(&r),
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].status, Status::Affected);
    assert_eq!(f[0].fixed_version, None);
}

#[test]
fn names_are_compared_as_each_ecosystem_spells_them() {
    let r = record(json!({"id": "NYTEST-14", "affected": [
        affected("PyPI", "Demo.PKG", eco_range(json!([{"introduced": "0"}])))]}));
    assert_eq!(
        findings(&pypi("1.0"), None, std::slice::from_ref(&r)).len(),
        1
    );
    let go = record(json!({"id": "NYTEST-14b", "affected": [
        affected("Go", "stdlib", json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.22.4"}]}]))]}));
    let toolchain = package(PackageType::Gobinary, "stdlib", "go1.22.3", None);
    assert_eq!(
        findings(&toolchain, None, std::slice::from_ref(&go))[0]
            .fixed_version
            .as_deref(),
        Some("1.22.4")
    );
    let module = record(json!({"id": "NYTEST-14c", "affected": [
        affected("Go", "golang.org/x/net", json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.23.0"}]}]))]}));
    let m = package(PackageType::Gobinary, "golang.org/x/net", "v0.22.0", None);
    assert_eq!(findings(&m, None, std::slice::from_ref(&module)).len(), 1);
}

#[test]
fn severity_from_vectors_and_ratings() {
    let r = record(json!({"id": "NYTEST-15", "summary": "demo flaw",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                     {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
        "references": [{"type": "ADVISORY", "url": "https://example.invalid/adv"}],
        "affected": [affected("PyPI", "demo-pkg", eco_range(json!([{"introduced": "0"}])))]}));
    let f = &findings(&pypi("1.0"), None, std::slice::from_ref(&r))[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.severity_source, "cvss_v3");
    assert_eq!(f.score, Some(9.8));
    assert_eq!(f.cvss.len(), 2);
    assert_eq!(f.cvss[1].score, 9.3);
    assert_eq!(f.title.as_deref(), Some("demo flaw"));
    assert_eq!(f.references, ["https://example.invalid/adv"]);

    // A database's own rating wins over the vector (as Trivy prefers the vendor's).
    let ghsa = record(
        json!({"id": "NYTEST-15b", "database_specific": {"severity": "MODERATE"},
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [affected("PyPI", "demo-pkg", eco_range(json!([{"introduced": "0"}])))]}),
    );
    let f = &findings(&pypi("1.0"), None, std::slice::from_ref(&ghsa))[0];
    assert_eq!(
        (f.severity, f.severity_source.as_str(), f.score),
        (Severity::Medium, "database", Some(9.8))
    );

    let ubuntu = record(
        json!({"id": "NYTEST-15c", "severity": [{"type": "Ubuntu", "score": "low"}],
        "affected": [affected("Ubuntu:22.04:LTS", "demo", eco_range(json!([{"introduced": "0"}])))]}),
    );
    let f = &findings(
        &package(PackageType::Dpkg, "demo", "1.0", None),
        Some(&os("ubuntu", "22.04")),
        std::slice::from_ref(&ubuntu),
    )[0];
    assert_eq!(
        (f.severity, f.severity_source.as_str()),
        (Severity::Low, "ubuntu")
    );
    let none = record(json!({"id": "NYTEST-15d",
        "affected": [affected("PyPI", "demo-pkg", eco_range(json!([{"introduced": "0"}])))]}));
    assert_eq!(
        findings(&pypi("1.0"), None, std::slice::from_ref(&none))[0].severity,
        Severity::Unknown
    );
}

#[test]
fn packages_without_an_osv_identity() {
    let conda = package(PackageType::CondaPkg, "numpy", "1.26.0", None);
    assert!(matches!(
        target(&conda, None),
        Err(NoTarget::NoEcosystem(_))
    ));
    let deb = package(PackageType::Dpkg, "bash", "5.2", None);
    assert!(matches!(
        target(&deb, None),
        Err(NoTarget::UnknownOs { .. })
    ));
    assert!(matches!(
        target(&deb, Some(&os("plan9", "4"))),
        Err(NoTarget::UnknownOs { .. })
    ));
}

#[test]
fn a_version_that_cannot_be_compared_is_a_warning_naming_the_record() {
    let r = record(
        json!({"id": "NYTEST-16", "affected": [affected("PyPI", "demo-pkg",
        eco_range(json!([{"introduced": "0"}, {"fixed": "1.0"}])))]}),
    );
    let pkg = pypi("not a version");
    let t = target(&pkg, None).unwrap();
    let (found, errors) = match_package(&pkg, &t, std::slice::from_ref(&r));
    assert!(found.is_empty());
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().contains("NYTEST-16"), "{}", errors[0]);
}
