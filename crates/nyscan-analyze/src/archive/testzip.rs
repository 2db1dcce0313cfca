//! Zip archives assembled byte by byte for unit tests (the integration tests build theirs
//! with Python's `zipfile`).

use std::io::Write;

/// One member to write.
pub(crate) struct Member {
    pub name: String,
    pub data: Vec<u8>,
    pub deflate: bool,
}

impl Member {
    pub(crate) fn stored(name: &str, data: &[u8]) -> Member {
        Member {
            name: name.to_owned(),
            data: data.to_vec(),
            deflate: false,
        }
    }

    pub(crate) fn deflated(name: &str, data: &[u8]) -> Member {
        Member {
            name: name.to_owned(),
            data: data.to_vec(),
            deflate: true,
        }
    }
}

struct Written {
    name: String,
    method: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    offset: u64,
}

fn write_locals(members: &[Member], out: &mut Vec<u8>) -> Vec<Written> {
    let mut written = Vec::new();
    for m in members {
        let payload = if m.deflate {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&m.data).unwrap();
            enc.finish().unwrap()
        } else {
            m.data.clone()
        };
        let mut crc = flate2::Crc::new();
        crc.update(&m.data);
        let w = Written {
            name: m.name.clone(),
            method: if m.deflate { 8 } else { 0 },
            crc: crc.sum(),
            csize: payload.len() as u64,
            usize: m.data.len() as u64,
            offset: out.len() as u64,
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&w.method.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&w.crc.to_le_bytes());
        out.extend_from_slice(&(w.csize as u32).to_le_bytes());
        out.extend_from_slice(&(w.usize as u32).to_le_bytes());
        out.extend_from_slice(&(w.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(w.name.as_bytes());
        out.extend_from_slice(&payload);
        written.push(w);
    }
    written
}

fn central(w: &Written, zip64: bool, out: &mut Vec<u8>) {
    let extra: Vec<u8> = if zip64 {
        let mut e = Vec::new();
        e.extend_from_slice(&1u16.to_le_bytes());
        e.extend_from_slice(&24u16.to_le_bytes());
        e.extend_from_slice(&w.usize.to_le_bytes());
        e.extend_from_slice(&w.csize.to_le_bytes());
        e.extend_from_slice(&w.offset.to_le_bytes());
        e
    } else {
        Vec::new()
    };
    let ones = 0xffff_ffffu32;
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&w.method.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&w.crc.to_le_bytes());
    let (c, u, o) = if zip64 {
        (ones, ones, ones)
    } else {
        (w.csize as u32, w.usize as u32, w.offset as u32)
    };
    out.extend_from_slice(&c.to_le_bytes());
    out.extend_from_slice(&u.to_le_bytes());
    out.extend_from_slice(&(w.name.len() as u16).to_le_bytes());
    out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&o.to_le_bytes());
    out.extend_from_slice(w.name.as_bytes());
    out.extend_from_slice(&extra);
}

/// A plain zip with an archive comment.
pub(crate) fn build_zip(members: &[Member], comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let written = write_locals(members, &mut out);
    let cd_start = out.len();
    for w in &written {
        central(w, false, &mut out);
    }
    let cd_len = out.len() - cd_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(written.len() as u16).to_le_bytes());
    out.extend_from_slice(&(written.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd_len as u32).to_le_bytes());
    out.extend_from_slice(&(cd_start as u32).to_le_bytes());
    out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment);
    out
}

/// A plain zip whose last member is also listed `aliases` more times under other names
/// (`alias{i}.jar`), every record pointing at the same local header: members that overlap.
pub(crate) fn build_zip_aliased(members: &[Member], aliases: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut written = write_locals(members, &mut out);
    if let Some(last) = written.last() {
        let copies: Vec<Written> = (0..aliases)
            .map(|i| Written {
                name: format!("alias{i}.jar"),
                method: last.method,
                crc: last.crc,
                csize: last.csize,
                usize: last.usize,
                offset: last.offset,
            })
            .collect();
        written.extend(copies);
    }
    let cd_start = out.len();
    for w in &written {
        central(w, false, &mut out);
    }
    let cd_len = out.len() - cd_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(written.len() as u16).to_le_bytes());
    out.extend_from_slice(&(written.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd_len as u32).to_le_bytes());
    out.extend_from_slice(&(cd_start as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A zip64 archive: all sizes and offsets in zip64 extra fields and the zip64 end record.
pub(crate) fn build_zip64(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let written = write_locals(members, &mut out);
    let cd_start = out.len() as u64;
    for w in &written {
        central(w, true, &mut out);
    }
    let cd_len = out.len() as u64 - cd_start;
    let eocd64_at = out.len() as u64;
    out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
    out.extend_from_slice(&44u64.to_le_bytes());
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&(written.len() as u64).to_le_bytes());
    out.extend_from_slice(&(written.len() as u64).to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&eocd64_at.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&0xffffu16.to_le_bytes());
    out.extend_from_slice(&0xffffu16.to_le_bytes());
    out.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
    out.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}
