//! [`TokenServer`]: a tiny registry token endpoint (the "realm" of a bearer challenge).

use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use crate::http;
use crate::server::{Server, lock};

#[derive(Debug)]
struct Shared {
    user: String,
    password: String,
    token: String,
    requests: Mutex<Vec<String>>,
}

/// A token endpoint on `127.0.0.1:<free port>`: `GET /token?service=..&scope=..` (or a
/// `POST /token` form) with `Authorization: Basic base64(user:password)` answers 200
/// `{"token": TOKEN, "access_token": TOKEN, "expires_in": 300}`; wrong or missing
/// credentials get 401. A POST form carrying `username` and `password` fields (the OAuth2
/// password grant) is accepted as credentials too. Stops when dropped.
#[derive(Debug)]
pub struct TokenServer {
    shared: Arc<Shared>,
    server: Server,
}

impl TokenServer {
    /// Starts the server. Panics if it cannot bind a loopback port.
    pub fn start(user: &str, password: &str, token: &str) -> TokenServer {
        let shared = Arc::new(Shared {
            user: user.to_string(),
            password: password.to_string(),
            token: token.to_string(),
            requests: Mutex::new(Vec::new()),
        });
        let handler_shared = Arc::clone(&shared);
        let server = Server::start("token-server", move |s| handle(&handler_shared, s))
            .expect("TokenServer: bind 127.0.0.1:0");
        TokenServer { shared, server }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The realm URL for a bearer challenge: `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.server.addr())
    }

    /// The request targets seen (path and query), in order. For a POST with a form body
    /// the body is appended as a query (`/token?grant_type=...`).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.requests).clone()
    }
}

/// Decodes `application/x-www-form-urlencoded` / query text into pairs.
fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (url_decode(k), url_decode(v))
        })
        .collect()
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn basic_ok(shared: &Shared, value: Option<&str>) -> bool {
    let Some((scheme, b64)) = value.and_then(|v| v.split_once(' ')) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    raw == format!("{}:{}", shared.user, shared.password).as_bytes()
}

fn handle(shared: &Shared, client: TcpStream) {
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = client;
    let Ok(Some(head)) = http::read_head(&mut reader) else {
        return;
    };
    let json = ("Content-Type", "application/json".to_string());
    let Some((method, target)) = http::parse_request_line(&head.line) else {
        let _ = http::write_response(
            &mut out,
            400,
            &[json],
            b"{\"error\":\"bad request\"}",
            false,
        );
        return;
    };
    let body = match http::request_framing(&head) {
        Ok(f) => http::read_body(&mut reader, f),
        Err(_) => http::Body::default(),
    };
    let form_text = if method.eq_ignore_ascii_case("POST") && !body.data.is_empty() {
        String::from_utf8_lossy(&body.data).trim().to_string()
    } else {
        String::new()
    };
    let logged = if form_text.is_empty() {
        target.clone()
    } else if target.contains('?') {
        format!("{target}&{form_text}")
    } else {
        format!("{target}?{form_text}")
    };
    lock(&shared.requests).push(logged);

    let head_only = method.eq_ignore_ascii_case("HEAD");
    let path = target.split('?').next().unwrap_or("");
    if path != "/token" {
        let _ = http::write_response(
            &mut out,
            404,
            &[json],
            b"{\"error\":\"not found\"}",
            head_only,
        );
        return;
    }
    if !(method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("POST")) {
        let _ = http::write_response(
            &mut out,
            405,
            &[json, ("Allow", "GET, POST".to_string())],
            b"{\"error\":\"method not allowed\"}",
            head_only,
        );
        return;
    }
    let form = form_pairs(&form_text);
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let form_ok = field("username") == Some(shared.user.as_str())
        && field("password") == Some(shared.password.as_str());
    if !(basic_ok(shared, head.header("authorization")) || form_ok) {
        let _ = http::write_response(
            &mut out,
            401,
            &[
                json,
                (
                    "WWW-Authenticate",
                    "Basic realm=\"nyscan-testutil token server\"".to_string(),
                ),
            ],
            b"{\"error\":\"unauthorized\",\"details\":\"wrong or missing credentials\"}",
            false,
        );
        return;
    }
    let token = http::json_escape(&shared.token);
    let body = format!("{{\"token\":\"{token}\",\"access_token\":\"{token}\",\"expires_in\":300}}");
    let _ = http::write_response(&mut out, 200, &[json], body.as_bytes(), false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoding() {
        assert_eq!(url_decode("a%3Ab+c%2"), "a:b c%2");
        assert_eq!(
            form_pairs("scope=repository%3Aa%2Fb%3Apull&x"),
            vec![
                ("scope".to_string(), "repository:a/b:pull".to_string()),
                ("x".to_string(), String::new())
            ]
        );
    }
}
