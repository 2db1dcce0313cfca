//! The apk database (`lib/apk/db/installed`): Alpine, Wolfi, Chainguard.
//!
//! One stanza per package, one `X:value` field per line: `P` name, `V` version, `o` origin
//! (the source package), `L` license, `A` arch, `F` a directory and `R` a file in it (the
//! files the package owns).

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial, Phase};
use crate::bytes::ByteSource;
use crate::os::version::is_valid_apk;
use crate::os::{os_purl_placeholder, read_whole};
use crate::package::{Package, PackageType, SourcePackage};

const DATABASES: &[&str] = &["lib/apk/db/installed", "usr/lib/apk/db/installed"];

/// Reads apk's installed database.
#[derive(Debug, Default, Clone, Copy)]
pub struct Apk;

impl Analyzer for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn version(&self) -> u32 {
        1
    }

    fn phase(&self) -> Phase {
        Phase::Os
    }

    fn select(&self, path: &str, _meta: &FileMeta) -> Option<Initial> {
        DATABASES.contains(&path).then_some(Initial::Whole)
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        let bytes = read_whole(path, data)?;
        let text = String::from_utf8_lossy(&bytes);
        let (packages, owned_files) = parse_installed(path, &text);
        Ok(Findings {
            packages,
            owned_files,
            os: None,
            ..Findings::default()
        })
    }
}

/// A stanza being read.
#[derive(Debug, Default)]
struct Pending {
    name: String,
    version: String,
    origin: Option<String>,
    license: Option<String>,
    arch: Option<String>,
}

/// Packages (first stanza of a name wins, as in Trivy) and the files they own.
fn parse_installed(path: &str, text: &str) -> (Vec<Package>, Vec<String>) {
    let mut packages: Vec<Package> = Vec::new();
    let mut owned = Vec::new();
    let mut pending = Pending::default();
    let mut dir = String::new();
    let finish = |p: &mut Pending, packages: &mut Vec<Package>| {
        let p = std::mem::take(p);
        if p.name.is_empty() || p.version.is_empty() || packages.iter().any(|q| q.name == p.name) {
            return;
        }
        let mut pkg = Package {
            kind: PackageType::Apk,
            source: Some(SourcePackage {
                name: p.origin.unwrap_or_else(|| p.name.clone()),
                version: p.version.clone(),
            }),
            name: p.name,
            version: p.version,
            arch: p.arch,
            licenses: p.license.into_iter().collect(),
            purl: String::new(),
            locations: vec![path.to_owned()],
        };
        pkg.purl = os_purl_placeholder(&pkg);
        packages.push(pkg);
    };
    for line in text.lines() {
        if line.len() < 2 {
            finish(&mut pending, &mut packages);
            dir.clear();
            continue;
        }
        let Some((key, value)) = line.split_at_checked(2) else {
            continue;
        };
        match key {
            "P:" => pending.name = value.to_owned(),
            "V:" if is_valid_apk(value) => pending.version = value.to_owned(),
            "o:" => pending.origin = Some(value.to_owned()),
            "L:" if !value.is_empty() => pending.license = Some(value.to_owned()),
            "A:" if !value.is_empty() => pending.arch = Some(value.to_owned()),
            "F:" => dir = value.trim_matches('/').to_owned(),
            "R:" => {
                let file = value.trim_start_matches('/');
                owned.push(if dir.is_empty() {
                    file.to_owned()
                } else {
                    format!("{dir}/{file}")
                });
            }
            _ => {}
        }
    }
    finish(&mut pending, &mut packages);
    (packages, owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    const INSTALLED: &str = "\
C:Q1cS8EZbyGH7+Fqc14yXZkOw5O2Mo=
P:musl
V:1.2.5-r0
A:x86_64
S:411190
I:647168
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1712682476
c:6b2ed1b9deaaa1a4b9d6b4d8b6d5b7d61d4c3b1c
D:so:libc.musl-x86_64.so.1
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1g0ADKkQxG1GH7w3Ms4qw5Q7CjSA=
R:libc.musl-x86_64.so.1

C:Q1q
P:libcrypto3
V:3.3.2-r0
A:x86_64
L:Apache-2.0
o:openssl
F:etc/ssl
R:openssl.cnf.dist
F:usr/lib
R:libcrypto.so.3

P:broken
V:not-a-version
A:x86_64

P:musl
V:9.9.9-r0
";

    #[test]
    fn packages_origins_and_owned_files() {
        let path = "lib/apk/db/installed";
        let meta = FileMeta {
            size: INSTALLED.len() as u64,
            mode: 0o100644,
        };
        assert_eq!(Apk.select(path, &meta), Some(Initial::Whole));
        assert_eq!(Apk.select("var/lib/apk/db/installed", &meta), None);
        let found = Apk
            .analyze(
                path,
                &FileView::whole(INSTALLED.as_bytes().to_vec()),
                &Context::default(),
            )
            .unwrap();
        let names: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(names, [("musl", "1.2.5-r0"), ("libcrypto3", "3.3.2-r0")]);
        let crypto = &found.packages[1];
        assert_eq!(crypto.source.as_ref().unwrap().name, "openssl");
        assert_eq!(crypto.source.as_ref().unwrap().version, "3.3.2-r0");
        assert_eq!(crypto.licenses, ["Apache-2.0"]);
        assert_eq!(crypto.purl, "pkg:apk/libcrypto3@3.3.2-r0?arch=x86_64");
        assert_eq!(
            found.owned_files,
            [
                "lib/ld-musl-x86_64.so.1",
                "lib/libc.musl-x86_64.so.1",
                "etc/ssl/openssl.cnf.dist",
                "usr/lib/libcrypto.so.3"
            ]
        );
    }
}
