//! A small ELF reader over a [`ByteSource`], built for restartable reads.
//!
//! Each step reads exactly the bytes it needs, in the order the format points to them:
//! the file header ([`Elf::parse`]), then the section header table
//! ([`Elf::section_headers`]) and the section-name table ([`Sections::read`]), then the
//! named sections ([`Sections::read_section`]). A step whose bytes are not fetched yet fails
//! with [`ElfError::Read`] holding [`ReadError::Need`]; the caller returns it and runs again
//! once the planner fetched them.
//!
//! ELF32 and ELF64, little and big endian. Every offset, size and count is checked against
//! the file size and against the limits below before anything is allocated.
//!
//! ```text
//!  0        e_phoff              e_shoff (often at the end)
//!  +--------+---------+---...----+------------------------------+
//!  | header | program | sections | section header table         |
//!  | 52/64 B| headers |  data    | e_shnum x e_shentsize        |
//!  +--------+---------+---...----+------------------------------+
//!  section names: the section e_shstrndx (a string table), at sh_name offsets
//! ```

use std::borrow::Cow;

use crate::analyzer::AnalyzeError;
use crate::bytes::{ByteSource, ReadError};

/// Most section headers a file may declare.
pub const MAX_SECTIONS: u64 = 1 << 16;
/// Most program headers a file may declare.
pub const MAX_SEGMENTS: u64 = 1 << 12;
/// Largest header table entry accepted (`e_shentsize`, `e_phentsize`; the format's are 32 to
/// 64 bytes).
pub const MAX_ENTRY_SIZE: u16 = 256;
/// Largest section-name table read.
pub const MAX_SECTION_NAMES: u64 = 1 << 20;

/// Bytes of an ELF64 file header (an ELF32 header is shorter).
pub const HEADER_LEN: u64 = 64;

const SHT_NOBITS: u32 = 8;
/// `PT_LOAD`: a loadable segment.
pub const PT_LOAD: u32 = 1;
/// `PF_X`: the segment is executable.
pub const PF_X: u32 = 1;
/// `PF_W`: the segment is writable.
pub const PF_W: u32 = 2;
const SHN_XINDEX: u16 = 0xffff;

/// Why an ELF file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// The bytes are not fetched yet, or a read ran past the data.
    #[error("reading {what}")]
    Read {
        /// What was being read.
        what: &'static str,
        /// The read error (`Need` when the bytes are merely not fetched yet).
        #[source]
        source: ReadError,
    },
    /// The file does not start with `\x7fELF`.
    #[error("not an ELF file")]
    NotElf,
    /// A header field holds a value this reader refuses.
    #[error("invalid {what} at offset {offset:#x}: {reason}")]
    Invalid {
        /// The structure.
        what: &'static str,
        /// Its offset in the file.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A table lies (partly) outside the file.
    #[error("{what} at offset {offset:#x} ({len} bytes) lies outside the file ({size} bytes)")]
    OutOfFile {
        /// The structure.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// Its length.
        len: u64,
        /// The file size.
        size: u64,
    },
    /// A count or size exceeds a limit of this reader.
    #[error("{what}: {value} exceeds the limit of {max}")]
    Limit {
        /// What was counted.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The limit.
        max: u64,
    },
}

impl ElfError {
    /// True when the error only means "fetch more bytes and run again".
    pub fn is_need(&self) -> bool {
        matches!(
            self,
            ElfError::Read {
                source: ReadError::Need(_),
                ..
            }
        )
    }
}

impl From<ElfError> for AnalyzeError {
    fn from(e: ElfError) -> Self {
        match e {
            ElfError::Read {
                source: ReadError::Need(need),
                ..
            } => AnalyzeError::Need(need),
            e @ ElfError::Limit { .. } => AnalyzeError::Limit(e.to_string()),
            e => AnalyzeError::Invalid(e.to_string()),
        }
    }
}

/// Reads `len` bytes at `offset`, checked against the file size first.
pub(crate) fn read_checked<'a>(
    src: &'a dyn ByteSource,
    offset: u64,
    len: u64,
    what: &'static str,
) -> Result<Cow<'a, [u8]>, ElfError> {
    let size = src.len();
    if offset.checked_add(len).is_none_or(|end| end > size) {
        return Err(ElfError::OutOfFile {
            what,
            offset,
            len,
            size,
        });
    }
    let len = usize::try_from(len).map_err(|_| ElfError::Limit {
        what,
        value: len,
        max: usize::MAX as u64,
    })?;
    src.read_at(offset, len)
        .map_err(|source| ElfError::Read { what, source })
}

/// ELF class: the width of addresses and offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 32-bit.
    Elf32,
    /// 64-bit.
    Elf64,
}

/// Byte order of the file's multi-byte fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Little endian.
    Little,
    /// Big endian.
    Big,
}

impl Endian {
    /// A `u16` at `at`.
    pub fn u16(self, b: &[u8], at: usize) -> u16 {
        let a = [b[at], b[at + 1]];
        match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        }
    }

    /// A `u32` at `at`.
    pub fn u32(self, b: &[u8], at: usize) -> u32 {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }

    /// A `u64` at `at`.
    pub fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[at..at + 8]);
        match self {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        }
    }
}

/// The ELF file header: where the tables are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elf {
    /// 32 or 64 bit.
    pub class: Class,
    /// Byte order.
    pub endian: Endian,
    /// `e_type` (2 = executable, 3 = shared object / PIE).
    pub file_type: u16,
    /// `e_machine`.
    pub machine: u16,
    /// `e_phoff`: program header table offset.
    pub phoff: u64,
    /// `e_phentsize`.
    pub phentsize: u16,
    /// `e_phnum` (extended numbering resolved in [`Elf::program_headers`]).
    pub phnum: u16,
    /// `e_shoff`: section header table offset (0: none).
    pub shoff: u64,
    /// `e_shentsize`.
    pub shentsize: u16,
    /// `e_shnum` (0 with a non-zero `e_shoff`: the count is in section 0).
    pub shnum: u16,
    /// `e_shstrndx`: the section holding section names.
    pub shstrndx: u16,
}

/// True when `head` starts with the ELF magic.
pub fn has_magic(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

impl Elf {
    /// Reads and checks the file header.
    pub fn parse(src: &dyn ByteSource) -> Result<Elf, ElfError> {
        let magic = src.read_up_to(0, 4).map_err(|source| ElfError::Read {
            what: "ELF magic",
            source,
        })?;
        if !has_magic(&magic) {
            return Err(ElfError::NotElf);
        }
        let ident = read_checked(src, 0, 16, "ELF identification")?;
        let class = match ident[4] {
            1 => Class::Elf32,
            2 => Class::Elf64,
            _ => {
                return Err(ElfError::Invalid {
                    what: "ELF header",
                    offset: 4,
                    reason: "unknown class (EI_CLASS)",
                });
            }
        };
        let endian = match ident[5] {
            1 => Endian::Little,
            2 => Endian::Big,
            _ => {
                return Err(ElfError::Invalid {
                    what: "ELF header",
                    offset: 5,
                    reason: "unknown data encoding (EI_DATA)",
                });
            }
        };
        let header_len = match class {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        };
        let h = read_checked(src, 0, header_len, "ELF header")?;
        let e = endian;
        let elf = match class {
            Class::Elf32 => Elf {
                class,
                endian,
                file_type: e.u16(&h, 16),
                machine: e.u16(&h, 18),
                phoff: u64::from(e.u32(&h, 28)),
                shoff: u64::from(e.u32(&h, 32)),
                phentsize: e.u16(&h, 42),
                phnum: e.u16(&h, 44),
                shentsize: e.u16(&h, 46),
                shnum: e.u16(&h, 48),
                shstrndx: e.u16(&h, 50),
            },
            Class::Elf64 => Elf {
                class,
                endian,
                file_type: e.u16(&h, 16),
                machine: e.u16(&h, 18),
                phoff: e.u64(&h, 32),
                shoff: e.u64(&h, 40),
                phentsize: e.u16(&h, 54),
                phnum: e.u16(&h, 56),
                shentsize: e.u16(&h, 58),
                shnum: e.u16(&h, 60),
                shstrndx: e.u16(&h, 62),
            },
        };
        Ok(elf)
    }

    fn section_header_len(&self) -> u64 {
        match self.class {
            Class::Elf32 => 40,
            Class::Elf64 => 64,
        }
    }

    fn program_header_len(&self) -> u64 {
        match self.class {
            Class::Elf32 => 32,
            Class::Elf64 => 56,
        }
    }

    fn parse_section_header(&self, b: &[u8]) -> SectionHeader {
        let e = self.endian;
        match self.class {
            Class::Elf32 => SectionHeader {
                name: e.u32(b, 0),
                kind: e.u32(b, 4),
                flags: u64::from(e.u32(b, 8)),
                addr: u64::from(e.u32(b, 12)),
                offset: u64::from(e.u32(b, 16)),
                size: u64::from(e.u32(b, 20)),
                link: e.u32(b, 24),
                info: e.u32(b, 28),
                entsize: u64::from(e.u32(b, 36)),
            },
            Class::Elf64 => SectionHeader {
                name: e.u32(b, 0),
                kind: e.u32(b, 4),
                flags: e.u64(b, 8),
                addr: e.u64(b, 16),
                offset: e.u64(b, 24),
                size: e.u64(b, 32),
                link: e.u32(b, 40),
                info: e.u32(b, 44),
                entsize: e.u64(b, 56),
            },
        }
    }

    /// The section header table; empty when the file has none (`e_shoff` = 0).
    pub fn section_headers(&self, src: &dyn ByteSource) -> Result<Vec<SectionHeader>, ElfError> {
        if self.shoff == 0 {
            return Ok(Vec::new());
        }
        let entry_len = self.section_header_len();
        if u64::from(self.shentsize) < entry_len {
            return Err(ElfError::Invalid {
                what: "ELF header",
                offset: 0,
                reason: "section header entry size (e_shentsize) too small",
            });
        }
        if self.shentsize > MAX_ENTRY_SIZE {
            return Err(ElfError::Limit {
                what: "section header entry size",
                value: u64::from(self.shentsize),
                max: u64::from(MAX_ENTRY_SIZE),
            });
        }
        let stride = u64::from(self.shentsize);
        let mut count = u64::from(self.shnum);
        if count == 0 {
            // Extended numbering: the count is the size field of section 0.
            let first = read_checked(src, self.shoff, entry_len, "section header 0")?;
            count = self.parse_section_header(&first).size;
        }
        if count > MAX_SECTIONS {
            return Err(ElfError::Limit {
                what: "section header count",
                value: count,
                max: MAX_SECTIONS,
            });
        }
        let table_len = count * stride;
        let table = read_checked(src, self.shoff, table_len, "section header table")?;
        Ok(table
            .chunks_exact(stride as usize)
            .map(|b| self.parse_section_header(b))
            .collect())
    }

    /// The program header table; empty when the file has none.
    pub fn program_headers(&self, src: &dyn ByteSource) -> Result<Vec<ProgramHeader>, ElfError> {
        if self.phoff == 0 || self.phnum == 0 {
            return Ok(Vec::new());
        }
        let entry_len = self.program_header_len();
        if u64::from(self.phentsize) < entry_len {
            return Err(ElfError::Invalid {
                what: "ELF header",
                offset: 0,
                reason: "program header entry size (e_phentsize) too small",
            });
        }
        let mut count = u64::from(self.phnum);
        if self.phnum == 0xffff && self.shoff != 0 {
            // PN_XNUM: the count is the info field of section 0.
            let first = read_checked(
                src,
                self.shoff,
                self.section_header_len(),
                "section header 0",
            )?;
            count = u64::from(self.parse_section_header(&first).info);
        }
        if count > MAX_SEGMENTS {
            return Err(ElfError::Limit {
                what: "program header count",
                value: count,
                max: MAX_SEGMENTS,
            });
        }
        if self.phentsize > MAX_ENTRY_SIZE {
            return Err(ElfError::Limit {
                what: "program header entry size",
                value: u64::from(self.phentsize),
                max: u64::from(MAX_ENTRY_SIZE),
            });
        }
        let stride = u64::from(self.phentsize);
        let table = read_checked(src, self.phoff, count * stride, "program header table")?;
        let e = self.endian;
        Ok(table
            .chunks_exact(stride as usize)
            .map(|b| match self.class {
                Class::Elf32 => ProgramHeader {
                    kind: e.u32(b, 0),
                    offset: u64::from(e.u32(b, 4)),
                    vaddr: u64::from(e.u32(b, 8)),
                    filesz: u64::from(e.u32(b, 16)),
                    memsz: u64::from(e.u32(b, 20)),
                    flags: e.u32(b, 24),
                },
                Class::Elf64 => ProgramHeader {
                    kind: e.u32(b, 0),
                    flags: e.u32(b, 4),
                    offset: e.u64(b, 8),
                    vaddr: e.u64(b, 16),
                    filesz: e.u64(b, 32),
                    memsz: e.u64(b, 40),
                },
            })
            .collect())
    }

    /// The index of the section-name table, extended numbering resolved.
    fn names_index(&self, headers: &[SectionHeader]) -> Option<usize> {
        if self.shstrndx == SHN_XINDEX {
            headers.first().map(|h| h.link as usize)
        } else if self.shstrndx == 0 {
            None
        } else {
            Some(usize::from(self.shstrndx))
        }
    }
}

/// One section header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionHeader {
    /// `sh_name`: offset of the name in the section-name table.
    pub name: u32,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`: virtual address when loaded.
    pub addr: u64,
    /// `sh_offset`: where the bytes are in the file.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_link` (for a symbol table: its string table).
    pub link: u32,
    /// `sh_info`.
    pub info: u32,
    /// `sh_entsize`: size of one entry, for tables.
    pub entsize: u64,
}

impl SectionHeader {
    /// True when the section occupies no file bytes (`SHT_NOBITS`, e.g. `.bss`).
    pub fn is_nobits(&self) -> bool {
        self.kind == SHT_NOBITS
    }
}

/// One program header (segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramHeader {
    /// `p_type`.
    pub kind: u32,
    /// `p_flags`.
    pub flags: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
}

/// The file offset of `len` bytes at virtual address `addr`, through the loadable segments
/// (the bytes must lie inside one segment's file image).
pub fn vaddr_to_offset(segments: &[ProgramHeader], addr: u64, len: u64) -> Option<u64> {
    segments.iter().filter(|p| p.kind == PT_LOAD).find_map(|p| {
        let end = addr.checked_add(len)?;
        let seg_end = p.vaddr.checked_add(p.filesz)?;
        (p.vaddr <= addr && end <= seg_end).then(|| p.offset.checked_add(addr - p.vaddr))?
    })
}

/// The section headers of a file with their names.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    headers: Vec<SectionHeader>,
    names: Vec<u8>,
}

impl Sections {
    /// Reads the section header table and the section-name table.
    pub fn read(elf: &Elf, src: &dyn ByteSource) -> Result<Sections, ElfError> {
        let headers = elf.section_headers(src)?;
        let names = match elf.names_index(&headers) {
            None => Vec::new(),
            Some(index) => {
                let table = headers.get(index).ok_or(ElfError::Invalid {
                    what: "ELF header",
                    offset: 0,
                    reason: "section-name table index (e_shstrndx) out of range",
                })?;
                if table.is_nobits() {
                    Vec::new()
                } else {
                    if table.size > MAX_SECTION_NAMES {
                        return Err(ElfError::Limit {
                            what: "section-name table size",
                            value: table.size,
                            max: MAX_SECTION_NAMES,
                        });
                    }
                    read_checked(src, table.offset, table.size, "section-name table")?.into_owned()
                }
            }
        };
        Ok(Sections { headers, names })
    }

    /// All section headers, in file order.
    pub fn headers(&self) -> &[SectionHeader] {
        &self.headers
    }

    /// True when the file has no section headers.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The name of a section (empty when the name table lacks it).
    pub fn name_of(&self, header: &SectionHeader) -> &[u8] {
        let start = header.name as usize;
        let Some(rest) = self.names.get(start..) else {
            return b"";
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
    }

    /// The first section named `name`.
    pub fn find(&self, name: &str) -> Option<&SectionHeader> {
        self.headers
            .iter()
            .find(|h| self.name_of(h) == name.as_bytes())
    }

    /// The section at `index`.
    pub fn get(&self, index: usize) -> Option<&SectionHeader> {
        self.headers.get(index)
    }

    /// The bytes of a section, refused when larger than `max`.
    pub fn read_section<'a>(
        src: &'a dyn ByteSource,
        header: &SectionHeader,
        max: u64,
        what: &'static str,
    ) -> Result<Cow<'a, [u8]>, ElfError> {
        if header.is_nobits() {
            return Err(ElfError::Invalid {
                what,
                offset: header.offset,
                reason: "section has no bytes in the file (SHT_NOBITS)",
            });
        }
        if header.size > max {
            return Err(ElfError::Limit {
                what,
                value: header.size,
                max,
            });
        }
        read_checked(src, header.offset, header.size, what)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::archive::zip::in_memory as mem;
    use crate::bytes::{FileView, Need};

    /// Section description for [`build_elf`]: name, type, address, bytes.
    pub(crate) struct TestSection<'a> {
        pub name: &'a str,
        pub kind: u32,
        pub addr: u64,
        pub data: &'a [u8],
        pub link: u32,
        pub entsize: u64,
    }

    /// Builds an ELF file with the given sections, one PT_LOAD covering the whole file at
    /// vaddr 0x400000 (writable), in the given class and byte order.
    pub(crate) fn build_elf(class: Class, endian: Endian, sections: &[TestSection<'_>]) -> Vec<u8> {
        let is64 = class == Class::Elf64;
        let ehsize = if is64 { 64 } else { 52 };
        let phentsize = if is64 { 56 } else { 32 };
        let shentsize = if is64 { 64 } else { 40 };
        let put16 = |v: &mut Vec<u8>, x: u16| match endian {
            Endian::Little => v.extend_from_slice(&x.to_le_bytes()),
            Endian::Big => v.extend_from_slice(&x.to_be_bytes()),
        };
        let put32 = |v: &mut Vec<u8>, x: u32| match endian {
            Endian::Little => v.extend_from_slice(&x.to_le_bytes()),
            Endian::Big => v.extend_from_slice(&x.to_be_bytes()),
        };
        let put64 = |v: &mut Vec<u8>, x: u64| match endian {
            Endian::Little => v.extend_from_slice(&x.to_le_bytes()),
            Endian::Big => v.extend_from_slice(&x.to_be_bytes()),
        };
        let putw = |v: &mut Vec<u8>, x: u64| {
            if is64 {
                put64(v, x)
            } else {
                put32(v, x as u32)
            }
        };
        // Section names table: "" + names + ".shstrtab".
        let mut shstr = vec![0u8];
        let mut name_offsets = Vec::new();
        for s in sections {
            name_offsets.push(shstr.len() as u32);
            shstr.extend_from_slice(s.name.as_bytes());
            shstr.push(0);
        }
        let shstr_name = shstr.len() as u32;
        shstr.extend_from_slice(b".shstrtab\0");

        // Layout: header, one program header, section data (16-aligned), shstrtab, table.
        let mut body = Vec::new();
        let data_start = (ehsize + phentsize) as u64;
        let mut offsets = Vec::new();
        for s in sections {
            while !(data_start + body.len() as u64).is_multiple_of(16) {
                body.push(0);
            }
            offsets.push(data_start + body.len() as u64);
            body.extend_from_slice(s.data);
        }
        let shstr_off = data_start + body.len() as u64;
        body.extend_from_slice(&shstr);
        while !(data_start + body.len() as u64).is_multiple_of(8) {
            body.push(0);
        }
        let shoff = data_start + body.len() as u64;
        let shnum = sections.len() as u16 + 2;
        let total = shoff + u64::from(shnum) * shentsize as u64;

        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF");
        out.push(if is64 { 2 } else { 1 });
        out.push(if endian == Endian::Little { 1 } else { 2 });
        out.push(1);
        out.resize(16, 0);
        put16(&mut out, 2); // e_type
        put16(&mut out, if is64 { 62 } else { 3 }); // e_machine
        put32(&mut out, 1); // e_version
        putw(&mut out, 0x401000); // e_entry
        putw(&mut out, ehsize as u64); // e_phoff
        putw(&mut out, shoff); // e_shoff
        put32(&mut out, 0); // e_flags
        put16(&mut out, ehsize as u16);
        put16(&mut out, phentsize as u16);
        put16(&mut out, 1);
        put16(&mut out, shentsize as u16);
        put16(&mut out, shnum);
        put16(&mut out, shnum - 1); // shstrtab is last
        assert_eq!(out.len(), ehsize);
        // PT_LOAD, RW, whole file at 0x400000.
        if is64 {
            put32(&mut out, PT_LOAD);
            put32(&mut out, PF_W | 4);
            put64(&mut out, 0);
            put64(&mut out, 0x400000);
            put64(&mut out, 0x400000);
            put64(&mut out, total);
            put64(&mut out, total);
            put64(&mut out, 0x1000);
        } else {
            put32(&mut out, PT_LOAD);
            put32(&mut out, 0);
            put32(&mut out, 0x400000);
            put32(&mut out, 0x400000);
            put32(&mut out, total as u32);
            put32(&mut out, total as u32);
            put32(&mut out, PF_W | 4);
            put32(&mut out, 0x1000);
        }
        out.extend_from_slice(&body);
        let put_sh = |out: &mut Vec<u8>,
                      name: u32,
                      kind: u32,
                      addr: u64,
                      off: u64,
                      size: u64,
                      link: u32,
                      entsize: u64| {
            put32(out, name);
            put32(out, kind);
            putw(out, 2); // flags: alloc
            putw(out, addr);
            putw(out, off);
            putw(out, size);
            put32(out, link);
            put32(out, 0);
            putw(out, 1);
            putw(out, entsize);
        };
        put_sh(&mut out, 0, 0, 0, 0, 0, 0, 0);
        for (i, s) in sections.iter().enumerate() {
            let addr = if s.addr == 0 {
                0x400000 + offsets[i]
            } else {
                s.addr
            };
            put_sh(
                &mut out,
                name_offsets[i],
                s.kind,
                addr,
                offsets[i],
                s.data.len() as u64,
                s.link,
                s.entsize,
            );
        }
        put_sh(
            &mut out,
            shstr_name,
            3,
            0,
            shstr_off,
            shstr.len() as u64,
            0,
            0,
        );
        assert_eq!(out.len() as u64, total);
        out
    }

    fn sample(class: Class, endian: Endian) -> Vec<u8> {
        build_elf(
            class,
            endian,
            &[
                TestSection {
                    name: ".text",
                    kind: 1,
                    addr: 0,
                    data: b"code",
                    link: 0,
                    entsize: 0,
                },
                TestSection {
                    name: ".dep-v0",
                    kind: 1,
                    addr: 0,
                    data: b"payload",
                    link: 0,
                    entsize: 0,
                },
            ],
        )
    }

    #[test]
    fn reads_named_sections_in_all_four_layouts() {
        for class in [Class::Elf32, Class::Elf64] {
            for endian in [Endian::Little, Endian::Big] {
                let file = sample(class, endian);
                let src = &mem(&file);
                let elf = Elf::parse(src).unwrap();
                assert_eq!((elf.class, elf.endian), (class, endian));
                let sections = Sections::read(&elf, src).unwrap();
                let dep = sections.find(".dep-v0").unwrap();
                let bytes = Sections::read_section(src, dep, 100, ".dep-v0").unwrap();
                assert_eq!(&*bytes, b"payload");
                assert!(sections.find(".go.buildinfo").is_none());
                let segments = elf.program_headers(src).unwrap();
                assert_eq!(vaddr_to_offset(&segments, dep.addr, 7), Some(dep.offset));
                assert_eq!(vaddr_to_offset(&segments, 0x10, 1), None);
            }
        }
    }

    #[test]
    fn reads_restart_in_rounds_header_table_names_section() {
        let file = sample(Class::Elf64, Endian::Little);
        let mut view = FileView::new(file.len() as u64);
        view.insert(0, &file[..64]);
        let mut rounds = 0;
        let bytes = loop {
            let attempt = (|| -> Result<Vec<u8>, ElfError> {
                let elf = Elf::parse(&view)?;
                let sections = Sections::read(&elf, &view)?;
                let dep = sections.find(".dep-v0").unwrap();
                Ok(Sections::read_section(&view, dep, 100, "dep")?.into_owned())
            })();
            match attempt {
                Ok(b) => break b,
                Err(ElfError::Read {
                    source: ReadError::Need(Need { ranges }),
                    ..
                }) => {
                    rounds += 1;
                    for r in ranges {
                        view.insert(r.start, &file[r.start as usize..r.end as usize]);
                    }
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(bytes, b"payload");
        assert_eq!(rounds, 3, "section table, name table, section");
    }

    #[test]
    fn refuses_bad_headers_by_name() {
        let file = sample(Class::Elf64, Endian::Little);
        let src = &mem(b"#!/bin/sh\necho hi\n");
        assert_eq!(Elf::parse(src).unwrap_err(), ElfError::NotElf);
        let mut bad = file.clone();
        bad[4] = 9;
        assert!(matches!(
            Elf::parse(&mem(&bad)),
            Err(ElfError::Invalid { offset: 4, .. })
        ));
        // Section table past the end.
        let mut bad = file.clone();
        bad[40..48].copy_from_slice(&(file.len() as u64 - 10).to_le_bytes());
        let elf = Elf::parse(&mem(&bad)).unwrap();
        assert!(matches!(
            elf.section_headers(&mem(&bad)),
            Err(ElfError::OutOfFile { .. })
        ));
        // Absurd extended section count.
        let mut bad = file.clone();
        bad[60..62].copy_from_slice(&0u16.to_le_bytes());
        let shoff = u64::from_le_bytes(bad[40..48].try_into().unwrap()) as usize;
        bad[shoff + 32..shoff + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        let elf = Elf::parse(&mem(&bad)).unwrap();
        assert!(matches!(
            elf.section_headers(&mem(&bad)),
            Err(ElfError::Limit { .. })
        ));
        // Name table index out of range.
        let mut bad = file.clone();
        bad[62..64].copy_from_slice(&500u16.to_le_bytes());
        let elf = Elf::parse(&mem(&bad)).unwrap();
        assert!(matches!(
            Sections::read(&elf, &mem(&bad)),
            Err(ElfError::Invalid { .. })
        ));
        // Truncated header.
        assert!(matches!(
            Elf::parse(&mem(&file[..30])),
            Err(ElfError::OutOfFile { .. })
        ));
    }

    #[test]
    fn section_larger_than_the_limit_is_refused_before_reading() {
        let file = sample(Class::Elf64, Endian::Little);
        let elf = Elf::parse(&mem(&file)).unwrap();
        let sections = Sections::read(&elf, &mem(&file)).unwrap();
        let dep = sections.find(".dep-v0").unwrap();
        let err = Sections::read_section(&mem(&file), dep, 3, "dep").unwrap_err();
        assert!(matches!(
            err,
            ElfError::Limit {
                value: 7,
                max: 3,
                ..
            }
        ));
        assert!(matches!(AnalyzeError::from(err), AnalyzeError::Limit(_)));
    }
}
