//! Conda packages: the per-package records in `conda-meta/` of named environments.
//!
//! Trivy's conda-pkg analyzer selects paths matching `.*/envs/.+/conda-meta/.+-.+-.+\.json`
//! (unanchored): only environments under an `envs/` directory, so the base environment
//! (`<root>/conda-meta/`) does not count. The record is read whole (it carries the package's
//! file list, so it can be large); `name` and `version` are required, `license` is split into
//! licenses. Trivy reports conda packages in SBOMs only (no vulnerability matching).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::bytes::ByteSource;
use crate::package::{Package, PackageType};

use super::license::split_licenses;
use super::{WholeFile, first_json_value, json_kind, json_string_field, package, purl};

const WHAT: &str = "conda-meta record";
/// Records are read whole, up to 64 MiB.
const FILE: WholeFile = WholeFile {
    what: WHAT,
    max_size: 64 * 1024 * 1024,
};

static PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r".*/envs/.+/conda-meta/.+-.+-.+\.json").expect("conda path pattern is valid")
});

/// Conda packages from `envs/*/conda-meta/*.json`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CondaMetaAnalyzer;

impl Analyzer for CondaMetaAnalyzer {
    fn name(&self) -> &'static str {
        "conda-pkg"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        FILE.select(meta, || PATH.is_match(path))
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        FILE.analyze(data, |bytes| conda_package(path, bytes))
    }
}

/// The package of the conda-meta record `bytes` at image path `path`.
fn conda_package(path: &str, bytes: &[u8]) -> Result<Vec<Package>, AnalyzeError> {
    let value = first_json_value(bytes, WHAT)?;
    let Value::Object(record) = &value else {
        return Err(AnalyzeError::Invalid(format!(
            "{WHAT}: top level is a {}, not an object",
            json_kind(&value)
        )));
    };
    let name = json_string_field(record, "name", WHAT)?;
    let version = json_string_field(record, "version", WHAT)?;
    let license = json_string_field(record, "license", WHAT)?;
    if name.is_empty() || version.is_empty() {
        return Err(AnalyzeError::Invalid(format!(
            "{WHAT}: no name or no version"
        )));
    }
    Ok(vec![package(
        PackageType::CondaPkg,
        &name,
        &version,
        split_licenses(&license),
        purl::plain("conda", &name, &version),
        path,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    #[test]
    fn named_environments_only() {
        let a = CondaMetaAnalyzer;
        let m = FileMeta {
            size: 10,
            mode: 0o100644,
        };
        assert!(
            a.select(
                "opt/conda/envs/ml/conda-meta/numpy-1.26.4-py311h64a7726_0.json",
                &m
            )
            .is_some()
        );
        assert!(
            a.select("opt/conda/conda-meta/numpy-1.26.4-py311h64a7726_0.json", &m)
                .is_none()
        );
        assert!(
            a.select("opt/conda/envs/ml/conda-meta/history", &m)
                .is_none()
        );
        assert!(a.select("envs/ml/conda-meta/a-1-0.json", &m).is_none());
    }

    #[test]
    fn record_fields() {
        let run = |text: &str| {
            CondaMetaAnalyzer.analyze(
                "opt/conda/envs/ml/conda-meta/six-1.16.0-pyh6c4a22f_0.json",
                &FileView::whole(text.as_bytes().to_vec()),
                &Context::default(),
            )
        };
        let found = run(r#"{"name":"six","version":"1.16.0","license":"MIT","files":["a"]}"#)
            .unwrap()
            .packages;
        assert_eq!(found[0].purl, "pkg:conda/six@1.16.0");
        assert_eq!(found[0].licenses, ["MIT"]);
        assert!(run(r#"{"name":"six"}"#).is_err());
        assert!(run(r#"{"name":"six","version":"1","license":["MIT"]}"#).is_err());
    }
}
