//! Parity with Trivy's secret scanner on a planted tree. Every difference is listed here and
//! in README.md with its reason; the test fails on an unlisted difference and on a listed one
//! that no longer happens.

use std::collections::{BTreeSet, HashSet};

use nyscan_secrets::SecretScanner;

use crate::plant::{Expect, Rng, plant, values};
use crate::{keys, scan_tree, skip, trivy_secrets};

/// How a listed difference shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Diff {
    /// Only we report it.
    OursOnly,
    /// Only Trivy reports it.
    TrivyOnly,
    /// Both report it, on different lines.
    OtherLine,
}

const PEM_LINE: &str = "we report the key body's first line (as upstream Trivy, which locates the key material); the installed Trivy reports the BEGIN line";

/// (rule, path, how, why).
const KNOWN: &[(&str, &str, Diff, &str)] = &[
    (
        "npm-access-token",
        "root/.npmrc",
        Diff::OursOnly,
        "Trivy's rule wants the token quoted; .npmrc writes it bare",
    ),
    (
        "docker-config-auth",
        "root/.docker/config.json",
        Diff::OursOnly,
        "our rule; Trivy has none for ~/.docker/config.json",
    ),
    (
        "azure-storage-account-key",
        "app/config/azure.env",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "azure-entra-client-secret",
        "app/config/azure.env",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "azure-sas-token",
        "app/config/azure.env",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "azure-app-config-connection-string",
        "app/config/azure.env",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "github-fine-grained-pat",
        "app/config/github.env",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "hugging-face-access-token",
        "app/config/ml.env",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "openai-project-api-key",
        "app/config/ml.env",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "jwt-token",
        "app/config/jwt.txt",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "dockerconfig-secret",
        "app/deploy/pull-secret.yaml",
        Diff::OursOnly,
        "rule absent from the installed Trivy (present upstream)",
    ),
    (
        "github-pat",
        "app/__pycache__/settings.cpython-311.pyc",
        Diff::OursOnly,
        "the installed Trivy does not scan .pyc strings (upstream does)",
    ),
    (
        "aws-access-key-id",
        "app/site/acme-1.0.dist-info/METADATA",
        Diff::TrivyOnly,
        "the installed Trivy lacks the dist-info allow rule (upstream has it)",
    ),
    (
        "aws-secret-access-key",
        "app/site/acme-1.0.dist-info/METADATA",
        Diff::TrivyOnly,
        "the installed Trivy lacks the dist-info allow rule (upstream has it)",
    ),
    (
        "github-pat",
        "app/site/acme-1.0.dist-info/METADATA",
        Diff::TrivyOnly,
        "the installed Trivy lacks the dist-info allow rule (upstream has it)",
    ),
    (
        "private-key",
        "app/keys/server.key",
        Diff::OtherLine,
        PEM_LINE,
    ),
    (
        "private-key",
        "home/deploy/.ssh/id_ed25519",
        Diff::OtherLine,
        PEM_LINE,
    ),
    (
        "private-key",
        "etc/app/tls/ec.pem",
        Diff::OtherLine,
        PEM_LINE,
    ),
    (
        "private-key",
        "app/logs/boundary-64k.log",
        Diff::OtherLine,
        PEM_LINE,
    ),
    (
        "private-key",
        "app/logs/boundary-1m.log",
        Diff::OtherLine,
        PEM_LINE,
    ),
    (
        "private-key",
        "app/logs/after-key.log",
        Diff::OtherLine,
        PEM_LINE,
    ),
    (
        "github-pat",
        "app/logs/after-key.log",
        Diff::OtherLine,
        "the installed Trivy counts a multi-line key as one line, so later lines come out low (fixed upstream)",
    ),
];

fn listed(rule: &str, path: &str) -> Option<Diff> {
    KNOWN
        .iter()
        .find(|(r, p, _, _)| *r == rule && *p == path)
        .map(|k| k.2)
}

#[test]
fn planted_tree_matches_expectations_and_trivy() {
    let dir = tempfile::tempdir().unwrap();
    let planted = plant(dir.path(), 0x5eed_0001);
    let scanner = SecretScanner::builtin().unwrap();
    let none = HashSet::new();
    let outcomes = scan_tree(&scanner, dir.path(), &none, 64 * 1024);
    let ours = keys(&outcomes);
    // Streaming in Nydus-chunk-sized pieces gives the same findings.
    assert_eq!(keys(&scan_tree(&scanner, dir.path(), &none, 1 << 20)), ours);

    let missing: Vec<_> = planted.expected.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&planted.expected).collect();
    assert!(missing.is_empty(), "planted but not found: {missing:#?}");
    assert!(extra.is_empty(), "found but not planted: {extra:#?}");
    for path in &planted.silent_paths {
        assert!(
            !ours.iter().any(|(_, p, _)| p == path),
            "reported in an allowed/skipped path {path}"
        );
    }
    // Nothing in any output holds a planted secret in full.
    let json = serde_json::to_string(&outcomes).unwrap();
    let v = values(&mut Rng::new(0x5eed_0001));
    for secret in [&v.aws_id, &v.aws_secret, &v.ghp] {
        assert!(!json.contains(secret.as_str()), "unmasked secret in output");
    }

    let trivy = match trivy_secrets(dir.path()) {
        Ok(t) => t,
        Err(reason) => {
            return skip(
                "planted_tree_matches_expectations_and_trivy (Trivy part)",
                &reason,
            );
        }
    };
    compare(&ours, &trivy);
}

fn compare(ours: &BTreeSet<Expect>, trivy: &BTreeSet<Expect>) {
    let unlisted = |set: &BTreeSet<Expect>| -> BTreeSet<Expect> {
        set.iter()
            .filter(|(r, p, _)| listed(r, p).is_none())
            .cloned()
            .collect()
    };
    let (a, b) = (unlisted(ours), unlisted(trivy));
    let only_ours: Vec<_> = a.difference(&b).collect();
    let only_trivy: Vec<_> = b.difference(&a).collect();
    assert!(
        only_ours.is_empty() && only_trivy.is_empty(),
        "differences not listed in README.md:\nonly ours: {only_ours:#?}\nonly Trivy: {only_trivy:#?}"
    );
    assert!(a.len() > 40, "too few shared findings: {}", a.len());
    // Each listed difference happens, and only as listed.
    for (rule, path, how, why) in KNOWN {
        let lines = |set: &BTreeSet<Expect>| -> Vec<u64> {
            set.iter()
                .filter(|(r, p, _)| r == rule && p == path)
                .map(|x| x.2)
                .collect()
        };
        let (o, t) = (lines(ours), lines(trivy));
        let holds = match how {
            Diff::OursOnly => !o.is_empty() && t.is_empty(),
            Diff::TrivyOnly => o.is_empty() && !t.is_empty(),
            Diff::OtherLine => {
                o.len() == t.len() && !o.is_empty() && o.iter().zip(&t).all(|(x, y)| x != y)
            }
        };
        assert!(
            holds,
            "difference {rule} {path} is not as listed ({how:?}: {why}): ours {o:?}, Trivy {t:?}"
        );
    }
}
