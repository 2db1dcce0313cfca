//! Package URLs (package-url spec) written the way Trivy writes them, so reports compare
//! string for string: names and namespaces are query-escaped, versions path-escaped,
//! qualifiers keep the order given (Trivy: `arch`, `epoch`, then `distro`).
//!
//! OS packages are read before the OS is known (the release files and the package databases
//! are read in the same phase), so their analyzers write a purl without the distro and the
//! planner finishes it with [`os_package_purl`] once the OS is decided.

use crate::package::{OsInfo, Package, PackageType};

/// Escapes like Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space becomes `+`,
/// every other byte `%XX`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => push_hex(&mut out, b),
        }
    }
    out
}

/// Escapes like Go's `url.PathEscape`: letters, digits, `-_.~` and `$&+:=@` stay, every other
/// byte `%XX`.
pub fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b'&'
            | b'+'
            | b':'
            | b'='
            | b'@' => out.push(b as char),
            _ => push_hex(&mut out, b),
        }
    }
    out
}

fn push_hex(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 0xf)] as char);
}

/// `pkg:TYPE[/NAMESPACE]/NAME[@VERSION][?K=V&...]`; empty qualifier values are left out.
pub fn build(
    purl_type: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut out = format!("pkg:{purl_type}/");
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        for segment in ns.split('/').filter(|s| !s.is_empty()) {
            out.push_str(&query_escape(segment));
            out.push('/');
        }
    }
    out.push_str(&query_escape(name));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&path_escape(version));
    }
    let mut first = true;
    for (key, value) in qualifiers.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(key);
        out.push('=');
        out.push_str(&query_escape(value));
    }
    out
}

/// Splits `[epoch:]rest` (dpkg and rpm full versions) into the epoch (`""` when none or
/// zero) and the rest.
pub fn split_epoch(version: &str) -> (&str, &str) {
    match version.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            let epoch = epoch.trim_start_matches('0');
            (epoch, rest)
        }
        _ => ("", version),
    }
}

/// The purl of a dpkg or apk package on `os` (when detected), as Trivy writes it:
/// `pkg:deb/debian/NAME@VERSION?arch=A&epoch=E&distro=debian-12.5`,
/// `pkg:apk/alpine/NAME@VERSION?arch=A&distro=3.19.1`. Returns `None` for packages of other
/// types (rpm purls are completed by [`crate::rpm::apply_os`]).
pub fn os_package_purl(pkg: &Package, os: Option<&OsInfo>) -> Option<String> {
    let arch = pkg.arch.as_deref().unwrap_or("");
    match pkg.kind {
        PackageType::Dpkg => {
            let (epoch, version) = split_epoch(&pkg.version);
            let distro = os.map(|o| format!("{}-{}", o.family, o.name));
            Some(build(
                "deb",
                os.map(|o| o.family.as_str()),
                &pkg.name,
                version,
                &[
                    ("arch", arch),
                    ("epoch", epoch),
                    ("distro", distro.as_deref().unwrap_or("")),
                ],
            ))
        }
        PackageType::Apk => Some(build(
            "apk",
            os.map(|o| o.family.to_ascii_lowercase()).as_deref(),
            &pkg.name.to_ascii_lowercase(),
            &pkg.version,
            &[
                ("arch", arch),
                ("distro", os.map_or("", |o| o.name.as_str())),
            ],
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deb(name: &str, version: &str, arch: &str) -> Package {
        Package {
            kind: PackageType::Dpkg,
            name: name.into(),
            version: version.into(),
            arch: Some(arch.into()),
            source: None,
            licenses: Vec::new(),
            purl: String::new(),
            locations: Vec::new(),
        }
    }

    #[test]
    fn deb_purls_match_trivy() {
        let os = OsInfo {
            family: "debian".into(),
            name: "12.15".into(),
        };
        // Strings as Trivy printed them for the same packages.
        assert_eq!(
            os_package_purl(&deb("libstdc++6", "12.2.0-14+deb12u1", "amd64"), Some(&os)).unwrap(),
            "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14+deb12u1?arch=amd64&distro=debian-12.15"
        );
        assert_eq!(
            os_package_purl(&deb("libgmp10", "2:6.2.1+dfsg1-1.1", "amd64"), Some(&os)).unwrap(),
            "pkg:deb/debian/libgmp10@6.2.1+dfsg1-1.1?arch=amd64&epoch=2&distro=debian-12.15"
        );
        assert_eq!(
            os_package_purl(&deb("adduser", "3.134", "all"), None).unwrap(),
            "pkg:deb/adduser@3.134?arch=all"
        );
    }

    #[test]
    fn apk_purls_and_rpm_left_to_its_analyzer() {
        let alpine = OsInfo {
            family: "alpine".into(),
            name: "3.20.3".into(),
        };
        let mut p = deb("Musl", "1.2.5-r0", "x86_64");
        p.kind = PackageType::Apk;
        assert_eq!(
            os_package_purl(&p, Some(&alpine)).unwrap(),
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3"
        );
        let mut r = deb("openssl", "1:3.0.7-27.el9", "x86_64");
        r.kind = PackageType::Rpm;
        assert_eq!(os_package_purl(&r, Some(&alpine)), None);
    }

    #[test]
    fn escaping() {
        assert_eq!(query_escape("a b/c@d"), "a+b%2Fc%40d");
        assert_eq!(path_escape("1:2.0+x~y/z ?"), "1:2.0+x~y%2Fz%20%3F");
        assert_eq!(split_epoch("0:1.0"), ("", "1.0"));
        assert_eq!(split_epoch("x:1.0"), ("", "x:1.0"));
    }
}
