//! Debian version order (Debian Policy 5.6.12, as `dpkg --compare-versions` applies it).
//!
//! `[epoch:]upstream[-revision]`: the epoch is compared as a number, then upstream and
//! revision piecewise: runs of non-digits character by character (`~` before everything,
//! even the end; letters before other characters), runs of digits as numbers. A missing
//! revision compares like an empty one, so `1.0` equals `1.0-0`.
//!
//! Like dpkg, characters outside the policy's set and an upstream part not starting with a
//! digit are accepted (dpkg only warns); an empty version, a bad epoch, an empty upstream or
//! revision, and embedded spaces are errors.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// A parsed Debian version borrowing the text.
#[derive(Debug, Clone, Copy)]
struct DebVersion<'a> {
    epoch: u32,
    upstream: &'a [u8],
    revision: &'a [u8],
}

fn parse(text: &str) -> Result<DebVersion<'_>, VersionError> {
    let err = |reason| VersionError::invalid(Scheme::Dpkg, text, reason);
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() {
        return Err(err("version string is empty"));
    }
    if trimmed.bytes().any(|c| c.is_ascii_whitespace()) {
        return Err(err("version string has embedded spaces"));
    }
    let (epoch, rest) = match trimmed.split_once(':') {
        Some((epoch, rest)) => (parse_epoch(epoch).map_err(err)?, rest),
        None => (0, trimmed),
    };
    if rest.is_empty() {
        return Err(err("nothing after colon in version number"));
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((_, "")) => return Err(err("revision number is empty")),
        Some((upstream, revision)) => (upstream, revision),
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err(err("version number is empty"));
    }
    Ok(DebVersion {
        epoch,
        upstream: upstream.as_bytes(),
        revision: revision.as_bytes(),
    })
}

/// The epoch as dpkg reads it (a C `strtol` that must consume everything before the colon).
fn parse_epoch(text: &str) -> Result<u32, &'static str> {
    if text.is_empty() {
        return Err("epoch in version is empty");
    }
    let (negative, digits) = match text.as_bytes()[0] {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err("epoch in version is not number");
    }
    let value = digits.trim_start_matches('0');
    if negative && !value.is_empty() {
        return Err("epoch in version is negative");
    }
    match value.parse::<u32>() {
        Ok(v) if v <= i32::MAX as u32 => Ok(v),
        _ if value.is_empty() => Ok(0),
        _ => Err("epoch in version is too big"),
    }
}

/// dpkg's weight of a non-digit character: `~` first, then the end of the string (and
/// digits), then letters, then everything else. Bytes are C `char`s, signed on the
/// platforms dpkg compares on, hence the sign extension of bytes >= 0x80.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c as i8) + 256,
    }
}

/// dpkg's `verrevcmp`.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let at = |s: &[u8], k: usize| s.get(k).copied();
    let is_digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (ac, bc) = (order(at(a, i)), order(at(b, j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == Some(b'0') {
            i += 1;
        }
        while at(b, j) == Some(b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while is_digit(at(a, i)) && is_digit(at(b, j)) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if is_digit(at(a, i)) {
            return Ordering::Greater;
        }
        if is_digit(at(b, j)) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (parse(a)?, parse(b)?);
    Ok(a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision, b.revision)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_examples() {
        for (a, b, want) in [
            ("1.0~rc1-1", "1.0-1", Ordering::Less),
            ("1.0~~", "1.0~", Ordering::Less),
            ("1.0~", "1.0", Ordering::Less),
            ("1.0", "1.0a", Ordering::Less),
            ("1.0a", "1.0+", Ordering::Less),
            ("1:1.0-1", "2.0-1", Ordering::Greater),
            ("1.0", "1.0-0", Ordering::Equal),
            ("0:1.0", "1.0", Ordering::Equal),
            ("2.36-9+deb12u4", "2.36-9+deb12u10", Ordering::Less),
            ("1.001", "1.1", Ordering::Equal),
            ("1.2.3-1ubuntu0.1", "1.2.3-1", Ordering::Greater),
            ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", Ordering::Less),
            ("1:2.0", "1:2.0-1", Ordering::Less),
            ("1.0-a-b", "1.0-a-c", Ordering::Less),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
            assert_eq!(compare(b, a), Ok(want.reverse()), "{b} vs {a}");
        }
    }

    #[test]
    fn bad_syntax_is_named() {
        for (v, reason) in [
            ("", "version string is empty"),
            ("1.0 2", "version string has embedded spaces"),
            (":1.0", "epoch in version is empty"),
            ("a:1.0", "epoch in version is not number"),
            ("-1:1.0", "epoch in version is negative"),
            ("99999999999:1.0", "epoch in version is too big"),
            ("1:", "nothing after colon in version number"),
            ("1.0-", "revision number is empty"),
            ("-1", "version number is empty"),
        ] {
            match compare(v, "1") {
                Err(VersionError::Invalid { reason: r, .. }) => assert_eq!(r, reason, "{v:?}"),
                other => panic!("{v:?}: {other:?}"),
            }
        }
        // dpkg only warns about these and compares them anyway.
        assert_eq!(compare("a1.0", "1.0"), Ok(Ordering::Greater));
        assert_eq!(compare("1.0@", "1.0"), Ok(Ordering::Greater));
    }
}
