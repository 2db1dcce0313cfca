//! A tiny blocking HTTP/1.1 client for tests: one request per connection, plain HTTP only.

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::http;

/// A response read by [`request`].
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (chunked bodies decoded; empty for HEAD).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        http::header(&self.headers, name)
    }
}

/// Sends one request to `addr` (`Host` is `addr`, `Connection: close`; a `Content-Length`
/// is added when `body` is non-empty or the method is POST, PUT or PATCH) and reads the
/// response. A body cut short of its `Content-Length` or chunked end is an error
/// (`UnexpectedEof`, or the reset that cut it). Timeouts: 10 s to connect, 30 s per read.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    request_with_timeout(addr, method, target, headers, body, Duration::from_secs(30))
}

/// [`request`] with `timeout` for connecting and for each read and write.
pub(crate) fn request_with_timeout(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout.min(Duration::from_secs(10)))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    stream.flush()?;

    let mut reader = BufReader::new(stream);
    let mut head = None;
    // Skip interim 1xx responses (bounded).
    for _ in 0..5 {
        let h = http::read_head(&mut reader)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            )
        })?;
        let (status, _) = http::parse_status_line(&h.line).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad status line {:?}", h.line),
            )
        })?;
        if !(100..200).contains(&status) {
            head = Some((status, h));
            break;
        }
    }
    let (status, head) = head
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "too many interim responses"))?;
    let framing = http::response_framing(method, status, &head);
    let body = http::read_body(&mut reader, framing);
    if !body.complete {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "response body cut short: got {} bytes, framing {framing:?}",
                body.data.len()
            ),
        ));
    }
    Ok(Response {
        status,
        headers: head.headers,
        body: body.data,
    })
}
