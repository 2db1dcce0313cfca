//! Executables: ELF parsing, Go build information, Rust cargo-auditable data.
//!
//! Both analyzers select what Trivy's `gobinary` and `rustbinary` select: a regular file
//! with any execute bit, or a name ending in `.exe`. They start from the first
//! [`HEAD_BYTES`] bytes, skip anything that does not start with the ELF magic, and then read
//! in rounds: section header table → section names → `.go.buildinfo` / `.dep-v0`. A Go
//! binary costs a few KiB of a file of many MiB (a 6.6 MB test binary: 2,254 bytes in three
//! rounds after the first 64); the symbol table is read only for a main module whose version
//! is known from nowhere else (a `-trimpath` build without a release version).
//!
//! Differences from Trivy, by design:
//! - ELF only: Go's reader (and so Trivy) also reads PE, Mach-O and XCOFF executables; a
//!   `.exe` is selected but only parsed when it is in fact ELF.
//! - Without a `.go.buildinfo` section, the data segment is searched for the build
//!   information only when the file has no section headers at all (see [`go_buildinfo`]).

use crate::analyzer::{AnalyzeError, Analyzer, FileMeta, Findings, Initial};
use crate::lang::package_findings;
use crate::package::Package;

pub mod elf;
pub mod go_buildinfo;
pub mod go_ldflags;
pub mod go_symbols;
pub mod go_version;
pub mod gobinary;
pub mod rustbinary;

/// Bytes read first from a selected executable: the ELF64 header.
pub const HEAD_BYTES: u64 = elf::HEADER_LEN;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(gobinary::GoBinary),
        Box::new(rustbinary::RustBinary),
    ]
}

/// Trivy's `IsExecutable`: a name ending in `.exe`, or a regular file with an execute bit.
pub fn is_executable(path: &str, meta: &FileMeta) -> bool {
    path.ends_with(".exe") || (meta.mode & S_IFMT == S_IFREG && meta.is_executable())
}

/// The selection shared by the executable analyzers.
pub(crate) fn selected_executable(path: &str, meta: &FileMeta) -> Option<Initial> {
    is_executable(path, meta).then_some(Initial::Head(HEAD_BYTES))
}

/// The findings of an executable analyzer from what its reader returned: the packages, or
/// none when `is_other_kind` says the error only means the file is not the kind the analyzer
/// reads (not ELF, not a Go binary, no audit data); other errors are the analyzer's.
pub(crate) fn executable_findings<E: Into<AnalyzeError>>(
    read: Result<Vec<Package>, E>,
    is_other_kind: impl FnOnce(&E) -> bool,
) -> Result<Findings, AnalyzeError> {
    match read {
        Ok(packages) => Ok(package_findings(packages)),
        Err(e) if is_other_kind(&e) => Ok(Findings::default()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_selected_like_trivy() {
        let meta = |mode| FileMeta { size: 10, mode };
        assert!(is_executable("usr/bin/ls", &meta(0o100755)));
        assert!(is_executable("opt/x", &meta(0o100100)));
        assert!(!is_executable("etc/passwd", &meta(0o100644)));
        assert!(!is_executable("usr/bin", &meta(0o040755)));
        assert!(!is_executable("usr/bin/link", &meta(0o120777)));
        assert!(is_executable("win/tool.exe", &meta(0o100644)));
        assert_eq!(
            selected_executable("usr/bin/ls", &meta(0o100755)),
            Some(Initial::Head(64))
        );
    }
}
