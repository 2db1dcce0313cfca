//! The bootstrap layer: a gzip tar holding `image/image.boot`.

use std::io::Read;

use crate::error::{Error, Result};

/// Path of the bootstrap inside the layer tar.
pub const BOOTSTRAP_PATH: &str = "image/image.boot";

/// Largest bootstrap accepted (nydus' own limit for RAFS metadata).
pub const MAX_BOOTSTRAP_SIZE: u64 = 2 << 30;

/// Extracts `image/image.boot` from a gzip tar layer. `digest` names the layer in errors.
pub fn extract_bootstrap(layer: &[u8], digest: &str) -> Result<Vec<u8>> {
    let bad = |reason: String| Error::BadBootstrapLayer {
        digest: digest.to_owned(),
        reason,
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a gzip tar: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("corrupt tar: {e}")))?;
        let path = entry.path_bytes().into_owned();
        let path = path.strip_prefix(b"./").unwrap_or(&path);
        if path != BOOTSTRAP_PATH.as_bytes() {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err(bad(format!("{BOOTSTRAP_PATH} is not a regular file")));
        }
        let size = entry.size();
        if size > MAX_BOOTSTRAP_SIZE {
            return Err(bad(format!(
                "{BOOTSTRAP_PATH} is {size} bytes, over the 2 GiB limit"
            )));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("corrupt tar: {e}")))?;
        if bytes.len() as u64 != size {
            return Err(bad(format!(
                "{BOOTSTRAP_PATH} is truncated: {} of {size} bytes",
                bytes.len()
            )));
        }
        return Ok(bytes);
    }
    Err(bad(format!("no {BOOTSTRAP_PATH} in the layer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o444);
            h.set_cksum();
            builder.append_data(&mut h, path, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn finds_the_bootstrap() {
        let l = layer(&[("image/other", b"x"), ("image/image.boot", b"boot bytes")]);
        assert_eq!(extract_bootstrap(&l, "sha256:x").unwrap(), b"boot bytes");
    }

    #[test]
    fn refuses_layers_without_it() {
        let l = layer(&[("image/other", b"x")]);
        let err = extract_bootstrap(&l, "sha256:x").unwrap_err().to_string();
        assert!(err.contains("no image/image.boot"), "{err}");
        let err = extract_bootstrap(b"not gzip", "sha256:x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad bootstrap layer"), "{err}");
        // A truncated gzip stream.
        let l = layer(&[("image/image.boot", &[7u8; 100_000])]);
        assert!(extract_bootstrap(&l[..l.len() / 2], "sha256:x").is_err());
    }
}
