//! The main module's version from `-ldflags -X importpath.name=value`, chosen the way Trivy
//! does (`pkg/dependency/parser/golang/binary/parse.go`):
//!
//! 1. the `-ldflags` build setting is split into words like a shell would
//!    (quotes, backslashes; unquoted `;&|<>` end the line);
//! 2. the words are read as flags with one known flag, `-X key=value` (repeatable, all the
//!    forms `-X k=v`, `-X=k=v`, `-Xk=v`), unknown flags skipped together with a following
//!    non-flag word, as Go's `pflag` with unknown flags allowed does;
//! 3. keys ending in `.version` or `.ver` (any case) with a value that is a semantic
//!    version with or without its `v` are sorted into three tiers: keys under
//!    `<main module>/cmd/`, keys whose last path element starts with `main.`, `common.`,
//!    `version.` or `cmd.`, and others;
//! 4. the first non-empty tier decides; more than one version in it means "unknown" (empty).

use std::collections::BTreeMap;

use crate::binary::go_version;

/// Splits a command line into words like `go-shellwords` (environment and backquotes not
/// expanded). `None` for an unterminated quote.
pub fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut escaped = false;
    let (mut single, mut double) = (false, false);
    for c in line.chars() {
        if escaped {
            word.push(c);
            escaped = false;
            in_word = true;
            continue;
        }
        match c {
            '\\' if !single => {
                escaped = true;
                in_word = true;
            }
            '\\' => word.push(c),
            ' ' | '\t' | '\r' | '\n' if !single && !double => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' if !double => {
                single = !single;
                in_word = true;
            }
            '"' if !single => {
                double = !double;
                in_word = true;
            }
            ';' | '&' | '|' | '<' | '>' if !single && !double => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                return Some(words);
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if single || double || escaped {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// The `-X` assignments of a flag list, read like `pflag` with one string-to-string flag
/// `-X` and a boolean `-h`, unknown flags allowed. `None` when the flags do not parse (a
/// missing argument or a malformed assignment), which Trivy treats as "no version".
pub fn x_assignments(args: &[String]) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            // No long flag is known: `--name=value` stands alone, `--name` takes the next
            // word when that is not a flag.
            if long.starts_with('-') || long.starts_with('=') {
                return None;
            }
            if !long.contains('=') && args.get(i).is_some_and(|next| !next.starts_with('-')) {
                i += 1;
            }
            continue;
        }
        let Some(mut shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) else {
            continue; // a positional word
        };
        while let Some(c) = shorts.chars().next() {
            let after = &shorts[c.len_utf8()..];
            match c {
                'X' => {
                    let value = if let Some(v) = after.strip_prefix('=') {
                        v.to_owned()
                    } else if !after.is_empty() {
                        after.to_owned()
                    } else {
                        let v = args.get(i)?.clone();
                        i += 1;
                        v
                    };
                    add_assignments(&value, &mut out)?;
                    shorts = "";
                }
                'h' => {
                    if let Some(v) = after.strip_prefix('=') {
                        v.parse::<bool>().ok()?;
                        shorts = "";
                    } else {
                        shorts = after;
                    }
                }
                _ => {
                    if after.starts_with('=') {
                        shorts = "";
                    } else {
                        if args.get(i).is_some_and(|next| !next.starts_with('-')) {
                            i += 1;
                        }
                        shorts = after;
                    }
                }
            }
        }
    }
    Some(out)
}

/// One `-X` value: `key=value`, or (with more than one `=`) comma-separated `key=value`
/// pairs in CSV quoting.
fn add_assignments(value: &str, out: &mut BTreeMap<String, String>) -> Option<()> {
    let pairs: Vec<String> = match value.matches('=').count() {
        0 => return None,
        1 => vec![value.trim_matches('"').to_owned()],
        _ => csv_fields(value)?,
    };
    for pair in pairs {
        let (k, v) = pair.split_once('=')?;
        out.insert(k.to_owned(), v.to_owned());
    }
    Some(())
}

/// One CSV record: fields separated by commas, a field may be double-quoted (`""` inside is
/// a quote).
fn csv_fields(s: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => {}
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

/// True for `-X` keys that name a version variable.
pub fn is_version_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with(".version") || key.ends_with(".ver")
}

/// The tier of a version key (0 is preferred).
pub fn version_tier(key: &str, main_module: &str) -> usize {
    if key.starts_with(&format!("{main_module}/cmd/")) {
        return 0;
    }
    let last = key.rsplit_once('/').map_or(key, |(_, last)| last);
    let prefix = last.split_once('.').map_or(last, |(p, _)| p);
    if ["main", "common", "version", "cmd"]
        .iter()
        .any(|p| prefix.eq_ignore_ascii_case(p))
    {
        1
    } else {
        2
    }
}

/// Picks the version from (key, value) candidates: the first non-empty tier wins; more than
/// one distinct candidate in it gives the empty string.
pub fn choose_version<'a>(
    candidates: impl IntoIterator<Item = (&'a str, &'a str)>,
    main_module: &str,
) -> String {
    let mut tiers: [Vec<&str>; 3] = Default::default();
    for (key, value) in candidates {
        if is_version_key(key) && go_version::is_valid_with_or_without_v(value) {
            tiers[version_tier(key, main_module)].push(value);
        }
    }
    for tier in tiers {
        match tier.len() {
            0 => continue,
            1 => return tier[0].to_owned(),
            _ => return String::new(),
        }
    }
    String::new()
}

/// The main module's version from the `-ldflags` build setting (empty when none).
pub fn ldflags_version(ldflags: &str, main_module: &str) -> String {
    let Some(words) = shell_words(ldflags) else {
        return String::new();
    };
    let Some(assignments) = x_assignments(&words) else {
        return String::new();
    };
    choose_version(
        assignments
            .iter()
            .map(|(k, v)| (k.trim_start_matches('\''), v.trim_end_matches('\''))),
        main_module,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        shell_words(s).unwrap()
    }

    #[test]
    fn shell_words_split_like_a_shell() {
        assert_eq!(
            words(r#" -X "a.b=c d" -s  -w "#),
            ["-X", "a.b=c d", "-s", "-w"]
        );
        assert_eq!(words(r"-X 'a=b c' x\ y"), ["-X", "a=b c", "x y"]);
        assert_eq!(words(r#"-X="main.version=1.0""#), ["-X=main.version=1.0"]);
        assert_eq!(words("a ; b"), ["a"]);
        assert!(shell_words("'open").is_none());
    }

    #[test]
    fn docker_cli_ldflags_give_the_cli_version() {
        let ldflags = r#" -X "github.com/docker/cli/cli/version.GitCommit=e6534b4" -X "github.com/docker/cli/cli/version.BuildTime=2025-05-30T12:07:14Z" -X "github.com/docker/cli/cli/version.Version=28.2.2" -extldflags -static"#;
        assert_eq!(
            ldflags_version(ldflags, "github.com/docker/cli/cmd/docker"),
            "28.2.2"
        );
    }

    #[test]
    fn every_x_form_is_read() {
        for flags in [
            "-X main.version=1.2.3",
            "-X=main.version=1.2.3",
            "-Xmain.version=1.2.3",
            "-X 'main.version=1.2.3'",
            "-s -w -X main.version=1.2.3",
            "-h -X main.version=1.2.3",
        ] {
            assert_eq!(
                ldflags_version(flags, "example.com/app"),
                "1.2.3",
                "{flags}"
            );
        }
        assert_eq!(ldflags_version("-X main.version=v1.2.3", "m"), "v1.2.3");
    }

    #[test]
    fn tiers_and_ambiguity_follow_trivy() {
        let m = "github.com/org/app";
        // Tier 0 beats tier 1.
        assert_eq!(
            ldflags_version(
                "-X github.com/org/app/cmd/app/x.version=2.0.0 -X main.version=1.0.0",
                m
            ),
            "2.0.0"
        );
        // Two in the best tier: unknown.
        assert_eq!(
            ldflags_version("-X main.version=1.0.0 -X common.version=2.0.0", m),
            ""
        );
        // Other tier only when nothing better.
        assert_eq!(
            ldflags_version("-X github.com/x/y/pkg.Ver=3.1.0", m),
            "3.1.0"
        );
        // Not semver, not a version key, missing argument: nothing.
        assert_eq!(ldflags_version("-X main.version=dev", m), "");
        assert_eq!(ldflags_version("-X main.commit=1.0.0", m), "");
        assert_eq!(ldflags_version("-X", m), "");
        // An unknown flag swallows the next non-flag word (pflag behaviour).
        assert_eq!(
            ldflags_version("-linkmode external -X main.version=1.0.0", m),
            "1.0.0"
        );
        assert_eq!(
            ldflags_version("-k main.version=x -X main.version=1.0.0", m),
            "1.0.0"
        );
        // Comma lists inside one -X.
        assert_eq!(
            ldflags_version("-X a.commit=x,main.version=1.4.0", m),
            "1.4.0"
        );
    }
}
