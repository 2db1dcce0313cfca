//! Compiled byte regexes with the facts the engine needs: longest possible match and the index
//! of the group that holds the secret.
//!
//! Patterns are compiled with `regex-automata`'s meta engine (the engine behind
//! `regex::bytes::Regex`, same syntax) because it searches a sub-range of a haystack while
//! look-around assertions (`\b`, `^`, `$`) still see the bytes around it: a window or a
//! neighbourhood is searched exactly as the whole file would be.
//!
//! Syntax: ASCII by default (`\w`, `\s`, `\d`, `(?i)` are ASCII; `.` is any byte but `\n`),
//! matching arbitrary bytes; `(?u)` turns Unicode classes on inside a pattern.

use std::fmt;
use std::ops::Range;

use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Input, PatternID};

/// Longest pattern text accepted (bytes).
pub const MAX_PATTERN_LEN: usize = 64 * 1024;
/// Compiled-size limit of one pattern (bytes of NFA), bounding compile time and memory.
const NFA_SIZE_LIMIT: usize = 4 * 1024 * 1024;
/// Nesting limit of one pattern.
const NEST_LIMIT: u32 = 64;

/// Why a pattern did not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern text is longer than [`MAX_PATTERN_LEN`].
    #[error("pattern is {len} bytes long (at most {MAX_PATTERN_LEN})")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The regex syntax is wrong or the compiled pattern is too large.
    #[error("{0}")]
    Syntax(String),
    /// The named secret group does not exist in the pattern.
    #[error("no capture group named {0:?}")]
    MissingGroup(String),
}

/// A compiled pattern.
#[derive(Clone)]
pub(crate) struct Pattern {
    source: String,
    regex: Regex,
    /// Longest match in bytes, `None` when unbounded.
    max_len: Option<usize>,
    /// Capture group holding the secret, when named.
    group: Option<usize>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pattern")
            .field("source", &self.source)
            .field("max_len", &self.max_len)
            .field("group", &self.group)
            .finish()
    }
}

/// One match: the whole match and the secret's span (the named group, or the whole match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternMatch {
    pub(crate) whole: Range<usize>,
    pub(crate) secret: Range<usize>,
}

impl Pattern {
    /// Compiles `source`; `group` names the capture group that holds the secret.
    pub(crate) fn new(source: &str, group: Option<&str>) -> Result<Self, PatternError> {
        if source.len() > MAX_PATTERN_LEN {
            return Err(PatternError::TooLong { len: source.len() });
        }
        let syntax = syntax::Config::new()
            .unicode(false)
            .utf8(false)
            .nest_limit(NEST_LIMIT);
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .nest_limit(NEST_LIMIT)
            .build()
            .parse(source)
            .map_err(|e| PatternError::Syntax(e.to_string()))?;
        let max_len = hir.properties().maximum_len();
        let regex = meta::Builder::new()
            .syntax(syntax)
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(NFA_SIZE_LIMIT))
                    .onepass_size_limit(Some(NFA_SIZE_LIMIT))
                    .dfa_size_limit(Some(NFA_SIZE_LIMIT))
                    .utf8_empty(false),
            )
            .build(source)
            .map_err(|e| PatternError::Syntax(e.to_string()))?;
        let group = match group {
            None => None,
            Some(name) => Some(
                regex
                    .group_info()
                    .to_index(PatternID::ZERO, name)
                    .ok_or_else(|| PatternError::MissingGroup(name.to_owned()))?,
            ),
        };
        Ok(Pattern {
            source: source.to_owned(),
            regex,
            max_len,
            group,
        })
    }

    /// The pattern text.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Longest possible match, `None` when unbounded.
    pub(crate) fn max_len(&self) -> Option<usize> {
        self.max_len
    }

    /// Whether the pattern matches anywhere in `hay`.
    pub(crate) fn is_match(&self, hay: &[u8]) -> bool {
        self.regex.is_match(hay)
    }

    /// Fresh capture slots for [`Pattern::find_in`].
    pub(crate) fn captures(&self) -> Captures {
        self.regex.create_captures()
    }

    /// The leftmost-first match starting in `span` of `hay` (look-around sees all of `hay`).
    pub(crate) fn find_in(
        &self,
        hay: &[u8],
        span: Range<usize>,
        caps: &mut Captures,
    ) -> Option<PatternMatch> {
        let input = Input::new(hay).range(span);
        self.regex.search_captures(&input, caps);
        let whole = caps.get_match()?.range();
        let secret = match self.group {
            Some(index) => caps.get_group(index).map(|s| s.range())?,
            None => whole.clone(),
        };
        Some(PatternMatch { whole, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_see_context_and_groups_locate_the_secret() {
        let p = Pattern::new(r"\btok_[a-z]{4}\b", None).unwrap();
        let hay = b"xtok_abcd tok_efgh";
        let mut caps = p.captures();
        // Starting the search inside "xtok_abcd" must not invent a match: \b sees the 'x'.
        let m = p.find_in(hay, 1..hay.len(), &mut caps).unwrap();
        assert_eq!(m.whole, 10..18);
        // `$` does not match at the end of a range that is not the end of the haystack.
        let dollar = Pattern::new(r"tok_[a-z]+$", None).unwrap();
        assert!(dollar.find_in(hay, 0..14, &mut caps).is_none());
        let grouped = Pattern::new(r"key=(?P<secret>[0-9]+)", Some("secret")).unwrap();
        let mut caps = grouped.captures();
        let m = grouped.find_in(b"a key=1234;", 0..11, &mut caps).unwrap();
        assert_eq!((m.whole, m.secret), (2..10, 6..10));
        assert_eq!(grouped.max_len(), None);
        assert_eq!(p.max_len(), Some(8));
    }

    #[test]
    fn refuses_bad_patterns_by_name() {
        assert!(matches!(
            Pattern::new("(", None),
            Err(PatternError::Syntax(_))
        ));
        assert_eq!(
            Pattern::new("a(?P<x>b)", Some("secret")).unwrap_err(),
            PatternError::MissingGroup("secret".into())
        );
        assert!(matches!(
            Pattern::new(&"a".repeat(MAX_PATTERN_LEN + 1), None),
            Err(PatternError::TooLong { .. })
        ));
        // Huge counted repetitions are refused, not compiled for minutes.
        assert!(Pattern::new("(?:[a-z]{1000}){1000}", None).is_err());
    }
}
