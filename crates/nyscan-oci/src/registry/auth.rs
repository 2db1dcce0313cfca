//! Authentication: what `401` challenges taught (Basic or Bearer), and Bearer tokens from
//! the challenge's realm, cached per scope until they expire.

use std::collections::HashMap;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::blocking::Response;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};

use super::client::{
    Failure, MAX_REDIRECTS, RegistryClient, header_str, is_loopback_host, location, read_body,
    read_error_body, same_origin,
};
use super::credentials::HostCredentials;
use super::error::{Operation, RegistryError};
use super::parse::{self, Challenge};

/// Largest token server response.
const MAX_TOKEN_RESPONSE: u64 = 1 << 20;
/// Token lifetime when the token server does not say (`expires_in`).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(super) struct AuthState {
    scheme: AuthScheme,
    /// Bearer tokens by scope (the scopes joined by spaces).
    tokens: HashMap<String, Token>,
}

#[derive(Default, Clone)]
enum AuthScheme {
    /// No challenge seen yet: requests go out anonymous.
    #[default]
    Unknown,
    /// The registry asked for Basic credentials.
    Basic,
    /// The registry asked for Bearer tokens from this realm.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

struct Token {
    value: String,
    expires: Instant,
}

/// What authorisation a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    None,
    Basic,
    /// A token from the cache.
    CachedBearer,
    /// A token fetched for this very request.
    FreshBearer,
}

impl RegistryClient {
    fn auth(&self) -> MutexGuard<'_, AuthState> {
        self.inner.auth.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `Authorization` value for a request to the registry, from what earlier challenges
    /// taught: none, Basic, or a Bearer token (cached, or fetched now).
    pub(super) fn authorization(
        &self,
        op: &Operation,
        scopes: &[String],
    ) -> Result<(Option<String>, Sent), Failure> {
        let scheme = self.auth().scheme.clone();
        match scheme {
            AuthScheme::Unknown => Ok((None, Sent::None)),
            AuthScheme::Basic => Ok(match self.inner.creds.basic_header() {
                Some(h) => (Some(h), Sent::Basic),
                None => (None, Sent::None),
            }),
            AuthScheme::Bearer { realm, service } => {
                if let Some(t) = self.cached_token(scopes) {
                    return Ok((Some(format!("Bearer {t}")), Sent::CachedBearer));
                }
                let t = self.token(op, &realm, service.as_deref(), scopes, None)?;
                Ok((Some(format!("Bearer {t}")), Sent::FreshBearer))
            }
        }
    }

    /// The cache keys a token for `scopes` may be under: their own, and for a pull of one
    /// repository, that of a pull-and-push token of it.
    fn token_keys(scopes: &[String]) -> [Option<String>; 2] {
        let wider = match scopes {
            [one] => one.strip_suffix(":pull").map(|s| format!("{s}:pull,push")),
            _ => None,
        };
        [Some(scopes.join(" ")), wider]
    }

    /// A live cached token for `scopes`.
    fn cached_token(&self, scopes: &[String]) -> Option<String> {
        let auth = self.auth();
        let now = Instant::now();
        Self::token_keys(scopes)
            .into_iter()
            .flatten()
            .find_map(|k| auth.tokens.get(&k).filter(|t| t.expires > now))
            .map(|t| t.value.clone())
    }

    /// Drops the cached tokens [`Self::cached_token`] could return for `scopes`.
    fn forget_token(&self, scopes: &[String]) {
        let mut auth = self.auth();
        for k in Self::token_keys(scopes).into_iter().flatten() {
            auth.tokens.remove(&k);
        }
    }

    /// Answers a 401: learns the scheme, and returns a fresh token to send when it is Bearer.
    pub(super) fn on_unauthorized(
        &self,
        op: &Operation,
        resp: &Response,
        scopes: &[String],
        sent: Sent,
    ) -> Result<Option<String>, Failure> {
        let challenges: Vec<Challenge> = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(parse::parse_www_authenticate)
            .collect();
        let note = self
            .inner
            .creds
            .note()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let unauthorized = |reason: String| {
            Failure::Fatal(RegistryError::Unauthorized {
                op: op.clone().into(),
                reason,
            })
        };
        let bearer = challenges.iter().find_map(|c| match c {
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => Some((realm, service, scope)),
            _ => None,
        });
        if let Some((realm, service, scope)) = bearer {
            match sent {
                Sent::FreshBearer => {
                    return Err(unauthorized(format!(
                        "the registry refused the token just issued by {realm} for {}{note}",
                        scopes.join(" ")
                    )));
                }
                Sent::CachedBearer => {
                    // Expired or revoked early: drop it and fetch another.
                    self.forget_token(scopes);
                }
                Sent::None | Sent::Basic => {}
            }
            self.auth().scheme = AuthScheme::Bearer {
                realm: realm.clone(),
                service: service.clone(),
            };
            let token = self.token(op, realm, service.as_deref(), scopes, scope.as_deref())?;
            return Ok(Some(token));
        }
        if challenges.contains(&Challenge::Basic) {
            return match (&self.inner.creds, sent) {
                (HostCredentials::None { .. }, _) => Err(unauthorized(format!(
                    "the registry requires a user name and password (Basic) and none are configured{note}"
                ))),
                (HostCredentials::Basic { username, .. }, Sent::Basic) => Err(unauthorized(
                    format!("the registry refused the password of user {username:?}"),
                )),
                (HostCredentials::Basic { .. }, _) => {
                    self.auth().scheme = AuthScheme::Basic;
                    Ok(None)
                }
            };
        }
        let header = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Err(unauthorized(match header {
            Some(h) => format!("HTTP 401 with an unsupported challenge {h:?}"),
            None => "HTTP 401 without a WWW-Authenticate challenge".to_owned(),
        }))
    }

    /// A token for `scopes` (plus `extra_scope`, the challenge's own), from the cache or the
    /// token server. One thread fetches at a time; the others then find it cached.
    fn token(
        &self,
        op: &Operation,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        extra_scope: Option<&str>,
    ) -> Result<String, Failure> {
        let _one_at_a_time = self
            .inner
            .token_fetch
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(t) = self.cached_token(scopes) {
            return Ok(t);
        }
        let mut all: Vec<String> = scopes.to_vec();
        if let Some(s) = extra_scope.filter(|s| !s.is_empty()) {
            for s in s.split(' ') {
                if !all.iter().any(|a| a == s) {
                    all.push(s.to_owned());
                }
            }
        }
        let (value, lifetime) = self.fetch_token(op, realm, service, &all)?;
        // Refresh a little before the server's expiry.
        let margin = (lifetime / 10).min(Duration::from_secs(5));
        self.auth().tokens.insert(
            scopes.join(" "),
            Token {
                value: value.clone(),
                expires: Instant::now() + lifetime - margin,
            },
        );
        Ok(value)
    }

    /// `GET realm?service=..&scope=..`, with Basic credentials when there are some and the
    /// realm is HTTPS, loopback, or the registry itself is plain HTTP.
    fn fetch_token(
        &self,
        op: &Operation,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<(String, Duration), Failure> {
        let token_err = |reason: String| RegistryError::Token {
            op: op.clone().into(),
            realm: realm.to_owned(),
            reason,
        };
        let mut url = Url::parse(realm)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| Failure::Fatal(token_err("the realm is not an http(s) URL".into())))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for s in scopes {
                q.append_pair("scope", s);
            }
        }
        let realm_url = url.clone();
        let realm_host = realm_url.host_str().unwrap_or_default();
        let creds_ok = realm_url.scheme() == "https"
            || self.inner.plain_http
            || is_loopback_host(realm_host)
            || realm_host == "::1"
            || realm_host == "[::1]";
        let basic = self.inner.creds.basic_header().filter(|_| creds_ok);
        let mut redirects = 0;
        let resp = loop {
            let mut rb = self.inner.http.get(url.clone());
            if let Some(b) = basic.as_deref().filter(|_| same_origin(&url, &realm_url)) {
                rb = rb.header(AUTHORIZATION, b);
            }
            let resp = rb.send().map_err(|e| Failure::Retry {
                err: token_err(chain(&e)),
                after: None,
            })?;
            if matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(Failure::Fatal(token_err("too many redirects".into())));
                }
                url = location(op, &resp)?;
                continue;
            }
            break resp;
        };
        let status = resp.status().as_u16();
        if status != 200 {
            let after = header_str(&resp, RETRY_AFTER).and_then(parse::parse_retry_after);
            let detail = parse::error_detail(&read_error_body(resp));
            let mut reason = format!("HTTP {status}");
            if !detail.is_empty() {
                reason = format!("{reason}: {detail}");
            }
            if matches!(status, 401 | 403) {
                reason.push_str(&match (self.inner.creds.username(), basic.is_some()) {
                    (Some(u), true) => format!(" (credentials of user {u:?} refused)"),
                    (Some(_), false) => {
                        " (credentials withheld: the realm is plain HTTP on another host)"
                            .to_owned()
                    }
                    (None, _) => self
                        .inner
                        .creds
                        .note()
                        .map(|n| format!(" (no credentials: {n})"))
                        .unwrap_or_else(|| " (no credentials configured)".to_owned()),
                });
            }
            let err = token_err(reason);
            return Err(if status == 429 || status >= 500 {
                Failure::Retry { err, after }
            } else {
                Failure::Fatal(err)
            });
        }
        let body = read_body(op, resp, MAX_TOKEN_RESPONSE)?;
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let doc: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| Failure::Fatal(token_err(format!("malformed token response: {e}"))))?;
        let token = doc
            .token
            .filter(|t| !t.is_empty())
            .or(doc.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| Failure::Fatal(token_err("the response has no token".into())))?;
        if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(Failure::Fatal(token_err(
                "the token holds characters a header cannot".into(),
            )));
        }
        let lifetime = doc
            .expires_in
            .filter(|&s| s > 0)
            .map(|s| Duration::from_secs(s.min(24 * 3600)))
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        Ok((token, lifetime))
    }
}

/// An error and its causes, joined by `: ` (for errors carried as text).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{ClientOptions, Credentials};

    #[test]
    fn tokens_expire_and_a_push_token_serves_pulls() {
        let c = RegistryClient::new(
            "127.0.0.1:1",
            ClientOptions {
                credentials: Credentials::Anonymous,
                ..ClientOptions::default()
            },
        )
        .unwrap();
        let scopes = |s: &str| vec![s.to_owned()];
        let later = Instant::now() + Duration::from_secs(60);
        c.auth().tokens.insert(
            "repository:a:pull,push".into(),
            Token {
                value: "t".into(),
                expires: later,
            },
        );
        assert_eq!(
            c.cached_token(&scopes("repository:a:pull")).as_deref(),
            Some("t")
        );
        assert_eq!(
            c.cached_token(&scopes("repository:a:pull,push")).as_deref(),
            Some("t")
        );
        assert_eq!(c.cached_token(&scopes("repository:b:pull")), None);
        // Two scopes are one key; a pull token does not serve a push.
        c.auth().tokens.insert(
            "repository:b:pull".into(),
            Token {
                value: "b".into(),
                expires: later,
            },
        );
        assert_eq!(c.cached_token(&scopes("repository:b:pull,push")), None);
        // Expired tokens are not used.
        c.auth().tokens.insert(
            "repository:c:pull".into(),
            Token {
                value: "old".into(),
                expires: Instant::now(),
            },
        );
        assert_eq!(c.cached_token(&scopes("repository:c:pull")), None);
        // A token refused by the registry is forgotten under every key it served.
        c.forget_token(&scopes("repository:a:pull"));
        assert_eq!(c.cached_token(&scopes("repository:a:pull,push")), None);
    }
}
