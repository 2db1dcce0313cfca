//! RubyGems version order (`Gem::Version#<=>`).
//!
//! Valid versions: digits, then `.`-separated alphanumeric parts, then optionally `-` and
//! `.`-separated alphanumeric-or-hyphen parts; surrounding whitespace is ignored and an
//! empty version is `0`. A `-` stands for `.pre.`. The version is cut into runs of digits
//! (numbers) and runs of letters (strings); the numeric prefix and the rest each lose their
//! trailing zeros; then segments compare in order, a missing one counting as `0`: numbers
//! numerically, strings bytewise, and any string before any number (so `1.0.a < 1.0`).

use std::cmp::Ordering;

use super::{Scheme, VersionError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Num(String),
    Str(String),
}

fn valid(s: &str) -> bool {
    // \A\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z
    if s.is_empty() {
        return true;
    }
    let (release, pre) = match s.split_once('-') {
        Some((r, p)) => (r, Some(p)),
        None => (s, None),
    };
    let mut parts = release.split('.');
    let first = parts.next().unwrap_or("");
    if first.is_empty() || !first.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    if !parts.all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric())) {
        return false;
    }
    match pre {
        None => true,
        Some(pre) => pre
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')),
    }
}

fn canonical_segments(text: &str) -> Result<Vec<Segment>, VersionError> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    if !valid(trimmed) {
        return Err(VersionError::invalid(
            Scheme::RubyGems,
            text,
            "malformed version number string",
        ));
    }
    let mut segments = Vec::new();
    let bytes = trimmed.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let run = |pred: fn(&u8) -> bool| bytes[i..].iter().take_while(|c| pred(c)).count();
        if c.is_ascii_digit() {
            let n = run(u8::is_ascii_digit);
            let digits = trimmed[i..i + n].trim_start_matches('0');
            segments.push(Segment::Num(
                if digits.is_empty() { "0" } else { digits }.to_owned(),
            ));
            i += n;
        } else if c.is_ascii_alphabetic() {
            let n = run(u8::is_ascii_alphabetic);
            segments.push(Segment::Str(trimmed[i..i + n].to_owned()));
            i += n;
        } else if c == b'-' {
            // `-` is rewritten to `.pre.`.
            segments.push(Segment::Str("pre".to_owned()));
            i += 1;
        } else {
            i += 1;
        }
    }
    // Drop trailing zeros of the numeric prefix and of the rest.
    let split = segments
        .iter()
        .position(|s| matches!(s, Segment::Str(_)))
        .unwrap_or(segments.len());
    let mut rest = segments.split_off(split);
    let zero = |s: &Segment| matches!(s, Segment::Num(n) if n == "0");
    while segments.last().is_some_and(zero) {
        segments.pop();
    }
    while rest.last().is_some_and(zero) {
        rest.pop();
    }
    segments.extend(rest);
    Ok(segments)
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (canonical_segments(a)?, canonical_segments(b)?);
    let zero = Segment::Num("0".to_owned());
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).unwrap_or(&zero), b.get(i).unwrap_or(&zero));
        let rc = match (x, y) {
            (Segment::Num(x), Segment::Num(y)) => super::cmp_digits(x.as_bytes(), y.as_bytes()),
            (Segment::Str(x), Segment::Str(y)) => x.cmp(y),
            (Segment::Str(_), Segment::Num(_)) => Ordering::Less,
            (Segment::Num(_), Segment::Str(_)) => Ordering::Greater,
        };
        if rc != Ordering::Equal {
            return Ok(rc);
        }
    }
    Ok(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gem_examples() {
        for (a, b, want) in [
            ("1.0", "1", Ordering::Equal),
            ("1.0.a", "1.0", Ordering::Less),
            ("1.0.a", "1.0.b", Ordering::Less),
            ("1.0.0.rc1", "1.0.0", Ordering::Less),
            ("1.0-1", "1.0.pre.1", Ordering::Equal),
            ("1.0.a10", "1.0.a9", Ordering::Greater),
            ("", "0", Ordering::Equal),
            (" 1.2 ", "1.2", Ordering::Equal),
            ("1.0.0.a.0", "1.0.0.a", Ordering::Equal),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
        }
        for bad in ["a", "1..2", "1.0-", "1 2", "1.0_1"] {
            assert!(compare(bad, "1").is_err(), "{bad}");
        }
    }
}
