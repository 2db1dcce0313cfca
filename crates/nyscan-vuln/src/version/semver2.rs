//! SemVer 2.0 order (crates.io, OSV `SEMVER` ranges), through the `semver` crate; build
//! metadata is ignored, as SemVer precedence says.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

pub(super) fn parse(scheme: Scheme, text: &str) -> Result<semver::Version, VersionError> {
    semver::Version::parse(text)
        .map_err(|_| VersionError::invalid(scheme, text, "not a SemVer 2.0 version"))
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (parse(Scheme::SemVer, a)?, parse(Scheme::SemVer, b)?);
    Ok(a.cmp_precedence(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_examples() {
        for (a, b, want) in [
            ("1.0.0-alpha", "1.0.0-alpha.1", Ordering::Less),
            ("1.0.0-alpha.1", "1.0.0-alpha.beta", Ordering::Less),
            ("1.0.0-beta.2", "1.0.0-beta.11", Ordering::Less),
            ("1.0.0-rc.1", "1.0.0", Ordering::Less),
            ("1.0.0+build.1", "1.0.0+build.2", Ordering::Equal),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
        }
        assert!(compare("v1.0.0", "1.0.0").is_err());
        assert!(compare("1.0", "1.0.0").is_err());
    }
}
