//! Differential tests: every comparator against the real implementation on this machine,
//! on thousands of generated and real-world version pairs, one peer process per batch.
//!
//! A disagreement fails the test unless it is listed with its reason (`explain`); the counts
//! per reason are printed.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use nyscan_testutil::{Skip, skip};
use nyscan_vuln::{Scheme, VersionError};

use crate::generate::{self, Rng};
use crate::peers::{self, Answer};

/// How many generated pairs each comparator is checked on.
const GENERATED: usize = 6000;

type Explain = fn(&str, &str, &Answer, &Result<Ordering, VersionError>) -> Option<&'static str>;

fn no_exceptions(
    _: &str,
    _: &str,
    _: &Answer,
    _: &Result<Ordering, VersionError>,
) -> Option<&'static str> {
    None
}

/// Runs the peer on the pairs and compares each answer with ours.
fn check(test: &str, scheme: Scheme, peer: Command, pairs: &[(String, String)], explain: Explain) {
    let answers = peers::run(peer, pairs).unwrap_or_else(|e| panic!("{test}: peer failed: {e}"));
    let mut agreed = 0;
    let mut both_invalid = 0;
    let mut explained: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for ((a, b), answer) in pairs.iter().zip(&answers) {
        let ours = scheme.compare(a, b);
        match (answer, &ours) {
            (Answer::Order(x), Ok(y)) if x == y => agreed += 1,
            (Answer::Invalid(_), Err(_)) => both_invalid += 1,
            _ => match explain(a, b, answer, &ours) {
                Some(reason) => explained
                    .entry(reason)
                    .or_default()
                    .push(format!("{a:?} vs {b:?}: peer {answer:?}, ours {ours:?}")),
                None => wrong.push(format!("{a:?} vs {b:?}: peer {answer:?}, ours {ours:?}")),
            },
        }
    }
    let mut report = format!(
        "{test}: {} pairs: {agreed} same order, {both_invalid} invalid for both, {} explained, {} unexplained disagreements\n",
        pairs.len(),
        explained.values().map(Vec::len).sum::<usize>(),
        wrong.len()
    );
    for (reason, cases) in &explained {
        report.push_str(&format!(
            "  {} x {reason}, e.g. {}\n",
            cases.len(),
            cases[0]
        ));
    }
    let _ = std::io::stderr().write_all(report.as_bytes());
    assert!(
        wrong.is_empty(),
        "{test}: {} disagreements with the real implementation:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        agreed > pairs.len() / 2,
        "{test}: too few valid pairs ({agreed}) to mean anything"
    );
}

fn data_file(name: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/versions")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn generated(seed: u64, make: fn(&mut Rng) -> String) -> Vec<(String, String)> {
    generate::pairs(&mut Rng::new(seed), GENERATED, make)
}

fn with_real(
    mut pairs: Vec<(String, String)>,
    seed: u64,
    real: &[String],
) -> Vec<(String, String)> {
    pairs.extend(generate::real_pairs(&mut Rng::new(seed), real));
    pairs
}

fn peer_or_skip(test: &str, peer: Result<Command, Skip>) -> Option<Command> {
    match peer {
        Ok(cmd) => Some(cmd),
        Err(reason) => {
            skip(test, &reason);
            None
        }
    }
}

/// Real Debian versions: the dpkg database and apt's package lists of this machine.
fn debian_versions() -> Vec<String> {
    let mut texts = vec![std::fs::read_to_string("/var/lib/dpkg/status").unwrap_or_default()];
    if let Ok(dir) = std::fs::read_dir("/var/lib/apt/lists") {
        for entry in dir.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().ends_with("_Packages") {
                texts.push(std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
    }
    let mut versions: Vec<String> = texts
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| l.strip_prefix("Version: "))
        .map(str::to_owned)
        .collect();
    versions.sort();
    versions.dedup();
    // Every n-th, to keep the run short while covering the whole range.
    let step = (versions.len() / 4000).max(1);
    versions.into_iter().step_by(step).collect()
}

fn dpkg_explain(
    a: &str,
    b: &str,
    answer: &Answer,
    ours: &Result<Ordering, VersionError>,
) -> Option<&'static str> {
    // dpkg --compare-versions treats an empty argument as the blank version; a version
    // string from a package or an OSV record is never empty, so we refuse it.
    if (a.is_empty() || b.is_empty()) && ours.is_err() && matches!(answer, Answer::Order(_)) {
        return Some("empty version: dpkg compares it as blank, we refuse it");
    }
    None
}

#[test]
fn dpkg_agrees_with_libdpkg() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(peer) = peer_or_skip("dpkg_agrees_with_libdpkg", peers::dpkg(scratch.path())) else {
        return;
    };
    let real = debian_versions();
    assert!(
        real.len() > 100,
        "too few Debian versions on this machine: {}",
        real.len()
    );
    let pairs = with_real(generated(1, generate::dpkg), 2, &real);
    check("dpkg", Scheme::Dpkg, peer, &pairs, dpkg_explain);
}

#[test]
fn rpm_agrees_with_rpm() {
    let Some(peer) = peer_or_skip("rpm_agrees_with_rpm", peers::rpm()) else {
        return;
    };
    // Real RPM versions are rare on Debian; the generator mixes real release shapes in.
    let pairs = generated(3, generate::rpm);
    check("rpm", Scheme::Rpm, peer, &pairs, no_exceptions);
}

#[test]
fn pep440_agrees_with_packaging() {
    let Some(peer) = peer_or_skip("pep440_agrees_with_packaging", peers::pep440()) else {
        return;
    };
    let pairs = with_real(generated(4, generate::pep440), 5, &data_file("pypi.txt"));
    check("PEP 440", Scheme::Pep440, peer, &pairs, no_exceptions);
}

#[test]
fn npm_agrees_with_node_semver() {
    let Some(peer) = peer_or_skip("npm_agrees_with_node_semver", peers::npm()) else {
        return;
    };
    let pairs = with_real(generated(6, generate::npm), 7, &data_file("npm.txt"));
    check("npm", Scheme::Npm, peer, &pairs, no_exceptions);
}

#[test]
fn semver_agrees_with_node_semver_on_strict_versions() {
    let Some(peer) = peer_or_skip(
        "semver_agrees_with_node_semver_on_strict_versions",
        peers::npm(),
    ) else {
        return;
    };
    // node-semver also takes a leading `v` and surrounding spaces, which SemVer 2.0 does
    // not: such pairs are left out.
    let strict = |v: &String| !(v.starts_with(['v', ' ', '=', 'V']) || v.ends_with(' '));
    let pairs: Vec<_> = generated(8, generate::npm)
        .into_iter()
        .chain(generate::real_pairs(
            &mut Rng::new(16),
            &data_file("npm.txt"),
        ))
        .filter(|(a, b)| strict(a) && strict(b))
        .collect();
    check("SemVer", Scheme::SemVer, peer, &pairs, no_exceptions);
}

#[test]
fn go_agrees_with_x_mod_semver() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(peer) = peer_or_skip("go_agrees_with_x_mod_semver", peers::go(scratch.path())) else {
        return;
    };
    // Go requires the `v`; OSV's Go records leave it out and we accept both, so the peer
    // gets every version with its `v`, and dropping it must not change our answer.
    let with_v = |v: &str| {
        if v.starts_with('v') {
            v.to_owned()
        } else {
            format!("v{v}")
        }
    };
    let pairs: Vec<(String, String)> =
        with_real(generated(9, generate::go), 10, &data_file("go.txt"))
            .into_iter()
            .map(|(a, b)| (with_v(&a), with_v(&b)))
            .collect();
    for (a, b) in pairs
        .iter()
        .filter(|(a, b)| !a.starts_with("vv") && !b.starts_with("vv"))
    {
        let bare = |v: &str| v.strip_prefix('v').unwrap_or(v).to_owned();
        assert_eq!(
            Scheme::Go.compare(a, b).ok(),
            Scheme::Go.compare(&bare(a), &bare(b)).ok(),
            "{a} vs {b} without v"
        );
    }
    check("Go", Scheme::Go, peer, &pairs, no_exceptions);
}

#[test]
fn maven_agrees_with_comparable_version() {
    let Some(peer) = peer_or_skip("maven_agrees_with_comparable_version", peers::maven()) else {
        return;
    };
    let pairs = with_real(generated(11, generate::maven), 12, &data_file("maven.txt"));
    check("Maven", Scheme::Maven, peer, &pairs, no_exceptions);
}

#[test]
fn rubygems_agrees_with_gem_version() {
    let Some(peer) = peer_or_skip("rubygems_agrees_with_gem_version", peers::rubygems()) else {
        return;
    };
    let pairs = generated(13, generate::rubygems);
    check("RubyGems", Scheme::RubyGems, peer, &pairs, no_exceptions);
}

#[test]
fn packagist_agrees_with_composer() {
    let Some(peer) = peer_or_skip("packagist_agrees_with_composer", peers::composer()) else {
        return;
    };
    let pairs = generated(14, generate::packagist);
    check("Composer", Scheme::Packagist, peer, &pairs, no_exceptions);
}

#[test]
fn nuget_parses_real_versions_without_a_peer() {
    // NuGet.Versioning needs .NET, which no package registry reachable here provides.
    skip(
        "nuget_parses_real_versions_without_a_peer",
        &Skip(
            "no .NET runtime for NuGet.Versioning; NuGet order is covered by unit tests only"
                .into(),
        ),
    );
    // Still run the comparator over real NuGet versions: every one must parse.
    let bad: Vec<String> = data_file("nuget.txt")
        .into_iter()
        .filter(|v| Scheme::NuGet.validate(v).is_err())
        .collect();
    assert!(bad.is_empty(), "real NuGet versions refused: {bad:?}");
}
