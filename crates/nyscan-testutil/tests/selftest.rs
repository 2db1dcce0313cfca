//! Self-test of the real-registry test infrastructure: the registry, the fault proxy, the
//! token server. Tests that need `docker-registry`/`skopeo` print `SKIPPED: ...` and pass
//! when they are not installed.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use nyscan_testutil::client::{self, Response};
use nyscan_testutil::{
    Fault, FaultAction, FaultProxy, Skip, TestRegistry, TokenServer, fixtures, shared_dir, skip,
    skopeo_push,
};

const REPO: &str = "nydus/v6-merged";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MANIFEST_DIGEST: &str =
    "sha256:edd62b3bbb80fbeb7739000d2e6773d0f6391bb92fa6e639110be72790abbc13";
/// The 8102-byte Nydus blob layer of fixtures/oci/v6-merged.
const SMALL_BLOB: &str = "sha256:33ac1b29576298f3dc8a9fee02af205a157acf189d1aedddcc4ce7fb2384ddf2";

fn layout() -> PathBuf {
    fixtures().join("oci/v6-merged")
}

fn blob_bytes(digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(layout().join("blobs/sha256").join(hex)).unwrap()
}

fn blob_path(repo: &str, digest: &str) -> String {
    format!("/v2/{repo}/blobs/{digest}")
}

fn basic(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

/// A registry holding fixtures/oci/v6-merged as `nydus/v6-merged:latest`, or the reason
/// this machine cannot run the test.
fn registry_with_image() -> Result<TestRegistry, Skip> {
    let reg = TestRegistry::start()?;
    if !Path::new("/usr/bin/skopeo").exists() {
        return Err(Skip(
            "skopeo not installed (run ../shared/tools/install-peers.sh)".into(),
        ));
    }
    reg.push_layout(&layout(), &format!("{REPO}:latest"))
        .unwrap_or_else(|e| panic!("push_layout: {e}"));
    Ok(reg)
}

fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Response {
    client::request(addr, "GET", target, headers, &[])
        .unwrap_or_else(|e| panic!("GET http://{addr}{target}: {e}"))
}

/// What a client got on one connection, read until EOF or an error.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    error: Option<io::Error>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends a GET and reads everything until the server closes (or resets) the connection.
fn raw_get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Raw {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut error = None;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Raw {
            status: 0,
            headers: Vec::new(),
            body: data,
            error,
        };
    };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Raw {
        status,
        headers,
        body: data[end + 4..].to_vec(),
        error,
    }
}

/// The `"token"` string of a token-server answer (no JSON crate needed for this shape).
fn json_string_field(body: &[u8], field: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let key = format!("\"{field}\":\"");
    let start = text.find(&key)? + key.len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

#[test]
fn fixtures_and_shared_dirs() {
    assert!(
        layout().join("index.json").is_file(),
        "{}",
        layout().display()
    );
    if let Some(shared) = shared_dir() {
        assert!(shared.is_dir());
        assert!(shared.ends_with("shared"));
    }
}

#[test]
fn registry_serves_the_pushed_image() {
    let reg = match registry_with_image() {
        Ok(r) => r,
        Err(s) => return skip("registry_serves_the_pushed_image", &s),
    };
    assert_eq!(reg.host(), format!("127.0.0.1:{}", reg.addr().port()));

    let m = get(
        reg.addr(),
        &format!("/v2/{REPO}/manifests/latest"),
        &[("Accept", OCI_MANIFEST)],
    );
    assert_eq!(m.status, 200, "{}", String::from_utf8_lossy(&m.body));
    assert_eq!(m.header("Docker-Content-Digest"), Some(MANIFEST_DIGEST));
    assert_eq!(m.body, blob_bytes(MANIFEST_DIGEST), "manifest bytes kept");

    let full = blob_bytes(SMALL_BLOB);
    let r = get(
        reg.addr(),
        &blob_path(REPO, SMALL_BLOB),
        &[("Range", "bytes=100-199")],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 100-199/8102"));
    assert_eq!(r.body, full[100..200]);

    let h = client::request(reg.addr(), "HEAD", &blob_path(REPO, SMALL_BLOB), &[], &[]).unwrap();
    assert_eq!(h.status, 200);
    assert_eq!(h.header("Content-Length"), Some("8102"));
    assert!(h.body.is_empty());
}

#[test]
fn proxy_passes_through_and_injects_each_fault_once() {
    let reg = match registry_with_image() {
        Ok(r) => r,
        Err(s) => return skip("proxy_passes_through_and_injects_each_fault_once", &s),
    };
    let proxy = FaultProxy::start(reg.addr());
    assert_eq!(proxy.host(), proxy.addr().to_string());
    let full = blob_bytes(SMALL_BLOB);
    let path = blob_path(REPO, SMALL_BLOB);
    let range = [("Range", "bytes=100-199")];
    let ranged_ok = |what: &str| {
        let r = get(proxy.addr(), &path, &range);
        assert_eq!(r.status, 206, "{what}: pass-through after the fault");
        assert_eq!(
            r.header("Content-Range"),
            Some("bytes 100-199/8102"),
            "{what}"
        );
        assert_eq!(r.body, full[100..200], "{what}");
    };
    let fault = |action: FaultAction| Fault {
        method: Some("GET".into()),
        path_contains: SMALL_BLOB.into(),
        only_ranged: false,
        times: 1,
        action,
    };

    // Plain pass-through: manifest, ranged blob.
    let m = get(
        proxy.addr(),
        &format!("/v2/{REPO}/manifests/latest"),
        &[("Accept", OCI_MANIFEST)],
    );
    assert_eq!(m.status, 200);
    assert_eq!(m.header("Docker-Content-Digest"), Some(MANIFEST_DIGEST));
    ranged_ok("no fault");

    // Status faults: answered by the proxy, once.
    for (code, retry_after, error_code) in [
        (404, None, "BLOB_UNKNOWN"),
        (429, Some(7), "TOOMANYREQUESTS"),
        (500, None, "UNKNOWN"),
        (503, Some(1), "UNAVAILABLE"),
    ] {
        proxy.inject(fault(FaultAction::Status { code, retry_after }));
        let r = get(proxy.addr(), &path, &range);
        assert_eq!(r.status, code);
        assert_eq!(
            r.header("Retry-After"),
            retry_after.map(|s| s.to_string()).as_deref()
        );
        let body = String::from_utf8_lossy(&r.body);
        assert!(body.contains(error_code), "{code}: {body}");
        ranged_ok(&format!("status {code}"));
    }

    // ResetMidBody: head and part of the body, then a reset.
    proxy.inject(fault(FaultAction::ResetMidBody));
    let r = raw_get(proxy.addr(), &path, &[]);
    assert!(
        r.body.len() < full.len(),
        "reset: got {} bytes of {}",
        r.body.len(),
        full.len()
    );
    if r.status != 0 {
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Length"), Some("8102"));
        assert_eq!(r.body, full[..r.body.len()]);
    }
    eprintln!(
        "ResetMidBody: client got status {} and {} body bytes, then {:?}",
        r.status,
        r.body.len(),
        r.error.as_ref().map(io::Error::kind)
    );
    assert!(
        client::request(proxy.addr(), "GET", &path, &[], &[]).is_ok(),
        "after reset"
    );

    // ShortBody: full Content-Length, half the body, clean close.
    proxy.inject(fault(FaultAction::ShortBody));
    let r = raw_get(proxy.addr(), &path, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("8102"));
    assert_eq!(r.body, full[..full.len() / 2]);
    assert!(
        r.error.is_none(),
        "short body closes cleanly: {:?}",
        r.error
    );
    let e = client::request(proxy.addr(), "GET", &path, &[], &[]);
    assert!(e.is_ok(), "after short body: {e:?}");

    // IgnoreRange: the whole blob with 200.
    proxy.inject(fault(FaultAction::IgnoreRange));
    let r = get(proxy.addr(), &path, &range);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Range"), None);
    assert_eq!(r.body, full);
    ranged_ok("ignore range");

    // WrongContentRange: shifted header, same bytes.
    proxy.inject(fault(FaultAction::WrongContentRange));
    let r = get(proxy.addr(), &path, &range);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 101-200/8102"));
    assert_eq!(r.body, full[100..200]);
    ranged_ok("wrong content range");

    // FlipByte: one byte of the body inverted (and clamped to the body).
    proxy.inject(fault(FaultAction::FlipByte { at: 5 }));
    proxy.inject(fault(FaultAction::FlipByte { at: 1_000_000 }));
    let r = get(proxy.addr(), &path, &range);
    let mut want = full[100..200].to_vec();
    want[5] ^= 0xff;
    assert_eq!(r.body, want);
    let r = get(proxy.addr(), &path, &range);
    let mut want = full[100..200].to_vec();
    want[99] ^= 0xff;
    assert_eq!(r.body, want, "clamped to the last byte");
    ranged_ok("flip byte");

    // Filters: method, only_ranged, path; times > 1; clear().
    proxy.inject(Fault {
        method: Some("HEAD".into()),
        path_contains: SMALL_BLOB.into(),
        only_ranged: false,
        times: 1,
        action: FaultAction::Status {
            code: 500,
            retry_after: None,
        },
    });
    proxy.inject(Fault {
        method: None,
        path_contains: SMALL_BLOB.into(),
        only_ranged: true,
        times: 2,
        action: FaultAction::Status {
            code: 503,
            retry_after: None,
        },
    });
    assert_eq!(get(proxy.addr(), &path, &[]).status, 200, "unranged GET");
    assert_eq!(get(proxy.addr(), &path, &range).status, 503);
    assert_eq!(get(proxy.addr(), &path, &range).status, 503);
    ranged_ok("spent after two");
    let h = client::request(proxy.addr(), "HEAD", &path, &[], &[]).unwrap();
    assert_eq!(h.status, 500, "HEAD fault fires on HEAD");
    proxy.inject(Fault {
        method: None,
        path_contains: String::new(),
        only_ranged: false,
        times: 100,
        action: FaultAction::Status {
            code: 500,
            retry_after: None,
        },
    });
    assert_eq!(get(proxy.addr(), "/v2/", &[]).status, 500);
    proxy.clear();
    assert_eq!(get(proxy.addr(), "/v2/", &[]).status, 200);

    // The log: every request, in order, with what the client got.
    let log = proxy.requests();
    let statuses: Vec<u16> = log.iter().map(|l| l.status).collect();
    assert_eq!(statuses[..2], [200, 206]);
    assert_eq!(&statuses[statuses.len() - 2..], &[500, 200]);
    assert!(log.iter().all(|l| l.status != 0));
    let first_blob = &log[1];
    assert_eq!(first_blob.method, "GET");
    assert_eq!(first_blob.path, path);
    assert_eq!(first_blob.range.as_deref(), Some("bytes=100-199"));
    assert_eq!(first_blob.authorization, None);
}

#[test]
fn proxy_demands_a_bearer_token_from_the_token_server() {
    let reg = match registry_with_image() {
        Ok(r) => r,
        Err(s) => return skip("proxy_demands_a_bearer_token_from_the_token_server", &s),
    };
    // inner proxy: sees what the outer one forwards (to check the token is stripped).
    let inner = FaultProxy::start(reg.addr());
    let outer = FaultProxy::start(inner.addr());
    let tokens = TokenServer::start("alice", "s3cret", "tok-123");
    assert_eq!(tokens.realm(), format!("http://{}/token", tokens.addr()));
    outer.require_bearer(&tokens.realm(), "nyscan-test", "tok-123");

    let r = get(outer.addr(), "/v2/", &[]);
    assert_eq!(r.status, 401);
    let want = format!(
        "Bearer realm=\"{}\",service=\"nyscan-test\"",
        tokens.realm()
    );
    assert_eq!(r.header("WWW-Authenticate"), Some(want.as_str()));

    let manifest = format!("/v2/{REPO}/manifests/latest");
    let r = get(outer.addr(), &manifest, &[("Accept", OCI_MANIFEST)]);
    assert_eq!(r.status, 401);
    let challenge = r.header("WWW-Authenticate").unwrap().to_string();
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"{}\",service=\"nyscan-test\",scope=\"repository:{REPO}:pull\"",
            tokens.realm()
        )
    );

    // Fetch the token the way a client would: realm?service=..&scope=.. with Basic auth.
    let token_target = format!("/token?service=nyscan-test&scope=repository:{REPO}:pull");
    assert_eq!(get(tokens.addr(), &token_target, &[]).status, 401);
    let wrong = basic("alice", "nope");
    assert_eq!(
        get(tokens.addr(), &token_target, &[("Authorization", &wrong)]).status,
        401
    );
    let good = basic("alice", "s3cret");
    let t = get(tokens.addr(), &token_target, &[("Authorization", &good)]);
    assert_eq!(t.status, 200);
    let token = json_string_field(&t.body, "token").unwrap();
    assert_eq!(token, "tok-123");
    assert_eq!(
        json_string_field(&t.body, "access_token").unwrap(),
        "tok-123"
    );
    assert!(String::from_utf8_lossy(&t.body).contains("\"expires_in\":300"));
    assert!(tokens.requests().contains(&token_target));

    let bearer = format!("Bearer {token}");
    let bad = get(
        outer.addr(),
        &manifest,
        &[("Accept", OCI_MANIFEST), ("Authorization", "Bearer other")],
    );
    assert_eq!(bad.status, 401);
    let r = get(
        outer.addr(),
        &manifest,
        &[("Accept", OCI_MANIFEST), ("Authorization", &bearer)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Docker-Content-Digest"), Some(MANIFEST_DIGEST));
    let r = get(
        outer.addr(),
        &blob_path(REPO, SMALL_BLOB),
        &[("Range", "bytes=0-9"), ("Authorization", &bearer)],
    );
    assert_eq!(r.status, 206);

    // Faults still fire behind the bearer check, and only on accepted requests.
    outer.inject(Fault {
        method: None,
        path_contains: "/manifests/".into(),
        only_ranged: false,
        times: 1,
        action: FaultAction::Status {
            code: 429,
            retry_after: Some(1),
        },
    });
    assert_eq!(get(outer.addr(), &manifest, &[]).status, 401);
    assert_eq!(
        get(outer.addr(), &manifest, &[("Authorization", &bearer)]).status,
        429
    );

    let outer_log = outer.requests();
    assert!(
        outer_log
            .iter()
            .any(|l| l.authorization.as_deref() == Some(bearer.as_str()) && l.status == 200)
    );
    let inner_log = inner.requests();
    assert_eq!(inner_log.len(), 2, "only accepted requests reach upstream");
    assert!(inner_log.iter().all(|l| l.authorization.is_none()));

    // The POST form variant (OAuth2 password grant).
    let form = format!(
        "grant_type=password&username=alice&password=s3cret&service=nyscan-test&scope=repository%3A{}%3Apull",
        REPO.replace('/', "%2F")
    );
    let p = client::request(
        tokens.addr(),
        "POST",
        "/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )
    .unwrap();
    assert_eq!(p.status, 200);
    assert_eq!(
        json_string_field(&p.body, "access_token").unwrap(),
        "tok-123"
    );
    assert!(tokens.requests().contains(&format!("/token?{form}")));
}

#[test]
fn htpasswd_registry_requires_basic_auth() {
    let reg = match TestRegistry::start_with_htpasswd("bob", "pa:ss w0rd") {
        Ok(r) => r,
        Err(s) => return skip("htpasswd_registry_requires_basic_auth", &s),
    };
    let r = get(reg.addr(), "/v2/", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some("Basic realm=\"basic-realm\"")
    );
    let good = basic("bob", "pa:ss w0rd");
    assert_eq!(
        get(reg.addr(), "/v2/", &[("Authorization", &basic("bob", "x"))]).status,
        401
    );
    assert_eq!(
        get(reg.addr(), "/v2/", &[("Authorization", &good)]).status,
        200
    );

    if !Path::new("/usr/bin/skopeo").exists() {
        return skip(
            "htpasswd_registry_requires_basic_auth (push part)",
            &Skip("skopeo not installed".into()),
        );
    }
    reg.push_layout(&layout(), &format!("{REPO}:latest"))
        .unwrap_or_else(|e| panic!("push with creds: {e}"));
    let manifest = format!("/v2/{REPO}/manifests/latest");
    let accept = ("Accept", OCI_MANIFEST);
    assert_eq!(get(reg.addr(), &manifest, &[accept]).status, 401);
    let r = get(reg.addr(), &manifest, &[accept, ("Authorization", &good)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Docker-Content-Digest"), Some(MANIFEST_DIGEST));
}

#[test]
fn push_through_the_proxy_follows_rewritten_locations() {
    let reg = match TestRegistry::start() {
        Ok(r) => r,
        Err(s) => return skip("push_through_the_proxy_follows_rewritten_locations", &s),
    };
    if !Path::new("/usr/bin/skopeo").exists() {
        return skip(
            "push_through_the_proxy_follows_rewritten_locations",
            &Skip("skopeo not installed".into()),
        );
    }
    let proxy = FaultProxy::start(reg.addr());
    // A read-only shared layout when there is one, else ours.
    let src = shared_dir()
        .map(|s| s.join("fixtures/official/v6-zstd/oci"))
        .filter(|p| p.join("index.json").is_file())
        .unwrap_or_else(layout);
    skopeo_push(&src, &proxy.host(), "nydus/via-proxy:v1", None)
        .unwrap_or_else(|e| panic!("push through proxy: {e}"));
    let log = proxy.requests();
    let uploads: Vec<_> = log
        .iter()
        .filter(|l| l.path.contains("/blobs/uploads/"))
        .collect();
    assert!(
        uploads.iter().any(|l| l.method == "POST"),
        "upload started through the proxy: {log:#?}"
    );
    assert!(
        uploads
            .iter()
            .any(|l| l.method == "PUT" || l.method == "PATCH"),
        "the upload Location pointed back at the proxy: {log:#?}"
    );
    assert!(log.iter().all(|l| l.status < 500), "{log:#?}");
    let r = get(
        reg.addr(),
        "/v2/nydus/via-proxy/manifests/v1",
        &[("Accept", OCI_MANIFEST)],
    );
    assert_eq!(r.status, 200);
    let methods: Vec<&str> = log.iter().map(|l| l.method.as_str()).collect();
    eprintln!("skopeo push through the proxy: {methods:?}");
}

#[test]
fn proxy_without_upstream_answers_502_and_drops_tls_probes() {
    // A port with nothing listening: bind, note, release.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let proxy = FaultProxy::start(dead);
    let r = get(proxy.addr(), "/v2/", &[]);
    assert_eq!(r.status, 502);
    assert_eq!(proxy.requests()[0].status, 502);

    // A TLS ClientHello on the plain port is closed at once, not left to time out.
    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        .unwrap();
    let t0 = Instant::now();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(t0.elapsed() < Duration::from_secs(4));
    assert_eq!(proxy.requests().len(), 1, "not an HTTP request: not logged");

    // Dropping the proxy stops it.
    let addr = proxy.addr();
    drop(proxy);
    let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err();
    assert!(refused, "proxy still accepting after drop");
}

#[test]
fn token_server_checks_credentials() {
    let tokens = TokenServer::start("u", "p\"w", "t\"ok");
    let target = "/token?service=s&scope=repository:a/b:pull";
    assert_eq!(get(tokens.addr(), target, &[]).status, 401);
    let r = get(
        tokens.addr(),
        target,
        &[("Authorization", &basic("u", "p\"w"))],
    );
    assert_eq!(r.status, 200);
    assert!(
        String::from_utf8_lossy(&r.body).contains(r#""token":"t\"ok""#),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        get(
            tokens.addr(),
            "/other",
            &[("Authorization", &basic("u", "p\"w"))]
        )
        .status,
        404
    );
    assert_eq!(
        tokens.requests(),
        vec![target.to_string(), target.to_string(), "/other".to_string()]
    );
}

/// Sends raw request bytes and reads until close: the interim (1xx) statuses, then the
/// final response.
fn raw_exchange(addr: SocketAddr, request: &[u8]) -> (Vec<u16>, Raw) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut data = Vec::new();
    let error = s.read_to_end(&mut data).err();
    let mut interim = Vec::new();
    let mut rest = &data[..];
    loop {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&data)));
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if (100..200).contains(&status) {
            interim.push(status);
            rest = &rest[end + 4..];
            continue;
        }
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let body = rest[end + 4..].to_vec();
        return (
            interim,
            Raw {
                status,
                headers,
                body,
                error,
            },
        );
    }
}

#[test]
fn chunked_upload_through_the_proxy() {
    let reg = match TestRegistry::start() {
        Ok(r) => r,
        Err(s) => return skip("chunked_upload_through_the_proxy", &s),
    };
    let proxy = FaultProxy::start(reg.addr());
    let data = blob_bytes(SMALL_BLOB);
    let start =
        client::request(proxy.addr(), "POST", "/v2/up/load/blobs/uploads/", &[], &[]).unwrap();
    assert_eq!(start.status, 202);
    let prefix = format!("http://{}", proxy.host());
    let location = start.header("Location").unwrap();
    let target = location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("Location {location} does not point at the proxy"));

    // PATCH with a chunked body (three chunks, one with an extension) and Expect.
    let mut req = format!(
        "PATCH {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/octet-stream\r\n\
         Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        proxy.host()
    )
    .into_bytes();
    for (i, piece) in [&data[..1000], &data[1000..5000], &data[5000..]]
        .iter()
        .enumerate()
    {
        let ext = if i == 1 { ";x=y" } else { "" };
        req.extend_from_slice(format!("{:x}{ext}\r\n", piece.len()).as_bytes());
        req.extend_from_slice(piece);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let (interim, patched) = raw_exchange(proxy.addr(), &req);
    assert_eq!(interim, [100]);
    assert_eq!(patched.status, 202, "{patched:?}");
    let next = patched.header("Location").unwrap();
    let next_target = next
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("Location {next} does not point at the proxy"));
    let sep = if next_target.contains('?') { '&' } else { '?' };
    let put = client::request(
        proxy.addr(),
        "PUT",
        &format!(
            "{next_target}{sep}digest={}",
            SMALL_BLOB.replace(':', "%3A")
        ),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(put.status, 201, "{}", String::from_utf8_lossy(&put.body));
    let got = get(reg.addr(), &blob_path("up/load", SMALL_BLOB), &[]);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, data, "the registry stored the de-chunked bytes");
}
