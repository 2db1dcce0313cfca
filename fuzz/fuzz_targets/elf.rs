//! Any bytes as an executable: the ELF reader (header, section and program header tables,
//! section names, named sections, address mapping) and the symbol-table version lookup.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_analyze::archive::zip::in_memory;
use nyscan_analyze::binary::elf::{Elf, Sections, vaddr_to_offset};
use nyscan_analyze::binary::go_symbols::symbol_version;

fuzz_target!(|data: &[u8]| {
    let src = in_memory(data);
    let Ok(elf) = Elf::parse(&src) else {
        return;
    };
    let segments = elf.program_headers(&src).unwrap_or_default();
    for p in &segments {
        let _ = vaddr_to_offset(&segments, p.vaddr, p.filesz);
    }
    let Ok(sections) = Sections::read(&elf, &src) else {
        return;
    };
    for header in sections.headers().iter().take(64) {
        let _ = sections.name_of(header);
        let _ = Sections::read_section(&src, header, 1 << 20, "section");
    }
    let _ = sections.find(".go.buildinfo");
    let _ = symbol_version(&src, &elf, &sections, "example.com/app");
});
