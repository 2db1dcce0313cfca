//! [`FaultProxy`]: an HTTP/1.1 reverse proxy that injects faults and can demand a bearer
//! token.

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::{self, Framing, Head};
use crate::server::{Server, lock};

/// Timeout to connect to the upstream.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read/write timeout on the upstream connection.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    /// The request method (`GET`, `HEAD`, ...).
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    /// The client's `Range` header, if any.
    pub range: Option<String>,
    /// The client's `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The status the client got (0 while the request is still being handled; for faults
    /// that cut the body, the status of the head that was sent; 502 when the upstream could
    /// not be reached).
    pub status: u16,
}

/// A fault to inject: the first fault (in insertion order) whose filters match a request
/// and that has `times` left fires on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Only requests with this method (case-insensitive); `None` matches any.
    pub method: Option<String>,
    /// Only requests whose target (path and query) contains this; `""` matches any.
    pub path_contains: String,
    /// Only requests with a `Range` header.
    pub only_ranged: bool,
    /// How many matching requests it fires on before it is spent.
    pub times: usize,
    /// What happens to a matching request.
    pub action: FaultAction,
}

/// What a [`Fault`] does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer this status with a small JSON error body (distribution's error format) and
    /// optionally `Retry-After: <seconds>`; the request is not forwarded.
    Status {
        /// The status code, e.g. 404, 429, 500, 503.
        code: u16,
        /// Seconds for a `Retry-After` header.
        retry_after: Option<u64>,
    },
    /// Forward, send the head and half the body, then reset the connection (SO_LINGER 0).
    ResetMidBody,
    /// Forward, keep the `Content-Length`, send only half the body (nothing of an empty
    /// body, declared as 1 byte), then close cleanly.
    ShortBody,
    /// Forward without the `Range` (and `If-Range`) header and return the full response.
    IgnoreRange,
    /// Forward, then shift the response's `Content-Range` (by one byte, staying inside the
    /// total when possible); the body is unchanged. A response without a parseable
    /// `Content-Range` is left alone, so pair this with `only_ranged: true`.
    WrongContentRange,
    /// Forward, then flip (xor 0xff) body byte `at` (clamped to the last byte; an empty
    /// body is left alone).
    FlipByte {
        /// Offset of the byte in the body sent.
        at: usize,
    },
}

/// A network link the proxy emulates between client and registry: every request waits one
/// round trip before its answer starts, and all answers share the link's bandwidth (one
/// bottleneck, first come first served), so parallel requests do not multiply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Bandwidth in bytes per second.
    pub bytes_per_sec: u64,
    /// Round-trip time.
    pub rtt: Duration,
}

impl Link {
    /// A link of `mbit` Mbit/s and `rtt_ms` milliseconds round trip.
    pub fn new(mbit: u64, rtt_ms: u64) -> Link {
        Link {
            bytes_per_sec: (mbit * 1_000_000 / 8).max(1),
            rtt: Duration::from_millis(rtt_ms),
        }
    }
}

#[derive(Debug)]
struct Bearer {
    realm: String,
    service: String,
    token: String,
}

#[derive(Debug, Default)]
struct State {
    /// Faults with the number of firings left.
    faults: Vec<(Fault, usize)>,
    bearer: Option<Bearer>,
    log: Vec<RequestLog>,
    link: Option<Link>,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    addr: Mutex<Option<SocketAddr>>,
    state: Mutex<State>,
    /// When the emulated link is next free to carry bytes.
    link_free_at: Mutex<Instant>,
}

/// An HTTP/1.1 reverse proxy on `127.0.0.1:<free port>` in front of `upstream` (plain HTTP,
/// thread per connection, one request per connection, a new upstream connection per
/// request). It logs every request, injects [`Fault`]s and can demand a bearer token
/// ([`FaultProxy::require_bearer`]). `Location` headers pointing at the upstream are
/// rewritten to the proxy. Stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    shared: Arc<Shared>,
    server: Server,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream`. Panics if it cannot bind a loopback port.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let shared = Arc::new(Shared {
            upstream,
            addr: Mutex::new(None),
            state: Mutex::new(State::default()),
            link_free_at: Mutex::new(Instant::now()),
        });
        let handler_shared = Arc::clone(&shared);
        let server = Server::start("fault-proxy", move |s| handle(&handler_shared, s))
            .expect("FaultProxy: bind 127.0.0.1:0");
        *lock(&shared.addr) = Some(server.addr());
        FaultProxy { shared, server }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The proxy's address as `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr().to_string()
    }

    /// Adds a fault after those already queued.
    pub fn inject(&self, fault: Fault) {
        let times = fault.times;
        lock(&self.shared.state).faults.push((fault, times));
    }

    /// Removes every queued fault (spent or not). The bearer requirement and the log stay.
    pub fn clear(&self) {
        lock(&self.shared.state).faults.clear();
    }

    /// From now on, demand `Authorization: Bearer <token>`; otherwise answer 401 with
    /// `WWW-Authenticate: Bearer realm="<realm>",service="<service>",scope="repository:<repo>:pull"`
    /// (repo taken from a `/v2/<repo>/(manifests|blobs|tags)/` path; `pull,push` for methods
    /// other than GET and HEAD; other paths such as `/v2/` get the challenge without scope).
    /// Accepted requests are forwarded upstream without the `Authorization` header.
    /// The check comes before faults: a challenged request spends no fault.
    pub fn require_bearer(&self, realm: &str, service: &str, token: &str) {
        lock(&self.shared.state).bearer = Some(Bearer {
            realm: realm.to_string(),
            service: service.to_string(),
            token: token.to_string(),
        });
    }

    /// From now on, emulate `link` between clients and the upstream (see [`Link`]).
    pub fn shape(&self, link: Link) {
        lock(&self.shared.state).link = Some(link);
    }

    /// Every request seen, in arrival order.
    pub fn requests(&self) -> Vec<RequestLog> {
        lock(&self.shared.state).log.clone()
    }
}

/// What to do with one request.
enum Decision {
    /// Answer 401 with this `WWW-Authenticate` value.
    Challenge(String),
    /// Forward (dropping `Authorization` when `strip_auth`), with an optional fault.
    Proceed {
        strip_auth: bool,
        fault: Option<FaultAction>,
    },
}

impl Shared {
    fn decide(&self, method: &str, target: &str, head: &Head) -> Decision {
        let mut state = lock(&self.state);
        let mut strip_auth = false;
        if let Some(b) = &state.bearer {
            let ok = head
                .header("authorization")
                .and_then(|v| v.split_once(' '))
                .is_some_and(|(scheme, tok)| {
                    scheme.eq_ignore_ascii_case("bearer") && tok.trim() == b.token
                });
            if !ok {
                return Decision::Challenge(challenge(b, method, target));
            }
            strip_auth = true;
        }
        let ranged = head.header("range").is_some();
        let fault = state.faults.iter_mut().find_map(|(f, left)| {
            let matches = *left > 0
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && target.contains(&f.path_contains)
                && (!f.only_ranged || ranged);
            if matches {
                *left -= 1;
                Some(f.action.clone())
            } else {
                None
            }
        });
        Decision::Proceed { strip_auth, fault }
    }

    fn push_log(&self, entry: RequestLog) -> usize {
        let mut state = lock(&self.state);
        state.log.push(entry);
        state.log.len() - 1
    }

    fn set_status(&self, idx: usize, status: u16) {
        if let Some(e) = lock(&self.state).log.get_mut(idx) {
            e.status = status;
        }
    }

    fn link(&self) -> Option<Link> {
        lock(&self.state).link
    }

    /// Writes `bytes` at the emulated link's pace (or at once without a link).
    fn paced_write(&self, out: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
        let Some(link) = self.link() else {
            return out.write_all(bytes);
        };
        for piece in bytes.chunks(16 * 1024) {
            let cost = Duration::from_secs_f64(piece.len() as f64 / link.bytes_per_sec as f64);
            let done = {
                let mut free = lock(&self.link_free_at);
                let start = (*free).max(Instant::now());
                *free = start + cost;
                *free
            };
            std::thread::sleep(done.saturating_duration_since(Instant::now()));
            out.write_all(piece)?;
        }
        Ok(())
    }

    fn proxy_host(&self) -> String {
        lock(&self.addr).map(|a| a.to_string()).unwrap_or_default()
    }
}

/// The repository of a `/v2/<repo>/(manifests|blobs|tags)/...` target.
fn repo_of(target: &str) -> Option<&str> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let rest = path.strip_prefix("/v2/")?;
    ["/manifests/", "/blobs/", "/tags/"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
        .map(|end| &rest[..end])
        .filter(|repo| !repo.is_empty())
}

fn challenge(b: &Bearer, method: &str, target: &str) -> String {
    let mut v = format!("Bearer realm=\"{}\",service=\"{}\"", b.realm, b.service);
    if let Some(repo) = repo_of(target) {
        let actions = if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
            "pull"
        } else {
            "pull,push"
        };
        v.push_str(&format!(",scope=\"repository:{repo}:{actions}\""));
    }
    v
}

fn error_json(code: &str, message: &str) -> Vec<u8> {
    format!(
        "{{\"errors\":[{{\"code\":\"{code}\",\"message\":\"{}\",\"detail\":null}}]}}\n",
        http::json_escape(message)
    )
    .into_bytes()
}

fn fault_error_code(code: u16, target: &str) -> &'static str {
    match code {
        401 => "UNAUTHORIZED",
        403 => "DENIED",
        404 if target.contains("/manifests/") => "MANIFEST_UNKNOWN",
        404 if target.contains("/blobs/") => "BLOB_UNKNOWN",
        404 => "NAME_UNKNOWN",
        429 => "TOOMANYREQUESTS",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    }
}

/// An upstream response read whole.
struct Upstream {
    status: u16,
    reason: String,
    /// End-to-end headers (no Connection, Keep-Alive, Transfer-Encoding, Content-Length).
    headers: Vec<(String, String)>,
    /// The upstream's `Content-Length`, if any.
    declared_len: Option<u64>,
    /// Whether the response carries no body (HEAD, 1xx, 204, 304).
    bodiless: bool,
    body: Vec<u8>,
    /// False when the upstream stopped before the end of the body.
    complete: bool,
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn forward(
    upstream: SocketAddr,
    method: &str,
    target: &str,
    head: &Head,
    body: &[u8],
    drop_range: bool,
    strip_auth: bool,
) -> Result<Upstream, String> {
    let mut s = TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT)
        .map_err(|e| format!("connect {upstream}: {e}"))?;
    let _ = s.set_read_timeout(Some(UPSTREAM_TIMEOUT));
    let _ = s.set_write_timeout(Some(UPSTREAM_TIMEOUT));
    let _ = s.set_nodelay(true);
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {upstream}\r\n");
    for (k, v) in &head.headers {
        let lk = k.to_ascii_lowercase();
        let skip = HOP_BY_HOP.contains(&lk.as_str())
            || matches!(lk.as_str(), "host" | "content-length" | "expect")
            || (drop_range && matches!(lk.as_str(), "range" | "if-range"))
            || (strip_auth && lk == "authorization");
        if !skip {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !body.is_empty()
        || head.header("content-length").is_some()
        || head.is_chunked()
        || matches!(method, "POST" | "PUT" | "PATCH")
    {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes)
        .and_then(|()| s.flush())
        .map_err(|e| format!("send to {upstream}: {e}"))?;

    let mut reader = BufReader::new(s);
    let mut got = None;
    for _ in 0..5 {
        let h = http::read_head(&mut reader)
            .map_err(|e| format!("read response head from {upstream}: {e}"))?
            .ok_or_else(|| format!("{upstream} closed without a response"))?;
        let (status, reason) = http::parse_status_line(&h.line)
            .ok_or_else(|| format!("bad status line from {upstream}: {:?}", h.line))?;
        if !(100..200).contains(&status) {
            got = Some((status, reason, h));
            break;
        }
    }
    let (status, reason, h) = got.ok_or_else(|| "too many interim responses".to_string())?;
    let framing = http::response_framing(method, status, &h);
    let declared_len = h
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok());
    let b = http::read_body(&mut reader, framing);
    let headers = h
        .headers
        .into_iter()
        .filter(|(k, _)| {
            let lk = k.to_ascii_lowercase();
            !HOP_BY_HOP.contains(&lk.as_str()) && lk != "content-length"
        })
        .collect();
    Ok(Upstream {
        status,
        reason,
        headers,
        declared_len,
        bodiless: framing == Framing::Empty,
        body: b.data,
        complete: b.complete,
    })
}

/// Shifts `bytes A-B/T` by one byte (forward when it stays inside T, else back).
fn shift_content_range(v: &str) -> Option<String> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let a: u64 = a.trim().parse().ok()?;
    let b: u64 = b.trim().parse().ok()?;
    let t: Option<u64> = total.trim().parse().ok();
    let (na, nb) = if t.is_none_or(|t| b + 1 < t) {
        (a + 1, b + 1)
    } else if a > 0 {
        (a - 1, b - 1)
    } else {
        (a + 1, b)
    };
    Some(format!("bytes {na}-{nb}/{}", total.trim()))
}

fn rewrite_location(headers: &mut [(String, String)], upstream: SocketAddr, proxy: &str) {
    let from = format!("http://{upstream}");
    let to = format!("http://{proxy}");
    for (k, v) in headers.iter_mut() {
        if k.eq_ignore_ascii_case("location") && v.starts_with(&from) {
            let rest = &v[from.len()..];
            if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
                *v = format!("{to}{rest}");
            }
        }
    }
}

/// How much of the body to send.
enum Cut {
    Full,
    /// Keep the declared length, send half, close cleanly.
    Short,
    /// Send half, then reset.
    Reset,
}

fn send_upstream(
    shared: &Shared,
    out: &mut TcpStream,
    resp: &Upstream,
    cut: &Cut,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, resp.reason);
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body: &[u8] = &resp.body;
    let (declared, sent): (Option<u64>, &[u8]) = if resp.bodiless {
        (resp.declared_len, &[])
    } else {
        match cut {
            Cut::Full if resp.complete => (Some(body.len() as u64), body),
            // Relay an upstream's own truncation faithfully: its length, what it sent.
            Cut::Full => (resp.declared_len, body),
            Cut::Short | Cut::Reset => {
                let full = (body.len() as u64).max(1);
                (
                    Some(resp.declared_len.unwrap_or(full).max(full)),
                    &body[..body.len() / 2],
                )
            }
        }
    };
    if let Some(n) = declared {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    out.write_all(head.as_bytes())?;
    shared.paced_write(out, sent)?;
    out.flush()
}

fn handle(shared: &Shared, client: TcpStream) {
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = client;
    let head = match http::read_head(&mut reader) {
        Ok(Some(h)) => h,
        _ => return, // closed, timed out, TLS probe or garbage: just close
    };
    let Some((method, target)) = http::parse_request_line(&head.line) else {
        let _ = http::write_response(
            &mut out,
            400,
            &[],
            &error_json("UNKNOWN", "bad request line"),
            false,
        );
        return;
    };
    let Ok(framing) = http::request_framing(&head) else {
        let _ = http::write_response(
            &mut out,
            400,
            &[],
            &error_json("UNKNOWN", "bad Content-Length"),
            false,
        );
        return;
    };
    if head
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let _ = out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let body = http::read_body(&mut reader, framing);
    if !body.complete {
        return;
    }
    if let Some(link) = shared.link() {
        // The request travels to the registry and the answer's first byte comes back.
        std::thread::sleep(link.rtt);
    }
    let idx = shared.push_log(RequestLog {
        method: method.clone(),
        path: target.clone(),
        range: head.header("range").map(str::to_string),
        authorization: head.header("authorization").map(str::to_string),
        status: 0,
    });
    let head_only = method.eq_ignore_ascii_case("HEAD");
    let json = (
        "Content-Type",
        "application/json; charset=utf-8".to_string(),
    );
    let api = (
        "Docker-Distribution-Api-Version",
        "registry/2.0".to_string(),
    );

    let (strip_auth, fault) = match shared.decide(&method, &target, &head) {
        Decision::Challenge(value) => {
            shared.set_status(idx, 401);
            let _ = http::write_response(
                &mut out,
                401,
                &[json, api, ("WWW-Authenticate", value)],
                &error_json("UNAUTHORIZED", "authentication required"),
                head_only,
            );
            return;
        }
        Decision::Proceed { strip_auth, fault } => (strip_auth, fault),
    };

    if let Some(FaultAction::Status { code, retry_after }) = fault {
        shared.set_status(idx, code);
        let mut headers = vec![json, api];
        if let Some(secs) = retry_after {
            headers.push(("Retry-After", secs.to_string()));
        }
        let _ = http::write_response(
            &mut out,
            code,
            &headers,
            &error_json(
                fault_error_code(code, &target),
                &format!("injected fault: status {code}"),
            ),
            head_only,
        );
        return;
    }

    let drop_range = matches!(fault, Some(FaultAction::IgnoreRange));
    let mut resp = match forward(
        shared.upstream,
        &method,
        &target,
        &head,
        &body.data,
        drop_range,
        strip_auth,
    ) {
        Ok(r) => r,
        Err(e) => {
            shared.set_status(idx, 502);
            let _ = http::write_response(
                &mut out,
                502,
                &[json],
                &error_json("UNKNOWN", &format!("proxy: {e}")),
                head_only,
            );
            return;
        }
    };
    rewrite_location(&mut resp.headers, shared.upstream, &shared.proxy_host());

    let mut cut = Cut::Full;
    match fault {
        Some(FaultAction::ResetMidBody) => cut = Cut::Reset,
        Some(FaultAction::ShortBody) => cut = Cut::Short,
        Some(FaultAction::WrongContentRange) => {
            for (k, v) in resp.headers.iter_mut() {
                if k.eq_ignore_ascii_case("content-range")
                    && let Some(shifted) = shift_content_range(v)
                {
                    *v = shifted;
                }
            }
        }
        Some(FaultAction::FlipByte { at }) if !resp.bodiless && !resp.body.is_empty() => {
            let i = at.min(resp.body.len() - 1);
            resp.body[i] ^= 0xff;
        }
        _ => {}
    }

    shared.set_status(idx, resp.status);
    let sent = send_upstream(shared, &mut out, &resp, &cut);
    match cut {
        Cut::Reset if !resp.bodiless => {
            // Give the kernel a moment to deliver what was written, then reset: with
            // SO_LINGER 0, close() sends RST and drops anything still unsent.
            std::thread::sleep(Duration::from_millis(20));
            let _ = socket2::SockRef::from(&out).set_linger(Some(Duration::ZERO));
        }
        _ if sent.is_ok() => {
            let _ = out.shutdown(Shutdown::Write);
        }
        _ => {}
    }
    // Dropping both halves closes the socket.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_from_target() {
        assert_eq!(repo_of("/v2/a/b/manifests/latest"), Some("a/b"));
        assert_eq!(repo_of("/v2/a/blobs/uploads/x?y=/manifests/"), Some("a"));
        assert_eq!(repo_of("/v2/a/tags/list?n=1"), Some("a"));
        assert_eq!(repo_of("/v2/"), None);
        assert_eq!(repo_of("/v2/_catalog"), None);
    }

    #[test]
    fn content_range_shift() {
        assert_eq!(
            shift_content_range("bytes 10-19/100").as_deref(),
            Some("bytes 11-20/100")
        );
        assert_eq!(
            shift_content_range("bytes 90-99/100").as_deref(),
            Some("bytes 89-98/100")
        );
        assert_eq!(
            shift_content_range("bytes 0-99/100").as_deref(),
            Some("bytes 1-99/100")
        );
        assert_eq!(
            shift_content_range("bytes 0-9/*").as_deref(),
            Some("bytes 1-10/*")
        );
        assert_eq!(shift_content_range("bytes */100"), None);
    }

    #[test]
    fn location_rewrite() {
        let up: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut h = vec![
            (
                "Location".to_string(),
                "http://127.0.0.1:5000/v2/a/blobs/uploads/u?x=1".to_string(),
            ),
            (
                "Location".to_string(),
                "http://127.0.0.1:50001/x".to_string(),
            ),
            ("Location".to_string(), "/v2/rel".to_string()),
        ];
        rewrite_location(&mut h, up, "127.0.0.1:6000");
        assert_eq!(h[0].1, "http://127.0.0.1:6000/v2/a/blobs/uploads/u?x=1");
        assert_eq!(h[1].1, "http://127.0.0.1:50001/x");
        assert_eq!(h[2].1, "/v2/rel");
    }
}
