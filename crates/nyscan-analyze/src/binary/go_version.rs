//! Go module version syntax: `golang.org/x/mod/semver` validity (a leading `v`, shorthand
//! `v1` and `v1.2` allowed) and pseudo-version recognition (`module.IsPseudoVersion`).

/// True for a valid Go semantic version (`v1`, `v1.2`, `v1.2.3`, `v1.2.3-pre.1+build`).
pub fn is_valid(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let Some(rest) = number(rest) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix('.').and_then(number) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(mut rest) = rest.strip_prefix('.').and_then(number) else {
        return false;
    };
    if let Some(pre) = rest.strip_prefix('-') {
        let (ids, after) = split_at_plus(pre);
        if !identifiers(ids, true) {
            return false;
        }
        rest = after;
    }
    if let Some(build) = rest.strip_prefix('+') {
        return identifiers(build, false);
    }
    rest.is_empty()
}

/// True when `v` or `v` with a `v` prepended is a valid Go semantic version (Trivy accepts
/// ldflags versions written either way).
pub fn is_valid_with_or_without_v(v: &str) -> bool {
    is_valid(v) || is_valid(&format!("v{v}"))
}

/// Leading decimal number without leading zeros; the rest of the string.
fn number(s: &str) -> Option<&str> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && s.starts_with('0')) {
        return None;
    }
    Some(&s[digits..])
}

fn split_at_plus(s: &str) -> (&str, &str) {
    match s.find('+') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Dot-separated non-empty identifiers of `[0-9A-Za-z-]`; in a prerelease, numeric
/// identifiers have no leading zeros.
fn identifiers(s: &str, prerelease: bool) -> bool {
    s.split('.').all(|id| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !(prerelease
                && id.len() > 1
                && id.starts_with('0')
                && id.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// True for a Go pseudo-version: `vX.0.0-yyyymmddhhmmss-abcdef123456`,
/// `vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456` or `vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456`,
/// optionally with `+build` metadata (such as `+incompatible` or `+dirty`).
pub fn is_pseudo(v: &str) -> bool {
    if v.matches('-').count() < 2 || !is_valid(v) {
        return false;
    }
    let core = v.split_once('+').map_or(v, |(c, _)| c);
    // The last two dash-separated fields: timestamp part and revision.
    let Some((before_rev, revision)) = core.rsplit_once('-') else {
        return false;
    };
    if revision.is_empty() || !revision.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    // The 14-digit timestamp ends `before_rev`, preceded by "-" (v0.0.0- form) or "." (the
    // forms that follow a prerelease or a bumped patch, ending in "0.").
    if before_rev.len() < 14 {
        return false;
    }
    let (head, stamp) = before_rev.split_at(before_rev.len() - 14);
    if !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Some(rest) = head.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = &rest[digits..];
    if rest == ".0.0-" {
        return true;
    }
    // ".Y.Z-" then optionally "anything." then "0."
    let Some(rest) = rest.strip_prefix('.') else {
        return false;
    };
    let y = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Some(rest) = (y > 0)
        .then(|| &rest[y..])
        .and_then(|r| r.strip_prefix('.'))
    else {
        return false;
    };
    let z = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Some(rest) = (z > 0)
        .then(|| &rest[z..])
        .and_then(|r| r.strip_prefix('-'))
    else {
        return false;
    };
    rest == "0." || (rest.ends_with(".0.") && !rest.contains('+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_validity_matches_x_mod_semver() {
        for ok in [
            "v1",
            "v1.2",
            "v1.2.3",
            "v0.0.0",
            "v1.2.3-pre",
            "v1.2.3-pre.1",
            "v1.2.3-0.20240101000000-abcdef",
            "v1.2.3+build.5",
            "v2.0.0+incompatible",
            "v1.2.3-rc.1+meta-data",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "1.2.3",
            "v",
            "v01.2.3",
            "v1.02.3",
            "v1.2.03",
            "v1.2-pre",
            "v1-pre",
            "v1.2.3-",
            "v1.2.3-01",
            "v1.2.3-a..b",
            "v1.2.3+",
            "v1.2.3.4",
            "v1.2.3 ",
            "va.b.c",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(is_valid_with_or_without_v("1.2.3"));
        assert!(is_valid_with_or_without_v("v28.2.2"));
        assert!(!is_valid_with_or_without_v("dev"));
    }

    #[test]
    fn pseudo_versions_are_recognised() {
        for pseudo in [
            "v0.0.0-20240101123456-abcdef123456",
            "v0.0.0-20240101123456-abcdef123456+dirty",
            "v1.2.4-0.20240101123456-abcdef123456",
            "v1.2.3-pre.0.20240101123456-abcdef123456",
            "v2.0.0-20191109021931-daa7c04131f5+incompatible",
        ] {
            assert!(is_pseudo(pseudo), "{pseudo}");
        }
        for not in [
            "v1.2.3",
            "v1.2.3-pre",
            "v0.0.0-2024010112345-abcdef",
            "v1.2.3-1.20240101123456-abcdef",
            "(devel)",
            "",
        ] {
            assert!(!is_pseudo(not), "{not}");
        }
    }
}
