//! The registry client against a real `docker-registry` (distribution v2.8), with faults
//! injected by a proxy in front of it. Each test prints `SKIPPED: ...` and passes when the
//! registry (or skopeo) is not installed.

use std::io::Cursor;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nyscan_oci::manifest::{MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST, Platform};
use nyscan_oci::registry::{
    ClientOptions, Credentials, RegistryBlobSource, RegistryClient, RegistryError,
    load_registry_bootstrap, sha256_digest,
};
use nyscan_oci::{Error, RegistryRef};
use nyscan_source::{BlobSource, SourceError};
use nyscan_testutil::{
    Fault, FaultAction, FaultProxy, RequestLog, Skip, TestRegistry, TokenServer, fixtures, skip,
    skopeo_push,
};

const REPO: &str = "nydus/v6-merged";
const MANIFEST_DIGEST: &str =
    "sha256:edd62b3bbb80fbeb7739000d2e6773d0f6391bb92fa6e639110be72790abbc13";
/// The 2.4 MB Nydus blob layer of fixtures/oci/v6-merged.
const BIG_BLOB: &str = "sha256:b3eae950e917e730e9c2469a3f15098d18541031ff215d0132fc6a0f557a8781";
/// The 8102-byte Nydus blob layer.
const SMALL_BLOB: &str = "sha256:33ac1b29576298f3dc8a9fee02af205a157acf189d1aedddcc4ce7fb2384ddf2";
/// The bootstrap layer (gzip tar).
const BOOT_LAYER: &str = "sha256:8812e64ac27c1f0ebf57fb620179089db8df3027d682169321789e7855be7fbe";

fn layout() -> PathBuf {
    fixtures().join("oci/v6-merged")
}

fn blob_bytes(digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(layout().join("blobs/sha256").join(hex)).unwrap()
}

fn expected_boot() -> Vec<u8> {
    std::fs::read(fixtures().join("official/v6-merged/boot")).unwrap()
}

fn platform() -> Platform {
    Platform::parse("linux/amd64").unwrap()
}

/// Options for tests: anonymous, short backoff.
fn opts() -> ClientOptions {
    ClientOptions {
        credentials: Credentials::Anonymous,
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        timeout: Duration::from_secs(20),
        ..ClientOptions::default()
    }
}

fn client(host: &str) -> RegistryClient {
    RegistryClient::new(host, opts()).unwrap()
}

fn reference(host: &str, repo: &str, tag: &str) -> RegistryRef {
    RegistryRef {
        registry: host.to_owned(),
        repository: repo.to_owned(),
        tag: Some(tag.to_owned()),
        digest: None,
    }
}

fn need_skopeo() -> Result<(), Skip> {
    if Path::new("/usr/bin/skopeo").exists() {
        Ok(())
    } else {
        Err(Skip(
            "skopeo not installed (run ../shared/tools/install-peers.sh)".into(),
        ))
    }
}

/// A registry holding fixtures/oci/v6-merged as `nydus/v6-merged:latest`.
fn registry_with_image() -> Result<TestRegistry, Skip> {
    let reg = TestRegistry::start()?;
    need_skopeo()?;
    reg.push_layout(&layout(), &format!("{REPO}:latest"))
        .unwrap_or_else(|e| panic!("push_layout: {e}"));
    Ok(reg)
}

macro_rules! setup {
    ($name:literal, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reason) => return skip($name, &reason),
        }
    };
}

fn fault(path_contains: &str, only_ranged: bool, times: usize, action: FaultAction) -> Fault {
    Fault {
        method: Some("GET".into()),
        path_contains: path_contains.into(),
        only_ranged,
        times,
        action,
    }
}

/// The proxy's log of requests whose path contains `part`.
fn log_of(proxy: &FaultProxy, part: &str) -> Vec<RequestLog> {
    proxy
        .requests()
        .into_iter()
        .filter(|r| r.path.contains(part))
        .collect()
}

#[test]
fn loads_the_bootstrap_and_reads_ranges() {
    let reg = setup!(
        "loads_the_bootstrap_and_reads_ranges",
        registry_with_image()
    );
    let c = client(&reg.host());
    let (image, boot) =
        load_registry_bootstrap(&c, &reference(&reg.host(), REPO, "latest"), &platform()).unwrap();
    assert_eq!(boot, expected_boot());
    assert_eq!(image.manifest_digest, MANIFEST_DIGEST);
    assert_eq!(image.index_digest, None);
    assert_eq!(image.manifest.layers.len(), 3);
    assert_eq!(image.media_type.as_deref(), Some(MEDIA_TYPE_OCI_MANIFEST));

    // By digest too, and the config.
    let mut by_digest = c.resolve(REPO, MANIFEST_DIGEST, &platform()).unwrap();
    assert_eq!(by_digest.manifest, image.manifest);
    let config = c.fetch_config(&mut by_digest).unwrap().to_vec();
    assert_eq!(config, blob_bytes(&image.manifest.config.digest));

    // Ranges equal the layout's bytes.
    let big = blob_bytes(BIG_BLOB);
    let n = big.len() as u64;
    for (off, len) in [
        (0, 1),
        (0, 4096),
        (1_000_000, 65_536),
        (n - 7, 7),
        (0, n),
        (12_345, 1),
    ] {
        let got = c.blob_range(REPO, BIG_BLOB, off, len).unwrap();
        assert_eq!(got, &big[off as usize..(off + len) as usize], "{off}+{len}");
    }
    assert_eq!(c.blob_size(REPO, BIG_BLOB).unwrap(), n);
    assert!(c.blob_range(REPO, BIG_BLOB, 5, 0).unwrap().is_empty());

    // Past the end: the registry cuts the range at the blob's end (206) or answers 416.
    for (off, len) in [(n - 5, 10), (n, 1), (n + 100, 5)] {
        let err = c.blob_range(REPO, BIG_BLOB, off, len).unwrap_err();
        assert!(
            matches!(err, RegistryError::OutOfRange { size: Some(s), .. } if s == n),
            "{off}+{len}: {err:?}"
        );
    }

    // As a BlobSource.
    let src = RegistryBlobSource::new(c.clone(), REPO).unwrap();
    let id = BIG_BLOB.strip_prefix("sha256:").unwrap();
    assert_eq!(src.blob_size(id).unwrap(), n);
    assert_eq!(src.read_range(id, 100, 50).unwrap(), &big[100..150]);
    assert_eq!(src.counters().requests(), 1);
    assert_eq!(src.counters().bytes(), 50);
    assert!(matches!(
        src.read_range(id, n - 1, 2),
        Err(SourceError::OutOfRange { size, .. }) if size == n
    ));
    assert!(matches!(
        src.read_range(&"0".repeat(64), 0, 1),
        Err(SourceError::NotFound { .. })
    ));
    assert!(matches!(
        src.read_range("../x", 0, 1),
        Err(SourceError::InvalidId(_))
    ));
    // Sizes from the manifest spare the HEAD, and the unseen blob's size is checked locally.
    let src = RegistryBlobSource::new(c, REPO)
        .unwrap()
        .with_manifest_sizes(&image.manifest);
    let small = SMALL_BLOB.strip_prefix("sha256:").unwrap();
    assert_eq!(src.blob_size(small).unwrap(), 8102);
    assert!(matches!(
        src.read_range(small, 8100, 3),
        Err(SourceError::OutOfRange { size: 8102, .. })
    ));
    assert_eq!(src.counters().requests(), 0);
}

#[test]
fn shared_by_threads() {
    let reg = setup!("shared_by_threads", registry_with_image());
    let proxy = FaultProxy::start(reg.addr());
    let src = Arc::new(RegistryBlobSource::new(client(&proxy.host()), REPO).unwrap());
    let big = Arc::new(blob_bytes(BIG_BLOB));
    let id = BIG_BLOB.strip_prefix("sha256:").unwrap();
    // Some requests fail on the way; every read still returns the right bytes.
    proxy.inject(fault(id, true, 3, FaultAction::ResetMidBody));
    proxy.inject(fault(
        id,
        true,
        3,
        FaultAction::Status {
            code: 503,
            retry_after: None,
        },
    ));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (src, big) = (Arc::clone(&src), Arc::clone(&big));
            std::thread::spawn(move || {
                for i in 0..8u64 {
                    let off = (t * 8 + i) * 70_000;
                    let got = src.read_range(id, off, 10_000).unwrap();
                    assert_eq!(got, &big[off as usize..off as usize + 10_000]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(src.counters().requests(), 32);
    assert_eq!(src.counters().bytes(), 320_000);
}

#[test]
fn retries_429_after_the_delay_asked() {
    let reg = setup!("retries_429_after_the_delay_asked", registry_with_image());
    let proxy = FaultProxy::start(reg.addr());
    let c = client(&proxy.host());
    proxy.inject(fault(
        BIG_BLOB,
        true,
        1,
        FaultAction::Status {
            code: 429,
            retry_after: Some(1),
        },
    ));
    let start = Instant::now();
    let got = c.blob_range(REPO, BIG_BLOB, 10, 20).unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(got, &blob_bytes(BIG_BLOB)[10..30]);
    let statuses: Vec<u16> = log_of(&proxy, BIG_BLOB).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 206]);
    assert_eq!(
        log_of(&proxy, BIG_BLOB)[1].range.as_deref(),
        Some("bytes=10-29")
    );
}

#[test]
fn retries_server_errors_then_gives_up() {
    let reg = setup!("retries_server_errors_then_gives_up", registry_with_image());
    let proxy = FaultProxy::start(reg.addr());
    let c = client(&proxy.host());
    let status = |code| FaultAction::Status {
        code,
        retry_after: None,
    };
    proxy.inject(fault(BIG_BLOB, true, 1, status(500)));
    proxy.inject(fault(BIG_BLOB, true, 1, status(503)));
    assert_eq!(
        c.blob_range(REPO, BIG_BLOB, 0, 100).unwrap(),
        &blob_bytes(BIG_BLOB)[..100]
    );
    let statuses: Vec<u16> = log_of(&proxy, BIG_BLOB).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 503, 206]);

    // Manifests are retried too.
    proxy.inject(fault("/manifests/", false, 2, status(502)));
    c.resolve(REPO, "latest", &platform()).unwrap();

    // Always 503: max_retries (2 here) retries, then the error names everything.
    proxy.inject(fault(BIG_BLOB, true, 100, status(503)));
    let c = RegistryClient::new(
        &proxy.host(),
        ClientOptions {
            max_retries: 2,
            ..opts()
        },
    )
    .unwrap();
    let before = log_of(&proxy, BIG_BLOB).len();
    let err = c.blob_range(REPO, BIG_BLOB, 0, 100).unwrap_err();
    assert!(
        matches!(err, RegistryError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(log_of(&proxy, BIG_BLOB).len() - before, 3);
    let msg = err.to_string();
    for part in [
        "read blob range",
        &format!("{}/{REPO}@{BIG_BLOB}", proxy.host()),
        "bytes=0-99",
        "after 3 attempts",
        "HTTP 503",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
}

#[test]
fn retries_broken_bodies() {
    let reg = setup!("retries_broken_bodies", registry_with_image());
    let proxy = FaultProxy::start(reg.addr());
    let c = client(&proxy.host());
    let big = blob_bytes(BIG_BLOB);
    for action in [
        FaultAction::ResetMidBody,
        FaultAction::ShortBody,
        FaultAction::WrongContentRange,
    ] {
        proxy.clear();
        proxy.inject(fault(BIG_BLOB, true, 1, action.clone()));
        let before = log_of(&proxy, BIG_BLOB).len();
        let got = c.blob_range(REPO, BIG_BLOB, 1000, 300_000).unwrap();
        assert_eq!(got, &big[1000..301_000], "{action:?}");
        assert_eq!(log_of(&proxy, BIG_BLOB).len() - before, 2, "{action:?}");
    }
    // A Content-Range that is always wrong: retried, then a clear error.
    proxy.clear();
    proxy.inject(fault(BIG_BLOB, true, 100, FaultAction::WrongContentRange));
    let err = c.blob_range(REPO, BIG_BLOB, 1000, 10).unwrap_err();
    assert!(
        matches!(&err, RegistryError::BadContentRange { got: Some(g), .. } if g != "bytes 1000-1009/2431545"),
        "{err:?}"
    );
    assert!(err.to_string().contains("after 5 attempts"), "{err}");
    // A body always cut short.
    proxy.clear();
    proxy.inject(fault(BIG_BLOB, true, 100, FaultAction::ShortBody));
    let err = c.blob_range(REPO, BIG_BLOB, 1000, 10).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Body { .. } | RegistryError::BodyLength { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn refuses_a_registry_that_ignores_ranges() {
    let reg = setup!(
        "refuses_a_registry_that_ignores_ranges",
        registry_with_image()
    );
    let proxy = FaultProxy::start(reg.addr());
    let c = client(&proxy.host());
    // Once: the retry gets its 206.
    proxy.inject(fault(BIG_BLOB, true, 1, FaultAction::IgnoreRange));
    assert_eq!(
        c.blob_range(REPO, BIG_BLOB, 5, 5).unwrap(),
        &blob_bytes(BIG_BLOB)[5..10]
    );
    // Always: one retry, then the error of its own kind.
    proxy.inject(fault(BIG_BLOB, true, 100, FaultAction::IgnoreRange));
    let before = log_of(&proxy, BIG_BLOB).len();
    let err = c.blob_range(REPO, BIG_BLOB, 5, 5).unwrap_err();
    assert!(matches!(err, RegistryError::RangeIgnored { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("registry ignored the Range header"),
        "{err}"
    );
    assert_eq!(log_of(&proxy, BIG_BLOB).len() - before, 2);
}

#[test]
fn not_found_names_the_digest() {
    let reg = setup!("not_found_names_the_digest", registry_with_image());
    let proxy = FaultProxy::start(reg.addr());
    let c = client(&proxy.host());
    let missing = format!("sha256:{}", "e".repeat(64));
    for err in [
        c.blob_range(REPO, &missing, 0, 10).unwrap_err(),
        c.fetch_blob(REPO, &missing, 100).unwrap_err(),
        c.blob_size(REPO, &missing).unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&missing) && msg.contains(REPO), "{msg}");
    }
    assert!(!c.blob_exists(REPO, &missing).unwrap());
    let err = c.blob_range(REPO, &missing, 0, 10).unwrap_err().to_string();
    assert!(err.contains("BLOB_UNKNOWN"), "{err}");
    // A 404 is not retried.
    assert_eq!(
        log_of(&proxy, &missing)
            .iter()
            .filter(|r| r.method == "GET")
            .count(),
        3
    );
    // Unknown tags and repositories.
    let err = c.resolve(REPO, "nope", &platform()).unwrap_err();
    assert!(
        err.is_not_found() && err.to_string().contains(":nope"),
        "{err}"
    );
    let err = c.resolve("no/such", "latest", &platform()).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // An injected 404 on an existing blob.
    proxy.inject(fault(
        SMALL_BLOB,
        true,
        1,
        FaultAction::Status {
            code: 404,
            retry_after: None,
        },
    ));
    let err = c.blob_range(REPO, SMALL_BLOB, 0, 10).unwrap_err();
    assert!(
        err.is_not_found() && err.to_string().contains(SMALL_BLOB),
        "{err}"
    );
}

#[test]
fn whole_blobs_are_verified() {
    let reg = setup!("whole_blobs_are_verified", registry_with_image());
    let proxy = FaultProxy::start(reg.addr());
    let c = client(&proxy.host());
    assert_eq!(
        c.fetch_blob(REPO, SMALL_BLOB, 1 << 20).unwrap(),
        blob_bytes(SMALL_BLOB)
    );
    // Bounded: a blob over the limit is refused without reading it all.
    let err = c.fetch_blob(REPO, BIG_BLOB, 1000).unwrap_err();
    assert!(
        matches!(err, RegistryError::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );

    proxy.inject(fault(
        SMALL_BLOB,
        false,
        100,
        FaultAction::FlipByte { at: 100 },
    ));
    let err = c.fetch_blob(REPO, SMALL_BLOB, 1 << 20).unwrap_err();
    assert!(
        matches!(&err, RegistryError::DigestMismatch { expected, .. } if expected == SMALL_BLOB),
        "{err:?}"
    );
    // The bootstrap layer too.
    proxy.inject(fault(
        BOOT_LAYER,
        false,
        100,
        FaultAction::FlipByte { at: 7 },
    ));
    let err = load_registry_bootstrap(&c, &reference(&proxy.host(), REPO, "latest"), &platform())
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(BOOT_LAYER), "{err}");
    // A flipped byte in a manifest fetched by digest.
    proxy.inject(fault(
        MANIFEST_DIGEST,
        false,
        100,
        FaultAction::FlipByte { at: 50 },
    ));
    let err = c.resolve(REPO, MANIFEST_DIGEST, &platform()).unwrap_err();
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
}

/// An OCI image layout with one gzip tar layer: a plain image.
fn plain_layout(dir: &Path) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "hello.txt", &b"hello\n"[..])
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let layer = gz.finish().unwrap();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        sha256_digest(&tar)
    )
    .into_bytes();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}",
            "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},
            "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
        sha256_digest(&config),
        config.len(),
        sha256_digest(&layer),
        layer.len()
    )
    .into_bytes();
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    for b in [&layer, &config, &manifest] {
        let d = sha256_digest(b);
        std::fs::write(blobs.join(d.strip_prefix("sha256:").unwrap()), b).unwrap();
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}","digest":"{}","size":{},
                "annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#,
            sha256_digest(&manifest),
            manifest.len()
        ),
    )
    .unwrap();
}

#[test]
fn plain_images_are_not_nydus() {
    let reg = setup!("plain_images_are_not_nydus", TestRegistry::start());
    setup!("plain_images_are_not_nydus", need_skopeo());
    let dir = tempfile::tempdir().unwrap();
    plain_layout(dir.path());
    reg.push_layout(dir.path(), "plain/alpine:1").unwrap();
    let c = client(&reg.host());
    let err = load_registry_bootstrap(
        &c,
        &reference(&reg.host(), "plain/alpine", "1"),
        &platform(),
    )
    .unwrap_err();
    assert!(
        matches!(err, RegistryError::Image(Error::NotNydus { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("this is not a Nydus image"),
        "{err}"
    );
    // A client for another host is refused.
    let err =
        load_registry_bootstrap(&c, &reference("other:5000", "a", "b"), &platform()).unwrap_err();
    assert!(matches!(err, RegistryError::InvalidInput { .. }), "{err}");
}

#[test]
fn basic_auth_with_htpasswd() {
    let reg = setup!(
        "basic_auth_with_htpasswd",
        TestRegistry::start_with_htpasswd("alice", "s3cr:et")
    );
    setup!("basic_auth_with_htpasswd", need_skopeo());
    reg.push_layout(&layout(), &format!("{REPO}:latest"))
        .unwrap();
    let r = reference(&reg.host(), REPO, "latest");
    let with = |credentials| {
        RegistryClient::new(
            &reg.host(),
            ClientOptions {
                credentials,
                ..opts()
            },
        )
        .unwrap()
    };
    let basic = |p: &str| Credentials::Basic {
        username: "alice".into(),
        password: p.into(),
    };
    let (_, boot) = load_registry_bootstrap(&with(basic("s3cr:et")), &r, &platform()).unwrap();
    assert_eq!(boot, expected_boot());

    let err = load_registry_bootstrap(&with(Credentials::Anonymous), &r, &platform()).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("none are configured"), "{err}");

    let err = load_registry_bootstrap(&with(basic("wrong")), &r, &platform()).unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(
        err.to_string()
            .contains("refused the password of user \"alice\""),
        "{err}"
    );

    // docker config.json: `auth`, and `username`/`password`, keyed by host or by URL.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let docker = || with(Credentials::DockerConfigFile(path.clone()));
    for config in [
        format!(
            r#"{{"auths":{{"{}":{{"auth":"YWxpY2U6czNjcjpldA=="}}}}}}"#,
            reg.host()
        ),
        format!(
            r#"{{"auths":{{"http://{}":{{"username":"alice","password":"s3cr:et"}}}}}}"#,
            reg.host()
        ),
        format!(
            r#"{{"auths":{{"https://{}/v1/":{{"auth":"YWxpY2U6czNjcjpldA=="}}}}}}"#,
            reg.host()
        ),
    ] {
        std::fs::write(&path, &config).unwrap();
        let (_, boot) = load_registry_bootstrap(&docker(), &r, &platform())
            .unwrap_or_else(|e| panic!("{config}: {e}"));
        assert_eq!(boot, expected_boot());
    }
    // An identity token: a clear "not supported" when the registry asks for credentials.
    std::fs::write(
        &path,
        format!(
            r#"{{"auths":{{"{}":{{"identitytoken":"xyz"}}}}}}"#,
            reg.host()
        ),
    )
    .unwrap();
    let err = load_registry_bootstrap(&docker(), &r, &platform()).unwrap_err();
    assert!(
        err.is_auth() && err.to_string().contains("identity token"),
        "{err}"
    );
    // No config file at all: anonymous.
    std::fs::remove_file(&path).unwrap();
    let err = load_registry_bootstrap(&docker(), &r, &platform()).unwrap_err();
    assert!(err.is_auth(), "{err}");
}

#[test]
fn bearer_tokens_are_fetched_once_and_reused() {
    let reg = setup!(
        "bearer_tokens_are_fetched_once_and_reused",
        registry_with_image()
    );
    let tokens = TokenServer::start("bob", "pw", "tok-123");
    let proxy = FaultProxy::start(reg.addr());
    proxy.require_bearer(&tokens.realm(), "test-registry", "tok-123");
    let with = |credentials| {
        RegistryClient::new(
            &proxy.host(),
            ClientOptions {
                credentials,
                ..opts()
            },
        )
        .unwrap()
    };
    let c = with(Credentials::Basic {
        username: "bob".into(),
        password: "pw".into(),
    });
    let (image, boot) =
        load_registry_bootstrap(&c, &reference(&proxy.host(), REPO, "latest"), &platform())
            .unwrap();
    assert_eq!(boot, expected_boot());
    let src = RegistryBlobSource::new(c.clone(), REPO)
        .unwrap()
        .with_manifest_sizes(&image.manifest);
    let id = BIG_BLOB.strip_prefix("sha256:").unwrap();
    for i in 0..5 {
        src.read_range(id, i * 1000, 1000).unwrap();
    }
    let reqs = tokens.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert!(
        reqs[0].contains("service=test-registry")
            && reqs[0].contains(&format!(
                "scope=repository%3A{}%3Apull",
                REPO.replace('/', "%2F")
            )),
        "{reqs:?}"
    );
    // Only the first request went without the token; none carried the password.
    let log = proxy.requests();
    assert!(log.len() >= 8, "{log:?}");
    assert_eq!(log[0].authorization, None);
    for r in &log[1..] {
        assert_eq!(r.authorization.as_deref(), Some("Bearer tok-123"), "{r:?}");
    }
    // A push needs a wider scope: one more token.
    let d = c
        .push_blob("nydus/pushed", b"pushed through a token")
        .unwrap();
    // Reading it back reuses the pull-and-push token.
    assert_eq!(
        c.fetch_blob("nydus/pushed", &d, 100).unwrap(),
        b"pushed through a token"
    );
    assert_eq!(tokens.requests().len(), 2, "{:?}", tokens.requests());
    assert!(tokens.requests()[1].contains("pull%2Cpush"));

    // The registry moves to another token server: the cached token meets a new 401, is
    // dropped, and a token from the new realm is fetched.
    let tokens2 = TokenServer::start("bob", "pw", "tok-456");
    proxy.require_bearer(&tokens2.realm(), "test-registry", "tok-456");
    assert_eq!(
        src.read_range(id, 0, 10).unwrap(),
        &blob_bytes(BIG_BLOB)[..10]
    );
    assert_eq!(tokens2.requests().len(), 1);
    assert_eq!(
        proxy.requests().last().unwrap().authorization.as_deref(),
        Some("Bearer tok-456")
    );
    // A token server whose tokens the registry refuses: an error, not a loop.
    proxy.require_bearer(&tokens.realm(), "test-registry", "tok-other");
    let err = src.read_range(id, 0, 10).unwrap_err();
    let SourceError::Read { source, .. } = &err else {
        panic!("{err:?}")
    };
    let err = source.downcast_ref::<RegistryError>().unwrap();
    assert!(
        err.is_auth() && err.to_string().contains("refused the token just issued"),
        "{err}"
    );
    proxy.require_bearer(&tokens.realm(), "test-registry", "tok-123");

    // Without credentials the token server refuses: an auth error naming the realm.
    let err = with(Credentials::Anonymous)
        .blob_range(REPO, BIG_BLOB, 0, 1)
        .unwrap_err();
    assert!(matches!(err, RegistryError::Token { .. }), "{err:?}");
    assert!(
        err.is_auth() && err.to_string().contains(&tokens.realm()),
        "{err}"
    );
}

/// A free loopback port (it may be taken again before it is used; tests that race for one
/// fail loudly, not wrongly).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A docker-registry of our own (for configurations [`TestRegistry`] does not offer), with
/// storage in `dir/data` and `extra` appended to its config (top-level YAML sections).
fn start_own_registry(
    dir: &Path,
    extra: &str,
    http_extra: &str,
) -> Result<(Proc, SocketAddr), Skip> {
    if !Path::new("/usr/bin/docker-registry").exists() {
        return Err(Skip("docker-registry not installed".into()));
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: \"{}\"\n\
             {extra}http:\n  addr: {addr}\n  secret: test\n{http_extra}",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let child = Command::new("/usr/bin/docker-registry")
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc(child);
    wait_for(addr);
    Ok((p, addr))
}

/// docker-registry with the `redirect` storage middleware: blob GETs and HEADs answer 307
/// to `baseurl` + the storage path, as registries in front of a CDN or object store do.
fn start_redirecting_registry(dir: &Path, baseurl: &str) -> Result<(Proc, SocketAddr), Skip> {
    start_own_registry(
        dir,
        &format!(
            "middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: \"{baseurl}\"\n"
        ),
        "",
    )
}

#[test]
fn https_with_and_without_verification() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        return skip(
            "https_with_and_without_verification",
            &Skip("openssl cannot make a certificate".into()),
        );
    }
    let (_reg, addr) = setup!(
        "https_with_and_without_verification",
        start_own_registry(
            dir.path(),
            "",
            &format!(
                "  tls:\n    certificate: \"{}\"\n    key: \"{}\"\n",
                cert.display(),
                key.display()
            ),
        )
    );
    let with = |insecure| {
        RegistryClient::new(
            &addr.to_string(),
            ClientOptions {
                plain_http: Some(false),
                insecure,
                max_retries: 0,
                ..opts()
            },
        )
        .unwrap()
    };
    let c = with(true);
    assert!(!c.is_plain_http());
    let d = c.push_blob("tls/a", b"over TLS").unwrap();
    assert_eq!(c.fetch_blob("tls/a", &d, 100).unwrap(), b"over TLS");
    assert_eq!(c.blob_range("tls/a", &d, 5, 3).unwrap(), b"TLS");
    // Verifying, the self-signed certificate is refused.
    let err = with(false).fetch_blob("tls/a", &d, 100).unwrap_err();
    assert!(matches!(err, RegistryError::Transport { .. }), "{err:?}");
    let mut chain = err.to_string();
    let mut cur = std::error::Error::source(&err);
    while let Some(c) = cur {
        chain.push_str(&format!(": {c}"));
        cur = c.source();
    }
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");
}

#[test]
fn redirects_never_carry_the_registry_credentials() {
    // The "CDN": python's file server over the registry's storage directory, behind a
    // logging proxy. The registry redirects blob reads there.
    setup!(
        "redirects_never_carry_the_registry_credentials",
        need_skopeo()
    );
    let Ok(python) = which("python3") else {
        return skip(
            "redirects_never_carry_the_registry_credentials",
            &Skip("python3 not installed".into()),
        );
    };
    let storage = tempfile::tempdir().unwrap();
    std::fs::create_dir(storage.path().join("data")).unwrap();
    let cdn_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _cdn = Proc(
        Command::new(python)
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(storage.path().join("data"))
            .arg(cdn_addr.port().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(cdn_addr);
    let cdn = FaultProxy::start(cdn_addr);
    let (_reg, reg_addr) = setup!(
        "redirects_never_carry_the_registry_credentials",
        start_redirecting_registry(storage.path(), &format!("http://{}/", cdn.host()))
    );
    skopeo_push(
        &layout(),
        &reg_addr.to_string(),
        &format!("{REPO}:latest"),
        None,
    )
    .unwrap();

    let tokens = TokenServer::start("bob", "pw", "tok-9");
    let front = FaultProxy::start(reg_addr);
    front.require_bearer(&tokens.realm(), "svc", "tok-9");
    let c = RegistryClient::new(
        &front.host(),
        ClientOptions {
            credentials: Credentials::Basic {
                username: "bob".into(),
                password: "pw".into(),
            },
            ..opts()
        },
    )
    .unwrap();
    let (_, boot) =
        load_registry_bootstrap(&c, &reference(&front.host(), REPO, "latest"), &platform())
            .unwrap();
    assert_eq!(boot, expected_boot());
    assert_eq!(c.blob_size(REPO, BIG_BLOB).unwrap(), 2431545);
    assert_eq!(
        c.fetch_blob(REPO, SMALL_BLOB, 1 << 20).unwrap(),
        blob_bytes(SMALL_BLOB)
    );
    // The registry saw the token; the CDN saw the redirected reads and no credentials.
    assert!(
        log_of(&front, "/blobs/")
            .iter()
            .all(|r| r.status == 401 || r.status == 307),
        "{:?}",
        front.requests()
    );
    let cdn_log = cdn.requests();
    assert!(cdn_log.len() >= 3, "{cdn_log:?}");
    for r in &cdn_log {
        assert_eq!(r.authorization, None, "{r:?}");
        assert!(r.path.starts_with("/docker/registry/v2/blobs/"), "{r:?}");
    }
    // python's server ignores Range: a range read through the redirect is refused clearly.
    let err = c.blob_range(REPO, BIG_BLOB, 10, 10).unwrap_err();
    assert!(matches!(err, RegistryError::RangeIgnored { .. }), "{err:?}");
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

/// Deterministic test data.
fn data(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn pushes_blobs_whole_and_in_chunks() {
    let reg = setup!("pushes_blobs_whole_and_in_chunks", TestRegistry::start());
    let proxy = FaultProxy::start(reg.addr());
    let c = client(&proxy.host());

    let a = data(100_000, 1);
    let d = c.push_blob("push/a", &a).unwrap();
    assert_eq!(d, sha256_digest(&a));
    assert_eq!(c.fetch_blob("push/a", &d, 1 << 20).unwrap(), a);
    // Again: HEAD says it exists, nothing is uploaded.
    let before = proxy.requests().len();
    assert_eq!(c.push_blob("push/a", &a).unwrap(), d);
    let new: Vec<String> = proxy.requests()[before..]
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(new, ["HEAD"]);

    // Chunked: 100 001 bytes in 30 000-byte chunks = 4 PATCHes.
    let b = data(100_001, 2);
    let before = proxy.requests().len();
    let d = c
        .push_blob_chunked("push/b", Cursor::new(&b), 30_000)
        .unwrap();
    assert_eq!(d, sha256_digest(&b));
    let methods: Vec<String> = proxy.requests()[before..]
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(
        methods,
        ["HEAD", "POST", "PATCH", "PATCH", "PATCH", "PATCH", "PUT"]
    );
    assert_eq!(
        c.blob_range("push/b", &d, 29_990, 20).unwrap(),
        &b[29_990..30_010]
    );
    assert_eq!(c.fetch_blob("push/b", &d, 1 << 20).unwrap(), b);

    // Empty blobs, both ways.
    let e = c
        .push_blob_chunked("push/e", Cursor::new(Vec::new()), 10)
        .unwrap();
    assert_eq!(e, sha256_digest(b""));
    assert_eq!(c.push_blob("push/e2", b"").unwrap(), e);
    assert!(c.fetch_blob("push/e2", &e, 0).unwrap().is_empty());

    // A chunk that fails: the upload starts over in a new session.
    let f = data(50_000, 3);
    proxy.inject(Fault {
        method: Some("PATCH".into()),
        path_contains: "/blobs/uploads/".into(),
        only_ranged: false,
        times: 1,
        action: FaultAction::Status {
            code: 500,
            retry_after: None,
        },
    });
    let d = c
        .push_blob_chunked("push/f", Cursor::new(&f), 20_000)
        .unwrap();
    assert_eq!(c.fetch_blob("push/f", &d, 1 << 20).unwrap(), f);
    // And a monolithic PUT that fails once.
    proxy.inject(Fault {
        method: Some("PUT".into()),
        path_contains: "/blobs/uploads/".into(),
        only_ranged: false,
        times: 1,
        action: FaultAction::Status {
            code: 503,
            retry_after: None,
        },
    });
    let g = data(5000, 4);
    let d = c.push_blob("push/g", &g).unwrap();
    assert_eq!(c.fetch_blob("push/g", &d, 1 << 20).unwrap(), g);
    assert!(c.push_blob_chunked("push/g", Cursor::new(&g), 0).is_err());
}

#[test]
fn mounts_blobs_across_repositories() {
    let reg = setup!("mounts_blobs_across_repositories", TestRegistry::start());
    let proxy = FaultProxy::start(reg.addr());
    let c = client(&proxy.host());
    let a = data(10_000, 5);
    let d = c.push_blob("mount/src", &a).unwrap();
    assert!(!c.blob_exists("mount/dst", &d).unwrap());
    assert!(c.mount_blob("mount/dst", "mount/src", &d).unwrap());
    assert_eq!(c.fetch_blob("mount/dst", &d, 1 << 20).unwrap(), a);
    // A blob the source does not have: the registry opens an upload session instead, which
    // is cancelled.
    let missing = format!("sha256:{}", "f".repeat(64));
    assert!(!c.mount_blob("mount/dst", "mount/src", &missing).unwrap());
    let log = proxy.requests();
    let last_two: Vec<(&str, u16)> = log[log.len() - 2..]
        .iter()
        .map(|r| (r.method.as_str(), r.status))
        .collect();
    assert_eq!(last_two, [("POST", 202), ("DELETE", 204)]);
    assert!(!c.blob_exists("mount/dst", &missing).unwrap());
}

#[test]
fn pushed_manifests_and_indexes_resolve() {
    let reg = setup!(
        "pushed_manifests_and_indexes_resolve",
        TestRegistry::start()
    );
    let c = client(&reg.host());
    let repo = "copy/v6-merged";
    // Copy the fixture image with this client's own writes.
    let manifest = blob_bytes(MANIFEST_DIGEST);
    let parsed: nyscan_oci::manifest::ImageManifest = serde_json::from_slice(&manifest).unwrap();
    for desc in parsed.layers.iter().chain([&parsed.config]) {
        let bytes = blob_bytes(&desc.digest);
        let d = if bytes.len() > 100_000 {
            c.push_blob_chunked(repo, Cursor::new(&bytes), 1 << 20)
                .unwrap()
        } else {
            c.push_blob(repo, &bytes).unwrap()
        };
        assert_eq!(d, desc.digest);
    }
    let d = c
        .push_manifest(repo, "v1", MEDIA_TYPE_OCI_MANIFEST, &manifest)
        .unwrap();
    assert_eq!(d, MANIFEST_DIGEST);
    let (image, boot) =
        load_registry_bootstrap(&c, &reference(&reg.host(), repo, "v1"), &platform()).unwrap();
    assert_eq!(boot, expected_boot());
    assert_eq!(image.manifest_digest, MANIFEST_DIGEST);
    assert_eq!(image.manifest_bytes, manifest);

    // An index with a plain entry and the Nydus entry; resolving it picks the Nydus one.
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_OCI_INDEX}","manifests":[
            {{"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}","digest":"{MANIFEST_DIGEST}","size":{},
              "platform":{{"architecture":"amd64","os":"linux"}}}},
            {{"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}","digest":"{MANIFEST_DIGEST}","size":{},
              "artifactType":"application/vnd.nydus.image.manifest.v1+json",
              "platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        manifest.len(),
        manifest.len()
    );
    let index_digest = c
        .push_manifest(repo, "multi", MEDIA_TYPE_OCI_INDEX, index.as_bytes())
        .unwrap();
    let image = c.resolve(repo, "multi", &platform()).unwrap();
    assert_eq!(image.index_digest.as_deref(), Some(index_digest.as_str()));
    assert_eq!(image.manifest_digest, MANIFEST_DIGEST);
    let err = c
        .resolve(repo, "multi", &Platform::parse("linux/s390x").unwrap())
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Image(Error::NoPlatform { .. })),
        "{err:?}"
    );
    // By digest: the digest must be the manifest's.
    c.push_manifest(repo, MANIFEST_DIGEST, MEDIA_TYPE_OCI_MANIFEST, &manifest)
        .unwrap();
    let err = c
        .push_manifest(repo, &index_digest, MEDIA_TYPE_OCI_MANIFEST, &manifest)
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidInput { .. }), "{err:?}");
    // A manifest naming blobs the repository does not have is refused by the registry.
    let err = c
        .push_manifest("copy/empty", "v1", MEDIA_TYPE_OCI_MANIFEST, &manifest)
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Status { status: 400, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("MANIFEST_BLOB_UNKNOWN"), "{err}");
}
