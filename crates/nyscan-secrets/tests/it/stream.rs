//! Streaming: secrets across piece and window boundaries are found exactly once, with the
//! same lines and offsets as a whole-buffer scan.

use nyscan_secrets::{Flow, RuleSet, ScanLimits, SecretScanner};

use crate::plant::{ALNUM, B64, Rng, crossing, values};

fn scanner(window: usize, overlap: usize) -> SecretScanner {
    SecretScanner::new(
        RuleSet::builtin().unwrap(),
        ScanLimits {
            window,
            overlap,
            size_cap: 64 << 20,
        },
    )
    .unwrap()
}

fn streamed(
    s: &SecretScanner,
    path: &str,
    data: &[u8],
    pieces: &[usize],
) -> nyscan_secrets::FileOutcome {
    let mut scan = s.file(path, data.len() as u64);
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let n = pieces[i % pieces.len()].min(data.len() - at);
        let flow = scan.push(&data[at..at + n]);
        at += n;
        assert_eq!(flow == Flow::Done, at == data.len());
        i += 1;
    }
    scan.finish()
}

#[test]
fn secrets_across_64k_and_1m_boundaries_are_found_once() {
    let mut rng = Rng::new(7);
    let v = values(&mut rng);
    let (text, lines) = crossing(
        (3 << 20) + 100,
        &[
            (64 * 1024, "GITHUB_TOKEN=", &v.ghp),
            (128 * 1024, "", &v.rsa_pem),
            (1 << 20, "AWS_ACCESS_KEY_ID=", &v.aws_id),
            (
                (1 << 20) + 64 * 1024,
                "aws_secret_access_key = ",
                &v.aws_secret,
            ),
            (2 << 20, "", &v.rsa_pem),
            (3 << 20, "token=", &v.ghp),
        ],
    );
    let data = text.as_bytes();
    let expected_lines = [
        lines[0],
        lines[1] + 1,
        lines[2],
        lines[3],
        lines[4] + 1,
        lines[5],
    ];
    for s in [
        scanner(256 * 1024, 16 * 1024),
        scanner(4096, 2048),
        scanner(64 * 1024, 4096),
    ] {
        let whole = s.scan_bytes("app/big.log", data);
        let found: Vec<u64> = whole.findings.iter().map(|f| f.start_line).collect();
        assert_eq!(found, expected_lines, "limits {:?}", s.limits());
        for pieces in [&[64 * 1024][..], &[1 << 20], &[4095, 1, 65537, 300], &[7]] {
            if pieces == [7] && s.limits().window > 4096 {
                continue; // slow in debug builds; the small window covers tiny pieces
            }
            assert_eq!(
                streamed(&s, "app/big.log", data, pieces),
                whole,
                "pieces {pieces:?}"
            );
        }
    }
}

#[test]
fn random_texts_stream_like_whole() {
    let s = scanner(2048, 512);
    let mut rng = Rng::new(99);
    for round in 0..20 {
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(&rng.pick(" abcdefghij=:\"", (i * 7 + round) % 90));
            match (i + round) % 11 {
                0 => text.push_str(&format!("ghp_{}", rng.pick(ALNUM, 36))),
                3 => text.push_str(&format!("AWS_SECRET_ACCESS_KEY={}", rng.pick(B64, 40))),
                5 => text.push_str(&format!(
                    "AKIA{}",
                    rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
                )),
                7 => text.push_str(&format!("xoxb-{}", rng.pick(ALNUM, 30))),
                _ => {}
            }
            text.push(if i % 3 == 0 { '\n' } else { ' ' });
        }
        let whole = s.scan_bytes("f.txt", text.as_bytes());
        assert!(!whole.findings.is_empty());
        let mut offsets: Vec<_> = whole
            .findings
            .iter()
            .map(|f| (f.offset, &f.rule_id))
            .collect();
        offsets.dedup();
        assert_eq!(
            offsets.len(),
            whole.findings.len(),
            "a finding reported twice"
        );
        let pieces = [1 + round * 37, 4096, 999];
        let got = streamed(&s, "f.txt", text.as_bytes(), &pieces);
        let missing: Vec<_> = whole
            .findings
            .iter()
            .filter(|f| !got.findings.contains(f))
            .collect();
        let extra: Vec<_> = got
            .findings
            .iter()
            .filter(|f| !whole.findings.contains(f))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "round {round}: missing {missing:#?} extra {extra:#?}"
        );
        assert_eq!(got, whole, "round {round}");
    }
}

#[test]
fn binary_prefix_stops_the_stream() {
    let s = scanner(256 * 1024, 16 * 1024);
    let mut scan = s.file("usr/bin/tool", 100_000);
    assert_eq!(scan.push(b"\x7fELF\x02\x01\x01\x00"), Flow::More);
    assert_eq!(scan.push(&[0u8; 400]), Flow::Done);
    assert_eq!(
        scan.push(b"ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2"),
        Flow::Done
    );
    let out = scan.finish();
    assert_eq!(out.content, nyscan_secrets::ContentKind::Binary);
    assert!(out.findings.is_empty());
    assert_eq!(out.bytes_read, 408);
}
