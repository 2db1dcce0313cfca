//! Severity: CVSS base scores computed from the vectors (v2, v3.0, v3.1, v4.0, through the
//! `cvss` crate), and the ratings distributions and databases give (`medium`, `MODERATE`,
//! `unimportant`...).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A severity level, named as Trivy names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// No rating known.
    Unknown,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// `UNKNOWN`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// Parses a level name as the CLI and reports write it (case-insensitive).
    pub fn parse(text: &str) -> Option<Severity> {
        Some(match text.to_ascii_uppercase().as_str() {
            "UNKNOWN" => Severity::Unknown,
            "LOW" => Severity::Low,
            "MEDIUM" => Severity::Medium,
            "HIGH" => Severity::High,
            "CRITICAL" => Severity::Critical,
            _ => return None,
        })
    }

    /// A distribution's or database's rating: GitHub (`LOW`, `MODERATE`, `HIGH`,
    /// `CRITICAL`), Ubuntu priorities (`negligible`, `low`, `medium`, `high`, `critical`),
    /// Debian urgencies (`unimportant`, `low`, `medium`, `high`; `**` suffixes dropped).
    pub fn from_rating(text: &str) -> Option<Severity> {
        let t = text
            .trim()
            .trim_end_matches('*')
            .trim()
            .to_ascii_lowercase();
        Some(match t.as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "negligible" | "unimportant" => Severity::Low,
            _ => return None,
        })
    }

    /// The level of a CVSS score (v3/v4 bands: 0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high,
    /// 9.0-10 critical; 0 is unknown).
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Unknown
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CVSS vector and its base score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub version: String,
    /// The vector as written in the record.
    pub vector: String,
    /// The base score (CVSS-BT-E for v4 when threat metrics are given).
    pub score: f64,
    /// The level of the score.
    pub severity: Severity,
}

/// Why a vector could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CVSS vector {vector:?}: {reason}")]
pub struct CvssError {
    /// The vector.
    pub vector: String,
    /// What is wrong.
    pub reason: String,
}

/// Scores a CVSS vector (`CVSS:3.1/AV:N/...`, `CVSS:4.0/...`, or a v2 vector).
pub fn score_vector(vector: &str) -> Result<CvssScore, CvssError> {
    let parsed: cvss::Cvss = vector.trim().parse().map_err(|e: cvss::Error| CvssError {
        vector: vector.to_owned(),
        reason: e.to_string(),
    })?;
    let version = match parsed {
        cvss::Cvss::CvssV20(_) => "2.0",
        cvss::Cvss::CvssV30(_) => "3.0",
        cvss::Cvss::CvssV31(_) => "3.1",
        cvss::Cvss::CvssV40(_) => "4.0",
        _ => "?",
    };
    let score = parsed.score();
    if !(0.0..=10.0).contains(&score) {
        return Err(CvssError {
            vector: vector.to_owned(),
            reason: format!("score {score} out of range"),
        });
    }
    Ok(CvssScore {
        version: version.to_owned(),
        vector: vector.to_owned(),
        score,
        severity: Severity::from_score(score),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scores() {
        // Published NVD/FIRST scores.
        for (vector, score) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 6.5),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
        ] {
            let s = score_vector(vector).unwrap();
            assert_eq!(s.score, score, "{vector}");
        }
        assert_eq!(
            score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
                .unwrap()
                .severity,
            Severity::Critical
        );
        assert!(score_vector("CVSS:3.1/AV:X").is_err());
        assert!(score_vector("nonsense").is_err());
    }

    #[test]
    fn ratings() {
        assert_eq!(Severity::from_rating("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::from_rating("unimportant"), Some(Severity::Low));
        assert_eq!(Severity::from_rating("medium**"), Some(Severity::Medium));
        assert_eq!(Severity::from_rating("not yet assigned"), None);
    }
}
