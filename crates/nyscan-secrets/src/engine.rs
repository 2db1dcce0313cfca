//! The matching core: one keyword pass per window, regexes only near keyword hits, and the
//! bookkeeping that makes consecutive windows report every secret exactly once.
//!
//! A window is a slice of the file (`hay`, starting at file offset `base`). Matches are
//! *committed* by the window whose commit range `[commit_from, commit_to)` holds their first
//! byte; the next window starts a little before `commit_to` (look-behind context) and runs to
//! `overlap` bytes past it, so any match of at most `overlap` bytes that starts in a commit
//! range lies wholly inside that window. Per rule, the search resumes after the last
//! committed match, as one leftmost-first pass over the whole file would.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::finding::{Finding, context_line, mask};
use crate::rule::Rule;
use crate::ruleset::RuleSet;

/// How far before the commit range the next window starts: look-behind for assertions and
/// the start of a context line (which shows at most 100 bytes before a secret).
pub(crate) const LOOK_BEHIND: usize = 128;
/// Masks of earlier windows are kept while they may show in a context line of later ones.
const MASK_MEMORY: u64 = 4096;

/// Why the keyword automaton could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the keyword automaton: {0}")]
pub struct KeywordError(#[from] aho_corasick::BuildError);

/// Compiled rules plus the keyword automaton over all their keywords.
#[derive(Debug)]
pub(crate) struct Engine {
    rules: RuleSet,
    keywords: AhoCorasick,
    /// Keyword pattern index → rules using it.
    keyword_rules: Vec<Vec<usize>>,
    /// Per rule: how far around a keyword hit its matches can reach.
    radius: Vec<usize>,
    overlap: usize,
}

/// What one file's scan carries from window to window.
#[derive(Debug)]
pub(crate) struct FileState {
    /// Per rule: whether it applies to this file's path.
    active: Vec<bool>,
    /// Per rule: file offset where its next search starts (end of its last committed match).
    resume: Vec<u64>,
    /// Secret spans (file offsets) of recent windows, masked in later context lines.
    recent_masks: Vec<Range<u64>>,
    /// Newlines in the file before the current window.
    pub(crate) lines_before: u64,
}

/// One window to scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window<'a> {
    pub(crate) hay: &'a [u8],
    pub(crate) base: u64,
    pub(crate) commit_from: u64,
    /// `None` for the last window of the file.
    pub(crate) commit_to: Option<u64>,
}

struct Candidate {
    rule: usize,
    secret: Range<usize>,
    committed: bool,
}

impl Engine {
    pub(crate) fn new(rules: RuleSet, overlap: usize) -> Result<Self, KeywordError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (index, rule) in rules.rules().iter().enumerate() {
            for keyword in rule.keywords() {
                let lower = keyword.to_ascii_lowercase();
                match patterns.iter().position(|p| *p == lower) {
                    Some(at) => keyword_rules[at].push(index),
                    None => {
                        patterns.push(lower);
                        keyword_rules.push(vec![index]);
                    }
                }
            }
        }
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .or_else(|_| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
            })?;
        let radius = rules
            .rules()
            .iter()
            .map(|r| r.pattern.max_len().map_or(overlap, |m| m.min(overlap)))
            .collect();
        Ok(Engine {
            rules,
            keywords,
            keyword_rules,
            radius,
            overlap,
        })
    }

    pub(crate) fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub(crate) fn overlap(&self) -> usize {
        self.overlap
    }

    /// A fresh state for the file at `path`.
    pub(crate) fn file_state(&self, path: &str) -> FileState {
        let rules = self.rules.rules();
        FileState {
            active: rules.iter().map(|r| r.applies_to(path)).collect(),
            resume: vec![0; rules.len()],
            recent_masks: Vec::new(),
            lines_before: 0,
        }
    }

    /// Scans one window and appends its committed findings to `out`.
    pub(crate) fn scan_window(
        &self,
        path: &str,
        st: &mut FileState,
        w: Window<'_>,
        out: &mut Vec<Finding>,
    ) {
        let rules = self.rules.rules();
        let hay = w.hay;
        if !st.active.iter().any(|&a| a) || hay.is_empty() {
            return;
        }
        // One keyword pass for all rules.
        let mut hits: Vec<Vec<Range<usize>>> = vec![Vec::new(); rules.len()];
        for m in self.keywords.find_overlapping_iter(hay) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                if st.active[r] {
                    hits[r].push(m.range());
                }
            }
        }
        let rel = |abs: u64| abs.saturating_sub(w.base).min(hay.len() as u64) as usize;
        let commit_from = rel(w.commit_from);
        let mut candidates = Vec::new();
        for (r, rule) in rules.iter().enumerate() {
            if !st.active[r] || (!rule.keywords.is_empty() && hits[r].is_empty()) {
                continue;
            }
            hits[r].sort_by_key(|h| (h.start, h.end));
            let ranges = if rule.keywords.is_empty() {
                std::iter::once(0..hay.len()).collect()
            } else {
                neighbourhoods(&hits[r], self.radius[r], hay.len())
            };
            let mut next = commit_from.max(rel(st.resume[r]));
            let mut caps = rule.pattern.captures();
            for range in ranges {
                let mut at = range.start.max(next);
                while at < range.end {
                    let Some(m) = rule.pattern.find_in(hay, at..range.end, &mut caps) else {
                        break;
                    };
                    if m.whole.is_empty() {
                        at = m.whole.end + 1;
                        continue;
                    }
                    at = m.whole.end;
                    next = m.whole.end;
                    let committed = w
                        .commit_to
                        .is_none_or(|c| w.base + (m.whole.start as u64) < c);
                    if committed {
                        st.resume[r] = w.base + m.whole.end as u64;
                    }
                    if self.accepts(rule, &hits[r], hay, &m.whole, &m.secret) {
                        candidates.push(Candidate {
                            rule: r,
                            secret: m.secret,
                            committed,
                        });
                    }
                }
            }
        }
        if candidates.is_empty() {
            return;
        }
        let mut masks: Vec<Range<usize>> = candidates.iter().map(|c| c.secret.clone()).collect();
        masks.extend(st.recent_masks.iter().filter_map(|m| {
            let (start, end) = (rel(m.start), rel(m.end));
            (start < end).then_some(start..end)
        }));
        candidates.retain(|c| c.committed);
        candidates.sort_by_key(|c| (c.secret.start, c.rule));
        let mut lines = st.lines_before;
        let mut counted = 0;
        for c in &candidates {
            lines += count_newlines(&hay[counted..c.secret.start]);
            counted = c.secret.start;
            let rule = &rules[c.rule];
            let secret = &hay[c.secret.clone()];
            out.push(Finding {
                rule_id: rule.id.clone(),
                category: rule.category.clone(),
                severity: rule.severity,
                title: rule.title.clone(),
                path: path.to_owned(),
                start_line: lines + 1,
                end_line: lines + 1 + count_newlines(secret),
                offset: w.base + c.secret.start as u64,
                masked: mask(secret),
                context: context_line(hay, &c.secret, &masks),
            });
        }
        // Remember this window's secrets for context lines of the next one.
        if let Some(commit_to) = w.commit_to {
            let keep_from = commit_to.saturating_sub(MASK_MEMORY);
            st.recent_masks.retain(|m| m.end > keep_from);
            st.recent_masks.extend(
                candidates
                    .iter()
                    .map(|c| w.base + c.secret.start as u64..w.base + c.secret.end as u64)
                    .filter(|m| m.end > keep_from),
            );
        }
    }

    /// Whether a match is reported: it holds a keyword hit (when the rule has keywords), no
    /// allow rule exempts its text, and the rule's validator accepts the secret.
    fn accepts(
        &self,
        rule: &Rule,
        hits: &[Range<usize>],
        hay: &[u8],
        whole: &Range<usize>,
        secret: &Range<usize>,
    ) -> bool {
        if !rule.keywords.is_empty() && !contains_hit(hits, whole) {
            return false;
        }
        let text = &hay[whole.clone()];
        if self
            .rules
            .allow_rules()
            .iter()
            .any(|a| a.allows_value(text))
            || rule.allow.iter().any(|a| a.allows_value(text))
        {
            return false;
        }
        rule.validator
            .is_none_or(|v| v.accepts(&hay[secret.clone()]))
    }
}

/// Whether a keyword hit lies wholly inside `span`. `hits` is sorted by start.
fn contains_hit(hits: &[Range<usize>], span: &Range<usize>) -> bool {
    let first = hits.partition_point(|h| h.start < span.start);
    hits[first..]
        .iter()
        .take_while(|h| h.start < span.end)
        .any(|h| h.end <= span.end)
}

/// The merged ranges within `radius` bytes of each hit, clipped to `len`. `hits` is sorted.
fn neighbourhoods(hits: &[Range<usize>], radius: usize, len: usize) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for h in hits {
        let start = h.end.saturating_sub(radius);
        let end = h.start.saturating_add(radius).min(len).max(h.end);
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => out.push(start..end),
        }
    }
    out
}

pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbourhoods_merge_and_clip() {
        let hits = [10..14, 20..24, 100..104];
        assert_eq!(neighbourhoods(&hits, 8, 105), vec![6..28, 96..105]);
        assert!(contains_hit(&hits, &(9..25)));
        assert!(!contains_hit(&hits, &(11..22)));
    }
}
