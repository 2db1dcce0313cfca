//! `nyscan sbom`: the packages of an image as an SBOM (CycloneDX, SPDX), a table or JSON,
//! read from the bootstrap first and then only the bytes the analyzers need.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use nyscan_analyze::planner::{self, Limits, ScanStats};
use nyscan_image::ChunkReader;
use nyscan_rafs::Bootstrap;
use nyscan_report::{Document, Format};

use crate::cli::{SbomArgs, SbomFormat};
use crate::data::{cache, options};

impl From<SbomFormat> for Format {
    fn from(f: SbomFormat) -> Format {
        match f {
            SbomFormat::Cyclonedx => Format::CycloneDx,
            SbomFormat::SpdxJson => Format::SpdxJson,
            SbomFormat::Table => Format::Table,
            SbomFormat::Json => Format::Json,
        }
    }
}

pub(crate) fn run(args: &SbomArgs) -> Result<ExitCode> {
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
    let analyzers = nyscan_analyze::all::analyzers();
    let scan = planner::scan(&reader, &analyzers, &Limits::default())
        .with_context(|| format!("cannot scan {}", args.source.source))?;
    let mut stats = scan.stats;
    if stats.blob_bytes == 0 || boot.blobs().iter().any(|b| b.compressed_size == 0) {
        // The bootstrap does not record every blob's size: ask the source.
        stats.blob_bytes = boot
            .blobs()
            .iter()
            .map(|b| match b.compressed_size {
                0 => blobs.blob_size(&b.id).unwrap_or(0),
                n => n,
            })
            .sum();
    }
    let doc = Document {
        inventory: &scan.inventory,
        artifact: &args.source.source,
        tool_version: env!("CARGO_PKG_VERSION"),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        serial: random_bits(),
        stats: args.fetch.stats.then_some(&stats),
    };
    let format = Format::from(args.format);
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            nyscan_report::write(format, &doc, &mut out)?;
            out.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            nyscan_report::write(format, &doc, &mut out)?;
            out.flush()?;
        }
    }
    if args.fetch.stats {
        print_stats(&stats, &scan.inventory, started);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_stats(stats: &ScanStats, inventory: &planner::Inventory, started: std::time::Instant) {
    let share = stats
        .blob_share()
        .map_or_else(|| "unknown".to_owned(), |s| format!("{:.3} %", s * 100.0));
    eprintln!(
        "scanned: {} files, {} selected, {} skipped as OS-owned, {} packages, {} notes, {} rounds",
        stats.files,
        stats.selected,
        stats.skipped_owned,
        inventory.packages.len(),
        inventory.notes.len(),
        stats.rounds
    );
    eprintln!(
        "fetched: {} requests, {} bytes, {} chunks verified, {} cache hits, {} bytes of file content; {} of {} blob bytes, in {:.3} s",
        stats.requests,
        stats.fetched_bytes,
        stats.chunks,
        stats.cache_hits,
        stats.file_bytes,
        share,
        stats.blob_bytes,
        started.elapsed().as_secs_f64()
    );
}

/// 128 random bits for the report's UUIDs, from the kernel; the clock and process id when
/// that is not readable.
fn random_bits() -> u128 {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok()
    {
        return u128::from_le_bytes(bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nanos ^ (u128::from(std::process::id()) << 96)
}
