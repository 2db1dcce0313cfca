//! `nyscan cat` and `nyscan unpack` on the image shipped in fixtures/oci.

use crate::{fixtures, nyscan};

fn layout() -> String {
    format!("oci:{}", fixtures().join("oci/v6-merged").display())
}

#[test]
fn cat_prints_a_file_and_counts_what_it_fetched() {
    let out = nyscan()
        .args(["cat", &layout(), "/hello.txt", "--stats", "--no-cache"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello, nydus (changed in layer 2)\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("fetched: 1 requests"), "{stderr}");

    // A warm cache answers without requests.
    let cache = tempfile::tempdir().unwrap();
    for expected in ["fetched: 1 requests", "fetched: 0 requests"] {
        let out = nyscan()
            .args([
                "cat",
                &layout(),
                "/etc/os-release",
                "--stats",
                "--cache-dir",
            ])
            .arg(cache.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("ID=debian"));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn cat_refuses_what_is_not_a_file() {
    for (path, message) in [
        ("/etc", "is a dir, not a regular file"),
        ("/nope", "no such file in the image"),
    ] {
        let out = nyscan()
            .args(["cat", &layout(), path, "--no-cache"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{stderr}");
    }
}

#[test]
fn unpack_writes_a_tar_and_a_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let tar_path = tmp.path().join("image.tar");
    let out = nyscan()
        .args(["unpack", &layout(), "--no-cache", "--stats", "--tar"])
        .arg(&tar_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unpacked: 92 entries"));
    let mut archive = tar::Archive::new(std::fs::File::open(&tar_path).unwrap());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names.len(), 92);
    assert!(
        names
            .iter()
            .any(|n| n.trim_start_matches("./") == "new/added.txt"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("dangling")),
        "the whiteout applied"
    );

    if !nix_is_root() {
        eprintln!("SKIPPED: unpack to a directory: needs root for owners and devices");
        return;
    }
    let dest = tmp.path().join("tree");
    let out = nyscan()
        .args(["unpack", &layout(), "--no-cache"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(dest.join("new/added.txt")).unwrap(),
        b"added in layer 2\n"
    );
    // A second unpack into the same, now non-empty, directory is refused.
    let out = nyscan()
        .args(["unpack", &layout(), "--no-cache"])
        .arg(&dest)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}
