//! `nyscan sbom`: the packages of an image as an SBOM (CycloneDX, SPDX), a table or JSON,
//! read from the bootstrap first and then only the bytes the analyzers need.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use nyscan_analyze::analyzer::Analyzer;
use nyscan_analyze::cache::ScanCache;
use nyscan_analyze::planner::{self, Options, Scan, ScanStats};
use nyscan_image::{ChunkReader, FetchOptions};
use nyscan_rafs::Bootstrap;
use nyscan_report::{Document, Format};

use crate::cli::{AnalysisArgs, FetchArgs, SbomArgs, SbomFormat};
use crate::data::cache;
use crate::progress::ScanBars;

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
    let cache = cache(&args.fetch);
    let opened = crate::layer_cache::open(&args.source, cache.as_ref())?;
    let (bytes, blobs) = (opened.bytes, opened.blobs);
    let boot = Bootstrap::parse(&bytes)
        .with_context(|| format!("cannot read the bootstrap of {}", args.source.source))?;
    let mut reader = ChunkReader::new(&boot, blobs.as_ref(), scan_fetch_options(&args.fetch));
    if let Some(c) = &cache {
        reader = reader.with_cache(c);
    }
    let analyzers = nyscan_analyze::all::analyzers();
    let scan_cache = scan_cache(&args.fetch, &args.analysis);
    let scan = analyze(&reader, &analyzers, scan_cache.as_ref(), &args.analysis)
        .with_context(|| format!("cannot scan {}", args.source.source))?;
    let mut stats = scan.stats;
    stats.blob_bytes = blob_bytes(&boot, blobs.as_ref());
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
        let found = format!(
            "{} packages, {} notes",
            scan.inventory.packages.len(),
            scan.inventory.notes.len()
        );
        print_stats(&stats, &found, started);
    }
    Ok(ExitCode::SUCCESS)
}

/// The chunk engine's options for a scan: reads scattered over the blob in a few batched
/// rounds ([`FetchOptions::scattered`]), `--parallel` requests in flight.
pub(crate) fn scan_fetch_options(fetch: &FetchArgs) -> FetchOptions {
    FetchOptions {
        parallel: fetch.parallel.max(1),
        ..FetchOptions::scattered()
    }
}

/// The scan cache the flags ask for, if any. A cache that cannot be opened is a warning, not
/// a failure: scans work without it.
pub(crate) fn scan_cache(fetch: &FetchArgs, analysis: &AnalysisArgs) -> Option<ScanCache> {
    if fetch.no_cache || analysis.no_scan_cache {
        return None;
    }
    let dir = analysis
        .scan_cache_dir
        .clone()
        .or_else(ScanCache::default_dir)?;
    match ScanCache::open(&dir, analysis.scan_cache_size << 20) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!(
                "warning: scan cache unusable ({e}: {}); scanning without it",
                e.source
            );
            None
        }
    }
}

/// Runs the planner over `reader` with the scan cache, and progress bars on a terminal.
pub(crate) fn analyze(
    reader: &ChunkReader<'_, '_>,
    analyzers: &[Box<dyn Analyzer>],
    cache: Option<&ScanCache>,
    analysis: &AnalysisArgs,
) -> Result<Scan, planner::ScanError> {
    let options = Options {
        cache,
        ..Options::default()
    };
    match ScanBars::new(analysis.quiet, reader.stats()) {
        Some(bars) => bars.run(|progress| {
            let options = Options {
                progress: Some(progress),
                ..options
            };
            planner::scan_with(reader, analyzers, &options)
        }),
        None => planner::scan_with(reader, analyzers, &options),
    }
}

/// The stored size of the image's blobs: from the bootstrap, or from the source for blobs
/// whose size the bootstrap does not record.
pub(crate) fn blob_bytes(boot: &Bootstrap<'_>, blobs: &dyn nyscan_source::BlobSource) -> u64 {
    boot.blobs()
        .iter()
        .map(|b| match b.compressed_size {
            0 => blobs.blob_size(&b.id).unwrap_or(0),
            n => n,
        })
        .sum()
}

/// The `--stats` lines on stderr; `found` says what the scan found (`N packages, ...`).
pub(crate) fn print_stats(stats: &ScanStats, found: &str, started: std::time::Instant) {
    let share = stats
        .blob_share()
        .map_or_else(|| "unknown".to_owned(), |s| format!("{:.3} %", s * 100.0));
    eprintln!(
        "scanned: {} files, {} selected, {} skipped as OS-owned, {found}, {} rounds",
        stats.files, stats.selected, stats.skipped_owned, stats.rounds
    );
    eprintln!(
        "fetched: {} requests, {} bytes, {} chunks verified, {} chunk cache hits, {} answered by the scan cache, {} bytes of file content; {} of {} blob bytes, in {:.3} s",
        stats.requests,
        stats.fetched_bytes,
        stats.chunks,
        stats.cache_hits,
        stats.cached,
        stats.file_bytes,
        share,
        stats.blob_bytes,
        started.elapsed().as_secs_f64()
    );
}

/// 128 random bits for the report's UUIDs, from the kernel; the clock and process id when
/// that is not readable.
pub(crate) fn random_bits() -> u128 {
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
