//! Times the questions `nydus-image inspect` answers, on one bootstrap, in one process.
//!
//! ```text
//! nyscan-bench-inspect [--runs N] [--lookups N] [--json] BOOT
//! nyscan-bench-inspect --op stats|walk|walk-print|lookups [--lookups N] BOOT
//! ```
//!
//! The first form reads the bootstrap and times, best and median of `--runs` (default 5):
//! reading the file, parse + `stats` (the superblock summary), a full walk (every entry's
//! size and mode, every chunk decoded and counted) and `--lookups` (default 1000) path
//! lookups. The paths are sampled deterministically from a walk of a *separate* parse that is
//! dropped before the timed lookups, so those start from a fresh `Bootstrap`. It then prints
//! its own peak RSS (`VmHWM`) next to the bootstrap's size. `--json` prints the same figures
//! as one JSON object, for `bench/inspect.sh`.
//!
//! The second form does one operation once, so that a whole process can be timed and its
//! peak RSS measured next to `nydus-image` (`stats` prints `{"inodes_count":N}` like
//! `nydus-image inspect -R stats`; `walk-print` prints a line per entry and per chunk, like
//! `nydus-image check -v`).

use std::collections::HashSet;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nyscan_rafs::{Bootstrap, Ino};

type BoxError = Box<dyn std::error::Error>;

const USAGE: &str = "usage: nyscan-bench-inspect [--runs N] [--lookups N] [--json] BOOT\n       \
                     nyscan-bench-inspect --op stats|walk|walk-print|lookups [--lookups N] BOOT";

/// Seed of the path sampler: the same bootstrap always gives the same lookups.
const SEED: u64 = 0x6e79_7363_616e_0001;

struct Options {
    boot: String,
    runs: usize,
    lookups: usize,
    json: bool,
    op: Option<String>,
}

fn parse_args() -> Result<Options, BoxError> {
    let mut opts = Options {
        boot: String::new(),
        runs: 5,
        lookups: 1000,
        json: false,
        op: None,
    };
    let mut args = std::env::args().skip(1);
    let mut boot = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--runs" => opts.runs = value("--runs")?.parse()?,
            "--lookups" => opts.lookups = value("--lookups")?.parse()?,
            "--op" => opts.op = Some(value("--op")?),
            "--json" => opts.json = true,
            "-h" | "--help" => return Err(USAGE.into()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}").into()),
            _ if boot.is_none() => boot = Some(arg),
            _ => return Err(USAGE.into()),
        }
    }
    opts.boot = boot.ok_or(USAGE)?;
    if opts.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(opts)
}

/// The `stats` answer: what `nydus-image inspect -R stats` prints, plus a superblock summary.
fn stats(boot: &Bootstrap<'_>) -> (u64, String) {
    let sb = boot.superblock();
    let summary = format!(
        "{} inodes {} chunk_size {} compressor {} digester {} blobs {} flags {:?}",
        sb.version,
        sb.inodes_count,
        sb.chunk_size,
        sb.compressor.name(),
        sb.digester.name(),
        boot.blobs().len(),
        sb.flags.names(),
    );
    (sb.inodes_count, summary)
}

/// What a walk saw; the sums keep the compiler from skipping the work.
#[derive(Default, Debug, PartialEq)]
struct WalkSums {
    entries: u64,
    chunks: u64,
    bytes: u64,
    modes: u64,
}

/// The timed walk: every entry's size and mode, every chunk decoded and counted.
fn walk(boot: &Bootstrap<'_>) -> Result<WalkSums, BoxError> {
    let mut sums = WalkSums::default();
    for entry in boot.walk() {
        let entry = entry?;
        let inode = entry.inode;
        sums.entries += 1;
        sums.bytes = sums.bytes.wrapping_add(inode.size());
        sums.modes = sums.modes.wrapping_add(u64::from(inode.mode()));
        for chunk in inode.chunks() {
            black_box(chunk?);
            sums.chunks += 1;
        }
    }
    Ok(sums)
}

/// A walk printing one line per entry and per chunk, for comparison with `nydus-image check -v`.
fn walk_print(boot: &Bootstrap<'_>, out: &mut impl Write) -> Result<WalkSums, BoxError> {
    let mut sums = WalkSums::default();
    for entry in boot.walk() {
        let entry = entry?;
        let i = entry.inode;
        sums.entries += 1;
        writeln!(
            out,
            "inode: {} {:?}: ino {} mode {:o} nlink {} size {} uid {} gid {}",
            i.kind().name(),
            String::from_utf8_lossy(&entry.path),
            i.ino(),
            i.mode(),
            i.nlink(),
            i.size(),
            i.uid(),
            i.gid(),
        )?;
        for chunk in i.chunks() {
            let c = chunk?;
            sums.chunks += 1;
            out.write_all(b"\t chunk: id ")?;
            out.write_all(&hex(&c.digest))?;
            writeln!(
                out,
                ", index {}, blob_index {}, file_offset {}, compressed {}/{}, uncompressed {}/{}",
                c.index,
                c.blob_index,
                c.file_offset,
                c.compressed_offset,
                c.compressed_size,
                c.uncompressed_offset,
                c.uncompressed_size,
            )?;
        }
    }
    out.flush()?;
    Ok(sums)
}

/// Lower-case hex of a digest.
fn hex(digest: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    out
}

/// splitmix64: a tiny deterministic generator for sampling.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the untimed first pass learns: `k` paths (reservoir-sampled, then shuffled) with
/// their inode numbers, and totals for the report.
struct Sample {
    paths: Vec<(Vec<u8>, Ino)>,
    entries: u64,
    unique_inodes: u64,
    chunks: u64,
}

fn sample(boot: &Bootstrap<'_>, k: usize) -> Result<Sample, BoxError> {
    let mut rng = Rng(SEED);
    let mut paths: Vec<(Vec<u8>, Ino)> = Vec::with_capacity(k);
    let mut inos = HashSet::new();
    let (mut entries, mut chunks) = (0u64, 0u64);
    for entry in boot.walk() {
        let entry = entry?;
        entries += 1;
        inos.insert(entry.inode.ino());
        chunks += entry.inode.chunk_count() as u64;
        if entry.depth == 0 {
            continue; // the root: "/" is not much of a lookup
        }
        let seen = entries - 1; // non-root entries met so far, this one included
        if paths.len() < k {
            paths.push((entry.path, entry.inode.ino()));
        } else {
            let j = rng.below(seen) as usize;
            if j < k {
                paths[j] = (entry.path, entry.inode.ino());
            }
        }
    }
    for i in (1..paths.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        paths.swap(i, j);
    }
    Ok(Sample {
        paths,
        entries,
        unique_inodes: inos.len() as u64,
        chunks,
    })
}

/// Looks every sampled path up and checks it lands on the inode the walk saw there.
fn lookups(boot: &Bootstrap<'_>, paths: &[(Vec<u8>, Ino)]) -> Result<usize, BoxError> {
    for (path, ino) in paths {
        let found = boot.lookup(path)?.ok_or_else(|| {
            format!(
                "lookup of {:?} found nothing",
                String::from_utf8_lossy(path)
            )
        })?;
        if found.ino() != *ino {
            return Err(format!(
                "lookup of {:?} gave inode {}, the walk saw {}",
                String::from_utf8_lossy(path),
                found.ino(),
                ino
            )
            .into());
        }
    }
    Ok(paths.len())
}

/// Peak resident set size of this process so far, in KiB (`VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Best and median of a set of run times.
#[derive(Clone, Copy)]
struct Timing {
    best: Duration,
    median: Duration,
}

fn timing(mut times: Vec<Duration>) -> Timing {
    times.sort();
    Timing {
        best: times[0],
        median: times[times.len() / 2],
    }
}

fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// One operation, once: the whole process is what gets measured.
fn run_op(opts: &Options, op: &str) -> Result<(), BoxError> {
    let bytes = std::fs::read(&opts.boot)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match op {
        "stats" => {
            let boot = Bootstrap::parse(&bytes)?;
            let (inodes, _) = stats(&boot);
            write!(out, "{{\"inodes_count\":{inodes}}}")?;
        }
        "walk" => {
            let boot = Bootstrap::parse(&bytes)?;
            let s = walk(&boot)?;
            writeln!(out, "entries {} chunks {}", s.entries, s.chunks)?;
        }
        "walk-print" => {
            let boot = Bootstrap::parse(&bytes)?;
            walk_print(&boot, &mut out)?;
        }
        "lookups" => {
            let paths = {
                let first = Bootstrap::parse(&bytes)?;
                sample(&first, opts.lookups)?.paths
            };
            let boot = Bootstrap::parse(&bytes)?;
            let n = lookups(&boot, &paths)?;
            writeln!(out, "lookups {n}")?;
        }
        other => return Err(format!("unknown --op {other}\n{USAGE}").into()),
    }
    out.flush()?;
    Ok(())
}

/// Times `f` `runs` times; `setup` (untimed) makes its input each run.
fn time_runs<S, T>(
    runs: usize,
    mut setup: impl FnMut() -> Result<S, BoxError>,
    mut f: impl FnMut(S) -> Result<T, BoxError>,
) -> Result<(Timing, T), BoxError> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let input = setup()?;
        let start = Instant::now();
        let out = f(input)?;
        times.push(start.elapsed());
        last = Some(black_box(out));
    }
    Ok((timing(times), last.expect("runs >= 1")))
}

fn run_all(opts: &Options) -> Result<(), BoxError> {
    let runs = opts.runs;

    let (t_read, size) = time_runs(
        runs,
        || Ok(()),
        |()| Ok(std::fs::read(&opts.boot)?.len() as u64),
    )?;
    let bytes = std::fs::read(&opts.boot)?;
    let rss_read = peak_rss_kib();

    let (t_stats, (inodes, summary)) =
        time_runs(runs, || Ok(()), |()| Ok(stats(&Bootstrap::parse(&bytes)?)))?;

    let (t_walk, sums) = time_runs(runs, || Ok(Bootstrap::parse(&bytes)?), |b| walk(&b))?;

    // Untimed: sample from a bootstrap of its own, dropped before the timed lookups.
    let sample = {
        let first = Bootstrap::parse(&bytes)?;
        sample(&first, opts.lookups)?
    };
    if sample.entries != sums.entries || sample.chunks != sums.chunks {
        return Err("the sampling walk and the timed walk disagree".into());
    }
    let (t_lookups, found) = time_runs(
        runs,
        || Ok(Bootstrap::parse(&bytes)?),
        |b| lookups(&b, &sample.paths),
    )?;
    let rss_end = peak_rss_kib();

    if opts.json {
        let ns = |d: Duration| d.as_nanos();
        println!(
            "{{\"bootstrap\":{:?},\"bootstrap_bytes\":{},\"inodes_count\":{},\"walk_entries\":{},\
             \"unique_inodes\":{},\"chunks\":{},\"lookups\":{},\"runs\":{},\
             \"read_ns\":{{\"best\":{},\"median\":{}}},\
             \"stats_ns\":{{\"best\":{},\"median\":{}}},\
             \"walk_ns\":{{\"best\":{},\"median\":{}}},\
             \"lookups_ns\":{{\"best\":{},\"median\":{}}},\
             \"vmhwm_after_read_kib\":{},\"vmhwm_kib\":{}}}",
            opts.boot,
            size,
            inodes,
            sums.entries,
            sample.unique_inodes,
            sums.chunks,
            found,
            runs,
            ns(t_read.best),
            ns(t_read.median),
            ns(t_stats.best),
            ns(t_stats.median),
            ns(t_walk.best),
            ns(t_walk.median),
            ns(t_lookups.best),
            ns(t_lookups.median),
            rss_read.unwrap_or(0),
            rss_end.unwrap_or(0),
        );
        return Ok(());
    }

    println!("bootstrap  {} ({size} bytes, {})", opts.boot, mib(size));
    println!("stats      {summary}");
    println!(
        "walk       {} entries, {} unique inodes, {} chunks",
        sums.entries, sample.unique_inodes, sums.chunks
    );
    println!();
    println!(
        "{:<22} {:>12} {:>12}   (of {runs} runs)",
        "phase", "best", "median"
    );
    let row = |name: &str, t: Timing| {
        println!(
            "{name:<22} {:>12} {:>12}",
            fmt_duration(t.best),
            fmt_duration(t.median)
        );
    };
    row("read file", t_read);
    row("parse + stats", t_stats);
    row("full walk", t_walk);
    row(&format!("{found} lookups"), t_lookups);
    println!();
    match (rss_read, rss_end) {
        (Some(read), Some(end)) => println!(
            "peak RSS   {} after reading, {} at the end ({:.2} x the bootstrap)",
            mib(read * 1024),
            mib(end * 1024),
            (end * 1024) as f64 / size.max(1) as f64
        ),
        _ => println!("peak RSS   unknown (no /proc/self/status)"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|opts| match &opts.op {
        Some(op) => run_op(&opts, op),
        None => run_all(&opts),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nyscan-bench-inspect: {e}");
            ExitCode::FAILURE
        }
    }
}
