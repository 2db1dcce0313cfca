//! OS detection (release files) and OS package databases (dpkg, apk).
//!
//! These analyzers run in [`Phase::Os`](crate::analyzer::Phase::Os): the files OS packages
//! own (dpkg `*.md5sums`, apk `R:` lines) decide which files the later phase skips.
//! OS package purls are finished by the planner once the OS is known ([`purl`]).

use std::borrow::Cow;

use crate::analyzer::{AnalyzeError, Analyzer};
use crate::bytes::ByteSource;
use crate::package::Package;

pub mod apk;
mod control;
pub mod dpkg;
pub mod purl;
pub mod release;
mod version;

/// The analyzers of this module.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(release::ReleaseFiles),
        Box::new(dpkg::Dpkg),
        Box::new(apk::Apk),
    ]
}

/// The whole content of a file the planner fetched whole.
pub(crate) fn read_whole<'a>(
    path: &str,
    data: &'a dyn ByteSource,
) -> Result<Cow<'a, [u8]>, AnalyzeError> {
    let len = usize::try_from(data.len())
        .map_err(|_| AnalyzeError::Limit(format!("{path}: {} bytes", data.len())))?;
    Ok(data.read_at(0, len)?)
}

/// The purl of an OS package before the OS is known (no namespace, no distro); the planner
/// replaces it with [`purl::os_package_purl`] for the detected OS.
pub(crate) fn os_purl_placeholder(pkg: &Package) -> String {
    purl::os_package_purl(pkg, None).unwrap_or_default()
}
