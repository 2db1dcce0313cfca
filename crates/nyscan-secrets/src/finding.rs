//! Findings and masking: no output of this crate ever holds a whole secret.

use std::ops::Range;

use serde::Serialize;

use crate::severity::Severity;

/// Longest context line kept (bytes, before masking), around the secret.
const MAX_CONTEXT: usize = 240;
/// Most `*` shown for one secret.
const MAX_STARS: usize = 64;

/// One secret found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id (`aws-access-key-id`).
    pub rule_id: String,
    /// Rule family (`AWS`).
    pub category: String,
    /// Severity of the rule.
    pub severity: Severity,
    /// Rule title.
    pub title: String,
    /// Image path (no leading `/`), or a pseudo-path for image-config findings.
    pub path: String,
    /// Line of the secret's first byte (1-based).
    pub start_line: u64,
    /// Line of the secret's last byte (1-based).
    pub end_line: u64,
    /// Byte offset of the secret in the scanned content (for `.pyc` files: in the extracted
    /// strings).
    pub offset: u64,
    /// The secret, masked: its first few characters, then `*`.
    pub masked: String,
    /// The line holding the secret (trimmed around it when long), every secret on it masked.
    pub context: String,
}

/// How many leading bytes of a secret of `len` bytes stay visible: at most 4, at most a
/// quarter.
fn visible(len: usize) -> usize {
    (len / 4).min(4)
}

/// `secret` masked: the visible prefix, then one `*` per hidden byte (at most 64).
pub(crate) fn mask(secret: &[u8]) -> String {
    let keep = visible(secret.len());
    let mut out = printable(&secret[..keep]);
    out.extend(std::iter::repeat_n(
        '*',
        (secret.len() - keep).min(MAX_STARS),
    ));
    out
}

/// Bytes shown as text: invalid UTF-8 replaced, control characters (but tab) shown as `.`,
/// carriage returns dropped.
fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|&c| c != '\r')
        .map(|c| if c.is_control() && c != '\t' { '.' } else { c })
        .collect()
}

/// The masked context line of the secret at `secret` in `hay`: the line it starts on
/// (trimmed to 30 bytes before and 20 after the secret when longer than 100 bytes), with
/// every span of `masks` (hay-relative) masked.
pub(crate) fn context_line(hay: &[u8], secret: &Range<usize>, masks: &[Range<usize>]) -> String {
    let line_start = memchr::memrchr(b'\n', &hay[..secret.start]).map_or(0, |i| i + 1);
    let line_end =
        memchr::memchr(b'\n', &hay[secret.start..]).map_or(hay.len(), |i| secret.start + i);
    let (mut from, mut to) = (line_start, line_end);
    if to - from > 100 {
        if secret.start >= from + 30 {
            from = secret.start - 30;
        }
        if secret.end + 20 <= to {
            to = secret.end + 20;
        }
    }
    let clipped = to - from > MAX_CONTEXT;
    if clipped {
        to = from + MAX_CONTEXT;
    }
    let mut bytes = hay[from..to].to_vec();
    for m in masks {
        let keep = visible(m.end - m.start);
        let hide = (m.start + keep).max(from)..m.end.min(to);
        for i in hide {
            if bytes[i - from] != b'\n' {
                bytes[i - from] = b'*';
            }
        }
    }
    let mut text = printable(&bytes);
    if clipped {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_a_short_prefix() {
        assert_eq!(mask(b"AKIAZ3MSJV5WKGPLUCQB"), "AKIA****************");
        assert_eq!(mask(b"abcdefg"), "a******");
        assert_eq!(mask(b"abc"), "***");
        assert_eq!(mask(&[b'x'; 500]).len(), 4 + MAX_STARS);
    }

    #[test]
    fn context_masks_every_secret_on_the_line() {
        let hay = b"first\nA=AKIAZ3MSJV5WKGPLUCQB B=ghp_0123456789abcdef\r\nlast";
        let s1 = 8..28;
        let s2 = 31..51;
        let line = context_line(hay, &s1, &[s1.clone(), s2.clone()]);
        assert_eq!(line, "A=AKIA**************** B=ghp_****************");
        assert!(!line.contains("Z3MS"));
        let long = [b"x".repeat(200), b"SECRETVALUE1".to_vec(), b"y".repeat(200)].concat();
        let s = 200..212;
        let line = context_line(&long, &s, std::slice::from_ref(&s));
        assert_eq!(
            line,
            format!("{}SEC*********{}", "x".repeat(30), "y".repeat(20))
        );
        assert_eq!(
            context_line(b"a\x1b[31mSECRET", &(6..12), &[]),
            "a.[31mSECRET"
        );
    }
}
