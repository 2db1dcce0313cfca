//! Parsers for the HTTP headers and bodies the distribution protocol uses: `WWW-Authenticate`,
//! `Content-Range`, `Retry-After`, the upload `Range` and registry error documents. They take
//! untrusted input and never panic.

use std::time::Duration;

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm="..."`.
    Basic,
    /// `Bearer realm="...",service="...",scope="..."`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    /// Any other scheme (not answerable).
    Other(String),
}

/// Parses a `WWW-Authenticate` value: one or more challenges, each an auth scheme followed by
/// comma-separated `key=value` or `key="quoted value"` parameters (RFC 9110 §11.6.1).
pub(crate) fn parse_www_authenticate(value: &str) -> Vec<Challenge> {
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<(String, String)>)> = None;
    let bytes = value.as_bytes();
    let mut i = 0;
    let finish = |cur: Option<(String, Vec<(String, String)>)>, out: &mut Vec<Challenge>| {
        if let Some((scheme, params)) = cur {
            out.push(make_challenge(&scheme, params));
        }
    };
    while i < bytes.len() {
        // Skip separators.
        while i < bytes.len() && (bytes[i] == b',' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        // A token.
        let start = i;
        while i < bytes.len() && is_tchar(bytes[i]) {
            i += 1;
        }
        if i == start {
            // Not a token character: skip it (malformed input).
            i += 1;
            continue;
        }
        let token = &value[start..i];
        // `token=` starts a parameter, unless it is a token68 (`=` padding at the end).
        let mut j = i;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        let is_param = j < bytes.len()
            && bytes[j] == b'='
            && current.is_some()
            && !matches!(bytes.get(j + 1), Some(b'=') | Some(b',') | None);
        if is_param {
            i = j + 1;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            let val = if bytes.get(i) == Some(&b'"') {
                i += 1;
                let mut v = String::new();
                let mut chars = value[i..].char_indices();
                let mut end = value.len();
                while let Some((k, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                v.push(n);
                            }
                        }
                        '"' => {
                            end = i + k + 1;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                i = end;
                v
            } else {
                let s = i;
                while i < bytes.len() && bytes[i] != b',' && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value[s..i].to_owned()
            };
            if let Some((_, params)) = current.as_mut() {
                params.push((token.to_ascii_lowercase(), val));
            }
        } else if current.is_some() && j < bytes.len() && bytes[j] == b'=' {
            // token68 (`Basic abc==`): skip the `=` padding.
            i = j;
            while i < bytes.len() && bytes[i] == b'=' {
                i += 1;
            }
        } else {
            finish(current.take(), &mut out);
            current = Some((token.to_owned(), Vec::new()));
        }
    }
    finish(current, &mut out);
    out
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b)
}

fn make_challenge(scheme: &str, params: Vec<(String, String)>) -> Challenge {
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Challenge::Basic
    } else if scheme.eq_ignore_ascii_case("bearer") {
        match get("realm") {
            Some(realm) if !realm.is_empty() => Challenge::Bearer {
                realm,
                service: get("service"),
                scope: get("scope"),
            },
            _ => Challenge::Other("Bearer without a realm".to_owned()),
        }
    } else {
        Challenge::Other(scheme.to_owned())
    }
}

/// A `Content-Range: bytes FIRST-LAST/TOTAL` (TOTAL may be `*`) or `bytes */TOTAL` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    /// First and last byte (inclusive); `None` for `bytes */TOTAL`.
    pub(crate) range: Option<(u64, u64)>,
    /// Blob size, when known.
    pub(crate) total: Option<u64>,
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a `Content-Range` response header. Returns `None` when malformed (including
/// `LAST < FIRST` and `LAST >= TOTAL`).
pub(crate) fn parse_content_range(value: &str) -> Option<ContentRange> {
    let value = value.trim();
    let (unit, rest) = value.split_once(' ')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let (range, total) = rest.trim().split_once('/')?;
    let total = match total {
        "*" => None,
        t => Some(parse_u64(t)?),
    };
    if range == "*" {
        return total.map(|t| ContentRange {
            range: None,
            total: Some(t),
        });
    }
    let (first, last) = range.split_once('-')?;
    let (first, last) = (parse_u64(first)?, parse_u64(last)?);
    if last < first || total.is_some_and(|t| last >= t) {
        return None;
    }
    Some(ContentRange {
        range: Some((first, last)),
        total,
    })
}

/// Parses `Retry-After` given in seconds. (The HTTP-date form is not used by registries; it
/// gives `None`, and the caller falls back to its own backoff.)
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    parse_u64(value.trim()).map(Duration::from_secs)
}

/// Parses the `Range` header of an upload status (`0-1023`, or `bytes=0-1023`): the offset
/// of the last byte received. docker-registry says `0-0` for an empty upload as well as for
/// a one-byte upload.
pub(crate) fn parse_upload_range(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("bytes=").unwrap_or(v);
    let (first, last) = v.split_once('-')?;
    let (first, last) = (parse_u64(first)?, parse_u64(last)?);
    (first == 0 && last >= first).then_some(last)
}

/// Summarises a registry error body (`{"errors":[{"code":..,"message":..,"detail":..}]}`)
/// as `CODE: message`, one per error; other bodies give their first line, cut short.
pub(crate) fn error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(doc) = serde_json::from_slice::<Doc>(body)
        && !doc.errors.is_empty()
    {
        let joined = doc
            .errors
            .iter()
            .take(4)
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        return shorten(&joined);
    }
    let text = String::from_utf8_lossy(body);
    shorten(
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or(""),
    )
}

fn shorten(s: &str) -> String {
    const MAX: usize = 300;
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= MAX {
        clean
    } else {
        let cut: String = clean.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_authenticate_bearer() {
        let c = parse_www_authenticate(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        );
        assert_eq!(
            c,
            vec![Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:samalba/my-app:pull,push".into()),
            }]
        );
        // Case, spaces, escapes, unquoted values, an error parameter.
        let c = parse_www_authenticate(
            r#"bearer  Realm = "http://127.0.0.1:9/tok\"en" , service=reg, error="insufficient_scope""#,
        );
        assert_eq!(
            c,
            vec![Challenge::Bearer {
                realm: "http://127.0.0.1:9/tok\"en".into(),
                service: Some("reg".into()),
                scope: None,
            }]
        );
    }

    #[test]
    fn www_authenticate_basic_and_several() {
        assert_eq!(
            parse_www_authenticate(r#"Basic realm="Registry Realm""#),
            vec![Challenge::Basic]
        );
        let c = parse_www_authenticate(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Bearer realm="http://t/x""#,
        );
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(c[0], Challenge::Other("Newauth".into()));
        assert_eq!(c[1], Challenge::Basic);
        assert!(matches!(&c[2], Challenge::Bearer { realm, .. } if realm == "http://t/x"));
        // A bearer without a realm cannot be answered.
        assert_eq!(
            parse_www_authenticate("Bearer service=x"),
            vec![Challenge::Other("Bearer without a realm".into())]
        );
        // Garbage and truncated input never panic.
        for s in [
            "",
            ",,,",
            "Bearer realm=\"unterminated",
            "=",
            "Basic abc==",
            "Bearer realm=",
            "\u{e9}t\u{e9} realm=\"\u{e9}\"",
            "Bearer realm=\"a\\",
        ] {
            let _ = parse_www_authenticate(s);
        }
        assert_eq!(
            parse_www_authenticate("Basic abc=="),
            vec![Challenge::Basic]
        );
    }

    #[test]
    fn random_input_never_panics() {
        let alphabet: Vec<char> = "Bearer Basic realm=\"\\,= \t/:-*0123456789bytes\u{e9}\u{1f600}"
            .chars()
            .collect();
        let mut x = 0x2545_f491_u32;
        for _ in 0..20_000 {
            let len = (x % 40) as usize;
            let s: String = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    alphabet[x as usize % alphabet.len()]
                })
                .collect();
            let _ = parse_www_authenticate(&s);
            let _ = parse_content_range(&s);
            let _ = parse_retry_after(&s);
            let _ = parse_upload_range(&s);
            let _ = error_detail(s.as_bytes());
        }
    }

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 10-19/2431545"),
            Some(ContentRange {
                range: Some((10, 19)),
                total: Some(2431545)
            })
        );
        assert_eq!(
            parse_content_range("bytes 0-0/*"),
            Some(ContentRange {
                range: Some((0, 0)),
                total: None
            })
        );
        assert_eq!(
            parse_content_range("bytes */100"),
            Some(ContentRange {
                range: None,
                total: Some(100)
            })
        );
        for bad in [
            "",
            "bytes",
            "bytes 10-19",
            "bytes 19-10/100",
            "bytes 10-100/100",
            "items 0-1/2",
            "bytes -1-2/3",
            "bytes 0-99999999999999999999999/1",
            "bytes */*",
            "bytes 1-2/x",
            "0-5",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_and_upload_range() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("99999999999999999999999"), None);
        assert_eq!(parse_upload_range("0-1023"), Some(1023));
        assert_eq!(parse_upload_range("bytes=0-5"), Some(5));
        assert_eq!(parse_upload_range("5-1"), None);
        assert_eq!(parse_upload_range("junk"), None);
    }

    #[test]
    fn error_bodies() {
        let body = br#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:aa"}]}"#;
        assert_eq!(error_detail(body), "BLOB_UNKNOWN: blob unknown to registry");
        assert_eq!(
            error_detail(b"\n  404 page not found\n"),
            "404 page not found"
        );
        assert_eq!(error_detail(b""), "");
        let long = "x".repeat(1000);
        assert!(error_detail(long.as_bytes()).len() < 320);
    }
}
