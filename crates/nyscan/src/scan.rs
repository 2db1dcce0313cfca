//! `nyscan scan`: packages, vulnerabilities, secrets and image-config checks of an image,
//! read from the bootstrap first and then only the bytes the analyzers need; reports as a
//! table by target, JSON in Trivy's schema, SARIF 2.1.0 or CycloneDX with vulnerabilities.
//!
//! Exit codes: 0, or `--exit-code N` when findings remain after the filters; 2 on errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use nyscan_analyze::analyzer::{Analyzer, Phase};
use nyscan_analyze::planner::{Inventory, ScanStats};
use nyscan_analyze::secret::{SecretAnalyzer, SecretFinding};
use nyscan_image::ChunkReader;
use nyscan_image::cache::ChunkCache;
use nyscan_oci::{LoadedBootstrap, Source};
use nyscan_rafs::Bootstrap;
use nyscan_report::redact::redact_image_config;
use nyscan_report::{
    Filter, IgnoreList, ImageInfo, ScanFindings, ScanFormat, ScanReport, Scanners,
};
use nyscan_secrets::{ImageConfigReport, RuleSet, ScanLimits, SecretScanner};
use nyscan_vuln::{Severity, VulnDb};

use crate::cli::{AnalysisArgs, FetchArgs, SourceArgs};
use crate::data::cache;

/// What to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scanner {
    /// Packages and their vulnerabilities (from the OSV database).
    Vuln,
    /// Secrets in files (keys, tokens, passwords).
    Secret,
    /// Checks of the image config: root user, no HEALTHCHECK, secrets in ENV or history,
    /// SSH exposed.
    #[value(alias = "misconfig")]
    Config,
}

/// Report formats of `nyscan scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ScanFormatArg {
    /// Tables by target.
    Table,
    /// JSON in Trivy's schema.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX 1.6 with vulnerabilities.
    Cyclonedx,
}

/// Arguments of `nyscan scan`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// What to look for, comma-separated: vuln, secret, config.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "vuln,secret")]
    pub(crate) scanners: Vec<Scanner>,
    /// The vulnerability database (default: $XDG_DATA_HOME/nyscan/vuln.db, else
    /// ~/.local/share/nyscan/vuln.db).
    #[arg(long, value_name = "FILE")]
    pub(crate) db: Option<PathBuf>,
    /// Severities to report, comma-separated (default: all): UNKNOWN, LOW, MEDIUM, HIGH,
    /// CRITICAL.
    #[arg(long, short = 's', value_delimiter = ',', value_parser = parse_severity)]
    pub(crate) severity: Vec<Severity>,
    /// Leave out vulnerabilities that have no fixed version.
    #[arg(long)]
    pub(crate) ignore_unfixed: bool,
    /// Exit with this code when findings remain after the filters.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) exit_code: u8,
    /// Ids to leave out, one per line (vulnerability ids or aliases, secret rule ids, check
    /// ids; `#` comments; `exp:YYYY-MM-DD` after an id ends it). Default: `.trivyignore` in
    /// the current directory, when there is one.
    #[arg(long, value_name = "FILE")]
    pub(crate) ignorefile: Option<PathBuf>,
    /// Secret rules file (YAML: rules, allow-rules, disable-rules...).
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_config: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub(crate) format: ScanFormatArg,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) fetch: FetchArgs,
    #[command(flatten)]
    pub(crate) analysis: AnalysisArgs,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text.trim()).ok_or_else(|| {
        format!("unknown severity {text:?} (expected UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL)")
    })
}

impl From<ScanFormatArg> for ScanFormat {
    fn from(f: ScanFormatArg) -> ScanFormat {
        match f {
            ScanFormatArg::Table => ScanFormat::Table,
            ScanFormatArg::Json => ScanFormat::Json,
            ScanFormatArg::Sarif => ScanFormat::Sarif,
            ScanFormatArg::Cyclonedx => ScanFormat::CycloneDx,
        }
    }
}

/// The default ignore file, read when present.
const DEFAULT_IGNORE_FILE: &str = ".trivyignore";

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn load_ignore(args: &ScanArgs) -> Result<IgnoreList> {
    let path = match &args.ignorefile {
        Some(path) => path.clone(),
        None if Path::new(DEFAULT_IGNORE_FILE).is_file() => PathBuf::from(DEFAULT_IGNORE_FILE),
        None => return Ok(IgnoreList::default()),
    };
    let text = read_bounded(&path, nyscan_report::ignore::MAX_IGNORE_FILE_LEN as u64)?;
    IgnoreList::parse(&text).with_context(|| format!("cannot use ignore file {}", path.display()))
}

/// A text file of at most `limit` bytes.
fn read_bounded(path: &Path, limit: u64) -> Result<String> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > limit {
        bail!(
            "{} is {len} bytes, more than the {limit} bytes accepted",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The secret scanner: built-in rules, adjusted by `--secret-config`; and the rules file's
/// text (it keys the scan cache).
fn secret_scanner(args: &ScanArgs) -> Result<(Arc<SecretScanner>, Option<String>)> {
    let (rules, text) = match &args.secret_config {
        Some(path) => {
            let text = read_bounded(path, nyscan_secrets::config::MAX_RULES_FILE_LEN as u64)?;
            let rules = RuleSet::from_yaml(&text)
                .with_context(|| format!("cannot use secret rules file {}", path.display()))?;
            (rules, Some(text))
        }
        None => (RuleSet::builtin().context("built-in secret rules")?, None),
    };
    for note in rules.notes() {
        eprintln!("warning: secret rules: {note}");
    }
    let scanner = SecretScanner::new(rules, ScanLimits::default())
        .context("cannot build the secret scanner")?;
    Ok((Arc::new(scanner), text))
}

/// The image config blob named by the manifest, checked against its digest.
fn fetch_config(opened: &LoadedBootstrap, cache: Option<&ChunkCache>) -> Result<Option<Vec<u8>>> {
    let Some(manifest) = &opened.manifest else {
        return Ok(None);
    };
    let desc = &manifest.config;
    if desc.size > nyscan_oci::registry::MAX_CONFIG_SIZE {
        bail!(
            "the image config {} is {} bytes, more than the {} accepted",
            desc.digest,
            desc.size,
            nyscan_oci::registry::MAX_CONFIG_SIZE
        );
    }
    let hex = desc.sha256_hex()?;
    let bytes = crate::layer_cache::blob_by_digest(cache, &desc.digest, || {
        Ok(opened.blobs.read_range(hex, 0, desc.size)?)
    })
    .with_context(|| format!("cannot fetch the image config {}", desc.digest))?;
    Ok(Some(bytes))
}

/// What the report says about the image besides its files. The config goes in only when it
/// was checked, with the secrets the checks found (and secret-named variables) masked.
fn image_info(
    args: &SourceArgs,
    opened: &LoadedBootstrap,
    config: Option<(&[u8], &ImageConfigReport)>,
) -> ImageInfo {
    let mut info = ImageInfo::default();
    if let Some((bytes, checked)) = config {
        let secrets: Vec<SecretFinding> = checked
            .secrets
            .iter()
            .cloned()
            .map(SecretFinding::from)
            .collect();
        info.config = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .map(|mut value| {
                redact_image_config(&mut value, &secrets);
                value
            });
        info.image_id = opened.manifest.as_ref().map(|m| m.config.digest.clone());
        info.diff_ids = info
            .config
            .as_ref()
            .and_then(|c| c["rootfs"]["diff_ids"].as_array())
            .map(|ids| {
                ids.iter()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    }
    if let Ok(Source::Registry(r)) = Source::parse(&args.source, args.blob_dir.as_deref()) {
        let repo = format!("{}/{}", r.registry, r.repository);
        if let Some(digest) = &opened.manifest_digest {
            info.repo_digests.push(format!("{repo}@{digest}"));
        }
        if let Some(tag) = &r.tag {
            info.repo_tags.push(format!("{repo}:{tag}"));
        }
    }
    info
}

/// Checks the image config. A config that cannot be checked fails the scan when the config
/// scanner is on; otherwise it is a warning and the report goes without it.
fn check_config(
    bytes: &[u8],
    scanner: &SecretScanner,
    required: bool,
) -> Result<Option<ImageConfigReport>> {
    match nyscan_secrets::check_image_config(bytes, scanner) {
        Ok(checked) => Ok(Some(checked)),
        Err(e) if required => Err(anyhow::Error::new(e).context("cannot check the image config")),
        Err(e) => {
            eprintln!("warning: the image config is not usable ({e}); the report goes without it");
            Ok(None)
        }
    }
}

/// The analyzers the scanners need: every package analyzer for `vuln`; for `secret` alone
/// the OS phase only (its ownership lists decide which files are the distribution's), and
/// the secret analyzer.
fn analyzers(scanners: Scanners, secret: Option<&SecretAnalyzer>) -> Vec<Box<dyn Analyzer>> {
    let mut list = nyscan_analyze::all::analyzers();
    if !scanners.vuln {
        list.retain(|a| a.phase() == Phase::Os);
    }
    if let Some(secret) = secret {
        list.push(Box::new(secret.clone()));
    }
    list
}

/// Matches packages against the database; `None` (with a hint on stderr) when there is none.
fn vulnerabilities(
    args: &ScanArgs,
    inventory: &Inventory,
) -> Result<Option<Vec<nyscan_vuln::Finding>>> {
    let path = args.db.clone().or_else(VulnDb::default_path);
    let Some(path) = path else {
        eprintln!(
            "warning: no vulnerability database path (neither XDG_DATA_HOME nor HOME is set): packages are listed, vulnerabilities are not checked\nhint: pass --db FILE"
        );
        return Ok(None);
    };
    let db = match VulnDb::open(&path) {
        Ok(db) => db,
        Err(e) if e.is_missing() => {
            eprintln!(
                "warning: no vulnerability database at {}: packages are listed, vulnerabilities are not checked\nhint: get one with `nyscan db update` (OSV's exports), or `nyscan db import PATH...` (OSV all.zip exports or JSON records), or pass --db FILE",
                path.display()
            );
            return Ok(None);
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot open the vulnerability database {}",
                path.display()
            )));
        }
    };
    let outcome = db
        .scan(&inventory.packages, inventory.os.as_ref())
        .with_context(|| format!("cannot match packages against {}", path.display()))?;
    if let Some(first) = outcome.warnings.first() {
        eprintln!(
            "note: {} packages or records could not be checked (first: {}: {})",
            outcome.warnings.len(),
            first.package,
            first.message
        );
    }
    Ok(Some(outcome.findings))
}

/// The image config, when a check or the report needs it (one small blob), checked: the
/// report's copy of it has the secrets the checks found masked.
fn image_config(
    args: &ScanArgs,
    scanners: Scanners,
    opened: &LoadedBootstrap,
    cache: Option<&ChunkCache>,
    secrets: Option<&(Arc<SecretScanner>, Option<String>)>,
) -> Result<(ImageInfo, Option<ImageConfigReport>)> {
    let wanted =
        scanners.config || matches!(args.format, ScanFormatArg::Json | ScanFormatArg::Sarif);
    let config = if wanted {
        match fetch_config(opened, cache) {
            Ok(config) => config,
            Err(e) if !scanners.config => {
                eprintln!("warning: {e:#}; the report goes without the image config");
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    if scanners.config && config.is_none() {
        eprintln!(
            "warning: {} is a bootstrap file, not an image: it has no image config to check",
            args.source.source
        );
    }
    let checked = match (&config, secrets) {
        (None, _) => None,
        (Some(bytes), Some((scanner, _))) => check_config(bytes, scanner, scanners.config)?,
        (Some(bytes), None) => {
            let scanner = SecretScanner::builtin().context("built-in secret rules")?;
            check_config(bytes, &scanner, scanners.config)?
        }
    };
    let image = image_info(
        &args.source,
        opened,
        config.as_deref().zip(checked.as_ref()),
    );
    Ok((image, checked))
}

/// Writes the report to `--output` or stdout.
fn write_report(args: &ScanArgs, report: &ScanReport<'_>) -> Result<()> {
    let format = ScanFormat::from(args.format);
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            nyscan_report::write_scan(format, report, &mut out)?;
            out.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            nyscan_report::write_scan(format, report, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}

pub(crate) fn run(args: &ScanArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let scanners = Scanners {
        vuln: args.scanners.contains(&Scanner::Vuln),
        secret: args.scanners.contains(&Scanner::Secret),
        config: args.scanners.contains(&Scanner::Config),
    };
    // Local inputs first: a bad ignore or rules file fails before anything is fetched.
    let ignore = load_ignore(args)?;
    let secrets = if scanners.secret || scanners.config {
        Some(secret_scanner(args)?)
    } else {
        None
    };

    let chunk_cache = cache(&args.fetch);
    let opened = crate::layer_cache::open(&args.source, chunk_cache.as_ref())?;
    let boot = Bootstrap::parse(&opened.bytes)
        .with_context(|| format!("cannot read the bootstrap of {}", args.source.source))?;
    let (image, checked) = image_config(
        args,
        scanners,
        &opened,
        chunk_cache.as_ref(),
        secrets.as_ref(),
    )?;

    let mut reader = ChunkReader::new(
        &boot,
        opened.blobs.as_ref(),
        crate::sbom::scan_fetch_options(&args.fetch),
    );
    if let Some(c) = &chunk_cache {
        reader = reader.with_cache(c);
    }
    let secret_analyzer = match (&secrets, scanners.secret) {
        (Some((scanner, text)), true) => Some(SecretAnalyzer::new(
            scanner.clone(),
            text.as_deref().map(str::as_bytes),
        )),
        _ => None,
    };
    let mut stats = ScanStats::default();
    let mut inventory = Inventory::default();
    if scanners.vuln || scanners.secret {
        let analyzers = analyzers(scanners, secret_analyzer.as_ref());
        let scan_cache = crate::sbom::scan_cache(&args.fetch, &args.analysis);
        let scan = crate::sbom::analyze(&reader, &analyzers, scan_cache.as_ref(), &args.analysis)
            .with_context(|| format!("cannot scan {}", args.source.source))?;
        stats = scan.stats;
        inventory = scan.inventory;
        if !scanners.vuln {
            // Found by the OS phase to tell which files the distribution owns; not asked for.
            inventory.packages.clear();
        }
    }
    stats.blob_bytes = crate::sbom::blob_bytes(&boot, opened.blobs.as_ref());

    let mut findings = ScanFindings {
        secrets: std::mem::take(&mut inventory.secrets),
        ..ScanFindings::default()
    };
    let mut vulnerabilities_checked = false;
    if scanners.vuln
        && let Some(found) = vulnerabilities(args, &inventory)?
    {
        findings.vulnerabilities = found;
        vulnerabilities_checked = true;
    }
    if scanners.config
        && let Some(checked) = checked
    {
        findings.misconfigurations = checked.misconfigurations;
        findings.passed_checks = checked.passed;
        findings
            .secrets
            .extend(checked.secrets.into_iter().map(SecretFinding::from));
    }

    let filter = Filter {
        severities: args.severity.clone(),
        ignore_unfixed: args.ignore_unfixed,
        ignore,
        now_unix: now_unix(),
    };
    let suppressed = filter.apply(&mut findings);
    if suppressed.total() > 0 {
        eprintln!(
            "note: {} findings left out by filters ({} by severity, {} unfixed, {} in the ignore file)",
            suppressed.total(),
            suppressed.by_severity,
            suppressed.unfixed,
            suppressed.ignored
        );
    }

    let report = ScanReport {
        artifact: &args.source.source,
        tool_version: env!("CARGO_PKG_VERSION"),
        created_unix: now_unix(),
        serial: crate::sbom::random_bits(),
        inventory: &inventory,
        findings: &findings,
        image: &image,
        scanners,
        vulnerabilities_checked,
    };
    if args.format != ScanFormatArg::Table
        && let Some(first) = inventory.notes.first()
    {
        // The table lists them; the other formats have no place for them.
        eprintln!(
            "warning: {} files were not analyzed or only in part (first: {} ({}): {})",
            inventory.notes.len(),
            first.path,
            first.analyzer,
            first.message
        );
    }
    write_report(args, &report)?;
    if args.fetch.stats {
        let found = format!(
            "{} packages, {} vulnerabilities, {} secrets, {} failed checks, {} notes",
            inventory.packages.len(),
            findings.vulnerabilities.len(),
            findings.secrets.len(),
            findings.misconfigurations.len(),
            inventory.notes.len()
        );
        crate::sbom::print_stats(&stats, &found, started);
    }
    if args.exit_code != 0 && !findings.is_empty() {
        return Ok(ExitCode::from(args.exit_code));
    }
    Ok(ExitCode::SUCCESS)
}
