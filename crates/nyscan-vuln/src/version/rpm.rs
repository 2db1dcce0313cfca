//! RPM version order: `[epoch:]version[-release]` compared like rpm's `rpmvercmp` on each
//! part.
//!
//! The epoch is the run of digits before a `:` (an empty one is `0`; none at all is `0`
//! too); the release is whatever follows the last `-`. As in rpm 4.18's `rpm.vercmp`, a
//! version without a release sorts before the same version with any release, even an
//! empty one (`1.0 < 1.0- < 1.0-1`).
//!
//! `rpmvercmp`: separators (anything but ASCII letters, digits, `~` and `^`) only split
//! segments; `~` sorts before everything, even the end of the string; `^` sorts after the
//! end of the string but before any other segment; digit runs compare as numbers and beat
//! letter runs; letter runs compare bytewise; when one string runs out, the longer wins.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// A parsed EVR borrowing the text.
#[derive(Debug, Clone, Copy)]
struct Evr<'a> {
    epoch: &'a [u8],
    version: &'a [u8],
    release: Option<&'a [u8]>,
}

fn parse(text: &str) -> Result<Evr<'_>, VersionError> {
    if text.is_empty() {
        return Err(VersionError::invalid(Scheme::Rpm, text, "empty version"));
    }
    let bytes = text.as_bytes();
    let digits = super::digits_len(bytes);
    let (epoch, rest): (&[u8], &[u8]) = if bytes.get(digits) == Some(&b':') {
        let e = &bytes[..digits];
        (if e.is_empty() { b"0" } else { e }, &bytes[digits + 1..])
    } else {
        (b"0", bytes)
    };
    // rpm looks for the release separator after the epoch digits, before cutting the epoch off.
    let (version, release) = match rest.iter().rposition(|&c| c == b'-') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    Ok(Evr {
        epoch,
        version,
        release,
    })
}

fn is_segment_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'~' || c == b'^'
}

/// rpm's `rpmvercmp` on two strings.
pub(super) fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a, b);
    loop {
        while let Some((&c, rest)) = a.split_first()
            && !is_segment_char(c)
        {
            a = rest;
        }
        while let Some((&c, rest)) = b.split_first()
            && !is_segment_char(c)
        {
            b = rest;
        }
        if a.is_empty() && b.is_empty() {
            return Ordering::Equal;
        }
        let (ca, cb) = (a.first().copied(), b.first().copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            a = &a[1..];
            b = &b[1..];
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if a.is_empty() {
                return Ordering::Less;
            }
            if b.is_empty() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            a = &a[1..];
            b = &b[1..];
            continue;
        }
        if a.is_empty() || b.is_empty() {
            break;
        }
        let numeric = a[0].is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let la = a.iter().take_while(|c| class(c)).count();
        let lb = b.iter().take_while(|c| class(c)).count();
        // `a` always starts a segment of its class; `b` may start the other class.
        if lb == 0 {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sa, sb) = (&a[..la], &b[..lb]);
        let rc = if numeric {
            super::cmp_digits(sa, sb)
        } else {
            sa.cmp(sb)
        };
        if rc != Ordering::Equal {
            return rc;
        }
        a = &a[la..];
        b = &b[lb..];
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (parse(a)?, parse(b)?);
    Ok(rpmvercmp(a.epoch, b.epoch)
        .then_with(|| rpmvercmp(a.version, b.version))
        .then_with(|| match (a.release, b.release) {
            (Some(x), Some(y)) => rpmvercmp(x, y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpmvercmp_examples() {
        for (a, b, want) in [
            ("1.0", "1.0", Ordering::Equal),
            ("1.0", "2.0", Ordering::Less),
            ("2.0.1", "2.0", Ordering::Greater),
            ("2.0.1a", "2.0.1", Ordering::Greater),
            ("5.5p1", "5.5p10", Ordering::Less),
            ("10xyz", "10.1xyz", Ordering::Less),
            ("xyz10", "xyz10.1", Ordering::Less),
            ("1.0~rc1", "1.0", Ordering::Less),
            ("1.0~rc1", "1.0~rc2", Ordering::Less),
            ("1.0^", "1.0", Ordering::Greater),
            ("1.0^git1", "1.0.1", Ordering::Less),
            ("1.0^git1", "1.0^git2", Ordering::Less),
            ("1.0~rc1^git1", "1.0~rc1", Ordering::Greater),
            ("a", "1", Ordering::Less),
            ("1.0.", "1.0", Ordering::Equal),
            ("el9", "el9_4", Ordering::Less),
            ("001", "1", Ordering::Equal),
        ] {
            assert_eq!(rpmvercmp(a.as_bytes(), b.as_bytes()), want, "{a} vs {b}");
            assert_eq!(
                rpmvercmp(b.as_bytes(), a.as_bytes()),
                want.reverse(),
                "{b} vs {a}"
            );
        }
    }

    #[test]
    fn evr() {
        for (a, b, want) in [
            ("1:1.0-1", "2.0-1", Ordering::Greater),
            ("0:1.0-1", "1.0-1", Ordering::Equal),
            (":1.0-1", "1.0-1", Ordering::Equal),
            ("1.0", "1.0-5.el9", Ordering::Less),
            ("1.0-", "1.0", Ordering::Greater),
            ("1.0-", "1.0-0", Ordering::Less),
            ("1.0-1.el9", "1.0-1.el9_4", Ordering::Less),
            ("2.28-225.el9", "2.28-251.el9_4.2", Ordering::Less),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
        }
        assert!(compare("", "1").is_err());
    }
}
