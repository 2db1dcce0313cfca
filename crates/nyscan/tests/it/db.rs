//! `nyscan db import | update | info` end to end.

use crate::nyscan;

fn record(id: &str, ecosystem: &str, name: &str) -> String {
    serde_json::json!({
        "id": id,
        "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]
    })
    .to_string()
}

#[test]
fn import_then_info_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("osv");
    std::fs::create_dir_all(exports.join("sub")).unwrap();
    std::fs::write(
        exports.join("a.json"),
        record("NYTEST-CLI-1", "PyPI", "demo"),
    )
    .unwrap();
    std::fs::write(
        exports.join("sub/b.json"),
        record("NYTEST-CLI-2", "Debian:12", "openssl"),
    )
    .unwrap();
    std::fs::write(exports.join("sub/broken.json"), "{ not json").unwrap();
    let db = dir.path().join("data/vuln.db");

    let out = nyscan()
        .args(["db", "import"])
        .arg(&exports)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 2 records from 1 sources"),
        "{stdout}"
    );
    assert!(stdout.contains("(1 skipped)"), "{stdout}");
    assert!(
        stderr.contains("warning: skipped") && stderr.contains("broken.json"),
        "{stderr}"
    );

    let out = nyscan()
        .args(["db", "--db"])
        .arg(&db)
        .arg("info")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("records:  2 (0 withdrawn)"), "{text}");
    assert!(text.contains("Debian") && text.contains("PyPI"), "{text}");
    assert!(
        text.contains("updated:  ") && text.contains("s ago"),
        "{text}"
    );

    let out = nyscan()
        .args(["db", "info", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"], 2);
    assert_eq!(v["ecosystems"][0]["ecosystem"], "Debian");
    assert_eq!(v["sources"][0]["name"], "osv");
    assert_eq!(v["sources"][0]["records"], 2);
}

#[test]
fn info_without_a_database_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = nyscan()
        .args(["db", "info", "--db"])
        .arg(dir.path().join("none.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no vulnerability database at"), "{stderr}");
    assert!(stderr.contains("nyscan db update"), "{stderr}");
}

#[test]
fn the_default_database_lives_in_the_xdg_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.json"),
        record("NYTEST-CLI-3", "npm", "demo"),
    )
    .unwrap();
    let out = nyscan()
        .args(["db", "import"])
        .arg(dir.path().join("r.json"))
        .env("XDG_DATA_HOME", dir.path().join("xdg"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("xdg/nyscan/vuln.db").is_file());
}

#[test]
fn a_failed_update_names_the_url_and_keeps_the_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.json"),
        record("NYTEST-CLI-4", "npm", "demo"),
    )
    .unwrap();
    let db = dir.path().join("vuln.db");
    assert!(
        nyscan()
            .args(["db", "import"])
            .arg(dir.path().join("r.json"))
            .arg("--db")
            .arg(&db)
            .status()
            .unwrap()
            .success()
    );
    // Nothing listens on port 1 of the loopback address.
    let out = nyscan()
        .args([
            "db",
            "update",
            "--base-url",
            "http://127.0.0.1:1",
            "--ecosystem",
            "Debian",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("http://127.0.0.1:1/Debian/all.zip"),
        "{stderr}"
    );
    let out = nyscan()
        .args(["db", "info", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"], 1);
}
