//! Python PEP 440 order, through `pep440_rs` (the parser and order uv's predecessor used),
//! which accepts the same spellings as `packaging.version.Version` (`v` prefix,
//! `1.0-1` post-releases, `alpha`/`c`/`pre`/`preview`, `_`/`-` separators, local versions).

use std::cmp::Ordering;
use std::str::FromStr;

use super::{Scheme, VersionError};

fn parse(text: &str) -> Result<pep440_rs::Version, VersionError> {
    pep440_rs::Version::from_str(text)
        .map_err(|_| VersionError::invalid(Scheme::Pep440, text, "not a PEP 440 version"))
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse(a)?.cmp(&parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep440_examples() {
        for (a, b, want) in [
            ("1.0.dev1", "1.0a1", Ordering::Less),
            ("1.0a1", "1.0b1", Ordering::Less),
            ("1.0rc1", "1.0", Ordering::Less),
            ("1.0", "1.0.post1", Ordering::Less),
            ("1.0", "1.0.0", Ordering::Equal),
            ("1!0.1", "2.0", Ordering::Greater),
            ("1.0+local", "1.0", Ordering::Greater),
            ("v1.0", "1.0", Ordering::Equal),
            ("1.0-1", "1.0.post1", Ordering::Equal),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
        }
        assert!(compare("not a version", "1").is_err());
    }
}
