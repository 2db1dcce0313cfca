//! Helpers of `bench/scan.sh`, run as processes of their own.
//!
//! ```text
//! nyscan-bench-scan proxy --upstream HOST:PORT [--mbit 100] [--rtt-ms 20] [--addr-file FILE] [--log FILE]
//! nyscan-bench-scan tree SCRIPT
//! ```
//!
//! `tree` prints the root of the tree that `crates/nyscan-testutil/scripts/SCRIPT` builds,
//! built once and kept as the tests keep it (`nyscan_testutil::build::cached_tree`, keyed by
//! the script's content); exit code 3 when a tool the script needs is missing.
//!
//! `proxy` runs `nyscan_testutil::FaultProxy` in front of `--upstream` on a free loopback port and
//! emulates a link (`FaultProxy::shape`): every request waits one round trip (`--rtt-ms`)
//! before its answer starts, and all answers share `--mbit` Mbit/s (`--mbit 0`: no shaping).
//! Writes its address (`127.0.0.1:PORT`) to `--addr-file` (or stdout) once it listens, and
//! appends every request it served to `--log`, one tab-separated line each: method, path,
//! range (`-` when none), status. Runs until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use nyscan_testutil::{FaultProxy, Link};

const USAGE: &str = "usage: nyscan-bench-scan proxy --upstream HOST:PORT [--mbit 100] [--rtt-ms 20] \
                     [--addr-file FILE] [--log FILE]\n       nyscan-bench-scan tree SCRIPT";

type BoxError = Box<dyn std::error::Error>;

struct Options {
    upstream: SocketAddr,
    mbit: u64,
    rtt_ms: u64,
    addr_file: Option<String>,
    log: Option<String>,
}

fn parse_proxy_args(mut args: impl Iterator<Item = String>) -> Result<Options, BoxError> {
    let mut upstream = None;
    let mut options = Options {
        upstream: "127.0.0.1:0".parse()?,
        mbit: 100,
        rtt_ms: 20,
        addr_file: None,
        log: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--upstream" => upstream = Some(value()?.parse()?),
            "--mbit" => options.mbit = value()?.parse()?,
            "--rtt-ms" => options.rtt_ms = value()?.parse()?,
            "--addr-file" => options.addr_file = Some(value()?),
            "--log" => options.log = Some(value()?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    options.upstream = upstream.ok_or(USAGE)?;
    Ok(options)
}

fn run(options: &Options) -> Result<(), BoxError> {
    let proxy = FaultProxy::start(options.upstream);
    if options.mbit > 0 {
        proxy.shape(Link::new(options.mbit, options.rtt_ms));
    }
    let mut log = match &options.log {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => None,
    };
    match &options.addr_file {
        Some(path) => {
            // Written whole, then renamed: a reader never sees half an address.
            let tmp = format!("{path}.tmp");
            std::fs::write(&tmp, format!("{}\n", proxy.host()))?;
            std::fs::rename(&tmp, path)?;
        }
        None => println!("{}", proxy.host()),
    }
    let mut logged = 0;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let requests = proxy.requests();
        // A request is logged once it is answered (its status is known).
        while let Some(r) = requests.get(logged).filter(|r| r.status != 0) {
            if let Some(log) = &mut log {
                writeln!(
                    log,
                    "{}\t{}\t{}\t{}",
                    r.method,
                    r.path,
                    r.range.as_deref().unwrap_or("-"),
                    r.status
                )?;
            }
            logged += 1;
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("proxy") => parse_proxy_args(args).and_then(|options| run(&options)),
        Some("tree") => match (args.next(), args.next()) {
            (Some(script), None) => match nyscan_testutil::build::cached_tree(&script) {
                Ok(root) => {
                    println!("{}", root.display());
                    Ok(())
                }
                Err(skip) => {
                    eprintln!("nyscan-bench-scan: {skip}");
                    return ExitCode::from(3);
                }
            },
            _ => Err(USAGE.into()),
        },
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nyscan-bench-scan: {e}");
            ExitCode::from(2)
        }
    }
}
