//! Secret scanning and image-config checks for nyscan, reading only the files that can hold
//! a secret.
//!
//! # Brief overview
//!
//! - [`RuleSet`]: the secret rules in force: 106 built-in rules (ids, categories and
//!   severities aligned with Trivy's for the families both have) and allow rules, adjusted by
//!   an optional YAML rules file ([`config`]).
//! - [`SecretScanner`]: compiles the rules' keywords into one Aho-Corasick automaton and
//!   - [`SecretScanner::decide`]: **selection from metadata**: from a path, size and mode
//!     (and the set of OS-owned paths), whether the file is read at all ([`Decision`]);
//!   - [`SecretScanner::file`]: a **streaming** scan ([`FileScan`]): push the file's bytes in
//!     any pieces (chunks as they arrive); the first 300 bytes decide text vs binary
//!     ([`select::is_binary`]) and a binary file answers [`Flow::Done`] at once; windows
//!     overlap so a secret across a piece or window boundary is found exactly once;
//!   - [`SecretScanner::scan_bytes`]: the same over a whole in-memory file.
//! - [`Finding`]: rule id, category, severity, title, path, lines, offset, the **masked**
//!   secret and the **masked** line. No output of this crate holds a whole secret.
//! - [`image_config::check_image_config`]: checks on the image config JSON (root user
//!   `DS002`, exposed SSH `DS004`, no health check `DS026`, secret build args/envs `DS031`)
//!   and the secret engine over its env, labels, command and history.
//!
//! # How the planner uses it
//!
//! ```no_run
//! use std::collections::HashSet;
//! use nyscan_secrets::{Decision, Flow, SecretScanner};
//!
//! let scanner = SecretScanner::builtin()?;
//! let os_owned: HashSet<String> = HashSet::new(); // from the OS package analyzers
//! // For each file of the bootstrap: decide from metadata alone.
//! let (path, size, mode) = ("app/.env", 120, 0o100644);
//! if let Decision::Scan { read, capped } = scanner.decide(path, size, mode, &os_owned) {
//!     let mut scan = scanner.file(path, size);
//!     // Fetch the first 300 bytes, push them; on Flow::More fetch the rest (up to `read`)
//!     // chunk by chunk and push each; stop on Flow::Done.
//!     let chunk: &[u8] = b"AWS_ACCESS_KEY_ID=AKIAZ3MSJV5WKGPLUCQB\n";
//!     if scan.push(chunk) == Flow::More { /* push more */ }
//!     let outcome = scan.finish();
//!     for f in &outcome.findings {
//!         println!("{} {}:{} {}", f.rule_id, f.path, f.start_line, f.context);
//!     }
//!     let _ = (read, capped); // `capped`: report that only `read` bytes were scanned
//! }
//! # Ok::<(), nyscan_secrets::ScannerError>(())
//! ```
//!
//! # Engine
//!
//! One keyword pass (ASCII case-insensitive Aho-Corasick, all rules' keywords) over a window
//! finds the hits; a rule's regex runs only around its own hits (within its longest possible
//! match, or the overlap for unbounded rules), and a match is kept only if it contains a
//! keyword hit, no allow rule exempts its text and, for a few built-in rules, a validator
//! accepts it. Regexes are searched in sub-ranges with look-around that sees the whole
//! window, so a window boundary never invents or cuts a match shorter than the overlap.
//!
//! Regex syntax is that of the `regex` crate, in byte mode: ASCII classes and case folding
//! by default, `(?u)` for Unicode.
//!
//! # Limits
//!
//! [`ScanLimits`]: window (256 KiB), overlap (16 KiB: matches longer than this, such as a
//! private key over 16 KiB, may be missed across a window boundary), size cap (32 MiB per
//! file; the outcome says when a file was cut). Rules files are at most 1 MiB and 1000 rules;
//! each pattern compiles within a 4 MiB NFA budget.
//!
//! # Security
//!
//! File contents, paths, image configs and rules files are untrusted: every input size that
//! drives an allocation is bounded, bad input is a typed error naming what and where, and
//! nothing here panics on data.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod builtin;
pub mod config;
mod engine;
pub mod finding;
pub mod image_config;
mod pattern;
pub mod rule;
pub mod ruleset;
pub mod scanner;
pub mod select;
pub mod severity;

pub use config::{ConfigError, RulesFile};
pub use engine::KeywordError;
pub use finding::Finding;
pub use image_config::{ImageConfigError, ImageConfigReport, Misconfiguration, check_image_config};
pub use pattern::{MAX_PATTERN_LEN, PatternError};
pub use rule::{AllowRule, Rule, RuleError, RuleSpec};
pub use ruleset::RuleSet;
pub use scanner::{
    ContentKind, FileOutcome, FileScan, Flow, ScanLimits, ScannerError, SecretScanner,
};
pub use select::{Decision, SkipReason};
pub use severity::Severity;
