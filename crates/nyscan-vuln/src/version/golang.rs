//! Go module version order (`golang.org/x/mod/semver`): SemVer 2.0 with a `v` prefix,
//! shorthands `v1` = `v1.0.0` and `v1.2` = `v1.2.0`, numbers of any size, build metadata
//! (`+incompatible`) ignored. Pseudo-versions (`v0.0.0-20240101120000-abcdef123456`,
//! `v1.2.4-0.2024...`) are pre-releases and need nothing special.
//!
//! The `v` is optional here, because OSV's Go records write versions without it.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

#[derive(Debug)]
struct GoVersion<'a> {
    numbers: [&'a [u8]; 3],
    prerelease: Option<&'a [u8]>,
}

fn number(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = super::digits_len(s);
    if n == 0 || (n > 1 && s[0] == b'0') {
        return None;
    }
    Some((&s[..n], &s[n..]))
}

fn identifiers_ok(s: &[u8], numeric_leading_zero_ok: bool) -> bool {
    s.split(|&c| c == b'.').all(|id| {
        !id.is_empty()
            && id.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && (numeric_leading_zero_ok
                || !(id.len() > 1 && id[0] == b'0' && id.iter().all(u8::is_ascii_digit)))
    })
}

fn parse(text: &str) -> Result<GoVersion<'_>, VersionError> {
    let err = |reason| VersionError::invalid(Scheme::Go, text, reason);
    let s = text.as_bytes();
    let s = s.strip_prefix(b"v").unwrap_or(s);
    let mut numbers: [&[u8]; 3] = [b"0"; 3];
    let mut rest = s;
    for (i, slot) in numbers.iter_mut().enumerate() {
        if i > 0 {
            if rest.is_empty() {
                // Shorthand `v1` / `v1.2`: nothing may follow.
                return Ok(GoVersion {
                    numbers,
                    prerelease: None,
                });
            }
            rest = rest.strip_prefix(b".").ok_or_else(|| err("expected '.'"))?;
        }
        let (n, r) = number(rest).ok_or_else(|| err("bad number"))?;
        *slot = n;
        rest = r;
    }
    let (before_build, build) = match rest.iter().position(|&c| c == b'+') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let prerelease = match before_build {
        [] => None,
        [b'-', pre @ ..] if identifiers_ok(pre, false) => Some(pre),
        _ => return Err(err("bad pre-release")),
    };
    if let Some(build) = build
        && !identifiers_ok(build, true)
    {
        return Err(err("bad build metadata"));
    }
    Ok(GoVersion {
        numbers,
        prerelease,
    })
}

/// SemVer pre-release identifier order: numbers numerically and before words.
pub(super) fn cmp_prerelease(a: &[u8], b: &[u8]) -> Ordering {
    let mut xa = a.split(|&c| c == b'.');
    let mut xb = b.split(|&c| c == b'.');
    loop {
        match (xa.next(), xb.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let nx = x.iter().all(u8::is_ascii_digit);
                let ny = y.iter().all(u8::is_ascii_digit);
                let rc = match (nx, ny) {
                    (true, true) => super::cmp_digits(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if rc != Ordering::Equal {
                    return rc;
                }
            }
        }
    }
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (parse(a)?, parse(b)?);
    for (x, y) in a.numbers.iter().zip(&b.numbers) {
        let rc = super::cmp_digits(x, y);
        if rc != Ordering::Equal {
            return Ok(rc);
        }
    }
    Ok(match (a.prerelease, b.prerelease) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => cmp_prerelease(x, y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_examples() {
        for (a, b, want) in [
            ("v1.2.3", "1.2.3", Ordering::Equal),
            ("v1", "v1.0.0", Ordering::Equal),
            ("v1.2", "v1.2.0", Ordering::Equal),
            ("v2.0.0+incompatible", "v2.0.0", Ordering::Equal),
            (
                "v0.0.0-20240101120000-abcdef123456",
                "v0.0.1",
                Ordering::Less,
            ),
            (
                "v1.2.4-0.20240101120000-abcdef123456",
                "v1.2.3",
                Ordering::Greater,
            ),
            (
                "v1.2.4-0.20240101120000-abcdef123456",
                "v1.2.4",
                Ordering::Less,
            ),
            ("v1.0.0-rc.2", "v1.0.0-rc.10", Ordering::Less),
            ("v99999999999999999999.0.0", "v1.0.0", Ordering::Greater),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
        }
        for bad in [
            "v1.2-pre",
            "v01.2.3",
            "v1.2.3-01",
            "v1.2.3-",
            "v1.2.3+",
            "1.2.3.4",
            "",
        ] {
            assert!(compare(bad, "v1").is_err(), "{bad}");
        }
    }
}
