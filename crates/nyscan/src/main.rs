//! `nyscan`: inspect, mount, scan and repair Nydus container images.
//!
//! The binary parses arguments, wires the library crates together and prints; the work is
//! done in `nyscan-rafs`, `nyscan-oci` and `nyscan-inspect`.

mod cli;
mod data;
mod db;
mod errors;
mod inspect;
mod layer_cache;
mod mount;
mod patch;
mod progress;
mod sbom;
mod scan;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let result = match args.command {
        cli::Command::Inspect(a) => inspect::run(&a),
        cli::Command::Cat(a) => data::cat(&a),
        cli::Command::Unpack(a) => data::unpack(&a),
        cli::Command::Mount(a) => mount::mount(&a),
        cli::Command::Umount(a) => mount::umount(&a),
        cli::Command::Patch(a) => patch::run(&a),
        cli::Command::Sbom(a) => sbom::run(&a),
        cli::Command::Db(a) => db::run(&a),
        cli::Command::Scan(a) => scan::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(err) => errors::report(&err),
    }
}
