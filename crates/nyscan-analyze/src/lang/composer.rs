//! PHP packages installed by Composer: `vendor/composer/installed.json`.
//!
//! Trivy's composer-vendor analyzer reads every file named `installed.json` and decodes it
//! as `{"packages": [...], "packages-dev": [...]}` (the Composer 2 form); a package listed in
//! both keeps its `packages` entry. Composer 1 wrote a bare array of packages instead: Trivy
//! fails on that form, this analyzer reads it too (a deliberate difference). Entries need
//! string `name`/`version` (other types are an error); entries without a name are skipped.
//! `license` is a string (split into licenses) or an array of strings.

use std::collections::HashSet;

use serde_json::Value;

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::bytes::ByteSource;
use crate::package::{Package, PackageType};

use super::license::split_licenses;
use super::{
    WholeFile, base_name, first_json_value, json_field, json_kind, json_string_field, package, purl,
};

const WHAT: &str = "installed.json";
/// `installed.json` is read whole, up to 64 MiB.
const FILE: WholeFile = WholeFile {
    what: WHAT,
    max_size: 64 * 1024 * 1024,
};

/// PHP packages from Composer's `installed.json`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ComposerInstalledAnalyzer;

impl Analyzer for ComposerInstalledAnalyzer {
    fn name(&self) -> &'static str {
        "composer-vendor"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        FILE.select(meta, || base_name(path) == "installed.json")
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        FILE.analyze(data, |bytes| installed_packages(path, bytes))
    }
}

/// The packages listed in the `installed.json` `bytes` at image path `path`.
fn installed_packages(path: &str, bytes: &[u8]) -> Result<Vec<Package>, AnalyzeError> {
    let value = first_json_value(bytes, WHAT)?;
    let lists: Vec<&Value> = match &value {
        Value::Array(_) => vec![&value],
        Value::Object(o) => ["packages", "packages-dev"]
            .iter()
            .filter_map(|k| json_field(o, k))
            .collect(),
        other => {
            return Err(AnalyzeError::Invalid(format!(
                "{WHAT}: top level is a {}, not an object or array",
                json_kind(other)
            )));
        }
    };
    let mut seen = HashSet::new();
    let mut packages = Vec::new();
    for list in lists {
        let entries = match list {
            Value::Array(entries) => entries.as_slice(),
            Value::Null => &[],
            other => {
                return Err(AnalyzeError::Invalid(format!(
                    "{WHAT}: package list is a {}, not an array",
                    json_kind(other)
                )));
            }
        };
        for (index, entry) in entries.iter().enumerate() {
            let Value::Object(entry) = entry else {
                return Err(AnalyzeError::Invalid(format!(
                    "{WHAT}: package #{index} is a {}, not an object",
                    json_kind(entry)
                )));
            };
            let name = json_string_field(entry, "name", WHAT)?;
            let version = json_string_field(entry, "version", WHAT)?;
            if name.is_empty() || !seen.insert(name.clone()) {
                continue;
            }
            let licenses = json_field(entry, "license").map_or_else(Vec::new, licenses);
            packages.push(package(
                PackageType::ComposerVendor,
                &name,
                &version,
                licenses,
                purl::composer(&name, &version),
                path,
            ));
        }
    }
    Ok(packages)
}

fn licenses(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => split_licenses(s),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    fn run(text: &str) -> Result<Findings, AnalyzeError> {
        ComposerInstalledAnalyzer.analyze(
            "app/vendor/composer/installed.json",
            &FileView::whole(text.as_bytes().to_vec()),
            &Context::default(),
        )
    }

    #[test]
    fn both_forms() {
        let v2 = r#"{"packages":[{"name":"pear/log","version":"1.13.1","license":["MIT"]},
                    {"name":"pear/pear_exception","version":"v1.0.0","license":"BSD-2-Clause"}],
                    "dev":true,"dev-package-names":[]}"#;
        let found = run(v2).unwrap().packages;
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].purl, "pkg:composer/pear/log@1.13.1");
        assert_eq!(found[1].licenses, ["BSD-2-Clause"]);
        assert_eq!(found[1].locations, ["app/vendor/composer/installed.json"]);
        let v1 = r#"[{"name":"monolog/monolog","version":"1.0.0"}]"#;
        assert_eq!(run(v1).unwrap().packages[0].name, "monolog/monolog");
        let dup = r#"{"packages":[{"name":"a/b","version":"1"}],"packages-dev":[{"name":"a/b","version":"2"}]}"#;
        let found = run(dup).unwrap().packages;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].version, "1");
        assert!(run(r#"{"packages":[{"name":"a/b","version":1}]}"#).is_err());
        assert!(run(r#"{"packages":{}}"#).is_err());
        assert!(run("3").is_err());
    }
}
