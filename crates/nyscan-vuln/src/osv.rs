//! OSV records (ossf/osv-schema), read leniently.
//!
//! Only `id` is required. Every other field that is missing, `null` or of an unexpected
//! type becomes its default, and unknown fields and ecosystems are kept or ignored, so one
//! odd record (or a schema addition) never fails a bulk import.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// Deserializes a field, falling back to its default when the value has the wrong shape.
fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

/// One OSV vulnerability record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OsvRecord {
    /// The record's id (`GHSA-...`, `DSA-...`, `CVE-...`).
    pub id: String,
    /// RFC 3339 time of the last change.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified: Option<String>,
    /// RFC 3339 time of publication.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub published: Option<String>,
    /// Set when the record was withdrawn: it must not be reported.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub withdrawn: Option<String>,
    /// Ids of the same vulnerability in other databases (CVE ids...).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<String>,
    /// Ids of related, not identical, vulnerabilities.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub related: Vec<String>,
    /// Ids of the upstream records this one derives from.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub upstream: Vec<String>,
    /// One-line summary.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary: Option<String>,
    /// Longer description (Markdown).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub details: Option<String>,
    /// Severity scores of the whole record.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<Severity>,
    /// The affected packages and versions.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub affected: Vec<Affected>,
    /// Links.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub references: Vec<Reference>,
    /// Database-specific data (e.g. GitHub's `severity`).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub database_specific: Option<serde_json::Value>,
}

/// A severity entry: a CVSS vector or a distribution's rating.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Severity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`...
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: String,
    /// The vector (CVSS) or rating (`medium`).
    #[serde(default, deserialize_with = "lenient")]
    pub score: String,
}

/// A reference link.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `FIX`, `WEB`...
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: String,
    /// The URL.
    #[serde(default, deserialize_with = "lenient")]
    pub url: String,
}

/// One affected package.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Affected {
    /// The package; entries without one are skipped by matching.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub package: Option<AffectedPackage>,
    /// Severity for this package only.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<Severity>,
    /// Version ranges.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<String>,
    /// Ecosystem-specific data (Debian's `urgency`...).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// Database-specific data.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub database_specific: Option<serde_json::Value>,
}

/// The package of an affected entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AffectedPackage {
    /// OSV ecosystem string (`Debian:12`, `PyPI`...).
    #[serde(default, deserialize_with = "lenient")]
    pub ecosystem: String,
    /// Package name as the ecosystem spells it.
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    /// Package URL, if given.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub purl: Option<String>,
}

/// A version range.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT`.
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: String,
    /// Repository of a `GIT` range.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub repo: Option<String>,
    /// Events in the order written.
    #[serde(default, deserialize_with = "lenient")]
    pub events: Vec<Event>,
}

/// A range event: exactly one of its fields is set in a valid record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Event {
    /// The version the vulnerability appears in (`0`: every earlier version).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub introduced: Option<String>,
    /// The first version without it.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub fixed: Option<String>,
    /// The last version with it (no fix known).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_affected: Option<String>,
    /// Upper bound of the range (`*`: none).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<String>,
}

impl OsvRecord {
    /// Parses one record.
    pub fn from_json(bytes: &[u8]) -> Result<OsvRecord, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Whether the record was withdrawn.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.as_deref().is_some_and(|w| !w.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_fields_do_not_fail_a_record() {
        let r = OsvRecord::from_json(
            br#"{"id":"TEST-1","aliases":null,"summary":42,"severity":"high",
                "affected":[{"package":{"ecosystem":"Brand New:3","name":"x"},
                             "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0"}]}],
                             "versions":"nope","extra":{"a":1}}],
                "new_field":[1,2,3]}"#,
        )
        .unwrap();
        assert_eq!(r.id, "TEST-1");
        assert!(r.aliases.is_empty() && r.summary.is_none() && r.severity.is_empty());
        let a = &r.affected[0];
        assert_eq!(a.package.as_ref().unwrap().ecosystem, "Brand New:3");
        assert_eq!(a.ranges[0].events[1].fixed.as_deref(), Some("1.0"));
        assert!(a.versions.is_empty());
        assert!(OsvRecord::from_json(br#"{"summary":"no id"}"#).is_err());
    }
}
