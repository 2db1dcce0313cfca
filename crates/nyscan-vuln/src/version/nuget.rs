//! NuGet version order (NuGet.Versioning's `NuGetVersion`, SemVer 2.0 rules).
//!
//! `major[.minor[.patch[.revision]]][-label{.label}][+metadata]`: one to four numbers
//! (leading zeros allowed, each at most 2^31-1, missing ones are `0`), dot-separated
//! alphanumeric-or-hyphen labels, metadata ignored. Numbers compare numerically; a version
//! without labels is newer than one with; labels compare pairwise, numeric ones numerically
//! and before alphanumeric ones, alphanumeric ones case-insensitively; a longer label list
//! is newer when the shorter is its prefix.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

#[derive(Debug)]
struct NuGetVersion<'a> {
    numbers: [u32; 4],
    labels: Vec<&'a str>,
}

fn parse(text: &str) -> Result<NuGetVersion<'_>, VersionError> {
    let err = |reason| VersionError::invalid(Scheme::NuGet, text, reason);
    let s = text.trim();
    let (s, metadata) = match s.split_once('+') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    if let Some(m) = metadata
        && (m.is_empty()
            || !m.split('.').all(|p| {
                !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            }))
    {
        return Err(err("bad metadata"));
    }
    let (release, labels) = match s.split_once('-') {
        Some((r, l)) => (r, Some(l)),
        None => (s, None),
    };
    let parts: Vec<&str> = release.split('.').collect();
    if parts.len() > 4 {
        return Err(err("more than four numbers"));
    }
    let mut numbers = [0u32; 4];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err("bad number"));
        }
        *slot = part
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= i32::MAX as u32)
            .ok_or_else(|| err("number too large"))?;
    }
    let labels = match labels {
        None => Vec::new(),
        Some(l) => {
            let labels: Vec<&str> = l.split('.').collect();
            if !labels
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
            {
                return Err(err("bad release label"));
            }
            labels
        }
    };
    Ok(NuGetVersion { numbers, labels })
}

fn cmp_label(a: &str, b: &str) -> Ordering {
    let na = a.bytes().all(|c| c.is_ascii_digit());
    let nb = b.bytes().all(|c| c.is_ascii_digit());
    match (na, nb) {
        (true, true) => super::cmp_digits(a.as_bytes(), b.as_bytes()),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a
            .bytes()
            .map(|c| c.to_ascii_uppercase())
            .cmp(b.bytes().map(|c| c.to_ascii_uppercase())),
    }
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (parse(a)?, parse(b)?);
    let rc = a.numbers.cmp(&b.numbers);
    if rc != Ordering::Equal {
        return Ok(rc);
    }
    Ok(match (a.labels.is_empty(), b.labels.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            for (x, y) in a.labels.iter().zip(&b.labels) {
                let rc = cmp_label(x, y);
                if rc != Ordering::Equal {
                    return Ok(rc);
                }
            }
            a.labels.len().cmp(&b.labels.len())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nuget_examples() {
        for (a, b, want) in [
            ("1.0", "1.0.0.0", Ordering::Equal),
            ("1.0.0-beta", "1.0.0", Ordering::Less),
            ("1.0.0-Beta", "1.0.0-beta", Ordering::Equal),
            ("1.0.0-beta.2", "1.0.0-beta.10", Ordering::Less),
            ("1.0.0-2", "1.0.0-a", Ordering::Less),
            ("1.0.0-alpha", "1.0.0-alpha.1", Ordering::Less),
            ("1.0.01", "1.0.1", Ordering::Equal),
            ("1.0.0+abc", "1.0.0", Ordering::Equal),
            ("1.2.3.4", "1.2.3", Ordering::Greater),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
        }
        for bad in ["", "1.2.3.4.5", "a", "1.0-", "1.0.0-a..b", "3000000000.0"] {
            assert!(compare(bad, "1").is_err(), "{bad}");
        }
    }
}
