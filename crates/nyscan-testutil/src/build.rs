//! Nydus images built at test time with the official builder (`nydus-image`), and the test
//! trees they are built from.
//!
//! - [`build_nydus_image`]: `nydus-image create` of a directory, RAFS v5 or v6, into a
//!   bootstrap and a blob directory; [`NydusImage::oci_layout`] packs it as an OCI image
//!   layout (with the shared tools' `nydus-oci-pack.py`) for a registry push.
//! - [`cached_tree`]: a tree made by a script of this crate (`scripts/`), kept under the
//!   target directory keyed by the script's content, so reruns reuse it.
//!
//! Missing tools are a [`Skip`], never a pass.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Skip;

/// Where the official builder is looked for first (the CI installs it there).
const NYDUS_IMAGE: &str = "/usr/local/bin/nydus-image";

/// The official `nydus-image` builder, or why it is missing.
pub fn nydus_image_tool() -> Result<PathBuf, Skip> {
    let installed = PathBuf::from(NYDUS_IMAGE);
    if installed.is_file() {
        return Ok(installed);
    }
    which("nydus-image")
        .ok_or_else(|| Skip("nydus-image (the official Nydus builder) is not installed".to_owned()))
}

/// An executable on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// A Nydus image in a directory: `boot` and `blobs/<id>`.
#[derive(Debug, Clone)]
pub struct NydusImage {
    /// The image directory.
    pub dir: PathBuf,
    /// The bootstrap.
    pub boot: PathBuf,
    /// The directory of its data blobs.
    pub blob_dir: PathBuf,
    /// RAFS version (5 or 6).
    pub fs_version: u32,
}

impl NydusImage {
    /// Total bytes of the blob files.
    pub fn blob_bytes(&self) -> u64 {
        std::fs::read_dir(&self.blob_dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Packs the image as an OCI image layout at `dir/oci` (tag `latest`) with the shared
    /// tools' `nydus-oci-pack.py`; a [`Skip`] when those tools or python3 are missing.
    pub fn oci_layout(&self) -> Result<PathBuf, Skip> {
        let pack = crate::shared_dir()
            .map(|d| d.join("tools/nydus-oci-pack.py"))
            .filter(|p| p.is_file())
            .ok_or_else(|| Skip("../shared/tools/nydus-oci-pack.py is not there".into()))?;
        let python = which("python3").ok_or_else(|| Skip("python3 is not installed".into()))?;
        let out = self.dir.join("oci");
        if out.exists() {
            std::fs::remove_dir_all(&out).expect("remove an old layout");
        }
        let status = Command::new(python)
            .arg(pack)
            .arg("--bootstrap")
            .arg(&self.boot)
            .arg("--blob-dir")
            .arg(&self.blob_dir)
            .arg("--fs-version")
            .arg(self.fs_version.to_string())
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run nydus-oci-pack.py");
        assert!(status.success(), "nydus-oci-pack.py failed: {status}");
        Ok(out)
    }
}

/// Builds `tree` into a Nydus image at `out` (created; emptied first) with the official
/// builder: `nydus-image create -t dir-rafs --fs-version V`, zstd chunks. Panics when the
/// builder fails (the tree or the arguments are wrong); a [`Skip`] when it is missing.
pub fn build_nydus_image(tree: &Path, out: &Path, fs_version: u32) -> Result<NydusImage, Skip> {
    let tool = nydus_image_tool()?;
    if out.exists() {
        std::fs::remove_dir_all(out).expect("remove an old image");
    }
    let blob_dir = out.join("blobs");
    std::fs::create_dir_all(&blob_dir).expect("create the image directory");
    let boot = out.join("boot");
    let output = Command::new(tool)
        .args(["create", "-t", "dir-rafs", "--log-level", "warn"])
        .args(["--fs-version", &fs_version.to_string()])
        .args(["--compressor", "zstd"])
        .arg("--bootstrap")
        .arg(&boot)
        .arg("--blob-dir")
        .arg(&blob_dir)
        .arg(tree)
        .output()
        .expect("run nydus-image");
    assert!(
        output.status.success(),
        "nydus-image create failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(NydusImage {
        dir: out.to_path_buf(),
        boot,
        blob_dir,
        fs_version,
    })
}

/// The directory test data is kept in: `CARGO_TARGET_DIR` (or the workspace's `target/`)
/// `/nyscan-testdata`.
pub fn testdata_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("target"));
    target.join("nyscan-testdata")
}

/// The tree that `scripts/SCRIPT` of this crate builds (run as `bash SCRIPT ROOT`), kept at
/// `testdata_dir()/NAME-<hash of the script>/root` so a rerun with the same script reuses it.
/// The script's exit code 3 means a tool it needs is missing: a [`Skip`] with its message;
/// any other failure panics with the script's output.
pub fn cached_tree(script: &str) -> Result<PathBuf, Skip> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(script);
    let text = std::fs::read(&path).expect("read the tree script");
    let hash = blake3::hash(&text).to_hex();
    let name = script.trim_end_matches(".sh");
    let dir = testdata_dir().join(format!("{name}-{}", &hash[..16]));
    let root = dir.join("root");
    if root.is_dir() {
        return Ok(root);
    }
    std::fs::create_dir_all(&dir).expect("create the test data directory");
    let lock = std::fs::File::create(dir.join("lock")).expect("create the lock file");
    // Another test process may be building the same tree: wait for it.
    nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map(|guard| {
            let result = if root.is_dir() {
                Ok(root.clone())
            } else {
                run_tree_script(&path, &root)
            };
            drop(guard);
            result
        })
        .map_err(|(_, e)| Skip(format!("cannot lock {}: {e}", dir.display())))?
}

fn run_tree_script(script: &Path, root: &Path) -> Result<PathBuf, Skip> {
    let output = Command::new("bash")
        .arg(script)
        .arg(root)
        .output()
        .expect("run bash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) if root.is_dir() => Ok(root.to_path_buf()),
        Some(3) => Err(Skip(format!(
            "{} cannot run here: {}",
            script.display(),
            stderr.trim()
        ))),
        _ => panic!(
            "{} failed ({}):\n{}\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            stderr
        ),
    }
}
