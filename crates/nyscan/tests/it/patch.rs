//! `nyscan patch` against the real registry (Debian's docker-registry on loopback): the
//! patched fixture images unpack as the source tree with the same edits made on disk, the
//! official tools accept the new bootstrap, content the image has costs no new chunk, the
//! source is never touched, and a failed manifest push leaves the destination as it was.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nyscan_oci::manifest::Platform;
use nyscan_oci::registry::{ClientOptions, RegistryClient};
use nyscan_oci::{Source, load_bootstrap};
use nyscan_testutil::tree::{compare, dir_tree};
use nyscan_testutil::{Fault, FaultAction, FaultProxy, Skip, TestRegistry, shared_dir, skip};

use crate::nyscan;

fn official() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("fixtures/official"))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// A registry holding the shared fixture images as `nydus/<name>:latest`.
fn registry_with(test: &str, names: &[&str]) -> Option<(TestRegistry, PathBuf)> {
    let Some(official) = official() else {
        skip(test, &Skip("../shared/fixtures/official is absent".into()));
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

fn run(args: &[&str]) -> Output {
    nyscan().args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The digest of `repo:tag` on `host`, `None` when the tag does not exist.
fn manifest_digest(host: &str, repo: &str, tag: &str) -> Option<String> {
    let client = RegistryClient::new(host, ClientOptions::default()).unwrap();
    match client.fetch_manifest(repo, tag) {
        Ok(m) => Some(m.digest),
        Err(e) if e.is_not_found() => None,
        Err(e) => panic!("fetch manifest {repo}:{tag}: {e}"),
    }
}

/// Deterministic content unlike anything in the fixtures.
fn new_content(len: usize) -> Vec<u8> {
    let mut x = 0x243f_6a88_85a3_08d3u64;
    let mut out = Vec::with_capacity(len + 32);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(format!("{:016x} new content\n", x % 7919).as_bytes());
    }
    out.truncate(len);
    out
}

/// The local files of the test's operations: a 2.5 MB replacement and a copy of
/// `/sizes/text` (content the image already has).
fn local_files(dir: &Path, official: &Path) -> (PathBuf, PathBuf) {
    let replacement = dir.join("replacement");
    std::fs::write(&replacement, new_content(2_500_000)).unwrap();
    let copy = dir.join("copy");
    let out = run(&[
        "cat",
        "--no-cache",
        &format!("oci:{}", official.join("v6-zstd/oci").display()),
        "/sizes/text",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&copy, &out.stdout).unwrap();
    (replacement, copy)
}

/// The operations every image gets: replace a multi-chunk file, add a file whose content
/// the image has (mode and owner given), delete a hardlink and a directory.
fn ops(replacement: &Path, copy: &Path) -> Vec<String> {
    [
        "--replace".to_owned(),
        format!("/sizes/three-chunks={}", replacement.display()),
        "--add".to_owned(),
        format!("/new/dir/copy={}", copy.display()),
        "--mode".to_owned(),
        "640".to_owned(),
        "--owner".to_owned(),
        "7:8".to_owned(),
        "--delete".to_owned(),
        "/links/hardlink".to_owned(),
        "--delete".to_owned(),
        "/app".to_owned(),
    ]
    .into()
}

/// The source tree of `image`, extracted, with the same edits made on disk.
fn expected_on_disk(official: &Path, image: &str, dir: &Path, replacement: &Path, copy: &Path) {
    let tar = if image.ends_with("merged") {
        "merged.tar.gz"
    } else {
        "basic.tar.gz"
    };
    std::fs::create_dir_all(dir).unwrap();
    let status = Command::new("tar")
        .args(["--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpzf"])
        .arg(official.join(tar))
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "extract {tar}");
    std::fs::write(
        dir.join("sizes/three-chunks"),
        std::fs::read(replacement).unwrap(),
    )
    .unwrap();
    for d in ["new", "new/dir"] {
        let p = dir.join(d);
        if !p.exists() {
            std::fs::create_dir(&p).unwrap();
            set_mode(&p, 0o755);
            std::os::unix::fs::chown(&p, Some(0), Some(0)).unwrap();
        }
    }
    let added = dir.join("new/dir/copy");
    std::fs::copy(copy, &added).unwrap();
    set_mode(&added, 0o640);
    std::os::unix::fs::chown(&added, Some(7), Some(8)).unwrap();
    std::fs::remove_file(dir.join("links/hardlink")).unwrap();
    std::fs::remove_dir_all(dir.join("app")).unwrap();
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Fetches the bootstrap and the blobs of `reference` into `dir` (`boot`, `blobs/<id>`).
fn fetch_image(reference: &str, dir: &Path) -> (PathBuf, PathBuf, Vec<String>) {
    let source = Source::parse(reference, None).unwrap();
    let Source::Registry(r) = &source else {
        unreachable!()
    };
    let loaded = load_bootstrap(&source, &Platform::host(), &ClientOptions::default()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let boot = dir.join("boot");
    std::fs::write(&boot, &*loaded.bytes).unwrap();
    let blobs = dir.join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let client = RegistryClient::for_ref(r, ClientOptions::default()).unwrap();
    let ids: Vec<String> = nyscan_rafs::Bootstrap::parse(&loaded.bytes)
        .unwrap()
        .blobs()
        .iter()
        .map(|b| b.id.clone())
        .collect();
    for id in &ids {
        let digest = format!("sha256:{id}");
        let size = client.blob_size(&r.repository, &digest).unwrap();
        let bytes = client.fetch_blob(&r.repository, &digest, size).unwrap();
        std::fs::write(blobs.join(id), bytes).unwrap();
    }
    (boot, blobs, ids)
}

/// `nydus-image check` and, for v6, `fsck.erofs` accept the image; skipped (with the
/// reason printed) where the tool is missing or cannot read the source image either.
fn official_tools_accept(
    test: &str,
    image: &str,
    official: &Path,
    boot: &Path,
    blobs: &Path,
    ids: &[String],
) {
    let check = |boot: &Path, blobs: &Path| {
        Command::new("nydus-image")
            .arg("check")
            .arg(boot)
            .arg("-D")
            .arg(blobs)
            .output()
    };
    match check(
        &official.join(image).join("boot"),
        &official.join(image).join("blobs"),
    ) {
        Err(e) => skip(test, &Skip(format!("nydus-image is not runnable: {e}"))),
        Ok(out) if !out.status.success() => skip(
            test,
            &Skip(format!(
                "{image}: this nydus-image cannot check the source image either"
            )),
        ),
        Ok(_) => {
            let out = check(boot, blobs).unwrap();
            assert!(
                out.status.success(),
                "{image}: nydus-image check: {}{}",
                String::from_utf8_lossy(&out.stdout),
                stderr(&out)
            );
        }
    }
    if !image.starts_with("v6") {
        return;
    }
    let mut fsck = Command::new("fsck.erofs");
    for id in ids {
        fsck.arg(format!("--device={}", blobs.join(id).display()));
    }
    match fsck.arg(boot).output() {
        Err(e) => skip(test, &Skip(format!("fsck.erofs is not runnable: {e}"))),
        Ok(out) => assert!(
            out.status.success(),
            "{image}: fsck.erofs: {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        ),
    }
}

#[test]
fn patched_images_unpack_as_the_source_tree_with_the_edits() {
    const TEST: &str = "patched_images_unpack_as_the_source_tree_with_the_edits";
    let images = ["v6-zstd", "v5-lz4", "v6-merged", "v5-zstd-sha256"];
    let Some((registry, official)) = registry_with(TEST, &images) else {
        return;
    };
    if !is_root() {
        return skip(
            TEST,
            &Skip("extracting the source trees (devices, owners) needs root".into()),
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let (replacement, copy) = local_files(tmp.path(), &official);
    let host = registry.host();
    for image in images {
        let source = format!("{host}/nydus/{image}:latest");
        let dest = format!("{host}/patched/{image}:v1");
        let before = manifest_digest(&host, &format!("nydus/{image}"), "latest").unwrap();
        let mut args = vec![
            "patch".to_owned(),
            source.clone(),
            "--to".to_owned(),
            dest.clone(),
        ];
        args.extend(ops(&replacement, &copy));
        args.push("--json".to_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args);
        assert!(out.status.success(), "{image}: {}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        eprintln!("{image}: {report}");

        // Only the replaced file's chunks are new; the copy is all deduplicated; the
        // source's blobs were mounted into the new repository, not uploaded.
        let change = |path: &str| {
            report["changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["path"] == path)
                .unwrap()
                .clone()
        };
        let replaced = change("/sizes/three-chunks");
        assert!(
            replaced["new_chunks"].as_u64().unwrap() >= 3,
            "{image}: {replaced}"
        );
        let added = change("/new/dir/copy");
        assert_eq!(added["new_chunks"], 0, "{image}: {added}");
        assert!(added["deduped_chunks"].as_u64().unwrap() >= 1, "{image}");
        assert_eq!(change("/app")["removed"], 5);
        assert_eq!(report["new_chunks"], replaced["new_chunks"]);
        // (The fixture's blob directory also holds nydus cache files.)
        let source_blobs = std::fs::read_dir(official.join(image).join("blobs"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().len() == 64)
            .count();
        assert_eq!(report["source_blobs"]["mounted"], source_blobs, "{image}");
        assert_eq!(report["source_blobs"]["copied"], 0, "{image}");
        assert!(
            report["verified"]["paths"].as_u64().unwrap() >= 5,
            "{image}"
        );
        assert_eq!(
            manifest_digest(&host, &format!("patched/{image}"), "v1").as_deref(),
            report["manifest"].as_str()
        );
        // The source is untouched.
        assert_eq!(
            manifest_digest(&host, &format!("nydus/{image}"), "latest").unwrap(),
            before,
            "{image}: the source changed"
        );

        // `nyscan unpack` of the new image is the source tree with the edits made on disk.
        let ours = tmp.path().join(format!("{image}-unpacked"));
        let out = run(&["unpack", "--no-cache", &dest, ours.to_str().unwrap()]);
        assert!(out.status.success(), "{image}: unpack: {}", stderr(&out));
        let expected = tmp.path().join(format!("{image}-expected"));
        expected_on_disk(&official, image, &expected, &replacement, &copy);
        compare(image, &dir_tree(&expected), &dir_tree(&ours), &|_| false);

        // The official tools accept the new bootstrap with the image's blobs.
        let fetched = tmp.path().join(format!("{image}-fetched"));
        let (boot, blobs, ids) = fetch_image(&dest, &fetched);
        official_tools_accept(TEST, image, &official, &boot, &blobs, &ids);
    }
}

#[test]
fn the_source_tag_is_refused_without_force_and_refusals_write_nothing() {
    const TEST: &str = "the_source_tag_is_refused_without_force_and_refusals_write_nothing";
    let Some((registry, _)) = registry_with(TEST, &["v6-zstd"]) else {
        return;
    };
    let host = registry.host();
    let source = format!("{host}/nydus/v6-zstd:latest");
    let before = manifest_digest(&host, "nydus/v6-zstd", "latest").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("local");
    std::fs::write(&local, b"patched hello\n").unwrap();
    let replace = format!("/hello.txt={}", local.display());

    // The source's own tag (explicitly, or `latest` by default): refused, untouched.
    for dest in [source.clone(), format!("{host}/nydus/v6-zstd")] {
        let out = run(&["patch", &source, "--to", &dest, "--replace", &replace]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("refusing to overwrite the source's tag"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            manifest_digest(&host, "nydus/v6-zstd", "latest").unwrap(),
            before
        );
    }

    // Refused operations, all named at once; nothing reaches the registry.
    let out = run(&[
        "patch",
        &source,
        "--to",
        &format!("{host}/patched/refused:v1"),
        "--replace",
        &format!("/no/such/file={}", local.display()),
        "--add",
        &format!("/etc={}", local.display()),
        "--delete",
        "/../etc",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("escapes the image root"), "{err}");
    let out = run(&[
        "patch",
        &source,
        "--to",
        &format!("{host}/patched/refused:v1"),
        "--replace",
        &format!("/no/such/file={}", local.display()),
        "--add",
        &format!("/etc={}", local.display()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("2 operations are refused"), "{err}");
    assert!(err.contains("--replace /no/such/file"), "{err}");
    assert!(
        err.contains("--add /etc: is a directory in the image; replacing a directory with a file needs --force"),
        "{err}"
    );
    assert_eq!(manifest_digest(&host, "patched/refused", "v1"), None);

    // With --force the source tag is replaced, by an image that reads back patched.
    let out = run(&[
        "patch",
        &source,
        "--to",
        &source,
        "--replace",
        &replace,
        "--force",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(
        manifest_digest(&host, "nydus/v6-zstd", "latest").unwrap(),
        before
    );
    let out = run(&["cat", "--no-cache", &source, "/hello.txt"]);
    assert_eq!(out.stdout, b"patched hello\n");
}

#[test]
fn a_failed_manifest_push_leaves_the_destination_as_it_was() {
    const TEST: &str = "a_failed_manifest_push_leaves_the_destination_as_it_was";
    let Some((registry, _)) = registry_with(TEST, &["v5-lz4"]) else {
        return;
    };
    let host = registry.host();
    let proxy = FaultProxy::start(registry.addr());
    let via = proxy.host();
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    std::fs::write(&one, new_content(1_500_000)).unwrap();
    std::fs::write(&two, b"second version\n").unwrap();
    let source = format!("{via}/nydus/v5-lz4:latest");
    let patch_to = |dest: &str, local: &Path| {
        run(&[
            "patch",
            &source,
            "--to",
            &format!("{via}/{dest}"),
            "--replace",
            &format!("/hello.txt={}", local.display()),
        ])
    };
    let manifest_put = Fault {
        method: Some("PUT".into()),
        path_contains: "/manifests/".into(),
        only_ranged: false,
        times: 100,
        action: FaultAction::Status {
            code: 500,
            retry_after: None,
        },
    };

    // A new tag: absent after the failure, though the blobs were pushed.
    proxy.inject(manifest_put.clone());
    let out = patch_to("patched/fault:v1", &one);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("cannot push the manifest"), "{err}");
    assert_eq!(manifest_digest(&host, "patched/fault", "v1"), None);
    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    let first_manifest = puts
        .iter()
        .position(|r| r.path.contains("/manifests/"))
        .unwrap();
    assert!(
        puts[..first_manifest]
            .iter()
            .any(|r| r.path.contains("/blobs/uploads/")),
        "blobs are pushed before the manifest: {puts:?}"
    );

    // An existing tag: still the old manifest after the failure.
    proxy.clear();
    let out = patch_to("patched/fault:v1", &one);
    assert!(out.status.success(), "{}", stderr(&out));
    let old = manifest_digest(&host, "patched/fault", "v1").unwrap();
    proxy.inject(manifest_put);
    let out = patch_to("patched/fault:v1", &two);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(manifest_digest(&host, "patched/fault", "v1").unwrap(), old);
    proxy.clear();
    let reference = format!("{host}/patched/fault:v1");
    let out = run(&["cat", "--no-cache", &reference, "/hello.txt"]);
    assert!(
        out.stdout == new_content(1_500_000),
        "the old content is served"
    );
}

#[test]
fn operations_from_a_file_into_an_oci_layout() {
    const TEST: &str = "operations_from_a_file_into_an_oci_layout";
    let Some(official) = official() else {
        return skip(TEST, &Skip("../shared/fixtures/official is absent".into()));
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("motd"), b"welcome\n").unwrap();
    std::fs::write(
        tmp.path().join("ops"),
        "# a patch\n--add /etc/motd=motd --mode 0644\n--delete '/names/with space'\n",
    )
    .unwrap();
    let dest = format!("oci:{}:patched", tmp.path().join("layout").display());
    let out = run(&[
        "patch",
        &format!("oci:{}", official.join("v6-lz4-64k/oci").display()),
        "--to",
        &dest,
        "--from",
        tmp.path().join("ops").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("add     /etc/motd"), "{text}");
    assert!(text.contains("verified: 2 paths"), "{text}");
    let out = run(&["cat", "--no-cache", &dest, "/etc/motd"]);
    assert_eq!(out.stdout, b"welcome\n");
    let out = run(&["cat", "--no-cache", &dest, "/names/with space"]);
    assert_eq!(out.status.code(), Some(2));
    // The layout holds the source's blob, the new one, the bootstrap layer, the config and
    // the manifest.
    let blobs = std::fs::read_dir(tmp.path().join("layout/blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(blobs, 5);
}

#[test]
fn patching_into_another_registry_copies_the_source_blobs() {
    const TEST: &str = "patching_into_another_registry_copies_the_source_blobs";
    let Some((from, _)) = registry_with(TEST, &["v6-merged"]) else {
        return;
    };
    let to = TestRegistry::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("local");
    std::fs::write(&local, b"across registries\n").unwrap();
    let source = format!("{}/nydus/v6-merged:latest", from.host());
    let patch_to = |tag: &str| {
        run(&[
            "patch",
            &source,
            "--to",
            &format!("{}/copied/v6-merged:{tag}", to.host()),
            "--add",
            &format!("/etc/across={}", local.display()),
            "--json",
            "--no-verify",
        ])
    };
    let out = patch_to("v1");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["source_blobs"]["copied"], 2, "{report}");
    assert_eq!(report["source_blobs"]["mounted"], 0, "{report}");
    assert!(report["verified"].is_null(), "--no-verify: {report}");
    let dest = format!("{}/copied/v6-merged:v1", to.host());
    let out = run(&["cat", "--no-cache", &dest, "/etc/across"]);
    assert_eq!(out.stdout, b"across registries\n", "{}", stderr(&out));
    let out = run(&["cat", "--no-cache", &dest, "/new/added.txt"]);
    assert_eq!(out.stdout, b"added in layer 2\n", "{}", stderr(&out));
    // A second patch finds the blobs there.
    let out = patch_to("v2");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["source_blobs"]["present"], 2, "{report}");
    assert_eq!(report["source_blobs"]["copied"], 0, "{report}");
}
