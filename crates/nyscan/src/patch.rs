//! `nyscan patch`: replace, add and delete files of an image and publish the result.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{ArgMatches, CommandFactory};
use nyscan_patch::{PatchOptions, PatchReport, parse_ops, patch};

use crate::cli::{Args, PatchArgs};

/// The operation flags, in the order they may be mixed on the command line.
const OP_FLAGS: [&str; 6] = ["replace", "add", "delete", "mode", "owner", "from"];

/// The operation flags and values in the order they were typed: `--mode` and `--owner` apply
/// to the `--add`/`--replace` before them, which clap's per-flag lists do not tell. The
/// arguments are parsed again for their positions (the same arguments `main` parsed).
fn ordered_tokens() -> Result<Vec<String>> {
    let matches = Args::command()
        .try_get_matches_from(std::env::args_os())
        .context("cannot read the order of the operation flags")?;
    let sub: &ArgMatches = matches
        .subcommand_matches("patch")
        .context("cannot read the order of the operation flags")?;
    let mut seen: Vec<(usize, &str, String)> = Vec::new();
    for id in OP_FLAGS {
        let (Some(indices), Some(values)) = (sub.indices_of(id), sub.get_many::<String>(id)) else {
            continue;
        };
        for (index, value) in indices.zip(values) {
            seen.push((index, id, value.clone()));
        }
    }
    seen.sort_by_key(|(index, _, _)| *index);
    Ok(seen
        .into_iter()
        .flat_map(|(_, id, value)| [format!("--{id}"), value])
        .collect())
}

pub(crate) fn run(args: &PatchArgs) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let ops = parse_ops(&ordered_tokens()?, &cwd)?;
    let options = PatchOptions {
        force: args.force,
        verify: !args.no_verify,
        platform: args.registry.platform()?,
        client: args.registry.client_options(),
        work_dir: None,
    };
    let report = patch(&args.source, &args.to, &ops, &options)
        .with_context(|| format!("cannot patch {} into {}", args.source, args.to))?;
    if args.json {
        println!("{}", serde_json::to_string(&json(&report))?);
    } else {
        print!("{}", text(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// The report as text.
fn text(r: &PatchReport) -> String {
    let mut out = format!(
        "patched {} ({}) into {} (RAFS v{})\n",
        r.source,
        r.source_manifest,
        r.dest,
        r.version.number()
    );
    let width = r.changes.iter().map(|c| c.path.len()).max().unwrap_or(0);
    for c in &r.changes {
        let _ = match c.op {
            "replace" | "add" => writeln!(
                out,
                "  {:<7} {:<width$}  {} bytes: {} new chunks ({} bytes stored), {} deduplicated",
                c.op, c.path, c.bytes, c.new_chunks, c.stored_bytes, c.deduped_chunks
            ),
            "delete" => writeln!(
                out,
                "  {:<7} {:<width$}  {} entries removed",
                c.op, c.path, c.removed
            ),
            _ => writeln!(out, "  {:<7} {}", c.op, c.path),
        };
    }
    match &r.new_blob {
        Some(b) => {
            let _ = writeln!(
                out,
                "new blob sha256:{}: {} bytes, {} chunks",
                b.id, b.size, b.chunks
            );
        }
        None => out.push_str("no new blob: every chunk was already in the image\n"),
    }
    let _ = writeln!(
        out,
        "source blobs: {} mounted, {} copied, {} already there",
        r.blobs.mounted, r.blobs.copied, r.blobs.present
    );
    let _ = writeln!(out, "manifest {}", r.manifest_digest);
    match r.verified {
        Some(v) => {
            let _ = writeln!(
                out,
                "verified: {} paths read back, {} bytes of content compared",
                v.paths, v.bytes
            );
        }
        None => out.push_str("not verified (--no-verify)\n"),
    }
    out
}

/// The report as JSON.
fn json(r: &PatchReport) -> serde_json::Value {
    serde_json::json!({
        "source": r.source,
        "source_manifest": r.source_manifest,
        "dest": r.dest,
        "manifest": r.manifest_digest,
        "rafs_version": r.version.number(),
        "changes": r.changes.iter().map(|c| serde_json::json!({
            "op": c.op,
            "path": c.path,
            "bytes": c.bytes,
            "new_chunks": c.new_chunks,
            "deduped_chunks": c.deduped_chunks,
            "stored_bytes": c.stored_bytes,
            "removed": c.removed,
        })).collect::<Vec<_>>(),
        "new_chunks": r.new_chunks(),
        "deduped_chunks": r.deduped_chunks(),
        "new_blob": r.new_blob.as_ref().map(|b| serde_json::json!({
            "id": b.id,
            "size": b.size,
            "chunks": b.chunks,
        })),
        "source_blobs": {
            "mounted": r.blobs.mounted,
            "copied": r.blobs.copied,
            "present": r.blobs.present,
        },
        "verified": r.verified.map(|v| serde_json::json!({
            "paths": v.paths,
            "bytes": v.bytes,
        })),
    })
}
