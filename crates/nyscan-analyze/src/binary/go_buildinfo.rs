//! Go build information: finding the `\xff Go buildinf:` blob in an ELF file and decoding
//! the Go version and the module information (`runtime/debug.BuildInfo` text).
//!
//! Where the blob is (facts of Go's `debug/buildinfo`):
//! - in the section `.go.buildinfo` when the file has section headers;
//! - otherwise near the start of the first writable, non-executable loadable segment
//!   (the first 64 KiB are searched, at 16-byte alignment). This reader only searches the
//!   segment when the file has **no section headers at all** (stripped with `sstrip` or
//!   similar); Go also searches it for files whose sections lack `.go.buildinfo`, which for a
//!   scanner means reading 64 KiB of every C executable for a blob that is never there.
//!
//! The 32-byte header: 14 bytes of magic, the pointer size, a flags byte. Go 1.18 and later
//! set flag bit 1: the header is followed by the two strings inline, each prefixed by its
//! length as an unsigned varint. Older Go stores two pointers at offset 16 to Go string
//! headers (pointer, length), which are resolved through the loadable segments (flag bit 0:
//! big endian). The module text is framed by 16-byte sentinels on both ends, stripped here.

use crate::binary::elf::{
    Elf, ElfError, PF_W, PF_X, PT_LOAD, ProgramHeader, Sections, read_checked, vaddr_to_offset,
};
use crate::bytes::ByteSource;

/// The first bytes of the build information blob.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// Largest `.go.buildinfo` section read.
pub const MAX_SECTION: u64 = 16 << 20;
/// How much of the data segment is searched when there are no section headers (Go: 64 KiB).
pub const SEGMENT_WINDOW: u64 = 64 << 10;
/// Longest version or module string accepted.
pub const MAX_STRING: u64 = 16 << 20;
/// Most module lines accepted.
pub const MAX_MODULES: usize = 100_000;

const HEADER_LEN: u64 = 32;
const ALIGN: usize = 16;
const FLAG_BIG_ENDIAN: u8 = 1;
const FLAG_INLINE: u8 = 2;

/// Why Go build information could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoError {
    /// The ELF structure around it.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// No build information: not a Go binary (or one this reader cannot locate).
    #[error("no Go build information")]
    NotGo,
    /// The blob holds a value this reader refuses.
    #[error("invalid Go build information at offset {offset:#x}: {reason}")]
    Invalid {
        /// File offset of the bad value.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A string or count exceeds a limit.
    #[error("Go build information: {what} {value} exceeds the limit of {max}")]
    Limit {
        /// What was measured.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// The module text does not parse (Go's `debug.ParseBuildInfo` refuses it too).
    #[error("Go module information, line {line}: {reason}")]
    ModInfo {
        /// 1-based line number in the module text.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl GoError {
    /// True when the error only means "fetch more bytes and run again".
    pub fn is_need(&self) -> bool {
        matches!(self, GoError::Elf(e) if e.is_need())
    }
}

impl From<GoError> for crate::analyzer::AnalyzeError {
    fn from(e: GoError) -> Self {
        use crate::analyzer::AnalyzeError;
        match e {
            GoError::Elf(e) => e.into(),
            e @ GoError::Limit { .. } => AnalyzeError::Limit(e.to_string()),
            e => AnalyzeError::Invalid(e.to_string()),
        }
    }
}

/// The two strings of the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBuildInfo {
    /// The toolchain version, e.g. `go1.22.3` (GOEXPERIMENT suffixes kept).
    pub go_version: String,
    /// The module text with its sentinels stripped (empty when absent or malformed framing).
    pub modinfo: String,
}

/// Where the blob is searched: a file offset and how many bytes.
struct SearchArea {
    offset: u64,
    len: u64,
}

/// Finds and decodes the build information blob.
pub fn read_raw(
    src: &dyn ByteSource,
    elf: &Elf,
    sections: &Sections,
) -> Result<RawBuildInfo, GoError> {
    let area = if let Some(section) = sections.find(".go.buildinfo") {
        if section.is_nobits() {
            return Err(GoError::NotGo);
        }
        if section.size > MAX_SECTION {
            return Err(GoError::Limit {
                what: ".go.buildinfo size",
                value: section.size,
                max: MAX_SECTION,
            });
        }
        SearchArea {
            offset: section.offset,
            len: section.size,
        }
    } else if sections.is_empty() {
        let segments = elf.program_headers(src)?;
        let Some(data) = first_data_segment(&segments) else {
            return Err(GoError::NotGo);
        };
        SearchArea {
            offset: data.offset,
            len: data.filesz.min(SEGMENT_WINDOW),
        }
    } else {
        return Err(GoError::NotGo);
    };

    let window = read_checked(src, area.offset, area.len, "Go build information area")?;
    let Some(at) = find_aligned_magic(&window) else {
        return Err(GoError::NotGo);
    };
    let header_offset = area.offset + at as u64;
    let header = &window[at..at + HEADER_LEN as usize];
    let pointer_size = header[14];
    let flags = header[15];

    let (version, modinfo) = if flags & FLAG_INLINE != 0 {
        let (version, next) = inline_string(src, header_offset + HEADER_LEN)?;
        let modinfo = match next {
            Some(next) => inline_string(src, next)?.0,
            None => Vec::new(),
        };
        (version, modinfo)
    } else {
        if pointer_size != 4 && pointer_size != 8 {
            return Err(GoError::Invalid {
                offset: header_offset + 14,
                reason: "pointer size is neither 4 nor 8",
            });
        }
        let segments = elf.program_headers(src)?;
        let pointers = PointerForm {
            size: u64::from(pointer_size),
            big_endian: flags & FLAG_BIG_ENDIAN != 0,
        };
        let version_at = pointers.read(&header[16..]);
        let modinfo_at = pointers.read(&header[16 + pointer_size as usize..]);
        let version = pointers.string(src, &segments, version_at)?;
        let modinfo = pointers.string(src, &segments, modinfo_at)?;
        (version, modinfo)
    };
    if version.is_empty() {
        return Err(GoError::NotGo);
    }
    Ok(RawBuildInfo {
        go_version: String::from_utf8_lossy(&version).into_owned(),
        modinfo: String::from_utf8_lossy(strip_sentinels(&modinfo)).into_owned(),
    })
}

/// The segment Go searches when no `.go.buildinfo` section is known: the first loadable one
/// that is writable and not executable.
fn first_data_segment(segments: &[ProgramHeader]) -> Option<&ProgramHeader> {
    segments
        .iter()
        .find(|p| p.kind == PT_LOAD && p.flags & (PF_X | PF_W) == PF_W)
}

/// The offset of the magic at 16-byte alignment with a whole header after it.
fn find_aligned_magic(window: &[u8]) -> Option<usize> {
    let header = HEADER_LEN as usize;
    (0..window.len())
        .step_by(ALIGN)
        .take_while(|&at| window.len() - at >= header)
        .find(|&at| window[at..].starts_with(MAGIC))
}

/// Removes the 16-byte sentinels around the module text; text without them counts as absent
/// (as Go's reader does).
fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    let n = modinfo.len();
    if n >= 33 && modinfo[n - 17] == b'\n' {
        &modinfo[16..n - 16]
    } else {
        &[]
    }
}

/// An unsigned LEB128 varint as Go's `binary.Uvarint` reads it: the value and its length, or
/// `None` when it is cut short or overflows 64 bits.
fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return None;
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// A varint-prefixed string at `offset`, and the offset after it (`None` when the string is
/// unreadable, which ends the blob as Go's reader does: the string is empty).
fn inline_string(src: &dyn ByteSource, offset: u64) -> Result<(Vec<u8>, Option<u64>), GoError> {
    let prefix = src
        .read_up_to(offset, 10)
        .map_err(|source| ElfError::Read {
            what: "Go build information string length",
            source,
        })?;
    let Some((len, used)) = uvarint(&prefix) else {
        return Ok((Vec::new(), None));
    };
    if len > MAX_STRING {
        return Err(GoError::Limit {
            what: "string length",
            value: len,
            max: MAX_STRING,
        });
    }
    let start = offset + used as u64;
    if start.checked_add(len).is_none_or(|end| end > src.len()) {
        return Ok((Vec::new(), None));
    }
    let bytes = read_checked(src, start, len, "Go build information string")?;
    Ok((bytes.into_owned(), Some(start + len)))
}

/// Pre-1.18 blobs: pointers to Go string headers.
struct PointerForm {
    size: u64,
    big_endian: bool,
}

impl PointerForm {
    fn read(&self, b: &[u8]) -> u64 {
        match (self.size, self.big_endian) {
            (4, false) => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            (4, true) => u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            (_, false) => u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])),
            (_, true) => u64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8])),
        }
    }

    /// The string whose header is at virtual address `addr`; empty when any address does not
    /// map into a loadable segment (Go's reader yields an empty string then).
    fn string(
        &self,
        src: &dyn ByteSource,
        segments: &[ProgramHeader],
        addr: u64,
    ) -> Result<Vec<u8>, GoError> {
        let Some(header_at) = vaddr_to_offset(segments, addr, 2 * self.size) else {
            return Ok(Vec::new());
        };
        let header = read_checked(src, header_at, 2 * self.size, "Go string header")?;
        let data_addr = self.read(&header);
        let len = self.read(&header[self.size as usize..]);
        if len > MAX_STRING {
            return Err(GoError::Limit {
                what: "string length",
                value: len,
                max: MAX_STRING,
            });
        }
        let Some(data_at) = vaddr_to_offset(segments, data_addr, len) else {
            return Ok(Vec::new());
        };
        Ok(read_checked(src, data_at, len, "Go string data")?.into_owned())
    }
}

/// A module as the build information names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Module {
    /// Module path.
    pub path: String,
    /// Version (`(devel)` for the main module built from a checkout).
    pub version: String,
    /// `h1:` checksum, when recorded.
    pub sum: String,
    /// The replacement (`=>` line), when the module was replaced.
    pub replace: Option<Box<Module>>,
}

/// The parsed module text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildInfo {
    /// The toolchain version from the blob.
    pub go_version: String,
    /// The main package path (`path` line).
    pub path: String,
    /// The main module (`mod` line); empty path when absent.
    pub main: Module,
    /// The dependencies (`dep` lines), replacements attached.
    pub deps: Vec<Module>,
    /// Build settings (`build` lines), values unquoted.
    pub settings: Vec<(String, String)>,
}

impl BuildInfo {
    /// The value of the first build setting named `key`.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the module text the way Go's `debug.ParseBuildInfo` does: tab-separated `path`,
/// `mod`, `dep`, `=>` and `build` lines; a last line without a newline is ignored; malformed
/// lines are refused with their line number.
pub fn parse_modinfo(go_version: &str, text: &str) -> Result<BuildInfo, GoError> {
    let mut info = BuildInfo {
        go_version: go_version.to_owned(),
        ..BuildInfo::default()
    };
    // Which module a `=>` line replaces: None, the main module, or a dependency index.
    enum Last {
        None,
        Main,
        Dep(usize),
    }
    let mut last = Last::None;
    let mut rest = text;
    let mut line_no = 0;
    while let Some((line, next)) = rest.split_once('\n') {
        rest = next;
        line_no += 1;
        let bad = |reason| GoError::ModInfo {
            line: line_no,
            reason,
        };
        if let Some(p) = line.strip_prefix("path\t") {
            info.path = p.to_owned();
        } else if let Some(m) = line.strip_prefix("mod\t") {
            info.main = module_line(m).ok_or(bad("expected 2 or 3 columns"))?;
            last = Last::Main;
        } else if let Some(d) = line.strip_prefix("dep\t") {
            if info.deps.len() >= MAX_MODULES {
                return Err(GoError::Limit {
                    what: "dependency count",
                    value: info.deps.len() as u64 + 1,
                    max: MAX_MODULES as u64,
                });
            }
            info.deps
                .push(module_line(d).ok_or(bad("expected 2 or 3 columns"))?);
            last = Last::Dep(info.deps.len() - 1);
        } else if let Some(r) = line.strip_prefix("=>\t") {
            let cols: Vec<&str> = r.split('\t').collect();
            if cols.len() != 3 {
                return Err(bad("expected 3 columns for replacement"));
            }
            let replacement = Box::new(Module {
                path: cols[0].to_owned(),
                version: cols[1].to_owned(),
                sum: cols[2].to_owned(),
                replace: None,
            });
            match last {
                Last::None => return Err(bad("replacement with no module on previous line")),
                Last::Main => info.main.replace = Some(replacement),
                Last::Dep(i) => info.deps[i].replace = Some(replacement),
            }
            last = Last::None;
        } else if let Some(kv) = line.strip_prefix("build\t") {
            info.settings.push(build_setting(kv).map_err(bad)?);
        }
    }
    Ok(info)
}

fn module_line(columns: &str) -> Option<Module> {
    let cols: Vec<&str> = columns.split('\t').collect();
    if cols.len() != 2 && cols.len() != 3 {
        return None;
    }
    Some(Module {
        path: cols[0].to_owned(),
        version: cols[1].to_owned(),
        sum: cols.get(2).map_or(String::new(), |s| (*s).to_owned()),
        replace: None,
    })
}

/// A `build` line's `key=value`, with Go-quoted keys and values.
fn build_setting(kv: &str) -> Result<(String, String), &'static str> {
    let first = kv.chars().next().ok_or("build line missing '='")?;
    let (key, raw_value) = match first {
        '=' => return Err("build line with missing key"),
        '"' | '`' => {
            let quoted_len = quoted_prefix_len(kv).ok_or("invalid quoted key in build line")?;
            let after = &kv[quoted_len..];
            let Some(value) = after.strip_prefix('=') else {
                return Err("build line missing '=' after quoted key");
            };
            let key = unquote(&kv[..quoted_len]).ok_or("invalid quoted key in build line")?;
            (key, value)
        }
        _ => {
            let (key, value) = kv
                .split_once('=')
                .ok_or("build line missing '=' after key")?;
            if key.is_empty() || key.contains(['=', ' ', '\t', '\r', '\n', '"', '`']) {
                return Err("unquoted key must be quoted");
            }
            (key.to_owned(), value)
        }
    };
    let value = match raw_value.chars().next() {
        Some('"' | '`') => unquote(raw_value).ok_or("invalid quoted value in build line")?,
        _ => {
            if raw_value.contains([' ', '\t', '\r', '\n', '"', '`']) {
                return Err("unquoted value must be quoted");
            }
            raw_value.to_owned()
        }
    };
    Ok((key, value))
}

/// The length of the Go string literal at the start of `s` (`"..."` with escapes, or a raw
/// `` `...` `` string).
fn quoted_prefix_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let quote = *bytes.first()?;
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\n' if quote == b'"' => return None,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Go's `strconv.Unquote` for double-quoted and raw strings (the forms `go build` writes).
pub(crate) fn unquote(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return None;
    }
    let quote = bytes[0];
    // Checked first: the quote is ASCII, so the slice below then ends on a char boundary.
    if bytes[bytes.len() - 1] != quote {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    match quote {
        b'`' => (!inner.contains('`')).then(|| inner.replace('\r', "")),
        b'"' => unescape_double_quoted(inner),
        _ => None,
    }
}

fn unescape_double_quoted(inner: &str) -> Option<String> {
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let b = inner.as_bytes();
    let mut i = 0;
    let hex = |s: &[u8]| -> Option<u32> {
        let text = std::str::from_utf8(s).ok()?;
        u32::from_str_radix(text, 16).ok()
    };
    while i < b.len() {
        match b[i] {
            b'"' | b'\n' => return None,
            b'\\' => {
                let c = *b.get(i + 1)?;
                i += 2;
                let simple = match c {
                    b'a' => Some(7),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'v' => Some(11),
                    b'\\' => Some(b'\\'),
                    b'"' => Some(b'"'),
                    _ => None,
                };
                if let Some(byte) = simple {
                    out.push(byte);
                    continue;
                }
                match c {
                    b'x' => {
                        let v = hex(b.get(i..i + 2)?)?;
                        out.push(v as u8);
                        i += 2;
                    }
                    b'0'..=b'7' => {
                        let digits = b.get(i - 1..i + 2)?;
                        let text = std::str::from_utf8(digits).ok()?;
                        let v = u32::from_str_radix(text, 8).ok()?;
                        out.push(u8::try_from(v).ok()?);
                        i += 2;
                    }
                    b'u' | b'U' => {
                        let n = if c == b'u' { 4 } else { 8 };
                        let v = hex(b.get(i..i + n)?)?;
                        let ch = char::from_u32(v)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += n;
                    }
                    _ => return None,
                }
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::zip::in_memory as mem;
    use crate::binary::elf::tests::{TestSection, build_elf};
    use crate::binary::elf::{Class, Endian};

    pub(crate) fn framed(modinfo: &str) -> Vec<u8> {
        let mut v = b"0123456789abcdef".to_vec();
        v.extend_from_slice(modinfo.as_bytes());
        v.extend_from_slice(b"fedcba9876543210");
        v
    }

    fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    pub(crate) fn inline_blob(version: &str, modinfo: &[u8]) -> Vec<u8> {
        let mut blob = MAGIC.to_vec();
        blob.push(8);
        blob.push(FLAG_INLINE);
        blob.resize(32, 0);
        varint(version.len() as u64, &mut blob);
        blob.extend_from_slice(version.as_bytes());
        varint(modinfo.len() as u64, &mut blob);
        blob.extend_from_slice(modinfo);
        blob
    }

    const MODINFO: &str = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\texample.com/greet\tv1.0.0\t\n=>\t../greet\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.7\th1:abc=\nbuild\t-ldflags=\"-X main.version=1.2.3\"\nbuild\tCGO_ENABLED=1\n";

    fn read(file: &[u8]) -> Result<RawBuildInfo, GoError> {
        let src = &mem(file);
        let elf = Elf::parse(src)?;
        let sections = Sections::read(&elf, src)?;
        read_raw(src, &elf, &sections)
    }

    #[test]
    fn inline_blob_in_section_decodes_in_every_layout() {
        let blob = inline_blob("go1.22.3", &framed(MODINFO));
        for class in [Class::Elf32, Class::Elf64] {
            for endian in [Endian::Little, Endian::Big] {
                let file = build_elf(
                    class,
                    endian,
                    &[TestSection {
                        name: ".go.buildinfo",
                        kind: 1,
                        addr: 0,
                        data: &blob,
                        link: 0,
                        entsize: 0,
                    }],
                );
                let raw = read(&file).unwrap();
                assert_eq!(raw.go_version, "go1.22.3");
                assert_eq!(raw.modinfo, MODINFO);
            }
        }
    }

    #[test]
    fn pointer_blob_resolves_through_segments() {
        // Section layout: [header 32][string headers 2x16][version][modinfo], 64-bit LE,
        // addresses 0x400000 + file offset (the builder's single segment).
        for big in [false, true] {
            let version = b"go1.16.3";
            let modinfo = framed(MODINFO);
            // The section starts at file offset 64 + 56 = 120, aligned to 128.
            let base = 0x400000u64 + 128;
            let put = |v: &mut Vec<u8>, x: u64| {
                if big {
                    v.extend_from_slice(&x.to_be_bytes())
                } else {
                    v.extend_from_slice(&x.to_le_bytes())
                }
            };
            let mut blob = MAGIC.to_vec();
            blob.push(8);
            blob.push(u8::from(big));
            put(&mut blob, base + 32);
            put(&mut blob, base + 48);
            put(&mut blob, base + 64);
            put(&mut blob, version.len() as u64);
            put(&mut blob, base + 64 + version.len() as u64);
            put(&mut blob, modinfo.len() as u64);
            blob.extend_from_slice(version);
            blob.extend_from_slice(&modinfo);
            let endian = if big { Endian::Big } else { Endian::Little };
            let file = build_elf(
                Class::Elf64,
                endian,
                &[TestSection {
                    name: ".go.buildinfo",
                    kind: 1,
                    addr: 0,
                    data: &blob,
                    link: 0,
                    entsize: 0,
                }],
            );
            let elf = Elf::parse(&mem(&file)).unwrap();
            let sections = Sections::read(&elf, &mem(&file)).unwrap();
            assert_eq!(sections.find(".go.buildinfo").unwrap().offset, 128);
            let raw = read(&file).unwrap();
            assert_eq!(raw.go_version, "go1.16.3");
            assert_eq!(raw.modinfo, MODINFO);
        }
    }

    #[test]
    fn without_section_headers_the_data_segment_is_searched() {
        let blob = inline_blob("go1.21.0", &framed(MODINFO));
        let mut file = build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".data",
                kind: 1,
                addr: 0,
                data: &blob,
                link: 0,
                entsize: 0,
            }],
        );
        // Drop the section headers: e_shoff = e_shnum = e_shstrndx = 0.
        file[40..48].fill(0);
        file[60..64].fill(0);
        let raw = read(&file).unwrap();
        assert_eq!(raw.go_version, "go1.21.0");
        // With sections but none named .go.buildinfo: not searched (documented difference).
        let with_sections = build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".data",
                kind: 1,
                addr: 0,
                data: &blob,
                link: 0,
                entsize: 0,
            }],
        );
        assert_eq!(read(&with_sections).unwrap_err(), GoError::NotGo);
    }

    #[test]
    fn hostile_blobs_end_in_errors() {
        // Empty version: not Go.
        let blob = inline_blob("", &framed(MODINFO));
        let file = build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".go.buildinfo",
                kind: 1,
                addr: 0,
                data: &blob,
                link: 0,
                entsize: 0,
            }],
        );
        assert_eq!(read(&file).unwrap_err(), GoError::NotGo);
        // Huge declared string length.
        let mut blob = MAGIC.to_vec();
        blob.push(8);
        blob.push(FLAG_INLINE);
        blob.resize(32, 0);
        varint(u64::MAX >> 1, &mut blob);
        let file = build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".go.buildinfo",
                kind: 1,
                addr: 0,
                data: &blob,
                link: 0,
                entsize: 0,
            }],
        );
        assert!(matches!(read(&file).unwrap_err(), GoError::Limit { .. }));
        // Length running past the file: the string is empty, so not Go.
        let mut blob = MAGIC.to_vec();
        blob.push(8);
        blob.push(FLAG_INLINE);
        blob.resize(32, 0);
        varint(1 << 20, &mut blob);
        let file = build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".go.buildinfo",
                kind: 1,
                addr: 0,
                data: &blob,
                link: 0,
                entsize: 0,
            }],
        );
        assert_eq!(read(&file).unwrap_err(), GoError::NotGo);
        // Pointer form with a bad pointer size.
        let mut blob = MAGIC.to_vec();
        blob.push(3);
        blob.push(0);
        blob.resize(32, 0);
        let file = build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".go.buildinfo",
                kind: 1,
                addr: 0,
                data: &blob,
                link: 0,
                entsize: 0,
            }],
        );
        assert!(matches!(read(&file).unwrap_err(), GoError::Invalid { .. }));
        // Pointers that map nowhere: empty strings, not Go.
        let mut blob = MAGIC.to_vec();
        blob.push(8);
        blob.push(0);
        blob.extend_from_slice(&u64::MAX.to_le_bytes());
        blob.extend_from_slice(&7u64.to_le_bytes());
        let file = build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".go.buildinfo",
                kind: 1,
                addr: 0,
                data: &blob,
                link: 0,
                entsize: 0,
            }],
        );
        assert_eq!(read(&file).unwrap_err(), GoError::NotGo);
        // Misaligned magic is not accepted.
        let mut blob = vec![0u8; 8];
        blob.extend_from_slice(&inline_blob("go1.20", &framed(MODINFO)));
        let file = build_elf(
            Class::Elf64,
            Endian::Little,
            &[TestSection {
                name: ".go.buildinfo",
                kind: 1,
                addr: 0,
                data: &blob,
                link: 0,
                entsize: 0,
            }],
        );
        assert_eq!(read(&file).unwrap_err(), GoError::NotGo);
    }

    #[test]
    fn modinfo_parses_like_go() {
        let info = parse_modinfo("go1.22.3", MODINFO).unwrap();
        assert_eq!(info.path, "example.com/app");
        assert_eq!(info.main.path, "example.com/app");
        assert_eq!(info.main.version, "(devel)");
        assert_eq!(info.deps.len(), 2);
        let greet = &info.deps[0];
        assert_eq!(greet.replace.as_ref().unwrap().path, "../greet");
        assert_eq!(info.deps[1].sum, "h1:abc=");
        assert_eq!(info.setting("-ldflags"), Some("-X main.version=1.2.3"));
        assert_eq!(info.setting("CGO_ENABLED"), Some("1"));
        // Last line without a newline is ignored.
        let info = parse_modinfo("go1", "dep\ta\tv1\ndep\tb\tv2").unwrap();
        assert_eq!(info.deps.len(), 1);
        // Malformed lines are refused with their number.
        assert_eq!(
            parse_modinfo("go1", "path\tx\ndep\tonly-one-column\n").unwrap_err(),
            GoError::ModInfo {
                line: 2,
                reason: "expected 2 or 3 columns"
            }
        );
        assert!(parse_modinfo("go1", "=>\ta\tb\tc\n").is_err());
        assert!(parse_modinfo("go1", "build\tkey=two words\n").is_err());
        assert!(parse_modinfo("go1", "build\t=x\n").is_err());
    }

    #[test]
    fn go_quoting_is_undone() {
        assert_eq!(
            unquote(r#""a \"b\" \x41\101\u00e9\t""#).unwrap(),
            "a \"b\" AAé\t"
        );
        assert_eq!(unquote("`raw \\n`").unwrap(), "raw \\n");
        assert!(unquote(r#""bad \q""#).is_none());
        assert!(unquote(r#""unterminated"#).is_none());
        // Found by fuzzing: a multi-byte character where the closing quote should be.
        assert!(unquote("\"abc\u{fffd}").is_none());
        assert!(parse_modinfo("go1", "build\tk=\"x\u{fffd}\n").is_err());
        let (k, v) = build_setting(r#""quoted key"="v""#).unwrap();
        assert_eq!((k.as_str(), v.as_str()), ("quoted key", "v"));
    }

    #[test]
    fn varints_decode_like_go() {
        assert_eq!(uvarint(&[0x05]), Some((5, 1)));
        assert_eq!(uvarint(&[0x80, 0x01]), Some((128, 2)));
        assert_eq!(uvarint(&[0x80]), None);
        assert_eq!(uvarint(&[0xff; 10]), None);
    }
}
