//! Vulnerabilities for nyscan: exact version order per ecosystem, an offline database of
//! OSV records in SQLite, and matching installed packages against it.
//!
//! # Brief overview
//!
//! - [`version`]: [`version::compare`] orders two versions of an [`Ecosystem`] exactly as
//!   the ecosystem's own tool does (dpkg, apk, rpm, PEP 440, npm, Go, Maven, RubyGems,
//!   Composer, NuGet).
//! - [`ecosystem`]: OSV ecosystem strings (`Debian:12`, `Alpine:v3.19`...), never fatal.
//! - [`osv`]: OSV records, read leniently.
//! - [`db`]: [`VulnDb`], the SQLite store: [`VulnDb::import`] of OSV exports,
//!   [`db::update`] from OSV's bucket (resumable downloads, atomic swap), [`VulnDb::info`].
//! - [`matching`]: package → OSV ecosystem and name; OSV range evaluation.
//! - [`finding`]: [`Finding`]s and [`VulnDb::scan`] of a package list.
//! - [`severity`]: CVSS scores and vendor ratings.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use nyscan_vuln::VulnDb;
//! let db = VulnDb::open(&VulnDb::default_path().unwrap())?;
//! let packages: Vec<nyscan_analyze::package::Package> = Vec::new();
//! for f in db.scan(&packages, None)?.findings {
//!     println!("{} {} {} -> {:?}", f.id, f.package.name, f.installed_version, f.fixed_version);
//! }
//! # Ok(()) }
//! ```
//!
//! # Security
//!
//! OSV records and version strings are untrusted input: every parser returns a typed error
//! instead of panicking, records are read with a size bound, and one bad record is skipped
//! and reported rather than failing an import.

#![deny(missing_docs, missing_debug_implementations)]

pub mod db;
pub mod ecosystem;
pub mod finding;
pub mod matching;
pub mod names;
pub mod osv;
pub mod severity;
pub mod version;

pub use db::{DbError, DbInfo, VulnDb};
pub use ecosystem::{Ecosystem, EcosystemKind};
pub use finding::{Finding, ScanOutcome, Status};
pub use severity::Severity;
pub use version::{Scheme, VersionError, compare};
