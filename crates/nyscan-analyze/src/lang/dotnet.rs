//! .NET dependencies: `*.deps.json` written next to published applications.
//!
//! Rules from Trivy's dotnet-core analyzer: any path ending in `.deps.json` is read whole.
//! Each `libraries` key is `Name/Version`; libraries of type `package`, `project` or
//! `runtimepack` (case-insensitive) are packages, the `runtimepack.` name prefix is dropped.
//! When `targets` has an entry for `runtimeTarget.name`, a library listed there is kept only if
//! its `runtime`, `runtimeTargets` or `native` is present and not null (a library missing from
//! the target is kept); without that target every library is kept.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::bytes::ByteSource;
use crate::package::{Package, PackageType};

use super::{WholeFile, first_json_value, json_field, json_kind, package, purl};

const WHAT: &str = "deps.json";
/// `*.deps.json` files are read whole, up to 64 MiB.
const FILE: WholeFile = WholeFile {
    what: WHAT,
    max_size: 64 * 1024 * 1024,
};
const RUNTIME_PACK_PREFIX: &str = "runtimepack.";

/// .NET packages from `*.deps.json`.
#[derive(Debug, Default, Clone, Copy)]
pub struct DotnetDepsAnalyzer;

impl Analyzer for DotnetDepsAnalyzer {
    fn name(&self) -> &'static str {
        "dotnet-core"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        FILE.select(meta, || path.ends_with(".deps.json"))
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        FILE.analyze(data, |bytes| dependency_packages(path, bytes))
    }
}

/// The packages of the `*.deps.json` `bytes` at image path `path`.
fn dependency_packages(path: &str, bytes: &[u8]) -> Result<Vec<Package>, AnalyzeError> {
    let value = first_json_value(bytes, WHAT)?;
    let Value::Object(root) = &value else {
        return Err(AnalyzeError::Invalid(format!(
            "{WHAT}: top level is a {}, not an object",
            json_kind(&value)
        )));
    };
    let libraries = object_field(root, "libraries")?;
    let target_name = match object_field(root, "runtimeTarget")?.and_then(|t| json_field(t, "name"))
    {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(AnalyzeError::Invalid(format!(
                "{WHAT}: runtimeTarget.name is a {}",
                json_kind(other)
            )));
        }
    };
    let target = match object_field(root, "targets")? {
        Some(targets) => match targets.get(&target_name) {
            Some(Value::Object(t)) => Some(runtime_keys(t)?),
            Some(Value::Null) | None => None,
            Some(other) => {
                return Err(AnalyzeError::Invalid(format!(
                    "{WHAT}: targets.{target_name} is a {}",
                    json_kind(other)
                )));
            }
        },
        None => None,
    };

    let mut packages = Vec::new();
    for (key, library) in libraries.into_iter().flatten() {
        let Some((name, version)) = key.split_once('/') else {
            continue;
        };
        let kind = match library {
            Value::Object(l) => match json_field(l, "type") {
                Some(Value::String(s)) => s.as_str(),
                None | Some(Value::Null) => "",
                Some(other) => {
                    return Err(AnalyzeError::Invalid(format!(
                        "{WHAT}: libraries.{key}.type is a {}",
                        json_kind(other)
                    )));
                }
            },
            Value::Null => "",
            other => {
                return Err(AnalyzeError::Invalid(format!(
                    "{WHAT}: libraries.{key} is a {}",
                    json_kind(other)
                )));
            }
        };
        if !["package", "project", "runtimepack"]
            .iter()
            .any(|k| kind.eq_ignore_ascii_case(k))
        {
            continue;
        }
        let name = name.strip_prefix(RUNTIME_PACK_PREFIX).unwrap_or(name);
        if let Some(target) = &target {
            let is_runtime = target
                .get(&(name.to_string(), version.to_string()))
                .copied()
                .unwrap_or(true);
            if !is_runtime {
                continue;
            }
        }
        packages.push(package(
            PackageType::DotnetCore,
            name,
            version,
            Vec::new(),
            purl::plain("nuget", name, version),
            path,
        ));
    }
    packages.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    packages.dedup_by(|a, b| a.name == b.name && a.version == b.version);
    Ok(packages)
}

/// An object-valued field (absent or null is `None`, other types an error).
fn object_field<'v>(
    object: &'v Map<String, Value>,
    key: &str,
) -> Result<Option<&'v Map<String, Value>>, AnalyzeError> {
    match json_field(object, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(AnalyzeError::Invalid(format!(
            "{WHAT}: {key} is a {}, not an object",
            json_kind(other)
        ))),
    }
}

/// For each `Name/Version` of the selected target (prefix dropped): whether it carries
/// runtime assets.
fn runtime_keys(
    target: &Map<String, Value>,
) -> Result<HashMap<(String, String), bool>, AnalyzeError> {
    let mut keys = HashMap::new();
    for (key, library) in target {
        let (name, version) = key.split_once('/').unwrap_or((key.as_str(), ""));
        let name = name.strip_prefix(RUNTIME_PACK_PREFIX).unwrap_or(name);
        let runtime = match library {
            Value::Object(l) => ["runtime", "runtimeTargets", "native"]
                .iter()
                .any(|k| !matches!(json_field(l, k), None | Some(Value::Null))),
            Value::Null => false,
            other => {
                return Err(AnalyzeError::Invalid(format!(
                    "{WHAT}: target library {key} is a {}",
                    json_kind(other)
                )));
            }
        };
        keys.insert((name.to_string(), version.to_string()), runtime);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    fn run(text: &str) -> Result<Vec<(String, String)>, AnalyzeError> {
        let found = DotnetDepsAnalyzer.analyze(
            "app/app.deps.json",
            &FileView::whole(text.as_bytes().to_vec()),
            &Context::default(),
        )?;
        Ok(found
            .packages
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect())
    }

    #[test]
    fn runtime_libraries_of_the_runtime_target() {
        let text = r#"{
          "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0/linux-x64"},
          "targets": {".NETCoreApp,Version=v8.0/linux-x64": {
              "app/1.0.0": {"dependencies": {"Newtonsoft.Json": "13.0.1"}, "runtime": {"app.dll": {}}},
              "Newtonsoft.Json/13.0.1": {"runtime": {"lib/Newtonsoft.Json.dll": {}}},
              "Microsoft.Build.Tasks/17.0.0": {"dependencies": {}},
              "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {"runtime": {}}
          }},
          "libraries": {
              "app/1.0.0": {"type": "project"},
              "Newtonsoft.Json/13.0.1": {"type": "package"},
              "Microsoft.Build.Tasks/17.0.0": {"type": "Package"},
              "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {"type": "runtimepack"},
              "Other/1.0": {"type": "reference"},
              "NotInTarget/2.0": {"type": "package"},
              "broken": {"type": "package"}
          }}"#;
        let found = run(text).unwrap();
        let want: Vec<(String, String)> = [
            ("Microsoft.NETCore.App.Runtime.linux-x64", "8.0.0"),
            ("Newtonsoft.Json", "13.0.1"),
            ("NotInTarget", "2.0"),
            ("app", "1.0.0"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(found, want);
    }

    #[test]
    fn without_target_every_package_counts() {
        let text = r#"{"libraries": {"A/1": {"type": "package"}, "B/2": {"type": "project"}}}"#;
        assert_eq!(run(text).unwrap().len(), 2);
        assert!(run(r#"{"libraries": []}"#).is_err());
        assert!(run(r#"{"libraries": {"A/1": {"type": 3}}}"#).is_err());
    }
}
