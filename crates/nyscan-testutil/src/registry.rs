//! [`TestRegistry`]: a throwaway Debian `docker-registry` (distribution v2) on loopback, and
//! pushing OCI image layouts to it with skopeo.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::Skip;
use crate::client;

/// The registry binary (Debian package `docker-registry`).
pub(crate) const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";
/// The skopeo binary (Debian package `skopeo`).
pub(crate) const SKOPEO: &str = "/usr/bin/skopeo";
/// How long the registry may take to answer `GET /v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Timeout of one readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one skopeo copy may take.
const SKOPEO_TIMEOUT: Duration = Duration::from_secs(180);
/// Attempts at starting the registry (a free port can be taken between probe and bind).
const START_ATTEMPTS: usize = 3;

/// A `docker-registry serve` process on `127.0.0.1:<free port>`, filesystem storage in a
/// temporary directory (deleted with it), plain HTTP. Killed on drop.
#[derive(Debug)]
pub struct TestRegistry {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    creds: Option<(String, String)>,
}

impl TestRegistry {
    /// Starts an anonymous registry (anyone may pull and push).
    ///
    /// `Err(Skip)` when `/usr/bin/docker-registry` is not installed. An installed registry
    /// that does not answer `GET /v2/` within 15 s is a test failure: this panics with the
    /// tail of its log.
    pub fn start() -> Result<TestRegistry, Skip> {
        Self::start_inner(None)
    }

    /// Starts a registry with htpasswd (HTTP Basic) auth for one user: requests without
    /// these credentials get 401. The bcrypt entry is generated here (cost 4, to stay fast).
    /// Errors and panics as [`TestRegistry::start`].
    pub fn start_with_htpasswd(user: &str, password: &str) -> Result<TestRegistry, Skip> {
        Self::start_inner(Some((user.to_string(), password.to_string())))
    }

    /// The registry's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The registry's address as `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Copies an OCI image layout (tag `latest` inside the layout) to `repo:tag` on this
    /// registry with skopeo (plain HTTP; this registry's credentials when it has htpasswd).
    /// The error carries skopeo's output and the tail of the registry's log.
    pub fn push_layout(&self, layout_dir: &Path, repo_tag: &str) -> Result<(), String> {
        let creds = self.creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        let work = self.dir.path().join("skopeo");
        skopeo_push_in(&work, layout_dir, &self.host(), repo_tag, creds)
            .map_err(|e| format!("{e}\n--- registry log (tail) ---\n{}", self.log_tail()))
    }

    /// The registry's log file (stdout and stderr of the process).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    /// The last lines of the registry's log.
    pub fn log_tail(&self) -> String {
        tail(&self.log_path(), 30)
    }

    fn start_inner(htpasswd: Option<(String, String)>) -> Result<TestRegistry, Skip> {
        if !Path::new(DOCKER_REGISTRY).exists() {
            return Err(Skip(
                "docker-registry not installed (run ../shared/tools/install-peers.sh)".into(),
            ));
        }
        let mut last_failure = String::new();
        for _ in 0..START_ATTEMPTS {
            match try_start(htpasswd.clone()) {
                Ok(reg) => return Ok(reg),
                Err(Attempt::PortTaken(msg)) => last_failure = msg,
                Err(Attempt::Failed(msg)) => panic!("TestRegistry: {msg}"),
            }
        }
        panic!("TestRegistry: port taken on every attempt: {last_failure}");
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Attempt {
    /// Another process took the port we picked: try again with another.
    PortTaken(String),
    Failed(String),
}

/// A port that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn try_start(htpasswd: Option<(String, String)>) -> Result<TestRegistry, Attempt> {
    let failed = |what: &str, e: &dyn std::fmt::Display| Attempt::Failed(format!("{what}: {e}"));
    let dir = tempfile::Builder::new()
        .prefix("nyscan-registry-")
        .tempdir()
        .map_err(|e| failed("create temp dir", &e))?;
    let storage = dir.path().join("storage");
    fs::create_dir(&storage).map_err(|e| failed("create storage dir", &e))?;
    let port = free_port().map_err(|e| failed("pick a free port", &e))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let mut config = format!(
        "version: 0.1\n\
         log:\n  level: info\n  fields:\n    service: nyscan-testutil\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  \
         maintenance:\n    uploadpurging:\n      enabled: false\n\
         http:\n  addr: {addr}\n  secret: nyscan-testutil-secret\n",
        yaml_quote(&storage.to_string_lossy()),
    );
    if let Some((user, password)) = &htpasswd {
        if user.contains(':') || user.contains('\n') {
            return Err(Attempt::Failed(format!(
                "htpasswd user {user:?} has ':' or a newline"
            )));
        }
        let hash = bcrypt::hash(password, 4).map_err(|e| failed("bcrypt", &e))?;
        let file = dir.path().join("htpasswd");
        fs::write(&file, format!("{user}:{hash}\n")).map_err(|e| failed("write htpasswd", &e))?;
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
            yaml_quote(&file.to_string_lossy())
        ));
    }
    let config_path = dir.path().join("config.yml");
    fs::write(&config_path, &config).map_err(|e| failed("write config", &e))?;

    let log_path = dir.path().join("registry.log");
    let log = File::create(&log_path).map_err(|e| failed("create log", &e))?;
    let log2 = log.try_clone().map_err(|e| failed("clone log", &e))?;
    let child = Command::new(DOCKER_REGISTRY)
        .arg("serve")
        .arg(&config_path)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| failed(&format!("spawn {DOCKER_REGISTRY}"), &e))?;
    let mut reg = TestRegistry {
        child,
        addr,
        dir,
        creds: htpasswd,
    };

    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = reg.child.try_wait() {
            let log = reg.log_tail();
            let msg = format!("docker-registry exited ({status}) before it was ready; log:\n{log}");
            return Err(if log.contains("address already in use") {
                Attempt::PortTaken(msg)
            } else {
                Attempt::Failed(msg)
            });
        }
        if let Ok(r) = client::request_with_timeout(addr, "GET", "/v2/", &[], &[], PROBE_TIMEOUT)
            && (r.status == 200 || r.status == 401)
        {
            return Ok(reg);
        }
        if Instant::now() >= deadline {
            return Err(Attempt::Failed(format!(
                "docker-registry did not answer GET http://{addr}/v2/ within {} s; log:\n{}",
                READY_TIMEOUT.as_secs(),
                reg.log_tail()
            )));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// A YAML double-quoted scalar.
fn yaml_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The last `lines` lines of a text file (at most its last 64 KiB).
fn tail(path: &Path, lines: usize) -> String {
    let Ok(bytes) = fs::read(path) else {
        return format!("(no log at {})", path.display());
    };
    let start = bytes.len().saturating_sub(64 * 1024);
    let text = String::from_utf8_lossy(&bytes[start..]);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Copies the OCI image layout `layout_dir` (its tag `latest`) to `docker://HOST/REPO:TAG`
/// with skopeo over plain HTTP (`--dest-tls-verify=false`, `--insecure-policy`), with
/// `creds` as `--dest-creds` when given. Use it to push through a [`crate::FaultProxy`]
/// (`host` = the proxy's host); [`TestRegistry::push_layout`] is this against the registry.
pub fn skopeo_push(
    layout_dir: &Path,
    host: &str,
    repo_tag: &str,
    creds: Option<(&str, &str)>,
) -> Result<(), String> {
    let work = tempfile::Builder::new()
        .prefix("nyscan-skopeo-")
        .tempdir()
        .map_err(|e| format!("create temp dir: {e}"))?;
    skopeo_push_in(work.path(), layout_dir, host, repo_tag, creds)
}

fn skopeo_push_in(
    work: &Path,
    layout_dir: &Path,
    host: &str,
    repo_tag: &str,
    creds: Option<(&str, &str)>,
) -> Result<(), String> {
    if !Path::new(SKOPEO).exists() {
        return Err("skopeo not installed (run ../shared/tools/install-peers.sh)".into());
    }
    if !layout_dir.join("index.json").is_file() {
        return Err(format!(
            "{} is not an OCI image layout (no index.json)",
            layout_dir.display()
        ));
    }
    let layout = layout_dir.to_string_lossy();
    if layout.contains(':') {
        // skopeo's oci: transport reads `oci:PATH:REF`; a ':' in PATH is ambiguous.
        return Err(format!("layout path {layout:?} contains ':'"));
    }
    fs::create_dir_all(work).map_err(|e| format!("create {}: {e}", work.display()))?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let out_path = work.join(format!("skopeo-{seq}.log"));
    let out = File::create(&out_path).map_err(|e| format!("create skopeo log: {e}"))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("clone skopeo log: {e}"))?;
    let mut cmd = Command::new(SKOPEO);
    cmd.arg("--insecure-policy")
        .arg("copy")
        .arg("--dest-tls-verify=false");
    if let Some((user, password)) = creds {
        cmd.arg("--dest-creds").arg(format!("{user}:{password}"));
    }
    cmd.arg(format!("oci:{layout}:latest"))
        .arg(format!("docker://{host}/{repo_tag}"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let mut child = cmd.spawn().map_err(|e| format!("spawn {SKOPEO}: {e}"))?;
    let deadline = Instant::now() + SKOPEO_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "skopeo copy to {host}/{repo_tag} timed out after {} s; output:\n{}",
                    SKOPEO_TIMEOUT.as_secs(),
                    tail(&out_path, 30)
                ));
            }
            Err(e) => return Err(format!("wait for skopeo: {e}")),
        }
    };
    let output = tail(&out_path, 30);
    let _ = fs::remove_file(&out_path);
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "skopeo copy oci:{layout}:latest docker://{host}/{repo_tag} failed ({status}):\n{output}"
        ))
    }
}
