//! Any bytes given as a secret rules file (YAML): parse and compile it, then scan a few texts
//! (the input itself among them) with the resulting rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_secrets::{RuleSet, ScanLimits, SecretScanner};

const TEXT: &[u8] = b"AWS_ACCESS_KEY_ID=AKIAZ3MSJV5WKGPLUCQB\n\
    token: ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2\n\
    acme_0123456789abcdef secret=hunter2 -----BEGIN PRIVATE KEY-----\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = RuleSet::from_yaml(text) else {
        return;
    };
    let limits = ScanLimits {
        window: 1024,
        overlap: 256,
        size_cap: 1 << 20,
    };
    let Ok(scanner) = SecretScanner::new(rules, limits) else {
        return;
    };
    for f in scanner.scan_bytes("app/.env", TEXT).findings {
        assert!(f.start_line >= 1 && f.end_line >= f.start_line);
    }
    // Custom rules may match more than the overlap, so streamed and whole results may differ;
    // both must finish.
    let _ = scanner.scan_bytes("app/rules.yaml", data);
    let mut streamed = scanner.file("app/rules.yaml", data.len() as u64);
    for piece in data.chunks(97) {
        streamed.push(piece);
    }
    let _ = streamed.finish();
});
