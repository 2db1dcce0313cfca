//! Bounds-checked, offset-addressed reads over the bootstrap bytes.

use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::error::{Error, Result};

/// The bootstrap bytes, read by offset. Every read checks bounds and reports the
/// structure's name and offset on failure.
#[derive(Clone, Copy)]
pub(crate) struct Data<'a> {
    bytes: &'a [u8],
}

impl std::fmt::Debug for Data<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Data({} bytes)", self.bytes.len())
    }
}

impl<'a> Data<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Data { bytes }
    }

    pub(crate) fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `len` bytes at `offset`.
    pub(crate) fn slice(&self, offset: u64, len: u64, what: &'static str) -> Result<&'a [u8]> {
        let end = offset.checked_add(len);
        match end {
            Some(end) if end <= self.len() => Ok(&self.bytes[offset as usize..end as usize]),
            _ => Err(Error::Truncated {
                what,
                offset,
                need: len,
                have: self.len(),
            }),
        }
    }

    /// A structure at `offset`, borrowed in place.
    pub(crate) fn read<T>(&self, offset: u64, what: &'static str) -> Result<&'a T>
    where
        T: FromBytes + KnownLayout + Immutable + Unaligned,
    {
        let bytes = self.slice(offset, size_of::<T>() as u64, what)?;
        // Cannot fail: the slice has exactly the size of `T`, which has alignment 1.
        T::ref_from_bytes(bytes).map_err(|_| Error::Truncated {
            what,
            offset,
            need: size_of::<T>() as u64,
            have: self.len(),
        })
    }

    /// `count` structures of type `T` starting at `offset`.
    pub(crate) fn read_slice<T>(
        &self,
        offset: u64,
        count: u64,
        what: &'static str,
    ) -> Result<&'a [T]>
    where
        T: FromBytes + KnownLayout + Immutable + Unaligned,
    {
        let len = count
            .checked_mul(size_of::<T>() as u64)
            .ok_or(Error::Invalid {
                what,
                offset,
                reason: "entry count overflows",
                value: count,
            })?;
        let bytes = self.slice(offset, len, what)?;
        <[T]>::ref_from_bytes(bytes).map_err(|_| Error::Truncated {
            what,
            offset,
            need: len,
            have: self.len(),
        })
    }
}

/// Rounds `v` up to a multiple of `align` (a power of two).
pub(crate) fn align_up(v: u64, align: u64) -> u64 {
    v.div_ceil(align) * align
}

/// The error for a field that breaks a rule.
pub(crate) fn invalid(what: &'static str, offset: u64, reason: &'static str, value: u64) -> Error {
    Error::Invalid {
        what,
        offset,
        reason,
        value,
    }
}
