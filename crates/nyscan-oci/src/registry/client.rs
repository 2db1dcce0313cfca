//! The client: options, the request loop (authentication, manual redirects, retries) and the
//! read operations.

use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::blocking::Response;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderName,
    HeaderValue, LOCATION, RANGE, RETRY_AFTER,
};
use reqwest::{Method, Url};
use sha2::{Digest, Sha256};

use super::auth::{AuthState, Sent};
use super::credentials::{self, Credentials, HostCredentials};
use super::error::{Operation, RegistryError, invalid};
use super::parse;
use crate::manifest::{
    ImageManifest, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST, ManifestOrIndex, Platform, sha256_hex,
};
use crate::source::RegistryRef;

/// Largest manifest or index accepted (pushed or fetched).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;
/// Largest image config blob [`RegistryClient::fetch_config`] accepts.
pub const MAX_CONFIG_SIZE: u64 = 16 << 20;
/// Largest single range [`RegistryClient::blob_range`] reads.
pub const MAX_RANGE_LEN: u64 = 1 << 30;
/// How much of an error response body is read (for its error codes).
const MAX_ERROR_BODY: u64 = 64 << 10;
/// The header in which registries give a manifest's or blob's digest.
pub(super) const DOCKER_CONTENT_DIGEST: HeaderName =
    HeaderName::from_static("docker-content-digest");
/// Redirects followed per request.
pub(super) const MAX_REDIRECTS: u32 = 5;
/// Slowest upload rate (bytes/s) a request body is given time for.
const UPLOAD_RATE_FLOOR: u64 = 256 << 10;

/// The `Accept` header of manifest requests: OCI and Docker v2 manifests and indexes.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// How a [`RegistryClient`] connects, authenticates and retries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Plain HTTP instead of HTTPS. `None` (the default): plain HTTP for loopback hosts
    /// (`127.0.0.0/8`, `localhost`, `[::1]`), HTTPS for every other host.
    pub plain_http: Option<bool>,
    /// Skip TLS certificate and host name verification. Dangerous: callers should warn.
    pub insecure: bool,
    /// Where credentials come from (docker's `config.json` by default).
    pub credentials: Credentials,
    /// Retries of a request after a transient failure (429, 5xx, connection failure, a
    /// response cut short); 4 by default.
    pub max_retries: u32,
    /// Timeout for connecting, for the response headers, and for each read of a body (an
    /// inactivity timeout, so large bodies are not cut off); 30 s by default. Requests with a
    /// body get more time to send it (at 256 KiB/s).
    pub timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// First backoff delay before a retry (doubled for each retry); 100 ms by default.
    pub backoff_initial: Duration,
    /// Largest backoff delay; 5 s by default.
    pub backoff_max: Duration,
    /// Largest wait a `Retry-After` header can impose; 30 s by default.
    pub retry_after_max: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            plain_http: None,
            insecure: false,
            credentials: Credentials::default(),
            max_retries: 4,
            timeout: Duration::from_secs(30),
            user_agent: concat!("nyscan/", env!("CARGO_PKG_VERSION")).to_owned(),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            retry_after_max: Duration::from_secs(30),
        }
    }
}

/// An image manifest resolved from a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The repository.
    pub repository: String,
    /// Digest of the image manifest (of its exact bytes).
    pub manifest_digest: String,
    /// Media type of the manifest, from the response or the index entry.
    pub media_type: Option<String>,
    /// The image manifest.
    pub manifest: ImageManifest,
    /// The manifest's bytes as served (what [`Self::manifest_digest`] is the digest of).
    pub manifest_bytes: Vec<u8>,
    /// Digest of the index the manifest was selected from, when the reference named an
    /// index.
    pub index_digest: Option<String>,
    /// The image config blob, once [`RegistryClient::fetch_config`] has fetched it.
    pub config: Option<Vec<u8>>,
}

/// A manifest or index document as fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// The bytes as served.
    pub bytes: Vec<u8>,
    /// The response's `Content-Type`, when it is a manifest or index media type.
    pub media_type: Option<String>,
    /// The sha256 digest of the bytes.
    pub digest: String,
}

/// A synchronous OCI distribution client for one registry host.
///
/// Cheap to clone (clones share connections and cached tokens); `Send + Sync`. Requests
/// start anonymous and answer `401` challenges (Basic, or Bearer tokens fetched from the
/// challenge's realm and cached per scope); redirects are followed by hand, and the
/// registry's `Authorization` header is never sent to another host. Transient failures are
/// retried with exponential backoff, honouring `Retry-After`.
///
/// The client runs its own background thread (reqwest's blocking client); do not create or
/// drop it inside an async runtime.
#[derive(Clone)]
pub struct RegistryClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) host: String,
    pub(super) base: Url,
    pub(super) plain_http: bool,
    pub(super) http: reqwest::blocking::Client,
    pub(super) creds: HostCredentials,
    max_retries: u32,
    timeout: Duration,
    backoff_initial: Duration,
    backoff_max: Duration,
    retry_after_max: Duration,
    pub(super) auth: Mutex<AuthState>,
    pub(super) token_fetch: Mutex<()>,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base", &self.inner.base.as_str())
            .field("credentials", &self.inner.creds)
            .field("max_retries", &self.inner.max_retries)
            .finish_non_exhaustive()
    }
}

/// How one attempt failed: worth retrying (after an optional server-given delay) or not.
pub(super) enum Failure {
    Retry {
        err: RegistryError,
        after: Option<Duration>,
    },
    Fatal(RegistryError),
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Self {
        Failure::Fatal(e)
    }
}

/// One logical request, replayable (for retries, auth rounds and redirects).
pub(super) struct Req {
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<Bytes>,
    /// Token scopes (`repository:NAME:pull`...).
    pub(super) scopes: Vec<String>,
}

impl Req {
    pub(super) fn new(method: Method, url: Url, scopes: Vec<String>) -> Req {
        Req {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            scopes,
        }
    }

    pub(super) fn header(mut self, name: HeaderName, value: &str) -> Req {
        // Values are built by this module from validated parts; one that is not a valid
        // header value is dropped rather than panicking.
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    pub(super) fn body(mut self, body: Bytes) -> Req {
        self.body = Some(body);
        self
    }
}

/// `repository:NAME:pull`.
pub(super) fn pull_scope(repo: &str) -> Vec<String> {
    vec![format!("repository:{repo}:pull")]
}

/// `repository:NAME:pull,push`.
pub(super) fn push_scope(repo: &str) -> Vec<String> {
    vec![format!("repository:{repo}:pull,push")]
}

/// `sha256:` and the hex digest of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Checks a repository name: lowercase path components of `[a-z0-9._-]`.
pub(super) fn check_repo(repo: &str) -> Result<(), RegistryError> {
    let ok = !repo.is_empty()
        && repo.len() <= 255
        && repo.split('/').all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "repository",
            repo,
            "expected lowercase path components of [a-z0-9._-]",
        ))
    }
}

/// Checks a `sha256:` digest.
pub(super) fn check_digest(digest: &str) -> Result<(), RegistryError> {
    sha256_hex(digest).map(|_| ()).map_err(|_| {
        invalid(
            "digest",
            digest,
            "expected sha256: and 64 lowercase hex digits",
        )
    })
}

/// Checks a tag or a digest.
pub(super) fn check_reference(reference: &str) -> Result<(), RegistryError> {
    if reference.contains(':') {
        return check_digest(reference);
    }
    let ok = !reference.is_empty()
        && reference.len() <= 128
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !reference.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "tag",
            reference,
            "expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
        ))
    }
}

pub(super) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

pub(super) fn is_loopback_host(host: &str) -> bool {
    RegistryRef {
        registry: host.to_owned(),
        repository: String::new(),
        tag: None,
        digest: None,
    }
    .is_loopback()
}

/// A header as a string, if present and visible ASCII.
pub(super) fn header_str(resp: &Response, name: HeaderName) -> Option<&str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `Content-Length` header (read from the headers: reqwest reports 0 for HEAD).
pub(super) fn content_length(resp: &Response) -> Option<u64> {
    header_str(resp, CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
}

/// Reads at most `max + 1` bytes of a body (one more than allowed, so that the caller can
/// tell a body that is too long); a broken connection is a retryable failure.
fn read_at_most(
    op: &Operation,
    resp: &mut Response,
    max: u64,
    capacity: u64,
) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::with_capacity(capacity as usize);
    resp.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|source| Failure::Retry {
            err: RegistryError::Body {
                op: op.clone().into(),
                source,
            },
            after: None,
        })?;
    Ok(buf)
}

/// Reads a body of at most `limit` bytes.
pub(super) fn read_body(
    op: &Operation,
    mut resp: Response,
    limit: u64,
) -> Result<Vec<u8>, Failure> {
    if content_length(&resp).is_some_and(|n| n > limit) {
        return Err(Failure::Fatal(RegistryError::TooLarge {
            op: op.clone().into(),
            limit,
        }));
    }
    let hint = content_length(&resp).unwrap_or(0).min(limit).min(64 << 20);
    let buf = read_at_most(op, &mut resp, limit, hint)?;
    if buf.len() as u64 > limit {
        return Err(Failure::Fatal(RegistryError::TooLarge {
            op: op.clone().into(),
            limit,
        }));
    }
    Ok(buf)
}

/// Turns a response with an unexpected status into a failure: 404 not found, 401/403 auth,
/// 416 out of range, 429 and 5xx retried (with `Retry-After`), anything else fatal.
pub(super) fn status_failure(op: &Operation, resp: Response) -> Failure {
    let status = resp.status().as_u16();
    let op = op.clone();
    if status == 416 {
        // docker-registry announces the whole blob's length on a 416: the body is not read.
        let size = header_str(&resp, CONTENT_RANGE)
            .and_then(parse::parse_content_range)
            .and_then(|c| c.total);
        return Failure::Fatal(RegistryError::OutOfRange {
            op: op.into(),
            size,
        });
    }
    let after = header_str(&resp, RETRY_AFTER).and_then(parse::parse_retry_after);
    let body = read_error_body(resp);
    let detail = parse::error_detail(&body);
    match status {
        404 => Failure::Fatal(RegistryError::NotFound {
            op: op.into(),
            detail,
        }),
        401 => Failure::Fatal(RegistryError::Unauthorized {
            op: op.into(),
            reason: if detail.is_empty() {
                "HTTP 401".to_owned()
            } else {
                format!("HTTP 401: {detail}")
            },
        }),
        403 => Failure::Fatal(RegistryError::Denied {
            op: op.into(),
            detail,
        }),
        429 | 500 | 502..=504 | 506..=599 => Failure::Retry {
            err: RegistryError::Status {
                op: op.into(),
                status,
                detail,
            },
            after,
        },
        _ => Failure::Fatal(RegistryError::Status {
            op: op.into(),
            status,
            detail,
        }),
    }
}

/// The first 64 KiB of an error body; read errors just end it.
pub(super) fn read_error_body(mut resp: Response) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = (&mut resp).take(MAX_ERROR_BODY).read_to_end(&mut buf);
    buf
}

/// Resolves a `Location` header (absolute, or relative to the response's URL).
pub(super) fn location(op: &Operation, resp: &Response) -> Result<Url, Failure> {
    let bad = |reason: String| {
        Failure::Fatal(RegistryError::InvalidResponse {
            op: op.clone().into(),
            reason,
        })
    };
    let loc = header_str(resp, LOCATION).ok_or_else(|| {
        bad(format!(
            "HTTP {} without a Location header",
            resp.status().as_u16()
        ))
    })?;
    let url = resp
        .url()
        .join(loc)
        .map_err(|e| bad(format!("bad Location {loc:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("Location {loc:?} is not an http(s) URL")));
    }
    Ok(url)
}

impl RegistryClient {
    /// A client for `host` (`HOST[:PORT]`, as in [`RegistryRef::registry`]). Reads the
    /// credentials (docker's `config.json` by default) now.
    pub fn new(host: &str, options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let bad_host = |reason: &str| invalid("registry host", host, reason);
        if host.is_empty()
            || host
                .bytes()
                .any(|b| matches!(b, b'/' | b'@' | b'?' | b'#' | b'\\') || !b.is_ascii_graphic())
        {
            return Err(bad_host(
                "expected HOST[:PORT], without a scheme, path or user",
            ));
        }
        let plain_http = options.plain_http.unwrap_or_else(|| is_loopback_host(host));
        let scheme = if plain_http { "http" } else { "https" };
        // Docker Hub's API is not served on the names images use.
        let api_host = match host {
            "docker.io" | "index.docker.io" => "registry-1.docker.io",
            h => h,
        };
        let base = Url::parse(&format!("{scheme}://{api_host}/"))
            .map_err(|e| bad_host(&format!("not a valid host: {e}")))?;
        if base.host_str().is_none_or(str::is_empty) || base.path() != "/" {
            return Err(bad_host("not a valid host"));
        }
        let creds = credentials::resolve(&options.credentials, host)?;
        let mut builder = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(options.user_agent.clone())
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .referer(false);
        if options.insecure {
            builder = builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        let http = builder.build().map_err(RegistryError::ClientSetup)?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                host: host.to_owned(),
                base,
                plain_http,
                http,
                creds,
                max_retries: options.max_retries,
                timeout: options.timeout,
                backoff_initial: options.backoff_initial,
                backoff_max: options.backoff_max,
                retry_after_max: options.retry_after_max,
                auth: Mutex::new(AuthState::default()),
                token_fetch: Mutex::new(()),
            }),
        })
    }

    /// A client for the registry of `reference`.
    pub fn for_ref(
        reference: &RegistryRef,
        options: ClientOptions,
    ) -> Result<RegistryClient, RegistryError> {
        RegistryClient::new(&reference.registry, options)
    }

    /// The registry host (`HOST[:PORT]`).
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// True when the client speaks plain HTTP.
    pub fn is_plain_http(&self) -> bool {
        self.inner.plain_http
    }

    pub(super) fn op(&self, action: &'static str, repo: &str) -> Operation {
        Operation::new(action, &self.inner.host, repo)
    }

    pub(super) fn url(&self, path: &str) -> Result<Url, RegistryError> {
        self.inner
            .base
            .join(path)
            .map_err(|e| invalid("request path", path, e.to_string()))
    }

    pub(super) fn blob_url(&self, repo: &str, digest: &str) -> Result<Url, RegistryError> {
        self.url(&format!("/v2/{repo}/blobs/{digest}"))
    }

    // ----- retries -----

    /// Runs `attempt` until it succeeds, fails fatally, or `max_retries` retries are spent,
    /// sleeping between attempts. The error returned records how many attempts were made.
    pub(super) fn retrying<T>(
        &self,
        mut attempt: impl FnMut(u32) -> Result<T, Failure>,
    ) -> Result<T, RegistryError> {
        let mut n = 1u32;
        loop {
            match attempt(n) {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(mut err)) => {
                    if let Some(op) = err.operation_mut() {
                        op.attempts = n;
                    }
                    return Err(err);
                }
                Err(Failure::Retry { mut err, after }) => {
                    if n > self.inner.max_retries {
                        if let Some(op) = err.operation_mut() {
                            op.attempts = n;
                        }
                        return Err(err);
                    }
                    std::thread::sleep(self.delay(n, after));
                    n += 1;
                }
            }
        }
    }

    /// The wait before retry `n` (1-based): `Retry-After` (capped), else exponential backoff
    /// with jitter.
    fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.inner.retry_after_max);
        }
        let exp = self
            .inner
            .backoff_initial
            .saturating_mul(1u32 << (n - 1).min(20))
            .min(self.inner.backoff_max);
        // Half fixed, half random, so that threads retrying together spread out.
        let half = exp / 2;
        half + half.mul_f64(jitter())
    }

    // ----- sending -----

    /// Sends `req`: adds the authorisation, answers 401 challenges and follows redirects by
    /// hand (without the registry's credentials when the target is another host). Status
    /// codes other than 401 and 3xx are the caller's to judge.
    pub(super) fn send(&self, op: &Operation, req: &Req) -> Result<Response, Failure> {
        let mut url = req.url.clone();
        let mut method = req.method.clone();
        let mut body = req.body.clone();
        let mut fresh: Option<String> = None;
        let mut auth_rounds = 0u32;
        let mut redirects = 0u32;
        loop {
            let on_registry = same_origin(&url, &self.inner.base);
            let mut rb = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .headers(req.headers.clone());
            if let Some(b) = &body {
                // reqwest's timeout covers sending the body: allow for it at 256 KiB/s.
                let upload = Duration::from_secs(b.len() as u64 / UPLOAD_RATE_FLOOR);
                rb = rb
                    .timeout(self.inner.timeout.saturating_add(upload))
                    .body(b.clone());
            }
            let sent = if on_registry {
                let (value, sent) = match fresh.take() {
                    Some(t) => (Some(format!("Bearer {t}")), Sent::FreshBearer),
                    None => self.authorization(op, &req.scopes)?,
                };
                if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    rb = rb.header(AUTHORIZATION, v);
                }
                sent
            } else {
                Sent::None
            };
            let resp = rb.send().map_err(|source| Failure::Retry {
                err: RegistryError::Transport {
                    op: op.clone().into(),
                    source,
                },
                after: None,
            })?;
            let status = resp.status().as_u16();
            if status == 401 && on_registry {
                auth_rounds += 1;
                if auth_rounds > 3 {
                    return Err(Failure::Fatal(RegistryError::Unauthorized {
                        op: op.clone().into(),
                        reason: "still HTTP 401 after three rounds of authentication".to_owned(),
                    }));
                }
                fresh = self.on_unauthorized(op, &resp, &req.scopes, sent)?;
                continue;
            }
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(Failure::Fatal(RegistryError::InvalidResponse {
                        op: op.clone().into(),
                        reason: format!("more than {MAX_REDIRECTS} redirects"),
                    }));
                }
                url = location(op, &resp)?;
                if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                    method = Method::GET;
                    body = None;
                }
                continue;
            }
            return Ok(resp);
        }
    }

    // ----- reads -----

    /// Fetches a manifest or index by tag or digest. A manifest fetched by digest must hash to
    /// it; one fetched by tag must hash to the `Docker-Content-Digest` the registry sends.
    pub fn fetch_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        check_repo(repo)?;
        check_reference(reference)?;
        let op = self.op("fetch manifest", repo).reference(reference);
        let req = Req::new(
            Method::GET,
            self.url(&format!("/v2/{repo}/manifests/{reference}"))?,
            pull_scope(repo),
        )
        .header(ACCEPT, MANIFEST_ACCEPT);
        self.retrying(|_| {
            let resp = self.send(&op, &req)?;
            if resp.status().as_u16() != 200 {
                return Err(status_failure(&op, resp));
            }
            let media_type = header_str(&resp, CONTENT_TYPE)
                .map(|v| v.split(';').next().unwrap_or("").trim().to_owned())
                .filter(|m| {
                    [
                        MEDIA_TYPE_OCI_MANIFEST,
                        MEDIA_TYPE_OCI_INDEX,
                        MEDIA_TYPE_DOCKER_MANIFEST,
                        MEDIA_TYPE_DOCKER_LIST,
                    ]
                    .contains(&m.as_str())
                });
            let served = header_str(&resp, DOCKER_CONTENT_DIGEST).map(str::to_owned);
            let bytes = read_body(&op, resp, MAX_MANIFEST_SIZE)?;
            let digest = sha256_digest(&bytes);
            let expected = if reference.contains(':') {
                Some(reference.to_owned())
            } else {
                served.filter(|d| d.starts_with("sha256:"))
            };
            if let Some(expected) = expected
                && expected != digest
            {
                return Err(Failure::Fatal(RegistryError::DigestMismatch {
                    op: op.clone().into(),
                    expected,
                    actual: digest,
                }));
            }
            Ok(FetchedManifest {
                bytes,
                media_type,
                digest,
            })
        })
    }

    /// Resolves a tag or digest to the Nydus image manifest for `platform`: an index is
    /// followed to the entry [`crate::manifest::ImageIndex::select_nydus`] picks.
    pub fn resolve(
        &self,
        repo: &str,
        reference: &str,
        platform: &Platform,
    ) -> Result<ResolvedImage, RegistryError> {
        let mut fetched = self.fetch_manifest(repo, reference)?;
        let mut index_digest = None;
        let mut entry_media_type: Option<String> = None;
        let mut current_ref = reference.to_owned();
        // An index may point to another index; three levels is more than any tool writes.
        for _ in 0..4 {
            let media_type = fetched.media_type.clone().or(entry_media_type.clone());
            let op = self.op("parse manifest", repo).reference(&current_ref);
            let doc = ManifestOrIndex::parse(&fetched.bytes, media_type.as_deref()).map_err(
                |source| RegistryError::Manifest {
                    op: op.into(),
                    source,
                },
            )?;
            match doc {
                ManifestOrIndex::Manifest(manifest) => {
                    return Ok(ResolvedImage {
                        repository: repo.to_owned(),
                        manifest_digest: fetched.digest,
                        media_type,
                        manifest,
                        manifest_bytes: fetched.bytes,
                        index_digest,
                        config: None,
                    });
                }
                ManifestOrIndex::Index(index) => {
                    let entry = index.select_nydus(platform)?.clone();
                    index_digest.get_or_insert(fetched.digest.clone());
                    check_digest(&entry.digest)?;
                    fetched = self.fetch_manifest(repo, &entry.digest)?;
                    if fetched.bytes.len() as u64 != entry.size {
                        return Err(RegistryError::InvalidResponse {
                            op: self
                                .op("fetch manifest", repo)
                                .reference(&entry.digest)
                                .into(),
                            reason: format!(
                                "the index says {} bytes, the registry served {}",
                                entry.size,
                                fetched.bytes.len()
                            ),
                        });
                    }
                    entry_media_type = Some(entry.media_type.clone()).filter(|m| !m.is_empty());
                    current_ref = entry.digest;
                }
            }
        }
        Err(RegistryError::InvalidResponse {
            op: self.op("resolve", repo).reference(reference).into(),
            reason: "indexes nested more than three deep".to_owned(),
        })
    }

    /// Fetches the config blob of a resolved image (verified, at most 16 MiB) into
    /// [`ResolvedImage::config`], and returns it.
    pub fn fetch_config<'a>(
        &self,
        image: &'a mut ResolvedImage,
    ) -> Result<&'a [u8], RegistryError> {
        if image.config.is_none() {
            let desc = &image.manifest.config;
            if desc.size > MAX_CONFIG_SIZE {
                return Err(RegistryError::TooLarge {
                    op: self
                        .op("fetch config", &image.repository)
                        .reference(&desc.digest)
                        .into(),
                    limit: MAX_CONFIG_SIZE,
                });
            }
            let bytes = self.fetch_blob(&image.repository, &desc.digest, desc.size)?;
            image.config = Some(bytes);
        }
        Ok(image.config.as_deref().unwrap_or_default())
    }

    /// The size of a blob (`HEAD`, `Content-Length`).
    pub fn blob_size(&self, repo: &str, digest: &str) -> Result<u64, RegistryError> {
        self.stat_blob(repo, digest, pull_scope(repo))
    }

    /// `HEAD` of a blob with the token scopes of the operation it is part of.
    pub(super) fn stat_blob(
        &self,
        repo: &str,
        digest: &str,
        scopes: Vec<String>,
    ) -> Result<u64, RegistryError> {
        check_repo(repo)?;
        check_digest(digest)?;
        let op = self.op("stat blob", repo).reference(digest);
        let req = Req::new(Method::HEAD, self.blob_url(repo, digest)?, scopes);
        self.retrying(|_| {
            let resp = self.send(&op, &req)?;
            if resp.status().as_u16() != 200 {
                return Err(status_failure(&op, resp));
            }
            content_length(&resp).ok_or_else(|| {
                Failure::Fatal(RegistryError::InvalidResponse {
                    op: op.clone().into(),
                    reason: "HEAD response without a Content-Length".to_owned(),
                })
            })
        })
    }

    /// True if the repository has the blob (`HEAD`; 404 is `false`).
    pub fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool, RegistryError> {
        match self.blob_size(repo, digest) {
            Ok(_) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Fetches a whole blob of at most `max_size` bytes and checks its sha256.
    pub fn fetch_blob(
        &self,
        repo: &str,
        digest: &str,
        max_size: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        check_repo(repo)?;
        check_digest(digest)?;
        let op = self.op("fetch blob", repo).reference(digest);
        let req = Req::new(Method::GET, self.blob_url(repo, digest)?, pull_scope(repo));
        self.retrying(|_| {
            let resp = self.send(&op, &req)?;
            if resp.status().as_u16() != 200 {
                return Err(status_failure(&op, resp));
            }
            let bytes = read_body(&op, resp, max_size)?;
            let actual = sha256_digest(&bytes);
            if actual != digest {
                // Not retried: a registry that serves wrong content usually stores it.
                return Err(Failure::Fatal(RegistryError::DigestMismatch {
                    op: op.clone().into(),
                    expected: digest.to_owned(),
                    actual,
                }));
            }
            Ok(bytes)
        })
    }

    /// Reads `len` bytes at `offset` of a blob with `Range: bytes=FIRST-LAST`.
    ///
    /// Only a 206 whose `Content-Range` is exactly the range and whose body is exactly `len`
    /// bytes is accepted. A wrong `Content-Range`, a short body or a connection cut
    /// mid-body is retried; a 200 (the registry ignored the Range header) is retried once,
    /// then is a [`RegistryError::RangeIgnored`]; a range past the blob's end is a
    /// [`RegistryError::OutOfRange`]. The bytes are not verified: ranges of a blob cannot be
    /// (the chunk engine verifies chunks).
    pub fn blob_range(
        &self,
        repo: &str,
        digest: &str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        check_repo(repo)?;
        check_digest(digest)?;
        let op = self
            .op("read blob range", repo)
            .reference(digest)
            .range(offset, len);
        if len == 0 {
            return Ok(Vec::new());
        }
        if len > MAX_RANGE_LEN {
            return Err(invalid(
                "range length",
                &len.to_string(),
                format!("over the {MAX_RANGE_LEN}-byte limit of one range request"),
            ));
        }
        let Some(last) = offset.checked_add(len - 1) else {
            return Err(RegistryError::OutOfRange {
                op: op.into(),
                size: None,
            });
        };
        let req = Req::new(Method::GET, self.blob_url(repo, digest)?, pull_scope(repo))
            .header(RANGE, &format!("bytes={offset}-{last}"));
        let mut ignored = 0;
        self.retrying(|_| {
            let mut resp = self.send(&op, &req)?;
            match resp.status().as_u16() {
                206 => {}
                200 => {
                    // The body (possibly the whole blob) is not read: dropping the response
                    // closes the connection.
                    ignored += 1;
                    let err = RegistryError::RangeIgnored {
                        op: op.clone().into(),
                    };
                    return Err(if ignored >= 2 {
                        Failure::Fatal(err)
                    } else {
                        Failure::Retry { err, after: None }
                    });
                }
                _ => return Err(status_failure(&op, resp)),
            }
            let raw = header_str(&resp, CONTENT_RANGE).map(str::to_owned);
            match raw.as_deref().and_then(parse::parse_content_range) {
                Some(cr) if cr.range == Some((offset, last)) => {}
                Some(cr)
                    if cr.range.is_some_and(|(a, b)| a == offset && b < last)
                        && cr
                            .total
                            .is_some_and(|t| cr.range.is_some_and(|(_, b)| b + 1 == t)) =>
                {
                    // The registry cut the range at the end of the blob.
                    return Err(Failure::Fatal(RegistryError::OutOfRange {
                        op: op.clone().into(),
                        size: cr.total,
                    }));
                }
                _ => {
                    return Err(Failure::Retry {
                        err: RegistryError::BadContentRange {
                            op: op.clone().into(),
                            got: raw,
                        },
                        after: None,
                    });
                }
            }
            let buf = read_at_most(&op, &mut resp, len, len)?;
            if buf.len() as u64 != len {
                return Err(Failure::Retry {
                    err: RegistryError::BodyLength {
                        op: op.clone().into(),
                        expected: len,
                        got: buf.len() as u64,
                    },
                    after: None,
                });
            }
            Ok(buf)
        })
    }
}

/// A number in [0, 1) that differs between calls (for backoff jitter).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(host: &str, opts: ClientOptions) -> Result<RegistryClient, RegistryError> {
        RegistryClient::new(
            host,
            ClientOptions {
                credentials: Credentials::Anonymous,
                ..opts
            },
        )
    }

    #[test]
    fn scheme_follows_the_host() {
        let o = ClientOptions::default;
        assert!(client("127.0.0.1:5000", o()).unwrap().is_plain_http());
        assert!(client("localhost:5000", o()).unwrap().is_plain_http());
        assert!(client("[::1]:5000", o()).unwrap().is_plain_http());
        assert!(client("127.8.9.1", o()).unwrap().is_plain_http());
        assert!(!client("ghcr.io", o()).unwrap().is_plain_http());
        assert!(!client("10.0.0.1:5000", o()).unwrap().is_plain_http());
        let forced = ClientOptions {
            plain_http: Some(true),
            ..o()
        };
        assert!(client("reg.lan:5000", forced).unwrap().is_plain_http());
        let hub = client("docker.io", o()).unwrap();
        assert_eq!(hub.inner.base.as_str(), "https://registry-1.docker.io/");
        assert_eq!(hub.host(), "docker.io");
        for bad in ["", "http://x", "a/b", "u@h", "h?x", "h h", "h:port"] {
            assert!(client(bad, o()).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_repo("nydus/basic-1.x_y").is_ok());
        for bad in [
            "", "A", "a//b", "/a", "a/", "a/../b", "..", "a b", "a?b", "-a",
        ] {
            assert!(check_repo(bad).is_err(), "{bad}");
        }
        assert!(check_reference("v1.2_3-x").is_ok());
        assert!(check_reference(&format!("sha256:{}", "0".repeat(64))).is_ok());
        for bad in ["", ".x", "-x", "a/b", "sha256:x", &"t".repeat(129), "a%2f"] {
            assert!(check_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = client("127.0.0.1:1", ClientOptions::default()).unwrap();
        for n in 1..40 {
            let d = c.delay(n, None);
            let full = Duration::from_millis(100)
                .saturating_mul(1 << (n - 1).min(20))
                .min(Duration::from_secs(5));
            assert!(d >= full / 2 && d <= full, "{n}: {d:?}");
        }
        assert_eq!(
            c.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            c.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn connection_refused_is_retried_then_reported() {
        // Port 1 on loopback: nothing listens.
        let c = client(
            "127.0.0.1:1",
            ClientOptions {
                max_retries: 2,
                backoff_initial: Duration::from_millis(1),
                ..ClientOptions::default()
            },
        )
        .unwrap();
        let d = format!("sha256:{}", "a".repeat(64));
        let err = c.blob_range("r", &d, 5, 10).unwrap_err();
        assert!(matches!(err, RegistryError::Transport { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("read blob range 127.0.0.1:1/r@sha256:aaaa")
                && msg.contains("bytes=5-14")
                && msg.contains("after 3 attempts"),
            "{msg}"
        );
    }
}
