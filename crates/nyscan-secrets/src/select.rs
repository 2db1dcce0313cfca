//! Which files can hold a secret, decided from metadata alone, and text vs binary from a
//! small prefix.

use std::collections::HashSet;
use std::fmt;

use crate::ruleset::RuleSet;

/// Files smaller than this are not read (too small to hold a secret).
pub const MIN_FILE_SIZE: u64 = 10;
/// How many leading bytes decide text vs binary.
pub const BINARY_PREFIX_LEN: usize = 300;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;

/// Names (any directory level) whose whole subtree is skipped.
const SKIP_DIRS: &[&str] = &[".git", "node_modules"];
/// File names skipped: lock files and module sums (hashes, not secrets).
const SKIP_NAMES: &[&str] = &[
    "go.mod",
    "go.sum",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Pipfile.lock",
    "Gemfile.lock",
];
/// Suffixes skipped by Trivy's default skip patterns.
const SKIP_SUFFIXES_TRIVY: &[&str] = &[
    "jpg", "png", "gif", "doc", "pdf", "bin", "svg", "socket", "deb", "rpm", "zip", "gz", "gzip",
    "tar",
];
/// Further suffixes of formats that are binary by construction (compiled code, archives,
/// compressed data, media, fonts, message catalogs, databases). Trivy reads their first
/// 300 bytes and drops them as binary; we skip them without reading.
const SKIP_SUFFIXES_BINARY: &[&str] = &[
    "so", "a", "o", "ko", "jar", "war", "ear", "whl", "egg", "class", "xz", "bz2", "zst", "lz4",
    "lzma", "7z", "tgz", "txz", "jpeg", "ico", "webp", "bmp", "tif", "tiff", "woff", "woff2",
    "ttf", "otf", "eot", "mo", "gmo", "db", "sqlite", "wasm", "exe", "dll", "pyd", "mp3", "mp4",
    "ogg", "wav", "iso", "qcow2",
];

/// Why a file is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Not a regular file.
    NotRegular,
    /// Smaller than [`MIN_FILE_SIZE`].
    TooSmall,
    /// Owned by an OS package (its content is the distribution's).
    OsOwned,
    /// A default skip pattern (lock file, VCS dir, known binary suffix).
    SkipPattern(&'static str),
    /// Exempt by an allow rule (its id).
    AllowedPath(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotRegular => f.write_str("not a regular file"),
            SkipReason::TooSmall => write!(f, "smaller than {MIN_FILE_SIZE} bytes"),
            SkipReason::OsOwned => f.write_str("owned by an OS package"),
            SkipReason::SkipPattern(what) => write!(f, "skipped: {what}"),
            SkipReason::AllowedPath(id) => write!(f, "allowed path (rule {id})"),
        }
    }
}

/// What to do with a file, from its path and metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Do not read it.
    Skip(SkipReason),
    /// Read it: first [`BINARY_PREFIX_LEN`] bytes (text or binary?), then up to `read` bytes.
    Scan {
        /// Bytes to read: the file size, or the size cap when the file is larger.
        read: u64,
        /// The file is larger than the cap: only its first `read` bytes are scanned.
        capped: bool,
    },
}

/// The default skip pattern `path` falls under, if any.
pub fn skip_pattern(path: &str) -> Option<&'static str> {
    let mut parts = path.split('/').peekable();
    while let Some(part) = parts.next() {
        let is_dir = parts.peek().is_some();
        if is_dir {
            if let Some(dir) = SKIP_DIRS.iter().find(|d| **d == part) {
                return Some(dir);
            }
        } else {
            if let Some(name) = SKIP_NAMES.iter().find(|n| **n == part) {
                return Some(name);
            }
            return binary_suffix(part);
        }
    }
    None
}

/// The known binary suffix of file name `name`, if any (`libz.so.1.2.13` counts as `so`).
fn binary_suffix(name: &str) -> Option<&'static str> {
    let mut pieces: Vec<&str> = name.split('.').skip(1).collect();
    // Versioned shared objects: strip trailing numeric pieces after a `so` piece.
    if let Some(so) = pieces.iter().rposition(|p| *p == "so")
        && pieces[so + 1..]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        pieces.truncate(so + 1);
    }
    let ext = *pieces.last()?;
    SKIP_SUFFIXES_TRIVY
        .iter()
        .chain(SKIP_SUFFIXES_BINARY)
        .find(|s| **s == ext)
        .copied()
}

/// Top-level directories that merged-`/usr` systems (Debian 12, Fedora, ...) make symlinks
/// into `usr/`: a package lists `/bin/bash`, the image holds `usr/bin/bash`.
const MERGED_USR: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// Whether `path` is in `os_owned`, directly or through its merged-`/usr` alias.
fn is_os_owned(path: &str, os_owned: &HashSet<String>) -> bool {
    if os_owned.is_empty() {
        return false;
    }
    if os_owned.contains(path) {
        return true;
    }
    let (top, rest) = path.split_once('/').unwrap_or((path, ""));
    if let Some(under_usr) = path.strip_prefix("usr/") {
        let (top, _) = under_usr.split_once('/').unwrap_or((under_usr, ""));
        return MERGED_USR.contains(&top) && os_owned.contains(under_usr);
    }
    MERGED_USR.contains(&top) && !rest.is_empty() && os_owned.contains(&format!("usr/{path}"))
}

/// Decides from metadata whether the file at `path` (relative, no leading `/`) can hold a
/// secret. `os_owned` holds paths (no leading `/`) owned by OS packages; `size_cap` bounds
/// how much of one file is read.
pub fn decide(
    rules: &RuleSet,
    path: &str,
    size: u64,
    mode: u32,
    os_owned: &HashSet<String>,
    size_cap: u64,
) -> Decision {
    let path = path.trim_start_matches('/');
    if mode & S_IFMT != S_IFREG {
        return Decision::Skip(SkipReason::NotRegular);
    }
    if size < MIN_FILE_SIZE {
        return Decision::Skip(SkipReason::TooSmall);
    }
    if is_os_owned(path, os_owned) {
        return Decision::Skip(SkipReason::OsOwned);
    }
    if let Some(what) = skip_pattern(path) {
        return Decision::Skip(SkipReason::SkipPattern(what));
    }
    if let Some(allow) = rules.allowed_path(path) {
        return Decision::Skip(SkipReason::AllowedPath(allow.id().to_owned()));
    }
    Decision::Scan {
        read: size.min(size_cap),
        capped: size > size_cap,
    }
}

/// Whether content starting with `head` is binary: a control byte other than BEL..CR and ESC
/// (`\a \b \t \n \f \r` and `0x1b` count as text) in the first [`BINARY_PREFIX_LEN`] bytes.
/// This is Trivy's rule (after file(1)'s text classes).
pub fn is_binary(head: &[u8]) -> bool {
    head.iter()
        .take(BINARY_PREFIX_LEN)
        .any(|&b| b < 7 || b == 11 || (14..=26).contains(&b) || (28..=31).contains(&b) || b == 0x7f)
}

/// Binary files whose printable strings are still scanned (compiled Python keeps string
/// constants verbatim).
pub fn scans_binary_strings(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .is_some_and(|(_, ext)| ext == "pyc")
}

/// Extracts runs of printable bytes longer than 4 from binary data, one run per line, as a
/// stream: [`PrintableRuns::push`] takes the data in any pieces and yields the same text.
#[derive(Debug, Default)]
pub(crate) struct PrintableRuns {
    run: Vec<u8>,
    /// Part of the current run was already emitted (it is longer than [`MAX_RUN`]).
    spilled: bool,
}

/// Longest run kept whole; a longer run is emitted in pieces of this size (still one line).
const MAX_RUN: usize = 64 * 1024;

fn is_printable(b: u8) -> bool {
    // Printable as a Latin-1 code point: ASCII graphic and space, and U+00A1..U+00FF but the
    // soft hyphen.
    (0x20..=0x7e).contains(&b) || (b >= 0xa1 && b != 0xad)
}

impl PrintableRuns {
    /// Appends to `out` the text for `data`.
    pub(crate) fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for &b in data {
            if is_printable(b) {
                self.run.push(b);
                if self.run.len() >= MAX_RUN {
                    out.append(&mut self.run);
                    self.spilled = true;
                }
            } else {
                self.end_run(out);
            }
        }
    }

    /// Appends the text of the last run.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        self.end_run(out);
    }

    fn end_run(&mut self, out: &mut Vec<u8>) {
        if self.spilled || self.run.len() > 4 {
            out.append(&mut self.run);
            out.push(b'\n');
        }
        self.run.clear();
        self.spilled = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_patterns_and_suffixes() {
        assert_eq!(skip_pattern("src/.git/config"), Some(".git"));
        assert_eq!(
            skip_pattern("app/node_modules/x/index.js"),
            Some("node_modules")
        );
        assert_eq!(skip_pattern("app/yarn.lock"), Some("yarn.lock"));
        assert_eq!(skip_pattern("lib/libz.so.1.2.13"), Some("so"));
        assert_eq!(skip_pattern("img/logo.png"), Some("png"));
        assert_eq!(skip_pattern("etc/app.conf"), None);
        assert_eq!(skip_pattern("app/.gitignore"), None);
        assert_eq!(skip_pattern("app/notes.so.txt"), None);
        assert_eq!(skip_pattern(".git"), None);
    }

    #[test]
    fn decide_order() {
        let rules = RuleSet::builtin().unwrap();
        let owned: HashSet<String> = ["etc/passwd".to_owned(), "bin/bash".to_owned()].into();
        let reg = 0o100644;
        let d = |p: &str, size: u64, mode: u32| decide(&rules, p, size, mode, &owned, 1000);
        assert_eq!(
            d("etc/x", 100, 0o40755),
            Decision::Skip(SkipReason::NotRegular)
        );
        assert_eq!(d("etc/x", 9, reg), Decision::Skip(SkipReason::TooSmall));
        assert_eq!(
            d("/etc/passwd", 900, reg),
            Decision::Skip(SkipReason::OsOwned)
        );
        assert_eq!(
            d("usr/bin/bash", 900, reg),
            Decision::Skip(SkipReason::OsOwned)
        );
        assert_eq!(
            d("var/lib/dpkg/status", 900, reg),
            Decision::Skip(SkipReason::AllowedPath("os-package-state".into()))
        );
        assert!(matches!(
            d("var/cache/debconf/passwords.dat", 900, reg),
            Decision::Scan { .. }
        ));
        assert_eq!(
            d("usr/share/doc/a", 900, reg),
            Decision::Skip(SkipReason::AllowedPath("usr-dirs".into()))
        );
        assert_eq!(
            d("app/env", 5000, reg),
            Decision::Scan {
                read: 1000,
                capped: true
            }
        );
    }

    #[test]
    fn binary_prefix_rule() {
        assert!(!is_binary(b"text\twith\r\n tabs\x1b[0m\x07\x08\x0c"));
        assert!(is_binary(b"ELF\x00"));
        assert!(is_binary(b"a\x0bb"));
        assert!(is_binary(b"\x7f"));
        let mut late = vec![b'a'; BINARY_PREFIX_LEN];
        late.push(0);
        assert!(!is_binary(&late));
    }

    #[test]
    fn printable_runs_stream_like_whole() {
        let data = b"\x00\x01abc\x02hello world\x00\xe9t\xe9s\xff\x03ab\x00last run";
        let mut whole = Vec::new();
        let mut r = PrintableRuns::default();
        r.push(data, &mut whole);
        r.finish(&mut whole);
        assert_eq!(whole, b"hello world\n\xe9t\xe9s\xff\nlast run\n");
        let mut pieces = Vec::new();
        let mut r = PrintableRuns::default();
        for chunk in data.chunks(3) {
            r.push(chunk, &mut pieces);
        }
        r.finish(&mut pieces);
        assert_eq!(pieces, whole);
        assert!(scans_binary_strings("app/__pycache__/s.cpython-311.pyc"));
        assert!(!scans_binary_strings("app/s.py"));
    }
}
