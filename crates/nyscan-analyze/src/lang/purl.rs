//! Package URLs (package-url spec), written the way Trivy writes them.
//!
//! Trivy builds purls with `packageurl-go` 0.1.6: namespace segments, name and version are
//! percent-encoded except for RFC 3986 unreserved characters, the sub-delimiters
//! `! $ & ' ( ) * , ; =` and `:` (so `@`, `+`, `/`, `?`, `#`, space and non-ASCII bytes are
//! encoded); qualifiers are sorted by key and their values keep only unreserved characters and
//! `:`. Ecosystem rules on top of that (from Trivy's `pkg/purl`): PyPI names are lower-cased
//! with `_` replaced by `-`; npm names are lower-cased and split at the last `/` into a
//! namespace (`@scope`, written `%40scope`) and a name; Composer names are split at the last
//! `/` into vendor and name.

use std::fmt;

/// A package URL under construction; [`fmt::Display`] writes its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    kind: String,
    namespace: Vec<String>,
    name: String,
    version: Option<String>,
    qualifiers: Vec<(String, String)>,
}

impl Purl {
    /// A purl of type `kind` (`pypi`, `npm`, `rpm`...) for `name`.
    pub fn new(kind: &str, name: &str) -> Self {
        Purl {
            kind: kind.to_string(),
            namespace: Vec::new(),
            name: name.to_string(),
            version: None,
            qualifiers: Vec::new(),
        }
    }

    /// Sets the namespace; `/` separates its segments, empty segments are dropped.
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        self
    }

    /// Sets the version (an empty one leaves it unset).
    pub fn with_version(mut self, version: &str) -> Self {
        self.version = (!version.is_empty()).then(|| version.to_string());
        self
    }

    /// Adds (or replaces) a qualifier; an empty value removes it.
    pub fn with_qualifier(mut self, key: &str, value: &str) -> Self {
        self.qualifiers.retain(|(k, _)| k != key);
        if !value.is_empty() {
            self.qualifiers.push((key.to_string(), value.to_string()));
        }
        self
    }

    /// The purl type.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The namespace segments.
    pub fn namespace(&self) -> &[String] {
        &self.namespace
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version, when set.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The value of a qualifier, when set.
    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Parses a purl without a subpath (the form this module writes); `None` when it is not
    /// one.
    pub fn parse(text: &str) -> Option<Purl> {
        let rest = text.strip_prefix("pkg:")?;
        if rest.contains('#') {
            return None;
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (kind, path) = path.split_once('/')?;
        let (path, version) = match path.rsplit_once('@') {
            Some((p, v)) => (p, Some(percent_decode(v)?)),
            None => (path, None),
        };
        let mut segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect::<Option<_>>()?;
        let name = segments.pop()?;
        let mut purl = Purl {
            kind: kind.to_string(),
            namespace: segments,
            name,
            version,
            qualifiers: Vec::new(),
        };
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            let (k, v) = pair.split_once('=')?;
            purl = purl.with_qualifier(&percent_decode(k)?, &percent_decode(v)?);
        }
        Some(purl)
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkg:{}", self.kind)?;
        for segment in &self.namespace {
            write!(f, "/{}", encode(segment, is_path_safe))?;
        }
        write!(f, "/{}", encode(&self.name, is_path_safe))?;
        if let Some(version) = &self.version {
            write!(f, "@{}", encode(version, is_path_safe))?;
        }
        let mut qualifiers: Vec<&(String, String)> = self.qualifiers.iter().collect();
        qualifiers.sort_by(|a, b| a.0.cmp(&b.0));
        for (i, (key, value)) in qualifiers.into_iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(
                f,
                "{sep}{}={}",
                encode(key, is_qualifier_safe),
                encode(value, is_qualifier_safe)
            )?;
        }
        Ok(())
    }
}

/// `pkg:pypi/<name>@<version>` with the name lower-cased and `_` replaced by `-`.
pub fn pypi(name: &str, version: &str) -> String {
    Purl::new("pypi", &name.replace('_', "-").to_lowercase())
        .with_version(version)
        .to_string()
}

/// `pkg:npm/[<scope>/]<name>@<version>` with the name lower-cased.
pub fn npm(name: &str, version: &str) -> String {
    split_last_slash("npm", &name.to_lowercase(), version)
}

/// `pkg:composer/<vendor>/<name>@<version>`.
pub fn composer(name: &str, version: &str) -> String {
    split_last_slash("composer", name, version)
}

/// `pkg:<kind>/<name>@<version>` for ecosystems without a namespace (gem, nuget, conda,
/// cargo).
pub fn plain(kind: &str, name: &str, version: &str) -> String {
    Purl::new(kind, name).with_version(version).to_string()
}

fn split_last_slash(kind: &str, name: &str, version: &str) -> String {
    let purl = match name.rsplit_once('/') {
        Some((namespace, name)) => Purl::new(kind, name).with_namespace(namespace),
        None => Purl::new(kind, name),
    };
    purl.with_version(version).to_string()
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn is_path_safe(c: u8) -> bool {
    is_unreserved(c)
        || matches!(
            c,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b',' | b';' | b'=' | b':'
        )
}

fn is_qualifier_safe(c: u8) -> bool {
    is_unreserved(c) || c == b':'
}

fn encode(text: &str, safe: fn(u8) -> bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &c in text.as_bytes() {
        if safe(c) {
            out.push(c as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(c >> 4)] as char);
            out.push(HEX[usize::from(c & 15)] as char);
        }
    }
    out
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_rules_match_trivy() {
        assert_eq!(
            pypi("Typing_Extensions", "4.0"),
            "pkg:pypi/typing-extensions@4.0"
        );
        assert_eq!(pypi("zope.interface", "5"), "pkg:pypi/zope.interface@5");
        assert_eq!(npm("@Babel/Core", "7.0.0"), "pkg:npm/%40babel/core@7.0.0");
        assert_eq!(npm("lodash", "4.17.21"), "pkg:npm/lodash@4.17.21");
        assert_eq!(
            composer("pear/pear_exception", "v1.0.0"),
            "pkg:composer/pear/pear_exception@v1.0.0"
        );
        assert_eq!(plain("gem", "rack", "2.2.3"), "pkg:gem/rack@2.2.3");
        assert_eq!(
            plain("cargo", "serde", "1.0.0+build"),
            "pkg:cargo/serde@1.0.0%2Bbuild"
        );
    }

    #[test]
    fn qualifiers_are_sorted_and_encoded() {
        let purl = Purl::new("rpm", "openssl-libs")
            .with_namespace("centos")
            .with_version("1.0.2k-16.el7")
            .with_qualifier("epoch", "1")
            .with_qualifier("arch", "x86_64")
            .with_qualifier("distro", "centos-7.6.1810")
            .with_qualifier("modularitylabel", "nodejs:10:8020020200707141642:6a468ee4")
            .with_qualifier("repository_url", "a/b c");
        let text = purl.to_string();
        assert_eq!(
            text,
            "pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&distro=centos-7.6.1810\
             &epoch=1&modularitylabel=nodejs:10:8020020200707141642:6a468ee4\
             &repository_url=a%2Fb%20c"
        );
        let parsed = Purl::parse(&text).unwrap();
        assert_eq!(parsed.to_string(), text);
        assert_eq!(parsed.qualifier("repository_url"), Some("a/b c"));
        assert_eq!(parsed.namespace(), ["centos".to_string()]);
        assert_eq!(Purl::parse("pkg:npm/%40a/b@1").unwrap().namespace(), ["@a"]);
        assert!(Purl::parse("npm/a@1").is_none());
        assert!(Purl::parse("pkg:npm/a@%zz").is_none());
    }
}
