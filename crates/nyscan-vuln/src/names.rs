//! Package names as the database indexes them: the spelling rules of each ecosystem, so a
//! package found as `Django` matches a PyPI record for `django`.

use crate::ecosystem::EcosystemKind;

/// The index key of a package name in an ecosystem: PEP 503 normalisation for PyPI
/// (lower case, runs of `-_.` become `-`), lower case for NuGet and Packagist (both
/// case-insensitive registries), the name as is elsewhere (npm, Go, Maven, crates.io and
/// the distributions are case-sensitive or lower case already).
pub fn normalize(kind: &EcosystemKind, name: &str) -> String {
    match kind {
        EcosystemKind::PyPi => {
            let mut out = String::with_capacity(name.len());
            let mut in_sep = false;
            for c in name.trim().chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_sep {
                        out.push('-');
                    }
                    in_sep = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_sep = false;
                }
            }
            out
        }
        EcosystemKind::NuGet | EcosystemKind::Packagist => name.trim().to_lowercase(),
        _ => name.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ecosystem_spelling() {
        assert_eq!(
            normalize(&EcosystemKind::PyPi, "Zope.Interface__x"),
            "zope-interface-x"
        );
        assert_eq!(
            normalize(&EcosystemKind::NuGet, "Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(
            normalize(&EcosystemKind::Go, "github.com/BurntSushi/toml"),
            "github.com/BurntSushi/toml"
        );
        assert_eq!(
            normalize(&EcosystemKind::Maven, "org.Foo:bar"),
            "org.Foo:bar"
        );
    }
}
