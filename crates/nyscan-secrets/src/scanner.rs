//! The scanner: file selection, whole-buffer scans and streaming scans over byte windows.

use std::collections::HashSet;

use serde::Serialize;

use crate::config::ConfigError;
use crate::engine::{Engine, FileState, KeywordError, LOOK_BEHIND, Window, count_newlines};
use crate::finding::Finding;
use crate::rule::RuleError;
use crate::ruleset::RuleSet;
use crate::select::{self, BINARY_PREFIX_LEN, Decision, PrintableRuns};

/// Why a scanner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    /// A built-in rule did not compile.
    #[error("built-in rules")]
    Rules(#[from] RuleError),
    /// The rules file was refused.
    #[error("secret rules")]
    Config(#[from] ConfigError),
    /// The keyword automaton could not be built.
    #[error(transparent)]
    Keywords(#[from] KeywordError),
}

/// Sizes that bound the work and memory of one file's scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// New bytes per streamed window (memory per file is about `window + overlap` plus the
    /// caller's largest push).
    pub window: usize,
    /// Bytes shared by consecutive windows: matches up to this long are found whole across
    /// window boundaries, exactly once. Also the reach of unbounded rules around a keyword.
    pub overlap: usize,
    /// At most this many bytes of one file are scanned; the rest is reported as not scanned.
    pub size_cap: u64,
}

impl Default for ScanLimits {
    /// 256 KiB windows, 16 KiB overlap, 32 MiB per file.
    fn default() -> Self {
        ScanLimits {
            window: 256 * 1024,
            overlap: 16 * 1024,
            size_cap: 32 * 1024 * 1024,
        }
    }
}

/// How a file's content was treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentKind {
    /// Text: scanned.
    Text,
    /// Binary whose printable strings were scanned (`.pyc`).
    BinaryStrings,
    /// Binary: not scanned.
    Binary,
}

/// The result of scanning one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    /// The file's path.
    pub path: String,
    /// Findings, by offset.
    pub findings: Vec<Finding>,
    /// Text, binary strings, or binary.
    pub content: ContentKind,
    /// Bytes of the file that were looked at.
    pub bytes_read: u64,
    /// Set when the file was cut at the size cap: the cap, in bytes.
    pub capped_at: Option<u64>,
}

/// Whether a streamed file wants more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Push more bytes.
    More,
    /// Stop reading: the file is binary, or the size cap is reached.
    Done,
}

/// A secret scanner: rules, keyword automaton and limits. Cheap to share (`&self` methods,
/// `Send + Sync`).
#[derive(Debug)]
pub struct SecretScanner {
    engine: Engine,
    limits: ScanLimits,
}

impl SecretScanner {
    /// A scanner over `rules`.
    pub fn new(rules: RuleSet, limits: ScanLimits) -> Result<Self, ScannerError> {
        let limits = ScanLimits {
            window: limits.window.max(1024),
            overlap: limits.overlap.max(256),
            size_cap: limits.size_cap,
        };
        Ok(SecretScanner {
            engine: Engine::new(rules, limits.overlap)?,
            limits,
        })
    }

    /// A scanner with the built-in rules and default limits.
    pub fn builtin() -> Result<Self, ScannerError> {
        SecretScanner::new(RuleSet::builtin()?, ScanLimits::default())
    }

    /// The rules in force.
    pub fn rules(&self) -> &RuleSet {
        self.engine.rules()
    }

    /// The limits in force.
    pub fn limits(&self) -> ScanLimits {
        self.limits
    }

    /// Decides from metadata whether to read the file at `path` (relative, no leading `/`):
    /// see [`select::decide`].
    pub fn decide(&self, path: &str, size: u64, mode: u32, os_owned: &HashSet<String>) -> Decision {
        select::decide(
            self.engine.rules(),
            path,
            size,
            mode,
            os_owned,
            self.limits.size_cap,
        )
    }

    /// Starts a streamed scan of the file at `path`, `size` bytes long (from its metadata);
    /// push its bytes in order. At most `min(size, size cap)` bytes are taken.
    pub fn file(&self, path: &str, size: u64) -> FileScan<'_> {
        let path = path.trim_start_matches('/').to_owned();
        FileScan {
            limit: size.min(self.limits.size_cap),
            capped: size > self.limits.size_cap,
            state: self.engine.file_state(&path),
            scanner: self,
            path,
            mode: Mode::Undecided,
            head: Vec::new(),
            buf: Vec::new(),
            base: 0,
            commit_from: 0,
            runs: PrintableRuns::default(),
            findings: Vec::new(),
            received: 0,
        }
    }

    /// Scans a whole file held in memory (the same findings as streaming it).
    pub fn scan_bytes(&self, path: &str, data: &[u8]) -> FileOutcome {
        let path = path.trim_start_matches('/');
        let cap = usize::try_from(self.limits.size_cap).unwrap_or(usize::MAX);
        let capped = data.len() > cap;
        let data = &data[..data.len().min(cap)];
        let content = content_kind(path, data);
        let mut findings = Vec::new();
        match content {
            ContentKind::Text => self.scan_whole(path, data, &mut findings),
            ContentKind::BinaryStrings => {
                let mut text = Vec::new();
                let mut runs = PrintableRuns::default();
                runs.push(data, &mut text);
                runs.finish(&mut text);
                self.scan_whole(path, &text, &mut findings);
            }
            ContentKind::Binary => {}
        }
        FileOutcome {
            path: path.to_owned(),
            findings: sorted(findings),
            content,
            bytes_read: data.len() as u64,
            capped_at: capped.then_some(self.limits.size_cap),
        }
    }

    /// Scans `text` as text, whatever its bytes (no binary check, no cap): for values that are
    /// known to be text, such as image-config fields.
    pub fn scan_text(&self, path: &str, text: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.scan_whole(path, text, &mut findings);
        sorted(findings)
    }

    fn scan_whole(&self, path: &str, data: &[u8], out: &mut Vec<Finding>) {
        let mut state = self.engine.file_state(path);
        self.engine.scan_window(
            path,
            &mut state,
            Window {
                hay: data,
                base: 0,
                commit_from: 0,
                commit_to: None,
            },
            out,
        );
    }
}

fn content_kind(path: &str, data: &[u8]) -> ContentKind {
    if !select::is_binary(data) {
        ContentKind::Text
    } else if select::scans_binary_strings(path) {
        ContentKind::BinaryStrings
    } else {
        ContentKind::Binary
    }
}

fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| (a.offset, &a.rule_id).cmp(&(b.offset, &b.rule_id)));
    findings
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Undecided,
    Decided(ContentKind),
}

/// A streamed scan of one file: push its bytes in order, in pieces of any size, then
/// [`FileScan::finish`]. Findings are the same as [`SecretScanner::scan_bytes`] on the whole
/// file, whatever the pieces.
#[derive(Debug)]
pub struct FileScan<'s> {
    scanner: &'s SecretScanner,
    path: String,
    state: FileState,
    mode: Mode,
    /// The first bytes, until text vs binary is decided.
    head: Vec<u8>,
    /// The current window: file (or extracted-strings) offsets `base..base + buf.len()`.
    buf: Vec<u8>,
    base: u64,
    commit_from: u64,
    runs: PrintableRuns,
    findings: Vec<Finding>,
    received: u64,
    /// Bytes taken: the file size, or the cap.
    limit: u64,
    /// The file is larger than the cap.
    capped: bool,
}

impl FileScan<'_> {
    /// Feeds the next bytes of the file. Returns [`Flow::Done`] once no more are wanted: the
    /// file is binary, or `min(size, cap)` bytes were taken (bytes beyond are ignored).
    pub fn push(&mut self, data: &[u8]) -> Flow {
        if self.is_done() {
            return Flow::Done;
        }
        let room = self.limit - self.received;
        let data = &data[..data.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        self.received += data.len() as u64;
        match self.mode {
            Mode::Undecided => {
                self.head.extend_from_slice(data);
                if self.head.len() >= BINARY_PREFIX_LEN {
                    self.decide();
                }
            }
            Mode::Decided(_) => self.feed(data),
        }
        if self.is_done() {
            Flow::Done
        } else {
            Flow::More
        }
    }

    /// Bytes pushed so far (up to the cap).
    pub fn bytes_read(&self) -> u64 {
        self.received
    }

    fn is_done(&self) -> bool {
        self.received >= self.limit || self.mode == Mode::Decided(ContentKind::Binary)
    }

    fn decide(&mut self) {
        let kind = content_kind(&self.path, &self.head);
        self.mode = Mode::Decided(kind);
        let head = std::mem::take(&mut self.head);
        self.feed(&head);
    }

    fn feed(&mut self, data: &[u8]) {
        match self.mode {
            Mode::Decided(ContentKind::Text) => self.buf.extend_from_slice(data),
            Mode::Decided(ContentKind::BinaryStrings) => self.runs.push(data, &mut self.buf),
            _ => return,
        }
        let limits = self.scanner.limits;
        while self.buf.len() >= limits.window + limits.overlap + LOOK_BEHIND {
            self.scan_and_slide();
        }
    }

    /// Scans the buffered window, commits all but its last `overlap` bytes, and keeps those
    /// (plus look-behind context) for the next window.
    fn scan_and_slide(&mut self) {
        let engine = &self.scanner.engine;
        let commit_to = self.base + (self.buf.len() - engine.overlap()) as u64;
        engine.scan_window(
            &self.path,
            &mut self.state,
            Window {
                hay: &self.buf,
                base: self.base,
                commit_from: self.commit_from,
                commit_to: Some(commit_to),
            },
            &mut self.findings,
        );
        let new_base = commit_to - LOOK_BEHIND as u64;
        let drop = (new_base - self.base) as usize;
        self.state.lines_before += count_newlines(&self.buf[..drop]);
        self.buf.drain(..drop);
        self.base = new_base;
        self.commit_from = commit_to;
    }

    /// Scans what is left and returns the file's findings.
    pub fn finish(mut self) -> FileOutcome {
        if self.mode == Mode::Undecided {
            self.decide();
        }
        if self.mode == Mode::Decided(ContentKind::BinaryStrings) {
            self.runs.finish(&mut self.buf);
        }
        let content = match self.mode {
            Mode::Decided(kind) => kind,
            Mode::Undecided => ContentKind::Text,
        };
        if content != ContentKind::Binary {
            self.scanner.engine.scan_window(
                &self.path,
                &mut self.state,
                Window {
                    hay: &self.buf,
                    base: self.base,
                    commit_from: self.commit_from,
                    commit_to: None,
                },
                &mut self.findings,
            );
        }
        FileOutcome {
            path: self.path,
            findings: sorted(self.findings),
            content,
            bytes_read: self.received,
            capped_at: self.capped.then_some(self.scanner.limits.size_cap),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner(window: usize, overlap: usize) -> SecretScanner {
        SecretScanner::new(
            RuleSet::builtin().unwrap(),
            ScanLimits {
                window,
                overlap,
                size_cap: 1 << 30,
            },
        )
        .unwrap()
    }

    #[test]
    fn finds_and_masks() {
        let s = SecretScanner::builtin().unwrap();
        let out = s.scan_bytes(
            "/app/.env",
            b"# creds\nAWS_ACCESS_KEY_ID=AKIAZ3MSJV5WKGPLUCQB\nGH=ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2\n",
        );
        assert_eq!(out.path, "app/.env");
        let ids: Vec<_> = out
            .findings
            .iter()
            .map(|f| (f.rule_id.as_str(), f.start_line))
            .collect();
        assert_eq!(ids, [("aws-access-key-id", 2), ("github-pat", 3)]);
        assert_eq!(out.findings[0].masked, "AKIA****************");
        assert_eq!(
            out.findings[0].context,
            "AWS_ACCESS_KEY_ID=AKIA****************"
        );
        let json = serde_json::to_string(&out).unwrap();
        assert!(!json.contains("Z3MSJV5W") && !json.contains("Zq3kV9mW"));
    }

    #[test]
    fn example_values_and_binaries_are_not_reported() {
        let s = SecretScanner::builtin().unwrap();
        assert!(
            s.scan_bytes("a.env", b"key=AKIAIOSFODNN7EXAMPLE\n")
                .findings
                .is_empty()
        );
        let mut bin = b"\x00\x01\x02".to_vec();
        bin.extend_from_slice(b" AKIAZ3MSJV5WKGPLUCQB\n");
        let out = s.scan_bytes("a.dat", &bin);
        assert_eq!(out.content, ContentKind::Binary);
        assert!(out.findings.is_empty());
        let out = s.scan_bytes("a.pyc", &bin);
        assert_eq!(out.content, ContentKind::BinaryStrings);
        assert_eq!(out.findings.len(), 1);
    }

    #[test]
    fn streaming_finds_each_secret_once_across_windows() {
        let s = scanner(1024, 256);
        let mut data = Vec::new();
        let mut expected = Vec::new();
        for i in 0..200 {
            data.extend_from_slice(format!("line {i} filler text ").repeat(i % 7).as_bytes());
            if i % 3 == 0 {
                expected.push(data.len() as u64 + 4);
                data.extend_from_slice(b"tok=ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2");
            }
            data.push(b'\n');
        }
        let whole = s.scan_bytes("f.txt", &data);
        let offsets: Vec<_> = whole.findings.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, expected);
        for piece in [1, 7, 300, 1024, 5000, data.len()] {
            let mut scan = s.file("f.txt", data.len() as u64);
            let mut at = 0;
            for chunk in data.chunks(piece) {
                at += chunk.len();
                let want = if at == data.len() {
                    Flow::Done
                } else {
                    Flow::More
                };
                assert_eq!(scan.push(chunk), want);
            }
            assert_eq!(scan.finish(), whole, "pieces of {piece}");
        }
    }

    #[test]
    fn size_cap_stops_and_notes() {
        let s = SecretScanner::new(
            RuleSet::builtin().unwrap(),
            ScanLimits {
                size_cap: 400,
                ..ScanLimits::default()
            },
        )
        .unwrap();
        let mut data = vec![b'a'; 500];
        data.extend_from_slice(b"\nghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2\n");
        let mut scan = s.file("big.txt", data.len() as u64);
        assert_eq!(scan.push(&data[..300]), Flow::More);
        assert_eq!(scan.push(&data[300..]), Flow::Done);
        let out = scan.finish();
        assert_eq!((out.bytes_read, out.capped_at), (400, Some(400)));
        assert!(out.findings.is_empty());
        assert_eq!(s.scan_bytes("big.txt", &data), out);
    }
}
