//! Bad input gives `error:` lines on stderr and exit code 2, never a panic.

use crate::{boot, fixtures, nyscan};

fn fails(args: &[&str]) -> String {
    let out = nyscan().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn damaged_and_wrong_inputs_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let truncated = tmp.path().join("truncated.boot");
    let bytes = std::fs::read(boot("v6-zstd")).unwrap();
    std::fs::write(&truncated, &bytes[..40960]).unwrap();
    let e = fails(&["inspect", truncated.to_str().unwrap(), "-R", "stats"]);
    assert!(e.contains("Caused by:"), "{e}");

    let e = fails(&[
        "inspect",
        fixtures().join("official/basic.tar.gz").to_str().unwrap(),
        "-R",
        "stats",
    ]);
    assert!(
        e.contains("not a RAFS bootstrap") && e.contains("hint:"),
        "{e}"
    );

    let e = fails(&["inspect", &boot("v5-lz4"), "-R", "frob"]);
    assert!(e.contains("unknown command"), "{e}");
    let e = fails(&["inspect", &boot("v5-lz4"), "-R", "stat /nope"]);
    assert!(e.contains("no such file"), "{e}");
    let e = fails(&["inspect", &boot("v5-lz4"), "-R", "help"]);
    assert!(e.contains("not a request"), "{e}");
    let e = fails(&["inspect", "./no/such/file", "-R", "stats"]);
    assert!(e.contains("no such bootstrap file"), "{e}");
    let e = fails(&[
        "inspect",
        &format!("oci:{}", tmp.path().display()),
        "-R",
        "stats",
    ]);
    assert!(e.contains("oci-layout"), "{e}");
}
