//! Any bytes as Go build information: as the `.go.buildinfo` section of an ELF file (the
//! fuzz input wrapped in a minimal ELF64 whose one loadable segment maps the whole file, so
//! pointer-form blobs resolve), and as module text with its build settings and -ldflags.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::archive::zip::in_memory;
use nyscan_analyze::binary::go_buildinfo::parse_modinfo;
use nyscan_analyze::binary::go_ldflags::ldflags_version;
use nyscan_analyze::binary::gobinary::go_packages;

/// ELF64 LE: header, one PT_LOAD (RW) at 0x400000 covering the file, the section data at
/// offset 128, then `.shstrtab` and three section headers (null, .go.buildinfo, .shstrtab).
fn wrap(section: &[u8]) -> Vec<u8> {
    let shstr = b"\0.go.buildinfo\0.shstrtab\0";
    let data_at = 128u64;
    let shstr_at = data_at + section.len() as u64;
    let shoff = (shstr_at + shstr.len() as u64 + 7) & !7;
    let total = shoff + 3 * 64;
    let mut f = Vec::with_capacity(total as usize);
    f.extend_from_slice(b"\x7fELF\x02\x01\x01");
    f.resize(16, 0);
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&62u16.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&0x401000u64.to_le_bytes());
    f.extend_from_slice(&64u64.to_le_bytes());
    f.extend_from_slice(&shoff.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 1, 64, 3, 2] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    f.extend_from_slice(&6u32.to_le_bytes()); // R+W
    for v in [0u64, 0x400000, 0x400000, total, total, 0x1000] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.resize(data_at as usize, 0);
    f.extend_from_slice(section);
    f.extend_from_slice(shstr);
    f.resize(shoff as usize, 0);
    f.extend_from_slice(&[0u8; 64]);
    let header = |f: &mut Vec<u8>, name: u32, kind: u32, addr: u64, off: u64, size: u64| {
        f.extend_from_slice(&name.to_le_bytes());
        f.extend_from_slice(&kind.to_le_bytes());
        for v in [2u64, addr, off, size] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(&[0u8; 8]);
        f.extend_from_slice(&16u64.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
    };
    header(
        &mut f,
        1,
        1,
        0x400000 + data_at,
        data_at,
        section.len() as u64,
    );
    header(&mut f, 15, 3, 0, shstr_at, shstr.len() as u64);
    f
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let file = wrap(rest);
        let _ = go_packages(&in_memory(&file), "usr/bin/app");
    } else {
        let text = String::from_utf8_lossy(rest);
        if let Ok(info) = parse_modinfo("go1.22.0", &text) {
            if let Some(flags) = info.setting("-ldflags") {
                let _ = ldflags_version(flags, &info.main.path);
            }
        }
        let _ = ldflags_version(&text, "example.com/app");
    }
});
