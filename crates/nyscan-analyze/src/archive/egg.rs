//! Python eggs (`*.egg`, a zip): the package named by the archive's `EGG-INFO/PKG-INFO`, as
//! Trivy's `python-egg` analyzer reads it (`pkg/fanal/analyzer/language/python/packaging/egg.go`).
//!
//! The first member whose name ends in `EGG-INFO/PKG-INFO`, `.egg-info`, `.egg-info/PKG-INFO`
//! or `.egg-info/METADATA` is read (at most [`MAX_PKG_INFO`] bytes, inflated under the same
//! checks as every zip member) and its header block parsed with the Python metadata parser
//! of [`crate::lang`]. An egg without such a member yields nothing; one whose header lacks
//! `Name` or `Version` is invalid, as in Trivy. Name, version, licenses and purl follow the
//! rules of the `python-pkg` analyzer (see [`crate::lang::PythonPackageAnalyzer`]).

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::archive::selected_archive;
use crate::archive::zip::{self, InflateBudget, ZipArchive};
use crate::bytes::ByteSource;
use crate::lang::{EGG_SUFFIXES, metadata_package, package_findings, parse_metadata_header};
use crate::package::Package;

/// Largest `PKG-INFO` member read.
pub const MAX_PKG_INFO: u64 = 16 << 20;

/// The Python egg analyzer.
#[derive(Debug, Clone, Copy, Default)]
pub struct PythonEgg;

impl Analyzer for PythonEgg {
    fn name(&self) -> &'static str {
        "python-egg"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        selected_archive(meta, path.ends_with(".egg"))
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        Ok(package_findings(
            egg_package(data, path)?.into_iter().collect(),
        ))
    }
}

/// The package of the egg at image path `path`, if it has a `PKG-INFO`.
pub fn egg_package(data: &dyn ByteSource, path: &str) -> Result<Option<Package>, AnalyzeError> {
    let zip = ZipArchive::open(data)?;
    let Some(entry) = zip
        .entries()
        .iter()
        .find(|e| EGG_SUFFIXES.iter().any(|s| e.name.ends_with(s)))
    else {
        return Ok(None);
    };
    let mut budget = InflateBudget::new(MAX_PKG_INFO);
    let bytes = zip::read_member(data, entry, MAX_PKG_INFO, &mut budget)?;
    let fields = parse_metadata_header(&bytes)?;
    let found = metadata_package(&fields, path).ok_or_else(|| {
        AnalyzeError::Invalid(format!("{path}: {} has no Name or no Version", entry.name))
    })?;
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::testzip::{Member, build_zip};
    use crate::archive::zip::in_memory as mem;
    use crate::package::PackageType;

    #[test]
    fn egg_pkg_info_gives_the_package() {
        let egg = build_zip(
            &[
                Member::deflated("kitchen/__init__.py", b"x = 1\n"),
                Member::deflated(
                    "EGG-INFO/PKG-INFO",
                    b"Metadata-Version: 1.1\nName: Kitchen_Sink\nVersion: 1.2.6\nLicense: LGPLv2+\n\nlong description\n",
                ),
            ],
            b"",
        );
        let pkg = egg_package(&mem(&egg), "usr/lib/python2.7/kitchen-1.2.6-py2.7.egg")
            .unwrap()
            .unwrap();
        assert_eq!(
            (pkg.name.as_str(), pkg.version.as_str()),
            ("Kitchen_Sink", "1.2.6")
        );
        assert_eq!(pkg.purl, "pkg:pypi/kitchen-sink@1.2.6");
        assert_eq!(pkg.kind, PackageType::PythonPkg);
        assert_eq!(pkg.licenses, ["LGPLv2+"]);
        assert_eq!(pkg.locations, ["usr/lib/python2.7/kitchen-1.2.6-py2.7.egg"]);
        let none = build_zip(&[Member::stored("a.py", b"")], b"");
        assert_eq!(egg_package(&mem(&none), "x.egg").unwrap(), None);
        let nameless = build_zip(&[Member::stored("EGG-INFO/PKG-INFO", b"Version: 1\n")], b"");
        assert!(matches!(
            egg_package(&mem(&nameless), "x.egg"),
            Err(AnalyzeError::Invalid(_))
        ));
        let meta = FileMeta {
            size: 1,
            mode: 0o100644,
        };
        assert!(PythonEgg.select("a/b.egg", &meta).is_some());
        assert!(PythonEgg.select("a/b.EGG", &meta).is_none());
    }
}
