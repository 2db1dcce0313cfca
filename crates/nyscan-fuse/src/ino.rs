//! Inode numbers as FUSE sees them.
//!
//! FUSE needs the root to be inode 1 and never uses 0. The image's own numbers (the v5
//! `i_ino`, the v6 nid) are kept for every other inode, so `stat` shows what
//! `nydus-image inspect` shows; only three numbers move:
//!
//! - the image's root becomes 1;
//! - the image inode numbered 1, if it is not the root, takes the root's old number (or
//!   [`u64::MAX`] when the root was 0);
//! - an image inode numbered 0 (possible for a v6 nid) becomes [`u64::MAX`].
//!
//! The mapping is a bijection as long as no image inode is numbered [`u64::MAX`] (v6 nids
//! are 32-byte slot numbers and v5 numbers are 32-bit, so none is).

use nyscan_rafs::Ino;

/// Translates between image inode numbers and FUSE inode numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InoMap {
    root: u64,
}

const SPARE: u64 = u64::MAX;

fn fix(x: u64) -> u64 {
    if x == 0 { SPARE } else { x }
}

fn unfix(x: u64) -> u64 {
    if x == SPARE { 0 } else { x }
}

impl InoMap {
    /// A map for an image whose root directory is `root`.
    pub fn new(root: Ino) -> InoMap {
        InoMap { root: root.0 }
    }

    /// The FUSE number of image inode `ino`.
    pub fn to_fuse(&self, ino: Ino) -> u64 {
        if ino.0 == self.root {
            1
        } else if ino.0 == 1 {
            fix(self.root)
        } else {
            fix(ino.0)
        }
    }

    /// The image inode of FUSE number `fuse`.
    pub fn to_image(&self, fuse: u64) -> Ino {
        if fuse == 1 {
            return Ino(self.root);
        }
        let x = unfix(fuse);
        Ino(if x == self.root { 1 } else { x })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_one_and_the_map_is_a_bijection() {
        for root in [0u64, 1, 2, 5, 36, 1000] {
            let map = InoMap::new(Ino(root));
            assert_eq!(map.to_fuse(Ino(root)), 1);
            let mut seen = std::collections::HashSet::new();
            for x in 0..64u64 {
                let f = map.to_fuse(Ino(x));
                assert_ne!(f, 0, "root {root}, ino {x}");
                assert!(seen.insert(f), "root {root}: {x} collides");
                assert_eq!(map.to_image(f), Ino(x), "root {root}, ino {x}");
            }
            // Numbers other than 0, 1 and the root stay as they are.
            for x in 2..64u64 {
                if x != root {
                    assert_eq!(map.to_fuse(Ino(x)), x);
                }
            }
        }
    }
}
