//! apk order against apk-tools.
//!
//! apk-tools is not packaged for Debian 12, so two checks run: the answers apk-tools 3.0.6
//! and 2.14.10 (built from source, see `tests/data/apk/README.md`) gave on a fixed set of
//! pairs, recorded in `tests/data/apk/recorded.tsv`; and, where `apk` is on PATH, a live
//! `apk version -t` on part of the same pairs.

use std::cmp::Ordering;
use std::io::Write as _;
use std::path::PathBuf;

use nyscan_testutil::{Skip, skip};
use nyscan_vuln::Scheme;

use crate::peers::{self, Answer};

struct Recorded {
    a: String,
    b: String,
    /// apk-tools 3.x: `<`, `=`, `>`, or `invalid` when `apk version -t` refuses a side.
    v3: String,
    /// apk-tools 2.14 `apk_version_compare`, and whether both sides validate there.
    v214: String,
    v214_valid: bool,
}

fn recorded() -> Vec<Recorded> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/apk/recorded.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad line {l:?}");
            Recorded {
                a: f[0].to_owned(),
                b: f[1].to_owned(),
                v3: f[2].to_owned(),
                v214: f[3].to_owned(),
                v214_valid: f[4] == "valid",
            }
        })
        .collect()
}

fn symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

#[test]
fn apk_agrees_with_recorded_apk_tools_3() {
    let cases = recorded();
    assert!(cases.len() > 5000, "only {} recorded pairs", cases.len());
    let mut wrong = Vec::new();
    let (mut same, mut invalid) = (0, 0);
    for c in &cases {
        match (Scheme::Apk.compare(&c.a, &c.b), c.v3.as_str()) {
            (Err(_), "invalid") => invalid += 1,
            (Ok(o), want) if symbol(o) == want => same += 1,
            (ours, want) => wrong.push(format!(
                "{:?} vs {:?}: apk 3 {want}, ours {ours:?}",
                c.a, c.b
            )),
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "apk (recorded apk-tools 3.0.6): {} pairs: {same} same order, {invalid} invalid for both, {} disagreements",
        cases.len(),
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn apk_agrees_with_recorded_apk_tools_2_14_on_valid_versions() {
    // apk-tools 2.14 (Alpine 3.19 to 3.22) also compares versions it cannot validate (by a
    // partial parse) and versions apk-tools 3 refuses; we refuse those, so the check is on
    // pairs both versions of apk-tools accept.
    let mut wrong = Vec::new();
    let mut same = 0;
    for c in recorded()
        .iter()
        .filter(|c| c.v214_valid && c.v3 != "invalid")
    {
        match Scheme::Apk2.compare(&c.a, &c.b) {
            Ok(o) if symbol(o) == c.v214 => same += 1,
            ours => wrong.push(format!(
                "{:?} vs {:?}: apk 2.14 {}, ours {ours:?}",
                c.a, c.b, c.v214
            )),
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "apk (recorded apk-tools 2.14.10, pairs valid there): {same} same order, {} disagreements",
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn apk_agrees_with_live_apk() {
    if !peers::apk_installed() {
        return skip(
            "apk_agrees_with_live_apk",
            &Skip("apk-tools not installed (not packaged for Debian 12); the recorded answers were checked".into()),
        );
    }
    // apk has no batch mode: one process per pair, so a sample.
    let mut wrong = Vec::new();
    for c in recorded().iter().step_by(10) {
        let Some(answer) = peers::apk_version_t(&c.a, &c.b) else {
            continue;
        };
        let ours = Scheme::Apk.compare(&c.a, &c.b);
        match (&answer, &ours) {
            (Answer::Order(x), Ok(y)) if x == y => {}
            (Answer::Invalid(_), Err(_)) => {}
            _ => wrong.push(format!(
                "{:?} vs {:?}: apk {answer:?}, ours {ours:?}",
                c.a, c.b
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Writes the pairs `recorded.tsv` answers for (see `tests/data/apk/README.md`).
#[test]
#[ignore = "regenerates the input of tests/data/apk/recorded.tsv"]
fn write_apk_pairs() {
    let out = std::env::var("NYSCAN_APK_PAIRS").expect("set NYSCAN_APK_PAIRS to the output file");
    let mut pairs = crate::generate::pairs(
        &mut crate::generate::Rng::new(15),
        8000,
        crate::generate::apk,
    );
    for (a, b) in [
        ("1.0", "1.0-r1"),
        ("1.01", "1.1"),
        ("1.001", "1.01"),
        ("1.0_rc1", "1.0"),
        ("1.0_p1", "1.0a"),
        ("1.0a", "1.0.1"),
        ("2.0_alpha1_p2", "2.0_alpha1"),
        ("1.0~abc-r0", "1.0~abd-r0"),
        ("0123", "123"),
        ("1.0bc", "1.0"),
    ] {
        pairs.push((a.to_owned(), b.to_owned()));
    }
    let text: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    std::fs::write(out, text).unwrap();
}
