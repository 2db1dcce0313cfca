//! The main module's version from the ELF symbol table: `go build -ldflags "-X k=v"` leaves
//! a symbol `k.str` holding `v`, also when `-trimpath` kept `-ldflags` out of the build
//! information. Only unstripped files have `.symtab`. Trivy uses this as its last source for
//! the main module's version, so it is read only when the build information and the
//! `-ldflags` setting gave no release version (the table and its strings can be megabytes).

use crate::binary::elf::{Class, Elf, ElfError, Sections, read_checked};
use crate::binary::go_ldflags::{choose_version, is_version_key};
use crate::bytes::{ByteSource, Need};

/// Largest symbol table or string table read.
pub const MAX_TABLE: u64 = 64 << 20;
/// Longest symbol value read as a version string.
pub const MAX_VALUE: u64 = 4 << 10;
/// Most candidate symbols whose values are read.
pub const MAX_CANDIDATES: usize = 256;

const SHT_SYMTAB: u32 = 2;

/// A symbol whose value may hold a version.
struct Candidate {
    key: String,
    section: usize,
    value: u64,
    size: u64,
}

/// The version chosen from `*.version.str`-like symbols (empty when none or ambiguous).
/// Missing bytes are reported together, so the values of all candidates arrive in one round.
pub fn symbol_version(
    src: &dyn ByteSource,
    elf: &Elf,
    sections: &Sections,
    main_module: &str,
) -> Result<String, ElfError> {
    let Some(symtab) = sections.headers().iter().find(|h| h.kind == SHT_SYMTAB) else {
        return Ok(String::new());
    };
    let Some(strtab) = sections.get(symtab.link as usize) else {
        return Ok(String::new());
    };
    let entry_len: u64 = match elf.class {
        Class::Elf32 => 16,
        Class::Elf64 => 24,
    };
    if !symtab.size.is_multiple_of(entry_len) || symtab.is_nobits() || strtab.is_nobits() {
        return Ok(String::new());
    }
    // Both tables in one round.
    let table = Sections::read_section(src, symtab, MAX_TABLE, ".symtab");
    let names = Sections::read_section(src, strtab, MAX_TABLE, ".strtab");
    let (table, names) = match (table, names) {
        (Ok(t), Ok(n)) => (t, n),
        (t, n) => {
            let mut need = Need { ranges: Vec::new() };
            for e in [t.err(), n.err()].into_iter().flatten() {
                match e {
                    ElfError::Read {
                        source: crate::bytes::ReadError::Need(n),
                        ..
                    } => need.ranges.extend(n.ranges),
                    other => return Err(other),
                }
            }
            return Err(ElfError::Read {
                what: "symbol tables",
                source: crate::bytes::ReadError::Need(need),
            });
        }
    };

    let e = elf.endian;
    let mut candidates = Vec::new();
    for entry in table.chunks_exact(entry_len as usize).skip(1) {
        let (name_at, value, size, shndx) = match elf.class {
            Class::Elf32 => (
                e.u32(entry, 0),
                u64::from(e.u32(entry, 4)),
                u64::from(e.u32(entry, 8)),
                e.u16(entry, 14),
            ),
            Class::Elf64 => (
                e.u32(entry, 0),
                e.u64(entry, 8),
                e.u64(entry, 16),
                e.u16(entry, 6),
            ),
        };
        if size == 0 || size > MAX_VALUE {
            continue;
        }
        let Some(name) = names.get(name_at as usize..) else {
            continue;
        };
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        let Some(key) = name.strip_suffix(b".str") else {
            continue;
        };
        let key = String::from_utf8_lossy(key);
        if !is_version_key(&key) {
            continue;
        }
        if candidates.len() == MAX_CANDIDATES {
            break;
        }
        candidates.push(Candidate {
            key: key.into_owned(),
            section: usize::from(shndx),
            value,
            size,
        });
    }

    let mut need = Need { ranges: Vec::new() };
    let mut found = Vec::new();
    for c in &candidates {
        let Some(section) = sections.get(c.section) else {
            continue;
        };
        if section.is_nobits() {
            continue;
        }
        let Some(offset) = c.value.checked_sub(section.addr) else {
            continue;
        };
        if offset
            .checked_add(c.size)
            .is_none_or(|end| end > section.size)
        {
            continue;
        }
        match read_checked(src, section.offset + offset, c.size, "symbol value") {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let text = text.trim_end_matches('\0').to_owned();
                if !text.is_empty() {
                    found.push((c.key.as_str(), text));
                }
            }
            Err(ElfError::Read {
                source: crate::bytes::ReadError::Need(n),
                ..
            }) => need.ranges.extend(n.ranges),
            Err(_) => continue,
        }
    }
    if !need.ranges.is_empty() {
        return Err(ElfError::Read {
            what: "symbol values",
            source: crate::bytes::ReadError::Need(need),
        });
    }
    Ok(choose_version(
        found.iter().map(|(k, v)| (*k, v.as_str())),
        main_module,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::zip::in_memory as mem;
    use crate::binary::elf::tests::{TestSection, build_elf};
    use crate::binary::elf::{Endian, Sections};

    fn symtab_file(class: Class, endian: Endian, value_text: &[u8]) -> Vec<u8> {
        // Sections: 1 .rodata (the value), 2 .strtab, 3 .symtab. Addresses are set by the
        // builder to 0x400000 + offset; the symbol value must point into .rodata, which is
        // computed in a first pass.
        let strtab = b"\0main.version.str\0main.commit.str\0".to_vec();
        let build = |rodata_addr: u64| {
            let mut sym = Vec::new();
            let entry_len = if class == Class::Elf64 { 24 } else { 16 };
            sym.resize(entry_len, 0); // null symbol
            for (name, size) in [(1u32, value_text.len() as u64), (18, 4)] {
                let mut e = Vec::new();
                let p32 = |v: &mut Vec<u8>, x: u32| match endian {
                    Endian::Little => v.extend_from_slice(&x.to_le_bytes()),
                    Endian::Big => v.extend_from_slice(&x.to_be_bytes()),
                };
                let p64 = |v: &mut Vec<u8>, x: u64| match endian {
                    Endian::Little => v.extend_from_slice(&x.to_le_bytes()),
                    Endian::Big => v.extend_from_slice(&x.to_be_bytes()),
                };
                let p16 = |v: &mut Vec<u8>, x: u16| match endian {
                    Endian::Little => v.extend_from_slice(&x.to_le_bytes()),
                    Endian::Big => v.extend_from_slice(&x.to_be_bytes()),
                };
                if class == Class::Elf64 {
                    p32(&mut e, name);
                    e.push(1);
                    e.push(0);
                    p16(&mut e, 1);
                    p64(&mut e, rodata_addr);
                    p64(&mut e, size);
                } else {
                    p32(&mut e, name);
                    p32(&mut e, rodata_addr as u32);
                    p32(&mut e, size as u32);
                    e.push(1);
                    e.push(0);
                    p16(&mut e, 1);
                }
                sym.extend_from_slice(&e);
            }
            build_elf(
                class,
                endian,
                &[
                    TestSection {
                        name: ".rodata",
                        kind: 1,
                        addr: 0,
                        data: value_text,
                        link: 0,
                        entsize: 0,
                    },
                    TestSection {
                        name: ".strtab",
                        kind: 3,
                        addr: 0,
                        data: &strtab,
                        link: 0,
                        entsize: 0,
                    },
                    TestSection {
                        name: ".symtab",
                        kind: SHT_SYMTAB,
                        addr: 0,
                        data: &sym,
                        link: 2,
                        entsize: entry_len as u64,
                    },
                ],
            )
        };
        let first = build(0);
        let elf = Elf::parse(&mem(&first)).unwrap();
        let sections = Sections::read(&elf, &mem(&first)).unwrap();
        build(sections.find(".rodata").unwrap().addr)
    }

    #[test]
    fn version_symbol_is_found_in_every_layout() {
        for class in [Class::Elf32, Class::Elf64] {
            for endian in [Endian::Little, Endian::Big] {
                let file = symtab_file(class, endian, b"1.4.2\0\0\0");
                let elf = Elf::parse(&mem(&file)).unwrap();
                let sections = Sections::read(&elf, &mem(&file)).unwrap();
                assert_eq!(
                    symbol_version(&mem(&file), &elf, &sections, "example.com/app").unwrap(),
                    "1.4.2"
                );
                let file = symtab_file(class, endian, b"dev\0");
                let elf = Elf::parse(&mem(&file)).unwrap();
                let sections = Sections::read(&elf, &mem(&file)).unwrap();
                assert_eq!(
                    symbol_version(&mem(&file), &elf, &sections, "m").unwrap(),
                    ""
                );
            }
        }
    }
}
