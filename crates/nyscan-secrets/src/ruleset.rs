//! The rules in force: the built-in set adjusted by an optional rules file.

use crate::builtin;
use crate::config::{ConfigError, RulesFile};
use crate::rule::{AllowRule, Rule, RuleError};

/// Secret rules and allow rules in force.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    allow: Vec<AllowRule>,
    notes: Vec<String>,
}

impl RuleSet {
    /// The built-in rules and allow rules.
    pub fn builtin() -> Result<Self, RuleError> {
        Ok(RuleSet {
            rules: builtin::rules()?,
            allow: builtin::allow_rules()?,
            notes: Vec::new(),
        })
    }

    /// The built-in set adjusted by a parsed rules file.
    pub fn with_rules_file(file: RulesFile) -> Result<Self, ConfigError> {
        let mut set = RuleSet::builtin()?;
        let mut notes = Vec::new();
        if let Some(enabled) = &file.enable_builtin_rules {
            for id in enabled {
                if !set.rules.iter().any(|r| &r.id == id) {
                    notes.push(format!("enable-builtin-rules: no built-in rule {id:?}"));
                }
            }
            set.rules.retain(|r| enabled.contains(&r.id));
        }
        for rule in file.rules {
            if set.rules.iter().any(|r| r.id == rule.id) {
                return Err(ConfigError::DuplicateId(rule.id));
            }
            set.rules.push(rule);
        }
        for id in &file.disable_rules {
            let before = set.rules.len();
            set.rules.retain(|r| &r.id != id);
            if set.rules.len() == before {
                notes.push(format!("disable-rules: no rule {id:?}"));
            }
        }
        set.allow.extend(file.allow_rules);
        for id in &file.disable_allow_rules {
            let before = set.allow.len();
            set.allow.retain(|a| &a.id != id);
            if set.allow.len() == before {
                notes.push(format!("disable-allow-rules: no allow rule {id:?}"));
            }
        }
        set.notes = notes;
        Ok(set)
    }

    /// The built-in set adjusted by the rules file `text` (YAML).
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        RuleSet::with_rules_file(RulesFile::parse(text)?)
    }

    /// The secret rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The global allow rules.
    pub fn allow_rules(&self) -> &[AllowRule] {
        &self.allow
    }

    /// Remarks on the rules file (ids it names that match nothing).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The first global allow rule exempting `path`, if any.
    pub fn allowed_path(&self, path: &str) -> Option<&AllowRule> {
        self.allow.iter().find(|a| a.allows_path(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_file_adds_disables_and_notes() {
        let set = RuleSet::from_yaml(
            "disable-rules: [twilio-api-key, nope]\n\
             disable-allow-rules: [markdown]\n\
             rules:\n  - {id: acme, regex: 'acme_[0-9]{4}', keywords: [acme_]}\n",
        )
        .unwrap();
        assert!(set.rules().iter().any(|r| r.id() == "acme"));
        assert!(!set.rules().iter().any(|r| r.id() == "twilio-api-key"));
        assert!(set.allowed_path("docs/README.md").is_none());
        assert_eq!(set.notes(), ["disable-rules: no rule \"nope\""]);
        let only = RuleSet::from_yaml("enable-builtin-rules: [github-pat]").unwrap();
        assert_eq!(only.rules().len(), 1);
        assert!(matches!(
            RuleSet::from_yaml("rules:\n  - {id: github-pat, regex: x}\n"),
            Err(ConfigError::DuplicateId(_))
        ));
    }
}
