//! Writes: blob uploads (monolithic and chunked), cross-repository mounts, manifests.
//!
//! Upload sessions are not resumed after a failure: docker-registry hands out a new
//! `Location` (with a new `_state`) after every `PATCH` and answers 404 to the previous one,
//! so a `PATCH` whose response was lost leaves no way to ask where the upload stands. A
//! failed upload starts over in a new session instead (after checking with `HEAD` whether
//! the blob arrived after all), at most `max_retries` times.

use std::io::{Read, Seek, SeekFrom};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, HeaderName, RANGE};
use sha2::{Digest, Sha256};

use super::client::{
    DOCKER_CONTENT_DIGEST, Failure, MAX_MANIFEST_SIZE, RegistryClient, Req, check_digest,
    check_reference, check_repo, header_str, location, pull_scope, push_scope, sha256_digest,
    status_failure,
};
use super::error::{Operation, RegistryError, invalid};
use super::parse;

/// Header a registry may send on upload start: the smallest chunk it accepts (OCI
/// distribution spec 1.1).
const OCI_CHUNK_MIN_LENGTH: HeaderName = HeaderName::from_static("oci-chunk-min-length");

/// Largest chunk [`RegistryClient::push_blob_chunked`] sends.
pub const MAX_CHUNK_SIZE: usize = 1 << 30;

const OCTET_STREAM: &str = "application/octet-stream";

/// Turns a 404 during an upload (the session is gone: `BLOB_UPLOAD_UNKNOWN`) into a retry
/// with a new session.
fn session_lost(f: Failure) -> Failure {
    match f {
        Failure::Fatal(err @ RegistryError::NotFound { .. }) => Failure::Retry { err, after: None },
        f => f,
    }
}

impl RegistryClient {
    /// `POST /v2/<repo>/blobs/uploads/` (with `query` appended): the response, judged by the
    /// caller.
    fn post_upload(
        &self,
        op: &Operation,
        repo: &str,
        query: &[(&str, &str)],
        scopes: Vec<String>,
    ) -> Result<reqwest::blocking::Response, Failure> {
        let mut url = self.url(&format!("/v2/{repo}/blobs/uploads/"))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        // An empty body, so that `Content-Length: 0` is sent.
        let req = Req::new(Method::POST, url, scopes).body(Bytes::new());
        self.send(op, &req)
    }

    /// Starts an upload session: its URL and the registry's smallest chunk size, if given.
    fn start_upload(
        &self,
        op: &Operation,
        repo: &str,
    ) -> Result<(reqwest::Url, Option<u64>), Failure> {
        let resp = self.post_upload(op, repo, &[], push_scope(repo))?;
        if resp.status().as_u16() != 202 {
            return Err(status_failure(op, resp));
        }
        let min_chunk = header_str(&resp, OCI_CHUNK_MIN_LENGTH).and_then(|v| v.trim().parse().ok());
        Ok((location(op, &resp)?, min_chunk))
    }

    /// Completes an upload session with `PUT <location>?digest=` and the last bytes (if any).
    fn finish_upload(
        &self,
        op: &Operation,
        repo: &str,
        mut url: reqwest::Url,
        digest: &str,
        body: Bytes,
    ) -> Result<(), Failure> {
        url.query_pairs_mut().append_pair("digest", digest);
        let req = Req::new(Method::PUT, url, push_scope(repo))
            .header(CONTENT_TYPE, OCTET_STREAM)
            .body(body);
        let resp = self.send(op, &req)?;
        if resp.status().as_u16() != 201 {
            return Err(session_lost(status_failure(op, resp)));
        }
        if let Some(d) = header_str(&resp, DOCKER_CONTENT_DIGEST)
            && d.starts_with("sha256:")
            && d != digest
        {
            return Err(Failure::Fatal(RegistryError::DigestMismatch {
                op: op.clone().into(),
                expected: digest.to_owned(),
                actual: d.to_owned(),
            }));
        }
        Ok(())
    }

    /// Best-effort `DELETE` of an upload session nobody will complete.
    fn cancel_upload(&self, op: &Operation, repo: &str, url: reqwest::Url) {
        let req = Req::new(Method::DELETE, url, push_scope(repo));
        let _ = self.send(op, &req);
    }

    /// Whether `repo` has the blob, asked with the push scope (one token for the whole push).
    fn has_blob(&self, repo: &str, digest: &str) -> Result<bool, RegistryError> {
        match self.stat_blob(repo, digest, push_scope(repo)) {
            Ok(_) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// On retries of an upload: has the blob arrived after all?
    fn arrived(&self, repo: &str, digest: &str, attempt: u32) -> Result<bool, Failure> {
        if attempt == 1 {
            return Ok(false);
        }
        self.has_blob(repo, digest).map_err(Failure::Fatal)
    }

    /// Pushes a blob in one request (`POST` an upload session, then `PUT ?digest=` with the
    /// bytes) and returns its digest. Does nothing when the repository already has it.
    pub fn push_blob(&self, repo: &str, data: &[u8]) -> Result<String, RegistryError> {
        check_repo(repo)?;
        let digest = sha256_digest(data);
        if self.has_blob(repo, &digest)? {
            return Ok(digest);
        }
        let op = self.op("push blob", repo).reference(&digest);
        let body = Bytes::copy_from_slice(data);
        self.retrying(|attempt| {
            if self.arrived(repo, &digest, attempt)? {
                return Ok(());
            }
            let (url, _) = self.start_upload(&op, repo)?;
            self.finish_upload(&op, repo, url, &digest, body.clone())
        })?;
        Ok(digest)
    }

    /// Pushes a blob in chunks of `chunk_size` bytes (`POST`, one `PATCH` with a
    /// `Content-Range` per chunk, then `PUT ?digest=`) and returns its digest. `reader` is
    /// read once to compute the digest, then again (from the start) to upload; it is not
    /// uploaded when the repository already has the blob. A registry's
    /// `OCI-Chunk-Min-Length` raises the chunk size.
    pub fn push_blob_chunked<R: Read + Seek>(
        &self,
        repo: &str,
        mut reader: R,
        chunk_size: usize,
    ) -> Result<String, RegistryError> {
        check_repo(repo)?;
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(invalid(
                "chunk size",
                &chunk_size.to_string(),
                format!("expected 1..={MAX_CHUNK_SIZE}"),
            ));
        }
        let read_err = |source| RegistryError::Input {
            op: self.op("push blob", repo).into(),
            source,
        };
        let (digest, total) = hash_reader(&mut reader).map_err(read_err)?;
        if self.has_blob(repo, &digest)? {
            return Ok(digest);
        }
        let op = self.op("push blob", repo).reference(&digest);
        let input_err = |source| {
            Failure::Fatal(RegistryError::Input {
                op: op.clone().into(),
                source,
            })
        };
        self.retrying(|attempt| {
            if self.arrived(repo, &digest, attempt)? {
                return Ok(());
            }
            let (mut url, min_chunk) = self.start_upload(&op, repo)?;
            let size = min_chunk
                .and_then(|m| usize::try_from(m).ok())
                .filter(|&m| m <= MAX_CHUNK_SIZE)
                .map_or(chunk_size, |m| m.max(chunk_size));
            reader.seek(SeekFrom::Start(0)).map_err(input_err)?;
            let mut offset = 0u64;
            loop {
                let chunk = read_chunk(&mut reader, size).map_err(input_err)?;
                if chunk.is_empty() {
                    break;
                }
                let last = offset + chunk.len() as u64 - 1;
                let chunk_op = op.clone().range(offset, chunk.len() as u64);
                let req = Req::new(Method::PATCH, url.clone(), push_scope(repo))
                    .header(CONTENT_TYPE, OCTET_STREAM)
                    .header(CONTENT_RANGE, &format!("{offset}-{last}"))
                    .body(Bytes::from(chunk));
                let resp = self.send(&chunk_op, &req)?;
                if resp.status().as_u16() != 202 {
                    return Err(session_lost(status_failure(&chunk_op, resp)));
                }
                // The registry says what it holds: anything else means it lost data.
                if let Some(end) = header_str(&resp, RANGE).and_then(parse::parse_upload_range)
                    && end != last
                {
                    return Err(Failure::Retry {
                        err: RegistryError::InvalidResponse {
                            op: chunk_op.into(),
                            reason: format!(
                                "the registry holds bytes 0-{end} of the upload, not 0-{last}"
                            ),
                        },
                        after: None,
                    });
                }
                url = location(&chunk_op, &resp)?;
                offset = last + 1;
            }
            if offset != total {
                return Err(Failure::Fatal(invalid(
                    "blob data",
                    repo,
                    format!("the reader gave {total} bytes, then {offset}"),
                )));
            }
            self.finish_upload(&op, repo, url, &digest, Bytes::new())
        })?;
        Ok(digest)
    }

    /// Mounts a blob of `from_repo` into `repo` (same registry) without uploading it.
    /// Returns `true` when mounted (201); `false` when the registry opened an upload session
    /// instead (202: the blob or the source repository is unknown to it, or mounts are not
    /// allowed). That session is cancelled: push the blob then.
    pub fn mount_blob(
        &self,
        repo: &str,
        from_repo: &str,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        check_repo(repo)?;
        check_repo(from_repo)?;
        check_digest(digest)?;
        if repo == from_repo {
            return self.blob_exists(repo, digest);
        }
        let op = self.op("mount blob", repo).reference(digest);
        let mut scopes = push_scope(repo);
        scopes.extend(pull_scope(from_repo));
        self.retrying(|_| {
            let resp = self.post_upload(
                &op,
                repo,
                &[("mount", digest), ("from", from_repo)],
                scopes.clone(),
            )?;
            match resp.status().as_u16() {
                201 => Ok(true),
                202 => {
                    if let Ok(url) = location(&op, &resp) {
                        self.cancel_upload(&op, repo, url);
                    }
                    Ok(false)
                }
                _ => Err(status_failure(&op, resp)),
            }
        })
    }

    /// Pushes a manifest or index under a tag or its digest and returns its digest.
    /// `media_type` is sent as `Content-Type`; `bytes` are pushed as given (at most 4 MiB).
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        check_repo(repo)?;
        check_reference(reference)?;
        let digest = sha256_digest(bytes);
        if reference.contains(':') && reference != digest {
            return Err(invalid(
                "manifest reference",
                reference,
                format!("the manifest's digest is {digest}"),
            ));
        }
        if media_type.is_empty() || !media_type.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("media type", media_type, "expected a media type"));
        }
        let op = self.op("push manifest", repo).reference(reference);
        if bytes.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(RegistryError::TooLarge {
                op: op.into(),
                limit: MAX_MANIFEST_SIZE,
            });
        }
        let req = Req::new(
            Method::PUT,
            self.url(&format!("/v2/{repo}/manifests/{reference}"))?,
            push_scope(repo),
        )
        .header(CONTENT_TYPE, media_type)
        .body(Bytes::copy_from_slice(bytes));
        self.retrying(|_| {
            let resp = self.send(&op, &req)?;
            if !matches!(resp.status().as_u16(), 200 | 201) {
                return Err(status_failure(&op, resp));
            }
            if let Some(d) = header_str(&resp, DOCKER_CONTENT_DIGEST)
                && d.starts_with("sha256:")
                && d != digest
            {
                return Err(Failure::Fatal(RegistryError::DigestMismatch {
                    op: op.clone().into(),
                    expected: digest.clone(),
                    actual: d.to_owned(),
                }));
            }
            Ok(())
        })?;
        Ok(digest)
    }
}

/// The sha256 digest and length of everything `reader` gives from its start.
fn hash_reader<R: Read + Seek>(reader: &mut R) -> std::io::Result<(String, u64)> {
    reader.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((format!("sha256:{}", hex::encode(hasher.finalize())), total))
}

/// Up to `size` bytes (fewer only at the end of the input).
fn read_chunk<R: Read>(reader: &mut R, size: usize) -> std::io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(size.min(64 << 20));
    reader.take(size as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_chunks_readers() {
        let data: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
        let mut cur = std::io::Cursor::new(&data);
        let (d, n) = hash_reader(&mut cur).unwrap();
        assert_eq!(d, sha256_digest(&data));
        assert_eq!(n, data.len() as u64);
        cur.set_position(0);
        let mut sizes = Vec::new();
        loop {
            let c = read_chunk(&mut cur, 1_000_000).unwrap();
            if c.is_empty() {
                break;
            }
            sizes.push(c.len());
        }
        assert_eq!(sizes, [1_000_000, 1_000_000, 500_000]);
    }
}
