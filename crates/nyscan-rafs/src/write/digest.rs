//! The image digester (blake3 or sha256) over a sequence of byte strings.

use sha2::Digest as _;

use crate::flags::Digester;

/// An incremental hash with the image's digester.
pub(crate) enum Hasher {
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub(crate) fn new(digester: Digester) -> Hasher {
        match digester {
            Digester::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
            Digester::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Blake3(h) => {
                h.update(bytes);
            }
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    pub(crate) fn finish(self) -> [u8; 32] {
        match self {
            Hasher::Blake3(h) => *h.finalize().as_bytes(),
            Hasher::Sha256(h) => h.finalize().into(),
        }
    }
}

/// The digest of `bytes`.
pub(crate) fn digest_of(digester: Digester, bytes: &[u8]) -> [u8; 32] {
    let mut h = Hasher::new(digester);
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(digest_of(Digester::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // BLAKE3 of the empty input: the digest of every v5 special file.
        assert_eq!(
            hex(digest_of(Digester::Blake3, b"")),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }
}
