//! The rules file (YAML): adds rules, disables rules, adds allow rules.
//!
//! Field names follow Trivy's `trivy-secret.yaml`, so the common parts of such a file work
//! unchanged:
//!
//! ```yaml
//! enable-builtin-rules: [aws-access-key-id]   # optional: keep only these built-in rules
//! disable-rules: [twilio-api-key]             # built-in or custom ids
//! disable-allow-rules: [markdown]             # built-in allow-rule ids
//! rules:
//!   - id: acme-token
//!     category: Acme
//!     title: Acme API token
//!     severity: HIGH
//!     keywords: [acme_]
//!     regex: '\bacme_(?P<secret>[0-9a-f]{32})\b'
//!     secret-group-name: secret
//!     path: '\.env$'                          # optional
//!     allow-rules:                            # optional, this rule only
//!       - id: acme-dummy
//!         regex: '0{32}'
//! allow-rules:
//!   - id: fixtures
//!     description: our fixture tree
//!     path: '^srv/fixtures/'
//! ```
//!
//! Unknown fields are refused by name (Trivy's `exclude-block` and `skip-patterns` are not
//! supported). Ids named in `disable-*` that match nothing are reported as notes.

use serde::Deserialize;

use crate::rule::{AllowRule, RuleError, RuleSpec};
use crate::severity::{Severity, UnknownSeverity};

/// Largest rules file accepted (bytes).
pub const MAX_RULES_FILE_LEN: usize = 1024 * 1024;
/// Most custom rules (or allow rules) accepted in one file.
pub const MAX_CUSTOM_RULES: usize = 1000;

/// Why a rules file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is larger than [`MAX_RULES_FILE_LEN`].
    #[error("rules file is {len} bytes (at most {MAX_RULES_FILE_LEN})")]
    TooLarge {
        /// Its size.
        len: usize,
    },
    /// Not valid YAML, or not the expected shape.
    #[error("rules file: {0}")]
    Yaml(String),
    /// More than [`MAX_CUSTOM_RULES`] rules or allow rules.
    #[error("rules file: {what} has {count} entries (at most {MAX_CUSTOM_RULES})")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// How many entries.
        count: usize,
    },
    /// A rule has a bad severity.
    #[error("rules file: rule {id:?}")]
    Severity {
        /// Rule id.
        id: String,
        /// The bad value.
        #[source]
        source: UnknownSeverity,
    },
    /// Two rules have the same id.
    #[error("rules file: rule id {0:?} is defined twice")]
    DuplicateId(String),
    /// A rule or allow rule does not compile.
    #[error("rules file")]
    Rule(#[from] RuleError),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RulesFileDoc {
    #[serde(default)]
    enable_builtin_rules: Option<Vec<String>>,
    #[serde(default)]
    disable_rules: Vec<String>,
    #[serde(default)]
    disable_allow_rules: Vec<String>,
    #[serde(default)]
    rules: Vec<RuleDoc>,
    #[serde(default)]
    allow_rules: Vec<AllowDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RuleDoc {
    id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    severity: Option<String>,
    regex: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    secret_group_name: Option<String>,
    #[serde(default)]
    allow_rules: Vec<AllowDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AllowDoc {
    id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    regex: Option<String>,
}

impl AllowDoc {
    fn compile(&self) -> Result<AllowRule, RuleError> {
        AllowRule::new(
            &self.id,
            &self.description,
            self.path.as_deref(),
            self.regex.as_deref(),
        )
    }
}

/// A parsed and compiled rules file, ready to apply to the built-in set.
#[derive(Debug, Default)]
pub struct RulesFile {
    /// When set, only these built-in rules stay enabled (custom rules always do).
    pub enable_builtin_rules: Option<Vec<String>>,
    /// Rule ids to disable (built-in or custom).
    pub disable_rules: Vec<String>,
    /// Allow-rule ids to disable.
    pub disable_allow_rules: Vec<String>,
    /// Custom rules, compiled.
    pub rules: Vec<crate::rule::Rule>,
    /// Custom allow rules, compiled.
    pub allow_rules: Vec<AllowRule>,
}

impl RulesFile {
    /// Parses and compiles a rules file.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        if text.len() > MAX_RULES_FILE_LEN {
            return Err(ConfigError::TooLarge { len: text.len() });
        }
        let doc: RulesFileDoc = if text.trim().is_empty() {
            RulesFileDoc::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Yaml(e.to_string()))?
        };
        for (what, count) in [
            ("rules", doc.rules.len()),
            ("allow-rules", doc.allow_rules.len()),
            ("disable-rules", doc.disable_rules.len()),
            ("disable-allow-rules", doc.disable_allow_rules.len()),
        ] {
            if count > MAX_CUSTOM_RULES {
                return Err(ConfigError::TooMany { what, count });
            }
        }
        let mut rules = Vec::with_capacity(doc.rules.len());
        for r in doc.rules {
            if rules.iter().any(|x: &crate::rule::Rule| x.id() == r.id) {
                return Err(ConfigError::DuplicateId(r.id));
            }
            if r.allow_rules.len() > MAX_CUSTOM_RULES {
                return Err(ConfigError::TooMany {
                    what: "allow-rules of a rule",
                    count: r.allow_rules.len(),
                });
            }
            let severity = r
                .severity
                .as_deref()
                .map(str::parse::<Severity>)
                .transpose()
                .map_err(|source| ConfigError::Severity {
                    id: r.id.clone(),
                    source,
                })?;
            let allow = r
                .allow_rules
                .iter()
                .map(AllowDoc::compile)
                .collect::<Result<_, _>>()?;
            rules.push(crate::rule::Rule::new(RuleSpec {
                id: r.id,
                category: r.category,
                title: r.title,
                severity,
                keywords: r.keywords,
                regex: r.regex,
                secret_group: r.secret_group_name,
                path: r.path,
                allow,
            })?);
        }
        let allow_rules = doc
            .allow_rules
            .iter()
            .map(AllowDoc::compile)
            .collect::<Result<_, _>>()?;
        Ok(RulesFile {
            enable_builtin_rules: doc.enable_builtin_rules,
            disable_rules: doc.disable_rules,
            disable_allow_rules: doc.disable_allow_rules,
            rules,
            allow_rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_trivy_style_file() {
        let f = RulesFile::parse(
            "disable-rules: [twilio-api-key]\n\
             rules:\n\
             \x20 - id: acme\n\
             \x20   severity: high\n\
             \x20   keywords: [acme_]\n\
             \x20   regex: 'acme_(?P<secret>[0-9a-f]{8})'\n\
             \x20   secret-group-name: secret\n\
             allow-rules:\n\
             \x20 - id: fx\n\
             \x20   path: '^srv/fixtures/'\n",
        )
        .unwrap();
        assert_eq!(f.disable_rules, ["twilio-api-key"]);
        assert_eq!(f.rules[0].severity(), Severity::High);
        assert!(f.allow_rules[0].allows_path("srv/fixtures/a"));
    }

    #[test]
    fn refuses_bad_files_by_name() {
        let e = RulesFile::parse("rulez: []").unwrap_err();
        assert!(e.to_string().contains("rulez"), "{e}");
        let e = RulesFile::parse("rules:\n  - id: x\n    regex: '('\n").unwrap_err();
        assert!(matches!(e, ConfigError::Rule(RuleError::Pattern { .. })));
        let e =
            RulesFile::parse("rules:\n  - id: x\n    regex: a\n    severity: dire\n").unwrap_err();
        assert!(matches!(e, ConfigError::Severity { .. }));
        let e =
            RulesFile::parse("rules:\n  - {id: x, regex: a}\n  - {id: x, regex: b}\n").unwrap_err();
        assert!(matches!(e, ConfigError::DuplicateId(_)));
        assert!(RulesFile::parse("").unwrap().rules.is_empty());
        assert!(matches!(
            RulesFile::parse(&" ".repeat(MAX_RULES_FILE_LEN + 1)),
            Err(ConfigError::TooLarge { .. })
        ));
    }
}
