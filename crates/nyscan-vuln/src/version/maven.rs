//! Maven version order, as Maven 3.8's `ComparableVersion` defines it (checked against the
//! maven-artifact 3.8.7 jar).
//!
//! The version is lower-cased and split into items: numbers and qualifiers, cut at `.`, at
//! `-` and at every switch between digits and non-digits. A `-`, and a switch between
//! digits and letters, opens a nested list for the rest, so `1-1` is `[1, [1]]`; a qualifier
//! that does not start a list (`1.0.x1`, a trailing `1.0.x`) gets one of its own, so `.X`
//! ranks like `-X`: `1.0alpha1` is `[1, [alpha, [1]]]`. An empty item (`1..2`, `-1`) is
//! `0`. A one-letter qualifier right before a digit expands: `a1` = `alpha-1`, `b` beta, `m`
//! milestone; `ga`, `final` and `release` mean the release (empty qualifier), `cr` means
//! `rc`. Each list then drops trailing "null" items (`0`, the release qualifier, empty
//! lists), innermost list first.
//!
//! Comparing item by item, a missing item counts as null; numbers compare numerically and
//! beat qualifiers and lists; lists beat qualifiers; known qualifiers rank
//! `alpha < beta < milestone < rc < snapshot < (release) < sp`, unknown ones after `sp`
//! in lexical order; a list against nothing is its first item that is not null-like.

use std::cmp::Ordering;

use super::VersionError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A number, as ASCII digits.
    Int(String),
    /// A qualifier, aliases resolved.
    Str(String),
    /// A nested list (after `-` or a digit/letter switch).
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// Rank of the release qualifier (`""`) in [`QUALIFIERS`].
const RELEASE: &str = "5";

/// The string Maven compares qualifiers by: the rank of a known one, `7-name` otherwise.
fn comparable(q: &str) -> String {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

fn qualifier(text: &str, followed_by_digit: bool) -> Item {
    let text = match (followed_by_digit, text) {
        (true, "a") => "alpha",
        (true, "b") => "beta",
        (true, "m") => "milestone",
        _ => text,
    };
    let text = match text {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(text.to_owned())
}

fn number(digits: &str) -> Item {
    let trimmed = digits.trim_start_matches('0');
    Item::Int(if trimmed.is_empty() { "0" } else { trimmed }.to_owned())
}

fn item(is_digit: bool, text: &str) -> Item {
    if is_digit {
        number(text)
    } else {
        qualifier(text, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(n) => n == "0",
            Item::Str(q) => comparable(q) == RELEASE,
            Item::List(l) => l.is_empty(),
        }
    }

    /// Compares with an item, or with "nothing" (`None`).
    fn cmp_item(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(n), None) => {
                if n == "0" {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => super::cmp_digits(a.as_bytes(), b.as_bytes()),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(q), None) => comparable(q).as_str().cmp(RELEASE),
            (Item::Str(_), Some(Item::Int(_) | Item::List(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => comparable(a).cmp(&comparable(b)),
            (Item::List(l), None) => l
                .iter()
                .map(|i| i.cmp_item(None))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal),
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => {
                for i in 0..a.len().max(b.len()) {
                    let rc = match (a.get(i), b.get(i)) {
                        (Some(l), r) => l.cmp_item(r),
                        (None, Some(r)) => r.cmp_item(None).reverse(),
                        (None, None) => Ordering::Equal,
                    };
                    if rc != Ordering::Equal {
                        return rc;
                    }
                }
                Ordering::Equal
            }
        }
    }
}

/// Drops trailing null items, skipping over non-null lists.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// Parses into nested lists. The lists form a chain (each new one is opened inside the
/// innermost), kept here as a stack and folded up at the end, normalising innermost first.
fn parse(text: &str) -> Item {
    let version = text.to_lowercase();
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0;
    for (i, c) in version.char_indices() {
        let top = stack.len() - 1;
        match c {
            '.' | '-' => {
                let it = if i == start {
                    Item::Int("0".to_owned())
                } else {
                    item(is_digit, &version[start..i])
                };
                stack[top].push(it);
                start = i + 1;
                if c == '-' {
                    stack.push(Vec::new());
                }
            }
            '0'..='9' => {
                if !is_digit && i > start {
                    if !stack[top].is_empty() {
                        stack.push(Vec::new());
                    }
                    let top = stack.len() - 1;
                    stack[top].push(qualifier(&version[start..i], true));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = true;
            }
            _ => {
                if is_digit && i > start {
                    stack[top].push(number(&version[start..i]));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = false;
            }
        }
    }
    if version.len() > start {
        if !is_digit && !stack[stack.len() - 1].is_empty() {
            stack.push(Vec::new());
        }
        let top = stack.len() - 1;
        stack[top].push(item(is_digit, &version[start..]));
    }
    let mut inner = stack.pop().unwrap_or_default();
    normalize(&mut inner);
    while let Some(mut parent) = stack.pop() {
        parent.push(Item::List(inner));
        normalize(&mut parent);
        inner = parent;
    }
    Item::List(inner)
}

pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse(a).cmp_item(Some(&parse(b))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maven_examples() {
        for (a, b, want) in [
            ("1", "1.0", Ordering::Equal),
            ("1.0.0", "1-ga", Ordering::Equal),
            ("1-final", "1", Ordering::Equal),
            ("1-alpha-1", "1-a1", Ordering::Equal),
            ("1-alpha", "1-beta", Ordering::Less),
            ("1-beta", "1-milestone", Ordering::Less),
            ("1-rc", "1-cr", Ordering::Equal),
            ("1-rc", "1-snapshot", Ordering::Less),
            ("1-snapshot", "1", Ordering::Less),
            ("1", "1-sp", Ordering::Less),
            ("1-sp", "1-foo", Ordering::Less),
            ("1-foo", "1-1", Ordering::Less),
            ("1-1", "1.1", Ordering::Less),
            ("1.0.RELEASE", "1.0", Ordering::Equal),
            ("1.0.0.x1", "1.0.0-x2", Ordering::Less),
            ("8.sp", "8.0cr.10", Ordering::Greater),
            ("2.0.0-SNAPSHOT", "2.0.0", Ordering::Less),
            ("1.2.3.4", "1.2.3", Ordering::Greater),
            ("10000000000000000000000", "9", Ordering::Greater),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
            assert_eq!(compare(b, a), Ok(want.reverse()), "{b} vs {a}");
        }
    }
}
