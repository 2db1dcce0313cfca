//! Python distribution metadata: `*.dist-info/METADATA` and the egg-info forms.
//!
//! Selection follows Trivy's python-pkg analyzer: a file named `METADATA` anywhere under a
//! path containing `.dist-info`, or a path ending in `EGG-INFO/PKG-INFO`, `.egg-info` (the
//! single-file form), `.egg-info/PKG-INFO` or `.egg-info/METADATA`.
//!
//! Trivy's three hard-coded Python 2.7 "system files" (`usr/lib/python2.7/wsgiref.egg-info`
//! and two others) are never selected, as Trivy always filters their packages out.
//!
//! Only the RFC 822 header block is read: the first 64 KiB, then more (512 KiB, 4 MiB, 8 MiB)
//! only while no blank line has been seen. A header longer than 8 MiB ends in
//! [`AnalyzeError::Limit`]; a huge file whose header is short costs the first 64 KiB.
//!
//! Header parsing follows Go's `textproto.ReadMIMEHeader`, which Trivy uses: lines starting
//! with a space or tab continue the previous field (joined with one space), keys compare
//! case-insensitively, values are trimmed, and a line that is not `Key: value` ends the header
//! (Trivy keeps what was read before it). Licenses: `License-Expression`, else the last
//! segment of each `Classifier: License :: ...` (except "OSI Approved"), else `License`.
//! A license named only through `License-File` is not resolved (that would need the license
//! file and a classifier; Trivy runs its classifier on it).

use std::borrow::Cow;

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::bytes::ByteSource;
use crate::package::{Package, PackageType};

use super::license::split_licenses;
use super::{base_name, is_regular, package, package_findings, purl};

/// Bytes read first.
const FIRST_READ: u64 = 64 * 1024;
/// The longest header block accepted.
const MAX_HEADER: u64 = 8 * 1024 * 1024;
/// Growth factor of the read while no blank line was found.
const GROWTH: u64 = 8;

/// Path suffixes of egg metadata (the `.egg` zip itself is the archive analyzer's, which
/// looks for the same names inside the zip).
pub(crate) const EGG_SUFFIXES: &[&str] = &[
    "EGG-INFO/PKG-INFO",
    ".egg-info",
    ".egg-info/PKG-INFO",
    ".egg-info/METADATA",
];

/// Files Trivy always treats as installed by the OS (its `defaultSystemFiles`: Google
/// distroless drops dpkg's file lists, so these Python 2.7 files are named by hand); their
/// packages are never reported.
const SYSTEM_FILES: &[&str] = &[
    "usr/lib/python2.7/argparse.egg-info",
    "usr/lib/python2.7/lib-dynload/Python-2.7.egg-info",
    "usr/lib/python2.7/wsgiref.egg-info",
];

/// Python packages from dist-info and egg-info metadata headers.
#[derive(Debug, Default, Clone, Copy)]
pub struct PythonPackageAnalyzer;

impl Analyzer for PythonPackageAnalyzer {
    fn name(&self) -> &'static str {
        "python-pkg"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        if !is_regular(meta) || SYSTEM_FILES.contains(&path) {
            return None;
        }
        let dist_info = path.contains(".dist-info") && base_name(path) == "METADATA";
        let egg = EGG_SUFFIXES.iter().any(|s| path.ends_with(s));
        (dist_info || egg).then_some(Initial::Head(FIRST_READ))
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        let header = read_header_block(data)?;
        let fields = parse_metadata_header(&header)?;
        let found = metadata_package(&fields, path).ok_or_else(|| {
            AnalyzeError::Invalid("METADATA header has no Name or no Version".to_string())
        })?;
        Ok(package_findings(vec![found]))
    }
}

/// The package a metadata header declares, located at image path `path`; `None` when the
/// header has no `Name` or no `Version`. Eggs (zips) use it for the `PKG-INFO` they hold.
pub(crate) fn metadata_package(fields: &MetadataFields, path: &str) -> Option<Package> {
    let name = fields.get("name").unwrap_or_default();
    let version = fields.get("version").unwrap_or_default();
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some(package(
        PackageType::PythonPkg,
        name,
        version,
        split_licenses(&declared_license(fields)),
        purl::pypi(name, version),
        path,
    ))
}

/// The bytes of the header block (without the blank line), reading no further than needed.
fn read_header_block(data: &dyn ByteSource) -> Result<Cow<'_, [u8]>, AnalyzeError> {
    let size = data.len();
    let mut want = FIRST_READ.min(size);
    loop {
        let bytes = data.read_at(0, want as usize)?;
        if let Some(end) = header_end(&bytes) {
            return Ok(match bytes {
                Cow::Borrowed(b) => Cow::Borrowed(&b[..end]),
                Cow::Owned(mut v) => {
                    v.truncate(end);
                    Cow::Owned(v)
                }
            });
        }
        if want == size {
            return Ok(bytes);
        }
        if want >= MAX_HEADER {
            return Err(AnalyzeError::Limit(format!(
                "METADATA header: no blank line in the first {MAX_HEADER} bytes"
            )));
        }
        want = want.saturating_mul(GROWTH).min(MAX_HEADER).min(size);
    }
}

/// Where the header block ends: the start of its terminating blank line.
fn header_end(bytes: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    while line_start < bytes.len() {
        let rest = &bytes[line_start..];
        if rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
            return Some(line_start);
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => line_start += nl + 1,
            None => return None,
        }
    }
    None
}

/// The fields of a metadata header block, in order, keys lower-cased.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MetadataFields {
    fields: Vec<(String, String)>,
}

impl MetadataFields {
    /// The first value of `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// All values of `key` (case-insensitive), in order.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an RFC 822 header block (Go `textproto.ReadMIMEHeader` rules). Parsing stops at the
/// first blank line or at the first line that is not a field.
pub fn parse_metadata_header(block: &[u8]) -> Result<MetadataFields, AnalyzeError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut lines = block.split(|&b| b == b'\n').map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        String::from_utf8_lossy(line)
    });
    let mut first = true;
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let continuation = line.starts_with([' ', '\t']);
        if continuation {
            if first {
                return Err(AnalyzeError::Invalid(
                    "METADATA header starts with a continuation line".to_string(),
                ));
            }
            if let Some((_, value)) = fields.last_mut() {
                let more = line.trim_matches([' ', '\t']);
                if !more.is_empty() {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(more);
                }
            }
            continue;
        }
        first = false;
        let Some((key, value)) = line.split_once(':') else {
            break;
        };
        if key.is_empty() || !key.bytes().all(is_token_byte) {
            break;
        }
        fields.push((
            key.to_ascii_lowercase(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    Ok(MetadataFields { fields })
}

/// RFC 7230 token characters (valid in a field name).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// The license string the metadata declares (before splitting).
fn declared_license(fields: &MetadataFields) -> String {
    if let Some(expression) = fields.get("license-expression").filter(|e| !e.is_empty()) {
        return expression.to_string();
    }
    let classifiers: Vec<&str> = fields
        .values("classifier")
        .filter(|c| c.starts_with("License :: "))
        .filter_map(|c| c.rsplit(" :: ").next())
        .filter(|name| *name != "OSI Approved")
        .collect();
    if !classifiers.is_empty() {
        return classifiers.join(", ");
    }
    fields.get("license").unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::{FileView, Need};

    fn meta(size: u64) -> FileMeta {
        FileMeta {
            size,
            mode: 0o100644,
        }
    }

    #[test]
    fn selects_trivy_paths() {
        let a = PythonPackageAnalyzer;
        let yes = [
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
            "x/foo.egg/EGG-INFO/PKG-INFO",
            "x/foo-1.0-py3.9.egg-info",
            "x/foo.egg-info/PKG-INFO",
            "x/foo.egg-info/METADATA",
        ];
        for p in yes {
            assert_eq!(
                a.select(p, &meta(10)),
                Some(Initial::Head(FIRST_READ)),
                "{p}"
            );
        }
        let no = [
            "x/six-1.16.0.dist-info/RECORD",
            "x/METADATA",
            "x/foo.egg-info/SOURCES.txt",
            "x/foo.egg",
        ];
        for p in no {
            assert_eq!(a.select(p, &meta(10)), None, "{p}");
        }
        assert_eq!(
            a.select("usr/lib/python2.7/wsgiref.egg-info", &meta(10)),
            None
        );
        let dir = FileMeta {
            size: 0,
            mode: 0o040755,
        };
        assert_eq!(a.select("x/foo.egg-info", &dir), None);
    }

    #[test]
    fn header_rules_follow_textproto() {
        let text = b"Metadata-Version: 2.1\r\nName: Foo_Bar\nVersion:  1.0 \nSummary: a\n  b\n\tc\n\
                     classifier: License :: OSI Approved\nClassifier: License :: OSI Approved :: MIT License\n\nName: body";
        let end = header_end(text).unwrap();
        let fields = parse_metadata_header(&text[..end]).unwrap();
        assert_eq!(fields.get("NAME"), Some("Foo_Bar"));
        assert_eq!(fields.get("version"), Some("1.0"));
        assert_eq!(fields.get("summary"), Some("a b c"));
        assert_eq!(declared_license(&fields), "MIT License");
        assert!(parse_metadata_header(b" Name: x\n").is_err());
        let stopped = parse_metadata_header(b"Name: a\nnot a field\nVersion: 1\n").unwrap();
        assert_eq!(stopped.get("version"), None);
        assert_eq!(header_end(b"\nName: x"), Some(0));
        assert_eq!(header_end(b"Name: x\r\n\r\n"), Some(9));
        assert_eq!(header_end(b"Name: x\n"), None);
    }

    #[test]
    fn license_precedence() {
        let f = parse_metadata_header(
            b"License-Expression: MIT OR Apache-2.0\nClassifier: License :: OSI Approved :: BSD License\nLicense: GPL\n",
        )
        .unwrap();
        assert_eq!(declared_license(&f), "MIT OR Apache-2.0");
        let f = parse_metadata_header(
            b"Classifier: License :: OSI Approved :: BSD License\nLicense: GPL\n",
        )
        .unwrap();
        assert_eq!(declared_license(&f), "BSD License");
        let f = parse_metadata_header(b"License: GPL\nLicense-File: LICENSE\n").unwrap();
        assert_eq!(declared_license(&f), "GPL");
    }

    #[test]
    fn reads_only_the_head_and_restarts_with_more() {
        let mut body = b"Metadata-Version: 2.1\nName: big\nVersion: 2.0\n".to_vec();
        body.extend(std::iter::repeat_n(b"Classifier: Topic :: X\n", 5000).flatten());
        body.extend_from_slice(b"\nlong description\n");
        let size = 1u64 << 30;
        let mut view = FileView::new(size);
        view.insert(0, &body[..FIRST_READ as usize]);
        let a = PythonPackageAnalyzer;
        let err = a
            .analyze("x.dist-info/METADATA", &view, &Context::default())
            .unwrap_err();
        let AnalyzeError::Need(Need { ranges }) = err else {
            panic!("expected a need, got {err:?}")
        };
        assert_eq!(ranges, vec![FIRST_READ..FIRST_READ * GROWTH]);
        view.insert(FIRST_READ, &body[FIRST_READ as usize..]);
        view.insert(
            body.len() as u64,
            &vec![b'x'; (FIRST_READ * GROWTH) as usize - body.len()],
        );
        let found = a
            .analyze("x.dist-info/METADATA", &view, &Context::default())
            .unwrap();
        assert_eq!(found.packages[0].name, "big");
        assert_eq!(found.packages[0].purl, "pkg:pypi/big@2.0");
        assert!(view.known_bytes() < 1 << 20);
    }
}
