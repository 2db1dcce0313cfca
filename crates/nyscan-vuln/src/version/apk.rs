//! Alpine `apk` version order, written from the grammar
//! `digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-rdigits}`.
//!
//! A version is a sequence of typed tokens, compared pairwise while both sides have a token
//! of the same type:
//!
//! - the first number and the numbers of `_suffixN` and `-rN` compare as numbers;
//! - later `.N` numbers compare as numbers, unless either starts with `0`, then as strings
//!   (so `1.01 < 1.1` and `1.001 < 1.01`);
//! - one lowercase letter after a number compares by its code;
//! - suffixes rank `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`;
//! - `~hash` (hex digits) compares as a string.
//!
//! When the types differ (or one side ends), a pre-release suffix (`_alpha`..`_rc`) makes
//! its side older; otherwise the side whose next token comes later in the grammar (the end
//! counting last) is older: `1.0 < 1.0-r1 < 1.0.1`, `1.0a < 1.0.1`, `1.0_rc1 < 1.0`.
//!
//! Anything outside the grammar is an error (apk itself refuses such versions in
//! `apk version -t`).
//!
//! That is apk-tools 3 (Alpine 3.23 on). apk-tools 2 (Alpine up to 3.22, [`compare_v2`])
//! orders the same versions the same way except `.N` numbers with leading zeros: it splits
//! `.0..0N` (z zeros) into two numbers, `-(z-1)` and then `0N` as a number. So
//! `1.010 < 1.02` for apk-tools 3 (string order) but `1.010 > 1.02` for apk-tools 2
//! (`[0, 10]` against `[0, 2]`). apk-tools 2 also refuses `~hash` and numbers of 18 digits
//! or more.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Token types in grammar order (the order matters: it is the tie-break).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
}

/// Suffix ranks; `NONE` sits between the pre- and post-release ones.
const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];
const SUFFIX_NONE: u8 = 4;

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a [u8],
    suffix: u8,
    /// apk-tools 2 only: this number is minus this many extra leading zeros.
    neg: Option<usize>,
}

fn suffix_rank(name: &[u8]) -> Option<u8> {
    if let Some(i) = PRE_SUFFIXES.iter().position(|s| s.as_bytes() == name) {
        return Some(i as u8);
    }
    POST_SUFFIXES
        .iter()
        .position(|s| s.as_bytes() == name)
        .map(|i| SUFFIX_NONE + 1 + i as u8)
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, VersionError> {
    let err = |reason| VersionError::invalid(Scheme::Apk, text, reason);
    let s = text.as_bytes();
    let mut tokens = Vec::new();
    let n = super::digits_len(s);
    if n == 0 {
        return Err(err("does not start with a digit"));
    }
    tokens.push(Token {
        kind: Kind::InitialDigit,
        text: &s[..n],
        suffix: 0,
        neg: None,
    });
    let mut i = n;
    let mut last = Kind::InitialDigit;
    while i < s.len() {
        let c = s[i];
        let (kind, start, end, suffix) = match c {
            b'a'..=b'z' => {
                if last > Kind::Digit {
                    return Err(err("letter not right after a number"));
                }
                (Kind::Letter, i, i + 1, 0)
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' && last > Kind::Digit {
                    return Err(err("'.' not right after a number"));
                }
                let kind = match last {
                    Kind::InitialDigit | Kind::Digit => Kind::Digit,
                    Kind::Suffix => Kind::SuffixNo,
                    _ => return Err(err("number in an unexpected place")),
                };
                let start = if c == b'.' { i + 1 } else { i };
                let n = super::digits_len(&s[start..]);
                if n == 0 {
                    return Err(err("'.' not followed by digits"));
                }
                (kind, start, start + n, 0)
            }
            b'_' => {
                if last > Kind::SuffixNo {
                    return Err(err("suffix after a hash or revision"));
                }
                let n = s[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_lowercase())
                    .count();
                let rank = suffix_rank(&s[i + 1..i + 1 + n])
                    .ok_or_else(|| err("unknown suffix (want _alpha, _beta, _pre, _rc, _cvs, _svn, _git, _hg or _p)"))?;
                (Kind::Suffix, i + 1, i + 1 + n, rank)
            }
            b'~' => {
                if last >= Kind::CommitHash {
                    return Err(err("'~hash' after a hash or revision"));
                }
                let n = s[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(*c))
                    .count();
                if n == 0 {
                    return Err(err("'~' not followed by a hex hash"));
                }
                (Kind::CommitHash, i + 1, i + 1 + n, 0)
            }
            b'-' => {
                if last >= Kind::RevisionNo {
                    return Err(err("second revision"));
                }
                if s.get(i + 1) != Some(&b'r') {
                    return Err(err("'-' not followed by 'r'"));
                }
                let n = super::digits_len(&s[i + 2..]);
                if n == 0 {
                    return Err(err("'-r' not followed by digits"));
                }
                (Kind::RevisionNo, i + 2, i + 2 + n, 0)
            }
            _ => return Err(err("character outside the apk version grammar")),
        };
        tokens.push(Token {
            kind,
            text: &s[start..end],
            suffix,
            neg: None,
        });
        last = kind;
        i = end;
    }
    Ok(tokens)
}

/// apk-tools 2's numbers: plain, or minus the count of extra leading zeros.
fn cmp_v2_number(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match (a.neg, b.neg) {
        (None, None) => super::cmp_digits(a.text, b.text),
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(0), None) => super::cmp_digits(b"0", b.text),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => cmp_v2_number(b, a).reverse(),
    }
}

fn token_cmp(a: &Token<'_>, b: &Token<'_>, v2: bool) -> Ordering {
    match a.kind {
        Kind::Digit if v2 => cmp_v2_number(a, b),
        Kind::Digit if a.text[0] == b'0' || b.text[0] == b'0' => a.text.cmp(b.text),
        Kind::InitialDigit | Kind::Digit | Kind::SuffixNo | Kind::RevisionNo => {
            super::cmp_digits(a.text, b.text)
        }
        Kind::Letter => a.text.cmp(b.text),
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        Kind::CommitHash | Kind::End => a.text.cmp(b.text),
    }
}

const END: Token<'static> = Token {
    kind: Kind::End,
    text: b"",
    suffix: 0,
    neg: None,
};

/// apk-tools 3 order.
pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    compare_tokens(&tokenize(a)?, &tokenize(b)?, false)
}

/// The tokens as apk-tools 2 sees them: `.0..0N` split in two.
fn tokenize_v2(text: &str) -> Result<Vec<Token<'_>>, VersionError> {
    let err = |reason| VersionError::invalid(Scheme::Apk2, text, reason);
    let mut out = Vec::new();
    for t in tokenize(text).map_err(|_| err("outside the apk version grammar"))? {
        match t.kind {
            Kind::CommitHash => return Err(err("'~hash' is not known to apk-tools 2")),
            Kind::Letter | Kind::Suffix => {}
            _ if t.text.len() >= 18 => return Err(err("number of 18 digits or more")),
            Kind::Digit if t.text[0] == b'0' => {
                let zeros = t.text.iter().take_while(|&&c| c == b'0').count();
                out.push(Token {
                    neg: Some(zeros - 1),
                    text: b"",
                    ..t
                });
                out.push(Token {
                    text: &t.text[zeros - 1..],
                    ..t
                });
                continue;
            }
            _ => {}
        }
        out.push(t);
    }
    Ok(out)
}

/// apk-tools 2 order (Alpine up to 3.22).
pub(super) fn compare_v2(a: &str, b: &str) -> Result<Ordering, VersionError> {
    compare_tokens(&tokenize_v2(a)?, &tokenize_v2(b)?, true)
}

fn compare_tokens(ta: &[Token<'_>], tb: &[Token<'_>], v2: bool) -> Result<Ordering, VersionError> {
    let mut i = 0;
    loop {
        let x = ta.get(i).unwrap_or(&END);
        let y = tb.get(i).unwrap_or(&END);
        if x.kind != y.kind {
            let pre = |t: &Token<'_>| t.kind == Kind::Suffix && t.suffix < SUFFIX_NONE;
            return Ok(if pre(x) {
                Ordering::Less
            } else if pre(y) {
                Ordering::Greater
            } else if x.kind > y.kind {
                Ordering::Less
            } else {
                Ordering::Greater
            });
        }
        if x.kind == Kind::End {
            return Ok(Ordering::Equal);
        }
        let rc = token_cmp(x, y, v2);
        if rc != Ordering::Equal {
            return Ok(rc);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_order() {
        for (a, b, want) in [
            ("1.0", "1.0-r1", Ordering::Less),
            ("1.0-r1", "1.0.1", Ordering::Less),
            ("1.0a", "1.0.1", Ordering::Less),
            ("1.0", "1.0a", Ordering::Less),
            ("1.0_rc1", "1.0", Ordering::Less),
            ("1.0_alpha", "1.0_beta", Ordering::Less),
            ("1.0_rc2", "1.0_p1", Ordering::Less),
            ("1.0", "1.0_p1", Ordering::Less),
            ("1.0_git20240101", "1.0_p1", Ordering::Less),
            ("1.01", "1.1", Ordering::Less),
            ("1.001", "1.01", Ordering::Less),
            ("1.10", "1.9", Ordering::Greater),
            ("1.2.3-r0", "1.2.3-r10", Ordering::Less),
            ("1.0_alpha1_p2", "1.0_alpha1", Ordering::Greater),
            ("1.0~abc-r0", "1.0~abd-r0", Ordering::Less),
            ("3.0.15-r0", "3.0.15-r0", Ordering::Equal),
            ("0123", "123", Ordering::Equal),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
            assert_eq!(compare(b, a), Ok(want.reverse()), "{b} vs {a}");
        }
    }

    #[test]
    fn apk_tools_2_leading_zeros() {
        for (a, b, v3, v2) in [
            ("1.010", "1.02", Ordering::Less, Ordering::Greater),
            ("1.08", "1.07804193", Ordering::Greater, Ordering::Less),
            ("1.00", "1.0", Ordering::Greater, Ordering::Less),
            ("1.001", "1.01", Ordering::Less, Ordering::Less),
            ("1.0", "1.00.1", Ordering::Less, Ordering::Greater),
        ] {
            assert_eq!(compare(a, b), Ok(v3), "v3 {a} vs {b}");
            assert_eq!(compare_v2(a, b), Ok(v2), "v2 {a} vs {b}");
            assert_eq!(compare_v2(b, a), Ok(v2.reverse()), "v2 {b} vs {a}");
        }
        assert!(compare_v2("1.0~abc", "1").is_err());
        assert!(compare_v2("123456789012345678", "1").is_err());
    }

    #[test]
    fn outside_the_grammar_is_an_error() {
        for v in [
            "",
            "a1",
            "1.0bc",
            "1.0-1",
            "1.0_foo",
            "1.0-r",
            "1..0",
            "1.0-r1-r2",
            "1.0A",
            "1.0~",
        ] {
            assert!(compare(v, "1").is_err(), "{v:?}");
        }
    }
}
