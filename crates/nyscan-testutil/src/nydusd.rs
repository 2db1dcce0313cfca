//! The official `nydusd` serving a bootstrap over FUSE, for tests that check what it makes of
//! images nyscan wrote.
//!
//! ```no_run
//! use nyscan_testutil::nydusd::{Nydusd, fuse_mounts_allowed};
//! use nyscan_testutil::skip;
//! # let (nydusd, work, boot, blobs) = (std::path::Path::new("nydusd"), std::path::Path::new("w"), std::path::Path::new("b"), std::path::Path::new("d"));
//!
//! if let Err(reason) = fuse_mounts_allowed() {
//!     return skip("my_test", &reason);
//! }
//! let mount = Nydusd::mount(nydusd, work, boot, blobs, false).unwrap();
//! let hello = std::fs::read(mount.point().join("hello.txt")).unwrap();
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Skip;

/// How long `nydusd` gets to mount.
const MOUNT_TIMEOUT: Duration = Duration::from_secs(20);

/// Ok when this process may make FUSE mounts (it runs as root and `/dev/fuse` exists), else
/// the reason to skip.
pub fn fuse_mounts_allowed() -> Result<(), Skip> {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if root && Path::new("/dev/fuse").exists() {
        Ok(())
    } else {
        Err(Skip("FUSE mounts need root and /dev/fuse".into()))
    }
}

/// A `nydusd` FUSE mount of a bootstrap whose blobs are files in a local directory;
/// unmounted and stopped on drop.
#[derive(Debug)]
pub struct Nydusd {
    point: PathBuf,
    child: Child,
}

impl Nydusd {
    /// Starts the `nydusd` binary at `nydusd` on `boot`, reading blobs from `blob_dir`, and
    /// waits (up to 20 s) until the mount appears. `work` receives the mount point (`mnt`),
    /// the blob cache (`cache`), the configuration (`nydusd.json`) and the daemon's output
    /// (`nydusd.log`, `nydusd.err`). `validate` makes nydusd check v5 inode digests (it
    /// refuses the option for v6). The error says why nydusd did not mount, with its stderr
    /// when it exited.
    pub fn mount(
        nydusd: &Path,
        work: &Path,
        boot: &Path,
        blob_dir: &Path,
        validate: bool,
    ) -> Result<Nydusd, String> {
        let point = work.join("mnt");
        let cache = work.join("cache");
        for dir in [&point, &cache] {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let config = format!(
            r#"{{"device":{{"backend":{{"type":"localfs","config":{{"dir":"{}"}}}},
               "cache":{{"type":"blobcache","config":{{"work_dir":"{}"}}}}}},
               "mode":"direct","digest_validate":{validate},"enable_xattr":true,"iostats_files":false}}"#,
            blob_dir.display(),
            cache.display()
        );
        let config_path = work.join("nydusd.json");
        std::fs::write(&config_path, config)
            .map_err(|e| format!("{}: {e}", config_path.display()))?;
        let output = |name: &str| {
            let path = work.join(name);
            std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let child = Command::new(nydusd)
            .arg("--config")
            .arg(&config_path)
            .arg("--mountpoint")
            .arg(&point)
            .arg("--bootstrap")
            .arg(boot)
            .args(["--rlimit-nofile", "0", "--log-level", "warn"])
            .stdout(output("nydusd.log")?)
            .stderr(output("nydusd.err")?)
            .spawn()
            .map_err(|e| format!("nydusd does not start: {e}"))?;
        let mut mount = Nydusd { point, child };
        let deadline = Instant::now() + MOUNT_TIMEOUT;
        while !mount.is_mounted() {
            if let Ok(Some(status)) = mount.child.try_wait() {
                let err = std::fs::read_to_string(work.join("nydusd.err")).unwrap_or_default();
                return Err(format!("nydusd exited ({status}): {err}"));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nydusd did not mount within {} s",
                    MOUNT_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(mount)
    }

    /// Where the image is mounted.
    pub fn point(&self) -> &Path {
        &self.point
    }

    /// Whether `/proc/self/mountinfo` lists a mount on the mount point.
    pub fn is_mounted(&self) -> bool {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let Some(point) = self.point.to_str() else {
            return false;
        };
        info.lines().any(|l| l.split(' ').nth(4) == Some(point))
    }
}

impl Drop for Nydusd {
    fn drop(&mut self) {
        for args in [&["-u"][..], &["-uz"][..]] {
            if !self.is_mounted() {
                break;
            }
            let _ = Command::new("fusermount")
                .args(args)
                .arg(&self.point)
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
