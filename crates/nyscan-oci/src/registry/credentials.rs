//! Credentials: given explicitly, or read from docker's `config.json`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::error::RegistryError;

/// Largest `config.json` read.
const MAX_CONFIG_SIZE: u64 = 4 << 20;

/// Where the client takes credentials from.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials: anonymous access (Bearer challenges still get anonymous tokens).
    Anonymous,
    /// A user name and password (or a registry access token used as the password).
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: String,
    },
    /// docker's `config.json`: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    /// A missing file means anonymous access.
    #[default]
    DockerConfig,
    /// A `config.json` at this path (a missing file means anonymous access).
    DockerConfigFile(PathBuf),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::DockerConfig => f.write_str("DockerConfig"),
            Credentials::DockerConfigFile(p) => f.debug_tuple("DockerConfigFile").field(p).finish(),
        }
    }
}

/// The credentials found for one registry host.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum HostCredentials {
    /// None. `note` says why when credentials exist in a form the client cannot use (a
    /// credential helper, an identity token); it is added to authentication errors.
    None { note: Option<String> },
    /// User name and password.
    Basic { username: String, password: String },
}

impl fmt::Debug for HostCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostCredentials::None { note } => f.debug_struct("None").field("note", note).finish(),
            HostCredentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl HostCredentials {
    /// The `Authorization: Basic` value, if there are credentials.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            HostCredentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            HostCredentials::None { .. } => None,
        }
    }

    /// Why there are no credentials, when there is something to say.
    pub(crate) fn note(&self) -> Option<&str> {
        match self {
            HostCredentials::None { note } => note.as_deref(),
            HostCredentials::Basic { .. } => None,
        }
    }

    pub(crate) fn username(&self) -> Option<&str> {
        match self {
            HostCredentials::Basic { username, .. } => Some(username),
            HostCredentials::None { .. } => None,
        }
    }
}

/// Resolves `credentials` for `host` (`HOST[:PORT]`).
pub(crate) fn resolve(
    credentials: &Credentials,
    host: &str,
) -> Result<HostCredentials, RegistryError> {
    match credentials {
        Credentials::Anonymous => Ok(HostCredentials::None { note: None }),
        Credentials::Basic { username, password } => Ok(HostCredentials::Basic {
            username: username.clone(),
            password: password.clone(),
        }),
        Credentials::DockerConfig => match docker_config_path(|k| std::env::var_os(k)) {
            Some(path) => from_config_file(&path, host),
            None => Ok(HostCredentials::None { note: None }),
        },
        Credentials::DockerConfigFile(path) => from_config_file(path, host),
    }
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`; `env` reads a variable.
pub(crate) fn docker_config_path(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = env("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    env("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".docker/config.json"))
}

fn from_config_file(path: &Path, host: &str) -> Result<HostCredentials, RegistryError> {
    let bad = |reason: String| RegistryError::Credentials {
        path: path.to_owned(),
        reason,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(HostCredentials::None { note: None });
        }
        Err(e) => return Err(bad(e.to_string())),
    };
    if meta.len() > MAX_CONFIG_SIZE {
        return Err(bad(format!("larger than {MAX_CONFIG_SIZE} bytes")));
    }
    let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    from_config_json(&text, host).map_err(bad)
}

#[derive(serde::Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The host a `config.json` key names: `https://host/v1/`, `http://host`, `host/path` and
/// `host` all name `host`.
fn key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

const DOCKER_HUB: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

fn same_registry(key: &str, host: &str) -> bool {
    let k = key_host(key);
    k.eq_ignore_ascii_case(host) || (DOCKER_HUB.contains(&k) && DOCKER_HUB.contains(&host))
}

/// Finds `host`'s credentials in a `config.json` document.
pub(crate) fn from_config_json(json: &[u8], host: &str) -> Result<HostCredentials, String> {
    let config: DockerConfig =
        serde_json::from_slice(json).map_err(|e| format!("malformed JSON: {e}"))?;
    let helper = config
        .cred_helpers
        .iter()
        .find(|(k, _)| same_registry(k, host))
        .map(|(_, v)| v.clone())
        .or(config.creds_store.clone());
    let helper_note = |h: &str| {
        format!(
            "docker config.json keeps the credentials of {host} in the credential helper \
             docker-credential-{h}, which nyscan does not run; pass a user name and password instead"
        )
    };
    // An exact key first, then any key naming the same host.
    let entry = config.auths.get(host).or_else(|| {
        config
            .auths
            .iter()
            .find(|(k, _)| same_registry(k, host))
            .map(|(_, v)| v)
    });
    let Some(entry) = entry else {
        // credHelpers names the host: the credentials are there. A credsStore is only where
        // `docker login` would have put them; it may hold nothing for this host.
        let note = config
            .cred_helpers
            .iter()
            .find(|(k, _)| same_registry(k, host))
            .map(|(_, h)| helper_note(h));
        return Ok(HostCredentials::None { note });
    };
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.trim().is_empty()) {
        let decoded = decode_base64(auth.trim())
            .ok_or_else(|| format!("the auth of {host} is not valid base64"))?;
        let decoded =
            String::from_utf8(decoded).map_err(|_| format!("the auth of {host} is not UTF-8"))?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| format!("the auth of {host} is not base64 of user:password"))?;
        return Ok(HostCredentials::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        });
    }
    if let (Some(u), Some(p)) = (entry.username.as_deref(), entry.password.as_deref())
        && !u.is_empty()
    {
        return Ok(HostCredentials::Basic {
            username: u.to_owned(),
            password: p.to_owned(),
        });
    }
    if entry
        .identitytoken
        .as_deref()
        .is_some_and(|t| !t.is_empty())
    {
        return Ok(HostCredentials::None {
            note: Some(format!(
                "docker config.json has an identity token (an OAuth2 refresh token) for {host}, \
                 which nyscan does not support; pass a user name and password instead"
            )),
        });
    }
    Ok(HostCredentials::None {
        note: helper.map(|h| helper_note(&h)),
    })
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    STANDARD
        .decode(s)
        .ok()
        .or_else(|| STANDARD_NO_PAD.decode(s.trim_end_matches('=')).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> HostCredentials {
        HostCredentials::Basic {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn reads_auth_entries() {
        // "alice:s3cr:et" in base64; passwords may hold ':'.
        let json = br#"{"auths":{
            "127.0.0.1:5000":{"auth":"YWxpY2U6czNjcjpldA=="},
            "https://ghcr.io":{"username":"bob","password":"pw"},
            "https://index.docker.io/v1/":{"auth":"ZDpw"},
            "quay.io":{"auth":"YWxpY2U6czNjcjpldA"}
        }}"#;
        assert_eq!(
            from_config_json(json, "127.0.0.1:5000").unwrap(),
            basic("alice", "s3cr:et")
        );
        assert_eq!(
            from_config_json(json, "ghcr.io").unwrap(),
            basic("bob", "pw")
        );
        assert_eq!(
            from_config_json(json, "docker.io").unwrap(),
            basic("d", "p")
        );
        assert_eq!(
            from_config_json(json, "registry-1.docker.io").unwrap(),
            basic("d", "p")
        );
        // Unpadded base64 is accepted.
        assert_eq!(
            from_config_json(json, "quay.io").unwrap(),
            basic("alice", "s3cr:et")
        );
        // Another port is another registry.
        assert_eq!(
            from_config_json(json, "127.0.0.1:5001").unwrap(),
            HostCredentials::None { note: None }
        );
    }

    #[test]
    fn explains_what_it_cannot_use() {
        let json = br#"{"auths":{"a.io":{"identitytoken":"tok"},"b.io":{}},
                        "credHelpers":{"c.io":"ecr-login"},"credsStore":"desktop"}"#;
        let note = |h| {
            from_config_json(json, h)
                .unwrap()
                .note()
                .unwrap_or_default()
                .to_owned()
        };
        assert!(note("a.io").contains("identity token"), "{}", note("a.io"));
        assert!(note("b.io").contains("docker-credential-desktop"));
        assert!(note("c.io").contains("docker-credential-ecr-login"));
        assert_eq!(note("d.io"), "");
        assert!(from_config_json(b"{not json", "a.io").is_err());
        assert!(from_config_json(br#"{"auths":{"a.io":{"auth":"!!!"}}}"#, "a.io").is_err());
        assert!(
            from_config_json(br#"{"auths":{"a.io":{"auth":"bm9jb2xvbg=="}}}"#, "a.io").is_err()
        );
        assert_eq!(
            from_config_json(b"{}", "a.io").unwrap(),
            HostCredentials::None { note: None }
        );
    }

    #[test]
    fn config_path_follows_docker() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            docker_config_path(env(&[("DOCKER_CONFIG", "/d"), ("HOME", "/h")])),
            Some(PathBuf::from("/d/config.json"))
        );
        assert_eq!(
            docker_config_path(env(&[("DOCKER_CONFIG", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.docker/config.json"))
        );
        assert_eq!(docker_config_path(env(&[])), None);
    }

    #[test]
    fn files_missing_or_present() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let creds = Credentials::DockerConfigFile(path.clone());
        assert_eq!(
            resolve(&creds, "r.io").unwrap(),
            HostCredentials::None { note: None }
        );
        std::fs::write(&path, br#"{"auths":{"r.io":{"auth":"dTpw"}}}"#).unwrap();
        assert_eq!(resolve(&creds, "r.io").unwrap(), basic("u", "p"));
        std::fs::write(&path, b"[").unwrap();
        let err = resolve(&creds, "r.io").unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("malformed"),
            "{err}"
        );
        // Debug output never shows a password.
        let c = Credentials::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", basic("u", "hunter2")).contains("hunter2"));
    }
}
