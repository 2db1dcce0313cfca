//! Packagist (Composer) version order: both versions are normalised the way Composer's
//! `VersionParser::normalize` does (`v` prefix dropped, padded to four numbers, stability
//! suffixes spelled out: `1.2-b2` becomes `1.2.0.0-beta2`, build metadata dropped), then
//! compared with PHP's `version_compare`.
//!
//! `version_compare` cuts at `.`, `-`, `_`, `+` and at digit/non-digit switches; numbers
//! compare as numbers; words rank `dev < alpha = a < beta = b < RC = rc < (number) <
//! pl = p`, by prefix, unknown words first; a leftover number makes its side newer, a
//! leftover word is ranked against a number.
//!
//! Branch versions (`dev-main`, `1.x-dev` style branches) have no order and are errors.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::{Scheme, VersionError};

const MODIFIER: &str =
    r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?";

static CLASSICAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^v?(\d{{1,5}})(\.\d+)?(\.\d+)?(\.\d+)?{MODIFIER}$"
    ))
    .expect("valid regex")
});
static DATETIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^v?(\d{{4}}(?:[.:-]?\d{{2}}){{1,6}}(?:[.:-]?\d{{1,3}})?){MODIFIER}$"
    ))
    .expect("valid regex")
});
static STABILITY_FLAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)@(?:stable|RC|beta|alpha|dev)$").expect("valid regex"));
static ALIAS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^,\s]+) +as +[^,\s]+$").expect("valid regex"));
static DEV_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(.*?)[.-]?dev$").expect("valid regex"));
static NUMERIC_BRANCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^v?(\d+)(\.\d+)(\.\d+)(\.\d+)$").expect("valid regex"));
static BUILD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^,\s+]+)\+[^\s]+$").expect("valid regex"));

fn expand_stability(s: &str) -> String {
    let s = s.to_ascii_lowercase();
    match s.as_str() {
        "a" => "alpha".to_owned(),
        "b" => "beta".to_owned(),
        "p" | "pl" => "patch".to_owned(),
        "rc" => "RC".to_owned(),
        _ => s,
    }
}

/// Composer's normalisation of a (non-branch) version.
fn normalize(text: &str) -> Result<String, VersionError> {
    let err = |reason| VersionError::invalid(Scheme::Packagist, text, reason);
    let mut version = text.trim().to_owned();
    if let Some(c) = ALIAS.captures(&version) {
        version = c[1].to_owned();
    }
    if let Some(m) = STABILITY_FLAG.find(&version) {
        version.truncate(m.start());
    }
    if version.len() >= 4 && version[..4].eq_ignore_ascii_case("dev-")
        || ["master", "trunk", "default"].contains(&version.as_str())
    {
        return Err(err("a branch, not a version"));
    }
    if let Some(c) = BUILD.captures(&version) {
        version = c[1].to_owned();
    }
    let (mut out, caps, index) = if let Some(c) = CLASSICAL.captures(&version) {
        let part = |i: usize| c.get(i).map(|m| m.as_str()).filter(|s| !s.is_empty());
        let out = format!(
            "{}{}{}{}",
            &c[1],
            part(2).unwrap_or(".0"),
            part(3).unwrap_or(".0"),
            part(4).unwrap_or(".0")
        );
        (out, c, 5)
    } else if let Some(c) = DATETIME.captures(&version) {
        let out: String = c[1]
            .chars()
            .map(|ch| if ch.is_ascii_digit() { ch } else { '.' })
            .collect();
        (out, c, 2)
    } else if let Some(c) = DEV_SUFFIX.captures(&version)
        && let Some(n) = NUMERIC_BRANCH.captures(c[1].trim())
    {
        // A numeric branch with all four numbers (`1.2.3.4-dev`) still orders like a version;
        // `1.2.x-dev` and shorter ones are branches.
        return Ok(format!("{}{}{}{}-dev", &n[1], &n[2], &n[3], &n[4]));
    } else {
        return Err(err("not a Composer version (or a branch)"));
    };
    let group = |i: usize| caps.get(i).map(|m| m.as_str()).filter(|s| !s.is_empty());
    if let Some(stability) = group(index) {
        if stability == "stable" {
            return Ok(out);
        }
        out.push('-');
        out.push_str(&expand_stability(stability));
        if let Some(n) = group(index + 1) {
            out.push_str(n.trim_start_matches(['.', '-']));
        }
    }
    if group(index + 2).is_some() {
        out.push_str("-dev");
    }
    Ok(out)
}

/// PHP's canonical form: `-_+` and other non-alphanumerics become `.`, and a `.` is put
/// between digits and non-digits.
fn php_canonical(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len() * 2);
    let Some(&first) = b.first() else {
        return String::new();
    };
    out.push(first);
    let mut lp = first;
    let isdig = |c: u8| c.is_ascii_digit();
    let isndig = |c: u8| !c.is_ascii_digit() && c != b'.';
    for &c in &b[1..] {
        let last_dot = out.last() == Some(&b'.');
        if matches!(c, b'-' | b'_' | b'+') {
            if !last_dot {
                out.push(b'.');
            }
        } else if (isndig(lp) && isdig(c)) || (isdig(lp) && isndig(c)) {
            if !last_dot {
                out.push(b'.');
            }
            out.push(c);
        } else if !c.is_ascii_alphanumeric() {
            if !last_dot {
                out.push(b'.');
            }
        } else {
            out.push(c);
        }
        lp = c;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn special_form(s: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| s.starts_with(name))
        .map_or(-1, |&(_, order)| order)
}

fn cmp_special(a: &str, b: &str) -> Ordering {
    special_form(a).cmp(&special_form(b))
}

/// C `strtol` on a run of digits: saturates at `i64::MAX`.
fn php_long(s: &str) -> i64 {
    s.bytes()
        .take_while(u8::is_ascii_digit)
        .try_fold(0i64, |acc, d| {
            acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
        .unwrap_or(i64::MAX)
}

fn starts_digit(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

/// PHP's `version_compare` without an operator.
fn version_compare(a: &str, b: &str) -> Ordering {
    let (ca, cb) = (php_canonical(a), php_canonical(b));
    if ca.is_empty() || cb.is_empty() {
        return ca.is_empty().cmp(&cb.is_empty()).reverse();
    }
    let mut pa = ca.split('.');
    let mut pb = cb.split('.');
    loop {
        match (pa.next(), pb.next()) {
            (Some(x), Some(y)) => {
                let rc = match (starts_digit(x), starts_digit(y)) {
                    (true, true) => php_long(x).cmp(&php_long(y)),
                    (false, false) => cmp_special(x, y),
                    (true, false) => cmp_special("#N#", y),
                    (false, true) => cmp_special(x, "#N#"),
                };
                if rc != Ordering::Equal {
                    return rc;
                }
            }
            (Some(x), None) => {
                return if starts_digit(x) {
                    Ordering::Greater
                } else {
                    version_compare(&rest(x, &mut pa), "#N#")
                };
            }
            (None, Some(y)) => {
                return if starts_digit(y) {
                    Ordering::Less
                } else {
                    version_compare("#N#", &rest(y, &mut pb))
                };
            }
            (None, None) => return Ordering::Equal,
        }
    }
}

/// The remaining text from part `first` on.
fn rest<'a>(first: &str, parts: &mut impl Iterator<Item = &'a str>) -> String {
    let mut out = first.to_owned();
    for p in parts {
        out.push('.');
        out.push_str(p);
    }
    out
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(version_compare(&normalize(a)?, &normalize(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        for (v, want) in [
            ("1.2", "1.2.0.0"),
            ("v1.2.3", "1.2.3.0"),
            ("1.0.0-beta.1", "1.0.0.0-beta1"),
            ("1.0-b2", "1.0.0.0-beta2"),
            ("1.0.0-RC1", "1.0.0.0-RC1"),
            ("1.0.0-p1", "1.0.0.0-patch1"),
            ("1.0.0-stable", "1.0.0.0"),
            ("1.0.0+build", "1.0.0.0"),
            ("1.0.0 as 2.0", "1.0.0.0"),
            ("123456.1.2.3dev", "123456.1.2.3-dev"),
            ("20240101", "20240101"),
            ("2024.01.01", "2024.01.01.0"),
        ] {
            assert_eq!(normalize(v).as_deref(), Ok(want), "{v}");
        }
        assert!(normalize("dev-main").is_err());
        assert!(normalize("1.0.x-dev").is_err());
    }

    #[test]
    fn composer_examples() {
        for (a, b, want) in [
            ("1.0.0", "1.0", Ordering::Equal),
            ("1.0.0-alpha1", "1.0.0-beta1", Ordering::Less),
            ("1.0.0-RC1", "1.0.0", Ordering::Less),
            ("1.0.0", "1.0.0-patch1", Ordering::Less),
            ("1.0.0-dev", "1.0.0-alpha1", Ordering::Less),
            ("v2.10.1", "2.9.9", Ordering::Greater),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
        }
    }
}
