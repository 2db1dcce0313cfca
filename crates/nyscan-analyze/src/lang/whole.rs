//! What the whole-file language analyzers share: they select a regular file by its path,
//! fetch it whole unless it is above their size limit, and turn its bytes into packages.

use crate::analyzer::{AnalyzeError, FileMeta, Findings, Initial};
use crate::bytes::ByteSource;
use crate::package::Package;

use super::{is_regular, read_whole, whole_up_to};

/// A metadata file format read whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WholeFile {
    /// What the file is called in errors (`"package.json"`).
    pub(crate) what: &'static str,
    /// The largest file read: a bigger one is not fetched and ends in
    /// [`AnalyzeError::Limit`].
    pub(crate) max_size: u64,
}

impl WholeFile {
    /// The selection of a file: `None` unless it is a regular file whose path the analyzer
    /// wants (`path_wanted`, asked only for regular files), else the whole file, or no bytes
    /// when it is above [`WholeFile::max_size`].
    pub(crate) fn select(
        self,
        meta: &FileMeta,
        path_wanted: impl FnOnce() -> bool,
    ) -> Option<Initial> {
        (is_regular(meta) && path_wanted()).then(|| whole_up_to(meta, self.max_size))
    }

    /// The findings of a file: all its bytes (refused above [`WholeFile::max_size`]) turned
    /// into packages by `parse`.
    pub(crate) fn analyze(
        self,
        data: &dyn ByteSource,
        parse: impl FnOnce(&[u8]) -> Result<Vec<Package>, AnalyzeError>,
    ) -> Result<Findings, AnalyzeError> {
        let bytes = read_whole(data, self.max_size, self.what)?;
        Ok(package_findings(parse(&bytes)?))
    }
}

/// Findings that hold packages and nothing else.
pub(crate) fn package_findings(packages: Vec<Package>) -> Findings {
    Findings {
        packages,
        ..Findings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    const FILE: WholeFile = WholeFile {
        what: "test file",
        max_size: 10,
    };

    #[test]
    fn selects_regular_wanted_files_whole_up_to_the_limit() {
        let meta = |size, mode| FileMeta { size, mode };
        assert_eq!(
            FILE.select(&meta(10, 0o100644), || true),
            Some(Initial::Whole)
        );
        assert_eq!(
            FILE.select(&meta(11, 0o100644), || true),
            Some(Initial::Head(0))
        );
        assert_eq!(FILE.select(&meta(10, 0o100644), || false), None);
        assert_eq!(
            FILE.select(&meta(10, 0o040755), || panic!("asked for a directory")),
            None
        );
    }

    #[test]
    fn reads_whole_files_and_refuses_big_ones() {
        let seen = FILE
            .analyze(&FileView::whole(b"0123456789".to_vec()), |bytes| {
                assert_eq!(bytes, b"0123456789");
                Ok(Vec::new())
            })
            .unwrap();
        assert!(seen.packages.is_empty());
        let big = FILE.analyze(&FileView::whole(vec![0; 11]), |_| {
            panic!("parsed a file above the limit")
        });
        match big {
            Err(AnalyzeError::Limit(message)) => assert!(message.contains("test file")),
            other => panic!("{other:?}"),
        }
    }
}
