//! The text view of responses, for the interactive prompt.

use std::io::{self, Write};

use crate::report::{ChunkReport, Response, StatReport};

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn write_chunk(w: &mut dyn Write, i: usize, c: &ChunkReport) -> io::Result<()> {
    writeln!(
        w,
        "    {i}: file offset {}, chunk index {}, blob {} ({}), compressed {} at {}, uncompressed {} at {}, digest {}{}{}",
        c.file_offset,
        c.index,
        c.blob_index,
        c.blob_id,
        c.compressed_size,
        c.compressed_offset,
        c.uncompressed_size,
        c.uncompressed_offset,
        c.digest,
        c.crc32
            .map(|v| format!(", crc32 {v:#010x}"))
            .unwrap_or_default(),
        if c.flags.is_empty() {
            String::new()
        } else {
            format!(", flags {}", c.flags.join("|"))
        },
    )
}

fn write_stat(w: &mut dyn Write, s: &StatReport) -> io::Result<()> {
    writeln!(w, "Inode Number:       {}", s.inode)?;
    writeln!(w, "Name:               {:?}", s.name)?;
    writeln!(w, "Path:               {}", s.path)?;
    writeln!(w, "Kind:               {}", s.kind)?;
    writeln!(w, "Size:               {}", s.size)?;
    writeln!(w, "Parent:             {}", opt(s.parent))?;
    writeln!(w, "Mode:               {:#x}", s.mode)?;
    writeln!(w, "Permissions:        {}", s.permissions)?;
    writeln!(w, "Nlink:              {}", s.nlink)?;
    writeln!(w, "UID:                {}", s.uid)?;
    writeln!(w, "GID:                {}", s.gid)?;
    if s.rdev != 0 {
        writeln!(w, "Rdev:               {:#x}", s.rdev)?;
    }
    writeln!(w, "Mtime:              {}", opt(s.mtime))?;
    writeln!(w, "MtimeNsec:          {}", opt(s.mtime_nsec))?;
    writeln!(w, "Blocks:             {}", s.blocks)?;
    if let Some(t) = &s.symlink_target {
        writeln!(w, "Symlink Target:     {t:?}")?;
    }
    for x in &s.xattrs {
        match &x.value {
            Some(v) => writeln!(w, "Xattr:              {} = {v:?}", x.name)?,
            None => writeln!(w, "Xattr:              {} = 0x{}", x.name, x.value_hex)?,
        }
    }
    if !s.chunks.is_empty() {
        writeln!(w, "Chunk list:")?;
        for (i, c) in s.chunks.iter().enumerate() {
            write_chunk(w, i, c)?;
        }
    }
    Ok(())
}

impl Response {
    /// Writes the human-readable form.
    pub fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        match self {
            Response::Stats(s) => {
                writeln!(w, "Version:                RAFS v{}", s.version)?;
                writeln!(w, "Inodes Count:           {}", s.inodes_count)?;
                writeln!(w, "Chunk Size:             {}KB", s.chunk_size / 1024)?;
                writeln!(w, "Root Inode:             {}", s.root_inode)?;
                writeln!(w, "Flags:                  {}", s.flags.join(" | "))?;
                writeln!(w, "Compressor:             {}", s.compressor)?;
                writeln!(w, "Digester:               {}", s.digester)?;
                writeln!(w, "Blobs:                  {}", s.blob_count)?;
                writeln!(w, "Blob Table Offset:      {:#x}", s.blob_table_offset)?;
                writeln!(w, "Blob Table Size:        {}", s.blob_table_size)?;
                writeln!(w, "Prefetch Table Offset:  {:#x}", s.prefetch_table_offset)?;
                writeln!(w, "Prefetch Table Entries: {}", s.prefetch_table_entries)?;
                if let (Some(o), Some(n)) = (s.chunk_table_offset, s.chunk_table_size) {
                    writeln!(w, "Chunk Table Offset:     {o:#x}")?;
                    writeln!(w, "Chunk Table Size:       {n}")?;
                }
                if let (Some(o), Some(n)) = (s.inode_table_offset, s.inode_table_entries) {
                    writeln!(w, "Inode Table Offset:     {o:#x}")?;
                    writeln!(w, "Inode Table Entries:    {n}")?;
                }
                writeln!(w, "Bootstrap Size:         {}", s.bootstrap_size)
            }
            Response::Ls(entries) => {
                for e in entries {
                    let mark = match e.kind {
                        "dir" => 'd',
                        "file" => '-',
                        "symlink" => 'l',
                        _ => ' ',
                    };
                    writeln!(w, "{mark} {:<8} {:?}", e.inode, e.name)?;
                }
                Ok(())
            }
            Response::Cd { .. } => Ok(()),
            Response::Stat(s) => write_stat(w, s),
            Response::Blobs(blobs) => {
                for b in blobs {
                    writeln!(w, "Blob Index:             {}", b.blob_index)?;
                    writeln!(w, "Blob ID:                {}", b.blob_id)?;
                    writeln!(w, "Blob Size:              {}", b.compressed_size)?;
                    writeln!(w, "Uncompressed Size:      {}", b.decompressed_size)?;
                    writeln!(w, "Chunk Size:             {:#x}", b.chunk_size)?;
                    writeln!(w, "Chunk Count:            {}", b.chunk_count)?;
                    writeln!(w, "Features:               {}", b.features.join(" "))?;
                    writeln!(w, "Compressor:             {}", b.compressor)?;
                    writeln!(w, "Digester:               {}", b.digester)?;
                    writeln!(
                        w,
                        "Readahead:              {} at {}",
                        b.readahead_size, b.readahead_offset
                    )?;
                    if let Some(a) = b.mapped_blkaddr {
                        writeln!(w, "Mapped Block Address:   {a:#x}")?;
                    }
                    if let (Some(o), Some(c), Some(u)) = (
                        b.meta_ci_offset,
                        b.meta_ci_compressed_size,
                        b.meta_ci_uncompressed_size,
                    ) {
                        writeln!(w, "Meta Offset:            {o:#x}")?;
                        writeln!(w, "Meta Compressed Size:   {c}")?;
                        writeln!(w, "Meta Uncompressed Size: {u}")?;
                    }
                    if let Some(t) = b.toc_size {
                        writeln!(w, "ToC Size:               {t}")?;
                    }
                    writeln!(w)?;
                }
                Ok(())
            }
            Response::Prefetch(entries) => {
                writeln!(w, "Total Prefetching Files: {}", entries.len())?;
                for e in entries {
                    writeln!(
                        w,
                        "Inode Number: {:<8} | Path: {}",
                        e.inode,
                        e.path.join(", ")
                    )?;
                }
                Ok(())
            }
            Response::Chunk(hits) => {
                if hits.is_empty() {
                    writeln!(w, "No chunk at this compressed offset")?;
                }
                for h in hits {
                    writeln!(w, "File:                   {}", h.path)?;
                    writeln!(w, "Parent Path:            {}", h.parent_path)?;
                    writeln!(w, "Inode Number:           {}", h.inode)?;
                    writeln!(w, "Compressed Offset:      {}", h.chunk.compressed_offset)?;
                    writeln!(w, "Compressed Size:        {}", h.chunk.compressed_size)?;
                    writeln!(w, "Decompressed Offset:    {}", h.chunk.uncompressed_offset)?;
                    writeln!(w, "Decompressed Size:      {}", h.chunk.uncompressed_size)?;
                    writeln!(w, "File Offset:            {}", h.chunk.file_offset)?;
                    writeln!(w, "Chunk ID:               {}", h.chunk.digest)?;
                    writeln!(w, "Blob ID:                {}", h.chunk.blob_id)?;
                    writeln!(w)?;
                }
                Ok(())
            }
            Response::Icheck(r) => {
                for p in &r.paths {
                    writeln!(w, "Path:               {p}")?;
                }
                write_stat(w, &r.stat)
            }
            Response::Help { usage } => writeln!(w, "{usage}"),
        }
    }
}
