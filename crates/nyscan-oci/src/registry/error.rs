//! Errors of the registry client: each names the operation, the repository, the digest or tag
//! and the byte range it was working on.

use std::fmt;
use std::path::PathBuf;

/// What a request was doing: shown at the start of every [`RegistryError`] message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// What was being done (`fetch manifest`, `read blob range`, `push blob`...).
    pub action: &'static str,
    /// Registry host (`127.0.0.1:5000`).
    pub registry: String,
    /// Repository (`library/alpine`); empty for registry-wide requests.
    pub repository: String,
    /// The tag or digest concerned, if any.
    pub reference: Option<String>,
    /// The byte range concerned, as `(offset, len)`, if any.
    pub range: Option<(u64, u64)>,
    /// How many attempts were made when the operation gave up (1 when it was not retried).
    pub attempts: u32,
}

impl Operation {
    pub(crate) fn new(action: &'static str, registry: &str, repository: &str) -> Operation {
        Operation {
            action,
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            reference: None,
            range: None,
            attempts: 1,
        }
    }

    pub(crate) fn reference(mut self, reference: &str) -> Operation {
        self.reference = Some(reference.to_owned());
        self
    }

    pub(crate) fn range(mut self, offset: u64, len: u64) -> Operation {
        self.range = Some((offset, len));
        self
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.action, self.registry)?;
        if !self.repository.is_empty() {
            write!(f, "/{}", self.repository)?;
        }
        match &self.reference {
            Some(r) if r.contains(':') => write!(f, "@{r}")?,
            Some(r) => write!(f, ":{r}")?,
            None => {}
        }
        if let Some((offset, len)) = self.range {
            if len == 0 {
                write!(f, " (0 bytes at {offset})")?;
            } else {
                write!(f, " bytes={offset}-{}", offset.saturating_add(len - 1))?;
            }
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// Formats a registry's error detail, when there is one, as `: detail`.
fn fmt_detail(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(": {d}")
    }
}

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A repository, tag, digest, host or argument that the client refuses before sending
    /// anything.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidInput {
        /// What the value is (`repository`, `digest`...).
        what: &'static str,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot set up the HTTP client")]
    ClientSetup(#[source] reqwest::Error),
    /// A docker `config.json` that cannot be read or parsed.
    #[error("cannot use docker credentials {}: {reason}", path.display())]
    Credentials {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The request could not be sent or its response not received (connection refused or
    /// reset, timeout, TLS failure).
    #[error("{op}: request failed")]
    Transport {
        /// The operation.
        op: Box<Operation>,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The connection failed while the response body was being read.
    #[error("{op}: connection failed while reading the response body")]
    Body {
        /// The operation.
        op: Box<Operation>,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The data to upload could not be read.
    #[error("{op}: cannot read the data to upload")]
    Input {
        /// The operation.
        op: Box<Operation>,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// HTTP 404: the registry has no such repository, manifest, blob or upload.
    #[error("{op}: not found (HTTP 404){}", fmt_detail(.detail))]
    NotFound {
        /// The operation.
        op: Box<Operation>,
        /// The registry's error codes and messages, if it sent any.
        detail: String,
    },
    /// HTTP 401 after authenticating, or a challenge that cannot be answered.
    #[error("{op}: authentication failed: {reason}")]
    Unauthorized {
        /// The operation.
        op: Box<Operation>,
        /// Why.
        reason: String,
    },
    /// HTTP 403: authenticated but not allowed.
    #[error("{op}: access denied (HTTP 403){}", fmt_detail(.detail))]
    Denied {
        /// The operation.
        op: Box<Operation>,
        /// The registry's error codes and messages, if it sent any.
        detail: String,
    },
    /// The token server (the `realm` of a Bearer challenge) did not give a token.
    #[error("{op}: no token from {realm}: {reason}")]
    Token {
        /// The operation that needed the token.
        op: Box<Operation>,
        /// The token server URL.
        realm: String,
        /// Why.
        reason: String,
    },
    /// An HTTP status the operation does not expect (including 429 and 5xx once the retries
    /// are spent).
    #[error("{op}: unexpected HTTP {status}{}", fmt_detail(.detail))]
    Status {
        /// The operation.
        op: Box<Operation>,
        /// The status code.
        status: u16,
        /// The registry's error codes and messages, if it sent any.
        detail: String,
    },
    /// HTTP 200 with the whole blob where a 206 with the range was asked for.
    #[error("{op}: registry ignored the Range header (HTTP 200 instead of 206)")]
    RangeIgnored {
        /// The operation.
        op: Box<Operation>,
    },
    /// A 206 whose `Content-Range` is missing or not the range asked for.
    #[error("{op}: wrong Content-Range in the 206 response: {}", .got.as_deref().map_or("none".to_owned(), |g| format!("{g:?}")))]
    BadContentRange {
        /// The operation.
        op: Box<Operation>,
        /// The header, if present.
        got: Option<String>,
    },
    /// The range runs past the end of the blob (HTTP 416, or a 206 cut at the blob's end).
    #[error("{op}: range is past the end of the blob{}", .size.map(|s| format!(" ({s} bytes)")).unwrap_or_default())]
    OutOfRange {
        /// The operation.
        op: Box<Operation>,
        /// The blob size, when the registry said.
        size: Option<u64>,
    },
    /// A response body of the wrong length (cut short, or longer than announced).
    #[error("{op}: response body has {got} bytes, expected {expected}")]
    BodyLength {
        /// The operation.
        op: Box<Operation>,
        /// Bytes expected.
        expected: u64,
        /// Bytes received (at most `expected + 1`: reading stops there).
        got: u64,
    },
    /// A response larger than the limit for its kind.
    #[error("{op}: response is larger than the {limit}-byte limit")]
    TooLarge {
        /// The operation.
        op: Box<Operation>,
        /// The limit.
        limit: u64,
    },
    /// Content whose sha256 is not the digest it was fetched or pushed by.
    #[error("{op}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The operation.
        op: Box<Operation>,
        /// The digest asked for.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// A response that breaks the distribution protocol (missing `Location`, bad JSON...).
    #[error("{op}: invalid response: {reason}")]
    InvalidResponse {
        /// The operation.
        op: Box<Operation>,
        /// What is wrong.
        reason: String,
    },
    /// A manifest or index that is not valid JSON of its kind.
    #[error("{op}: malformed manifest")]
    Manifest {
        /// The operation.
        op: Box<Operation>,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The image itself is unusable: not a Nydus image, no manifest for the platform, a bad
    /// bootstrap layer.
    #[error(transparent)]
    Image(#[from] crate::Error),
}

/// The operation inside an error, for `&` and `&mut` alike.
macro_rules! operation_of {
    ($err:expr) => {
        match $err {
            RegistryError::Transport { op, .. }
            | RegistryError::Body { op, .. }
            | RegistryError::Input { op, .. }
            | RegistryError::NotFound { op, .. }
            | RegistryError::Unauthorized { op, .. }
            | RegistryError::Denied { op, .. }
            | RegistryError::Token { op, .. }
            | RegistryError::Status { op, .. }
            | RegistryError::RangeIgnored { op }
            | RegistryError::BadContentRange { op, .. }
            | RegistryError::OutOfRange { op, .. }
            | RegistryError::BodyLength { op, .. }
            | RegistryError::TooLarge { op, .. }
            | RegistryError::DigestMismatch { op, .. }
            | RegistryError::InvalidResponse { op, .. }
            | RegistryError::Manifest { op, .. } => Some(op),
            RegistryError::InvalidInput { .. }
            | RegistryError::ClientSetup(_)
            | RegistryError::Credentials { .. }
            | RegistryError::Image(_) => None,
        }
    };
}

impl RegistryError {
    /// The operation the error is about, when it is about one.
    pub fn operation(&self) -> Option<&Operation> {
        operation_of!(self)
    }

    pub(crate) fn operation_mut(&mut self) -> Option<&mut Operation> {
        operation_of!(self)
    }

    /// True for HTTP 404 (no such repository, manifest or blob).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }

    /// True for authentication and authorisation failures (401, 403, token server refusals).
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            RegistryError::Unauthorized { .. }
                | RegistryError::Denied { .. }
                | RegistryError::Token { .. }
        )
    }
}

pub(crate) fn invalid(what: &'static str, value: &str, reason: impl Into<String>) -> RegistryError {
    RegistryError::InvalidInput {
        what,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_name_repo_reference_and_range() {
        let op = Operation::new("read blob range", "127.0.0.1:5000", "t/v6")
            .reference("sha256:abc")
            .range(10, 10);
        assert_eq!(
            op.to_string(),
            "read blob range 127.0.0.1:5000/t/v6@sha256:abc bytes=10-19"
        );
        let mut op = Operation::new("fetch manifest", "r.io", "a").reference("v1");
        op.attempts = 5;
        assert_eq!(
            op.to_string(),
            "fetch manifest r.io/a:v1 (after 5 attempts)"
        );
        let e = RegistryError::NotFound {
            op: op.into(),
            detail: "MANIFEST_UNKNOWN: manifest unknown".into(),
        };
        assert!(
            e.to_string()
                .ends_with("not found (HTTP 404): MANIFEST_UNKNOWN: manifest unknown")
        );
    }
}
