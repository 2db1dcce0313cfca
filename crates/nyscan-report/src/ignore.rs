//! Ignore files in the `.trivyignore` form: one finding id per line (a vulnerability id or
//! alias, a secret rule id, a check id), `#` starting a comment, and an optional
//! `exp:YYYY-MM-DD` after the id: the entry stops applying at the start of that day (UTC).

use std::collections::HashMap;

/// Longest ignore file read (bytes).
pub const MAX_IGNORE_FILE_LEN: usize = 4 << 20;

/// Why an ignore file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    /// Larger than [`MAX_IGNORE_FILE_LEN`].
    #[error("ignore file is {len} bytes (at most {MAX_IGNORE_FILE_LEN})")]
    TooLarge {
        /// Its size.
        len: usize,
    },
    /// An `exp:` field that is not a valid `YYYY-MM-DD` date.
    #[error("line {line}: {value:?} is not a date of the form exp:YYYY-MM-DD")]
    BadDate {
        /// Line (1-based).
        line: usize,
        /// The field as written.
        value: String,
    },
}

/// The ids an ignore file names, each with its expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreList {
    /// Id → expiry (seconds since the Unix epoch; `None`: never). An id listed twice keeps
    /// the later expiry.
    entries: HashMap<String, Option<u64>>,
}

impl IgnoreList {
    /// Parses an ignore file.
    pub fn parse(text: &str) -> Result<IgnoreList, IgnoreError> {
        if text.len() > MAX_IGNORE_FILE_LEN {
            return Err(IgnoreError::TooLarge { len: text.len() });
        }
        let mut entries: HashMap<String, Option<u64>> = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            let Some(id) = fields.next() else {
                continue;
            };
            let mut expires = None;
            for field in fields {
                if let Some(date) = field.strip_prefix("exp:") {
                    let at = parse_date(date).ok_or_else(|| IgnoreError::BadDate {
                        line: index + 1,
                        value: field.to_owned(),
                    })?;
                    expires = Some(at);
                }
            }
            let entry = entries.entry(id.to_owned()).or_insert(expires);
            *entry = match (*entry, expires) {
                (None, _) | (_, None) => None,
                (Some(a), Some(b)) => Some(a.max(b)),
            };
        }
        Ok(IgnoreList { entries })
    }

    /// Number of ids listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no id is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `id` is ignored at `now` (seconds since the Unix epoch).
    pub fn ignores(&self, id: &str, now: u64) -> bool {
        match self.entries.get(id) {
            Some(None) => true,
            Some(Some(expires)) => now < *expires,
            None => false,
        }
    }

    /// Whether any of `ids` is ignored at `now`.
    pub fn ignores_any<'a>(&self, ids: impl IntoIterator<Item = &'a str>, now: u64) -> bool {
        ids.into_iter().any(|id| self.ignores(id, now))
    }
}

/// Midnight UTC of `YYYY-MM-DD`, in seconds since the Unix epoch.
fn parse_date(text: &str) -> Option<u64> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let number = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (y, m, d) = (number(y)?, number(m)?, number(d)?);
    if y < 1970 || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (400-year eras of 146097 days,
/// years starting in March).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(951_868_800));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024-01-00",
            "2024-01-01-01",
            "+024-01-01",
            "1969-12-31",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_comments_and_expiry() {
        let text = "# accepted risks\n\nCVE-2024-0001\n  GHSA-aaaa-bbbb-cccc exp:2030-01-01  # until the fix\nDS026 # no healthcheck needed\ngithub-pat exp:2020-01-01 other\n";
        let list = IgnoreList::parse(text).unwrap();
        assert_eq!(list.len(), 4);
        let now = 1_700_000_000; // 2023-11-14
        assert!(list.ignores("CVE-2024-0001", now));
        assert!(list.ignores("GHSA-aaaa-bbbb-cccc", now));
        assert!(
            !list.ignores("GHSA-aaaa-bbbb-cccc", 1_893_456_000),
            "expired that day"
        );
        assert!(list.ignores("DS026", now));
        assert!(!list.ignores("github-pat", now), "expired in 2020");
        assert!(!list.ignores("CVE-2024-0002", now));
        assert!(list.ignores_any(["x", "DS026"], now));
        let err = IgnoreList::parse("CVE-1\nCVE-2 exp:2024-02-30\n").unwrap_err();
        assert_eq!(
            err,
            IgnoreError::BadDate {
                line: 2,
                value: "exp:2024-02-30".into()
            }
        );
        assert!(err.to_string().contains("line 2"));
        // Listed twice: the later expiry, or none, wins.
        let list =
            IgnoreList::parse("A exp:2020-01-01\nA exp:2031-01-01\nB exp:2020-01-01\nB\n").unwrap();
        assert!(list.ignores("A", now) && list.ignores("B", now));
    }
}
