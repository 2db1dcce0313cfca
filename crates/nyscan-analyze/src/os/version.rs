//! Version syntax checks: OS package databases drop entries whose version does not parse, as
//! Trivy does, so both list the same packages.

/// True when `v` is a dpkg version: `[epoch:]upstream[-revision]`, a numeric epoch, an
/// upstream part that starts with a digit and holds only `A-Za-z0-9.+~` (plus `-` when a
/// revision follows, `:` when an epoch precedes), a revision of `A-Za-z0-9.+~`.
pub(crate) fn is_valid_deb(v: &str) -> bool {
    let v = v.trim();
    let (has_epoch, rest) = match v.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            (true, rest)
        }
        None => (false, v),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, Some(r)),
        None => (rest, None),
    };
    if !upstream.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let upstream_ok = upstream.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'+' | b'~')
            || (b == b'-' && revision.is_some())
            || (b == b':' && has_epoch)
    });
    let revision_ok = revision.is_none_or(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'~'))
    });
    upstream_ok && revision_ok
}

/// True when `v` is an apk version: `N(.N)*[a-z](_suffix[N])*[~hash][-rN]` with suffixes
/// `alpha beta pre rc cvs svn git hg p`.
pub(crate) fn is_valid_apk(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    while i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if i < b.len() && b[i].is_ascii_lowercase() {
        i += 1;
    }
    while i < b.len() && b[i] == b'_' {
        i += 1;
        let rest = &v[i..];
        let Some(suffix) = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"]
            .into_iter()
            .find(|s| rest.starts_with(s))
        else {
            return false;
        };
        i += suffix.len();
        digits(&mut i);
    }
    if i < b.len() && b[i] == b'~' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i < b.len() && b[i] == b'-' {
        i += 1;
        if b.get(i) != Some(&b'r') {
            return false;
        }
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_versions() {
        for ok in [
            "1.0",
            "2:6.2.1+dfsg1-1.1",
            "1:4.13+dfsg1-1+deb12u2",
            "37~deb12u1",
            "1.2-3-4",
            "0.5.12-2",
            "2026b-0+deb12u1",
        ] {
            assert!(is_valid_deb(ok), "{ok}");
        }
        for bad in ["", "a1.0", "x:1.0", "1.0-", "1_0", "1:", "1.0-r@"] {
            assert!(!is_valid_deb(bad), "{bad}");
        }
    }

    #[test]
    fn apk_versions() {
        for ok in [
            "1.2.5-r0",
            "1.36.1-r29",
            "3.3.2-r0",
            "2024.1a_rc2_p1-r3",
            "1.0_git20230101-r0",
            "6.4_p20240420-r2",
        ] {
            assert!(is_valid_apk(ok), "{ok}");
        }
        for bad in ["", "r1", "1.2-", "1..2", "1.2_foo", "1.2-x1"] {
            assert!(!is_valid_apk(bad), "{bad}");
        }
    }
}
