//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Inspect, mount, scan and repair Nydus container images, reading only the bytes needed.
#[derive(Debug, Parser)]
#[command(name = "nyscan", version, about)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Inspect an image's RAFS bootstrap (v5 or v6): an interactive prompt, or JSON answers
    /// with --request.
    Inspect(InspectArgs),
}

/// Where an image comes from, shared by every command that reads one.
#[derive(Debug, clap::Args)]
pub(crate) struct SourceArgs {
    /// The image: a bootstrap file, `oci:DIR[:TAG|@DIGEST]` (an OCI image layout), or
    /// `HOST[:PORT]/REPO[:TAG|@DIGEST]` (a registry).
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Where a bootstrap file's blobs are (default: beside it).
    #[arg(long, value_name = "DIR")]
    pub(crate) blob_dir: Option<PathBuf>,
    /// Platform to pick from a multi-platform index, as `os/arch[/variant]` (default: this
    /// machine's).
    #[arg(long, value_name = "PLATFORM")]
    pub(crate) platform: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// Answer one command as JSON on stdout instead of opening the prompt; repeat to run
    /// several in order (one JSON document per line, `cd` carrying over). Commands: stats,
    /// ls, cd DIR, stat NAME, blobs, prefetch, chunk OFFSET, icheck INODE.
    #[arg(short = 'R', long = "request", value_name = "COMMAND")]
    pub(crate) requests: Vec<String>,
}
