//! npm's version order (node-semver `compare`, strict mode): SemVer 2.0 precedence, with
//! node-semver's syntax: surrounding whitespace and one leading `v` are allowed, versions
//! longer than 256 characters and numbers above 2^53-1 are not.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;
/// JavaScript's `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn parse(text: &str) -> Result<semver::Version, VersionError> {
    let err = |reason| VersionError::invalid(Scheme::Npm, text, reason);
    if text.len() > MAX_LENGTH {
        return Err(err("longer than 256 characters"));
    }
    let trimmed = text.trim();
    let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
    let v = super::semver2::parse(Scheme::Npm, bare).map_err(|_| err("not a semver version"))?;
    if [v.major, v.minor, v.patch]
        .iter()
        .any(|&n| n > MAX_SAFE_INTEGER)
    {
        return Err(err("number above 2^53-1"));
    }
    Ok(v)
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (parse(a)?, parse(b)?);
    Ok(a.cmp_precedence(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_examples() {
        assert_eq!(compare("v1.2.3", " 1.2.3 "), Ok(Ordering::Equal));
        assert_eq!(compare("1.2.3-beta.2", "1.2.3-beta.10"), Ok(Ordering::Less));
        assert_eq!(compare("1.2.3+a", "1.2.3+b"), Ok(Ordering::Equal));
        assert!(compare("9007199254740992.0.0", "1.0.0").is_err());
        assert!(compare("1.2", "1.2.0").is_err());
        assert!(compare("01.2.3", "1.2.3").is_err());
    }
}
