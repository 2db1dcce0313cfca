//! CVSS base scores against Red Hat's Python `cvss` package, on every v3 base vector of a
//! few thousand generated ones and a sample of v4 and v2 vectors.

use std::io::Write as _;
use std::process::{Command, Stdio};

use nyscan_testutil::{Skip, skip};
use nyscan_vuln::severity::score_vector;

use crate::generate::Rng;
use crate::peers::peers_dir;

fn pick<'a>(rng: &mut Rng, values: &[&'a str]) -> &'a str {
    values[rng.below(values.len())]
}

fn v3(rng: &mut Rng) -> String {
    format!(
        "CVSS:3.{}/AV:{}/AC:{}/PR:{}/UI:{}/S:{}/C:{}/I:{}/A:{}",
        pick(rng, &["0", "1"]),
        pick(rng, &["N", "A", "L", "P"]),
        pick(rng, &["L", "H"]),
        pick(rng, &["N", "L", "H"]),
        pick(rng, &["N", "R"]),
        pick(rng, &["U", "C"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
    )
}

fn v4(rng: &mut Rng) -> String {
    let mut v = format!(
        "CVSS:4.0/AV:{}/AC:{}/AT:{}/PR:{}/UI:{}/VC:{}/VI:{}/VA:{}/SC:{}/SI:{}/SA:{}",
        pick(rng, &["N", "A", "L", "P"]),
        pick(rng, &["L", "H"]),
        pick(rng, &["N", "P"]),
        pick(rng, &["N", "L", "H"]),
        pick(rng, &["N", "P", "A"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
    );
    if rng.chance(30) {
        v.push_str(&format!("/E:{}", pick(rng, &["X", "A", "P", "U"])));
    }
    v
}

fn v2(rng: &mut Rng) -> String {
    format!(
        "AV:{}/AC:{}/Au:{}/C:{}/I:{}/A:{}",
        pick(rng, &["N", "A", "L"]),
        pick(rng, &["L", "M", "H"]),
        pick(rng, &["N", "S", "M"]),
        pick(rng, &["N", "P", "C"]),
        pick(rng, &["N", "P", "C"]),
        pick(rng, &["N", "P", "C"]),
    )
}

#[test]
fn cvss_scores_agree_with_the_python_cvss_package() {
    let probe = Command::new("python3").args(["-c", "import cvss"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        return skip(
            "cvss_scores_agree_with_the_python_cvss_package",
            &Skip("python3 cvss not installed (pip install cvss)".into()),
        );
    }
    let mut rng = Rng::new(99);
    let mut vectors: Vec<String> = (0..3000).map(|_| v3(&mut rng)).collect();
    vectors.extend((0..1500).map(|_| v4(&mut rng)));
    vectors.extend((0..500).map(|_| v2(&mut rng)));
    let mut child = Command::new("python3")
        .arg(peers_dir().join("cvss_score.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = vectors.join("\n") + "\n";
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let answers: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(answers.len(), vectors.len());
    let mut wrong = Vec::new();
    for (v, a) in vectors.iter().zip(&answers) {
        let ours = score_vector(v).map(|s| format!("{:.1}", s.score));
        if ours.as_deref().ok() != Some(a.as_str()) {
            wrong.push(format!("{v}: python {a}, ours {ours:?}"));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "CVSS: {} vectors, {} disagreements with python cvss",
        vectors.len(),
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{}",
        wrong
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
