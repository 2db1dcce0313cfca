//! Splitting a declared license string into licenses, following the rules Trivy applies to
//! Python, Ruby, conda and Composer metadata (`licensing.SplitLicenses`):
//!
//! - a string that reads like license text (a URL, `(c)`, `;`, "hereby", "permission is"...)
//!   is kept whole;
//! - otherwise it is split at commas and at lower-case ` or `/` and ` separators (spaces or
//!   underscores around them), except that a part starting with "version"/"ver" is glued back
//!   with `, ` ("Apache License, Version 2.0"), a part starting with "later" is glued back with
//!   ` or ` ("GPLv2 or later"), and the three PyPI classifier names that contain " or " / " and "
//!   are rebuilt whole.

use std::sync::LazyLock;

use regex::Regex;

/// Separators: `or`/`and` surrounded by spaces or underscores (an optional comma before), or a
/// comma and the spaces after it.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(,?[_ ]+(?:or|and)[_ ]+)|(,[ ]*)").expect("separator pattern is valid")
});

/// Words whose presence marks a license text rather than license names.
const TEXT_MARKERS: &[&str] = &[
    "http://",
    "https://",
    "(c)",
    "as-is",
    ";",
    "hereby",
    "permission to use",
    "permission is",
    "use in source",
    "use, copy, modify",
    "using",
];

/// PyPI license classifier names (pypi.org/classifiers) that contain a separator word, keyed
/// by the first word after it.
const CLASSIFIERS_WITH_SEPARATOR: &[(&str, &str)] = &[
    (
        "lesser",
        "GNU Library or Lesser General Public License (LGPL)",
    ),
    (
        "distribution",
        "Common Development and Distribution License 1.0 (CDDL-1.0)",
    ),
    (
        "disclaimer",
        "Historical Permission Notice and Disclaimer (HPND)",
    ),
];

/// The licenses named by `declared`; empty for an empty string.
pub(crate) fn split_licenses(declared: &str) -> Vec<String> {
    if declared.is_empty() {
        return Vec::new();
    }
    let lower = declared.to_lowercase();
    if TEXT_MARKERS.iter().any(|m| lower.contains(m)) {
        return vec![declared.to_string()];
    }
    let mut licenses: Vec<String> = Vec::new();
    for part in SEPARATOR.split(declared) {
        let part_lower = part.to_lowercase();
        let first_word = part_lower.split(' ').next().unwrap_or("");
        if let Some(last) = licenses.last_mut() {
            if first_word == "ver" || first_word == "version" {
                last.push_str(", ");
                last.push_str(part);
                continue;
            }
            if first_word == "later" {
                last.push_str(" or ");
                last.push_str(part);
                continue;
            }
            if let Some((_, whole)) = CLASSIFIERS_WITH_SEPARATOR
                .iter()
                .find(|(word, _)| *word == first_word)
            {
                if *whole == format!("{last} or {part}") || *whole == format!("{last} and {part}") {
                    *last = whole.to_string();
                }
                continue;
            }
        }
        licenses.push(part.to_string());
    }
    licenses
}

#[cfg(test)]
mod tests {
    use super::split_licenses;

    #[test]
    fn splits_like_trivy() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("MIT", &["MIT"]),
            ("GPL-1+,GPL-2", &["GPL-1+", "GPL-2"]),
            (
                "GPL-1+ or Artistic or Artistic-dist",
                &["GPL-1+", "Artistic", "Artistic-dist"],
            ),
            ("LGPLv3+_or_GPLv2+", &["LGPLv3+", "GPLv2+"]),
            ("BSD-3-CLAUSE and GPL-2", &["BSD-3-CLAUSE", "GPL-2"]),
            (
                "GPL-1+ or Artistic, and BSD-4-clause-POWERDOG",
                &["GPL-1+", "Artistic", "BSD-4-clause-POWERDOG"],
            ),
            (
                "Apache License, Version 2.0",
                &["Apache License, Version 2.0"],
            ),
            (
                "GNU Lesser General Public License v2 or later (LGPLv2+)",
                &["GNU Lesser General Public License v2 or later (LGPLv2+)"],
            ),
            (
                "GNU Library or Lesser General Public License (LGPL)",
                &["GNU Library or Lesser General Public License (LGPL)"],
            ),
            ("MIT OR Apache-2.0", &["MIT OR Apache-2.0"]),
            (
                "Permission is hereby granted, free of charge",
                &["Permission is hereby granted, free of charge"],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(split_licenses(input), *want, "input {input:?}");
        }
    }
}
