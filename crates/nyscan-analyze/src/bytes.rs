//! Restartable reads over files whose bytes arrive in rounds.
//!
//! Analyzers are written as plain parsers over a [`ByteSource`]. When a parser asks for bytes
//! that have not been fetched yet it gets [`Need`] back, returns it (`?`), and the planner
//! fetches every file's missing ranges in one batched round, then runs the parser again with
//! more bytes known. Parsing is cheap next to fetching, so a parser that stops at the first
//! missing range and starts over costs little, and the number of rounds is the depth of the
//! format's pointer chain (ELF: header, section table, section), never the number of reads.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

/// Bytes a parser asked for that are not known yet: the planner fetches them and runs the
/// parser again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Byte ranges of the file (not of a nested view) that are missing.
    pub ranges: Vec<Range<u64>>,
}

impl Need {
    /// A need for one range.
    pub fn range(range: Range<u64>) -> Self {
        Need {
            ranges: vec![range],
        }
    }
}

/// Why bytes could not be read from a [`ByteSource`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The bytes exist but have not been fetched yet.
    #[error("bytes not fetched yet")]
    Need(Need),
    /// The range runs past the end of the data.
    #[error("read of {len} bytes at offset {offset} runs past the end ({size} bytes)")]
    OutOfBounds {
        /// Offset asked for.
        offset: u64,
        /// Length asked for.
        len: u64,
        /// Size of the data.
        size: u64,
    },
}

/// Random access to the bytes of one file, or of a part of one (a member stored in an
/// archive), or of bytes decoded in memory.
pub trait ByteSource {
    /// Size in bytes.
    fn len(&self) -> u64;

    /// True when there are no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Exactly `len` bytes at `offset`.
    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, ReadError>;

    /// Up to `max` bytes at `offset` (fewer at the end).
    fn read_up_to(&self, offset: u64, max: usize) -> Result<Cow<'_, [u8]>, ReadError> {
        let available = self.len().saturating_sub(offset).min(max as u64) as usize;
        self.read_at(offset, available)
    }

    /// Where byte 0 of this source lies in the underlying file, when it is a stored (not
    /// decoded) part of it; used to translate [`Need`] ranges.
    fn file_offset(&self) -> Option<u64> {
        Some(0)
    }
}

fn bounds(offset: u64, len: usize, size: u64) -> Result<Range<u64>, ReadError> {
    let end = offset.checked_add(len as u64).filter(|&end| end <= size);
    match end {
        Some(end) => Ok(offset..end),
        None => Err(ReadError::OutOfBounds {
            offset,
            len: len as u64,
            size,
        }),
    }
}

impl ByteSource for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, ReadError> {
        let r = bounds(offset, len, ByteSource::len(self))?;
        Ok(Cow::Borrowed(&self[r.start as usize..r.end as usize]))
    }

    fn file_offset(&self) -> Option<u64> {
        None
    }
}

/// The bytes of one image file known so far: a sparse set of fetched segments.
#[derive(Debug, Clone, Default)]
pub struct FileView {
    size: u64,
    /// Segment start → bytes; segments never overlap.
    segments: BTreeMap<u64, Arc<[u8]>>,
}

impl FileView {
    /// A view of a file of `size` bytes with nothing known yet.
    pub fn new(size: u64) -> Self {
        FileView {
            size,
            segments: BTreeMap::new(),
        }
    }

    /// A view of a file whose bytes are all known.
    pub fn whole(bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        let mut view = FileView::new(bytes.len() as u64);
        if !bytes.is_empty() {
            view.segments.insert(0, bytes);
        }
        view
    }

    /// Records `bytes` as the file's content at `offset` (clipped to the file size; parts
    /// already known are kept).
    pub fn insert(&mut self, offset: u64, bytes: &[u8]) {
        let end = (offset + bytes.len() as u64).min(self.size);
        let mut at = offset;
        while at < end {
            // Skip what is known already.
            if let Some((&start, seg)) = self.segments.range(..=at).next_back() {
                let seg_end = start + seg.len() as u64;
                if seg_end > at {
                    at = seg_end;
                    continue;
                }
            }
            let next_known = self
                .segments
                .range(at + 1..)
                .next()
                .map_or(end, |(&s, _)| s.min(end));
            let piece = &bytes[(at - offset) as usize..(next_known - offset) as usize];
            self.segments.insert(at, piece.into());
            at = next_known;
        }
    }

    /// The ranges of `want` that are not known yet.
    pub fn missing(&self, want: Range<u64>) -> Vec<Range<u64>> {
        let want = want.start.min(self.size)..want.end.min(self.size);
        let mut out = Vec::new();
        let mut at = want.start;
        for (&start, seg) in self.segments.range(..want.end) {
            let seg_end = start + seg.len() as u64;
            if seg_end <= at {
                continue;
            }
            if start > at {
                out.push(at..start);
            }
            at = at.max(seg_end);
            if at >= want.end {
                break;
            }
        }
        if at < want.end {
            out.push(at..want.end);
        }
        out
    }

    /// Bytes known so far.
    pub fn known_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.len() as u64).sum()
    }
}

impl ByteSource for FileView {
    fn len(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, ReadError> {
        let r = bounds(offset, len, self.size)?;
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        let missing = self.missing(r.clone());
        if !missing.is_empty() {
            return Err(ReadError::Need(Need { ranges: missing }));
        }
        // One segment holds it all: borrow; else stitch.
        let (&start, seg) = self
            .segments
            .range(..=r.start)
            .next_back()
            .expect("known range has a segment");
        if start + seg.len() as u64 >= r.end {
            let from = (r.start - start) as usize;
            return Ok(Cow::Borrowed(&seg[from..from + len]));
        }
        let mut out = Vec::with_capacity(len);
        let mut at = r.start;
        for (&s, seg) in self.segments.range(..r.end) {
            let seg_end = s + seg.len() as u64;
            if seg_end <= at {
                continue;
            }
            let from = (at - s) as usize;
            let to = (r.end.min(seg_end) - s) as usize;
            out.extend_from_slice(&seg[from..to]);
            at = s + to as u64;
        }
        Ok(Cow::Owned(out))
    }
}

/// A window `[start, start + len)` of another source: a member stored uncompressed inside an
/// archive, read in place.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a, S: ByteSource + ?Sized> {
    inner: &'a S,
    start: u64,
    len: u64,
}

impl<'a, S: ByteSource + ?Sized> Window<'a, S> {
    /// The window, or an error when it does not lie inside `inner`.
    pub fn new(inner: &'a S, start: u64, len: u64) -> Result<Self, ReadError> {
        match start.checked_add(len) {
            Some(end) if end <= inner.len() => Ok(Window { inner, start, len }),
            _ => Err(ReadError::OutOfBounds {
                offset: start,
                len,
                size: inner.len(),
            }),
        }
    }
}

impl<S: ByteSource + ?Sized> ByteSource for Window<'_, S> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, ReadError> {
        bounds(offset, len, self.len)?;
        self.inner.read_at(self.start + offset, len)
    }

    fn file_offset(&self) -> Option<u64> {
        self.inner.file_offset().map(|o| o + self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_reports_missing_ranges_and_stitches_segments() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut view = FileView::new(1000);
        assert_eq!(
            view.read_at(10, 5).unwrap_err(),
            ReadError::Need(Need::range(10..15))
        );
        view.insert(0, &data[0..100]);
        view.insert(200, &data[200..300]);
        assert_eq!(&*view.read_at(10, 5).unwrap(), &data[10..15]);
        assert_eq!(view.missing(50..250), vec![100..200]);
        view.insert(90, &data[90..210]);
        assert_eq!(&*view.read_at(50, 200).unwrap(), &data[50..250]);
        assert_eq!(view.known_bytes(), 300);
        assert!(matches!(
            view.read_at(990, 20),
            Err(ReadError::OutOfBounds { .. })
        ));
        let window = Window::new(&view, 200, 50).unwrap();
        assert_eq!(&*window.read_at(0, 10).unwrap(), &data[200..210]);
        assert_eq!(window.file_offset(), Some(200));
        assert!(window.read_at(45, 10).is_err());
    }
}
