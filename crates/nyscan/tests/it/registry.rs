//! Images by reference from a real registry (Debian's docker-registry on loopback), through a
//! fault-injecting proxy where the test needs one.

use std::path::PathBuf;
use std::process::Output;

use nyscan_testutil::tree::{compare, source_tree, tar_tree};
use nyscan_testutil::{
    Fault, FaultAction, FaultProxy, TestRegistry, TokenServer, shared_dir, skip,
};

use crate::nyscan;

fn official() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("fixtures/official"))
}

fn run(args: &[&str], env: &[(&str, &std::path::Path)]) -> Output {
    let mut cmd = nyscan();
    cmd.args(args).arg("--no-cache");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// A registry holding the shared fixture image `name` as `nydus/<name>:latest`.
fn registry_with(test: &str, names: &[&str]) -> Option<(TestRegistry, PathBuf)> {
    let Some(official) = official() else {
        skip(
            test,
            &nyscan_testutil::Skip("../shared/fixtures/official is absent".into()),
        );
        return None;
    };
    let registry = match TestRegistry::start() {
        Ok(r) => r,
        Err(reason) => {
            skip(test, &reason);
            return None;
        }
    };
    for name in names {
        registry
            .push_layout(
                &official.join(name).join("oci"),
                &format!("nydus/{name}:latest"),
            )
            .unwrap();
    }
    Some((registry, official))
}

#[test]
fn every_official_image_unpacks_exactly_from_the_registry() {
    let names = [
        "v5-lz4",
        "v5-merged",
        "v5-prefetch",
        "v5-zstd-sha256",
        "v6-batch",
        "v6-lz4-64k",
        "v6-merged",
        "v6-none-sha256",
        "v6-prefetch",
        "v6-zstd",
    ];
    let Some((registry, official)) = registry_with(
        "every_official_image_unpacks_exactly_from_the_registry",
        &names,
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for name in names {
        let tar = tmp.path().join(format!("{name}.tar"));
        let reference = format!("{}/nydus/{name}:latest", registry.host());
        let out = run(
            &[
                "unpack",
                &reference,
                "--stats",
                "--tar",
                tar.to_str().unwrap(),
            ],
            &[],
        );
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = tar_tree(std::fs::File::open(&tar).unwrap());
        // Content hash, kind, mode, owners, size, symlink target, xattrs, hardlinks, rdev;
        // mtimes are compared by the local unpack tests, where the bootstrap says which exist.
        compare(name, &source_tree(&official, name), &ours, &|_| false);
        eprintln!("{name}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
}

/// The bytes of `path` in the shared `v6-zstd` image, read locally.
fn local_content(official: &std::path::Path, path: &str) -> Vec<u8> {
    let out = run(
        &[
            "cat",
            &format!("oci:{}", official.join("v6-zstd/oci").display()),
            path,
        ],
        &[],
    );
    assert!(out.status.success());
    out.stdout
}

#[test]
fn cat_fetches_only_the_chunks_of_the_file() {
    let Some((registry, _)) =
        registry_with("cat_fetches_only_the_chunks_of_the_file", &["v6-zstd"])
    else {
        return;
    };
    let proxy = FaultProxy::start(registry.addr());
    let reference = format!("{}/nydus/v6-zstd:latest", proxy.host());
    let out = run(&["cat", &reference, "/hello.txt", "--stats"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello, nydus\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("fetched: 1 requests, 13 bytes"), "{stderr}");
    // On the wire: manifest, bootstrap layer, then one ranged read of the 2.3 MiB data blob.
    let ranged: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.range.is_some())
        .collect();
    assert_eq!(ranged.len(), 1, "{ranged:?}");
    assert_eq!(ranged[0].status, 206);
}

fn fault(action: FaultAction, times: usize) -> Fault {
    Fault {
        method: Some("GET".into()),
        path_contains: "/blobs/sha256:".into(),
        only_ranged: true,
        times,
        action,
    }
}

#[test]
fn registry_faults_end_in_right_bytes_or_clear_errors() {
    let Some((registry, official)) = registry_with(
        "registry_faults_end_in_right_bytes_or_clear_errors",
        &["v6-zstd"],
    ) else {
        return;
    };
    let expected = local_content(&official, "/sizes/text");
    let proxy = FaultProxy::start(registry.addr());
    let reference = format!("{}/nydus/v6-zstd:latest", proxy.host());
    let cat = || run(&["cat", &reference, "/sizes/text"], &[]);

    // Recovered by retries: the right bytes.
    for action in [
        FaultAction::Status {
            code: 429,
            retry_after: Some(1),
        },
        FaultAction::Status {
            code: 503,
            retry_after: None,
        },
        FaultAction::Status {
            code: 500,
            retry_after: None,
        },
        FaultAction::ResetMidBody,
        FaultAction::ShortBody,
        FaultAction::WrongContentRange,
    ] {
        proxy.clear();
        proxy.inject(fault(action.clone(), 1));
        let out = cat();
        assert!(
            out.status.success(),
            "{action:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout == expected, "{action:?}: wrong bytes");
    }

    // Not recoverable: a clear error, and never wrong bytes on stdout.
    for (action, message) in [
        (FaultAction::IgnoreRange, "Range"),
        (FaultAction::FlipByte { at: 1000 }, "bad chunk"),
        (
            FaultAction::Status {
                code: 404,
                retry_after: None,
            },
            "not found",
        ),
    ] {
        proxy.clear();
        proxy.inject(fault(action.clone(), 100));
        let out = cat();
        assert_eq!(out.status.code(), Some(2), "{action:?}");
        assert!(out.stdout.is_empty(), "{action:?}: bytes were printed");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{action:?}: {stderr}");
        if matches!(action, FaultAction::FlipByte { .. }) {
            // Names the blob and the chunk.
            assert!(
                stderr.contains("6b0bc769cba1da5c70a0c0708c77bcfc837b469a5e933112a596adca05ee40cc"),
                "{stderr}"
            );
        }
    }
}

fn docker_config(dir: &std::path::Path, host: &str, user: &str, password: &str) {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
}

#[test]
fn credentials_from_docker_config_for_basic_and_bearer_auth() {
    let Some(official) = official() else {
        return skip(
            "credentials_from_docker_config_for_basic_and_bearer_auth",
            &nyscan_testutil::Skip("../shared/fixtures/official is absent".into()),
        );
    };
    let registry = match TestRegistry::start_with_htpasswd("alice", "s3cret") {
        Ok(r) => r,
        Err(reason) => {
            return skip(
                "credentials_from_docker_config_for_basic_and_bearer_auth",
                &reason,
            );
        }
    };
    registry
        .push_layout(&official.join("v6-zstd/oci"), "nydus/v6-zstd:latest")
        .unwrap();
    let config = tempfile::tempdir().unwrap();
    let reference = format!("{}/nydus/v6-zstd:latest", registry.host());

    // Basic, with the password from config.json.
    let out = run(
        &["cat", &reference, "/hello.txt"],
        &[("DOCKER_CONFIG", config.path())],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("hint: log in"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    docker_config(config.path(), &registry.host(), "alice", "s3cret");
    let out = run(
        &["cat", &reference, "/hello.txt"],
        &[("DOCKER_CONFIG", config.path())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello, nydus\n");

    // Bearer: the proxy demands a token from the token server, which wants the same
    // credentials; the registry behind it sees no Authorization from us.
    let open = TestRegistry::start().unwrap();
    open.push_layout(&official.join("v6-zstd/oci"), "nydus/v6-zstd:latest")
        .unwrap();
    let proxy = FaultProxy::start(open.addr());
    let tokens = TokenServer::start("bob", "hunter2", "tok-123");
    proxy.require_bearer(&tokens.realm(), "test-registry", "tok-123");
    let config = tempfile::tempdir().unwrap();
    docker_config(config.path(), &proxy.host(), "bob", "hunter2");
    let reference = format!("{}/nydus/v6-zstd:latest", proxy.host());
    let out = run(
        &["cat", &reference, "/hello.txt"],
        &[("DOCKER_CONFIG", config.path())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello, nydus\n");
    assert_eq!(tokens.requests().len(), 1, "one token, reused");
}
