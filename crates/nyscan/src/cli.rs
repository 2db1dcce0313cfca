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
    /// Write a file of an image to stdout, fetching only its chunks.
    Cat(CatArgs),
    /// Write a whole image out as a directory tree (or a PAX tar with --tar).
    Unpack(UnpackArgs),
    /// Mount an image read-only with FUSE, fetching file data only when it is read. Runs
    /// until SIGINT/SIGTERM (or `nyscan umount`), or detaches with --daemon.
    Mount(MountArgs),
    /// Unmount a `nyscan mount`, also one whose process was killed ("Transport endpoint is
    /// not connected").
    Umount(UmountArgs),
    /// Replace, add and delete files of an image and push the result as a new image that
    /// shares the source's blobs (only chunks the image lacks are uploaded).
    Patch(PatchArgs),
    /// List an image's packages as an SBOM (CycloneDX 1.6, SPDX 2.3), a table or JSON,
    /// reading only the bytes the package analyzers need.
    Sbom(SbomArgs),
    /// The offline vulnerability database: `import` OSV exports, `update` from OSV, `info`.
    Db(crate::db::DbArgs),
    /// Scan an image for vulnerable packages, secrets and image-config problems, reading
    /// only the bytes the analyzers need; report as a table, Trivy's JSON, SARIF or CycloneDX.
    Scan(crate::scan::ScanArgs),
}

/// How image data is fetched, shared by every command that reads file contents.
#[derive(Debug, clap::Args)]
pub(crate) struct FetchArgs {
    /// Print what was fetched (requests, bytes, chunks) to stderr when done.
    #[arg(long)]
    pub(crate) stats: bool,
    /// Range requests in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) parallel: usize,
    /// Chunk cache directory (default: $XDG_CACHE_HOME/nyscan/chunks).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Do not read or write the chunk cache (nor, when scanning, the scan cache).
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Bound of the chunk cache, in MiB.
    #[arg(long, default_value_t = 2048, value_name = "MIB")]
    pub(crate) cache_size: u64,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CatArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// Absolute path of the file inside the image.
    #[arg(value_name = "PATH")]
    pub(crate) path: String,
    #[command(flatten)]
    pub(crate) fetch: FetchArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct UnpackArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// Directory to create (must be empty or absent); not needed with --tar.
    #[arg(value_name = "DIR", required_unless_present = "tar")]
    pub(crate) dest: Option<PathBuf>,
    /// Write a PAX tar to this file instead (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub(crate) tar: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) fetch: FetchArgs,
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
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// How registries are reached and which platform of an index is picked, shared by every
/// command that talks to a registry.
#[derive(Debug, clap::Args)]
pub(crate) struct RegistryArgs {
    /// Platform to pick from a multi-platform index, as `os/arch[/variant]` (default: this
    /// machine's).
    #[arg(long, value_name = "PLATFORM")]
    pub(crate) platform: Option<String>,
    /// Talk to registries over plain HTTP (the default for 127.0.0.1 and localhost).
    #[arg(long)]
    pub(crate) plain_http: bool,
    /// Do not verify registries' TLS certificates (dangerous).
    #[arg(long)]
    pub(crate) insecure: bool,
}

impl RegistryArgs {
    /// The platform to pick from an index: `--platform`, else this machine's.
    pub(crate) fn platform(&self) -> anyhow::Result<nyscan_oci::manifest::Platform> {
        use anyhow::Context;
        Ok(match &self.platform {
            Some(p) => nyscan_oci::manifest::Platform::parse(p)
                .with_context(|| format!("invalid --platform {p:?}: expected os/arch[/variant]"))?,
            None => nyscan_oci::manifest::Platform::host(),
        })
    }

    /// The registry client's options; warns on stderr when TLS checks are off.
    pub(crate) fn client_options(&self) -> nyscan_oci::registry::ClientOptions {
        if self.insecure {
            eprintln!("warning: --insecure: the registry's TLS certificate is NOT verified");
        }
        nyscan_oci::registry::ClientOptions {
            plain_http: self.plain_http.then_some(true),
            insecure: self.insecure,
            ..Default::default()
        }
    }
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

#[derive(Debug, clap::Args)]
pub(crate) struct MountArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// Directory to mount the image on.
    #[arg(value_name = "MOUNTPOINT")]
    pub(crate) mountpoint: PathBuf,
    #[command(flatten)]
    pub(crate) fetch: FetchArgs,
    /// Detach once mounted: the command returns when the mount is visible and a background
    /// process serves it.
    #[arg(long)]
    pub(crate) daemon: bool,
    /// Write the serving process's pid here, removed when it ends (with --daemon the default
    /// is under $XDG_RUNTIME_DIR/nyscan or /tmp/nyscan-UID, named after the mount point).
    #[arg(long, value_name = "FILE")]
    pub(crate) pid_file: Option<PathBuf>,
    /// Where --daemon's messages go (default: the pid file with `.log`).
    #[arg(long, value_name = "FILE")]
    pub(crate) log_file: Option<PathBuf>,
    /// Threads serving FUSE requests.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub(crate) threads: usize,
    /// Fetch the image's prefetch table in the background once mounted.
    #[arg(long)]
    pub(crate) prefetch: bool,
    /// Bytes fetched ahead of a sequential reader, in MiB (0: none).
    #[arg(long, default_value_t = 4, value_name = "MIB")]
    pub(crate) readahead: u64,
    /// KiB of neighbouring stored chunks fetched along with a missed chunk (0: only what is
    /// read).
    #[arg(long, default_value_t = 1024, value_name = "KIB")]
    pub(crate) amplify: u64,
    /// Let other users see the mount (FUSE `allow_other`).
    #[arg(long)]
    pub(crate) allow_other: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct UmountArgs {
    /// The mount point.
    #[arg(value_name = "MOUNTPOINT")]
    pub(crate) mountpoint: PathBuf,
    /// The pid file of a `nyscan mount --daemon` to wait for and clean up (default: the one
    /// `nyscan mount` would choose for this mount point).
    #[arg(long, value_name = "FILE")]
    pub(crate) pid_file: Option<PathBuf>,
}

/// Output formats of `nyscan sbom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    SpdxJson,
    /// A text table.
    Table,
    /// nyscan's JSON (with --stats: the scan's statistics too).
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SbomArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub(crate) format: SbomFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) fetch: FetchArgs,
    #[command(flatten)]
    pub(crate) analysis: AnalysisArgs,
}

/// How a scan keeps its results and shows progress, shared by the commands that run the
/// analyzers.
#[derive(Debug, clap::Args)]
pub(crate) struct AnalysisArgs {
    /// Scan cache directory: what the analyzers made of each file, by analyzer version and
    /// file content (default: $XDG_CACHE_HOME/nyscan/scan).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["no_cache", "no_scan_cache"])]
    pub(crate) scan_cache_dir: Option<PathBuf>,
    /// Do not read or write the scan cache (the chunk cache is still used).
    #[arg(long)]
    pub(crate) no_scan_cache: bool,
    /// Bound of the scan cache, in MiB.
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub(crate) scan_cache_size: u64,
    /// No progress bars (they are shown on stderr only when it is a terminal).
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PatchArgs {
    /// The image to patch: `HOST[:PORT]/REPO[:TAG|@DIGEST]` or `oci:DIR[:TAG|@DIGEST]`.
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Where the patched image goes: `HOST[:PORT]/REPO[:TAG]` or `oci:DIR[:TAG]`.
    #[arg(long, value_name = "DEST")]
    pub(crate) to: String,
    /// Give the file at PATH the content of the local file LOCAL (its mode, owner, xattrs
    /// and hardlinks stay).
    #[arg(long, value_name = "/PATH=LOCAL")]
    pub(crate) replace: Vec<String>,
    /// Add a file at PATH with the content of LOCAL (missing directories are created).
    #[arg(long, value_name = "/PATH=LOCAL")]
    pub(crate) add: Vec<String>,
    /// Delete PATH (a directory with everything below it).
    #[arg(long, value_name = "/PATH")]
    pub(crate) delete: Vec<String>,
    /// Permission bits (octal) of the --add or --replace before it (default for --add: the
    /// local file's).
    #[arg(long, value_name = "MODE")]
    pub(crate) mode: Vec<String>,
    /// Owner of the --add or --replace before it (default for --add: 0:0).
    #[arg(long, value_name = "UID:GID")]
    pub(crate) owner: Vec<String>,
    /// Read operations from FILE, one per line in the same syntax (`#` comments; local
    /// paths relative to FILE's directory).
    #[arg(long, value_name = "FILE")]
    pub(crate) from: Vec<String>,
    /// Overwrite the source's own tag, and replace directories (or links, devices) with
    /// files.
    #[arg(long)]
    pub(crate) force: bool,
    /// Do not read the written image back to check every changed path.
    #[arg(long)]
    pub(crate) no_verify: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}
