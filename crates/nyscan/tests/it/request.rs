//! `--request`: JSON for every command, equal to `nydus-image inspect` on the shared fields.

use serde_json::Value;

use crate::{boot, fixtures, nyscan, official_images};

fn requests(source: &str, requests: &[&str]) -> Vec<Value> {
    let mut cmd = nyscan();
    cmd.arg("inspect").arg(source);
    for r in requests {
        cmd.arg("--request").arg(r);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{source} {requests:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), requests.len(), "one JSON document per request");
    docs
}

fn upstream(name: &str, what: &str) -> Value {
    let path = fixtures()
        .join("official")
        .join(name)
        .join(format!("inspect.{what}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every field of `expected` appears in `ours` with the same value (ours may add fields).
fn assert_superset(name: &str, what: &str, expected: &Value, ours: &Value) {
    match (expected, ours) {
        (Value::Object(e), Value::Object(o)) => {
            for (k, v) in e {
                let ov = o
                    .get(k)
                    .unwrap_or_else(|| panic!("{name} {what}: field {k} missing"));
                assert_superset(name, what, v, ov);
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            assert_eq!(e.len(), o.len(), "{name} {what}: array length");
            for (e, o) in e.iter().zip(o) {
                assert_superset(name, what, e, o);
            }
        }
        _ => assert_eq!(expected, ours, "{name} {what}"),
    }
}

#[test]
fn stats_blobs_prefetch_match_upstream_on_shared_fields() {
    let names = official_images();
    assert!(names.len() >= 10);
    for name in names {
        let docs = requests(&boot(&name), &["stats", "blobs", "prefetch"]);
        for (what, ours) in ["stats", "blobs", "prefetch"].iter().zip(&docs) {
            assert_superset(&name, what, &upstream(&name, what), ours);
        }
    }
}

#[test]
fn every_command_answers_in_json_for_both_versions() {
    for name in ["v5-lz4", "v6-zstd"] {
        let root = requests(&boot(name), &["stats"])[0]["root_inode"]
            .as_u64()
            .unwrap();
        let icheck_root = format!("icheck {root}");
        let docs = requests(
            &boot(name),
            &[
                "cd /deep/level0/level1",
                "ls",
                "cd ../../../links",
                "stat hardlink",
                "stat /xattrs/file",
                "chunk 178",
                &icheck_root,
                "stat /dev/zero",
            ],
        );
        assert_eq!(docs[0]["cwd"], "/deep/level0/level1");
        assert_eq!(docs[1][0]["name"], "level2");
        assert_eq!(docs[2]["cwd"], "/links");
        let hard = &docs[3];
        assert_eq!(hard["nlink"], 3);
        assert_eq!(hard["kind"], "file");
        assert_eq!(hard["chunks"].as_array().unwrap().len(), 1);
        let xattrs: Vec<&str> = docs[4]["xattrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        assert!(
            xattrs.contains(&"user.comment") && xattrs.contains(&"security.capability"),
            "{xattrs:?}"
        );
        assert!(docs[5].is_array());
        assert_eq!(docs[6]["paths"], serde_json::json!(["/"]));
        assert_eq!(docs[7]["kind"], "char");
        assert_eq!(docs[7]["rdev"], (1 << 8) | 5);
    }
}

#[test]
fn chunk_and_icheck_find_shared_data_and_hardlinks() {
    // In v6-zstd the first chunk of /dedup/one and /dedup/two is stored once, at 178.
    let docs = requests(&boot("v6-zstd"), &["chunk 178", "stat /links/target.txt"]);
    let paths: Vec<&str> = docs[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/dedup/one", "/dedup/two"]);
    let ino = docs[1]["inode"].as_u64().unwrap();
    let icheck = requests(&boot("v6-zstd"), &[&format!("icheck {ino}")]);
    let paths: Vec<&str> = icheck[0]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/hardlink-at-root", "/links/hardlink", "/links/target.txt"]
    );
}

#[test]
fn oci_layout_sources_read_like_the_bootstrap_file() {
    let layout = format!("oci:{}", fixtures().join("oci/v6-merged").display());
    let from_layout = requests(&layout, &["stats", "blobs"]);
    let from_file = requests(&boot("v6-merged"), &["stats", "blobs"]);
    assert_eq!(from_layout, from_file);
}
