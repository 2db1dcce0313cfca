//! Minimal HTTP/1.1 wire helpers shared by the proxy, the token server and the client.
//!
//! Everything is bounded: a head may not exceed [`MAX_HEAD`] bytes, a body [`MAX_BODY`]
//! bytes, a chunk-size line [`MAX_LINE`] bytes.

use std::io::{self, BufRead, Read, Write};

/// Largest request or response head (request/status line plus headers) accepted.
pub(crate) const MAX_HEAD: u64 = 64 * 1024;
/// Largest body read into memory.
pub(crate) const MAX_BODY: u64 = 1 << 31;
/// Largest chunk-size or trailer line.
const MAX_LINE: u64 = 4096;

/// A parsed head: the first line and the header fields in order.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) line: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Head {
    /// The first header of that name (case-insensitive), trimmed.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether `Transfer-Encoding` names `chunked`.
    pub(crate) fn is_chunked(&self) -> bool {
        self.headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding")
                && v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("chunked"))
        })
    }
}

/// The first header of that name (case-insensitive) in a header list, trimmed.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Reads a head up to the empty line. `Ok(None)` when the peer closed before sending a
/// byte. A TLS ClientHello (first byte 0x16) is refused at once with `InvalidData`, so a
/// client probing https on a plain-http port fails fast instead of waiting for a timeout.
pub(crate) fn read_head<R: BufRead>(r: &mut R) -> io::Result<Option<Head>> {
    let first = r.fill_buf()?;
    if first.is_empty() {
        return Ok(None);
    }
    if first[0] == 0x16 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "TLS handshake on a plain-HTTP port",
        ));
    }
    let mut limited = r.by_ref().take(MAX_HEAD);
    let mut start: Option<String> = None;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = limited.read_until(b'\n', &mut line)?;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed or head too large before the end of the head",
            ));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        match &start {
            None if text.is_empty() => continue, // stray CRLF before a request: allowed
            None => start = Some(text),
            Some(_) if text.is_empty() => break,
            Some(_) => {
                if text.starts_with([' ', '\t']) {
                    // Obsolete line folding: continue the previous value.
                    if let Some((_, v)) = headers.last_mut() {
                        v.push(' ');
                        v.push_str(text.trim());
                    }
                    continue;
                }
                let Some((name, value)) = text.split_once(':') else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("malformed header line {text:?}"),
                    ));
                };
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
    }
    Ok(Some(Head {
        line: start.unwrap_or_default(),
        headers,
    }))
}

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body at all.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the peer closes (responses only).
    UntilClose,
}

/// The framing of a request body.
pub(crate) fn request_framing(head: &Head) -> io::Result<Framing> {
    if head.is_chunked() {
        return Ok(Framing::Chunked);
    }
    match head.header("content-length") {
        Some(v) => v.parse::<u64>().map(Framing::Length).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad Content-Length {v:?}"),
            )
        }),
        None => Ok(Framing::Empty),
    }
}

/// The framing of a response body to a request with `method`.
pub(crate) fn response_framing(method: &str, status: u16, head: &Head) -> Framing {
    if method.eq_ignore_ascii_case("HEAD") || status < 200 || status == 204 || status == 304 {
        return Framing::Empty;
    }
    if head.is_chunked() {
        return Framing::Chunked;
    }
    match head.header("content-length").map(str::parse::<u64>) {
        Some(Ok(n)) => Framing::Length(n),
        _ => Framing::UntilClose,
    }
}

/// A body read into memory; `complete` is false when the peer stopped early (closed, reset,
/// timed out or sent a malformed chunk).
#[derive(Debug, Clone, Default)]
pub(crate) struct Body {
    pub(crate) data: Vec<u8>,
    pub(crate) complete: bool,
}

/// Reads a body with the given framing (chunked bodies are decoded).
pub(crate) fn read_body<R: BufRead>(r: &mut R, framing: Framing) -> Body {
    let mut data = Vec::new();
    let complete = match framing {
        Framing::Empty => true,
        Framing::Length(n) => {
            let n = n.min(MAX_BODY);
            r.by_ref().take(n).read_to_end(&mut data).is_ok() && data.len() as u64 == n
        }
        Framing::UntilClose => r.by_ref().take(MAX_BODY).read_to_end(&mut data).is_ok(),
        Framing::Chunked => read_chunked(r, &mut data).is_ok(),
    };
    Body { data, complete }
}

fn read_line_limited<R: BufRead>(r: &mut R) -> io::Result<String> {
    let mut line = Vec::new();
    r.by_ref().take(MAX_LINE).read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "truncated chunked body",
        ));
    }
    Ok(String::from_utf8_lossy(&line).trim().to_string())
}

fn read_chunked<R: BufRead>(r: &mut R, data: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let line = read_line_limited(r)?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_text, 16).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad chunk size {line:?}"),
            )
        })?;
        if size == 0 {
            // Trailers, up to the empty line; bounded by MAX_HEAD in total.
            let mut seen = 0u64;
            loop {
                let t = read_line_limited(r)?;
                seen += t.len() as u64 + 2;
                if t.is_empty() {
                    return Ok(());
                }
                if seen > MAX_HEAD {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "trailers too large",
                    ));
                }
            }
        }
        if data.len() as u64 + size > MAX_BODY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunked body too large",
            ));
        }
        let before = data.len();
        r.by_ref().take(size).read_to_end(data)?;
        if (data.len() - before) as u64 != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated chunk",
            ));
        }
        let end = read_line_limited(r)?;
        if !end.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "missing CRLF after a chunk",
            ));
        }
    }
}

/// Splits `HTTP/1.1 206 Partial Content` into (206, "Partial Content").
pub(crate) fn parse_status_line(line: &str) -> Option<(u16, String)> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?.parse().ok()?;
    Some((code, parts.next().unwrap_or("").to_string()))
}

/// Splits `GET /v2/ HTTP/1.1` into ("GET", "/v2/").
pub(crate) fn parse_request_line(line: &str) -> Option<(String, String)> {
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    if method.is_empty() || target.is_empty() || !version.starts_with("HTTP/") {
        return None;
    }
    Some((method.to_string(), target.to_string()))
}

/// The usual reason phrase of a status code.
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Writes a complete response with a body and `Connection: close`.
pub(crate) fn write_response(
    w: &mut impl Write,
    code: u16,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {code} {}\r\n", reason(code));
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(body);
    }
    w.write_all(&bytes)?;
    w.flush()
}

/// Escapes a string for a JSON string literal (without the quotes).
pub(crate) fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn head_and_chunked_body() {
        let raw = b"POST /x?y=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\nrest";
        let mut r = Cursor::new(&raw[..]);
        let head = read_head(&mut r).unwrap().unwrap();
        assert_eq!(
            parse_request_line(&head.line),
            Some(("POST".into(), "/x?y=1".into()))
        );
        assert_eq!(request_framing(&head).unwrap(), Framing::Chunked);
        let body = read_body(&mut r, Framing::Chunked);
        assert!(body.complete);
        assert_eq!(body.data, b"abcde");
    }

    #[test]
    fn short_length_body_is_incomplete() {
        let mut r = Cursor::new(&b"abc"[..]);
        let body = read_body(&mut r, Framing::Length(5));
        assert!(!body.complete);
        assert_eq!(body.data, b"abc");
    }

    #[test]
    fn tls_hello_is_refused_and_eof_is_none() {
        let mut r = Cursor::new(&[0x16u8, 3, 1][..]);
        assert!(read_head(&mut r).is_err());
        let mut r = Cursor::new(&b""[..]);
        assert!(read_head(&mut r).unwrap().is_none());
    }

    #[test]
    fn status_line() {
        assert_eq!(
            parse_status_line("HTTP/1.1 206 Partial Content"),
            Some((206, "Partial Content".into()))
        );
        assert_eq!(
            parse_status_line("HTTP/1.1 200"),
            Some((200, String::new()))
        );
        assert_eq!(parse_status_line("garbage"), None);
    }
}
