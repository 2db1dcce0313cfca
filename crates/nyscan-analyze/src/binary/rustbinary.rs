//! The Rust binary analyzer: crates recorded by `cargo auditable` in the ELF section
//! `.dep-v0` (zlib-compressed JSON: `{"packages": [{"name", "version", "source", "kind",
//! "dependencies", "root"}]}`, `kind` defaulting to `runtime`). As Trivy's `rustbinary`
//! analyzer, only runtime crates are reported (build dependencies are left out); purls are
//! `pkg:cargo/<name>@<version>`.

use std::io::Read;

use serde::Deserialize;

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::binary::elf::{Elf, ElfError, Sections};
use crate::binary::{executable_findings, selected_executable};
use crate::bytes::ByteSource;
use crate::os::purl;
use crate::package::{Package, PackageType};

/// Largest compressed `.dep-v0` section read.
pub const MAX_COMPRESSED: u64 = 8 << 20;
/// Largest decompressed audit JSON accepted (`auditable-info`'s default limit).
pub const MAX_JSON: u64 = 8 << 20;
/// Most packages accepted in one binary.
pub const MAX_PACKAGES: usize = 100_000;

/// Why the audit data could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The ELF structure around it.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// No `.dep-v0` section: not built with `cargo auditable`.
    #[error("no cargo-auditable data")]
    NotAuditable,
    /// The zlib stream is damaged.
    #[error("cargo-auditable data at offset {offset:#x}: zlib stream: {reason}")]
    Zlib {
        /// File offset of the section.
        offset: u64,
        /// The decoder's message.
        reason: String,
    },
    /// The JSON decompresses to more than [`MAX_JSON`] bytes.
    #[error("cargo-auditable data at offset {offset:#x} expands past {max} bytes")]
    TooLarge {
        /// File offset of the section.
        offset: u64,
        /// The limit.
        max: u64,
    },
    /// The JSON does not match the format.
    #[error("cargo-auditable JSON at offset {offset:#x}: {reason}")]
    Json {
        /// File offset of the section.
        offset: u64,
        /// The parser's message.
        reason: String,
    },
}

impl From<AuditError> for AnalyzeError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Elf(e) => e.into(),
            e @ AuditError::TooLarge { .. } => AnalyzeError::Limit(e.to_string()),
            e => AnalyzeError::Invalid(e.to_string()),
        }
    }
}

/// The Rust binary analyzer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustBinary;

impl Analyzer for RustBinary {
    fn name(&self) -> &'static str {
        "rustbinary"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        selected_executable(path, meta)
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        executable_findings(rust_packages(data, path), |e| {
            matches!(
                e,
                AuditError::NotAuditable | AuditError::Elf(ElfError::NotElf)
            )
        })
    }
}

/// One crate of the audit data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuditPackage {
    /// Crate name.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// `runtime` (the default) or `build`.
    #[serde(default = "runtime")]
    pub kind: String,
    /// True for the crate of the binary itself.
    #[serde(default)]
    pub root: bool,
}

fn runtime() -> String {
    "runtime".to_owned()
}

#[derive(Deserialize)]
struct AuditData {
    packages: Vec<AuditPackage>,
}

/// The crates recorded in the `.dep-v0` section.
pub fn read_audit_data(data: &dyn ByteSource) -> Result<Vec<AuditPackage>, AuditError> {
    let elf = Elf::parse(data)?;
    let sections = Sections::read(&elf, data)?;
    let Some(section) = sections.find(".dep-v0") else {
        return Err(AuditError::NotAuditable);
    };
    let offset = section.offset;
    let compressed = Sections::read_section(data, section, MAX_COMPRESSED, ".dep-v0")?;
    let json = inflate_zlib(&compressed, offset)?;
    let parsed: AuditData = serde_json::from_slice(&json).map_err(|e| AuditError::Json {
        offset,
        reason: e.to_string(),
    })?;
    if parsed.packages.len() > MAX_PACKAGES {
        return Err(AuditError::Json {
            offset,
            reason: format!("{} packages (limit {MAX_PACKAGES})", parsed.packages.len()),
        });
    }
    Ok(parsed.packages)
}

fn inflate_zlib(compressed: &[u8], offset: u64) -> Result<Vec<u8>, AuditError> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut out)
        .map_err(|e| AuditError::Zlib {
            offset,
            reason: e.to_string(),
        })?;
    if out.len() as u64 > MAX_JSON {
        return Err(AuditError::TooLarge {
            offset,
            max: MAX_JSON,
        });
    }
    Ok(out)
}

/// The runtime crates of a Rust binary at image path `path`.
pub fn rust_packages(data: &dyn ByteSource, path: &str) -> Result<Vec<Package>, AuditError> {
    let crates = read_audit_data(data)?;
    Ok(crates
        .into_iter()
        .filter(|c| c.kind == "runtime")
        .map(|c| Package {
            kind: PackageType::Rustbinary,
            purl: purl::build("cargo", None, &c.name, &c.version, &[]),
            name: c.name,
            version: c.version,
            arch: None,
            source: None,
            licenses: Vec::new(),
            locations: vec![path.to_owned()],
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;
    use crate::archive::zip::in_memory as mem;
    use crate::binary::elf::tests::{TestSection, build_elf};
    use crate::binary::elf::{Class, Endian};

    pub(crate) fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn file_with(section: &[u8]) -> Vec<u8> {
        build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".dep-v0",
                kind: 1,
                addr: 0,
                data: section,
                link: 0,
                entsize: 0,
            }],
        )
    }

    #[test]
    fn runtime_crates_are_reported_build_ones_are_not() {
        let json = br#"{"packages":[
            {"name":"hello","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},
            {"name":"itoa","version":"1.0.11","source":"crates.io"},
            {"name":"cc","version":"1.0.83","source":"crates.io","kind":"build"}]}"#;
        let file = file_with(&zlib(json));
        let packages = rust_packages(&mem(&file), "usr/bin/hello").unwrap();
        let got: Vec<_> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("hello", "0.1.0", "pkg:cargo/hello@0.1.0"),
                ("itoa", "1.0.11", "pkg:cargo/itoa@1.0.11")
            ]
        );
        assert_eq!(packages[0].kind, PackageType::Rustbinary);
    }

    #[test]
    fn hostile_audit_data_ends_in_errors() {
        // Not zlib.
        let file = file_with(b"not zlib at all");
        assert!(matches!(
            read_audit_data(&mem(&file)),
            Err(AuditError::Zlib { .. })
        ));
        // A zlib bomb: 64 MiB of spaces (valid JSON whitespace) compress to ~64 KiB.
        let bomb = zlib(&vec![b' '; 64 << 20]);
        let file = file_with(&bomb);
        let err = read_audit_data(&mem(&file)).unwrap_err();
        assert!(matches!(err, AuditError::TooLarge { .. }), "{err}");
        assert!(matches!(AnalyzeError::from(err), AnalyzeError::Limit(_)));
        // Wrong JSON shape.
        let file = file_with(&zlib(br#"{"packages": 5}"#));
        assert!(matches!(
            read_audit_data(&mem(&file)),
            Err(AuditError::Json { .. })
        ));
        // No section: not auditable, which the analyzer reports as nothing found.
        let file = build_elf(Class::Elf64, Endian::Little, &[]);
        assert_eq!(read_audit_data(&mem(&file)), Err(AuditError::NotAuditable));
        let findings = RustBinary
            .analyze("bin/x", &mem(&file), &Context::default())
            .unwrap();
        assert!(findings.packages.is_empty());
    }
}
