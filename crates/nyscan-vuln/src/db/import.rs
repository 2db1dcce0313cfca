//! Importing OSV exports: `all.zip` archives (one JSON record per member, as OSV publishes
//! per ecosystem), directories of `.json` records, or single `.json` files.
//!
//! Each path is one source, imported in one transaction. A record that does not parse is
//! skipped and reported with where it was; it never fails the import.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{DbError, VulnDb};
use crate::osv::OsvRecord;

/// Largest single record read (the biggest OSV records, Linux kernel ones, are well under
/// 1 MiB).
pub const MAX_RECORD_BYTES: u64 = 16 << 20;
/// Deepest directory nesting walked.
const MAX_DEPTH: usize = 32;
/// Skipped records listed in a report (the count goes on).
const MAX_LISTED: usize = 100;

/// A record that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where it is: a file, or `archive.zip!member.json`.
    pub location: String,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records imported (added or replaced).
    pub records: u64,
    /// Records per source, in the order imported.
    pub sources: Vec<(String, u64)>,
    /// Records skipped in total.
    pub skipped_count: u64,
    /// The first skipped records, with reasons.
    pub skipped: Vec<Skipped>,
}

impl ImportReport {
    fn skip(&mut self, location: String, reason: String) {
        self.skipped_count += 1;
        if self.skipped.len() < MAX_LISTED {
            self.skipped.push(Skipped { location, reason });
        }
    }
}

/// The source name of an import path: `Debian/all.zip` for OSV's per-ecosystem archives,
/// the file or directory name otherwise.
fn source_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    match path.parent().and_then(Path::file_name) {
        Some(parent) if file == "all.zip" => format!("{}/{file}", parent.to_string_lossy()),
        _ => file,
    }
}

impl VulnDb {
    /// Imports OSV exports: `.zip` archives, directories of `.json` records, `.json` files.
    /// `progress` gets each source's name and its record count so far.
    pub fn import(
        &mut self,
        paths: &[PathBuf],
        progress: &mut dyn FnMut(&str, u64),
    ) -> Result<ImportReport, DbError> {
        let mut report = ImportReport::default();
        for path in paths {
            let name = source_name(path);
            let location = std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string();
            let n = self.import_source(path, &name, &location, &mut report, progress)?;
            report.sources.push((name, n));
        }
        Ok(report)
    }

    /// Imports one path as one source, in one transaction.
    pub(crate) fn import_source(
        &self,
        path: &Path,
        name: &str,
        location: &str,
        report: &mut ImportReport,
        progress: &mut dyn FnMut(&str, u64),
    ) -> Result<u64, DbError> {
        self.begin()?;
        let result = self
            .import_path(path, name, report, progress)
            .and_then(|n| {
                self.record_source(name, location, n)?;
                Ok(n)
            });
        match result {
            Ok(n) => {
                self.commit()?;
                report.records += n;
                Ok(n)
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    fn import_path(
        &self,
        path: &Path,
        source: &str,
        report: &mut ImportReport,
        progress: &mut dyn FnMut(&str, u64),
    ) -> Result<u64, DbError> {
        let meta = std::fs::metadata(path).map_err(DbError::io(path))?;
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let mut count = 0;
        if meta.is_dir() {
            let mut files = Vec::new();
            collect_json(path, 0, &mut files)?;
            files.sort();
            for file in files {
                let location = file.display().to_string();
                match read_bounded(&file) {
                    Ok(bytes) => self.put_bytes(&bytes, source, location, report, &mut count)?,
                    Err(e) => report.skip(location, e),
                }
                progress(source, count);
            }
        } else if ext.as_deref() == Some("zip") {
            let file = std::fs::File::open(path).map_err(DbError::io(path))?;
            let mut archive =
                zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|source| {
                    DbError::Zip {
                        path: path.to_owned(),
                        source,
                    }
                })?;
            for i in 0..archive.len() {
                let mut member = archive.by_index(i).map_err(|source| DbError::Zip {
                    path: path.to_owned(),
                    source,
                })?;
                let member_name = member.name().map(|n| n.into_owned()).unwrap_or_default();
                if member.is_dir() || !member_name.to_ascii_lowercase().ends_with(".json") {
                    continue;
                }
                let location = format!("{}!{member_name}", path.display());
                if member.size() > MAX_RECORD_BYTES {
                    report.skip(
                        location,
                        format!(
                            "{} bytes, more than the {MAX_RECORD_BYTES} allowed",
                            member.size()
                        ),
                    );
                    continue;
                }
                let mut bytes = Vec::with_capacity(member.size() as usize);
                match (&mut member)
                    .take(MAX_RECORD_BYTES + 1)
                    .read_to_end(&mut bytes)
                {
                    Ok(_) => self.put_bytes(&bytes, source, location, report, &mut count)?,
                    Err(e) => report.skip(location, e.to_string()),
                }
                if count % 1000 == 0 {
                    progress(source, count);
                }
            }
            progress(source, count);
        } else if ext.as_deref() == Some("json") {
            match read_bounded(path) {
                Ok(bytes) => self.put_bytes(
                    &bytes,
                    source,
                    path.display().to_string(),
                    report,
                    &mut count,
                )?,
                Err(e) => report.skip(path.display().to_string(), e),
            }
            progress(source, count);
        } else {
            return Err(DbError::NotAnExport {
                path: path.to_owned(),
            });
        }
        Ok(count)
    }

    fn put_bytes(
        &self,
        bytes: &[u8],
        source: &str,
        location: String,
        report: &mut ImportReport,
        count: &mut u64,
    ) -> Result<(), DbError> {
        match OsvRecord::from_json(bytes) {
            Ok(record) if record.id.is_empty() => report.skip(location, "empty id".to_owned()),
            Ok(record) => {
                self.put(&record, source)?;
                *count += 1;
            }
            Err(e) => report.skip(location, format!("not an OSV record: {e}")),
        }
        Ok(())
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(format!("more than the {MAX_RECORD_BYTES} bytes allowed"));
    }
    Ok(bytes)
}

fn collect_json(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), DbError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(DbError::io(dir))? {
        let entry = entry.map_err(DbError::io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(DbError::io(&path))?;
        if kind.is_dir() {
            collect_json(&path, depth + 1, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            out.push(path);
        }
    }
    Ok(())
}
