//! The secret analyzer through the planner, over an image built by the official
//! `nydus-image`: files the OS owns are skipped, a binary is dropped after its first bytes,
//! text files are read in two rounds (prefix, then the rest), a file over the size cap is
//! scanned up to the cap with a note, and findings land in the inventory masked.

use std::path::Path;
use std::sync::Arc;

use nyscan_analyze::analyzer::Analyzer;
use nyscan_analyze::planner::{self, Limits, NoteKind};
use nyscan_analyze::secret::SecretAnalyzer;
use nyscan_image::{ChunkReader, FetchOptions};
use nyscan_rafs::Bootstrap;
use nyscan_secrets::{RuleSet, ScanLimits, SecretScanner};
use nyscan_source::BlobDir;
use nyscan_testutil::build::build_nydus_image;
use nyscan_testutil::skip;

const TOKEN: &str = "ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2";
const CAP: u64 = 2 << 20;

fn put(root: &Path, path: &str, bytes: &[u8]) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn planner_runs_the_secret_analyzer_on_what_can_hold_a_secret() {
    let test = "planner_runs_the_secret_analyzer_on_what_can_hold_a_secret";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    put(&root, "etc/debian_version", b"12.5\n");
    put(
        &root,
        "var/lib/dpkg/status",
        b"Package: base-files\nStatus: install ok installed\nMaintainer: Santiago Vila <sanvila@debian.org>\nArchitecture: amd64\nVersion: 12.4+deb12u5\n",
    );
    put(
        &root,
        "var/lib/dpkg/info/base-files.md5sums",
        b"0123456789abcdef0123456789abcdef  etc/owned.conf\n",
    );
    put(
        &root,
        "etc/owned.conf",
        format!("token={TOKEN}\n").as_bytes(),
    );
    put(
        &root,
        "app/.env",
        format!("A=1\nGH_TOKEN={TOKEN}\n").as_bytes(),
    );
    // 3 MiB of text: a token in its first MiB, another past the 2 MiB cap.
    let mut big = b"log line with nothing to hide\n".repeat(3 * (1 << 20) / 30);
    let early = 100_000 - 100_000 % 30;
    big.splice(early..early, format!("t={TOKEN}\n").bytes());
    let late = big.len() - 30 * 100;
    big.splice(late..late, format!("t={TOKEN}\n").bytes());
    put(&root, "app/big.txt", &big);
    let mut binary = vec![0u8; 300];
    binary.extend_from_slice(format!("token={TOKEN}\n").as_bytes());
    binary.resize(512 * 1024, 7);
    put(&root, "app/data.dat", &binary);

    let image = match build_nydus_image(&root, &dir.path().join("image"), 6) {
        Ok(i) => i,
        Err(reason) => return skip(test, &reason),
    };
    let bytes = std::fs::read(&image.boot).unwrap();
    let boot = Bootstrap::parse(&bytes).unwrap();
    let blobs = BlobDir::new(&image.blob_dir);
    let reader = ChunkReader::new(&boot, &blobs, FetchOptions::default());
    let limits = ScanLimits {
        size_cap: CAP,
        ..ScanLimits::default()
    };
    let scanner = SecretScanner::new(RuleSet::builtin().unwrap(), limits).unwrap();
    let mut analyzers: Vec<Box<dyn Analyzer>> = nyscan_analyze::os::analyzers();
    analyzers.push(Box::new(SecretAnalyzer::new(Arc::new(scanner), None)));
    let scan = planner::scan(&reader, &analyzers, &Limits::default()).unwrap();

    let found: Vec<(&str, u64, &str)> = scan
        .inventory
        .secrets
        .iter()
        .map(|s| (s.path.as_str(), s.start_line, s.rule_id.as_str()))
        .collect();
    let early_line = big[..early].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    assert_eq!(
        found,
        [
            ("app/.env", 2, "github-pat"),
            ("app/big.txt", early_line, "github-pat")
        ],
        "owned and binary files stay quiet; the late token is past the cap"
    );
    for s in &scan.inventory.secrets {
        assert!(!s.masked.contains(TOKEN) && !s.context.contains(TOKEN));
    }
    let notes: Vec<_> = scan
        .inventory
        .notes
        .iter()
        .map(|n| (n.path.as_str(), n.analyzer.as_str(), n.kind))
        .collect();
    assert_eq!(notes, [("app/big.txt", "secret", NoteKind::Limit)]);
    assert!(scan.inventory.notes[0].message.contains(&CAP.to_string()));
    let stats = scan.stats;
    assert_eq!(stats.skipped_owned, 1, "etc/owned.conf: {stats:?}");
    // The OS round, then the prefixes, then the rest of the text files.
    assert!(stats.rounds <= 3, "{stats:?}");
    // Never past the cap of the big file, nor past the first chunk of the binary.
    let small = 4096;
    assert!(
        stats.file_bytes <= CAP + (1 << 20) + small,
        "{} bytes of content read: {stats:?}",
        stats.file_bytes
    );
}
