//! Ruby gems: the installed `specifications/*.gemspec` files RubyGems writes.
//!
//! Rules from Trivy's gemspec analyzer: a path matching `.*/specifications/.+\.gemspec`
//! (unanchored, as Go's `MatchString`) is read whole; after the `Gem::Specification.new ... |s|`
//! line, lines starting with `s.name`, `s.version`, `s.licenses` and `s.license` give the
//! values (quotes and `.freeze` trimmed). A file without name or version is an error.

use std::sync::LazyLock;

use regex::Regex;

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::bytes::ByteSource;
use crate::package::PackageType;

use super::license::split_licenses;
use super::{WholeFile, package, purl};

const WHAT: &str = "gemspec";
/// Gemspecs are read whole, up to 4 MiB.
const FILE: WholeFile = WholeFile {
    what: WHAT,
    max_size: 4 * 1024 * 1024,
};

fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("gemspec pattern is valid")
}

static PATH: LazyLock<Regex> = LazyLock::new(|| pattern(r".*/specifications/.+\.gemspec"));
static BLOCK_VAR: LazyLock<Regex> = LazyLock::new(|| pattern(r"\|(?P<var>.*)\|"));
static NAME: LazyLock<Regex> = LazyLock::new(|| pattern(r"\.name\s*=\s*(?P<v>\S+)"));
static VERSION: LazyLock<Regex> = LazyLock::new(|| pattern(r"\.version\s*=\s*(?P<v>\S+)"));
static LICENSE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\.license\s*=\s*(?P<v>\S+)"));
static LICENSES: LazyLock<Regex> = LazyLock::new(|| pattern(r"\.licenses\s*=\s*\[(?P<v>.+)\]"));

/// Ruby gems from installed gemspecs.
#[derive(Debug, Default, Clone, Copy)]
pub struct GemspecAnalyzer;

impl Analyzer for GemspecAnalyzer {
    fn name(&self) -> &'static str {
        "gemspec"
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
        FILE.analyze(data, |bytes| {
            let spec = parse_gemspec(&String::from_utf8_lossy(bytes))?;
            Ok(vec![package(
                PackageType::Gemspec,
                &spec.name,
                &spec.version,
                split_licenses(&spec.license),
                purl::plain("gem", &spec.name, &spec.version),
                path,
            )])
        })
    }
}

#[derive(Debug, Default)]
struct Gemspec {
    name: String,
    version: String,
    license: String,
}

fn capture(re: &Regex, line: &str) -> String {
    re.captures(line)
        .and_then(|c| c.name("v"))
        .map_or(String::new(), |m| m.as_str().to_string())
}

/// Trims spaces, a `.freeze` suffix and surrounding quotes: `"async".freeze` → `async`.
fn trim_value(value: &str) -> String {
    let value = value.trim();
    let value = value.strip_suffix(".freeze").unwrap_or(value);
    value.trim_matches(['\'', '"']).to_string()
}

fn parse_gemspec(text: &str) -> Result<Gemspec, AnalyzeError> {
    let mut spec = Gemspec::default();
    let mut var = String::new();
    for line in text.split('\n') {
        let line = line.trim();
        if line.contains("Gem::Specification.new") {
            var = BLOCK_VAR
                .captures(line)
                .and_then(|c| c.name("var"))
                .map_or(String::new(), |m| m.as_str().to_string());
        }
        if var.is_empty() {
            continue;
        }
        let Some(rest) = line.strip_prefix(var.as_str()) else {
            continue;
        };
        if rest.starts_with(".name") {
            spec.name = trim_value(&capture(&NAME, line));
        } else if rest.starts_with(".version") {
            spec.version = trim_value(&capture(&VERSION, line));
        } else if rest.starts_with(".licenses") {
            spec.license = capture(&LICENSES, line)
                .split(',')
                .map(trim_value)
                .collect::<Vec<_>>()
                .join(", ");
        } else if rest.starts_with(".license") {
            spec.license = trim_value(&capture(&LICENSE, line));
        }
        if !spec.name.is_empty() && !spec.version.is_empty() && !spec.license.is_empty() {
            break;
        }
    }
    if spec.name.is_empty() || spec.version.is_empty() {
        return Err(AnalyzeError::Invalid(format!(
            "{WHAT}: no name or no version after Gem::Specification.new"
        )));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_specifications_only() {
        let a = GemspecAnalyzer;
        let m = FileMeta {
            size: 10,
            mode: 0o100644,
        };
        assert!(
            a.select(
                "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec",
                &m
            )
            .is_some()
        );
        assert!(
            a.select(
                "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
                &m
            )
            .is_some()
        );
        assert!(a.select("specifications/rack-2.2.3.gemspec", &m).is_none());
        assert!(a.select("app/rack.gemspec", &m).is_none());
    }

    #[test]
    fn parses_installed_spec() {
        let text = "# -*- encoding: utf-8 -*-\n# stub: rack 2.2.3 ruby lib\n\n\
                    Gem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.3\"\n\
                    \n  s.licenses = [\"MIT\".freeze, \"BSDL\".freeze]\nend\n";
        let spec = parse_gemspec(text).unwrap();
        assert_eq!(spec.name, "rack");
        assert_eq!(spec.version, "2.2.3");
        assert_eq!(split_licenses(&spec.license), ["MIT", "BSDL"]);
        let single = "Gem::Specification.new do |spec|\r\n spec.name = 'x'\r\n spec.version = '1'\r\n spec.license = 'Ruby'\r\n";
        let spec = parse_gemspec(single).unwrap();
        assert_eq!((spec.name.as_str(), spec.license.as_str()), ("x", "Ruby"));
        assert!(parse_gemspec("s.name = \"a\"\ns.version = \"1\"\n").is_err());
    }
}
