//! Language package metadata in text form: Python, Node.js, Ruby, PHP, .NET, conda, Cargo.lock.
//!
//! Each analyzer selects files by the path rules Trivy uses (see the `select` of each) and
//! reports packages with Trivy's package types and purls:
//!
//! | analyzer | files | bytes read | purl |
//! |---|---|---|---|
//! | [`PythonPackageAnalyzer`] | `*.dist-info/METADATA`, `EGG-INFO/PKG-INFO`, `*.egg-info`, `*.egg-info/{PKG-INFO,METADATA}` | the header block only (up to the first blank line, at most 8 MiB) | `pkg:pypi/<lowercase, _→->@<version>` |
//! | [`NodePackageAnalyzer`] | any `package.json` | whole | `pkg:npm/%40scope/name@<version>` |
//! | [`GemspecAnalyzer`] | `*/specifications/*.gemspec` | whole | `pkg:gem/<name>@<version>` |
//! | [`ComposerInstalledAnalyzer`] | any `installed.json` | whole | `pkg:composer/<vendor>/<name>@<version>` |
//! | [`DotnetDepsAnalyzer`] | `*.deps.json` | whole | `pkg:nuget/<name>@<version>` |
//! | [`CondaMetaAnalyzer`] | `*/envs/*/conda-meta/*-*-*.json` (not the base env) | whole | `pkg:conda/<name>@<version>` |
//! | [`CargoLockAnalyzer`] | any `Cargo.lock` | whole | `pkg:cargo/<name>@<version>` |
//!
//! Whole-file analyzers refuse files above a per-format size limit with
//! [`AnalyzeError::Limit`] without fetching them (they select `Initial::Head(0)` for those).

use std::borrow::Cow;

use crate::analyzer::{AnalyzeError, Analyzer, FileMeta, Initial};
use crate::bytes::ByteSource;
use crate::package::{Package, PackageType};

mod cargo_lock;
mod composer;
mod conda;
mod dotnet;
mod gemspec;
mod license;
mod node;
pub mod purl;
mod python;
mod whole;

pub use cargo_lock::CargoLockAnalyzer;
pub use composer::ComposerInstalledAnalyzer;
pub use conda::CondaMetaAnalyzer;
pub use dotnet::DotnetDepsAnalyzer;
pub use gemspec::GemspecAnalyzer;
pub use node::{NodePackageAnalyzer, PackageJson, parse_package_json};
pub(crate) use python::{EGG_SUFFIXES, metadata_package};
pub use python::{MetadataFields, PythonPackageAnalyzer, parse_metadata_header};
pub(crate) use whole::{WholeFile, package_findings};

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(PythonPackageAnalyzer),
        Box::new(NodePackageAnalyzer),
        Box::new(GemspecAnalyzer),
        Box::new(ComposerInstalledAnalyzer),
        Box::new(DotnetDepsAnalyzer),
        Box::new(CondaMetaAnalyzer),
        Box::new(CargoLockAnalyzer),
    ]
}

/// True for a regular file (type bits `S_IFREG`).
pub(crate) fn is_regular(meta: &FileMeta) -> bool {
    meta.mode & 0o170000 == 0o100000
}

/// The last path component.
pub(crate) fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What a whole-file analyzer starts from: the whole file, or nothing when it is above
/// `limit` (the analyzer then answers [`AnalyzeError::Limit`] from the size alone).
pub(crate) fn whole_up_to(meta: &FileMeta, limit: u64) -> Initial {
    if meta.size > limit {
        Initial::Head(0)
    } else {
        Initial::Whole
    }
}

/// All bytes of a file of at most `limit` bytes; `what` names the file kind in errors.
pub(crate) fn read_whole<'a>(
    data: &'a dyn ByteSource,
    limit: u64,
    what: &str,
) -> Result<Cow<'a, [u8]>, AnalyzeError> {
    let size = data.len();
    if size > limit {
        return Err(AnalyzeError::Limit(format!(
            "{what} of {size} bytes exceeds the {limit}-byte limit"
        )));
    }
    Ok(data.read_at(0, size as usize)?)
}

/// A language package found in the metadata file at `path`.
pub(crate) fn package(
    kind: PackageType,
    name: &str,
    version: &str,
    licenses: Vec<String>,
    purl: String,
    path: &str,
) -> Package {
    Package {
        kind,
        name: name.to_string(),
        version: version.to_string(),
        arch: None,
        source: None,
        licenses,
        purl,
        locations: vec![path.to_string()],
    }
}

/// A JSON decode error with the line and column where it happened.
pub(crate) fn json_error(what: &str, e: &serde_json::Error) -> AnalyzeError {
    AnalyzeError::Invalid(format!(
        "{what}: invalid JSON at line {} column {}: {e}",
        e.line(),
        e.column()
    ))
}

/// The first JSON value of `bytes` (trailing bytes are ignored, as Go's `json.Decoder` does).
pub(crate) fn first_json_value(
    bytes: &[u8],
    what: &str,
) -> Result<serde_json::Value, AnalyzeError> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>();
    match values.next() {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(json_error(what, &e)),
        None => Err(AnalyzeError::Invalid(format!("{what}: empty file"))),
    }
}

/// A string field of a JSON object the way Go's `encoding/json` fills a `string` struct
/// field: an exact key first, else a key equal under case folding; absent or `null` is
/// empty; any other type is an error.
pub(crate) fn json_string_field(
    object: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    what: &str,
) -> Result<String, AnalyzeError> {
    match json_field(object, key) {
        None | Some(serde_json::Value::Null) => Ok(String::new()),
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(AnalyzeError::Invalid(format!(
            "{what}: field \"{key}\" is a {}, not a string",
            json_kind(other)
        ))),
    }
}

/// A field of a JSON object: exact key first, else the first key equal under ASCII case
/// folding (Go's `encoding/json` matching).
pub(crate) fn json_field<'v>(
    object: &'v serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'v serde_json::Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The JSON type name of a value, for errors.
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_file_check_uses_type_bits() {
        assert!(is_regular(&FileMeta {
            size: 1,
            mode: 0o100644
        }));
        assert!(!is_regular(&FileMeta {
            size: 1,
            mode: 0o040755
        }));
        assert!(!is_regular(&FileMeta {
            size: 1,
            mode: 0o120777
        }));
    }

    #[test]
    fn every_analyzer_asks_for_what_it_selected() {
        use crate::analyzer::Context;
        use crate::bytes::FileView;
        let samples = [
            "x/six-1.16.0.dist-info/METADATA",
            "app/package.json",
            "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec",
            "app/vendor/composer/installed.json",
            "app/app.deps.json",
            "opt/conda/envs/a/conda-meta/six-1.16.0-py_0.json",
            "src/Cargo.lock",
        ];
        let size = 200_000u64;
        let meta = FileMeta {
            size,
            mode: 0o100644,
        };
        for (analyzer, path) in analyzers().iter().zip(samples) {
            let initial = analyzer.select(path, &meta).expect(path);
            let head = match initial {
                Initial::Whole => size,
                Initial::Head(n) => n.min(size),
                Initial::HeadTail { .. } => panic!("{path}: no analyzer here reads a tail"),
            };
            // Nothing known yet: the analyzer asks for exactly its initial bytes.
            let err = analyzer
                .analyze(path, &FileView::new(size), &Context::default())
                .unwrap_err();
            match err {
                AnalyzeError::Need(need) => assert_eq!(need.ranges, vec![0..head], "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn json_fields_match_like_go() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"Name":"a","version":1,"x":null}"#).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(json_string_field(o, "name", "t").unwrap(), "a");
        assert_eq!(json_string_field(o, "x", "t").unwrap(), "");
        assert_eq!(json_string_field(o, "missing", "t").unwrap(), "");
        assert!(json_string_field(o, "version", "t").is_err());
        let trailing = first_json_value(b"{\"a\":1} trailing", "t").unwrap();
        assert_eq!(trailing["a"], 1);
        assert!(first_json_value(b"   ", "t").is_err());
    }
}
