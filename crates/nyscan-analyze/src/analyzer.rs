//! The analyzer contract: select files by path and metadata, parse what the planner fetched.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::bytes::{ByteSource, Need, ReadError};
use crate::package::{OsInfo, Package};

/// What the bootstrap says about a file; analyzers select on this alone, never on content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    /// Size in bytes.
    pub size: u64,
    /// Mode bits, type bits included.
    pub mode: u32,
}

impl FileMeta {
    /// Any execute bit set.
    pub fn is_executable(&self) -> bool {
        self.mode & 0o111 != 0
    }
}

/// The bytes an analyzer starts from; what it needs beyond them it asks for with [`Need`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initial {
    /// The whole file.
    Whole,
    /// The first bytes (at most this many).
    Head(u64),
    /// The first and the last bytes (archives keep their directory at the end).
    HeadTail {
        /// Bytes from the start.
        head: u64,
        /// Bytes from the end.
        tail: u64,
    },
}

/// When an analyzer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// OS detection and OS package databases: read first, their file ownership lists decide
    /// which files the later phase skips.
    Os,
    /// Everything else.
    Packages,
}

/// What a file analysis can end in besides a result.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// More bytes are needed: fetch them and run again.
    #[error("more bytes needed")]
    Need(Need),
    /// The file is not what its name says or is damaged; the scan goes on without it.
    #[error("{0}")]
    Invalid(String),
    /// The file exceeds a limit (size, nesting, member count, expansion ratio).
    #[error("limit exceeded: {0}")]
    Limit(String),
}

impl From<ReadError> for AnalyzeError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Need(need) => AnalyzeError::Need(need),
            other => AnalyzeError::Invalid(other.to_string()),
        }
    }
}

impl From<Need> for AnalyzeError {
    fn from(need: Need) -> Self {
        AnalyzeError::Need(need)
    }
}

/// What one file contributed. Serializable: the scan cache keeps it on disk (every field is
/// written, and an entry missing a field is not read back).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Findings {
    /// Packages found.
    pub packages: Vec<Package>,
    /// The OS, from release files.
    pub os: Option<OsInfo>,
    /// Paths (no leading `/`) owned by OS packages; the later phase skips them.
    pub owned_files: Vec<String>,
    /// Paths owned by one package, named as its ownership list names it (dpkg: `NAME` or
    /// `NAME:ARCH`). They count as owned only when an installed OS package of that name is
    /// found and is not in [`Findings::third_party`].
    pub package_files: Vec<(String, Vec<String>)>,
    /// Installed OS packages from third-party repositories (by maintainer, as Trivy decides):
    /// their files do not count as owned, so language packages they ship are still reported.
    pub third_party: Vec<String>,
    /// Secrets found in the file (masked).
    pub secrets: Vec<crate::secret::SecretFinding>,
    /// Set when only part of the file was analyzed (a size cap): why. The planner turns it
    /// into a [`Note`](crate::planner::Note) next to the findings.
    pub partial: Option<String>,
}

/// Facts from the earlier phase that a later analyzer may use.
#[derive(Debug, Default)]
pub struct Context {
    /// The OS, when detected.
    pub os: Option<OsInfo>,
    /// Paths (no leading `/`) owned by OS packages.
    pub owned_files: HashSet<String>,
}

/// One analyzer: which files it wants and how it reads them.
pub trait Analyzer: Send + Sync + std::fmt::Debug {
    /// Stable name (report and cache key).
    fn name(&self) -> &'static str;

    /// Bumped whenever results for the same bytes could change (cache invalidation).
    fn version(&self) -> u32;

    /// The phase it runs in.
    fn phase(&self) -> Phase {
        Phase::Packages
    }

    /// Whether it wants `path` (relative, no leading `/`), and which bytes to start with.
    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial>;

    /// Parses the file. Returns [`AnalyzeError::Need`] (usually via `?` on a read) when bytes
    /// are missing; it is then run again with more bytes known.
    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        context: &Context,
    ) -> Result<Findings, AnalyzeError>;
}
