//! Node.js packages: `package.json` of installed packages and applications.
//!
//! Rules from Trivy's node-pkg analyzer: every file named `package.json` is read (whole);
//! only its first JSON value counts; `name` must be empty or URL-friendly
//! (`[@scope/]name` of `A-Za-z0-9-._`), otherwise the file is an error; a file without
//! `name` or `version` yields no package. `name`, `version` and the dependency maps must have
//! the types Go decodes them into (string, string, object of strings), otherwise the file is an
//! error. `license` is a string, an object with `type`, or an array of such objects; any other
//! shape gives no license.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::bytes::ByteSource;
use crate::package::PackageType;

use super::{
    WholeFile, base_name, first_json_value, json_field, json_kind, json_string_field, package, purl,
};

const WHAT: &str = "package.json";
/// The largest `package.json` read.
const MAX_SIZE: u64 = 16 * 1024 * 1024;
const FILE: WholeFile = WholeFile {
    what: WHAT,
    max_size: MAX_SIZE,
};

static VALID_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(@[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+$").expect("name pattern is valid")
});

/// Node.js packages from `package.json` files.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodePackageAnalyzer;

impl Analyzer for NodePackageAnalyzer {
    fn name(&self) -> &'static str {
        "node-pkg"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        FILE.select(meta, || base_name(path) == "package.json")
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        FILE.analyze(data, |bytes| {
            let Some(found) = parse_package_json(bytes)? else {
                return Ok(Vec::new());
            };
            Ok(vec![package(
                PackageType::NodePkg,
                &found.name,
                &found.version,
                found.licenses,
                purl::npm(&found.name, &found.version),
                path,
            )])
        })
    }
}

/// What a `package.json` declares about its own package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageJson {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// License names from `license`.
    pub licenses: Vec<String>,
}

/// Parses a `package.json`; `None` when it names no package (no name or no version).
pub fn parse_package_json(bytes: &[u8]) -> Result<Option<PackageJson>, AnalyzeError> {
    let value = first_json_value(bytes, WHAT)?;
    let object = match &value {
        Value::Object(o) => o,
        Value::Null => return Ok(None),
        other => {
            return Err(AnalyzeError::Invalid(format!(
                "{WHAT}: top level is a {}, not an object",
                json_kind(other)
            )));
        }
    };
    let name = json_string_field(object, "name", WHAT)?;
    let version = json_string_field(object, "version", WHAT)?;
    for key in ["dependencies", "optionalDependencies", "devDependencies"] {
        check_string_map(json_field(object, key), key)?;
    }
    if !name.is_empty() && !VALID_NAME.is_match(&name) {
        return Err(AnalyzeError::Invalid(format!(
            "{WHAT}: name {name:?} has characters that are not URL-friendly"
        )));
    }
    if name.is_empty() || version.is_empty() {
        return Ok(None);
    }
    let licenses = json_field(object, "license")
        .map(license_names)
        .unwrap_or_default();
    Ok(Some(PackageJson {
        name,
        version,
        licenses,
    }))
}

/// A dependency map must be an object of strings (or null), as Go decodes it.
fn check_string_map(value: Option<&Value>, key: &str) -> Result<(), AnalyzeError> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(map)) => match map
            .iter()
            .find(|(_, v)| !matches!(v, Value::String(_) | Value::Null))
        {
            None => Ok(()),
            Some((dep, v)) => Err(AnalyzeError::Invalid(format!(
                "{WHAT}: {key}.{dep} is a {}, not a string",
                json_kind(v)
            ))),
        },
        Some(other) => Err(AnalyzeError::Invalid(format!(
            "{WHAT}: {key} is a {}, not an object",
            json_kind(other)
        ))),
    }
}

/// License names from the `license` field's three historical shapes.
fn license_names(value: &Value) -> Vec<String> {
    fn type_of(object: &serde_json::Map<String, Value>) -> Result<String, ()> {
        match json_field(object, "type") {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(()),
        }
    }
    match value {
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        Value::Object(o) => match type_of(o) {
            Ok(t) if !t.is_empty() => vec![t],
            _ => Vec::new(),
        },
        Value::Array(items) => {
            let types: Result<Vec<String>, ()> = items
                .iter()
                .map(|item| match item {
                    Value::Object(o) => type_of(o),
                    Value::Null => Ok(String::new()),
                    _ => Err(()),
                })
                .collect();
            types
                .map(|t| t.into_iter().filter(|t| !t.is_empty()).collect())
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    fn parse(text: &str) -> Result<Option<PackageJson>, AnalyzeError> {
        parse_package_json(text.as_bytes())
    }

    #[test]
    fn name_version_and_license_forms() {
        let p = parse(r#"{"name":"@Scope/pkg","version":"1.0.0","license":"MIT"} trailing"#)
            .unwrap()
            .unwrap();
        assert_eq!(p.licenses, ["MIT"]);
        assert_eq!(purl::npm(&p.name, &p.version), "pkg:npm/%40scope/pkg@1.0.0");
        let p = parse(r#"{"name":"a","version":"1","license":{"type":"ISC","url":"u"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(p.licenses, ["ISC"]);
        let p = parse(r#"{"name":"a","version":"1","licenses":[],"license":[{"type":"MIT"},{"type":"Apache-2.0"}]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(p.licenses, ["MIT", "Apache-2.0"]);
        let p = parse(r#"{"name":"a","version":"1","license":[{"type":"MIT"},"x"]}"#)
            .unwrap()
            .unwrap();
        assert!(p.licenses.is_empty());
    }

    #[test]
    fn skips_and_errors_like_trivy() {
        assert_eq!(parse(r#"{"name":"a"}"#).unwrap(), None);
        assert_eq!(parse(r#"{"version":"1"}"#).unwrap(), None);
        assert_eq!(parse(r#"{"name":"a","version":null}"#).unwrap(), None);
        assert!(parse(r#"{"name":"a b","version":"1"}"#).is_err());
        assert!(parse(r#"{"name":"a","version":1}"#).is_err());
        assert!(parse(r#"{"name":"a","version":"1","dependencies":{"x":1}}"#).is_err());
        assert!(parse(r#"{"name":"a","version":"1","devDependencies":[]}"#).is_err());
        assert!(parse(r#"[1]"#).is_err());
        assert!(parse(r#"{"name":"a","#).is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn oversized_file_is_refused_without_reading() {
        let a = NodePackageAnalyzer;
        let meta = FileMeta {
            size: MAX_SIZE + 1,
            mode: 0o100644,
        };
        assert_eq!(a.select("app/package.json", &meta), Some(Initial::Head(0)));
        let view = FileView::new(MAX_SIZE + 1);
        let err = a
            .analyze("app/package.json", &view, &Context::default())
            .unwrap_err();
        assert!(matches!(err, AnalyzeError::Limit(_)), "{err:?}");
    }

    #[test]
    fn missing_bytes_are_asked_for() {
        let a = NodePackageAnalyzer;
        let view = FileView::new(100);
        let err = a
            .analyze("app/package.json", &view, &Context::default())
            .unwrap_err();
        assert!(
            matches!(err, AnalyzeError::Need(n) if n.ranges.len() == 1 && n.ranges[0] == (0..100))
        );
    }
}
