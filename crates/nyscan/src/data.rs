//! `nyscan cat` and `nyscan unpack`: commands that read file contents.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use nyscan_image::cache::ChunkCache;
use nyscan_image::{ChunkReader, FetchOptions};
use nyscan_rafs::{Bootstrap, FileKind};

use crate::cli::{CatArgs, FetchArgs, UnpackArgs};

pub(crate) fn options(fetch: &FetchArgs) -> FetchOptions {
    FetchOptions {
        parallel: fetch.parallel.max(1),
        ..FetchOptions::default()
    }
}

/// The chunk cache the flags ask for, if any. A cache that cannot be opened is a warning,
/// not a failure: reads work without it.
pub(crate) fn cache(fetch: &FetchArgs) -> Option<ChunkCache> {
    if fetch.no_cache {
        return None;
    }
    let dir = fetch.cache_dir.clone().or_else(ChunkCache::default_dir)?;
    match ChunkCache::open(&dir, fetch.cache_size << 20) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!(
                "warning: chunk cache {} unusable ({e}); reading without it",
                dir.display()
            );
            None
        }
    }
}

pub(crate) fn print_stats(reader: &ChunkReader<'_, '_>, started: std::time::Instant) {
    let (requests, bytes, chunks, meta) = reader.stats().snapshot();
    eprintln!(
        "fetched: {requests} requests, {bytes} bytes, {chunks} chunks verified, {} cache hits, {meta} compression-info tables, in {:.3} s",
        reader.stats().cache_hits(),
        started.elapsed().as_secs_f64()
    );
}

pub(crate) fn cat(args: &CatArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let opened = crate::inspect::open(&args.source)?;
    let (bytes, blobs) = (opened.bytes, opened.blobs);
    let boot = Bootstrap::parse(&bytes)
        .with_context(|| format!("cannot read the bootstrap of {}", args.source.source))?;
    let inode = boot
        .lookup(args.path.as_bytes())?
        .ok_or_else(|| nyscan_image::Error::NotFound(args.path.clone()))?;
    if inode.kind() != FileKind::Regular {
        return Err(nyscan_image::Error::NotAFile {
            path: args.path.clone(),
            kind: inode.kind().name(),
        }
        .into());
    }
    let cache = cache(&args.fetch);
    let mut reader = ChunkReader::new(&boot, blobs.as_ref(), options(&args.fetch));
    if let Some(c) = &cache {
        reader = reader.with_cache(c);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    reader
        .stream_file(&inode, &mut out)
        .with_context(|| format!("cannot read {} from {}", args.path, args.source.source))?;
    out.flush()?;
    if args.fetch.stats {
        print_stats(&reader, started);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn unpack(args: &UnpackArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let opened = crate::inspect::open(&args.source)?;
    let (bytes, blobs) = (opened.bytes, opened.blobs);
    let boot = Bootstrap::parse(&bytes)
        .with_context(|| format!("cannot read the bootstrap of {}", args.source.source))?;
    let cache = cache(&args.fetch);
    let mut reader = ChunkReader::new(&boot, blobs.as_ref(), options(&args.fetch));
    if let Some(c) = &cache {
        reader = reader.with_cache(c);
    }
    let summary = match (&args.tar, &args.dest) {
        (Some(tar), _) if tar.as_os_str() == "-" => {
            let stdout = std::io::stdout();
            nyscan_image::unpack::unpack_to_tar(&reader, std::io::BufWriter::new(stdout.lock()))
        }
        (Some(tar), _) => {
            let file = std::fs::File::create(tar)
                .with_context(|| format!("cannot create {}", tar.display()))?;
            nyscan_image::unpack::unpack_to_tar(&reader, std::io::BufWriter::new(file))
        }
        (None, Some(dest)) => nyscan_image::unpack::unpack_to_dir(&reader, dest),
        (None, None) => bail!("give a destination directory or --tar FILE"),
    }
    .with_context(|| format!("cannot unpack {}", args.source.source))?;
    if args.fetch.stats {
        eprintln!(
            "unpacked: {} entries, {} files, {} bytes",
            summary.entries, summary.files, summary.bytes
        );
        print_stats(&reader, started);
    }
    Ok(ExitCode::SUCCESS)
}
