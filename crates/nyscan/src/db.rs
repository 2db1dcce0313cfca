//! `nyscan db`: the offline vulnerability database (import OSV exports, update from OSV's
//! bucket, show what it holds).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use nyscan_vuln::VulnDb;
use nyscan_vuln::db::{
    DEFAULT_BASE_URL, DEFAULT_ECOSYSTEMS, UpdateOptions, UpdateProgress, update,
};

/// Arguments of `nyscan db`.
#[derive(Debug, Args)]
pub(crate) struct DbArgs {
    /// The database file (default: $XDG_DATA_HOME/nyscan/vuln.db, else
    /// ~/.local/share/nyscan/vuln.db).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) db: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Import OSV records: per-ecosystem `all.zip` exports, directories of OSV JSON files,
    /// or single JSON files (added to the database, replacing records with the same id).
    Import {
        /// Archives, directories or files.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,
    },
    /// Download OSV's per-ecosystem exports and rebuild the database (resumes interrupted
    /// downloads; the old database stays until the new one is complete).
    Update {
        /// Where exports are downloaded from (`BASE/<ecosystem>/all.zip`).
        #[arg(long, value_name = "URL", default_value = DEFAULT_BASE_URL)]
        base_url: String,
        /// Ecosystems to download (repeatable; default: every ecosystem nyscan finds
        /// packages of).
        #[arg(long = "ecosystem", value_name = "NAME")]
        ecosystems: Vec<String>,
    },
    /// Show the database's sources, record counts per ecosystem and age.
    Info {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn db_path(args: &DbArgs) -> Result<PathBuf> {
    args.db
        .clone()
        .or_else(VulnDb::default_path)
        .ok_or_else(|| {
            anyhow!("no database path: pass --db FILE (neither XDG_DATA_HOME nor HOME is set)")
        })
}

/// Progress lines on stderr, at most a few per second.
struct Progress {
    last: Option<Instant>,
    tty: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            last: None,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn say(&mut self, line: &str, force: bool) {
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(500));
        if !(force || due) {
            return;
        }
        self.last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
    }

    fn done(&mut self) {
        if self.tty && self.last.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `nyscan db ...`.
pub(crate) fn run(args: &DbArgs) -> Result<ExitCode> {
    let path = db_path(args)?;
    let mut out = std::io::stdout().lock();
    match &args.command {
        DbCommand::Import { paths } => {
            let mut db = VulnDb::create(&path)?;
            let mut progress = Progress::new();
            let report = db
                .import(paths, &mut |source, n| {
                    progress.say(&format!("importing {source}: {n} records"), false)
                })
                .with_context(|| format!("importing into {}", path.display()))?;
            progress.done();
            for skipped in &report.skipped {
                eprintln!("warning: skipped {}: {}", skipped.location, skipped.reason);
            }
            if report.skipped_count > report.skipped.len() as u64 {
                eprintln!(
                    "warning: {} more records skipped",
                    report.skipped_count - report.skipped.len() as u64
                );
            }
            writeln!(
                out,
                "imported {} records from {} sources into {} ({} skipped)",
                report.records,
                report.sources.len(),
                path.display(),
                report.skipped_count
            )?;
        }
        DbCommand::Update {
            base_url,
            ecosystems,
        } => {
            let options = UpdateOptions {
                base_url: base_url.clone(),
                ecosystems: if ecosystems.is_empty() {
                    DEFAULT_ECOSYSTEMS.iter().map(|s| (*s).to_owned()).collect()
                } else {
                    ecosystems.clone()
                },
                download_dir: None,
            };
            let mut progress = Progress::new();
            let report = update(&path, &options, &mut |p| match p {
                UpdateProgress::Downloading {
                    ecosystem,
                    done,
                    total,
                } => {
                    let line = match total {
                        Some(t) if t > 0 => format!(
                            "downloading {ecosystem}: {} of {} ({}%)",
                            mib(done),
                            mib(t),
                            done * 100 / t
                        ),
                        _ => format!("downloading {ecosystem}: {}", mib(done)),
                    };
                    progress.say(&line, total == Some(done));
                }
                UpdateProgress::Importing { ecosystem, records } => {
                    progress.say(&format!("importing {ecosystem}: {records} records"), false)
                }
                _ => {}
            })
            .with_context(|| format!("updating {}", path.display()))?;
            progress.done();
            for d in report.downloads.iter().filter(|d| d.resumed_from > 0) {
                eprintln!("note: resumed {} at {}", d.ecosystem, mib(d.resumed_from));
            }
            writeln!(
                out,
                "updated {}: {} records from {} ecosystems ({} downloaded, {} skipped)",
                path.display(),
                report.import.records,
                report.downloads.len(),
                mib(report.downloads.iter().map(|d| d.bytes).sum()),
                report.import.skipped_count
            )?;
        }
        DbCommand::Info { json } => {
            let db = VulnDb::open(&path).map_err(|e| {
                if e.is_missing() {
                    anyhow!(
                        "no vulnerability database at {} (get one with `nyscan db update`, or `nyscan db import` OSV exports)",
                        path.display()
                    )
                } else {
                    anyhow::Error::new(e)
                }
            })?;
            let info = db.info()?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let age = info.last_update.map(|t| now.saturating_sub(t));
            if *json {
                let value = serde_json::json!({
                    "path": info.path,
                    "schema_version": info.schema_version,
                    "last_update": info.last_update,
                    "age_seconds": age,
                    "records": info.records,
                    "withdrawn": info.withdrawn,
                    "ecosystems": info.ecosystems.iter().map(|(e, n)| serde_json::json!({"ecosystem": e, "records": n})).collect::<Vec<_>>(),
                    "sources": info.sources.iter().map(|s| serde_json::json!({
                        "name": s.name, "location": s.location, "imported_at": s.imported_at, "records": s.records,
                    })).collect::<Vec<_>>(),
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
            } else {
                writeln!(out, "database: {}", info.path.display())?;
                writeln!(
                    out,
                    "records:  {} ({} withdrawn)",
                    info.records, info.withdrawn
                )?;
                match age {
                    Some(a) => writeln!(out, "updated:  {} ago", human_age(a))?,
                    None => writeln!(out, "updated:  never")?,
                }
                writeln!(out, "ecosystems:")?;
                for (eco, n) in &info.ecosystems {
                    writeln!(out, "  {eco:<20} {n:>8}")?;
                }
                writeln!(out, "sources:")?;
                for s in &info.sources {
                    writeln!(
                        out,
                        "  {:<20} {:>8} records  {} ago  {}",
                        s.name,
                        s.records,
                        human_age(now.saturating_sub(s.imported_at)),
                        s.location
                    )?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `42s`, `5m`, `3h`, `2d`.
fn human_age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
