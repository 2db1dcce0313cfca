//! Names Trivy uses for the same facts, so reports line up with Trivy's.

use nyscan_analyze::package::{OsInfo, Package};

/// Trivy's `PkgType` of a package: the OS family for OS packages (`debian`, `alpine`,
/// `redhat`...), the analyzer type for the others (`python-pkg`, `node-pkg`, `jar`...).
pub fn pkg_type<'a>(pkg: &'a Package, os: Option<&'a OsInfo>) -> &'a str {
    match os {
        Some(os) if pkg.kind.is_os() => &os.family,
        _ => pkg.kind.as_str(),
    }
}

/// The part of a Maven `group:artifact` name before the colon, and the rest; other names
/// have no group.
pub fn group_and_name(pkg: &Package) -> (Option<&str>, &str) {
    match pkg.kind {
        nyscan_analyze::package::PackageType::Jar => match pkg.name.split_once(':') {
            Some((group, name)) => (Some(group), name),
            None => (None, &pkg.name),
        },
        _ => (None, &pkg.name),
    }
}

/// A name usable in a URL path: the artifact reference with every character outside
/// `[A-Za-z0-9._-]` replaced by `-`.
pub(crate) fn namespace_name(artifact: &str) -> String {
    artifact
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}
