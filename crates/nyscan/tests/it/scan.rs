//! `nyscan scan`: vulnerabilities from an OSV database imported from records written here,
//! secrets planted in an image built by the official `nydus-image`, checks of an image
//! config written here; filters, ignore files, exit codes; the JSON report against Trivy's
//! field names, the SARIF report against the SARIF 2.1.0 schema; and the economy of the
//! secret scan on the Debian+app tree (bytes counted by the chunk engine).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use nyscan_testutil::build::{NydusImage, build_nydus_image, cached_tree, which};
use nyscan_testutil::{Skip, TestRegistry, skip};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::nyscan;

const AWS_KEY: &str = "AKIAZ3MSJV5WKGPLUCQB";
const GITHUB_TOKEN: &str = "ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2";
const DB_PASSWORD: &str = "hunter2hunter2";
/// The chunk size `nydus-image` cuts files at (1 MiB): a secret across it spans two chunks.
const CHUNK: usize = 1 << 20;

fn scan(args: &[&str]) -> Output {
    nyscan()
        .arg("scan")
        .args(args)
        .args(["--no-cache", "--quiet"])
        .output()
        .unwrap()
}

/// Runs a scan that must succeed (exit 0); returns stdout and stderr.
fn scan_ok(args: &[&str]) -> (String, String) {
    let out = scan(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "nyscan scan {args:?}: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

fn put(root: &Path, path: &str, bytes: &[u8]) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The line (1-based) of byte `offset` in `bytes`.
fn line_at(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// A Debian 12 tree with dpkg, Python and npm packages and planted secrets: three that count
/// (an `.env`, a YAML file, a log where the token straddles a chunk boundary) and three that
/// must not (in a file an OS package owns, under `usr/share/`, in a binary). Returns the line
/// of the straddling token.
fn write_tree(root: &Path) -> u64 {
    put(root, "etc/debian_version", b"12.5\n");
    put(
        root,
        "etc/os-release",
        b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
    );
    put(
        root,
        "var/lib/dpkg/status",
        b"Package: zlib1g\nStatus: install ok installed\nMaintainer: Mark Brown <broonie@debian.org>\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\nDescription: compression library\n\n\
Package: libssl3\nStatus: install ok installed\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: Secure Sockets Layer toolkit\n\n\
Package: base-files\nStatus: install ok installed\nMaintainer: Santiago Vila <sanvila@debian.org>\nArchitecture: amd64\nVersion: 12.4+deb12u5\nDescription: Debian base system miscellaneous files\n",
    );
    put(
        root,
        "var/lib/dpkg/info/base-files.md5sums",
        b"0123456789abcdef0123456789abcdef  etc/owned.conf\n",
    );
    put(
        root,
        "etc/owned.conf",
        format!("# shipped by a package\ntoken = {GITHUB_TOKEN}\n").as_bytes(),
    );
    put(
        root,
        "usr/local/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
        b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n",
    );
    put(
        root,
        "app/node_modules/lodash/package.json",
        br#"{"name": "lodash", "version": "4.17.20", "license": "MIT"}"#,
    );
    put(
        root,
        "app/.env",
        format!("DEBUG=1\nAWS_ACCESS_KEY_ID={AWS_KEY}\n").as_bytes(),
    );
    put(
        root,
        "app/config/settings.yaml",
        format!("github:\n  token: {GITHUB_TOKEN}\n").as_bytes(),
    );
    let mut log = b"2024-01-01 request served in 3 ms\n".repeat(CHUNK / 34);
    log.truncate(CHUNK - 20);
    log.extend_from_slice(b"\nfound token=");
    let at = log.len();
    log.extend_from_slice(GITHUB_TOKEN.as_bytes());
    log.extend_from_slice(b"\n");
    log.extend_from_slice(&b"2024-01-02 request served in 4 ms\n".repeat(1000));
    assert!(at < CHUNK && at + GITHUB_TOKEN.len() > CHUNK);
    put(root, "app/logs/server.log", &log);
    put(
        root,
        "usr/share/doc/app/README",
        format!("token: {GITHUB_TOKEN}\n").as_bytes(),
    );
    let mut binary = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    binary.extend_from_slice(format!("\x00\x00token={GITHUB_TOKEN}\x00").as_bytes());
    binary.resize(4096, 0);
    put(root, "app/bin/tool", &binary);
    line_at(&log, at)
}

/// OSV records written for these tests (their own ids): Debian source packages fixed and
/// unfixed, PyPI and npm, and three that must not match (fixed before the installed
/// version, another Debian release, withdrawn).
fn write_records(dir: &Path) {
    let records = [
        json!({"id": "NYS-DEB-0001", "aliases": ["CVE-2099-0001"], "summary": "zlib overflow",
            "details": "A heap overflow in inflate.", "published": "2024-01-02T00:00:00Z",
            "modified": "2024-02-03T00:00:00Z",
            "references": [{"type": "ADVISORY", "url": "https://security.example.test/NYS-DEB-0001"}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.2.13.dfsg-1+deb12u1"}]}]}]}),
        json!({"id": "NYS-DEB-0002", "summary": "openssl timing side channel",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                "ecosystem_specific": {"urgency": "low"}}]}),
        json!({"id": "NYS-DEB-0003", "summary": "another release",
            "affected": [{"package": {"ecosystem": "Debian:11", "name": "zlib"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}),
        json!({"id": "NYS-PY-0001", "summary": "requests leaks proxy credentials",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N"}],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}]}]}),
        json!({"id": "NYS-PY-0002", "summary": "fixed long ago",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}]}),
        json!({"id": "NYS-NPM-0001", "summary": "lodash prototype pollution",
            "database_specific": {"severity": "CRITICAL"},
            "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]}),
        json!({"id": "NYS-NPM-0002", "summary": "withdrawn", "withdrawn": "2024-03-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]}),
    ];
    std::fs::create_dir_all(dir).unwrap();
    for r in records {
        let id = r["id"].as_str().unwrap().to_owned();
        std::fs::write(dir.join(format!("{id}.json")), r.to_string()).unwrap();
    }
}

/// `sha256:<hex>` of `bytes`, stored as a blob of the layout.
fn put_blob(layout: &Path, bytes: &[u8]) -> String {
    let hex = hex::encode(Sha256::digest(bytes));
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
    format!("sha256:{hex}")
}

fn read_blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()
}

/// Replaces the image config of the layout's only image with `config` (its `rootfs` kept),
/// writing a new manifest and index.
fn set_config(layout: &Path, mut config: Value) {
    let index_path = layout.join("index.json");
    let mut index = json_of(&std::fs::read_to_string(&index_path).unwrap());
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let mut manifest = json_of(&String::from_utf8(read_blob(layout, &manifest_digest)).unwrap());
    let old = json_of(
        &String::from_utf8(read_blob(
            layout,
            manifest["config"]["digest"].as_str().unwrap(),
        ))
        .unwrap(),
    );
    config["rootfs"] = old["rootfs"].clone();
    let bytes = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = Value::from(put_blob(layout, &bytes));
    manifest["config"]["size"] = Value::from(bytes.len());
    let bytes = serde_json::to_vec(&manifest).unwrap();
    index["manifests"][0]["digest"] = Value::from(put_blob(layout, &bytes));
    index["manifests"][0]["size"] = Value::from(bytes.len());
    std::fs::write(index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

/// An image config with a secret in its environment, a secret env set by the image's own
/// history, no USER and no HEALTHCHECK (SSH is not exposed).
fn risky_config() -> Value {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", format!("AWS_ACCESS_KEY_ID={AWS_KEY}")],
            "Cmd": ["/app/server"],
            "ExposedPorts": {"8080/tcp": {}}
        },
        "history": [
            {"created_by": "/bin/sh -c #(nop) ADD file:0123abcd in / "},
            {"created_by": "/bin/sh -c #(nop)  CMD [\"bash\"]", "empty_layer": true},
            {"created_by": format!("ENV DB_PASSWORD={DB_PASSWORD}"), "empty_layer": true},
            {"created_by": "COPY app /app # buildkit"}
        ]
    })
}

/// The scan fixture: the image (in a registry when one can be started, else as an OCI
/// layout) and the database.
struct Fixture {
    _dir: tempfile::TempDir,
    _registry: Option<TestRegistry>,
    source: String,
    db: PathBuf,
    work: PathBuf,
    straddling_line: u64,
}

fn fixture(test: &str) -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let straddling_line = write_tree(&root);
    let image = match build_nydus_image(&root, &dir.path().join("image"), 6) {
        Ok(i) => i,
        Err(reason) => {
            skip(test, &reason);
            return None;
        }
    };
    let layout = match image.oci_layout() {
        Ok(l) => l,
        Err(reason) => {
            skip(test, &reason);
            return None;
        }
    };
    set_config(&layout, risky_config());
    let (registry, source) = match TestRegistry::start() {
        Ok(registry) => {
            registry.push_layout(&layout, "scan/app:1").unwrap();
            let source = format!("{}/scan/app:1", registry.host());
            (Some(registry), source)
        }
        Err(reason) => {
            eprintln!("note: {}; scanning the OCI layout instead", reason.0);
            (None, format!("oci:{}", layout.display()))
        }
    };
    let records = dir.path().join("osv");
    write_records(&records);
    let db = dir.path().join("vuln.db");
    let out = nyscan()
        .args(["db", "import"])
        .arg(&records)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let work = dir.path().to_path_buf();
    Some(Fixture {
        _dir: dir,
        _registry: registry,
        source,
        db,
        work,
        straddling_line,
    })
}

impl Fixture {
    /// `nyscan scan SOURCE --db DB --scanners vuln,secret,config ARGS`.
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            self.source.as_str(),
            "--db",
            self.db.to_str().unwrap(),
            "--scanners",
            "vuln,secret,config",
        ];
        args.extend_from_slice(extra);
        args
    }

    fn json(&self, extra: &[&str]) -> Value {
        let mut args = self.args(&["--format", "json"]);
        args.extend_from_slice(extra);
        json_of(&scan_ok(&args).0)
    }

    fn ignore_file(&self, text: &str) -> String {
        let path = self.work.join("ignore");
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

/// Vulnerability ids, secrets (target, rule, line) and failed check ids of a Trivy-schema
/// report.
type Summary = (
    BTreeSet<String>,
    BTreeSet<(String, String, u64)>,
    BTreeSet<String>,
);

fn summary(report: &Value) -> Summary {
    let mut vulns = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let mut checks = BTreeSet::new();
    for r in report["Results"].as_array().unwrap() {
        for v in r["Vulnerabilities"].as_array().into_iter().flatten() {
            vulns.insert(v["VulnerabilityID"].as_str().unwrap().to_owned());
        }
        for s in r["Secrets"].as_array().into_iter().flatten() {
            secrets.insert((
                r["Target"].as_str().unwrap().to_owned(),
                s["RuleID"].as_str().unwrap().to_owned(),
                s["StartLine"].as_u64().unwrap(),
            ));
        }
        for m in r["Misconfigurations"].as_array().into_iter().flatten() {
            checks.insert(m["ID"].as_str().unwrap().to_owned());
        }
    }
    (vulns, secrets, checks)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Trivy's field names (the list the report tests of nyscan-report use).
fn trivy_fields() -> BTreeSet<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../nyscan-report/tests/data/trivy-fields.txt");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Every key of a Trivy-schema report as `Parent.Key` (array items under the array's name;
/// the image's own config and the source-keyed `VendorSeverity`/`CVSS` maps aside).
fn key_paths(value: &Value, parent: &str, out: &mut BTreeSet<String>) {
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
        Value::Array(items) => items.iter().for_each(|i| key_paths(i, parent, out)),
        _ => {}
    }
}

fn sarif_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../nyscan-report/tests/data/sarif-schema-2.1.0.json");
    let schema = json_of(&std::fs::read_to_string(path).unwrap());
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// No whole secret in any output.
fn assert_masked(text: &str) {
    for secret in [AWS_KEY, GITHUB_TOKEN, DB_PASSWORD] {
        assert!(!text.contains(secret), "a whole secret in the output");
    }
}

#[test]
fn scan_reports_vulnerabilities_secrets_and_config_checks() {
    let test = "scan_reports_vulnerabilities_secrets_and_config_checks";
    let Some(fx) = fixture(test) else {
        return;
    };

    // JSON in Trivy's schema.
    let (text, stderr) = scan_ok(&fx.args(&["--format", "json"]));
    assert_masked(&text);
    assert_masked(&stderr);
    let report = json_of(&text);
    assert_eq!(report["SchemaVersion"], 2);
    assert_eq!(report["ArtifactName"], fx.source.as_str());
    assert_eq!(report["ArtifactType"], "container_image");
    assert_eq!(report["Metadata"]["OS"]["Family"], "debian");
    assert_eq!(report["Metadata"]["OS"]["Name"], "12.5");
    assert!(
        report["Metadata"]["ImageID"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(
        report["Metadata"]["ImageConfig"]["config"]["Cmd"][0],
        "/app/server"
    );
    let (vulns, secrets, checks) = summary(&report);
    assert_eq!(
        vulns,
        set(&[
            "NYS-DEB-0001",
            "NYS-DEB-0002",
            "NYS-NPM-0001",
            "NYS-PY-0001"
        ])
    );
    let expected_secrets: BTreeSet<(String, String, u64)> = [
        ("app/.env", "aws-access-key-id", 2),
        ("app/config/settings.yaml", "github-pat", 2),
        ("app/logs/server.log", "github-pat", fx.straddling_line),
        ("config.json", "aws-access-key-id", 1),
    ]
    .into_iter()
    .map(|(t, r, l)| (t.to_owned(), r.to_owned(), l))
    .collect();
    assert_eq!(
        secrets, expected_secrets,
        "owned, allowed and binary files stay quiet"
    );
    assert_eq!(checks, set(&["DS002", "DS026", "DS031"]));

    let results = report["Results"].as_array().unwrap();
    let target = |name: &str| {
        results
            .iter()
            .find(|r| r["Target"] == name)
            .unwrap_or_else(|| panic!("no target {name}: {report:#}"))
    };
    let os = target(&format!("{} (debian 12.5)", fx.source));
    assert_eq!(
        (&os["Class"], &os["Type"]),
        (&json!("os-pkgs"), &json!("debian"))
    );
    let zlib = os["Vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["VulnerabilityID"] == "NYS-DEB-0001")
        .unwrap();
    assert_eq!(
        zlib["PkgName"], "zlib1g",
        "matched by its source package zlib"
    );
    assert_eq!(zlib["InstalledVersion"], "1:1.2.13.dfsg-1");
    assert_eq!(zlib["FixedVersion"], "1:1.2.13.dfsg-1+deb12u1");
    assert_eq!(zlib["Status"], "fixed");
    assert_eq!(zlib["Severity"], "HIGH");
    assert_eq!(zlib["VendorIDs"][0], "CVE-2099-0001");
    assert_eq!(zlib["CVSS"]["osv"]["V3Score"], 7.5);
    let openssl = os["Vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["VulnerabilityID"] == "NYS-DEB-0002")
        .unwrap();
    assert_eq!(openssl["PkgName"], "libssl3");
    assert_eq!(openssl["Status"], "affected");
    assert!(openssl.get("FixedVersion").is_none());
    assert_eq!(openssl["Severity"], "LOW");
    let os_packages: BTreeSet<&str> = os["Packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        os_packages,
        BTreeSet::from(["base-files", "libssl3", "zlib1g"])
    );
    let python = target("Python");
    assert_eq!(
        (&python["Class"], &python["Type"]),
        (&json!("lang-pkgs"), &json!("python-pkg"))
    );
    let py = &python["Vulnerabilities"][0];
    assert_eq!(
        (&py["VulnerabilityID"], &py["Severity"]),
        (&json!("NYS-PY-0001"), &json!("MEDIUM"))
    );
    assert_eq!(
        py["PkgPath"],
        "usr/local/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA"
    );
    let node = target("Node.js");
    assert_eq!(node["Vulnerabilities"][0]["Severity"], "CRITICAL");
    assert_eq!(node["Vulnerabilities"][0]["FixedVersion"], "4.17.21");
    let dockerfile = target("Dockerfile");
    assert_eq!(dockerfile["Class"], "config");
    assert_eq!(
        dockerfile["MisconfSummary"]["Successes"], 1,
        "DS004: no SSH"
    );
    assert_eq!(dockerfile["MisconfSummary"]["Failures"], 3);
    let env = target("app/.env");
    assert_eq!(env["Class"], "secret");
    assert_eq!(
        env["Secrets"][0]["Match"],
        "AWS_ACCESS_KEY_ID=AKIA****************"
    );

    // Every field name is Trivy's.
    let mut keys = BTreeSet::new();
    key_paths(&report, "", &mut keys);
    let known = trivy_fields();
    let unknown: Vec<&String> = keys.iter().filter(|k| !known.contains(*k)).collect();
    assert!(unknown.is_empty(), "not Trivy's field names: {unknown:?}");

    // SARIF 2.1.0, valid against the schema.
    let (text, _) = scan_ok(&fx.args(&["--format", "sarif"]));
    assert_masked(&text);
    let sarif = json_of(&text);
    let errors: Vec<String> = sarif_validator()
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4 + 4 + 3, "vulnerabilities, secrets, checks");
    let log = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "app/logs/server.log"
        })
        .unwrap();
    assert_eq!(
        log["locations"][0]["physicalLocation"]["region"]["startLine"],
        fx.straddling_line
    );

    // CycloneDX with vulnerabilities pointing at components.
    let (text, _) = scan_ok(&fx.args(&["--format", "cyclonedx"]));
    let bom = json_of(&text);
    assert_eq!(bom["specVersion"], "1.6");
    let refs: BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    let bom_vulns = bom["vulnerabilities"].as_array().unwrap();
    assert_eq!(bom_vulns.len(), 4);
    for v in bom_vulns {
        assert!(
            refs.contains(v["affects"][0]["ref"].as_str().unwrap()),
            "{v}"
        );
    }

    // The table, by target.
    let (text, _) = scan_ok(&fx.args(&[]));
    assert_masked(&text);
    for header in [
        format!("\n{} (debian 12.5)\n", fx.source),
        "\nPython (python-pkg)\n".to_owned(),
        "\nNode.js (node-pkg)\n".to_owned(),
        "\napp/.env (secrets)\n".to_owned(),
        "\nDockerfile (dockerfile, from the image config)\n".to_owned(),
    ] {
        assert!(text.contains(&header), "no {header:?} in\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.contains("zlib1g") && l.contains("NYS-DEB-0001") && l.contains("HIGH")),
        "{text}"
    );
}

#[test]
fn filters_ignore_files_and_exit_codes() {
    let test = "filters_ignore_files_and_exit_codes";
    let Some(fx) = fixture(test) else {
        return;
    };
    let (vulns, secrets, checks) = summary(&fx.json(&["--severity", "HIGH,critical"]));
    assert_eq!(vulns, set(&["NYS-DEB-0001", "NYS-NPM-0001"]));
    assert_eq!(secrets.len(), 4, "every planted secret is critical");
    assert_eq!(checks, set(&["DS002", "DS031"]), "DS026 is low");

    let (vulns, _, _) = summary(&fx.json(&["--ignore-unfixed"]));
    assert_eq!(vulns, set(&["NYS-DEB-0001", "NYS-NPM-0001", "NYS-PY-0001"]));

    let ignore = fx.ignore_file(
        "# accepted\nNYS-NPM-0001\nCVE-2099-0001   # an alias of NYS-DEB-0001\ngithub-pat\nDS026\nNYS-PY-0001 exp:2000-01-01\n",
    );
    let (vulns, secrets, checks) = summary(&fx.json(&["--ignorefile", &ignore]));
    assert_eq!(
        vulns,
        set(&["NYS-DEB-0002", "NYS-PY-0001"]),
        "expired entries do not count"
    );
    let rules: BTreeSet<&str> = secrets.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(rules, BTreeSet::from(["aws-access-key-id"]));
    assert_eq!(checks, set(&["DS002", "DS031"]));

    // Exit codes: N when findings remain, 0 when filters leave none, 2 on bad input.
    let out = scan(&fx.args(&["--exit-code", "7", "--format", "json"]));
    assert_eq!(out.status.code(), Some(7));
    let ignore_all = fx.ignore_file("NYS-NPM-0001\n");
    let out = scan(&[
        &fx.source,
        "--db",
        fx.db.to_str().unwrap(),
        "--scanners",
        "vuln",
        "--severity",
        "CRITICAL",
        "--ignorefile",
        &ignore_all,
        "--exit-code",
        "7",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = fx.ignore_file("NYS-NPM-0001\nNYS-PY-0001 exp:2024-02-30\n");
    let out = scan(&fx.args(&["--ignorefile", &bad, "--exit-code", "7"]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("exp:2024-02-30"),
        "{stderr}"
    );
    let out = scan(&fx.args(&["--severity", "SEVERE"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn without_a_database_packages_are_still_reported() {
    let test = "without_a_database_packages_are_still_reported";
    let Some(fx) = fixture(test) else {
        return;
    };
    let missing = fx.work.join("nowhere/vuln.db");
    let (text, stderr) = scan_ok(&[
        &fx.source,
        "--db",
        missing.to_str().unwrap(),
        "--format",
        "json",
        "--exit-code",
        "3",
        "--scanners",
        "vuln",
    ]);
    assert!(
        stderr.contains("no vulnerability database at")
            && stderr.contains("nyscan db update")
            && stderr.contains("nyscan db import"),
        "{stderr}"
    );
    let report = json_of(&text);
    let (vulns, secrets, _) = summary(&report);
    assert!(vulns.is_empty() && secrets.is_empty());
    let packages: BTreeSet<&str> = report["Results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["Packages"].as_array().into_iter().flatten())
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        packages,
        BTreeSet::from(["base-files", "libssl3", "lodash", "requests", "zlib1g"])
    );
    let (text, _) = scan_ok(&[
        &fx.source,
        "--db",
        missing.to_str().unwrap(),
        "--scanners",
        "vuln",
    ]);
    assert!(
        text.contains("Packages: 3 (vulnerabilities not checked)"),
        "{text}"
    );
    // --output: the report goes to the file, nothing to stdout.
    let file = fx.work.join("report.sarif");
    let (text, _) = scan_ok(&[
        &fx.source,
        "--db",
        missing.to_str().unwrap(),
        "--format",
        "sarif",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(text.is_empty(), "{text}");
    let sarif = json_of(&std::fs::read_to_string(&file).unwrap());
    assert!(sarif_validator().is_valid(&sarif));
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        3,
        "the secrets"
    );
}

/// `fetched: R requests, B bytes, ...; ... of T blob bytes` from `--stats`.
fn fetched_and_blob_bytes(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("fetched: "))
        .unwrap_or_else(|| panic!("no stats in {stderr}"));
    let number_before = |word: &str| -> u64 {
        let end = line.find(word).unwrap();
        line[..end]
            .trim_end()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (number_before(" bytes, "), number_before(" blob bytes"))
}

#[test]
fn secret_scan_of_the_debian_tree_reads_little_and_finds_nothing() {
    let test = "secret_scan_of_the_debian_tree_reads_little_and_finds_nothing";
    let root = match cached_tree("debian-tree.sh") {
        Ok(root) => root,
        Err(reason) => return skip(test, &reason),
    };
    let work = tempfile::tempdir().unwrap();
    let image: NydusImage = match build_nydus_image(&root, &work.path().join("image"), 6) {
        Ok(i) => i,
        Err(reason) => return skip(test, &reason),
    };
    let (text, stderr) = scan_ok(&[
        image.boot.to_str().unwrap(),
        "--blob-dir",
        image.blob_dir.to_str().unwrap(),
        "--scanners",
        "secret",
        "--format",
        "json",
        "--stats",
    ]);
    let report = json_of(&text);
    let (_, secrets, _) = summary(&report);
    assert!(
        secrets.is_empty(),
        "false positives on a clean debootstrap tree with pip and npm packages: {secrets:?}"
    );
    let (fetched, blob_bytes) = fetched_and_blob_bytes(&stderr);
    assert_eq!(blob_bytes, image.blob_bytes());
    assert!(
        fetched * 20 < blob_bytes,
        "the secret scan fetched {fetched} of {blob_bytes} blob bytes: {stderr}"
    );
    eprintln!(
        "debian secret scan: fetched {fetched} of {blob_bytes} blob bytes ({:.2} %)",
        fetched as f64 * 100.0 / blob_bytes as f64
    );
}

/// The field list the JSON tests use agrees with the real Trivy: the names Trivy writes
/// for a secret and for a Dockerfile check are all in it.
#[test]
fn trivy_field_list_holds_what_trivy_writes() {
    let test = "trivy_field_list_holds_what_trivy_writes";
    let Some(trivy) = which("trivy") else {
        return skip(test, &Skip("trivy is not installed".into()));
    };
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    put(
        &tree,
        "app/.env",
        format!("x=1\nAWS_ACCESS_KEY_ID={AWS_KEY}\n").as_bytes(),
    );
    put(&tree, "app/Dockerfile", b"FROM debian:12\nEXPOSE 22\n");
    let out = std::process::Command::new(trivy)
        .args([
            "fs",
            "--scanners",
            "secret,config",
            "--format",
            "json",
            "--quiet",
        ])
        .args(["--offline-scan", "--skip-db-update", "--cache-dir"])
        .arg(dir.path().join("cache"))
        .arg(&tree)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys = BTreeSet::new();
    key_paths(&report, "", &mut keys);
    let classes: BTreeSet<&str> = report["Results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["Class"].as_str())
        .collect();
    assert!(classes.contains("secret"), "{report:#}");
    let known = trivy_fields();
    // Trivy's scanned-filesystem metadata and misconfiguration internals nyscan never writes
    // are not listed.
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| {
            k.starts_with("Secrets.") || k.starts_with("Lines.") || k.starts_with("Results.")
        })
        .filter(|k| !known.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "Trivy writes names the list lacks: {missing:?}"
    );
}
