//! `update`: download OSV's per-ecosystem `all.zip` exports and rebuild the database.
//!
//! Each archive is downloaded to `<ecosystem>.zip.part` in the download directory; an
//! interrupted download is resumed with an HTTP `Range` request guarded by `If-Range` (the
//! server's `ETag` or `Last-Modified`, kept beside the partial file), so a changed export
//! restarts from zero instead of being spliced. Only when every archive is complete is a
//! new database built, in a temporary file beside the old one, and renamed over it: a
//! failed update leaves the old database as it was.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};

use super::{DbError, ImportReport, VulnDb};

/// OSV's public bucket of exports.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The ecosystems downloaded by default: those nyscan's analyzers find packages of.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Chainguard",
    "Debian",
    "Go",
    "Maven",
    "NuGet",
    "Packagist",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "SUSE",
    "Ubuntu",
    "Wolfi",
    "crates.io",
    "npm",
    "openSUSE",
];

/// What to download and where.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Base URL; archives are fetched from `BASE/<ecosystem>/all.zip`.
    pub base_url: String,
    /// OSV ecosystem names.
    pub ecosystems: Vec<String>,
    /// Where archives are downloaded (default: `<database>.download/` beside it).
    pub download_dir: Option<PathBuf>,
}

impl Default for UpdateOptions {
    fn default() -> UpdateOptions {
        UpdateOptions {
            base_url: DEFAULT_BASE_URL.to_owned(),
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|s| (*s).to_owned()).collect(),
            download_dir: None,
        }
    }
}

/// Progress of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateProgress<'a> {
    /// Bytes of an archive on disk so far (resumed bytes included) and the total, if known.
    Downloading {
        /// The ecosystem.
        ecosystem: &'a str,
        /// Bytes so far.
        done: u64,
        /// Total bytes, if the server said.
        total: Option<u64>,
    },
    /// Records imported from an archive so far.
    Importing {
        /// The ecosystem.
        ecosystem: &'a str,
        /// Records so far.
        records: u64,
    },
}

/// One downloaded archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The ecosystem.
    pub ecosystem: String,
    /// Its URL.
    pub url: String,
    /// Size of the complete archive.
    pub bytes: u64,
    /// Bytes that were already on disk from an interrupted download.
    pub resumed_from: u64,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReport {
    /// The archives.
    pub downloads: Vec<Download>,
    /// The import into the new database.
    pub import: ImportReport,
}

/// Percent-encodes an ecosystem name for a URL path segment (`Red Hat` → `Red%20Hat`).
fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A file name for an ecosystem's archive.
fn file_stem(ecosystem: &str) -> String {
    ecosystem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Downloads the exports and swaps in a new database at `db_path`.
pub fn update(
    db_path: &Path,
    options: &UpdateOptions,
    progress: &mut dyn FnMut(UpdateProgress<'_>),
) -> Result<UpdateReport, DbError> {
    let download_dir = options.download_dir.clone().unwrap_or_else(|| {
        let mut name = db_path.file_name().unwrap_or_default().to_os_string();
        name.push(".download");
        db_path.with_file_name(name)
    });
    std::fs::create_dir_all(&download_dir).map_err(DbError::io(&download_dir))?;
    let client = reqwest::blocking::Client::builder()
        .user_agent(concat!("nyscan/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|source| DbError::Http {
            url: options.base_url.clone(),
            source,
        })?;
    let base = options.base_url.trim_end_matches('/');
    let mut downloads = Vec::new();
    let mut archives = Vec::new();
    for eco in &options.ecosystems {
        let url = format!("{base}/{}/all.zip", encode_segment(eco));
        let dest = download_dir.join(format!("{}.zip", file_stem(eco)));
        let (bytes, resumed_from) = download(&client, &url, &dest, &mut |done, total| {
            progress(UpdateProgress::Downloading {
                ecosystem: eco,
                done,
                total,
            })
        })?;
        downloads.push(Download {
            ecosystem: eco.clone(),
            url: url.clone(),
            bytes,
            resumed_from,
        });
        archives.push((eco.clone(), url, dest));
    }

    // Build the new database beside the old one, so the rename stays on one filesystem.
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(db_path.file_name().unwrap_or_default());
    tmp_name.push(format!(".new-{}", std::process::id()));
    let tmp = db_path.with_file_name(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    let built = (|| {
        let db = VulnDb::create(&tmp)?;
        let mut report = ImportReport::default();
        for (eco, url, dest) in &archives {
            let n = db.import_source(dest, eco, url, &mut report, &mut |_, records| {
                progress(UpdateProgress::Importing {
                    ecosystem: eco,
                    records,
                })
            })?;
            report.sources.push((eco.clone(), n));
        }
        drop(db);
        Ok(report)
    })();
    let import = match built {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, db_path).map_err(DbError::io(db_path))?;
    for (_, _, dest) in &archives {
        let _ = std::fs::remove_file(dest);
    }
    let _ = std::fs::remove_dir(&download_dir);
    Ok(UpdateReport { downloads, import })
}

fn validator_path(part: &Path) -> PathBuf {
    let mut name = part.file_name().unwrap_or_default().to_os_string();
    name.push(".validator");
    part.with_file_name(name)
}

/// Downloads `url` to `dest`, resuming `dest.part` when the server still has the same
/// file. Returns the size and the bytes resumed.
fn download(
    client: &reqwest::blocking::Client,
    url: &str,
    dest: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(u64, u64), DbError> {
    let mut part_name = dest.file_name().unwrap_or_default().to_os_string();
    part_name.push(".part");
    let part = dest.with_file_name(part_name);
    let validator_file = validator_path(&part);
    let have = std::fs::metadata(&part).map_or(0, |m| m.len());
    let validator = std::fs::read_to_string(&validator_file)
        .ok()
        .filter(|v| !v.is_empty());
    let http = |source| DbError::Http {
        url: url.to_owned(),
        source,
    };

    let mut request = client.get(url);
    let resuming = have > 0 && validator.is_some();
    if resuming && let Some(v) = &validator {
        request = request
            .header(RANGE, format!("bytes={have}-"))
            .header(IF_RANGE, v.as_str());
    }
    let mut response = request.send().map_err(http)?;
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let length: Option<u64> = header(CONTENT_LENGTH).and_then(|v| v.parse().ok());
    let (start, total) = match status {
        StatusCode::PARTIAL_CONTENT if resuming => {
            // `bytes START-END/TOTAL`: it must continue exactly where the file ends.
            let range = header(CONTENT_RANGE).unwrap_or_default();
            let start = range
                .strip_prefix("bytes ")
                .and_then(|r| r.split('-').next())
                .and_then(|s| s.parse::<u64>().ok());
            if start != Some(have) {
                // Not the range asked for: start over next time.
                let _ = std::fs::remove_file(&part);
                return Err(DbError::HttpStatus {
                    url: url.to_owned(),
                    status: status.as_u16(),
                });
            }
            let total = range
                .rsplit('/')
                .next()
                .and_then(|t| t.parse::<u64>().ok())
                .or(length.map(|l| l + have));
            (have, total)
        }
        StatusCode::OK => (0, length),
        StatusCode::RANGE_NOT_SATISFIABLE if resuming => {
            // The partial file is not a prefix of what the server has now.
            let _ = std::fs::remove_file(&part);
            let _ = std::fs::remove_file(&validator_file);
            return download(client, url, dest, progress);
        }
        other => {
            return Err(DbError::HttpStatus {
                url: url.to_owned(),
                status: other.as_u16(),
            });
        }
    };
    // Remember what identifies this file on the server, for a later resume.
    let new_validator = header(ETAG)
        .or_else(|| header(LAST_MODIFIED))
        .unwrap_or_default();
    std::fs::write(&validator_file, &new_validator).map_err(DbError::io(&validator_file))?;

    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(start > 0)
        .truncate(start == 0)
        .open(&part)
        .map_err(DbError::io(&part))?;
    let mut done = start;
    progress(done, total);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match response.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) if total.is_some() => break,
            Err(e) => return Err(DbError::io(&part)(e)),
        };
        file.write_all(&buf[..n]).map_err(DbError::io(&part))?;
        done += n as u64;
        progress(done, total);
    }
    file.flush().map_err(DbError::io(&part))?;
    drop(file);
    if let Some(total) = total
        && done < total
    {
        return Err(DbError::Truncated {
            url: url.to_owned(),
            got: done,
            expected: total,
        });
    }
    std::fs::rename(&part, dest).map_err(DbError::io(dest))?;
    let _ = std::fs::remove_file(&validator_file);
    Ok((done, start))
}
