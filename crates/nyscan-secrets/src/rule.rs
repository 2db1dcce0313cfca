//! Secret rules and allow rules, compiled.

use crate::pattern::{Pattern, PatternError};
use crate::severity::Severity;

/// Longest keyword accepted (bytes).
pub const MAX_KEYWORD_LEN: usize = 256;

/// What is wrong with a rule or allow rule, named by its id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A pattern did not compile.
    #[error("rule {id:?}: {field}: {source}")]
    Pattern {
        /// Rule id.
        id: String,
        /// Which field (`regex`, `path`, `allow-rules[2].regex`...).
        field: String,
        /// Why.
        #[source]
        source: PatternError,
    },
    /// The id is empty.
    #[error("a rule has an empty id")]
    EmptyId,
    /// A keyword is empty or too long.
    #[error("rule {id:?}: keyword {index} is empty or longer than {MAX_KEYWORD_LEN} bytes")]
    BadKeyword {
        /// Rule id.
        id: String,
        /// Index in `keywords`.
        index: usize,
    },
    /// An allow rule has neither a path nor a regex.
    #[error("allow rule {id:?} has neither `path` nor `regex`")]
    EmptyAllowRule {
        /// Allow-rule id.
        id: String,
    },
}

/// A check that a match really is a secret, beyond its regex (built-in rules only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validator {
    /// The secret is base64 of `user:password` with both parts non-empty (docker `auth`).
    Base64UserPassword,
}

impl Validator {
    pub(crate) fn accepts(self, secret: &[u8]) -> bool {
        match self {
            Validator::Base64UserPassword => {
                use base64::Engine as _;
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(secret) else {
                    return false;
                };
                let Ok(text) = std::str::from_utf8(&decoded) else {
                    return false;
                };
                match text.split_once(':') {
                    Some((user, password)) => {
                        !user.is_empty()
                            && !password.is_empty()
                            && text.chars().all(|c| !c.is_control())
                    }
                    None => false,
                }
            }
        }
    }
}

/// A rule that exempts paths (the file is not read) or matched values (the match is dropped).
#[derive(Debug, Clone)]
pub struct AllowRule {
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) path: Option<Pattern>,
    pub(crate) value: Option<Pattern>,
}

impl AllowRule {
    /// Compiles an allow rule; at least one of `path` and `value` must be given.
    pub fn new(
        id: &str,
        description: &str,
        path: Option<&str>,
        value: Option<&str>,
    ) -> Result<Self, RuleError> {
        if id.is_empty() {
            return Err(RuleError::EmptyId);
        }
        if path.is_none() && value.is_none() {
            return Err(RuleError::EmptyAllowRule { id: id.to_owned() });
        }
        let compile = |field: &str, source: &str| {
            Pattern::new(source, None).map_err(|source| RuleError::Pattern {
                id: id.to_owned(),
                field: field.to_owned(),
                source,
            })
        };
        Ok(AllowRule {
            id: id.to_owned(),
            description: description.to_owned(),
            path: path.map(|p| compile("path", p)).transpose()?,
            value: value.map(|v| compile("regex", v)).transpose()?,
        })
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What it exempts, in words.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether it exempts the file at `path` (relative, no leading `/`).
    pub fn allows_path(&self, path: &str) -> bool {
        self.path
            .as_ref()
            .is_some_and(|p| p.is_match(path.as_bytes()))
    }

    /// Whether it exempts a match whose text is `matched`.
    pub fn allows_value(&self, matched: &[u8]) -> bool {
        self.value.as_ref().is_some_and(|p| p.is_match(matched))
    }
}

/// The fields of a rule before compilation.
#[derive(Debug, Clone, Default)]
pub struct RuleSpec {
    /// Stable id (`aws-access-key-id`).
    pub id: String,
    /// Family (`AWS`).
    pub category: String,
    /// Human title.
    pub title: String,
    /// Severity.
    pub severity: Option<Severity>,
    /// Keywords: the rule runs only near a case-insensitive occurrence of one of them, and a
    /// match must contain one. Empty: the rule runs over all data (slow; custom rules only).
    pub keywords: Vec<String>,
    /// The regex (see the crate docs for its syntax).
    pub regex: String,
    /// Name of the capture group holding the secret; the whole match when `None`.
    pub secret_group: Option<String>,
    /// Only files whose path matches this regex are scanned by the rule.
    pub path: Option<String>,
    /// Allow rules of this rule only.
    pub allow: Vec<AllowRule>,
}

/// A compiled secret rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) id: String,
    pub(crate) category: String,
    pub(crate) title: String,
    pub(crate) severity: Severity,
    pub(crate) keywords: Vec<String>,
    pub(crate) pattern: Pattern,
    pub(crate) path: Option<Pattern>,
    pub(crate) allow: Vec<AllowRule>,
    pub(crate) validator: Option<Validator>,
}

impl Rule {
    /// Compiles a rule.
    pub fn new(spec: RuleSpec) -> Result<Self, RuleError> {
        if spec.id.is_empty() {
            return Err(RuleError::EmptyId);
        }
        if let Some(index) = spec
            .keywords
            .iter()
            .position(|k| k.is_empty() || k.len() > MAX_KEYWORD_LEN)
        {
            return Err(RuleError::BadKeyword { id: spec.id, index });
        }
        let id = spec.id;
        let pattern_error = |field: &str, source| RuleError::Pattern {
            id: id.clone(),
            field: field.to_owned(),
            source,
        };
        let pattern = Pattern::new(&spec.regex, spec.secret_group.as_deref())
            .map_err(|e| pattern_error("regex", e))?;
        let path = spec
            .path
            .as_deref()
            .map(|p| Pattern::new(p, None))
            .transpose()
            .map_err(|e| pattern_error("path", e))?;
        Ok(Rule {
            category: if spec.category.is_empty() {
                "Custom".to_owned()
            } else {
                spec.category
            },
            title: if spec.title.is_empty() {
                id.clone()
            } else {
                spec.title
            },
            severity: spec.severity.unwrap_or(Severity::Unknown),
            keywords: spec.keywords,
            pattern,
            path,
            allow: spec.allow,
            validator: None,
            id,
        })
    }

    pub(crate) fn with_validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its family.
    pub fn category(&self) -> &str {
        &self.category
    }

    /// Its title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Its severity.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// Its keywords.
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// Its regex text.
    pub fn regex(&self) -> &str {
        self.pattern.source()
    }

    /// Whether the rule scans the file at `path`: its path filter matches and none of its own
    /// allow rules exempts the path.
    pub fn applies_to(&self, path: &str) -> bool {
        self.path
            .as_ref()
            .is_none_or(|p| p.is_match(path.as_bytes()))
            && !self.allow.iter().any(|a| a.allows_path(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_auth_validator_wants_user_and_password() {
        let v = Validator::Base64UserPassword;
        assert!(v.accepts(b"dXNlcjpwYXNz")); // user:pass
        assert!(!v.accepts(b"cmVxdWlyZWQ=")); // "required"
        assert!(!v.accepts(b"OnBhc3M=")); // ":pass"
        assert!(!v.accepts(b"not base64!"));
    }

    #[test]
    fn rule_errors_name_the_rule_and_field() {
        let err = Rule::new(RuleSpec {
            id: "r1".into(),
            regex: "(".into(),
            ..RuleSpec::default()
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("rule \"r1\": regex:"), "{err}");
        let err = Rule::new(RuleSpec {
            id: "r2".into(),
            regex: "a".into(),
            keywords: vec!["".into()],
            ..RuleSpec::default()
        })
        .unwrap_err();
        assert_eq!(
            err,
            RuleError::BadKeyword {
                id: "r2".into(),
                index: 0
            }
        );
        assert!(AllowRule::new("a", "", None, None).is_err());
    }
}
