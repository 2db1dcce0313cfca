//! Running the real version comparators of this machine (dpkg, rpm, Python `packaging`,
//! node `semver`, Go `x/mod/semver`, Maven, RubyGems, Composer) over batches of pairs.
//!
//! Each peer is one process that reads `A<TAB>B` lines on stdin and answers one line each:
//! `<`, `=`, `>` or `E reason` (the scripts are in `tests/peers/`).

use std::cmp::Ordering;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nyscan_testutil::Skip;

/// A peer's answer for one pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Order(Ordering),
    Invalid(String),
}

pub(crate) fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// Whether `program` runs (`program ARGS` exits 0).
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Feeds the pairs to `cmd` and parses one answer per pair.
pub(crate) fn run(mut cmd: Command, pairs: &[(String, String)]) -> Result<Vec<Answer>, String> {
    let mut input = String::new();
    for (a, b) in pairs {
        assert!(!a.contains(['\t', '\n']) && !b.contains(['\t', '\n']));
        input.push_str(a);
        input.push('\t');
        input.push_str(b);
        input.push('\n');
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    writer
        .join()
        .expect("writer thread")
        .map_err(|e| format!("writing to {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let answers: Vec<Answer> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l {
            "<" => Answer::Order(Ordering::Less),
            "=" => Answer::Order(Ordering::Equal),
            ">" => Answer::Order(Ordering::Greater),
            other => Answer::Invalid(other.trim_start_matches("E ").to_owned()),
        })
        .collect();
    if answers.len() != pairs.len() {
        return Err(format!(
            "{cmd:?} answered {} lines for {} pairs; stderr: {}",
            answers.len(),
            pairs.len(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(answers)
}

/// libdpkg (the library of `dpkg --compare-versions`) through `tests/peers/dpkg_compare.c`,
/// compiled here with the system C compiler.
pub(crate) fn dpkg(scratch: &Path) -> Result<Command, Skip> {
    if !Path::new("/usr/include/dpkg/version.h").exists() {
        return Err(Skip(
            "libdpkg headers missing (apt-get install libdpkg-dev)".into(),
        ));
    }
    let exe = scratch.join("dpkg_compare");
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "--static", "libdpkg"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .ok_or_else(|| {
            Skip("pkg-config libdpkg failed (apt-get install pkg-config libdpkg-dev)".into())
        })?;
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&exe)
        .arg(peers_dir().join("dpkg_compare.c"))
        .args(flags.split_whitespace())
        .status()
        .map_err(|e| Skip(format!("no C compiler: {e}")))?;
    if !status.success() {
        return Err(Skip("compiling the libdpkg peer failed".into()));
    }
    Ok(Command::new(exe))
}

/// rpm's own `rpm.vercmp` in its embedded Lua (`rpm --eval`).
pub(crate) fn rpm() -> Result<Command, Skip> {
    if !runs("rpm", &["--version"]) {
        return Err(Skip("rpm not installed (apt-get install rpm)".into()));
    }
    let script = peers_dir().join("rpm_compare.lua");
    let mut cmd = Command::new("rpm");
    cmd.arg("--eval")
        .arg(format!("%{{lua: dofile('{}')}}", script.display()));
    Ok(cmd)
}

/// Python's `packaging.version`.
pub(crate) fn pep440() -> Result<Command, Skip> {
    if !runs("python3", &["-c", "import packaging.version"]) {
        return Err(Skip(
            "python3 packaging not installed (pip install packaging)".into(),
        ));
    }
    let mut cmd = Command::new("python3");
    cmd.arg(peers_dir().join("pep440_compare.py"));
    Ok(cmd)
}

/// node's `semver` package (installed globally with npm).
pub(crate) fn npm() -> Result<Command, Skip> {
    let root = Command::new("npm")
        .args(["root", "-g"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .ok_or_else(|| Skip("npm not installed".into()))?;
    let mut probe = Command::new("node");
    probe
        .env("NODE_PATH", &root)
        .args(["-e", "require('semver')"]);
    if !probe.status().is_ok_and(|s| s.success()) {
        return Err(Skip(
            "node semver not installed (npm install -g semver)".into(),
        ));
    }
    let mut cmd = Command::new("node");
    cmd.env("NODE_PATH", root)
        .arg(peers_dir().join("npm_compare.js"));
    Ok(cmd)
}

/// `golang.org/x/mod/semver` from Debian's golang-golang-x-mod-dev, in GOPATH mode.
pub(crate) fn go(scratch: &Path) -> Result<Command, Skip> {
    let gopath = "/usr/share/gocode";
    if !Path::new(gopath)
        .join("src/golang.org/x/mod/semver/semver.go")
        .exists()
    {
        return Err(Skip(
            "golang.org/x/mod missing (apt-get install golang-go golang-golang-x-mod-dev)".into(),
        ));
    }
    let exe = scratch.join("go_compare");
    let src = scratch.join("go_compare.go");
    std::fs::copy(peers_dir().join("go_compare.go"), &src).map_err(|e| Skip(e.to_string()))?;
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&exe)
        .arg(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", gopath)
        .env("GOCACHE", scratch.join("gocache"))
        .env("GOFLAGS", "")
        .status()
        .map_err(|e| Skip(format!("go not installed: {e}")))?;
    if !status.success() {
        return Err(Skip("building the Go peer failed".into()));
    }
    Ok(Command::new(exe))
}

/// Maven's `ComparableVersion` from the maven-artifact jar of the installed Maven.
pub(crate) fn maven() -> Result<Command, Skip> {
    let jar = std::fs::read_dir("/usr/share/maven/lib")
        .ok()
        .and_then(|d| {
            d.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("maven-artifact"))
            })
        })
        .ok_or_else(|| Skip("maven-artifact jar missing (apt-get install maven)".into()))?;
    if !runs("java", &["-version"]) {
        return Err(Skip("java not installed".into()));
    }
    let mut cmd = Command::new("java");
    cmd.arg("-cp")
        .arg(jar)
        .arg(peers_dir().join("MavenCompare.java"));
    Ok(cmd)
}

/// RubyGems' `Gem::Version`.
pub(crate) fn rubygems() -> Result<Command, Skip> {
    if !runs("ruby", &["-e", "require 'rubygems'"]) {
        return Err(Skip("ruby not installed (apt-get install ruby)".into()));
    }
    let mut cmd = Command::new("ruby");
    cmd.arg(peers_dir().join("gem_compare.rb"));
    Ok(cmd)
}

/// Composer's `VersionParser::normalize` + PHP `version_compare`.
pub(crate) fn composer() -> Result<Command, Skip> {
    if !Path::new("/usr/share/php/Composer/Semver/VersionParser.php").exists()
        || !runs("php", &["-v"])
    {
        return Err(Skip(
            "php or composer missing (apt-get install php-cli composer)".into(),
        ));
    }
    let mut cmd = Command::new("php");
    cmd.arg(peers_dir().join("composer_compare.php"));
    Ok(cmd)
}

/// `apk version -t`, one process per pair (apk has no batch mode).
pub(crate) fn apk_version_t(a: &str, b: &str) -> Option<Answer> {
    let out = Command::new("apk")
        .args(["version", "-t", a, b])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(match text.trim() {
        "<" => Answer::Order(Ordering::Less),
        "=" => Answer::Order(Ordering::Equal),
        ">" => Answer::Order(Ordering::Greater),
        other => Answer::Invalid(format!("apk said {other:?} (exit {})", out.status)),
    })
}

/// Whether `apk` (apk-tools) is on PATH.
pub(crate) fn apk_installed() -> bool {
    runs("apk", &["--version"])
}
