//! Java archives (`.jar`, `.war`, `.ear`, `.par`): Maven packages from `pom.properties`,
//! the main section of `MANIFEST.MF`, and nested archives, as Trivy's `jar` analyzer reports
//! them (`pkg/dependency/parser/java/jar/parse.go`).
//!
//! For each archive, in central-directory order:
//! - every `pom.properties` with group, artifact and version gives a package
//!   `groupId:artifactId` (`pkg:maven/<group>/<artifact>@<version>`), located at the
//!   archive's path;
//! - the last `MANIFEST.MF` gives the archive's own identity when no `pom.properties`
//!   matches the artifact id and version in the archive's file name
//!   (`name-1.2.3[-SNAPSHOT].jar`);
//! - nested `*.jar`, `*.war`, `*.ear` are read recursively, located at
//!   `<outer path>/<member name>`: stored ones in place (a [`Window`](crate::bytes::Window)
//!   onto the outer file: only their directory and metadata members are fetched), deflated
//!   ones inflated into memory under the budgets below.
//!
//! Packages with the same name, location and (Maven-equal) version are reported once.
//!
//! # Without Trivy's Java DB
//!
//! Trivy checks a manifest's group and artifact against its Java DB (a ~500 MiB index of
//! Maven Central, an OCI artifact downloaded at scan time), and when that fails looks the
//! archive's SHA-1 up in it, then guesses the group from the file name's artifact id. The DB
//! cannot be downloaded here: the installed Trivy stops with "Unable to initialize the Java
//! DB" (exit 1) as soon as the tree holds a jar, with or without `--skip-java-db-update`, so
//! jars are not compared with Trivy in the tests. This analyzer behaves like Trivy's offline
//! mode instead: a manifest with group, artifact and version is trusted as is, and no SHA-1
//! or file-name lookup is made. So, against a Trivy that has its DB: an archive with neither
//! a matching `pom.properties` nor a complete manifest yields no package of its own here
//! (Trivy may find it by SHA-1 or guess its group), and a manifest whose group Trivy's DB
//! does not know is reported here as written (Trivy would fall back to the SHA-1). Licenses
//! come only from Jenkins `Plugin-License-Name` attributes; Trivy also reads embedded
//! `pom.xml` licenses and OSGi `Bundle-License` SPDX ids, and classifies a packed LICENSE
//! file.
//!
//! # Limits
//!
//! Nesting deeper than [`MAX_DEPTH`] (osv-scalibr's limit; Trivy has none), more than
//! [`MAX_ARCHIVES`] archives or [`MAX_DIRECTORIES`] bytes of central directories in one
//! file, more than [`MAX_INFLATED`] bytes inflated for one file, a nested archive above [`MAX_NESTED`] or a metadata member above [`MAX_METADATA`]
//! (Trivy's manifest limit) end in [`AnalyzeError::Limit`]. A nested archive that fails is
//! skipped (recorded in [`JavaScan::skipped`]) and the outer archive's results stand, as in
//! Trivy; a top-level archive that fails is the analyzer's error.

use std::collections::HashMap;
use std::ops::Range;

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial};
use crate::archive::java_meta::{
    Manifest, Properties, file_name_properties, maven_versions_equal, parse_manifest,
    parse_pom_properties,
};
use crate::archive::zip::{self, InflateBudget, ZipArchive, ZipEntry, ZipError};
use crate::archive::{base_name, selected_archive};
use crate::bytes::{ByteSource, Need};
use crate::lang::package_findings;
use crate::os::purl;
use crate::package::{Package, PackageType};

/// Deepest nesting read (the outer archive is depth 0).
pub const MAX_DEPTH: usize = 16;
/// Most archives opened while reading one file.
pub const MAX_ARCHIVES: usize = 10_000;
/// Most bytes inflated while reading one file.
pub const MAX_INFLATED: u64 = 256 << 20;
/// Largest deflated nested archive inflated.
pub const MAX_NESTED: u64 = 128 << 20;
/// Largest `pom.properties` or `MANIFEST.MF` read.
pub const MAX_METADATA: u64 = 10 << 20;
/// Most skipped nested archives recorded one by one (the rest are counted).
pub const MAX_SKIPPED_RECORDED: usize = 64;
/// Most central-directory bytes parsed while reading one file (nested directories
/// included; archives whose members overlap could otherwise make the same directory be
/// parsed over and over).
pub const MAX_DIRECTORIES: u64 = 256 << 20;

/// The Java archive analyzer.
#[derive(Debug, Clone, Copy, Default)]
pub struct JavaArchive;

impl Analyzer for JavaArchive {
    fn name(&self) -> &'static str {
        "jar"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, path: &str, meta: &FileMeta) -> Option<Initial> {
        selected_archive(meta, is_java_archive_name(path))
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        Ok(package_findings(scan_java_archive(data, path)?.packages))
    }
}

/// `.jar`, `.war`, `.ear` or `.par`, any case.
pub fn is_java_archive_name(path: &str) -> bool {
    let Some((_, ext)) = base_name(path).rsplit_once('.') else {
        return false;
    };
    ["jar", "war", "ear", "par"]
        .iter()
        .any(|e| ext.eq_ignore_ascii_case(e))
}

/// Nested members read as archives (Trivy: these three, lower case).
fn is_nested_archive_name(name: &str) -> bool {
    let base = base_name(name);
    base.rsplit_once('.')
        .is_some_and(|(_, ext)| matches!(ext, "jar" | "war" | "ear"))
}

/// A nested archive that could not be read; the scan went on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its path (`<outer>/<member>`).
    pub path: String,
    /// Why.
    pub reason: String,
    /// True when a limit (depth, size, budget) was hit rather than damage found.
    pub is_limit: bool,
}

/// What one archive file yields.
#[derive(Debug, Clone, Default)]
pub struct JavaScan {
    /// The packages.
    pub packages: Vec<Package>,
    /// Nested archives skipped (the first [`MAX_SKIPPED_RECORDED`]).
    pub skipped: Vec<Skipped>,
    /// Nested archives skipped beyond those recorded.
    pub skipped_unrecorded: usize,
}

/// Reads the archive at image path `path` (no leading `/`) and everything nested in it.
/// Missing bytes of all members and nested archives reachable so far are asked for together
/// ([`AnalyzeError::Need`]), so each nesting level costs a few rounds, not one per member.
pub fn scan_java_archive(data: &dyn ByteSource, path: &str) -> Result<JavaScan, AnalyzeError> {
    let mut walk = Walk {
        budget: InflateBudget::new(MAX_INFLATED),
        archives: 0,
        directory_bytes: 0,
        need: Vec::new(),
        skipped: Vec::new(),
        skipped_unrecorded: 0,
    };
    let found = walk.archive(data, path, 0);
    if !walk.need.is_empty() {
        return Err(AnalyzeError::Need(Need { ranges: walk.need }));
    }
    let found = found.map_err(AnalyzeError::from)?;
    let packages = dedupe(found)
        .into_iter()
        .map(|p| Package {
            kind: PackageType::Jar,
            name: p.props.name(),
            purl: purl::build(
                "maven",
                Some(&p.props.group_id),
                &p.props.artifact_id,
                &p.props.version,
                &[],
            ),
            version: p.props.version,
            arch: None,
            source: None,
            licenses: p.licenses,
            locations: vec![p.location],
        })
        .collect();
    Ok(JavaScan {
        packages,
        skipped: walk.skipped,
        skipped_unrecorded: walk.skipped_unrecorded,
    })
}

/// A package before conversion.
#[derive(Debug, Clone)]
struct Found {
    props: Properties,
    location: String,
    licenses: Vec<String>,
}

struct Walk {
    budget: InflateBudget,
    archives: usize,
    directory_bytes: u64,
    need: Vec<Range<u64>>,
    skipped: Vec<Skipped>,
    skipped_unrecorded: usize,
}

/// The outcome of reading one member: its bytes, or "later" (its ranges were recorded).
enum Member<T> {
    Ready(T),
    Later,
}

impl Walk {
    /// Records a member's missing ranges, or passes its error on.
    fn member<T>(&mut self, r: Result<T, ZipError>) -> Result<Member<T>, ZipError> {
        match r {
            Ok(v) => Ok(Member::Ready(v)),
            Err(e) => match e.need() {
                Some(need) => {
                    self.need.extend(need.ranges.iter().cloned());
                    Ok(Member::Later)
                }
                None => Err(e),
            },
        }
    }

    fn archive(
        &mut self,
        src: &dyn ByteSource,
        path: &str,
        depth: usize,
    ) -> Result<Vec<Found>, ZipError> {
        self.archives += 1;
        if self.archives > MAX_ARCHIVES {
            return Err(ZipError::Limit {
                what: "archives in one file".to_owned(),
                value: self.archives as u64,
                max: MAX_ARCHIVES as u64,
            });
        }
        let zip = ZipArchive::open(src)?;
        self.directory_bytes += zip.directory_len();
        if self.directory_bytes > MAX_DIRECTORIES {
            return Err(ZipError::Limit {
                what: "central directory bytes in one file".to_owned(),
                value: self.directory_bytes,
                max: MAX_DIRECTORIES,
            });
        }
        let (file_artifact, file_version) = file_name_properties(path);
        let mut found = Vec::new();
        let mut manifest = Manifest::default();
        let mut own_pom = false;
        for entry in zip.entries() {
            let base = base_name(&entry.name);
            if base == "pom.properties" {
                let read = zip::read_member(src, entry, MAX_METADATA, &mut self.budget);
                let Member::Ready(bytes) = self.member(read)? else {
                    continue;
                };
                let props = parse_pom_properties(&bytes).map_err(|reason| ZipError::Corrupt {
                    name: entry.name.clone(),
                    reason,
                })?;
                if props.is_valid() {
                    own_pom |= props.artifact_id == file_artifact && props.version == file_version;
                    found.push(Found {
                        props,
                        location: path.to_owned(),
                        licenses: Vec::new(),
                    });
                }
            } else if base == "MANIFEST.MF" {
                let read = zip::read_member(src, entry, MAX_METADATA, &mut self.budget);
                if let Member::Ready(bytes) = self.member(read)? {
                    manifest = parse_manifest(&bytes);
                }
            } else if is_nested_archive_name(&entry.name) && !entry.is_dir() {
                found.extend(self.nested(src, entry, path, depth));
            }
        }
        if !own_pom && let Some(props) = manifest.properties() {
            found.push(Found {
                props,
                location: path.to_owned(),
                licenses: Vec::new(),
            });
        }
        attach_manifest_licenses(&mut found, path, manifest.plugin_licenses());
        Ok(found)
    }

    /// The packages of a nested archive; failures are recorded and yield nothing.
    fn nested(
        &mut self,
        src: &dyn ByteSource,
        entry: &ZipEntry,
        outer: &str,
        depth: usize,
    ) -> Vec<Found> {
        let Some(path) = nested_path(outer, &entry.name) else {
            return Vec::new(); // escapes its archive: ignored, as Trivy does
        };
        let result = if depth + 1 > MAX_DEPTH {
            Err(ZipError::Limit {
                what: "archive nesting depth".to_owned(),
                value: depth as u64 + 1,
                max: MAX_DEPTH as u64,
            })
        } else if entry.method == zip::STORED && !entry.is_encrypted() {
            self.nested_stored(src, entry, &path, depth)
        } else {
            let read = zip::read_member(src, entry, MAX_NESTED, &mut self.budget);
            match self.member(read) {
                Ok(Member::Ready(bytes)) => {
                    let inner = zip::in_memory(&bytes);
                    let r = self.archive(&inner, &path, depth + 1);
                    self.nested_result(r)
                }
                Ok(Member::Later) => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(found) => found,
            Err(_) if self.skipped.len() >= MAX_SKIPPED_RECORDED => {
                self.skipped_unrecorded += 1;
                Vec::new()
            }
            Err(e) => {
                self.skipped.push(Skipped {
                    is_limit: matches!(e, ZipError::Limit { .. }),
                    reason: e.to_string(),
                    path,
                });
                Vec::new()
            }
        }
    }

    fn nested_stored(
        &mut self,
        src: &dyn ByteSource,
        entry: &ZipEntry,
        path: &str,
        depth: usize,
    ) -> Result<Vec<Found>, ZipError> {
        match zip::stored(src, entry) {
            Ok(window) => {
                let r = self.archive(&window, path, depth + 1);
                self.nested_result(r)
            }
            Err(e) => {
                if let Some(need) = e.need() {
                    self.need.extend(need.ranges.iter().cloned());
                    // Ask for the nested archive's tail in the same round (its end record),
                    // assuming the local header is as long as the central record says.
                    if let Some(file_at) = src.file_offset() {
                        let tail = zip::SHORT_TAIL.min(entry.compressed_size);
                        let end = entry.likely_data_end().min(src.len());
                        self.need
                            .push(file_at + end.saturating_sub(tail)..file_at + end);
                    }
                    Ok(Vec::new())
                } else {
                    Err(e)
                }
            }
        }
    }

    /// A nested archive's missing bytes are recorded, not an error.
    fn nested_result(&mut self, r: Result<Vec<Found>, ZipError>) -> Result<Vec<Found>, ZipError> {
        match r {
            Err(e) => match e.need() {
                Some(need) => {
                    self.need.extend(need.ranges.iter().cloned());
                    Ok(Vec::new())
                }
                None => Err(e),
            },
            ok => ok,
        }
    }
}

/// `outer/member` cleaned like Go's `path.Join`; `None` when the result does not start with
/// `outer` (a member name escaping its archive).
fn nested_path(outer: &str, member: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let outer_parts: Vec<&str> = outer
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for p in outer_parts.iter().copied().chain(member.split('/')) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    let clean_outer = outer_parts.join("/");
    // Trivy's check is a string prefix test on the cleaned paths.
    joined.starts_with(&clean_outer).then_some(joined)
}

/// Jenkins plugin licenses go to the archive's own package when exactly one package is
/// located at the archive and it has no license yet.
fn attach_manifest_licenses(found: &mut [Found], path: &str, licenses: Vec<String>) {
    if licenses.is_empty() {
        return;
    }
    let mut own = found.iter_mut().filter(|f| f.location == path);
    if let (Some(only), None) = (own.next(), own.next())
        && only.licenses.is_empty()
    {
        only.licenses = licenses;
    }
}

/// Drops packages with the same name, location and Maven-equal version as an earlier one.
fn dedupe(found: Vec<Found>) -> Vec<Found> {
    let mut seen: HashMap<(String, String, String), Vec<String>> = HashMap::new();
    let mut kept = Vec::new();
    for f in found {
        let key = (
            f.props.group_id.clone(),
            f.props.artifact_id.clone(),
            f.location.clone(),
        );
        let versions = seen.entry(key).or_default();
        if versions
            .iter()
            .any(|v| maven_versions_equal(v, &f.props.version))
        {
            continue;
        }
        versions.push(f.props.version.clone());
        kept.push(f);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::testzip::{Member as M, build_zip};
    use crate::archive::zip::in_memory as mem;
    use crate::archive::{ARCHIVE_HEAD, ARCHIVE_TAIL};
    use crate::bytes::FileView;

    fn noise(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x1234_5678;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    }

    fn pom(g: &str, a: &str, v: &str) -> Vec<u8> {
        format!("groupId={g}\nartifactId={a}\nversion={v}\n").into_bytes()
    }

    fn names(scan: &JavaScan) -> Vec<(String, String, String)> {
        scan.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.locations[0].clone()))
            .collect()
    }

    /// Runs the analysis over a FileView the way the planner does; returns the scan, the
    /// rounds and the bytes fetched.
    pub(crate) fn run_in_rounds(file: &[u8], path: &str) -> (JavaScan, usize, u64) {
        let mut view = FileView::new(file.len() as u64);
        let head = ARCHIVE_HEAD.min(file.len() as u64) as usize;
        view.insert(0, &file[..head]);
        let tail_start = file.len().saturating_sub(ARCHIVE_TAIL as usize);
        view.insert(tail_start as u64, &file[tail_start..]);
        let mut rounds = 0;
        loop {
            match scan_java_archive(&view, path) {
                Ok(scan) => return (scan, rounds, view.known_bytes()),
                Err(AnalyzeError::Need(need)) => {
                    rounds += 1;
                    assert!(rounds < 50, "too many rounds");
                    for r in need.ranges {
                        let r = r.start.min(file.len() as u64)..r.end.min(file.len() as u64);
                        view.insert(r.start, &file[r.start as usize..r.end as usize]);
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn pom_properties_manifest_and_nested_archives() {
        let inner_stored = build_zip(
            &[M::deflated(
                "META-INF/maven/org.lib/stored-lib/pom.properties",
                &pom("org.lib", "stored-lib", "1.0.0"),
            )],
            b"",
        );
        let inner_deflated = build_zip(
            &[M::stored("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nImplementation-Title: zipped\nImplementation-Version: 3.1\nImplementation-Vendor-Id: org.zip\n\n")],
            b"",
        );
        let outer = build_zip(
            &[
                M::deflated("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nImplementation-Title: app\nImplementation-Version: 9.9\nImplementation-Vendor-Id: org.app\n"),
                M::deflated("META-INF/maven/org.app/app/pom.properties", &pom("org.app", "app", "1.2.3")),
                M::stored("com/example/Big.class", &noise(300 << 10)),
                M::stored("BOOT-INF/lib/stored-lib-1.0.0.jar", &inner_stored),
                M::deflated("BOOT-INF/lib/zipped.jar", &inner_deflated),
                M::stored("../evil.jar", &inner_stored),
            ],
            b"",
        );
        let (scan, rounds, fetched) = run_in_rounds(&outer, "srv/app-1.2.3.jar");
        assert_eq!(
            names(&scan),
            [
                (
                    "org.app:app".to_owned(),
                    "1.2.3".to_owned(),
                    "srv/app-1.2.3.jar".to_owned()
                ),
                (
                    "org.lib:stored-lib".into(),
                    "1.0.0".into(),
                    "srv/app-1.2.3.jar/BOOT-INF/lib/stored-lib-1.0.0.jar".into()
                ),
                (
                    "org.zip:zipped".into(),
                    "3.1".into(),
                    "srv/app-1.2.3.jar/BOOT-INF/lib/zipped.jar".into()
                ),
            ]
        );
        assert_eq!(scan.packages[0].purl, "pkg:maven/org.app/app@1.2.3");
        assert_eq!(scan.packages[0].kind, PackageType::Jar);
        assert!(scan.skipped.is_empty());
        assert!(rounds <= 4, "{rounds} rounds");
        assert!(
            fetched < outer.len() as u64,
            "fetched {fetched} of {}",
            outer.len()
        );

        // The file name does not match the pom: the manifest adds the archive's identity.
        let (scan, _, _) = run_in_rounds(&outer, "srv/other-5.0.jar");
        assert!(names(&scan).contains(&(
            "org.app:app".into(),
            "9.9".into(),
            "srv/other-5.0.jar".into()
        )));
    }

    #[test]
    fn nesting_beyond_the_limit_is_skipped_and_outer_results_stand() {
        let mut jar = build_zip(
            &[M::deflated(
                "META-INF/maven/g/deepest/pom.properties",
                &pom("g", "deepest", "1"),
            )],
            b"",
        );
        for level in (0..50).rev() {
            jar = build_zip(
                &[
                    M::deflated(
                        &format!("META-INF/maven/g/level{level}/pom.properties"),
                        &pom("g", &format!("level{level}"), "1"),
                    ),
                    M::stored(&format!("lib/level{}.jar", level + 1), &jar),
                ],
                b"",
            );
        }
        let (scan, rounds, _) = run_in_rounds(&jar, "a/outer.jar");
        // Levels 0..=16 are read (depth 16 is the deepest), deeper ones are skipped.
        assert_eq!(scan.packages.len(), MAX_DEPTH + 1);
        assert_eq!(scan.skipped.len(), 1);
        assert!(scan.skipped[0].is_limit);
        assert!(
            scan.skipped[0].reason.contains("nesting depth"),
            "{}",
            scan.skipped[0].reason
        );
        assert!(rounds <= 4 * (MAX_DEPTH + 1), "{rounds}");
    }

    #[test]
    fn a_bomb_member_fails_its_archive_with_a_limit() {
        let bomb = build_zip(
            &[M::deflated("META-INF/MANIFEST.MF", &vec![b'A'; 40 << 20])],
            b"",
        );
        let err = scan_java_archive(&mem(&bomb), "x.jar").unwrap_err();
        assert!(matches!(err, AnalyzeError::Limit(_)), "{err}");
        // Nested: skipped, outer result kept.
        let outer = build_zip(
            &[
                M::deflated("META-INF/maven/g/a/pom.properties", &pom("g", "a", "1")),
                M::deflated("lib/bomb.jar", &bomb),
            ],
            b"",
        );
        let scan = scan_java_archive(&mem(&outer), "outer.jar").unwrap();
        assert_eq!(scan.packages.len(), 1);
        assert!(scan.skipped[0].is_limit, "{:?}", scan.skipped);
    }

    #[test]
    fn overlapping_members_end_at_the_archive_limit() {
        // Each level lists the level below 50 times, all records on one local header:
        // 50^12 archives if nothing stopped it.
        let mut jar = build_zip(
            &[M::stored(
                "META-INF/maven/g/a/pom.properties",
                &pom("g", "a", "1"),
            )],
            b"",
        );
        for _ in 0..12 {
            jar = crate::archive::testzip::build_zip_aliased(&[M::stored("lib/x.jar", &jar)], 49);
        }
        let started = std::time::Instant::now();
        let scan = scan_java_archive(&mem(&jar), "fan.jar").unwrap();
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        assert!(!scan.packages.is_empty());
        assert_eq!(scan.skipped.len(), MAX_SKIPPED_RECORDED);
        assert!(scan.skipped_unrecorded > 0);
        assert!(
            scan.skipped.iter().all(|s| s.is_limit),
            "{:?}",
            scan.skipped[0]
        );
    }

    #[test]
    fn duplicates_and_selection() {
        let jar = build_zip(
            &[
                M::stored("a/pom.properties", &pom("g", "a", "2.17")),
                M::stored("b/pom.properties", &pom("g", "a", "2.17.0")),
                M::stored("c/pom.properties", &pom("g", "a", "2.18")),
            ],
            b"",
        );
        let scan = scan_java_archive(&mem(&jar), "x.jar").unwrap();
        assert_eq!(scan.packages.len(), 2);
        let meta = FileMeta {
            size: 1,
            mode: 0o100644,
        };
        for path in ["a.jar", "b.WAR", "c.Ear", "d.par"] {
            assert!(JavaArchive.select(path, &meta).is_some(), "{path}");
        }
        assert!(JavaArchive.select("a.jar.txt", &meta).is_none());
        assert!(
            JavaArchive
                .select(
                    "a.jar",
                    &FileMeta {
                        size: 1,
                        mode: 0o120777
                    }
                )
                .is_none()
        );
        assert_eq!(
            nested_path("a/b.jar", "lib/c.jar").as_deref(),
            Some("a/b.jar/lib/c.jar")
        );
        assert_eq!(nested_path("a/b.jar", "../c.jar"), None);
        assert_eq!(nested_path("a/b.jar", "x/../../c/d.jar"), None);
    }
}
