//! Filters applied to findings before a report: severities, unfixed vulnerabilities, and an
//! ignore file. What is filtered out is counted, never silently lost.

use nyscan_vuln::{Severity, Status};

use crate::findings::{ScanFindings, severity_of_secret};
use crate::ignore::IgnoreList;

/// Which findings a report keeps.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Severities kept (empty: all).
    pub severities: Vec<Severity>,
    /// Drop vulnerabilities with no known fix.
    pub ignore_unfixed: bool,
    /// Ids to drop.
    pub ignore: IgnoreList,
    /// The time ignore-file expiry dates are compared with (seconds since the Unix epoch).
    pub now_unix: u64,
}

/// How many findings each filter removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suppressed {
    /// Outside the severities asked for.
    pub by_severity: usize,
    /// Vulnerabilities without a fix (`ignore_unfixed`).
    pub unfixed: usize,
    /// Named in the ignore file.
    pub ignored: usize,
}

impl Suppressed {
    /// All findings removed.
    pub fn total(&self) -> usize {
        self.by_severity + self.unfixed + self.ignored
    }
}

/// Why a finding is dropped, in the order the filters are applied.
enum Drop {
    Severity,
    Unfixed,
    Ignored,
}

impl Filter {
    fn severity_kept(&self, severity: Severity) -> bool {
        self.severities.is_empty() || self.severities.contains(&severity)
    }

    /// Removes from `findings` what the filter drops; returns the counts.
    pub fn apply(&self, findings: &mut ScanFindings) -> Suppressed {
        let mut counts = Suppressed::default();
        let mut count = |drop: Option<Drop>| match drop {
            None => true,
            Some(Drop::Severity) => {
                counts.by_severity += 1;
                false
            }
            Some(Drop::Unfixed) => {
                counts.unfixed += 1;
                false
            }
            Some(Drop::Ignored) => {
                counts.ignored += 1;
                false
            }
        };
        let now = self.now_unix;
        findings.vulnerabilities.retain(|v| {
            let ids = std::iter::once(v.id.as_str()).chain(v.aliases.iter().map(String::as_str));
            count(if !self.severity_kept(v.severity) {
                Some(Drop::Severity)
            } else if self.ignore_unfixed && v.status != Status::Fixed {
                Some(Drop::Unfixed)
            } else if self.ignore.ignores_any(ids, now) {
                Some(Drop::Ignored)
            } else {
                None
            })
        });
        findings.secrets.retain(|s| {
            count(if !self.severity_kept(severity_of_secret(s.severity)) {
                Some(Drop::Severity)
            } else if self.ignore.ignores(&s.rule_id, now) {
                Some(Drop::Ignored)
            } else {
                None
            })
        });
        findings.misconfigurations.retain(|m| {
            count(if !self.severity_kept(severity_of_secret(m.severity)) {
                Some(Drop::Severity)
            } else if self.ignore.ignores_any([m.id, m.avd_id], now) {
                Some(Drop::Ignored)
            } else {
                None
            })
        });
        counts
    }
}
