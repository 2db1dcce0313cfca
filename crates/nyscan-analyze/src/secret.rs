//! Secret scanning as one more analyzer: files are chosen from the bootstrap by path, size
//! and mode (the metadata predicate of `nyscan-secrets`: small files, lock files, known
//! binary suffixes and allowed paths are never read), and the planner skips the files OS
//! packages own. A chosen file is read through the planner's batched rounds: the first round
//! brings its first bytes, which decide text or binary; only text files (and the strings of
//! `.pyc` files) are read further, up to the scanner's size cap. A file cut at the cap still
//! reports what its first bytes hold, and says so in a note. Every finding is masked.

use std::collections::HashSet;
use std::sync::Arc;

use nyscan_secrets::select::BINARY_PREFIX_LEN;
use nyscan_secrets::{Decision, Flow, ScannerError, SecretScanner, Severity};
use serde::{Deserialize, Serialize};

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::bytes::{ByteSource, Need, ReadError};

/// Bytes handed to the streaming scanner at once.
const PIECE: u64 = 1 << 20;

/// Bumped whenever the same bytes and rules could give other findings.
const VERSION: u32 = 1;

/// One secret in one file of the image, masked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretFinding {
    /// Image path, without a leading `/`.
    pub path: String,
    /// Line of the secret's first byte (1-based).
    pub start_line: u64,
    /// Line of the secret's last byte (1-based).
    pub end_line: u64,
    /// Rule id (`aws-access-key-id`).
    pub rule_id: String,
    /// Rule family (`AWS`).
    pub category: String,
    /// Severity of the rule.
    pub severity: Severity,
    /// Rule title.
    pub title: String,
    /// Byte offset of the secret in the scanned content.
    pub offset: u64,
    /// The secret, masked (its first few characters, then `*`).
    pub masked: String,
    /// The line holding the secret, every secret on it masked.
    pub context: String,
}

impl From<nyscan_secrets::Finding> for SecretFinding {
    fn from(f: nyscan_secrets::Finding) -> Self {
        SecretFinding {
            path: f.path,
            start_line: f.start_line,
            end_line: f.end_line,
            rule_id: f.rule_id,
            category: f.category,
            severity: f.severity,
            title: f.title,
            offset: f.offset,
            masked: f.masked,
            context: f.context,
        }
    }
}

/// The secret analyzer: a [`SecretScanner`] (rules and limits) behind the analyzer contract.
#[derive(Debug, Clone)]
pub struct SecretAnalyzer {
    scanner: Arc<SecretScanner>,
    version: u32,
}

impl SecretAnalyzer {
    /// An analyzer over `scanner`. `rules_file` is the text of the rules file the scanner was
    /// built with, if any: it becomes part of [`Analyzer::version`], with the scanner's
    /// limits, so results kept for other rules or limits are never reused.
    pub fn new(scanner: Arc<SecretScanner>, rules_file: Option<&[u8]>) -> Self {
        let limits = scanner.limits();
        let mut hasher = blake3::Hasher::new();
        hasher.update(&VERSION.to_le_bytes());
        hasher.update(&limits.size_cap.to_le_bytes());
        hasher.update(&(limits.window as u64).to_le_bytes());
        hasher.update(&(limits.overlap as u64).to_le_bytes());
        if let Some(text) = rules_file {
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text);
        }
        let digest = hasher.finalize();
        let mut first = [0u8; 4];
        first.copy_from_slice(&digest.as_bytes()[..4]);
        SecretAnalyzer {
            scanner,
            version: u32::from_le_bytes(first),
        }
    }

    /// An analyzer with the built-in rules and default limits.
    pub fn builtin() -> Result<Self, ScannerError> {
        Ok(SecretAnalyzer::new(
            Arc::new(SecretScanner::builtin()?),
            None,
        ))
    }

    /// The scanner it runs.
    pub fn scanner(&self) -> &SecretScanner {
        &self.scanner
    }
}

impl Analyzer for SecretAnalyzer {
    fn name(&self) -> &'static str {
        "secret"
    }

    fn version(&self) -> u32 {
        self.version
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        // OS-owned files are skipped by the planner (the packages phase runs after ownership
        // is known), so no ownership set is given here.
        match self
            .scanner
            .decide(path, meta.size, meta.mode, &HashSet::new())
        {
            Decision::Scan { .. } => Some(Initial::Head(BINARY_PREFIX_LEN as u64)),
            Decision::Skip(_) => None,
        }
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        let size = data.len();
        let cap = self.scanner.limits().size_cap;
        let read = size.min(cap);
        let mut scan = self.scanner.file(path, size);
        // The first bytes decide text or binary before anything more is asked for.
        let head_len = read.min(BINARY_PREFIX_LEN as u64);
        let head = data.read_at(0, head_len as usize)?;
        let mut at = head_len;
        let mut flow = scan.push(&head);
        while flow == Flow::More && at < read {
            let n = (read - at).min(PIECE);
            let piece = match data.read_at(at, n as usize) {
                Ok(piece) => piece,
                // Ask for the whole rest at once: one more round, not one per piece.
                Err(ReadError::Need(_)) => return Err(AnalyzeError::Need(Need::range(at..read))),
                Err(e) => return Err(e.into()),
            };
            at += n;
            flow = scan.push(&piece);
        }
        let outcome = scan.finish();
        let partial = outcome.capped_at.map(|cap| {
            format!(
                "only the first {cap} of its {size} bytes were scanned for secrets (the size cap)"
            )
        });
        Ok(Findings {
            secrets: outcome
                .findings
                .into_iter()
                .map(SecretFinding::from)
                .collect(),
            partial,
            ..Findings::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    const REG: u32 = 0o100644;

    #[test]
    fn selects_from_metadata_and_reads_the_prefix_first() {
        let a = SecretAnalyzer::builtin().unwrap();
        let meta = |size| FileMeta { size, mode: REG };
        assert_eq!(
            a.select("app/.env", &meta(100)),
            Some(Initial::Head(BINARY_PREFIX_LEN as u64))
        );
        assert_eq!(a.select("app/.env", &meta(5)), None, "too small");
        assert_eq!(a.select("app/logo.png", &meta(5000)), None, "binary suffix");
        assert_eq!(
            a.select("usr/share/doc/x", &meta(5000)),
            None,
            "allowed path"
        );
        let dir = FileMeta {
            size: 4096,
            mode: 0o40755,
        };
        assert_eq!(a.select("app/conf", &dir), None, "not a regular file");
    }

    #[test]
    fn a_binary_file_is_decided_from_its_prefix_alone() {
        let a = SecretAnalyzer::builtin().unwrap();
        let mut bytes = vec![0u8, 1, 2, 3];
        bytes.resize(10_000, b'x');
        bytes.extend_from_slice(b"\nAKIAZ3MSJV5WKGPLUCQB\n");
        let mut view = FileView::new(bytes.len() as u64);
        view.insert(0, &bytes[..BINARY_PREFIX_LEN]);
        let found = a.analyze("app/data", &view, &Context::default()).unwrap();
        assert!(found.secrets.is_empty());
    }

    #[test]
    fn a_text_file_asks_for_its_rest_once_and_reports_masked_findings() {
        let a = SecretAnalyzer::builtin().unwrap();
        let mut bytes = b"# config\n".repeat(100);
        bytes.extend_from_slice(b"token=ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2\n");
        let mut view = FileView::new(bytes.len() as u64);
        view.insert(0, &bytes[..BINARY_PREFIX_LEN]);
        match a.analyze("app/config", &view, &Context::default()) {
            Err(AnalyzeError::Need(need)) => {
                assert_eq!(
                    need.ranges,
                    vec![BINARY_PREFIX_LEN as u64..bytes.len() as u64]
                )
            }
            other => panic!("expected a need, got {other:?}"),
        }
        let view = FileView::whole(bytes.clone());
        let found = a.analyze("app/config", &view, &Context::default()).unwrap();
        assert_eq!(found.secrets.len(), 1, "{:?}", found.secrets);
        let s = &found.secrets[0];
        assert_eq!(
            (s.rule_id.as_str(), s.start_line, s.path.as_str()),
            ("github-pat", 101, "app/config")
        );
        assert!(!s.masked.contains("Zq3kV9mW") && !s.context.contains("Zq3kV9mW"));
        assert!(found.partial.is_none());
    }

    #[test]
    fn a_file_over_the_cap_is_scanned_up_to_it_with_a_note() {
        let limits = nyscan_secrets::ScanLimits {
            size_cap: 2000,
            ..nyscan_secrets::ScanLimits::default()
        };
        let scanner =
            SecretScanner::new(nyscan_secrets::RuleSet::builtin().unwrap(), limits).unwrap();
        let a = SecretAnalyzer::new(Arc::new(scanner), None);
        assert_ne!(a.version(), SecretAnalyzer::builtin().unwrap().version());
        let mut bytes = b"AWS_ACCESS_KEY_ID=AKIAZ3MSJV5WKGPLUCQB\n".to_vec();
        bytes.resize(5000, b'\n');
        bytes.extend_from_slice(b"ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2\n");
        let mut view = FileView::new(bytes.len() as u64);
        view.insert(0, &bytes[..2000]);
        let found = a
            .analyze("app/big.log", &view, &Context::default())
            .unwrap();
        let ids: Vec<&str> = found.secrets.iter().map(|s| s.rule_id.as_str()).collect();
        assert_eq!(ids, ["aws-access-key-id"]);
        let note = found.partial.expect("a note about the cap");
        assert!(note.contains("2000") && note.contains("5041"), "{note}");
    }

    #[test]
    fn rules_files_change_the_version() {
        let scanner = Arc::new(SecretScanner::builtin().unwrap());
        let plain = SecretAnalyzer::new(scanner.clone(), None);
        let custom = SecretAnalyzer::new(scanner, Some(b"disable-rules: [github-pat]"));
        assert_ne!(plain.version(), custom.version());
        assert_eq!(
            plain.version(),
            SecretAnalyzer::builtin().unwrap().version()
        );
    }
}
