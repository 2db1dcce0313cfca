//! The metadata files inside a Java archive, read the way Trivy reads them
//! (`pkg/dependency/parser/java/jar/parse.go`): `pom.properties` (`groupId=`, `artifactId=`,
//! `version=` lines) and the main section of `META-INF/MANIFEST.MF`.

use std::sync::LazyLock;

use regex::Regex;

/// Longest line of a `pom.properties` (Go's `bufio.Scanner` default token size).
pub const MAX_PROPERTIES_LINE: usize = 64 << 10;

/// Maven coordinates found in an archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// `groupId`.
    pub group_id: String,
    /// `artifactId`.
    pub artifact_id: String,
    /// `version`.
    pub version: String,
}

impl Properties {
    /// All three coordinates present.
    pub fn is_valid(&self) -> bool {
        !self.group_id.is_empty() && !self.artifact_id.is_empty() && !self.version.is_empty()
    }

    /// `groupId:artifactId`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.group_id, self.artifact_id)
    }
}

/// Reads `pom.properties`: trimmed lines starting with `groupId=`, `artifactId=`,
/// `version=` (the last of each wins). `Err` for a line longer than
/// [`MAX_PROPERTIES_LINE`], which Trivy's line scanner refuses too.
pub fn parse_pom_properties(bytes: &[u8]) -> Result<Properties, String> {
    let mut props = Properties::default();
    for line in bytes.split(|&b| b == b'\n') {
        if line.len() > MAX_PROPERTIES_LINE {
            return Err(format!(
                "pom.properties line of {} bytes exceeds {MAX_PROPERTIES_LINE}",
                line.len()
            ));
        }
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if let Some(v) = line.strip_prefix("groupId=") {
            props.group_id = v.to_owned();
        } else if let Some(v) = line.strip_prefix("artifactId=") {
            props.artifact_id = v.to_owned();
        } else if let Some(v) = line.strip_prefix("version=") {
            props.version = v.to_owned();
        }
    }
    Ok(props)
}

/// The attributes of a manifest's main section that identify an artifact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    implementation_version: String,
    implementation_title: String,
    implementation_vendor: String,
    implementation_vendor_id: String,
    specification_title: String,
    specification_version: String,
    specification_vendor: String,
    bundle_name: String,
    bundle_version: String,
    bundle_symbolic_name: String,
    plugin_license_lines: Vec<String>,
}

/// Reads the main section of a manifest: lines end at CRLF, LF or CR; the section ends at
/// the first empty line; a line starting with one space continues the previous one.
pub fn parse_manifest(bytes: &[u8]) -> Manifest {
    let mut m = Manifest::default();
    let text = String::from_utf8_lossy(bytes);
    let mut attribute = String::new();
    for line in manifest_lines(&text) {
        if line.is_empty() {
            break;
        }
        if let Some(continued) = line.strip_prefix(' ') {
            attribute.push_str(continued);
            continue;
        }
        m.add_attribute(&attribute);
        attribute.clear();
        attribute.push_str(line);
    }
    m.add_attribute(&attribute);
    m
}

fn manifest_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\r', '\n']) {
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
        }
    })
}

impl Manifest {
    fn add_attribute(&mut self, line: &str) {
        // Values that are variables (`Bundle-Name: %bundleName`) or missing are skipped.
        let mut fields = line.split_whitespace();
        let _key = fields.next();
        match fields.next() {
            Some(second) if !second.starts_with('%') => {}
            _ => return,
        }
        let slots: [(&str, &mut String); 10] = [
            ("Implementation-Version:", &mut self.implementation_version),
            ("Implementation-Title:", &mut self.implementation_title),
            ("Implementation-Vendor:", &mut self.implementation_vendor),
            (
                "Implementation-Vendor-Id:",
                &mut self.implementation_vendor_id,
            ),
            ("Specification-Version:", &mut self.specification_version),
            ("Specification-Title:", &mut self.specification_title),
            ("Specification-Vendor:", &mut self.specification_vendor),
            ("Bundle-Version:", &mut self.bundle_version),
            ("Bundle-Name:", &mut self.bundle_name),
            ("Bundle-SymbolicName:", &mut self.bundle_symbolic_name),
        ];
        for (prefix, slot) in slots {
            if let Some(value) = line.strip_prefix(prefix) {
                *slot = value.to_owned();
                return;
            }
        }
        if line.starts_with("Plugin-License-Name") {
            self.plugin_license_lines.push(line.to_owned());
        }
    }

    /// The artifact the manifest describes, when group, artifact and version can all be
    /// determined (Trivy's order of attributes).
    pub fn properties(&self) -> Option<Properties> {
        let symbolic_group = symbolic_name_group(&self.bundle_symbolic_name);
        let group = first_set(&[
            &self.implementation_vendor_id,
            &symbolic_group,
            &self.implementation_vendor,
            &self.specification_vendor,
        ])?;
        let artifact = first_set(&[
            &self.implementation_title,
            &self.specification_title,
            &self.bundle_name,
        ])?;
        let version = first_set(&[
            &self.implementation_version,
            &self.specification_version,
            &self.bundle_version,
        ])?;
        let props = Properties {
            group_id: group.trim().to_owned(),
            artifact_id: artifact.trim().to_owned(),
            version: version.trim().to_owned(),
        };
        props.is_valid().then_some(props)
    }

    /// License names from Jenkins `Plugin-License-Name[-N]` attributes.
    pub fn plugin_licenses(&self) -> Vec<String> {
        self.plugin_license_lines
            .iter()
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                let known = key == "Plugin-License-Name" || key.starts_with("Plugin-License-Name-");
                let value = value.trim();
                (known && !value.is_empty()).then(|| value.to_owned())
            })
            .collect()
    }
}

/// `com.fasterxml.jackson.core.jackson-databind` → `com.fasterxml.jackson.core`.
fn symbolic_name_group(name: &str) -> String {
    match name.rfind('.') {
        Some(i) if i > 0 => name[..i].to_owned(),
        _ => name.to_owned(),
    }
}

fn first_set<'a>(values: &[&'a String]) -> Option<&'a String> {
    values.iter().copied().find(|v| !v.is_empty())
}

/// Trivy's file-name pattern for `name-1.2.3[-SNAPSHOT].jar` (Go RE2 semantics: `\d` and
/// `\S` are ASCII classes, so they are spelled out).
static FILE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([a-zA-Z0-9._-]*[^-*])-([0-9][^\t\n\f\r ]*(?:-SNAPSHOT)?).jar$")
        .expect("file name pattern is valid")
});

/// Artifact id and version from an archive's file name, as Trivy guesses them.
pub fn file_name_properties(path: &str) -> (String, String) {
    let base = path.rsplit('/').next().unwrap_or(path);
    match FILE_NAME.captures(base) {
        Some(c) => (c[1].to_owned(), c[2].to_owned()),
        None => (String::new(), String::new()),
    }
}

/// Maven version equality as Trivy uses it to drop duplicates: `2.17` equals `2.17.0`,
/// `1.0.GA` equals `1.0`, case is ignored. (Maven's `ComparableVersion`, reduced to
/// equality: the version is split into numbers and words at `.`, `-` and digit/letter
/// changes, numbers lose leading zeros, and trailing zeros and null qualifiers go.)
pub fn maven_versions_equal(a: &str, b: &str) -> bool {
    maven_items(a) == maven_items(b)
}

fn maven_items(version: &str) -> Vec<String> {
    let lower = version.to_lowercase();
    let mut items: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_digit = None;
    let flush = |current: &mut String, items: &mut Vec<String>| {
        let item = std::mem::take(current);
        let item = if item.bytes().all(|b| b.is_ascii_digit()) && !item.is_empty() {
            let trimmed = item.trim_start_matches('0');
            if trimmed.is_empty() {
                "0".to_owned()
            } else {
                trimmed.to_owned()
            }
        } else {
            match item.as_str() {
                "ga" | "final" | "release" => String::new(),
                "cr" => "rc".to_owned(),
                _ => item,
            }
        };
        items.push(item);
    };
    for c in lower.chars() {
        if c == '.' || c == '-' {
            flush(&mut current, &mut items);
            current_digit = None;
            continue;
        }
        let is_digit = c.is_ascii_digit();
        if current_digit.is_some_and(|d| d != is_digit) {
            flush(&mut current, &mut items);
        }
        current_digit = Some(is_digit);
        current.push(c);
    }
    flush(&mut current, &mut items);
    while items.last().is_some_and(|i| i.is_empty() || i == "0") {
        items.pop();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pom_properties_lines() {
        let p = parse_pom_properties(
            b"#Generated by Maven\n  groupId=org.example \r\nartifactId=demo\nversion=1.2.3\nother=x\n",
        )
        .unwrap();
        assert_eq!(p.name(), "org.example:demo");
        assert_eq!(p.version, "1.2.3");
        assert!(p.is_valid());
        assert!(!parse_pom_properties(b"groupId=a\n").unwrap().is_valid());
        let long = vec![b'x'; MAX_PROPERTIES_LINE + 1];
        assert!(parse_pom_properties(&long).is_err());
    }

    #[test]
    fn manifest_main_section_only() {
        let text = "Manifest-Version: 1.0\r\nImplementation-Title: demo-app\r\nImplementation-Version: 2.\r\n 0.1\r\nImplementation-Vendor-Id: org.example\r\nBundle-Name: %name\r\n\r\nName: org/example/\r\nImplementation-Version: 9.9\r\n";
        let m = parse_manifest(text.as_bytes());
        let p = m.properties().unwrap();
        assert_eq!(p.name(), "org.example:demo-app");
        assert_eq!(p.version, "2.0.1");
        // OSGi only: group from the symbolic name.
        let m = parse_manifest(
            b"Bundle-SymbolicName: com.fasterxml.jackson.core.jackson-databind\nBundle-Name: jackson-databind\nBundle-Version: 2.15.2\n",
        );
        assert_eq!(
            m.properties().unwrap(),
            Properties {
                group_id: "com.fasterxml.jackson.core".into(),
                artifact_id: "jackson-databind".into(),
                version: "2.15.2".into()
            }
        );
        // Lone CR line ends; missing version.
        let m = parse_manifest(b"Implementation-Title: x\rImplementation-Vendor: y\r");
        assert_eq!(m.properties(), None);
        let m = parse_manifest(b"Plugin-License-Name: MIT License\nPlugin-License-Name-2: Apache\nPlugin-License-Url: http://x\n");
        assert_eq!(m.plugin_licenses(), ["MIT License", "Apache"]);
    }

    #[test]
    fn file_names_like_trivy() {
        let cases = [
            (
                "app/spring-core-5.3.4-SNAPSHOT.jar",
                ("spring-core", "5.3.4-SNAPSHOT"),
            ),
            ("log4j-core-2.17.1.jar", ("log4j-core", "2.17.1")),
            (
                "io.quarkus.gizmo.gizmo-1.1.jar",
                ("io.quarkus.gizmo.gizmo", "1.1"),
            ),
            ("app.war", ("", "")),
            ("noversion.jar", ("", "")),
            ("x-1.0.JAR", ("", "")),
        ];
        for (path, (a, v)) in cases {
            assert_eq!(
                file_name_properties(path),
                (a.to_owned(), v.to_owned()),
                "{path}"
            );
        }
    }

    #[test]
    fn maven_equality() {
        assert!(maven_versions_equal("2.17", "2.17.0"));
        assert!(maven_versions_equal("1.0.GA", "1.0"));
        assert!(maven_versions_equal("1.0-final", "1"));
        assert!(maven_versions_equal("1.01", "1.1"));
        assert!(!maven_versions_equal("1.0", "1.0.1"));
        assert!(!maven_versions_equal("1.0-SNAPSHOT", "1.0"));
    }
}
