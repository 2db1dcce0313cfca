//! Paths inside a tree: split into checked names, joined back.

use super::error::{WriteError, WriteResult, show};
use super::tree::MAX_NAME_LEN;

/// Splits a path into names, refusing `..` and names the formats cannot hold.
pub(super) fn components(path: &[u8]) -> WriteResult<Vec<&[u8]>> {
    let mut out = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(WriteError::EscapesRoot { path: show(path) }),
            name if name.contains(&0) => {
                return Err(WriteError::InvalidPath {
                    path: show(path),
                    reason: "a name holds a NUL byte",
                });
            }
            name if name.len() > MAX_NAME_LEN => {
                return Err(WriteError::InvalidPath {
                    path: show(path),
                    reason: "a name is longer than 255 bytes",
                });
            }
            name => out.push(name),
        }
    }
    Ok(out)
}

/// `prefix/name` (`/name` under the root).
pub(super) fn join(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = if prefix == b"/" {
        Vec::new()
    } else {
        prefix.to_vec()
    };
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

/// `/a/b` from components.
pub(super) fn path_of(parts: &[&[u8]]) -> Vec<u8> {
    if parts.is_empty() {
        return b"/".to_vec();
    }
    let mut p = Vec::new();
    for part in parts {
        p.push(b'/');
        p.extend_from_slice(part);
    }
    p
}
